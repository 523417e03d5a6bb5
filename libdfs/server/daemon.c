/*
 * daemon.c - command line and configuration of the daemons (see daemon.h).
 */
#include "daemon.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "log_sink.h"

static void usage(const char *prog, FILE *f)
{
    fprintf(f,
            "Usage: %s [-c FILE] [-o SECTION.KEY=VALUE]... [--print-config]\n"
            "  -c, --config FILE     configuration file (default: $DFS_CONF, else built-in)\n"
            "  -o SECTION.KEY=VALUE  override one configuration key (repeatable)\n"
            "      --print-config    print the effective configuration and exit\n"
            "  -h, --help            this help\n", prog);
}

void dfs_daemon_load_config(const char *prog, int argc, char **argv, struct dfs_conf *conf)
{
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "print-config", no_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *file = getenv("DFS_CONF");
    int print = 0, ch;
    char err[512];

    /* First pass: options; -o values are applied after the file. */
    while ((ch = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c': file = optarg; break;
        case 'o': break;
        case 'P': print = 1; break;
        case 'h': usage(prog, stdout); exit(0);
        default: usage(prog, stderr); exit(2);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", prog, argv[optind]);
        usage(prog, stderr);
        exit(2);
    }
    if (dfs_conf_init(conf) != 0) {
        fprintf(stderr, "%s: out of memory\n", prog);
        exit(1);
    }
    if (file && *file && dfs_conf_load_file(conf, file, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        dfs_conf_free(conf);
        exit(2);
    }
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
        if (ch == 'o' && dfs_conf_set(conf, optarg, err, sizeof(err)) != 0) {
            fprintf(stderr, "%s: -o %s: %s\n", prog, optarg, err);
            dfs_conf_free(conf);
            exit(2);
        }
    }
    if (dfs_conf_check(conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        dfs_conf_free(conf);
        exit(2);
    }
    if (print) {
        dfs_conf_dump(conf, 1);
        dfs_conf_free(conf);
        exit(0);
    }
}

void dfs_daemon_log_init(const char *component, const char *level)
{
    dfs_log_set_component(component);
    dfs_log_set_sink(dfs_log_stderr_sink, NULL);
    int l = dfs_log_level_parse(level);
    dfs_log_set_level(l < 0 ? DFS_LOG_INFO : (enum dfs_log_level)l);
}
