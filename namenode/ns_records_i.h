/*
 * ns_records_i.h - the record layer of the namespace (private to
 * namespace.c and ns_records.c).
 *
 * What namespace.h's key layout looks like in code: key encoding, the
 * InodeRec and BlockRec codecs, directory entries, the 'm' counters and
 * path resolution.  Inode and directory entry reads go through the record
 * cache (ns_cache.h) and to the metastore (ms_get) when it misses; scans
 * use iterators.  Every write goes into ns->batch (and is noted for the
 * cache), which nothing applies until nsr_commit().  A mutation is
 * therefore:
 *
 *     struct nsr_counters c;
 *     nsr_begin(ns, &c);               empty batch, working copy of counters
 *     ... nsr_inode_put(), nsr_dentry_put(), c.files++ ...
 *     rc = nsr_commit(ns, &c, err, errsz);
 *
 * Functions that take err/errsz return a wire status (enum dfs_err, 0 = OK)
 * and on failure write a message for the user there, as namespace.h
 * describes.  A struct nsr_inode owns its blocks array: release it with
 * nsr_inode_free(), which is safe on a zeroed inode and on every inode a
 * loader here filled (even when it failed).  Reads may block on the disk
 * (ms_get); writes only fill the batch.  Like namespace.c: event loop
 * thread only.
 */
#ifndef NN_NS_RECORDS_I_H
#define NN_NS_RECORDS_I_H

#include <stddef.h>
#include <stdint.h>
#include "metastore.h"
#include "namespace.h"
#include "strutil.h"

#define NSR_NAME_MAX 255        /* longest path component (path.h) */
#define NSR_CLIENT_MAX 255      /* longest lease holder name */
#define NSR_PRINCIPAL_MAX 63    /* owner / group: fits ns_stat.owner */
#define NSR_ID_KEY_LEN 9        /* tag + be64 */
#define NSR_DENTRY_KEY_MAX (NSR_ID_KEY_LEN + NSR_NAME_MAX)

/* Counters of the 'm' keys; a mutation works on a copy. */
struct nsr_counters {
    uint64_t next_inode;
    uint64_t next_block;
    uint64_t genstamp;
    uint64_t files;
    uint64_t dirs;
};

struct ns_cache;

struct ns {
    struct metastore *ms;
    struct ns_cache *cache;     /* records as applied (ns_cache.h) */
    struct ns_limits lim;
    struct ms_batch *batch;     /* reused by every mutation */
    struct nsr_counters c;
    char cluster_id[64];
    /* ns_create's overwrite has no callback argument: this one. */
    void (*on_block_removed)(uint64_t block_id, void *arg);
    void *on_block_removed_arg;
    /* Files under construction removed (deleted, replaced): this one. */
    void (*on_uc_removed)(uint64_t inode, void *arg);
    void *on_uc_removed_arg;
};

/* An InodeRec decoded into fixed fields (blocks malloc'd). */
struct nsr_inode {
    uint64_t id;
    enum dfs_file_type type;
    uint32_t mode;
    char owner[NSR_PRINCIPAL_MAX + 1];
    char group[NSR_PRINCIPAL_MAX + 1];
    uint64_t mtime_ms;
    uint64_t atime_ms;
    uint64_t parent;
    uint64_t length;
    uint32_t replication;
    uint64_t block_size;
    int complete;
    int temporary;              /* under construction: delete, not recover */
    char client[NSR_CLIENT_MAX + 1];
    uint32_t children;
    uint64_t *blocks;
    size_t nblocks;
};

/* A BlockRec. */
struct nsr_block {
    uint64_t inode;
    uint64_t genstamp;
    uint64_t length;
    int complete;
};

/* ------------------------------------------------------------ helpers */

/* Format a message for the user into err[errsz] (nothing when err is NULL
 * or errsz 0; truncated to fit) and return code unchanged, so that a
 * failure reads `return nsr_fail(err, errsz, DFS_ERR_..., "...")`. */
int nsr_fail(char *err, size_t errsz, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* nsr_fail() with DFS_ERR_IO and "metadata I/O error": a metastore read
 * that failed.  Returns DFS_ERR_IO. */
int nsr_fail_io(char *err, size_t errsz);

/* ------------------------------------------------------- key encoding */

/* Store v big-endian in p[0..8). */
void nsr_put_be64(unsigned char *p, uint64_t v);
/* The big-endian 64-bit value in p[0..8). */
uint64_t nsr_get_be64(const unsigned char *p);
/* Write the key tag + be64(id) (tag 'i' inode, 'b' block, 'd' the prefix
 * of directory id's entries) into k, always NSR_ID_KEY_LEN bytes. */
void nsr_key_id(unsigned char k[NSR_ID_KEY_LEN], char tag, uint64_t id);
/* Write the entry key 'd' + be64(parent) + name[0..nlen) into k (nlen at
 * most NSR_NAME_MAX) and return its length. */
size_t nsr_key_dentry(unsigned char k[NSR_DENTRY_KEY_MAX], uint64_t parent,
                      const char *name, size_t nlen);
/* Write the under-construction index key 'u' + be64(inode) into k. */
static inline void nsr_key_uc(unsigned char k[NSR_ID_KEY_LEN], uint64_t inode)
{
    nsr_key_id(k, 'u', inode);
}
/* Write the counter key 'm' + name into k (strlen(name) at most 31) and
 * return its length. */
size_t nsr_key_meta(unsigned char k[32], const char *name);

/* ----------------------------------------------------------- paths */

/* 0 when path is normalised ("/" or "/a/b", components 1-255 bytes, no
 * "." or ".."), else DFS_ERR_INVAL "invalid path". */
int nsr_check_path(const char *path, char *err, size_t errsz);
/* The last component of a valid path ("" for "/"), pointing into path,
 * and in *parent_len the length of its parent's prefix ("/a/b" -> "b", 2;
 * "/a" -> "a", 0 meaning the root). */
const char *nsr_path_last(const char *path, size_t *parent_len);

/* ------------------------------------------------------------ inodes */

/* Free in's blocks and leave it with none; the rest of *in stays. */
void nsr_inode_free(struct nsr_inode *in);
/* Move the contents of src into dst: dst's blocks are freed, src keeps
 * its fields but no longer owns (or has) blocks. */
void nsr_inode_move(struct nsr_inode *dst, struct nsr_inode *src);
/* Fill *in as a new, complete inode id with no blocks, mtime and atime
 * now; owner and group are copied (NULL reads as ""). */
void nsr_inode_new(struct nsr_inode *in, uint64_t id, enum dfs_file_type type, uint32_t mode,
                   const char *owner, const char *group, uint64_t parent, uint64_t now);
/* Put in's record under 'i' + be64(in->id) into ns->batch; file fields
 * only for a file, children only for a directory, no parent for the root.
 * The index of files under construction follows in the same batch: 'u' +
 * be64(id) is put for a file under construction and deleted for a
 * complete one (this function and nsr_inode_del() are the only places
 * that keep it).  in stays the caller's. */
void nsr_inode_put(struct ns *ns, const struct nsr_inode *in);
/* Put the deletion of inode id's record (and of its 'u' index key) into
 * ns->batch. */
void nsr_inode_del(struct ns *ns, uint64_t id);
/* Load inode id into *in (the caller frees it with nsr_inode_free()).
 * 0, or DFS_ERR_IO with a message: a read error, an unreadable record, or
 * a missing one (the ids given come from the store, so that is
 * corruption).  *in is zeroed on failure. */
int nsr_inode_load(struct ns *ns, uint64_t id, struct nsr_inode *in, char *err, size_t errsz);
/* nsr_inode_load() for walks over whole trees: what is not cached is read
 * without being added, so that a `du` or a `delete -r` of a big tree does
 * not evict the records in use. */
int nsr_inode_load_scan(struct ns *ns, uint64_t id, struct nsr_inode *in,
                        char *err, size_t errsz);
/* nsr_inode_load() for an id that a client sent: a missing inode is
 * DFS_ERR_NOENT "No such file or directory". */
int nsr_inode_load_client(struct ns *ns, uint64_t id, struct nsr_inode *in,
                          char *err, size_t errsz);
/* Describe in, named name[0..nlen) (truncated to 255 bytes), in *st; a
 * directory always reads as complete. */
void nsr_fill_stat(const struct nsr_inode *in, const char *name, size_t nlen,
                   struct ns_stat *st);

/* ------------------------------------------------------------ blocks */

/* Load block id's record into *b: 1 when found, 0 when there is none (*b
 * untouched), -1 on a read error or an unreadable record. */
int nsr_block_load(struct ns *ns, uint64_t id, struct nsr_block *b);
/* Put *b as block id's record into ns->batch. */
void nsr_block_put(struct ns *ns, uint64_t id, const struct nsr_block *b);
/* Put the deletion of block id's record into ns->batch. */
void nsr_block_del(struct ns *ns, uint64_t id);

/* ------------------------------------------------- directory entries */

/* Look name[0..nlen) up in directory parent: 1 with the inode it names in
 * *child, 0 when there is no such entry, -1 on a read error or a
 * malformed value. */
int nsr_dentry_get(struct ns *ns, uint64_t parent, const char *name, size_t nlen,
                   uint64_t *child);
/* Put the entry name[0..nlen) -> child of directory parent into
 * ns->batch (the caller keeps the parent's children count). */
void nsr_dentry_put(struct ns *ns, uint64_t parent, const char *name, size_t nlen,
                    uint64_t child);
/* Put the deletion of directory parent's entry name[0..nlen) into
 * ns->batch. */
void nsr_dentry_del(struct ns *ns, uint64_t parent, const char *name, size_t nlen);
/* The directory entry under iterator it: 1 when it is an entry of
 * directory dir, with *name (pointing into the iterator's key: valid until
 * it moves, not NUL-terminated), *nlen and *child; 0 when the iterator is
 * past dir's entries (or at the end); -1 when the entry is corrupt.  Seek
 * to nsr_key_id('d', dir) first to walk all of them. */
int nsr_dentry_at(const struct ms_iter *it, uint64_t dir, const char **name,
                  size_t *nlen, uint64_t *child);

/* ---------------------------------------------------------- counters */

/* Put the counters of *c into ns->batch: all of them when `all`, else
 * only those that differ from the applied ones (ns->c). */
void nsr_put_counters(struct ns *ns, const struct nsr_counters *c, int all);
/* Clear ns->batch and drop the cache notes of its changes: what a
 * mutation that gives up leaves must never be applied. */
void nsr_batch_reset(struct ns *ns);
/* Start a mutation: reset ns->batch and copy the applied counters into
 * *c, the working copy the mutation changes. */
void nsr_begin(struct ns *ns, struct nsr_counters *c);
/* Finish a mutation: add the counters of *c that changed, apply ns->batch
 * with one ms_write() and clear it; the cache takes the batch's changes
 * once it is applied.  On success *c becomes ns->c and 0 is returned; on
 * failure DFS_ERR_IO and ns->c stays as it was.  Not durable yet: the
 * caller syncs (group commit) before it replies. */
int nsr_commit(struct ns *ns, const struct nsr_counters *c, char *err, size_t errsz);
/* Read counter `name` from the store into *v.  0, or DFS_ERR_IO when it
 * cannot be read, is missing or is not 8 bytes. */
int nsr_load_counter(struct ns *ns, const char *name, uint64_t *v, char *err, size_t errsz);

/* ------------------------------------------------------------- cache */

/* Compare every cached inode and directory entry with the store (read
 * past the cache).  0 when all agree, else DFS_ERR_IO naming the first
 * difference in err. */
int nsr_cache_check(struct ns *ns, char *err, size_t errsz);

/* -------------------------------------------------------- resolution */

/* Resolve path to its inode in *out (zeroed first; the caller frees it
 * with nsr_inode_free() whatever the result).  DFS_ERR_INVAL for a path
 * that is not normalised, DFS_ERR_NOENT / DFS_ERR_NOTDIR for a missing
 * component or a file on the way, DFS_ERR_IO. */
int nsr_resolve(struct ns *ns, const char *path, struct nsr_inode *out,
                char *err, size_t errsz);
/* Resolve the directory holding the last component of path (valid, not
 * "/") into *dir (the caller frees it) and point *name at that component
 * in path.  Errors as nsr_resolve(); DFS_ERR_NOTDIR when the parent is a
 * file. */
int nsr_resolve_parent(struct ns *ns, const char *path, struct nsr_inode *dir,
                       const char **name, char *err, size_t errsz);
/* Walk the directories of path[0, len) (a prefix of a valid path; 0 is
 * the root) and load the last one into *dir (the caller frees it whatever
 * the result).  Missing ones are created when `create` (mode, owner, each
 * with its parent's group and mtime now; their inodes and entries go into
 * ns->batch, ids from *c and c->dirs counted), else DFS_ERR_NOENT; a file
 * on the way is DFS_ERR_NOTDIR, but *dir itself may be a file (the caller
 * checks).  The caller adds its child to *dir and puts *dir again.  A walk
 * that created *dir has changed c->next_inode: *dir has no entries yet. */
int nsr_walk_dirs(struct ns *ns, const char *path, size_t len, int create, uint32_t mode,
                  const char *owner, uint64_t now, struct nsr_counters *c,
                  struct nsr_inode *dir, char *err, size_t errsz);

/* ------------------------ files being written (ns_records.c; namespace.c
 * and ns_uc.c use them) */

/* Load file `inode` for a block operation of writer `client` (NULL: the
 * namenode itself, any writer) into *f (the caller frees it whatever the
 * result): ERR_NOENT, ERR_ISDIR, ERR_INVAL "file is not open for writing"
 * (*f is then loaded: complete), ERR_BUSY for another writer. */
int nsr_load_writer(struct ns *ns, uint64_t inode, const char *client, struct nsr_inode *f,
                    char *err, size_t errsz);
/* The last block of f, 0 when it has none. */
uint64_t nsr_last_block(const struct nsr_inode *f);
/* Put block id of file f as complete with length len (<= block size, else
 * ERR_INVAL), keeping f->length the sum of its recorded block lengths (f
 * is not put). */
int nsr_finish_block(struct ns *ns, struct nsr_inode *f, uint64_t id, uint64_t len,
                     char *err, size_t errsz);
/* ------------------------------- the 'u' index (ns_uc.c; namespace.c
 * uses them at open) */

/* Put the marker "the 'u' index is complete" ('m' "uc_index") into
 * ns->batch (a new store has it from its format on). */
void nsr_uc_index_mark(struct ns *ns);
/* A store made before the 'u' index: build it from a scan of every inode
 * and mark it done, in one batch (once; start-up, blocks on LevelDB).  0,
 * or DFS_ERR_IO with a message. */
int nsr_uc_index_build(struct ns *ns, char *err, size_t errsz);

#endif
