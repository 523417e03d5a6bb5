/*
 * fs_i.h - private state behind the public dfs_options and dfs_fs handles.
 */
#ifndef DFS_FS_I_H
#define DFS_FS_I_H

#include <stdint.h>
#include "dfs.h"
#include "rpc.h"

struct dfs_options {
    char namenode_host[256];
    unsigned namenode_port;
    char user[64];
    unsigned timeout_ms;
    unsigned replication;        /* 0: namenode default */
    uint64_t block_size;         /* 0: namenode default */
    uint32_t chunk_size;
    uint32_t packet_size;
    uint32_t window;
    dfs_log_func log_fn;
    void *log_arg;
};

struct dfs_fs {
    struct dfs_options opts;
    struct dfs_rpc *nn;
    char client_name[96];        /* lease holder name: "dfs-<host>-<pid>-<n>" */
    char client_host[256];       /* this machine's address as the cluster sees it */
};

/* Normalise a user path for a call; on failure sets the error (naming the
 * path) and returns DFS_ERR_INVAL. */
int dfs_fs_norm_path(const char *path, char *out, size_t outsz);
/* dfs_delete; with inode != 0 only while path still names that inode
 * (else DFS_ERR_NOENT). */
int dfs_fs_delete(dfs_fs *fs, const char *path, int recursive, uint64_t inode);

/* Log through the handle's log function, if any. */
void dfs_fs_log(const struct dfs_fs *fs, enum dfs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
