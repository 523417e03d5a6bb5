/*
 * hdfs_i.h - private to libhdfs.so: the connection and file handles behind
 * hdfs.h's opaque types, and the helpers the files of libdfs/hdfs/ share.
 *
 * Modules (each calls only those listed before it, so there is no circle):
 *   hdfs_err.c    errno + the thread's last message (herr_*)
 *   hdfs_path.c   URIs and paths: qualifying, stripping, joining (hpath_*);
 *                 freeing hdfsFileInfo entries (hinfo_*)
 *   hdfs_local.c  the local file system backend, POSIX calls (hlocal_*)
 *   hdfs_conn.c   builders, connect/disconnect, configuration, the open
 *                 file registry, cluster figures (hconn_*)
 *   hdfs_file.c   open/read/write/seek/close and read statistics (hfile_*)
 *   hdfs_open.c   the stream builder and the open-file builder + future
 *   hdfs_ns.c     namespace calls
 *   hdfs_copy.c   hdfsCopy / hdfsMove between any two handles
 *   hdfs_rz.c     hadoopRz*: "zero-copy" reads into malloc'd buffers
 *
 * Threads: an hdfsFS may be shared between threads (as libdfs's dfs_fs);
 * its registry of open files and its local working directory are guarded
 * by its mutex.  An hdfsFile may be shared too (Hadoop's hdfsPread is safe
 * on a shared stream): its own mutex is held around every call into its
 * dfs_file or descriptor, so calls on one file take turns.  Every function of hdfs.h sets errno on failure
 * and records a message for hdfsGetLastExceptionRootCause() (herr_*).
 */
#ifndef DFS_HDFS_I_H
#define DFS_HDFS_I_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "dfs.h"
#include "hdfs.h"

/* Default block size the local file system reports (Hadoop's
 * fs.local.block.size). */
#define HLOCAL_BLOCK_SIZE (32ull << 20)

/* Longest path or URI libhdfs builds. */
#define HPATH_MAX 4096

struct hdfs_internal {
    int local;                  /* 1: the local file system, dfs == NULL */
    dfs_fs *dfs;
    char uri[320];              /* "hdfs://HOST:PORT", "dfs://HOST:PORT" or
                                 * "file:" (prefix of qualified names) */
    char local_cwd[HPATH_MAX];  /* local: the working directory */
    int64_t conf_block_size;    /* dfs.blocksize of the builder, 0: unset */
    pthread_mutex_t lock;       /* guards files */
    struct hdfsFile_internal *files;   /* open files, for hdfsDisconnect */
};

enum hfile_type { HFILE_INPUT = 1, HFILE_OUTPUT = 2 };

#define HFILE_DIRECT_READ  0x1  /* hdfs_test.h flags */
#define HFILE_DIRECT_PREAD 0x2

struct hdfsFile_internal {
    enum hfile_type type;
    int flags;                  /* HFILE_DIRECT_* */
    hdfsFS fs;
    dfs_file *df;               /* dfs backend */
    int fd;                     /* local backend, else -1 */
    pthread_mutex_t lock;       /* held around every use of df / fd */
    struct hdfsFile_internal **owner;  /* the slot of an open-file future
                                 * still holding this file: cleared (under
                                 * fs->lock) when hdfsDisconnect frees it */
    struct hdfsFile_internal *next, *prev;   /* fs->files */
};

/* ---------------------------------------------------------- hdfs_err.c */

/* Fail with errno e: set errno, record "what: strerror(e)" (what may be
 * printf-like) as the thread's message.  Returns -1. */
int herr_fail(int e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Fail with a libdfs code (positive or negative DFS_ERR_*): errno becomes
 * dfs_errno(code), the message "what: dfs_errmsg()".  Returns -1. */
int herr_dfs(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The errno of a failed POSIX call, with "what: strerror(errno)".  -1. */
int herr_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The thread's last message (NULL when none) and its "stack trace". */
char *herr_root_cause(void);
char *herr_stack_trace(void);

/* --------------------------------------------------------- hdfs_path.c */

/* The path part of a path or URI given to fs: "hdfs://A/x" -> "/x" when A
 * is fs's authority (or absent); "file:/x" -> "/x" for the local file
 * system; a plain path unchanged.  Writes into out (size HPATH_MAX).  0,
 * or -1 with errno EINVAL (another file system's URI, empty path) or
 * ENAMETOOLONG. */
int hpath_strip(hdfsFS fs, const char *path, char *out);
/* Normalise an absolute path in place: "//", "/./" and "/x/.." removed,
 * no trailing '/' (except "/"). */
void hpath_normalize(char *path);
/* cwd + "/" + rel (rel absolute: rel), normalised, into out (HPATH_MAX).
 * 0 or -1 with ENAMETOOLONG. */
int hpath_join(const char *cwd, const char *rel, char *out);
/* Parent directory of the absolute path abs into out (HPATH_MAX bytes);
 * "/" for "/x". */
void hpath_parent(const char *abs, char *out);
/* Qualified name of the absolute path abs on fs: fs->uri + abs (malloc'd),
 * or NULL with ENOMEM. */
char *hpath_qualify(hdfsFS fs, const char *abs);
/* Absolute path of path on fs, in out (HPATH_MAX): stripped, then
 * resolved against the working directory.  0 or -1 with errno. */
int hpath_absolute(hdfsFS fs, const char *path, char *out);
/* Free the strings of one hdfsFileInfo entry and zero it. */
void hinfo_free_entry(hdfsFileInfo *info);

/* -------------------------------------------------------- hdfs_local.c */

/* Local-file-system counterparts of the hdfs.h calls; paths are already
 * absolute (hpath_absolute).  Each returns what its hdfs.h call returns,
 * with errno and the thread's message set on failure. */
int hlocal_open(const char *abs, int flags, int *fd);
int hlocal_mkdirs(const char *abs);
int hlocal_delete(const char *abs, int recursive);
int hlocal_rename(const char *src, const char *dst);
int hlocal_stat_info(hdfsFS fs, const char *abs, hdfsFileInfo *info);
hdfsFileInfo *hlocal_list(hdfsFS fs, const char *abs, int *n);
int hlocal_chown(const char *abs, const char *owner, const char *group);
int hlocal_chmod(const char *abs, short mode);
int hlocal_utime(const char *abs, tTime mtime, tTime atime);
int hlocal_truncate(const char *abs, tOffset len);
char ***hlocal_hosts(const char *abs, tOffset start, tOffset length);
int hlocal_statfs(uint64_t *capacity, uint64_t *used);
/* Fill info from st for qualified name `name` (taken over).  0 or -1. */
int hlocal_fill_info(char *name, const struct stat *st, hdfsFileInfo *info);

/* --------------------------------------------------------- hdfs_conn.c */

/* Add / remove an open file to / from fs's registry. */
void hconn_track(hdfsFS fs, hdfsFile f);
void hconn_untrack(hdfsFS fs, hdfsFile f);

/* --------------------------------------------------------- hdfs_file.c */

/* Open as hdfsOpenFile does, with a 64-bit block size (0: default). */
hdfsFile hfile_open(hdfsFS fs, const char *path, int flags, int32_t bufsize,
                    int16_t replication, int64_t block_size);

#endif /* DFS_HDFS_I_H */
