/*
 * hflush_check.c - integration-test helper: writes a local file to dfs in
 * steps, with hflush / hsync between them, and lets the test look at the
 * datanodes' disks (or kill a datanode, or this process) after each step.
 *
 *   dfs-hflush-check -n HOST:PORT [-c CONF] [-b BLOCKSIZE] [-r REPLICATION]
 *                    [-A] REMOTE LOCAL STEP...
 *
 * -c loads the [client] section of CONF (timeouts, lease renewal) before
 * -n applies.  -A opens REMOTE with dfs_open_append (the bytes of LOCAL go
 * after its end) instead of creating it.
 *
 * STEP is `wN` (write the next N bytes of LOCAL), `f` (dfs_hflush), `s`
 * (dfs_hsync), `p` (pause: no flush) or `a` (dfs_abort, then print
 * "aborted" and stop).  After each flush it prints "flushed OFFSET", after
 * a pause "paused OFFSET" (bytes of LOCAL written so far), and waits for a
 * line on stdin before going on.  At the end it writes what is left of
 * LOCAL, closes the file and prints "closed".  Without -c, client
 * settings come from $DFS_CONF when set.  Exit 0; 1 when a call fails
 * (named on stderr with the library's message; the file is then closed,
 * not aborted); 2 on usage errors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dfs.h"

static int fail(const char *what)
{
    fprintf(stderr, "dfs-hflush-check: %s: %s\n", what, dfs_errmsg());
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: dfs-hflush-check -n HOST:PORT [-c CONF] [-b BLOCKSIZE] "
                    "[-r REPLICATION] [-A] REMOTE LOCAL wN|f|s|p|a...\n");
    return 2;
}

/* Tell the test where the writer is, then wait for its go-ahead line. */
static int pause_at(const char *what, size_t off)
{
    char line[64];
    printf("%s %zu\n", what, off);
    fflush(stdout);
    return fgets(line, sizeof(line), stdin) ? 0 : -1;
}

static int valid_step(const char *step)
{
    return step[0] == 'w' || !strcmp(step, "f") || !strcmp(step, "s") || !strcmp(step, "p") ||
           !strcmp(step, "a");
}

/* Run the steps on f, then write the rest of data and close it.  A call
 * that fails is named on stderr and f is closed all the same (not
 * aborted: the file stays as the failure left it).  f is gone on return;
 * returns the exit status. */
static int run_steps(dfs_file *f, const unsigned char *data, size_t size, char **steps,
                     int nsteps)
{
    const char *failed = NULL;
    size_t off = 0;

    for (int i = 0; i < nsteps && !failed; i++) {
        const char *step = steps[i];
        if (step[0] == 'w') {
            size_t n = strtoull(step + 1, NULL, 10);
            if (n > size - off)
                n = size - off;
            if (dfs_write(f, data + off, n) != DFS_OK)
                failed = "write";
            off += n;
        } else if (!strcmp(step, "f") || !strcmp(step, "s")) {
            if ((step[0] == 'f' ? dfs_hflush(f) : dfs_hsync(f)) != DFS_OK)
                failed = step[0] == 'f' ? "hflush" : "hsync";
            else if (pause_at("flushed", off) != 0)
                failed = "stdin";
        } else if (!strcmp(step, "p")) {
            if (pause_at("paused", off) != 0)
                failed = "stdin";
        } else {                        /* "a" */
            if (dfs_abort(f) != DFS_OK)
                return fail("abort");
            printf("aborted\n");
            return 0;
        }
    }
    if (!failed && dfs_write(f, data + off, size - off) != DFS_OK)
        failed = "write";
    if (failed) {
        fail(failed);
        dfs_close(f);
        return 1;
    }
    if (dfs_close(f) != DFS_OK)
        return fail("close");
    printf("closed\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *nn = NULL, *conf = NULL;
    unsigned long long bsize = 0;
    unsigned repl = 0;
    int append = 0, ch, rc = 1;

    while ((ch = getopt(argc, argv, "n:c:b:r:A")) != -1) {
        switch (ch) {
        case 'n': nn = optarg; break;
        case 'c': conf = optarg; break;
        case 'b': bsize = strtoull(optarg, NULL, 10); break;
        case 'r': repl = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'A': append = 1; break;
        default: return usage();
        }
    }
    if (!nn || argc - optind < 2)
        return usage();
    for (int i = optind + 2; i < argc; i++)
        if (!valid_step(argv[i]))
            return usage();
    const char *remote = argv[optind], *local = argv[optind + 1];
    int fd = open(local, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(local);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    unsigned char *data = malloc((size_t)st.st_size + 1);
    if (!data || read(fd, data, (size_t)st.st_size) != st.st_size) {
        perror(local);
        free(data);
        close(fd);
        return 1;
    }
    close(fd);

    dfs_options *o = dfs_options_create();
    dfs_fs *fs = NULL;
    dfs_file *f;
    /* -c CONF, else $DFS_CONF when set */
    if (!o || dfs_options_load_conf(o, conf) != DFS_OK) {
        fail(conf ? conf : "config");
        goto out;
    }
    if (dfs_options_set_namenode(o, nn) != DFS_OK) {
        fail("namenode");
        goto out;
    }
    if (dfs_connect(o, &fs) != DFS_OK) {
        fail("connect");
        goto out;
    }
    if ((append ? dfs_open_append(fs, remote, &f)
                : dfs_open_write(fs, remote, 0, 0644, repl, bsize, &f)) != DFS_OK) {
        fail(remote);
        goto out;
    }
    rc = run_steps(f, data, (size_t)st.st_size, argv + optind + 2, argc - optind - 2);
out:
    if (fs)
        dfs_disconnect(fs);
    dfs_options_destroy(o);
    free(data);
    return rc;
}
