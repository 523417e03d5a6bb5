/*
 * shell_copy.c - copies that stay inside dfs or gather several files: cp
 * (file to file, or a tree, through this client) and getmerge (many files
 * into one local file).
 *
 * Like put and get, neither leaves a partial result under the final name:
 * cp writes ".NAME._COPYING_" (created temporary, so a killed cp leaves
 * nothing once its lease expires) and renames it into place; getmerge
 * writes "LOCAL.tmp-XXXXXX" and renames it when every source is in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell.h"

#define COPY_BUF ((size_t)4 << 20)
#define COPYING_SUFFIX "._COPYING_"

struct cp_opts {
    int force, preserve;
    char *buf;                 /* COPY_BUF bytes */
};

/* Copy the bytes of reader r into writer w; DFS_OK or the failing call's
 * code (its message is the thread's dfs_errmsg()).  *failed_read tells
 * which side failed. */
static int pump(dfs_file *r, dfs_file *w, char *buf, int *failed_read)
{
    int64_t n;
    int rc;

    *failed_read = 0;
    while ((n = dfs_read(r, buf, COPY_BUF)) > 0) {
        if (sh_interrupted)
            return DFS_ERR_IO;
        rc = dfs_write(w, buf, (size_t)n);
        if (rc != DFS_OK)
            return rc;
    }
    *failed_read = n < 0;
    return n < 0 ? (int)-n : DFS_OK;
}

/* Copy the file src (its stat in sst) to target.  Reported on failure. */
static void cp_file(struct shell *sh, const struct cp_opts *o, const char *src,
                    const struct dfs_stat *sst, const char *target)
{
    char *dir = path_dir(target), *base = path_base(target);
    char *tmp = xasprintf("%s/.%s%s", strcmp(dir, "/") ? dir : "", base, COPYING_SUFFIX);
    unsigned mode = o->preserve ? sst->mode : 0644;
    struct dfs_stat tst;
    dfs_file *r = NULL, *w = NULL;
    int rc, failed_read;

    rc = dfs_stat(sh->fs, target, &tst);
    if (rc == DFS_OK && (tst.type == DFS_TYPE_DIR || !o->force)) {
        sh_failf(sh, target, tst.type == DFS_TYPE_DIR ? "Is a directory" : "File exists");
        goto out;
    }
    if (rc != DFS_OK && rc != DFS_ERR_NOENT) {
        sh_fail(sh, target, rc);
        goto out;
    }
    rc = dfs_open_read(sh->fs, src, &r);
    if (rc != DFS_OK) {
        sh_fail(sh, src, rc);
        goto out;
    }
    rc = dfs_open_write(sh->fs, tmp, DFS_O_OVERWRITE | DFS_O_TEMPORARY, mode,
                        o->preserve ? sst->replication : 0, o->preserve ? sst->block_size : 0,
                        &w);
    if (rc != DFS_OK) {
        sh_fail_as(sh, target, rc, tmp);
        goto out;
    }
    rc = pump(r, w, o->buf, &failed_read);
    if (rc != DFS_OK) {
        if (sh_interrupted)
            sh_failf(sh, src, "interrupted");
        else
            sh_fail(sh, failed_read ? src : target, rc);
        if (dfs_abort(w) != DFS_OK)
            fprintf(stderr, "dfs: %s: warning: %s: cannot remove %s: %s\n", sh->cmd, target,
                    tmp, dfs_errmsg());
        goto out;
    }
    rc = dfs_close(w);
    if (rc == DFS_OK && o->preserve)
        rc = dfs_utimes(sh->fs, tmp, (int64_t)sst->mtime_ms, (int64_t)sst->atime_ms);
    if (rc == DFS_OK && o->preserve)
        rc = dfs_chown(sh->fs, tmp, sst->owner, sst->group);
    if (rc == DFS_OK)
        rc = dfs_rename(sh->fs, tmp, target, o->force);
    if (rc != DFS_OK) {
        sh_fail_as(sh, target, rc, tmp);
        dfs_delete(sh->fs, tmp, 0);
    }
out:
    if (r)
        dfs_close(r);
    free(tmp);
    free(base);
    free(dir);
}

/* The walk of a source tree: each entry goes to the same place under to. */
struct cp_tree {
    const struct cp_opts *o;
    const char *from;          /* the source root */
    const char *to;            /* its copy's root */
};

static void cp_tree_entry(struct shell *sh, const char *path, const struct dfs_stat *st,
                          void *arg)
{
    const struct cp_tree *t = arg;
    size_t n = strlen(t->from);
    char *target = path_is_root(t->from) ? path_join(t->to, path + 1)
                   : path[n] ? path_join(t->to, path + n + 1) : xstrdup(t->to);
    int rc;

    if (sh_interrupted) {
        free(target);
        return;
    }
    if (st->type == DFS_TYPE_DIR) {
        rc = dfs_mkdir(sh->fs, target, t->o->preserve ? st->mode : 0755, 1);
        if (rc != DFS_OK)
            sh_fail(sh, target, rc);
    } else {
        cp_file(sh, t->o, path, st, target);
    }
    free(target);
}

/* One SRC operand of cp, to DST (or DST/basename when dst_is_dir). */
static void cp_one(struct shell *sh, const struct cp_opts *o, const char *src,
                   const char *dst, int dst_is_dir)
{
    char *s = path_normalize(src), *target, *base;
    struct dfs_stat st;
    int rc;

    rc = dfs_stat(sh->fs, s, &st);
    if (rc != DFS_OK) {
        sh_fail(sh, src, rc);
        free(s);
        return;
    }
    if (dst_is_dir) {
        base = path_base(s);
        target = path_join(dst, base);
        free(base);
    } else {
        target = path_normalize(dst);
    }
    if (st.type == DFS_TYPE_DIR) {
        char *t = path_normalize(target);
        size_t n = strlen(s);
        /* Copying a tree into itself would never end. */
        if (strcmp(s, t) == 0 || path_is_root(s) ||
            (strncmp(t, s, n) == 0 && t[n] == '/')) {
            sh_failf(sh, src, "cannot copy a directory into itself ('%s')", t);
        } else {
            struct cp_tree tree = { o, s, t };
            sh_walk(sh, s, &st, cp_tree_entry, &tree);
        }
        free(t);
    } else {
        cp_file(sh, o, s, &st, target);
    }
    free(target);
    free(s);
}

int cmd_cp(struct shell *sh, int argc, char **argv)
{
    struct cp_opts o = { 0, 0, NULL };
    struct dfs_stat st;
    const char *dst;
    char **srcs;
    int c, i, n, rc, dst_is_dir;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "fp", NULL)) != -1) {
        switch (c) {
        case 'f': o.force = 1; break;
        case 'p': o.preserve = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (argc - optind < 2)
        return sh_usage(sh, "missing destination operand after '%s'", argv[optind]);
    dst = argv[argc - 1];
    if (sh_connect(sh, dst) != DFS_OK)
        return EXIT_FAIL;
    rc = dfs_stat(sh->fs, dst, &st);
    if (rc != DFS_OK && rc != DFS_ERR_NOENT) {
        sh_fail(sh, dst, rc);
        return sh_status(sh);
    }
    dst_is_dir = rc == DFS_OK && st.type == DFS_TYPE_DIR;
    srcs = sh_glob_args(sh, argc - optind - 1, argv + optind, &n, 0);
    if (n > 1 && !dst_is_dir) {
        sh_failf(sh, dst, "Not a directory");
        n = 0;
    }
    o.buf = xmalloc(COPY_BUF);
    sh_trap_signals(1);
    for (i = 0; i < n && !sh_interrupted; i++)
        cp_one(sh, &o, srcs[i], dst, dst_is_dir);
    sh_trap_signals(0);
    free(o.buf);
    sh_glob_free(srcs);
    return sh_status(sh);
}

/* ------------------------------------------------------------- getmerge */

/* Append the file path to fd (and a newline with nl).  0, or -1 when the
 * local write failed (reported; getmerge stops). */
static int merge_file(struct shell *sh, const char *path, int fd, char *buf, int nl,
                      int skip_empty)
{
    dfs_file *f;
    int64_t n;
    int rc, err = 0, wrote = 0;

    rc = dfs_open_read(sh->fs, path, &f);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        return 0;
    }
    while (!sh_interrupted && (n = dfs_read(f, buf, COPY_BUF)) > 0) {
        if ((err = write_all(fd, buf, (size_t)n)) != 0)
            break;
        wrote = 1;
    }
    if (!err && n < 0)
        sh_fail(sh, path, (int)-n);
    if (!err && nl && (wrote || !skip_empty))
        err = write_all(fd, "\n", 1);
    dfs_close(f);
    return err ? -err : 0;
}

/* The files of SRC: itself, or a directory's files (not its
 * subdirectories) in name order. */
static int merge_source(struct shell *sh, const char *src, int fd, char *buf, int nl,
                        int skip_empty)
{
    struct dfs_stat st;
    dfs_dir *d;
    int rc, err = 0;

    rc = dfs_stat(sh->fs, src, &st);
    if (rc != DFS_OK) {
        sh_fail(sh, src, rc);
        return 0;
    }
    if (st.type != DFS_TYPE_DIR)
        return merge_file(sh, src, fd, buf, nl, skip_empty);
    rc = dfs_opendir(sh->fs, src, &d);
    if (rc != DFS_OK) {
        sh_fail(sh, src, rc);
        return 0;
    }
    while (!err && !sh_interrupted && (rc = dfs_readdir(d, &st)) == 1) {
        if (st.type == DFS_TYPE_DIR)
            continue;
        char *child = path_join(src, st.name);
        err = merge_file(sh, child, fd, buf, nl, skip_empty);
        free(child);
    }
    if (!err && rc < 0)
        sh_fail(sh, src, rc);
    dfs_closedir(d);
    return err;
}

int cmd_getmerge(struct shell *sh, int argc, char **argv)
{
    int c, i, n, fd, err = 0, nl = 0, skip_empty = 0;
    static const struct option longopts[] = {
        { "nl", no_argument, NULL, 'n' },
        { "skip-empty-file", no_argument, NULL, 's' },
        { NULL, 0, NULL, 0 }
    };
    const char *local;
    char **srcs, *tmp, *buf;
    mode_t um;

    /* hdfs dfs spells them with one dash. */
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-nl") == 0)
            argv[i] = (char *)"--nl";
        else if (strcmp(argv[i], "-skip-empty-file") == 0)
            argv[i] = (char *)"--skip-empty-file";
    }
    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", longopts)) != -1) {
        switch (c) {
        case 'n': nl = 1; break;
        case 's': skip_empty = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (argc - optind < 2)
        return sh_usage(sh, "missing local destination after '%s'", argv[optind]);
    local = argv[argc - 1];
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    tmp = xasprintf("%s.tmp-XXXXXX", local);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        sh_fail_errno(sh, local, errno);
        free(tmp);
        return sh_status(sh);
    }
    um = umask(0);
    umask(um);
    fchmod(fd, 0666 & ~um);
    srcs = sh_glob_args(sh, argc - optind - 1, argv + optind, &n, 0);
    buf = xmalloc(COPY_BUF);
    sh_trap_signals(1);
    for (i = 0; i < n && !err && !sh_interrupted; i++)
        err = merge_source(sh, srcs[i], fd, buf, nl, skip_empty);
    sh_trap_signals(0);
    if (!err && close(fd) != 0)
        err = -errno;
    else if (err)
        close(fd);
    if (err)
        sh_fail_errno(sh, local, -err);
    else if (sh_interrupted)
        sh_failf(sh, local, "interrupted");
    /* What could be read is kept, as hdfs dfs -getmerge does; only a
     * failed local write or an interruption leaves nothing. */
    if (err || sh_interrupted || rename(tmp, local) != 0) {
        if (!err && !sh_interrupted)
            sh_fail_errno(sh, local, errno);
        unlink(tmp);
    }
    free(buf);
    free(tmp);
    sh_glob_free(srcs);
    return sh_status(sh);
}
