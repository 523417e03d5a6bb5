/*
 * replmon.h - the replication monitor: every complete block back to the
 * replication its file asks for, from any good replica left.
 *
 * The block map tells the monitor which blocks changed (bm_set_watch ->
 * rm_note); each rm_tick() classifies them:
 *   under-replicated  fewer good replicas on in-service datanodes (plus
 *                     copies in flight) than its file's replication: queued
 *                     by priority -- 0: one good replica left (or only
 *                     replicas on decommissioning datanodes), 1: below two
 *                     thirds of the target, 2: the rest;
 *   missing           no good replica anywhere: listed, nothing to copy;
 *   mis-replicated    enough replicas, all on one rack while the cluster has
 *                     in-service datanodes on two or more: queued last for
 *                     one extra copy on another rack, after which the trim
 *                     takes one from the crowded rack;
 *   over-replicated   more good in-service replicas than wanted: the extra
 *                     ones are deleted, keeping the racks spread (a rack
 *                     with two or more replicas gives one up first) and
 *                     taking from the fullest datanode -- but only when
 *                     every holder is LIVE (not stale) and no deletion of
 *                     the block is still unconfirmed (dm_is_doomed);
 *   corrupt replicas  deleted once the good ones are enough, or first when
 *                     no datanode can take a copy (the one holding the
 *                     corrupt replica can, once it is gone).
 * Then it schedules copies, highest priority first: a source among the
 * good replicas (decommissioning datanodes first, they serve no writers;
 * then the least busy) with fewer than `streams` copies in flight, and
 * targets chosen by placement (pl_choose_more: in-service live datanodes
 * holding no replica of the block nor an unconfirmed deletion of it, racks
 * spread).  A copy is a command for
 * the source's next heartbeat answer (rm_take_copies); it is done when
 * every target reported the replica, and given up (the block queued
 * again) after timeout_ms.
 *
 * Deletions are queued on the datanodes (dm_queue_delete) and the replica
 * leaves the block map at once; the datanode's "doomed" set keeps it from
 * coming back with a report before the datanode confirmed it gone, so a
 * replica is never counted as both still there and about to go.
 *
 * Decommissioning (dnmanager.h admin states): replicas on a decommissioning
 * or decommissioned datanode do not count as in service but serve as
 * copy sources; rm_tick turns a decommissioning datanode DECOMMISSIONED
 * once every block it holds has enough in-service replicas elsewhere on
 * LIVE datanodes (stale ones may be dying).
 *
 * A dead datanode (rm_datanode_dead) loses the copies it was sourcing and
 * those aimed at it: their blocks are looked at again at once.
 *
 * Runs on the namenode's event loop thread only.  While rm_set_enabled(0)
 * (safe mode) nothing is classified, scheduled or deleted; enabling it
 * again re-examines every block.
 */
#ifndef NN_REPLMON_H
#define NN_REPLMON_H

#include <stddef.h>
#include <stdint.h>

struct blockmap;
struct dnmanager;
struct placement;
struct replmon;

#define RM_MAX_TARGETS 8    /* targets of one copy command */

struct rm_cfg {
    uint32_t streams;       /* copies in flight per source datanode */
    uint32_t timeout_ms;    /* a copy not reported by then is given up */
};

/* A copy command: replica (id, genstamp, length) to the datanodes of
 * slots targets[ntargets], as a pipeline in that order. */
struct rm_copy {
    uint64_t id, genstamp, length;
    uint32_t ntargets;
    uint32_t targets[RM_MAX_TARGETS];
};

/* Figures for reports (exact as of the last rm_tick). */
struct rm_counts {
    uint64_t under_replicated;  /* queued or being copied */
    uint64_t pending;           /* copies in flight */
    uint64_t missing;           /* complete blocks with no good replica */
    uint64_t copies_done;       /* since start: copies completed */
    uint64_t copies_timed_out;  /* since start: copies given up */
    uint64_t deleted_excess;    /* since start: excess replicas deleted */
    uint64_t deleted_corrupt;   /* since start: corrupt replicas deleted */
};

/* A monitor over bm, dm and pl (none owned).  Enabled; call
 * bm_set_watch(bm, rm_watch, rm) to feed it. */
struct replmon *rm_new(struct blockmap *bm, struct dnmanager *dm, struct placement *pl,
                       const struct rm_cfg *cfg);
void rm_free(struct replmon *rm);
/* Change the settings (configuration reload). */
void rm_set_cfg(struct replmon *rm, const struct rm_cfg *cfg);
/* Enable or disable (safe mode); enabling re-examines every block. */
void rm_set_enabled(struct replmon *rm, int on);

/* Block id changed or left the map (a bm_watch_fn; arg is the monitor). */
void rm_watch(uint64_t block_id, void *arg);
/* Every block held by datanode slot needs a look (it turned
 * decommissioning, or came back). */
void rm_note_datanode(struct replmon *rm, uint32_t slot);
/* Datanode slot is dead: its queued commands and the copies it was
 * sourcing are dropped (those blocks are looked at again). */
void rm_datanode_dead(struct replmon *rm, uint32_t slot);

/* Classify the blocks that changed, time out copies, schedule copies and
 * deletions, move decommissioning datanodes on; now is dfs_mono_ms(). */
void rm_tick(struct replmon *rm, uint64_t now);

/* Take at most max queued copy commands of datanode slot into out[max];
 * returns how many. */
size_t rm_take_copies(struct replmon *rm, uint32_t slot, struct rm_copy *out, size_t max);

void rm_counts(const struct replmon *rm, struct rm_counts *out);

/* How one replica counts, for the monitor, fsck and reports alike: not at
 * all on a dead (or unknown) datanode; corrupt; good on a decommissioning
 * or decommissioned datanode; good in service (stale datanodes included). */
struct dm_node;
enum rm_kind { RM_GONE, RM_CORRUPT, RM_DECOM, RM_IN_SERVICE };
enum rm_kind rm_replica_kind(const struct dm_node *dn, int corrupt);
/* Call cb for every missing block, until it returns nonzero. */
int rm_foreach_missing(const struct replmon *rm, int (*cb)(uint64_t id, void *arg), void *arg);
/* Blocks on datanode slot that still need a replica elsewhere before it
 * can leave (its decommissioning progress). */
uint64_t rm_decommission_left(struct replmon *rm, uint32_t slot);

#endif
