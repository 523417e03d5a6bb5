/*
 * daemon.h - what dfs-namenode and dfs-datanode share at start-up: the
 * command line and the configuration it selects.
 *
 *   PROG [-c FILE] [-o SECTION.KEY=VALUE]... [--print-config] [-h]
 *
 * The file is -c, else $DFS_CONF, else none (built-in defaults); -o
 * overrides apply after it, in order; the result must pass
 * dfs_conf_check().  Errors print "PROG: message" (naming file, line and
 * key) on stderr and exit 2; -h prints usage and exits 0; --print-config
 * prints the effective configuration and exits 0.
 */
#ifndef DFS_DAEMON_H
#define DFS_DAEMON_H

#include "config.h"

/* Fill *conf from argv as described above, or exit. */
void dfs_daemon_load_config(const char *prog, int argc, char **argv, struct dfs_conf *conf);

/* Route the process's log to stderr as `component`, at the level named by
 * level ("info", ...). */
void dfs_daemon_log_init(const char *component, const char *level);

#endif
