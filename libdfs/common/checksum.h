/*
 * checksum.h - block checksums: XXH3-64 over fixed-size chunks.
 *
 * A block is cut into chunks of chunk_size bytes (the last may be short);
 * each chunk has one 64-bit XXH3 checksum (seed 0).  On disk (.meta files)
 * and on the wire (packets) checksums are big-endian.
 */
#ifndef DFS_CHECKSUM_H
#define DFS_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#define DFS_CSUM_XXH3_64 1          /* algorithm id in .meta headers */
#define DFS_CHUNK_MIN 512u
#define DFS_CHUNK_MAX (16u << 20)

/* 1 when chunk_size is a power of two in [DFS_CHUNK_MIN, DFS_CHUNK_MAX]. */
int dfs_chunk_size_valid(uint32_t chunk_size);
/* Number of chunks covering len bytes. */
static inline size_t dfs_nchunks(uint64_t len, uint32_t chunk_size)
{
    return (size_t)((len + chunk_size - 1) / chunk_size);
}

uint64_t dfs_checksum(const void *data, size_t len);
/* Checksum every chunk of data[len] into out[dfs_nchunks(len)], as
 * big-endian bytes (8 per chunk), ready for the wire or a .meta file. */
void dfs_checksum_chunks_be(const void *data, size_t len, uint32_t chunk_size, uint8_t *out);
/* Verify data[len] against big-endian sums.  Returns -1 when all match, or
 * the index of the first bad chunk. */
long dfs_checksum_verify_be(const void *data, size_t len, uint32_t chunk_size,
                            const uint8_t *sums);

#endif
