/*
 * test_ns_uc.c - unit tests of the namespace's files under construction
 * (ns_uc.c and the index kept by the record layer): the 'u' index, its
 * build for older stores, writer reassignment, append and the end of a
 * lease recovery, the removal hook and ns_delete_inode.
 *
 * (test_namespace.c holds the rest of the namespace's tests.)
 */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "metastore.h"
#include "namespace.h"

#define MiB (1024ull * 1024)

static const struct ns_limits limits = {
    .default_replication = 3,
    .max_replication = 512,
    .default_block_size = 4 * MiB,
    .min_block_size = 1 * MiB,
};

static char tmpdir[64];
static char dbdir[128];
static char err[512];
static struct metastore *ms;
static struct ns *ns;

#define OK(call) do { \
        err[0] = '\0'; \
        int rc_ = (call); \
        CHECK_EQ_INT(rc_, 0); \
        if (rc_ != 0) \
            fprintf(stderr, "    (err: \"%s\")\n", err); \
    } while (0)

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
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Files under construction as ns_foreach_uc sees them. */
struct uc_list {
    struct ns_uc uc[16];
    size_t n;
};

static int collect(const struct ns_uc *uc, void *arg)
{
    struct uc_list *l = arg;
    if (l->n < 16)
        l->uc[l->n] = *uc;
    l->n++;
    return 0;
}

static struct uc_list list_uc(void)
{
    struct uc_list l;
    memset(&l, 0, sizeof(l));
    CHECK_EQ_INT(ns_foreach_uc(ns, collect, &l), 0);
    return l;
}

/* A file being written by client "w" with nblocks blocks, the last one
 * still open; the others len bytes each.  Returns its inode. */
static uint64_t open_file(const char *path, int flags, unsigned nblocks, uint64_t len,
                          uint64_t *last)
{
    struct ns_stat st;
    uint64_t prev = 0, id = 0, gs;

    OK(ns_create(ns, path, 0644, 0, 0, 1, 1, flags, "w", "alice", &st, err, sizeof(err)));
    for (unsigned i = 0; i < nblocks; i++) {
        OK(ns_add_block(ns, st.inode, "w", prev, len, &id, &gs, NULL, err, sizeof(err)));
        prev = id;
    }
    if (last)
        *last = prev;
    return st.inode;
}

/* Removal hook: the files under construction removed. */
static uint64_t uc_gone[16];
static size_t nuc_gone;

static void on_uc_removed(uint64_t inode, void *arg)
{
    (void)arg;
    if (nuc_gone < 16)
        uc_gone[nuc_gone] = inode;
    nuc_gone++;
}

static size_t nblocks_gone;

static void on_block_removed(uint64_t id, void *arg)
{
    (void)id;
    (void)arg;
    nblocks_gone++;
}

/* -------------------------------------------------------------- tests */

static void test_index(void)
{
    uint64_t last;
    uint64_t a = open_file("/uc/a", NS_CREATE_WRITE, 1, 0, &last);
    uint64_t t = open_file("/uc/t", NS_CREATE_WRITE | NS_CREATE_TEMPORARY, 0, 0, NULL);
    struct uc_list l = list_uc();

    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_INT(l.uc[0].inode, a);
    CHECK_EQ_STR(l.uc[0].client, "w");
    CHECK_EQ_INT(l.uc[0].temporary, 0);
    CHECK_EQ_INT(l.uc[0].nblocks, 1);
    CHECK_EQ_INT(l.uc[0].last_id, last);
    CHECK_EQ_INT(l.uc[0].last_complete, 0);
    CHECK_EQ_INT(l.uc[1].inode, t);
    CHECK_EQ_INT(l.uc[1].temporary, 1);
    CHECK_EQ_INT(l.uc[1].last_id, 0);

    /* Persisted: a restart lists them again. */
    close_store();
    open_store();
    l = list_uc();
    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_INT(l.uc[1].temporary, 1);

    /* A complete file leaves the index. */
    OK(ns_complete(ns, a, "w", last, 1000, err, sizeof(err)));
    l = list_uc();
    CHECK_EQ_INT(l.n, 1);
    CHECK_EQ_INT(l.uc[0].inode, t);
    struct ns_uc uc;
    CHECK_EQ_INT(ns_uc_get(ns, a, &uc, err, sizeof(err)), DFS_ERR_INVAL);
    /* A touched file never enters it. */
    OK(ns_create(ns, "/uc/touched", 0644, 0, 0, 0, 0, 0, NULL, "alice", NULL, err,
                 sizeof(err)));
    CHECK_EQ_INT(list_uc().n, 1);

    /* Delete and overwrite report the files under construction they
     * remove. */
    ns_set_uc_removed(ns, on_uc_removed, NULL);
    nuc_gone = 0;
    OK(ns_delete(ns, "/uc/t", 0, NULL, NULL, err, sizeof(err)));
    CHECK_EQ_INT(nuc_gone, 1);
    CHECK_EQ_INT(uc_gone[0], t);
    uint64_t b = open_file("/uc/b", NS_CREATE_WRITE, 0, 0, NULL);
    OK(ns_create(ns, "/uc/b", 0644, 0, 0, 1, 0, NS_CREATE_WRITE, "x", "alice", NULL, err,
                 sizeof(err)));
    CHECK_EQ_INT(nuc_gone, 2);
    CHECK_EQ_INT(uc_gone[1], b);
    OK(ns_delete(ns, "/uc", 1, NULL, NULL, err, sizeof(err)));
    CHECK_EQ_INT(nuc_gone, 3);
    CHECK_EQ_INT(list_uc().n, 0);
    ns_set_uc_removed(ns, NULL, NULL);
}

/* A store from before the index: the 'u' keys and the marker are
 * missing; the next open builds them. */
static void test_index_build(void)
{
    uint64_t a = open_file("/old/a", NS_CREATE_WRITE, 0, 0, NULL);
    uint64_t b = open_file("/old/b", NS_CREATE_WRITE, 2, MiB, NULL);
    struct ms_batch *bt = ms_batch_new();
    struct ms_iter *it = ms_iter_new(ms);
    size_t klen;

    for (ms_iter_seek(it, "u", 1); ms_iter_valid(it); ms_iter_next(it)) {
        const char *k = ms_iter_key(it, &klen);
        if (klen == 0 || k[0] != 'u')
            break;
        ms_batch_delete(bt, k, klen);
    }
    ms_iter_destroy(it);
    ms_batch_delete(bt, "muc_index", 9);
    CHECK_EQ_INT(ms_write(ms, bt), 0);
    ms_batch_destroy(bt);
    CHECK_EQ_INT(list_uc().n, 0);

    close_store();
    open_store();
    struct uc_list l = list_uc();
    CHECK_EQ_INT(l.n, 2);
    CHECK_EQ_INT(l.uc[0].inode, a);
    CHECK_EQ_INT(l.uc[1].inode, b);
    CHECK_EQ_INT(l.uc[1].nblocks, 2);
    OK(ns_delete(ns, "/old", 1, NULL, NULL, err, sizeof(err)));
}

static void test_set_writer(void)
{
    uint64_t last, id, gs;
    uint64_t f = open_file("/sw", NS_CREATE_WRITE, 1, 0, &last);
    struct ns_uc uc;

    OK(ns_set_writer(ns, f, NS_RECOVERY_CLIENT, err, sizeof(err)));
    OK(ns_uc_get(ns, f, &uc, err, sizeof(err)));
    CHECK_EQ_STR(uc.client, NS_RECOVERY_CLIENT);
    /* The old writer is locked out. */
    CHECK_EQ_INT(ns_add_block(ns, f, "w", last, 10, &id, &gs, NULL, err, sizeof(err)),
                 DFS_ERR_BUSY);
    CHECK_EQ_INT(ns_set_writer(ns, f, "", err, sizeof(err)), DFS_ERR_INVAL);
    /* The namenode bumps the last block's genstamp (recovery id). */
    uint64_t rid;
    OK(ns_bump_genstamp(ns, f, NULL, last, &rid, err, sizeof(err)));
    CHECK(rid > uc.last_genstamp);
    OK(ns_close_recovered(ns, f, last, 1234, 0, err, sizeof(err)));
    struct ns_stat st;
    OK(ns_stat(ns, "/sw", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.complete, 1);
    CHECK_EQ_INT(st.length, 1234);
    int complete = 0;
    uint64_t len = 0, bgs = 0;
    OK(ns_block_lookup(ns, last, NULL, &bgs, &len, &complete));
    CHECK_EQ_INT(complete, 1);
    CHECK_EQ_INT(len, 1234);
    CHECK_EQ_INT(bgs, rid);
    /* A retry is fine; the index no longer lists it. */
    OK(ns_close_recovered(ns, f, last, 1234, 0, err, sizeof(err)));
    CHECK_EQ_INT(list_uc().n, 0);

    /* Dropping an empty last block: the file keeps the others. */
    uint64_t g = open_file("/sw2", NS_CREATE_WRITE, 2, MiB, &last);
    OK(ns_close_recovered(ns, g, last, 0, 1, err, sizeof(err)));
    OK(ns_stat(ns, "/sw2", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.complete, 1);
    CHECK_EQ_INT(st.length, MiB);
    CHECK_EQ_INT(ns_block_lookup(ns, last, NULL, NULL, NULL, NULL), DFS_ERR_NOENT);
    OK(ns_close_recovered(ns, g, last, 0, 1, err, sizeof(err)));
    /* Not the last block: stale. */
    uint64_t h = open_file("/sw3", NS_CREATE_WRITE, 2, MiB, &last);
    CHECK_EQ_INT(ns_close_recovered(ns, h, last - 1, 5, 0, err, sizeof(err)), DFS_ERR_STALE);
    OK(ns_close_recovered(ns, h, last, 5, 0, err, sizeof(err)));
    OK(ns_delete(ns, "/sw", 0, NULL, NULL, err, sizeof(err)));
    OK(ns_delete(ns, "/sw2", 0, NULL, NULL, err, sizeof(err)));
    OK(ns_delete(ns, "/sw3", 0, NULL, NULL, err, sizeof(err)));
}

static void test_append(void)
{
    uint64_t last;
    uint64_t f = open_file("/ap", NS_CREATE_WRITE, 2, 4 * MiB, &last);
    struct ns_block lb;
    struct ns_stat st;
    int reopened;

    /* Under construction: busy. */
    CHECK_EQ_INT(ns_append(ns, "/ap", "x", &st, &lb, &reopened, err, sizeof(err)),
                 DFS_ERR_BUSY);
    OK(ns_complete(ns, f, "w", last, 1000, err, sizeof(err)));
    uint64_t gs0;
    OK(ns_block_lookup(ns, last, NULL, &gs0, NULL, NULL));

    /* Partial last block: reopened under a new genstamp. */
    OK(ns_append(ns, "/ap", "x", &st, &lb, &reopened, err, sizeof(err)));
    CHECK_EQ_INT(reopened, 1);
    CHECK_EQ_INT(lb.id, last);
    CHECK(lb.genstamp > gs0);
    CHECK_EQ_INT(lb.length, 1000);
    CHECK_EQ_INT(lb.offset, 4 * MiB);
    CHECK_EQ_INT(lb.complete, 0);
    CHECK_EQ_INT(st.complete, 0);
    CHECK_EQ_INT(st.length, 4 * MiB + 1000);
    struct ns_uc uc;
    OK(ns_uc_get(ns, f, &uc, err, sizeof(err)));
    CHECK_EQ_STR(uc.client, "x");
    CHECK_EQ_INT(uc.last_complete, 0);
    CHECK_EQ_INT(list_uc().n, 1);
    /* The appender writes on and closes. */
    OK(ns_complete(ns, f, "x", last, 3000, err, sizeof(err)));
    OK(ns_stat(ns, "/ap", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.length, 4 * MiB + 3000);

    /* Full last block: left complete, the next block follows it. */
    OK(ns_append(ns, "/ap", "y", &st, &lb, &reopened, err, sizeof(err)));
    CHECK_EQ_INT(reopened, 1);
    OK(ns_complete(ns, f, "y", last, 4 * MiB, err, sizeof(err)));
    OK(ns_append(ns, "/ap", "z", &st, &lb, &reopened, err, sizeof(err)));
    CHECK_EQ_INT(reopened, 0);
    CHECK_EQ_INT(lb.id, last);
    CHECK_EQ_INT(lb.complete, 1);
    uint64_t id, gs;
    OK(ns_add_block(ns, f, "z", last, 4 * MiB, &id, &gs, NULL, err, sizeof(err)));
    OK(ns_complete(ns, f, "z", id, 7, err, sizeof(err)));
    OK(ns_stat(ns, "/ap", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.length, 8 * MiB + 7);

    /* No blocks. */
    OK(ns_create(ns, "/ap0", 0644, 0, 0, 0, 0, 0, NULL, "alice", NULL, err, sizeof(err)));
    OK(ns_append(ns, "/ap0", "x", &st, &lb, &reopened, err, sizeof(err)));
    CHECK_EQ_INT(reopened, 0);
    CHECK_EQ_INT(lb.id, 0);
    CHECK_EQ_INT(ns_append(ns, "/", "x", &st, &lb, &reopened, err, sizeof(err)),
                 DFS_ERR_ISDIR);
    CHECK_EQ_INT(ns_append(ns, "/nope", "x", &st, &lb, &reopened, err, sizeof(err)),
                 DFS_ERR_NOENT);
    OK(ns_delete(ns, "/ap", 0, NULL, NULL, err, sizeof(err)));
    OK(ns_delete(ns, "/ap0", 0, NULL, NULL, err, sizeof(err)));
    CHECK_EQ_INT(list_uc().n, 0);
}

static void test_delete_inode(void)
{
    uint64_t last;
    uint64_t f = open_file("/di/x/tmp", NS_CREATE_WRITE | NS_CREATE_TEMPORARY, 2, MiB, &last);
    uint64_t files, dirs, files0;
    struct ns_stat st;

    ns_counts(ns, &files0, &dirs);
    OK(ns_create(ns, "/di/x/other", 0644, 0, 0, 0, 0, 0, NULL, "alice", NULL, err,
                 sizeof(err)));
    ns_set_uc_removed(ns, on_uc_removed, NULL);
    nuc_gone = nblocks_gone = 0;
    OK(ns_delete_inode(ns, f, on_block_removed, NULL, err, sizeof(err)));
    CHECK_EQ_INT(nuc_gone, 1);
    CHECK_EQ_INT(uc_gone[0], f);
    CHECK_EQ_INT(nblocks_gone, 2);
    CHECK_EQ_INT(ns_stat(ns, "/di/x/tmp", &st, err, sizeof(err)), DFS_ERR_NOENT);
    OK(ns_stat(ns, "/di/x", &st, err, sizeof(err)));
    CHECK_EQ_INT(st.children, 1);
    ns_counts(ns, &files, &dirs);
    CHECK_EQ_INT(files, files0);
    CHECK_EQ_INT(ns_delete_inode(ns, f, NULL, NULL, err, sizeof(err)), DFS_ERR_NOENT);
    CHECK_EQ_INT(ns_delete_inode(ns, st.inode, NULL, NULL, err, sizeof(err)), DFS_ERR_ISDIR);
    CHECK_EQ_INT(list_uc().n, 0);
    ns_set_uc_removed(ns, NULL, NULL);
    OK(ns_delete(ns, "/di", 1, NULL, NULL, err, sizeof(err)));
    CHECK_EQ_INT(ns_cache_check(ns, err, sizeof(err)), 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dfs-test-nsuc-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dbdir, sizeof(dbdir), "%s/meta", tmpdir);
    open_store();
    test_index();
    test_index_build();
    test_set_writer();
    test_append();
    test_delete_inode();
    CHECK_EQ_INT(ns_cache_check(ns, err, sizeof(err)), 0);
    close_store();
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_summary();
}
