/*
 * filesum.c - dfs_get_file_checksum(): a checksum of a file's content that
 * does not depend on how the content is cut into blocks or chunks.
 *
 * Every datanode computes, on request (BlockChecksumReq), the zlib CRC-32
 * of a finalized replica's bytes.  CRC-32 values of consecutive pieces
 * combine into the CRC-32 of their concatenation (zlib's crc32_combine,
 * which needs only the length of the second piece), so the per-block
 * values fold into the CRC-32 of the whole file: two copies of the same
 * bytes agree whatever their block sizes.  A replica that cannot answer,
 * or answers for another length or generation, is passed over for the
 * next location of the block.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dfs.pb-c.h"
#include "error_i.h"
#include "frame.h"
#include "fs_i.h"
#include "rpc.h"

#define FILESUM_ALGORITHM "COMPOSITE-CRC32"

/* Append "HOST:PORT: why" to reasons (capacity size), "; "-separated. */
static void add_reason(char *reasons, size_t size, const struct dfs_location *l,
                       const char *why)
{
    size_t used = strlen(reasons);

    if (used + 1 < size)
        snprintf(reasons + used, size - used, "%s%s:%u: %s", used ? "; " : "", l->host,
                 l->port, why);
}

/* Ask the datanode at l for the CRC-32 of its replica of b.  DFS_OK with
 * *crc, else an error whose reason is added to reasons. */
static int replica_crc(dfs_fs *fs, const struct dfs_block_location *b,
                       const struct dfs_location *l, uint32_t *crc, char *reasons,
                       size_t size)
{
    Dfs__ExtendedBlock eb = DFS__EXTENDED_BLOCK__INIT;
    Dfs__BlockChecksumReq req = DFS__BLOCK_CHECKSUM_REQ__INIT;
    ProtobufCMessage *m = NULL;
    Dfs__BlockChecksumResp *r;
    struct dfs_rpc *dn;
    char why[256];
    int rc;

    dn = dfs_rpc_new(l->host, l->port, (int)fs->opts.timeout_ms);
    if (!dn) {
        add_reason(reasons, size, l, "out of memory");
        return DFS_ERR_NOMEM;
    }
    dfs_rpc_set_source(dn, fs->opts.client_host);
    eb.id = b->id;
    eb.genstamp = b->genstamp;
    eb.has_length = 1;
    eb.length = b->length;
    req.block = &eb;
    rc = dfs_rpc_call(dn, DFS_MSG_CHECKSUM_REQ, &req.base, &dfs__block_checksum_resp__descriptor,
                      &m);
    dfs_rpc_free(dn);
    r = (Dfs__BlockChecksumResp *)m;
    if (rc != DFS_OK) {
        add_reason(reasons, size, l, *dfs_errmsg() ? dfs_errmsg() : dfs_strerror(rc));
    } else if (!r->has_finalized || !r->finalized || !r->has_crc32) {
        rc = DFS_ERR_BUSY;
        add_reason(reasons, size, l, "replica not finalized");
    } else if (!r->has_length || r->length != b->length ||
               (r->has_genstamp && r->genstamp < b->genstamp)) {
        rc = DFS_ERR_STALE;
        snprintf(why, sizeof why, "replica of %llu bytes, generation %llu (expected %llu, %llu)",
                 (unsigned long long)r->length, (unsigned long long)r->genstamp,
                 (unsigned long long)b->length, (unsigned long long)b->genstamp);
        add_reason(reasons, size, l, why);
    } else {
        *crc = r->crc32;
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* CRC-32 of block b from the first of its replicas that answers (replicas
 * reported corrupt last).  Error naming the block and every failure. */
static int block_crc(dfs_fs *fs, const char *path, const struct dfs_block_location *b,
                     uint32_t *crc)
{
    char reasons[768] = "";
    int pass, rc = DFS_ERR_UNAVAIL;
    unsigned i;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < b->nlocs; i++) {
            if (b->locs[i].corrupt != pass)
                continue;
            rc = replica_crc(fs, b, &b->locs[i], crc, reasons, sizeof reasons);
            if (rc == DFS_OK)
                return DFS_OK;
        }
    }
    if (b->nlocs == 0)
        return dfs_set_error(DFS_ERR_UNAVAIL, "%s: no datanode holds block blk_%llu", path,
                             (unsigned long long)b->id);
    return dfs_set_error(DFS_ERR_UNAVAIL, "%s: cannot get the checksum of block blk_%llu: %s",
                         path, (unsigned long long)b->id, reasons);
}

int dfs_get_file_checksum(dfs_fs *fs, const char *path, struct dfs_file_checksum *out)
{
    struct dfs_block_location *blocks = NULL;
    struct dfs_stat st;
    uint64_t covered = 0;
    uLong total = crc32(0L, Z_NULL, 0);
    size_t n = 0, i;
    uint32_t crc;
    int rc;

    if (!fs || !path || !out)
        return dfs_set_error(DFS_ERR_INVAL, "no file system, path or result given");
    memset(out, 0, sizeof *out);
    /* The namenode's view is enough: a file being written is refused
     * anyway, so its visible length need not be asked of a datanode. */
    char p[DFS_PATH_MAX + 1];
    rc = dfs_fs_norm_path(fs, path, p, sizeof(p));
    if (rc == DFS_OK)
        rc = dfs_fs_stat_raw(fs, p, &st);
    if (rc != DFS_OK)
        return rc;
    if (st.type == DFS_TYPE_DIR)
        return dfs_set_error(DFS_ERR_ISDIR, "%s: Is a directory", path);
    if (!st.complete)
        return dfs_set_error(DFS_ERR_BUSY, "%s: file is being written", path);
    rc = dfs_get_block_locations(fs, p, 0, UINT64_MAX, &blocks, &n);
    if (rc != DFS_OK)
        return rc;
    for (i = 0; i < n; i++) {
        if (blocks[i].offset != covered) {
            rc = dfs_set_error(DFS_ERR_BUSY, "%s: file changed while its checksum was taken",
                               path);
            goto out;
        }
        if (blocks[i].length == 0)
            continue;
        rc = block_crc(fs, path, &blocks[i], &crc);
        if (rc != DFS_OK)
            goto out;
        total = crc32_combine(total, crc, (z_off_t)blocks[i].length);
        covered += blocks[i].length;
    }
    if (covered != st.length) {
        rc = dfs_set_error(DFS_ERR_BUSY, "%s: file changed while its checksum was taken", path);
        goto out;
    }
    snprintf(out->algorithm, sizeof out->algorithm, "%s", FILESUM_ALGORITHM);
    out->length = covered;
    out->crc32 = (uint32_t)total;
    snprintf(out->value, sizeof out->value, "%08x", out->crc32);
    rc = DFS_OK;
out:
    dfs_free_block_locations(blocks, n);
    return rc;
}
