/*
 * namespace.h - the file system tree, kept in the metastore.
 *
 * Keys (fixed-width big-endian ids keep scans ordered):
 *   'i' be64(inode)             -> InodeRec (proto/dfs.proto)
 *   'd' be64(parent) name       -> be64(child inode)
 *   'b' be64(block)             -> BlockRec
 *   'm' name                    -> counters: "next_inode", "next_block",
 *                                  "genstamp" (be64), "cluster_id" (text)
 * The root directory is inode 1, created when the store is empty.
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
/* Number of files and directories (kept as counters). */
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

int ns_summary(struct ns *ns, const char *path, uint64_t *length, uint64_t *files,
               uint64_t *dirs, uint64_t *space, char *err, size_t errsz);

#endif
