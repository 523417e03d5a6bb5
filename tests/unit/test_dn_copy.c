/*
 * test_dn_copy.c - unit tests of datanode/dn_copy.c's pool of copy threads
 * against a fake target datanode on a loopback port (the copy itself, to
 * real datanodes, is tests/integration/test_copy.py).
 *
 * The fake target, per connection: reads the WriteBlockReq, then either
 * (ACK) answers OK, verifies and acks every packet until the LAST one, or
 * (STALL) never answers, reading until the copier goes away.
 */
#include "check.h"
#include "blockstore.h"
#include "checksum.h"
#include "dn_copy.h"
#include "frame.h"
#include "log.h"
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

enum mode { M_ACK, M_STALL };

struct sink {
    int lfd;
    unsigned port;
    pthread_t thread;
    enum mode mode;               /* atomic */
    unsigned conns;               /* atomic: connections seen */
    unsigned lasts;               /* atomic: blocks streamed to the LAST packet */
    unsigned long long bytes;     /* atomic: data bytes of the last block */
    int bad;                      /* atomic: a malformed or mis-summed packet */
    char client[128];             /* WriteBlockReq.client of the last request */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Poll cond for up to ms milliseconds. */
#define WAIT_FOR(cond, ms) do { \
        uint64_t dl_ = now_ms() + (ms); \
        while (!(cond) && now_ms() < dl_) \
            usleep(2000); \
    } while (0)

static void serve(struct sink *k, int fd)
{
    struct dfs_sock s;
    dfs_sock_adopt(&s, fd, 20000);
    struct dfs_frame_hdr h;
    uint8_t *buf = NULL;
    size_t cap = 0;
    if (dfs_sock_recv_frame(&s, &h, &buf, &cap, DFS_FRAME_MAX_PACKET) != 0 ||
        h.type != DFS_MSG_WRITEBLOCK_REQ)
        goto out;
    Dfs__WriteBlockReq *req = dfs__write_block_req__unpack(NULL, h.len, buf);
    if (!req)
        goto out;
    snprintf(k->client, sizeof(k->client), "%s", req->client ? req->client : "");
    dfs__write_block_req__free_unpacked(req, NULL);
    if (__atomic_load_n(&k->mode, __ATOMIC_RELAXED) == M_STALL) {
        uint8_t junk[4096];
        for (;;) {                           /* until the copier goes away */
            ssize_t n = read(fd, junk, sizeof(junk));
            if (n > 0 || (n < 0 && errno == EINTR))
                continue;
            if (n == 0 || errno != EAGAIN || dfs_sock_wait_readable(&s, 20000) <= 0)
                break;
        }
        goto out;
    }
    Dfs__WriteBlockResp wr = DFS__WRITE_BLOCK_RESP__INIT;
    wr.status = DFS__STATUS__OK;
    if (dfs_sock_send_msg(&s, DFS_MSG_WRITEBLOCK_RESP, h.reqid, &wr.base) != 0)
        goto out;
    unsigned long long got = 0;
    for (;;) {
        struct dfs_pkt_hdr ph;
        if (dfs_sock_recv_frame(&s, &h, &buf, &cap, DFS_FRAME_MAX_PACKET) != 0)
            break;
        if (h.type != DFS_MSG_PACKET || dfs_pkt_decode_hdr(buf, h.len, &ph) != 0 ||
            ph.offset != got ||
            dfs_checksum_verify_be(buf + DFS_PKT_HDR_LEN + 8u * ph.nsums, ph.data_len,
                                   ph.chunk_size, buf + DFS_PKT_HDR_LEN) >= 0) {
            __atomic_store_n(&k->bad, 1, __ATOMIC_RELAXED);
            break;
        }
        got += ph.data_len;
        Dfs__PacketAck a = DFS__PACKET_ACK__INIT;
        Dfs__Status st = DFS__STATUS__OK;
        a.seq = ph.seq;
        a.n_statuses = 1;
        a.statuses = &st;
        if (dfs_sock_send_msg(&s, DFS_MSG_PACKET_ACK, h.reqid, &a.base) != 0)
            break;
        if (ph.flags & DFS_PKT_LAST) {
            __atomic_store_n(&k->bytes, got, __ATOMIC_RELAXED);
            __atomic_add_fetch(&k->lasts, 1, __ATOMIC_RELAXED);
            break;
        }
    }
out:
    free(buf);
    dfs_sock_close(&s);
}

static void *sink_main(void *arg)
{
    struct sink *k = arg;
    for (;;) {
        int fd = accept(k->lfd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return NULL;                     /* shut down */
        }
        __atomic_add_fetch(&k->conns, 1, __ATOMIC_RELAXED);
        serve(k, fd);
    }
}

static void sink_start(struct sink *k)
{
    memset(k, 0, sizeof(*k));
    k->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    CHECK(bind(k->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    CHECK(listen(k->lfd, 16) == 0);
    CHECK(getsockname(k->lfd, (struct sockaddr *)&a, &al) == 0);
    k->port = ntohs(a.sin_port);
    CHECK(pthread_create(&k->thread, NULL, sink_main, k) == 0);
}

static void sink_stop(struct sink *k)
{
    shutdown(k->lfd, SHUT_RDWR);
    pthread_join(k->thread, NULL);
    close(k->lfd);
}

/* ---- the source store ------------------------------------------------- */

static char base[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

static uint64_t put_replica(struct bs *bs, uint64_t id, size_t len)
{
    char err[512];
    uint8_t *data = malloc(len ? len : 1), *sums = malloc(8 * dfs_nchunks(len, CHUNK) + 8);
    uint64_t x = id * 0x9e3779b97f4a7c15ULL + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        data[i] = (uint8_t)x;
    }
    dfs_checksum_chunks_be(data, len, CHUNK, sums);
    struct bs_writer *w = bs_writer_create(bs, id, 1, CHUNK, err, sizeof(err));
    CHECK(w != NULL);
    if (w) {
        CHECK(bs_writer_write(w, 0, data, len, sums, dfs_nchunks(len, CHUNK)) == 0);
        CHECK(bs_writer_finalize(w, len) == 0);
    }
    free(data);
    free(sums);
    return len;
}

/* Flip a byte of replica id's data file. */
static void corrupt_replica(uint64_t id, off_t at)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/finalized/subdir%u/subdir%u/blk_%llu", base,
             (unsigned)((id >> 16) & 0x1f), (unsigned)((id >> 8) & 0x1f),
             (unsigned long long)id);
    int fd = open(path, O_RDWR);
    uint8_t b = 0;
    CHECK(fd >= 0 && pread(fd, &b, 1, at) == 1);
    b ^= 1;
    CHECK(pwrite(fd, &b, 1, at) == 1);
    close(fd);
}

static unsigned corrupt_calls;
static uint64_t corrupt_id;

static void on_corrupt(uint64_t id, uint64_t gs, const char *reason, void *arg)
{
    (void)gs;
    CHECK(arg == &corrupt_calls);
    CHECK(strstr(reason, "chunk 300") != NULL || strstr(reason, "flagged bad") != NULL);
    corrupt_id = id;
    __atomic_add_fetch(&corrupt_calls, 1, __ATOMIC_RELAXED);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    dfs_log_set_level(DFS_LOG_ERROR);
    snprintf(base, sizeof(base), "/tmp/test_dn_copy.XXXXXX");
    CHECK(mkdtemp(base) != NULL);
    char err[1024];
    const char *dirs[1] = { base };
    struct bs *bs = bs_open(dirs, 1, 0, err, sizeof(err));
    CHECK(bs != NULL);
    if (!bs)
        return check_summary();
    size_t len = put_replica(bs, 11, 2 * (1u << 20) + 5000);   /* 3 packets */
    put_replica(bs, 12, 10000);
    put_replica(bs, 13, 10000);
    put_replica(bs, 14, 10000);
    put_replica(bs, 15, 2 * (1u << 20));
    corrupt_replica(15, 300 * CHUNK + 7);

    struct sink k;
    sink_start(&k);
    Dfs__DatanodeId t = DFS__DATANODE_ID__INIT;
    t.storage_id = (char *)"DS-fake";
    t.host = (char *)"127.0.0.1";
    t.port = k.port;
    Dfs__DatanodeId *tp[1] = { &t };

    /* Bad configurations. */
    struct dn_copy_cfg cfg = { .bs = bs, .threads = 0 };
    CHECK(dn_copy_start(&cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "1..16") != NULL);
    cfg.threads = 17;
    CHECK(dn_copy_start(&cfg, err, sizeof(err)) == NULL);

    /* ---- a pool that copies: the sink gets the block, verified. */
    cfg.threads = 2;
    cfg.on_corrupt = on_corrupt;
    cfg.corrupt_arg = &corrupt_calls;
    struct dn_copy *dc = dn_copy_start(&cfg, err, sizeof(err));
    CHECK(dc != NULL);
    CHECK_EQ_INT(dn_copy_load(dc), 0);
    CHECK_EQ_INT(dn_copy_submit(dc, 11, 1, len, tp, 1), 0);
    WAIT_FOR(__atomic_load_n(&k.lasts, __ATOMIC_RELAXED) == 1 && dn_copy_load(dc) == 0, 10000);
    CHECK_EQ_INT(k.lasts, 1);
    CHECK_EQ_INT(k.bytes, len);
    CHECK_EQ_INT(k.bad, 0);
    CHECK(strncmp(k.client, "dn-copy-DS-", 11) == 0);
    CHECK_EQ_INT(dn_copy_load(dc), 0);

    /* Not here (no such replica, other genstamp, other length): skipped
     * without a connection. */
    unsigned conns = k.conns;
    CHECK_EQ_INT(dn_copy_submit(dc, 99, 1, 10, tp, 1), 0);
    CHECK_EQ_INT(dn_copy_submit(dc, 12, 2, 10000, tp, 1), 0);
    CHECK_EQ_INT(dn_copy_submit(dc, 13, 1, 9999, tp, 1), 0);
    WAIT_FOR(dn_copy_queued(dc) == 0 && dn_copy_load(dc) == 0, 10000);
    CHECK_EQ_INT(dn_copy_queued(dc), 0);
    CHECK_EQ_INT(k.conns, conns);

    /* No target: dropped at once. */
    CHECK_EQ_INT(dn_copy_submit(dc, 12, 1, 10000, tp, 0), -1);

    /* A corrupt source: on_corrupt fires; the sink never sees LAST. */
    CHECK_EQ_INT(dn_copy_submit(dc, 15, 1, 2u << 20, tp, 1), 0);
    WAIT_FOR(__atomic_load_n(&corrupt_calls, __ATOMIC_RELAXED) == 1 && dn_copy_load(dc) == 0,
             10000);
    CHECK_EQ_INT(corrupt_calls, 1);
    CHECK_EQ_INT(corrupt_id, 15);
    CHECK_EQ_INT(k.lasts, 1);
    CHECK_EQ_INT(k.bad, 0);
    /* ... and is flagged bad: never a source again, not even connected. */
    CHECK_EQ_INT(bs_is_bad(bs, 15), 1);
    CHECK_EQ_INT(bs_is_bad(bs, 11), 0);
    conns = k.conns;
    CHECK_EQ_INT(dn_copy_block(bs, 15, 1, 2u << 20, tp, 1, NULL, err, sizeof(err)),
                 DN_COPY_CORRUPT);
    CHECK(strstr(err, "flagged bad") != NULL);
    CHECK_EQ_INT(k.conns, conns);
    dn_copy_stop(dc);

    /* ---- a pool stuck on a target that never answers. */
    __atomic_store_n(&k.mode, M_STALL, __ATOMIC_RELAXED);
    cfg.threads = 1;
    cfg.queue_max = 2;
    cfg.timeout_ms = 20000;
    dc = dn_copy_start(&cfg, err, sizeof(err));
    CHECK(dc != NULL);
    CHECK_EQ_INT(dn_copy_submit(dc, 11, 1, len, tp, 1), 0);
    WAIT_FOR(dn_copy_load(dc) == 1, 5000);
    CHECK_EQ_INT(dn_copy_load(dc), 1);                  /* counted while in flight */
    CHECK_EQ_INT(dn_copy_submit(dc, 11, 1, len, tp, 1), 1);     /* in progress */
    CHECK_EQ_INT(dn_copy_submit(dc, 12, 1, 10000, tp, 1), 0);
    CHECK_EQ_INT(dn_copy_submit(dc, 12, 1, 10000, tp, 1), 1);   /* queued */
    CHECK_EQ_INT(dn_copy_submit(dc, 13, 1, 10000, tp, 1), 0);
    CHECK_EQ_INT(dn_copy_submit(dc, 14, 1, 10000, tp, 1), -1);  /* queue full */
    CHECK_EQ_INT(dn_copy_queued(dc), 2);
    uint64_t t0 = now_ms();
    dn_copy_stop(dc);                                    /* abandons the stuck copy */
    CHECK(now_ms() - t0 < 2000);
    CHECK_EQ_INT(k.lasts, 1);

    dn_copy_stop(NULL);
    CHECK_EQ_INT(dn_copy_load(NULL), 0);
    sink_stop(&k);
    bs_close(bs);
    nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary();
}
