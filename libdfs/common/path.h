/*
 * path.h - validation and normalisation of dfs paths.
 *
 * A valid path is absolute, valid UTF-8 (no overlong form, surrogate or
 * code point above U+10FFFF) with no NUL and no control byte 0x01-0x1f or
 * 0x7f, at most DFS_PATH_MAX bytes after normalisation, with no component
 * longer than DFS_NAME_MAX bytes.  Every component of the input is checked,
 * even one that a later ".." removes.  Normalisation collapses
 * repeated slashes, drops a trailing slash and "." components, and resolves
 * ".." lexically ("/a/../b" -> "/b"); ".." above the root is an error.
 * The result has no empty, "." or ".." component; "/" is the root.
 */
#ifndef DFS_PATH_H
#define DFS_PATH_H

#include <stddef.h>

#define DFS_PATH_MAX 4096
#define DFS_NAME_MAX 255

/* Why a path was refused. */
enum dfs_path_rc {
    DFS_PATH_OK = 0,
    DFS_PATH_EMPTY = -1,         /* "" */
    DFS_PATH_RELATIVE = -2,      /* does not start with '/' */
    DFS_PATH_BAD_UTF8 = -3,
    DFS_PATH_BAD_CHAR = -4,      /* control character */
    DFS_PATH_TOO_LONG = -5,      /* > DFS_PATH_MAX */
    DFS_PATH_NAME_TOO_LONG = -6, /* a component > DFS_NAME_MAX */
    DFS_PATH_DOTDOT = -7         /* ".." above the root */
};

/* Normalise `in` into out (capacity outsz, DFS_PATH_MAX + 1 always enough;
 * a result that does not fit a smaller out is DFS_PATH_TOO_LONG).  in and
 * out must not overlap.  Returns DFS_PATH_OK or the reason it is invalid;
 * out is undefined then.  in NULL counts as empty. */
enum dfs_path_rc dfs_path_normalize(const char *in, char *out, size_t outsz);
/* Human text for a dfs_path_rc ("path is not absolute"). */
const char *dfs_path_strerror(enum dfs_path_rc rc);
/* 1 when the len bytes at name are a valid single component (non-empty,
 * not "." or "..", no '/', no NUL, valid UTF-8, no control byte,
 * <= DFS_NAME_MAX bytes), else 0. */
int dfs_name_valid(const char *name, size_t len);
/* Split a normalised path into parent and last component, in place-free
 * form: *parent_len is the length of the parent prefix ("/" -> 1 for
 * "/a"), *name points into path.  path "/" has no name: returns -1. */
int dfs_path_split(const char *path, size_t *parent_len, const char **name);
/* 1 when `path` equals `dir` or lies beneath it (both normalised). */
int dfs_path_is_under(const char *path, const char *dir);

#endif
