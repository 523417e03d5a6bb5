/*
 * admin.c - the operators' calls of dfs.h: safe mode, decommissioning and
 * the block health fsck reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfs.h"
#include "dfs.pb-c.h"
#include "error_i.h"
#include "frame.h"
#include "fs_i.h"

int dfs_safemode(dfs_fs *fs, enum dfs_safemode_action action, int *on, char *msg,
                 size_t msgsz)
{
    Dfs__SafemodeReq req = DFS__SAFEMODE_REQ__INIT;
    if (action != DFS_SAFEMODE_GET && action != DFS_SAFEMODE_ENTER &&
        action != DFS_SAFEMODE_LEAVE)
        return dfs_set_error(DFS_ERR_INVAL, "invalid safe mode action %d", (int)action);
    req.has_action = 1;
    req.action = (Dfs__SafemodeAction)action;
    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(fs->nn, DFS_MSG_SAFEMODE_REQ, &req.base,
                          &dfs__safemode_resp__descriptor, &m);
    if (rc == DFS_OK) {
        const Dfs__SafemodeResp *r = (const Dfs__SafemodeResp *)m;
        if (on)
            *on = r->on;
        if (msg && msgsz)
            snprintf(msg, msgsz, "%s", r->message ? r->message : "");
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int dfs_decommission(dfs_fs *fs, const char *datanode, int decommission, int *registered)
{
    Dfs__DecommissionReq req = DFS__DECOMMISSION_REQ__INIT;
    if (!datanode || !*datanode)
        return dfs_set_error(DFS_ERR_INVAL, "no datanode address given");
    req.address = (char *)datanode;
    req.has_decommission = 1;
    req.decommission = decommission != 0;
    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(fs->nn, DFS_MSG_DECOMMISSION_REQ, &req.base,
                          &dfs__decommission_resp__descriptor, &m);
    if (rc == DFS_OK && registered)
        *registered = ((const Dfs__DecommissionResp *)m)->registered;
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

void dfs_free_file_health(struct dfs_file_health *h, size_t n)
{
    if (!h)
        return;
    for (size_t i = 0; i < n; i++) {
        for (size_t b = 0; b < h[i].nblocks; b++)
            free(h[i].blocks[b].replicas);
        free(h[i].blocks);
        free(h[i].path);
    }
    free(h);
}

/* Copy one file's answer into h.  DFS_OK or DFS_ERR_NOMEM. */
static int copy_file(const Dfs__FsckFile *w, struct dfs_file_health *h)
{
    h->path = strdup(w->path);
    h->status = w->has_status ? (int)w->status : DFS_OK;
    h->is_dir = w->has_type && w->type == DFS__FILE_TYPE__FT_DIR;
    h->length = w->length;
    h->replication = w->replication;
    h->complete = !w->has_complete || w->complete;
    h->blocks = calloc(w->n_blocks ? w->n_blocks : 1, sizeof(*h->blocks));
    if (!h->path || !h->blocks)
        return DFS_ERR_NOMEM;
    h->nblocks = w->n_blocks;
    for (size_t i = 0; i < w->n_blocks; i++) {
        const Dfs__FsckBlock *wb = w->blocks[i];
        struct dfs_block_health *b = &h->blocks[i];
        b->id = wb->id;
        b->genstamp = wb->genstamp;
        b->length = wb->length;
        b->complete = !wb->has_complete || wb->complete;
        b->live = wb->live;
        b->decommissioning = wb->decommissioning;
        b->corrupt = wb->corrupt;
        b->racks = wb->racks;
        b->replicas = calloc(wb->n_locs ? wb->n_locs : 1, sizeof(*b->replicas));
        if (!b->replicas)
            return DFS_ERR_NOMEM;
        b->nreplicas = (unsigned)wb->n_locs;
        for (size_t k = 0; k < wb->n_locs; k++) {
            struct dfs_replica_health *r = &b->replicas[k];
            snprintf(r->host, sizeof(r->host), "%s", wb->locs[k]->host);
            r->port = wb->locs[k]->port;
            snprintf(r->rack, sizeof(r->rack), "%s",
                     wb->locs[k]->rack ? wb->locs[k]->rack : "/default");
            snprintf(r->state, sizeof(r->state), "%s",
                     k < wb->n_loc_states ? wb->loc_states[k] : "live");
        }
    }
    return DFS_OK;
}

int dfs_file_health(dfs_fs *fs, const char *const *paths, size_t n,
                    struct dfs_file_health **out, unsigned *cluster_racks)
{
    *out = NULL;
    if (n > 1000)
        return dfs_set_error(DFS_ERR_INVAL, "at most 1000 paths per call, not %zu", n);
    /* Relative paths resolve against the working directory; a path that
     * does not normalise goes as it is, for the namenode to report. */
    char (*norm)[DFS_PATH_MAX + 1] = calloc(n ? n : 1, sizeof(*norm));
    char **wire = calloc(n ? n : 1, sizeof(*wire));
    if (!norm || !wire) {
        free(norm);
        free(wire);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        wire[i] = dfs_fs_norm_path(fs, paths[i], norm[i], sizeof(norm[i])) == DFS_OK
                  ? norm[i] : (char *)(paths[i] ? paths[i] : "");
    Dfs__FsckReq req = DFS__FSCK_REQ__INIT;
    req.n_paths = n;
    req.paths = wire;
    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(fs->nn, DFS_MSG_FSCK_REQ, &req.base, &dfs__fsck_resp__descriptor, &m);
    free(wire);
    free(norm);
    if (rc != DFS_OK) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    const Dfs__FsckResp *r = (const Dfs__FsckResp *)m;
    size_t nf = r->n_files < n ? r->n_files : n;
    struct dfs_file_health *h = calloc(n ? n : 1, sizeof(*h));
    rc = h ? DFS_OK : DFS_ERR_NOMEM;
    for (size_t i = 0; i < nf && rc == DFS_OK; i++)
        rc = copy_file(r->files[i], &h[i]);
    if (cluster_racks)
        *cluster_racks = r->cluster_racks;
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != DFS_OK) {
        dfs_free_file_health(h, n);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    *out = h;
    return DFS_OK;
}
