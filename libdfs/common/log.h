/*
 * log.h - level-gated logging for the library and the daemons.
 *
 * DFS_LOG(level, fmt, ...) evaluates its arguments only when `level` passes
 * the current threshold.  Output goes to the installed sink: by default
 * none, which discards everything (a library never prints); daemons
 * install dfs_log_stderr_sink of server/log_sink.h.
 */
#ifndef DFS_LOG_H
#define DFS_LOG_H

#include "dfs.h"   /* enum dfs_log_level */

typedef void (*dfs_log_sink)(enum dfs_log_level level, const char *msg, void *arg);

/* Process-wide logger of a daemon, or of the library's internal messages
 * when no per-handle function is installed. */
extern enum dfs_log_level dfs_log_threshold;

/* The set_* calls are meant for start-up, before other threads log. */
void dfs_log_set_level(enum dfs_log_level level);
/* Parse "error", "warn", "info", "debug" (any case); -1 when unknown. */
int dfs_log_level_parse(const char *s);
/* "error", "warn", "info", "debug"; "unknown" for anything else. */
const char *dfs_log_level_name(enum dfs_log_level level);
/* Install a sink (NULL: discard). */
void dfs_log_set_sink(dfs_log_sink sink, void *arg);

/* Format a message (at most 2047 bytes; a longer one is cut and ends in
 * "...") and hand it to the sink.  Does not filter by level (DFS_LOG does)
 * and preserves errno.  Never allocates. */
void dfs_log_write(enum dfs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define DFS_LOG(level, ...) do { \
        if ((level) <= dfs_log_threshold) dfs_log_write((level), __VA_ARGS__); \
    } while (0)
#define LOG_ERROR(...) DFS_LOG(DFS_LOG_ERROR, __VA_ARGS__)
#define LOG_WARN(...)  DFS_LOG(DFS_LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...)  DFS_LOG(DFS_LOG_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) DFS_LOG(DFS_LOG_DEBUG, __VA_ARGS__)

#endif
