/*
 * writer.c - writing a file: blocks through a datanode pipeline.
 *
 * The namenode creates the file under construction and hands out one block
 * at a time with its pipeline (AddBlock).  The writer connects to the first
 * datanode, sends WriteBlockReq with the rest of the pipeline, and streams
 * packets of `packet_size` bytes with one XXH3 checksum per chunk, keeping
 * at most `window` packets unacknowledged.  A block ends with a LAST packet
 * whose ack means every replica is finalized on disk.  dfs_close() sends the
 * last block's length in CompleteReq, retried until the namenode has the
 * replicas reported.  See docs/protocol.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "error_i.h"
#include "file_i.h"
#include "frame.h"
#include "pipeline.h"

/* Ask the namenode for the next block and open its pipeline. */
static int open_block(dfs_file *f)
{
    f->have_prev = f->have_last;
    f->prev_id = f->blk_id;
    f->prev_gs = f->blk_gs;
    f->prev_len = f->blk_bytes;
    f->have_last = 0;
    f->blk_bytes = 0;
    f->recoveries = 0;
    f->ngs_old = 0;
    f->failures[0] = '\0';
    pktring_reset(&f->ring, 0);
    int rc = pl_begin_block(f);
    if (rc == DFS_OK)
        f->have_block = 1;
    return rc;
}

/* Send one packet of len bytes at data (checksummed here), the first
 * `resend` of which the datanodes already have (see dfs_hflush). */
static int send_packet(dfs_file *f, const uint8_t *data, size_t len, size_t resend,
                       uint32_t flags)
{
    uint64_t offset = f->blk_bytes - resend;
    int rc = pl_send(f, offset, data, len, flags);
    if (rc == DFS_OK)
        f->blk_bytes = offset + len;
    return rc;
}

/* Finish the current block: LAST packet, all acks, close the pipeline.
 * The datanodes left in the pipeline hold the block. */
static int end_block(dfs_file *f, const uint8_t *data, size_t len, size_t resend)
{
    int rc = send_packet(f, data, len, resend, DFS_PKT_LAST);
    if (rc == DFS_OK)
        rc = pl_collect(f, 0);
    pl_close(f);
    f->have_block = 0;
    f->have_last = rc == DFS_OK;
    if (rc == DFS_OK && f->nnodes < f->min_got)
        f->min_got = (unsigned)f->nnodes;
    return rc;
}

/* Send `len` bytes at data, the first `resend` of which were sent before
 * (an hflush's partial chunk), opening and ending blocks as their size
 * requires.  flags: DFS_PKT_LAST ends the file (close), DFS_PKT_SYNC asks
 * the datanodes to fsync with the packet that carries the last byte. */
static int emit(dfs_file *f, const uint8_t *data, size_t len, size_t resend, uint32_t flags)
{
    int final = (flags & DFS_PKT_LAST) != 0;

    while (len > 0 || final) {
        if (!f->have_block) {
            if (len == 0)
                return DFS_OK;             /* nothing more: no empty block */
            int rc = open_block(f);
            if (rc)
                return rc;
        }
        uint64_t room = f->block_size - (f->blk_bytes - resend);
        size_t n = len < room ? len : (size_t)room;
        int rc;
        if (n == room || (final && n == len))
            rc = end_block(f, data, n, resend);
        else
            rc = send_packet(f, data, n, resend, n == len ? flags & DFS_PKT_SYNC : 0);
        if (rc)
            return rc;
        data += n;
        len -= n;
        resend = 0;
        if (len == 0 && (!final || !f->have_block))
            return DFS_OK;
    }
    return DFS_OK;
}

int dfs_writer_new(dfs_fs *fs, const char *path, uint32_t chunk_size, dfs_file **out)
{
    *out = NULL;
    dfs_file *f = calloc(1, sizeof(*f));
    if (!f)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    f->fs = fs;
    f->writing = 1;
    f->dn.fd = -1;
    f->rs.fd = -1;
    int rc = dfs_fs_norm_path(fs, path, f->path, sizeof(f->path));
    if (rc != DFS_OK) {
        free(f);
        return rc;
    }
    f->chunk_size = chunk_size;
    f->packet_size = fs->opts.packet_size / f->chunk_size * f->chunk_size;
    if (f->packet_size == 0)
        f->packet_size = f->chunk_size;
    f->window = fs->opts.window ? fs->opts.window : 1;
    f->pkt = malloc(f->packet_size);
    f->sums = malloc(8u * dfs_nchunks(f->packet_size, f->chunk_size));
    if (!f->pkt || !f->sums || pktring_init(&f->ring, f->window, f->packet_size) != 0) {
        free(f->pkt);
        free(f->sums);
        free(f);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    *out = f;
    return DFS_OK;
}

void dfs_writer_free(dfs_file *f)
{
    pl_close(f);
    if (f->leased)
        dfs_lease_release(f->fs);
    pktring_free(&f->ring);
    free(f->nodes);
    free(f->exclude);
    free(f->pkt);
    free(f->sums);
    free(f->rbuf);
    free(f);
}

int dfs_open_write(dfs_fs *fs, const char *path, int flags, unsigned mode,
                   unsigned replication, uint64_t block_size, dfs_file **out)
{
    *out = NULL;
    dfs_file *f;
    int rc = dfs_writer_new(fs, path, fs->opts.chunk_size, &f);
    if (rc != DFS_OK)
        return rc;
    Dfs__CreateReq req = DFS__CREATE_REQ__INIT;
    req.path = f->path;
    req.has_mode = 1;
    req.mode = mode & 07777;
    unsigned repl = replication ? replication : fs->opts.replication;
    uint64_t bs = block_size ? block_size : fs->opts.block_size;
    if (repl) {
        req.has_replication = 1;
        req.replication = repl;
    }
    if (bs) {
        if (bs % f->chunk_size != 0) {
            rc = dfs_set_error(DFS_ERR_INVAL, "block size %llu is not a multiple of the chunk size %u",
                               (unsigned long long)bs, f->chunk_size);
            dfs_writer_free(f);
            return rc;
        }
        req.has_block_size = 1;
        req.block_size = bs;
    }
    req.has_overwrite = 1;
    req.overwrite = (flags & DFS_O_OVERWRITE) != 0;
    req.has_parents = 1;
    req.parents = (flags & DFS_O_PARENTS) != 0;
    req.has_open_for_write = 1;
    req.open_for_write = 1;
    req.has_temporary = (flags & DFS_O_TEMPORARY) != 0;
    req.temporary = (flags & DFS_O_TEMPORARY) != 0;
    req.client = fs->client_name;
    req.user = fs->opts.user;
    ProtobufCMessage *m = NULL;
    rc = dfs_error_name_path(dfs_rpc_call(fs->nn, DFS_MSG_CREATE_REQ, &req.base,
                                          &dfs__create_resp__descriptor, &m), f->path);
    if (rc == DFS_OK) {
        Dfs__CreateResp *resp = (Dfs__CreateResp *)m;
        if (!resp->st) {
            rc = dfs_set_error(DFS_ERR_PROTO, "namenode answered create without attributes");
        } else {
            f->inode = resp->st->inode;
            f->replication = resp->st->replication;
            f->block_size = resp->st->block_size;
            if (f->block_size == 0 || f->block_size % f->chunk_size != 0)
                rc = dfs_set_error(DFS_ERR_INVAL, "block size %llu is not a multiple of the chunk size %u",
                                   (unsigned long long)f->block_size, f->chunk_size);
        }
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    if (rc != DFS_OK) {
        dfs_writer_free(f);
        return rc;
    }
    f->wanted = f->replication;
    f->min_got = f->replication;
    dfs_lease_hold(fs);
    f->leased = 1;
    *out = f;
    return DFS_OK;
}

int dfs_write(dfs_file *f, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (!f->writing)
        return dfs_set_error(DFS_ERR_INVAL, "%s: not open for writing", f->path);
    if (f->failed)
        return dfs_set_error(DFS_ERR_IO, "%s: an earlier write failed", f->path);
    while (len > 0) {
        /* Whole packets straight from the caller's buffer. */
        if (f->pkt_len == 0 && len >= f->packet_size) {
            int rc = emit(f, p, f->packet_size, 0, 0);
            if (rc)
                return rc;
            p += f->packet_size;
            len -= f->packet_size;
            f->pos += f->packet_size;
            continue;
        }
        size_t n = f->packet_size - f->pkt_len;
        if (n > len)
            n = len;
        memcpy(f->pkt + f->pkt_len, p, n);
        f->pkt_len += n;
        p += n;
        len -= n;
        f->pos += n;
        if (f->pkt_len == f->packet_size) {
            int rc = emit(f, f->pkt, f->pkt_len, f->resend, 0);
            f->pkt_len = f->resend = 0;
            if (rc)
                return rc;
        }
    }
    return DFS_OK;
}

/* Send what is buffered and wait for every ack.  A partial last chunk
 * stays at the front of the buffer (f->resend): the datanodes keep a
 * checksum per whole chunk, so the next packet starts at that chunk and
 * rewrites it whole.  With DFS_PKT_SYNC every datanode fsyncs the replica
 * before acking; with nothing new to send, a packet of the partial chunk
 * alone (or an empty one) carries the flag. */
static int flush_pipeline(dfs_file *f, uint32_t flags)
{
    int rc;

    if (!f->writing)
        return dfs_set_error(DFS_ERR_INVAL, "%s: not open for writing", f->path);
    if (f->failed)
        return dfs_set_error(DFS_ERR_IO, "%s: an earlier write failed", f->path);
    if (f->pkt_len > f->resend)
        rc = emit(f, f->pkt, f->pkt_len, f->resend, flags);
    else if (f->have_block && flags)
        rc = send_packet(f, f->pkt, f->pkt_len, f->resend, flags);
    else
        rc = DFS_OK;
    if (rc)
        return rc;
    size_t keep = f->have_block ? (size_t)(f->blk_bytes % f->chunk_size) : 0;
    memmove(f->pkt, f->pkt + f->pkt_len - keep, keep);
    f->pkt_len = f->resend = keep;
    return f->have_block ? pl_collect(f, 0) : DFS_OK;
}

int dfs_hflush(dfs_file *f)
{
    return flush_pipeline(f, 0);
}

int dfs_hsync(dfs_file *f)
{
    return flush_pipeline(f, DFS_PKT_SYNC);
}

void dfs_write_replicas(const dfs_file *f, unsigned *wanted, unsigned *got)
{
    if (wanted)
        *wanted = f->wanted;
    if (got)
        *got = f->have_block && f->nnodes < f->min_got ? (unsigned)f->nnodes : f->min_got;
}

static int dfs_writer_close_ex(dfs_file *f, unsigned *wanted, unsigned *got);

/* Ask the namenode to complete the file until it has the replicas. */
static int complete_file(dfs_file *f)
{
    Dfs__CompleteReq req = DFS__COMPLETE_REQ__INIT;
    Dfs__ExtendedBlock last = DFS__EXTENDED_BLOCK__INIT;
    req.path = f->path;
    req.inode = f->inode;
    req.client = f->fs->client_name;
    if (f->have_last) {
        last.id = f->blk_id;
        last.genstamp = f->blk_gs;
        last.has_length = 1;
        last.length = f->blk_bytes;
        req.last = &last;
    }
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long delay_ms = 2;
    for (;;) {
        ProtobufCMessage *m = NULL;
        int rc = dfs_rpc_call(f->fs->nn, DFS_MSG_COMPLETE_REQ, &req.base,
                              &dfs__complete_resp__descriptor, &m);
        int done = rc == DFS_OK && ((Dfs__CompleteResp *)m)->complete;
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        if (rc != DFS_OK)
            return dfs_set_error(rc, "%s: cannot complete the file: %s", f->path, dfs_errmsg());
        if (done)
            return DFS_OK;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000;
        if (waited > (long)f->fs->opts.timeout_ms)
            return dfs_set_error(DFS_ERR_TIMEOUT,
                                 "%s: the namenode did not get the replicas of the last block in time",
                                 f->path);
        struct timespec d = { delay_ms / 1000, (delay_ms % 1000) * 1000000 };
        nanosleep(&d, NULL);
        if (delay_ms < 200)
            delay_ms *= 2;
    }
}

int dfs_close_replicas(dfs_file *f, unsigned *wanted, unsigned *got)
{
    if (!f->writing)
        return dfs_set_error(DFS_ERR_INVAL, "%s: not open for writing", f->path);
    return dfs_writer_close_ex(f, wanted, got);
}

int dfs_writer_close(dfs_file *f)
{
    return dfs_writer_close_ex(f, NULL, NULL);
}

static int dfs_writer_close_ex(dfs_file *f, unsigned *wanted, unsigned *got)
{
    int rc = f->failed ? dfs_set_error(DFS_ERR_IO, "%s: an earlier write failed", f->path) : DFS_OK;
    if (rc == DFS_OK) {
        rc = emit(f, f->pkt, f->pkt_len, f->resend, DFS_PKT_LAST);
        f->pkt_len = f->resend = 0;
    }
    if (rc == DFS_OK)
        rc = complete_file(f);
    dfs_write_replicas(f, wanted, got);
    dfs_writer_free(f);
    return rc;
}

int dfs_abort(dfs_file *f)
{
    if (!f)
        return DFS_OK;
    if (!f->writing)
        return dfs_reader_close(f);
    dfs_fs *fs = f->fs;
    uint64_t inode = f->inode;
    char path[sizeof(f->path)];
    memcpy(path, f->path, sizeof(path));
    dfs_writer_free(f);
    /* By inode: the file may have been replaced meanwhile (after our lease
     * expired), and that file is not ours to delete.  Gone is done. */
    int rc = dfs_fs_delete(fs, path, 0, inode);
    return rc == DFS_ERR_NOENT ? DFS_OK : rc;
}

int dfs_close(dfs_file *f)
{
    if (!f)
        return DFS_OK;
    return f->writing ? dfs_writer_close(f) : dfs_reader_close(f);
}
