/*
 * shell_fsck.c - dfs fsck: the health of the blocks under a path.
 *
 * The shell walks the tree (sh_walk), asks the namenode for the block
 * health of its files in batches (dfs_file_health), classifies every
 * block and prints the totals, the problem blocks with their files, and a
 * last line HEALTHY or CORRUPT (or, when part of the tree could not be
 * checked, INCOMPLETE).  Exit 0 when healthy, 1 when a block is missing
 * or corrupt (no good replica) or an operation failed.
 *
 * A block is: missing when it has no good replica at all (corrupt ones
 * may remain); under-replicated with fewer good in-service replicas than
 * its file's replication; over-replicated with more; mis-replicated when
 * its good replicas sit on one rack while the cluster has two or more.
 * Blocks being written are counted but not judged.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "shell.h"

#define BATCH 500

enum { OPT_FILES = 256, OPT_BLOCKS, OPT_LOCATIONS, OPT_JSON };

static const struct option fsck_longopts[] = {
    { "files", no_argument, NULL, OPT_FILES },
    { "blocks", no_argument, NULL, OPT_BLOCKS },
    { "locations", no_argument, NULL, OPT_LOCATIONS },
    { "json", no_argument, NULL, OPT_JSON },
    { NULL, 0, NULL, 0 },
};

struct fsck {
    struct shell *sh;
    int files, blocks, locations, json;
    char *batch[BATCH];
    size_t nbatch;
    uint64_t nfiles, ndirs, nblocks, nreplicas, bytes, open_files;
    uint64_t under, over, mis, corrupt_blocks, missing, corrupt_replicas;
    int first_json;           /* no problem printed yet (JSON commas) */
};

enum problem { P_NONE, P_MISSING, P_UNDER, P_OVER, P_MIS };

static const char *problem_name[] = {
    [P_NONE] = "ok", [P_MISSING] = "MISSING", [P_UNDER] = "UNDER-REPLICATED",
    [P_OVER] = "OVER-REPLICATED", [P_MIS] = "MIS-REPLICATED",
};

static enum problem judge(const struct dfs_block_health *b, unsigned repl, unsigned racks)
{
    unsigned good = b->live + b->decommissioning;
    if (!b->complete)
        return P_NONE;
    if (good == 0)
        return P_MISSING;
    if (b->live < repl)
        return P_UNDER;
    if (b->live > repl)
        return P_OVER;
    if (racks >= 2 && b->live >= 2 && b->racks < 2)
        return P_MIS;
    return P_NONE;
}

static void print_locations(const struct dfs_block_health *b)
{
    fputs(" [", stdout);
    for (unsigned k = 0; k < b->nreplicas; k++) {
        const struct dfs_replica_health *r = &b->replicas[k];
        printf("%s%s:%u %s %s", k ? ", " : "", r->host, r->port, r->rack, r->state);
    }
    fputs("]", stdout);
}

static void json_block(const struct dfs_block_health *b, enum problem p)
{
    printf("{\"id\":%" PRIu64 ",\"genstamp\":%" PRIu64 ",\"length\":%" PRIu64
           ",\"live\":%u,\"decommissioning\":%u,\"corrupt\":%u,\"racks\":%u,"
           "\"complete\":%s,\"status\":\"%s\",\"replicas\":[", b->id, b->genstamp,
           b->length, b->live, b->decommissioning, b->corrupt, b->racks,
           b->complete ? "true" : "false", problem_name[p]);
    for (unsigned k = 0; k < b->nreplicas; k++) {
        const struct dfs_replica_health *r = &b->replicas[k];
        fputs(k ? ",{\"host\":" : "{\"host\":", stdout);
        json_str(stdout, r->host);
        printf(",\"port\":%u,\"rack\":", r->port);
        json_str(stdout, r->rack);
        fputs(",\"state\":", stdout);
        json_str(stdout, r->state);
        fputs("}", stdout);
    }
    fputs("]}", stdout);
}

/* Count and print one file's answer. */
static void take_file(struct fsck *f, const struct dfs_file_health *h, unsigned racks)
{
    if (h->status != DFS_OK)
        return;             /* vanished since the walk: not counted */
    if (h->is_dir)
        return;
    f->nfiles++;
    f->bytes += h->length;
    f->open_files += !h->complete;
    enum problem worst = P_NONE;
    enum problem *probs = xcalloc(h->nblocks ? h->nblocks : 1, sizeof(*probs));
    for (size_t i = 0; i < h->nblocks; i++) {
        const struct dfs_block_health *b = &h->blocks[i];
        enum problem p = judge(b, h->replication, racks);
        probs[i] = p;
        f->nblocks++;
        f->nreplicas += b->live + b->decommissioning;
        f->corrupt_replicas += b->corrupt;
        f->missing += p == P_MISSING;
        f->corrupt_blocks += p == P_MISSING && b->corrupt > 0;
        f->under += p == P_UNDER;
        f->over += p == P_OVER;
        f->mis += p == P_MIS;
        if (p != P_NONE && (worst == P_NONE || p < worst))
            worst = p;
    }
    if (f->json) {
        if (!f->files && !f->blocks && worst == P_NONE) {
            free(probs);
            return;
        }
        fputs(f->first_json ? "" : ",", stdout);
        f->first_json = 0;
        fputs("{\"path\":", stdout);
        json_str(stdout, h->path);
        printf(",\"length\":%" PRIu64 ",\"replication\":%u,\"complete\":%s,"
               "\"status\":\"%s\",\"blocks\":[", h->length, h->replication,
               h->complete ? "true" : "false", worst == P_NONE ? "HEALTHY" : problem_name[worst]);
        for (size_t i = 0, shown = 0; i < h->nblocks; i++) {
            if (!f->blocks && probs[i] == P_NONE)
                continue;
            fputs(shown++ ? "," : "", stdout);
            json_block(&h->blocks[i], probs[i]);
        }
        fputs("]}", stdout);
        free(probs);
        return;
    }
    if (f->files)
        printf("%s %" PRIu64 " bytes, replication %u, %zu block(s)%s: %s\n", h->path, h->length,
               h->replication, h->nblocks, h->complete ? "" : " (being written)",
               worst == P_NONE ? "OK" : problem_name[worst]);
    for (size_t i = 0; i < h->nblocks; i++) {
        const struct dfs_block_health *b = &h->blocks[i];
        if (probs[i] != P_NONE) {
            printf("%s: blk_%" PRIu64 " %s: %u live, %u decommissioning, %u corrupt of %u "
                   "wanted", h->path, b->id, problem_name[probs[i]], b->live,
                   b->decommissioning, b->corrupt, h->replication);
        } else if (f->blocks) {
            printf("%s: blk_%" PRIu64 " len=%" PRIu64 " live=%u", h->path, b->id, b->length,
                   b->live);
        } else {
            continue;
        }
        if (f->locations || probs[i] != P_NONE)
            print_locations(b);
        fputs("\n", stdout);
    }
    free(probs);
}

static void flush_batch(struct fsck *f)
{
    if (f->nbatch == 0)
        return;
    struct dfs_file_health *h = NULL;
    unsigned racks = 0;
    int rc = dfs_file_health(f->sh->fs, (const char *const *)f->batch, f->nbatch, &h, &racks);
    if (rc != DFS_OK) {
        sh_fail(f->sh, f->batch[0], rc);
    } else {
        for (size_t i = 0; i < f->nbatch; i++)
            take_file(f, &h[i], racks);
        dfs_free_file_health(h, f->nbatch);
    }
    for (size_t i = 0; i < f->nbatch; i++)
        free(f->batch[i]);
    f->nbatch = 0;
}

static void visit(struct shell *sh, const char *path, const struct dfs_stat *st, void *arg)
{
    struct fsck *f = arg;
    (void)sh;
    if (st->type == DFS_TYPE_DIR) {
        f->ndirs++;
        return;
    }
    f->batch[f->nbatch++] = xstrdup(path);
    if (f->nbatch == BATCH)
        flush_batch(f);
}

static void summary_human(const struct fsck *f, const char *status, const char *path)
{
    printf("\nStatus: %s\n", status);
    printf(" Path:                    %s\n", path);
    printf(" Total size:              %" PRIu64 " B\n", f->bytes);
    printf(" Total dirs:              %" PRIu64 "\n", f->ndirs);
    printf(" Total files:             %" PRIu64 " (%" PRIu64 " being written)\n", f->nfiles,
           f->open_files);
    printf(" Total blocks:            %" PRIu64 "\n", f->nblocks);
    printf(" Good replicas:           %" PRIu64 "\n", f->nreplicas);
    printf(" Under-replicated blocks: %" PRIu64 "\n", f->under);
    printf(" Over-replicated blocks:  %" PRIu64 "\n", f->over);
    printf(" Mis-replicated blocks:   %" PRIu64 "\n", f->mis);
    printf(" Corrupt replicas:        %" PRIu64 "\n", f->corrupt_replicas);
    printf(" Corrupt blocks:          %" PRIu64 "\n", f->corrupt_blocks);
    printf(" Missing blocks:          %" PRIu64 "\n", f->missing);
    if (strcmp(status, "INCOMPLETE") == 0)
        printf("\nfsck could not check everything under path '%s': see the errors above\n",
               path);
    else
        printf("\nThe filesystem under path '%s' is %s\n", path, status);
}

int cmd_fsck(struct shell *sh, int argc, char **argv)
{
    struct fsck *f = xcalloc(1, sizeof(*f));
    struct dfs_stat st;
    int c, rc;

    f->sh = sh;
    f->first_json = 1;
    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", fsck_longopts)) != -1) {
        switch (c) {
        case OPT_FILES: f->files = 1; break;
        case OPT_BLOCKS: f->blocks = 1; break;
        case OPT_LOCATIONS: f->locations = f->blocks = 1; break;
        case OPT_JSON: f->json = 1; break;
        default: free(f); return EXIT_USAGE;
        }
    }
    if (argc - optind > 1) {
        free(f);
        return sh_usage(sh, "extra operand '%s'", argv[optind + 1]);
    }
    const char *path = optind < argc ? argv[optind] : "/";
    if (sh_connect(sh, path) != DFS_OK) {
        free(f);
        return EXIT_FAIL;
    }
    rc = dfs_stat(sh->fs, path, &st);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        free(f);
        return sh_status(sh);
    }
    if (f->json)
        fputs("{\"files\":[", stdout);
    sh_walk(sh, path, &st, visit, f);
    flush_batch(f);
    /* CORRUPT when a block has no good replica; INCOMPLETE when part of
     * the tree could not be checked (then nothing is claimed healthy). */
    const char *status = f->missing ? "CORRUPT" : sh->failed ? "INCOMPLETE" : "HEALTHY";
    int healthy = strcmp(status, "HEALTHY") == 0;
    if (f->json) {
        printf("],\"path\":");
        json_str(stdout, path);
        printf(",\"status\":\"%s\",\"total_size\":%" PRIu64 ",\"total_dirs\":%" PRIu64
               ",\"total_files\":%" PRIu64 ",\"open_files\":%" PRIu64 ",\"total_blocks\":%" PRIu64
               ",\"total_replicas\":%" PRIu64 ",\"under_replicated\":%" PRIu64
               ",\"over_replicated\":%" PRIu64 ",\"mis_replicated\":%" PRIu64
               ",\"corrupt_replicas\":%" PRIu64 ",\"corrupt_blocks\":%" PRIu64
               ",\"missing\":%" PRIu64 "}\n", status, f->bytes,
               f->ndirs, f->nfiles, f->open_files, f->nblocks, f->nreplicas, f->under,
               f->over, f->mis, f->corrupt_replicas, f->corrupt_blocks, f->missing);
    } else {
        summary_human(f, status, path);
    }
    free(f);
    if (!healthy)
        sh->failed = 1;
    return sh_status(sh);
}
