/*
 * hdfs_open.c - the two builders of an open: hdfsStreamBuilder (create or
 * open with a 64-bit block size) and hdfsOpenFileBuilder with its
 * hdfsOpenFileFuture (Hadoop's asynchronous openFile()).
 *
 * The open-file "future" is complete when hdfsOpenFileBuilderBuild
 * returns: libdfs's open is a blocking call made right there, as HDFS's
 * own openFile() does it.  An error of the open itself is kept in the
 * future and reported by hdfsOpenFileFutureGet, as in Hadoop; a mandatory
 * option that is not understood fails the build.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "hdfs_i.h"

/* ----------------------------------------------------- stream builder */

struct hdfsStreamBuilder {
    hdfsFS fs;
    int flags;
    int32_t buffer_size;
    int16_t replication;
    int64_t block_size;
    char path[];
};

struct hdfsStreamBuilder *hdfsStreamBuilderAlloc(hdfsFS fs, const char *path, int flags)
{
    if (!fs || !path) {
        herr_fail(EINVAL, "hdfsStreamBuilderAlloc: no file system or path");
        return NULL;
    }
    size_t n = strlen(path) + 1;
    struct hdfsStreamBuilder *bld = calloc(1, sizeof(*bld) + n);
    if (!bld) {
        herr_fail(ENOMEM, "hdfsStreamBuilderAlloc(%s)", path);
        return NULL;
    }
    bld->fs = fs;
    bld->flags = flags;
    memcpy(bld->path, path, n);
    return bld;
}

void hdfsStreamBuilderFree(struct hdfsStreamBuilder *bld)
{
    free(bld);
}

/* Settings of new blocks only make sense for a writer: EINVAL else. */
static int check_writer_builder(const struct hdfsStreamBuilder *bld, const char *what)
{
    if (!bld)
        return herr_fail(EINVAL, "%s: no builder", what);
    if ((bld->flags & O_ACCMODE) != O_WRONLY)
        return herr_fail(EINVAL, "%s: the stream is not opened for writing", what);
    return 0;
}

int hdfsStreamBuilderSetBufferSize(struct hdfsStreamBuilder *bld, int32_t bufferSize)
{
    if (check_writer_builder(bld, "hdfsStreamBuilderSetBufferSize") != 0)
        return -1;
    bld->buffer_size = bufferSize;
    return 0;
}

int hdfsStreamBuilderSetReplication(struct hdfsStreamBuilder *bld, int16_t replication)
{
    if (check_writer_builder(bld, "hdfsStreamBuilderSetReplication") != 0)
        return -1;
    bld->replication = replication;
    return 0;
}

int hdfsStreamBuilderSetDefaultBlockSize(struct hdfsStreamBuilder *bld,
                                         int64_t defaultBlockSize)
{
    if (check_writer_builder(bld, "hdfsStreamBuilderSetDefaultBlockSize") != 0)
        return -1;
    bld->block_size = defaultBlockSize;
    return 0;
}

hdfsFile hdfsStreamBuilderBuild(struct hdfsStreamBuilder *bld)
{
    if (!bld) {
        herr_fail(EINVAL, "hdfsStreamBuilderBuild: no builder");
        return NULL;
    }
    hdfsFile f = hfile_open(bld->fs, bld->path, bld->flags, bld->buffer_size,
                            bld->replication, bld->block_size);
    int saved = errno;
    free(bld);
    errno = saved;
    return f;
}

/* -------------------------------------------------- open-file builder */

struct hopen_opt {
    struct hopen_opt *next;
    int must;
    char *key;
    char *value;
};

struct hdfsOpenFileBuilder {
    hdfsFS fs;
    char *path;
    struct hopen_opt *opts;
};

struct hdfsOpenFileFuture {
    hdfsFile file;              /* NULL once handed out, or on failure */
    int err;                    /* errno of a failed open, else 0 */
    int taken;
};

hdfsOpenFileBuilder *hdfsOpenFileBuilderAlloc(hdfsFS fs, const char *path)
{
    if (!fs || !path) {
        herr_fail(EINVAL, "hdfsOpenFileBuilderAlloc: no file system or path");
        return NULL;
    }
    hdfsOpenFileBuilder *b = calloc(1, sizeof(*b));
    if (!b || !(b->path = strdup(path))) {
        free(b);
        herr_fail(ENOMEM, "hdfsOpenFileBuilderAlloc(%s)", path);
        return NULL;
    }
    b->fs = fs;
    return b;
}

void hdfsOpenFileBuilderFree(hdfsOpenFileBuilder *builder)
{
    if (!builder)
        return;
    for (struct hopen_opt *o = builder->opts, *next; o; o = next) {
        next = o->next;
        free(o->key);
        free(o->value);
        free(o);
    }
    free(builder->path);
    free(builder);
}

/* Record one option; on failure the builder is freed (Hadoop's contract:
 * NULL means the builder is gone). */
static hdfsOpenFileBuilder *add_opt(hdfsOpenFileBuilder *b, int must, const char *key,
                                    const char *value)
{
    if (!b)
        return NULL;
    if (!key) {
        hdfsOpenFileBuilderFree(b);
        herr_fail(EINVAL, "hdfsOpenFileBuilder: no key");
        return NULL;
    }
    struct hopen_opt *o = calloc(1, sizeof(*o));
    if (!o || !(o->key = strdup(key)) || !(o->value = strdup(value ? value : ""))) {
        if (o) {
            free(o->key);
            free(o);
        }
        hdfsOpenFileBuilderFree(b);
        herr_fail(ENOMEM, "hdfsOpenFileBuilder(%s)", key);
        return NULL;
    }
    o->must = must;
    o->next = b->opts;
    b->opts = o;
    return b;
}

hdfsOpenFileBuilder *hdfsOpenFileBuilderMust(hdfsOpenFileBuilder *builder,
                                             const char *key, const char *value)
{
    return add_opt(builder, 1, key, value);
}

hdfsOpenFileBuilder *hdfsOpenFileBuilderOpt(hdfsOpenFileBuilder *builder,
                                            const char *key, const char *value)
{
    return add_opt(builder, 0, key, value);
}

/* Mandatory options understood (and, all being hints to dfs, followed by
 * reading as usual): Hadoop's standard openFile() options. */
static int known_key(const char *key)
{
    return !strncmp(key, "fs.option.openfile.", 19);
}

hdfsOpenFileFuture *hdfsOpenFileBuilderBuild(hdfsOpenFileBuilder *builder)
{
    if (!builder) {
        herr_fail(EINVAL, "hdfsOpenFileBuilderBuild: no builder");
        return NULL;
    }
    for (struct hopen_opt *o = builder->opts; o; o = o->next) {
        if (o->must && !known_key(o->key)) {
            herr_fail(EINVAL, "hdfsOpenFileBuilderBuild(%s): unknown mandatory key %s",
                      builder->path, o->key);
            hdfsOpenFileBuilderFree(builder);
            return NULL;
        }
    }
    hdfsOpenFileFuture *fut = calloc(1, sizeof(*fut));
    if (!fut) {
        hdfsOpenFileBuilderFree(builder);
        herr_fail(ENOMEM, "hdfsOpenFileBuilderBuild");
        return NULL;
    }
    fut->file = hfile_open(builder->fs, builder->path, O_RDONLY, 0, 0, 0);
    fut->err = fut->file ? 0 : errno;
    if (fut->file) {
        pthread_mutex_lock(&builder->fs->lock);
        fut->file->owner = &fut->file;
        pthread_mutex_unlock(&builder->fs->lock);
    }
    hdfsOpenFileBuilderFree(builder);
    errno = 0;
    return fut;
}

hdfsFile hdfsOpenFileFutureGet(hdfsOpenFileFuture *future)
{
    if (!future) {
        herr_fail(EINVAL, "hdfsOpenFileFutureGet: no future");
        return NULL;
    }
    if (future->err) {
        errno = future->err;       /* its message was recorded by the open */
        return NULL;
    }
    if (future->taken) {
        herr_fail(EINVAL, "hdfsOpenFileFutureGet: the file was already handed out");
        return NULL;
    }
    hdfsFile f = future->file;
    if (!f) {
        herr_fail(EBADF, "hdfsOpenFileFutureGet: its file system was disconnected");
        return NULL;
    }
    pthread_mutex_lock(&f->fs->lock);
    f->owner = NULL;
    pthread_mutex_unlock(&f->fs->lock);
    future->taken = 1;
    future->file = NULL;
    return f;
}

hdfsFile hdfsOpenFileFutureGetWithTimeout(hdfsOpenFileFuture *future, int64_t timeout,
                                          javaConcurrentTimeUnit timeUnit)
{
    (void)timeout;
    (void)timeUnit;
    return hdfsOpenFileFutureGet(future);
}

int hdfsOpenFileFutureCancel(hdfsOpenFileFuture *future, int mayInterruptIfRunning)
{
    (void)mayInterruptIfRunning;
    if (!future)
        return herr_fail(EINVAL, "hdfsOpenFileFutureCancel: no future");
    /* already complete: nothing to cancel */
    return herr_fail(EALREADY, "hdfsOpenFileFutureCancel: the open has completed");
}

void hdfsOpenFileFutureFree(hdfsOpenFileFuture *future)
{
    if (!future)
        return;
    if (future->file) {
        int saved = errno;
        future->file->owner = NULL;
        hdfsCloseFile(future->file->fs, future->file);
        errno = saved;
    }
    free(future);
}
