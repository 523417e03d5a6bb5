/*
 * hdfs_ns.c - the namespace through libhdfs: hdfsCreateDirectory,
 * hdfsExists, hdfsListDirectory, hdfsGetPathInfo, hdfsFreeFileInfo,
 * hdfsFileIsEncrypted, hdfsRename, hdfsDelete, hdfsChmod, hdfsChown,
 * hdfsUtime, hdfsSetReplication, hdfsGet/SetWorkingDirectory and
 * hdfsTruncateFile.
 *
 *   hdfs_ns NAMENODE [LOCALDIR]
 */
#include <time.h>

#include "expect.h"

static const char *base = "/libhdfs/ns";

/* The user this handle acts as: the last component of its working
 * directory, which starts at /user/NAME. */
static char user[128];

static void p(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", base, name);
}

/* A fully qualified name of path: "SCHEME://HOST:PORT" + path, the
 * scheme hdfs (Hadoop) or dfs. */
static void expect_qualified(const char *file, int line, const char *name,
                             const char *path, tPort port)
{
    char auth[32];
    const char *rest;

    snprintf(auth, sizeof(auth), ":%u/", (unsigned)port);
    if (!name || !(strncmp(name, "hdfs://", 7) == 0 ||
                   strncmp(name, "dfs://", 6) == 0) ||
        !(rest = strstr(name, auth)) ||
        strcmp(rest + strlen(auth) - 1, path) != 0)
        th_fail(file, line, "mName \"%s\" is not a qualified URI of %s",
                name ? name : "(null)", path);
}

#define EXPECT_QUALIFIED(name, path, port) \
    expect_qualified(__FILE__, __LINE__, (name), (path), (port))

static void test_working_directory(hdfsFS fs, tPort port)
{
    char wd[512], small[8], path[256];
    const char *slash;
    hdfsFileInfo *info;
    hdfsFile f;

    /* Starts at the user's home directory, /user/NAME. */
    EXPECT(hdfsGetWorkingDirectory(fs, wd, sizeof(wd)) == wd);
    EXPECT_STR_CONTAINS(wd, "/user/");
    slash = strrchr(wd, '/');
    snprintf(user, sizeof(user), "%s", slash ? slash + 1 : "");
    EXPECT(user[0] != '\0');
    EXPECT_NULL_FAIL(hdfsGetWorkingDirectory(fs, small, sizeof(small)));

    /* Relative paths resolve against it. */
    EXPECT_ZERO(hdfsSetWorkingDirectory(fs, base));
    EXPECT(hdfsGetWorkingDirectory(fs, wd, sizeof(wd)) == wd);
    EXPECT_STR_ENDS(wd, base);
    f = hdfsOpenFile(fs, "rel/file", O_WRONLY, 0, 0, 0);
    EXPECT(f != NULL);
    if (f)
        EXPECT_ZERO(hdfsCloseFile(fs, f));
    p(path, sizeof(path), "rel/file");
    EXPECT_ZERO(hdfsExists(fs, path));
    EXPECT_ZERO(hdfsExists(fs, "rel/file"));
    EXPECT_ZERO(hdfsSetWorkingDirectory(fs, "rel"));
    EXPECT(hdfsGetWorkingDirectory(fs, wd, sizeof(wd)) == wd);
    p(path, sizeof(path), "rel");
    EXPECT_STR_ENDS(wd, path);
    info = hdfsGetPathInfo(fs, "file");
    EXPECT(info != NULL);
    if (info) {
        p(path, sizeof(path), "rel/file");
        EXPECT_QUALIFIED(info->mName, path, port);
        hdfsFreeFileInfo(info, 1);
    }
    EXPECT_ZERO(hdfsDelete(fs, "file", 0));
    EXPECT_ZERO(hdfsSetWorkingDirectory(fs, "/"));

    /* A URI naming the namenode without a port means HDFS's 8020. */
    EXPECT(hdfsGetWorkingDirectory(fs, wd, sizeof(wd)) == wd);
    const char *auth = strstr(wd, "://");
    const char *colon = auth ? strrchr(auth, ':') : NULL;
    if (auth && colon && colon > auth + 3) {
        char uri[512];
        snprintf(uri, sizeof(uri), "hdfs://%.*s/", (int)(colon - auth - 3), auth + 3);
        if (port == 8020)
            EXPECT_ZERO(hdfsExists(fs, uri));
        else
            EXPECT_FAIL_ERRNO(hdfsExists(fs, uri), EINVAL);
        snprintf(uri, sizeof(uri), "hdfs://%.*s:%u/", (int)(colon - auth - 3), auth + 3,
                 (unsigned)port);
        EXPECT_ZERO(hdfsExists(fs, uri));
    } else {
        EXPECT(!"the working directory is a qualified URI");
    }
    p(path, sizeof(path), "rel");
    EXPECT_ZERO(hdfsDelete(fs, path, 0));
}

/* A directory of two files and a directory: listing, stat fields. */
static void test_list_and_stat(hdfsFS fs, tPort port, time_t t0)
{
    char dir[256], path[256], want[256];
    hdfsFileInfo *list, *info;
    time_t t1;
    int n = -1, i;

    p(dir, sizeof(dir), "list");
    EXPECT_ZERO(hdfsCreateDirectory(fs, dir));
    EXPECT_ZERO(hdfsCreateDirectory(fs, dir));       /* already there */
    EXPECT_ZERO(hdfsExists(fs, dir));

    /* Empty: NULL, 0 entries, errno 0 (set to something else first). */
    errno = EACCES;
    list = hdfsListDirectory(fs, dir, &n);
    EXPECT(list == NULL && n == 0 && errno == 0);

    p(path, sizeof(path), "list/b-file");
    EXPECT_ZERO(th_write_file(fs, path, 1000, 1, 0, 0));
    p(path, sizeof(path), "list/a-empty");
    EXPECT_ZERO(th_write_file(fs, path, 0, 1, 2, 0));
    p(path, sizeof(path), "list/c-dir/sub");
    EXPECT_ZERO(hdfsCreateDirectory(fs, path));
    t1 = time(NULL);

    n = -1;
    list = hdfsListDirectory(fs, dir, &n);
    EXPECT(list != NULL);
    EXPECT_INT_EQ(3, n);
    for (i = 0; list && i < n && n == 3; i++) {
        hdfsFileInfo *e = &list[i];
        static const char *names[] = { "a-empty", "b-file", "c-dir" };

        p(want, sizeof(want), "list/");
        strcat(want, names[i]);
        EXPECT_QUALIFIED(e->mName, want, port);
        EXPECT(e->mLastMod >= t0 - 5 && e->mLastMod <= t1 + 5);
        EXPECT_STR_EQ(user, e->mOwner);
        EXPECT(e->mGroup && e->mGroup[0]);
        EXPECT_INT_EQ(0, hdfsFileIsEncrypted(e));
        if (i < 2) {
            EXPECT_INT_EQ(kObjectKindFile, e->mKind);
            EXPECT_INT_EQ(i == 0 ? 0 : 1000, e->mSize);
            EXPECT_INT_EQ(i == 0 ? 2 : 3, e->mReplication);
            EXPECT(e->mBlockSize > 0);
            EXPECT_INT_EQ(0644, e->mPermissions);
        } else {
            EXPECT_INT_EQ(kObjectKindDirectory, e->mKind);
            EXPECT_INT_EQ(0, e->mSize);
            EXPECT_INT_EQ(0, e->mReplication);
            EXPECT_INT_EQ(0, e->mBlockSize);
            EXPECT_INT_EQ(0755, e->mPermissions);
        }
    }
    if (list)
        hdfsFreeFileInfo(list, n);

    /* hdfsGetPathInfo: the same as the listing's entry. */
    p(path, sizeof(path), "list/b-file");
    info = hdfsGetPathInfo(fs, path);
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(kObjectKindFile, info->mKind);
        EXPECT_QUALIFIED(info->mName, path, port);
        EXPECT_INT_EQ(1000, info->mSize);
        EXPECT(info->mLastMod >= t0 - 5 && info->mLastMod <= t1 + 5);
        /* Seconds, not milliseconds. */
        EXPECT(info->mLastAccess < t1 + 5);
        hdfsFreeFileInfo(info, 1);
    }
    info = hdfsGetPathInfo(fs, "/");
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(kObjectKindDirectory, info->mKind);
        EXPECT_QUALIFIED(info->mName, "/", port);
        hdfsFreeFileInfo(info, 1);
    }
    p(path, sizeof(path), "list/nothing");
    EXPECT_NULL_ERRNO(hdfsGetPathInfo(fs, path), ENOENT);
    EXPECT_NULL_ERRNO(hdfsListDirectory(fs, path, &n), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsExists(fs, path), ENOENT);

    /* A file lists as itself. */
    p(path, sizeof(path), "list/b-file");
    n = -1;
    list = hdfsListDirectory(fs, path, &n);
    EXPECT(list != NULL && n == 1);
    if (list) {
        EXPECT_QUALIFIED(list[0].mName, path, port);
        hdfsFreeFileInfo(list, n);
    }
}

/* Many entries: more than one page of a namenode listing. */
static void test_big_listing(hdfsFS fs)
{
    char dir[256], path[300];
    hdfsFileInfo *list;
    int i, n = -1, sorted = 1;

    p(dir, sizeof(dir), "big");
    EXPECT_ZERO(hdfsCreateDirectory(fs, dir));
    for (i = 0; i < 1200; i++) {
        snprintf(path, sizeof(path), "%s/d%05d", dir, i);
        if (hdfsCreateDirectory(fs, path) != 0) {
            EXPECT_ZERO(hdfsCreateDirectory(fs, path));
            break;
        }
    }
    list = hdfsListDirectory(fs, dir, &n);
    EXPECT(list != NULL);
    EXPECT_INT_EQ(1200, n);
    for (i = 1; list && i < n; i++)
        if (strcmp(list[i - 1].mName, list[i].mName) >= 0)
            sorted = 0;
    EXPECT(sorted);
    if (list)
        hdfsFreeFileInfo(list, n);
    EXPECT_ZERO(hdfsDelete(fs, dir, 1));
}

static void test_rename_delete(hdfsFS fs)
{
    char a[256], b[256], c[256], d[256], moved[256];

    p(a, sizeof(a), "mv/a");
    p(b, sizeof(b), "mv/b");
    p(c, sizeof(c), "mv/c");
    p(d, sizeof(d), "mv/dir");
    EXPECT_ZERO(th_write_file(fs, a, 10, 2, 0, 0));
    EXPECT_ZERO(th_write_file(fs, c, 20, 3, 0, 0));
    EXPECT_ZERO(hdfsCreateDirectory(fs, d));

    EXPECT_ZERO(hdfsRename(fs, a, b));
    EXPECT_FAIL_ERRNO(hdfsExists(fs, a), ENOENT);
    EXPECT_FILE_PATTERN(fs, b, 10, 2);
    /* Missing source, existing destination file: refused, nothing moves. */
    EXPECT_FAIL(hdfsRename(fs, a, c));
    EXPECT_FAIL(hdfsRename(fs, b, c));
    EXPECT_FILE_PATTERN(fs, b, 10, 2);
    EXPECT_FILE_PATTERN(fs, c, 20, 3);
    /* An existing directory: the source moves into it. */
    EXPECT_ZERO(hdfsRename(fs, b, d));
    p(moved, sizeof(moved), "mv/dir/b");
    EXPECT_FILE_PATTERN(fs, moved, 10, 2);

    /* Delete: a file; a non-empty directory only recursively. */
    EXPECT_ZERO(hdfsDelete(fs, c, 0));
    EXPECT_FAIL_ERRNO(hdfsExists(fs, c), ENOENT);
    EXPECT_FAIL(hdfsDelete(fs, d, 0));
    EXPECT_ZERO(hdfsExists(fs, moved));
    EXPECT_ZERO(hdfsDelete(fs, d, 1));
    EXPECT_FAIL_ERRNO(hdfsExists(fs, d), ENOENT);
    EXPECT_FAIL(hdfsDelete(fs, d, 1));
}

static void test_attributes(hdfsFS fs)
{
    char f[256], d[256];
    hdfsFileInfo *info;
    int rc, e;

    p(f, sizeof(f), "attr/file");
    p(d, sizeof(d), "attr");
    EXPECT_ZERO(th_write_file(fs, f, 100, 4, 0, 0));

    EXPECT_ZERO(hdfsChmod(fs, f, 0600));
    EXPECT_ZERO(hdfsChmod(fs, d, 0710));
    EXPECT_ZERO(hdfsChown(fs, f, NULL, NULL));          /* no change */
    EXPECT_ZERO(hdfsChown(fs, f, NULL, "grp-one"));
    info = hdfsGetPathInfo(fs, f);
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(0600, info->mPermissions);
        EXPECT_STR_EQ(user, info->mOwner);
        EXPECT_STR_EQ("grp-one", info->mGroup);
        hdfsFreeFileInfo(info, 1);
    }
    EXPECT_ZERO(hdfsChown(fs, f, "someone-else", NULL));
    info = hdfsGetPathInfo(fs, f);
    if (info) {
        EXPECT_STR_EQ("someone-else", info->mOwner);
        EXPECT_STR_EQ("grp-one", info->mGroup);
        hdfsFreeFileInfo(info, 1);
    }
    EXPECT_ZERO(hdfsChown(fs, f, user, "grp-two"));
    info = hdfsGetPathInfo(fs, d);
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(0710, info->mPermissions);
        hdfsFreeFileInfo(info, 1);
    }

    /* Times in seconds; -1 leaves one alone. */
    EXPECT_ZERO(hdfsUtime(fs, f, 1000000000, 1100000000));
    info = hdfsGetPathInfo(fs, f);
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(1000000000, info->mLastMod);
        EXPECT_INT_EQ(1100000000, info->mLastAccess);
        hdfsFreeFileInfo(info, 1);
    }
    EXPECT_ZERO(hdfsUtime(fs, f, -1, 1200000000));
    EXPECT_ZERO(hdfsUtime(fs, f, 1300000000, -1));
    info = hdfsGetPathInfo(fs, f);
    if (info) {
        EXPECT_INT_EQ(1300000000, info->mLastMod);
        EXPECT_INT_EQ(1200000000, info->mLastAccess);
        hdfsFreeFileInfo(info, 1);
    }
    EXPECT_ZERO(hdfsUtime(fs, d, 1400000000, -1));
    info = hdfsGetPathInfo(fs, d);
    if (info) {
        EXPECT_INT_EQ(1400000000, info->mLastMod);
        hdfsFreeFileInfo(info, 1);
    }

    /* Replication. */
    EXPECT_ZERO(hdfsSetReplication(fs, f, 2));
    info = hdfsGetPathInfo(fs, f);
    if (info) {
        EXPECT_INT_EQ(2, info->mReplication);
        hdfsFreeFileInfo(info, 1);
    }

    /* Truncate: HDFS supports it (1: done, 0: recovering the last block);
     * libhdfs on a file system that does not says ENOTSUP. */
    errno = 0;
    rc = hdfsTruncateFile(fs, f, 10);
    e = errno;
    if (rc == -1) {
        EXPECT_INT_EQ(ENOTSUP, e);
        info = hdfsGetPathInfo(fs, f);
        if (info) {
            EXPECT_INT_EQ(100, info->mSize);    /* nothing changed */
            hdfsFreeFileInfo(info, 1);
        }
    } else {
        EXPECT(rc == 0 || rc == 1);
    }

    /* Everything on a missing path: ENOENT. */
    p(f, sizeof(f), "attr/missing");
    EXPECT_FAIL_ERRNO(hdfsChmod(fs, f, 0644), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsChown(fs, f, "x", NULL), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsUtime(fs, f, 1, 1), ENOENT);
    EXPECT_FAIL_ERRNO(hdfsSetReplication(fs, f, 2), ENOENT);
}

int main(int argc, char **argv)
{
    struct th_args a;
    time_t t0 = time(NULL);
    hdfsFS fs;

    th_args(argc, argv, &a);
    fs = REQUIRE_NONNULL(hdfsConnectNewInstance(a.host, a.port));
    if (hdfsExists(fs, base) == 0)
        EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsCreateDirectory(fs, base));

    test_working_directory(fs, a.port);
    test_list_and_stat(fs, a.port, t0);
    test_big_listing(fs);
    test_rename_delete(fs);
    test_attributes(fs);

    EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsDisconnect(fs));
    th_done();
}
