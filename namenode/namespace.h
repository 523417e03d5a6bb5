/*
 * namespace.h - the file system tree, kept in the metastore.
 *
 * Keys (fixed-width big-endian ids keep scans ordered):
 *   'i' be64(inode)             -> InodeRec (proto/dfs.proto)
 *   'd' be64(parent) name       -> be64(child inode)
 *   'b' be64(block)             -> BlockRec
 *   'u' be64(inode)             -> "" for every file under construction
 *                                  (kept with its InodeRec, same batch)
 *   'm' name                    -> counters: "next_inode", "next_block",
 *                                  "genstamp", "files", "dirs" (be64),
 *                                  "cluster_id" (text), "uc_index" (be64 1:
 *                                  the 'u' keys are complete); "m\0sync" was
 *                                  an older metastore.c's commit marker
 *                                  (may remain in old stores, unused)
 * The root directory is inode 1, created when the store is empty.  A
 * directory's InodeRec keeps its number of entries (children); every
 * inode but the root keeps its parent's id.
 *
 * Every mutation is one WriteBatch through ms_write(): applied and visible
 * at once; the caller makes it durable (group commit) before it replies.
 * Paths given to ns_* are already normalised (path.h).  Operations return a
 * wire status (enum dfs_err values of dfs.h, 0 = OK) and on failure write a
 * message for the user into err[errsz], short enough to follow "PATH: "
 * ("No such file or directory", "Not a directory", "File exists",
 * "Directory not empty", "cannot move a directory into its own subtree").
 *
 * Runs on the namenode's event loop thread only.
 */
#ifndef NN_NAMESPACE_H
#define NN_NAMESPACE_H

#include <stddef.h>
#include <stdint.h>
#include "metastore.h"
#include "dfs.h"

#define NS_ROOT_INODE 1

/* Attributes of one inode as the RPC layer answers them. */
struct ns_stat {
    uint64_t inode;
    enum dfs_file_type type;
    uint32_t mode;
    char owner[64];
    char group[64];
    uint64_t mtime_ms;
    uint64_t atime_ms;
    uint64_t length;
    uint32_t replication;
    uint64_t block_size;
    int complete;
    uint32_t children;
    char name[256];
};

struct ns_limits {
    uint32_t default_replication;
    uint32_t max_replication;
    uint64_t default_block_size;
    uint64_t min_block_size;
};

struct ns;

/* Attach to an open metastore, formatting it (root "/" owned by root:
 * supergroup 0755, next_inode 2, next_block 1, genstamp 1000, cluster id
 * "CID-" + 32 random hex digits) when empty, else loading its counters.
 * A format is synced before the call returns (blocks for an fsync: call
 * before the event loop runs).  lim is copied; it must be consistent
 * (1 <= default_replication <= max_replication, min_block_size <=
 * default_block_size).  NULL with a message in err on failure.  The ns
 * does not own ms: close it after ns_close(). */
struct ns *ns_open(struct metastore *ms, const struct ns_limits *lim, char *err, size_t errsz);
/* Free the ns (NULL is fine); the metastore stays open. */
void ns_close(struct ns *ns);
/* "CID-..." of this namespace, owned by ns. */
const char *ns_cluster_id(const struct ns *ns);
/* The next block id to hand out: every id below it was allocated once, so
 * a replica of such an id that no file has is an orphan. */
uint64_t ns_next_block_id(const struct ns *ns);
/* Number of files and directories (kept as counters; the root counts as a
 * directory, so an empty namespace has 0 files and 1 directory). */
void ns_counts(const struct ns *ns, uint64_t *files, uint64_t *dirs);

/* Make directory path, owned by user ("root" when NULL or ""), group of
 * its parent.  mode beyond 07777: ERR_INVAL.  Missing parent: ERR_NOENT,
 * unless parents, which makes them (mode | 0300, same owner); an existing
 * path: ERR_EXIST, unless parents and it is a directory (then 0). */
int ns_mkdir(struct ns *ns, const char *path, uint32_t mode, int parents,
             const char *user, char *err, size_t errsz);
/* ns_create()'s open_for_write: 0 (a complete empty file), NS_CREATE_WRITE,
 * or NS_CREATE_WRITE | NS_CREATE_TEMPORARY (a file deleted, not recovered,
 * when its writer's lease expires: InodeRec.temporary). */
#define NS_CREATE_WRITE     0x1
#define NS_CREATE_TEMPORARY 0x2
/* Create a file (replication/block_size 0: defaults; replication outside
 * [1, max] or a block size below the minimum: ERR_INVAL).  With overwrite
 * an existing file - even one under construction: lease checks are the
 * caller's - is replaced by a new inode (its blocks reported through the
 * callback of ns_set_block_removed()); without, ERR_EXIST.  An existing
 * directory is always ERR_ISDIR.  parents makes missing directories (0755).
 * open_for_write leaves it under construction, owned by `client`
 * (required then); otherwise it is a complete empty file (touch).  *out
 * (may be NULL) describes the new file. */
int ns_create(struct ns *ns, const char *path, uint32_t mode, uint32_t replication,
              uint64_t block_size, int overwrite, int parents, int open_for_write,
              const char *client, const char *user, struct ns_stat *out,
              char *err, size_t errsz);
/* Attributes of path; out->name is its last component ("" for "/"). */
int ns_stat(struct ns *ns, const char *path, struct ns_stat *out, char *err, size_t errsz);
/* Entries of a directory in name (byte) order strictly after start_after
 * ("" or NULL = from the start), at most `limit` (0: 1000; the caller caps
 * it); a file lists itself.  *out is a malloc'd array of *n entries (free
 * with free(); NULL when none); *has_more is set when entries remain. */
int ns_list(struct ns *ns, const char *path, const char *start_after, uint32_t limit,
            struct ns_stat **out, size_t *n, int *has_more, char *err, size_t errsz);
/* Delete a file or an empty directory (else ERR_NOTEMPTY); recursive
 * deletes a tree: every inode, entry and block record, in one batch.  The
 * root cannot be deleted (ERR_INVAL).  Each block of a deleted file is
 * passed to on_block_removed (may be NULL) after the batch is applied. */
int ns_delete(struct ns *ns, const char *path, int recursive,
              void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
              char *err, size_t errsz);
/* Rename as dfs_rename() in dfs.h describes; atomic (one batch).
 * dst an existing directory: src moves into it as dst/basename(src).  The
 * entry src lands on, when it exists: a directory -> ERR_EXIST; a file ->
 * ERR_EXIST without overwrite, ERR_NOTDIR when src is a directory, else
 * the file is replaced (its blocks to on_block_removed after the batch).
 * Missing src or dst parent: ERR_NOENT; a directory into itself or its
 * subtree: ERR_XDEV; src "/": ERR_INVAL; src == dst or src already being
 * that entry: 0, nothing changes. */
int ns_rename(struct ns *ns, const char *src, const char *dst, int overwrite,
              void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
              char *err, size_t errsz);

/* Which fields of ns_setattr() to change. */
#define NS_SET_MODE  0x1
#define NS_SET_OWNER 0x2
#define NS_SET_GROUP 0x4
#define NS_SET_REPL  0x8
#define NS_SET_MTIME 0x10
#define NS_SET_ATIME 0x20
/* Change the attributes `what` selects, all or none: mode (& ~07777 ->
 * ERR_INVAL), owner, group (1-63 bytes, no ':', '/', space or control ->
 * ERR_INVAL), replication (files only: a directory is ERR_ISDIR; outside
 * [1, max] ERR_INVAL), mtime, atime.  what == 0 changes nothing. */
int ns_setattr(struct ns *ns, const char *path, unsigned what, uint32_t mode,
               const char *owner, const char *group, uint32_t replication,
               uint64_t mtime_ms, uint64_t atime_ms, char *err, size_t errsz);

/* Recursive totals of path: bytes in files, files, directories (counting
 * path itself when it is one) and space = sum of length x replication. */
int ns_summary(struct ns *ns, const char *path, uint64_t *length, uint64_t *files,
               uint64_t *dirs, uint64_t *space, char *err, size_t errsz);

/* Attributes of an inode by id (the RPC layer of the block calls, which
 * name files by inode).  out->name is "".  ERR_NOENT when no such inode. */
int ns_stat_inode(struct ns *ns, uint64_t inode, struct ns_stat *out, char *err, size_t errsz);

/* ------------------------------------------------------ record cache
 *
 * Inodes and directory entries used recently are kept decoded in memory
 * (ns_cache.h), exactly as the store has them applied, so that resolving a
 * path does not read LevelDB.  The store stays the truth: the cache takes
 * a mutation's changes only after its batch is applied. */

/* The cache's default budget (bytes of entries). */
#define NS_CACHE_DEFAULT_BYTES (128u << 20)

/* Change the cache's budget, evicting at once what no longer fits; 0
 * empties and disables it.  Not from inside another ns_* call. */
void ns_set_cache_limit(struct ns *ns, size_t bytes);
/* Lookups the cache answered and missed since ns_open(), its entries and
 * their bytes. */
void ns_cache_stats(const struct ns *ns, uint64_t *hits, uint64_t *misses,
                    uint64_t *entries, uint64_t *bytes);
/* Compare every cached record with the store (tests, debugging): 0 when
 * all agree, else DFS_ERR_IO with the first difference in err.  Reads the
 * store once per cached record. */
int ns_cache_check(struct ns *ns, char *err, size_t errsz);

/* Callback for the blocks that ns_create(overwrite) removes with the file
 * it replaces (ns_create has no callback argument).  NULL: none. */
void ns_set_block_removed(struct ns *ns, void (*cb)(uint64_t block_id, void *arg), void *arg);
/* Callback for every file under construction that a mutation removes
 * (ns_delete, ns_create's overwrite, ns_rename over it, ns_delete_inode),
 * after its batch is applied, with the file's inode (its lease must let it
 * go).  NULL: none. */
void ns_set_uc_removed(struct ns *ns, void (*cb)(uint64_t inode, void *arg), void *arg);
/* Delete file `inode` wherever it is (lease recovery of a temporary file:
 * it has no path at hand), as ns_delete() deletes a file: its blocks to
 * on_block_removed after the batch.  ERR_NOENT, ERR_ISDIR.  Reads its
 * directory's entries to find its name. */
int ns_delete_inode(struct ns *ns, uint64_t inode,
                    void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
                    char *err, size_t errsz);

/* ------------------------------------------------------------- blocks
 *
 * A file under construction (ns_create with open_for_write) belongs to its
 * writer `client`.  Blocks are appended one at a time: each new block is
 * under construction with length 0 until the next ns_add_block() or
 * ns_complete() records its final length and marks it complete.  A file's
 * length is the sum of the lengths recorded so far.  Generation stamps
 * come from one counter ("genstamp") and are never reused.
 *
 * The calls below that take `client` answer ERR_NOENT when the inode does
 * not exist, ERR_ISDIR for a directory, ERR_INVAL ("file is not open for
 * writing") when the file is complete, ERR_BUSY when another client writes
 * it, ERR_STALE when the block named is not the file's last block.
 * client NULL means the namenode itself (lease recovery): any writer.
 */

/* One block of a file, in file order. */
struct ns_block {
    uint64_t id;
    uint64_t genstamp;
    uint64_t length;            /* 0 for a block still being written */
    uint64_t offset;            /* of the block in the file */
    int complete;
};

/* Allocate the next block of file `inode`.  prev_id is the file's current
 * last block (0 when it has none) and prev_len its final length, recorded
 * (<= block size, else ERR_INVAL) and marked complete in the same batch.
 * A retry whose prev_id is the block before an empty last block answers
 * that last block again.  On success *block_id, *genstamp and *st (may be
 * NULL; name "") describe the new block and the file. */
int ns_add_block(struct ns *ns, uint64_t inode, const char *client, uint64_t prev_id,
                 uint64_t prev_len, uint64_t *block_id, uint64_t *genstamp,
                 struct ns_stat *st, char *err, size_t errsz);
/* Close file `inode`: last_id (0 for a file without blocks) must be its
 * last block; its length last_len is recorded, every block is complete,
 * the file's length is the sum, the file is complete and has no writer.
 * Completing an already complete file whose last block is last_id is OK
 * (a retry).  Whether enough replicas were reported is the caller's
 * business. */
int ns_complete(struct ns *ns, uint64_t inode, const char *client, uint64_t last_id,
                uint64_t last_len, char *err, size_t errsz);
/* Drop block_id, the last block of file `inode` (a pipeline that could not
 * be set up).  A block that is no longer in the file is OK (a retry); one
 * that is in the file but not last is ERR_STALE. */
int ns_abandon_block(struct ns *ns, uint64_t inode, const char *client, uint64_t block_id,
                     char *err, size_t errsz);
/* Give block_id, the last block of file `inode`, a new generation stamp
 * (pipeline or lease recovery) into *genstamp. */
int ns_bump_genstamp(struct ns *ns, uint64_t inode, const char *client, uint64_t block_id,
                     uint64_t *genstamp, char *err, size_t errsz);
/* The blocks of file `path` with their offsets, and its attributes in *st
 * (may be NULL).  *blocks is a malloc'd array of *n (NULL when 0; free with
 * free()).  ERR_ISDIR for a directory. */
int ns_get_blocks(struct ns *ns, const char *path, struct ns_stat *st,
                  struct ns_block **blocks, size_t *n, char *err, size_t errsz);
/* The record of one block; any out pointer may be NULL.  0, ERR_NOENT when
 * no file has that block, ERR_IO on a read error. */
int ns_block_lookup(struct ns *ns, uint64_t block_id, uint64_t *inode, uint64_t *genstamp,
                    uint64_t *length, int *complete);
/* Call cb for every block record in id order (startup: block map, safe
 * mode totals).  A nonzero return from cb stops the walk and is returned;
 * -1 when a record is unreadable; else 0. */
int ns_foreach_block(struct ns *ns,
                     int (*cb)(uint64_t id, uint64_t gs, uint64_t len, uint64_t inode, void *arg),
                     void *arg);

/* ---------------------------------------- files under construction
 *
 * (ns_uc.c)  Every file under construction is listed in the 'u' index, so
 * that the leases can be rebuilt at start without a scan of the tree.
 * Lease recovery hands a file to the namenode itself (NS_RECOVERY_CLIENT),
 * so its old writer's calls fail ERR_BUSY, and closes it once the last
 * block's length is settled; append reopens a complete file.
 */

/* The writer of a file the namenode is recovering. */
#define NS_RECOVERY_CLIENT "dfs-namenode-recovery"

/* A file under construction as lease bookkeeping and recovery see it. */
struct ns_uc {
    uint64_t inode;
    char client[256];           /* its writer */
    int temporary;
    uint32_t replication;
    uint64_t block_size;
    uint64_t length;            /* sum of the recorded block lengths */
    size_t nblocks;
    uint64_t last_id;           /* 0: no blocks */
    uint64_t last_genstamp;
    uint64_t last_length;       /* recorded (0 while being written) */
    int last_complete;
};

/* File `inode` under construction into *out.  ERR_NOENT, ERR_ISDIR,
 * ERR_INVAL "file is not open for writing" when it is complete. */
int ns_uc_get(struct ns *ns, uint64_t inode, struct ns_uc *out, char *err, size_t errsz);
/* Call cb for every file under construction, in inode order (start-up:
 * leases).  A nonzero return from cb stops the walk and is returned; -1
 * when the index or a file cannot be read. */
int ns_foreach_uc(struct ns *ns, int (*cb)(const struct ns_uc *uc, void *arg), void *arg);
/* Give file `inode` (under construction) to writer `client` (1-255 bytes,
 * else ERR_INVAL): lease recovery passes NS_RECOVERY_CLIENT. */
int ns_set_writer(struct ns *ns, uint64_t inode, const char *client, char *err, size_t errsz);
/* Reopen the complete file `path` for appending by `client`: it is under
 * construction again, owned by client, not temporary.  Its last block,
 * when partial (recorded length < block size), is under construction
 * again under a new generation stamp and *reopened is set; a full last
 * block is left complete.  *last describes the last block as it is now
 * (id 0: no blocks), *st (may be NULL) the file.  ERR_NOENT, ERR_ISDIR,
 * ERR_BUSY "file is being written" when it is under construction (lease
 * rules are the caller's), ERR_INVAL for a bad client name. */
int ns_append(struct ns *ns, const char *path, const char *client, struct ns_stat *st,
              struct ns_block *last, int *reopened, char *err, size_t errsz);
/* The end of a block recovery of file `inode`: block_id must be its last
 * block (else ERR_STALE).  drop: the block leaves the file (no replica
 * was found and nothing is known to be in it); else its length is
 * recorded (<= block size) and it is complete.  Then the file is complete
 * with no writer, whoever held it.  An already complete file whose last
 * block is block_id (or, with drop, that no longer has it) is OK (a
 * retry). */
int ns_close_recovered(struct ns *ns, uint64_t inode, uint64_t block_id, uint64_t length,
                       int drop, char *err, size_t errsz);

#endif
