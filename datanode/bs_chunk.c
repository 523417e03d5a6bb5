/*
 * bs_chunk.c - I/O on a replica's two files shared by the block store's
 * rooms (blockstore.c, bs_rbw.c, bs_verify.c): whole preads and pwrites,
 * and the last chunk's checksum -- how many bytes of a replica written up
 * to a crash verify, and cutting a replica inside a chunk.  Calls nothing
 * of the store: the store's files call it.
 */
#include "blockstore.h"
#include "blockstore_i.h"
#include "checksum.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- whole reads and writes --------------------------------------------- */

/* 0 or -errno; a short write is retried (the next one reports ENOSPC). */
int bs_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

ssize_t bs_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, p + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* ---- checksums of the last chunk ------------------------------------ */

int bs_verified_len(int data_fd, int meta_fd, uint32_t chunk, uint64_t *len)
{
    struct stat ds, ms;
    uint8_t sum[8];
    if (fstat(data_fd, &ds) < 0 || fstat(meta_fd, &ms) < 0)
        return -errno;
    uint64_t nsums = (uint64_t)ms.st_size > DFS_META_HDR_LEN
                     ? ((uint64_t)ms.st_size - DFS_META_HDR_LEN) / 8 : 0;
    uint64_t bytes = (uint64_t)ds.st_size;
    if (bytes > nsums * chunk)
        bytes = nsums * chunk;
    if (bytes == 0) {
        *len = 0;
        return 0;
    }
    uint64_t ci = (bytes - 1) / chunk, off = ci * chunk;
    size_t n = (size_t)(bytes - off);
    uint8_t *buf = malloc(n);
    if (!buf)
        return -ENOMEM;
    ssize_t got = bs_pread_all(data_fd, buf, n, off);
    ssize_t sgot = got == (ssize_t)n ? bs_pread_all(meta_fd, sum, 8, DFS_META_HDR_LEN + 8 * ci)
                                     : 0;
    int rc = got < 0 ? (int)got : sgot < 0 ? (int)sgot : 0;
    if (rc == 0)
        *len = got == (ssize_t)n && sgot == 8 && dfs_checksum(buf, n) == dfs_get_be64(sum)
               ? bytes : off;
    free(buf);
    return rc;
}

int bs_recut_chunk(int data_fd, int meta_fd, uint32_t chunk, uint64_t length, uint64_t bytes,
                   const char *data_path)
{
    uint64_t ci = length / chunk, off = ci * chunk;
    size_t oldn = (size_t)(bytes - off < chunk ? bytes - off : chunk);
    uint8_t sum[8];
    uint8_t *buf = malloc(chunk);
    ssize_t n;
    int rc = 0;

    if (!buf)
        return -ENOMEM;
    if ((n = bs_pread_all(data_fd, buf, oldn, off)) != (ssize_t)oldn ||
        bs_pread_all(meta_fd, sum, 8, DFS_META_HDR_LEN + 8 * ci) != 8) {
        rc = n < 0 ? (int)n : -EIO;
        goto out;
    }
    if (dfs_checksum(buf, oldn) != dfs_get_be64(sum)) {
        LOG_ERROR("block store: %s: chunk %" PRIu64 " is corrupt; cannot cut it at %" PRIu64,
                  data_path, ci, length);
        rc = -EIO;
        goto out;
    }
    dfs_put_be64(sum, dfs_checksum(buf, (size_t)(length - off)));
    rc = bs_pwrite_all(meta_fd, sum, 8, DFS_META_HDR_LEN + 8 * ci);
out:
    free(buf);
    return rc;
}
