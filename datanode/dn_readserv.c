/*
 * dn_readserv.c - the reading side of the transfer server: READBLOCK
 * (whole chunks with their stored checksums, data by sendfile, read-ahead
 * bounded by the output watermark; a replica being written with the
 * asked generation stamp is served up to its visible length, its partial
 * last chunk with a checksum computed from the bytes sent) and CHECKSUM (length, genstamp and
 * SHA-256 of a replica).  Disk work runs in the io pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "checksum.h"
#include "dn_dataserv_i.h"
#include "error_i.h"
#include "log.h"
#include "xmalloc.h"

static int status_from_open(int rc)
{
    if (rc == -ENOENT)
        return DFS_ERR_NOENT;
    if (rc == -ESTALE)
        return DFS_ERR_STALE;
    return dfs_err_from_errno(-rc);
}

static void run_rd_open(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    int rc = bs_open_replica(j->s->ds->bs, j->off /* id */, j->seq /* gs */, &j->rep,
                             j->err, sizeof(j->err));
    if (rc == -ENOENT)      /* being written: up to its visible length */
        rc = bs_open_rbw(j->s->ds->bs, j->off, j->seq, 0, UINT64_MAX, &j->rep, j->err,
                         sizeof(j->err));
    j->status = rc == 0 ? DFS_OK : status_from_open(rc);
}



static void reply_read(struct sess *s, int status, const char *error, uint64_t first)
{
    Dfs__ReadBlockResp r = DFS__READ_BLOCK_RESP__INIT;
    r.status = (Dfs__Status)status;
    r.error = status != DFS_OK && error && *error ? (char *)error : NULL;
    if (status == DFS_OK) {
        r.has_chunk_size = r.has_block_length = r.has_first_offset = 1;
        r.chunk_size = s->rep.chunk_size;
        r.block_length = s->rep.length;
        r.first_offset = first;
    }
    dfs_conn_send_msg(s->up, DFS_MSG_READBLOCK_RESP, s->reqid, &r.base);
}

static void done_rd_open(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct sess *s = j->s;
    if (!sess_job_live(j, S_R_OPEN)) {
        bs_close_replica(&j->rep);
        sess_job_free(j);
        return;
    }
    if (j->status != DFS_OK) {
        LOG_DEBUG("read of blk_%llu from %s: %s", (unsigned long long)s->blk_id, s->peer, j->err);
        reply_read(s, j->status, j->err, 0);
        sess_go_idle(s);
        sess_job_free(j);                         /* last: its reference guards s */
        return;
    }
    s->rep = j->rep;
    s->rr = xmalloc(sizeof(*s->rr));
    s->rr->refs = 1;
    s->rr->rep = j->rep;
    s->rep_open = 1;
    j->rep.data_fd = j->rep.meta_fd = -1;

    uint32_t chunk = s->rep.chunk_size;
    uint64_t blen = s->rep.length;
    char msg[ERRLEN];
    if (s->r_off > blen) {
        snprintf(msg, sizeof(msg), "offset %llu is past the end of blk_%llu (%llu bytes)",
                 (unsigned long long)s->r_off, (unsigned long long)s->blk_id,
                 (unsigned long long)blen);
        reply_read(s, DFS_ERR_INVAL, msg, 0);
    } else if ((uint64_t)chunk + DFS_PKT_HDR_LEN + 8 > DFS_FRAME_MAX_PACKET) {
        snprintf(msg, sizeof(msg), "chunk size %u too large to send", chunk);
        reply_read(s, DFS_ERR_INVAL, msg, 0);
    } else {
        uint64_t first = s->r_off - s->r_off % chunk;
        uint64_t end = s->r_len > blen - s->r_off ? blen : s->r_off + s->r_len;
        uint64_t end_al = end % chunk ? end - end % chunk + chunk : end;
        if (end_al > blen)
            end_al = blen;
        reply_read(s, DFS_OK, NULL, first);
        s->r_next = first;
        s->r_end = end_al;
        s->r_seq = 0;
        s->r_inflight = 0;
        s->r_jobs = 0;
        s->r_last_submitted = 0;
        sess_set_state(s, S_R_STREAM);
        rs_pump(s);
        sess_job_free(j);
        return;
    }
    rrep_unref(s->rr);
    s->rep_open = 0;
    sess_go_idle(s);
    sess_job_free(j);
}

static void run_rd_fill(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    const struct bs_replica *rep = &j->s->rep;   /* stable while fills run */
    size_t hl = DFS_PKT_HDR_LEN + 8u * j->nsums;
    j->buflen = hl;
    j->buf = xmalloc(j->buflen);
    int rc = bs_read_sums(rep, j->off / j->chunk, j->nsums, j->buf + DFS_PKT_HDR_LEN);
    if (rc < 0) {
        j->status = dfs_err_from_errno(-rc);
        snprintf(j->err, sizeof(j->err), "reading checksums: %s", strerror(-rc));
        return;
    }
    /* Bring the data into the page cache here, so that sendfile on the
     * loop does not wait for the disk. */
    readahead(rep->data_fd, (off64_t)j->off, j->len);
    struct dfs_pkt_hdr ph = {
        .seq = j->seq, .offset = j->off, .data_len = j->len, .flags = j->flags,
        .chunk_size = j->chunk, .nsums = j->nsums,
    };
    dfs_pkt_encode_hdr(j->buf, &ph);
}

static void done_rd_fill(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct sess *s = j->s;
    if (j->gen == s->gen) {
        s->r_jobs--;
        s->r_inflight -= j->len;
    }
    if (!sess_job_live(j, S_R_STREAM)) {
        sess_job_free(j);
        return;
    }
    if (j->status != DFS_OK) {
        LOG_WARN("read of blk_%llu for %s: %s; closing the connection",
                 (unsigned long long)s->blk_id, s->peer, j->err);
        dfs_conn_abort(s->up);
        sess_job_free(j);
        return;
    }
    uint8_t *buf = j->buf;
    j->buf = NULL;
    __atomic_add_fetch(s->peer_local ? &s->ds->read_local : &s->ds->read_remote, j->len,
                       __ATOMIC_RELAXED);
    s->rr->refs++;
    dfs_conn_send_file(s->up, DFS_MSG_PACKET, s->reqid, buf, j->buflen, s->rr->rep.data_fd,
                       j->off, j->len, rrep_unref, s->rr);
    free(buf);
    if (j->flags & DFS_PKT_LAST) {
        rrep_unref(s->rr);
        s->rep_open = 0;
        sess_go_idle(s);
    } else {
        rs_pump(s);
    }
    sess_job_free(j);
}

/* Queue read jobs while the output and the read-ahead are below the high
 * watermark. */
void rs_pump(struct sess *s)
{
    uint32_t chunk = s->rep.chunk_size;
    uint64_t pkt_max = chunk >= READ_PKT_DATA ? chunk : READ_PKT_DATA / chunk * chunk;
    while (s->state == S_R_STREAM && !s->r_last_submitted && s->r_jobs < READ_MAX_JOBS &&
           dfs_conn_output_len(s->up) + s->r_inflight < s->ds->max_buffer) {
        uint64_t n = s->r_end - s->r_next;
        if (n > pkt_max)
            n = pkt_max;
        int last = s->r_next + n == s->r_end;
        struct djob *j = sess_job_new(s, J_RD_FILL, run_rd_fill, done_rd_fill);
        j->off = s->r_next;
        j->len = (uint32_t)n;
        j->seq = s->r_seq++;
        j->flags = last ? DFS_PKT_LAST : 0;
        j->chunk = chunk;
        j->nsums = (uint32_t)dfs_nchunks(n, chunk);
        s->r_next += n;
        s->r_inflight += n;
        s->r_jobs++;
        s->r_last_submitted = last;
        sess_job_submit(s, j);
    }
}

int rs_read(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    Dfs__ReadBlockReq *req = dfs__read_block_req__unpack(NULL, h->len, body);
    if (!req) {
        LOG_WARN("closing connection from %s: malformed ReadBlockReq", s->peer);
        return -1;
    }
    s->gen++;
    s->reqid = h->reqid;
    s->blk_id = req->block->id;
    s->blk_gs = req->block->genstamp;
    s->r_off = req->offset;
    s->r_len = req->length;
    dfs__read_block_req__free_unpacked(req, NULL);
    sess_set_state(s, S_R_OPEN);
    struct djob *j = sess_job_new(s, J_RD_OPEN, run_rd_open, done_rd_open);
    j->off = s->blk_id;
    j->seq = s->blk_gs;
    sess_job_submit(s, j);
    return 0;
}

/* ============================================================ checksum */

static void run_csum(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct bs *bs = j->s->ds->bs;
    uint64_t gs, len;

    if (!bs_lookup(bs, j->off, &gs, &len)) {
        struct bs_rinfo ri;
        if (bs_replica_info(bs, j->off, &ri) < 0) {
            j->status = DFS_ERR_NOENT;
            snprintf(j->err, sizeof(j->err), "replica blk_%llu not found",
                     (unsigned long long)j->off);
            return;
        }
        j->c_len = ri.bytes;
        j->c_gs = ri.gs;
        return;                              /* in rbw/: no digest */
    }
    struct bs_replica rep;
    int rc = bs_open_replica(bs, j->off, gs, &rep, j->err, sizeof(j->err));
    if (rc < 0) {
        j->status = status_from_open(rc);
        return;
    }
    j->c_len = rep.length;
    j->c_gs = rep.genstamp;
    j->c_finalized = 1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *buf = xmalloc(CSUM_BUF);
    unsigned dlen = 0;
    uLong crc = crc32(0L, Z_NULL, 0);
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
    for (uint64_t off = 0; ok && off < rep.length;) {
        size_t want = rep.length - off < CSUM_BUF ? (size_t)(rep.length - off) : CSUM_BUF;
        ssize_t n = bs_pread_all(rep.data_fd, buf, want, off);
        if (n <= 0) {
            j->status = DFS_ERR_IO;
            snprintf(j->err, sizeof(j->err), "reading blk_%llu at %llu: %s",
                     (unsigned long long)j->off, (unsigned long long)off,
                     n < 0 ? strerror((int)-n) : "file is short");
            ok = 0;
            break;
        }
        ok = EVP_DigestUpdate(md, buf, (size_t)n) == 1;
        crc = crc32(crc, buf, (uInt)n);      /* n <= CSUM_BUF fits a uInt */
        off += (uint64_t)n;
    }
    if (ok && EVP_DigestFinal_ex(md, j->digest, &dlen) == 1 && dlen == sizeof(j->digest)) {
        j->c_have_digest = 1;
        j->c_crc32 = (uint32_t)crc;
    }
    else if (j->status == DFS_OK) {
        j->status = DFS_ERR_IO;
        snprintf(j->err, sizeof(j->err), "SHA-256 failed");
    }
    EVP_MD_CTX_free(md);
    free(buf);
    bs_close_replica(&rep);
}

static void reply_csum(struct sess *s, int status, const char *err, uint64_t len, uint64_t gs,
                       int finalized, const uint8_t *digest, uint32_t crc)
{
    Dfs__BlockChecksumResp r = DFS__BLOCK_CHECKSUM_RESP__INIT;
    r.status = (Dfs__Status)status;
    r.error = status != DFS_OK && err && *err ? (char *)err : NULL;
    if (status == DFS_OK) {
        r.has_length = r.has_genstamp = r.has_finalized = 1;
        r.length = len;
        r.genstamp = gs;
        r.finalized = finalized != 0;
        if (digest) {
            r.has_digest = 1;
            r.digest.data = (uint8_t *)digest;
            r.digest.len = 32;
            r.has_crc32 = 1;             /* computed with the digest */
            r.crc32 = crc;
        }
    }
    dfs_conn_send_msg(s->up, DFS_MSG_CHECKSUM_RESP, s->reqid, &r.base);
}

static void done_csum(struct iop_job *ij)
{
    struct djob *j = (struct djob *)ij;
    struct sess *s = j->s;
    if (sess_job_live(j, S_CSUM)) {
        reply_csum(s, j->status, j->err, j->c_len, j->c_gs, j->c_finalized,
                   j->c_have_digest ? j->digest : NULL, j->c_crc32);
        sess_go_idle(s);
    }
    sess_job_free(j);
}

int rs_checksum(struct sess *s, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    Dfs__BlockChecksumReq *req = dfs__block_checksum_req__unpack(NULL, h->len, body);
    if (!req) {
        LOG_WARN("closing connection from %s: malformed BlockChecksumReq", s->peer);
        return -1;
    }
    uint64_t id = req->block->id;
    dfs__block_checksum_req__free_unpacked(req, NULL);
    s->gen++;
    s->reqid = h->reqid;
    s->blk_id = id;
    /* A replica being written here: its length so far, not final. */
    for (struct sess *o = s->ds->sessions; o; o = o->next) {
        if (o != s && (o->state == S_W_SETUP || o->state == S_W_STREAM) && o->blk_id == id) {
            reply_csum(s, DFS_OK, NULL, o->disk_len, o->blk_gs, 0, NULL, 0);
            return 0;
        }
    }
    sess_set_state(s, S_CSUM);
    struct djob *j = sess_job_new(s, J_CSUM, run_csum, done_csum);
    j->off = id;
    sess_job_submit(s, j);
    return 0;
}
