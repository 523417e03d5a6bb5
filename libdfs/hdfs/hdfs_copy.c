/*
 * hdfs_copy.c - hdfsCopy and hdfsMove between any two handles: dfs to
 * dfs (the same cluster or two), dfs to local, local to dfs, local to
 * local.
 *
 * Hadoop's semantics (FileUtil.copy with overwrite): a destination that is
 * an existing directory receives the source under its own name; an
 * existing file is replaced; a directory is copied with everything in it.
 * Where Hadoop fails, so do these, before anything is changed: a missing
 * source (ENOENT), a destination (or DST/NAME) that is an existing
 * directory, or a file where a directory would go (EEXIST), the source
 * itself or a place inside a source directory (EINVAL).
 *
 * Two handles are one file system when both are local or both reach the
 * same namenode (dfs_get_uri), whatever user they act as.  Locally an
 * alias (a symlink or hard link) of the source counts as the source: the
 * device and inode numbers are compared.
 *
 * A file is written to a hidden sibling of its destination (".NAME._COPYING_"
 * on dfs, opened DFS_O_TEMPORARY; ".NAME._COPYING_.PID.N" locally) and
 * renamed over the destination once complete, so a failed copy leaves the
 * old destination (or none), never a truncated one; the temporary is
 * removed.  A failed directory copy removes the directory it created.
 *
 * A move within one file system is a rename that replaces a destination
 * file atomically; between local mounts (EXDEV) and between file systems
 * it is a copy, then the source is deleted.
 *
 * Local sources are read as Hadoop's local file system reads them,
 * following symlinks; a directory met again below itself (a symlink loop)
 * fails the copy with ELOOP.  Path buffers live on the heap, so the depth
 * of a tree costs little stack.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hdfs_i.h"

#define HCOPY_BUF (1u << 20)

/* The state of one copy. */
struct hcopy {
    hdfsFS sfs, dfs;
    char *buf;                   /* HCOPY_BUF bytes */
    struct stat *dirs;           /* local source: directories being copied */
    size_t ndirs, cap;
};

/* Last component of the absolute path abs ("" for "/"). */
static const char *base_name(const char *abs)
{
    const char *s = strrchr(abs, '/');
    return s ? s + 1 : abs;
}

/* 1 when a and b name the same file system (one namespace). */
static int same_fs(hdfsFS a, hdfsFS b)
{
    char ua[320], ub[320];

    if (a == b)
        return 1;
    if (a->local || b->local)
        return a->local && b->local;
    if (dfs_get_uri(a->dfs, ua, sizeof(ua)) != DFS_OK ||
        dfs_get_uri(b->dfs, ub, sizeof(ub)) != DFS_OK)
        return strcasecmp(a->uri, b->uri) == 0;
    return strcasecmp(ua, ub) == 0;
}

/* Kind of abs on fs: 0 with *dir set, 1 when it does not exist, -1 with
 * errno on another failure. */
static int kind_of(hdfsFS fs, const char *abs, int *dir)
{
    hdfsFileInfo *info = hdfsGetPathInfo(fs, abs);
    if (!info)
        return errno == ENOENT ? 1 : -1;
    *dir = info->mKind == kObjectKindDirectory;
    hdfsFreeFileInfo(info, 1);
    return 0;
}

/* Local: refuse a destination that is the source under another name, or,
 * for a source directory, lies inside it (an existing ancestor of dst is
 * the source).  0 or -1 with EINVAL. */
static int check_local_alias(const char *what, const char *src, const char *dst)
{
    struct stat ss, st;
    char p[HPATH_MAX];

    if (stat(src, &ss) != 0)
        return herr_sys("%s: %s", what, src);
    if (stat(dst, &st) == 0 && st.st_dev == ss.st_dev && st.st_ino == ss.st_ino)
        return herr_fail(EINVAL, "%s(%s, %s): source and destination are the same",
                         what, src, dst);
    if (!S_ISDIR(ss.st_mode))
        return 0;
    snprintf(p, sizeof(p), "%s", dst);
    while (strcmp(p, "/") != 0) {
        char up[HPATH_MAX];
        hpath_parent(p, up);
        memcpy(p, up, sizeof(p));
        if (stat(p, &st) == 0 && st.st_dev == ss.st_dev && st.st_ino == ss.st_ino)
            return herr_fail(EINVAL, "%s(%s, %s): cannot copy a directory into itself",
                             what, src, dst);
    }
    return 0;
}

/* ------------------------------------------------------------ the sink */

/* A destination file being written under its temporary name. */
struct sink {
    hdfsFS fs;
    dfs_file *df;
    int fd;
    char tmp[HPATH_MAX];
};

static atomic_uint tmp_counter;

static int sink_open(struct sink *k, hdfsFS fs, const char *dst)
{
    char parent[HPATH_MAX];
    int n;

    k->fs = fs;
    k->df = NULL;
    k->fd = -1;
    hpath_parent(dst, parent);
    if (fs->local) {
        if (hlocal_mkdirs(parent) != 0)
            return -1;
        n = snprintf(k->tmp, sizeof(k->tmp), "%s/.%s._COPYING_.%ld.%u",
                     strcmp(parent, "/") ? parent : "", base_name(dst),
                     (long)getpid(), atomic_fetch_add(&tmp_counter, 1));
        if (n < 0 || n >= (int)sizeof(k->tmp))
            return herr_fail(ENAMETOOLONG, "copy to %s", dst);
        k->fd = open(k->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (k->fd < 0)
            return herr_sys("create %s", k->tmp);
        return 0;
    }
    n = snprintf(k->tmp, sizeof(k->tmp), "%s/.%s._COPYING_",
                 strcmp(parent, "/") ? parent : "", base_name(dst));
    if (n < 0 || n >= (int)sizeof(k->tmp))
        return herr_fail(ENAMETOOLONG, "copy to %s", dst);
    int rc = dfs_open_write(fs->dfs, k->tmp,
                            DFS_O_OVERWRITE | DFS_O_PARENTS | DFS_O_TEMPORARY,
                            0644, 0, 0, &k->df);
    if (rc != DFS_OK)
        return herr_dfs(rc, "create %s", k->tmp);
    return 0;
}

static int sink_write(struct sink *k, const char *buf, size_t len)
{
    if (k->df) {
        int rc = dfs_write(k->df, buf, len);
        return rc == DFS_OK ? 0 : herr_dfs(rc, "write %s", k->tmp);
    }
    while (len > 0) {
        ssize_t n = write(k->fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return herr_sys("write %s", k->tmp);
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Complete the temporary and rename it over dst.  On failure the
 * temporary is gone. */
static int sink_commit(struct sink *k, const char *dst)
{
    if (k->df) {
        int rc = dfs_close(k->df);
        k->df = NULL;
        if (rc == DFS_OK)
            rc = dfs_rename(k->fs->dfs, k->tmp, dst, 1);
        if (rc != DFS_OK) {
            int saved = herr_dfs(rc, "copy to %s", dst);
            int e = errno;
            (void)dfs_delete(k->fs->dfs, k->tmp, 0);
            errno = e;
            return saved;
        }
        return 0;
    }
    int rc = close(k->fd) == 0 ? 0 : herr_sys("close %s", k->tmp);
    k->fd = -1;
    if (rc == 0 && rename(k->tmp, dst) != 0)
        rc = herr_sys("rename %s to %s", k->tmp, dst);
    if (rc != 0) {
        int e = errno;
        (void)unlink(k->tmp);
        errno = e;
    }
    return rc;
}

/* Drop the temporary (errno kept). */
static void sink_abort(struct sink *k)
{
    int e = errno;
    if (k->df) {
        (void)dfs_abort(k->df);
        k->df = NULL;
    } else if (k->fd >= 0) {
        close(k->fd);
        k->fd = -1;
        (void)unlink(k->tmp);
    }
    errno = e;
}

/* ------------------------------------------------------------ copying */

/* Copy the file src (absolute on c->sfs) to dst (absolute on c->dfs). */
static int copy_file(struct hcopy *c, const char *src, const char *dst)
{
    struct sink k;
    hdfsFile in = hdfsOpenFile(c->sfs, src, O_RDONLY, 0, 0, 0);
    if (!in)
        return -1;
    if (sink_open(&k, c->dfs, dst) != 0) {
        int saved = errno;
        hdfsCloseFile(c->sfs, in);
        errno = saved;
        return -1;
    }
    int rc = 0;
    for (;;) {
        tSize n = hdfsRead(c->sfs, in, c->buf, (tSize)HCOPY_BUF);
        if (n == 0)
            break;
        if (n < 0 || sink_write(&k, c->buf, (size_t)n) != 0) {
            rc = -1;
            break;
        }
    }
    int saved = errno;
    hdfsCloseFile(c->sfs, in);
    errno = saved;
    if (rc != 0) {
        sink_abort(&k);
        return -1;
    }
    return sink_commit(&k, dst);
}

/* Local source: note the directory st entered, failing with ELOOP when it
 * is already being copied further up. */
static int enter_dir(struct hcopy *c, const char *src, const struct stat *st)
{
    for (size_t i = 0; i < c->ndirs; i++)
        if (c->dirs[i].st_dev == st->st_dev && c->dirs[i].st_ino == st->st_ino)
            return herr_fail(ELOOP, "copy %s: a directory inside itself (a symlink loop)",
                             src);
    if (c->ndirs == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        struct stat *nd = realloc(c->dirs, ncap * sizeof(*nd));
        if (!nd)
            return herr_fail(ENOMEM, "copy %s", src);
        c->dirs = nd;
        c->cap = ncap;
    }
    c->dirs[c->ndirs++] = *st;
    return 0;
}

/* Copy src (a file or a directory tree) to exactly dst. */
static int copy_tree(struct hcopy *c, const char *src, const char *dst)
{
    int dir = 0, rc;
    struct stat st;

    if (c->sfs->local) {
        if (stat(src, &st) != 0)
            return herr_sys("copy %s", src);
        dir = S_ISDIR(st.st_mode);
    } else if ((rc = kind_of(c->sfs, src, &dir)) != 0) {
        return rc < 0 ? -1 : herr_fail(ENOENT, "copy %s", src);
    }
    if (!dir)
        return copy_file(c, src, dst);
    if (c->sfs->local && enter_dir(c, src, &st) != 0)
        return -1;
    /* listed before the destination exists, so it cannot list itself */
    int n = 0;
    errno = 0;
    hdfsFileInfo *list = hdfsListDirectory(c->sfs, src, &n);
    rc = 0;
    if (!list && errno != 0)
        rc = -1;
    else if (hdfsCreateDirectory(c->dfs, dst) != 0)
        rc = -1;
    char *s = rc == 0 && n > 0 ? malloc(2 * HPATH_MAX) : NULL;
    if (rc == 0 && n > 0 && !s)
        rc = herr_fail(ENOMEM, "copy %s", src);
    for (int i = 0; i < n && rc == 0; i++) {
        char *d = s + HPATH_MAX;
        /* mName is qualified; its path part names the child */
        if (hpath_absolute(c->sfs, list[i].mName, s) != 0 ||
            hpath_join(dst, base_name(s), d) != 0)
            rc = -1;
        else
            rc = copy_tree(c, s, d);
    }
    int saved = errno;
    free(s);
    if (list)
        hdfsFreeFileInfo(list, n);
    if (c->sfs->local)
        c->ndirs--;
    errno = saved;
    return rc;
}

/* Shared by hdfsCopy (del 0) and hdfsMove (del 1). */
static int copy_impl(hdfsFS srcFS, const char *src, hdfsFS dstFS, const char *dst, int del)
{
    const char *what = del ? "hdfsMove" : "hdfsCopy";
    char s[HPATH_MAX], d0[HPATH_MAX], d[HPATH_MAX];
    int sdir = 0, ddir = 0, k;

    if (!srcFS || !dstFS)
        return herr_fail(EBADF, "%s: no file system", what);
    if (!src || !dst)
        return herr_fail(EINVAL, "%s: no path", what);
    if (hpath_absolute(srcFS, src, s) != 0 || hpath_absolute(dstFS, dst, d0) != 0)
        return -1;
    /* the source first: nothing changes when it is missing */
    if ((k = kind_of(srcFS, s, &sdir)) != 0)
        return k < 0 ? -1 : herr_fail(ENOENT, "%s(%s, %s): no such source", what, src, dst);
    snprintf(d, sizeof(d), "%s", d0);
    if ((k = kind_of(dstFS, d0, &ddir)) < 0)
        return -1;
    if (k == 0 && ddir && strcmp(s, "/") != 0) {
        if (hpath_join(d0, base_name(s), d) != 0)
            return -1;
        if ((k = kind_of(dstFS, d, &ddir)) < 0)
            return -1;
    }
    int same = same_fs(srcFS, dstFS);
    if (same) {
        size_t sl = strlen(s);
        if (!strcmp(s, d))
            return herr_fail(EINVAL, "%s(%s, %s): source and destination are the same",
                             what, src, dst);
        if (!strncmp(d, s, sl) && (d[sl] == '/' || sl == 1))
            return herr_fail(EINVAL, "%s(%s, %s): cannot copy a directory into itself",
                             what, src, dst);
        if (srcFS->local && check_local_alias(what, s, d) != 0)
            return -1;
    }
    if (k == 0 && ddir)
        return herr_fail(EEXIST, "%s(%s, %s): %s is an existing directory",
                         what, src, dst, d);
    if (k == 0 && sdir)
        return herr_fail(EEXIST, "%s(%s, %s): a directory cannot replace the file %s",
                         what, src, dst, d);

    if (del && same) {
        if (!srcFS->local) {
            int rc = dfs_rename(srcFS->dfs, s, d, 1);
            if (rc != DFS_OK)
                return herr_dfs(rc, "%s(%s, %s)", what, src, dst);
            return 0;
        }
        char parent[HPATH_MAX];
        hpath_parent(d, parent);
        if (hlocal_mkdirs(parent) != 0)
            return -1;
        if (rename(s, d) == 0)
            return 0;
        if (errno != EXDEV)
            return herr_sys("%s(%s, %s)", what, src, dst);
        /* another mount: copy, then delete, as between file systems */
    }

    struct hcopy c = { .sfs = srcFS, .dfs = dstFS };
    c.buf = malloc(HCOPY_BUF);
    if (!c.buf)
        return herr_fail(ENOMEM, "%s", what);
    int rc = copy_tree(&c, s, d);
    int saved = errno;
    free(c.buf);
    free(c.dirs);
    if (rc != 0 && sdir)            /* the directory did not exist before */
        (void)hdfsDelete(dstFS, d, 1);
    errno = saved;
    if (rc == 0 && del)
        rc = hdfsDelete(srcFS, s, 1);
    return rc;
}

int hdfsCopy(hdfsFS srcFS, const char *src, hdfsFS dstFS, const char *dst)
{
    return copy_impl(srcFS, src, dstFS, dst, 0);
}

int hdfsMove(hdfsFS srcFS, const char *src, hdfsFS dstFS, const char *dst)
{
    return copy_impl(srcFS, src, dstFS, dst, 1);
}
