/*
 * options.c - dfs_options: connection and default file settings.
 */
#include <arpa/inet.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checksum.h"
#include "config.h"
#include "error_i.h"
#include "fs_i.h"

/* The [client] keys of a loaded configuration, but the namenode (whose
 * parsing the callers handle each their own way). */
static void options_from_conf(dfs_options *o, const struct dfs_conf *c)
{
    o->timeout_ms = c->cl_timeout_ms;
    o->replication = c->cl_replication;
    o->block_size = c->cl_block_size;
    o->chunk_size = c->cl_chunk_size;
    o->packet_size = c->cl_packet_size;
    o->window = c->cl_window;
    o->ack_timeout_ms = c->cl_ack_timeout_ms;
    o->replace_datanode = c->cl_replace_datanode != 0;
    o->lease_renew_ms = c->cl_lease_renew_ms;
    o->short_circuit = c->cl_short_circuit != 0;
    o->short_circuit_cache = c->cl_short_circuit_cache;
    snprintf(o->client_host, sizeof(o->client_host), "%s", c->cl_host);
}

dfs_options *dfs_options_create(void)
{
    struct dfs_conf c;
    dfs_options *o = calloc(1, sizeof(*o));
    if (!o)
        return NULL;
    if (dfs_conf_init(&c) != 0) {
        dfs_conf_free(&c);
        free(o);
        return NULL;
    }
    char err[8];
    if (dfs_parse_namenode(c.cl_namenode, o->namenode_host, sizeof(o->namenode_host),
                           &o->namenode_port, err, sizeof(err)) != 0) {
        snprintf(o->namenode_host, sizeof(o->namenode_host), "127.0.0.1");
        o->namenode_port = 8020;
    }
    options_from_conf(o, &c);
    dfs_conf_free(&c);

    const char *user = getenv("DFS_USER");
    struct passwd pw, *res = NULL;
    char buf[1024];          /* holds pw's strings: must outlive `user` */
    if (!user || !*user) {
        if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
            user = res->pw_name;
    }
    snprintf(o->user, sizeof(o->user), "%s", user && *user ? user : "nobody");
    return o;
}

void dfs_options_destroy(dfs_options *opts)
{
    free(opts);
}

int dfs_options_load_conf(dfs_options *o, const char *path)
{
    char err[512];
    struct dfs_conf c;

    if (!path) {
        path = getenv("DFS_CONF");
        if (!path || !*path)
            return DFS_OK;
    }
    if (dfs_conf_init(&c) != 0) {
        dfs_conf_free(&c);
        return dfs_set_error(DFS_ERR_NOMEM, "out of memory");
    }
    if (dfs_conf_load_file(&c, path, err, sizeof(err)) != 0 ||
        dfs_conf_check(&c, err, sizeof(err)) != 0) {
        dfs_conf_free(&c);
        return dfs_set_error(DFS_ERR_INVAL, "%s", err);
    }
    int rc = dfs_options_set_namenode(o, c.cl_namenode);
    options_from_conf(o, &c);
    dfs_conf_free(&c);
    return rc;
}

int dfs_options_load_env(dfs_options *o)
{
    int rc = dfs_options_load_conf(o, NULL);
    if (rc != DFS_OK)
        return rc;
    const char *env = getenv("DFS_NAMENODE");
    if (env && *env && (rc = dfs_options_set_namenode(o, env)) != DFS_OK)
        return dfs_set_error(rc, "DFS_NAMENODE: %s", dfs_errmsg());
    env = getenv("DFS_CLIENT_HOST");
    if (env && *env && (rc = dfs_options_set_client_host(o, env)) != DFS_OK)
        return dfs_set_error(rc, "DFS_CLIENT_HOST: %s", dfs_errmsg());
    return DFS_OK;
}

int dfs_options_set_namenode(dfs_options *o, const char *addr)
{
    char host[sizeof(o->namenode_host)], err[512];
    unsigned port;
    if (dfs_parse_namenode(addr, host, sizeof(host), &port, err, sizeof(err)) != 0)
        return dfs_set_error(DFS_ERR_INVAL, "%s", err);
    memcpy(o->namenode_host, host, sizeof(host));
    o->namenode_port = port;
    return DFS_OK;
}

void dfs_options_format_addr(const char *host, unsigned port, char *buf, size_t size)
{
    snprintf(buf, size, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

char *dfs_options_get_namenode(const dfs_options *o)
{
    char buf[300];
    dfs_options_format_addr(o->namenode_host, o->namenode_port, buf, sizeof(buf));
    return strdup(buf);
}

int dfs_options_set_client_host(dfs_options *o, const char *host)
{
    struct in6_addr a;
    if (!host || !*host) {
        o->client_host[0] = '\0';
        return DFS_OK;
    }
    if (strlen(host) >= sizeof(o->client_host) ||
        (inet_pton(AF_INET, host, &a) != 1 && inet_pton(AF_INET6, host, &a) != 1))
        return dfs_set_error(DFS_ERR_INVAL, "invalid client host '%s' (an IP address)", host);
    snprintf(o->client_host, sizeof(o->client_host), "%s", host);
    return DFS_OK;
}

void dfs_options_set_user(dfs_options *o, const char *user)
{
    if (user && *user)
        snprintf(o->user, sizeof(o->user), "%s", user);
}

void dfs_options_set_timeout_ms(dfs_options *o, unsigned ms)
{
    o->timeout_ms = ms ? ms : 1;
}

void dfs_options_set_replication(dfs_options *o, unsigned replication)
{
    o->replication = replication;
}

void dfs_options_set_block_size(dfs_options *o, uint64_t block_size)
{
    o->block_size = block_size;
}

int dfs_options_set_chunk_size(dfs_options *o, unsigned chunk_size)
{
    if (!dfs_chunk_size_valid(chunk_size))
        return dfs_set_error(DFS_ERR_INVAL, "invalid chunk size %u (a power of two from 512 to 16M)",
                             chunk_size);
    o->chunk_size = chunk_size;
    return DFS_OK;
}

void dfs_options_set_log_func(dfs_options *o, dfs_log_func fn, void *arg)
{
    o->log_fn = fn;
    o->log_arg = arg;
}

/* The handle's log function lives in its options: logging is theirs. */
void dfs_fs_log(const struct dfs_fs *fs, enum dfs_log_level level, const char *fmt, ...)
{
    if (!fs->opts.log_fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fs->opts.log_fn(level, msg, fs->opts.log_arg);
}
