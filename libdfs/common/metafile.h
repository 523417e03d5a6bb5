/*
 * metafile.h - the format of a replica's .meta file, shared by the
 * datanode's block store (which writes and checks them) and the client's
 * short-circuit reader (which reads the checksums itself).
 *
 * A .meta file is a 32-byte header -- magic "DFSM" (be32), version 1
 * (be16), algorithm DFS_CSUM_XXH3_64 (be16), chunk size (be32), 20 zero
 * bytes -- followed by one big-endian XXH3-64 checksum (8 bytes) per chunk
 * of the data file: chunk i's checksum sits at DFS_META_HDR_LEN + 8 * i.
 */
#ifndef DFS_METAFILE_H
#define DFS_METAFILE_H

#include <stdint.h>
#include <string.h>

#include "checksum.h"
#include "frame.h"

#define DFS_META_MAGIC    0x4446534du    /* "DFSM" */
#define DFS_META_VERSION  1
#define DFS_META_HDR_LEN  32u

/* Size of the .meta file of a replica of len bytes in chunks of chunk. */
static inline uint64_t dfs_meta_size(uint64_t len, uint32_t chunk)
{
    return DFS_META_HDR_LEN + 8 * (uint64_t)dfs_nchunks(len, chunk);
}

/* The 32-byte .meta header for chunk size chunk into h. */
static inline void dfs_meta_header(uint8_t h[DFS_META_HDR_LEN], uint32_t chunk)
{
    memset(h, 0, DFS_META_HDR_LEN);
    dfs_put_be32(h, DFS_META_MAGIC);
    dfs_put_be16(h + 4, DFS_META_VERSION);
    dfs_put_be16(h + 6, DFS_CSUM_XXH3_64);
    dfs_put_be32(h + 8, chunk);
}

/* NULL and *chunk when the header is good, else what is wrong with it. */
static inline const char *dfs_meta_header_check(const uint8_t h[DFS_META_HDR_LEN],
                                                uint32_t *chunk)
{
    if (dfs_get_be32(h) != DFS_META_MAGIC)
        return "bad meta magic";
    if (dfs_get_be16(h + 4) != DFS_META_VERSION)
        return "unknown meta version";
    if (dfs_get_be16(h + 6) != DFS_CSUM_XXH3_64)
        return "unknown checksum algorithm";
    if (!dfs_chunk_size_valid(dfs_get_be32(h + 8)))
        return "invalid chunk size in meta header";
    for (size_t i = 12; i < DFS_META_HDR_LEN; i++)
        if (h[i])
            return "nonzero reserved bytes in meta header";
    *chunk = dfs_get_be32(h + 8);
    return NULL;
}

#endif
