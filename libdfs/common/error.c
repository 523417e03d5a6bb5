/*
 * error.c - error codes, their texts and errno values, the per-thread
 * error message, and the library version (see dfs.h and error_i.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dfs.h"
#include "error_i.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* Text and errno of each code, indexed by the code. */
static const struct {
    const char *text;
    int errnum;
} err_table[DFS_ERR__MAX] = {
    [DFS_OK]           = { "Success", 0 },
    [DFS_ERR_NOENT]    = { "No such file or directory", ENOENT },
    [DFS_ERR_EXIST]    = { "File exists", EEXIST },
    [DFS_ERR_NOTDIR]   = { "Not a directory", ENOTDIR },
    [DFS_ERR_ISDIR]    = { "Is a directory", EISDIR },
    [DFS_ERR_NOTEMPTY] = { "Directory not empty", ENOTEMPTY },
    [DFS_ERR_INVAL]    = { "Invalid argument", EINVAL },
    [DFS_ERR_PERM]     = { "Permission denied", EACCES },
    [DFS_ERR_IO]       = { "Input/output error", EIO },
    [DFS_ERR_NOSPC]    = { "No space left on device", ENOSPC },
    [DFS_ERR_SAFEMODE] = { "Namenode is in safe mode", EROFS },
    [DFS_ERR_PROTO]    = { "Protocol error", EPROTO },
    [DFS_ERR_NOMEM]    = { "Out of memory", ENOMEM },
    [DFS_ERR_UNAVAIL]  = { "No live datanode available", EHOSTUNREACH },
    /* Applications (and FUSE) expect a failed read to be EIO. */
    [DFS_ERR_CORRUPT]  = { "Data corrupt", EIO },
    [DFS_ERR_TIMEOUT]  = { "Timed out", ETIMEDOUT },
    [DFS_ERR_CONN]     = { "Connection failed", ECONNREFUSED },
    [DFS_ERR_BUSY]     = { "Resource busy", EBUSY },
    [DFS_ERR_STALE]    = { "Stale block", ESTALE },
    /* rename(2) of a directory into its own subtree is EINVAL. */
    [DFS_ERR_XDEV]     = { "Cannot move a directory into itself", EINVAL },
};

static __thread char errmsg[DFS_ERRMSG_MAX];

const char *dfs_strerror(int err)
{
    if (err < 0 || err >= DFS_ERR__MAX || err_table[err].text == NULL)
        return "Unknown error";
    return err_table[err].text;
}

int dfs_errno(int err)
{
    if (err < 0 || err >= DFS_ERR__MAX || err_table[err].text == NULL)
        return EIO;
    return err_table[err].errnum;
}

int dfs_err_from_errno(int e)
{
    switch (e) {
    case 0:            return DFS_OK;
    case ENOENT:       return DFS_ERR_NOENT;
    case EEXIST:       return DFS_ERR_EXIST;
    case ENOTDIR:      return DFS_ERR_NOTDIR;
    case EISDIR:       return DFS_ERR_ISDIR;
    case ENOTEMPTY:    return DFS_ERR_NOTEMPTY;
    case EINVAL:       return DFS_ERR_INVAL;
    case EACCES:
    case EPERM:        return DFS_ERR_PERM;
    case ENOSPC:
    case EDQUOT:       return DFS_ERR_NOSPC;
    case EROFS:        return DFS_ERR_SAFEMODE;
    case EPROTO:
    case EBADMSG:      return DFS_ERR_PROTO;
    case ENOMEM:       return DFS_ERR_NOMEM;
    case EHOSTUNREACH:
    case ENETUNREACH:  return DFS_ERR_UNAVAIL;
    case ETIMEDOUT:    return DFS_ERR_TIMEOUT;
    case ECONNREFUSED:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:        return DFS_ERR_CONN;
    case EBUSY:        return DFS_ERR_BUSY;
    case ESTALE:       return DFS_ERR_STALE;
    default:           return DFS_ERR_IO;
    }
}

const char *dfs_version(void)
{
    return STR(DFS_VERSION_MAJOR) "." STR(DFS_VERSION_MINOR) "."
           STR(DFS_VERSION_PATCH);
}

const char *dfs_errmsg(void)
{
    return errmsg;
}

int dfs_set_error(int err, const char *fmt, ...)
{
    /* Format aside first: the arguments may point into errmsg. */
    char tmp[DFS_ERRMSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        n = snprintf(tmp, sizeof(tmp), "%s", dfs_strerror(err));
    size_t len = (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1;
    memcpy(errmsg, tmp, len);
    errmsg[len] = '\0';
    return err;
}

int dfs_error_name_path(int err, const char *path)
{
    if (err == DFS_OK || !path || !*path || err == DFS_ERR_CONN || err == DFS_ERR_TIMEOUT ||
        err == DFS_ERR_PROTO || err == DFS_ERR_NOMEM)
        return err;
    const char *msg = dfs_errmsg();
    if (strstr(msg, path))
        return err;
    return dfs_set_error(err, "%s: %s", path, *msg ? msg : dfs_strerror(err));
}

void dfs_clear_error(void)
{
    errmsg[0] = '\0';
}
