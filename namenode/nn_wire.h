/*
 * nn_wire.h - conversions from the namenode's records to wire messages,
 * shared by the handler modules.
 *
 * Every filled message points into the record it came from (strings are
 * not copied): send it before that record changes.  Runs on the event
 * loop thread.
 */
#ifndef NN_WIRE_H
#define NN_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "conn.h"
#include "dfs.pb-c.h"
#include "namespace.h"

struct nn;
struct bm_block;
struct dm_node;

/* Fill a wire FileStatus from s. */
void nn_stat_to_wire(const struct ns_stat *s, Dfs__FileStatus *w);
/* Fill the wire identity of datanode dn. */
void nn_dn_to_wire(const struct dm_node *dn, Dfs__DatanodeId *w);
/* The reader's or writer's host: `given` when set, else the host part of
 * the peer address of c, written into buf[sz]. */
const char *nn_client_host(const char *given, struct dfs_conn *c, char *buf, size_t sz);

/* A LocatedBlock being built for an answer; free with nn_located_free. */
struct nn_located {
    Dfs__LocatedBlock lb;
    Dfs__ExtendedBlock eb;
    Dfs__DatanodeId *ids;
    Dfs__DatanodeId **idp;
    protobuf_c_boolean *corrupt;
};

/* l for block (id, gs, len) at file offset `offset` with the datanodes
 * dns[n] (none corrupt). */
void nn_located_init(struct nn_located *l, uint64_t id, uint64_t gs, uint64_t len,
                     uint64_t offset, struct dm_node *const *dns, size_t n);
/* l for block b: its replicas on datanodes that are not dead, sorted for
 * a reader at (host, rack) (placement.h), corrupt ones flagged. */
void nn_located_replicas(struct nn *nn, struct nn_located *l, const struct bm_block *b,
                         uint64_t offset, uint64_t length, const char *host, const char *rack);
/* l for b, the last block of a file under construction (under_construction
 * set): the datanodes, not dead, of its expected locations (bm_pipeline,
 * but those known with an older genstamp only) and of its reported replicas, each once, sorted for a reader at
 * (host, rack). */
void nn_located_uc(struct nn *nn, struct nn_located *l, const struct bm_block *b,
                   uint64_t offset, uint64_t length, const char *host, const char *rack);
void nn_located_free(struct nn_located *l);

#endif
