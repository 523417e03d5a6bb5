/*
 * recover_check.c - integration-test helper for datanode/dn_recovery.c:
 * leads the recovery of one block against real datanodes with
 * dn_recovery_block, the function a datanode's recovery threads run for
 * CMD_RECOVER, and prints what it would commit to the namenode.
 *
 *   dfs-recover-check [-t TIMEOUT_MS] ID RECOVERY_GS HOST:PORT[=STORAGE_ID]...
 *
 * -t   per phase (default: DN_RECOVERY_TIMEOUT_MS)
 * Each target is a datanode's transfer address; STORAGE_ID (default
 * "target-N", N from 1 in the order given) is what the commit names.
 *
 * Prints "committed LENGTH on N: SID,SID..." (N may be 0: no replica
 * anywhere) or "not committed".  The recovery's log lines go to stderr.
 * Exit 0 when committed, 1 when not, 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dn_recovery.h"
#include "log.h"
#include "log_sink.h"

static int usage(void)
{
    fprintf(stderr, "usage: dfs-recover-check [-t TIMEOUT_MS] ID RECOVERY_GS "
                    "HOST:PORT[=STORAGE_ID]...\n");
    return 2;
}

static void on_commit(void *arg, uint64_t id, uint64_t gs, uint64_t len,
                      const char *const *storage_ids, size_t n)
{
    (void)id;
    (void)gs;
    *(int *)arg = 1;
    printf("committed %llu on %zu:", (unsigned long long)len, n);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? "," : " ", storage_ids[i]);
    printf("\n");
}

static int parse_u64(const char *s, unsigned long long *v)
{
    char *end;
    if (!*s)
        return -1;
    *v = strtoull(s, &end, 10);
    return *end ? -1 : 0;
}

int main(int argc, char **argv)
{
    int timeout_ms = 0;
    int a = 1;
    if (a + 1 < argc && strcmp(argv[a], "-t") == 0) {
        unsigned long long t;
        if (parse_u64(argv[a + 1], &t) != 0 || t == 0 || t > 3600000)
            return usage();
        timeout_ms = (int)t;
        a += 2;
    }
    unsigned long long id, gs;
    if (argc - a < 3 || parse_u64(argv[a], &id) != 0 || parse_u64(argv[a + 1], &gs) != 0)
        return usage();
    a += 2;

    size_t n = (size_t)(argc - a);
    Dfs__DatanodeId *ids = calloc(n, sizeof(*ids));
    Dfs__DatanodeId **ptrs = calloc(n, sizeof(*ptrs));
    char (*hosts)[256] = calloc(n, sizeof(*hosts));
    char (*sids)[64] = calloc(n, sizeof(*sids));
    if (!ids || !ptrs || !hosts || !sids) {
        fprintf(stderr, "dfs-recover-check: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        char addr[512];
        snprintf(addr, sizeof(addr), "%s", argv[a + (int)i]);
        char *eq = strchr(addr, '=');
        if (eq)
            *eq++ = '\0';
        snprintf(sids[i], sizeof(sids[i]), "%s", eq ? eq : "");
        if (!eq)
            snprintf(sids[i], sizeof(sids[i]), "target-%zu", i + 1);
        unsigned port;
        if (dfs_parse_hostport(addr, hosts[i], sizeof(hosts[i]), &port) != 0) {
            fprintf(stderr, "dfs-recover-check: bad address '%s'\n", addr);
            return usage();
        }
        dfs__datanode_id__init(&ids[i]);
        ids[i].host = hosts[i];
        ids[i].port = port;
        ids[i].storage_id = sids[i];
        ptrs[i] = &ids[i];
    }

    dfs_log_set_sink(dfs_log_stderr_sink, NULL);
    dfs_log_set_level(DFS_LOG_DEBUG);
    int committed = 0;
    dn_recovery_block(id, gs, 0, ptrs, n, timeout_ms, on_commit, &committed);
    if (!committed)
        printf("not committed\n");
    free(ids);
    free(ptrs);
    free(hosts);
    free(sids);
    return committed ? 0 : 1;
}
