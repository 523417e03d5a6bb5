/*
 * hdfs_ns.c - namespace calls of hdfs.h: exists, delete, rename, mkdirs,
 * replication, listing and stat (hdfsFileInfo), owner, mode, times, block
 * hosts, truncate.
 *
 * Each resolves its path to an absolute one (hpath_absolute: scheme and
 * authority stripped, the working directory applied) and calls libdfs, or
 * the local backend for a handle on the local file system.  hdfsFileInfo
 * names are qualified: fs->uri + the absolute path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hdfs_i.h"

/* Mode of directories hdfsCreateDirectory makes (HDFS's 0777 less 022). */
#define HNS_DIR_MODE 0755

/* Resolve path for fs into abs, checking the arguments; -1 with errno. */
static int resolve(hdfsFS fs, const char *path, char *abs, const char *what)
{
    if (!fs)
        return herr_fail(EBADF, "%s: no file system", what);
    if (!path)
        return herr_fail(EINVAL, "%s: no path", what);
    return hpath_absolute(fs, path, abs);
}

/* Fill info (strings malloc'd) from a libdfs stat of the absolute path
 * abs.  0, or -1 with ENOMEM. */
static int fill_info(hdfsFS fs, const char *abs, const struct dfs_stat *st,
                     hdfsFileInfo *info)
{
    memset(info, 0, sizeof(*info));
    int dir = st->type == DFS_TYPE_DIR;
    info->mKind = dir ? kObjectKindDirectory : kObjectKindFile;
    info->mLastMod = (tTime)(st->mtime_ms / 1000);
    info->mLastAccess = (tTime)(st->atime_ms / 1000);
    info->mSize = dir ? 0 : (tOffset)st->length;
    info->mReplication = dir ? 0 : (short)st->replication;
    info->mBlockSize = dir ? 0 : (tOffset)st->block_size;
    info->mPermissions = (short)(st->mode & 07777);
    info->mName = hpath_qualify(fs, abs);
    info->mOwner = strdup(st->owner);
    info->mGroup = strdup(st->group);
    if (!info->mName || !info->mOwner || !info->mGroup) {
        hinfo_free_entry(info);
        return herr_fail(ENOMEM, "file info of %s", abs);
    }
    return 0;
}

int hdfsExists(hdfsFS fs, const char *path)
{
    char abs[HPATH_MAX];
    struct dfs_stat st;

    if (resolve(fs, path, abs, "hdfsExists") != 0)
        return -1;
    if (fs->local) {
        struct stat lst;
        if (stat(abs, &lst) != 0)
            return herr_sys("hdfsExists(%s)", path);
        return 0;
    }
    int rc = dfs_stat(fs->dfs, abs, &st);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsExists(%s)", path);
    return 0;
}

int hdfsDelete(hdfsFS fs, const char *path, int recursive)
{
    char abs[HPATH_MAX];

    if (resolve(fs, path, abs, "hdfsDelete") != 0)
        return -1;
    if (fs->local)
        return hlocal_delete(abs, recursive);
    int rc = dfs_delete(fs->dfs, abs, recursive);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsDelete(%s)", path);
    return 0;
}

int hdfsRename(hdfsFS fs, const char *oldPath, const char *newPath)
{
    char src[HPATH_MAX], dst[HPATH_MAX];

    if (resolve(fs, oldPath, src, "hdfsRename") != 0 ||
        resolve(fs, newPath, dst, "hdfsRename") != 0)
        return -1;
    if (fs->local)
        return hlocal_rename(src, dst);
    int rc = dfs_rename(fs->dfs, src, dst, 0);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsRename(%s, %s)", oldPath, newPath);
    return 0;
}

int hdfsCreateDirectory(hdfsFS fs, const char *path)
{
    char abs[HPATH_MAX];

    if (resolve(fs, path, abs, "hdfsCreateDirectory") != 0)
        return -1;
    if (fs->local)
        return hlocal_mkdirs(abs);
    int rc = dfs_mkdir(fs->dfs, abs, HNS_DIR_MODE, 1);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsCreateDirectory(%s)", path);
    return 0;
}

int hdfsSetReplication(hdfsFS fs, const char *path, int16_t replication)
{
    char abs[HPATH_MAX];

    if (resolve(fs, path, abs, "hdfsSetReplication") != 0)
        return -1;
    if (replication <= 0)
        return herr_fail(EINVAL, "hdfsSetReplication(%s): replication %d", path,
                         (int)replication);
    if (fs->local) {          /* nothing to replicate; the file must exist */
        struct stat st;
        if (stat(abs, &st) != 0)
            return herr_sys("hdfsSetReplication(%s)", path);
        if (S_ISDIR(st.st_mode))
            return herr_fail(EISDIR, "hdfsSetReplication(%s)", path);
        return 0;
    }
    int rc = dfs_set_replication(fs->dfs, abs, (unsigned)replication);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsSetReplication(%s)", path);
    return 0;
}

hdfsFileInfo *hdfsGetPathInfo(hdfsFS fs, const char *path)
{
    char abs[HPATH_MAX];
    struct dfs_stat st;

    if (resolve(fs, path, abs, "hdfsGetPathInfo") != 0)
        return NULL;
    hdfsFileInfo *info = calloc(1, sizeof(*info));
    if (!info) {
        herr_fail(ENOMEM, "hdfsGetPathInfo(%s)", path);
        return NULL;
    }
    int rc;
    if (fs->local) {
        rc = hlocal_stat_info(fs, abs, info);
    } else {
        rc = dfs_stat(fs->dfs, abs, &st);
        rc = rc != DFS_OK ? herr_dfs(rc, "hdfsGetPathInfo(%s)", path)
                          : fill_info(fs, abs, &st, info);
    }
    if (rc != 0) {
        int saved = errno;
        free(info);
        errno = saved;
        return NULL;
    }
    return info;
}

/* Entries of the dfs directory abs (a file: itself); see hdfsListDirectory. */
static hdfsFileInfo *list_dfs(hdfsFS fs, const char *abs, const char *path, int *n)
{
    dfs_dir *dir = NULL;
    struct dfs_stat st;
    hdfsFileInfo *out = NULL;
    size_t count = 0, cap = 0;
    int rc = dfs_stat(fs->dfs, abs, &st);

    if (rc != DFS_OK) {
        herr_dfs(rc, "hdfsListDirectory(%s)", path);
        return NULL;
    }
    if (st.type == DFS_TYPE_FILE) {                 /* a file lists as itself */
        out = calloc(1, sizeof(*out));
        if (!out) {
            herr_fail(ENOMEM, "hdfsListDirectory(%s)", path);
            return NULL;
        }
        if (fill_info(fs, abs, &st, out) != 0) {
            free(out);
            errno = ENOMEM;
            return NULL;
        }
        *n = 1;
        errno = 0;
        return out;
    }
    rc = dfs_opendir(fs->dfs, abs, &dir);
    if (rc != DFS_OK) {
        herr_dfs(rc, "hdfsListDirectory(%s)", path);
        return NULL;
    }
    for (;;) {
        rc = dfs_readdir(dir, &st);
        if (rc == 0)
            break;
        if (rc < 0) {
            herr_dfs(rc, "hdfsListDirectory(%s)", path);
            goto fail;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            if (ncap > INT32_MAX) {
                herr_fail(EOVERFLOW, "hdfsListDirectory(%s): too many entries", path);
                goto fail;
            }
            hdfsFileInfo *grown = realloc(out, ncap * sizeof(*out));
            if (!grown) {
                herr_fail(ENOMEM, "hdfsListDirectory(%s)", path);
                goto fail;
            }
            out = grown;
            cap = ncap;
        }
        char child[HPATH_MAX];
        if (hpath_join(abs, st.name, child) != 0 ||
            fill_info(fs, child, &st, &out[count]) != 0)
            goto fail;
        count++;
    }
    dfs_closedir(dir);
    if (count == 0) {
        free(out);
        out = NULL;
    }
    *n = (int)count;
    errno = 0;
    return out;
fail:;
    int saved = errno;
    dfs_closedir(dir);
    for (size_t i = 0; i < count; i++)
        hinfo_free_entry(&out[i]);
    free(out);
    errno = saved;
    return NULL;
}

hdfsFileInfo *hdfsListDirectory(hdfsFS fs, const char *path, int *numEntries)
{
    char abs[HPATH_MAX];

    if (!numEntries) {
        herr_fail(EINVAL, "hdfsListDirectory: no numEntries");
        return NULL;
    }
    *numEntries = 0;
    if (resolve(fs, path, abs, "hdfsListDirectory") != 0)
        return NULL;
    if (fs->local)
        return hlocal_list(fs, abs, numEntries);
    return list_dfs(fs, abs, path, numEntries);
}

void hdfsFreeFileInfo(hdfsFileInfo *infos, int numEntries)
{
    if (!infos)
        return;
    for (int i = 0; i < numEntries; i++)
        hinfo_free_entry(&infos[i]);
    free(infos);
}

int hdfsFileIsEncrypted(hdfsFileInfo *info)
{
    if (!info)
        return herr_fail(EINVAL, "hdfsFileIsEncrypted: no file info");
    return 0;                       /* dfs does not encrypt */
}

char ***hdfsGetHosts(hdfsFS fs, const char *path, tOffset start, tOffset length)
{
    char abs[HPATH_MAX];
    struct dfs_block_location *blocks = NULL;
    size_t count = 0;

    if (resolve(fs, path, abs, "hdfsGetHosts") != 0)
        return NULL;
    if (start < 0 || length < 0) {
        herr_fail(EINVAL, "hdfsGetHosts(%s): negative start or length", path);
        return NULL;
    }
    if (fs->local)
        return hlocal_hosts(abs, start, length);
    int rc = dfs_get_block_locations(fs->dfs, abs, (uint64_t)start, (uint64_t)length,
                                     &blocks, &count);
    if (rc != DFS_OK) {
        herr_dfs(rc, "hdfsGetHosts(%s)", path);
        return NULL;
    }
    char ***hosts = calloc(count + 1, sizeof(*hosts));
    if (!hosts)
        goto nomem;
    for (size_t i = 0; i < count; i++) {
        hosts[i] = calloc(blocks[i].nlocs + 1, sizeof(char *));
        if (!hosts[i])
            goto nomem;
        for (unsigned j = 0; j < blocks[i].nlocs; j++)
            if (!(hosts[i][j] = strdup(blocks[i].locs[j].host)))
                goto nomem;
    }
    dfs_free_block_locations(blocks, count);
    return hosts;
nomem:
    dfs_free_block_locations(blocks, count);
    hdfsFreeHosts(hosts);
    herr_fail(ENOMEM, "hdfsGetHosts(%s)", path);
    return NULL;
}

void hdfsFreeHosts(char ***blockHosts)
{
    if (!blockHosts)
        return;
    for (size_t i = 0; blockHosts[i]; i++) {
        for (size_t j = 0; blockHosts[i][j]; j++)
            free(blockHosts[i][j]);
        free(blockHosts[i]);
    }
    free(blockHosts);
}

int hdfsChown(hdfsFS fs, const char *path, const char *owner, const char *group)
{
    char abs[HPATH_MAX];

    if (!owner && !group)
        return 0;                   /* nothing to change (libhdfs too) */
    if (resolve(fs, path, abs, "hdfsChown") != 0)
        return -1;
    if (fs->local)
        return hlocal_chown(abs, owner, group);
    int rc = dfs_chown(fs->dfs, abs, owner, group);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsChown(%s)", path);
    return 0;
}

int hdfsChmod(hdfsFS fs, const char *path, short mode)
{
    char abs[HPATH_MAX];

    if (resolve(fs, path, abs, "hdfsChmod") != 0)
        return -1;
    if (fs->local)
        return hlocal_chmod(abs, mode);
    int rc = dfs_chmod(fs->dfs, abs, (unsigned)mode & 07777);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsChmod(%s)", path);
    return 0;
}

int hdfsUtime(hdfsFS fs, const char *path, tTime mtime, tTime atime)
{
    char abs[HPATH_MAX];

    if (resolve(fs, path, abs, "hdfsUtime") != 0)
        return -1;
    if ((mtime < 0 && mtime != -1) || (atime < 0 && atime != -1))
        return herr_fail(EINVAL, "hdfsUtime(%s): negative time", path);
    if (fs->local)
        return hlocal_utime(abs, mtime, atime);
    int rc = dfs_utimes(fs->dfs, abs, mtime == -1 ? -1 : (int64_t)mtime * 1000,
                        atime == -1 ? -1 : (int64_t)atime * 1000);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsUtime(%s)", path);
    return 0;
}

int hdfsTruncateFile(hdfsFS fs, const char *path, tOffset newlength)
{
    char abs[HPATH_MAX];

    if (resolve(fs, path, abs, "hdfsTruncateFile") != 0)
        return -1;
    if (fs->local)
        return hlocal_truncate(abs, newlength);
    return herr_fail(ENOTSUP, "hdfsTruncateFile(%s): dfs files cannot be truncated",
                     path);
}
