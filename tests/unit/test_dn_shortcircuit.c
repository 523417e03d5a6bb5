/*
 * test_dn_shortcircuit.c - unit tests of datanode/dn_shortcircuit.c: the
 * short-circuit server over a real block store, its event loop pumped here,
 * a client speaking the protocol on the UNIX socket: grants and refusals,
 * the slot invalidated by the store's hook, bytes_read summed for the
 * heartbeat (live, released and closed slots), the slot bound, and a
 * malformed frame closing that connection only.
 */
#include "check.h"
#include "blockstore.h"
#include "checksum.h"
#include "dfs.pb-c.h"
#include "dn_shortcircuit.h"
#include "frame.h"
#include "iopool.h"
#include "scslot.h"

#include <errno.h>
#include <event2/thread.h>
#include <ftw.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 512u

static char base_dir[64], data_dir[128], sock_path[100];
static char err[1024];
static struct event_base *base;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st; (void)flag; (void)f;
    return remove(p);
}

/* A finalized replica (id, gs) of len bytes. */
static int finalized(struct bs *bs, uint64_t id, uint64_t gs, size_t len)
{
    static uint8_t data[4096], sums[8 * 8];
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 7 + id);
    struct bs_writer *w = bs_writer_create(bs, id, gs, CHUNK, err, sizeof err);
    if (!w)
        return -1;
    dfs_checksum_chunks_be(data, len, CHUNK, sums);
    if (bs_writer_write(w, 0, data, len, sums, dfs_nchunks(len, CHUNK)) < 0) {
        bs_writer_abort(w);
        return -1;
    }
    return bs_writer_finalize(w, len);
}

/* Run the loop until fd is readable (or hung up), at most 5 s: 1 when it is. */
static int pump_until_readable(int fd)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 5) > 0)
            return 1;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 5)
            return 0;
    }
}

/* Run the loop for a while (requests that have no answer). */
static void pump(void)
{
    for (int i = 0; i < 20; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(2000);
    }
}

static int client(void)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_msg(int fd, uint16_t type, const ProtobufCMessage *m)
{
    uint8_t buf[256];
    size_t len = protobuf_c_message_get_packed_size(m);
    dfs_frame_encode_hdr(buf, type, 1, (uint32_t)len);
    protobuf_c_message_pack(m, buf + DFS_FRAME_HDR_LEN);
    CHECK(send(fd, buf, DFS_FRAME_HDR_LEN + len, MSG_NOSIGNAL) == (ssize_t)(DFS_FRAME_HDR_LEN + len));
}

/* ScOpenReq (id, gs) on fd: the answer's status (-1: none) and *slot;
 * the descriptors into fds[*nfds]. */
static int sc_open(int fd, uint64_t id, uint64_t gs, uint32_t *slot, int *fds, size_t *nfds)
{
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    Dfs__ScOpenReq req = DFS__SC_OPEN_REQ__INIT;
    eb.id = id;
    eb.genstamp = gs;
    req.block = &eb;
    send_msg(fd, DFS_MSG_SC_OPEN_REQ, &req.base);
    *nfds = 0;
    if (!pump_until_readable(fd))
        return -1;
    uint8_t buf[4096];
    union {
        char b[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                         .msg_controllen = sizeof cbuf.b };
    ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_type == SCM_RIGHTS) {
            *nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds, CMSG_DATA(cm), *nfds * sizeof(int));
        }
    struct dfs_frame_hdr h;
    if (n < DFS_FRAME_HDR_LEN ||
        dfs_frame_decode_hdr(buf, (size_t)n, 4096, &h) != DFS_FRAME_OK)
        return -1;
    Dfs__ScOpenResp *r = dfs__sc_open_resp__unpack(NULL, h.len, buf + DFS_FRAME_HDR_LEN);
    if (!r)
        return -1;
    int st = (int)r->status;
    *slot = r->has_slot ? r->slot : UINT32_MAX;
    dfs__sc_open_resp__free_unpacked(r, NULL);
    return st;
}

static void sc_release(int fd, uint32_t slot)
{
    Dfs__ScReleaseReq req = DFS__SC_RELEASE_REQ__INIT;
    req.slot = slot;
    send_msg(fd, DFS_MSG_SC_RELEASE_REQ, &req.base);
    pump();
}

static void close_fds(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

static void on_changed(void *arg, uint64_t id)
{
    dn_sc_invalidate(arg, id);
}

static void test_server(struct bs *bs, struct dn_sc *sc)
{
    int fds[4];
    size_t nfds;
    uint32_t slot, slot2;

    int c = client();
    CHECK(c >= 0);
    /* A grant: data, meta and (first time) the segment. */
    CHECK_EQ_INT(sc_open(c, 10, 1, &slot, fds, &nfds), DFS__STATUS__OK);
    CHECK_EQ_INT(nfds, 3);
    if (nfds != 3)
        return;
    struct dfs_sc_slot *seg = mmap(NULL, DFS_SC_SEGMENT_SIZE, PROT_READ | PROT_WRITE,
                                   MAP_SHARED, fds[2], 0);
    CHECK(seg != MAP_FAILED);
    if (seg == MAP_FAILED)
        return;
    CHECK(dfs_sc_slot_valid(&seg[slot], 10, 1));
    uint8_t b[4];
    CHECK_EQ_INT(pread(fds[1], b, 4, 0), 4);
    CHECK(memcmp(b, "DFSM", 4) == 0);
    close_fds(fds, 3);

    /* Refusals carry no descriptors. */
    CHECK_EQ_INT(sc_open(c, 10, 2, &slot2, fds, &nfds), DFS__STATUS__ERR_STALE);
    CHECK_EQ_INT(nfds, 0);
    CHECK_EQ_INT(sc_open(c, 99, 1, &slot2, fds, &nfds), DFS__STATUS__ERR_NOENT);
    CHECK_EQ_INT(bs_mark_bad(bs, 11, 1, err, sizeof err), 0);
    CHECK_EQ_INT(sc_open(c, 11, 1, &slot2, fds, &nfds), DFS__STATUS__ERR_CORRUPT);
    CHECK_EQ_INT(nfds, 0);

    /* Bytes the client counts are the heartbeat's. */
    CHECK_EQ_INT(dn_sc_bytes_read(sc), 0);
    atomic_fetch_add(&seg[slot].bytes_read, 1000);
    CHECK_EQ_INT(dn_sc_bytes_read(sc), 1000);

    /* Deleted: the slot turns INVALID before the files go; its bytes stay
     * counted, and once released too. */
    CHECK_EQ_INT(sc_open(c, 12, 1, &slot2, fds, &nfds), DFS__STATUS__OK);
    close_fds(fds, nfds);
    CHECK_EQ_INT(bs_delete(bs, 10), 0);
    CHECK_EQ_INT(atomic_load(&seg[slot].state), DFS_SC_INVALID);
    CHECK(dfs_sc_slot_valid(&seg[slot2], 12, 1));
    CHECK_EQ_INT(dn_sc_bytes_read(sc), 1000);
    sc_release(c, slot);
    CHECK_EQ_INT(atomic_load(&seg[slot].state), DFS_SC_FREE);
    CHECK_EQ_INT(dn_sc_bytes_read(sc), 1000);

    /* The slot bound: every slot in use, the next grant is BUSY. */
    unsigned granted = 1;             /* slot2 */
    int st = DFS__STATUS__OK;
    while (granted < DFS_SC_SLOTS + 1) {
        st = sc_open(c, 12, 1, &slot, fds, &nfds);
        close_fds(fds, nfds);
        if (st != DFS__STATUS__OK)
            break;
        granted++;
    }
    CHECK_EQ_INT(granted, DFS_SC_SLOTS);
    CHECK_EQ_INT(st, DFS__STATUS__ERR_BUSY);
    atomic_fetch_add(&seg[slot2].bytes_read, 5);
    CHECK_EQ_INT(dn_sc_bytes_read(sc), 1005);

    /* A malformed frame closes that connection: its slots turn INVALID,
     * their bytes stay counted; another connection is served. */
    int c2 = client();
    CHECK(c2 >= 0);
    CHECK_EQ_INT(send(c, "garbage, not a frame", 20, MSG_NOSIGNAL), 20);
    CHECK(pump_until_readable(c));
    CHECK_EQ_INT(recv(c, b, sizeof b, 0), 0);
    CHECK_EQ_INT(atomic_load(&seg[slot2].state), DFS_SC_INVALID);
    CHECK_EQ_INT(dn_sc_bytes_read(sc), 1005);
    close(c);
    CHECK_EQ_INT(sc_open(c2, 12, 1, &slot, fds, &nfds), DFS__STATUS__OK);
    CHECK_EQ_INT(nfds, 3);
    close_fds(fds, nfds);
    close(c2);
    pump();
    munmap(seg, DFS_SC_SEGMENT_SIZE);
    CHECK(dn_sc_grants(sc) >= DFS_SC_SLOTS + 2);
}

int main(void)
{
    snprintf(base_dir, sizeof base_dir, "/tmp/test_dn_sc_XXXXXX");
    if (!mkdtemp(base_dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(data_dir, sizeof data_dir, "%s/data", base_dir);
    snprintf(sock_path, sizeof sock_path, "%s/dn.sock", base_dir);
    const char *dirs[1] = { data_dir };
    evthread_use_pthreads();
    base = event_base_new();
    struct bs *bs = bs_open(dirs, 1, 0, err, sizeof err);
    struct iop *iop = bs ? iop_new(base, 1, err, sizeof err) : NULL;
    CHECK(bs && iop);
    if (bs && iop && finalized(bs, 10, 1, 3000) == 0 && finalized(bs, 11, 1, 100) == 0 &&
        finalized(bs, 12, 1, 600) == 0) {
        /* Not a socket there: refused.  Then made. */
        FILE *f = fopen(sock_path, "w");
        if (f)
            fclose(f);
        CHECK(dn_sc_new(base, sock_path, bs, iop, err, sizeof err) == NULL);
        CHECK(strstr(err, "not a socket") != NULL);
        unlink(sock_path);
        struct dn_sc *sc = dn_sc_new(base, sock_path, bs, iop, err, sizeof err);
        CHECK(sc != NULL);
        if (sc) {
            bs_on_replica_changed(bs, on_changed, sc);
            test_server(bs, sc);
            bs_on_replica_changed(bs, NULL, NULL);
            dn_sc_free(sc);
            CHECK(access(sock_path, F_OK) != 0);     /* removed */
        }
    } else {
        fprintf(stderr, "setup: %s\n", err);
        CHECK(0);
    }
    iop_free(iop);
    bs_close(bs);
    event_base_free(base);
    nftw(base_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary();
}
