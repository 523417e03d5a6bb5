/*
 * config.h - the configuration of every dfs program, from one table.
 *
 * One INI-style file (conf/dfs.conf) holds sections [namenode], [datanode]
 * and [client]; a key is named "section.key" on command lines (-o).  Every
 * key has a type, a default, bounds, a reload flag and a help line in the
 * table of config.c; the same table parses files and -o overrides, prints
 * the effective configuration and documents itself (dfs_conf_dump).
 *
 * File syntax: "# comment" or "; comment" lines, "[section]", "key = value"
 * (whitespace around both trimmed; no quoting).  An unknown section or key,
 * a value of the wrong type or out of bounds, or a line that is none of
 * these is an error whose message names the file, the line and the key:
 *
 *   /etc/dfs.conf:12: namenode.replication: value 0 out of range [1, 10]
 *   /etc/dfs.conf:7: unknown key 'namenode.replicaton'
 */
#ifndef DFS_CONFIG_H
#define DFS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Every field is set by the table of config.c; see there for defaults. */
struct dfs_conf {
    /* [namenode] */
    char *nn_address;             /* "HOST:PORT" RPC listen address */
    char *nn_http_address;        /* "HOST:PORT", "" = no HTTP */
    char *nn_meta_dir;            /* LevelDB + cluster id */
    uint32_t nn_replication;      /* default replication of new files */
    uint32_t nn_max_replication;
    uint64_t nn_block_size;       /* default block size of new files */
    uint64_t nn_min_block_size;
    uint32_t nn_min_replication;  /* replicas needed to complete a block */
    uint32_t nn_list_limit;       /* entries per list page */
    uint32_t nn_heartbeat_recheck_ms;  /* live -> stale -> dead check */
    uint32_t nn_stale_ms;         /* no heartbeat for this long: stale */
    uint32_t nn_dead_ms;          /* ... and this long: dead */
    char *nn_topology_file;       /* "ADDR RACK" lines, "" = one rack */
    char *nn_log_level;
    uint32_t nn_leveldb_cache_mb;
    uint32_t nn_cache_mb;         /* decoded inode/entry cache, 0 = off */
    uint32_t nn_max_connections;  /* RPC connections open at once */
    uint32_t nn_idle_timeout_ms;  /* close a connection silent this long */
    uint32_t nn_replication_interval_ms;  /* replication monitor period */
    uint32_t nn_replication_streams;      /* copies per source datanode */
    uint32_t nn_replication_timeout_ms;   /* a copy not reported: redone */
    char *nn_safemode_threshold;  /* fraction of blocks reported, "0.999" */
    uint32_t nn_safemode_extension_ms;
    uint32_t nn_lease_soft_ms;    /* another writer may take over after */
    uint32_t nn_lease_hard_ms;    /* the namenode recovers the file after */
    uint32_t nn_block_recovery_timeout_ms;  /* a recovery not done: redone */
    /* [datanode] */
    char *dn_address;             /* transfer listen "HOST:PORT" */
    char *dn_http_address;
    char *dn_data_dirs;           /* comma-separated list */
    char *dn_namenode;            /* "HOST:PORT" of the namenode */
    uint32_t dn_heartbeat_ms;
    uint32_t dn_block_report_split;  /* replicas per full report message */
    uint32_t dn_io_threads;       /* disk worker threads */
    uint32_t dn_copy_threads;     /* replica copy (re-replication) threads */
    uint64_t dn_reserved;         /* bytes per dir kept free */
    uint32_t dn_max_buffer;       /* per-connection buffer high watermark */
    uint32_t dn_max_connections;  /* transfer connections open at once */
    uint32_t dn_scan_period_s;    /* block scanner pass, 0 = no scanner */
    uint64_t dn_scan_bytes_per_s; /* block scanner read rate cap */
    uint32_t dn_failed_volumes_tolerated; /* failed data dirs before shutting down */
    uint32_t dn_volume_check_ms;  /* data dir probe interval */
    uint32_t dn_ack_timeout_ms;   /* downstream silent this long: failed */
    char *dn_domain_socket;       /* short-circuit UNIX socket path, "" = off */
    char *dn_log_level;
    /* [client] */
    char *cl_namenode;            /* "HOST:PORT" */
    char *cl_host;                /* connect from this IP address; "": any */
    uint32_t cl_chunk_size;       /* bytes per checksum */
    uint32_t cl_packet_size;      /* data bytes per packet */
    uint32_t cl_window;           /* unacked packets in flight */
    uint32_t cl_timeout_ms;
    uint32_t cl_ack_timeout_ms;   /* pipeline silent this long: failed */
    uint32_t cl_replace_datanode; /* ask for a replacement on failure */
    uint32_t cl_lease_renew_ms;   /* lease renewal period */
    uint32_t cl_replication;      /* 0 = namenode default */
    uint64_t cl_block_size;       /* 0 = namenode default */
    uint32_t cl_short_circuit;    /* 1: short-circuit reads of local replicas */
    uint32_t cl_short_circuit_cache; /* replicas' descriptors kept open */
};

/* Fill *c with the defaults of every key.  Free with dfs_conf_free().
 * Returns 0, or -1 when out of memory (then *c holds nothing to free). */
int dfs_conf_init(struct dfs_conf *c);
/* Free the strings of *c (which may be zeroed or failed-init memory). */
void dfs_conf_free(struct dfs_conf *c);

/* Load a file over *c: a key the file sets replaces its value, the last
 * line wins.  Returns 0, or -1 with a message "FILE:LINE: KEY: problem"
 * (or "FILE: strerror" when unreadable) in err[errsz]; on failure *c is
 * left exactly as it was. */
int dfs_conf_load_file(struct dfs_conf *c, const char *path, char *err, size_t errsz);
/* Apply one "section.key=value" override (from -o).  Returns 0 or -1 with
 * "KEY: problem" in err (*c unchanged). */
int dfs_conf_set(struct dfs_conf *c, const char *assignment, char *err, size_t errsz);
/* Check the rules that tie keys together (min_replication <= replication
 * <= max_replication, min_block_size <= block_size, stale_ms < dead_ms).
 * Call it once every source (file, environment, -o) has been applied.
 * Returns 0 or -1 with "KEY: problem" in err. */
int dfs_conf_check(const struct dfs_conf *c, char *err, size_t errsz);
/* The next three are the daemons' (server/conf_daemon.c: link
 * dfs_server_dep).
 *
 * SIGHUP: copy into *c the keys of `fresh` (a configuration loaded anew)
 * that the table marks reloadable.  A non-reloadable key whose value
 * differs is left unchanged and logged at WARN level ("restart to apply").
 * Returns the number of keys whose value changed, or -1 when out of memory
 * (then *c is unchanged). */
int dfs_conf_reload(struct dfs_conf *c, const struct dfs_conf *fresh);
/* Write the effective configuration as an INI file (every key, with its
 * help line as a comment) to fd.  Blocks on fd; errors are ignored. */
void dfs_conf_dump(const struct dfs_conf *c, int fd);
/* Write the shipped example file (conf/dfs.conf) to fd: every key
 * commented out at its default, below its help line. */
void dfs_conf_write_example(int fd);

/* Split "HOST:PORT" ("[v6]:PORT" too) into host[hostsz] and *port.
 * Returns 0 or -1 when malformed (empty host, unbracketed ':' in the host,
 * host longer than hostsz - 1) or the port is not in 0..65535.  host and
 * port may be NULL to validate only. */
int dfs_parse_hostport(const char *s, char *host, size_t hostsz, unsigned *port);
/* The port of a namenode address or URI that names none. */
#define DFS_NAMENODE_PORT 8020
/* A namenode address as users write it: "HOST", "HOST:PORT", "[V6]",
 * "[V6]:PORT", or a URI "dfs://" or "hdfs://" followed by one of those and
 * at most a trailing "/" (a scheme is matched ignoring case).  The port
 * defaults to DFS_NAMENODE_PORT; port 0 is refused.  Returns 0, or -1 with
 * the reason ("unsupported scheme 'http'") in err[errsz] (host and *port
 * untouched then).  host and port may be NULL to validate only. */
int dfs_parse_namenode(const char *s, char *host, size_t hostsz, unsigned *port,
                       char *err, size_t errsz);
/* Parse a size with an optional binary suffix: "128M", "1g", "4096", "64k"
 * (K, M, G, T in either case; nothing else around the digits).
 * Returns 0, or -1 on garbage or a value above UINT64_MAX. */
int dfs_parse_size(const char *s, uint64_t *out);

#endif
