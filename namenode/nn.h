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
    struct dfs_listener *listener;
    const char *listen_addr;     /* "HOST:PORT" actually bound (the listener's) */
    uint64_t start_ms;
    uint64_t nrequests;
};

/* Start accepting RPC connections on conf.nn_address.  0, or -1 with a
 * message logged (address named). */
int nn_clientserv_init(struct nn *nn);
void nn_clientserv_shutdown(struct nn *nn);

/* Answer request h on c: through the group commit, so the answer waits
 * for the writes it may reveal.  nn_reply_status() sends only status and
 * error (every response message starts with those two fields). */
void nn_reply_msg(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                  const ProtobufCMessage *m);
void nn_reply_status(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     int status, const char *error);
/* Fill a wire FileStatus from s; its strings point into s. */
void nn_stat_to_wire(const struct ns_stat *s, Dfs__FileStatus *w);

/* Milliseconds since the epoch (wall clock). */
uint64_t nn_now_ms(void);

#endif
