/*
 * hdfs_copy.c - hdfsCopy and hdfsMove between the local file system
 * (hdfsConnect(NULL, 0)) and dfs, both ways and within each; the local
 * file system through the other libhdfs calls.
 *
 *   hdfs_copy NAMENODE LOCALDIR
 */
#include <sys/stat.h>
#include <unistd.h>

#include "expect.h"

#define LEN 300000

static const char *base = "/libhdfs/copy";
static const char *ldir;        /* LOCALDIR/libhdfs-copy */

static void r(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", base, name);
}

static void l(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", ldir, name);
}

/* The local file at path holds len pattern bytes of seed (read with
 * stdio, not libhdfs). */
static void expect_local_pattern(const char *file, int line,
                                 const char *path, size_t len, unsigned seed)
{
    unsigned char *want = th_pattern(0, len, seed);
    unsigned char *got = malloc(len + 1);
    FILE *f = fopen(path, "rb");
    size_t n = 0;

    if (!f) {
        th_fail(file, line, "fopen(%s): %s", path, strerror(errno));
    } else {
        n = fread(got, 1, len + 1, f);
        fclose(f);
        if (n != len || memcmp(want, got, len) != 0)
            th_fail(file, line, "%s: %zu bytes, expected the %zu of pattern "
                    "%u", path, n, len, seed);
    }
    free(want);
    free(got);
}

#define EXPECT_LOCAL_PATTERN(path, len, seed) \
    expect_local_pattern(__FILE__, __LINE__, (path), (len), (seed))

static int local_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The local file system through libhdfs: write, stat, list, delete. */
static void test_local_fs(hdfsFS lfs)
{
    char path[512], sub[512];
    hdfsFileInfo *info;
    int n = -1;

    l(path, sizeof(path), "written-by-libhdfs");
    EXPECT_ZERO(th_write_file(lfs, path, LEN, 1, 0, 0));
    EXPECT_LOCAL_PATTERN(path, LEN, 1);
    EXPECT_FILE_PATTERN(lfs, path, LEN, 1);
    EXPECT_ZERO(hdfsExists(lfs, path));

    info = hdfsGetPathInfo(lfs, path);
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(kObjectKindFile, info->mKind);
        EXPECT_INT_EQ(LEN, info->mSize);
        EXPECT_STR_ENDS(info->mName, path);
        EXPECT(strncmp(info->mName, "file:", 5) == 0);
        hdfsFreeFileInfo(info, 1);
    }

    l(sub, sizeof(sub), "made/by/libhdfs");
    EXPECT_ZERO(hdfsCreateDirectory(lfs, sub));
    EXPECT(local_exists(sub));
    /* An empty local directory lists as NULL, 0 entries, errno 0. */
    errno = EACCES;
    info = hdfsListDirectory(lfs, sub, &n);
    EXPECT(info == NULL && n == 0 && errno == 0);
    l(sub, sizeof(sub), "made");
    n = -1;
    info = hdfsListDirectory(lfs, sub, &n);
    /* made/ holds "by": one entry. */
    EXPECT(info != NULL && n == 1);
    if (info) {
        EXPECT_INT_EQ(kObjectKindDirectory, info[0].mKind);
        EXPECT_STR_ENDS(info[0].mName, "/made/by");
        hdfsFreeFileInfo(info, n);
    }
    EXPECT_FAIL(hdfsDelete(lfs, sub, 0));
    EXPECT_ZERO(hdfsDelete(lfs, sub, 1));
    EXPECT(!local_exists(sub));
}

static void test_copy(hdfsFS fs, hdfsFS lfs)
{
    char lsrc[512], lback[512], rdst[256], rdst2[256], rdir[256];
    char lsub[512];

    l(lsrc, sizeof(lsrc), "source");
    EXPECT_ZERO(th_write_file(lfs, lsrc, LEN, 2, 0, 0));

    /* local -> dfs: the source stays. */
    r(rdst, sizeof(rdst), "from-local");
    EXPECT_ZERO(hdfsCopy(lfs, lsrc, fs, rdst));
    EXPECT_FILE_PATTERN(fs, rdst, LEN, 2);
    EXPECT_LOCAL_PATTERN(lsrc, LEN, 2);

    /* dfs -> local. */
    l(lback, sizeof(lback), "back-from-dfs");
    EXPECT_ZERO(hdfsCopy(fs, rdst, lfs, lback));
    EXPECT_LOCAL_PATTERN(lback, LEN, 2);

    /* dfs -> dfs, on one handle. */
    r(rdst2, sizeof(rdst2), "copy-in-dfs");
    EXPECT_ZERO(hdfsCopy(fs, rdst, fs, rdst2));
    EXPECT_FILE_PATTERN(fs, rdst2, LEN, 2);
    EXPECT_FILE_PATTERN(fs, rdst, LEN, 2);

    /* An existing destination file is replaced. */
    EXPECT_ZERO(th_write_file(fs, rdst2, 100, 3, 0, 0));
    EXPECT_ZERO(hdfsCopy(fs, rdst, fs, rdst2));
    EXPECT_FILE_PATTERN(fs, rdst2, LEN, 2);

    /* An existing destination directory receives the file. */
    r(rdir, sizeof(rdir), "into");
    EXPECT_ZERO(hdfsCreateDirectory(fs, rdir));
    EXPECT_ZERO(hdfsCopy(lfs, lsrc, fs, rdir));
    r(rdst2, sizeof(rdst2), "into/source");
    EXPECT_FILE_PATTERN(fs, rdst2, LEN, 2);

    /* A directory is copied with what it holds, both ways. */
    l(lsub, sizeof(lsub), "tree-back");
    EXPECT_ZERO(hdfsCopy(fs, rdir, lfs, lsub));
    l(lsub, sizeof(lsub), "tree-back/source");
    EXPECT_LOCAL_PATTERN(lsub, LEN, 2);
    l(lsub, sizeof(lsub), "tree-back");
    r(rdst2, sizeof(rdst2), "tree-again");
    EXPECT_ZERO(hdfsCopy(lfs, lsub, fs, rdst2));
    r(rdst2, sizeof(rdst2), "tree-again/source");
    EXPECT_FILE_PATTERN(fs, rdst2, LEN, 2);

    /* A missing source: ENOENT, nothing created. */
    r(rdst2, sizeof(rdst2), "nothing-here");
    l(lsub, sizeof(lsub), "nothing-here");
    EXPECT_FAIL_ERRNO(hdfsCopy(fs, rdst2, lfs, lsub), ENOENT);
    EXPECT(!local_exists(lsub));
    EXPECT_FAIL_ERRNO(hdfsCopy(lfs, lsub, fs, rdst2), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsExists(fs, rdst2), ENOENT);
}

static void test_move(hdfsFS fs, hdfsFS lfs)
{
    char la[512], lb[512], ra[256], rb[256];

    r(ra, sizeof(ra), "to-move");
    EXPECT_ZERO(th_write_file(fs, ra, LEN, 4, 0, 0));

    /* dfs -> local: the source is gone afterwards. */
    l(la, sizeof(la), "moved-out");
    EXPECT_ZERO(hdfsMove(fs, ra, lfs, la));
    EXPECT_FAIL_ERRNO(hdfsExists(fs, ra), ENOENT);
    EXPECT_LOCAL_PATTERN(la, LEN, 4);

    /* local -> local. */
    l(lb, sizeof(lb), "moved-locally");
    EXPECT_ZERO(hdfsMove(lfs, la, lfs, lb));
    EXPECT(!local_exists(la));
    EXPECT_LOCAL_PATTERN(lb, LEN, 4);

    /* local -> dfs. */
    r(rb, sizeof(rb), "moved-in");
    EXPECT_ZERO(hdfsMove(lfs, lb, fs, rb));
    EXPECT(!local_exists(lb));
    EXPECT_FILE_PATTERN(fs, rb, LEN, 4);

    /* dfs -> dfs. */
    EXPECT_ZERO(hdfsMove(fs, rb, fs, ra));
    EXPECT_FAIL_ERRNO(hdfsExists(fs, rb), ENOENT);
    EXPECT_FILE_PATTERN(fs, ra, LEN, 4);

    /* A missing source: refused. */
    EXPECT_FAIL(hdfsMove(fs, rb, lfs, la));
    EXPECT(!local_exists(la));
}

/* No ".NAME._COPYING_" temporary is left in the local directory dir. */
static void expect_no_temporaries(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "ls -a '%s' | grep -q _COPYING_", dir);
    EXPECT(system(cmd) != 0);
}

/* What the review found: each would destroy data or loop without care. */
static void test_safety(hdfsFS fs, hdfsFS lfs, const struct th_args *a)
{
    char ra[256], rb[256], rdir[256], rsub[256], la[512], lb[512], ld[512];

    /* A move of a missing source leaves an existing destination alone. */
    r(ra, sizeof(ra), "kept");
    r(rb, sizeof(rb), "no-such-source");
    EXPECT_ZERO(th_write_file(fs, ra, 1000, 5, 0, 0));
    EXPECT_FAIL_ERRNO(hdfsMove(fs, rb, fs, ra), ENOENT);
    EXPECT_FILE_PATTERN(fs, ra, 1000, 5);
    l(la, sizeof(la), "kept");
    EXPECT_ZERO(th_write_file(lfs, la, 1000, 5, 0, 0));
    l(lb, sizeof(lb), "no-such-source");
    EXPECT_FAIL_ERRNO(hdfsMove(lfs, lb, lfs, la), ENOENT);
    EXPECT_LOCAL_PATTERN(la, 1000, 5);

    /* A move within one handle replaces a destination file. */
    r(rb, sizeof(rb), "replacement");
    EXPECT_ZERO(th_write_file(fs, rb, 2000, 6, 0, 0));
    EXPECT_ZERO(hdfsMove(fs, rb, fs, ra));
    EXPECT_FILE_PATTERN(fs, ra, 2000, 6);
    EXPECT_FAIL_ERRNO(hdfsExists(fs, rb), ENOENT);

    /* Two handles to one cluster are one file system: the same path or a
     * directory into itself is refused, the source intact. */
    hdfsFS fs2 = REQUIRE_NONNULL(hdfsConnect(a->host, a->port));
    EXPECT_FAIL_ERRNO(hdfsCopy(fs, ra, fs2, ra), EINVAL);
    EXPECT_FILE_PATTERN(fs, ra, 2000, 6);
    r(rdir, sizeof(rdir), "self");
    r(rsub, sizeof(rsub), "self/inside");
    EXPECT_ZERO(hdfsCreateDirectory(fs, rdir));
    EXPECT_FAIL_ERRNO(hdfsCopy(fs, rdir, fs2, rsub), EINVAL);
    EXPECT_FAIL_ERRNO(hdfsMove(fs2, rdir, fs, rsub), EINVAL);
    EXPECT_FAIL_ERRNO(hdfsExists(fs, rsub), ENOENT);
    EXPECT_ZERO(hdfsDisconnect(fs2));

    /* Locally, a symlink to the source is the source. */
    l(lb, sizeof(lb), "alias");
    EXPECT_ZERO(symlink(la, lb));
    EXPECT_FAIL_ERRNO(hdfsCopy(lfs, la, lfs, lb), EINVAL);
    EXPECT_LOCAL_PATTERN(la, 1000, 5);
    l(ld, sizeof(ld), "self");
    EXPECT_ZERO(hdfsCreateDirectory(lfs, ld));
    l(lb, sizeof(lb), "self-alias");
    EXPECT_ZERO(symlink(ld, lb));
    l(lb, sizeof(lb), "self-alias/inside");
    EXPECT_FAIL_ERRNO(hdfsCopy(lfs, ld, lfs, lb), EINVAL);

    /* A local symlink loop: ELOOP, no destination left. */
    l(ld, sizeof(ld), "looped");
    l(lb, sizeof(lb), "looped/f");
    EXPECT_ZERO(th_write_file(lfs, lb, 10, 1, 0, 0));
    l(lb, sizeof(lb), "looped/loop");
    EXPECT_ZERO(symlink(ld, lb));
    r(rb, sizeof(rb), "looped");
    EXPECT_FAIL_ERRNO(hdfsCopy(lfs, ld, fs, rb), ELOOP);
    EXPECT_FAIL_ERRNO(hdfsExists(fs, rb), ENOENT);
    EXPECT_ZERO(unlink(lb));

    /* A copy failing half way leaves the old destination and no
     * temporary: /proc/self/mem opens but fails its first read. */
    EXPECT_FAIL(hdfsCopy(lfs, "/proc/self/mem", fs, ra));
    EXPECT_FILE_PATTERN(fs, ra, 2000, 6);
    r(rb, sizeof(rb), ".kept._COPYING_");
    EXPECT_FAIL_ERRNO(hdfsExists(fs, rb), ENOENT);
    EXPECT_FAIL(hdfsCopy(lfs, "/proc/self/mem", lfs, la));
    EXPECT_LOCAL_PATTERN(la, 1000, 5);
    expect_no_temporaries(ldir);
    /* ... and a failed directory copy leaves no directory. */
    l(lb, sizeof(lb), "looped/dangling");
    EXPECT_ZERO(symlink("/nonexistent/x", lb));
    EXPECT_FAIL(hdfsCopy(lfs, ld, fs, rb));
    EXPECT_FAIL_ERRNO(hdfsExists(fs, rb), ENOENT);
    EXPECT_ZERO(unlink(lb));

    /* DST/NAME an existing directory: copy and move both refuse. */
    r(rdir, sizeof(rdir), "holder");
    r(rsub, sizeof(rsub), "holder/kept");
    EXPECT_ZERO(hdfsCreateDirectory(fs, rsub));
    EXPECT_FAIL_ERRNO(hdfsCopy(fs, ra, fs, rdir), EEXIST);
    EXPECT_FAIL_ERRNO(hdfsMove(fs, ra, fs, rdir), EEXIST);
    EXPECT_FAIL_ERRNO(hdfsCopy(lfs, la, fs, rdir), EEXIST);
    EXPECT_FILE_PATTERN(fs, ra, 2000, 6);
    /* a directory does not replace a file */
    EXPECT_FAIL_ERRNO(hdfsCopy(lfs, ld, fs, ra), EEXIST);

    /* A local move across mounts copies, then deletes. */
    struct stat s1, s2;
    if (stat("/dev/shm", &s1) == 0 && stat(ldir, &s2) == 0 && s1.st_dev != s2.st_dev &&
        access("/dev/shm", W_OK) == 0) {
        char shm[256];
        snprintf(shm, sizeof(shm), "/dev/shm/hdfs_copy.%ld", (long)getpid());
        EXPECT_ZERO(hdfsMove(lfs, la, lfs, shm));
        EXPECT(!local_exists(la));
        EXPECT_LOCAL_PATTERN(shm, 1000, 5);
        EXPECT_ZERO(hdfsMove(lfs, shm, lfs, la));
        EXPECT(!local_exists(shm));
        EXPECT_LOCAL_PATTERN(la, 1000, 5);
    } else {
        fprintf(stderr, "hdfs_copy: no second mount, cross-device move untested\n");
    }
}

int main(int argc, char **argv)
{
    struct th_args a;
    char dir[512];
    hdfsFS fs, lfs;

    th_args(argc, argv, &a);
    snprintf(dir, sizeof(dir), "%s/libhdfs-copy", a.localdir);
    ldir = dir;
    fs = REQUIRE_NONNULL(hdfsConnect(a.host, a.port));
    lfs = REQUIRE_NONNULL(hdfsConnect(NULL, 0));
    if (hdfsExists(fs, base) == 0)
        EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsCreateDirectory(fs, base));
    if (hdfsExists(lfs, ldir) == 0)
        EXPECT_ZERO(hdfsDelete(lfs, ldir, 1));
    EXPECT_ZERO(hdfsCreateDirectory(lfs, ldir));

    test_local_fs(lfs);
    test_copy(fs, lfs);
    test_move(fs, lfs);
    test_safety(fs, lfs, &a);

    EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsDelete(lfs, ldir, 1));
    EXPECT(!local_exists(ldir));
    EXPECT_ZERO(hdfsDisconnect(lfs));
    EXPECT_ZERO(hdfsDisconnect(fs));
    th_done();
}
