/*
 * path.c - validation and normalisation of dfs paths (see path.h).
 *
 * Normalisation walks the components from the last to the first, counting
 * the ".." still to cancel: a component is kept only when no later ".."
 * cancels it, so the result is built without any intermediate buffer and
 * its length is known before a byte is written.  Every component of the
 * input is validated, including those a ".." removes.
 */
#include <string.h>

#include "path.h"

/* Length of the valid UTF-8 sequence at s (n bytes available), or 0 when
 * it is malformed: a stray continuation byte, an overlong form, a
 * surrogate, a code point above U+10FFFF or a truncated sequence. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;   /* bounds of the second byte */

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0;      /* overlong */
        else if (c == 0xed)
            hi = 0x9f;      /* surrogates D800-DFFF */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;      /* overlong */
        else if (c == 0xf4)
            hi = 0x8f;      /* above U+10FFFF */
    } else {
        return 0;           /* 80-C1 (continuation, overlong), F5-FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* Check n bytes of text: DFS_PATH_OK, BAD_UTF8 or BAD_CHAR (a control
 * byte, or an embedded NUL). */
static enum dfs_path_rc check_text(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;

    for (size_t i = 0; i < n;) {
        if (s[i] < 0x20 || s[i] == 0x7f)
            return DFS_PATH_BAD_CHAR;
        size_t len = utf8_seq_len(s + i, n - i);
        if (len == 0)
            return DFS_PATH_BAD_UTF8;
        i += len;
    }
    return DFS_PATH_OK;
}

static int is_dot(const char *s, size_t n)
{
    return n == 1 && s[0] == '.';
}

static int is_dotdot(const char *s, size_t n)
{
    return n == 2 && s[0] == '.' && s[1] == '.';
}

/* The component ending just before `end` (exclusive) in in[0..end): sets
 * *start and returns its length; 0 when only slashes are left. */
static size_t prev_component(const char *in, size_t end, size_t *start)
{
    while (end > 0 && in[end - 1] == '/')
        end--;
    size_t s = end;
    while (s > 0 && in[s - 1] != '/')
        s--;
    *start = s;
    return end - s;
}

enum dfs_path_rc dfs_path_normalize(const char *in, char *out, size_t outsz)
{
    size_t inlen, start, n, pos, skip, total;
    enum dfs_path_rc rc;

    if (in == NULL || in[0] == '\0')
        return DFS_PATH_EMPTY;
    if (in[0] != '/')
        return DFS_PATH_RELATIVE;
    inlen = strlen(in);
    rc = check_text(in, inlen);
    if (rc != DFS_PATH_OK)
        return rc;

    /* Pass 1: component lengths, ".." balance, length of the result. */
    total = 0;
    skip = 0;
    for (pos = inlen; (n = prev_component(in, pos, &start)) > 0; pos = start) {
        if (n > DFS_NAME_MAX)
            return DFS_PATH_NAME_TOO_LONG;
        if (is_dot(in + start, n))
            continue;
        if (is_dotdot(in + start, n))
            skip++;
        else if (skip > 0)
            skip--;
        else
            total += 1 + n;
    }
    if (skip > 0)
        return DFS_PATH_DOTDOT;
    if (total == 0)
        total = 1;          /* "/" */
    if (total > DFS_PATH_MAX || total >= outsz)
        return DFS_PATH_TOO_LONG;

    /* Pass 2: the same walk, writing the kept components from the end. */
    size_t w = total;
    out[w] = '\0';
    out[0] = '/';
    for (pos = inlen; (n = prev_component(in, pos, &start)) > 0; pos = start) {
        if (is_dot(in + start, n))
            continue;
        if (is_dotdot(in + start, n))
            skip++;
        else if (skip > 0)
            skip--;
        else {
            w -= n;
            memcpy(out + w, in + start, n);
            out[--w] = '/';
        }
    }
    return DFS_PATH_OK;
}

const char *dfs_path_strerror(enum dfs_path_rc rc)
{
    switch (rc) {
    case DFS_PATH_OK:            return "valid path";
    case DFS_PATH_EMPTY:         return "empty path";
    case DFS_PATH_RELATIVE:      return "path is not absolute";
    case DFS_PATH_BAD_UTF8:      return "path is not valid UTF-8";
    case DFS_PATH_BAD_CHAR:      return "path contains a control character";
    case DFS_PATH_TOO_LONG:      return "path is longer than 4096 bytes";
    case DFS_PATH_NAME_TOO_LONG: return "path component is longer than 255 bytes";
    case DFS_PATH_DOTDOT:        return "path goes above the root";
    }
    return "invalid path";
}

int dfs_name_valid(const char *name, size_t len)
{
    if (name == NULL || len == 0 || len > DFS_NAME_MAX)
        return 0;
    if (is_dot(name, len) || is_dotdot(name, len))
        return 0;
    if (memchr(name, '/', len) != NULL)
        return 0;
    return check_text(name, len) == DFS_PATH_OK;
}

int dfs_path_split(const char *path, size_t *parent_len, const char **name)
{
    const char *slash = strrchr(path, '/');

    if (slash == NULL || slash[1] == '\0')
        return -1;
    *parent_len = slash == path ? 1 : (size_t)(slash - path);
    *name = slash + 1;
    return 0;
}

int dfs_path_is_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    if (strncmp(path, dir, n) != 0)
        return 0;
    return path[n] == '\0' || path[n] == '/';
}
