/*
 * log.c - level-gated logging (see log.h).
 *
 * The threshold and sink are process-wide and meant to be set once at
 * start-up, before other threads log.  dfs_log_write() formats on the
 * stack and never allocates.  Nothing here prints: the daemons' stderr
 * sink is server/log_sink.c; level names are common/log_level.c (which
 * the configuration table uses without pulling in this file).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* Longest message passed to a sink; longer ones end in "...". */
#define LOG_MSG_MAX 2048

enum dfs_log_level dfs_log_threshold = DFS_LOG_INFO;

static dfs_log_sink log_sink;          /* NULL: discard */
static void *log_sink_arg;

void dfs_log_set_level(enum dfs_log_level level)
{
    dfs_log_threshold = level;
}

void dfs_log_set_sink(dfs_log_sink sink, void *arg)
{
    log_sink = sink;
    log_sink_arg = arg;
}

void dfs_log_write(enum dfs_log_level level, const char *fmt, ...)
{
    char msg[LOG_MSG_MAX];
    dfs_log_sink sink = log_sink;
    va_list ap;

    if (sink == NULL)
        return;
    int saved = errno;   /* callers log errno, then use it */
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        snprintf(msg, sizeof(msg), "(unformattable log message)");
    else if ((size_t)n >= sizeof(msg))
        memcpy(msg + sizeof(msg) - 4, "...", 4);
    sink(level, msg, log_sink_arg);
    errno = saved;
}
