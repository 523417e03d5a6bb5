/*
 * u64map.h - the hash tables keyed by nonzero 64-bit ids (block ids, inode
 * ids) of both daemons: open addressing, linear probing, backward-shift
 * deletion (no tombstones), at most 3/4 full.  The one such table of the
 * tree, in two forms:
 *
 *   struct u64tab  entries stored in the table itself, of any size, whose
 *                  first member is the uint64_t key (the datanode's
 *                  replica map keeps its records inline);
 *   struct u64map  key -> pointer, a u64tab of {key, value} pairs; a
 *                  zeroed struct u64map is an empty map.
 *
 * Key 0 is never stored (it marks an empty slot).  A pointer to an entry
 * is valid until the next add, reserve or delete.  Not thread-safe: the
 * owner serializes access.
 */
#ifndef DFS_U64MAP_H
#define DFS_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64tab {
    unsigned char *slots;   /* cap * esize bytes; NULL before the first add */
    size_t esize;           /* entry size, >= 8, key first */
    size_t cap;             /* power of two, or 0 */
    size_t count;
};

/* An empty table of entries of esize bytes. */
void u64tab_init(struct u64tab *t, size_t esize);
/* Free the slots; the table is empty again (esize kept). */
void u64tab_free(struct u64tab *t);
/* The entry of key, or NULL (key 0 is always absent). */
void *u64tab_get(const struct u64tab *t, uint64_t key);
/* Make room for `want` entries.  0, or -ENOMEM (the table is unchanged). */
int u64tab_reserve(struct u64tab *t, size_t want);
/* Add absent key (nonzero): its entry, zeroed but for the key, or NULL
 * when out of memory (the table is unchanged). */
void *u64tab_add(struct u64tab *t, uint64_t key);
/* Remove the entry e points to (from u64tab_get/u64tab_add/u64tab_at). */
void u64tab_del(struct u64tab *t, void *e);
/* Slot i (< t->cap): its entry, or NULL when empty.  To walk the table:
 * for (i = 0; i < t->cap; i++) if ((e = u64tab_at(t, i))) ...; after a
 * u64tab_del of the entry at i, look at slot i again (a later entry may
 * have moved into it). */
static inline void *u64tab_at(const struct u64tab *t, size_t i)
{
    void *e = t->slots + i * t->esize;
    return *(const uint64_t *)e ? e : NULL;
}

struct u64map {
    struct u64tab t;        /* of struct u64pair; zeroed: empty */
};
struct u64pair {
    uint64_t key;
    void *val;
};

/* Free the table (not the values); the map is empty again. */
void u64map_free(struct u64map *m);
/* The value of k, or NULL when absent. */
void *u64map_get(const struct u64map *m, uint64_t k);
/* Insert k -> v or replace the value of k.  k must not be 0.  Aborts when
 * out of memory (daemon code: xmalloc.h). */
void u64map_put(struct u64map *m, uint64_t k, void *v);
/* Remove k: its value, or NULL when absent. */
void *u64map_del(struct u64map *m, uint64_t k);
/* Entries, and slot i's pair or NULL (walk as with u64tab_at). */
static inline size_t u64map_count(const struct u64map *m) { return m->t.count; }
static inline size_t u64map_cap(const struct u64map *m) { return m->t.cap; }
static inline struct u64pair *u64map_at(const struct u64map *m, size_t i)
{
    return (struct u64pair *)u64tab_at(&m->t, i);
}

#endif
