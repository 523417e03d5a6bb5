/*
 * pipeline.c - the datanode pipeline of the block being written: set-up,
 * packets, acks and recovery from datanode failures (see pipeline.h).
 *
 * A connection to the pipeline carries packets numbered from 0; after a
 * recovery the new connection numbers the resent packets from 0 again.
 * The ring's front packet is always the one the next ack is for.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "clock.h"
#include "error_i.h"
#include "frame.h"
#include "pipeline.h"

/* AddBlock attempts for one block when its pipeline cannot be set up
 * (HDFS: dfs.client.block.write.retries = 3, so 4 attempts). */
#define PL_SETUP_TRIES 4
/* Recoveries of one block before the write gives up on it. */
#define PL_MAX_RECOVERIES 20
/* UpdatePipeline rounds asking for replacements in one recovery. */
#define PL_REPLACE_ROUNDS 3
/* A failed datanode is left out of this writer's pipelines this long
 * (HDFS's excluded-nodes cache: 10 minutes). */
#define PL_EXCLUDE_MS 600000
#define PL_EXCLUDE_MAX 64

int pl_ack_bad_index(const Dfs__Status *statuses, size_t n_statuses, size_t nnodes)
{
    for (size_t i = 0; i < nnodes; i++)
        if (i >= n_statuses || statuses[i] != DFS__STATUS__OK)
            return (int)i;
    return -1;
}

size_t pl_setup_bad_index(int bad_index, size_t nnodes)
{
    return bad_index >= 0 && (size_t)bad_index < nnodes ? (size_t)bad_index : 0;
}

unsigned pl_replacements(int replace, size_t survivors, unsigned wanted, uint64_t acked)
{
    if (!replace || acked == 0 || survivors >= wanted)
        return 0;
    return wanted - (unsigned)survivors;
}

/* --------------------------------------------------------- bookkeeping */

static void set_node(struct pl_node *n, const Dfs__DatanodeId *d)
{
    snprintf(n->storage_id, sizeof(n->storage_id), "%s", d->storage_id ? d->storage_id : "");
    snprintf(n->host, sizeof(n->host), "%s", d->host ? d->host : "");
    n->port = d->port;
}

/* Replace the pipeline by locs[0..n).  DFS_OK or DFS_ERR_NOMEM. */
static int set_nodes(dfs_file *f, Dfs__DatanodeId *const *locs, size_t n)
{
    f->nnodes = 0;
    if (n > f->nodes_cap) {
        struct pl_node *p = realloc(f->nodes, n * sizeof(*p));
        if (!p)
            return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
        f->nodes = p;
        f->nodes_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        set_node(&f->nodes[i], locs[i]);
    f->nnodes = n;
    return DFS_OK;
}

/* Add locs[0..n) at the end of the pipeline.  DFS_OK or DFS_ERR_NOMEM. */
static int add_nodes(dfs_file *f, Dfs__DatanodeId *const *locs, size_t n)
{
    if (f->nnodes + n > f->nodes_cap) {
        struct pl_node *p = realloc(f->nodes, (f->nnodes + n) * sizeof(*p));
        if (!p)
            return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
        f->nodes = p;
        f->nodes_cap = f->nnodes + n;
    }
    for (size_t i = 0; i < n; i++)
        set_node(&f->nodes[f->nnodes++], locs[i]);
    return DFS_OK;
}

/* Leave a failed datanode out of this writer's pipelines for a while. */
static void exclude(dfs_file *f, const char *storage_id)
{
    uint64_t now = dfs_mono_ms();
    size_t k = 0;
    for (size_t i = 0; i < f->nexclude; i++)        /* drop expired ones */
        if (f->exclude[i].until_ms > now && strcmp(f->exclude[i].storage_id, storage_id) != 0)
            f->exclude[k++] = f->exclude[i];
    f->nexclude = k;
    if (!f->exclude) {
        f->exclude = calloc(PL_EXCLUDE_MAX, sizeof(*f->exclude));
        if (!f->exclude)
            return;                 /* only a hint for the namenode */
    }
    if (f->nexclude == PL_EXCLUDE_MAX)
        memmove(f->exclude, f->exclude + 1, --f->nexclude * sizeof(*f->exclude));
    struct pl_exclude *e = &f->exclude[f->nexclude++];
    snprintf(e->storage_id, sizeof(e->storage_id), "%s", storage_id);
    e->until_ms = now + PL_EXCLUDE_MS;
}

/* The storage ids excluded now, pointing into f->exclude: for a request's
 * `exclude` (NULL when none or out of memory). */
static char **exclude_list(dfs_file *f, size_t *n)
{
    uint64_t now = dfs_mono_ms();
    char **v = f->nexclude ? calloc(f->nexclude, sizeof(*v)) : NULL;
    *n = 0;
    if (v)
        for (size_t i = 0; i < f->nexclude; i++)
            if (f->exclude[i].until_ms > now)
                v[(*n)++] = f->exclude[i].storage_id;
    return v;
}

/* Record that datanode n failed this block for `why`: named in the
 * failure message, excluded, logged. */
static void note_failure(dfs_file *f, const struct pl_node *n, const char *why)
{
    size_t used = strlen(f->failures);
    if (used < sizeof(f->failures) - 1)
        snprintf(f->failures + used, sizeof(f->failures) - used, "%s%s:%u (%s)",
                 used ? "; " : "", n->host, n->port, why);
    exclude(f, n->storage_id);
    dfs_fs_log(f->fs, DFS_LOG_WARN, "%s: block blk_%llu: datanode %s:%u failed: %s", f->path,
               (unsigned long long)f->blk_id, n->host, n->port, why);
}

/* Take datanode i out of the pipeline, keeping the others' order. */
static void drop_node(dfs_file *f, size_t i)
{
    if (i >= f->nnodes)
        return;
    memmove(f->nodes + i, f->nodes + i + 1, (f->nnodes - i - 1) * sizeof(*f->nodes));
    f->nnodes--;
}

/* Wire DatanodeIds of nodes[from..nnodes) into ids/ptrs (nnodes entries
 * each, caller's arrays). */
static void wire_nodes(dfs_file *f, size_t from, Dfs__DatanodeId *ids, Dfs__DatanodeId **ptrs)
{
    for (size_t i = from; i < f->nnodes; i++) {
        Dfs__DatanodeId init = DFS__DATANODE_ID__INIT;
        ids[i] = init;
        ids[i].storage_id = f->nodes[i].storage_id;
        ids[i].host = f->nodes[i].host;
        ids[i].port = f->nodes[i].port;
        ptrs[i - from] = &ids[i];
    }
}

/* --------------------------------------------------------------- I/O */

/* Checksum and frame the packet of slot s as seq into iov (4 entries,
 * using hdr buffers fh and phb). */
static void frame_packet(dfs_file *f, uint64_t seq, const struct pkt_slot *s,
                         uint8_t fh[DFS_FRAME_HDR_LEN], uint8_t phb[DFS_PKT_HDR_LEN],
                         struct iovec iov[4])
{
    struct dfs_pkt_hdr ph = {
        .seq = seq,
        .offset = s->offset,
        .data_len = (uint32_t)s->len,
        .flags = s->flags,
        .chunk_size = f->chunk_size,
        .nsums = (uint32_t)dfs_nchunks(s->len, f->chunk_size),
    };
    size_t sums_len = 8u * ph.nsums;
    dfs_checksum_chunks_be(s->data, s->len, f->chunk_size, f->sums);
    dfs_frame_encode_hdr(fh, DFS_MSG_PACKET, 0, (uint32_t)(DFS_PKT_HDR_LEN + sums_len + s->len));
    dfs_pkt_encode_hdr(phb, &ph);
    iov[0] = (struct iovec){ fh, DFS_FRAME_HDR_LEN };
    iov[1] = (struct iovec){ phb, DFS_PKT_HDR_LEN };
    iov[2] = (struct iovec){ f->sums, sums_len };
    iov[3] = (struct iovec){ s->data, s->len };
}

/* Result of reading one ack. */
enum ack_rc { ACK_OK = 0, ACK_FAILED = 1 };

/* Read one ack (for the ring's front packet).  ACK_OK: acked and taken out
 * of the ring.  ACK_FAILED: *bad names the datanode that failed, why the
 * reason. */
static enum ack_rc read_ack(dfs_file *f, size_t *bad, char *why, size_t whysz)
{
    struct dfs_frame_hdr h;
    *bad = 0;
    int rc = dfs_sock_recv_frame(&f->dn, &h, &f->rbuf, &f->rcap, DFS_FRAME_MAX_CONTROL);
    if (rc == -ETIMEDOUT) {
        snprintf(why, whysz, "no ack within %u ms", f->fs->opts.ack_timeout_ms);
        return ACK_FAILED;
    }
    if (rc) {
        snprintf(why, whysz, "%s", strerror(-rc));
        return ACK_FAILED;
    }
    Dfs__PacketAck *ack = h.type == DFS_MSG_PACKET_ACK
                          ? dfs__packet_ack__unpack(NULL, h.len, f->rbuf) : NULL;
    if (!ack) {
        snprintf(why, whysz, "malformed ack (message 0x%x)", h.type);
        return ACK_FAILED;
    }
    enum ack_rc res = ACK_OK;
    if (pktring_count(&f->ring) == 0 || ack->seq != f->acked_seq) {
        snprintf(why, whysz, "ack for packet %llu, expected %llu",
                 (unsigned long long)ack->seq, (unsigned long long)f->acked_seq);
        res = ACK_FAILED;
    } else {
        int i = pl_ack_bad_index(ack->statuses, ack->n_statuses, f->nnodes);
        if (i >= 0) {
            *bad = (size_t)i;
            int st = (size_t)i < ack->n_statuses ? (int)ack->statuses[i] : DFS_ERR_CONN;
            snprintf(why, whysz, "%s", (size_t)i < ack->n_statuses ? dfs_strerror(st)
                                                                    : "no status in the ack");
            res = ACK_FAILED;
        } else {
            pktring_pop(&f->ring);
            f->acked_seq++;
        }
    }
    dfs__packet_ack__free_unpacked(ack, NULL);
    return res;
}

/* After a failed send: acks already there may name the datanode that
 * failed (a downstream one, reported by its upstream); else it is the
 * first.  Acks of good packets are taken.  Returns the datanode to blame;
 * why holds the reason (err's, unless an ack tells better). */
static size_t blame_after_send_error(dfs_file *f, int err, char *why, size_t whysz)
{
    size_t bad = 0;
    snprintf(why, whysz, "%s", err == -ETIMEDOUT ? "no room to send within the ack timeout"
                                                 : strerror(-err));
    if (!dfs_sock_is_open(&f->dn))
        return 0;
    int saved = f->dn.timeout_ms;
    f->dn.timeout_ms = 1000;
    while (pktring_count(&f->ring) > 0 && dfs_sock_wait_readable(&f->dn, 0) > 0) {
        char w[256];
        if (read_ack(f, &bad, w, sizeof(w)) == ACK_OK)
            continue;
        if (bad > 0)                /* an ack that names a downstream node */
            snprintf(why, whysz, "%s", w);
        break;
    }
    f->dn.timeout_ms = saved;
    return bad;
}

/* Write packet s as seq, watching for acks while the first datanode takes
 * no more (an ack naming a failed downstream datanode arrives first).
 * DFS_OK, or ACK_FAILED-style: returns 1 with *bad and why. */
static int write_packet(dfs_file *f, uint64_t seq, const struct pkt_slot *s, size_t *bad,
                        char *why, size_t whysz)
{
    uint8_t fh[DFS_FRAME_HDR_LEN], phb[DFS_PKT_HDR_LEN];
    struct iovec iovs[4], *iov = iovs;
    int cnt = 4;
    frame_packet(f, seq, s, fh, phb, iovs);
    for (;;) {
        int rc = dfs_sock_writev_watch(&f->dn, &iov, &cnt);
        if (rc == 0)
            return DFS_OK;
        if (rc < 0) {
            *bad = blame_after_send_error(f, rc, why, whysz);
            return 1;
        }
        /* Readable: an ack (of an earlier packet) or the end. */
        if (pktring_count(&f->ring) == 0 || pktring_at(&f->ring, 0) == s) {
            *bad = blame_after_send_error(f, -ECONNRESET, why, whysz);
            return 1;
        }
        if (read_ack(f, bad, why, whysz) != ACK_OK)
            return 1;
    }
}

/* Connect to the pipeline's first datanode and set the write of the
 * current block up (stage; length and old_gs as WriteBlockReq wants them),
 * then send every packet of the ring on it.  After a WS_RECOVER every
 * datanode holds `length` bytes: ring packets that end there (without a
 * flag to carry) count as acked.  DFS_OK, or 1 with *bad (the datanode to
 * blame) and why; or an error that is no datanode's fault (out of
 * memory). */
static int setup(dfs_file *f, Dfs__WriteStage stage, uint64_t length, uint64_t old_gs,
                 size_t *bad, char *why, size_t whysz)
{
    char err[512];
    const struct pl_node *first = &f->nodes[0];
    *bad = 0;
    dfs_sock_close(&f->dn);
    int rc = dfs_fs_connect_dn(f->fs, &f->dn, first->host, first->port,
                               (int)f->fs->opts.timeout_ms, err, sizeof(err));
    if (rc) {
        snprintf(why, whysz, "cannot connect: %s", strerror(-rc));
        return 1;
    }
    /* From here on, a silent pipeline counts as failed after the ack timeout. */
    f->dn.timeout_ms = (int)f->fs->opts.ack_timeout_ms;

    Dfs__DatanodeId *ids = calloc(f->nnodes, sizeof(*ids));
    Dfs__DatanodeId **ptrs = calloc(f->nnodes, sizeof(*ptrs));
    if (!ids || !ptrs) {
        free(ids);
        free(ptrs);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    wire_nodes(f, 1, ids, ptrs);
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    eb.id = f->blk_id;
    eb.genstamp = f->blk_gs;
    Dfs__WriteBlockReq wr = DFS__WRITE_BLOCK_REQ__INIT;
    wr.block = &eb;
    wr.chunk_size = f->chunk_size;
    wr.n_targets = f->nnodes - 1;
    wr.targets = ptrs;
    wr.client = f->fs->client_name;
    if (stage != DFS__WRITE_STAGE__WS_CREATE) {
        wr.has_stage = 1;
        wr.stage = stage;
        wr.has_length = 1;
        wr.length = length;
    }
    if (stage == DFS__WRITE_STAGE__WS_APPEND) {
        wr.has_old_genstamp = 1;
        wr.old_genstamp = old_gs;
    }
    rc = dfs_sock_send_msg(&f->dn, DFS_MSG_WRITEBLOCK_REQ, 1, &wr.base);
    free(ids);
    free(ptrs);
    struct dfs_frame_hdr h;
    if (rc == 0)
        rc = dfs_sock_recv_frame(&f->dn, &h, &f->rbuf, &f->rcap, DFS_FRAME_MAX_CONTROL);
    if (rc) {
        snprintf(why, whysz, "pipeline set-up: %s", rc == -ETIMEDOUT
                 ? "no answer within the ack timeout" : strerror(-rc));
        return 1;
    }
    Dfs__WriteBlockResp *resp = h.type == DFS_MSG_WRITEBLOCK_RESP
                                ? dfs__write_block_resp__unpack(NULL, h.len, f->rbuf) : NULL;
    if (!resp) {
        snprintf(why, whysz, "malformed pipeline set-up answer");
        return 1;
    }
    rc = (int)resp->status;
    if (rc != DFS_OK) {
        *bad = pl_setup_bad_index(resp->bad_index, f->nnodes);
        snprintf(why, whysz, "refused the write: %s",
                 resp->error && *resp->error ? resp->error
                 : dfs_strerror(rc > 0 && rc < DFS_ERR__MAX ? rc : DFS_ERR_IO));
    }
    dfs__write_block_resp__free_unpacked(resp, NULL);
    if (rc != DFS_OK)
        return 1;

    if (stage == DFS__WRITE_STAGE__WS_RECOVER) {
        for (const struct pkt_slot *p; (p = pktring_at(&f->ring, 0)) != NULL &&
             p->offset + p->len <= length && p->flags == 0;)
            pktring_pop(&f->ring);
        /* The replicas continue at the start of their partial chunk. */
        pktring_trim_front(&f->ring, length - length % f->chunk_size);
    }
    /* The ring's packets again, numbered from 0 on this connection. */
    f->next_seq = f->acked_seq = 0;
    for (size_t i = 0; i < pktring_count(&f->ring); i++) {
        const struct pkt_slot *s = pktring_at(&f->ring, i);
        size_t n_before = pktring_count(&f->ring);
        rc = write_packet(f, f->next_seq, s, bad, why, whysz);
        if (rc)
            return rc;
        f->next_seq++;
        i -= n_before - pktring_count(&f->ring);      /* acks taken meanwhile */
    }
    return DFS_OK;
}

static int recover(dfs_file *f, size_t bad, const char *why);

/* ------------------------------------------------------- namenode side */

void pl_abandon(dfs_file *f)
{
    Dfs__AbandonBlockReq req = DFS__ABANDON_BLOCK_REQ__INIT;
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    eb.id = f->blk_id;
    eb.genstamp = f->blk_gs;
    req.path = f->path;
    req.inode = f->inode;
    req.client = f->fs->client_name;
    req.block = &eb;
    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(f->fs->nn, DFS_MSG_ABANDON_REQ, &req.base,
                          &dfs__abandon_block_resp__descriptor, &m);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    if (rc != DFS_OK)
        dfs_fs_log(f->fs, DFS_LOG_WARN, "%s: cannot abandon block blk_%llu: %s", f->path,
                   (unsigned long long)f->blk_id, dfs_errmsg());
}

/* The error of a write whose every datanode failed. */
static int all_failed(dfs_file *f)
{
    f->failed = 1;
    return dfs_set_error(DFS_ERR_IO, "%s: block blk_%llu: all datanodes of the pipeline "
                         "failed: %s", f->path, (unsigned long long)f->blk_id,
                         f->failures[0] ? f->failures : "none was left");
}

/* Ask TransferBlockReq of the survivor nodes[0]: the block's first
 * `length` bytes to the replacements repl[0..n), under the new genstamp.
 * DFS_OK, or an error with the reason in why. */
static int transfer(dfs_file *f, Dfs__DatanodeId **repl, size_t n, uint64_t length,
                    char *why, size_t whysz)
{
    struct dfs_sock s = { .fd = -1 };
    const struct pl_node *src = &f->nodes[0];
    char err[512];
    int rc = dfs_fs_connect_dn(f->fs, &s, src->host, src->port, (int)f->fs->opts.timeout_ms,
                               err, sizeof(err));
    if (rc) {
        snprintf(why, whysz, "cannot connect to the source %.400s", err);
        return DFS_ERR_CONN;
    }
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    eb.id = f->blk_id;
    eb.genstamp = f->blk_gs;
    eb.has_length = 1;
    eb.length = length;
    Dfs__TransferBlockReq req = DFS__TRANSFER_BLOCK_REQ__INIT;
    req.block = &eb;
    req.n_targets = n;
    req.targets = repl;
    rc = dfs_sock_send_msg(&s, DFS_MSG_TRANSFER_REQ, 1, &req.base);
    struct dfs_frame_hdr h;
    if (rc == 0)
        rc = dfs_sock_recv_frame(&s, &h, &f->rbuf, &f->rcap, DFS_FRAME_MAX_CONTROL);
    if (rc) {
        dfs_sock_close(&s);
        snprintf(why, whysz, "transfer from %s:%u: %s", src->host, src->port, strerror(-rc));
        return rc == -ETIMEDOUT ? DFS_ERR_TIMEOUT : DFS_ERR_CONN;
    }
    dfs_sock_close(&s);
    Dfs__TransferBlockResp *resp = h.type == DFS_MSG_TRANSFER_RESP
                                   ? dfs__transfer_block_resp__unpack(NULL, h.len, f->rbuf)
                                   : NULL;
    if (!resp) {
        snprintf(why, whysz, "transfer from %s:%u: malformed answer", src->host, src->port);
        return DFS_ERR_PROTO;
    }
    rc = (int)resp->status;
    if (rc != DFS_OK) {
        snprintf(why, whysz, "transfer from %s:%u: %s", src->host, src->port,
                 resp->error && *resp->error ? resp->error : dfs_strerror(rc));
        if (rc <= 0 || rc >= DFS_ERR__MAX)
            rc = DFS_ERR_IO;
    }
    dfs__transfer_block_resp__free_unpacked(resp, NULL);
    return rc;
}

/* The end of the block's LAST packet when it is among the unacked ones,
 * else 0. */
static uint64_t last_packet_end(const dfs_file *f)
{
    size_t n = pktring_count(&f->ring);
    const struct pkt_slot *p = n ? pktring_at(&f->ring, n - 1) : NULL;
    return p && (p->flags & DFS_PKT_LAST) ? p->offset + p->len : 0;
}

/* Ask datanode n about its replica of the block under genstamp gs:
 * 1 finalized at `length` bytes, 0 not, -1 it has another genstamp. */
static int probe_finalized(dfs_file *f, const struct pl_node *n, uint64_t gs, uint64_t length)
{
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    eb.id = f->blk_id;
    eb.genstamp = gs;
    Dfs__ReplicaInfoReq req = DFS__REPLICA_INFO_REQ__INIT;
    req.block = &eb;
    struct dfs_sock s = { .fd = -1 };
    struct dfs_frame_hdr h;
    int rc = dfs_fs_connect_dn(f->fs, &s, n->host, n->port, (int)f->fs->opts.timeout_ms,
                               NULL, 0);
    if (rc == 0) {
        s.timeout_ms = (int)f->fs->opts.ack_timeout_ms;
        rc = dfs_sock_send_msg(&s, DFS_MSG_REPLICA_INFO_REQ, 1, &req.base);
    }
    if (rc == 0)
        rc = dfs_sock_recv_frame(&s, &h, &f->rbuf, &f->rcap, DFS_FRAME_MAX_CONTROL);
    dfs_sock_close(&s);
    Dfs__ReplicaInfoResp *r = rc == 0 && h.type == DFS_MSG_REPLICA_INFO_RESP
                              ? dfs__replica_info_resp__unpack(NULL, h.len, f->rbuf) : NULL;
    int res = r && r->status == DFS__STATUS__ERR_STALE ? -1
              : r && r->status == DFS__STATUS__OK && r->finalized && r->has_visible_length &&
                r->visible_length == length;
    if (r)
        dfs__replica_info_resp__free_unpacked(r, NULL);
    return res;
}

/* Whether every survivor holds the block finalized at `length` bytes
 * under one of the genstamps the block had (ReplicaInfoReq): the LAST
 * packet reached them and only an ack went missing. */
static int all_finalized_at(dfs_file *f, uint64_t length)
{
    for (size_t i = 0; i < f->nnodes; i++) {
        int yes = probe_finalized(f, &f->nodes[i], f->blk_gs, length);
        for (size_t k = f->ngs_old; yes < 0 && k > 0; k--)
            yes = probe_finalized(f, &f->nodes[i], f->gs_old[k - 1], length);
        if (yes != 1)
            return 0;
    }
    return f->nnodes > 0;
}

/* UpdatePipelineReq for the survivors in f->nodes: the block gets a new
 * genstamp and, when the policy asks, replacements, which get the acked
 * bytes from a survivor and join the end of the pipeline (a replacement
 * whose transfer fails is excluded and another round asked for).
 * DFS_OK, or the namenode's refusal (f->failed set). */
static int update_pipeline(dfs_file *f, uint64_t acked)
{
    for (unsigned round = 0;; round++) {
        unsigned want = round < PL_REPLACE_ROUNDS
                        ? pl_replacements(f->fs->opts.replace_datanode, f->nnodes, f->wanted,
                                          acked)
                        : 0;
        char **keep = calloc(f->nnodes ? f->nnodes : 1, sizeof(*keep));
        size_t nexcl;
        char **excl = exclude_list(f, &nexcl);
        if (!keep) {
            free(excl);
            f->failed = 1;
            return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < f->nnodes; i++)
            keep[i] = f->nodes[i].storage_id;
        Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
        eb.id = f->blk_id;
        eb.genstamp = f->blk_gs;
        Dfs__UpdatePipelineReq req = DFS__UPDATE_PIPELINE_REQ__INIT;
        req.path = f->path;
        req.inode = f->inode;
        req.client = f->fs->client_name;
        req.block = &eb;
        req.n_keep = f->nnodes;
        req.keep = keep;
        req.n_exclude = nexcl;
        req.exclude = excl;
        req.has_replacements = want > 0;
        req.replacements = want;
        req.client_host = f->fs->client_host;
        ProtobufCMessage *m = NULL;
        int rc = dfs_rpc_call(f->fs->nn, DFS_MSG_UPDATE_PIPELINE_REQ, &req.base,
                              &dfs__update_pipeline_resp__descriptor, &m);
        free(keep);
        free(excl);
        Dfs__UpdatePipelineResp *r = (Dfs__UpdatePipelineResp *)m;
        if (rc == DFS_OK && !r->has_genstamp)
            rc = dfs_set_error(DFS_ERR_PROTO, "namenode answered without a generation stamp");
        if (rc != DFS_OK) {
            if (m)
                protobuf_c_message_free_unpacked(m, NULL);
            f->failed = 1;
            return dfs_set_error(rc, "%s: block blk_%llu: cannot rebuild the pipeline after "
                                 "%s: %s", f->path, (unsigned long long)f->blk_id,
                                 f->failures, dfs_errmsg());
        }
        if (f->ngs_old == sizeof(f->gs_old) / sizeof(f->gs_old[0])) {
            memmove(f->gs_old, f->gs_old + 1, sizeof(f->gs_old) - sizeof(f->gs_old[0]));
            f->ngs_old--;
        }
        f->gs_old[f->ngs_old++] = f->blk_gs;
        f->blk_gs = r->genstamp;
        if (r->n_replacements == 0) {
            protobuf_c_message_free_unpacked(m, NULL);
            return DFS_OK;
        }
        char why[512];
        rc = transfer(f, r->replacements, r->n_replacements, acked, why, sizeof(why));
        if (rc == DFS_OK) {
            rc = add_nodes(f, r->replacements, r->n_replacements);
            for (size_t i = 0; rc == DFS_OK && i < r->n_replacements; i++)
                dfs_fs_log(f->fs, DFS_LOG_INFO, "%s: block blk_%llu: datanode %s:%u replaces "
                           "a failed one", f->path, (unsigned long long)f->blk_id,
                           r->replacements[i]->host, r->replacements[i]->port);
            protobuf_c_message_free_unpacked(m, NULL);
            if (rc != DFS_OK)
                f->failed = 1;
            return rc;
        }
        for (size_t i = 0; i < r->n_replacements; i++) {
            struct pl_node n;
            set_node(&n, r->replacements[i]);
            note_failure(f, &n, why);
        }
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

/* --------------------------------------------------------------- recovery */

/* Datanode `bad` of the pipeline failed for `why`: rebuild the pipeline
 * and send the unacked packets again (see pipeline.h).  DFS_OK when the
 * write can go on, else an error (f->failed set). */
static int recover(dfs_file *f, size_t bad, const char *why)
{
    char reason[512];
    snprintf(reason, sizeof(reason), "%s", why);
    for (;;) {
        dfs_sock_close(&f->dn);
        if (bad < f->nnodes) {
            note_failure(f, &f->nodes[bad], reason);
            drop_node(f, bad);
        }
        if (f->nnodes == 0)
            return all_failed(f);
        if (++f->recoveries > PL_MAX_RECOVERIES) {
            f->failed = 1;
            return dfs_set_error(DFS_ERR_IO, "%s: block blk_%llu: gave up after %u pipeline "
                                 "recoveries: %s", f->path, (unsigned long long)f->blk_id,
                                 PL_MAX_RECOVERIES, f->failures);
        }
        uint64_t acked = pktring_acked(&f->ring);
        uint64_t sent = last_packet_end(f);
        /* The block's LAST packet went out and only acks are missing: the
         * survivors finalized every byte sent, and reopen only at that
         * length. */
        if (sent > acked && all_finalized_at(f, sent))
            acked = sent;
        if (acked == 0 && !f->blk_reopened) {
            /* Nothing of this block is promised anywhere: start it afresh
             * on other datanodes. */
            pl_abandon(f);
            return pl_begin_block(f);
        }
        int rc = update_pipeline(f, acked);
        if (rc != DFS_OK)
            return rc;
        /* A survivor that finalized more than `acked` while the others did
         * not refuses this and is left out like any failed one. */
        rc = setup(f, DFS__WRITE_STAGE__WS_RECOVER, acked, 0, &bad, reason, sizeof(reason));
        if (rc == DFS_OK) {
            dfs_fs_log(f->fs, DFS_LOG_INFO, "%s: block blk_%llu: pipeline rebuilt with %zu "
                       "datanode(s), generation stamp %llu, %llu bytes kept", f->path,
                       (unsigned long long)f->blk_id, f->nnodes,
                       (unsigned long long)f->blk_gs, (unsigned long long)acked);
            return DFS_OK;
        }
        if (rc != 1) {
            f->failed = 1;
            return rc;
        }
    }
}

int pl_begin_block(dfs_file *f)
{
    for (unsigned attempt = 1;; attempt++) {
        Dfs__AddBlockReq req = DFS__ADD_BLOCK_REQ__INIT;
        Dfs__ExtendedBlock prev = DFS__EXTENDED_BLOCK__INIT;
        req.path = f->path;
        req.inode = f->inode;
        req.client = f->fs->client_name;
        req.client_host = f->fs->client_host;
        if (f->have_prev) {
            prev.id = f->prev_id;
            prev.genstamp = f->prev_gs;
            prev.has_length = 1;
            prev.length = f->prev_len;
            req.previous = &prev;
        }
        size_t nexcl;
        char **excl = exclude_list(f, &nexcl);
        req.n_exclude = nexcl;
        req.exclude = excl;
        ProtobufCMessage *m = NULL;
        int rc = dfs_rpc_call(f->fs->nn, DFS_MSG_ADDBLOCK_REQ, &req.base,
                              &dfs__add_block_resp__descriptor, &m);
        free(excl);
        Dfs__AddBlockResp *resp = (Dfs__AddBlockResp *)m;
        if (rc == DFS_OK && (!resp->block || !resp->block->block || resp->block->n_locs == 0))
            rc = dfs_set_error(DFS_ERR_UNAVAIL, "no datanode to write to");
        if (rc == DFS_OK) {
            f->wanted = resp->has_wanted ? resp->wanted : (unsigned)resp->block->n_locs;
            f->blk_id = resp->block->block->id;
            f->blk_gs = resp->block->block->genstamp;
            f->blk_reopened = 0;
            f->ngs_old = 0;
            rc = set_nodes(f, resp->block->locs, resp->block->n_locs);
        }
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        if (rc != DFS_OK) {
            f->failed = 1;
            if (f->failures[0])
                return dfs_set_error(rc, "%s: cannot allocate a block: %s (failed datanodes: "
                                     "%s)", f->path, dfs_errmsg(), f->failures);
            return dfs_set_error(rc, "%s: cannot allocate a block: %s", f->path, dfs_errmsg());
        }

        size_t bad;
        char why[512];
        rc = setup(f, DFS__WRITE_STAGE__WS_CREATE, 0, 0, &bad, why, sizeof(why));
        if (rc == DFS_OK)
            return DFS_OK;
        dfs_sock_close(&f->dn);
        if (rc != 1) {
            f->failed = 1;
            return rc;
        }
        if (pktring_acked(&f->ring) > 0)
            return recover(f, bad, why);   /* resent packets acked: keep the block */
        note_failure(f, &f->nodes[bad], why);
        pl_abandon(f);
        if (attempt >= PL_SETUP_TRIES || ++f->recoveries > PL_MAX_RECOVERIES) {
            f->failed = 1;
            f->nnodes = 0;
            return dfs_set_error(DFS_ERR_IO, "%s: cannot set up a pipeline for a new block "
                                 "(%u attempts): %s", f->path, attempt, f->failures);
        }
    }
}

int pl_begin_append(dfs_file *f, const Dfs__LocatedBlock *last, uint64_t old_gs)
{
    f->blk_id = last->block->id;
    f->blk_gs = last->block->genstamp;
    f->blk_reopened = 1;
    f->ngs_old = 0;
    pktring_reset(&f->ring, last->block->length);
    int rc = set_nodes(f, last->locs, last->n_locs);
    if (rc != DFS_OK) {
        f->failed = 1;
        return rc;
    }
    if (f->nnodes == 0) {
        f->failed = 1;
        return dfs_set_error(DFS_ERR_UNAVAIL, "%s: block blk_%llu has no replica to append to",
                             f->path, (unsigned long long)f->blk_id);
    }
    size_t bad;
    char why[512];
    rc = setup(f, DFS__WRITE_STAGE__WS_APPEND, last->block->length, old_gs, &bad, why,
               sizeof(why));
    if (rc == 1)
        return recover(f, bad, why);
    if (rc != DFS_OK)
        f->failed = 1;
    return rc;
}

int pl_collect(dfs_file *f, size_t keep)
{
    while (pktring_count(&f->ring) > 0) {
        if (pktring_count(&f->ring) <= keep && dfs_sock_wait_readable(&f->dn, 0) == 0)
            return DFS_OK;
        size_t bad;
        char why[512];
        if (read_ack(f, &bad, why, sizeof(why)) == ACK_OK)
            continue;
        int rc = recover(f, bad, why);
        if (rc != DFS_OK)
            return rc;
    }
    return DFS_OK;
}

int pl_send(dfs_file *f, uint64_t offset, const uint8_t *data, size_t len, uint32_t flags)
{
    int rc = pl_collect(f, f->window > 0 ? f->window - 1 : 0);
    if (rc != DFS_OK)
        return rc;
    const struct pkt_slot *s = pktring_push(&f->ring, offset, data, len, flags);
    if (!s) {
        f->failed = 1;
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    size_t bad;
    char why[512];
    rc = write_packet(f, f->next_seq, s, &bad, why, sizeof(why));
    if (rc == DFS_OK) {
        f->next_seq++;
        return DFS_OK;
    }
    return recover(f, bad, why);       /* sends s again with the others */
}

void pl_close(dfs_file *f)
{
    dfs_sock_close(&f->dn);
}
