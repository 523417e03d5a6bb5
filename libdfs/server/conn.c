/*
 * conn.c - framed connections on libevent bufferevents (see conn.h).
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "log.h"

#define CONN_BUDGET 64            /* frames handled per wake-up */
#define CONN_READ_MAX (1u << 20)  /* bytes read per wake-up (plain sockets) */
#define CONN_READ_STEP (256u << 10)

struct dfs_conn {
    struct bufferevent *bev;
    struct event *resume_ev;      /* picks up frames left over by the budget */
    const struct dfs_conn_ops *ops;
    void *arg;
    uint64_t id;
    uint32_t max_body;
    enum dfs_conn_state state;
    int refs;
    int in_callback;              /* on_frame running: defer the free */
    int close_pending;            /* closed during a callback */
    size_t drain_low;
    char peer[300];
};

static uint64_t next_conn_id = 1;

static const char *state_name(enum dfs_conn_state s)
{
    switch (s) {
    case CONN_READING:  return "reading";
    case CONN_PAUSED:   return "paused";
    case CONN_DRAINING: return "draining";
    case CONN_CLOSED:   return "closed";
    }
    return "?";
}

static void set_state(struct dfs_conn *c, enum dfs_conn_state s)
{
    if (c->state == s)
        return;
    LOG_DEBUG("conn %llu %s: %s -> %s", (unsigned long long)c->id, c->peer,
              state_name(c->state), state_name(s));
    c->state = s;
}

static void conn_free_if_done(struct dfs_conn *c)
{
    if (c->state == CONN_CLOSED && c->refs == 0 && !c->in_callback)
        free(c);
}

/* Tear down the socket and tell the owner, once. */
static void conn_teardown(struct dfs_conn *c)
{
    if (c->state == CONN_CLOSED)
        return;
    c->in_callback++;             /* on_close may drop the last reference */
    set_state(c, CONN_CLOSED);
    if (c->resume_ev) {
        event_free(c->resume_ev);
        c->resume_ev = NULL;
    }
    if (c->bev) {
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
    if (c->ops->on_close)
        c->ops->on_close(c);
    c->in_callback--;
}

/* Hand complete frames to on_frame, within the budget. */
static void conn_drive(struct dfs_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    int budget = CONN_BUDGET;

    c->in_callback++;
    while (c->state == CONN_READING && budget-- > 0) {
        uint8_t raw[DFS_FRAME_HDR_LEN];
        size_t have = evbuffer_get_length(in);
        ev_ssize_t got = evbuffer_copyout(in, raw, have < sizeof(raw) ? have : sizeof(raw));
        if (got < 0)
            break;
        struct dfs_frame_hdr h;
        enum dfs_frame_rc rc = dfs_frame_decode_hdr(raw, (size_t)got, c->max_body, &h);
        if (rc == DFS_FRAME_SHORT)
            break;
        if (rc != DFS_FRAME_OK) {
            LOG_WARN("closing connection from %s: %s", c->peer, dfs_frame_strerror(rc));
            conn_teardown(c);
            break;
        }
        if (have < DFS_FRAME_HDR_LEN + (size_t)h.len)
            break;                /* conn_read_more fetches the rest */
        evbuffer_drain(in, DFS_FRAME_HDR_LEN);
        const uint8_t *body = h.len ? evbuffer_pullup(in, h.len) : (const uint8_t *)"";
        int keep = body ? c->ops->on_frame(c, &h, body) : -1;
        if (c->state != CONN_CLOSED)
            evbuffer_drain(in, h.len);
        if (keep < 0 && c->state != CONN_CLOSED)
            dfs_conn_close(c);
    }
    if (c->state == CONN_READING && budget < 0 && evbuffer_get_length(in) >= DFS_FRAME_HDR_LEN)
        event_active(c->resume_ev, EV_READ, 0);
    c->in_callback--;
    conn_free_if_done(c);
}

/* libevent 2.1 reads at most 4 KiB per callback (EVBUFFER_MAX_READ, fixed
 * until 2.2): read what the socket holds ourselves, in large pieces, up to
 * CONN_READ_MAX per wake-up.  EOF and errors are left for the bufferevent
 * to notice on its next read. */
static void conn_read_more(struct dfs_conn *c)
{
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t budget = CONN_READ_MAX;
    /* bufferevent_socket keeps the input's end frozen outside its reads. */
    evbuffer_unfreeze(in, 0);
    while (budget > 0) {
        struct evbuffer_iovec v[2];
        size_t want = budget < CONN_READ_STEP ? budget : CONN_READ_STEP;
        int n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
        if (n <= 0)
            break;
        struct iovec iov[2];
        for (int i = 0; i < n; i++) {
            iov[i].iov_base = v[i].iov_base;
            iov[i].iov_len = v[i].iov_len;
        }
        ssize_t r = readv(fd, iov, n);
        if (r <= 0) {
            evbuffer_commit_space(in, v, 0);
            break;
        }
        size_t left = (size_t)r;
        int used = 0;
        for (; used < n && left > 0; used++) {
            if (v[used].iov_len > left)
                v[used].iov_len = left;
            left -= v[used].iov_len;
        }
        evbuffer_commit_space(in, v, used);
        budget -= (size_t)r;
        if ((size_t)r < want)
            break;                /* the socket is drained */
    }
    evbuffer_freeze(in, 0);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct dfs_conn *c = arg;
    /* libevent read at most 4 KiB: only when it filled that can more be
     * waiting (a small request then costs no extra read that fails). */
    size_t have = evbuffer_get_length(bufferevent_get_input(bev));
    if (c->state == CONN_READING && have >= 4096 && have < 2 * (size_t)c->max_body + CONN_READ_MAX)
        conn_read_more(c);
    conn_drive(c);
}

static void conn_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct dfs_conn *c = arg;
    if (c->state == CONN_READING)
        conn_drive(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct dfs_conn *c = arg;
    size_t left = evbuffer_get_length(bufferevent_get_output(bev));
    if (c->state == CONN_DRAINING && left == 0) {
        conn_teardown(c);
        conn_free_if_done(c);
        return;
    }
    if (c->drain_low && c->ops->on_drained && left <= c->drain_low) {
        c->in_callback++;
        c->ops->on_drained(c);
        c->in_callback--;
        conn_free_if_done(c);
    }
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    struct dfs_conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        c->in_callback++;
        if (c->ops->on_connect)
            c->ops->on_connect(c, 1);
        c->in_callback--;
        conn_free_if_done(c);
        return;
    }
    if (what & BEV_EVENT_ERROR)
        LOG_DEBUG("connection %s: %s", c->peer, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    if (what & BEV_EVENT_TIMEOUT)
        LOG_DEBUG("closing connection from %s: idle", c->peer);
    int connecting = c->ops->on_connect && c->state != CONN_CLOSED &&
                     (what & BEV_EVENT_ERROR) && !(what & BEV_EVENT_READING) &&
                     !(what & BEV_EVENT_WRITING);
    c->in_callback++;
    if (connecting)
        c->ops->on_connect(c, 0);
    conn_teardown(c);
    c->in_callback--;
    conn_free_if_done(c);
}

/* The one place a transport is made: plain TCP now, TLS later. */
static struct bufferevent *conn_new_bev(struct event_base *base, evutil_socket_t fd)
{
    return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
}

static struct dfs_conn *conn_new(struct event_base *base, evutil_socket_t fd,
                                 const struct dfs_conn_ops *ops, void *arg, uint32_t max_body)
{
    struct dfs_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->bev = conn_new_bev(base, fd);
    c->resume_ev = event_new(base, -1, 0, conn_resume_cb, c);
    if (!c->bev || !c->resume_ev) {
        if (c->bev)
            bufferevent_free(c->bev);
        if (c->resume_ev)
            event_free(c->resume_ev);
        free(c);
        return NULL;
    }
    c->ops = ops;
    c->arg = arg;
    c->id = next_conn_id++;
    c->max_body = max_body;
    c->state = CONN_READING;
    snprintf(c->peer, sizeof(c->peer), "?");
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    /* A peer that sends faster than its frames are handled (the budget)
     * stops being read once this much waits: memory per connection stays
     * bounded, and a whole frame of max_body always fits. */
    bufferevent_setwatermark(c->bev, EV_READ, 0, 2 * (size_t)max_body + CONN_READ_MAX);
    /* Default 16 KiB per write turn is far too little for data streams. */
    bufferevent_set_max_single_write(c->bev, 1u << 20);
    return c;
}

static void peer_name(evutil_socket_t fd, char *out, size_t outsz)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
            port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
            port = ntohs(sin6->sin6_port);
        }
    }
    snprintf(out, outsz, "%s:%u", host, port);
}

struct dfs_conn *dfs_conn_accept(struct event_base *base, evutil_socket_t fd,
                                 const struct dfs_conn_ops *ops, void *arg, uint32_t max_body)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    evutil_make_socket_nonblocking(fd);
    struct dfs_conn *c = conn_new(base, fd, ops, arg, max_body);
    if (!c) {
        evutil_closesocket(fd);
        return NULL;
    }
    peer_name(fd, c->peer, sizeof(c->peer));
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return c;
}

struct dfs_conn *dfs_conn_connect(struct event_base *base, const char *host, unsigned port,
                                  const struct dfs_conn_ops *ops, void *arg, uint32_t max_body)
{
    struct sockaddr_storage ss;
    int sl = sizeof(ss);
    char addr[300];
    snprintf(addr, sizeof(addr), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)&ss, &sl) != 0)
        return NULL;
    struct dfs_conn *c = conn_new(base, -1, ops, arg, max_body);
    if (!c)
        return NULL;
    snprintf(c->peer, sizeof(c->peer), "%s", addr);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, sl) != 0) {
        bufferevent_free(c->bev);
        event_free(c->resume_ev);
        free(c);
        return NULL;
    }
    evutil_socket_t fd = bufferevent_getfd(c->bev);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    return c;
}

void *dfs_conn_arg(const struct dfs_conn *c) { return c->arg; }
void dfs_conn_set_arg(struct dfs_conn *c, void *arg) { c->arg = arg; }
uint64_t dfs_conn_id(const struct dfs_conn *c) { return c->id; }
enum dfs_conn_state dfs_conn_state(const struct dfs_conn *c) { return c->state; }
const char *dfs_conn_peer(const struct dfs_conn *c) { return c->peer; }

int dfs_conn_send(struct dfs_conn *c, uint16_t type, uint32_t reqid, const void *body, size_t len)
{
    if (c->state == CONN_CLOSED || c->state == CONN_DRAINING)
        return -1;
    uint8_t hdr[DFS_FRAME_HDR_LEN];
    dfs_frame_encode_hdr(hdr, type, reqid, (uint32_t)len);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    size_t sent = 0;
    if (evbuffer_get_length(out) == 0 && c->drain_low == 0) {
        /* Nothing queued: write at once, sparing the loop a turn and two
         * epoll_ctl calls per reply; only what does not fit is queued.
         * An error is left for the bufferevent to find on its own write.
         * Not for an owner that waits for on_drained: a frame written at
         * once never drains. */
        struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)body, len } };
        ssize_t n = writev(bufferevent_getfd(c->bev), iov, len ? 2 : 1);
        if (n > 0)
            sent = (size_t)n;
    }
    if (sent < sizeof(hdr) && evbuffer_add(out, hdr + sent, sizeof(hdr) - sent) != 0)
        return -1;
    size_t bsent = sent > sizeof(hdr) ? sent - sizeof(hdr) : 0;
    if (bsent < len && evbuffer_add(out, (const uint8_t *)body + bsent, len - bsent) != 0)
        return -1;
    return 0;
}

int dfs_conn_send_msg(struct dfs_conn *c, uint16_t type, uint32_t reqid, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t stackbuf[4096];
    uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
    if (!buf)
        return -1;
    protobuf_c_message_pack(m, buf);
    int rc = dfs_conn_send(c, type, reqid, buf, len);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

int dfs_conn_send_ref(struct dfs_conn *c, uint16_t type, uint32_t reqid,
                      const void *hdr, size_t hlen, const void *data, size_t dlen,
                      void (*cleanup)(const void *data, size_t len, void *arg), void *arg)
{
    if (c->state == CONN_CLOSED || c->state == CONN_DRAINING) {
        if (cleanup)
            cleanup(data, dlen, arg);
        return -1;
    }
    uint8_t fh[DFS_FRAME_HDR_LEN];
    dfs_frame_encode_hdr(fh, type, reqid, (uint32_t)(hlen + dlen));
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (evbuffer_add(out, fh, sizeof(fh)) != 0 || (hlen && evbuffer_add(out, hdr, hlen) != 0)) {
        if (cleanup)
            cleanup(data, dlen, arg);
        return -1;
    }
    if (dlen == 0) {
        if (cleanup)
            cleanup(data, dlen, arg);
        return 0;
    }
    return evbuffer_add_reference(out, data, dlen, cleanup, arg) == 0 ? 0 : -1;
}

struct file_ref {
    void (*cleanup)(void *arg);
    void *arg;
};

static void file_seg_cleanup(struct evbuffer_file_segment const *seg, int flags, void *arg)
{
    (void)seg;
    (void)flags;
    struct file_ref *r = arg;
    if (r->cleanup)
        r->cleanup(r->arg);
    free(r);
}

int dfs_conn_send_file(struct dfs_conn *c, uint16_t type, uint32_t reqid,
                       const void *hdr, size_t hlen, int fd, uint64_t off, size_t len,
                       void (*cleanup)(void *arg), void *arg)
{
    struct file_ref *r = malloc(sizeof(*r));
    struct evbuffer_file_segment *seg = NULL;
    uint8_t fh[DFS_FRAME_HDR_LEN];
    if (!r || c->state == CONN_CLOSED || c->state == CONN_DRAINING)
        goto fail;
    r->cleanup = cleanup;
    r->arg = arg;
    if (len > 0) {
        seg = evbuffer_file_segment_new(fd, (ev_off_t)off, (ev_off_t)len, 0);
        if (!seg)
            goto fail;
        evbuffer_file_segment_add_cleanup_cb(seg, file_seg_cleanup, r);
    }
    dfs_frame_encode_hdr(fh, type, reqid, (uint32_t)(hlen + len));
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int rc = evbuffer_add(out, fh, sizeof(fh)) == 0 && (!hlen || evbuffer_add(out, hdr, hlen) == 0) &&
             (!seg || evbuffer_add_file_segment(out, seg, 0, (ev_off_t)len) == 0) ? 0 : -1;
    if (seg)
        evbuffer_file_segment_free(seg);      /* the chain holds its own reference */
    else
        file_seg_cleanup(NULL, 0, r);
    return rc;
fail:
    free(r);
    if (cleanup)
        cleanup(arg);
    return -1;
}

size_t dfs_conn_output_len(const struct dfs_conn *c)
{
    return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

void dfs_conn_set_drain_watermark(struct dfs_conn *c, size_t low)
{
    c->drain_low = low;
    if (c->bev)
        bufferevent_setwatermark(c->bev, EV_WRITE, low, 0);
}

void dfs_conn_set_idle_timeout(struct dfs_conn *c, uint32_t ms)
{
    if (!c->bev)
        return;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    bufferevent_set_timeouts(c->bev, ms ? &tv : NULL, NULL);
}

void dfs_conn_pause(struct dfs_conn *c)
{
    if (c->state != CONN_READING)
        return;
    set_state(c, CONN_PAUSED);
    bufferevent_disable(c->bev, EV_READ);
}

void dfs_conn_resume(struct dfs_conn *c)
{
    if (c->state != CONN_PAUSED)
        return;
    set_state(c, CONN_READING);
    bufferevent_enable(c->bev, EV_READ);
    /* Frames may already be buffered: look at them on the next turn. */
    event_active(c->resume_ev, EV_READ, 0);
}

void dfs_conn_close(struct dfs_conn *c)
{
    if (c->state == CONN_CLOSED || c->state == CONN_DRAINING)
        return;
    if (dfs_conn_output_len(c) == 0) {
        conn_teardown(c);
        conn_free_if_done(c);
        return;
    }
    set_state(c, CONN_DRAINING);
    bufferevent_disable(c->bev, EV_READ);
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
}

void dfs_conn_abort(struct dfs_conn *c)
{
    conn_teardown(c);
    conn_free_if_done(c);
}

void dfs_conn_ref(struct dfs_conn *c)
{
    c->refs++;
}

void dfs_conn_unref(struct dfs_conn *c)
{
    c->refs--;
    conn_free_if_done(c);
}
