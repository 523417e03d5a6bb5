/*
 * hdfs_rz.c - libhdfs's "zero-copy" reads: hadoopRzOptionsAlloc,
 * hadoopRzOptionsSetSkipChecksum, hadoopRzOptionsSetByteBufferPool,
 * hadoopReadZero, hadoopRzBufferLength, hadoopRzBufferGet,
 * hadoopRzBufferFree, hadoopRzOptionsFree.  Where no memory-mapped read
 * is possible (always in dfs; in HDFS without short-circuit reads or
 * with checksums checked) a read needs a buffer pool, and fails with
 * EPROTONOSUPPORT without one.
 *
 *   hdfs_rz NAMENODE [LOCALDIR]
 */
#include "expect.h"

#define MiB (1024 * 1024)
#define LEN ((size_t)(MiB + 6 * 4096 + 1234))      /* two blocks */
#define SEED 11

static const char *base = "/libhdfs/rz";

static void test_reads(hdfsFS fs, const char *path)
{
    unsigned char *data = th_pattern(0, LEN, SEED);
    struct hadoopRzOptions *opts;
    struct hadoopRzBuffer *b;
    struct hdfsReadStatistics *st = NULL;
    hdfsFile f;
    size_t off;
    int e;

    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0));
    opts = REQUIRE_NONNULL(hadoopRzOptionsAlloc());
    EXPECT_ZERO(hadoopRzOptionsSetSkipChecksum(opts, 1));
    EXPECT_ZERO(hadoopRzOptionsSetByteBufferPool(opts,
                                                 ELASTIC_BYTE_BUFFER_POOL_CLASS));

    /* Two halves of the first 4096 bytes. */
    b = hadoopReadZero(f, opts, 2048);
    EXPECT(b != NULL);
    if (b) {
        EXPECT_INT_EQ(2048, hadoopRzBufferLength(b));
        EXPECT(hadoopRzBufferGet(b) != NULL);
        if (hadoopRzBufferGet(b))
            EXPECT_MEM_EQ(data, hadoopRzBufferGet(b), 2048);
        hadoopRzBufferFree(f, b);
    }
    b = hadoopReadZero(f, opts, 2048);
    EXPECT(b != NULL);
    if (b) {
        EXPECT_INT_EQ(2048, hadoopRzBufferLength(b));
        if (hadoopRzBufferGet(b))
            EXPECT_MEM_EQ(data + 2048, hadoopRzBufferGet(b), 2048);
        hadoopRzBufferFree(f, b);
    }
    EXPECT_INT_EQ(4096, hdfsTell(fs, f));
    EXPECT_ZERO(hdfsFileGetReadStatistics(f, &st));
    if (st) {
        EXPECT_INT_EQ(4096, st->totalBytesRead);
        hdfsFileFreeReadStatistics(st);
    }

    /* No pool and checksums checked: no way to serve the read. */
    EXPECT_ZERO(hadoopRzOptionsSetSkipChecksum(opts, 0));
    EXPECT_ZERO(hadoopRzOptionsSetByteBufferPool(opts, NULL));
    errno = 0;
    b = hadoopReadZero(f, opts, 4096);
    e = errno;
    if (b || e != EPROTONOSUPPORT)
        th_fail(__FILE__, __LINE__, "hadoopReadZero without a pool gave %p "
                "errno %d, expected NULL errno EPROTONOSUPPORT", (void *)b, e);
    if (b)
        hadoopRzBufferFree(f, b);

    /* A pool again: reads go on where the position is. */
    EXPECT_ZERO(hdfsSeek(fs, f, 4096));
    EXPECT_ZERO(hadoopRzOptionsSetByteBufferPool(opts,
                                                 ELASTIC_BYTE_BUFFER_POOL_CLASS));
    b = hadoopReadZero(f, opts, 4096);
    EXPECT(b != NULL);
    if (b) {
        EXPECT_INT_EQ(4096, hadoopRzBufferLength(b));
        if (hadoopRzBufferGet(b))
            EXPECT_MEM_EQ(data + 4096, hadoopRzBufferGet(b), 4096);
        hadoopRzBufferFree(f, b);
    }
    EXPECT_INT_EQ(8192, hdfsTell(fs, f));

    /* A zero-length read: a buffer with data, of length 0. */
    b = hadoopReadZero(f, opts, 0);
    EXPECT(b != NULL);
    if (b) {
        EXPECT_INT_EQ(0, hadoopRzBufferLength(b));
        EXPECT(hadoopRzBufferGet(b) != NULL);
        hadoopRzBufferFree(f, b);
    }

    /* The rest, in reads of at most 100000 bytes (a read may give fewer,
     * e.g. up to a block's end), across the block boundary. */
    off = 8192;
    while (off < LEN) {
        b = hadoopReadZero(f, opts, 100000);
        if (!b || hadoopRzBufferLength(b) <= 0 || !hadoopRzBufferGet(b)) {
            EXPECT(b && hadoopRzBufferLength(b) > 0 && hadoopRzBufferGet(b));
            if (b)
                hadoopRzBufferFree(f, b);
            break;
        }
        EXPECT(hadoopRzBufferLength(b) <= 100000);
        EXPECT(off + (size_t)hadoopRzBufferLength(b) <= LEN);
        if (off + (size_t)hadoopRzBufferLength(b) <= LEN)
            EXPECT_MEM_EQ(data + off, hadoopRzBufferGet(b),
                          (size_t)hadoopRzBufferLength(b));
        off += (size_t)hadoopRzBufferLength(b);
        hadoopRzBufferFree(f, b);
    }
    EXPECT_INT_EQ(LEN, off);

    /* At the end of the file: a buffer whose data are NULL. */
    b = hadoopReadZero(f, opts, 1);
    EXPECT(b != NULL);
    if (b) {
        EXPECT(hadoopRzBufferGet(b) == NULL);
        EXPECT_INT_EQ(0, hadoopRzBufferLength(b));
        hadoopRzBufferFree(f, b);
    }
    EXPECT_ZERO(hdfsSeek(fs, f, (tOffset)LEN));
    b = hadoopReadZero(f, opts, 10);
    EXPECT(b != NULL);
    if (b) {
        EXPECT(hadoopRzBufferGet(b) == NULL);
        hadoopRzBufferFree(f, b);
    }

    /* Buffers outlive further reads until freed. */
    EXPECT_ZERO(hdfsSeek(fs, f, 100));
    {
        struct hadoopRzBuffer *b1 = hadoopReadZero(f, opts, 50);
        struct hadoopRzBuffer *b2 = hadoopReadZero(f, opts, 50);
        EXPECT(b1 && b2);
        if (b1 && b2 && hadoopRzBufferGet(b1) && hadoopRzBufferGet(b2)) {
            EXPECT_INT_EQ(50, hadoopRzBufferLength(b1));
            EXPECT_INT_EQ(50, hadoopRzBufferLength(b2));
            EXPECT_MEM_EQ(data + 100, hadoopRzBufferGet(b1), 50);
            EXPECT_MEM_EQ(data + 150, hadoopRzBufferGet(b2), 50);
        }
        if (b1)
            hadoopRzBufferFree(f, b1);
        if (b2)
            hadoopRzBufferFree(f, b2);
    }

    hadoopRzOptionsFree(opts);
    EXPECT_ZERO(hdfsCloseFile(fs, f));
    free(data);
}

/* A writer has nothing to read. */
static void test_writer(hdfsFS fs)
{
    struct hadoopRzOptions *opts;
    char path[256];
    hdfsFile f;

    snprintf(path, sizeof(path), "%s/being-written", base);
    f = REQUIRE_NONNULL(hdfsOpenFile(fs, path, O_WRONLY, 0, 0, 0));
    opts = REQUIRE_NONNULL(hadoopRzOptionsAlloc());
    EXPECT_ZERO(hadoopRzOptionsSetByteBufferPool(opts,
                                                 ELASTIC_BYTE_BUFFER_POOL_CLASS));
    EXPECT_NULL_ERRNO(hadoopReadZero(f, opts, 10), EINVAL);
    hadoopRzOptionsFree(opts);
    EXPECT_ZERO(hdfsCloseFile(fs, f));
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
    snprintf(path, sizeof(path), "%s/data", base);
    EXPECT_ZERO(th_write_file(fs, path, LEN, SEED, 0, MiB));

    test_reads(fs, path);
    test_writer(fs);

    EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsDisconnect(fs));
    th_done();
}
