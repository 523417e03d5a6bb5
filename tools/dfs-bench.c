/*
 * dfs-bench - namespace (metadata) benchmark of a dfs cluster.
 *
 *   dfs-bench [-n HOST:PORT] OP [-c CLIENTS] [-N OPS_PER_CLIENT] [-d DIR]
 *             [-r LISTS] [--shared] [--keep] [--json]
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

/* What a phase's untimed setup must provide, as bits. */
enum bench_setup {
    SETUP_DIRS = 0x1,   /* every client's directory exists */
    SETUP_FILES = 0x2,  /* every name exists (created unless present) */
    SETUP_RESET = 0x4,  /* every client's directory is emptied first */
};

struct bench;
struct client;

/* One benchmark operation: its name, its unit, and the timed loop run by
 * each client.  run returns the number of operations it counted (names, or
 * directory entries for list). */
struct bench_op {
    const char *name;
    const char *unit;
    unsigned setup;
    uint64_t (*run)(struct client *c);
};

/* The run's configuration, shared read-only by the clients. */
struct bench {
    const char *opname;         /* as given on the command line */
    char dir[BENCH_DIR_MAX];    /* DIR without trailing slashes */
    unsigned clients;
    unsigned long nops;         /* per client */
    unsigned lists;             /* listings per client for "list" */
    int shared, keep, json;

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

/*
 * The operations.  "io" (data throughput: write and read of large files,
 * MB/s) is the next entry to come; it will need its own setup bits (a file
 * size, datanodes) and a run loop over dfs_open_write / dfs_pread.
 */
static const struct bench_op bench_ops[] = {
    { "mkdir",  "ops/s",     SETUP_DIRS,               run_mkdir },
    { "create", "ops/s",     SETUP_DIRS,               run_create },
    { "stat",   "ops/s",     SETUP_DIRS | SETUP_FILES, run_stat },
    { "list",   "entries/s", SETUP_DIRS | SETUP_FILES, run_list },
    { "delete", "ops/s",     SETUP_DIRS | SETUP_FILES, run_delete },
};
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
    rate = (double)count / secs;

    if (b->json) {
        printf("{\"op\":\"%s\",\"clients\":%u,\"shared\":%s,\"ops\":%" PRIu64
               ",\"errors\":%lu,\"seconds\":%.6f,\"rate\":%.1f,\"unit\":\"%s\"",
               op->name, b->clients, b->shared ? "true" : "false", count,
               fails, secs, rate, op->unit);
        if (op->run == run_list)
            printf(",\"lists\":%" PRIu64 ",\"lists_per_s\":%.1f", calls,
                   (double)calls / secs);
        printf(",\"p50_us\":%.1f,\"p99_us\":%.1f}\n", p50, p99);
    } else {
        printf("%-6s clients=%u ", op->name, b->clients);
        if (op->run == run_list)
            printf("lists=%" PRIu64 " entries=%" PRIu64, calls, count);
        else
            printf("ops=%" PRIu64, count);
        if (fails)
            printf(" errors=%lu", fails);
        printf(" seconds=%.3f rate=%.0f %s", secs, rate, op->unit);
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
        "OP: mkdir | create | stat | list | delete | meta\n"
        "  meta          mkdir, create, stat, list, delete on the same names\n"
        "  -n HOST:PORT  namenode (default: $DFS_NAMENODE, $DFS_CONF, 127.0.0.1:8020)\n"
        "  -c CLIENTS    client threads, each with its own connection (default 1)\n"
        "  -N OPS        operations per client (default 1000)\n"
        "  -d DIR        working directory (default /dfs-bench.<pid>)\n"
        "  -r LISTS      full listings per client for list (default 10)\n"
        "  --shared      all clients in DIR (names c<k>-<i>) instead of DIR/c<k>/f<i>\n"
        "  --keep        do not remove DIR at the end\n"
        "  --json        one JSON object per operation\n",
        prog);
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

/* Fill b from the command line; the namenode address into *namenode.
 * Returns 0, or 2 after a usage message. */
static int bench_parse(struct bench *b, int argc, char **argv,
                       const char **namenode)
{
    static const struct option longopts[] = {
        { "shared", no_argument, NULL, 'S' },
        { "keep",   no_argument, NULL, 'K' },
        { "json",   no_argument, NULL, 'J' },
        { "help",   no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    unsigned long v;
    const char *dir = NULL;
    size_t len;
    int ch;

    b->clients = 1;
    b->nops = 1000;
    b->lists = 10;
    while ((ch = getopt_long(argc, argv, "n:c:N:d:r:h", longopts, NULL)) != -1) {
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
            break;
        case 'r':
            if (parse_ulong(optarg, 1, 1000000, &v) != 0)
                goto bad_value;
            b->lists = (unsigned)v;
            break;
        case 'd':
            dir = optarg;
            break;
        case 'S': b->shared = 1; break;
        case 'K': b->keep = 1; break;
        case 'J': b->json = 1; break;
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
    for (unsigned i = 0; i < b.clients; i++)
        free(cl[i].lat);
    free(cl);
    return status;
}
