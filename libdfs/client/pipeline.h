/*
 * pipeline.h - the datanode pipeline of the block a writer is writing
 * (pipeline.c): setting it up, streaming packets, taking acks, and
 * rebuilding it when a datanode fails.
 *
 * The writer (writer.c) decides what goes into which block; this module
 * gets each packet there.  Every packet sent stays in the writer's ring
 * (pktring.h) until acked.  A failure -- a connection error or EOF (the
 * first datanode), an ack naming a datanode (the first non-OK status), a
 * set-up answer's bad_index, no ack within client.ack_timeout_ms (the
 * first datanode) -- is recovered here, as HDFS does:
 *   - nothing of the block acked yet (a new block): the block is abandoned
 *     and another one asked for without the failed datanode (AddBlockReq
 *     exclude), a few times;
 *   - else UpdatePipelineReq (new generation stamp; replacements when
 *     client.replace_datanode_on_failure and fewer survivors than the
 *     replication), TransferBlockReq of the acked bytes from a survivor
 *     to each replacement, WS_RECOVER set-up of survivors + replacements,
 *     and every unacked packet sent again.
 * Only when no datanode is left does the write fail ("all datanodes of the
 * pipeline failed: HOST:PORT (reason); ..."), with f->failed set: the file
 * is never completed then.
 *
 * All calls block (namenode RPCs, datanode I/O) and report failures with
 * dfs_set_error().  One thread at a time per dfs_file.
 */
#ifndef DFS_PIPELINE_H
#define DFS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "dfs.pb-c.h"
#include "file_i.h"

/* Start the next block of f: AddBlockReq (previous = f->prev_* when
 * f->have_prev) and a WS_CREATE pipeline; a datanode that fails the set-up
 * is excluded and the block abandoned and asked for again, a few times.
 * The ring's packets (none for a fresh block) are sent on the new
 * pipeline.  DFS_OK or an error (f->failed set). */
int pl_begin_block(dfs_file *f);

/* Reopen an appended file's partial last block `last` (its new genstamp,
 * its length, its replicas) whose replicas have old_gs: a WS_APPEND
 * pipeline; a replica holder that fails is recovered like any pipeline
 * failure.  DFS_OK or an error (f->failed set). */
int pl_begin_append(dfs_file *f, const Dfs__LocatedBlock *last, uint64_t old_gs);

/* Send one packet of the current block: len bytes at data, block offset
 * `offset`, DFS_PKT_* flags.  The data are copied into the ring first;
 * waits while the window is full.  Recovers the pipeline as needed.
 * DFS_OK or an error (f->failed set). */
int pl_send(dfs_file *f, uint64_t offset, const uint8_t *data, size_t len, uint32_t flags);

/* Take in acks until at most `keep` packets are unacked (keep 0: every
 * one; then the whole block so far is on every pipeline datanode).
 * Recovers the pipeline as needed.  DFS_OK or an error (f->failed set). */
int pl_collect(dfs_file *f, size_t keep);

/* Drop the connection to the pipeline (after the block's LAST ack, or to
 * give the write up).  Never fails. */
void pl_close(dfs_file *f);

/* Give up the current block on the namenode (AbandonBlockReq), best
 * effort: a failure is only logged. */
void pl_abandon(dfs_file *f);

/* The index of the datanode an ack reports failed: its first non-OK
 * status among the first nnodes (a missing status counts as failed), or
 * -1 when every one is OK. */
int pl_ack_bad_index(const Dfs__Status *statuses, size_t n_statuses, size_t nnodes);

/* The datanode a set-up answer blames, as an index below nnodes (>= 1):
 * its bad_index when in range, else 0 (the first). */
size_t pl_setup_bad_index(int bad_index, size_t nnodes);

/* Replacement datanodes to ask for when `survivors` of `wanted` datanodes
 * remain, `acked` bytes of the block are on them and the policy is
 * `replace` (client.replace_datanode_on_failure): wanted - survivors
 * when replace, survivors < wanted and acked > 0 (a replacement gets the
 * acked bytes copied), else 0. */
unsigned pl_replacements(int replace, size_t survivors, unsigned wanted, uint64_t acked);

#endif
