/*
 * nn_clientserv.c - namenode <-> clients: one handler per namespace call
 * (mkdir, create, stat, list, delete, rename, setattr, summary, server
 * defaults).
 *
 * A handler validates every path, calls the namespace and answers through
 * the group commit (nn_rpc.h), so a reply never reveals a write that is
 * not yet durable.  Mutations are refused in safe mode (nn_monitor.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dfs.pb-c.h"
#include "frame.h"
#include "lease.h"
#include "log.h"
#include "nn.h"
#include "nn_monitor.h"
#include "nn_rpc.h"
#include "nn_wire.h"
#include "path.h"
#include "xmalloc.h"

#define ERRLEN 512

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
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
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

/* Create with overwrite of path: 0 when nothing keeps it, else ERR_BUSY
 * (answered): a file under construction whose writer holds a lease within
 * the soft limit -- another client, or this one (as HDFS, a writer may not
 * recreate the file it is writing: its open handle would go on writing a
 * file that is no longer there).  Past it, the file is replaced. */
static int refuse_overwrite(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                            const char *path, const char *client)
{
    char err[ERRLEN];
    struct ns_stat st;
    struct ns_uc uc;
    if (ns_stat(nn->ns, path, &st, err, sizeof(err)) != DFS_OK || st.complete ||
        ns_uc_get(nn->ns, st.inode, &uc, err, sizeof(err)) != DFS_OK)
        return 0;
    if (!lease_live(nn->leases, uc.client, dfs_mono_ms(), nn->conf.nn_lease_soft_ms))
        return 0;
    nn_reply_status(nn, c, h, DFS_ERR_BUSY, client && strcmp(uc.client, client) == 0
                    ? "file is already being written by this client"
                    : "file is being written by another client");
    return 1;
}

static int h_create(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                    ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__CreateReq *req = (Dfs__CreateReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    struct ns_stat st;
    if (req_path(nn, c, h, req->path, path))
        return 0;
    if (req->overwrite && refuse_overwrite(nn, c, h, path, req->client))
        return 0;
    int flags = req->open_for_write ? NS_CREATE_WRITE | (req->temporary ? NS_CREATE_TEMPORARY
                                                                        : 0) : 0;
    int rc = ns_create(nn->ns, path, req->mode, req->has_replication ? req->replication : 0,
                       req->has_block_size ? req->block_size : 0, req->overwrite, req->parents,
                       flags, req->client, req_user(req->user), &st, err, sizeof(err));
    after_mutation(nn, rc);
    if (rc != DFS_OK) {
        nn_reply_status(nn, c, h, rc, err);
        return 0;
    }
    if (req->open_for_write)
        lease_add(nn->leases, req->client, st.inode, dfs_mono_ms());
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
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
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
    int rc = ns_delete(nn->ns, path, req->recursive, nn_block_removed, nn, err,
                       sizeof(err));
    after_mutation(nn, rc);
    nn_reply_status(nn, c, h, rc, err);
    return 0;
}

static int h_rename(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                    ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__RenameReq *req = (Dfs__RenameReq *)m;
    char src[DFS_PATH_MAX + 1], dst[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    if (req_path(nn, c, h, req->src, src) || req_path(nn, c, h, req->dst, dst))
        return 0;
    int rc = ns_rename(nn->ns, src, dst, req->overwrite, nn_block_removed, nn, err,
                       sizeof(err));
    after_mutation(nn, rc);
    nn_reply_status(nn, c, h, rc, err);
    return 0;
}

static int h_setattr(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     ProtobufCMessage *m)
{
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    Dfs__SetAttrReq *req = (Dfs__SetAttrReq *)m;
    char path[DFS_PATH_MAX + 1], err[ERRLEN] = "";
    if (req_path(nn, c, h, req->path, path))
        return 0;
    unsigned what = (req->has_mode ? NS_SET_MODE : 0) | (req->owner ? NS_SET_OWNER : 0) |
                    (req->group ? NS_SET_GROUP : 0) | (req->has_replication ? NS_SET_REPL : 0) |
                    (req->has_mtime_ms ? NS_SET_MTIME : 0) |
                    (req->has_atime_ms ? NS_SET_ATIME : 0);
    if (what == 0) {
        nn_reply_status(nn, c, h, DFS_ERR_INVAL, "nothing to change");
        return 0;
    }
    int rc = ns_setattr(nn->ns, path, what, req->mode, req->owner, req->group,
                        req->replication, req->mtime_ms, req->atime_ms, err, sizeof(err));
    after_mutation(nn, rc);
    if (rc == DFS_OK && (what & NS_SET_REPL))
        nn_replication_changed(nn, path);
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

/* The defaults new files get when their creator names none. */
static int h_server_defaults(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                             ProtobufCMessage *m)
{
    (void)m;
    Dfs__ServerDefaultsResp r = DFS__SERVER_DEFAULTS_RESP__INIT;
    r.has_block_size = r.has_replication = 1;
    r.block_size = nn->conf.nn_block_size;
    r.replication = nn->conf.nn_replication;
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

int nn_clientserv_init(struct nn *nn)
{
    (void)nn;
    nn_rpc_handle(DFS_MSG_MKDIR_REQ, &dfs__mkdir_req__descriptor, h_mkdir);
    nn_rpc_handle(DFS_MSG_CREATE_REQ, &dfs__create_req__descriptor, h_create);
    nn_rpc_handle(DFS_MSG_STAT_REQ, &dfs__stat_req__descriptor, h_stat);
    nn_rpc_handle(DFS_MSG_LIST_REQ, &dfs__list_req__descriptor, h_list);
    nn_rpc_handle(DFS_MSG_DELETE_REQ, &dfs__delete_req__descriptor, h_delete);
    nn_rpc_handle(DFS_MSG_RENAME_REQ, &dfs__rename_req__descriptor, h_rename);
    nn_rpc_handle(DFS_MSG_SETATTR_REQ, &dfs__set_attr_req__descriptor, h_setattr);
    nn_rpc_handle(DFS_MSG_SUMMARY_REQ, &dfs__content_summary_req__descriptor, h_summary);
    nn_rpc_handle(DFS_MSG_SERVER_DEFAULTS_REQ, &dfs__server_defaults_req__descriptor,
                  h_server_defaults);
    return 0;
}
