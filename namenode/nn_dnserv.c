/*
 * nn_dnserv.c - namenode <-> datanodes: registration, heartbeats, block
 * reports.
 *
 * Datanodes register (storage id, address, space, full block report),
 * heartbeat (space, load; the answer carries commands: register again,
 * copy replicas to other datanodes (replmon.h), delete replicas) and send
 * block reports (full, or incremental right after a replica was added or
 * removed).  What a report changes in the block map is passed on to the
 * replication monitor by the block map itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "clock.h"
#include "dfs.pb-c.h"
#include "dnmanager.h"
#include "log.h"
#include "nn.h"
#include "nn_monitor.h"
#include "nn_recovery.h"
#include "nn_rpc.h"
#include "nn_wire.h"
#include "placement.h"
#include "replmon.h"
#include "safemode.h"
#include "xmalloc.h"

/* Deletions handed to one datanode per heartbeat answer. */
#define DELETES_PER_HEARTBEAT 1000
/* Block recoveries handed to one datanode per heartbeat answer. */
#define RECOVERIES_PER_HEARTBEAT 16

/* 1..max-1 bytes, none below `lowest` nor DEL. */
static int text_within(const char *s, size_t max, unsigned char lowest)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < lowest || s[i] == 0x7f)
            return 0;
    return 1;
}

/* A text field a datanode sends: 1..max-1 printable bytes, no space. */
static int valid_text(const char *s, size_t max)
{
    return text_within(s, max, 0x21);
}

/* A short-circuit socket path a datanode registers: absolute, shorter
 * than DM_SOCK_MAX, no control byte (spaces are fine). */
static int valid_socket_path(const char *s)
{
    return s[0] == '/' && text_within(s, DM_SOCK_MAX, 0x20);
}

static uint64_t remaining_of(uint64_t capacity, uint64_t used, int has, uint64_t remaining)
{
    if (has)
        return remaining;
    return capacity > used ? capacity - used : 0;
}

/* ------------------------------------------------------------ handlers */


/* Counts of what became of the replicas of one report. */
struct report_tally {
    size_t added, unknown, orphans, stale, bad_length, doomed, rbw;
};

/* A replica with a genstamp below its block's (the pipeline was recovered
 * or the file appended to since): of a complete block it is stale and
 * deleted (1: handled); of a block under construction it is a survivor
 * not bumped yet, kept as a location lease recovery asks (0, as every
 * other case of BM_STALE: the caller counts and logs it). */
static int stale_replica(struct nn *nn, struct dm_node *dn, const Dfs__BlockInfo *bi,
                         struct report_tally *t)
{
    const struct bm_block *b = bm_get(nn->bm, bi->id);
    if (b && !b->complete && bi->genstamp < b->genstamp) {
        /* A survivor not bumped yet: kept, and asked by lease recovery. */
        bm_pipeline_add(nn->bm, bi->id, dn->slot, 1);
        return 0;
    }
    if (!b || !b->complete || bi->genstamp >= b->genstamp)
        return 0;
    t->stale++;
    LOG_INFO("datanode %s reports blk_%" PRIu64 " with generation stamp %" PRIu64
             ", the block's is %" PRIu64 ": a stale replica, deleting it", dn->storage_id,
             bi->id, bi->genstamp, b->genstamp);
    dm_queue_delete(nn->dm, dn, bi->id, bi->genstamp, bi->length);
    return 1;
}

/* A replica being written (BlockInfo.rbw, full reports): of a block under
 * construction with its genstamp, dn is one of its expected locations
 * (after a restart, the only way to know them); with an older genstamp,
 * one flagged older (a survivor not bumped yet: lease recovery asks it,
 * readers are not sent there).  Of a complete block it is left
 * over and deleted -- but with the block's genstamp only once the block
 * has its good replicas elsewhere: the report may just have been sent
 * before that replica was finalized.  An unknown block is left to the
 * caller (orphans).  1 when handled. */
static int rbw_replica(struct nn *nn, struct dm_node *dn, const Dfs__BlockInfo *bi,
                       struct report_tally *t)
{
    const struct bm_block *b = bm_get(nn->bm, bi->id);
    if (!b)
        return 0;
    unsigned elsewhere = 0;
    for (unsigned i = 0; i < b->nreps; i++)
        elsewhere += !b->reps[i].corrupt && b->reps[i].dn != dn->slot;
    if (b->complete && (bi->genstamp != b->genstamp ||
                        elsewhere >= (b->expected ? b->expected : 1))) {
        t->stale++;
        LOG_INFO("datanode %s reports blk_%" PRIu64 " (generation stamp %" PRIu64 ") still "
                 "being written, but the block is complete: deleting it", dn->storage_id,
                 bi->id, bi->genstamp);
        dm_queue_delete(nn->dm, dn, bi->id, bi->genstamp, bi->length);
    } else if (!b->complete && bi->genstamp <= b->genstamp) {
        /* Older: a survivor not bumped yet, which lease recovery asks. */
        bm_pipeline_add(nn->bm, bi->id, dn->slot, bi->genstamp < b->genstamp);
        t->rbw++;
    } else {
        t->stale++;
    }
    return 1;
}

static void add_replica(struct nn *nn, struct dm_node *dn, const Dfs__BlockInfo *bi,
                        struct report_tally *t, int verbose)
{
    if (dm_is_doomed(dn, bi->id, bi->genstamp)) {
        /* Ordered deleted, not yet gone (the datanode may have restarted
         * before it got to it): not taken back; ordered again. */
        t->doomed++;
        dm_doomed_listed(dn, bi->id);
        dm_queue_delete(nn->dm, dn, bi->id, bi->genstamp, bi->length);
        return;
    }
    /* A replica newer than the one ordered deleted is another replica. */
    dm_delete_confirmed(dn, bi->id);
    if (bi->rbw && rbw_replica(nn, dn, bi, t))
        return;
    enum bm_report_rc rc = bm_add_replica(nn->bm, dn->slot, bi->id, bi->genstamp, bi->length);
    if (rc == BM_STALE && stale_replica(nn, dn, bi, t))
        return;
    if (rc == BM_ADDED && bi->corrupt)    /* the datanode found it bad (BlockInfo.corrupt) */
        bm_mark_corrupt(nn->bm, bi->id, bi->genstamp, dn->slot);
    switch (rc) {
    case BM_ADDED:
        t->added++;
        return;
    case BM_UNKNOWN:
        t->unknown++;
        /* An id this namespace handed out and no file has any more: the
         * file was deleted (or its write abandoned) before this replica
         * was reported, or while the datanode was away.  Have it deleted,
         * as HDFS invalidates such replicas; an id never handed out is
         * kept (it is no evidence of anything here). */
        if (bi->id < ns_next_block_id(nn->ns)) {
            t->orphans++;
            dm_queue_delete(nn->dm, dn, bi->id, bi->genstamp, bi->length);
        }
        break;
    case BM_STALE:
        t->stale++;
        break;
    case BM_BAD_LENGTH:
        t->bad_length++;
        break;
    }
    if (verbose || dfs_log_threshold >= DFS_LOG_DEBUG) {
        const struct bm_block *b = bm_get(nn->bm, bi->id);
        enum dfs_log_level lvl = verbose ? DFS_LOG_INFO : DFS_LOG_DEBUG;
        if (rc == BM_UNKNOWN)
            DFS_LOG(lvl, "datanode %s reports blk_%" PRIu64 " which no file has: %s",
                    dn->storage_id, bi->id,
                    bi->id < ns_next_block_id(nn->ns) ? "deleting it" : "ignored");
        else if (rc == BM_STALE)
            DFS_LOG(lvl, "datanode %s reports blk_%" PRIu64 " with generation stamp %" PRIu64
                    ", the block's is %" PRIu64 ": ignored", dn->storage_id, bi->id,
                    bi->genstamp, b->genstamp);
        else
            DFS_LOG(DFS_LOG_WARN, "datanode %s reports blk_%" PRIu64 " of %" PRIu64
                    " bytes, the block has %" PRIu64 ": replica marked corrupt",
                    dn->storage_id, bi->id, bi->length, b->length);
    }
}

/* A full report: dn's replicas become exactly those listed. */
static void full_report(struct nn *nn, struct dm_node *dn, Dfs__BlockInfo **blocks,
                        size_t n, const char *what, int begin, int end)
{
    struct report_tally t = { 0 };
    uint64_t t0 = dfs_mono_ms();
    size_t dropped = 0;
    if (begin) {
        bm_report_begin(nn->bm, dn->slot);
        dm_doomed_report_begin(dn);
    }
    for (size_t i = 0; i < n; i++)
        add_replica(nn, dn, blocks[i], &t, 0);
    if (end) {
        dropped = bm_report_end(nn->bm, dn->slot);
        dm_doomed_report_end(dn);
    }
    LOG_INFO("datanode %s at %s:%u (%s): %s of %zu replicas: %zu known, %zu being written, "
             "%zu unknown (%zu orphans to delete), %zu stale, %zu with a wrong length, "
             "%zu being deleted; %zu no longer listed (%" PRIu64 " ms)", dn->storage_id,
             dn->host, dn->port, dn->rack, what, n, t.added + t.bad_length, t.rbw, t.unknown,
             t.orphans, t.stale, t.bad_length, t.doomed, dropped, dfs_mono_ms() - t0);
}

static int h_register(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *m)
{
    Dfs__RegisterReq *req = (Dfs__RegisterReq *)m;
    const Dfs__DatanodeId *id = req->id;
    char hostbuf[DM_HOST_MAX];
    const char *host = id->host;

    if (!valid_text(id->storage_id, DM_ID_MAX)) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, "invalid storage id");
        return 0;
    }
    /* A datanode listening on every address is reached at the address it
     * connected from. */
    if (!host || !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        host = nn_client_host(NULL, c, hostbuf, sizeof(hostbuf));
    if (!valid_text(host, DM_HOST_MAX) || id->port == 0 || id->port > 65535) {
        nn_reply_statusf(nn, c, h, DFS_ERR_INVAL, "invalid transfer address %s:%u",
                      host ? host : "", id->port);
        return 0;
    }
    if (id->domain_socket && *id->domain_socket && !valid_socket_path(id->domain_socket)) {
        nn_reply_statusf(nn, c, h, DFS_ERR_INVAL, "invalid short-circuit socket path '%.200s'",
                         id->domain_socket);
        return 0;
    }
    const char *rack = pl_rack(nn->pl, host, id->port);
    struct dm_node *dn = dm_register(nn->dm, id->storage_id, host, id->port,
                                     id->has_http_port ? id->http_port : 0, rack,
                                     req->capacity, req->used,
                                     remaining_of(req->capacity, req->used, req->has_remaining,
                                                  req->remaining),
                                     dfs_mono_ms());
    dm_set_domain_socket(dn, id->domain_socket);
    full_report(nn, dn, req->blocks, req->n_blocks,
                req->more ? "registered with a report (first part)" : "registered with a report",
                1, !req->more);

    Dfs__RegisterResp r = DFS__REGISTER_RESP__INIT;
    r.cluster_id = (char *)ns_cluster_id(nn->ns);
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

/* A CMD_DELETE of dn's queued deletions (at most DELETES_PER_HEARTBEAT),
 * built in cmd with its arrays in bi; 0 when there is none. */
static int take_deletes(struct nn *nn, struct dm_node *dn, Dfs__DatanodeCommand *cmd,
                        Dfs__BlockInfo **bi, Dfs__BlockInfo ***bip)
{
    if (dn->ndeletes == 0)
        return 0;
    struct dm_block *del = xcalloc(DELETES_PER_HEARTBEAT, sizeof(*del));
    size_t k = dm_take_deletes(nn->dm, dn, del, DELETES_PER_HEARTBEAT);
    *bi = xcalloc(k, sizeof(**bi));
    *bip = xcalloc(k, sizeof(**bip));
    for (size_t i = 0; i < k; i++) {
        dfs__block_info__init(&(*bi)[i]);
        (*bi)[i].id = del[i].id;
        (*bi)[i].genstamp = del[i].genstamp;
        (*bi)[i].length = del[i].length;
        (*bip)[i] = &(*bi)[i];
    }
    free(del);
    LOG_DEBUG("datanode %s: %zu replicas to delete", dn->storage_id, k);
    cmd->type = DFS__COMMAND_TYPE__CMD_DELETE;
    cmd->n_blocks = k;
    cmd->blocks = *bip;
    return 1;
}

/* Copy commands of a heartbeat answer, with the storage they point to. */
struct copy_cmds {
    struct rm_copy copies[64];
    Dfs__DatanodeCommand cmds[64];
    Dfs__BlockInfo bi[64];
    Dfs__BlockInfo *bip[64];
    Dfs__DatanodeId ids[64][RM_MAX_TARGETS];
    Dfs__DatanodeId *idp[64][RM_MAX_TARGETS];
};

/* Fill cc with dn's queued copies; returns how many. */
static size_t take_copies(struct nn *nn, struct dm_node *dn, struct copy_cmds *cc)
{
    size_t k = rm_take_copies(nn->rm, dn->slot, cc->copies, 64);
    for (size_t i = 0; i < k; i++) {
        const struct rm_copy *cp = &cc->copies[i];
        Dfs__DatanodeCommand *cmd = &cc->cmds[i];
        dfs__datanode_command__init(cmd);
        dfs__block_info__init(&cc->bi[i]);
        cc->bi[i].id = cp->id;
        cc->bi[i].genstamp = cp->genstamp;
        cc->bi[i].length = cp->length;
        cc->bip[i] = &cc->bi[i];
        cmd->type = DFS__COMMAND_TYPE__CMD_REPLICATE;
        cmd->n_blocks = 1;
        cmd->blocks = &cc->bip[i];
        for (uint32_t t = 0; t < cp->ntargets; t++) {
            nn_dn_to_wire(dm_get(nn->dm, cp->targets[t]), &cc->ids[i][t]);
            cc->idp[i][t] = &cc->ids[i][t];
        }
        cmd->n_targets = cp->ntargets;
        cmd->targets = cc->idp[i];
    }
    if (k)
        LOG_DEBUG("datanode %s: %zu blocks to copy", dn->storage_id, k);
    return k;
}

/* Block recovery commands of a heartbeat answer, with their storage. */
struct recover_cmds {
    struct nn_recover_cmd rc[RECOVERIES_PER_HEARTBEAT];
    Dfs__DatanodeCommand cmds[RECOVERIES_PER_HEARTBEAT];
    Dfs__BlockInfo bi[RECOVERIES_PER_HEARTBEAT];
    Dfs__BlockInfo *bip[RECOVERIES_PER_HEARTBEAT];
    Dfs__DatanodeId ids[RECOVERIES_PER_HEARTBEAT][BM_PIPELINE_MAX];
    Dfs__DatanodeId *idp[RECOVERIES_PER_HEARTBEAT][BM_PIPELINE_MAX];
};

/* Fill rc with the CMD_RECOVERs for dn (nn_recovery.h); returns how many. */
static size_t take_recoveries(struct nn *nn, struct dm_node *dn, struct recover_cmds *rc)
{
    size_t k = nn_recovery_take(nn, dn->slot, rc->rc, RECOVERIES_PER_HEARTBEAT);
    for (size_t i = 0; i < k; i++) {
        const struct nn_recover_cmd *x = &rc->rc[i];
        Dfs__DatanodeCommand *cmd = &rc->cmds[i];
        dfs__datanode_command__init(cmd);
        dfs__block_info__init(&rc->bi[i]);
        rc->bi[i].id = x->id;
        rc->bi[i].genstamp = x->genstamp;
        rc->bip[i] = &rc->bi[i];
        cmd->type = DFS__COMMAND_TYPE__CMD_RECOVER;
        cmd->has_min_genstamp = x->min_genstamp != 0;
        cmd->min_genstamp = x->min_genstamp;
        cmd->n_blocks = 1;
        cmd->blocks = &rc->bip[i];
        size_t nt = 0;
        for (uint32_t t = 0; t < x->ntargets; t++) {
            const struct dm_node *tn = dm_get(nn->dm, x->targets[t]);
            if (!tn)
                continue;
            nn_dn_to_wire(tn, &rc->ids[i][nt]);
            rc->idp[i][nt] = &rc->ids[i][nt];
            nt++;
        }
        cmd->n_targets = nt;
        cmd->targets = rc->idp[i];
    }
    if (k)
        LOG_DEBUG("datanode %s: %zu blocks to recover", dn->storage_id, k);
    return k;
}

static int h_heartbeat(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *m)
{
    Dfs__HeartbeatReq *req = (Dfs__HeartbeatReq *)m;
    Dfs__HeartbeatResp r = DFS__HEARTBEAT_RESP__INIT;
    Dfs__DatanodeCommand del = DFS__DATANODE_COMMAND__INIT;
    Dfs__DatanodeCommand *cmds[65 + RECOVERIES_PER_HEARTBEAT];
    struct recover_cmds *rcs = NULL;
    Dfs__BlockInfo *bi = NULL, **bip = NULL;
    struct copy_cmds *cc = NULL;

    struct dm_node *dn = dm_heartbeat(nn->dm, req->storage_id ? req->storage_id : "",
                                      req->capacity, req->used,
                                      remaining_of(req->capacity, req->used,
                                                   req->has_remaining, req->remaining),
                                      req->has_load ? req->load : 0, dfs_mono_ms());
    r.commands = cmds;
    if (!dn) {
        LOG_INFO("heartbeat from unregistered datanode %s (%s): asking it to register",
                 req->storage_id, dfs_conn_peer(c));
        del.type = DFS__COMMAND_TYPE__CMD_REREGISTER;
        cmds[r.n_commands++] = &del;
    } else if (nn_may_delete(nn)) {
        /* In safe mode nothing is ordered: the queues wait. */
        if (take_deletes(nn, dn, &del, &bi, &bip))
            cmds[r.n_commands++] = &del;
        cc = xcalloc(1, sizeof(*cc));
        size_t k = take_copies(nn, dn, cc);
        for (size_t i = 0; i < k; i++)
            cmds[r.n_commands++] = &cc->cmds[i];
        rcs = xcalloc(1, sizeof(*rcs));
        k = take_recoveries(nn, dn, rcs);
        for (size_t i = 0; i < k; i++)
            cmds[r.n_commands++] = &rcs->cmds[i];
    }
    if (dn && req->has_fsyncs)
        dm_set_fsyncs(dn, req->fsyncs);
    if (dn)
        dm_set_bytes_read(dn, req->has_bytes_read_local ? &req->bytes_read_local : NULL,
                          req->has_bytes_read_remote ? &req->bytes_read_remote : NULL,
                          req->has_bytes_read_short_circuit
                          ? &req->bytes_read_short_circuit : NULL);
    nn_reply_msg(nn, c, h, &r.base);
    free(rcs);
    free(cc);
    free(bip);
    free(bi);
    return 0;
}

static int h_blockreport(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                          ProtobufCMessage *m)
{
    Dfs__BlockReportReq *req = (Dfs__BlockReportReq *)m;
    struct dm_node *dn = req->storage_id ? dm_find(nn->dm, req->storage_id) : NULL;

    if (!dn || dn->state == DM_DEAD) {
        nn_reply_statusf(nn, c, h, DFS_ERR_NOENT, "unknown datanode %s: register again",
                      req->storage_id);
        return 0;
    }
    if (req->full) {
        if (req->continued && !bm_reporting(nn->bm, dn->slot)) {
            nn_reply_statusf(nn, c, h, DFS_ERR_NOENT, "datanode %s: no block report in "
                             "progress to continue: register again", dn->storage_id);
            return 0;
        }
        full_report(nn, dn, req->added, req->n_added,
                    req->more ? "full report (part)" : req->continued ? "full report (last part)"
                    : "full report", !req->continued, !req->more);
    } else {
        struct report_tally t = { 0 };
        for (size_t i = 0; i < req->n_added; i++)
            add_replica(nn, dn, req->added[i], &t, 1);
        for (size_t i = 0; i < req->n_removed; i++) {
            const Dfs__BlockInfo *ri = req->removed[i];
            const struct bm_block *b = bm_get(nn->bm, ri->id);
            dm_delete_confirmed(dn, ri->id);
            /* The replicas in the map have their block's genstamp: the
             * removal of an older one (a stale or left-over replica)
             * leaves them be. */
            if (!b || ri->genstamp >= b->genstamp)
                bm_remove_replica(nn->bm, dn->slot, ri->id);
        }
        LOG_DEBUG("datanode %s: %zu replicas added, %zu removed", dn->storage_id,
                  req->n_added, req->n_removed);
    }
    nn_reply_status(nn, c, h, DFS_OK, NULL);
    return 0;
}

int nn_dnserv_init(struct nn *nn)
{
    (void)nn;
    nn_rpc_handle(DFS_MSG_REGISTER_REQ, &dfs__register_req__descriptor, h_register);
    nn_rpc_handle(DFS_MSG_HEARTBEAT_REQ, &dfs__heartbeat_req__descriptor, h_heartbeat);
    nn_rpc_handle(DFS_MSG_BLOCKREPORT_REQ, &dfs__block_report_req__descriptor, h_blockreport);
    return 0;
}
