/*
 * nn_writeserv.c - namenode <-> clients: the calls of writers that keep
 * going through failures and of those that take a file over.
 *
 *   RenewLease      the client is alive: its lease is renewed;
 *   UpdatePipeline  pipeline recovery: the block being written gets a new
 *                   generation stamp and maybe replacement datanodes;
 *   Append          a complete file is opened for writing again;
 *   RecoverLease    a file under construction is recovered now.
 *
 * The lease rules (lease.h, nn_recovery.h): a file under construction
 * belongs to its writer while that writer's lease is within the soft
 * limit; after it, another client's Append starts lease recovery.
 * Mutations are refused in safe mode; answers go through the group commit
 * (nn_rpc.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "clock.h"
#include "dfs.pb-c.h"
#include "dnmanager.h"
#include "lease.h"
#include "log.h"
#include "nn.h"
#include "nn_monitor.h"
#include "nn_recovery.h"
#include "nn_rpc.h"
#include "nn_wire.h"
#include "path.h"
#include "placement.h"
#include "xmalloc.h"

#define ERRLEN 512

/* A client name from a request: 1..255 bytes. */
static int valid_client(const char *c)
{
    return c && *c && strlen(c) < 256;
}

static int h_renew(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                   ProtobufCMessage *m)
{
    Dfs__RenewLeaseReq *req = (Dfs__RenewLeaseReq *)m;
    if (!valid_client(req->client)) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, "invalid client name");
        return 0;
    }
    lease_renew(nn->leases, req->client, dfs_mono_ms());
    nn_reply_status(nn, c, h, DFS_OK, NULL);
    return 0;
}

/* --------------------------------------------------- pipeline recovery */

/* Slots of the datanodes named by storage ids ids[n] into out (known
 * ones only, each once); returns how many (at most max). */
static size_t slots_of(struct nn *nn, char **ids, size_t n, uint32_t *out, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++) {
        const struct dm_node *dn = ids[i] ? dm_find(nn->dm, ids[i]) : NULL;
        size_t j = 0;
        while (dn && j < k && out[j] != dn->slot)
            j++;
        if (dn && j == k)
            out[k++] = dn->slot;
    }
    return k;
}

static int h_update_pipeline(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                             ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__UpdatePipelineReq *req = (Dfs__UpdatePipelineReq *)m;
    uint64_t id = req->block->id;
    char err[ERRLEN] = "", hostbuf[DM_HOST_MAX];
    struct ns_uc uc;

    if (!valid_client(req->client)) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, "invalid client name");
        return 0;
    }
    int rc = ns_uc_get(nn->ns, req->inode, &uc, err, sizeof(err));
    if (rc == DFS_OK && strcmp(uc.client, req->client) != 0) {
        rc = DFS_ERR_BUSY;
        snprintf(err, sizeof(err), "%s", strcmp(uc.client, NS_RECOVERY_CLIENT) != 0
                 ? "file is being written by another client"
                 : "file is being recovered (the lease expired)");
    }
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    struct bm_block *b = bm_get(nn->bm, id);
    if (uc.last_id != id || !b || b->complete) {
        nn_reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 " is not the block being "
                         "written", id);
        return 0;
    }
    if (b->genstamp != req->block->genstamp) {
        nn_reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 ": generation stamp %" PRIu64
                         " is stale (the block's is %" PRIu64 ")", id, req->block->genstamp,
                         b->genstamp);
        return 0;
    }
    uint64_t now = dfs_mono_ms();
    lease_renew(nn->leases, req->client, now);

    /* Replacements: none of the survivors nor of the failed ones. */
    uint32_t keep[BM_PIPELINE_MAX], pipe[BM_PIPELINE_MAX];
    size_t nkeep = slots_of(nn, req->keep, req->n_keep, keep, BM_PIPELINE_MAX);
    size_t nrepl = 0, ndn = dm_count(nn->dm);
    struct dm_node *repl[BM_PIPELINE_MAX];
    unsigned want = req->replacements;
    if (want > BM_PIPELINE_MAX - nkeep)
        want = (unsigned)(BM_PIPELINE_MAX - nkeep);
    if (want > 0) {
        unsigned char *skip = xcalloc(ndn ? ndn : 1, 1);
        const struct dm_node *have[BM_PIPELINE_MAX];
        uint32_t ex[BM_PIPELINE_MAX];
        size_t nex = slots_of(nn, req->exclude, req->n_exclude, ex, BM_PIPELINE_MAX);
        for (size_t i = 0; i < nkeep; i++) {
            skip[keep[i]] = 1;
            have[i] = dm_get(nn->dm, keep[i]);
        }
        for (size_t i = 0; i < nex; i++)
            skip[ex[i]] = 1;
        nrepl = pl_choose_more(nn->pl, nn->dm, want, have, nkeep, skip, uc.block_size, repl);
        free(skip);
    }

    uint64_t gs;
    rc = ns_bump_genstamp(nn->ns, req->inode, req->client, id, &gs, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    commit_note_write(nn->commit);
    memcpy(pipe, keep, nkeep * sizeof(*keep));
    for (size_t i = 0; i < nrepl; i++)
        pipe[nkeep + i] = repl[i]->slot;
    /* The old pipeline's other datanodes stay known, as holding an older
     * replica: lease recovery asks them, completion deletes it. */
    uint32_t old[BM_PIPELINE_MAX];
    size_t nold = 0;
    const uint32_t *cur = bm_pipeline(nn->bm, id, &nold);
    if (cur)
        memcpy(old, cur, nold * sizeof(*old));
    bm_new_genstamp(nn->bm, b, gs);
    bm_set_pipeline(nn->bm, id, pipe, nkeep + nrepl);
    for (size_t i = 0; i < nold; i++)
        bm_pipeline_add(nn->bm, id, old[i], 1);
    LOG_INFO("%s: blk_%" PRIu64 " pipeline recovery by %s (%s): generation stamp %" PRIu64
             ", %zu datanodes kept, %zu excluded, %zu of %u replacements",
             req->path, id, req->client,
             nn_client_host(req->client_host, c, hostbuf, sizeof(hostbuf)), gs, nkeep,
             req->n_exclude, nrepl, req->replacements);

    Dfs__UpdatePipelineResp r = DFS__UPDATE_PIPELINE_RESP__INIT;
    Dfs__DatanodeId ids[BM_PIPELINE_MAX], *idp[BM_PIPELINE_MAX];
    for (size_t i = 0; i < nrepl; i++) {
        nn_dn_to_wire(repl[i], &ids[i]);
        idp[i] = &ids[i];
    }
    r.has_genstamp = 1;
    r.genstamp = gs;
    r.n_replacements = nrepl;
    r.replacements = idp;
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

/* ------------------------------------------------------------- append */

/* Answer an Append with ERR_BUSY; recovering: lease recovery runs. */
static void reply_busy(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       const char *path, int recovering, const char *why)
{
    char msg[ERRLEN];
    Dfs__AppendResp r = DFS__APPEND_RESP__INIT;
    snprintf(msg, sizeof(msg), "%s", why);
    r.status = DFS__STATUS__ERR_BUSY;
    r.error = msg;
    r.has_recovering = 1;
    r.recovering = recovering != 0;
    LOG_DEBUG("%s: append refused: %s", path, why);
    nn_reply_msg(nn, c, h, &r.base);
}

/* Whether `client` may take file inode (under construction) from its
 * writer: 1 yes (it is closed now), 0 no (answered). */
static int take_over(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     const char *path, uint64_t inode, const char *client)
{
    char err[ERRLEN] = "";
    struct ns_uc uc;
    int closed = 0;
    int rc = ns_uc_get(nn->ns, inode, &uc, err, sizeof(err));

    if (rc == DFS_ERR_INVAL)
        return 1;           /* closed meanwhile */
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    if (strcmp(uc.client, NS_RECOVERY_CLIENT) == 0 || nn_recovery_running(nn, inode)) {
        reply_busy(nn, c, h, path, 1, "file is being recovered: try again");
        return 0;
    }
    if (strcmp(uc.client, client) == 0) {
        reply_busy(nn, c, h, path, 0, "file is already being written by this client");
        return 0;
    }
    if (lease_live(nn->leases, uc.client, dfs_mono_ms(), nn->conf.nn_lease_soft_ms)) {
        reply_busy(nn, c, h, path, 0, "file is being written by another client");
        return 0;
    }
    rc = nn_recovery_start(nn, inode, "taken over by another client", &closed, err,
                           sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    if (!closed)
        reply_busy(nn, c, h, path, 1, "the last writer's lease expired: the file is being "
                   "recovered: try again");
    return closed;
}

/* The good replicas of b on datanodes that are not dead, sorted for a
 * client at (host, rack), into out (room for b->nreps): how many. */
static size_t good_replicas(struct nn *nn, const struct bm_block *b, const char *host,
                            const char *rack, struct dm_node **out)
{
    struct pl_replica *r = xcalloc(b->nreps ? b->nreps : 1, sizeof(*r));
    size_t n = 0;
    for (unsigned i = 0; i < b->nreps; i++) {
        struct dm_node *dn = dm_get(nn->dm, b->reps[i].dn);
        if (dn && dn->state != DM_DEAD && !b->reps[i].corrupt)
            r[n++] = (struct pl_replica){ dn, 0 };
    }
    pl_sort_replicas(nn->pl, host, rack, r, n);
    for (size_t i = 0; i < n; i++)
        out[i] = (struct dm_node *)r[i].dn;
    free(r);
    return n;
}

static int h_append(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                    ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__AppendReq *req = (Dfs__AppendReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "", hostbuf[DM_HOST_MAX];
    struct ns_block *blocks = NULL, last;
    struct ns_stat st;
    size_t n = 0;
    int reopened;

    enum dfs_path_rc prc = dfs_path_normalize(req->path, path, sizeof(path));
    if (prc != DFS_PATH_OK) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, dfs_path_strerror(prc));
        return 0;
    }
    if (!valid_client(req->client)) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, "invalid client name");
        return 0;
    }
    int rc = ns_get_blocks(nn->ns, path, &st, &blocks, &n, err, sizeof(err));
    if (rc == DFS_OK && !st.complete && !take_over(nn, c, h, path, st.inode, req->client)) {
        free(blocks);
        return 0;
    }
    if (rc == DFS_OK && !st.complete) {
        /* Closed by the recovery just now: look again. */
        free(blocks);
        rc = ns_get_blocks(nn->ns, path, &st, &blocks, &n, err, sizeof(err));
    }
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        free(blocks);
        return 0;
    }
    /* A partial last block is reopened where its good replicas are. */
    const char *chost = nn_client_host(req->client_host, c, hostbuf, sizeof(hostbuf));
    const char *crack = pl_client_rack(nn->pl, nn->dm, chost);
    struct bm_block *b = n ? bm_get(nn->bm, blocks[n - 1].id) : NULL;
    struct dm_node **locs = xcalloc(b && b->nreps ? b->nreps : 1, sizeof(*locs));
    size_t nlocs = 0;
    if (b && blocks[n - 1].length < st.block_size) {
        nlocs = good_replicas(nn, b, chost, crack, locs);
        if (nlocs == 0) {
            nn_reply_statusf(nn, c, h, DFS_ERR_UNAVAIL, "blk_%" PRIu64 ", the last block, has "
                             "no live good replica to append to", b->id);
            goto out;
        }
    }
    rc = ns_append(nn->ns, path, req->client, &st, &last, &reopened, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        goto out;
    }
    commit_note_write(nn->commit);
    lease_add(nn->leases, req->client, st.inode, dfs_mono_ms());

    Dfs__AppendResp r = DFS__APPEND_RESP__INIT;
    Dfs__FileStatus w;
    Dfs__ExtendedBlock full = DFS__EXTENDED_BLOCK__INIT;
    struct nn_located l;
    int have_l = 0;
    nn_stat_to_wire(&st, &w);
    r.st = &w;
    if (reopened && b) {
        uint32_t slots[BM_PIPELINE_MAX];
        size_t nslots = 0;
        for (size_t i = 0; i < nlocs && nslots < BM_PIPELINE_MAX; i++)
            slots[nslots++] = locs[i]->slot;
        bm_new_genstamp(nn->bm, b, last.genstamp);
        bm_set_pipeline(nn->bm, b->id, slots, nslots);
        nn_located_init(&l, last.id, last.genstamp, last.length, last.offset, locs, nlocs);
        l.lb.has_under_construction = 1;
        l.lb.under_construction = 1;
        have_l = 1;
        r.last = &l.lb;
    } else if (last.id) {
        full.id = last.id;
        full.genstamp = last.genstamp;
        full.has_length = 1;
        full.length = last.length;
        r.last_full = &full;
    }
    LOG_INFO("%s: opened for append by %s (%s): %s", path, req->client, chost,
             reopened ? "last block reopened" : last.id ? "after a full block" : "no blocks");
    nn_reply_msg(nn, c, h, &r.base);
    if (have_l)
        nn_located_free(&l);
out:
    free(locs);
    free(blocks);
    return 0;
}

/* ------------------------------------------------------- recover lease */

static int h_recover_lease(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                           ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__RecoverLeaseReq *req = (Dfs__RecoverLeaseReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    struct ns_stat st;
    int closed = 1;

    enum dfs_path_rc prc = dfs_path_normalize(req->path, path, sizeof(path));
    if (prc != DFS_PATH_OK) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, dfs_path_strerror(prc));
        return 0;
    }
    int rc = ns_stat(nn->ns, path, &st, err, sizeof(err));
    if (rc == DFS_OK && st.type == DFS_TYPE_DIR) {
        rc = DFS_ERR_ISDIR;
        snprintf(err, sizeof(err), "Is a directory");
    }
    if (rc == DFS_OK && !st.complete) {
        char why[300];
        snprintf(why, sizeof(why), "recovery asked by %s",
                 valid_client(req->client) ? req->client : "a client");
        rc = nn_recovery_start(nn, st.inode, why, &closed, err, sizeof(err));
    }
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    Dfs__RecoverLeaseResp r = DFS__RECOVER_LEASE_RESP__INIT;
    r.has_closed = 1;
    r.closed = closed != 0;
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

int nn_writeserv_init(struct nn *nn)
{
    (void)nn;
    nn_rpc_handle(DFS_MSG_RENEW_LEASE_REQ, &dfs__renew_lease_req__descriptor, h_renew);
    nn_rpc_handle(DFS_MSG_UPDATE_PIPELINE_REQ, &dfs__update_pipeline_req__descriptor,
                  h_update_pipeline);
    nn_rpc_handle(DFS_MSG_APPEND_REQ, &dfs__append_req__descriptor, h_append);
    nn_rpc_handle(DFS_MSG_RECOVER_LEASE_REQ, &dfs__recover_lease_req__descriptor,
                  h_recover_lease);
    return 0;
}
