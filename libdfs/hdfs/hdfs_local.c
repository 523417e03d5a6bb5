/*
 * hdfs_local.c - the local file system behind a handle connected with a
 * NULL namenode (Hadoop's LocalFileSystem), through POSIX calls.
 *
 * Paths arrive absolute and normalised (hpath_absolute).  What Hadoop's
 * local file system reports is reproduced: replication 1, a block size of
 * 32 MiB, names "file:/path", one block on "localhost" per file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <unistd.h>

#include "hdfs_i.h"

int hlocal_mkdirs(const char *abs)
{
    char p[HPATH_MAX];
    struct stat st;

    snprintf(p, sizeof(p), "%s", abs);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0) {
            int e = errno;
            if (e != EEXIST)
                return herr_sys("mkdir %s", p);
            if (stat(p, &st) != 0)
                return herr_sys("stat %s", p);
            if (!S_ISDIR(st.st_mode))
                return herr_fail(c ? ENOTDIR : EEXIST, "mkdirs %s: %s is a file",
                                 abs, p);
        }
        *s = c;
        if (!c)
            break;
    }
    return 0;
}

int hlocal_open(const char *abs, int flags, int *fd)
{
    struct stat st;
    int accmode = flags & O_ACCMODE;

    if (accmode == O_RDONLY) {
        *fd = open(abs, O_RDONLY | O_CLOEXEC);
        if (*fd < 0)
            return herr_sys("open %s", abs);
        if (fstat(*fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            close(*fd);
            *fd = -1;
            return herr_fail(EISDIR, "open %s", abs);
        }
        return 0;
    }
    if (flags & O_APPEND) {
        *fd = open(abs, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (*fd < 0)
            return herr_sys("append %s", abs);
        /* hdfsTell of an appender counts from the end, before any write */
        (void)lseek(*fd, 0, SEEK_END);
        return 0;
    }
    char parent[HPATH_MAX];
    hpath_parent(abs, parent);
    if (hlocal_mkdirs(parent) != 0)
        return -1;
    if (stat(abs, &st) == 0 && S_ISDIR(st.st_mode))
        return herr_fail(EISDIR, "create %s", abs);
    *fd = open(abs, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (*fd < 0)
        return herr_sys("create %s", abs);
    return 0;
}

/* nftw callback of a recursive delete: remove each entry, children first. */
static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st; (void)ftw;
    int rc = (type == FTW_DP) ? rmdir(p) : unlink(p);
    return rc == 0 ? 0 : -1;
}

int hlocal_delete(const char *abs, int recursive)
{
    struct stat st;

    if (lstat(abs, &st) != 0)
        return herr_sys("delete %s", abs);
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(abs) != 0)
            return herr_sys("delete %s", abs);
        return 0;
    }
    if (!recursive) {
        if (rmdir(abs) != 0)
            return herr_sys("delete %s", abs);
        return 0;
    }
    if (nftw(abs, rm_entry, 32, FTW_DEPTH | FTW_PHYS) != 0)
        return herr_sys("delete %s", abs);
    return 0;
}

int hlocal_rename(const char *src, const char *dst)
{
    struct stat st;
    char target[HPATH_MAX];

    if (lstat(src, &st) != 0)
        return herr_sys("rename %s", src);
    snprintf(target, sizeof(target), "%s", dst);
    if (stat(dst, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return herr_fail(EEXIST, "rename %s to %s", src, dst);
        /* into the directory, under the source's name */
        const char *base = strrchr(src, '/');
        if (hpath_join(dst, base ? base + 1 : src, target) != 0)
            return -1;
        if (lstat(target, &st) == 0)
            return herr_fail(EEXIST, "rename %s to %s", src, target);
    }
    size_t sl = strlen(src);
    if (!strncmp(target, src, sl) && (target[sl] == '/' || target[sl] == '\0') &&
        strcmp(target, src) != 0)
        return herr_fail(EINVAL, "rename %s into itself (%s)", src, target);
    if (rename(src, target) != 0)
        return herr_sys("rename %s to %s", src, target);
    return 0;
}

/* User and group names of st into owner/group (numbers when unknown). */
static void names_of(const struct stat *st, char *owner, size_t osz, char *group,
                     size_t gsz)
{
    char buf[2048];
    struct passwd pw, *pwr = NULL;
    struct group gr, *grr = NULL;

    if (getpwuid_r(st->st_uid, &pw, buf, sizeof(buf), &pwr) == 0 && pwr)
        snprintf(owner, osz, "%s", pwr->pw_name);
    else
        snprintf(owner, osz, "%u", (unsigned)st->st_uid);
    if (getgrgid_r(st->st_gid, &gr, buf, sizeof(buf), &grr) == 0 && grr)
        snprintf(group, gsz, "%s", grr->gr_name);
    else
        snprintf(group, gsz, "%u", (unsigned)st->st_gid);
}

int hlocal_fill_info(char *name, const struct stat *st, hdfsFileInfo *info)
{
    char owner[256], group[256];

    memset(info, 0, sizeof(*info));
    info->mName = name;
    info->mKind = S_ISDIR(st->st_mode) ? kObjectKindDirectory : kObjectKindFile;
    info->mLastMod = st->st_mtim.tv_sec;
    info->mLastAccess = st->st_atim.tv_sec;
    info->mSize = S_ISDIR(st->st_mode) ? 0 : (tOffset)st->st_size;
    info->mReplication = 1;
    info->mBlockSize = (tOffset)HLOCAL_BLOCK_SIZE;
    info->mPermissions = (short)(st->st_mode & 07777);
    names_of(st, owner, sizeof(owner), group, sizeof(group));
    info->mOwner = strdup(owner);
    info->mGroup = strdup(group);
    if (!info->mName || !info->mOwner || !info->mGroup) {
        hinfo_free_entry(info);
        return herr_fail(ENOMEM, "file info");
    }
    return 0;
}

int hlocal_stat_info(hdfsFS fs, const char *abs, hdfsFileInfo *info)
{
    struct stat st;

    if (stat(abs, &st) != 0)
        return herr_sys("stat %s", abs);
    char *name = hpath_qualify(fs, abs);
    if (!name)
        return -1;
    return hlocal_fill_info(name, &st, info);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

hdfsFileInfo *hlocal_list(hdfsFS fs, const char *abs, int *n)
{
    struct stat st;
    hdfsFileInfo *out = NULL;
    char **names = NULL;
    size_t count = 0, cap = 0;
    int saved;

    if (stat(abs, &st) != 0) {
        herr_sys("list %s", abs);
        return NULL;
    }
    if (!S_ISDIR(st.st_mode)) {           /* a file lists as itself */
        out = calloc(1, sizeof(*out));
        if (!out) {
            herr_fail(ENOMEM, "list %s", abs);
            return NULL;
        }
        if (hlocal_stat_info(fs, abs, out) != 0) {
            saved = errno;
            free(out);
            errno = saved;
            return NULL;
        }
        *n = 1;
        errno = 0;
        return out;
    }
    DIR *d = opendir(abs);
    if (!d) {
        herr_sys("list %s", abs);
        return NULL;
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (!nn)
                goto nomem;
            names = nn;
            cap = ncap;
        }
        if (!(names[count] = strdup(de->d_name)))
            goto nomem;
        count++;
    }
    closedir(d);
    d = NULL;
    if (count == 0) {
        free(names);
        *n = 0;
        errno = 0;
        return NULL;
    }
    qsort(names, count, sizeof(*names), cmp_names);
    out = calloc(count, sizeof(*out));
    if (!out)
        goto nomem;
    size_t got = 0;
    for (size_t i = 0; i < count; i++) {
        char p[HPATH_MAX];
        if (hpath_join(abs, names[i], p) != 0)
            goto fail;
        if (lstat(p, &st) != 0)
            continue;                     /* vanished meanwhile */
        if (S_ISLNK(st.st_mode))
            (void)stat(p, &st);           /* follow, as Hadoop's File does */
        char *name = hpath_qualify(fs, p);
        if (!name || hlocal_fill_info(name, &st, &out[got]) != 0)
            goto fail;
        got++;
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    if (got == 0) {
        free(out);
        out = NULL;
    }
    *n = (int)got;
    errno = 0;
    return out;

nomem:
    herr_fail(ENOMEM, "list %s", abs);
fail:
    saved = errno;
    if (d)
        closedir(d);
    if (out) {
        for (size_t i = 0; i < count; i++)
            hinfo_free_entry(&out[i]);
        free(out);
    }
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    errno = saved;
    return NULL;
}

int hlocal_chown(const char *abs, const char *owner, const char *group)
{
    char buf[2048];
    uid_t uid = (uid_t)-1;
    gid_t gid = (gid_t)-1;

    if (owner) {
        struct passwd pw, *r = NULL;
        if (getpwnam_r(owner, &pw, buf, sizeof(buf), &r) != 0 || !r)
            return herr_fail(EINVAL, "chown %s: no user %s", abs, owner);
        uid = r->pw_uid;
    }
    if (group) {
        struct group gr, *r = NULL;
        if (getgrnam_r(group, &gr, buf, sizeof(buf), &r) != 0 || !r)
            return herr_fail(EINVAL, "chown %s: no group %s", abs, group);
        gid = r->gr_gid;
    }
    if (chown(abs, uid, gid) != 0)
        return herr_sys("chown %s", abs);
    return 0;
}

int hlocal_chmod(const char *abs, short mode)
{
    if (chmod(abs, (mode_t)mode & 07777) != 0)
        return herr_sys("chmod %s", abs);
    return 0;
}

int hlocal_utime(const char *abs, tTime mtime, tTime atime)
{
    struct timespec ts[2];

    ts[0].tv_sec = atime == -1 ? 0 : atime;
    ts[0].tv_nsec = atime == -1 ? UTIME_OMIT : 0;
    ts[1].tv_sec = mtime == -1 ? 0 : mtime;
    ts[1].tv_nsec = mtime == -1 ? UTIME_OMIT : 0;
    if (utimensat(AT_FDCWD, abs, ts, 0) != 0)
        return herr_sys("utime %s", abs);
    return 0;
}

int hlocal_truncate(const char *abs, tOffset len)
{
    struct stat st;

    if (stat(abs, &st) != 0)
        return herr_sys("truncate %s", abs);
    if (S_ISDIR(st.st_mode))
        return herr_fail(EISDIR, "truncate %s", abs);
    if (len < 0 || len > (tOffset)st.st_size)
        return herr_fail(EINVAL, "truncate %s to %lld: not within its %lld bytes", abs,
                         (long long)len, (long long)st.st_size);
    if (truncate(abs, (off_t)len) != 0)
        return herr_sys("truncate %s", abs);
    return 1;
}

char ***hlocal_hosts(const char *abs, tOffset start, tOffset length)
{
    struct stat st;

    if (stat(abs, &st) != 0) {
        herr_sys("hosts of %s", abs);
        return NULL;
    }
    if (start < 0 || length < 0) {
        herr_fail(EINVAL, "hosts of %s: negative range", abs);
        return NULL;
    }
    int one = !S_ISDIR(st.st_mode) && start < (tOffset)st.st_size;
    char ***hosts = calloc((size_t)one + 1, sizeof(*hosts));
    if (!hosts)
        goto nomem;
    if (one) {
        hosts[0] = calloc(2, sizeof(char *));
        if (!hosts[0] || !(hosts[0][0] = strdup("localhost"))) {
            if (hosts[0])
                free(hosts[0]);
            free(hosts);
            goto nomem;
        }
    }
    return hosts;
nomem:
    herr_fail(ENOMEM, "hosts of %s", abs);
    return NULL;
}

int hlocal_statfs(uint64_t *capacity, uint64_t *used)
{
    struct statvfs sv;

    if (statvfs("/", &sv) != 0)
        return herr_sys("statvfs /");
    *capacity = (uint64_t)sv.f_blocks * sv.f_frsize;
    *used = (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
    return 0;
}
