/*
 * shell_query.c - commands of the dfs shell that ask about files rather
 * than change them: test, count, find, checksum, and tail / head (the
 * ends of a file; tail -f follows a file being written).
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shell.h"

/* ---------------------------------------------------------------- test */

/* Whether st passes the test letter t (one of "edfsz"). */
static int test_passes(int t, const struct dfs_stat *st)
{
    switch (t) {
    case 'd': return st->type == DFS_TYPE_DIR;
    case 'f': return st->type != DFS_TYPE_DIR;
    case 's': return st->type != DFS_TYPE_DIR && st->length > 0;
    case 'z': return st->type == DFS_TYPE_DIR || st->length == 0;
    default: return 1;      /* 'e': it exists */
    }
}

int cmd_test(struct shell *sh, int argc, char **argv)
{
    struct dfs_stat st;
    int t = 0, c, i, n, rc, result = EXIT_OK;
    char **paths;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "edfsz", NULL)) != -1) {
        if (c == '?')
            return EXIT_USAGE;
        if (t && t != c)
            return sh_usage(sh, "only one of -e, -d, -f, -s, -z may be given");
        t = c;
    }
    if (!t)
        return sh_usage(sh, "missing test: -e, -d, -f, -s or -z");
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (argc - optind > 1)
        return sh_usage(sh, "extra operand '%s'", argv[optind + 1]);
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    /* A pattern: every match must pass, and one at least. */
    paths = sh_glob_args(sh, 1, argv + optind, &n, 1);
    if (n == 0)
        result = EXIT_FAIL;
    for (i = 0; i < n && result == EXIT_OK; i++) {
        rc = dfs_stat(sh->fs, paths[i], &st);
        if (rc == DFS_ERR_NOENT || rc == DFS_ERR_NOTDIR)
            result = EXIT_FAIL;         /* false, not an error */
        else if (rc != DFS_OK)
            sh_fail(sh, paths[i], rc);
        else if (!test_passes(t, &st))
            result = EXIT_FAIL;
    }
    sh_glob_free(paths);
    rc = sh_status(sh);
    return rc != EXIT_OK ? rc : result;
}

/* --------------------------------------------------------------- count */

#define COUNT_QUOTA_FMT "%12s %15s %15s %15s "
#define COUNT_FMT "%12s %12s %18s %s\n"

int cmd_count(struct shell *sh, int argc, char **argv)
{
    int quotas = 0, human = 0, header = 0, c, i, n, rc;
    char dirs[32], files[32], size[32], *path;
    struct dfs_summary sum;
    char **paths;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "qhv", NULL)) != -1) {
        switch (c) {
        case 'q': quotas = 1; break;
        case 'h': human = 1; break;
        case 'v': header = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    paths = sh_glob_args(sh, argc - optind, argv + optind, &n, 0);
    if (header) {
        if (quotas)
            printf(COUNT_QUOTA_FMT, "QUOTA", "REM_QUOTA", "SPACE_QUOTA", "REM_SPACE_QUOTA");
        printf(COUNT_FMT, "DIR_COUNT", "FILE_COUNT", "CONTENT_SIZE", "PATHNAME");
    }
    for (i = 0; i < n && sh_stdout_ok(sh); i++) {
        rc = dfs_content_summary(sh->fs, paths[i], &sum);
        if (rc != DFS_OK) {
            sh_fail(sh, paths[i], rc);
            continue;
        }
        /* dfs has no quotas: none set, an infinite remainder. */
        if (quotas)
            printf(COUNT_QUOTA_FMT, "none", "inf", "none", "inf");
        snprintf(dirs, sizeof dirs, "%" PRIu64, sum.dirs);
        snprintf(files, sizeof files, "%" PRIu64, sum.files);
        fmt_size(size, sizeof size, sum.length, human);
        path = path_normalize(paths[i]);
        printf(COUNT_FMT, dirs, files, size, path);
        free(path);
    }
    sh_glob_free(paths);
    return sh_status(sh);
}

/* ---------------------------------------------------------------- find */

struct find_expr {
    const char *name;       /* -name / -iname pattern, or NULL */
    int casefold;           /* -iname */
    int type;               /* 'f', 'd' or 0 */
    char end;               /* '\n', or '\0' for -print0 */
};

static void find_visit(struct shell *sh, const char *path, const struct dfs_stat *st,
                       void *arg)
{
    const struct find_expr *e = arg;
    char *base;
    int ok = 1;

    if (e->type == 'd')
        ok = st->type == DFS_TYPE_DIR;
    else if (e->type == 'f')
        ok = st->type != DFS_TYPE_DIR;
    if (ok && e->name) {
        base = path_base(path);
        ok = fnmatch(e->name, base, e->casefold ? FNM_CASEFOLD : 0) == 0;
        free(base);
    }
    if (ok) {
        fputs(path, stdout);
        putchar(e->end);
        sh_stdout_ok(sh);
    }
}

int cmd_find(struct shell *sh, int argc, char **argv)
{
    struct find_expr e = { .end = '\n' };
    char *here[1];
    int first = 1, npaths, i, n, rc;
    struct dfs_stat st;
    char **paths, *path;

    /* find's own syntax: PATH... then the expression (getopt does not fit). */
    while (first < argc && argv[first][0] == '-' && strcmp(argv[first], "--") == 0)
        first++;
    for (npaths = 0; first + npaths < argc && argv[first + npaths][0] != '-'; npaths++)
        ;
    for (i = first + npaths; i < argc; i++) {
        const char *a = argv[i];

        if (strcmp(a, "-print") == 0) {
            e.end = '\n';
        } else if (strcmp(a, "-print0") == 0) {
            e.end = '\0';
        } else if (strcmp(a, "-name") == 0 || strcmp(a, "-iname") == 0) {
            if (i + 1 >= argc)
                return sh_usage(sh, "missing argument to '%s'", a);
            e.casefold = a[1] == 'i';
            e.name = argv[++i];
        } else if (strcmp(a, "-type") == 0) {
            if (i + 1 >= argc)
                return sh_usage(sh, "missing argument to '%s'", a);
            if (strcmp(argv[i + 1], "f") != 0 && strcmp(argv[i + 1], "d") != 0)
                return sh_usage(sh, "invalid argument '%s' to '-type' (f or d)", argv[i + 1]);
            e.type = argv[++i][0];
        } else if (a[0] == '-') {
            return sh_usage(sh, "unknown expression '%s'", a);
        } else {
            return sh_usage(sh, "paths must come before the expression: '%s'", a);
        }
    }
    if (sh_connect(sh, npaths ? argv[first] : NULL) != DFS_OK)
        return EXIT_FAIL;
    here[0] = (char *)sh_workdir();
    paths = sh_glob_args(sh, npaths ? npaths : 1, npaths ? argv + first : here, &n, 0);
    for (i = 0; i < n && sh_stdout_ok(sh); i++) {
        rc = dfs_stat(sh->fs, paths[i], &st);
        if (rc != DFS_OK) {
            sh_fail(sh, paths[i], rc);
            continue;
        }
        path = path_normalize(paths[i]);
        sh_walk(sh, path, &st, find_visit, &e);
        free(path);
    }
    sh_glob_free(paths);
    return sh_status(sh);
}

/* ------------------------------------------------------------ checksum */

int cmd_checksum(struct shell *sh, int argc, char **argv)
{
    struct dfs_file_checksum sum;
    int c, i, n, rc;
    char **paths, *path;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", NULL)) != -1)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    paths = sh_glob_args(sh, argc - optind, argv + optind, &n, 0);
    for (i = 0; i < n && sh_stdout_ok(sh); i++) {
        rc = dfs_get_file_checksum(sh->fs, paths[i], &sum);
        if (rc != DFS_OK) {
            sh_fail(sh, paths[i], rc);
            continue;
        }
        path = path_normalize(paths[i]);
        printf("%s\t%s\t%s\n", path, sum.algorithm, sum.value);
        free(path);
    }
    sh_glob_free(paths);
    return sh_status(sh);
}

/* ---------------------------------------------------------- tail, head */

#define TAIL_BYTES 1024
/* How often tail -f looks for new bytes. */
#define TAIL_POLL_MS 500

/* Copy [off, end) of the open reader f to stdout.  0, or -1 after a
 * report (a read error, or stdout gone). */
static int print_range(struct shell *sh, dfs_file *f, const char *path, uint64_t off,
                       uint64_t end)
{
    char buf[64 * 1024];
    int64_t n;

    while (off < end) {
        n = dfs_pread(f, buf, end - off < sizeof buf ? (size_t)(end - off) : sizeof buf, off);
        if (n < 0) {
            if (!sh_interrupted)
                sh_fail(sh, path, (int)-n);
            return -1;
        }
        if (n == 0)
            break;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0) {
            sh_stdout_ok(sh);
            return -1;
        }
        off += (uint64_t)n;
    }
    return 0;
}

/* The one operand of tail and head, glob expanded; NULL after a report. */
static char *single_path(struct shell *sh, char *arg)
{
    char **paths, *path = NULL;
    int n;

    paths = sh_glob_args(sh, 1, &arg, &n, 0);
    if (n > 1)
        sh_failf(sh, arg, "matches %d paths; give one file", n);
    else if (n == 1)
        path = xstrdup(paths[0]);
    sh_glob_free(paths);
    return path;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    /* A signal ends the sleep early (nanosleep is never restarted). */
    nanosleep(&ts, NULL);
}

/* Follow path from offset off: print what it grows by until a signal
 * (the caller traps them). */
static void tail_follow(struct shell *sh, const char *path, uint64_t off, uint64_t inode)
{
    struct dfs_stat st;
    uint64_t len;
    dfs_file *f;
    int rc;

    while (!sh_interrupted && !sh->stdout_broken) {
        sleep_ms(TAIL_POLL_MS);
        if (sh_interrupted)
            break;
        /* A file put in its place (rm and put, put -f) is another inode:
         * follow it from its start, as tail -F does. */
        rc = dfs_stat(sh->fs, path, &st);
        if (rc == DFS_OK && st.inode != inode) {
            fflush(stdout);
            fprintf(stderr, "dfs: %s: %s: replaced by another file; following it\n",
                    sh->cmd, path);
            inode = st.inode;
            off = 0;
        }
        /* Opening again learns the length hflushed so far. */
        if (rc == DFS_OK)
            rc = dfs_open_read(sh->fs, path, &f);
        if (rc != DFS_OK) {
            if (!sh_interrupted)
                sh_fail(sh, path, rc);
            break;
        }
        len = dfs_file_length(f);
        if (len < off)
            off = len;          /* shrank: follow from its end */
        if (len > off && print_range(sh, f, path, off, len) == 0)
            off = len;
        dfs_close(f);
        if (sh->failed)
            break;
    }
}

/* tail (from_end) or head of one file. */
static int ends_run(struct shell *sh, int argc, char **argv, int from_end)
{
    int follow = 0, c, rc;
    uint64_t len, off;
    struct dfs_stat st;
    char *path;
    dfs_file *f;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, from_end ? "f" : "", NULL)) != -1) {
        if (c != 'f')
            return EXIT_USAGE;
        follow = 1;
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (argc - optind > 1)
        return sh_usage(sh, "extra operand '%s'", argv[optind + 1]);
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    path = single_path(sh, argv[optind]);
    if (!path)
        return sh_status(sh);
    /* A follower ends by a signal, which may come as soon as the first
     * bytes are out: trap them before anything is printed. */
    if (follow)
        sh_trap_signals(1);
    rc = dfs_open_read(sh->fs, path, &f);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        goto out;
    }
    len = dfs_file_length(f);
    if (from_end) {
        off = len > TAIL_BYTES ? len - TAIL_BYTES : 0;
    } else {
        off = 0;
        len = len < TAIL_BYTES ? len : TAIL_BYTES;
    }
    rc = print_range(sh, f, path, off, len);
    dfs_close(f);
    if (rc == 0 && follow && (rc = dfs_stat(sh->fs, path, &st)) != DFS_OK)
        sh_fail(sh, path, rc);
    else if (rc == 0 && follow)
        tail_follow(sh, path, len, st.inode);
out:
    if (follow) {
        sh_trap_signals(0);
        sh_interrupted = 0;     /* a signal is how a follower is meant to end */
    }
    free(path);
    return sh_status(sh);
}

int cmd_tail(struct shell *sh, int argc, char **argv)
{
    return ends_run(sh, argc, argv, 1);
}

int cmd_head(struct shell *sh, int argc, char **argv)
{
    return ends_run(sh, argc, argv, 0);
}
