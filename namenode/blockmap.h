/*
 * blockmap.h - the namenode's in-memory map of blocks and their replicas.
 *
 * Every block of the namespace has an entry: its file (inode), generation
 * stamp, length, whether it is complete, the replication its file asks
 * for, and its replicas.  The entries come from the namespace at start
 * (bm_load) and follow it afterwards (bm_add_block, bm_complete_block,
 * bm_remove_block, called by the RPC handlers after the namespace
 * changed).  Replica locations are soft state: they come only from the
 * datanodes' block reports and are lost on restart.
 *
 * A replica is named by the slot of its datanode (dnmanager.h); the map
 * keeps, per datanode, the set of blocks it holds, so a full report can
 * replace that set and a dead datanode can be dropped without a scan.
 *
 * Reported replicas are checked against the entry: an unknown block or a
 * generation stamp other than the block's is ignored (the caller logs it);
 * a complete block reported with another length is kept but flagged
 * corrupt, as is a replica reported bad (bm_mark_corrupt: by a reader or
 * its datanode, or listed as corrupt in its datanode's block report).  A
 * corrupt replica stays listed but no longer counts as a good one.
 *
 * Counters for the cluster report are kept as the map changes: blocks,
 * under-replicated blocks (complete blocks with fewer good replicas than
 * their file's replication) and corrupt replicas.
 *
 * Runs on the namenode's event loop thread only.
 */
#ifndef NN_BLOCKMAP_H
#define NN_BLOCKMAP_H

#include <stddef.h>
#include <stdint.h>
#include "namespace.h"

struct bm_replica {
    uint32_t dn;            /* datanode slot */
    uint8_t corrupt;
    uint64_t length;        /* as last reported */
};

/* One block.  Owned by the map; read freely, change only through bm_*. */
struct bm_block {
    uint64_t id;
    uint64_t inode;
    uint64_t genstamp;
    uint64_t length;        /* recorded length (0 while being written) */
    uint32_t expected;      /* replication of its file */
    uint8_t complete;
    uint16_t nreps, capreps;
    struct bm_replica *reps;
};

/* What became of a reported replica. */
enum bm_report_rc {
    BM_ADDED = 0,           /* added or refreshed */
    BM_UNKNOWN,             /* no such block: ignored */
    BM_STALE,               /* other generation stamp: ignored */
    BM_BAD_LENGTH           /* complete block, other length: kept, corrupt */
};

struct blockmap;

/* An empty map. */
struct blockmap *bm_new(void);
/* Free the map and every entry (NULL is fine). */
void bm_free(struct blockmap *bm);
/* Add an entry for every block record of ns (start-up; reads the whole
 * block table, so it blocks on LevelDB).  A record whose file does not
 * exist is skipped (logged); 0, or -1 with a message in err when a record
 * or its file cannot be read (the namenode must not start: those blocks
 * would pass for orphans and their replicas be deleted). */
int bm_load(struct blockmap *bm, struct ns *ns, char *err, size_t errsz);

/* A block just allocated: under construction, length 0, no replica.  When
 * id is already in the map (a retried allocation) the entry is returned
 * unchanged.  id 0 is not a block id. */
struct bm_block *bm_add_block(struct blockmap *bm, uint64_t id, uint64_t inode,
                              uint64_t genstamp, uint32_t expected);
/* The entry of block id, or NULL. */
struct bm_block *bm_get(const struct blockmap *bm, uint64_t id);
/* The block's final length is recorded: it is complete; replicas that
 * reported another length are flagged corrupt. */
void bm_complete_block(struct blockmap *bm, struct bm_block *b, uint64_t length);
/* The block is (again) under construction under generation stamp gs, a
 * new one (pipeline recovery, append, lease recovery): every replica
 * reported so far has an older one and no longer counts -- they leave the
 * map (the datanodes keep them: they come back with gs once finalized,
 * or as stale replicas).  Returns how many left. */
size_t bm_new_genstamp(struct blockmap *bm, struct bm_block *b, uint64_t gs);

/* Expected locations of a block under construction: the datanodes (slots)
 * of its current pipeline -- set at allocation and by pipeline recovery,
 * and after a restart learnt from the replicas being written that full
 * reports list (BlockInfo.rbw) with the block's genstamp.  Datanodes that
 * report a replica of it with an older genstamp (a survivor the pipeline
 * or lease recovery has not bumped yet) are kept too, flagged "older":
 * lease recovery asks them, readers are not sent there.  At most
 * BM_PIPELINE_MAX; forgotten when the block completes or leaves the map. */
#define BM_PIPELINE_MAX 16
/* Replace block id's expected locations by slots[n] (n 0: none), none
 * older. */
void bm_set_pipeline(struct blockmap *bm, uint64_t id, const uint32_t *slots, size_t n);
/* Add slot to block id's expected locations (kept once; a location with
 * the block's genstamp stays so when reported older). */
void bm_pipeline_add(struct blockmap *bm, uint64_t id, uint32_t slot, int older);
/* Block id's expected locations (owned by bm, valid until it changes) and
 * their number in *n; NULL when none. */
const uint32_t *bm_pipeline(const struct blockmap *bm, uint64_t id, size_t *n);
/* 1 when slot is an expected location of block id known with an older
 * genstamp only. */
int bm_pipeline_older(const struct blockmap *bm, uint64_t id, uint32_t slot);

/* The file's replication changed. */
void bm_set_expected(struct blockmap *bm, struct bm_block *b, uint32_t expected);
/* Drop block id (file deleted, block abandoned).  Before the entry is
 * freed, on_replica (may be NULL) runs for each of its replicas and each
 * datanode of its pipeline that is not one of them (a replica being
 * written, to queue their deletion).  0, or -1 when id is not in the map. */
int bm_remove_block(struct blockmap *bm, uint64_t id,
                    void (*on_replica)(const struct bm_block *b, uint32_t dn, void *arg),
                    void *arg);

/* Datanode dn holds replica (id, genstamp, length).  See enum
 * bm_report_rc.  A replica already known keeps its corrupt flag. */
enum bm_report_rc bm_add_replica(struct blockmap *bm, uint32_t dn, uint64_t id,
                                 uint64_t genstamp, uint64_t length);
/* Datanode dn no longer holds block id.  0, or -1 when it was not listed. */
int bm_remove_replica(struct blockmap *bm, uint32_t dn, uint64_t id);
/* A full report of dn: bm_report_begin(), bm_add_replica() for every
 * replica it lists (over as many calls, and turns of the loop, as its
 * parts take; other datanodes' reports may run meanwhile), bm_report_end(),
 * which drops the replicas of dn that the report did not list and returns
 * their number.  A report begun again before it ended is given up first,
 * dropping nothing. */
void bm_report_begin(struct blockmap *bm, uint32_t dn);
size_t bm_report_end(struct blockmap *bm, uint32_t dn);
/* 1 while a full report of dn is in progress. */
int bm_reporting(const struct blockmap *bm, uint32_t dn);
/* Drop every replica of dn (dead datanode); returns their number. */
size_t bm_drop_datanode(struct blockmap *bm, uint32_t dn);
/* dn's replica of block id was found bad (by a reader, or by dn itself:
 * ReportBadBlockReq, or BlockInfo.corrupt in a report).  BM_ADDED when flagged,
 * BM_UNKNOWN when there is no such block or dn holds no replica of it,
 * BM_STALE when genstamp is not the block's. */
enum bm_report_rc bm_mark_corrupt(struct blockmap *bm, uint64_t id, uint64_t genstamp,
                                  uint32_t dn);

/* Called after every change to an entry (replica added, dropped or
 * flagged, block completed, replication changed) and after an entry is
 * removed (bm_get then returns NULL), with the block's id.  It must not
 * change the map.  One watcher; NULL removes it. */
typedef void (*bm_watch_fn)(uint64_t block_id, void *arg);
void bm_set_watch(struct blockmap *bm, bm_watch_fn fn, void *arg);

/* Replicas of b not flagged corrupt. */
unsigned bm_good_replicas(const struct bm_block *b);
/* Replicas (corrupt too) held by datanode dn. */
uint32_t bm_dn_blocks(const struct blockmap *bm, uint32_t dn);
/* Totals: blocks in the map, under-replicated blocks, corrupt replicas.
 * Any pointer may be NULL. */
void bm_counts(const struct blockmap *bm, uint64_t *blocks, uint64_t *under_replicated,
               uint64_t *corrupt);
/* Complete blocks, and those of them with at least one good replica
 * (safe mode's figures; the difference is the missing blocks). */
void bm_safe_counts(const struct blockmap *bm, uint64_t *complete, uint64_t *safe);
/* Call cb for every block datanode dn holds a replica of, in no
 * particular order, until it returns nonzero (returned).  cb must not
 * change the map. */
int bm_foreach_dn(const struct blockmap *bm, uint32_t dn,
                  int (*cb)(const struct bm_block *b, void *arg), void *arg);
/* Call cb for every entry, in no particular order, until it returns
 * nonzero (returned).  cb must not change the map. */
int bm_foreach(const struct blockmap *bm, int (*cb)(const struct bm_block *b, void *arg),
               void *arg);

#endif
