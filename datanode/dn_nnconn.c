/*
 * dn_nnconn.c - the datanode's link to the namenode (see dn_nnconn.h).
 *
 * Two threads.  The link thread owns the dfs_rpc client: it registers,
 * heartbeats and sends reports.  The deleter thread unlinks the replicas
 * that CMD_DELETE names, so a burst of deletes on a busy disk never holds
 * up a heartbeat (HDFS runs them on its async disk service for the same
 * reason).  The event loop only touches the report queue (under the mutex)
 * and signals the condition variable; so do the recovery threads with
 * their commits.
 */
#include "dn_nnconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "blockstore.h"
#include "dfs.h"
#include "dfs.pb-c.h"
#include "frame.h"
#include "log.h"
#include "rpc.h"
#include "u64map.h"
#include "xmalloc.h"

#define RPC_TIMEOUT_MS   10000
#define RETRY_MS         1000

struct binfo {
    uint64_t id, gs, len;
};

struct blist {
    struct binfo *v;
    size_t n, cap;
};

/* A replica to report bad (ReportBadBlockReq). */
struct badrep {
    uint64_t id, gs;
    char *reason;                  /* owned */
};

struct badlist {
    struct badrep *v;
    size_t n, cap;
};

/* A block recovery's outcome to commit (CommitBlockSyncReq). */
struct csync {
    uint64_t id, gs, len;
    char **sids;                   /* owned, n of them */
    size_t n;
};

struct cslist {
    struct csync *v;
    size_t n, cap;
};

struct dn_nnconn {
    char nn_host[256];
    unsigned nn_port;
    char dn_host[256];
    unsigned dn_port;
    unsigned http_port;
    uint32_t interval_ms;          /* heartbeat interval in use */
    uint32_t report_split;         /* replicas per full report message */
    struct bs *bs;
    unsigned (*load)(void *arg);
    void *load_arg;
    dn_nnconn_replicate_fn replicate;
    void *replicate_arg;
    dn_nnconn_recover_fn recover;
    void *recover_arg;
    uint64_t (*fsyncs)(void *arg);
    void *fsyncs_arg;
    char domain_socket[108];       /* "": none */
    uint64_t (*sc_bytes)(void *arg);
    void *sc_bytes_arg;
    void (*bytes_read)(void *arg, uint64_t *local, uint64_t *remote);
    void *bytes_read_arg;

    struct dfs_rpc *rpc;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;             /* reports queued / stop */
    int stop;                      /* set under mu (atomic: the deleter polls it) */
    struct blist added, removed;   /* under mu: incremental report queue */
    struct blist doomed;           /* under mu: replicas to delete */
    struct badlist bad;            /* under mu: bad replicas to report */
    struct cslist commits;         /* under mu: recoveries to commit */
    pthread_cond_t del_cv;         /* doomed non-empty / stop */
    pthread_t deleter;
    int registered;                /* atomic: for dn_nnconn_registered */

    /* Thread-only state. */
    int link_state;                /* -1 unknown, 0 failing (logged), 1 ok */
    char advertised[256];          /* host sent in DatanodeId */
};

static void blist_push(struct blist *l, uint64_t id, uint64_t gs, uint64_t len)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (struct binfo){ id, gs, len };
}

/* Append src to dst (dst first keeps the order of events). */
static void blist_prepend(struct blist *dst, struct blist *src)
{
    if (src->n == 0)
        return;
    size_t n = dst->n + src->n;
    struct binfo *v = xmalloc(n * sizeof(*v));
    memcpy(v, src->v, src->n * sizeof(*v));
    if (dst->n)
        memcpy(v + src->n, dst->v, dst->n * sizeof(*v));
    free(dst->v);
    dst->v = v;
    dst->n = dst->cap = n;
    src->n = 0;
}

/* The link is up again / down: log the change, not every attempt. */
static void link_ok(struct dn_nnconn *nc)
{
    if (nc->link_state == 0)
        LOG_INFO("namenode %s:%u reachable again", nc->nn_host, nc->nn_port);
    nc->link_state = 1;
}

static void link_failed(struct dn_nnconn *nc, const char *what)
{
    if (nc->link_state != 0)
        LOG_WARN("%s namenode %s:%u failed: %s; retrying", what, nc->nn_host, nc->nn_port,
                 dfs_errmsg());
    else
        LOG_DEBUG("%s namenode %s:%u failed: %s", what, nc->nn_host, nc->nn_port, dfs_errmsg());
    nc->link_state = 0;
}

static int is_wildcard(const char *host)
{
    return !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
           strcmp(host, "*") == 0;
}

/* The address of this host on the route to the namenode (a connected UDP
 * socket sends nothing).  0, or -1 when it cannot be found. */
static int route_host(const char *nn_host, unsigned nn_port, char *out, size_t outsz)
{
    struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%u", nn_port);
    if (getaddrinfo(nn_host, port, &hints, &ai) != 0 || !ai)
        return -1;
    int rc = -1;
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
            getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)outsz, NULL, 0,
                        NI_NUMERICHOST) == 0)
            rc = 0;
    }
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    return rc;
}

/* ------------------------------------------------------------ messages */

struct report {
    Dfs__BlockInfo *infos;
    Dfs__BlockInfo **ptrs;
    size_t n, cap;
};

static Dfs__BlockInfo *report_add(struct report *r, uint64_t id, uint64_t gs, uint64_t len)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->infos = xrealloc(r->infos, r->cap * sizeof(*r->infos));
    }
    Dfs__BlockInfo *b = &r->infos[r->n++];
    dfs__block_info__init(b);
    b->id = id;
    b->genstamp = gs;
    b->length = len;
    return b;
}

/* Set BlockInfo.corrupt on the replicas the store has flagged bad (left
 * unset on the others: the wire stays as it was for them). */
static void report_flag_bad(struct dn_nnconn *nc, struct report *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (bs_is_bad(nc->bs, r->infos[i].id)) {
            r->infos[i].has_corrupt = 1;
            r->infos[i].corrupt = 1;
        }
}

/* Fix the pointer array once the infos no longer move. */
static Dfs__BlockInfo **report_ptrs(struct report *r)
{
    r->ptrs = xcalloc(r->n, sizeof(*r->ptrs));
    for (size_t i = 0; i < r->n; i++)
        r->ptrs[i] = &r->infos[i];
    return r->ptrs;
}

static void report_free(struct report *r)
{
    free(r->infos);
    free(r->ptrs);
    memset(r, 0, sizeof(*r));
}

static int collect_cb(uint64_t id, uint64_t gs, uint64_t len, void *arg)
{
    report_add(arg, id, gs, len);
    return 0;
}

/* The replicas being written or left unfinished, gathered apart. */
static int collect_rbw_cb(uint64_t id, uint64_t gs, uint64_t len, void *arg)
{
    Dfs__BlockInfo *b = report_add(arg, id, gs, len);
    b->has_rbw = 1;
    b->rbw = 1;
    return 0;
}

/* The full report: every finalized replica, then every RBW one (rbw set).
 * A replica found by both walks (finalized, or reopened for append, in
 * between) is listed once, with the newer genstamp (the finalized entry
 * on a tie).  Returns the number of RBW entries. */
static size_t collect_full(struct dn_nnconn *nc, struct report *rep)
{
    struct report rbw = { 0 };
    size_t nrbw = 0;
    bs_foreach(nc->bs, collect_cb, rep);
    bs_foreach_rbw(nc->bs, collect_rbw_cb, &rbw);
    if (rbw.n == 0)
        return 0;
    struct u64map at = { 0 };                 /* id -> index + 1 in rep */
    for (size_t i = 0; i < rep->n; i++)
        u64map_put(&at, rep->infos[i].id, (void *)(uintptr_t)(i + 1));
    for (size_t i = 0; i < rbw.n; i++) {
        const Dfs__BlockInfo *b = &rbw.infos[i];
        uintptr_t k = (uintptr_t)u64map_get(&at, b->id);
        if (!k) {
            Dfs__BlockInfo *e = report_add(rep, b->id, b->genstamp, b->length);
            e->has_rbw = e->rbw = 1;
            nrbw++;
        } else if (b->genstamp > rep->infos[k - 1].genstamp) {
            rep->infos[k - 1] = *b;
            nrbw++;
        }
    }
    u64map_free(&at);
    report_free(&rbw);
    return nrbw;
}

/* The rest of a full report begun by the registration: BlockReportReq
 * {full, continued} parts of at most report_split replicas, `more` on all
 * but the last.  DFS_OK or the failure (the next registration starts the
 * report over). */
static int send_report_parts(struct dn_nnconn *nc, Dfs__BlockInfo **blocks, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < nc->report_split ? n - done : nc->report_split;
        Dfs__BlockReportReq req = DFS__BLOCK_REPORT_REQ__INIT;
        req.storage_id = (char *)bs_storage_id(nc->bs);
        req.has_full = req.has_continued = req.has_more = 1;
        req.full = req.continued = 1;
        req.more = done + k < n;
        req.n_added = k;
        req.added = blocks + done;
        ProtobufCMessage *m = NULL;
        int rc = dfs_rpc_call(nc->rpc, DFS_MSG_BLOCKREPORT_REQ, &req.base,
                              &dfs__block_report_resp__descriptor, &m);
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        if (rc != DFS_OK) {
            LOG_WARN("namenode %s:%u: full block report, part at replica %zu of %zu: %s",
                     nc->nn_host, nc->nn_port, done, n, dfs_errmsg());
            return rc;
        }
        done += k;
    }
    return DFS_OK;
}

/* RegisterReq with a full report.  0 when the namenode accepted it. */
static int do_register(struct dn_nnconn *nc)
{
    if (is_wildcard(nc->dn_host)) {
        if (route_host(nc->nn_host, nc->nn_port, nc->advertised, sizeof(nc->advertised)) != 0)
            snprintf(nc->advertised, sizeof(nc->advertised), "127.0.0.1");
    } else {
        snprintf(nc->advertised, sizeof(nc->advertised), "%s", nc->dn_host);
    }

    /* The full report replaces whatever was queued before it. */
    pthread_mutex_lock(&nc->mu);
    nc->added.n = nc->removed.n = 0;
    pthread_mutex_unlock(&nc->mu);

    struct report rep = { 0 };
    size_t nrbw = collect_full(nc, &rep);
    report_flag_bad(nc, &rep);

    Dfs__RegisterReq req = DFS__REGISTER_REQ__INIT;
    Dfs__DatanodeId id = DFS__DATANODE_ID__INIT;
    id.storage_id = (char *)bs_storage_id(nc->bs);
    id.host = nc->advertised;
    id.port = nc->dn_port;
    if (nc->http_port) {
        id.has_http_port = 1;
        id.http_port = nc->http_port;
    }
    if (nc->domain_socket[0])
        id.domain_socket = nc->domain_socket;
    req.id = &id;
    bs_space(nc->bs, &req.capacity, &req.used, &req.remaining);
    req.has_remaining = 1;
    Dfs__BlockInfo **all = report_ptrs(&rep);
    size_t first = rep.n < nc->report_split ? rep.n : nc->report_split;
    req.n_blocks = first;
    req.blocks = all;
    req.has_more = 1;
    req.more = first < rep.n;

    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(nc->rpc, DFS_MSG_REGISTER_REQ, &req.base,
                          &dfs__register_resp__descriptor, &m);
    if (rc == DFS_OK && first < rep.n)
        rc = send_report_parts(nc, all + first, rep.n - first);
    if (rc == DFS_OK) {
        Dfs__RegisterResp *r = (Dfs__RegisterResp *)m;
        if (r->has_heartbeat_interval_ms && r->heartbeat_interval_ms >= 100)
            nc->interval_ms = r->heartbeat_interval_ms;
        LOG_INFO("registered with namenode %s:%u as %s (%s:%u, %zu blocks, %zu of them "
                 "being written or unfinished%s%s)", nc->nn_host, nc->nn_port, id.storage_id,
                 nc->advertised, nc->dn_port, rep.n, nrbw, r->cluster_id ? ", cluster " : "",
                 r->cluster_id ? r->cluster_id : "");
        nc->link_state = 1;
        __atomic_store_n(&nc->registered, 1, __ATOMIC_RELAXED);
    } else {
        link_failed(nc, "registering with");
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    report_free(&rep);
    return rc == DFS_OK ? 0 : -1;
}

/* Send the queued incremental reports.  0 sent (or nothing to send), -1
 * transport failure (queue kept), -2 refused by the namenode: register
 * again (its full report covers the queue). */
static int send_incremental(struct dn_nnconn *nc)
{
    struct blist added = { 0 }, removed = { 0 };
    pthread_mutex_lock(&nc->mu);
    added = nc->added;
    removed = nc->removed;
    memset(&nc->added, 0, sizeof(nc->added));
    memset(&nc->removed, 0, sizeof(nc->removed));
    pthread_mutex_unlock(&nc->mu);
    if (added.n == 0 && removed.n == 0) {
        free(added.v);
        free(removed.v);
        return 0;
    }

    struct report ra = { 0 }, rr = { 0 };
    for (size_t i = 0; i < added.n; i++)
        report_add(&ra, added.v[i].id, added.v[i].gs, added.v[i].len);
    report_flag_bad(nc, &ra);
    for (size_t i = 0; i < removed.n; i++)
        report_add(&rr, removed.v[i].id, removed.v[i].gs, removed.v[i].len);
    Dfs__BlockReportReq req = DFS__BLOCK_REPORT_REQ__INIT;
    req.storage_id = (char *)bs_storage_id(nc->bs);
    req.has_full = 1;
    req.full = 0;
    req.n_added = ra.n;
    req.added = report_ptrs(&ra);
    req.n_removed = rr.n;
    req.removed = report_ptrs(&rr);

    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(nc->rpc, DFS_MSG_BLOCKREPORT_REQ, &req.base,
                          &dfs__block_report_resp__descriptor, &m);
    int ret = 0;
    if (rc == DFS_OK) {
        LOG_DEBUG("reported %zu added, %zu removed replicas", added.n, removed.n);
        link_ok(nc);
    } else if (m) {
        LOG_WARN("namenode %s:%u refused a block report: %s; registering again",
                 nc->nn_host, nc->nn_port, dfs_errmsg());
        ret = -2;
    } else {
        link_failed(nc, "reporting blocks to");
        pthread_mutex_lock(&nc->mu);
        blist_prepend(&nc->added, &added);
        blist_prepend(&nc->removed, &removed);
        pthread_mutex_unlock(&nc->mu);
        ret = -1;
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    report_free(&ra);
    report_free(&rr);
    free(added.v);
    free(removed.v);
    return ret;
}

static void badlist_free(struct badlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].reason);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* Send the queued bad-replica reports, one ReportBadBlockReq each.  0 when
 * the queue is done (a report the namenode refuses, e.g. for a replica it
 * does not know, is logged and dropped), -1 on a transport failure: what
 * is left goes back to the front of the queue. */
static int send_bad(struct dn_nnconn *nc)
{
    pthread_mutex_lock(&nc->mu);
    struct badlist l = nc->bad;
    memset(&nc->bad, 0, sizeof(nc->bad));
    pthread_mutex_unlock(&nc->mu);

    size_t i = 0;
    int ret = 0;
    for (; i < l.n; i++) {
        Dfs__ReportBadBlockReq req = DFS__REPORT_BAD_BLOCK_REQ__INIT;
        Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
        eb.id = l.v[i].id;
        eb.genstamp = l.v[i].gs;
        req.block = &eb;
        req.storage_id = (char *)bs_storage_id(nc->bs);
        req.reason = l.v[i].reason;
        ProtobufCMessage *m = NULL;
        int rc = dfs_rpc_call(nc->rpc, DFS_MSG_BADBLOCK_REQ, &req.base,
                              &dfs__report_bad_block_resp__descriptor, &m);
        if (rc == DFS_OK) {
            LOG_INFO("reported bad replica blk_%llu (genstamp %llu) to the namenode",
                     (unsigned long long)eb.id, (unsigned long long)eb.genstamp);
            link_ok(nc);
        } else if (m) {
            LOG_INFO("namenode %s:%u refused the bad replica report of blk_%llu: %s",
                     nc->nn_host, nc->nn_port, (unsigned long long)eb.id, dfs_errmsg());
        } else {
            link_failed(nc, "reporting a bad replica to");
            ret = -1;
        }
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        if (ret < 0)
            break;
        free(l.v[i].reason);
    }
    if (i < l.n) {
        /* Put the rest back in front of what was queued meanwhile. */
        pthread_mutex_lock(&nc->mu);
        size_t rest = l.n - i, n = rest + nc->bad.n;
        struct badrep *v = xmalloc(n * sizeof(*v));
        memcpy(v, l.v + i, rest * sizeof(*v));
        if (nc->bad.n)
            memcpy(v + rest, nc->bad.v, nc->bad.n * sizeof(*v));
        free(nc->bad.v);
        nc->bad.v = v;
        nc->bad.n = nc->bad.cap = n;
        pthread_mutex_unlock(&nc->mu);
    }
    free(l.v);
    return ret;
}

static void csync_free(struct csync *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->sids[i]);
    free(c->sids);
    memset(c, 0, sizeof(*c));
}

static void cslist_free(struct cslist *l)
{
    for (size_t i = 0; i < l->n; i++)
        csync_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

/* Add c (taken over) to l, unless l has that block with a newer recovery
 * genstamp (then c is freed); an older one of the block is replaced. */
static void cslist_put(struct cslist *l, struct csync *c)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].id != c->id)
            continue;
        if (c->gs > l->v[i].gs) {
            csync_free(&l->v[i]);
            l->v[i] = *c;
        } else {
            csync_free(c);
        }
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = *c;
}

/* Send the queued recovery commits, one CommitBlockSyncReq each.  0 when
 * the queue is done (an answer other than OK is logged and dropped), -1
 * on a transport failure: what is left goes back into the queue. */
static int send_commits(struct dn_nnconn *nc)
{
    pthread_mutex_lock(&nc->mu);
    struct cslist l = nc->commits;
    memset(&nc->commits, 0, sizeof(nc->commits));
    pthread_mutex_unlock(&nc->mu);

    size_t i = 0;
    int ret = 0;
    for (; i < l.n; i++) {
        struct csync *c = &l.v[i];
        Dfs__CommitBlockSyncReq req = DFS__COMMIT_BLOCK_SYNC_REQ__INIT;
        Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
        eb.id = c->id;
        eb.genstamp = c->gs;
        eb.has_length = 1;
        eb.length = c->len;
        req.block = &eb;
        req.n_storage_ids = c->n;
        req.storage_ids = c->sids;
        ProtobufCMessage *m = NULL;
        int rc = dfs_rpc_call(nc->rpc, DFS_MSG_COMMIT_SYNC_REQ, &req.base,
                              &dfs__commit_block_sync_resp__descriptor, &m);
        if (rc == DFS_OK) {
            LOG_DEBUG("committed the recovery of blk_%llu (genstamp %llu, length %llu, "
                      "%zu replicas)", (unsigned long long)c->id, (unsigned long long)c->gs,
                      (unsigned long long)c->len, c->n);
            link_ok(nc);
        } else if (m) {
            LOG_WARN("namenode %s:%u refused the recovery of blk_%llu (genstamp %llu): %s",
                     nc->nn_host, nc->nn_port, (unsigned long long)c->id,
                     (unsigned long long)c->gs, dfs_errmsg());
        } else {
            link_failed(nc, "committing a block recovery to");
            ret = -1;
        }
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        if (ret < 0)
            break;
        csync_free(c);
    }
    if (i < l.n) {
        /* Back into the queue; a newer recovery queued meanwhile wins. */
        pthread_mutex_lock(&nc->mu);
        for (; i < l.n; i++)
            cslist_put(&nc->commits, &l.v[i]);
        pthread_mutex_unlock(&nc->mu);
    }
    free(l.v);
    return ret;
}

/* bs_foreach_rbw callback: the genstamp of RBW replica want->id. */
static int rbw_find_cb(uint64_t id, uint64_t gs, uint64_t len, void *arg)
{
    struct binfo *want = arg;
    if (id != want->id)
        return 0;
    want->gs = gs;
    want->len = len;
    return 1;
}

/* Delete one replica the namenode no longer wants (unless ours is newer:
 * finalized, or reopened in rbw/ under a newer genstamp since the command
 * was decided) and report it removed.  On the deleter thread. */
static void delete_one(struct dn_nnconn *nc, const struct binfo *b)
{
    uint64_t gs = 0, len = 0;
    struct binfo rbw = { b->id, 0, 0 };

    if (!bs_lookup(nc->bs, b->id, &gs, &len) && bs_foreach_rbw(nc->bs, rbw_find_cb, &rbw))
        gs = rbw.gs;
    if (gs > b->gs) {
        LOG_INFO("not deleting blk_%llu: ours has genstamp %llu, newer than %llu",
                 (unsigned long long)b->id, (unsigned long long)gs, (unsigned long long)b->gs);
        return;
    }
    int rc = bs_delete_upto(nc->bs, b->id, b->gs);
    if (rc == -ESTALE) {
        LOG_INFO("not deleting blk_%llu: reopened under a genstamp newer than %llu",
                 (unsigned long long)b->id, (unsigned long long)b->gs);
        return;
    }
    if (rc == -EBUSY) {
        LOG_INFO("not deleting blk_%llu: it is being written", (unsigned long long)b->id);
        return;
    }
    if (rc == 0)
        LOG_INFO("deleted blk_%llu (namenode command)", (unsigned long long)b->id);
    else if (rc != -ENOENT)
        LOG_WARN("deleting blk_%llu: %s", (unsigned long long)b->id, strerror(-rc));
    dn_nnconn_block_removed(nc, b->id, b->gs, len);
}

static void *deleter_main(void *arg)
{
    struct dn_nnconn *nc = arg;
    struct blist batch = { NULL, 0, 0 };

    pthread_mutex_lock(&nc->mu);
    for (;;) {
        while (!nc->stop && nc->doomed.n == 0)
            pthread_cond_wait(&nc->del_cv, &nc->mu);
        if (nc->stop)
            break;
        struct blist t = batch;
        batch = nc->doomed;
        nc->doomed = t;
        nc->doomed.n = 0;
        pthread_mutex_unlock(&nc->mu);
        for (size_t i = 0; i < batch.n && !__atomic_load_n(&nc->stop, __ATOMIC_RELAXED); i++)
            delete_one(nc, &batch.v[i]);
        pthread_mutex_lock(&nc->mu);
    }
    pthread_mutex_unlock(&nc->mu);
    free(batch.v);
    return NULL;
}

/* CMD_DELETE: hand the replicas to the deleter thread. */
static void cmd_delete(struct dn_nnconn *nc, const Dfs__DatanodeCommand *cmd)
{
    pthread_mutex_lock(&nc->mu);
    for (size_t i = 0; i < cmd->n_blocks; i++)
        blist_push(&nc->doomed, cmd->blocks[i]->id, cmd->blocks[i]->genstamp, 0);
    pthread_cond_signal(&nc->del_cv);
    pthread_mutex_unlock(&nc->mu);
}

/* CMD_REPLICATE: every block to the same targets, each handed on. */
static void cmd_replicate(struct dn_nnconn *nc, const Dfs__DatanodeCommand *cmd)
{
    if (!nc->replicate) {
        LOG_INFO("namenode command: replicate %zu blocks: no copier, ignored", cmd->n_blocks);
        return;
    }
    if (cmd->n_targets == 0) {
        LOG_WARN("namenode command: replicate %zu blocks to no datanode; ignored",
                 cmd->n_blocks);
        return;
    }
    for (size_t i = 0; i < cmd->n_blocks; i++)
        nc->replicate(nc->replicate_arg, cmd->blocks[i]->id, cmd->blocks[i]->genstamp,
                      cmd->blocks[i]->length, cmd->targets, cmd->n_targets);
}

/* CMD_RECOVER: each block handed on with the command's targets. */
static void cmd_recover(struct dn_nnconn *nc, const Dfs__DatanodeCommand *cmd)
{
    if (!nc->recover) {
        LOG_INFO("namenode command: recover %zu blocks: no recovery threads, ignored",
                 cmd->n_blocks);
        return;
    }
    if (cmd->n_targets == 0) {
        LOG_WARN("namenode command: recover %zu blocks with no datanode; ignored",
                 cmd->n_blocks);
        return;
    }
    for (size_t i = 0; i < cmd->n_blocks; i++)
        nc->recover(nc->recover_arg, cmd->blocks[i]->id, cmd->blocks[i]->genstamp,
                    cmd->min_genstamp, cmd->targets, cmd->n_targets);
}

/* HeartbeatReq and its commands.  0 ok, -1 transport failure, -2 register
 * again. */
static int do_heartbeat(struct dn_nnconn *nc)
{
    Dfs__HeartbeatReq req = DFS__HEARTBEAT_REQ__INIT;
    req.storage_id = (char *)bs_storage_id(nc->bs);
    bs_space(nc->bs, &req.capacity, &req.used, &req.remaining);
    req.has_remaining = 1;
    req.has_load = 1;
    req.load = nc->load ? nc->load(nc->load_arg) : 0;
    if (nc->fsyncs) {
        req.has_fsyncs = 1;
        req.fsyncs = nc->fsyncs(nc->fsyncs_arg);
    }
    if (nc->sc_bytes) {
        req.has_bytes_read_short_circuit = 1;
        req.bytes_read_short_circuit = nc->sc_bytes(nc->sc_bytes_arg);
    }
    if (nc->bytes_read) {
        req.has_bytes_read_local = req.has_bytes_read_remote = 1;
        nc->bytes_read(nc->bytes_read_arg, &req.bytes_read_local, &req.bytes_read_remote);
    }

    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(nc->rpc, DFS_MSG_HEARTBEAT_REQ, &req.base,
                          &dfs__heartbeat_resp__descriptor, &m);
    if (rc != DFS_OK && !m) {
        link_failed(nc, "heartbeat to");
        return -1;
    }
    if (rc != DFS_OK) {
        LOG_WARN("namenode %s:%u refused a heartbeat: %s; registering again", nc->nn_host,
                 nc->nn_port, dfs_errmsg());
        protobuf_c_message_free_unpacked(m, NULL);
        return -2;
    }
    link_ok(nc);
    int ret = 0;
    Dfs__HeartbeatResp *r = (Dfs__HeartbeatResp *)m;
    for (size_t i = 0; i < r->n_commands; i++) {
        const Dfs__DatanodeCommand *cmd = r->commands[i];
        switch (cmd->type) {
        case DFS__COMMAND_TYPE__CMD_REREGISTER:
            LOG_INFO("namenode %s:%u asks this datanode to register again", nc->nn_host,
                     nc->nn_port);
            ret = -2;
            break;
        case DFS__COMMAND_TYPE__CMD_DELETE:
            cmd_delete(nc, cmd);
            break;
        case DFS__COMMAND_TYPE__CMD_REPLICATE:
            cmd_replicate(nc, cmd);
            break;
        case DFS__COMMAND_TYPE__CMD_RECOVER:
            cmd_recover(nc, cmd);
            break;
        default:
            LOG_WARN("namenode command %d: unknown, ignored", (int)cmd->type);
            break;
        }
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return ret;
}

/* ------------------------------------------------------------ the thread */

/* Sleep until deadline (monotonic ms), stop, or -- when wake_on_queue --
 * a report is queued.  Called and returns with mu held. */
static void wait_until(struct dn_nnconn *nc, uint64_t deadline, int wake_on_queue)
{
    while (!nc->stop &&
           !(wake_on_queue && (nc->added.n || nc->removed.n || nc->bad.n || nc->commits.n))) {
        uint64_t now = dfs_mono_ms();
        if (now >= deadline)
            return;
        struct timespec ts = dfs_mono_after(deadline - now);
        pthread_cond_timedwait(&nc->cv, &nc->mu, &ts);
    }
}

static void *link_main(void *arg)
{
    struct dn_nnconn *nc = arg;
    int registered = 0;
    uint64_t next_hb = 0, retry_at = 0;

    pthread_mutex_lock(&nc->mu);
    while (!nc->stop) {
        pthread_mutex_unlock(&nc->mu);
        uint64_t now = dfs_mono_ms();
        if (!registered) {
            if (do_register(nc) == 0) {
                registered = 1;
                next_hb = dfs_mono_ms() + nc->interval_ms;
                retry_at = 0;
            } else {
                retry_at = dfs_mono_ms() + RETRY_MS;
            }
        } else {
            if (now >= retry_at) {
                int rc = send_incremental(nc);
                if (rc == 0)
                    rc = send_bad(nc);
                if (rc == 0)
                    rc = send_commits(nc);
                if (rc == -1)
                    retry_at = dfs_mono_ms() + RETRY_MS;
                else if (rc == -2)
                    registered = 0;
            }
            if (registered && dfs_mono_ms() >= next_hb) {
                int rc = do_heartbeat(nc);
                next_hb = dfs_mono_ms() + nc->interval_ms;
                if (rc == -2)
                    registered = 0;
            }
        }
        if (!registered)
            __atomic_store_n(&nc->registered, 0, __ATOMIC_RELAXED);
        pthread_mutex_lock(&nc->mu);
        if (!registered)
            wait_until(nc, retry_at ? retry_at : dfs_mono_ms(), 0);
        else if (retry_at > dfs_mono_ms())
            wait_until(nc, retry_at < next_hb ? retry_at : next_hb, 0);
        else
            wait_until(nc, next_hb, 1);
    }
    pthread_mutex_unlock(&nc->mu);
    return NULL;
}

static void stop_deleter(struct dn_nnconn *nc)
{
    pthread_mutex_lock(&nc->mu);
    __atomic_store_n(&nc->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&nc->del_cv);
    pthread_mutex_unlock(&nc->mu);
    pthread_join(nc->deleter, NULL);
}

struct dn_nnconn *dn_nnconn_start(const struct dn_nnconn_cfg *cfg, char *err, size_t errsz)
{
    struct dn_nnconn *nc = xcalloc(1, sizeof(*nc));
    snprintf(nc->nn_host, sizeof(nc->nn_host), "%s", cfg->nn_host);
    nc->nn_port = cfg->nn_port;
    snprintf(nc->dn_host, sizeof(nc->dn_host), "%s", cfg->dn_host);
    nc->dn_port = cfg->dn_port;
    nc->http_port = cfg->http_port;
    nc->interval_ms = cfg->heartbeat_ms ? cfg->heartbeat_ms : 3000;
    nc->report_split = cfg->report_split ? cfg->report_split : UINT32_MAX;
    nc->bs = cfg->bs;
    nc->load = cfg->load;
    nc->load_arg = cfg->load_arg;
    nc->replicate = cfg->replicate;
    nc->replicate_arg = cfg->replicate_arg;
    nc->recover = cfg->recover;
    nc->recover_arg = cfg->recover_arg;
    nc->fsyncs = cfg->fsyncs;
    nc->fsyncs_arg = cfg->fsyncs_arg;
    snprintf(nc->domain_socket, sizeof(nc->domain_socket), "%s",
             cfg->domain_socket ? cfg->domain_socket : "");
    nc->sc_bytes = cfg->sc_bytes;
    nc->sc_bytes_arg = cfg->sc_bytes_arg;
    nc->bytes_read = cfg->bytes_read;
    nc->bytes_read_arg = cfg->bytes_read_arg;
    nc->link_state = -1;
    nc->rpc = dfs_rpc_new(nc->nn_host, nc->nn_port, RPC_TIMEOUT_MS);
    if (!nc->rpc)
        xmalloc_oom();
    pthread_mutex_init(&nc->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&nc->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&nc->del_cv, NULL);
    int rc = pthread_create(&nc->deleter, NULL, deleter_main, nc);
    if (rc != 0) {
        snprintf(err, errsz, "cannot start the replica deleter thread: %s", strerror(rc));
        goto fail;
    }
    rc = pthread_create(&nc->thread, NULL, link_main, nc);
    if (rc != 0) {
        snprintf(err, errsz, "cannot start the namenode link thread: %s", strerror(rc));
        stop_deleter(nc);
        goto fail;
    }
    return nc;

fail:
    dfs_rpc_free(nc->rpc);
    pthread_cond_destroy(&nc->del_cv);
    pthread_cond_destroy(&nc->cv);
    pthread_mutex_destroy(&nc->mu);
    free(nc);
    return NULL;
}

void dn_nnconn_stop(struct dn_nnconn *nc)
{
    if (!nc)
        return;
    pthread_mutex_lock(&nc->mu);
    __atomic_store_n(&nc->stop, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&nc->cv);
    pthread_mutex_unlock(&nc->mu);
    pthread_join(nc->thread, NULL);
    stop_deleter(nc);
    dfs_rpc_free(nc->rpc);
    pthread_cond_destroy(&nc->del_cv);
    pthread_cond_destroy(&nc->cv);
    pthread_mutex_destroy(&nc->mu);
    free(nc->added.v);
    free(nc->removed.v);
    free(nc->doomed.v);
    badlist_free(&nc->bad);
    cslist_free(&nc->commits);
    free(nc);
}

static void queue_report(struct dn_nnconn *nc, struct blist *l, uint64_t id, uint64_t gs,
                         uint64_t len)
{
    pthread_mutex_lock(&nc->mu);
    blist_push(l, id, gs, len);
    pthread_cond_signal(&nc->cv);
    pthread_mutex_unlock(&nc->mu);
}

void dn_nnconn_block_added(struct dn_nnconn *nc, uint64_t id, uint64_t gs, uint64_t len)
{
    queue_report(nc, &nc->added, id, gs, len);
}

void dn_nnconn_block_removed(struct dn_nnconn *nc, uint64_t id, uint64_t gs, uint64_t len)
{
    queue_report(nc, &nc->removed, id, gs, len);
}

void dn_nnconn_report_bad(struct dn_nnconn *nc, uint64_t id, uint64_t gs, const char *reason)
{
    char *r = xstrdup(reason ? reason : "");
    pthread_mutex_lock(&nc->mu);
    struct badlist *l = &nc->bad;
    size_t i = 0;
    while (i < l->n && !(l->v[i].id == id && l->v[i].gs == gs))
        i++;
    if (i < l->n) {
        free(l->v[i].reason);          /* already queued: newest reason */
    } else {
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 16;
            l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
        }
        l->v[l->n++] = (struct badrep){ id, gs, NULL };
    }
    l->v[i].reason = r;
    pthread_cond_signal(&nc->cv);
    pthread_mutex_unlock(&nc->mu);
}

void dn_nnconn_commit_sync(struct dn_nnconn *nc, uint64_t id, uint64_t gs, uint64_t len,
                           const char *const *storage_ids, size_t n)
{
    struct csync c = { .id = id, .gs = gs, .len = len, .n = n };
    c.sids = xcalloc(n ? n : 1, sizeof(*c.sids));
    for (size_t i = 0; i < n; i++)
        c.sids[i] = xstrdup(storage_ids[i] ? storage_ids[i] : "");
    pthread_mutex_lock(&nc->mu);
    cslist_put(&nc->commits, &c);
    pthread_cond_signal(&nc->cv);
    pthread_mutex_unlock(&nc->mu);
}

int dn_nnconn_registered(struct dn_nnconn *nc)
{
    return __atomic_load_n(&nc->registered, __ATOMIC_RELAXED);
}
