/*
 * check.h - the few assertions the C unit tests use.
 *
 * CHECK(cond) and CHECK_EQ_* print the failing expression with file and line
 * and count the failure; a test program ends with `return check_summary();`,
 * which prints "N checks, M failed" and returns 1 if any failed.
 */
#ifndef DFS_CHECK_H
#define DFS_CHECK_H

#include <stdio.h>
#include <string.h>
#include <inttypes.h>

static int check_count, check_failed;

#define CHECK(cond) do { \
        check_count++; \
        if (!(cond)) { \
            check_failed++; \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        } \
    } while (0)

#define CHECK_EQ_INT(a, b) do { \
        long long va_ = (long long)(a), vb_ = (long long)(b); \
        check_count++; \
        if (va_ != vb_) { \
            check_failed++; \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
                    __FILE__, __LINE__, #a, #b, va_, vb_); \
        } \
    } while (0)

#define CHECK_EQ_STR(a, b) do { \
        const char *sa_ = (a), *sb_ = (b); \
        check_count++; \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) { \
            check_failed++; \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
                    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
        } \
    } while (0)

static inline int check_summary(void)
{
    printf("%d checks, %d failed\n", check_count, check_failed);
    return check_failed ? 1 : 0;
}

#endif
