/*
 * check.h - the few assertions the C unit tests use.
 *
 * CHECK(cond) and CHECK_EQ_* print the failing expression with file and line
 * and count the failure; a test program ends with `return check_summary();`,
 * which prints "N checks, M failed" and returns 1 if any failed.
 * CHECK_WAIT_FOR(cond, ms) polls a condition another thread makes true.
 */
#ifndef DFS_CHECK_H
#define DFS_CHECK_H

#include <stdio.h>
#include <string.h>
#include <inttypes.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

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

/* Milliseconds of CLOCK_MONOTONIC, for deadlines in tests. */
static inline uint64_t check_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll cond every 2 ms for up to ms milliseconds (then go on: the CHECK
 * that follows says whether it came true). */
#define CHECK_WAIT_FOR(cond, ms) do { \
        uint64_t dl_ = check_now_ms() + (ms); \
        while (!(cond) && check_now_ms() < dl_) \
            usleep(2000); \
    } while (0)

static inline int check_summary(void)
{
    printf("%d checks, %d failed\n", check_count, check_failed);
    return check_failed ? 1 : 0;
}

#endif
