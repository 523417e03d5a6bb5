/*
 * ns_records.c - the record layer of the namespace (see ns_records_i.h):
 * key encoding, the InodeRec / BlockRec codecs, directory entries, the
 * counters and path resolution.  The operations of namespace.h are built
 * on these in namespace.c.
 *
 * Inode and directory entry reads try the record cache (ns_cache.h) first
 * and fill it from the metastore; writes only go into ns->batch (each one
 * noted for the cache), which nsr_commit() applies in one ms_write().
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns_records_i.h"
#include "ns_cache.h"
#include "dfs.pb-c.h"
#include "xmalloc.h"

/* ------------------------------------------------------------ helpers */

int nsr_fail(char *err, size_t errsz, int code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errsz > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return code;
}

int nsr_fail_io(char *err, size_t errsz)
{
    return nsr_fail(err, errsz, DFS_ERR_IO, "metadata I/O error");
}

/* ------------------------------------------------------- key encoding */

void nsr_put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

uint64_t nsr_get_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void nsr_key_id(unsigned char k[NSR_ID_KEY_LEN], char tag, uint64_t id)
{
    k[0] = (unsigned char)tag;
    nsr_put_be64(k + 1, id);
}

size_t nsr_key_dentry(unsigned char k[NSR_DENTRY_KEY_MAX], uint64_t parent,
                      const char *name, size_t nlen)
{
    nsr_key_id(k, 'd', parent);
    memcpy(k + NSR_ID_KEY_LEN, name, nlen);
    return NSR_ID_KEY_LEN + nlen;
}

size_t nsr_key_meta(unsigned char k[32], const char *name)
{
    size_t n = strlen(name);

    k[0] = 'm';
    memcpy(k + 1, name, n);
    return n + 1;
}

/* ------------------------------------------------------------- paths */

/* 1 when path is normalised: "/" or "/a/b" with valid components. */
static int path_valid(const char *path)
{
    const char *p = path;

    if (path == NULL || path[0] != '/')
        return 0;
    if (path[1] == '\0')
        return 1;
    while (*p == '/') {
        const char *s = ++p;

        while (*p != '\0' && *p != '/')
            p++;
        size_t n = (size_t)(p - s);
        if (n == 0 || n > NSR_NAME_MAX)
            return 0;
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
    }
    return *p == '\0';
}

int nsr_check_path(const char *path, char *err, size_t errsz)
{
    if (!path_valid(path))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid path");
    return 0;
}

const char *nsr_path_last(const char *path, size_t *parent_len)
{
    const char *slash = strrchr(path, '/');

    *parent_len = (size_t)(slash - path);
    return slash + 1;
}

/* --------------------------------------------------------- inode codec */

void nsr_inode_free(struct nsr_inode *in)
{
    free(in->blocks);
    in->blocks = NULL;
    in->nblocks = 0;
}

void nsr_inode_move(struct nsr_inode *dst, struct nsr_inode *src)
{
    nsr_inode_free(dst);
    *dst = *src;
    src->blocks = NULL;
    src->nblocks = 0;
}

/* Decode an InodeRec value into *in (zeroed first): 0, or -1 when it is
 * unreadable. */
static int inode_decode(struct nsr_inode *in, uint64_t id, const char *val, size_t len)
{
    Dfs__InodeRec *r = dfs__inode_rec__unpack(NULL, len, (const uint8_t *)val);

    memset(in, 0, sizeof(*in));
    if (r == NULL)
        return -1;
    in->id = id;
    in->type = r->type == DFS__FILE_TYPE__FT_DIR ? DFS_TYPE_DIR : DFS_TYPE_FILE;
    in->mode = r->mode;
    dfs_copy_str(in->owner, sizeof(in->owner), r->owner);
    dfs_copy_str(in->group, sizeof(in->group), r->group);
    in->mtime_ms = r->mtime_ms;
    in->atime_ms = r->atime_ms;
    in->parent = r->parent;
    in->length = r->length;
    in->replication = r->replication;
    in->block_size = r->block_size;
    in->complete = r->complete ? 1 : 0;
    in->temporary = !in->complete && r->temporary;
    dfs_copy_str(in->client, sizeof(in->client), r->client);
    in->children = r->children;
    if (r->n_blocks > 0) {
        in->blocks = xmalloc(r->n_blocks * sizeof(uint64_t));
        memcpy(in->blocks, r->blocks, r->n_blocks * sizeof(uint64_t));
        in->nblocks = r->n_blocks;
    }
    dfs__inode_rec__free_unpacked(r, NULL);
    return 0;
}

void nsr_inode_put(struct ns *ns, const struct nsr_inode *in)
{
    Dfs__InodeRec r = DFS__INODE_REC__INIT;
    unsigned char key[NSR_ID_KEY_LEN];
    char owner[sizeof(in->owner)], group[sizeof(in->group)];
    char client[sizeof(in->client)];
    uint8_t *buf;
    size_t len;

    memcpy(owner, in->owner, sizeof(owner));
    memcpy(group, in->group, sizeof(group));
    memcpy(client, in->client, sizeof(client));
    r.type = in->type == DFS_TYPE_DIR ? DFS__FILE_TYPE__FT_DIR : DFS__FILE_TYPE__FT_FILE;
    r.mode = in->mode;
    r.owner = owner;
    r.group = group;
    r.mtime_ms = in->mtime_ms;
    r.atime_ms = in->atime_ms;
    r.has_parent = in->id != NS_ROOT_INODE;
    r.parent = in->parent;
    if (in->type == DFS_TYPE_FILE) {
        r.has_length = r.has_replication = r.has_block_size = r.has_complete = 1;
        r.length = in->length;
        r.replication = in->replication;
        r.block_size = in->block_size;
        r.complete = in->complete != 0;
        r.n_blocks = in->nblocks;
        r.blocks = in->blocks;
        r.client = client[0] != '\0' ? client : NULL;
        r.has_temporary = !in->complete && in->temporary;
        r.temporary = r.has_temporary;
    } else {
        r.has_children = 1;
        r.children = in->children;
    }
    len = dfs__inode_rec__get_packed_size(&r);
    buf = xmalloc(len);
    dfs__inode_rec__pack(&r, buf);
    nsr_key_id(key, 'i', in->id);
    ms_batch_put(ns->batch, key, sizeof(key), buf, len);
    free(buf);
    nsc_pend_inode_put(ns->cache, in);
    if (in->type == DFS_TYPE_FILE) {
        nsr_key_uc(key, in->id);
        if (in->complete)
            ms_batch_delete(ns->batch, key, sizeof(key));
        else
            ms_batch_put(ns->batch, key, sizeof(key), "", 0);
    }
}

void nsr_inode_del(struct ns *ns, uint64_t id)
{
    unsigned char key[NSR_ID_KEY_LEN];

    nsr_key_id(key, 'i', id);
    ms_batch_delete(ns->batch, key, sizeof(key));
    nsc_pend_inode_del(ns->cache, id);
    nsr_key_uc(key, id);
    ms_batch_delete(ns->batch, key, sizeof(key));
}

/* Read inode id from the store (past the cache) into *in: 1 found, 0 no
 * such record, -1 read error, -2 unreadable record.  *in is zeroed unless
 * found. */
static int inode_read_store(struct ns *ns, uint64_t id, struct nsr_inode *in)
{
    unsigned char key[NSR_ID_KEY_LEN];
    char *val;
    size_t len;
    int rc;

    memset(in, 0, sizeof(*in));
    nsr_key_id(key, 'i', id);
    rc = ms_get(ns->ms, key, sizeof(key), &val, &len);
    if (rc <= 0)
        return rc;
    rc = inode_decode(in, id, val, len);
    free(val);
    return rc < 0 ? -2 : 1;
}

/* inode_read_store(), adding what it found to the cache. */
static int inode_read(struct ns *ns, uint64_t id, struct nsr_inode *in)
{
    int rc = inode_read_store(ns, id, in);

    if (rc == 1)
        nsc_inode_fill(ns->cache, in);
    return rc;
}

/* inode_read() answered from the cache when it can. */
static int inode_fetch(struct ns *ns, uint64_t id, struct nsr_inode *in)
{
    const struct nsc_inode *ci = nsc_inode_get(ns->cache, id);

    if (ci == NULL)
        return inode_read(ns, id, in);
    nsc_inode_copy(ci, in);
    return 1;
}

/* The status of nsr_inode_load() for an inode_read() result (not 1). */
static int inode_fail(int rc, uint64_t id, char *err, size_t errsz)
{
    if (rc == 0)
        return nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: inode %llu missing",
                        (unsigned long long)id);
    if (rc == -2)
        return nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: inode %llu unreadable",
                        (unsigned long long)id);
    return nsr_fail_io(err, errsz);
}

int nsr_inode_load(struct ns *ns, uint64_t id, struct nsr_inode *in, char *err, size_t errsz)
{
    int rc = inode_fetch(ns, id, in);

    return rc == 1 ? 0 : inode_fail(rc, id, err, errsz);
}

int nsr_inode_load_client(struct ns *ns, uint64_t id, struct nsr_inode *in,
                          char *err, size_t errsz)
{
    int rc = inode_fetch(ns, id, in);

    if (rc == 0)
        return nsr_fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
    return rc == 1 ? 0 : inode_fail(rc, id, err, errsz);
}

int nsr_inode_load_scan(struct ns *ns, uint64_t id, struct nsr_inode *in,
                        char *err, size_t errsz)
{
    const struct nsc_inode *ci = nsc_inode_get(ns->cache, id);
    int rc;

    if (ci != NULL) {
        nsc_inode_copy(ci, in);
        return 0;
    }
    rc = inode_read_store(ns, id, in);
    return rc == 1 ? 0 : inode_fail(rc, id, err, errsz);
}

/* The type of inode id into *type, without copying a cached record.  0 or
 * nsr_inode_load()'s errors. */
static int inode_type(struct ns *ns, uint64_t id, enum dfs_file_type *type,
                      char *err, size_t errsz)
{
    const struct nsc_inode *ci = nsc_inode_get(ns->cache, id);
    struct nsr_inode in;
    int rc;

    if (ci != NULL) {
        *type = ci->type;
        return 0;
    }
    rc = inode_read(ns, id, &in);
    *type = in.type;
    nsr_inode_free(&in);
    return rc == 1 ? 0 : inode_fail(rc, id, err, errsz);
}

void nsr_inode_new(struct nsr_inode *in, uint64_t id, enum dfs_file_type type, uint32_t mode,
                   const char *owner, const char *group, uint64_t parent, uint64_t now)
{
    memset(in, 0, sizeof(*in));
    in->id = id;
    in->type = type;
    in->mode = mode;
    dfs_copy_str(in->owner, sizeof(in->owner), owner);
    dfs_copy_str(in->group, sizeof(in->group), group);
    in->parent = parent;
    in->mtime_ms = in->atime_ms = now;
    in->complete = 1;
}

void nsr_fill_stat(const struct nsr_inode *in, const char *name, size_t nlen, struct ns_stat *st)
{
    memset(st, 0, sizeof(*st));
    st->inode = in->id;
    st->type = in->type;
    st->mode = in->mode;
    dfs_copy_str(st->owner, sizeof(st->owner), in->owner);
    dfs_copy_str(st->group, sizeof(st->group), in->group);
    st->mtime_ms = in->mtime_ms;
    st->atime_ms = in->atime_ms;
    st->length = in->length;
    st->replication = in->replication;
    st->block_size = in->block_size;
    st->complete = in->type == DFS_TYPE_DIR ? 1 : in->complete;
    st->children = in->children;
    if (nlen >= sizeof(st->name))
        nlen = sizeof(st->name) - 1;
    memcpy(st->name, name, nlen);
    st->name[nlen] = '\0';
}

/* --------------------------------------------------------- block codec */

int nsr_block_load(struct ns *ns, uint64_t id, struct nsr_block *b)
{
    unsigned char key[NSR_ID_KEY_LEN];
    Dfs__BlockRec *r;
    char *val;
    size_t len;
    int rc;

    nsr_key_id(key, 'b', id);
    rc = ms_get(ns->ms, key, sizeof(key), &val, &len);
    if (rc <= 0)
        return rc == 0 ? 0 : -1;
    r = dfs__block_rec__unpack(NULL, len, (const uint8_t *)val);
    free(val);
    if (r == NULL)
        return -1;
    b->inode = r->inode;
    b->genstamp = r->genstamp;
    b->length = r->length;
    b->complete = r->state == DFS__BLOCK_STATE__BS_COMPLETE;
    dfs__block_rec__free_unpacked(r, NULL);
    return 1;
}

void nsr_block_put(struct ns *ns, uint64_t id, const struct nsr_block *b)
{
    Dfs__BlockRec r = DFS__BLOCK_REC__INIT;
    unsigned char key[NSR_ID_KEY_LEN];
    uint8_t buf[64];    /* 4 varint fields: at most ~35 bytes */
    size_t len;

    r.inode = b->inode;
    r.genstamp = b->genstamp;
    r.length = b->length;
    r.state = b->complete ? DFS__BLOCK_STATE__BS_COMPLETE
                          : DFS__BLOCK_STATE__BS_UNDER_CONSTRUCTION;
    len = dfs__block_rec__pack(&r, buf);
    nsr_key_id(key, 'b', id);
    ms_batch_put(ns->batch, key, sizeof(key), buf, len);
}

void nsr_block_del(struct ns *ns, uint64_t id)
{
    unsigned char key[NSR_ID_KEY_LEN];

    nsr_key_id(key, 'b', id);
    ms_batch_delete(ns->batch, key, sizeof(key));
}

/* ----------------------------------------------------- directory entries */

/* nsr_dentry_get() from the store, past the cache. */
static int dentry_read_store(struct ns *ns, uint64_t parent, const char *name, size_t nlen,
                             uint64_t *child)
{
    unsigned char key[NSR_DENTRY_KEY_MAX];
    size_t klen = nsr_key_dentry(key, parent, name, nlen);
    char *val;
    size_t vlen;
    int rc = ms_get(ns->ms, key, klen, &val, &vlen);

    if (rc <= 0)
        return rc;
    if (vlen != 8) {
        free(val);
        return -1;
    }
    *child = nsr_get_be64((const unsigned char *)val);
    free(val);
    return 1;
}

int nsr_dentry_get(struct ns *ns, uint64_t parent, const char *name, size_t nlen,
                   uint64_t *child)
{
    int rc;

    if (nsc_dentry_get(ns->cache, parent, name, nlen, child))
        return 1;
    rc = dentry_read_store(ns, parent, name, nlen, child);
    if (rc == 1)
        nsc_dentry_fill(ns->cache, parent, name, nlen, *child);
    return rc;
}

void nsr_dentry_put(struct ns *ns, uint64_t parent, const char *name, size_t nlen,
                    uint64_t child)
{
    unsigned char key[NSR_DENTRY_KEY_MAX], val[8];
    size_t klen = nsr_key_dentry(key, parent, name, nlen);

    nsr_put_be64(val, child);
    ms_batch_put(ns->batch, key, klen, val, sizeof(val));
    nsc_pend_dentry_put(ns->cache, parent, name, nlen, child);
}

void nsr_dentry_del(struct ns *ns, uint64_t parent, const char *name, size_t nlen)
{
    unsigned char key[NSR_DENTRY_KEY_MAX];
    size_t klen = nsr_key_dentry(key, parent, name, nlen);

    ms_batch_delete(ns->batch, key, klen);
    nsc_pend_dentry_del(ns->cache, parent, name, nlen);
}

int nsr_dentry_at(const struct ms_iter *it, uint64_t dir, const char **name,
                  size_t *nlen, uint64_t *child)
{
    unsigned char prefix[NSR_ID_KEY_LEN];
    size_t klen, vlen;
    const char *k, *v;

    if (!ms_iter_valid(it))
        return 0;
    k = ms_iter_key(it, &klen);
    nsr_key_id(prefix, 'd', dir);
    if (klen < NSR_ID_KEY_LEN || memcmp(k, prefix, NSR_ID_KEY_LEN) != 0)
        return 0;
    v = ms_iter_value(it, &vlen);
    if (vlen != 8 || klen == NSR_ID_KEY_LEN)
        return -1;
    *name = k + NSR_ID_KEY_LEN;
    *nlen = klen - NSR_ID_KEY_LEN;
    *child = nsr_get_be64((const unsigned char *)v);
    return 1;
}

/* ----------------------------------------------------------- counters */

/* Put counter name = v into the batch. */
static void put_counter(struct ns *ns, const char *name, uint64_t v)
{
    unsigned char key[32], val[8];
    size_t klen = nsr_key_meta(key, name);

    nsr_put_be64(val, v);
    ms_batch_put(ns->batch, key, klen, val, sizeof(val));
}

void nsr_put_counters(struct ns *ns, const struct nsr_counters *c, int all)
{
    if (all || c->next_inode != ns->c.next_inode)
        put_counter(ns, "next_inode", c->next_inode);
    if (all || c->next_block != ns->c.next_block)
        put_counter(ns, "next_block", c->next_block);
    if (all || c->genstamp != ns->c.genstamp)
        put_counter(ns, "genstamp", c->genstamp);
    if (all || c->files != ns->c.files)
        put_counter(ns, "files", c->files);
    if (all || c->dirs != ns->c.dirs)
        put_counter(ns, "dirs", c->dirs);
}

void nsr_batch_reset(struct ns *ns)
{
    ms_batch_clear(ns->batch);
    nsc_pend_drop(ns->cache);
}

void nsr_begin(struct ns *ns, struct nsr_counters *c)
{
    nsr_batch_reset(ns);
    *c = ns->c;
}

int nsr_commit(struct ns *ns, const struct nsr_counters *c, char *err, size_t errsz)
{
    nsr_put_counters(ns, c, 0);
    if (ms_write(ns->ms, ns->batch) < 0) {
        ms_batch_clear(ns->batch);
        nsc_pend_abort(ns->cache);
        return nsr_fail(err, errsz, DFS_ERR_IO, "metadata write failed");
    }
    ms_batch_clear(ns->batch);
    nsc_pend_apply(ns->cache);
    ns->c = *c;
    return 0;
}

int nsr_load_counter(struct ns *ns, const char *name, uint64_t *v, char *err, size_t errsz)
{
    unsigned char key[32];
    size_t klen = nsr_key_meta(key, name), vlen;
    char *val;
    int rc = ms_get(ns->ms, key, klen, &val, &vlen);

    if (rc < 0)
        return nsr_fail_io(err, errsz);
    if (rc == 0 || vlen != 8) {
        free(val);
        return nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: counter %s", name);
    }
    *v = nsr_get_be64((const unsigned char *)val);
    free(val);
    return 0;
}

/* -------------------------------------------------------------- cache */

/* What nsr_cache_check() walks with: the ns and the message buffer. */
struct cache_check {
    struct ns *ns;
    char *err;
    size_t errsz;
};

/* 1 when the cached inode ci holds exactly the record in. */
static int inode_same(const struct nsc_inode *ci, const struct nsr_inode *in)
{
    return ci->id == in->id && ci->type == in->type && ci->mode == in->mode &&
           strcmp(ci->owner, in->owner) == 0 && strcmp(ci->group, in->group) == 0 &&
           ci->mtime_ms == in->mtime_ms && ci->atime_ms == in->atime_ms &&
           ci->parent == in->parent && ci->length == in->length &&
           ci->replication == in->replication && ci->block_size == in->block_size &&
           ci->complete == in->complete && ci->temporary == in->temporary &&
           strcmp(ci->client, in->client) == 0 &&
           ci->children == in->children && ci->nblocks == in->nblocks &&
           (in->nblocks == 0 ||
            memcmp(ci->blocks, in->blocks, in->nblocks * sizeof(uint64_t)) == 0);
}

static int check_inode(const struct nsc_inode *ci, void *arg)
{
    struct cache_check *cc = arg;
    struct nsr_inode in;
    int rc = inode_read_store(cc->ns, ci->id, &in);
    int same = rc == 1 && inode_same(ci, &in);

    nsr_inode_free(&in);
    if (same)
        return 0;
    return nsr_fail(cc->err, cc->errsz, DFS_ERR_IO, "cache: inode %llu %s",
                    (unsigned long long)ci->id, rc == 1 ? "differs" : "not in the store");
}

static int check_dentry(uint64_t parent, const char *name, size_t nlen, uint64_t child,
                        void *arg)
{
    struct cache_check *cc = arg;
    uint64_t stored = 0;
    int rc = dentry_read_store(cc->ns, parent, name, nlen, &stored);

    if (rc == 1 && stored == child)
        return 0;
    return nsr_fail(cc->err, cc->errsz, DFS_ERR_IO,
                    "cache: entry %llu/%.*s -> %llu, store %s %llu",
                    (unsigned long long)parent, (int)nlen, name, (unsigned long long)child,
                    rc == 1 ? "has" : "lacks it:", (unsigned long long)stored);
}

int nsr_cache_check(struct ns *ns, char *err, size_t errsz)
{
    struct cache_check cc = { ns, err, errsz };

    return nsc_foreach(ns->cache, check_inode, check_dentry, &cc);
}

/* --------------------------------------------------------- resolution */

/* Resolve the first len bytes of a valid path ("" or "/" = root).  The
 * directories on the way are only looked at (their type), not copied:
 * with a warm cache a lookup costs two hash probes per component. */
static int resolve_n(struct ns *ns, const char *path, size_t len, struct nsr_inode *out,
                     char *err, size_t errsz)
{
    uint64_t id = NS_ROOT_INODE;
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    while (i < len) {
        size_t s = ++i;     /* skip '/' */
        enum dfs_file_type type;
        uint64_t child;
        int rc;

        while (i < len && path[i] != '/')
            i++;
        if ((rc = inode_type(ns, id, &type, err, errsz)) != 0)
            return rc;
        if (type != DFS_TYPE_DIR)
            return nsr_fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
        rc = nsr_dentry_get(ns, id, path + s, i - s, &child);
        if (rc < 0)
            return nsr_fail_io(err, errsz);
        if (rc == 0)
            return nsr_fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
        id = child;
    }
    return nsr_inode_load(ns, id, out, err, errsz);
}

int nsr_resolve(struct ns *ns, const char *path, struct nsr_inode *out, char *err, size_t errsz)
{
    int rc = nsr_check_path(path, err, errsz);

    memset(out, 0, sizeof(*out));
    if (rc == 0)
        rc = resolve_n(ns, path, strcmp(path, "/") == 0 ? 0 : strlen(path), out, err, errsz);
    return rc;
}

int nsr_resolve_parent(struct ns *ns, const char *path, struct nsr_inode *dir,
                       const char **name, char *err, size_t errsz)
{
    size_t plen;
    int rc;

    *name = nsr_path_last(path, &plen);
    rc = resolve_n(ns, path, plen, dir, err, errsz);
    if (rc == 0 && dir->type != DFS_TYPE_DIR)
        rc = nsr_fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
    return rc;
}

int nsr_walk_dirs(struct ns *ns, const char *path, size_t len, int create, uint32_t mode,
                  const char *owner, uint64_t now, struct nsr_counters *c,
                     struct nsr_inode *dir, char *err, size_t errsz)
{
    size_t i = 0;
    int fresh = 0;      /* *dir was created by this walk: no entries yet */
    int rc = nsr_inode_load(ns, NS_ROOT_INODE, dir, err, errsz);

    while (rc == 0 && i < len) {
        size_t s = ++i;
        uint64_t child = 0;
        struct nsr_inode next;

        while (i < len && path[i] != '/')
            i++;
        if (dir->type != DFS_TYPE_DIR)
            return nsr_fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
        rc = fresh ? 0 : nsr_dentry_get(ns, dir->id, path + s, i - s, &child);
        if (rc < 0)
            return nsr_fail_io(err, errsz);
        if (rc == 1) {
            rc = nsr_inode_load(ns, child, dir, err, errsz);
            continue;
        }
        if (!create)
            return nsr_fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
        nsr_inode_new(&next, c->next_inode++, DFS_TYPE_DIR, mode, owner, dir->group, dir->id,
                      now);
        c->dirs++;
        nsr_dentry_put(ns, dir->id, path + s, i - s, next.id);
        dir->children++;
        dir->mtime_ms = now;
        nsr_inode_put(ns, dir);
        nsr_inode_move(dir, &next);
        fresh = 1;
        rc = 0;
    }
    return rc;
}

/* ------------------------------------------ files being written */

int nsr_load_writer(struct ns *ns, uint64_t inode, const char *client, struct nsr_inode *f,
                    char *err, size_t errsz)
{
    int rc = nsr_inode_load_client(ns, inode, f, err, errsz);

    if (rc != 0)
        return rc;
    if (f->type == DFS_TYPE_DIR)
        return nsr_fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
    if (f->complete)
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "file is not open for writing");
    if (client != NULL && strcmp(client, f->client) != 0)
        return nsr_fail(err, errsz, DFS_ERR_BUSY, "file is being written by another client");
    return 0;
}

uint64_t nsr_last_block(const struct nsr_inode *f)
{
    return f->nblocks > 0 ? f->blocks[f->nblocks - 1] : 0;
}

int nsr_finish_block(struct ns *ns, struct nsr_inode *f, uint64_t id, uint64_t len,
                     char *err, size_t errsz)
{
    struct nsr_block b;
    int rc;

    if (len > f->block_size)
        return nsr_fail(err, errsz, DFS_ERR_INVAL,
                        "block length %llu exceeds the block size %llu",
                        (unsigned long long)len, (unsigned long long)f->block_size);
    rc = nsr_block_load(ns, id, &b);
    if (rc <= 0)
        return rc < 0 ? nsr_fail_io(err, errsz)
                      : nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: block %llu missing",
                                 (unsigned long long)id);
    f->length = f->length - b.length + len;
    b.length = len;
    b.complete = 1;
    nsr_block_put(ns, id, &b);
    return 0;
}
