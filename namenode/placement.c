/*
 * placement.c - the topology file, pipeline choice and reader ordering.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "placement.h"
#include "xmalloc.h"

/* One line of the topology file. */
struct topo_ent {
    char host[DM_HOST_MAX];
    unsigned port;                  /* 0: any port of host */
    char rack[DM_RACK_MAX];
    unsigned line;
};

struct placement {
    struct topo_ent *ents;
    size_t n;
    uint64_t rng;                   /* xorshift64* state, never 0 */
};

static uint64_t rnd(struct placement *pl)
{
    uint64_t x = pl->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pl->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n), n > 0. */
static size_t rnd_below(struct placement *pl, size_t n)
{
    return (size_t)(rnd(pl) % n);
}

/* ------------------------------------------------------------ topology */

/* Split an ADDRESS of the topology file into host and port (0: none).
 * 0 or -1. */
static int parse_address(const char *a, char *host, size_t hostsz, unsigned *port)
{
    const char *colon = strchr(a, ':');
    *port = 0;
    if (a[0] == '[') {                          /* [v6] or [v6]:port */
        const char *end = strchr(a, ']');
        if (!end || end == a + 1)
            return -1;
        if (end[1] == '\0') {
            if ((size_t)(end - a - 1) >= hostsz)
                return -1;
            snprintf(host, hostsz, "%.*s", (int)(end - a - 1), a + 1);
            return 0;
        }
    } else if (!colon || strchr(colon + 1, ':')) {   /* v4, or bare v6 */
        if (strlen(a) >= hostsz)
            return -1;
        snprintf(host, hostsz, "%s", a);
        return 0;
    }
    if (dfs_parse_hostport(a, host, hostsz, port) != 0 || *port == 0)
        return -1;
    return 0;
}

static int topo_error(char *err, size_t errsz, const char *path, unsigned line,
                      const char *what, const char *tok)
{
    snprintf(err, errsz, "%s:%u: %s '%s'", path, line, what, tok);
    return -1;
}

/* Parse one line (comment already cut).  0 or -1 with err set. */
static int topo_line(struct placement *pl, char *s, const char *path, unsigned line,
                     char *err, size_t errsz)
{
    static const char ws[] = " \t\r\n";
    char *save = NULL;
    char *addr = strtok_r(s, ws, &save);
    char *rack = addr ? strtok_r(NULL, ws, &save) : NULL;
    char *extra = rack ? strtok_r(NULL, ws, &save) : NULL;
    struct topo_ent e = { .line = line };

    if (!addr)
        return 0;                               /* blank */
    if (!rack)
        return topo_error(err, errsz, path, line, "expected 'ADDRESS RACK', got", addr);
    if (extra)
        return topo_error(err, errsz, path, line, "unexpected text after the rack:", extra);
    if (parse_address(addr, e.host, sizeof(e.host), &e.port) != 0)
        return topo_error(err, errsz, path, line, "invalid address (IP or IP:PORT)", addr);
    if (strlen(rack) + (rack[0] != '/') >= sizeof(e.rack))
        return topo_error(err, errsz, path, line, "rack name too long:", rack);
    for (const char *p = rack; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7f)
            return topo_error(err, errsz, path, line, "invalid rack name", rack);
    char *r = e.rack;
    if (rack[0] != '/')
        *r++ = '/';
    memcpy(r, rack, strlen(rack) + 1);          /* length checked above */
    for (size_t i = 0; i < pl->n; i++) {
        if (pl->ents[i].port == e.port && strcmp(pl->ents[i].host, e.host) == 0) {
            snprintf(err, errsz, "%s:%u: address '%s' already placed on line %u", path, line,
                     addr, pl->ents[i].line);
            return -1;
        }
    }
    pl->ents = xrealloc(pl->ents, (pl->n + 1) * sizeof(*pl->ents));
    pl->ents[pl->n++] = e;
    return 0;
}

static int topo_load(struct placement *pl, const char *path, char *err, size_t errsz)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0;
    unsigned line = 0;
    int rc = 0;

    if (!f) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        return -1;
    }
    while (rc == 0 && getline(&buf, &cap, f) >= 0) {
        char *hash = strchr(buf, '#');
        line++;
        if (hash)
            *hash = '\0';
        rc = topo_line(pl, buf, path, line, err, errsz);
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errsz, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    free(buf);
    fclose(f);
    return rc;
}

struct placement *pl_new(const char *path, uint64_t seed, char *err, size_t errsz)
{
    struct placement *pl = xcalloc(1, sizeof(*pl));
    if (seed == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32);
    }
    pl->rng = seed ? seed : 1;
    if (path && *path && topo_load(pl, path, err, errsz) != 0) {
        pl_free(pl);
        return NULL;
    }
    return pl;
}

void pl_free(struct placement *pl)
{
    if (!pl)
        return;
    free(pl->ents);
    free(pl);
}

const char *pl_rack(const struct placement *pl, const char *host, unsigned port)
{
    const char *any = NULL;
    for (size_t i = 0; i < pl->n; i++) {
        const struct topo_ent *e = &pl->ents[i];
        if (strcmp(e->host, host) != 0)
            continue;
        if (e->port == port && port != 0)
            return e->rack;
        if (e->port == 0)
            any = e->rack;
    }
    return any ? any : PL_DEFAULT_RACK;
}

const char *pl_client_rack(const struct placement *pl, const struct dnmanager *dm,
                           const char *host)
{
    if (!host || !*host)
        return NULL;
    for (size_t i = 0; i < dm_count(dm); i++) {
        const struct dm_node *dn = dm_get(dm, (uint32_t)i);
        if (strcmp(dn->host, host) == 0)
            return dn->rack;
    }
    return pl_rack(pl, host, 0);
}

/* ----------------------------------------------------------- choosing */

/* Lower is better: fuller and busier datanodes cost more. */
static double cost(const struct dm_node *dn)
{
    double free_frac = dn->capacity ? (double)dn->remaining / (double)dn->capacity : 0.5;
    if (free_frac > 1.0)
        free_frac = 1.0;
    return (1.0 + dn->load) * (1.05 - free_frac);
}

/* Too little space left for one more block (unknown capacity: not full). */
static int is_full(const struct dm_node *dn, uint64_t block_size)
{
    return dn->capacity != 0 && dn->remaining < block_size;
}

enum want_kind { ANY, SAME_HOST, OTHER_RACK, SAME_RACK };

static int fits(const struct dm_node *dn, enum want_kind kind, const char *s)
{
    switch (kind) {
    case ANY: return 1;
    case SAME_HOST: return s && strcmp(dn->host, s) == 0;
    case OTHER_RACK: return strcmp(dn->rack, s) != 0;
    case SAME_RACK: return strcmp(dn->rack, s) == 0;
    }
    return 0;
}

/* Pick one untaken candidate, the better of two at random, preferring in
 * order: not full and fitting (kind, s); not full; full and fitting; full.
 * Marks it taken.  NULL when every candidate is taken. */
static struct dm_node *pick(struct placement *pl, struct dm_node **c, size_t n,
                            unsigned char *taken, size_t *tmp, uint64_t block_size,
                            enum want_kind kind, const char *s)
{
    for (int pass = 0; pass < 4; pass++) {
        int full = pass >= 2;
        enum want_kind k = pass & 1 ? ANY : kind;
        size_t m = 0;

        if ((pass & 1) && kind == ANY)
            continue;
        for (size_t i = 0; i < n; i++)
            if (!taken[i] && is_full(c[i], block_size) == full && fits(c[i], k, s))
                tmp[m++] = i;
        if (m == 0)
            continue;
        size_t ia = rnd_below(pl, m), best = tmp[ia];
        if (m > 1) {
            size_t ib = rnd_below(pl, m - 1);
            if (ib >= ia)
                ib++;
            if (cost(c[tmp[ib]]) < cost(c[best]))
                best = tmp[ib];
        }
        taken[best] = 1;
        return c[best];
    }
    return NULL;
}

static int excluded(const struct dm_node *dn, char *const *exclude, size_t nexclude)
{
    for (size_t i = 0; i < nexclude; i++)
        if (exclude[i] && strcmp(exclude[i], dn->storage_id) == 0)
            return 1;
    return 0;
}

/* The choice behind pl_choose_targets and pl_choose_more: candidates are
 * in-service datanodes not excluded by storage id nor by skip[slot];
 * with replicas kept (have[nhave]) all on one rack, the first choice goes
 * to another rack; with none kept, the new-block rules apply (writer's
 * host first, then another rack, then beside replica 2). */
static size_t choose(struct placement *pl, const struct dnmanager *dm, unsigned want,
                     const char *client_host, char *const *exclude, size_t nexclude,
                     const unsigned char *skip, const struct dm_node *const *have,
                     size_t nhave, uint64_t block_size, struct dm_node **out)
{
    size_t total = dm_count(dm), n = 0, got = 0;
    struct dm_node **c = xcalloc(total ? total : 1, sizeof(*c));
    unsigned char *taken = xcalloc(total ? total : 1, 1);
    size_t *tmp = xcalloc(total ? total : 1, sizeof(*tmp));

    for (size_t i = 0; i < total; i++) {
        struct dm_node *dn = dm_get(dm, (uint32_t)i);
        if (dm_in_service(dn) && !excluded(dn, exclude, nexclude) && !(skip && skip[i]))
            c[n++] = dn;
    }
    const char *one_rack = nhave ? have[0]->rack : NULL;
    for (size_t i = 1; i < nhave && one_rack; i++)
        if (strcmp(have[i]->rack, one_rack) != 0)
            one_rack = NULL;
    while (got < want && got < n) {
        enum want_kind kind = ANY;
        const char *s = NULL;
        if (nhave > 0) {
            if (got == 0 && one_rack) {
                kind = OTHER_RACK;          /* the kept ones share a rack */
                s = one_rack;
            }
        } else if (got == 0 && client_host && *client_host) {
            kind = SAME_HOST;               /* the writer's own datanode */
            s = client_host;
        } else if (got == 1) {
            kind = OTHER_RACK;              /* survive the loss of a rack */
            s = out[0]->rack;
        } else if (got == 2) {
            /* Beside replica 2 (cheap pipeline hop), unless replicas 1 and
             * 2 share a rack: then another one. */
            int same = strcmp(out[0]->rack, out[1]->rack) == 0;
            kind = same ? OTHER_RACK : SAME_RACK;
            s = same ? out[0]->rack : out[1]->rack;
        }
        out[got++] = pick(pl, c, n, taken, tmp, block_size, kind, s);
    }
    free(tmp);
    free(taken);
    free(c);
    return got;
}

size_t pl_choose_targets(struct placement *pl, const struct dnmanager *dm, unsigned want,
                         const char *client_host, char *const *exclude, size_t nexclude,
                         uint64_t block_size, struct dm_node **out)
{
    return choose(pl, dm, want, client_host, exclude, nexclude, NULL, NULL, 0, block_size,
                  out);
}

size_t pl_choose_more(struct placement *pl, const struct dnmanager *dm, unsigned want,
                      const struct dm_node *const *have, size_t nhave,
                      const unsigned char *skip, uint64_t block_size, struct dm_node **out)
{
    return choose(pl, dm, want, NULL, NULL, 0, skip, have, nhave, block_size, out);
}

/* ------------------------------------------------------------ sorting */

int pl_distance(const char *host, const char *rack, const struct dm_node *dn)
{
    if (host && strcmp(host, dn->host) == 0)
        return 0;
    if (rack && strcmp(rack, dn->rack) == 0)
        return 2;
    return 4;
}

void pl_sort_replicas(struct placement *pl, const char *client_host, const char *client_rack,
                      struct pl_replica *r, size_t n)
{
    uint64_t *key = xcalloc(n, sizeof(*key));
    /* key: corrupt, then stale, then distance, then a random tie-break. */
    for (size_t i = 0; i < n; i++) {
        uint64_t k = (uint64_t)(r[i].corrupt ? 1 : 0) << 62;
        k |= (uint64_t)(r[i].dn->state != DM_LIVE) << 61;
        k |= (uint64_t)pl_distance(client_host, client_rack, r[i].dn) << 56;
        k |= rnd(pl) >> 8;
        key[i] = k;
    }
    for (size_t i = 1; i < n; i++) {            /* insertion sort: n is small */
        struct pl_replica rv = r[i];
        uint64_t kv = key[i];
        size_t j = i;
        for (; j > 0 && key[j - 1] > kv; j--) {
            key[j] = key[j - 1];
            r[j] = r[j - 1];
        }
        key[j] = kv;
        r[j] = rv;
    }
    free(key);
}
