/*
 * test_replmon.c - the replication monitor (namenode/replmon.c) over a real
 * block map, datanode table and placement, with explicit times: copies
 * scheduled for under-replicated blocks (most urgent first, within the
 * per-source stream limit, never to a datanode holding the block), copies
 * done and timed out, excess and corrupt replicas deleted (never the last
 * good one), missing blocks, safe mode (disabled), decommissioning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockmap.h"
#include "check.h"
#include "dnmanager.h"
#include "placement.h"
#include "replmon.h"

#define MiB (1024ull * 1024)

struct world {
    struct blockmap *bm;
    struct dnmanager *dm;
    struct placement *pl;
    struct replmon *rm;
    struct dm_node *dn[8];
};

static void world_init(struct world *w, int ndn, const char *const *racks, uint32_t streams)
{
    char err[256], id[32], host[32];
    memset(w, 0, sizeof(*w));
    w->bm = bm_new();
    w->dm = dm_new(10000, 30000, NULL, NULL);
    w->pl = pl_new(NULL, 7, err, sizeof(err));
    for (int i = 0; i < ndn; i++) {
        snprintf(id, sizeof(id), "DS-%d", i);
        snprintf(host, sizeof(host), "10.0.0.%d", i + 1);
        w->dn[i] = dm_register(w->dm, id, host, 9866, 0, racks ? racks[i] : "/default",
                               1000 * MiB, 0, 1000 * MiB - (uint64_t)i * MiB, 0);
    }
    struct rm_cfg cfg = { streams, 5000 };
    w->rm = rm_new(w->bm, w->dm, w->pl, &cfg);
    bm_set_watch(w->bm, rm_watch, w->rm);
}

static void world_free(struct world *w)
{
    bm_set_watch(w->bm, NULL, NULL);
    rm_free(w->rm);
    bm_free(w->bm);
    dm_free(w->dm);
    pl_free(w->pl);
}

/* A complete block id of `len` bytes wanting `expected` replicas, held by
 * the datanodes of slots[n]. */
static void block(struct world *w, uint64_t id, uint32_t expected, const int *slots, int n)
{
    struct bm_block *b = bm_add_block(w->bm, id, 100 + id, 1, expected);
    bm_complete_block(w->bm, b, 4 * MiB);
    for (int i = 0; i < n; i++)
        bm_add_replica(w->bm, (uint32_t)slots[i], id, 1, 4 * MiB);
}

/* Copies queued for datanode slot (taken). */
static size_t take(struct world *w, int slot, struct rm_copy *out, size_t max)
{
    return rm_take_copies(w->rm, (uint32_t)slot, out, max);
}

/* Deletions queued for datanode slot (taken). */
static size_t deletes(struct world *w, int slot, struct dm_block *out, size_t max)
{
    return dm_take_deletes(w->dm, w->dn[slot], out, max);
}

static int holds(const struct bm_block *b, uint32_t slot)
{
    for (unsigned i = 0; i < b->nreps; i++)
        if (b->reps[i].dn == slot)
            return 1;
    return 0;
}

static void test_copy_scheduled_and_done(void)
{
    struct world w;
    world_init(&w, 4, NULL, 2);
    block(&w, 1, 3, (int[]){ 0, 1 }, 2);
    rm_tick(w.rm, 1000);

    struct rm_copy c[8];
    size_t n = take(&w, 0, c, 8) + take(&w, 1, c, 8);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(c[0].id, 1);
    CHECK_EQ_INT(c[0].ntargets, 1);
    CHECK(c[0].targets[0] == 2 || c[0].targets[0] == 3);   /* not a holder */
    struct rm_counts k;
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.pending, 1);
    CHECK_EQ_INT(k.under_replicated, 1);

    /* Not scheduled twice while in flight. */
    rm_tick(w.rm, 1100);
    CHECK_EQ_INT(take(&w, 0, c + 1, 7) + take(&w, 1, c + 1, 7), 0);

    /* The target reports the replica: done. */
    bm_add_replica(w.bm, c[0].targets[0], 1, 1, 4 * MiB);
    rm_tick(w.rm, 1200);
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.pending, 0);
    CHECK_EQ_INT(k.under_replicated, 0);
    CHECK_EQ_INT(k.copies_done, 1);
    world_free(&w);
}

static void test_timeout_requeues(void)
{
    struct world w;
    world_init(&w, 3, NULL, 2);
    block(&w, 5, 3, (int[]){ 0 }, 1);
    rm_tick(w.rm, 1000);
    struct rm_copy c[8];
    CHECK_EQ_INT(take(&w, 0, c, 8), 1);
    CHECK_EQ_INT(c[0].ntargets, 2);             /* both missing replicas at once */
    rm_tick(w.rm, 3000);                        /* within the 5 s timeout */
    CHECK_EQ_INT(take(&w, 0, c, 8), 0);
    rm_tick(w.rm, 6001);                        /* given up: scheduled again */
    struct rm_counts k;
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.copies_timed_out, 1);
    rm_tick(w.rm, 6002);
    CHECK_EQ_INT(take(&w, 0, c, 8), 1);
    world_free(&w);
}

static void test_priority_and_streams(void)
{
    struct world w;
    world_init(&w, 5, NULL, 1);                 /* one copy per source at a time */
    block(&w, 10, 3, (int[]){ 0, 1 }, 2);       /* two of three: priority 2 */
    block(&w, 11, 3, (int[]){ 0 }, 1);          /* one left: priority 0 */
    rm_tick(w.rm, 1000);
    struct rm_copy c[8];
    size_t n = take(&w, 0, c, 8);
    /* Source 0 may run one copy: the block with one replica left goes
     * first; the other is copied from datanode 1. */
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(c[0].id, 11);
    CHECK_EQ_INT(take(&w, 1, c, 8), 1);
    CHECK_EQ_INT(c[0].id, 10);
    world_free(&w);
}

static void test_excess_trimmed_keeping_racks(void)
{
    static const char *const racks[] = { "/r1", "/r1", "/r2", "/r2" };
    struct world w;
    world_init(&w, 4, racks, 2);
    block(&w, 20, 2, (int[]){ 0, 1, 2, 3 }, 4);
    rm_tick(w.rm, 1000);
    const struct bm_block *b = bm_get(w.bm, 20);
    CHECK_EQ_INT(b->nreps, 2);
    /* One replica left on each rack. */
    int r1 = holds(b, 0) + holds(b, 1), r2 = holds(b, 2) + holds(b, 3);
    CHECK_EQ_INT(r1, 1);
    CHECK_EQ_INT(r2, 1);
    struct dm_block d[8];
    size_t nd = 0;
    for (int i = 0; i < 4; i++)
        nd += deletes(&w, i, d, 8);
    CHECK_EQ_INT(nd, 2);
    struct rm_counts k;
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.deleted_excess, 2);
    /* Nothing more on later ticks. */
    rm_tick(w.rm, 2000);
    CHECK_EQ_INT(bm_get(w.bm, 20)->nreps, 2);
    world_free(&w);
}

static void test_corrupt_replaced_then_deleted(void)
{
    struct world w;
    world_init(&w, 4, NULL, 2);
    block(&w, 30, 3, (int[]){ 0, 1, 2 }, 3);
    bm_mark_corrupt(w.bm, 30, 1, 2);
    rm_tick(w.rm, 1000);
    struct dm_block d[4];
    CHECK_EQ_INT(deletes(&w, 2, d, 4), 0);      /* not before a good copy */
    struct rm_copy c[8];
    size_t n = take(&w, 0, c, 8) + take(&w, 1, c, 8);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(c[0].targets[0], 3);           /* the one datanode without it */
    bm_add_replica(w.bm, 3, 30, 1, 4 * MiB);
    rm_tick(w.rm, 1100);
    CHECK_EQ_INT(deletes(&w, 2, d, 4), 1);
    CHECK_EQ_INT(d[0].id, 30);
    CHECK_EQ_INT(bm_get(w.bm, 30)->nreps, 3);
    CHECK_EQ_INT(bm_good_replicas(bm_get(w.bm, 30)), 3);
    world_free(&w);
}

static void test_corrupt_deleted_first_when_no_room(void)
{
    struct world w;
    world_init(&w, 3, NULL, 2);
    block(&w, 31, 3, (int[]){ 0, 1, 2 }, 3);
    bm_mark_corrupt(w.bm, 31, 1, 1);
    rm_tick(w.rm, 1000);
    /* Every datanode holds a replica: the corrupt one goes first... */
    struct dm_block d[4];
    CHECK_EQ_INT(deletes(&w, 1, d, 4), 1);
    CHECK_EQ_INT(deletes(&w, 0, d, 4) + deletes(&w, 2, d, 4), 0);
    /* ... no copy goes there while the deletion is not confirmed ... */
    rm_tick(w.rm, 1100);
    struct rm_copy c[8];
    CHECK_EQ_INT(take(&w, 0, c, 8) + take(&w, 2, c, 8), 0);
    /* ... then a good copy does. */
    dm_delete_confirmed(w.dn[1], 31);
    rm_watch(31, w.rm);
    rm_tick(w.rm, 1200);
    size_t n = take(&w, 0, c, 8) + take(&w, 2, c, 8);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(c[0].targets[0], 1);
    world_free(&w);
}

static void test_missing_and_last_replica_kept(void)
{
    struct world w;
    world_init(&w, 3, NULL, 2);
    block(&w, 40, 2, (int[]){ 0 }, 1);
    bm_mark_corrupt(w.bm, 40, 1, 0);            /* the only replica is bad */
    rm_tick(w.rm, 1000);
    struct rm_counts k;
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.missing, 1);
    struct dm_block d[4];
    CHECK_EQ_INT(deletes(&w, 0, d, 4), 0);      /* kept for an operator */
    struct rm_copy c[8];
    CHECK_EQ_INT(take(&w, 0, c, 8), 0);
    /* A good replica reported elsewhere: no longer missing, copied on. */
    bm_add_replica(w.bm, 1, 40, 1, 4 * MiB);
    rm_tick(w.rm, 1100);
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.missing, 0);
    CHECK_EQ_INT(take(&w, 1, c, 8), 1);
    CHECK_EQ_INT(c[0].targets[0], 2);
    world_free(&w);
}

static void test_disabled_orders_nothing(void)
{
    struct world w;
    world_init(&w, 4, NULL, 2);
    rm_set_enabled(w.rm, 0);
    block(&w, 50, 3, (int[]){ 0 }, 1);
    block(&w, 51, 1, (int[]){ 0, 1, 2 }, 3);
    rm_tick(w.rm, 1000);
    struct rm_copy c[8];
    struct dm_block d[8];
    CHECK_EQ_INT(take(&w, 0, c, 8), 0);
    CHECK_EQ_INT(deletes(&w, 0, d, 8) + deletes(&w, 1, d, 8) + deletes(&w, 2, d, 8), 0);
    CHECK_EQ_INT(bm_get(w.bm, 51)->nreps, 3);
    /* Enabled again: every block is looked at. */
    rm_set_enabled(w.rm, 1);
    rm_tick(w.rm, 1100);
    CHECK_EQ_INT(take(&w, 0, c, 8), 1);
    CHECK_EQ_INT(bm_get(w.bm, 51)->nreps, 1);
    world_free(&w);
}

static void test_under_construction_ignored(void)
{
    struct world w;
    world_init(&w, 3, NULL, 2);
    bm_add_block(w.bm, 60, 160, 1, 3);          /* being written */
    bm_add_replica(w.bm, 0, 60, 1, 0);
    rm_tick(w.rm, 1000);
    struct rm_copy c[8];
    CHECK_EQ_INT(take(&w, 0, c, 8), 0);
    struct rm_counts k;
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.under_replicated, 0);
    world_free(&w);
}

/* A complete block reopened (append, a genstamp bump) leaves the queues:
 * its writer owns it again; complete once more, it is looked at again. */
static void test_reopened_block_leaves_the_queues(void)
{
    struct world w;
    world_init(&w, 3, NULL, 1);
    block(&w, 61, 3, (int[]){ 0 }, 1);
    block(&w, 62, 3, (int[]){ 0 }, 1);
    rm_tick(w.rm, 1000);                        /* one copy: 1 stream */
    struct rm_counts k;
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.under_replicated, 2);
    bm_new_genstamp(w.bm, bm_get(w.bm, 61), 2);
    bm_new_genstamp(w.bm, bm_get(w.bm, 62), 2);
    bm_add_replica(w.bm, 1, 62, 2, 100);
    rm_tick(w.rm, 1100);
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.under_replicated, 0);
    CHECK_EQ_INT(k.pending, 0);
    struct rm_copy c[8];
    CHECK_EQ_INT(take(&w, 1, c, 8), 0);         /* not copied while written */
    bm_complete_block(w.bm, bm_get(w.bm, 62), 100);
    rm_tick(w.rm, 1200);
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.under_replicated, 1);
    CHECK_EQ_INT(take(&w, 1, c, 8), 1);
    world_free(&w);
}

static void test_decommission(void)
{
    struct world w;
    world_init(&w, 4, NULL, 2);
    block(&w, 70, 3, (int[]){ 0, 1, 2 }, 3);
    CHECK(dm_set_decommission(w.dm, "10.0.0.1:9866", 1) == w.dn[0]);
    CHECK_EQ_INT(w.dn[0]->admin, DM_ADMIN_DECOMMISSIONING);
    rm_note_datanode(w.rm, 0);
    rm_tick(w.rm, 1000);
    CHECK_EQ_INT(rm_decommission_left(w.rm, 0), 1);
    /* The decommissioning datanode is the preferred source. */
    struct rm_copy c[8];
    CHECK_EQ_INT(take(&w, 0, c, 8), 1);
    CHECK_EQ_INT(c[0].targets[0], 3);
    bm_add_replica(w.bm, 3, 70, 1, 4 * MiB);
    rm_tick(w.rm, 1100);
    CHECK_EQ_INT(rm_decommission_left(w.rm, 0), 0);
    CHECK_EQ_INT(w.dn[0]->admin, DM_ADMIN_DECOMMISSIONED);
    /* Its replica is kept (not excess: it is not in service). */
    CHECK_EQ_INT(bm_get(w.bm, 70)->nreps, 4);
    /* Recommissioned: four in service, one trimmed. */
    dm_set_decommission(w.dm, "10.0.0.1:9866", 0);
    CHECK_EQ_INT(w.dn[0]->admin, DM_ADMIN_NORMAL);
    rm_note_datanode(w.rm, 0);
    rm_tick(w.rm, 1200);
    CHECK_EQ_INT(bm_get(w.bm, 70)->nreps, 3);
    world_free(&w);
}

static void test_dead_source_drops_its_copies(void)
{
    struct world w;
    world_init(&w, 4, NULL, 2);
    block(&w, 80, 3, (int[]){ 0, 1 }, 2);
    rm_tick(w.rm, 1000);
    struct rm_copy c[8];
    int src = take(&w, 0, c, 8) ? 0 : 1;
    if (src == 1)
        CHECK_EQ_INT(take(&w, 1, c, 8), 1);
    /* The source dies: its replicas go, its copy is dropped at once and the
     * block is scheduled from the survivor. */
    bm_drop_datanode(w.bm, (uint32_t)src);
    w.dn[src]->state = DM_DEAD;
    rm_datanode_dead(w.rm, (uint32_t)src);
    rm_tick(w.rm, 1100);
    struct rm_counts k;
    rm_counts(w.rm, &k);
    CHECK_EQ_INT(k.pending, 1);
    CHECK_EQ_INT(take(&w, 1 - src, c, 8), 1);
    CHECK_EQ_INT(c[0].ntargets, 2);
    world_free(&w);
}

/* setrep 2 -> 1, then the trimmed datanode re-registers before it
 * deleted its replica: the replica is not taken back and the other one
 * is never trimmed too (the reviewer's double delete). */
static void test_trimmed_replica_reported_again(void)
{
    struct world w;
    world_init(&w, 2, NULL, 2);
    block(&w, 90, 1, (int[]){ 0, 1 }, 2);
    rm_tick(w.rm, 1000);
    struct dm_block d[4];
    int victim = deletes(&w, 0, d, 4) ? 0 : 1;
    CHECK_EQ_INT(deletes(&w, 1 - victim, d, 4), 0);
    CHECK(dm_is_doomed(w.dn[victim], 90, 1));
    /* A full report from the victim still lists it (restarted first). */
    bm_report_begin(w.bm, (uint32_t)victim);
    dm_doomed_report_begin(w.dn[victim]);
    CHECK(dm_is_doomed(w.dn[victim], 90, 1));   /* the handler skips it */
    dm_doomed_listed(w.dn[victim], 90);
    bm_report_end(w.bm, (uint32_t)victim);
    dm_doomed_report_end(w.dn[victim]);
    rm_tick(w.rm, 1100);
    CHECK_EQ_INT(deletes(&w, 1 - victim, d, 4), 0);
    CHECK_EQ_INT(bm_get(w.bm, 90)->nreps, 1);
    CHECK(dm_is_doomed(w.dn[victim], 90, 1));
    /* Its next full report no longer lists it: confirmed gone. */
    dm_doomed_report_begin(w.dn[victim]);
    dm_doomed_report_end(w.dn[victim]);
    CHECK(!dm_is_doomed(w.dn[victim], 90, 1));
    world_free(&w);
}

/* A stale holder: no trimming (its replica might be the one kept). */
static void test_no_trim_with_stale_holder(void)
{
    struct world w;
    world_init(&w, 2, NULL, 2);
    block(&w, 91, 1, (int[]){ 0, 1 }, 2);
    dm_check(w.dm, 15000);                      /* both silent: stale */
    dm_heartbeat(w.dm, "DS-0", 1000 * MiB, 0, 1000 * MiB, 0, 15000);
    rm_tick(w.rm, 15000);
    struct dm_block d[4];
    CHECK_EQ_INT(deletes(&w, 0, d, 4) + deletes(&w, 1, d, 4), 0);
    dm_heartbeat(w.dm, "DS-1", 1000 * MiB, 0, 1000 * MiB, 0, 15100);
    rm_watch(91, w.rm);
    rm_tick(w.rm, 15100);
    CHECK_EQ_INT(deletes(&w, 0, d, 4) + deletes(&w, 1, d, 4), 1);
    world_free(&w);
}

/* Decommissioning does not end on replicas held by stale datanodes. */
static void test_decommission_waits_for_live_holders(void)
{
    struct world w;
    world_init(&w, 4, NULL, 2);
    block(&w, 92, 3, (int[]){ 0, 1, 2 }, 3);
    bm_add_replica(w.bm, 3, 92, 1, 4 * MiB);    /* 4 replicas: 3 elsewhere */
    dm_set_decommission(w.dm, "10.0.0.1:9866", 1);
    dm_check(w.dm, 15000);                      /* all stale ... */
    dm_heartbeat(w.dm, "DS-0", 1000 * MiB, 0, 1000 * MiB, 0, 15000);
    dm_heartbeat(w.dm, "DS-3", 1000 * MiB, 0, 1000 * MiB, 0, 15000);
    rm_note_datanode(w.rm, 0);
    rm_tick(w.rm, 15000);                       /* ... but 0 and 3 */
    CHECK_EQ_INT(w.dn[0]->admin, DM_ADMIN_DECOMMISSIONING);
    dm_heartbeat(w.dm, "DS-1", 1000 * MiB, 0, 1000 * MiB, 0, 15100);
    dm_heartbeat(w.dm, "DS-2", 1000 * MiB, 0, 1000 * MiB, 0, 15100);
    rm_tick(w.rm, 15100);
    CHECK_EQ_INT(w.dn[0]->admin, DM_ADMIN_DECOMMISSIONED);
    world_free(&w);
}

/* A copy aimed at a datanode that dies is dropped at once. */
static void test_dead_target_drops_copy(void)
{
    struct world w;
    world_init(&w, 3, NULL, 2);
    block(&w, 93, 2, (int[]){ 0 }, 1);
    rm_tick(w.rm, 1000);
    struct rm_copy c[4];
    CHECK_EQ_INT(take(&w, 0, c, 4), 1);
    uint32_t t = c[0].targets[0];
    w.dn[t]->state = DM_DEAD;
    rm_datanode_dead(w.rm, t);
    rm_tick(w.rm, 1100);
    CHECK_EQ_INT(take(&w, 0, c, 4), 1);         /* again, elsewhere */
    CHECK(c[0].targets[0] != t);
    world_free(&w);
}

/* Thousands of blocks that cannot be copied anywhere (every datanode has
 * one) do not keep a copyable block of the same priority waiting: each
 * tick looks at a bounded part of the queue, resuming where it stopped. */
static void test_bounded_walk_reaches_every_block(void)
{
    struct world w;
    world_init(&w, 4, NULL, 2);
    for (uint64_t id = 1000; id < 4000; id++)
        block(&w, id, 5, (int[]){ 0, 1, 2, 3 }, 4);
    block(&w, 5000, 4, (int[]){ 0, 1, 2 }, 3);
    struct rm_copy c[8];
    int ticks = 0;
    size_t got = 0;
    while (got == 0 && ticks < 10) {
        rm_tick(w.rm, 1000 + (uint64_t)ticks++);
        for (int i = 0; i < 3; i++)
            got += take(&w, i, c, 8);
    }
    CHECK_EQ_INT(got, 1);
    CHECK_EQ_INT(c[0].id, 5000);
    CHECK(ticks <= 5);
    world_free(&w);
}

/* All replicas on one rack of two: one more copy on the other rack, then
 * one replica of the crowded rack trimmed. */
static void test_misreplicated_spread(void)
{
    static const char *const racks[] = { "/r1", "/r1", "/r1", "/r2" };
    struct world w;
    world_init(&w, 4, racks, 2);
    block(&w, 95, 2, (int[]){ 0, 1 }, 2);
    block(&w, 96, 1, (int[]){ 0 }, 1);          /* one replica: no rack rule */
    rm_tick(w.rm, 1000);
    struct rm_copy c[4];
    CHECK_EQ_INT(take(&w, 0, c, 4) + take(&w, 1, c, 4), 1);
    CHECK_EQ_INT(c[0].id, 95);
    CHECK_EQ_INT(c[0].ntargets, 1);
    CHECK_EQ_INT(c[0].targets[0], 3);           /* the other rack */
    bm_add_replica(w.bm, 3, 95, 1, 4 * MiB);
    rm_tick(w.rm, 1100);
    const struct bm_block *b = bm_get(w.bm, 95);
    CHECK_EQ_INT(b->nreps, 2);
    CHECK(holds(b, 3));
    CHECK_EQ_INT(holds(b, 0) + holds(b, 1), 1);
    rm_tick(w.rm, 1200);                        /* settled */
    CHECK_EQ_INT(take(&w, 0, c, 4) + take(&w, 1, c, 4) + take(&w, 3, c, 4), 0);
    /* With /r2 decommissioning, one rack is all there is: nothing to do. */
    block(&w, 97, 2, (int[]){ 1, 2 }, 2);
    dm_set_decommission(w.dm, "10.0.0.4:9866", 1);
    rm_tick(w.rm, 1300);
    CHECK_EQ_INT(take(&w, 1, c, 4) + take(&w, 2, c, 4), 0);
    world_free(&w);
}

int main(void)
{
    test_copy_scheduled_and_done();
    test_timeout_requeues();
    test_priority_and_streams();
    test_excess_trimmed_keeping_racks();
    test_corrupt_replaced_then_deleted();
    test_corrupt_deleted_first_when_no_room();
    test_missing_and_last_replica_kept();
    test_disabled_orders_nothing();
    test_under_construction_ignored();
    test_reopened_block_leaves_the_queues();
    test_decommission();
    test_dead_source_drops_its_copies();
    test_trimmed_replica_reported_again();
    test_no_trim_with_stale_holder();
    test_decommission_waits_for_live_holders();
    test_dead_target_drops_copy();
    test_bounded_walk_reaches_every_block();
    test_misreplicated_spread();
    return check_summary();
}
