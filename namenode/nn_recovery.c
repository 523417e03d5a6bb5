/*
 * nn_recovery.c - leases and lease recovery (see nn_recovery.h), and the
 * CommitBlockSyncReq that ends a block recovery.
 *
 * Recoveries in progress are kept by inode: the last block, its recovery
 * id (genstamp), when it started, the candidate datanodes and the primary
 * chosen among them (none yet: waiting for a live one).  They are soft
 * state: after a restart a file still held by NS_RECOVERY_CLIENT is
 * recovered again at the first tick out of safe mode.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_recovery.h"
#include "blockmap.h"
#include "clock.h"
#include "dfs.pb-c.h"
#include "dnmanager.h"
#include "lease.h"
#include "log.h"
#include "nn.h"
#include "nn_monitor.h"
#include "nn_rpc.h"
#include "u64map.h"
#include "xmalloc.h"

#define ERRLEN 512
#define NO_PRIMARY UINT32_MAX

/* One block recovery in progress. */
struct rec {
    uint64_t inode;
    uint64_t block, genstamp;       /* last block, recovery id */
    uint64_t started;               /* dfs_mono_ms() of this recovery id; 0: start again */
    uint32_t attempts;              /* recovery ids given so far (rotates the primary) */
    uint32_t primary;               /* slot, or NO_PRIMARY */
    int sent;                       /* CMD_RECOVER handed to the primary */
    int logged_wait;                /* "no live datanode" said */
    int failed;                     /* could not start: tried again after the timeout */
    uint32_t ntargets;
    uint32_t targets[BM_PIPELINE_MAX];
    /* The newest pipeline when the first recovery began (its datanodes
     * hold every acknowledged byte; others may hold an older, shorter
     * replica): one of them must be live for the first attempts. */
    uint32_t nnewest;
    uint32_t newest[BM_PIPELINE_MAX];
    uint64_t newest_gs;             /* their genstamp */
};

/* Attempts that wait for a datanode of the newest pipeline; after them a
 * recovery settles with whichever holders are left (their datanodes may
 * never come back). */
#define NEWEST_ATTEMPTS 3

struct nn_recovery {
    struct u64map recs;             /* inode -> struct rec */
    uint64_t first_tick;            /* first tick out of safe mode, 0 before */
};

/* Long enough out of safe mode that every datanode alive has registered
 * and listed its replicas being written: a block no datanode has named
 * by then is taken to have none.  Before that, after a restart, the
 * namenode knows no pipeline and must not conclude so. */
static int reports_settled(const struct nn *nn, uint64_t now)
{
    const struct nn_recovery *rs = nn->recovery;
    return rs->first_tick != 0 &&
           now - rs->first_tick >= (uint64_t)nn->conf.nn_lease_hard_ms + nn->conf.nn_dead_ms;
}

static struct nn_recovery *state(const struct nn *nn)
{
    return nn->recovery;
}

static void forget(struct nn *nn, uint64_t inode)
{
    free(u64map_del(&state(nn)->recs, inode));
}

int nn_recovery_running(const struct nn *nn, uint64_t inode)
{
    return u64map_get(&state(nn)->recs, inode) != NULL;
}

/* ns_uc_removed hook: a file under construction was deleted or replaced. */
static void on_uc_removed(uint64_t inode, void *arg)
{
    struct nn *nn = arg;
    lease_remove(nn->leases, inode);
    forget(nn, inode);
}

/* ------------------------------------------------------ the recovery */

/* The datanodes (not dead) that may hold a replica of b: its expected
 * locations, then its reported replicas.  Returns their number. */
static uint32_t candidates(struct nn *nn, const struct bm_block *b, uint32_t *out)
{
    size_t n = 0;
    uint32_t k = 0;
    const uint32_t *pipe = bm_pipeline(nn->bm, b->id, &n);
    uint32_t all[2 * BM_PIPELINE_MAX];
    size_t nall = 0;

    for (size_t i = 0; i < n; i++)
        all[nall++] = pipe[i];
    for (unsigned i = 0; i < b->nreps && nall < 2 * BM_PIPELINE_MAX; i++)
        all[nall++] = b->reps[i].dn;
    for (size_t i = 0; i < nall && k < BM_PIPELINE_MAX; i++) {
        const struct dm_node *dn = dm_get(nn->dm, all[i]);
        uint32_t j = 0;
        while (j < k && out[j] != all[i])
            j++;
        if (j == k && dn && dn->state != DM_DEAD)
            out[k++] = all[i];
    }
    return k;
}

/* Choose r's primary among its live targets (another one on each
 * attempt).  0 when one was chosen, -1 when none is live. */
static int dispatch(struct nn *nn, struct rec *r)
{
    uint32_t live[BM_PIPELINE_MAX], n = 0;
    /* Not knowing the newest pipeline (a recovery rebuilt after a
     * restart), wait until every datanode alive has reported: the first
     * holder to report may have an older, shorter replica. */
    int newest_live = r->nnewest == 0 ? reports_settled(nn, dfs_mono_ms())
                                      : r->attempts > NEWEST_ATTEMPTS;
    for (uint32_t i = 0; i < r->nnewest && !newest_live; i++) {
        const struct dm_node *dn = dm_get(nn->dm, r->newest[i]);
        newest_live = dn && dn->state == DM_LIVE;
    }
    if (!newest_live) {
        if (!r->logged_wait)
            LOG_WARN("blk_%" PRIu64 " (inode %" PRIu64 "): no datanode of its newest pipeline "
                     "is live (%u of them known): its recovery waits (attempt %u of %d "
                     "that wait)", r->block, r->inode, r->nnewest, r->attempts,
                     NEWEST_ATTEMPTS);
        r->logged_wait = 1;
        r->primary = NO_PRIMARY;
        return -1;
    }
    for (uint32_t i = 0; i < r->ntargets; i++) {
        const struct dm_node *dn = dm_get(nn->dm, r->targets[i]);
        if (dn && dn->state == DM_LIVE)
            live[n++] = r->targets[i];
    }
    if (n == 0) {
        if (!r->logged_wait)
            LOG_WARN("blk_%" PRIu64 " (inode %" PRIu64 "): no live datanode holds it for its "
                     "recovery (%u known): waiting for one", r->block, r->inode, r->ntargets);
        r->logged_wait = 1;
        r->primary = NO_PRIMARY;
        return -1;
    }
    r->primary = live[(r->attempts - 1) % n];
    r->sent = 0;
    const struct dm_node *p = dm_get(nn->dm, r->primary);
    LOG_INFO("blk_%" PRIu64 " (inode %" PRIu64 "): recovery %" PRIu64 " by datanode %s at "
             "%s:%u, %u candidates", r->block, r->inode, r->genstamp, p->storage_id, p->host,
             p->port, r->ntargets);
    return 0;
}

/* Close file uc (no block recovery needed); drop: its last block goes. */
static int close_file(struct nn *nn, const struct ns_uc *uc, int drop, const char *why,
                      char *err, size_t errsz)
{
    int rc = ns_close_recovered(nn->ns, uc->inode, uc->last_id, uc->last_length, drop,
                                err, errsz);
    if (rc != DFS_OK)
        return rc;
    commit_note_write(nn->commit);
    if (drop)
        nn_block_removed(uc->last_id, nn);
    else if (uc->last_id) {
        struct bm_block *b = bm_get(nn->bm, uc->last_id);
        if (b && !b->complete)
            nn_block_completed(nn, b, uc->last_length);
    }
    lease_remove(nn->leases, uc->inode);
    forget(nn, uc->inode);
    LOG_INFO("inode %" PRIu64 " (written by %s): %s: closed at %" PRIu64 " bytes%s",
             uc->inode, uc->client, why, uc->length - (drop ? uc->last_length : 0),
             drop ? " (its empty last block dropped)" : "");
    return DFS_OK;
}

int nn_recovery_start(struct nn *nn, uint64_t inode, const char *why, int *closed,
                      char *err, size_t errsz)
{
    struct ns_uc uc;
    struct rec *r = u64map_get(&state(nn)->recs, inode);
    int rc;

    *closed = 0;
    if (r && r->started != 0)
        return DFS_OK;          /* running */
    rc = ns_uc_get(nn->ns, inode, &uc, err, errsz);
    if (rc == DFS_ERR_NOENT || rc == DFS_ERR_INVAL) {
        lease_remove(nn->leases, inode);
        forget(nn, inode);
        *closed = 1;
        return DFS_OK;
    }
    if (rc != DFS_OK)
        return rc;
    if (uc.temporary) {
        rc = ns_delete_inode(nn->ns, inode, nn_block_removed, nn, err, errsz);
        if (rc != DFS_OK)
            return rc;
        commit_note_write(nn->commit);
        LOG_INFO("inode %" PRIu64 " (written by %s): %s: a temporary file: deleted", inode,
                 uc.client, why);
        *closed = 1;
        return DFS_OK;
    }
    if (uc.nblocks == 0 || uc.last_complete) {
        *closed = 1;
        return close_file(nn, &uc, 0, why, err, errsz);
    }
    struct bm_block *b = bm_get(nn->bm, uc.last_id);
    if (!b) {
        snprintf(err, errsz, "blk_%" PRIu64 " is not in the block map", uc.last_id);
        return DFS_ERR_IO;
    }
    size_t npipe;
    uint32_t targets[BM_PIPELINE_MAX];
    uint32_t nt = candidates(nn, b, targets);
    if (nt == 0 && b->nreps == 0 && !bm_pipeline(nn->bm, b->id, &npipe) &&
        uc.last_length == 0 && reports_settled(nn, dfs_mono_ms())) {
        /* No datanode ever heard of it: the writer died before writing. */
        *closed = 1;
        return close_file(nn, &uc, 1, why, err, errsz);
    }
    if (strcmp(uc.client, NS_RECOVERY_CLIENT) != 0 &&
        (rc = ns_set_writer(nn->ns, inode, NS_RECOVERY_CLIENT, err, errsz)) != DFS_OK)
        return rc;
    uint64_t gs;
    if ((rc = ns_bump_genstamp(nn->ns, inode, NULL, uc.last_id, &gs, err, errsz)) != DFS_OK)
        return rc;
    commit_note_write(nn->commit);
    lease_remove(nn->leases, inode);
    /* The candidates stay the block's expected locations: a recovery
     * started again, or a reader, finds them there. */
    uint32_t keep[BM_PIPELINE_MAX];
    size_t nkeep = 0;
    const uint32_t *pipe = bm_pipeline(nn->bm, b->id, &npipe);
    for (size_t i = 0; i < npipe; i++)
        keep[nkeep++] = pipe[i];
    for (uint32_t i = 0; i < nt && nkeep < BM_PIPELINE_MAX; i++)
        keep[nkeep++] = targets[i];
    if (!r) {
        r = xcalloc(1, sizeof(*r));
        r->inode = inode;
        u64map_put(&state(nn)->recs, inode, r);
        /* Before the bump: holders with the block's genstamp. */
        r->newest_gs = b->genstamp;
        for (size_t i = 0; i < npipe && r->nnewest < BM_PIPELINE_MAX; i++)
            if (!bm_pipeline_older(nn->bm, b->id, pipe[i]))
                r->newest[r->nnewest++] = pipe[i];
        for (unsigned i = 0; i < b->nreps && r->nnewest < BM_PIPELINE_MAX; i++)
            r->newest[r->nnewest++] = b->reps[i].dn;
    }
    bm_new_genstamp(nn->bm, b, gs);
    bm_set_pipeline(nn->bm, b->id, keep, nkeep);
    r->block = uc.last_id;
    r->genstamp = gs;
    r->started = dfs_mono_ms();
    r->attempts++;
    r->logged_wait = 0;
    r->failed = 0;
    r->ntargets = nt;
    memcpy(r->targets, targets, nt * sizeof(*targets));
    LOG_INFO("inode %" PRIu64 " (written by %s): %s: recovering blk_%" PRIu64
             " under generation stamp %" PRIu64 " (attempt %u)", inode, uc.client, why,
             uc.last_id, gs, r->attempts);
    dispatch(nn, r);
    return DFS_OK;
}

size_t nn_recovery_take(struct nn *nn, uint32_t slot, struct nn_recover_cmd *out, size_t max)
{
    const struct u64map *m = &state(nn)->recs;
    size_t k = 0;
    for (size_t i = 0; i < u64map_cap(m) && k < max; i++) {
        struct u64pair *p = u64map_at(m, i);
        struct rec *r = p ? p->val : NULL;
        if (!r || r->started == 0 || r->primary != slot || r->sent)
            continue;
        out[k].id = r->block;
        out[k].genstamp = r->genstamp;
        out[k].min_genstamp = r->nnewest > 0 && r->attempts <= NEWEST_ATTEMPTS ? r->newest_gs : 0;
        out[k].ntargets = r->ntargets;
        memcpy(out[k].targets, r->targets, r->ntargets * sizeof(*r->targets));
        r->sent = 1;
        k++;
    }
    return k;
}

/* Recover inode; one that cannot be is tried again after the recovery
 * timeout (logged each time). */
static void recover(struct nn *nn, uint64_t inode, const char *why)
{
    char err[ERRLEN] = "";
    int closed;
    int rc = nn_recovery_start(nn, inode, why, &closed, err, sizeof(err));
    if (rc == DFS_OK)
        return;
    LOG_WARN("inode %" PRIu64 ": cannot start its recovery (%s): %s; trying again in %u ms",
             inode, why, err, nn->conf.nn_block_recovery_timeout_ms);
    struct rec *r = u64map_get(&state(nn)->recs, inode);
    if (!r) {
        r = xcalloc(1, sizeof(*r));
        r->inode = inode;
        u64map_put(&state(nn)->recs, inode, r);
    }
    lease_remove(nn->leases, inode);
    r->primary = NO_PRIMARY;
    r->failed = 1;
    r->started = dfs_mono_ms();
}

void nn_recovery_tick(struct nn *nn, uint64_t now)
{
    if (state(nn)->first_tick == 0)
        state(nn)->first_tick = now;
    uint64_t *inodes = NULL;
    size_t n = lease_expired(nn->leases, now, nn->conf.nn_lease_hard_ms, &inodes);
    for (size_t i = 0; i < n; i++)
        if (!nn_recovery_running(nn, inodes[i]))
            recover(nn, inodes[i], "lease expired (hard limit)");
    free(inodes);

    /* Recoveries to start again, or waiting for a live datanode. */
    const struct u64map *m = &state(nn)->recs;
    uint64_t *again = NULL;
    size_t nagain = 0, cap = 0;
    for (size_t i = 0; i < u64map_cap(m); i++) {
        struct u64pair *p = u64map_at(m, i);
        struct rec *r = p ? p->val : NULL;
        if (!r)
            continue;
        size_t npipe = 0;
        const struct bm_block *rb = bm_get(nn->bm, r->block);
        int nobody = r->primary == NO_PRIMARY && r->ntargets == 0 && !r->failed && rb &&
                     rb->nreps == 0 && !bm_pipeline(nn->bm, r->block, &npipe) &&
                     reports_settled(nn, now);
        /* r->started may be later than now (set during this tick). */
        if (r->started == 0 || nobody ||
            (now > r->started && now - r->started >= nn->conf.nn_block_recovery_timeout_ms)) {
            if (r->started != 0 && !nobody && !r->failed)
                LOG_INFO("blk_%" PRIu64 " (inode %" PRIu64 "): recovery %" PRIu64 " not done "
                         "after %" PRIu64 " ms: starting again", r->block, r->inode,
                         r->genstamp, now - r->started);
            r->started = 0;
            if (nagain == cap) {
                cap = cap ? 2 * cap : 16;
                again = xrealloc(again, cap * sizeof(*again));
            }
            again[nagain++] = r->inode;
        } else if (r->primary == NO_PRIMARY && !r->failed) {
            r->ntargets = 0;
            const struct bm_block *b = bm_get(nn->bm, r->block);
            if (b)
                r->ntargets = candidates(nn, b, r->targets);
            dispatch(nn, r);
        }
    }
    for (size_t i = 0; i < nagain; i++)
        recover(nn, again[i], "recovery started again");
    free(again);
}

/* ------------------------------------------------------ CommitBlockSync */

/* The recovery finished b on the datanodes ids[n]: the others of its
 * expected locations keep an older replica (deleted at completion). */
static void mark_unfinished(struct nn *nn, struct bm_block *b, char **ids, size_t n)
{
    size_t np = 0, nfin = 0, nold = 0;
    const uint32_t *pipe = bm_pipeline(nn->bm, b->id, &np);
    uint32_t fin[BM_PIPELINE_MAX], old[BM_PIPELINE_MAX];
    for (size_t i = 0; i < np; i++) {
        const struct dm_node *dn = dm_get(nn->dm, pipe[i]);
        size_t k = 0;
        while (dn && k < n && strcmp(ids[k], dn->storage_id) != 0)
            k++;
        if (dn && k < n)
            fin[nfin++] = pipe[i];
        else
            old[nold++] = pipe[i];
    }
    bm_set_pipeline(nn->bm, b->id, fin, nfin);
    for (size_t i = 0; i < nold; i++)
        bm_pipeline_add(nn->bm, b->id, old[i], 1);
}

static int h_commit_sync(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                         ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__CommitBlockSyncReq *req = (Dfs__CommitBlockSyncReq *)m;
    uint64_t id = req->block->id, gs = req->block->genstamp, inode = 0, bgs = 0;
    uint64_t len = req->block->has_length ? req->block->length : 0;
    char err[ERRLEN] = "";

    if (ns_block_lookup(nn->ns, id, &inode, &bgs, NULL, NULL) != DFS_OK) {
        nn_reply_statusf(nn, c, h, DFS_ERR_NOENT, "blk_%" PRIu64 " belongs to no file", id);
        return 0;
    }
    if (gs != bgs) {
        nn_reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 ": recovery %" PRIu64
                         " is stale (the block's generation stamp is %" PRIu64 ")", id, gs, bgs);
        return 0;
    }
    int drop = len == 0 && req->n_storage_ids == 0;
    int rc = ns_close_recovered(nn->ns, inode, id, len, drop, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    commit_note_write(nn->commit);
    struct bm_block *b = bm_get(nn->bm, id);
    if (drop)
        nn_block_removed(id, nn);
    else if (b && !b->complete) {
        mark_unfinished(nn, b, req->storage_ids, req->n_storage_ids);
        nn_block_completed(nn, b, len);
    }
    lease_remove(nn->leases, inode);
    forget(nn, inode);
    LOG_INFO("blk_%" PRIu64 " (inode %" PRIu64 "): recovered at %" PRIu64 " bytes on %zu "
             "datanodes (reported by %s); the file is closed%s", id, inode, len,
             req->n_storage_ids, dfs_conn_peer(c), drop ? ", without that block" : "");
    nn_reply_status(nn, c, h, DFS_OK, NULL);
    return 0;
}

/* ---------------------------------------------------------- start-up */

static int rebuild_one(const struct ns_uc *uc, void *arg)
{
    struct nn *nn = arg;
    if (strcmp(uc->client, NS_RECOVERY_CLIENT) == 0) {
        /* Was being recovered: again, at the first tick out of safe mode. */
        struct rec *r = xcalloc(1, sizeof(*r));
        r->inode = uc->inode;
        r->block = uc->last_id;
        r->primary = NO_PRIMARY;
        u64map_put(&state(nn)->recs, uc->inode, r);
    } else {
        lease_add(nn->leases, uc->client, uc->inode, dfs_mono_ms());
    }
    return 0;
}

int nn_recovery_init(struct nn *nn)
{
    nn->leases = lease_new();
    nn->recovery = xcalloc(1, sizeof(struct nn_recovery));
    if (ns_foreach_uc(nn->ns, rebuild_one, nn) != 0) {
        LOG_ERROR("cannot read the files under construction");
        return -1;
    }
    size_t nl, nf;
    lease_counts(nn->leases, &nl, &nf);
    LOG_INFO("leases: %zu clients writing %zu files; %zu files to recover", nl, nf,
             u64map_count(&state(nn)->recs));
    ns_set_uc_removed(nn->ns, on_uc_removed, nn);
    nn_monitor_on_tick(nn_recovery_tick);
    nn_rpc_handle(DFS_MSG_COMMIT_SYNC_REQ, &dfs__commit_block_sync_req__descriptor,
                  h_commit_sync);
    return 0;
}

void nn_recovery_shutdown(struct nn *nn)
{
    if (nn->ns)
        ns_set_uc_removed(nn->ns, NULL, NULL);
    if (nn->recovery) {
        const struct u64map *m = &state(nn)->recs;
        for (size_t i = 0; i < u64map_cap(m); i++) {
            struct u64pair *p = u64map_at(m, i);
            if (p)
                free(p->val);
        }
        u64map_free(&state(nn)->recs);
        free(nn->recovery);
        nn->recovery = NULL;
    }
    lease_free(nn->leases);
    nn->leases = NULL;
}
