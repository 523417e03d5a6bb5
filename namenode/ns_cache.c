/*
 * ns_cache.c - the namespace record cache (see ns_cache.h).
 *
 * One chained hash table holds both kinds of entries; one doubly linked
 * list orders them by last use for eviction.  Each entry is one
 * allocation: a common header, then its kind's fields and tail (a
 * directory entry's name; an inode's blocks followed by its strings).  Pending
 * notes are entries of the same shape, chained through hnext until
 * nsc_pend_apply() moves them into the table.
 */
#include <stdlib.h>
#include <string.h>

#include "ns_cache.h"
#include "hash.h"
#include "xmalloc.h"

#define NSC_MIN_BUCKETS 1024

enum nsc_kind { NSC_INODE = 1, NSC_DENTRY = 2 };

/* What both kinds of entries begin with. */
struct nsc_entry {
    struct nsc_entry *hnext;    /* hash chain, or the pending list */
    struct nsc_entry *older;    /* LRU list: towards the next eviction */
    struct nsc_entry *newer;
    uint64_t hash;
    size_t size;                /* bytes charged to the limit */
    uint8_t kind;               /* enum nsc_kind */
    uint8_t del;                /* pending note of a delete: only a key */
};

struct nsc_ientry {
    struct nsc_entry h;
    struct nsc_inode in;
    uint64_t tail[];            /* blocks, then owner, group, client */
};

struct nsc_dentry {
    struct nsc_entry h;
    uint64_t parent;
    uint64_t child;
    size_t nlen;
    char name[];
};

struct ns_cache {
    struct nsc_entry **buckets;
    size_t nbuckets;            /* a power of two */
    size_t count, bytes, limit;
    struct nsc_entry *newest, *oldest;
    struct nsc_entry *pend_head, **pend_tail;
    uint64_t hits, misses;
};

/* ------------------------------------------------------------- hashing */

static uint64_t hash_inode(uint64_t id)
{
    return dfs_mix64(id);
}

/* FNV-1a over the name, mixed with the parent's id. */
static uint64_t hash_dentry(uint64_t parent, const char *name, size_t nlen)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < nlen; i++)
        h = (h ^ (unsigned char)name[i]) * 0x100000001b3ULL;
    return dfs_mix64(h ^ dfs_mix64(parent + 0x9e3779b97f4a7c15ULL));
}

/* The two kinds behind a header (h is their first member). */
static struct nsc_ientry *as_inode(const struct nsc_entry *e)
{
    return (struct nsc_ientry *)e;
}

static struct nsc_dentry *as_dentry(const struct nsc_entry *e)
{
    return (struct nsc_dentry *)e;
}

/* ------------------------------------------------------------- entries */

static size_t str_size(const char *s)
{
    return strlen(s) + 1;
}

/* Copy s into *p and advance it; returns the copy. */
static const char *put_str(char **p, const char *s)
{
    size_t n = str_size(s);
    char *dst = *p;

    memcpy(dst, s, n);
    *p += n;
    return dst;
}

/* A zeroed entry of `size` bytes with its header set. */
static struct nsc_entry *entry_alloc(enum nsc_kind kind, uint64_t hash, size_t size)
{
    struct nsc_entry *e = xcalloc(1, size);

    e->kind = (uint8_t)kind;
    e->hash = hash;
    e->size = size + sizeof(struct nsc_entry *);     /* and a bucket slot */
    return e;
}

static struct nsc_entry *inode_entry(const struct nsr_inode *in)
{
    size_t blocks = in->nblocks * sizeof(uint64_t);
    size_t strs = str_size(in->owner) + str_size(in->group) + str_size(in->client);
    struct nsc_entry *e = entry_alloc(NSC_INODE, hash_inode(in->id),
                                      sizeof(struct nsc_ientry) + blocks + strs);
    struct nsc_ientry *ie = as_inode(e);
    struct nsc_inode *ci = &ie->in;
    char *p = (char *)ie->tail + blocks;

    ci->id = in->id;
    ci->mtime_ms = in->mtime_ms;
    ci->atime_ms = in->atime_ms;
    ci->parent = in->parent;
    ci->length = in->length;
    ci->block_size = in->block_size;
    ci->mode = in->mode;
    ci->replication = in->replication;
    ci->children = in->children;
    ci->type = in->type;
    ci->complete = in->complete;
    ci->temporary = in->temporary;
    if (blocks > 0)
        memcpy(ie->tail, in->blocks, blocks);
    ci->blocks = ie->tail;
    ci->nblocks = in->nblocks;
    ci->owner = put_str(&p, in->owner);
    ci->group = put_str(&p, in->group);
    ci->client = put_str(&p, in->client);
    return e;
}

/* A key-only inode entry: a pending delete. */
static struct nsc_entry *inode_key(uint64_t id)
{
    struct nsc_entry *e = entry_alloc(NSC_INODE, hash_inode(id), sizeof(struct nsc_ientry));

    as_inode(e)->in.id = id;
    e->del = 1;
    return e;
}

static struct nsc_entry *dentry_entry(uint64_t parent, const char *name, size_t nlen,
                                      uint64_t child)
{
    struct nsc_entry *e = entry_alloc(NSC_DENTRY, hash_dentry(parent, name, nlen),
                                      sizeof(struct nsc_dentry) + nlen);
    struct nsc_dentry *de = as_dentry(e);

    de->parent = parent;
    de->child = child;
    de->nlen = nlen;
    memcpy(de->name, name, nlen);
    return e;
}

void nsc_inode_copy(const struct nsc_inode *src, struct nsr_inode *dst)
{
    memset(dst, 0, sizeof(*dst));
    dst->id = src->id;
    dst->type = src->type;
    dst->mode = src->mode;
    dfs_copy_str(dst->owner, sizeof(dst->owner), src->owner);
    dfs_copy_str(dst->group, sizeof(dst->group), src->group);
    dst->mtime_ms = src->mtime_ms;
    dst->atime_ms = src->atime_ms;
    dst->parent = src->parent;
    dst->length = src->length;
    dst->replication = src->replication;
    dst->block_size = src->block_size;
    dst->complete = src->complete;
    dst->temporary = src->temporary;
    dfs_copy_str(dst->client, sizeof(dst->client), src->client);
    dst->children = src->children;
    if (src->nblocks > 0) {
        dst->blocks = xmalloc(src->nblocks * sizeof(uint64_t));
        memcpy(dst->blocks, src->blocks, src->nblocks * sizeof(uint64_t));
        dst->nblocks = src->nblocks;
    }
}

/* -------------------------------------------------------- table, LRU */

/* The slot holding the inode entry id, or the NULL slot ending its chain. */
static struct nsc_entry **slot_inode(const struct ns_cache *c, uint64_t hash, uint64_t id)
{
    struct nsc_entry **s = &c->buckets[hash & (c->nbuckets - 1)];

    while (*s != NULL && !((*s)->kind == NSC_INODE && as_inode(*s)->in.id == id))
        s = &(*s)->hnext;
    return s;
}

static struct nsc_entry **slot_dentry(const struct ns_cache *c, uint64_t hash, uint64_t parent,
                                      const char *name, size_t nlen)
{
    struct nsc_entry **s = &c->buckets[hash & (c->nbuckets - 1)];

    for (; *s != NULL; s = &(*s)->hnext) {
        const struct nsc_dentry *de = as_dentry(*s);

        if ((*s)->hash == hash && (*s)->kind == NSC_DENTRY && de->parent == parent &&
            de->nlen == nlen && memcmp(de->name, name, nlen) == 0)
            return s;
    }
    return s;
}

/* The slot of the table entry with e's key. */
static struct nsc_entry **slot_of(const struct ns_cache *c, const struct nsc_entry *e)
{
    const struct nsc_dentry *de = as_dentry(e);

    if (e->kind == NSC_INODE)
        return slot_inode(c, e->hash, as_inode(e)->in.id);
    return slot_dentry(c, e->hash, de->parent, de->name, de->nlen);
}

static void lru_unlink(struct ns_cache *c, struct nsc_entry *e)
{
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    e->older = e->newer = NULL;
}

static void lru_push(struct ns_cache *c, struct nsc_entry *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest != NULL)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
}

/* A hit: e becomes the newest. */
static void lru_touch(struct ns_cache *c, struct nsc_entry *e)
{
    if (c->newest != e) {
        lru_unlink(c, e);
        lru_push(c, e);
    }
}

/* Unlink the entry in slot s from the table and free it. */
static void table_remove(struct ns_cache *c, struct nsc_entry **s)
{
    struct nsc_entry *e = *s;

    *s = e->hnext;
    lru_unlink(c, e);
    c->count--;
    c->bytes -= e->size;
    free(e);
}

/* Double the buckets once there are more entries than buckets. */
static void table_grow(struct ns_cache *c)
{
    size_t n = c->nbuckets * 2;
    struct nsc_entry **b = xcalloc(n, sizeof(*b));

    for (size_t i = 0; i < c->nbuckets; i++) {
        struct nsc_entry *e = c->buckets[i];

        while (e != NULL) {
            struct nsc_entry *next = e->hnext;

            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

/* Put e into the table (taking it), replacing an entry with its key. */
static void table_insert(struct ns_cache *c, struct nsc_entry *e)
{
    struct nsc_entry **s = slot_of(c, e);

    if (*s != NULL)
        table_remove(c, s);
    if (c->count >= c->nbuckets) {
        table_grow(c);
        s = slot_of(c, e);
    }
    e->hnext = *s;
    *s = e;
    lru_push(c, e);
    c->count++;
    c->bytes += e->size;
}

/* Remove the entry with e's key, when there is one. */
static void table_forget(struct ns_cache *c, const struct nsc_entry *e)
{
    struct nsc_entry **s = slot_of(c, e);

    if (*s != NULL)
        table_remove(c, s);
}

/* Evict the least recently used entries until the bytes fit the limit. */
static void evict(struct ns_cache *c)
{
    while (c->bytes > c->limit && c->oldest != NULL)
        table_remove(c, slot_of(c, c->oldest));
}

/* ----------------------------------------------------------- life cycle */

struct ns_cache *nsc_new(size_t limit)
{
    struct ns_cache *c = xcalloc(1, sizeof(*c));

    c->nbuckets = NSC_MIN_BUCKETS;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    c->limit = limit;
    c->pend_tail = &c->pend_head;
    return c;
}

void nsc_free(struct ns_cache *c)
{
    if (c == NULL)
        return;
    nsc_pend_drop(c);
    c->limit = 0;
    evict(c);
    free(c->buckets);
    free(c);
}

void nsc_set_limit(struct ns_cache *c, size_t limit)
{
    nsc_pend_drop(c);
    c->limit = limit;
    evict(c);
}

void nsc_stats(const struct ns_cache *c, struct nsc_stats *st)
{
    st->hits = c->hits;
    st->misses = c->misses;
    st->entries = c->count;
    st->bytes = c->bytes;
}

/* -------------------------------------------------------------- lookups */

const struct nsc_inode *nsc_inode_get(struct ns_cache *c, uint64_t id)
{
    struct nsc_entry *e = *slot_inode(c, hash_inode(id), id);

    if (e == NULL) {
        c->misses++;
        return NULL;
    }
    c->hits++;
    lru_touch(c, e);
    return &as_inode(e)->in;
}

int nsc_dentry_get(struct ns_cache *c, uint64_t parent, const char *name, size_t nlen,
                   uint64_t *child)
{
    uint64_t h = hash_dentry(parent, name, nlen);
    struct nsc_entry *e = *slot_dentry(c, h, parent, name, nlen);

    if (e == NULL) {
        c->misses++;
        return 0;
    }
    c->hits++;
    lru_touch(c, e);
    *child = as_dentry(e)->child;
    return 1;
}

void nsc_inode_fill(struct ns_cache *c, const struct nsr_inode *in)
{
    if (c->limit == 0)
        return;
    table_insert(c, inode_entry(in));
    evict(c);
}

void nsc_dentry_fill(struct ns_cache *c, uint64_t parent, const char *name, size_t nlen,
                     uint64_t child)
{
    if (c->limit == 0)
        return;
    table_insert(c, dentry_entry(parent, name, nlen, child));
    evict(c);
}

/* ------------------------------------------------------ pending changes */

static void pend_add(struct ns_cache *c, struct nsc_entry *e)
{
    e->hnext = NULL;
    *c->pend_tail = e;
    c->pend_tail = &e->hnext;
}

/* Take the pending list, leaving it empty. */
static struct nsc_entry *pend_take(struct ns_cache *c)
{
    struct nsc_entry *head = c->pend_head;

    c->pend_head = NULL;
    c->pend_tail = &c->pend_head;
    return head;
}

void nsc_pend_inode_put(struct ns_cache *c, const struct nsr_inode *in)
{
    if (c->limit > 0)
        pend_add(c, inode_entry(in));
}

void nsc_pend_inode_del(struct ns_cache *c, uint64_t id)
{
    if (c->limit > 0)
        pend_add(c, inode_key(id));
}

void nsc_pend_dentry_put(struct ns_cache *c, uint64_t parent, const char *name, size_t nlen,
                         uint64_t child)
{
    if (c->limit > 0)
        pend_add(c, dentry_entry(parent, name, nlen, child));
}

void nsc_pend_dentry_del(struct ns_cache *c, uint64_t parent, const char *name, size_t nlen)
{
    if (c->limit > 0) {
        struct nsc_entry *e = dentry_entry(parent, name, nlen, 0);

        e->del = 1;
        pend_add(c, e);
    }
}

void nsc_pend_apply(struct ns_cache *c)
{
    struct nsc_entry *e = pend_take(c);

    while (e != NULL) {
        struct nsc_entry *next = e->hnext;

        if (e->del) {
            table_forget(c, e);
            free(e);
        } else {
            table_insert(c, e);
        }
        e = next;
    }
    evict(c);
}

void nsc_pend_drop(struct ns_cache *c)
{
    struct nsc_entry *e = pend_take(c);

    while (e != NULL) {
        struct nsc_entry *next = e->hnext;

        free(e);
        e = next;
    }
}

void nsc_pend_abort(struct ns_cache *c)
{
    struct nsc_entry *e = pend_take(c);

    while (e != NULL) {
        struct nsc_entry *next = e->hnext;

        table_forget(c, e);
        free(e);
        e = next;
    }
}

/* --------------------------------------------------------------- checks */

int nsc_foreach(const struct ns_cache *c,
                int (*on_inode)(const struct nsc_inode *in, void *arg),
                int (*on_dentry)(uint64_t parent, const char *name, size_t nlen,
                                 uint64_t child, void *arg),
                void *arg)
{
    for (const struct nsc_entry *e = c->newest; e != NULL; e = e->older) {
        const struct nsc_dentry *de = as_dentry(e);
        int rc = e->kind == NSC_INODE ? on_inode(&as_inode(e)->in, arg)
                                      : on_dentry(de->parent, de->name, de->nlen, de->child, arg);

        if (rc != 0)
            return rc;
    }
    return 0;
}
