/*
 * shell_admin.c - cluster and locality commands of the dfs shell: locate,
 * report, df, du, safemode, admin.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shell.h"

enum { OPT_JSON = 256 };

static const struct option json_longopts[] = {
    { "json", no_argument, NULL, OPT_JSON },
    { NULL, 0, NULL, 0 },
};

/* Parse the options of a command whose only option is --json. */
static int json_opt(struct shell *sh, int argc, char **argv, int *json)
{
    int c;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", json_longopts)) != -1) {
        if (c != OPT_JSON)
            return EXIT_USAGE;
        *json = 1;
    }
    return EXIT_OK;
}

/* -------------------------------------------------------------- locate */

static void locate_human(const char *path, uint64_t length,
                         const struct dfs_block_location *b, size_t n)
{
    const struct dfs_location *l;
    size_t i;
    unsigned j;

    printf("%s %" PRIu64 " bytes, %zu blocks\n", path, length, n);
    for (i = 0; i < n; i++, b++) {
        printf("  [%zu] offset=%" PRIu64 " length=%" PRIu64 " id=%" PRIu64
               " genstamp=%" PRIu64 " locations:", i, b->offset, b->length, b->id,
               b->genstamp);
        if (b->nlocs == 0)
            fputs(" (none)", stdout);
        for (j = 0; j < b->nlocs; j++) {
            l = &b->locs[j];
            printf("%s %s:%u(%s)%s", j ? "," : "", l->host, l->port, l->rack,
                   l->corrupt ? "[corrupt]" : "");
        }
        putchar('\n');
    }
}

static void locate_json(const char *path, uint64_t length,
                        const struct dfs_block_location *b, size_t n)
{
    const struct dfs_location *l;
    size_t i;
    unsigned j;

    fputs("{\"path\":", stdout);
    json_str(stdout, path);
    printf(",\"length\":%" PRIu64 ",\"blocks\":[", length);
    for (i = 0; i < n; i++, b++) {
        printf("%s{\"offset\":%" PRIu64 ",\"length\":%" PRIu64 ",\"id\":%" PRIu64
               ",\"genstamp\":%" PRIu64 ",\"locations\":[", i ? "," : "", b->offset,
               b->length, b->id, b->genstamp);
        for (j = 0; j < b->nlocs; j++) {
            l = &b->locs[j];
            fputs(j ? ",{\"host\":" : "{\"host\":", stdout);
            json_str(stdout, l->host);
            printf(",\"port\":%u,\"rack\":", l->port);
            json_str(stdout, l->rack);
            fputs(l->corrupt ? ",\"corrupt\":true}" : "}", stdout);
        }
        fputs("]}", stdout);
    }
    fputs("]}\n", stdout);
}

static void locate_one(struct shell *sh, const char *path, int json)
{
    struct dfs_block_location *blocks;
    struct dfs_stat st;
    char *disp;
    size_t n;
    int rc;

    rc = dfs_stat(sh->fs, path, &st);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        return;
    }
    if (st.type == DFS_TYPE_DIR) {
        sh_failf(sh, path, "Is a directory");
        return;
    }
    rc = dfs_get_block_locations(sh->fs, path, 0, UINT64_MAX, &blocks, &n);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        return;
    }
    disp = path_normalize(path);
    if (json)
        locate_json(disp, st.length, blocks, n);
    else
        locate_human(disp, st.length, blocks, n);
    free(disp);
    dfs_free_block_locations(blocks, n);
}

int cmd_locate(struct shell *sh, int argc, char **argv)
{
    int json = 0, i, n;
    char **paths;

    if (json_opt(sh, argc, argv, &json) != EXIT_OK)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    paths = sh_glob_args(sh, argc - optind, argv + optind, &n, 0);
    for (i = 0; i < n; i++)
        locate_one(sh, paths[i], json);
    sh_glob_free(paths);
    return sh_status(sh);
}

/* -------------------------------------------------------------- report */

/* "Label:   1099511627776 (1.0T)"; below 1 KiB the number alone.  The
 * value starts in column 21 whatever the indent. */
static void print_bytes(const char *indent, const char *label, uint64_t n)
{
    int width = 19 - (int)strlen(indent);
    char h[16];

    if (n < 1024) {
        printf("%s%-*s %" PRIu64 "\n", indent, width, label, n);
        return;
    }
    fmt_human(h, sizeof h, n);
    printf("%s%-*s %" PRIu64 " (%s)\n", indent, width, label, n, h);
}

static void report_human(const char *namenode, const struct dfs_cluster_report *r)
{
    const struct dfs_datanode_info *d;
    size_t i, live = 0, stale = 0, dead = 0;

    for (i = 0; i < r->ndatanodes; i++) {
        d = &r->datanodes[i];
        if (strcmp(d->state, "live") == 0)
            live++;
        else if (strcmp(d->state, "stale") == 0)
            stale++;
        else
            dead++;
    }
    printf("%-19s dfs://%s\n", "Namenode:", namenode);
    printf("%-19s %s\n", "Safe mode:", r->safemode ? r->safemode_status : "off");
    print_bytes("", "Capacity:", r->capacity);
    print_bytes("", "Used:", r->used);
    print_bytes("", "Remaining:", r->remaining);
    printf("%-19s %" PRIu64 "\n", "Blocks:", r->blocks);
    printf("%-19s %" PRIu64 "\n", "Files:", r->files);
    printf("%-19s %" PRIu64 "\n", "Under-replicated:", r->under_replicated);
    printf("%-19s %" PRIu64 "\n", "Corrupt replicas:", r->corrupt);
    printf("%-19s %" PRIu64 "\n", "Missing blocks:", r->missing);
    printf("%-19s %" PRIu64 "\n", "Pending copies:", r->pending_replication);
    printf("%-19s %zu live, %zu stale, %zu dead\n", "Datanodes:", live, stale, dead);
    for (i = 0; i < r->ndatanodes; i++) {
        d = &r->datanodes[i];
        printf("\nDatanode %s:%u\n", d->host, d->port);
        printf("  %-17s %s\n", "Storage ID:", d->storage_id);
        printf("  %-17s %s\n", "Rack:", d->rack);
        printf("  %-17s %s\n", "State:", d->state);
        if (strcmp(d->admin_state, "normal") != 0 && d->admin_state[0])
            printf("  %-17s %s (%" PRIu64 " blocks left)\n", "Admin state:", d->admin_state,
                   d->decommission_left);
        print_bytes("  ", "Capacity:", d->capacity);
        print_bytes("  ", "Used:", d->used);
        print_bytes("  ", "Remaining:", d->remaining);
        printf("  %-17s %u\n", "Blocks:", d->blocks);
        printf("  %-17s %.1f s ago\n", "Last heartbeat:", (double)d->last_heartbeat_ms / 1000.0);
        printf("  %-17s %" PRIu64 "\n", "Fsyncs (hsync):", d->fsyncs);
        print_bytes("  ", "Read locally:", d->bytes_read_local);
        print_bytes("  ", "Read remotely:", d->bytes_read_remote);
        print_bytes("  ", "Read short-circ.:", d->bytes_read_short_circuit);
    }
}

static void report_json(const struct dfs_cluster_report *r)
{
    const struct dfs_datanode_info *d;
    uint64_t local = 0, remote = 0, sc = 0;
    size_t i;

    for (i = 0; i < r->ndatanodes; i++) {
        local += r->datanodes[i].bytes_read_local;
        remote += r->datanodes[i].bytes_read_remote;
        sc += r->datanodes[i].bytes_read_short_circuit;
    }
    printf("{\"capacity\":%" PRIu64 ",\"used\":%" PRIu64 ",\"remaining\":%" PRIu64
           ",\"blocks\":%" PRIu64 ",\"files\":%" PRIu64 ",\"under_replicated\":%" PRIu64
           ",\"corrupt\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"pending_replication\":%" PRIu64
           ",\"copies_done\":%" PRIu64 ",\"bytes_read_local\":%" PRIu64
           ",\"bytes_read_remote\":%" PRIu64 ",\"bytes_read_short_circuit\":%" PRIu64
           ",\"safemode\":%s,\"datanodes\":[",
           r->capacity, r->used, r->remaining, r->blocks, r->files,
           r->under_replicated, r->corrupt, r->missing, r->pending_replication,
           r->copies_done, local, remote, sc, r->safemode ? "true" : "false");
    for (i = 0; i < r->ndatanodes; i++) {
        d = &r->datanodes[i];
        fputs(i ? ",{\"host\":" : "{\"host\":", stdout);
        json_str(stdout, d->host);
        printf(",\"port\":%u,\"storage_id\":", d->port);
        json_str(stdout, d->storage_id);
        fputs(",\"rack\":", stdout);
        json_str(stdout, d->rack);
        fputs(",\"state\":", stdout);
        json_str(stdout, d->state);
        fputs(",\"admin_state\":", stdout);
        json_str(stdout, d->admin_state);
        printf(",\"decommission_left\":%" PRIu64, d->decommission_left);
        printf(",\"capacity\":%" PRIu64 ",\"used\":%" PRIu64 ",\"remaining\":%" PRIu64
               ",\"blocks\":%u,\"last_heartbeat\":%.1f,\"fsyncs\":%" PRIu64
               ",\"bytes_read_local\":%" PRIu64 ",\"bytes_read_remote\":%" PRIu64
               ",\"bytes_read_short_circuit\":%" PRIu64 "}", d->capacity, d->used,
               d->remaining, d->blocks, (double)d->last_heartbeat_ms / 1000.0, d->fsyncs,
               d->bytes_read_local, d->bytes_read_remote, d->bytes_read_short_circuit);
    }
    fputs("]}\n", stdout);
}

int cmd_report(struct shell *sh, int argc, char **argv)
{
    struct dfs_cluster_report *r;
    char *namenode;
    int json = 0, rc;

    if (json_opt(sh, argc, argv, &json) != EXIT_OK)
        return EXIT_USAGE;
    if (optind < argc)
        return sh_usage(sh, "extra operand '%s'", argv[optind]);
    if (sh_connect(sh, NULL) != DFS_OK)
        return EXIT_FAIL;
    rc = dfs_cluster_report(sh->fs, &r);
    if (rc != DFS_OK) {
        sh_fail(sh, NULL, rc);
        return sh_status(sh);
    }
    if (json) {
        report_json(r);
    } else {
        namenode = dfs_options_get_namenode(sh->opts);
        report_human(namenode ? namenode : "?", r);
        free(namenode);
    }
    dfs_free_cluster_report(r);
    return sh_status(sh);
}

/* ------------------------------------------------------------------ df */

static int max_int(int a, int b)
{
    return a > b ? a : b;
}

int cmd_df(struct shell *sh, int argc, char **argv)
{
    struct dfs_cluster_report *r;
    char size[32], used[32], avail[32], pct[16], *namenode, *fsname;
    int human = 0, c, rc, wf, ws, wu, wa;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "h", NULL)) != -1) {
        switch (c) {
        case 'h': human = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind < argc)
        return sh_usage(sh, "extra operand '%s'", argv[optind]);
    if (sh_connect(sh, NULL) != DFS_OK)
        return EXIT_FAIL;
    rc = dfs_cluster_report(sh->fs, &r);
    if (rc != DFS_OK) {
        sh_fail(sh, NULL, rc);
        return sh_status(sh);
    }
    namenode = dfs_options_get_namenode(sh->opts);
    fsname = xasprintf("dfs://%s", namenode ? namenode : "?");
    free(namenode);
    fmt_size(size, sizeof size, r->capacity, human);
    fmt_size(used, sizeof used, r->used, human);
    fmt_size(avail, sizeof avail, r->remaining, human);
    snprintf(pct, sizeof pct, "%.0f%%",
             r->capacity ? (double)r->used * 100.0 / (double)r->capacity : 0.0);
    wf = max_int((int)strlen("Filesystem"), (int)strlen(fsname));
    ws = max_int((int)strlen("Size"), (int)strlen(size));
    wu = max_int((int)strlen("Used"), (int)strlen(used));
    wa = max_int((int)strlen("Available"), (int)strlen(avail));
    printf("%-*s  %*s  %*s  %*s  %4s\n", wf, "Filesystem", ws, "Size", wu, "Used",
           wa, "Available", "Use%");
    printf("%-*s  %*s  %*s  %*s  %4s\n", wf, fsname, ws, size, wu, used, wa, avail, pct);
    free(fsname);
    dfs_free_cluster_report(r);
    return sh_status(sh);
}

/* ------------------------------------------------------------------ du */

static void du_line(uint64_t length, uint64_t consumed, const char *path, int human)
{
    char a[32], b[32];

    fmt_size(a, sizeof a, length, human);
    fmt_size(b, sizeof b, consumed, human);
    printf("%-10s  %-10s  %s\n", a, b, path);
}

/* One line for path from its content summary. */
static void du_summary(struct shell *sh, const char *path, int human)
{
    struct dfs_summary s;
    int rc = dfs_content_summary(sh->fs, path, &s);

    if (rc != DFS_OK)
        sh_fail(sh, path, rc);
    else
        du_line(s.length, s.space_consumed, path, human);
}

/* One line per entry of a directory (a subdirectory's line sums its tree). */
static void du_children(struct shell *sh, const char *path, int human)
{
    struct dfs_stat st;
    dfs_dir *dir;
    char *child;
    int rc;

    rc = dfs_opendir(sh->fs, path, &dir);
    if (rc != DFS_OK) {
        sh_fail(sh, path, rc);
        return;
    }
    while ((rc = dfs_readdir(dir, &st)) == 1 && sh_stdout_ok(sh)) {
        child = path_join(path, st.name);
        if (st.type == DFS_TYPE_DIR)
            du_summary(sh, child, human);
        else
            du_line(st.length, st.length * st.replication, child, human);
        free(child);
    }
    if (rc < 0)
        sh_fail(sh, path, rc);
    dfs_closedir(dir);
}

int cmd_du(struct shell *sh, int argc, char **argv)
{
    int summary = 0, human = 0, c, i, n, rc;
    struct dfs_stat st;
    char *path, **paths;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "sh", NULL)) != -1) {
        switch (c) {
        case 's': summary = 1; break;
        case 'h': human = 1; break;
        default: return EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand");
    if (sh_connect(sh, argv[optind]) != DFS_OK)
        return EXIT_FAIL;
    paths = sh_glob_args(sh, argc - optind, argv + optind, &n, 0);
    for (i = 0; i < n && sh_stdout_ok(sh); i++) {
        path = path_normalize(paths[i]);
        if (summary) {
            du_summary(sh, path, human);
        } else if ((rc = dfs_stat(sh->fs, paths[i], &st)) != DFS_OK) {
            sh_fail(sh, paths[i], rc);
        } else if (st.type == DFS_TYPE_DIR) {
            du_children(sh, path, human);
        } else {
            du_line(st.length, st.length * st.replication, path, human);
        }
        free(path);
    }
    sh_glob_free(paths);
    return sh_status(sh);
}

/* ------------------------------------------------------------ safemode */

int cmd_safemode(struct shell *sh, int argc, char **argv)
{
    enum dfs_safemode_action action = DFS_SAFEMODE_GET;
    unsigned long long wait_s = 0;
    char msg[256];
    int c, on = 0, rc, wait = 0;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "t:", NULL)) != -1) {
        if (c != 't')
            return EXIT_USAGE;
        if (parse_uint(optarg, 1, 86400, &wait_s) != 0)
            return sh_usage(sh, "invalid timeout '%s' (seconds, 1 to 86400)", optarg);
    }
    if (optind >= argc)
        return sh_usage(sh, "missing operand: get, enter, leave or wait");
    if (argc - optind > 1)
        return sh_usage(sh, "extra operand '%s'", argv[optind + 1]);
    const char *what = argv[optind];
    if (strcmp(what, "get") == 0)
        action = DFS_SAFEMODE_GET;
    else if (strcmp(what, "enter") == 0)
        action = DFS_SAFEMODE_ENTER;
    else if (strcmp(what, "leave") == 0)
        action = DFS_SAFEMODE_LEAVE;
    else if (strcmp(what, "wait") == 0)
        wait = 1;
    else
        return sh_usage(sh, "unknown operand '%s': get, enter, leave or wait", what);
    if (wait_s && !wait)
        return sh_usage(sh, "-t goes with 'wait' only");
    if (sh_connect(sh, NULL) != DFS_OK)
        return EXIT_FAIL;
    double deadline = mono_now() + (double)(wait_s ? wait_s : 86400);
    for (;;) {
        rc = dfs_safemode(sh->fs, action, &on, msg, sizeof(msg));
        if (rc != DFS_OK) {
            sh_fail(sh, NULL, rc);
            return sh_status(sh);
        }
        if (!wait || !on || sh_interrupted)
            break;
        if (mono_now() >= deadline) {
            fprintf(stderr, "dfs: safemode: still in safe mode after %llu s: %s\n",
                    wait_s, msg);
            return EXIT_FAIL;
        }
        struct timespec ts = { 0, 100 * 1000000L };
        nanosleep(&ts, NULL);
    }
    printf("%s\n", msg);
    return sh_status(sh);
}

/* --------------------------------------------------------------- admin */

int cmd_admin(struct shell *sh, int argc, char **argv)
{
    int c;

    sh_opt_reset();
    while ((c = sh_getopt(sh, argc, argv, "", NULL)) != -1)
        return EXIT_USAGE;
    if (optind >= argc)
        return sh_usage(sh, "missing operand: decommission or recommission");
    const char *what = argv[optind++];
    int on;
    if (strcmp(what, "decommission") == 0)
        on = 1;
    else if (strcmp(what, "recommission") == 0)
        on = 0;
    else
        return sh_usage(sh, "unknown operand '%s': decommission or recommission", what);
    if (optind >= argc)
        return sh_usage(sh, "missing operand: HOST:PORT of a datanode");
    if (sh_connect(sh, NULL) != DFS_OK)
        return EXIT_FAIL;
    for (; optind < argc; optind++) {
        int registered = 0;
        int rc = dfs_decommission(sh->fs, argv[optind], on, &registered);
        if (rc != DFS_OK) {
            sh_fail(sh, argv[optind], rc);
            continue;
        }
        printf("%s: %s\n", argv[optind], on ? "decommissioning" : "recommissioned");
        if (!registered)
            fprintf(stderr, "dfs: admin: %s: warning: no datanode is registered at this "
                    "address; one that registers there later will be %s ('dfs report' "
                    "lists the addresses)\n", argv[optind],
                    on ? "decommissioned" : "in service");
    }
    return sh_status(sh);
}
