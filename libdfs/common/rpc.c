/*
 * rpc.c - synchronous RPC client with a connection pool (see rpc.h).
 */
#include "rpc.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <time.h>

#include "dfs.h"
#include "error_i.h"
#include "sock.h"

#define RPC_POOL_MAX 32
/* A pooled connection idle this long is closed rather than reused: well
 * under the namenode's idle timeout (namenode.idle_timeout_ms, 5 min by
 * default), so a request never meets a connection the server is closing. */
#define RPC_POOL_IDLE_MS 30000

struct dfs_rpc {
    char host[256];
    unsigned port;
    int timeout_ms;
    char peer[300];
    char src[64];                /* local address to connect from; "": any */
    char local_host[64];         /* our address as the server sees it */
    pthread_mutex_t lock;
    uint32_t next_reqid;
    int nidle;
    struct dfs_sock idle[RPC_POOL_MAX];     /* oldest first */
    uint64_t idle_since[RPC_POOL_MAX];      /* monotonic ms it was pooled */
};

struct dfs_rpc *dfs_rpc_new(const char *host, unsigned port, int timeout_ms)
{
    struct dfs_rpc *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    snprintf(r->host, sizeof(r->host), "%s", host);
    r->port = port;
    r->timeout_ms = timeout_ms;
    snprintf(r->peer, sizeof(r->peer), "%s:%u", host, port);
    pthread_mutex_init(&r->lock, NULL);
    r->next_reqid = 1;
    return r;
}

void dfs_rpc_free(struct dfs_rpc *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nidle; i++)
        dfs_sock_close(&r->idle[i]);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void dfs_rpc_set_source(struct dfs_rpc *r, const char *src)
{
    snprintf(r->src, sizeof(r->src), "%s", src ? src : "");
}

const char *dfs_rpc_peer(const struct dfs_rpc *r)
{
    return r->peer;
}

void dfs_rpc_local_host(struct dfs_rpc *r, char *out, size_t outsz)
{
    pthread_mutex_lock(&r->lock);
    snprintf(out, outsz, "%s", r->local_host[0] ? r->local_host : "127.0.0.1");
    pthread_mutex_unlock(&r->lock);
}

/* Remember the local address of a fresh connection (for locality). */
static void note_local_host(struct dfs_rpc *r, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[64];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL, 0, NI_NUMERICHOST) != 0)
        return;
    pthread_mutex_lock(&r->lock);
    snprintf(r->local_host, sizeof(r->local_host), "%s", host);
    pthread_mutex_unlock(&r->lock);
}

/* Take an idle connection; 1 if one was pooled, 0 if s must be opened. */
static int pool_get(struct dfs_rpc *r, struct dfs_sock *s, uint32_t *reqid)
{
    int pooled = 0;
    pthread_mutex_lock(&r->lock);
    *reqid = r->next_reqid++;
    uint64_t now = dfs_mono_ms();
    int old = 0;
    while (old < r->nidle && now - r->idle_since[old] >= RPC_POOL_IDLE_MS)
        dfs_sock_close(&r->idle[old++]);
    if (old > 0) {
        r->nidle -= old;
        memmove(r->idle, r->idle + old, (size_t)r->nidle * sizeof(r->idle[0]));
        memmove(r->idle_since, r->idle_since + old, (size_t)r->nidle * sizeof(r->idle_since[0]));
    }
    if (r->nidle > 0) {
        *s = r->idle[--r->nidle];
        pooled = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return pooled;
}

static void pool_put(struct dfs_rpc *r, struct dfs_sock *s)
{
    pthread_mutex_lock(&r->lock);
    if (r->nidle < RPC_POOL_MAX) {
        r->idle_since[r->nidle] = dfs_mono_ms();
        r->idle[r->nidle++] = *s;
        s->fd = -1;
    }
    pthread_mutex_unlock(&r->lock);
    dfs_sock_close(s);
}

static void pool_drain(struct dfs_rpc *r)
{
    pthread_mutex_lock(&r->lock);
    while (r->nidle > 0)
        dfs_sock_close(&r->idle[--r->nidle]);
    pthread_mutex_unlock(&r->lock);
}

/* The generic `status` / `error` fields every response starts with. */
static int resp_status(const ProtobufCMessage *m, const char **error)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const ProtobufCFieldDescriptor *fs = protobuf_c_message_descriptor_get_field_by_name(d, "status");
    const ProtobufCFieldDescriptor *fe = protobuf_c_message_descriptor_get_field_by_name(d, "error");
    *error = NULL;
    if (!fs || fs->type != PROTOBUF_C_TYPE_ENUM)
        return DFS_ERR_PROTO;
    if (fe && fe->type == PROTOBUF_C_TYPE_STRING)
        *error = *(const char *const *)((const char *)m + fe->offset);
    return *(const int *)((const char *)m + fs->offset);
}

static int transport_error(struct dfs_rpc *r, int rc)
{
    if (rc == -ETIMEDOUT)
        return dfs_set_error(DFS_ERR_TIMEOUT, "namenode %s did not answer in time", r->peer);
    if (rc == -ENOMEM)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    if (rc == -EPROTO)
        return dfs_set_error(DFS_ERR_PROTO, "malformed answer from namenode %s", r->peer);
    return dfs_set_error(DFS_ERR_CONN, "lost connection to namenode %s: %s", r->peer, strerror(-rc));
}

int dfs_rpc_call(struct dfs_rpc *r, uint16_t req_type, const ProtobufCMessage *req,
                 const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
    struct dfs_sock s = { .fd = -1 };
    uint8_t *buf = NULL;
    size_t cap = 0;
    uint32_t reqid;
    int rc;

    *resp = NULL;
    for (int attempt = 0;; attempt++) {
        int pooled = pool_get(r, &s, &reqid);
        if (pooled && dfs_sock_is_stale(&s)) {
            /* The server closed it (restart, idle): the others too, likely. */
            dfs_sock_close(&s);
            pool_drain(r);
            pooled = 0;
        }
        if (!pooled) {
            char err[512];
            rc = dfs_sock_connect_from(&s, r->src, r->host, r->port, r->timeout_ms, err,
                                       sizeof(err));
            if (rc) {
                free(buf);
                return dfs_set_error(rc == -ETIMEDOUT ? DFS_ERR_TIMEOUT : DFS_ERR_CONN,
                                     "cannot connect to namenode %s", err);
            }
            note_local_host(r, s.fd);
        }
        rc = dfs_sock_send_msg(&s, req_type, reqid, req);
        int sent = rc == 0;
        struct dfs_frame_hdr h;
        if (rc == 0)
            rc = dfs_sock_recv_frame(&s, &h, &buf, &cap, DFS_FRAME_MAX_CONTROL);
        if (rc == 0 && (h.type != (req_type | 1) || h.reqid != reqid))
            rc = -EPROTO;
        if (rc == 0) {
            *resp = protobuf_c_message_unpack(resp_desc, NULL, h.len, buf);
            free(buf);
            if (!*resp) {
                dfs_sock_close(&s);
                return dfs_set_error(DFS_ERR_PROTO, "malformed answer from namenode %s", r->peer);
            }
            pool_put(r, &s);
            const char *error;
            int st = resp_status(*resp, &error);
            if (st == DFS_OK) {
                dfs_clear_error();
                return DFS_OK;
            }
            if (st < 0 || st >= DFS_ERR__MAX)
                st = DFS_ERR_PROTO;
            return dfs_set_error(st, "%s", error && *error ? error : dfs_strerror(st));
        }
        dfs_sock_close(&s);
        /* A pooled connection may have been closed by a restarted server:
         * then the others are stale too; drop them and try once more on a
         * fresh connection.  Only when the request was not sent: a request
         * the server may have applied is never sent twice. */
        if (pooled && !sent && attempt == 0 && rc != -ETIMEDOUT && rc != -ENOMEM) {
            pool_drain(r);
            continue;
        }
        free(buf);
        return transport_error(r, rc);
    }
}
