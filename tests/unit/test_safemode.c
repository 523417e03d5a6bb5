/*
 * test_safemode.c - safe mode's state (namenode/safemode.c) with explicit
 * figures and times: the threshold, the extension, no blocks, the
 * operator's enter and leave, and what it says.
 */
#include <string.h>

#include "check.h"
#include "safemode.h"

static void test_threshold_and_extension(void)
{
    char buf[256];
    struct safemode *sm = sm_new(0.9, 1000);
    CHECK(sm_on(sm));
    CHECK_EQ_INT(sm_check(sm, 0, 100, 0), 0);
    CHECK(strstr(sm_describe(sm, 0, 100, 0, buf, sizeof(buf)), "0 of 100 blocks") != NULL);
    CHECK_EQ_INT(sm_check(sm, 89, 100, 10), 0);
    CHECK_EQ_INT(sm_check(sm, 90, 100, 20), 0);        /* met: the extension runs */
    CHECK(strstr(sm_describe(sm, 90, 100, 520, buf, sizeof(buf)), "ends in 500 ms") != NULL);
    CHECK_EQ_INT(sm_check(sm, 85, 100, 500), 0);       /* fell below: starts over */
    CHECK_EQ_INT(sm_check(sm, 95, 100, 600), 0);
    CHECK_EQ_INT(sm_check(sm, 95, 100, 1599), 0);
    CHECK_EQ_INT(sm_check(sm, 95, 100, 1600), 1);      /* left, once */
    CHECK(!sm_on(sm));
    CHECK_EQ_INT(sm_check(sm, 0, 100, 1700), 0);       /* never re-entered by itself */
    CHECK_EQ_STR(sm_describe(sm, 0, 100, 1700, buf, sizeof(buf)), "Safe mode is OFF.");
    sm_free(sm);
}

static void test_no_blocks_and_no_extension(void)
{
    struct safemode *sm = sm_new(0.999, 30000);
    CHECK_EQ_INT(sm_check(sm, 0, 0, 5), 1);            /* nothing to wait for */
    sm_free(sm);
    sm = sm_new(1.0, 0);
    CHECK_EQ_INT(sm_check(sm, 9, 10, 0), 0);
    CHECK_EQ_INT(sm_check(sm, 10, 10, 0), 1);
    sm_free(sm);
}

static void test_operator(void)
{
    char buf[256];
    struct safemode *sm = sm_new(0.5, 0);
    CHECK_EQ_INT(sm_check(sm, 10, 10, 0), 1);
    sm_enter(sm);
    CHECK(sm_on(sm) && sm_manual(sm));
    CHECK_EQ_INT(sm_check(sm, 10, 10, 100), 0);        /* held until left */
    CHECK(strstr(sm_describe(sm, 10, 10, 100, buf, sizeof(buf)), "entered by an operator")
          != NULL);
    sm_leave(sm);
    CHECK(!sm_on(sm) && !sm_manual(sm));
    sm_free(sm);
    /* Leaving early, before the reports. */
    sm = sm_new(0.999, 30000);
    sm_leave(sm);
    CHECK(!sm_on(sm));
    sm_free(sm);
}

int main(void)
{
    test_threshold_and_extension();
    test_no_blocks_and_no_extension();
    test_operator();
    return check_summary();
}
