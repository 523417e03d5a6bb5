/*
 * xxh3-speed - how fast this machine computes dfs block checksums.
 *
 *   xxh3-speed [-s BUFSIZE] [-c CHUNK] [-t SECONDS] [--json]
 *
 * Times the library's own checksum function, dfs_checksum_chunks_be() (XXH3-64
 * per chunk, big-endian sums: what the writer, every datanode of a pipeline
 * and the reader compute for each packet), over a buffer of pseudo-random
 * bytes cut into CHUNK-byte chunks (default 16 KiB, the default chunk size).
 * Without -s two buffers are measured:
 *
 *   64 KiB   one packet, resident in cache (a packet just received)
 *   64 MiB   much larger than the caches: the bytes come from memory
 *
 * Each measurement repeats passes over the buffer for at least SECONDS
 * (default 1) after one untimed warm-up pass; MB/s = 10^6 bytes per second.
 * The implementation (AVX2 or SSE2 build of XXH3) is the one the library
 * picks at run time on this CPU.
 *
 * Output: one line per buffer size, or with --json one JSON object per line
 * ({"op":"xxh3","buffer":…,"chunk":…,"bytes":…,"seconds":…,"rate":…,
 * "unit":"MB/s"}).  Exit status: 0 success, 1 failure, 2 usage error.
 *
 * It links libdfs_internal because the checksum API is internal
 * (checksum.h); it is a measuring tool, not a user of the public API.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "config.h"

static const char *prog = "xxh3-speed";

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SIZE with an optional K, M, G or T suffix (dfs_parse_size), within
 * [min, max]. */
static int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return dfs_parse_size(s, out) == 0 && *out >= min && *out <= max ? 0 : -1;
}

/* Time dfs_checksum_chunks_be over buf[size] for at least secs seconds. */
static int measure(uint8_t *buf, size_t size, uint32_t chunk, double secs,
                   int json)
{
    size_t nsums = dfs_nchunks(size, chunk);
    uint8_t *sums = malloc(nsums * 8);
    uint64_t bytes = 0, passes = 0;
    volatile uint8_t sink = 0;
    double t0, t;

    if (!sums) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    dfs_checksum_chunks_be(buf, size, chunk, sums);  /* warm-up */
    t0 = now_s();
    do {
        /* Batch passes so the clock is read rarely on small buffers. */
        for (unsigned i = 0; i < (size < (1u << 20) ? 64u : 1u); i++) {
            dfs_checksum_chunks_be(buf, size, chunk, sums);
            sink ^= sums[0];
            bytes += size;
            passes++;
        }
        t = now_s() - t0;
    } while (t < secs);
    (void)sink;
    free(sums);

    if (json)
        printf("{\"op\":\"xxh3\",\"buffer\":%zu,\"chunk\":%u,\"passes\":%llu,"
               "\"bytes\":%llu,\"seconds\":%.6f,\"rate\":%.1f,\"unit\":\"MB/s\"}\n",
               size, chunk, (unsigned long long)passes,
               (unsigned long long)bytes, t, (double)bytes / t / 1e6);
    else
        printf("xxh3   buffer=%zu chunk=%u bytes=%llu seconds=%.3f rate=%.0f MB/s\n",
               size, chunk, (unsigned long long)bytes, t,
               (double)bytes / t / 1e6);
    fflush(stdout);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
        "usage: %s [-s BUFSIZE] [-c CHUNK] [-t SECONDS] [--json]\n"
        "  -s BUFSIZE  buffer to checksum (K/M/G suffixes; default: 64K and 64M)\n"
        "  -c CHUNK    bytes per checksum chunk (power of two, default 16K)\n"
        "  -t SECONDS  minimum time per measurement (default 1)\n"
        "  --json      one JSON object per measurement\n", prog);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "json", no_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    uint64_t sizes[2] = { 64u << 10, 64u << 20 }, chunk = 16u << 10, v;
    unsigned nsizes = 2;
    double secs = 1.0;
    int json = 0, ch, status = 0;
    uint64_t maxsize = 0, x = 0x9E3779B97F4A7C15ull;
    uint8_t *buf;
    char *end;

    while ((ch = getopt_long(argc, argv, "s:c:t:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 's':
            if (parse_size(optarg, 1, 4ull << 30, &v) != 0)
                goto bad_value;
            sizes[0] = v;
            nsizes = 1;
            break;
        case 'c':
            if (parse_size(optarg, DFS_CHUNK_MIN, DFS_CHUNK_MAX, &v) != 0 ||
                !dfs_chunk_size_valid((uint32_t)v))
                goto bad_value;
            chunk = v;
            break;
        case 't':
            errno = 0;
            secs = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(secs > 0.0 && secs <= 3600.0))
                goto bad_value;
            break;
        case 'J':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 2;
    }

    for (unsigned i = 0; i < nsizes; i++)
        if (sizes[i] > maxsize)
            maxsize = sizes[i];
    buf = malloc(maxsize);
    if (!buf) {
        fprintf(stderr, "%s: out of memory (%llu bytes)\n", prog,
                (unsigned long long)maxsize);
        return 1;
    }
    for (uint64_t i = 0; i < maxsize; i++) {  /* xorshift64: not compressible */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 32);
    }
    for (unsigned i = 0; i < nsizes && status == 0; i++)
        status = measure(buf, sizes[i], (uint32_t)chunk, secs, json);
    free(buf);
    return status;

bad_value:
    fprintf(stderr, "%s: -%c %s: bad value\n", prog, ch, optarg);
    return 2;
}
