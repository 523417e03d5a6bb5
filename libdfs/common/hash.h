/*
 * hash.h - the 64-bit integer mixer the in-memory tables share.
 */
#ifndef DFS_HASH_H
#define DFS_HASH_H

#include <stdint.h>

/* MurmurHash3's finalizer: every input bit changes about half the output
 * bits, so sequential ids spread over a power-of-two table. */
static inline uint64_t dfs_mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

#endif
