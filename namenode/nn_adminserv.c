/*
 * nn_adminserv.c - namenode <-> operators: the cluster report, safe mode
 * and decommissioning (fsck's block health is nn_fsck.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "clock.h"
#include "dfs.pb-c.h"
#include "dnmanager.h"
#include "log.h"
#include "metastore.h"
#include "nn.h"
#include "nn_monitor.h"
#include "nn_rpc.h"
#include "nn_wire.h"
#include "replmon.h"
#include "safemode.h"
#include "xmalloc.h"

static int by_address(const void *a, const void *b)
{
    const struct dm_node *x = *(const struct dm_node *const *)a;
    const struct dm_node *y = *(const struct dm_node *const *)b;
    int d = strcmp(x->host, y->host);
    if (d)
        return d;
    return x->port < y->port ? -1 : x->port > y->port;
}

static int h_report(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                     ProtobufCMessage *m)
{
    (void)m;
    size_t n = dm_count(nn->dm);
    const struct dm_node **dns = xcalloc(n, sizeof(*dns));
    Dfs__DatanodeInfo *infos = xcalloc(n, sizeof(*infos));
    Dfs__DatanodeInfo **infop = xcalloc(n, sizeof(*infop));
    Dfs__DatanodeId *ids = xcalloc(n, sizeof(*ids));
    Dfs__ClusterReportResp r = DFS__CLUSTER_REPORT_RESP__INIT;
    uint64_t now = dfs_mono_ms(), files, dirs;

    for (size_t i = 0; i < n; i++)
        dns[i] = dm_get(nn->dm, (uint32_t)i);
    qsort(dns, n, sizeof(*dns), by_address);
    for (size_t i = 0; i < n; i++) {
        const struct dm_node *dn = dns[i];
        Dfs__DatanodeInfo *d = &infos[i];
        dfs__datanode_info__init(d);
        nn_dn_to_wire(dn, &ids[i]);
        d->id = &ids[i];
        d->state = (char *)dm_state_name(dn->state);
        d->capacity = dn->capacity;
        d->used = dn->used;
        d->remaining = dn->remaining;
        d->blocks = bm_dn_blocks(nn->bm, dn->slot);
        d->last_heartbeat_ms = now > dn->last_heartbeat ? now - dn->last_heartbeat : 0;
        d->has_load = 1;
        d->load = dn->load;
        d->admin_state = (char *)dm_admin_name(dn->admin);
        d->has_fsyncs = 1;
        d->fsyncs = dn->fsyncs;
        d->has_bytes_read_local = d->has_bytes_read_remote = 1;
        d->has_bytes_read_short_circuit = 1;
        d->bytes_read_local = dn->read_local;
        d->bytes_read_remote = dn->read_remote;
        d->bytes_read_short_circuit = dn->read_short_circuit;
        if (dn->admin == DM_ADMIN_DECOMMISSIONING) {
            d->has_decommission_left = 1;
            d->decommission_left = rm_decommission_left(nn->rm, dn->slot);
        }
        infop[i] = d;
        if (dn->state != DM_DEAD) {
            r.capacity += dn->capacity;
            r.used += dn->used;
            r.remaining += dn->remaining;
        }
    }
    r.n_datanodes = n;
    r.datanodes = infop;
    r.has_capacity = r.has_used = r.has_remaining = 1;
    bm_counts(nn->bm, &r.blocks, &r.under_replicated, &r.corrupt);
    r.has_blocks = r.has_under_replicated = r.has_corrupt = 1;
    ns_counts(nn->ns, &files, &dirs);
    r.has_files = 1;
    r.files = files;
    uint64_t complete, safe;
    bm_safe_counts(nn->bm, &complete, &safe);
    r.has_missing = 1;
    r.missing = complete - safe;
    struct rm_counts rc;
    rm_counts(nn->rm, &rc);
    /* The monitor's count (in-service replicas, as fsck counts) once it
     * runs; in safe mode, before its first look, the block map's. */
    if (!sm_on(nn->sm))
        r.under_replicated = rc.under_replicated;
    r.has_pending_replication = r.has_copies_done = 1;
    r.pending_replication = rc.pending;
    r.copies_done = rc.copies_done;
    char smbuf[400];
    r.has_safemode = 1;
    r.safemode = sm_on(nn->sm) != 0;
    r.safemode_status = (char *)sm_describe(nn->sm, safe, complete, now, smbuf, sizeof(smbuf));
    nn_reply_msg(nn, c, h, &r.base);
    free(ids);
    free(infop);
    free(infos);
    free(dns);
    return 0;
}

static int h_safemode(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                      ProtobufCMessage *m)
{
    Dfs__SafemodeReq *req = (Dfs__SafemodeReq *)m;
    if (req->action == DFS__SAFEMODE_ACTION__SM_ENTER)
        nn_safemode_set(nn, 1);
    else if (req->action == DFS__SAFEMODE_ACTION__SM_LEAVE)
        nn_safemode_set(nn, 0);
    uint64_t complete, safe;
    char buf[400];
    bm_safe_counts(nn->bm, &complete, &safe);
    Dfs__SafemodeResp r = DFS__SAFEMODE_RESP__INIT;
    r.has_on = 1;
    r.on = sm_on(nn->sm) != 0;
    r.message = (char *)sm_describe(nn->sm, safe, complete, dfs_mono_ms(), buf, sizeof(buf));
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

/* ------------------------------------------------------ decommissioning */

/* The decommission list is kept in the metastore, one key per address:
 * DECOM_PREFIX + "HOST:PORT" -> "" (present: decommission). */
#define DECOM_PREFIX "adecom/"

static int h_decommission(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h,
                          ProtobufCMessage *m)
{
    Dfs__DecommissionReq *req = (Dfs__DecommissionReq *)m;
    char host[DM_HOST_MAX], key[DM_HOST_MAX + 32];
    unsigned port;
    if (dfs_parse_hostport(req->address, host, sizeof(host), &port) != 0) {
        nn_reply_statusf(nn, c, h, DFS_ERR_INVAL, "invalid datanode address '%s': HOST:PORT "
                         "expected (as `dfs report` shows it)", req->address);
        return 0;
    }
    if (nn_refuse_in_safemode(nn, c, h))
        return 0;
    char addr[DM_HOST_MAX + 16];
    snprintf(addr, sizeof(addr), "%s:%u", host, port);
    int on = req->decommission != 0;
    size_t klen = (size_t)snprintf(key, sizeof(key), DECOM_PREFIX "%s", addr);
    struct ms_batch *b = ms_batch_new();
    if (on)
        ms_batch_put(b, key, klen, "", 0);
    else
        ms_batch_delete(b, key, klen);
    int rc = ms_write(nn->ms, b);
    ms_batch_destroy(b);
    if (rc != 0) {
        nn_reply_statusf(nn, c, h, DFS_ERR_IO, "cannot record the decommission of %s", addr);
        return 0;
    }
    commit_note_write(nn->commit);
    struct dm_node *dn = dm_set_decommission(nn->dm, addr, on);
    LOG_INFO("%s of datanode %s asked by %s%s", on ? "decommission" : "recommission", addr,
             dfs_conn_peer(c), dn ? "" : " (not registered yet)");
    if (dn)
        rm_note_datanode(nn->rm, dn->slot);
    Dfs__DecommissionResp r = DFS__DECOMMISSION_RESP__INIT;
    r.has_registered = 1;
    r.registered = dn != NULL;
    nn_reply_msg(nn, c, h, &r.base);
    return 0;
}

/* Load the decommission list (start-up). */
static int load_decommissions(struct nn *nn)
{
    struct ms_iter *it = ms_iter_new(nn->ms);
    size_t plen = strlen(DECOM_PREFIX), n = 0;
    for (ms_iter_seek(it, DECOM_PREFIX, plen); ms_iter_valid(it); ms_iter_next(it)) {
        size_t klen;
        const char *k = ms_iter_key(it, &klen);
        if (klen < plen || memcmp(k, DECOM_PREFIX, plen) != 0)
            break;
        char addr[DM_HOST_MAX + 16];
        snprintf(addr, sizeof(addr), "%.*s", (int)(klen - plen), k + plen);
        dm_set_decommission(nn->dm, addr, 1);
        n++;
    }
    ms_iter_destroy(it);
    if (n)
        LOG_INFO("%zu datanodes on the decommission list", n);
    return 0;
}

int nn_adminserv_init(struct nn *nn)
{
    nn_rpc_handle(DFS_MSG_REPORT_REQ, &dfs__cluster_report_req__descriptor, h_report);
    nn_rpc_handle(DFS_MSG_SAFEMODE_REQ, &dfs__safemode_req__descriptor, h_safemode);
    nn_rpc_handle(DFS_MSG_DECOMMISSION_REQ, &dfs__decommission_req__descriptor,
                  h_decommission);
    return load_decommissions(nn);
}
