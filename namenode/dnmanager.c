/*
 * dnmanager.c - the table of datanodes: registration, heartbeats, the
 * live -> stale -> dead timer and the per-datanode deletion queues.
 *
 * The table is an array of entries indexed by slot; lookups by storage id
 * are linear (a cluster has at most a few thousand datanodes, and a lookup
 * happens once per heartbeat).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dnmanager.h"
#include "clock.h"
#include "log.h"
#include "xmalloc.h"

struct dnmanager {
    struct dm_node **nodes;
    size_t n, cap;
    uint32_t stale_ms, dead_ms;
    dm_dead_fn on_dead;
    void *on_dead_arg;
    struct event *timer;
    char **decom;               /* "host:port" of every decommission asked */
    size_t ndecom;
};

/* "host:port" of dn into buf. */
static const char *node_addr(const struct dm_node *dn, char *buf, size_t sz)
{
    snprintf(buf, sz, "%s:%u", dn->host, dn->port);
    return buf;
}

int dm_is_decommission_listed(const struct dnmanager *dm, const char *addr)
{
    for (size_t i = 0; i < dm->ndecom; i++)
        if (strcmp(dm->decom[i], addr) == 0)
            return 1;
    return 0;
}

struct dm_node *dm_set_decommission(struct dnmanager *dm, const char *addr, int on)
{
    size_t i = 0;
    while (i < dm->ndecom && strcmp(dm->decom[i], addr) != 0)
        i++;
    if (on && i == dm->ndecom) {
        dm->decom = xrealloc(dm->decom, (dm->ndecom + 1) * sizeof(*dm->decom));
        dm->decom[dm->ndecom++] = xstrdup(addr);
    } else if (!on && i < dm->ndecom) {
        free(dm->decom[i]);
        dm->decom[i] = dm->decom[--dm->ndecom];
    }
    struct dm_node *found = NULL;
    char buf[DM_HOST_MAX + 16];
    for (size_t k = 0; k < dm->n; k++) {
        struct dm_node *dn = dm->nodes[k];
        if (strcmp(node_addr(dn, buf, sizeof(buf)), addr) != 0)
            continue;
        if (!on)
            dn->admin = DM_ADMIN_NORMAL;
        else if (dn->admin == DM_ADMIN_NORMAL)
            dn->admin = DM_ADMIN_DECOMMISSIONING;
        if (!found || dn->state != DM_DEAD)
            found = dn;
    }
    return found;
}

int dm_in_service(const struct dm_node *dn)
{
    return dn->state == DM_LIVE && dn->admin == DM_ADMIN_NORMAL;
}

const char *dm_admin_name(enum dm_admin admin)
{
    switch (admin) {
    case DM_ADMIN_NORMAL: return "normal";
    case DM_ADMIN_DECOMMISSIONING: return "decommissioning";
    case DM_ADMIN_DECOMMISSIONED: return "decommissioned";
    }
    return "unknown";
}

const char *dm_state_name(enum dm_state state)
{
    switch (state) {
    case DM_LIVE: return "live";
    case DM_STALE: return "stale";
    case DM_DEAD: return "dead";
    }
    return "unknown";
}

struct dnmanager *dm_new(uint32_t stale_ms, uint32_t dead_ms, dm_dead_fn on_dead, void *arg)
{
    struct dnmanager *dm = xcalloc(1, sizeof(*dm));
    dm->stale_ms = stale_ms;
    dm->dead_ms = dead_ms;
    dm->on_dead = on_dead;
    dm->on_dead_arg = arg;
    return dm;
}

void dm_free(struct dnmanager *dm)
{
    if (!dm)
        return;
    if (dm->timer)
        event_free(dm->timer);
    for (size_t i = 0; i < dm->n; i++) {
        free(dm->nodes[i]->deletes);
        u64map_free(&dm->nodes[i]->doomed);
        free(dm->nodes[i]);
    }
    free(dm->nodes);
    for (size_t i = 0; i < dm->ndecom; i++)
        free(dm->decom[i]);
    free(dm->decom);
    free(dm);
}

void dm_set_timeouts(struct dnmanager *dm, uint32_t stale_ms, uint32_t dead_ms)
{
    dm->stale_ms = stale_ms;
    dm->dead_ms = dead_ms;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dm_check(arg, dfs_mono_ms());
}

int dm_start_timer(struct dnmanager *dm, struct event_base *base, uint32_t recheck_ms)
{
    struct timeval tv = { recheck_ms / 1000, (recheck_ms % 1000) * 1000 };
    dm->timer = event_new(base, -1, EV_PERSIST, on_timer, dm);
    if (!dm->timer || event_add(dm->timer, &tv) != 0)
        return -1;
    return 0;
}

struct dm_node *dm_find(const struct dnmanager *dm, const char *storage_id)
{
    for (size_t i = 0; i < dm->n; i++)
        if (strcmp(dm->nodes[i]->storage_id, storage_id) == 0)
            return dm->nodes[i];
    return NULL;
}

size_t dm_count(const struct dnmanager *dm)
{
    return dm->n;
}

struct dm_node *dm_get(const struct dnmanager *dm, uint32_t slot)
{
    return slot < dm->n ? dm->nodes[slot] : NULL;
}

size_t dm_count_state(const struct dnmanager *dm, enum dm_state state)
{
    size_t k = 0;
    for (size_t i = 0; i < dm->n; i++)
        k += dm->nodes[i]->state == state;
    return k;
}

/* Turn dn dead and tell the owner, once. */
static void make_dead(struct dnmanager *dm, struct dm_node *dn, const char *why)
{
    if (dn->state == DM_DEAD)
        return;
    dn->state = DM_DEAD;
    LOG_WARN("datanode %s at %s:%u is dead: %s", dn->storage_id, dn->host, dn->port, why);
    if (dm->on_dead)
        dm->on_dead(dn, dm->on_dead_arg);
}

struct dm_node *dm_register(struct dnmanager *dm, const char *storage_id, const char *host,
                            unsigned port, unsigned http_port, const char *rack,
                            uint64_t capacity, uint64_t used, uint64_t remaining, uint64_t now)
{
    struct dm_node *dn = dm_find(dm, storage_id);

    /* Another datanode at this address is gone: this one replaced it. */
    for (size_t i = 0; i < dm->n; i++) {
        struct dm_node *o = dm->nodes[i];
        if (o != dn && o->state != DM_DEAD && o->port == port && strcmp(o->host, host) == 0)
            make_dead(dm, o, "another datanode registered at its address");
    }
    if (!dn) {
        if (dm->n == dm->cap) {
            dm->cap = dm->cap ? 2 * dm->cap : 16;
            dm->nodes = xrealloc(dm->nodes, dm->cap * sizeof(*dm->nodes));
        }
        dn = xcalloc(1, sizeof(*dn));
        dn->slot = (uint32_t)dm->n;
        snprintf(dn->storage_id, sizeof(dn->storage_id), "%s", storage_id);
        dm->nodes[dm->n++] = dn;
    } else if (dn->port != port || strcmp(dn->host, host) != 0) {
        LOG_INFO("datanode %s moved from %s:%u to %s:%u", storage_id, dn->host, dn->port,
                 host, port);
    }
    snprintf(dn->host, sizeof(dn->host), "%s", host);
    snprintf(dn->rack, sizeof(dn->rack), "%s", rack);
    dn->port = port;
    dn->http_port = http_port;
    dn->state = DM_LIVE;
    char abuf[DM_HOST_MAX + 16];
    if (!dm_is_decommission_listed(dm, node_addr(dn, abuf, sizeof(abuf))))
        dn->admin = DM_ADMIN_NORMAL;
    else if (dn->admin == DM_ADMIN_NORMAL)
        dn->admin = DM_ADMIN_DECOMMISSIONING;
    dn->capacity = capacity;
    dn->used = used;
    dn->remaining = remaining;
    dn->load = 0;
    dn->last_heartbeat = now;
    dn->registered = now;
    return dn;
}

struct dm_node *dm_heartbeat(struct dnmanager *dm, const char *storage_id, uint64_t capacity,
                             uint64_t used, uint64_t remaining, uint32_t load, uint64_t now)
{
    struct dm_node *dn = dm_find(dm, storage_id);
    if (!dn || dn->state == DM_DEAD)
        return NULL;
    if (dn->state == DM_STALE)
        LOG_INFO("datanode %s at %s:%u is live again", dn->storage_id, dn->host, dn->port);
    dn->state = DM_LIVE;
    dn->capacity = capacity;
    dn->used = used;
    dn->remaining = remaining;
    dn->load = load;
    dn->last_heartbeat = now;
    return dn;
}

void dm_set_domain_socket(struct dm_node *dn, const char *path)
{
    snprintf(dn->domain_socket, sizeof(dn->domain_socket), "%s", path ? path : "");
}

void dm_set_fsyncs(struct dm_node *dn, uint64_t fsyncs)
{
    dn->fsyncs = fsyncs;
}

void dm_set_bytes_read(struct dm_node *dn, const uint64_t *local, const uint64_t *remote,
                       const uint64_t *short_circuit)
{
    if (local)
        dn->read_local = *local;
    if (remote)
        dn->read_remote = *remote;
    if (short_circuit)
        dn->read_short_circuit = *short_circuit;
}

void dm_check(struct dnmanager *dm, uint64_t now)
{
    for (size_t i = 0; i < dm->n; i++) {
        struct dm_node *dn = dm->nodes[i];
        uint64_t silent = now > dn->last_heartbeat ? now - dn->last_heartbeat : 0;
        char why[64];

        if (dn->state == DM_DEAD)
            continue;
        if (silent >= dm->dead_ms) {
            snprintf(why, sizeof(why), "no heartbeat for %llu ms", (unsigned long long)silent);
            make_dead(dm, dn, why);
        } else if (silent >= dm->stale_ms && dn->state == DM_LIVE) {
            dn->state = DM_STALE;
            LOG_WARN("datanode %s at %s:%u is stale: no heartbeat for %llu ms",
                     dn->storage_id, dn->host, dn->port, (unsigned long long)silent);
        }
    }
}

/* A doomed entry's value: the genstamp, with DOOMED_SET so it is never
 * NULL, and DOOMED_LISTED while a full report lists it. */
#define DOOMED_SET    (1ull << 63)
#define DOOMED_LISTED (1ull << 62)
#define DOOMED_GS(v)  ((uint64_t)(uintptr_t)(v) & ~(DOOMED_SET | DOOMED_LISTED))

int dm_is_doomed(const struct dm_node *dn, uint64_t id, uint64_t genstamp)
{
    void *v = u64map_get(&dn->doomed, id);
    return v && genstamp <= DOOMED_GS(v);
}

void dm_delete_confirmed(struct dm_node *dn, uint64_t id)
{
    u64map_del(&dn->doomed, id);
}

void dm_doomed_report_begin(struct dm_node *dn)
{
    for (size_t i = 0; i < u64map_cap(&dn->doomed); i++) {
        struct u64pair *p = u64map_at(&dn->doomed, i);
        if (p)
            p->val = (void *)(uintptr_t)((uint64_t)(uintptr_t)p->val & ~DOOMED_LISTED);
    }
}

void dm_doomed_listed(struct dm_node *dn, uint64_t id)
{
    struct u64pair *p = u64tab_get(&dn->doomed.t, id);
    if (p)
        p->val = (void *)(uintptr_t)((uint64_t)(uintptr_t)p->val | DOOMED_LISTED);
}

void dm_doomed_report_end(struct dm_node *dn)
{
    for (size_t i = 0; i < u64map_cap(&dn->doomed);) {
        struct u64pair *p = u64map_at(&dn->doomed, i);
        if (p && !((uint64_t)(uintptr_t)p->val & DOOMED_LISTED)) {
            u64map_del(&dn->doomed, p->key);
            continue;       /* a later entry may have moved into slot i */
        }
        i++;
    }
}

unsigned dm_doomed_count(const struct dnmanager *dm, uint64_t id)
{
    unsigned k = 0;
    for (size_t i = 0; i < dm->n; i++)
        k += dm->nodes[i]->state != DM_DEAD && u64map_get(&dm->nodes[i]->doomed, id) != NULL;
    return k;
}

void dm_queue_delete(struct dnmanager *dm, struct dm_node *dn, uint64_t id, uint64_t genstamp,
                     uint64_t length)
{
    (void)dm;
    void *v = u64map_get(&dn->doomed, id);
    if (!v || DOOMED_GS(v) < genstamp)
        u64map_put(&dn->doomed, id, (void *)(uintptr_t)(genstamp | DOOMED_SET));
    if (dn->ndeletes == dn->capdeletes) {
        dn->capdeletes = dn->capdeletes ? 2 * dn->capdeletes : 64;
        dn->deletes = xrealloc(dn->deletes, dn->capdeletes * sizeof(*dn->deletes));
    }
    dn->deletes[dn->ndeletes++] = (struct dm_block){ id, genstamp, length };
}

size_t dm_take_deletes(struct dnmanager *dm, struct dm_node *dn, struct dm_block *out, size_t max)
{
    (void)dm;
    size_t k = dn->ndeletes < max ? dn->ndeletes : max;
    if (k == 0)
        return 0;
    memcpy(out, dn->deletes, k * sizeof(*out));
    memmove(dn->deletes, dn->deletes + k, (dn->ndeletes - k) * sizeof(*dn->deletes));
    dn->ndeletes -= k;
    if (dn->ndeletes == 0 && dn->capdeletes > 1024) {
        free(dn->deletes);
        dn->deletes = NULL;
        dn->capdeletes = 0;
    }
    return k;
}
