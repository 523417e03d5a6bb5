/*
 * dn_copy.h - re-replication: this datanode copies its finalized replicas
 * to other datanodes when the namenode asks (CMD_REPLICATE).
 *
 * A copy is a write pipeline with this datanode as the client: connect to
 * targets[0], send WriteBlockReq {block, the replica's chunk size,
 * targets[1..], client "dn-copy-<storage id>"}, stream the replica as
 * PACKET frames carrying the checksums stored in its .meta file (about
 * 1 MiB each, at most DN_COPY_WINDOW unacknowledged, the last one with
 * DFS_PKT_LAST), and wait for every ack.  The receivers verify every
 * chunk, finalize the replica and report it to the namenode themselves.
 * Every chunk is also verified here before it is sent: a source found
 * corrupt ends the copy (WARN naming block and chunk), is flagged bad in
 * the store (bs_mark_bad) and is handed to the on_corrupt callback.  A
 * source flagged bad already (bs_is_bad) is never sent: the copy ends at
 * once, the same way, without a connection.
 *
 * Two ways in:
 *  - dn_copy_block: one copy, synchronously, on the calling thread (the
 *    copy threads use it; so do tests).
 *  - dn_copy_start / dn_copy_submit / dn_copy_stop: a pool of copy
 *    threads fed by a bounded queue.  A block already queued or being
 *    copied is not queued twice; a command that finds the queue full is
 *    dropped with a log line (the namenode asks again when its request
 *    times out).  Stopping closes the sockets of copies in flight, which
 *    are abandoned (the receivers discard what they got); only a connect
 *    in progress is waited for (DN_COPY_CONNECT_MS at most).
 *
 * Threads: dn_copy_submit and dn_copy_load may be called from any thread;
 * dn_copy_start / dn_copy_stop from one owner thread.  The pool never
 * calls back into its caller except through on_corrupt, which runs on a
 * copy thread.
 * Logging: one INFO line per finished copy (block, targets, bytes, ms,
 * MB/s); a skipped or failed copy is one INFO / WARN line.
 */
#ifndef DN_COPY_H
#define DN_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "dfs.pb-c.h"

struct bs;
struct dn_copy;

#define DN_COPY_PACKET       (1u << 20)   /* data bytes per packet (whole chunks) */
#define DN_COPY_WINDOW       8            /* packets sent and not yet acked */
#define DN_COPY_TIMEOUT_MS   30000        /* one socket operation */
#define DN_COPY_CONNECT_MS   5000         /* connecting, at most (a stop waits for it) */
#define DN_COPY_QUEUE_MAX    256          /* copies waiting for a thread */
#define DN_COPY_THREADS_MAX  16

/* A source replica found corrupt: which one and why ("chunk 3 (offset
 * 49152): checksum mismatch").  Called on the copying thread. */
typedef void (*dn_copy_corrupt_fn)(uint64_t id, uint64_t gs, const char *reason, void *arg);

/* What dn_copy_block did. */
enum dn_copy_result {
    DN_COPY_OK = 0,        /* every target has the replica, finalized */
    DN_COPY_SKIPPED,       /* no such finalized replica here (missing, other
                            * genstamp or length): nothing sent */
    DN_COPY_CORRUPT,       /* the source failed its checksums, or was flagged
                            * bad already (on_corrupt called) */
    DN_COPY_FAILED,        /* a target refused or failed, I/O error, timeout */
    DN_COPY_STOPPED,       /* abandoned: the pool is stopping */
};

struct dn_copy_opts {
    const char *client;          /* WriteBlockReq.client; NULL: "dn-copy-<storage id>" */
    int timeout_ms;              /* per socket operation; 0: DN_COPY_TIMEOUT_MS */
    dn_copy_corrupt_fn on_corrupt;   /* may be NULL */
    void *corrupt_arg;
};

/* Copy finalized replica (id, gs), which must be `len` bytes long, from
 * `bs` to targets[0..ntargets) (ntargets >= 1; each needs host and port,
 * storage_id may be empty) as one write pipeline.  Blocks until every ack
 * is in or the copy fails: up to opts->timeout_ms per socket operation
 * (connecting: DN_COPY_CONNECT_MS at most).
 * Logs the outcome (see the header comment).  Returns a dn_copy_result;
 * anything but DN_COPY_OK leaves a one-line reason in err (may be NULL).
 * opts may be NULL (defaults).  Thread-safe (the store is). */
enum dn_copy_result dn_copy_block(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                                  Dfs__DatanodeId *const *targets, size_t ntargets,
                                  const struct dn_copy_opts *opts, char *err, size_t errsz);

/* Pipeline recovery with a replacement (TransferBlockReq): send the first
 * len bytes of this datanode's replica being written (any generation
 * stamp <= gs; it may be being written still: bs_open_rbw) to
 * targets[0..ntargets) as a write of stage WS_TRANSFER under block (id,
 * gs): the receivers keep it being written.  As dn_copy_block otherwise,
 * except that a corrupt source is not flagged bad (on_corrupt is not
 * called) and DN_COPY_SKIPPED also means "fewer than len visible bytes".
 * Logged as "transferred blk_I (genstamp G) to ...". */
enum dn_copy_result dn_copy_transfer(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                                     Dfs__DatanodeId *const *targets, size_t ntargets,
                                     const struct dn_copy_opts *opts, char *err, size_t errsz);

struct dn_copy_cfg {
    struct bs *bs;
    unsigned threads;            /* copy threads, 1..DN_COPY_THREADS_MAX */
    unsigned queue_max;          /* 0: DN_COPY_QUEUE_MAX */
    int timeout_ms;              /* 0: DN_COPY_TIMEOUT_MS */
    dn_copy_corrupt_fn on_corrupt;   /* may be NULL */
    void *corrupt_arg;
};

/* Start the copy threads.  NULL with a message in err when threads is out
 * of bounds or a thread cannot be started. */
struct dn_copy *dn_copy_start(const struct dn_copy_cfg *cfg, char *err, size_t errsz);
/* Stop promptly: queued copies are dropped, copies in flight abandoned
 * (their sockets shut down); joins the threads and frees the pool.  NULL
 * is a no-op. */
void dn_copy_stop(struct dn_copy *dc);

/* Queue a copy of (id, gs, len) to targets[0..ntargets) (deep-copied).
 * Returns 0 queued, 1 not queued because that block is already queued or
 * being copied, -1 dropped (queue full, no targets, stopping; logged).
 * Thread-safe; never blocks on I/O. */
int dn_copy_submit(struct dn_copy *dc, uint64_t id, uint64_t gs, uint64_t len,
                   Dfs__DatanodeId *const *targets, size_t ntargets);

/* Copies in progress now (for the heartbeat's load).  Thread-safe. */
unsigned dn_copy_load(const struct dn_copy *dc);
/* Copies waiting in the queue.  Thread-safe. */
unsigned dn_copy_queued(struct dn_copy *dc);

#endif
