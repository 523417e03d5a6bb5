/*
 * nn_recovery.h - leases and lease recovery: the namenode's side of files
 * whose writer went away.
 *
 * This module owns the leases (nn->leases, lease.h: rebuilt at start from
 * the namespace's files under construction, each renewed "now") and the
 * recoveries in progress.  Recovering file F (its lease passed the hard
 * limit, a client asked with RecoverLeaseReq, or an append found its
 * writer past the soft limit):
 *   - temporary file: deleted, as a client's delete would;
 *   - no blocks, or its last block complete: closed;
 *   - last block under construction with no datanode known for it and
 *     nothing recorded in it: the block is dropped and the file closed;
 *   - else: F is handed to NS_RECOVERY_CLIENT (its old writer's calls now
 *     fail ERR_BUSY), its last block gets a new generation stamp (the
 *     recovery id), a primary is chosen among the live datanodes of its
 *     expected locations and reported replicas, and a CMD_RECOVER for it
 *     waits for the primary's next heartbeat answer (nn_recovery_take).
 *     The primary answers with CommitBlockSyncReq (handled here): the
 *     length is recorded, the block and F are complete.  No live datanode:
 *     tried again every tick (logged once).  Not done within
 *     namenode.block_recovery_timeout_ms: started again (new recovery id,
 *     maybe another primary).
 * Nothing is recovered in safe mode.
 *
 * Runs on the namenode's event loop thread only.
 */
#ifndef NN_RECOVERY_H
#define NN_RECOVERY_H

#include <stddef.h>
#include <stdint.h>
#include "blockmap.h"

struct nn;

/* Module table entry (after the block map and the monitor): makes the
 * leases from the files under construction, hooks the namespace's
 * removals and the monitor's tick, registers CommitBlockSyncReq.  0, or
 * -1 logged. */
int nn_recovery_init(struct nn *nn);
void nn_recovery_shutdown(struct nn *nn);

/* The monitor's tick hook (nn_monitor_on_tick: not in safe mode): leases
 * past the hard limit are recovered, recoveries waiting for a primary or
 * timed out go on. */
void nn_recovery_tick(struct nn *nn, uint64_t now);

/* Recover file `inode` now (see above), `why` for the log.  DFS_OK with
 * *closed = 1 when the file is closed or gone now, 0 when recovery is
 * running (started now or before); else a wire status with a message. */
int nn_recovery_start(struct nn *nn, uint64_t inode, const char *why, int *closed,
                      char *err, size_t errsz);
/* 1 while file inode is being recovered. */
int nn_recovery_running(const struct nn *nn, uint64_t inode);

/* A CMD_RECOVER for a heartbeat answer: block (id, recovery genstamp) and
 * the datanodes (slots) that may hold a replica, the primary among them. */
struct nn_recover_cmd {
    uint64_t id, genstamp;
    uint64_t min_genstamp;      /* the newest pipeline's genstamp, 0: none asked */
    uint32_t ntargets;
    uint32_t targets[BM_PIPELINE_MAX];
};
/* Take at most max commands for datanode slot into out[max]: how many. */
size_t nn_recovery_take(struct nn *nn, uint32_t slot, struct nn_recover_cmd *out, size_t max);

#endif
