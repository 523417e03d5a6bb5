/*
 * checksum.c - XXH3-64 chunk checksums (see checksum.h).
 */
#include "checksum.h"
#include "frame.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#ifdef DFS_HAVE_AVX2
uint64_t dfs_xxh3_avx2(const void *data, size_t len);

/* XXH3 of the portable build (SSE2 on x86-64). */
static uint64_t xxh3_generic(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

/* Chosen once, when the library is loaded: the AVX2 build on CPUs that
 * have it (about twice as fast on long inputs). */
static uint64_t (*xxh3)(const void *, size_t) = xxh3_generic;

__attribute__((constructor)) static void checksum_pick(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        xxh3 = dfs_xxh3_avx2;
}
#else
#define xxh3 XXH3_64bits
#endif

int dfs_chunk_size_valid(uint32_t cs)
{
    return cs >= DFS_CHUNK_MIN && cs <= DFS_CHUNK_MAX && (cs & (cs - 1)) == 0;
}

uint64_t dfs_checksum(const void *data, size_t len)
{
    return xxh3(data, len);
}

void dfs_checksum_chunks_be(const void *data, size_t len, uint32_t chunk_size, uint8_t *out)
{
    const uint8_t *p = data;
    size_t i = 0;
    for (size_t off = 0; off < len; off += chunk_size, i++) {
        size_t n = len - off < chunk_size ? len - off : chunk_size;
        dfs_put_be64(out + 8 * i, xxh3(p + off, n));
    }
}

long dfs_checksum_verify_be(const void *data, size_t len, uint32_t chunk_size,
                            const uint8_t *sums)
{
    const uint8_t *p = data;
    long i = 0;
    for (size_t off = 0; off < len; off += chunk_size, i++) {
        size_t n = len - off < chunk_size ? len - off : chunk_size;
        if (xxh3(p + off, n) != dfs_get_be64(sums + 8 * i))
            return i;
    }
    return -1;
}
