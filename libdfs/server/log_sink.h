/*
 * log_sink.h - the daemons' stderr log sink (server/log_sink.c).  A
 * daemon (or a test tool playing one) installs it with
 * dfs_log_set_sink(dfs_log_stderr_sink, NULL) at start-up.
 */
#ifndef DFS_LOG_SINK_H
#define DFS_LOG_SINK_H

#include "dfs.h"   /* enum dfs_log_level */

/* The component name printed in each line ("namenode", "datanode"; NULL
 * or "": "dfs"; at most 31 bytes kept).  Start-up only. */
void dfs_log_set_component(const char *component);
/* Sink that writes formatted lines to fd 2. */
void dfs_log_stderr_sink(enum dfs_log_level level, const char *msg, void *arg);

#endif
