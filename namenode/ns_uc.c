/*
 * ns_uc.c - files under construction in the namespace (see namespace.h):
 * the 'u' index and its one-time build for older stores, the walk that
 * rebuilds the leases at start, and the operations of lease recovery and
 * append.
 *
 * The index itself is kept by the record layer (nsr_inode_put and
 * nsr_inode_del write it with every inode record, in the same batch), so
 * no operation here or in namespace.c has to remember it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "namespace.h"
#include "ns_records_i.h"
#include "dfs.pb-c.h"
#include "xmalloc.h"

#define UC_MARKER "uc_index"

/* ------------------------------------------------------------- index */

void nsr_uc_index_mark(struct ns *ns)
{
    unsigned char key[32], val[8];
    size_t klen = nsr_key_meta(key, UC_MARKER);

    nsr_put_be64(val, 1);
    ms_batch_put(ns->batch, key, klen, val, sizeof(val));
}

int nsr_uc_index_build(struct ns *ns, char *err, size_t errsz)
{
    unsigned char key[32];
    size_t klen = nsr_key_meta(key, UC_MARKER), vlen;
    const unsigned char start = 'i';
    struct nsr_counters c;
    struct ms_iter *it;
    char *val = NULL;
    int rc = ms_get(ns->ms, key, klen, &val, &vlen);

    free(val);
    if (rc < 0)
        return nsr_fail_io(err, errsz);
    if (rc > 0)
        return 0;
    /* A store from before the index: one scan of the inode records. */
    nsr_begin(ns, &c);
    it = ms_iter_new(ns->ms);
    rc = 0;
    for (ms_iter_seek(it, &start, 1); ms_iter_valid(it); ms_iter_next(it)) {
        const char *k = ms_iter_key(it, &klen);
        const char *v;
        Dfs__InodeRec *r;

        if (klen == 0 || k[0] != 'i')
            break;
        v = ms_iter_value(it, &vlen);
        r = dfs__inode_rec__unpack(NULL, vlen, (const uint8_t *)v);
        if (klen != NSR_ID_KEY_LEN || r == NULL) {
            if (r != NULL)
                dfs__inode_rec__free_unpacked(r, NULL);
            rc = nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: unreadable inode record");
            break;
        }
        if (r->type == DFS__FILE_TYPE__FT_FILE && r->has_complete && !r->complete) {
            unsigned char ukey[NSR_ID_KEY_LEN];

            nsr_key_uc(ukey, nsr_get_be64((const unsigned char *)k + 1));
            ms_batch_put(ns->batch, ukey, sizeof(ukey), "", 0);
        }
        dfs__inode_rec__free_unpacked(r, NULL);
    }
    ms_iter_destroy(it);
    if (rc == 0) {
        nsr_uc_index_mark(ns);
        rc = nsr_commit(ns, &c, err, errsz);
    }
    if (rc == 0 && ms_sync(ns->ms) < 0)
        rc = nsr_fail(err, errsz, DFS_ERR_IO, "cannot sync the index of files being written");
    nsr_batch_reset(ns);
    return rc;
}

/* ------------------------------------------------------------ lookups */

/* Describe file f (under construction) in *out. */
static int fill_uc(struct ns *ns, const struct nsr_inode *f, struct ns_uc *out,
                   char *err, size_t errsz)
{
    memset(out, 0, sizeof(*out));
    out->inode = f->id;
    dfs_copy_str(out->client, sizeof(out->client), f->client);
    out->temporary = f->temporary;
    out->replication = f->replication;
    out->block_size = f->block_size;
    out->length = f->length;
    out->nblocks = f->nblocks;
    out->last_id = nsr_last_block(f);
    if (out->last_id != 0) {
        struct nsr_block b;
        int rc = nsr_block_load(ns, out->last_id, &b);

        if (rc <= 0)
            return rc < 0 ? nsr_fail_io(err, errsz)
                          : nsr_fail(err, errsz, DFS_ERR_IO,
                                     "metadata corrupt: block %llu missing",
                                     (unsigned long long)out->last_id);
        out->last_genstamp = b.genstamp;
        out->last_length = b.length;
        out->last_complete = b.complete;
    }
    return 0;
}

int ns_uc_get(struct ns *ns, uint64_t inode, struct ns_uc *out, char *err, size_t errsz)
{
    struct nsr_inode f;
    int rc = nsr_load_writer(ns, inode, NULL, &f, err, errsz);

    if (rc == 0)
        rc = fill_uc(ns, &f, out, err, errsz);
    nsr_inode_free(&f);
    return rc;
}

int ns_foreach_uc(struct ns *ns, int (*cb)(const struct ns_uc *uc, void *arg), void *arg)
{
    struct ms_iter *it = ms_iter_new(ns->ms);
    const unsigned char start = 'u';
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    /* Collect first: cb may change the store. */
    for (ms_iter_seek(it, &start, 1); ms_iter_valid(it); ms_iter_next(it)) {
        size_t klen;
        const char *k = ms_iter_key(it, &klen);

        if (klen == 0 || k[0] != 'u')
            break;
        if (klen != NSR_ID_KEY_LEN) {
            rc = -1;
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            ids = xrealloc(ids, cap * sizeof(*ids));
        }
        ids[n++] = nsr_get_be64((const unsigned char *)k + 1);
    }
    ms_iter_destroy(it);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct ns_uc uc;
        char err[256];
        int r = ns_uc_get(ns, ids[i], &uc, err, sizeof(err));

        if (r == DFS_ERR_IO)
            rc = -1;
        else if (r == 0)
            rc = cb(&uc, arg);
    }
    free(ids);
    return rc;
}

/* -------------------------------------------------------- operations */

static int client_valid(const char *client)
{
    return client != NULL && client[0] != '\0' && strlen(client) <= NSR_CLIENT_MAX;
}

int ns_set_writer(struct ns *ns, uint64_t inode, const char *client, char *err, size_t errsz)
{
    struct nsr_counters c;
    struct nsr_inode f;
    int rc;

    if (!client_valid(client))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid client name");
    rc = nsr_load_writer(ns, inode, NULL, &f, err, errsz);
    if (rc == 0 && strcmp(f.client, client) != 0) {
        nsr_begin(ns, &c);
        dfs_copy_str(f.client, sizeof(f.client), client);
        nsr_inode_put(ns, &f);
        rc = nsr_commit(ns, &c, err, errsz);
    }
    nsr_batch_reset(ns);
    nsr_inode_free(&f);
    return rc;
}

int ns_append(struct ns *ns, const char *path, const char *client, struct ns_stat *st,
              struct ns_block *last, int *reopened, char *err, size_t errsz)
{
    struct nsr_counters c;
    struct nsr_inode f;
    struct nsr_block b = { 0 };
    const char *name;
    size_t plen;
    uint64_t id;
    int rc;

    memset(last, 0, sizeof(*last));
    *reopened = 0;
    if (!client_valid(client))
        return nsr_fail(err, errsz, DFS_ERR_INVAL, "invalid client name");
    rc = nsr_resolve(ns, path, &f, err, errsz);
    if (rc == 0 && f.type == DFS_TYPE_DIR)
        rc = nsr_fail(err, errsz, DFS_ERR_ISDIR, "Is a directory");
    if (rc == 0 && !f.complete)
        rc = nsr_fail(err, errsz, DFS_ERR_BUSY, "file is being written by another client");
    if (rc != 0)
        goto out;
    id = nsr_last_block(&f);
    if (id != 0) {
        int r = nsr_block_load(ns, id, &b);

        if (r <= 0) {
            rc = r < 0 ? nsr_fail_io(err, errsz)
                       : nsr_fail(err, errsz, DFS_ERR_IO, "metadata corrupt: block %llu missing",
                                  (unsigned long long)id);
            goto out;
        }
    }
    nsr_begin(ns, &c);
    if (id != 0 && b.length < f.block_size) {
        b.genstamp = ++c.genstamp;
        b.complete = 0;
        nsr_block_put(ns, id, &b);
        *reopened = 1;
    }
    f.complete = 0;
    f.temporary = 0;
    dfs_copy_str(f.client, sizeof(f.client), client);
    nsr_inode_put(ns, &f);
    if ((rc = nsr_commit(ns, &c, err, errsz)) != 0)
        goto out;
    if (id != 0) {
        last->id = id;
        last->genstamp = b.genstamp;
        last->length = b.length;
        last->complete = b.complete;
        last->offset = f.length >= b.length ? f.length - b.length : 0;
    }
    if (st != NULL) {
        name = nsr_path_last(path, &plen);
        nsr_fill_stat(&f, name, strlen(name), st);
    }
out:
    nsr_batch_reset(ns);
    nsr_inode_free(&f);
    return rc;
}

int ns_close_recovered(struct ns *ns, uint64_t inode, uint64_t block_id, uint64_t length,
                       int drop, char *err, size_t errsz)
{
    struct nsr_counters c;
    struct nsr_inode f;
    int rc = nsr_load_writer(ns, inode, NULL, &f, err, errsz);

    if (rc == DFS_ERR_INVAL && f.complete) {
        int has = 0;

        for (size_t i = 0; i < f.nblocks; i++)
            has |= f.blocks[i] == block_id;
        if (drop ? !has : nsr_last_block(&f) == block_id)
            rc = 0;     /* a retry: already closed */
        goto out;
    }
    if (rc != 0)
        goto out;
    if (block_id != nsr_last_block(&f)) {
        rc = nsr_fail(err, errsz, DFS_ERR_STALE, "block %llu is not the last block of the file",
                      (unsigned long long)block_id);
        goto out;
    }
    nsr_begin(ns, &c);
    if (block_id != 0 && drop) {
        struct nsr_block b;
        int r = nsr_block_load(ns, block_id, &b);

        if (r < 0) {
            rc = nsr_fail_io(err, errsz);
            goto out;
        }
        if (r == 1)
            f.length = f.length >= b.length ? f.length - b.length : 0;
        nsr_block_del(ns, block_id);
        f.nblocks--;
    } else if (block_id != 0 &&
               (rc = nsr_finish_block(ns, &f, block_id, length, err, errsz)) != 0) {
        goto out;
    }
    f.complete = 1;
    f.temporary = 0;
    f.client[0] = '\0';
    f.mtime_ms = dfs_wall_ms();
    nsr_inode_put(ns, &f);
    rc = nsr_commit(ns, &c, err, errsz);
out:
    nsr_batch_reset(ns);
    nsr_inode_free(&f);
    return rc;
}
