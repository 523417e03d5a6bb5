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
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "nn.h"
#include "xmalloc.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: dfs-namenode [-c FILE] [-o SECTION.KEY=VALUE]... [--print-config]\n"
            "  -c, --config FILE     configuration file (default: $DFS_CONF, else built-in)\n"
            "  -o SECTION.KEY=VALUE  override one configuration key (repeatable)\n"
            "      --print-config    print the effective configuration and exit\n"
            "  -h, --help            this help\n");
}

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

/* Started in this order, shut down in reverse. */
static const struct module {
    const char *name;
    int (*init)(struct nn *nn);
    void (*shutdown)(struct nn *nn);
} modules[] = {
    { "metastore", init_store, shutdown_store },          /* LevelDB */
    { "namespace", init_namespace, shutdown_namespace },  /* tree, counters */
    { "commit", init_commit, shutdown_commit },           /* group commit thread */
    { "clientserv", nn_clientserv_init, nn_clientserv_shutdown }, /* RPC port */
};
#define NMODULES (sizeof(modules) / sizeof(modules[0]))

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    struct nn *nn = arg;
    LOG_INFO("signal %d: shutting down", (int)sig);
    event_base_loopbreak(nn->base);
}

/* Parse the command line and load the configuration; exits 2 on errors. */
static void load_config(struct nn *nn, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "print-config", no_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *file = getenv("DFS_CONF");
    char **overrides = xcalloc((size_t)argc, sizeof(char *));
    int noverrides = 0, print = 0, ch;
    char err[512];

    while ((ch = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': file = optarg; break;
        case 'o': overrides[noverrides++] = optarg; break;
        case 'P': print = 1; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dfs-namenode: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(2);
    }
    if (dfs_conf_init(&nn->conf) != 0) {
        fprintf(stderr, "dfs-namenode: out of memory\n");
        exit(1);
    }
    if (file && *file && dfs_conf_load_file(&nn->conf, file, err, sizeof(err)) != 0) {
        fprintf(stderr, "dfs-namenode: %s\n", err);
        exit(2);
    }
    for (int i = 0; i < noverrides; i++) {
        if (dfs_conf_set(&nn->conf, overrides[i], err, sizeof(err)) != 0) {
            fprintf(stderr, "dfs-namenode: -o %s: %s\n", overrides[i], err);
            exit(2);
        }
    }
    free(overrides);
    if (dfs_conf_check(&nn->conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "dfs-namenode: %s\n", err);
        exit(2);
    }
    if (print) {
        dfs_conf_dump(&nn->conf, 1);
        exit(0);
    }
}

int main(int argc, char **argv)
{
    struct nn nn;
    memset(&nn, 0, sizeof(nn));
    load_config(&nn, argc, argv);

    dfs_log_set_component("namenode");
    dfs_log_set_sink(dfs_log_stderr_sink, NULL);
    dfs_log_set_level((enum dfs_log_level)dfs_log_level_parse(nn.conf.nn_log_level));
    signal(SIGPIPE, SIG_IGN);

    evthread_use_pthreads();
    nn.base = event_base_new();
    if (!nn.base || event_base_priority_init(nn.base, NN_PRIORITIES) != 0) {
        LOG_ERROR("cannot create the event loop");
        return 1;
    }
    nn.start_ms = nn_now_ms();

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
