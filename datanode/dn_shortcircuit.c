/*
 * dn_shortcircuit.c - the short-circuit socket (see dn_shortcircuit.h):
 * the UNIX listener, its connections, their shared-memory segments and
 * the registry of granted slots by block id.
 *
 * A connection is in one of these states (conn_set_state is the one place
 * that changes it):
 *
 *   SCC_READING  waiting for a request: its read event is armed; each wake
 *                handles at most SC_BUDGET records (one per request)
 *   SCC_OPENING  an ScOpenReq's replica is being opened on the io pool:
 *                nothing more is read until its answer is sent
 *   SCC_CLOSED   closed (EOF, error, malformed frame, shutdown): its fd is
 *                closed and its slots are INVALID and released; the struct
 *                lives until its job, if any, is done
 *
 * Locking: sc->mu guards the registry (block id -> chain of grants), the
 * list of connections, every grant's fields and the closed byte count.
 * The block store's hook (dn_sc_invalidate) takes only sc->mu; this module
 * calls the store (bs_lookup, bs_is_bad, on the loop; bs_open_replica on
 * an io thread) never holding sc->mu, so the two locks never nest the
 * other way round.  A grant cannot slip past an invalidation: the slot is
 * registered VALID first, then the replica is looked up once more and the
 * grant is withdrawn unless it is still finalized with that generation
 * stamp and not bad -- the store calls the hook after changing its map, so
 * either that lookup sees the change or the hook sees the slot.
 */
#include "dn_shortcircuit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "blockstore.h"
#include "dfs.pb-c.h"
#include "error_i.h"
#include "frame.h"
#include "iopool.h"
#include "log.h"
#include "scslot.h"
#include "u64map.h"
#include "xmalloc.h"

#define SC_BUDGET 16             /* requests handled per wake-up */
#define SC_MAX_RECORD 4096       /* a request record, at most */

enum sc_cstate { SCC_READING, SCC_OPENING, SCC_CLOSED };

static const char *const sc_state_names[] = { "reading", "opening", "closed" };

struct sc_conn;

/* One slot of a connection; id 0: free. */
struct sc_grant {
    uint64_t id, gs;
    struct sc_conn *c;
    struct sc_grant *next, *prev;   /* the chain of grants of block id */
};

struct sc_conn {
    struct dn_sc *sc;
    uint64_t serial;                /* for logs */
    int fd;
    struct event *ev;
    enum sc_cstate state;
    struct iop_strand *strand;
    unsigned jobs;                  /* submitted, done not yet called */
    int shm_fd;                     /* the segment's memfd, -1 once passed */
    struct dfs_sc_slot *slots;      /* the segment, mapped */
    unsigned nused;
    struct sc_grant grants[DFS_SC_SLOTS];
    struct sc_conn *next, *prev;    /* sc->conns, under sc->mu */
};

struct dn_sc {
    struct event_base *base;
    struct bs *bs;
    struct iop *iop;
    char path[108];
    int lfd;
    struct event *lev;
    pthread_mutex_t mu;
    struct u64map reg;              /* block id -> struct sc_grant * (chain head) */
    struct sc_conn *conns;
    size_t nconns;
    uint64_t closed_bytes;          /* bytes_read of released and closed slots */
    uint64_t grants_made;
    uint64_t next_serial;
};

/* An ScOpenReq on the io pool. */
struct sc_open_job {
    struct iop_job ij;              /* first */
    struct sc_conn *c;
    uint32_t reqid;
    uint64_t id, gs;
    struct bs_replica r;
    int rc;                         /* DFS_OK or a DFS_ERR_* */
    char err[256];
};

static void conn_close(struct sc_conn *c, const char *why);

static void conn_set_state(struct sc_conn *c, enum sc_cstate st)
{
    LOG_DEBUG("short-circuit connection %" PRIu64 ": %s -> %s", c->serial,
              sc_state_names[c->state], sc_state_names[st]);
    c->state = st;
}

/* ---- the registry (sc->mu held) ----------------------------------------- */

static void grant_link(struct dn_sc *sc, struct sc_grant *g)
{
    struct sc_grant *head = u64map_get(&sc->reg, g->id);
    g->prev = NULL;
    g->next = head;
    if (head)
        head->prev = g;
    u64map_put(&sc->reg, g->id, g);
}

/* Unlink g, mark its slot `st` and count its bytes as closed. */
static void grant_drop(struct dn_sc *sc, struct sc_grant *g, enum dfs_sc_state st)
{
    struct dfs_sc_slot *s = &g->c->slots[g - g->c->grants];
    atomic_store_explicit(&s->state, st, memory_order_release);
    sc->closed_bytes += atomic_load_explicit(&s->bytes_read, memory_order_acquire);
    if (g->prev)
        g->prev->next = g->next;
    else if (g->next)
        u64map_put(&sc->reg, g->id, g->next);
    else
        u64map_del(&sc->reg, g->id);
    if (g->next)
        g->next->prev = g->prev;
    g->id = 0;
    g->next = g->prev = NULL;
    g->c->nused--;
}

void dn_sc_invalidate(struct dn_sc *sc, uint64_t id)
{
    unsigned n = 0;
    pthread_mutex_lock(&sc->mu);
    for (struct sc_grant *g = u64map_get(&sc->reg, id); g; g = g->next, n++)
        atomic_store_explicit(&g->c->slots[g - g->c->grants].state, DFS_SC_INVALID,
                              memory_order_release);
    pthread_mutex_unlock(&sc->mu);
    if (n)
        LOG_DEBUG("short-circuit: blk_%" PRIu64 " changed: %u slot(s) invalidated", id, n);
}

uint64_t dn_sc_bytes_read(struct dn_sc *sc)
{
    pthread_mutex_lock(&sc->mu);
    uint64_t total = sc->closed_bytes;
    for (struct sc_conn *c = sc->conns; c; c = c->next)
        for (unsigned i = 0; c->nused && i < DFS_SC_SLOTS; i++)
            if (c->grants[i].id)
                total += atomic_load_explicit(&c->slots[i].bytes_read, memory_order_acquire);
    pthread_mutex_unlock(&sc->mu);
    return total;
}

uint64_t dn_sc_grants(struct dn_sc *sc)
{
    pthread_mutex_lock(&sc->mu);
    uint64_t n = sc->grants_made;
    pthread_mutex_unlock(&sc->mu);
    return n;
}

/* ---- answers -------------------------------------------------------------- */

/* Send one record: the frame of msg with nfds descriptors attached.
 * 0, or -errno (a full socket buffer counts as an error: a client waits
 * for each answer before it asks again). */
static int send_record(struct sc_conn *c, uint16_t type, uint32_t reqid,
                       const ProtobufCMessage *msg, const int *fds, int nfds)
{
    uint8_t buf[DFS_FRAME_HDR_LEN + 1024];
    size_t len = protobuf_c_message_get_packed_size(msg);
    if (len > sizeof(buf) - DFS_FRAME_HDR_LEN)
        return -EMSGSIZE;
    dfs_frame_encode_hdr(buf, type, reqid, (uint32_t)len);
    protobuf_c_message_pack(msg, buf + DFS_FRAME_HDR_LEN);
    struct iovec iov = { .iov_base = buf, .iov_len = DFS_FRAME_HDR_LEN + len };
    union {
        char b[CMSG_SPACE(3 * sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (nfds > 0) {
        memset(&cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf.b;
        mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(cm), fds, (size_t)nfds * sizeof(int));
    }
    ssize_t n;
    do
        n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == iov.iov_len ? 0 : -EIO;
}

static int send_status(struct sc_conn *c, uint32_t reqid, int status, const char *error)
{
    Dfs__ScOpenResp r = DFS__SC_OPEN_RESP__INIT;
    r.status = (Dfs__Status)status;
    r.error = (char *)error;
    return send_record(c, DFS_MSG_SC_OPEN_RESP, reqid, &r.base, NULL, 0);
}

/* ---- ScOpenReq ------------------------------------------------------------- */

static void open_run(struct iop_job *ij)
{
    struct sc_open_job *j = (struct sc_open_job *)ij;
    struct dn_sc *sc = j->c->sc;
    int rc = bs_open_replica(sc->bs, j->id, j->gs, &j->r, j->err, sizeof(j->err));
    if (rc == 0 && bs_is_bad(sc->bs, j->id)) {
        bs_close_replica(&j->r);
        snprintf(j->err, sizeof(j->err), "replica blk_%" PRIu64 " is flagged bad", j->id);
        j->rc = DFS_ERR_CORRUPT;
        return;
    }
    j->rc = rc == 0 ? DFS_OK : rc == -ENOENT ? DFS_ERR_NOENT : rc == -ESTALE ? DFS_ERR_STALE
            : DFS_ERR_IO;
}

/* Register a VALID slot for the job's replica, then check the replica once
 * more (see the top comment).  The slot index, or -1 with the status in
 * j->rc and j->err. */
static int grant(struct sc_conn *c, struct sc_open_job *j)
{
    struct dn_sc *sc = c->sc;
    int idx = -1;
    pthread_mutex_lock(&sc->mu);
    for (unsigned i = 0; c->nused < DFS_SC_SLOTS && i < DFS_SC_SLOTS; i++)
        if (c->grants[i].id == 0) {
            idx = (int)i;
            break;
        }
    if (idx >= 0) {
        struct sc_grant *g = &c->grants[idx];
        struct dfs_sc_slot *s = &c->slots[idx];
        g->id = j->id;
        g->gs = j->gs;
        g->c = c;
        c->nused++;
        atomic_store_explicit(&s->bytes_read, 0, memory_order_relaxed);
        atomic_store_explicit(&s->block_id, j->id, memory_order_relaxed);
        atomic_store_explicit(&s->genstamp, j->gs, memory_order_relaxed);
        atomic_store_explicit(&s->state, DFS_SC_VALID, memory_order_release);
        grant_link(sc, g);
        sc->grants_made++;
    }
    pthread_mutex_unlock(&sc->mu);
    if (idx < 0) {
        j->rc = DFS_ERR_BUSY;
        snprintf(j->err, sizeof(j->err), "every short-circuit slot of this connection is in use");
        return -1;
    }
    uint64_t gs;
    if (!bs_lookup(sc->bs, j->id, &gs, NULL) || gs != j->gs || bs_is_bad(sc->bs, j->id)) {
        pthread_mutex_lock(&sc->mu);
        grant_drop(sc, &c->grants[idx], DFS_SC_FREE);
        pthread_mutex_unlock(&sc->mu);
        j->rc = DFS_ERR_STALE;
        snprintf(j->err, sizeof(j->err), "replica blk_%" PRIu64 " changed while being opened",
                 j->id);
        return -1;
    }
    return idx;
}

static void conn_free(struct sc_conn *c)
{
    iop_strand_free(c->strand);
    free(c);
}

static void open_done(struct iop_job *ij)
{
    struct sc_open_job *j = (struct sc_open_job *)ij;
    struct sc_conn *c = j->c;
    c->jobs--;
    if (c->state == SCC_CLOSED) {
        if (j->rc == DFS_OK)
            bs_close_replica(&j->r);
        free(j);
        if (c->jobs == 0)
            conn_free(c);
        return;
    }
    int rc = 0, idx = j->rc == DFS_OK ? grant(c, j) : -1;
    if (idx >= 0) {
        Dfs__ScOpenResp r = DFS__SC_OPEN_RESP__INIT;
        int fds[3] = { j->r.data_fd, j->r.meta_fd, c->shm_fd };
        r.status = DFS__STATUS__OK;
        r.has_slot = 1;
        r.slot = (uint32_t)idx;
        r.has_length = 1;
        r.length = j->r.length;
        r.has_chunk_size = 1;
        r.chunk_size = j->r.chunk_size;
        if (c->shm_fd >= 0) {
            r.has_segment_size = 1;
            r.segment_size = DFS_SC_SEGMENT_SIZE;
        }
        rc = send_record(c, DFS_MSG_SC_OPEN_RESP, j->reqid, &r.base, fds, c->shm_fd >= 0 ? 3 : 2);
        if (rc == 0 && c->shm_fd >= 0) {
            close(c->shm_fd);
            c->shm_fd = -1;
        }
        LOG_DEBUG("short-circuit connection %" PRIu64 ": blk_%" PRIu64 "_%" PRIu64
                  " granted in slot %d", c->serial, j->id, j->gs, idx);
    } else {
        if (j->rc == DFS_OK)
            j->rc = DFS_ERR_IO;
        rc = send_status(c, j->reqid, j->rc, j->err);
        LOG_DEBUG("short-circuit connection %" PRIu64 ": blk_%" PRIu64 "_%" PRIu64
                  " refused: %s", c->serial, j->id, j->gs, j->err);
    }
    bs_close_replica(&j->r);
    free(j);
    if (rc < 0) {
        conn_close(c, strerror(-rc));
        if (c->jobs == 0)
            conn_free(c);
        return;
    }
    conn_set_state(c, SCC_READING);
    if (event_add(c->ev, NULL) != 0) {
        conn_close(c, "cannot watch the connection");
        if (c->jobs == 0)
            conn_free(c);
    }
}

/* ---- requests --------------------------------------------------------------- */

/* Handle one request record.  0, or -1 with the reason in *why: the
 * connection is to be closed. */
static int handle(struct sc_conn *c, const uint8_t *buf, size_t n, const char **why)
{
    struct dfs_frame_hdr h;
    if (dfs_frame_decode_hdr(buf, n, SC_MAX_RECORD, &h) != DFS_FRAME_OK ||
        DFS_FRAME_HDR_LEN + (size_t)h.len != n) {
        *why = "malformed frame";
        return -1;
    }
    const uint8_t *body = buf + DFS_FRAME_HDR_LEN;
    if (h.type == DFS_MSG_SC_OPEN_REQ) {
        Dfs__ScOpenReq *req = dfs__sc_open_req__unpack(NULL, h.len, body);
        if (!req || !req->block || req->block->id == 0) {
            if (req)
                dfs__sc_open_req__free_unpacked(req, NULL);
            *why = "malformed ScOpenReq";
            return -1;
        }
        struct sc_open_job *j = xcalloc(1, sizeof(*j));
        j->ij.run = open_run;
        j->ij.done = open_done;
        j->c = c;
        j->reqid = h.reqid;
        j->id = req->block->id;
        j->gs = req->block->genstamp;
        j->r.data_fd = j->r.meta_fd = -1;
        dfs__sc_open_req__free_unpacked(req, NULL);
        event_del(c->ev);
        conn_set_state(c, SCC_OPENING);
        c->jobs++;
        iop_submit(c->strand, &j->ij);
        return 0;
    }
    if (h.type == DFS_MSG_SC_RELEASE_REQ) {
        Dfs__ScReleaseReq *req = dfs__sc_release_req__unpack(NULL, h.len, body);
        int ok = req && req->slot < DFS_SC_SLOTS && c->grants[req->slot].id != 0;
        if (ok) {
            pthread_mutex_lock(&c->sc->mu);
            grant_drop(c->sc, &c->grants[req->slot], DFS_SC_FREE);
            pthread_mutex_unlock(&c->sc->mu);
        }
        if (req)
            dfs__sc_release_req__free_unpacked(req, NULL);
        if (!ok) {
            *why = "malformed ScReleaseReq (no such slot in use)";
            return -1;
        }
        return 0;
    }
    *why = "unexpected message type";
    return -1;
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    struct sc_conn *c = arg;
    uint8_t buf[SC_MAX_RECORD];
    (void)what;
    for (int k = 0; k < SC_BUDGET && c->state == SCC_READING; k++) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return;
        const char *why = NULL;
        if (n < 0)
            why = strerror(errno);
        else if (n == 0)
            why = NULL;             /* the client closed it */
        else if ((size_t)n > sizeof(buf))
            why = "record too long";
        else if (handle(c, buf, (size_t)n, &why) == 0)
            continue;
        if (n == 0)
            LOG_DEBUG("short-circuit connection %" PRIu64 ": closed by the client", c->serial);
        conn_close(c, why);
        if (c->jobs == 0)
            conn_free(c);
        return;
    }
}

/* Close c: its slots turn INVALID and are released, its segment unmapped,
 * its fd closed.  The caller frees c when no job is pending. */
static void conn_close(struct sc_conn *c, const char *why)
{
    struct dn_sc *sc = c->sc;
    if (c->state == SCC_CLOSED)
        return;
    if (why)
        LOG_WARN("short-circuit connection %" PRIu64 " closed: %s", c->serial, why);
    conn_set_state(c, SCC_CLOSED);
    pthread_mutex_lock(&sc->mu);
    for (unsigned i = 0; c->nused && i < DFS_SC_SLOTS; i++)
        if (c->grants[i].id)
            grant_drop(sc, &c->grants[i], DFS_SC_INVALID);
    if (c->prev)
        c->prev->next = c->next;
    else
        sc->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    sc->nconns--;
    pthread_mutex_unlock(&sc->mu);
    munmap(c->slots, DFS_SC_SEGMENT_SIZE);
    c->slots = NULL;
    if (c->shm_fd >= 0)
        close(c->shm_fd);
    c->shm_fd = -1;
    event_free(c->ev);
    c->ev = NULL;
    close(c->fd);
    c->fd = -1;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct dn_sc *sc = arg;
    (void)what;
    for (int k = 0; k < SC_BUDGET; k++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                errno != ECONNABORTED)
                LOG_WARN("short-circuit socket %s: accept: %s", sc->path, strerror(errno));
            return;
        }
        if (sc->nconns >= DN_SC_MAX_CONNS) {
            LOG_WARN("short-circuit socket %s: %d connections open: one more refused",
                     sc->path, DN_SC_MAX_CONNS);
            close(fd);
            continue;
        }
        int shm = memfd_create("dfs-sc-slots", MFD_CLOEXEC);
        void *map = MAP_FAILED;
        if (shm >= 0 && ftruncate(shm, DFS_SC_SEGMENT_SIZE) == 0)
            map = mmap(NULL, DFS_SC_SEGMENT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
        if (map == MAP_FAILED) {
            LOG_WARN("short-circuit socket %s: cannot make a slot segment: %s", sc->path,
                     strerror(errno));
            if (shm >= 0)
                close(shm);
            close(fd);
            continue;
        }
        struct sc_conn *c = xcalloc(1, sizeof(*c));
        c->sc = sc;
        c->fd = fd;
        c->shm_fd = shm;
        c->slots = map;
        c->state = SCC_READING;
        c->strand = iop_strand_new(sc->iop);
        c->ev = event_new(sc->base, fd, EV_READ | EV_PERSIST, on_read, c);
        if (!c->ev || event_add(c->ev, NULL) != 0) {
            LOG_WARN("short-circuit socket %s: cannot watch a connection", sc->path);
            if (c->ev)
                event_free(c->ev);
            munmap(map, DFS_SC_SEGMENT_SIZE);
            close(shm);
            close(fd);
            conn_free(c);
            continue;
        }
        pthread_mutex_lock(&sc->mu);
        c->serial = ++sc->next_serial;
        c->next = sc->conns;
        if (sc->conns)
            sc->conns->prev = c;
        sc->conns = c;
        sc->nconns++;
        pthread_mutex_unlock(&sc->mu);
        LOG_DEBUG("short-circuit connection %" PRIu64 " accepted", c->serial);
    }
}

/* ---- the server ---------------------------------------------------------------- */

struct dn_sc *dn_sc_new(struct event_base *base, const char *path, struct bs *bs,
                        struct iop *iop, char *err, size_t errsz)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat st;
    if (!path || path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(err, errsz, "datanode.domain_socket: '%s' is not an absolute path of at most "
                 "%zu bytes", path ? path : "", sizeof(sa.sun_path) - 1);
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errsz, "short-circuit socket %s: exists and is not a socket", path);
            return NULL;
        }
        /* Someone listening there (another datanode): not ours to take. */
        int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        int busy = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
        if (probe >= 0)
            close(probe);
        if (busy) {
            snprintf(err, errsz, "short-circuit socket %s: in use by another process", path);
            return NULL;
        }
        if (unlink(path) < 0) {
            snprintf(err, errsz, "short-circuit socket %s: unlink: %s", path, strerror(errno));
            return NULL;
        }
    }
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errsz, "short-circuit socket %s: socket: %s", path, strerror(errno));
        return NULL;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
        snprintf(err, errsz, "short-circuit socket %s: bind: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct dn_sc *sc = xcalloc(1, sizeof(*sc));
    sc->base = base;
    sc->bs = bs;
    sc->iop = iop;
    sc->lfd = fd;
    snprintf(sc->path, sizeof(sc->path), "%s", path);
    pthread_mutex_init(&sc->mu, NULL);
    sc->lev = event_new(base, fd, EV_READ | EV_PERSIST, on_accept, sc);
    if (!sc->lev || event_add(sc->lev, NULL) != 0) {
        snprintf(err, errsz, "short-circuit socket %s: cannot watch it", path);
        dn_sc_free(sc);
        return NULL;
    }
    return sc;
}

void dn_sc_free(struct dn_sc *sc)
{
    if (!sc)
        return;
    if (sc->lev)
        event_free(sc->lev);
    if (sc->lfd >= 0) {
        close(sc->lfd);
        unlink(sc->path);
    }
    /* Close every connection; those with a job pending are freed by its
     * done callback, which iop_drain runs. */
    while (sc->conns) {
        struct sc_conn *c = sc->conns;
        conn_close(c, NULL);
        if (c->jobs == 0)
            conn_free(c);
    }
    iop_drain(sc->iop);
    u64map_free(&sc->reg);
    pthread_mutex_destroy(&sc->mu);
    free(sc);
}
