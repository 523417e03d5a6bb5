/*
 * clock.h - the two clocks every part of dfs reads, in milliseconds.
 *
 * dfs_mono_ms() (CLOCK_MONOTONIC) measures intervals: timeouts, heartbeat
 * ages, rates.  dfs_wall_ms() (CLOCK_REALTIME, since the epoch) is for
 * times shown to people or stored (mtime, start time).  Both are safe from
 * any thread.
 */
#ifndef DFS_CLOCK_H
#define DFS_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t dfs_clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Milliseconds of CLOCK_MONOTONIC. */
static inline uint64_t dfs_mono_ms(void)
{
    return dfs_clock_ms(CLOCK_MONOTONIC);
}

/* Milliseconds since the epoch. */
static inline uint64_t dfs_wall_ms(void)
{
    return dfs_clock_ms(CLOCK_REALTIME);
}

#endif
