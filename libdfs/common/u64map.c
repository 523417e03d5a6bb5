/*
 * u64map.c - hash tables keyed by nonzero 64-bit ids (u64map.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "u64map.h"
#include "hash.h"
#include "log.h"

void u64tab_init(struct u64tab *t, size_t esize)
{
    memset(t, 0, sizeof(*t));
    t->esize = esize;
}

void u64tab_free(struct u64tab *t)
{
    free(t->slots);
    u64tab_init(t, t->esize);
}

static uint64_t key_at(const struct u64tab *t, size_t i)
{
    uint64_t k;
    memcpy(&k, t->slots + i * t->esize, sizeof(k));
    return k;
}

void *u64tab_get(const struct u64tab *t, uint64_t key)
{
    if (t->count == 0 || key == 0)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = (size_t)dfs_mix64(key) & mask;; i = (i + 1) & mask) {
        uint64_t k = key_at(t, i);
        if (k == 0)
            return NULL;
        if (k == key)
            return t->slots + i * t->esize;
    }
}

int u64tab_reserve(struct u64tab *t, size_t want)
{
    if (t->cap && want <= t->cap / 4 * 3)
        return 0;
    size_t ncap = t->cap ? t->cap : 16;
    while (want > ncap / 4 * 3) {
        if (ncap > SIZE_MAX / 2 / t->esize)
            return -ENOMEM;
        ncap *= 2;
    }
    unsigned char *ns = calloc(ncap, t->esize);
    if (!ns)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        uint64_t k = key_at(t, i);
        if (k == 0)
            continue;
        size_t j = (size_t)dfs_mix64(k) & (ncap - 1);
        while (*(uint64_t *)(ns + j * t->esize) != 0)
            j = (j + 1) & (ncap - 1);
        memcpy(ns + j * t->esize, t->slots + i * t->esize, t->esize);
    }
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

void *u64tab_add(struct u64tab *t, uint64_t key)
{
    if (key == 0 || u64tab_reserve(t, t->count + 1) < 0)
        return NULL;
    size_t mask = t->cap - 1, i = (size_t)dfs_mix64(key) & mask;
    while (key_at(t, i) != 0)
        i = (i + 1) & mask;
    unsigned char *e = t->slots + i * t->esize;
    memset(e, 0, t->esize);
    memcpy(e, &key, sizeof(key));
    t->count++;
    return e;
}

void u64tab_del(struct u64tab *t, void *e)
{
    size_t mask = t->cap - 1;
    size_t i = (size_t)((unsigned char *)e - t->slots) / t->esize, j = i;
    for (;;) {
        j = (j + 1) & mask;
        uint64_t k = key_at(t, j);
        if (k == 0)
            break;
        size_t h = (size_t)dfs_mix64(k) & mask;
        /* The entry at j stays when its home h lies cyclically in (i, j]. */
        int stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (stays)
            continue;
        memcpy(t->slots + i * t->esize, t->slots + j * t->esize, t->esize);
        i = j;
    }
    memset(t->slots + i * t->esize, 0, t->esize);
    t->count--;
}

/* ---------------------------------------------------------- u64map */

static void map_ready(struct u64map *m)
{
    if (m->t.esize == 0)
        m->t.esize = sizeof(struct u64pair);
}

void u64map_free(struct u64map *m)
{
    map_ready(m);
    u64tab_free(&m->t);
}

void *u64map_get(const struct u64map *m, uint64_t k)
{
    const struct u64pair *p = m->t.esize ? u64tab_get(&m->t, k) : NULL;
    return p ? p->val : NULL;
}

void u64map_put(struct u64map *m, uint64_t k, void *v)
{
    map_ready(m);
    struct u64pair *p = u64tab_get(&m->t, k);
    if (!p && !(p = u64tab_add(&m->t, k))) {
        LOG_ERROR("out of memory growing a table to %zu entries", m->t.count + 1);
        abort();
    }
    p->val = v;
}

void *u64map_del(struct u64map *m, uint64_t k)
{
    struct u64pair *p = m->t.esize ? u64tab_get(&m->t, k) : NULL;
    if (!p)
        return NULL;
    void *v = p->val;
    u64tab_del(&m->t, p);
    return v;
}
