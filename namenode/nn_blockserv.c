/*
 * nn_blockserv.c - namenode <-> clients: the calls about blocks.
 *
 * Writers allocate blocks with their pipelines (AddBlock), abandon them,
 * and complete files once enough replicas are reported; readers ask where
 * a file's blocks are and report replicas they found bad.  Namespace
 * changes go through ns_* and commit_note_write(); every answer goes
 * through the group commit (nn_rpc.h).  Replica locations live only in
 * the block map.  Allocation and completion are refused in safe mode.
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
#include "nn_rpc.h"
#include "nn_wire.h"
#include "path.h"
#include "placement.h"
#include "xmalloc.h"

#define ERRLEN 512

/* Record the final length of block b (complete), saying which replicas
 * this makes corrupt. */
static void complete_block(struct nn *nn, struct bm_block *b, uint64_t length)
{
    for (unsigned i = 0; i < b->nreps; i++) {
        const struct dm_node *dn = dm_get(nn->dm, b->reps[i].dn);
        if (b->reps[i].length != length && !b->reps[i].corrupt && dn)
            LOG_WARN("blk_%" PRIu64 ": replica on datanode %s at %s:%u has %" PRIu64
                     " bytes, the block %" PRIu64 ": marked corrupt", b->id, dn->storage_id,
                     dn->host, dn->port, b->reps[i].length, length);
    }
    nn_block_completed(nn, b, length);
}

/* ------------------------------------------------------------ handlers */

static int h_addblock(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__AddBlockReq *req = (Dfs__AddBlockReq *)m;
    char err[ERRLEN] = "", hostbuf[DM_HOST_MAX];
    struct ns_stat st;
    uint64_t prev_id = 0, prev_len = 0, id = 0, gs = 0;
    struct bm_block *pb = NULL;

    int rc = ns_stat_inode(nn->ns, req->inode, &st, err, sizeof(err));
    if (rc == DFS_OK && st.type != DFS_TYPE_FILE) {
        rc = DFS_ERR_ISDIR;
        snprintf(err, sizeof(err), "Is a directory");
    }
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    if (req->previous) {
        prev_id = req->previous->id;
        prev_len = req->previous->length;
        pb = bm_get(nn->bm, prev_id);
        if (pb && pb->genstamp != req->previous->genstamp) {
            nn_reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 ": generation stamp %" PRIu64
                          " is stale (the block's is %" PRIu64 ")", prev_id,
                          req->previous->genstamp, pb->genstamp);
            return 0;
        }
    }

    /* Choose the pipeline first: with no datanode, allocate nothing. */
    unsigned want = st.replication ? st.replication : 1;
    const char *chost = nn_client_host(req->client_host, c, hostbuf, sizeof(hostbuf));
    struct dm_node **targets = xcalloc(want, sizeof(*targets));
    size_t nt = pl_choose_targets(nn->pl, nn->dm, want, chost, req->exclude, req->n_exclude,
                                  st.block_size, targets);
    if (nt == 0) {
        if (req->n_exclude > 0 && dm_count_state(nn->dm, DM_LIVE) > 0)
            nn_reply_statusf(nn, c, h, DFS_ERR_UNAVAIL, "no live datanode left (%zu excluded)",
                          req->n_exclude);
        else
            nn_reply_status(nn, c, h, DFS_ERR_UNAVAIL, "no live datanode");
        free(targets);
        return 0;
    }

    rc = ns_add_block(nn->ns, req->inode, req->client, prev_id, prev_len, &id, &gs, &st,
                      err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        free(targets);
        return 0;
    }
    commit_note_write(nn->commit);
    lease_renew(nn->leases, req->client, dfs_mono_ms());
    if (prev_id && (pb = bm_get(nn->bm, prev_id)) != NULL)
        complete_block(nn, pb, prev_len);
    bm_add_block(nn->bm, id, req->inode, gs, st.replication);
    uint32_t pipe[BM_PIPELINE_MAX];
    size_t npipe = 0;
    for (size_t i = 0; i < nt && npipe < BM_PIPELINE_MAX; i++)
        pipe[npipe++] = targets[i]->slot;
    bm_set_pipeline(nn->bm, id, pipe, npipe);

    struct nn_located l;
    nn_located_init(&l, id, gs, 0, st.length, targets, nt);
    if (dfs_log_threshold >= DFS_LOG_DEBUG) {
        char list[512] = "";
        size_t off = 0;
        for (size_t i = 0; i < nt && off < sizeof(list); i++)
            off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s:%u", i ? " " : "",
                                    targets[i]->host, targets[i]->port);
        LOG_DEBUG("%s: blk_%" PRIu64 " gs %" PRIu64 " at offset %" PRIu64 " -> %s (%zu of %u)",
                  req->path, id, gs, st.length, list, nt, want);
    }
    Dfs__AddBlockResp r = DFS__ADD_BLOCK_RESP__INIT;
    r.block = &l.lb;
    r.has_wanted = 1;
    r.wanted = st.replication;
    nn_reply_msg(nn, c, h, &r.base);
    nn_located_free(&l);
    free(targets);
    return 0;
}

static int h_abandon(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                      ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__AbandonBlockReq *req = (Dfs__AbandonBlockReq *)m;
    char err[ERRLEN] = "";
    uint64_t id = req->block->id;

    int rc = ns_abandon_block(nn->ns, req->inode, req->client, id, err, sizeof(err));
    if (rc == DFS_OK) {
        commit_note_write(nn->commit);
        lease_renew(nn->leases, req->client, dfs_mono_ms());
        struct bm_block *b = bm_get(nn->bm, id);
        if (b && b->inode == req->inode) {
            LOG_DEBUG("%s: blk_%" PRIu64 " abandoned", req->path, id);
            nn_block_removed(id, nn);
        }
    }
    nn_reply_status(nn, c, h, rc, err);
    return 0;
}

/* Replicas that count for completing a file: good ones; for the last
 * block also of the final length. */
static unsigned complete_replicas(const struct bm_block *b, int last, uint64_t last_len)
{
    unsigned k = 0;
    for (unsigned i = 0; i < b->nreps; i++)
        k += !b->reps[i].corrupt && (!last || b->reps[i].length == last_len);
    return k;
}

/* Search of the blocks of one inode when its path no longer names it. */
struct short_scan {
    uint64_t inode, last_id, last_len;
    unsigned min;
    uint64_t short_id;
};

static int scan_short(const struct bm_block *b, void *arg)
{
    struct short_scan *s = arg;
    if (b->inode != s->inode)
        return 0;
    if (complete_replicas(b, b->id == s->last_id, s->last_len) < s->min) {
        s->short_id = b->id;
        return 1;
    }
    return 0;
}

/* A block of file `inode` with fewer than min replicas reported, or 0
 * when there is none.  *let_ns set: the request does not name the file's
 * last block, leave the answer to ns_complete(). */
static uint64_t short_block(struct nn *nn, const char *path, uint64_t inode, uint64_t last_id,
                            uint64_t last_len, unsigned min, int *let_ns)
{
    struct ns_block *blocks = NULL;
    struct ns_stat st;
    size_t n = 0;
    char p[DFS_PATH_MAX + 1], err[ERRLEN];
    uint64_t found = 0;

    *let_ns = 0;
    if (dfs_path_normalize(path, p, sizeof(p)) == DFS_PATH_OK &&
        ns_get_blocks(nn->ns, p, &st, &blocks, &n, err, sizeof(err)) == DFS_OK &&
        st.inode == inode) {
        if ((n ? blocks[n - 1].id : 0) != last_id) {
            *let_ns = 1;
        } else {
            for (size_t i = 0; i < n && !found; i++) {
                const struct bm_block *b = bm_get(nn->bm, blocks[i].id);
                if (!b || complete_replicas(b, b->id == last_id, last_len) < min)
                    found = blocks[i].id;
            }
        }
        free(blocks);
        return found;
    }
    free(blocks);
    /* Renamed or moved while being written: look the inode up in the map. */
    struct short_scan s = { inode, last_id, last_len, min, 0 };
    bm_foreach(nn->bm, scan_short, &s);
    return s.short_id;
}

static int h_complete(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__CompleteReq *req = (Dfs__CompleteReq *)m;
    char err[ERRLEN] = "";
    struct ns_stat st;
    uint64_t last_id = req->last ? req->last->id : 0;
    uint64_t last_len = req->last ? req->last->length : 0;
    Dfs__CompleteResp r = DFS__COMPLETE_RESP__INIT;

    lease_renew(nn->leases, req->client, dfs_mono_ms());

    int rc = ns_stat_inode(nn->ns, req->inode, &st, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    if (st.type == DFS_TYPE_FILE && !st.complete) {
        struct bm_block *lb = last_id ? bm_get(nn->bm, last_id) : NULL;
        if (lb && lb->genstamp != req->last->genstamp) {
            nn_reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 ": generation stamp %" PRIu64
                          " is stale (the block's is %" PRIu64 ")", last_id,
                          req->last->genstamp, lb->genstamp);
            return 0;
        }
        unsigned min = nn->conf.nn_min_replication;
        if (st.replication && st.replication < min)
            min = st.replication;
        int let_ns;
        uint64_t waiting = short_block(nn, req->path, req->inode, last_id, last_len, min,
                                       &let_ns);
        if (!let_ns && waiting) {
            LOG_DEBUG("%s: not complete yet: blk_%" PRIu64 " has fewer than %u replicas",
                      req->path, waiting, min);
            r.has_complete = 1;
            r.complete = 0;
            nn_reply_msg(nn, c, h, &r.base);
            return 0;
        }
    }
    rc = ns_complete(nn->ns, req->inode, req->client, last_id, last_len, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    commit_note_write(nn->commit);
    lease_remove(nn->leases, req->inode);
    struct bm_block *b = last_id ? bm_get(nn->bm, last_id) : NULL;
    if (b && !b->complete)
        complete_block(nn, b, last_len);
    r.has_complete = 1;
    r.complete = 1;
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

/* Does a block [off, off + len) meet the range [start, end)?  An empty
 * block (being written) counts when it starts inside the range. */
static int overlaps(uint64_t off, uint64_t len, uint64_t start, uint64_t end)
{
    if (off >= end)
        return 0;
    return len == 0 ? off >= start : off + len > start;
}

static int h_locations(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                        ProtobufCMessage *m)
{
    Dfs__GetBlockLocationsReq *req = (Dfs__GetBlockLocationsReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "", hostbuf[DM_HOST_MAX];
    struct ns_block *blocks = NULL;
    struct ns_stat st;
    size_t n = 0;

    enum dfs_path_rc prc = dfs_path_normalize(req->path, path, sizeof(path));
    if (prc != DFS_PATH_OK) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, dfs_path_strerror(prc));
        return 0;
    }
    int rc = ns_get_blocks(nn->ns, path, &st, &blocks, &n, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    uint64_t start = req->offset;
    uint64_t end = req->length > UINT64_MAX - start ? UINT64_MAX : start + req->length;
    const char *chost = nn_client_host(req->client_host, c, hostbuf, sizeof(hostbuf));
    const char *crack = pl_client_rack(nn->pl, nn->dm, chost);

    struct nn_located *ls = xcalloc(n, sizeof(*ls));
    Dfs__LocatedBlock **lbp = xcalloc(n, sizeof(*lbp));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ns_block *nb = &blocks[i];
        const struct bm_block *b = bm_get(nn->bm, nb->id);
        /* The last block of a file being written: its bytes are more
         * than the length recorded; the reader asks its datanodes. */
        int uc = !st.complete && i == n - 1 && b && !b->complete;
        if (!overlaps(nb->offset, nb->length, start, end) && !(uc && nb->offset < end))
            continue;
        if (uc) {
            nn_located_uc(nn, &ls[k], b, nb->offset, nb->length, chost, crack);
        } else if (b) {
            nn_located_replicas(nn, &ls[k], b, nb->offset, nb->length, chost, crack);
        } else {
            nn_located_init(&ls[k], nb->id, nb->genstamp, nb->length, nb->offset, NULL, 0);
            LOG_WARN("%s: blk_%" PRIu64 " is not in the block map", path, nb->id);
        }
        lbp[k] = &ls[k].lb;
        k++;
    }
    Dfs__GetBlockLocationsResp r = DFS__GET_BLOCK_LOCATIONS_RESP__INIT;
    Dfs__FileStatus w;
    nn_stat_to_wire(&st, &w);
    r.st = &w;
    r.n_blocks = k;
    r.blocks = lbp;
    nn_reply_msg(nn, c, h, &r.base);
    for (size_t i = 0; i < k; i++)
        nn_located_free(&ls[i]);
    free(lbp);
    free(ls);
    free(blocks);
    return 0;
}

static int h_badblock(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *m)
{
    Dfs__ReportBadBlockReq *req = (Dfs__ReportBadBlockReq *)m;
    const struct dm_node *dn = dm_find(nn->dm, req->storage_id);
    uint64_t id = req->block->id;

    if (!dn) {
        nn_reply_statusf(nn, c, h, DFS_ERR_NOENT, "unknown datanode %s", req->storage_id);
        return 0;
    }
    switch (bm_mark_corrupt(nn->bm, id, req->block->genstamp, dn->slot)) {
    case BM_ADDED:
    case BM_BAD_LENGTH:
        LOG_WARN("blk_%" PRIu64 ": replica on datanode %s at %s:%u reported bad by %s (%s): "
                 "marked corrupt", id, dn->storage_id, dn->host, dn->port, dfs_conn_peer(c),
                 req->reason ? req->reason : "no reason given");
        nn_reply_status(nn, c, h, DFS_OK, NULL);
        break;
    case BM_STALE:
        nn_reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 ": stale generation stamp %"
                      PRIu64, id, req->block->genstamp);
        break;
    case BM_UNKNOWN:
        nn_reply_statusf(nn, c, h, DFS_ERR_NOENT, "datanode %s holds no replica of blk_%" PRIu64,
                      dn->storage_id, id);
        break;
    }
    return 0;
}

int nn_blockserv_init(struct nn *nn)
{
    (void)nn;
    nn_rpc_handle(DFS_MSG_ADDBLOCK_REQ, &dfs__add_block_req__descriptor, h_addblock);
    nn_rpc_handle(DFS_MSG_ABANDON_REQ, &dfs__abandon_block_req__descriptor, h_abandon);
    nn_rpc_handle(DFS_MSG_COMPLETE_REQ, &dfs__complete_req__descriptor, h_complete);
    nn_rpc_handle(DFS_MSG_LOCATIONS_REQ, &dfs__get_block_locations_req__descriptor,
                  h_locations);
    nn_rpc_handle(DFS_MSG_BADBLOCK_REQ, &dfs__report_bad_block_req__descriptor, h_badblock);
    return 0;
}
