/*
 * conn.h - one framed connection on a libevent loop (server side of the
 * namenode and datanode, and the datanode's downstream pipeline links).
 *
 * A dfs_conn is an explicit state machine over a bufferevent:
 *
 *   READING   waiting for / assembling frames; each whole frame is handed
 *             to ops->on_frame, at most CONN_BUDGET frames per wake-up so
 *             one busy peer cannot starve the others (the rest are picked
 *             up on the next loop turn);
 *   PAUSED    the owner stopped reading (backpressure: dfs_conn_pause);
 *   DRAINING  closing after the output buffer is flushed;
 *   CLOSED    the socket is gone; the struct lives on while references
 *             (dfs_conn_ref) remain, and sends on it are dropped.
 *
 * A frame with a bad header or a body above the connection's limit closes
 * that connection only.  The peer's EOF closes at once, as in Redis and
 * memcached: frames it sent but not yet handled and replies not yet written
 * are dropped, for a peer that closed has nobody left to read them.  The transport is created in one place
 * (conn_new_bev) so TLS (bufferevent_openssl) is a setting, not a second
 * code path.  Everything runs on the loop's thread.
 */
#ifndef DFS_CONN_H
#define DFS_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/bufferevent.h>
#include <protobuf-c/protobuf-c.h>
#include "frame.h"

struct dfs_conn;

struct dfs_conn_ops {
    /* A whole frame arrived; body is valid only during the call.  Return 0
     * to go on, -1 to close the connection (after what was queued). */
    int (*on_frame)(struct dfs_conn *c, const struct dfs_frame_hdr *h, const uint8_t *body);
    /* Output fell to the low watermark (optional; for backpressure). */
    void (*on_drained)(struct dfs_conn *c);
    /* For outgoing connections: connected (ok = 1) or failed (ok = 0). */
    void (*on_connect)(struct dfs_conn *c, int ok);
    /* The connection is closed (peer gone, error, or dfs_conn_close); the
     * owner drops its state.  Called once. */
    void (*on_close)(struct dfs_conn *c);
};

enum dfs_conn_state { CONN_READING, CONN_PAUSED, CONN_DRAINING, CONN_CLOSED };

/* Wrap an accepted socket.  max_body bounds every incoming frame body. */
struct dfs_conn *dfs_conn_accept(struct event_base *base, evutil_socket_t fd,
                                 const struct dfs_conn_ops *ops, void *arg, uint32_t max_body);
/* Start connecting to host:port (numeric address); ops->on_connect reports. */
struct dfs_conn *dfs_conn_connect(struct event_base *base, const char *host, unsigned port,
                                  const struct dfs_conn_ops *ops, void *arg, uint32_t max_body);

void *dfs_conn_arg(const struct dfs_conn *c);
void dfs_conn_set_arg(struct dfs_conn *c, void *arg);
/* Unique id of this connection in the process (never reused). */
uint64_t dfs_conn_id(const struct dfs_conn *c);
enum dfs_conn_state dfs_conn_state(const struct dfs_conn *c);
/* "HOST:PORT" of the peer. */
const char *dfs_conn_peer(const struct dfs_conn *c);

/* Queue a frame.  0, or -1 when the connection is closed (dropped). */
int dfs_conn_send(struct dfs_conn *c, uint16_t type, uint32_t reqid, const void *body, size_t len);
int dfs_conn_send_msg(struct dfs_conn *c, uint16_t type, uint32_t reqid, const ProtobufCMessage *m);
/* Queue a frame whose body is hdr[hlen] followed by data[dlen] given by
 * reference: cleanup(data, dlen, arg) runs when libevent is done with it. */
int dfs_conn_send_ref(struct dfs_conn *c, uint16_t type, uint32_t reqid,
                      const void *hdr, size_t hlen, const void *data, size_t dlen,
                      void (*cleanup)(const void *data, size_t len, void *arg), void *arg);
/* Queue a frame whose body is hdr[hlen] (copied) followed by len bytes of
 * file fd at off, sent with sendfile(2) when the transport allows.  fd must
 * stay open until cleanup(arg) runs. */
int dfs_conn_send_file(struct dfs_conn *c, uint16_t type, uint32_t reqid,
                       const void *hdr, size_t hlen, int fd, uint64_t off, size_t len,
                       void (*cleanup)(void *arg), void *arg);
/* Bytes queued for output. */
size_t dfs_conn_output_len(const struct dfs_conn *c);
/* Call on_drained once output falls to `low` bytes (0 disables). */
void dfs_conn_set_drain_watermark(struct dfs_conn *c, size_t low);

/* Close the connection (ops->on_close) when nothing arrives for ms while
 * it is reading; 0 turns the timeout off.  A paused connection is never
 * timed out: its silence is ours. */
void dfs_conn_set_idle_timeout(struct dfs_conn *c, uint32_t ms);

/* Backpressure: stop / resume reading frames. */
void dfs_conn_pause(struct dfs_conn *c);
void dfs_conn_resume(struct dfs_conn *c);

/* Close after flushing queued output (DRAINING), or at once (abort). */
void dfs_conn_close(struct dfs_conn *c);
void dfs_conn_abort(struct dfs_conn *c);

/* Keep the struct alive past its closing (deferred replies). */
void dfs_conn_ref(struct dfs_conn *c);
void dfs_conn_unref(struct dfs_conn *c);

#endif
