/*
 * test_bs_rbw.c - unit tests of datanode/bs_rbw.c: replicas being written
 * (park, acked and visible length, reopen cut under a new generation
 * stamp, append reopen of a finalized replica, reading the stable prefix,
 * finalize for block recovery, parked replicas found at open).
 */
#include "check.h"
#include "blockstore.h"
#include "checksum.h"
#include "frame.h"
#include "log.h"
#include "log_sink.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK 512u
#define LEN   3000u                 /* 5 chunks + 440 bytes */

static char base[64], dir[128];
static const char *dirs[1] = { dir };
static char err[1024];
static uint8_t data[8192];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

static off_t fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void rbw_paths(uint64_t id, uint64_t gs, char *d, char *m)
{
    snprintf(d, PATH_MAX, "%s/rbw/blk_%" PRIu64, dir, id);
    snprintf(m, PATH_MAX, "%s/rbw/blk_%" PRIu64 "_%" PRIu64 ".meta", dir, id, gs);
}

static struct bs *open_store(void)
{
    struct bs *bs = bs_open(dirs, 1, 0, err, sizeof err);
    if (!bs)
        fprintf(stderr, "bs_open: %s\n", err);
    return bs;
}

/* Write data[from, to) (from chunk-aligned) through w. */
static int put(struct bs_writer *w, uint64_t from, uint64_t to)
{
    uint8_t sums[8 * 16];
    for (uint64_t off = from; off < to;) {
        size_t n = to - off < 4 * CHUNK ? (size_t)(to - off) : 4 * CHUNK;
        dfs_checksum_chunks_be(data + off, n, CHUNK, sums);
        int rc = bs_writer_write(w, off, data + off, n, sums, dfs_nchunks(n, CHUNK));
        if (rc < 0)
            return rc;
        off += n;
    }
    return 0;
}

/* A replica (id, gs) of LEN bytes, parked. */
static int parked(struct bs *bs, uint64_t id, uint64_t gs)
{
    struct bs_writer *w = bs_writer_create(bs, id, gs, CHUNK, err, sizeof err);
    if (!w)
        return -1;
    if (put(w, 0, LEN) < 0) {
        bs_writer_abort(w);
        return -1;
    }
    return bs_writer_park(w);
}

/* The stored checksum of chunk ci of a meta file. */
static uint64_t stored_sum(const char *meta, uint64_t ci)
{
    uint8_t b[8] = { 0 };
    int fd = open(meta, O_RDONLY);
    if (fd >= 0) {
        if (pread(fd, b, 8, DFS_META_HDR_LEN + 8 * ci) != 8)
            memset(b, 0, 8);
        close(fd);
    }
    return dfs_get_be64(b);
}

static int count_id(uint64_t id, uint64_t gs, uint64_t len, void *arg)
{
    uint64_t *f = arg;
    if (id == f[0]) {
        f[1] = gs;
        f[2] = len;
        f[3]++;
    }
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_write_park_info(struct bs *bs)
{
    struct bs_rinfo ri;
    uint64_t f[4] = { 100, 0, 0, 0 };
    char d[PATH_MAX], m[PATH_MAX];
    struct bs_writer *w = bs_writer_create(bs, 100, 1, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w)
        return;
    CHECK_EQ_INT(put(w, 0, LEN), 0);
    bs_writer_set_acked(w, 2048);
    bs_writer_set_acked(w, 1024);               /* never lowered */
    CHECK_EQ_INT(bs_writer_acked(w), 2048);
    CHECK_EQ_INT(bs_replica_info(bs, 100, &ri), 0);
    CHECK(ri.state == BS_RBW_WRITING && ri.gs == 1 && ri.bytes == LEN && ri.visible == 2048);
    CHECK_EQ_INT(bs_foreach_rbw(bs, count_id, f), 0);
    CHECK(f[1] == 1 && f[2] == LEN && f[3] == 1);

    /* the stable prefix, read while it is being written */
    struct bs_replica r;
    CHECK_EQ_INT(bs_open_rbw(bs, 100, 1, 0, UINT64_MAX, &r, err, sizeof err), 0);
    CHECK_EQ_INT(r.length, 2048);
    bs_close_replica(&r);
    CHECK_EQ_INT(bs_open_rbw(bs, 100, 1, 0, 2049, &r, err, sizeof err), -EINVAL);
    CHECK_EQ_INT(bs_open_rbw(bs, 100, 2, 0, 10, &r, err, sizeof err), -ESTALE);
    CHECK_EQ_INT(bs_open_rbw(bs, 100, 0, 1, 10, &r, err, sizeof err), -ESTALE);
    CHECK_EQ_INT(bs_open_rbw(bs, 101, 1, 0, 10, &r, err, sizeof err), -ENOENT);
    bs_writer_set_acked(w, 2500);
    CHECK_EQ_INT(bs_open_rbw(bs, 100, 2, 1, 2500, &r, err, sizeof err), 0);
    if (r.data_fd >= 0) {
        uint8_t sums[8 * 5];
        CHECK_EQ_INT(r.length, 2500);
        CHECK_EQ_INT(bs_read_sums(&r, 0, 5, sums), 0);
        /* chunk 4 (bytes 2048..2500): computed, not the stored 2048..2560 */
        CHECK(dfs_get_be64(sums + 32) == dfs_checksum(data + 2048, 452));
        CHECK(dfs_get_be64(sums + 24) == dfs_checksum(data + 1536, 512));
        bs_close_replica(&r);
    }

    CHECK_EQ_INT(bs_writer_park(w), 0);
    CHECK_EQ_INT(bs_replica_info(bs, 100, &ri), 0);
    CHECK(ri.state == BS_RBW_PARKED && ri.gs == 1 && ri.bytes == LEN && ri.visible == LEN);
    rbw_paths(100, 1, d, m);
    CHECK_EQ_INT(fsize(d), LEN);
    CHECK_EQ_INT(fsize(m), DFS_META_HDR_LEN + 8 * 6);
    f[3] = 0;
    CHECK_EQ_INT(bs_foreach_rbw(bs, count_id, f), 0);
    CHECK(f[2] == LEN && f[3] == 1);
    CHECK(bs_writer_create(bs, 100, 2, CHUNK, err, sizeof err) == NULL && errno == EEXIST);
    CHECK_EQ_INT(bs_count(bs), 0);
}

static void test_recover_cut(struct bs *bs)
{
    char d[PATH_MAX], m1[PATH_MAX], m2[PATH_MAX];
    struct bs_rinfo ri;
    CHECK_EQ_INT(parked(bs, 200, 3), 0);
    /* refused: older genstamp, too long, another chunk size, none */
    CHECK(bs_writer_recover(bs, 200, 2, 100, CHUNK, err, sizeof err) == NULL && errno == ESTALE);
    CHECK(bs_writer_recover(bs, 200, 4, LEN + 1, CHUNK, err, sizeof err) == NULL &&
          errno == EINVAL);
    CHECK(bs_writer_recover(bs, 200, 4, 100, 1024, err, sizeof err) == NULL && errno == EINVAL);
    CHECK(bs_writer_recover(bs, 201, 4, 100, CHUNK, err, sizeof err) == NULL && errno == ENOENT);
    CHECK_EQ_INT(bs_replica_info(bs, 200, &ri), 0);
    CHECK(ri.state == BS_RBW_PARKED && ri.gs == 3);

    /* cut inside chunk 4 under genstamp 4 */
    struct bs_writer *w = bs_writer_recover(bs, 200, 4, 2100, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w) {
        fprintf(stderr, "recover: %s\n", err);
        return;
    }
    rbw_paths(200, 3, d, m1);
    rbw_paths(200, 4, d, m2);
    CHECK_EQ_INT(fsize(d), 2100);
    CHECK_EQ_INT(fsize(m1), -1);
    CHECK_EQ_INT(fsize(m2), DFS_META_HDR_LEN + 8 * 5);
    CHECK(stored_sum(m2, 4) == dfs_checksum(data + 2048, 52));
    CHECK_EQ_INT(bs_writer_bytes(w), 2100);
    CHECK_EQ_INT(bs_writer_acked(w), 2100);
    /* being written: an older request is stale, a newer one must wait */
    CHECK(bs_writer_recover(bs, 200, 3, 100, CHUNK, err, sizeof err) == NULL && errno == ESTALE);
    CHECK_EQ_INT(bs_recover_finalize(bs, 200, 3, 100, err, sizeof err), -ESTALE);
    CHECK(bs_writer_recover(bs, 200, 5, 100, CHUNK, err, sizeof err) == NULL && errno == EBUSY);
    CHECK_EQ_INT(bs_recover_finalize(bs, 200, 5, 100, err, sizeof err), -EBUSY);
    /* the writer goes on from the partial chunk's start */
    CHECK_EQ_INT(put(w, 2048, 4000), 0);
    CHECK_EQ_INT(bs_writer_finalize(w, 4000), 0);
    uint64_t gs = 0, len = 0;
    CHECK_EQ_INT(bs_lookup(bs, 200, &gs, &len), 1);
    CHECK(gs == 4 && len == 4000);
    CHECK_EQ_INT(bs_verify(bs, 200, err, sizeof err), 0);

    /* a finalized replica of at least that length may be reopened too */
    CHECK(bs_writer_recover(bs, 200, 5, 4001, CHUNK, err, sizeof err) == NULL &&
          errno == EINVAL);
    w = bs_writer_recover(bs, 200, 5, 4000, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w)
        return;
    CHECK_EQ_INT(bs_lookup(bs, 200, NULL, NULL), 0);
    CHECK_EQ_INT(bs_replica_info(bs, 200, &ri), 0);
    CHECK(ri.state == BS_RBW_WRITING && ri.gs == 5 && ri.bytes == 4000);
    CHECK_EQ_INT(put(w, 3584, 5000), 0);
    CHECK_EQ_INT(bs_writer_finalize(w, 5000), 0);
    CHECK_EQ_INT(bs_lookup(bs, 200, &gs, &len), 1);
    CHECK(gs == 5 && len == 5000);
    CHECK_EQ_INT(bs_verify(bs, 200, err, sizeof err), 0);
    /* longer than asked: cut (its last chunk's checksum recomputed) */
    w = bs_writer_recover(bs, 200, 6, 4700, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w)
        return;
    rbw_paths(200, 6, d, m2);
    CHECK_EQ_INT(fsize(d), 4700);
    CHECK(stored_sum(m2, 9) == dfs_checksum(data + 4608, 92));
    CHECK_EQ_INT(bs_writer_finalize(w, 4700), 0);
    CHECK_EQ_INT(bs_verify(bs, 200, err, sizeof err), 0);
}

static void test_append(struct bs *bs)
{
    struct bs_writer *w = bs_writer_create(bs, 300, 1, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w)
        return;
    CHECK_EQ_INT(put(w, 0, 1000), 0);
    CHECK_EQ_INT(bs_writer_finalize(w, 1000), 0);
    size_t n0 = bs_count(bs);
    uint64_t used0, used1;
    bs_space(bs, NULL, &used0, NULL);

    CHECK(bs_writer_append(bs, 300, 2, 3, 1000, CHUNK, err, sizeof err) == NULL &&
          errno == ESTALE);
    CHECK(bs_writer_append(bs, 300, 1, 3, 999, CHUNK, err, sizeof err) == NULL &&
          errno == EINVAL);
    CHECK(bs_writer_append(bs, 300, 1, 3, 1000, 1024, err, sizeof err) == NULL &&
          errno == EINVAL);
    CHECK(strstr(err, "chunk size") != NULL);
    CHECK(bs_writer_append(bs, 301, 1, 3, 1000, CHUNK, err, sizeof err) == NULL &&
          errno == ENOENT);

    w = bs_writer_append(bs, 300, 1, 3, 1000, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w) {
        fprintf(stderr, "append: %s\n", err);
        return;
    }
    char d[PATH_MAX], m[PATH_MAX];
    rbw_paths(300, 3, d, m);
    CHECK_EQ_INT(fsize(d), 1000);
    CHECK_EQ_INT(fsize(m), DFS_META_HDR_LEN + 16);
    CHECK_EQ_INT(bs_count(bs), n0 - 1);
    bs_space(bs, NULL, &used1, NULL);
    CHECK_EQ_INT(used1, used0 - 1000 - DFS_META_HDR_LEN - 16);
    CHECK_EQ_INT(put(w, 512, 2500), 0);
    CHECK_EQ_INT(bs_writer_finalize(w, 2500), 0);
    uint64_t gs = 0, len = 0;
    CHECK_EQ_INT(bs_lookup(bs, 300, &gs, &len), 1);
    CHECK(gs == 3 && len == 2500);
    CHECK_EQ_INT(bs_verify(bs, 300, err, sizeof err), 0);
    /* a parked replica is not appended to */
    CHECK_EQ_INT(parked(bs, 301, 1), 0);
    CHECK(bs_writer_append(bs, 301, 1, 2, LEN, CHUNK, err, sizeof err) == NULL &&
          errno == ENOENT);
}

static void test_recover_finalize(struct bs *bs)
{
    uint64_t gs = 0, len = 0;
    CHECK_EQ_INT(parked(bs, 400, 2), 0);
    CHECK_EQ_INT(bs_recover_finalize(bs, 400, 1, 2100, err, sizeof err), -ESTALE);
    CHECK_EQ_INT(bs_recover_finalize(bs, 400, 5, LEN + 1, err, sizeof err), -EINVAL);
    CHECK_EQ_INT(bs_recover_finalize(bs, 401, 5, 10, err, sizeof err), -ENOENT);
    CHECK_EQ_INT(bs_recover_finalize(bs, 400, 5, 2100, err, sizeof err), 0);
    CHECK_EQ_INT(bs_lookup(bs, 400, &gs, &len), 1);
    CHECK(gs == 5 && len == 2100);
    CHECK_EQ_INT(bs_verify(bs, 400, err, sizeof err), 0);
    /* again: done already */
    CHECK_EQ_INT(bs_recover_finalize(bs, 400, 5, 2100, err, sizeof err), 0);
    /* finalized: another length refused, a newer genstamp renames */
    CHECK_EQ_INT(bs_recover_finalize(bs, 400, 6, 2000, err, sizeof err), -EINVAL);
    CHECK_EQ_INT(bs_recover_finalize(bs, 400, 4, 2100, err, sizeof err), -ESTALE);
    CHECK_EQ_INT(bs_recover_finalize(bs, 400, 6, 2100, err, sizeof err), 0);
    CHECK_EQ_INT(bs_lookup(bs, 400, &gs, &len), 1);
    CHECK(gs == 6 && len == 2100);
    CHECK_EQ_INT(bs_verify(bs, 400, err, sizeof err), 0);
    struct bs_replica r;
    CHECK_EQ_INT(bs_open_replica(bs, 400, 6, &r, err, sizeof err), 0);
    bs_close_replica(&r);
}

static void test_restart_finds_parked(struct bs **bsp)
{
    struct bs *bs = *bsp;
    struct bs_rinfo ri;
    char d[PATH_MAX], m[PATH_MAX];
    CHECK_EQ_INT(parked(bs, 500, 7), 0);
    CHECK_EQ_INT(parked(bs, 501, 7), 0);
    CHECK_EQ_INT(parked(bs, 502, 7), 0);
    bs_close(bs);
    /* 501: its last chunk corrupt; 502: its meta short of one checksum */
    rbw_paths(501, 7, d, m);
    int fd = open(d, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, "X", 1, 2900) == 1);
    if (fd >= 0)
        close(fd);
    rbw_paths(502, 7, d, m);
    CHECK_EQ_INT(truncate(m, DFS_META_HDR_LEN + 8 * 5), 0);
    bs = *bsp = open_store();
    if (!bs)
        return;
    CHECK_EQ_INT(bs_replica_info(bs, 500, &ri), 0);
    CHECK(ri.state == BS_RBW_PARKED && ri.gs == 7 && ri.bytes == LEN && ri.visible == LEN);
    CHECK_EQ_INT(bs_replica_info(bs, 501, &ri), 0);
    CHECK(ri.state == BS_RBW_PARKED && ri.bytes == LEN && ri.visible == 2560);
    CHECK_EQ_INT(bs_replica_info(bs, 502, &ri), 0);
    CHECK(ri.state == BS_RBW_PARKED && ri.bytes == LEN && ri.visible == 2560);
    /* every earlier replica is back too */
    CHECK_EQ_INT(bs_replica_info(bs, 100, &ri), 0);
    CHECK(ri.state == BS_RBW_PARKED && ri.visible == LEN);
    /* the corrupt chunk is past the verified length: recovery cuts it off */
    struct bs_writer *w = bs_writer_recover(bs, 501, 8, 2560, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (w)
        CHECK_EQ_INT(bs_writer_finalize(w, 2560), 0);
    CHECK_EQ_INT(bs_verify(bs, 501, err, sizeof err), 0);
    /* a parked replica is deleted like any */
    CHECK_EQ_INT(bs_delete(bs, 502), 0);
    CHECK_EQ_INT(fsize(d), -1);
    CHECK_EQ_INT(bs_replica_info(bs, 502, &ri), -ENOENT);
}

static void test_transfer_parks_at_last(struct bs *bs)
{
    struct bs_rinfo ri;
    struct bs_writer *w = bs_writer_create(bs, 600, 9, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w)
        return;
    CHECK_EQ_INT(put(w, 0, 1700), 0);
    bs_writer_set_acked(w, 1700);
    CHECK_EQ_INT(bs_writer_park(w), 0);
    CHECK_EQ_INT(bs_replica_info(bs, 600, &ri), 0);
    CHECK(ri.state == BS_RBW_PARKED && ri.gs == 9 && ri.visible == 1700);
    /* read as a transfer source would: any genstamp up to the new one */
    struct bs_replica r;
    CHECK_EQ_INT(bs_open_rbw(bs, 600, 10, 1, 1600, &r, err, sizeof err), 0);
    if (r.data_fd >= 0) {
        uint8_t sums[8 * 4];
        CHECK_EQ_INT(bs_read_sums(&r, 0, 4, sums), 0);
        CHECK(dfs_get_be64(sums + 24) == dfs_checksum(data + 1536, 64));
        CHECK_EQ_INT(bs_read_sums(&r, 0, 5, sums), -EINVAL);
        bs_close_replica(&r);
    }
}

/* Reopening a finalized replica reserves room in the replica tables; the
 * entry it then moves must be looked up after that, not before (a table
 * that grew moved its entries).  A replica reopened at every table size
 * from 1 to 300 finalized replicas meets several growths. */
static void test_reopen_as_table_grows(struct bs *bs)
{
    const uint64_t first = 1000;
    int fails = 0;
    for (uint64_t k = 0; k < 300 && !fails; k++) {
        struct bs_writer *w = bs_writer_create(bs, first + k, 1, CHUNK, err, sizeof err);
        if (!w || put(w, 0, 1000) < 0 || bs_writer_finalize(w, 1000) < 0) {
            fails++;
            break;
        }
        /* reopen the newest one (append) and finalize it again */
        w = bs_writer_append(bs, first + k, 1, 2, 1000, CHUNK, err, sizeof err);
        if (!w || put(w, 512, 1500) < 0 || bs_writer_finalize(w, 1500) < 0)
            fails++;
        uint64_t gs = 0, len = 0;
        if (!bs_lookup(bs, first + k, &gs, &len) || gs != 2 || len != 1500)
            fails++;
    }
    CHECK_EQ_INT(fails, 0);
    for (uint64_t k = 0; k < 300; k++)
        bs_delete(bs, first + k);
}

/* The bs_on_replica_changed hook: the last id it was called with, how
 * often, and whether the replica's files were still in place then. */
static struct {
    uint64_t id;
    unsigned calls;
    int files_there;
} changed;

static void on_changed(void *arg, uint64_t id)
{
    char d[PATH_MAX];
    (void)arg;
    changed.id = id;
    changed.calls++;
    /* still in finalized/ or rbw/ as before the change (the store calls the
     * hook before touching the files; the path query is no store call) */
    snprintf(d, sizeof d, "%s/finalized/subdir0/subdir%u/blk_%" PRIu64, dir,
             (unsigned)((id >> 8) & 0x1f), id);
    changed.files_there = access(d, F_OK) == 0;
}

/* A finalized replica (id, gs) of len bytes. */
static int finalized(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len)
{
    struct bs_writer *w = bs_writer_create(bs, id, gs, CHUNK, err, sizeof err);
    if (!w)
        return -1;
    if (put(w, 0, len) < 0) {
        bs_writer_abort(w);
        return -1;
    }
    return bs_writer_finalize(w, len);
}

/* Every change of a finalized replica calls the hook first, once; adding
 * replicas and refusals do not. */
static void test_changed_hook(struct bs *bs)
{
    bs_on_replica_changed(bs, on_changed, NULL);
    CHECK_EQ_INT(finalized(bs, 700, 1, 1000), 0);
    CHECK_EQ_INT(changed.calls, 0);

    /* append: the old replica's descriptors must not be read any more */
    struct bs_writer *w = bs_writer_append(bs, 700, 1, 2, 1000, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    CHECK(changed.calls == 1 && changed.id == 700 && changed.files_there);
    if (w) {
        CHECK_EQ_INT(put(w, 512, 1500), 0);
        CHECK_EQ_INT(bs_writer_finalize(w, 1500), 0);
    }
    CHECK_EQ_INT(changed.calls, 1);
    /* a refused append (stale genstamp) changes nothing */
    CHECK(bs_writer_append(bs, 700, 1, 3, 1500, CHUNK, err, sizeof err) == NULL);
    CHECK_EQ_INT(changed.calls, 1);

    /* flagged bad (only with the right genstamp) */
    CHECK_EQ_INT(bs_mark_bad(bs, 700, 1, err, sizeof err), -ESTALE);
    CHECK_EQ_INT(changed.calls, 1);
    CHECK_EQ_INT(bs_mark_bad(bs, 700, 2, err, sizeof err), 0);
    CHECK(changed.calls == 2 && changed.id == 700);

    /* deleted: before the unlink */
    CHECK_EQ_INT(bs_delete(bs, 700), 0);
    CHECK(changed.calls == 3 && changed.id == 700 && changed.files_there);
    CHECK_EQ_INT(bs_delete(bs, 700), -ENOENT);
    CHECK_EQ_INT(changed.calls, 3);

    /* block recovery: a finalized replica renamed to a new genstamp, and
     * one reopened (recovery of a pipeline that had finished it) */
    CHECK_EQ_INT(finalized(bs, 701, 1, 1000), 0);
    CHECK_EQ_INT(bs_recover_finalize(bs, 701, 2, 1000, err, sizeof err), 0);
    CHECK(changed.calls == 4 && changed.id == 701 && changed.files_there);
    w = bs_writer_recover(bs, 701, 3, 800, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    CHECK(changed.calls == 5 && changed.id == 701);
    if (w)
        CHECK_EQ_INT(bs_writer_finalize(w, 800), 0);
    CHECK_EQ_INT(changed.calls, 5);

    /* a parked replica deleted: not finalized, no hook */
    CHECK_EQ_INT(parked(bs, 702, 1), 0);
    CHECK_EQ_INT(bs_delete(bs, 702), 0);
    CHECK_EQ_INT(changed.calls, 5);
    bs_on_replica_changed(bs, NULL, NULL);
    CHECK_EQ_INT(bs_delete(bs, 701), 0);
    CHECK_EQ_INT(changed.calls, 5);
}

int main(void)
{
    if (getenv("TEST_VERBOSE")) {
        dfs_log_set_level(DFS_LOG_DEBUG);
        dfs_log_set_sink(dfs_log_stderr_sink, NULL);
    }
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + (i >> 7));
    snprintf(base, sizeof base, "/tmp/test_bs_rbw_XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/data", base);
    struct bs *bs = open_store();
    if (bs) {
        test_write_park_info(bs);
        test_recover_cut(bs);
        test_append(bs);
        test_recover_finalize(bs);
        test_transfer_parks_at_last(bs);
        test_reopen_as_table_grows(bs);
        test_changed_hook(bs);
        test_restart_finds_parked(&bs);
        bs_close(bs);
    }
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary();
}
