/*
 * shortcircuit.c - short-circuit local reads (see shortcircuit.h): the
 * connections to datanode sockets, their slot segments, the replica cache
 * and the verified pread of a replica.
 *
 * Ownership: a peer (one connection) is referenced by the peer list while
 * usable and by every replica granted through it (a replica reads its
 * slot in the peer's segment); a replica by the cache while cached and by
 * each read using it.  The last reference closes: a replica closes its
 * descriptors and releases its slot (ScReleaseReq, when its connection is
 * still open); a peer unmaps its segment and closes its socket.
 */
#include "shortcircuit.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "checksum.h"
#include "dfs.pb-c.h"
#include "error_i.h"
#include "frame.h"
#include "fs_i.h"
#include "metafile.h"
#include "scslot.h"

/* Bytes one call reads at most (it returns fewer; the caller loops). */
#define SC_MAX_READ (16u << 20)
/* Bounce buffer for reads off chunk boundaries, at least one chunk. */
#define SC_BOUNCE (1u << 20)
#define SC_RECORD_MAX 4096
/* Data read and verified per step: small enough to stay in the CPU cache
 * between the copy and the checksum. */
#define SC_PIECE (256u << 10)

struct sc_peer {
    char path[108];
    int fd;                       /* -1 once dropped */
    struct dfs_sc_slot *slots;    /* the segment, NULL until the first grant */
    unsigned refs;
    uint32_t reqid;
    struct sc_peer *next;         /* the list of usable peers */
};

struct sc_rep {
    struct sc_peer *peer;
    uint64_t id, gs, length;
    uint32_t chunk, slot;
    int data_fd, meta_fd;
    unsigned refs;
    int cached;
    struct sc_rep *prev, *next;   /* the LRU list, most recent first */
};

struct dfs_sc {
    pthread_mutex_t mu;
    unsigned cap, n;
    unsigned timeout_ms;
    struct sc_rep *head, *tail;
    struct sc_peer *peers;
};

void dfs_sc_buf_free(struct dfs_sc_buf *b)
{
    free(b->data);
    free(b->sums);
    memset(b, 0, sizeof(*b));
}

int dfs_sc_init(dfs_fs *fs)
{
    fs->sc = NULL;
    if (!fs->opts.short_circuit)
        return DFS_OK;
    struct dfs_sc *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    if (pthread_mutex_init(&sc->mu, NULL) != 0) {
        free(sc);
        return dfs_set_error(DFS_ERR_NOMEM, "cannot make a mutex");
    }
    sc->cap = fs->opts.short_circuit_cache ? fs->opts.short_circuit_cache : 1;
    sc->timeout_ms = fs->opts.timeout_ms;
    fs->sc = sc;
    return DFS_OK;
}

/* ---- peers (sc->mu held) ---------------------------------------------------- */

static void peer_unref(struct sc_peer *p)
{
    if (--p->refs > 0)
        return;
    if (p->slots)
        munmap(p->slots, DFS_SC_SEGMENT_SIZE);
    if (p->fd >= 0)
        close(p->fd);
    free(p);
}

static void rep_evict(struct dfs_sc *sc, struct sc_rep *r);

/* Take p out of use: close its socket (the datanode then invalidates its
 * slots) and drop every cached replica granted through it. */
static void peer_drop(struct dfs_sc *sc, struct sc_peer *p)
{
    for (struct sc_peer **pp = &sc->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    for (struct sc_rep *r = sc->head, *next; r; r = next) {
        next = r->next;
        if (r->peer == p)
            rep_evict(sc, r);
    }
    peer_unref(p);              /* the list's reference */
}

/* The usable peer of socket path, connected now if needed; NULL with a
 * reason in why. */
static struct sc_peer *peer_get(struct dfs_sc *sc, const char *path, char *why, size_t whysz)
{
    for (struct sc_peer *p = sc->peers; p; p = p->next)
        if (strcmp(p->path, path) == 0)
            return p;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        snprintf(why, whysz, "socket path too long");
        return NULL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, whysz, "socket: %s", strerror(errno));
        return NULL;
    }
    struct timeval tv = { .tv_sec = sc->timeout_ms / 1000,
                          .tv_usec = (long)(sc->timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        snprintf(why, whysz, "connect %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    struct sc_peer *p = calloc(1, sizeof(*p));
    if (!p) {
        close(fd);
        snprintf(why, whysz, "out of memory");
        return NULL;
    }
    snprintf(p->path, sizeof(p->path), "%s", path);
    p->fd = fd;
    p->refs = 1;
    p->next = sc->peers;
    sc->peers = p;
    return p;
}

/* 1 while p's datanode keeps its end open and has sent nothing unasked
 * (either means the connection is over). */
static int peer_alive(const struct sc_peer *p)
{
    struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
    return p->fd >= 0 && poll(&pfd, 1, 0) == 0;
}

/* ---- replicas (sc->mu held) ---------------------------------------------------- */

static void rep_unref(struct dfs_sc *sc, struct sc_rep *r)
{
    (void)sc;
    if (--r->refs > 0)
        return;
    close(r->data_fd);
    close(r->meta_fd);
    struct sc_peer *p = r->peer;
    if (p->fd >= 0) {
        /* Best effort: a connection that fails here is dropped at its
         * next use (peer_alive, or the next request's error). */
        Dfs__ScReleaseReq req = DFS__SC_RELEASE_REQ__INIT;
        uint8_t buf[DFS_FRAME_HDR_LEN + 16];
        req.slot = r->slot;
        size_t len = dfs__sc_release_req__get_packed_size(&req);
        dfs_frame_encode_hdr(buf, DFS_MSG_SC_RELEASE_REQ, ++p->reqid, (uint32_t)len);
        dfs__sc_release_req__pack(&req, buf + DFS_FRAME_HDR_LEN);
        ssize_t sent = send(p->fd, buf, DFS_FRAME_HDR_LEN + len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)sent;
    }
    peer_unref(p);
    free(r);
}

static void lru_unlink(struct dfs_sc *sc, struct sc_rep *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        sc->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        sc->tail = r->prev;
    r->prev = r->next = NULL;
}

static void lru_front(struct dfs_sc *sc, struct sc_rep *r)
{
    r->prev = NULL;
    r->next = sc->head;
    if (sc->head)
        sc->head->prev = r;
    sc->head = r;
    if (!sc->tail)
        sc->tail = r;
}

/* Drop r from the cache (if it is still there). */
static void rep_evict(struct dfs_sc *sc, struct sc_rep *r)
{
    if (!r->cached)
        return;
    lru_unlink(sc, r);
    r->cached = 0;
    sc->n--;
    rep_unref(sc, r);
}

/* Close every fd of a received control message. */
static void close_fds(const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/* Ask peer p for replica (id, gs).  The replica (refs 1: the caller's), or
 * NULL with why set; *drop set when the connection is no good any more. */
static struct sc_rep *rep_open(struct dfs_sc *sc, struct sc_peer *p, uint64_t id, uint64_t gs,
                               int *drop, char *why, size_t whysz)
{
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    Dfs__ScOpenReq req = DFS__SC_OPEN_REQ__INIT;
    uint8_t buf[SC_RECORD_MAX];
    eb.id = id;
    eb.genstamp = gs;
    req.block = &eb;
    size_t len = dfs__sc_open_req__get_packed_size(&req);
    uint32_t reqid = ++p->reqid;
    dfs_frame_encode_hdr(buf, DFS_MSG_SC_OPEN_REQ, reqid, (uint32_t)len);
    dfs__sc_open_req__pack(&req, buf + DFS_FRAME_HDR_LEN);
    *drop = 1;
    if (send(p->fd, buf, DFS_FRAME_HDR_LEN + len, MSG_NOSIGNAL) != (ssize_t)(DFS_FRAME_HDR_LEN + len)) {
        snprintf(why, whysz, "send: %s", strerror(errno));
        return NULL;
    }

    union {
        char b[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                         .msg_controllen = sizeof(cbuf.b) };
    ssize_t n;
    do
        n = recvmsg(p->fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    int fds[4];
    size_t nfds = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            if (k > 4 - nfds)
                k = 4 - nfds;
            memcpy(fds + nfds, CMSG_DATA(cm), k * sizeof(int));
            nfds += k;
        }
    if (n <= 0) {
        close_fds(fds, nfds);
        snprintf(why, whysz, "recv: %s", n == 0 ? "connection closed" : strerror(errno));
        return NULL;
    }
    struct dfs_frame_hdr h;
    Dfs__ScOpenResp *resp = NULL;
    if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
        dfs_frame_decode_hdr(buf, (size_t)n, SC_RECORD_MAX, &h) != DFS_FRAME_OK ||
        DFS_FRAME_HDR_LEN + (size_t)h.len != (size_t)n || h.type != DFS_MSG_SC_OPEN_RESP ||
        h.reqid != reqid ||
        !(resp = dfs__sc_open_resp__unpack(NULL, h.len, buf + DFS_FRAME_HDR_LEN))) {
        close_fds(fds, nfds);
        snprintf(why, whysz, "malformed answer");
        return NULL;
    }
    if (resp->status != DFS__STATUS__OK) {
        close_fds(fds, nfds);
        *drop = nfds != 0;
        snprintf(why, whysz, "datanode refused: %s",
                 resp->error ? resp->error : dfs_strerror((int)resp->status));
        dfs__sc_open_resp__free_unpacked(resp, NULL);
        return NULL;
    }
    int seg = resp->has_segment_size;
    if (!resp->has_slot || resp->slot >= DFS_SC_SLOTS || !resp->has_length ||
        !resp->has_chunk_size || !dfs_chunk_size_valid(resp->chunk_size) ||
        nfds != (seg ? 3u : 2u) || (seg && resp->segment_size != DFS_SC_SEGMENT_SIZE) ||
        (!seg && !p->slots)) {
        close_fds(fds, nfds);
        dfs__sc_open_resp__free_unpacked(resp, NULL);
        snprintf(why, whysz, "malformed grant");
        return NULL;
    }
    if (seg) {
        void *m = p->slots ? MAP_FAILED
                  : mmap(NULL, DFS_SC_SEGMENT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fds[2], 0);
        close(fds[2]);
        if (m == MAP_FAILED) {
            close_fds(fds, 2);
            dfs__sc_open_resp__free_unpacked(resp, NULL);
            snprintf(why, whysz, p->slots ? "second slot segment" : "mmap: %s", strerror(errno));
            return NULL;
        }
        p->slots = m;
    }
    struct sc_rep *r = calloc(1, sizeof(*r));
    if (!r) {
        close_fds(fds, 2);
        dfs__sc_open_resp__free_unpacked(resp, NULL);
        *drop = 0;
        snprintf(why, whysz, "out of memory");
        return NULL;
    }
    r->peer = p;
    p->refs++;
    r->id = id;
    r->gs = gs;
    r->length = resp->length;
    r->chunk = resp->chunk_size;
    r->slot = resp->slot;
    r->data_fd = fds[0];
    r->meta_fd = fds[1];
    r->refs = 1;
    dfs__sc_open_resp__free_unpacked(resp, NULL);
    *drop = 0;

    /* The meta header, as the datanode wrote it (metafile.h). */
    uint8_t mh_buf[DFS_META_HDR_LEN];
    uint32_t chunk;
    const char *bad = NULL;
    if (pread(r->meta_fd, mh_buf, sizeof(mh_buf), 0) != (ssize_t)sizeof(mh_buf))
        bad = "short meta file";
    else if ((bad = dfs_meta_header_check(mh_buf, &chunk)) == NULL && chunk != r->chunk)
        bad = "meta chunk size differs";
    if (bad) {
        snprintf(why, whysz, "%s", bad);
        rep_unref(sc, r);
        return NULL;
    }
    return r;
}

/* The cached replica (socket path, id, gs), granted now if needed, with a
 * reference for the caller; NULL with the reason in why. */
static struct sc_rep *rep_get(struct dfs_sc *sc, const char *path, uint64_t id, uint64_t gs,
                              char *why, size_t whysz)
{
    for (struct sc_rep *r = sc->head; r; r = r->next) {
        if (r->id != id || r->gs != gs || strcmp(r->peer->path, path) != 0)
            continue;
        if (!peer_alive(r->peer)) {
            peer_drop(sc, r->peer);        /* drops r too */
            break;
        }
        if (!dfs_sc_slot_valid(&r->peer->slots[r->slot], id, gs)) {
            rep_evict(sc, r);
            break;
        }
        lru_unlink(sc, r);
        lru_front(sc, r);
        r->refs++;
        return r;
    }
    struct sc_peer *p = peer_get(sc, path, why, whysz);
    if (!p)
        return NULL;
    if (!peer_alive(p)) {
        peer_drop(sc, p);
        if (!(p = peer_get(sc, path, why, whysz)))
            return NULL;
    }
    int drop;
    struct sc_rep *r = rep_open(sc, p, id, gs, &drop, why, whysz);
    if (!r) {
        if (drop)
            peer_drop(sc, p);
        return NULL;
    }
    r->cached = 1;
    r->refs++;
    lru_front(sc, r);
    if (++sc->n > sc->cap)
        rep_evict(sc, sc->tail);
    return r;
}

void dfs_sc_fini(dfs_fs *fs)
{
    struct dfs_sc *sc = fs->sc;
    if (!sc)
        return;
    pthread_mutex_lock(&sc->mu);
    while (sc->head)
        rep_evict(sc, sc->head);
    while (sc->peers)
        peer_drop(sc, sc->peers);
    pthread_mutex_unlock(&sc->mu);
    pthread_mutex_destroy(&sc->mu);
    free(sc);
    fs->sc = NULL;
}

/* ---- the read ---------------------------------------------------------------- */

static int grow(uint8_t **p, size_t *cap, size_t want)
{
    if (*cap >= want)
        return 0;
    uint8_t *n = realloc(*p, want);
    if (!n)
        return -1;
    *p = n;
    *cap = want;
    return 0;
}

/* pread all of len bytes: 0, or -1 (error or end of file). */
static int pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int64_t dfs_sc_read(dfs_fs *fs, const char *sock, uint64_t id, uint64_t gs, uint64_t blen,
                    void *buf, size_t len, uint64_t off, struct dfs_sc_buf *b,
                    uint32_t *chunk, char *why, size_t whysz)
{
    struct dfs_sc *sc = fs->sc;
    if (!sc) {
        snprintf(why, whysz, "short-circuit reads are off");
        return DFS_SC_FALLBACK;
    }
    pthread_mutex_lock(&sc->mu);
    struct sc_rep *r = rep_get(sc, sock, id, gs, why, whysz);
    pthread_mutex_unlock(&sc->mu);
    if (!r)
        return DFS_SC_FALLBACK;

    int64_t rc = DFS_SC_FALLBACK;
    struct dfs_sc_slot *slot = &r->peer->slots[r->slot];
    uint32_t cs = r->chunk;
    if (r->length != blen || off >= blen) {
        snprintf(why, whysz, "replica holds %llu bytes, the block %llu",
                 (unsigned long long)r->length, (unsigned long long)blen);
        goto out;
    }
    uint64_t end = off + (len < SC_MAX_READ ? len : SC_MAX_READ);
    if (end > blen)
        end = blen;
    uint64_t first = off / cs;
    uint8_t *dst;               /* where chunk `first` lands */
    uint64_t span;              /* bytes of whole chunks read, from first * cs */
    if (off % cs == 0 && (end == blen || end - off >= cs)) {
        span = end == blen ? end - off : (end - off) / cs * cs;
        dst = buf;
    } else {
        uint64_t last = (end + cs - 1) / cs;          /* chunk after the range */
        uint64_t most = SC_BOUNCE / cs ? SC_BOUNCE / cs : 1;
        if (last - first > most)
            last = first + most;
        span = (last * cs < blen ? last * cs : blen) - first * cs;
        if (grow(&b->data, &b->cap, span) < 0) {
            snprintf(why, whysz, "out of memory");
            goto out;
        }
        dst = b->data;
    }
    size_t nsums = dfs_nchunks(span, cs);
    if (grow(&b->sums, &b->scap, 8 * nsums) < 0) {
        snprintf(why, whysz, "out of memory");
        goto out;
    }
    if (!dfs_sc_slot_valid(slot, id, gs)) {
        snprintf(why, whysz, "slot invalidated");
        goto out;
    }
    /* The checksums, then the data a piece at a time, each piece verified
     * while it is still in the CPU's cache. */
    int short_read = pread_full(r->meta_fd, b->sums, 8 * nsums,
                                DFS_META_HDR_LEN + 8 * first) < 0;
    long bad = -1;
    uint64_t piece = cs >= SC_PIECE ? cs : SC_PIECE / cs * cs;
    for (uint64_t at = 0; !short_read && bad < 0 && at < span; at += piece) {
        uint64_t n = span - at < piece ? span - at : piece;
        short_read = pread_full(r->data_fd, dst + at, (size_t)n, first * cs + at) < 0;
        if (!short_read) {
            bad = dfs_checksum_verify_be(dst + at, (size_t)n, cs, b->sums + 8 * (at / cs));
            if (bad >= 0)
                bad += (long)(at / cs);
        }
    }
    if (short_read)
        bad = 0;
    /* Read while the replica was changing: not to be returned, not bad. */
    if (!dfs_sc_slot_valid(slot, id, gs)) {
        snprintf(why, whysz, "slot invalidated during the read");
        goto out;
    }
    if (short_read || bad >= 0) {
        if (short_read)
            snprintf(why, whysz, "replica files shorter than %llu bytes",
                     (unsigned long long)blen);
        else
            snprintf(why, whysz, "checksum mismatch at offset %llu",
                     (unsigned long long)((first + (uint64_t)bad) * cs));
        rc = DFS_SC_CORRUPT;
        pthread_mutex_lock(&sc->mu);
        rep_evict(sc, r);
        pthread_mutex_unlock(&sc->mu);
        goto out;
    }
    uint64_t skip = off - first * cs;
    uint64_t n = span - skip;
    if (n > end - off)
        n = end - off;
    if (dst != buf)
        memcpy(buf, dst + skip, (size_t)n);
    atomic_fetch_add_explicit(&slot->bytes_read, n, memory_order_relaxed);
    *chunk = cs;
    rc = (int64_t)n;
out:
    pthread_mutex_lock(&sc->mu);
    rep_unref(sc, r);
    pthread_mutex_unlock(&sc->mu);
    return rc;
}
