/*
 * test_path.c - path validation and normalisation: slashes, "." and "..",
 * UTF-8, control characters, length limits, split and is_under.
 */
#include <stdlib.h>

#include "check.h"
#include "path.h"

static char out[DFS_PATH_MAX + 1];

/* Normalise in; the result ("/a/b", or "!" + the rc number) as a string. */
static const char *norm(const char *in)
{
    static char res[DFS_PATH_MAX + 16];
    enum dfs_path_rc rc = dfs_path_normalize(in, out, sizeof(out));

    if (rc == DFS_PATH_OK)
        snprintf(res, sizeof(res), "%s", out);
    else
        snprintf(res, sizeof(res), "!%d", (int)rc);
    return res;
}

static enum dfs_path_rc norm_rc(const char *in)
{
    return dfs_path_normalize(in, out, sizeof(out));
}

/* A string of n copies of s (caller frees). */
static char *repeat(const char *s, size_t n)
{
    size_t len = strlen(s);
    char *r = malloc(len * n + 1);

    for (size_t i = 0; i < n; i++)
        memcpy(r + i * len, s, len);
    r[len * n] = '\0';
    return r;
}

static void test_normalize(void)
{
    CHECK_EQ_STR(norm("/"), "/");
    CHECK_EQ_STR(norm("//"), "/");
    CHECK_EQ_STR(norm("/a"), "/a");
    CHECK_EQ_STR(norm("/a/"), "/a");
    CHECK_EQ_STR(norm("//a///b/"), "/a/b");
    CHECK_EQ_STR(norm("/a/./b"), "/a/b");
    CHECK_EQ_STR(norm("/./a/."), "/a");
    CHECK_EQ_STR(norm("/."), "/");
    CHECK_EQ_STR(norm("/./"), "/");
    CHECK_EQ_STR(norm("/a/../b"), "/b");
    CHECK_EQ_STR(norm("/a/.."), "/");
    CHECK_EQ_STR(norm("/a/b/.."), "/a");
    CHECK_EQ_STR(norm("/a/b/../.."), "/");
    CHECK_EQ_STR(norm("/a/b/../c/./d/../e/"), "/a/c/e");
    CHECK_EQ_STR(norm("/a/b/c/../../d"), "/a/d");
    CHECK_EQ_STR(norm("/..."), "/...");
    CHECK_EQ_STR(norm("/..a/a.."), "/..a/a..");
    CHECK_EQ_STR(norm("/.a/.b."), "/.a/.b.");
    CHECK_EQ_STR(norm("/a b/ c "), "/a b/ c ");
    CHECK_EQ_STR(norm("/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac"), "/caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac");

    char *slashes = repeat("/", 10000);
    CHECK_EQ_STR(norm(slashes), "/");
    free(slashes);
    char *dots = repeat("/.", 5000);
    CHECK_EQ_STR(norm(dots), "/");
    free(dots);
}

static void test_refused(void)
{
    CHECK_EQ_INT(norm_rc(""), DFS_PATH_EMPTY);
    CHECK_EQ_INT(norm_rc(NULL), DFS_PATH_EMPTY);
    CHECK_EQ_INT(norm_rc("a/b"), DFS_PATH_RELATIVE);
    CHECK_EQ_INT(norm_rc("a"), DFS_PATH_RELATIVE);
    CHECK_EQ_INT(norm_rc("./a"), DFS_PATH_RELATIVE);
    CHECK_EQ_INT(norm_rc(" /a"), DFS_PATH_RELATIVE);

    CHECK_EQ_INT(norm_rc("/.."), DFS_PATH_DOTDOT);
    CHECK_EQ_INT(norm_rc("/../a"), DFS_PATH_DOTDOT);
    CHECK_EQ_INT(norm_rc("/a/../.."), DFS_PATH_DOTDOT);
    CHECK_EQ_INT(norm_rc("/a/../../b"), DFS_PATH_DOTDOT);
    CHECK_EQ_INT(norm_rc("/a/b/../../../c/d"), DFS_PATH_DOTDOT);
    CHECK_EQ_INT(norm_rc("/../a/.."), DFS_PATH_DOTDOT);
    CHECK_EQ_INT(norm_rc("//..//"), DFS_PATH_DOTDOT);

    /* control bytes */
    CHECK_EQ_INT(norm_rc("/a\x01" "b"), DFS_PATH_BAD_CHAR);
    CHECK_EQ_INT(norm_rc("/a\x1f"), DFS_PATH_BAD_CHAR);
    CHECK_EQ_INT(norm_rc("/a\x7f"), DFS_PATH_BAD_CHAR);
    CHECK_EQ_INT(norm_rc("/\t"), DFS_PATH_BAD_CHAR);
    CHECK_EQ_INT(norm_rc("/a\nb"), DFS_PATH_BAD_CHAR);
    /* ... even in a component a ".." removes */
    CHECK_EQ_INT(norm_rc("/a\x01/../b"), DFS_PATH_BAD_CHAR);
}

static void test_utf8(void)
{
    /* valid: 2, 3 and 4 bytes, the edges around the surrogates, U+10FFFF */
    CHECK_EQ_INT(norm_rc("/\xc2\x80"), DFS_PATH_OK);            /* U+0080 */
    CHECK_EQ_INT(norm_rc("/\xdf\xbf"), DFS_PATH_OK);            /* U+07FF */
    CHECK_EQ_INT(norm_rc("/\xe0\xa0\x80"), DFS_PATH_OK);        /* U+0800 */
    CHECK_EQ_INT(norm_rc("/\xed\x9f\xbf"), DFS_PATH_OK);        /* U+D7FF */
    CHECK_EQ_INT(norm_rc("/\xee\x80\x80"), DFS_PATH_OK);        /* U+E000 */
    CHECK_EQ_INT(norm_rc("/\xef\xbf\xbf"), DFS_PATH_OK);        /* U+FFFF */
    CHECK_EQ_INT(norm_rc("/\xf0\x90\x80\x80"), DFS_PATH_OK);    /* U+10000 */
    CHECK_EQ_INT(norm_rc("/\xf0\x9f\x98\x80"), DFS_PATH_OK);    /* emoji */
    CHECK_EQ_INT(norm_rc("/\xf4\x8f\xbf\xbf"), DFS_PATH_OK);    /* U+10FFFF */

    /* overlong forms */
    CHECK_EQ_INT(norm_rc("/\xc0\xaf"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xc1\xbf"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xc0\x80"), DFS_PATH_BAD_UTF8);      /* NUL */
    CHECK_EQ_INT(norm_rc("/\xe0\x80\xaf"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xe0\x9f\xbf"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xf0\x80\x80\xaf"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xf0\x8f\xbf\xbf"), DFS_PATH_BAD_UTF8);
    /* surrogates */
    CHECK_EQ_INT(norm_rc("/\xed\xa0\x80"), DFS_PATH_BAD_UTF8);  /* U+D800 */
    CHECK_EQ_INT(norm_rc("/\xed\xbf\xbf"), DFS_PATH_BAD_UTF8);  /* U+DFFF */
    CHECK_EQ_INT(norm_rc("/\xed\xa0\xbd\xed\xb8\x80"), DFS_PATH_BAD_UTF8); /* CESU pair */
    /* above U+10FFFF */
    CHECK_EQ_INT(norm_rc("/\xf4\x90\x80\x80"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xf5\x80\x80\x80"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xf7\xbf\xbf\xbf"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xf8\x88\x80\x80\x80"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xfe"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xff"), DFS_PATH_BAD_UTF8);
    /* stray continuation bytes */
    CHECK_EQ_INT(norm_rc("/\x80"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/a\xbf" "b"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xc3\xa9\xa9"), DFS_PATH_BAD_UTF8);
    /* truncated sequences: at the end, before a slash, before ASCII */
    CHECK_EQ_INT(norm_rc("/\xc3"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xe6\x97"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xf0\x9f\x98"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xe6\x97/x"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xc3" "a"), DFS_PATH_BAD_UTF8);
    CHECK_EQ_INT(norm_rc("/\xf0\x9f\x98" "a"), DFS_PATH_BAD_UTF8);
}

static void test_lengths(void)
{
    char *n255 = repeat("a", 255), *n256 = repeat("a", 256);
    char path[8192];

    snprintf(path, sizeof(path), "/%s", n255);
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_OK);
    snprintf(path, sizeof(path), "/x/%s/y", n255);
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_OK);
    snprintf(path, sizeof(path), "/%s", n256);
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_NAME_TOO_LONG);
    snprintf(path, sizeof(path), "/x/%s/y", n256);
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_NAME_TOO_LONG);
    /* a removed component is checked too */
    snprintf(path, sizeof(path), "/%s/..", n256);
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_NAME_TOO_LONG);
    /* the limit is in bytes, not characters */
    char *e128 = repeat("\xc3\xa9", 128), *j85 = repeat("\xe6\x97\xa5", 85);
    snprintf(path, sizeof(path), "/%s", e128);
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_NAME_TOO_LONG);
    snprintf(path, sizeof(path), "/%s", j85);
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_OK);
    free(e128);
    free(j85);

    /* 16 components "/" + 255 bytes = 4096 bytes: the longest path. */
    size_t n = 0;
    for (int i = 0; i < 16; i++)
        n += (size_t)snprintf(path + n, sizeof(path) - n, "/%.*s", 255, n255);
    CHECK_EQ_INT(n, 4096);
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_OK);
    CHECK_EQ_INT(strlen(out), 4096);
    CHECK(strcmp(out, path) == 0);
    /* the same with doubled slashes and a trailing one still normalises */
    char messy[8192];
    size_t m = 0;
    for (int i = 0; i < 16; i++)
        m += (size_t)snprintf(messy + m, sizeof(messy) - m, "//./%s", n255);
    snprintf(messy + m, sizeof(messy) - m, "/");
    CHECK_EQ_INT(norm_rc(messy), DFS_PATH_OK);
    CHECK(strcmp(out, path) == 0);
    /* one more byte is too long */
    snprintf(path + n, sizeof(path) - n, "/b");
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_TOO_LONG);
    /* ... unless a ".." brings it back under: the limit is on the result */
    snprintf(path + n, sizeof(path) - n, "/b/..");
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_OK);
    snprintf(path + n, sizeof(path) - n, "/bbbbbbbbbb/../..");
    CHECK_EQ_INT(norm_rc(path), DFS_PATH_OK);
    CHECK_EQ_INT(strlen(out), 4096 - 256);

    /* An output buffer too small for the result is refused, not overrun. */
    char small[8];
    memset(small, 'X', sizeof(small));
    CHECK_EQ_INT(dfs_path_normalize("/abcdefg", small, 8), DFS_PATH_TOO_LONG);
    CHECK_EQ_INT(dfs_path_normalize("/abcdef", small, 8), DFS_PATH_OK);
    CHECK_EQ_STR(small, "/abcdef");
    CHECK_EQ_INT(dfs_path_normalize("/", small, 1), DFS_PATH_TOO_LONG);
    CHECK_EQ_INT(dfs_path_normalize("/", small, 2), DFS_PATH_OK);
    CHECK_EQ_STR(small, "/");

    free(n255);
    free(n256);
}

static void test_strerror(void)
{
    CHECK_EQ_STR(dfs_path_strerror(DFS_PATH_EMPTY), "empty path");
    CHECK_EQ_STR(dfs_path_strerror(DFS_PATH_RELATIVE), "path is not absolute");
    CHECK_EQ_STR(dfs_path_strerror(DFS_PATH_BAD_UTF8), "path is not valid UTF-8");
    CHECK_EQ_STR(dfs_path_strerror(DFS_PATH_BAD_CHAR), "path contains a control character");
    CHECK_EQ_STR(dfs_path_strerror(DFS_PATH_TOO_LONG), "path is longer than 4096 bytes");
    CHECK_EQ_STR(dfs_path_strerror(DFS_PATH_NAME_TOO_LONG),
                 "path component is longer than 255 bytes");
    CHECK_EQ_STR(dfs_path_strerror(DFS_PATH_DOTDOT), "path goes above the root");
    CHECK(dfs_path_strerror(DFS_PATH_OK) != NULL);
    CHECK(dfs_path_strerror((enum dfs_path_rc)-99) != NULL);
}

static void test_name_valid(void)
{
    char *n255 = repeat("z", 255);

    CHECK_EQ_INT(dfs_name_valid("a", 1), 1);
    CHECK_EQ_INT(dfs_name_valid("...", 3), 1);
    CHECK_EQ_INT(dfs_name_valid(".hidden", 7), 1);
    CHECK_EQ_INT(dfs_name_valid("caf\xc3\xa9", 5), 1);
    CHECK_EQ_INT(dfs_name_valid("a b", 3), 1);
    CHECK_EQ_INT(dfs_name_valid(n255, 255), 1);
    CHECK_EQ_INT(dfs_name_valid("ab/", 2), 1);      /* only len bytes count */

    CHECK_EQ_INT(dfs_name_valid("", 0), 0);
    CHECK_EQ_INT(dfs_name_valid(NULL, 0), 0);
    CHECK_EQ_INT(dfs_name_valid(".", 1), 0);
    CHECK_EQ_INT(dfs_name_valid("..", 2), 0);
    CHECK_EQ_INT(dfs_name_valid("a/b", 3), 0);
    CHECK_EQ_INT(dfs_name_valid("/", 1), 0);
    CHECK_EQ_INT(dfs_name_valid("a\x01", 2), 0);
    CHECK_EQ_INT(dfs_name_valid("a\x7f", 2), 0);
    CHECK_EQ_INT(dfs_name_valid("a\0b", 3), 0);      /* embedded NUL */
    CHECK_EQ_INT(dfs_name_valid("\xc0\xaf", 2), 0);
    CHECK_EQ_INT(dfs_name_valid("\xed\xa0\x80", 3), 0);
    CHECK_EQ_INT(dfs_name_valid("caf\xc3\xa9", 4), 0);   /* cut sequence */
    char *n256 = repeat("z", 256);
    CHECK_EQ_INT(dfs_name_valid(n256, 256), 0);
    free(n256);
    free(n255);
}

static void test_split(void)
{
    size_t plen = 99;
    const char *name = NULL;

    CHECK_EQ_INT(dfs_path_split("/a", &plen, &name), 0);
    CHECK_EQ_INT(plen, 1);
    CHECK_EQ_STR(name, "a");
    const char *p = "/a/b";
    CHECK_EQ_INT(dfs_path_split(p, &plen, &name), 0);
    CHECK_EQ_INT(plen, 2);
    CHECK_EQ_STR(name, "b");
    CHECK(name == p + 3);
    CHECK_EQ_INT(dfs_path_split("/dir/sub/file.txt", &plen, &name), 0);
    CHECK_EQ_INT(plen, 8);
    CHECK_EQ_STR(name, "file.txt");
    CHECK_EQ_INT(dfs_path_split("/", &plen, &name), -1);
}

static void test_is_under(void)
{
    CHECK_EQ_INT(dfs_path_is_under("/a/b", "/a"), 1);
    CHECK_EQ_INT(dfs_path_is_under("/a/b/c", "/a"), 1);
    CHECK_EQ_INT(dfs_path_is_under("/a/b/c", "/a/b"), 1);
    CHECK_EQ_INT(dfs_path_is_under("/a", "/a"), 1);
    CHECK_EQ_INT(dfs_path_is_under("/ab", "/a"), 0);
    CHECK_EQ_INT(dfs_path_is_under("/a/bc", "/a/b"), 0);
    CHECK_EQ_INT(dfs_path_is_under("/a", "/a/b"), 0);
    CHECK_EQ_INT(dfs_path_is_under("/b", "/a"), 0);
    CHECK_EQ_INT(dfs_path_is_under("/", "/a"), 0);
    CHECK_EQ_INT(dfs_path_is_under("/a", "/"), 1);
    CHECK_EQ_INT(dfs_path_is_under("/a/b", "/"), 1);
    CHECK_EQ_INT(dfs_path_is_under("/", "/"), 1);
}

int main(void)
{
    test_normalize();
    test_refused();
    test_utf8();
    test_lengths();
    test_strerror();
    test_name_valid();
    test_split();
    test_is_under();
    return check_summary();
}
