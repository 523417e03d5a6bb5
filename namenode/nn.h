/*
 * nn.h - the namenode's process-wide state, shared by its modules.
 */
#ifndef NN_NN_H
#define NN_NN_H

#include <event2/event.h>
#include "commit.h"
#include "dfs.pb-c.h"
#include "config.h"
#include "metastore.h"
#include "namespace.h"

struct dnmanager;
struct blockmap;
struct placement;
struct dfs_listener;
struct replmon;
struct safemode;
struct leases;
struct nn_recovery;

/* Event priorities: I/O runs at the default (NN_PRIO_IO); the group commit
 * kick runs after every I/O callback of the same loop turn. */
#define NN_PRIORITIES 3
#define NN_PRIO_IO    1
#define NN_PRIO_LOW   2

struct nn {
    struct dfs_conf conf;
    struct event_base *base;
    struct metastore *ms;
    struct ns *ns;
    struct commit *commit;
    struct placement *pl;        /* topology, pipeline choice (placement.h) */
    struct dnmanager *dm;        /* datanode table (dnmanager.h) */
    struct blockmap *bm;         /* blocks and replicas (blockmap.h) */
    struct replmon *rm;          /* replication monitor (replmon.h) */
    struct safemode *sm;         /* safe mode (safemode.h) */
    struct leases *leases;       /* writers' leases (lease.h, owned by nn_recovery.c) */
    struct nn_recovery *recovery;  /* recoveries in progress (nn_recovery.h) */
    struct dfs_listener *listener;
    const char *listen_addr;     /* "HOST:PORT" actually bound (the listener's) */
    uint64_t start_ms;
    uint64_t nrequests;
};

/* Module table entries (main.c) of the handler modules: each registers
 * its RPC handlers (nn_rpc.h).  0, or -1 with the reason logged. */
int nn_clientserv_init(struct nn *nn);    /* namespace calls (nn_clientserv.c) */
int nn_blockserv_init(struct nn *nn);     /* client block calls (nn_blockserv.c) */
int nn_writeserv_init(struct nn *nn);     /* leases, pipeline recovery, append (nn_writeserv.c) */
int nn_dnserv_init(struct nn *nn);        /* datanode calls (nn_dnserv.c) */
int nn_adminserv_init(struct nn *nn);     /* report, safe mode, decommission (nn_adminserv.c) */
int nn_fsck_init(struct nn *nn);          /* block health for fsck (nn_fsck.c) */

#endif
