/*
 * dn_nnconn.h - datanode -> namenode: registration, heartbeats, block
 * reports and the commands that come back, on a thread of their own.
 *
 * The link thread talks to the namenode with synchronous RPCs (rpc.h):
 *
 *   UNREGISTERED  RegisterReq {DatanodeId, space, full block report},
 *                 retried every second until the namenode answers OK; a
 *                 report of more than report_split replicas goes in parts,
 *                 the rest as BlockReportReq {full, continued, more};
 *                 the full report, and the `added` list of incremental
 *                 ones, set BlockInfo.corrupt on the replicas the store
 *                 has flagged bad (bs_is_bad);
 *   REGISTERED    HeartbeatReq every heartbeat_ms (or the interval the
 *                 namenode asked for); BlockReportReq {added, removed} as
 *                 soon as the event loop queues a replica change, then a
 *                 ReportBadBlockReq per bad replica queued; the
 *                 commands of heartbeat answers are carried out here:
 *                 CMD_REREGISTER (back to UNREGISTERED), CMD_DELETE
 *                 (queued for the deleter thread, which unlinks each
 *                 replica and reports it removed), CMD_REPLICATE (each
 *                 block handed to the `replicate` callback, which queues
 *                 the copy elsewhere: dn_copy.h), CMD_RECOVER (each
 *                 block handed to the `recover` callback, which queues
 *                 the block recovery: dn_recovery.h); then a
 *                 CommitBlockSyncReq per block recovery queued
 *                 (dn_nnconn_commit_sync).
 *
 * Full block reports list the finalized replicas (bs_foreach) and then
 * the replicas being written or left unfinished (bs_foreach_rbw) with
 * BlockInfo.rbw set and length = the bytes they hold; a replica listed by
 * both (finalized or reopened between the two walks) is listed once, with
 * the newer genstamp.  Heartbeats carry the hsync fsync count (`fsyncs`)
 * and the block bytes read by clients on this host and elsewhere
 * (`bytes_read`).
 *
 * A namenode that cannot be reached is logged once per change of state,
 * never once per attempt; the datanode keeps serving data meanwhile.
 */
#ifndef DN_NNCONN_H
#define DN_NNCONN_H

#include <stddef.h>
#include <stdint.h>

struct bs;
struct dn_nnconn;
struct Dfs__DatanodeId;

/* CMD_RECOVER, one call per block: this datanode is the primary of the
 * recovery of block (id, recovery gs; min_gs: DatanodeCommand.min_genstamp) with targets[0..ntargets) (the
 * command's, valid only during the call).  Called on the link thread:
 * must not block. */
typedef void (*dn_nnconn_recover_fn)(void *arg, uint64_t id, uint64_t gs, uint64_t min_gs,
                                     struct Dfs__DatanodeId *const *targets, size_t ntargets);

/* CMD_REPLICATE, one call per block: copy replica (id, gs, len) to
 * targets[0..ntargets) (the command's, valid only during the call).  Called
 * on the link thread: must not block. */
typedef void (*dn_nnconn_replicate_fn)(void *arg, uint64_t id, uint64_t gs, uint64_t len,
                                       struct Dfs__DatanodeId *const *targets,
                                       size_t ntargets);

struct dn_nnconn_cfg {
    const char *nn_host;          /* namenode RPC address */
    unsigned nn_port;
    const char *dn_host;          /* advertised transfer address; a wildcard */
    unsigned dn_port;             /* host is replaced by our address as the
                                   * namenode sees it */
    unsigned http_port;           /* 0: none */
    uint32_t heartbeat_ms;
    uint32_t report_split;        /* replicas per full report message (0: all) */
    struct bs *bs;
    /* Active transfers, for heartbeats; called on the link thread. */
    unsigned (*load)(void *arg);
    void *load_arg;
    /* CMD_REPLICATE; NULL: such commands are logged and ignored. */
    dn_nnconn_replicate_fn replicate;
    void *replicate_arg;
    /* CMD_RECOVER; NULL: such commands are logged and ignored. */
    dn_nnconn_recover_fn recover;
    void *recover_arg;
    /* Replica fsyncs done for hsync since the start, for heartbeats
     * (HeartbeatReq.fsyncs); NULL: not sent.  Called on the link thread. */
    uint64_t (*fsyncs)(void *arg);
    void *fsyncs_arg;
    /* The short-circuit socket path registered (DatanodeId.domain_socket);
     * NULL or "": none. */
    const char *domain_socket;
    /* Bytes clients read through short-circuit descriptors since the
     * start (HeartbeatReq.bytes_read_short_circuit); NULL: not sent.
     * Called on the link thread. */
    uint64_t (*sc_bytes)(void *arg);
    void *sc_bytes_arg;
    /* Block bytes read over TCP since the start by clients on this host
     * and by others, for heartbeats (HeartbeatReq.bytes_read_local and
     * _remote); NULL: not sent.  Called on the link thread. */
    void (*bytes_read)(void *arg, uint64_t *local, uint64_t *remote);
    void *bytes_read_arg;
};

/* Copy cfg and start the link thread.  NULL with a message in err when the
 * thread cannot be started. */
struct dn_nnconn *dn_nnconn_start(const struct dn_nnconn_cfg *cfg, char *err, size_t errsz);
/* Stop the threads (waits for an RPC in flight, at most its timeout, and
 * for the replica being deleted) and free the link.  Queued reports and
 * deletes not yet done are dropped: the next registration's full report
 * lists the replicas, and the namenode orders the deletion again of every
 * one whose block no file has (nn_dnserv.c, orphans).  NULL is a no-op. */
void dn_nnconn_stop(struct dn_nnconn *nc);

/* Queue an incremental report of a replica added (finalized) or removed;
 * the link thread sends it at once.  Thread-safe, never blocks on I/O. */
void dn_nnconn_block_added(struct dn_nnconn *nc, uint64_t id, uint64_t gs, uint64_t len);
void dn_nnconn_block_removed(struct dn_nnconn *nc, uint64_t id, uint64_t gs, uint64_t len);

/* Queue a report that this datanode's replica of block `id` with generation
 * stamp `gs` is corrupt, with a reason for the namenode's log (copied).
 * The link thread sends it (ReportBadBlockReq) as soon as it is registered,
 * after any queued incremental report, and retries it while the namenode
 * cannot be reached; a report the namenode refuses (it knows no such
 * replica, or a newer generation stamp) is logged and dropped.  A replica
 * queued twice is sent once, with the newer reason.  Queued reports
 * survive a re-registration (the full report does not carry them) but not
 * dn_nnconn_stop.  Thread-safe, never blocks on I/O. */
void dn_nnconn_report_bad(struct dn_nnconn *nc, uint64_t id, uint64_t gs, const char *reason);

/* Queue the outcome of a block recovery this datanode led: block (id,
 * recovery gs, settled length len) is finalized on storage_ids[0..n)
 * (copied; n = 0 with len 0: no replica anywhere).  The link thread sends
 * it (CommitBlockSyncReq) as soon as it is registered, after any queued
 * incremental report (so the namenode has seen this datanode's finalized
 * replica first), and retries it while the namenode cannot be reached; an
 * answer other than OK (e.g. ERR_STALE: a newer recovery has begun) is
 * logged and dropped.  A block queued twice is sent once, with the newer
 * recovery genstamp.  Queued commits survive a re-registration but not
 * dn_nnconn_stop.  Thread-safe, never blocks on I/O. */
void dn_nnconn_commit_sync(struct dn_nnconn *nc, uint64_t id, uint64_t gs, uint64_t len,
                           const char *const *storage_ids, size_t n);

/* 1 while registered with the namenode (for status pages and tests). */
int dn_nnconn_registered(struct dn_nnconn *nc);

#endif
