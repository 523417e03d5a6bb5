/*
 * xmalloc.h - allocation for the daemons: out of memory is fatal there
 * (logged, then abort), so callers need no NULL checks.  The library
 * (client side) never uses these; it returns DFS_ERR_NOMEM instead.
 */
#ifndef DFS_XMALLOC_H
#define DFS_XMALLOC_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static inline void xmalloc_oom(void)
{
    static const char msg[] = "fatal: out of memory\n";
    ssize_t n = write(2, msg, sizeof(msg) - 1);
    (void)n;
    abort();
}

static inline void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        xmalloc_oom();
    return p;
}

static inline void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        xmalloc_oom();
    return p;
}

static inline void *xrealloc(void *old, size_t n)
{
    void *p = realloc(old, n ? n : 1);
    if (!p)
        xmalloc_oom();
    return p;
}

/* Grow array p of *n elements of size sz (doubling, from 8) until index
 * idx fits; the new elements are zeroed.  Returns the array (maybe
 * moved); *n is its new length. */
static inline void *xgrow_index(void *p, size_t *n, size_t sz, size_t idx)
{
    if (idx < *n)
        return p;
    size_t m = *n ? *n : 8;
    while (m <= idx)
        m *= 2;
    p = xrealloc(p, m * sz);
    memset((char *)p + *n * sz, 0, (m - *n) * sz);
    *n = m;
    return p;
}

static inline char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        xmalloc_oom();
    return p;
}

#endif
