/*
 * rpc.h - synchronous RPCs to one server (the namenode) over a small pool
 * of dfs_sock connections.  Safe to share between threads: each call takes
 * an idle connection (or opens one), uses it alone and puts it back.
 *
 * Every response message of proto/dfs.proto starts with `status` (field 1)
 * and `error` (field 2); dfs_rpc_call() reads them generically, so a
 * non-OK answer comes back as its DFS_ERR_* code with dfs_errmsg() set to
 * the server's message.
 */
#ifndef DFS_RPC_H
#define DFS_RPC_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

struct dfs_rpc;

/* A client for host:port.  Connects lazily.  NULL when out of memory. */
struct dfs_rpc *dfs_rpc_new(const char *host, unsigned port, int timeout_ms);
void dfs_rpc_free(struct dfs_rpc *r);
/* Connect from the local address src from now on (dfs_sock_connect_from;
 * NULL or "": any).  Call before the first dfs_rpc_call, from one thread. */
void dfs_rpc_set_source(struct dfs_rpc *r, const char *src);
/* "HOST:PORT" this client talks to. */
const char *dfs_rpc_peer(const struct dfs_rpc *r);

/* Copy into out the numeric address of this host as the server sees it
 * (from the last connection made; "127.0.0.1" before any), for locality. */
void dfs_rpc_local_host(struct dfs_rpc *r, char *out, size_t outsz);

/* Send req as a frame of req_type and wait for the answer (type req_type|1,
 * same request id), decoded with resp_desc into *resp (free it with
 * protobuf_c_message_free_unpacked(*resp, NULL)).
 * Returns DFS_OK, or the answer's status (then *resp is still set), or a
 * transport error (DFS_ERR_CONN, DFS_ERR_TIMEOUT, DFS_ERR_PROTO, DFS_ERR_NOMEM;
 * *resp NULL), with dfs_errmsg() set.  A pooled connection the server has
 * closed meanwhile is replaced once, transparently. */
int dfs_rpc_call(struct dfs_rpc *r, uint16_t req_type, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp);

#endif
