/*
 * blockmap.c - blocks, their replicas and the per-datanode block sets.
 *
 * Both the block table (id -> entry) and each datanode's set (id ->
 * entry) are open-addressing hash tables keyed by block id (0 is never a
 * block id, so it marks an empty slot), with linear probing and
 * backward-shift deletion, so there are no tombstones to clean.
 *
 * Counters (under-replicated blocks, corrupt replicas) are kept exact by
 * one rule: every change to an entry is bracketed by unaccount() and
 * account().
 */
#include <stdio.h>
#include <string.h>

#include "blockmap.h"
#include "log.h"
#include "u64map.h"
#include "xmalloc.h"

/* ----------------------------------------------------------- the map */

struct bm_dn {
    struct u64map set;      /* blocks of which this datanode holds a replica */
    uint32_t nblocks;       /* replicas held (== entries listing it) */
    /* Full report in progress (it may come in several parts): the set
     * before it, minus what it listed so far. */
    int reporting;
    struct u64map report_old;
};

/* Expected locations of a block under construction. */
struct bm_pipe {
    uint32_t n;
    uint32_t slots[BM_PIPELINE_MAX];
    uint8_t older[BM_PIPELINE_MAX];     /* known with an older genstamp only */
};

struct blockmap {
    struct u64map blocks;
    struct u64map pipes;        /* block id -> struct bm_pipe (under construction) */
    struct bm_dn *dns;
    size_t ndns;
    uint64_t under, corrupt;
    uint64_t complete, safe;    /* complete blocks; those with a good replica */
    bm_watch_fn watch;
    void *watch_arg;
};

struct blockmap *bm_new(void)
{
    return xcalloc(1, sizeof(struct blockmap));
}

void bm_free(struct blockmap *bm)
{
    if (!bm)
        return;
    for (size_t i = 0; i < u64map_cap(&bm->blocks); i++) {
        struct u64pair *p = u64map_at(&bm->blocks, i);
        if (p) {
            struct bm_block *b = p->val;
            free(b->reps);
            free(b);
        }
    }
    u64map_free(&bm->blocks);
    for (size_t i = 0; i < u64map_cap(&bm->pipes); i++) {
        struct u64pair *p = u64map_at(&bm->pipes, i);
        if (p)
            free(p->val);
    }
    u64map_free(&bm->pipes);
    for (size_t i = 0; i < bm->ndns; i++) {
        u64map_free(&bm->dns[i].set);
        u64map_free(&bm->dns[i].report_old);
    }
    free(bm->dns);
    free(bm);
}

static struct bm_dn *dn_state(struct blockmap *bm, uint32_t dn)
{
    bm->dns = xgrow_index(bm->dns, &bm->ndns, sizeof(*bm->dns), dn);
    return &bm->dns[dn];
}

unsigned bm_good_replicas(const struct bm_block *b)
{
    unsigned k = 0;
    for (unsigned i = 0; i < b->nreps; i++)
        k += !b->reps[i].corrupt;
    return k;
}

static unsigned corrupt_replicas(const struct bm_block *b)
{
    return b->nreps - bm_good_replicas(b);
}

static int is_under(const struct bm_block *b)
{
    return b->complete && bm_good_replicas(b) < b->expected;
}

static void unaccount(struct blockmap *bm, const struct bm_block *b)
{
    bm->under -= (uint64_t)is_under(b);
    bm->corrupt -= corrupt_replicas(b);
    bm->complete -= b->complete;
    bm->safe -= (uint64_t)(b->complete && bm_good_replicas(b) > 0);
}

/* Count b in, and tell the watcher it changed: every change to an entry
 * ends here (or in bm_remove_block). */
static void account(struct blockmap *bm, const struct bm_block *b)
{
    bm->under += (uint64_t)is_under(b);
    bm->corrupt += corrupt_replicas(b);
    bm->complete += b->complete;
    bm->safe += (uint64_t)(b->complete && bm_good_replicas(b) > 0);
    if (bm->watch)
        bm->watch(b->id, bm->watch_arg);
}

void bm_set_watch(struct blockmap *bm, bm_watch_fn fn, void *arg)
{
    bm->watch = fn;
    bm->watch_arg = arg;
}

static struct bm_replica *find_rep(const struct bm_block *b, uint32_t dn)
{
    for (unsigned i = 0; i < b->nreps; i++)
        if (b->reps[i].dn == dn)
            return &b->reps[i];
    return NULL;
}

/* Remove dn's replica from b's list (not from dn's set).  0 or -1. */
static int drop_rep(struct blockmap *bm, struct bm_block *b, uint32_t dn)
{
    struct bm_replica *r = find_rep(b, dn);
    if (!r)
        return -1;
    unaccount(bm, b);
    *r = b->reps[--b->nreps];
    account(bm, b);
    dn_state(bm, dn)->nblocks--;
    return 0;
}

struct bm_block *bm_add_block(struct blockmap *bm, uint64_t id, uint64_t inode,
                              uint64_t genstamp, uint32_t expected)
{
    struct bm_block *b = u64map_get(&bm->blocks, id);
    if (b || id == 0)
        return b;
    b = xcalloc(1, sizeof(*b));
    b->id = id;
    b->inode = inode;
    b->genstamp = genstamp;
    b->expected = expected;
    u64map_put(&bm->blocks, id, b);
    account(bm, b);
    return b;
}

struct bm_block *bm_get(const struct blockmap *bm, uint64_t id)
{
    return u64map_get(&bm->blocks, id);
}

void bm_complete_block(struct blockmap *bm, struct bm_block *b, uint64_t length)
{
    free(u64map_del(&bm->pipes, b->id));
    unaccount(bm, b);
    b->length = length;
    b->complete = 1;
    for (unsigned i = 0; i < b->nreps; i++)
        if (b->reps[i].length != length)
            b->reps[i].corrupt = 1;
    account(bm, b);
}

size_t bm_new_genstamp(struct blockmap *bm, struct bm_block *b, uint64_t gs)
{
    size_t k = b->nreps;
    while (b->nreps > 0)
        bm_remove_replica(bm, b->reps[b->nreps - 1].dn, b->id);
    unaccount(bm, b);
    b->genstamp = gs;
    b->complete = 0;
    account(bm, b);
    return k;
}

void bm_set_pipeline(struct blockmap *bm, uint64_t id, const uint32_t *slots, size_t n)
{
    struct bm_pipe *p = u64map_get(&bm->pipes, id);
    if (n == 0 || !u64map_get(&bm->blocks, id)) {
        free(u64map_del(&bm->pipes, id));
        return;
    }
    if (!p) {
        p = xcalloc(1, sizeof(*p));
        u64map_put(&bm->pipes, id, p);
    }
    p->n = 0;
    for (size_t i = 0; i < n && p->n < BM_PIPELINE_MAX; i++) {
        uint32_t k = 0;
        while (k < p->n && p->slots[k] != slots[i])
            k++;
        if (k == p->n) {
            p->older[p->n] = 0;
            p->slots[p->n++] = slots[i];
        }
    }
}

void bm_pipeline_add(struct blockmap *bm, uint64_t id, uint32_t slot, int older)
{
    struct bm_pipe *p = u64map_get(&bm->pipes, id);
    if (!p) {
        bm_set_pipeline(bm, id, &slot, 1);
        p = u64map_get(&bm->pipes, id);
        if (p)
            p->older[0] = older != 0;
        return;
    }
    for (uint32_t k = 0; k < p->n; k++) {
        if (p->slots[k] == slot) {
            p->older[k] = p->older[k] && older;
            return;
        }
    }
    if (p->n < BM_PIPELINE_MAX) {
        p->older[p->n] = older != 0;
        p->slots[p->n++] = slot;
    }
}

int bm_pipeline_older(const struct blockmap *bm, uint64_t id, uint32_t slot)
{
    const struct bm_pipe *p = u64map_get(&bm->pipes, id);
    for (uint32_t k = 0; p && k < p->n; k++)
        if (p->slots[k] == slot)
            return p->older[k];
    return 0;
}

const uint32_t *bm_pipeline(const struct blockmap *bm, uint64_t id, size_t *n)
{
    const struct bm_pipe *p = u64map_get(&bm->pipes, id);
    *n = p ? p->n : 0;
    return p ? p->slots : NULL;
}

void bm_set_expected(struct blockmap *bm, struct bm_block *b, uint32_t expected)
{
    unaccount(bm, b);
    b->expected = expected;
    account(bm, b);
}

int bm_remove_block(struct blockmap *bm, uint64_t id,
                    void (*on_replica)(const struct bm_block *b, uint32_t dn, void *arg),
                    void *arg)
{
    struct bm_block *b = u64map_del(&bm->blocks, id);
    if (!b)
        return -1;
    size_t np = 0;
    const uint32_t *pipe = bm_pipeline(bm, id, &np);
    /* The pipeline's datanodes hold replicas being written (parked when
     * their writer went away) that no report has listed: those go too. */
    for (size_t i = 0; i < np && on_replica; i++)
        if (!find_rep(b, pipe[i]))
            on_replica(b, pipe[i], arg);
    free(u64map_del(&bm->pipes, id));
    unaccount(bm, b);
    for (unsigned i = 0; i < b->nreps; i++) {
        uint32_t dn = b->reps[i].dn;
        if (on_replica)
            on_replica(b, dn, arg);
        u64map_del(&dn_state(bm, dn)->set, id);
        u64map_del(&dn_state(bm, dn)->report_old, id);
        dn_state(bm, dn)->nblocks--;
    }
    free(b->reps);
    free(b);
    if (bm->watch)
        bm->watch(id, bm->watch_arg);
    return 0;
}

enum bm_report_rc bm_add_replica(struct blockmap *bm, uint32_t dn, uint64_t id,
                                 uint64_t genstamp, uint64_t length)
{
    struct bm_block *b = u64map_get(&bm->blocks, id);
    enum bm_report_rc rc = BM_ADDED;

    if (!b)
        return BM_UNKNOWN;
    if (genstamp != b->genstamp)
        return BM_STALE;
    unaccount(bm, b);
    struct bm_replica *r = find_rep(b, dn);
    if (!r) {
        if (b->nreps == b->capreps) {
            b->capreps = b->capreps ? (uint16_t)(2 * b->capreps) : 4;
            b->reps = xrealloc(b->reps, b->capreps * sizeof(*b->reps));
        }
        r = &b->reps[b->nreps++];
        r->dn = dn;
        r->corrupt = 0;
        dn_state(bm, dn)->nblocks++;
    }
    r->length = length;
    if (b->complete && length != b->length) {
        r->corrupt = 1;
        rc = BM_BAD_LENGTH;
    }
    account(bm, b);
    u64map_put(&dn_state(bm, dn)->set, id, b);
    u64map_del(&dn_state(bm, dn)->report_old, id);
    return rc;
}

int bm_remove_replica(struct blockmap *bm, uint32_t dn, uint64_t id)
{
    struct bm_block *b = u64map_get(&bm->blocks, id);
    if (!b || drop_rep(bm, b, dn) != 0)
        return -1;
    u64map_del(&dn_state(bm, dn)->set, id);
    u64map_del(&dn_state(bm, dn)->report_old, id);
    return 0;
}

void bm_report_begin(struct blockmap *bm, uint32_t dn)
{
    struct bm_dn *d = dn_state(bm, dn);
    if (d->reporting) {
        /* A report of dn that never ended (its datanode went away in the
         * middle): forget it, keeping every replica it had. */
        for (size_t i = 0; i < u64map_cap(&d->report_old); i++) {
            struct u64pair *p = u64map_at(&d->report_old, i);
            if (p)
                u64map_put(&d->set, p->key, p->val);
        }
        u64map_free(&d->report_old);
    }
    d->reporting = 1;
    d->report_old = d->set;
    memset(&d->set, 0, sizeof(d->set));
}

int bm_reporting(const struct blockmap *bm, uint32_t dn)
{
    return dn < bm->ndns && bm->dns[dn].reporting;
}

/* Drop dn's replica of every block in set, then free the set. */
static size_t drop_set(struct blockmap *bm, struct u64map *set, uint32_t dn)
{
    size_t k = 0;
    for (size_t i = 0; i < u64map_cap(set); i++) {
        struct u64pair *p = u64map_at(set, i);
        if (p && drop_rep(bm, p->val, dn) == 0)
            k++;
    }
    u64map_free(set);
    return k;
}

size_t bm_report_end(struct blockmap *bm, uint32_t dn)
{
    struct bm_dn *d = dn_state(bm, dn);
    if (!d->reporting)
        return 0;
    struct u64map old = d->report_old;
    memset(&d->report_old, 0, sizeof(d->report_old));
    d->reporting = 0;
    return drop_set(bm, &old, dn);
}

size_t bm_drop_datanode(struct blockmap *bm, uint32_t dn)
{
    struct bm_dn *d = dn_state(bm, dn);
    struct u64map set = d->set;
    size_t k;

    memset(&d->set, 0, sizeof(d->set));
    k = drop_set(bm, &set, dn);
    k += bm_report_end(bm, dn);
    return k;
}

enum bm_report_rc bm_mark_corrupt(struct blockmap *bm, uint64_t id, uint64_t genstamp,
                                  uint32_t dn)
{
    struct bm_block *b = u64map_get(&bm->blocks, id);
    struct bm_replica *r = b ? find_rep(b, dn) : NULL;

    if (!r)
        return BM_UNKNOWN;
    if (genstamp != b->genstamp)
        return BM_STALE;
    unaccount(bm, b);
    r->corrupt = 1;
    account(bm, b);
    return BM_ADDED;
}

uint32_t bm_dn_blocks(const struct blockmap *bm, uint32_t dn)
{
    return dn < bm->ndns ? bm->dns[dn].nblocks : 0;
}

void bm_safe_counts(const struct blockmap *bm, uint64_t *complete, uint64_t *safe)
{
    *complete = bm->complete;
    *safe = bm->safe;
}

int bm_foreach_dn(const struct blockmap *bm, uint32_t dn,
                  int (*cb)(const struct bm_block *b, void *arg), void *arg)
{
    if (dn >= bm->ndns)
        return 0;
    const struct u64map *set = &bm->dns[dn].set;
    for (size_t i = 0; i < u64map_cap(set); i++) {
        const struct u64pair *p = u64map_at(set, i);
        if (p) {
            int rc = cb(p->val, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}

void bm_counts(const struct blockmap *bm, uint64_t *blocks, uint64_t *under_replicated,
               uint64_t *corrupt)
{
    if (blocks)
        *blocks = u64map_count(&bm->blocks);
    if (under_replicated)
        *under_replicated = bm->under;
    if (corrupt)
        *corrupt = bm->corrupt;
}

int bm_foreach(const struct blockmap *bm, int (*cb)(const struct bm_block *b, void *arg),
               void *arg)
{
    for (size_t i = 0; i < u64map_cap(&bm->blocks); i++) {
        const struct u64pair *p = u64map_at(&bm->blocks, i);
        if (p) {
            int rc = cb(p->val, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ loading */

struct load_ctx {
    struct blockmap *bm;
    struct ns *ns;
    uint64_t inode;         /* last file looked up (blocks of a file are often adjacent) */
    int have;               /* its stat is valid */
    struct ns_stat st;
    uint64_t orphans;
    char why[512];          /* a file that could not be read */
};

static int load_one(uint64_t id, uint64_t gs, uint64_t len, uint64_t inode, void *arg)
{
    struct load_ctx *lc = arg;
    char err[256];
    int complete = 1;

    if (inode != lc->inode || !lc->have) {
        lc->inode = inode;
        int rc = ns_stat_inode(lc->ns, inode, &lc->st, err, sizeof(err));
        if (rc != DFS_OK && rc != DFS_ERR_NOENT) {
            /* Not "no such file": a read error.  Its blocks must not pass
             * for orphans (their replicas would be deleted): stop. */
            snprintf(lc->why, sizeof(lc->why), "blk_%llu: its file (inode %llu): %s",
                     (unsigned long long)id, (unsigned long long)inode, err);
            return 1;
        }
        lc->have = rc == DFS_OK;
    }
    if (!lc->have) {
        if (lc->orphans++ < 10)
            LOG_WARN("blk_%llu belongs to inode %llu, which does not exist: ignored",
                     (unsigned long long)id, (unsigned long long)inode);
        return 0;
    }
    if (!lc->st.complete && ns_block_lookup(lc->ns, id, NULL, NULL, NULL, &complete) != 0)
        complete = 0;
    struct bm_block *b = bm_add_block(lc->bm, id, inode, gs, lc->st.replication);
    if (b && complete)
        bm_complete_block(lc->bm, b, len);
    return 0;
}

int bm_load(struct blockmap *bm, struct ns *ns, char *err, size_t errsz)
{
    struct load_ctx lc = { .bm = bm, .ns = ns };
    int rc = ns_foreach_block(ns, load_one, &lc);
    if (rc != 0) {
        snprintf(err, errsz, "%s", rc > 0 ? lc.why : "unreadable block record");
        return -1;
    }
    if (lc.orphans)
        LOG_WARN("%llu block records without their file were ignored",
                 (unsigned long long)lc.orphans);
    return 0;
}
