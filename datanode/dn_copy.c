/*
 * dn_copy.c - copying replicas to other datanodes (see dn_copy.h).
 *
 * One copy runs on one thread with a blocking, timed socket (sock.h), the
 * way the client's writer streams a block (libdfs/writer.c): read a packet
 * of the replica and its stored checksums, verify them, send, take in the
 * acks that have arrived, and wait for one only when DN_COPY_WINDOW
 * packets are unacknowledged.  Reads are sequential; the kernel is asked
 * to fetch READAHEAD_PKTS packets ahead (POSIX_FADV_WILLNEED), so the disk
 * reads the next pieces while this thread verifies and sends the current
 * one: one pread and one sendmsg per ~1 MiB, no per-chunk syscalls.
 *
 * The pool: a FIFO of jobs under one mutex, `threads` workers taking them.
 * A worker publishes the socket of its copy in flight (struct cancel) so
 * dn_copy_stop can shut it down: whatever the copy waits on then fails at
 * once, and the worker sees `stop` and quits.
 */
#include "dn_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "blockstore.h"
#include "checksum.h"
#include "dfs.h"
#include "frame.h"
#include "log.h"
#include "sock.h"
#include "xmalloc.h"

#define READAHEAD_PKTS 4       /* packets hinted to the kernel ahead of the sender */
#define REQID 1                /* reqid of the WriteBlockReq (packets use 0) */

/* Lets the pool abandon a copy in flight: the copy publishes its socket in
 * *fd under mu; dn_copy_stop sets *stop and shuts down a published socket,
 * both under mu, so one of the two always sees the other. */
struct cancel {
    pthread_mutex_t *mu;
    int *fd;                   /* under mu: the copy's socket, -1: none */
    const int *stop;           /* set under mu; read atomically */
};

/* One copy in progress. */
struct xfer {
    uint64_t id, gs;
    Dfs__DatanodeId *const *targets;
    size_t ntargets;
    const struct cancel *cx;
    struct dfs_sock sk;
    uint64_t next_seq, acked_seq;
    uint8_t *rbuf;             /* ack frames */
    size_t rcap;
    char *err;
    size_t errsz;
};

/* Put a message in x->err and return r. */
static enum dn_copy_result xfail(struct xfer *x, enum dn_copy_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum dn_copy_result xfail(struct xfer *x, enum dn_copy_result r, const char *fmt, ...)
{
    if (x->err && x->errsz) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->err, x->errsz, fmt, ap);
        va_end(ap);
    }
    return r;
}

static int stopping(const struct xfer *x)
{
    return x->cx && __atomic_load_n(x->cx->stop, __ATOMIC_RELAXED);
}

/* A transport failure with the first target: FAILED, or STOPPED when the
 * pool shut the socket down. */
static enum dn_copy_result xfail_sock(struct xfer *x, int rc, const char *what)
{
    if (stopping(x))
        return xfail(x, DN_COPY_STOPPED, "abandoned: the datanode is stopping");
    const Dfs__DatanodeId *t = x->targets[0];
    return xfail(x, DN_COPY_FAILED, "%s %s:%u: %s", what, t->host, t->port, strerror(-rc));
}

/* "host:port,host:port" of the targets, for log lines. */
static void target_list(Dfs__DatanodeId *const *targets, size_t n, char *out, size_t outsz)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && at < outsz; i++) {
        int k = snprintf(out + at, outsz - at, "%s%s:%u", i ? "," : "", targets[i]->host,
                         targets[i]->port);
        if (k < 0)
            break;
        at += (size_t)k;
    }
}

/* Read one ack and check its seq and every status. */
static enum dn_copy_result read_ack(struct xfer *x)
{
    struct dfs_frame_hdr h;
    int rc = dfs_sock_recv_frame(&x->sk, &h, &x->rbuf, &x->rcap, DFS_FRAME_MAX_CONTROL);
    if (rc)
        return xfail_sock(x, rc, "waiting for acks from");
    if (h.type != DFS_MSG_PACKET_ACK)
        return xfail(x, DN_COPY_FAILED, "unexpected message 0x%x in the write pipeline", h.type);
    Dfs__PacketAck *ack = dfs__packet_ack__unpack(NULL, h.len, x->rbuf);
    if (!ack)
        return xfail(x, DN_COPY_FAILED, "malformed packet ack");
    enum dn_copy_result r = DN_COPY_OK;
    if (ack->seq != x->acked_seq) {
        r = xfail(x, DN_COPY_FAILED, "ack for packet %llu, expected %llu",
                  (unsigned long long)ack->seq, (unsigned long long)x->acked_seq);
    } else {
        for (size_t i = 0; i < x->ntargets && r == DN_COPY_OK; i++) {
            int st = i < ack->n_statuses ? (int)ack->statuses[i] : DFS_ERR_CONN;
            if (st != DFS_OK)
                r = xfail(x, DN_COPY_FAILED, "datanode %s:%u failed: %s", x->targets[i]->host,
                          x->targets[i]->port, dfs_strerror(st));
        }
        x->acked_seq++;
    }
    dfs__packet_ack__free_unpacked(ack, NULL);
    return r;
}

/* Take in the acks already there; wait while more than `keep` packets are
 * unacknowledged. */
static enum dn_copy_result collect_acks(struct xfer *x, uint64_t keep)
{
    while (x->acked_seq < x->next_seq) {
        if (x->next_seq - x->acked_seq <= keep && dfs_sock_wait_readable(&x->sk, 0) <= 0)
            return DN_COPY_OK;
        enum dn_copy_result r = read_ack(x);
        if (r != DN_COPY_OK)
            return r;
    }
    return DN_COPY_OK;
}

/* Connect to targets[0], publish the socket for cancellation, send the
 * WriteBlockReq and check the answer. */
static enum dn_copy_result open_pipeline(struct xfer *x, uint64_t len, uint32_t chunk,
                                         const char *client, int timeout_ms, int transfer)
{
    const Dfs__DatanodeId *t = x->targets[0];
    char msg[512];
    int rc = dfs_sock_connect(&x->sk, t->host, t->port,
                              timeout_ms < DN_COPY_CONNECT_MS ? timeout_ms : DN_COPY_CONNECT_MS,
                              msg, sizeof(msg));
    if (rc) {
        x->sk.fd = -1;
        return xfail(x, DN_COPY_FAILED, "cannot connect to %s", msg);
    }
    x->sk.timeout_ms = timeout_ms;
    if (x->cx) {
        pthread_mutex_lock(x->cx->mu);
        int stop = *x->cx->stop;
        if (!stop)
            *x->cx->fd = x->sk.fd;
        pthread_mutex_unlock(x->cx->mu);
        if (stop)
            return xfail(x, DN_COPY_STOPPED, "abandoned: the datanode is stopping");
    }

    Dfs__ExtendedBlock blk = DFS__EXTENDED_BLOCK__INIT;
    blk.id = x->id;
    blk.genstamp = x->gs;
    blk.has_length = 1;
    blk.length = len;
    Dfs__WriteBlockReq wr = DFS__WRITE_BLOCK_REQ__INIT;
    wr.block = &blk;
    wr.chunk_size = chunk;
    wr.n_targets = x->ntargets - 1;
    wr.targets = (Dfs__DatanodeId **)x->targets + 1;
    wr.client = (char *)client;
    if (transfer) {
        wr.has_stage = 1;
        wr.stage = DFS__WRITE_STAGE__WS_TRANSFER;
    }
    rc = dfs_sock_send_msg(&x->sk, DFS_MSG_WRITEBLOCK_REQ, REQID, &wr.base);
    struct dfs_frame_hdr h;
    if (rc == 0)
        rc = dfs_sock_recv_frame(&x->sk, &h, &x->rbuf, &x->rcap, DFS_FRAME_MAX_CONTROL);
    if (rc)
        return xfail_sock(x, rc, "pipeline set-up failed at");
    Dfs__WriteBlockResp *resp = h.type == DFS_MSG_WRITEBLOCK_RESP
                                ? dfs__write_block_resp__unpack(NULL, h.len, x->rbuf) : NULL;
    if (!resp)
        return xfail(x, DN_COPY_FAILED, "malformed pipeline set-up answer from %s:%u", t->host,
                     t->port);
    enum dn_copy_result r = DN_COPY_OK;
    if (resp->status != DFS__STATUS__OK) {
        size_t bad = resp->bad_index >= 0 && (size_t)resp->bad_index < x->ntargets
                     ? (size_t)resp->bad_index : 0;
        r = xfail(x, DN_COPY_FAILED, "datanode %s:%u refused the write: %s",
                  x->targets[bad]->host, x->targets[bad]->port,
                  resp->error ? resp->error : dfs_strerror((int)resp->status));
    }
    dfs__write_block_resp__free_unpacked(resp, NULL);
    return r;
}

/* Send one packet: data[len] at offset with its big-endian sums. */
static enum dn_copy_result send_packet(struct xfer *x, uint64_t offset, const uint8_t *data,
                                       size_t len, const uint8_t *sums, uint32_t chunk,
                                       uint32_t flags)
{
    struct dfs_pkt_hdr ph = {
        .seq = x->next_seq,
        .offset = offset,
        .data_len = (uint32_t)len,
        .flags = flags,
        .chunk_size = chunk,
        .nsums = (uint32_t)dfs_nchunks(len, chunk),
    };
    size_t sums_len = 8u * ph.nsums;
    uint8_t fh[DFS_FRAME_HDR_LEN], phb[DFS_PKT_HDR_LEN];
    dfs_frame_encode_hdr(fh, DFS_MSG_PACKET, 0, (uint32_t)(DFS_PKT_HDR_LEN + sums_len + len));
    dfs_pkt_encode_hdr(phb, &ph);
    struct iovec iov[4] = {
        { fh, sizeof(fh) }, { phb, sizeof(phb) }, { (void *)sums, sums_len },
        { (void *)data, len },
    };
    int rc = dfs_sock_writev_all(&x->sk, iov, 4);
    if (rc)
        return xfail_sock(x, rc, "cannot send to");
    x->next_seq++;
    return DN_COPY_OK;
}

/* Read, verify and send the whole replica; wait for the last ack. */
static enum dn_copy_result stream(struct xfer *x, const struct bs_replica *r)
{
    uint32_t chunk = r->chunk_size;
    uint64_t len = r->length;
    size_t pkt = chunk >= DN_COPY_PACKET ? chunk : DN_COPY_PACKET / chunk * chunk;
    size_t maxsums = dfs_nchunks(pkt, chunk);
    uint8_t *buf = xmalloc(pkt);
    uint8_t *sums = xmalloc(8 * maxsums);
    enum dn_copy_result res = DN_COPY_OK;

    posix_fadvise(r->data_fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    uint64_t ra = (uint64_t)READAHEAD_PKTS * pkt;
    posix_fadvise(r->data_fd, 0, (off_t)(len < ra ? len : ra), POSIX_FADV_WILLNEED);
    for (uint64_t off = 0;;) {
        if (stopping(x)) {
            res = xfail(x, DN_COPY_STOPPED, "abandoned: the datanode is stopping");
            break;
        }
        size_t n = len - off < pkt ? (size_t)(len - off) : pkt;
        int last = off + n == len;
        if (off + ra < len)
            posix_fadvise(r->data_fd, (off_t)(off + ra), (off_t)pkt, POSIX_FADV_WILLNEED);
        size_t nsums = dfs_nchunks(n, chunk);
        int rc = nsums ? bs_read_sums(r, off / chunk, nsums, sums) : 0;
        if (rc == -EIO || rc == -EINVAL) {
            res = xfail(x, DN_COPY_CORRUPT, "meta file: %s at chunk %llu",
                        rc == -EIO ? "short or unreadable" : "fewer checksums than chunks",
                        (unsigned long long)(off / chunk));
            break;
        }
        if (rc < 0) {
            res = xfail(x, DN_COPY_FAILED, "reading checksums: %s", strerror(-rc));
            break;
        }
        ssize_t got = n ? bs_pread_all(r->data_fd, buf, n, off) : 0;
        if (got < 0) {
            res = xfail(x, got == -EIO ? DN_COPY_CORRUPT : DN_COPY_FAILED,
                        "reading data at offset %llu: %s", (unsigned long long)off,
                        strerror((int)-got));
            break;
        }
        if ((size_t)got < n) {
            res = xfail(x, DN_COPY_CORRUPT, "data file is short: %llu bytes, %llu expected",
                        (unsigned long long)(off + (uint64_t)got), (unsigned long long)len);
            break;
        }
        long bad = dfs_checksum_verify_be(buf, n, chunk, sums);
        if (bad >= 0) {
            uint64_t c = off / chunk + (uint64_t)bad;
            res = xfail(x, DN_COPY_CORRUPT, "chunk %llu (offset %llu): checksum mismatch",
                        (unsigned long long)c, (unsigned long long)(c * chunk));
            break;
        }
        res = collect_acks(x, DN_COPY_WINDOW - 1);
        if (res == DN_COPY_OK)
            res = send_packet(x, off, buf, n, sums, chunk, last ? DFS_PKT_LAST : 0);
        if (res != DN_COPY_OK)
            break;
        off += n;
        if (last)
            break;
    }
    if (res == DN_COPY_OK)
        res = collect_acks(x, 0);
    free(buf);
    free(sums);
    return res;
}

/* One copy, logged; cx NULL when nothing can cancel it.  transfer: the
 * first len bytes of an RBW replica of generation stamp <= gs, sent as a
 * WS_TRANSFER write under gs (dn_copy_transfer). */
static enum dn_copy_result copy_run(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                                    Dfs__DatanodeId *const *targets, size_t ntargets,
                                    const struct dn_copy_opts *o, const struct cancel *cx,
                                    int transfer, char *err, size_t errsz)
{
    const char *verb = transfer ? "transferring" : "copying";
    char ebuf[512], tl[512], client[64];
    struct xfer x = {
        .id = id, .gs = gs, .targets = targets, .ntargets = ntargets, .cx = cx,
        .sk = { .fd = -1 }, .err = err ? err : ebuf, .errsz = err ? errsz : sizeof(ebuf),
    };
    struct dn_copy_opts defaults = { 0 };
    if (!o)
        o = &defaults;
    if (x.errsz)
        x.err[0] = '\0';
    if (ntargets == 0 || !targets)
        return xfail(&x, DN_COPY_FAILED, "blk_%llu: no target to copy to",
                     (unsigned long long)id);
    for (size_t i = 0; i < ntargets; i++)
        if (!targets[i] || !targets[i]->host || !*targets[i]->host || !targets[i]->port ||
            targets[i]->port > 65535)
            return xfail(&x, DN_COPY_FAILED, "blk_%llu: target %zu has no valid address",
                         (unsigned long long)id, i);
    target_list(targets, ntargets, tl, sizeof(tl));
    if (o->client) {
        snprintf(client, sizeof(client), "%s", o->client);
    } else {
        snprintf(client, sizeof(client), "dn-copy-%s", bs_storage_id(bs));
    }
    int timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DN_COPY_TIMEOUT_MS;

    struct bs_replica r;
    char msg[512];
    int rc = transfer ? bs_open_rbw(bs, id, gs, 1, len, &r, msg, sizeof(msg))
                      : bs_open_replica(bs, id, gs, &r, msg, sizeof(msg));
    if (rc < 0) {
        enum dn_copy_result res = rc == -ENOENT || rc == -ESTALE || rc == -EINVAL
                                  ? DN_COPY_SKIPPED : DN_COPY_FAILED;
        xfail(&x, res, "%s", msg);
        if (res == DN_COPY_SKIPPED)
            LOG_INFO("not %s blk_%llu (genstamp %llu) to %s: %s", verb, (unsigned long long)id,
                     (unsigned long long)gs, tl, msg);
        else
            LOG_WARN("%s blk_%llu (genstamp %llu) to %s: %s", verb, (unsigned long long)id,
                     (unsigned long long)gs, tl, msg);
        return res;
    }
    if (!transfer && r.length != len) {
        xfail(&x, DN_COPY_SKIPPED, "replica blk_%llu has %llu bytes, %llu were asked for",
              (unsigned long long)id, (unsigned long long)r.length, (unsigned long long)len);
        LOG_INFO("not copying blk_%llu (genstamp %llu) to %s: %s", (unsigned long long)id,
                 (unsigned long long)gs, tl, x.err);
        bs_close_replica(&r);
        return DN_COPY_SKIPPED;
    }
    if (!transfer && bs_is_bad(bs, id)) {
        /* found corrupt before (scanner, an earlier copy): never a source */
        bs_close_replica(&r);
        xfail(&x, DN_COPY_CORRUPT, "replica blk_%llu was found corrupt before (flagged bad); "
              "not a copy source", (unsigned long long)id);
        LOG_WARN("blk_%llu (genstamp %llu): %s; copy to %s refused", (unsigned long long)id,
                 (unsigned long long)gs, x.err, tl);
        if (o->on_corrupt)
            o->on_corrupt(id, gs, x.err, o->corrupt_arg);
        return DN_COPY_CORRUPT;
    }
    if ((uint64_t)r.chunk_size + DFS_PKT_HDR_LEN + 8 > DFS_FRAME_MAX_PACKET) {
        xfail(&x, DN_COPY_FAILED, "chunk size %u too large to send", r.chunk_size);
        LOG_WARN("copying blk_%llu to %s: %s", (unsigned long long)id, tl, x.err);
        bs_close_replica(&r);
        return DN_COPY_FAILED;
    }

    uint64_t t0 = (dfs_mono_ns() / 1000);
    enum dn_copy_result res = open_pipeline(&x, len, r.chunk_size, client, timeout_ms,
                                            transfer);
    if (res == DN_COPY_OK)
        res = stream(&x, &r);
    if (x.sk.fd >= 0) {
        if (cx) {
            pthread_mutex_lock(cx->mu);
            *cx->fd = -1;
            pthread_mutex_unlock(cx->mu);
        }
        dfs_sock_close(&x.sk);
    }
    free(x.rbuf);
    bs_close_replica(&r);
    uint64_t us = (dfs_mono_ns() / 1000) - t0;

    switch (res) {
    case DN_COPY_OK:
        LOG_INFO("%s blk_%llu (genstamp %llu) to %s: %llu bytes in %llu ms (%.1f MB/s)",
                 transfer ? "transferred" : "copied", (unsigned long long)id,
                 (unsigned long long)gs, tl, (unsigned long long)len,
                 (unsigned long long)(us / 1000), us ? (double)len / (double)us : 0.0);
        break;
    case DN_COPY_CORRUPT:
        if (transfer) {
            LOG_WARN("blk_%llu: the replica being written here is corrupt: %s; transfer to %s "
                     "abandoned", (unsigned long long)id, x.err, tl);
            break;
        }
        LOG_WARN("blk_%llu (genstamp %llu): the replica here is corrupt: %s; copy to %s "
                 "abandoned", (unsigned long long)id, (unsigned long long)gs, x.err, tl);
        rc = bs_mark_bad(bs, id, gs, msg, sizeof(msg));
        if (rc < 0 && rc != -ENOENT && rc != -ESTALE)     /* not gone meanwhile */
            LOG_WARN("copying blk_%llu: %s", (unsigned long long)id, msg);
        if (o->on_corrupt)
            o->on_corrupt(id, gs, x.err, o->corrupt_arg);
        break;
    case DN_COPY_STOPPED:
        LOG_INFO("copy of blk_%llu to %s abandoned: the datanode is stopping",
                 (unsigned long long)id, tl);
        break;
    default:
        LOG_WARN("%s blk_%llu (genstamp %llu) to %s failed after %llu ms: %s",
                 verb, (unsigned long long)id, (unsigned long long)gs, tl,
                 (unsigned long long)(us / 1000), x.err);
        break;
    }
    return res;
}

enum dn_copy_result dn_copy_block(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                                  Dfs__DatanodeId *const *targets, size_t ntargets,
                                  const struct dn_copy_opts *opts, char *err, size_t errsz)
{
    return copy_run(bs, id, gs, len, targets, ntargets, opts, NULL, 0, err, errsz);
}

enum dn_copy_result dn_copy_transfer(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                                     Dfs__DatanodeId *const *targets, size_t ntargets,
                                     const struct dn_copy_opts *opts, char *err, size_t errsz)
{
    return copy_run(bs, id, gs, len, targets, ntargets, opts, NULL, 1, err, errsz);
}

/* ============================================================ the pool */

struct job {
    struct job *next;
    uint64_t id, gs, len;
    size_t ntargets;
    Dfs__DatanodeId *ids;          /* host and storage_id strings owned */
    Dfs__DatanodeId **ptrs;
};

struct worker {
    struct dn_copy *dc;
    pthread_t thread;
    int busy;                      /* under mu: copying busy_id */
    uint64_t busy_id;
    int fd;                        /* under mu: socket of the copy in flight, -1 */
};

struct dn_copy {
    struct bs *bs;
    struct dn_copy_opts opts;
    char client[64];
    unsigned queue_max;

    pthread_mutex_t mu;
    pthread_cond_t cv;             /* job queued / stop */
    int stop;                      /* set under mu; copies read it atomically */
    struct job *head, *tail;       /* under mu */
    unsigned nqueued;              /* under mu */
    unsigned active;               /* atomic: copies in progress */
    unsigned nworkers;             /* started */
    struct worker *w;
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->ntargets; i++) {
        free(j->ids[i].host);
        free(j->ids[i].storage_id);
    }
    free(j->ids);
    free(j->ptrs);
    free(j);
}

static struct job *job_new(uint64_t id, uint64_t gs, uint64_t len,
                           Dfs__DatanodeId *const *targets, size_t n)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->id = id;
    j->gs = gs;
    j->len = len;
    j->ntargets = n;
    j->ids = xcalloc(n, sizeof(*j->ids));
    j->ptrs = xcalloc(n, sizeof(*j->ptrs));
    for (size_t i = 0; i < n; i++) {
        dfs__datanode_id__init(&j->ids[i]);
        j->ids[i].host = xstrdup(targets[i]->host);
        j->ids[i].storage_id = xstrdup(targets[i]->storage_id ? targets[i]->storage_id : "");
        j->ids[i].port = targets[i]->port;
        j->ptrs[i] = &j->ids[i];
    }
    return j;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct dn_copy *dc = w->dc;
    struct cancel cx = { &dc->mu, &w->fd, &dc->stop };

    pthread_mutex_lock(&dc->mu);
    for (;;) {
        while (!dc->stop && !dc->head)
            pthread_cond_wait(&dc->cv, &dc->mu);
        if (dc->stop)
            break;
        struct job *j = dc->head;
        dc->head = j->next;
        if (!dc->head)
            dc->tail = NULL;
        dc->nqueued--;
        w->busy = 1;
        w->busy_id = j->id;
        __atomic_add_fetch(&dc->active, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&dc->mu);

        char err[512];
        copy_run(dc->bs, j->id, j->gs, j->len, j->ptrs, j->ntargets, &dc->opts, &cx, 0, err,
                 sizeof(err));
        job_free(j);

        pthread_mutex_lock(&dc->mu);
        __atomic_sub_fetch(&dc->active, 1, __ATOMIC_RELAXED);
        w->busy = 0;
    }
    pthread_mutex_unlock(&dc->mu);
    return NULL;
}

/* Stop and join the started workers, drop the queue, free dc. */
static void pool_free(struct dn_copy *dc)
{
    pthread_mutex_lock(&dc->mu);
    __atomic_store_n(&dc->stop, 1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < dc->nworkers; i++)
        if (dc->w[i].fd >= 0)
            shutdown(dc->w[i].fd, SHUT_RDWR);
    pthread_cond_broadcast(&dc->cv);
    pthread_mutex_unlock(&dc->mu);
    for (unsigned i = 0; i < dc->nworkers; i++)
        pthread_join(dc->w[i].thread, NULL);
    unsigned dropped = dc->nqueued;
    while (dc->head) {
        struct job *j = dc->head;
        dc->head = j->next;
        job_free(j);
    }
    if (dropped)
        LOG_INFO("dropped %u queued replica copies at shutdown", dropped);
    pthread_cond_destroy(&dc->cv);
    pthread_mutex_destroy(&dc->mu);
    free(dc->w);
    free(dc);
}

struct dn_copy *dn_copy_start(const struct dn_copy_cfg *cfg, char *err, size_t errsz)
{
    if (cfg->threads < 1 || cfg->threads > DN_COPY_THREADS_MAX) {
        snprintf(err, errsz, "copy threads: %u is not in 1..%u", cfg->threads,
                 DN_COPY_THREADS_MAX);
        return NULL;
    }
    struct dn_copy *dc = xcalloc(1, sizeof(*dc));
    dc->bs = cfg->bs;
    snprintf(dc->client, sizeof(dc->client), "dn-copy-%s", bs_storage_id(cfg->bs));
    dc->opts.client = dc->client;
    dc->opts.timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DN_COPY_TIMEOUT_MS;
    dc->opts.on_corrupt = cfg->on_corrupt;
    dc->opts.corrupt_arg = cfg->corrupt_arg;
    dc->queue_max = cfg->queue_max ? cfg->queue_max : DN_COPY_QUEUE_MAX;
    pthread_mutex_init(&dc->mu, NULL);
    pthread_cond_init(&dc->cv, NULL);
    dc->w = xcalloc(cfg->threads, sizeof(*dc->w));
    for (unsigned i = 0; i < cfg->threads; i++) {
        dc->w[i].dc = dc;
        dc->w[i].fd = -1;
        int rc = pthread_create(&dc->w[i].thread, NULL, worker_main, &dc->w[i]);
        if (rc != 0) {
            snprintf(err, errsz, "cannot start a replica copy thread: %s", strerror(rc));
            pool_free(dc);
            return NULL;
        }
        dc->nworkers++;
    }
    return dc;
}

void dn_copy_stop(struct dn_copy *dc)
{
    if (dc)
        pool_free(dc);
}

/* 1 when block `id` is queued or being copied.  Called with mu held. */
static int pending(const struct dn_copy *dc, uint64_t id)
{
    for (const struct job *j = dc->head; j; j = j->next)
        if (j->id == id)
            return 1;
    for (unsigned i = 0; i < dc->nworkers; i++)
        if (dc->w[i].busy && dc->w[i].busy_id == id)
            return 1;
    return 0;
}

int dn_copy_submit(struct dn_copy *dc, uint64_t id, uint64_t gs, uint64_t len,
                   Dfs__DatanodeId *const *targets, size_t ntargets)
{
    int bad = ntargets == 0 || !targets;
    for (size_t i = 0; !bad && i < ntargets; i++)
        bad = !targets[i] || !targets[i]->host || !*targets[i]->host;
    if (bad) {
        LOG_WARN("namenode asked to copy blk_%llu without a valid target; ignored",
                 (unsigned long long)id);
        return -1;
    }
    /* Built outside the lock; freed if not queued. */
    struct job *j = job_new(id, gs, len, targets, ntargets);
    int rc = 0;
    pthread_mutex_lock(&dc->mu);
    if (dc->stop) {
        rc = -1;
    } else if (pending(dc, id)) {
        rc = 1;
    } else if (dc->nqueued >= dc->queue_max) {
        rc = -2;
    } else {
        if (dc->tail)
            dc->tail->next = j;
        else
            dc->head = j;
        dc->tail = j;
        dc->nqueued++;
        j = NULL;
        pthread_cond_signal(&dc->cv);
    }
    pthread_mutex_unlock(&dc->mu);
    job_free(j);
    if (rc == 1)
        LOG_DEBUG("copy of blk_%llu already queued or in progress", (unsigned long long)id);
    else if (rc == -2)
        LOG_WARN("dropping the copy of blk_%llu: %u copies already queued",
                 (unsigned long long)id, dc->queue_max);
    else if (rc == 0)
        LOG_DEBUG("queued a copy of blk_%llu (genstamp %llu, %llu bytes) to %zu datanodes",
                  (unsigned long long)id, (unsigned long long)gs, (unsigned long long)len,
                  ntargets);
    return rc < 0 ? -1 : rc;
}

unsigned dn_copy_load(const struct dn_copy *dc)
{
    return dc ? __atomic_load_n(&dc->active, __ATOMIC_RELAXED) : 0;
}

unsigned dn_copy_queued(struct dn_copy *dc)
{
    pthread_mutex_lock(&dc->mu);
    unsigned n = dc->nqueued;
    pthread_mutex_unlock(&dc->mu);
    return n;
}
