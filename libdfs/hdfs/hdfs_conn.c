/*
 * hdfs_conn.c - connections: the hdfsBuilder family, hdfsConnect*,
 * hdfsDisconnect, the configuration (hdfsConfGet*), the working directory
 * and what a connection tells about its cluster (capacity, used, default
 * block size, hedged-read metrics).  Also the registry of a connection's
 * open files, which hdfsDisconnect closes.
 *
 * A namenode NULL or "file:..." gives the local file system; "default"
 * the namenode of the configuration (dfs_options_load_env: $DFS_CONF, then
 * $DFS_NAMENODE); anything else is handed to dfs_options_set_namenode
 * ("HOST", "HOST:PORT", "dfs://HOST:PORT", "hdfs://HOST:PORT").
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hdfs_i.h"

struct hconn_opt {
    struct hconn_opt *next;
    const char *key;            /* the caller's strings, not copied */
    const char *val;
};

struct hdfsBuilder {
    int force_new;              /* accepted; every connection is new */
    const char *nn;             /* NULL: local file system */
    tPort port;
    const char *user;
    const char *kerb_cache;     /* accepted, unused: no Kerberos */
    struct hconn_opt *opts;     /* newest first */
};

/* ------------------------------------------------------------ builder */

struct hdfsBuilder *hdfsNewBuilder(void)
{
    struct hdfsBuilder *bld = calloc(1, sizeof(*bld));
    if (!bld)
        herr_fail(ENOMEM, "hdfsNewBuilder");
    return bld;
}

void hdfsBuilderSetForceNewInstance(struct hdfsBuilder *bld)
{
    if (bld)
        bld->force_new = 1;
}

void hdfsBuilderSetNameNode(struct hdfsBuilder *bld, const char *nn)
{
    if (bld)
        bld->nn = nn;
}

void hdfsBuilderSetNameNodePort(struct hdfsBuilder *bld, tPort port)
{
    if (bld)
        bld->port = port;
}

void hdfsBuilderSetUserName(struct hdfsBuilder *bld, const char *userName)
{
    if (bld)
        bld->user = userName;
}

void hdfsBuilderSetKerbTicketCachePath(struct hdfsBuilder *bld,
                                       const char *kerbTicketCachePath)
{
    if (bld)
        bld->kerb_cache = kerbTicketCachePath;
}

void hdfsFreeBuilder(struct hdfsBuilder *bld)
{
    if (!bld)
        return;
    for (struct hconn_opt *o = bld->opts, *next; o; o = next) {
        next = o->next;
        free(o);
    }
    free(bld);
}

int hdfsBuilderConfSetStr(struct hdfsBuilder *bld, const char *key, const char *val)
{
    if (!bld || !key) {
        herr_fail(EINVAL, "hdfsBuilderConfSetStr: no builder or key");
        return -EINVAL;            /* negative, as its -ENOMEM */
    }
    struct hconn_opt *o = calloc(1, sizeof(*o));
    if (!o) {
        herr_fail(ENOMEM, "hdfsBuilderConfSetStr(%s)", key);
        return -ENOMEM;            /* Hadoop's return value */
    }
    o->key = key;
    o->val = val;
    o->next = bld->opts;
    bld->opts = o;
    return 0;
}

/* The value the builder holds for key (the last one set), NULL if none. */
static const char *bld_conf(const struct hdfsBuilder *bld, const char *key)
{
    for (const struct hconn_opt *o = bld->opts; o; o = o->next)
        if (!strcmp(o->key, key))
            return o->val;
    return NULL;
}

/* --------------------------------------------------------- numbers */

/* A non-negative integer with an optional K/M/G/T suffix (powers of 1024,
 * Hadoop's getLongBytes) into *out.  0, or -1 when malformed. */
static int parse_size(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    while (isspace((unsigned char)*end))
        end++;
    if (*end || v > (LLONG_MAX >> shift))
        return -1;
    *out = (int64_t)v << shift;
    return 0;
}

/* ------------------------------------------------------------ connect */

static int ini_lookup(const char *path, const char *section, const char *key, char **val);

/* The block size new files get from this client when the builder set none:
 * [client] block_size of $DFS_CONF (what dfs_options_load_env applied),
 * 0 when unset (then the namenode's default applies). */
static int64_t env_block_size(void)
{
    const char *path = getenv("DFS_CONF");
    char *v = NULL;
    int64_t bs = 0;

    if (!path || !*path || ini_lookup(path, "client", "block_size", &v) != 0 || !v)
        return 0;
    if (parse_size(v, &bs) != 0)
        bs = 0;
    free(v);
    return bs;
}

/* 1 when s ends in ":DIGITS" after its authority starts (a port given). */
static int has_port(const char *s)
{
    const char *auth = strstr(s, "://");
    auth = auth ? auth + 3 : s;
    const char *slash = strchr(auth, '/');
    size_t len = slash ? (size_t)(slash - auth) : strlen(auth);
    const char *colon = NULL;
    for (size_t i = 0; i < len; i++) {
        if (auth[i] == ']')
            colon = NULL;                  /* inside "[v6]" colons don't count */
        else if (auth[i] == ':')
            colon = auth + i;
    }
    if (!colon || colon + 1 >= auth + len)
        return 0;
    for (const char *p = colon + 1; p < auth + len; p++)
        if (!isdigit((unsigned char)*p))
            return 0;
    return 1;
}

static int is_file_uri(const char *s)
{
    return !strncasecmp(s, "file:", 5);
}

/* Apply the builder's configuration keys to opts (and fs). */
static int apply_conf(const struct hdfsBuilder *bld, dfs_options *opts, hdfsFS fs)
{
    int64_t v;
    const char *s;

    if ((s = bld_conf(bld, "dfs.replication")) != NULL) {
        if (parse_size(s, &v) != 0 || v < 1 || v > 32767)
            return herr_fail(EINVAL, "dfs.replication = %s: not a replication", s);
        dfs_options_set_replication(opts, (unsigned)v);
    }
    if ((s = bld_conf(bld, "dfs.blocksize")) != NULL ||
        (s = bld_conf(bld, "client.block_size")) != NULL) {
        if (parse_size(s, &v) != 0 || v < 1)
            return herr_fail(EINVAL, "dfs.blocksize = %s: not a size", s);
        dfs_options_set_block_size(opts, (uint64_t)v);
        fs->conf_block_size = v;
    }
    if ((s = bld_conf(bld, "client.timeout_ms")) != NULL) {
        if (parse_size(s, &v) != 0 || v < 1 || v > UINT_MAX)
            return herr_fail(EINVAL, "client.timeout_ms = %s: not a time", s);
        dfs_options_set_timeout_ms(opts, (unsigned)v);
    }
    if ((s = bld_conf(bld, "client.chunk_size")) != NULL) {
        if (parse_size(s, &v) != 0 || v > UINT_MAX ||
            dfs_options_set_chunk_size(opts, (unsigned)v) != DFS_OK)
            return herr_fail(EINVAL, "client.chunk_size = %s: not a chunk size", s);
    }
    return 0;
}

/* Connect fs to the namenode bld names (not NULL, not a file: URI). */
static int connect_dfs(const struct hdfsBuilder *bld, hdfsFS fs)
{
    char addr[512], uri[300];
    const char *nn = bld->nn;
    int rc;

    dfs_options *opts = dfs_options_create();
    if (!opts)
        return herr_fail(ENOMEM, "hdfsBuilderConnect");
    rc = dfs_options_load_env(opts);
    if (rc != DFS_OK) {
        dfs_options_destroy(opts);
        return herr_dfs(rc, "hdfsBuilderConnect: configuration");
    }
    if (!strcmp(nn, "default")) {
        const char *dflt = bld_conf(bld, "fs.defaultFS");
        nn = dflt && *dflt ? dflt : NULL;       /* NULL: the environment's */
    }
    if (nn) {
        if (bld->port) {
            if (has_port(nn)) {
                dfs_options_destroy(opts);
                return herr_fail(EINVAL, "namenode %s: a port is given twice (%u)", nn,
                                 (unsigned)bld->port);
            }
            size_t n = strlen(nn);
            while (n > 0 && nn[n - 1] == '/')
                n--;
            snprintf(addr, sizeof(addr), "%.*s:%u", (int)n, nn, (unsigned)bld->port);
        } else {
            snprintf(addr, sizeof(addr), "%s", nn);
        }
        rc = dfs_options_set_namenode(opts, addr);
        if (rc != DFS_OK) {
            dfs_options_destroy(opts);
            return herr_dfs(rc, "namenode %s", addr);
        }
    }
    if (bld->user && *bld->user)
        dfs_options_set_user(opts, bld->user);
    if (apply_conf(bld, opts, fs) != 0) {
        dfs_options_destroy(opts);
        return -1;
    }
    if (fs->conf_block_size == 0)
        fs->conf_block_size = env_block_size();
    rc = dfs_connect(opts, &fs->dfs);
    dfs_options_destroy(opts);
    if (rc != DFS_OK)
        return herr_dfs(rc, "connect to %s", nn ? nn : "the default namenode");
    rc = dfs_get_uri(fs->dfs, uri, sizeof(uri));
    if (rc != DFS_OK) {
        dfs_disconnect(fs->dfs);
        fs->dfs = NULL;
        return herr_dfs(rc, "connect: uri");
    }
    /* Qualified names keep the scheme the program used: "dfs://" when it
     * asked for it, else Hadoop's "hdfs://". */
    const char *auth = strstr(uri, "://");
    auth = auth ? auth + 3 : uri;
    int keep_dfs = nn && !strncasecmp(nn, "dfs://", 6);
    snprintf(fs->uri, sizeof(fs->uri), "%s://%s", keep_dfs ? "dfs" : "hdfs", auth);
    size_t ul = strlen(fs->uri);
    while (ul > 0 && fs->uri[ul - 1] == '/')
        fs->uri[--ul] = '\0';
    return 0;
}

hdfsFS hdfsBuilderConnect(struct hdfsBuilder *bld)
{
    if (!bld) {
        herr_fail(EINVAL, "hdfsBuilderConnect: no builder");
        return NULL;
    }
    hdfsFS fs = calloc(1, sizeof(*fs));
    if (!fs) {
        hdfsFreeBuilder(bld);
        herr_fail(ENOMEM, "hdfsBuilderConnect");
        return NULL;
    }
    pthread_mutex_init(&fs->lock, NULL);
    int rc;
    const char *dflt = bld->nn && !strcmp(bld->nn, "default")
                           ? bld_conf(bld, "fs.defaultFS") : NULL;
    if (!bld->nn || is_file_uri(bld->nn) || (dflt && is_file_uri(dflt))) {
        fs->local = 1;
        snprintf(fs->uri, sizeof(fs->uri), "file:");
        if (!getcwd(fs->local_cwd, sizeof(fs->local_cwd)))
            snprintf(fs->local_cwd, sizeof(fs->local_cwd), "/");
        const char *s = bld_conf(bld, "dfs.blocksize");
        if (s && parse_size(s, &fs->conf_block_size) != 0)
            fs->conf_block_size = 0;
        rc = 0;
    } else {
        rc = connect_dfs(bld, fs);
    }
    int saved = errno;
    hdfsFreeBuilder(bld);
    if (rc != 0) {
        pthread_mutex_destroy(&fs->lock);
        free(fs);
        errno = saved;
        return NULL;
    }
    return fs;
}

hdfsFS hdfsConnectAsUser(const char *nn, tPort port, const char *user)
{
    struct hdfsBuilder *bld = hdfsNewBuilder();
    if (!bld)
        return NULL;
    hdfsBuilderSetNameNode(bld, nn);
    hdfsBuilderSetNameNodePort(bld, port);
    hdfsBuilderSetUserName(bld, user);
    return hdfsBuilderConnect(bld);
}

hdfsFS hdfsConnect(const char *nn, tPort port)
{
    return hdfsConnectAsUser(nn, port, NULL);
}

hdfsFS hdfsConnectAsUserNewInstance(const char *nn, tPort port, const char *user)
{
    struct hdfsBuilder *bld = hdfsNewBuilder();
    if (!bld)
        return NULL;
    hdfsBuilderSetNameNode(bld, nn);
    hdfsBuilderSetNameNodePort(bld, port);
    hdfsBuilderSetUserName(bld, user);
    hdfsBuilderSetForceNewInstance(bld);
    return hdfsBuilderConnect(bld);
}

hdfsFS hdfsConnectNewInstance(const char *nn, tPort port)
{
    return hdfsConnectAsUserNewInstance(nn, port, NULL);
}

void hconn_track(hdfsFS fs, hdfsFile f)
{
    pthread_mutex_lock(&fs->lock);
    f->prev = NULL;
    f->next = fs->files;
    if (fs->files)
        fs->files->prev = f;
    fs->files = f;
    pthread_mutex_unlock(&fs->lock);
}

void hconn_untrack(hdfsFS fs, hdfsFile f)
{
    pthread_mutex_lock(&fs->lock);
    if (f->prev)
        f->prev->next = f->next;
    else if (fs->files == f)
        fs->files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->next = f->prev = NULL;
    pthread_mutex_unlock(&fs->lock);
}

int hdfsDisconnect(hdfsFS fs)
{
    int rc = 0;

    if (!fs)
        return herr_fail(EBADF, "hdfsDisconnect: no file system");
    /* Files left open are closed as hdfsCloseFile would (a writer's file
     * is completed); libdfs wants them closed before the disconnect. */
    pthread_mutex_lock(&fs->lock);
    hdfsFile f = fs->files;
    fs->files = NULL;
    pthread_mutex_unlock(&fs->lock);
    while (f) {
        hdfsFile next = f->next;
        if (f->owner)              /* a future's file: the future forgets it */
            *f->owner = NULL;
        if (f->df) {
            int r = dfs_close(f->df);
            if (r != DFS_OK && rc == 0)
                rc = herr_dfs(r, "hdfsDisconnect: closing a file left open");
        } else if (f->fd >= 0 && close(f->fd) != 0 && rc == 0) {
            rc = herr_sys("hdfsDisconnect: closing a file left open");
        }
        f->type = 0;
        pthread_mutex_destroy(&f->lock);
        free(f);
        f = next;
    }
    int saved = errno;
    if (fs->dfs)
        dfs_disconnect(fs->dfs);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
    errno = saved;
    return rc;
}

/* ------------------------------------------------------ configuration */

/* Look [section] key up in the INI file path: a malloc'd copy of its
 * value into *val, or NULL when absent.  0, or an errno value. */
static int ini_lookup(const char *path, const char *section, const char *key, char **val)
{
    FILE *f = fopen(path, "re");
    char line[1024], cur[128] = "";
    int rc = 0;

    *val = NULL;
    if (!f) {
        int e = errno;
        herr_sys("configuration %s", path);
        return e;
    }
    while (fgets(line, sizeof(line), f)) {
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (close) {
                *close = '\0';
                snprintf(cur, sizeof(cur), "%s", s + 1);
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq || strcmp(cur, section) != 0)
            continue;
        char *k = s, *ke = eq;
        while (ke > k && isspace((unsigned char)ke[-1]))
            ke--;
        *ke = '\0';
        if (strcmp(k, key) != 0)
            continue;
        char *v = eq + 1;
        while (isspace((unsigned char)*v))
            v++;
        free(*val);                        /* the last one wins */
        if (!(*val = strdup(v))) {
            rc = ENOMEM;
            herr_fail(ENOMEM, "configuration");
            break;
        }
    }
    fclose(f);
    return rc;
}

int hdfsConfGetStr(const char *key, char **val)
{
    if (!key || !val) {
        herr_fail(EINVAL, "hdfsConfGetStr: no key");
        return EINVAL;
    }
    *val = NULL;
    if (!strcmp(key, "fs.defaultFS") || !strcmp(key, "fs.default.name")) {
        dfs_options *o = dfs_options_create();
        if (!o) {
            herr_fail(ENOMEM, "hdfsConfGetStr(%s)", key);
            return ENOMEM;
        }
        int rc = dfs_options_load_env(o);
        char *nn = rc == DFS_OK ? dfs_options_get_namenode(o) : NULL;
        dfs_options_destroy(o);
        if (rc != DFS_OK) {
            herr_dfs(rc, "hdfsConfGetStr(%s)", key);
            return errno;
        }
        if (!nn) {
            herr_fail(ENOMEM, "hdfsConfGetStr(%s)", key);
            return ENOMEM;
        }
        /* the namenode may be given with a scheme: keep HOST:PORT */
        const char *hp = strstr(nn, "://");
        hp = hp ? hp + 3 : nn;
        size_t n = strlen(hp) + 8;
        *val = malloc(n);
        if (*val)
            snprintf(*val, n, "hdfs://%s", hp);
        free(nn);
        if (!*val) {
            herr_fail(ENOMEM, "hdfsConfGetStr(%s)", key);
            return ENOMEM;
        }
        return 0;
    }
    const char *path = getenv("DFS_CONF");
    if (!path || !*path)
        return 0;                          /* no file: nothing is set */
    char section[128], name[256];
    if (!strcmp(key, "dfs.replication")) {
        snprintf(section, sizeof(section), "client");
        snprintf(name, sizeof(name), "replication");
    } else if (!strcmp(key, "dfs.blocksize") || !strcmp(key, "dfs.block.size")) {
        snprintf(section, sizeof(section), "client");
        snprintf(name, sizeof(name), "block_size");
    } else {
        const char *dot = strchr(key, '.');
        if (dot && (size_t)(dot - key) < sizeof(section)) {
            snprintf(section, sizeof(section), "%.*s", (int)(dot - key), key);
            snprintf(name, sizeof(name), "%s", dot + 1);
        } else {
            snprintf(section, sizeof(section), "client");
            snprintf(name, sizeof(name), "%s", key);
        }
    }
    int rc = ini_lookup(path, section, name, val);
    if (rc)
        errno = rc;
    return rc;
}

int hdfsConfGetInt(const char *key, int32_t *val)
{
    char *s = NULL;
    int64_t v;

    if (!val) {
        herr_fail(EINVAL, "hdfsConfGetInt: no value pointer");
        return EINVAL;
    }
    int rc = hdfsConfGetStr(key, &s);
    if (rc || !s)
        return rc;
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    int bad;
    if (*p == '-') {               /* negative values: plain integers */
        char *end;
        errno = 0;
        long long n = strtoll(p, &end, 10);
        while (isspace((unsigned char)*end))
            end++;
        bad = errno || end == p || *end || n < INT32_MIN;
        v = n;
    } else {
        bad = parse_size(s, &v) != 0;
    }
    if (bad || v > INT32_MAX) {
        herr_fail(EINVAL, "hdfsConfGetInt(%s): %s is not a 32-bit integer", key, s);
        free(s);
        return EINVAL;
    }
    free(s);
    *val = (int32_t)v;
    return 0;
}

void hdfsConfStrFree(char *val)
{
    free(val);
}

/* --------------------------------------------------- working directory */

char *hdfsGetWorkingDirectory(hdfsFS fs, char *buffer, size_t bufferSize)
{
    char cwd[HPATH_MAX];
    int n;

    if (!fs || !buffer) {
        herr_fail(EINVAL, "hdfsGetWorkingDirectory: no file system or buffer");
        return NULL;
    }
    if (fs->local) {
        pthread_mutex_lock(&fs->lock);
        snprintf(cwd, sizeof(cwd), "%s", fs->local_cwd);
        pthread_mutex_unlock(&fs->lock);
    } else {
        int rc = dfs_get_working_directory(fs->dfs, cwd, sizeof(cwd));
        if (rc != DFS_OK) {
            herr_dfs(rc, "hdfsGetWorkingDirectory");
            return NULL;
        }
    }
    n = snprintf(buffer, bufferSize, "%s%s", fs->uri, cwd);
    if (n < 0 || (size_t)n >= bufferSize) {
        herr_fail(ENAMETOOLONG, "hdfsGetWorkingDirectory: %zu bytes are too few",
                  bufferSize);
        return NULL;
    }
    return buffer;
}

int hdfsSetWorkingDirectory(hdfsFS fs, const char *path)
{
    char abs[HPATH_MAX];

    if (!fs || !path)
        return herr_fail(EINVAL, "hdfsSetWorkingDirectory: no file system or path");
    if (hpath_absolute(fs, path, abs) != 0)
        return -1;
    if (fs->local) {
        pthread_mutex_lock(&fs->lock);
        snprintf(fs->local_cwd, sizeof(fs->local_cwd), "%s", abs);
        pthread_mutex_unlock(&fs->lock);
        return 0;
    }
    int rc = dfs_set_working_directory(fs->dfs, abs);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsSetWorkingDirectory(%s)", path);
    return 0;
}

/* ------------------------------------------------------- cluster view */

/* Capacity and used bytes of fs's cluster (or local file system). */
static int fs_status(hdfsFS fs, uint64_t *capacity, uint64_t *used)
{
    if (!fs)
        return herr_fail(EINVAL, "no file system");
    if (fs->local)
        return hlocal_statfs(capacity, used);
    struct dfs_cluster_report *r = NULL;
    int rc = dfs_cluster_report(fs->dfs, &r);
    if (rc != DFS_OK)
        return herr_dfs(rc, "cluster report");
    *capacity = r->capacity;
    *used = r->used;
    dfs_free_cluster_report(r);
    return 0;
}

tOffset hdfsGetCapacity(hdfsFS fs)
{
    uint64_t cap, used;
    if (fs_status(fs, &cap, &used) != 0)
        return -1;
    return cap > INT64_MAX ? INT64_MAX : (tOffset)cap;
}

tOffset hdfsGetUsed(hdfsFS fs)
{
    uint64_t cap, used;
    if (fs_status(fs, &cap, &used) != 0)
        return -1;
    return used > INT64_MAX ? INT64_MAX : (tOffset)used;
}

tOffset hdfsGetDefaultBlockSize(hdfsFS fs)
{
    uint64_t bs;

    if (!fs)
        return herr_fail(EINVAL, "hdfsGetDefaultBlockSize: no file system");
    if (fs->conf_block_size > 0)
        return fs->conf_block_size;
    if (fs->local)
        return (tOffset)HLOCAL_BLOCK_SIZE;
    int rc = dfs_get_default_block_size(fs->dfs, &bs);
    if (rc != DFS_OK)
        return herr_dfs(rc, "hdfsGetDefaultBlockSize");
    return (tOffset)bs;
}

tOffset hdfsGetDefaultBlockSizeAtPath(hdfsFS fs, const char *path)
{
    char abs[HPATH_MAX];

    if (!fs || !path)
        return herr_fail(EINVAL, "hdfsGetDefaultBlockSizeAtPath: no file system or path");
    /* One namespace per handle: any valid path has the handle's default. */
    if (hpath_absolute(fs, path, abs) != 0)
        return -1;
    return hdfsGetDefaultBlockSize(fs);
}

int hdfsGetHedgedReadMetrics(hdfsFS fs, struct hdfsHedgedReadMetrics **metrics)
{
    if (!fs || !metrics)
        return herr_fail(EINVAL, "hdfsGetHedgedReadMetrics: no file system");
    if (fs->local)
        return herr_fail(ENOTSUP, "hdfsGetHedgedReadMetrics: the local file system");
    struct hdfsHedgedReadMetrics *m = calloc(1, sizeof(*m));
    if (!m)
        return herr_fail(ENOMEM, "hdfsGetHedgedReadMetrics");
    *metrics = m;                          /* dfs never hedges: all zero */
    return 0;
}

void hdfsFreeHedgedReadMetrics(struct hdfsHedgedReadMetrics *metrics)
{
    free(metrics);
}
