/*
 * hdfs.h - Hadoop's classic C API (libhdfs), served natively by dfs.
 *
 * This header declares the same types, constants and functions, in the
 * same order and with the same signatures, as the hdfs.h of Hadoop 3's
 * libhdfs, so that a program written for Hadoop compiles against it and
 * links against our libhdfs.so.0 unchanged.  No JVM is involved: every
 * call goes to libdfs (dfs.h), or, for a handle connected with a NULL
 * namenode, to the local file system through POSIX calls.
 *
 * Conventions (libhdfs's):
 *  - Calls that can fail set errno on every failure.  Calls returning int
 *    give 0 on success and -1 on failure unless stated otherwise; calls
 *    returning a pointer give NULL on failure; byte counts are -1 on
 *    failure.
 *  - hdfsExists() returns 0 when the path exists.
 *  - hdfsListDirectory() of an empty directory returns NULL with
 *    *numEntries 0 and errno 0.
 *  - hdfsRead() and hdfsPread() return 0 at the end of the file.
 *  - Times (tTime) are seconds since the epoch (dfs keeps milliseconds;
 *    they are truncated).
 *  - What the library allocates is freed with the matching call:
 *    hdfsFreeFileInfo, hdfsFreeHosts, hdfsConfStrFree,
 *    hdfsFileFreeReadStatistics, hdfsFreeHedgedReadMetrics,
 *    hadoopRzBufferFree, hadoopRzOptionsFree, and the builders' frees.
 *  - hdfsGetLastExceptionRootCause() gives the message of the calling
 *    thread's last failure (where Hadoop gives a Java exception).
 */
#ifndef LIBHDFS_HDFS_H
#define LIBHDFS_HDFS_H

#include <errno.h>   /* errno values, EINTERNAL */
#include <fcntl.h>   /* O_RDONLY, O_WRONLY, O_APPEND */
#include <stddef.h>  /* size_t */
#include <stdint.h>  /* int32_t, int64_t, uint64_t ... */
#include <time.h>    /* time_t */

/*
 * Symbol visibility.  Building libhdfs defines LIBHDFS_DLL_EXPORT (and
 * compiles with hidden visibility by default), so only what is marked
 * LIBHDFS_EXTERNAL leaves the library; an application may define
 * LIBHDFS_DLL_IMPORT, which changes nothing on ELF systems but is
 * accepted for source compatibility.
 */
#ifdef WIN32
    #ifdef LIBHDFS_DLL_EXPORT
        #define LIBHDFS_EXTERNAL __declspec(dllexport)
    #elif LIBHDFS_DLL_IMPORT
        #define LIBHDFS_EXTERNAL __declspec(dllimport)
    #else
        #define LIBHDFS_EXTERNAL
    #endif
#else
    #ifdef LIBHDFS_DLL_EXPORT
        #define LIBHDFS_EXTERNAL __attribute__((visibility("default")))
    #elif LIBHDFS_DLL_IMPORT
        #define LIBHDFS_EXTERNAL __attribute__((visibility("default")))
    #else
        #define LIBHDFS_EXTERNAL
    #endif
#endif

/* Fallbacks for systems whose fcntl.h lacks them. */
#ifndef O_RDONLY
#define O_RDONLY 1
#endif

#ifndef O_WRONLY
#define O_WRONLY 2
#endif

/* errno value of a failure that has no closer errno. */
#ifndef EINTERNAL
#define EINTERNAL 255
#endif

/* Name of Hadoop's elastic buffer pool, for hadoopRzOptionsSetByteBufferPool
 * (any non-NULL name is accepted here: buffers are plain malloc'd memory). */
#define ELASTIC_BYTE_BUFFER_POOL_CLASS \
  "org/apache/hadoop/io/ElasticByteBufferPool"

#ifdef __cplusplus
extern  "C" {
#endif
    /* Basic types. */
    struct hdfsBuilder;
    typedef int32_t   tSize;   /* byte count of one read or write */
    typedef time_t    tTime;   /* seconds since the epoch */
    typedef int64_t   tOffset; /* offset in a file, file length */
    typedef uint16_t  tPort;   /* TCP port of a namenode */
    typedef enum tObjectKind {
        kObjectKindFile = 'F',
        kObjectKindDirectory = 'D',
    } tObjectKind;
    struct hdfsStreamBuilder;

    /* Time units of hdfsOpenFileFutureGetWithTimeout (the order and values
     * of Java's TimeUnit). */
    typedef enum javaConcurrentTimeUnit {
        jNanoseconds,
        jMicroseconds,
        jMilliseconds,
        jSeconds,
        jMinutes,
        jHours,
        jDays,
    } javaConcurrentTimeUnit;

    /* The pending result of an open started by hdfsOpenFileBuilderBuild. */
    typedef struct hdfsOpenFileFuture hdfsOpenFileFuture;

    /* Options of an open started with hdfsOpenFileBuilderAlloc. */
    typedef struct hdfsOpenFileBuilder hdfsOpenFileBuilder;

    /* A connection: to a dfs namenode, or to the local file system. */
    struct hdfs_internal;
    typedef struct hdfs_internal* hdfsFS;

    /* An open file, for reading or for writing. */
    struct hdfsFile_internal;
    typedef struct hdfsFile_internal* hdfsFile;

    struct hadoopRzOptions;

    struct hadoopRzBuffer;

    /* 1 when file was opened for reading, else 0. */
    LIBHDFS_EXTERNAL
    int hdfsFileIsOpenForRead(hdfsFile file);

    /* 1 when file was opened for writing or appending, else 0. */
    LIBHDFS_EXTERNAL
    int hdfsFileIsOpenForWrite(hdfsFile file);

    /* What a reader has read so far (see hdfsFileGetReadStatistics). */
    struct hdfsReadStatistics {
      uint64_t totalBytesRead;
      uint64_t totalLocalBytesRead;
      uint64_t totalShortCircuitBytesRead;
      uint64_t totalZeroCopyBytesRead;
    };

    /* The read statistics of a file open for reading into a new *stats
     * (free it with hdfsFileFreeReadStatistics).  0, or -1 with errno:
     * EINVAL for a writer, ENOTSUP for a local file. */
    LIBHDFS_EXTERNAL
    int hdfsFileGetReadStatistics(hdfsFile file,
                                  struct hdfsReadStatistics **stats);

    /* Bytes of stats that came from another host: total minus local. */
    LIBHDFS_EXTERNAL
    int64_t hdfsReadStatisticsGetRemoteBytesRead(
                            const struct hdfsReadStatistics *stats);

    /* Reset a reader's statistics to zero.  Returns 0, or the errno value
     * (also stored in errno): EINVAL for a writer, ENOTSUP for a local
     * file. */
    LIBHDFS_EXTERNAL
    int hdfsFileClearReadStatistics(hdfsFile file);

    /* Free what hdfsFileGetReadStatistics returned (NULL is ignored). */
    LIBHDFS_EXTERNAL
    void hdfsFileFreeReadStatistics(struct hdfsReadStatistics *stats);

    /* Hedged reads (a second datanode asked when the first is slow). */
    struct hdfsHedgedReadMetrics {
      uint64_t hedgedReadOps;
      uint64_t hedgedReadOpsWin;
      uint64_t hedgedReadOpsInCurThread;
    };

    /* The handle's hedged-read counters into a new *metrics (free with
     * hdfsFreeHedgedReadMetrics).  dfs does not hedge reads: all zero.
     * -1 with ENOTSUP for the local file system. */
    LIBHDFS_EXTERNAL
    int hdfsGetHedgedReadMetrics(hdfsFS fs, struct hdfsHedgedReadMetrics **metrics);

    /* Free what hdfsGetHedgedReadMetrics returned (NULL is ignored). */
    LIBHDFS_EXTERNAL
    void hdfsFreeHedgedReadMetrics(struct hdfsHedgedReadMetrics *metrics);

    /* Connect to namenode nn (see hdfsBuilderSetNameNode) at port (0: the
     * port of nn, or the default) as user (NULL: the process's user).
     * Returns a handle for hdfsDisconnect, or NULL with errno. */
     LIBHDFS_EXTERNAL
     hdfsFS hdfsConnectAsUser(const char* nn, tPort port, const char *user);

    /* hdfsConnectAsUser as the process's user. */
     LIBHDFS_EXTERNAL
     hdfsFS hdfsConnect(const char* nn, tPort port);

    /* As hdfsConnectAsUser.  Every connection is a new instance here. */
     LIBHDFS_EXTERNAL
     hdfsFS hdfsConnectAsUserNewInstance(const char* nn, tPort port, const char *user );

    /* As hdfsConnect.  Every connection is a new instance here. */
     LIBHDFS_EXTERNAL
     hdfsFS hdfsConnectNewInstance(const char* nn, tPort port);

    /* Connect with what bld holds, then free bld (also on failure).
     * Returns a handle for hdfsDisconnect, or NULL with errno. */
     LIBHDFS_EXTERNAL
     hdfsFS hdfsBuilderConnect(struct hdfsBuilder *bld);

    /* A new builder: no namenode (the local file system) until
     * hdfsBuilderSetNameNode, the process's user.  NULL with errno ENOMEM. */
    LIBHDFS_EXTERNAL
    struct hdfsBuilder *hdfsNewBuilder(void);

    /* Accepted and ignored: handles are never shared from a cache here. */
    LIBHDFS_EXTERNAL
    void hdfsBuilderSetForceNewInstance(struct hdfsBuilder *bld);

    /* The namenode to connect to:
     *  - "default": the one of the configuration ($DFS_CONF, then
     *    $DFS_NAMENODE);
     *  - NULL: the local file system (POSIX calls, no cluster);
     *  - "file:///" or "file:": the local file system too;
     *  - "HOST", "HOST:PORT", "dfs://HOST[:PORT]" or "hdfs://HOST[:PORT]".
     * A port given in nn must not also be given with
     * hdfsBuilderSetNameNodePort.  The string is not copied: it must stay
     * valid until the builder is freed. */
    LIBHDFS_EXTERNAL
    void hdfsBuilderSetNameNode(struct hdfsBuilder *bld, const char *nn);

    /* The namenode's port (when nn does not name one). */
    LIBHDFS_EXTERNAL
    void hdfsBuilderSetNameNodePort(struct hdfsBuilder *bld, tPort port);

    /* The user the connection acts as: owner of what it creates.  Not
     * copied: must stay valid until the builder is freed. */
    LIBHDFS_EXTERNAL
    void hdfsBuilderSetUserName(struct hdfsBuilder *bld, const char *userName);

    /* Accepted and ignored: dfs has no Kerberos. */
    LIBHDFS_EXTERNAL
    void hdfsBuilderSetKerbTicketCachePath(struct hdfsBuilder *bld,
                                   const char *kerbTicketCachePath);

    /* Free a builder that was not passed to hdfsBuilderConnect. */
    LIBHDFS_EXTERNAL
    void hdfsFreeBuilder(struct hdfsBuilder *bld);

    /* Set configuration key to val for this connection (val NULL removes
     * it).  Neither string is copied.  Keys understood: dfs.replication,
     * dfs.blocksize, fs.defaultFS, and the dfs client keys of
     * client.timeout_ms, client.chunk_size; others are kept and ignored
     * (a bad value fails hdfsBuilderConnect with EINVAL).  0, or -ENOMEM
     * (as libhdfs). */
    LIBHDFS_EXTERNAL
    int hdfsBuilderConfSetStr(struct hdfsBuilder *bld, const char *key,
                              const char *val);

    /* Look key up in the configuration file $DFS_CONF: "SECTION.NAME" is
     * NAME of [SECTION], a name without a dot one of [client]; Hadoop's
     * dfs.replication and dfs.blocksize are client.replication and
     * client.block_size; fs.defaultFS is "hdfs://" + the default namenode.
     * *val gets a copy to free with hdfsConfStrFree, or NULL when the key
     * is not set (not an error).  0, or an errno value (also in errno). */
    LIBHDFS_EXTERNAL
    int hdfsConfGetStr(const char *key, char **val);

    /* As hdfsConfGetStr for an integer; *val is left alone when the key
     * is not set.  EINVAL when the value is not a 32-bit integer. */
    LIBHDFS_EXTERNAL
    int hdfsConfGetInt(const char *key, int32_t *val);

    /* Free a string from hdfsConfGetStr (NULL is ignored). */
    LIBHDFS_EXTERNAL
    void hdfsConfStrFree(char *val);

    /* Close the connection and free fs.  Files still open are closed
     * first.  0, or -1 with errno (fs is freed anyway). */
    LIBHDFS_EXTERNAL
    int hdfsDisconnect(hdfsFS fs);

    /* Open path.  flags: O_RDONLY to read; O_WRONLY to create or replace
     * (missing parent directories are created); O_WRONLY|O_APPEND to add
     * to an existing file.  O_RDWR fails with ENOTSUP; other flags are
     * ignored (O_CREAT|O_EXCL too, as libhdfs does).  bufferSize, replication and
     * blocksize 0 mean the defaults (bufferSize is otherwise unused).
     * Returns the file, or NULL with errno. */
    LIBHDFS_EXTERNAL
    hdfsFile hdfsOpenFile(hdfsFS fs, const char* path, int flags,
                          int bufferSize, short replication, tSize blocksize);

    /* Start an asynchronous open for reading of path (copied).  NULL with
     * errno on failure. */
    LIBHDFS_EXTERNAL
    hdfsOpenFileBuilder *hdfsOpenFileBuilderAlloc(hdfsFS fs,
            const char *path);

    /* Add a required option (key, value copied).  Returns builder; NULL
     * with errno (and builder freed) on failure. */
    LIBHDFS_EXTERNAL
    hdfsOpenFileBuilder *hdfsOpenFileBuilderMust(hdfsOpenFileBuilder *builder,
            const char *key, const char *value);

    /* Add an optional option (key, value copied).  As ...Must. */
    LIBHDFS_EXTERNAL
    hdfsOpenFileBuilder *hdfsOpenFileBuilderOpt(hdfsOpenFileBuilder *builder,
            const char *key, const char *value);

    /* Run the open and free builder.  Returns the future holding its
     * outcome (the open is done by the time this returns here), or NULL
     * with errno. */
    LIBHDFS_EXTERNAL
    hdfsOpenFileFuture *hdfsOpenFileBuilderBuild(hdfsOpenFileBuilder *builder);

    /* Free a builder that was not passed to hdfsOpenFileBuilderBuild. */
    LIBHDFS_EXTERNAL
    void hdfsOpenFileBuilderFree(hdfsOpenFileBuilder *builder);

    /* The file the open produced (handed over once: a second call gets
     * NULL with EINVAL), or NULL with the open's errno. */
    LIBHDFS_EXTERNAL
    hdfsFile hdfsOpenFileFutureGet(hdfsOpenFileFuture *future);

    /* As hdfsOpenFileFutureGet; the wait never runs out here since the
     * open has completed. */
    LIBHDFS_EXTERNAL
    hdfsFile hdfsOpenFileFutureGetWithTimeout(hdfsOpenFileFuture *future,
            int64_t timeout, javaConcurrentTimeUnit timeUnit);

    /* Cancel the open: it has always completed, so -1 (nothing to cancel). */
    LIBHDFS_EXTERNAL
    int hdfsOpenFileFutureCancel(hdfsOpenFileFuture *future,
            int mayInterruptIfRunning);

    /* Free the future (and close a file never fetched from it). */
    LIBHDFS_EXTERNAL
    void hdfsOpenFileFutureFree(hdfsOpenFileFuture *future);

    /* A builder for hdfsOpenFile with a 64-bit block size.  path is
     * copied; flags as in hdfsOpenFile.  NULL with errno on failure. */
    LIBHDFS_EXTERNAL
    struct hdfsStreamBuilder *hdfsStreamBuilderAlloc(hdfsFS fs,
                                      const char *path, int flags);

    /* Free a builder that was not passed to hdfsStreamBuilderBuild. */
    LIBHDFS_EXTERNAL
    void hdfsStreamBuilderFree(struct hdfsStreamBuilder *bld);

    /* Buffer size (accepted; dfs sizes its own buffers).  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsStreamBuilderSetBufferSize(struct hdfsStreamBuilder *bld,
                                       int32_t bufferSize);

    /* Replication of a new file; -1 with EINVAL for a reader's builder. */
    LIBHDFS_EXTERNAL
    int hdfsStreamBuilderSetReplication(struct hdfsStreamBuilder *bld,
                                        int16_t replication);

    /* Block size of a new file; -1 with EINVAL for a reader's builder. */
    LIBHDFS_EXTERNAL
    int hdfsStreamBuilderSetDefaultBlockSize(struct hdfsStreamBuilder *bld,
                                       int64_t defaultBlockSize);

    /* Open as the builder says and free it.  The file, or NULL/errno. */
    LIBHDFS_EXTERNAL
    hdfsFile hdfsStreamBuilderBuild(struct hdfsStreamBuilder *bld);

    /* Shorten a file: dfs cannot, so -1 with ENOTSUP (local files: 1 once
     * truncated, as the result is at once ready for appends). */
    LIBHDFS_EXTERNAL
    int hdfsTruncateFile(hdfsFS fs, const char* path, tOffset newlength);

    /* Drop a reader's cached connections and buffers.  0 or, for a
     * writer, ENOTSUP (returned and stored in errno). */
    LIBHDFS_EXTERNAL
    int hdfsUnbufferFile(hdfsFile file);

    /* Close file: a writer's data are flushed and the file completed.
     * file is freed whatever the outcome.  0, or -1 with errno. */
    LIBHDFS_EXTERNAL
    int hdfsCloseFile(hdfsFS fs, hdfsFile file);

    /* 0 when path exists; -1 with errno (ENOENT when it does not). */
    LIBHDFS_EXTERNAL
    int hdfsExists(hdfsFS fs, const char *path);

    /* Move a reader to desiredPos (up to the length).  0 or -1/errno:
     * EBADF for a writer, EINVAL for a position outside the file. */
    LIBHDFS_EXTERNAL
    int hdfsSeek(hdfsFS fs, hdfsFile file, tOffset desiredPos);

    /* The position: of a reader's next read, or a writer's length so far.
     * -1 with errno on failure. */
    LIBHDFS_EXTERNAL
    tOffset hdfsTell(hdfsFS fs, hdfsFile file);

    /* Read up to length bytes at the position and advance it.  Returns
     * the bytes read, 0 at the end of the file, or -1 with errno. */
    LIBHDFS_EXTERNAL
    tSize hdfsRead(hdfsFS fs, hdfsFile file, void* buffer, tSize length);

    /* Read up to length bytes at position without moving the position.
     * As hdfsRead. */
    LIBHDFS_EXTERNAL
    tSize hdfsPread(hdfsFS fs, hdfsFile file, tOffset position,
                    void* buffer, tSize length);

    /* Read exactly length bytes at position.  0, or -1 with errno; EINTR
     * when the file ends first (as Hadoop reports an EOFException). */
    LIBHDFS_EXTERNAL
    int hdfsPreadFully(hdfsFS fs, hdfsFile file, tOffset position,
                    void* buffer, tSize length);

    /* Append length bytes to a writer.  Returns length, or -1 with errno. */
    LIBHDFS_EXTERNAL
    tSize hdfsWrite(hdfsFS fs, hdfsFile file, const void* buffer,
                    tSize length);

    /* As Hadoop's flush(): libhdfs keeps no bytes back (they are queued
     * to the pipeline by hdfsWrite), so this only checks file is a writer
     * (EBADF else); hdfsHFlush makes data visible.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsFlush(hdfsFS fs, hdfsFile file);

    /* Make everything written so far visible to new readers.  0 or
     * -1/errno (EBADF for a reader). */
    LIBHDFS_EXTERNAL
    int hdfsHFlush(hdfsFS fs, hdfsFile file);

    /* hdfsHFlush, and the datanodes fsync to disk.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsHSync(hdfsFS fs, hdfsFile file);

    /* Bytes a reader has left between its position and the end of the
     * file (capped at INT_MAX).  -1 with errno (EBADF for a writer). */
    LIBHDFS_EXTERNAL
    int hdfsAvailable(hdfsFS fs, hdfsFile file);

    /* Copy file src of srcFS to dst of dstFS (either may be the local file
     * system; the same handle is fine).  A directory is copied with its
     * contents.  An existing dst is replaced.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsCopy(hdfsFS srcFS, const char* src, hdfsFS dstFS, const char* dst);

    /* Move: a rename within one file system, else hdfsCopy then delete
     * src.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsMove(hdfsFS srcFS, const char* src, hdfsFS dstFS, const char* dst);

    /* Delete path; a non-empty directory only with recursive != 0.  0 or
     * -1/errno (ENOENT when path does not exist, ENOTEMPTY; libhdfs says
     * EIO for both). */
    LIBHDFS_EXTERNAL
    int hdfsDelete(hdfsFS fs, const char* path, int recursive);

    /* Rename oldPath to newPath.  An existing newPath is an error
     * (EEXIST; libhdfs says EIO) unless it is a directory, into which
     * oldPath moves.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsRename(hdfsFS fs, const char* oldPath, const char* newPath);

    /* Copy the working directory, as a fully qualified URI, into buffer
     * (bufferSize bytes with the NUL).  Returns buffer, or NULL with errno
     * (ENAMETOOLONG when it does not fit). */
    LIBHDFS_EXTERNAL
    char* hdfsGetWorkingDirectory(hdfsFS fs, char *buffer, size_t bufferSize);

    /* Set the directory relative paths are resolved against (need not
     * exist).  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsSetWorkingDirectory(hdfsFS fs, const char* path);

    /* Create directory path and its missing parents (an existing directory
     * is fine).  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsCreateDirectory(hdfsFS fs, const char* path);

    /* Set the replication of file path.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsSetReplication(hdfsFS fs, const char* path, int16_t replication);

    /* One file or directory.  Field order and types are Hadoop's. */
    typedef struct  {
        tObjectKind mKind;   /* kObjectKindFile or kObjectKindDirectory */
        char *mName;         /* fully qualified: "hdfs://HOST:PORT/a/b" or
                              * "file:/a/b" */
        tTime mLastMod;      /* modification time, seconds */
        tOffset mSize;       /* bytes (0 for a directory) */
        short mReplication;  /* replication of a file (0 for a directory) */
        tOffset mBlockSize;  /* block size of a file (0 for a directory) */
        char *mOwner;        /* owner's name */
        char *mGroup;        /* group's name */
        short mPermissions;  /* permission bits */
        tTime mLastAccess;   /* access time, seconds */
    } hdfsFileInfo;

    /* The entries of directory path, in name order, as an array of
     * *numEntries for hdfsFreeFileInfo.  An empty directory: NULL with
     * *numEntries 0 and errno 0.  Failure: NULL with errno non-zero. */
    LIBHDFS_EXTERNAL
    hdfsFileInfo *hdfsListDirectory(hdfsFS fs, const char* path,
                                    int *numEntries);

    /* What path is, as one entry for hdfsFreeFileInfo(info, 1); NULL with
     * errno on failure. */
    LIBHDFS_EXTERNAL
    hdfsFileInfo *hdfsGetPathInfo(hdfsFS fs, const char* path);

    /* Free numEntries entries (and their strings) from hdfsListDirectory or
     * hdfsGetPathInfo. */
    LIBHDFS_EXTERNAL
    void hdfsFreeFileInfo(hdfsFileInfo *hdfsFileInfo, int numEntries);

    /* 1 when the file is encrypted: never in dfs, so 0. */
    LIBHDFS_EXTERNAL
    int hdfsFileIsEncrypted(hdfsFileInfo *hdfsFileInfo);

    /* The hosts of every block overlapping [start, start + length) of path:
     * a NULL-terminated array with one NULL-terminated array of host names
     * per block, for hdfsFreeHosts.  NULL with errno on failure. */
    LIBHDFS_EXTERNAL
    char*** hdfsGetHosts(hdfsFS fs, const char* path,
            tOffset start, tOffset length);

    /* Free what hdfsGetHosts returned (NULL is ignored). */
    LIBHDFS_EXTERNAL
    void hdfsFreeHosts(char ***blockHosts);

    /* Block size new files get by default (as in Hadoop, the client's:
     * dfs.blocksize of the builder, else client.block_size of $DFS_CONF,
     * else the namenode's default), or -1 with errno. */
    LIBHDFS_EXTERNAL
    tOffset hdfsGetDefaultBlockSize(hdfsFS fs);

    /* Block size new files under path get by default (path need not
     * exist), or -1 with errno. */
    LIBHDFS_EXTERNAL
    tOffset hdfsGetDefaultBlockSizeAtPath(hdfsFS fs, const char *path);

    /* Raw capacity of the cluster (the local file system: of the file
     * system holding "/"), bytes, or -1 with errno. */
    LIBHDFS_EXTERNAL
    tOffset hdfsGetCapacity(hdfsFS fs);

    /* Raw bytes in use (every replica counted), or -1 with errno. */
    LIBHDFS_EXTERNAL
    tOffset hdfsGetUsed(hdfsFS fs);

    /* Set the owner and/or group of path; NULL leaves that one as it is.
     * 0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsChown(hdfsFS fs, const char* path, const char *owner,
                  const char *group);

    /* Set the permission bits of path.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsChmod(hdfsFS fs, const char* path, short mode);

    /* Set the modification and access times of path, in seconds; -1
     * leaves that one as it is.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hdfsUtime(hdfsFS fs, const char* path, tTime mtime, tTime atime);

    /* Options of hadoopReadZero.  NULL with errno ENOMEM. */
    LIBHDFS_EXTERNAL
    struct hadoopRzOptions *hadoopRzOptionsAlloc(void);

    /* Whether checksums may be skipped (accepted; dfs always checks). */
    LIBHDFS_EXTERNAL
    int hadoopRzOptionsSetSkipChecksum(
            struct hadoopRzOptions *opts, int skip);

    /* Name a buffer pool (any name is accepted: buffers are malloc'd);
     * NULL removes it.  hadoopReadZero needs one.  0 or -1/errno. */
    LIBHDFS_EXTERNAL
    int hadoopRzOptionsSetByteBufferPool(
            struct hadoopRzOptions *opts, const char *className);

    /* Free options (NULL is ignored). */
    LIBHDFS_EXTERNAL
    void hadoopRzOptionsFree(struct hadoopRzOptions *opts);

    /* Read up to maxLength bytes at the position into a new buffer and
     * advance the position.  dfs has no memory-mapped path, so, as Hadoop
     * does when it cannot map, opts must name a buffer pool, else NULL
     * with EPROTONOSUPPORT; the bytes are copied into a malloc'd buffer.
     * At the end of the file the buffer's data are NULL.  NULL with errno
     * on failure (EINVAL for a writer). */
    LIBHDFS_EXTERNAL
    struct hadoopRzBuffer* hadoopReadZero(hdfsFile file,
            struct hadoopRzOptions *opts, int32_t maxLength);

    /* Bytes in buffer. */
    LIBHDFS_EXTERNAL
    int32_t hadoopRzBufferLength(const struct hadoopRzBuffer *buffer);

    /* The bytes of buffer (NULL at the end of the file). */
    LIBHDFS_EXTERNAL
    const void *hadoopRzBufferGet(const struct hadoopRzBuffer *buffer);

    /* Free buffer, which hadoopReadZero on file returned. */
    LIBHDFS_EXTERNAL
    void hadoopRzBufferFree(hdfsFile file, struct hadoopRzBuffer *buffer);

    /* The message of the calling thread's last failure, valid until its
     * next libhdfs call (do not free), or NULL when there is none. */
    LIBHDFS_EXTERNAL
    char* hdfsGetLastExceptionRootCause(void);

    /* Where Hadoop gives a Java stack trace: the same message, prefixed
     * with the call that failed, or NULL.  As above. */
    LIBHDFS_EXTERNAL
    char* hdfsGetLastExceptionStackTrace(void);

#ifdef __cplusplus
}
#endif

#undef LIBHDFS_EXTERNAL
#endif /* LIBHDFS_HDFS_H */
