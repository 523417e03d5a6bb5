/*
 * cwd.c - the one place user paths are normalised: a handle's working
 * directory, against which relative paths resolve (dfs_set_working_directory,
 * dfs_get_working_directory), and the resolved form of a path
 * (dfs_resolve_path).  It starts at the user's home "/user/NAME".
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "error_i.h"
#include "fs_i.h"
#include "path.h"

int dfs_cwd_init(dfs_fs *fs)
{
    char home[DFS_PATH_MAX + 1];
    const char *u = fs->opts.user;
    /* The user names the home directory: one valid path component. */
    if (!dfs_name_valid(u, strlen(u)))
        return dfs_set_error(DFS_ERR_INVAL, "invalid user name '%s'", u);
    if (pthread_mutex_init(&fs->cwd_lock, NULL) != 0)
        return dfs_set_error(DFS_ERR_NOMEM, "cannot create a mutex");
    fs->cwd_ready = 1;
    snprintf(home, sizeof(home), "/user/%s", fs->opts.user);
    if (dfs_path_normalize(home, fs->cwd, sizeof(fs->cwd)) != DFS_PATH_OK)
        snprintf(fs->cwd, sizeof(fs->cwd), "/");
    return DFS_OK;
}

void dfs_cwd_fini(dfs_fs *fs)
{
    if (fs->cwd_ready)
        pthread_mutex_destroy(&fs->cwd_lock);
    fs->cwd_ready = 0;
}

/* Normalise path, relative to base (normalised, NULL: path must be absolute). */
static int norm_against(const char *base, const char *path, char *out, size_t outsz)
{
    if (!path)
        return dfs_set_error(DFS_ERR_INVAL, "no path given");
    enum dfs_path_rc rc;
    if (path[0] != '/' && path[0] != '\0' && base) {
        char joined[2 * DFS_PATH_MAX + 4];
        int n = snprintf(joined, sizeof(joined), "%s/%s", base, path);
        rc = n < 0 || (size_t)n >= sizeof(joined) ? DFS_PATH_TOO_LONG
             : dfs_path_normalize(joined, out, outsz);
    } else {
        rc = dfs_path_normalize(path, out, outsz);
    }
    if (rc != DFS_PATH_OK)
        return dfs_set_error(DFS_ERR_INVAL, "%s", dfs_path_strerror(rc));
    return DFS_OK;
}

int dfs_fs_norm_path(dfs_fs *fs, const char *path, char *out, size_t outsz)
{
    if (!fs || !fs->cwd_ready)
        return norm_against(NULL, path, out, outsz);
    if (path && path[0] == '/')
        return norm_against(NULL, path, out, outsz);
    pthread_mutex_lock(&fs->cwd_lock);
    int rc = norm_against(fs->cwd, path, out, outsz);
    pthread_mutex_unlock(&fs->cwd_lock);
    return rc;
}

int dfs_set_working_directory(dfs_fs *fs, const char *path)
{
    char p[DFS_PATH_MAX + 1];
    if (!fs || !fs->cwd_ready)
        return dfs_set_error(DFS_ERR_INVAL, "no handle given");
    /* Resolve and store under one lock: two relative changes at once
     * both take effect, one after the other. */
    pthread_mutex_lock(&fs->cwd_lock);
    int rc = norm_against(path && path[0] == '/' ? NULL : fs->cwd, path, p, sizeof(p));
    if (rc == DFS_OK)
        memcpy(fs->cwd, p, strlen(p) + 1);
    pthread_mutex_unlock(&fs->cwd_lock);
    return rc;
}

int dfs_resolve_path(dfs_fs *fs, const char *path, char *buf, size_t size)
{
    char p[DFS_PATH_MAX + 1];
    if (!buf)
        return dfs_set_error(DFS_ERR_INVAL, "no buffer given");
    int rc = dfs_fs_norm_path(fs, path, p, sizeof(p));
    if (rc != DFS_OK)
        return rc;
    size_t n = strlen(p);
    if (n >= size)
        return dfs_set_error(DFS_ERR_INVAL, "the path %s (%zu bytes) does not fit a buffer "
                             "of %zu", p, n, size);
    memcpy(buf, p, n + 1);
    return DFS_OK;
}

int dfs_get_working_directory(dfs_fs *fs, char *buf, size_t size)
{
    if (!buf)
        return dfs_set_error(DFS_ERR_INVAL, "no buffer given");
    pthread_mutex_lock(&fs->cwd_lock);
    size_t n = strlen(fs->cwd);
    int fits = n < size;
    if (fits)
        memcpy(buf, fs->cwd, n + 1);
    pthread_mutex_unlock(&fs->cwd_lock);
    if (!fits)
        return dfs_set_error(DFS_ERR_INVAL, "the working directory (%zu bytes) does not fit "
                             "a buffer of %zu", n, size);
    return DFS_OK;
}
