/*
 * u64map.h - a hash map from nonzero 64-bit keys (block ids, inode ids) to
 * pointers: open addressing, linear probing, backward-shift deletion (no
 * tombstones), grown at 70% load.  The one such table of the tree.
 *
 * A zeroed struct u64map is an empty map.  Key 0 is never stored (it marks
 * an empty slot).  Not thread-safe: the owner serializes access.  Daemon
 * code only: growing aborts on out-of-memory (xmalloc.h).
 */
#ifndef DFS_U64MAP_H
#define DFS_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct u64map {
    uint64_t *keys;         /* 0: empty */
    void **vals;
    size_t cap;             /* power of two; 0 before the first insert */
    size_t count;
};

/* Free the table (not the values); the map is empty again. */
void u64map_free(struct u64map *m);
/* The value of k, or NULL when absent (k == 0 is always absent). */
void *u64map_get(const struct u64map *m, uint64_t k);
/* Insert k -> v or replace the value of k.  k must not be 0. */
void u64map_put(struct u64map *m, uint64_t k, void *v);
/* Remove k: its value, or NULL when absent. */
void *u64map_del(struct u64map *m, uint64_t k);
/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->keys[i]) ...;
 * the map must not change meanwhile, except by u64map_del of the current
 * key, after which slot i must be looked at again (a later key may have
 * moved into it). */

#endif
