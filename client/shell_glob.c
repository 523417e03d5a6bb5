/*
 * shell_glob.c - wildcards in dfs path operands, as `hdfs dfs` expands
 * them: `*`, `?`, `[...]` (fnmatch(3)) within one path component, and
 * `{a,b}` alternatives (nested, and across slashes).  A backslash quotes
 * the next character.
 *
 * A pattern is first split into its brace alternatives; each alternative
 * is then matched one component at a time against directory listings, so
 * only the directories on the way are listed.  Names starting with '.'
 * match only a pattern component starting with '.' (as in sh(1); it keeps
 * a wildcard in "rm" away from a put's .NAME._COPYING_).  Matches come in name
 * order per alternative.  Relative patterns are resolved against the
 * working directory first; the matches are absolute.
 */
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

/* Index of the first unquoted c in s[from, to), or -1. */
static long find_unquoted(const char *s, size_t from, size_t to, char c)
{
    size_t i;

    for (i = from; i < to; i++) {
        if (s[i] == '\\' && i + 1 < to)
            i++;
        else if (s[i] == c)
            return (long)i;
    }
    return -1;
}

/* Index of the '}' closing the '{' at open, or -1. */
static long brace_close(const char *s, size_t open)
{
    int depth = 0;
    size_t i;

    for (i = open; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1])
            i++;
        else if (s[i] == '{')
            depth++;
        else if (s[i] == '}' && --depth == 0)
            return (long)i;
    }
    return -1;
}

/* Push every brace alternative of pat onto out (recursively). */
static void brace_expand(const char *pat, struct sh_strvec *out)
{
    long open = find_unquoted(pat, 0, strlen(pat), '{');
    long close, start;
    size_t i;
    int depth = 0;

    while (open >= 0 && (close = brace_close(pat, (size_t)open)) < 0)
        open = find_unquoted(pat, (size_t)open + 1, strlen(pat), '{');
    if (open < 0) {
        sv_push(out, xstrdup(pat));
        return;
    }
    /* Each top-level alternative between open and close. */
    start = open + 1;
    for (i = (size_t)open + 1; i <= (size_t)close; i++) {
        if (pat[i] == '\\' && i + 1 < (size_t)close) {
            i++;
            continue;
        }
        if (pat[i] == '{')
            depth++;
        else if (pat[i] == '}' && depth > 0)
            depth--;
        else if ((pat[i] == ',' && depth == 0) || i == (size_t)close) {
            char *alt = xasprintf("%.*s%.*s%s", (int)open, pat, (int)(i - (size_t)start),
                                  pat + start, pat + close + 1);

            brace_expand(alt, out);
            free(alt);
            start = (long)i + 1;
        }
    }
}

int sh_has_glob(const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' && s[1])
            s++;
        else if (strchr("*?[{", *s))
            return 1;
    }
    return 0;
}

/* Characters a backslash quotes; before any other it stays itself. */
#define GLOB_SPECIAL "*?[]{},\\"

/* s[0, n) without its quoting backslashes; caller frees. */
static char *unquote(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && strchr(GLOB_SPECIAL, s[i + 1]))
            i++;
        *o++ = s[i];
    }
    *o = '\0';
    return out;
}

/* Whether the directory entry name matches the component pattern comp. */
static int name_matches(const char *comp, const char *name)
{
    if (name[0] == '.' && comp[0] != '.')
        return 0;
    return fnmatch(comp, name, 0) == 0;
}

/* Candidates of match_one: paths, each with what it is known to be. */
struct cands {
    struct sh_strvec path;
    char *type;                /* 'd' directory, 'f' file, '?' not looked up */
    size_t tcap;               /* bytes of type */
};

static void cand_push(struct cands *c, char *path, char type)
{
    sv_push(&c->path, path);
    if (c->tcap < c->path.cap) {
        char *t = realloc(c->type, c->path.cap);

        if (!t) {
            fputs("dfs: out of memory\n", stderr);
            exit(EXIT_FAIL);
        }
        c->type = t;
        c->tcap = c->path.cap;
    }
    c->type[c->path.n - 1] = type;
}

static void cand_free(struct cands *c)
{
    sv_free(&c->path);
    free(c->type);
    c->type = NULL;
    c->tcap = 0;
}

/* Whether candidate i of c is a directory (looked up when not known). */
static int cand_is_dir(struct shell *sh, const struct cands *c, size_t i)
{
    struct dfs_stat st;

    if (c->type[i] != '?')
        return c->type[i] == 'd';
    return dfs_stat(sh->fs, c->path.v[i], &st) == DFS_OK && st.type == DFS_TYPE_DIR;
}

/* Match the absolute pattern pat (no braces left) into out.  Only
 * directories are listed: a file has no entries to match. */
static void match_one(struct shell *sh, const char *pat, struct sh_strvec *out)
{
    struct cands cur = { 0 }, next;
    const char *p = pat;
    struct dfs_stat st;
    int literal_tail = 0;
    size_t i, n;

    cand_push(&cur, xstrdup("/"), 'd');
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        n = strcspn(p, "/");
        {
            char *comp = xasprintf("%.*s", (int)n, p);

            memset(&next, 0, sizeof next);
            if (!sh_has_glob(comp)) {
                char *lit = unquote(p, n);

                for (i = 0; i < cur.path.n; i++)
                    cand_push(&next, path_join(cur.path.v[i], lit), '?');
                free(lit);
                literal_tail = 1;
            } else {
                for (i = 0; i < cur.path.n; i++) {
                    dfs_dir *dir;

                    if (!cand_is_dir(sh, &cur, i) ||
                        dfs_opendir(sh->fs, cur.path.v[i], &dir) != DFS_OK)
                        continue;       /* missing or a file: no match */
                    while (dfs_readdir(dir, &st) == 1)
                        if (name_matches(comp, st.name))
                            cand_push(&next, path_join(cur.path.v[i], st.name),
                                      st.type == DFS_TYPE_DIR ? 'd' : 'f');
                    dfs_closedir(dir);
                }
                literal_tail = 0;
            }
            free(comp);
        }
        cand_free(&cur);
        cur = next;
        p += n;
    }
    /* Components after the last wildcard were not looked up: keep only
     * what exists. */
    for (i = 0; i < cur.path.n; i++) {
        if (!literal_tail || dfs_stat(sh->fs, cur.path.v[i], &st) == DFS_OK) {
            sv_push(out, cur.path.v[i]);
            cur.path.v[i] = NULL;
        }
    }
    cand_free(&cur);
}

char **sh_glob_args(struct shell *sh, int argc, char **argv, int *count, int quiet)
{
    struct sh_strvec out = { 0 }, alts = { 0 };
    size_t i, before;
    int a;

    for (a = 0; a < argc; a++) {
        if (!sh_has_glob(argv[a])) {
            sv_push(&out, unquote(argv[a], strlen(argv[a])));
            continue;
        }
        before = out.n;
        brace_expand(argv[a], &alts);
        for (i = 0; i < alts.n; i++) {
            char *abs = path_normalize(alts.v[i]), *lit;

            if (sh_has_glob(abs)) {
                match_one(sh, abs, &out);
            } else {            /* braces only: a literal path, quoting removed */
                lit = unquote(abs, strlen(abs));
                if (dfs_stat(sh->fs, lit, &(struct dfs_stat){ 0 }) == DFS_OK)
                    sv_push(&out, lit);
                else
                    free(lit);
            }
            free(abs);
        }
        sv_free(&alts);
        if (out.n == before && !quiet)
            sh_failf(sh, argv[a], "No such file or directory");
    }
    sv_push(&out, NULL);
    *count = (int)out.n - 1;
    return out.v;
}

void sh_glob_free(char **v)
{
    char **p;

    if (!v)
        return;
    for (p = v; *p; p++)
        free(*p);
    free(v);
}
