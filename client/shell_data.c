/*
 * shell_data.c - data commands of the dfs shell: put, append, get, cat, and
 * the progress line that put and get draw on a terminal.
 *
 * Both directions move data in XFER_BUF pieces; get and cat write them
 * from a helper thread while the next piece is read (xfer.h).  Neither
 * leaves a partial result under the final name: put writes
 * ".NAME._COPYING_" beside the target and renames it on success; get
 * writes "LOCAL.tmp-XXXXXX" and renames it on success.  Whatever fails,
 * the temporary file is removed (put's is created temporary, so even a
 * killed put leaves nothing once its lease expires).  append adds to an
 * existing file in place: what was appended before a failure stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shell.h"
#include "xfer.h"

#define XFER_BUF ((size_t)4 << 20)
#define COPYING_SUFFIX "._COPYING_"
/* Buffers of get's ring (xfer.h): one being filled while one is written.
 * Measured on 2 cores: 3 or 4 of them, or 1 MiB ones, copy no faster. */
#define GET_SLOTS 2

/* ------------------------------------------------------------ progress */

/* The progress line of one transfer; drawn only when stderr is a tty. */
struct progress {
    int on;
    char label[32];            /* keeps the line within 80 columns */
    uint64_t total;            /* UINT64_MAX when unknown (a pipe) */
    uint64_t done;
    double start, last;
};

static void progress_start(struct progress *p, const char *name, uint64_t total)
{
    size_t n = strlen(name);

    memset(p, 0, sizeof *p);
    p->on = isatty(STDERR_FILENO);
    if (n < sizeof p->label)
        snprintf(p->label, sizeof p->label, "%s", name);
    else        /* keep the end of a long name: one line on the terminal */
        snprintf(p->label, sizeof p->label, "...%s", name + n - (sizeof p->label - 4));
    p->total = total;
    p->start = p->last = mono_now();
}

/* "1:05" or "2:01:05". */
static void fmt_eta(char *out, size_t len, double secs)
{
    unsigned long s = secs > 0 ? (unsigned long)(secs + 0.5) : 0;

    if (s >= 3600)
        snprintf(out, len, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, len, "%lu:%02lu", s / 60, s % 60);
}

static void progress_draw(struct progress *p, double now)
{
    double secs = now - p->start;
    double rate = secs > 0 ? (double)p->done / secs : 0;
    char done[16], total[16], eta[32];

    fmt_human(done, sizeof done, p->done);
    if (p->total == UINT64_MAX) {
        fprintf(stderr, "\r%s: %s  %.1f MB/s\033[K", p->label, done, rate / 1e6);
        return;
    }
    fmt_human(total, sizeof total, p->total);
    if (p->done >= p->total)
        fmt_eta(eta, sizeof eta, 0);
    else if (rate > 0)
        fmt_eta(eta, sizeof eta, (double)(p->total - p->done) / rate);
    else
        snprintf(eta, sizeof eta, "--:--");
    fprintf(stderr, "\r%s: %s / %s (%u%%)  %.1f MB/s  ETA %s\033[K", p->label, done, total,
            p->total ? (unsigned)((double)p->done * 100.0 / (double)p->total) : 100u,
            rate / 1e6, eta);
}

/* Record progress; redraw at most four times a second. */
static void progress_update(struct progress *p, uint64_t done)
{
    double now;

    p->done = done;             /* kept even when nothing is drawn */
    if (!p->on)
        return;
    now = mono_now();
    if (now - p->last < 0.25)
        return;
    p->last = now;
    progress_draw(p, now);
}

/* Final state and the newline; call before reporting anything. */
static void progress_end(struct progress *p)
{
    if (!p->on)
        return;
    progress_draw(p, mono_now());
    fputc('\n', stderr);
    p->on = 0;
}

/* ----------------------------------------------------------------- put */

struct put_opts {
    unsigned replication;      /* 0: the default */
    uint64_t block_size;       /* 0: the default */
    int force, preserve;
    int move;                  /* moveFromLocal: delete each local source copied */
    int make_home;             /* no REMOTE and the home directory is missing:
                                * put_one creates it once a source opened */
};

/* How a copy loop ended. */
enum copy_end { COPY_OK, COPY_REMOTE, COPY_LOCAL, COPY_SHRANK, COPY_INTR };

/* Copy fd into the writer f; *err is the library code (COPY_REMOTE) or the
 * errno value (COPY_LOCAL).  No read-ahead thread, unlike get: the write
 * pipeline bounds put, and one (xfer.h) measured no faster. */
static enum copy_end put_copy(int fd, const struct stat *lst, dfs_file *f, char *buf,
                              struct progress *p, int *err)
{
    uint64_t done = 0;
    ssize_t n;

    for (;;) {
        if (sh_interrupted)
            return COPY_INTR;
        n = read_full(fd, buf, XFER_BUF);
        if (n < 0) {
            *err = (int)-n;
            return COPY_LOCAL;
        }
        if (n == 0)
            break;
        *err = dfs_write(f, buf, (size_t)n);
        if (*err != DFS_OK)
            return COPY_REMOTE;
        done += (uint64_t)n;
        progress_update(p, done);
    }
    if (sh_interrupted)
        return COPY_INTR;
    /* A regular file that shrank (truncated, replaced) is not copied whole. */
    if (S_ISREG(lst->st_mode) && done < (uint64_t)lst->st_size)
        return COPY_SHRANK;
    return COPY_OK;
}

/* Report a failed copy (before any cleanup call overwrites dfs_errmsg()). */
static void put_report(struct shell *sh, enum copy_end end, int err, const char *local,
                       const char *target, const char *tmp)
{
    switch (end) {
    case COPY_REMOTE: sh_fail_as(sh, target, err, tmp); break;
    case COPY_LOCAL: sh_fail_errno(sh, local, err); break;
    case COPY_SHRANK: sh_failf(sh, local, "file shrank while being read"); break;
    case COPY_INTR: sh_failf(sh, target, "interrupted"); break;
    case COPY_OK: break;
    }
}

/* Whether target may be written: absent, or a file and -f.  Reports. */
static int put_target_ok(struct shell *sh, const char *target, int force)
{
    struct dfs_stat st;
    int rc = dfs_stat(sh->fs, target, &st);

    if (rc == DFS_ERR_NOENT)
        return 1;
    if (rc != DFS_OK)
        sh_fail(sh, target, rc);
    else if (st.type == DFS_TYPE_DIR)
        sh_failf(sh, target, "Is a directory");
    else if (!force)
        sh_failf(sh, target, "File exists");
    else
        return 1;
    return 0;
}

/* Write the open local fd to target through its temporary name.  Returns
 * 1 when target now holds the copy, else 0 (reported). */
static int put_file(struct shell *sh, const struct put_opts *po, int fd,
                     const struct stat *lst, const char *local, const char *target,
                     char *buf)
{
    char *dir = path_dir(target), *base = path_base(target);
    char *tmp = xasprintf("%s/.%s%s", strcmp(dir, "/") ? dir : "", base, COPYING_SUFFIX);
    unsigned mode = po->preserve ? (unsigned)(lst->st_mode & 07777) : 0644;
    unsigned wanted = 0, got = 0;
    struct progress prog;
    enum copy_end end;
    dfs_file *f;
    int err = 0, rc, done = 0;

    /* Temporary: should this process die, the namenode deletes the file
     * once the lease expires instead of keeping a partial copy. */
    rc = dfs_open_write(sh->fs, tmp, DFS_O_OVERWRITE | DFS_O_TEMPORARY, mode, po->replication,
                        po->block_size, &f);
    if (rc != DFS_OK) {
        sh_fail_as(sh, target, rc, tmp);
        goto out;
    }
    progress_start(&prog, target, S_ISREG(lst->st_mode) ? (uint64_t)lst->st_size : UINT64_MAX);
    end = put_copy(fd, lst, f, buf, &prog, &err);
    if (end != COPY_OK) {
        progress_end(&prog);
        put_report(sh, end, err, local, target, tmp);
        if (dfs_abort(f) != DFS_OK)         /* drops the pipeline, deletes tmp */
            fprintf(stderr, "dfs: %s: warning: %s: cannot remove %s: %s\n", sh->cmd, target, tmp,
                    dfs_errmsg());
        goto out;
    }
    rc = dfs_close_replicas(f, &wanted, &got);
    if (rc == DFS_OK && po->preserve)
        rc = dfs_set_mtime(sh->fs, tmp, (uint64_t)lst->st_mtim.tv_sec * 1000 +
                           (uint64_t)lst->st_mtim.tv_nsec / 1000000);
    if (rc == DFS_OK)
        rc = dfs_rename(sh->fs, tmp, target, po->force);
    progress_end(&prog);
    if (rc != DFS_OK) {
        sh_fail_as(sh, target, rc, tmp);
        goto out_delete;
    }
    if (got < wanted && prog.done > 0)
        fprintf(stderr, "dfs: %s: warning: %s: written to %u of %u datanodes (fewer live "
                "datanodes than replication); it will be re-replicated\n",
                sh->cmd, target, got, wanted);
    done = 1;
    goto out;
out_delete:
    dfs_delete(sh->fs, tmp, 0);
out:
    free(tmp);
    free(base);
    free(dir);
    return done;
}

/* One LOCAL operand: to REMOTE/basename when remote_is_dir, else REMOTE. */
static void put_one(struct shell *sh, struct put_opts *po, const char *local,
                    const char *remote, int remote_is_dir, char *buf)
{
    int from_stdin = strcmp(local, "-") == 0;
    char *target = NULL, *base;
    struct stat lst;
    int fd;

    if (from_stdin && remote_is_dir) {
        sh_failf(sh, remote, "Is a directory");
        return;
    }
    fd = from_stdin ? STDIN_FILENO : open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sh_fail_errno(sh, local, errno);
        return;
    }
    if (fstat(fd, &lst) != 0) {
        sh_fail_errno(sh, local, errno);
        goto out;
    }
    if (S_ISDIR(lst.st_mode)) {
        sh_failf(sh, local, "Is a directory");
        goto out;
    }
    /* A bad source changes nothing: the home directory comes only now. */
    if (po->make_home) {
        int rc = dfs_mkdir(sh->fs, remote, 0755, 1);

        if (rc != DFS_OK) {
            sh_fail(sh, remote, rc);
            goto out;
        }
        po->make_home = 0;
    }
    if (remote_is_dir) {
        base = path_base(local);
        target = path_join(remote, base);
        free(base);
    } else {
        target = xstrdup(remote);
    }
    /* moveFromLocal: the source goes only once its copy is in place. */
    if (put_target_ok(sh, target, po->force) &&
        put_file(sh, po, fd, &lst, local, target, buf) && po->move && !from_stdin &&
        unlink(local) != 0)
        sh_fail_errno(sh, local, errno);
out:
    free(target);
    if (!from_stdin)
        close(fd);
}

/* Whether path (REMOTE of put) is an existing directory: 1 yes, 0 no, -1
 * when it cannot be told (reported). */
static int remote_is_dir(struct shell *sh, const char *path)
{
    struct dfs_stat st;
    int rc = dfs_stat(sh->fs, path, &st);

    if (rc == DFS_OK)
        return st.type == DFS_TYPE_DIR;
    if (rc == DFS_ERR_NOENT)
        return 0;
    sh_fail(sh, path, rc);
    return -1;
}

/* put, copyFromLocal and moveFromLocal (move != 0). */
static int put_run(struct shell *sh, int argc, char **argv, int move)
{
    struct put_opts po = { .move = move };
    unsigned long long n;
    const char *remote;
    int c, i, isdir, nlocal;
    char *buf;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "r:b:fp", NULL)) != -1) {
        switch (c) {
        case 'r':
            if (parse_uint(optarg, 1, 10, &n) != 0)
                return sh_usage(sh, "invalid replication '%s'", optarg);
            po.replication = (unsigned)n;
            break;
        case 'b':
            if (parse_size(optarg, &po.block_size) != 0 || po.block_size == 0)
                return sh_usage(sh, "invalid block size '%s'", optarg);
            break;
        case 'f': po.force = 1; break;
        case 'p': po.preserve = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    /* Without REMOTE, like hdfs dfs: the home (working) directory, created
     * when missing (by put_one, once a source opened).  Standard input has
     * no name to give the file there. */
    if (argc - optind == 1 && strcmp(argv[optind], "-") == 0)
        return sh_usage(sh, "missing destination operand after '-'");
    nlocal = argc - optind > 1 ? argc - optind - 1 : 1;
    if (sh_connect(sh, argc - optind > 1 ? argv[argc - 1] : NULL) != DFS_OK)
        return EXIT_FAIL;
    remote = argc - optind > 1 ? argv[argc - 1] : sh_workdir();
    if (argc - optind == 1) {
        struct dfs_stat st;

        c = dfs_stat(sh->fs, remote, &st);
        if (c == DFS_ERR_NOENT)
            po.make_home = 1;
        else if (c != DFS_OK) {
            sh_fail(sh, remote, c);
            return sh_status(sh);
        }
        isdir = c != DFS_OK || st.type == DFS_TYPE_DIR;
    } else {
        isdir = remote_is_dir(sh, remote);
    }
    if (isdir < 0)
        return sh_status(sh);
    if (!isdir && (nlocal > 1 || path_ends_in_slash(remote))) {
        sh_failf(sh, remote, "Not a directory");
        return sh_status(sh);
    }
    buf = xmalloc(XFER_BUF);
    sh_trap_signals(1);
    for (i = optind; i < optind + nlocal && !sh_interrupted; i++)
        put_one(sh, &po, argv[i], remote, isdir, buf);
    sh_trap_signals(0);
    free(buf);
    return sh_status(sh);
}

int cmd_put(struct shell *sh, int argc, char **argv)
{
    return put_run(sh, argc, argv, 0);
}

int cmd_move_from_local(struct shell *sh, int argc, char **argv)
{
    return put_run(sh, argc, argv, 1);
}

/* -------------------------------------------------------------- append */

/* Open remote for appending, creating it when missing.  NULL after a
 * report. */
static dfs_file *append_open(struct shell *sh, const char *remote)
{
    struct dfs_stat st;
    dfs_file *f = NULL;
    int rc = dfs_stat(sh->fs, remote, &st);

    if (rc == DFS_OK && st.type == DFS_TYPE_DIR) {
        sh_failf(sh, remote, "Is a directory");
        return NULL;
    }
    if (rc == DFS_ERR_NOENT)
        rc = dfs_open_write(sh->fs, remote, 0, 0644, 0, 0, &f);
    else if (rc == DFS_OK)
        rc = dfs_open_append(sh->fs, remote, &f);
    if (rc != DFS_OK) {
        sh_fail(sh, remote, rc);
        return NULL;
    }
    return f;
}

int cmd_append(struct shell *sh, int argc, char **argv)
{
    const char *remote;
    int c, i, n, rc, *fds, err = 0, failed = 0;
    struct stat *lst;
    struct progress prog;
    enum copy_end end = COPY_OK;
    dfs_file *f;
    char *buf;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", NULL)) != -1)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (argc - optind < 2)
        return sh_usage(sh, "missing destination operand after '%s'", argv[optind]);
    remote = argv[argc - 1];
    n = argc - optind - 1;
    /* Every local operand must open before anything is appended. */
    fds = xcalloc((size_t)n, sizeof(*fds));
    lst = xcalloc((size_t)n, sizeof(*lst));
    for (i = 0; i < n; i++) {
        const char *l = argv[optind + i];
        fds[i] = strcmp(l, "-") == 0 ? STDIN_FILENO : open(l, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0 || fstat(fds[i], &lst[i]) != 0) {
            sh_fail_errno(sh, l, errno);
            failed = 1;
        } else if (S_ISDIR(lst[i].st_mode)) {
            sh_failf(sh, l, "Is a directory");
            failed = 1;
        }
    }
    if (failed || sh_connect(sh, remote) != DFS_OK || !(f = append_open(sh, remote)))
        goto out;
    buf = xmalloc(XFER_BUF);
    sh_trap_signals(1);
    progress_start(&prog, remote, UINT64_MAX);
    for (i = 0; i < n && end == COPY_OK; i++) {
        end = put_copy(fds[i], &lst[i], f, buf, &prog, &err);
        if (end != COPY_OK) {
            progress_end(&prog);
            put_report(sh, end, err, argv[optind + i], remote, NULL);
        }
    }
    progress_end(&prog);
    /* Whatever was appended before a failure or an interruption stays:
     * close completes the file with it. */
    rc = dfs_close(f);
    if (rc != DFS_OK && end == COPY_OK)
        sh_fail(sh, remote, rc);
    sh_trap_signals(0);
    free(buf);
out:
    for (i = 0; i < n; i++)
        if (fds[i] > STDIN_FILENO)
            close(fds[i]);
    free(fds);
    free(lst);
    return sh_status(sh);
}

/* ------------------------------------------------------- get and cat */

/* Buffers for copying f to fd: GET_SLOTS (a helper thread writes) when the
 * writes cost time to overlap, else 1 (no thread).  A file that fits one
 * buffer has nothing to overlap; writing to a character device (/dev/null,
 * a terminal) costs little, and a helper there measured 2% slower. */
static unsigned get_slots(dfs_file *f, int fd)
{
    struct stat st;

    if (dfs_file_length(f) <= XFER_BUF)
        return 1;
    if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode))
        return 1;
    return GET_SLOTS;
}

/* Copy the reader f to fd; *err as for put_copy().  A helper thread writes
 * each piece to fd while the next one is read (xfer.h): the two copies, from
 * the network and into the page cache (or a pipe), then run on two cores.
 * The progress line counts bytes read, at most GET_SLOTS buffers ahead of
 * the writes. */
static enum copy_end get_copy(dfs_file *f, int fd, struct progress *p, int *err)
{
    struct xfer *x = xfer_start(fd, get_slots(f, fd), XFER_BUF);
    enum copy_end end;
    uint64_t done = 0;
    int64_t n;
    char *buf;
    int werr;

    for (;;) {
        if (sh_interrupted) {
            end = COPY_INTR;
            break;
        }
        buf = xfer_buf(x);
        if (!buf) {
            end = COPY_LOCAL;   /* xfer_end() tells why */
            break;
        }
        n = dfs_read(f, buf, XFER_BUF);
        if (n < 0) {
            *err = (int)-n;
            end = COPY_REMOTE;
            break;
        }
        if (n == 0) {
            end = COPY_OK;
            break;
        }
        xfer_commit(x, (size_t)n);
        done += (uint64_t)n;
        progress_update(p, done);
    }
    /* A failed write came earlier in the stream than whatever stopped the
     * reading: it is what a copy without the helper would have stopped on. */
    werr = xfer_end(x);
    if (werr) {
        *err = werr;
        end = COPY_LOCAL;
    }
    return end;
}

/* Report a failed copy from remote to the local path (NULL: stdout). */
static void get_report(struct shell *sh, enum copy_end end, int err, const char *remote,
                       const char *local)
{
    if (end == COPY_REMOTE) {
        sh_fail(sh, remote, err);
    } else if (end == COPY_LOCAL && !local) {
        sh_stdout_error(sh, err);
    } else if (end == COPY_LOCAL) {
        sh_fail_errno(sh, local, err);
    } else if (end == COPY_INTR) {
        sh_failf(sh, remote, "interrupted");
    }
}

/* Copy remote to stdout (cat, get to "-"). */
static void copy_to_stdout(struct shell *sh, const char *remote, int show_progress)
{
    struct progress prog;
    enum copy_end end;
    dfs_file *f;
    int err = 0, rc;

    rc = dfs_open_read(sh->fs, remote, &f);
    if (rc != DFS_OK) {
        sh_fail(sh, remote, rc);
        return;
    }
    progress_start(&prog, remote, dfs_file_length(f));
    prog.on = prog.on && show_progress;
    end = get_copy(f, STDOUT_FILENO, &prog, &err);
    progress_end(&prog);
    get_report(sh, end, err, remote, NULL);
    dfs_close(f);
}

/* Copy the open reader f into the local file target, through a temporary
 * file beside it. */
static void get_file(struct shell *sh, dfs_file *f, const char *remote, const char *target,
                     mode_t umask_bits)
{
    char *tmp = xasprintf("%s.tmp-XXXXXX", target);
    struct progress prog;
    enum copy_end end;
    int fd, err = 0;

    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        sh_fail_errno(sh, target, errno);
        free(tmp);
        return;
    }
    fchmod(fd, 0666 & ~umask_bits);
    progress_start(&prog, remote, dfs_file_length(f));
    end = get_copy(f, fd, &prog, &err);
    progress_end(&prog);
    if (end == COPY_OK && close(fd) != 0) {
        end = COPY_LOCAL;
        err = errno;
    } else if (end != COPY_OK) {
        close(fd);
    }
    if (end == COPY_OK && rename(tmp, target) != 0) {
        end = COPY_LOCAL;
        err = errno;
    }
    if (end != COPY_OK) {
        get_report(sh, end, err, remote, target);
        unlink(tmp);
    }
    free(tmp);
}

/* One REMOTE operand of get. */
static void get_one(struct shell *sh, const char *remote, const char *local,
                    int local_is_dir, int force, mode_t umask_bits)
{
    char *target, *base;
    struct stat lst;
    dfs_file *f;
    int rc;

    rc = dfs_open_read(sh->fs, remote, &f);
    if (rc != DFS_OK) {
        sh_fail(sh, remote, rc);
        return;
    }
    if (local_is_dir) {
        base = path_base(remote);
        target = path_join(local, base);
        free(base);
    } else {
        target = xstrdup(local);
    }
    if (!force && lstat(target, &lst) == 0)
        sh_failf(sh, target, "File exists");
    else
        get_file(sh, f, remote, target, umask_bits);
    dfs_close(f);
    free(target);
}

int cmd_get(struct shell *sh, int argc, char **argv)
{
    int force = 0, to_stdout, local_is_dir = 0, c, i, n;
    const char *local;
    char **remotes;
    struct stat lst;
    mode_t um;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "f", NULL)) != -1) {
        switch (c) {
        case 'f': force = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    /* Without LOCAL, like hdfs dfs: the current local directory. */
    local = argc - optind > 1 ? argv[argc - 1] : ".";
    n = argc - optind > 1 ? argc - optind - 1 : 1;
    to_stdout = strcmp(local, "-") == 0;
    if (!to_stdout) {
        local_is_dir = stat(local, &lst) == 0 && S_ISDIR(lst.st_mode);
        if (!local_is_dir && (n > 1 || path_ends_in_slash(local))) {
            sh_failf(sh, local, "Not a directory");
            return sh_status(sh);
        }
    }
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    um = umask(0);
    umask(um);
    remotes = sh_glob_args(sh, n, argv + optind, &n, 0);
    if (n > 1 && !to_stdout && !local_is_dir) {
        sh_failf(sh, local, "Not a directory");
        n = 0;
    }
    sh_trap_signals(1);
    for (i = 0; i < n && !sh_interrupted && !sh->stdout_broken; i++) {
        if (to_stdout)
            copy_to_stdout(sh, remotes[i], 1);
        else
            get_one(sh, remotes[i], local, local_is_dir, force, um);
    }
    sh_trap_signals(0);
    sh_glob_free(remotes);
    return sh_status(sh);
}

int cmd_cat(struct shell *sh, int argc, char **argv)
{
    int c, i, n;
    char **paths;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", NULL)) != -1)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    paths = sh_glob_args(sh, argc - optind, argv + optind, &n, 0);
    for (i = 0; i < n && !sh->stdout_broken; i++)
        copy_to_stdout(sh, paths[i], 0);
    sh_glob_free(paths);
    return sh_status(sh);
}
