/*
 * scslot.h - the shared-memory slots of short-circuit reads, one layout
 * for both sides (the datanode's dn_shortcircuit.c and the client's
 * shortcircuit.c).
 *
 * Each short-circuit connection has one segment (a memfd the datanode
 * creates and passes with the connection's first grant) of DFS_SC_SLOTS
 * slots of 64 bytes, mapped shared by both processes.  A slot describes
 * one replica whose descriptors the client holds:
 *
 *   state       DFS_SC_FREE, DFS_SC_VALID or DFS_SC_INVALID
 *   block_id, genstamp   the replica
 *   bytes_read  bytes the client read through it (statistics)
 *
 * The datanode writes state, block_id and genstamp: VALID when it grants
 * the replica, INVALID before the replica is deleted, reopened (append,
 * recovery: a new generation stamp), cut or flagged bad, and for every
 * slot of a connection that closes; FREE when the client released it.  The
 * client only reads them -- before each read, and again after it: data
 * read while the slot was not VALID is never returned -- and only adds to
 * bytes_read, which the datanode sums into its heartbeats.  Stores are
 * releases, loads acquires (C11 atomics on lock-free 32/64-bit words).
 */
#ifndef DFS_SCSLOT_H
#define DFS_SCSLOT_H

#include <stdatomic.h>
#include <stdint.h>

#define DFS_SC_SLOTS      256u          /* slots per connection */
#define DFS_SC_SLOT_SIZE  64u
#define DFS_SC_SEGMENT_SIZE (DFS_SC_SLOTS * DFS_SC_SLOT_SIZE)

enum dfs_sc_state { DFS_SC_FREE = 0, DFS_SC_VALID = 1, DFS_SC_INVALID = 2 };

struct dfs_sc_slot {
    _Atomic uint32_t state;
    uint32_t reserved;
    _Atomic uint64_t block_id;
    _Atomic uint64_t genstamp;
    _Atomic uint64_t bytes_read;
    uint8_t pad[DFS_SC_SLOT_SIZE - 32];
};
_Static_assert(sizeof(struct dfs_sc_slot) == DFS_SC_SLOT_SIZE, "slot size");

/* 1 while slot s still grants replica (id, gs). */
static inline int dfs_sc_slot_valid(const struct dfs_sc_slot *s, uint64_t id, uint64_t gs)
{
    return atomic_load_explicit(&s->state, memory_order_acquire) == DFS_SC_VALID &&
           atomic_load_explicit(&s->block_id, memory_order_acquire) == id &&
           atomic_load_explicit(&s->genstamp, memory_order_acquire) == gs;
}

#endif
