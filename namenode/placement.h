/*
 * placement.h - where replicas go, and in which order readers try them.
 *
 * Topology: namenode.topology_file maps datanode addresses to racks, one
 * "ADDRESS RACK" per line, ADDRESS an IP ("10.0.0.5", "::1") or IP:PORT
 * ("10.0.0.5:9866", "[::1]:9866"; the port one wins), RACK a name like
 * "/dc1/rack2" (a leading '/' is added when missing); '#' starts a
 * comment.  An address the file does not name, or every address when
 * there is no file, is on rack "/default".
 *
 * Choosing a pipeline (pl_choose_targets): distinct datanodes, in service
 * only (LIVE, not decommissioning: dm_in_service), none of the excluded storage ids; the writer's
 * own datanode first when the writer's host is a datanode's host; with
 * more than one rack, replica 2 on another rack than replica 1 and
 * replica 3 on replica 2's rack; every choice among the candidates is
 * "the better of two at random" by free space and load, so load spreads
 * and no node is always picked.  Datanodes with less free space than one
 * block are used only when nothing else is left.
 *
 * Sorting for a reader (pl_sort_replicas): by distance from the reader,
 * 0 same host < 2 same rack < 4 another rack; replicas on stale datanodes
 * after every live one; corrupt replicas last of all; ties in random
 * order, so reads spread over equal replicas.
 *
 * Runs on the namenode's event loop thread only.
 */
#ifndef NN_PLACEMENT_H
#define NN_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>
#include "dnmanager.h"

#define PL_DEFAULT_RACK "/default"

struct placement;

/* Load the topology file `path` (NULL or "": one rack) and seed the random
 * choices with `seed` (0: from the clock and pid).  NULL with
 * "FILE:LINE: problem" (or "FILE: strerror") in err on failure. */
struct placement *pl_new(const char *path, uint64_t seed, char *err, size_t errsz);
void pl_free(struct placement *pl);

/* Rack of a datanode at host:port: the IP:PORT line, else the IP line,
 * else "/default".  Owned by pl. */
const char *pl_rack(const struct placement *pl, const char *host, unsigned port);
/* Rack of a reader at host: the rack of a datanode registered on that
 * host, else the topology's line for the host, else "/default". */
const char *pl_client_rack(const struct placement *pl, const struct dnmanager *dm,
                           const char *host);

/* Choose up to `want` targets for a new block, as above, into out[want]:
 * min(want, candidates) of them, in pipeline order.  client_host may be
 * NULL; exclude[nexclude] are storage ids.  Returns how many were chosen
 * (0: no live datanode is left). */
size_t pl_choose_targets(struct placement *pl, const struct dnmanager *dm, unsigned want,
                         const char *client_host, char *const *exclude, size_t nexclude,
                         uint64_t block_size, struct dm_node **out);

/* Choose up to `want` more datanodes for an existing block
 * (re-replication) into out[want]: in service (LIVE, admin NORMAL), none
 * whose slot is set in skip[dm_count(dm)] (the datanodes already holding
 * or receiving a replica; skip may be NULL), the better of two at random
 * by space and load; when the replicas kept, have[nhave], all sit on one
 * rack, the first choice is on another rack when one exists.  Returns how
 * many were chosen. */
size_t pl_choose_more(struct placement *pl, const struct dnmanager *dm, unsigned want,
                      const struct dm_node *const *have, size_t nhave,
                      const unsigned char *skip, uint64_t block_size, struct dm_node **out);

/* A replica to sort for a reader. */
struct pl_replica {
    const struct dm_node *dn;
    int corrupt;
};

/* Distance between a reader (host, rack) and datanode dn: 0, 2 or 4. */
int pl_distance(const char *host, const char *rack, const struct dm_node *dn);
/* Sort r[n] in place for a reader at client_host on client_rack (either
 * may be NULL: no locality). */
void pl_sort_replicas(struct placement *pl, const char *client_host, const char *client_rack,
                      struct pl_replica *r, size_t n);

#endif
