/*
 * shell_ns.c - namespace commands of the dfs shell: mkdir, ls, stat,
 * touch, rm, mv, setrep, chmod, chown.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shell.h"

enum { OPT_JSON = 256 };

static const struct option json_longopts[] = {
    { "json", no_argument, NULL, OPT_JSON },
    { NULL, 0, NULL, 0 },
};

/* --------------------------------------------------------------- mkdir */

int cmd_mkdir(struct shell *sh, int argc, char **argv)
{
    int parents = 0, c, i, rc;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "p", NULL)) != -1) {
        switch (c) {
        case 'p': parents = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    for (i = optind; i < argc; i++) {
        rc = dfs_mkdir(sh->fs, argv[i], 0755, parents);
        if (rc != DFS_OK)
            sh_fail(sh, argv[i], rc);
    }
    return sh_status(sh);
}

/* ------------------------------------------------------------------ ls */

/* Entries are printed in batches so that the columns of -l line up within
 * a batch while memory stays bounded whatever the directory size. */
#define LS_BATCH 128

struct ls_opts {
    int longfmt, recursive, dirself, json;
    unsigned long long nprinted;  /* JSON objects written (for commas) */
};

struct ls_entry {
    char *path;
    struct dfs_stat st;
};

struct ls_widths {
    int owner, group, size;
};

static void ls_measure(const struct ls_entry *e, size_t n, struct ls_widths *w)
{
    char num[32];
    size_t i;
    int len;

    w->owner = 1;
    w->group = 1;
    w->size = 10;
    for (i = 0; i < n; i++) {
        len = (int)strlen(e[i].st.owner);
        if (len > w->owner)
            w->owner = len;
        len = (int)strlen(e[i].st.group);
        if (len > w->group)
            w->group = len;
        len = snprintf(num, sizeof num, "%" PRIu64, e[i].st.length);
        if (len > w->size)
            w->size = len;
    }
}

/* One entry in the format of the options. */
static void ls_emit(struct shell *sh, struct ls_opts *o, const struct ls_entry *e,
                    const struct ls_widths *w)
{
    const struct dfs_stat *st = &e->st;
    char mode[11], when[32], repl[16];

    if (o->json) {
        fputs(o->nprinted++ ? ",\n" : "\n", stdout);
        json_stat(stdout, e->path, st);
    } else if (o->longfmt) {
        fmt_mode(mode, st->type, st->mode);
        fmt_time(when, sizeof when, st->mtime_ms, 0);
        if (st->type == DFS_TYPE_DIR)
            snprintf(repl, sizeof repl, "-");
        else
            snprintf(repl, sizeof repl, "%u", st->replication);
        printf("%s %3s %-*s %-*s %*" PRIu64 " %s %s\n", mode, repl,
               w->owner, st->owner, w->group, st->group, w->size,
               st->type == DFS_TYPE_DIR ? 0 : st->length, when, e->path);
    } else {
        puts(e->path);
    }
    sh_stdout_ok(sh);
}

static void ls_dir(struct shell *sh, struct ls_opts *o, const char *path);

/* Print a batch; with -R each directory is followed by its subtree.  The
 * paths of the batch are freed. */
static void ls_batch(struct shell *sh, struct ls_opts *o, struct ls_entry *batch, size_t n)
{
    struct ls_widths w;
    size_t i;

    ls_measure(batch, n, &w);
    for (i = 0; i < n; i++) {
        if (!sh->stdout_broken) {
            ls_emit(sh, o, &batch[i], &w);
            if (o->recursive && batch[i].st.type == DFS_TYPE_DIR)
                ls_dir(sh, o, batch[i].path);
        }
        free(batch[i].path);
    }
}

/* The entries of a directory, streamed from dfs_readdir(). */
static void ls_dir(struct shell *sh, struct ls_opts *o, const char *path)
{
    struct ls_entry *batch;
    char *msg = NULL;
    dfs_dir *dir;
    size_t n;
    int rc;

    rc = dfs_opendir(sh->fs, path, &dir);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        return;
    }
    batch = xcalloc(LS_BATCH, sizeof *batch);
    do {
        n = 0;
        while (n < LS_BATCH && (rc = dfs_readdir(dir, &batch[n].st)) == 1) {
            batch[n].path = path_join(path, batch[n].st.name);
            n++;
        }
        /* The entries read before a failure are printed first; the calls
         * of -R would overwrite the failure's message: keep it. */
        if (rc < 0)
            msg = xstrdup(*dfs_errmsg() ? dfs_errmsg() : dfs_strerror(-rc));
        ls_batch(sh, o, batch, n);
    } while (rc == 1 && !sh->stdout_broken);
    if (msg)
        sh_failf(sh, path, "%s", msg);
    free(msg);
    free(batch);
    dfs_closedir(dir);
}

/* One operand: a file (or, with -d, a directory) is listed itself.  Paths
 * are printed in their canonical form. */
static void ls_operand(struct shell *sh, struct ls_opts *o, const char *path)
{
    struct ls_entry e;
    int rc;

    rc = dfs_stat(sh->fs, path, &e.st);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        return;
    }
    e.path = path_normalize(path);
    if (e.st.type == DFS_TYPE_DIR && !o->dirself) {
        ls_dir(sh, o, e.path);
        free(e.path);
        return;
    }
    ls_batch(sh, o, &e, 1);
}

int cmd_ls(struct shell *sh, int argc, char **argv)
{
    struct ls_opts o = { 0 };
    char *here[1];
    char **paths;
    int npaths, c, i;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "lRd", json_longopts)) != -1) {
        switch (c) {
        case 'l': o.longfmt = 1; break;
        case 'R': o.recursive = 1; break;
        case 'd': o.dirself = 1; break;
        case OPT_JSON: o.json = 1; break;
        default: return EXIT_USAGE;
        }
    }
    /* No PATH: the working directory (the home directory), as hdfs dfs. */
    if (o.dirself)
        o.recursive = 0;
    if (sh_connect(sh, optind < argc ? argv[optind] : NULL) != DFS_OK)
        return EXIT_FAIL;
    here[0] = (char *)sh_workdir();
    paths = sh_glob_args(sh, optind < argc ? argc - optind : 1,
                         optind < argc ? argv + optind : here, &npaths, 0);
    if (o.json)
        fputs("[", stdout);
    for (i = 0; i < npaths && !sh->stdout_broken; i++)
        ls_operand(sh, &o, paths[i]);
    if (o.json)
        fputs(o.nprinted ? "\n]\n" : "]\n", stdout);
    sh_glob_free(paths);
    return sh_status(sh);
}

/* ---------------------------------------------------------------- stat */

static void stat_human(const char *path, const struct dfs_stat *st)
{
    int dir = st->type == DFS_TYPE_DIR;
    char mode[11], when[40];

    fmt_mode(mode, st->type, st->mode);
    fmt_time(when, sizeof when, st->mtime_ms, 1);
    printf("  File: %s\n", path);
    printf("  Type: %s\n", dir ? "directory" : "file");
    printf("  Size: %" PRIu64 "\n", dir ? 0 : st->length);
    printf("  Replication: %u\n", dir ? 0 : st->replication);
    printf("  Block size: %" PRIu64 "\n", dir ? 0 : st->block_size);
    printf("  Mode: %04o (%s)\n", st->mode & 07777, mode);
    printf("  Owner: %s\n", st->owner);
    printf("  Group: %s\n", st->group);
    printf("  Modified: %s\n", when);
}

int cmd_stat(struct shell *sh, int argc, char **argv)
{
    struct dfs_stat st;
    int json = 0, c, i, n, rc;
    char *path, **paths;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", json_longopts)) != -1) {
        switch (c) {
        case OPT_JSON: json = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    paths = sh_glob_args(sh, argc - optind, argv + optind, &n, 0);
    for (i = 0; i < n; i++) {
        rc = dfs_stat(sh->fs, paths[i], &st);
        if (rc != DFS_OK) {
            sh_fail(sh, paths[i], rc);
            continue;
        }
        path = path_normalize(paths[i]);
        if (json) {
            json_stat(stdout, path, &st);
            putchar('\n');
        } else {
            stat_human(path, &st);
        }
        free(path);
    }
    sh_glob_free(paths);
    return sh_status(sh);
}

/* --------------------------------------------------------------- touch */

int cmd_touch(struct shell *sh, int argc, char **argv)
{
    int c, i, rc;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", NULL)) != -1)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    for (i = optind; i < argc; i++) {
        rc = dfs_create(sh->fs, argv[i], 0644);
        /* An existing file or directory (the namenode may answer either
         * code for a directory): only its modification time changes. */
        if (rc == DFS_ERR_EXIST || rc == DFS_ERR_ISDIR)
            rc = dfs_set_mtime(sh->fs, argv[i], now_ms());
        if (rc != DFS_OK)
            sh_fail(sh, argv[i], rc);
    }
    return sh_status(sh);
}

/* ------------------------------------------------------------------ rm */

static void rm_one(struct shell *sh, const char *path, int recursive, int force)
{
    struct dfs_stat st;
    int rc;

    if (path_is_root(path)) {
        sh_failf(sh, path, "refusing to remove the root directory");
        return;
    }
    if (!recursive) {
        /* Like rm(1): a directory, even an empty one, needs -r. */
        rc = dfs_stat(sh->fs, path, &st);
        if (rc == DFS_OK && st.type == DFS_TYPE_DIR) {
            sh_failf(sh, path, "Is a directory");
            return;
        }
        if (rc != DFS_OK) {
            if (!(force && rc == DFS_ERR_NOENT))
                sh_fail(sh, path, rc);
            return;
        }
    }
    rc = dfs_delete(sh->fs, path, recursive);
    if (rc != DFS_OK && !(force && rc == DFS_ERR_NOENT))
        sh_fail(sh, path, rc);
}

int cmd_rm(struct shell *sh, int argc, char **argv)
{
    int recursive = 0, force = 0, c, i, n;
    char **paths;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "rRf", NULL)) != -1) {
        switch (c) {
        case 'r': case 'R': recursive = 1; break;
        case 'f': force = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return force ? EXIT_OK : sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    /* -f: a pattern that matches nothing is not an error either. */
    paths = sh_glob_args(sh, argc - optind, argv + optind, &n, force);
    for (i = 0; i < n; i++)
        rm_one(sh, paths[i], recursive, force);
    sh_glob_free(paths);
    return sh_status(sh);
}

/* ------------------------------------------------------------------ mv */

int cmd_mv(struct shell *sh, int argc, char **argv)
{
    struct dfs_stat st;
    char **srcs, **dsts;
    int c, i, n, ndst, rc;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", NULL)) != -1)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (argc - optind < 2)
        return sh_usage(sh, "missing destination operand after '%s'", argv[optind]);
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    /* A pattern as DST must name one existing path. */
    dsts = sh_glob_args(sh, 1, argv + argc - 1, &ndst, 0);
    if (ndst != 1) {
        if (ndst > 1)
            sh_failf(sh, argv[argc - 1], "matches %d paths", ndst);
        sh_glob_free(dsts);
        return sh_status(sh);
    }
    srcs = sh_glob_args(sh, argc - optind - 1, argv + optind, &n, 0);
    if (n > 1) {
        /* Several sources: the destination must be an existing directory. */
        rc = dfs_stat(sh->fs, dsts[0], &st);
        if (rc != DFS_OK && rc != DFS_ERR_NOENT) {
            sh_fail(sh, dsts[0], rc);
            n = 0;
        } else if (rc == DFS_ERR_NOENT || st.type != DFS_TYPE_DIR) {
            sh_failf(sh, dsts[0], "Not a directory");
            n = 0;
        }
    }
    for (i = 0; i < n; i++) {
        rc = dfs_rename(sh->fs, srcs[i], dsts[0], 0);
        if (rc != DFS_OK)
            sh_fail(sh, srcs[i], rc);
    }
    sh_glob_free(srcs);
    sh_glob_free(dsts);
    return sh_status(sh);
}

/* ---------------------------------------- setrep, chmod, chown (+ -R) */

/* What one attribute command applies to each path. */
struct attr_change {
    int what;                  /* 'r' replication, 'm' mode, 'o' owner */
    unsigned replication;
    unsigned mode;
    const char *owner, *group;
    /* setrep -w: the files whose replication was set, to wait for */
    int wait;
    double timeout;            /* -t SECONDS, 0: none */
    struct sh_strvec files;
};

static void attr_apply(struct shell *sh, const char *path, const struct dfs_stat *st,
                       void *arg)
{
    struct attr_change *ch = arg;
    int rc;

    switch (ch->what) {
    case 'r':
        if (st && st->type == DFS_TYPE_DIR)
            return;            /* directories have no replication */
        rc = dfs_set_replication(sh->fs, path, ch->replication);
        break;
    case 'm':
        rc = dfs_chmod(sh->fs, path, ch->mode);
        break;
    default:
        rc = dfs_chown(sh->fs, path, ch->owner, ch->group);
        break;
    }
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
    } else if (ch->what == 'r' && ch->wait) {
        char *shown = path_normalize(path);

        printf("Replication %u set: %s\n", ch->replication, shown);
        free(shown);
        sv_push(&ch->files, xstrdup(path));
    }
}

/* How far file path is from its replication: 1 when every complete block
 * has exactly ch->replication good replicas, 0 when not yet (*worst gets
 * the fewest / most replicas of a block off target), -1 after a report. */
static int setrep_reached(struct shell *sh, const char *path, unsigned want, unsigned *worst)
{
    struct dfs_file_health *h = NULL;
    int rc, done = 1;
    size_t b;

    rc = dfs_file_health(sh->fs, &path, 1, &h, NULL);
    if (rc == DFS_OK && h[0].status != DFS_OK)
        rc = h[0].status;
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        dfs_free_file_health(h, 1);
        return -1;
    }
    for (b = 0; b < h[0].nblocks; b++) {
        const struct dfs_block_health *bh = &h[0].blocks[b];

        if (bh->complete && bh->live != want) {
            *worst = bh->live;
            done = 0;
        }
    }
    dfs_free_file_health(h, 1);
    return done;
}

/* setrep -w: wait until every file set reached its replication, like hdfs
 * dfs: "Waiting for PATH ..... done", a dot a second ("Waiting for PATH
 * done" when reached at once). */
static void setrep_wait(struct shell *sh, struct attr_change *ch)
{
    double start = mono_now(), dot = start;
    struct timespec pause = { 0, 200 * 1000000L };
    unsigned worst = 0;
    size_t i;
    int r, dots;

    sh_trap_signals(1);
    for (i = 0; i < ch->files.n && !sh_interrupted; i++) {
        char *shown = path_normalize(ch->files.v[i]);

        printf("Waiting for %s ", shown);
        fflush(stdout);
        dots = 0;
        while ((r = setrep_reached(sh, ch->files.v[i], ch->replication, &worst)) == 0) {
            if (ch->timeout > 0 && mono_now() - start >= ch->timeout) {
                putchar('\n');
                sh_failf(sh, ch->files.v[i], "replication %u not reached after %.0f s "
                         "(a block has %u good replicas)", ch->replication, ch->timeout, worst);
                break;
            }
            if (mono_now() - dot >= 1.0) {
                putchar('.');
                fflush(stdout);
                dots = 1;
                dot = mono_now();
            }
            nanosleep(&pause, NULL);
            if (sh_interrupted)
                break;
        }
        if (r == 1)
            puts(dots ? " done" : "done");
        free(shown);
        if (r != 1)
            break;
    }
    sh_trap_signals(0);
}

/* Apply ch to every operand; with recursive, to the trees below them. */
static int attr_run(struct shell *sh, int argc, char **argv, int first,
                    struct attr_change *ch, int recursive)
{
    struct dfs_stat st;
    int i, n, rc;
    char **paths;

    if (first >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[first]) != DFS_OK)
        return EXIT_FAIL;
    paths = sh_glob_args(sh, argc - first, argv + first, &n, 0);
    for (i = 0; i < n; i++) {
        if (!recursive) {
            attr_apply(sh, paths[i], NULL, ch);
            continue;
        }
        rc = dfs_stat(sh->fs, paths[i], &st);
        if (rc != DFS_OK)
            sh_fail(sh, paths[i], rc);
        else
            sh_walk(sh, paths[i], &st, attr_apply, ch);
    }
    sh_glob_free(paths);
    /* Wait for the files that were set, even when others failed. */
    if (ch->wait)
        setrep_wait(sh, ch);
    sv_free(&ch->files);
    return sh_status(sh);
}

/* Parse -R (the only option of chmod and chown; setrep takes -R too, as a
 * no-op, since a directory operand is always recursive there). */
static int attr_opts(struct shell *sh, int argc, char **argv, int *recursive)
{
    int c;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "R", NULL)) != -1) {
        if (c != 'R')
            return EXIT_USAGE;
        *recursive = 1;
    }
    return EXIT_OK;
}

int cmd_setrep(struct shell *sh, int argc, char **argv)
{
    struct attr_change ch = { .what = 'r' };
    unsigned long long n;
    int c;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "Rwt:", NULL)) != -1) {
        switch (c) {
        case 'R': break;       /* a directory is always recursive here */
        case 'w': ch.wait = 1; break;
        case 't':
            if (parse_uint(optarg, 1, 86400 * 365, &n) != 0)
                return sh_usage(sh, "invalid time '%s'", optarg);
            ch.timeout = (double)n;
            break;
        default: return EXIT_USAGE;
        }
    }
    if (ch.timeout > 0 && !ch.wait)
        return sh_usage(sh, "-t limits the wait of -w: give both");
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (parse_uint(argv[optind], 1, 10, &n) != 0)
        return sh_usage(sh, "invalid replication '%s'", argv[optind]);
    ch.replication = (unsigned)n;
    /* Like hdfs dfs -setrep: a directory means every file below it. */
    return attr_run(sh, argc, argv, optind + 1, &ch, 1);
}

int cmd_chmod(struct shell *sh, int argc, char **argv)
{
    struct attr_change ch = { .what = 'm' };
    int recursive = 0;

    if (attr_opts(sh, argc, argv, &recursive) != EXIT_OK)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (parse_mode(argv[optind], &ch.mode) != 0)
        return sh_usage(sh, "invalid mode '%s'", argv[optind]);
    return attr_run(sh, argc, argv, optind + 1, &ch, recursive);
}

int cmd_chown(struct shell *sh, int argc, char **argv)
{
    struct attr_change ch = { .what = 'o' };
    int recursive = 0, rc;
    char *spec, *colon;

    if (attr_opts(sh, argc, argv, &recursive) != EXIT_OK)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    spec = xstrdup(argv[optind]);
    colon = strchr(spec, ':');
    if (colon) {
        *colon = '\0';
        ch.group = colon[1] ? colon + 1 : NULL;
    }
    ch.owner = spec[0] ? spec : NULL;
    if ((!ch.owner && !ch.group) || (ch.group && strchr(ch.group, ':'))) {
        rc = sh_usage(sh, "invalid owner '%s'", argv[optind]);
        free(spec);
        return rc;
    }
    rc = attr_run(sh, argc, argv, optind + 1, &ch, recursive);
    free(spec);
    return rc;
}
