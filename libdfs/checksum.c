/*
 * checksum.c - XXH3-64 chunk checksums (see checksum.h).
 */
#include "checksum.h"
#include "frame.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

int dfs_chunk_size_valid(uint32_t cs)
{
    return cs >= DFS_CHUNK_MIN && cs <= DFS_CHUNK_MAX && (cs & (cs - 1)) == 0;
}

uint64_t dfs_checksum(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

void dfs_checksum_chunks_be(const void *data, size_t len, uint32_t chunk_size, uint8_t *out)
{
    const uint8_t *p = data;
    size_t i = 0;
    for (size_t off = 0; off < len; off += chunk_size, i++) {
        size_t n = len - off < chunk_size ? len - off : chunk_size;
        dfs_put_be64(out + 8 * i, XXH3_64bits(p + off, n));
    }
}

long dfs_checksum_verify_be(const void *data, size_t len, uint32_t chunk_size,
                            const uint8_t *sums)
{
    const uint8_t *p = data;
    long i = 0;
    for (size_t off = 0; off < len; off += chunk_size, i++) {
        size_t n = len - off < chunk_size ? len - off : chunk_size;
        if (XXH3_64bits(p + off, n) != dfs_get_be64(sums + 8 * i))
            return i;
    }
    return -1;
}
