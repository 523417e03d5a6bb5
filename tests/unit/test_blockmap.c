/*
 * test_blockmap.c - unit tests of the namenode's block map.
 *
 * Replicas and reports on a map built by hand, the counters against a
 * recount, the hash tables against a plain array under random churn, and
 * a map loaded from a namespace in a fresh LevelDB under a mkdtemp
 * directory (removed at the end).
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockmap.h"
#include "check.h"
#include "metastore.h"
#include "namespace.h"

#define MiB (1024ull * 1024)

/* Counters recomputed from scratch, to compare with bm_counts(). */
struct recount {
    uint64_t blocks, under, corrupt;
};

static int recount_one(const struct bm_block *b, void *arg)
{
    struct recount *r = arg;
    unsigned good = bm_good_replicas(b);
    r->blocks++;
    r->under += b->complete && good < b->expected;
    r->corrupt += b->nreps - good;
    return 0;
}

static void check_counts(const struct blockmap *bm)
{
    struct recount r = { 0, 0, 0 };
    uint64_t blocks, under, corrupt;
    bm_foreach(bm, recount_one, &r);
    bm_counts(bm, &blocks, &under, &corrupt);
    CHECK_EQ_INT(blocks, r.blocks);
    CHECK_EQ_INT(under, r.under);
    CHECK_EQ_INT(corrupt, r.corrupt);
}

static int has_replica(const struct bm_block *b, uint32_t dn)
{
    for (unsigned i = 0; i < b->nreps; i++)
        if (b->reps[i].dn == dn)
            return 1;
    return 0;
}

static void test_blocks_and_replicas(void)
{
    struct blockmap *bm = bm_new();
    uint64_t blocks, under, corrupt;

    CHECK(bm_add_block(bm, 0, 1, 1000, 3) == NULL);     /* 0 is no block id */
    struct bm_block *b = bm_add_block(bm, 7, 42, 1001, 3);
    CHECK(b != NULL);
    CHECK(bm_get(bm, 7) == b);
    CHECK(bm_get(bm, 8) == NULL);
    CHECK(bm_add_block(bm, 7, 99, 5, 1) == b);          /* a retry: unchanged */
    CHECK_EQ_INT(b->inode, 42);
    CHECK_EQ_INT(b->genstamp, 1001);
    CHECK_EQ_INT(b->complete, 0);

    /* Under construction: not under-replicated, any length accepted. */
    bm_counts(bm, &blocks, &under, &corrupt);
    CHECK_EQ_INT(blocks, 1);
    CHECK_EQ_INT(under, 0);
    CHECK_EQ_INT(bm_add_replica(bm, 0, 7, 1001, 500), BM_ADDED);
    CHECK_EQ_INT(bm_add_replica(bm, 1, 7, 1001, 400), BM_ADDED);
    CHECK_EQ_INT(bm_add_replica(bm, 2, 7, 1000, 500), BM_STALE);
    CHECK_EQ_INT(bm_add_replica(bm, 2, 8, 1001, 500), BM_UNKNOWN);
    CHECK_EQ_INT(b->nreps, 2);
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 1);
    CHECK_EQ_INT(bm_dn_blocks(bm, 2), 0);
    CHECK_EQ_INT(bm_dn_blocks(bm, 1000), 0);
    /* Reporting again refreshes, does not duplicate. */
    CHECK_EQ_INT(bm_add_replica(bm, 0, 7, 1001, 500), BM_ADDED);
    CHECK_EQ_INT(b->nreps, 2);
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 1);

    /* Completion at 500: dn 1's replica (400 bytes) is corrupt. */
    bm_complete_block(bm, b, 500);
    CHECK_EQ_INT(b->complete, 1);
    CHECK_EQ_INT(b->length, 500);
    CHECK_EQ_INT(bm_good_replicas(b), 1);
    bm_counts(bm, &blocks, &under, &corrupt);
    CHECK_EQ_INT(under, 1);
    CHECK_EQ_INT(corrupt, 1);
    check_counts(bm);

    /* A complete block reported with another length: kept, corrupt. */
    CHECK_EQ_INT(bm_add_replica(bm, 3, 7, 1001, 499), BM_BAD_LENGTH);
    CHECK_EQ_INT(b->nreps, 3);
    CHECK_EQ_INT(bm_good_replicas(b), 1);
    CHECK_EQ_INT(bm_add_replica(bm, 4, 7, 1001, 500), BM_ADDED);
    CHECK_EQ_INT(bm_add_replica(bm, 5, 7, 1001, 500), BM_ADDED);
    CHECK_EQ_INT(bm_good_replicas(b), 3);
    bm_counts(bm, NULL, &under, &corrupt);
    CHECK_EQ_INT(under, 0);
    CHECK_EQ_INT(corrupt, 2);

    /* A client's bad report. */
    CHECK_EQ_INT(bm_mark_corrupt(bm, 7, 1001, 4), BM_ADDED);
    CHECK_EQ_INT(bm_mark_corrupt(bm, 7, 1000, 5), BM_STALE);
    CHECK_EQ_INT(bm_mark_corrupt(bm, 7, 1001, 9), BM_UNKNOWN);
    CHECK_EQ_INT(bm_mark_corrupt(bm, 9, 1001, 4), BM_UNKNOWN);
    CHECK_EQ_INT(bm_good_replicas(b), 2);
    bm_counts(bm, NULL, &under, &corrupt);
    CHECK_EQ_INT(under, 1);
    CHECK_EQ_INT(corrupt, 3);
    /* A corrupt replica reported again stays corrupt. */
    CHECK_EQ_INT(bm_add_replica(bm, 4, 7, 1001, 500), BM_ADDED);
    CHECK_EQ_INT(bm_good_replicas(b), 2);
    check_counts(bm);

    /* Replication lowered to 2: no longer under-replicated. */
    bm_set_expected(bm, b, 2);
    bm_counts(bm, NULL, &under, NULL);
    CHECK_EQ_INT(under, 0);

    /* Incremental removal. */
    CHECK_EQ_INT(bm_remove_replica(bm, 5, 7), 0);
    CHECK_EQ_INT(bm_remove_replica(bm, 5, 7), -1);
    CHECK_EQ_INT(bm_remove_replica(bm, 5, 123), -1);
    CHECK_EQ_INT(bm_dn_blocks(bm, 5), 0);
    CHECK(!has_replica(b, 5));
    check_counts(bm);
    bm_free(bm);
}

/* Replicas seen by bm_remove_block's callback. */
struct seen {
    uint32_t dn[16];
    uint64_t id[16];
    size_t n;
};

static void on_replica(const struct bm_block *b, uint32_t dn, void *arg)
{
    struct seen *s = arg;
    if (s->n < 16) {
        s->dn[s->n] = dn;
        s->id[s->n] = b->id;
    }
    s->n++;
}

static void test_remove_block(void)
{
    struct blockmap *bm = bm_new();
    struct seen s = { .n = 0 };

    bm_add_block(bm, 1, 10, 1, 3);
    bm_add_block(bm, 2, 10, 1, 3);
    for (uint32_t dn = 0; dn < 3; dn++) {
        bm_add_replica(bm, dn, 1, 1, 0);
        bm_add_replica(bm, dn, 2, 1, 0);
    }
    CHECK_EQ_INT(bm_dn_blocks(bm, 1), 2);
    CHECK_EQ_INT(bm_remove_block(bm, 1, on_replica, &s), 0);
    CHECK_EQ_INT(s.n, 3);
    for (size_t i = 0; i < 3 && i < s.n; i++)
        CHECK_EQ_INT(s.id[i], 1);
    CHECK_EQ_INT(s.dn[0] + s.dn[1] + s.dn[2], 0 + 1 + 2);
    CHECK(bm_get(bm, 1) == NULL);
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 1);
    CHECK_EQ_INT(bm_dn_blocks(bm, 1), 1);
    CHECK_EQ_INT(bm_remove_block(bm, 1, on_replica, &s), -1);
    CHECK_EQ_INT(bm_remove_block(bm, 2, NULL, NULL), 0);
    CHECK_EQ_INT(bm_dn_blocks(bm, 2), 0);
    /* A report of a removed block: unknown. */
    CHECK_EQ_INT(bm_add_replica(bm, 0, 2, 1, 0), BM_UNKNOWN);
    check_counts(bm);
    bm_free(bm);
}

static void test_full_report(void)
{
    struct blockmap *bm = bm_new();

    for (uint64_t id = 1; id <= 5; id++)
        bm_add_block(bm, id, 100, 7, 1);
    for (uint64_t id = 1; id <= 3; id++) {
        bm_complete_block(bm, bm_get(bm, id), 10);
        CHECK_EQ_INT(bm_add_replica(bm, 0, id, 7, 10), BM_ADDED);
        bm_add_replica(bm, 1, id, 7, 10);
    }
    CHECK_EQ_INT(bm_mark_corrupt(bm, 3, 7, 0), BM_ADDED);
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 3);

    /* dn 0 now holds 2, 3 and 4 (and an unknown block 99). */
    bm_report_begin(bm, 0);
    CHECK_EQ_INT(bm_add_replica(bm, 0, 2, 7, 10), BM_ADDED);
    CHECK_EQ_INT(bm_add_replica(bm, 0, 3, 7, 10), BM_ADDED);
    CHECK_EQ_INT(bm_add_replica(bm, 0, 4, 7, 0), BM_ADDED);
    CHECK_EQ_INT(bm_add_replica(bm, 0, 99, 7, 0), BM_UNKNOWN);
    CHECK_EQ_INT(bm_report_end(bm, 0), 1);
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 3);
    CHECK(!has_replica(bm_get(bm, 1), 0));
    CHECK(has_replica(bm_get(bm, 1), 1));
    CHECK(has_replica(bm_get(bm, 2), 0));
    CHECK(has_replica(bm_get(bm, 4), 0));
    /* The corrupt flag survives a report that lists the replica. */
    CHECK_EQ_INT(bm_good_replicas(bm_get(bm, 3)), 1);
    CHECK_EQ_INT(bm_dn_blocks(bm, 1), 3);
    check_counts(bm);

    /* An empty full report drops everything of dn 0. */
    bm_report_begin(bm, 0);
    CHECK_EQ_INT(bm_report_end(bm, 0), 3);
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 0);
    CHECK(!has_replica(bm_get(bm, 4), 0));
    check_counts(bm);

    /* A dead datanode. */
    CHECK_EQ_INT(bm_drop_datanode(bm, 1), 3);
    CHECK_EQ_INT(bm_dn_blocks(bm, 1), 0);
    CHECK_EQ_INT(bm_get(bm, 1)->nreps, 0);
    CHECK_EQ_INT(bm_drop_datanode(bm, 1), 0);
    CHECK_EQ_INT(bm_drop_datanode(bm, 77), 0);
    uint64_t under;
    bm_counts(bm, NULL, &under, NULL);
    CHECK_EQ_INT(under, 3);                 /* blocks 1-3 complete, no replica */
    check_counts(bm);
    bm_free(bm);
}

/* The hash tables under churn, against a flag array. */
static void test_churn(void)
{
    enum { N = 20000, DNS = 5 };
    struct blockmap *bm = bm_new();
    static unsigned char present[N + 1];
    static unsigned char held[N + 1][DNS];
    uint64_t x = 88172645463325252ull;
    size_t nblocks = 0;
    int bad = 0;

    memset(present, 0, sizeof(present));
    memset(held, 0, sizeof(held));
    for (int step = 0; step < 200000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t id = 1 + x % N;
        uint32_t dn = (uint32_t)((x >> 32) % DNS);
        switch ((x >> 40) % 4) {
        case 0:
            if (!present[id])
                nblocks++;
            bm_add_block(bm, id, id / 10, 1, 2);
            present[id] = 1;
            break;
        case 1:
            if (bm_add_replica(bm, dn, id, 1, 0) == BM_ADDED)
                held[id][dn] = 1;
            break;
        case 2:
            if ((bm_remove_replica(bm, dn, id) == 0) != held[id][dn])
                bad++;
            held[id][dn] = 0;
            break;
        case 3:
            if ((bm_remove_block(bm, id, NULL, NULL) == 0) != present[id])
                bad++;
            if (present[id])
                nblocks--;
            present[id] = 0;
            memset(held[id], 0, DNS);
            break;
        }
    }
    CHECK_EQ_INT(bad, 0);
    uint64_t blocks;
    bm_counts(bm, &blocks, NULL, NULL);
    CHECK_EQ_INT(blocks, nblocks);
    for (uint64_t id = 1; id <= N; id++) {
        const struct bm_block *b = bm_get(bm, id);
        if ((b != NULL) != present[id]) {
            bad++;
            continue;
        }
        for (uint32_t dn = 0; b && dn < DNS; dn++)
            if (has_replica(b, dn) != held[id][dn])
                bad++;
    }
    CHECK_EQ_INT(bad, 0);
    for (uint32_t dn = 0; dn < DNS; dn++) {
        uint32_t k = 0;
        for (uint64_t id = 1; id <= N; id++)
            k += held[id][dn];
        CHECK_EQ_INT(bm_dn_blocks(bm, dn), k);
        /* Dropping the datanode finds exactly its replicas. */
        CHECK_EQ_INT(bm_drop_datanode(bm, dn), k);
    }
    check_counts(bm);
    bm_free(bm);
}

/* ---------------------------------------------------------- bm_load */

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_load(void)
{
    static const struct ns_limits lim = {
        .default_replication = 3, .max_replication = 10,
        .default_block_size = 128 * MiB, .min_block_size = 1 * MiB,
    };
    char dbdir[128], err[512];
    struct ns_stat st, st2;
    uint64_t id1, id2, id3, gs1, gs2, gs3;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dfs-test-bm-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        CHECK(0);
        return;
    }
    snprintf(dbdir, sizeof(dbdir), "%s/db", tmpdir);
    struct metastore *ms = ms_open(dbdir, 8, err, sizeof(err));
    struct ns *ns = ms ? ns_open(ms, &lim, err, sizeof(err)) : NULL;
    CHECK(ns != NULL);
    if (!ns)
        return;
    /* /a: two complete blocks, replication 2; /b: open, one block. */
    CHECK_EQ_INT(ns_create(ns, "/a", 0644, 2, 0, 0, 0, 1, "w", "u", &st, err, sizeof(err)), 0);
    CHECK_EQ_INT(ns_add_block(ns, st.inode, "w", 0, 0, &id1, &gs1, NULL, err, sizeof(err)), 0);
    CHECK_EQ_INT(ns_add_block(ns, st.inode, "w", id1, 100, &id2, &gs2, NULL, err, sizeof(err)),
                 0);
    CHECK_EQ_INT(ns_complete(ns, st.inode, "w", id2, 50, err, sizeof(err)), 0);
    CHECK_EQ_INT(ns_create(ns, "/b", 0644, 0, 0, 0, 0, 1, "w", "u", &st2, err, sizeof(err)), 0);
    CHECK_EQ_INT(ns_add_block(ns, st2.inode, "w", 0, 0, &id3, &gs3, NULL, err, sizeof(err)), 0);

    struct blockmap *bm = bm_new();
    CHECK_EQ_INT(bm_load(bm, ns, err, sizeof(err)), 0);
    uint64_t blocks, under;
    bm_counts(bm, &blocks, &under, NULL);
    CHECK_EQ_INT(blocks, 3);
    CHECK_EQ_INT(under, 2);                 /* /a's blocks, no replica yet */
    const struct bm_block *b1 = bm_get(bm, id1), *b2 = bm_get(bm, id2), *b3 = bm_get(bm, id3);
    CHECK(b1 && b2 && b3);
    if (b1 && b2 && b3) {
        CHECK_EQ_INT(b1->inode, st.inode);
        CHECK_EQ_INT(b1->genstamp, gs1);
        CHECK_EQ_INT(b1->length, 100);
        CHECK_EQ_INT(b1->complete, 1);
        CHECK_EQ_INT(b1->expected, 2);
        CHECK_EQ_INT(b2->length, 50);
        CHECK_EQ_INT(b2->complete, 1);
        CHECK_EQ_INT(b3->inode, st2.inode);
        CHECK_EQ_INT(b3->complete, 0);
        CHECK_EQ_INT(b3->expected, 3);
        CHECK_EQ_INT(b3->genstamp, gs3);
    }
    bm_free(bm);
    ns_close(ns);
    ms_close(ms);
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reports in parts: two datanodes' reports interleave; one that never
 * ends is given up by the next begin without dropping anything. */
static void test_reports_in_parts(void)
{
    struct blockmap *bm = bm_new();
    for (uint64_t id = 1; id <= 6; id++) {
        bm_complete_block(bm, bm_add_block(bm, id, 100, 7, 2), 10);
        bm_add_replica(bm, 0, id, 7, 10);
        bm_add_replica(bm, 1, id, 7, 10);
    }
    /* dn 0 lists 1-3 then 4; dn 1 lists 5, 6 meanwhile. */
    bm_report_begin(bm, 0);
    CHECK(bm_reporting(bm, 0) && !bm_reporting(bm, 1));
    for (uint64_t id = 1; id <= 3; id++)
        bm_add_replica(bm, 0, id, 7, 10);
    bm_report_begin(bm, 1);
    bm_add_replica(bm, 1, 5, 7, 10);
    bm_add_replica(bm, 0, 4, 7, 10);            /* dn 0's second part */
    bm_add_replica(bm, 1, 6, 7, 10);
    CHECK_EQ_INT(bm_report_end(bm, 0), 2);      /* 5 and 6 were not listed */
    CHECK_EQ_INT(bm_report_end(bm, 1), 4);      /* 1-4 were not listed */
    CHECK(!bm_reporting(bm, 0) && !bm_reporting(bm, 1));
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 4);
    CHECK_EQ_INT(bm_dn_blocks(bm, 1), 2);
    CHECK(has_replica(bm_get(bm, 4), 0) && !has_replica(bm_get(bm, 4), 1));
    check_counts(bm);

    /* A report of dn 0 that stops after one part, then begins again:
     * nothing is dropped by the first. */
    bm_report_begin(bm, 0);
    bm_add_replica(bm, 0, 1, 7, 10);
    bm_report_begin(bm, 0);
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 4);
    for (uint64_t id = 1; id <= 4; id++)
        bm_add_replica(bm, 0, id, 7, 10);
    CHECK_EQ_INT(bm_report_end(bm, 0), 0);
    CHECK_EQ_INT(bm_dn_blocks(bm, 0), 4);
    /* A block removed while its datanode's report is in progress. */
    bm_report_begin(bm, 1);
    CHECK_EQ_INT(bm_remove_block(bm, 6, NULL, NULL), 0);
    CHECK_EQ_INT(bm_report_end(bm, 1), 1);      /* 5, not listed; 6 is gone */
    check_counts(bm);
    bm_free(bm);
}

/* A new genstamp: the block is under construction again and the
 * replicas reported so far no longer count; expected locations of blocks
 * under construction come and go. */
static void test_new_genstamp_and_pipeline(void)
{
    struct blockmap *bm = bm_new();
    uint64_t blocks, under, complete, safe;
    size_t n;
    struct bm_block *b = bm_add_block(bm, 7, 1, 1000, 2);
    const uint32_t slots[] = { 3, 1, 3, 2 };

    CHECK(bm_pipeline(bm, 7, &n) == NULL && n == 0);
    bm_set_pipeline(bm, 7, slots, 4);
    const uint32_t *p = bm_pipeline(bm, 7, &n);
    CHECK_EQ_INT(n, 3);
    CHECK(p && p[0] == 3 && p[1] == 1 && p[2] == 2);
    bm_pipeline_add(bm, 7, 1, 1);
    bm_pipeline_add(bm, 7, 4, 1);
    p = bm_pipeline(bm, 7, &n);
    CHECK_EQ_INT(n, 4);
    CHECK(p && p[3] == 4);
    CHECK_EQ_INT(bm_pipeline_older(bm, 7, 1), 0);   /* current stays current */
    CHECK_EQ_INT(bm_pipeline_older(bm, 7, 4), 1);
    bm_pipeline_add(bm, 7, 4, 0);
    CHECK_EQ_INT(bm_pipeline_older(bm, 7, 4), 0);
    bm_set_pipeline(bm, 99, slots, 2);          /* no such block: nothing */
    CHECK(bm_pipeline(bm, 99, &n) == NULL);

    CHECK_EQ_INT(bm_add_replica(bm, 1, 7, 1000, 50), BM_ADDED);
    CHECK_EQ_INT(bm_add_replica(bm, 2, 7, 1000, 50), BM_ADDED);
    bm_complete_block(bm, b, 50);
    CHECK(bm_pipeline(bm, 7, &n) == NULL);      /* complete: forgotten */
    bm_safe_counts(bm, &complete, &safe);
    CHECK_EQ_INT(complete, 1);
    CHECK_EQ_INT(safe, 1);

    /* Append: under construction again under 1001. */
    CHECK_EQ_INT(bm_new_genstamp(bm, b, 1001), 2);
    CHECK_EQ_INT(b->nreps, 0);
    CHECK_EQ_INT(b->complete, 0);
    CHECK_EQ_INT(b->genstamp, 1001);
    CHECK_EQ_INT(bm_dn_blocks(bm, 1), 0);
    bm_safe_counts(bm, &complete, &safe);
    CHECK_EQ_INT(complete, 0);
    bm_counts(bm, &blocks, &under, NULL);
    CHECK_EQ_INT(blocks, 1);
    CHECK_EQ_INT(under, 0);                     /* being written: not under-replicated */
    CHECK_EQ_INT(bm_add_replica(bm, 1, 7, 1000, 50), BM_STALE);
    CHECK_EQ_INT(bm_add_replica(bm, 1, 7, 1001, 80), BM_ADDED);
    bm_set_pipeline(bm, 7, slots, 2);
    CHECK(bm_remove_block(bm, 7, NULL, NULL) == 0);
    CHECK(bm_pipeline(bm, 7, &n) == NULL);
    bm_free(bm);
}

int main(void)
{
    test_new_genstamp_and_pipeline();
    test_blocks_and_replicas();
    test_remove_block();
    test_full_report();
    test_reports_in_parts();
    test_churn();
    test_load();
    return check_summary();
}
