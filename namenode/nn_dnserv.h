/*
 * nn_dnserv.h - namenode <-> datanodes (registration, heartbeats, block
 * reports) and the client calls about blocks (allocate, abandon,
 * complete, locations, bad replicas, cluster report), with the modules
 * they drive: dnmanager, blockmap, placement.
 *
 * The handlers share the RPC port and the dispatch table of
 * nn_clientserv.c and have its handler signature: they get a decoded
 * request, answer it through the group commit (commit.h) and return 0
 * (-1 would close the connection).
 */
#ifndef NN_DNSERV_H
#define NN_DNSERV_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "conn.h"
#include "frame.h"

struct nn;

/* Signature of every RPC handler (nn_clientserv.c's table). */
typedef int (*handler_fn)(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                          ProtobufCMessage *req);

/* datanode -> namenode */
int nn_dnserv_register(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *req);
int nn_dnserv_heartbeat(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                        ProtobufCMessage *req);
int nn_dnserv_blockreport(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                          ProtobufCMessage *req);
/* client -> namenode, about blocks */
int nn_dnserv_addblock(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *req);
int nn_dnserv_abandon(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                      ProtobufCMessage *req);
int nn_dnserv_complete(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *req);
int nn_dnserv_locations(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                        ProtobufCMessage *req);
int nn_dnserv_badblock(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                       ProtobufCMessage *req);
int nn_dnserv_report(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     ProtobufCMessage *req);

/* on_block_removed callback of ns_delete/ns_rename/ns_create (arg: the
 * struct nn): drop the block from the block map and queue the deletion
 * of its replicas for their datanodes' next heartbeat answers. */
void nn_dnserv_block_removed(uint64_t block_id, void *arg);
/* The replication of file `path` (normalised) changed (setrep): update
 * the expected replication of its blocks.  Call after ns_setattr()
 * succeeded with NS_SET_REPL. */
void nn_dnserv_replication_changed(struct nn *nn, const char *path);

/* Module table entries (main.c), in this order: placement (topology
 * file), dnmanager (table + stale/dead timer), blockmap (built from the
 * namespace; hooks ns_set_block_removed).  Each init returns 0, or -1
 * with the reason logged; each shutdown frees what its init made. */
int nn_placement_init(struct nn *nn);
void nn_placement_shutdown(struct nn *nn);
int nn_dnmanager_init(struct nn *nn);
void nn_dnmanager_shutdown(struct nn *nn);
int nn_blockmap_init(struct nn *nn);
void nn_blockmap_shutdown(struct nn *nn);

#endif
