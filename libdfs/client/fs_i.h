/*
 * fs_i.h - private state behind the public dfs_options and dfs_fs handles.
 */
#ifndef DFS_FS_I_H
#define DFS_FS_I_H

#include <pthread.h>
#include <stdint.h>
#include "dfs.h"
#include "path.h"
#include "rpc.h"
#include "sock.h"

struct dfs_options {
    char namenode_host[256];
    unsigned namenode_port;
    char user[64];
    char client_host[64];        /* client.host: connect from it; "": any */
    unsigned timeout_ms;
    unsigned replication;        /* 0: namenode default */
    uint64_t block_size;         /* 0: namenode default */
    uint32_t chunk_size;
    uint32_t packet_size;
    uint32_t window;
    unsigned ack_timeout_ms;     /* pipeline silent this long: its first datanode failed */
    int replace_datanode;        /* ask for replacements of failed pipeline datanodes */
    unsigned lease_renew_ms;     /* lease renewal period while writing */
    int short_circuit;           /* read local replicas through passed fds */
    unsigned short_circuit_cache;/* replicas whose fds are kept open */
    dfs_log_func log_fn;
    void *log_arg;
};

struct dfs_fs {
    struct dfs_options opts;
    struct dfs_rpc *nn;
    char client_name[96];        /* lease holder name: "dfs-<host>-<pid>-<n>" */
    char client_host[256];       /* this machine's address as the cluster sees it */
    struct dfs_sc *sc;           /* short-circuit reads (shortcircuit.c); NULL: off */

    /* The lease renewer (lease.c); lease_lock guards the fields below it. */
    int lease_ready;             /* lock and cond initialized */
    pthread_mutex_t lease_lock;
    pthread_cond_t lease_cond;   /* CLOCK_MONOTONIC */
    pthread_t lease_thread;
    int lease_started, lease_stop;
    unsigned lease_writers;      /* files open for writing */
    uint64_t lease_due_ms;       /* next renewal, monotonic */

    /* The working directory (cwd.c): normalised, guarded by cwd_lock. */
    int cwd_ready;
    pthread_mutex_t cwd_lock;
    char cwd[DFS_PATH_MAX + 1];
};

/* Connect s to a datanode at host:port for fs (from client.host when
 * set), as dfs_sock_connect(). */
static inline int dfs_fs_connect_dn(const dfs_fs *fs, struct dfs_sock *s, const char *host,
                                    unsigned port, int timeout_ms, char *err, size_t errsz)
{
    return dfs_sock_connect_from(s, fs->opts.client_host, host, port, timeout_ms, err, errsz);
}

/* "HOST:PORT" ("[V6]:PORT" for an IPv6 address) into buf[size] (options.c). */
void dfs_options_format_addr(const char *host, unsigned port, char *buf, size_t size);

/* Normalise a user path for a call (cwd.c): a relative one is resolved
 * against fs's working directory.  On failure sets the error (naming the
 * path) and returns DFS_ERR_INVAL. */
int dfs_fs_norm_path(dfs_fs *fs, const char *path, char *out, size_t outsz);
/* Set fs's working directory to "/user/NAME" of its user (at connect).
 * DFS_OK, DFS_ERR_INVAL "invalid user name 'NAME'" when NAME is not one
 * valid path component (empty, ".", "..", a '/', a control byte), or
 * DFS_ERR_NOMEM. */
int dfs_cwd_init(dfs_fs *fs);
void dfs_cwd_fini(dfs_fs *fs);
/* The namenode's attributes of path (normalised), as they are: a file
 * being written has the length of its complete blocks (fs.c). */
int dfs_fs_stat_raw(dfs_fs *fs, const char *path, struct dfs_stat *st);
/* dfs_delete; with inode != 0 only while path still names that inode
 * (else DFS_ERR_NOENT). */
int dfs_fs_delete(dfs_fs *fs, const char *path, int recursive, uint64_t inode);

/* Lease renewal (lease.c).  dfs_lease_init: at dfs_connect (DFS_OK or an
 * error); dfs_lease_fini: at dfs_disconnect, stops the thread (waits for a
 * renewal in flight).  dfs_lease_hold: a writer opened (the thread starts
 * with the first one; renewals go on while any is open); dfs_lease_release:
 * it closed.  dfs_lease_writers: how many are open.  Thread-safe. */
int dfs_lease_init(dfs_fs *fs);
void dfs_lease_fini(dfs_fs *fs);
void dfs_lease_hold(dfs_fs *fs);
void dfs_lease_release(dfs_fs *fs);
unsigned dfs_lease_writers(dfs_fs *fs);

/* Log through the handle's log function, if any (from any thread). */
void dfs_fs_log(const struct dfs_fs *fs, enum dfs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
