/*
 * safemode.h - the namenode's safe mode: read-only until the datanodes
 * have reported enough of the blocks.
 *
 * After a start, replica locations come only from block reports.  Safe
 * mode holds until `threshold` of the complete blocks have at least one
 * good replica reported, then for `extension_ms` more (so the last reports
 * arrive before any block is judged under-replicated), then it ends by
 * itself.  With no block at all there is nothing to wait for: it ends at
 * the first check.  An operator may enter it by hand (it then holds until
 * left by hand) or leave it early.  While it holds, the namenode answers
 * reads but refuses every mutation, and orders no copy and no deletion.
 *
 * Pure state: the caller feeds it figures and times (dfs_mono_ms()).  Runs
 * on the namenode's event loop thread only.
 */
#ifndef NN_SAFEMODE_H
#define NN_SAFEMODE_H

#include <stddef.h>
#include <stdint.h>

struct safemode;

/* In safe mode, waiting for the reports (the start-up state). */
struct safemode *sm_new(double threshold, uint32_t extension_ms);
void sm_free(struct safemode *sm);
void sm_set_cfg(struct safemode *sm, double threshold, uint32_t extension_ms);

/* 1 while in safe mode. */
int sm_on(const struct safemode *sm);
/* 1 when an operator entered it (it will not end by itself). */
int sm_manual(const struct safemode *sm);
/* Re-evaluate with `safe` of `total` complete blocks reported at time now.
 * Returns 1 when safe mode ended by this call. */
int sm_check(struct safemode *sm, uint64_t safe, uint64_t total, uint64_t now);
/* Operator: enter (held until sm_leave), leave (at once). */
void sm_enter(struct safemode *sm);
void sm_leave(struct safemode *sm);
/* One line for people: "Safe mode is ON: 12 of 20 blocks reported, 0.999
 * needed." and the like, into buf[sz]; returns buf. */
const char *sm_describe(const struct safemode *sm, uint64_t safe, uint64_t total, uint64_t now,
                        char *buf, size_t sz);

#endif
