/*
 * lease.c - leases by client name and by file (see lease.h).
 *
 * Leases are found by name through a u64map keyed by a hash of the name
 * (entries with the same hash chain through `hnext`) and by file through
 * a u64map inode -> lease.  Each lease keeps its files in a small array
 * (a client writes few files at a time).  Every lease is also on one list,
 * which the expiry walk goes through.
 */
#include <stdlib.h>
#include <string.h>

#include "lease.h"
#include "hash.h"
#include "u64map.h"
#include "xmalloc.h"

struct lease {
    char *client;
    uint64_t hash;
    uint64_t renewed;
    uint64_t *inodes;
    size_t n, cap;
    struct lease *hnext;            /* same name hash */
    struct lease *prev, *next;      /* every lease */
};

struct leases {
    struct u64map by_name;          /* name hash -> chain of leases */
    struct u64map by_inode;         /* inode -> lease */
    struct lease *all;
    size_t nleases;
};

/* FNV-1a of the name, mixed; never 0 (u64map's empty key). */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    h = dfs_mix64(h);
    return h ? h : 1;
}

struct leases *lease_new(void)
{
    return xcalloc(1, sizeof(struct leases));
}

static void lease_destroy(struct lease *l)
{
    free(l->client);
    free(l->inodes);
    free(l);
}

void lease_free(struct leases *ls)
{
    if (!ls)
        return;
    while (ls->all) {
        struct lease *l = ls->all;
        ls->all = l->next;
        lease_destroy(l);
    }
    u64map_free(&ls->by_name);
    u64map_free(&ls->by_inode);
    free(ls);
}

static struct lease *find(const struct leases *ls, const char *client)
{
    for (struct lease *l = u64map_get(&ls->by_name, name_hash(client)); l; l = l->hnext)
        if (strcmp(l->client, client) == 0)
            return l;
    return NULL;
}

static struct lease *make(struct leases *ls, const char *client)
{
    struct lease *l = xcalloc(1, sizeof(*l));
    l->client = xstrdup(client);
    l->hash = name_hash(client);
    l->hnext = u64map_get(&ls->by_name, l->hash);
    u64map_put(&ls->by_name, l->hash, l);
    l->next = ls->all;
    if (ls->all)
        ls->all->prev = l;
    ls->all = l;
    ls->nleases++;
    return l;
}

/* Unlink lease l (no files left) and free it. */
static void drop(struct leases *ls, struct lease *l)
{
    struct lease *head = u64map_get(&ls->by_name, l->hash);
    if (head == l) {
        if (l->hnext)
            u64map_put(&ls->by_name, l->hash, l->hnext);
        else
            u64map_del(&ls->by_name, l->hash);
    } else {
        struct lease *p = head;
        while (p && p->hnext != l)
            p = p->hnext;
        if (p)
            p->hnext = l->hnext;
    }
    if (l->prev)
        l->prev->next = l->next;
    else
        ls->all = l->next;
    if (l->next)
        l->next->prev = l->prev;
    ls->nleases--;
    lease_destroy(l);
}

void lease_remove(struct leases *ls, uint64_t inode)
{
    struct lease *l = u64map_del(&ls->by_inode, inode);
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->inodes[i] == inode) {
            l->inodes[i] = l->inodes[--l->n];
            break;
        }
    }
    if (l->n == 0)
        drop(ls, l);
}

void lease_add(struct leases *ls, const char *client, uint64_t inode, uint64_t now)
{
    struct lease *l = u64map_get(&ls->by_inode, inode);
    if (l && strcmp(l->client, client) == 0) {
        l->renewed = now;
        return;
    }
    lease_remove(ls, inode);
    l = find(ls, client);
    if (!l)
        l = make(ls, client);
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->inodes = xrealloc(l->inodes, l->cap * sizeof(*l->inodes));
    }
    l->inodes[l->n++] = inode;
    l->renewed = now;
    u64map_put(&ls->by_inode, inode, l);
}

int lease_renew(struct leases *ls, const char *client, uint64_t now)
{
    struct lease *l = client ? find(ls, client) : NULL;
    if (!l)
        return 0;
    l->renewed = now;
    return 1;
}

const char *lease_holder(const struct leases *ls, uint64_t inode)
{
    const struct lease *l = u64map_get(&ls->by_inode, inode);
    return l ? l->client : NULL;
}

int lease_renewed(const struct leases *ls, const char *client, uint64_t *renewed)
{
    const struct lease *l = client ? find(ls, client) : NULL;
    if (!l)
        return 0;
    *renewed = l->renewed;
    return 1;
}

int lease_live(const struct leases *ls, const char *client, uint64_t now, uint64_t soft_ms)
{
    uint64_t t;
    if (!lease_renewed(ls, client, &t))
        return 0;
    return now < t || now - t < soft_ms;
}

size_t lease_expired(const struct leases *ls, uint64_t now, uint64_t hard_ms,
                     uint64_t **inodes)
{
    size_t n = 0, cap = 0;
    *inodes = NULL;
    for (const struct lease *l = ls->all; l; l = l->next) {
        if (now < l->renewed || now - l->renewed < hard_ms)
            continue;
        if (n + l->n > cap) {
            cap = 2 * (n + l->n);
            *inodes = xrealloc(*inodes, cap * sizeof(**inodes));
        }
        memcpy(*inodes + n, l->inodes, l->n * sizeof(**inodes));
        n += l->n;
    }
    return n;
}

void lease_counts(const struct leases *ls, size_t *leases, size_t *files)
{
    if (leases)
        *leases = ls->nleases;
    if (files)
        *files = u64map_count(&ls->by_inode);
}
