/*
 * namespace.h - the file system tree, kept in the metastore.
 *
 * Keys (fixed-width big-endian ids keep scans ordered):
 *   'i' be64(inode)             -> InodeRec (proto/dfs.proto)
 *   'd' be64(parent) name       -> be64(child inode)
 *   'b' be64(block)             -> BlockRec
 *   'm' name                    -> counters: "next_inode", "next_block",
 *                                  "genstamp", "files", "dirs" (be64),
 *                                  "cluster_id" (text)
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

/* Attach to an open metastore, formatting it (root, counters, a new
 * cluster id) when empty.  NULL with a message in err on failure. */
struct ns *ns_open(struct metastore *ms, const struct ns_limits *lim, char *err, size_t errsz);
void ns_close(struct ns *ns);
const char *ns_cluster_id(const struct ns *ns);
/* Number of files and directories (kept as counters; the root counts as a
 * directory, so an empty namespace has 0 files and 1 directory). */
void ns_counts(const struct ns *ns, uint64_t *files, uint64_t *dirs);

int ns_mkdir(struct ns *ns, const char *path, uint32_t mode, int parents,
             const char *user, char *err, size_t errsz);
/* Create a file (replication/block_size 0: defaults).  With overwrite an
 * existing file is replaced (its blocks reported through on_block_removed);
 * an existing directory is always ERR_ISDIR.  open_for_write leaves it
 * under construction, owned by `client`.  *out describes the new file. */
int ns_create(struct ns *ns, const char *path, uint32_t mode, uint32_t replication,
              uint64_t block_size, int overwrite, int parents, int open_for_write,
              const char *client, const char *user, struct ns_stat *out,
              char *err, size_t errsz);
int ns_stat(struct ns *ns, const char *path, struct ns_stat *out, char *err, size_t errsz);
/* Entries of a directory in name order strictly after start_after ("" =
 * from the start), at most `limit`; a file lists itself.  *out is a
 * malloc'd array of *n entries (free with free()); *has_more is set when
 * entries remain. */
int ns_list(struct ns *ns, const char *path, const char *start_after, uint32_t limit,
            struct ns_stat **out, size_t *n, int *has_more, char *err, size_t errsz);
/* Delete a file or an empty directory; recursive deletes a tree.  The root
 * cannot be deleted.  Each block of a deleted file is passed to
 * on_block_removed (may be NULL) after the batch is applied. */
int ns_delete(struct ns *ns, const char *path, int recursive,
              void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
              char *err, size_t errsz);
/* Rename as dfs_rename() in dfs.h describes; atomic (one batch). */
int ns_rename(struct ns *ns, const char *src, const char *dst, int overwrite,
              void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
              char *err, size_t errsz);

/* Which fields of ns_setattr() to change. */
#define NS_SET_MODE  0x1
#define NS_SET_OWNER 0x2
#define NS_SET_GROUP 0x4
#define NS_SET_REPL  0x8
#define NS_SET_MTIME 0x10
int ns_setattr(struct ns *ns, const char *path, unsigned what, uint32_t mode,
               const char *owner, const char *group, uint32_t replication,
               uint64_t mtime_ms, char *err, size_t errsz);

/* Recursive totals of path: bytes in files, files, directories (counting
 * path itself when it is one) and space = sum of length x replication. */
int ns_summary(struct ns *ns, const char *path, uint64_t *length, uint64_t *files,
               uint64_t *dirs, uint64_t *space, char *err, size_t errsz);

/* Attributes of an inode by id (the RPC layer of the block calls, which
 * name files by inode).  out->name is "".  ERR_NOENT when no such inode. */
int ns_stat_inode(struct ns *ns, uint64_t inode, struct ns_stat *out, char *err, size_t errsz);

/* Callback for the blocks that ns_create(overwrite) removes with the file
 * it replaces (ns_create has no callback argument).  NULL: none. */
void ns_set_block_removed(struct ns *ns, void (*cb)(uint64_t block_id, void *arg), void *arg);

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
 * -1 when a record is unreadable or memory runs out; else 0. */
int ns_foreach_block(struct ns *ns,
                     int (*cb)(uint64_t id, uint64_t gs, uint64_t len, uint64_t inode, void *arg),
                     void *arg);

#endif
