/*
 * nn_clientserv.c - namenode <-> clients: the RPC listener and one handler
 * per namespace message.
 *
 * Each connection is a dfs_conn; a frame's type selects its handler from
 * the table at the bottom.  A handler decodes its request (a body that
 * does not decode closes the connection), validates every path, calls the
 * namespace and answers through the group commit, so a reply never
 * reveals a write that is not yet durable.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dfs.pb-c.h"
#include "frame.h"
#include "listener.h"
#include "log.h"
#include "nn.h"
#include "nn_dnserv.h"
#include "path.h"
#include "xmalloc.h"

#define ERRLEN 512
/* Descriptors kept for other things than connections: LevelDB's table
 * files (MS_MAX_OPEN_FILES), then its logs, lock and manifest, ms_sync's
 * directory and log descriptors, our log and stdio. */
#define NN_FD_RESERVE (MS_MAX_OPEN_FILES + 64)

uint64_t nn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

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

void nn_reply_msg(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                      const ProtobufCMessage *m)
{
    commit_reply_msg(nn->commit, c, (uint16_t)(h->type | 1), h->reqid, m);
}

/* Normalise a request path into out; on failure answer INVAL and return -1. */
static int req_path(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                    const char *in, char *out)
{
    enum dfs_path_rc rc = dfs_path_normalize(in, out, DFS_PATH_MAX + 1);
    if (rc == DFS_PATH_OK)
        return 0;
    nn_reply_status(nn, c, h, DFS_ERR_INVAL, dfs_path_strerror(rc));
    return -1;
}

/* A user name from a request: absent or empty means "nobody". */
static const char *req_user(const char *u)
{
    return u && *u ? u : "nobody";
}

void nn_stat_to_wire(const struct ns_stat *s, Dfs__FileStatus *w)
{
    dfs__file_status__init(w);
    w->inode = s->inode;
    w->type = s->type == DFS_TYPE_DIR ? DFS__FILE_TYPE__FT_DIR : DFS__FILE_TYPE__FT_FILE;
    w->mode = s->mode;
    w->owner = (char *)s->owner;
    w->group = (char *)s->group;
    w->mtime_ms = s->mtime_ms;
    w->atime_ms = s->atime_ms;
    w->has_length = 1;
    w->length = s->length;
    if (s->type == DFS_TYPE_FILE) {
        w->has_replication = 1;
        w->replication = s->replication;
        w->has_block_size = 1;
        w->block_size = s->block_size;
        w->has_complete = 1;
        w->complete = s->complete != 0;
    } else {
        w->has_children = 1;
        w->children = s->children;
    }
    w->name = (char *)s->name;
}

/* Note a write when a mutation succeeded: its reply waits for the sync. */
static void after_mutation(struct nn *nn, int rc)
{
    if (rc == DFS_OK)
        commit_note_write(nn->commit);
}

/* ------------------------------------------------------------- handlers */

static int h_mkdir(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                   ProtobufCMessage *m)
{
    Dfs__MkdirReq *req = (Dfs__MkdirReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    if (req_path(nn, c, h, req->path, path))
        return 0;
    int rc = ns_mkdir(nn->ns, path, req->mode, req->parents, req_user(req->user),
                      err, sizeof(err));
    after_mutation(nn, rc);
    nn_reply_status(nn, c, h, rc, err);
    return 0;
}

static int h_create(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                    ProtobufCMessage *m)
{
    Dfs__CreateReq *req = (Dfs__CreateReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    struct ns_stat st;
    if (req_path(nn, c, h, req->path, path))
        return 0;
    int rc = ns_create(nn->ns, path, req->mode, req->has_replication ? req->replication : 0,
                       req->has_block_size ? req->block_size : 0, req->overwrite, req->parents,
                       req->open_for_write, req->client, req_user(req->user), &st,
                       err, sizeof(err));
    after_mutation(nn, rc);
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    Dfs__CreateResp r = DFS__CREATE_RESP__INIT;
    Dfs__FileStatus w;
    nn_stat_to_wire(&st, &w);
    r.st = &w;
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

static int h_stat(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                  ProtobufCMessage *m)
{
    Dfs__StatReq *req = (Dfs__StatReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    struct ns_stat st;
    if (req_path(nn, c, h, req->path, path))
        return 0;
    int rc = ns_stat(nn->ns, path, &st, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    Dfs__StatResp r = DFS__STAT_RESP__INIT;
    Dfs__FileStatus w;
    nn_stat_to_wire(&st, &w);
    r.st = &w;
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

static int h_list(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                  ProtobufCMessage *m)
{
    Dfs__ListReq *req = (Dfs__ListReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    if (req_path(nn, c, h, req->path, path))
        return 0;
    uint32_t limit = req->limit;
    if (limit == 0 || limit > nn->conf.nn_list_limit)
        limit = nn->conf.nn_list_limit;
    struct ns_stat *ents = NULL;
    size_t n = 0;
    int more = 0;
    int rc = ns_list(nn->ns, path, req->start_after ? req->start_after : "", limit,
                     &ents, &n, &more, err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    Dfs__ListResp r = DFS__LIST_RESP__INIT;
    Dfs__FileStatus *w = xcalloc(n, sizeof(*w));
    Dfs__FileStatus **wp = xcalloc(n, sizeof(*wp));
    for (size_t i = 0; i < n; i++) {
        nn_stat_to_wire(&ents[i], &w[i]);
        wp[i] = &w[i];
    }
    r.n_entries = n;
    r.entries = wp;
    r.has_has_more = 1;
    r.has_more = more != 0;
    nn_reply_msg(nn, c, h, &r.base);
    free(wp);
    free(w);
    free(ents);
    return 0;
}

static int h_delete(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                    ProtobufCMessage *m)
{
    Dfs__DeleteReq *req = (Dfs__DeleteReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    if (req_path(nn, c, h, req->path, path))
        return 0;
    if (req->has_inode) {
        /* Checked and deleted in one turn of the loop: nothing between. */
        struct ns_stat st;
        int src = ns_stat(nn->ns, path, &st, err, sizeof(err));
        if (src == DFS_OK && st.inode != req->inode) {
            src = DFS_ERR_NOENT;
            snprintf(err, sizeof(err), "the path now names another file (inode %llu, not %llu)",
                     (unsigned long long)st.inode, (unsigned long long)req->inode);
        }
        if (src != DFS_OK) {
            nn_reply_status(nn, c, h, src, err);
            return 0;
        }
    }
    int rc = ns_delete(nn->ns, path, req->recursive, nn_dnserv_block_removed, nn, err,
                       sizeof(err));
    after_mutation(nn, rc);
    nn_reply_status(nn, c, h, rc, err);
    return 0;
}

static int h_rename(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                    ProtobufCMessage *m)
{
    Dfs__RenameReq *req = (Dfs__RenameReq *)m;
    char src[DFS_PATH_MAX + 1], dst[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    if (req_path(nn, c, h, req->src, src) || req_path(nn, c, h, req->dst, dst))
        return 0;
    int rc = ns_rename(nn->ns, src, dst, req->overwrite, nn_dnserv_block_removed, nn, err,
                       sizeof(err));
    after_mutation(nn, rc);
    nn_reply_status(nn, c, h, rc, err);
    return 0;
}

static int h_setattr(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     ProtobufCMessage *m)
{
    Dfs__SetAttrReq *req = (Dfs__SetAttrReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    if (req_path(nn, c, h, req->path, path))
        return 0;
    unsigned what = (req->has_mode ? NS_SET_MODE : 0) | (req->owner ? NS_SET_OWNER : 0) |
                    (req->group ? NS_SET_GROUP : 0) | (req->has_replication ? NS_SET_REPL : 0) |
                    (req->has_mtime_ms ? NS_SET_MTIME : 0);
    if (what == 0) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, "nothing to change");
        return 0;
    }
    int rc = ns_setattr(nn->ns, path, what, req->mode, req->owner, req->group,
                        req->replication, req->mtime_ms, err, sizeof(err));
    after_mutation(nn, rc);
    if (rc == DFS_OK && (what & NS_SET_REPL))
        nn_dnserv_replication_changed(nn, path);
    nn_reply_status(nn, c, h, rc, err);
    return 0;
}

static int h_summary(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     ProtobufCMessage *m)
{
    Dfs__ContentSummaryReq *req = (Dfs__ContentSummaryReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    if (req_path(nn, c, h, req->path, path))
        return 0;
    Dfs__ContentSummaryResp r = DFS__CONTENT_SUMMARY_RESP__INIT;
    int rc = ns_summary(nn->ns, path, &r.length, &r.files, &r.dirs, &r.space_consumed,
                        err, sizeof(err));
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    r.has_length = r.has_files = r.has_dirs = r.has_space_consumed = 1;
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

struct handler {
    const ProtobufCMessageDescriptor *desc;
    handler_fn fn;
};

static const struct handler handlers[DFS_MSG_MAX] = {
    [DFS_MSG_MKDIR_REQ]   = { &dfs__mkdir_req__descriptor, h_mkdir },
    [DFS_MSG_CREATE_REQ]  = { &dfs__create_req__descriptor, h_create },
    [DFS_MSG_STAT_REQ]    = { &dfs__stat_req__descriptor, h_stat },
    [DFS_MSG_LIST_REQ]    = { &dfs__list_req__descriptor, h_list },
    [DFS_MSG_DELETE_REQ]  = { &dfs__delete_req__descriptor, h_delete },
    [DFS_MSG_RENAME_REQ]  = { &dfs__rename_req__descriptor, h_rename },
    [DFS_MSG_SETATTR_REQ] = { &dfs__set_attr_req__descriptor, h_setattr },
    [DFS_MSG_SUMMARY_REQ] = { &dfs__content_summary_req__descriptor, h_summary },
    [DFS_MSG_ADDBLOCK_REQ]  = { &dfs__add_block_req__descriptor, nn_dnserv_addblock },
    [DFS_MSG_ABANDON_REQ]   = { &dfs__abandon_block_req__descriptor, nn_dnserv_abandon },
    [DFS_MSG_COMPLETE_REQ]  = { &dfs__complete_req__descriptor, nn_dnserv_complete },
    [DFS_MSG_LOCATIONS_REQ] = { &dfs__get_block_locations_req__descriptor, nn_dnserv_locations },
    [DFS_MSG_BADBLOCK_REQ]  = { &dfs__report_bad_block_req__descriptor, nn_dnserv_badblock },
    [DFS_MSG_REPORT_REQ]    = { &dfs__cluster_report_req__descriptor, nn_dnserv_report },
    /* datanode -> namenode */
    [DFS_MSG_REGISTER_REQ]    = { &dfs__register_req__descriptor, nn_dnserv_register },
    [DFS_MSG_HEARTBEAT_REQ]   = { &dfs__heartbeat_req__descriptor, nn_dnserv_heartbeat },
    [DFS_MSG_BLOCKREPORT_REQ] = { &dfs__block_report_req__descriptor, nn_dnserv_blockreport },
};

/* ------------------------------------------------------------ transport */

/* Open client connections, so shutdown can close them. */
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

int nn_clientserv_init(struct nn *nn)
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

void nn_clientserv_shutdown(struct nn *nn)
{
    while (clients)
        dfs_conn_abort(clients->conn);   /* on_close unlinks it */
    dfs_listener_free(nn->listener);
    nn->listener = NULL;
    nn->listen_addr = NULL;
}
