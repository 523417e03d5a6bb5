/*
 * fs.c - dfs_connect() and the namespace calls of dfs.h: each one is a
 * synchronous RPC to the namenode.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dfs.pb-c.h"
#include "error_i.h"
#include "file_i.h"
#include "frame.h"
#include "fs_i.h"
#include "path.h"
#include "shortcircuit.h"

int dfs_connect(const dfs_options *opts, dfs_fs **out)
{
    static unsigned long counter;   /* only makes client names unique */
    *out = NULL;
    if (!opts)
        return dfs_set_error(DFS_ERR_INVAL, "no options given");
    dfs_fs *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    fs->opts = *opts;
    int rc = dfs_cwd_init(fs);
    if (rc != DFS_OK) {
        free(fs);
        return rc;
    }
    rc = dfs_lease_init(fs);
    if (rc != DFS_OK) {
        dfs_cwd_fini(fs);
        free(fs);
        return rc;
    }
    fs->nn = dfs_rpc_new(opts->namenode_host, opts->namenode_port, (int)opts->timeout_ms);
    if (!fs->nn || dfs_sc_init(fs) != DFS_OK) {
        dfs_rpc_free(fs->nn);
        dfs_lease_fini(fs);
        dfs_cwd_fini(fs);
        free(fs);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    dfs_rpc_set_source(fs->nn, opts->client_host);
    char host[200] = "localhost";
    gethostname(host, sizeof(host) - 1);
    unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    snprintf(fs->client_name, sizeof(fs->client_name), "dfs-%s-%ld-%lu",
             host, (long)getpid(), n);
    snprintf(fs->client_host, sizeof(fs->client_host), "127.0.0.1");

    /* Check that the namenode answers, so a wrong address fails here. */
    struct dfs_stat st;
    rc = dfs_fs_stat_raw(fs, "/", &st);
    if (rc != DFS_OK) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", dfs_errmsg());
        dfs_disconnect(fs);
        return dfs_set_error(rc, "%s", msg);
    }
    if (opts->client_host[0])
        snprintf(fs->client_host, sizeof(fs->client_host), "%s", opts->client_host);
    else
        dfs_rpc_local_host(fs->nn, fs->client_host, sizeof(fs->client_host));
    *out = fs;
    return DFS_OK;
}

int dfs_connect_uri(const char *uri, const char *user, dfs_fs **out)
{
    *out = NULL;
    dfs_options *o = dfs_options_create();
    if (!o)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    int rc = dfs_options_load_env(o);
    if (rc == DFS_OK && uri && strcmp(uri, "default") != 0)
        rc = dfs_options_set_namenode(o, uri);
    if (rc == DFS_OK) {
        if (user)
            dfs_options_set_user(o, user);
        rc = dfs_connect(o, out);
    }
    dfs_options_destroy(o);
    return rc;
}

void dfs_disconnect(dfs_fs *fs)
{
    if (!fs)
        return;
    dfs_lease_fini(fs);
    dfs_sc_fini(fs);
    dfs_rpc_free(fs->nn);
    dfs_cwd_fini(fs);
    free(fs);
}

int dfs_get_uri(const dfs_fs *fs, char *buf, size_t size)
{
    char addr[300];
    if (!buf)
        return dfs_set_error(DFS_ERR_INVAL, "no buffer given");
    dfs_options_format_addr(fs->opts.namenode_host, fs->opts.namenode_port, addr, sizeof(addr));
    int n = snprintf(buf, size, "dfs://%s", addr);
    if (n < 0 || (size_t)n >= size) {
        if (size)
            buf[0] = '\0';
        return dfs_set_error(DFS_ERR_INVAL, "the URI dfs://%s does not fit a buffer of %zu",
                             addr, size);
    }
    return DFS_OK;
}

const char *dfs_get_user(const dfs_fs *fs)
{
    return fs->opts.user;
}

/* The namenode's defaults for new files into *block_size and
 * *replication (either may be NULL). */
static int server_defaults(dfs_fs *fs, uint64_t *block_size, unsigned *replication)
{
    Dfs__ServerDefaultsReq req = DFS__SERVER_DEFAULTS_REQ__INIT;
    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(fs->nn, DFS_MSG_SERVER_DEFAULTS_REQ, &req.base,
                          &dfs__server_defaults_resp__descriptor, &m);
    Dfs__ServerDefaultsResp *r = (Dfs__ServerDefaultsResp *)m;
    if (rc == DFS_OK && (!r->has_block_size || !r->has_replication))
        rc = dfs_set_error(DFS_ERR_PROTO, "namenode answered its defaults without "
                           "block size or replication");
    if (rc == DFS_OK && block_size)
        *block_size = r->block_size;
    if (rc == DFS_OK && replication)
        *replication = r->replication;
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int dfs_get_default_block_size(dfs_fs *fs, uint64_t *block_size)
{
    return server_defaults(fs, block_size, NULL);
}

int dfs_get_default_replication(dfs_fs *fs, unsigned *replication)
{
    return server_defaults(fs, NULL, replication);
}

/* Copy a wire FileStatus into the public struct. */
static void stat_from_wire(const Dfs__FileStatus *w, struct dfs_stat *st)
{
    memset(st, 0, sizeof(*st));
    st->inode = w->inode;
    st->type = w->type == DFS__FILE_TYPE__FT_DIR ? DFS_TYPE_DIR : DFS_TYPE_FILE;
    st->mode = w->mode & 07777;
    snprintf(st->owner, sizeof(st->owner), "%s", w->owner ? w->owner : "");
    snprintf(st->group, sizeof(st->group), "%s", w->group ? w->group : "");
    st->mtime_ms = w->mtime_ms;
    st->atime_ms = w->atime_ms;
    st->length = w->length;
    st->replication = w->replication;
    st->block_size = w->block_size;
    st->complete = w->has_complete ? w->complete : 1;
    snprintf(st->name, sizeof(st->name), "%s", w->name ? w->name : "");
}

/* One RPC about path whose answer carries nothing but a status; a
 * failure's message names path. */
static int simple_call(dfs_fs *fs, const char *path, uint16_t type,
                       const ProtobufCMessage *req, const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *resp = NULL;
    int rc = dfs_rpc_call(fs->nn, type, req, desc, &resp);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    return dfs_error_name_path(rc, path);
}

#define NORM(path, buf) do { \
        int rc_ = dfs_fs_norm_path(fs, (path), (buf), sizeof(buf)); \
        if (rc_) return rc_; \
    } while (0)

int dfs_mkdir(dfs_fs *fs, const char *path, unsigned mode, int parents)
{
    char p[DFS_PATH_MAX + 1];
    NORM(path, p);
    Dfs__MkdirReq req = DFS__MKDIR_REQ__INIT;
    req.path = p;
    req.has_mode = 1;
    req.mode = mode & 07777;
    req.has_parents = 1;
    req.parents = parents != 0;
    req.user = fs->opts.user;
    return simple_call(fs, p, DFS_MSG_MKDIR_REQ, &req.base, &dfs__mkdir_resp__descriptor);
}

int dfs_create(dfs_fs *fs, const char *path, unsigned mode)
{
    char p[DFS_PATH_MAX + 1];
    NORM(path, p);
    Dfs__CreateReq req = DFS__CREATE_REQ__INIT;
    req.path = p;
    req.has_mode = 1;
    req.mode = mode & 07777;
    if (fs->opts.replication) {
        req.has_replication = 1;
        req.replication = fs->opts.replication;
    }
    if (fs->opts.block_size) {
        req.has_block_size = 1;
        req.block_size = fs->opts.block_size;
    }
    req.user = fs->opts.user;
    return simple_call(fs, p, DFS_MSG_CREATE_REQ, &req.base, &dfs__create_resp__descriptor);
}

int dfs_fs_stat_raw(dfs_fs *fs, const char *p, struct dfs_stat *st)
{
    Dfs__StatReq req = DFS__STAT_REQ__INIT;
    req.path = (char *)p;
    ProtobufCMessage *m = NULL;
    int rc = dfs_error_name_path(dfs_rpc_call(fs->nn, DFS_MSG_STAT_REQ, &req.base,
                                              &dfs__stat_resp__descriptor, &m), p);
    if (rc == DFS_OK) {
        Dfs__StatResp *resp = (Dfs__StatResp *)m;
        if (!resp->st)
            rc = dfs_set_error(DFS_ERR_PROTO, "namenode answered stat without attributes");
        else
            stat_from_wire(resp->st, st);
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int dfs_stat(dfs_fs *fs, const char *path, struct dfs_stat *st)
{
    char p[DFS_PATH_MAX + 1];
    NORM(path, p);
    struct dfs_stat s;
    int rc = dfs_fs_stat_raw(fs, p, &s);
    if (rc != DFS_OK)
        return rc;
    /* A file being written: the length a reader opening it now gets.
     * When no datanode of its last block answers, the namenode's length
     * (its complete blocks) stands: stat does not fail for that. */
    uint64_t len;
    if (s.type == DFS_TYPE_FILE && !s.complete) {
        if (dfs_reader_visible_length(fs, p, &len) == DFS_OK)
            s.length = len;
        else
            dfs_fs_log(fs, DFS_LOG_DEBUG, "stat %s: %s", p, dfs_errmsg());
    }
    *st = s;
    return DFS_OK;
}

int dfs_delete(dfs_fs *fs, const char *path, int recursive)
{
    return dfs_fs_delete(fs, path, recursive, 0);
}

int dfs_fs_delete(dfs_fs *fs, const char *path, int recursive, uint64_t inode)
{
    char p[DFS_PATH_MAX + 1];
    NORM(path, p);
    Dfs__DeleteReq req = DFS__DELETE_REQ__INIT;
    req.path = p;
    req.has_recursive = 1;
    req.recursive = recursive != 0;
    req.has_inode = inode != 0;
    req.inode = inode;
    return simple_call(fs, p, DFS_MSG_DELETE_REQ, &req.base, &dfs__delete_resp__descriptor);
}

int dfs_rename(dfs_fs *fs, const char *src, const char *dst, int overwrite)
{
    char s[DFS_PATH_MAX + 1], d[DFS_PATH_MAX + 1];
    NORM(src, s);
    NORM(dst, d);
    Dfs__RenameReq req = DFS__RENAME_REQ__INIT;
    req.src = s;
    req.dst = d;
    req.has_overwrite = 1;
    req.overwrite = overwrite != 0;
    return simple_call(fs, s, DFS_MSG_RENAME_REQ, &req.base, &dfs__rename_resp__descriptor);
}

static int setattr(dfs_fs *fs, const char *path, Dfs__SetAttrReq *req)
{
    char p[DFS_PATH_MAX + 1];
    NORM(path, p);
    req->path = p;
    return simple_call(fs, p, DFS_MSG_SETATTR_REQ, &req->base, &dfs__set_attr_resp__descriptor);
}

int dfs_set_replication(dfs_fs *fs, const char *path, unsigned replication)
{
    Dfs__SetAttrReq req = DFS__SET_ATTR_REQ__INIT;
    req.has_replication = 1;
    req.replication = replication;
    return setattr(fs, path, &req);
}

int dfs_chmod(dfs_fs *fs, const char *path, unsigned mode)
{
    if (mode & ~07777u)
        return dfs_set_error(DFS_ERR_INVAL, "invalid mode %o", mode);
    Dfs__SetAttrReq req = DFS__SET_ATTR_REQ__INIT;
    req.has_mode = 1;
    req.mode = mode;
    return setattr(fs, path, &req);
}

int dfs_chown(dfs_fs *fs, const char *path, const char *owner, const char *group)
{
    Dfs__SetAttrReq req = DFS__SET_ATTR_REQ__INIT;
    req.owner = (char *)owner;
    req.group = (char *)group;
    if (!owner && !group)
        return dfs_set_error(DFS_ERR_INVAL, "neither owner nor group given");
    return setattr(fs, path, &req);
}

int dfs_set_mtime(dfs_fs *fs, const char *path, uint64_t mtime_ms)
{
    Dfs__SetAttrReq req = DFS__SET_ATTR_REQ__INIT;
    req.has_mtime_ms = 1;
    req.mtime_ms = mtime_ms;
    return setattr(fs, path, &req);
}

int dfs_utimes(dfs_fs *fs, const char *path, int64_t mtime_ms, int64_t atime_ms)
{
    if (mtime_ms < -1 || atime_ms < -1)
        return dfs_set_error(DFS_ERR_INVAL, "invalid time %lld (ms since the epoch, or -1)",
                             (long long)(mtime_ms < -1 ? mtime_ms : atime_ms));
    if (mtime_ms == -1 && atime_ms == -1) {
        /* Nothing to change; the path must still exist. */
        char p[DFS_PATH_MAX + 1];
        struct dfs_stat st;
        NORM(path, p);
        return dfs_fs_stat_raw(fs, p, &st);
    }
    Dfs__SetAttrReq req = DFS__SET_ATTR_REQ__INIT;
    req.has_mtime_ms = mtime_ms != -1;
    req.mtime_ms = mtime_ms != -1 ? (uint64_t)mtime_ms : 0;
    req.has_atime_ms = atime_ms != -1;
    req.atime_ms = atime_ms != -1 ? (uint64_t)atime_ms : 0;
    return setattr(fs, path, &req);
}

int dfs_content_summary(dfs_fs *fs, const char *path, struct dfs_summary *out)
{
    char p[DFS_PATH_MAX + 1];
    NORM(path, p);
    Dfs__ContentSummaryReq req = DFS__CONTENT_SUMMARY_REQ__INIT;
    req.path = p;
    ProtobufCMessage *m = NULL;
    int rc = dfs_error_name_path(dfs_rpc_call(fs->nn, DFS_MSG_SUMMARY_REQ, &req.base,
                                              &dfs__content_summary_resp__descriptor, &m), p);
    if (rc == DFS_OK) {
        Dfs__ContentSummaryResp *r = (Dfs__ContentSummaryResp *)m;
        out->length = r->length;
        out->files = r->files;
        out->dirs = r->dirs;
        out->space_consumed = r->space_consumed;
    }
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* ------------------------------------------------------------ directories */

struct dfs_dir {
    dfs_fs *fs;
    char path[DFS_PATH_MAX + 1];
    Dfs__ListResp *page;         /* current page, NULL before the first */
    size_t next;                 /* next entry of page to hand out */
    char last[DFS_NAME_MAX + 1]; /* name of the last entry handed out */
    int done;
};

/* Fetch the page after d->last.  DFS_OK or an error. */
static int dir_fetch(dfs_dir *d)
{
    Dfs__ListReq req = DFS__LIST_REQ__INIT;
    req.path = d->path;
    req.start_after = d->last;
    ProtobufCMessage *m = NULL;
    int rc = dfs_error_name_path(dfs_rpc_call(d->fs->nn, DFS_MSG_LIST_REQ, &req.base,
                                              &dfs__list_resp__descriptor, &m), d->path);
    if (d->page)
        protobuf_c_message_free_unpacked(&d->page->base, NULL);
    d->page = NULL;
    if (rc != DFS_OK) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    d->page = (Dfs__ListResp *)m;
    d->next = 0;
    if (!d->page->has_more || d->page->n_entries == 0)
        d->done = 1;
    return DFS_OK;
}

int dfs_opendir(dfs_fs *fs, const char *path, dfs_dir **out)
{
    *out = NULL;
    dfs_dir *d = calloc(1, sizeof(*d));
    if (!d)
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    d->fs = fs;
    int rc = dfs_fs_norm_path(fs, path, d->path, sizeof(d->path));
    if (rc == DFS_OK)
        rc = dir_fetch(d);
    if (rc != DFS_OK) {
        dfs_closedir(d);
        return rc;
    }
    *out = d;
    return DFS_OK;
}

int dfs_readdir(dfs_dir *d, struct dfs_stat *st)
{
    for (;;) {
        if (d->page && d->next < d->page->n_entries) {
            stat_from_wire(d->page->entries[d->next++], st);
            snprintf(d->last, sizeof(d->last), "%s", st->name);
            return 1;
        }
        if (d->done)
            return 0;
        int rc = dir_fetch(d);
        if (rc != DFS_OK)
            return -rc;
    }
}

void dfs_closedir(dfs_dir *d)
{
    if (!d)
        return;
    if (d->page)
        protobuf_c_message_free_unpacked(&d->page->base, NULL);
    free(d);
}

/* --------------------------------------------------------- cluster report */

int dfs_cluster_report(dfs_fs *fs, struct dfs_cluster_report **out)
{
    *out = NULL;
    Dfs__ClusterReportReq req = DFS__CLUSTER_REPORT_REQ__INIT;
    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(fs->nn, DFS_MSG_REPORT_REQ, &req.base,
                          &dfs__cluster_report_resp__descriptor, &m);
    if (rc != DFS_OK) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return rc;
    }
    Dfs__ClusterReportResp *r = (Dfs__ClusterReportResp *)m;
    struct dfs_cluster_report *rep = calloc(1, sizeof(*rep));
    struct dfs_datanode_info *dns = calloc(r->n_datanodes ? r->n_datanodes : 1, sizeof(*dns));
    if (!rep || !dns) {
        free(rep);
        free(dns);
        protobuf_c_message_free_unpacked(m, NULL);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    rep->capacity = r->capacity;
    rep->used = r->used;
    rep->remaining = r->remaining;
    rep->blocks = r->blocks;
    rep->files = r->files;
    rep->under_replicated = r->under_replicated;
    rep->corrupt = r->corrupt;
    rep->safemode = r->safemode;
    rep->missing = r->missing;
    rep->pending_replication = r->pending_replication;
    rep->copies_done = r->copies_done;
    snprintf(rep->safemode_status, sizeof(rep->safemode_status), "%s",
             r->safemode_status ? r->safemode_status : "");
    rep->ndatanodes = r->n_datanodes;
    rep->datanodes = dns;
    for (size_t i = 0; i < r->n_datanodes; i++) {
        const Dfs__DatanodeInfo *w = r->datanodes[i];
        struct dfs_datanode_info *d = &dns[i];
        snprintf(d->host, sizeof(d->host), "%s", w->id->host);
        d->port = w->id->port;
        snprintf(d->rack, sizeof(d->rack), "%s", w->id->rack ? w->id->rack : "/default");
        snprintf(d->storage_id, sizeof(d->storage_id), "%s", w->id->storage_id);
        snprintf(d->state, sizeof(d->state), "%s", w->state);
        d->capacity = w->capacity;
        d->used = w->used;
        d->remaining = w->remaining;
        d->blocks = w->blocks;
        d->last_heartbeat_ms = w->last_heartbeat_ms;
        d->load = w->load;
        snprintf(d->admin_state, sizeof(d->admin_state), "%s",
                 w->admin_state ? w->admin_state : "normal");
        d->decommission_left = w->decommission_left;
        d->fsyncs = w->fsyncs;
        d->bytes_read_local = w->bytes_read_local;
        d->bytes_read_remote = w->bytes_read_remote;
        d->bytes_read_short_circuit = w->bytes_read_short_circuit;
    }
    protobuf_c_message_free_unpacked(m, NULL);
    *out = rep;
    return DFS_OK;
}

void dfs_free_cluster_report(struct dfs_cluster_report *r)
{
    if (!r)
        return;
    free(r->datanodes);
    free(r);
}
