/*
 * scanner.h - the block scanner: re-reads every finalized replica of the
 * block store, verifying each chunk against its .meta checksums, and
 * reports the corrupt ones (HDFS's VolumeScanner, for the whole store).
 *
 * Policy:
 *  - A pass walks the replicas in block id order.  It covers the replicas
 *    present when it starts (when it resumes, those present then above the
 *    cursor); a replica finalized later waits for the next pass -- its
 *    chunks were verified as they arrived.
 *  - Pace: a pass is spread over period_s (the bytes read so far never run
 *    ahead of pass start + period_s * bytes done / bytes of the pass), and
 *    never reads faster than bytes_per_s, whichever is slower.  A store too
 *    big to read in one period at bytes_per_s takes longer; the next pass
 *    starts when it ends.
 *  - A pass that ends early sleeps until period_s after its start; the
 *    next pass starts then.  The first pass starts as the scanner starts.
 *  - A corrupt replica (meta header bad, data or meta file of the wrong
 *    size or missing, a chunk that does not match its checksum or cannot be
 *    read) is logged at WARN level (block, chunk, file), flagged bad in the
 *    store (bs_mark_bad: the flag survives a restart) and handed to the
 *    report callback; the scanner never moves or deletes it (the namenode
 *    re-replicates the block from a good replica and then orders this one
 *    deleted).  A replica deleted or rewritten under a new generation stamp
 *    while it is read is skipped, not reported.
 *  - A replica flagged bad already (by an earlier pass or a copy: see
 *    bs_is_bad) is neither read nor reported again -- the datanode's block
 *    reports say it is corrupt -- but counts as scanned and corrupt in
 *    every pass until it is deleted.
 *  - Progress survives a restart: the cursor file
 *        pass_start=<unix s>   when the pass in progress (or last) began
 *        last_id=<block id>    last replica done in it (0: none yet)
 *        scanned=, bytes=, corrupt=   that pass's counts so far
 *        passes=               passes completed
 *        done=0|1              1: the pass is over, waiting for the next
 *    is written (tmp + rename, no fsync: losing a few seconds of progress
 *    in a crash costs a little rescan) at most every few seconds, at the
 *    end of a pass and at stop.  A scanner that finds it resumes the pass
 *    after last_id, keeping pass_start (so its pace, and the next pass,
 *    follow the original schedule).  A missing or malformed cursor starts
 *    a new pass (a malformed one is logged).
 *  - One INFO line per completed pass; DEBUG lines per replica.
 *
 * Threads: one scanner thread of its own; scan_stats and scan_stop may be
 * called from any other thread.  The report callback runs on the scanner
 * thread and must not block for long (dn_nnconn_report_bad queues).
 */
#ifndef DN_SCANNER_H
#define DN_SCANNER_H

#include <stddef.h>
#include <stdint.h>

struct bs;
struct scanner;

struct scan_cfg {
    struct bs *bs;
    const char *cursor_path;      /* the cursor file (copied) */
    uint32_t period_s;            /* > 0 */
    uint64_t bytes_per_s;         /* > 0 */
    /* A corrupt replica; reason is one line ("block scanner: ...chunk 3
     * checksum mismatch..."), valid during the call. */
    void (*report_bad)(void *arg, uint64_t id, uint64_t gs, const char *reason);
    void *report_arg;
};

/* One pass's counts. */
struct scan_pass {
    uint64_t start;               /* unix s */
    uint64_t scanned, bytes;      /* replicas and their data bytes read (or
                                   * passed over: flagged bad already) */
    uint64_t corrupt;             /* corrupt replicas found, or flagged bad
                                   * already */
    uint64_t last_id;             /* last replica done, 0: none yet */
    uint64_t resumed_after;       /* the cursor this run resumed the pass
                                   * after, 0: not resumed */
};

struct scan_stats {
    uint64_t passes;              /* passes completed (the cursor keeps it) */
    int idle;                     /* 1 between passes */
    struct scan_pass cur;         /* the pass in progress (idle: the last) */
    struct scan_pass last;        /* the last completed pass (counted across
                                   * a restart); zeros before the first */
};

/* Copy cfg, read the cursor and start the scanner thread.  NULL with a
 * message in err when the configuration is invalid (period_s or
 * bytes_per_s 0) or the thread cannot be started. */
struct scanner *scan_start(const struct scan_cfg *cfg, char *err, size_t errsz);
/* Stop the thread (promptly: it wakes from any wait, and stops between
 * pieces of a replica), save the cursor and free the scanner.  NULL is a
 * no-op. */
void scan_stop(struct scanner *sc);
/* A consistent snapshot of the scanner's counters into *out. */
void scan_stats(struct scanner *sc, struct scan_stats *out);

#endif
