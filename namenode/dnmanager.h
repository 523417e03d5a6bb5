/*
 * dnmanager.h - the namenode's table of datanodes.
 *
 * A datanode is known by its storage id (kept in its data dir), not by its
 * address: a datanode restarted at another port registers with the same
 * storage id and its entry takes the new address.  Each entry has a slot
 * number, its index in the table, that never changes: other modules (the
 * block map) name datanodes by slot.  Entries are never removed; a dead
 * datanode stays listed (cluster report) until it registers again.
 *
 * States, from the time since the last heartbeat (checked by a timer every
 * heartbeat_recheck_ms, or dm_check()):
 *   LIVE   heard from within stale_ms;
 *   STALE  silent for stale_ms or more: kept, but not chosen for new
 *          pipelines and sorted after live replicas for readers;
 *   DEAD   silent for dead_ms or more: the on_dead callback runs once (the
 *          block map drops its replicas); its heartbeats are answered with
 *          "register again" until it does.
 *
 * Each datanode also has a queue of replicas to delete, handed out in
 * heartbeat answers, and the set of replicas ordered deleted that it has
 * not yet confirmed gone ("doomed").  A doomed replica that a report lists
 * again is not taken back (its deletion is ordered again instead): so a
 * replica is never counted as both still there and about to go, even when
 * its datanode restarts before it deleted it.  The set survives the
 * datanode's death; an entry leaves it when the datanode reports the
 * replica removed, or sends a full report that does not list it.
 *
 * Times are milliseconds of CLOCK_MONOTONIC (dfs_mono_ms(), clock.h); every call that
 * depends on time takes `now` so tests can drive it.  Runs on the
 * namenode's event loop thread only.
 */
#ifndef NN_DNMANAGER_H
#define NN_DNMANAGER_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>
#include "u64map.h"

#define DM_ID_MAX   128     /* storage id, with its NUL */
#define DM_HOST_MAX 256     /* transfer host, with its NUL */
#define DM_RACK_MAX 128     /* rack name, with its NUL */
#define DM_SOCK_MAX 108     /* short-circuit socket path (sun_path), with its NUL */

enum dm_state { DM_LIVE, DM_STALE, DM_DEAD };

/* What the operator asked of a datanode, by its address (HOST:PORT), kept
 * whatever its liveness: NORMAL; DECOMMISSIONING (no new replicas, its
 * replicas copied elsewhere: see replmon.h); DECOMMISSIONED (every block
 * it holds has enough replicas elsewhere: it may be stopped). */
enum dm_admin { DM_ADMIN_NORMAL, DM_ADMIN_DECOMMISSIONING, DM_ADMIN_DECOMMISSIONED };

/* A replica to delete, as the heartbeat answer names it. */
struct dm_block {
    uint64_t id;
    uint64_t genstamp;
    uint64_t length;
};

/* One datanode.  Owned by the dnmanager; read freely, change only through
 * dm_* calls. */
struct dm_node {
    uint32_t slot;                  /* index in the table, fixed */
    char storage_id[DM_ID_MAX];
    char host[DM_HOST_MAX];         /* transfer address */
    unsigned port;
    unsigned http_port;
    char rack[DM_RACK_MAX];
    char domain_socket[DM_SOCK_MAX]; /* short-circuit UNIX socket on its host; "" none */
    enum dm_state state;
    enum dm_admin admin;
    uint64_t capacity, used, remaining;
    uint32_t load;                  /* active transfers */
    uint64_t fsyncs;                /* replica fsyncs for hsync it reported (since its start) */
    uint64_t read_local;            /* block bytes read by clients on its host, */
    uint64_t read_remote;           /* elsewhere, and short-circuit, as its last */
    uint64_t read_short_circuit;    /* heartbeat reported (since its start) */
    uint64_t last_heartbeat;        /* dfs_mono_ms() of the last heartbeat or registration */
    uint64_t registered;            /* dfs_mono_ms() of the last registration */
    struct dm_block *deletes;       /* queued deletions, oldest first */
    size_t ndeletes, capdeletes;
    struct u64map doomed;           /* ordered deleted, not yet confirmed:
                                     * block id -> genstamp (dm_is_doomed) */
};

struct dnmanager;

/* Called once when a datanode turns dead (from dm_check() or when a new
 * registration takes its address). */
typedef void (*dm_dead_fn)(struct dm_node *dn, void *arg);

/* An empty table.  stale_ms < dead_ms.  on_dead may be NULL. */
struct dnmanager *dm_new(uint32_t stale_ms, uint32_t dead_ms, dm_dead_fn on_dead, void *arg);
/* Stop the timer and free every entry (NULL is fine). */
void dm_free(struct dnmanager *dm);
/* Change the thresholds (configuration reload). */
void dm_set_timeouts(struct dnmanager *dm, uint32_t stale_ms, uint32_t dead_ms);
/* Run dm_check() every recheck_ms on base.  0, or -1 when libevent fails. */
int dm_start_timer(struct dnmanager *dm, struct event_base *base, uint32_t recheck_ms);

/* Register (or re-register) datanode storage_id at host:port in `rack`
 * (all strings must fit their DM_*_MAX; the caller checks): the entry
 * becomes LIVE with these figures and now as its last heartbeat.  A
 * datanode with another storage id that is not dead and has the same
 * host:port is gone (its disk was replaced): it turns dead at once.
 * Returns the entry, owned by dm. */
struct dm_node *dm_register(struct dnmanager *dm, const char *storage_id, const char *host,
                            unsigned port, unsigned http_port, const char *rack,
                            uint64_t capacity, uint64_t used, uint64_t remaining, uint64_t now);
/* A heartbeat: update the figures and make the entry LIVE.  NULL when the
 * storage id is unknown or its entry is dead (the datanode must register
 * again). */
struct dm_node *dm_heartbeat(struct dnmanager *dm, const char *storage_id, uint64_t capacity,
                             uint64_t used, uint64_t remaining, uint32_t load, uint64_t now);
/* The short-circuit socket path dn registered with ("" or NULL: none;
 * the caller checks it fits DM_SOCK_MAX). */
void dm_set_domain_socket(struct dm_node *dn, const char *path);
/* The count of fsyncs for hsync that dn's last heartbeat reported. */
void dm_set_fsyncs(struct dm_node *dn, uint64_t fsyncs);
/* The block bytes read from dn as its last heartbeat reported them: a
 * counter the heartbeat did not carry (NULL) keeps its value. */
void dm_set_bytes_read(struct dm_node *dn, const uint64_t *local, const uint64_t *remote,
                       const uint64_t *short_circuit);
/* Apply the state rules at time now; on_dead runs for each datanode that
 * turns dead. */
void dm_check(struct dnmanager *dm, uint64_t now);

/* The entry of storage_id (any state), or NULL. */
struct dm_node *dm_find(const struct dnmanager *dm, const char *storage_id);
/* Number of slots; dm_get(dm, slot) for slot < dm_count() is never NULL. */
size_t dm_count(const struct dnmanager *dm);
struct dm_node *dm_get(const struct dnmanager *dm, uint32_t slot);
/* Number of entries in `state`. */
size_t dm_count_state(const struct dnmanager *dm, enum dm_state state);
/* "live", "stale" or "dead". */
const char *dm_state_name(enum dm_state state);

/* "normal", "decommissioning" or "decommissioned". */
const char *dm_admin_name(enum dm_admin admin);
/* Decommission (on) or recommission (!on) the datanode at "host:port",
 * registered or not: the address is remembered, and a datanode that
 * registers there later takes the state.  Returns the entry at that
 * address (NULL when none is registered there yet). */
struct dm_node *dm_set_decommission(struct dnmanager *dm, const char *addr, int on);
/* 1 when "host:port" is on the decommission list. */
int dm_is_decommission_listed(const struct dnmanager *dm, const char *addr);
/* In service: LIVE (not stale or dead) and admin NORMAL -- may take new
 * replicas. */
int dm_in_service(const struct dm_node *dn);

/* Queue the deletion of a replica on dn (sent with its next heartbeat
 * answer). */
void dm_queue_delete(struct dnmanager *dm, struct dm_node *dn, uint64_t id, uint64_t genstamp,
                     uint64_t length);
/* Take at most max queued deletions of dn, oldest first, into out[max].
 * Returns how many were taken. */
size_t dm_take_deletes(struct dnmanager *dm, struct dm_node *dn, struct dm_block *out, size_t max);

/* 1 when dn's replica (id, genstamp) is doomed: ordered deleted with this
 * or a later genstamp, not yet confirmed gone. */
int dm_is_doomed(const struct dm_node *dn, uint64_t id, uint64_t genstamp);
/* dn confirmed replica id gone (or holds a newer one): no longer doomed. */
void dm_delete_confirmed(struct dm_node *dn, uint64_t id);
/* A full report of dn: dm_doomed_report_begin(), dm_doomed_listed() for
 * each replica listed that is doomed, dm_doomed_report_end(), which drops
 * the doomed entries the report did not list (they are gone). */
void dm_doomed_report_begin(struct dm_node *dn);
void dm_doomed_listed(struct dm_node *dn, uint64_t id);
void dm_doomed_report_end(struct dm_node *dn);
/* Datanodes, not dead, on which replica id is doomed. */
unsigned dm_doomed_count(const struct dnmanager *dm, uint64_t id);

#endif
