/*
 * main.c - dfs-namenode: command line, configuration, and the ordered
 * start-up and shutdown of its modules.
 *
 *   dfs-namenode [-c FILE] [-o SECTION.KEY=VALUE]... [--print-config]
 *
 * Exit status: 0 after SIGTERM/SIGINT, 1 on a runtime failure (cannot open
 * the metadata, cannot listen), 2 on a usage or configuration error.
 */
#include <errno.h>
#include <inttypes.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "nn.h"
#include "blockmap.h"
#include "clock.h"
#include "dnmanager.h"
#include "nn_monitor.h"
#include "nn_recovery.h"
#include "nn_rpc.h"
#include "placement.h"
#include "xmalloc.h"

/* mkdir -p with mode 0700 for the last component. */
static int make_dirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* ------------------------------------------------------ module table */

static int init_store(struct nn *nn)
{
    char err[512];
    if (make_dirs(nn->conf.nn_meta_dir) != 0) {
        LOG_ERROR("cannot create namenode.meta_dir %s: %s", nn->conf.nn_meta_dir, strerror(errno));
        return -1;
    }
    char dbdir[4200];
    snprintf(dbdir, sizeof(dbdir), "%s/meta.ldb", nn->conf.nn_meta_dir);
    nn->ms = ms_open(dbdir, nn->conf.nn_leveldb_cache_mb, err, sizeof(err));
    if (!nn->ms) {
        LOG_ERROR("cannot open metadata %s: %s", dbdir, err);
        return -1;
    }
    return 0;
}

static void shutdown_store(struct nn *nn)
{
    if (nn->ms)
        ms_close(nn->ms);
}

static int init_namespace(struct nn *nn)
{
    char err[512];
    struct ns_limits lim = {
        .default_replication = nn->conf.nn_replication,
        .max_replication = nn->conf.nn_max_replication,
        .default_block_size = nn->conf.nn_block_size,
        .min_block_size = nn->conf.nn_min_block_size,
    };
    nn->ns = ns_open(nn->ms, &lim, err, sizeof(err));
    if (!nn->ns) {
        LOG_ERROR("cannot load the namespace: %s", err);
        return -1;
    }
    ns_set_cache_limit(nn->ns, (size_t)nn->conf.nn_cache_mb << 20);
    uint64_t files, dirs;
    ns_counts(nn->ns, &files, &dirs);
    LOG_INFO("namespace %s: %llu files, %llu directories", ns_cluster_id(nn->ns),
             (unsigned long long)files, (unsigned long long)dirs);
    return 0;
}

static void shutdown_namespace(struct nn *nn)
{
    if (nn->ns)
        ns_close(nn->ns);
}

static int init_commit(struct nn *nn)
{
    nn->commit = commit_new(nn->base, nn->ms);
    return 0;
}

static void shutdown_commit(struct nn *nn)
{
    commit_free(nn->commit);
}

static int init_placement(struct nn *nn)
{
    char err[512];
    nn->pl = pl_new(nn->conf.nn_topology_file, 0, err, sizeof(err));
    if (!nn->pl) {
        LOG_ERROR("namenode.topology_file: %s", err);
        return -1;
    }
    if (*nn->conf.nn_topology_file)
        LOG_INFO("topology from %s", nn->conf.nn_topology_file);
    return 0;
}

static void shutdown_placement(struct nn *nn)
{
    pl_free(nn->pl);
    nn->pl = NULL;
}

static int init_dnmanager(struct nn *nn)
{
    nn->dm = dm_new(nn->conf.nn_stale_ms, nn->conf.nn_dead_ms, nn_datanode_dead, nn);
    if (dm_start_timer(nn->dm, nn->base, nn->conf.nn_heartbeat_recheck_ms) != 0) {
        LOG_ERROR("cannot start the datanode timer");
        return -1;
    }
    return 0;
}

static void shutdown_dnmanager(struct nn *nn)
{
    dm_free(nn->dm);
    nn->dm = NULL;
}

static int init_blockmap(struct nn *nn)
{
    char err[512];
    uint64_t blocks, under;
    nn->bm = bm_new();
    if (bm_load(nn->bm, nn->ns, err, sizeof(err)) != 0) {
        LOG_ERROR("cannot build the block map: %s", err);
        bm_free(nn->bm);
        nn->bm = NULL;
        return -1;
    }
    ns_set_block_removed(nn->ns, nn_block_removed, nn);
    bm_counts(nn->bm, &blocks, &under, NULL);
    LOG_INFO("block map: %" PRIu64 " blocks", blocks);
    return 0;
}

static void shutdown_blockmap(struct nn *nn)
{
    if (nn->ns)
        ns_set_block_removed(nn->ns, NULL, NULL);
    bm_free(nn->bm);
    nn->bm = NULL;
}


/* Handler modules only register their handlers: nothing to undo. */
static void shutdown_nothing(struct nn *nn)
{
    (void)nn;
}

/* Started in this order, shut down in reverse. */
static const struct module {
    const char *name;
    int (*init)(struct nn *nn);
    void (*shutdown)(struct nn *nn);
} modules[] = {
    { "metastore", init_store, shutdown_store },          /* LevelDB */
    { "namespace", init_namespace, shutdown_namespace },  /* tree, counters */
    { "commit", init_commit, shutdown_commit },           /* group commit thread */
    { "placement", init_placement, shutdown_placement },  /* topology file */
    { "dnmanager", init_dnmanager, shutdown_dnmanager },  /* datanodes, stale/dead timer */
    { "blockmap", init_blockmap, shutdown_blockmap },     /* blocks from the namespace */
    { "monitor", nn_monitor_init, nn_monitor_shutdown },  /* safe mode, replication monitor */
    { "recovery", nn_recovery_init, nn_recovery_shutdown }, /* leases, lease recovery */
    { "clientserv", nn_clientserv_init, shutdown_nothing }, /* namespace calls */
    { "blockserv", nn_blockserv_init, shutdown_nothing },   /* client block calls */
    { "writeserv", nn_writeserv_init, shutdown_nothing },   /* leases, pipelines, append */
    { "dnserv", nn_dnserv_init, shutdown_nothing },         /* datanode calls */
    { "adminserv", nn_adminserv_init, shutdown_nothing },   /* report, safe mode, admin */
    { "fsck", nn_fsck_init, shutdown_nothing },             /* block health */
    { "rpc", nn_rpc_init, nn_rpc_shutdown },              /* RPC port: last */
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct nn *nn = arg;
    LOG_INFO("signal %d: shutting down", (int)sig);
    event_base_loopbreak(nn->base);
}

int main(int argc, char **argv)
{
    struct nn nn;
    memset(&nn, 0, sizeof(nn));
    dfs_daemon_load_config("dfs-namenode", argc, argv, &nn.conf);
    dfs_daemon_log_init("namenode", nn.conf.nn_log_level);
    signal(SIGPIPE, SIG_IGN);

    evthread_use_pthreads();
    nn.base = event_base_new();
    if (!nn.base || event_base_priority_init(nn.base, NN_PRIORITIES) != 0) {
        LOG_ERROR("cannot create the event loop");
        return 1;
    }
    nn.start_ms = dfs_wall_ms();

    size_t started = 0;
    int status = 0;
    for (; started < NMODULES; started++) {
        if (modules[started].init(&nn) != 0) {
            LOG_ERROR("start-up failed in %s", modules[started].name);
            status = 1;
            break;
        }
    }
    struct event *sigterm = evsignal_new(nn.base, SIGTERM, on_signal, &nn);
    struct event *sigint = evsignal_new(nn.base, SIGINT, on_signal, &nn);
    if (status == 0) {
        evsignal_add(sigterm, NULL);
        evsignal_add(sigint, NULL);
        LOG_INFO("namenode ready on %s (pid %ld)", nn.listen_addr, (long)getpid());
        event_base_dispatch(nn.base);
    }
    while (started-- > 0)
        modules[started].shutdown(&nn);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(nn.base);
    dfs_conf_free(&nn.conf);
    LOG_INFO("namenode stopped");
    return status;
}
