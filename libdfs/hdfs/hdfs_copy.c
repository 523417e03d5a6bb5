/*
 * hdfs_copy.c - hdfsCopy and hdfsMove between any two handles: dfs to
 * dfs (the same cluster or two), dfs to local, local to dfs, local to
 * local.
 *
 * Hadoop's semantics (FileUtil.copy with overwrite): a destination that is
 * an existing directory receives the source under its own name; an
 * existing file is replaced; a directory is copied with everything in it.
 * A move within one handle is a rename (after removing a file it would
 * replace); otherwise a copy, then the source is deleted.
 *
 * Built on the hdfs.h calls themselves, so both backends work the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdfs_i.h"

#define HCOPY_BUF (1u << 20)

/* Last component of the absolute path abs ("" for "/"). */
static const char *base_name(const char *abs)
{
    const char *s = strrchr(abs, '/');
    return s ? s + 1 : abs;
}

/* 1 when src and dst name the same file system (one namespace). */
static int same_fs(hdfsFS a, hdfsFS b)
{
    return a == b || (a->local && b->local);
}

/* Copy the file src (absolute on sfs) to dst (absolute on dfs). */
static int copy_file(hdfsFS sfs, const char *src, hdfsFS dfs, const char *dst, char *buf)
{
    hdfsFile in = hdfsOpenFile(sfs, src, O_RDONLY, 0, 0, 0);
    if (!in)
        return -1;
    hdfsFile out = hdfsOpenFile(dfs, dst, O_WRONLY, 0, 0, 0);
    if (!out) {
        int saved = errno;
        hdfsCloseFile(sfs, in);
        errno = saved;
        return -1;
    }
    int rc = 0;
    for (;;) {
        tSize n = hdfsRead(sfs, in, buf, (tSize)HCOPY_BUF);
        if (n == 0)
            break;
        if (n < 0 || hdfsWrite(dfs, out, buf, n) != n) {
            rc = -1;
            break;
        }
    }
    int saved = errno;
    if (hdfsCloseFile(dfs, out) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    hdfsCloseFile(sfs, in);
    errno = saved;
    return rc;
}

/* Copy src (a file or a directory tree) to exactly dst. */
static int copy_tree(hdfsFS sfs, const char *src, hdfsFS dfs, const char *dst, char *buf)
{
    hdfsFileInfo *info = hdfsGetPathInfo(sfs, src);
    if (!info)
        return -1;
    int dir = info->mKind == kObjectKindDirectory;
    hdfsFreeFileInfo(info, 1);
    if (!dir)
        return copy_file(sfs, src, dfs, dst, buf);
    if (hdfsCreateDirectory(dfs, dst) != 0)
        return -1;
    int n = 0;
    hdfsFileInfo *list = hdfsListDirectory(sfs, src, &n);
    if (!list && errno != 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char s[HPATH_MAX], d[HPATH_MAX];
        /* mName is qualified; its path part names the child */
        if (hpath_absolute(sfs, list[i].mName, s) != 0 ||
            hpath_join(dst, base_name(s), d) != 0)
            rc = -1;
        else
            rc = copy_tree(sfs, s, dfs, d, buf);
    }
    int saved = errno;
    hdfsFreeFileInfo(list, n);
    errno = saved;
    return rc;
}

/* The path a copy or move of src to dst writes: dst, or dst/NAME when dst
 * is an existing directory.  Into out (HPATH_MAX); 0 or -1 with errno. */
static int final_dst(hdfsFS dfs, const char *src_abs, const char *dst_abs, char *out)
{
    hdfsFileInfo *info = hdfsGetPathInfo(dfs, dst_abs);
    int into = info && info->mKind == kObjectKindDirectory;
    if (info)
        hdfsFreeFileInfo(info, 1);
    if (into && strcmp(src_abs, "/") != 0)
        return hpath_join(dst_abs, base_name(src_abs), out);
    snprintf(out, HPATH_MAX, "%s", dst_abs);
    return 0;
}

/* Shared by hdfsCopy (del 0) and hdfsMove (del 1). */
static int copy_impl(hdfsFS srcFS, const char *src, hdfsFS dstFS, const char *dst, int del)
{
    const char *what = del ? "hdfsMove" : "hdfsCopy";
    char s[HPATH_MAX], d0[HPATH_MAX], d[HPATH_MAX];

    if (!srcFS || !dstFS)
        return herr_fail(EBADF, "%s: no file system", what);
    if (!src || !dst)
        return herr_fail(EINVAL, "%s: no path", what);
    if (hpath_absolute(srcFS, src, s) != 0 || hpath_absolute(dstFS, dst, d0) != 0 ||
        final_dst(dstFS, s, d0, d) != 0)
        return -1;
    if (same_fs(srcFS, dstFS)) {
        size_t sl = strlen(s);
        if (!strcmp(s, d))
            return herr_fail(EINVAL, "%s(%s, %s): source and destination are the same",
                             what, src, dst);
        if (!strncmp(d, s, sl) && (d[sl] == '/' || sl == 1))
            return herr_fail(EINVAL, "%s(%s, %s): cannot copy a directory into itself",
                             what, src, dst);
    }
    if (del && same_fs(srcFS, dstFS)) {
        hdfsFileInfo *info = hdfsGetPathInfo(dstFS, d);
        if (info) {
            int is_file = info->mKind == kObjectKindFile;
            hdfsFreeFileInfo(info, 1);
            if (is_file && hdfsDelete(dstFS, d, 0) != 0)
                return -1;
        }
        return hdfsRename(srcFS, s, d);
    }
    char *buf = malloc(HCOPY_BUF);
    if (!buf)
        return herr_fail(ENOMEM, "%s", what);
    int rc = copy_tree(srcFS, s, dstFS, d, buf);
    free(buf);
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
