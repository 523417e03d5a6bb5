/*
 * nn_wire.c - records to wire messages (see nn_wire.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_wire.h"
#include "blockmap.h"
#include "dnmanager.h"
#include "nn.h"
#include "placement.h"
#include "xmalloc.h"

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

void nn_dn_to_wire(const struct dm_node *dn, Dfs__DatanodeId *w)
{
    dfs__datanode_id__init(w);
    w->storage_id = (char *)dn->storage_id;
    w->host = (char *)dn->host;
    w->port = dn->port;
    if (dn->http_port) {
        w->has_http_port = 1;
        w->http_port = dn->http_port;
    }
    w->rack = (char *)dn->rack;
    if (dn->domain_socket[0])
        w->domain_socket = (char *)dn->domain_socket;
}

const char *nn_client_host(const char *given, struct dfs_conn *c, char *buf, size_t sz)
{
    if (given && *given)
        return given;
    const char *peer = dfs_conn_peer(c);
    const char *colon = strrchr(peer, ':');
    int len = colon ? (int)(colon - peer) : (int)strlen(peer);
    snprintf(buf, sz, "%.*s", len, peer);
    return buf;
}

/* l with room for n locations, none filled yet. */
static void located_alloc(struct nn_located *l, uint64_t id, uint64_t gs, uint64_t len,
                          uint64_t offset, size_t n)
{
    dfs__located_block__init(&l->lb);
    dfs__extended_block__init(&l->eb);
    l->eb.id = id;
    l->eb.genstamp = gs;
    l->eb.has_length = 1;
    l->eb.length = len;
    l->lb.block = &l->eb;
    l->lb.offset = offset;
    l->ids = xcalloc(n, sizeof(*l->ids));
    l->idp = xcalloc(n, sizeof(*l->idp));
    l->corrupt = xcalloc(n, sizeof(*l->corrupt));
    l->lb.locs = l->idp;
    l->lb.corrupt = l->corrupt;
    l->lb.n_locs = l->lb.n_corrupt = n;
}

void nn_located_init(struct nn_located *l, uint64_t id, uint64_t gs, uint64_t len,
                     uint64_t offset, struct dm_node *const *dns, size_t n)
{
    located_alloc(l, id, gs, len, offset, n);
    for (size_t i = 0; i < n; i++) {
        nn_dn_to_wire(dns[i], &l->ids[i]);
        l->idp[i] = &l->ids[i];
    }
}

void nn_located_replicas(struct nn *nn, struct nn_located *l, const struct bm_block *b,
                         uint64_t offset, uint64_t length, const char *host, const char *rack)
{
    size_t n = 0, nreps = b->nreps;
    struct pl_replica *r = xcalloc(nreps, sizeof(*r));
    for (size_t i = 0; i < nreps; i++) {
        struct dm_node *dn = dm_get(nn->dm, b->reps[i].dn);
        if (dn && dn->state != DM_DEAD)
            r[n++] = (struct pl_replica){ dn, b->reps[i].corrupt };
    }
    pl_sort_replicas(nn->pl, host, rack, r, n);
    located_alloc(l, b->id, b->genstamp, length, offset, n);
    for (size_t i = 0; i < n; i++) {
        nn_dn_to_wire(r[i].dn, &l->ids[i]);
        l->idp[i] = &l->ids[i];
        l->corrupt[i] = r[i].corrupt != 0;
    }
    free(r);
}

void nn_located_uc(struct nn *nn, struct nn_located *l, const struct bm_block *b,
                   uint64_t offset, uint64_t length, const char *host, const char *rack)
{
    size_t npipe = 0, n = 0;
    const uint32_t *pipe = bm_pipeline(nn->bm, b->id, &npipe);
    struct pl_replica *r = xcalloc(npipe + b->nreps + 1, sizeof(*r));
    for (size_t i = 0; i < npipe + b->nreps; i++) {
        uint32_t slot = i < npipe ? pipe[i] : b->reps[i - npipe].dn;
        struct dm_node *dn = dm_get(nn->dm, slot);
        if (i < npipe && bm_pipeline_older(nn->bm, b->id, slot))
            continue;       /* its replica has an older genstamp */
        size_t j = 0;
        while (dn && j < n && r[j].dn != dn)
            j++;
        if (dn && j == n && dn->state != DM_DEAD)
            r[n++] = (struct pl_replica){ dn, 0 };
    }
    pl_sort_replicas(nn->pl, host, rack, r, n);
    located_alloc(l, b->id, b->genstamp, length, offset, n);
    for (size_t i = 0; i < n; i++) {
        nn_dn_to_wire(r[i].dn, &l->ids[i]);
        l->idp[i] = &l->ids[i];
    }
    l->lb.has_under_construction = 1;
    l->lb.under_construction = 1;
    free(r);
}

void nn_located_free(struct nn_located *l)
{
    free(l->ids);
    free(l->idp);
    free(l->corrupt);
}
