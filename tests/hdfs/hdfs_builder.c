/*
 * hdfs_builder.c - connecting and opening through libhdfs's builders:
 * hdfsNewBuilder and its setters, hdfsBuilderConnect, hdfsFreeBuilder,
 * the namenode named as "host" + port, "default", "dfs://h:p",
 * "hdfs://h:p", "localhost"; hdfsConnect, hdfsConnectAsUser,
 * hdfsConnectNewInstance, hdfsConnectAsUserNewInstance; hdfsConfGetStr,
 * hdfsConfGetInt, hdfsConfStrFree; the stream builder (hdfsStreamBuilder*)
 * and the open-file builder with its future (hdfsOpenFileBuilder*,
 * hdfsOpenFileFuture*).
 *
 *   hdfs_builder NAMENODE [LOCALDIR]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "expect.h"

#define MiB (1024 * 1024)

static const char *base = "/libhdfs/builder";
static struct th_args a;

/* The owner of a file fs creates at base/name. */
static void expect_owner(const char *file, int line, hdfsFS fs,
                         const char *name, const char *want)
{
    char path[256];
    hdfsFileInfo *info;

    snprintf(path, sizeof(path), "%s/%s", base, name);
    if (th_write_file(fs, path, 10, 1, 0, 0) != 0)
        return;
    info = hdfsGetPathInfo(fs, path);
    if (!info) {
        th_fail(file, line, "hdfsGetPathInfo(%s): errno %d", path, errno);
        return;
    }
    if (strcmp(info->mOwner, want) != 0)
        th_fail(file, line, "%s is owned by \"%s\", expected \"%s\"", path,
                info->mOwner, want);
    hdfsFreeFileInfo(info, 1);
}

#define EXPECT_OWNER(fs, name, want) \
    expect_owner(__FILE__, __LINE__, (fs), (name), (want))

/* The default user: NAME of the working directory /user/NAME. */
static void default_user(hdfsFS fs, char *buf, size_t size)
{
    char wd[512];
    const char *slash;

    buf[0] = '\0';
    if (!hdfsGetWorkingDirectory(fs, wd, sizeof(wd))) {
        th_fail(__FILE__, __LINE__, "hdfsGetWorkingDirectory: errno %d", errno);
        return;
    }
    slash = strrchr(wd, '/');
    snprintf(buf, size, "%s", slash ? slash + 1 : "");
}

/* fs answers: "/" is a directory. */
static void expect_works(const char *file, int line, hdfsFS fs)
{
    hdfsFileInfo *info;

    if (!fs) {
        th_fail(file, line, "no connection (errno %d: %s)", errno,
                strerror(errno));
        return;
    }
    info = hdfsGetPathInfo(fs, "/");
    if (!info || info->mKind != kObjectKindDirectory)
        th_fail(file, line, "hdfsGetPathInfo(/) failed (errno %d)", errno);
    if (info)
        hdfsFreeFileInfo(info, 1);
}

#define EXPECT_WORKS(fs) expect_works(__FILE__, __LINE__, (fs))

static void disconnect(hdfsFS fs)
{
    if (fs)
        EXPECT_ZERO(hdfsDisconnect(fs));
}

static void test_builder(const char *me)
{
    struct hdfsBuilder *bld;
    char uri[300];
    hdfsFS fs;

    /* Host and port apart, a user, options. */
    bld = REQUIRE_NONNULL(hdfsNewBuilder());
    hdfsBuilderSetNameNode(bld, a.host);
    hdfsBuilderSetNameNodePort(bld, a.port);
    hdfsBuilderSetForceNewInstance(bld);
    hdfsBuilderSetUserName(bld, "builder-user");
    hdfsBuilderSetKerbTicketCachePath(bld, "/nonexistent/krb5cc");
    EXPECT_ZERO(hdfsBuilderConfSetStr(bld, "dfs.client.unknown.key", "v"));
    fs = hdfsBuilderConnect(bld);
    EXPECT_WORKS(fs);
    if (fs) {
        EXPECT_OWNER(fs, "by-builder-user", "builder-user");
        disconnect(fs);
    }

    /* "hdfs://HOST:PORT" and "dfs://HOST:PORT". */
    snprintf(uri, sizeof(uri), "hdfs://%s:%u", a.host, (unsigned)a.port);
    bld = REQUIRE_NONNULL(hdfsNewBuilder());
    hdfsBuilderSetNameNode(bld, uri);
    fs = hdfsBuilderConnect(bld);
    EXPECT_WORKS(fs);
    if (fs) {
        EXPECT_OWNER(fs, "by-hdfs-uri", me);
        disconnect(fs);
    }
    snprintf(uri, sizeof(uri), "dfs://%s:%u", a.host, (unsigned)a.port);
    fs = hdfsConnect(uri, 0);
    EXPECT_WORKS(fs);
    disconnect(fs);

    /* A host name that resolves. */
    bld = REQUIRE_NONNULL(hdfsNewBuilder());
    hdfsBuilderSetNameNode(bld, "localhost");
    hdfsBuilderSetNameNodePort(bld, a.port);
    fs = hdfsBuilderConnect(bld);
    EXPECT_WORKS(fs);
    disconnect(fs);

    /* A port in the URI and another from the builder: refused. */
    snprintf(uri, sizeof(uri), "hdfs://%s:%u", a.host, (unsigned)a.port);
    bld = REQUIRE_NONNULL(hdfsNewBuilder());
    hdfsBuilderSetNameNode(bld, uri);
    hdfsBuilderSetNameNodePort(bld, a.port);
    EXPECT_NULL_ERRNO(hdfsBuilderConnect(bld), EINVAL);

    /* "default": the namenode of the environment's configuration. */
    setenv("DFS_NAMENODE", a.namenode, 1);
    unsetenv("DFS_CONF");
    fs = hdfsConnect("default", 0);
    EXPECT_WORKS(fs);
    disconnect(fs);
    bld = REQUIRE_NONNULL(hdfsNewBuilder());
    hdfsBuilderSetNameNode(bld, "default");
    fs = hdfsBuilderConnect(bld);
    EXPECT_WORKS(fs);
    disconnect(fs);

    /* A builder never connected is freed by hand. */
    bld = REQUIRE_NONNULL(hdfsNewBuilder());
    hdfsBuilderSetNameNode(bld, a.host);
    EXPECT_ZERO(hdfsBuilderConfSetStr(bld, "dfs.replication", "2"));
    hdfsFreeBuilder(bld);
}

/* Nothing listens on a port: the connection, or its first call, fails
 * (Hadoop connects lazily), and promptly. */
static void test_unreachable(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    hdfsFileInfo *info;
    hdfsFS fs;
    int s;

    s = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(s, (struct sockaddr *)&sa, &len) != 0) {
        th_fail(__FILE__, __LINE__, "no free port: %s", strerror(errno));
        return;
    }
    close(s);       /* the port is free, nobody listens */
    errno = 0;
    fs = hdfsConnect("127.0.0.1", ntohs(sa.sin_port));
    if (!fs) {
        EXPECT(errno != 0);
        return;
    }
    errno = 0;
    info = hdfsGetPathInfo(fs, "/");
    EXPECT(info == NULL && errno != 0);
    if (info)
        hdfsFreeFileInfo(info, 1);
    hdfsDisconnect(fs);
}

static void test_users(const char *me)
{
    hdfsFS fs, fs2;

    fs = hdfsConnectAsUser(a.host, a.port, "alice");
    EXPECT_WORKS(fs);
    if (fs) {
        EXPECT_OWNER(fs, "by-alice", "alice");
        disconnect(fs);
    }
    fs = hdfsConnectAsUserNewInstance(a.host, a.port, "bob");
    EXPECT_WORKS(fs);
    if (fs) {
        EXPECT_OWNER(fs, "by-bob", "bob");
        disconnect(fs);
    }
    /* NULL user: the process's. */
    fs = hdfsConnectAsUser(a.host, a.port, NULL);
    EXPECT_WORKS(fs);
    if (fs) {
        EXPECT_OWNER(fs, "by-null-user", me);
        disconnect(fs);
    }

    /* Two instances are independent: one disconnected, the other works. */
    fs = hdfsConnectNewInstance(a.host, a.port);
    fs2 = hdfsConnectAsUserNewInstance(a.host, a.port, "carol");
    EXPECT_WORKS(fs);
    EXPECT_WORKS(fs2);
    if (fs && fs2) {
        EXPECT_OWNER(fs, "by-me", me);
        EXPECT_OWNER(fs2, "by-carol", "carol");
        disconnect(fs);
        EXPECT_WORKS(fs2);
        EXPECT_OWNER(fs2, "by-carol-2", "carol");
        disconnect(fs2);
    } else {
        disconnect(fs);
        disconnect(fs2);
    }
}

/* Options of the connection: new files' defaults. */
static void test_conf(void)
{
    struct hdfsBuilder *bld;
    char path[256];
    hdfsFileInfo *info;
    char *s = (char *)"untouched";
    int32_t i = -7;
    hdfsFS fs;

    bld = REQUIRE_NONNULL(hdfsNewBuilder());
    hdfsBuilderSetNameNode(bld, a.host);
    hdfsBuilderSetNameNodePort(bld, a.port);
    EXPECT_ZERO(hdfsBuilderConfSetStr(bld, "dfs.blocksize", "2097152"));
    EXPECT_ZERO(hdfsBuilderConfSetStr(bld, "dfs.replication", "2"));
    fs = hdfsBuilderConnect(bld);
    EXPECT_WORKS(fs);
    if (fs) {
        EXPECT_INT_EQ(2 * MiB, hdfsGetDefaultBlockSize(fs));
        EXPECT_INT_EQ(2 * MiB, hdfsGetDefaultBlockSizeAtPath(fs, base));
        snprintf(path, sizeof(path), "%s/conf-defaults", base);
        EXPECT_ZERO(th_write_file(fs, path, 10, 1, 0, 0));
        info = hdfsGetPathInfo(fs, path);
        EXPECT(info != NULL);
        if (info) {
            EXPECT_INT_EQ(2 * MiB, info->mBlockSize);
            EXPECT_INT_EQ(2, info->mReplication);
            hdfsFreeFileInfo(info, 1);
        }
        disconnect(fs);
    }

    /* Keys nobody set: not an error; the string NULL, the int as it was. */
    EXPECT_ZERO(hdfsConfGetStr("libhdfs.test.no.such.key", &s));
    EXPECT(s == NULL);
    hdfsConfStrFree(s);
    EXPECT_ZERO(hdfsConfGetInt("libhdfs.test.no.such.key", &i));
    EXPECT_INT_EQ(-7, i);
    /* A key Hadoop knows: a positive replication when set. */
    s = NULL;
    EXPECT_ZERO(hdfsConfGetStr("dfs.replication", &s));
    if (s) {
        EXPECT(atoi(s) > 0);
        hdfsConfStrFree(s);
    }
    EXPECT_ZERO(hdfsConfGetInt("dfs.replication", &i));
    EXPECT(i == -7 || i > 0);

    /* NULL arguments: a negative errno, as the out-of-memory answer. */
    bld = REQUIRE_NONNULL(hdfsNewBuilder());
    EXPECT_INT_EQ(-EINVAL, hdfsBuilderConfSetStr(bld, NULL, "v"));
    hdfsFreeBuilder(bld);

    /* A namenode named with a scheme gives fs.defaultFS with one. */
    const char *old_nn = getenv("DFS_NAMENODE");
    char *saved_nn = old_nn ? strdup(old_nn) : NULL;
    setenv("DFS_NAMENODE", "dfs://nn.example:1234", 1);
    s = NULL;
    EXPECT_ZERO(hdfsConfGetStr("fs.defaultFS", &s));
    EXPECT(s && !strcmp(s, "hdfs://nn.example:1234"));
    hdfsConfStrFree(s);
    if (saved_nn)
        setenv("DFS_NAMENODE", saved_nn, 1);
    else
        unsetenv("DFS_NAMENODE");
    free(saved_nn);

    /* Negative integers are integers too. */
    char conf[512];
    snprintf(conf, sizeof(conf), "%s/libhdfs-builder.conf", a.localdir);
    FILE *cf = fopen(conf, "w");
    EXPECT(cf != NULL);
    if (cf) {
        fputs("[libhdfstest]\nneg = -1\nbig = -3000000000\n", cf);
        fclose(cf);
        const char *old_conf = getenv("DFS_CONF");
        char *saved_conf = old_conf ? strdup(old_conf) : NULL;
        setenv("DFS_CONF", conf, 1);
        i = 5;
        EXPECT_ZERO(hdfsConfGetInt("libhdfstest.neg", &i));
        EXPECT_INT_EQ(-1, i);
        EXPECT_INT_EQ(EINVAL, hdfsConfGetInt("libhdfstest.big", &i));
        if (saved_conf)
            setenv("DFS_CONF", saved_conf, 1);
        else
            unsetenv("DFS_CONF");
        free(saved_conf);
        unlink(conf);
    }
}

static void test_stream_builder(hdfsFS fs)
{
    struct hdfsStreamBuilder *sb;
    char path[256], buf[16];
    hdfsFileInfo *info;
    hdfsFile f;

    snprintf(path, sizeof(path), "%s/stream-built", base);
    sb = REQUIRE_NONNULL(hdfsStreamBuilderAlloc(fs, path, O_WRONLY));
    EXPECT_ZERO(hdfsStreamBuilderSetBufferSize(sb, 65536));
    EXPECT_ZERO(hdfsStreamBuilderSetReplication(sb, 2));
    EXPECT_ZERO(hdfsStreamBuilderSetDefaultBlockSize(sb, 4LL * MiB));
    f = hdfsStreamBuilderBuild(sb);
    EXPECT(f != NULL);
    if (f) {
        EXPECT_INT_EQ(1, hdfsFileIsOpenForWrite(f));
        EXPECT_INT_EQ(11, hdfsWrite(fs, f, "hello world", 11));
        EXPECT_ZERO(hdfsCloseFile(fs, f));
    }
    info = hdfsGetPathInfo(fs, path);
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(11, info->mSize);
        EXPECT_INT_EQ(2, info->mReplication);
        EXPECT_INT_EQ(4 * MiB, info->mBlockSize);
        hdfsFreeFileInfo(info, 1);
    }

    /* A reader's builder: libhdfs takes these settings for writers only
     * (the buffer size too). */
    sb = REQUIRE_NONNULL(hdfsStreamBuilderAlloc(fs, path, O_RDONLY));
    EXPECT_FAIL_ERRNO(hdfsStreamBuilderSetReplication(sb, 2), EINVAL);
    EXPECT_FAIL_ERRNO(hdfsStreamBuilderSetDefaultBlockSize(sb, MiB), EINVAL);
    EXPECT_FAIL_ERRNO(hdfsStreamBuilderSetBufferSize(sb, 4096), EINVAL);
    f = hdfsStreamBuilderBuild(sb);
    EXPECT(f != NULL);
    if (f) {
        EXPECT_INT_EQ(1, hdfsFileIsOpenForRead(f));
        EXPECT_INT_EQ(11, hdfsRead(fs, f, buf, sizeof(buf)));
        EXPECT_MEM_EQ("hello world", buf, 11);
        EXPECT_ZERO(hdfsCloseFile(fs, f));
    }

    /* An append through the builder; a builder freed unused. */
    sb = REQUIRE_NONNULL(hdfsStreamBuilderAlloc(fs, path, O_WRONLY | O_APPEND));
    f = hdfsStreamBuilderBuild(sb);
    EXPECT(f != NULL);
    if (f) {
        EXPECT_INT_EQ(1, hdfsWrite(fs, f, "!", 1));
        EXPECT_ZERO(hdfsCloseFile(fs, f));
    }
    sb = REQUIRE_NONNULL(hdfsStreamBuilderAlloc(fs, path, O_RDONLY));
    hdfsStreamBuilderFree(sb);

    /* A missing file: the build fails, with ENOENT. */
    snprintf(path, sizeof(path), "%s/no-such-file", base);
    sb = REQUIRE_NONNULL(hdfsStreamBuilderAlloc(fs, path, O_RDONLY));
    EXPECT_NULL_ERRNO(hdfsStreamBuilderBuild(sb), ENOENT);
}

/* The open-file builder: options, the future, cancel after completion. */
static void test_open_file_builder(hdfsFS fs)
{
    hdfsOpenFileBuilder *ob;
    hdfsOpenFileFuture *fut;
    char path[256], buf[16];
    hdfsFile f;
    int e;

    snprintf(path, sizeof(path), "%s/open-built", base);
    EXPECT_ZERO(th_write_file(fs, path, 5000, 9, 0, 0));

    ob = REQUIRE_NONNULL(hdfsOpenFileBuilderAlloc(fs, path));
    ob = REQUIRE_NONNULL(hdfsOpenFileBuilderOpt(ob, "hello", "world"));
    fut = REQUIRE_NONNULL(hdfsOpenFileBuilderBuild(ob));
    f = hdfsOpenFileFutureGet(fut);
    EXPECT(f != NULL);
    /* Cancelling a completed open does nothing and says so. */
    EXPECT(hdfsOpenFileFutureCancel(fut, 0) != 0);
    hdfsOpenFileFutureFree(fut);
    if (f) {
        unsigned char *want = th_pattern(0, 16, 9);
        EXPECT_INT_EQ(1, hdfsFileIsOpenForRead(f));
        EXPECT_INT_EQ(16, hdfsRead(fs, f, buf, 16));
        EXPECT_MEM_EQ(want, buf, 16);
        free(want);
        EXPECT_ZERO(hdfsCloseFile(fs, f));
    }

    ob = REQUIRE_NONNULL(hdfsOpenFileBuilderAlloc(fs, path));
    fut = REQUIRE_NONNULL(hdfsOpenFileBuilderBuild(ob));
    f = hdfsOpenFileFutureGetWithTimeout(fut, 1, jDays);
    EXPECT(f != NULL);
    EXPECT(hdfsOpenFileFutureCancel(fut, 1) != 0);
    hdfsOpenFileFutureFree(fut);
    if (f)
        EXPECT_ZERO(hdfsCloseFile(fs, f));

    /* A future whose file is never fetched, a builder never built. */
    ob = REQUIRE_NONNULL(hdfsOpenFileBuilderAlloc(fs, path));
    fut = REQUIRE_NONNULL(hdfsOpenFileBuilderBuild(ob));
    hdfsOpenFileFutureFree(fut);
    ob = REQUIRE_NONNULL(hdfsOpenFileBuilderAlloc(fs, path));
    hdfsOpenFileBuilderFree(ob);

    /* A future outliving its handle: hdfsDisconnect closes the file, the
     * future knows (no use after free: the ASan build checks). */
    hdfsFS fs2 = REQUIRE_NONNULL(hdfsConnectNewInstance(a.host, a.port));
    ob = REQUIRE_NONNULL(hdfsOpenFileBuilderAlloc(fs2, path));
    fut = REQUIRE_NONNULL(hdfsOpenFileBuilderBuild(ob));
    EXPECT_ZERO(hdfsDisconnect(fs2));
    EXPECT_NULL_ERRNO(hdfsOpenFileFutureGet(fut), EBADF);
    hdfsOpenFileFutureFree(fut);
    fs2 = REQUIRE_NONNULL(hdfsConnectNewInstance(a.host, a.port));
    ob = REQUIRE_NONNULL(hdfsOpenFileBuilderAlloc(fs2, path));
    fut = REQUIRE_NONNULL(hdfsOpenFileBuilderBuild(ob));
    EXPECT_ZERO(hdfsDisconnect(fs2));
    hdfsOpenFileFutureFree(fut);

    /* A missing file: the build or the future reports the failure. */
    snprintf(path, sizeof(path), "%s/no-such-file", base);
    ob = REQUIRE_NONNULL(hdfsOpenFileBuilderAlloc(fs, path));
    errno = 0;
    fut = hdfsOpenFileBuilderBuild(ob);
    if (!fut) {
        EXPECT(errno != 0);
    } else {
        errno = 0;
        f = hdfsOpenFileFutureGet(fut);
        e = errno;
        EXPECT(f == NULL && e != 0);
        if (f)
            hdfsCloseFile(fs, f);
        hdfsOpenFileFutureFree(fut);
    }
}

int main(int argc, char **argv)
{
    char me[128];
    hdfsFS fs;

    th_args(argc, argv, &a);
    fs = REQUIRE_NONNULL(hdfsConnectNewInstance(a.host, a.port));
    if (hdfsExists(fs, base) == 0)
        EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsCreateDirectory(fs, base));
    /* Others' handles create files here too. */
    EXPECT_ZERO(hdfsChmod(fs, base, 0777));
    default_user(fs, me, sizeof(me));
    EXPECT(me[0] != '\0');

    test_builder(me);
    test_unreachable();
    test_users(me);
    test_conf();
    test_stream_builder(fs);
    test_open_file_builder(fs);

    EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsDisconnect(fs));
    th_done();
}
