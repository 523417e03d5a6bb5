/*
 * dn_session.c - the core of a transfer session, shared by the write
 * pipeline (dn_dataserv.c) and the read handlers (dn_readserv.c): the one
 * set_state, references, disk jobs bound to the session's current request,
 * status replies, flow control of the upstream connection, the timer, and
 * the return to IDLE (which runs a request that arrived meanwhile through
 * the server's dispatch function).  Event loop thread only, as the
 * session itself (dn_dataserv_i.h).
 */
#include <stdlib.h>

#include "clock.h"
#include "dfs.pb-c.h"
#include "iopool.h"
#include "log.h"
#include "xmalloc.h"

#include "dn_dataserv_i.h"

/* --------------------------------------------------------- the session */

static const char *state_name(enum sess_state st)
{
    switch (st) {
    case S_IDLE:     return "idle";
    case S_W_SETUP:  return "w_setup";
    case S_W_STREAM: return "w_stream";
    case S_W_FAILED: return "w_failed";
    case S_R_OPEN:   return "r_open";
    case S_R_STREAM: return "r_stream";
    case S_CSUM:     return "csum";
    case S_XFER:     return "xfer";
    case S_RECOV:    return "recov";
    case S_CLOSED:   return "closed";
    }
    return "?";
}

static int state_active(enum sess_state st)
{
    return st == S_W_SETUP || st == S_W_STREAM || st == S_R_OPEN || st == S_R_STREAM ||
           st == S_CSUM || st == S_XFER || st == S_RECOV;
}

/* The one place a session changes state: traces it and keeps `load`. */
void sess_set_state(struct sess *s, enum sess_state st)
{
    if (s->state == st)
        return;
    LOG_DEBUG("session %s: %s -> %s", s->peer, state_name(s->state), state_name(st));
    int was = state_active(s->state), is = state_active(st);
    if (!was && is)
        __atomic_add_fetch(&s->ds->load, 1, __ATOMIC_RELAXED);
    else if (was && !is)
        __atomic_sub_fetch(&s->ds->load, 1, __ATOMIC_RELAXED);
    s->state = st;
}

void sess_ref(struct sess *s)
{
    s->refs++;
}

void sess_unref(struct sess *s)
{
    if (--s->refs > 0)
        return;
    iop_strand_free(s->strand);
    event_free(s->timer);
    if (s->retry_ev)
        event_free(s->retry_ev);
    if (s->rep_open)
        rrep_unref(s->rr);
    free(s->aq);
    free(s->stash_body);
    free(s);
}

struct djob *sess_job_new(struct sess *s, enum job_kind kind,
                     void (*run)(struct iop_job *), void (*done)(struct iop_job *))
{
    struct djob *j = xcalloc(1, sizeof(*j));
    j->ij.run = run;
    j->ij.done = done;
    j->s = s;
    j->gen = s->gen;
    j->blk_id = s->blk_id;
    j->blk_gs = s->blk_gs;
    j->kind = kind;
    j->rep.data_fd = j->rep.meta_fd = -1;
    sess_ref(s);
    return j;
}

void sess_job_submit(struct sess *s, struct djob *j)
{
    iop_submit(s->strand, &j->ij);
}

/* Release a finished job and its session reference. */
void sess_job_free(struct djob *j)
{
    struct sess *s = j->s;
    free(j->buf);
    free(j);
    sess_unref(s);
}

/* The job belongs to the session's current request and `st` is current. */
int sess_job_live(const struct djob *j, enum sess_state st)
{
    return j->gen == j->s->gen && j->s->state == st;
}


/* Answer any request with a status: every response starts with status (1)
 * and error (2), so one message type encodes them all. */
void sess_reply_status(struct sess *s, uint16_t type, uint32_t reqid, int status,
                  const char *error)
{
    Dfs__CopyBlockResp r = DFS__COPY_BLOCK_RESP__INIT;
    r.status = (Dfs__Status)status;
    r.error = status != DFS_OK && error && *error ? (char *)error : NULL;
    if (s->up)
        dfs_conn_send_msg(s->up, (uint16_t)(type | 1), reqid, &r.base);
}

void sess_pause_up(struct sess *s)
{
    if (!s->paused && s->up) {
        dfs_conn_pause(s->up);
        s->paused = 1;
    }
}

void sess_resume_up(struct sess *s)
{
    if (s->paused && s->up) {
        dfs_conn_resume(s->up);
        s->paused = 0;
    }
}

void sess_arm_timer(struct sess *s, uint32_t ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    evtimer_add(s->timer, &tv);
}

/* Back to IDLE; run a request that arrived meanwhile. */
void sess_go_idle(struct sess *s)
{
    sess_set_state(s, S_IDLE);
    sess_arm_timer(s, IDLE_TIMEOUT_MS);
    if (s->stash_body) {
        struct dfs_frame_hdr h = s->stash_h;
        uint8_t *body = s->stash_body;
        s->stash_body = NULL;
        int rc = s->ds->dispatch(s, &h, body);
        free(body);
        if (rc < 0 && s->up) {
            dfs_conn_close(s->up);
            return;
        }
    }
    if (s->state == S_IDLE || s->state == S_R_OPEN || s->state == S_CSUM ||
        s->state == S_XFER || s->state == S_RECOV)
        sess_resume_up(s);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct sess *s = arg;
    sess_ref(s);
    if (s->retry && s->up)
        s->retry(s);
    sess_unref(s);
}

void sess_retry_start(struct sess *s, void (*fn)(struct sess *s))
{
    if (!s->retry_ev && !(s->retry_ev = evtimer_new(s->ds->base, retry_cb, s)))
        xmalloc_oom();
    s->retry = fn;
    s->retry_until_ms = dfs_mono_ms() + PREEMPT_WAIT_MS;
    fn(s);
}

int sess_retry_later(struct sess *s)
{
    if (dfs_mono_ms() >= s->retry_until_ms)
        return 0;
    struct timeval tv = { 0, PREEMPT_POLL_MS * 1000 };
    evtimer_add(s->retry_ev, &tv);
    return 1;
}

/* ============================================================ writing */

