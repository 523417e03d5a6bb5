/*
 * sc_check.c - integration-test helper for short-circuit reads: keeps one
 * dfs_fs open (so its short-circuit descriptor cache lives across steps)
 * and runs commands read from stdin, one per line, answering each with one
 * line on stdout:
 *
 *   read PATH OUT         open PATH, read it whole (1 MiB dfs_read calls),
 *                         write the bytes to the local file OUT, close:
 *                         "ok BYTES SC_BYTES LOCAL_BYTES" (read statistics)
 *   hold PATH             open PATH and keep the handle: "ok LENGTH"
 *   hread OFF LEN OUT     dfs_pread through the held handle into OUT:
 *                         "ok BYTES SC_BYTES LOCAL_BYTES" (statistics of
 *                         this read alone)
 *   hclose                close the held handle: "ok"
 *   quit
 *
 * A failing call answers "err CODE MESSAGE".  Options are loaded from the
 * environment (DFS_CONF: e.g. [client] short_circuit = 0), then -n sets
 * the namenode.  The library's log lines go to stderr ("log LEVEL MSG").
 *
 *   dfs-sc-check -n HOST:PORT
 *
 * Exit 0 after quit (or end of input), 1 when it cannot connect, 2 on a
 * usage error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dfs.h"

static void log_fn(enum dfs_log_level level, const char *msg, void *arg)
{
    (void)arg;
    fprintf(stderr, "log %d %s\n", (int)level, msg);
}

static int err_line(int rc)
{
    printf("err %d %s\n", rc < 0 ? -rc : rc, dfs_errmsg());
    return 0;
}

/* Read [off, off + len) (len UINT64_MAX: to the end) of f into out. */
static void read_into(dfs_file *f, uint64_t off, uint64_t len, const char *out)
{
    static char buf[1 << 20];
    FILE *o = fopen(out, "wb");
    if (!o) {
        printf("err 0 cannot create %s\n", out);
        return;
    }
    dfs_clear_read_stats(f);
    uint64_t done = 0;
    int64_t n = 0;
    while (done < len) {
        size_t want = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);
        n = dfs_pread(f, buf, want, off + done);
        if (n <= 0)
            break;
        fwrite(buf, 1, (size_t)n, o);
        done += (uint64_t)n;
    }
    fclose(o);
    if (n < 0) {
        err_line((int)n);
        return;
    }
    struct dfs_read_stats st;
    dfs_get_read_stats(f, &st);
    printf("ok %llu %llu %llu\n", (unsigned long long)done,
           (unsigned long long)st.short_circuit_bytes_read,
           (unsigned long long)st.local_bytes_read);
}

int main(int argc, char **argv)
{
    if (argc != 3 || strcmp(argv[1], "-n") != 0) {
        fprintf(stderr, "usage: dfs-sc-check -n HOST:PORT\n");
        return 2;
    }
    dfs_options *o = dfs_options_create();
    dfs_fs *fs;
    if (!o || dfs_options_load_env(o) != DFS_OK || dfs_options_set_namenode(o, argv[2]) != DFS_OK) {
        fprintf(stderr, "dfs-sc-check: options: %s\n", dfs_errmsg());
        return 2;
    }
    dfs_options_set_log_func(o, log_fn, NULL);
    if (dfs_connect(o, &fs) != DFS_OK) {
        fprintf(stderr, "dfs-sc-check: connect: %s\n", dfs_errmsg());
        dfs_options_destroy(o);
        return 1;
    }
    dfs_options_destroy(o);
    setvbuf(stdout, NULL, _IOLBF, 0);

    dfs_file *held = NULL;
    char line[8192], a[4096], b[4096];
    unsigned long long x, y;
    while (fgets(line, sizeof(line), stdin)) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, "quit") == 0)
            break;
        if (sscanf(line, "read %4095s %4095s", a, b) == 2) {
            dfs_file *f;
            int rc = dfs_open_read(fs, a, &f);
            if (rc != DFS_OK) {
                err_line(rc);
                continue;
            }
            read_into(f, 0, UINT64_MAX, b);
            dfs_close(f);
        } else if (sscanf(line, "hold %4095s", a) == 1) {
            if (held)
                dfs_close(held);
            held = NULL;
            int rc = dfs_open_read(fs, a, &held);
            if (rc != DFS_OK)
                err_line(rc);
            else
                printf("ok %llu\n", (unsigned long long)dfs_file_length(held));
        } else if (sscanf(line, "hread %llu %llu %4095s", &x, &y, a) == 3) {
            if (!held)
                printf("err 0 nothing held\n");
            else
                read_into(held, x, y, a);
        } else if (strcmp(line, "hclose") == 0) {
            if (held)
                dfs_close(held);
            held = NULL;
            printf("ok\n");
        } else {
            printf("err 0 unknown command\n");
        }
    }
    if (held)
        dfs_close(held);
    dfs_disconnect(fs);
    return 0;
}
