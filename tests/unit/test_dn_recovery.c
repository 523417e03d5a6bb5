/*
 * test_dn_recovery.c - unit tests of datanode/dn_recovery.c: the settling
 * rule as a pure function, then whole recoveries against fake datanodes
 * on loopback ports that answer InitRecoveryReq / FinishRecoveryReq as
 * told (the real handlers and the namenode are the integration tests').
 *
 * A fake datanode, per connection, reads requests until the peer goes
 * away: InitRecoveryReq gets the configured answer (or none, when it
 * stalls), FinishRecoveryReq is recorded and answered with the
 * configured status.
 */
#include "check.h"
#include "dfs.h"
#include "dn_recovery.h"
#include "frame.h"
#include "log.h"
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ============================================================ settling */

static void test_settle(void)
{
    int keep[8];
    uint64_t len = 99;
    char why[256];
    const uint64_t rgs = 10;

    /* One pipeline, lengths differ: the smallest, every replica kept. */
    struct dn_rec_answer a1[3] = {
        { DFS_OK, 7, 100, 0 }, { DFS_OK, 7, 50, 0 }, { DFS_OK, 7, 70, 0 },
    };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a1, 3, keep, &len, why, sizeof(why)), DN_REC_SETTLED);
    CHECK_EQ_INT(len, 50);
    CHECK(keep[0] && keep[1] && keep[2]);

    /* An older pipeline's replica is left out, even when shorter. */
    struct dn_rec_answer a2[3] = {
        { DFS_OK, 5, 10, 0 }, { DFS_OK, 6, 40, 0 }, { DFS_OK, 6, 60, 0 },
    };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a2, 3, keep, &len, why, sizeof(why)), DN_REC_SETTLED);
    CHECK_EQ_INT(len, 40);
    CHECK(!keep[0] && keep[1] && keep[2]);

    /* ... and so is one already at the recovery genstamp's level but older
     * answers (a retried recovery): the highest genstamp <= rgs wins. */
    struct dn_rec_answer a3[2] = { { DFS_OK, 10, 30, 1 }, { DFS_OK, 9, 60, 0 } };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a3, 2, keep, &len, why, sizeof(why)), DN_REC_SETTLED);
    CHECK_EQ_INT(len, 30);
    CHECK(keep[0] && !keep[1]);

    /* A finalized replica fixes the length: shorter ones are dropped,
     * longer ones cut to it. */
    struct dn_rec_answer a4[3] = {
        { DFS_OK, 7, 80, 1 }, { DFS_OK, 7, 50, 0 }, { DFS_OK, 7, 100, 0 },
    };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a4, 3, keep, &len, why, sizeof(why)), DN_REC_SETTLED);
    CHECK_EQ_INT(len, 80);
    CHECK(keep[0] && !keep[1] && keep[2]);

    /* Failed or replica-less targets do not count; the others settle. */
    struct dn_rec_answer a5[4] = {
        { DFS_ERR_CONN, 0, 0, 0 }, { DFS_OK, 7, 64, 0 }, { DFS_ERR_NOENT, 0, 0, 0 },
        { DFS_ERR_TIMEOUT, 0, 0, 0 },
    };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a5, 4, keep, &len, why, sizeof(why)), DN_REC_SETTLED);
    CHECK_EQ_INT(len, 64);
    CHECK(!keep[0] && keep[1] && !keep[2] && !keep[3]);

    /* Length 0 is a length. */
    struct dn_rec_answer a6[2] = { { DFS_OK, 7, 0, 0 }, { DFS_OK, 7, 9, 0 } };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a6, 2, keep, &len, why, sizeof(why)), DN_REC_SETTLED);
    CHECK_EQ_INT(len, 0);
    CHECK(keep[0] && keep[1]);

    /* No replica anywhere: commit an empty block. */
    struct dn_rec_answer a7[3] = {
        { DFS_ERR_NOENT, 0, 0, 0 }, { DFS_ERR_NOENT, 0, 0, 0 }, { DFS_ERR_NOENT, 0, 0, 0 },
    };
    len = 5;
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a7, 3, keep, &len, why, sizeof(why)),
                 DN_REC_NO_REPLICA);
    CHECK_EQ_INT(len, 0);
    CHECK(!keep[0] && !keep[1] && !keep[2]);

    /* No replica found, but a target did not answer: it may hold the only
     * one, so nothing is committed. */
    struct dn_rec_answer a8[2] = { { DFS_ERR_NOENT, 0, 0, 0 }, { DFS_ERR_CONN, 0, 0, 0 } };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a8, 2, keep, &len, why, sizeof(why)),
                 DN_REC_UNSETTLED);
    CHECK(strstr(why, "did not answer") != NULL);

    /* Nobody answered. */
    struct dn_rec_answer a9[2] = { { DFS_ERR_CONN, 0, 0, 0 }, { DFS_ERR_TIMEOUT, 0, 0, 0 } };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a9, 2, keep, &len, why, sizeof(why)),
                 DN_REC_UNSETTLED);
    CHECK(strstr(why, "no target datanode answered") != NULL);

    /* A newer genstamp somewhere: superseded (refused, or answered OK). */
    struct dn_rec_answer a10[2] = { { DFS_OK, 7, 64, 0 }, { DFS_ERR_STALE, 0, 0, 0 } };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a10, 2, keep, &len, why, sizeof(why)),
                 DN_REC_UNSETTLED);
    CHECK(strstr(why, "superseded") != NULL);
    struct dn_rec_answer a11[2] = { { DFS_OK, 7, 64, 0 }, { DFS_OK, 11, 64, 0 } };
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a11, 2, keep, &len, NULL, 0), DN_REC_UNSETTLED);
    CHECK(!keep[0] && !keep[1]);

    /* No target at all. */
    CHECK_EQ_INT(dn_recovery_settle(rgs, 0, a1, 0, keep, &len, why, sizeof(why)),
                 DN_REC_UNSETTLED);
    CHECK_EQ_INT(len, 0);
}

/* ============================================================ fake datanodes */

struct fake {
    int lfd;
    unsigned port;
    pthread_t thread;
    char sid[16];
    /* How it answers InitRecovery (read at each request). */
    int init_status;
    uint64_t gs, len;
    int finalized;
    int stall;                    /* atomic: never answer InitRecovery */
    int finish_status;
    /* What it saw (atomic). */
    unsigned inits, finishes;
    uint64_t init_gs, init_id, fin_gs, fin_len, fin_id;
    int fin_has_len;
};

static void fake_serve(struct fake *f, int fd)
{
    struct dfs_sock s;
    dfs_sock_adopt(&s, fd, 20000);
    struct dfs_frame_hdr h;
    uint8_t *buf = NULL;
    size_t cap = 0;
    while (dfs_sock_recv_frame(&s, &h, &buf, &cap, DFS_FRAME_MAX_CONTROL) == 0) {
        if (h.type == DFS_MSG_INIT_RECOVERY_REQ) {
            Dfs__InitRecoveryReq *r = dfs__init_recovery_req__unpack(NULL, h.len, buf);
            CHECK(r != NULL);
            if (!r)
                break;
            __atomic_store_n(&f->init_id, r->block->id, __ATOMIC_RELAXED);
            __atomic_store_n(&f->init_gs, r->block->genstamp, __ATOMIC_RELAXED);
            dfs__init_recovery_req__free_unpacked(r, NULL);
            __atomic_add_fetch(&f->inits, 1, __ATOMIC_RELAXED);
            if (__atomic_load_n(&f->stall, __ATOMIC_RELAXED))
                continue;                   /* read on until the primary goes away */
            Dfs__InitRecoveryResp a = DFS__INIT_RECOVERY_RESP__INIT;
            a.status = (Dfs__Status)f->init_status;
            if (f->init_status == DFS_OK) {
                a.has_length = a.has_genstamp = a.has_finalized = 1;
                a.length = f->len;
                a.genstamp = f->gs;
                a.finalized = f->finalized;
            } else {
                a.error = (char *)"fake refusal";
            }
            if (dfs_sock_send_msg(&s, DFS_MSG_INIT_RECOVERY_RESP, h.reqid, &a.base) != 0)
                break;
        } else if (h.type == DFS_MSG_FINISH_RECOVERY_REQ) {
            Dfs__FinishRecoveryReq *r = dfs__finish_recovery_req__unpack(NULL, h.len, buf);
            CHECK(r != NULL);
            if (!r)
                break;
            __atomic_store_n(&f->fin_id, r->block->id, __ATOMIC_RELAXED);
            __atomic_store_n(&f->fin_gs, r->block->genstamp, __ATOMIC_RELAXED);
            __atomic_store_n(&f->fin_len, r->block->length, __ATOMIC_RELAXED);
            __atomic_store_n(&f->fin_has_len, r->block->has_length, __ATOMIC_RELAXED);
            dfs__finish_recovery_req__free_unpacked(r, NULL);
            __atomic_add_fetch(&f->finishes, 1, __ATOMIC_RELAXED);
            Dfs__FinishRecoveryResp a = DFS__FINISH_RECOVERY_RESP__INIT;
            a.status = (Dfs__Status)f->finish_status;
            if (dfs_sock_send_msg(&s, DFS_MSG_FINISH_RECOVERY_RESP, h.reqid, &a.base) != 0)
                break;
        } else {
            CHECK(!"unexpected message type");
            break;
        }
    }
    free(buf);
    dfs_sock_close(&s);
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;                     /* shut down */
        }
        fake_serve(f, fd);
    }
}

static void fake_start(struct fake *f, int i)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->sid, sizeof(f->sid), "DS-%d", i);
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    CHECK(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(f->lfd, 16) == 0);
    CHECK(getsockname(f->lfd, (struct sockaddr *)&a, &al) == 0);
    f->port = ntohs(a.sin_port);
    CHECK(pthread_create(&f->thread, NULL, fake_main, f) == 0);
}

static void fake_stop(struct fake *f)
{
    shutdown(f->lfd, SHUT_RDWR);
    pthread_join(f->thread, NULL);
    close(f->lfd);
}

/* Answer InitRecovery with a replica (gs, len, finalized), FinishRecovery
 * with OK; counters reset. */
static void fake_set(struct fake *f, int status, uint64_t gs, uint64_t len, int finalized)
{
    f->init_status = status;
    f->gs = gs;
    f->len = len;
    f->finalized = finalized;
    f->finish_status = DFS_OK;
    __atomic_store_n(&f->stall, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&f->inits, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&f->finishes, 0, __ATOMIC_RELAXED);
}

/* A free loopback port nobody listens on (connections are refused). */
static unsigned dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

/* ============================================================ commits seen */

struct commits {
    pthread_mutex_t mu;
    unsigned n;
    uint64_t id, gs, len;
    size_t nsids;
    char sids[8][16];
};

static struct commits seen = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void on_commit(void *arg, uint64_t id, uint64_t gs, uint64_t len,
                      const char *const *storage_ids, size_t n)
{
    CHECK(arg == &seen);
    pthread_mutex_lock(&seen.mu);
    seen.n++;
    seen.id = id;
    seen.gs = gs;
    seen.len = len;
    seen.nsids = n;
    for (size_t i = 0; i < n && i < 8; i++)
        snprintf(seen.sids[i], sizeof(seen.sids[i]), "%s", storage_ids[i]);
    pthread_mutex_unlock(&seen.mu);
}

static unsigned commits_n(void)
{
    pthread_mutex_lock(&seen.mu);
    unsigned n = seen.n;
    pthread_mutex_unlock(&seen.mu);
    return n;
}

#define NF 3

static struct fake fk[NF];
static Dfs__DatanodeId tid[NF + 1];
static Dfs__DatanodeId *tp[NF + 1];

static void targets_init(void)
{
    for (int i = 0; i < NF; i++) {
        fake_start(&fk[i], i);
        dfs__datanode_id__init(&tid[i]);
        tid[i].storage_id = fk[i].sid;
        tid[i].host = (char *)"127.0.0.1";
        tid[i].port = fk[i].port;
        tp[i] = &tid[i];
    }
    dfs__datanode_id__init(&tid[NF]);
    tid[NF].storage_id = (char *)"DS-dead";
    tid[NF].host = (char *)"127.0.0.1";
    tid[NF].port = dead_port();
    tp[NF] = &tid[NF];
}

/* ============================================================ recoveries */

static void test_block(void)
{
    /* Three replicas of one pipeline: settled on the shortest, all three
     * finalized at it under the recovery genstamp, all three committed. */
    fake_set(&fk[0], DFS_OK, 7, 1000, 0);
    fake_set(&fk[1], DFS_OK, 7, 600, 0);
    fake_set(&fk[2], DFS_OK, 7, 800, 0);
    unsigned c0 = commits_n();
    CHECK_EQ_INT(dn_recovery_block(42, 9, 0, tp, NF, 5000, on_commit, &seen),
                 DN_RECOVERY_COMMITTED);
    CHECK_EQ_INT(commits_n(), c0 + 1);
    CHECK_EQ_INT(seen.id, 42);
    CHECK_EQ_INT(seen.gs, 9);
    CHECK_EQ_INT(seen.len, 600);
    CHECK_EQ_INT(seen.nsids, 3);
    CHECK_EQ_STR(seen.sids[0], "DS-0");
    CHECK_EQ_STR(seen.sids[2], "DS-2");
    for (int i = 0; i < NF; i++) {
        CHECK_EQ_INT(fk[i].inits, 1);
        CHECK_EQ_INT(fk[i].init_id, 42);
        CHECK_EQ_INT(fk[i].init_gs, 9);
        CHECK_EQ_INT(fk[i].finishes, 1);
        CHECK_EQ_INT(fk[i].fin_id, 42);
        CHECK_EQ_INT(fk[i].fin_gs, 9);
        CHECK_EQ_INT(fk[i].fin_len, 600);
        CHECK_EQ_INT(fk[i].fin_has_len, 1);
    }

    /* A stale replica, one without any, and an unreachable target: only
     * the newest one is finished and committed. */
    fake_set(&fk[0], DFS_OK, 6, 100, 0);
    fake_set(&fk[1], DFS_OK, 8, 700, 0);
    fake_set(&fk[2], DFS_ERR_NOENT, 0, 0, 0);
    c0 = commits_n();
    CHECK_EQ_INT(dn_recovery_block(43, 9, 0, tp, NF + 1, 5000, on_commit, &seen),
                 DN_RECOVERY_COMMITTED);
    CHECK_EQ_INT(commits_n(), c0 + 1);
    CHECK_EQ_INT(seen.len, 700);
    CHECK_EQ_INT(seen.nsids, 1);
    CHECK_EQ_STR(seen.sids[0], "DS-1");
    CHECK_EQ_INT(fk[0].finishes, 0);
    CHECK_EQ_INT(fk[1].finishes, 1);
    CHECK_EQ_INT(fk[2].finishes, 0);

    /* A target that refuses to finish is left out of the commit. */
    fake_set(&fk[0], DFS_OK, 7, 500, 0);
    fake_set(&fk[1], DFS_OK, 7, 500, 0);
    fake_set(&fk[2], DFS_OK, 7, 500, 0);
    fk[1].finish_status = DFS_ERR_IO;
    CHECK_EQ_INT(dn_recovery_block(44, 9, 0, tp, NF, 5000, on_commit, &seen),
                 DN_RECOVERY_COMMITTED);
    CHECK_EQ_INT(seen.nsids, 2);
    CHECK_EQ_STR(seen.sids[0], "DS-0");
    CHECK_EQ_STR(seen.sids[1], "DS-2");

    /* ... every one refuses: nothing committed. */
    for (int i = 0; i < NF; i++)
        fk[i].finish_status = DFS_ERR_IO;
    c0 = commits_n();
    CHECK_EQ_INT(dn_recovery_block(45, 9, 0, tp, NF, 5000, on_commit, &seen), DN_RECOVERY_FAILED);
    CHECK_EQ_INT(commits_n(), c0);

    /* No replica anywhere: an empty commit. */
    for (int i = 0; i < NF; i++)
        fake_set(&fk[i], DFS_ERR_NOENT, 0, 0, 0);
    c0 = commits_n();
    CHECK_EQ_INT(dn_recovery_block(46, 9, 0, tp, NF, 5000, on_commit, &seen),
                 DN_RECOVERY_COMMITTED);
    CHECK_EQ_INT(commits_n(), c0 + 1);
    CHECK_EQ_INT(seen.id, 46);
    CHECK_EQ_INT(seen.len, 0);
    CHECK_EQ_INT(seen.nsids, 0);
    for (int i = 0; i < NF; i++)
        CHECK_EQ_INT(fk[i].finishes, 0);

    /* ... but not when a target could not be asked. */
    c0 = commits_n();
    CHECK_EQ_INT(dn_recovery_block(47, 9, 0, tp, NF + 1, 5000, on_commit, &seen),
                 DN_RECOVERY_FAILED);
    CHECK_EQ_INT(commits_n(), c0);

    /* Every target unreachable: nothing committed. */
    CHECK_EQ_INT(dn_recovery_block(48, 9, 0, tp + NF, 1, 5000, on_commit, &seen),
                 DN_RECOVERY_FAILED);
    CHECK_EQ_INT(commits_n(), c0);

    /* A superseded recovery (a replica with a newer genstamp) commits
     * nothing and finishes nothing. */
    fake_set(&fk[0], DFS_OK, 7, 500, 0);
    fake_set(&fk[1], DFS_ERR_STALE, 0, 0, 0);
    fake_set(&fk[2], DFS_OK, 7, 500, 0);
    CHECK_EQ_INT(dn_recovery_block(49, 9, 0, tp, NF, 5000, on_commit, &seen), DN_RECOVERY_FAILED);
    CHECK_EQ_INT(commits_n(), c0);
    CHECK_EQ_INT(fk[0].finishes + fk[2].finishes, 0);

    /* A target that never answers costs the phase's timeout once; the
     * others are asked at the same time and committed. */
    fake_set(&fk[0], DFS_OK, 7, 300, 0);
    fake_set(&fk[1], DFS_OK, 7, 300, 0);
    fake_set(&fk[2], DFS_OK, 7, 200, 0);
    __atomic_store_n(&fk[0].stall, 1, __ATOMIC_RELAXED);
    uint64_t t0 = check_now_ms();
    CHECK_EQ_INT(dn_recovery_block(50, 9, 0, tp, NF, 700, on_commit, &seen),
                 DN_RECOVERY_COMMITTED);
    uint64_t took = check_now_ms() - t0;
    CHECK(took >= 600 && took < 3000);
    CHECK_EQ_INT(commits_n(), c0 + 1);
    CHECK_EQ_INT(seen.len, 200);
    CHECK_EQ_INT(seen.nsids, 2);
    CHECK_EQ_STR(seen.sids[0], "DS-1");
    CHECK_EQ_INT(fk[0].finishes, 0);
    __atomic_store_n(&fk[0].stall, 0, __ATOMIC_RELAXED);

    /* The same address twice is asked once. */
    Dfs__DatanodeId *twice[2] = { tp[1], tp[1] };
    fake_set(&fk[1], DFS_OK, 7, 300, 0);
    CHECK_EQ_INT(dn_recovery_block(51, 9, 0, twice, 2, 5000, on_commit, &seen),
                 DN_RECOVERY_COMMITTED);
    CHECK_EQ_INT(fk[1].inits, 1);
    CHECK_EQ_INT(seen.nsids, 1);

    /* No valid target. */
    Dfs__DatanodeId bad = DFS__DATANODE_ID__INIT;
    bad.host = (char *)"";
    bad.storage_id = (char *)"x";
    Dfs__DatanodeId *bp[1] = { &bad };
    CHECK_EQ_INT(dn_recovery_block(52, 9, 0, bp, 1, 5000, on_commit, &seen), DN_RECOVERY_FAILED);
}

/* ============================================================ the pool */

static void test_pool(void)
{
    char err[256];
    struct dn_recovery_cfg cfg = { .threads = 0, .commit = on_commit, .commit_arg = &seen };
    CHECK(dn_recovery_start(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "1..8") != NULL);
    cfg.threads = 9;
    CHECK(dn_recovery_start(&cfg, err, sizeof(err)) == NULL);
    cfg.threads = 1;
    cfg.commit = NULL;
    CHECK(dn_recovery_start(&cfg, err, sizeof(err)) == NULL);

    /* A pool that recovers. */
    cfg.commit = on_commit;
    cfg.timeout_ms = 5000;
    struct dn_recovery *rp = dn_recovery_start(&cfg, err, sizeof(err));
    CHECK(rp != NULL);
    if (!rp)
        return;
    for (int i = 0; i < NF; i++)
        fake_set(&fk[i], DFS_OK, 7, 4096, 0);
    unsigned c0 = commits_n();
    CHECK_EQ_INT(dn_recovery_submit(rp, 60, 9, 0, tp, NF), 0);
    CHECK_WAIT_FOR(commits_n() == c0 + 1 && dn_recovery_active(rp) == 0, 10000);
    CHECK_EQ_INT(commits_n(), c0 + 1);
    CHECK_EQ_INT(seen.id, 60);
    CHECK_EQ_INT(seen.len, 4096);
    CHECK_EQ_INT(seen.nsids, 3);
    CHECK_EQ_INT(dn_recovery_submit(rp, 61, 9, 0, tp, 0), -1);     /* no target */

    /* Stuck on a target that never answers: the block is not queued again
     * while in flight with the same genstamp, a queued one is replaced by
     * a newer genstamp only,
     * the queue is bounded, and stopping abandons the stuck one at once
     * without a commit. */
    dn_recovery_stop(rp);
    cfg.queue_max = 2;
    cfg.timeout_ms = 20000;
    rp = dn_recovery_start(&cfg, err, sizeof(err));
    CHECK(rp != NULL);
    if (!rp)
        return;
    __atomic_store_n(&fk[0].inits, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&fk[0].stall, 1, __ATOMIC_RELAXED);
    c0 = commits_n();
    CHECK_EQ_INT(dn_recovery_submit(rp, 70, 9, 0, tp, NF), 0);
    CHECK_WAIT_FOR(dn_recovery_active(rp) == 1 &&
                   __atomic_load_n(&fk[0].inits, __ATOMIC_RELAXED) == 1, 5000);
    CHECK_EQ_INT(dn_recovery_active(rp), 1);
    CHECK_EQ_INT(fk[0].inits, 1);
    CHECK_EQ_INT(dn_recovery_submit(rp, 70, 9, 0, tp, NF), 1);    /* in progress */
    CHECK_EQ_INT(dn_recovery_submit(rp, 70, 8, 0, tp, NF), 1);
    /* A newer genstamp supersedes the one in flight, which gives up at once
     * (no commit) for the new one to run. */
    unsigned inits = __atomic_load_n(&fk[0].inits, __ATOMIC_RELAXED);
    CHECK_EQ_INT(dn_recovery_submit(rp, 70, 10, 0, tp, NF), 0);
    CHECK_WAIT_FOR(__atomic_load_n(&fk[0].inits, __ATOMIC_RELAXED) == inits + 1, 5000);
    CHECK_EQ_INT(fk[0].inits, inits + 1);
    CHECK_EQ_INT(fk[0].init_gs, 10);
    CHECK_EQ_INT(dn_recovery_active(rp), 1);
    CHECK_EQ_INT(dn_recovery_submit(rp, 70, 10, 0, tp, NF), 1);
    CHECK_EQ_INT(dn_recovery_submit(rp, 71, 9, 0, tp, NF), 0);
    CHECK_EQ_INT(dn_recovery_submit(rp, 71, 9, 0, tp, NF), 1);    /* queued, same gs */
    CHECK_EQ_INT(dn_recovery_submit(rp, 71, 8, 0, tp, NF), 1);    /* queued, newer gs */
    CHECK_EQ_INT(dn_recovery_submit(rp, 71, 10, 0, tp, NF), 0);   /* replaces it */
    CHECK_EQ_INT(dn_recovery_submit(rp, 72, 9, 0, tp, NF), 0);
    CHECK_EQ_INT(dn_recovery_submit(rp, 73, 9, 0, tp, NF), -1);   /* queue full */
    uint64_t t0 = check_now_ms();
    dn_recovery_stop(rp);
    CHECK(check_now_ms() - t0 < 2000);
    CHECK_EQ_INT(commits_n(), c0);
    __atomic_store_n(&fk[0].stall, 0, __ATOMIC_RELAXED);

    dn_recovery_stop(NULL);
    CHECK_EQ_INT(dn_recovery_active(NULL), 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    dfs_log_set_level(DFS_LOG_ERROR);
    test_settle();
    targets_init();
    test_block();
    test_pool();
    for (int i = 0; i < NF; i++)
        fake_stop(&fk[i]);
    return check_summary();
}
