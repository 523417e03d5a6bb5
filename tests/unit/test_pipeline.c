/*
 * test_pipeline.c - the pure parts of the writer's pipeline recovery:
 * the ring of unacked packets (libdfs/pktring.h) and how a failure is
 * pinned on a datanode and what is asked of the namenode
 * (libdfs/pipeline.h).
 */
#include <stdlib.h>

#include "check.h"
#include "pipeline.h"
#include "pktring.h"

/* Packets enter at the back, leave at the front in order; a copy of the
 * data is kept; the acked length is the highest end of an acked packet. */
static void test_ring_order_and_acked_length(void)
{
    struct pktring r;
    uint8_t data[100];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    CHECK_EQ_INT(pktring_init(&r, 3, 64), 0);
    CHECK_EQ_INT(pktring_count(&r), 0);
    CHECK_EQ_INT(pktring_acked(&r), 0);
    CHECK(pktring_at(&r, 0) == NULL);

    const struct pkt_slot *a = pktring_push(&r, 0, data, 64, 0);
    const struct pkt_slot *b = pktring_push(&r, 64, data + 1, 64, 0);
    const struct pkt_slot *c = pktring_push(&r, 128, data + 2, 10, 2);
    CHECK(a && b && c);
    CHECK(pktring_full(&r));
    CHECK(pktring_push(&r, 138, data, 1, 0) == NULL);      /* full */
    data[1] = 0xEE;                                          /* caller reuses its buffer */
    CHECK_EQ_INT(pktring_at(&r, 1)->data[0], 1);             /* the ring has its own copy */
    CHECK_EQ_INT(pktring_at(&r, 2)->flags, 2);
    CHECK_EQ_INT(pktring_at(&r, 2)->len, 10);

    pktring_pop(&r);
    CHECK_EQ_INT(pktring_acked(&r), 64);
    CHECK_EQ_INT(pktring_count(&r), 2);
    CHECK_EQ_INT(pktring_at(&r, 0)->offset, 64);
    /* wraps around: the freed slot takes the next packet */
    CHECK(pktring_push(&r, 138, data, 5, 1) != NULL);
    CHECK_EQ_INT(pktring_at(&r, 2)->offset, 138);
    CHECK_EQ_INT(pktring_at(&r, 2)->data[4], 4);
    pktring_pop(&r);
    pktring_pop(&r);
    CHECK_EQ_INT(pktring_acked(&r), 138);
    pktring_pop(&r);
    CHECK_EQ_INT(pktring_acked(&r), 143);
    CHECK_EQ_INT(pktring_count(&r), 0);
    pktring_pop(&r);                                         /* empty: no-op */
    CHECK_EQ_INT(pktring_acked(&r), 143);
    CHECK(pktring_push(&r, 0, data, 65, 0) == NULL);         /* larger than a slot */

    /* An hflush resends its partial chunk: a later packet that starts
     * lower never moves the acked length back. */
    pktring_reset(&r, 0);
    CHECK(pktring_push(&r, 0, data, 50, 0) && pktring_push(&r, 32, data, 40, 0) &&
          pktring_push(&r, 32, data, 20, 0));
    pktring_pop(&r);
    CHECK_EQ_INT(pktring_acked(&r), 50);
    pktring_pop(&r);
    CHECK_EQ_INT(pktring_acked(&r), 72);
    pktring_pop(&r);
    CHECK_EQ_INT(pktring_acked(&r), 72);

    /* Trimming the head of the oldest packet (the datanodes hold it). */
    pktring_reset(&r, 0);
    for (size_t i = 0; i < 64; i++)
        data[i] = (uint8_t)i;
    CHECK(pktring_push(&r, 32, data, 64, 1) != NULL);
    pktring_trim_front(&r, 16);                              /* before it: nothing */
    CHECK_EQ_INT(pktring_at(&r, 0)->offset, 32);
    pktring_trim_front(&r, 97);                              /* past its end: nothing */
    CHECK_EQ_INT(pktring_at(&r, 0)->len, 64);
    pktring_trim_front(&r, 80);
    CHECK_EQ_INT(pktring_at(&r, 0)->offset, 80);
    CHECK_EQ_INT(pktring_at(&r, 0)->len, 16);
    CHECK_EQ_INT(pktring_at(&r, 0)->data[0], 48);
    CHECK_EQ_INT(pktring_at(&r, 0)->flags, 1);
    pktring_trim_front(&r, 96);                              /* to its end: empty */
    CHECK_EQ_INT(pktring_at(&r, 0)->len, 0);
    CHECK_EQ_INT(pktring_at(&r, 0)->offset, 96);

    /* An append's reopened block starts with its bytes acked. */
    pktring_reset(&r, 1000);
    CHECK_EQ_INT(pktring_acked(&r), 1000);
    CHECK_EQ_INT(pktring_count(&r), 0);
    pktring_free(&r);
    pktring_free(&r);                                        /* twice: harmless */
}

/* A window of 64 packets over many packets: what is left unacked is
 * exactly what was pushed and not popped, in order. */
static void test_ring_window_model(void)
{
    struct pktring r;
    uint64_t sent = 0, acked = 0;
    unsigned seed = 7;
    size_t bad = 0;
    CHECK_EQ_INT(pktring_init(&r, 64, 16), 0);
    for (int step = 0; step < 20000; step++) {
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 3 != 0 && !pktring_full(&r)) {
            uint8_t d[16];
            for (int i = 0; i < 16; i++)
                d[i] = (uint8_t)(sent + (uint64_t)i);
            bad += pktring_push(&r, sent * 16, d, 16, 0) == NULL;
            sent++;
        } else if (pktring_count(&r) > 0) {
            const struct pkt_slot *s = pktring_at(&r, 0);
            bad += s->offset != acked * 16 || s->data[3] != (uint8_t)(acked + 3);
            pktring_pop(&r);
            acked++;
        }
        bad += pktring_count(&r) != sent - acked || pktring_acked(&r) != acked * 16;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(sent > 10000);
    pktring_free(&r);
}

/* Which datanode a failure is pinned on. */
static void test_failure_classification(void)
{
    Dfs__Status ok3[3] = { DFS__STATUS__OK, DFS__STATUS__OK, DFS__STATUS__OK };
    Dfs__Status mid[3] = { DFS__STATUS__OK, DFS__STATUS__ERR_IO, DFS__STATUS__ERR_TIMEOUT };
    Dfs__Status last[3] = { DFS__STATUS__OK, DFS__STATUS__OK, DFS__STATUS__ERR_TIMEOUT };
    Dfs__Status first[2] = { DFS__STATUS__ERR_NOSPC, DFS__STATUS__OK };

    CHECK_EQ_INT(pl_ack_bad_index(ok3, 3, 3), -1);
    CHECK_EQ_INT(pl_ack_bad_index(mid, 3, 3), 1);        /* the first non-OK one */
    CHECK_EQ_INT(pl_ack_bad_index(last, 3, 3), 2);       /* a timed-out downstream */
    CHECK_EQ_INT(pl_ack_bad_index(first, 2, 2), 0);
    CHECK_EQ_INT(pl_ack_bad_index(ok3, 2, 3), 2);        /* a status missing: failed */
    CHECK_EQ_INT(pl_ack_bad_index(ok3, 0, 3), 0);
    CHECK_EQ_INT(pl_ack_bad_index(last, 3, 2), -1);      /* beyond the pipeline: ignored */

    CHECK_EQ_INT(pl_setup_bad_index(-1, 3), 0);          /* unknown: the first */
    CHECK_EQ_INT(pl_setup_bad_index(2, 3), 2);
    CHECK_EQ_INT(pl_setup_bad_index(3, 3), 0);           /* out of range: the first */
    CHECK_EQ_INT(pl_setup_bad_index(0, 1), 0);
}

/* Replacements asked of UpdatePipeline. */
static void test_replacements(void)
{
    CHECK_EQ_INT(pl_replacements(1, 2, 3, 4096), 1);
    CHECK_EQ_INT(pl_replacements(1, 1, 3, 1), 2);
    CHECK_EQ_INT(pl_replacements(0, 1, 3, 4096), 0);    /* policy off */
    CHECK_EQ_INT(pl_replacements(1, 3, 3, 4096), 0);    /* enough left */
    CHECK_EQ_INT(pl_replacements(1, 2, 2, 4096), 0);
    CHECK_EQ_INT(pl_replacements(1, 1, 3, 0), 0);       /* nothing to copy to one */
}

int main(void)
{
    test_ring_order_and_acked_length();
    test_ring_window_model();
    test_failure_classification();
    test_replacements();
    return check_summary();
}
