/*
 * test_namespace.c - unit tests of the metastore and the namespace.
 *
 * Each test works on a namespace in a fresh LevelDB under a mkdtemp
 * directory, removed at the end.
 */
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "metastore.h"
#include "namespace.h"

#define MiB (1024ull * 1024)

static const struct ns_limits limits = {
    .default_replication = 3,
    .max_replication = 512,
    .default_block_size = 128 * MiB,
    .min_block_size = 1 * MiB,
};

static char tmpdir[64];
static char dbdir[128];
static char err[512];
static struct metastore *ms;
static struct ns *ns;

/* Run an ns_* call: check its status and, when given, its message. */
#define EXPECT(call, want, msg) do { \
        err[0] = '\0'; \
        int rc_ = (call); \
        CHECK_EQ_INT(rc_, (want)); \
        if (rc_ != (want)) \
            fprintf(stderr, "    (err: \"%s\")\n", err); \
        else if ((msg) != NULL) \
            CHECK_EQ_STR(err, (const char *)(msg)); \
    } while (0)
#define OK(call) EXPECT(call, 0, NULL)

static const char *const no_msg = NULL;
static const char *const NOENT = "No such file or directory";
static const char *const NOTDIR = "Not a directory";
static const char *const EXIST = "File exists";

static void open_store(void)
{
    ms = ms_open(dbdir, 8, err, sizeof(err));
    if (ms == NULL) {
        fprintf(stderr, "ms_open: %s\n", err);
        exit(1);
    }
    ns = ns_open(ms, &limits, err, sizeof(err));
    if (ns == NULL) {
        fprintf(stderr, "ns_open: %s\n", err);
        exit(1);
    }
}

static void close_store(void)
{
    ns_close(ns);
    ms_close(ms);
    ns = NULL;
    ms = NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void counts(uint64_t *files, uint64_t *dirs)
{
    ns_counts(ns, files, dirs);
}

static struct ns_stat st_of(const char *path)
{
    struct ns_stat st;

    memset(&st, 0, sizeof(st));
    if (ns_stat(ns, path, &st, err, sizeof(err)) != 0)
        st.inode = 0;
    return st;
}

static int exists(const char *path)
{
    return st_of(path).inode != 0;
}

static int touch(const char *path)
{
    return ns_create(ns, path, 0644, 0, 0, 0, 0, 0, NULL, "alice", NULL, err, sizeof(err));
}

/* Blocks removed, as a callback sees them. */
struct removed {
    uint64_t ids[64];
    size_t n;
};

static void on_removed(uint64_t id, void *arg)
{
    struct removed *r = arg;

    if (r->n < 64)
        r->ids[r->n] = id;
    r->n++;
}

/* Make path a file of `nblocks` blocks of `len` bytes each, written by
 * client "w"; returns its inode. */
static uint64_t write_file(const char *path, unsigned nblocks, uint64_t len, uint32_t repl)
{
    struct ns_stat st;
    uint64_t prev = 0, id = 0, gs;

    if (ns_create(ns, path, 0644, repl, 0, 1, 0, 1, "w", "alice", &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "write_file %s: %s\n", path, err);
        return 0;
    }
    for (unsigned i = 0; i < nblocks; i++) {
        if (ns_add_block(ns, st.inode, "w", prev, len, &id, &gs, NULL, err, sizeof(err)) != 0)
            fprintf(stderr, "add_block %s: %s\n", path, err);
        prev = id;
    }
    if (ns_complete(ns, st.inode, "w", prev, len, err, sizeof(err)) != 0)
        fprintf(stderr, "complete %s: %s\n", path, err);
    return st.inode;
}

/* -------------------------------------------------------------- tests */

static void test_metastore(void)
{
    struct ms_batch *b = ms_batch_new();
    struct ms_iter *it;
    char *val;
    size_t vlen, klen;
    const char *k;
    int n = 0;

    CHECK_EQ_INT(ms_get(ms, "xnone", 5, &val, &vlen), 0);
    CHECK(val == NULL);
    ms_batch_put(b, "x1", 2, "one", 3);
    ms_batch_put(b, "x2", 2, "two", 3);
    ms_batch_put(b, "x3", 2, "three", 5);
    ms_batch_delete(b, "x2", 2);
    CHECK_EQ_INT(ms_write(ms, b), 0);
    CHECK_EQ_INT(ms_get(ms, "x1", 2, &val, &vlen), 1);
    CHECK_EQ_INT(vlen, 3);
    CHECK(val != NULL && memcmp(val, "one", 3) == 0);
    free(val);
    CHECK_EQ_INT(ms_get(ms, "x2", 2, &val, &vlen), 0);
    CHECK_EQ_INT(ms_sync(ms), 0);

    it = ms_iter_new(ms);
    ms_batch_clear(b);
    ms_batch_put(b, "x4", 2, "four", 4);        /* after the snapshot */
    CHECK_EQ_INT(ms_write(ms, b), 0);
    for (ms_iter_seek(it, "x", 1); ms_iter_valid(it); ms_iter_next(it)) {
        k = ms_iter_key(it, &klen);
        if (klen < 1 || k[0] != 'x')
            break;
        n++;
    }
    CHECK_EQ_INT(n, 2);                           /* x1, x3: snapshot */
    ms_iter_destroy(it);

    ms_batch_clear(b);
    ms_batch_delete(b, "x1", 2);
    ms_batch_delete(b, "x3", 2);
    ms_batch_delete(b, "x4", 2);
    CHECK_EQ_INT(ms_write(ms, b), 0);
    ms_batch_destroy(b);
    CHECK_EQ_INT(ms_get(ms, "x4", 2, &val, &vlen), 0);
}

static void test_format(void)
{
    const char *cid = ns_cluster_id(ns);
    struct ns_stat st;
    uint64_t files, dirs;

    CHECK_EQ_INT(strlen(cid), 36);
    CHECK(strncmp(cid, "CID-", 4) == 0);
    CHECK_EQ_INT(strspn(cid + 4, "0123456789abcdef"), 32);
    counts(&files, &dirs);
    CHECK_EQ_INT(files, 0);
    CHECK_EQ_INT(dirs, 1);
    OK(ns_stat(ns, "/", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.inode, NS_ROOT_INODE);
    CHECK_EQ_INT(st.type, DFS_TYPE_DIR);
    CHECK_EQ_INT(st.mode, 0755);
    CHECK_EQ_STR(st.owner, "root");
    CHECK_EQ_STR(st.group, "supergroup");
    CHECK_EQ_STR(st.name, "");
    CHECK_EQ_INT(st.children, 0);
    CHECK(st.mtime_ms > 1600000000000ull);
}

static void test_mkdir(void)
{
    struct ns_stat st, root;
    uint64_t files, dirs, dirs0;

    counts(&files, &dirs0);
    OK(ns_setattr(ns, "/", NS_SET_MTIME, 0, NULL, NULL, 0, 1, 0, err, sizeof(err)));
    OK(ns_mkdir(ns, "/a", 0750, 0, "alice", err, sizeof(err)));
    st = st_of("/a");
    CHECK(st.inode > NS_ROOT_INODE);
    CHECK_EQ_INT(st.type, DFS_TYPE_DIR);
    CHECK_EQ_INT(st.mode, 0750);
    CHECK_EQ_STR(st.owner, "alice");
    CHECK_EQ_STR(st.group, "supergroup");
    CHECK_EQ_STR(st.name, "a");
    CHECK_EQ_INT(st.complete, 1);
    CHECK(st.mtime_ms == st.atime_ms && st.mtime_ms > 1);
    root = st_of("/");
    CHECK_EQ_INT(root.children, 1);
    CHECK(root.mtime_ms > 1);           /* parent's mtime updated */

    EXPECT(ns_mkdir(ns, "/a", 0755, 0, "alice", err, sizeof(err)), DFS_ERR_EXIST, EXIST);
    OK(ns_mkdir(ns, "/a", 0755, 1, "alice", err, sizeof(err)));
    EXPECT(ns_mkdir(ns, "/", 0755, 0, NULL, err, sizeof(err)), DFS_ERR_EXIST, EXIST);
    OK(ns_mkdir(ns, "/", 0755, 1, NULL, err, sizeof(err)));
    EXPECT(ns_mkdir(ns, "/x/y", 0755, 0, "alice", err, sizeof(err)), DFS_ERR_NOENT, NOENT);
    CHECK(!exists("/x"));
    EXPECT(ns_mkdir(ns, "/a/b", 010755, 0, "alice", err, sizeof(err)),
           DFS_ERR_INVAL, "invalid mode");
    EXPECT(ns_mkdir(ns, "a/b", 0755, 0, "alice", err, sizeof(err)), DFS_ERR_INVAL, no_msg);
    EXPECT(ns_mkdir(ns, "/a/b", 0755, 0, "bad user", err, sizeof(err)), DFS_ERR_INVAL, no_msg);

    /* mkdir -p: every missing level, with the user as owner. */
    OK(ns_mkdir(ns, "/x/y/z", 0700, 1, "bob", err, sizeof(err)));
    counts(&files, &dirs);
    CHECK_EQ_INT(dirs, dirs0 + 4);
    CHECK_EQ_INT(st_of("/x/y/z").mode, 0700);
    CHECK_EQ_STR(st_of("/x/y").owner, "bob");
    CHECK_EQ_INT(st_of("/x").children, 1);
    CHECK_EQ_INT(st_of("/x/y").children, 1);
    CHECK_EQ_INT(st_of("/x/y/z").children, 0);
    CHECK_EQ_INT(st_of("/").children, 2);
    OK(ns_mkdir(ns, "/x/y/z", 0700, 1, "bob", err, sizeof(err)));
    counts(&files, &dirs);
    CHECK_EQ_INT(dirs, dirs0 + 4);

    /* Owner "root" without a user; group from the parent. */
    OK(ns_setattr(ns, "/x", NS_SET_GROUP, 0, NULL, "staff", 0, 0, 0, err, sizeof(err)));
    OK(ns_mkdir(ns, "/x/n", 0755, 0, NULL, err, sizeof(err)));
    CHECK_EQ_STR(st_of("/x/n").owner, "root");
    CHECK_EQ_STR(st_of("/x/n").group, "staff");
    OK(ns_mkdir(ns, "/x/e", 0755, 0, "", err, sizeof(err)));
    CHECK_EQ_STR(st_of("/x/e").owner, "root");
    OK(ns_mkdir(ns, "/x/p/q", 0755, 1, "carol", err, sizeof(err)));
    CHECK_EQ_STR(st_of("/x/p").group, "staff");
    CHECK_EQ_STR(st_of("/x/p/q").group, "staff");

    /* Files in the way. */
    OK(touch("/a/f"));
    EXPECT(ns_mkdir(ns, "/a/f/g", 0755, 0, "alice", err, sizeof(err)), DFS_ERR_NOTDIR, NOTDIR);
    EXPECT(ns_mkdir(ns, "/a/f/g", 0755, 1, "alice", err, sizeof(err)), DFS_ERR_NOTDIR, NOTDIR);
    EXPECT(ns_mkdir(ns, "/a/f", 0755, 0, "alice", err, sizeof(err)), DFS_ERR_EXIST, EXIST);
    EXPECT(ns_mkdir(ns, "/a/f", 0755, 1, "alice", err, sizeof(err)), DFS_ERR_EXIST, EXIST);
    st = st_of("/a");
    CHECK_EQ_INT(st.children, 1);
    OK(ns_delete(ns, "/a/f", 0, NULL, NULL, err, sizeof(err)));
}

static void test_create(void)
{
    struct ns_stat st, st2;
    struct removed rm = { .n = 0 };
    uint64_t files0, dirs0, files, dirs, ino;

    counts(&files0, &dirs0);
    OK(ns_mkdir(ns, "/c", 0755, 0, "alice", err, sizeof(err)));
    OK(ns_setattr(ns, "/c", NS_SET_GROUP, 0, NULL, "eng", 0, 0, 0, err, sizeof(err)));
    OK(ns_create(ns, "/c/f", 0640, 0, 0, 0, 0, 0, NULL, "alice", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.type, DFS_TYPE_FILE);
    CHECK_EQ_INT(st.mode, 0640);
    CHECK_EQ_INT(st.replication, 3);
    CHECK_EQ_INT(st.block_size, 128 * MiB);
    CHECK_EQ_INT(st.complete, 1);
    CHECK_EQ_INT(st.length, 0);
    CHECK_EQ_STR(st.owner, "alice");
    CHECK_EQ_STR(st.group, "eng");
    CHECK_EQ_STR(st.name, "f");
    st2 = st_of("/c/f");
    CHECK_EQ_INT(st2.inode, st.inode);
    CHECK_EQ_INT(st2.complete, 1);
    CHECK_EQ_INT(st_of("/c").children, 1);
    counts(&files, &dirs);
    CHECK_EQ_INT(files, files0 + 1);

    EXPECT(touch("/c/f"), DFS_ERR_EXIST, EXIST);
    EXPECT(touch("/c"), DFS_ERR_ISDIR, "Is a directory");
    EXPECT(touch("/"), DFS_ERR_ISDIR, "Is a directory");
    EXPECT(ns_create(ns, "/c", 0644, 0, 0, 1, 0, 0, NULL, NULL, NULL, err, sizeof(err)),
           DFS_ERR_ISDIR, no_msg);
    EXPECT(touch("/nodir/f"), DFS_ERR_NOENT, NOENT);
    EXPECT(touch("/c/f/g"), DFS_ERR_NOTDIR, NOTDIR);
    EXPECT(ns_create(ns, "/c/r", 0644, 600, 0, 0, 0, 0, NULL, NULL, NULL, err, sizeof(err)),
           DFS_ERR_INVAL, "replication 600 out of range [1, 512]");
    EXPECT(ns_create(ns, "/c/r", 0644, 0, 4096, 0, 0, 0, NULL, NULL, NULL, err, sizeof(err)),
           DFS_ERR_INVAL, "block size 4096 below the minimum 1048576");
    EXPECT(ns_create(ns, "/c/r", 070000, 0, 0, 0, 0, 0, NULL, NULL, NULL, err, sizeof(err)),
           DFS_ERR_INVAL, "invalid mode");
    EXPECT(ns_create(ns, "/c/r", 0644, 0, 0, 0, 0, 1, NULL, NULL, NULL, err, sizeof(err)),
           DFS_ERR_INVAL, "invalid client name");
    CHECK(!exists("/c/r"));
    OK(ns_create(ns, "/c/r", 0644, 512, 1 * MiB, 0, 0, 0, NULL, NULL, &st, err, sizeof(err)));
    CHECK_EQ_INT(st.replication, 512);
    CHECK_EQ_INT(st.block_size, 1 * MiB);
    CHECK_EQ_STR(st.owner, "root");

    /* With parents: missing directories are made. */
    EXPECT(touch("/c/p/q/f"), DFS_ERR_NOENT, NOENT);
    OK(ns_create(ns, "/c/p/q/f", 0644, 0, 0, 0, 1, 0, NULL, "bob", NULL, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/c/p").type, DFS_TYPE_DIR);
    CHECK_EQ_STR(st_of("/c/p/q").group, "eng");
    CHECK_EQ_INT(st_of("/c/p/q/f").type, DFS_TYPE_FILE);
    OK(ns_create(ns, "/c/p/q/g", 0644, 0, 0, 0, 1, 0, NULL, "bob", NULL, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/c/p/q").children, 2);
    EXPECT(ns_create(ns, "/c/f/x/y", 0644, 0, 0, 0, 1, 0, NULL, NULL, NULL, err, sizeof(err)),
           DFS_ERR_NOTDIR, NOTDIR);

    /* Open for write: under construction, then overwrite with blocks. */
    OK(ns_create(ns, "/c/w", 0644, 2, 0, 0, 0, 1, "client-1", "alice", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.complete, 0);
    CHECK_EQ_INT(st_of("/c/w").complete, 0);
    CHECK_EQ_INT(st_of("/c/w").replication, 2);
    ino = write_file("/c/b", 2, 1000, 0);
    CHECK(ino != 0);
    CHECK_EQ_INT(st_of("/c/b").length, 2000);
    counts(&files0, &dirs0);
    ns_set_block_removed(ns, on_removed, &rm);
    OK(ns_create(ns, "/c/b", 0600, 0, 0, 1, 0, 0, NULL, "bob", &st, err, sizeof(err)));
    ns_set_block_removed(ns, NULL, NULL);
    CHECK_EQ_INT(rm.n, 2);
    CHECK(st.inode > ino);
    CHECK_EQ_INT(st.length, 0);
    CHECK_EQ_STR(st_of("/c/b").owner, "bob");
    CHECK_EQ_INT(ns_block_lookup(ns, rm.ids[0], NULL, NULL, NULL, NULL), DFS_ERR_NOENT);
    CHECK_EQ_INT(ns_block_lookup(ns, rm.ids[1], NULL, NULL, NULL, NULL), DFS_ERR_NOENT);
    EXPECT(ns_stat_inode(ns, ino, &st2, err, sizeof(err)), DFS_ERR_NOENT, NOENT);
    counts(&files, &dirs);
    CHECK_EQ_INT(files, files0);
    CHECK_EQ_INT(st_of("/c").children, 5);     /* f r p w b */
    OK(ns_delete(ns, "/c", 1, NULL, NULL, err, sizeof(err)));
}

static void test_stat_list(void)
{
    struct ns_stat *ents;
    size_t n;
    int more;
    const char *names[] = { "B", "a", "b", "b0", "z", "\xc3\xa9t\xc3\xa9" };   /* byte order */

    OK(ns_mkdir(ns, "/l", 0755, 0, "alice", err, sizeof(err)));
    OK(ns_list(ns, "/l", "", 10, &ents, &n, &more, err, sizeof(err)));
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(more, 0);
    free(ents);
    for (int i = 5; i >= 0; i--) {
        char p[64];

        snprintf(p, sizeof(p), "/l/%s", names[i]);
        if (i == 2)
            OK(ns_mkdir(ns, p, 0755, 0, NULL, err, sizeof(err)));
        else
            OK(touch(p));
    }
    OK(ns_list(ns, "/l", "", 100, &ents, &n, &more, err, sizeof(err)));
    CHECK_EQ_INT(n, 6);
    CHECK_EQ_INT(more, 0);
    for (size_t i = 0; i < n && i < 6; i++)
        CHECK_EQ_STR(ents[i].name, names[i]);
    if (n == 6) {
        CHECK_EQ_INT(ents[2].type, DFS_TYPE_DIR);
        CHECK_EQ_INT(ents[3].type, DFS_TYPE_FILE);
        CHECK_EQ_INT(ents[3].inode, st_of("/l/b0").inode);
    }
    free(ents);

    OK(ns_list(ns, "/l", "a", 2, &ents, &n, &more, err, sizeof(err)));
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(more, 1);
    if (n == 2) {
        CHECK_EQ_STR(ents[0].name, "b");
        CHECK_EQ_STR(ents[1].name, "b0");
    }
    free(ents);
    OK(ns_list(ns, "/l", "az", 10, &ents, &n, &more, err, sizeof(err)));   /* not a name */
    CHECK_EQ_INT(n, 4);
    CHECK_EQ_INT(more, 0);
    free(ents);
    OK(ns_list(ns, "/l", "\xc3\xa9t\xc3\xa9", 10, &ents, &n, &more, err, sizeof(err)));
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(more, 0);
    free(ents);
    OK(ns_list(ns, "/l", "b0", 3, &ents, &n, &more, err, sizeof(err)));
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(more, 0);
    free(ents);

    /* A file lists itself. */
    OK(ns_list(ns, "/l/a", "", 10, &ents, &n, &more, err, sizeof(err)));
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_EQ_STR(ents[0].name, "a");
        CHECK_EQ_INT(ents[0].type, DFS_TYPE_FILE);
    }
    free(ents);
    OK(ns_list(ns, "/l/a", "a", 10, &ents, &n, &more, err, sizeof(err)));
    CHECK_EQ_INT(n, 0);
    free(ents);

    EXPECT(ns_list(ns, "/nope", "", 10, &ents, &n, &more, err, sizeof(err)),
           DFS_ERR_NOENT, NOENT);
    CHECK(ents == NULL);
    EXPECT(ns_list(ns, "/l/a/x", "", 10, &ents, &n, &more, err, sizeof(err)),
           DFS_ERR_NOTDIR, NOTDIR);
    struct ns_stat st;
    EXPECT(ns_stat(ns, "/l/zz", &st, err, sizeof(err)), DFS_ERR_NOENT, NOENT);
    EXPECT(ns_stat(ns, "/l/a/x", &st, err, sizeof(err)), DFS_ERR_NOTDIR, NOTDIR);
    EXPECT(ns_stat(ns, "", &st, err, sizeof(err)), DFS_ERR_INVAL, no_msg);
    EXPECT(ns_stat(ns, "/l/", &st, err, sizeof(err)), DFS_ERR_INVAL, no_msg);
    EXPECT(ns_stat(ns, "/l//a", &st, err, sizeof(err)), DFS_ERR_INVAL, no_msg);
    EXPECT(ns_stat(ns, "/l/../l", &st, err, sizeof(err)), DFS_ERR_INVAL, no_msg);
    OK(ns_stat(ns, "/l/b", &st, err, sizeof(err)));
    CHECK_EQ_STR(st.name, "b");
    OK(ns_stat_inode(ns, st.inode, &st, err, sizeof(err)));
    CHECK_EQ_INT(st.type, DFS_TYPE_DIR);
    CHECK_EQ_STR(st.name, "");
    OK(ns_delete(ns, "/l", 1, NULL, NULL, err, sizeof(err)));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 100,000 entries listed completely, in byte order, page by page. */
static void test_big_listing(void)
{
    enum { N = 100000, PAGE = 1000 };
    char **names = calloc(N, sizeof(*names));
    char path[64], last[256] = "";
    uint64_t files0, dirs0, files, dirs;
    size_t total = 0, pages = 0, bad_order = 0, bad_name = 0;
    int more = 1;

    counts(&files0, &dirs0);
    OK(ns_mkdir(ns, "/big", 0755, 0, "alice", err, sizeof(err)));
    for (unsigned i = 0; i < N; i++) {
        /* Names whose creation order is not their byte order. */
        uint32_t h = i * 2654435761u;
        char name[32];

        snprintf(name, sizeof(name), "%c%08x-%u", "aZ0_"[i % 4], h, i);
        names[i] = strdup(name);
        snprintf(path, sizeof(path), "/big/%s", name);
        if (touch(path) != 0) {
            CHECK(0);
            fprintf(stderr, "touch %s: %s\n", path, err);
            break;
        }
    }
    CHECK_EQ_INT(st_of("/big").children, N);
    qsort(names, N, sizeof(*names), cmp_str);
    while (more) {
        struct ns_stat *ents;
        size_t n;

        err[0] = '\0';
        if (ns_list(ns, "/big", last, PAGE, &ents, &n, &more, err, sizeof(err)) != 0) {
            CHECK(0);
            fprintf(stderr, "list: %s\n", err);
            break;
        }
        pages++;
        CHECK(n == PAGE || !more);
        for (size_t i = 0; i < n; i++, total++) {
            if (last[0] != '\0' && strcmp(ents[i].name, last) <= 0)
                bad_order++;
            if (total < N && strcmp(ents[i].name, names[total]) != 0)
                bad_name++;
            snprintf(last, sizeof(last), "%s", ents[i].name);
        }
        free(ents);
        if (pages > N / PAGE + 2)
            break;
    }
    CHECK_EQ_INT(total, N);
    CHECK_EQ_INT(pages, N / PAGE);
    CHECK_EQ_INT(bad_order, 0);
    CHECK_EQ_INT(bad_name, 0);
    counts(&files, &dirs);
    CHECK_EQ_INT(files, files0 + N);
    OK(ns_delete(ns, "/big", 1, NULL, NULL, err, sizeof(err)));
    counts(&files, &dirs);
    CHECK_EQ_INT(files, files0);
    CHECK_EQ_INT(dirs, dirs0);
    CHECK(!exists("/big"));
    for (unsigned i = 0; i < N; i++)
        free(names[i]);
    free(names);
}

static int count_block(uint64_t id, uint64_t gs, uint64_t len, uint64_t inode, void *arg)
{
    (*(size_t *)arg)++;
    return 0;
}

static size_t block_records(void)
{
    size_t n = 0;

    CHECK_EQ_INT(ns_foreach_block(ns, count_block, &n), 0);
    return n;
}

static void test_delete(void)
{
    struct removed rm = { .n = 0 };
    uint64_t files0, dirs0, files, dirs, ino;
    size_t blocks0 = block_records();
    struct ns_stat *ents;
    size_t n;
    int more;

    counts(&files0, &dirs0);
    EXPECT(ns_delete(ns, "/", 1, NULL, NULL, err, sizeof(err)),
           DFS_ERR_INVAL, "cannot delete the root directory");
    EXPECT(ns_delete(ns, "/nothing", 0, NULL, NULL, err, sizeof(err)), DFS_ERR_NOENT, NOENT);
    EXPECT(ns_delete(ns, "/no/thing", 1, NULL, NULL, err, sizeof(err)), DFS_ERR_NOENT, NOENT);

    /* A tree: /t/{f1, d1/{f2, d2/{f3, d3/}}, e/} with blocks. */
    OK(ns_mkdir(ns, "/t/d1/d2/d3", 0755, 1, "alice", err, sizeof(err)));
    OK(ns_mkdir(ns, "/t/e", 0755, 0, "alice", err, sizeof(err)));
    ino = write_file("/t/f1", 3, 10, 0);
    write_file("/t/d1/f2", 1, 10, 0);
    write_file("/t/d1/d2/f3", 2, 10, 0);
    counts(&files, &dirs);
    CHECK_EQ_INT(files, files0 + 3);
    CHECK_EQ_INT(dirs, dirs0 + 5);
    CHECK_EQ_INT(block_records(), blocks0 + 6);

    EXPECT(ns_delete(ns, "/t", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_NOTEMPTY, "Directory not empty");
    EXPECT(ns_delete(ns, "/t/f1/x", 0, NULL, NULL, err, sizeof(err)), DFS_ERR_NOTDIR, NOTDIR);
    OK(ns_delete(ns, "/t/e", 0, NULL, NULL, err, sizeof(err)));
    CHECK(!exists("/t/e"));
    CHECK_EQ_INT(st_of("/t").children, 2);
    OK(ns_delete(ns, "/t/f1", 0, on_removed, &rm, err, sizeof(err)));
    CHECK_EQ_INT(rm.n, 3);
    CHECK_EQ_INT(block_records(), blocks0 + 3);
    EXPECT(ns_stat_inode(ns, ino, NULL, err, sizeof(err)), DFS_ERR_NOENT, NOENT);

    rm.n = 0;
    OK(ns_delete(ns, "/t", 1, on_removed, &rm, err, sizeof(err)));
    CHECK_EQ_INT(rm.n, 3);
    CHECK(!exists("/t"));
    CHECK(!exists("/t/d1/d2/f3"));
    counts(&files, &dirs);
    CHECK_EQ_INT(files, files0);
    CHECK_EQ_INT(dirs, dirs0);
    CHECK_EQ_INT(block_records(), blocks0);
    for (size_t i = 0; i < rm.n; i++)
        CHECK_EQ_INT(ns_block_lookup(ns, rm.ids[i], NULL, NULL, NULL, NULL), DFS_ERR_NOENT);

    /* Nothing of the tree is left: no entry, no inode. */
    OK(ns_list(ns, "/", "", 1000, &ents, &n, &more, err, sizeof(err)));
    for (size_t i = 0; i < n; i++)
        CHECK(strcmp(ents[i].name, "t") != 0);
    free(ents);
    {
        struct ms_iter *it = ms_iter_new(ms);
        size_t inodes = 0, klen;

        for (ms_iter_seek(it, "i", 1); ms_iter_valid(it); ms_iter_next(it)) {
            const char *k = ms_iter_key(it, &klen);

            if (k[0] != 'i')
                break;
            inodes++;
        }
        ms_iter_destroy(it);
        counts(&files, &dirs);
        CHECK_EQ_INT(inodes, files + dirs);
    }
}

static void test_rename(void)
{
    struct removed rm = { .n = 0 };
    uint64_t files0, dirs0, files, dirs, ino, ino2;
    struct ns_stat st;

    OK(ns_mkdir(ns, "/r/d/sub", 0755, 1, "alice", err, sizeof(err)));
    OK(ns_mkdir(ns, "/r/e", 0755, 0, "alice", err, sizeof(err)));
    OK(touch("/r/a"));
    counts(&files0, &dirs0);

    /* Plain rename of a file. */
    ino = st_of("/r/a").inode;
    OK(ns_setattr(ns, "/r", NS_SET_MTIME, 0, NULL, NULL, 0, 5, 0, err, sizeof(err)));
    OK(ns_rename(ns, "/r/a", "/r/b", 0, NULL, NULL, err, sizeof(err)));
    CHECK(!exists("/r/a"));
    CHECK_EQ_INT(st_of("/r/b").inode, ino);
    CHECK_EQ_STR(st_of("/r/b").name, "b");
    CHECK_EQ_INT(st_of("/r").children, 3);
    CHECK(st_of("/r").mtime_ms > 5);

    EXPECT(ns_rename(ns, "/r/a", "/r/c", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_NOENT, NOENT);
    EXPECT(ns_rename(ns, "/r/b", "/nodir/c", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_NOENT, NOENT);
    EXPECT(ns_rename(ns, "/r/b", "/r/b/c", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_NOTDIR, NOTDIR);
    EXPECT(ns_rename(ns, "/", "/x", 0, NULL, NULL, err, sizeof(err)), DFS_ERR_INVAL, no_msg);
    OK(ns_rename(ns, "/r/b", "/r/b", 0, NULL, NULL, err, sizeof(err)));
    OK(ns_rename(ns, "/r/b", "/r", 0, NULL, NULL, err, sizeof(err)));   /* already there */
    CHECK_EQ_INT(st_of("/r/b").inode, ino);

    /* Into an existing directory. */
    OK(ns_rename(ns, "/r/b", "/r/d", 0, NULL, NULL, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/r/d/b").inode, ino);
    CHECK_EQ_INT(st_of("/r").children, 2);
    CHECK_EQ_INT(st_of("/r/d").children, 2);
    OK(ns_rename(ns, "/r/d/b", "/", 0, NULL, NULL, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/b").inode, ino);
    OK(ns_rename(ns, "/b", "/r/d/b", 0, NULL, NULL, err, sizeof(err)));

    /* Overwrite rules, dst named directly. */
    write_file("/r/e/x", 2, 5, 0);
    OK(touch("/r/e/y"));
    ino2 = st_of("/r/e/y").inode;
    EXPECT(ns_rename(ns, "/r/e/x", "/r/e/y", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_EXIST, EXIST);
    EXPECT(ns_rename(ns, "/r/d", "/r/e/y", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_EXIST, EXIST);
    EXPECT(ns_rename(ns, "/r/d", "/r/e/y", 1, NULL, NULL, err, sizeof(err)),
           DFS_ERR_NOTDIR, "cannot overwrite a file with a directory");
    counts(&files, &dirs);
    OK(ns_rename(ns, "/r/e/y", "/r/e/x", 1, on_removed, &rm, err, sizeof(err)));
    CHECK_EQ_INT(rm.n, 2);
    CHECK_EQ_INT(st_of("/r/e/x").inode, ino2);
    CHECK_EQ_INT(st_of("/r/e/x").length, 0);
    CHECK(!exists("/r/e/y"));
    CHECK_EQ_INT(st_of("/r/e").children, 1);
    counts(&files0, &dirs0);
    CHECK_EQ_INT(files0, files - 1);
    CHECK_EQ_INT(ns_block_lookup(ns, rm.ids[0], NULL, NULL, NULL, NULL), DFS_ERR_NOENT);

    /* Overwrite rules, dst an existing directory (into it). */
    OK(touch("/r/d/x"));
    EXPECT(ns_rename(ns, "/r/e/x", "/r/d", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_EXIST, EXIST);
    OK(ns_mkdir(ns, "/r/e/sub", 0755, 0, NULL, err, sizeof(err)));
    EXPECT(ns_rename(ns, "/r/e/sub", "/r/d", 1, NULL, NULL, err, sizeof(err)),
           DFS_ERR_EXIST, EXIST);          /* dir onto an existing dir */
    OK(touch("/r/e/sub2"));
    OK(ns_rename(ns, "/r/e/sub2", "/r/e/sub3", 0, NULL, NULL, err, sizeof(err)));
    rm.n = 0;
    OK(ns_rename(ns, "/r/e/x", "/r/d", 1, on_removed, &rm, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/r/d/x").inode, ino2);
    CHECK_EQ_INT(rm.n, 0);
    CHECK_EQ_INT(st_of("/r/d").children, 3);        /* sub b x */
    EXPECT(ns_rename(ns, "/r/d/x", "/r/d/sub", 1, NULL, NULL, err, sizeof(err)), 0, no_msg);
    CHECK_EQ_INT(st_of("/r/d/sub/x").inode, ino2);

    /* A directory never moves into its own subtree. */
    EXPECT(ns_rename(ns, "/r/d", "/r/d/sub", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_XDEV, "cannot move a directory into its own subtree");
    EXPECT(ns_rename(ns, "/r/d", "/r/d/sub/new", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_XDEV, "cannot move a directory into its own subtree");
    EXPECT(ns_rename(ns, "/r", "/r/d/sub", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_XDEV, no_msg);
    EXPECT(ns_rename(ns, "/r/d", "/r/d/new", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_XDEV, no_msg);
    /* ... but a sibling whose name starts the same is fine. */
    OK(ns_mkdir(ns, "/r/dd", 0755, 0, NULL, err, sizeof(err)));
    OK(ns_rename(ns, "/r/d", "/r/dd/d", 0, NULL, NULL, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/r/dd/d/sub/x").inode, ino2);
    CHECK(!exists("/r/d"));
    /* A moved directory's ancestry follows it. */
    EXPECT(ns_rename(ns, "/r/dd", "/r/dd/d/sub", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_XDEV, no_msg);
    OK(ns_rename(ns, "/r/dd/d/sub", "/r/e/moved", 0, NULL, NULL, err, sizeof(err)));
    OK(ns_rename(ns, "/r/dd", "/r/e/moved/dd", 0, NULL, NULL, err, sizeof(err)));
    OK(ns_stat(ns, "/r/e/moved/dd/d/b", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.inode, ino);
    EXPECT(ns_rename(ns, "/r/e", "/r/e/moved/dd/d", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_XDEV, no_msg);

    /* The counts stayed right through every move. */
    CHECK_EQ_INT(st_of("/r").children, 1);
    CHECK_EQ_INT(st_of("/r/e").children, 3);       /* moved sub sub3 */
    CHECK_EQ_INT(st_of("/r/e/moved").children, 2); /* x dd */
    counts(&files, &dirs);
    CHECK_EQ_INT(files, files0 + 1);                /* + d/x + sub2 - d/x */
    CHECK_EQ_INT(dirs, dirs0 + 2);                  /* + e/sub + dd */
    {
        uint64_t len, f, d, space;

        OK(ns_summary(ns, "/r", &len, &f, &d, &space, err, sizeof(err)));
        CHECK_EQ_INT(f, 3);                         /* b, x, sub3 */
        CHECK_EQ_INT(d, 6);                         /* r e e/sub moved dd d */
    }
    OK(ns_delete(ns, "/r", 1, NULL, NULL, err, sizeof(err)));
}

static void test_setattr(void)
{
    struct ns_stat st;

    OK(ns_mkdir(ns, "/s", 0755, 0, "alice", err, sizeof(err)));
    OK(touch("/s/f"));
    OK(ns_setattr(ns, "/s/f", NS_SET_MODE, 0600, NULL, NULL, 0, 0, 0, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/s/f").mode, 0600);
    OK(ns_setattr(ns, "/s", NS_SET_MODE, 01777, NULL, NULL, 0, 0, 0, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/s").mode, 01777);
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_MODE, 0100644, NULL, NULL, 0, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, "invalid mode");
    OK(ns_setattr(ns, "/s/f", NS_SET_OWNER | NS_SET_GROUP, 0, "bob", "staff", 0, 0, 0,
                  err, sizeof(err)));
    st = st_of("/s/f");
    CHECK_EQ_STR(st.owner, "bob");
    CHECK_EQ_STR(st.group, "staff");
    CHECK_EQ_INT(st.mode, 0600);
    OK(ns_setattr(ns, "/s/f", NS_SET_GROUP, 0, NULL, "ops", 0, 0, 0, err, sizeof(err)));
    CHECK_EQ_STR(st_of("/s/f").owner, "bob");
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_OWNER, 0, "a:b", NULL, 0, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, "invalid owner name");
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_OWNER, 0, "a b", NULL, 0, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, no_msg);
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_OWNER, 0, "", NULL, 0, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, no_msg);
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_OWNER, 0, NULL, NULL, 0, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, no_msg);
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_GROUP, 0, NULL, "a/b", 0, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, "invalid group name");
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_GROUP, 0, NULL,
                      "0123456789012345678901234567890123456789012345678901234567890123",
                      0, 0, 0, err, sizeof(err)), DFS_ERR_INVAL, no_msg);
    OK(ns_setattr(ns, "/s/f", NS_SET_GROUP, 0, NULL,
                  "012345678901234567890123456789012345678901234567890123456789012",
                  0, 0, 0, err, sizeof(err)));
    CHECK_EQ_INT(strlen(st_of("/s/f").group), 63);

    OK(ns_setattr(ns, "/s/f", NS_SET_REPL, 0, NULL, NULL, 5, 0, 0, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/s/f").replication, 5);
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_REPL, 0, NULL, NULL, 0, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, "replication 0 out of range [1, 512]");
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_REPL, 0, NULL, NULL, 513, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, "replication 513 out of range [1, 512]");
    EXPECT(ns_setattr(ns, "/s", NS_SET_REPL, 0, NULL, NULL, 2, 0, 0, err, sizeof(err)),
           DFS_ERR_ISDIR, "setrep needs a file");
    OK(ns_setattr(ns, "/s/f", NS_SET_MTIME, 0, NULL, NULL, 0, 123456, 0, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/s/f").mtime_ms, 123456);
    /* atime alone leaves mtime, and the other way round; both at once. */
    OK(ns_setattr(ns, "/s/f", NS_SET_ATIME, 0, NULL, NULL, 0, 0, 777, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/s/f").atime_ms, 777);
    CHECK_EQ_INT(st_of("/s/f").mtime_ms, 123456);
    OK(ns_setattr(ns, "/s/f", NS_SET_MTIME | NS_SET_ATIME, 0, NULL, NULL, 0, 2000, 3000,
                  err, sizeof(err)));
    CHECK_EQ_INT(st_of("/s/f").mtime_ms, 2000);
    CHECK_EQ_INT(st_of("/s/f").atime_ms, 3000);
    OK(ns_setattr(ns, "/s", NS_SET_ATIME, 0, NULL, NULL, 0, 0, 42, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/s").atime_ms, 42);
    EXPECT(ns_setattr(ns, "/s/none", NS_SET_ATIME, 0, NULL, NULL, 0, 0, 1, err, sizeof(err)),
           DFS_ERR_NOENT, NOENT);
    OK(ns_setattr(ns, "/s/f", NS_SET_MTIME, 0, NULL, NULL, 0, 123456, 0, err, sizeof(err)));
    EXPECT(ns_setattr(ns, "/s/f", 0x100, 0, NULL, NULL, 0, 0, 0, err, sizeof(err)),
           DFS_ERR_INVAL, no_msg);
    EXPECT(ns_setattr(ns, "/s/g", NS_SET_MODE, 0644, NULL, NULL, 0, 0, 0, err, sizeof(err)),
           DFS_ERR_NOENT, NOENT);
    /* A failed change leaves everything as it was. */
    EXPECT(ns_setattr(ns, "/s/f", NS_SET_MODE | NS_SET_REPL, 0444, NULL, NULL, 999, 0, 0,
                      err, sizeof(err)), DFS_ERR_INVAL, no_msg);
    CHECK_EQ_INT(st_of("/s/f").mode, 0600);
    OK(ns_setattr(ns, "/s/f", 0, 0, NULL, NULL, 0, 0, 0, err, sizeof(err)));
    OK(ns_delete(ns, "/s", 1, NULL, NULL, err, sizeof(err)));
}

static void test_summary(void)
{
    uint64_t len, files, dirs, space;

    OK(ns_mkdir(ns, "/u/a/b", 0755, 1, "alice", err, sizeof(err)));
    OK(ns_mkdir(ns, "/u/c", 0755, 0, "alice", err, sizeof(err)));
    write_file("/u/f1", 2, 100, 3);          /* 200 bytes x 3 */
    write_file("/u/a/f2", 1, 50, 2);         /* 50 x 2 */
    write_file("/u/a/b/f3", 3, 10, 1);       /* 30 x 1 */
    OK(touch("/u/a/b/empty"));
    OK(ns_summary(ns, "/u", &len, &files, &dirs, &space, err, sizeof(err)));
    CHECK_EQ_INT(len, 280);
    CHECK_EQ_INT(files, 4);
    CHECK_EQ_INT(dirs, 4);
    CHECK_EQ_INT(space, 600 + 100 + 30);
    OK(ns_summary(ns, "/u/a", &len, &files, &dirs, &space, err, sizeof(err)));
    CHECK_EQ_INT(len, 80);
    CHECK_EQ_INT(files, 3);
    CHECK_EQ_INT(dirs, 2);
    OK(ns_summary(ns, "/u/f1", &len, &files, &dirs, &space, err, sizeof(err)));
    CHECK_EQ_INT(len, 200);
    CHECK_EQ_INT(files, 1);
    CHECK_EQ_INT(dirs, 0);
    CHECK_EQ_INT(space, 600);
    OK(ns_summary(ns, "/u/c", &len, &files, &dirs, &space, err, sizeof(err)));
    CHECK_EQ_INT(len + files + space, 0);
    CHECK_EQ_INT(dirs, 1);
    EXPECT(ns_summary(ns, "/u/zz", &len, &files, &dirs, &space, err, sizeof(err)),
           DFS_ERR_NOENT, NOENT);
    OK(ns_delete(ns, "/u", 1, NULL, NULL, err, sizeof(err)));
}

static void test_blocks(void)
{
    struct ns_stat st;
    struct ns_block *bl;
    uint64_t b1, b2, b3, g1, g2, g3, g4, id, gs, ino, len;
    size_t n, blocks0 = block_records();
    int complete;

    OK(ns_mkdir(ns, "/k", 0755, 0, "alice", err, sizeof(err)));
    OK(ns_create(ns, "/k/f", 0644, 2, 1 * MiB, 0, 0, 1, "c1", "alice", &st, err, sizeof(err)));
    ino = st.inode;
    EXPECT(ns_add_block(ns, ino, "c2", 0, 0, &b1, &g1, NULL, err, sizeof(err)),
           DFS_ERR_BUSY, no_msg);
    EXPECT(ns_add_block(ns, 99999, "c1", 0, 0, &b1, &g1, NULL, err, sizeof(err)),
           DFS_ERR_NOENT, NOENT);
    EXPECT(ns_add_block(ns, st_of("/k").inode, "c1", 0, 0, &b1, &g1, NULL, err, sizeof(err)),
           DFS_ERR_ISDIR, no_msg);
    EXPECT(ns_add_block(ns, ino, "c1", 77, 0, &b1, &g1, NULL, err, sizeof(err)),
           DFS_ERR_STALE, no_msg);
    OK(ns_add_block(ns, ino, "c1", 0, 0, &b1, &g1, &st, err, sizeof(err)));
    CHECK(b1 > 0);
    CHECK(g1 > 1000);
    CHECK_EQ_INT(st.inode, ino);
    CHECK_EQ_INT(st.replication, 2);
    OK(ns_block_lookup(ns, b1, &id, &gs, &len, &complete));
    CHECK_EQ_INT(id, ino);
    CHECK_EQ_INT(gs, g1);
    CHECK_EQ_INT(len, 0);
    CHECK_EQ_INT(complete, 0);
    /* A retried first addBlock gets the same empty block. */
    OK(ns_add_block(ns, ino, "c1", 0, 0, &id, &gs, NULL, err, sizeof(err)));
    CHECK_EQ_INT(id, b1);
    CHECK_EQ_INT(gs, g1);

    EXPECT(ns_add_block(ns, ino, "c1", b1, 2 * MiB, &b2, &g2, NULL, err, sizeof(err)),
           DFS_ERR_INVAL, "block length 2097152 exceeds the block size 1048576");
    OK(ns_add_block(ns, ino, "c1", b1, 1 * MiB, &b2, &g2, NULL, err, sizeof(err)));
    CHECK(b2 > b1);
    CHECK(g2 > g1);
    CHECK_EQ_INT(st_of("/k/f").length, 1 * MiB);
    OK(ns_block_lookup(ns, b1, NULL, NULL, &len, &complete));
    CHECK_EQ_INT(len, 1 * MiB);
    CHECK_EQ_INT(complete, 1);
    OK(ns_add_block(ns, ino, "c1", b1, 1 * MiB, &id, &gs, NULL, err, sizeof(err)));
    CHECK_EQ_INT(id, b2);                     /* retry */
    CHECK_EQ_INT(st_of("/k/f").length, 1 * MiB);

    /* Abandon the second block (pipeline setup failed), twice. */
    EXPECT(ns_abandon_block(ns, ino, "c1", b1, err, sizeof(err)), DFS_ERR_STALE, no_msg);
    OK(ns_abandon_block(ns, ino, "c1", b2, err, sizeof(err)));
    OK(ns_abandon_block(ns, ino, "c1", b2, err, sizeof(err)));
    CHECK_EQ_INT(ns_block_lookup(ns, b2, NULL, NULL, NULL, NULL), DFS_ERR_NOENT);
    OK(ns_add_block(ns, ino, "c1", b1, 1 * MiB, &b3, &g3, NULL, err, sizeof(err)));
    CHECK(b3 > b2);
    CHECK(g3 > g2);
    OK(ns_bump_genstamp(ns, ino, "c1", b3, &g4, err, sizeof(err)));
    CHECK(g4 > g3);
    EXPECT(ns_bump_genstamp(ns, ino, "c1", b1, &gs, err, sizeof(err)), DFS_ERR_STALE, no_msg);
    OK(ns_block_lookup(ns, b3, NULL, &gs, NULL, NULL));
    CHECK_EQ_INT(gs, g4);

    /* While being written: blocks visible with what is recorded. */
    OK(ns_get_blocks(ns, "/k/f", &st, &bl, &n, err, sizeof(err)));
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(st.complete, 0);
    if (n == 2) {
        CHECK_EQ_INT(bl[1].id, b3);
        CHECK_EQ_INT(bl[1].offset, 1 * MiB);
        CHECK_EQ_INT(bl[1].complete, 0);
    }
    free(bl);

    EXPECT(ns_complete(ns, ino, "c2", b3, 10, err, sizeof(err)), DFS_ERR_BUSY, no_msg);
    EXPECT(ns_complete(ns, ino, "c1", b1, 10, err, sizeof(err)), DFS_ERR_STALE, no_msg);
    OK(ns_complete(ns, ino, "c1", b3, 4321, err, sizeof(err)));
    OK(ns_complete(ns, ino, "c1", b3, 4321, err, sizeof(err)));     /* retry */
    st = st_of("/k/f");
    CHECK_EQ_INT(st.complete, 1);
    CHECK_EQ_INT(st.length, 1 * MiB + 4321);
    EXPECT(ns_add_block(ns, ino, "c1", b3, 0, &id, &gs, NULL, err, sizeof(err)),
           DFS_ERR_INVAL, "file is not open for writing");
    EXPECT(ns_complete(ns, ino, "c1", b1, 4321, err, sizeof(err)), DFS_ERR_INVAL, no_msg);

    OK(ns_get_blocks(ns, "/k/f", &st, &bl, &n, err, sizeof(err)));
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_STR(st.name, "f");
    if (n == 2) {
        CHECK_EQ_INT(bl[0].id, b1);
        CHECK_EQ_INT(bl[0].offset, 0);
        CHECK_EQ_INT(bl[0].length, 1 * MiB);
        CHECK_EQ_INT(bl[0].genstamp, g1);
        CHECK_EQ_INT(bl[1].id, b3);
        CHECK_EQ_INT(bl[1].offset, 1 * MiB);
        CHECK_EQ_INT(bl[1].length, 4321);
        CHECK_EQ_INT(bl[1].genstamp, g4);
        CHECK_EQ_INT(bl[0].complete && bl[1].complete, 1);
    }
    free(bl);
    EXPECT(ns_get_blocks(ns, "/k", &st, &bl, &n, err, sizeof(err)), DFS_ERR_ISDIR, no_msg);
    EXPECT(ns_get_blocks(ns, "/k/none", &st, &bl, &n, err, sizeof(err)), DFS_ERR_NOENT, NOENT);
    CHECK_EQ_INT(block_records(), blocks0 + 2);

    /* A file without blocks; recovery by the namenode (client NULL). */
    OK(ns_create(ns, "/k/e", 0644, 0, 0, 0, 0, 1, "c3", NULL, &st, err, sizeof(err)));
    OK(ns_complete(ns, st.inode, NULL, 0, 0, err, sizeof(err)));
    OK(ns_get_blocks(ns, "/k/e", &st, &bl, &n, err, sizeof(err)));
    CHECK_EQ_INT(n, 0);
    CHECK(bl == NULL);
    CHECK_EQ_INT(st.complete, 1);
    CHECK_EQ_INT(st.length, 0);
    CHECK_EQ_INT(ns_block_lookup(ns, 0, NULL, NULL, NULL, NULL), DFS_ERR_NOENT);
}

/* ms_sync across LevelDB log switches (its 4 MiB memtable fills several
 * times): every sync succeeds, also when an old log has been compacted
 * away meanwhile, and every value is there after a reopen. */
static void test_sync_log_switch(void)
{
    enum { VAL = 100 * 1024, N = 160 };
    struct ms_batch *b = ms_batch_new();
    char *val = malloc(VAL), *got, key[16];
    size_t vlen;
    int fails = 0, missing = 0;

    memset(val, 'v', VAL);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "y%05d", i);
        ms_batch_clear(b);
        ms_batch_put(b, key, strlen(key), val, VAL);
        if (ms_write(ms, b) != 0 || (i % 7 == 0 && ms_sync(ms) != 0))
            fails++;
    }
    CHECK_EQ_INT(ms_sync(ms), 0);
    CHECK_EQ_INT(fails, 0);
    close_store();
    open_store();
    ms_batch_clear(b);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "y%05d", i);
        if (ms_get(ms, key, strlen(key), &got, &vlen) != 1 || vlen != VAL)
            missing++;
        free(got);
        ms_batch_delete(b, key, strlen(key));
    }
    CHECK_EQ_INT(missing, 0);
    CHECK_EQ_INT(ms_write(ms, b), 0);
    CHECK_EQ_INT(ms_sync(ms), 0);
    ms_batch_destroy(b);
    free(val);
}

/* ms_sync from another thread while the loop thread writes. */
struct sync_arg {
    int stop;
    int syncs, failures;
};

static void *sync_thread(void *p)
{
    struct sync_arg *a = p;

    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        if (ms_sync(ms) != 0)
            a->failures++;
        __atomic_add_fetch(&a->syncs, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void test_concurrent_sync(void)
{
    struct sync_arg a = { 0, 0, 0 };
    pthread_t t;
    int s0;
    char path[64];

    OK(ns_mkdir(ns, "/sync", 0755, 0, NULL, err, sizeof(err)));
    CHECK_EQ_INT(pthread_create(&t, NULL, sync_thread, &a), 0);
    /* Writes must overlap syncs: start only once the thread has synced once,
     * however late the scheduler runs it. */
    while (__atomic_load_n(&a.syncs, __ATOMIC_ACQUIRE) == 0)
        sched_yield();
    s0 = __atomic_load_n(&a.syncs, __ATOMIC_ACQUIRE);
    for (int i = 0; i < 2000; i++) {
        snprintf(path, sizeof(path), "/sync/f%d", i);
        if (touch(path) != 0)
            CHECK(0);
        if (i % 10 == 0)
            CHECK(exists(path));
    }
    /* And at least one whole sync began after the writes did. */
    while (__atomic_load_n(&a.syncs, __ATOMIC_ACQUIRE) < s0 + 2)
        sched_yield();
    __atomic_store_n(&a.stop, 1, __ATOMIC_RELEASE);
    pthread_join(t, NULL);
    CHECK_EQ_INT(a.failures, 0);
    CHECK_EQ_INT(st_of("/sync").children, 2000);
    OK(ns_delete(ns, "/sync", 1, NULL, NULL, err, sizeof(err)));
}

/* Close and reopen: everything persisted, counters too (no id reuse). */
static void test_reopen(void)
{
    char cid[64];
    uint64_t files, dirs, files2, dirs2, maxino;
    struct ns_stat st;
    struct ns_block *bl;
    size_t n, blocks = block_records();
    uint64_t b, gs, gs_before;

    snprintf(cid, sizeof(cid), "%s", ns_cluster_id(ns));
    OK(ns_mkdir(ns, "/keep/d", 0700, 1, "dave", err, sizeof(err)));
    OK(ns_create(ns, "/keep/w", 0644, 0, 0, 0, 0, 1, "c9", "dave", &st, err, sizeof(err)));
    OK(ns_add_block(ns, st.inode, "c9", 0, 0, &b, &gs_before, NULL, err, sizeof(err)));
    /* Remove the newest inode so that its id is the highest one gone. */
    OK(ns_mkdir(ns, "/keep/gone", 0700, 0, NULL, err, sizeof(err)));
    maxino = st_of("/keep/gone").inode;
    OK(ns_delete(ns, "/keep/gone", 0, NULL, NULL, err, sizeof(err)));
    counts(&files, &dirs);
    CHECK_EQ_INT(ms_sync(ms), 0);
    close_store();

    open_store();
    CHECK_EQ_STR(ns_cluster_id(ns), cid);
    counts(&files2, &dirs2);
    CHECK_EQ_INT(files2, files);
    CHECK_EQ_INT(dirs2, dirs);
    st = st_of("/keep/d");
    CHECK_EQ_INT(st.mode, 0700);
    CHECK_EQ_STR(st.owner, "dave");
    CHECK_EQ_INT(st_of("/keep").children, 2);
    CHECK_EQ_INT(st_of("/k/f").length, 1 * MiB + 4321);
    OK(ns_get_blocks(ns, "/k/f", NULL, &bl, &n, err, sizeof(err)));
    CHECK_EQ_INT(n, 2);
    free(bl);
    CHECK_EQ_INT(block_records(), blocks + 1);
    st = st_of("/keep/w");
    CHECK_EQ_INT(st.complete, 0);
    /* The writer's state survived: it can go on. */
    OK(ns_add_block(ns, st.inode, "c9", b, 10, &b, &gs, NULL, err, sizeof(err)));
    CHECK(gs > gs_before);
    OK(ns_complete(ns, st.inode, "c9", b, 20, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/keep/w").length, 30);
    OK(touch("/keep/new"));
    CHECK(st_of("/keep/new").inode > maxino);
    OK(ns_delete(ns, "/keep", 1, NULL, NULL, err, sizeof(err)));
}

/* Reopen a store right after formatting it: every counter is there. */
static void test_fresh_reopen(void)
{
    char cid[64];
    uint64_t files, dirs;
    struct ns_stat st;
    uint64_t b, gs;

    snprintf(cid, sizeof(cid), "%s", ns_cluster_id(ns));
    close_store();
    open_store();
    CHECK_EQ_STR(ns_cluster_id(ns), cid);
    counts(&files, &dirs);
    CHECK_EQ_INT(files, 0);
    CHECK_EQ_INT(dirs, 1);
    OK(ns_create(ns, "/f", 0644, 0, 0, 0, 0, 1, "c", NULL, &st, err, sizeof(err)));
    CHECK_EQ_INT(st.inode, 2);
    OK(ns_add_block(ns, st.inode, "c", 0, 0, &b, &gs, NULL, err, sizeof(err)));
    CHECK_EQ_INT(b, 1);
    CHECK_EQ_INT(gs, 1001);
}

/* ------------------------------------------------------- record cache */

/* The cache agrees with the store on every record it holds. */
static void check_cache(void)
{
    char cerr[512] = "";
    int rc = ns_cache_check(ns, cerr, sizeof(cerr));

    CHECK_EQ_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "    (cache: %s)\n", cerr);
}

static uint64_t cache_hits(void)
{
    uint64_t hits, misses, entries, bytes;

    ns_cache_stats(ns, &hits, &misses, &entries, &bytes);
    return hits;
}

/* Every kind of mutation, each followed by reads through paths the cache
 * already holds: no read may see a record a mutation replaced. */
static void test_cache_mutations(void)
{
    struct removed rm = { .n = 0 };
    struct ns_stat st, st2;
    struct ns_stat *ents;
    size_t n;
    int more;
    uint64_t ino, b, gs, hits;

    OK(ns_mkdir(ns, "/cc/a/b", 0755, 1, "alice", err, sizeof(err)));
    OK(touch("/cc/a/b/f"));
    hits = cache_hits();
    ino = st_of("/cc/a/b/f").inode;
    CHECK(ino != 0);
    CHECK(cache_hits() > hits);         /* resolved from the cache */
    check_cache();

    /* setattr: the cached inode changes with it. */
    OK(ns_setattr(ns, "/cc/a/b/f", NS_SET_MODE | NS_SET_OWNER, 0600, "bob", NULL, 0, 0, 0,
                  err, sizeof(err)));
    CHECK_EQ_INT(st_of("/cc/a/b/f").mode, 0600);
    CHECK_EQ_STR(st_of("/cc/a/b/f").owner, "bob");
    check_cache();

    /* create overwrite: a new inode behind the same cached entry name. */
    OK(ns_create(ns, "/cc/a/b/f", 0644, 0, 0, 1, 0, 1, "w1", "carol", &st, err, sizeof(err)));
    CHECK(st.inode != ino);
    CHECK_EQ_INT(st_of("/cc/a/b/f").inode, st.inode);
    CHECK_EQ_INT(st_of("/cc/a/b/f").complete, 0);
    EXPECT(ns_stat_inode(ns, ino, &st2, err, sizeof(err)), DFS_ERR_NOENT, NOENT);
    check_cache();

    /* Blocks: every change of the file is seen through the cache. */
    OK(ns_add_block(ns, st.inode, "w1", 0, 0, &b, &gs, NULL, err, sizeof(err)));
    OK(ns_bump_genstamp(ns, st.inode, "w1", b, &gs, err, sizeof(err)));
    OK(ns_abandon_block(ns, st.inode, "w1", b, err, sizeof(err)));
    OK(ns_add_block(ns, st.inode, "w1", 0, 0, &b, &gs, NULL, err, sizeof(err)));
    OK(ns_complete(ns, st.inode, "w1", b, 777, err, sizeof(err)));
    st2 = st_of("/cc/a/b/f");
    CHECK_EQ_INT(st2.length, 777);
    CHECK_EQ_INT(st2.complete, 1);
    check_cache();

    /* rename of a directory: the old path is gone, the new one resolves
     * (the cached entries of the subtree stay valid: ids do not change). */
    OK(ns_rename(ns, "/cc/a", "/cc/m", 0, NULL, NULL, err, sizeof(err)));
    EXPECT(ns_stat(ns, "/cc/a/b/f", &st2, err, sizeof(err)), DFS_ERR_NOENT, NOENT);
    CHECK_EQ_INT(st_of("/cc/m/b/f").inode, st.inode);
    check_cache();

    /* rename over a file: the replaced inode is gone. */
    OK(touch("/cc/g"));
    ino = st_of("/cc/g").inode;
    OK(ns_rename(ns, "/cc/m/b/f", "/cc/g", 1, on_removed, &rm, err, sizeof(err)));
    CHECK_EQ_INT(st_of("/cc/g").inode, st.inode);
    CHECK(!exists("/cc/m/b/f"));
    EXPECT(ns_stat_inode(ns, ino, &st2, err, sizeof(err)), DFS_ERR_NOENT, NOENT);
    CHECK_EQ_INT(st_of("/cc/m/b").children, 0);
    check_cache();

    /* delete -r: nothing of the tree resolves, and a new tree of the same
     * names gets new inodes. */
    OK(touch("/cc/m/b/x"));
    ino = st_of("/cc/m/b").inode;
    OK(ns_delete(ns, "/cc/m", 1, NULL, NULL, err, sizeof(err)));
    CHECK(!exists("/cc/m"));
    CHECK(!exists("/cc/m/b"));
    CHECK(!exists("/cc/m/b/x"));
    check_cache();
    OK(ns_create(ns, "/cc/m/b", 0644, 0, 0, 0, 1, 0, NULL, "alice", &st2, err, sizeof(err)));
    CHECK(st2.inode != ino);
    CHECK_EQ_INT(st_of("/cc/m/b").type, DFS_TYPE_FILE);
    EXPECT(ns_stat(ns, "/cc/m/b/x", &st2, err, sizeof(err)), DFS_ERR_NOTDIR, NOTDIR);
    check_cache();

    /* Failed mutations leave nothing behind. */
    EXPECT(ns_mkdir(ns, "/cc/m/b/c", 0755, 1, NULL, err, sizeof(err)), DFS_ERR_NOTDIR, NOTDIR);
    EXPECT(touch("/cc/g"), DFS_ERR_EXIST, EXIST);
    EXPECT(ns_delete(ns, "/cc", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_NOTEMPTY, no_msg);
    EXPECT(ns_rename(ns, "/cc", "/cc/m/z", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_XDEV, no_msg);
    EXPECT(ns_rename(ns, "/cc/g", "/cc/m/b/z", 0, NULL, NULL, err, sizeof(err)),
           DFS_ERR_NOTDIR, NOTDIR);
    check_cache();

    /* list answers from the cached inodes too. */
    OK(ns_list(ns, "/cc", "", 100, &ents, &n, &more, err, sizeof(err)));
    CHECK_EQ_INT(n, 2);
    if (n == 2) {
        CHECK_EQ_STR(ents[0].name, "g");
        CHECK_EQ_INT(ents[0].length, 777);
        CHECK_EQ_STR(ents[1].name, "m");
    }
    free(ents);
    OK(ns_delete(ns, "/cc", 1, NULL, NULL, err, sizeof(err)));
    check_cache();
}

/* A cache too small for the tree evicts and stays exact; a disabled one
 * (0) holds nothing and changes no answer. */
static void test_cache_limit(void)
{
    uint64_t hits, misses, entries, bytes;
    char path[64];
    int ok = 1;

    ns_set_cache_limit(ns, 4096);
    OK(ns_mkdir(ns, "/cl", 0755, 0, NULL, err, sizeof(err)));
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof(path), "/cl/d%d/f", i);
        if (ns_create(ns, path, 0644, 0, 0, 0, 1, 0, NULL, "alice", NULL, err,
                      sizeof(err)) != 0)
            ok = 0;
    }
    CHECK(ok);
    for (int i = 0; i < 200; i++) {
        snprintf(path, sizeof(path), "/cl/d%d/f", i);
        if (st_of(path).type != DFS_TYPE_FILE)
            ok = 0;
    }
    CHECK(ok);
    ns_cache_stats(ns, &hits, &misses, &entries, &bytes);
    CHECK(bytes <= 4096);
    CHECK(entries > 0);
    check_cache();

    ns_set_cache_limit(ns, 0);
    ns_cache_stats(ns, &hits, &misses, &entries, &bytes);
    CHECK_EQ_INT(entries, 0);
    CHECK_EQ_INT(bytes, 0);
    OK(ns_rename(ns, "/cl/d7", "/cl/e7", 0, NULL, NULL, err, sizeof(err)));
    CHECK(exists("/cl/e7/f"));
    CHECK(!exists("/cl/d7/f"));
    ns_cache_stats(ns, &hits, &misses, &entries, &bytes);
    CHECK_EQ_INT(entries, 0);

    ns_set_cache_limit(ns, NS_CACHE_DEFAULT_BYTES);
    OK(ns_delete(ns, "/cl", 1, NULL, NULL, err, sizeof(err)));
    CHECK(!exists("/cl/e7/f"));
    check_cache();
}

/* xorshift64*: the random test's operations, the same on every run. */
static uint64_t rnd_state = 88172645463325252ull;

static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return (unsigned)((rnd_state * 2685821657736338717ull) >> 33) % n;
}

/* A random path of 1-3 components of a tiny alphabet under /rt, so that
 * operations keep hitting the same names. */
static void rnd_path(char *buf, size_t sz)
{
    static const char *const names[] = { "a", "b", "c" };
    int depth = 1 + (int)rnd(3), off = snprintf(buf, sz, "/rt");

    for (int i = 0; i < depth && off > 0 && (size_t)off < sz; i++)
        off += snprintf(buf + off, sz - (size_t)off, "/%s", names[rnd(3)]);
}

/* One random mutation through ns (results do not matter: the state
 * does). */
static void rnd_mutation(void)
{
    char p[64], q[64];
    struct ns_stat st;
    uint64_t b, gs;

    rnd_path(p, sizeof(p));
    rnd_path(q, sizeof(q));
    switch (rnd(8)) {
    case 0:
        ns_mkdir(ns, p, 0755, (int)rnd(2), "alice", err, sizeof(err));
        break;
    case 1:
        ns_create(ns, p, 0644, 0, 0, (int)rnd(2), (int)rnd(2), 0, NULL, "bob", NULL, err,
                  sizeof(err));
        break;
    case 2:
        ns_delete(ns, p, (int)rnd(2), NULL, NULL, err, sizeof(err));
        break;
    case 3:
    case 4:
        ns_rename(ns, p, q, (int)rnd(2), NULL, NULL, err, sizeof(err));
        break;
    case 5:
        ns_setattr(ns, p, NS_SET_MODE | NS_SET_MTIME, rnd(0777), NULL, NULL, 0, rnd(1000), 0,
                   err, sizeof(err));
        break;
    default:
        if (ns_create(ns, p, 0644, 0, 0, 1, 1, 1, "w", "carol", &st, err, sizeof(err)) == 0 &&
            ns_add_block(ns, st.inode, "w", 0, 0, &b, &gs, NULL, err, sizeof(err)) == 0)
            ns_complete(ns, st.inode, "w", b, rnd(1000), err, sizeof(err));
        break;
    }
}

/* Answers of path p through ns and through ref (no cache) are the same. */
static int same_answer(struct ns *ref, const char *p)
{
    struct ns_stat a, b;
    int ra, rb;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    ra = ns_stat(ns, p, &a, err, sizeof(err));
    rb = ns_stat(ref, p, &b, err, sizeof(err));
    return ra == rb && memcmp(&a, &b, sizeof(a)) == 0;
}

/* Random mutations; after each, every path of the alphabet answers the
 * same through the cached namespace as through a second namespace on the
 * same store that has no cache, and the cache agrees with the store. */
static void test_cache_random(void)
{
    static const char *const names[] = { "a", "b", "c" };
    struct ns *ref = ns_open(ms, &limits, err, sizeof(err));
    int diffs = 0, bad_cache = 0;
    char p[64], cerr[256];

    CHECK(ref != NULL);
    if (ref == NULL)
        return;
    ns_set_cache_limit(ref, 0);
    OK(ns_mkdir(ns, "/rt", 0755, 0, NULL, err, sizeof(err)));
    for (int i = 0; i < 3000; i++) {
        if (i == 1500)
            ns_set_cache_limit(ns, 2048);      /* the second half evicts */
        rnd_mutation();
        for (int x = 0; x < 3; x++) {
            for (int y = -1; y < 3; y++) {
                for (int z = -1; z < 3 && (y >= 0 || z < 0); z++) {
                    int off = snprintf(p, sizeof(p), "/rt/%s", names[x]);

                    if (y >= 0)
                        off += snprintf(p + off, sizeof(p) - (size_t)off, "/%s", names[y]);
                    if (z >= 0)
                        snprintf(p + off, sizeof(p) - (size_t)off, "/%s", names[z]);
                    if (!same_answer(ref, p))
                        diffs++;
                }
            }
        }
        if (ns_cache_check(ns, cerr, sizeof(cerr)) != 0 && bad_cache++ == 0)
            fprintf(stderr, "    (step %d: %s)\n", i, cerr);
    }
    CHECK_EQ_INT(diffs, 0);
    CHECK_EQ_INT(bad_cache, 0);
    ns_set_cache_limit(ns, NS_CACHE_DEFAULT_BYTES);
    OK(ns_delete(ns, "/rt", 1, NULL, NULL, err, sizeof(err)));
    ns_close(ref);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dfs-test-ns-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dbdir, sizeof(dbdir), "%s/meta", tmpdir);
    open_store();

    test_metastore();
    test_format();
    test_mkdir();
    check_cache();
    test_create();
    check_cache();
    test_stat_list();
    check_cache();
    test_delete();
    check_cache();
    test_rename();
    check_cache();
    test_setattr();
    check_cache();
    test_summary();
    test_blocks();
    check_cache();
    test_concurrent_sync();
    test_sync_log_switch();
    check_cache();
    test_big_listing();
    check_cache();
    test_cache_mutations();
    test_cache_limit();
    test_cache_random();
    test_reopen();
    check_cache();

    close_store();

    /* A namespace reopened right after its format. */
    snprintf(dbdir, sizeof(dbdir), "%s/meta2", tmpdir);
    open_store();
    test_fresh_reopen();
    close_store();
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary();
}
