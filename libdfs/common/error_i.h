/*
 * error_i.h - the per-thread error message of libdfs (internal).
 *
 * Every failing dfs_* call records a message for dfs_errmsg() with
 * dfs_set_error() and returns its DFS_ERR_* code in one statement:
 *
 *     return dfs_set_error(DFS_ERR_NOENT, "%s: no such file", path);
 *
 * The message lives in a thread-local buffer of DFS_ERRMSG_MAX bytes (longer
 * messages are truncated), so threads never see each other's errors.
 */
#ifndef DFS_ERROR_I_H
#define DFS_ERROR_I_H

#define DFS_ERRMSG_MAX 1024

/* Format the calling thread's error message and return err.  The arguments
 * may include dfs_errmsg() itself, to wrap the previous message
 * ("%s: %s", path, dfs_errmsg()).  Never fails, never allocates. */
int dfs_set_error(int err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The failure err of an operation on path: unless the calling thread's
 * message names path already, it becomes "PATH: MESSAGE", so that every
 * failure about a path says which.  Failures of the connection (CONN,
 * TIMEOUT, PROTO, NOMEM) are about the peer, not the path: left as they
 * are.  Returns err (DFS_OK: nothing done). */
int dfs_error_name_path(int err, const char *path);
/* Make dfs_errmsg() return "" again. */
void dfs_clear_error(void);
/* The DFS_ERR_* code closest to an errno value (ENOENT -> DFS_ERR_NOENT,
 * ENOSPC -> DFS_ERR_NOSPC, ...; 0 -> DFS_OK; anything else -> DFS_ERR_IO).
 * The inverse direction is dfs_errno() of dfs.h. */
int dfs_err_from_errno(int e);

#endif
