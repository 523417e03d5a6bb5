/*
 * nn_rpc.c - the namenode's RPC port: listener, connections, dispatch
 * table, replies.
 *
 * Each connection is a dfs_conn; a frame's type selects its handler from
 * the table the handler modules fill at start-up (nn_rpc_handle).  The
 * body is decoded here, so a handler only ever sees a well-formed request;
 * an unknown type or a body that does not decode closes that connection
 * and nothing else.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_rpc.h"
#include "dfs.pb-c.h"
#include "listener.h"
#include "log.h"
#include "nn.h"
#include "xmalloc.h"

/* Descriptors kept for other things than connections: LevelDB's table
 * files (MS_MAX_OPEN_FILES), then its logs, lock and manifest, ms_sync's
 * directory and log descriptors, our log and stdio. */
#define NN_FD_RESERVE (MS_MAX_OPEN_FILES + 64)

struct handler {
    const ProtobufCMessageDescriptor *desc;
    nn_handler_fn fn;
};

/* Filled by nn_rpc_handle() before the listener starts, read-only after. */
static struct handler handlers[DFS_MSG_MAX];

void nn_rpc_handle(uint16_t type, const ProtobufCMessageDescriptor *desc, nn_handler_fn fn)
{
    if (type >= DFS_MSG_MAX || (type & 1) || handlers[type].fn) {
        LOG_ERROR("RPC handler for message type 0x%x: invalid or registered twice", type);
        abort();
    }
    handlers[type] = (struct handler){ desc, fn };
}

/* ------------------------------------------------------------ replies */

/* Every response begins with status (1) and error (2), so one encoding of
 * those two fields answers any request with an error. */
void nn_reply_status(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     int status, const char *error)
{
    Dfs__MkdirResp r = DFS__MKDIR_RESP__INIT;
    r.status = (Dfs__Status)status;
    r.error = status != DFS_OK && error && *error ? (char *)error : NULL;
    commit_reply_msg(nn->commit, c, (uint16_t)(h->type | 1), h->reqid, &r.base);
}

void nn_reply_statusf(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                      int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    nn_reply_status(nn, c, h, status, msg);
}

void nn_reply_msg(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                  const ProtobufCMessage *m)
{
    commit_reply_msg(nn->commit, c, (uint16_t)(h->type | 1), h->reqid, m);
}

/* ------------------------------------------------------------ transport */

/* Open connections, so shutdown can close them. */
struct client {
    struct nn *nn;
    struct dfs_conn *conn;
    struct client *prev, *next;
};
static struct client *clients;

static int on_frame(struct dfs_conn *c, const struct dfs_frame_hdr *h, const uint8_t *body)
{
    struct nn *nn = ((struct client *)dfs_conn_arg(c))->nn;
    const struct handler *hd = h->type < DFS_MSG_MAX ? &handlers[h->type] : NULL;
    if (!hd || !hd->fn) {
        LOG_WARN("closing connection from %s: unexpected message type 0x%x",
                 dfs_conn_peer(c), h->type);
        return -1;
    }
    ProtobufCMessage *req = protobuf_c_message_unpack(hd->desc, NULL, h->len, body);
    if (!req) {
        LOG_WARN("closing connection from %s: malformed %s", dfs_conn_peer(c), hd->desc->name);
        return -1;
    }
    nn->nrequests++;
    int rc = hd->fn(nn, c, h, req);
    protobuf_c_message_free_unpacked(req, NULL);
    return rc;
}

static void on_close(struct dfs_conn *c)
{
    struct client *cl = dfs_conn_arg(c);
    LOG_DEBUG("connection from %s closed", dfs_conn_peer(c));
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    dfs_listener_closed(cl->nn->listener);
    free(cl);
}

static const struct dfs_conn_ops client_ops = {
    .on_frame = on_frame,
    .on_close = on_close,
};

static void accept_cb(evutil_socket_t fd, void *arg)
{
    struct nn *nn = arg;
    struct client *cl = xcalloc(1, sizeof(*cl));
    cl->nn = nn;
    cl->conn = dfs_conn_accept(nn->base, fd, &client_ops, cl, DFS_FRAME_MAX_CONTROL);
    if (!cl->conn) {
        LOG_ERROR("cannot set up a connection: out of memory");
        dfs_listener_closed(nn->listener);
        free(cl);
        return;
    }
    dfs_conn_set_idle_timeout(cl->conn, nn->conf.nn_idle_timeout_ms);
    cl->next = clients;
    if (clients)
        clients->prev = cl;
    clients = cl;
}

int nn_rpc_init(struct nn *nn)
{
    char err[512];
    const struct dfs_listener_cfg cfg = {
        .key = "namenode.address",
        .address = nn->conf.nn_address,
        .max_conns = nn->conf.nn_max_connections,
        .fds_per_conn = 1,
        .reserve = NN_FD_RESERVE,
        .on_accept = accept_cb,
        .arg = nn,
    };
    nn->listener = dfs_listener_new(nn->base, &cfg, err, sizeof(err));
    if (!nn->listener) {
        LOG_ERROR("%s", err);
        return -1;
    }
    nn->listen_addr = dfs_listener_addr(nn->listener);
    LOG_INFO("serving RPC on %s (at most %u connections)", nn->listen_addr,
             dfs_listener_max_conns(nn->listener));
    return 0;
}

void nn_rpc_shutdown(struct nn *nn)
{
    while (clients)
        dfs_conn_abort(clients->conn);   /* on_close unlinks it */
    dfs_listener_free(nn->listener);
    nn->listener = NULL;
    nn->listen_addr = NULL;
    memset(handlers, 0, sizeof(handlers));
}
