/*
 * nn_fsck.c - the namenode's side of fsck: the health of each block of
 * the files a client names (FsckReq).  The client walks the tree with
 * ListReq, asks for its files in batches, and does the counting and
 * printing (client/shell_fsck.c), so no answer grows with the namespace.
 */
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "dfs.pb-c.h"
#include "dnmanager.h"
#include "nn.h"
#include "nn_rpc.h"
#include "nn_wire.h"
#include "path.h"
#include "replmon.h"
#include "xmalloc.h"

/* Paths per request: bounds the work of one turn of the loop. */
#define FSCK_MAX_PATHS 1000

/* What one replica is, as fsck shows it. */
static const char *replica_state(const struct dm_node *dn, int corrupt)
{
    if (corrupt)
        return "corrupt";
    if (dn->admin != DM_ADMIN_NORMAL)
        return dm_admin_name(dn->admin);
    return dm_state_name(dn->state);
}

/* Fill fb for block b; its arrays are allocated (freed by free_file). */
static void fill_block(struct nn *nn, const struct bm_block *b, Dfs__FsckBlock *fb)
{
    dfs__fsck_block__init(fb);
    fb->id = b->id;
    fb->genstamp = b->genstamp;
    fb->length = b->length;
    fb->has_complete = 1;
    fb->complete = b->complete != 0;
    fb->locs = xcalloc(b->nreps ? b->nreps : 1, sizeof(*fb->locs));
    fb->loc_states = xcalloc(b->nreps ? b->nreps : 1, sizeof(*fb->loc_states));
    const char *racks[64];
    size_t nracks = 0;
    for (unsigned i = 0; i < b->nreps; i++) {
        const struct dm_node *dn = dm_get(nn->dm, b->reps[i].dn);
        enum rm_kind kind = rm_replica_kind(dn, b->reps[i].corrupt);
        if (kind == RM_GONE)
            continue;
        int corrupt = kind == RM_CORRUPT;
        fb->corrupt += kind == RM_CORRUPT;
        fb->decommissioning += kind == RM_DECOM;
        fb->live += kind == RM_IN_SERVICE;
        if (!corrupt) {
            size_t k = 0;
            while (k < nracks && strcmp(racks[k], dn->rack) != 0)
                k++;
            if (k == nracks && nracks < 64)
                racks[nracks++] = dn->rack;
        }
        Dfs__DatanodeId *id = xmalloc(sizeof(*id));
        nn_dn_to_wire(dn, id);
        fb->locs[fb->n_locs++] = id;
        fb->loc_states[fb->n_loc_states++] = (char *)replica_state(dn, corrupt);
    }
    fb->racks = (uint32_t)nracks;
}

static void fill_file(struct nn *nn, const char *path, Dfs__FsckFile *f)
{
    char p[DFS_PATH_MAX + 1], err[512];
    struct ns_block *blocks = NULL;
    struct ns_stat st;
    size_t n = 0;

    dfs__fsck_file__init(f);
    f->path = (char *)path;
    if (dfs_path_normalize(path, p, sizeof(p)) != DFS_PATH_OK) {
        f->has_status = 1;
        f->status = DFS__STATUS__ERR_INVAL;
        return;
    }
    int rc = ns_get_blocks(nn->ns, p, &st, &blocks, &n, err, sizeof(err));
    if (rc != DFS_OK) {
        f->has_status = 1;
        f->status = (Dfs__Status)rc;
        return;
    }
    f->has_type = f->has_length = 1;
    f->type = st.type == DFS_TYPE_DIR ? DFS__FILE_TYPE__FT_DIR : DFS__FILE_TYPE__FT_FILE;
    f->length = st.length;
    if (st.type == DFS_TYPE_FILE) {
        f->has_replication = f->has_complete = 1;
        f->replication = st.replication;
        f->complete = st.complete != 0;
    }
    f->blocks = xcalloc(n ? n : 1, sizeof(*f->blocks));
    for (size_t i = 0; i < n; i++) {
        const struct bm_block *b = bm_get(nn->bm, blocks[i].id);
        Dfs__FsckBlock *fb = xcalloc(1, sizeof(*fb));
        if (b) {
            fill_block(nn, b, fb);
        } else {
            /* Not in the block map (cannot happen): nothing is known of
             * its replicas, so it is judged as a complete block without
             * any: missing. */
            dfs__fsck_block__init(fb);
            fb->id = blocks[i].id;
            fb->genstamp = blocks[i].genstamp;
            fb->length = blocks[i].length;
            fb->has_complete = 1;
            fb->complete = 1;
        }
        if (blocks[i].length > fb->length)
            fb->length = blocks[i].length;
        f->blocks[f->n_blocks++] = fb;
    }
    free(blocks);
}

static void free_file(Dfs__FsckFile *f)
{
    for (size_t i = 0; i < f->n_blocks; i++) {
        for (size_t k = 0; k < f->blocks[i]->n_locs; k++)
            free(f->blocks[i]->locs[k]);
        free(f->blocks[i]->locs);
        free(f->blocks[i]->loc_states);
        free(f->blocks[i]);
    }
    free(f->blocks);
}

static int h_fsck(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                  ProtobufCMessage *m)
{
    Dfs__FsckReq *req = (Dfs__FsckReq *)m;
    if (req->n_paths > FSCK_MAX_PATHS) {
        nn_reply_statusf(nn, c, h, DFS_ERR_INVAL, "fsck: at most %d paths per request",
                         FSCK_MAX_PATHS);
        return 0;
    }
    Dfs__FsckResp r = DFS__FSCK_RESP__INIT;
    Dfs__FsckFile *files = xcalloc(req->n_paths ? req->n_paths : 1, sizeof(*files));
    Dfs__FsckFile **fp = xcalloc(req->n_paths ? req->n_paths : 1, sizeof(*fp));
    for (size_t i = 0; i < req->n_paths; i++) {
        fill_file(nn, req->paths[i], &files[i]);
        fp[i] = &files[i];
    }
    r.n_files = req->n_paths;
    r.files = fp;
    /* Racks with an in-service datanode: a block whose good replicas sit
     * on fewer racks than min(2, this) breaks the rack policy. */
    const char *racks[256];
    size_t nracks = 0;
    for (size_t i = 0; i < dm_count(nn->dm); i++) {
        const struct dm_node *dn = dm_get(nn->dm, (uint32_t)i);
        if (!dm_in_service(dn))
            continue;
        size_t k = 0;
        while (k < nracks && strcmp(racks[k], dn->rack) != 0)
            k++;
        if (k == nracks && nracks < 256)
            racks[nracks++] = dn->rack;
    }
    r.has_cluster_racks = 1;
    r.cluster_racks = (uint32_t)nracks;
    nn_reply_msg(nn, c, h, &r.base);
    for (size_t i = 0; i < req->n_paths; i++)
        free_file(&files[i]);
    free(fp);
    free(files);
    return 0;
}

int nn_fsck_init(struct nn *nn)
{
    (void)nn;
    nn_rpc_handle(DFS_MSG_FSCK_REQ, &dfs__fsck_req__descriptor, h_fsck);
    return 0;
}
