/*
 * capi_check.c - the C API test suite: every call of dfs.h (but
 * dfs_get_file_checksum, which the shell's tests cover) through the public
 * header only, against live clusters, checking results and error codes.
 *
 *   dfs-capi-check basic NN      options, connection, namespace, data,
 *                                locality, cluster view, bad input
 *   dfs-capi-check uri NN        dfs_connect_uri with the environment's
 *                                default (the caller sets $DFS_NAMENODE or
 *                                $DFS_CONF to NN) and with URIs
 *   dfs-capi-check threads NN    8 threads sharing one handle, each writing
 *                                its file while reading another's
 *   dfs-capi-check two NN1 NN2   two handles to two clusters in one process
 *
 * NN is the namenode's HOST:PORT.  Each subcommand works under its own
 * directory /capi/SUB-PID.  Prints "capi-check SUB: N checks passed" and
 * exits 0; on the first failed check prints file:line, what and the
 * library's message, and exits 1.  Exit 2: usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dfs.h"

static unsigned long checks;    /* atomically counted */
static const char *sub = "";

static void failf(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
static void failf(const char *file, int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "capi-check %s: %s:%d: %s [dfs_errmsg: %s]\n", sub, file, line, msg,
            dfs_errmsg());
    exit(1);
}

static void passed(void)
{
    __atomic_add_fetch(&checks, 1, __ATOMIC_RELAXED);
}

/* A call that must succeed. */
#define OK(call) do { \
        int rc_ = (call); \
        if (rc_ != DFS_OK) \
            failf(__FILE__, __LINE__, "%s -> %d (%s), expected DFS_OK", #call, rc_, \
                  dfs_strerror(rc_)); \
        passed(); \
    } while (0)

/* A call that must fail with code, leaving a message. */
#define ERR(call, code) do { \
        int rc_ = (call); \
        if (rc_ != (code)) \
            failf(__FILE__, __LINE__, "%s -> %d (%s), expected %s", #call, rc_, \
                  dfs_strerror(rc_), #code); \
        if (!*dfs_errmsg()) \
            failf(__FILE__, __LINE__, "%s failed without a message", #call); \
        passed(); \
    } while (0)

#define CHECK(cond) do { \
        if (!(cond)) \
            failf(__FILE__, __LINE__, "check failed: %s", #cond); \
        passed(); \
    } while (0)

#define CHECK_U64(a, b) do { \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b); \
        if (a_ != b_) \
            failf(__FILE__, __LINE__, "%s == %" PRIu64 ", expected %s == %" PRIu64, \
                  #a, a_, #b, b_); \
        passed(); \
    } while (0)

#define CHECK_STR(a, b) do { \
        const char *a_ = (a), *b_ = (b); \
        if (strcmp(a_, b_) != 0) \
            failf(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_, b_); \
        passed(); \
    } while (0)

/* The byte at offset off of test file `id`: position-dependent, so a
 * block or a range read at the wrong place shows. */
static uint8_t pattern(unsigned id, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)id << 40);
    x ^= x >> 29;
    return (uint8_t)(x ^ (x >> 17));
}

static void fill(uint8_t *buf, size_t len, unsigned id, uint64_t off)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = pattern(id, off + i);
}

/* Offset of the first byte of buf that is not file id's at off, or -1. */
static long mismatch(const uint8_t *buf, size_t len, unsigned id, uint64_t off)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != pattern(id, off + i))
            return (long)i;
    return -1;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "capi-check: out of memory\n");
        exit(1);
    }
    return p;
}

static dfs_fs *connect_to(const char *nn, const char *user)
{
    dfs_options *o = dfs_options_create();
    CHECK(o != NULL);
    OK(dfs_options_set_namenode(o, nn));
    if (user)
        dfs_options_set_user(o, user);
    dfs_options_set_timeout_ms(o, 30000);
    dfs_fs *fs = NULL;
    OK(dfs_connect(o, &fs));
    dfs_options_destroy(o);
    CHECK(fs != NULL);
    return fs;
}

/* Write len bytes of pattern id to path in pieces of `piece`. */
static void write_file(dfs_fs *fs, const char *path, unsigned id, size_t len, size_t piece)
{
    dfs_file *w = NULL;
    uint8_t *buf = xmalloc(piece);
    OK(dfs_open_write(fs, path, DFS_O_OVERWRITE | DFS_O_PARENTS, 0644, 0, 0, &w));
    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        fill(buf, n, id, off);
        OK(dfs_write(w, buf, n));
    }
    OK(dfs_close(w));
    free(buf);
}

/* Read path whole with dfs_read and check it is len bytes of pattern id. */
static void verify_file(dfs_fs *fs, const char *path, unsigned id, size_t len)
{
    dfs_file *r = NULL;
    size_t piece = 70001, got = 0;
    uint8_t *buf = xmalloc(piece);
    OK(dfs_open_read(fs, path, &r));
    CHECK_U64(dfs_file_length(r), len);
    for (;;) {
        int64_t n = dfs_read(r, buf, piece);
        if (n < 0)
            failf(__FILE__, __LINE__, "%s: read at %zu: %s", path, got, dfs_strerror((int)-n));
        if (n == 0)
            break;
        long bad = mismatch(buf, (size_t)n, id, got);
        if (bad >= 0)
            failf(__FILE__, __LINE__, "%s: wrong byte at offset %zu", path, got + (size_t)bad);
        got += (size_t)n;
    }
    CHECK_U64(got, len);
    OK(dfs_close(r));
    free(buf);
}

/* ------------------------------------------------------------ basic */

static unsigned log_calls;

static void count_log(enum dfs_log_level level, const char *msg, void *arg)
{
    (void)level;
    (void)msg;
    __atomic_add_fetch((unsigned *)arg, 1, __ATOMIC_RELAXED);
}

static void check_errors(void)
{
    char want[32];
    snprintf(want, sizeof(want), "%d.%d.", DFS_VERSION_MAJOR, DFS_VERSION_MINOR);
    CHECK(strncmp(dfs_version(), want, strlen(want)) == 0);
    CHECK(strstr(dfs_strerror(DFS_ERR_NOENT), "No such file") != NULL);
    CHECK(dfs_strerror(DFS_OK) != NULL);
    CHECK(dfs_strerror(-5) != NULL && dfs_strerror(10000) != NULL);
    CHECK_U64(dfs_errno(DFS_ERR_NOENT), ENOENT);
    CHECK_U64(dfs_errno(DFS_ERR_EXIST), EEXIST);
    CHECK_U64(dfs_errno(DFS_ERR_INVAL), EINVAL);
    CHECK_U64(dfs_errno(DFS_ERR_NOTEMPTY), ENOTEMPTY);
    CHECK(dfs_errno(DFS_ERR_NOENT) != dfs_errno(DFS_ERR_ISDIR));
    CHECK(dfs_errmsg() != NULL);
}

static void check_options(const char *nn, const char *dir)
{
    dfs_options *o = dfs_options_create();
    CHECK(o != NULL);
    char *s;

    /* Every accepted form of the namenode, and the address it means. */
    static const struct { const char *in, *out; } good[] = {
        { "nn.example.com", "nn.example.com:8020" },
        { "nn.example.com:9000", "nn.example.com:9000" },
        { "dfs://nn.example.com:9001", "nn.example.com:9001" },
        { "dfs://nn.example.com:9002/", "nn.example.com:9002" },
        { "hdfs://nn.example.com", "nn.example.com:8020" },
        { "[::1]:9003", "[::1]:9003" },
        { "dfs://[::1]/", "[::1]:8020" },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        OK(dfs_options_set_namenode(o, good[i].in));
        s = dfs_options_get_namenode(o);
        CHECK(s != NULL);
        CHECK_STR(s, good[i].out);
        free(s);
    }
    static const char *const bad[] = {
        "", "http://h:80", "file:///x", "dfs://h:80/user", "h:80/x", "dfs://", "h:",
        "h:0", "h:70000", "::1", "u@h:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ERR(dfs_options_set_namenode(o, bad[i]), DFS_ERR_INVAL);
        s = dfs_options_get_namenode(o);
        CHECK_STR(s, "[::1]:8020");           /* unchanged by a refused value */
        free(s);
    }
    ERR(dfs_options_set_namenode(o, NULL), DFS_ERR_INVAL);
    ERR(dfs_options_set_namenode(o, "ftp://h"), DFS_ERR_INVAL);
    CHECK(strstr(dfs_errmsg(), "scheme") != NULL);

    /* The setters. */
    dfs_options_set_user(o, "capi");
    dfs_options_set_timeout_ms(o, 30000);
    dfs_options_set_replication(o, 0);
    dfs_options_set_block_size(o, 0);
    ERR(dfs_options_set_chunk_size(o, 1000), DFS_ERR_INVAL);
    ERR(dfs_options_set_chunk_size(o, 256), DFS_ERR_INVAL);
    OK(dfs_options_set_chunk_size(o, 4096));
    dfs_options_set_log_func(o, count_log, &log_calls);

    /* Configuration files: a missing one, a bad one, a good one. */
    char path[512];
    snprintf(path, sizeof(path), "%s/none.conf", dir);
    ERR(dfs_options_load_conf(o, path), DFS_ERR_INVAL);
    CHECK(strstr(dfs_errmsg(), "none.conf") != NULL);
    snprintf(path, sizeof(path), "%s/bad.conf", dir);
    FILE *fp = fopen(path, "w");
    CHECK(fp != NULL);
    fputs("[client]\nchunk_size = 3\n", fp);
    fclose(fp);
    ERR(dfs_options_load_conf(o, path), DFS_ERR_INVAL);
    CHECK(strstr(dfs_errmsg(), "bad.conf:2") != NULL);
    snprintf(path, sizeof(path), "%s/good.conf", dir);
    fp = fopen(path, "w");
    CHECK(fp != NULL);
    fprintf(fp, "[client]\nnamenode = dfs://%s/\n", nn);
    fclose(fp);
    OK(dfs_options_load_conf(o, path));
    s = dfs_options_get_namenode(o);
    CHECK_STR(s, nn);
    free(s);

    /* The environment: $DFS_CONF, then $DFS_NAMENODE over it. */
    unsetenv("DFS_CONF");
    unsetenv("DFS_NAMENODE");
    OK(dfs_options_load_conf(o, NULL));        /* nothing to load */
    OK(dfs_options_load_env(o));
    s = dfs_options_get_namenode(o);
    CHECK_STR(s, nn);
    free(s);
    setenv("DFS_NAMENODE", "gopher://h", 1);
    ERR(dfs_options_load_env(o), DFS_ERR_INVAL);
    CHECK(strstr(dfs_errmsg(), "DFS_NAMENODE") != NULL);
    setenv("DFS_NAMENODE", "hdfs://elsewhere:1234", 1);
    setenv("DFS_CONF", path, 1);
    OK(dfs_options_load_env(o));
    s = dfs_options_get_namenode(o);
    CHECK_STR(s, "elsewhere:1234");
    free(s);
    unsetenv("DFS_NAMENODE");
    OK(dfs_options_load_env(o));
    s = dfs_options_get_namenode(o);
    CHECK_STR(s, nn);
    free(s);
    setenv("DFS_CONF", dir, 1);                /* a directory: unreadable */
    ERR(dfs_options_load_env(o), DFS_ERR_INVAL);
    unsetenv("DFS_CONF");

    /* A namenode nobody listens at. */
    dfs_fs *fs = (dfs_fs *)o;                  /* must be reset to NULL */
    OK(dfs_options_set_namenode(o, "127.0.0.1:1"));
    ERR(dfs_connect(o, &fs), DFS_ERR_CONN);
    CHECK(fs == NULL);
    ERR(dfs_connect(NULL, &fs), DFS_ERR_INVAL);

    /* The client host: an IP address, which every connection comes from
     * (one this machine does not have fails them, naming it). */
    OK(dfs_options_set_namenode(o, nn));
    ERR(dfs_options_set_client_host(o, "localhost"), DFS_ERR_INVAL);
    CHECK(strstr(dfs_errmsg(), "'localhost'") != NULL);
    OK(dfs_options_set_client_host(o, "192.0.2.1"));
    ERR(dfs_connect(o, &fs), DFS_ERR_CONN);
    CHECK(fs == NULL);
    CHECK(strstr(dfs_errmsg(), "cannot bind to 192.0.2.1") != NULL);
    setenv("DFS_CLIENT_HOST", "host.example", 1);
    ERR(dfs_options_load_env(o), DFS_ERR_INVAL);
    CHECK(strstr(dfs_errmsg(), "DFS_CLIENT_HOST") != NULL);
    setenv("DFS_CLIENT_HOST", "127.0.0.1", 1);
    OK(dfs_options_load_env(o));
    unsetenv("DFS_CLIENT_HOST");
    OK(dfs_connect(o, &fs));
    dfs_disconnect(fs);
    OK(dfs_options_set_client_host(o, NULL));

    /* Options copied at connect: destroying them leaves the handle. */
    OK(dfs_options_set_namenode(o, nn));
    OK(dfs_connect(o, &fs));
    dfs_options_destroy(o);
    dfs_options_destroy(NULL);
    char uri[300], want[300];
    snprintf(want, sizeof(want), "dfs://%s", nn);
    OK(dfs_get_uri(fs, uri, sizeof(uri)));
    CHECK_STR(uri, want);
    ERR(dfs_get_uri(fs, uri, 8), DFS_ERR_INVAL);
    ERR(dfs_get_uri(fs, uri, strlen(want)), DFS_ERR_INVAL);
    OK(dfs_get_uri(fs, uri, strlen(want) + 1));
    CHECK_STR(dfs_get_user(fs), "capi");
    dfs_disconnect(fs);
    dfs_disconnect(NULL);

    /* A user name must make a home directory /user/NAME: one component. */
    static const char *const bad_users[] = { "..", ".", "a/b", "/", "x\ty" };
    for (size_t i = 0; i < sizeof(bad_users) / sizeof(bad_users[0]); i++) {
        o = dfs_options_create();
        CHECK(o != NULL);
        OK(dfs_options_set_namenode(o, nn));
        dfs_options_set_user(o, bad_users[i]);
        fs = (dfs_fs *)o;
        ERR(dfs_connect(o, &fs), DFS_ERR_INVAL);
        CHECK(fs == NULL);
        char want_msg[64];
        snprintf(want_msg, sizeof(want_msg), "invalid user name '%s'", bad_users[i]);
        CHECK(strstr(dfs_errmsg(), want_msg) != NULL);
        dfs_options_destroy(o);
    }
    fs = NULL;
    ERR(dfs_connect_uri(nn, "..", &fs), DFS_ERR_INVAL);
    CHECK(fs == NULL);
}

/* Working directory and relative paths. */
static void check_cwd(dfs_fs *fs, const char *base)
{
    char buf[4200], want[4200];

    OK(dfs_get_working_directory(fs, buf, sizeof(buf)));
    CHECK_STR(buf, "/user/capi");
    ERR(dfs_get_working_directory(fs, buf, 5), DFS_ERR_INVAL);
    ERR(dfs_get_working_directory(fs, buf, strlen("/user/capi")), DFS_ERR_INVAL);
    /* The home directory need not exist; creating a relative path there. */
    ERR(dfs_create(fs, "rel.txt", 0644), DFS_ERR_NOENT);
    OK(dfs_mkdir(fs, "/user/capi", 0755, 1));
    OK(dfs_create(fs, "rel.txt", 0644));
    struct dfs_stat st;
    OK(dfs_stat(fs, "/user/capi/rel.txt", &st));
    CHECK_STR(st.owner, "capi");
    OK(dfs_delete(fs, "./rel.txt", 0));
    ERR(dfs_stat(fs, "/user/capi/rel.txt", &st), DFS_ERR_NOENT);

    /* Set: absolute, relative to the current one, normalised. */
    OK(dfs_set_working_directory(fs, base));
    OK(dfs_get_working_directory(fs, buf, sizeof(buf)));
    CHECK_STR(buf, base);
    OK(dfs_mkdir(fs, "wd/sub", 0755, 1));
    OK(dfs_set_working_directory(fs, "wd//sub/../sub/"));
    snprintf(want, sizeof(want), "%s/wd/sub", base);
    OK(dfs_get_working_directory(fs, buf, sizeof(buf)));
    CHECK_STR(buf, want);
    OK(dfs_create(fs, "f", 0600));
    snprintf(want, sizeof(want), "%s/wd/sub/f", base);
    OK(dfs_stat(fs, want, &st));
    OK(dfs_stat(fs, "../sub/f", &st));
    CHECK_U64(st.mode, 0600);
    OK(dfs_set_working_directory(fs, "../.."));
    OK(dfs_get_working_directory(fs, buf, sizeof(buf)));
    CHECK_STR(buf, base);
    OK(dfs_set_working_directory(fs, "no/such/dir"));   /* need not exist */
    ERR(dfs_stat(fs, "x", &st), DFS_ERR_NOENT);
    /* Bad ones leave it as it was. */
    ERR(dfs_set_working_directory(fs, ""), DFS_ERR_INVAL);
    ERR(dfs_set_working_directory(fs, "/.."), DFS_ERR_INVAL);
    ERR(dfs_set_working_directory(fs, NULL), DFS_ERR_INVAL);
    snprintf(want, sizeof(want), "%s/no/such/dir", base);
    OK(dfs_get_working_directory(fs, buf, sizeof(buf)));
    CHECK_STR(buf, want);
    OK(dfs_set_working_directory(fs, "/"));
    ERR(dfs_stat(fs, "../x", &st), DFS_ERR_INVAL);
    ERR(dfs_stat(fs, "", &st), DFS_ERR_INVAL);
    ERR(dfs_stat(fs, NULL, &st), DFS_ERR_INVAL);
    OK(dfs_stat(fs, ".", &st));
    CHECK(st.type == DFS_TYPE_DIR && st.name[0] == '\0');
    OK(dfs_set_working_directory(fs, "user/capi"));
    OK(dfs_get_working_directory(fs, buf, sizeof(buf)));
    CHECK_STR(buf, "/user/capi");

    /* The resolved form of a path, without asking the namenode. */
    OK(dfs_resolve_path(fs, "a//./b/../c/", buf, sizeof(buf)));
    CHECK_STR(buf, "/user/capi/a/c");
    OK(dfs_resolve_path(fs, "//x/../", buf, sizeof(buf)));
    CHECK_STR(buf, "/");
    OK(dfs_resolve_path(fs, "../..", buf, sizeof(buf)));
    CHECK_STR(buf, "/");
    OK(dfs_resolve_path(fs, ".", buf, strlen("/user/capi") + 1));
    CHECK_STR(buf, "/user/capi");
    ERR(dfs_resolve_path(fs, ".", buf, strlen("/user/capi")), DFS_ERR_INVAL);
    CHECK(strstr(dfs_errmsg(), "does not fit") != NULL);
    ERR(dfs_resolve_path(fs, "../../..", buf, sizeof(buf)), DFS_ERR_INVAL);
    ERR(dfs_resolve_path(fs, "", buf, sizeof(buf)), DFS_ERR_INVAL);
    ERR(dfs_resolve_path(fs, "a\001b", buf, sizeof(buf)), DFS_ERR_INVAL);
    ERR(dfs_resolve_path(fs, "x", NULL, 10), DFS_ERR_INVAL);
}

/* Namespace calls, their effects and their errors. */
static void check_namespace(dfs_fs *fs, const char *base)
{
    char d[600], f[600], g[600], p[600];
    struct dfs_stat st;

    snprintf(d, sizeof(d), "%s/ns", base);
    snprintf(f, sizeof(f), "%s/ns/f", base);
    snprintf(g, sizeof(g), "%s/ns/g", base);
    OK(dfs_mkdir(fs, d, 0750, 0));
    ERR(dfs_mkdir(fs, d, 0750, 0), DFS_ERR_EXIST);
    OK(dfs_mkdir(fs, d, 0750, 1));
    snprintf(p, sizeof(p), "%s/ns/a/b/c", base);
    ERR(dfs_mkdir(fs, p, 0755, 0), DFS_ERR_NOENT);
    OK(dfs_mkdir(fs, p, 0755, 1));
    OK(dfs_stat(fs, d, &st));
    CHECK(st.type == DFS_TYPE_DIR);
    CHECK_U64(st.mode, 0750);
    CHECK_STR(st.name, "ns");
    CHECK_U64(st.length, 0);

    /* create: an empty complete file with the namenode's defaults. */
    OK(dfs_create(fs, f, 0640));
    ERR(dfs_create(fs, f, 0640), DFS_ERR_EXIST);
    snprintf(p, sizeof(p), "%s/ns/f/x", base);
    ERR(dfs_create(fs, p, 0640), DFS_ERR_NOTDIR);
    OK(dfs_stat(fs, f, &st));
    CHECK(st.type == DFS_TYPE_FILE && st.complete);
    CHECK_U64(st.length, 0);
    CHECK_U64(st.mode, 0640);
    CHECK_STR(st.owner, "capi");
    uint64_t bs = 0;
    unsigned repl = 0;
    OK(dfs_get_default_block_size(fs, &bs));
    OK(dfs_get_default_replication(fs, &repl));
    CHECK_U64(st.block_size, bs);
    CHECK_U64(st.replication, repl);
    CHECK(bs >= 1024 * 1024 && repl >= 1);

    /* stat of what is not there. */
    snprintf(p, sizeof(p), "%s/ns/missing", base);
    ERR(dfs_stat(fs, p, &st), DFS_ERR_NOENT);
    snprintf(p, sizeof(p), "%s/ns/f/below", base);
    CHECK(dfs_stat(fs, p, &st) != DFS_OK);

    /* Attributes. */
    OK(dfs_set_replication(fs, f, 1));
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.replication, 1);
    ERR(dfs_set_replication(fs, d, 2), DFS_ERR_ISDIR);
    ERR(dfs_set_replication(fs, f, 0), DFS_ERR_INVAL);
    OK(dfs_chmod(fs, f, 0604));
    ERR(dfs_chmod(fs, f, 010000), DFS_ERR_INVAL);
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.mode, 0604);
    char group[64];
    snprintf(group, sizeof(group), "%s", st.group);
    OK(dfs_chown(fs, f, "bob", NULL));
    OK(dfs_stat(fs, f, &st));
    CHECK_STR(st.owner, "bob");
    CHECK_STR(st.group, group);
    OK(dfs_chown(fs, f, NULL, "staff"));
    OK(dfs_stat(fs, f, &st));
    CHECK_STR(st.owner, "bob");
    CHECK_STR(st.group, "staff");
    ERR(dfs_chown(fs, f, NULL, NULL), DFS_ERR_INVAL);
    ERR(dfs_chown(fs, f, "a:b", NULL), DFS_ERR_INVAL);
    snprintf(p, sizeof(p), "%s/ns/missing", base);
    ERR(dfs_chmod(fs, p, 0600), DFS_ERR_NOENT);

    /* Times: mtime alone, then utimes with -1 meaning unchanged. */
    OK(dfs_set_mtime(fs, f, 1111000));
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.mtime_ms, 1111000);
    OK(dfs_utimes(fs, f, -1, 2222000));
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.mtime_ms, 1111000);
    CHECK_U64(st.atime_ms, 2222000);
    OK(dfs_utimes(fs, f, 3333000, -1));
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.mtime_ms, 3333000);
    CHECK_U64(st.atime_ms, 2222000);
    OK(dfs_utimes(fs, f, 4444000, 5555000));
    OK(dfs_utimes(fs, f, -1, -1));
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.mtime_ms, 4444000);
    CHECK_U64(st.atime_ms, 5555000);
    OK(dfs_utimes(fs, d, 0, 7));
    OK(dfs_stat(fs, d, &st));
    CHECK_U64(st.mtime_ms, 0);
    CHECK_U64(st.atime_ms, 7);
    ERR(dfs_utimes(fs, p, -1, -1), DFS_ERR_NOENT);
    ERR(dfs_utimes(fs, p, 1, 1), DFS_ERR_NOENT);
    ERR(dfs_utimes(fs, f, -2, 5), DFS_ERR_INVAL);
    ERR(dfs_utimes(fs, "/..", 1, 1), DFS_ERR_INVAL);
    ERR(dfs_set_mtime(fs, p, 1), DFS_ERR_NOENT);

    /* Rename: refused onto an existing file unless overwriting. */
    OK(dfs_create(fs, g, 0644));
    ERR(dfs_rename(fs, g, f, 0), DFS_ERR_EXIST);
    OK(dfs_rename(fs, g, f, 1));
    ERR(dfs_stat(fs, g, &st), DFS_ERR_NOENT);
    OK(dfs_stat(fs, f, &st));
    CHECK_STR(st.owner, "capi");                /* g's attributes now */
    snprintf(p, sizeof(p), "%s/ns/a", base);
    OK(dfs_rename(fs, f, p, 0));                /* into a directory */
    snprintf(p, sizeof(p), "%s/ns/a/f", base);
    OK(dfs_stat(fs, p, &st));
    OK(dfs_rename(fs, p, f, 0));
    ERR(dfs_rename(fs, g, p, 0), DFS_ERR_NOENT);
    snprintf(p, sizeof(p), "%s/ns/a/b", base);
    snprintf(g, sizeof(g), "%s/ns/a/b/c/inside", base);
    ERR(dfs_rename(fs, p, g, 0), DFS_ERR_XDEV);
    ERR(dfs_rename(fs, "/", g, 0), DFS_ERR_INVAL);

    /* Summary and listing. */
    struct dfs_summary sum;
    OK(dfs_content_summary(fs, d, &sum));
    CHECK_U64(sum.files, 1);
    CHECK_U64(sum.dirs, 4);                     /* ns, a, b, c */
    CHECK_U64(sum.length, 0);
    snprintf(p, sizeof(p), "%s/ns/missing", base);
    ERR(dfs_content_summary(fs, p, &sum), DFS_ERR_NOENT);

    dfs_dir *dir = NULL;
    OK(dfs_opendir(fs, d, &dir));
    const char *names[] = { "a", "f" };
    size_t n = 0;
    int r;
    while ((r = dfs_readdir(dir, &st)) == 1) {
        CHECK(n < 2);
        CHECK_STR(st.name, names[n]);
        CHECK(st.type == (n == 0 ? DFS_TYPE_DIR : DFS_TYPE_FILE));
        n++;
    }
    CHECK_U64(r, 0);
    CHECK_U64(n, 2);
    CHECK_U64(dfs_readdir(dir, &st), 0);        /* stays at the end */
    dfs_closedir(dir);
    dfs_closedir(NULL);
    dir = (dfs_dir *)fs;
    ERR(dfs_opendir(fs, p, &dir), DFS_ERR_NOENT);
    CHECK(dir == NULL);
    ERR(dfs_opendir(fs, "../../../x", &dir), DFS_ERR_INVAL);  /* above the root */
    /* An empty directory. */
    snprintf(p, sizeof(p), "%s/ns/a/b/c", base);
    OK(dfs_opendir(fs, p, &dir));
    CHECK_U64(dfs_readdir(dir, &st), 0);
    dfs_closedir(dir);

    /* Delete: a non-empty directory only recursively. */
    ERR(dfs_delete(fs, d, 0), DFS_ERR_NOTEMPTY);
    snprintf(p, sizeof(p), "%s/ns/a", base);
    OK(dfs_delete(fs, p, 1));
    ERR(dfs_stat(fs, p, &st), DFS_ERR_NOENT);
    ERR(dfs_delete(fs, p, 1), DFS_ERR_NOENT);
    OK(dfs_delete(fs, f, 0));
    OK(dfs_delete(fs, d, 0));
}

/* Writing, reading, appending, statistics, files being written. */
static void check_data(dfs_fs *fs, dfs_fs *other, const char *base)
{
    char f[600], p[600];
    struct dfs_stat st;
    uint64_t bs;
    unsigned repl;
    OK(dfs_get_default_block_size(fs, &bs));
    OK(dfs_get_default_replication(fs, &repl));
    size_t len = (size_t)(2 * bs + bs / 2 + 123);     /* two blocks and a part */
    uint8_t *buf = xmalloc(len + 1000);

    /* A writer: its length and position as it goes, what others see. */
    snprintf(f, sizeof(f), "%s/data/file", base);
    dfs_file *w = NULL;
    ERR(dfs_open_write(fs, f, 0, 0644, 0, 0, &w), DFS_ERR_NOENT);   /* no parent */
    CHECK(w == NULL);
    OK(dfs_open_write(fs, f, DFS_O_PARENTS, 0644, 0, 0, &w));
    CHECK_U64(dfs_file_is_writer(w), 1);
    CHECK_U64(dfs_tell(w), 0);
    CHECK_U64(dfs_file_length(w), 0);
    fill(buf, len, 1, 0);
    size_t half = (size_t)bs + 1000;
    OK(dfs_write(w, buf, half));
    CHECK_U64(dfs_tell(w), half);
    CHECK_U64(dfs_file_length(w), half);
    OK(dfs_hflush(w));
    unsigned wanted = 0, got = 0;
    dfs_write_replicas(w, &wanted, &got);
    CHECK_U64(wanted, repl);
    CHECK(got >= 1 && got <= wanted);
    struct dfs_read_stats rs;
    ERR(dfs_get_read_stats(w, &rs), DFS_ERR_INVAL);
    dfs_clear_read_stats(w);                    /* harmless on a writer */
    ERR(dfs_seek(w, 0), DFS_ERR_INVAL);
    CHECK_U64(dfs_pread(w, buf, 1, 0), -DFS_ERR_INVAL);
    CHECK_U64(dfs_read(w, buf, 1), -DFS_ERR_INVAL);

    /* Being written: stat says its visible length, a reader reads it. */
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.complete, 0);
    CHECK_U64(st.length, half);
    OK(dfs_stat(other, f, &st));
    CHECK_U64(st.length, half);
    dfs_dir *dir;
    snprintf(p, sizeof(p), "%s/data", base);
    OK(dfs_opendir(fs, p, &dir));
    CHECK_U64(dfs_readdir(dir, &st), 1);
    CHECK_U64(st.complete, 0);
    dfs_closedir(dir);
    dfs_file *r = NULL;
    OK(dfs_open_read(other, f, &r));
    CHECK_U64(dfs_file_length(r), half);
    uint8_t *rb = xmalloc(len + 1000);
    CHECK_U64(dfs_pread(r, rb, len, 0), half);
    CHECK(mismatch(rb, half, 1, 0) < 0);
    OK(dfs_close(r));
    /* Another client cannot take it over while the writer lives. */
    ERR(dfs_open_append(other, f, &r), DFS_ERR_BUSY);
    dfs_file *w2 = NULL;
    ERR(dfs_open_write(other, f, DFS_O_OVERWRITE, 0644, 0, 0, &w2), DFS_ERR_BUSY);

    OK(dfs_write(w, buf + half, len - half - 100));
    OK(dfs_hsync(w));
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.length, len - 100);
    OK(dfs_write(w, buf + len - 100, 100));
    CHECK_U64(dfs_tell(w), len);
    wanted = got = 0;
    OK(dfs_close_replicas(w, &wanted, &got));
    CHECK_U64(wanted, repl);
    CHECK(got >= 1 && got <= wanted);
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.complete, 1);
    CHECK_U64(st.length, len);
    CHECK_U64(st.block_size, bs);

    /* A reader: read, seek, tell, pread, statistics. */
    OK(dfs_open_read(fs, f, &r));
    CHECK_U64(dfs_file_is_writer(r), 0);
    CHECK_U64(dfs_file_length(r), len);
    CHECK_U64(dfs_tell(r), 0);
    OK(dfs_get_read_stats(r, &rs));
    CHECK_U64(rs.bytes_read, 0);
    size_t done = 0;
    while (done < len) {
        int64_t n = dfs_read(r, rb + done, 65536 + 17);
        CHECK(n > 0);
        done += (size_t)n;
        CHECK_U64(dfs_tell(r), done);
    }
    CHECK_U64(dfs_read(r, rb, 10), 0);          /* end of file */
    CHECK(mismatch(rb, len, 1, 0) < 0);
    OK(dfs_get_read_stats(r, &rs));
    CHECK_U64(rs.bytes_read, len);
    CHECK_U64(rs.local_bytes_read, len);        /* every datanode on loopback */
    /* tools/cluster gives every datanode a short-circuit socket */
    CHECK_U64(rs.short_circuit_bytes_read, len);
    CHECK_U64(rs.zero_copy_bytes_read, 0);
    dfs_clear_read_stats(r);
    OK(dfs_get_read_stats(r, &rs));
    CHECK_U64(rs.bytes_read, 0);
    CHECK_U64(rs.local_bytes_read, 0);
    OK(dfs_seek(r, bs - 10));
    CHECK_U64(dfs_tell(r), bs - 10);
    CHECK_U64(dfs_read(r, rb, 20), 20);         /* across a block boundary */
    CHECK(mismatch(rb, 20, 1, bs - 10) < 0);
    CHECK_U64(dfs_pread(r, rb, 1000, len - 500), 500);
    CHECK(mismatch(rb, 500, 1, len - 500) < 0);
    CHECK_U64(dfs_tell(r), bs + 10);            /* pread leaves the position */
    CHECK_U64(dfs_pread(r, rb, 10, len), 0);
    CHECK_U64(dfs_pread(r, rb, 10, len + 5000), 0);
    OK(dfs_seek(r, len + 10));
    CHECK_U64(dfs_read(r, rb, 10), 0);
    OK(dfs_get_read_stats(r, &rs));
    CHECK_U64(rs.bytes_read, 520);
    CHECK_U64(rs.local_bytes_read, 520);
    OK(dfs_abort(r));                           /* a reader: closed */

    /* Opening what cannot be opened. */
    snprintf(p, sizeof(p), "%s/data/missing", base);
    r = (dfs_file *)fs;
    ERR(dfs_open_read(fs, p, &r), DFS_ERR_NOENT);
    CHECK(r == NULL);
    snprintf(p, sizeof(p), "%s/data", base);
    ERR(dfs_open_read(fs, p, &r), DFS_ERR_ISDIR);
    ERR(dfs_open_read(fs, "/../x", &r), DFS_ERR_INVAL);
    ERR(dfs_open_write(fs, f, 0, 0644, 0, 0, &w), DFS_ERR_EXIST);
    ERR(dfs_open_write(fs, p, DFS_O_OVERWRITE, 0644, 0, 0, &w), DFS_ERR_ISDIR);
    ERR(dfs_open_append(fs, p, &w), DFS_ERR_ISDIR);
    snprintf(p, sizeof(p), "%s/data/missing", base);
    ERR(dfs_open_append(fs, p, &w), DFS_ERR_NOENT);

    /* Append, through a relative path. */
    OK(dfs_set_working_directory(fs, base));
    OK(dfs_open_append(fs, "data/file", &w));
    CHECK_U64(dfs_file_is_writer(w), 1);
    CHECK_U64(dfs_tell(w), len);
    CHECK_U64(dfs_file_length(w), len);
    fill(buf, 1000, 1, len);
    OK(dfs_write(w, buf, 1000));
    CHECK_U64(dfs_tell(w), len + 1000);
    OK(dfs_close(w));
    OK(dfs_set_working_directory(fs, "/user/capi"));
    verify_file(other, f, 1, len + 1000);

    /* Overwrite with explicit replication and block size. */
    OK(dfs_open_write(fs, f, DFS_O_OVERWRITE, 0600, 1, 2 * bs, &w));
    fill(buf, 5000, 2, 0);
    OK(dfs_write(w, buf, 5000));
    OK(dfs_close(w));
    OK(dfs_stat(fs, f, &st));
    CHECK_U64(st.replication, 1);
    CHECK_U64(st.block_size, 2 * bs);
    CHECK_U64(st.length, 5000);
    CHECK_U64(st.mode, 0600);

    /* Abort: the file is gone; a temporary file. */
    snprintf(p, sizeof(p), "%s/data/aborted", base);
    OK(dfs_open_write(fs, p, DFS_O_TEMPORARY, 0644, 0, 0, &w));
    OK(dfs_write(w, buf, 5000));
    OK(dfs_hflush(w));
    OK(dfs_abort(w));
    ERR(dfs_stat(fs, p, &st), DFS_ERR_NOENT);

    /* Lease recovery of a complete file answers at once; missing: NOENT. */
    int closed = 0;
    OK(dfs_recover_lease(fs, f, &closed));
    CHECK_U64(closed, 1);
    OK(dfs_recover_lease(fs, f, NULL));
    snprintf(p, sizeof(p), "%s/data/missing", base);
    ERR(dfs_recover_lease(fs, p, &closed), DFS_ERR_NOENT);

    /* Block locations: one entry per block, in order. */
    snprintf(p, sizeof(p), "%s/data/blocks", base);
    write_file(fs, p, 3, len, 100000);
    struct dfs_block_location *bl = NULL;
    size_t nb = 0;
    OK(dfs_get_block_locations(fs, p, 0, len, &bl, &nb));
    CHECK_U64(nb, 3);
    uint64_t off = 0;
    for (size_t i = 0; i < nb; i++) {
        CHECK_U64(bl[i].offset, off);
        CHECK_U64(bl[i].length, i < 2 ? bs : len - 2 * bs);
        CHECK(bl[i].id != 0 && bl[i].genstamp != 0);
        CHECK(bl[i].nlocs >= 1 && bl[i].nlocs <= repl);
        for (unsigned j = 0; j < bl[i].nlocs; j++) {
            CHECK(bl[i].locs[j].host[0] && bl[i].locs[j].port > 0);
            CHECK(bl[i].locs[j].rack[0] == '/');
            CHECK(bl[i].locs[j].storage_id[0]);
            CHECK_U64(bl[i].locs[j].corrupt, 0);
        }
        off += bl[i].length;
    }
    dfs_free_block_locations(bl, nb);
    OK(dfs_get_block_locations(fs, p, bs + 1, 10, &bl, &nb));
    CHECK_U64(nb, 1);
    CHECK_U64(bl[0].offset, bs);
    dfs_free_block_locations(bl, nb);
    dfs_free_block_locations(NULL, 0);
    snprintf(f, sizeof(f), "%s/data/missing", base);
    ERR(dfs_get_block_locations(fs, f, 0, 1, &bl, &nb), DFS_ERR_NOENT);
    CHECK(bl == NULL && nb == 0);

    /* Health of files, relative paths resolved like everywhere. */
    OK(dfs_set_working_directory(fs, base));
    const char *paths[] = { p, "data/missing", "data" };
    struct dfs_file_health *h = NULL;
    unsigned racks = 0;
    OK(dfs_file_health(fs, paths, 3, &h, &racks));
    CHECK(racks >= 1);
    CHECK_U64(h[0].status, DFS_OK);
    CHECK_U64(h[0].length, len);
    CHECK_U64(h[0].nblocks, 3);
    CHECK_U64(h[0].complete, 1);
    CHECK(h[0].blocks[0].live >= 1 && h[0].blocks[0].nreplicas >= 1);
    CHECK_U64(h[1].status, DFS_ERR_NOENT);
    CHECK_STR(h[1].path, f);
    /* A directory: the namenode answers ISDIR (fsck walks trees itself). */
    CHECK(h[2].status == DFS_ERR_ISDIR || (h[2].status == DFS_OK && h[2].is_dir));
    dfs_free_file_health(h, 3);
    dfs_free_file_health(NULL, 0);
    ERR(dfs_file_health(fs, paths, 1001, &h, NULL), DFS_ERR_INVAL);
    OK(dfs_set_working_directory(fs, "/user/capi"));

    /* The same data read twice by one reader count twice. */
    OK(dfs_open_read(fs, p, &r));
    CHECK_U64(dfs_pread(r, rb, 100, 0), 100);
    CHECK_U64(dfs_pread(r, rb, 100, 0), 100);
    OK(dfs_get_read_stats(r, &rs));
    CHECK_U64(rs.bytes_read, 200);
    OK(dfs_close(r));
    free(buf);
    free(rb);
}

/* Cluster view and operations. */
static void check_cluster(dfs_fs *fs)
{
    struct dfs_cluster_report *rep = NULL;
    OK(dfs_cluster_report(fs, &rep));
    CHECK(rep->ndatanodes >= 1);
    CHECK_U64(rep->safemode, 0);
    CHECK(rep->files >= 1 && rep->blocks >= 1);
    CHECK(rep->capacity >= rep->remaining);
    for (size_t i = 0; i < rep->ndatanodes; i++) {
        CHECK_STR(rep->datanodes[i].state, "live");
        CHECK_STR(rep->datanodes[i].admin_state, "normal");
        CHECK(rep->datanodes[i].port > 0);
    }
    dfs_free_cluster_report(rep);
    dfs_free_cluster_report(NULL);

    int on = -1;
    char msg[256] = "";
    OK(dfs_safemode(fs, DFS_SAFEMODE_GET, &on, msg, sizeof(msg)));
    CHECK_U64(on, 0);
    CHECK(msg[0] != '\0');
    OK(dfs_safemode(fs, DFS_SAFEMODE_GET, NULL, NULL, 0));
    ERR(dfs_safemode(fs, (enum dfs_safemode_action)9, &on, NULL, 0), DFS_ERR_INVAL);

    /* An address with no datanode: remembered, then forgotten again. */
    int reg = -1;
    ERR(dfs_decommission(fs, "not an address", 1, &reg), DFS_ERR_INVAL);
    OK(dfs_decommission(fs, "127.0.0.1:1", 1, &reg));
    CHECK_U64(reg, 0);
    OK(dfs_decommission(fs, "127.0.0.1:1", 0, NULL));
}

/* A failure's message names the path it is about (the absolute path the
 * call resolved): dfs.h promises it. */
#define NAMES(call, code, path) do { \
        ERR(call, code); \
        if (!strstr(dfs_errmsg(), (path))) \
            failf(__FILE__, __LINE__, "%s: message does not name %s", #call, (path)); \
        passed(); \
    } while (0)

static void check_messages(dfs_fs *fs, const char *base)
{
    char miss[256], file[256], under[256], rel[256];
    struct dfs_stat st;
    dfs_file *f = NULL, *g = NULL;
    dfs_dir *d = NULL;
    struct dfs_block_location *bl = NULL;
    size_t n = 0;
    snprintf(miss, sizeof(miss), "%s/msg/missing", base);
    snprintf(file, sizeof(file), "%s/msg/file", base);
    snprintf(under, sizeof(under), "%s/msg/file/under", base);
    OK(dfs_mkdir(fs, file, 0755, 1));
    OK(dfs_delete(fs, file, 0));
    OK(dfs_create(fs, file, 0644));

    NAMES(dfs_stat(fs, miss, &st), DFS_ERR_NOENT, miss);
    NAMES(dfs_open_read(fs, miss, &f), DFS_ERR_NOENT, miss);
    NAMES(dfs_opendir(fs, miss, &d), DFS_ERR_NOENT, miss);
    NAMES(dfs_delete(fs, miss, 0), DFS_ERR_NOENT, miss);
    NAMES(dfs_utimes(fs, miss, 1000, -1), DFS_ERR_NOENT, miss);
    NAMES(dfs_chmod(fs, miss, 0600), DFS_ERR_NOENT, miss);
    NAMES(dfs_rename(fs, miss, file, 1), DFS_ERR_NOENT, miss);
    struct dfs_summary sum;
    NAMES(dfs_content_summary(fs, miss, &sum), DFS_ERR_NOENT, miss);
    NAMES(dfs_get_block_locations(fs, miss, 0, 1, &bl, &n), DFS_ERR_NOENT, miss);
    NAMES(dfs_open_append(fs, miss, &f), DFS_ERR_NOENT, miss);
    NAMES(dfs_create(fs, file, 0644), DFS_ERR_EXIST, file);
    NAMES(dfs_open_write(fs, file, 0, 0644, 0, 0, &f), DFS_ERR_EXIST, file);
    NAMES(dfs_mkdir(fs, under, 0755, 0), DFS_ERR_NOTDIR, under);
    /* A relative path is named as the library resolved it. */
    char wd[1024], abs[1300];
    OK(dfs_get_working_directory(fs, wd, sizeof(wd)));
    snprintf(rel, sizeof(rel), "no-such-%ld", (long)getpid());
    snprintf(abs, sizeof(abs), "%s/%s", wd, rel);
    NAMES(dfs_stat(fs, rel, &st), DFS_ERR_NOENT, abs);

    /* A writer may not recreate the file it is writing (its handle would
     * go on writing a file that is no longer there); another client may
     * not either.  The file stays the first writer's. */
    OK(dfs_open_write(fs, miss, DFS_O_PARENTS, 0644, 0, 0, &f));
    OK(dfs_write(f, "first\n", 6));
    OK(dfs_hflush(f));
    NAMES(dfs_open_write(fs, miss, DFS_O_OVERWRITE, 0644, 0, 0, &g), DFS_ERR_BUSY, miss);
    CHECK(strstr(dfs_errmsg(), "already being written by this client") != NULL);
    CHECK(g == NULL);
    OK(dfs_write(f, "more\n", 5));
    OK(dfs_close(f));
    OK(dfs_stat(fs, miss, &st));
    CHECK_U64(st.length, 11);
    char msgdir[256];
    snprintf(msgdir, sizeof(msgdir), "%s/msg", base);
    OK(dfs_delete(fs, msgdir, 1));
}

static int cmd_basic(const char *nn)
{
    char tmp[] = "/tmp/capi-check.XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    check_errors();
    check_options(nn, tmp);

    dfs_options *o = dfs_options_create();
    OK(dfs_options_set_namenode(o, nn));
    dfs_options_set_user(o, "capi");
    dfs_options_set_timeout_ms(o, 30000);
    dfs_options_set_log_func(o, count_log, &log_calls);
    dfs_fs *fs = NULL, *other = NULL;
    OK(dfs_connect(o, &fs));
    OK(dfs_connect(o, &other));                 /* a second client */
    dfs_options_destroy(o);

    char base[128];
    snprintf(base, sizeof(base), "/capi/basic-%ld", (long)getpid());
    OK(dfs_mkdir(fs, base, 0755, 1));
    check_cwd(fs, base);
    check_namespace(fs, base);
    check_data(fs, other, base);
    check_cluster(fs);
    check_messages(fs, base);
    OK(dfs_delete(fs, base, 1));
    dfs_disconnect(other);
    dfs_disconnect(fs);
    char p[600];
    snprintf(p, sizeof(p), "%s/bad.conf", tmp);
    unlink(p);
    snprintf(p, sizeof(p), "%s/good.conf", tmp);
    unlink(p);
    rmdir(tmp);
    return 0;
}

/* -------------------------------------------------------------- uri */

static int cmd_uri(const char *nn)
{
    char uri[300], want[300];
    snprintf(want, sizeof(want), "dfs://%s", nn);
    dfs_fs *fs = NULL;

    /* The environment's default, as NULL or "default". */
    OK(dfs_connect_uri(NULL, "alice", &fs));
    OK(dfs_get_uri(fs, uri, sizeof(uri)));
    CHECK_STR(uri, want);
    CHECK_STR(dfs_get_user(fs), "alice");
    char wd[300];
    OK(dfs_get_working_directory(fs, wd, sizeof(wd)));
    CHECK_STR(wd, "/user/alice");
    char base[128];
    snprintf(base, sizeof(base), "/capi/uri-%ld", (long)getpid());
    OK(dfs_mkdir(fs, base, 0755, 1));
    struct dfs_stat st;
    OK(dfs_stat(fs, base, &st));
    CHECK_STR(st.owner, "alice");
    dfs_disconnect(fs);

    fs = NULL;
    OK(dfs_connect_uri("default", NULL, &fs));
    OK(dfs_get_uri(fs, uri, sizeof(uri)));
    CHECK_STR(uri, want);
    CHECK(dfs_get_user(fs)[0] != '\0');
    dfs_disconnect(fs);

    /* Every form of an explicit namenode. */
    static const char *const forms[][2] = {
        { "dfs://", "" }, { "dfs://", "/" }, { "hdfs://", "" }, { "hdfs://", "/" }, { "", "" },
    };
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char u[300];
        snprintf(u, sizeof(u), "%s%s%s", forms[i][0], nn, forms[i][1]);
        fs = NULL;
        OK(dfs_connect_uri(u, "bob", &fs));
        OK(dfs_get_uri(fs, uri, sizeof(uri)));
        CHECK_STR(uri, want);
        CHECK_STR(dfs_get_user(fs), "bob");
        OK(dfs_stat(fs, base, &st));
        dfs_disconnect(fs);
    }

    /* Bad ones: refused before any connection; nobody listening. */
    const char *const bad[][3] = {
        { "", "", "" }, { "http://", nn, "" }, { "dfs://", nn, "/user" }, { "dfs:/", nn, "" },
        { "dfs://", "", "" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char u[300];
        snprintf(u, sizeof(u), "%s%s%s", bad[i][0], bad[i][1], bad[i][2]);
        fs = (dfs_fs *)u;
        ERR(dfs_connect_uri(u, NULL, &fs), DFS_ERR_INVAL);
        CHECK(fs == NULL);
    }
    ERR(dfs_connect_uri("dfs://127.0.0.1:1", NULL, &fs), DFS_ERR_CONN);
    CHECK(fs == NULL);

    fs = connect_to(nn, NULL);
    OK(dfs_delete(fs, base, 1));
    dfs_disconnect(fs);
    return 0;
}

/* ---------------------------------------------------------- threads */

#define NTHREADS 8

struct tctx {
    dfs_fs *fs;
    const char *base;
    unsigned id;
    pthread_barrier_t *bar;
};

static size_t tsize(unsigned id)
{
    return 600000 + (size_t)id * 61003;         /* the last ones cross 1M */
}

static void tpath(char *buf, size_t sz, const char *base, const char *kind, unsigned id)
{
    snprintf(buf, sz, "%s/%s%u", base, kind, id);
}

/* Phase 1 writes a<id>; phase 2 writes b<id> while reading a<id+1> in
 * step; phase 3 checks b<id+3> and a directory listing. */
static void *thread_main(void *arg)
{
    struct tctx *t = arg;
    char a[256], b[256], other[256];
    size_t piece = 32768 + t->id * 1000;
    uint8_t *wbuf = xmalloc(piece), *rbuf = xmalloc(piece);

    tpath(a, sizeof(a), t->base, "a", t->id);
    write_file(t->fs, a, t->id, tsize(t->id), piece);
    pthread_barrier_wait(t->bar);

    unsigned peer = (t->id + 1) % NTHREADS;
    tpath(b, sizeof(b), t->base, "b", t->id);
    tpath(other, sizeof(other), t->base, "a", peer);
    dfs_file *w = NULL, *r = NULL;
    OK(dfs_open_write(t->fs, b, 0, 0644, 0, 0, &w));
    OK(dfs_open_read(t->fs, other, &r));
    CHECK_U64(dfs_file_length(r), tsize(peer));
    size_t wlen = tsize(t->id) + 7777, woff = 0, roff = 0;
    while (woff < wlen || roff < tsize(peer)) {
        if (woff < wlen) {
            size_t n = wlen - woff < piece ? wlen - woff : piece;
            fill(wbuf, n, 100 + t->id, woff);
            OK(dfs_write(w, wbuf, n));
            woff += n;
            if (woff > wlen / 2 && woff - n <= wlen / 2)
                OK(dfs_hflush(w));
        }
        if (roff < tsize(peer)) {
            int64_t n = dfs_read(r, rbuf, piece);
            if (n <= 0)
                failf(__FILE__, __LINE__, "%s: read at %zu -> %lld", other, roff,
                      (long long)n);
            long bad = mismatch(rbuf, (size_t)n, peer, roff);
            if (bad >= 0)
                failf(__FILE__, __LINE__, "%s: wrong byte at %zu", other, roff + (size_t)bad);
            roff += (size_t)n;
        }
    }
    struct dfs_read_stats rs;
    OK(dfs_get_read_stats(r, &rs));
    CHECK_U64(rs.bytes_read, tsize(peer));
    OK(dfs_close(r));
    CHECK_U64(dfs_tell(w), wlen);
    OK(dfs_close(w));
    pthread_barrier_wait(t->bar);

    unsigned third = (t->id + 3) % NTHREADS;
    tpath(other, sizeof(other), t->base, "b", third);
    verify_file(t->fs, other, 100 + third, tsize(third) + 7777);
    struct dfs_stat st;
    OK(dfs_stat(t->fs, other, &st));
    CHECK_U64(st.length, tsize(third) + 7777);
    dfs_dir *d;
    OK(dfs_opendir(t->fs, t->base, &d));
    size_t n = 0;
    while (dfs_readdir(d, &st) == 1)
        n++;
    dfs_closedir(d);
    CHECK_U64(n, 2 * NTHREADS);
    /* Errors stay per thread. */
    char missing[256];
    tpath(missing, sizeof(missing), t->base, "missing", t->id);
    ERR(dfs_stat(t->fs, missing, &st), DFS_ERR_NOENT);
    free(wbuf);
    free(rbuf);
    return NULL;
}

#define CWD_STEPS 200

/* CWD_STEPS relative steps down one "d" each, racing the other threads. */
static void *cwd_main(void *arg)
{
    dfs_fs *fs = arg;
    for (unsigned i = 0; i < CWD_STEPS; i++)
        OK(dfs_set_working_directory(fs, "d"));
    return NULL;
}

static int cmd_threads(const char *nn)
{
    dfs_fs *fs = connect_to(nn, "capi");
    char base[128];
    snprintf(base, sizeof(base), "/capi/threads-%ld", (long)getpid());
    OK(dfs_mkdir(fs, base, 0755, 1));
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, NTHREADS);
    pthread_t th[NTHREADS];
    struct tctx t[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        t[i] = (struct tctx){ .fs = fs, .base = base, .id = i, .bar = &bar };
        CHECK(pthread_create(&th[i], NULL, thread_main, &t[i]) == 0);
    }
    for (unsigned i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&bar);
    struct dfs_summary sum;
    OK(dfs_content_summary(fs, base, &sum));
    CHECK_U64(sum.files, 2 * NTHREADS);

    /* Relative working directory changes at once: none is lost. */
    OK(dfs_set_working_directory(fs, "/"));
    for (unsigned i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&th[i], NULL, cwd_main, fs) == 0);
    for (unsigned i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    char cwd[4200];
    OK(dfs_get_working_directory(fs, cwd, sizeof(cwd)));
    CHECK_U64(strlen(cwd), 2 * NTHREADS * CWD_STEPS);
    OK(dfs_delete(fs, base, 1));
    dfs_disconnect(fs);
    return 0;
}

/* -------------------------------------------------------------- two */

struct twoctx {
    dfs_fs *fs;
    const char *path;
    unsigned id;
};

/* Write and read back the same path on one cluster. */
static void *two_main(void *arg)
{
    struct twoctx *t = arg;
    for (unsigned round = 0; round < 3; round++) {
        write_file(t->fs, t->path, t->id + round, 300000 + t->id * 1000, 50000);
        verify_file(t->fs, t->path, t->id + round, 300000 + t->id * 1000);
    }
    return NULL;
}

static int cmd_two(const char *nn1, const char *nn2)
{
    dfs_fs *fs1 = connect_to(nn1, "one");
    dfs_fs *fs2 = connect_to(nn2, "two");
    char u1[300], u2[300];
    OK(dfs_get_uri(fs1, u1, sizeof(u1)));
    OK(dfs_get_uri(fs2, u2, sizeof(u2)));
    CHECK(strcmp(u1, u2) != 0);
    CHECK_STR(dfs_get_user(fs1), "one");
    CHECK_STR(dfs_get_user(fs2), "two");

    /* Each its own working directory. */
    OK(dfs_set_working_directory(fs1, "/elsewhere"));
    char wd[300];
    OK(dfs_get_working_directory(fs2, wd, sizeof(wd)));
    CHECK_STR(wd, "/user/two");
    OK(dfs_get_working_directory(fs1, wd, sizeof(wd)));
    CHECK_STR(wd, "/elsewhere");

    /* Each its own defaults, as its new files get them. */
    char base[128], path[256];
    snprintf(base, sizeof(base), "/capi/two-%ld", (long)getpid());
    snprintf(path, sizeof(path), "%s/same-name", base);
    OK(dfs_mkdir(fs1, base, 0755, 1));
    OK(dfs_mkdir(fs2, base, 0755, 1));
    dfs_fs *both[2] = { fs1, fs2 };
    uint64_t bs[2];
    unsigned repl[2];
    for (int i = 0; i < 2; i++) {
        OK(dfs_get_default_block_size(both[i], &bs[i]));
        OK(dfs_get_default_replication(both[i], &repl[i]));
        OK(dfs_create(both[i], path, 0644));
        struct dfs_stat st;
        OK(dfs_stat(both[i], path, &st));
        CHECK_U64(st.block_size, bs[i]);
        CHECK_U64(st.replication, repl[i]);
        CHECK_STR(st.owner, i ? "two" : "one");
    }
    CHECK(bs[0] != bs[1] || repl[0] != repl[1]);

    /* The same path written at the same time on both, different data. */
    pthread_t th[2];
    struct twoctx t[2] = { { fs1, path, 10 }, { fs2, path, 20 } };
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, two_main, &t[i]) == 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    verify_file(fs1, path, 12, 300000 + 10 * 1000);
    verify_file(fs2, path, 22, 300000 + 20 * 1000);

    /* Copy from one cluster to the other. */
    char copy[256];
    snprintf(copy, sizeof(copy), "%s/copy", base);
    dfs_file *r, *w;
    OK(dfs_open_read(fs1, path, &r));
    OK(dfs_open_write(fs2, copy, 0, 0644, 0, 0, &w));
    uint8_t buf[40000];
    int64_t n;
    while ((n = dfs_read(r, buf, sizeof(buf))) > 0)
        OK(dfs_write(w, buf, (size_t)n));
    CHECK_U64(n, 0);
    OK(dfs_close(r));
    OK(dfs_close(w));
    verify_file(fs2, copy, 12, 300000 + 10 * 1000);
    struct dfs_stat st;
    ERR(dfs_stat(fs1, copy, &st), DFS_ERR_NOENT);

    /* Their datanodes are their own. */
    struct dfs_cluster_report *r1, *r2;
    OK(dfs_cluster_report(fs1, &r1));
    OK(dfs_cluster_report(fs2, &r2));
    for (size_t i = 0; i < r1->ndatanodes; i++)
        for (size_t j = 0; j < r2->ndatanodes; j++)
            CHECK(r1->datanodes[i].port != r2->datanodes[j].port);
    dfs_free_cluster_report(r1);
    dfs_free_cluster_report(r2);

    /* Deleting on one leaves the other. */
    OK(dfs_delete(fs1, base, 1));
    OK(dfs_stat(fs2, path, &st));
    CHECK_U64(st.length, 300000 + 20 * 1000);
    OK(dfs_delete(fs2, base, 1));
    dfs_disconnect(fs1);
    dfs_disconnect(fs2);
    return 0;
}

int main(int argc, char **argv)
{
    int rc;
    if (argc == 3 && strcmp(argv[1], "basic") == 0)
        rc = (sub = "basic", cmd_basic(argv[2]));
    else if (argc == 3 && strcmp(argv[1], "uri") == 0)
        rc = (sub = "uri", cmd_uri(argv[2]));
    else if (argc == 3 && strcmp(argv[1], "threads") == 0)
        rc = (sub = "threads", cmd_threads(argv[2]));
    else if (argc == 4 && strcmp(argv[1], "two") == 0)
        rc = (sub = "two", cmd_two(argv[2], argv[3]));
    else {
        fprintf(stderr, "usage: dfs-capi-check basic|uri|threads NN\n"
                        "       dfs-capi-check two NN1 NN2\n");
        return 2;
    }
    if (rc == 0)
        printf("capi-check %s: %lu checks passed\n", sub, checks);
    return rc;
}
