/*
 * dn_dataserv_i.h - private to the transfer server: the session (one
 * connection's state machine), its disk jobs and the helpers that
 * dn_dataserv.c (set-up, write pipeline, dispatch), dn_readserv.c
 * (READBLOCK, CHECKSUM) and dn_rbwserv.c (REPLICA_INFO, TRANSFER,
 * INIT_RECOVERY, FINISH_RECOVERY) share.
 */
#ifndef DN_DATASERV_I_H
#define DN_DATASERV_I_H

#include <stdint.h>
#include <event2/event.h>
#include "blockstore.h"
#include "conn.h"
#include "dfs.pb-c.h"
#include "dn_dataserv.h"
#include "frame.h"
#include "iopool.h"
#include "listener.h"

#define MAX_TARGETS      15             /* downstream datanodes of one pipeline */
#define ACKQ_MAX         8192           /* unacked packets of one stream */
#define DOWN_MAX_BODY    (1u << 20)     /* acks and set-up answers */
#define READ_PKT_DATA    (512u << 10)   /* data bytes per read packet */
#define READ_MAX_JOBS    8              /* read-ahead packets per stream */
#define SETUP_TIMEOUT_MS 10000          /* + SETUP/ACK_STEP_MS per downstream node */
#define ACK_TIMEOUT_MS   15000          /* default of datanode.ack_timeout_ms */
#define STEP_MS          5000
#define PREEMPT_WAIT_MS  5000           /* wait for a preempted writer to park */
#define PREEMPT_POLL_MS  50
#define LINGER_MS        30000          /* W_FAILED: wait for the upstream to close */
#define DN_FD_RESERVE    256            /* descriptors kept beside connections */
#define IDLE_TIMEOUT_MS  600000         /* IDLE: close a connection unused this long */
#define CSUM_BUF         (1u << 20)
#define ERRLEN           256

enum sess_state {
    S_IDLE, S_W_SETUP, S_W_STREAM, S_W_FAILED, S_R_OPEN, S_R_STREAM, S_CSUM, S_XFER, S_RECOV,
    S_CLOSED
};

struct sess;

/* An open replica shared by the read stream and the file segments queued
 * on its connection (sendfile). */
struct rrep {
    int refs;
    struct bs_replica rep;
};

static inline void rrep_unref(void *arg)
{
    struct rrep *r = arg;
    if (--r->refs == 0) {
        bs_close_replica(&r->rep);
        free(r);
    }
}

struct dn_dataserv {
    struct event_base *base;
    struct bs *bs;
    struct iop *iop;
    struct dfs_listener *listener;
    size_t max_buffer;
    struct sess *sessions;          /* sessions whose upstream is open */
    unsigned load;                  /* atomic: active transfers */
    dn_block_added_fn report;
    void *report_arg;
    uint32_t ack_timeout_ms;        /* datanode.ack_timeout_ms */
    uint64_t fsyncs;                /* atomic: fsyncs done for DFS_PKT_SYNC */
    uint64_t read_local;            /* atomic: READBLOCK data bytes sent to a peer */
    uint64_t read_remote;           /* at our own address / at any other */
    /* Runs one request frame on an idle session (dn_dataserv.c); 0, or -1
     * to close the connection.  A pointer, so the session core calls
     * back without depending on the server. */
    int (*dispatch)(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body);
    /* ws_preempt of dn_dataserv.c, for the handlers of dn_rbwserv.c
     * (which the server calls): a pointer, for the same reason. */
    unsigned (*preempt)(struct dn_dataserv *ds, uint64_t id, uint64_t gs,
                        const struct sess *except);
};

/* One received packet body, shared by the downstream output (by reference)
 * and the disk job.  Loop thread only (refs). */
struct pkt {
    int refs;
    uint32_t len;
    uint8_t body[];
};

/* A packet waiting for its ack. */
struct ackent {
    uint64_t seq;
    uint64_t end;                   /* offset + length of its data */
    uint32_t reqid;
    uint32_t flags;
    uint8_t local_done, down_done;
    uint8_t ndown;                  /* downstream statuses known */
    uint8_t own;
    uint8_t down[MAX_TARGETS];
};

struct sess {
    struct dn_dataserv *ds;
    struct dfs_conn *up;
    struct dfs_conn *down;
    struct iop_strand *strand;
    struct event *timer;
    struct event *retry_ev;         /* polls for a preempted writer to park */
    void (*retry)(struct sess *s);  /* what retry_ev runs again */
    uint64_t retry_until_ms;
    enum sess_state state;
    int refs;
    uint64_t gen;                   /* current request; older jobs are stale */
    int paused;                     /* we paused reading upstream */
    struct sess *prev, *next;
    char peer[64];
    int peer_local;                 /* the peer's address is ours (same host) */

    /* current request */
    uint32_t reqid;
    uint64_t blk_id, blk_gs;

    /* write */
    int stage;                      /* Dfs__WriteStage */
    uint64_t stage_len, old_gs;     /* WriteBlockReq.length, old_genstamp */
    uint64_t acked_len;             /* highest end of a packet acked upstream */
    uint32_t chunk;
    unsigned ntargets;
    struct bs_writer *w;            /* until handed to the LAST or abort job */
    int local_done, local_status;
    int down_done, down_status, down_bad;
    int down_connected;
    char local_err[ERRLEN], down_err[ERRLEN];
    int down_dead;                  /* downstream lost while streaming */
    uint64_t next_seq, recv_len, disk_len;
    int last_seen;
    int last_abandoned;             /* atomic: failed after LAST came: park */
    size_t disk_queued;             /* data bytes queued to the io pool */
    struct ackent *aq;              /* ring of unacked packets */
    size_t aq_cap, aq_head, aq_count;
    size_t aq_ndown;                /* prefix of aq whose downstream ack is in */
    uint64_t down_progress_ms;      /* last downstream ack (ack timeout) */
    uint32_t ack_timeout_ms;
    int wk_err;                     /* io threads only: first failure of this replica */
    int fail_logged;

    /* recovery */
    int recov_finish;               /* FINISH_RECOVERY (else INIT_RECOVERY) */

    /* read */
    struct bs_replica rep;
    int rep_open;
    struct rrep *rr;                /* rep, shared with file segments in flight */
    uint64_t r_off, r_len;          /* as requested */
    uint64_t r_next, r_end, r_seq;
    size_t r_inflight;
    unsigned r_jobs;
    int r_last_submitted;

    /* a request that arrived while a read or checksum was running */
    struct dfs_frame_hdr stash_h;
    uint8_t *stash_body;
};

enum job_kind { J_CREATE, J_WRITE, J_RELEASE, J_RD_OPEN, J_RD_FILL, J_CSUM, J_XFER, J_RECOV };

struct djob {
    struct iop_job ij;              /* first: the pool hands this back */
    struct sess *s;
    uint64_t gen;
    uint64_t blk_id, blk_gs;        /* the request's block */
    enum job_kind kind;
    int status;                     /* DFS_OK or DFS_ERR_* */
    char err[ERRLEN];
    struct bs_writer *w;
    struct pkt *pkt;
    uint64_t off, seq, final_len;
    uint32_t len, flags, chunk, nsums;
    int stage;                      /* write: Dfs__WriteStage */
    uint64_t old_gs, length;        /* WS_RECOVER/WS_APPEND; recovery: length */
    int finalized;                  /* recovery: the replica is finalized */
    void *req;                      /* transfer: the unpacked request (owned) */
    /* recovery */
    int recov_finish;               /* FINISH_RECOVERY (else INIT_RECOVERY) */

    /* read */
    struct bs_replica rep;
    uint8_t *buf;
    size_t buflen;
    /* checksum */
    uint64_t c_len, c_gs;
    int c_finalized, c_have_digest;
    uint8_t digest[32];
    uint32_t c_crc32;               /* zlib CRC-32 of the same bytes */
};


/* The session core (dn_session.c), shared by the write pipeline and the
 * read handlers. */
/* The one place a session changes state: traces it and keeps ds->load. */
void sess_set_state(struct sess *s, enum sess_state st);
/* References: the upstream, the downstream and every job hold one; the
 * last unref frees the session. */
void sess_ref(struct sess *s);
void sess_unref(struct sess *s);
/* A disk job of the session's current request (holds a reference), run on
 * the session's io strand by sess_job_submit; sess_job_free releases it;
 * sess_job_live says whether its request is still current and in st. */
struct djob *sess_job_new(struct sess *s, enum job_kind kind, void (*run)(struct iop_job *),
                          void (*done)(struct iop_job *));
void sess_job_submit(struct sess *s, struct djob *j);
void sess_job_free(struct djob *j);
int sess_job_live(const struct djob *j, enum sess_state st);
/* Answer request (type, reqid) with only a status and error. */
void sess_reply_status(struct sess *s, uint16_t type, uint32_t reqid, int status,
                       const char *error);
/* Stop / resume reading the upstream connection. */
void sess_pause_up(struct sess *s);
void sess_resume_up(struct sess *s);
/* (Re)arm the session's timer to fire in ms. */
void sess_arm_timer(struct sess *s, uint32_t ms);
/* Back to IDLE; a request stashed meanwhile runs through ds->dispatch. */
void sess_go_idle(struct sess *s);

/* Run s->retry again in PREEMPT_POLL_MS when the deadline set by
 * sess_retry_start has not passed: 1 armed, 0 too late. */
void sess_retry_start(struct sess *s, void (*fn)(struct sess *s));
int sess_retry_later(struct sess *s);

/* ds->preempt (dn_dataserv.c's ws_preempt): fail every write session of
 * block `id` with a generation stamp <= gs but `except` (pipeline or block
 * recovery takes the replica over): its replica is parked by a job on its
 * strand; poll the store until it is.  A session with a newer generation
 * stamp is left alone (the request is the stale one).  Returns the
 * sessions failed. */

/* Request handlers of dn_rbwserv.c: 0, or -1 to close the connection. */
int rbs_replica_info(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body);
int rbs_transfer(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body);
int rbs_init_recovery(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body);
int rbs_finish_recovery(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body);

/* Request handlers of dn_readserv.c: 0, or -1 to close the connection. */
int rs_read(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body);
int rs_checksum(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body);
/* Queue more read packets while the output is below its watermark. */
void rs_pump(struct sess *s);

#endif
