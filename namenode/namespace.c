/*
 * namespace.c - the file system tree in the metastore (see namespace.h).
 *
 * Every operation reads what it needs with ms_get() / iterators, builds one
 * batch in ns->batch holding every change (inodes, directory entries, block
 * records, counters) and applies it with one ms_write().  The in-memory
 * counters change only once that write succeeded, so a failed operation
 * leaves both the store and the counters as they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "namespace.h"
#include "dfs.pb-c.h"
#include "xmalloc.h"

#define NAME_MAX_LEN 255        /* longest path component (path.h) */
#define CLIENT_MAX_LEN 255      /* longest lease holder name */
#define PRINCIPAL_MAX_LEN 63    /* owner / group: fits ns_stat.owner */
#define ID_KEY_LEN 9            /* tag + be64 */
#define DENTRY_KEY_MAX (ID_KEY_LEN + NAME_MAX_LEN)
#define LIST_DEFAULT_LIMIT 1000

/* Counters of the 'm' keys; a mutation works on a copy. */
struct counters {
    uint64_t next_inode;
    uint64_t next_block;
    uint64_t genstamp;
    uint64_t files;
    uint64_t dirs;
};

struct ns {
    struct metastore *ms;
    struct ns_limits lim;
    struct ms_batch *batch;     /* reused by every mutation */
    struct counters c;
    char cluster_id[64];
    /* ns_create's overwrite has no callback argument: this one. */
    void (*on_block_removed)(uint64_t block_id, void *arg);
    void *on_block_removed_arg;
};

/* An InodeRec decoded into fixed fields (blocks malloc'd). */
struct inode {
    uint64_t id;
    enum dfs_file_type type;
    uint32_t mode;
    char owner[PRINCIPAL_MAX_LEN + 1];
    char group[PRINCIPAL_MAX_LEN + 1];
    uint64_t mtime_ms;
    uint64_t atime_ms;
    uint64_t parent;
    uint64_t length;
    uint32_t replication;
    uint64_t block_size;
    int complete;
    char client[CLIENT_MAX_LEN + 1];
    uint32_t children;
    uint64_t *blocks;
    size_t nblocks;
};

/* A BlockRec. */
struct block {
    uint64_t inode;
    uint64_t genstamp;
    uint64_t length;
    int complete;
};

/* A growing array of ids. */
struct idvec {
    uint64_t *v;
    size_t n, cap;
};

/* ------------------------------------------------------------ helpers */

static int fail(char *err, size_t errsz, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Write the message for the user and return code. */
static int fail(char *err, size_t errsz, int code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errsz > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int fail_io(char *err, size_t errsz)
{
    return fail(err, errsz, DFS_ERR_IO, "metadata I/O error");
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

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

/* 'i' / 'b' + be64(id). */
static void key_id(unsigned char k[ID_KEY_LEN], char tag, uint64_t id)
{
    k[0] = (unsigned char)tag;
    put_be64(k + 1, id);
}

/* 'd' + be64(parent) + name; returns the key length. */
static size_t key_dentry(unsigned char k[DENTRY_KEY_MAX], uint64_t parent,
                         const char *name, size_t nlen)
{
    key_id(k, 'd', parent);
    memcpy(k + ID_KEY_LEN, name, nlen);
    return ID_KEY_LEN + nlen;
}

/* 'm' + name. */
static size_t key_meta(unsigned char k[32], const char *name)
{
    size_t n = strlen(name);

    k[0] = 'm';
    memcpy(k + 1, name, n);
    return n + 1;
}

static void copy_str(char *dst, size_t dstsz, const char *src)
{
    snprintf(dst, dstsz, "%s", src != NULL ? src : "");
}

/* 1 when s is a usable owner / group / user name. */
static int principal_valid(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > PRINCIPAL_MAX_LEN)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == ':' || ch == '/' || ch <= ' ' || ch == 0x7f)
            return 0;
    }
    return 1;
}

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
        if (n == 0 || n > NAME_MAX_LEN)
            return 0;
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return 0;
    }
    return *p == '\0';
}

static int check_path(const char *path, char *err, size_t errsz)
{
    if (!path_valid(path))
        return fail(err, errsz, DFS_ERR_INVAL, "invalid path");
    return 0;
}

/* Last component of a valid path ("" for "/") and the length of its
 * parent's prefix ("/a/b" -> "b", 2; "/a" -> "a", 0 meaning the root). */
static const char *path_last(const char *path, size_t *parent_len)
{
    const char *slash = strrchr(path, '/');

    *parent_len = (size_t)(slash - path);
    return slash + 1;
}

/* --------------------------------------------------------- inode codec */

static void inode_free(struct inode *in)
{
    free(in->blocks);
    in->blocks = NULL;
    in->nblocks = 0;
}

/* Move the contents of src into dst (dst's blocks freed). */
static void inode_move(struct inode *dst, struct inode *src)
{
    inode_free(dst);
    *dst = *src;
    src->blocks = NULL;
    src->nblocks = 0;
}

static int inode_decode(struct inode *in, uint64_t id, const char *val, size_t len)
{
    Dfs__InodeRec *r = dfs__inode_rec__unpack(NULL, len, (const uint8_t *)val);

    memset(in, 0, sizeof(*in));
    if (r == NULL)
        return -1;
    in->id = id;
    in->type = r->type == DFS__FILE_TYPE__FT_DIR ? DFS_TYPE_DIR : DFS_TYPE_FILE;
    in->mode = r->mode;
    copy_str(in->owner, sizeof(in->owner), r->owner);
    copy_str(in->group, sizeof(in->group), r->group);
    in->mtime_ms = r->mtime_ms;
    in->atime_ms = r->atime_ms;
    in->parent = r->parent;
    in->length = r->length;
    in->replication = r->replication;
    in->block_size = r->block_size;
    in->complete = r->complete ? 1 : 0;
    copy_str(in->client, sizeof(in->client), r->client);
    in->children = r->children;
    if (r->n_blocks > 0) {
        in->blocks = xmalloc(r->n_blocks * sizeof(uint64_t));
        memcpy(in->blocks, r->blocks, r->n_blocks * sizeof(uint64_t));
        in->nblocks = r->n_blocks;
    }
    dfs__inode_rec__free_unpacked(r, NULL);
    return 0;
}

/* Put the inode record into the batch. */
static void inode_put(struct ns *ns, const struct inode *in)
{
    Dfs__InodeRec r = DFS__INODE_REC__INIT;
    unsigned char key[ID_KEY_LEN];
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
    } else {
        r.has_children = 1;
        r.children = in->children;
    }
    len = dfs__inode_rec__get_packed_size(&r);
    buf = xmalloc(len);
    dfs__inode_rec__pack(&r, buf);
    key_id(key, 'i', in->id);
    ms_batch_put(ns->batch, key, sizeof(key), buf, len);
    free(buf);
}

static void inode_del(struct ns *ns, uint64_t id)
{
    unsigned char key[ID_KEY_LEN];

    key_id(key, 'i', id);
    ms_batch_delete(ns->batch, key, sizeof(key));
}

/* Load inode id.  0, or DFS_ERR_IO with a message (a missing inode that a
 * directory entry names is corruption too). */
static int inode_load(struct ns *ns, uint64_t id, struct inode *in, char *err, size_t errsz)
{
    unsigned char key[ID_KEY_LEN];
    char *val;
    size_t len;
    int rc;

    key_id(key, 'i', id);
    rc = ms_get(ns->ms, key, sizeof(key), &val, &len);
    if (rc <= 0) {
        memset(in, 0, sizeof(*in));
        if (rc == 0)
            return fail(err, errsz, DFS_ERR_IO, "metadata corrupt: inode %llu missing",
                        (unsigned long long)id);
        return fail_io(err, errsz);
    }
    rc = inode_decode(in, id, val, len);
    free(val);
    if (rc < 0)
        return fail(err, errsz, DFS_ERR_IO, "metadata corrupt: inode %llu unreadable",
                    (unsigned long long)id);
    return 0;
}

/* Like inode_load, but a missing inode is DFS_ERR_NOENT (ids from clients). */
static int inode_load_client(struct ns *ns, uint64_t id, struct inode *in,
                             char *err, size_t errsz)
{
    unsigned char key[ID_KEY_LEN];
    char *val;
    size_t len;
    int rc;

    key_id(key, 'i', id);
    rc = ms_get(ns->ms, key, sizeof(key), &val, &len);
    memset(in, 0, sizeof(*in));
    if (rc < 0)
        return fail_io(err, errsz);
    if (rc == 0)
        return fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
    free(val);
    return inode_load(ns, id, in, err, errsz);
}

static void inode_new(struct inode *in, uint64_t id, enum dfs_file_type type, uint32_t mode,
                      const char *owner, const char *group, uint64_t parent, uint64_t now)
{
    memset(in, 0, sizeof(*in));
    in->id = id;
    in->type = type;
    in->mode = mode;
    copy_str(in->owner, sizeof(in->owner), owner);
    copy_str(in->group, sizeof(in->group), group);
    in->parent = parent;
    in->mtime_ms = in->atime_ms = now;
    in->complete = 1;
}

static void fill_stat(const struct inode *in, const char *name, size_t nlen, struct ns_stat *st)
{
    memset(st, 0, sizeof(*st));
    st->inode = in->id;
    st->type = in->type;
    st->mode = in->mode;
    copy_str(st->owner, sizeof(st->owner), in->owner);
    copy_str(st->group, sizeof(st->group), in->group);
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

static int block_load(struct ns *ns, uint64_t id, struct block *b)
{
    unsigned char key[ID_KEY_LEN];
    Dfs__BlockRec *r;
    char *val;
    size_t len;
    int rc;

    key_id(key, 'b', id);
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

static void block_put(struct ns *ns, uint64_t id, const struct block *b)
{
    Dfs__BlockRec r = DFS__BLOCK_REC__INIT;
    unsigned char key[ID_KEY_LEN];
    uint8_t buf[64];    /* 4 varint fields: at most ~35 bytes */
    size_t len;

    r.inode = b->inode;
    r.genstamp = b->genstamp;
    r.length = b->length;
    r.state = b->complete ? DFS__BLOCK_STATE__BS_COMPLETE
                          : DFS__BLOCK_STATE__BS_UNDER_CONSTRUCTION;
    len = dfs__block_rec__pack(&r, buf);
    key_id(key, 'b', id);
    ms_batch_put(ns->batch, key, sizeof(key), buf, len);
}

static void block_del(struct ns *ns, uint64_t id)
{
    unsigned char key[ID_KEY_LEN];

    key_id(key, 'b', id);
    ms_batch_delete(ns->batch, key, sizeof(key));
}

/* ----------------------------------------------------- directory entries */

/* Look name up in directory parent: 1 and *child, 0 when missing, -1 I/O. */
static int dentry_get(struct ns *ns, uint64_t parent, const char *name, size_t nlen,
                      uint64_t *child)
{
    unsigned char key[DENTRY_KEY_MAX];
    size_t klen = key_dentry(key, parent, name, nlen);
    char *val;
    size_t vlen;
    int rc = ms_get(ns->ms, key, klen, &val, &vlen);

    if (rc <= 0)
        return rc;
    if (vlen != 8) {
        free(val);
        return -1;
    }
    *child = get_be64((const unsigned char *)val);
    free(val);
    return 1;
}

static void dentry_put(struct ns *ns, uint64_t parent, const char *name, size_t nlen,
                       uint64_t child)
{
    unsigned char key[DENTRY_KEY_MAX], val[8];
    size_t klen = key_dentry(key, parent, name, nlen);

    put_be64(val, child);
    ms_batch_put(ns->batch, key, klen, val, sizeof(val));
}

static void dentry_del(struct ns *ns, uint64_t parent, const char *name, size_t nlen)
{
    unsigned char key[DENTRY_KEY_MAX];
    size_t klen = key_dentry(key, parent, name, nlen);

    ms_batch_delete(ns->batch, key, klen);
}

/* Directory entry under an iterator: 1 when it belongs to directory dir
 * (name and child filled), 0 past the directory's entries, -1 corrupt. */
static int dentry_at(const struct ms_iter *it, uint64_t dir, const char **name,
                     size_t *nlen, uint64_t *child)
{
    unsigned char prefix[ID_KEY_LEN];
    size_t klen, vlen;
    const char *k, *v;

    if (!ms_iter_valid(it))
        return 0;
    k = ms_iter_key(it, &klen);
    key_id(prefix, 'd', dir);
    if (klen < ID_KEY_LEN || memcmp(k, prefix, ID_KEY_LEN) != 0)
        return 0;
    v = ms_iter_value(it, &vlen);
    if (vlen != 8 || klen == ID_KEY_LEN)
        return -1;
    *name = k + ID_KEY_LEN;
    *nlen = klen - ID_KEY_LEN;
    *child = get_be64((const unsigned char *)v);
    return 1;
}

/* ----------------------------------------------------------- counters */

static void put_counter(struct ns *ns, const char *name, uint64_t v)
{
    unsigned char key[32], val[8];
    size_t klen = key_meta(key, name);

    put_be64(val, v);
    ms_batch_put(ns->batch, key, klen, val, sizeof(val));
}

/* Put the counters of c that differ from the applied ones (all). */
static void put_counters(struct ns *ns, const struct counters *c, int all)
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

/* Start a mutation: an empty batch and a working copy of the counters. */
static void begin(struct ns *ns, struct counters *c)
{
    ms_batch_clear(ns->batch);
    *c = ns->c;
}

/* Apply the batch with the changed counters; adopt them on success. */
static int commit(struct ns *ns, const struct counters *c, char *err, size_t errsz)
{
    put_counters(ns, c, 0);
    if (ms_write(ns->ms, ns->batch) < 0) {
        ms_batch_clear(ns->batch);
        return fail(err, errsz, DFS_ERR_IO, "metadata write failed");
    }
    ms_batch_clear(ns->batch);
    ns->c = *c;
    return 0;
}

static int load_counter(struct ns *ns, const char *name, uint64_t *v, char *err, size_t errsz)
{
    unsigned char key[32];
    size_t klen = key_meta(key, name), vlen;
    char *val;
    int rc = ms_get(ns->ms, key, klen, &val, &vlen);

    if (rc < 0)
        return fail_io(err, errsz);
    if (rc == 0 || vlen != 8) {
        free(val);
        return fail(err, errsz, DFS_ERR_IO, "metadata corrupt: counter %s", name);
    }
    *v = get_be64((const unsigned char *)val);
    free(val);
    return 0;
}

/* --------------------------------------------------------- resolution */

/* Resolve the first len bytes of a valid path ("" or "/" = root). */
static int resolve_n(struct ns *ns, const char *path, size_t len, struct inode *out,
                     char *err, size_t errsz)
{
    size_t i = 0;
    int rc = inode_load(ns, NS_ROOT_INODE, out, err, errsz);

    while (rc == 0 && i < len) {
        size_t s = ++i;     /* skip '/' */
        uint64_t child;

        while (i < len && path[i] != '/')
            i++;
        if (out->type != DFS_TYPE_DIR)
            return fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
        rc = dentry_get(ns, out->id, path + s, i - s, &child);
        if (rc < 0)
            return fail_io(err, errsz);
        if (rc == 0)
            return fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
        rc = inode_load(ns, child, out, err, errsz);
    }
    return rc;
}

/* Resolve a full path to its inode (*out owned by the caller). */
static int resolve(struct ns *ns, const char *path, struct inode *out, char *err, size_t errsz)
{
    int rc = check_path(path, err, errsz);

    memset(out, 0, sizeof(*out));
    if (rc == 0)
        rc = resolve_n(ns, path, strcmp(path, "/") == 0 ? 0 : strlen(path), out, err, errsz);
    return rc;
}

/* Resolve the directory that holds the last component of a path that is
 * not "/"; NOTDIR when it is a file. */
static int resolve_parent(struct ns *ns, const char *path, struct inode *dir,
                          const char **name, char *err, size_t errsz)
{
    size_t plen;
    int rc;

    *name = path_last(path, &plen);
    rc = resolve_n(ns, path, plen, dir, err, errsz);
    if (rc == 0 && dir->type != DFS_TYPE_DIR)
        rc = fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
    return rc;
}

/* Walk the directories of path[0, len), creating the missing ones when
 * `create` (mode, owner, each with its parent's group; their inodes and
 * entries go into the batch, ids from c).  *dir is the last one; the
 * caller adds its child and puts *dir again. */
static int walk_dirs(struct ns *ns, const char *path, size_t len, int create, uint32_t mode,
                     const char *owner, uint64_t now, struct counters *c,
                     struct inode *dir, char *err, size_t errsz)
{
    size_t i = 0;
    int fresh = 0;      /* *dir was created by this walk: no entries yet */
    int rc = inode_load(ns, NS_ROOT_INODE, dir, err, errsz);

    while (rc == 0 && i < len) {
        size_t s = ++i;
        uint64_t child = 0;
        struct inode next;

        while (i < len && path[i] != '/')
            i++;
        if (dir->type != DFS_TYPE_DIR)
            return fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
        rc = fresh ? 0 : dentry_get(ns, dir->id, path + s, i - s, &child);
        if (rc < 0)
            return fail_io(err, errsz);
        if (rc == 1) {
            rc = inode_load(ns, child, dir, err, errsz);
            continue;
        }
        if (!create)
            return fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
        inode_new(&next, c->next_inode++, DFS_TYPE_DIR, mode, owner, dir->group, dir->id, now);
        c->dirs++;
        dentry_put(ns, dir->id, path + s, i - s, next.id);
        dir->children++;
        dir->mtime_ms = now;
        inode_put(ns, dir);
        inode_move(dir, &next);
        fresh = 1;
        rc = 0;
    }
    return rc;
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
    struct counters c = { .next_inode = 2, .next_block = 1, .genstamp = 1000,
                          .files = 0, .dirs = 1 };
    unsigned char key[32];
    struct inode root;
    char hex[33];
    size_t klen;

    if (random_hex(hex, 32) < 0)
        return fail(err, errsz, DFS_ERR_IO, "cannot read /dev/urandom: %s", strerror(errno));
    snprintf(ns->cluster_id, sizeof(ns->cluster_id), "CID-%s", hex);
    ms_batch_clear(ns->batch);
    inode_new(&root, NS_ROOT_INODE, DFS_TYPE_DIR, 0755, "root", "supergroup", 0, now_ms());
    inode_put(ns, &root);
    put_counters(ns, &c, 1);
    klen = key_meta(key, "cluster_id");
    ms_batch_put(ns->batch, key, klen, ns->cluster_id, strlen(ns->cluster_id));
    if (commit(ns, &c, err, errsz) != 0)
        return DFS_ERR_IO;
    if (ms_sync(ns->ms) < 0)
        return fail(err, errsz, DFS_ERR_IO, "cannot sync the new namespace");
    return 0;
}

static int ns_load(struct ns *ns, const char *cid, size_t cidlen, char *err, size_t errsz)
{
    struct inode root;
    int rc;

    if (cidlen == 0 || cidlen >= sizeof(ns->cluster_id))
        return fail(err, errsz, DFS_ERR_IO, "metadata corrupt: cluster id");
    memcpy(ns->cluster_id, cid, cidlen);
    ns->cluster_id[cidlen] = '\0';
    if ((rc = load_counter(ns, "next_inode", &ns->c.next_inode, err, errsz)) != 0 ||
        (rc = load_counter(ns, "next_block", &ns->c.next_block, err, errsz)) != 0 ||
        (rc = load_counter(ns, "genstamp", &ns->c.genstamp, err, errsz)) != 0 ||
        (rc = load_counter(ns, "files", &ns->c.files, err, errsz)) != 0 ||
        (rc = load_counter(ns, "dirs", &ns->c.dirs, err, errsz)) != 0)
        return rc;
    rc = inode_load(ns, NS_ROOT_INODE, &root, err, errsz);
    if (rc == 0 && root.type != DFS_TYPE_DIR)
        rc = fail(err, errsz, DFS_ERR_IO, "metadata corrupt: root is not a directory");
    inode_free(&root);
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
    ns->ms = ms;
    ns->lim = *lim;
    if (ns->lim.default_replication == 0 || ns->lim.max_replication == 0 ||
        ns->lim.default_replication > ns->lim.max_replication ||
        ns->lim.default_block_size == 0 ||
        ns->lim.default_block_size < ns->lim.min_block_size) {
        fail(err, errsz, DFS_ERR_INVAL, "inconsistent namespace limits");
        goto fail;
    }
    klen = key_meta(key, "cluster_id");
    rc = ms_get(ms, key, klen, &val, &vlen);
    if (rc < 0) {
        fail_io(err, errsz);
        goto fail;
    }
    rc = rc == 0 ? ns_format(ns, err, errsz) : ns_load(ns, val, vlen, err, errsz);
    free(val);
    if (rc != 0)
        goto fail;
    return ns;
fail:
    ms_batch_destroy(ns->batch);
    free(ns);
    return NULL;
}

void ns_close(struct ns *ns)
{
    if (ns == NULL)
        return;
    ms_batch_destroy(ns->batch);
    free(ns);
}

const char *ns_cluster_id(const struct ns *ns)
{
    return ns->cluster_id;
}

void ns_set_block_removed(struct ns *ns, void (*cb)(uint64_t block_id, void *arg), void *arg)
{
    ns->on_block_removed = cb;
    ns->on_block_removed_arg = arg;
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
    struct inode dir, nd;
    struct counters c;
    const char *name, *owner = owner_of(user);
    size_t plen;
    uint64_t child, now = now_ms();
    int rc;

    if ((rc = check_path(path, err, errsz)) != 0)
        return rc;
    if (mode & ~07777u)
        return fail(err, errsz, DFS_ERR_INVAL, "invalid mode");
    if (!principal_valid(owner))
        return fail(err, errsz, DFS_ERR_INVAL, "invalid user name");
    if (strcmp(path, "/") == 0)
        return parents ? 0 : fail(err, errsz, DFS_ERR_EXIST, "File exists");
    begin(ns, &c);
    name = path_last(path, &plen);
    rc = walk_dirs(ns, path, plen, parents, mode | 0300, owner, now, &c, &dir, err, errsz);
    if (rc == 0 && dir.type != DFS_TYPE_DIR)
        rc = fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
    if (rc != 0)
        goto out;
    rc = c.next_inode != ns->c.next_inode ? 0      /* dir is new: empty */
                                          : dentry_get(ns, dir.id, name, strlen(name), &child);
    if (rc < 0) {
        rc = fail_io(err, errsz);
        goto out;
    }
    if (rc == 1) {
        struct inode ex;

        rc = inode_load(ns, child, &ex, err, errsz);
        if (rc == 0 && (!parents || ex.type != DFS_TYPE_DIR))
            rc = fail(err, errsz, DFS_ERR_EXIST, "File exists");
        inode_free(&ex);
        goto out;
    }
    inode_new(&nd, c.next_inode++, DFS_TYPE_DIR, mode, owner, dir.group, dir.id, now);
    c.dirs++;
    dentry_put(ns, dir.id, name, strlen(name), nd.id);
    dir.children++;
    dir.mtime_ms = now;
    inode_put(ns, &nd);
    inode_put(ns, &dir);
    rc = commit(ns, &c, err, errsz);
out:
    inode_free(&dir);
    return rc;
}

static int check_replication(const struct ns *ns, uint32_t *repl, char *err, size_t errsz)
{
    if (*repl == 0)
        *repl = ns->lim.default_replication;
    if (*repl < 1 || *repl > ns->lim.max_replication)
        return fail(err, errsz, DFS_ERR_INVAL, "replication %u out of range [1, %u]",
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
        return fail(err, errsz, DFS_ERR_INVAL, "invalid mode");
    if ((rc = check_replication(ns, repl, err, errsz)) != 0)
        return rc;
    if (*block_size == 0)
        *block_size = ns->lim.default_block_size;
    if (*block_size < ns->lim.min_block_size)
        return fail(err, errsz, DFS_ERR_INVAL, "block size %llu below the minimum %llu",
                    (unsigned long long)*block_size,
                    (unsigned long long)ns->lim.min_block_size);
    if (open_for_write && (client == NULL || client[0] == '\0' ||
                           strlen(client) > CLIENT_MAX_LEN))
        return fail(err, errsz, DFS_ERR_INVAL, "invalid client name");
    if (!principal_valid(owner))
        return fail(err, errsz, DFS_ERR_INVAL, "invalid user name");
    return 0;
}

/* Put the removal of a file's inode and block records into the batch,
 * collecting its block ids into removed. */
static void remove_file(struct ns *ns, const struct inode *f, struct counters *c,
                        struct idvec *removed)
{
    for (size_t i = 0; i < f->nblocks; i++) {
        block_del(ns, f->blocks[i]);
        idvec_push(removed, f->blocks[i]);
    }
    inode_del(ns, f->id);
    c->files--;
}

static void report_removed(const struct idvec *removed,
                           void (*cb)(uint64_t block_id, void *arg), void *arg)
{
    for (size_t i = 0; cb != NULL && i < removed->n; i++)
        cb(removed->v[i], arg);
}

int ns_create(struct ns *ns, const char *path, uint32_t mode, uint32_t replication,
              uint64_t block_size, int overwrite, int parents, int open_for_write,
              const char *client, const char *user, struct ns_stat *out,
              char *err, size_t errsz)
{
    struct inode dir, f, ex;
    struct idvec removed = { 0 };
    struct counters c;
    const char *name, *owner = owner_of(user);
    size_t plen, nlen;
    uint64_t child, now = now_ms();
    int rc;

    if ((rc = check_path(path, err, errsz)) != 0)
        return rc;
    if (strcmp(path, "/") == 0)
        return fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
    rc = check_create_args(ns, mode, &replication, &block_size, open_for_write, client,
                           owner, err, errsz);
    if (rc != 0)
        return rc;
    begin(ns, &c);
    memset(&ex, 0, sizeof(ex));
    name = path_last(path, &plen);
    nlen = strlen(name);
    rc = walk_dirs(ns, path, plen, parents, 0755, owner, now, &c, &dir, err, errsz);
    if (rc == 0 && dir.type != DFS_TYPE_DIR)
        rc = fail(err, errsz, DFS_ERR_NOTDIR, "Not a directory");
    if (rc != 0)
        goto out;
    rc = c.next_inode != ns->c.next_inode ? 0 : dentry_get(ns, dir.id, name, nlen, &child);
    if (rc < 0) {
        rc = fail_io(err, errsz);
        goto out;
    }
    if (rc == 1) {
        if ((rc = inode_load(ns, child, &ex, err, errsz)) != 0)
            goto out;
        if (ex.type == DFS_TYPE_DIR) {
            rc = fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
            goto out;
        }
        if (!overwrite) {
            rc = fail(err, errsz, DFS_ERR_EXIST, "File exists");
            goto out;
        }
        remove_file(ns, &ex, &c, &removed);
    } else {
        dir.children++;
    }
    inode_new(&f, c.next_inode++, DFS_TYPE_FILE, mode, owner, dir.group, dir.id, now);
    f.replication = replication;
    f.block_size = block_size;
    f.complete = !open_for_write;
    if (open_for_write)
        copy_str(f.client, sizeof(f.client), client);
    c.files++;
    dentry_put(ns, dir.id, name, nlen, f.id);
    dir.mtime_ms = now;
    inode_put(ns, &f);
    inode_put(ns, &dir);
    rc = commit(ns, &c, err, errsz);
    if (rc == 0) {
        if (out != NULL)
            fill_stat(&f, name, nlen, out);
        report_removed(&removed, ns->on_block_removed, ns->on_block_removed_arg);
    }
    inode_free(&f);
out:
    inode_free(&ex);
    inode_free(&dir);
    idvec_free(&removed);
    return rc;
}

/* ---------------------------------------------------------- stat, list */

int ns_stat(struct ns *ns, const char *path, struct ns_stat *out, char *err, size_t errsz)
{
    struct inode in;
    size_t plen;
    const char *name;
    int rc = resolve(ns, path, &in, err, errsz);

    if (rc == 0) {
        name = path_last(path, &plen);
        fill_stat(&in, name, strlen(name), out);
    }
    inode_free(&in);
    return rc;
}

int ns_stat_inode(struct ns *ns, uint64_t inode, struct ns_stat *out, char *err, size_t errsz)
{
    struct inode in;
    int rc = inode_load_client(ns, inode, &in, err, errsz);

    if (rc == 0)
        fill_stat(&in, "", 0, out);
    inode_free(&in);
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
    unsigned char *seek = xmalloc(ID_KEY_LEN + salen);
    struct ms_iter *it = ms_iter_new(ns->ms);
    const char *name;
    uint64_t child;
    int rc = 0, r;

    key_id(seek, 'd', dir);
    memcpy(seek + ID_KEY_LEN, start_after, salen);
    ms_iter_seek(it, seek, ID_KEY_LEN + salen);
    for (; (r = dentry_at(it, dir, &name, &nlen, &child)) == 1; ms_iter_next(it)) {
        struct inode in;

        if (salen > 0 && nlen == salen && memcmp(name, start_after, salen) == 0)
            continue;
        if (*n == limit) {
            *has_more = 1;
            break;
        }
        if ((rc = inode_load(ns, child, &in, err, errsz)) != 0)
            break;
        fill_stat(&in, name, nlen, stat_push(out, n, &cap));
        inode_free(&in);
    }
    if (rc == 0 && r < 0)
        rc = fail(err, errsz, DFS_ERR_IO, "metadata corrupt: directory entry");
    ms_iter_destroy(it);
    free(seek);
    return rc;
}

int ns_list(struct ns *ns, const char *path, const char *start_after, uint32_t limit,
            struct ns_stat **out, size_t *n, int *has_more, char *err, size_t errsz)
{
    struct inode in;
    int rc;

    *out = NULL;
    *n = 0;
    *has_more = 0;
    if (start_after == NULL)
        start_after = "";
    if (limit == 0)
        limit = LIST_DEFAULT_LIMIT;
    if ((rc = resolve(ns, path, &in, err, errsz)) != 0)
        goto out;
    if (in.type == DFS_TYPE_DIR) {
        rc = list_dir(ns, in.id, start_after, limit, out, n, has_more, err, errsz);
    } else {
        size_t plen;
        const char *name = path_last(path, &plen);

        if (strcmp(name, start_after) > 0) {
            *out = xmalloc(sizeof(**out));
            fill_stat(&in, name, strlen(name), *out);
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
    inode_free(&in);
    return rc;
}

/* ---------------------------------------------------------- tree walk */

/* What a walk_tree visitor gets: an entry `name` of directory `dir` and
 * the inode it names.  Nonzero stops the walk (a status). */
typedef int (*walk_fn)(struct ns *ns, uint64_t dir, const char *name, size_t nlen,
                       const struct inode *in, void *arg, char *err, size_t errsz);

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
        unsigned char prefix[ID_KEY_LEN];
        const char *name;
        size_t nlen;
        int r;

        key_id(prefix, 'd', dir);
        ms_iter_seek(it, prefix, sizeof(prefix));
        for (; rc == 0 && (r = dentry_at(it, dir, &name, &nlen, &child)) == 1;
             ms_iter_next(it)) {
            struct inode in;

            if ((rc = inode_load(ns, child, &in, err, errsz)) != 0)
                break;
            if (in.type == DFS_TYPE_DIR)
                idvec_push(&todo, in.id);
            rc = fn(ns, dir, name, nlen, &in, arg, err, errsz);
            inode_free(&in);
        }
        if (rc == 0 && r < 0)
            rc = fail(err, errsz, DFS_ERR_IO, "metadata corrupt: directory entry");
        ms_iter_destroy(it);
    }
    idvec_free(&todo);
    return rc;
}

/* ------------------------------------------------------------- delete */

struct removal {
    struct counters *c;
    struct idvec *removed;
};

/* walk_tree visitor: put the removal of one entry and its inode. */
static int remove_entry(struct ns *ns, uint64_t dir, const char *name, size_t nlen,
                        const struct inode *in, void *arg, char *err, size_t errsz)
{
    struct removal *rm = arg;

    dentry_del(ns, dir, name, nlen);
    if (in->type == DFS_TYPE_FILE) {
        remove_file(ns, in, rm->c, rm->removed);
    } else {
        inode_del(ns, in->id);
        rm->c->dirs--;
    }
    return 0;
}

int ns_delete(struct ns *ns, const char *path, int recursive,
              void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
              char *err, size_t errsz)
{
    struct inode dir, in;
    struct idvec removed = { 0 };
    struct counters c;
    const char *name;
    uint64_t child;
    int rc;

    memset(&in, 0, sizeof(in));
    memset(&dir, 0, sizeof(dir));
    if ((rc = check_path(path, err, errsz)) != 0)
        return rc;
    if (strcmp(path, "/") == 0)
        return fail(err, errsz, DFS_ERR_INVAL, "cannot delete the root directory");
    if ((rc = resolve_parent(ns, path, &dir, &name, err, errsz)) != 0)
        goto out;
    rc = dentry_get(ns, dir.id, name, strlen(name), &child);
    if (rc <= 0) {
        rc = rc < 0 ? fail_io(err, errsz)
                    : fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
        goto out;
    }
    if ((rc = inode_load(ns, child, &in, err, errsz)) != 0)
        goto out;
    if (in.type == DFS_TYPE_DIR && in.children > 0 && !recursive) {
        rc = fail(err, errsz, DFS_ERR_NOTEMPTY, "Directory not empty");
        goto out;
    }
    begin(ns, &c);
    if (in.type == DFS_TYPE_DIR) {
        struct removal rm = { &c, &removed };

        inode_del(ns, in.id);
        c.dirs--;
        rc = walk_tree(ns, in.id, remove_entry, &rm, err, errsz);
    } else {
        remove_file(ns, &in, &c, &removed);
    }
    if (rc != 0)
        goto out;
    dentry_del(ns, dir.id, name, strlen(name));
    dir.children--;
    dir.mtime_ms = now_ms();
    inode_put(ns, &dir);
    rc = commit(ns, &c, err, errsz);
    if (rc == 0)
        report_removed(&removed, on_block_removed, arg);
out:
    ms_batch_clear(ns->batch);
    idvec_free(&removed);
    inode_free(&in);
    inode_free(&dir);
    return rc;
}

/* ------------------------------------------------------------- rename */

/* Where a rename lands: directory tdir, entry tname, and the inode that
 * entry names now (has_t). */
struct rename_target {
    struct inode dir;
    const char *name;
    struct inode t;
    int has_t;
};

static void target_free(struct rename_target *tg)
{
    inode_free(&tg->dir);
    inode_free(&tg->t);
}

/* Look name up in tg->dir and load what it names into tg->t. */
static int target_lookup(struct ns *ns, struct rename_target *tg, char *err, size_t errsz)
{
    uint64_t child;
    int rc = dentry_get(ns, tg->dir.id, tg->name, strlen(tg->name), &child);

    inode_free(&tg->t);
    tg->has_t = 0;
    if (rc < 0)
        return fail_io(err, errsz);
    if (rc == 0)
        return 0;
    tg->has_t = 1;
    return inode_load(ns, child, &tg->t, err, errsz);
}

/* Find where src (named sname) lands for dst: dst itself, or
 * dst/sname when dst is an existing directory. */
static int rename_target(struct ns *ns, const char *dst, const char *sname,
                         struct rename_target *tg, char *err, size_t errsz)
{
    int rc;

    memset(tg, 0, sizeof(*tg));
    if (strcmp(dst, "/") == 0) {
        rc = inode_load(ns, NS_ROOT_INODE, &tg->dir, err, errsz);
        tg->name = sname;
        return rc != 0 ? rc : target_lookup(ns, tg, err, errsz);
    }
    if ((rc = resolve_parent(ns, dst, &tg->dir, &tg->name, err, errsz)) != 0 ||
        (rc = target_lookup(ns, tg, err, errsz)) != 0)
        return rc;
    if (tg->has_t && tg->t.type == DFS_TYPE_DIR) {
        inode_move(&tg->dir, &tg->t);
        tg->name = sname;
        rc = target_lookup(ns, tg, err, errsz);
    }
    return rc;
}

/* DFS_ERR_XDEV when directory `dir` is src or lies beneath it. */
static int check_not_under(struct ns *ns, uint64_t dir, uint64_t src, char *err, size_t errsz)
{
    struct inode a;
    int rc = 0;

    while (rc == 0 && dir != NS_ROOT_INODE) {
        if (dir == src)
            return fail(err, errsz, DFS_ERR_XDEV,
                        "cannot move a directory into its own subtree");
        if ((rc = inode_load(ns, dir, &a, err, errsz)) == 0)
            dir = a.parent;
        inode_free(&a);
    }
    return rc;
}

/* May src replace tg->t?  0 when it may (or there is nothing to replace). */
static int check_replace(const struct inode *s, const struct rename_target *tg,
                         int overwrite, char *err, size_t errsz)
{
    if (!tg->has_t)
        return 0;
    if (tg->t.type == DFS_TYPE_DIR || !overwrite)
        return fail(err, errsz, DFS_ERR_EXIST, "File exists");
    if (s->type == DFS_TYPE_DIR)
        return fail(err, errsz, DFS_ERR_NOTDIR, "cannot overwrite a file with a directory");
    return 0;
}

/* Put the move of s from (sdir, sname) to the target into the batch. */
static void rename_apply(struct ns *ns, struct inode *sdir, const char *sname,
                         struct inode *s, struct rename_target *tg, struct counters *c,
                         struct idvec *removed)
{
    uint64_t now = now_ms();

    if (tg->has_t)
        remove_file(ns, &tg->t, c, removed);
    dentry_del(ns, sdir->id, sname, strlen(sname));
    dentry_put(ns, tg->dir.id, tg->name, strlen(tg->name), s->id);
    s->parent = tg->dir.id;
    sdir->children--;
    sdir->mtime_ms = now;
    inode_put(ns, s);
    if (sdir->id == tg->dir.id) {
        if (!tg->has_t)
            sdir->children++;
        inode_put(ns, sdir);
        return;
    }
    if (!tg->has_t)
        tg->dir.children++;
    tg->dir.mtime_ms = now;
    inode_put(ns, sdir);
    inode_put(ns, &tg->dir);
}

int ns_rename(struct ns *ns, const char *src, const char *dst, int overwrite,
              void (*on_block_removed)(uint64_t block_id, void *arg), void *arg,
              char *err, size_t errsz)
{
    struct inode sdir, s;
    struct rename_target tg;
    struct idvec removed = { 0 };
    struct counters c;
    const char *sname;
    uint64_t child;
    int rc;

    memset(&sdir, 0, sizeof(sdir));
    memset(&s, 0, sizeof(s));
    memset(&tg, 0, sizeof(tg));
    if ((rc = check_path(src, err, errsz)) != 0 || (rc = check_path(dst, err, errsz)) != 0)
        return rc;
    if (strcmp(src, "/") == 0)
        return fail(err, errsz, DFS_ERR_INVAL, "cannot rename the root directory");
    if ((rc = resolve_parent(ns, src, &sdir, &sname, err, errsz)) != 0)
        goto out;
    rc = dentry_get(ns, sdir.id, sname, strlen(sname), &child);
    if (rc <= 0) {
        rc = rc < 0 ? fail_io(err, errsz)
                    : fail(err, errsz, DFS_ERR_NOENT, "No such file or directory");
        goto out;
    }
    if ((rc = inode_load(ns, child, &s, err, errsz)) != 0 || strcmp(src, dst) == 0)
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
    begin(ns, &c);
    rename_apply(ns, &sdir, sname, &s, &tg, &c, &removed);
    rc = commit(ns, &c, err, errsz);
    if (rc == 0)
        report_removed(&removed, on_block_removed, arg);
out:
    ms_batch_clear(ns->batch);
    idvec_free(&removed);
    target_free(&tg);
    inode_free(&s);
    inode_free(&sdir);
    return rc;
}

/* ------------------------------------------------------------ setattr */

static int check_setattr(const struct inode *in, unsigned what, uint32_t mode,
                         const char *owner, const char *group, uint32_t replication,
                         uint32_t max_repl, char *err, size_t errsz)
{
    if (what & ~(unsigned)(NS_SET_MODE | NS_SET_OWNER | NS_SET_GROUP | NS_SET_REPL |
                           NS_SET_MTIME))
        return fail(err, errsz, DFS_ERR_INVAL, "invalid attribute mask");
    if ((what & NS_SET_MODE) && (mode & ~07777u))
        return fail(err, errsz, DFS_ERR_INVAL, "invalid mode");
    if ((what & NS_SET_OWNER) && !principal_valid(owner))
        return fail(err, errsz, DFS_ERR_INVAL, "invalid owner name");
    if ((what & NS_SET_GROUP) && !principal_valid(group))
        return fail(err, errsz, DFS_ERR_INVAL, "invalid group name");
    if ((what & NS_SET_REPL) && in->type == DFS_TYPE_DIR)
        return fail(err, errsz, DFS_ERR_ISDIR, "setrep needs a file");
    if ((what & NS_SET_REPL) && (replication < 1 || replication > max_repl))
        return fail(err, errsz, DFS_ERR_INVAL, "replication %u out of range [1, %u]",
                    replication, max_repl);
    return 0;
}

int ns_setattr(struct ns *ns, const char *path, unsigned what, uint32_t mode,
               const char *owner, const char *group, uint32_t replication,
               uint64_t mtime_ms, char *err, size_t errsz)
{
    struct inode in;
    struct counters c;
    int rc = resolve(ns, path, &in, err, errsz);

    if (rc == 0)
        rc = check_setattr(&in, what, mode, owner, group, replication,
                           ns->lim.max_replication, err, errsz);
    if (rc != 0 || what == 0)
        goto out;
    if (what & NS_SET_MODE)
        in.mode = mode;
    if (what & NS_SET_OWNER)
        copy_str(in.owner, sizeof(in.owner), owner);
    if (what & NS_SET_GROUP)
        copy_str(in.group, sizeof(in.group), group);
    if (what & NS_SET_REPL)
        in.replication = replication;
    if (what & NS_SET_MTIME)
        in.mtime_ms = mtime_ms;
    begin(ns, &c);
    inode_put(ns, &in);
    rc = commit(ns, &c, err, errsz);
out:
    ms_batch_clear(ns->batch);
    inode_free(&in);
    return rc;
}

/* ------------------------------------------------------------ summary */

struct summary {
    uint64_t length, files, dirs, space;
};

static void summary_add_file(struct summary *sum, const struct inode *f)
{
    sum->length += f->length;
    sum->files++;
    sum->space += f->length * f->replication;
}

/* walk_tree visitor: count one entry. */
static int summary_entry(struct ns *ns, uint64_t dir, const char *name, size_t nlen,
                         const struct inode *in, void *arg, char *err, size_t errsz)
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
    struct inode in;
    int rc = resolve(ns, path, &in, err, errsz);

    if (rc == 0 && in.type == DFS_TYPE_DIR) {
        sum.dirs = 1;
        rc = walk_tree(ns, in.id, summary_entry, &sum, err, errsz);
    } else if (rc == 0) {
        summary_add_file(&sum, &in);
    }
    inode_free(&in);
    if (rc != 0)
        return rc;
    *length = sum.length;
    *files = sum.files;
    *dirs = sum.dirs;
    *space = sum.space;
    return 0;
}

/* ------------------------------------------------------------- blocks */

/* Load file `inode` for a block operation of writer `client` (NULL: the
 * namenode itself, any writer).  *f must be under construction. */
static int load_writer(struct ns *ns, uint64_t inode, const char *client, struct inode *f,
                       char *err, size_t errsz)
{
    int rc = inode_load_client(ns, inode, f, err, errsz);

    if (rc != 0)
        return rc;
    if (f->type == DFS_TYPE_DIR)
        return fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
    if (f->complete)
        return fail(err, errsz, DFS_ERR_INVAL, "file is not open for writing");
    if (client != NULL && strcmp(client, f->client) != 0)
        return fail(err, errsz, DFS_ERR_BUSY, "file is being written by another client");
    return 0;
}

static uint64_t last_block(const struct inode *f)
{
    return f->nblocks > 0 ? f->blocks[f->nblocks - 1] : 0;
}

/* Put block id of file f as complete with length len, keeping f->length
 * the sum of its recorded block lengths. */
static int finish_block(struct ns *ns, struct inode *f, uint64_t id, uint64_t len,
                        char *err, size_t errsz)
{
    struct block b;
    int rc;

    if (len > f->block_size)
        return fail(err, errsz, DFS_ERR_INVAL, "block length %llu exceeds the block size %llu",
                    (unsigned long long)len, (unsigned long long)f->block_size);
    rc = block_load(ns, id, &b);
    if (rc <= 0)
        return rc < 0 ? fail_io(err, errsz)
                      : fail(err, errsz, DFS_ERR_IO, "metadata corrupt: block %llu missing",
                             (unsigned long long)id);
    f->length = f->length - b.length + len;
    b.length = len;
    b.complete = 1;
    block_put(ns, id, &b);
    return 0;
}

/* An addBlock retried after a lost answer: prev is the block before the
 * last one and the last one is still empty.  1 (answered), 0, or error. */
static int add_block_retry(struct ns *ns, const struct inode *f, uint64_t prev_id,
                           uint64_t *block_id, uint64_t *genstamp)
{
    struct block b;
    uint64_t last = last_block(f);
    uint64_t before = f->nblocks > 1 ? f->blocks[f->nblocks - 2] : 0;

    if (f->nblocks == 0 || prev_id != before)
        return 0;
    if (block_load(ns, last, &b) != 1 || b.complete || b.length != 0)
        return 0;
    *block_id = last;
    *genstamp = b.genstamp;
    return 1;
}

int ns_add_block(struct ns *ns, uint64_t inode, const char *client, uint64_t prev_id,
                 uint64_t prev_len, uint64_t *block_id, uint64_t *genstamp,
                 struct ns_stat *st, char *err, size_t errsz)
{
    struct block nb = { .inode = inode, .length = 0, .complete = 0 };
    struct counters c;
    struct inode f;
    int rc = load_writer(ns, inode, client, &f, err, errsz);

    if (rc != 0)
        goto out;
    begin(ns, &c);
    if (prev_id != last_block(&f)) {
        if (add_block_retry(ns, &f, prev_id, block_id, genstamp) == 1) {
            if (st != NULL)
                fill_stat(&f, "", 0, st);
            goto out;
        }
        rc = fail(err, errsz, DFS_ERR_STALE, "block %llu is not the last block of the file",
                  (unsigned long long)prev_id);
        goto out;
    }
    if (prev_id != 0 && (rc = finish_block(ns, &f, prev_id, prev_len, err, errsz)) != 0)
        goto out;
    f.blocks = xrealloc(f.blocks, (f.nblocks + 1) * sizeof(*f.blocks));
    f.blocks[f.nblocks++] = c.next_block;
    nb.genstamp = ++c.genstamp;
    block_put(ns, c.next_block++, &nb);
    inode_put(ns, &f);
    if ((rc = commit(ns, &c, err, errsz)) != 0)
        goto out;
    *block_id = last_block(&f);
    *genstamp = nb.genstamp;
    if (st != NULL)
        fill_stat(&f, "", 0, st);
out:
    ms_batch_clear(ns->batch);
    inode_free(&f);
    return rc;
}

int ns_complete(struct ns *ns, uint64_t inode, const char *client, uint64_t last_id,
                uint64_t last_len, char *err, size_t errsz)
{
    struct counters c;
    struct inode f;
    int rc = load_writer(ns, inode, client, &f, err, errsz);

    if (rc == DFS_ERR_INVAL && f.complete && last_block(&f) == last_id) {
        rc = 0;         /* a retried complete: already done */
        goto out;
    }
    if (rc != 0)
        goto out;
    if (last_id != last_block(&f)) {
        rc = fail(err, errsz, DFS_ERR_STALE, "block %llu is not the last block of the file",
                  (unsigned long long)last_id);
        goto out;
    }
    begin(ns, &c);
    if (last_id != 0 && (rc = finish_block(ns, &f, last_id, last_len, err, errsz)) != 0)
        goto out;
    f.complete = 1;
    f.client[0] = '\0';
    f.mtime_ms = now_ms();
    inode_put(ns, &f);
    rc = commit(ns, &c, err, errsz);
out:
    ms_batch_clear(ns->batch);
    inode_free(&f);
    return rc;
}

int ns_abandon_block(struct ns *ns, uint64_t inode, const char *client, uint64_t block_id,
                     char *err, size_t errsz)
{
    struct counters c;
    struct inode f;
    int rc = load_writer(ns, inode, client, &f, err, errsz);

    if (rc != 0)
        goto out;
    if (block_id == 0 || block_id != last_block(&f)) {
        for (size_t i = 0; i < f.nblocks; i++)
            if (f.blocks[i] == block_id)
                rc = fail(err, errsz, DFS_ERR_STALE,
                          "block %llu is not the last block of the file",
                          (unsigned long long)block_id);
        goto out;       /* not in the file (any more): nothing to do */
    }
    begin(ns, &c);
    block_del(ns, block_id);
    f.nblocks--;
    inode_put(ns, &f);
    rc = commit(ns, &c, err, errsz);
out:
    ms_batch_clear(ns->batch);
    inode_free(&f);
    return rc;
}

int ns_bump_genstamp(struct ns *ns, uint64_t inode, const char *client, uint64_t block_id,
                     uint64_t *genstamp, char *err, size_t errsz)
{
    struct counters c;
    struct inode f;
    struct block b;
    int rc = load_writer(ns, inode, client, &f, err, errsz);

    if (rc != 0)
        goto out;
    if (block_id == 0 || block_id != last_block(&f)) {
        rc = fail(err, errsz, DFS_ERR_STALE, "block %llu is not the last block of the file",
                  (unsigned long long)block_id);
        goto out;
    }
    rc = block_load(ns, block_id, &b);
    if (rc <= 0) {
        rc = fail(err, errsz, DFS_ERR_IO, "metadata corrupt: block %llu missing",
                  (unsigned long long)block_id);
        goto out;
    }
    begin(ns, &c);
    b.genstamp = ++c.genstamp;
    block_put(ns, block_id, &b);
    if ((rc = commit(ns, &c, err, errsz)) == 0)
        *genstamp = b.genstamp;
out:
    ms_batch_clear(ns->batch);
    inode_free(&f);
    return rc;
}

int ns_get_blocks(struct ns *ns, const char *path, struct ns_stat *st,
                  struct ns_block **blocks, size_t *n, char *err, size_t errsz)
{
    struct inode f;
    uint64_t off = 0;
    size_t plen;
    const char *name;
    int rc = resolve(ns, path, &f, err, errsz);

    *blocks = NULL;
    *n = 0;
    if (rc == 0 && f.type == DFS_TYPE_DIR)
        rc = fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
    if (rc == 0 && f.nblocks > 0)
        *blocks = xcalloc(f.nblocks, sizeof(**blocks));
    for (size_t i = 0; rc == 0 && i < f.nblocks; i++) {
        struct ns_block *nb = &(*blocks)[i];
        struct block b;
        int r = block_load(ns, f.blocks[i], &b);

        if (r <= 0) {
            rc = fail(err, errsz, DFS_ERR_IO, "metadata corrupt: block %llu missing",
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
        name = path_last(path, &plen);
        if (st != NULL)
            fill_stat(&f, name, strlen(name), st);
    } else {
        free(*blocks);
        *blocks = NULL;
    }
    inode_free(&f);
    return rc;
}

int ns_block_lookup(struct ns *ns, uint64_t block_id, uint64_t *inode, uint64_t *genstamp,
                    uint64_t *length, int *complete)
{
    struct block b;
    int rc = block_load(ns, block_id, &b);

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
        if (klen != ID_KEY_LEN || r == NULL) {
            if (r != NULL)
                dfs__block_rec__free_unpacked(r, NULL);
            rc = -1;
            break;
        }
        rc = cb(get_be64((const unsigned char *)k + 1), r->genstamp, r->length, r->inode, arg);
        dfs__block_rec__free_unpacked(r, NULL);
    }
    ms_iter_destroy(it);
    return rc;
}
