/*
 * hdfs_file.c - open files: hdfsOpenFile, reads, writes, positions,
 * flushes, hdfsCloseFile, read statistics and the hdfs_test.h hooks.
 *
 * A dfs file is a dfs_file of libdfs; a local one a file descriptor.  The
 * checks and errno values follow libhdfs: a read or write on a handle of
 * the other direction is EINVAL, a seek, flush or available on the wrong
 * kind of handle EBADF, a NULL handle EBADF.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hdfs_i.h"
#include "hdfs_test.h"

/* Mode of new files and of the parents a create makes: HDFS's defaults
 * (0666 and 0777 less the usual umask 022). */
#define HFILE_MODE 0644

hdfsFile hfile_open(hdfsFS fs, const char *path, int flags, int32_t bufsize,
                    int16_t replication, int64_t block_size)
{
    char abs[HPATH_MAX];
    int accmode = flags & O_ACCMODE;
    int rc;

    (void)bufsize;                 /* libdfs sizes its own buffers */
    if (!fs || !path) {
        herr_fail(EBADF, "hdfsOpenFile: no file system or path");
        return NULL;
    }
    if (accmode == O_RDWR) {
        herr_fail(ENOTSUP, "hdfsOpenFile(%s): O_RDWR is not supported", path);
        return NULL;
    }
    if (accmode != O_RDONLY && accmode != O_WRONLY) {
        herr_fail(EINVAL, "hdfsOpenFile(%s): bad access mode 0x%x", path, accmode);
        return NULL;
    }
    if (accmode == O_WRONLY && (replication < 0 || block_size < 0)) {
        herr_fail(EINVAL, "hdfsOpenFile(%s): negative replication or block size", path);
        return NULL;
    }
    if (hpath_absolute(fs, path, abs) != 0)
        return NULL;
    hdfsFile f = calloc(1, sizeof(*f));
    if (!f) {
        herr_fail(ENOMEM, "hdfsOpenFile(%s)", path);
        return NULL;
    }
    f->fs = fs;
    f->fd = -1;
    pthread_mutex_init(&f->lock, NULL);
    f->type = accmode == O_RDONLY ? HFILE_INPUT : HFILE_OUTPUT;
    if (fs->local) {
        if (hlocal_open(abs, flags, &f->fd) != 0)
            goto fail;
    } else if (accmode == O_RDONLY) {
        rc = dfs_open_read(fs->dfs, abs, &f->df);
        if (rc != DFS_OK) {
            herr_dfs(rc, "hdfsOpenFile(%s)", path);
            goto fail;
        }
        f->flags = HFILE_DIRECT_READ | HFILE_DIRECT_PREAD;
    } else if (flags & O_APPEND) {
        rc = dfs_open_append(fs->dfs, abs, &f->df);
        if (rc != DFS_OK) {
            herr_dfs(rc, "hdfsOpenFile(%s) for append", path);
            goto fail;
        }
    } else {
        rc = dfs_open_write(fs->dfs, abs, DFS_O_OVERWRITE | DFS_O_PARENTS, HFILE_MODE,
                            (unsigned)replication, (uint64_t)block_size, &f->df);
        if (rc != DFS_OK) {
            herr_dfs(rc, "hdfsOpenFile(%s) for writing", path);
            goto fail;
        }
    }
    hconn_track(fs, f);
    return f;
fail:;
    int saved = errno;
    pthread_mutex_destroy(&f->lock);
    free(f);
    errno = saved;
    return NULL;
}

hdfsFile hdfsOpenFile(hdfsFS fs, const char *path, int flags, int bufferSize,
                      short replication, tSize blocksize)
{
    return hfile_open(fs, path, flags, bufferSize, replication, blocksize);
}

int hdfsCloseFile(hdfsFS fs, hdfsFile file)
{
    int rc = 0;

    (void)fs;
    if (!file || !file->type)
        return herr_fail(EBADF, "hdfsCloseFile: no file");
    hconn_untrack(file->fs, file);
    if (file->df) {
        int r = dfs_close(file->df);
        if (r != DFS_OK)
            rc = herr_dfs(r, "hdfsCloseFile");
    } else if (file->fd >= 0) {
        if (close(file->fd) != 0)
            rc = herr_sys("hdfsCloseFile");
    }
    int saved = errno;
    file->type = 0;
    pthread_mutex_destroy(&file->lock);
    free(file);
    errno = saved;
    return rc;
}

int hdfsFileIsOpenForRead(hdfsFile file)
{
    return file && file->type == HFILE_INPUT;
}

int hdfsFileIsOpenForWrite(hdfsFile file)
{
    return file && file->type == HFILE_OUTPUT;
}

/* A usable reader, else -1 with errno (EBADF: none; EINVAL: a writer). */
static int check_reader(hdfsFile f, const char *what)
{
    if (!f || !f->type)
        return herr_fail(EBADF, "%s: no file", what);
    if (f->type != HFILE_INPUT)
        return herr_fail(EINVAL, "%s: the file is open for writing", what);
    return 0;
}

/* f must be of type t, else -1 with EBADF (libhdfs's answer for seek,
 * flush and available on the wrong kind of stream). */
static int check_type(hdfsFile f, enum hfile_type t, const char *what)
{
    if (!f || f->type != t)
        return herr_fail(EBADF, "%s: no file open for %s", what,
                         t == HFILE_INPUT ? "reading" : "writing");
    return 0;
}

tSize hdfsRead(hdfsFS fs, hdfsFile file, void *buffer, tSize length)
{
    (void)fs;
    if (length == 0)
        return 0;
    if (length < 0 || !buffer)
        return herr_fail(EINVAL, "hdfsRead: length %d", (int)length);
    if (check_reader(file, "hdfsRead") != 0)
        return -1;
    if (file->df) {
        pthread_mutex_lock(&file->lock);
        int64_t n = dfs_read(file->df, buffer, (size_t)length);
        pthread_mutex_unlock(&file->lock);
        if (n < 0)
            return herr_dfs((int)n, "hdfsRead");
        return (tSize)n;
    }
    ssize_t n;
    pthread_mutex_lock(&file->lock);
    do
        n = read(file->fd, buffer, (size_t)length);
    while (n < 0 && errno == EINTR);
    pthread_mutex_unlock(&file->lock);
    if (n < 0)
        return herr_sys("hdfsRead");
    return (tSize)n;
}

tSize hdfsPread(hdfsFS fs, hdfsFile file, tOffset position, void *buffer, tSize length)
{
    (void)fs;
    if (length == 0)
        return 0;
    if (length < 0 || !buffer)
        return herr_fail(EINVAL, "hdfsPread: length %d", (int)length);
    if (check_reader(file, "hdfsPread") != 0)
        return -1;
    if (position < 0)
        return herr_fail(EINVAL, "hdfsPread: position %lld", (long long)position);
    if (file->df) {
        pthread_mutex_lock(&file->lock);
        int64_t n = dfs_pread(file->df, buffer, (size_t)length, (uint64_t)position);
        pthread_mutex_unlock(&file->lock);
        if (n < 0)
            return herr_dfs((int)n, "hdfsPread at %lld", (long long)position);
        return (tSize)n;
    }
    ssize_t n;
    do
        n = pread(file->fd, buffer, (size_t)length, (off_t)position);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return herr_sys("hdfsPread at %lld", (long long)position);
    return (tSize)n;
}

int hdfsPreadFully(hdfsFS fs, hdfsFile file, tOffset position, void *buffer,
                   tSize length)
{
    tSize done = 0;

    if (length == 0)
        return 0;
    if (length < 0 || !buffer)
        return herr_fail(EINVAL, "hdfsPreadFully: length %d", (int)length);
    while (done < length) {
        tSize n = hdfsPread(fs, file, position + done, (char *)buffer + done,
                            length - done);
        if (n < 0)
            return -1;
        if (n == 0)      /* libhdfs reports the end of the file as EINTR */
            return herr_fail(EINTR, "hdfsPreadFully: end of file at %lld, %d bytes short",
                             (long long)(position + done), (int)(length - done));
        done += n;
    }
    return 0;
}

tSize hdfsWrite(hdfsFS fs, hdfsFile file, const void *buffer, tSize length)
{
    (void)fs;
    if (!file || !file->type)
        return herr_fail(EBADF, "hdfsWrite: no file");
    if (length < 0)
        return herr_fail(EINVAL, "hdfsWrite: length %d", (int)length);
    if (file->type != HFILE_OUTPUT)
        return herr_fail(EINVAL, "hdfsWrite: the file is open for reading");
    if (length == 0)
        return 0;
    if (!buffer)
        return herr_fail(EINVAL, "hdfsWrite: no buffer");
    if (file->df) {
        pthread_mutex_lock(&file->lock);
        int rc = dfs_write(file->df, buffer, (size_t)length);
        pthread_mutex_unlock(&file->lock);
        if (rc != DFS_OK)
            return herr_dfs(rc, "hdfsWrite");
        return length;
    }
    size_t off = 0;
    pthread_mutex_lock(&file->lock);
    while (off < (size_t)length) {
        ssize_t n = write(file->fd, (const char *)buffer + off, (size_t)length - off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            pthread_mutex_unlock(&file->lock);
            errno = e;
            return herr_sys("hdfsWrite");
        }
        off += (size_t)n;
    }
    pthread_mutex_unlock(&file->lock);
    return length;
}

int hdfsSeek(hdfsFS fs, hdfsFile file, tOffset desiredPos)
{
    (void)fs;
    if (check_type(file, HFILE_INPUT, "hdfsSeek") != 0)
        return -1;
    if (desiredPos < 0)
        return herr_fail(EINVAL, "hdfsSeek: negative position %lld",
                         (long long)desiredPos);
    uint64_t len;
    int rc = DFS_OK, e = 0;
    pthread_mutex_lock(&file->lock);
    if (file->df) {
        len = dfs_file_length(file->df);
        if ((uint64_t)desiredPos <= len)
            rc = dfs_seek(file->df, (uint64_t)desiredPos);
    } else {
        struct stat st;
        len = fstat(file->fd, &st) == 0 ? (uint64_t)st.st_size : UINT64_MAX;
        if ((uint64_t)desiredPos <= len &&
            lseek(file->fd, (off_t)desiredPos, SEEK_SET) < 0)
            e = errno;
    }
    pthread_mutex_unlock(&file->lock);
    if ((uint64_t)desiredPos > len)
        return herr_fail(EINVAL, "hdfsSeek: %lld is past the end of the file (%llu)",
                         (long long)desiredPos, (unsigned long long)len);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsSeek to %lld", (long long)desiredPos);
    if (e)
        return herr_fail(e, "hdfsSeek to %lld", (long long)desiredPos);
    return 0;
}

tOffset hdfsTell(hdfsFS fs, hdfsFile file)
{
    (void)fs;
    if (!file || !file->type)
        return herr_fail(EBADF, "hdfsTell: no file");
    pthread_mutex_lock(&file->lock);
    off_t pos = file->df ? (off_t)dfs_tell(file->df) : lseek(file->fd, 0, SEEK_CUR);
    int e = errno;
    pthread_mutex_unlock(&file->lock);
    if (pos < 0)
        return herr_fail(e, "hdfsTell");
    return (tOffset)pos;
}

int hdfsFlush(hdfsFS fs, hdfsFile file)
{
    (void)fs;
    /* Like Hadoop's flush(): the bytes are already out of libhdfs's hands
     * (queued to the pipeline, or written to the descriptor); visibility
     * to readers is hdfsHFlush's job. */
    return check_type(file, HFILE_OUTPUT, "hdfsFlush");
}

int hdfsHFlush(hdfsFS fs, hdfsFile file)
{
    (void)fs;
    if (check_type(file, HFILE_OUTPUT, "hdfsHFlush") != 0)
        return -1;
    if (file->df) {
        pthread_mutex_lock(&file->lock);
        int rc = dfs_hflush(file->df);
        pthread_mutex_unlock(&file->lock);
        if (rc != DFS_OK)
            return herr_dfs(rc, "hdfsHFlush");
    }
    return 0;
}

int hdfsHSync(hdfsFS fs, hdfsFile file)
{
    (void)fs;
    if (check_type(file, HFILE_OUTPUT, "hdfsHSync") != 0)
        return -1;
    pthread_mutex_lock(&file->lock);
    int rc = file->df ? dfs_hsync(file->df) : DFS_OK;
    int e = !file->df && fsync(file->fd) != 0 ? errno : 0;
    pthread_mutex_unlock(&file->lock);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsHSync");
    if (e)
        return herr_fail(e, "hdfsHSync");
    return 0;
}

int hdfsAvailable(hdfsFS fs, hdfsFile file)
{
    uint64_t len, pos;

    (void)fs;
    if (check_type(file, HFILE_INPUT, "hdfsAvailable") != 0)
        return -1;
    pthread_mutex_lock(&file->lock);
    if (file->df) {
        len = dfs_file_length(file->df);
        pos = dfs_tell(file->df);
    } else {
        struct stat st;
        off_t cur = lseek(file->fd, 0, SEEK_CUR);
        if (cur < 0 || fstat(file->fd, &st) != 0) {
            int e = errno;
            pthread_mutex_unlock(&file->lock);
            return herr_fail(e, "hdfsAvailable");
        }
        len = (uint64_t)st.st_size;
        pos = (uint64_t)cur;
    }
    pthread_mutex_unlock(&file->lock);
    uint64_t left = pos < len ? len - pos : 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int hdfsUnbufferFile(hdfsFile file)
{
    if (!file || file->type != HFILE_INPUT) {
        herr_fail(ENOTSUP, "hdfsUnbufferFile: not a file open for reading");
        return ENOTSUP;
    }
    errno = 0;                     /* nothing held beyond the next read */
    return 0;
}

/* ---------------------------------------------------- read statistics */

int hdfsFileGetReadStatistics(hdfsFile file, struct hdfsReadStatistics **stats)
{
    struct dfs_read_stats rs;

    if (!file || !stats)
        return herr_fail(EINVAL, "hdfsFileGetReadStatistics: no file");
    if (file->type != HFILE_INPUT)
        return herr_fail(EINVAL, "hdfsFileGetReadStatistics: not open for reading");
    if (!file->df)
        return herr_fail(ENOTSUP, "hdfsFileGetReadStatistics: a local file");
    pthread_mutex_lock(&file->lock);
    int rc = dfs_get_read_stats(file->df, &rs);
    pthread_mutex_unlock(&file->lock);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsFileGetReadStatistics");
    struct hdfsReadStatistics *s = malloc(sizeof(*s));
    if (!s)
        return herr_fail(ENOMEM, "hdfsFileGetReadStatistics");
    s->totalBytesRead = rs.bytes_read;
    s->totalLocalBytesRead = rs.local_bytes_read;
    s->totalShortCircuitBytesRead = rs.short_circuit_bytes_read;
    s->totalZeroCopyBytesRead = rs.zero_copy_bytes_read;
    *stats = s;
    return 0;
}

int64_t hdfsReadStatisticsGetRemoteBytesRead(const struct hdfsReadStatistics *stats)
{
    return (int64_t)(stats->totalBytesRead - stats->totalLocalBytesRead);
}

int hdfsFileClearReadStatistics(hdfsFile file)
{
    if (!file || file->type != HFILE_INPUT) {
        herr_fail(EINVAL, "hdfsFileClearReadStatistics: not open for reading");
        return EINVAL;
    }
    if (!file->df) {
        herr_fail(ENOTSUP, "hdfsFileClearReadStatistics: a local file");
        return ENOTSUP;
    }
    pthread_mutex_lock(&file->lock);
    dfs_clear_read_stats(file->df);
    pthread_mutex_unlock(&file->lock);
    return 0;
}

void hdfsFileFreeReadStatistics(struct hdfsReadStatistics *stats)
{
    free(stats);
}

/* ---------------------------------------------------- hdfs_test.h hooks */

/* hdfs_test.h declares these without LIBHDFS_EXTERNAL (as Hadoop's does),
 * yet programs linked against Hadoop's libhdfs.so may call them. */
#define HDFS_TEST_EXPORT __attribute__((visibility("default")))

HDFS_TEST_EXPORT
int hdfsFileUsesDirectRead(struct hdfsFile_internal *file)
{
    return file && (file->flags & HFILE_DIRECT_READ) ? 1 : 0;
}

HDFS_TEST_EXPORT
void hdfsFileDisableDirectRead(struct hdfsFile_internal *file)
{
    if (file)
        file->flags &= ~HFILE_DIRECT_READ;
}

HDFS_TEST_EXPORT
int hdfsFileUsesDirectPread(struct hdfsFile_internal *file)
{
    return file && (file->flags & HFILE_DIRECT_PREAD) ? 1 : 0;
}

HDFS_TEST_EXPORT
void hdfsFileDisableDirectPread(struct hdfsFile_internal *file)
{
    if (file)
        file->flags &= ~HFILE_DIRECT_PREAD;
}

HDFS_TEST_EXPORT
int hdfsDisableDomainSocketSecurity(void)
{
    return 0;
}
