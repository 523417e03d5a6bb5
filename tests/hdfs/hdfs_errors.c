/*
 * hdfs_errors.c - libhdfs's failures: the return value, errno on every
 * failure (the checks clear errno before each call), nothing changed by a
 * refused call, and hdfsGetLastExceptionRootCause/StackTrace giving the
 * calling thread's last message.
 *
 *   hdfs_errors NAMENODE [LOCALDIR]
 */
#include <pthread.h>

#include "expect.h"

static const char *base = "/libhdfs/errors";
static hdfsFS fs;

static void p(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", base, name);
}

static void test_open(void)
{
    char file[256], dir[256], missing[256], under[256];
    char *cause, *trace;
    hdfsFile f, f2;

    p(file, sizeof(file), "file");
    p(dir, sizeof(dir), "dir");
    p(missing, sizeof(missing), "missing-file");
    EXPECT_ZERO(th_write_file(fs, file, 100, 1, 0, 0));
    EXPECT_ZERO(hdfsCreateDirectory(fs, dir));

    /* Read-write is not something HDFS files do; nor is an access mode
     * that is neither read nor write. */
    EXPECT_NULL_ERRNO(hdfsOpenFile(fs, file, O_RDWR, 0, 0, 0), ENOTSUP);
    EXPECT_NULL_ERRNO(hdfsOpenFile(fs, file, O_ACCMODE, 0, 0, 0), EINVAL);
    EXPECT_FILE_PATTERN(fs, file, 100, 1);

    /* A missing file, and the message that says why. */
    EXPECT_NULL_ERRNO(hdfsOpenFile(fs, missing, O_RDONLY, 0, 0, 0), ENOENT);
    cause = hdfsGetLastExceptionRootCause();
    trace = hdfsGetLastExceptionStackTrace();
    EXPECT(cause != NULL && cause[0] != '\0');
    EXPECT_STR_CONTAINS(cause, "missing-file");
    EXPECT(trace != NULL && trace[0] != '\0');

    /* A directory is neither read nor replaced as a file. */
    EXPECT_NULL_FAIL(hdfsOpenFile(fs, dir, O_RDONLY, 0, 0, 0));
    EXPECT_NULL_FAIL(hdfsOpenFile(fs, dir, O_WRONLY, 0, 0, 0));
    EXPECT_NULL_FAIL(hdfsOpenFile(fs, dir, O_WRONLY | O_APPEND, 0, 0, 0));
    EXPECT_ZERO(hdfsExists(fs, dir));

    /* A file where a parent directory should be. */
    p(under, sizeof(under), "file/child");
    EXPECT_NULL_ERRNO(hdfsOpenFile(fs, under, O_WRONLY, 0, 0, 0), ENOTDIR);

    /* One writer at a time: a second appender is refused while the first
     * holds the file. */
    f = hdfsOpenFile(fs, file, O_WRONLY | O_APPEND, 0, 0, 0);
    EXPECT(f != NULL);
    if (f) {
        EXPECT_INT_EQ(3, hdfsWrite(fs, f, "abc", 3));
        EXPECT_NULL_FAIL(f2 = hdfsOpenFile(fs, file, O_WRONLY | O_APPEND,
                                           0, 0, 0));
        if (f2)
            hdfsCloseFile(fs, f2);
        EXPECT_ZERO(hdfsCloseFile(fs, f));
    }
}

static void test_namespace(void)
{
    char file[256], dir[256], sub[256], missing[256], under[256];
    hdfsFileInfo *info;
    int n = 5;

    p(file, sizeof(file), "file");
    p(dir, sizeof(dir), "dir");
    p(sub, sizeof(sub), "dir/sub");
    p(missing, sizeof(missing), "missing");
    p(under, sizeof(under), "file/sub");
    EXPECT_ZERO(hdfsCreateDirectory(fs, sub));

    /* mkdir over a file (EEXIST), under a file (ENOTDIR). */
    EXPECT_FAIL_ERRNO(hdfsCreateDirectory(fs, file), EEXIST);
    EXPECT_FAIL_ERRNO(hdfsCreateDirectory(fs, under), ENOTDIR);
    info = hdfsGetPathInfo(fs, file);
    EXPECT(info != NULL && info->mKind == kObjectKindFile &&
           info->mSize == 103);
    if (info)
        hdfsFreeFileInfo(info, 1);

    /* A non-empty directory is deleted only recursively. */
    EXPECT_FAIL(hdfsDelete(fs, dir, 0));
    EXPECT_ZERO(hdfsExists(fs, sub));
    EXPECT_FAIL(hdfsDelete(fs, missing, 0));
    EXPECT_FAIL(hdfsDelete(fs, missing, 1));

    /* Lookups of what is not there. */
    EXPECT_FAIL_ERRNO(hdfsExists(fs, missing), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsExists(fs, NULL), EINVAL);
    EXPECT_NULL_ERRNO(hdfsGetPathInfo(fs, missing), ENOENT);
    EXPECT_NULL_ERRNO(hdfsListDirectory(fs, missing, &n), ENOENT);
    EXPECT_NULL_ERRNO(hdfsGetHosts(fs, missing, 0, 1), ENOENT);
    EXPECT_NULL_FAIL(hdfsListDirectory(fs, "/libhdfs/errors/file/x", &n));

    /* Renames that cannot be. */
    EXPECT_FAIL(hdfsRename(fs, missing, sub));
    EXPECT_FAIL(hdfsRename(fs, dir, sub));          /* into itself */
    EXPECT_ZERO(hdfsExists(fs, sub));

    /* Attributes of what is not there. */
    EXPECT_FAIL_ERRNO(hdfsChmod(fs, missing, 0700), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsChown(fs, missing, "u", "g"), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsUtime(fs, missing, 5, 5), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsSetReplication(fs, missing, 1), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsSetWorkingDirectory(fs, NULL), EINVAL);
}

/* Calls on no file at all: EBADF, as libhdfs checks. */
static void test_bad_handles(void)
{
    char buf[4];

    EXPECT_FAIL_ERRNO(hdfsCloseFile(fs, NULL), EBADF);
    EXPECT_FAIL_ERRNO(hdfsWrite(fs, NULL, "x", 1), EBADF);
    EXPECT_FAIL_ERRNO(hdfsPread(fs, NULL, 0, buf, 1), EBADF);
    EXPECT_FAIL_ERRNO(hdfsSeek(fs, NULL, 0), EBADF);
    EXPECT_FAIL_ERRNO(hdfsTell(fs, NULL), EBADF);
    EXPECT_FAIL_ERRNO(hdfsFlush(fs, NULL), EBADF);
    EXPECT_FAIL_ERRNO(hdfsHFlush(fs, NULL), EBADF);
    EXPECT_FAIL_ERRNO(hdfsHSync(fs, NULL), EBADF);
    EXPECT_FAIL_ERRNO(hdfsAvailable(fs, NULL), EBADF);
    EXPECT_FAIL_ERRNO(hdfsDisconnect(NULL), EBADF);
}

/* The last message is the calling thread's own (an open of a missing
 * file: where Hadoop's libhdfs records a FileNotFoundException). */
static void *other_thread(void *arg)
{
    char *cause;

    (void)arg;
    errno = 0;
    if (hdfsOpenFile(fs, "/libhdfs/errors/only-in-thread", O_RDONLY, 0, 0,
                     0) != NULL || errno != ENOENT)
        th_fail(__FILE__, __LINE__, "hdfsOpenFile in a thread: errno %d",
                errno);
    cause = hdfsGetLastExceptionRootCause();
    if (!cause || !strstr(cause, "only-in-thread"))
        th_fail(__FILE__, __LINE__, "thread's root cause is \"%s\"",
                cause ? cause : "(null)");
    return NULL;
}

static void test_thread_messages(void)
{
    pthread_t t;

    EXPECT_NULL_ERRNO(hdfsOpenFile(fs, "/libhdfs/errors/main-thread",
                                   O_RDONLY, 0, 0, 0), ENOENT);
    EXPECT_STR_CONTAINS(hdfsGetLastExceptionRootCause(), "main-thread");
    EXPECT_ZERO(pthread_create(&t, NULL, other_thread, NULL));
    EXPECT_ZERO(pthread_join(t, NULL));
    EXPECT_STR_CONTAINS(hdfsGetLastExceptionRootCause(), "main-thread");
}

int main(int argc, char **argv)
{
    struct th_args a;

    th_args(argc, argv, &a);
    fs = REQUIRE_NONNULL(hdfsConnectNewInstance(a.host, a.port));
    if (hdfsExists(fs, base) == 0)
        EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsCreateDirectory(fs, base));

    test_open();
    test_namespace();
    test_bad_handles();
    test_thread_messages();

    EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsDisconnect(fs));
    th_done();
}
