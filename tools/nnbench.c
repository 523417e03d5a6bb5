/*
 * dfs-nnbench - the namenode's block work measured with simulated
 * datanodes that speak the real protocol, as HDFS's NNThroughputBenchmark
 * does: no block data moves anywhere, only RPCs.
 *
 *   dfs-nnbench [-n HOST:PORT] create -b BLOCKS -o LIST [-k PER_FILE]
 *               [-w FILES] [-D DATANODES] [-S BLOCKSIZE] [-d DIR] [--json]
 *   dfs-nnbench [-n HOST:PORT] report -i LIST [-c CHUNK] [-W SECONDS] [--json]
 *
 * create  registers DATANODES (default 3) simulated datanodes (storage id
 *         DS-nnbench-K, transfer address 127.0.0.1:(50010+K), where nothing
 *         listens: no one is ever sent there) with empty reports and keeps
 *         them heartbeating every second; creates the files DIR/fNNNNNNN
 *         (default DIR /nnbench; open for write, replication DATANODES,
 *         block size BLOCKSIZE, default 1M) and allocates PER_FILE blocks
 *         (default 100) in each with AddBlockReq, FILES files (default 256)
 *         at a time, their requests pipelined on one connection.  After
 *         each round of allocations every datanode named in the answers
 *         reports its new replicas (length BLOCKSIZE: fake) in one
 *         incremental BlockReportReq; the next AddBlockReq completes the
 *         previous block, CompleteReq the last one.  BLOCKS blocks in all;
 *         they and the datanodes holding them are written to LIST.
 * report  (after a namenode restart) the datanodes of LIST register again,
 *         each from its own thread and connection, as real datanodes do
 *         after a namenode restart: one RegisterReq carrying every replica
 *         it holds when that fits in one frame (DFS_FRAME_MAX_CONTROL), as a
 *         real datanode sends it; else (or with -c CHUNK) in parts, as a
 *         real datanode sends a report bigger than datanode.block_report_split:
 *         a RegisterReq with the first CHUNK replicas and `more`, then
 *         BlockReportReq {full, continued, more} parts of CHUNK replicas.
 *         Every request is encoded before the clock starts.
 *         Timed from the first byte sent: until the last answer (replicas
 *         per second over all datanodes; each datanode's time too), and
 *         until the namenode leaves safe mode (SafemodeReq every 10 ms from
 *         the start on another connection; after the reports the datanodes
 *         heartbeat every second).  First it waits up to -W SECONDS
 *         (default 60) for the namenode to answer.
 *
 * Output: one line per phase (with --json one JSON object).  Exit status 0,
 * 1 on any failure (the namenode's message is printed), 2 usage error.
 * Internal API (frame.h, sock.h, the generated protocol): this tool plays
 * datanodes, which no public call does.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "dfs.h"
#include "dfs.pb-c.h"
#include "frame.h"
#include "sock.h"
#include "xmalloc.h"

#define NNB_MAX_DATANODES 16
#define NNB_BASE_PORT     50010
#define NNB_HEARTBEAT_MS  1000
#define NNB_TIMEOUT_MS    600000      /* one answer; a big report takes a while */
#define NNB_CLIENT        "dfs-nnbench"
#define NNB_CAPACITY      (1ull << 50) /* what each simulated datanode claims */
#define NNB_LIST_MAGIC    "DFSNNB1\n"
#define NNB_MAX_WINDOW    4096

static const char *prog = "dfs-nnbench";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ links */

/* One connection to the namenode with pipelined requests: requests get
 * ids in order; answers are matched by id. */
struct link {
    struct dfs_sock s;
    uint32_t next_id;
    uint8_t *buf;
    size_t cap;
};

static int link_open(struct link *l, const char *host, unsigned port)
{
    char err[256];
    memset(l, 0, sizeof(*l));
    l->next_id = 1;
    return dfs_sock_connect(&l->s, host, port, NNB_TIMEOUT_MS, err, sizeof(err)) == 0 ? 0 : -1;
}

static void link_close(struct link *l)
{
    dfs_sock_close(&l->s);
    free(l->buf);
    l->buf = NULL;
}

/* Send m as request `type`; returns its id (dies on a transport error). */
static uint32_t link_send(struct link *l, uint16_t type, const ProtobufCMessage *m)
{
    uint32_t id = l->next_id++;
    int rc = dfs_sock_send_msg(&l->s, type, id, m);
    if (rc)
        die("sending a request to the namenode: %s", strerror(-rc));
    return id;
}

/* Receive one answer to a request of `type`: its id into *id, decoded
 * with desc (the caller frees it).  Dies on a transport error. */
static ProtobufCMessage *link_recv(struct link *l, uint16_t type,
                                   const ProtobufCMessageDescriptor *desc, uint32_t *id)
{
    struct dfs_frame_hdr h;
    int rc = dfs_sock_recv_frame(&l->s, &h, &l->buf, &l->cap, DFS_FRAME_MAX_CONTROL);
    if (rc)
        die("waiting for the namenode: %s", strerror(-rc));
    if (h.type != (type | 1))
        die("the namenode answered type 0x%x to a request of type 0x%x", h.type, type);
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, h.len, l->buf);
    if (!m)
        die("malformed answer of type 0x%x", h.type);
    *id = h.reqid;
    return m;
}

/* One request, one answer. */
static ProtobufCMessage *link_call(struct link *l, uint16_t type, const ProtobufCMessage *m,
                                   const ProtobufCMessageDescriptor *desc)
{
    uint32_t want = link_send(l, type, m), got;
    ProtobufCMessage *r = link_recv(l, type, desc, &got);
    if (got != want)
        die("answer %u to request %u", got, want);
    return r;
}

static void check_status(const char *what, int status, const char *error)
{
    if (status != DFS__STATUS__OK)
        die("%s: %s", what, error && *error ? error : dfs_strerror(status));
}

/* ------------------------------------------------ simulated datanodes */

struct simdn {
    char sid[64];
    unsigned port;              /* transfer port it claims */
    struct link l;
    double next_hb;
    /* report phase */
    uint64_t *blocks;           /* indexes into the list of the blocks it holds */
    size_t nblocks;
    uint8_t **msgs;             /* encoded frames: RegisterReq, then BlockReportReqs */
    size_t *msglen;
    uint16_t *msgtype;
    size_t nmsgs;
    size_t bytes;
    double done;                /* now_s() of its last answer */
};

static struct {
    char host[256];
    unsigned port;
    int json;
} g;

static void simdn_init(struct simdn *d, unsigned k)
{
    memset(d, 0, sizeof(*d));
    snprintf(d->sid, sizeof(d->sid), "DS-nnbench-%u", k + 1);
    d->port = NNB_BASE_PORT + k + 1;
    if (link_open(&d->l, g.host, g.port) != 0)
        die("cannot connect to the namenode %s:%u", g.host, g.port);
}

static void simdn_id(const struct simdn *d, Dfs__DatanodeId *id)
{
    dfs__datanode_id__init(id);
    id->storage_id = (char *)d->sid;
    id->host = (char *)"127.0.0.1";
    id->port = d->port;
}

/* A RegisterReq of d (identity id, filled here) with no replica yet. */
static void simdn_register_req(struct simdn *d, Dfs__RegisterReq *req, Dfs__DatanodeId *id)
{
    dfs__register_req__init(req);
    simdn_id(d, id);
    req->id = id;
    req->capacity = NNB_CAPACITY;
    req->has_remaining = 1;
    req->remaining = NNB_CAPACITY;
}

static void simdn_register_empty(struct simdn *d)
{
    Dfs__RegisterReq req;
    Dfs__DatanodeId id;
    simdn_register_req(d, &req, &id);
    Dfs__RegisterResp *r = (Dfs__RegisterResp *)link_call(&d->l, DFS_MSG_REGISTER_REQ, &req.base,
                                                          &dfs__register_resp__descriptor);
    check_status("register", r->status, r->error);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    d->next_hb = now_s() + NNB_HEARTBEAT_MS / 1000.0;
}

static void simdn_heartbeat(struct simdn *d)
{
    Dfs__HeartbeatReq req = DFS__HEARTBEAT_REQ__INIT;
    req.storage_id = d->sid;
    req.capacity = NNB_CAPACITY;
    req.has_remaining = 1;
    req.remaining = NNB_CAPACITY;
    Dfs__HeartbeatResp *r = (Dfs__HeartbeatResp *)link_call(
        &d->l, DFS_MSG_HEARTBEAT_REQ, &req.base, &dfs__heartbeat_resp__descriptor);
    check_status("heartbeat", r->status, r->error);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    d->next_hb = now_s() + NNB_HEARTBEAT_MS / 1000.0;
}

/* Heartbeat every datanode whose turn it is. */
static void heartbeats(struct simdn *dns, unsigned n)
{
    double t = now_s();
    for (unsigned k = 0; k < n; k++)
        if (t >= dns[k].next_hb)
            simdn_heartbeat(&dns[k]);
}

/* ----------------------------------------------------------- the list */

/* One allocated block: id, generation stamp, length, and a bit per
 * simulated datanode holding a replica. */
struct lblock {
    uint64_t id, gs, len;
    uint32_t mask;
};

static void list_write(const char *path, unsigned ndn, const struct lblock *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    uint64_t hdr[2] = { ndn, n };
    if (!f)
        die("%s: %s", path, strerror(errno));
    if (fwrite(NNB_LIST_MAGIC, 8, 1, f) != 1 || fwrite(hdr, sizeof(hdr), 1, f) != 1 ||
        (n && fwrite(b, sizeof(*b), n, f) != n) || fclose(f) != 0)
        die("%s: write failed: %s", path, strerror(errno));
}

static struct lblock *list_read(const char *path, unsigned *ndn, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char magic[8];
    uint64_t hdr[2];
    if (!f)
        die("%s: %s", path, strerror(errno));
    if (fread(magic, 8, 1, f) != 1 || memcmp(magic, NNB_LIST_MAGIC, 8) != 0 ||
        fread(hdr, sizeof(hdr), 1, f) != 1 || hdr[0] == 0 || hdr[0] > NNB_MAX_DATANODES ||
        hdr[1] > (1ull << 32))
        die("%s: not a dfs-nnbench block list", path);
    struct lblock *b = xcalloc(hdr[1] ? hdr[1] : 1, sizeof(*b));
    if (hdr[1] && fread(b, sizeof(*b), hdr[1], f) != hdr[1])
        die("%s: truncated", path);
    fclose(f);
    *ndn = (unsigned)hdr[0];
    *n = hdr[1];
    return b;
}

/* ------------------------------------------------------------- create */

struct create_args {
    uint64_t blocks, per_file, block_size;
    unsigned window, ndn;
    const char *dir, *out;
};

/* One file being written. */
struct wfile {
    char path[4096];
    uint64_t inode;
    uint64_t want, have;        /* blocks to allocate, allocated */
    uint64_t last_id, last_gs;  /* its last block */
};

static unsigned dn_index(struct simdn *dns, unsigned n, const char *sid)
{
    for (unsigned k = 0; k < n; k++)
        if (strcmp(dns[k].sid, sid) == 0)
            return k;
    die("the namenode chose datanode %s, which is not one of ours", sid);
}

/* Create files[0..n) open for write (pipelined). */
static void create_files(struct link *cl, struct wfile *files, size_t n,
                         const struct create_args *a)
{
    uint32_t first = 0;
    for (size_t i = 0; i < n; i++) {
        Dfs__CreateReq req = DFS__CREATE_REQ__INIT;
        req.path = files[i].path;
        req.has_replication = 1;
        req.replication = a->ndn;
        req.has_block_size = 1;
        req.block_size = a->block_size;
        req.has_open_for_write = 1;
        req.open_for_write = 1;
        req.client = (char *)NNB_CLIENT;
        uint32_t id = link_send(cl, DFS_MSG_CREATE_REQ, &req.base);
        if (i == 0)
            first = id;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t id;
        Dfs__CreateResp *r = (Dfs__CreateResp *)link_recv(cl, DFS_MSG_CREATE_REQ,
                                                          &dfs__create_resp__descriptor, &id);
        if (id < first || id - first >= n)
            die("unexpected answer id %u", id);
        struct wfile *f = &files[id - first];
        check_status(f->path, r->status, r->error);
        if (!r->st)
            die("%s: create answered no status", f->path);
        f->inode = r->st->inode;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
}

/* One round: the next block of every file of files[0..n) that wants one,
 * then each datanode reports its new replicas.  New blocks are appended to
 * *list.  Returns the blocks allocated. */
static size_t add_blocks(struct link *cl, struct simdn *dns, struct wfile *files, size_t n,
                         const struct create_args *a, struct lblock *list, size_t *nlist)
{
    size_t *which = xcalloc(n, sizeof(*which));
    uint32_t first = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct wfile *f = &files[i];
        if (f->have >= f->want)
            continue;
        Dfs__AddBlockReq req = DFS__ADD_BLOCK_REQ__INIT;
        Dfs__ExtendedBlock prev = DFS__EXTENDED_BLOCK__INIT;
        req.path = f->path;
        req.inode = f->inode;
        req.client = (char *)NNB_CLIENT;
        if (f->last_id) {
            prev.id = f->last_id;
            prev.genstamp = f->last_gs;
            prev.has_length = 1;
            prev.length = a->block_size;
            req.previous = &prev;
        }
        uint32_t id = link_send(cl, DFS_MSG_ADDBLOCK_REQ, &req.base);
        if (k == 0)
            first = id;
        which[k++] = i;
    }
    /* Per datanode, the new replicas it reports. */
    Dfs__BlockInfo *bi = xcalloc(k ? k : 1, sizeof(*bi));
    Dfs__BlockInfo **per[NNB_MAX_DATANODES];
    size_t nper[NNB_MAX_DATANODES] = { 0 };
    for (unsigned d = 0; d < a->ndn; d++)
        per[d] = xcalloc(k ? k : 1, sizeof(**per));
    for (size_t j = 0; j < k; j++) {
        uint32_t id;
        Dfs__AddBlockResp *r = (Dfs__AddBlockResp *)link_recv(
            cl, DFS_MSG_ADDBLOCK_REQ, &dfs__add_block_resp__descriptor, &id);
        if (id < first || id - first >= k)
            die("unexpected answer id %u", id);
        size_t slot = id - first;
        struct wfile *f = &files[which[slot]];
        check_status(f->path, r->status, r->error);
        if (!r->block || !r->block->block)
            die("%s: AddBlock answered no block", f->path);
        struct lblock *lb = &list[(*nlist)++];
        lb->id = r->block->block->id;
        lb->gs = r->block->block->genstamp;
        lb->len = a->block_size;
        lb->mask = 0;
        dfs__block_info__init(&bi[slot]);
        bi[slot].id = lb->id;
        bi[slot].genstamp = lb->gs;
        bi[slot].length = lb->len;
        for (size_t t = 0; t < r->block->n_locs; t++) {
            unsigned d = dn_index(dns, a->ndn, r->block->locs[t]->storage_id);
            lb->mask |= 1u << d;
            per[d][nper[d]++] = &bi[slot];
        }
        if (!lb->mask)
            die("%s: blk_%" PRIu64 " has no datanode", f->path, lb->id);
        f->last_id = lb->id;
        f->last_gs = lb->gs;
        f->have++;
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    /* Incremental reports, one per datanode, sent together. */
    uint32_t rid[NNB_MAX_DATANODES];
    for (unsigned d = 0; d < a->ndn; d++) {
        if (!nper[d])
            continue;
        Dfs__BlockReportReq req = DFS__BLOCK_REPORT_REQ__INIT;
        req.storage_id = dns[d].sid;
        req.has_full = 1;
        req.full = 0;
        req.n_added = nper[d];
        req.added = per[d];
        rid[d] = link_send(&dns[d].l, DFS_MSG_BLOCKREPORT_REQ, &req.base);
    }
    for (unsigned d = 0; d < a->ndn; d++) {
        if (!nper[d])
            continue;
        uint32_t id;
        Dfs__BlockReportResp *r = (Dfs__BlockReportResp *)link_recv(
            &dns[d].l, DFS_MSG_BLOCKREPORT_REQ, &dfs__block_report_resp__descriptor, &id);
        if (id != rid[d])
            die("answer %u to report %u", id, rid[d]);
        check_status("block report", r->status, r->error);
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    for (unsigned d = 0; d < a->ndn; d++)
        free(per[d]);
    free(bi);
    free(which);
    return k;
}

/* Complete files[0..n) (pipelined; a file not complete yet is asked again). */
static void complete_files(struct link *cl, struct wfile *files, size_t n,
                           const struct create_args *a)
{
    size_t left = n, tries = 0;
    unsigned char *done = xcalloc(n ? n : 1, 1);
    while (left > 0) {
        if (tries++ > 100)
            die("files not complete after 100 tries");
        uint32_t first = 0;
        size_t sent = 0;
        for (size_t i = 0; i < n; i++) {
            if (done[i])
                continue;
            Dfs__CompleteReq req = DFS__COMPLETE_REQ__INIT;
            Dfs__ExtendedBlock last = DFS__EXTENDED_BLOCK__INIT;
            req.path = files[i].path;
            req.inode = files[i].inode;
            req.client = (char *)NNB_CLIENT;
            if (files[i].last_id) {
                last.id = files[i].last_id;
                last.genstamp = files[i].last_gs;
                last.has_length = 1;
                last.length = a->block_size;
                req.last = &last;
            }
            uint32_t id = link_send(cl, DFS_MSG_COMPLETE_REQ, &req.base);
            if (sent++ == 0)
                first = id;
        }
        /* Answers come in request order for one connection, but match ids. */
        size_t *idx = xcalloc(sent, sizeof(*idx));
        for (size_t i = 0, j = 0; i < n; i++)
            if (!done[i])
                idx[j++] = i;
        for (size_t j = 0; j < sent; j++) {
            uint32_t id;
            Dfs__CompleteResp *r = (Dfs__CompleteResp *)link_recv(
                cl, DFS_MSG_COMPLETE_REQ, &dfs__complete_resp__descriptor, &id);
            if (id < first || id - first >= sent)
                die("unexpected answer id %u", id);
            size_t i = idx[id - first];
            check_status(files[i].path, r->status, r->error);
            if (!r->has_complete || r->complete) {
                done[i] = 1;
                left--;
            }
            protobuf_c_message_free_unpacked(&r->base, NULL);
        }
        free(idx);
    }
    free(done);
}

static int run_create(const struct create_args *a)
{
    struct simdn dns[NNB_MAX_DATANODES];
    struct link cl;
    if (link_open(&cl, g.host, g.port) != 0)
        die("cannot connect to the namenode %s:%u", g.host, g.port);
    for (unsigned k = 0; k < a->ndn; k++) {
        simdn_init(&dns[k], k);
        simdn_register_empty(&dns[k]);
    }

    Dfs__MkdirReq mk = DFS__MKDIR_REQ__INIT;
    mk.path = (char *)a->dir;
    mk.has_parents = 1;
    mk.parents = 1;
    Dfs__MkdirResp *mr = (Dfs__MkdirResp *)link_call(&cl, DFS_MSG_MKDIR_REQ, &mk.base,
                                                     &dfs__mkdir_resp__descriptor);
    check_status(a->dir, mr->status, mr->error);
    protobuf_c_message_free_unpacked(&mr->base, NULL);

    uint64_t nfiles = (a->blocks + a->per_file - 1) / a->per_file;
    struct lblock *list = xcalloc(a->blocks, sizeof(*list));
    struct wfile *files = xcalloc(a->window, sizeof(*files));
    size_t nlist = 0;
    uint64_t rounds = 0;
    double t0 = now_s();
    for (uint64_t base = 0; base < nfiles; base += a->window) {
        size_t n = nfiles - base < a->window ? (size_t)(nfiles - base) : a->window;
        for (size_t i = 0; i < n; i++) {
            struct wfile *f = &files[i];
            uint64_t fi = base + i;
            memset(f, 0, sizeof(*f));
            snprintf(f->path, sizeof(f->path), "%s/f%07" PRIu64, a->dir, fi);
            f->want = fi + 1 < nfiles ? a->per_file : a->blocks - fi * a->per_file;
        }
        create_files(&cl, files, n, a);
        heartbeats(dns, a->ndn);
        while (add_blocks(&cl, dns, files, n, a, list, &nlist) > 0) {
            rounds++;
            heartbeats(dns, a->ndn);
        }
        complete_files(&cl, files, n, a);
        heartbeats(dns, a->ndn);
    }
    double secs = now_s() - t0;
    list_write(a->out, a->ndn, list, nlist);
    if (g.json)
        printf("{\"op\":\"create\",\"blocks\":%zu,\"files\":%" PRIu64 ",\"datanodes\":%u,"
               "\"window\":%u,\"rounds\":%" PRIu64 ",\"block_size\":%" PRIu64 ","
               "\"seconds\":%.3f,\"blocks_per_s\":%.0f}\n", nlist, nfiles, a->ndn, a->window,
               rounds, a->block_size, secs, (double)nlist / secs);
    else
        printf("create  blocks=%zu files=%" PRIu64 " datanodes=%u window=%u seconds=%.3f "
               "rate=%.0f blocks/s\n", nlist, nfiles, a->ndn, a->window, secs,
               (double)nlist / secs);
    for (unsigned k = 0; k < a->ndn; k++)
        link_close(&dns[k].l);
    link_close(&cl);
    free(files);
    free(list);
    return 0;
}

/* ------------------------------------------------------------- report */

/* Encode m as a whole frame (header + body) into d's message list. */
static void add_frame(struct simdn *d, uint16_t type, const ProtobufCMessage *m, uint32_t reqid)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    if (len > DFS_FRAME_MAX_CONTROL)
        die("%s: a report of %zu bytes does not fit in a frame (%u): use a smaller -c",
            d->sid, len, DFS_FRAME_MAX_CONTROL);
    uint8_t *buf = xmalloc(DFS_FRAME_HDR_LEN + len);
    dfs_frame_encode_hdr(buf, type, reqid, (uint32_t)len);
    protobuf_c_message_pack(m, buf + DFS_FRAME_HDR_LEN);
    d->msgs = xrealloc(d->msgs, (d->nmsgs + 1) * sizeof(*d->msgs));
    d->msglen = xrealloc(d->msglen, (d->nmsgs + 1) * sizeof(*d->msglen));
    d->msgtype = xrealloc(d->msgtype, (d->nmsgs + 1) * sizeof(*d->msgtype));
    d->msgs[d->nmsgs] = buf;
    d->msglen[d->nmsgs] = DFS_FRAME_HDR_LEN + len;
    d->msgtype[d->nmsgs] = type;
    d->nmsgs++;
    d->bytes += DFS_FRAME_HDR_LEN + len;
}

/* d's report of list as frames: RegisterReq with the first `chunk`
 * replicas (0: all when they fit in one frame), the rest as the parts of
 * the same full report (BlockReportReq {full, continued, more}). */
static void encode_report(struct simdn *d, const struct lblock *list, size_t chunk)
{
    Dfs__BlockInfo *bi = xcalloc(d->nblocks ? d->nblocks : 1, sizeof(*bi));
    Dfs__BlockInfo **bp = xcalloc(d->nblocks ? d->nblocks : 1, sizeof(*bp));
    for (size_t i = 0; i < d->nblocks; i++) {
        const struct lblock *b = &list[d->blocks[i]];
        dfs__block_info__init(&bi[i]);
        bi[i].id = b->id;
        bi[i].genstamp = b->gs;
        bi[i].length = b->len;
        bp[i] = &bi[i];
    }
    Dfs__RegisterReq reg;
    Dfs__DatanodeId id;
    simdn_register_req(d, &reg, &id);
    reg.n_blocks = d->nblocks;
    reg.blocks = bp;
    if (chunk == 0) {
        size_t all = protobuf_c_message_get_packed_size(&reg.base);
        if (all <= DFS_FRAME_MAX_CONTROL) {
            chunk = d->nblocks ? d->nblocks : 1;
        } else {
            /* Pieces of at most ~7/8 of a frame each. */
            size_t per = all / (d->nblocks ? d->nblocks : 1) + 1;
            chunk = (DFS_FRAME_MAX_CONTROL / 8 * 7) / per;
        }
    }
    size_t off = d->nblocks < chunk ? d->nblocks : chunk;
    reg.n_blocks = off;
    reg.has_more = 1;
    reg.more = off < d->nblocks;
    add_frame(d, DFS_MSG_REGISTER_REQ, &reg.base, 1);
    for (uint32_t reqid = 2; off < d->nblocks; reqid++) {
        size_t n = d->nblocks - off < chunk ? d->nblocks - off : chunk;
        Dfs__BlockReportReq req = DFS__BLOCK_REPORT_REQ__INIT;
        req.storage_id = d->sid;
        req.has_full = req.has_continued = req.has_more = 1;
        req.full = req.continued = 1;
        req.more = off + n < d->nblocks;
        req.n_added = n;
        req.added = bp + off;
        add_frame(d, DFS_MSG_BLOCKREPORT_REQ, &req.base, reqid);
        off += n;
    }
    d->l.next_id = (uint32_t)d->nmsgs + 1;
    free(bp);
    free(bi);
}

static pthread_barrier_t start_line;
static unsigned reports_left;   /* datanode threads still waiting for answers */

/* A datanode's thread: send every frame, then read every answer. */
static void *report_thread(void *arg)
{
    struct simdn *d = arg;
    pthread_barrier_wait(&start_line);
    for (size_t i = 0; i < d->nmsgs; i++) {
        int rc = dfs_sock_write_all(&d->l.s, d->msgs[i], d->msglen[i]);
        if (rc)
            die("%s: sending its report: %s", d->sid, strerror(-rc));
    }
    for (size_t i = 0; i < d->nmsgs; i++) {
        uint32_t id;
        int status;
        char *error;
        ProtobufCMessage *m;
        if (d->msgtype[i] == DFS_MSG_REGISTER_REQ) {
            Dfs__RegisterResp *r = (Dfs__RegisterResp *)link_recv(
                &d->l, DFS_MSG_REGISTER_REQ, &dfs__register_resp__descriptor, &id);
            m = &r->base;
            status = r->status;
            error = r->error;
        } else {
            Dfs__BlockReportResp *r = (Dfs__BlockReportResp *)link_recv(
                &d->l, DFS_MSG_BLOCKREPORT_REQ, &dfs__block_report_resp__descriptor, &id);
            m = &r->base;
            status = r->status;
            error = r->error;
        }
        if (id != i + 1)
            die("%s: answer %u to request %zu", d->sid, id, i + 1);
        check_status(d->sid, status, error);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    d->done = now_s();
    __atomic_sub_fetch(&reports_left, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Wait up to secs for the namenode to answer a StatReq of "/"; returns the
 * seconds waited. */
static double wait_namenode(struct link *cl, double secs)
{
    double t0 = now_s();
    for (;;) {
        if (link_open(cl, g.host, g.port) == 0) {
            Dfs__StatReq req = DFS__STAT_REQ__INIT;
            req.path = (char *)"/";
            if (dfs_sock_send_msg(&cl->s, DFS_MSG_STAT_REQ, cl->next_id++, &req.base) == 0) {
                struct dfs_frame_hdr h;
                if (dfs_sock_recv_frame(&cl->s, &h, &cl->buf, &cl->cap,
                                        DFS_FRAME_MAX_CONTROL) == 0)
                    return now_s() - t0;
            }
            link_close(cl);
        }
        if (now_s() - t0 > secs)
            die("the namenode %s:%u does not answer after %.0f s", g.host, g.port, secs);
        usleep(10000);
    }
}

/* Is the namenode in safe mode? */
static int safemode_on(struct link *cl)
{
    Dfs__SafemodeReq req = DFS__SAFEMODE_REQ__INIT;
    Dfs__SafemodeResp *r = (Dfs__SafemodeResp *)link_call(cl, DFS_MSG_SAFEMODE_REQ, &req.base,
                                                          &dfs__safemode_resp__descriptor);
    check_status("safemode", r->status, r->error);
    int on = r->has_on && r->on;
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return on;
}

static int run_report(const char *in, size_t chunk, double wait_secs)
{
    unsigned ndn;
    size_t n;
    struct lblock *list = list_read(in, &ndn, &n);
    struct simdn dns[NNB_MAX_DATANODES];
    struct link cl;

    double waited = wait_namenode(&cl, wait_secs);
    int sm_at_start = safemode_on(&cl);
    size_t replicas = 0, msgs = 0, bytes = 0;
    for (unsigned k = 0; k < ndn; k++) {
        simdn_init(&dns[k], k);
        dns[k].blocks = xcalloc(n ? n : 1, sizeof(*dns[k].blocks));
        for (size_t i = 0; i < n; i++)
            if (list[i].mask & (1u << k))
                dns[k].blocks[dns[k].nblocks++] = i;
        encode_report(&dns[k], list, chunk);
        free(dns[k].blocks);
        dns[k].blocks = NULL;
        replicas += dns[k].nblocks;
        msgs += dns[k].nmsgs;
        bytes += dns[k].bytes;
    }

    pthread_t th[NNB_MAX_DATANODES];
    reports_left = ndn;
    if (pthread_barrier_init(&start_line, NULL, ndn + 1) != 0)
        die("pthread_barrier_init failed");
    for (unsigned k = 0; k < ndn; k++)
        if (pthread_create(&th[k], NULL, report_thread, &dns[k]) != 0)
            die("pthread_create failed");
    pthread_barrier_wait(&start_line);
    double t0 = now_s();
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    /* Safe mode is watched while the reports go in: it may end before the
     * last one is in. */
    double t_safe = -1;
    while (t_safe < 0 && __atomic_load_n(&reports_left, __ATOMIC_ACQUIRE) > 0) {
        if (!safemode_on(&cl))
            t_safe = now_s() - t0;
        else
            usleep(10000);
    }
    for (unsigned k = 0; k < ndn; k++)
        pthread_join(th[k], NULL);
    pthread_barrier_destroy(&start_line);
    double t_reports = 0;
    for (unsigned k = 0; k < ndn; k++)
        if (dns[k].done - t0 > t_reports)
            t_reports = dns[k].done - t0;
    for (unsigned k = 0; k < ndn; k++)
        dns[k].next_hb = now_s();   /* they registered: heartbeats from now on */
    while (t_safe < 0) {
        if (!safemode_on(&cl)) {
            t_safe = now_s() - t0;
            break;
        }
        if (now_s() - t0 > 600)
            die("the namenode is still in safe mode 600 s after the reports");
        heartbeats(dns, ndn);
        usleep(10000);
    }

    if (g.json) {
        printf("{\"op\":\"report\",\"datanodes\":%u,\"blocks\":%zu,\"replicas\":%zu,"
               "\"messages\":%zu,\"bytes\":%zu,\"wait_seconds\":%.3f,\"safemode_at_start\":%s,"
               "\"start_epoch\":%.3f,\"seconds\":%.3f,\"replicas_per_s\":%.0f,"
               "\"datanode_seconds\":[", ndn, n, replicas, msgs, bytes, waited,
               sm_at_start ? "true" : "false", (double)wall.tv_sec + wall.tv_nsec / 1e9,
               t_reports, (double)replicas / t_reports);
        for (unsigned k = 0; k < ndn; k++)
            printf("%s%.3f", k ? "," : "", dns[k].done - t0);
        printf("],\"safemode_off_seconds\":%.3f}\n", t_safe);
    } else {
        printf("report  datanodes=%u replicas=%zu messages=%zu bytes=%zu seconds=%.3f "
               "rate=%.0f replicas/s safemode_off=%.3f s\n", ndn, replicas, msgs, bytes,
               t_reports, (double)replicas / t_reports, t_safe);
    }
    for (unsigned k = 0; k < ndn; k++) {
        for (size_t i = 0; i < dns[k].nmsgs; i++)
            free(dns[k].msgs[i]);
        free(dns[k].msgs);
        free(dns[k].msglen);
        free(dns[k].msgtype);
        link_close(&dns[k].l);
    }
    link_close(&cl);
    free(list);
    return 0;
}

/* --------------------------------------------------------------- main */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: %s [-n HOST:PORT] create -b BLOCKS -o LIST [-k PER_FILE] [-w FILES]\n"
        "                  [-D DATANODES] [-S BLOCKSIZE] [-d DIR] [--json]\n"
        "       %s [-n HOST:PORT] report -i LIST [-c CHUNK] [-W SECONDS] [--json]\n"
        "  -n HOST:PORT  namenode (default: $DFS_NAMENODE)\n"
        "  -b BLOCKS     create: blocks to allocate\n"
        "  -k PER_FILE   create: blocks per file (default 100)\n"
        "  -w FILES      create: files written at once, requests pipelined (default 256)\n"
        "  -D DATANODES  create: simulated datanodes, also the replication (default 3)\n"
        "  -S BLOCKSIZE  create: block size and every block's (fake) length (default 1M)\n"
        "  -d DIR        create: directory of the files (default /nnbench)\n"
        "  -o LIST       create: file to write the block list to\n"
        "  -i LIST       report: the block list written by create\n"
        "  -c CHUNK      report: replicas per message (default 0: all in the\n"
        "                RegisterReq when they fit in one frame)\n"
        "  -W SECONDS    report: wait this long for the namenode to answer (default 60)\n"
        "  --json        one JSON object per phase\n", prog, prog);
}

static uint64_t parse_num(const char *opt, const char *s, uint64_t min, uint64_t max)
{
    uint64_t v;
    if (dfs_parse_size(s, &v) != 0 || v < min || v > max) {
        fprintf(stderr, "%s: %s %s: expected a number in [%" PRIu64 ", %" PRIu64 "]\n", prog,
                opt, s, min, max);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "json", no_argument, NULL, 'J' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct create_args ca = { .blocks = 0, .per_file = 100, .block_size = 1 << 20,
                              .window = 256, .ndn = 3, .dir = "/nnbench", .out = NULL };
    const char *namenode = getenv("DFS_NAMENODE"), *in = NULL;
    uint64_t chunk = 0, wait_secs = 60;
    int c;

    /* Options may come before or after the mode word (GNU getopt
     * moves the operands to the end). */
    while ((c = getopt_long(argc, argv, "n:b:k:w:D:S:d:o:i:c:W:h", lopts, NULL)) != -1) {
        switch (c) {
        case 'n': namenode = optarg; break;
        case 'b': ca.blocks = parse_num("-b", optarg, 1, 1ull << 32); break;
        case 'k': ca.per_file = parse_num("-k", optarg, 1, 1u << 20); break;
        case 'w': ca.window = (unsigned)parse_num("-w", optarg, 1, NNB_MAX_WINDOW); break;
        case 'D': ca.ndn = (unsigned)parse_num("-D", optarg, 1, NNB_MAX_DATANODES); break;
        case 'S': ca.block_size = parse_num("-S", optarg, 1, 1ull << 40); break;
        case 'd': ca.dir = optarg; break;
        case 'o': ca.out = optarg; break;
        case 'i': in = optarg; break;
        case 'c': chunk = parse_num("-c", optarg, 1, 1ull << 32); break;
        case 'W': wait_secs = parse_num("-W", optarg, 0, 86400); break;
        case 'J': g.json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    const char *mode = argv[optind];
    if (!namenode || !*namenode ||
        dfs_parse_hostport(namenode, g.host, sizeof(g.host), &g.port) != 0 || g.port == 0) {
        fprintf(stderr, "%s: give the namenode as -n HOST:PORT (or $DFS_NAMENODE)\n", prog);
        return 2;
    }
    if (strcmp(mode, "create") == 0) {
        if (!ca.blocks || !ca.out) {
            fprintf(stderr, "%s: create needs -b BLOCKS and -o LIST\n", prog);
            return 2;
        }
        if (strlen(ca.dir) > 3000 || ca.dir[0] != '/') {
            fprintf(stderr, "%s: -d %s: an absolute path, please\n", prog, ca.dir);
            return 2;
        }
        return run_create(&ca);
    }
    if (strcmp(mode, "report") == 0) {
        if (!in) {
            fprintf(stderr, "%s: report needs -i LIST\n", prog);
            return 2;
        }
        return run_report(in, (size_t)chunk, (double)wait_secs);
    }
    fprintf(stderr, "%s: unknown mode %s (create or report)\n", prog, mode);
    return 2;
}
