/*
 * pktring.h - the packets of one block a writer has sent and not yet seen
 * acknowledged, each kept whole (block offset, flags, a copy of its data)
 * so that pipeline recovery can send them again to the rebuilt pipeline.
 *
 * A bounded ring of `cap` slots (the writer's window): packets enter at
 * the back when sent and leave at the front when acked, in order.  Each
 * slot's buffer is allocated the first time the slot is used and kept for
 * the ring's life, so a short file costs only the slots it touched.  The
 * ring also tracks `acked_end`, the highest offset + length of an acked
 * packet of the block: the bytes every datanode of the pipeline holds.
 *
 * Pure bookkeeping (no I/O, no locking): one writer thread owns a ring.
 */
#ifndef DFS_PKTRING_H
#define DFS_PKTRING_H

#include <stddef.h>
#include <stdint.h>

struct pkt_slot {
    uint64_t offset;             /* in the block, chunk-aligned */
    uint32_t flags;              /* DFS_PKT_* */
    size_t len;                  /* data bytes */
    uint8_t *data;               /* bufsize bytes, owned by the ring */
};

struct pktring {
    struct pkt_slot *slots;
    size_t cap;                  /* slots */
    size_t bufsize;              /* bytes per slot buffer */
    size_t head;                 /* oldest packet */
    size_t count;                /* packets in the ring */
    uint64_t acked_end;          /* highest offset + len acked in this block */
};

/* An empty ring of cap (>= 1) slots of bufsize bytes.  0, or -ENOMEM
 * (then *r holds nothing to free). */
int pktring_init(struct pktring *r, size_t cap, size_t bufsize);
/* Free every buffer; *r may be zeroed or initialized. */
void pktring_free(struct pktring *r);
/* Empty the ring for a new block whose datanodes already hold acked_end
 * bytes (0 for a new block; an append's reopened block: its length). */
void pktring_reset(struct pktring *r, uint64_t acked_end);
/* Append a copy of a packet of len (<= bufsize) bytes.  Returns its slot,
 * or NULL when the ring is full or out of memory (len > bufsize: NULL). */
const struct pkt_slot *pktring_push(struct pktring *r, uint64_t offset, const void *data,
                                    size_t len, uint32_t flags);
/* The oldest packet was acked: drop it and advance acked_end.  No-op on an
 * empty ring. */
void pktring_pop(struct pktring *r);
/* Make the oldest packet start at `offset` (its bytes before it dropped)
 * when offset lies inside it; else nothing changes.  For a packet whose
 * head the datanodes hold already. */
void pktring_trim_front(struct pktring *r, uint64_t offset);
/* The i-th oldest packet (i < count), or NULL. */
const struct pkt_slot *pktring_at(const struct pktring *r, size_t i);

static inline size_t pktring_count(const struct pktring *r) { return r->count; }
static inline int pktring_full(const struct pktring *r) { return r->count == r->cap; }
static inline uint64_t pktring_acked(const struct pktring *r) { return r->acked_end; }

#endif
