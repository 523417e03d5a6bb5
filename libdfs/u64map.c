/*
 * u64map.c - hash map from nonzero 64-bit keys to pointers (u64map.h).
 */
#include <stdlib.h>
#include <string.h>

#include "u64map.h"
#include "hash.h"
#include "xmalloc.h"

static void grow(struct u64map *m);

static size_t hash64(uint64_t k)
{
    return (size_t)dfs_mix64(k);
}

void u64map_free(struct u64map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* Index of k's slot, or of the empty slot where it would go. */
static size_t map_slot(const struct u64map *m, uint64_t k)
{
    size_t mask = m->cap - 1, i = hash64(k) & mask;
    while (m->keys[i] != 0 && m->keys[i] != k)
        i = (i + 1) & mask;
    return i;
}

void *u64map_get(const struct u64map *m, uint64_t k)
{
    if (m->count == 0 || k == 0)
        return NULL;
    size_t i = map_slot(m, k);
    return m->keys[i] == k ? m->vals[i] : NULL;
}

static void grow(struct u64map *m)
{
    struct u64map old = *m;
    m->cap = old.cap ? 2 * old.cap : 16;
    m->keys = xcalloc(m->cap, sizeof(*m->keys));
    m->vals = xcalloc(m->cap, sizeof(*m->vals));
    m->count = 0;
    for (size_t i = 0; i < old.cap; i++)
        if (old.keys[i] != 0)
            u64map_put(m, old.keys[i], old.vals[i]);
    u64map_free(&old);
}

/* Insert or replace k. */
void u64map_put(struct u64map *m, uint64_t k, void *v)
{
    if ((m->count + 1) * 10 > m->cap * 7)
        grow(m);
    size_t i = map_slot(m, k);
    if (m->keys[i] == 0) {
        m->keys[i] = k;
        m->count++;
    }
    m->vals[i] = v;
}

/* Remove k; its value, or NULL when absent. */
void *u64map_del(struct u64map *m, uint64_t k)
{
    if (m->count == 0 || k == 0)
        return NULL;
    size_t mask = m->cap - 1, i = map_slot(m, k), j = i;
    if (m->keys[i] != k)
        return NULL;
    void *v = m->vals[i];
    m->keys[i] = 0;
    m->count--;
    /* Shift back the entries of the run that would no longer be found. */
    for (;;) {
        j = (j + 1) & mask;
        if (m->keys[j] == 0)
            break;
        size_t h = hash64(m->keys[j]) & mask;
        /* The entry at j stays when its home h lies cyclically in (i, j]. */
        int stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (stays)
            continue;
        m->keys[i] = m->keys[j];
        m->vals[i] = m->vals[j];
        m->keys[j] = 0;
        i = j;
    }
    return v;
}

