/*
 * test_volume.c - unit tests of datanode/volume.c: the data dirs' health
 * (what a failure is, the probe, the choice of a dir and the space that
 * leave failed dirs out) and what fails a dir at open.  The store above it
 * is test_blockstore.c's.
 */
#include "check.h"
#include "log.h"
#include "log_sink.h"
#include "volume.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char base[64], err[1024];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

static void rm_rf(const char *p)
{
    nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void test_disk_error(void)
{
    static const int disk[] = { EIO, EROFS, EACCES, EPERM, ENODEV, ENXIO, EUCLEAN };
    static const int other[] = { 0, ENOSPC, EDQUOT, EINVAL, ENOENT, EEXIST, EFBIG, ENOMEM };
    for (size_t i = 0; i < sizeof disk / sizeof disk[0]; i++)
        CHECK_EQ_INT(vol_disk_error(disk[i]), 1);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        CHECK_EQ_INT(vol_disk_error(other[i]), 0);
}

/* Three dirs: one usable, one a regular file (cannot be created), one
 * fine at open and broken later in three ways the probe must see. */
static void test_open_probe_fail(void)
{
    char a[128], f[128], c[128], p[PATH_MAX], q[PATH_MAX + 8], what[PATH_MAX + 32];
    snprintf(a, sizeof a, "%s/a", base);
    snprintf(f, sizeof f, "%s/file", base);
    snprintf(c, sizeof c, "%s/c", base);
    int fd = open(f, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);

    const char *dirs[3] = { a, f, c };
    struct vol_set *vs = vol_open(dirs, 3, 0, err, sizeof err);
    CHECK(vs != NULL);
    if (!vs)
        return;
    CHECK_EQ_INT(vol_count(vs), 3);
    CHECK_EQ_INT(vol_failed(vs), 1);
    CHECK(vol_usable(vs, 0) && !vol_usable(vs, 1) && vol_usable(vs, 2));
    CHECK_EQ_STR(vol_failure(vs, 0), "");
    snprintf(p, sizeof p, "mkdir %s: Not a directory", f);
    CHECK_EQ_STR(vol_failure(vs, 1), p);
    CHECK_EQ_INT(vol_rbw_fd(vs, 1), -1);
    CHECK(vol_rbw_fd(vs, 0) >= 0);
    /* VERSION in the usable dirs only; the probe left nothing behind */
    snprintf(p, sizeof p, "%s/VERSION", a);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/VERSION", c);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/volume_check.tmp", a);
    CHECK(!exists(p));

    /* a sound dir passes, again and again */
    CHECK_EQ_INT(vol_probe(vs, 0, what, sizeof what), 0);
    CHECK_EQ_INT(vol_probe(vs, 2, what, sizeof what), 0);
    CHECK(!exists(p));

    /* rbw/ replaced by a file, finalized/ gone, the dir gone */
    snprintf(p, sizeof p, "%s/rbw", c);
    snprintf(q, sizeof q, "%s/rbw.old", c);
    CHECK_EQ_INT(rename(p, q), 0);
    fd = open(p, O_WRONLY | O_CREAT, 0644);
    close(fd);
    CHECK_EQ_INT(vol_probe(vs, 2, what, sizeof what), -ENOTDIR);
    snprintf(q, sizeof q, "stat %s", p);
    CHECK_EQ_STR(what, q);
    CHECK_EQ_INT(unlink(p), 0);
    CHECK_EQ_INT(mkdir(p, 0755), 0);
    CHECK_EQ_INT(vol_probe(vs, 2, what, sizeof what), 0);
    snprintf(p, sizeof p, "%s/finalized", c);
    CHECK_EQ_INT(rmdir(p), 0);
    CHECK_EQ_INT(vol_probe(vs, 2, what, sizeof what), -ENOENT);
    CHECK_EQ_INT(mkdir(p, 0755), 0);
    CHECK(vol_usable(vs, 2));                       /* the probe only tells */

    /* space and choice: the failed dir is left out */
    uint64_t cap3, rem3, cap1, rem1, avail;
    vol_space(vs, &cap3, &rem3);
    CHECK(cap3 > 0 && rem3 > 0);
    long d = vol_pick(vs, &avail);
    CHECK(d == 0 || d == 2);
    CHECK(avail > 0);

    /* failing: once, the first reason stays */
    CHECK_EQ_INT(vol_fail(vs, 2, EIO, "write /c/rbw/blk_1"), 1);
    CHECK_EQ_INT(vol_fail(vs, 2, EROFS, "create /c/x"), 0);
    CHECK_EQ_STR(vol_failure(vs, 2), "write /c/rbw/blk_1: Input/output error");
    CHECK_EQ_INT(vol_failed(vs), 2);
    CHECK(!vol_usable(vs, 2));
    vol_space(vs, &cap1, &rem1);
    CHECK_EQ_INT(cap1 * 2, cap3);                    /* same file system: half */
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(vol_pick(vs, &avail), 0);

    CHECK_EQ_INT(vol_fail(vs, 0, 0, "gone"), 1);
    CHECK_EQ_STR(vol_failure(vs, 0), "gone");
    CHECK_EQ_INT(vol_pick(vs, &avail), -1);
    CHECK_EQ_INT(avail, 0);
    vol_space(vs, &cap1, &rem1);
    CHECK(cap1 == 0 && rem1 == 0);
    char sid[VOL_STORAGE_ID_LEN + 1];
    snprintf(sid, sizeof sid, "%s", vol_storage_id(vs));
    vol_close(vs);

    /* at the next open the dirs are usable again, with the same id */
    const char *two[2] = { a, c };
    vs = vol_open(two, 2, 0, err, sizeof err);
    CHECK(vs != NULL);
    if (vs) {
        CHECK_EQ_INT(vol_failed(vs), 0);
        CHECK_EQ_STR(vol_storage_id(vs), sid);
        /* a second set over the same dirs gets none of them */
        CHECK(vol_open(two, 2, 0, err, sizeof err) == NULL);
        CHECK(strstr(err, "no usable data dir") && strstr(err, "in use"));
        vol_close(vs);
    }

    /* a reserve bigger than the disk: usable, but no room */
    vs = vol_open(two, 2, UINT64_MAX / 2, err, sizeof err);
    CHECK(vs != NULL);
    if (vs) {
        CHECK_EQ_INT(vol_pick(vs, &avail), -1);
        vol_space(vs, &cap1, &rem1);
        CHECK(cap1 > 0 && rem1 == 0);
        vol_close(vs);
    }

    /* no usable dir, bad arguments */
    const char *bad[1] = { f };
    CHECK(vol_open(bad, 1, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "no usable data dir") && strstr(err, "Not a directory"));
    CHECK(vol_open(bad, 0, 0, err, sizeof err) == NULL);
    const char *empty[1] = { "" };
    CHECK(vol_open(empty, 1, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "empty or too long") != NULL);
}

/* A malformed VERSION is an error of the set, not a failed dir. */
static void test_bad_version(void)
{
    char a[128], p[PATH_MAX];
    snprintf(a, sizeof a, "%s/v", base);
    const char *one[1] = { a };
    struct vol_set *vs = vol_open(one, 1, 0, err, sizeof err);
    CHECK(vs != NULL);
    vol_close(vs);
    snprintf(p, sizeof p, "%s/VERSION", a);
    FILE *f = fopen(p, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("storage_id=DS-nothex\nlayout=1\n", f);
    fclose(f);
    CHECK(vol_open(one, 1, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "bad storage_id") != NULL);
}

int main(void)
{
    if (getenv("TEST_VERBOSE")) {
        dfs_log_set_level(DFS_LOG_DEBUG);
        dfs_log_set_sink(dfs_log_stderr_sink, NULL);
    }
    snprintf(base, sizeof base, "/tmp/test_vol_XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    test_disk_error();
    test_open_probe_fail();
    test_bad_version();
    rm_rf(base);
    return check_summary();
}
