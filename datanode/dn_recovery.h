/*
 * dn_recovery.h - block recovery as the primary datanode (CMD_RECOVER).
 *
 * When a writer's lease expires (or another client recovers its file), the
 * namenode bumps the last block's generation stamp -- the recovery
 * genstamp -- and makes one datanode the primary for it: CMD_RECOVER
 * {blocks[0] = (id, recovery gs), targets = every datanode that may hold a
 * replica, the primary itself among them}.  The primary, on a thread of
 * this pool:
 *
 *  1. sends InitRecoveryReq {block (id, recovery gs)} to every target over
 *     TCP (its transfer port; the primary asks itself the same way), all
 *     at once, and waits for the answers up to timeout_ms together;
 *  2. settles (dn_recovery_settle): the replicas that answered OK and
 *     carry the highest genstamp among them are the newest pipeline's;
 *     the length L is the smallest of theirs (every byte the writer
 *     hflushed was acked by every node of that pipeline, so every one of
 *     them holds it) -- unless some of them are finalized already (the
 *     pipeline had finished the block): then L is the finalized length
 *     and only replicas at least that long are kept (as HDFS does);
 *  3. sends FinishRecoveryReq {block (id, recovery gs, L)} to each kept
 *     one (cut to L, renamed to the recovery gs, finalized; each datanode
 *     reports its replica to the namenode itself);
 *  4. hands CommitBlockSync {block (id, recovery gs, L), storage ids of
 *     the targets that answered FinishRecovery OK} to the `commit`
 *     callback, which queues it for the namenode link (dn_nnconn.h).
 *
 * Every target answered ERR_NOENT: there is no replica anywhere, and the
 * commit carries length 0 and no storage id (the namenode drops the
 * block).  Nothing is committed -- a WARN line says why, and the namenode
 * starts the recovery again after namenode.block_recovery_timeout_ms --
 * when no target answered at all, when one answered ERR_STALE (its
 * replica has a newer genstamp: a later recovery superseded this one),
 * when no replica answered OK but some target failed (it may hold the
 * only copy), or when no kept replica finished.
 *
 * The pool: `threads` workers fed by a bounded FIFO.  A block already
 * queued is not queued twice (a newer recovery genstamp replaces the
 * queued job's); a block being recovered is not queued again for the same
 * genstamp, while a newer one supersedes the recovery in flight (it is
 * abandoned as at stop, without a commit: the namenode has moved on) and
 * is queued; a command that finds the queue full is dropped with a log
 * line (the namenode asks again after its timeout).  Stopping shuts down the sockets of the
 * recoveries in flight, which are abandoned without a commit; only a
 * connect in progress is waited for (DN_RECOVERY_CONNECT_MS at most).
 *
 * Threads: dn_recovery_submit may be called from any thread (the namenode
 * link calls it); dn_recovery_start / dn_recovery_stop from one owner
 * thread.  The commit callback runs on a recovery thread.
 * Logging: one INFO line per recovery committed (block, recovery gs,
 * length, replicas); one WARN line per recovery given up.
 */
#ifndef DN_RECOVERY_H
#define DN_RECOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "dfs.pb-c.h"

struct dn_recovery;

#define DN_RECOVERY_TIMEOUT_MS   15000    /* one phase: every target's answer */
#define DN_RECOVERY_CONNECT_MS   3000     /* connecting to one target, at most */
#define DN_RECOVERY_QUEUE_MAX    256      /* recoveries waiting for a thread */
#define DN_RECOVERY_THREADS_MAX  8
#define DN_RECOVERY_TARGETS_MAX  64       /* targets of one command used */

/* ------------------------------------------------------------ settling */

/* What one target answered to InitRecoveryReq. */
struct dn_rec_answer {
    int status;            /* DFS_OK, the DFS_ERR_* it answered, or DFS_ERR_CONN /
                            * DFS_ERR_TIMEOUT / DFS_ERR_PROTO when it did not */
    uint64_t gs;           /* status OK: its replica's genstamp, */
    uint64_t len;          /* length (bytes whose checksums hold) */
    int finalized;         /* and state */
};

enum dn_rec_settle {
    DN_REC_SETTLED = 0,    /* keep[] marks the replicas to finish at *len */
    DN_REC_NO_REPLICA,     /* every target answered ERR_NOENT: commit length 0 */
    DN_REC_UNSETTLED,      /* nothing can be committed (reason in why) */
};

/* Settle recovery (recovery_gs) from the n InitRecovery answers a[0..n):
 * sets keep[i] to 1 for each replica to finish and 0 for the others, and
 * *len to the settled length (0 unless DN_REC_SETTLED).  OK answers with
 * a genstamp above recovery_gs (a datanode should have refused those) are
 * left out.  While a target did not answer (nor ERR_NOENT), the replicas
 * found must have a genstamp of at least min_gs (the newest pipeline's,
 * from CMD_RECOVER; 0: any), else DN_REC_UNSETTLED: the silent one may
 * hold more acknowledged bytes.  On DN_REC_UNSETTLED a one-line reason goes to why (may be
 * NULL).  Pure: no I/O, no locks. */
enum dn_rec_settle dn_recovery_settle(uint64_t recovery_gs, uint64_t min_gs,
                                      const struct dn_rec_answer *a, size_t n, int *keep,
                                      uint64_t *len, char *why, size_t whysz);

/* ------------------------------------------------------------ recovering */

/* The outcome of a recovery, for the namenode: block (id, recovery gs,
 * settled length) is finalized on storage_ids[0..n) (n may be 0, with
 * len 0: no replica anywhere).  Arrays valid during the call only.  Called
 * on the recovery thread: must not block on I/O. */
typedef void (*dn_recovery_commit_fn)(void *arg, uint64_t id, uint64_t gs, uint64_t len,
                                      const char *const *storage_ids, size_t n);

/* What dn_recovery_block did. */
enum dn_recovery_result {
    DN_RECOVERY_COMMITTED = 0,   /* commit was called */
    DN_RECOVERY_FAILED,          /* given up without a commit (logged) */
    DN_RECOVERY_STOPPED,         /* abandoned: the pool is stopping, or a
                                  * newer recovery of the block superseded it */
};

/* Recover block (id, recovery gs) with targets[0..ntargets) (each needs
 * host and port; storage_id is what the commit names) synchronously on
 * the calling thread: up to timeout_ms (0: DN_RECOVERY_TIMEOUT_MS) per
 * phase, plus DN_RECOVERY_CONNECT_MS per target that cannot be reached.
 * Calls commit on success.  Logs the outcome.  Thread-safe. */
enum dn_recovery_result dn_recovery_block(uint64_t id, uint64_t gs, uint64_t min_gs,
                                          Dfs__DatanodeId *const *targets, size_t ntargets,
                                          int timeout_ms, dn_recovery_commit_fn commit,
                                          void *commit_arg);

/* ------------------------------------------------------------ the pool */

struct dn_recovery_cfg {
    unsigned threads;            /* 1..DN_RECOVERY_THREADS_MAX */
    unsigned queue_max;          /* 0: DN_RECOVERY_QUEUE_MAX */
    int timeout_ms;              /* per phase; 0: DN_RECOVERY_TIMEOUT_MS */
    dn_recovery_commit_fn commit;    /* required */
    void *commit_arg;
};

/* Start the recovery threads.  NULL with a message in err when threads is
 * out of bounds, commit is missing or a thread cannot be started. */
struct dn_recovery *dn_recovery_start(const struct dn_recovery_cfg *cfg, char *err,
                                      size_t errsz);
/* Stop promptly: queued recoveries are dropped, recoveries in flight
 * abandoned (their sockets shut down, nothing committed); joins the
 * threads and frees the pool.  NULL is a no-op. */
void dn_recovery_stop(struct dn_recovery *rp);

/* Queue the recovery of block (id, recovery gs) with targets[0..ntargets)
 * (deep-copied).  Returns 0 queued (or the queued job of that block
 * updated to this newer gs; a recovery of the block in flight with an
 * older gs is abandoned), 1 not queued because that block is queued or
 * being recovered with the same or a newer gs, -1 dropped (queue full, no
 * valid target, stopping; logged).  Thread-safe; never blocks on I/O. */
int dn_recovery_submit(struct dn_recovery *rp, uint64_t id, uint64_t gs, uint64_t min_gs,
                       Dfs__DatanodeId *const *targets, size_t ntargets);

/* Recoveries in progress now.  Thread-safe. */
unsigned dn_recovery_active(const struct dn_recovery *rp);

#endif
