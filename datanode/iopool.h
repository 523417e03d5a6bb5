/*
 * iopool.h - the datanode's disk threads (MooseFS bgjobs pattern).
 *
 * Disk work (writes with their checksum verification, fdatasync, finalize,
 * replica opens and reads) never runs on the event loop.  The loop hands a
 * job to the pool; one of `nthreads` workers runs job->run; the loop is
 * then woken (event_active from the worker, which needs
 * evthread_use_pthreads() before the event base was made) and calls
 * job->done on its own thread.
 *
 * Jobs are submitted on a strand: the jobs of one strand run one at a
 * time, in submission order, and their done callbacks are called in that
 * order too; jobs of different strands run in parallel.  A connection owns
 * one strand, so the packets of one replica are written in order without
 * locks.  A worker takes up to IOP_BATCH queued jobs of a strand at once and
 * hands their completions back together: one wake-up of the loop per batch.
 *
 * A done callback is always called, even when the connection that
 * submitted the job is gone: it must then only release what the job holds.
 * The owner tells which case it is in by keeping itself alive with a
 * reference per job and checking that the job belongs to its current
 * connection / request (a generation number), as bgjobs does with its
 * connection counter.
 *
 * Threads: iop_new, iop_free, iop_drain, iop_strand_* and iop_submit are
 * called on the loop's thread only.  The pool's wake event is only ever
 * activated, never added: it does not by itself keep event_base_dispatch
 * from returning (the datanode's listener does).
 */
#ifndef DN_IOPOOL_H
#define DN_IOPOOL_H

#include <stddef.h>
#include <event2/event.h>

#define IOP_BATCH 16           /* jobs of one strand run per worker turn */

struct iop;
struct iop_strand;

/* Embed this in a job structure (first member or container_of). */
struct iop_job {
    void (*run)(struct iop_job *j);    /* on a worker thread; may block on disk */
    void (*done)(struct iop_job *j);   /* on the loop thread, after run; may free j */
    /* private to the pool */
    struct iop_job *next;
    struct iop_strand *strand;
};

/* Start a pool of nthreads (>= 1) workers whose completions are delivered
 * on `base`.  Returns NULL with a message in err when a thread or the wake
 * event cannot be made. */
struct iop *iop_new(struct event_base *base, unsigned nthreads, char *err, size_t errsz);
/* Wait until every submitted job has run and its done callback was called
 * (on the calling thread, which must be the loop's; done callbacks may
 * submit more jobs, which are waited for too).  For shutdown: use it when
 * the loop is not dispatching. */
void iop_drain(struct iop *p);
/* iop_drain, then stop and join the workers and free the pool.  Every
 * strand must have been freed.  NULL is a no-op. */
void iop_free(struct iop *p);

/* A new, empty strand.  Never fails (aborts when out of memory). */
struct iop_strand *iop_strand_new(struct iop *p);
/* Free a strand with no pending job (iop_strand_pending() == 0).  NULL is
 * a no-op. */
void iop_strand_free(struct iop_strand *s);
/* Jobs submitted on s whose done callback has not been called yet. */
size_t iop_strand_pending(const struct iop_strand *s);

/* Queue j (run and done set) on strand s.  Never blocks. */
void iop_submit(struct iop_strand *s, struct iop_job *j);

/* Jobs submitted on the whole pool and not yet completed (for metrics). */
size_t iop_pending(const struct iop *p);

#endif
