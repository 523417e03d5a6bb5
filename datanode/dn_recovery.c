/*
 * dn_recovery.c - block recovery as the primary datanode (see
 * dn_recovery.h).
 *
 * One recovery runs on one thread with blocking, timed sockets (sock.h),
 * one per target.  A phase connects to each target in turn, sends its
 * request on every connection first and only then reads the answers, all
 * against one deadline: the targets work at the same time, and a stopped
 * or hung target costs the phase's timeout once, not once per target.
 * Every phase uses fresh connections (a transfer port answers any number
 * of requests on one connection, but a fresh one needs no idle-timeout
 * bookkeeping and costs a round trip on loopback or a LAN).
 *
 * The pool is dn_copy.c's: a FIFO of jobs under one mutex, `threads`
 * workers taking them.  A worker publishes the recovery in flight (its
 * peers' sockets are written under the mutex), so dn_recovery_stop can
 * shut every socket down: whatever the recovery waits on then fails at
 * once, and the worker sees `stop` and quits.
 */
#include "dn_recovery.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "dfs.h"
#include "frame.h"
#include "log.h"
#include "sock.h"
#include "xmalloc.h"

#define REQID 1

/* ============================================================ settling */

enum dn_rec_settle dn_recovery_settle(uint64_t recovery_gs, uint64_t min_gs,
                                      const struct dn_rec_answer *a, size_t n, int *keep,
                                      uint64_t *len, char *why, size_t whysz)
{
    size_t nok = 0, noent = 0, nstale = 0, nfail = 0;
    uint64_t best = 0;
    char dummy[1];
    if (!why || !whysz) {
        why = dummy;
        whysz = sizeof(dummy);
    }
    why[0] = '\0';
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        keep[i] = 0;
        if (a[i].status == DFS_OK && a[i].gs <= recovery_gs) {
            if (nok++ == 0 || a[i].gs > best)
                best = a[i].gs;
        } else if (a[i].status == DFS_OK || a[i].status == DFS_ERR_STALE) {
            nstale++;
        } else if (a[i].status == DFS_ERR_NOENT) {
            noent++;
        } else {
            nfail++;
        }
    }
    if (nstale) {
        snprintf(why, whysz, "%zu replica%s a genstamp newer than the recovery's (%llu): "
                 "a later recovery superseded this one", nstale, nstale == 1 ? " has" : "s have",
                 (unsigned long long)recovery_gs);
        return DN_REC_UNSETTLED;
    }
    if (nok == 0) {
        if (n > 0 && noent == n)
            return DN_REC_NO_REPLICA;
        if (n == 0)
            snprintf(why, whysz, "no target datanode");
        else if (nfail == n)
            snprintf(why, whysz, "no target datanode answered");
        else
            snprintf(why, whysz, "no replica found, but %zu of %zu target%s did not answer "
                     "(one may hold the only replica)", nfail, n, n == 1 ? "" : "s");
        return DN_REC_UNSETTLED;
    }

    if (nfail > 0 && best < min_gs) {
        snprintf(why, whysz, "%zu of %zu target%s did not answer and the replicas found have "
                 "genstamp %llu, older than the newest pipeline's (%llu): one that did not "
                 "answer may hold more", nfail, n, n == 1 ? "" : "s",
                 (unsigned long long)best, (unsigned long long)min_gs);
        return DN_REC_UNSETTLED;
    }

    /* The newest pipeline's replicas: finalized ones fix the length. */
    int have_fin = 0;
    uint64_t l = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (a[i].status == DFS_OK && a[i].gs == best && a[i].finalized) {
            have_fin = 1;
            if (a[i].len < l)
                l = a[i].len;
        }
    if (!have_fin)
        for (size_t i = 0; i < n; i++)
            if (a[i].status == DFS_OK && a[i].gs == best && a[i].len < l)
                l = a[i].len;
    for (size_t i = 0; i < n; i++)
        keep[i] = a[i].status == DFS_OK && a[i].gs == best && a[i].len >= l;
    *len = l;
    return DN_REC_SETTLED;
}

/* ============================================================ one recovery */

/* One target of a recovery. */
struct peer {
    Dfs__DatanodeId id;            /* host and storage_id owned */
    struct dfs_sock sk;            /* fd -1: not connected; under rec->mu when it has one */
    int status;                    /* of the last phase */
    char err[256];                 /* its reason when not OK */
};

struct rec {
    uint64_t id, gs;
    uint64_t min_gs;               /* CMD_RECOVER's min_genstamp */
    size_t n;
    struct peer *p;                /* n of them */
    int timeout_ms;
    pthread_mutex_t *mu;           /* NULL: nothing can cancel it */
    const int *stop;               /* set under mu; read atomically */
    int superseded;                /* set under mu (read atomically): a newer
                                    * recovery of the block takes over */
};

/* 1 when the recovery is to be abandoned: the pool stops, or a newer
 * recovery of the block superseded it. */
static int stopping(const struct rec *r)
{
    return (r->stop && __atomic_load_n(r->stop, __ATOMIC_RELAXED)) ||
           __atomic_load_n(&r->superseded, __ATOMIC_RELAXED);
}

static void peer_fail(struct peer *p, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void peer_fail(struct peer *p, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof(p->err), fmt, ap);
    va_end(ap);
    p->status = status;
}

/* Connect to p, publishing the socket for cancellation.  0, or -1 with
 * p's status set. */
static int peer_connect(struct rec *r, struct peer *p)
{
    struct dfs_sock s;
    char msg[300];
    int ct = r->timeout_ms < DN_RECOVERY_CONNECT_MS ? r->timeout_ms : DN_RECOVERY_CONNECT_MS;
    int rc = dfs_sock_connect(&s, p->id.host, p->id.port, ct, msg, sizeof(msg));
    if (rc) {
        peer_fail(p, rc == -ETIMEDOUT ? DFS_ERR_TIMEOUT : DFS_ERR_CONN, "cannot connect: %s",
                  msg);
        return -1;
    }
    s.timeout_ms = r->timeout_ms;
    int stop = 0;
    if (r->mu) {
        pthread_mutex_lock(r->mu);
        stop = *r->stop || r->superseded;
        if (!stop)
            p->sk = s;
        pthread_mutex_unlock(r->mu);
    } else {
        p->sk = s;
    }
    if (stop) {
        dfs_sock_close(&s);
        peer_fail(p, DFS_ERR_CONN, "abandoned");
        return -1;
    }
    return 0;
}

static void peer_close(struct rec *r, struct peer *p)
{
    if (p->sk.fd < 0)
        return;
    if (r->mu)
        pthread_mutex_lock(r->mu);
    dfs_sock_close(&p->sk);
    p->sk.fd = -1;
    if (r->mu)
        pthread_mutex_unlock(r->mu);
}

static int transport_status(int rc)
{
    return rc == -ETIMEDOUT ? DFS_ERR_TIMEOUT : rc == -EPROTO ? DFS_ERR_PROTO : DFS_ERR_CONN;
}

/* Decode p's answer to `type` (h, body): p's status, and for
 * InitRecovery the replica it describes in *ans. */
static void peer_answer(struct peer *p, uint16_t type, const struct dfs_frame_hdr *h,
                        const uint8_t *body, struct dn_rec_answer *ans)
{
    if (h->type != (type | 1) || h->reqid != REQID) {
        peer_fail(p, DFS_ERR_PROTO, "unexpected answer (message 0x%x)", h->type);
        return;
    }
    int st;
    const char *error;
    if (type == DFS_MSG_INIT_RECOVERY_REQ) {
        Dfs__InitRecoveryResp *m = dfs__init_recovery_resp__unpack(NULL, h->len, body);
        if (!m) {
            peer_fail(p, DFS_ERR_PROTO, "malformed InitRecovery answer");
            return;
        }
        st = (int)m->status;
        error = m->error;
        if (st == DFS_OK && (!m->has_length || !m->has_genstamp)) {
            st = DFS_ERR_PROTO;
            error = "InitRecovery answer without length or genstamp";
        }
        if (st == DFS_OK) {
            ans->gs = m->genstamp;
            ans->len = m->length;
            ans->finalized = m->has_finalized && m->finalized;
        } else {
            peer_fail(p, st, "%s", error && *error ? error : dfs_strerror(st));
        }
        dfs__init_recovery_resp__free_unpacked(m, NULL);
    } else {
        Dfs__FinishRecoveryResp *m = dfs__finish_recovery_resp__unpack(NULL, h->len, body);
        if (!m) {
            peer_fail(p, DFS_ERR_PROTO, "malformed FinishRecovery answer");
            return;
        }
        st = (int)m->status;
        error = m->error;
        if (st != DFS_OK)
            peer_fail(p, st, "%s", error && *error ? error : dfs_strerror(st));
        dfs__finish_recovery_resp__free_unpacked(m, NULL);
    }
}

/* One phase: `type` (InitRecovery or FinishRecovery) with block (id, gs,
 * len when with_len) to every peer i with want[i], all at once, the
 * answers awaited against one deadline.  Sets each such peer's status
 * and, for InitRecovery, ans[i].  Returns -1 when the pool stopped
 * meanwhile. */
static int phase(struct rec *r, const int *want, uint16_t type, uint64_t len, int with_len,
                 struct dn_rec_answer *ans)
{
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    eb.id = r->id;
    eb.genstamp = r->gs;
    if (with_len) {
        eb.has_length = 1;
        eb.length = len;
    }
    Dfs__InitRecoveryReq ireq = DFS__INIT_RECOVERY_REQ__INIT;
    Dfs__FinishRecoveryReq freq = DFS__FINISH_RECOVERY_REQ__INIT;
    ireq.block = freq.block = &eb;
    const ProtobufCMessage *req = type == DFS_MSG_INIT_RECOVERY_REQ ? &ireq.base : &freq.base;

    for (size_t i = 0; i < r->n; i++) {
        struct peer *p = &r->p[i];
        if (!want[i])
            continue;
        p->status = DFS_OK;
        p->err[0] = '\0';
        if (ans)
            ans[i] = (struct dn_rec_answer){ .status = DFS_OK };
        if (stopping(r)) {
            peer_fail(p, DFS_ERR_CONN, "abandoned");
            continue;
        }
        if (peer_connect(r, p) != 0)
            continue;
        int rc = dfs_sock_send_msg(&p->sk, type, REQID, req);
        if (rc) {
            peer_fail(p, transport_status(rc), "cannot send: %s", strerror(-rc));
            peer_close(r, p);
        }
    }

    uint64_t deadline = dfs_mono_ms() + (uint64_t)r->timeout_ms;
    uint8_t *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < r->n; i++) {
        struct peer *p = &r->p[i];
        if (!want[i])
            continue;
        if (p->sk.fd >= 0) {
            uint64_t now = dfs_mono_ms();
            p->sk.timeout_ms = now < deadline ? (int)(deadline - now) : 1;
            struct dfs_frame_hdr h;
            int rc = dfs_sock_recv_frame(&p->sk, &h, &buf, &cap, DFS_FRAME_MAX_CONTROL);
            if (rc == -ETIMEDOUT)
                peer_fail(p, DFS_ERR_TIMEOUT, "no answer within %d ms", r->timeout_ms);
            else if (rc)
                peer_fail(p, transport_status(rc), "%s", strerror(-rc));
            else
                peer_answer(p, type, &h, buf, ans ? &ans[i] : NULL);
            peer_close(r, p);
        }
        if (ans)
            ans[i].status = p->status;
    }
    free(buf);
    return stopping(r) ? -1 : 0;
}

/* "host:port: reason; ..." of the peers with want[i] that failed. */
static void failures(const struct rec *r, const int *want, char *out, size_t outsz)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < r->n && at < outsz; i++) {
        const struct peer *p = &r->p[i];
        if (!want[i] || p->status == DFS_OK)
            continue;
        int k = snprintf(out + at, outsz - at, "%s%s:%u: %s", at ? "; " : "", p->id.host,
                         p->id.port, p->err[0] ? p->err : dfs_strerror(p->status));
        if (k < 0)
            break;
        at += (size_t)k;
    }
}

/* The whole recovery (see dn_recovery.h); logged. */
static enum dn_recovery_result recover(struct rec *r, dn_recovery_commit_fn commit, void *arg)
{
    int *want = xcalloc(r->n ? r->n : 1, sizeof(*want));
    int *keep = xcalloc(r->n ? r->n : 1, sizeof(*keep));
    struct dn_rec_answer *ans = xcalloc(r->n ? r->n : 1, sizeof(*ans));
    const char **sids = xcalloc(r->n ? r->n : 1, sizeof(*sids));
    char why[256], fails[1024];
    enum dn_recovery_result res = DN_RECOVERY_FAILED;
    uint64_t t0 = dfs_mono_ms();

    for (size_t i = 0; i < r->n; i++)
        want[i] = 1;
    if (phase(r, want, DFS_MSG_INIT_RECOVERY_REQ, 0, 0, ans) != 0) {
        res = DN_RECOVERY_STOPPED;
        goto out;
    }
    failures(r, want, fails, sizeof(fails));
    uint64_t len = 0;
    enum dn_rec_settle s = dn_recovery_settle(r->gs, r->min_gs, ans, r->n, keep, &len, why, sizeof(why));
    if (s == DN_REC_UNSETTLED) {
        LOG_WARN("recovery of blk_%llu (genstamp %llu) given up: %s%s%s",
                 (unsigned long long)r->id, (unsigned long long)r->gs, why,
                 fails[0] ? "; " : "", fails);
        goto out;
    }
    if (s == DN_REC_NO_REPLICA) {
        if (stopping(r)) {
            res = DN_RECOVERY_STOPPED;
            goto out;
        }
        LOG_INFO("recovered blk_%llu (genstamp %llu): no replica on any of %zu datanodes; "
                 "committing length 0", (unsigned long long)r->id, (unsigned long long)r->gs,
                 r->n);
        commit(arg, r->id, r->gs, 0, sids, 0);
        res = DN_RECOVERY_COMMITTED;
        goto out;
    }

    if (phase(r, keep, DFS_MSG_FINISH_RECOVERY_REQ, len, 1, NULL) != 0) {
        res = DN_RECOVERY_STOPPED;
        goto out;
    }
    size_t ndone = 0;
    char names[1024];
    size_t at = 0;
    names[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        if (!keep[i] || r->p[i].status != DFS_OK)
            continue;
        sids[ndone++] = r->p[i].id.storage_id;
        if (at < sizeof(names)) {
            int k = snprintf(names + at, sizeof(names) - at, "%s%s:%u", at ? "," : "",
                             r->p[i].id.host, r->p[i].id.port);
            if (k > 0)
                at += (size_t)k;
        }
    }
    char ffails[1024];
    failures(r, keep, ffails, sizeof(ffails));
    if (stopping(r)) {
        res = DN_RECOVERY_STOPPED;
        goto out;
    }
    if (ndone == 0) {
        LOG_WARN("recovery of blk_%llu (genstamp %llu) given up: no replica could be "
                 "finalized at length %llu: %s", (unsigned long long)r->id,
                 (unsigned long long)r->gs, (unsigned long long)len, ffails);
        goto out;
    }
    LOG_INFO("recovered blk_%llu (genstamp %llu): length %llu on %zu of %zu datanodes "
             "(%s) in %llu ms%s%s", (unsigned long long)r->id, (unsigned long long)r->gs,
             (unsigned long long)len, ndone, r->n, names,
             (unsigned long long)(dfs_mono_ms() - t0), ffails[0] ? "; failed: " : "", ffails);
    if (fails[0])
        LOG_DEBUG("recovery of blk_%llu: InitRecovery failures: %s", (unsigned long long)r->id,
                  fails);
    commit(arg, r->id, r->gs, len, sids, ndone);
    res = DN_RECOVERY_COMMITTED;

out:
    if (res == DN_RECOVERY_STOPPED)
        LOG_INFO("recovery of blk_%llu (genstamp %llu) abandoned: %s", (unsigned long long)r->id,
                 (unsigned long long)r->gs,
                 __atomic_load_n(&r->superseded, __ATOMIC_RELAXED)
                 ? "a newer recovery of the block superseded it" : "the datanode is stopping");
    free(want);
    free(keep);
    free(ans);
    free(sids);
    return res;
}

/* ============================================================ jobs */

struct job {
    struct job *next;
    struct rec r;
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->r.n; i++) {
        free(j->r.p[i].id.host);
        free(j->r.p[i].id.storage_id);
    }
    free(j->r.p);
    free(j);
}

/* 1 when target t is usable (host and port). */
static int target_ok(const Dfs__DatanodeId *t)
{
    return t && t->host && *t->host && t->port && t->port <= 65535;
}

/* A job for (id, gs) with the valid targets, each address once; NULL
 * when none is valid. */
static struct job *job_new(uint64_t id, uint64_t gs, uint64_t min_gs,
                           Dfs__DatanodeId *const *targets, size_t n, int timeout_ms)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->r.id = id;
    j->r.gs = gs;
    j->r.min_gs = min_gs;
    j->r.timeout_ms = timeout_ms > 0 ? timeout_ms : DN_RECOVERY_TIMEOUT_MS;
    j->r.p = xcalloc(n ? n : 1, sizeof(*j->r.p));
    for (size_t i = 0; i < n && j->r.n < DN_RECOVERY_TARGETS_MAX; i++) {
        const Dfs__DatanodeId *t = targets ? targets[i] : NULL;
        if (!target_ok(t))
            continue;
        int dup = 0;
        for (size_t k = 0; k < j->r.n && !dup; k++)
            dup = j->r.p[k].id.port == t->port && strcmp(j->r.p[k].id.host, t->host) == 0;
        if (dup)
            continue;
        struct peer *p = &j->r.p[j->r.n++];
        dfs__datanode_id__init(&p->id);
        p->id.host = xstrdup(t->host);
        p->id.storage_id = xstrdup(t->storage_id ? t->storage_id : "");
        p->id.port = t->port;
        p->sk.fd = -1;
    }
    if (j->r.n == 0) {
        job_free(j);
        return NULL;
    }
    return j;
}

enum dn_recovery_result dn_recovery_block(uint64_t id, uint64_t gs, uint64_t min_gs,
                                          Dfs__DatanodeId *const *targets, size_t ntargets,
                                          int timeout_ms, dn_recovery_commit_fn commit,
                                          void *commit_arg)
{
    struct job *j = job_new(id, gs, min_gs, targets, ntargets, timeout_ms);
    if (!j) {
        LOG_WARN("recovery of blk_%llu (genstamp %llu) given up: no valid target datanode",
                 (unsigned long long)id, (unsigned long long)gs);
        return DN_RECOVERY_FAILED;
    }
    enum dn_recovery_result res = recover(&j->r, commit, commit_arg);
    job_free(j);
    return res;
}

/* ============================================================ the pool */

struct worker {
    struct dn_recovery *rp;
    pthread_t thread;
    struct job *cur;               /* under mu: the recovery in flight, or NULL */
};

struct dn_recovery {
    dn_recovery_commit_fn commit;
    void *commit_arg;
    int timeout_ms;
    unsigned queue_max;

    pthread_mutex_t mu;
    pthread_cond_t cv;             /* job queued / stop */
    int stop;                      /* set under mu; recoveries read it atomically */
    struct job *head, *tail;       /* under mu */
    unsigned nqueued;              /* under mu */
    unsigned active;               /* atomic: recoveries in progress */
    unsigned nworkers;             /* started */
    struct worker *w;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct dn_recovery *rp = w->rp;

    pthread_mutex_lock(&rp->mu);
    for (;;) {
        while (!rp->stop && !rp->head)
            pthread_cond_wait(&rp->cv, &rp->mu);
        if (rp->stop)
            break;
        struct job *j = rp->head;
        rp->head = j->next;
        if (!rp->head)
            rp->tail = NULL;
        rp->nqueued--;
        j->r.mu = &rp->mu;
        j->r.stop = &rp->stop;
        w->cur = j;
        __atomic_add_fetch(&rp->active, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&rp->mu);

        recover(&j->r, rp->commit, rp->commit_arg);

        pthread_mutex_lock(&rp->mu);
        w->cur = NULL;
        __atomic_sub_fetch(&rp->active, 1, __ATOMIC_RELAXED);
        job_free(j);
    }
    pthread_mutex_unlock(&rp->mu);
    return NULL;
}

/* Shut down the sockets of recovery in flight j: whatever it waits on
 * fails at once.  Called with mu held. */
static void job_shutdown(struct job *j)
{
    for (size_t k = 0; j && k < j->r.n; k++)
        if (j->r.p[k].sk.fd >= 0)
            shutdown(j->r.p[k].sk.fd, SHUT_RDWR);
}

/* Stop and join the started workers, drop the queue, free rp. */
static void pool_free(struct dn_recovery *rp)
{
    pthread_mutex_lock(&rp->mu);
    __atomic_store_n(&rp->stop, 1, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < rp->nworkers; i++)
        job_shutdown(rp->w[i].cur);
    pthread_cond_broadcast(&rp->cv);
    pthread_mutex_unlock(&rp->mu);
    for (unsigned i = 0; i < rp->nworkers; i++)
        pthread_join(rp->w[i].thread, NULL);
    unsigned dropped = rp->nqueued;
    while (rp->head) {
        struct job *j = rp->head;
        rp->head = j->next;
        job_free(j);
    }
    if (dropped)
        LOG_INFO("dropped %u queued block recoveries at shutdown", dropped);
    pthread_cond_destroy(&rp->cv);
    pthread_mutex_destroy(&rp->mu);
    free(rp->w);
    free(rp);
}

struct dn_recovery *dn_recovery_start(const struct dn_recovery_cfg *cfg, char *err,
                                      size_t errsz)
{
    if (cfg->threads < 1 || cfg->threads > DN_RECOVERY_THREADS_MAX) {
        snprintf(err, errsz, "recovery threads: %u is not in 1..%u", cfg->threads,
                 DN_RECOVERY_THREADS_MAX);
        return NULL;
    }
    if (!cfg->commit) {
        snprintf(err, errsz, "block recovery: no commit callback");
        return NULL;
    }
    struct dn_recovery *rp = xcalloc(1, sizeof(*rp));
    rp->commit = cfg->commit;
    rp->commit_arg = cfg->commit_arg;
    rp->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : DN_RECOVERY_TIMEOUT_MS;
    rp->queue_max = cfg->queue_max ? cfg->queue_max : DN_RECOVERY_QUEUE_MAX;
    pthread_mutex_init(&rp->mu, NULL);
    pthread_cond_init(&rp->cv, NULL);
    rp->w = xcalloc(cfg->threads, sizeof(*rp->w));
    for (unsigned i = 0; i < cfg->threads; i++) {
        rp->w[i].rp = rp;
        int rc = pthread_create(&rp->w[i].thread, NULL, worker_main, &rp->w[i]);
        if (rc != 0) {
            snprintf(err, errsz, "cannot start a block recovery thread: %s", strerror(rc));
            pool_free(rp);
            return NULL;
        }
        rp->nworkers++;
    }
    return rp;
}

void dn_recovery_stop(struct dn_recovery *rp)
{
    if (rp)
        pool_free(rp);
}

int dn_recovery_submit(struct dn_recovery *rp, uint64_t id, uint64_t gs, uint64_t min_gs,
                       Dfs__DatanodeId *const *targets, size_t ntargets)
{
    /* Built outside the lock; freed if not queued. */
    struct job *j = job_new(id, gs, min_gs, targets, ntargets, rp->timeout_ms);
    if (!j) {
        LOG_WARN("namenode asked to recover blk_%llu without a valid target; ignored",
                 (unsigned long long)id);
        return -1;
    }
    int rc = 0;
    uint64_t other_gs = 0;
    pthread_mutex_lock(&rp->mu);
    struct job *q = rp->head;
    while (q && q->r.id != id)
        q = q->next;
    struct job *busy = NULL;           /* in flight, not superseded yet */
    for (unsigned i = 0; i < rp->nworkers && !busy; i++) {
        struct job *c = rp->w[i].cur;
        if (c && c->r.id == id && !c->r.superseded)
            busy = c;
    }
    if (rp->stop) {
        rc = -1;
    } else if (busy && busy->r.gs >= gs) {
        rc = 1;
        other_gs = busy->r.gs;
    } else if (q) {
        other_gs = q->r.gs;
        if (q->r.gs < gs) {
            /* A newer recovery of the same block: it takes the queued one's place. */
            struct rec t = q->r;
            q->r = j->r;
            j->r = t;
        } else {
            rc = 1;
        }
    } else if (rp->nqueued >= rp->queue_max) {
        rc = -2;
    } else {
        if (rp->tail)
            rp->tail->next = j;
        else
            rp->head = j;
        rp->tail = j;
        rp->nqueued++;
        j = NULL;
        pthread_cond_signal(&rp->cv);
    }
    if (rc == 0 && busy) {
        /* A newer recovery of a block in flight: that one is abandoned
         * (no new connection, its sockets shut down, no commit). */
        __atomic_store_n(&busy->r.superseded, 1, __ATOMIC_RELAXED);
        job_shutdown(busy);
    }
    pthread_mutex_unlock(&rp->mu);
    job_free(j);
    if (rc == 1)
        LOG_DEBUG("recovery of blk_%llu (genstamp %llu) already queued or in progress "
                  "(genstamp %llu)", (unsigned long long)id, (unsigned long long)gs,
                  (unsigned long long)other_gs);
    else if (rc == -2)
        LOG_WARN("dropping the recovery of blk_%llu: %u recoveries already queued",
                 (unsigned long long)id, rp->queue_max);
    else if (rc == 0)
        LOG_DEBUG("queued the recovery of blk_%llu (genstamp %llu) with %zu datanodes",
                  (unsigned long long)id, (unsigned long long)gs, ntargets);
    return rc < 0 ? -1 : rc;
}

unsigned dn_recovery_active(const struct dn_recovery *rp)
{
    return rp ? __atomic_load_n(&rp->active, __ATOMIC_RELAXED) : 0;
}
