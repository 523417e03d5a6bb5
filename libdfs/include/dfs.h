/*
 * dfs.h - the libdfs client API.  This is the only public header.
 *
 * Conventions
 *  - Objects are opaque handles with a create/destroy (or open/close) pair:
 *    dfs_options, dfs_fs, dfs_dir, dfs_file.
 *  - Every call that can fail returns an int: DFS_OK (0) or a positive
 *    DFS_ERR_* code.  Calls that return a byte count return a negative
 *    DFS_ERR_* code (-code) on failure.  dfs_errmsg() gives the calling
 *    thread's message for its last failure (it names the path, the block or
 *    the datanode); dfs_strerror() names a code; dfs_errno() converts a code
 *    to the nearest errno value.
 *  - Strings are NUL-terminated UTF-8.  A path is absolute ("/a/b") or
 *    relative to the handle's working directory, which starts at the
 *    user's home directory "/user/NAME" (see dfs_set_working_directory).
 *  - Whatever the library allocates and hands out is freed with the matching
 *    dfs_free_* / destroy call; the caller's buffers stay the caller's.
 *  - A dfs_fs handle may be shared between threads; a dfs_dir or dfs_file
 *    belongs to one thread at a time.  Several handles to several clusters
 *    in one process are independent: the library has no global state but
 *    the per-thread error message.
 *  - The library never prints and never aborts: it reports through return
 *    codes and, when installed, the log function of its options (which
 *    may be called from the handle's lease renewal thread too).
 *  - While a dfs_fs has files open for writing, a background thread of its
 *    own renews the client's lease on them (client.lease_renew_ms); it
 *    ends with dfs_disconnect().
 *  - Calls block until the namenode or datanodes answer or the timeout of
 *    the options expires.
 */
#ifndef DFS_H
#define DFS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DFS_VERSION_MAJOR 0
#define DFS_VERSION_MINOR 1
#define DFS_VERSION_PATCH 0

/* Error codes: the same numbers as the wire Status of proto/dfs.proto. */
enum dfs_err {
    DFS_OK = 0,
    DFS_ERR_NOENT = 1,     /* no such file or directory */
    DFS_ERR_EXIST = 2,     /* file exists */
    DFS_ERR_NOTDIR = 3,    /* not a directory */
    DFS_ERR_ISDIR = 4,     /* is a directory */
    DFS_ERR_NOTEMPTY = 5,  /* directory not empty */
    DFS_ERR_INVAL = 6,     /* invalid argument */
    DFS_ERR_PERM = 7,      /* permission denied */
    DFS_ERR_IO = 8,        /* input/output error */
    DFS_ERR_NOSPC = 9,     /* no space left */
    DFS_ERR_SAFEMODE = 10, /* namenode is in safe mode */
    DFS_ERR_PROTO = 11,    /* protocol error */
    DFS_ERR_NOMEM = 12,    /* out of memory */
    DFS_ERR_UNAVAIL = 13,  /* no live datanode / unavailable */
    DFS_ERR_CORRUPT = 14,  /* data corrupt (every replica bad) */
    DFS_ERR_TIMEOUT = 15,  /* timed out */
    DFS_ERR_CONN = 16,     /* cannot reach the namenode or datanode */
    DFS_ERR_BUSY = 17,     /* busy (file is being written) */
    DFS_ERR_STALE = 18,    /* stale block */
    DFS_ERR_XDEV = 19,     /* cannot move a directory into itself */
    DFS_ERR__MAX
};

/* Short description of an error code ("No such file or directory"). */
const char *dfs_strerror(int err);
/* Message of the calling thread's last failed dfs_* call, never NULL. */
const char *dfs_errmsg(void);
/* The errno value closest to a DFS_ERR_* code (ENOENT, EEXIST, ...). */
int dfs_errno(int err);
/* "MAJOR.MINOR.PATCH" of the library. */
const char *dfs_version(void);

/* ------------------------------------------------------------- options */

typedef struct dfs_options dfs_options;

enum dfs_log_level { DFS_LOG_ERROR = 0, DFS_LOG_WARN, DFS_LOG_INFO, DFS_LOG_DEBUG };
typedef void (*dfs_log_func)(enum dfs_log_level level, const char *msg, void *arg);

/* New options with the defaults (namenode 127.0.0.1:8020, user from the
 * process's login name, replication and block size from the namenode).
 * Returns NULL only when out of memory. */
dfs_options *dfs_options_create(void);
void dfs_options_destroy(dfs_options *opts);
/* Read the [client] section of an INI configuration file (see
 * conf/dfs.conf).  path NULL means $DFS_CONF, and nothing when unset.
 * DFS_ERR_INVAL with dfs_errmsg() naming file, line and key on a bad file. */
int dfs_options_load_conf(dfs_options *opts, const char *path);
/* Load the defaults of the environment: the configuration file $DFS_CONF
 * (when set), then $DFS_NAMENODE (when set) for the namenode and
 * $DFS_CLIENT_HOST (when set) for the client host.  What the shell,
 * libhdfs's "default" namenode and the Python package start from. */
int dfs_options_load_env(dfs_options *opts);
/* The namenode: "HOST:PORT", "HOST" (port 8020), or a URI
 * "dfs://HOST[:PORT][/]" ("hdfs://" is accepted as an alias).  IPv6
 * addresses in brackets ("[::1]:8020").  DFS_ERR_INVAL when malformed. */
int dfs_options_set_namenode(dfs_options *opts, const char *addr);
/* Copy of the namenode address in effect (caller frees with free()). */
char *dfs_options_get_namenode(const dfs_options *opts);
/* This client's host as the cluster sees it (client.host): a numeric IPv4
 * or IPv6 address that every connection of the handle (namenode and
 * datanodes) is made from, so several clients on one machine can act as
 * different hosts (e.g. 127.0.0.2 and 127.0.0.3).  A datanode then counts
 * as local (preferred for reads; the namenode places the first replica of
 * a new block there) only when its address is exactly this one.  NULL or
 * "" clears it: the system picks the source address, and a datanode is
 * local at the address the namenode sees the client at (each loopback
 * address counts as a host of its own).  DFS_ERR_INVAL when host is not an IP address; an address
 * that is not this machine's fails the connections, dfs_connect() first,
 * with an error naming it. */
int dfs_options_set_client_host(dfs_options *opts, const char *host);
/* The user the handle acts as (NULL or "" leaves it unchanged).  It must
 * be a valid path component, as it names the home directory /user/NAME:
 * no '/', not "." or "..", no control character; dfs_connect() refuses
 * another with DFS_ERR_INVAL ("invalid user name '..'"). */
void dfs_options_set_user(dfs_options *opts, const char *user);
/* Timeout of one RPC or one datanode operation, milliseconds (default 60000). */
void dfs_options_set_timeout_ms(dfs_options *opts, unsigned ms);
/* Defaults for new files; 0 means the namenode's default. */
void dfs_options_set_replication(dfs_options *opts, unsigned replication);
void dfs_options_set_block_size(dfs_options *opts, uint64_t block_size);
/* Bytes per checksum chunk for new blocks (power of two, 512..16 MiB). */
int dfs_options_set_chunk_size(dfs_options *opts, unsigned chunk_size);
void dfs_options_set_log_func(dfs_options *opts, dfs_log_func fn, void *arg);

/* ---------------------------------------------------------- connection */

typedef struct dfs_fs dfs_fs;

/* Connect to the namenode of opts (opts may be destroyed afterwards).
 * On success *out is a handle for dfs_disconnect().  DFS_ERR_INVAL for an
 * invalid user name (see dfs_options_set_user()). */
int dfs_connect(const dfs_options *opts, dfs_fs **out);
/* Connect with the environment's defaults (dfs_options_load_env()), to
 * uri when not NULL and not "default" (any form dfs_options_set_namenode()
 * takes), as user when not NULL. */
int dfs_connect_uri(const char *uri, const char *user, dfs_fs **out);
/* Close every connection and free the handle.  Open files and directory
 * streams must be closed first. */
void dfs_disconnect(dfs_fs *fs);
/* "dfs://HOST:PORT" of the handle's namenode into buf (NUL-terminated in
 * size bytes); DFS_ERR_INVAL when it does not fit. */
int dfs_get_uri(const dfs_fs *fs, char *buf, size_t size);
/* The user this handle acts as (owner of what it creates). */
const char *dfs_get_user(const dfs_fs *fs);
/* The working directory relative paths are resolved against: starts at
 * "/user/NAME" (which need not exist).  Set: path absolute or relative to
 * the current one, normalised; it need not exist either (as in HDFS).
 * Get: into buf, NUL-terminated in size bytes (DFS_ERR_INVAL when it does
 * not fit).  Thread-safe: a call with a relative path running while
 * another thread changes the directory resolves against the old or the
 * new one, and two relative changes at once both apply, one after the
 * other. */
int dfs_set_working_directory(dfs_fs *fs, const char *path);
int dfs_get_working_directory(dfs_fs *fs, char *buf, size_t size);
/* The absolute, normalised form of path as the calls of this handle use
 * it (resolved against the working directory; "//a/./b/../c/" -> "/a/c")
 * into buf, NUL-terminated in size bytes.  Nothing is asked of the
 * namenode: the path need not exist.  DFS_ERR_INVAL with the reason for a
 * path the calls refuse ("", ".." above the root, bad UTF-8, too long) or
 * when it does not fit buf. */
int dfs_resolve_path(dfs_fs *fs, const char *path, char *buf, size_t size);
/* The namenode's defaults for new files: block size and replication. */
int dfs_get_default_block_size(dfs_fs *fs, uint64_t *block_size);
int dfs_get_default_replication(dfs_fs *fs, unsigned *replication);

/* ----------------------------------------------------------- namespace */

enum dfs_file_type { DFS_TYPE_FILE = 1, DFS_TYPE_DIR = 2 };

struct dfs_stat {
    uint64_t inode;
    enum dfs_file_type type;
    unsigned mode;               /* permission bits, 07777 */
    char owner[64];
    char group[64];
    uint64_t mtime_ms;           /* ms since the epoch */
    uint64_t atime_ms;
    uint64_t length;             /* bytes; 0 for directories; a file being
                                  * written: its visible length (what a
                                  * reader opening it now gets; the
                                  * length of its complete blocks when
                                  * no datanode of the last one answers) */
    unsigned replication;        /* files */
    uint64_t block_size;         /* files */
    int complete;                /* 0 while the file is being written */
    char name[256];              /* last component ("" for "/") */
};

/* Create a directory; with parents != 0 the missing parents too, and an
 * existing directory is not an error. */
int dfs_mkdir(dfs_fs *fs, const char *path, unsigned mode, int parents);
/* Create an empty, complete file (touch).  DFS_ERR_EXIST if it exists. */
int dfs_create(dfs_fs *fs, const char *path, unsigned mode);
/* Attributes of path.  A file being written costs more than one namenode
 * RPC: its visible length is asked of the datanodes of its last block
 * (each given a few seconds at most, client.ack_timeout_ms and 5 s
 * bounding it; the namenode's length stands when none answers). */
int dfs_stat(dfs_fs *fs, const char *path, struct dfs_stat *st);
/* Delete a file or an empty directory; recursive != 0 deletes a tree. */
int dfs_delete(dfs_fs *fs, const char *path, int recursive);
/* Rename src to dst.  dst an existing directory: src moves into it.  An
 * existing dst file is replaced only with overwrite != 0. */
int dfs_rename(dfs_fs *fs, const char *src, const char *dst, int overwrite);
int dfs_set_replication(dfs_fs *fs, const char *path, unsigned replication);
int dfs_chmod(dfs_fs *fs, const char *path, unsigned mode);
/* owner or group NULL: left unchanged. */
int dfs_chown(dfs_fs *fs, const char *path, const char *owner, const char *group);
/* Set the modification time (ms since the epoch). */
int dfs_set_mtime(dfs_fs *fs, const char *path, uint64_t mtime_ms);
/* Set the modification and access times (ms since the epoch); -1 leaves
 * that one unchanged. */
int dfs_utimes(dfs_fs *fs, const char *path, int64_t mtime_ms, int64_t atime_ms);

struct dfs_summary {
    uint64_t length;             /* bytes in files */
    uint64_t files;
    uint64_t dirs;
    uint64_t space_consumed;     /* length x replication */
};
int dfs_content_summary(dfs_fs *fs, const char *path, struct dfs_summary *out);

/* Directory streams: entries in name order, fetched from the namenode in
 * pages so that any directory size is listed in bounded memory.  A file
 * path lists as the one entry of that file (as HDFS's listStatus). */
typedef struct dfs_dir dfs_dir;
int dfs_opendir(dfs_fs *fs, const char *path, dfs_dir **out);
/* Next entry into *st: returns 1 with an entry, 0 at the end, or -err.
 * Unlike dfs_stat(), no datanode is asked: an entry of a file being
 * written (complete == 0) carries the namenode's length, that of its
 * complete blocks. */
int dfs_readdir(dfs_dir *dir, struct dfs_stat *st);
void dfs_closedir(dfs_dir *dir);

/* ------------------------------------------------------------ file data */

typedef struct dfs_file dfs_file;

#define DFS_O_OVERWRITE 0x1      /* replace an existing file */
#define DFS_O_PARENTS   0x2      /* create missing parent directories */
#define DFS_O_TEMPORARY 0x4      /* deleted, not recovered, when the writer
                                  * dies (its lease expires): for files
                                  * renamed into place once complete */

/* Open a new file for writing.  replication / block_size 0: the options'
 * defaults, then the namenode's.  The file is under construction, held by
 * this client's lease, until dfs_close().  Readers opening it meanwhile
 * see every byte up to the last dfs_hflush()/dfs_hsync() (at least), see
 * dfs_open_read().
 *
 * A datanode of the write pipeline that fails (connection lost, an error
 * ack, or no ack within client.ack_timeout_ms) is left out: the pipeline
 * is rebuilt from the others under a new generation stamp, with a
 * replacement datanode when client.replace_datanode_on_failure and the
 * cluster has one, and the unacknowledged data are sent again.  A write
 * fails only when every datanode of a block's pipeline failed
 * (DFS_ERR_IO, "all datanodes of the pipeline failed: ..." naming them);
 * the file is then never completed: it stays under construction until
 * its lease expires and the namenode recovers it at the length its
 * datanodes hold.
 *
 * flags DFS_O_TEMPORARY: should the writer die, the file is deleted
 * instead of recovered.
 *
 * DFS_ERR_EXIST when path exists (without DFS_O_OVERWRITE); DFS_ERR_BUSY
 * when it is a file being written, by another client or by this handle
 * (a writer does not recreate the file it is writing), until that
 * writer's lease passes the namenode's soft limit. */
int dfs_open_write(dfs_fs *fs, const char *path, int flags, unsigned mode,
                   unsigned replication, uint64_t block_size, dfs_file **out);
/* Append len bytes; returns DFS_OK once they are queued to the pipeline. */
int dfs_write(dfs_file *f, const void *buf, size_t len);
/* hflush: return once every byte written so far is on every datanode of
 * the current pipeline (acked; in their page cache): visible to new
 * readers, and kept by lease recovery should this writer die.  hsync: and
 * fsynced to their disks.  A partial chunk is sent too; the next packet
 * rewrites it whole. */
int dfs_hflush(dfs_file *f);
int dfs_hsync(dfs_file *f);
/* Replication the writer asked for and the fewest datanodes any block of
 * this file was written to so far (fewer live datanodes than asked).
 * Bytes still buffered are not counted: dfs_close_replicas() tells the
 * final figures. */
void dfs_write_replicas(const dfs_file *f, unsigned *wanted, unsigned *got);

/* Open an existing, complete file for appending: the bytes written go
 * after its end (its last block is reopened when partial).  DFS_ERR_BUSY
 * while another writer holds the file; after that writer's lease passed
 * the namenode's soft limit, the file is recovered first (this call waits
 * for it, up to the options' timeout).  Readers see the old length until
 * dfs_hflush() or dfs_close(). */
int dfs_open_append(dfs_fs *fs, const char *path, dfs_file **out);
/* Recover the lease of a file being written, whoever holds it: its last
 * block is settled on the length every live replica holds and the file is
 * closed.  *closed (may be NULL) gets 1 when the file is closed now, 0 when
 * recovery has started and is still running (call again).  A complete
 * file answers 1 at once. */
int dfs_recover_lease(dfs_fs *fs, const char *path, int *closed);

/* Open an existing file for reading.  A file being written (by this or
 * another client) opens too: its complete blocks, then its last block up
 * to the length its datanodes have acknowledged (asked of the first that
 * answers), which covers every byte hflushed before this call and never
 * goes past what was written.  That length is the file's length for this
 * handle (dfs_file_length()); open again to see more.  DFS_ERR_UNAVAIL
 * when no datanode of the last block answers. */
int dfs_open_read(dfs_fs *fs, const char *path, dfs_file **out);
/* Read up to len bytes at offset; returns bytes read (0 at end of file) or
 * -err.  Safe to call on one file from one thread at a time. */
int64_t dfs_pread(dfs_file *f, void *buf, size_t len, uint64_t offset);
/* Read at the current position and advance it. */
int64_t dfs_read(dfs_file *f, void *buf, size_t len);
/* Move a reader's position; past the end is allowed (the next read
 * returns 0).  DFS_ERR_INVAL for a writer. */
int dfs_seek(dfs_file *f, uint64_t offset);
/* Reader: the file's length as opened.  Writer: its length so far, the
 * bytes written included (an appending writer counts the old ones). */
uint64_t dfs_file_length(const dfs_file *f);
/* Current position: of the next dfs_read(), or a writer's length so far. */
uint64_t dfs_tell(const dfs_file *f);
/* 1 when f was opened for writing or appending, else 0. */
int dfs_file_is_writer(const dfs_file *f);

/* What a reader has read since it was opened (or since the last
 * dfs_clear_read_stats()): every byte returned by dfs_read()/dfs_pread(),
 * and of them those served by a datanode on this client's host.  A read
 * that fails partway counts the bytes it returned. */
struct dfs_read_stats {
    uint64_t bytes_read;
    uint64_t local_bytes_read;
    uint64_t short_circuit_bytes_read;   /* of local_bytes_read, those read
                                          * from the replica's files through
                                          * descriptors its datanode passed
                                          * (short-circuit reads: options
                                          * client.short_circuit and
                                          * datanode.domain_socket) */
    uint64_t zero_copy_bytes_read;       /* always 0: no zero-copy path */
};
/* DFS_ERR_INVAL for a writer. */
int dfs_get_read_stats(const dfs_file *f, struct dfs_read_stats *out);
void dfs_clear_read_stats(dfs_file *f);

/* Close a file.  For a writer: flush, wait for the last acks and complete
 * the file on the namenode; an error means the file is not complete (it
 * stays under construction until lease recovery closes it).  The handle
 * is freed either way. */
int dfs_close(dfs_file *f);
/* dfs_close() of a writer that also reports, whatever the outcome, the
 * replication asked for and the fewest datanodes any block went to (a file
 * written to fewer datanodes than asked gets re-replicated later). */
int dfs_close_replicas(dfs_file *f, unsigned *wanted, unsigned *got);
/* Give up a file being written: its pipeline is dropped unfinished (the
 * datanodes discard the replica being written), the handle is freed, and
 * the file is deleted from the namespace -- unless its path now names
 * another file, which stays.  Returns DFS_OK when this file is gone, else
 * the delete's error.  For a reader, dfs_close(). */
int dfs_abort(dfs_file *f);

/* ------------------------------------------------------------- locality */

struct dfs_location {
    char host[256];
    unsigned port;
    char rack[256];
    char storage_id[64];
    int corrupt;                 /* replica reported bad */
};

struct dfs_block_location {
    uint64_t offset;             /* in the file */
    uint64_t length;
    uint64_t id;
    uint64_t genstamp;
    unsigned nlocs;
    struct dfs_location *locs;   /* closest to this client first */
};

/* Blocks of path overlapping [offset, offset + length).  On success *out is
 * an array of *count blocks for dfs_free_block_locations(). */
int dfs_get_block_locations(dfs_fs *fs, const char *path, uint64_t offset,
                            uint64_t length, struct dfs_block_location **out,
                            size_t *count);
void dfs_free_block_locations(struct dfs_block_location *blocks, size_t count);

/* A file's checksum, comparable between two copies of the same bytes
 * whatever their block or chunk sizes: the CRC-32 (zlib's polynomial) of
 * the whole content, combined from per-block CRCs the datanodes compute.
 * algorithm is "COMPOSITE-CRC32"; value its 8 lowercase hex digits. */
struct dfs_file_checksum {
    char algorithm[32];
    uint64_t length;             /* bytes covered: the file's length */
    uint32_t crc32;
    char value[65];
};
/* DFS_ERR_ISDIR for a directory; a file being written: DFS_ERR_BUSY. */
int dfs_get_file_checksum(dfs_fs *fs, const char *path, struct dfs_file_checksum *out);

/* --------------------------------------------------------- cluster view */

struct dfs_datanode_info {
    char host[256];
    unsigned port;
    char rack[256];
    char storage_id[64];
    char state[16];              /* "live", "stale", "dead" */
    uint64_t capacity;
    uint64_t used;
    uint64_t remaining;
    unsigned blocks;
    uint64_t last_heartbeat_ms;  /* ms since its last heartbeat */
    unsigned load;
    char admin_state[24];        /* "normal", "decommissioning", "decommissioned" */
    uint64_t decommission_left;  /* decommissioning: blocks still to copy */
    uint64_t fsyncs;             /* replica fsyncs for hsync since it started */
    /* Block bytes read by clients since the datanode started, as of its
     * last heartbeat: over TCP by a client whose address is the datanode's
     * own (the same host), over TCP by any other, and through short-circuit
     * reads of the descriptors it passed. */
    uint64_t bytes_read_local;
    uint64_t bytes_read_remote;
    uint64_t bytes_read_short_circuit;
};

struct dfs_cluster_report {
    uint64_t capacity;
    uint64_t used;
    uint64_t remaining;
    uint64_t blocks;
    uint64_t files;
    uint64_t under_replicated;
    uint64_t corrupt;            /* corrupt replicas */
    int safemode;
    size_t ndatanodes;
    struct dfs_datanode_info *datanodes;
    uint64_t missing;            /* complete blocks with no good replica */
    uint64_t pending_replication;/* copies in flight */
    uint64_t copies_done;        /* copies completed since the namenode started */
    char safemode_status[256];   /* one line for people */
};

int dfs_cluster_report(dfs_fs *fs, struct dfs_cluster_report **out);
void dfs_free_cluster_report(struct dfs_cluster_report *r);

/* ---------------------------------------------------------- operations */

enum dfs_safemode_action {
    DFS_SAFEMODE_GET = 0,        /* only ask */
    DFS_SAFEMODE_ENTER = 1,      /* enter; held until left by hand */
    DFS_SAFEMODE_LEAVE = 2       /* leave now */
};

/* Ask or change the namenode's safe mode (read-only while the datanodes'
 * reports come in after a start; mutations fail with DFS_ERR_SAFEMODE).
 * *on (may be NULL) gets 1 when in safe mode after the call; msg (may be
 * NULL) gets a one-line description, NUL-terminated in msgsz bytes. */
int dfs_safemode(dfs_fs *fs, enum dfs_safemode_action action, int *on, char *msg,
                 size_t msgsz);

/* Decommission (decommission != 0) or recommission the datanode at
 * "HOST:PORT" (its transfer address, as dfs_cluster_report shows it).  The
 * namenode remembers it across restarts; a decommissioning datanode gets
 * no new replicas and its replicas are copied elsewhere, after which its
 * admin_state is "decommissioned".  *registered (may be NULL) gets 1 when
 * a datanode is registered at that address now (else the address is
 * remembered for one that registers there later: check it for typos).
 * DFS_ERR_INVAL for a bad address. */
int dfs_decommission(dfs_fs *fs, const char *datanode, int decommission, int *registered);

/* The health of one replica, block and file, as fsck reports it. */
struct dfs_replica_health {
    char host[256];
    unsigned port;
    char rack[256];
    char state[24];              /* "live", "stale", "decommissioning",
                                  * "decommissioned", "corrupt" */
};

struct dfs_block_health {
    uint64_t id;
    uint64_t genstamp;
    uint64_t length;
    int complete;                /* 0 while being written */
    unsigned live;               /* good replicas on in-service datanodes */
    unsigned decommissioning;    /* good replicas on decommissioning(ed) ones */
    unsigned corrupt;            /* replicas found bad */
    unsigned racks;              /* racks of the good replicas */
    unsigned nreplicas;
    struct dfs_replica_health *replicas;
};

struct dfs_file_health {
    char *path;
    int status;                  /* DFS_OK, or e.g. DFS_ERR_NOENT when it vanished */
    int is_dir;
    uint64_t length;
    unsigned replication;
    int complete;
    size_t nblocks;
    struct dfs_block_health *blocks;
};

/* The block health of paths[n] (n <= 1000; normalised or not), in order,
 * into *out (free with dfs_free_file_health(*out, n)); *cluster_racks (may
 * be NULL) gets the number of racks with an in-service datanode. */
int dfs_file_health(dfs_fs *fs, const char *const *paths, size_t n,
                    struct dfs_file_health **out, unsigned *cluster_racks);
void dfs_free_file_health(struct dfs_file_health *h, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* DFS_H */
