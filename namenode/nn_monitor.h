/*
 * nn_monitor.h - the namenode's background duties and the hooks that tie
 * its modules together: the monitor timer (safe mode checks, the
 * replication monitor's ticks), dead datanodes, blocks leaving the
 * namespace, replication changes, and the safe mode guard of mutations.
 *
 * Runs on the namenode's event loop thread only.
 */
#ifndef NN_MONITOR_H
#define NN_MONITOR_H

#include <stdint.h>
#include "conn.h"
#include "frame.h"

struct nn;

/* Module table entry (after blockmap): creates the replication monitor
 * and safe mode (nn->rm, nn->sm) and starts the timer.  0, or -1 logged. */
int nn_monitor_init(struct nn *nn);
void nn_monitor_shutdown(struct nn *nn);

/* Have fn(nn, now) run on every tick of the monitor timer (every 200 ms)
 * while the namenode is out of safe mode (a module's background duty:
 * lease recovery).  At most NN_MONITOR_MAX_TICKS; from a module's init. */
#define NN_MONITOR_MAX_TICKS 4
typedef void (*nn_tick_fn)(struct nn *nn, uint64_t now);
void nn_monitor_on_tick(nn_tick_fn fn);

/* The namespace's block-removed hook (ns_set_block_removed; arg: the
 * struct nn): the block leaves the block map and its replicas are queued
 * for deletion on their datanodes. */
void nn_block_removed(uint64_t block_id, void *arg);
/* Block b's final length is recorded (AddBlock's previous, Complete,
 * lease recovery): the block map completes it, and every datanode its
 * expected locations list as holding an older replica (left out of the
 * pipeline, or of the recovery: bm_pipeline_older) that reported none
 * under the block's genstamp gets a CMD_DELETE for (id, genstamp - 1): the
 * older replica (parked, or a stale finalized one) goes, one finalizing
 * under the block's genstamp would be kept (a datanode keeps a replica
 * newer than the command's). */
struct bm_block;
void nn_block_completed(struct nn *nn, struct bm_block *b, uint64_t length);
/* The replication of file `path` (normalised) changed (setrep): its
 * blocks take it.  Call after ns_setattr() succeeded with NS_SET_REPL. */
void nn_replication_changed(struct nn *nn, const char *path);
/* dnmanager's on_dead callback (arg: the struct nn). */
struct dm_node;
void nn_datanode_dead(struct dm_node *dn, void *arg);

/* In safe mode, answer request h with DFS_ERR_SAFEMODE and a message
 * saying why and return 1; else 0.  For every mutating handler. */
int nn_refuse_in_safemode(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h);
/* Leave safe mode or enter it, by hand (dfs safemode). */
void nn_safemode_set(struct nn *nn, int on);
/* Whether deletions may be ordered now (not in safe mode). */
int nn_may_delete(const struct nn *nn);

#endif
