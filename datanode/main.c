/*
 * main.c - dfs-datanode: command line, configuration, and the ordered
 * start-up and shutdown of its modules.
 *
 *   dfs-datanode [-c FILE] [-o SECTION.KEY=VALUE]... [--print-config]
 *
 * Threads: the event loop (transfer server, short-circuit socket), datanode.io_threads disk
 * threads (io pool, which also runs the periodic data dir probe),
 * datanode.copy_threads replica copiers, DN_RECOVERY_THREADS block
 * recovery threads (CMD_RECOVER), the namenode link (and its replica
 * deleter) and the block scanner.
 *
 * Failed data dirs (blockstore.h): a datanode with more than
 * datanode.failed_volumes_tolerated failed dirs, or with none left, does
 * not start, or shuts down when the failure comes later (exit status 1).
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 on a runtime failure (cannot open
 * the data dirs, too many failed dirs, cannot listen), 2 on a usage or
 * configuration error.
 */
#include <event2/thread.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blockstore.h"
#include "config.h"
#include "daemon.h"
#include "dn_copy.h"
#include "dn_dataserv.h"
#include "dn_nnconn.h"
#include "dn_recovery.h"
#include "dn_shortcircuit.h"
#include "iopool.h"
#include "log.h"
#include "scanner.h"
#include "xmalloc.h"

struct dn {
    struct dfs_conf conf;
    struct event_base *base;
    struct event *fatal_ev;         /* activated (any thread) to stop with status 1 */
    int fatal;                      /* atomic */
    struct bs *bs;
    struct iop *iop;
    struct iop_strand *check_strand;
    struct event *check_timer;
    unsigned check_ticks;           /* timer ticks since the running check began */
    struct dn_dataserv *ds;
    struct dn_sc *sc;               /* NULL: datanode.domain_socket empty */
    struct dn_copy *copy;
    struct dn_recovery *recovery;
    struct dn_nnconn *nc;           /* set and cleared under nc_lock: copy and */
    pthread_mutex_t nc_lock;        /* recovery threads report through it */
    struct scanner *scan;
    char *first_dir;              /* the first data dir: scanner.cursor */
};

/* ------------------------------------------------------ module table */

/* Split the comma-separated datanode.data_dirs (blanks around names
 * trimmed, empty names skipped) into a NULL-terminated array. */
static char **split_dirs(const char *list, size_t *n)
{
    char *copy = xstrdup(list);
    char **v = xcalloc(strlen(list) / 2 + 2, sizeof(char *));
    *n = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ' || *t == '\t')
            t++;
        char *e = t + strlen(t);
        while (e > t && (e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (*t)
            v[(*n)++] = xstrdup(t);
    }
    free(copy);
    return v;
}

/* 1 (logged) when nfailed of ndirs failed dirs are more than the datanode
 * may live with. */
static int too_many_failed(const struct dn *dn, size_t nfailed, size_t ndirs, const char *then)
{
    if (nfailed <= dn->conf.dn_failed_volumes_tolerated && nfailed < ndirs)
        return 0;
    if (nfailed == ndirs)
        LOG_ERROR("every data dir failed (%zu of %zu): %s", nfailed, ndirs, then);
    else
        LOG_ERROR("too many failed data dirs: %zu failed, %u tolerated "
                  "(datanode.failed_volumes_tolerated): %s", nfailed,
                  dn->conf.dn_failed_volumes_tolerated, then);
    return 1;
}

/* A data dir failed (any thread; the store has logged it and reported its
 * replicas lost): shut down when too many have. */
static void dir_failed_cb(void *arg, const char *dir, int err, size_t nfailed, size_t ndirs)
{
    struct dn *dn = arg;
    (void)dir;
    (void)err;
    if (too_many_failed(dn, nfailed, ndirs, "shutting down") &&
        !__atomic_exchange_n(&dn->fatal, 1, __ATOMIC_ACQ_REL))
        event_active(dn->fatal_ev, EV_READ, 0);
}

static void on_fatal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(((struct dn *)arg)->base);
}

static int init_store(struct dn *dn)
{
    char err[1024];
    size_t n;
    char **dirs = split_dirs(dn->conf.dn_data_dirs, &n);
    if (n == 0) {
        LOG_ERROR("datanode.data_dirs: no directory given");
        free(dirs);
        return -1;
    }
    dn->bs = bs_open_tolerant((const char *const *)dirs, n, dn->conf.dn_reserved, err,
                              sizeof(err));
    char *first = xstrdup(dirs[0]);
    for (size_t i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
    if (!dn->bs) {
        free(first);
        LOG_ERROR("cannot open the block store: %s", err);
        return -1;
    }
    size_t ndirs, nfailed = bs_failed_dirs(dn->bs, &ndirs);
    if (too_many_failed(dn, nfailed, ndirs, "not starting")) {
        free(first);
        bs_close(dn->bs);
        dn->bs = NULL;
        return -1;
    }
    dn->first_dir = first;
    if (nfailed)
        LOG_WARN("starting with %zu of %zu data dirs failed (%u tolerated)", nfailed, ndirs,
                 dn->conf.dn_failed_volumes_tolerated);
    bs_on_dir_failed(dn->bs, dir_failed_cb, dn);
    return 0;
}

static void shutdown_store(struct dn *dn)
{
    bs_close(dn->bs);
    free(dn->first_dir);
}

static int init_iopool(struct dn *dn)
{
    char err[256];
    dn->iop = iop_new(dn->base, dn->conf.dn_io_threads, err, sizeof(err));
    if (!dn->iop) {
        LOG_ERROR("%s", err);
        return -1;
    }
    return 0;
}

static void shutdown_iopool(struct dn *dn)
{
    iop_free(dn->iop);
}

/* The periodic data dir probe, on the io pool (one at a time: a probe
 * stuck on a hung disk is not stacked up). */
struct dn_check_job {
    struct iop_job ij;              /* first: the pool hands this back */
    struct bs *bs;
};

static void check_run(struct iop_job *j)
{
    bs_check_dirs(((struct dn_check_job *)j)->bs);
}

static void check_done(struct iop_job *j)
{
    free(j);
}

static void on_check_timer(evutil_socket_t fd, short what, void *arg)
{
    struct dn *dn = arg;
    (void)fd;
    (void)what;
    if (iop_strand_pending(dn->check_strand) > 0) {
        dn->check_ticks++;
        LOG_WARN("data dir check running for over %llu ms (a hung disk?)",
                 (unsigned long long)dn->check_ticks * dn->conf.dn_volume_check_ms);
        return;
    }
    dn->check_ticks = 0;
    struct dn_check_job *j = xcalloc(1, sizeof(*j));
    j->ij.run = check_run;
    j->ij.done = check_done;
    j->bs = dn->bs;
    iop_submit(dn->check_strand, &j->ij);
}

static int init_volcheck(struct dn *dn)
{
    uint32_t ms = dn->conf.dn_volume_check_ms;
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    dn->check_strand = iop_strand_new(dn->iop);
    dn->check_timer = event_new(dn->base, -1, EV_PERSIST, on_check_timer, dn);
    if (!dn->check_timer || event_add(dn->check_timer, &tv) != 0) {
        LOG_ERROR("cannot start the data dir check timer");
        return -1;
    }
    return 0;
}

static void shutdown_volcheck(struct dn *dn)
{
    if (dn->check_timer)
        event_free(dn->check_timer);
    iop_drain(dn->iop);
    iop_strand_free(dn->check_strand);
}

static int init_dataserv(struct dn *dn)
{
    char err[512];
    struct dn_dataserv_cfg cfg = {
        .address = dn->conf.dn_address,
        .max_buffer = dn->conf.dn_max_buffer,
        .max_conns = dn->conf.dn_max_connections,
        .ack_timeout_ms = dn->conf.dn_ack_timeout_ms,
        .bs = dn->bs,
        .iop = dn->iop,
    };
    dn->ds = dn_dataserv_new(dn->base, &cfg, err, sizeof(err));
    if (!dn->ds) {
        LOG_ERROR("%s", err);
        return -1;
    }
    LOG_INFO("serving block transfers on %s:%u", dn_dataserv_host(dn->ds),
             dn_dataserv_port(dn->ds));
    return 0;
}

static void shutdown_dataserv(struct dn *dn)
{
    dn_dataserv_free(dn->ds);
}

/* The store changed or removed a finalized replica: the descriptors passed
 * out for it must not be read any more. */
static void replica_changed_cb(void *arg, uint64_t id)
{
    dn_sc_invalidate(arg, id);
}

static int init_shortcircuit(struct dn *dn)
{
    char err[512];
    const char *path = dn->conf.dn_domain_socket;
    if (!path || !*path)
        return 0;
    dn->sc = dn_sc_new(dn->base, path, dn->bs, dn->iop, err, sizeof(err));
    if (!dn->sc) {
        LOG_ERROR("%s", err);
        return -1;
    }
    bs_on_replica_changed(dn->bs, replica_changed_cb, dn->sc);
    LOG_INFO("serving short-circuit reads on %s", path);
    return 0;
}

static void shutdown_shortcircuit(struct dn *dn)
{
    if (!dn->sc)
        return;
    bs_on_replica_changed(dn->bs, NULL, NULL);
    dn_sc_free(dn->sc);
    dn->sc = NULL;
}

/* A copy found its source replica corrupt: report it like the scanner
 * does.  On a copy thread; commands only come through the namenode link,
 * so it exists by then. */
static void copy_corrupt_cb(uint64_t id, uint64_t gs, const char *reason, void *arg)
{
    struct dn *dn = arg;
    /* Under the lock: the link may be stopping (it is stopped before the
     * copy threads, which need it to exist when they start). */
    pthread_mutex_lock(&dn->nc_lock);
    if (dn->nc)
        dn_nnconn_report_bad(dn->nc, id, gs, reason);
    pthread_mutex_unlock(&dn->nc_lock);
}

static int init_copy(struct dn *dn)
{
    char err[256];
    struct dn_copy_cfg cfg = {
        .bs = dn->bs,
        .threads = dn->conf.dn_copy_threads,
        .on_corrupt = copy_corrupt_cb,
        .corrupt_arg = dn,
    };
    dn->copy = dn_copy_start(&cfg, err, sizeof(err));
    if (!dn->copy) {
        LOG_ERROR("%s", err);
        return -1;
    }
    return 0;
}

static void shutdown_copy(struct dn *dn)
{
    dn_copy_stop(dn->copy);
}

/* Block recoveries led at once: each one waits on the network, not the
 * disk; two let one stuck on a silent target not hold up the next. */
#define DN_RECOVERY_THREADS 2

/* A recovery this datanode led is done: the namenode link commits it.  On
 * a recovery thread; while the link is stopping, the commit is dropped
 * (the namenode starts the recovery again after its timeout). */
static void recovery_commit_cb(void *arg, uint64_t id, uint64_t gs, uint64_t len,
                               const char *const *storage_ids, size_t n)
{
    struct dn *dn = arg;
    pthread_mutex_lock(&dn->nc_lock);
    if (dn->nc)
        dn_nnconn_commit_sync(dn->nc, id, gs, len, storage_ids, n);
    else
        LOG_INFO("recovery of blk_%llu not committed: the datanode is stopping",
                 (unsigned long long)id);
    pthread_mutex_unlock(&dn->nc_lock);
}

static int init_recovery(struct dn *dn)
{
    char err[256];
    struct dn_recovery_cfg cfg = {
        .threads = DN_RECOVERY_THREADS,
        .commit = recovery_commit_cb,
        .commit_arg = dn,
    };
    dn->recovery = dn_recovery_start(&cfg, err, sizeof(err));
    if (!dn->recovery) {
        LOG_ERROR("%s", err);
        return -1;
    }
    return 0;
}

static void shutdown_recovery(struct dn *dn)
{
    dn_recovery_stop(dn->recovery);
}

/* Transfers served plus replicas being copied out. */
static unsigned load_cb(void *arg)
{
    struct dn *dn = arg;
    return dn_dataserv_load(dn->ds) + dn_copy_load(dn->copy);
}

/* Bytes read through short-circuit descriptors, for heartbeats. */
static uint64_t sc_bytes_cb(void *arg)
{
    return dn_sc_bytes_read(((struct dn *)arg)->sc);
}

/* Replica fsyncs done for hsync, for heartbeats. */
static uint64_t fsyncs_cb(void *arg)
{
    struct dn *dn = arg;
    return dn_dataserv_fsyncs(dn->ds);
}

/* Block bytes read by clients here and elsewhere, for heartbeats. */
static void bytes_read_cb(void *arg, uint64_t *local, uint64_t *remote)
{
    struct dn *dn = arg;
    dn_dataserv_bytes_read(dn->ds, local, remote);
}

static void replicate_cb(void *arg, uint64_t id, uint64_t gs, uint64_t len,
                         struct Dfs__DatanodeId *const *targets, size_t ntargets)
{
    dn_copy_submit(arg, id, gs, len, targets, ntargets);
}

static void recover_cb(void *arg, uint64_t id, uint64_t gs, uint64_t min_gs,
                       struct Dfs__DatanodeId *const *targets, size_t ntargets)
{
    dn_recovery_submit(arg, id, gs, min_gs, targets, ntargets);
}

static void block_added_cb(void *arg, uint64_t id, uint64_t gs, uint64_t len)
{
    dn_nnconn_block_added(arg, id, gs, len);
}

/* A replica left the store with its failed dir: the namenode copies it
 * from elsewhere. */
static void replica_lost_cb(void *arg, uint64_t id, uint64_t gs, uint64_t len)
{
    dn_nnconn_block_removed(arg, id, gs, len);
}

static int init_nnconn(struct dn *dn)
{
    char host[256], err[256];
    unsigned port;
    if (dfs_parse_hostport(dn->conf.dn_namenode, host, sizeof(host), &port) != 0) {
        LOG_ERROR("datanode.namenode: invalid address '%s'", dn->conf.dn_namenode);
        return -1;
    }
    unsigned http_port = 0;
    if (dn->conf.dn_http_address && *dn->conf.dn_http_address)
        dfs_parse_hostport(dn->conf.dn_http_address, NULL, 0, &http_port);
    struct dn_nnconn_cfg cfg = {
        .nn_host = host,
        .nn_port = port,
        .dn_host = dn_dataserv_host(dn->ds),
        .dn_port = dn_dataserv_port(dn->ds),
        .http_port = http_port,
        .heartbeat_ms = dn->conf.dn_heartbeat_ms,
        .report_split = dn->conf.dn_block_report_split,
        .bs = dn->bs,
        .load = load_cb,
        .load_arg = dn,
        .fsyncs = fsyncs_cb,
        .fsyncs_arg = dn,
        .domain_socket = dn->sc ? dn->conf.dn_domain_socket : NULL,
        .sc_bytes = dn->sc ? sc_bytes_cb : NULL,
        .sc_bytes_arg = dn,
        .bytes_read = bytes_read_cb,
        .bytes_read_arg = dn,
        .replicate = replicate_cb,
        .replicate_arg = dn->copy,
        .recover = recover_cb,
        .recover_arg = dn->recovery,
    };
    struct dn_nnconn *nc = dn_nnconn_start(&cfg, err, sizeof(err));
    pthread_mutex_lock(&dn->nc_lock);
    dn->nc = nc;
    pthread_mutex_unlock(&dn->nc_lock);
    if (!dn->nc) {
        LOG_ERROR("%s", err);
        return -1;
    }
    dn_dataserv_set_reporter(dn->ds, block_added_cb, dn->nc);
    bs_on_replica_lost(dn->bs, replica_lost_cb, dn->nc);
    return 0;
}

static void shutdown_nnconn(struct dn *dn)
{
    bs_on_replica_lost(dn->bs, NULL, NULL);
    dn_dataserv_set_reporter(dn->ds, NULL, NULL);
    pthread_mutex_lock(&dn->nc_lock);
    struct dn_nnconn *nc = dn->nc;
    dn->nc = NULL;
    pthread_mutex_unlock(&dn->nc_lock);
    dn_nnconn_stop(nc);
}

static void report_bad_cb(void *arg, uint64_t id, uint64_t gs, const char *reason)
{
    dn_nnconn_report_bad(arg, id, gs, reason);
}

static int init_scanner(struct dn *dn)
{
    char path[4096], err[256];
    if (dn->conf.dn_scan_period_s == 0) {
        LOG_INFO("block scanner off (datanode.scan_period_s = 0)");
        return 0;
    }
    snprintf(path, sizeof(path), "%s/scanner.cursor", dn->first_dir);
    struct scan_cfg cfg = {
        .bs = dn->bs,
        .cursor_path = path,
        .period_s = dn->conf.dn_scan_period_s,
        .bytes_per_s = dn->conf.dn_scan_bytes_per_s,
        .report_bad = report_bad_cb,
        .report_arg = dn->nc,
    };
    dn->scan = scan_start(&cfg, err, sizeof(err));
    if (!dn->scan) {
        LOG_ERROR("%s", err);
        return -1;
    }
    return 0;
}

static void shutdown_scanner(struct dn *dn)
{
    scan_stop(dn->scan);
}

/* Started in this order, shut down in reverse. */
static const struct module {
    const char *name;
    int (*init)(struct dn *dn);
    void (*shutdown)(struct dn *dn);
} modules[] = {
    { "blockstore", init_store, shutdown_store },          /* data dirs, replica map */
    { "iopool", init_iopool, shutdown_iopool },            /* disk threads */
    { "volcheck", init_volcheck, shutdown_volcheck },      /* data dir probe timer */
    { "dataserv", init_dataserv, shutdown_dataserv },      /* transfer port */
    { "shortcircuit", init_shortcircuit, shutdown_shortcircuit }, /* domain socket */
    { "copy", init_copy, shutdown_copy },                  /* replica copy threads */
    { "recovery", init_recovery, shutdown_recovery },      /* block recovery threads */
    { "nnconn", init_nnconn, shutdown_nnconn },            /* namenode link thread */
    { "scanner", init_scanner, shutdown_scanner },         /* block scanner thread */
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct dn *dn = arg;
    LOG_INFO("signal %d: shutting down", (int)sig);
    event_base_loopbreak(dn->base);
}

int main(int argc, char **argv)
{
    struct dn dn;
    memset(&dn, 0, sizeof(dn));
    pthread_mutex_init(&dn.nc_lock, NULL);
    dfs_daemon_load_config("dfs-datanode", argc, argv, &dn.conf);
    dfs_daemon_log_init("datanode", dn.conf.dn_log_level);
    signal(SIGPIPE, SIG_IGN);
    /* Packet buffers (up to 8 MiB) come and go at line rate: keep them in
     * the heap rather than mmap/munmap each one (page faults, zeroing). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);

    /* Before the base exists: io threads wake the loop with event_active. */
    evthread_use_pthreads();
    dn.base = event_base_new();
    if (!dn.base || !(dn.fatal_ev = event_new(dn.base, -1, 0, on_fatal, &dn))) {
        LOG_ERROR("cannot create the event loop");
        return 1;
    }

    size_t started = 0;
    int status = 0;
    for (; started < NMODULES; started++) {
        if (modules[started].init(&dn) != 0) {
            LOG_ERROR("start-up failed in %s", modules[started].name);
            status = 1;
            break;
        }
    }
    struct event *sigterm = evsignal_new(dn.base, SIGTERM, on_signal, &dn);
    struct event *sigint = evsignal_new(dn.base, SIGINT, on_signal, &dn);
    if (status == 0) {
        evsignal_add(sigterm, NULL);
        evsignal_add(sigint, NULL);
        LOG_INFO("datanode ready on %s:%u (pid %ld)", dn_dataserv_host(dn.ds),
                 dn_dataserv_port(dn.ds), (long)getpid());
        event_base_dispatch(dn.base);
    }
    while (started-- > 0)
        modules[started].shutdown(&dn);
    if (__atomic_load_n(&dn.fatal, __ATOMIC_ACQUIRE))
        status = 1;
    event_free(sigterm);
    event_free(sigint);
    event_free(dn.fatal_ev);
    event_base_free(dn.base);
    dfs_conf_free(&dn.conf);
    LOG_INFO("datanode stopped%s", status ? " (exit status 1)" : "");
    return status;
}
