/*
 * sock.h - blocking, timed stream transport used by the client side
 * (libdfs RPCs, block readers and writers, the datanode's namenode link).
 *
 * A dfs_sock is one connected TCP socket in non-blocking mode whose
 * operations wait with poll(2) up to the sock's timeout, so a dead peer
 * becomes an error instead of a hang.  Every function returns 0 or a
 * negative errno value (-ETIMEDOUT, -ECONNRESET, -EPIPE, ...); an orderly
 * close by the peer in the middle of a read is -ECONNRESET.
 * TLS will slot in here (one transport type for both), not in the callers.
 *
 * A sock belongs to one thread at a time.
 */
#ifndef DFS_SOCK_H
#define DFS_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <protobuf-c/protobuf-c.h>
#include "frame.h"

struct dfs_sock {
    int fd;
    int timeout_ms;
};

/* Connect to host:port (numeric or resolvable) within timeout_ms.  On
 * failure -errno, with "HOST:PORT: reason" in err when err is not NULL. */
int dfs_sock_connect(struct dfs_sock *s, const char *host, unsigned port,
                     int timeout_ms, char *err, size_t errsz);
/* dfs_sock_connect() from the local address `src` (a numeric IP address;
 * NULL or "": any, as dfs_sock_connect), so that the peer sees this end
 * at src.  A src that cannot be bound is an error with "HOST:PORT: cannot
 * bind to SRC: reason" in err (a src of the other address family than
 * host's: -EAFNOSUPPORT). */
int dfs_sock_connect_from(struct dfs_sock *s, const char *src, const char *host, unsigned port,
                          int timeout_ms, char *err, size_t errsz);
/* Wrap an already connected fd (takes ownership). */
void dfs_sock_adopt(struct dfs_sock *s, int fd, int timeout_ms);
void dfs_sock_close(struct dfs_sock *s);
int dfs_sock_is_open(const struct dfs_sock *s);
/* 1 when an idle connection cannot be used any more: the peer closed or
 * reset it, or sent something unasked.  Does not block. */
int dfs_sock_is_stale(const struct dfs_sock *s);

int dfs_sock_write_all(struct dfs_sock *s, const void *buf, size_t len);
/* Write every byte of iov[0..iovcnt) (iov is modified). */
int dfs_sock_writev_all(struct dfs_sock *s, struct iovec *iov, int iovcnt);
/* dfs_sock_writev_all() that also watches for bytes to read: returns 1
 * as soon as the socket is readable while the write waits for room (a
 * peer answering before it takes the rest), with *iovp / *iovcntp moved
 * past what was written: call again to go on.  0 when all is written,
 * -errno on failure (-ETIMEDOUT: no room and nothing to read for the
 * sock's timeout). */
int dfs_sock_writev_watch(struct dfs_sock *s, struct iovec **iovp, int *iovcntp);
int dfs_sock_read_full(struct dfs_sock *s, void *buf, size_t len);
/* Wait until the socket is readable for up to timeout_ms: 1 readable,
 * 0 timeout, -errno. */
int dfs_sock_wait_readable(struct dfs_sock *s, int timeout_ms);

/* Send one frame whose body is `len` bytes at body. */
int dfs_sock_send_frame(struct dfs_sock *s, uint16_t type, uint32_t reqid,
                        const void *body, size_t len);
/* Send one frame whose body is the packed message m. */
int dfs_sock_send_msg(struct dfs_sock *s, uint16_t type, uint32_t reqid,
                      const ProtobufCMessage *m);
/* Receive one frame: header into *h, body into *buf (grown with realloc as
 * needed; *cap is its size; the caller frees *buf).  Bodies longer than
 * max_len and bad headers are -EPROTO. */
int dfs_sock_recv_frame(struct dfs_sock *s, struct dfs_frame_hdr *h,
                        uint8_t **buf, size_t *cap, uint32_t max_len);

#endif
