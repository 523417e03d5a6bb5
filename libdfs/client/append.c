/*
 * append.c - dfs_open_append() and dfs_recover_lease(): taking over an
 * existing file.
 *
 * Append: the file's partial last chunk is read first (its bytes and the
 * block's chunk size, from a datanode), then AppendReq makes the file ours
 * (under construction, our lease).  A partial last block comes back under
 * a new generation stamp with its replicas: the writer opens a WS_APPEND
 * pipeline to them and starts with the partial chunk in its buffer as
 * bytes already sent, so its first packet rewrites that chunk whole.  A
 * full last block is the `previous` of the first new block.  While the
 * file's former writer's lease is being recovered the namenode answers
 * ERR_BUSY with `recovering`: the whole sequence is tried again until the
 * options' timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "dfs.pb-c.h"
#include "error_i.h"
#include "file_i.h"
#include "frame.h"
#include "pipeline.h"

/* What a file ends with, read before AppendReq. */
struct tail {
    uint64_t length;             /* the file's */
    uint64_t last_id, last_gs;   /* its last block, when partial */
    uint64_t last_len;
    uint32_t chunk_size;         /* that block's; 0 when not partial */
    uint8_t *bytes;              /* its partial last chunk (malloc'ed) */
    size_t n;
};

/* Read the end of path (of block_size-byte blocks): the last block when
 * partial and its partial chunk.  DFS_OK or an error. */
static int read_tail(dfs_fs *fs, const char *path, uint64_t block_size, struct tail *t)
{
    dfs_file *r;
    memset(t, 0, sizeof(*t));
    int rc = dfs_open_read(fs, path, &r);
    if (rc != DFS_OK)
        return rc;
    t->length = r->length;
    if (r->nblocks > 0) {
        const struct rd_block *b = &r->blocks[r->nblocks - 1];
        if (b->length > 0 && b->length < block_size) {
            t->last_id = b->id;
            t->last_gs = b->genstamp;
            t->last_len = b->length;
            rc = dfs_reader_tail(r, &t->bytes, &t->n, &t->chunk_size);
        }
    }
    dfs_reader_close(r);
    return rc;
}

/* AppendReq for path.  DFS_OK with *resp, or an error (*resp NULL);
 * *recovering set when the answer is ERR_BUSY with `recovering`. */
static int append_call(dfs_fs *fs, const char *path, Dfs__AppendResp **resp, int *recovering)
{
    Dfs__AppendReq req = DFS__APPEND_REQ__INIT;
    req.path = (char *)path;
    req.client = fs->client_name;
    req.client_host = fs->client_host;
    req.user = fs->opts.user;
    ProtobufCMessage *m = NULL;
    *resp = NULL;
    *recovering = 0;
    int rc = dfs_error_name_path(dfs_rpc_call(fs->nn, DFS_MSG_APPEND_REQ, &req.base,
                                              &dfs__append_resp__descriptor, &m), path);
    if (rc == DFS_OK && !((Dfs__AppendResp *)m)->st)
        rc = dfs_set_error(DFS_ERR_PROTO, "namenode answered append without attributes");
    if (rc != DFS_OK) {
        if (m) {
            *recovering = rc == DFS_ERR_BUSY && ((Dfs__AppendResp *)m)->recovering;
            protobuf_c_message_free_unpacked(m, NULL);
        }
        return rc;
    }
    *resp = (Dfs__AppendResp *)m;
    return DFS_OK;
}

/* Make the writer f continue the file of an Append answer r, whose end was
 * read as t.  DFS_OK or an error. */
static int take_over(dfs_file *f, const Dfs__AppendResp *r, const struct tail *t)
{
    const Dfs__LocatedBlock *last = r->last;
    f->inode = r->st->inode;
    f->replication = r->st->replication;
    f->block_size = r->st->block_size;
    f->wanted = f->min_got = f->replication;
    f->pos = r->st->length;
    if (f->block_size == 0 || f->block_size % f->chunk_size != 0)
        return dfs_set_error(DFS_ERR_INVAL, "%s: block size %llu is not a multiple of the chunk "
                             "size %u", f->path, (unsigned long long)f->block_size,
                             f->chunk_size);
    if (last && (!last->block || last->block->id != t->last_id ||
                 last->block->length != t->last_len))
        return dfs_set_error(DFS_ERR_BUSY, "%s: the file changed while being opened for append",
                             f->path);
    if (!last && t->last_id)
        return dfs_set_error(DFS_ERR_BUSY, "%s: the file changed while being opened for append",
                             f->path);
    if (r->last_full) {
        f->have_last = 1;
        f->blk_id = r->last_full->id;
        f->blk_gs = r->last_full->genstamp;
        f->blk_bytes = r->last_full->length;
    }
    if (!last)
        return DFS_OK;
    if (t->n > 0)
        memcpy(f->pkt, t->bytes, t->n);
    f->pkt_len = f->resend = t->n;
    f->blk_bytes = last->block->length;
    f->pos = t->length;
    int rc = pl_begin_append(f, last, t->last_gs);
    if (rc == DFS_OK)
        f->have_block = 1;
    return rc;
}

int dfs_open_append(dfs_fs *fs, const char *path, dfs_file **out)
{
    char p[DFS_PATH_MAX + 1];
    *out = NULL;
    int rc = dfs_fs_norm_path(fs, path, p, sizeof(p));
    if (rc != DFS_OK)
        return rc;
    uint64_t deadline = dfs_mono_ms() + fs->opts.timeout_ms;
    long delay_ms = 50;
    for (;;) {
        struct tail t;
        struct dfs_stat st;
        rc = dfs_fs_stat_raw(fs, p, &st);
        if (rc == DFS_OK && st.type == DFS_TYPE_DIR)
            return dfs_set_error(DFS_ERR_ISDIR, "%s: Is a directory", p);
        /* A file being written cannot be read to its end reliably; the
         * namenode refuses (or recovers) it below anyway. */
        memset(&t, 0, sizeof(t));
        if (rc == DFS_OK && st.complete)
            rc = read_tail(fs, p, st.block_size, &t);
        if (rc != DFS_OK)
            return rc;
        Dfs__AppendResp *r;
        int recovering;
        rc = append_call(fs, p, &r, &recovering);
        if (rc == DFS_OK) {
            dfs_file *f;
            rc = dfs_writer_new(fs, p, t.chunk_size ? t.chunk_size : fs->opts.chunk_size, &f);
            if (rc == DFS_OK) {
                dfs_lease_hold(fs);
                f->leased = 1;
                rc = take_over(f, r, &t);
                if (rc == DFS_OK)
                    *out = f;
                else
                    dfs_writer_free(f);
            }
            free(t.bytes);
            protobuf_c_message_free_unpacked(&r->base, NULL);
            return rc;
        }
        free(t.bytes);
        if (!recovering)
            return rc;
        if (dfs_mono_ms() + (uint64_t)delay_ms > deadline)
            return dfs_set_error(DFS_ERR_TIMEOUT, "%s: the lease of the file's former writer "
                                 "is still being recovered (waited %u ms)", p,
                                 fs->opts.timeout_ms);
        struct timespec d = { delay_ms / 1000, (delay_ms % 1000) * 1000000 };
        nanosleep(&d, NULL);
        if (delay_ms < 1000)
            delay_ms *= 2;
    }
}

int dfs_recover_lease(dfs_fs *fs, const char *path, int *closed)
{
    char p[DFS_PATH_MAX + 1];
    int rc = dfs_fs_norm_path(fs, path, p, sizeof(p));
    if (closed)
        *closed = 0;
    if (rc != DFS_OK)
        return rc;
    Dfs__RecoverLeaseReq req = DFS__RECOVER_LEASE_REQ__INIT;
    req.path = p;
    req.client = fs->client_name;
    ProtobufCMessage *m = NULL;
    rc = dfs_error_name_path(dfs_rpc_call(fs->nn, DFS_MSG_RECOVER_LEASE_REQ, &req.base,
                                          &dfs__recover_lease_resp__descriptor, &m), p);
    if (rc == DFS_OK && closed)
        *closed = ((Dfs__RecoverLeaseResp *)m)->closed;
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}
