/*
 * hdfs_err.c - how libhdfs reports a failure: errno, plus a message per
 * thread that hdfsGetLastExceptionRootCause() hands out where Hadoop's
 * libhdfs hands out the root cause of a Java exception.
 *
 * libdfs codes become errno values through dfs_errno() only (one
 * conversion, at this boundary); the message is libdfs's own (dfs_errmsg),
 * which names the path, block or datanode concerned.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hdfs_i.h"

#define HERR_MSG_MAX 1024

/* The thread's last failure: its message and a "stack trace" (the call
 * that failed, then the message).  have == 0: no failure yet. */
static __thread struct {
    int have;
    char msg[HERR_MSG_MAX];
    char trace[HERR_MSG_MAX + 64];
} herr_last;

/* Record "what: detail" as the thread's last failure. */
static void herr_record(const char *what, const char *detail)
{
    /* Messages longer than the buffers are cut short, never overflowed. */
    int n = snprintf(herr_last.msg, sizeof(herr_last.msg), "%s", detail);
    n |= snprintf(herr_last.trace, sizeof(herr_last.trace), "%s\n\tat %s (libhdfs on dfs)",
                  detail, what);
    herr_last.have = n >= 0;
}

/* Record "WHAT: strerror(e)" and fail with errno e. */
static void herr_vfail(int e, const char *fmt, va_list ap)
{
    char what[512];

    vsnprintf(what, sizeof(what), fmt, ap);
    char detail[HERR_MSG_MAX];
    if (snprintf(detail, sizeof(detail), "%s: %s", what, strerror(e)) < 0)
        detail[0] = '\0';
    herr_record(what, detail);
    errno = e;
}

int herr_fail(int e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    herr_vfail(e, fmt, ap);
    va_end(ap);
    return -1;
}

int herr_sys(const char *fmt, ...)
{
    int e = errno ? errno : EIO;
    va_list ap;

    va_start(ap, fmt);
    herr_vfail(e, fmt, ap);
    va_end(ap);
    return -1;
}

int herr_dfs(int code, const char *fmt, ...)
{
    int e;
    char what[512];
    va_list ap;

    if (code < 0)
        code = -code;
    e = code == DFS_OK ? EIO : dfs_errno(code);
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    char detail[HERR_MSG_MAX];
    if (snprintf(detail, sizeof(detail), "%s: %s", what, dfs_errmsg()) < 0)
        detail[0] = '\0';
    herr_record(what, detail);
    errno = e;
    return -1;
}

char *herr_root_cause(void)
{
    return herr_last.have ? herr_last.msg : NULL;
}

char *herr_stack_trace(void)
{
    return herr_last.have ? herr_last.trace : NULL;
}

char *hdfsGetLastExceptionRootCause(void)
{
    return herr_root_cause();
}

char *hdfsGetLastExceptionStackTrace(void)
{
    return herr_stack_trace();
}
