/*
 * ns_cache.h - an in-memory copy of the namespace records used recently
 * (private to the record layer, ns_records.c).
 *
 * It holds decoded inode records ('i' keys) and directory entries ('d'
 * keys) exactly as the metastore has them applied.  LevelDB stays the
 * truth; the cache only saves its reads (a Get costs several microseconds,
 * and resolving a path takes two per component).  Two rules keep it exact:
 *
 *   - fill: a record just read from the store may be added; the store and
 *     the cache then agree on it;
 *   - pending changes: every put and delete a mutation adds to ns->batch is
 *     also noted here (nsc_pend_*).  Right after ms_write() applied the
 *     batch, nsc_pend_apply() applies the notes to the cache in batch order
 *     (so the last change of a key wins, as in LevelDB).  A batch that is
 *     cleared unapplied drops them (nsc_pend_drop); one whose write failed
 *     forgets every key it touched (nsc_pend_abort).
 *
 * Reads inside a mutation therefore see the applied state, as the store's
 * reads do, and between two mutations the cache never holds a value the
 * store does not.  Durability is not the cache's business: what is applied
 * is visible in LevelDB too, and commit.c holds every reply until the
 * writes it may reveal are synced.
 *
 * Entries cost their bytes (header, fields, name or blocks and strings);
 * once the total passes the limit the least recently used ones go.  A limit
 * of 0 disables the cache (nothing is filled or noted).
 *
 * Event loop thread only, like the namespace.
 */
#ifndef NN_NS_CACHE_H
#define NN_NS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include "ns_records_i.h"

struct ns_cache;

/* A cached inode record: the fields of struct nsr_inode, its strings and
 * blocks stored in the entry (owned by the cache). */
struct nsc_inode {
    uint64_t id;
    uint64_t mtime_ms;
    uint64_t atime_ms;
    uint64_t parent;
    uint64_t length;
    uint64_t block_size;
    uint32_t mode;
    uint32_t replication;
    uint32_t children;
    enum dfs_file_type type;
    int complete;
    int temporary;
    const char *owner;
    const char *group;
    const char *client;         /* "" when no writer */
    const uint64_t *blocks;
    size_t nblocks;
};

struct nsc_stats {
    uint64_t hits;              /* lookups answered (inodes and entries) */
    uint64_t misses;            /* lookups that went to the store */
    uint64_t entries;
    uint64_t bytes;
};

/* A cache of at most limit bytes (0: disabled).  Never NULL (aborts on
 * OOM, like every namenode allocation). */
struct ns_cache *nsc_new(size_t limit);
/* Free c and everything in it (NULL is fine). */
void nsc_free(struct ns_cache *c);
/* Change the limit, evicting at once what no longer fits (0 empties and
 * disables the cache).  Not during a mutation: pending notes are dropped. */
void nsc_set_limit(struct ns_cache *c, size_t limit);
void nsc_stats(const struct ns_cache *c, struct nsc_stats *st);

/* ------------------------------------------------------------ lookups */

/* The cached inode id, or NULL (counted as a miss).  The pointer is valid
 * until the next call that changes the cache (fill, apply, set_limit). */
const struct nsc_inode *nsc_inode_get(struct ns_cache *c, uint64_t id);
/* Copy a cached inode into *dst (blocks malloc'd: free with
 * nsr_inode_free()). */
void nsc_inode_copy(const struct nsc_inode *src, struct nsr_inode *dst);
/* Entry name[0..nlen) of directory parent: 1 with *child when cached, 0
 * when not (a miss: the store must be asked). */
int nsc_dentry_get(struct ns_cache *c, uint64_t parent, const char *name, size_t nlen,
                   uint64_t *child);

/* Add a record just read from the store (replacing a cached one). */
void nsc_inode_fill(struct ns_cache *c, const struct nsr_inode *in);
void nsc_dentry_fill(struct ns_cache *c, uint64_t parent, const char *name, size_t nlen,
                     uint64_t child);

/* ---------------------------------------------------- pending changes */

/* Note a put or a delete just added to ns->batch (copied). */
void nsc_pend_inode_put(struct ns_cache *c, const struct nsr_inode *in);
void nsc_pend_inode_del(struct ns_cache *c, uint64_t id);
void nsc_pend_dentry_put(struct ns_cache *c, uint64_t parent, const char *name, size_t nlen,
                         uint64_t child);
void nsc_pend_dentry_del(struct ns_cache *c, uint64_t parent, const char *name, size_t nlen);
/* The batch was applied: apply the notes in order, then evict to the
 * limit. */
void nsc_pend_apply(struct ns_cache *c);
/* The batch was cleared without being written: drop the notes. */
void nsc_pend_drop(struct ns_cache *c);
/* Writing the batch failed (it may or may not be applied): forget every
 * key the notes name, so that the next read asks the store. */
void nsc_pend_abort(struct ns_cache *c);

/* ------------------------------------------------------------- checks */

/* Call on_inode for every cached inode and on_dentry for every cached
 * entry (any order); a nonzero return stops the walk and is returned. */
int nsc_foreach(const struct ns_cache *c,
                int (*on_inode)(const struct nsc_inode *in, void *arg),
                int (*on_dentry)(uint64_t parent, const char *name, size_t nlen,
                                 uint64_t child, void *arg),
                void *arg);

#endif
