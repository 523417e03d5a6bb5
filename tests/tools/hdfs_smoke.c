/*
 * hdfs_smoke.c - a quick tour of libhdfs (hdfs.h) against a live cluster,
 * written the way a libhdfs program is: each call's result and errno are
 * checked; the first surprise ends the run with exit status 1 and a line
 * naming it.  "ok" on stdout at the end.
 *
 * usage: dfs-hdfs-smoke HOST PORT LOCALDIR
 * (LOCALDIR: an empty local directory for the local-file-system part.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdfs.h"
#include "hdfs_test.h"

#define CHECK(cond, ...) do {                                            \
        if (!(cond)) {                                                   \
            fprintf(stderr, "line %d: %s: ", __LINE__, #cond);           \
            fprintf(stderr, __VA_ARGS__);                                \
            fprintf(stderr, " (errno %d %s; %s)\n", errno, strerror(errno), \
                    hdfsGetLastExceptionRootCause() ?                    \
                    hdfsGetLastExceptionRootCause() : "-");              \
            exit(1);                                                     \
        }                                                                \
    } while (0)

#define N 100000

static char data[N], back[N + 100];

static void write_file(hdfsFS fs, const char *path, const char *buf, int len, int flags)
{
    hdfsFile f = hdfsOpenFile(fs, path, flags, 0, 0, 0);
    CHECK(f != NULL, "open %s for writing", path);
    CHECK(hdfsFileIsOpenForWrite(f) == 1, "%s", path);
    CHECK(hdfsWrite(fs, f, buf, len) == len, "write %s", path);
    CHECK(hdfsHFlush(fs, f) == 0, "hflush %s", path);
    CHECK(hdfsCloseFile(fs, f) == 0, "close %s", path);
}

static int read_all(hdfsFS fs, const char *path, char *buf, int max)
{
    hdfsFile f = hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0);
    CHECK(f != NULL, "open %s", path);
    int got = 0;
    for (;;) {
        tSize n = hdfsRead(fs, f, buf + got, max - got);
        CHECK(n >= 0, "read %s", path);
        if (n == 0)
            break;
        got += n;
    }
    CHECK(hdfsCloseFile(fs, f) == 0, "close %s", path);
    return got;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s HOST PORT LOCALDIR\n", argv[0]);
        return 2;
    }
    for (int i = 0; i < N; i++)
        data[i] = (char)(i * 7 + i / 251);
    hdfsFS fs = hdfsConnectAsUser(argv[1], (tPort)atoi(argv[2]), "alice");
    CHECK(fs != NULL, "connect");

    char cwd[512];
    CHECK(hdfsGetWorkingDirectory(fs, cwd, sizeof(cwd)) == cwd, "cwd");
    CHECK(!strncmp(cwd, "hdfs://", 7) && strstr(cwd, "/user/alice"), "cwd %s", cwd);
    CHECK(hdfsGetWorkingDirectory(fs, cwd, 5) == NULL && errno == ENAMETOOLONG, "short");

    /* write, stat, exists */
    write_file(fs, "/smoke/a/f1", data, N, O_WRONLY);
    CHECK(hdfsExists(fs, "/smoke/a/f1") == 0, "exists");
    CHECK(hdfsExists(fs, "/smoke/nope") == -1 && errno == ENOENT, "missing");
    hdfsFileInfo *info = hdfsGetPathInfo(fs, "/smoke/a/f1");
    CHECK(info != NULL, "stat");
    CHECK(info->mKind == kObjectKindFile && info->mSize == N, "kind/size %c %lld",
          info->mKind, (long long)info->mSize);
    CHECK(!strcmp(info->mOwner, "alice"), "owner %s", info->mOwner);
    CHECK(!strncmp(info->mName, "hdfs://", 7) &&
          strstr(info->mName, "/smoke/a/f1") != NULL, "name %s", info->mName);
    CHECK(hdfsExists(fs, info->mName) == 0, "exists by qualified name %s", info->mName);
    CHECK(info->mReplication >= 1 && info->mBlockSize > 0, "repl/bs");
    hdfsFreeFileInfo(info, 1);

    /* read, pread, seek, available, stats */
    hdfsFile r = hdfsOpenFile(fs, "/smoke/a/f1", O_RDONLY, 0, 0, 0);
    CHECK(r != NULL, "open for reading");
    CHECK(hdfsFileIsOpenForRead(r) == 1 && hdfsFileUsesDirectRead(r) == 1, "reader");
    CHECK(hdfsAvailable(fs, r) == N, "available");
    CHECK(hdfsWrite(fs, r, "x", 1) == -1 && errno == EINVAL, "write on reader");
    CHECK(hdfsHFlush(fs, r) == -1 && errno == EBADF, "hflush on reader");
    int got = 0;
    for (;;) {
        tSize n = hdfsRead(fs, r, back + got, 7777);
        CHECK(n >= 0, "read");
        if (n == 0)
            break;
        got += n;
    }
    CHECK(got == N && !memcmp(back, data, N), "content (%d)", got);
    CHECK(hdfsTell(fs, r) == N, "tell at end");
    CHECK(hdfsPread(fs, r, 50000, back, 100) == 100 && !memcmp(back, data + 50000, 100),
          "pread");
    CHECK(hdfsPreadFully(fs, r, N - 10, back, 20) == -1 && errno == EINTR, "preadfully eof");
    CHECK(hdfsPreadFully(fs, r, 10, back, 5000) == 0 && !memcmp(back, data + 10, 5000),
          "preadfully");
    CHECK(hdfsSeek(fs, r, 10) == 0 && hdfsRead(fs, r, back, 10) == 10 &&
          !memcmp(back, data + 10, 10), "seek+read");
    CHECK(hdfsSeek(fs, r, N + 1) == -1 && errno == EINVAL, "seek past end");
    struct hdfsReadStatistics *rs = NULL;
    CHECK(hdfsFileGetReadStatistics(r, &rs) == 0 && rs->totalBytesRead >= N, "stats");
    CHECK(hdfsReadStatisticsGetRemoteBytesRead(rs) >= 0, "remote");
    hdfsFileFreeReadStatistics(rs);
    CHECK(hdfsFileClearReadStatistics(r) == 0, "clear stats");
    struct hadoopRzOptions *ro = hadoopRzOptionsAlloc();
    CHECK(ro != NULL && hdfsSeek(fs, r, 0) == 0, "rz");
    CHECK(hadoopReadZero(r, ro, 1000) == NULL && errno == EPROTONOSUPPORT, "rz no pool");
    CHECK(hadoopRzOptionsSetByteBufferPool(ro, ELASTIC_BYTE_BUFFER_POOL_CLASS) == 0, "pool");
    struct hadoopRzBuffer *rb = hadoopReadZero(r, ro, 1000);
    CHECK(rb && hadoopRzBufferLength(rb) > 0 &&
          !memcmp(hadoopRzBufferGet(rb), data, (size_t)hadoopRzBufferLength(rb)), "rz read");
    hadoopRzBufferFree(r, rb);
    hadoopRzOptionsFree(ro);
    CHECK(hdfsUnbufferFile(r) == 0, "unbuffer");
    CHECK(hdfsCloseFile(fs, r) == 0, "close reader");

    /* refused modes */
    CHECK(hdfsOpenFile(fs, "/smoke/x", O_RDWR, 0, 0, 0) == NULL && errno == ENOTSUP,
          "O_RDWR");
    CHECK(hdfsTruncateFile(fs, "/smoke/a/f1", 10) == -1 && errno == ENOTSUP, "truncate");

    /* append */
    write_file(fs, "/smoke/a/f1", "0123456789", 10, O_WRONLY | O_APPEND);
    info = hdfsGetPathInfo(fs, "/smoke/a/f1");
    CHECK(info && info->mSize == N + 10, "size after append");
    hdfsFreeFileInfo(info, 1);

    /* list */
    CHECK(hdfsCreateDirectory(fs, "/smoke/empty") == 0, "mkdir");
    int n = -1;
    errno = 5;
    CHECK(hdfsListDirectory(fs, "/smoke/empty", &n) == NULL && n == 0 && errno == 0,
          "empty list");
    hdfsFileInfo *list = hdfsListDirectory(fs, "/smoke", &n);
    CHECK(list && n == 2, "list /smoke (%d)", n);
    CHECK(list[0].mKind == kObjectKindDirectory && strstr(list[0].mName, "/smoke/a"),
          "entry 0 %s", list[0].mName);
    hdfsFreeFileInfo(list, n);

    /* rename, chmod, chown, utime */
    CHECK(hdfsRename(fs, "/smoke/a/f1", "/smoke/a/f2") == 0, "rename");
    CHECK(hdfsChmod(fs, "/smoke/a/f2", 0600) == 0, "chmod");
    CHECK(hdfsChown(fs, "/smoke/a/f2", NULL, NULL) == 0, "chown nothing");
    CHECK(hdfsChown(fs, "/smoke/a/f2", NULL, "staff") == 0, "chgrp");
    CHECK(hdfsUtime(fs, "/smoke/a/f2", 1000000, -1) == 0, "utime");
    info = hdfsGetPathInfo(fs, "/smoke/a/f2");
    CHECK(info && info->mPermissions == 0600 && info->mLastMod == 1000000 &&
          !strcmp(info->mGroup, "staff"), "attrs %o %lld %s", info ? info->mPermissions : 0,
          info ? (long long)info->mLastMod : 0LL, info ? info->mGroup : "");
    hdfsFreeFileInfo(info, 1);

    /* hosts, cluster figures */
    char ***hosts = hdfsGetHosts(fs, "/smoke/a/f2", 0, N);
    CHECK(hosts && hosts[0] && hosts[0][0], "hosts");
    hdfsFreeHosts(hosts);
    CHECK(hdfsGetDefaultBlockSize(fs) > 0, "default block size");
    CHECK(hdfsGetDefaultBlockSizeAtPath(fs, "/nowhere") > 0, "at path");
    CHECK(hdfsGetCapacity(fs) >= 0 && hdfsGetUsed(fs) >= 0, "capacity");

    /* relative paths: the working directory */
    CHECK(hdfsCreateDirectory(fs, "rel/x") == 0, "relative mkdir");
    CHECK(hdfsExists(fs, "/user/alice/rel/x") == 0, "relative landed");
    CHECK(hdfsSetWorkingDirectory(fs, "/smoke") == 0, "chdir");
    CHECK(hdfsExists(fs, "a/f2") == 0, "relative to /smoke");

    /* open-file builder and its future */
    hdfsOpenFileBuilder *ob = hdfsOpenFileBuilderAlloc(fs, "/smoke/a/f2");
    ob = hdfsOpenFileBuilderOpt(ob, "fs.option.openfile.read.policy", "sequential");
    CHECK(ob != NULL, "builder");
    hdfsOpenFileFuture *fut = hdfsOpenFileBuilderBuild(ob);
    CHECK(fut != NULL, "build");
    r = hdfsOpenFileFutureGetWithTimeout(fut, 10, jSeconds);
    CHECK(r != NULL && hdfsRead(fs, r, back, 10) == 10 && !memcmp(back, data, 10), "future");
    hdfsOpenFileFutureFree(fut);
    CHECK(hdfsCloseFile(fs, r) == 0, "close future's file");

    /* local file system, copy and move both ways */
    hdfsFS lfs = hdfsConnect(NULL, 0);
    CHECK(lfs != NULL, "local connect");
    char lpath[1024], lpath2[1024];
    snprintf(lpath, sizeof(lpath), "%s/sub/l1", argv[3]);
    snprintf(lpath2, sizeof(lpath2), "%s/back", argv[3]);
    write_file(lfs, lpath, data, 5000, O_WRONLY);
    info = hdfsGetPathInfo(lfs, lpath);
    CHECK(info && !strncmp(info->mName, "file:/", 6) && info->mSize == 5000, "local stat");
    hdfsFreeFileInfo(info, 1);
    CHECK(hdfsCopy(lfs, lpath, fs, "/smoke/fromlocal") == 0, "copy local->dfs");
    CHECK(read_all(fs, "/smoke/fromlocal", back, sizeof(back)) == 5000 &&
          !memcmp(back, data, 5000), "copied content");
    CHECK(hdfsCopy(fs, "/smoke/a", lfs, lpath2) == 0, "copy dfs dir->local");
    snprintf(lpath2, sizeof(lpath2), "%s/back/f2", argv[3]);
    CHECK(read_all(lfs, lpath2, back, sizeof(back)) == N + 10 && !memcmp(back, data, N),
          "copied back");
    CHECK(hdfsMove(lfs, lpath, fs, "/smoke/moved") == 0, "move local->dfs");
    CHECK(hdfsExists(lfs, lpath) == -1 && errno == ENOENT, "moved away");
    CHECK(hdfsExists(fs, "/smoke/moved") == 0, "moved in");
    CHECK(hdfsMove(fs, "/smoke/moved", fs, "/smoke/a") == 0, "move within dfs");
    CHECK(hdfsExists(fs, "/smoke/a/moved") == 0, "moved into a directory");
    CHECK(hdfsDisconnect(lfs) == 0, "local disconnect");

    /* delete */
    CHECK(hdfsDelete(fs, "/smoke", 0) == -1 && errno == ENOTEMPTY, "delete non-empty");
    CHECK(hdfsDelete(fs, "/smoke", 1) == 0, "delete");
    CHECK(hdfsExists(fs, "/smoke") == -1 && errno == ENOENT, "deleted");
    CHECK(hdfsDelete(fs, "/smoke", 1) == -1 && errno == ENOENT, "delete missing");
    CHECK(hdfsGetLastExceptionRootCause() != NULL, "root cause");

    /* a file left open is closed by the disconnect */
    hdfsFile w = hdfsOpenFile(fs, "/user/alice/left-open", O_WRONLY, 0, 0, 0);
    CHECK(w && hdfsWrite(fs, w, data, 100) == 100, "left open");
    CHECK(hdfsDisconnect(fs) == 0, "disconnect");
    fs = hdfsConnectAsUser(argv[1], (tPort)atoi(argv[2]), "alice");
    CHECK(fs != NULL, "reconnect");
    info = hdfsGetPathInfo(fs, "left-open");
    CHECK(info && info->mSize == 100, "closed by disconnect");
    hdfsFreeFileInfo(info, 1);
    CHECK(hdfsDisconnect(fs) == 0, "disconnect");

    /* the ways to name a namenode; the configuration ($DFS_CONF, written
     * by the test with [client] namenode, replication 1, block_size 2M) */
    char *s = NULL;
    int32_t iv = 0;
    CHECK(hdfsConfGetStr("dfs.replication", &s) == 0 && s && !strcmp(s, "1"), "conf str");
    hdfsConfStrFree(s);
    CHECK(hdfsConfGetInt("dfs.blocksize", &iv) == 0 && iv == 2 << 20, "conf int %d", iv);
    CHECK(hdfsConfGetStr("fs.defaultFS", &s) == 0 && s && !strncmp(s, "hdfs://", 7) &&
          !strcmp(strrchr(s, ':') + 1, argv[2]), "defaultFS %s", s ? s : "(null)");
    hdfsConfStrFree(s);
    CHECK(hdfsConfGetStr("no.such.key", &s) == 0 && s == NULL, "missing key");
    iv = 7;
    CHECK(hdfsConfGetInt("no.such.key", &iv) == 0 && iv == 7, "missing int");
    fs = hdfsConnect("default", 0);
    CHECK(fs != NULL && hdfsGetDefaultBlockSize(fs) == 2 << 20, "default namenode");
    CHECK(hdfsDisconnect(fs) == 0, "disconnect");
    char uri[600];
    snprintf(uri, sizeof(uri), "dfs://%s:%s", argv[1], argv[2]);
    fs = hdfsConnect(uri, 0);
    CHECK(fs != NULL && hdfsGetWorkingDirectory(fs, cwd, sizeof(cwd)) &&
          !strncmp(cwd, "dfs://", 6), "dfs:// keeps its scheme: %s", cwd);
    CHECK(hdfsDisconnect(fs) == 0, "disconnect");
    snprintf(uri, sizeof(uri), "hdfs://%s", argv[1]);
    fs = hdfsConnect(uri, (tPort)atoi(argv[2]));
    CHECK(fs != NULL, "hdfs://HOST + port");
    CHECK(hdfsDisconnect(fs) == 0, "disconnect");
    snprintf(uri, sizeof(uri), "hdfs://%s:%s", argv[1], argv[2]);
    CHECK(hdfsConnect(uri, (tPort)atoi(argv[2])) == NULL && errno == EINVAL, "port twice");
    struct hdfsBuilder *bld = hdfsNewBuilder();
    hdfsBuilderSetNameNode(bld, argv[1]);
    hdfsBuilderSetNameNodePort(bld, (tPort)atoi(argv[2]));
    CHECK(hdfsBuilderConfSetStr(bld, "dfs.replication", "nonsense") == 0, "conf set");
    CHECK(hdfsBuilderConnect(bld) == NULL && errno == EINVAL, "bad conf value");

    /* mandatory open options: Hadoop's are understood, others refused */
    fs = hdfsConnect(argv[1], (tPort)atoi(argv[2]));
    CHECK(fs != NULL, "connect");
    write_file(fs, "/smoke2/f", data, 10, O_WRONLY);
    ob = hdfsOpenFileBuilderMust(hdfsOpenFileBuilderAlloc(fs, "/smoke2/f"),
                                 "fs.option.openfile.length", "10");
    fut = hdfsOpenFileBuilderBuild(ob);
    CHECK(fut && (r = hdfsOpenFileFutureGet(fut)) != NULL, "must known key");
    CHECK(hdfsOpenFileFutureGet(fut) == NULL && errno == EINVAL, "handed out once");
    CHECK(hdfsOpenFileFutureCancel(fut, 1) == -1, "nothing to cancel");
    hdfsOpenFileFutureFree(fut);
    CHECK(hdfsCloseFile(fs, r) == 0, "close");
    ob = hdfsOpenFileBuilderMust(hdfsOpenFileBuilderAlloc(fs, "/smoke2/f"),
                                 "no.such.option", "1");
    CHECK(ob && hdfsOpenFileBuilderBuild(ob) == NULL && errno == EINVAL, "must unknown key");
    fut = hdfsOpenFileBuilderBuild(hdfsOpenFileBuilderAlloc(fs, "/smoke2/missing"));
    CHECK(fut && hdfsOpenFileFutureGet(fut) == NULL && errno == ENOENT, "future of a failure");
    hdfsOpenFileFutureFree(fut);
    CHECK(hdfsDisableDomainSocketSecurity() == 0, "domain sockets");
    CHECK(hdfsDelete(fs, "/smoke2", 1) == 0, "cleanup");
    CHECK(hdfsDisconnect(fs) == 0, "disconnect");
    printf("ok\n");
    return 0;
}
