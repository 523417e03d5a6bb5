/*
 * scanner.c - the block scanner (see scanner.h for the policy).
 *
 * One thread.  It reads a replica in pieces of whole chunks through the
 * block store (bs_open_replica, bs_check_replica, bs_verify_chunks) and
 * waits before each piece for the pace; every wait is a timed wait on the
 * condition variable that scan_stop signals, so a stop is prompt.  The
 * counters behind the mutex are written by the thread only; scan_stats
 * reads them from elsewhere.
 */
#include "scanner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "blockstore.h"
#include "checksum.h"
#include "log.h"
#include "xmalloc.h"

#define SAVE_EVERY_MS   5000            /* cursor written at most this often */
#define PIECE_MIN       (64u << 10)     /* bytes read between two waits ... */
#define PIECE_MAX       (1u << 20)      /* ... about bytes_per_s / 8 in between */

/* A replica of the pass. */
struct item {
    uint64_t id, gs, len;
};

struct items {
    struct item *v;
    size_t n, cap;
};

struct scanner {
    struct bs *bs;
    char *cursor_path;
    uint32_t period_s;
    uint64_t bytes_per_s;
    void (*report_bad)(void *arg, uint64_t id, uint64_t gs, const char *reason);
    void *report_arg;

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;            /* stop (monotonic clock) */
    int stop;                     /* under mu; read atomically elsewhere */
    struct scan_stats st;         /* under mu; written by the thread only */

    /* Thread-only state. */
    int64_t start_ns;             /* pass start, monotonic clock */
    int64_t cap_ns;               /* rate cap: earliest start of the next piece */
    uint64_t pass_bytes;          /* bytes the pass covers (done + to do) */
    uint64_t done;                /* bytes read in the pass */
    uint64_t scanned_run;         /* replicas scanned since this run resumed */
    int64_t saved_ns;             /* last cursor write */
    int save_failed;              /* the last write failed (logged once) */
    uint8_t *buf, *sums;          /* a piece and its checksums */
    size_t bufsz, sumsz;
};

/* What became of a replica of the pass: read and sound, found corrupt,
 * flagged bad before (not read again), gone or unreadable, or the scanner
 * is stopping. */
enum { SCAN_SOUND, SCAN_CORRUPT, SCAN_KNOWN_BAD, SCAN_SKIPPED, SCAN_STOPPED };

static uint64_t wall_s(void)
{
    return (uint64_t)time(NULL);
}

static int stopping(struct scanner *sc)
{
    return __atomic_load_n(&sc->stop, __ATOMIC_RELAXED);
}

/* Sleep until `deadline` (monotonic ns) or stop.  1 when the deadline came,
 * 0 on stop. */
static int wait_until(struct scanner *sc, int64_t deadline)
{
    pthread_mutex_lock(&sc->mu);
    while (!sc->stop) {
        int64_t now = (int64_t)dfs_mono_ns();
        if (now >= deadline)
            break;
        struct timespec ts = { .tv_sec = (time_t)(deadline / 1000000000),
                               .tv_nsec = (long)(deadline % 1000000000) };
        pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
    }
    int ok = !sc->stop;
    pthread_mutex_unlock(&sc->mu);
    return ok;
}

/* ---------------------------------------------------------- the cursor */

/* Write the cursor (tmp + rename).  A failure is logged once until a write
 * works again. */
static void cursor_save(struct scanner *sc)
{
    char tmp[PATH_MAX + 8], text[512];
    struct scan_stats st;

    pthread_mutex_lock(&sc->mu);
    st = sc->st;
    pthread_mutex_unlock(&sc->mu);
    int n = snprintf(text, sizeof(text),
                     "pass_start=%" PRIu64 "\nlast_id=%" PRIu64 "\nscanned=%" PRIu64
                     "\nbytes=%" PRIu64 "\ncorrupt=%" PRIu64 "\npasses=%" PRIu64 "\ndone=%d\n",
                     st.cur.start, st.cur.last_id, st.cur.scanned, st.cur.bytes, st.cur.corrupt,
                     st.passes, st.idle);
    snprintf(tmp, sizeof(tmp), "%s.tmp", sc->cursor_path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && write(fd, text, (size_t)n) == n;
    int e = errno;
    if (fd >= 0 && close(fd) < 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && rename(tmp, sc->cursor_path) < 0) {
        ok = 0;
        e = errno;
    }
    if (!ok) {
        if (fd >= 0)
            unlink(tmp);
        if (!sc->save_failed)
            LOG_WARN("block scanner: cannot write %s: %s (progress is not kept across a "
                     "restart)", sc->cursor_path, strerror(e));
    } else if (sc->save_failed) {
        LOG_INFO("block scanner: %s written again", sc->cursor_path);
    }
    sc->save_failed = !ok;
    sc->saved_ns = (int64_t)dfs_mono_ns();
}

/* Read the cursor into sc->st.  1 when loaded, 0 when there is none or it
 * is malformed (logged; sc->st untouched). */
static int cursor_load(struct scanner *sc)
{
    static const char *const keys[] = { "pass_start", "last_id", "scanned", "bytes",
                                        "corrupt", "passes", "done" };
    uint64_t v[7] = { 0 };
    unsigned seen = 0;
    char line[256], why[128] = "";
    int lineno = 0;

    FILE *f = fopen(sc->cursor_path, "re");
    if (!f) {
        if (errno != ENOENT)
            LOG_WARN("block scanner: %s: %s; starting a new pass", sc->cursor_path,
                     strerror(errno));
        return 0;
    }
    while (!*why && fgets(line, sizeof(line), f)) {
        lineno++;
        char *eq = strchr(line, '='), *end;
        size_t k = 0;
        if (eq) {
            *eq = '\0';
            while (k < 7 && strcmp(line, keys[k]) != 0)
                k++;
        }
        if (!eq || k == 7) {
            snprintf(why, sizeof(why), "line %d: unknown line", lineno);
            break;
        }
        errno = 0;
        unsigned long long x = strtoull(eq + 1, &end, 10);
        if (errno || end == eq + 1 || (*end != '\n' && *end != '\0') || eq[1] == '-') {
            snprintf(why, sizeof(why), "line %d: bad number for %s", lineno, keys[k]);
            break;
        }
        v[k] = x;
        seen |= 1u << k;
    }
    fclose(f);
    if (!*why && seen != (1u << 7) - 1)
        snprintf(why, sizeof(why), "a key is missing");
    if (!*why && (v[6] > 1 || v[0] > wall_s() + 86400))
        snprintf(why, sizeof(why), "values out of range");
    if (*why) {
        LOG_WARN("block scanner: %s: malformed (%s); starting a new pass", sc->cursor_path,
                 why);
        return 0;
    }
    sc->st.cur.start = v[0];
    sc->st.cur.last_id = v[1];
    sc->st.cur.scanned = v[2];
    sc->st.cur.bytes = v[3];
    sc->st.cur.corrupt = v[4];
    sc->st.passes = v[5];
    sc->st.idle = (int)v[6];
    if (sc->st.idle)
        sc->st.last = sc->st.cur;
    return 1;
}

/* ---------------------------------------------------------- one replica */

/* Wait for the pace before reading the next `len` bytes of the pass.
 * 0, or -1 on stop. */
static int pace(struct scanner *sc, uint64_t len)
{
    if (stopping(sc))
        return -1;
    int64_t now = (int64_t)dfs_mono_ns();
    if (sc->cap_ns < now)
        sc->cap_ns = now;
    int64_t due = sc->cap_ns;
    sc->cap_ns += (int64_t)((double)len * 1e9 / (double)sc->bytes_per_s);
    if (sc->pass_bytes > 0) {
        int64_t spread = sc->start_ns + (int64_t)((double)sc->period_s * 1e9 *
                                                  (double)sc->done / (double)sc->pass_bytes);
        if (spread > due)
            due = spread;
    }
    return due <= now || wait_until(sc, due) ? 0 : -1;
}

/* Chunks per piece for a chunk size. */
static size_t piece_chunks(const struct scanner *sc, uint32_t chunk)
{
    uint64_t piece = sc->bytes_per_s / 8;
    piece = piece < PIECE_MIN ? PIECE_MIN : piece > PIECE_MAX ? PIECE_MAX : piece;
    return piece <= chunk ? 1 : (size_t)(piece / chunk);
}

/* Flag replica it bad in the store and report it (its data file when
 * known) as corrupt for `why`; chunk is the bad chunk's index or -1 for
 * the files as a whole.  Unless the replica changed meanwhile (deleted,
 * new generation stamp, new length): then the verdict may be a race and it
 * is skipped. */
static int corrupt(struct scanner *sc, const struct item *it, long long chunk, const char *why)
{
    uint64_t gs, len;
    char path[PATH_MAX], reason[1024], err[PATH_MAX + 128];

    int rc = -ENOENT;
    if (bs_lookup(sc->bs, it->id, &gs, &len) && gs == it->gs && len == it->len)
        rc = bs_mark_bad(sc->bs, it->id, it->gs, err, sizeof(err));
    if (rc == -ENOENT || rc == -ESTALE) {
        LOG_DEBUG("block scanner: blk_%" PRIu64 " changed while it was read; skipped", it->id);
        return SCAN_SKIPPED;
    }
    if (rc < 0)
        LOG_WARN("block scanner: %s", err);
    if (bs_replica_path(sc->bs, it->id, path, sizeof(path)) != 0)
        snprintf(path, sizeof(path), "(unknown)");
    if (chunk >= 0)
        LOG_WARN("block scanner: blk_%" PRIu64 " (genstamp %" PRIu64 ") chunk %lld is corrupt: "
                 "%s; file %s; reporting it to the namenode", it->id, it->gs, chunk, why, path);
    else
        LOG_WARN("block scanner: blk_%" PRIu64 " (genstamp %" PRIu64 ") is corrupt: %s; file %s;"
                 " reporting it to the namenode", it->id, it->gs, why, path);
    snprintf(reason, sizeof(reason), "block scanner: %s", why);
    if (sc->report_bad)
        sc->report_bad(sc->report_arg, it->id, it->gs, reason);
    return SCAN_CORRUPT;
}

/* Verify replica `id` as it is now (it->gs, it->len updated), pacing the
 * reads.  SCAN_* */
static int scan_one(struct scanner *sc, struct item *it)
{
    struct bs_replica r;
    char err[768];
    uint64_t bad;

    if (!bs_lookup(sc->bs, it->id, &it->gs, &it->len))
        return SCAN_SKIPPED;                    /* deleted since the snapshot */
    if (bs_is_bad(sc->bs, it->id)) {
        /* reported when it was flagged; block reports carry the flag */
        LOG_DEBUG("block scanner: blk_%" PRIu64 " flagged bad already; not read again", it->id);
        sc->done += it->len;
        return SCAN_KNOWN_BAD;
    }
    int rc = bs_open_replica(sc->bs, it->id, it->gs, &r, err, sizeof(err));
    if (rc == -ENOENT || rc == -ESTALE)
        return corrupt(sc, it, -1, err);        /* a race unless still in the map */
    if (rc < 0) {
        LOG_WARN("block scanner: %s; skipped", err);
        return SCAN_SKIPPED;
    }
    rc = bs_check_replica(&r, it->id, err, sizeof(err));
    if (rc != 0) {
        bs_close_replica(&r);
        if (rc < 0) {
            LOG_WARN("block scanner: %s; skipped", err);
            return SCAN_SKIPPED;
        }
        return corrupt(sc, it, -1, err);
    }
    size_t per = piece_chunks(sc, r.chunk_size);
    if (sc->bufsz < per * r.chunk_size) {
        sc->bufsz = per * r.chunk_size;
        free(sc->buf);
        sc->buf = xmalloc(sc->bufsz);
    }
    if (sc->sumsz < 8 * per) {
        sc->sumsz = 8 * per;
        free(sc->sums);
        sc->sums = xmalloc(sc->sumsz);
    }
    uint64_t nchunks = dfs_nchunks(r.length, r.chunk_size);
    for (uint64_t c = 0; c < nchunks; c += per) {
        size_t n = (size_t)(nchunks - c < per ? nchunks - c : per);
        uint64_t off = c * r.chunk_size;
        uint64_t len = r.length - off < (uint64_t)n * r.chunk_size ? r.length - off
                                                                   : (uint64_t)n * r.chunk_size;
        if (pace(sc, len) < 0) {
            bs_close_replica(&r);
            return SCAN_STOPPED;
        }
        rc = bs_verify_chunks(&r, it->id, c, n, sc->buf, sc->sums, &bad, err, sizeof(err));
        if (rc != 0) {
            bs_close_replica(&r);
            if (rc < 0) {
                LOG_WARN("block scanner: %s; skipped", err);
                return SCAN_SKIPPED;
            }
            return corrupt(sc, it, (long long)bad, err);
        }
        sc->done += len;
    }
    bs_close_replica(&r);
    LOG_DEBUG("block scanner: blk_%" PRIu64 " sound (%" PRIu64 " bytes)", it->id, it->len);
    return SCAN_SOUND;
}

/* ---------------------------------------------------------- the passes */

struct collect {
    struct items *l;
    uint64_t after;
};

static int collect_cb(uint64_t id, uint64_t gs, uint64_t len, void *arg)
{
    struct collect *c = arg;
    if (id <= c->after)
        return 0;
    struct items *l = c->l;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 1024;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (struct item){ id, gs, len };
    return 0;
}

static int by_id(const void *a, const void *b)
{
    uint64_t x = ((const struct item *)a)->id, y = ((const struct item *)b)->id;
    return x < y ? -1 : x > y;
}

/* Start a new pass now. */
static void pass_begin(struct scanner *sc)
{
    pthread_mutex_lock(&sc->mu);
    memset(&sc->st.cur, 0, sizeof(sc->st.cur));
    sc->st.cur.start = wall_s();
    sc->st.idle = 0;
    pthread_mutex_unlock(&sc->mu);
    sc->scanned_run = 0;
    cursor_save(sc);
}

/* Scan the replicas after the cursor in id order, then close the pass.
 * Returns early (the cursor saved) on stop. */
static void pass_run(struct scanner *sc)
{
    struct items l = { 0 };
    struct scan_pass *cur = &sc->st.cur;       /* written under mu below */
    struct collect c = { &l, cur->last_id };

    bs_foreach(sc->bs, collect_cb, &c);
    if (l.n)
        qsort(l.v, l.n, sizeof(*l.v), by_id);
    sc->done = cur->bytes;
    sc->pass_bytes = cur->bytes;
    for (size_t i = 0; i < l.n; i++)
        sc->pass_bytes += l.v[i].len;
    /* The pass's start on the monotonic clock, from its wall-clock start
     * (a resumed pass keeps its schedule). */
    uint64_t now = wall_s();
    uint64_t ago = now > cur->start ? now - cur->start : 0;
    sc->start_ns = (int64_t)dfs_mono_ns() - (int64_t)(ago > 100ull * 365 * 86400 ? 100ull * 365 * 86400 : ago)
                                   * 1000000000;

    for (size_t i = 0; i < l.n; i++) {
        if (stopping(sc))
            break;
        int rc = scan_one(sc, &l.v[i]);
        if (rc == SCAN_STOPPED)
            break;
        pthread_mutex_lock(&sc->mu);
        cur->last_id = l.v[i].id;
        if (rc != SCAN_SKIPPED) {
            cur->scanned++;
            cur->bytes += l.v[i].len;
            sc->scanned_run++;
        }
        if (rc == SCAN_CORRUPT || rc == SCAN_KNOWN_BAD)
            cur->corrupt++;
        pthread_mutex_unlock(&sc->mu);
        if ((int64_t)dfs_mono_ns() - sc->saved_ns >= (int64_t)SAVE_EVERY_MS * 1000000)
            cursor_save(sc);
    }
    free(l.v);
    if (stopping(sc))
        return;

    pthread_mutex_lock(&sc->mu);
    sc->st.passes++;
    sc->st.idle = 1;
    sc->st.last = *cur;
    struct scan_stats st = sc->st;
    pthread_mutex_unlock(&sc->mu);
    now = wall_s();
    char resumed[128] = "";
    if (st.cur.resumed_after)
        snprintf(resumed, sizeof(resumed), " (resumed after blk_%" PRIu64 ": %" PRIu64
                 " replicas since)", st.cur.resumed_after, sc->scanned_run);
    LOG_INFO("block scanner: pass %" PRIu64 " complete in %" PRIu64 " s: %" PRIu64
             " replicas, %" PRIu64 " bytes, %" PRIu64 " corrupt%s", st.passes,
             now > st.cur.start ? now - st.cur.start : 0, st.cur.scanned, st.cur.bytes,
             st.cur.corrupt, resumed);
    cursor_save(sc);
}

static void *scan_main(void *arg)
{
    struct scanner *sc = arg;

    while (!stopping(sc)) {
        if (sc->st.idle) {
            /* The next pass starts period_s after the last one started. */
            uint64_t now = wall_s(), next = sc->st.cur.start + sc->period_s;
            uint64_t wait = next > now ? next - now : 0;
            if (wait > sc->period_s)
                wait = sc->period_s;            /* the clock went back */
            if (!wait_until(sc, (int64_t)dfs_mono_ns() + (int64_t)wait * 1000000000))
                break;
            pass_begin(sc);
        }
        pass_run(sc);
    }
    cursor_save(sc);
    return NULL;
}

/* ---------------------------------------------------------- interface */

struct scanner *scan_start(const struct scan_cfg *cfg, char *err, size_t errsz)
{
    if (cfg->period_s == 0 || cfg->bytes_per_s == 0) {
        snprintf(err, errsz, "block scanner: period and rate must be above 0");
        return NULL;
    }
    struct scanner *sc = xcalloc(1, sizeof(*sc));
    sc->bs = cfg->bs;
    sc->cursor_path = xstrdup(cfg->cursor_path);
    sc->period_s = cfg->period_s;
    sc->bytes_per_s = cfg->bytes_per_s;
    sc->report_bad = cfg->report_bad;
    sc->report_arg = cfg->report_arg;
    pthread_mutex_init(&sc->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sc->cv, &ca);
    pthread_condattr_destroy(&ca);

    if (cursor_load(sc)) {
        if (sc->st.idle) {
            LOG_INFO("block scanner: %" PRIu64 " passes done; the next starts %" PRIu32
                     " s after the last one did (unix time %" PRIu64 ")", sc->st.passes,
                     sc->period_s, sc->st.cur.start);
        } else {
            sc->st.cur.resumed_after = sc->st.cur.last_id;
            LOG_INFO("block scanner: resuming the pass started at unix time %" PRIu64
                     " after blk_%" PRIu64 " (%" PRIu64 " replicas done)", sc->st.cur.start,
                     sc->st.cur.last_id, sc->st.cur.scanned);
        }
    } else {
        sc->st.cur.start = wall_s();
        LOG_INFO("block scanner: first pass; every replica is read once per %" PRIu32
                 " s, at most %" PRIu64 " bytes/s", sc->period_s, sc->bytes_per_s);
    }
    int rc = pthread_create(&sc->thread, NULL, scan_main, sc);
    if (rc != 0) {
        snprintf(err, errsz, "cannot start the block scanner thread: %s", strerror(rc));
        pthread_cond_destroy(&sc->cv);
        pthread_mutex_destroy(&sc->mu);
        free(sc->cursor_path);
        free(sc);
        return NULL;
    }
    return sc;
}

void scan_stop(struct scanner *sc)
{
    if (!sc)
        return;
    pthread_mutex_lock(&sc->mu);
    __atomic_store_n(&sc->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&sc->cv);
    pthread_mutex_unlock(&sc->mu);
    pthread_join(sc->thread, NULL);
    pthread_cond_destroy(&sc->cv);
    pthread_mutex_destroy(&sc->mu);
    free(sc->buf);
    free(sc->sums);
    free(sc->cursor_path);
    free(sc);
}

void scan_stats(struct scanner *sc, struct scan_stats *out)
{
    pthread_mutex_lock(&sc->mu);
    *out = sc->st;
    pthread_mutex_unlock(&sc->mu);
}
