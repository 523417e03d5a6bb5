/*
 * commit.h - group commit: replies wait until what they reveal is durable.
 *
 * Handlers apply their WriteBatch at once (ms_write, visible, not synced)
 * and call commit_note_write().  Every reply goes through commit_reply():
 * when some applied write is not yet durable, the reply is held in the
 * epoch of the newest such write; otherwise it is sent at once.
 *
 * After the loop has handled what arrived in one turn, a low-priority event
 * hands the open epoch to the sync thread, which runs ms_sync() (one fsync
 * for every write of the epoch) while the loop goes on serving; when it is
 * done the loop sends that epoch's replies and starts the next epoch's
 * sync.  So requests that arrive together share one sync, and nothing is
 * acknowledged before it is on disk.  A held reply whose connection closed
 * meanwhile is dropped.
 */
#ifndef NN_COMMIT_H
#define NN_COMMIT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include "conn.h"
#include "metastore.h"

struct commit;

/* Start the sync thread.  base must use two priorities or more
 * (event_base_priority_init) and threads (evthread_use_pthreads). */
struct commit *commit_new(struct event_base *base, struct metastore *ms);
/* Sync what is pending, send the held replies and stop the thread. */
void commit_free(struct commit *cm);

/* A write was applied (ms_write) and must be durable before anyone hears
 * of it. */
void commit_note_write(struct commit *cm);
/* Send a reply frame now or after the writes it may reveal are durable.
 * The body is copied. */
void commit_reply(struct commit *cm, struct dfs_conn *c, uint16_t type, uint32_t reqid,
                  const void *body, size_t len);
/* Same, packing a protobuf message. */
void commit_reply_msg(struct commit *cm, struct dfs_conn *c, uint16_t type, uint32_t reqid,
                      const ProtobufCMessage *m);

/* Statistics: syncs done and writes they covered. */
void commit_stats(const struct commit *cm, uint64_t *syncs, uint64_t *writes);

#endif
