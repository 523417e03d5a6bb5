/*
 * nn_rpc.h - the namenode's RPC port: listener, connections, the dispatch
 * table and the reply helpers every handler answers through.
 *
 * Handler modules (nn_clientserv.c, nn_blockserv.c, nn_dnserv.c,
 * nn_adminserv.c) register their handlers with nn_rpc_handle() from their
 * init function; this module calls them through the table only, so it
 * depends on none of them.  A handler gets a decoded request (a body that
 * does not decode closes the connection before any handler runs), answers
 * it through the group commit (commit.h) with nn_reply_*, and returns 0
 * (-1 closes the connection).
 *
 * Runs on the namenode's event loop thread only.
 */
#ifndef NN_RPC_H
#define NN_RPC_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "conn.h"
#include "frame.h"

struct nn;

/* Signature of every RPC handler. */
typedef int (*nn_handler_fn)(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                             ProtobufCMessage *req);

/* Route request type `type` (< DFS_MSG_MAX, even) to fn, decoding its body
 * with desc.  Called by handler modules at init, before the listener
 * starts; a type registered twice is a programming error (aborts). */
void nn_rpc_handle(uint16_t type, const ProtobufCMessageDescriptor *desc, nn_handler_fn fn);

/* Start accepting RPC connections on conf.nn_address (module table, last
 * but one: every handler is registered by then).  0, or -1 with a message
 * logged (address named).  Shutdown closes every connection. */
int nn_rpc_init(struct nn *nn);
void nn_rpc_shutdown(struct nn *nn);

/* Answer request h on c: through the group commit, so the answer waits
 * for the writes it may reveal.  nn_reply_status() sends only status and
 * error (every response message starts with those two fields);
 * nn_reply_statusf() formats the error. */
void nn_reply_msg(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                  const ProtobufCMessage *m);
void nn_reply_status(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     int status, const char *error);
void nn_reply_statusf(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                      int status, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
