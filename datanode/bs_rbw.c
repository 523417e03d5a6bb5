/*
 * bs_rbw.c - replicas being written (blockstore.h, "Replicas being
 * written"): the acked length, parking, reopening for pipeline recovery
 * and append, reading the stable prefix of one, and finalizing for block
 * recovery.  The maps, their states and the locking rule (claim an id
 * under bs->lock before touching its files) are blockstore.c's.
 *
 * A reopen claims the replica under the lock (PARKED -> WRITING, or a
 * FINAL entry moved into rbw as WRITING), then works on its files outside
 * it: move back from finalized/ (append, or a finished block reopened by
 * recovery), cut, rename the meta to the new generation stamp.  Until the
 * first change on disk a failure parks the replica again as it was; after
 * it the replica is discarded (it may be half cut).
 */
#include "blockstore.h"
#include "blockstore_i.h"
#include "checksum.h"
#include "log.h"
#include "volume.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- queries and the acked length ------------------------------------ */

/* bs_replica_info with bs->lock held; *dir (may be NULL): its data dir. */
static int info_locked(struct bs *bs, uint64_t id, struct bs_rinfo *ri, uint16_t *dir)
{
    int rc = 0;
    const struct ent *e = u64tab_get(&bs->rbw, id);
    if (e && e->state == ENT_WRITING && e->u.w) {
        *ri = (struct bs_rinfo){ BS_RBW_WRITING, e->gs, bs_writer_bytes(e->u.w),
                                 bs_writer_acked(e->u.w), e->chunk };
    } else if (e && e->state == ENT_PARKED) {
        *ri = (struct bs_rinfo){ BS_RBW_PARKED, e->gs, e->len, e->u.acked, e->chunk };
    } else if ((e = u64tab_get(&bs->fin, id)) != NULL && e->state == ENT_FINAL) {
        *ri = (struct bs_rinfo){ BS_FINALIZED, e->gs, e->len, e->len, e->chunk };
    } else {
        rc = -ENOENT;
    }
    if (rc == 0 && dir)
        *dir = e->dir;
    return rc;
}

int bs_replica_info(struct bs *bs, uint64_t id, struct bs_rinfo *ri)
{
    pthread_mutex_lock(&bs->lock);
    int rc = info_locked(bs, id, ri, NULL);
    pthread_mutex_unlock(&bs->lock);
    return rc;
}

void bs_writer_set_acked(struct bs_writer *w, uint64_t acked)
{
    uint64_t cur = __atomic_load_n(&w->acked, __ATOMIC_RELAXED);
    while (acked > cur && !__atomic_compare_exchange_n(&w->acked, &cur, acked, 0,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

uint64_t bs_writer_acked(const struct bs_writer *w)
{
    return __atomic_load_n(&w->acked, __ATOMIC_RELAXED);
}

/* ---- park --------------------------------------------------------------- */

int bs_writer_park(struct bs_writer *w)
{
    struct bs *bs = w->bs;
    uint64_t bytes = bs_writer_bytes(w), verified = 0;
    int rc = bs_verified_len(w->data_fd, w->meta_fd, w->chunk, &verified);
    if (rc < 0 && vol_usable(bs->vol, w->dir))
        LOG_WARN("block store: blk_%" PRIu64 ": cannot read its last chunk back: %s; parked "
                 "with no verified byte", w->id, strerror(-rc));
    if (rc < 0 || verified > bytes)
        verified = rc < 0 ? 0 : bytes;
    close(w->data_fd);
    close(w->meta_fd);
    w->data_fd = w->meta_fd = -1;

    pthread_mutex_lock(&bs->lock);
    int usable = vol_usable(bs->vol, w->dir);
    struct ent *e = u64tab_get(&bs->rbw, w->id);
    if (e && e->state == ENT_WRITING && e->u.w == w) {
        if (!usable) {
            u64tab_del(&bs->rbw, e);
        } else {
            e->state = ENT_PARKED;
            e->gs = w->gs;
            e->len = bytes;
            e->chunk = w->chunk;
            e->dir = w->dir;
            e->u.acked = verified;
        }
    }
    pthread_mutex_unlock(&bs->lock);
    if (usable)
        LOG_INFO("block store: blk_%" PRIu64 "_%" PRIu64 " parked in rbw/: %" PRIu64
                 " bytes, %" PRIu64 " verified", w->id, w->gs, bytes, verified);
    free(w);
    return usable ? 0 : -EIO;
}

/* ---- reopen --------------------------------------------------------------- */

enum reopen_mode { RE_RECOVER, RE_APPEND };

/* Give a claimed replica back: PARKED again as `cur` (nothing on disk
 * changed), dropped when its dir failed meanwhile. */
static void unclaim_parked(struct bs_writer *w, const struct ent *cur)
{
    struct bs *bs = w->bs;
    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->rbw, w->id);
    if (e && e->state == ENT_WRITING && e->u.w == w) {
        if (!vol_usable(bs->vol, w->dir)) {
            u64tab_del(&bs->rbw, e);
        } else {
            *e = *cur;
            e->state = ENT_PARKED;
        }
    }
    pthread_mutex_unlock(&bs->lock);
}

/* Claim replica `id` for w (bs->lock held): a PARKED one (RE_RECOVER), or
 * a FINAL one moved from fin into rbw as WRITING.  0 and *cur (the entry
 * as it was), *from_fin; else -errno with a message. */
static int claim(struct bs_writer *w, enum reopen_mode mode, uint64_t old_gs, uint64_t len,
                 struct ent *cur, int *from_fin, char *err, size_t errsz)
{
    struct bs *bs = w->bs;
    uint64_t id = w->id, gs = w->gs;
    struct ent *e = u64tab_get(&bs->rbw, id);

    if (e) {
        if (mode == RE_RECOVER && e->state != ENT_DELETING && e->gs > gs) {
            bs_seterr(err, errsz, "replica blk_%" PRIu64 ": stale request: the replica has "
                      "generation stamp %" PRIu64 ", above %" PRIu64, id, e->gs, gs);
            return -ESTALE;
        }
        if (e->state != ENT_PARKED || mode == RE_APPEND) {
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " %s", id,
                      e->state == ENT_WRITING ? "is being written"
                      : e->state == ENT_DELETING ? "is being deleted"
                      : "is not finalized (it is parked in rbw/)");
            return e->state == ENT_PARKED ? -ENOENT : -EBUSY;
        }
        if (e->chunk != w->chunk) {
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " has chunk size %" PRIu32
                      ", not %" PRIu32, id, e->chunk, w->chunk);
            return -EINVAL;
        }
        if (len > e->u.acked) {
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " holds %" PRIu64 " verified bytes, "
                      "fewer than %" PRIu64, id, e->u.acked, len);
            return -EINVAL;
        }
        *cur = *e;
        *from_fin = 0;
        e->state = ENT_WRITING;
        e->u.w = w;
        return 0;
    }
    e = u64tab_get(&bs->fin, id);
    if (!e || e->state != ENT_FINAL) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " %s", id,
                  e ? "is being deleted" : "not found");
        return e ? -EBUSY : -ENOENT;
    }
    if (mode == RE_APPEND ? e->gs != old_gs : e->gs > gs) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 ": stale generation stamp (replica has %"
                  PRIu64 ", %s %" PRIu64 ")", id, e->gs,
                  mode == RE_APPEND ? "asked for" : "above", mode == RE_APPEND ? old_gs : gs);
        return -ESTALE;
    }
    /* recovery may cut a finalized replica: the block's bytes past len
     * were never acked to the client, which sends them again */
    if ((mode == RE_APPEND ? e->len != len : e->len < len) || e->chunk != w->chunk || e->bad) {
        if (e->bad)
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " is flagged bad", id);
        else if (e->len != len)
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " has %" PRIu64 " bytes, not %" PRIu64,
                      id, e->len, len);
        else
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " has chunk size %" PRIu32
                      ", not %" PRIu32, id, e->chunk, w->chunk);
        return -EINVAL;
    }
    /* room for the move, and for its finalize later (bs_writer_create's rule) */
    if (u64tab_reserve(&bs->rbw, bs->rbw.count + 1) < 0 ||
        u64tab_reserve(&bs->fin, bs->fin.count + bs->rbw.count + 1) < 0) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": out of memory for the replica map", id);
        return -ENOMEM;
    }
    e = u64tab_get(&bs->fin, id);   /* the reserve may have moved the entries */
    *cur = *e;
    *from_fin = 1;
    bs->nfinal--;
    bs->used -= e->len + dfs_meta_size(e->len, e->chunk);
    u64tab_del(&bs->fin, e);
    e = bs_ent_add(&bs->rbw, id, ENT_WRITING);  /* reserved: cannot fail */
    e->gs = cur->gs;
    e->len = cur->len;
    e->chunk = cur->chunk;
    e->dir = cur->dir;
    e->u.w = w;
    return 0;
}

/* w has claimed replica `cur` (from finalized/ when from_fin): bring its
 * files into rbw/, open them, cut to len, rename the meta to w->gs.  0, or
 * -errno with a message; the replica is then parked again (nothing
 * changed yet) or discarded. */
static int reopen_files(struct bs_writer *w, const struct ent *cur, int from_fin, uint64_t len,
                        char *err, size_t errsz)
{
    struct bs *bs = w->bs;
    char odata[PATH_MAX], ometa[PATH_MAX], rdata[PATH_MAX], rmeta[PATH_MAX];
    char ndata[PATH_MAX], nmeta[PATH_MAX], fdir[PATH_MAX], rbwdir[PATH_MAX];
    const char *op = "open", *what = rdata, *meta_now;
    struct stat st;
    int rc = 0, changed = 0;

    bs_replica_paths(bs, w->dir, !from_fin, w->id, cur->gs, odata, ometa);
    bs_replica_paths(bs, w->dir, 1, w->id, cur->gs, rdata, rmeta);
    bs_replica_paths(bs, w->dir, 1, w->id, w->gs, ndata, nmeta);
    bs_fin_dir_path(fdir, bs, w->dir, w->id);
    snprintf(rbwdir, sizeof rbwdir, "%s/rbw", vol_path(bs->vol, w->dir));
    meta_now = rmeta;
    if (!vol_usable(bs->vol, w->dir)) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": data dir %s has failed", w->id,
                  vol_path(bs->vol, w->dir));
        rc = -EIO;
        goto fail;
    }
    if (from_fin) {
        /* meta first, straight to its new name: a crash in between leaves
         * lone files, moved aside at open */
        changed = 1;
        op = "rename";
        what = nmeta;
        if (rename(ometa, nmeta) < 0)
            goto fail_errno;
        what = rdata;
        if (rename(odata, rdata) < 0)
            goto fail_errno;
        meta_now = nmeta;
        op = "fsync";
        what = rbwdir;
        if (fsync(vol_rbw_fd(bs->vol, w->dir)) < 0)
            goto fail_errno;
        what = fdir;
        if ((rc = vol_fsync_dir(fdir)) < 0)
            goto fail;
        op = "open";
    }
    what = rdata;
    if ((w->data_fd = open(rdata, O_RDWR | O_CLOEXEC)) < 0)
        goto fail_errno;
    what = meta_now;
    if ((w->meta_fd = open(meta_now, O_RDWR | O_CLOEXEC)) < 0)
        goto fail_errno;
    what = rdata;
    op = "fstat";
    if (fstat(w->data_fd, &st) < 0)
        goto fail_errno;
    uint64_t bytes = (uint64_t)st.st_size;
    if (len > bytes) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " holds %" PRIu64 " bytes, fewer than %"
                  PRIu64, w->id, bytes, len);
        rc = -EINVAL;
        goto fail;
    }
    if (len < bytes || fstat(w->meta_fd, &st) < 0 ||
        (uint64_t)st.st_size != dfs_meta_size(len, w->chunk)) {
        changed = 1;
        op = "cut";
        if (len < bytes && len % w->chunk != 0 &&
            (rc = bs_recut_chunk(w->data_fd, w->meta_fd, w->chunk, len, bytes, rdata)) < 0)
            goto fail;
        op = "truncate or fsync";
        if (ftruncate(w->data_fd, (off_t)len) < 0 || fsync(w->data_fd) < 0)
            goto fail_errno;
        what = meta_now;
        if (ftruncate(w->meta_fd, (off_t)dfs_meta_size(len, w->chunk)) < 0 ||
            fsync(w->meta_fd) < 0)
            goto fail_errno;
    }
    if (meta_now != nmeta && cur->gs != w->gs) {
        changed = 1;
        op = "rename";
        what = nmeta;
        if (rename(rmeta, nmeta) < 0)
            goto fail_errno;
        meta_now = nmeta;
        op = "fsync";
        what = rbwdir;
        if (fsync(vol_rbw_fd(bs->vol, w->dir)) < 0)
            goto fail_errno;
    }
    w->bytes = w->acked = w->flushed = len;
    w->rbw_synced = 1;
    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->rbw, w->id);
    if (e && e->u.w == w) {
        e->gs = w->gs;
        e->len = len;
    }
    pthread_mutex_unlock(&bs->lock);
    return 0;

fail_errno:
    rc = -errno;
    bs_seterr(err, errsz, "blk_%" PRIu64 ": %s %s: %s", w->id, op, what, strerror(-rc));
fail:
    if (w->data_fd >= 0)
        close(w->data_fd);
    if (w->meta_fd >= 0)
        close(w->meta_fd);
    w->data_fd = w->meta_fd = -1;
    bs_io_check(bs, w->dir, rc, op, what);
    if (!changed) {
        unclaim_parked(w, cur);
        return rc;
    }
    LOG_ERROR("block store: blk_%" PRIu64 ": reopen under generation stamp %" PRIu64
              " failed: %s %s: %s; replica discarded", w->id, w->gs, op, what, strerror(-rc));
    /* wherever its files are now */
    if (from_fin && strcmp(meta_now, nmeta) != 0) {
        unlink(odata);
        unlink(ometa);
    }
    unlink(nmeta);
    unlink(rmeta);
    unlink(rdata);
    bs_writer_unclaim(w);
    return rc;
}

static struct bs_writer *reopen(struct bs *bs, enum reopen_mode mode, uint64_t id,
                                uint64_t old_gs, uint64_t gs, uint64_t len, uint32_t chunk,
                                char *err, size_t errsz)
{
    struct ent cur;
    int from_fin = 0, rc;
    struct bs_writer *w = calloc(1, sizeof *w);
    if (!w) {
        bs_seterr(err, errsz, "blk_%" PRIu64 ": out of memory", id);
        errno = ENOMEM;
        return NULL;
    }
    *w = (struct bs_writer){ .bs = bs, .id = id, .gs = gs, .chunk = chunk,
                             .data_fd = -1, .meta_fd = -1 };
    pthread_mutex_lock(&bs->lock);
    rc = claim(w, mode, old_gs, len, &cur, &from_fin, err, errsz);
    pthread_mutex_unlock(&bs->lock);
    if (rc == 0 && from_fin)
        bs_changed(bs, id);     /* before its files move, are cut or grow */
    if (rc == 0) {
        w->dir = cur.dir;
        rc = reopen_files(w, &cur, from_fin, len, err, errsz);
    }
    if (rc < 0) {
        free(w);
        errno = -rc;
        return NULL;
    }
    LOG_INFO("block store: blk_%" PRIu64 " reopened (%s%s) under generation stamp %" PRIu64
             " from %" PRIu64 " at %" PRIu64 " bytes", id, from_fin ? "finalized" : "parked",
             mode == RE_APPEND ? ", append" : "", gs, cur.gs, len);
    return w;
}

struct bs_writer *bs_writer_recover(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                                    uint32_t chunk, char *err, size_t errsz)
{
    return reopen(bs, RE_RECOVER, id, 0, gs, len, chunk, err, errsz);
}

struct bs_writer *bs_writer_append(struct bs *bs, uint64_t id, uint64_t old_gs, uint64_t gs,
                                   uint64_t len, uint32_t chunk, char *err, size_t errsz)
{
    return reopen(bs, RE_APPEND, id, old_gs, gs, len, chunk, err, errsz);
}

/* ---- reading ------------------------------------------------------------ */

int bs_open_rbw(struct bs *bs, uint64_t id, uint64_t gs, int gs_upto, uint64_t len,
                struct bs_replica *r, char *err, size_t errsz)
{
    char data[PATH_MAX], meta[PATH_MAX];
    struct bs_rinfo ri;
    uint16_t dir = 0;
    int rbw, rc;

    r->data_fd = r->meta_fd = -1;
    r->tail_set = 0;
    pthread_mutex_lock(&bs->lock);
    int found = info_locked(bs, id, &ri, &dir) == 0;
    pthread_mutex_unlock(&bs->lock);
    if (!found) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " not found", id);
        return -ENOENT;
    }
    if (gs_upto ? ri.gs > gs : ri.gs != gs) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 ": stale generation stamp (replica has %"
                  PRIu64 ", asked for %s%" PRIu64 ")", id, ri.gs, gs_upto ? "at most " : "", gs);
        return -ESTALE;
    }
    if (len == UINT64_MAX)
        len = ri.visible;
    if (len > ri.visible) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " has %" PRIu64 " visible bytes, fewer "
                  "than %" PRIu64, id, ri.visible, len);
        return -EINVAL;
    }
    rbw = ri.state != BS_FINALIZED;
    bs_replica_paths(bs, dir, rbw, id, ri.gs, data, meta);
    const char *what = data;
    if ((r->data_fd = open(data, O_RDONLY | O_CLOEXEC)) < 0 ||
        (what = meta, (r->meta_fd = open(meta, O_RDONLY | O_CLOEXEC)) < 0)) {
        rc = -errno;
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " %s: %s: %s", id,
                  rc == -ENOENT ? "not found" : "unreadable", what, strerror(-rc));
        bs_close_replica(r);
        return rc;
    }
    r->length = len;
    r->genstamp = ri.gs;
    r->chunk_size = ri.chunk;
    if (len % ri.chunk) {
        uint64_t ci = len / ri.chunk, off = ci * ri.chunk;
        size_t n = (size_t)(len - off);
        uint8_t *buf = malloc(n);
        ssize_t got = buf ? bs_pread_all(r->data_fd, buf, n, off) : -ENOMEM;
        if (got != (ssize_t)n) {
            rc = got < 0 ? (int)got : -EIO;
            bs_seterr(err, errsz, "replica blk_%" PRIu64 ": reading its last chunk: %s", id,
                      got < 0 ? strerror(-rc) : "data file is short");
            free(buf);
            bs_close_replica(r);
            return rc;
        }
        dfs_put_be64(r->tail_sum, dfs_checksum(buf, n));
        r->tail_chunk = ci;
        r->tail_set = 1;
        free(buf);
    }
    return 0;
}

/* ---- block recovery ------------------------------------------------------ */

/* Rename finalized replica `id`'s meta from its generation stamp to gs. */
static int fin_regs(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len, char *err,
                    size_t errsz)
{
    char data[PATH_MAX], ometa[PATH_MAX], nmeta[PATH_MAX], fdir[PATH_MAX];
    struct ent cur;
    int rc = 0;

    pthread_mutex_lock(&bs->lock);
    struct ent *e = u64tab_get(&bs->fin, id);
    if (!e || e->state != ENT_FINAL) {
        pthread_mutex_unlock(&bs->lock);
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " %s", id, e ? "is being deleted"
                  : "not found");
        return e ? -EBUSY : -ENOENT;
    }
    cur = *e;
    if (cur.gs > gs || cur.len != len || cur.bad || cur.gs == gs) {
        pthread_mutex_unlock(&bs->lock);
        if (cur.gs == gs && cur.len == len)
            return 0;                        /* done already */
        if (cur.gs > gs)
            bs_seterr(err, errsz, "replica blk_%" PRIu64 ": stale request: the replica has "
                      "generation stamp %" PRIu64 ", above %" PRIu64, id, cur.gs, gs);
        else if (cur.len != len)
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " is finalized with %" PRIu64
                      " bytes, not %" PRIu64, id, cur.len, len);
        else
            bs_seterr(err, errsz, "replica blk_%" PRIu64 " is flagged bad", id);
        return cur.gs > gs ? -ESTALE : -EINVAL;
    }
    e->state = ENT_DELETING;                 /* claimed: no other use meanwhile */
    pthread_mutex_unlock(&bs->lock);
    bs_changed(bs, id);                      /* before its meta is renamed */

    bs_replica_paths(bs, cur.dir, 0, id, cur.gs, data, ometa);
    bs_replica_paths(bs, cur.dir, 0, id, gs, data, nmeta);
    bs_fin_dir_path(fdir, bs, cur.dir, id);
    const char *op = "rename", *what = nmeta;
    if (rename(ometa, nmeta) < 0) {
        rc = -errno;
    } else if ((rc = vol_fsync_dir(fdir)) < 0) {
        op = "fsync";
        what = fdir;
    }
    if (rc < 0)
        bs_seterr(err, errsz, "blk_%" PRIu64 ": %s %s: %s", id, op, what, strerror(-rc));

    pthread_mutex_lock(&bs->lock);
    e = u64tab_get(&bs->fin, id);
    if (e && !vol_usable(bs->vol, cur.dir)) {
        bs->nfinal--;
        bs->used -= e->len + dfs_meta_size(e->len, e->chunk);
        u64tab_del(&bs->fin, e);
    } else if (e) {
        e->state = ENT_FINAL;
        if (rc == 0 || access(nmeta, F_OK) == 0)
            e->gs = gs;
    }
    pthread_mutex_unlock(&bs->lock);
    bs_io_check(bs, cur.dir, rc, op, what);
    if (rc == 0)
        LOG_INFO("block store: blk_%" PRIu64 " (finalized, %" PRIu64 " bytes): generation "
                 "stamp %" PRIu64 " -> %" PRIu64, id, len, cur.gs, gs);
    return rc;
}

int bs_recover_finalize(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                        char *err, size_t errsz)
{
    struct bs_rinfo ri;
    if (bs_replica_info(bs, id, &ri) < 0) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " not found", id);
        return -ENOENT;
    }
    if (ri.state == BS_FINALIZED)
        return fin_regs(bs, id, gs, len, err, errsz);
    if (ri.state == BS_RBW_WRITING && ri.gs <= gs) {
        bs_seterr(err, errsz, "replica blk_%" PRIu64 " is being written", id);
        return -EBUSY;
    }
    struct bs_writer *w = bs_writer_recover(bs, id, gs, len, ri.chunk, err, errsz);
    if (!w)
        return -errno;
    int rc = bs_writer_finalize(w, len);
    if (rc < 0)
        bs_seterr(err, errsz, "blk_%" PRIu64 ": finalize: %s", id, strerror(-rc));
    return rc;
}
