/*
 * chaos-writer.c - the hflushing writer of tools/chaos: writes a local file
 * to dfs in pieces, with dfs_hflush (or dfs_hsync) after each piece, and
 * prints every flushed offset so that the caller knows which prefix the
 * file must keep whatever happens to this process afterwards.
 *
 *   dfs-chaos-writer [-n HOST:PORT] [-b BLOCKSIZE] [-r REPL] [-p PAUSE_MS]
 *                    [-y EVERY] REMOTE LOCAL PIECE
 *
 * The options come from $DFS_CONF's [client] section first (timeouts, lease
 * renewal), then -n, -b, -r.  REMOTE is created (it must not exist).  Each
 * piece of PIECE bytes (the last one shorter) is written, then flushed:
 * dfs_hsync every EVERY-th piece (default 0: never), dfs_hflush otherwise.
 * After the flush returned, one line goes to stdout, flushed at once:
 *
 *     opened                    REMOTE is open for writing
 *     hflushed OFFSET           bytes [0, OFFSET) of LOCAL are hflushed
 *     hsynced OFFSET            ... and hsynced
 *     closed LENGTH             dfs_close succeeded: the file is complete
 *
 * then it sleeps PAUSE_MS (default 0) before the next piece, so that the
 * caller has time to kill it between flushes.  Exit 0 after "closed"; 1
 * when a call fails (named on stderr with the library's message); 2 on
 * usage errors.  Public API only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dfs.h"

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "dfs-chaos-writer: %s%s%s: %s\n", what, path ? " " : "",
            path ? path : "", dfs_errmsg());
    return 1;
}

static int usage(void)
{
    fprintf(stderr, "usage: dfs-chaos-writer [-n HOST:PORT] [-b BLOCKSIZE] [-r REPL] "
                    "[-p PAUSE_MS] [-y EVERY] REMOTE LOCAL PIECE\n");
    return 2;
}

/* Parse a decimal number in [min, max]; 0 on success, -1 otherwise. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;

    if (!*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The whole of a local file in a malloc'ed buffer; NULL (perror) on failure. */
static unsigned char *read_local(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;

    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(path);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    unsigned char *data = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    if (!data) {
        fprintf(stderr, "dfs-chaos-writer: out of memory\n");
        close(fd);
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;   /* the file shrank under us */
            perror(path);
            free(data);
            close(fd);
            return NULL;
        }
        got += (size_t)n;
    }
    close(fd);
    *size = got;
    return data;
}

static void pause_ms(uint64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    const char *nn = NULL;
    uint64_t bsize = 0, repl = 0, pause = 0, every = 0, piece;
    int ch;

    while ((ch = getopt(argc, argv, "n:b:r:p:y:")) != -1) {
        switch (ch) {
        case 'n': nn = optarg; break;
        case 'b': if (parse_u64(optarg, 1, UINT64_MAX, &bsize)) return usage(); break;
        case 'r': if (parse_u64(optarg, 1, 10, &repl)) return usage(); break;
        case 'p': if (parse_u64(optarg, 0, 3600000, &pause)) return usage(); break;
        case 'y': if (parse_u64(optarg, 0, UINT32_MAX, &every)) return usage(); break;
        default: return usage();
        }
    }
    if (argc - optind != 3 || parse_u64(argv[optind + 2], 1, 1ULL << 30, &piece))
        return usage();
    const char *remote = argv[optind], *local = argv[optind + 1];
    size_t size;
    unsigned char *data = read_local(local, &size);
    if (!data)
        return 1;

    dfs_options *o = dfs_options_create();
    if (!o) {
        fprintf(stderr, "dfs-chaos-writer: out of memory\n");
        return 1;
    }
    if (dfs_options_load_conf(o, NULL) != DFS_OK)
        return fail("configuration", NULL);
    if (nn && dfs_options_set_namenode(o, nn) != DFS_OK)
        return fail("namenode", nn);
    dfs_fs *fs;
    int rc = dfs_connect(o, &fs);
    dfs_options_destroy(o);
    if (rc != DFS_OK)
        return fail("connect", NULL);
    dfs_file *f;
    if (dfs_open_write(fs, remote, 0, 0644, (unsigned)repl, bsize, &f) != DFS_OK)
        return fail("open", remote);
    printf("opened\n");
    fflush(stdout);

    size_t off = 0;
    for (uint64_t k = 1; off < size; k++) {
        size_t n = size - off < piece ? size - off : (size_t)piece;
        if (dfs_write(f, data + off, n) != DFS_OK)
            return fail("write", remote);
        off += n;
        int sync = every && k % every == 0;
        if ((sync ? dfs_hsync(f) : dfs_hflush(f)) != DFS_OK)
            return fail(sync ? "hsync" : "hflush", remote);
        printf("%s %zu\n", sync ? "hsynced" : "hflushed", off);
        fflush(stdout);
        if (off < size && pause)
            pause_ms(pause);
    }
    if (dfs_close(f) != DFS_OK)
        return fail("close", remote);
    dfs_disconnect(fs);
    free(data);
    printf("closed %zu\n", size);
    return 0;
}
