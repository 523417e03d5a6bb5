/*
 * test_scanner.c - unit tests of datanode/scanner.c over a real block store
 * in a temporary dir: sound replicas pass, each kind of damage is flagged
 * bad in the store and reported once (later passes count it without
 * reading it again), the cursor resumes a pass, and stop is prompt.
 */
#include "check.h"
#include "blockstore.h"
#include "checksum.h"
#include "log.h"
#include "scanner.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char base[64], dir[128], cursor_path[160];
static char err[1024];

/* ---- helpers --------------------------------------------------------- */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Write and finalize blk_id: len bytes of a pattern, in chunks of chunk. */
static int put_replica(struct bs *bs, uint64_t id, uint64_t gs, uint32_t chunk, size_t len)
{
    uint8_t *data = malloc(len + 1), *sums = malloc(8 * dfs_nchunks(len, chunk) + 8);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 31 + id);
    dfs_checksum_chunks_be(data, len, chunk, sums);
    int rc = -1;
    struct bs_writer *w = bs_writer_create(bs, id, gs, chunk, err, sizeof err);
    if (w) {
        if (bs_writer_write(w, 0, data, len, sums, dfs_nchunks(len, chunk)) == 0)
            rc = bs_writer_finalize(w, len);
        else
            bs_writer_abort(w);
    }
    free(data);
    free(sums);
    return rc;
}

static void data_path(uint64_t id, char *out)
{
    snprintf(out, PATH_MAX, "%s/finalized/subdir%u/subdir%u/blk_%" PRIu64, dir,
             (unsigned)((id >> 16) & 0x1f), (unsigned)((id >> 8) & 0x1f), id);
}

static void meta_path(uint64_t id, uint64_t gs, char *out)
{
    snprintf(out, PATH_MAX, "%s/finalized/subdir%u/subdir%u/blk_%" PRIu64 "_%" PRIu64 ".meta",
             dir, (unsigned)((id >> 16) & 0x1f), (unsigned)((id >> 8) & 0x1f), id, gs);
}

static void flip_byte(const char *path, off_t off)
{
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    CHECK(fd >= 0 && pread(fd, &b, 1, off) == 1);
    b ^= 0xff;
    CHECK(fd >= 0 && pwrite(fd, &b, 1, off) == 1);
    if (fd >= 0)
        close(fd);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* The reports a scanner made. */
#define MAXREP 64
static pthread_mutex_t rep_mu = PTHREAD_MUTEX_INITIALIZER;
static struct { uint64_t id, gs; char reason[256]; } reps[MAXREP];
static int nreps;

static void on_bad(void *arg, uint64_t id, uint64_t gs, const char *reason)
{
    (void)arg;
    pthread_mutex_lock(&rep_mu);
    if (nreps < MAXREP) {
        reps[nreps].id = id;
        reps[nreps].gs = gs;
        snprintf(reps[nreps].reason, sizeof reps[nreps].reason, "%s", reason);
        nreps++;
    }
    pthread_mutex_unlock(&rep_mu);
}

static void reps_clear(void)
{
    pthread_mutex_lock(&rep_mu);
    nreps = 0;
    pthread_mutex_unlock(&rep_mu);
}

/* The reason reported for id (NULL: none), and how often it was reported. */
static const char *reported(uint64_t id, int *times)
{
    const char *r = NULL;
    *times = 0;
    pthread_mutex_lock(&rep_mu);
    for (int i = 0; i < nreps; i++)
        if (reps[i].id == id) {
            r = reps[i].reason;
            ++*times;
        }
    pthread_mutex_unlock(&rep_mu);
    return r;
}

/* Log lines, to check what the scanner says. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char logbuf[1 << 16];
static size_t loglen;

static void sink(enum dfs_log_level level, const char *msg, void *arg)
{
    (void)level; (void)arg;
    pthread_mutex_lock(&log_mu);
    int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s\n", msg);
    if (n > 0 && loglen + (size_t)n < sizeof logbuf)
        loglen += (size_t)n;
    pthread_mutex_unlock(&log_mu);
    if (getenv("TEST_VERBOSE"))
        fprintf(stderr, "%s\n", msg);
}

static int logged(const char *s)
{
    pthread_mutex_lock(&log_mu);
    int found = strstr(logbuf, s) != NULL;
    pthread_mutex_unlock(&log_mu);
    return found;
}

static void log_clear(void)
{
    pthread_mutex_lock(&log_mu);
    loglen = 0;
    logbuf[0] = '\0';
    pthread_mutex_unlock(&log_mu);
}

static struct scanner *start(struct bs *bs, uint32_t period, uint64_t rate)
{
    struct scan_cfg cfg = {
        .bs = bs, .cursor_path = cursor_path, .period_s = period, .bytes_per_s = rate,
        .report_bad = on_bad, .report_arg = NULL,
    };
    struct scanner *sc = scan_start(&cfg, err, sizeof err);
    CHECK(sc != NULL);
    return sc;
}

/* Wait (at most 10 s) until the scanner has completed `passes` passes. */
static struct scan_stats wait_passes(struct scanner *sc, uint64_t passes)
{
    struct scan_stats st = { 0 };
    double deadline = now_s() + 10;
    do {
        scan_stats(sc, &st);
        if (st.passes >= passes)
            return st;
        nap_ms(10);
    } while (now_s() < deadline);
    CHECK(!"scanner pass timed out");
    return st;
}

/* ---- tests ------------------------------------------------------------ */

#define NREP 6
static const uint64_t ids[NREP] = { 10, 20, 30, 40, 50, 60 };

static void test_config_refused(struct bs *bs)
{
    struct scan_cfg cfg = { .bs = bs, .cursor_path = cursor_path, .period_s = 0,
                            .bytes_per_s = 1 };
    CHECK(scan_start(&cfg, err, sizeof err) == NULL);
    CHECK(strstr(err, "above 0") != NULL);
    cfg.period_s = 1;
    cfg.bytes_per_s = 0;
    CHECK(scan_start(&cfg, err, sizeof err) == NULL);
}

/* Sound replicas of every shape: one pass, nothing reported. */
static void test_sound(struct bs *bs)
{
    unlink(cursor_path);
    reps_clear();
    log_clear();
    struct scanner *sc = start(bs, 1, 1ull << 40);
    struct scan_stats st = wait_passes(sc, 1);
    CHECK_EQ_INT(st.last.scanned, NREP);
    CHECK_EQ_INT(st.last.corrupt, 0);
    CHECK_EQ_INT(st.last.last_id, ids[NREP - 1]);
    CHECK_EQ_INT(st.last.resumed_after, 0);
    CHECK(st.last.start > 0);
    CHECK(logged("block scanner: first pass"));
    CHECK(logged("block scanner: pass 1 complete"));
    /* The next pass starts a period after this one did, and finds the
     * same. */
    st = wait_passes(sc, 2);
    CHECK_EQ_INT(st.last.scanned, NREP);
    CHECK_EQ_INT(st.last.corrupt, 0);
    scan_stop(sc);
    CHECK_EQ_INT(nreps, 0);
    /* The cursor holds the completed pass. */
    FILE *f = fopen(cursor_path, "r");
    char text[512] = "";
    CHECK(f != NULL);
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    CHECK(strstr(text, "done=1\n") != NULL || strstr(text, "done=0\n") != NULL);
    CHECK(strstr(text, "pass_start=") == text);
}

/* A flipped data byte, a short meta file, a missing data file: each
 * flagged bad and reported once with what is wrong; the files stay in
 * place.  Later passes count them corrupt without reading or reporting
 * them again. */
static void test_damage(struct bs *bs)
{
    char p[PATH_MAX];
    data_path(20, p);
    flip_byte(p, 3 * 512 + 7);                  /* chunk 3 of 512-byte chunks */
    meta_path(40, 1040, p);
    CHECK(truncate(p, 32 + 8) == 0);
    data_path(50, p);
    CHECK(unlink(p) == 0);

    unlink(cursor_path);
    reps_clear();
    log_clear();
    struct scanner *sc = start(bs, 1, 1ull << 40);
    struct scan_stats st = wait_passes(sc, 1);
    CHECK_EQ_INT(st.last.scanned, NREP);
    CHECK_EQ_INT(st.last.corrupt, 3);
    int times;
    const char *r = reported(20, &times);
    CHECK(r && strstr(r, "block scanner: ") == r && strstr(r, "checksum mismatch in chunk 3 "));
    CHECK_EQ_INT(times, 1);
    r = reported(40, &times);
    CHECK(r && strstr(r, "meta size"));
    CHECK_EQ_INT(times, 1);
    r = reported(50, &times);
    CHECK(r && strstr(r, "not found"));
    CHECK_EQ_INT(times, 1);
    for (int i = 0; i < NREP; i++)
        if (ids[i] != 20 && ids[i] != 40 && ids[i] != 50)
            CHECK(reported(ids[i], &times) == NULL);
    CHECK(logged("block scanner: blk_20 (genstamp 1020) chunk 3 is corrupt"));
    CHECK(logged("finalized/subdir0/subdir0/blk_20; reporting it"));
    pthread_mutex_lock(&rep_mu);
    for (int i = 0; i < nreps; i++)
        CHECK_EQ_INT(reps[i].gs, 1000 + reps[i].id);
    pthread_mutex_unlock(&rep_mu);
    for (int i = 0; i < NREP; i++) {
        int damaged = ids[i] == 20 || ids[i] == 40 || ids[i] == 50;
        CHECK_EQ_INT(bs_is_bad(bs, ids[i]), damaged);
    }
    snprintf(p, sizeof p, "%s/finalized/subdir0/subdir0/blk_20_1020.bad", dir);
    CHECK(access(p, F_OK) == 0);                /* the flag is on disk */
    /* Next pass: the same three corrupt, none read or reported again. */
    st = wait_passes(sc, 2);
    scan_stop(sc);
    CHECK_EQ_INT(st.last.scanned, NREP);
    CHECK_EQ_INT(st.last.corrupt, 3);
    static const uint64_t damaged_ids[3] = { 20, 40, 50 };
    for (int i = 0; i < 3; i++) {
        reported(damaged_ids[i], &times);
        CHECK_EQ_INT(times, 1);
    }
    CHECK(logged("block scanner: blk_20 flagged bad already; not read again"));
    data_path(20, p);
    CHECK(access(p, F_OK) == 0);                /* not moved or deleted */
    CHECK(bs_lookup(bs, 20, NULL, NULL) == 1);
}

/* A cursor in the middle of a pass: the scan resumes after it, keeping the
 * pass's counts; a cursor between passes waits for the next; a malformed
 * cursor starts over. */
static void test_resume(struct bs *bs)
{
    char text[256];
    /* Begun long ago: no pace holds the rest of it back. */
    snprintf(text, sizeof text, "pass_start=%llu\nlast_id=30\nscanned=3\nbytes=999\n"
             "corrupt=1\npasses=7\ndone=0\n", (unsigned long long)time(NULL) - 1000);
    write_file(cursor_path, text);
    reps_clear();
    log_clear();
    struct scanner *sc = start(bs, 100, 1ull << 40);
    struct scan_stats st = wait_passes(sc, 8);
    CHECK_EQ_INT(st.last.resumed_after, 30);
    CHECK_EQ_INT(st.last.scanned, 3 + 3);       /* 40, 50, 60 */
    CHECK_EQ_INT(st.last.corrupt, 1 + 2);       /* 40 and 50 are damaged */
    CHECK_EQ_INT(st.last.bytes, 999 + 70000 + 1);
    int times;
    /* (Pass 9 starts at once, but spreads over 100 s: blk_20 waits.) */
    CHECK(reported(20, &times) == NULL);        /* at or before the cursor */
    CHECK(reported(40, &times) == NULL);        /* flagged bad by test_damage */
    CHECK(logged("resuming the pass started at unix time"));
    CHECK(logged("after blk_30 (3 replicas done)"));
    CHECK(logged("pass 8 complete"));
    CHECK(logged("(resumed after blk_30: 3 replicas since)"));
    double t0 = now_s();
    scan_stop(sc);
    CHECK(now_s() - t0 < 1.0);

    /* Between passes: no new pass before its time, and stop is prompt. */
    snprintf(text, sizeof text, "pass_start=%llu\nlast_id=60\nscanned=6\nbytes=5\n"
             "corrupt=2\npasses=8\ndone=1\n", (unsigned long long)time(NULL));
    write_file(cursor_path, text);
    reps_clear();
    log_clear();
    sc = start(bs, 100, 1ull << 40);
    nap_ms(200);
    scan_stats(sc, &st);
    CHECK_EQ_INT(st.passes, 8);
    CHECK(st.idle);
    CHECK_EQ_INT(st.last.scanned, 6);
    CHECK_EQ_INT(st.last.corrupt, 2);
    CHECK(logged("8 passes done; the next starts 100 s after"));
    t0 = now_s();
    scan_stop(sc);
    CHECK(now_s() - t0 < 1.0);
    CHECK_EQ_INT(nreps, 0);

    /* Garbage: a new pass over everything. */
    write_file(cursor_path, "pass_start=12\nlast_id=x\n");
    log_clear();
    sc = start(bs, 1, 1ull << 40);
    st = wait_passes(sc, 1);
    CHECK_EQ_INT(st.last.scanned, NREP);
    CHECK_EQ_INT(st.last.resumed_after, 0);
    CHECK(logged("malformed (line 2: bad number for last_id)"));
    scan_stop(sc);
}

/* A slow scan stops at once and saves where it was; the stats count only
 * whole replicas. */
static void test_slow_stop(struct bs *bs)
{
    unlink(cursor_path);
    reps_clear();
    struct scanner *sc = start(bs, 1, 1024);    /* 1 KiB/s: 64K pieces, 64 s each */
    nap_ms(300);
    double t0 = now_s();
    scan_stop(sc);
    CHECK(now_s() - t0 < 1.0);
    FILE *f = fopen(cursor_path, "r");
    char text[512] = "";
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = '\0';
        fclose(f);
    }
    CHECK(strstr(text, "last_id=10\n") != NULL || strstr(text, "last_id=0\n") != NULL);
    CHECK(strstr(text, "done=0\n") != NULL);
}

int main(void)
{
    dfs_log_set_level(DFS_LOG_DEBUG);
    dfs_log_set_sink(sink, NULL);
    snprintf(base, sizeof base, "/tmp/test_scan_XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/data", base);
    snprintf(cursor_path, sizeof cursor_path, "%s/scanner.cursor", dir);
    const char *dirs[1] = { dir };
    struct bs *bs = bs_open(dirs, 1, 0, err, sizeof err);
    CHECK(bs != NULL);
    if (bs) {
        /* Chunk sizes and lengths of every shape, one empty replica. */
        static const uint32_t chunks[NREP] = { 512, 512, 16384, 512, 4096, 512 };
        static const size_t lens[NREP] = { 100000, 512 * 9 + 1, 3 * 16384, 0, 70000, 1 };
        for (int i = 0; i < NREP; i++)
            CHECK_EQ_INT(put_replica(bs, ids[i], 1000 + ids[i], chunks[i], lens[i]), 0);
        test_config_refused(bs);
        test_sound(bs);
        test_damage(bs);
        test_resume(bs);
        test_slow_stop(bs);
        bs_close(bs);
    }
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary();
}
