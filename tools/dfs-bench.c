/*
 * dfs-bench - namespace (metadata) and data throughput benchmark of a dfs
 * cluster.
 *
 *   dfs-bench [-n HOST:PORT] OP [-c CLIENTS] [-N OPS_PER_CLIENT] [-d DIR]
 *             [-r LISTS] [--shared] [--keep] [--json]
 *   dfs-bench [-n HOST:PORT] io -s SIZE [-r REPL] [-b BLOCKSIZE] [-c CLIENTS]
 *             [-d DIR] [--read-whole] [--shared] [--keep] [--json]
 *
 * Each client is a thread with its own dfs_fs handle.  In the default
 * ("unique dir") mode client k works on DIR/c<k>/f<i>; with --shared every
 * client works in DIR itself on DIR/c<k>-<i> (one big directory), as the two
 * modes of mdtest.  A phase has an untimed setup, then every client starts at
 * once (a barrier) and the phase lasts from the barrier to the last client's
 * finish (CLOCK_MONOTONIC).  Every call is timed on its own; the per-thread
 * samples are merged at the end into latency percentiles.
 *
 * The operations are one table (bench_ops[]): a name, what its setup needs
 * and the timed loop.  "meta" is the sequence mkdir, create, stat, list,
 * delete on the same names; between mkdir and create the directories made by
 * mkdir are removed (untimed) so that create can reuse their names.
 *
 * "io" is two phases on one file of SIZE bytes per client (DIR/c<k>/f0):
 * "write" (dfs_open_write, dfs_write of 4 MiB pieces of a buffer filled with
 * pseudo-random bytes once before the run, dfs_close: the close waits for
 * the last acks and completes the file) and "read" (dfs_open_read, dfs_read
 * of 4 MiB into memory, dfs_close).  Every byte read is compared with the
 * written ones, untimed: by default the reads reuse one 4 MiB buffer, as a
 * streaming reader does, each piece is compared right after its dfs_read and
 * the time of the comparisons is taken out of the client's time; with
 * --read-whole the file is read into one buffer of SIZE per client and
 * compared after the timed phase.  The read reports how many bytes came
 * from datanodes on this host and, of those, through short-circuit reads
 * (dfs_read_stats; [client] short_circuit in DFS_CONF turns them off).
 * Rates are MB/s (10^6 bytes), all
 * clients' bytes over the phase's time; latencies are per 4 MiB call.
 *
 * Output: one line per phase, or with --json one JSON object per line.
 * Exit status: 0 success, 1 any call failed, 2 usage error.
 * Only the public API (dfs.h) is used.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dfs.h"

#define BENCH_MAX_CLIENTS 1024
#define BENCH_MAX_OPS     100000000UL  /* per client */
#define BENCH_MAX_FAILS   10           /* per client and phase: then it gives up */
#define BENCH_MAX_MSGS    20           /* failure messages printed per phase */
#define BENCH_DIR_MAX     3800         /* longest DIR, room left for names */
#define BENCH_IO_CALL     (4u << 20)   /* bytes per dfs_write / dfs_read */
#define BENCH_IO_MAX      (1ull << 40) /* largest -s */

/* What a phase's untimed setup must provide, as bits. */
enum bench_setup {
    SETUP_DIRS = 0x1,   /* every client's directory exists */
    SETUP_FILES = 0x2,  /* every name exists (created unless present) */
    SETUP_RESET = 0x4,  /* every client's directory is emptied first */
};

struct bench;
struct client;

/* One benchmark operation: its name, its unit, and the timed loop run by
 * each client.  run returns the number of operations it counted (names,
 * directory entries for list, bytes for the io phases); the rate is that
 * count per second divided by scale (1, or 10^6 for MB/s).  after, when set,
 * runs in each client once its timed loop is over (untimed: verification). */
struct bench_op {
    const char *name;
    const char *unit;
    unsigned setup;
    uint64_t (*run)(struct client *c);
    double scale;
    void (*after)(struct client *c);
};

/* The run's configuration, shared read-only by the clients. */
struct bench {
    const char *opname;         /* as given on the command line */
    char dir[BENCH_DIR_MAX];    /* DIR without trailing slashes */
    unsigned clients;
    unsigned long nops;         /* per client */
    unsigned lists;             /* listings per client for "list" */
    int shared, keep, json;

    /* io */
    int io;                     /* the io phases are planned */
    uint64_t io_size;           /* bytes per client's file */
    unsigned io_repl;           /* 0: the namenode's default */
    uint64_t io_block;          /* 0: the namenode's default */
    int io_whole;               /* read the whole file into memory */
    uint8_t *io_data;           /* io_size pseudo-random bytes */

    const struct bench_op **phases;
    unsigned nphases;
    unsigned phase_setup[8];    /* setup bits of each phase */

    atomic_uint msgs[8];        /* failure messages printed, per phase */
    pthread_barrier_t start;    /* setup done: the phase starts */
    pthread_barrier_t done;     /* every client finished the phase */
};

/* One client thread: its handle, its samples and its results per phase. */
struct client {
    struct bench *b;
    unsigned id;
    unsigned phase;             /* index of the phase it is in */
    dfs_fs *fs;
    pthread_t tid;
    char dir[BENCH_DIR_MAX + 16];   /* DIR/c<id>: its directory (unique mode) */
    char path[BENCH_DIR_MAX + 64];  /* scratch for the current name */

    uint64_t *lat;              /* ns per timed call of this phase */
    size_t nlat, caplat;
    uint64_t t0, t1;            /* phase start and end, ns */
    uint64_t count;             /* operations counted by run */
    uint64_t calls;             /* timed calls (listings for list) */
    unsigned long fails;        /* failed calls of this phase */
    unsigned long total_fails;  /* over the whole run, setup included */

    /* io */
    uint8_t *rbuf;              /* read buffer: one call, or io_size (whole) */
    uint64_t verify_ns;         /* time of the comparisons in the read loop */
    uint64_t got;               /* bytes read into rbuf by the read phase */
    unsigned replicas;          /* fewest datanodes a block was written to */
    unsigned file_repl;         /* the file's replication, from dfs_stat */
    uint64_t file_block;        /* the file's block size, from dfs_stat */
    int verified;               /* 1 the read bytes match, -1 they do not */
    uint64_t sc_bytes;          /* read: short-circuit bytes (dfs_read_stats) */
    uint64_t local_bytes;       /* read: bytes from datanodes on this host */
};

static const char *prog = "dfs-bench";

/* ------------------------------------------------------------- helpers */

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Format client c's i-th name into c->path. */
static const char *client_name(struct client *c, unsigned long i)
{
    if (c->b->shared)
        snprintf(c->path, sizeof c->path, "%s/c%u-%lu", c->b->dir, c->id, i);
    else
        snprintf(c->path, sizeof c->path, "%s/f%lu", c->dir, i);
    return c->path;
}

/* Report a failed call of client c ("dfs-bench: OP: PATH: message") and
 * count it.  The first BENCH_MAX_MSGS failures of a phase are printed, the
 * others only counted.  Returns 1 when the client should give up the phase
 * (BENCH_MAX_FAILS failures: the phase is failing anyway). */
static int client_fail(struct client *c, const char *op, const char *path,
                       const char *msg)
{
    unsigned n = atomic_fetch_add(&c->b->msgs[c->phase], 1);

    c->fails++;
    c->total_fails++;
    if (n < BENCH_MAX_MSGS)
        fprintf(stderr, "%s: %s: %s: %s\n", prog, op, path, msg);
    else if (n == BENCH_MAX_MSGS)
        fprintf(stderr, "%s: %s: more failures not shown\n", prog, op);
    if (c->fails == BENCH_MAX_FAILS) {
        if (n < BENCH_MAX_MSGS)
            fprintf(stderr, "%s: %s: client %u: %d failures, giving up\n",
                    prog, op, c->id, BENCH_MAX_FAILS);
        return 1;
    }
    return 0;
}

static void client_sample(struct client *c, uint64_t ns)
{
    if (c->nlat < c->caplat)
        c->lat[c->nlat++] = ns;
}

/* ------------------------------------------------------- timed loops */

/* The loop shared by the one-call-per-name operations. */
static uint64_t run_names(struct client *c, const char *op,
                          int (*call)(dfs_fs *, const char *))
{
    uint64_t n = 0;

    for (unsigned long i = 0; i < c->b->nops; i++) {
        const char *path = client_name(c, i);
        uint64_t t = now_ns();
        int rc = call(c->fs, path);

        t = now_ns() - t;
        if (rc != DFS_OK) {
            if (client_fail(c, op, path, dfs_errmsg()))
                break;
            continue;
        }
        client_sample(c, t);
        n++;
    }
    c->calls = n;
    return n;
}

static int call_mkdir(dfs_fs *fs, const char *path)
{
    return dfs_mkdir(fs, path, 0755, 0);
}

static int call_create(dfs_fs *fs, const char *path)
{
    return dfs_create(fs, path, 0644);
}

static int call_stat(dfs_fs *fs, const char *path)
{
    struct dfs_stat st;

    return dfs_stat(fs, path, &st);
}

static int call_delete(dfs_fs *fs, const char *path)
{
    return dfs_delete(fs, path, 0);
}

static uint64_t run_mkdir(struct client *c)
{
    return run_names(c, "mkdir", call_mkdir);
}

static uint64_t run_create(struct client *c)
{
    return run_names(c, "create", call_create);
}

static uint64_t run_stat(struct client *c)
{
    return run_names(c, "stat", call_stat);
}

static uint64_t run_delete(struct client *c)
{
    return run_names(c, "delete", call_delete);
}

/* List the client's directory fully, b->lists times.  Counts entries; one
 * latency sample per complete listing.  A listing shorter than the names
 * the setup made is a failure (lost or unpaged entries). */
static uint64_t run_list(struct client *c)
{
    uint64_t expect = c->b->shared ? (uint64_t)c->b->nops * c->b->clients
                                   : c->b->nops;
    const char *dir = c->b->shared ? c->b->dir : c->dir;
    uint64_t entries = 0;

    c->calls = 0;
    for (unsigned r = 0; r < c->b->lists; r++) {
        struct dfs_stat st;
        dfs_dir *d;
        uint64_t n = 0, t = now_ns();
        int rc = dfs_opendir(c->fs, dir, &d);

        if (rc != DFS_OK) {
            if (client_fail(c, "list", dir, dfs_errmsg()))
                break;
            continue;
        }
        while ((rc = dfs_readdir(d, &st)) == 1)
            n++;
        dfs_closedir(d);
        t = now_ns() - t;
        entries += n;
        if (rc < 0) {
            if (client_fail(c, "list", dir, dfs_errmsg()))
                break;
            continue;
        }
        if (n < expect) {
            char msg[128];

            snprintf(msg, sizeof msg, "%" PRIu64 " entries, expected %" PRIu64,
                     n, expect);
            if (client_fail(c, "list", dir, msg))
                break;
            continue;
        }
        client_sample(c, t);
        c->calls++;
    }
    return entries;
}

/* "write" of io: the client's file, SIZE bytes in BENCH_IO_CALL pieces of
 * b->io_data, timed from the open to the end of the close.  Counts bytes;
 * a failed write counts none. */
static uint64_t run_iowrite(struct client *c)
{
    struct bench *b = c->b;
    const char *path = client_name(c, 0);
    unsigned wanted = 0, got = 0;
    uint64_t off = 0;
    dfs_file *f;
    int rc;

    c->replicas = 0;
    rc = dfs_open_write(c->fs, path, DFS_O_OVERWRITE, 0644, b->io_repl,
                        b->io_block, &f);
    if (rc != DFS_OK) {
        client_fail(c, "write", path, dfs_errmsg());
        return 0;
    }
    while (off < b->io_size) {
        size_t n = b->io_size - off < BENCH_IO_CALL ? (size_t)(b->io_size - off)
                                                    : BENCH_IO_CALL;
        uint64_t t = now_ns();

        rc = dfs_write(f, b->io_data + off, n);
        t = now_ns() - t;
        if (rc != DFS_OK) {
            client_fail(c, "write", path, dfs_errmsg());
            break;
        }
        client_sample(c, t);
        c->calls++;
        off += n;
    }
    dfs_write_replicas(f, &wanted, &got);
    c->replicas = got;
    if (dfs_close(f) != DFS_OK) {
        if (rc == DFS_OK)
            client_fail(c, "write", path, dfs_errmsg());
        return 0;
    }
    return rc == DFS_OK ? off : 0;
}

/* After the write: the file's replication and block size (untimed). */
static void after_iowrite(struct client *c)
{
    struct dfs_stat st;
    const char *path = client_name(c, 0);

    if (c->count != c->b->io_size)
        return;
    if (dfs_stat(c->fs, path, &st) != DFS_OK) {
        client_fail(c, "write", path, dfs_errmsg());
        return;
    }
    if (st.length != c->b->io_size) {
        char msg[128];

        snprintf(msg, sizeof msg, "length %" PRIu64 " after close, wrote %"
                 PRIu64, st.length, c->b->io_size);
        client_fail(c, "write", path, msg);
    }
    c->file_repl = st.replication;
    c->file_block = st.block_size;
}

/* "read" of io: the client's file from start to end in BENCH_IO_CALL
 * reads into c->rbuf, each piece compared with the written bytes at once
 * (the comparisons' time in c->verify_ns, taken out by after_ioread), or
 * with io_whole at its file offset, compared afterwards by after_ioread.
 * Counts bytes read. */
static uint64_t run_ioread(struct client *c)
{
    struct bench *b = c->b;
    const char *path = client_name(c, 0);
    uint64_t off = 0;
    dfs_file *f;
    int rc;

    c->got = 0;
    c->verified = 0;
    c->verify_ns = 0;
    rc = dfs_open_read(c->fs, path, &f);
    if (rc != DFS_OK) {
        client_fail(c, "read", path, dfs_errmsg());
        return 0;
    }
    if (dfs_file_length(f) != b->io_size) {
        char msg[128];

        snprintf(msg, sizeof msg, "length %" PRIu64 ", expected %" PRIu64,
                 dfs_file_length(f), b->io_size);
        client_fail(c, "read", path, msg);
        dfs_close(f);
        return 0;
    }
    for (;;) {
        uint64_t left = b->io_size - off;
        size_t n = BENCH_IO_CALL;
        uint8_t *dst = c->rbuf;
        uint64_t t;
        int64_t r;

        if (b->io_whole) {
            if (left == 0)
                break;
            if (left < n)
                n = (size_t)left;
            dst = c->rbuf + off;
        }
        t = now_ns();
        r = dfs_read(f, dst, n);
        t = now_ns() - t;
        if (r < 0) {
            client_fail(c, "read", path, dfs_errmsg());
            break;
        }
        if (r == 0)
            break;
        if ((uint64_t)r > left) {
            client_fail(c, "read", path, "more bytes than the file's length");
            break;
        }
        client_sample(c, t);
        c->calls++;
        if (!b->io_whole && c->verified == 0) {
            t = now_ns();
            if (memcmp(dst, b->io_data + off, (size_t)r) != 0) {
                char msg[128];

                snprintf(msg, sizeof msg, "bytes differ from the written ones "
                         "in [%" PRIu64 ", %" PRIu64 ")", off, off + (uint64_t)r);
                client_fail(c, "read", path, msg);
                c->verified = -1;
            }
            c->verify_ns += now_ns() - t;
        }
        off += (uint64_t)r;
    }
    struct dfs_read_stats rs;
    if (dfs_get_read_stats(f, &rs) == DFS_OK) {
        c->sc_bytes = rs.short_circuit_bytes_read;
        c->local_bytes = rs.local_bytes_read;
    }
    dfs_close(f);
    c->got = off;
    if (off != b->io_size) {
        char msg[128];

        snprintf(msg, sizeof msg, "read %" PRIu64 " bytes, expected %" PRIu64,
                 off, b->io_size);
        client_fail(c, "read", path, msg);
        c->verified = -1;
    } else if (!b->io_whole && c->verified == 0) {
        c->verified = 1;
    }
    return off;
}

/* After the read: take the comparisons' time out of the client's time, or
 * with io_whole compare the bytes read with the written ones (untimed). */
static void after_ioread(struct client *c)
{
    struct bench *b = c->b;
    char msg[128];
    uint64_t off;

    if (!b->io_whole) {
        c->t1 -= c->verify_ns < c->t1 - c->t0 ? c->verify_ns : 0;
        return;
    }
    if (c->got != b->io_size)
        return;
    if (memcmp(c->rbuf, b->io_data, b->io_size) == 0) {
        c->verified = 1;
        return;
    }
    for (off = 0; off < b->io_size && c->rbuf[off] == b->io_data[off]; off++)
        ;
    snprintf(msg, sizeof msg, "bytes differ from the written ones from offset %"
             PRIu64, off);
    client_fail(c, "read", client_name(c, 0), msg);
    c->verified = -1;
}

/* The operations; the io phases are not operations of their own on the
 * command line (see io_ops). */
static const struct bench_op bench_ops[] = {
    { "mkdir",  "ops/s",     SETUP_DIRS,               run_mkdir,  1.0, NULL },
    { "create", "ops/s",     SETUP_DIRS,               run_create, 1.0, NULL },
    { "stat",   "ops/s",     SETUP_DIRS | SETUP_FILES, run_stat,   1.0, NULL },
    { "list",   "entries/s", SETUP_DIRS | SETUP_FILES, run_list,   1.0, NULL },
    { "delete", "ops/s",     SETUP_DIRS | SETUP_FILES, run_delete, 1.0, NULL },
};

/* "io": write the files, then read them back. */
static const struct bench_op io_ops[] = {
    { "write", "MB/s", SETUP_DIRS, run_iowrite, 1e6, after_iowrite },
    { "read",  "MB/s", 0,          run_ioread,  1e6, after_ioread },
};
#define IO_NPHASES (sizeof io_ops / sizeof io_ops[0])
#define BENCH_NOPS (sizeof bench_ops / sizeof bench_ops[0])

/* "meta": every operation above on the same names, with what each phase's
 * setup must do given that the previous phase ran. */
static const struct {
    const char *op;
    unsigned setup;
} meta_seq[] = {
    { "mkdir",  SETUP_DIRS },
    { "create", SETUP_RESET },
    { "stat",   0 },
    { "list",   0 },
    { "delete", 0 },
};
#define META_NPHASES (sizeof meta_seq / sizeof meta_seq[0])

static const struct bench_op *bench_find_op(const char *name)
{
    for (size_t i = 0; i < BENCH_NOPS; i++)
        if (strcmp(bench_ops[i].name, name) == 0)
            return &bench_ops[i];
    return NULL;
}

/* ------------------------------------------------------ setup, threads */

/* Make sure the client's directory exists (and is empty with reset). */
static void client_setup_dirs(struct client *c, unsigned setup)
{
    const char *dir = c->b->shared ? c->b->dir : c->dir;
    int rc;

    /* In shared mode the one directory is everyone's: client 0 resets it. */
    if (c->b->shared && c->id != 0)
        return;
    if (setup & SETUP_RESET) {
        rc = dfs_delete(c->fs, dir, 1);
        if (rc != DFS_OK && rc != DFS_ERR_NOENT)
            client_fail(c, "setup", dir, dfs_errmsg());
    }
    rc = dfs_mkdir(c->fs, dir, 0755, 1);
    if (rc != DFS_OK)
        client_fail(c, "setup", dir, dfs_errmsg());
}

/* Create every name of the client that does not exist yet. */
static void client_setup_files(struct client *c)
{
    for (unsigned long i = 0; i < c->b->nops; i++) {
        const char *path = client_name(c, i);
        int rc = dfs_create(c->fs, path, 0644);

        if (rc != DFS_OK && rc != DFS_ERR_EXIST &&
            client_fail(c, "setup", path, dfs_errmsg()))
            break;
    }
}

/* Body of a client thread.  For each phase: the directories (in shared mode
 * client 0 alone makes or resets the one directory), a barrier, the names,
 * a barrier that starts the timed run, and a last barrier after which the
 * main thread reports while the clients go on to the next setup. */
static void *client_main(void *arg)
{
    struct client *c = arg;
    struct bench *b = c->b;

    for (unsigned p = 0; p < b->nphases; p++) {
        unsigned setup = b->phase_setup[p];

        c->phase = p;
        c->fails = 0;
        if (setup & (SETUP_DIRS | SETUP_RESET))
            client_setup_dirs(c, setup);
        pthread_barrier_wait(&b->start);
        if (setup & SETUP_FILES)
            client_setup_files(c);
        c->fails = 0;
        c->nlat = 0;
        c->count = c->calls = 0;
        pthread_barrier_wait(&b->start);
        c->t0 = now_ns();
        c->count = b->phases[p]->run(c);
        c->t1 = now_ns();
        if (b->phases[p]->after)
            b->phases[p]->after(c);
        pthread_barrier_wait(&b->done);
    }
    return NULL;
}

/* ------------------------------------------------------------- report */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted samples, in microseconds. */
static double percentile_us(const uint64_t *v, size_t n, double p)
{
    size_t k;

    if (n == 0)
        return 0.0;
    k = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1000.0;
}

/* The io-specific part of an io phase's report line. */
static void report_io(const struct bench *b, const struct bench_op *op,
                      const struct client *cl, uint64_t count, uint64_t calls)
{
    unsigned replicas = UINT_MAX, repl = 0;
    uint64_t block = 0, verify_ns = 0, sc_bytes = 0, local_bytes = 0;
    int ok = 1, bad = 0;

    for (unsigned i = 0; i < b->clients; i++) {
        if (cl[i].replicas < replicas)
            replicas = cl[i].replicas;
        if (cl[i].file_repl)
            repl = cl[i].file_repl;
        if (cl[i].file_block)
            block = cl[i].file_block;
        ok &= cl[i].verified == 1;
        verify_ns += cl[i].verify_ns;
        bad |= cl[i].verified == -1;
        sc_bytes += cl[i].sc_bytes;
        local_bytes += cl[i].local_bytes;
    }
    if (b->json) {
        printf(",\"bytes\":%" PRIu64 ",\"calls\":%" PRIu64 ",\"size\":%" PRIu64
               ",\"call_size\":%u", count, calls, b->io_size, BENCH_IO_CALL);
        if (op->run == run_iowrite)
            printf(",\"replication\":%u,\"replicas\":%u,\"block_size\":%" PRIu64,
                   repl, replicas, block);
        else
            printf(",\"verify\":\"%s\",\"verified\":%s"
                   ",\"verify_seconds_excluded\":%.6f"
                   ",\"local_bytes\":%" PRIu64 ",\"short_circuit_bytes\":%" PRIu64,
                   b->io_whole ? "whole" : "piecewise",
                   ok ? "true" : "false", (double)verify_ns / 1e9, local_bytes, sc_bytes);
    } else {
        printf("bytes=%" PRIu64, count);
        if (op->run == run_iowrite)
            printf(" replication=%u replicas=%u block_size=%" PRIu64,
                   repl, replicas, block);
        else
            printf(" verify=%s local=%" PRIu64 " short_circuit=%" PRIu64,
                   ok ? "ok" : bad ? "FAILED" : "none", local_bytes, sc_bytes);
    }
}

/* Print phase p's results from the clients' records.  Returns 0, or -1 when
 * out of memory for the merged samples. */
static int bench_report(struct bench *b, unsigned p, struct client *cl)
{
    const struct bench_op *op = b->phases[p];
    uint64_t t0 = UINT64_MAX, t1 = 0, count = 0, calls = 0;
    unsigned long fails = 0;
    size_t nlat = 0, k = 0;
    uint64_t *all;
    double secs, rate, p50, p99;
    int io = op->run == run_iowrite || op->run == run_ioread;

    for (unsigned i = 0; i < b->clients; i++) {
        if (cl[i].t0 < t0)
            t0 = cl[i].t0;
        if (cl[i].t1 > t1)
            t1 = cl[i].t1;
        count += cl[i].count;
        calls += cl[i].calls;
        fails += cl[i].fails;
        nlat += cl[i].nlat;
    }
    all = malloc((nlat ? nlat : 1) * sizeof *all);
    if (!all)
        return -1;
    for (unsigned i = 0; i < b->clients; i++) {
        memcpy(all + k, cl[i].lat, cl[i].nlat * sizeof *all);
        k += cl[i].nlat;
    }
    qsort(all, nlat, sizeof *all, cmp_u64);
    p50 = percentile_us(all, nlat, 50.0);
    p99 = percentile_us(all, nlat, 99.0);
    free(all);

    secs = (double)(t1 - t0) / 1e9;
    if (secs <= 0.0)
        secs = 1e-9;
    rate = (double)count / secs / op->scale;

    if (b->json) {
        printf("{\"op\":\"%s\",\"clients\":%u,\"shared\":%s,\"ops\":%" PRIu64
               ",\"errors\":%lu,\"seconds\":%.6f,\"rate\":%.1f,\"unit\":\"%s\"",
               op->name, b->clients, b->shared ? "true" : "false",
               io ? calls : count, fails, secs, rate, op->unit);
        if (io)
            report_io(b, op, cl, count, calls);
        if (op->run == run_list)
            printf(",\"lists\":%" PRIu64 ",\"lists_per_s\":%.1f", calls,
                   (double)calls / secs);
        printf(",\"p50_us\":%.1f,\"p99_us\":%.1f}\n", p50, p99);
    } else {
        printf("%-6s clients=%u ", op->name, b->clients);
        if (op->run == run_list)
            printf("lists=%" PRIu64 " entries=%" PRIu64, calls, count);
        else if (io)
            report_io(b, op, cl, count, calls);
        else
            printf("ops=%" PRIu64, count);
        if (fails)
            printf(" errors=%lu", fails);
        printf(" seconds=%.3f rate=%.*f %s", secs, io ? 1 : 0, rate, op->unit);
        if (op->run == run_list)
            printf(" (%.1f lists/s)", (double)calls / secs);
        printf(" p50=%.0fus p99=%.0fus\n", p50, p99);
    }
    fflush(stdout);
    return 0;
}

/* -------------------------------------------------------------- main */

static void usage(FILE *out)
{
    fprintf(out,
        "usage: %s [-n HOST:PORT] OP [-c CLIENTS] [-N OPS_PER_CLIENT] [-d DIR]\n"
        "                 [-r LISTS] [--shared] [--keep] [--json]\n"
        "       %s [-n HOST:PORT] io -s SIZE [-r REPL] [-b BLOCKSIZE] [-c CLIENTS]\n"
        "                 [-d DIR] [--read-whole] [--shared] [--keep] [--json]\n"
        "OP: mkdir | create | stat | list | delete | meta | io\n"
        "  meta          mkdir, create, stat, list, delete on the same names\n"
        "  io            write then read one file of SIZE bytes per client (MB/s)\n"
        "  -n HOST:PORT  namenode (default: $DFS_NAMENODE, $DFS_CONF, 127.0.0.1:8020)\n"
        "  -c CLIENTS    client threads, each with its own connection (default 1)\n"
        "  -N OPS        operations per client (default 1000)\n"
        "  -d DIR        working directory (default /dfs-bench.<pid>)\n"
        "  -r LISTS      full listings per client for list (default 10)\n"
        "  -s SIZE       io: bytes per client's file; K, M, G, T suffixes (1024-based)\n"
        "  -r REPL       io: replication of the files (default: the namenode's)\n"
        "  -b BLOCKSIZE  io: block size of the files (default: the namenode's)\n"
        "  --read-whole  io: read each file into one buffer of SIZE (default: reuse\n"
        "                one 4 MiB buffer); either way the bytes are compared untimed\n"
        "  --shared      all clients in DIR (names c<k>-<i>) instead of DIR/c<k>/f<i>\n"
        "  --keep        do not remove DIR at the end\n"
        "  --json        one JSON object per operation\n",
        prog, prog);
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max,
                       unsigned long *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* SIZE with an optional K, M, G or T suffix (1024-based; "KiB", "MiB"... and
 * a trailing "B" are accepted too). */
static int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    unsigned long long v;
    uint64_t mult = 1;
    char *end;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -1;
    switch (*end) {
    case 'k': case 'K': mult = 1ull << 10; end++; break;
    case 'm': case 'M': mult = 1ull << 20; end++; break;
    case 'g': case 'G': mult = 1ull << 30; end++; break;
    case 't': case 'T': mult = 1ull << 40; end++; break;
    default: break;
    }
    if (mult > 1 && *end == 'i')
        end++;
    if (*end == 'B')
        end++;
    if (*end || v > max / mult || v * mult < min)
        return -1;
    *out = v * mult;
    return 0;
}

/* Fill b from the command line; the namenode address into *namenode.
 * Returns 0, or 2 after a usage message. */
static int bench_parse(struct bench *b, int argc, char **argv,
                       const char **namenode)
{
    static const struct option longopts[] = {
        { "shared", no_argument, NULL, 'S' },
        { "keep",   no_argument, NULL, 'K' },
        { "json",   no_argument, NULL, 'J' },
        { "read-whole", no_argument, NULL, 'W' },
        { "help",   no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    unsigned long v;
    uint64_t size;
    const char *dir = NULL, *r_arg = NULL, *s_arg = NULL, *b_arg = NULL;
    int nops_set = 0;
    size_t len;
    int ch;

    b->clients = 1;
    b->nops = 1000;
    b->lists = 10;
    while ((ch = getopt_long(argc, argv, "n:c:N:d:r:s:b:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'n':
            *namenode = optarg;
            break;
        case 'c':
            if (parse_ulong(optarg, 1, BENCH_MAX_CLIENTS, &v) != 0)
                goto bad_value;
            b->clients = (unsigned)v;
            break;
        case 'N':
            if (parse_ulong(optarg, 1, BENCH_MAX_OPS, &v) != 0)
                goto bad_value;
            b->nops = v;
            nops_set = 1;
            break;
        case 'r':   /* LISTS or REPL: known once OP is */
            r_arg = optarg;
            break;
        case 's':
            s_arg = optarg;
            break;
        case 'b':
            b_arg = optarg;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'S': b->shared = 1; break;
        case 'K': b->keep = 1; break;
        case 'J': b->json = 1; break;
        case 'W': b->io_whole = 1; break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    b->opname = argv[optind];
    b->io = strcmp(b->opname, "io") == 0;

    if (b->io) {
        if (nops_set) {
            fprintf(stderr, "%s: io: -N does not apply (use -s SIZE)\n", prog);
            return 2;
        }
        if (!s_arg) {
            fprintf(stderr, "%s: io: -s SIZE is required\n", prog);
            usage(stderr);
            return 2;
        }
        if (parse_size(s_arg, 1, BENCH_IO_MAX, &b->io_size) != 0) {
            fprintf(stderr, "%s: -s %s: bad size\n", prog, s_arg);
            return 2;
        }
        if (r_arg) {
            if (parse_ulong(r_arg, 1, 10, &v) != 0) {
                fprintf(stderr, "%s: -r %s: bad replication (1..10)\n", prog, r_arg);
                return 2;
            }
            b->io_repl = (unsigned)v;
        }
        if (b_arg) {
            if (parse_size(b_arg, 1, BENCH_IO_MAX, &size) != 0) {
                fprintf(stderr, "%s: -b %s: bad block size\n", prog, b_arg);
                return 2;
            }
            b->io_block = size;
        }
    } else {
        if (s_arg || b_arg) {
            fprintf(stderr, "%s: %s: -%c applies to io only\n", prog,
                    b->opname, s_arg ? 's' : 'b');
            return 2;
        }
        if (r_arg) {
            if (parse_ulong(r_arg, 1, 1000000, &v) != 0) {
                fprintf(stderr, "%s: -r %s: bad value\n", prog, r_arg);
                return 2;
            }
            b->lists = (unsigned)v;
        }
    }

    if (dir && strlen(dir) >= sizeof b->dir) {
        fprintf(stderr, "%s: -d: directory name too long\n", prog);
        return 2;
    }
    if (dir)
        snprintf(b->dir, sizeof b->dir, "%s", dir);
    else
        snprintf(b->dir, sizeof b->dir, "/dfs-bench.%ld", (long)getpid());
    len = strlen(b->dir);
    while (len > 1 && b->dir[len - 1] == '/')
        b->dir[--len] = '\0';
    if (b->dir[0] != '/' || len < 2) {
        fprintf(stderr, "%s: -d %s: need an absolute path other than /\n",
                prog, b->dir);
        return 2;
    }
    return 0;

bad_value:
    fprintf(stderr, "%s: -%c %s: bad value\n", prog, ch, optarg);
    return 2;
}

/* Turn the operation name into the phases to run.  Returns 0 or 2. */
static int bench_plan(struct bench *b)
{
    static const struct bench_op *phases[8];

    if (strcmp(b->opname, "meta") == 0) {
        for (size_t i = 0; i < META_NPHASES; i++) {
            phases[i] = bench_find_op(meta_seq[i].op);
            b->phase_setup[i] = meta_seq[i].setup;
        }
        b->nphases = META_NPHASES;
    } else if (b->io) {
        for (size_t i = 0; i < IO_NPHASES; i++) {
            phases[i] = &io_ops[i];
            b->phase_setup[i] = io_ops[i].setup;
        }
        b->nphases = IO_NPHASES;
    } else {
        phases[0] = bench_find_op(b->opname);
        if (!phases[0]) {
            fprintf(stderr, "%s: %s: unknown operation\n", prog, b->opname);
            usage(stderr);
            return 2;
        }
        b->phase_setup[0] = phases[0]->setup;
        b->nphases = 1;
    }
    b->phases = phases;
    return 0;
}

/* Open a handle for each client and one for the main thread (*mainfs).
 * Returns 0, or 1 after a message. */
static int bench_connect(const char *namenode, struct client *cl,
                         unsigned n, dfs_fs **mainfs)
{
    dfs_options *opts = dfs_options_create();
    int rc;

    if (!opts) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    if (dfs_options_load_conf(opts, NULL) != DFS_OK) {
        fprintf(stderr, "%s: %s\n", prog, dfs_errmsg());
        goto fail;
    }
    if (!namenode)
        namenode = getenv("DFS_NAMENODE");
    if (namenode && *namenode &&
        dfs_options_set_namenode(opts, namenode) != DFS_OK) {
        fprintf(stderr, "%s: namenode %s: %s\n", prog, namenode, dfs_errmsg());
        goto fail;
    }
    rc = dfs_connect(opts, mainfs);
    for (unsigned i = 0; rc == DFS_OK && i < n; i++)
        rc = dfs_connect(opts, &cl[i].fs);
    if (rc != DFS_OK) {
        char *nn = dfs_options_get_namenode(opts);

        fprintf(stderr, "%s: connect: %s: %s\n", prog, nn ? nn : "namenode",
                dfs_errmsg());
        free(nn);
        goto fail;
    }
    dfs_options_destroy(opts);
    return 0;

fail:
    dfs_options_destroy(opts);
    return 1;
}

/* Bytes of memory available (MemAvailable of /proc/meminfo), or 0 when
 * not known. */
static uint64_t mem_available(void)
{
    unsigned long long kb = 0;
    char line[256];
    FILE *f = fopen("/proc/meminfo", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

/* The io buffers (untimed): b->io_data, io_size pseudo-random bytes
 * (xorshift64*, not compressible, different for every run), and each
 * client's read buffer: one call's worth, or with io_whole io_size bytes
 * (when every client's fits in half of the available memory; else an
 * error).  The read buffers are touched once so that page faults are not
 * timed.  Returns 0, or 1 after a message. */
static int io_prepare(struct bench *b, struct client *cl)
{
    uint64_t avail = mem_available(), x, need;
    size_t rsize;

    if (b->io_size > SIZE_MAX) {
        fprintf(stderr, "%s: io: -s %" PRIu64 ": too large\n", prog, b->io_size);
        return 1;
    }
    if (avail && b->io_size > avail / 10 * 8) {
        fprintf(stderr, "%s: io: -s %" PRIu64 ": larger than the available "
                "memory (%" PRIu64 " bytes): the data is written from memory\n",
                prog, b->io_size, avail);
        return 1;
    }
    b->io_data = malloc((size_t)b->io_size);
    if (!b->io_data) {
        fprintf(stderr, "%s: io: out of memory (%" PRIu64 " bytes)\n", prog,
                b->io_size);
        return 1;
    }
    x = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
    for (uint64_t off = 0; off < b->io_size; off += 8) {
        uint64_t r;

        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        r = x * 0x2545F4914F6CDD1Dull;
        if (b->io_size - off >= 8)
            memcpy(b->io_data + off, &r, 8);
        else
            memcpy(b->io_data + off, &r, (size_t)(b->io_size - off));
    }

    need = b->io_size * (uint64_t)b->clients;
    if (b->io_whole && b->io_size > BENCH_IO_CALL &&
        (need / b->clients != b->io_size ||
         (avail && need > (avail - b->io_size) / 2))) {
        fprintf(stderr, "%s: io: --read-whole: %u x %" PRIu64 " bytes do not "
                "fit in memory\n", prog, b->clients, b->io_size);
        return 1;
    }
    rsize = b->io_whole ? (size_t)b->io_size : BENCH_IO_CALL;
    for (unsigned i = 0; i < b->clients; i++) {
        cl[i].rbuf = malloc(rsize);
        if (!cl[i].rbuf) {
            fprintf(stderr, "%s: io: out of memory\n", prog);
            return 1;
        }
        memset(cl[i].rbuf, 0, rsize);
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench b;
    struct client *cl = NULL;
    const char *namenode = NULL;
    dfs_fs *mainfs = NULL;
    unsigned started = 0;
    int rc, status = 0;
    size_t cap;

    memset(&b, 0, sizeof b);
    rc = bench_parse(&b, argc, argv, &namenode);
    if (rc == 0)
        rc = bench_plan(&b);
    if (rc != 0)
        return rc;

    cl = calloc(b.clients, sizeof *cl);
    if (!cl) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    cap = b.nops > b.lists ? b.nops : b.lists;
    if (b.io)
        cap = (size_t)((b.io_size + BENCH_IO_CALL - 1) / BENCH_IO_CALL) + 1;
    for (unsigned i = 0; i < b.clients; i++) {
        cl[i].b = &b;
        cl[i].id = i;
        snprintf(cl[i].dir, sizeof cl[i].dir, "%s/c%u", b.dir, i);
        cl[i].lat = malloc(cap * sizeof *cl[i].lat);
        cl[i].caplat = cap;
        if (!cl[i].lat) {
            fprintf(stderr, "%s: out of memory\n", prog);
            status = 1;
            goto out_free;
        }
    }
    if (b.io && io_prepare(&b, cl) != 0) {
        status = 1;
        goto out_free;
    }

    if (bench_connect(namenode, cl, b.clients, &mainfs) != 0) {
        status = 1;
        goto out_disconnect;
    }
    rc = dfs_mkdir(mainfs, b.dir, 0755, 1);
    if (rc != DFS_OK) {
        fprintf(stderr, "%s: mkdir: %s: %s\n", prog, b.dir, dfs_errmsg());
        status = 1;
        goto out_disconnect;
    }

    pthread_barrier_init(&b.start, NULL, b.clients + 1);
    pthread_barrier_init(&b.done, NULL, b.clients + 1);
    for (; started < b.clients; started++) {
        rc = pthread_create(&cl[started].tid, NULL, client_main, &cl[started]);
        if (rc != 0) {
            /* The barriers count every client: without all, nobody runs. */
            fprintf(stderr, "%s: pthread_create: %s\n", prog, strerror(rc));
            exit(1);
        }
    }
    for (unsigned p = 0; p < b.nphases; p++) {
        pthread_barrier_wait(&b.start);  /* directories ready */
        pthread_barrier_wait(&b.start);  /* names ready: go */
        pthread_barrier_wait(&b.done);
        if (bench_report(&b, p, cl) != 0) {
            fprintf(stderr, "%s: out of memory\n", prog);
            status = 1;
        }
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(cl[i].tid, NULL);
    pthread_barrier_destroy(&b.start);
    pthread_barrier_destroy(&b.done);
    for (unsigned i = 0; i < b.clients; i++)
        if (cl[i].total_fails)
            status = 1;

    if (!b.keep) {
        rc = dfs_delete(mainfs, b.dir, 1);
        if (rc != DFS_OK && rc != DFS_ERR_NOENT) {
            fprintf(stderr, "%s: delete: %s: %s\n", prog, b.dir, dfs_errmsg());
            status = 1;
        }
    }

out_disconnect:
    for (unsigned i = 0; i < b.clients; i++)
        if (cl[i].fs)
            dfs_disconnect(cl[i].fs);
    if (mainfs)
        dfs_disconnect(mainfs);
out_free:
    for (unsigned i = 0; i < b.clients; i++) {
        free(cl[i].lat);
        free(cl[i].rbuf);
    }
    free(cl);
    free(b.io_data);
    return status;
}
