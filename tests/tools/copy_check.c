/*
 * copy_check.c - integration-test helper for datanode/dn_copy.c: stores a
 * local file as a finalized replica in a block store of its own, then
 * copies that replica to real datanodes with dn_copy_block, the function
 * the datanode's copy threads run for CMD_REPLICATE.
 *
 *   dfs-copy-check -d DATADIR [-c CHUNK] [-g GS] [-x OFFSET] [-A GS] [-L LEN] [-C]
 *                  ID LOCAL HOST:PORT...
 *   dfs-copy-check -S -d DATADIR [-c CHUNK] [-g GS] ID LOCAL
 *
 * -d   data dir of the source store (created; must not hold replica ID)
 * -c   chunk size of the replica (default 16384)
 * -g   its generation stamp (default 1)
 * -x   after storing, flip the byte at OFFSET of the data file (a corrupt
 *      source: its stored checksums no longer match)
 * -A, -L  genstamp / length the copy asks for (default: the replica's)
 * -C   cold source: drop the stored replica from the page cache before
 *      copying (to measure a copy that reads the disk)
 * -S   store only: leave the replica in DATADIR (a datanode's data dir to
 *      be) and print "stored BYTES"
 * The targets form the pipeline in the order given.
 *
 * Prints "corrupt blk_ID gs GS: REASON" when the on_corrupt callback
 * fires, then one of "copied BYTES bytes in MS ms (RATE MB/s)", "skipped:
 * MSG", "corrupt: MSG", "failed: MSG".  The source store's log lines go
 * to stderr.  Exit 0 when copied, 1 when not, 2 on usage errors, 3 when
 * the source replica cannot be made.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blockstore.h"
#include "checksum.h"
#include "config.h"
#include "dn_copy.h"
#include "log.h"
#include "log_sink.h"

#define PIECE (1u << 20)

static int usage(void)
{
    fprintf(stderr, "usage: dfs-copy-check -d DATADIR [-c CHUNK] [-g GS] [-x OFFSET] "
                    "[-A GS] [-L LEN] [-C] ID LOCAL HOST:PORT...\n"
                    "       dfs-copy-check -S -d DATADIR [-c CHUNK] [-g GS] ID LOCAL\n");
    return 2;
}

static void on_corrupt(uint64_t id, uint64_t gs, const char *reason, void *arg)
{
    int *fired = arg;
    (*fired)++;
    printf("corrupt blk_%llu gs %llu: %s\n", (unsigned long long)id, (unsigned long long)gs,
           reason);
    fflush(stdout);
}

/* Store LOCAL as finalized replica (id, gs).  Its length, or -1. */
static long long store(struct bs *bs, uint64_t id, uint64_t gs, uint32_t chunk,
                       const char *local)
{
    char err[512];
    int fd = open(local, O_RDONLY);
    if (fd < 0) {
        perror(local);
        return -1;
    }
    struct bs_writer *w = bs_writer_create(bs, id, gs, chunk, err, sizeof(err));
    if (!w) {
        fprintf(stderr, "dfs-copy-check: %s\n", err);
        close(fd);
        return -1;
    }
    size_t piece = chunk > PIECE ? chunk : PIECE;
    uint8_t *buf = malloc(piece), *sums = malloc(8 * dfs_nchunks(piece, chunk));
    uint64_t off = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = bs_pread_all(fd, buf, piece, off);
        if (n < 0) {
            fprintf(stderr, "dfs-copy-check: %s: %s\n", local, strerror((int)-n));
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        dfs_checksum_chunks_be(buf, (size_t)n, chunk, sums);
        rc = bs_writer_write(w, off, buf, (size_t)n, sums, dfs_nchunks((uint64_t)n, chunk));
        if (rc < 0) {
            fprintf(stderr, "dfs-copy-check: writing the replica: %s\n", strerror(-rc));
            break;
        }
        off += (uint64_t)n;
    }
    free(buf);
    free(sums);
    close(fd);
    if (rc < 0) {
        bs_writer_abort(w);
        return -1;
    }
    rc = bs_writer_finalize(w, off);
    if (rc < 0) {
        fprintf(stderr, "dfs-copy-check: finalizing the replica: %s\n", strerror(-rc));
        return -1;
    }
    return (long long)off;
}

static void data_path(char *path, size_t sz, const char *dir, uint64_t id)
{
    snprintf(path, sz, "%s/finalized/subdir%u/subdir%u/blk_%llu", dir,
             (unsigned)((id >> 16) & 0x1f), (unsigned)((id >> 8) & 0x1f),
             (unsigned long long)id);
}

/* Drop the stored data file of replica id from the page cache. */
static void drop_cache(const char *dir, uint64_t id)
{
    char path[4096];
    data_path(path, sizeof(path), dir, id);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

/* Flip one byte of the stored data file of replica id. */
static int flip(const char *dir, uint64_t id, unsigned long long at)
{
    char path[4096];
    data_path(path, sizeof(path), dir, id);
    int fd = open(path, O_RDWR);
    unsigned char b;
    if (fd < 0 || pread(fd, &b, 1, (off_t)at) != 1) {
        fprintf(stderr, "dfs-copy-check: %s: cannot read byte %llu\n", path, at);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    b ^= 0xff;
    int ok = pwrite(fd, &b, 1, (off_t)at) == 1 && fsync(fd) == 0;
    close(fd);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    unsigned long long chunk = 16384, gs = 1, ask_gs = 0, ask_len = 0, flip_at = 0;
    int have_flip = 0, have_ask_gs = 0, have_ask_len = 0, cold = 0, store_only = 0, ch;

    while ((ch = getopt(argc, argv, "d:c:g:x:A:L:CS")) != -1) {
        switch (ch) {
        case 'd': dir = optarg; break;
        case 'c': chunk = strtoull(optarg, NULL, 10); break;
        case 'g': gs = strtoull(optarg, NULL, 10); break;
        case 'x': flip_at = strtoull(optarg, NULL, 10); have_flip = 1; break;
        case 'A': ask_gs = strtoull(optarg, NULL, 10); have_ask_gs = 1; break;
        case 'L': ask_len = strtoull(optarg, NULL, 10); have_ask_len = 1; break;
        case 'C': cold = 1; break;
        case 'S': store_only = 1; break;
        default: return usage();
        }
    }
    if (!dir || argc - optind < (store_only ? 2 : 3) || !dfs_chunk_size_valid((uint32_t)chunk) ||
        chunk > UINT32_MAX)
        return usage();
    uint64_t id = strtoull(argv[optind], NULL, 10);
    const char *local = argv[optind + 1];
    size_t nt = (size_t)(argc - optind - 2);
    Dfs__DatanodeId *ids = calloc(nt, sizeof(*ids));
    Dfs__DatanodeId **ptrs = calloc(nt, sizeof(*ptrs));
    char (*hosts)[256] = calloc(nt, sizeof(*hosts));
    for (size_t i = 0; i < nt; i++) {
        unsigned port;
        if (dfs_parse_hostport(argv[optind + 2 + (int)i], hosts[i], sizeof(hosts[i]),
                               &port) != 0 || port == 0)
            return usage();
        dfs__datanode_id__init(&ids[i]);
        ids[i].storage_id = (char *)"";
        ids[i].host = hosts[i];
        ids[i].port = port;
        ptrs[i] = &ids[i];
    }

    dfs_log_set_component("copy-check");
    dfs_log_set_sink(dfs_log_stderr_sink, NULL);
    dfs_log_set_level(DFS_LOG_INFO);

    char err[1024];
    const char *dirs[1] = { dir };
    struct bs *bs = bs_open(dirs, 1, 0, err, sizeof(err));
    if (!bs) {
        fprintf(stderr, "dfs-copy-check: %s\n", err);
        return 3;
    }
    long long len = store(bs, id, gs, (uint32_t)chunk, local);
    if (len < 0 || (have_flip && flip(dir, id, flip_at) != 0)) {
        bs_close(bs);
        return 3;
    }
    if (store_only) {
        printf("stored %lld\n", len);
        bs_close(bs);
        free(ids);
        free(ptrs);
        free(hosts);
        return 0;
    }
    if (cold)
        drop_cache(dir, id);

    int fired = 0;
    struct dn_copy_opts o = { .on_corrupt = on_corrupt, .corrupt_arg = &fired };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum dn_copy_result r = dn_copy_block(bs, id, have_ask_gs ? ask_gs : gs,
                                          have_ask_len ? ask_len : (uint64_t)len, ptrs, nt,
                                          &o, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    switch (r) {
    case DN_COPY_OK:
        printf("copied %lld bytes in %.0f ms (%.1f MB/s)\n", len, s * 1000,
               s > 0 ? (double)len / s / 1e6 : 0.0);
        break;
    case DN_COPY_SKIPPED:
        printf("skipped: %s\n", err);
        break;
    case DN_COPY_CORRUPT:
        printf("corrupt: %s\n", err);
        break;
    default:
        printf("failed: %s\n", err);
        break;
    }
    bs_close(bs);
    free(ids);
    free(ptrs);
    free(hosts);
    return r == DN_COPY_OK ? 0 : 1;
}
