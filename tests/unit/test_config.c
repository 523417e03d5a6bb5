/*
 * test_config.c - the configuration table: defaults, parsers, files, -o
 * overrides, their error messages, dump round trips, reload, and that
 * conf/dfs.conf is exactly what the table generates.
 *
 *   test_config                  run the tests
 *   test_config --write-example  print conf/dfs.conf as the table makes it
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"

static char tmpdir[64];

/* Write text to a file of tmpdir; returns its path (static buffer). */
static const char *write_file(const char *name, const char *text, size_t len)
{
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fwrite(text, 1, len, f);
    fclose(f);
    return path;
}

static const char *write_conf(const char *text)
{
    return write_file("t.conf", text, strlen(text));
}

/* Load text as a file over defaults; returns the rc, message in err. */
static int load_text(struct dfs_conf *c, const char *text, char *err, size_t errsz)
{
    return dfs_conf_load_file(c, write_conf(text), err, errsz);
}

/* The error of loading text over defaults, without the "PATH:" prefix. */
static const char *load_error(const char *text)
{
    static char msg[1024];
    char err[1024] = "";
    struct dfs_conf c;
    char prefix[256];

    dfs_conf_init(&c);
    if (load_text(&c, text, err, sizeof(err)) == 0) {
        dfs_conf_free(&c);
        return "(loaded)";
    }
    dfs_conf_free(&c);
    snprintf(prefix, sizeof(prefix), "%s/t.conf:", tmpdir);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        return err[0] ? "(no file prefix)" : "(empty message)";
    snprintf(msg, sizeof(msg), "%s", err + strlen(prefix));
    return msg;
}

/* The error of one -o assignment over defaults ("" when accepted). */
static const char *set_error(const char *assignment)
{
    static char err[1024];
    struct dfs_conf c;

    dfs_conf_init(&c);
    err[0] = '\0';
    if (dfs_conf_set(&c, assignment, err, sizeof(err)) == 0)
        snprintf(err, sizeof(err), "(accepted)");
    dfs_conf_free(&c);
    return err;
}

static void test_defaults(void)
{
    struct dfs_conf c;

    CHECK_EQ_INT(dfs_conf_init(&c), 0);
    CHECK_EQ_STR(c.nn_address, "127.0.0.1:8020");
    CHECK_EQ_STR(c.nn_http_address, "");
    CHECK_EQ_STR(c.nn_meta_dir, "/var/lib/dfs/name");
    CHECK_EQ_INT(c.nn_replication, 3);
    CHECK_EQ_INT(c.nn_max_replication, 10);
    CHECK_EQ_INT(c.nn_block_size, 128ull << 20);
    CHECK_EQ_INT(c.nn_min_block_size, 1ull << 20);
    CHECK_EQ_INT(c.nn_min_replication, 1);
    CHECK_EQ_INT(c.nn_list_limit, 1000);
    CHECK_EQ_INT(c.nn_heartbeat_recheck_ms, 1000);
    CHECK_EQ_INT(c.nn_stale_ms, 10000);
    CHECK_EQ_INT(c.nn_dead_ms, 30000);
    CHECK_EQ_STR(c.nn_topology_file, "");
    CHECK_EQ_STR(c.nn_log_level, "info");
    CHECK_EQ_INT(c.nn_leveldb_cache_mb, 64);
    CHECK_EQ_STR(c.dn_address, "127.0.0.1:9866");
    CHECK_EQ_STR(c.dn_http_address, "");
    CHECK_EQ_STR(c.dn_data_dirs, "/var/lib/dfs/data");
    CHECK_EQ_STR(c.dn_namenode, "127.0.0.1:8020");
    CHECK_EQ_INT(c.dn_heartbeat_ms, 3000);
    CHECK_EQ_INT(c.dn_io_threads, 4);
    CHECK_EQ_INT(c.dn_reserved, 0);
    CHECK_EQ_INT(c.dn_max_buffer, 4u << 20);
    CHECK_EQ_STR(c.dn_log_level, "info");
    CHECK_EQ_STR(c.cl_namenode, "127.0.0.1:8020");
    CHECK_EQ_INT(c.cl_chunk_size, 16384);
    CHECK_EQ_INT(c.cl_packet_size, 65536);
    CHECK_EQ_INT(c.cl_window, 64);
    CHECK_EQ_INT(c.cl_timeout_ms, 60000);
    CHECK_EQ_INT(c.cl_replication, 0);
    CHECK_EQ_INT(c.cl_block_size, 0);

    char err[256] = "";
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), 0);
    CHECK_EQ_STR(err, "");
    dfs_conf_free(&c);
    dfs_conf_free(&c);          /* twice is harmless */
}

static void test_parse_size(void)
{
    uint64_t v = 12345;

    CHECK(dfs_parse_size("128M", &v) == 0 && v == 128ull << 20);
    CHECK(dfs_parse_size("1g", &v) == 0 && v == 1ull << 30);
    CHECK(dfs_parse_size("4096", &v) == 0 && v == 4096);
    CHECK(dfs_parse_size("64k", &v) == 0 && v == 65536);
    CHECK(dfs_parse_size("64K", &v) == 0 && v == 65536);
    CHECK(dfs_parse_size("2T", &v) == 0 && v == 2ull << 40);
    CHECK(dfs_parse_size("0", &v) == 0 && v == 0);
    CHECK(dfs_parse_size("007", &v) == 0 && v == 7);
    CHECK(dfs_parse_size("18446744073709551615", &v) == 0 && v == UINT64_MAX);
    CHECK(dfs_parse_size("16777215T", &v) == 0 && v == 16777215ull << 40);

    v = 99;
    CHECK_EQ_INT(dfs_parse_size("18446744073709551616", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("99999999999999999999999", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("16777216T", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("17179869184G", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("M", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("abc", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("12X", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("1KB", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("1.5M", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("-1", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("+1", &v), -1);
    CHECK_EQ_INT(dfs_parse_size(" 1", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("1 ", &v), -1);
    CHECK_EQ_INT(dfs_parse_size("0x10", &v), -1);
    CHECK_EQ_INT(v, 99);        /* untouched on failure */
}

static void test_parse_namenode(void)
{
    char host[64], err[256];
    unsigned port = 1;
    static const struct { const char *in, *host; unsigned port; } good[] = {
        { "127.0.0.1:8021", "127.0.0.1", 8021 },
        { "nn.example.com", "nn.example.com", DFS_NAMENODE_PORT },
        { "[::1]:9000", "::1", 9000 },
        { "[::1]", "::1", DFS_NAMENODE_PORT },
        { "dfs://h:1234", "h", 1234 },
        { "dfs://h:1234/", "h", 1234 },
        { "dfs://h", "h", DFS_NAMENODE_PORT },
        { "dfs://h/", "h", DFS_NAMENODE_PORT },
        { "hdfs://h:9", "h", 9 },
        { "HDFS://h", "h", DFS_NAMENODE_PORT },
        { "dfs://[fe80::1]:77/", "fe80::1", 77 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK_EQ_INT(dfs_parse_namenode(good[i].in, host, sizeof(host), &port, err,
                                        sizeof(err)), 0);
        CHECK_EQ_STR(host, good[i].host);
        CHECK_EQ_INT(port, good[i].port);
    }
    static const struct { const char *in, *why; } bad[] = {
        { "", "empty" },
        { "http://h:80", "unsupported scheme 'http'" },
        { "file:///tmp", "unsupported scheme 'file'" },
        { "dfs://h:80/user", "has a path" },
        { "dfs://h:80//", "has a path" },
        { "h:80/x", "has a path" },
        { "h/", "has a path" },
        { "dfs://", "no host" },
        { "dfs:///", "no host" },
        { "h:", "invalid namenode address" },
        { "h:0", "invalid namenode address" },
        { "h:65536", "invalid namenode address" },
        { "::1", "invalid namenode address" },
        { "[::1", "invalid namenode address" },
        { "u@h:80", "invalid namenode address" },
        { "dfs://h:80?x", "invalid namenode address" },
        { "a b", "invalid namenode address" },
    };
    port = 5;
    strcpy(host, "untouched");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK_EQ_INT(dfs_parse_namenode(bad[i].in, host, sizeof(host), &port, err,
                                        sizeof(err)), -1);
        CHECK(strstr(err, bad[i].why) != NULL);
    }
    CHECK_EQ_INT(dfs_parse_namenode(NULL, host, sizeof(host), &port, err, sizeof(err)), -1);
    CHECK_EQ_STR(host, "untouched");
    CHECK_EQ_INT(port, 5);
    CHECK_EQ_INT(dfs_parse_namenode("longhostname", host, 5, &port, err, sizeof(err)), -1);
    CHECK_EQ_INT(dfs_parse_namenode("dfs://x:1", NULL, 0, NULL, err, sizeof(err)), 0);
}

static void test_parse_hostport(void)
{
    char host[64];
    unsigned port = 1;

    CHECK_EQ_INT(dfs_parse_hostport("127.0.0.1:8020", host, sizeof(host), &port), 0);
    CHECK_EQ_STR(host, "127.0.0.1");
    CHECK_EQ_INT(port, 8020);
    CHECK_EQ_INT(dfs_parse_hostport("[::1]:9866", host, sizeof(host), &port), 0);
    CHECK_EQ_STR(host, "::1");
    CHECK_EQ_INT(port, 9866);
    CHECK_EQ_INT(dfs_parse_hostport("node-1.example.com:0", host, sizeof(host), &port), 0);
    CHECK_EQ_STR(host, "node-1.example.com");
    CHECK_EQ_INT(port, 0);
    CHECK_EQ_INT(dfs_parse_hostport("h:65535", host, sizeof(host), &port), 0);
    CHECK_EQ_INT(port, 65535);
    CHECK_EQ_INT(dfs_parse_hostport("h:00080", host, sizeof(host), &port), 0);
    CHECK_EQ_INT(port, 80);
    CHECK_EQ_INT(dfs_parse_hostport("h:1", NULL, 0, NULL), 0);

    port = 7;
    strcpy(host, "untouched");
    CHECK_EQ_INT(dfs_parse_hostport("h:65536", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("h:999999", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport(":80", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("h:", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("h", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("::1:80", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("h:80:81", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("[::1]80", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("[::1:80", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("[]:80", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("h:80x", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("h:-1", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("h:+1", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("a b:80", host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport(NULL, host, sizeof(host), &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("longhostname:80", host, 5, &port), -1);
    CHECK_EQ_INT(dfs_parse_hostport("abcd:80", host, 5, &port), 0);
    CHECK_EQ_STR(host, "abcd");
    CHECK_EQ_INT(port, 80);
}

static void test_load_file(void)
{
    struct dfs_conf c;
    char err[1024] = "";

    dfs_conf_init(&c);
    int rc = load_text(&c,
        "\xef\xbb\xbf# a comment\n"
        "; another comment\n"
        "\n"
        "[namenode]\n"
        "  replication   =   2  \n"
        "block_size=64M\n"
        "address = [::1]:8021\r\n"
        "meta_dir = /srv/dfs name\n"
        "http_address =\n"
        "log_level = debug\n"
        "replication = 4\n"          /* a later line wins */
        "[ datanode ]\n"
        "data_dirs = /d1 , /d2,/d 3\n"
        "reserved = 10G\n"
        "max_buffer = 65536\n"
        "[client]\n"
        "chunk_size = 512\n"
        "packet_size = 8K\n"
        "block_size = 0\n"
        "replication = 0\n"
        "[namenode]\n"
        "list_limit = 100000", err, sizeof(err));   /* no final newline */
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_STR(err, "");
    CHECK_EQ_INT(c.nn_replication, 4);
    CHECK_EQ_INT(c.nn_block_size, 64ull << 20);
    CHECK_EQ_STR(c.nn_address, "[::1]:8021");
    CHECK_EQ_STR(c.nn_meta_dir, "/srv/dfs name");
    CHECK_EQ_STR(c.nn_http_address, "");
    CHECK_EQ_STR(c.nn_log_level, "debug");
    CHECK_EQ_STR(c.dn_data_dirs, "/d1,/d2,/d 3");
    CHECK_EQ_INT(c.dn_reserved, 10ull << 30);
    CHECK_EQ_INT(c.dn_max_buffer, 65536);
    CHECK_EQ_INT(c.cl_chunk_size, 512);
    CHECK_EQ_INT(c.cl_packet_size, 8192);
    CHECK_EQ_INT(c.nn_list_limit, 100000);
    /* untouched keys keep their values */
    CHECK_EQ_INT(c.nn_max_replication, 10);
    CHECK_EQ_STR(c.dn_address, "127.0.0.1:9866");

    /* A second file applies over the first. */
    rc = load_text(&c, "[client]\nwindow = 4096\n", err, sizeof(err));
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(c.cl_window, 4096);
    CHECK_EQ_INT(c.nn_replication, 4);

    /* An empty file changes nothing. */
    CHECK_EQ_INT(load_text(&c, "", err, sizeof(err)), 0);
    CHECK_EQ_INT(c.cl_window, 4096);

    /* A failing file leaves every value as it was, even those its earlier
     * lines set. */
    rc = load_text(&c, "[namenode]\nreplication = 7\nmeta_dir = /x\nbogus = 1\n",
                   err, sizeof(err));
    CHECK_EQ_INT(rc, -1);
    CHECK_EQ_INT(c.nn_replication, 4);
    CHECK_EQ_STR(c.nn_meta_dir, "/srv/dfs name");
    dfs_conf_free(&c);
}

static void test_file_errors(void)
{
    CHECK_EQ_STR(load_error("[namenode]\nreplication = 0\n"),
                 "2: namenode.replication: value 0 out of range [1, 10]");
    CHECK_EQ_STR(load_error("[namenode]\n\n\nreplication = 11\n"),
                 "4: namenode.replication: value 11 out of range [1, 10]");
    CHECK_EQ_STR(load_error("[namenode]\nreplication = 99999999999999999999\n"),
                 "2: namenode.replication: invalid value '99999999999999999999' "
                 "(expected an integer)");
    CHECK_EQ_STR(load_error("[namenode]\nreplication = three\n"),
                 "2: namenode.replication: invalid value 'three' (expected an integer)");
    CHECK_EQ_STR(load_error("[namenode]\nreplication = -1\n"),
                 "2: namenode.replication: invalid value '-1' (expected an integer)");
    CHECK_EQ_STR(load_error("[namenode]\nreplication =\n"),
                 "2: namenode.replication: invalid value '' (expected an integer)");
    CHECK_EQ_STR(load_error("[namenode]\nreplication = 3 # three\n"),
                 "2: namenode.replication: invalid value '3 # three' "
                 "(expected an integer)");
    CHECK_EQ_STR(load_error("[namenode]\nblock_size = big\n"),
                 "2: namenode.block_size: invalid value 'big' "
                 "(expected a size such as 64K or 128M)");
    CHECK_EQ_STR(load_error("[namenode]\nblock_size = 32G\n"),
                 "2: namenode.block_size: value 32G out of range [1M, 16G]");
    CHECK_EQ_STR(load_error("[namenode]\nblock_size = 1023K\n"),
                 "2: namenode.block_size: value 1023K out of range [1M, 16G]");
    CHECK_EQ_STR(load_error("[namenode]\nmin_block_size = 4095\n"),
                 "2: namenode.min_block_size: value 4095 out of range [4K, 16G]");
    CHECK_EQ_STR(load_error("[namenode]\naddress = localhost\n"),
                 "2: namenode.address: invalid value 'localhost' (expected HOST:PORT)");
    CHECK_EQ_STR(load_error("[namenode]\naddress = h:70000\n"),
                 "2: namenode.address: invalid value 'h:70000' (expected HOST:PORT)");
    CHECK_EQ_STR(load_error("[namenode]\naddress =\n"),
                 "2: namenode.address: invalid value '' (expected HOST:PORT)");
    CHECK_EQ_STR(load_error("[namenode]\nhttp_address = :80\n"),
                 "2: namenode.http_address: invalid value ':80' "
                 "(expected HOST:PORT or nothing)");
    CHECK_EQ_STR(load_error("[namenode]\nmeta_dir =\n"),
                 "2: namenode.meta_dir: invalid value '' (expected a directory)");
    CHECK_EQ_STR(load_error("[namenode]\nlog_level = verbose\n"),
                 "2: namenode.log_level: invalid value 'verbose' "
                 "(expected one of error, warn, info, debug)");
    CHECK_EQ_STR(load_error("[namenode]\ntopology_file = a\tb\n"),
                 "2: namenode.topology_file: invalid value "
                 "(contains a control character)");
    CHECK_EQ_STR(load_error("[datanode]\ndata_dirs = /a,,/b\n"),
                 "2: datanode.data_dirs: invalid value '/a,,/b' "
                 "(expected a comma-separated list of directories)");
    CHECK_EQ_STR(load_error("[datanode]\ndata_dirs = /a,\n"),
                 "2: datanode.data_dirs: invalid value '/a,' "
                 "(expected a comma-separated list of directories)");
    CHECK_EQ_STR(load_error("[datanode]\ndata_dirs = , /a\n"),
                 "2: datanode.data_dirs: invalid value ', /a' "
                 "(expected a comma-separated list of directories)");
    CHECK_EQ_STR(load_error("[datanode]\ndata_dirs =\n"),
                 "2: datanode.data_dirs: invalid value '' "
                 "(expected a comma-separated list of directories)");
    CHECK_EQ_STR(load_error("[datanode]\nmax_buffer = 2G\n"),
                 "2: datanode.max_buffer: value 2G out of range [64K, 1G]");
    CHECK_EQ_STR(load_error("[datanode]\nmax_buffer = 5T\n"),
                 "2: datanode.max_buffer: value 5T out of range [64K, 1G]");
    CHECK_EQ_STR(load_error("[datanode]\nio_threads = 65\n"),
                 "2: datanode.io_threads: value 65 out of range [1, 64]");
    CHECK_EQ_STR(load_error("[client]\nchunk_size = 1000\n"),
                 "2: client.chunk_size: invalid value '1000' "
                 "(expected a power of two between 512 and 16M)");
    CHECK_EQ_STR(load_error("[client]\nchunk_size = 32M\n"),
                 "2: client.chunk_size: invalid value '32M' "
                 "(expected a power of two between 512 and 16M)");
    CHECK_EQ_STR(load_error("[client]\nchunk_size = 256\n"),
                 "2: client.chunk_size: invalid value '256' "
                 "(expected a power of two between 512 and 16M)");
    CHECK_EQ_STR(load_error("[client]\nchunk_size = x\n"),
                 "2: client.chunk_size: invalid value 'x' "
                 "(expected a power of two between 512 and 16M)");
    CHECK_EQ_STR(load_error("[client]\nchunk_size = 16M\n"), "(loaded)");
    CHECK_EQ_STR(load_error("[client]\nblock_size = 512K\n"),
                 "2: client.block_size: value 512K out of range [1M, 16G]");
    CHECK_EQ_STR(load_error("[client]\nblock_size = 1M\n"), "(loaded)");
    CHECK_EQ_STR(load_error("[client]\nreplication = 11\n"),
                 "2: client.replication: value 11 out of range [0, 10]");

    CHECK_EQ_STR(load_error("[namenode]\nreplicaton = 3\n"),
                 "2: unknown key 'namenode.replicaton'");
    CHECK_EQ_STR(load_error("[datanode]\nlist_limit = 3\n"),
                 "2: unknown key 'datanode.list_limit'");
    CHECK_EQ_STR(load_error("[namenode]\nReplication = 3\n"),
                 "2: unknown key 'namenode.Replication'");
    CHECK_EQ_STR(load_error("# hi\n[namenod]\n"), "2: unknown section 'namenod'");
    CHECK_EQ_STR(load_error("[]\n"), "1: unknown section ''");
    CHECK_EQ_STR(load_error("[namenode\n"), "1: expected '[section]'");
    CHECK_EQ_STR(load_error("replication = 3\n"), "1: key outside of any section");
    CHECK_EQ_STR(load_error("[client]\nwindow 3\n"), "2: expected 'key = value'");
    CHECK_EQ_STR(load_error("[client]\n= 3\n"), "2: expected 'key = value'");
    CHECK_EQ_STR(load_error("[client]\n  = 3\n"), "2: expected 'key = value'");

    /* The value keeps any '=' after the first. */
    CHECK_EQ_STR(load_error("[namenode]\nmeta_dir = /a=b\n"), "(loaded)");

    /* A NUL byte in a line. */
    struct dfs_conf c;
    char err[512];
    dfs_conf_init(&c);
    const char *p = write_file("nul.conf", "[client]\nwindow = 1\0 2\n", 22);
    CHECK_EQ_INT(dfs_conf_load_file(&c, p, err, sizeof(err)), -1);
    CHECK(strstr(err, "nul.conf:2: ") != NULL);
    CHECK_EQ_INT(c.cl_window, 64);
    dfs_conf_free(&c);
}

static void test_unreadable(void)
{
    struct dfs_conf c;
    char err[512], want[512];

    dfs_conf_init(&c);
    snprintf(want, sizeof(want), "%s/missing.conf", tmpdir);
    CHECK_EQ_INT(dfs_conf_load_file(&c, want, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s/missing.conf: No such file or directory", tmpdir);
    CHECK_EQ_STR(err, want);

    CHECK_EQ_INT(dfs_conf_load_file(&c, tmpdir, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s: Is a directory", tmpdir);
    CHECK_EQ_STR(err, want);

    /* A tiny error buffer truncates, it does not overflow. */
    char small[8];
    memset(small, 'x', sizeof(small));
    CHECK_EQ_INT(dfs_conf_load_file(&c, "/nonexistent/dfs.conf", small, sizeof(small)), -1);
    CHECK_EQ_STR(small, "/nonexi");
    CHECK_EQ_INT(c.nn_replication, 3);
    dfs_conf_free(&c);
}

static void test_set(void)
{
    struct dfs_conf c;
    char err[512] = "";

    dfs_conf_init(&c);
    CHECK_EQ_INT(dfs_conf_set(&c, "namenode.replication=2", err, sizeof(err)), 0);
    CHECK_EQ_INT(c.nn_replication, 2);
    CHECK_EQ_INT(dfs_conf_set(&c, " client.block_size = 256m ", err, sizeof(err)), 0);
    CHECK_EQ_INT(c.cl_block_size, 256ull << 20);
    CHECK_EQ_INT(dfs_conf_set(&c, "datanode.data_dirs=/a,/b", err, sizeof(err)), 0);
    CHECK_EQ_STR(c.dn_data_dirs, "/a,/b");
    CHECK_EQ_INT(dfs_conf_set(&c, "namenode.http_address=", err, sizeof(err)), 0);
    CHECK_EQ_STR(c.nn_http_address, "");
    CHECK_EQ_INT(dfs_conf_set(&c, "namenode.http_address=0.0.0.0:9870", err, sizeof(err)), 0);
    CHECK_EQ_STR(c.nn_http_address, "0.0.0.0:9870");
    CHECK_EQ_INT(dfs_conf_set(&c, "namenode.meta_dir=/x=y", err, sizeof(err)), 0);
    CHECK_EQ_STR(c.nn_meta_dir, "/x=y");
    /* A refused value changes nothing. */
    CHECK_EQ_INT(dfs_conf_set(&c, "namenode.replication=0", err, sizeof(err)), -1);
    CHECK_EQ_INT(c.nn_replication, 2);
    CHECK_EQ_INT(dfs_conf_set(&c, "namenode.address=nope", err, sizeof(err)), -1);
    CHECK_EQ_STR(c.nn_address, "127.0.0.1:8020");
    dfs_conf_free(&c);

    CHECK_EQ_STR(set_error("namenode.replication=0"),
                 "namenode.replication: value 0 out of range [1, 10]");
    CHECK_EQ_STR(set_error("namenode.replication=x"),
                 "namenode.replication: invalid value 'x' (expected an integer)");
    CHECK_EQ_STR(set_error("namenode.block_size=1Q"),
                 "namenode.block_size: invalid value '1Q' "
                 "(expected a size such as 64K or 128M)");
    CHECK_EQ_STR(set_error("client.namenode=host:"),
                 "client.namenode: invalid value 'host:' "
                 "(expected HOST[:PORT] or dfs://HOST[:PORT])");
    CHECK_EQ_STR(set_error("client.namenode=dfs://host"), "(accepted)");
    CHECK_EQ_STR(set_error("datanode.namenode=host"),
                 "datanode.namenode: invalid value 'host' (expected HOST:PORT)");
    CHECK_EQ_STR(set_error("client.chunk_size=3000"),
                 "client.chunk_size: invalid value '3000' "
                 "(expected a power of two between 512 and 16M)");
    CHECK_EQ_STR(set_error("x.y=1"), "unknown key 'x.y'");
    CHECK_EQ_STR(set_error("namenode.nope=1"), "unknown key 'namenode.nope'");
    CHECK_EQ_STR(set_error("replication=1"), "unknown key 'replication'");
    CHECK_EQ_STR(set_error("namenode.=1"), "unknown key 'namenode.'");
    CHECK_EQ_STR(set_error("namenode.replication"), "expected SECTION.KEY=VALUE");
    CHECK_EQ_STR(set_error("=3"), "expected SECTION.KEY=VALUE");
    CHECK_EQ_STR(set_error(""), "expected SECTION.KEY=VALUE");
    CHECK_EQ_STR(set_error("datanode.io_threads=64"), "(accepted)");
}

static void test_check(void)
{
    struct dfs_conf c;
    char err[512];

    dfs_conf_init(&c);
    dfs_conf_set(&c, "namenode.max_replication=2", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), -1);
    CHECK_EQ_STR(err, "namenode.replication: value 3 is above namenode.max_replication (2)");
    dfs_conf_set(&c, "namenode.replication=2", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), 0);

    dfs_conf_set(&c, "namenode.min_replication=3", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), -1);
    CHECK_EQ_STR(err, "namenode.min_replication: value 3 is above namenode.replication (2)");
    dfs_conf_set(&c, "namenode.min_replication=2", err, sizeof(err));

    dfs_conf_set(&c, "namenode.min_block_size=256M", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), -1);
    CHECK_EQ_STR(err, "namenode.block_size: value 128M is below namenode.min_block_size (256M)");
    dfs_conf_set(&c, "namenode.min_block_size=128M", err, sizeof(err));

    dfs_conf_set(&c, "namenode.dead_ms=10000", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), -1);
    CHECK_EQ_STR(err, "namenode.dead_ms: value 10000 is not above namenode.stale_ms (10000)");
    dfs_conf_set(&c, "namenode.dead_ms=10001", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), 0);

    dfs_conf_set(&c, "client.packet_size=4K", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), -1);
    CHECK_EQ_STR(err, "client.packet_size: value 4K is not a multiple of client.chunk_size (16K)");
    dfs_conf_set(&c, "client.packet_size=100K", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), -1);
    dfs_conf_set(&c, "client.packet_size=128K", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), 0);

    /* The largest packet must still fit a packet frame with its checksums. */
    dfs_conf_set(&c, "client.packet_size=8M", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), -1);
    CHECK(strstr(err, "client.packet_size: value 8M") == err);
    dfs_conf_set(&c, "client.packet_size=4M", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_check(&c, err, sizeof(err)), 0);
    dfs_conf_free(&c);
}

/* Dump c to a file and load it over defaults into *out. */
static int dump_and_load(const struct dfs_conf *c, struct dfs_conf *out)
{
    char path[256], err[512];

    snprintf(path, sizeof(path), "%s/dump.conf", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -1;
    dfs_conf_dump(c, fd);
    close(fd);
    dfs_conf_init(out);
    int rc = dfs_conf_load_file(out, path, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "dump reload: %s\n", err);
    return rc;
}

static void test_dump_round_trip(void)
{
    struct dfs_conf c, d;
    char err[512];
    static const char *const sets[] = {
        "namenode.address=[::1]:1", "namenode.http_address=0.0.0.0:9870",
        "namenode.meta_dir=/m d", "namenode.replication=5",
        "namenode.max_replication=6", "namenode.block_size=1000000000",
        "namenode.min_block_size=4096", "namenode.min_replication=2",
        "namenode.list_limit=7", "namenode.heartbeat_recheck_ms=100",
        "namenode.stale_ms=1000", "namenode.dead_ms=86400000",
        "namenode.topology_file=/etc/topo", "namenode.log_level=warn",
        "namenode.leveldb_cache_mb=65536", "datanode.address=dn:1",
        "datanode.http_address=dn:2", "datanode.data_dirs=/a, /b",
        "datanode.namenode=nn:3", "datanode.heartbeat_ms=600000",
        "datanode.io_threads=1", "datanode.reserved=18446744073709551615",
        "datanode.max_buffer=1G", "datanode.log_level=error",
        "client.namenode=nn:4", "client.chunk_size=512",
        "client.packet_size=8M", "client.window=1", "client.timeout_ms=100",
        "client.replication=10", "client.block_size=16G",
    };

    dfs_conf_init(&c);
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
        int rc = dfs_conf_set(&c, sets[i], err, sizeof(err));
        CHECK_EQ_INT(rc, 0);
        if (rc != 0)
            fprintf(stderr, "%s: %s\n", sets[i], err);
    }
    CHECK_EQ_INT(dump_and_load(&c, &d), 0);
    CHECK_EQ_STR(d.nn_address, "[::1]:1");
    CHECK_EQ_STR(d.nn_http_address, "0.0.0.0:9870");
    CHECK_EQ_STR(d.nn_meta_dir, "/m d");
    CHECK_EQ_INT(d.nn_replication, 5);
    CHECK_EQ_INT(d.nn_max_replication, 6);
    CHECK_EQ_INT(d.nn_block_size, 1000000000);
    CHECK_EQ_INT(d.nn_min_block_size, 4096);
    CHECK_EQ_INT(d.nn_min_replication, 2);
    CHECK_EQ_INT(d.nn_list_limit, 7);
    CHECK_EQ_INT(d.nn_heartbeat_recheck_ms, 100);
    CHECK_EQ_INT(d.nn_stale_ms, 1000);
    CHECK_EQ_INT(d.nn_dead_ms, 86400000);
    CHECK_EQ_STR(d.nn_topology_file, "/etc/topo");
    CHECK_EQ_STR(d.nn_log_level, "warn");
    CHECK_EQ_INT(d.nn_leveldb_cache_mb, 65536);
    CHECK_EQ_STR(d.dn_address, "dn:1");
    CHECK_EQ_STR(d.dn_http_address, "dn:2");
    CHECK_EQ_STR(d.dn_data_dirs, "/a,/b");
    CHECK_EQ_STR(d.dn_namenode, "nn:3");
    CHECK_EQ_INT(d.dn_heartbeat_ms, 600000);
    CHECK_EQ_INT(d.dn_io_threads, 1);
    CHECK(d.dn_reserved == UINT64_MAX);
    CHECK_EQ_INT(d.dn_max_buffer, 1u << 30);
    CHECK_EQ_STR(d.dn_log_level, "error");
    CHECK_EQ_STR(d.cl_namenode, "nn:4");
    CHECK_EQ_INT(d.cl_chunk_size, 512);
    CHECK_EQ_INT(d.cl_packet_size, 8u << 20);
    CHECK_EQ_INT(d.cl_window, 1);
    CHECK_EQ_INT(d.cl_timeout_ms, 100);
    CHECK_EQ_INT(d.cl_replication, 10);
    CHECK_EQ_INT(d.cl_block_size, 16ull << 30);
    dfs_conf_free(&d);
    dfs_conf_free(&c);

    /* The dump of the defaults loads back to the defaults, and shows sizes
     * with their suffix. */
    dfs_conf_init(&c);
    CHECK_EQ_INT(dump_and_load(&c, &d), 0);
    CHECK_EQ_INT(d.nn_block_size, c.nn_block_size);
    CHECK_EQ_STR(d.dn_data_dirs, c.dn_data_dirs);
    dfs_conf_free(&d);
    dfs_conf_free(&c);

    char path[256], text[16384];
    snprintf(path, sizeof(path), "%s/dump.conf", tmpdir);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
    if (f)
        fclose(f);
    text[n] = '\0';
    CHECK(strstr(text, "\n[namenode]\n") != NULL);
    CHECK(strstr(text, "\n[datanode]\n") != NULL);
    CHECK(strstr(text, "\n[client]\n") != NULL);
    CHECK(strstr(text, "\nblock_size = 128M\n") != NULL);
    CHECK(strstr(text, "\nhttp_address =\n") != NULL);
    CHECK(strstr(text, "\n# Replication of new files") != NULL);
}

static void test_reload(void)
{
    struct dfs_conf c, fresh;
    char err[512];

    dfs_conf_init(&c);
    dfs_conf_init(&fresh);
    CHECK_EQ_INT(dfs_conf_reload(&c, &fresh), 0);
    dfs_conf_set(&fresh, "namenode.log_level=debug", err, sizeof(err));
    dfs_conf_set(&fresh, "namenode.stale_ms=20000", err, sizeof(err));
    dfs_conf_set(&fresh, "namenode.dead_ms=60000", err, sizeof(err));
    dfs_conf_set(&fresh, "namenode.address=0.0.0.0:9000", err, sizeof(err));
    dfs_conf_set(&fresh, "datanode.io_threads=8", err, sizeof(err));
    CHECK_EQ_INT(dfs_conf_reload(&c, &fresh), 3);
    CHECK_EQ_STR(c.nn_log_level, "debug");
    CHECK_EQ_INT(c.nn_stale_ms, 20000);
    CHECK_EQ_INT(c.nn_dead_ms, 60000);
    CHECK_EQ_STR(c.nn_address, "127.0.0.1:8020");   /* needs a restart */
    CHECK_EQ_INT(c.dn_io_threads, 4);
    CHECK(c.nn_log_level != fresh.nn_log_level);     /* its own copy */
    CHECK_EQ_INT(dfs_conf_reload(&c, &fresh), 0);
    dfs_conf_free(&fresh);
    dfs_conf_free(&c);
}

/* conf/dfs.conf, found from the source path of this file (meson runs the
 * tests from the build directory) or $DFS_SOURCE_DIR. */
static FILE *open_shipped_conf(char *path, size_t pathsz)
{
    const char *src = getenv("DFS_SOURCE_DIR");
    FILE *f;

    if (src != NULL) {
        snprintf(path, pathsz, "%s/conf/dfs.conf", src);
        if ((f = fopen(path, "r")) != NULL)
            return f;
    }
    const char *me = __FILE__;
    const char *slash = strrchr(me, '/');
    int dirlen = slash != NULL ? (int)(slash - me) : 1;
    snprintf(path, pathsz, "%.*s/../../conf/dfs.conf", dirlen, slash ? me : ".");
    return fopen(path, "r");
}

static void test_shipped_conf(void)
{
    char path[1024], shipped[32768], made[32768];
    size_t ns, nm;

    FILE *f = open_shipped_conf(path, sizeof(path));
    CHECK(f != NULL);
    if (f == NULL) {
        fprintf(stderr, "cannot open conf/dfs.conf (%s): set DFS_SOURCE_DIR\n", path);
        return;
    }
    ns = fread(shipped, 1, sizeof(shipped) - 1, f);
    fclose(f);
    shipped[ns] = '\0';

    /* It loads, and yields the defaults. */
    struct dfs_conf c, d;
    char err[512];
    dfs_conf_init(&c);
    dfs_conf_init(&d);
    CHECK_EQ_INT(dfs_conf_load_file(&c, path, err, sizeof(err)), 0);
    CHECK_EQ_INT(dfs_conf_reload(&d, &c), 0);
    dfs_conf_free(&c);
    dfs_conf_free(&d);

    /* It is exactly what the table generates: every key, at its default,
     * below its help line. */
    int fds[2];
    if (pipe(fds) < 0) {
        CHECK(0);
        return;
    }
    dfs_conf_write_example(fds[1]);     /* ~4K: fits the pipe buffer */
    close(fds[1]);
    nm = 0;
    ssize_t r;
    while ((r = read(fds[0], made + nm, sizeof(made) - 1 - nm)) > 0)
        nm += (size_t)r;
    close(fds[0]);
    made[nm] = '\0';
    CHECK(nm > 1000);
    CHECK(strstr(made, "\n# replication = 3\n") != NULL);
    CHECK(strstr(made, "\n# chunk_size = 16K\n") != NULL);
    CHECK_EQ_INT(ns, nm);
    CHECK(strcmp(shipped, made) == 0);
    if (strcmp(shipped, made) != 0)
        fprintf(stderr, "%s differs from the configuration table; regenerate "
                "it with: build/tests/test_config --write-example > conf/dfs.conf\n",
                path);
}

static void rm_tmpdir(void)
{
    static const char *const names[] = { "t.conf", "nul.conf", "dump.conf" };
    char path[256];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--write-example") == 0) {
        dfs_conf_write_example(1);
        return 0;
    }
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dfs-test-config.XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_parse_size();
    test_parse_hostport();
    test_parse_namenode();
    test_load_file();
    test_file_errors();
    test_unreadable();
    test_set();
    test_check();
    test_dump_round_trip();
    test_reload();
    test_shipped_conf();
    rm_tmpdir();
    return check_summary();
}
