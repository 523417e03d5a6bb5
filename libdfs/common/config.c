/*
 * config.c - the configuration table and everything driven by it (see
 * config.h).
 *
 * dfs_conf_table[] is the single source of truth: each row names a key, its
 * type, default, bounds, reload flag, the field of struct dfs_conf it sets
 * and its help line.  Defaults are strings parsed by the same code as the
 * file, so a default can never bypass the checks; loading and -o
 * overrides here, and the daemons' reload, dump and the shipped
 * conf/dfs.conf (server/conf_daemon.c) all come from the table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_i.h"
#include "log.h"
#include "frame.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define STR(sec, key, field, def, check, expect, flags, help) \
    { sec, key, CT_STRING, def, 0, 0, flags, \
      offsetof(struct dfs_conf, field), check, expect, help }
#define NUM(sec, key, type, field, def, min, max, flags, help) \
    { sec, key, type, def, min, max, flags, \
      offsetof(struct dfs_conf, field), NULL, NULL, help }

static int check_hostport(const char *v);
static int check_namenode(const char *v);

static int check_hostport_or_empty(const char *v);
static int check_ip_or_empty(const char *v);
static int check_nonempty(const char *v);
static int check_log_level(const char *v);
static int check_fraction(const char *v);
static int check_socket_path(const char *v);

const struct conf_def dfs_conf_table[] = {
    STR("namenode", "address", nn_address, "127.0.0.1:8020",
        check_hostport, "HOST:PORT", 0,
        "Address the namenode serves RPC on, HOST:PORT."),
    STR("namenode", "http_address", nn_http_address, "",
        check_hostport_or_empty, "HOST:PORT or nothing", 0,
        "Address of the status page and /metrics, HOST:PORT; empty: no HTTP."),
    STR("namenode", "meta_dir", nn_meta_dir, "/var/lib/dfs/name",
        check_nonempty, "a directory", 0,
        "Directory of the namespace database (LevelDB) and the cluster id."),
    NUM("namenode", "replication", CT_U32, nn_replication, "3", 1, 10, CF_RELOAD,
        "Replication of new files whose client does not choose one."),
    NUM("namenode", "max_replication", CT_U32, nn_max_replication, "10", 1, 10,
        CF_RELOAD, "Highest replication a file may ask for."),
    NUM("namenode", "block_size", CT_SIZE64, nn_block_size, "128M", MiB, 16 * GiB,
        CF_RELOAD, "Block size of new files whose client does not choose one."),
    NUM("namenode", "min_block_size", CT_SIZE64, nn_min_block_size, "1M", 4096,
        16 * GiB, CF_RELOAD, "Smallest block size a file may ask for."),
    NUM("namenode", "min_replication", CT_U32, nn_min_replication, "1", 1, 10,
        CF_RELOAD, "Replicas a block needs before its file can be completed."),
    NUM("namenode", "list_limit", CT_U32, nn_list_limit, "1000", 1, 100000,
        CF_RELOAD, "Entries per page of a directory listing."),
    NUM("namenode", "heartbeat_recheck_ms", CT_U32, nn_heartbeat_recheck_ms,
        "1000", 100, 600000, CF_RELOAD,
        "How often datanodes are checked for missed heartbeats, in ms."),
    NUM("namenode", "stale_ms", CT_U32, nn_stale_ms, "10000", 1000, 3600000,
        CF_RELOAD, "A datanode silent this long (ms) is stale: chosen last."),
    NUM("namenode", "dead_ms", CT_U32, nn_dead_ms, "30000", 1000, 86400000,
        CF_RELOAD,
        "A datanode silent this long (ms) is dead; its blocks are copied."),
    STR("namenode", "topology_file", nn_topology_file, "", NULL, NULL, CF_RELOAD,
        "File of 'ADDRESS RACK' lines placing datanodes; empty: one rack."),
    STR("namenode", "log_level", nn_log_level, "info",
        check_log_level, "one of error, warn, info, debug", CF_RELOAD,
        "Log level: error, warn, info or debug."),
    NUM("namenode", "leveldb_cache_mb", CT_U32, nn_leveldb_cache_mb, "64", 1, 65536,
        0, "LevelDB block cache, in MiB."),
    NUM("namenode", "cache_mb", CT_U32, nn_cache_mb, "128", 0, 1048576, 0,
        "Inodes and directory entries kept decoded in memory, in MiB; 0: off\n"
        "# (every path lookup then reads LevelDB)."),
    NUM("namenode", "max_connections", CT_U32, nn_max_connections, "4096", 16, 1000000,
        0, "RPC connections (clients and datanodes) served at once; one more is\n"
        "# closed as soon as it is accepted.  Lowered at start when the descriptor\n"
        "# limit cannot hold it beside LevelDB's files."),
    NUM("namenode", "idle_timeout_ms", CT_U32, nn_idle_timeout_ms, "300000", 1000,
        86400000, 0, "An RPC connection that sends nothing for this long is closed, in ms\n"
        "# (clients drop pooled connections idle for 30 s: keep it above that)."),
    NUM("namenode", "replication_interval_ms", CT_U32, nn_replication_interval_ms, "3000",
        100, 600000, CF_RELOAD,
        "How often the replication monitor looks at the blocks that changed and\n"
        "# schedules copies and deletions, in ms."),
    NUM("namenode", "replication_streams", CT_U32, nn_replication_streams, "4", 1, 1000,
        CF_RELOAD, "Copies a datanode sources at once when blocks are re-replicated."),
    NUM("namenode", "replication_timeout_ms", CT_U32, nn_replication_timeout_ms, "300000",
        1000, 86400000, CF_RELOAD,
        "A copy not reported by its targets within this many ms is given up and\n"
        "# scheduled again."),
    STR("namenode", "safemode_threshold", nn_safemode_threshold, "0.999", check_fraction,
        "a number from 0 to 1", CF_RELOAD,
        "After a start, the namenode stays in safe mode (read-only) until this\n"
        "# fraction of the blocks has a replica reported..."),
    NUM("namenode", "safemode_extension_ms", CT_U32, nn_safemode_extension_ms, "30000", 0,
        3600000, CF_RELOAD, "... and then this many ms more."),
    NUM("namenode", "lease_soft_ms", CT_U32, nn_lease_soft_ms, "60000", 100, 86400000,
        CF_RELOAD, "A writer that has not renewed its lease for this long (ms) may lose\n"
        "# its file under construction to another writer, which recovers it first."),
    NUM("namenode", "lease_hard_ms", CT_U32, nn_lease_hard_ms, "1200000", 100, 604800000,
        CF_RELOAD, "A writer silent this long (ms) loses its files: the namenode\n"
        "# recovers them (closed at the length every live replica holds; a\n"
        "# temporary file such as a put's ._COPYING_ is deleted instead)."),
    NUM("namenode", "block_recovery_timeout_ms", CT_U32, nn_block_recovery_timeout_ms,
        "30000", 100, 86400000, CF_RELOAD,
        "A block recovery not reported done within this many ms is started again\n"
        "# (new generation stamp, maybe another primary datanode)."),

    STR("datanode", "address", dn_address, "127.0.0.1:9866",
        check_hostport, "HOST:PORT", 0,
        "Address the datanode serves block transfers on, HOST:PORT."),
    STR("datanode", "http_address", dn_http_address, "",
        check_hostport_or_empty, "HOST:PORT or nothing", 0,
        "Address of the status page and /metrics, HOST:PORT; empty: no HTTP."),
    STR("datanode", "data_dirs", dn_data_dirs, "/var/lib/dfs/data",
        NULL, "a comma-separated list of directories", CF_LIST,
        "Comma-separated directories holding block replicas, one per disk."),
    STR("datanode", "namenode", dn_namenode, "127.0.0.1:8020",
        check_hostport, "HOST:PORT", 0,
        "RPC address of the namenode, HOST:PORT."),
    NUM("datanode", "heartbeat_ms", CT_U32, dn_heartbeat_ms, "3000", 100, 600000,
        CF_RELOAD, "Interval between heartbeats to the namenode, in ms."),
    NUM("datanode", "block_report_split", CT_U32, dn_block_report_split, "500000", 1,
        1000000, 0, "A full block report lists at most this many replicas per message;\n"
        "# a bigger one goes in parts (a message is at most 16 MiB)."),
    NUM("datanode", "io_threads", CT_U32, dn_io_threads, "4", 1, 64, 0,
        "Threads doing disk reads, writes and fsyncs."),
    NUM("datanode", "copy_threads", CT_U32, dn_copy_threads, "2", 1, 16, 0,
        "Threads copying replicas to other datanodes when the namenode asks\n"
        "# (re-replication); each copy is one pipeline write of ~1 MiB packets."),
    NUM("datanode", "reserved", CT_SIZE64, dn_reserved, "0", 0, UINT64_MAX,
        CF_RELOAD, "Space kept free on the disk of each data directory (10G)."),
    NUM("datanode", "max_buffer", CT_SIZE32, dn_max_buffer, "4M", 64 * KiB, GiB,
        0, "Bytes a transfer connection buffers before it stops reading."),
    NUM("datanode", "max_connections", CT_U32, dn_max_connections, "4096", 16, 1000000,
        0, "Transfer connections served at once; one more is closed as soon as it\n"
        "# is accepted.  Lowered at start when the descriptor limit cannot hold\n"
        "# it (a connection may hold 4: itself, downstream, data and meta file)."),
    NUM("datanode", "scan_period_s", CT_U32, dn_scan_period_s, "1814400", 1, 31536000,
        CF_ZERO_OK, "The block scanner re-reads every replica, checking its checksums,\n"
        "# once per this many seconds (1814400: 3 weeks, as HDFS), and reports\n"
        "# the corrupt ones to the namenode; 0: no block scanner.  Progress is\n"
        "# kept in scanner.cursor in the first data directory."),
    NUM("datanode", "scan_bytes_per_s", CT_SIZE64, dn_scan_bytes_per_s, "1M", KiB,
        1ull << 40, 0, "The block scanner reads at most this many bytes per second (and\n"
        "# no faster than spreads a pass over scan_period_s).  To turn the scanner\n"
        "# off, set scan_period_s = 0."),
    NUM("datanode", "failed_volumes_tolerated", CT_U32, dn_failed_volumes_tolerated, "0", 0,
        65535, 0, "Data dirs that may fail (I/O errors, read-only, gone) before the\n"
        "# datanode shuts down; one whose every dir failed always shuts down."),
    NUM("datanode", "volume_check_ms", CT_U32, dn_volume_check_ms, "10000", 100, 86400000,
        0, "Interval between probes of every data dir (stat, then create, write,\n"
        "# fdatasync and unlink a small file), in ms."),
    NUM("datanode", "ack_timeout_ms", CT_U32, dn_ack_timeout_ms, "15000", 100, 3600000, 0,
        "A pipeline datanode whose downstream neighbour acks nothing for this\n"
        "# long (ms, plus 5000 per further downstream node) reports it failed,\n"
        "# so the writer can rebuild the pipeline without it.  Keep it below\n"
        "# client.ack_timeout_ms."),
    STR("datanode", "domain_socket", dn_domain_socket, "",
        check_socket_path, "an absolute path of at most 107 bytes, or nothing", 0,
        "UNIX socket for short-circuit reads: a client on this host asks here for\n"
        "# the open block and checksum files of a replica and reads them itself\n"
        "# (still verifying every chunk).  The file is created at start (a dead\n"
        "# socket there is replaced; one another process listens on is an error)\n"
        "# and removed at shutdown; its directory must exist.  Empty: no\n"
        "# short-circuit reads from this datanode."),
    STR("datanode", "log_level", dn_log_level, "info",
        check_log_level, "one of error, warn, info, debug", CF_RELOAD,
        "Log level: error, warn, info or debug."),

    STR("client", "namenode", cl_namenode, "127.0.0.1:8020",
        check_namenode, "HOST[:PORT] or dfs://HOST[:PORT]", 0,
        "RPC address of the namenode: HOST:PORT, HOST (port 8020) or\n"
        "# a URI dfs://HOST:PORT (hdfs:// is accepted too)."),
    STR("client", "host", cl_host, "",
        check_ip_or_empty, "an IP address or nothing", 0,
        "This client's host as the cluster sees it, an IP address: every\n"
        "# connection to the namenode and the datanodes is made from it, and\n"
        "# only a datanode at exactly this address counts as local (preferred\n"
        "# for reads).  Empty: the system picks the source address, and a\n"
        "# datanode is local at the address the namenode sees us at (each\n"
        "# loopback address a host of its own).  $DFS_CLIENT_HOST overrides it."),
    NUM("client", "chunk_size", CT_SIZE32, cl_chunk_size, "16K", 512, 16 * MiB,
        CF_POW2, "Bytes per checksum in new blocks: a power of two, 512 to 16M.\n"
        "# 16K: the .meta file costs 0.05% of the data, one XXH3 call per chunk\n"
        "# runs near memory speed, and a small random read verifies at most\n"
        "# 16K extra (HDFS's 512 B with CRC32C costs 1.6% and a call per 512 B)."),
    NUM("client", "packet_size", CT_SIZE32, cl_packet_size, "64K", 4 * KiB,
        8 * MiB, 0, "Data bytes per packet written; a multiple of chunk_size."),
    NUM("client", "window", CT_U32, cl_window, "64", 1, 4096, 0,
        "Packets written but not yet acknowledged, at most."),
    NUM("client", "timeout_ms", CT_U32, cl_timeout_ms, "60000", 100, 3600000, 0,
        "Timeout of one RPC or one datanode operation, in ms."),
    NUM("client", "ack_timeout_ms", CT_U32, cl_ack_timeout_ms, "30000", 100, 3600000, 0,
        "A write pipeline that acks nothing for this long (ms) counts as failed\n"
        "# at its first datanode, which is then left out of the pipeline."),
    NUM("client", "replace_datanode_on_failure", CT_U32, cl_replace_datanode, "1", 0, 1, 0,
        "1: when a pipeline datanode fails, ask the namenode for a replacement\n"
        "# and copy the block's bytes so far to it; 0: go on with the survivors."),
    NUM("client", "lease_renew_ms", CT_U32, cl_lease_renew_ms, "20000", 100, 3600000, 0,
        "While files are open for writing, the client renews its lease this often\n"
        "# (ms); keep it well below namenode.lease_soft_ms."),
    NUM("client", "replication", CT_U32, cl_replication, "0", 0, 10, 0,
        "Replication of new files; 0: the namenode's default."),
    NUM("client", "short_circuit", CT_U32, cl_short_circuit, "1", 0, 1, 0,
        "1: read a replica on this host through the file descriptors its\n"
        "# datanode passes over its domain_socket (falling back to TCP when that\n"
        "# fails); 0: always read over TCP."),
    NUM("client", "short_circuit_cache", CT_U32, cl_short_circuit_cache, "256", 1, 65536, 0,
        "Replicas whose short-circuit descriptors a client keeps open (least\n"
        "# recently used ones are closed first); a datanode grants one client\n"
        "# connection at most 256 at once (more are read over TCP)."),
    NUM("client", "block_size", CT_SIZE64, cl_block_size, "0", MiB, 16 * GiB,
        CF_ZERO_OK, "Block size of new files, at least 1M; 0: the namenode's default."),
};

const size_t dfs_conf_nkeys = sizeof(dfs_conf_table) / sizeof(dfs_conf_table[0]);

/* ------------------------------------------------------------ parsing */

int dfs_parse_hostport(const char *s, char *host, size_t hostsz, unsigned *port)
{
    const char *h, *hend, *p;

    if (s == NULL)
        return -1;
    if (s[0] == '[') {
        h = s + 1;
        hend = strchr(h, ']');
        if (hend == NULL || hend[1] != ':')
            return -1;
        p = hend + 2;
    } else {
        h = s;
        hend = strchr(s, ':');
        if (hend == NULL || strchr(hend + 1, ':') != NULL)
            return -1;          /* none, or an unbracketed IPv6 address */
        p = hend + 1;
    }
    size_t hlen = (size_t)(hend - h);
    if (hlen == 0)
        return -1;
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch <= ' ' || ch == 0x7f || ch == '[' || ch == ']' || ch == '/')
            return -1;
    }

    unsigned long v = 0;
    size_t ndigits = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (++ndigits > 5)
            return -1;
        v = v * 10 + (unsigned long)(*p - '0');
    }
    if (ndigits == 0 || *p != '\0' || v > 65535)
        return -1;

    if (host != NULL) {
        if (hlen >= hostsz)
            return -1;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
    }
    if (port != NULL)
        *port = (unsigned)v;
    return 0;
}

int dfs_parse_namenode(const char *s, char *host, size_t hostsz, unsigned *port,
                       char *err, size_t errsz)
{
    char auth[300], h[256];
    unsigned p;

    if (s == NULL || *s == '\0') {
        snprintf(err, errsz, "empty namenode address");
        return -1;
    }
    const char *a = s;
    const char *sep = strstr(s, "://");
    if (sep != NULL) {
        size_t slen = (size_t)(sep - s);
        if (!((slen == 3 && strncasecmp(s, "dfs", 3) == 0) ||
              (slen == 4 && strncasecmp(s, "hdfs", 4) == 0))) {
            snprintf(err, errsz, "unsupported scheme '%.*s' in namenode URI '%s' "
                     "(expected dfs:// or hdfs://)", (int)(slen < 32 ? slen : 32), s, s);
            return -1;
        }
        a = sep + 3;
    }
    /* The authority ends at the first '/'; only a lone "/" may follow it. */
    size_t alen = strcspn(a, "/");
    if (a[alen] == '/' && (sep == NULL || a[alen + 1] != '\0')) {
        snprintf(err, errsz, sep ? "namenode URI '%s' has a path (only dfs://HOST[:PORT][/])"
                                 : "namenode address '%s' has a path (expected HOST[:PORT])", s);
        return -1;
    }
    if (alen == 0 || alen >= sizeof(auth) - 8) {
        snprintf(err, errsz, "namenode address '%s' has %s host", s, alen ? "too long a" : "no");
        return -1;
    }
    memcpy(auth, a, alen);
    auth[alen] = '\0';
    if (strpbrk(auth, "@?#") != NULL) {
        snprintf(err, errsz, "invalid namenode address '%s' (expected HOST[:PORT])", s);
        return -1;
    }
    /* No port: "HOST" or "[V6]" (an unbracketed ':' always starts one). */
    const char *colon = strrchr(auth, ':');
    int has_port = auth[0] == '[' ? auth[alen - 1] != ']' : colon != NULL;
    if (!has_port)
        snprintf(auth + alen, sizeof(auth) - alen, ":%u", DFS_NAMENODE_PORT);
    if (dfs_parse_hostport(auth, h, sizeof(h), &p) != 0 || p == 0) {
        snprintf(err, errsz, "invalid namenode address '%s' (expected HOST, HOST:PORT, "
                 "[IPV6]:PORT or dfs://HOST:PORT with a port of 1 to 65535)", s);
        return -1;
    }
    if (host != NULL) {
        if (strlen(h) >= hostsz) {
            snprintf(err, errsz, "namenode address '%s': host name too long", s);
            return -1;
        }
        memcpy(host, h, strlen(h) + 1);
    }
    if (port != NULL)
        *port = p;
    return 0;
}

/* A plain decimal number: digits only.  Returns 0, or -1 on anything else
 * or a value above UINT64_MAX; *end gets the first byte after the digits
 * when end is not NULL (then trailing bytes are the caller's business). */
static int parse_digits(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    const char *p = s;

    if (s == NULL || *p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (end != NULL)
        *end = p;
    else if (*p != '\0')
        return -1;
    *out = v;
    return 0;
}

int dfs_parse_size(const char *s, uint64_t *out)
{
    const char *p;
    uint64_t v;
    unsigned shift = 0;

    if (parse_digits(s, &v, &p) < 0)
        return -1;
    switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    case 't': case 'T': shift = 40; p++; break;
    default: break;
    }
    if (*p != '\0' || v > (UINT64_MAX >> shift))
        return -1;
    *out = v << shift;
    return 0;
}

/* A size the way a user writes it: the largest exact suffix ("128M"). */
static void format_size(uint64_t v, char *buf, size_t sz)
{
    static const char suffix[] = "KMGT";
    int i;

    for (i = 3; i >= 0; i--) {
        unsigned shift = 10u * (unsigned)(i + 1);
        if (v != 0 && (v & ((1ull << shift) - 1)) == 0) {
            snprintf(buf, sz, "%llu%c", (unsigned long long)(v >> shift), suffix[i]);
            return;
        }
    }
    snprintf(buf, sz, "%llu", (unsigned long long)v);
}

static int check_hostport(const char *v)
{
    return dfs_parse_hostport(v, NULL, 0, NULL) == 0;
}

/* The client's namenode: any form dfs_parse_namenode() takes. */
static int check_namenode(const char *v)
{
    char err[8];
    return dfs_parse_namenode(v, NULL, 0, NULL, err, sizeof(err)) == 0;
}

static int check_hostport_or_empty(const char *v)
{
    return v[0] == '\0' || check_hostport(v);
}

/* Empty, or an absolute path that fits a sockaddr_un's sun_path. */
static int check_socket_path(const char *v)
{
    return v[0] == '\0' || (v[0] == '/' && strlen(v) < 108);
}

static int check_ip_or_empty(const char *v)
{
    struct in6_addr a;
    return v[0] == '\0' || inet_pton(AF_INET, v, &a) == 1 || inet_pton(AF_INET6, v, &a) == 1;
}

static int check_nonempty(const char *v)
{
    return v[0] != '\0';
}

static int check_log_level(const char *v)
{
    return dfs_log_level_parse(v) >= 0;
}

static int check_fraction(const char *v)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    return errno == 0 && end != v && *end == '\0' && d >= 0.0 && d <= 1.0;
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' ||
           ch == '\v' || ch == '\f';
}

/* Trim s in place: returns the first non-space byte, cuts trailing ones. */
static char *trim(char *s)
{
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* Copy of a CF_LIST value with the spaces around its elements removed
 * ("a , b" -> "a,b"), or NULL with *bad set when an element is empty
 * (*bad clear: out of memory). */
static char *normalize_list(const char *v, int *bad)
{
    char *out = malloc(strlen(v) + 1), *w = out;

    *bad = 0;
    if (out == NULL)
        return NULL;
    for (const char *p = v;; p++) {
        const char *e = strchr(p, ',');
        if (e == NULL)
            e = p + strlen(p);
        const char *s = p;
        while (s < e && is_space(*s))
            s++;
        const char *t = e;
        while (t > s && is_space(t[-1]))
            t--;
        if (s == t) {
            *bad = 1;
            free(out);
            return NULL;
        }
        if (w != out)
            *w++ = ',';
        memcpy(w, s, (size_t)(t - s));
        w += t - s;
        if (*e == '\0')
            break;
        p = e;
    }
    *w = '\0';
    return out;
}

/* ------------------------------------------------------- table access */

void dfs_conf_format_num(const struct conf_def *d, uint64_t v, char *buf, size_t sz)
{
    if (d->type == CT_U32)
        snprintf(buf, sz, "%llu", (unsigned long long)v);
    else
        format_size(v, buf, sz);
}

static const struct conf_def *find_key(const char *section, size_t seclen,
                                       const char *key)
{
    for (size_t i = 0; i < dfs_conf_nkeys; i++) {
        const struct conf_def *d = &dfs_conf_table[i];
        if (strlen(d->section) == seclen && strncmp(d->section, section, seclen) == 0 &&
            strcmp(d->key, key) == 0)
            return d;
    }
    return NULL;
}

/* The table's own copy of a section name, or NULL when unknown. */
static const char *find_section(const char *name)
{
    for (size_t i = 0; i < dfs_conf_nkeys; i++)
        if (strcmp(dfs_conf_table[i].section, name) == 0)
            return dfs_conf_table[i].section;
    return NULL;
}

/* Parse v for key d and store it in *c.  Returns 0, or -1 with the problem
 * ("value 0 out of range [1, 10]") in why, *c unchanged. */
static int set_value(struct dfs_conf *c, const struct conf_def *d, const char *v,
                     char *why, size_t whysz)
{
    char lo[32], hi[32];
    uint64_t x;

    if (d->type == CT_STRING) {
        char *copy;
        for (const char *p = v; *p != '\0'; p++) {
            if ((unsigned char)*p < 0x20 || *p == 0x7f) {
                snprintf(why, whysz, "invalid value (contains a control character)");
                return -1;
            }
        }
        if (d->check != NULL && !d->check(v)) {
            snprintf(why, whysz, "invalid value '%s' (expected %s)", v, d->expect);
            return -1;
        }
        if (d->flags & CF_LIST) {
            int bad;
            copy = normalize_list(v, &bad);
            if (copy == NULL && bad) {
                snprintf(why, whysz, "invalid value '%s' (expected %s)", v, d->expect);
                return -1;
            }
        } else {
            copy = strdup(v);
        }
        if (copy == NULL) {
            snprintf(why, whysz, "out of memory");
            return -1;
        }
        free(*dfs_conf_str_field(c, d));
        *dfs_conf_str_field(c, d) = copy;
        return 0;
    }

    dfs_conf_format_num(d, d->min, lo, sizeof(lo));
    dfs_conf_format_num(d, d->max, hi, sizeof(hi));
    int bad = d->type == CT_U32 ? parse_digits(v, &x, NULL) : dfs_parse_size(v, &x);
    if (d->flags & CF_POW2) {
        if (bad < 0 || x < d->min || x > d->max || (x & (x - 1)) != 0) {
            snprintf(why, whysz, "invalid value '%s' (expected a power of two "
                     "between %s and %s)", v, lo, hi);
            return -1;
        }
    } else if (bad < 0) {
        snprintf(why, whysz, "invalid value '%s' (expected %s)", v,
                 d->type == CT_U32 ? "an integer" : "a size such as 64K or 128M");
        return -1;
    }
    if ((x < d->min || x > d->max) && !(x == 0 && (d->flags & CF_ZERO_OK))) {
        snprintf(why, whysz, "value %s out of range [%s, %s]", v, lo, hi);
        return -1;
    }
    dfs_conf_set_num(c, d, x);
    return 0;
}

/* ------------------------------------------------------ whole structs */

int dfs_conf_init(struct dfs_conf *c)
{
    char why[256];

    memset(c, 0, sizeof(*c));
    for (size_t i = 0; i < dfs_conf_nkeys; i++) {
        if (set_value(c, &dfs_conf_table[i], dfs_conf_table[i].def, why, sizeof(why)) < 0) {
            dfs_conf_free(c);
            return -1;
        }
    }
    return 0;
}

void dfs_conf_free(struct dfs_conf *c)
{
    for (size_t i = 0; i < dfs_conf_nkeys; i++) {
        if (dfs_conf_table[i].type == CT_STRING) {
            char **f = dfs_conf_str_field(c, &dfs_conf_table[i]);
            free(*f);
            *f = NULL;
        }
    }
}

/* Deep copy of src into dst.  Returns 0 or -1 when out of memory (dst then
 * holds nothing to free). */
static int conf_copy(struct dfs_conf *dst, const struct dfs_conf *src)
{
    memcpy(dst, src, sizeof(*dst));
    for (size_t i = 0; i < dfs_conf_nkeys; i++)
        if (dfs_conf_table[i].type == CT_STRING)
            *dfs_conf_str_field(dst, &dfs_conf_table[i]) = NULL;
    for (size_t i = 0; i < dfs_conf_nkeys; i++) {
        const struct conf_def *d = &dfs_conf_table[i];
        if (d->type != CT_STRING)
            continue;
        char *s = strdup(dfs_conf_str_value(src, d));
        if (s == NULL) {
            dfs_conf_free(dst);
            return -1;
        }
        *dfs_conf_str_field(dst, d) = s;
    }
    return 0;
}

/* ---------------------------------------------------------- the file */

/* One line of a file (trimmed of nothing yet).  *section is the current
 * section (NULL before the first header).  Returns 0 or -1 with the
 * problem, without the "FILE:LINE: " prefix, in why. */
static int parse_line(struct dfs_conf *c, char *line, const char **section,
                      char *why, size_t whysz)
{
    char *s = trim(line);

    if (*s == '\0' || *s == '#' || *s == ';')
        return 0;
    if (*s == '[') {
        size_t n = strlen(s);
        if (s[n - 1] != ']') {
            snprintf(why, whysz, "expected '[section]'");
            return -1;
        }
        s[n - 1] = '\0';
        char *name = trim(s + 1);
        const char *known = find_section(name);
        if (known == NULL) {
            snprintf(why, whysz, "unknown section '%s'", name);
            return -1;
        }
        *section = known;
        return 0;
    }

    char *eq = strchr(s, '=');
    if (eq == NULL || eq == s) {
        snprintf(why, whysz, "expected 'key = value'");
        return -1;
    }
    *eq = '\0';
    char *key = trim(s), *val = trim(eq + 1);
    if (*section == NULL) {
        snprintf(why, whysz, "key outside of any section");
        return -1;
    }
    const struct conf_def *d = find_key(*section, strlen(*section), key);
    if (d == NULL) {
        snprintf(why, whysz, "unknown key '%s.%s'", *section, key);
        return -1;
    }
    char problem[512];
    if (set_value(c, d, val, problem, sizeof(problem)) < 0) {
        snprintf(why, whysz, "%s.%s: %s", d->section, d->key, problem);
        return -1;
    }
    return 0;
}

int dfs_conf_load_file(struct dfs_conf *c, const char *path, char *err, size_t errsz)
{
    struct dfs_conf tmp;
    const char *section = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned lineno = 0;
    int rc = 0;

    FILE *f = fopen(path, "re");
    if (f == NULL) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (conf_copy(&tmp, c) < 0) {
        snprintf(err, errsz, "%s: %s", path, strerror(ENOMEM));
        fclose(f);
        return -1;
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        char why[768];
        char *s = line;

        lineno++;
        if (lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
            s += 3;     /* UTF-8 byte order mark */
        if (strlen(line) != (size_t)len) {
            snprintf(err, errsz, "%s:%u: unexpected NUL byte", path, lineno);
            rc = -1;
            break;
        }
        if (parse_line(&tmp, s, &section, why, sizeof(why)) < 0) {
            snprintf(err, errsz, "%s:%u: %s", path, lineno, why);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(f);
    if (rc < 0) {
        dfs_conf_free(&tmp);
        return -1;
    }
    dfs_conf_free(c);
    *c = tmp;
    return 0;
}

int dfs_conf_set(struct dfs_conf *c, const char *assignment, char *err, size_t errsz)
{
    char *copy = strdup(assignment);
    int rc = -1;

    if (copy == NULL) {
        snprintf(err, errsz, "%s", strerror(ENOMEM));
        return -1;
    }
    char *eq = strchr(copy, '=');
    if (eq == NULL) {
        snprintf(err, errsz, "expected SECTION.KEY=VALUE");
        goto out;
    }
    *eq = '\0';
    char *name = trim(copy), *val = trim(eq + 1);
    char *dot = strchr(name, '.');
    if (*name == '\0') {
        snprintf(err, errsz, "expected SECTION.KEY=VALUE");
        goto out;
    }
    const struct conf_def *d =
        dot != NULL ? find_key(name, (size_t)(dot - name), dot + 1) : NULL;
    if (d == NULL) {
        snprintf(err, errsz, "unknown key '%s'", name);
        goto out;
    }
    char problem[512];
    if (set_value(c, d, val, problem, sizeof(problem)) < 0) {
        snprintf(err, errsz, "%s.%s: %s", d->section, d->key, problem);
        goto out;
    }
    rc = 0;
out:
    free(copy);
    return rc;
}

int dfs_conf_check(const struct dfs_conf *c, char *err, size_t errsz)
{
    char a[32], b[32];

    if (c->nn_replication > c->nn_max_replication) {
        snprintf(err, errsz, "namenode.replication: value %u is above "
                 "namenode.max_replication (%u)", c->nn_replication,
                 c->nn_max_replication);
        return -1;
    }
    if (c->nn_min_replication > c->nn_replication) {
        snprintf(err, errsz, "namenode.min_replication: value %u is above "
                 "namenode.replication (%u)", c->nn_min_replication,
                 c->nn_replication);
        return -1;
    }
    if (c->nn_block_size < c->nn_min_block_size) {
        format_size(c->nn_block_size, a, sizeof(a));
        format_size(c->nn_min_block_size, b, sizeof(b));
        snprintf(err, errsz, "namenode.block_size: value %s is below "
                 "namenode.min_block_size (%s)", a, b);
        return -1;
    }
    if (c->nn_dead_ms <= c->nn_stale_ms) {
        snprintf(err, errsz, "namenode.dead_ms: value %u is not above "
                 "namenode.stale_ms (%u)", c->nn_dead_ms, c->nn_stale_ms);
        return -1;
    }
    if (c->cl_chunk_size == 0 || c->cl_packet_size % c->cl_chunk_size != 0) {
        format_size(c->cl_packet_size, a, sizeof(a));
        format_size(c->cl_chunk_size, b, sizeof(b));
        snprintf(err, errsz, "client.packet_size: value %s is not a multiple "
                 "of client.chunk_size (%s)", a, b);
        return -1;
    }
    uint64_t body = DFS_PKT_HDR_LEN +
                    8ull * (c->cl_packet_size / c->cl_chunk_size) + c->cl_packet_size;
    if (body > DFS_FRAME_MAX_PACKET) {
        format_size(c->cl_packet_size, a, sizeof(a));
        format_size(DFS_FRAME_MAX_PACKET, b, sizeof(b));
        snprintf(err, errsz, "client.packet_size: value %s with its header and "
                 "checksums exceeds the packet frame limit (%s)", a, b);
        return -1;
    }
    return 0;
}
