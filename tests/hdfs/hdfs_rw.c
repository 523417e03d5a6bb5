/*
 * hdfs_rw.c - file data through libhdfs: hdfsOpenFile for writing,
 * reading and appending, hdfsWrite, hdfsRead, hdfsPread, hdfsPreadFully,
 * hdfsSeek, hdfsTell, hdfsAvailable, hdfsFlush, hdfsHFlush, hdfsHSync,
 * hdfsUnbufferFile, hdfsFileIsOpenForRead/Write, the read statistics and
 * the hedged-read metrics, and the test hooks of Hadoop's hdfs_test.h.
 *
 *   hdfs_rw NAMENODE [LOCALDIR]
 */
#include <pthread.h>

#include "expect.h"

/* The test hooks Hadoop's libhdfs exports. */
#include "hdfs_test.h"

#define MiB (1024 * 1024)
#define BLOCK MiB
#define LEN ((size_t)(2 * MiB + MiB / 2 + 123))   /* three blocks */
#define SEED 7

static const char *base = "/libhdfs/rw";

/* Write LEN pattern bytes in uneven pieces, checking hdfsTell, the flush
 * calls, and what a writer refuses. */
static void test_write(hdfsFS fs, const char *path)
{
    unsigned char *data = th_pattern(0, LEN, SEED);
    struct hdfsReadStatistics *stats = NULL;
    hdfsFile f, r;
    size_t off = 0, piece = 1;
    char c;
    int rc;

    /* Opening for writing creates the missing parents, as HDFS's create. */
    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_WRONLY | O_CREAT, 0, 0, BLOCK));
    EXPECT_INT_EQ(1, hdfsFileIsOpenForWrite(f));
    EXPECT_INT_EQ(0, hdfsFileIsOpenForRead(f));
    EXPECT_INT_EQ(0, hdfsTell(fs, f));
    EXPECT_INT_EQ(0, hdfsWrite(fs, f, data, 0));
    EXPECT_FAIL_ERRNO(hdfsWrite(fs, f, data, -1), EINVAL);

    while (off < LEN) {
        tSize n = (tSize)(LEN - off < piece ? LEN - off : piece);
        EXPECT_INT_EQ(n, hdfsWrite(fs, f, data + off, n));
        off += (size_t)n;
        EXPECT_INT_EQ(off, hdfsTell(fs, f));
        piece = piece * 7 + 13;
        if (piece > 300000)
            piece = 4097;
        if (off > MiB / 2 && off - (size_t)n <= MiB / 2) {
            EXPECT_ZERO(hdfsFlush(fs, f));
            EXPECT_ZERO(hdfsHFlush(fs, f));
            /* What is hflushed is visible to a reader opening now. */
            r = hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0);
            EXPECT(r != NULL);
            if (r) {
                unsigned char *got = malloc(off);
                EXPECT_ZERO(hdfsPreadFully(fs, r, 0, got, (tSize)off));
                EXPECT_MEM_EQ(data, got, off);
                free(got);
                EXPECT_ZERO(hdfsCloseFile(fs, r));
            }
        }
    }
    EXPECT_ZERO(hdfsHSync(fs, f));

    /* A writer is not a reader. */
    EXPECT_FAIL_ERRNO(hdfsRead(fs, f, &c, 1), EINVAL);
    EXPECT_FAIL_ERRNO(hdfsPread(fs, f, 0, &c, 1), EINVAL);
    EXPECT_FAIL_ERRNO(hdfsSeek(fs, f, 0), EBADF);
    EXPECT_FAIL_ERRNO(hdfsAvailable(fs, f), EBADF);
    EXPECT_FAIL_ERRNO(hdfsFileGetReadStatistics(f, &stats), EINVAL);
    EXPECT(stats == NULL);
    /* These two return the code itself, and set errno to it too. */
    errno = 0;
    rc = hdfsFileClearReadStatistics(f);
    EXPECT(rc == EINVAL && errno == EINVAL);
    errno = 0;
    rc = hdfsUnbufferFile(f);
    EXPECT(rc == ENOTSUP && errno == ENOTSUP);

    EXPECT_ZERO(hdfsCloseFile(fs, f));
    free(data);
}

/* Sequential reads, seeks, hdfsAvailable and end of file. */
static void test_read(hdfsFS fs, const char *path)
{
    unsigned char *data = th_pattern(0, LEN, SEED);
    unsigned char *buf = malloc(LEN);
    hdfsFile f;
    size_t off = 0;
    tSize n;
    char c;

    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0));
    EXPECT_INT_EQ(1, hdfsFileIsOpenForRead(f));
    EXPECT_INT_EQ(0, hdfsFileIsOpenForWrite(f));
    EXPECT_INT_EQ(LEN, hdfsAvailable(fs, f));
    EXPECT_INT_EQ(0, hdfsRead(fs, f, buf, 0));

    /* A read returns at least one byte until the end, then 0. */
    for (;;) {
        tSize want = (tSize)(LEN - off < 65536 ? LEN - off : 65536);
        if (want == 0)
            want = 1;
        errno = 0;
        n = hdfsRead(fs, f, buf + off, want);
        if (n <= 0)
            break;
        off += (size_t)n;
        if (off > LEN) {
            EXPECT(off <= LEN);
            break;
        }
    }
    EXPECT_INT_EQ(0, n);
    EXPECT_INT_EQ(LEN, off);
    EXPECT_MEM_EQ(data, buf, LEN);
    EXPECT_INT_EQ(LEN, hdfsTell(fs, f));
    EXPECT_INT_EQ(0, hdfsAvailable(fs, f));
    EXPECT_INT_EQ(0, hdfsRead(fs, f, &c, 1));

    /* Seek back, into the second block, and to the very end. */
    EXPECT_ZERO(hdfsSeek(fs, f, 1000));
    EXPECT_INT_EQ(1000, hdfsTell(fs, f));
    EXPECT_INT_EQ(LEN - 1000, hdfsAvailable(fs, f));
    EXPECT_INT_EQ(100, hdfsRead(fs, f, buf, 100));
    EXPECT_MEM_EQ(data + 1000, buf, 100);
    EXPECT_INT_EQ(1100, hdfsTell(fs, f));

    EXPECT_ZERO(hdfsSeek(fs, f, BLOCK - 10));
    off = 0;
    while (off < 20) {
        n = hdfsRead(fs, f, buf + off, (tSize)(20 - off));
        if (n <= 0) {
            EXPECT(n > 0);
            break;
        }
        off += (size_t)n;
    }
    EXPECT_MEM_EQ(data + BLOCK - 10, buf, 20);
    EXPECT_INT_EQ(BLOCK + 10, hdfsTell(fs, f));

    EXPECT_ZERO(hdfsSeek(fs, f, (tOffset)LEN));
    EXPECT_INT_EQ(0, hdfsRead(fs, f, &c, 1));
    /* Past the end and before the start: refused, position kept. */
    EXPECT_FAIL(hdfsSeek(fs, f, (tOffset)LEN + 1));
    EXPECT_FAIL(hdfsSeek(fs, f, -1));
    EXPECT_ZERO(hdfsSeek(fs, f, 5));
    EXPECT_INT_EQ(1, hdfsRead(fs, f, &c, 1));
    EXPECT_INT_EQ(data[5], (unsigned char)c);

    /* A reader is not a writer. */
    EXPECT_FAIL_ERRNO(hdfsWrite(fs, f, "x", 1), EINVAL);
    EXPECT_FAIL_ERRNO(hdfsFlush(fs, f), EBADF);
    EXPECT_FAIL_ERRNO(hdfsHFlush(fs, f), EBADF);
    EXPECT_FAIL_ERRNO(hdfsHSync(fs, f), EBADF);

    /* Unbuffering drops buffers, not the position. */
    EXPECT_ZERO(hdfsUnbufferFile(f));
    EXPECT_INT_EQ(6, hdfsTell(fs, f));
    EXPECT_INT_EQ(10, hdfsRead(fs, f, buf, 10));
    EXPECT_MEM_EQ(data + 6, buf, 10);

    EXPECT_ZERO(hdfsCloseFile(fs, f));
    free(buf);
    free(data);
}

/* Positional reads: never move the position; across block boundaries;
 * 0 at and past the end; hdfsPreadFully fails short of the length. */
static void test_pread(hdfsFS fs, const char *path)
{
    unsigned char *data = th_pattern(0, LEN, SEED);
    unsigned char buf[4096];
    hdfsFile f;

    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0));
    EXPECT_INT_EQ(200, hdfsPread(fs, f, BLOCK - 100, buf, 200));
    EXPECT_MEM_EQ(data + BLOCK - 100, buf, 200);
    EXPECT_INT_EQ(0, hdfsTell(fs, f));
    EXPECT_INT_EQ(50, hdfsPread(fs, f, (tOffset)LEN - 50, buf, 100));
    EXPECT_MEM_EQ(data + LEN - 50, buf, 50);
    EXPECT_INT_EQ(0, hdfsPread(fs, f, (tOffset)LEN, buf, 100));
    EXPECT_INT_EQ(0, hdfsPread(fs, f, 17, buf, 0));

    EXPECT_ZERO(hdfsPreadFully(fs, f, 2 * BLOCK - 3000, buf, sizeof(buf)));
    EXPECT_MEM_EQ(data + 2 * BLOCK - 3000, buf, sizeof(buf));
    EXPECT_INT_EQ(0, hdfsTell(fs, f));
    EXPECT_FAIL(hdfsPreadFully(fs, f, (tOffset)LEN - 10, buf, 20));

    /* A read after preads starts where the position is. */
    EXPECT_INT_EQ(16, hdfsRead(fs, f, buf, 16));
    EXPECT_MEM_EQ(data, buf, 16);
    EXPECT_INT_EQ(64, hdfsPread(fs, f, 3, buf, 64));
    EXPECT_MEM_EQ(data + 3, buf, 64);
    EXPECT_INT_EQ(16, hdfsTell(fs, f));

    /* The test hooks: direct reads switched off, reads still right. */
    hdfsFileDisableDirectRead(f);
    EXPECT_INT_EQ(0, hdfsFileUsesDirectRead(f));
    hdfsFileDisableDirectPread(f);
    EXPECT_INT_EQ(0, hdfsFileUsesDirectPread(f));
    EXPECT_INT_EQ(16, hdfsRead(fs, f, buf, 16));
    EXPECT_MEM_EQ(data + 16, buf, 16);
    EXPECT_INT_EQ(16, hdfsPread(fs, f, BLOCK, buf, 16));
    EXPECT_MEM_EQ(data + BLOCK, buf, 16);

    EXPECT_ZERO(hdfsCloseFile(fs, f));
    free(data);
}

/* Read statistics of one reader, and the handle's hedged-read metrics. */
static void test_stats(hdfsFS fs, const char *path)
{
    struct hdfsReadStatistics *st = NULL;
    struct hdfsHedgedReadMetrics *hm = NULL;
    unsigned char buf[5000];
    hdfsFile f;

    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0));
    EXPECT_ZERO(hdfsFileGetReadStatistics(f, &st));
    if (st) {
        EXPECT_INT_EQ(0, st->totalBytesRead);
        EXPECT_INT_EQ(0, st->totalLocalBytesRead);
        EXPECT_INT_EQ(0, st->totalShortCircuitBytesRead);
        EXPECT_INT_EQ(0, st->totalZeroCopyBytesRead);
        hdfsFileFreeReadStatistics(st);
        st = NULL;
    }
    EXPECT_INT_EQ(sizeof(buf), hdfsRead(fs, f, buf, sizeof(buf)));
    EXPECT_INT_EQ(1000, hdfsPread(fs, f, BLOCK, buf, 1000));
    EXPECT_ZERO(hdfsFileGetReadStatistics(f, &st));
    if (st) {
        EXPECT_INT_EQ(sizeof(buf) + 1000, st->totalBytesRead);
        EXPECT(st->totalLocalBytesRead <= st->totalBytesRead);
        EXPECT(st->totalShortCircuitBytesRead <= st->totalLocalBytesRead);
        EXPECT_INT_EQ((int64_t)(st->totalBytesRead - st->totalLocalBytesRead),
                      hdfsReadStatisticsGetRemoteBytesRead(st));
        hdfsFileFreeReadStatistics(st);
        st = NULL;
    }
    EXPECT_ZERO(hdfsFileClearReadStatistics(f));
    EXPECT_ZERO(hdfsFileGetReadStatistics(f, &st));
    if (st) {
        EXPECT_INT_EQ(0, st->totalBytesRead);
        hdfsFileFreeReadStatistics(st);
    }
    EXPECT_ZERO(hdfsCloseFile(fs, f));

    EXPECT_ZERO(hdfsGetHedgedReadMetrics(fs, &hm));
    if (hm) {
        EXPECT_INT_EQ(0, hm->hedgedReadOps);
        EXPECT_INT_EQ(0, hm->hedgedReadOpsWin);
        EXPECT_INT_EQ(0, hm->hedgedReadOpsInCurThread);
        hdfsFreeHedgedReadMetrics(hm);
    }
}

/* O_WRONLY|O_APPEND adds at the end; the appending writer's position
 * starts at the old length; O_WRONLY alone replaces the file. */
static void test_append_overwrite(hdfsFS fs, const char *dir)
{
    char path[256];
    unsigned char *more = th_pattern(LEN, 70000, SEED);
    unsigned char *all;
    hdfsFileInfo *info;
    hdfsFile f;
    size_t n = 0;

    snprintf(path, sizeof(path), "%s/appended", dir);
    EXPECT_ZERO(th_write_file(fs, path, LEN, SEED, 0, BLOCK));
    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_WRONLY | O_APPEND, 0, 0, 0));
    EXPECT_INT_EQ(1, hdfsFileIsOpenForWrite(f));
    EXPECT_INT_EQ(LEN, hdfsTell(fs, f));
    EXPECT_INT_EQ(30000, hdfsWrite(fs, f, more, 30000));
    EXPECT_ZERO(hdfsHFlush(fs, f));
    EXPECT_INT_EQ(40000, hdfsWrite(fs, f, more + 30000, 40000));
    EXPECT_INT_EQ(LEN + 70000, hdfsTell(fs, f));
    EXPECT_ZERO(hdfsCloseFile(fs, f));

    info = hdfsGetPathInfo(fs, path);
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(LEN + 70000, info->mSize);
        hdfsFreeFileInfo(info, 1);
    }
    EXPECT_FILE_PATTERN(fs, path, LEN + 70000, SEED);

    /* Appending to a file that is not there fails: HDFS does not create. */
    snprintf(path, sizeof(path), "%s/never-written", dir);
    EXPECT_NULL_ERRNO(hdfsOpenFile(fs, path, O_WRONLY | O_APPEND, 0, 0, 0),
                      ENOENT);

    /* O_WRONLY on an existing file truncates it (create with overwrite). */
    snprintf(path, sizeof(path), "%s/appended", dir);
    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_WRONLY, 0, 0, 0));
    EXPECT_INT_EQ(5, hdfsWrite(fs, f, "short", 5));
    EXPECT_ZERO(hdfsCloseFile(fs, f));
    all = th_read_file(fs, path, &n);
    EXPECT_INT_EQ(5, n);
    if (all && n == 5)
        EXPECT_MEM_EQ("short", all, 5);
    free(all);
    free(more);
}

/* Zero-length files: written, read (0 at once), appended to. */
static void test_empty(hdfsFS fs, const char *dir)
{
    char path[256];
    hdfsFile f;
    char c;

    snprintf(path, sizeof(path), "%s/empty", dir);
    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_WRONLY, 0, 0, 0));
    EXPECT_ZERO(hdfsCloseFile(fs, f));
    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0));
    EXPECT_INT_EQ(0, hdfsAvailable(fs, f));
    EXPECT_INT_EQ(0, hdfsRead(fs, f, &c, 1));
    EXPECT_INT_EQ(0, hdfsPread(fs, f, 0, &c, 1));
    EXPECT_ZERO(hdfsCloseFile(fs, f));
    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_WRONLY | O_APPEND, 0, 0, 0));
    EXPECT_INT_EQ(0, hdfsTell(fs, f));
    EXPECT_INT_EQ(3, hdfsWrite(fs, f, "abc", 3));
    EXPECT_ZERO(hdfsCloseFile(fs, f));
    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0));
    EXPECT_INT_EQ(3, hdfsRead(fs, f, path, sizeof(path)));
    EXPECT_MEM_EQ("abc", path, 3);
    EXPECT_ZERO(hdfsCloseFile(fs, f));
}

/* Threads sharing one hdfsFile: preads at different offsets (and one
 * thread moving the position with seeks and reads) all get their bytes. */
#define NTHREADS 4
#define ROUNDS 60

struct shared {
    hdfsFS fs;
    hdfsFile f;
    const unsigned char *data;
    unsigned seed;
    int bad;                    /* reads that returned wrong bytes */
};

static void *pread_thread(void *arg)
{
    struct shared *s = arg;
    unsigned x = s->seed * 2654435761u + 1;
    unsigned char *buf = malloc(9000);

    for (int i = 0; i < ROUNDS; i++) {
        x = x * 1103515245u + 12345u;
        tOffset off = (tOffset)(x % (LEN - 9000));
        tSize len = (tSize)(1 + (x >> 7) % 9000);
        if (s->seed == 0) {          /* the positional reader */
            if (hdfsSeek(s->fs, s->f, off) != 0 ||
                hdfsRead(s->fs, s->f, buf, len) <= 0 ||
                memcmp(buf, s->data + off, 1) != 0)
                s->bad++;
            continue;
        }
        if (hdfsPreadFully(s->fs, s->f, off, buf, len) != 0 ||
            memcmp(buf, s->data + off, (size_t)len) != 0)
            s->bad++;
    }
    free(buf);
    return NULL;
}

static void test_shared_file(hdfsFS fs, const char *path)
{
    unsigned char *data = th_pattern(0, LEN, SEED);
    struct shared s[NTHREADS];
    pthread_t t[NTHREADS];
    hdfsFile f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0));

    for (int i = 0; i < NTHREADS; i++) {
        s[i] = (struct shared){ .fs = fs, .f = f, .data = data, .seed = (unsigned)i };
        EXPECT_ZERO(pthread_create(&t[i], NULL, pread_thread, &s[i]));
    }
    for (int i = 0; i < NTHREADS; i++) {
        EXPECT_ZERO(pthread_join(t[i], NULL));
        EXPECT_INT_EQ(0, s[i].bad);
    }
    EXPECT_ZERO(hdfsCloseFile(fs, f));
    free(data);
}

/* The local file system: a seek past the end is refused as dfs refuses
 * it; an appender's position starts at the end. */
static void test_local_positions(const char *localdir)
{
    char path[512];
    unsigned char buf[8];
    hdfsFS lfs = REQUIRE_NONNULL(hdfsConnect(NULL, 0));
    hdfsFile f;

    snprintf(path, sizeof(path), "%s/libhdfs-rw-local", localdir);
    EXPECT_ZERO(th_write_file(lfs, path, 100, 3, 0, 0));
    f = REQUIRE_NONNULL(hdfsOpenFile(lfs, path, O_RDONLY, 0, 0, 0));
    EXPECT_ZERO(hdfsSeek(lfs, f, 100));
    EXPECT_FAIL_ERRNO(hdfsSeek(lfs, f, 101), EINVAL);
    EXPECT_INT_EQ(100, hdfsTell(lfs, f));
    EXPECT_INT_EQ(0, hdfsRead(lfs, f, buf, sizeof(buf)));
    EXPECT_ZERO(hdfsCloseFile(lfs, f));

    f = REQUIRE_NONNULL(hdfsOpenFile(lfs, path, O_WRONLY | O_APPEND, 0, 0, 0));
    EXPECT_INT_EQ(100, hdfsTell(lfs, f));
    EXPECT_INT_EQ(5, hdfsWrite(lfs, f, "12345", 5));
    EXPECT_INT_EQ(105, hdfsTell(lfs, f));
    EXPECT_ZERO(hdfsCloseFile(lfs, f));
    EXPECT_ZERO(hdfsDelete(lfs, path, 0));
    EXPECT_ZERO(hdfsDisconnect(lfs));
}

int main(int argc, char **argv)
{
    struct th_args a;
    char path[256];
    hdfsFS fs;

    th_args(argc, argv, &a);
    fs = REQUIRE_NONNULL(hdfsConnectNewInstance(a.host, a.port));
    if (hdfsExists(fs, base) == 0)
        EXPECT_ZERO(hdfsDelete(fs, base, 1));

    snprintf(path, sizeof(path), "%s/deep/er/data", base);
    test_write(fs, path);
    test_read(fs, path);
    test_pread(fs, path);
    test_stats(fs, path);
    test_shared_file(fs, path);
    test_local_positions(a.localdir);
    test_append_overwrite(fs, base);
    test_empty(fs, base);

    EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsDisconnect(fs));
    th_done();
}
