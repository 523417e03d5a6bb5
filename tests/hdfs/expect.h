/*
 * expect.h - checks shared by the libhdfs test programs (tests/hdfs/).
 *
 * Each program is written as a Hadoop libhdfs user writes one: it includes
 * only <hdfs.h> (and this header), connects to the namenode given on its
 * command line, and checks return values and errno the way libhdfs
 * documents them.
 *
 *   prog NAMENODE LOCALDIR        NAMENODE "HOST:PORT"; LOCALDIR a scratch
 *                                 directory of the local file system
 *
 * Without arguments they fall back on $DFS_NAMENODE and $TMPDIR (or /tmp).
 *
 * EXPECT_* report a failed check as "file:line: what" on stderr and count
 * it; the program goes on and exits 1 at the end (th_done()).  REQUIRE_*
 * stop the program at once (for handles the rest depends on).  Every
 * macro clears errno before it evaluates its call, so a check of errno
 * sees what that call set.
 */
#ifndef HDFS_TEST_EXPECT_H
#define HDFS_TEST_EXPECT_H

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdfs.h"

static int th_failures;

static inline void th_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline void th_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d: FAILED: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    th_failures++;
}

/* A condition that must hold. */
#define EXPECT(cond) do {                                                   \
        if (!(cond))                                                        \
            th_fail(__FILE__, __LINE__, "%s", #cond);                       \
    } while (0)

/* An int-returning call that must give 0. */
#define EXPECT_ZERO(call) do {                                              \
        int th_r_;                                                          \
        errno = 0;                                                          \
        th_r_ = (call);                                                     \
        if (th_r_ != 0)                                                     \
            th_fail(__FILE__, __LINE__, "%s returned %d (errno %d: %s)",    \
                    #call, th_r_, errno, strerror(errno));                  \
    } while (0)

/* Two integers (any width) that must be equal. */
#define EXPECT_INT_EQ(want, got) do {                                       \
        int64_t th_w_ = (int64_t)(want);                                    \
        int64_t th_g_;                                                      \
        errno = 0;                                                          \
        th_g_ = (int64_t)(got);                                             \
        if (th_w_ != th_g_)                                                 \
            th_fail(__FILE__, __LINE__, "%s is %" PRId64 ", expected %s = " \
                    "%" PRId64 " (errno %d: %s)", #got, th_g_, #want, th_w_,\
                    errno, strerror(errno));                                \
    } while (0)

/* A call that must fail with -1 and set errno to err. */
#define EXPECT_FAIL_ERRNO(call, err) do {                                   \
        int64_t th_r_;                                                      \
        int th_e_;                                                          \
        errno = 0;                                                          \
        th_r_ = (int64_t)(call);                                            \
        th_e_ = errno;                                                      \
        if (th_r_ != -1 || th_e_ != (err))                                  \
            th_fail(__FILE__, __LINE__, "%s returned %" PRId64 " errno %d " \
                    "(%s), expected -1 errno %s", #call, th_r_, th_e_,      \
                    strerror(th_e_), #err);                                 \
    } while (0)

/* A call that must fail with -1 and set some errno (whatever value). */
#define EXPECT_FAIL(call) do {                                              \
        int64_t th_r_;                                                      \
        int th_e_;                                                          \
        errno = 0;                                                          \
        th_r_ = (int64_t)(call);                                            \
        th_e_ = errno;                                                      \
        if (th_r_ != -1 || th_e_ == 0)                                      \
            th_fail(__FILE__, __LINE__, "%s returned %" PRId64 " errno %d, "\
                    "expected -1 with errno set", #call, th_r_, th_e_);     \
    } while (0)

/* A pointer-returning call that must give NULL and set errno to err
 * (0: errno must be 0, as hdfsListDirectory of an empty directory). */
#define EXPECT_NULL_ERRNO(call, err) do {                                   \
        const void *th_p_;                                                  \
        int th_e_;                                                          \
        errno = 0;                                                          \
        th_p_ = (const void *)(call);                                       \
        th_e_ = errno;                                                      \
        if (th_p_ != NULL || th_e_ != (err))                                \
            th_fail(__FILE__, __LINE__, "%s returned %p errno %d (%s), "    \
                    "expected NULL errno %s", #call, th_p_, th_e_,          \
                    strerror(th_e_), #err);                                 \
    } while (0)

/* A pointer-returning call that must give NULL with some errno set. */
#define EXPECT_NULL_FAIL(call) do {                                         \
        const void *th_p_;                                                  \
        int th_e_;                                                          \
        errno = 0;                                                          \
        th_p_ = (const void *)(call);                                       \
        th_e_ = errno;                                                      \
        if (th_p_ != NULL || th_e_ == 0)                                    \
            th_fail(__FILE__, __LINE__, "%s returned %p errno %d, expected "\
                    "NULL with errno set", #call, th_p_, th_e_);            \
    } while (0)

#define EXPECT_STR_EQ(want, got) do {                                       \
        const char *th_w_ = (want), *th_g_ = (got);                         \
        if (!th_g_ || strcmp(th_w_, th_g_) != 0)                            \
            th_fail(__FILE__, __LINE__, "%s is \"%s\", expected \"%s\"",    \
                    #got, th_g_ ? th_g_ : "(null)", th_w_);                 \
    } while (0)

#define EXPECT_STR_CONTAINS(hay, needle) do {                               \
        const char *th_h_ = (hay), *th_n_ = (needle);                       \
        if (!th_h_ || !strstr(th_h_, th_n_))                                \
            th_fail(__FILE__, __LINE__, "%s is \"%s\", expected it to "     \
                    "contain \"%s\"", #hay, th_h_ ? th_h_ : "(null)", th_n_);\
    } while (0)

/* s ends with suffix. */
static inline int th_ends_with(const char *s, const char *suffix)
{
    size_t n = s ? strlen(s) : 0, m = strlen(suffix);
    return s && n >= m && strcmp(s + n - m, suffix) == 0;
}

#define EXPECT_STR_ENDS(s, suffix) do {                                     \
        const char *th_s_ = (s);                                            \
        if (!th_ends_with(th_s_, (suffix)))                                 \
            th_fail(__FILE__, __LINE__, "%s is \"%s\", expected it to end " \
                    "with \"%s\"", #s, th_s_ ? th_s_ : "(null)", (suffix)); \
    } while (0)

#define EXPECT_MEM_EQ(want, got, len) do {                                  \
        if (memcmp((want), (got), (len)) != 0)                              \
            th_fail(__FILE__, __LINE__, "%s differs from %s (%zu bytes)",   \
                    #got, #want, (size_t)(len));                            \
    } while (0)

/* A pointer the rest of the program needs: stop when it is NULL. */
#define REQUIRE_NONNULL(call) ({                                            \
        __typeof__(call) th_v_;                                             \
        errno = 0;                                                          \
        th_v_ = (call);                                                     \
        if (th_v_ == NULL) {                                                \
            th_fail(__FILE__, __LINE__, "%s returned NULL (errno %d: %s)",  \
                    #call, errno, strerror(errno));                         \
            th_done();                                                      \
        }                                                                   \
        th_v_;                                                              \
    })

#define EXPECT_NONNULL(call) do {                                           \
        const void *th_p_;                                                  \
        errno = 0;                                                          \
        th_p_ = (const void *)(call);                                       \
        if (th_p_ == NULL)                                                  \
            th_fail(__FILE__, __LINE__, "%s returned NULL (errno %d: %s)",  \
                    #call, errno, strerror(errno));                         \
    } while (0)

/* Exit: 0 when every check held, else 1 (with a count). */
static inline __attribute__((noreturn)) void th_done(void)
{
    if (th_failures) {
        fprintf(stderr, "%d check(s) failed\n", th_failures);
        exit(1);
    }
    exit(0);
}

/* ------------------------------------------------------------ set-up */

struct th_args {
    const char *namenode;       /* "HOST:PORT" */
    char host[256];
    tPort port;
    const char *localdir;       /* scratch directory on the local FS */
};

/* Read NAMENODE and LOCALDIR from argv, else $DFS_NAMENODE and $TMPDIR;
 * exit 2 when there is no namenode or it is not HOST:PORT. */
static inline void th_args(int argc, char **argv, struct th_args *a)
{
    const char *colon;
    size_t hlen;
    long port;

    a->namenode = argc > 1 ? argv[1] : getenv("DFS_NAMENODE");
    a->localdir = argc > 2 ? argv[2] : getenv("TMPDIR");
    if (!a->localdir)
        a->localdir = "/tmp";
    colon = a->namenode ? strrchr(a->namenode, ':') : NULL;
    if (!colon) {
        fprintf(stderr, "usage: %s HOST:PORT [LOCALDIR] "
                "(or set DFS_NAMENODE)\n", argv[0]);
        exit(2);
    }
    hlen = (size_t)(colon - a->namenode);
    port = strtol(colon + 1, NULL, 10);
    if (hlen == 0 || hlen >= sizeof(a->host) || port <= 0 || port > 65535) {
        fprintf(stderr, "%s: bad namenode address '%s'\n", argv[0],
                a->namenode);
        exit(2);
    }
    memcpy(a->host, a->namenode, hlen);
    a->host[hlen] = '\0';
    a->port = (tPort)port;
}

/* Byte i of the test pattern number seed. */
static inline unsigned char th_byte(uint64_t i, unsigned seed)
{
    uint64_t x = (i + 1) * 0x9E3779B97F4A7C15ull ^ ((uint64_t)seed << 32);
    x ^= x >> 29;
    return (unsigned char)(x ^ (x >> 11));
}

/* A malloc'd buffer of len pattern bytes starting at file offset off. */
static inline unsigned char *th_pattern(uint64_t off, size_t len, unsigned seed)
{
    unsigned char *p = malloc(len ? len : 1);
    size_t i;

    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i < len; i++)
        p[i] = th_byte(off + i, seed);
    return p;
}

/* Write a whole file of len pattern bytes through hdfsOpenFile(O_WRONLY)
 * in pieces of at most 100000 bytes; 0 on success, -1 after reporting. */
static inline int th_write_file(hdfsFS fs, const char *path, size_t len,
                                unsigned seed, short repl, tSize bsize)
{
    hdfsFile f;
    unsigned char *data = th_pattern(0, len, seed);
    size_t off = 0;
    int rc = 0;

    errno = 0;
    f = hdfsOpenFile(fs, path, O_WRONLY | O_CREAT, 0, repl, bsize);
    if (!f) {
        th_fail(__FILE__, __LINE__, "hdfsOpenFile(%s, O_WRONLY): errno %d "
                "(%s)", path, errno, strerror(errno));
        free(data);
        return -1;
    }
    while (off < len) {
        tSize n = (tSize)(len - off > 100000 ? 100000 : len - off);
        tSize w = hdfsWrite(fs, f, data + off, n);
        if (w != n) {
            th_fail(__FILE__, __LINE__, "hdfsWrite(%s, %d) returned %d "
                    "(errno %d)", path, (int)n, (int)w, errno);
            rc = -1;
            break;
        }
        off += (size_t)n;
    }
    if (hdfsCloseFile(fs, f) != 0) {
        th_fail(__FILE__, __LINE__, "hdfsCloseFile(%s): errno %d", path,
                errno);
        rc = -1;
    }
    free(data);
    return rc;
}

/* Read all of path into a malloc'd buffer (*len bytes); NULL after
 * reporting a failure. */
static inline unsigned char *th_read_file(hdfsFS fs, const char *path,
                                          size_t *len)
{
    hdfsFile f;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf;

    errno = 0;
    f = hdfsOpenFile(fs, path, O_RDONLY, 0, 0, 0);
    if (!f) {
        th_fail(__FILE__, __LINE__, "hdfsOpenFile(%s, O_RDONLY): errno %d "
                "(%s)", path, errno, strerror(errno));
        return NULL;
    }
    buf = malloc(cap);
    for (;;) {
        tSize r;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        if (!buf) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
        r = hdfsRead(fs, f, buf + n, (tSize)(cap - n));
        if (r < 0) {
            th_fail(__FILE__, __LINE__, "hdfsRead(%s) at %zu: errno %d (%s)",
                    path, n, errno, strerror(errno));
            free(buf);
            hdfsCloseFile(fs, f);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    hdfsCloseFile(fs, f);
    *len = n;
    return buf;
}

/* path holds exactly len pattern bytes of seed. */
#define EXPECT_FILE_PATTERN(fs, path, len, seed) do {                       \
        size_t th_n_ = 0;                                                   \
        unsigned char *th_b_ = th_read_file((fs), (path), &th_n_);          \
        unsigned char *th_w_ = th_pattern(0, (len), (seed));                \
        if (th_b_ && (th_n_ != (size_t)(len) ||                             \
                      memcmp(th_b_, th_w_, th_n_) != 0))                    \
            th_fail(__FILE__, __LINE__, "%s: %zu bytes read, expected the " \
                    "%zu bytes of pattern %u", (path), th_n_, (size_t)(len),\
                    (unsigned)(seed));                                      \
        free(th_b_);                                                        \
        free(th_w_);                                                        \
    } while (0)

#endif
