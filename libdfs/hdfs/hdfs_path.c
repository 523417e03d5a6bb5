/*
 * hdfs_path.c - names as libhdfs programs give and get them.
 *
 * Programs pass plain paths ("/a/b", "a/b") or qualified ones, often the
 * mName of an hdfsFileInfo they got back ("hdfs://host:8020/a/b",
 * "file:/a/b").  Everything below libhdfs takes plain paths, so the
 * scheme and authority are stripped here after checking they name the
 * handle's own file system (Hadoop refuses another one: "Wrong FS").
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hdfs_i.h"

/* The namenode port of an hdfs:// URI that writes none. */
#define HPATH_DEFAULT_PORT 8020

/* Length of the scheme of s ("hdfs" of "hdfs://..."), 0 when s has none.
 * A scheme is letters, digits, '+', '-', '.' before the first ':', and
 * only counts when a '/' follows the ':' (so "a:b" stays a relative
 * file name). */
static size_t scheme_len(const char *s)
{
    size_t i = 0;
    while (s[i] && (('a' <= (s[i] | 0x20) && (s[i] | 0x20) <= 'z') ||
                    (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
                               s[i] == '-' || s[i] == '.'))))
        i++;
    if (i == 0 || s[i] != ':' || s[i + 1] != '/')
        return 0;
    return i;
}

/* Split the authority a (n bytes) into its host (length *hl) and port
 * (HPATH_DEFAULT_PORT when none is written). */
static long auth_split(const char *a, size_t n, size_t *hl)
{
    size_t i = n;
    while (i > 0 && a[i - 1] >= '0' && a[i - 1] <= '9')
        i--;
    if (i > 0 && i < n && a[i - 1] == ':' && (a[0] != '[' || a[i - 2] == ']')) {
        *hl = i - 1;
        return strtol(a + i, NULL, 10);
    }
    *hl = (n > 0 && a[n - 1] == ':') ? n - 1 : n;
    return HPATH_DEFAULT_PORT;
}

/* 1 when the authority auth (alen bytes) names mine ("HOST:PORT"): the
 * same host, ignoring case, and the same port, an omitted one being
 * HDFS's default. */
static int same_authority(const char *mine, const char *auth, size_t alen)
{
    size_t ml, al;
    long mp = auth_split(mine, strlen(mine), &ml);
    long ap = auth_split(auth, alen, &al);
    return mp == ap && ml == al && strncasecmp(mine, auth, al) == 0;
}

int hpath_strip(hdfsFS fs, const char *path, char *out)
{
    if (!path || !*path)
        return herr_fail(EINVAL, "empty path");
    size_t sl = scheme_len(path);
    const char *p = path;
    if (sl) {
        int is_file = sl == 4 && !strncasecmp(path, "file", 4);
        int is_dfs = (sl == 4 && !strncasecmp(path, "hdfs", 4)) ||
                     (sl == 3 && !strncasecmp(path, "dfs", 3));
        if (fs->local ? !is_file : !is_dfs)
            return herr_fail(EINVAL, "%s: wrong file system, expected %s", path,
                             fs->local ? "file:" : fs->uri);
        p = path + sl + 1;                       /* after "scheme:" */
        if (p[0] == '/' && p[1] == '/') {        /* an authority */
            const char *auth = p + 2;
            const char *end = strchr(auth, '/');
            size_t alen = end ? (size_t)(end - auth) : strlen(auth);
            if (alen > 0 && !fs->local) {
                /* fs->uri is "SCHEME://AUTHORITY" */
                const char *mine = strstr(fs->uri, "://");
                mine = mine ? mine + 3 : "";
                if (!same_authority(mine, auth, alen))
                    return herr_fail(EINVAL, "%s: wrong file system, expected %s",
                                     path, fs->uri);
            } else if (alen > 0 && strncasecmp(auth, "localhost", alen) != 0) {
                return herr_fail(EINVAL, "%s: wrong file system, expected file:",
                                 path);
            }
            p = end ? end : "/";
        }
    }
    if (strlen(p) >= HPATH_MAX)
        return herr_fail(ENAMETOOLONG, "%.64s...", path);
    strcpy(out, p);
    return 0;
}

void hpath_normalize(char *path)
{
    char *w = path;            /* write position; path[0] is '/' */
    const char *r = path;

    while (*r) {
        while (*r == '/')
            r++;
        if (!*r)
            break;
        const char *seg = r;
        while (*r && *r != '/')
            r++;
        size_t n = (size_t)(r - seg);
        if (n == 1 && seg[0] == '.')
            continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            while (w > path && *--w != '/')
                ;
            continue;
        }
        *w++ = '/';
        memmove(w, seg, n);
        w += n;
    }
    if (w == path)
        *w++ = '/';
    *w = '\0';
}

void hpath_parent(const char *abs, char *out)
{
    snprintf(out, HPATH_MAX, "%s", abs);
    char *slash = strrchr(out, '/');
    if (slash == out)
        out[1] = '\0';
    else if (slash)
        *slash = '\0';
}

int hpath_join(const char *cwd, const char *rel, char *out)
{
    int n;
    if (rel[0] == '/')
        n = snprintf(out, HPATH_MAX, "%s", rel);
    else
        n = snprintf(out, HPATH_MAX, "%s/%s", cwd, rel);
    if (n < 0 || n >= HPATH_MAX)
        return herr_fail(ENAMETOOLONG, "%.64s...", rel);
    hpath_normalize(out);
    return 0;
}

char *hpath_qualify(hdfsFS fs, const char *abs)
{
    size_t n = strlen(fs->uri) + strlen(abs) + 1;
    char *q = malloc(n);
    if (!q) {
        herr_fail(ENOMEM, "qualify %s", abs);
        return NULL;
    }
    snprintf(q, n, "%s%s", fs->uri, abs);
    return q;
}

int hpath_absolute(hdfsFS fs, const char *path, char *out)
{
    char stripped[HPATH_MAX];
    if (hpath_strip(fs, path, stripped) != 0)
        return -1;
    if (stripped[0] == '/')
        return hpath_join("/", stripped, out);
    char cwd[HPATH_MAX];
    if (fs->local) {
        pthread_mutex_lock(&fs->lock);
        memcpy(cwd, fs->local_cwd, sizeof(cwd));
        pthread_mutex_unlock(&fs->lock);
        return hpath_join(cwd, stripped, out);
    }
    int rc = dfs_get_working_directory(fs->dfs, cwd, sizeof(cwd));
    if (rc != DFS_OK)
        return herr_dfs(rc, "working directory");
    return hpath_join(cwd, stripped, out);
}

void hinfo_free_entry(hdfsFileInfo *info)
{
    free(info->mName);
    free(info->mOwner);
    free(info->mGroup);
    memset(info, 0, sizeof(*info));
}
