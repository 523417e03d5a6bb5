/*
 * shell_util.c - what every command of the dfs shell shares: error
 * reporting and exit codes, option and number parsing, formatting of
 * modes, times, sizes and JSON, path helpers, a tree walk and plain I/O.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shell.h"

volatile sig_atomic_t sh_interrupted;

/* The connected handle (sh_connect): path_normalize() and sh_workdir()
 * ask it, so that the shell shows paths as the library resolves them. */
static dfs_fs *sh_fs;

/* ---------------------------------------------------------- allocation */

static void out_of_memory(void)
{
    fputs("dfs: out of memory\n", stderr);
    exit(EXIT_FAIL);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        out_of_memory();
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        out_of_memory();
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);

    if (!p)
        out_of_memory();
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        out_of_memory();
    return p;
}

void sv_push(struct sh_strvec *sv, char *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 8;
        char **v = realloc(sv->v, cap * sizeof *v);

        if (!v)
            out_of_memory();
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
}

void sv_free(struct sh_strvec *sv)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof *sv);
}

/* -------------------------------------------------------------- errors */

/* Print "dfs: CMD: PATH: msg" (PATH left out when NULL) and record it. */
/* msg past a leading "P: ", or msg itself when it does not start so. */
static const char *skip_prefix(const char *msg, const char *p)
{
    size_t n = strlen(p);

    return strncmp(msg, p, n) == 0 && strncmp(msg + n, ": ", 2) == 0 ? msg + n + 2 : msg;
}

static void report(struct shell *sh, const char *path, const char *msg)
{
    char abs[DFS_SH_PATH_MAX], *copy;
    const char *rest;

    fflush(stdout);
    if (!path) {
        fprintf(stderr, "dfs: %s: %s\n", sh->cmd, msg);
        sh->failed = 1;
        return;
    }
    /* Do not repeat the path when the library's message starts with it,
     * as given or as the library resolved it (the message may be the
     * library's own buffer, which resolving would overwrite). */
    copy = xstrdup(msg);
    rest = skip_prefix(copy, path);
    if (rest == copy && sh->fs &&
        dfs_resolve_path(sh->fs, path, abs, sizeof(abs)) == DFS_OK)
        rest = skip_prefix(copy, abs);
    fprintf(stderr, "dfs: %s: %s: %s\n", sh->cmd, path, rest);
    free(copy);
    sh->failed = 1;
}

void sh_fail_as(struct shell *sh, const char *path, int rc, const char *tmp)
{
    const char *msg = dfs_errmsg(), *p, *hit;
    size_t tlen = tmp ? strlen(tmp) : 0;
    char *buf, *out;

    if (rc < 0)
        rc = -rc;
    if (!msg || !*msg)
        msg = dfs_strerror(rc);
    if (!tlen || !strstr(msg, tmp)) {
        report(sh, path, msg);
        return;
    }
    /* Name the path the user gave where the library named the temporary. */
    buf = out = xmalloc(strlen(msg) / tlen * strlen(path) + strlen(msg) + 1);
    for (p = msg; (hit = strstr(p, tmp)) != NULL; p = hit + tlen) {
        memcpy(out, p, (size_t)(hit - p));
        out += hit - p;
        out = stpcpy(out, path);
    }
    strcpy(out, p);
    report(sh, path, buf);
    free(buf);
}

void sh_fail(struct shell *sh, const char *path, int rc)
{
    sh_fail_as(sh, path, rc, NULL);
}

void sh_fail_errno(struct shell *sh, const char *path, int err)
{
    report(sh, path, strerror(err));
}

void sh_failf(struct shell *sh, const char *path, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        out_of_memory();
    va_end(ap);
    report(sh, path, msg);
    free(msg);
}

int sh_usage(struct shell *sh, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "dfs: %s: ", sh->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'dfs help %s'.\n", sh->cmd);
    return EXIT_USAGE;
}

/* Record a write error on stdout (err: its errno value). */
static void stdout_failed(struct shell *sh, int err)
{
    sh->stdout_broken = 1;
    sh->failed = 1;
    if (err != EPIPE)
        fprintf(stderr, "dfs: %s: write error: %s\n", sh->cmd, strerror(err));
}

int sh_stdout_ok(struct shell *sh)
{
    if (!sh->stdout_broken && ferror(stdout))
        stdout_failed(sh, errno);
    return !sh->stdout_broken;
}

void sh_stdout_error(struct shell *sh, int err)
{
    if (!sh->stdout_broken)
        stdout_failed(sh, err);
}

int sh_status(struct shell *sh)
{
    if (sh_stdout_ok(sh) && fflush(stdout) != 0)
        stdout_failed(sh, errno);
    if (sh_interrupted)
        return 128 + (int)sh_interrupted;
    return sh->failed ? EXIT_FAIL : EXIT_OK;
}

int sh_connect(struct shell *sh, const char *path)
{
    int rc;

    if (sh->fs)
        return DFS_OK;
    rc = dfs_connect(sh->opts, &sh->fs);
    if (rc != DFS_OK) {
        sh->fs = NULL;
        sh_fail(sh, path, rc);
        return rc;
    }
    sh_fs = sh->fs;
    return rc;
}

/* ------------------------------------------------------ option parsing */

void sh_opt_reset(void)
{
    optind = 0;     /* GNU getopt: full re-initialisation */
    opterr = 0;
}

/* Name of the long option whose val is val, for messages. */
static const char *long_name(const struct option *longopts, int val)
{
    for (; longopts && longopts->name; longopts++)
        if (longopts->val == val)
            return longopts->name;
    return "?";
}

int sh_getopt(struct shell *sh, int argc, char **argv, const char *optstring,
              const struct option *longopts)
{
    char spec[64];
    int c;

    /* A leading ':' makes getopt return ':' for a missing argument. */
    snprintf(spec, sizeof spec, ":%s", optstring);
    c = getopt_long(argc, argv, spec, longopts, NULL);
    if (c == '?') {
        if (optopt >= 256)
            sh_usage(sh, "option '--%s' doesn't allow an argument",
                     long_name(longopts, optopt));
        else if (optopt)
            sh_usage(sh, "invalid option -- '%c'", optopt);
        else
            sh_usage(sh, "unrecognized option '%s'", argv[optind - 1]);
        return '?';
    }
    if (c == ':') {
        if (optopt >= 256)
            sh_usage(sh, "option '--%s' requires an argument", long_name(longopts, optopt));
        else
            sh_usage(sh, "option requires an argument -- '%c'", optopt);
        return '?';
    }
    return c;
}

/* ----------------------------------------------------- number parsing */

int parse_uint(const char *s, unsigned long long min, unsigned long long max,
               unsigned long long *out)
{
    unsigned long long v;
    char *end;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int parse_size(const char *s, uint64_t *out)
{
    unsigned long long v;
    unsigned shift = 0;
    char *end;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    switch (toupper((unsigned char)*end)) {
    case '\0': break;
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return -1;
    }
    if (shift && end[1] != '\0')
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

int parse_mode(const char *s, unsigned *out)
{
    unsigned v = 0;
    size_t i;

    for (i = 0; s[i]; i++) {
        if (i >= 5 || s[i] < '0' || s[i] > '7')
            return -1;
        v = v * 8 + (unsigned)(s[i] - '0');
    }
    if (i == 0 || v > 07777)
        return -1;
    *out = v;
    return 0;
}

/* ---------------------------------------------------------- formatting */

void fmt_mode(char out[11], enum dfs_file_type type, unsigned mode)
{
    static const char rwx[] = "rwxrwxrwx";
    int i;

    out[0] = type == DFS_TYPE_DIR ? 'd' : '-';
    for (i = 0; i < 9; i++)
        out[1 + i] = (mode & (0400u >> i)) ? rwx[i] : '-';
    if (mode & 04000)
        out[3] = (mode & 0100) ? 's' : 'S';
    if (mode & 02000)
        out[6] = (mode & 0010) ? 's' : 'S';
    if (mode & 01000)
        out[9] = (mode & 0001) ? 't' : 'T';
    out[10] = '\0';
}

void fmt_time(char *out, size_t len, uint64_t ms, int with_ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    size_t n;

    if (!localtime_r(&t, &tm)) {
        snprintf(out, len, "?");
        return;
    }
    n = strftime(out, len, with_ms ? "%Y-%m-%d %H:%M:%S" : "%Y-%m-%d %H:%M", &tm);
    if (with_ms && n > 0)
        snprintf(out + n, len - n, ".%03u", (unsigned)(ms % 1000));
}

void fmt_human(char *out, size_t len, uint64_t n)
{
    static const char units[] = "KMGTPE";
    double v = (double)n;
    int u = -1;

    if (n < 1024) {
        snprintf(out, len, "%" PRIu64, n);
        return;
    }
    /* 1023.95 would print as "1024.0": move on to the next unit. */
    while (v >= 1023.95 && u < 5) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, len, "%.1f%c", v, units[u]);
}

void fmt_size(char *out, size_t len, uint64_t n, int human)
{
    if (human)
        fmt_human(out, len, n);
    else
        snprintf(out, len, "%" PRIu64, n);
}

void json_str(FILE *out, const char *s)
{
    const unsigned char *p;

    putc('"', out);
    for (p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            putc('\\', out);
            putc(*p, out);
        } else if (*p < 0x20) {
            fprintf(out, "\\u%04x", *p);
        } else {
            putc(*p, out);
        }
    }
    putc('"', out);
}

void json_stat(FILE *out, const char *path, const struct dfs_stat *st)
{
    int dir = st->type == DFS_TYPE_DIR;

    fputs("{\"path\":", out);
    json_str(out, path);
    fprintf(out, ",\"type\":\"%s\",\"length\":%" PRIu64 ",\"replication\":%u"
            ",\"block_size\":%" PRIu64 ",\"mtime\":%" PRIu64 ",\"owner\":",
            dir ? "dir" : "file", dir ? 0 : st->length, dir ? 0 : st->replication,
            dir ? 0 : st->block_size, st->mtime_ms);
    json_str(out, st->owner);
    fputs(",\"group\":", out);
    json_str(out, st->group);
    fprintf(out, ",\"mode\":\"%04o\"}", st->mode & 07777);
}

/* --------------------------------------------------------------- paths */

/* Length of path without its trailing slashes (0 for "/"). */
static size_t trimmed_len(const char *path)
{
    size_t n = strlen(path);

    while (n > 0 && path[n - 1] == '/')
        n--;
    return n;
}

char *path_join(const char *dir, const char *name)
{
    size_t n = trimmed_len(dir);

    return xasprintf("%.*s/%s", (int)n, dir, name);
}

char *path_base(const char *path)
{
    size_t n = trimmed_len(path);
    size_t start = n;

    while (start > 0 && path[start - 1] != '/')
        start--;
    return xasprintf("%.*s", (int)(n - start), path + start);
}

char *path_dir(const char *path)
{
    size_t n = trimmed_len(path);

    while (n > 0 && path[n - 1] != '/')
        n--;                    /* drop the last component */
    if (n == 0)
        return xstrdup(path[0] == '/' ? "/" : ".");
    while (n > 1 && path[n - 1] == '/')
        n--;                    /* and the slashes before it */
    return xasprintf("%.*s", (int)n, path);
}

const char *sh_workdir(void)
{
    static char cwd[DFS_SH_PATH_MAX];

    if (!sh_fs || dfs_get_working_directory(sh_fs, cwd, sizeof cwd) != DFS_OK)
        return "/";
    return cwd;
}

char *path_normalize(const char *path)
{
    char *out;

    if (!sh_fs)
        return xstrdup(path);
    out = xmalloc(DFS_SH_PATH_MAX);
    if (dfs_resolve_path(sh_fs, path, out, DFS_SH_PATH_MAX) != DFS_OK) {
        free(out);
        return xstrdup(path);   /* the library refuses it when used */
    }
    return out;
}

int path_is_root(const char *path)
{
    return path[0] == '/' && trimmed_len(path) == 0;
}

int path_ends_in_slash(const char *path)
{
    size_t n = strlen(path);

    return n > 0 && path[n - 1] == '/';
}

/* ----------------------------------------------------------- tree walk */

void sh_walk(struct shell *sh, const char *path, const struct dfs_stat *st,
             sh_walk_fn fn, void *arg)
{
    struct dfs_stat ent;
    dfs_dir *dir;
    int rc;

    fn(sh, path, st, arg);
    if (st->type != DFS_TYPE_DIR)
        return;
    rc = dfs_opendir(sh->fs, path, &dir);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        return;
    }
    while ((rc = dfs_readdir(dir, &ent)) == 1 && !sh->stdout_broken) {
        char *child = path_join(path, ent.name);

        sh_walk(sh, child, &ent, fn, arg);
        free(child);
    }
    if (rc < 0)
        sh_fail(sh, path, rc);
    dfs_closedir(dir);
}

/* ----------------------------------------------------------------- I/O */

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ssize_t read_full(int fd, void *buf, size_t len)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    char *p = buf;
    size_t got = 0;
    ssize_t n;

    while (got < len) {
        /* poll() is never restarted after a signal, read() is (SA_RESTART):
         * waiting in poll() lets an interruption stop a read from a pipe or
         * a terminal that stays silent. */
        if (poll(&pfd, 1, -1) < 0 && errno == EINTR && sh_interrupted)
            break;
        n = read(fd, p + got, len - got);
        if (n < 0) {
            if (errno == EINTR) {
                if (sh_interrupted)
                    break;
                continue;
            }
            return -errno;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------- signals */

static void on_signal(int sig)
{
    sh_interrupted = sig;
}

void sh_trap_signals(int on)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (on) {
        /* The first signal only sets the flag; the second one kills. */
        sa.sa_handler = on_signal;
        sa.sa_flags = SA_RESETHAND | SA_RESTART;
    } else {
        sa.sa_handler = SIG_DFL;
    }
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}
