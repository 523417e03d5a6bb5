/*
 * log_sink.c - the daemons' log sink: one line per event on stderr,
 *
 *   2026-11-21T15:20:01.123Z INFO  namenode: message
 *
 * written with one write(2), so lines of concurrent threads never
 * interleave.  Daemons only: the client library never prints.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "log_sink.h"

#define LOG_LINE_MSG_MAX 2048  /* as dfs_log_write() hands over at most */
#define LOG_COMPONENT_MAX 32

static char log_component[LOG_COMPONENT_MAX] = "dfs";

/* As printed in a log line: upper case, padded to one width. */
static const char *const level_tags[] = {
    [DFS_LOG_ERROR] = "ERROR",
    [DFS_LOG_WARN]  = "WARN ",
    [DFS_LOG_INFO]  = "INFO ",
    [DFS_LOG_DEBUG] = "DEBUG",
};

#define NTAGS (sizeof(level_tags) / sizeof(level_tags[0]))

void dfs_log_set_component(const char *component)
{
    snprintf(log_component, sizeof(log_component), "%s",
             component != NULL && component[0] != '\0' ? component : "dfs");
}

void dfs_log_stderr_sink(enum dfs_log_level level, const char *msg, void *arg)
{
    char line[LOG_LINE_MSG_MAX + LOG_COMPONENT_MAX + 64];
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ %s %s: ",
                          ts.tv_nsec / 1000000L,
                          (unsigned)level < NTAGS ? level_tags[level] : "?????",
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
