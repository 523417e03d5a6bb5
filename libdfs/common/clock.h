/*
 * clock.h - the two clocks every part of dfs reads, in milliseconds.
 *
 * dfs_mono_ms() and dfs_mono_ns() (CLOCK_MONOTONIC) measure intervals: timeouts, heartbeat
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

/* Nanoseconds of CLOCK_MONOTONIC (pacing, fine timing). */
static inline uint64_t dfs_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The CLOCK_MONOTONIC time `ms` from now as a timespec, for
 * pthread_cond_timedwait on a condition variable whose clock is
 * CLOCK_MONOTONIC (pthread_condattr_setclock). */
static inline struct timespec dfs_mono_after(uint64_t ms)
{
    uint64_t ns = dfs_mono_ns() + ms * 1000000u;
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    return ts;
}

/* Milliseconds since the epoch. */
static inline uint64_t dfs_wall_ms(void)
{
    return dfs_clock_ms(CLOCK_REALTIME);
}

#endif
