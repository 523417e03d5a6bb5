/*
 * hdfs_cluster.c - the cluster through libhdfs: hdfsGetHosts and
 * hdfsFreeHosts, hdfsGetDefaultBlockSize(AtPath), hdfsGetCapacity and
 * hdfsGetUsed.  Run against a cluster of 3 datanodes.
 *
 *   hdfs_cluster NAMENODE [LOCALDIR]
 */
#include "expect.h"

#define MiB (1024 * 1024)

static const char *base = "/libhdfs/cluster";

/* Blocks in hosts (the NULL-terminated array of hdfsGetHosts), each
 * checked to hold between 1 and maxhosts non-empty names. */
static int count_blocks(char ***hosts, int maxhosts)
{
    int i, j;

    for (i = 0; hosts[i]; i++) {
        for (j = 0; hosts[i][j]; j++)
            EXPECT(hosts[i][j][0] != '\0');
        EXPECT(j >= 1 && j <= maxhosts);
    }
    return i;
}

static void test_hosts(hdfsFS fs)
{
    char path[256];
    char ***hosts;
    size_t len = 2 * MiB + 4000;

    snprintf(path, sizeof(path), "%s/three-blocks", base);
    EXPECT_ZERO(th_write_file(fs, path, len, 1, 3, MiB));

    hosts = hdfsGetHosts(fs, path, 0, (tOffset)len);
    EXPECT(hosts != NULL);
    if (hosts) {
        EXPECT_INT_EQ(3, count_blocks(hosts, 3));
        /* Replication 3 on 3 datanodes: every block everywhere. */
        EXPECT(hosts[0] && hosts[0][0] && hosts[0][1] && hosts[0][2]);
        hdfsFreeHosts(hosts);
    }
    /* One byte in the second block; a range over the last two. */
    hosts = hdfsGetHosts(fs, path, MiB + 5, 1);
    EXPECT(hosts != NULL);
    if (hosts) {
        EXPECT_INT_EQ(1, count_blocks(hosts, 3));
        hdfsFreeHosts(hosts);
    }
    hosts = hdfsGetHosts(fs, path, MiB + 5, MiB);
    EXPECT(hosts != NULL);
    if (hosts) {
        EXPECT_INT_EQ(2, count_blocks(hosts, 3));
        hdfsFreeHosts(hosts);
    }

    /* Replication 1: one host per block. */
    snprintf(path, sizeof(path), "%s/one-replica", base);
    EXPECT_ZERO(th_write_file(fs, path, 1000, 2, 1, 0));
    hosts = hdfsGetHosts(fs, path, 0, 1000);
    EXPECT(hosts != NULL);
    if (hosts) {
        EXPECT_INT_EQ(1, count_blocks(hosts, 1));
        hdfsFreeHosts(hosts);
    }

    /* An empty file has no blocks: an empty list, not a failure. */
    snprintf(path, sizeof(path), "%s/empty", base);
    EXPECT_ZERO(th_write_file(fs, path, 0, 1, 0, 0));
    hosts = hdfsGetHosts(fs, path, 0, 100);
    EXPECT(hosts != NULL);
    if (hosts) {
        EXPECT(hosts[0] == NULL);
        hdfsFreeHosts(hosts);
    }

    snprintf(path, sizeof(path), "%s/missing", base);
    EXPECT_NULL_ERRNO(hdfsGetHosts(fs, path, 0, 1), ENOENT);
}

static void test_block_size(hdfsFS fs)
{
    char path[256];
    hdfsFileInfo *info;
    tOffset bs;

    bs = hdfsGetDefaultBlockSize(fs);
    EXPECT(bs > 0);
    /* The path need not exist. */
    EXPECT_INT_EQ(bs, hdfsGetDefaultBlockSizeAtPath(fs, "/no/such/dir/f"));
    EXPECT_INT_EQ(bs, hdfsGetDefaultBlockSizeAtPath(fs, base));

    /* A file created with block size 0 gets the default. */
    snprintf(path, sizeof(path), "%s/default-bs", base);
    EXPECT_ZERO(th_write_file(fs, path, 10, 1, 0, 0));
    info = hdfsGetPathInfo(fs, path);
    EXPECT(info != NULL);
    if (info) {
        EXPECT_INT_EQ(bs, info->mBlockSize);
        EXPECT_INT_EQ(3, info->mReplication);
        hdfsFreeFileInfo(info, 1);
    }
    /* And one created with a block size keeps it. */
    snprintf(path, sizeof(path), "%s/two-mib-bs", base);
    EXPECT_ZERO(th_write_file(fs, path, 10, 1, 0, 2 * MiB));
    info = hdfsGetPathInfo(fs, path);
    if (info) {
        EXPECT_INT_EQ(2 * MiB, info->mBlockSize);
        hdfsFreeFileInfo(info, 1);
    }
}

static void test_capacity(hdfsFS fs)
{
    tOffset cap, used;

    cap = hdfsGetCapacity(fs);
    used = hdfsGetUsed(fs);
    EXPECT(cap > 0);
    EXPECT(used >= 0);
    EXPECT(used <= cap);
}

int main(int argc, char **argv)
{
    struct th_args a;
    hdfsFS fs;

    th_args(argc, argv, &a);
    fs = REQUIRE_NONNULL(hdfsConnect(a.host, a.port));
    if (hdfsExists(fs, base) == 0)
        EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsCreateDirectory(fs, base));

    test_hosts(fs);
    test_block_size(fs);
    test_capacity(fs);

    EXPECT_ZERO(hdfsDelete(fs, base, 1));
    EXPECT_ZERO(hdfsDisconnect(fs));
    th_done();
}
