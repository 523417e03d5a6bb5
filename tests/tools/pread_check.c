/*
 * pread_check.c - integration-test helper: compares random preads of a dfs
 * file through the public C API with the same ranges of a local file.
 *
 *   dfs-pread-check -n HOST:PORT [-i ITERATIONS] [-s SEED] REMOTE LOCAL
 *
 * Prints "N preads matched" and exits 0, or names the first mismatch and
 * exits 1; exit 2 on usage errors.
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
    fprintf(stderr, "dfs-pread-check: %s: %s\n", what, dfs_errmsg());
    return 1;
}

int main(int argc, char **argv)
{
    const char *nn = NULL;
    long iters = 200;
    unsigned seed = 1;
    int ch;
    while ((ch = getopt(argc, argv, "n:i:s:")) != -1) {
        switch (ch) {
        case 'n': nn = optarg; break;
        case 'i': iters = atol(optarg); break;
        case 's': seed = (unsigned)atol(optarg); break;
        default: return 2;
        }
    }
    if (!nn || argc - optind != 2) {
        fprintf(stderr, "usage: dfs-pread-check -n HOST:PORT [-i N] [-s SEED] REMOTE LOCAL\n");
        return 2;
    }
    const char *remote = argv[optind], *local = argv[optind + 1];
    int fd = open(local, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(local);
        return 1;
    }
    dfs_options *o = dfs_options_create();
    if (dfs_options_set_namenode(o, nn) != DFS_OK)
        return fail("namenode");
    dfs_fs *fs;
    if (dfs_connect(o, &fs) != DFS_OK)
        return fail("connect");
    dfs_options_destroy(o);
    dfs_file *f;
    if (dfs_open_read(fs, remote, &f) != DFS_OK)
        return fail(remote);
    if (dfs_file_length(f) != (uint64_t)st.st_size) {
        fprintf(stderr, "dfs-pread-check: length %llu != local %lld\n",
                (unsigned long long)dfs_file_length(f), (long long)st.st_size);
        return 1;
    }
    srand(seed);
    size_t maxlen = 3u << 20;
    char *a = malloc(maxlen), *b = malloc(maxlen);
    if (!a || !b)
        return 1;
    for (long i = 0; i < iters; i++) {
        uint64_t size = (uint64_t)st.st_size;
        uint64_t off = size ? ((uint64_t)rand() << 16 ^ (uint64_t)rand()) % (size + 1) : 0;
        size_t len = (size_t)rand() % (i % 4 == 0 ? maxlen : 70000) + 1;
        int64_t n = dfs_pread(f, a, len, off);
        if (n < 0)
            return fail("pread");
        ssize_t m = pread(fd, b, len, (off_t)off);
        if (n != m || memcmp(a, b, (size_t)n) != 0) {
            fprintf(stderr, "dfs-pread-check: mismatch at offset %llu length %zu (%lld vs %zd)\n",
                    (unsigned long long)off, len, (long long)n, m);
            return 1;
        }
    }
    printf("%ld preads matched\n", iters);
    dfs_close(f);
    dfs_disconnect(fs);
    free(a);
    free(b);
    close(fd);
    return 0;
}
