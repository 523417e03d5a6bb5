/*
 * strutil.h - small string helpers shared by every part of dfs.
 */
#ifndef DFS_STRUTIL_H
#define DFS_STRUTIL_H

#include <stddef.h>
#include <string.h>

/* Copy src (NULL reads as "") into dst[dstsz], truncating, always
 * NUL-terminated (nothing when dstsz is 0).  Not snprintf: it runs
 * several times per namenode request, where the format machinery cost
 * more than the copy. */
static inline void dfs_copy_str(char *dst, size_t dstsz, const char *src)
{
    if (dstsz == 0)
        return;
    if (src == NULL)
        src = "";
    size_t n = strnlen(src, dstsz - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

#endif
