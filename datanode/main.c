/*
 * main.c - dfs-datanode: command line, configuration, and the ordered
 * start-up and shutdown of its modules.
 *
 *   dfs-datanode [-c FILE] [-o SECTION.KEY=VALUE]... [--print-config]
 *
 * Threads: the event loop (transfer server), datanode.io_threads disk
 * threads (io pool), datanode.copy_threads replica copiers, the namenode
 * link (and its replica deleter) and the block scanner.
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 on a runtime failure (cannot open
 * the data dirs, cannot listen), 2 on a usage or configuration error.
 */
#include <event2/thread.h>
#include <malloc.h>
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
#include "iopool.h"
#include "log.h"
#include "scanner.h"
#include "xmalloc.h"

struct dn {
    struct dfs_conf conf;
    struct event_base *base;
    struct bs *bs;
    struct iop *iop;
    struct dn_dataserv *ds;
    struct dn_copy *copy;
    struct dn_nnconn *nc;
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
    dn->bs = bs_open((const char *const *)dirs, n, dn->conf.dn_reserved, err, sizeof(err));
    dn->first_dir = xstrdup(dirs[0]);
    for (size_t i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
    if (!dn->bs) {
        free(dn->first_dir);
        LOG_ERROR("cannot open the block store: %s", err);
        return -1;
    }
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

static int init_dataserv(struct dn *dn)
{
    char err[512];
    struct dn_dataserv_cfg cfg = {
        .address = dn->conf.dn_address,
        .max_buffer = dn->conf.dn_max_buffer,
        .max_conns = dn->conf.dn_max_connections,
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

/* A copy found its source replica corrupt: report it like the scanner
 * does.  On a copy thread; commands only come through the namenode link,
 * so it exists by then. */
static void copy_corrupt_cb(uint64_t id, uint64_t gs, const char *reason, void *arg)
{
    struct dn *dn = arg;
    struct dn_nnconn *nc = __atomic_load_n(&dn->nc, __ATOMIC_ACQUIRE);
    if (nc)
        dn_nnconn_report_bad(nc, id, gs, reason);
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

/* Transfers served plus replicas being copied out. */
static unsigned load_cb(void *arg)
{
    struct dn *dn = arg;
    return dn_dataserv_load(dn->ds) + dn_copy_load(dn->copy);
}

static void replicate_cb(void *arg, uint64_t id, uint64_t gs, uint64_t len,
                         struct Dfs__DatanodeId *const *targets, size_t ntargets)
{
    dn_copy_submit(arg, id, gs, len, targets, ntargets);
}

static void block_added_cb(void *arg, uint64_t id, uint64_t gs, uint64_t len)
{
    dn_nnconn_block_added(arg, id, gs, len);
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
        .bs = dn->bs,
        .load = load_cb,
        .load_arg = dn,
        .replicate = replicate_cb,
        .replicate_arg = dn->copy,
    };
    struct dn_nnconn *nc = dn_nnconn_start(&cfg, err, sizeof(err));
    __atomic_store_n(&dn->nc, nc, __ATOMIC_RELEASE);
    if (!dn->nc) {
        LOG_ERROR("%s", err);
        return -1;
    }
    dn_dataserv_set_reporter(dn->ds, block_added_cb, dn->nc);
    return 0;
}

static void shutdown_nnconn(struct dn *dn)
{
    dn_dataserv_set_reporter(dn->ds, NULL, NULL);
    dn_nnconn_stop(dn->nc);
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
    { "dataserv", init_dataserv, shutdown_dataserv },      /* transfer port */
    { "copy", init_copy, shutdown_copy },                  /* replica copy threads */
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
    if (!dn.base) {
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
    event_free(sigterm);
    event_free(sigint);
    event_base_free(dn.base);
    dfs_conf_free(&dn.conf);
    LOG_INFO("datanode stopped");
    return status;
}
