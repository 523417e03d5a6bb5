/*
 * nn_monitor.c - the namenode's background duties (see nn_monitor.h).
 */
#include <inttypes.h>
#include <stdlib.h>

#include "nn_monitor.h"
#include "blockmap.h"
#include "clock.h"
#include "dnmanager.h"
#include "log.h"
#include "nn.h"
#include "nn_rpc.h"
#include "replmon.h"
#include "safemode.h"

/* How often safe mode is checked; the replication monitor ticks every
 * namenode.replication_interval_ms, on the same timer. */
#define MONITOR_PERIOD_MS 200

static struct event *timer;
static uint64_t last_tick;
static nn_tick_fn ticks[NN_MONITOR_MAX_TICKS];
static size_t nticks;

void nn_monitor_on_tick(nn_tick_fn fn)
{
    if (nticks == NN_MONITOR_MAX_TICKS) {
        LOG_ERROR("too many monitor tick hooks");
        abort();
    }
    ticks[nticks++] = fn;
}

static double threshold_of(const struct nn *nn)
{
    return strtod(nn->conf.nn_safemode_threshold, NULL);
}

static void rm_cfg_of(const struct nn *nn, struct rm_cfg *cfg)
{
    cfg->streams = nn->conf.nn_replication_streams;
    cfg->timeout_ms = nn->conf.nn_replication_timeout_ms;
}

static void check_safemode(struct nn *nn, uint64_t now)
{
    uint64_t total, safe;
    bm_safe_counts(nn->bm, &total, &safe);
    if (sm_check(nn->sm, safe, total, now)) {
        LOG_INFO("leaving safe mode: %" PRIu64 " of %" PRIu64 " blocks have a reported replica",
                 safe, total);
        rm_set_enabled(nn->rm, 1);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct nn *nn = arg;
    uint64_t now = dfs_mono_ms();
    sm_set_cfg(nn->sm, threshold_of(nn), nn->conf.nn_safemode_extension_ms);
    if (sm_on(nn->sm))
        check_safemode(nn, now);
    if (!sm_on(nn->sm) && now - last_tick >= nn->conf.nn_replication_interval_ms) {
        struct rm_cfg cfg;
        rm_cfg_of(nn, &cfg);
        rm_set_cfg(nn->rm, &cfg);
        rm_tick(nn->rm, now);
        last_tick = now;
    }
    for (size_t i = 0; i < nticks && !sm_on(nn->sm); i++)
        ticks[i](nn, now);
}

int nn_monitor_init(struct nn *nn)
{
    struct rm_cfg cfg;
    rm_cfg_of(nn, &cfg);
    nn->rm = rm_new(nn->bm, nn->dm, nn->pl, &cfg);
    rm_set_enabled(nn->rm, 0);
    bm_set_watch(nn->bm, rm_watch, nn->rm);
    nn->sm = sm_new(threshold_of(nn), nn->conf.nn_safemode_extension_ms);
    uint64_t total, safe;
    bm_safe_counts(nn->bm, &total, &safe);
    LOG_INFO("in safe mode until %s of %" PRIu64 " blocks have a reported replica, then %u ms",
             nn->conf.nn_safemode_threshold, total, nn->conf.nn_safemode_extension_ms);
    check_safemode(nn, dfs_mono_ms());

    struct timeval tv = { MONITOR_PERIOD_MS / 1000, (MONITOR_PERIOD_MS % 1000) * 1000 };
    timer = event_new(nn->base, -1, EV_PERSIST, on_timer, nn);
    if (!timer || event_add(timer, &tv) != 0) {
        LOG_ERROR("cannot start the monitor timer");
        return -1;
    }
    return 0;
}

void nn_monitor_shutdown(struct nn *nn)
{
    if (timer)
        event_free(timer);
    timer = NULL;
    nticks = 0;
    if (nn->bm)
        bm_set_watch(nn->bm, NULL, NULL);
    rm_free(nn->rm);
    nn->rm = NULL;
    sm_free(nn->sm);
    nn->sm = NULL;
}

/* bm_remove_block callback: the replica on datanode slot must go. */
static void queue_delete(const struct bm_block *b, uint32_t slot, void *arg)
{
    struct nn *nn = arg;
    struct dm_node *dn = dm_get(nn->dm, slot);
    if (dn)
        dm_queue_delete(nn->dm, dn, b->id, b->genstamp, b->length);
}

void nn_block_removed(uint64_t block_id, void *arg)
{
    struct nn *nn = arg;
    if (nn->bm)
        bm_remove_block(nn->bm, block_id, queue_delete, nn);
}

void nn_block_completed(struct nn *nn, struct bm_block *b, uint64_t length)
{
    size_t np = 0, n = 0;
    const uint32_t *pipe = bm_pipeline(nn->bm, b->id, &np);
    uint32_t left[BM_PIPELINE_MAX];
    for (size_t i = 0; i < np; i++) {
        unsigned k = 0;
        while (k < b->nreps && b->reps[k].dn != pipe[i])
            k++;
        if (k == b->nreps && bm_pipeline_older(nn->bm, b->id, pipe[i]))
            left[n++] = pipe[i];
    }
    bm_complete_block(nn->bm, b, length);
    for (size_t i = 0; i < n && b->genstamp > 1; i++) {
        struct dm_node *dn = dm_get(nn->dm, left[i]);
        if (dn && dn->state != DM_DEAD)
            dm_queue_delete(nn->dm, dn, b->id, b->genstamp - 1, 0);
    }
    if (n)
        LOG_DEBUG("blk_%" PRIu64 " complete: %zu datanodes left with an older replica of it: "
                  "deleting those", b->id, n);
}

void nn_replication_changed(struct nn *nn, const char *path)
{
    struct ns_block *blocks = NULL;
    struct ns_stat st;
    size_t n = 0;
    char err[512];

    if (ns_get_blocks(nn->ns, path, &st, &blocks, &n, err, sizeof(err)) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        struct bm_block *b = bm_get(nn->bm, blocks[i].id);
        if (b)
            bm_set_expected(nn->bm, b, st.replication);
    }
    free(blocks);
}

void nn_datanode_dead(struct dm_node *dn, void *arg)
{
    struct nn *nn = arg;
    if (!nn->bm)
        return;
    size_t k = bm_drop_datanode(nn->bm, dn->slot);
    if (nn->rm)
        rm_datanode_dead(nn->rm, dn->slot);
    LOG_WARN("datanode %s at %s:%u is dead: %zu replicas dropped from the block map%s",
             dn->storage_id, dn->host, dn->port, k,
             nn->sm && sm_on(nn->sm) ? "" : "; their blocks are queued for copies");
}

int nn_refuse_in_safemode(struct nn *nn, struct dfs_conn *c, const struct dfs_frame_hdr *h)
{
    if (!sm_on(nn->sm))
        return 0;
    char msg[400];
    uint64_t total, safe;
    bm_safe_counts(nn->bm, &total, &safe);
    nn_reply_statusf(nn, c, h, DFS_ERR_SAFEMODE, "namenode is in safe mode: %s%s",
                     sm_describe(nn->sm, safe, total, dfs_mono_ms(), msg, sizeof(msg)),
                     sm_manual(nn->sm) ? "" : " It ends by itself once the datanodes have "
                     "reported their blocks (start the missing ones), or now with "
                     "`dfs safemode leave`.");
    return 1;
}

void nn_safemode_set(struct nn *nn, int on)
{
    if (on) {
        sm_enter(nn->sm);
        rm_set_enabled(nn->rm, 0);
        LOG_INFO("safe mode entered by an operator");
    } else if (sm_on(nn->sm)) {
        sm_leave(nn->sm);
        rm_set_enabled(nn->rm, 1);
        LOG_INFO("safe mode left by an operator");
    }
}

int nn_may_delete(const struct nn *nn)
{
    return !nn->sm || !sm_on(nn->sm);
}
