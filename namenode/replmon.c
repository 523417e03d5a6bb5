/*
 * replmon.c - the replication monitor (see replmon.h).
 *
 * State, all keyed by block id (u64map):
 *   dirty     blocks to look at on the next tick (value unused);
 *   queued    under-replicated blocks waiting for a copy, value = priority
 *             + 1 (scheduling walks the table once per priority);
 *   missing   complete blocks with no good replica;
 *   pending   copies in flight (struct copy), at most one per block.
 * Per datanode slot: the copies it sources (in flight) and the commands
 * not yet handed to it.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replmon.h"
#include "blockmap.h"
#include "clock.h"
#include "dnmanager.h"
#include "log.h"
#include "placement.h"
#include "u64map.h"
#include "xmalloc.h"

#define NPRIO 3
#define SCHEDULE_TRIES_PER_STREAM 16    /* blocks looked at per free stream and tick */
#define SCHEDULE_TRIES_MIN 1024
#define DECOM_LOG_MS 60000      /* decommissioning progress, at most this often */
#define PRESENT ((void *)1)

/* A copy in flight. */
struct copy {
    struct rm_copy cmd;
    uint32_t src;
    uint64_t deadline;          /* dfs_mono_ms() when it is given up */
    int sent;                   /* handed to the source in a heartbeat */
};

struct rm_dn {
    uint32_t active;            /* copies it sources, in flight */
    uint64_t decom_logged;      /* when its decommissioning progress was logged */
    struct copy **cmds;         /* commands not yet handed out, oldest first */
    size_t ncmds, capcmds;
};

struct replmon {
    struct blockmap *bm;
    struct dnmanager *dm;
    struct placement *pl;
    struct rm_cfg cfg;
    int enabled;
    unsigned racks;             /* racks with an in-service datanode (0, 1, 2 = more) */
    int all_dirty;              /* look at every block on the next tick */
    struct u64map dirty, queued, missing, pending;
    struct u64map deferred;     /* over-replicated, trim put off: looked at each tick */
    uint64_t nqueued[NPRIO];
    size_t cursor[NPRIO];       /* where each queue's walk resumes */
    struct rm_dn *dns;
    size_t ndns;
    struct rm_counts stats;     /* the since-start counters */
    uint64_t now;               /* of the tick in progress */
};

struct replmon *rm_new(struct blockmap *bm, struct dnmanager *dm, struct placement *pl,
                       const struct rm_cfg *cfg)
{
    struct replmon *rm = xcalloc(1, sizeof(*rm));
    rm->bm = bm;
    rm->dm = dm;
    rm->pl = pl;
    rm->cfg = *cfg;
    rm->enabled = 1;
    return rm;
}

void rm_free(struct replmon *rm)
{
    if (!rm)
        return;
    for (size_t i = 0; i < u64map_cap(&rm->pending); i++)
        if (u64map_at(&rm->pending, i))
            free(u64map_at(&rm->pending, i)->val);
    u64map_free(&rm->pending);
    u64map_free(&rm->dirty);
    u64map_free(&rm->queued);
    u64map_free(&rm->missing);
    u64map_free(&rm->deferred);
    for (size_t i = 0; i < rm->ndns; i++)
        free(rm->dns[i].cmds);
    free(rm->dns);
    free(rm);
}

void rm_set_cfg(struct replmon *rm, const struct rm_cfg *cfg)
{
    rm->cfg = *cfg;
}

void rm_set_enabled(struct replmon *rm, int on)
{
    if (on && !rm->enabled)
        rm->all_dirty = 1;
    rm->enabled = on;
}

void rm_watch(uint64_t block_id, void *arg)
{
    struct replmon *rm = arg;
    /* Disabled (safe mode): enabling looks at every block anyway, so the
     * block reports of a restart need not build a set of every block. */
    if (rm->enabled && !rm->all_dirty)
        u64map_put(&rm->dirty, block_id, PRESENT);
}

static struct rm_dn *dn_of(struct replmon *rm, uint32_t slot)
{
    rm->dns = xgrow_index(rm->dns, &rm->ndns, sizeof(*rm->dns), slot);
    return &rm->dns[slot];
}

static int note_block(const struct bm_block *b, void *arg)
{
    rm_watch(b->id, arg);
    return 0;
}

void rm_note_datanode(struct replmon *rm, uint32_t slot)
{
    bm_foreach_dn(rm->bm, slot, note_block, rm);
}

/* ------------------------------------------------------------ queues */

static void unqueue(struct replmon *rm, uint64_t id)
{
    void *v = u64map_del(&rm->queued, id);
    if (v)
        rm->nqueued[(uintptr_t)v - 1]--;
}

static void enqueue(struct replmon *rm, uint64_t id, unsigned prio)
{
    unqueue(rm, id);
    u64map_put(&rm->queued, id, (void *)(uintptr_t)(prio + 1));
    rm->nqueued[prio]++;
}

/* Drop the copy of block id (done, timed out or its source died). */
static void end_copy(struct replmon *rm, uint64_t id)
{
    struct copy *cp = u64map_del(&rm->pending, id);
    if (!cp)
        return;
    struct rm_dn *d = dn_of(rm, cp->src);
    if (d->active > 0)
        d->active--;
    if (!cp->sent) {
        for (size_t i = 0; i < d->ncmds; i++) {
            if (d->cmds[i] == cp) {
                memmove(&d->cmds[i], &d->cmds[i + 1], (d->ncmds - i - 1) * sizeof(*d->cmds));
                d->ncmds--;
                break;
            }
        }
    }
    free(cp);
}

void rm_datanode_dead(struct replmon *rm, uint32_t slot)
{
    for (size_t i = 0; i < u64map_cap(&rm->pending); i++) {
        struct u64pair *p = u64map_at(&rm->pending, i);
        struct copy *cp = p ? p->val : NULL;
        int aimed = 0;
        for (uint32_t t = 0; cp && t < cp->cmd.ntargets; t++)
            aimed |= cp->cmd.targets[t] == slot;
        if (!cp || (cp->src != slot && !aimed))
            continue;
        uint64_t id = cp->cmd.id;
        end_copy(rm, id);
        rm_watch(id, rm);
        i--;    /* backward-shift deletion may have moved a key into slot i */
    }
}

/* ------------------------------------------------------- classifying */

/* The replicas of b, sorted by kind. */
struct census {
    unsigned live, decom, corrupt, coming;
    unsigned fresh;             /* of live: on LIVE (not stale) datanodes */
    unsigned racks;             /* racks of the in-service ones: 0, 1 or 2 (= more) */
    unsigned stale_good;        /* good replicas on stale datanodes */
    const struct dm_node *in_service[64];   /* good replicas counted in live */
    size_t nin;
};

enum rm_kind rm_replica_kind(const struct dm_node *dn, int corrupt)
{
    if (!dn || dn->state == DM_DEAD)
        return RM_GONE;
    if (corrupt)
        return RM_CORRUPT;
    return dn->admin != DM_ADMIN_NORMAL ? RM_DECOM : RM_IN_SERVICE;
}

static void take_census(struct replmon *rm, const struct bm_block *b, struct census *c)
{
    memset(c, 0, sizeof(*c));
    for (unsigned i = 0; i < b->nreps; i++) {
        const struct dm_node *dn = dm_get(rm->dm, b->reps[i].dn);
        enum rm_kind kind = rm_replica_kind(dn, b->reps[i].corrupt);
        if (kind == RM_GONE)
            continue;
        if (kind == RM_CORRUPT) {
            c->corrupt++;
            continue;
        }
        c->stale_good += dn->state == DM_STALE;
        if (kind == RM_DECOM) {
            c->decom++;
        } else {
            c->live++;
            c->fresh += dn->state == DM_LIVE;
            if (c->nin < sizeof(c->in_service) / sizeof(c->in_service[0]))
                c->in_service[c->nin++] = dn;
        }
    }
    c->racks = c->nin ? 1 : 0;
    for (size_t i = 1; i < c->nin && c->racks < 2; i++)
        if (strcmp(c->in_service[i]->rack, c->in_service[0]->rack) != 0)
            c->racks = 2;
    const struct copy *cp = u64map_get(&rm->pending, b->id);
    for (uint32_t t = 0; cp && t < cp->cmd.ntargets; t++) {
        int has = 0;
        for (unsigned i = 0; i < b->nreps && !has; i++)
            has = b->reps[i].dn == cp->cmd.targets[t];
        c->coming += !has;
    }
}

/* Order the deletion of dn's replica of b and forget it at once. */
static void delete_replica(struct replmon *rm, const struct bm_block *b, uint32_t slot,
                           const char *why)
{
    struct dm_node *dn = dm_get(rm->dm, slot);
    uint64_t id = b->id, gs = b->genstamp, len = b->length;
    if (!dn)
        return;
    LOG_INFO("blk_%" PRIu64 ": deleting the replica on %s:%u (%s)", id, dn->host, dn->port, why);
    dm_queue_delete(rm->dm, dn, id, gs, len);
    bm_remove_replica(rm->bm, slot, id);    /* b may be changed: not used after */
}

/* Delete live - expected good in-service replicas of b, keeping racks
 * spread and taking from the fullest datanodes. */
static void trim_excess(struct replmon *rm, const struct bm_block *b, unsigned excess)
{
    uint32_t slots[64];
    size_t n = 0;
    for (unsigned i = 0; i < b->nreps && n < 64; i++) {
        const struct dm_node *dn = dm_get(rm->dm, b->reps[i].dn);
        if (dn && dn->state != DM_DEAD && !b->reps[i].corrupt && dn->admin == DM_ADMIN_NORMAL)
            slots[n++] = b->reps[i].dn;
    }
    uint64_t id = b->id;
    while (excess-- > 0 && n > 1) {
        size_t best = n;
        int best_shared = -1;
        for (size_t i = 0; i < n; i++) {
            const struct dm_node *dn = dm_get(rm->dm, slots[i]);
            int shared = 0;
            for (size_t j = 0; j < n && !shared; j++)
                shared = j != i && strcmp(dm_get(rm->dm, slots[j])->rack, dn->rack) == 0;
            if (best == n || shared > best_shared ||
                (shared == best_shared && dn->remaining < dm_get(rm->dm, slots[best])->remaining)) {
                best = i;
                best_shared = shared;
            }
        }
        const struct bm_block *cur = bm_get(rm->bm, id);
        if (!cur)
            return;
        delete_replica(rm, cur, slots[best], "over-replicated");
        rm->stats.deleted_excess++;
        slots[best] = slots[--n];
    }
}

/* Delete every corrupt replica of b; why goes into the log line. */
static void drop_corrupt(struct replmon *rm, const struct bm_block *b, const char *why)
{
    uint64_t id = b->id;
    for (;;) {
        const struct bm_block *cur = bm_get(rm->bm, id);
        unsigned i = 0;
        while (cur && i < cur->nreps && !cur->reps[i].corrupt)
            i++;
        if (!cur || i == cur->nreps)
            return;
        delete_replica(rm, cur, cur->reps[i].dn, why);
        rm->stats.deleted_corrupt++;
    }
}

/* Enough replicas, but all on one rack while the cluster has two or more
 * with in-service datanodes: one more copy goes to another rack, and the
 * trim that follows takes one from the crowded rack. */
static int mis_replicated(const struct replmon *rm, const struct census *c, unsigned expected)
{
    return expected >= 2 && rm->racks >= 2 && c->live >= 2 && c->racks < 2;
}

static unsigned priority(const struct census *c, unsigned expected)
{
    if (c->live <= 1)
        return 0;
    if ((uint64_t)c->live * 3 < (uint64_t)expected * 2)
        return 1;
    return 2;
}

/* Look at block id and file it where it belongs. */
static void classify(struct replmon *rm, uint64_t id)
{
    const struct bm_block *b = bm_get(rm->bm, id);
    if (!b) {
        unqueue(rm, id);
        u64map_del(&rm->missing, id);
        end_copy(rm, id);
        return;
    }
    if (!b->complete) {
        /* Being written (maybe again: append, lease recovery): the
         * writer's pipeline owns it. */
        unqueue(rm, id);
        u64map_del(&rm->missing, id);
        end_copy(rm, id);
        return;
    }
    struct census c;
    take_census(rm, b, &c);
    unsigned expected = b->expected ? b->expected : 1;

    /* A copy is done when no target is still to report. */
    struct copy *cp = u64map_get(&rm->pending, id);
    if (cp && c.coming == 0) {
        rm->stats.copies_done++;
        end_copy(rm, id);
        cp = NULL;
    }
    if (c.live + c.decom == 0) {
        unqueue(rm, id);
        if (!u64map_get(&rm->missing, id))
            LOG_WARN("blk_%" PRIu64 " is missing: no good replica is left (%u corrupt)", id,
                     c.corrupt);
        u64map_put(&rm->missing, id, PRESENT);
        return;
    }
    u64map_del(&rm->missing, id);
    if (c.live + c.coming < expected) {
        if (!cp)
            enqueue(rm, id, priority(&c, expected));
        return;
    }
    if (mis_replicated(rm, &c, expected) && c.live <= expected && !cp) {
        enqueue(rm, id, NPRIO - 1);
        return;
    }
    unqueue(rm, id);
    if (c.corrupt > 0 && c.live >= expected) {
        drop_corrupt(rm, b, "corrupt, enough good replicas");
        b = bm_get(rm->bm, id);
        if (!b)
            return;
    }
    /* Trim only with every holder heard from (a stale one may be dying:
     * its replica could be the one kept) and no deletion of this block
     * still outstanding (the replica it removes is not counted any more,
     * but not gone yet). */
    if (c.live > expected && !cp && c.stale_good == 0 && dm_doomed_count(rm->dm, id) == 0)
        trim_excess(rm, b, c.live - expected);
    else if (c.live > expected && !cp)
        u64map_put(&rm->deferred, id, PRESENT);    /* no change may come to note it again */
}

/* ------------------------------------------------------- scheduling */

/* The source for a copy of b: a good replica on a datanode that is not
 * dead and sources fewer than `streams` copies; decommissioning ones
 * first, then live before stale, then the least busy.  UINT32_MAX when
 * none. */
static uint32_t choose_source(struct replmon *rm, const struct bm_block *b)
{
    uint32_t best = UINT32_MAX;
    long best_key = 0;
    for (unsigned i = 0; i < b->nreps; i++) {
        const struct dm_node *dn = dm_get(rm->dm, b->reps[i].dn);
        if (!dn || dn->state == DM_DEAD || b->reps[i].corrupt)
            continue;
        uint32_t active = dn_of(rm, dn->slot)->active;
        if (active >= rm->cfg.streams)
            continue;
        long key = (long)active + (dn->admin != DM_ADMIN_NORMAL ? 0 : 1000000) +
                   (dn->state == DM_STALE ? 100000 : 0);
        if (best == UINT32_MAX || key < best_key) {
            best = dn->slot;
            best_key = key;
        }
    }
    return best;
}

/* Try to start a copy of queued block id.  1 when one started (or the
 * block needs nothing any more), 0 when it must wait. */
static int schedule(struct replmon *rm, uint64_t id)
{
    const struct bm_block *b = bm_get(rm->bm, id);
    if (!b || u64map_get(&rm->pending, id))
        return 1;
    struct census c;
    take_census(rm, b, &c);
    unsigned expected = b->expected ? b->expected : 1;
    int misrep = c.live + c.coming >= expected && mis_replicated(rm, &c, expected);
    if (c.live + c.coming >= expected && !misrep)
        return 1;
    uint32_t src = choose_source(rm, b);
    if (src == UINT32_MAX)
        return 0;
    unsigned want = misrep ? 1 : expected - c.live - c.coming;
    if (want > RM_MAX_TARGETS)
        want = RM_MAX_TARGETS;

    size_t total = dm_count(rm->dm);
    unsigned char *skip = xcalloc(total ? total : 1, 1);
    for (unsigned i = 0; i < b->nreps; i++)
        if (b->reps[i].dn < total)
            skip[b->reps[i].dn] = 1;
    /* Nor a datanode whose replica of it is being deleted: it would
     * refuse the copy until the deletion is done. */
    for (size_t i = 0; i < total; i++)
        if (dm_is_doomed(dm_get(rm->dm, (uint32_t)i), id, 0))
            skip[i] = 1;
    struct dm_node *out[RM_MAX_TARGETS];
    size_t got = pl_choose_more(rm->pl, rm->dm, want, c.in_service, c.nin, skip,
                                b->length, out);
    free(skip);
    if (misrep && got == 1 && strcmp(out[0]->rack, c.in_service[0]->rack) == 0)
        got = 0;            /* no in-service datanode on another rack can take it */
    if (got == 0) {
        /* Nowhere to copy to.  A datanode holding a corrupt replica can
         * take a good one once that is gone. */
        if (c.corrupt > 0) {
            drop_corrupt(rm, b, "corrupt; its datanode is where a good copy can go");
            return 0;
        }
        return 0;
    }
    struct copy *cp = xcalloc(1, sizeof(*cp));
    cp->cmd.id = b->id;
    cp->cmd.genstamp = b->genstamp;
    cp->cmd.length = b->length;
    cp->cmd.ntargets = (uint32_t)got;
    for (size_t i = 0; i < got; i++)
        cp->cmd.targets[i] = out[i]->slot;
    cp->src = src;
    cp->deadline = rm->now + rm->cfg.timeout_ms;
    u64map_put(&rm->pending, id, cp);
    struct rm_dn *d = dn_of(rm, src);
    d->active++;
    if (d->ncmds == d->capcmds) {
        d->capcmds = d->capcmds ? 2 * d->capcmds : 8;
        d->cmds = xrealloc(d->cmds, d->capcmds * sizeof(*d->cmds));
    }
    d->cmds[d->ncmds++] = cp;
    if (dfs_log_threshold >= DFS_LOG_DEBUG) {
        const struct dm_node *s = dm_get(rm->dm, src);
        LOG_DEBUG("blk_%" PRIu64 ": copying from %s:%u to %zu datanodes (%u of %u good)", id,
                  s->host, s->port, got, c.live, expected);
    }
    return 1;
}

/* Copies the datanodes could still source this tick. */
static size_t free_streams(struct replmon *rm)
{
    size_t k = 0;
    for (size_t i = 0; i < dm_count(rm->dm); i++) {
        const struct dm_node *dn = dm_get(rm->dm, (uint32_t)i);
        uint32_t active = dn_of(rm, dn->slot)->active;
        if (dn->state != DM_DEAD && active < rm->cfg.streams)
            k += rm->cfg.streams - active;
    }
    return k;
}

/* Start copies, most urgent queue first, while streams are free.  A tick
 * looks at a bounded number of blocks (a queue of millions that cannot be
 * copied -- no target left -- must not hold the loop), resuming each
 * queue's walk where the last tick left it, so every block gets its turn. */
static void schedule_all(struct replmon *rm)
{
    size_t streams = free_streams(rm), cap = u64map_cap(&rm->queued);
    if (streams == 0 || cap == 0)
        return;
    size_t tries = streams * SCHEDULE_TRIES_PER_STREAM;
    if (tries < SCHEDULE_TRIES_MIN)
        tries = SCHEDULE_TRIES_MIN;
    for (unsigned prio = 0; prio < NPRIO && streams > 0 && tries > 0; prio++) {
        size_t start = rm->cursor[prio] % cap, n = 0;
        while (n < cap && rm->nqueued[prio] > 0 && streams > 0 && tries > 0) {
            size_t i = (start + n) % cap;
            struct u64pair *p = u64map_at(&rm->queued, i);
            if (!p || (uintptr_t)p->val != prio + 1) {
                n++;
                continue;
            }
            tries--;
            uint64_t id = p->key;
            if (!schedule(rm, id)) {
                n++;
                continue;
            }
            streams -= u64map_get(&rm->pending, id) != NULL;
            unqueue(rm, id);    /* a later key may move into slot i: not n++ */
        }
        rm->cursor[prio] = (start + n) % cap;
    }
}

static void expire_copies(struct replmon *rm)
{
    for (size_t i = 0; i < u64map_cap(&rm->pending); i++) {
        struct u64pair *p = u64map_at(&rm->pending, i);
        struct copy *cp = p ? p->val : NULL;
        if (!cp || cp->deadline > rm->now)
            continue;
        uint64_t id = cp->cmd.id;
        LOG_INFO("blk_%" PRIu64 ": copy not reported within %u ms: given up, queued again", id,
                 rm->cfg.timeout_ms);
        rm->stats.copies_timed_out++;
        end_copy(rm, id);
        rm_watch(id, rm);
        i--;
    }
}

/* ---------------------------------------------------- decommissioning */

struct decom_ctx {
    struct replmon *rm;
    uint32_t slot;
    unsigned in_service;        /* datanodes that could hold a replica (not dead) */
    uint64_t left;
};

static int decom_block(const struct bm_block *b, void *arg)
{
    struct decom_ctx *x = arg;
    if (!b->complete) {
        x->left++;              /* being written: wait for it */
        return 0;
    }
    struct census c;
    take_census(x->rm, b, &c);
    /* Enough in-service replicas on datanodes heard from lately: stale
     * ones may be dying and do not count. */
    unsigned need = b->expected ? b->expected : 1;
    if (need > x->in_service)
        need = x->in_service;
    if (c.fresh < need || c.fresh == 0)
        x->left++;
    return 0;
}

uint64_t rm_decommission_left(struct replmon *rm, uint32_t slot)
{
    struct decom_ctx x = { rm, slot, 0, 0 };
    /* The datanodes that could hold a replica, stale ones included: a
     * stale datanode lowers neither the target nor counts as a holder. */
    for (size_t i = 0; i < dm_count(rm->dm); i++) {
        const struct dm_node *dn = dm_get(rm->dm, (uint32_t)i);
        x.in_service += dn->state != DM_DEAD && dn->admin == DM_ADMIN_NORMAL;
    }
    bm_foreach_dn(rm->bm, slot, decom_block, &x);
    return x.left;
}

static void advance_decommission(struct replmon *rm)
{
    for (size_t i = 0; i < dm_count(rm->dm); i++) {
        struct dm_node *dn = dm_get(rm->dm, (uint32_t)i);
        if (dn->admin != DM_ADMIN_DECOMMISSIONING || dn->state == DM_DEAD)
            continue;
        uint64_t left = rm_decommission_left(rm, dn->slot);
        struct rm_dn *d = dn_of(rm, dn->slot);
        if (left > 0 && rm->now - d->decom_logged >= DECOM_LOG_MS) {
            d->decom_logged = rm->now;
            LOG_INFO("datanode %s at %s:%u is decommissioning: %" PRIu64 " blocks still need "
                     "enough in-service replicas on live datanodes elsewhere (blocks being "
                     "written wait for their writer; missing ones for an operator)",
                     dn->storage_id, dn->host, dn->port, left);
        }
        if (left == 0) {
            dn->admin = DM_ADMIN_DECOMMISSIONED;
            LOG_INFO("datanode %s at %s:%u is decommissioned: every block it holds has "
                     "enough replicas elsewhere; it may be stopped", dn->storage_id, dn->host,
                     dn->port);
        }
    }
}

/* -------------------------------------------------------------- tick */

static int dirty_all(const struct bm_block *b, void *arg)
{
    struct replmon *rm = arg;
    u64map_put(&rm->dirty, b->id, PRESENT);
    return 0;
}

void rm_tick(struct replmon *rm, uint64_t now)
{
    if (!rm->enabled)
        return;
    rm->now = now;
    rm->racks = 0;
    const char *first_rack = NULL;
    for (size_t i = 0; i < dm_count(rm->dm) && rm->racks < 2; i++) {
        const struct dm_node *dn = dm_get(rm->dm, (uint32_t)i);
        if (!dm_in_service(dn))
            continue;
        if (!first_rack) {
            first_rack = dn->rack;
            rm->racks = 1;
        } else if (strcmp(dn->rack, first_rack) != 0) {
            rm->racks = 2;
        }
    }
    int all = rm->all_dirty;
    uint64_t t0 = all ? dfs_mono_ms() : 0;
    if (all) {
        rm->all_dirty = 0;
        bm_foreach(rm->bm, dirty_all, rm);
    }
    expire_copies(rm);
    /* Trims put off last time (a holder stale, a deletion unconfirmed). */
    for (size_t i = 0; i < u64map_cap(&rm->deferred); i++)
        if (u64map_at(&rm->deferred, i))
            u64map_put(&rm->dirty, u64map_at(&rm->deferred, i)->key, PRESENT);
    u64map_free(&rm->deferred);
    memset(&rm->deferred, 0, sizeof(rm->deferred));
    /* Classifying may change the map (deletions), which notes blocks
     * again: work on this tick's set while new notes collect. */
    struct u64map work = rm->dirty;
    memset(&rm->dirty, 0, sizeof(rm->dirty));
    for (size_t i = 0; i < u64map_cap(&work); i++)
        if (u64map_at(&work, i))
            classify(rm, u64map_at(&work, i)->key);
    u64map_free(&work);
    schedule_all(rm);
    advance_decommission(rm);
    if (all) {
        uint64_t blocks;
        bm_counts(rm->bm, &blocks, NULL, NULL);
        LOG_INFO("replication monitor: looked at all %" PRIu64 " blocks in %" PRIu64 " ms: %"
                 PRIu64 " under-replicated, %" PRIu64 " missing", blocks, dfs_mono_ms() - t0,
                 (uint64_t)(u64map_count(&rm->queued) + u64map_count(&rm->pending)),
                 (uint64_t)u64map_count(&rm->missing));
    }
}

size_t rm_take_copies(struct replmon *rm, uint32_t slot, struct rm_copy *out, size_t max)
{
    struct rm_dn *d = dn_of(rm, slot);
    if (d->ncmds == 0)
        return 0;
    size_t k = d->ncmds < max ? d->ncmds : max;
    for (size_t i = 0; i < k; i++) {
        d->cmds[i]->sent = 1;
        out[i] = d->cmds[i]->cmd;
    }
    memmove(d->cmds, d->cmds + k, (d->ncmds - k) * sizeof(*d->cmds));
    d->ncmds -= k;
    return k;
}

void rm_counts(const struct replmon *rm, struct rm_counts *out)
{
    *out = rm->stats;
    out->pending = u64map_count(&rm->pending);
    out->under_replicated = u64map_count(&rm->queued) + u64map_count(&rm->pending);
    out->missing = u64map_count(&rm->missing);
}

int rm_foreach_missing(const struct replmon *rm, int (*cb)(uint64_t id, void *arg), void *arg)
{
    for (size_t i = 0; i < u64map_cap(&rm->missing); i++) {
        if (u64map_at(&rm->missing, i)) {
            int rc = cb(u64map_at(&rm->missing, i)->key, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}
