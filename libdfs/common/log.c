/*
 * log.c - level-gated logging (see log.h).
 *
 * The threshold, sink and component are process-wide and meant to be set
 * once at start-up, before other threads log.  dfs_log_write() formats on
 * the stack and never allocates; the stderr sink writes each line with one
 * write(2), so lines of concurrent threads never interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Longest message passed to a sink; longer ones end in "...". */
#define LOG_MSG_MAX 2048
#define LOG_COMPONENT_MAX 32

enum dfs_log_level dfs_log_threshold = DFS_LOG_INFO;

static dfs_log_sink log_sink;          /* NULL: discard */
static void *log_sink_arg;
static char log_component[LOG_COMPONENT_MAX] = "dfs";

static const char *const level_names[] = {
    [DFS_LOG_ERROR] = "error",
    [DFS_LOG_WARN]  = "warn",
    [DFS_LOG_INFO]  = "info",
    [DFS_LOG_DEBUG] = "debug",
};

/* As printed in a log line: upper case, padded to one width. */
static const char *const level_tags[] = {
    [DFS_LOG_ERROR] = "ERROR",
    [DFS_LOG_WARN]  = "WARN ",
    [DFS_LOG_INFO]  = "INFO ",
    [DFS_LOG_DEBUG] = "DEBUG",
};

#define NLEVELS (sizeof(level_names) / sizeof(level_names[0]))

void dfs_log_set_level(enum dfs_log_level level)
{
    dfs_log_threshold = level;
}

int dfs_log_level_parse(const char *s)
{
    if (s == NULL)
        return -1;
    for (size_t i = 0; i < NLEVELS; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *dfs_log_level_name(enum dfs_log_level level)
{
    if ((unsigned)level >= NLEVELS)
        return "unknown";
    return level_names[level];
}

void dfs_log_set_sink(dfs_log_sink sink, void *arg)
{
    log_sink = sink;
    log_sink_arg = arg;
}

void dfs_log_set_component(const char *component)
{
    snprintf(log_component, sizeof(log_component), "%s",
             component != NULL && component[0] != '\0' ? component : "dfs");
}

void dfs_log_stderr_sink(enum dfs_log_level level, const char *msg, void *arg)
{
    char line[LOG_MSG_MAX + LOG_COMPONENT_MAX + 64];
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s: ",
                          ts.tv_nsec / 1000000L,
                          (unsigned)level < NLEVELS ? level_tags[level] : "?????",
                          log_component);
    /* One event, one line: embedded line breaks and control bytes become
     * spaces; the room for the newline is always kept. */
    for (const char *p = msg; *p != '\0' && n < sizeof(line) - 1; p++) {
        unsigned char ch = (unsigned char)*p;
        line[n++] = (ch < 0x20 && ch != '\t') || ch == 0x7f ? ' ' : (char)ch;
    }
    line[n++] = '\n';

    int saved = errno;
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(STDERR_FILENO, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    errno = saved;
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
