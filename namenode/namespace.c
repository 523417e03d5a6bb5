/*
 * namespace.c - the file system tree in the metastore (see namespace.h).
 *
 * Every operation reads what it needs through the record layer (inodes and
 * directory entries from the record cache or ms_get(), scans with
 * iterators), builds one batch in ns->batch holding every change (inodes,
 * directory entries, block records, counters) and applies it with one
 * ms_write().  The in-memory counters and the cache change only once that
 * write succeeded, so a failed operation leaves the store, the counters and
 * the cache as they were.
 *
 * The records themselves (keys, codecs, directory entries, counters, path
 * resolution) are ns_records.c's, through ns_records_i.h; this file holds
 * the operations.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "namespace.h"
#include "ns_records_i.h"
#include "ns_cache.h"
#include "dfs.pb-c.h"
#include "xmalloc.h"

#define LIST_DEFAULT_LIMIT 1000

/* A growing array of ids. */
struct idvec {
    uint64_t *v;
    size_t n, cap;
};

/* ------------------------------------------------------------ helpers */

static void idvec_push(struct idvec *v, uint64_t id)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 16;
        v->v = xrealloc(v->v, v->cap * sizeof(*v->v));
    }
    v->v[v->n++] = id;
}

static void idvec_free(struct idvec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

/* What a mutation removed: block ids, and files that were under
 * construction (reported after the batch is applied). */
struct removed {
    struct idvec blocks;
    struct idvec uc;
};

static void removed_free(struct removed *r)
{
    idvec_free(&r->blocks);
    idvec_free(&r->uc);
}

/* 1 when s is a usable owner / group / user name. */
static int principal_valid(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > NSR_PRINCIPAL_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == ':' || ch == '/' || ch <= ' ' || ch == 0x7f)
            return 0;
    }
    return 1;
}

/* ------------------------------------------------------------- open */

static int random_hex(char *out, size_t nhex)
{
    unsigned char raw[32];
    size_t nraw = (nhex + 1) / 2, got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || nraw > sizeof(raw))
        goto fail;
    while (got < nraw) {
        ssize_t r = read(fd, raw + got, nraw - got);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto fail;
        got += (size_t)r;
    }
    close(fd);
    for (size_t i = 0; i < nhex; i++)
        out[i] = "0123456789abcdef"[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    out[nhex] = '\0';
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Write the root directory and the first counters into an empty store. */
static int ns_format(struct ns *ns, char *err, size_t errsz)
{
    struct nsr_counters c = { .next_inode = 2, .next_block = 1, .genstamp = 1000,
                          .files = 0, .dirs = 1 };
    unsigned char key[32];
    struct nsr_inode root;
    char hex[33];
    size_t klen;

    if (random_hex(hex, 32) < 0)
        return nsr_fail(err, errsz, DFS_ERR_IO, "cannot read /dev/urandom: %s", strerror(errno));
    snprintf(ns->cluster_id, sizeof(ns->cluster_id), "CID-%s", hex);
    nsr_batch_reset(ns);
    nsr_inode_new(&root, NS_ROOT_INODE, DFS_TYPE_DIR, 0755, "root", "supergroup", 0, dfs_wall_ms());
    nsr_inode_put(ns, &root);
    nsr_put_counters(ns, &c, 1);
    klen = nsr_key_meta(key, "cluster_id");
    ms_batch_put(ns->batch, key, klen, ns->cluster_id, strlen(ns->cluster_id));
    nsr_uc_index_mark(ns);
    if (nsr_commit(ns, &c, err, errsz) != 0)
        return DFS_ERR_IO;
    if (ms_sync(ns->ms) < 0)
        return nsr_fail(err, errsz, DFS_ERR_IO, "cannot sync the new namespace");
    return 0;
}

static int ns_load(struct ns *ns, const char *cid, size_t cidlen, char *err, size_t errsz)
{
    struct nsr_inode root;
    int rc;

    if (cidlen == 0 || cidlen >= sizeof(ns->cluster_id))
        return nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: cluster id");
    memcpy(ns->cluster_id, cid, cidlen);
    ns->cluster_id[cidlen] = '\0';
    if ((rc = nsr_load_counter(ns, "next_inode", &ns->c.next_inode, err, errsz)) != 0 ||
        (rc = nsr_load_counter(ns, "next_block", &ns->c.next_block, err, errsz)) != 0 ||
        (rc = nsr_load_counter(ns, "genstamp", &ns->c.genstamp, err, errsz)) != 0 ||
        (rc = nsr_load_counter(ns, "files", &ns->c.files, err, errsz)) != 0 ||
        (rc = nsr_load_counter(ns, "dirs", &ns->c.dirs, err, errsz)) != 0)
        return rc;
    rc = nsr_inode_load(ns, NS_ROOT_INODE, &root, err, errsz);
    if (rc == 0 && root.type != DFS_TYPE_DIR)
        rc = nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: root is not a directory");
    nsr_inode_free(&root);
    if (rc == 0)
        rc = nsr_uc_index_build(ns, err, errsz);
    return rc;
}

struct ns *ns_open(struct metastore *ms, const struct ns_limits *lim, char *err, size_t errsz)
{
    struct ns *ns = xcalloc(1, sizeof(*ns));
    unsigned char key[32];
    size_t klen, vlen;
    char *val = NULL;
    int rc;

    ns->batch = ms_batch_new();
    ns->cache = nsc_new(NS_CACHE_DEFAULT_BYTES);
    ns->ms = ms;
    ns->lim = *lim;
    if (ns->lim.default_replication == 0 || ns->lim.max_replication == 0 ||
        ns->lim.default_replication > ns->lim.max_replication ||
        ns->lim.default_block_size == 0 ||
        ns->lim.default_block_size < ns->lim.min_block_size) {
        nsr_fail(err, errsz, DFS_ERR_INVAL, "inconsistent namespace limits");
        goto fail;
    }
    klen = nsr_key_meta(key, "cluster_id");
    rc = ms_get(ms, key, klen, &val, &vlen);
    if (rc < 0) {
        nsr_fail_io(err, errsz);
        goto fail;
    }
    rc = rc == 0 ? ns_format(ns, err, errsz) : ns_load(ns, val, vlen, err, errsz);
    free(val);
    if (rc != 0)
        goto fail;
    return ns;
fail:
    ms_batch_destroy(ns->batch);
    nsc_free(ns->cache);
    free(ns);
    return NULL;
}

void ns_close(struct ns *ns)
{
    if (ns == NULL)
        return;
    ms_batch_destroy(ns->batch);
    nsc_free(ns->cache);
    free(ns);
}

void ns_set_cache_limit(struct ns *ns, size_t bytes)
{
    nsc_set_limit(ns->cache, bytes);
}

void ns_cache_stats(const struct ns *ns, uint64_t *hits, uint64_t *misses,
                    uint64_t *entries, uint64_t *bytes)
{
    struct nsc_stats st;

    nsc_stats(ns->cache, &st);
    *hits = st.hits;
    *misses = st.misses;
    *entries = st.entries;
    *bytes = st.bytes;
}

int ns_cache_check(struct ns *ns, char *err, size_t errsz)
{
    return nsr_cache_check(ns, err, errsz);
}

const char *ns_cluster_id(const struct ns *ns)
{
    return ns->cluster_id;
}

uint64_t ns_next_block_id(const struct ns *ns)
{
    return ns->c.next_block;
}

void ns_set_block_removed(struct ns *ns, void (*cb)(uint64_t block_id, void *arg), void *arg)
{
    ns->on_block_removed = cb;
    ns->on_block_removed_arg = arg;
}

void ns_set_uc_removed(struct ns *ns, void (*cb)(uint64_t inode, void *arg), void *arg)
{
    ns->on_uc_removed = cb;
    ns->on_uc_removed_arg = arg;
}

void ns_counts(const struct ns *ns, uint64_t *files, uint64_t *dirs)
{
    *files = ns->c.files;
    *dirs = ns->c.dirs;
}

/* ------------------------------------------------------- mkdir, create */

static const char *owner_of(const char *user)
{
    return user != NULL && user[0] != '\0' ? user : "root";
}

int ns_mkdir(struct ns *ns, const char *path, uint32_t mode, int parents,
             const char *user, char *err, size_t errsz)
{
    struct nsr_inode dir, nd;
    struct nsr_counters c;
    const char *name, *owner = owner_of(user);
    size_t plen;
    uint64_t child, now = dfs_wall_ms();
    int rc;

    if ((rc = nsr_check_path(path, err, errsz)) != 0)
        return rc;
    if (mode & ~07777u)
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid mode");
    if (!principal_valid(owner))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid user name");
    if (strcmp(path, "/") == 0)
        return parents ? 0 : nsr_fail(err, errsz, DFS_ERR_EXIST, "File exists");
    nsr_begin(ns, &c);
    name = nsr_path_last(path, &plen);
    rc = nsr_walk_dirs(ns, path, plen, parents, mode | 0300, owner, now, &c, &dir, err, errsz);
    if (rc == 0 && dir.type != DFS_TYPE_DIR)
        rc = nsr_fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
    if (rc != 0)
        goto out;
    rc = c.next_inode != ns->c.next_inode ? 0      /* dir is new: empty */
                                          : nsr_dentry_get(ns, dir.id, name, strlen(name),
                                                           &child);
    if (rc < 0) {
        rc = nsr_fail_io(err, errsz);
        goto out;
    }
    if (rc == 1) {
        struct nsr_inode ex;

        rc = nsr_inode_load(ns, child, &ex, err, errsz);
        if (rc == 0 && (!parents || ex.type != DFS_TYPE_DIR))
            rc = nsr_fail(err, errsz, DFS_ERR_EXIST, "File exists");
        nsr_inode_free(&ex);
        goto out;
    }
    nsr_inode_new(&nd, c.next_inode++, DFS_TYPE_DIR, mode, owner, dir.group, dir.id, now);
    c.dirs++;
    nsr_dentry_put(ns, dir.id, name, strlen(name), nd.id);
    dir.children++;
    dir.mtime_ms = now;
    nsr_inode_put(ns, &nd);
    nsr_inode_put(ns, &dir);
    rc = nsr_commit(ns, &c, err, errsz);
out:
    nsr_inode_free(&dir);
    return rc;
}

static int check_replication(const struct ns *ns, uint32_t *repl, char *err, size_t errsz)
{
    if (*repl == 0)
        *repl = ns->lim.default_replication;
    if (*repl < 1 || *repl > ns->lim.max_replication)
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "replication %u out of range [1, %u]",
                        *repl, ns->lim.max_replication);
    return 0;
}

/* Validate create's arguments, applying the defaults. */
static int check_create_args(const struct ns *ns, uint32_t mode, uint32_t *repl,
                             uint64_t *block_size, int open_for_write, const char *client,
                             const char *owner, char *err, size_t errsz)
{
    int rc;

    if (mode & ~07777u)
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid mode");
    if ((rc = check_replication(ns, repl, err, errsz)) != 0)
        return rc;
    if (*block_size == 0)
        *block_size = ns->lim.default_block_size;
    if (*block_size < ns->lim.min_block_size)
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "block size %llu below the minimum %llu",
                        (unsigned long long)*block_size,
                    (unsigned long long)ns->lim.min_block_size);
    if (open_for_write && (client == NULL || client[0] == '\0' ||
                           strlen(client) > NSR_CLIENT_MAX))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid client name");
    if (!principal_valid(owner))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid user name");
    return 0;
}

/* Put the removal of a file's inode and block records into the batch,
 * collecting its block ids (and its id when under construction) into
 * removed. */
static void remove_file(struct ns *ns, const struct nsr_inode *f, struct nsr_counters *c,
                        struct removed *removed)
{
    for (size_t i = 0; i < f->nblocks; i++) {
        nsr_block_del(ns, f->blocks[i]);
        idvec_push(&removed->blocks, f->blocks[i]);
    }
    if (!f->complete)
        idvec_push(&removed->uc, f->id);
    nsr_inode_del(ns, f->id);
    c->files--;
}

/* After the batch is applied: the blocks to cb, the files under
 * construction to ns->on_uc_removed. */
static void report_removed(struct ns *ns, const struct removed *removed,
                           void (*cb)(uint64_t block_id, void *arg), void *arg)
{
    for (size_t i = 0; cb != NULL && i < removed->blocks.n; i++)
        cb(removed->blocks.v[i], arg);
    for (size_t i = 0; ns->on_uc_removed != NULL && i < removed->uc.n; i++)
        ns->on_uc_removed(removed->uc.v[i], ns->on_uc_removed_arg);
}

int ns_create(struct ns *ns, const char *path, uint32_t mode, uint32_t replication,
              uint64_t block_size, int overwrite, int parents, int open_for_write,
              const char *client, const char *user, struct ns_stat *out,
              char *err, size_t errsz)
{
    struct nsr_inode dir, f, ex;
    struct removed removed = { 0 };
    struct nsr_counters c;
    const char *name, *owner = owner_of(user);
    size_t plen, nlen;
    uint64_t child, now = dfs_wall_ms();
    int rc;

    if ((rc = nsr_check_path(path, err, errsz)) != 0)
        return rc;
    if (strcmp(path, "/") == 0)
        return nsr_fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
    rc = check_create_args(ns, mode, &replication, &block_size, open_for_write, client,
                           owner, err, errsz);
    if (rc != 0)
        return rc;
    nsr_begin(ns, &c);
    memset(&ex, 0, sizeof(ex));
    name = nsr_path_last(path, &plen);
    nlen = strlen(name);
    rc = nsr_walk_dirs(ns, path, plen, parents, 0755, owner, now, &c, &dir, err, errsz);
    if (rc == 0 && dir.type != DFS_TYPE_DIR)
        rc = nsr_fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
    if (rc != 0)
        goto out;
    rc = c.next_inode != ns->c.next_inode ? 0 : nsr_dentry_get(ns, dir.id, name, nlen, &child);
    if (rc < 0) {
        rc = nsr_fail_io(err, errsz);
        goto out;
    }
    if (rc == 1) {
        if ((rc = nsr_inode_load(ns, child, &ex, err, errsz)) != 0)
            goto out;
        if (ex.type == DFS_TYPE_DIR) {
            rc = nsr_fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
            goto out;
        }
        if (!overwrite) {
            rc = nsr_fail(err, errsz, DFS_ERR_EXIST, "File exists");
            goto out;
        }
        remove_file(ns, &ex, &c, &removed);
    } else {
        dir.children++;
    }
    nsr_inode_new(&f, c.next_inode++, DFS_TYPE_FILE, mode, owner, dir.group, dir.id, now);
    f.replication = replication;
    f.block_size = block_size;
    f.complete = !open_for_write;
    f.temporary = (open_for_write & NS_CREATE_TEMPORARY) != 0;
    if (open_for_write)
        dfs_copy_str(f.client, sizeof(f.client), client);
    c.files++;
    nsr_dentry_put(ns, dir.id, name, nlen, f.id);
    dir.mtime_ms = now;
    nsr_inode_put(ns, &f);
    nsr_inode_put(ns, &dir);
    rc = nsr_commit(ns, &c, err, errsz);
    if (rc == 0) {
        if (out != NULL)
            nsr_fill_stat(&f, name, nlen, out);
        report_removed(ns, &removed, ns->on_block_removed, ns->on_block_removed_arg);
    }
    nsr_inode_free(&f);
out:
    nsr_inode_free(&ex);
    nsr_inode_free(&dir);
    removed_free(&removed);
    return rc;
}

/* ---------------------------------------------------------- stat, list */

int ns_stat(struct ns *ns, const char *path, struct ns_stat *out, char *err, size_t errsz)
{
    struct nsr_inode in;
    size_t plen;
    const char *name;
    int rc = nsr_resolve(ns, path, &in, err, errsz);

    if (rc == 0) {
        name = nsr_path_last(path, &plen);
        nsr_fill_stat(&in, name, strlen(name), out);
    }
    nsr_inode_free(&in);
    return rc;
}

int ns_stat_inode(struct ns *ns, uint64_t inode, struct ns_stat *out, char *err, size_t errsz)
{
    struct nsr_inode in;
    int rc = nsr_inode_load_client(ns, inode, &in, err, errsz);

    if (rc == 0)
        nsr_fill_stat(&in, "", 0, out);
    nsr_inode_free(&in);
    return rc;
}

/* Append one entry to a growing stat array; returns it. */
static struct ns_stat *stat_push(struct ns_stat **arr, size_t *n, size_t *cap)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        *arr = xrealloc(*arr, *cap * sizeof(**arr));
    }
    return &(*arr)[(*n)++];
}

/* Entries of directory dir after start_after, at most limit. */
static int list_dir(struct ns *ns, uint64_t dir, const char *start_after, uint32_t limit,
                    struct ns_stat **out, size_t *n, int *has_more, char *err, size_t errsz)
{
    size_t salen = strlen(start_after), cap = 0, nlen;
    unsigned char *seek = xmalloc(NSR_ID_KEY_LEN + salen);
    struct ms_iter *it = ms_iter_new(ns->ms);
    const char *name;
    uint64_t child;
    int rc = 0, r;

    nsr_key_id(seek, 'd', dir);
    memcpy(seek + NSR_ID_KEY_LEN, start_after, salen);
    ms_iter_seek(it, seek, NSR_ID_KEY_LEN + salen);
    for (; (r = nsr_dentry_at(it, dir, &name, &nlen, &child)) == 1; ms_iter_next(it)) {
        struct nsr_inode in;

        if (salen > 0 && nlen == salen && memcmp(name, start_after, salen) == 0)
            continue;
        if (*n == limit) {
            *has_more = 1;
            break;
        }
        if ((rc = nsr_inode_load(ns, child, &in, err, errsz)) != 0)
            break;
        nsr_fill_stat(&in, name, nlen, stat_push(out, n, &cap));
        nsr_inode_free(&in);
    }
    if (rc == 0 && r < 0)
        rc = nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: directory entry");
    ms_iter_destroy(it);
    free(seek);
    return rc;
}

int ns_list(struct ns *ns, const char *path, const char *start_after, uint32_t limit,
            struct ns_stat **out, size_t *n, int *has_more, char *err, size_t errsz)
{
    struct nsr_inode in;
    int rc;

    *out = NULL;
    *n = 0;
    *has_more = 0;
    if (start_after == NULL)
        start_after = "";
    if (limit == 0)
        limit = LIST_DEFAULT_LIMIT;
    if ((rc = nsr_resolve(ns, path, &in, err, errsz)) != 0)
        goto out;
    if (in.type == DFS_TYPE_DIR) {
        rc = list_dir(ns, in.id, start_after, limit, out, n, has_more, err, errsz);
    } else {
        size_t plen;
        const char *name = nsr_path_last(path, &plen);

        if (strcmp(name, start_after) > 0) {
            *out = xmalloc(sizeof(**out));
            nsr_fill_stat(&in, name, strlen(name), *out);
            *n = 1;
        }
    }
out:
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
        *has_more = 0;
    }
    nsr_inode_free(&in);
    return rc;
}

/* ---------------------------------------------------------- tree walk */

/* What a walk_tree visitor gets: an entry `name` of directory `dir` and
 * the inode it names.  Nonzero stops the walk (a status). */
typedef int (*walk_fn)(struct ns *ns, uint64_t dir, const char *name, size_t nlen,
                       const struct nsr_inode *in, void *arg, char *err, size_t errsz);

/* Visit every entry beneath directory top, each directory's entries in
 * name order, depth first (an explicit stack: no recursion limit). */
static int walk_tree(struct ns *ns, uint64_t top, walk_fn fn, void *arg,
                     char *err, size_t errsz)
{
    struct idvec todo = { 0 };
    int rc = 0;

    idvec_push(&todo, top);
    while (rc == 0 && todo.n > 0) {
        uint64_t dir = todo.v[--todo.n], child;
        struct ms_iter *it = ms_iter_new(ns->ms);
        unsigned char prefix[NSR_ID_KEY_LEN];
        const char *name;
        size_t nlen;
        int r;

        nsr_key_id(prefix, 'd', dir);
        ms_iter_seek(it, prefix, sizeof(prefix));
        for (; rc == 0 && (r = nsr_dentry_at(it, dir, &name, &nlen, &child)) == 1;
             ms_iter_next(it)) {
            struct nsr_inode in;

            if ((rc = nsr_inode_load_scan(ns, child, &in, err, errsz)) != 0)
                break;
            if (in.type == DFS_TYPE_DIR)
                idvec_push(&todo, in.id);
            rc = fn(ns, dir, name, nlen, &in, arg, err, errsz);
            nsr_inode_free(&in);
        }
        if (rc == 0 && r < 0)
            rc = nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: directory entry");
        ms_iter_destroy(it);
    }
    idvec_free(&todo);
    return rc;
}

/* ------------------------------------------------------------- delete */

struct removal {
    struct nsr_counters *c;
    struct removed *removed;
};

/* walk_tree visitor: put the removal of one entry and its inode. */
static int remove_entry(struct ns *ns, uint64_t dir, const char *name, size_t nlen,
                        const struct nsr_inode *in, void *arg, char *err, size_t errsz)
{
    struct removal *rm = arg;

    nsr_dentry_del(ns, dir, name, nlen);
    if (in->type == DFS_TYPE_FILE) {
        remove_file(ns, in, rm->c, rm->removed);
    } else {
        nsr_inode_del(ns, in->id);
        rm->c->dirs--;
    }
    return 0;
}

int ns_delete(struct ns *ns, const char *path, int recursive,
              void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
              char *err, size_t errsz)
{
    struct nsr_inode dir, in;
    struct removed removed = { 0 };
    struct nsr_counters c;
    const char *name;
    uint64_t child;
    int rc;

    memset(&in, 0, sizeof(in));
    memset(&dir, 0, sizeof(dir));
    if ((rc = nsr_check_path(path, err, errsz)) != 0)
        return rc;
    if (strcmp(path, "/") == 0)
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "cannot delete the root directory");
    if ((rc = nsr_resolve_parent(ns, path, &dir, &name, err, errsz)) != 0)
        goto out;
    rc = nsr_dentry_get(ns, dir.id, name, strlen(name), &child);
    if (rc <= 0) {
        rc = rc < 0 ? nsr_fail_io(err, errsz)
                    : nsr_fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
        goto out;
    }
    if ((rc = nsr_inode_load(ns, child, &in, err, errsz)) != 0)
        goto out;
    if (in.type == DFS_TYPE_DIR && in.children > 0 && !recursive) {
        rc = nsr_fail(err, errsz, DFS_ERR_NOTEMPTY, "Directory not empty");
        goto out;
    }
    nsr_begin(ns, &c);
    if (in.type == DFS_TYPE_DIR) {
        struct removal rm = { &c, &removed };

        nsr_inode_del(ns, in.id);
        c.dirs--;
        rc = walk_tree(ns, in.id, remove_entry, &rm, err, errsz);
    } else {
        remove_file(ns, &in, &c, &removed);
    }
    if (rc != 0)
        goto out;
    nsr_dentry_del(ns, dir.id, name, strlen(name));
    dir.children--;
    dir.mtime_ms = dfs_wall_ms();
    nsr_inode_put(ns, &dir);
    rc = nsr_commit(ns, &c, err, errsz);
    if (rc == 0)
        report_removed(ns, &removed, on_block_removed, arg);
out:
    nsr_batch_reset(ns);
    removed_free(&removed);
    nsr_inode_free(&in);
    nsr_inode_free(&dir);
    return rc;
}

/* The name of child in directory dir into name[NSR_NAME_MAX + 1]: 1, 0
 * when no entry names it, -1 on a read error. */
static int name_in_dir(struct ns *ns, uint64_t dir, uint64_t child, char *name)
{
    struct ms_iter *it = ms_iter_new(ns->ms);
    unsigned char prefix[NSR_ID_KEY_LEN];
    const char *n;
    size_t nlen;
    uint64_t c;
    int r;

    nsr_key_id(prefix, 'd', dir);
    ms_iter_seek(it, prefix, sizeof(prefix));
    for (; (r = nsr_dentry_at(it, dir, &n, &nlen, &c)) == 1; ms_iter_next(it)) {
        if (c == child) {
            memcpy(name, n, nlen);
            name[nlen] = '\0';
            break;
        }
    }
    ms_iter_destroy(it);
    return r;
}

int ns_delete_inode(struct ns *ns, uint64_t inode,
                    void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
                    char *err, size_t errsz)
{
    struct nsr_inode dir, f;
    struct removed removed = { 0 };
    struct nsr_counters c;
    char name[NSR_NAME_MAX + 1];
    int rc = nsr_inode_load_client(ns, inode, &f, err, errsz);

    memset(&dir, 0, sizeof(dir));
    if (rc == 0 && f.type == DFS_TYPE_DIR)
        rc = nsr_fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
    if (rc == 0)
        rc = nsr_inode_load(ns, f.parent, &dir, err, errsz);
    if (rc != 0)
        goto out;
    rc = name_in_dir(ns, dir.id, f.id, name);
    if (rc <= 0) {
        rc = rc < 0 ? nsr_fail_io(err, errsz)
                    : nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: inode %llu has no "
                               "entry in its directory", (unsigned long long)inode);
        goto out;
    }
    nsr_begin(ns, &c);
    remove_file(ns, &f, &c, &removed);
    nsr_dentry_del(ns, dir.id, name, strlen(name));
    dir.children--;
    dir.mtime_ms = dfs_wall_ms();
    nsr_inode_put(ns, &dir);
    rc = nsr_commit(ns, &c, err, errsz);
    if (rc == 0)
        report_removed(ns, &removed, on_block_removed, arg);
out:
    nsr_batch_reset(ns);
    removed_free(&removed);
    nsr_inode_free(&f);
    nsr_inode_free(&dir);
    return rc;
}

/* ------------------------------------------------------------- rename */

/* Where a rename lands: directory tdir, entry tname, and the inode that
 * entry names now (has_t). */
struct rename_target {
    struct nsr_inode dir;
    const char *name;
    struct nsr_inode t;
    int has_t;
};

static void target_free(struct rename_target *tg)
{
    nsr_inode_free(&tg->dir);
    nsr_inode_free(&tg->t);
}

/* Look name up in tg->dir and load what it names into tg->t. */
static int target_lookup(struct ns *ns, struct rename_target *tg, char *err, size_t errsz)
{
    uint64_t child;
    int rc = nsr_dentry_get(ns, tg->dir.id, tg->name, strlen(tg->name), &child);

    nsr_inode_free(&tg->t);
    tg->has_t = 0;
    if (rc < 0)
        return nsr_fail_io(err, errsz);
    if (rc == 0)
        return 0;
    tg->has_t = 1;
    return nsr_inode_load(ns, child, &tg->t, err, errsz);
}

/* Find where src (named sname) lands for dst: dst itself, or
 * dst/sname when dst is an existing directory. */
static int rename_target(struct ns *ns, const char *dst, const char *sname,
                         struct rename_target *tg, char *err, size_t errsz)
{
    int rc;

    memset(tg, 0, sizeof(*tg));
    if (strcmp(dst, "/") == 0) {
        rc = nsr_inode_load(ns, NS_ROOT_INODE, &tg->dir, err, errsz);
        tg->name = sname;
        return rc != 0 ? rc : target_lookup(ns, tg, err, errsz);
    }
    if ((rc = nsr_resolve_parent(ns, dst, &tg->dir, &tg->name, err, errsz)) != 0 ||
        (rc = target_lookup(ns, tg, err, errsz)) != 0)
        return rc;
    if (tg->has_t && tg->t.type == DFS_TYPE_DIR) {
        nsr_inode_move(&tg->dir, &tg->t);
        tg->name = sname;
        rc = target_lookup(ns, tg, err, errsz);
    }
    return rc;
}

/* DFS_ERR_XDEV when directory `dir` is src or lies beneath it. */
static int check_not_under(struct ns *ns, uint64_t dir, uint64_t src, char *err, size_t errsz)
{
    struct nsr_inode a;
    int rc = 0;

    while (rc == 0 && dir != NS_ROOT_INODE) {
        if (dir == src)
            return nsr_fail(err, errsz, DFS_ERR_XDEV,
                            "cannot move a directory into its own subtree");
        if ((rc = nsr_inode_load(ns, dir, &a, err, errsz)) == 0)
            dir = a.parent;
        nsr_inode_free(&a);
    }
    return rc;
}

/* May src replace tg->t?  0 when it may (or there is nothing to replace). */
static int check_replace(const struct nsr_inode *s, const struct rename_target *tg,
                         int overwrite, char *err, size_t errsz)
{
    if (!tg->has_t)
        return 0;
    if (tg->t.type == DFS_TYPE_DIR || !overwrite)
        return nsr_fail(err, errsz, DFS_ERR_EXIST, "File exists");
    if (s->type == DFS_TYPE_DIR)
        return nsr_fail(err, errsz, DFS_ERR_NOTDIR, "cannot overwrite a file with a directory");
    return 0;
}

/* Put the move of s from (sdir, sname) to the target into the batch. */
static void rename_apply(struct ns *ns, struct nsr_inode *sdir, const char *sname,
                         struct nsr_inode *s, struct rename_target *tg, struct nsr_counters *c,
                         struct removed *removed)
{
    uint64_t now = dfs_wall_ms();

    if (tg->has_t)
        remove_file(ns, &tg->t, c, removed);
    nsr_dentry_del(ns, sdir->id, sname, strlen(sname));
    nsr_dentry_put(ns, tg->dir.id, tg->name, strlen(tg->name), s->id);
    s->parent = tg->dir.id;
    sdir->children--;
    sdir->mtime_ms = now;
    nsr_inode_put(ns, s);
    if (sdir->id == tg->dir.id) {
        if (!tg->has_t)
            sdir->children++;
        nsr_inode_put(ns, sdir);
        return;
    }
    if (!tg->has_t)
        tg->dir.children++;
    tg->dir.mtime_ms = now;
    nsr_inode_put(ns, sdir);
    nsr_inode_put(ns, &tg->dir);
}

int ns_rename(struct ns *ns, const char *src, const char *dst, int overwrite,
              void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
              char *err, size_t errsz)
{
    struct nsr_inode sdir, s;
    struct rename_target tg;
    struct removed removed = { 0 };
    struct nsr_counters c;
    const char *sname;
    uint64_t child;
    int rc;

    memset(&sdir, 0, sizeof(sdir));
    memset(&s, 0, sizeof(s));
    memset(&tg, 0, sizeof(tg));
    if ((rc = nsr_check_path(src, err, errsz)) != 0 ||
        (rc = nsr_check_path(dst, err, errsz)) != 0)
        return rc;
    if (strcmp(src, "/") == 0)
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "cannot rename the root directory");
    if ((rc = nsr_resolve_parent(ns, src, &sdir, &sname, err, errsz)) != 0)
        goto out;
    rc = nsr_dentry_get(ns, sdir.id, sname, strlen(sname), &child);
    if (rc <= 0) {
        rc = rc < 0 ? nsr_fail_io(err, errsz)
                    : nsr_fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
        goto out;
    }
    if ((rc = nsr_inode_load(ns, child, &s, err, errsz)) != 0 || strcmp(src, dst) == 0)
        goto out;
    if ((rc = rename_target(ns, dst, sname, &tg, err, errsz)) != 0)
        goto out;
    if (tg.has_t && tg.t.id == s.id)
        goto out;       /* already there: nothing to do */
    if ((rc = check_replace(&s, &tg, overwrite, err, errsz)) != 0)
        goto out;
    if (s.type == DFS_TYPE_DIR &&
        (rc = check_not_under(ns, tg.dir.id, s.id, err, errsz)) != 0)
        goto out;
    nsr_begin(ns, &c);
    rename_apply(ns, &sdir, sname, &s, &tg, &c, &removed);
    rc = nsr_commit(ns, &c, err, errsz);
    if (rc == 0)
        report_removed(ns, &removed, on_block_removed, arg);
out:
    nsr_batch_reset(ns);
    removed_free(&removed);
    target_free(&tg);
    nsr_inode_free(&s);
    nsr_inode_free(&sdir);
    return rc;
}

/* ------------------------------------------------------------ setattr */

static int check_setattr(const struct nsr_inode *in, unsigned what, uint32_t mode,
                         const char *owner, const char *group, uint32_t replication,
                         uint32_t max_repl, char *err, size_t errsz)
{
    if (what & ~(unsigned)(NS_SET_MODE | NS_SET_OWNER | NS_SET_GROUP | NS_SET_REPL |
                           NS_SET_MTIME | NS_SET_ATIME))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid attribute mask");
    if ((what & NS_SET_MODE) && (mode & ~07777u))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid mode");
    if ((what & NS_SET_OWNER) && !principal_valid(owner))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid owner name");
    if ((what & NS_SET_GROUP) && !principal_valid(group))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid group name");
    if ((what & NS_SET_REPL) && in->type == DFS_TYPE_DIR)
        return nsr_fail(err, errsz, DFS_ERR_ISDIR, "setrep needs a file");
    if ((what & NS_SET_REPL) && (replication < 1 || replication > max_repl))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "replication %u out of range [1, %u]",
                        replication, max_repl);
    return 0;
}

int ns_setattr(struct ns *ns, const char *path, unsigned what, uint32_t mode,
               const char *owner, const char *group, uint32_t replication,
               uint64_t mtime_ms, uint64_t atime_ms, char *err, size_t errsz)
{
    struct nsr_inode in;
    struct nsr_counters c;
    int rc = nsr_resolve(ns, path, &in, err, errsz);

    if (rc == 0)
        rc = check_setattr(&in, what, mode, owner, group, replication,
                           ns->lim.max_replication, err, errsz);
    if (rc != 0 || what == 0)
        goto out;
    if (what & NS_SET_MODE)
        in.mode = mode;
    if (what & NS_SET_OWNER)
        dfs_copy_str(in.owner, sizeof(in.owner), owner);
    if (what & NS_SET_GROUP)
        dfs_copy_str(in.group, sizeof(in.group), group);
    if (what & NS_SET_REPL)
        in.replication = replication;
    if (what & NS_SET_MTIME)
        in.mtime_ms = mtime_ms;
    if (what & NS_SET_ATIME)
        in.atime_ms = atime_ms;
    nsr_begin(ns, &c);
    nsr_inode_put(ns, &in);
    rc = nsr_commit(ns, &c, err, errsz);
out:
    nsr_batch_reset(ns);
    nsr_inode_free(&in);
    return rc;
}

/* ------------------------------------------------------------ summary */

struct summary {
    uint64_t length, files, dirs, space;
};

static void summary_add_file(struct summary *sum, const struct nsr_inode *f)
{
    sum->length += f->length;
    sum->files++;
    sum->space += f->length * f->replication;
}

/* walk_tree visitor: count one entry. */
static int summary_entry(struct ns *ns, uint64_t dir, const char *name, size_t nlen,
                         const struct nsr_inode *in, void *arg, char *err, size_t errsz)
{
    struct summary *sum = arg;

    if (in->type == DFS_TYPE_DIR)
        sum->dirs++;
    else
        summary_add_file(sum, in);
    return 0;
}

int ns_summary(struct ns *ns, const char *path, uint64_t *length, uint64_t *files,
               uint64_t *dirs, uint64_t *space, char *err, size_t errsz)
{
    struct summary sum = { 0 };
    struct nsr_inode in;
    int rc = nsr_resolve(ns, path, &in, err, errsz);

    if (rc == 0 && in.type == DFS_TYPE_DIR) {
        sum.dirs = 1;
        rc = walk_tree(ns, in.id, summary_entry, &sum, err, errsz);
    } else if (rc == 0) {
        summary_add_file(&sum, &in);
    }
    nsr_inode_free(&in);
    if (rc != 0)
        return rc;
    *length = sum.length;
    *files = sum.files;
    *dirs = sum.dirs;
    *space = sum.space;
    return 0;
}

/* ------------------------------------------------------------- blocks */

/* An addBlock retried after a lost answer: prev is the block before the
 * last one and the last one is still empty.  1 (answered), 0, or error. */
static int add_block_retry(struct ns *ns, const struct nsr_inode *f, uint64_t prev_id,
                           uint64_t *block_id, uint64_t *genstamp)
{
    struct nsr_block b;
    uint64_t last = nsr_last_block(f);
    uint64_t before = f->nblocks > 1 ? f->blocks[f->nblocks - 2] : 0;

    if (f->nblocks == 0 || prev_id != before)
        return 0;
    if (nsr_block_load(ns, last, &b) != 1 || b.complete || b.length != 0)
        return 0;
    *block_id = last;
    *genstamp = b.genstamp;
    return 1;
}

int ns_add_block(struct ns *ns, uint64_t inode, const char *client, uint64_t prev_id,
                 uint64_t prev_len, uint64_t *block_id, uint64_t *genstamp,
                 struct ns_stat *st, char *err, size_t errsz)
{
    struct nsr_block nb = { .inode = inode, .length = 0, .complete = 0 };
    struct nsr_counters c;
    struct nsr_inode f;
    int rc = nsr_load_writer(ns, inode, client, &f, err, errsz);

    if (rc != 0)
        goto out;
    nsr_begin(ns, &c);
    if (prev_id != nsr_last_block(&f)) {
        if (add_block_retry(ns, &f, prev_id, block_id, genstamp) == 1) {
            if (st != NULL)
                nsr_fill_stat(&f, "", 0, st);
            goto out;
        }
        rc = nsr_fail(err, errsz, DFS_ERR_STALE, "block %llu is not the last block of the file",
                      (unsigned long long)prev_id);
        goto out;
    }
    if (prev_id != 0 && (rc = nsr_finish_block(ns, &f, prev_id, prev_len, err, errsz)) != 0)
        goto out;
    f.blocks = xrealloc(f.blocks, (f.nblocks + 1) * sizeof(*f.blocks));
    f.blocks[f.nblocks++] = c.next_block;
    nb.genstamp = ++c.genstamp;
    nsr_block_put(ns, c.next_block++, &nb);
    nsr_inode_put(ns, &f);
    if ((rc = nsr_commit(ns, &c, err, errsz)) != 0)
        goto out;
    *block_id = nsr_last_block(&f);
    *genstamp = nb.genstamp;
    if (st != NULL)
        nsr_fill_stat(&f, "", 0, st);
out:
    nsr_batch_reset(ns);
    nsr_inode_free(&f);
    return rc;
}

int ns_complete(struct ns *ns, uint64_t inode, const char *client, uint64_t last_id,
                uint64_t last_len, char *err, size_t errsz)
{
    struct nsr_counters c;
    struct nsr_inode f;
    int rc = nsr_load_writer(ns, inode, client, &f, err, errsz);

    if (rc == DFS_ERR_INVAL && f.complete && nsr_last_block(&f) == last_id) {
        rc = 0;         /* a retried complete: already done */
        goto out;
    }
    if (rc != 0)
        goto out;
    if (last_id != nsr_last_block(&f)) {
        rc = nsr_fail(err, errsz, DFS_ERR_STALE, "block %llu is not the last block of the file",
                      (unsigned long long)last_id);
        goto out;
    }
    nsr_begin(ns, &c);
    if (last_id != 0 && (rc = nsr_finish_block(ns, &f, last_id, last_len, err, errsz)) != 0)
        goto out;
    f.complete = 1;
    f.client[0] = '\0';
    f.mtime_ms = dfs_wall_ms();
    nsr_inode_put(ns, &f);
    rc = nsr_commit(ns, &c, err, errsz);
out:
    nsr_batch_reset(ns);
    nsr_inode_free(&f);
    return rc;
}

int ns_abandon_block(struct ns *ns, uint64_t inode, const char *client, uint64_t block_id,
                     char *err, size_t errsz)
{
    struct nsr_counters c;
    struct nsr_inode f;
    int rc = nsr_load_writer(ns, inode, client, &f, err, errsz);

    if (rc != 0)
        goto out;
    if (block_id == 0 || block_id != nsr_last_block(&f)) {
        for (size_t i = 0; i < f.nblocks; i++)
            if (f.blocks[i] == block_id)
                rc = nsr_fail(err, errsz, DFS_ERR_STALE,
                              "block %llu is not the last block of the file",
                          (unsigned long long)block_id);
        goto out;       /* not in the file (any more): nothing to do */
    }
    nsr_begin(ns, &c);
    nsr_block_del(ns, block_id);
    f.nblocks--;
    nsr_inode_put(ns, &f);
    rc = nsr_commit(ns, &c, err, errsz);
out:
    nsr_batch_reset(ns);
    nsr_inode_free(&f);
    return rc;
}

int ns_bump_genstamp(struct ns *ns, uint64_t inode, const char *client, uint64_t block_id,
                     uint64_t *genstamp, char *err, size_t errsz)
{
    struct nsr_counters c;
    struct nsr_inode f;
    struct nsr_block b;
    int rc = nsr_load_writer(ns, inode, client, &f, err, errsz);

    if (rc != 0)
        goto out;
    if (block_id == 0 || block_id != nsr_last_block(&f)) {
        rc = nsr_fail(err, errsz, DFS_ERR_STALE, "block %llu is not the last block of the file",
                      (unsigned long long)block_id);
        goto out;
    }
    rc = nsr_block_load(ns, block_id, &b);
    if (rc <= 0) {
        rc = nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: block %llu missing",
                      (unsigned long long)block_id);
        goto out;
    }
    nsr_begin(ns, &c);
    b.genstamp = ++c.genstamp;
    nsr_block_put(ns, block_id, &b);
    if ((rc = nsr_commit(ns, &c, err, errsz)) == 0)
        *genstamp = b.genstamp;
out:
    nsr_batch_reset(ns);
    nsr_inode_free(&f);
    return rc;
}

int ns_get_blocks(struct ns *ns, const char *path, struct ns_stat *st,
                  struct ns_block **blocks, size_t *n, char *err, size_t errsz)
{
    struct nsr_inode f;
    uint64_t off = 0;
    size_t plen;
    const char *name;
    int rc = nsr_resolve(ns, path, &f, err, errsz);

    *blocks = NULL;
    *n = 0;
    if (rc == 0 && f.type == DFS_TYPE_DIR)
        rc = nsr_fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
    if (rc == 0 && f.nblocks > 0)
        *blocks = xcalloc(f.nblocks, sizeof(**blocks));
    for (size_t i = 0; rc == 0 && i < f.nblocks; i++) {
        struct ns_block *nb = &(*blocks)[i];
        struct nsr_block b;
        int r = nsr_block_load(ns, f.blocks[i], &b);

        if (r <= 0) {
            rc = nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: block %llu missing",
                          (unsigned long long)f.blocks[i]);
            break;
        }
        nb->id = f.blocks[i];
        nb->genstamp = b.genstamp;
        nb->length = b.length;
        nb->offset = off;
        nb->complete = b.complete;
        off += b.length;
    }
    if (rc == 0) {
        *n = f.nblocks;
        name = nsr_path_last(path, &plen);
        if (st != NULL)
            nsr_fill_stat(&f, name, strlen(name), st);
    } else {
        free(*blocks);
        *blocks = NULL;
    }
    nsr_inode_free(&f);
    return rc;
}

int ns_block_lookup(struct ns *ns, uint64_t block_id, uint64_t *inode, uint64_t *genstamp,
                    uint64_t *length, int *complete)
{
    struct nsr_block b;
    int rc = nsr_block_load(ns, block_id, &b);

    if (rc <= 0)
        return rc == 0 ? DFS_ERR_NOENT : DFS_ERR_IO;
    if (inode != NULL)
        *inode = b.inode;
    if (genstamp != NULL)
        *genstamp = b.genstamp;
    if (length != NULL)
        *length = b.length;
    if (complete != NULL)
        *complete = b.complete;
    return 0;
}

int ns_foreach_block(struct ns *ns,
                     int (*cb)(uint64_t id, uint64_t gs, uint64_t len, uint64_t inode, void *arg),
                     void *arg)
{
    struct ms_iter *it = ms_iter_new(ns->ms);
    const unsigned char start = 'b';
    int rc = 0;

    for (ms_iter_seek(it, &start, 1); rc == 0 && ms_iter_valid(it); ms_iter_next(it)) {
        size_t klen, vlen;
        const char *k = ms_iter_key(it, &klen);
        const char *v;
        Dfs__BlockRec *r;

        if (klen == 0 || k[0] != 'b')
            break;
        v = ms_iter_value(it, &vlen);
        r = dfs__block_rec__unpack(NULL, vlen, (const uint8_t *)v);
        if (klen != NSR_ID_KEY_LEN || r == NULL) {
            if (r != NULL)
                dfs__block_rec__free_unpacked(r, NULL);
            rc = -1;
            break;
        }
        rc = cb(nsr_get_be64((const unsigned char *)k + 1), r->genstamp, r->length, r->inode,
                arg);
        dfs__block_rec__free_unpacked(r, NULL);
    }
    ms_iter_destroy(it);
    return rc;
}
