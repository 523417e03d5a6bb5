/*
 * dn_rbwserv.c - the transfer server's requests about replicas being
 * written (dn_dataserv.h): REPLICA_INFO (visible length, answered at
 * once from the store's map), TRANSFER (stream the stable prefix of the
 * replica being written here to a replacement datanode: dn_copy_transfer
 * on the session's io strand), and the two steps of block recovery,
 * INIT_RECOVERY (stop any writer of the block, describe the replica) and
 * FINISH_RECOVERY (cut, re-stamp and finalize it, report it to the
 * namenode through the server's reporter).  Both recovery steps preempt
 * the block's write sessions first and poll (sess_retry_later) until the
 * replica has been parked.  Event loop thread, except the job bodies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dn_copy.h"
#include "dn_dataserv_i.h"
#include "error_i.h"
#include "log.h"

static int status_of(int rc)
{
    if (rc == -ENOENT)
        return DFS_ERR_NOENT;
    if (rc == -ESTALE)
        return DFS_ERR_STALE;
    if (rc == -EBUSY)
        return DFS_ERR_BUSY;
    return dfs_err_from_errno(-rc);
}

/* ============================================================ replica info */

int rbs_replica_info(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    Dfs__ReplicaInfoReq *req = dfs__replica_info_req__unpack(NULL, h->len, body);
    if (!req) {
        LOG_WARN("closing connection from %s: malformed ReplicaInfoReq", s->peer);
        return -1;
    }
    uint64_t id = req->block->id, gs = req->block->genstamp;
    dfs__replica_info_req__free_unpacked(req, NULL);

    Dfs__ReplicaInfoResp r = DFS__REPLICA_INFO_RESP__INIT;
    char msg[ERRLEN];
    struct bs_rinfo ri;
    if (bs_replica_info(s->ds->bs, id, &ri) < 0) {
        r.status = DFS__STATUS__ERR_NOENT;
        snprintf(msg, sizeof(msg), "replica blk_%llu not found", (unsigned long long)id);
        r.error = msg;
    } else if (ri.gs != gs) {
        r.status = DFS__STATUS__ERR_STALE;
        snprintf(msg, sizeof(msg), "replica blk_%llu has generation stamp %llu, not %llu",
                 (unsigned long long)id, (unsigned long long)ri.gs, (unsigned long long)gs);
        r.error = msg;
        r.has_genstamp = 1;
        r.genstamp = ri.gs;
    } else {
        r.status = DFS__STATUS__OK;
        r.has_visible_length = r.has_genstamp = r.has_finalized = 1;
        r.visible_length = ri.visible;
        r.genstamp = ri.gs;
        r.finalized = ri.state == BS_FINALIZED;
    }
    dfs_conn_send_msg(s->up, DFS_MSG_REPLICA_INFO_RESP, h->reqid, &r.base);
    return 0;
}

/* ============================================================ transfer */

static void run_xfer(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    Dfs__TransferBlockReq *req = j->req;
    struct dn_copy_opts o = {
        .timeout_ms = (int)(j->s->ds->ack_timeout_ms + STEP_MS * (req->n_targets - 1)),
    };
    enum dn_copy_result r = dn_copy_transfer(j->s->ds->bs, j->blk_id, j->blk_gs, j->length,
                                             req->targets, req->n_targets, &o, j->err,
                                             sizeof(j->err));
    switch (r) {
    case DN_COPY_OK:
        j->status = DFS_OK;
        break;
    case DN_COPY_SKIPPED:
        j->status = strstr(j->err, "stale") ? DFS_ERR_STALE
                  : strstr(j->err, "not found") ? DFS_ERR_NOENT : DFS_ERR_INVAL;
        break;
    case DN_COPY_CORRUPT:
        j->status = DFS_ERR_CORRUPT;
        break;
    case DN_COPY_STOPPED:
        j->status = DFS_ERR_UNAVAIL;
        break;
    default:
        j->status = DFS_ERR_IO;
        break;
    }
}

static void done_xfer(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct sess *s = j->s;
    dfs__transfer_block_req__free_unpacked(j->req, NULL);
    j->req = NULL;
    if (sess_job_live(j, S_XFER)) {
        sess_reply_status(s, DFS_MSG_TRANSFER_REQ, s->reqid, j->status, j->err);
        sess_go_idle(s);
    }
    sess_job_free(j);
}

int rbs_transfer(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    Dfs__TransferBlockReq *req = dfs__transfer_block_req__unpack(NULL, h->len, body);
    if (!req) {
        LOG_WARN("closing connection from %s: malformed TransferBlockReq", s->peer);
        return -1;
    }
    const char *bad = NULL;
    if (req->n_targets == 0)
        bad = "transfer without a target";
    else if (req->n_targets > MAX_TARGETS)
        bad = "too many targets";
    else if (!req->block->has_length)
        bad = "transfer without a length";
    if (bad) {
        sess_reply_status(s, h->type, h->reqid, DFS_ERR_INVAL, bad);
        dfs__transfer_block_req__free_unpacked(req, NULL);
        return 0;
    }
    s->gen++;
    s->reqid = h->reqid;
    s->blk_id = req->block->id;
    s->blk_gs = req->block->genstamp;
    sess_set_state(s, S_XFER);
    struct djob *j = sess_job_new(s, J_XFER, run_xfer, done_xfer);
    j->length = req->block->length;
    j->req = req;
    sess_job_submit(s, j);
    return 0;
}

/* ============================================================ recovery */

static void run_init(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct bs_rinfo ri;
    if (bs_replica_info(j->s->ds->bs, j->blk_id, &ri) < 0) {
        j->status = DFS_ERR_NOENT;
        snprintf(j->err, sizeof(j->err), "replica blk_%llu not found",
                 (unsigned long long)j->blk_id);
    } else if (ri.gs > j->blk_gs) {
        j->status = DFS_ERR_STALE;
        snprintf(j->err, sizeof(j->err), "replica blk_%llu has generation stamp %llu, above "
                 "the recovery's %llu", (unsigned long long)j->blk_id,
                 (unsigned long long)ri.gs, (unsigned long long)j->blk_gs);
    } else if (ri.state == BS_RBW_WRITING) {
        j->status = DFS_ERR_BUSY;
        snprintf(j->err, sizeof(j->err), "replica blk_%llu is still being written",
                 (unsigned long long)j->blk_id);
    } else {
        j->status = DFS_OK;
        j->length = ri.visible;          /* parked: its verified length */
        j->old_gs = ri.gs;
        j->finalized = ri.state == BS_FINALIZED;
    }
}

static void run_finish(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    int rc = bs_recover_finalize(j->s->ds->bs, j->blk_id, j->blk_gs, j->length, j->err,
                                 sizeof(j->err));
    j->status = rc == 0 ? DFS_OK : status_of(rc);
}

static void submit_recovery(struct sess *s);

static void done_recovery(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct sess *s = j->s;
    struct dn_dataserv *ds = s->ds;
    int init = j->ij.run == run_init;

    if (!init && j->status == DFS_OK) {
        LOG_INFO("blk_%llu recovered: finalized with %llu bytes under generation stamp %llu",
                 (unsigned long long)j->blk_id, (unsigned long long)j->length,
                 (unsigned long long)j->blk_gs);
        /* unless its data dir failed since (the store reported it lost) */
        uint64_t gs;
        if (ds->report && bs_lookup(ds->bs, j->blk_id, &gs, NULL) && gs == j->blk_gs)
            ds->report(ds->report_arg, j->blk_id, j->blk_gs, j->length);
    }
    if (!sess_job_live(j, S_RECOV)) {
        sess_job_free(j);
        return;
    }
    if (j->status == DFS_ERR_BUSY && sess_retry_later(s)) {
        sess_job_free(j);                    /* a preempted writer is parking it */
        return;
    }
    if (j->status != DFS_OK)
        LOG_INFO("%s of blk_%llu for %s: %s", init ? "recovery init" : "recovery finish",
                 (unsigned long long)j->blk_id, s->peer, j->err);
    if (init) {
        Dfs__InitRecoveryResp r = DFS__INIT_RECOVERY_RESP__INIT;
        r.status = (Dfs__Status)j->status;
        r.error = j->status != DFS_OK && j->err[0] ? j->err : NULL;
        if (j->status == DFS_OK) {
            r.has_length = r.has_genstamp = r.has_finalized = 1;
            r.length = j->length;
            r.genstamp = j->old_gs;
            r.finalized = j->finalized != 0;
        }
        dfs_conn_send_msg(s->up, DFS_MSG_INIT_RECOVERY_RESP, s->reqid, &r.base);
    } else {
        sess_reply_status(s, DFS_MSG_FINISH_RECOVERY_REQ, s->reqid, j->status, j->err);
    }
    sess_go_idle(s);
    sess_job_free(j);
}

static void submit_recovery(struct sess *s)
{
    if (s->state != S_RECOV)
        return;
    struct djob *j = sess_job_new(s, J_RECOV, s->recov_finish ? run_finish : run_init, done_recovery);
    j->length = s->stage_len;
    sess_job_submit(s, j);
}

/* Both steps: preempt the block's writers, then run the step (finish:
 * with the length to cut to). */
static int recovery_req(struct sess *s, const struct dfs_frame_hdr *h, uint64_t id,
                        uint64_t gs, int finish, uint64_t len)
{
    s->gen++;
    s->reqid = h->reqid;
    s->blk_id = id;
    s->blk_gs = gs;
    s->recov_finish = finish;
    s->stage_len = len;
    sess_set_state(s, S_RECOV);
    unsigned n = s->ds->preempt(s->ds, id, gs, s);
    LOG_INFO("%s of blk_%llu (recovery generation stamp %llu%s) from %s%s",
             finish ? "recovery finish" : "recovery init", (unsigned long long)id,
             (unsigned long long)gs, finish ? ", length" : "", s->peer,
             n ? "; its writer stopped" : "");
    if (finish)
        LOG_DEBUG("recovery finish of blk_%llu: %llu bytes", (unsigned long long)id,
                  (unsigned long long)len);
    sess_retry_start(s, submit_recovery);
    return 0;
}

int rbs_init_recovery(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    Dfs__InitRecoveryReq *req = dfs__init_recovery_req__unpack(NULL, h->len, body);
    if (!req) {
        LOG_WARN("closing connection from %s: malformed InitRecoveryReq", s->peer);
        return -1;
    }
    uint64_t id = req->block->id, gs = req->block->genstamp;
    dfs__init_recovery_req__free_unpacked(req, NULL);
    return recovery_req(s, h, id, gs, 0, 0);
}

int rbs_finish_recovery(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    Dfs__FinishRecoveryReq *req = dfs__finish_recovery_req__unpack(NULL, h->len, body);
    if (!req) {
        LOG_WARN("closing connection from %s: malformed FinishRecoveryReq", s->peer);
        return -1;
    }
    uint64_t id = req->block->id, gs = req->block->genstamp;
    int has_len = req->block->has_length;
    uint64_t len = req->block->length;
    dfs__finish_recovery_req__free_unpacked(req, NULL);
    if (!has_len) {
        sess_reply_status(s, h->type, h->reqid, DFS_ERR_INVAL, "recovery finish without a length");
        return 0;
    }
    return recovery_req(s, h, id, gs, 1, len);
}
