/*
 * nn_dnserv.c - namenode <-> datanodes, and the client calls about blocks.
 *
 * Datanodes register (storage id, address, space, full block report),
 * heartbeat (space, load; the answer carries commands: register again,
 * delete replicas) and send block reports (full, or incremental right
 * after a replica was added or removed).  Clients allocate blocks and
 * their pipelines, abandon them, complete files once enough replicas are
 * reported, ask where blocks are, report bad replicas and ask for the
 * cluster report.
 *
 * Namespace changes go through ns_* and commit_note_write(); every answer
 * goes through the group commit, so none reveals a write before it is
 * durable.  Replica locations live only in the block map.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "dfs.pb-c.h"
#include "dnmanager.h"
#include "log.h"
#include "nn.h"
#include "nn_dnserv.h"
#include "path.h"
#include "placement.h"
#include "xmalloc.h"

#define ERRLEN 512
/* Deletions handed to one datanode per heartbeat answer. */
#define DELETES_PER_HEARTBEAT 1000

/* ------------------------------------------------------------ replies */

static void reply_statusf(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                          int status, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void reply_statusf(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                          int status, const char *fmt, ...)
{
    char msg[ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    nn_reply_status(nn, c, h, status, msg);
}

/* ------------------------------------------------------------ helpers */

/* The wire identity of a datanode; strings point into dn. */
static void dn_to_wire(const struct dm_node *dn, Dfs__DatanodeId *w)
{
    dfs__datanode_id__init(w);
    w->storage_id = (char *)dn->storage_id;
    w->host = (char *)dn->host;
    w->port = dn->port;
    if (dn->http_port) {
        w->has_http_port = 1;
        w->http_port = dn->http_port;
    }
    w->rack = (char *)dn->rack;
}

/* Host of the peer of c (its "HOST:PORT" without the port) into buf. */
static const char *peer_host(struct dfs_conn *c, char *buf, size_t sz)
{
    const char *peer = dfs_conn_peer(c);
    const char *colon = strrchr(peer, ':');
    int len = colon ? (int)(colon - peer) : (int)strlen(peer);
    snprintf(buf, sz, "%.*s", len, peer);
    return buf;
}

/* The reader's or writer's host: as the request says, else the peer's. */
static const char *client_host(const char *given, struct dfs_conn *c, char *buf, size_t sz)
{
    return given && *given ? given : peer_host(c, buf, sz);
}

/* A text field a datanode sends: 1..max-1 printable bytes. */
static int valid_text(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x21 || s[i] == 0x7f)
            return 0;
    return 1;
}

static uint64_t remaining_of(uint64_t capacity, uint64_t used, int has, uint64_t remaining)
{
    if (has)
        return remaining;
    return capacity > used ? capacity - used : 0;
}

/* The live, non-dead datanode of slot, or NULL. */
static struct dm_node *slot_node(struct nn *nn, uint32_t slot)
{
    struct dm_node *dn = dm_get(nn->dm, slot);
    return dn && dn->state != DM_DEAD ? dn : NULL;
}

/* bm_remove_block callback: the replica on datanode slot must go. */
static void queue_delete(const struct bm_block *b, uint32_t slot, void *arg)
{
    struct nn *nn = arg;
    struct dm_node *dn = dm_get(nn->dm, slot);
    if (dn)
        dm_queue_delete(nn->dm, dn, b->id, b->genstamp, b->length);
}

void nn_dnserv_block_removed(uint64_t block_id, void *arg)
{
    struct nn *nn = arg;
    if (nn->bm)
        bm_remove_block(nn->bm, block_id, queue_delete, nn);
}

void nn_dnserv_replication_changed(struct nn *nn, const char *path)
{
    struct ns_block *blocks = NULL;
    struct ns_stat st;
    size_t n = 0;
    char err[ERRLEN];

    if (ns_get_blocks(nn->ns, path, &st, &blocks, &n, err, sizeof(err)) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct bm_block *b = bm_get(nn->bm, blocks[i].id);
        if (b)
            bm_set_expected(nn->bm, b, st.replication);
    }
    free(blocks);
}

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
    bm_complete_block(nn->bm, b, length);
}

/* ---------------------------------------------------- datanode calls */

/* Counts of what became of the replicas of one report. */
struct report_tally {
    size_t added, unknown, orphans, stale, bad_length;
};

static void add_replica(struct nn *nn, const struct dm_node *dn, const Dfs__BlockInfo *bi,
                        struct report_tally *t, int verbose)
{
    enum bm_report_rc rc = bm_add_replica(nn->bm, dn->slot, bi->id, bi->genstamp, bi->length);
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
            dm_queue_delete(nn->dm, dm_get(nn->dm, dn->slot), bi->id, bi->genstamp, bi->length);
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
static void full_report(struct nn *nn, const struct dm_node *dn, Dfs__BlockInfo **blocks,
                        size_t n, const char *what)
{
    struct report_tally t = { 0 };
    bm_report_begin(nn->bm, dn->slot);
    for (size_t i = 0; i < n; i++)
        add_replica(nn, dn, blocks[i], &t, 0);
    size_t dropped = bm_report_end(nn->bm, dn->slot);
    LOG_INFO("datanode %s at %s:%u (%s): %s of %zu replicas: %zu known, %zu unknown "
             "(%zu orphans to delete), %zu stale, %zu with a wrong length; %zu no longer listed",
             dn->storage_id, dn->host, dn->port, dn->rack, what, n, t.added + t.bad_length,
             t.unknown, t.orphans, t.stale, t.bad_length, dropped);
}

int nn_dnserv_register(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
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
        host = peer_host(c, hostbuf, sizeof(hostbuf));
    if (!valid_text(host, DM_HOST_MAX) || id->port == 0 || id->port > 65535) {
        reply_statusf(nn, c, h, DFS_ERR_INVAL, "invalid transfer address %s:%u",
                      host ? host : "", id->port);
        return 0;
    }
    const char *rack = pl_rack(nn->pl, host, id->port);
    struct dm_node *dn = dm_register(nn->dm, id->storage_id, host, id->port,
                                     id->has_http_port ? id->http_port : 0, rack,
                                     req->capacity, req->used,
                                     remaining_of(req->capacity, req->used, req->has_remaining,
                                                  req->remaining),
                                     dm_now());
    full_report(nn, dn, req->blocks, req->n_blocks, "registered with a report");

    Dfs__RegisterResp r = DFS__REGISTER_RESP__INIT;
    r.cluster_id = (char *)ns_cluster_id(nn->ns);
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

int nn_dnserv_heartbeat(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                        ProtobufCMessage *m)
{
    Dfs__HeartbeatReq *req = (Dfs__HeartbeatReq *)m;
    Dfs__HeartbeatResp r = DFS__HEARTBEAT_RESP__INIT;
    Dfs__DatanodeCommand cmd = DFS__DATANODE_COMMAND__INIT;
    Dfs__DatanodeCommand *cmds[1] = { &cmd };
    struct dm_block *del = NULL;
    Dfs__BlockInfo *bi = NULL, **bip = NULL;

    struct dm_node *dn = dm_heartbeat(nn->dm, req->storage_id ? req->storage_id : "",
                                      req->capacity, req->used,
                                      remaining_of(req->capacity, req->used,
                                                   req->has_remaining, req->remaining),
                                      req->has_load ? req->load : 0, dm_now());
    if (!dn) {
        LOG_INFO("heartbeat from unregistered datanode %s (%s): asking it to register",
                 req->storage_id, dfs_conn_peer(c));
        cmd.type = DFS__COMMAND_TYPE__CMD_REREGISTER;
        r.n_commands = 1;
        r.commands = cmds;
    } else if (dn->ndeletes > 0) {
        del = xcalloc(DELETES_PER_HEARTBEAT, sizeof(*del));
        size_t k = dm_take_deletes(nn->dm, dn, del, DELETES_PER_HEARTBEAT);
        bi = xcalloc(k, sizeof(*bi));
        bip = xcalloc(k, sizeof(*bip));
        for (size_t i = 0; i < k; i++) {
            dfs__block_info__init(&bi[i]);
            bi[i].id = del[i].id;
            bi[i].genstamp = del[i].genstamp;
            bi[i].length = del[i].length;
            bip[i] = &bi[i];
        }
        LOG_DEBUG("datanode %s: %zu replicas to delete", dn->storage_id, k);
        cmd.type = DFS__COMMAND_TYPE__CMD_DELETE;
        cmd.n_blocks = k;
        cmd.blocks = bip;
        r.n_commands = 1;
        r.commands = cmds;
    }
    nn_reply_msg(nn, c, h, &r.base);
    free(bip);
    free(bi);
    free(del);
    return 0;
}

int nn_dnserv_blockreport(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                          ProtobufCMessage *m)
{
    Dfs__BlockReportReq *req = (Dfs__BlockReportReq *)m;
    struct dm_node *dn = req->storage_id ? dm_find(nn->dm, req->storage_id) : NULL;

    if (!dn || dn->state == DM_DEAD) {
        reply_statusf(nn, c, h, DFS_ERR_NOENT, "unknown datanode %s: register again",
                      req->storage_id);
        return 0;
    }
    if (req->full) {
        full_report(nn, dn, req->added, req->n_added, "full report");
    } else {
        struct report_tally t = { 0 };
        for (size_t i = 0; i < req->n_added; i++)
            add_replica(nn, dn, req->added[i], &t, 1);
        for (size_t i = 0; i < req->n_removed; i++)
            bm_remove_replica(nn->bm, dn->slot, req->removed[i]->id);
        LOG_DEBUG("datanode %s: %zu replicas added, %zu removed", dn->storage_id,
                  req->n_added, req->n_removed);
    }
    nn_reply_status(nn, c, h, DFS_OK, NULL);
    return 0;
}

/* ------------------------------------------------------- client calls */

/* A located block being built for an answer. */
struct located {
    Dfs__LocatedBlock lb;
    Dfs__ExtendedBlock eb;
    Dfs__DatanodeId *ids;
    Dfs__DatanodeId **idp;
    protobuf_c_boolean *corrupt;
};

static void located_free(struct located *l)
{
    free(l->ids);
    free(l->idp);
    free(l->corrupt);
}

/* Fill l for block (id, gs, len) at offset with the datanodes dns[n]. */
static void located_init(struct located *l, uint64_t id, uint64_t gs, uint64_t len,
                         uint64_t offset, size_t n)
{
    dfs__located_block__init(&l->lb);
    dfs__extended_block__init(&l->eb);
    l->eb.id = id;
    l->eb.genstamp = gs;
    l->eb.has_length = 1;
    l->eb.length = len;
    l->lb.block = &l->eb;
    l->lb.offset = offset;
    l->ids = xcalloc(n, sizeof(*l->ids));
    l->idp = xcalloc(n, sizeof(*l->idp));
    l->corrupt = xcalloc(n, sizeof(*l->corrupt));
    l->lb.locs = l->idp;
    l->lb.corrupt = l->corrupt;
}

/* l for block b: its replicas sorted for a reader at (host, rack). */
static void located_replicas(struct nn *nn, struct located *l, const struct bm_block *b,
                             uint64_t offset, uint64_t length, const char *host,
                             const char *rack)
{
    size_t n = 0, nreps = b ? b->nreps : 0;
    struct pl_replica *r = xcalloc(nreps, sizeof(*r));
    for (size_t i = 0; i < nreps; i++) {
        struct dm_node *dn = slot_node(nn, b->reps[i].dn);
        if (dn)
            r[n++] = (struct pl_replica){ dn, b->reps[i].corrupt };
    }
    pl_sort_replicas(nn->pl, host, rack, r, n);
    located_init(l, b->id, b->genstamp, length, offset, n);
    for (size_t i = 0; i < n; i++) {
        dn_to_wire(r[i].dn, &l->ids[i]);
        l->idp[i] = &l->ids[i];
        l->corrupt[i] = r[i].corrupt != 0;
    }
    l->lb.n_locs = l->lb.n_corrupt = n;
    free(r);
}

int nn_dnserv_addblock(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *m)
{
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
            reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 ": generation stamp %" PRIu64
                          " is stale (the block's is %" PRIu64 ")", prev_id,
                          req->previous->genstamp, pb->genstamp);
            return 0;
        }
    }

    /* Choose the pipeline first: with no datanode, allocate nothing. */
    unsigned want = st.replication ? st.replication : 1;
    const char *chost = client_host(req->client_host, c, hostbuf, sizeof(hostbuf));
    struct dm_node **targets = xcalloc(want, sizeof(*targets));
    size_t nt = pl_choose_targets(nn->pl, nn->dm, want, chost, req->exclude, req->n_exclude,
                                  st.block_size, targets);
    if (nt == 0) {
        if (req->n_exclude > 0 && dm_count_state(nn->dm, DM_LIVE) > 0)
            reply_statusf(nn, c, h, DFS_ERR_UNAVAIL, "no live datanode left (%zu excluded)",
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
    if (prev_id && (pb = bm_get(nn->bm, prev_id)) != NULL)
        complete_block(nn, pb, prev_len);
    bm_add_block(nn->bm, id, req->inode, gs, st.replication);

    struct located l;
    located_init(&l, id, gs, 0, st.length, nt);
    for (size_t i = 0; i < nt; i++) {
        dn_to_wire(targets[i], &l.ids[i]);
        l.idp[i] = &l.ids[i];
    }
    l.lb.n_locs = l.lb.n_corrupt = nt;
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
    located_free(&l);
    free(targets);
    return 0;
}

int nn_dnserv_abandon(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                      ProtobufCMessage *m)
{
    Dfs__AbandonBlockReq *req = (Dfs__AbandonBlockReq *)m;
    char err[ERRLEN] = "";
    uint64_t id = req->block->id;

    int rc = ns_abandon_block(nn->ns, req->inode, req->client, id, err, sizeof(err));
    if (rc == DFS_OK) {
        commit_note_write(nn->commit);
        struct bm_block *b = bm_get(nn->bm, id);
        if (b && b->inode == req->inode) {
            LOG_DEBUG("%s: blk_%" PRIu64 " abandoned", req->path, id);
            bm_remove_block(nn->bm, id, queue_delete, nn);
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

int nn_dnserv_complete(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *m)
{
    Dfs__CompleteReq *req = (Dfs__CompleteReq *)m;
    char err[ERRLEN] = "";
    struct ns_stat st;
    uint64_t last_id = req->last ? req->last->id : 0;
    uint64_t last_len = req->last ? req->last->length : 0;
    Dfs__CompleteResp r = DFS__COMPLETE_RESP__INIT;

    int rc = ns_stat_inode(nn->ns, req->inode, &st, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    if (st.type == DFS_TYPE_FILE && !st.complete) {
        struct bm_block *lb = last_id ? bm_get(nn->bm, last_id) : NULL;
        if (lb && lb->genstamp != req->last->genstamp) {
            reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 ": generation stamp %" PRIu64
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

int nn_dnserv_locations(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
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
    const char *chost = client_host(req->client_host, c, hostbuf, sizeof(hostbuf));
    const char *crack = pl_client_rack(nn->pl, nn->dm, chost);

    struct located *ls = xcalloc(n, sizeof(*ls));
    Dfs__LocatedBlock **lbp = xcalloc(n, sizeof(*lbp));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ns_block *nb = &blocks[i];
        if (!overlaps(nb->offset, nb->length, start, end))
            continue;
        const struct bm_block *b = bm_get(nn->bm, nb->id);
        if (b) {
            located_replicas(nn, &ls[k], b, nb->offset, nb->length, chost, crack);
        } else {
            located_init(&ls[k], nb->id, nb->genstamp, nb->length, nb->offset, 0);
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
        located_free(&ls[i]);
    free(lbp);
    free(ls);
    free(blocks);
    return 0;
}

int nn_dnserv_badblock(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *m)
{
    Dfs__ReportBadBlockReq *req = (Dfs__ReportBadBlockReq *)m;
    const struct dm_node *dn = dm_find(nn->dm, req->storage_id);
    uint64_t id = req->block->id;

    if (!dn) {
        reply_statusf(nn, c, h, DFS_ERR_NOENT, "unknown datanode %s", req->storage_id);
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
        reply_statusf(nn, c, h, DFS_ERR_STALE, "blk_%" PRIu64 ": stale generation stamp %"
                      PRIu64, id, req->block->genstamp);
        break;
    case BM_UNKNOWN:
        reply_statusf(nn, c, h, DFS_ERR_NOENT, "datanode %s holds no replica of blk_%" PRIu64,
                      dn->storage_id, id);
        break;
    }
    return 0;
}

static int by_address(const void *a, const void *b)
{
    const struct dm_node *x = *(const struct dm_node *const *)a;
    const struct dm_node *y = *(const struct dm_node *const *)b;
    int d = strcmp(x->host, y->host);
    if (d)
        return d;
    return x->port < y->port ? -1 : x->port > y->port;
}

int nn_dnserv_report(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     ProtobufCMessage *m)
{
    (void)m;
    size_t n = dm_count(nn->dm);
    const struct dm_node **dns = xcalloc(n, sizeof(*dns));
    Dfs__DatanodeInfo *infos = xcalloc(n, sizeof(*infos));
    Dfs__DatanodeInfo **infop = xcalloc(n, sizeof(*infop));
    Dfs__DatanodeId *ids = xcalloc(n, sizeof(*ids));
    Dfs__ClusterReportResp r = DFS__CLUSTER_REPORT_RESP__INIT;
    uint64_t now = dm_now(), files, dirs;

    for (size_t i = 0; i < n; i++)
        dns[i] = dm_get(nn->dm, (uint32_t)i);
    qsort(dns, n, sizeof(*dns), by_address);
    for (size_t i = 0; i < n; i++) {
        const struct dm_node *dn = dns[i];
        Dfs__DatanodeInfo *d = &infos[i];
        dfs__datanode_info__init(d);
        dn_to_wire(dn, &ids[i]);
        d->id = &ids[i];
        d->state = (char *)dm_state_name(dn->state);
        d->capacity = dn->capacity;
        d->used = dn->used;
        d->remaining = dn->remaining;
        d->blocks = bm_dn_blocks(nn->bm, dn->slot);
        d->last_heartbeat_ms = now > dn->last_heartbeat ? now - dn->last_heartbeat : 0;
        d->has_load = 1;
        d->load = dn->load;
        infop[i] = d;
        if (dn->state != DM_DEAD) {
            r.capacity += dn->capacity;
            r.used += dn->used;
            r.remaining += dn->remaining;
        }
    }
    r.n_datanodes = n;
    r.datanodes = infop;
    r.has_capacity = r.has_used = r.has_remaining = 1;
    bm_counts(nn->bm, &r.blocks, &r.under_replicated, &r.corrupt);
    r.has_blocks = r.has_under_replicated = r.has_corrupt = 1;
    ns_counts(nn->ns, &files, &dirs);
    r.has_files = 1;
    r.files = files;
    r.has_safemode = 1;
    r.safemode = 0;
    nn_reply_msg(nn, c, h, &r.base);
    free(ids);
    free(infop);
    free(infos);
    free(dns);
    return 0;
}

/* ------------------------------------------------------------ modules */

/* dnmanager callback: a datanode turned dead; its replicas are gone. */
static void on_dead(struct dm_node *dn, void *arg)
{
    struct nn *nn = arg;
    if (!nn->bm)
        return;
    size_t k = bm_drop_datanode(nn->bm, dn->slot);
    LOG_WARN("datanode %s: %zu replicas dropped from the block map", dn->storage_id, k);
}

int nn_placement_init(struct nn *nn)
{
    char err[ERRLEN];
    nn->pl = pl_new(nn->conf.nn_topology_file, 0, err, sizeof(err));
    if (!nn->pl) {
        LOG_ERROR("namenode.topology_file: %s", err);
        return -1;
    }
    if (*nn->conf.nn_topology_file)
        LOG_INFO("topology from %s", nn->conf.nn_topology_file);
    return 0;
}

void nn_placement_shutdown(struct nn *nn)
{
    pl_free(nn->pl);
    nn->pl = NULL;
}

int nn_dnmanager_init(struct nn *nn)
{
    nn->dm = dm_new(nn->conf.nn_stale_ms, nn->conf.nn_dead_ms, on_dead, nn);
    if (dm_start_timer(nn->dm, nn->base, nn->conf.nn_heartbeat_recheck_ms) != 0) {
        LOG_ERROR("cannot start the datanode timer");
        return -1;
    }
    return 0;
}

void nn_dnmanager_shutdown(struct nn *nn)
{
    dm_free(nn->dm);
    nn->dm = NULL;
}

int nn_blockmap_init(struct nn *nn)
{
    char err[ERRLEN];
    uint64_t blocks, under;
    nn->bm = bm_new();
    if (bm_load(nn->bm, nn->ns, err, sizeof(err)) != 0) {
        LOG_ERROR("cannot build the block map: %s", err);
        bm_free(nn->bm);
        nn->bm = NULL;
        return -1;
    }
    ns_set_block_removed(nn->ns, nn_dnserv_block_removed, nn);
    bm_counts(nn->bm, &blocks, &under, NULL);
    LOG_INFO("block map: %" PRIu64 " blocks", blocks);
    return 0;
}

void nn_blockmap_shutdown(struct nn *nn)
{
    if (nn->ns)
        ns_set_block_removed(nn->ns, NULL, NULL);
    bm_free(nn->bm);
    nn->bm = NULL;
}
