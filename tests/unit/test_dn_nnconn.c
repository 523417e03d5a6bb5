/*
 * test_dn_nnconn.c - unit tests of datanode/dn_nnconn.c's parts for block
 * recovery against a fake namenode on a loopback port: RBW replicas in
 * the full report (BlockInfo.rbw), HeartbeatReq.fsyncs, CMD_RECOVER handed
 * to the recover callback, CommitBlockSyncReq sent, retried after a
 * lost connection, and dropped when refused, and CMD_DELETE of a replica
 * left in rbw/ (kept when its genstamp is newer than the command's).  Registration, heartbeats and
 * the rest of the link are the integration tests' (real namenode).
 *
 * The fake namenode serves each connection on a thread of its own.
 */
#include "check.h"
#include "blockstore.h"
#include "checksum.h"
#include "dfs.h"
#include "dfs.pb-c.h"
#include "dn_nnconn.h"
#include "frame.h"
#include "log.h"
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 4096u
#define MAXCONN 32

/* ============================================================ the fake namenode */

struct fake_nn {
    int lfd;
    unsigned port;
    pthread_t thread;
    pthread_t conns[MAXCONN];
    int fds[MAXCONN];
    unsigned nconns;

    pthread_mutex_t mu;            /* the fields below */
    unsigned registers, heartbeats;
    size_t reg_blocks, reg_rbw;
    uint64_t rbw_id, rbw_gs, rbw_len, fin_id;
    int fin_rbw_flag;              /* the finalized replica had rbw set */
    int has_fsyncs;
    uint64_t fsyncs;
    int recover_sent;
    unsigned commits;              /* CommitBlockSyncReq received */
    int commit_drop;               /* close the connection on the next one */
    int commit_status;             /* else answer this */
    uint64_t c_id, c_gs, c_len;
    size_t c_nsids;
    char c_sid0[32];
    uint64_t del_id, del_gs;       /* CMD_DELETE in the next heartbeat answer */
    unsigned removed;              /* replicas reported removed */
    uint64_t removed_id;
};

static struct fake_nn nn;

/* Answer with a response of type h->type | 1 whose only fields are the
 * generic status and error (every response starts with them). */
static int reply_status(struct dfs_sock *s, const struct dfs_frame_hdr *h, int status)
{
    Dfs__CommitBlockSyncResp r = DFS__COMMIT_BLOCK_SYNC_RESP__INIT;
    r.status = (Dfs__Status)status;
    if (status != DFS_OK)
        r.error = (char *)"fake namenode refusal";
    return dfs_sock_send_msg(s, h->type | 1, h->reqid, &r.base);
}

static void note_blocks(Dfs__BlockInfo **b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nn.reg_blocks++;
        if (b[i]->has_rbw && b[i]->rbw) {
            nn.reg_rbw++;
            nn.rbw_id = b[i]->id;
            nn.rbw_gs = b[i]->genstamp;
            nn.rbw_len = b[i]->length;
        } else {
            nn.fin_id = b[i]->id;
            nn.fin_rbw_flag = b[i]->has_rbw;
        }
    }
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct dfs_sock s;
    dfs_sock_adopt(&s, fd, 20000);
    struct dfs_frame_hdr h;
    uint8_t *buf = NULL;
    size_t cap = 0;
    while (dfs_sock_recv_frame(&s, &h, &buf, &cap, DFS_FRAME_MAX_CONTROL) == 0) {
        int rc = 0;
        pthread_mutex_lock(&nn.mu);
        if (h.type == DFS_MSG_REGISTER_REQ) {
            Dfs__RegisterReq *r = dfs__register_req__unpack(NULL, h.len, buf);
            CHECK(r != NULL);
            if (r) {
                nn.registers++;
                nn.reg_blocks = nn.reg_rbw = 0;
                note_blocks(r->blocks, r->n_blocks);
                dfs__register_req__free_unpacked(r, NULL);
            }
            Dfs__RegisterResp a = DFS__REGISTER_RESP__INIT;
            a.status = DFS__STATUS__OK;
            a.has_heartbeat_interval_ms = 1;
            a.heartbeat_interval_ms = 100;
            rc = dfs_sock_send_msg(&s, DFS_MSG_REGISTER_RESP, h.reqid, &a.base);
        } else if (h.type == DFS_MSG_HEARTBEAT_REQ) {
            Dfs__HeartbeatReq *r = dfs__heartbeat_req__unpack(NULL, h.len, buf);
            CHECK(r != NULL);
            if (r) {
                nn.heartbeats++;
                nn.has_fsyncs = r->has_fsyncs;
                nn.fsyncs = r->fsyncs;
                dfs__heartbeat_req__free_unpacked(r, NULL);
            }
            Dfs__HeartbeatResp a = DFS__HEARTBEAT_RESP__INIT;
            a.status = DFS__STATUS__OK;
            Dfs__DatanodeCommand cmd = DFS__DATANODE_COMMAND__INIT;
            Dfs__DatanodeCommand *cmds[1] = { &cmd };
            Dfs__BlockInfo bi = DFS__BLOCK_INFO__INIT;
            Dfs__BlockInfo *bis[1] = { &bi };
            Dfs__DatanodeId t[2] = { DFS__DATANODE_ID__INIT, DFS__DATANODE_ID__INIT };
            Dfs__DatanodeId *tp[2] = { &t[0], &t[1] };
            if (nn.del_id) {
                cmd.type = DFS__COMMAND_TYPE__CMD_DELETE;
                bi.id = nn.del_id;
                bi.genstamp = nn.del_gs;
                cmd.n_blocks = 1;
                cmd.blocks = bis;
                a.n_commands = 1;
                a.commands = cmds;
                nn.del_id = 0;
            } else if (!nn.recover_sent) {
                nn.recover_sent = 1;
                cmd.type = DFS__COMMAND_TYPE__CMD_RECOVER;
                bi.id = 77;
                bi.genstamp = 9;
                cmd.n_blocks = 1;
                cmd.blocks = bis;
                t[0].storage_id = (char *)"DS-a";
                t[0].host = (char *)"127.0.0.1";
                t[0].port = 1111;
                t[1].storage_id = (char *)"DS-b";
                t[1].host = (char *)"127.0.0.2";
                t[1].port = 2222;
                cmd.n_targets = 2;
                cmd.targets = tp;
                a.n_commands = 1;
                a.commands = cmds;
            }
            rc = dfs_sock_send_msg(&s, DFS_MSG_HEARTBEAT_RESP, h.reqid, &a.base);
        } else if (h.type == DFS_MSG_COMMIT_SYNC_REQ) {
            Dfs__CommitBlockSyncReq *r = dfs__commit_block_sync_req__unpack(NULL, h.len, buf);
            CHECK(r != NULL);
            if (r) {
                nn.commits++;
                nn.c_id = r->block->id;
                nn.c_gs = r->block->genstamp;
                nn.c_len = r->block->has_length ? r->block->length : UINT64_MAX;
                nn.c_nsids = r->n_storage_ids;
                snprintf(nn.c_sid0, sizeof(nn.c_sid0), "%s",
                         r->n_storage_ids ? r->storage_ids[0] : "");
                dfs__commit_block_sync_req__free_unpacked(r, NULL);
            }
            if (nn.commit_drop) {
                nn.commit_drop = 0;
                rc = -1;                             /* lost before the answer */
            } else {
                rc = reply_status(&s, &h, nn.commit_status);
            }
        } else if (h.type == DFS_MSG_BLOCKREPORT_REQ) {
            Dfs__BlockReportReq *r = dfs__block_report_req__unpack(NULL, h.len, buf);
            CHECK(r != NULL);
            if (r) {
                nn.removed += (unsigned)r->n_removed;
                if (r->n_removed)
                    nn.removed_id = r->removed[0]->id;
                dfs__block_report_req__free_unpacked(r, NULL);
            }
            rc = reply_status(&s, &h, DFS_OK);
        } else {
            rc = -1;
        }
        pthread_mutex_unlock(&nn.mu);
        if (rc != 0)
            break;
    }
    free(buf);
    dfs_sock_close(&s);
    return NULL;
}

static void *nn_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(nn.lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;                     /* shut down */
        }
        if (nn.nconns == MAXCONN) {
            close(fd);
            continue;
        }
        nn.fds[nn.nconns] = fd;
        CHECK(pthread_create(&nn.conns[nn.nconns], NULL, conn_main, (void *)(intptr_t)fd) == 0);
        nn.nconns++;
    }
}

static void nn_start(void)
{
    pthread_mutex_init(&nn.mu, NULL);
    nn.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    CHECK(bind(nn.lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(nn.lfd, 16) == 0);
    CHECK(getsockname(nn.lfd, (struct sockaddr *)&a, &al) == 0);
    nn.port = ntohs(a.sin_port);
    CHECK(pthread_create(&nn.thread, NULL, nn_main, NULL) == 0);
}

/* After the link is stopped (its connections closed). */
static void nn_stop(void)
{
    shutdown(nn.lfd, SHUT_RDWR);
    pthread_join(nn.thread, NULL);
    close(nn.lfd);
    for (unsigned i = 0; i < nn.nconns; i++)
        pthread_join(nn.conns[i], NULL);
    pthread_mutex_destroy(&nn.mu);
}

static unsigned nn_get(const unsigned *field)
{
    pthread_mutex_lock(&nn.mu);
    unsigned v = *field;
    pthread_mutex_unlock(&nn.mu);
    return v;
}

static uint64_t nn_get64(const uint64_t *field)
{
    pthread_mutex_lock(&nn.mu);
    uint64_t v = *field;
    pthread_mutex_unlock(&nn.mu);
    return v;
}

/* ============================================================ the store */

static char base[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

/* Write len bytes of replica id (gs) through a writer; finalize or not. */
static struct bs_writer *write_replica(struct bs *bs, uint64_t id, uint64_t gs, size_t len,
                                       int finalize)
{
    char err[512];
    uint8_t *data = malloc(len), *sums = malloc(8 * dfs_nchunks(len, CHUNK) + 8);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 7 + id);
    dfs_checksum_chunks_be(data, len, CHUNK, sums);
    struct bs_writer *w = bs_writer_create(bs, id, gs, CHUNK, err, sizeof(err));
    CHECK(w != NULL);
    if (w) {
        CHECK(bs_writer_write(w, 0, data, len, sums, dfs_nchunks(len, CHUNK)) == 0);
        if (finalize) {
            CHECK(bs_writer_finalize(w, len) == 0);
            w = NULL;
        } else {
            CHECK(bs_writer_sync(w) == 0);
        }
    }
    free(data);
    free(sums);
    return w;
}

/* A store with finalized replica 11 (gs 1, 10000 bytes) and replica 12 (gs
 * 3, 5000 bytes) left in rbw/ by a writer that went away. */
static struct bs *make_store(void)
{
    char err[512], a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], d[PATH_MAX];
    const char *dirs[1] = { base };
    struct bs *bs = bs_open(dirs, 1, 0, err, sizeof(err));
    CHECK(bs != NULL);
    if (!bs)
        return NULL;
    write_replica(bs, 11, 1, 10000, 1);
    struct bs_writer *w = write_replica(bs, 12, 3, 5000, 0);
    /* Keep its files past the abort, as a crash would. */
    snprintf(a, sizeof(a), "%s/rbw/blk_12", base);
    snprintf(b, sizeof(b), "%s/rbw/blk_12_3.meta", base);
    snprintf(c, sizeof(c), "%s/keep_data", base);
    snprintf(d, sizeof(d), "%s/keep_meta", base);
    CHECK(link(a, c) == 0);
    CHECK(link(b, d) == 0);
    bs_writer_abort(w);
    bs_close(bs);
    CHECK(rename(c, a) == 0);
    CHECK(rename(d, b) == 0);
    bs = bs_open(dirs, 1, 0, err, sizeof(err));
    CHECK(bs != NULL);
    return bs;
}

/* ============================================================ callbacks */

static pthread_mutex_t cb_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned recovers;
static uint64_t rec_id, rec_gs;
static size_t rec_ntargets;
static char rec_host1[32], rec_sid0[32];
static unsigned rec_port1;

static void recover_cb(void *arg, uint64_t id, uint64_t gs, uint64_t min_gs,
                       Dfs__DatanodeId *const *targets, size_t ntargets)
{
    (void)min_gs;
    CHECK(arg == &recovers);
    pthread_mutex_lock(&cb_mu);
    recovers++;
    rec_id = id;
    rec_gs = gs;
    rec_ntargets = ntargets;
    if (ntargets == 2) {
        snprintf(rec_sid0, sizeof(rec_sid0), "%s", targets[0]->storage_id);
        snprintf(rec_host1, sizeof(rec_host1), "%s", targets[1]->host);
        rec_port1 = targets[1]->port;
    }
    pthread_mutex_unlock(&cb_mu);
}

static unsigned recovers_n(void)
{
    pthread_mutex_lock(&cb_mu);
    unsigned n = recovers;
    pthread_mutex_unlock(&cb_mu);
    return n;
}

static uint64_t fsyncs_cb(void *arg)
{
    CHECK(arg == &nn);
    return 42;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    dfs_log_set_level(DFS_LOG_ERROR);
    snprintf(base, sizeof(base), "/tmp/test_dn_nnconn.XXXXXX");
    CHECK(mkdtemp(base) != NULL);
    struct bs *bs = make_store();
    if (!bs)
        return check_summary();
    nn_start();

    char err[256];
    struct dn_nnconn_cfg cfg = {
        .nn_host = "127.0.0.1",
        .nn_port = nn.port,
        .dn_host = "127.0.0.1",
        .dn_port = 1234,
        .heartbeat_ms = 100,
        .bs = bs,
        .recover = recover_cb,
        .recover_arg = &recovers,
        .fsyncs = fsyncs_cb,
        .fsyncs_arg = &nn,
    };
    struct dn_nnconn *nc = dn_nnconn_start(&cfg, err, sizeof(err));
    CHECK(nc != NULL);
    if (!nc)
        return check_summary();

    /* The full report lists the finalized replica plainly and the one
     * left in rbw/ with rbw set and its bytes. */
    CHECK_WAIT_FOR(dn_nnconn_registered(nc), 5000);
    CHECK_EQ_INT(dn_nnconn_registered(nc), 1);
    pthread_mutex_lock(&nn.mu);
    CHECK_EQ_INT(nn.registers, 1);
    CHECK_EQ_INT(nn.reg_blocks, 2);
    CHECK_EQ_INT(nn.reg_rbw, 1);
    CHECK_EQ_INT(nn.rbw_id, 12);
    CHECK_EQ_INT(nn.rbw_gs, 3);
    CHECK_EQ_INT(nn.rbw_len, 5000);
    CHECK_EQ_INT(nn.fin_id, 11);
    CHECK_EQ_INT(nn.fin_rbw_flag, 0);
    pthread_mutex_unlock(&nn.mu);

    /* Heartbeats carry the fsync count; CMD_RECOVER reaches the callback
     * with its block and targets. */
    CHECK_WAIT_FOR(nn_get(&nn.heartbeats) >= 1 && recovers_n() == 1, 5000);
    pthread_mutex_lock(&nn.mu);
    CHECK_EQ_INT(nn.has_fsyncs, 1);
    CHECK_EQ_INT(nn.fsyncs, 42);
    pthread_mutex_unlock(&nn.mu);
    pthread_mutex_lock(&cb_mu);
    CHECK_EQ_INT(recovers, 1);
    CHECK_EQ_INT(rec_id, 77);
    CHECK_EQ_INT(rec_gs, 9);
    CHECK_EQ_INT(rec_ntargets, 2);
    CHECK_EQ_STR(rec_sid0, "DS-a");
    CHECK_EQ_STR(rec_host1, "127.0.0.2");
    CHECK_EQ_INT(rec_port1, 2222);
    pthread_mutex_unlock(&cb_mu);

    /* A commit whose connection is lost before the answer is sent again,
     * then not any more once answered. */
    pthread_mutex_lock(&nn.mu);
    nn.commit_drop = 1;
    nn.commit_status = DFS_OK;
    pthread_mutex_unlock(&nn.mu);
    const char *sids[2] = { "DS-a", "DS-b" };
    dn_nnconn_commit_sync(nc, 77, 9, 4096, sids, 2);
    CHECK_WAIT_FOR(nn_get(&nn.commits) == 2, 5000);
    usleep(300 * 1000);
    pthread_mutex_lock(&nn.mu);
    CHECK_EQ_INT(nn.commits, 2);
    CHECK_EQ_INT(nn.c_id, 77);
    CHECK_EQ_INT(nn.c_gs, 9);
    CHECK_EQ_INT(nn.c_len, 4096);
    CHECK_EQ_INT(nn.c_nsids, 2);
    CHECK_EQ_STR(nn.c_sid0, "DS-a");
    nn.commit_status = DFS_ERR_STALE;
    pthread_mutex_unlock(&nn.mu);

    /* An empty commit (no replica anywhere) that the namenode refuses is
     * sent once and dropped. */
    dn_nnconn_commit_sync(nc, 78, 10, 0, NULL, 0);
    CHECK_WAIT_FOR(nn_get(&nn.commits) == 3, 5000);
    unsigned hb = nn_get(&nn.heartbeats);
    CHECK_WAIT_FOR(nn_get(&nn.heartbeats) >= hb + 3, 5000);     /* the link went on */
    pthread_mutex_lock(&nn.mu);
    CHECK_EQ_INT(nn.commits, 3);
    CHECK_EQ_INT(nn.c_id, 78);
    CHECK_EQ_INT(nn.c_len, 0);
    CHECK_EQ_INT(nn.c_nsids, 0);
    CHECK(nn.heartbeats >= hb + 3);
    CHECK_EQ_INT(nn.registers, 1);
    pthread_mutex_unlock(&nn.mu);

    /* CMD_DELETE of the replica left in rbw/: kept while the command's
     * genstamp is older than its own, deleted and reported removed when
     * it is the same. */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/rbw/blk_12", base);
    pthread_mutex_lock(&nn.mu);
    nn.del_id = 12;
    nn.del_gs = 2;
    pthread_mutex_unlock(&nn.mu);
    CHECK_WAIT_FOR(nn_get64(&nn.del_id) == 0, 5000);
    hb = nn_get(&nn.heartbeats);
    CHECK_WAIT_FOR(nn_get(&nn.heartbeats) >= hb + 3, 5000);
    CHECK(access(path, F_OK) == 0);
    CHECK_EQ_INT(nn_get(&nn.removed), 0);
    pthread_mutex_lock(&nn.mu);
    nn.del_id = 12;
    nn.del_gs = 3;
    pthread_mutex_unlock(&nn.mu);
    CHECK_WAIT_FOR(nn_get(&nn.removed) == 1, 5000);
    CHECK_EQ_INT(nn_get(&nn.removed), 1);
    CHECK_EQ_INT(nn_get64(&nn.removed_id), 12);
    CHECK(access(path, F_OK) != 0);

    dn_nnconn_stop(nc);
    nn_stop();
    bs_close(bs);
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary();
}
