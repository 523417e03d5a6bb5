/*
 * nn_call.c - integration-test helper: one namenode RPC from the command
 * line, its answer printed as one line of JSON.  It speaks as a writer
 * (create, addblock, complete, renew, update, append, recover), a reader
 * (locations) or a datanode (register, heartbeat, commitsync), so a test
 * can drive the namenode's lease and recovery machinery without the rest
 * of the cluster.
 *
 *   dfs-nn-call HOST:PORT create PATH CLIENT [temporary] [overwrite]
 *   dfs-nn-call HOST:PORT addblock PATH INODE CLIENT [PREV_ID PREV_GS PREV_LEN]
 *   dfs-nn-call HOST:PORT complete PATH INODE CLIENT [ID GS LEN]
 *   dfs-nn-call HOST:PORT renew CLIENT
 *   dfs-nn-call HOST:PORT update PATH INODE CLIENT ID GS KEEP EXCLUDE NREPL
 *   dfs-nn-call HOST:PORT append PATH CLIENT
 *   dfs-nn-call HOST:PORT recover PATH CLIENT
 *   dfs-nn-call HOST:PORT locations PATH
 *   dfs-nn-call HOST:PORT register SID PORT [ID:GS:LEN[:rbw]]...
 *   dfs-nn-call HOST:PORT heartbeat SID [FSYNCS]
 *   dfs-nn-call HOST:PORT commitsync ID GS LEN [SID,...]
 *   dfs-nn-call HOST:PORT report
 *
 * KEEP and EXCLUDE are comma-separated storage ids, "-" for none.  Every
 * answer has "status" (0 = OK) and "error"; the other keys follow the
 * response message.  Exit 0 when the call was answered (whatever its
 * status), 1 on a transport error, 2 on usage errors.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfs.h"
#include "dfs.pb-c.h"
#include "frame.h"
#include "rpc.h"

static struct dfs_rpc *rpc;

static int usage(void)
{
    fprintf(stderr, "usage: dfs-nn-call HOST:PORT CMD ARGS... (see tests/tools/nn_call.c)\n");
    return 2;
}

static uint64_t num(const char *s)
{
    return strtoull(s, NULL, 10);
}

/* Print s as a JSON string. */
static void jstr(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

/* Split a comma list ("-": none) into a malloc'd array of pointers into s. */
static char **split(char *s, size_t *n)
{
    char **v = calloc(64, sizeof(*v));
    *n = 0;
    if (strcmp(s, "-") == 0)
        return v;
    for (char *tok = strtok(s, ","); tok && *n < 64; tok = strtok(NULL, ","))
        v[(*n)++] = tok;
    return v;
}

static void print_locs(Dfs__DatanodeId **locs, size_t n)
{
    printf("[");
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? ", " : "");
        jstr(locs[i]->storage_id);
    }
    printf("]");
}

static void print_located(const Dfs__LocatedBlock *lb)
{
    printf("{\"id\": %" PRIu64 ", \"gs\": %" PRIu64 ", \"length\": %" PRIu64 ", \"offset\": %"
           PRIu64 ", \"uc\": %s, \"locs\": ", lb->block->id, lb->block->genstamp,
           lb->block->length, lb->offset, lb->under_construction ? "true" : "false");
    print_locs(lb->locs, lb->n_locs);
    printf("}");
}

static void print_stat(const Dfs__FileStatus *st)
{
    printf("{\"inode\": %" PRIu64 ", \"length\": %" PRIu64 ", \"complete\": %s}", st->inode,
           st->length, st->complete ? "true" : "false");
}

/* Make the call; print status and error; *resp for the rest (NULL on a
 * transport error: exits 1). */
static ProtobufCMessage *call(uint16_t type, const ProtobufCMessage *req,
                              const ProtobufCMessageDescriptor *desc)
{
    ProtobufCMessage *resp = NULL;
    int rc = dfs_rpc_call(rpc, type, req, desc, &resp);
    if (!resp) {
        fprintf(stderr, "dfs-nn-call: %s\n", dfs_errmsg());
        exit(1);
    }
    printf("{\"status\": %d, \"error\": ", rc);
    jstr(rc ? dfs_errmsg() : "");
    return resp;
}

static void done(ProtobufCMessage *resp)
{
    printf("}\n");
    protobuf_c_message_free_unpacked(resp, NULL);
}

static int cmd_create(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    Dfs__CreateReq req = DFS__CREATE_REQ__INIT;
    req.path = argv[0];
    req.client = argv[1];
    req.has_mode = 1;
    req.mode = 0644;
    req.has_open_for_write = req.has_parents = req.has_overwrite = req.has_temporary = 1;
    req.open_for_write = req.parents = 1;
    for (int i = 2; i < argc; i++) {
        req.temporary |= strcmp(argv[i], "temporary") == 0;
        req.overwrite |= strcmp(argv[i], "overwrite") == 0;
    }
    Dfs__CreateResp *r = (Dfs__CreateResp *)call(DFS_MSG_CREATE_REQ, &req.base,
                                                 &dfs__create_resp__descriptor);
    if (r->st)
        printf(", \"inode\": %" PRIu64, r->st->inode);
    done(&r->base);
    return 0;
}

static int cmd_addblock(int argc, char **argv)
{
    if (argc != 3 && argc != 6)
        return usage();
    Dfs__AddBlockReq req = DFS__ADD_BLOCK_REQ__INIT;
    Dfs__ExtendedBlock prev = DFS__EXTENDED_BLOCK__INIT;
    req.path = argv[0];
    req.inode = num(argv[1]);
    req.client = argv[2];
    if (argc == 6) {
        prev.id = num(argv[3]);
        prev.genstamp = num(argv[4]);
        prev.has_length = 1;
        prev.length = num(argv[5]);
        req.previous = &prev;
    }
    Dfs__AddBlockResp *r = (Dfs__AddBlockResp *)call(DFS_MSG_ADDBLOCK_REQ, &req.base,
                                                     &dfs__add_block_resp__descriptor);
    if (r->block) {
        printf(", \"block\": ");
        print_located(r->block);
    }
    done(&r->base);
    return 0;
}

static int cmd_complete(int argc, char **argv)
{
    if (argc != 3 && argc != 6)
        return usage();
    Dfs__CompleteReq req = DFS__COMPLETE_REQ__INIT;
    Dfs__ExtendedBlock last = DFS__EXTENDED_BLOCK__INIT;
    req.path = argv[0];
    req.inode = num(argv[1]);
    req.client = argv[2];
    if (argc == 6) {
        last.id = num(argv[3]);
        last.genstamp = num(argv[4]);
        last.has_length = 1;
        last.length = num(argv[5]);
        req.last = &last;
    }
    Dfs__CompleteResp *r = (Dfs__CompleteResp *)call(DFS_MSG_COMPLETE_REQ, &req.base,
                                                     &dfs__complete_resp__descriptor);
    printf(", \"complete\": %s", r->complete ? "true" : "false");
    done(&r->base);
    return 0;
}

static int cmd_renew(int argc, char **argv)
{
    if (argc != 1)
        return usage();
    Dfs__RenewLeaseReq req = DFS__RENEW_LEASE_REQ__INIT;
    req.client = argv[0];
    done(call(DFS_MSG_RENEW_LEASE_REQ, &req.base, &dfs__renew_lease_resp__descriptor));
    return 0;
}

static int cmd_update(int argc, char **argv)
{
    if (argc != 8)
        return usage();
    Dfs__UpdatePipelineReq req = DFS__UPDATE_PIPELINE_REQ__INIT;
    Dfs__ExtendedBlock b = DFS__EXTENDED_BLOCK__INIT;
    req.path = argv[0];
    req.inode = num(argv[1]);
    req.client = argv[2];
    b.id = num(argv[3]);
    b.genstamp = num(argv[4]);
    req.block = &b;
    req.keep = split(argv[5], &req.n_keep);
    req.exclude = split(argv[6], &req.n_exclude);
    req.has_replacements = 1;
    req.replacements = (uint32_t)num(argv[7]);
    Dfs__UpdatePipelineResp *r = (Dfs__UpdatePipelineResp *)call(
        DFS_MSG_UPDATE_PIPELINE_REQ, &req.base, &dfs__update_pipeline_resp__descriptor);
    printf(", \"genstamp\": %" PRIu64 ", \"replacements\": ", r->genstamp);
    print_locs(r->replacements, r->n_replacements);
    free(req.keep);
    free(req.exclude);
    done(&r->base);
    return 0;
}

static int cmd_append(int argc, char **argv)
{
    if (argc != 2)
        return usage();
    Dfs__AppendReq req = DFS__APPEND_REQ__INIT;
    req.path = argv[0];
    req.client = argv[1];
    Dfs__AppendResp *r = (Dfs__AppendResp *)call(DFS_MSG_APPEND_REQ, &req.base,
                                                 &dfs__append_resp__descriptor);
    printf(", \"recovering\": %s", r->recovering ? "true" : "false");
    if (r->st) {
        printf(", \"st\": ");
        print_stat(r->st);
    }
    if (r->last) {
        printf(", \"last\": ");
        print_located(r->last);
    }
    if (r->last_full)
        printf(", \"last_full\": {\"id\": %" PRIu64 ", \"gs\": %" PRIu64 ", \"length\": %"
               PRIu64 "}", r->last_full->id, r->last_full->genstamp, r->last_full->length);
    done(&r->base);
    return 0;
}

static int cmd_recover(int argc, char **argv)
{
    if (argc != 2)
        return usage();
    Dfs__RecoverLeaseReq req = DFS__RECOVER_LEASE_REQ__INIT;
    req.path = argv[0];
    req.client = argv[1];
    Dfs__RecoverLeaseResp *r = (Dfs__RecoverLeaseResp *)call(
        DFS_MSG_RECOVER_LEASE_REQ, &req.base, &dfs__recover_lease_resp__descriptor);
    printf(", \"closed\": %s", r->closed ? "true" : "false");
    done(&r->base);
    return 0;
}

static int cmd_locations(int argc, char **argv)
{
    if (argc != 1)
        return usage();
    Dfs__GetBlockLocationsReq req = DFS__GET_BLOCK_LOCATIONS_REQ__INIT;
    req.path = argv[0];
    req.offset = 0;
    req.length = UINT64_MAX;
    Dfs__GetBlockLocationsResp *r = (Dfs__GetBlockLocationsResp *)call(
        DFS_MSG_LOCATIONS_REQ, &req.base, &dfs__get_block_locations_resp__descriptor);
    if (r->st) {
        printf(", \"st\": ");
        print_stat(r->st);
    }
    printf(", \"blocks\": [");
    for (size_t i = 0; i < r->n_blocks; i++) {
        printf("%s", i ? ", " : "");
        print_located(r->blocks[i]);
    }
    printf("]");
    done(&r->base);
    return 0;
}

static int cmd_register(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    Dfs__RegisterReq req = DFS__REGISTER_REQ__INIT;
    Dfs__DatanodeId id = DFS__DATANODE_ID__INIT;
    size_t n = (size_t)argc - 2;
    Dfs__BlockInfo *bi = calloc(n + 1, sizeof(*bi));
    Dfs__BlockInfo **bip = calloc(n + 1, sizeof(*bip));
    id.storage_id = argv[0];
    static char localhost[] = "127.0.0.1";
    id.host = localhost;
    id.port = (uint32_t)num(argv[1]);
    req.id = &id;
    req.capacity = 1ull << 40;
    req.used = 0;
    for (size_t i = 0; i < n; i++) {
        dfs__block_info__init(&bi[i]);
        unsigned long long bid, gs, len;
        char rbw[8] = "";
        if (sscanf(argv[2 + i], "%llu:%llu:%llu:%7s", &bid, &gs, &len, rbw) < 3)
            return usage();
        bi[i].id = bid;
        bi[i].genstamp = gs;
        bi[i].length = len;
        bi[i].has_rbw = 1;
        bi[i].rbw = strcmp(rbw, "rbw") == 0;
        bip[i] = &bi[i];
    }
    req.n_blocks = n;
    req.blocks = bip;
    done(call(DFS_MSG_REGISTER_REQ, &req.base, &dfs__register_resp__descriptor));
    free(bip);
    free(bi);
    return 0;
}

static const char *cmd_name(Dfs__CommandType t)
{
    switch (t) {
    case DFS__COMMAND_TYPE__CMD_REREGISTER: return "reregister";
    case DFS__COMMAND_TYPE__CMD_REPLICATE: return "replicate";
    case DFS__COMMAND_TYPE__CMD_DELETE: return "delete";
    case DFS__COMMAND_TYPE__CMD_RECOVER: return "recover";
    default: return "?";
    }
}

static int cmd_heartbeat(int argc, char **argv)
{
    if (argc < 1 || argc > 2)
        return usage();
    Dfs__HeartbeatReq req = DFS__HEARTBEAT_REQ__INIT;
    req.storage_id = argv[0];
    req.capacity = 1ull << 40;
    if (argc == 2) {
        req.has_fsyncs = 1;
        req.fsyncs = num(argv[1]);
    }
    Dfs__HeartbeatResp *r = (Dfs__HeartbeatResp *)call(DFS_MSG_HEARTBEAT_REQ, &req.base,
                                                       &dfs__heartbeat_resp__descriptor);
    printf(", \"commands\": [");
    for (size_t i = 0; i < r->n_commands; i++) {
        const Dfs__DatanodeCommand *cmd = r->commands[i];
        printf("%s{\"type\": \"%s\", \"blocks\": [", i ? ", " : "", cmd_name(cmd->type));
        for (size_t k = 0; k < cmd->n_blocks; k++)
            printf("%s[%" PRIu64 ", %" PRIu64 "]", k ? ", " : "", cmd->blocks[k]->id,
                   cmd->blocks[k]->genstamp);
        printf("], \"targets\": ");
        print_locs(cmd->targets, cmd->n_targets);
        printf("}");
    }
    printf("]");
    done(&r->base);
    return 0;
}

static int cmd_commitsync(int argc, char **argv)
{
    if (argc != 3 && argc != 4)
        return usage();
    Dfs__CommitBlockSyncReq req = DFS__COMMIT_BLOCK_SYNC_REQ__INIT;
    Dfs__ExtendedBlock b = DFS__EXTENDED_BLOCK__INIT;
    b.id = num(argv[0]);
    b.genstamp = num(argv[1]);
    b.has_length = 1;
    b.length = num(argv[2]);
    req.block = &b;
    req.storage_ids = argc == 4 ? split(argv[3], &req.n_storage_ids) : NULL;
    done(call(DFS_MSG_COMMIT_SYNC_REQ, &req.base, &dfs__commit_block_sync_resp__descriptor));
    free(req.storage_ids);
    return 0;
}

static int cmd_report(int argc, char **argv)
{
    (void)argv;
    if (argc != 0)
        return usage();
    Dfs__ClusterReportReq req = DFS__CLUSTER_REPORT_REQ__INIT;
    Dfs__ClusterReportResp *r = (Dfs__ClusterReportResp *)call(
        DFS_MSG_REPORT_REQ, &req.base, &dfs__cluster_report_resp__descriptor);
    printf(", \"datanodes\": {");
    for (size_t i = 0; i < r->n_datanodes; i++) {
        printf("%s", i ? ", " : "");
        jstr(r->datanodes[i]->id->storage_id);
        printf(": {\"state\": \"%s\", \"fsyncs\": %" PRIu64 ", \"blocks\": %u}",
               r->datanodes[i]->state, r->datanodes[i]->fsyncs, r->datanodes[i]->blocks);
    }
    printf("}");
    done(&r->base);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } cmds[] = {
        { "create", cmd_create }, { "addblock", cmd_addblock }, { "complete", cmd_complete },
        { "renew", cmd_renew }, { "update", cmd_update }, { "append", cmd_append },
        { "recover", cmd_recover }, { "locations", cmd_locations },
        { "register", cmd_register }, { "heartbeat", cmd_heartbeat },
        { "commitsync", cmd_commitsync }, { "report", cmd_report },
    };
    if (argc < 3)
        return usage();
    char host[256];
    const char *colon = strrchr(argv[1], ':');
    if (!colon || (size_t)(colon - argv[1]) >= sizeof(host))
        return usage();
    memcpy(host, argv[1], (size_t)(colon - argv[1]));
    host[colon - argv[1]] = '\0';
    rpc = dfs_rpc_new(host, (unsigned)atoi(colon + 1), 10000);
    if (!rpc)
        return 1;
    int rc = usage();
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[2], cmds[i].name) == 0)
            rc = cmds[i].fn(argc - 3, argv + 3);
    dfs_rpc_free(rpc);
    return rc;
}
