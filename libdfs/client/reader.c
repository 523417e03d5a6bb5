/*
 * reader.c - reading a file: block locations from the namenode, data from
 * the closest replica, every chunk verified here.
 *
 * A read at a block offset opens a stream (ReadBlockReq to the end of the
 * block) on the first usable location; sequential reads keep consuming that
 * stream, so a whole block costs one request.  A read elsewhere drops the
 * stream.  On a checksum mismatch the replica is reported to the namenode
 * and, like an unreachable or refusing datanode, skipped for the rest of
 * this handle's life; the read continues on the next location.  When every
 * location of a block has failed the locations are fetched once more; if
 * none works then, the read fails with an error naming the block.
 *
 * A complete block with a replica on this host is read short-circuit
 * (shortcircuit.h: the replica's files themselves, through descriptors its
 * datanode passes) when possible; any failure there but a checksum
 * mismatch falls back to TCP on the same location, silently.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "clock.h"
#include "error_i.h"
#include "file_i.h"
#include "frame.h"

/* 1 when a datanode at host runs on this client's host: its address is
 * fs->client_host (client.host when set, else the address the namenode
 * sees this client at; dfs_connect() settles it).  Each loopback address
 * counts as a host of its own, as tools/cluster --hosts uses them. */
static int host_is_local(const dfs_fs *fs, const char *host)
{
    return strcmp(host, fs->client_host) == 0;
}

static void free_blocks(dfs_file *f)
{
    for (size_t i = 0; i < f->nblocks; i++)
        free(f->blocks[i].locs);
    free(f->blocks);
    f->blocks = NULL;
    f->nblocks = 0;
}

/* The visible length of block b, being written: the bytes the first of
 * its datanodes that answers ReplicaInfoReq has acked (every hflushed
 * byte).  No location yet: 0.  DFS_OK, or an error naming the block and
 * why each datanode failed. */
static int visible_length(dfs_file *f, const struct rd_block *b, uint64_t *len)
{
    char reasons[1024] = "";
    *len = 0;
    if (b->nlocs == 0)          /* e.g. a namenode just restarted: its datanodes
                                 * have not reported the replicas yet */
        return dfs_set_error(DFS_ERR_UNAVAIL, "%s: cannot get the length of block blk_%llu "
                             "being written: no datanode is known to hold it", f->path,
                             (unsigned long long)b->id);
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    eb.id = b->id;
    eb.genstamp = b->genstamp;
    Dfs__ReplicaInfoReq req = DFS__REPLICA_INFO_REQ__INIT;
    req.block = &eb;
    for (size_t j = 0; j < b->nlocs; j++) {
        const struct rd_loc *l = &b->locs[j];
        struct dfs_sock s = { .fd = -1 };
        struct dfs_frame_hdr h;
        char err[512] = "";
        unsigned tmo = f->probe_timeout_ms ? f->probe_timeout_ms : f->fs->opts.timeout_ms;
        int rc = dfs_fs_connect_dn(f->fs, &s, l->host, l->port, (int)tmo, err, sizeof(err));
        if (rc == 0)
            rc = dfs_sock_send_msg(&s, DFS_MSG_REPLICA_INFO_REQ, 1, &req.base);
        if (rc == 0)
            rc = dfs_sock_recv_frame(&s, &h, &f->rpkt, &f->rpkt_cap, DFS_FRAME_MAX_CONTROL);
        dfs_sock_close(&s);
        Dfs__ReplicaInfoResp *r = rc == 0 && h.type == DFS_MSG_REPLICA_INFO_RESP
                                  ? dfs__replica_info_resp__unpack(NULL, h.len, f->rpkt) : NULL;
        if (r && r->status == DFS__STATUS__OK && r->has_visible_length) {
            *len = r->visible_length;
            dfs__replica_info_resp__free_unpacked(r, NULL);
            return DFS_OK;
        }
        size_t used = strlen(reasons);
        if (r)
            snprintf(reasons + used, sizeof(reasons) - used, "%s%s:%u: %s", used ? "; " : "",
                     l->host, l->port, r->error && *r->error ? r->error
                     : dfs_strerror((int)r->status > 0 && (int)r->status < DFS_ERR__MAX
                                    ? (int)r->status : DFS_ERR_PROTO));
        else
            snprintf(reasons + used, sizeof(reasons) - used, "%s%s:%u: %s", used ? "; " : "",
                     l->host, l->port, rc ? strerror(-rc) : "malformed answer");
        if (r)
            dfs__replica_info_resp__free_unpacked(r, NULL);
    }
    return dfs_set_error(DFS_ERR_UNAVAIL, "%s: cannot get the length of block blk_%llu "
                         "being written: %s", f->path, (unsigned long long)b->id, reasons);
}

/* Fetch the file length and every block's locations.  The last block of
 * a file being written counts with its visible length. */
static int fetch_locations(dfs_file *f)
{
    Dfs__GetBlockLocationsReq req = DFS__GET_BLOCK_LOCATIONS_REQ__INIT;
    req.path = f->path;
    req.client_host = f->fs->client_host;
    ProtobufCMessage *m = NULL;
    int rc = dfs_error_name_path(dfs_rpc_call(f->fs->nn, DFS_MSG_LOCATIONS_REQ, &req.base,
                                              &dfs__get_block_locations_resp__descriptor, &m),
                                 f->path);
    if (rc != DFS_OK) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    Dfs__GetBlockLocationsResp *r = (Dfs__GetBlockLocationsResp *)m;
    if (!r->st) {
        protobuf_c_message_free_unpacked(m, NULL);
        return dfs_set_error(DFS_ERR_PROTO, "namenode answered without file attributes");
    }
    if (r->st->type == DFS__FILE_TYPE__FT_DIR) {
        protobuf_c_message_free_unpacked(m, NULL);
        return dfs_set_error(DFS_ERR_ISDIR, "Is a directory");
    }
    free_blocks(f);
    f->inode = r->st->inode;
    f->length = r->st->length;
    f->blocks = calloc(r->n_blocks ? r->n_blocks : 1, sizeof(*f->blocks));
    if (!f->blocks) {
        protobuf_c_message_free_unpacked(m, NULL);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    f->nblocks = r->n_blocks;
    for (size_t i = 0; i < r->n_blocks; i++) {
        const Dfs__LocatedBlock *lb = r->blocks[i];
        struct rd_block *b = &f->blocks[i];
        if (!lb->block) {
            protobuf_c_message_free_unpacked(m, NULL);
            return dfs_set_error(DFS_ERR_PROTO, "namenode sent a block without its id");
        }
        b->id = lb->block->id;
        b->genstamp = lb->block->genstamp;
        b->length = lb->block->length;
        b->offset = lb->offset;
        b->locs = calloc(lb->n_locs ? lb->n_locs : 1, sizeof(*b->locs));
        if (!b->locs) {
            protobuf_c_message_free_unpacked(m, NULL);
            return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
        }
        b->nlocs = lb->n_locs;
        for (size_t j = 0; j < lb->n_locs; j++) {
            snprintf(b->locs[j].host, sizeof(b->locs[j].host), "%s", lb->locs[j]->host);
            b->locs[j].port = lb->locs[j]->port;
            b->locs[j].local = host_is_local(f->fs, b->locs[j].host);
            snprintf(b->locs[j].storage_id, sizeof(b->locs[j].storage_id), "%s",
                     lb->locs[j]->storage_id);
            snprintf(b->locs[j].domain_socket, sizeof(b->locs[j].domain_socket), "%s",
                     lb->locs[j]->domain_socket ? lb->locs[j]->domain_socket : "");
            /* A replica the namenode knows to be corrupt is tried last:
             * it is sorted last and flagged; skip it unless nothing else. */
            b->locs[j].bad = j < lb->n_corrupt && lb->corrupt[j] ? 2 : 0;
        }
        b->under_construction = lb->under_construction;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    for (size_t i = 0; i < f->nblocks; i++) {
        struct rd_block *b = &f->blocks[i];
        if (!b->under_construction)
            continue;
        rc = visible_length(f, b, &b->length);
        if (rc != DFS_OK)
            return rc;
        if (b->offset + b->length > f->length || i + 1 == f->nblocks)
            f->length = b->offset + b->length;
    }
    return DFS_OK;
}

static void reader_init(dfs_file *f, dfs_fs *fs)
{
    f->fs = fs;
    f->dn.fd = -1;
    f->rs.fd = -1;
    f->rs_block = -1;
}

int dfs_reader_visible_length(dfs_fs *fs, const char *path, uint64_t *len)
{
    dfs_file *f = calloc(1, sizeof(*f));
    if (!f)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    reader_init(f, fs);
    snprintf(f->path, sizeof(f->path), "%s", path);
    /* Only a stat asks: a datanode that does not answer soon is passed
     * over (the caller falls back on the namenode's length). */
    f->probe_timeout_ms = fs->opts.ack_timeout_ms;
    if (f->probe_timeout_ms > DFS_STAT_PROBE_MAX_MS)
        f->probe_timeout_ms = DFS_STAT_PROBE_MAX_MS;
    if (f->probe_timeout_ms > fs->opts.timeout_ms)
        f->probe_timeout_ms = fs->opts.timeout_ms;
    int rc = fetch_locations(f);
    if (rc == DFS_OK)
        *len = f->length;
    dfs_reader_close(f);
    return rc;
}

int dfs_open_read(dfs_fs *fs, const char *path, dfs_file **out)
{
    *out = NULL;
    dfs_file *f = calloc(1, sizeof(*f));
    if (!f)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    reader_init(f, fs);
    int rc = dfs_fs_norm_path(fs, path, f->path, sizeof(f->path));
    if (rc == DFS_OK)
        rc = fetch_locations(f);
    /* The length of a block being written could not be had (no datanode
     * known or reachable yet): ask again for up to the timeout, as never
     * pretending the block is empty. */
    uint64_t deadline = dfs_mono_ms() + f->fs->opts.timeout_ms;
    unsigned delay_ms = 100;
    while (rc == DFS_ERR_UNAVAIL && dfs_mono_ms() + delay_ms < deadline) {
        struct timespec d = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000000 };
        nanosleep(&d, NULL);
        if (delay_ms < 1000)
            delay_ms *= 2;
        rc = fetch_locations(f);
    }
    if (rc != DFS_OK) {
        free_blocks(f);
        free(f);
        return rc;
    }
    *out = f;
    return DFS_OK;
}

static void stream_drop(dfs_file *f)
{
    /* Packets may still be in flight: the connection cannot be reused. */
    if (!f->rs_done)
        dfs_sock_close(&f->rs);
    f->rs_block = -1;
    f->rdata_len = 0;
}

/* Tell the namenode a replica is bad (best effort). */
static void report_bad(dfs_file *f, const struct rd_block *b, const struct rd_loc *l)
{
    Dfs__ReportBadBlockReq req = DFS__REPORT_BAD_BLOCK_REQ__INIT;
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    eb.id = b->id;
    eb.genstamp = b->genstamp;
    req.block = &eb;
    req.storage_id = (char *)l->storage_id;
    req.reason = (char *)"checksum mismatch";
    ProtobufCMessage *m = NULL;
    dfs_rpc_call(f->fs->nn, DFS_MSG_BADBLOCK_REQ, &req.base, &dfs__report_bad_block_resp__descriptor, &m);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* Read through location li of block bi with short-circuit (see
 * shortcircuit.h) when it is possible there: a complete block, a replica
 * on this host whose datanode has a socket, short-circuit on, not failed
 * on this handle.  Returns the bytes read (> 0); 0 when it is not possible
 * or failed (then the location is read over TCP, and not tried again by
 * short-circuit on this handle); DFS_SC_CORRUPT when the replica is bad
 * (reported: the caller skips the location). */
static int64_t sc_try(dfs_file *f, size_t bi, size_t li, uint8_t *buf, size_t len, uint64_t off,
                      char *reasons, size_t rsz)
{
    struct rd_block *b = &f->blocks[bi];
    struct rd_loc *l = &b->locs[li];
    char why[256];
    uint32_t chunk = 0;
    if (!f->fs->sc || b->under_construction || !l->local || !l->domain_socket[0] || l->sc_failed)
        return 0;
    int64_t n = dfs_sc_read(f->fs, l->domain_socket, b->id, b->genstamp, b->length, buf, len,
                            off, &f->scbuf, &chunk, why, sizeof(why));
    if (n > 0) {
        f->rs_chunk = chunk;
        f->stats.local_bytes_read += (uint64_t)n;
        f->stats.short_circuit_bytes_read += (uint64_t)n;
        return n;
    }
    if (n == DFS_SC_CORRUPT) {
        report_bad(f, b, l);
        size_t used = strlen(reasons);
        snprintf(reasons + used, rsz - used, "%sblock blk_%llu on datanode %s:%u (short-circuit): "
                 "%s", used ? "; " : "", (unsigned long long)b->id, l->host, l->port, why);
        dfs_fs_log(f->fs, DFS_LOG_WARN, "%s: block blk_%llu on datanode %s:%u: %s (short-circuit "
                   "read); reported, reading another replica", f->path,
                   (unsigned long long)b->id, l->host, l->port, why);
        return DFS_SC_CORRUPT;
    }
    l->sc_failed = 1;
    dfs_fs_log(f->fs, DFS_LOG_DEBUG, "%s: block blk_%llu: short-circuit read from %s failed "
               "(%s): reading over TCP", f->path, (unsigned long long)b->id, l->domain_socket,
               why);
    return 0;
}

/* Open a stream on location li of block bi for len bytes from block
 * offset `off`.
 * DFS_OK, or an error with the reason in dfs_errmsg(). */
static int stream_open(dfs_file *f, size_t bi, size_t li, uint64_t off, uint64_t len)
{
    struct rd_block *b = &f->blocks[bi];
    struct rd_loc *l = &b->locs[li];
    char err[512];
    int rc;

    Dfs__ReadBlockReq req = DFS__READ_BLOCK_REQ__INIT;
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    eb.id = b->id;
    eb.genstamp = b->genstamp;
    req.block = &eb;
    req.offset = off;
    req.length = len;
    struct dfs_frame_hdr h;

    /* Reuse the connection of a finished stream to the same datanode; if
     * the datanode closed it meanwhile (idle timeout), connect afresh. */
    char peer[sizeof(f->rs_peer)];
    snprintf(peer, sizeof(peer), "%s:%u", l->host, l->port);
    int reused = dfs_sock_is_open(&f->rs) && strcmp(peer, f->rs_peer) == 0;
    for (;;) {
        if (!reused) {
            dfs_sock_close(&f->rs);
            rc = dfs_fs_connect_dn(f->fs, &f->rs, l->host, l->port,
                                   (int)f->fs->opts.timeout_ms, err, sizeof(err));
            if (rc)
                return dfs_set_error(DFS_ERR_CONN, "cannot connect to datanode %s", err);
            snprintf(f->rs_peer, sizeof(f->rs_peer), "%s", peer);
        }
        rc = dfs_sock_send_msg(&f->rs, DFS_MSG_READBLOCK_REQ, 1, &req.base);
        if (rc == 0)
            rc = dfs_sock_recv_frame(&f->rs, &h, &f->rpkt, &f->rpkt_cap, DFS_FRAME_MAX_CONTROL);
        if (rc == 0)
            break;
        dfs_sock_close(&f->rs);
        if (!reused || rc == -ETIMEDOUT)
            return dfs_set_error(DFS_ERR_CONN, "datanode %s:%u: %s", l->host, l->port,
                                 strerror(-rc));
        reused = 0;
    }
    Dfs__ReadBlockResp *resp = h.type == DFS_MSG_READBLOCK_RESP
                               ? dfs__read_block_resp__unpack(NULL, h.len, f->rpkt) : NULL;
    if (!resp) {
        dfs_sock_close(&f->rs);
        return dfs_set_error(DFS_ERR_PROTO, "datanode %s:%u: malformed read answer", l->host, l->port);
    }
    rc = (int)resp->status;
    if (rc != DFS_OK) {
        rc = dfs_set_error(rc > 0 && rc < DFS_ERR__MAX ? rc : DFS_ERR_IO, "datanode %s:%u: %s",
                           l->host, l->port, resp->error ? resp->error : dfs_strerror(rc));
        dfs_sock_close(&f->rs);
    } else if (!resp->has_first_offset || resp->first_offset > off) {
        rc = dfs_set_error(DFS_ERR_PROTO, "datanode %s:%u: bad first offset", l->host, l->port);
        dfs_sock_close(&f->rs);
    }
    if (rc == DFS_OK) {
        f->rs_chunk = resp->chunk_size;
        f->rs_block = (long)bi;
        f->rs_loc = li;
        f->rs_pos = off;          /* stream_next skips the chunk head before off */
        f->rs_end = off + len;
        f->rs_done = 0;
        f->rdata_len = 0;
    }
    dfs__read_block_resp__free_unpacked(resp, NULL);
    return rc;
}

/* Receive and verify the next packet of the stream into rdata.
 * DFS_OK, DFS_ERR_CORRUPT (checksum), or a transport error. */
static int stream_next(dfs_file *f)
{
    struct rd_block *b = &f->blocks[f->rs_block];
    struct rd_loc *l = &b->locs[f->rs_loc];
    struct dfs_frame_hdr h;
    struct dfs_pkt_hdr ph;
    if (f->rs_done)
        return dfs_set_error(DFS_ERR_PROTO, "datanode %s:%u: block blk_%llu ended early",
                             l->host, l->port, (unsigned long long)b->id);
    int rc = dfs_sock_recv_frame(&f->rs, &h, &f->rpkt, &f->rpkt_cap, DFS_FRAME_MAX_PACKET);
    if (rc)
        return dfs_set_error(rc == -ETIMEDOUT ? DFS_ERR_TIMEOUT : DFS_ERR_CONN,
                             "datanode %s:%u: %s", l->host, l->port, strerror(-rc));
    /* A replica being written may have grown past the length this reader
     * knows: the chunk across that length comes longer (trimmed below). */
    if (h.type != DFS_MSG_PACKET || dfs_pkt_decode_hdr(f->rpkt, h.len, &ph) != 0 ||
        ph.offset != f->rs_pos - f->rs_pos % ph.chunk_size || ph.offset > b->length ||
        (ph.offset + ph.data_len > b->length && !b->under_construction))
        return dfs_set_error(DFS_ERR_PROTO, "datanode %s:%u: malformed data packet",
                             l->host, l->port);
    const uint8_t *sums = f->rpkt + DFS_PKT_HDR_LEN;
    const uint8_t *data = sums + 8u * ph.nsums;
    long bad = dfs_checksum_verify_be(data, ph.data_len, ph.chunk_size, sums);
    if (bad >= 0)
        return dfs_set_error(DFS_ERR_CORRUPT,
                             "checksum mismatch in block blk_%llu at offset %llu on datanode %s:%u",
                             (unsigned long long)b->id,
                             (unsigned long long)(ph.offset + (uint64_t)bad * ph.chunk_size),
                             l->host, l->port);
    if (ph.flags & DFS_PKT_LAST)
        f->rs_done = 1;
    uint64_t dlen = ph.data_len;
    if (ph.offset + dlen > b->length)
        dlen = b->length - ph.offset;
    /* Skip the head of the chunk that precedes rs_pos (first packet). */
    uint64_t skip = f->rs_pos - ph.offset;
    if (skip > dlen || (skip == dlen && !(ph.flags & DFS_PKT_LAST)))
        return dfs_set_error(DFS_ERR_PROTO, "datanode %s:%u: data packet before the read offset",
                             l->host, l->port);
    if ((ph.flags & DFS_PKT_LAST) && ph.offset + dlen < f->rs_end)
        return dfs_set_error(DFS_ERR_IO, "datanode %s:%u: replica of block blk_%llu is short "
                             "(%llu of %llu bytes)", l->host, l->port, (unsigned long long)b->id,
                             (unsigned long long)(ph.offset + dlen),
                             (unsigned long long)f->rs_end);
    f->rdata = data + skip;
    f->rdata_off = f->rs_pos;
    f->rdata_len = (size_t)(dlen - skip);
    f->rs_pos = ph.offset + dlen;
    if (f->rdata_len == 0 && !f->rs_done)
        return dfs_set_error(DFS_ERR_PROTO, "datanode %s:%u: empty data packet", l->host, l->port);
    return DFS_OK;
}

/* Read up to len bytes at block offset off of block bi from one replica,
 * failing over between replicas.  A sequential reader streams to the end
 * of the block; a random one asks for just its range.  Returns bytes read
 * (> 0) or -err. */
static int64_t read_block(dfs_file *f, size_t bi, uint8_t *buf, size_t len, uint64_t off,
                          int sequential)
{
    struct rd_block *b = &f->blocks[bi];
    char reasons[1024] = "";
    int refetched = 0;

    for (;;) {
        if (f->rs_block == (long)bi && f->rdata_len > 0 && f->rdata_off == off) {
            size_t n = len < f->rdata_len ? len : f->rdata_len;
            memcpy(buf, f->rdata, n);
            if (b->locs[f->rs_loc].local)
                f->stats.local_bytes_read += n;
            f->rdata += n;
            f->rdata_off += n;
            f->rdata_len -= n;
            return (int64_t)n;
        }
        if (f->rs_block == (long)bi && f->rdata_len == 0 && f->rs_pos == off && !f->rs_done) {
            int rc = stream_next(f);
            if (rc == DFS_OK)
                continue;
            struct rd_loc *l = &b->locs[f->rs_loc];
            if (rc == DFS_ERR_CORRUPT)
                report_bad(f, b, l);
            l->bad = 1;
            size_t used = strlen(reasons);
            snprintf(reasons + used, sizeof(reasons) - used, "%s%s", used ? "; " : "", dfs_errmsg());
            dfs_sock_close(&f->rs);
            f->rs_done = 1;
            f->rs_block = -1;
            continue;
        }
        /* Open a stream on the best location not known to be bad. */
        stream_drop(f);
        /* Healthy replicas first, then ones the namenode flags corrupt;
         * never one that failed on this handle. */
        static const int prefer[2] = { 0, 2 };
        size_t li = b->nlocs;
        for (int pass = 0; pass < 2 && li == b->nlocs; pass++)
            for (size_t j = 0; j < b->nlocs; j++)
                if (b->locs[j].bad == prefer[pass]) {
                    li = j;
                    break;
                }
        if (li == b->nlocs) {
            if (!refetched) {
                refetched = 1;
                uint64_t id = b->id;
                int rc = fetch_locations(f);
                if (rc != DFS_OK)
                    return -rc;
                if (bi >= f->nblocks || f->blocks[bi].id != id)
                    return -dfs_set_error(DFS_ERR_STALE, "%s: the file changed while being read",
                                          f->path);
                b = &f->blocks[bi];
                continue;      /* the fresh list may name new replicas */
            }
            return -dfs_set_error(DFS_ERR_CORRUPT,
                                  "%s: block blk_%llu (file offset %llu) has no readable replica%s%s",
                                  f->path, (unsigned long long)b->id,
                                  (unsigned long long)b->offset,
                                  reasons[0] ? ": " : "", reasons);
        }
        int64_t got = sc_try(f, bi, li, buf, len, off, reasons, sizeof(reasons));
        if (got > 0)
            return got;
        if (got == DFS_SC_CORRUPT) {
            b->locs[li].bad = 1;
            continue;
        }
        int rc = stream_open(f, bi, li, off, sequential ? b->length - off : len);
        if (rc != DFS_OK) {
            b->locs[li].bad = 1;
            size_t used = strlen(reasons);
            snprintf(reasons + used, sizeof(reasons) - used, "%s%s", used ? "; " : "", dfs_errmsg());
        }
    }
}

int64_t dfs_pread(dfs_file *f, void *buf, size_t len, uint64_t offset)
{
    if (f->writing)
        return -dfs_set_error(DFS_ERR_INVAL, "%s: not open for reading", f->path);
    uint8_t *p = buf;
    size_t done = 0;
    while (done < len && offset + done < f->length) {
        uint64_t at = offset + done;
        size_t bi = 0;
        /* Blocks are in file order; most reads hit the stream's block. */
        if (f->rs_block >= 0 && at >= f->blocks[f->rs_block].offset &&
            at < f->blocks[f->rs_block].offset + f->blocks[f->rs_block].length)
            bi = (size_t)f->rs_block;
        else
            while (bi < f->nblocks && at >= f->blocks[bi].offset + f->blocks[bi].length)
                bi++;
        if (bi >= f->nblocks)
            break;
        struct rd_block *b = &f->blocks[bi];
        uint64_t in_block = at - b->offset;
        size_t want = len - done;
        if (want > b->length - in_block)
            want = (size_t)(b->length - in_block);
        int64_t n = read_block(f, bi, p + done, want, in_block, offset == f->seq_next);
        if (n < 0) {
            if (done == 0)
                return n;
            break;              /* the bytes read so far, counted */
        }
        done += (size_t)n;
    }
    f->seq_next = offset + done;
    f->stats.bytes_read += done;
    return (int64_t)done;
}

int64_t dfs_read(dfs_file *f, void *buf, size_t len)
{
    int64_t n = dfs_pread(f, buf, len, f->pos);
    if (n > 0)
        f->pos += (uint64_t)n;
    return n;
}

int dfs_seek(dfs_file *f, uint64_t offset)
{
    if (f->writing)
        return dfs_set_error(DFS_ERR_INVAL, "%s: cannot seek a file being written", f->path);
    f->pos = offset;
    return DFS_OK;
}

uint64_t dfs_file_length(const dfs_file *f)
{
    return f->writing ? f->pos : f->length;
}

uint64_t dfs_tell(const dfs_file *f)
{
    return f->pos;
}

int dfs_file_is_writer(const dfs_file *f)
{
    return f->writing != 0;
}

int dfs_get_read_stats(const dfs_file *f, struct dfs_read_stats *out)
{
    if (f->writing)
        return dfs_set_error(DFS_ERR_INVAL, "%s: open for writing: no read statistics", f->path);
    *out = f->stats;
    return DFS_OK;
}

void dfs_clear_read_stats(dfs_file *f)
{
    memset(&f->stats, 0, sizeof(f->stats));
}

int dfs_reader_tail(dfs_file *f, uint8_t **tail, size_t *n, uint32_t *chunk_size)
{
    *tail = NULL;
    *n = 0;
    *chunk_size = 0;
    if (f->nblocks == 0 || f->length == 0)
        return DFS_OK;
    const struct rd_block *b = &f->blocks[f->nblocks - 1];
    uint8_t byte;
    int64_t got = dfs_pread(f, &byte, 1, f->length - 1);   /* opens a stream: chunk size */
    if (got < 0)
        return (int)-got;
    if (got != 1 || f->rs_chunk == 0)
        return dfs_set_error(DFS_ERR_IO, "%s: cannot read the end of block blk_%llu", f->path,
                             (unsigned long long)b->id);
    *chunk_size = f->rs_chunk;
    size_t part = (size_t)(b->length % f->rs_chunk);
    if (part == 0)
        return DFS_OK;
    uint8_t *buf = malloc(part);
    if (!buf)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    got = dfs_pread(f, buf, part, f->length - part);
    if (got != (int64_t)part) {
        free(buf);
        return got < 0 ? (int)-got : dfs_set_error(DFS_ERR_IO, "%s: short read of the end of "
                                                  "block blk_%llu", f->path,
                                                  (unsigned long long)b->id);
    }
    *tail = buf;
    *n = part;
    return DFS_OK;
}

int dfs_reader_close(dfs_file *f)
{
    dfs_sock_close(&f->rs);
    free_blocks(f);
    free(f->rpkt);
    dfs_sc_buf_free(&f->scbuf);
    free(f);
    return DFS_OK;
}
