/*
 * sock.c - blocking, timed stream transport (see sock.h).
 */
#include "sock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Wait for `events` on s->fd for up to timeout_ms (-1: forever). */
static int wait_fd(int fd, short events, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = events };
    for (;;) {
        int n = poll(&p, 1, timeout_ms);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR)
            return -errno;
    }
}

static void set_sock_opts(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Bind fd, about to connect to an address of `family`, to the numeric
 * address src (port 0).  0 or -errno. */
static int bind_src(int fd, int family, const char *src)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        if (inet_pton(AF_INET, src, &a->sin_addr) != 1)
            return -EAFNOSUPPORT;
        sl = sizeof(*a);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, src, &a->sin6_addr) != 1)
            return -EAFNOSUPPORT;
        sl = sizeof(*a);
    } else {
        return -EAFNOSUPPORT;
    }
    return bind(fd, (struct sockaddr *)&ss, sl) == 0 ? 0 : -errno;
}

int dfs_sock_connect(struct dfs_sock *s, const char *host, unsigned port,
                     int timeout_ms, char *err, size_t errsz)
{
    return dfs_sock_connect_from(s, NULL, host, port, timeout_ms, err, errsz);
}

int dfs_sock_connect_from(struct dfs_sock *s, const char *src, const char *host, unsigned port,
                          int timeout_ms, char *err, size_t errsz)
{
    int bind_failed = 0;      /* the last failure was binding src... */
    int bind_family = 0;      /* ...for an address of this family */
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char portstr[16];
    int rc = -EHOSTUNREACH;

    s->fd = -1;
    s->timeout_ms = timeout_ms;
    snprintf(portstr, sizeof(portstr), "%u", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        if (err)
            snprintf(err, errsz, "%s:%u: %s", host, port, gai_strerror(gai));
        return -EHOSTUNREACH;
    }
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            rc = -errno;
            continue;
        }
        set_sock_opts(fd);
        if (src && *src) {
            int b = bind_src(fd, ai->ai_family, src);
            if (b != 0) {
                rc = b;
                bind_failed = 1;
                bind_family = ai->ai_family;
                close(fd);
                continue;
            }
        }
        bind_failed = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            s->fd = fd;
            rc = 0;
            break;
        }
        if (errno != EINPROGRESS) {
            rc = -errno;
            close(fd);
            continue;
        }
        int w = wait_fd(fd, POLLOUT, timeout_ms);
        if (w <= 0) {
            rc = w == 0 ? -ETIMEDOUT : w;
            close(fd);
            continue;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if (soerr != 0) {
            rc = -soerr;
            close(fd);
            continue;
        }
        s->fd = fd;
        rc = 0;
        break;
    }
    freeaddrinfo(res);
    if (rc != 0 && err) {
        if (bind_failed)
            snprintf(err, errsz, "%s:%u: cannot bind to %s: %s", host, port, src,
                     rc == -EADDRNOTAVAIL ? "not an address of this machine"
                     : rc != -EAFNOSUPPORT ? strerror(-rc)
                     : bind_family == AF_INET6 ? "not an IPv6 address" : "not an IPv4 address");
        else
            snprintf(err, errsz, "%s:%u: %s", host, port, strerror(-rc));
    }
    return rc;
}

void dfs_sock_adopt(struct dfs_sock *s, int fd, int timeout_ms)
{
    s->fd = fd;
    s->timeout_ms = timeout_ms;
    set_sock_opts(fd);
}

void dfs_sock_close(struct dfs_sock *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

int dfs_sock_is_open(const struct dfs_sock *s)
{
    return s->fd >= 0;
}

int dfs_sock_is_stale(const struct dfs_sock *s)
{
    struct pollfd p = { .fd = s->fd, .events = POLLIN | POLLRDHUP };
    int n = poll(&p, 1, 0);
    return n != 0;     /* readable (EOF, reset or stray bytes) or error */
}

int dfs_sock_writev_all(struct dfs_sock *s, struct iovec *iov, int iovcnt)
{
    while (iovcnt > 0) {
        /* sendmsg with MSG_NOSIGNAL: a peer gone must be an error, never a
         * SIGPIPE killing the application that uses the library. */
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)(iovcnt > IOV_MAX ? IOV_MAX : iovcnt) };
        ssize_t n = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                return -errno;
            int w = wait_fd(s->fd, POLLOUT, s->timeout_ms);
            if (w <= 0)
                return w == 0 ? -ETIMEDOUT : w;
            continue;
        }
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

int dfs_sock_writev_watch(struct dfs_sock *s, struct iovec **iovp, int *iovcntp)
{
    struct iovec *iov = *iovp;
    int iovcnt = *iovcntp, rc = 0;
    while (iovcnt > 0) {
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)(iovcnt > IOV_MAX ? IOV_MAX : iovcnt) };
        ssize_t n = sendmsg(s->fd, &mh, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN) {
                rc = -errno;
                break;
            }
            struct pollfd p = { .fd = s->fd, .events = POLLOUT | POLLIN };
            int w;
            do
                w = poll(&p, 1, s->timeout_ms);
            while (w < 0 && errno == EINTR);
            if (w <= 0) {
                rc = w == 0 ? -ETIMEDOUT : -errno;
                break;
            }
            if (p.revents & POLLIN) {
                rc = 1;
                break;
            }
            continue;
        }
        while (iovcnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    *iovp = iov;
    *iovcntp = iovcnt;
    return rc;
}

int dfs_sock_write_all(struct dfs_sock *s, const void *buf, size_t len)
{
    struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
    return dfs_sock_writev_all(s, &iov, 1);
}

int dfs_sock_read_full(struct dfs_sock *s, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = read(s->fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n == 0)
            return -ECONNRESET;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN)
            return -errno;
        int w = wait_fd(s->fd, POLLIN, s->timeout_ms);
        if (w <= 0)
            return w == 0 ? -ETIMEDOUT : w;
    }
    return 0;
}

int dfs_sock_wait_readable(struct dfs_sock *s, int timeout_ms)
{
    return wait_fd(s->fd, POLLIN, timeout_ms);
}

int dfs_sock_send_frame(struct dfs_sock *s, uint16_t type, uint32_t reqid,
                        const void *body, size_t len)
{
    uint8_t hdr[DFS_FRAME_HDR_LEN];
    dfs_frame_encode_hdr(hdr, type, reqid, (uint32_t)len);
    struct iovec iov[2] = {
        { .iov_base = hdr, .iov_len = sizeof(hdr) },
        { .iov_base = (void *)body, .iov_len = len },
    };
    return dfs_sock_writev_all(s, iov, len ? 2 : 1);
}

int dfs_sock_send_msg(struct dfs_sock *s, uint16_t type, uint32_t reqid,
                      const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t stackbuf[4096];
    uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : malloc(len);
    if (!buf)
        return -ENOMEM;
    protobuf_c_message_pack(m, buf);
    int rc = dfs_sock_send_frame(s, type, reqid, buf, len);
    if (buf != stackbuf)
        free(buf);
    return rc;
}

int dfs_sock_recv_frame(struct dfs_sock *s, struct dfs_frame_hdr *h,
                        uint8_t **buf, size_t *cap, uint32_t max_len)
{
    uint8_t hdr[DFS_FRAME_HDR_LEN];
    int rc = dfs_sock_read_full(s, hdr, sizeof(hdr));
    if (rc)
        return rc;
    if (dfs_frame_decode_hdr(hdr, sizeof(hdr), max_len, h) != DFS_FRAME_OK)
        return -EPROTO;
    if (h->len > *cap || *buf == NULL) {
        size_t ncap = h->len ? h->len : 1;
        uint8_t *nb = realloc(*buf, ncap);
        if (!nb)
            return -ENOMEM;
        *buf = nb;
        *cap = ncap;
    }
    return h->len ? dfs_sock_read_full(s, *buf, h->len) : 0;
}
