/*
 * locate.c - dfs_get_block_locations(): where each block of a file lives,
 * for engines that schedule work next to the data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfs.pb-c.h"
#include "error_i.h"
#include "frame.h"
#include "fs_i.h"
#include "path.h"

int dfs_get_block_locations(dfs_fs *fs, const char *path, uint64_t offset, uint64_t length,
                            struct dfs_block_location **out, size_t *count)
{
    char p[DFS_PATH_MAX + 1];
    *out = NULL;
    *count = 0;
    int rc = dfs_fs_norm_path(fs, path, p, sizeof(p));
    if (rc)
        return rc;
    Dfs__GetBlockLocationsReq req = DFS__GET_BLOCK_LOCATIONS_REQ__INIT;
    req.path = p;
    req.has_offset = 1;
    req.offset = offset;
    req.has_length = 1;
    req.length = length;
    req.client_host = fs->client_host;
    ProtobufCMessage *m = NULL;
    rc = dfs_error_name_path(dfs_rpc_call(fs->nn, DFS_MSG_LOCATIONS_REQ, &req.base,
                                          &dfs__get_block_locations_resp__descriptor, &m), p);
    if (rc != DFS_OK) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    Dfs__GetBlockLocationsResp *r = (Dfs__GetBlockLocationsResp *)m;
    struct dfs_block_location *bl = calloc(r->n_blocks ? r->n_blocks : 1, sizeof(*bl));
    if (!bl) {
        protobuf_c_message_free_unpacked(m, NULL);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < r->n_blocks; i++) {
        const Dfs__LocatedBlock *lb = r->blocks[i];
        bl[i].offset = lb->offset;
        bl[i].length = lb->block->length;
        bl[i].id = lb->block->id;
        bl[i].genstamp = lb->block->genstamp;
        bl[i].locs = calloc(lb->n_locs ? lb->n_locs : 1, sizeof(*bl[i].locs));
        if (!bl[i].locs) {
            dfs_free_block_locations(bl, i);
            protobuf_c_message_free_unpacked(m, NULL);
            return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
        }
        bl[i].nlocs = (unsigned)lb->n_locs;
        for (size_t j = 0; j < lb->n_locs; j++) {
            struct dfs_location *l = &bl[i].locs[j];
            const Dfs__DatanodeId *d = lb->locs[j];
            snprintf(l->host, sizeof(l->host), "%s", d->host);
            l->port = d->port;
            snprintf(l->rack, sizeof(l->rack), "%s", d->rack ? d->rack : "/default");
            snprintf(l->storage_id, sizeof(l->storage_id), "%s", d->storage_id);
            l->corrupt = j < lb->n_corrupt && lb->corrupt[j];
        }
    }
    *count = r->n_blocks;
    *out = bl;
    protobuf_c_message_free_unpacked(m, NULL);
    return DFS_OK;
}

void dfs_free_block_locations(struct dfs_block_location *blocks, size_t count)
{
    if (!blocks)
        return;
    for (size_t i = 0; i < count; i++)
        free(blocks[i].locs);
    free(blocks);
}
