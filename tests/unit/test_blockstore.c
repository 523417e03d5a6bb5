/*
 * test_blockstore.c - unit tests of datanode/blockstore.c (the data dirs'
 * own logic: test_volume.c).
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
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define CHUNK 512u

static char base[64], d0[PATH_MAX], d1[PATH_MAX];
static const char *dirs[2] = { d0, d1 };
static char err[1024];

/* ---- helpers --------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

static void rm_rf(const char *p)
{
    nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
}

static int mkdir_p_(const char *path)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    return system(cmd);
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static off_t fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Files in a directory, "." and ".." excluded; -1 when it cannot be read. */
static int count_files(const char *path)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "ls -A '%s' 2>/dev/null | wc -l", path);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1)
            n = -1;
        pclose(p);
    }
    return n;
}

static void fin_paths(const char *dir, uint64_t id, uint64_t gs, char *data, char *meta)
{
    snprintf(data, PATH_MAX, "%s/finalized/subdir%u/subdir%u/blk_%" PRIu64, dir,
             (unsigned)((id >> 16) & 0x1f), (unsigned)((id >> 8) & 0x1f), id);
    snprintf(meta, PATH_MAX, "%s/finalized/subdir%u/subdir%u/blk_%" PRIu64 "_%" PRIu64 ".meta",
             dir, (unsigned)((id >> 16) & 0x1f), (unsigned)((id >> 8) & 0x1f), id, gs);
}

/* Which of dirs[] holds finalized blk_id (-1: none). */
static int where(uint64_t id, uint64_t gs)
{
    char data[PATH_MAX], meta[PATH_MAX];
    for (int i = 0; i < 2; i++) {
        fin_paths(dirs[i], id, gs, data, meta);
        if (exists(data) && exists(meta))
            return i;
    }
    return -1;
}

/* Write blk_id through the API in packets of `packet` bytes and finalize. */
static int put_replica(struct bs *bs, uint64_t id, uint64_t gs, uint32_t chunk, size_t len,
                       size_t packet)
{
    uint8_t *data = malloc(len + 1), *sums = malloc(8 * (dfs_nchunks(len, chunk) + 1));
    int rc = -1;
    struct bs_writer *w = bs_writer_create(bs, id, gs, chunk, err, sizeof err);
    if (!w) {
        fprintf(stderr, "bs_writer_create: %s\n", err);
        goto out;
    }
    fill(data, len, id);
    for (size_t off = 0; off < len; off += packet) {
        size_t n = len - off < packet ? len - off : packet;
        dfs_checksum_chunks_be(data + off, n, chunk, sums);
        if ((rc = bs_writer_write(w, off, data + off, n, sums, dfs_nchunks(n, chunk))) < 0) {
            bs_writer_abort(w);
            goto out;
        }
    }
    if (bs_writer_bytes(w) != len) {
        bs_writer_abort(w);
        rc = -1;
        goto out;
    }
    rc = bs_writer_finalize(w, len);
out:
    free(sums);
    free(data);
    return rc;
}

/* Read blk_id back through bs_open_replica and compare with fill(). */
static int replica_matches(struct bs *bs, uint64_t id, uint64_t gs, size_t len)
{
    struct bs_replica r;
    uint8_t *want = malloc(len + 1), *got = malloc(len + 1);
    size_t nc = dfs_nchunks(len, CHUNK);
    uint8_t *ws = malloc(8 * nc + 8), *gsums = malloc(8 * nc + 8);
    int ok = 0;
    if (bs_open_replica(bs, id, gs, &r, err, sizeof err) == 0) {
        fill(want, len, id);
        dfs_checksum_chunks_be(want, len, CHUNK, ws);
        ok = r.length == len && r.genstamp == gs && r.chunk_size == CHUNK &&
             pread(r.data_fd, got, len + 1, 0) == (ssize_t)len && memcmp(got, want, len) == 0 &&
             bs_read_sums(&r, 0, nc, gsums) == 0 && memcmp(ws, gsums, 8 * nc) == 0 &&
             bs_read_sums(&r, nc, 1, gsums) == -EINVAL;
        bs_close_replica(&r);
    }
    free(want); free(got); free(ws); free(gsums);
    return ok;
}

/* Put a replica on disk without the store (as left by an earlier run). */
static int plant(const char *dir, int rbw, uint64_t id, uint64_t gs, size_t len)
{
    int ok;
    char d[PATH_MAX], data[PATH_MAX], meta[PATH_MAX];
    uint8_t *buf = malloc(len + 1), *m = calloc(1, DFS_META_HDR_LEN + 8 * dfs_nchunks(len, CHUNK));
    if (rbw) {
        snprintf(d, sizeof d, "%s/rbw", dir);
        snprintf(data, sizeof data, "%s/blk_%" PRIu64, d, id);
        snprintf(meta, sizeof meta, "%s/blk_%" PRIu64 "_%" PRIu64 ".meta", d, id, gs);
    } else {
        fin_paths(dir, id, gs, data, meta);
        snprintf(d, sizeof d, "%s/finalized/subdir%u", dir, (unsigned)((id >> 16) & 0x1f));
        mkdir(d, 0755);
        snprintf(d + strlen(d), sizeof d - strlen(d), "/subdir%u", (unsigned)((id >> 8) & 0x1f));
        mkdir(d, 0755);
    }
    fill(buf, len, id);
    dfs_put_be32(m, DFS_META_MAGIC);
    dfs_put_be16(m + 4, DFS_META_VERSION);
    dfs_put_be16(m + 6, DFS_CSUM_XXH3_64);
    dfs_put_be32(m + 8, CHUNK);
    dfs_checksum_chunks_be(buf, len, CHUNK, m + DFS_META_HDR_LEN);
    int fd = open(data, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len;
    if (fd >= 0)
        close(fd);
    fd = open(meta, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t ml = DFS_META_HDR_LEN + 8 * dfs_nchunks(len, CHUNK);
    ok = ok && fd >= 0 && write(fd, m, ml) == (ssize_t)ml;
    if (fd >= 0)
        close(fd);
    free(buf);
    free(m);
    return ok ? 0 : -1;
}

static struct bs *reopen(struct bs *bs)
{
    bs_close(bs);
    bs = bs_open(dirs, 2, 0, err, sizeof err);
    if (!bs)
        fprintf(stderr, "bs_open: %s\n", err);
    return bs;
}

/* ---- tests ------------------------------------------------------------ */

static struct bs *test_open(void)
{
    char id1[64], p0[PATH_MAX], p1[PATH_MAX];
    struct bs *bs = bs_open(dirs, 2, 0, err, sizeof err);
    CHECK(bs != NULL);
    if (!bs)
        return NULL;
    const char *sid = bs_storage_id(bs);
    CHECK_EQ_INT(strlen(sid), 35);
    CHECK(strncmp(sid, "DS-", 3) == 0 && strspn(sid + 3, "0123456789abcdef") == 32);
    snprintf(id1, sizeof id1, "%s", sid);
    CHECK_EQ_INT(bs_count(bs), 0);
    for (int i = 0; i < 2; i++) {
        char p[PATH_MAX], text[256] = "", want[256];
        snprintf(p, sizeof p, "%s/VERSION", dirs[i]);
        FILE *f = fopen(p, "r");
        CHECK(f != NULL);
        if (f) {
            size_t n = fread(text, 1, sizeof text - 1, f);
            text[n] = '\0';
            fclose(f);
        }
        snprintf(want, sizeof want, "storage_id=%s\nlayout=1\n", id1);
        CHECK_EQ_STR(text, want);
        snprintf(p, sizeof p, "%s/rbw", dirs[i]);
        CHECK(exists(p));
        snprintf(p, sizeof p, "%s/finalized", dirs[i]);
        CHECK(exists(p));
    }
    /* a second store on the same dirs is refused while this one is open */
    CHECK(bs_open(dirs, 2, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "in use") != NULL);
    CHECK(bs_open(dirs, 0, 0, err, sizeof err) == NULL);

    bs = reopen(bs);
    CHECK(bs != NULL);
    if (bs)
        CHECK_EQ_STR(bs_storage_id(bs), id1);
    /* a dir that lost its VERSION gets the other dir's id back */
    snprintf(p0, sizeof p0, "%s/VERSION", dirs[1]);
    CHECK_EQ_INT(unlink(p0), 0);
    bs = reopen(bs);
    CHECK(bs != NULL);
    if (bs)
        CHECK_EQ_STR(bs_storage_id(bs), id1);
    CHECK(exists(p0));
    if (!bs)
        return NULL;

    /* a new dir joins with the same id; two ids that disagree are an error */
    snprintf(p0, sizeof p0, "%s/x0", base);
    snprintf(p1, sizeof p1, "%s/x1", base);
    const char *xa[1] = { p0 }, *xb[1] = { p1 }, *xab[2] = { p0, p1 };
    struct bs *a = bs_open(xa, 1, 0, err, sizeof err), *b = bs_open(xb, 1, 0, err, sizeof err);
    CHECK(a && b && strcmp(bs_storage_id(a), bs_storage_id(b)) != 0);
    bs_close(a);
    bs_close(b);
    CHECK(bs_open(xab, 2, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "storage id mismatch") && strstr(err, p0) && strstr(err, p1));
    return bs;
}

static void test_write_read(struct bs **bsp)
{
    struct bs *bs = *bsp;
    size_t len = 5 * CHUNK + 100;       /* short last chunk */
    uint64_t gs, l, used;

    CHECK_EQ_INT(put_replica(bs, 1001, 7, CHUNK, len, 2 * CHUNK), 0);
    CHECK(bs_lookup(bs, 1001, &gs, &l) == 1 && gs == 7 && l == len);
    CHECK_EQ_INT(bs_count(bs), 1);
    bs_space(bs, NULL, &used, NULL);
    CHECK_EQ_INT(used, len + 32 + 8 * 6);
    CHECK(replica_matches(bs, 1001, 7, len));
    CHECK(where(1001, 7) >= 0);
    char rbw[PATH_MAX];
    snprintf(rbw, sizeof rbw, "%s/rbw", dirs[where(1001, 7) < 0 ? 0 : where(1001, 7)]);
    CHECK_EQ_INT(count_files(rbw), 0);

    /* the sizes at the edges of a chunk */
    static const size_t sizes[] = { 0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CHECK_EQ_INT(put_replica(bs, 2000 + i, 1, CHUNK, sizes[i], CHUNK), 0);
        CHECK(replica_matches(bs, 2000 + i, 1, sizes[i]));
    }
    /* one big packet */
    CHECK_EQ_INT(put_replica(bs, 3000, 2, CHUNK, 64 * CHUNK + 3, 1 << 20), 0);

    bs = *bsp = reopen(bs);
    if (!bs)
        return;
    CHECK_EQ_INT(bs_count(bs), 8);
    CHECK(bs_lookup(bs, 1001, &gs, &l) == 1 && gs == 7 && l == len);
    CHECK(replica_matches(bs, 1001, 7, len));
    CHECK_EQ_INT(bs_verify(bs, 1001, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CHECK(bs_lookup(bs, 2000 + i, &gs, &l) == 1 && gs == 1 && l == sizes[i]);
        CHECK_EQ_INT(bs_verify(bs, 2000 + i, err, sizeof err), 0);
        CHECK(replica_matches(bs, 2000 + i, 1, sizes[i]));
    }
    CHECK_EQ_INT(bs_verify(bs, 3000, err, sizeof err), 0);
    bs_space(bs, NULL, &used, NULL);
    uint64_t want = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        want += sizes[i] + 32 + 8 * dfs_nchunks(sizes[i], CHUNK);
    want += len + 32 + 8 * 6 + 64 * CHUNK + 3 + 32 + 8 * 65;
    CHECK_EQ_INT(used, want);
}

static void test_refusals(struct bs *bs)
{
    struct bs_replica r;
    uint8_t buf[2 * CHUNK], sums[16];
    char data[PATH_MAX], meta[PATH_MAX];

    /* 0 is no block id (it marks an empty slot of the replica map) */
    CHECK(bs_writer_create(bs, 0, 1, CHUNK, err, sizeof err) == NULL);
    CHECK_EQ_INT(errno, EINVAL);
    CHECK_EQ_STR(err, "blk_0: 0 is not a block id");

    /* duplicate ids */
    CHECK(bs_writer_create(bs, 1001, 8, CHUNK, err, sizeof err) == NULL);
    CHECK_EQ_INT(errno, EEXIST);
    CHECK_EQ_STR(err, "replica blk_1001 already exists");
    struct bs_writer *w = bs_writer_create(bs, 4000, 1, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    CHECK(bs_writer_create(bs, 4000, 2, CHUNK, err, sizeof err) == NULL);
    CHECK(strstr(err, "being written") != NULL);
    CHECK_EQ_INT(bs_delete(bs, 4000), -EBUSY);
    CHECK_EQ_INT(bs_lookup(bs, 4000, NULL, NULL), 0);

    /* bad offsets, lengths and sums */
    fill(buf, sizeof buf, 1);
    dfs_checksum_chunks_be(buf, sizeof buf, CHUNK, sums);
    CHECK_EQ_INT(bs_writer_write(w, 1, buf, CHUNK, sums, 1), -EINVAL);
    CHECK_EQ_INT(bs_writer_write(w, CHUNK, buf, CHUNK, sums, 1), -EINVAL);  /* a gap */
    CHECK_EQ_INT(bs_writer_write(w, 0, buf, 2 * CHUNK, sums, 1), -EINVAL);
    CHECK_EQ_INT(bs_writer_write(w, 0, buf, 100, sums, 1), 0);
    CHECK_EQ_INT(bs_writer_bytes(w), 100);
    CHECK_EQ_INT(bs_writer_write(w, CHUNK, buf, CHUNK, sums, 1), -EINVAL);  /* short chunk behind */
    CHECK_EQ_INT(bs_writer_write(w, 0, buf, 2 * CHUNK, sums, 2), 0);        /* rewrite, longer */
    CHECK_EQ_INT(bs_writer_sync(w), 0);

    /* abort leaves nothing in rbw */
    int dw = -1;
    for (int i = 0; i < 2; i++) {
        snprintf(data, sizeof data, "%s/rbw/blk_4000", dirs[i]);
        if (exists(data))
            dw = i;
    }
    CHECK(dw >= 0);
    bs_writer_abort(w);
    for (int i = 0; i < 2; i++) {
        snprintf(data, sizeof data, "%s/rbw", dirs[i]);
        CHECK_EQ_INT(count_files(data), 0);
    }
    /* the id is free again */
    CHECK_EQ_INT(put_replica(bs, 4000, 3, CHUNK, 10, CHUNK), 0);

    /* finalize past the end is refused and discards the replica */
    w = bs_writer_create(bs, 4001, 1, CHUNK, err, sizeof err);
    CHECK(w && bs_writer_write(w, 0, buf, CHUNK, sums, 1) == 0);
    CHECK_EQ_INT(bs_writer_finalize(w, CHUNK + 1), -EINVAL);
    CHECK_EQ_INT(bs_lookup(bs, 4001, NULL, NULL), 0);
    for (int i = 0; i < 2; i++) {
        snprintf(data, sizeof data, "%s/rbw", dirs[i]);
        CHECK_EQ_INT(count_files(data), 0);
    }

    /* finalize inside a written chunk recomputes that chunk's checksum */
    w = bs_writer_create(bs, 4002, 5, CHUNK, err, sizeof err);
    CHECK(w && bs_writer_write(w, 0, buf, 2 * CHUNK, sums, 2) == 0);
    CHECK_EQ_INT(bs_writer_finalize(w, CHUNK + 10), 0);
    CHECK_EQ_INT(bs_verify(bs, 4002, err, sizeof err), 0);
    fin_paths(dirs[where(4002, 5) < 0 ? 0 : where(4002, 5)], 4002, 5, data, meta);
    CHECK_EQ_INT(fsize(data), CHUNK + 10);
    CHECK_EQ_INT(fsize(meta), 32 + 16);

    /* invalid chunk sizes */
    CHECK(bs_writer_create(bs, 4003, 1, 1000, err, sizeof err) == NULL);
    CHECK_EQ_INT(errno, EINVAL);
    CHECK(strstr(err, "invalid chunk size") != NULL);
    CHECK(bs_writer_create(bs, 4003, 1, 256, err, sizeof err) == NULL);

    /* readers: stale generation stamp, not found */
    CHECK_EQ_INT(bs_open_replica(bs, 1001, 6, &r, err, sizeof err), -ESTALE);
    CHECK(strstr(err, "stale generation stamp") != NULL);
    CHECK(r.data_fd == -1 && r.meta_fd == -1);
    CHECK_EQ_INT(bs_open_replica(bs, 1001, 8, &r, err, sizeof err), -ESTALE);
    CHECK_EQ_INT(bs_open_replica(bs, 999999, 1, &r, err, sizeof err), -ENOENT);
    CHECK_EQ_STR(err, "replica blk_999999 not found");
    CHECK_EQ_INT(bs_verify(bs, 999999, err, sizeof err), -1);
    CHECK_EQ_INT(bs_open_replica(bs, 1001, 7, &r, err, sizeof err), 0);
    CHECK_EQ_INT(bs_read_sums(&r, 5, 2, sums), -EINVAL);
    CHECK_EQ_INT(bs_read_sums(&r, 5, 1, sums), 0);
    bs_close_replica(&r);
    bs_close_replica(&r);
}

static void test_corruption(struct bs **bsp)
{
    struct bs *bs = *bsp;
    char data[PATH_MAX], meta[PATH_MAX], p[PATH_MAX];

    /* a flipped byte in chunk 2 */
    CHECK_EQ_INT(put_replica(bs, 5000, 4, CHUNK, 4 * CHUNK, CHUNK), 0);
    int d = where(5000, 4);
    CHECK(d >= 0);
    fin_paths(dirs[d < 0 ? 0 : d], 5000, 4, data, meta);
    int fd = open(data, O_RDWR);
    uint8_t c = 0;
    CHECK(fd >= 0 && pread(fd, &c, 1, 2 * CHUNK + 7) == 1);
    c ^= 0x20;
    CHECK(pwrite(fd, &c, 1, 2 * CHUNK + 7) == 1);
    close(fd);
    CHECK_EQ_INT(bs_verify(bs, 5000, err, sizeof err), 1);
    CHECK(strstr(err, "chunk 2") != NULL);

    /* a truncated data file */
    CHECK_EQ_INT(truncate(data, CHUNK), 0);
    CHECK_EQ_INT(bs_verify(bs, 5000, err, sizeof err), 1);

    /* a truncated meta file: moved to corrupt/ at the next open */
    CHECK_EQ_INT(put_replica(bs, 5001, 9, CHUNK, 3 * CHUNK, CHUNK), 0);
    d = where(5001, 9);
    fin_paths(dirs[d < 0 ? 0 : d], 5001, 9, data, meta);
    CHECK_EQ_INT(truncate(meta, 32 + 8), 0);
    /* a meta file without its data, a data file without its meta */
    CHECK_EQ_INT(put_replica(bs, 5002, 1, CHUNK, 10, CHUNK), 0);
    CHECK_EQ_INT(put_replica(bs, 5003, 1, CHUNK, 10, CHUNK), 0);
    char d2[PATH_MAX], m2[PATH_MAX], d3[PATH_MAX], m3[PATH_MAX];
    int w2 = where(5002, 1), w3 = where(5003, 1);
    fin_paths(dirs[w2 < 0 ? 0 : w2], 5002, 1, d2, m2);
    fin_paths(dirs[w3 < 0 ? 0 : w3], 5003, 1, d3, m3);
    CHECK_EQ_INT(unlink(d2), 0);
    CHECK_EQ_INT(unlink(m3), 0);
    /* a replica in the wrong subdir; a bad meta header */
    CHECK_EQ_INT(plant(dirs[0], 0, 5004, 1, 100), 0);
    fin_paths(dirs[0], 5004, 1, data, meta);
    snprintf(p, sizeof p, "%s/finalized/subdir0/subdir0", dirs[0]);
    CHECK_EQ_INT(mkdir_p_(p), 0);
    snprintf(p, sizeof p, "%s/finalized/subdir0/subdir0/blk_5004", dirs[0]);
    CHECK(rename(data, p) == 0);
    snprintf(p, sizeof p, "%s/finalized/subdir0/subdir0/blk_5004_1.meta", dirs[0]);
    CHECK(rename(meta, p) == 0);
    CHECK_EQ_INT(plant(dirs[1], 0, 5005, 1, 100), 0);
    fin_paths(dirs[1], 5005, 1, data, meta);
    fd = open(meta, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, "X", 1, 0) == 1);
    close(fd);
    /* the same id in both dirs: the higher generation stamp wins */
    CHECK_EQ_INT(plant(dirs[0], 0, 5006, 3, 700), 0);
    CHECK_EQ_INT(plant(dirs[1], 0, 5006, 4, 700), 0);
    CHECK_EQ_INT(plant(dirs[0], 0, 5007, 4, 700), 0);
    CHECK_EQ_INT(plant(dirs[1], 0, 5007, 3, 700), 0);

    size_t before = bs_count(bs);
    bs = *bsp = reopen(bs);
    if (!bs)
        return;
    CHECK_EQ_INT(bs_lookup(bs, 5001, NULL, NULL), 0);
    CHECK_EQ_INT(bs_lookup(bs, 5002, NULL, NULL), 0);
    CHECK_EQ_INT(bs_lookup(bs, 5003, NULL, NULL), 0);
    CHECK_EQ_INT(bs_lookup(bs, 5004, NULL, NULL), 0);
    CHECK_EQ_INT(bs_lookup(bs, 5005, NULL, NULL), 0);
    uint64_t gs = 0, len = 0;
    CHECK(bs_lookup(bs, 5006, &gs, &len) == 1 && gs == 4 && len == 700);
    CHECK(bs_lookup(bs, 5007, &gs, &len) == 1 && gs == 4 && len == 700);
    CHECK_EQ_INT(bs_verify(bs, 5006, err, sizeof err), 0);
    CHECK_EQ_INT(bs_count(bs), before - 4 + 2);     /* 5000..5003 gone, 5006/5007 added */
    CHECK_EQ_INT(bs_lookup(bs, 5000, NULL, NULL), 0);  /* its data was truncated */
    snprintf(p, sizeof p, "%s/corrupt/blk_5001_9.meta", dirs[d < 0 ? 0 : d]);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/corrupt/blk_5001", dirs[d < 0 ? 0 : d]);
    CHECK(exists(p));
    CHECK(!exists(data) && !exists(meta));          /* 5005 moved */
    snprintf(p, sizeof p, "%s/corrupt/blk_5005_1.meta", dirs[1]);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/corrupt/blk_5004", dirs[0]);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/corrupt/blk_5006_3.meta", dirs[0]);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/corrupt/blk_5007_3.meta", dirs[1]);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/corrupt/blk_5002_1.meta", dirs[w2 < 0 ? 0 : w2]);
    CHECK(exists(p));
    snprintf(p, sizeof p, "%s/corrupt/blk_5003", dirs[w3 < 0 ? 0 : w3]);
    CHECK(exists(p));

    /* the same name moved aside twice keeps both */
    CHECK_EQ_INT(plant(dirs[1], 0, 5005, 1, 100), 0);
    fin_paths(dirs[1], 5005, 1, data, meta);
    CHECK_EQ_INT(truncate(data, 0), 0);
    bs = *bsp = reopen(bs);
    if (!bs)
        return;
    snprintf(p, sizeof p, "%s/corrupt/blk_5005_1.meta.1", dirs[1]);
    CHECK(exists(p));
}

static int count_cb(uint64_t id, uint64_t gs, uint64_t len, void *arg)
{
    (void)id; (void)gs; (void)len;
    (*(size_t *)arg)++;
    return 0;
}

static int find_cb(uint64_t id, uint64_t gs, uint64_t len, void *arg)
{
    uint64_t *want = arg;
    if (id == want[0]) {
        want[1] = gs;
        want[2] = len;
        return 7;
    }
    return 0;
}

static void test_rbw_leftover(struct bs **bsp)
{
    struct bs *bs = *bsp;
    char p[PATH_MAX];
    uint64_t f[3] = { 6000, 0, 0 };
    size_t n = 0;

    CHECK_EQ_INT(plant(dirs[1], 1, 6000, 12, 1000), 0);
    CHECK_EQ_INT(plant(dirs[0], 1, 6001, 1, 10), 0);
    snprintf(p, sizeof p, "%s/rbw/blk_6001_1.meta", dirs[0]);
    CHECK_EQ_INT(unlink(p), 0);                 /* lone data file */
    bs = *bsp = reopen(bs);
    if (!bs)
        return;
    CHECK_EQ_INT(bs_lookup(bs, 6000, NULL, NULL), 0);
    CHECK_EQ_INT(bs_foreach_rbw(bs, count_cb, &n), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(bs_foreach_rbw(bs, find_cb, f), 7);
    CHECK(f[1] == 12 && f[2] == 1000);
    snprintf(p, sizeof p, "%s/corrupt/blk_6001", dirs[0]);
    CHECK(exists(p));
    CHECK(bs_writer_create(bs, 6000, 13, CHUNK, err, sizeof err) == NULL);
    CHECK(strstr(err, "rbw") != NULL);
    CHECK_EQ_INT(bs_delete(bs, 6000), 0);
    snprintf(p, sizeof p, "%s/rbw", dirs[1]);
    CHECK_EQ_INT(count_files(p), 0);
    n = 0;
    CHECK_EQ_INT(bs_foreach_rbw(bs, count_cb, &n), 0);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(put_replica(bs, 6000, 13, CHUNK, 10, CHUNK), 0);
}

static void test_delete(struct bs *bs)
{
    char data[PATH_MAX], meta[PATH_MAX];
    uint64_t used0, used1;
    CHECK_EQ_INT(put_replica(bs, 7000, 2, CHUNK, 1000, CHUNK), 0);
    int d = where(7000, 2);
    fin_paths(dirs[d < 0 ? 0 : d], 7000, 2, data, meta);
    size_t n = bs_count(bs);
    bs_space(bs, NULL, &used0, NULL);
    CHECK_EQ_INT(bs_delete(bs, 7000), 0);
    bs_space(bs, NULL, &used1, NULL);
    CHECK_EQ_INT(used0 - used1, 1000 + 32 + 16);
    CHECK_EQ_INT(bs_count(bs), n - 1);
    CHECK_EQ_INT(bs_lookup(bs, 7000, NULL, NULL), 0);
    CHECK(!exists(data) && !exists(meta));
    CHECK_EQ_INT(bs_delete(bs, 7000), -ENOENT);
    CHECK_EQ_INT(put_replica(bs, 7000, 3, CHUNK, 10, CHUNK), 0);
    CHECK_EQ_INT(bs_verify(bs, 7000, err, sizeof err), 0);
    /* files removed behind the store's back: verify reports corrupt */
    d = where(7000, 3);
    fin_paths(dirs[d < 0 ? 0 : d], 7000, 3, data, meta);
    CHECK_EQ_INT(unlink(data), 0);
    CHECK_EQ_INT(bs_verify(bs, 7000, err, sizeof err), 1);
    CHECK_EQ_INT(bs_delete(bs, 7000), 0);
}

/* The .bad marker path of (id, gs) in dir (finalized). */
static void bad_path(const char *dir, uint64_t id, uint64_t gs, char *out)
{
    snprintf(out, PATH_MAX, "%s/finalized/subdir%u/subdir%u/blk_%" PRIu64 "_%" PRIu64 ".bad",
             dir, (unsigned)((id >> 16) & 0x1f), (unsigned)((id >> 8) & 0x1f), id, gs);
}

/* Create an empty file, and its dir as needed. */
static void touch(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    *strrchr(dir, '/') = '\0';
    CHECK_EQ_INT(mkdir_p_(dir), 0);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
}

/* bs_mark_bad: flagged, still readable, kept across a reopen, gone with
 * bs_delete; markers of no replica (lone, older genstamp, in rbw/) are
 * removed at open; of two equal duplicates the one flagged bad loses. */
static void test_bad_marker(struct bs **bsp)
{
    struct bs *bs = *bsp;
    char data[PATH_MAX], meta[PATH_MAX], mark[PATH_MAX], p[PATH_MAX];
    struct bs_replica r;

    CHECK_EQ_INT(put_replica(bs, 9000, 7, CHUNK, 3 * CHUNK, CHUNK), 0);
    CHECK_EQ_INT(put_replica(bs, 9010, 1, CHUNK, 10, CHUNK), 0);
    int d = where(9000, 7);
    CHECK(d >= 0);
    const char *dir = dirs[d < 0 ? 0 : d];
    fin_paths(dir, 9000, 7, data, meta);
    bad_path(dir, 9000, 7, mark);
    CHECK_EQ_INT(bs_is_bad(bs, 9000), 0);
    CHECK_EQ_INT(bs_mark_bad(bs, 9000, 8, err, sizeof err), -ESTALE);
    CHECK(strstr(err, "stale generation stamp") != NULL);
    CHECK_EQ_INT(bs_mark_bad(bs, 9999, 1, err, sizeof err), -ENOENT);
    CHECK(strstr(err, "blk_9999 not found") != NULL);
    CHECK_EQ_INT(bs_is_bad(bs, 9000), 0);
    CHECK(!exists(mark));

    size_t n = bs_count(bs);
    CHECK_EQ_INT(bs_mark_bad(bs, 9000, 7, err, sizeof err), 0);
    CHECK_EQ_INT(bs_mark_bad(bs, 9000, 7, err, sizeof err), 0);     /* idempotent */
    CHECK_EQ_INT(bs_is_bad(bs, 9000), 1);
    CHECK_EQ_INT(bs_is_bad(bs, 9010), 0);
    CHECK(exists(mark) && fsize(mark) == 0);
    CHECK_EQ_INT(bs_count(bs), n);
    CHECK(bs_lookup(bs, 9000, NULL, NULL) == 1);
    CHECK(replica_matches(bs, 9000, 7, 3 * CHUNK));                  /* still readable */
    CHECK_EQ_INT(bs_open_replica(bs, 9000, 7, &r, err, sizeof err), 0);
    bs_close_replica(&r);

    /* markers that mark no replica */
    bad_path(dirs[1], 9001, 1, p);
    touch(p);                                         /* lone */
    CHECK_EQ_INT(plant(dirs[0], 0, 9002, 3, 100), 0);
    bad_path(dirs[0], 9002, 2, p);
    touch(p);                                         /* an older genstamp's */
    snprintf(p, sizeof p, "%s/rbw/blk_9003_1.bad", dirs[0]);
    touch(p);                                         /* in rbw/ */
    /* equal duplicates: the one flagged bad loses, found first or second */
    CHECK_EQ_INT(plant(dirs[0], 0, 9004, 5, 100), 0);
    CHECK_EQ_INT(plant(dirs[1], 0, 9004, 5, 100), 0);
    bad_path(dirs[0], 9004, 5, p);
    touch(p);
    CHECK_EQ_INT(plant(dirs[0], 0, 9005, 5, 100), 0);
    CHECK_EQ_INT(plant(dirs[1], 0, 9005, 5, 100), 0);
    bad_path(dirs[1], 9005, 5, p);
    touch(p);

    bs = *bsp = reopen(bs);
    if (!bs)
        return;
    CHECK_EQ_INT(bs_is_bad(bs, 9000), 1);            /* across the reopen */
    CHECK(exists(mark) && exists(data));
    CHECK(replica_matches(bs, 9000, 7, 3 * CHUNK));
    CHECK_EQ_INT(bs_is_bad(bs, 9010), 0);
    bad_path(dirs[1], 9001, 1, p);
    CHECK(!exists(p));
    CHECK_EQ_INT(bs_lookup(bs, 9001, NULL, NULL), 0);
    snprintf(p, sizeof p, "%s/corrupt/blk_9001_1.bad", dirs[1]);
    CHECK(!exists(p));                                /* removed, not moved aside */
    CHECK(bs_lookup(bs, 9002, NULL, NULL) == 1);
    CHECK_EQ_INT(bs_is_bad(bs, 9002), 0);
    bad_path(dirs[0], 9002, 2, p);
    CHECK(!exists(p));
    snprintf(p, sizeof p, "%s/rbw/blk_9003_1.bad", dirs[0]);
    CHECK(!exists(p));
    CHECK_EQ_INT(bs_lookup(bs, 9003, NULL, NULL), 0);
    for (uint64_t id = 9004; id <= 9005; id++) {
        int bad_dir = id == 9004 ? 0 : 1;
        CHECK(bs_lookup(bs, id, NULL, NULL) == 1);
        CHECK_EQ_INT(bs_is_bad(bs, id), 0);
        CHECK_EQ_INT(where(id, 5), 1 - bad_dir);     /* the sound one stays */
        bad_path(dirs[bad_dir], id, 5, p);
        CHECK(!exists(p));
        snprintf(p, sizeof p, "%s/corrupt/blk_%" PRIu64 "_5.meta", dirs[bad_dir], id);
        CHECK(exists(p));
    }

    /* bs_delete takes the marker with the replica */
    CHECK_EQ_INT(bs_delete(bs, 9000), 0);
    CHECK(!exists(data) && !exists(meta) && !exists(mark));
    CHECK_EQ_INT(bs_is_bad(bs, 9000), 0);
    CHECK_EQ_INT(bs_mark_bad(bs, 9000, 7, err, sizeof err), -ENOENT);
    CHECK(!exists(mark));
    /* written again with the same genstamp: sound, also after a reopen */
    CHECK_EQ_INT(put_replica(bs, 9000, 7, CHUNK, 100, CHUNK), 0);
    CHECK_EQ_INT(bs_is_bad(bs, 9000), 0);
    bs = *bsp = reopen(bs);
    if (!bs)
        return;
    CHECK_EQ_INT(bs_is_bad(bs, 9000), 0);
    CHECK(bs_lookup(bs, 9000, NULL, NULL) == 1);
    for (uint64_t id = 9000; id <= 9010; id++)
        bs_delete(bs, id);
}

/* A failing pwrite comes back as -errno (a file size limit stands in for a
 * full disk: the same short-write-then-error path as ENOSPC). */
static void test_write_error(struct bs *bs)
{
    struct rlimit old, lim;
    uint8_t buf[4 * CHUNK], sums[4 * 8];

    fill(buf, sizeof buf, 3);
    dfs_checksum_chunks_be(buf, sizeof buf, CHUNK, sums);
    struct bs_writer *w = bs_writer_create(bs, 8000, 1, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w)
        return;
    signal(SIGXFSZ, SIG_IGN);
    CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 2 * CHUNK + 100;
    CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = bs_writer_write(w, 0, buf, sizeof buf, sums, 4);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK_EQ_INT(rc, -EFBIG);
    CHECK_EQ_INT(bs_writer_bytes(w), 0);
    CHECK_EQ_INT(bs_writer_write(w, 0, buf, sizeof buf, sums, 4), 0);
    CHECK_EQ_INT(bs_writer_finalize(w, sizeof buf), 0);
    CHECK_EQ_INT(bs_verify(bs, 8000, err, sizeof err), 0);
    /* a write error that is not a disk error fails the replica, not the dir */
    CHECK_EQ_INT(bs_failed_dirs(bs, NULL), 0);
}

/* The data dir with most free space is chosen: one dir on /dev/shm (tmpfs,
 * smaller), the other under /tmp; a reserve larger than both refuses. */
static void test_pick_dir(void)
{
    char shm[] = "/dev/shm/test_bs_XXXXXX", big[PATH_MAX], p[PATH_MAX];
    struct statvfs a, b;

    snprintf(big, sizeof big, "%s/big", base);
    mkdir(big, 0755);
    if (!mkdtemp(shm) || statvfs(shm, &a) < 0 || statvfs(big, &b) < 0 ||
        a.f_fsid == b.f_fsid) {
        printf("test_pick_dir: no second file system; only the refusal is checked\n");
    } else {
        const char *two[2] = { shm, big };
        struct bs *bs = bs_open(two, 2, 0, err, sizeof err);
        CHECK(bs != NULL);
        if (bs) {
            int expect = (uint64_t)a.f_bavail * a.f_frsize > (uint64_t)b.f_bavail * b.f_frsize
                         ? 0 : 1;
            struct bs_writer *w = bs_writer_create(bs, 1, 1, CHUNK, err, sizeof err);
            CHECK(w != NULL);
            snprintf(p, sizeof p, "%s/rbw/blk_1", two[expect]);
            CHECK(exists(p));
            snprintf(p, sizeof p, "%s/rbw/blk_1", two[1 - expect]);
            CHECK(!exists(p));
            bs_writer_abort(w);
            uint64_t cap, rem;
            bs_space(bs, &cap, NULL, &rem);
            CHECK(cap > 0 && rem > 0 && rem <= cap);
            bs_close(bs);
        }
        rm_rf(shm);
    }
    const char *one[1] = { big };
    struct bs *bs = bs_open(one, 1, UINT64_MAX / 2, err, sizeof err);
    CHECK(bs != NULL);
    if (bs) {
        uint64_t rem = 1;
        CHECK(bs_writer_create(bs, 1, 1, CHUNK, err, sizeof err) == NULL);
        CHECK_EQ_INT(errno, ENOSPC);
        CHECK(strstr(err, "no data dir has room") != NULL);
        bs_space(bs, NULL, NULL, &rem);
        CHECK_EQ_INT(rem, 0);
        bs_close(bs);
    }
}

/* 10,000 replicas planted on disk: scanned, looked up, deleted. */
static void test_many(void)
{
    char d[PATH_MAX];
    const size_t N = 10000;
    snprintf(d, sizeof d, "%s/many", base);
    const char *one[1] = { d };
    struct bs *bs = bs_open(one, 1, 0, err, sizeof err);
    CHECK(bs != NULL);
    bs_close(bs);
    size_t bad = 0, n = 0;
    for (size_t i = 0; i < N; i++)
        if (plant(d, 0, (uint64_t)(i + 1) * 7919 + ((uint64_t)i << 40), 1 + i % 5, i % 3) < 0)
            bad++;
    CHECK_EQ_INT(bad, 0);
    bs = bs_open(one, 1, 0, err, sizeof err);
    CHECK(bs != NULL);
    if (!bs)
        return;
    CHECK_EQ_INT(bs_count(bs), N);
    for (size_t i = 0; i < N; i++) {
        uint64_t gs, len;
        if (bs_lookup(bs, (uint64_t)(i + 1) * 7919 + ((uint64_t)i << 40), &gs, &len) != 1 ||
            gs != 1 + i % 5 || len != i % 3)
            bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(bs_lookup(bs, 7918, NULL, NULL), 0);
    CHECK_EQ_INT(bs_foreach(bs, count_cb, &n), 0);
    CHECK_EQ_INT(n, N);
    for (size_t i = 0; i < N; i += 2)
        if (bs_delete(bs, (uint64_t)(i + 1) * 7919 + ((uint64_t)i << 40)) != 0)
            bad++;
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(bs_count(bs), N / 2);
    for (size_t i = 0; i < N; i++)
        if (bs_lookup(bs, (uint64_t)(i + 1) * 7919 + ((uint64_t)i << 40), NULL, NULL) != (int)(i % 2))
            bad++;
    CHECK_EQ_INT(bad, 0);
    bs_close(bs);
    bs = bs_open(one, 1, 0, err, sizeof err);
    CHECK(bs != NULL);
    if (bs) {
        CHECK_EQ_INT(bs_count(bs), N / 2);
        bs_close(bs);
    }
}

/* ---- failed data dirs ---------------------------------------------------- */

struct hooks {
    uint64_t lost[16];
    size_t nlost;
    char dir[PATH_MAX];
    int err, calls;
    size_t nfailed, ndirs;
};

static void lost_hook(void *arg, uint64_t id, uint64_t gs, uint64_t len)
{
    struct hooks *h = arg;
    (void)gs; (void)len;
    if (h->nlost < 16)
        h->lost[h->nlost] = id;
    h->nlost++;
}

static void failed_hook(void *arg, const char *dir, int e, size_t nfailed, size_t ndirs)
{
    struct hooks *h = arg;
    snprintf(h->dir, sizeof h->dir, "%s", dir);
    h->err = e;
    h->nfailed = nfailed;
    h->ndirs = ndirs;
    h->calls++;
}

static int lost_has(const struct hooks *h, uint64_t id)
{
    for (size_t i = 0; i < h->nlost && i < 16; i++)
        if (h->lost[i] == id)
            return 1;
    return 0;
}

/* A dir whose rbw/ disappeared fails the probe: its replicas leave the map
 * and are reported lost, a writer in it fails, new replicas go to the other
 * dir, space counts only that one; then the last dir fails too. */
static void test_failed_dir(void)
{
    char f0[128], f1[128], p[PATH_MAX], q[PATH_MAX];
    uint8_t buf[2 * CHUNK], sums[16];
    struct hooks h = { .nlost = 0 };
    struct bs_replica r;
    uint64_t cap2, cap1, rem1, used;

    snprintf(f0, sizeof f0, "%s/fail0", base);
    snprintf(f1, sizeof f1, "%s/fail1", base);
    const char *two[2] = { f0, f1 };
    struct bs *bs = bs_open(two, 2, 0, err, sizeof err);
    CHECK(bs != NULL);
    if (!bs)
        return;
    bs_close(bs);
    for (uint64_t id = 1; id <= 3; id++)
        CHECK_EQ_INT(plant(f0, 0, id, 5, 100 * id), 0);
    CHECK_EQ_INT(plant(f1, 0, 11, 5, 700), 0);
    CHECK_EQ_INT(plant(f1, 0, 12, 5, 800), 0);
    CHECK_EQ_INT(plant(f0, 1, 21, 5, 10), 0);            /* an rbw leftover */
    bs = bs_open(two, 2, 0, err, sizeof err);
    CHECK(bs != NULL);
    if (!bs)
        return;
    CHECK_EQ_INT(bs_count(bs), 5);
    CHECK_EQ_INT(bs_failed_dirs(bs, NULL), 0);
    CHECK_EQ_INT(bs_check_dirs(bs), 0);
    bs_space(bs, &cap2, NULL, NULL);
    bs_on_replica_lost(bs, lost_hook, &h);
    bs_on_dir_failed(bs, failed_hook, &h);

    /* a writer in f0 (both dirs share a file system: the first one wins) */
    fill(buf, sizeof buf, 9);
    dfs_checksum_chunks_be(buf, sizeof buf, CHUNK, sums);
    struct bs_writer *w = bs_writer_create(bs, 30, 1, CHUNK, err, sizeof err);
    CHECK(w != NULL);
    if (!w) {
        bs_close(bs);
        return;
    }
    CHECK_EQ_INT(bs_writer_write(w, 0, buf, CHUNK, sums, 1), 0);
    snprintf(p, sizeof p, "%s/rbw/blk_30", f0);
    CHECK(exists(p));

    snprintf(p, sizeof p, "%s/rbw", f0);
    snprintf(q, sizeof q, "%s/rbw.gone", f0);
    CHECK_EQ_INT(rename(p, q), 0);
    CHECK_EQ_INT(bs_check_dirs(bs), 1);
    CHECK_EQ_INT(bs_check_dirs(bs), 0);                  /* failed once */
    CHECK_EQ_INT(h.calls, 1);
    CHECK_EQ_STR(h.dir, f0);
    CHECK_EQ_INT(h.err, ENOENT);
    CHECK(h.nfailed == 1 && h.ndirs == 2);
    CHECK_EQ_INT(h.nlost, 3);
    CHECK(lost_has(&h, 1) && lost_has(&h, 2) && lost_has(&h, 3));
    size_t nd = 0;
    CHECK_EQ_INT(bs_failed_dirs(bs, &nd), 1);
    CHECK_EQ_INT(nd, 2);

    /* its replicas are gone, the other dir's stay */
    CHECK_EQ_INT(bs_count(bs), 2);
    CHECK_EQ_INT(bs_lookup(bs, 2, NULL, NULL), 0);
    CHECK_EQ_INT(bs_open_replica(bs, 2, 5, &r, err, sizeof err), -ENOENT);
    CHECK_EQ_INT(bs_delete(bs, 21), -ENOENT);            /* the leftover too */
    CHECK(bs_lookup(bs, 11, NULL, NULL) == 1 && bs_verify(bs, 11, err, sizeof err) == 0);
    bs_space(bs, NULL, &used, NULL);
    CHECK_EQ_INT(used, 700 + 800 + 2 * 32 + 8 * (2 + 2));

    /* the writer in the failed dir fails; the id can be written again */
    CHECK_EQ_INT(bs_writer_write(w, CHUNK, buf, CHUNK, sums, 1), -EIO);
    CHECK_EQ_INT(bs_writer_sync(w), -EIO);
    CHECK_EQ_INT(bs_writer_finalize(w, CHUNK), -EIO);
    CHECK_EQ_INT(bs_lookup(bs, 30, NULL, NULL), 0);
    CHECK_EQ_INT(put_replica(bs, 30, 2, CHUNK, 1000, CHUNK), 0);
    fin_paths(f1, 30, 2, p, q);
    CHECK(exists(p) && exists(q));
    CHECK_EQ_INT(h.nlost, 3);

    /* space: one dir's file system instead of two */
    bs_space(bs, &cap1, NULL, &rem1);
    CHECK_EQ_INT(cap1 * 2, cap2);
    CHECK(rem1 > 0);

    /* the last dir fails: nothing can be written */
    snprintf(p, sizeof p, "%s/finalized", f1);
    snprintf(q, sizeof q, "%s/finalized.gone", f1);
    CHECK_EQ_INT(rename(p, q), 0);
    CHECK_EQ_INT(bs_check_dirs(bs), 1);
    CHECK(h.calls == 2 && h.nfailed == 2);
    CHECK_EQ_INT(h.nlost, 6);
    CHECK_EQ_INT(bs_count(bs), 0);
    CHECK(bs_writer_create(bs, 31, 1, CHUNK, err, sizeof err) == NULL);
    CHECK_EQ_INT(errno, EIO);
    CHECK(strstr(err, "no usable data dir") != NULL);
    bs_space(bs, &cap1, &used, &rem1);
    CHECK(cap1 == 0 && used == 0 && rem1 == 0);
    bs_close(bs);
    CHECK_EQ_INT(rename(q, p), 0);

    /* at open: a strict open refuses a dir it cannot use, a tolerant one
     * leaves it out; with no usable dir both refuse */
    snprintf(p, sizeof p, "%s/afile", base);
    int fd = open(p, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);
    const char *bad[2] = { f1, p };
    CHECK(bs_open(bad, 2, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, p) && strstr(err, "Not a directory"));
    bs = bs_open_tolerant(bad, 2, 0, err, sizeof err);
    CHECK(bs != NULL);
    if (bs) {
        CHECK_EQ_INT(bs_failed_dirs(bs, NULL), 1);
        CHECK(bs_lookup(bs, 11, NULL, NULL) == 1 && bs_lookup(bs, 30, NULL, NULL) == 1);
        CHECK_EQ_INT(put_replica(bs, 32, 1, CHUNK, 10, CHUNK), 0);
        bs_close(bs);
    }
    const char *none[1] = { p };
    CHECK(bs_open_tolerant(none, 1, 0, err, sizeof err) == NULL);
    CHECK(strstr(err, "no usable data dir") != NULL);
}

struct thr {
    struct bs *bs;
    int no, failed;
};

static void *writer_thread(void *arg)
{
    struct thr *t = arg;
    for (int i = 0; i < 16; i++) {
        uint64_t id = 100000 + (uint64_t)t->no * 1000 + (uint64_t)i;
        if (put_replica(t->bs, id, 1, CHUNK, (size_t)(i * 300), 4 * CHUNK) != 0 ||
            bs_lookup(t->bs, id, NULL, NULL) != 1 || bs_verify(t->bs, id, NULL, 0) != 0)
            t->failed++;
        if (i % 3 == 0 && bs_delete(t->bs, id) != 0)
            t->failed++;
    }
    return NULL;
}

static void test_threads(struct bs *bs)
{
    pthread_t th[4];
    struct thr t[4];
    size_t n0 = bs_count(bs);
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){ bs, i, 0 };
        CHECK(pthread_create(&th[i], NULL, writer_thread, &t[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ_INT(t[i].failed, 0);
    }
    CHECK_EQ_INT(bs_count(bs), n0 + 4 * 10);
}

int main(void)
{
    if (getenv("TEST_VERBOSE")) {
        dfs_log_set_level(DFS_LOG_DEBUG);
        dfs_log_set_sink(dfs_log_stderr_sink, NULL);
    }
    snprintf(base, sizeof base, "/tmp/test_bs_XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(d0, sizeof d0, "%s/data0", base);
    snprintf(d1, sizeof d1, "%s/deep/data1", base);    /* created by bs_open */

    struct bs *bs = test_open();
    if (bs) {
        test_write_read(&bs);
        if (bs) test_refusals(bs);
        if (bs) test_corruption(&bs);
        if (bs) test_rbw_leftover(&bs);
        if (bs) test_delete(bs);
        if (bs) test_bad_marker(&bs);
        if (bs) test_write_error(bs);
        if (bs) test_threads(bs);
        bs_close(bs);
    }
    test_pick_dir();
    test_failed_dir();
    test_many();
    rm_rf(base);
    return check_summary();
}
