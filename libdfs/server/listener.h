/*
 * listener.h - the TCP listener both daemons serve on.
 *
 * It binds a numeric HOST:PORT (port 0: any free port) on the loop and
 * hands each accepted socket to the owner, with two guards against running
 * out of file descriptors, which a flood of connections would otherwise
 * turn into a dead daemon (LevelDB or a replica file failing to open):
 *
 *   a cap    at most `max_conns` accepted sockets are open at once; one
 *            more is closed as soon as it is accepted (the peer sees the
 *            connection closed) and a warning is logged, at most once per
 *            LISTENER_LOG_MS with the count refused meanwhile.  The cap is
 *            lowered at start when RLIMIT_NOFILE (first raised to its hard
 *            limit) cannot hold max_conns * fds_per_conn + reserve; below
 *            LISTENER_MIN_CONNS the daemon refuses to start;
 *   a pause  when accept() itself fails for want of descriptors or memory
 *            (EMFILE, ENFILE, ENOBUFS, ENOMEM), the listener stops for
 *            LISTENER_PAUSE_MS instead of spinning on a socket it cannot
 *            accept, and logs at most once per LISTENER_LOG_MS.  The
 *            pending peers wait in the backlog and are accepted when it
 *            resumes.
 *
 * on_accept owns the socket; the owner calls dfs_listener_closed() once
 * for every accepted socket it has closed (also when it could not set it
 * up).  Everything runs on the loop's thread.
 */
#ifndef DFS_LISTENER_H
#define DFS_LISTENER_H

#include <stddef.h>
#include <event2/event.h>

#define LISTENER_PAUSE_MS 100
#define LISTENER_LOG_MS   10000
#define LISTENER_MIN_CONNS 16

struct dfs_listener;

struct dfs_listener_cfg {
    const char *key;           /* config key of the address, for messages */
    const char *address;       /* numeric "HOST:PORT" or "[V6]:PORT" */
    unsigned max_conns;        /* accepted sockets open at once, at most */
    unsigned fds_per_conn;     /* descriptors one connection may hold */
    unsigned reserve;          /* descriptors kept for everything else */
    /* A socket was accepted (non-blocking is up to the owner). */
    void (*on_accept)(evutil_socket_t fd, void *arg);
    void *arg;
};

/* Bind and start listening.  NULL with a message naming cfg->key in err
 * when the address is not numeric or cannot be bound, or when the
 * descriptor limit leaves room for fewer than LISTENER_MIN_CONNS. */
struct dfs_listener *dfs_listener_new(struct event_base *base, const struct dfs_listener_cfg *cfg,
                                      char *err, size_t errsz);
/* Stop listening and free.  Accepted sockets are the owner's.  NULL is a
 * no-op. */
void dfs_listener_free(struct dfs_listener *l);

/* The owner closed one socket this listener accepted. */
void dfs_listener_closed(struct dfs_listener *l);

/* The address actually bound: host as configured, the real port. */
const char *dfs_listener_host(const struct dfs_listener *l);
unsigned dfs_listener_port(const struct dfs_listener *l);
/* "HOST:PORT" ("[HOST]:PORT" for IPv6) of the bound address. */
const char *dfs_listener_addr(const struct dfs_listener *l);
/* The cap in force (max_conns, or lower for RLIMIT_NOFILE). */
unsigned dfs_listener_max_conns(const struct dfs_listener *l);
/* Accepted sockets open now. */
unsigned dfs_listener_open_conns(const struct dfs_listener *l);
/* Times accepting paused for want of descriptors or memory, since start. */
unsigned long dfs_listener_pauses(const struct dfs_listener *l);

#endif
