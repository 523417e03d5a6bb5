/*
 * dn_dataserv.c - the transfer server (see dn_dataserv.h, docs/protocol.md).
 *
 * Each accepted connection is a session, an explicit state machine:
 *
 *   IDLE       waiting for a request: WriteBlockReq, ReadBlockReq,
 *              BlockChecksumReq, ReplicaInfoReq (answered at once),
 *              TransferBlockReq, InitRecoveryReq, FinishRecoveryReq
 *              (CopyBlockReq is refused for now); closed after
 *              IDLE_TIMEOUT_MS without one;
 *   W_SETUP    write: the rbw replica is being created -- or reopened,
 *              by the request's stage: WS_RECOVER cuts a parked one (a
 *              session still writing it is preempted first and the reopen
 *              retried until it has parked), WS_APPEND reopens a
 *              finalized one -- (io pool) while the downstream datanode,
 *              if any, is connected and sent the WriteBlockReq with the
 *              remaining targets (stage, length and old genstamp
 *              unchanged); when both have answered, WriteBlockResp goes
 *              upstream;
 *   W_STREAM   write: packets arrive in seq order; each is checked, sent
 *              downstream first (by reference, no copy), then verified and
 *              written by the io pool; when both its local write and the
 *              downstream ack are done, PacketAck{seq, [own, downstream...]}
 *              goes upstream, in seq order (its end is the replica's
 *              acked length).  The LAST packet's job finalizes the
 *              replica before it is acked (WS_TRANSFER: parks it);
 *   W_FAILED   write: an error answer or ack went upstream; the replica
 *              is parked (discarded when it failed here) and downstream
 *              dropped.  The connection stays
 *              open, discarding packets, until the upstream closes it (or
 *              LINGER_MS pass): closing a socket with unread input makes
 *              the kernel send a reset, which can destroy the error ack
 *              before the upstream reads it.  A malformed stream is closed
 *              at once instead;
 *   R_OPEN     read: the replica is being opened (io pool);
 *   R_STREAM   read: packets of whole chunks are read by the io pool (data
 *              and stored checksums) and sent while the output is below the
 *              high watermark; back to IDLE after the LAST one;
 *   CSUM       checksum: the io pool computes the replica's SHA-256;
 *   XFER       transfer: an io thread streams the replica being written
 *              to the targets (dn_copy_transfer), then answers;
 *   RECOV      block recovery: writers of the block preempted, the
 *              replica described (init) or finalized (finish) by the io
 *              pool, retried while a preempted writer has not parked;
 *   CLOSED     the upstream connection is gone; the session lives on only
 *              until its disk jobs have completed.
 *
 * A session is reference-counted: one reference for the upstream
 * connection, one for the downstream connection, one per io job, and one
 * held across each callback.  A job's done callback acts only when the job
 * belongs to the session's current request (s->gen) and state; otherwise it
 * only releases what it holds (the bgjobs rule).
 *
 * Backpressure (write): reading upstream pauses while the downstream
 * output, the bytes queued to disk or the unsent acks exceed max_buffer,
 * and resumes once all are below half of it (on downstream drain, disk
 * completion or ack).
 */
#include "dn_dataserv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>


#include "clock.h"
#include "blockstore.h"
#include "checksum.h"
#include "config.h"
#include "conn.h"
#include "dfs.h"
#include "dfs.pb-c.h"
#include "error_i.h"
#include "frame.h"
#include "iopool.h"
#include "log.h"
#include "xmalloc.h"

#include "dn_dataserv_i.h"

/* --------------------------------------------------------- the session */

static int is_write_state(enum sess_state st)
{
    return st == S_W_SETUP || st == S_W_STREAM;
}

static void pkt_unref(struct pkt *p)
{
    if (--p->refs == 0)
        free(p);
}

static void pkt_cleanup(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    pkt_unref(arg);
}

static void w_try_acks(struct sess *s);
static void w_fail(struct sess *s, int linger);

static void w_reset(struct sess *s)
{
    s->w = NULL;
    s->local_done = s->down_done = 0;
    s->local_status = s->down_status = DFS_OK;
    s->down_bad = 0;
    s->down_connected = 0;
    s->fail_logged = 0;
    s->local_err[0] = s->down_err[0] = '\0';
    s->down_dead = 0;
    s->next_seq = s->recv_len = s->disk_len = s->acked_len = 0;
    s->last_seen = 0;
    __atomic_store_n(&s->last_abandoned, 0, __ATOMIC_RELAXED);
    s->disk_queued = 0;
    s->aq_head = s->aq_count = s->aq_ndown = 0;
    s->wk_err = 0;
}

static struct ackent *aq_at(struct sess *s, size_t i)
{
    return &s->aq[(s->aq_head + i) & (s->aq_cap - 1)];
}

static struct ackent *aq_push(struct sess *s)
{
    if (s->aq_count == s->aq_cap) {
        size_t ncap = s->aq_cap ? s->aq_cap * 2 : 64;
        struct ackent *n = xmalloc(ncap * sizeof(*n));
        for (size_t i = 0; i < s->aq_count; i++)
            n[i] = *aq_at(s, i);
        free(s->aq);
        s->aq = n;
        s->aq_cap = ncap;
        s->aq_head = 0;
    }
    struct ackent *e = aq_at(s, s->aq_count++);
    memset(e, 0, sizeof(*e));
    return e;
}

/* Pause reading upstream while any buffer is over max_buffer; resume when
 * every one is at most half of it. */
static void w_flow(struct sess *s)
{
    if (s->state != S_W_STREAM || !s->up)
        return;
    size_t max = s->ds->max_buffer;
    size_t down_out = s->down ? dfs_conn_output_len(s->down) : 0;
    size_t up_out = dfs_conn_output_len(s->up);
    if (!s->paused) {
        if (s->disk_queued > max || down_out > max || up_out > max || s->aq_count >= ACKQ_MAX)
            sess_pause_up(s);
    } else if (s->disk_queued <= max / 2 && down_out <= max / 2 && up_out <= max / 2 &&
               s->aq_count < ACKQ_MAX / 2 && !s->last_seen) {
        sess_resume_up(s);
    }
}

/* ---- io jobs of a write */

/* The replica of the request: created, or reopened by the stage. */
static void run_create(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct bs *bs = j->s->ds->bs;
    struct bs_rinfo ri;
    uint64_t id = j->off, gs = j->seq;

    switch (j->stage) {
    case DFS__WRITE_STAGE__WS_RECOVER:
        j->w = bs_writer_recover(bs, id, gs, j->length, j->chunk, j->err, sizeof(j->err));
        break;
    case DFS__WRITE_STAGE__WS_APPEND:
        j->w = bs_writer_append(bs, id, j->old_gs, gs, j->length, j->chunk, j->err,
                                sizeof(j->err));
        break;
    default:
        /* A replica here of an older genstamp is stale (the namenode hands
         * out a write, a copy or a transfer only under the block's newest
         * genstamp): it gives way.  So does a parked one of the same
         * genstamp: an earlier attempt of this write, copy or transfer, or
         * a replica a block recovery left out (a copy of the complete
         * block comes to a datanode only when it holds no good replica). */
        if (bs_replica_info(bs, id, &ri) == 0 && ri.state != BS_RBW_WRITING &&
            (ri.gs < gs || (ri.gs == gs && ri.state == BS_RBW_PARKED))) {
            LOG_INFO("blk_%llu: dropping the %s replica of generation stamp %llu for a "
                     "write under %llu", (unsigned long long)id,
                     ri.state == BS_RBW_PARKED ? "parked" : "finalized",
                     (unsigned long long)ri.gs, (unsigned long long)gs);
            bs_delete(bs, id);
        }
        j->w = bs_writer_create(bs, id, gs, j->chunk, j->err, sizeof(j->err));
        break;
    }
    j->status = j->w ? DFS_OK : dfs_err_from_errno(errno);
    if (!j->w && j->status == DFS_OK)
        j->status = DFS_ERR_IO;
}

/* Park the writer, or discard it when its replica failed here. */
static void run_release(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    if (j->s->wk_err)                        /* io threads, in strand order */
        bs_writer_abort(j->w);
    else
        bs_writer_park(j->w);
    j->w = NULL;
}

static void done_release(struct iop_job *ij)
{
    sess_job_free((struct djob *)ij);
}

/* Let go of a writer on the io pool (closing, unlinking is disk work):
 * parked, unless its replica failed here (then discarded). */
static void w_release_writer(struct sess *s, struct bs_writer *w)
{
    if (!w)
        return;
    struct djob *j = sess_job_new(s, J_RELEASE, run_release, done_release);
    j->w = w;
    sess_job_submit(s, j);
}

static void setup_check(struct sess *s);
static void w_submit_create(struct sess *s);

static void done_create(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct sess *s = j->s;
    if (!sess_job_live(j, S_W_SETUP)) {
        w_release_writer(s, j->w);           /* the request is gone */
    } else if (j->status == DFS_ERR_BUSY && s->stage == DFS__WRITE_STAGE__WS_RECOVER &&
               sess_retry_later(s)) {
        /* a preempted session has not parked the replica yet */
    } else {
        s->w = j->w;
        s->local_done = 1;
        s->local_status = j->status;
        snprintf(s->local_err, sizeof(s->local_err), "%s", j->err);
        setup_check(s);
    }
    sess_job_free(j);
}

static void run_write(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct sess *s = j->s;            /* only s->wk_err: io threads, in strand order */
    const uint8_t *sums = j->pkt->body + DFS_PKT_HDR_LEN;
    const uint8_t *data = sums + 8u * j->nsums;
    int rc;

    if (s->wk_err) {
        j->status = s->wk_err;               /* an earlier packet failed: err stays "" */
    } else {
        long bad = dfs_checksum_verify_be(data, j->len, j->chunk, sums);
        if (bad >= 0) {
            j->status = DFS_ERR_CORRUPT;
            snprintf(j->err, sizeof(j->err), "checksum mismatch in chunk at offset %llu",
                     (unsigned long long)(j->off + (uint64_t)bad * j->chunk));
        } else if ((rc = bs_writer_write(j->w, j->off, data, j->len, sums, j->nsums)) < 0) {
            j->status = dfs_err_from_errno(-rc);
            snprintf(j->err, sizeof(j->err), "write at offset %llu: %s",
                     (unsigned long long)j->off, strerror(-rc));
        } else if ((j->flags & DFS_PKT_SYNC) && (rc = bs_writer_sync(j->w)) < 0) {
            j->status = dfs_err_from_errno(-rc);
            snprintf(j->err, sizeof(j->err), "sync: %s", strerror(-rc));
        } else if (j->flags & DFS_PKT_SYNC) {
            __atomic_add_fetch(&s->ds->fsyncs, 1, __ATOMIC_RELAXED);
        }
        if (j->status != DFS_OK)
            s->wk_err = j->status;
    }
    if (j->flags & DFS_PKT_LAST) {
        /* The LAST job owns the writer: finalize it, park it (a transfer's;
         * or the stream failed before this job ran: the client recovers
         * the pipeline from what was acked), or discard it. */
        if (s->wk_err) {
            bs_writer_abort(j->w);
        } else if (j->stage == DFS__WRITE_STAGE__WS_TRANSFER ||
                   __atomic_load_n(&s->last_abandoned, __ATOMIC_ACQUIRE)) {
            if (j->stage == DFS__WRITE_STAGE__WS_TRANSFER)
                bs_writer_set_acked(j->w, j->final_len);
            if ((rc = bs_writer_park(j->w)) < 0) {
                j->status = dfs_err_from_errno(-rc);
                snprintf(j->err, sizeof(j->err), "park: %s", strerror(-rc));
                s->wk_err = j->status;
            }
        } else if ((rc = bs_writer_finalize(j->w, j->final_len)) < 0) {
            j->status = dfs_err_from_errno(-rc);
            snprintf(j->err, sizeof(j->err), "finalize: %s", strerror(-rc));
            s->wk_err = j->status;
        } else {
            j->finalized = 1;
        }
        j->w = NULL;
    }
}

static void done_write(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct sess *s = j->s;
    struct dn_dataserv *ds = s->ds;

    if (j->gen == s->gen)
        s->disk_queued -= j->len;
    pkt_unref(j->pkt);
    j->pkt = NULL;
    if (j->finalized) {
        /* Finalized: the replica exists whatever happens to the stream. */
        LOG_INFO("received blk_%llu_%llu (%llu bytes) from %s", (unsigned long long)j->blk_id,
                 (unsigned long long)j->blk_gs, (unsigned long long)j->final_len, s->peer);
        /* unless its data dir failed since (the store reported it lost) */
        if (ds->report && bs_lookup(ds->bs, j->blk_id, NULL, NULL))
            ds->report(ds->report_arg, j->blk_id, j->blk_gs, j->final_len);
    }
    if (sess_job_live(j, S_W_STREAM)) {
        if (j->status != DFS_OK && j->err[0] && !s->fail_logged) {
            LOG_WARN("blk_%llu from %s: packet %llu: %s", (unsigned long long)s->blk_id,
                     s->peer, (unsigned long long)j->seq, j->err);
            s->fail_logged = 1;
        } else if (j->off + j->len > s->disk_len)
            s->disk_len = j->off + j->len;
        uint64_t head = s->aq_count ? aq_at(s, 0)->seq : 0;
        struct ackent *e = s->aq_count && j->seq >= head && j->seq - head < s->aq_count
                           ? aq_at(s, (size_t)(j->seq - head)) : NULL;
        if (e && e->seq == j->seq) {
            e->local_done = 1;
            e->own = (uint8_t)j->status;
        }
        w_try_acks(s);
        w_flow(s);
    }
    sess_job_free(j);
}

/* ---- pipeline set-up */

static void reply_write(struct sess *s, int status, int bad_index, const char *error)
{
    Dfs__WriteBlockResp r = DFS__WRITE_BLOCK_RESP__INIT;
    r.status = (Dfs__Status)status;
    r.error = status != DFS_OK && error && *error ? (char *)error : NULL;
    r.has_bad_index = 1;
    r.bad_index = status == DFS_OK ? -1 : bad_index;
    if (s->up)
        dfs_conn_send_msg(s->up, DFS_MSG_WRITEBLOCK_RESP, s->reqid, &r.base);
}

/* Answer upstream once the local replica and the downstream have both
 * answered (a local failure answers at once). */
static void setup_check(struct sess *s)
{
    if (s->state != S_W_SETUP || !s->local_done)
        return;
    if (s->local_status != DFS_OK) {
        LOG_WARN("cannot receive blk_%llu from %s: %s", (unsigned long long)s->blk_id, s->peer,
                 s->local_err);
        reply_write(s, s->local_status, 0, s->local_err);
        w_fail(s, 1);
        return;
    }
    if (!s->down_done)
        return;
    if (s->down_status != DFS_OK) {
        char msg[ERRLEN + 64];
        snprintf(msg, sizeof(msg), "downstream: %s", s->down_err);
        LOG_WARN("pipeline for blk_%llu from %s: %s", (unsigned long long)s->blk_id, s->peer, msg);
        reply_write(s, s->down_status, s->down_bad + 1, msg);
        w_fail(s, 1);
        return;
    }
    reply_write(s, DFS_OK, -1, NULL);
    sess_set_state(s, S_W_STREAM);
    evtimer_del(s->timer);
    if (s->down)
        sess_arm_timer(s, 1000);              /* ack timeout check */
    LOG_DEBUG("receiving blk_%llu from %s (%u downstream)", (unsigned long long)s->blk_id,
              s->peer, s->ntargets);
}

/* The downstream link failed with `status` (ERR_CONN, ERR_TIMEOUT,
 * ERR_PROTO): drop it and make every ack still waiting for it say so. */
static void down_lost(struct sess *s, int status, const char *why)
{
    if (s->down) {
        struct dfs_conn *d = s->down;
        s->down = NULL;                  /* its on_close only unrefs now */
        dfs_conn_abort(d);
    }
    if (s->state == S_W_SETUP && !s->down_done) {
        s->down_done = 1;
        s->down_status = status;
        s->down_bad = 0;
        snprintf(s->down_err, sizeof(s->down_err), "%s", why);
        setup_check(s);
    } else if (s->state == S_W_STREAM && !s->down_dead) {
        LOG_WARN("pipeline for blk_%llu from %s: downstream: %s", (unsigned long long)s->blk_id,
                 s->peer, why);
        s->down_dead = 1;
        for (size_t i = s->aq_ndown; i < s->aq_count; i++) {
            struct ackent *e = aq_at(s, i);
            e->down_done = 1;
            e->ndown = 1;
            e->down[0] = (uint8_t)status;
        }
        s->aq_ndown = s->aq_count;
        w_try_acks(s);
    }
}

static int down_on_frame(struct dfs_conn *c, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    struct sess *s = dfs_conn_arg(c);
    if (c != s->down)
        return -1;
    sess_ref(s);
    if (s->state == S_W_SETUP && h->type == DFS_MSG_WRITEBLOCK_RESP && !s->down_done) {
        Dfs__WriteBlockResp *r = dfs__write_block_resp__unpack(NULL, h->len, body);
        if (!r) {
            down_lost(s, DFS_ERR_PROTO, "malformed WriteBlockResp");
        } else {
            s->down_done = 1;
            s->down_status = (int)r->status;
            if (s->down_status < 0 || s->down_status > 255)
                s->down_status = DFS_ERR_PROTO;
            s->down_bad = r->has_bad_index && r->bad_index > 0 ? r->bad_index : 0;
            snprintf(s->down_err, sizeof(s->down_err), "%s: %s",
                     dfs_conn_peer(c), r->error ? r->error : dfs_strerror(s->down_status));
            dfs__write_block_resp__free_unpacked(r, NULL);
            setup_check(s);
        }
    } else if (s->state == S_W_STREAM && h->type == DFS_MSG_PACKET_ACK) {
        Dfs__PacketAck *a = dfs__packet_ack__unpack(NULL, h->len, body);
        struct ackent *e = s->aq_ndown < s->aq_count ? aq_at(s, s->aq_ndown) : NULL;
        if (!a || !e || e->seq != a->seq) {
            LOG_WARN("pipeline for blk_%llu: downstream %s acked %s", (unsigned long long)s->blk_id,
                     dfs_conn_peer(c), !a ? "with a malformed message" : "an unexpected packet");
            down_lost(s, DFS_ERR_PROTO, "unexpected ack");
        } else {
            size_t n = a->n_statuses < s->ntargets ? a->n_statuses : s->ntargets;
            for (size_t i = 0; i < n; i++) {
                int st = (int)a->statuses[i];
                e->down[i] = (uint8_t)(st >= 0 && st < 256 ? st : DFS_ERR_PROTO);
            }
            e->ndown = (uint8_t)(n ? n : 1);
            if (n == 0)
                e->down[0] = DFS_ERR_PROTO;
            e->down_done = 1;
            s->aq_ndown++;
            s->down_progress_ms = dfs_mono_ms();
            w_try_acks(s);
        }
        if (a)
            dfs__packet_ack__free_unpacked(a, NULL);
    } else if (s->state == S_W_SETUP || s->state == S_W_STREAM) {
        LOG_WARN("pipeline for blk_%llu: unexpected message 0x%x from downstream %s",
                 (unsigned long long)s->blk_id, h->type, dfs_conn_peer(c));
        down_lost(s, DFS_ERR_PROTO, "unexpected message");
    }
    sess_unref(s);
    return 0;
}

static void down_on_connect(struct dfs_conn *c, int ok)
{
    struct sess *s = dfs_conn_arg(c);
    if (c == s->down && ok)
        s->down_connected = 1;
}

static void down_on_drained(struct dfs_conn *c)
{
    struct sess *s = dfs_conn_arg(c);
    if (c == s->down)
        w_flow(s);
}

static void down_on_close(struct dfs_conn *c)
{
    struct sess *s = dfs_conn_arg(c);
    if (c == s->down) {
        s->down = NULL;
        sess_ref(s);
        char why[300];
        snprintf(why, sizeof(why), s->down_connected ? "connection to %s lost"
                 : "cannot connect to %s", dfs_conn_peer(c));
        down_lost(s, DFS_ERR_CONN, why);
        sess_unref(s);
    }
    sess_unref(s);                      /* the downstream's reference */
}

static const struct dfs_conn_ops down_ops = {
    .on_frame = down_on_frame,
    .on_connect = down_on_connect,
    .on_drained = down_on_drained,
    .on_close = down_on_close,
};

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sess *s = arg;
    sess_ref(s);
    if (s->state == S_W_SETUP && !s->down_done) {
        down_lost(s, DFS_ERR_TIMEOUT, "no answer from downstream in time");
    } else if (s->state == S_W_STREAM && s->down) {
        if (s->aq_ndown < s->aq_count && dfs_mono_ms() - s->down_progress_ms > s->ack_timeout_ms) {
            char why[300];
            snprintf(why, sizeof(why), "no ack from %s for %u ms", dfs_conn_peer(s->down),
                     s->ack_timeout_ms);
            down_lost(s, DFS_ERR_TIMEOUT, why);
        }
        if (s->state == S_W_STREAM && s->down)
            sess_arm_timer(s, 1000);
    } else if (s->state == S_IDLE && s->up) {
        LOG_DEBUG("closing connection from %s: idle for %u ms", s->peer, IDLE_TIMEOUT_MS);
        dfs_conn_close(s->up);
    } else if (s->state == S_W_FAILED && s->up) {
        LOG_DEBUG("closing connection from %s: it did not close after the failure", s->peer);
        dfs_conn_close(s->up);
    }
    sess_unref(s);
}

/* Send the acks that are complete, in seq order.  An ack with any failure
 * ends the stream (the client rebuilds the pipeline); the LAST one ends
 * the block. */
static void w_try_acks(struct sess *s)
{
    while (s->state == S_W_STREAM && s->aq_count) {
        struct ackent *e = aq_at(s, 0);
        if (!e->local_done || !e->down_done)
            break;
        Dfs__Status st[1 + MAX_TARGETS];
        size_t n = 1;
        int bad = e->own != DFS_OK;
        st[0] = (Dfs__Status)e->own;
        if (s->ntargets) {
            for (size_t i = 0; i < e->ndown; i++) {
                st[n++] = (Dfs__Status)e->down[i];
                bad |= e->down[i] != DFS_OK;
            }
        }
        Dfs__PacketAck a = DFS__PACKET_ACK__INIT;
        a.seq = e->seq;
        a.n_statuses = n;
        a.statuses = st;
        dfs_conn_send_msg(s->up, DFS_MSG_PACKET_ACK, e->reqid, &a.base);
        uint32_t flags = e->flags;
        uint64_t seq = e->seq, e_end = e->end;
        s->aq_head = (s->aq_head + 1) & (s->aq_cap - 1);
        s->aq_count--;
        s->aq_ndown--;
        if (bad) {
            size_t at = 0;
            while (at < n && st[at] == DFS__STATUS__OK)
                at++;
            LOG_WARN("blk_%llu from %s: packet %llu failed at pipeline index %zu (%s); "
                     "ending the stream", (unsigned long long)s->blk_id, s->peer,
                     (unsigned long long)seq, at, dfs_strerror((int)st[at]));
            w_fail(s, 1);
            return;
        }
        if (e_end > s->acked_len) {
            s->acked_len = e_end;
            if (s->w)                        /* else the LAST job owns it */
                bs_writer_set_acked(s->w, e_end);
        }
        if (flags & DFS_PKT_LAST) {
            if (s->down) {
                struct dfs_conn *d = s->down;
                s->down = NULL;
                dfs_conn_close(d);
            }
            sess_go_idle(s);
            return;
        }
    }
}

/* End the write: drop downstream and park the replica (discarded when it
 * failed here).  With linger,
 * keep reading (and discarding) until the upstream closes, so that the
 * error it was just sent reaches it; else close once output is flushed. */
static void w_fail(struct sess *s, int linger)
{
    if (s->last_seen)                       /* the LAST job parks, if not done */
        __atomic_store_n(&s->last_abandoned, 1, __ATOMIC_RELEASE);
    sess_set_state(s, S_W_FAILED);
    evtimer_del(s->timer);
    if (s->down) {
        struct dfs_conn *d = s->down;
        s->down = NULL;
        dfs_conn_abort(d);
    }
    w_release_writer(s, s->w);
    s->w = NULL;
    if (!s->up)
        return;
    if (linger) {
        sess_resume_up(s);
        sess_arm_timer(s, LINGER_MS);
    } else {
        dfs_conn_close(s->up);
    }
}

static int h_write(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    struct dn_dataserv *ds = s->ds;
    Dfs__WriteBlockReq *req = dfs__write_block_req__unpack(NULL, h->len, body);
    if (!req) {
        LOG_WARN("closing connection from %s: malformed WriteBlockReq", s->peer);
        return -1;
    }
    const char *bad = NULL;
    if (!dfs_chunk_size_valid(req->chunk_size))
        bad = "invalid chunk size";
    else if ((uint64_t)req->chunk_size + DFS_PKT_HDR_LEN + 8 > DFS_FRAME_MAX_PACKET)
        bad = "chunk size too large for a packet";
    else if (req->n_targets > MAX_TARGETS)
        bad = "too many targets";
    else if (req->stage != DFS__WRITE_STAGE__WS_CREATE &&
             req->stage != DFS__WRITE_STAGE__WS_RECOVER &&
             req->stage != DFS__WRITE_STAGE__WS_APPEND &&
             req->stage != DFS__WRITE_STAGE__WS_TRANSFER)
        bad = "unknown write stage";
    else if ((req->stage == DFS__WRITE_STAGE__WS_RECOVER ||
              req->stage == DFS__WRITE_STAGE__WS_APPEND) && !req->has_length)
        bad = "write stage without a length";
    else if (req->stage == DFS__WRITE_STAGE__WS_APPEND && !req->has_old_genstamp)
        bad = "append without the old generation stamp";
    if (bad) {
        s->reqid = h->reqid;
        reply_write(s, DFS_ERR_INVAL, 0, bad);
        dfs__write_block_req__free_unpacked(req, NULL);
        return 0;
    }

    s->gen++;
    w_reset(s);
    s->reqid = h->reqid;
    s->blk_id = req->block->id;
    s->blk_gs = req->block->genstamp;
    s->chunk = req->chunk_size;
    s->ntargets = (unsigned)req->n_targets;
    s->ack_timeout_ms = ds->ack_timeout_ms + STEP_MS * (s->ntargets ? s->ntargets - 1 : 0);
    s->stage = (int)req->stage;
    s->stage_len = req->has_length ? req->length : 0;
    s->old_gs = req->old_genstamp;
    if (s->stage == DFS__WRITE_STAGE__WS_RECOVER || s->stage == DFS__WRITE_STAGE__WS_APPEND) {
        /* the replica goes on from stage_len: the first packet starts
         * there, or at the start of its partial last chunk */
        s->recv_len = s->disk_len = s->acked_len = s->stage_len;
    }
    sess_set_state(s, S_W_SETUP);

    if (s->stage == DFS__WRITE_STAGE__WS_RECOVER &&
        ds->preempt(ds, s->blk_id, s->blk_gs, s) > 0)
        LOG_INFO("blk_%llu: pipeline recovery from %s (generation stamp %llu, %llu bytes) "
                 "took the replica over", (unsigned long long)s->blk_id, s->peer,
                 (unsigned long long)s->blk_gs, (unsigned long long)s->stage_len);
    sess_retry_start(s, w_submit_create);

    if (s->ntargets == 0) {
        s->down_done = 1;
    } else {
        const Dfs__DatanodeId *t = req->targets[0];
        s->down = dfs_conn_connect(ds->base, t->host, t->port, &down_ops, s, DOWN_MAX_BODY);
        if (!s->down) {
            s->down_done = 1;
            s->down_status = DFS_ERR_CONN;
            snprintf(s->down_err, sizeof(s->down_err), "cannot connect to %s:%u", t->host,
                     t->port);
        } else {
            sess_ref(s);                     /* the downstream's reference */
            dfs_conn_set_drain_watermark(s->down, ds->max_buffer / 2);
            Dfs__WriteBlockReq fwd = *req;
            fwd.n_targets = req->n_targets - 1;
            fwd.targets = req->targets + 1;
            dfs_conn_send_msg(s->down, DFS_MSG_WRITEBLOCK_REQ, h->reqid, &fwd.base);
            sess_arm_timer(s, SETUP_TIMEOUT_MS + STEP_MS * (s->ntargets - 1));
        }
    }
    dfs__write_block_req__free_unpacked(req, NULL);
    setup_check(s);
    return 0;
}

/* Submit the job that creates or reopens the replica (again, while a
 * preempted writer has not parked it: sess_retry_later). */
static void w_submit_create(struct sess *s)
{
    if (s->state != S_W_SETUP || s->local_done)
        return;
    struct djob *j = sess_job_new(s, J_CREATE, run_create, done_create);
    j->off = s->blk_id;
    j->seq = s->blk_gs;
    j->chunk = s->chunk;
    j->stage = s->stage;
    j->length = s->stage_len;
    j->old_gs = s->old_gs;
    sess_job_submit(s, j);
}

static unsigned ws_preempt(struct dn_dataserv *ds, uint64_t id, uint64_t gs,
                           const struct sess *except)
{
    struct sess *victims[16];
    unsigned n = 0, total = 0;
    do {
        n = 0;
        for (struct sess *o = ds->sessions; o && n < 16; o = o->next) {
            if (o != except && is_write_state(o->state) && o->blk_id == id &&
                o->blk_gs <= gs) {
                sess_ref(o);
                victims[n++] = o;
            }
        }
        for (unsigned i = 0; i < n; i++) {
            struct sess *o = victims[i];
            LOG_WARN("blk_%llu: the write from %s (generation stamp %llu) is taken over by "
                     "recovery; ending it, its replica is parked", (unsigned long long)id,
                     o->peer, (unsigned long long)o->blk_gs);
            w_fail(o, 0);
            sess_unref(o);
        }
        total += n;
    } while (n == 16);
    return total;
}

/* One data packet of the write stream. */
static int on_packet(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    struct dfs_pkt_hdr ph;
    const char *bad = NULL;
    uint64_t partial = s->recv_len % s->chunk, base = s->recv_len - partial;

    if (s->last_seen)
        bad = "packet after the last one";
    else if (dfs_pkt_decode_hdr(body, h->len, &ph) != 0)
        bad = "malformed packet";
    else if (ph.seq != s->next_seq)
        bad = "packet out of sequence";
    else if (ph.chunk_size != s->chunk)
        bad = "packet chunk size differs from the stream's";
    else if (ph.offset > base)
        bad = "packet offset is past the replica's length";
    if (bad) {
        LOG_WARN("closing connection from %s: blk_%llu: %s", s->peer,
                 (unsigned long long)s->blk_id, bad);
        w_fail(s, 0);
        return 0;
    }

    struct pkt *p = xmalloc(sizeof(*p) + h->len);
    p->refs = 1;                             /* the disk job's */
    p->len = h->len;
    memcpy(p->body, body, h->len);

    /* Downstream first, by reference. */
    if (s->down && !s->down_dead) {
        p->refs++;
        dfs_conn_send_ref(s->down, DFS_MSG_PACKET, h->reqid, NULL, 0, p->body, p->len,
                          pkt_cleanup, p);
    }

    if (s->aq_count == s->aq_ndown)
        s->down_progress_ms = dfs_mono_ms();
    struct ackent *e = aq_push(s);
    e->seq = ph.seq;
    e->end = ph.offset + ph.data_len;
    e->reqid = h->reqid;
    e->flags = ph.flags;
    if (s->ntargets == 0) {
        e->down_done = 1;
        s->aq_ndown++;
    } else if (s->down_dead) {
        e->down_done = 1;
        e->ndown = 1;
        e->down[0] = DFS_ERR_CONN;
        s->aq_ndown++;
    }

    uint64_t end = ph.offset + ph.data_len;
    struct djob *j = sess_job_new(s, J_WRITE, run_write, done_write);
    j->pkt = p;
    j->w = s->w;
    j->off = ph.offset;
    j->len = ph.data_len;
    j->seq = ph.seq;
    j->flags = ph.flags;
    j->chunk = s->chunk;
    j->nsums = ph.nsums;
    j->stage = s->stage;
    /* A packet may start before the replica's end, on a chunk boundary:
     * the partial last chunk rewritten whole, or a recovered pipeline's
     * writer resending packets the replica already held (same bytes). */
    if (end > s->recv_len)
        s->recv_len = end;
    j->final_len = s->recv_len;
    s->next_seq++;
    s->disk_queued += ph.data_len;
    if (ph.flags & DFS_PKT_LAST) {
        s->last_seen = 1;
        s->w = NULL;                         /* the LAST job owns it now */
        sess_pause_up(s);                         /* nothing more may come */
    }
    sess_job_submit(s, j);
    w_flow(s);
    return 0;
}

/* ============================================================ reading */

/* ============================================================ upstream */

/* A request on an idle connection.  0, or -1 to close it. */
static int dispatch_request(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    switch (h->type) {
    case DFS_MSG_WRITEBLOCK_REQ:
        return h_write(s, h, body);
    case DFS_MSG_READBLOCK_REQ:
        return rs_read(s, h, body);
    case DFS_MSG_CHECKSUM_REQ:
        return rs_checksum(s, h, body);
    case DFS_MSG_REPLICA_INFO_REQ:
        return rbs_replica_info(s, h, body);
    case DFS_MSG_TRANSFER_REQ:
        return rbs_transfer(s, h, body);
    case DFS_MSG_INIT_RECOVERY_REQ:
        return rbs_init_recovery(s, h, body);
    case DFS_MSG_FINISH_RECOVERY_REQ:
        return rbs_finish_recovery(s, h, body);
    case DFS_MSG_COPYBLOCK_REQ:
        sess_reply_status(s, h->type, h->reqid, DFS_ERR_INVAL, "block copy is not supported yet");
        return 0;
    default:
        LOG_WARN("closing connection from %s: unexpected message type 0x%x", s->peer, h->type);
        return -1;
    }
}

static int is_request(uint16_t type)
{
    return type == DFS_MSG_WRITEBLOCK_REQ || type == DFS_MSG_READBLOCK_REQ ||
           type == DFS_MSG_CHECKSUM_REQ || type == DFS_MSG_COPYBLOCK_REQ ||
           type == DFS_MSG_REPLICA_INFO_REQ || type == DFS_MSG_TRANSFER_REQ ||
           type == DFS_MSG_INIT_RECOVERY_REQ || type == DFS_MSG_FINISH_RECOVERY_REQ;
}

static int up_on_frame(struct dfs_conn *c, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    struct sess *s = dfs_conn_arg(c);
    int rc = 0;
    sess_ref(s);
    switch (s->state) {
    case S_IDLE:
        rc = dispatch_request(s, h, body);
        if (s->state == S_IDLE)
            sess_arm_timer(s, IDLE_TIMEOUT_MS);       /* answered at once: idle again */
        break;
    case S_W_STREAM:
        if (h->type == DFS_MSG_PACKET) {
            rc = on_packet(s, h, body);
        } else {
            LOG_WARN("closing connection from %s: message 0x%x in a write stream", s->peer,
                     h->type);
            w_fail(s, 0);
        }
        break;
    case S_R_OPEN:
    case S_R_STREAM:
    case S_CSUM:
    case S_XFER:
    case S_RECOV:
        /* The next request, sent early: keep it for when this one ends. */
        if (!s->stash_body && is_request(h->type)) {
            s->stash_h = *h;
            s->stash_body = xmalloc(h->len ? h->len : 1);
            memcpy(s->stash_body, body, h->len);
            sess_pause_up(s);
        } else {
            LOG_WARN("closing connection from %s: unexpected message 0x%x during a %s",
                     s->peer, h->type, s->state == S_CSUM ? "checksum"
                     : s->state == S_XFER ? "transfer" : s->state == S_RECOV ? "recovery"
                     : "read");
            rc = -1;
        }
        break;
    case S_W_SETUP:
        LOG_WARN("closing connection from %s: message 0x%x before the pipeline is ready",
                 s->peer, h->type);
        w_fail(s, 0);
        break;
    case S_W_FAILED:
        rc = h->type == DFS_MSG_PACKET ? 0 : -1;   /* discard the rest of the stream */
        break;
    case S_CLOSED:
        rc = -1;
        break;
    }
    sess_unref(s);
    return rc;
}

static void up_on_drained(struct dfs_conn *c)
{
    struct sess *s = dfs_conn_arg(c);
    sess_ref(s);
    if (s->state == S_R_STREAM)
        rs_pump(s);
    else if (s->state == S_W_STREAM)
        w_flow(s);
    sess_unref(s);
}

static void up_on_close(struct dfs_conn *c)
{
    struct sess *s = dfs_conn_arg(c);
    struct dn_dataserv *ds = s->ds;
    if (s->prev)
        s->prev->next = s->next;
    else
        ds->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;

    if (is_write_state(s->state) && !s->last_seen)
        LOG_WARN("connection from %s lost while writing blk_%llu; parking the replica",
                 s->peer, (unsigned long long)s->blk_id);
    sess_set_state(s, S_CLOSED);
    s->up = NULL;
    dfs_listener_closed(ds->listener);
    evtimer_del(s->timer);
    if (s->retry_ev)
        evtimer_del(s->retry_ev);
    if (s->down) {
        struct dfs_conn *d = s->down;
        s->down = NULL;
        dfs_conn_abort(d);
    }
    w_release_writer(s, s->w);
    s->w = NULL;
    sess_unref(s);                      /* the upstream's reference */
}

static const struct dfs_conn_ops up_ops = {
    .on_frame = up_on_frame,
    .on_drained = up_on_drained,
    .on_close = up_on_close,
};

/* ============================================================ listener */

/* 1 when the peer of connection fd has the address fd was accepted at:
 * a client on this datanode's host (its own address, as registered; on
 * a wildcard listener, the address the client reached us at). */
static int peer_is_local(evutil_socket_t fd)
{
    struct sockaddr_storage me, peer;
    socklen_t ml = sizeof(me), pl = sizeof(peer);
    if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &pl) != 0 || me.ss_family != peer.ss_family)
        return 0;
    if (me.ss_family == AF_INET)
        return ((struct sockaddr_in *)&me)->sin_addr.s_addr ==
               ((struct sockaddr_in *)&peer)->sin_addr.s_addr;
    if (me.ss_family == AF_INET6)
        return memcmp(&((struct sockaddr_in6 *)&me)->sin6_addr,
                      &((struct sockaddr_in6 *)&peer)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return 0;
}

static void accept_cb(evutil_socket_t fd, void *arg)
{
    struct dn_dataserv *ds = arg;
    struct sess *s = xcalloc(1, sizeof(*s));
    s->ds = ds;
    s->refs = 1;
    s->state = S_IDLE;
    s->rep.data_fd = s->rep.meta_fd = -1;
    s->peer_local = peer_is_local(fd);
    s->up = dfs_conn_accept(ds->base, fd, &up_ops, s, DFS_FRAME_MAX_PACKET);
    if (!s->up) {
        LOG_ERROR("cannot set up a connection: out of memory");
        dfs_listener_closed(ds->listener);
        free(s);
        return;
    }
    s->strand = iop_strand_new(ds->iop);
    s->timer = evtimer_new(ds->base, timer_cb, s);
    if (!s->timer)
        xmalloc_oom();
    snprintf(s->peer, sizeof(s->peer), "%s", dfs_conn_peer(s->up));
    dfs_conn_set_drain_watermark(s->up, ds->max_buffer / 2);
    sess_arm_timer(s, IDLE_TIMEOUT_MS);
    s->next = ds->sessions;
    if (ds->sessions)
        ds->sessions->prev = s;
    ds->sessions = s;
}

struct dn_dataserv *dn_dataserv_new(struct event_base *base, const struct dn_dataserv_cfg *cfg,
                                    char *err, size_t errsz)
{
    struct dn_dataserv *ds = xcalloc(1, sizeof(*ds));
    ds->base = base;
    ds->bs = cfg->bs;
    ds->dispatch = dispatch_request;
    ds->preempt = ws_preempt;
    ds->iop = cfg->iop;
    ds->max_buffer = cfg->max_buffer;
    ds->ack_timeout_ms = cfg->ack_timeout_ms ? cfg->ack_timeout_ms : ACK_TIMEOUT_MS;
    const struct dfs_listener_cfg lc = {
        .key = "datanode.address",
        .address = cfg->address,
        .max_conns = cfg->max_conns,
        .fds_per_conn = 4,            /* itself, downstream, data, meta */
        .reserve = DN_FD_RESERVE,
        .on_accept = accept_cb,
        .arg = ds,
    };
    ds->listener = dfs_listener_new(base, &lc, err, errsz);
    if (!ds->listener) {
        free(ds);
        return NULL;
    }
    return ds;
}

void dn_dataserv_free(struct dn_dataserv *ds)
{
    if (!ds)
        return;
    ds->report = NULL;
    while (ds->sessions)
        dfs_conn_abort(ds->sessions->up);    /* on_close unlinks it */
    dfs_listener_free(ds->listener);
    ds->listener = NULL;
    iop_drain(ds->iop);                      /* sessions go with their last job */
    free(ds);
}

const char *dn_dataserv_host(const struct dn_dataserv *ds)
{
    return dfs_listener_host(ds->listener);
}

unsigned dn_dataserv_port(const struct dn_dataserv *ds)
{
    return dfs_listener_port(ds->listener);
}

void dn_dataserv_set_reporter(struct dn_dataserv *ds, dn_block_added_fn fn, void *arg)
{
    ds->report = fn;
    ds->report_arg = arg;
}

unsigned dn_dataserv_load(const struct dn_dataserv *ds)
{
    return __atomic_load_n(&ds->load, __ATOMIC_RELAXED);
}

uint64_t dn_dataserv_fsyncs(const struct dn_dataserv *ds)
{
    return __atomic_load_n(&ds->fsyncs, __ATOMIC_RELAXED);
}

void dn_dataserv_bytes_read(const struct dn_dataserv *ds, uint64_t *local, uint64_t *remote)
{
    *local = __atomic_load_n(&ds->read_local, __ATOMIC_RELAXED);
    *remote = __atomic_load_n(&ds->read_remote, __ATOMIC_RELAXED);
}
