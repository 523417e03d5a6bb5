/*
 * hdfs_rz.c - hadoopRz*: Hadoop's "zero-copy" reads, served from ordinary
 * buffers.
 *
 * Hadoop maps a local replica's block file when it can and otherwise
 * falls back to a buffer from the caller's ByteBufferPool, failing with
 * EPROTONOSUPPORT when no pool was named.  dfs has no mapped path, so
 * every read is the fallback, with Hadoop's rule: a pool must be named
 * (any name: the buffers are malloc'd, not pooled); the bytes are read at
 * the file's position into a buffer that hadoopRzBufferFree releases.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hdfs_i.h"

struct hadoopRzOptions {
    int skip_checksums;         /* accepted; dfs always verifies */
    char *pool;                 /* the pool class named, or NULL */
};

struct hadoopRzBuffer {
    void *data;                 /* NULL at the end of the file */
    int32_t length;
};

struct hadoopRzOptions *hadoopRzOptionsAlloc(void)
{
    struct hadoopRzOptions *o = calloc(1, sizeof(*o));
    if (!o)
        herr_fail(ENOMEM, "hadoopRzOptionsAlloc");
    return o;
}

int hadoopRzOptionsSetSkipChecksum(struct hadoopRzOptions *opts, int skip)
{
    if (!opts)
        return herr_fail(EINVAL, "hadoopRzOptionsSetSkipChecksum: no options");
    opts->skip_checksums = !!skip;
    return 0;
}

int hadoopRzOptionsSetByteBufferPool(struct hadoopRzOptions *opts, const char *className)
{
    if (!opts)
        return herr_fail(EINVAL, "hadoopRzOptionsSetByteBufferPool: no options");
    char *copy = NULL;
    if (className && !(copy = strdup(className)))
        return herr_fail(ENOMEM, "hadoopRzOptionsSetByteBufferPool");
    free(opts->pool);
    opts->pool = copy;
    return 0;
}

void hadoopRzOptionsFree(struct hadoopRzOptions *opts)
{
    if (!opts)
        return;
    free(opts->pool);
    free(opts);
}

struct hadoopRzBuffer *hadoopReadZero(hdfsFile file, struct hadoopRzOptions *opts,
                                      int32_t maxLength)
{
    if (!file || !opts) {
        herr_fail(EINVAL, "hadoopReadZero: no file or options");
        return NULL;
    }
    if (file->type != HFILE_INPUT) {
        herr_fail(EINVAL, "hadoopReadZero: the file is not open for reading");
        return NULL;
    }
    if (maxLength < 0) {
        herr_fail(EINVAL, "hadoopReadZero: length %d", (int)maxLength);
        return NULL;
    }
    if (!opts->pool) {
        herr_fail(EPROTONOSUPPORT, "hadoopReadZero: no memory-mapped read in dfs and "
                  "no ByteBufferPool named (hadoopRzOptionsSetByteBufferPool)");
        return NULL;
    }
    struct hadoopRzBuffer *b = calloc(1, sizeof(*b));
    /* a zero-length read still has data (of length 0), as in Hadoop */
    if (!b || !(b->data = malloc(maxLength > 0 ? (size_t)maxLength : 1))) {
        free(b);
        herr_fail(ENOMEM, "hadoopReadZero");
        return NULL;
    }
    tSize n = maxLength > 0 ? hdfsRead(file->fs, file, b->data, maxLength) : 0;
    if (n < 0) {
        int saved = errno;
        free(b->data);
        free(b);
        errno = saved;
        return NULL;
    }
    if (n == 0 && maxLength > 0) {    /* end of the file: no data */
        free(b->data);
        b->data = NULL;
    }
    b->length = n;
    errno = 0;
    return b;
}

int32_t hadoopRzBufferLength(const struct hadoopRzBuffer *buffer)
{
    return buffer ? buffer->length : 0;
}

const void *hadoopRzBufferGet(const struct hadoopRzBuffer *buffer)
{
    return buffer ? buffer->data : NULL;
}

void hadoopRzBufferFree(hdfsFile file, struct hadoopRzBuffer *buffer)
{
    (void)file;
    if (!buffer)
        return;
    free(buffer->data);
    free(buffer);
}
