/*
 * blockstore_i.h - private to the block store: the .meta format and the
 * message helper shared by blockstore.c (the replica maps, their files,
 * writers, failed dirs) and bs_verify.c (re-reading a replica against its
 * checksums).  See blockstore.h for the layout on disk.
 */
#ifndef DN_BLOCKSTORE_I_H
#define DN_BLOCKSTORE_I_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "blockstore.h"
#include "checksum.h"
#include "frame.h"

/* Size of the .meta file of a replica of len bytes in chunks of chunk. */
static inline uint64_t bs_meta_size(uint64_t len, uint32_t chunk)
{
    return BS_META_HDR_LEN + 8 * (uint64_t)dfs_nchunks(len, chunk);
}

/* The 32-byte .meta header for chunk size chunk into h. */
static inline void bs_meta_header(uint8_t h[BS_META_HDR_LEN], uint32_t chunk)
{
    memset(h, 0, BS_META_HDR_LEN);
    dfs_put_be32(h, BS_META_MAGIC);
    dfs_put_be16(h + 4, BS_META_VERSION);
    dfs_put_be16(h + 6, DFS_CSUM_XXH3_64);
    dfs_put_be32(h + 8, chunk);
}

/* NULL and *chunk when the header is good, else what is wrong with it. */
static inline const char *bs_meta_header_check(const uint8_t h[BS_META_HDR_LEN], uint32_t *chunk)
{
    if (dfs_get_be32(h) != BS_META_MAGIC)
        return "bad meta magic";
    if (dfs_get_be16(h + 4) != BS_META_VERSION)
        return "unknown meta version";
    if (dfs_get_be16(h + 6) != DFS_CSUM_XXH3_64)
        return "unknown checksum algorithm";
    if (!dfs_chunk_size_valid(dfs_get_be32(h + 8)))
        return "invalid chunk size in meta header";
    for (size_t i = 12; i < BS_META_HDR_LEN; i++)
        if (h[i])
            return "nonzero reserved bytes in meta header";
    *chunk = dfs_get_be32(h + 8);
    return NULL;
}

/* printf into err[errsz] (the blockstore.h convention: err may be NULL). */
void bs_seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
