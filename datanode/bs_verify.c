/*
 * bs_verify.c - the block store's verification of a finalized replica:
 * its meta header and file sizes (bs_check_replica) and every chunk
 * against its stored checksum (bs_verify_chunks, bs_verify); see
 * blockstore.h.  Only reads: it uses the store through its public calls
 * (bs_lookup, bs_open_replica, bs_read_sums), so it takes no lock itself.
 */
#include "blockstore.h"
#include "blockstore_i.h"
#include "checksum.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define VERIFY_BUF (1u << 20)   /* bytes bs_verify reads at once */

int bs_check_replica(const struct bs_replica *r, uint64_t id, char *err, size_t errsz)
{
    struct stat ds, ms;
    uint8_t h[DFS_META_HDR_LEN];
    uint32_t chunk = 0;
    const char *bad;

    if (fstat(r->data_fd, &ds) < 0 || fstat(r->meta_fd, &ms) < 0) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": fstat: %s", id, strerror(errno));
        return -1;
    }
    if (bs_pread_all(r->meta_fd, h, sizeof h, 0) != (ssize_t)sizeof h) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": meta header unreadable", id);
        return 1;
    }
    if ((bad = dfs_meta_header_check(h, &chunk)) || chunk != r->chunk_size) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": %s", id, bad ? bad : "chunk size changed");
        return 1;
    }
    if ((uint64_t)ds.st_size != r->length ||
        (uint64_t)ms.st_size != dfs_meta_size(r->length, chunk)) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": data size %jd, meta size %jd, expected %" PRIu64
                  " and %" PRIu64, id, (intmax_t)ds.st_size, (intmax_t)ms.st_size, r->length,
                  dfs_meta_size(r->length, chunk));
        return 1;
    }
    return 0;
}

int bs_verify_chunks(const struct bs_replica *r, uint64_t id, uint64_t first, size_t n,
                     void *buf, uint8_t *sums, uint64_t *bad, char *err, size_t errsz)
{
    uint64_t chunk = r->chunk_size, off = first * chunk;
    if (first > dfs_nchunks(r->length, r->chunk_size) ||
        n > dfs_nchunks(r->length, r->chunk_size) - first) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": chunks %" PRIu64 "+%zu out of range", id, first, n);
        return -1;
    }
    size_t len = (size_t)(r->length - off < n * chunk ? r->length - off : n * chunk);
    ssize_t got = bs_pread_all(r->data_fd, buf, len, off);
    int s = bs_read_sums(r, first, n, sums);
    *bad = first;
    if (got != (ssize_t)len || s < 0) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": read error near chunk %" PRIu64 ": %s", id, first,
                  got < 0 ? strerror((int)-got) : s < 0 ? strerror(-s) : "short read");
        return 1;
    }
    long badc = dfs_checksum_verify_be(buf, len, r->chunk_size, sums);
    if (badc < 0)
        return 0;
    *bad = first + (uint64_t)badc;
    bs_seterr(err, errsz, "blk_%" PRIu64 ": checksum mismatch in chunk %" PRIu64 " (bytes %" PRIu64
              "..)", id, *bad, *bad * chunk);
    return 1;
}

int bs_verify(struct bs *bs, uint64_t id, char *err, size_t errsz)
{
    struct bs_replica r;
    uint64_t gs, bad;
    uint8_t *buf = NULL, *sums = NULL;

    if (!bs_lookup(bs, id, &gs, NULL)) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " not found", id);
        return -1;
    }
    int rc = bs_open_replica(bs, id, gs, &r, err, errsz);
    if (rc == -ENOENT || rc == -ESTALE) {
        /* still in the map with that gs: its files are missing */
        uint64_t gs2;
        return bs_lookup(bs, id, &gs2, NULL) && gs2 == gs ? 1 : -1;
    }
    if (rc < 0 || (rc = bs_check_replica(&r, id, err, errsz)) != 0)
        goto out;
    size_t per = r.chunk_size >= VERIFY_BUF ? 1 : VERIFY_BUF / r.chunk_size;
    if (!(buf = malloc((size_t)r.chunk_size * per)) || !(sums = malloc(8 * per))) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": out of memory", id);
        rc = -1;
        goto out;
    }
    uint64_t nchunks = dfs_nchunks(r.length, r.chunk_size);
    for (uint64_t c = 0; c < nchunks && rc == 0; c += per)
        rc = bs_verify_chunks(&r, id, c, (size_t)(nchunks - c < per ? nchunks - c : per), buf,
                              sums, &bad, err, errsz);
out:
    free(sums);
    free(buf);
    bs_close_replica(&r);
    return rc < 0 ? -1 : rc;
}
