/*
 * safemode.c - safe mode state (see safemode.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "safemode.h"
#include "xmalloc.h"

struct safemode {
    double threshold;
    uint32_t extension_ms;
    int on;
    int manual;
    int reached;            /* threshold met: the extension runs */
    uint64_t reached_at;
};

struct safemode *sm_new(double threshold, uint32_t extension_ms)
{
    struct safemode *sm = xcalloc(1, sizeof(*sm));
    sm->threshold = threshold;
    sm->extension_ms = extension_ms;
    sm->on = 1;
    return sm;
}

void sm_free(struct safemode *sm)
{
    free(sm);
}

void sm_set_cfg(struct safemode *sm, double threshold, uint32_t extension_ms)
{
    sm->threshold = threshold;
    sm->extension_ms = extension_ms;
}

int sm_on(const struct safemode *sm)
{
    return sm->on;
}

int sm_manual(const struct safemode *sm)
{
    return sm->on && sm->manual;
}

static int threshold_met(const struct safemode *sm, uint64_t safe, uint64_t total)
{
    return total == 0 || (double)safe >= sm->threshold * (double)total;
}

int sm_check(struct safemode *sm, uint64_t safe, uint64_t total, uint64_t now)
{
    if (!sm->on || sm->manual)
        return 0;
    if (!threshold_met(sm, safe, total)) {
        sm->reached = 0;
        return 0;
    }
    if (total > 0 && sm->extension_ms > 0) {
        if (!sm->reached) {
            sm->reached = 1;
            sm->reached_at = now;
        }
        if (now - sm->reached_at < sm->extension_ms)
            return 0;
    }
    sm->on = 0;
    sm->reached = 0;
    return 1;
}

void sm_enter(struct safemode *sm)
{
    sm->on = 1;
    sm->manual = 1;
    sm->reached = 0;
}

void sm_leave(struct safemode *sm)
{
    sm->on = 0;
    sm->manual = 0;
    sm->reached = 0;
}

const char *sm_describe(const struct safemode *sm, uint64_t safe, uint64_t total, uint64_t now,
                        char *buf, size_t sz)
{
    if (!sm->on)
        snprintf(buf, sz, "Safe mode is OFF.");
    else if (sm->manual)
        snprintf(buf, sz, "Safe mode is ON: entered by an operator; "
                 "`dfs safemode leave` turns it off.");
    else if (!threshold_met(sm, safe, total))
        snprintf(buf, sz, "Safe mode is ON: %" PRIu64 " of %" PRIu64 " blocks have a reported "
                 "replica, %.4g of them are needed.", safe, total, sm->threshold);
    else
        snprintf(buf, sz, "Safe mode is ON: %" PRIu64 " of %" PRIu64 " blocks reported; it "
                 "ends in %" PRIu64 " ms.", safe, total,
                 sm->reached && now - sm->reached_at < sm->extension_ms
                     ? sm->extension_ms - (now - sm->reached_at) : 0);
    return buf;
}
