/*
 * test_placement.c - unit tests of the topology file, pipeline choice,
 * reader ordering, and the datanode table they read (dnmanager).
 *
 * Datanodes are registered in a dnmanager with explicit times; random
 * choices use fixed seeds, and properties are checked over many seeds.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dnmanager.h"
#include "placement.h"

#define MiB (1024ull * 1024)
#define GiB (1024 * MiB)

static char topo_path[64];
static char err[512];

/* Write text to the topology file; its path. */
static const char *topo(const char *text)
{
    FILE *f = fopen(topo_path, "w");
    if (!f) {
        perror(topo_path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    return topo_path;
}

/* pl_new on text must fail with a message containing want. */
static void topo_fails(const char *text, const char *want)
{
    err[0] = '\0';
    struct placement *pl = pl_new(topo(text), 1, err, sizeof(err));
    CHECK(pl == NULL);
    pl_free(pl);
    CHECK(strstr(err, want) != NULL);
    if (!strstr(err, want))
        fprintf(stderr, "    err \"%s\", wanted \"%s\"\n", err, want);
}

static void test_topology(void)
{
    struct placement *pl = pl_new(NULL, 1, err, sizeof(err));
    CHECK(pl != NULL);
    CHECK_EQ_STR(pl_rack(pl, "10.0.0.1", 9866), "/default");
    pl_free(pl);
    pl = pl_new("", 1, err, sizeof(err));
    CHECK(pl != NULL);
    pl_free(pl);

    pl = pl_new(topo("# racks of the test cluster\n"
                     "10.0.0.1   /r1\n"
                     "\n"
                     "10.0.0.2 r2   # no leading slash\n"
                     "10.0.0.2:9000 /r9\n"
                     "\t127.0.0.1:9867\t/dc/a\r\n"
                     "[::1]:7000 /v6port\n"
                     "[fe80::2] /v6b\n"
                     "fe80::1 /v6\n"),
                1, err, sizeof(err));
    CHECK(pl != NULL);
    if (!pl) {
        fprintf(stderr, "    %s\n", err);
        return;
    }
    CHECK_EQ_STR(pl_rack(pl, "10.0.0.1", 1234), "/r1");
    CHECK_EQ_STR(pl_rack(pl, "10.0.0.2", 1234), "/r2");
    CHECK_EQ_STR(pl_rack(pl, "10.0.0.2", 9000), "/r9");
    CHECK_EQ_STR(pl_rack(pl, "10.0.0.2", 0), "/r2");
    CHECK_EQ_STR(pl_rack(pl, "127.0.0.1", 9867), "/dc/a");
    CHECK_EQ_STR(pl_rack(pl, "127.0.0.1", 9868), "/default");
    CHECK_EQ_STR(pl_rack(pl, "::1", 7000), "/v6port");
    CHECK_EQ_STR(pl_rack(pl, "fe80::2", 1), "/v6b");
    CHECK_EQ_STR(pl_rack(pl, "fe80::1", 1), "/v6");
    CHECK_EQ_STR(pl_rack(pl, "10.0.0.3", 1), "/default");
    pl_free(pl);

    topo_fails("10.0.0.1\n", ":1: expected 'ADDRESS RACK'");
    topo_fails("# c\n10.0.0.1 /a /b\n", ":2: unexpected text after the rack: '/b'");
    topo_fails("10.0.0.1 /a\n10.0.0.1 /b\n", ":2: address '10.0.0.1' already placed on line 1");
    topo_fails("10.0.0.1:0 /a\n", ":1: invalid address");
    topo_fails("10.0.0.1:99999 /a\n", ":1: invalid address");
    topo_fails("[::1 /a\n", ":1: invalid address");
    topo_fails("10.0.0.1 /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
               ":1: rack name too long");
    CHECK(strstr(err, topo_path) == err);           /* the message names the file */
    err[0] = '\0';
    CHECK(pl_new("/nonexistent/topology", 1, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "/nonexistent/topology: No such file") != NULL);
}

/* ----------------------------------------------------------- dnmanager */

static int dead_calls;
static struct dm_node *last_dead;

static void on_dead(struct dm_node *dn, void *arg)
{
    (void)arg;
    dead_calls++;
    last_dead = dn;
}

static void test_dnmanager(void)
{
    struct dnmanager *dm = dm_new(1000, 3000, on_dead, NULL);
    struct dm_node *a = dm_register(dm, "DS-a", "10.0.0.1", 9866, 9864, "/r1", 100, 10, 90, 0);
    struct dm_node *b = dm_register(dm, "DS-b", "10.0.0.2", 9866, 0, "/r2", 100, 20, 80, 0);
    struct dm_block del[4];

    CHECK_EQ_INT(dm_count(dm), 2);
    CHECK_EQ_INT(a->slot, 0);
    CHECK_EQ_INT(b->slot, 1);
    CHECK(dm_get(dm, 1) == b);
    CHECK(dm_get(dm, 2) == NULL);
    CHECK(dm_find(dm, "DS-b") == b);
    CHECK(dm_find(dm, "DS-c") == NULL);
    CHECK_EQ_INT(a->state, DM_LIVE);

    /* Heartbeats: known ones update, unknown ones must register. */
    CHECK(dm_heartbeat(dm, "DS-a", 100, 11, 89, 3, 500) == a);
    CHECK_EQ_INT(a->used, 11);
    CHECK_EQ_INT(a->load, 3);
    CHECK(dm_heartbeat(dm, "DS-x", 1, 1, 1, 0, 500) == NULL);

    /* live -> stale -> dead. */
    dm_check(dm, 999);
    CHECK_EQ_INT(b->state, DM_LIVE);
    dm_check(dm, 1000);
    CHECK_EQ_INT(b->state, DM_STALE);
    CHECK_EQ_INT(a->state, DM_LIVE);
    CHECK_EQ_INT(dm_count_state(dm, DM_STALE), 1);
    CHECK(dm_heartbeat(dm, "DS-b", 100, 20, 80, 0, 1200) == b);   /* back */
    CHECK_EQ_INT(b->state, DM_LIVE);
    dm_check(dm, 4199);
    CHECK_EQ_INT(b->state, DM_STALE);
    CHECK_EQ_INT(dead_calls, 1);                    /* a: silent since 500 */
    CHECK(last_dead == a);
    CHECK_EQ_INT(a->state, DM_DEAD);
    dm_check(dm, 4200);
    CHECK_EQ_INT(dead_calls, 2);
    CHECK(last_dead == b);
    dm_check(dm, 9000);
    CHECK_EQ_INT(dead_calls, 2);                    /* once per death */
    CHECK(dm_heartbeat(dm, "DS-a", 100, 11, 89, 0, 9000) == NULL);   /* dead: register */
    CHECK_EQ_STR(dm_state_name(DM_DEAD), "dead");

    /* Re-registration keeps the slot and takes the new address. */
    CHECK(dm_register(dm, "DS-a", "10.0.0.1", 9999, 0, "/r1", 100, 10, 90, 9000) == a);
    CHECK_EQ_INT(a->state, DM_LIVE);
    CHECK_EQ_INT(a->port, 9999);
    CHECK_EQ_INT(dm_count(dm), 2);

    /* A new storage id at a live datanode's address: the old one is gone. */
    struct dm_node *c = dm_register(dm, "DS-c", "10.0.0.1", 9999, 0, "/r1", 1, 1, 0, 9100);
    CHECK_EQ_INT(c->slot, 2);
    CHECK_EQ_INT(a->state, DM_DEAD);
    CHECK_EQ_INT(dead_calls, 3);
    CHECK(last_dead == a);

    /* Deletion queues. */
    for (uint64_t i = 1; i <= 6; i++)
        dm_queue_delete(dm, c, i, 1000 + i, 10 * i);
    CHECK_EQ_INT(dm_take_deletes(dm, c, del, 4), 4);
    CHECK_EQ_INT(del[0].id, 1);
    CHECK_EQ_INT(del[3].id, 4);
    CHECK_EQ_INT(del[3].genstamp, 1004);
    CHECK_EQ_INT(del[3].length, 40);
    CHECK_EQ_INT(dm_take_deletes(dm, c, del, 4), 2);
    CHECK_EQ_INT(del[0].id, 5);
    CHECK_EQ_INT(dm_take_deletes(dm, c, del, 4), 0);
    dm_free(dm);
}

/* -------------------------------------------------------- choosing */

/* A cluster: n datanodes, host 10.0.0.<i+1>, rack racks[i] (NULL: /default). */
static struct dnmanager *cluster(size_t n, const char *const *racks)
{
    struct dnmanager *dm = dm_new(10000, 30000, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        char id[32], host[32];
        snprintf(id, sizeof(id), "DS-%zu", i);
        snprintf(host, sizeof(host), "10.0.0.%zu", i + 1);
        dm_register(dm, id, host, 9866, 0, racks ? racks[i] : "/default",
                    100 * GiB, 10 * GiB, 90 * GiB, 0);
    }
    return dm;
}

static int distinct(struct dm_node **t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (t[i] == t[j] || t[i]->slot == t[j]->slot)
                return 0;
    return 1;
}

static void test_choose_racks(void)
{
    static const char *const racks[] = { "/r1", "/r1", "/r1", "/r2", "/r2", "/r2", "/r3" };
    struct dnmanager *dm = cluster(7, racks);
    struct dm_node *t[8];
    unsigned chosen[7] = { 0 }, bad = 0;

    for (uint64_t seed = 1; seed <= 2000; seed++) {
        struct placement *pl = pl_new(NULL, seed, err, sizeof(err));
        /* The writer runs on datanode 2 (rack /r1). */
        size_t n = pl_choose_targets(pl, dm, 3, "10.0.0.3", NULL, 0, 128 * MiB, t);
        if (n != 3 || !distinct(t, n) || t[0]->slot != 2 ||
            strcmp(t[1]->rack, "/r1") == 0 ||
            (strcmp(t[1]->rack, "/r3") != 0 && strcmp(t[2]->rack, t[1]->rack) != 0))
            bad++;
        /* A writer off the cluster: any first, then the same rack rules. */
        n = pl_choose_targets(pl, dm, 3, "192.168.1.1", NULL, 0, 128 * MiB, t);
        if (n != 3 || !distinct(t, n) || strcmp(t[1]->rack, t[0]->rack) == 0)
            bad++;
        /* /r3 has one node: replica 3 then lands on any other node. */
        if (strcmp(t[1]->rack, "/r3") != 0 && strcmp(t[2]->rack, t[1]->rack) != 0)
            bad++;
        for (size_t i = 0; i < n; i++)
            chosen[t[i]->slot]++;
        /* Five replicas over seven nodes: all distinct. */
        n = pl_choose_targets(pl, dm, 5, NULL, NULL, 0, 128 * MiB, t);
        if (n != 5 || !distinct(t, n))
            bad++;
        pl_free(pl);
    }
    CHECK_EQ_INT(bad, 0);
    /* Load spreads: every node is chosen, none overwhelmingly. */
    for (size_t i = 0; i < 7; i++) {
        CHECK(chosen[i] > 300);
        CHECK(chosen[i] < 2000);
    }
    dm_free(dm);
}

/* Re-replication: never a datanode that holds (or is receiving) the
 * block; when the kept replicas share a rack, the first new one goes to
 * another; decommissioning and stale datanodes take nothing. */
static void test_choose_more(void)
{
    static const char *const racks[] = { "/r1", "/r1", "/r1", "/r2", "/r2", "/r2" };
    struct dnmanager *dm = cluster(6, racks);
    struct dm_node *t[8];
    unsigned bad = 0;
    unsigned char skip[6] = { 1, 1, 0, 0, 0, 0 };
    const struct dm_node *have[2] = { dm_get(dm, 0), dm_get(dm, 1) };

    for (uint64_t seed = 1; seed <= 500; seed++) {
        struct placement *pl = pl_new(NULL, seed, err, sizeof(err));
        size_t n = pl_choose_more(pl, dm, 1, have, 2, skip, 128 * MiB, t);
        if (n != 1 || strcmp(t[0]->rack, "/r2") != 0)
            bad++;
        n = pl_choose_more(pl, dm, 4, have, 2, skip, 128 * MiB, t);
        if (n != 4 || !distinct(t, n))
            bad++;
        for (size_t i = 0; i < n; i++)
            bad += t[i]->slot < 2;
        pl_free(pl);
    }
    CHECK_EQ_INT(bad, 0);
    /* Only in-service datanodes: 3 decommissioning, 4 stale. */
    CHECK(dm_set_decommission(dm, "10.0.0.4:9866", 1) != NULL);
    dm_check(dm, 15000);                /* every one silent since 0: stale */
    dm_heartbeat(dm, "DS-2", 100 * GiB, 0, 100 * GiB, 0, 15000);
    dm_heartbeat(dm, "DS-3", 100 * GiB, 0, 100 * GiB, 0, 15000);
    dm_heartbeat(dm, "DS-5", 100 * GiB, 0, 100 * GiB, 0, 15000);
    struct placement *pl = pl_new(NULL, 3, err, sizeof(err));
    size_t n = pl_choose_more(pl, dm, 4, have, 2, skip, 128 * MiB, t);
    CHECK_EQ_INT(n, 2);                 /* DS-2 and DS-5 */
    for (size_t i = 0; i < n; i++)
        CHECK(t[i]->slot == 2 || t[i]->slot == 5);
    pl_free(pl);
    dm_free(dm);
}

static void test_choose_limits(void)
{
    struct dnmanager *dm = cluster(4, NULL);
    struct placement *pl = pl_new(NULL, 42, err, sizeof(err));
    struct dm_node *t[8];
    char *exclude[] = { (char *)"DS-0", (char *)"DS-nope" };

    /* One rack: all distinct, local first. */
    size_t n = pl_choose_targets(pl, dm, 3, "10.0.0.4", NULL, 0, MiB, t);
    CHECK_EQ_INT(n, 3);
    CHECK(distinct(t, n));
    CHECK_EQ_INT(t[0]->slot, 3);
    /* More wanted than there are: all of them. */
    n = pl_choose_targets(pl, dm, 10, NULL, NULL, 0, MiB, t);
    CHECK_EQ_INT(n, 4);
    CHECK(distinct(t, n));
    /* Exclusions. */
    for (int i = 0; i < 200; i++) {
        n = pl_choose_targets(pl, dm, 3, "10.0.0.1", exclude, 2, MiB, t);
        CHECK_EQ_INT(n, 3);
        for (size_t j = 0; j < n; j++)
            CHECK(t[j]->slot != 0);
    }
    /* Stale and dead datanodes are not chosen. */
    dm_heartbeat(dm, "DS-0", 100 * GiB, 10 * GiB, 90 * GiB, 0, 25000);
    dm_heartbeat(dm, "DS-1", 100 * GiB, 10 * GiB, 90 * GiB, 0, 15000);
    dm_check(dm, 31000);            /* DS-0 live, DS-1 stale, DS-2/3 dead */
    CHECK_EQ_INT(dm_get(dm, 1)->state, DM_STALE);
    CHECK_EQ_INT(dm_get(dm, 2)->state, DM_DEAD);
    n = pl_choose_targets(pl, dm, 3, NULL, NULL, 0, MiB, t);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(t[0]->slot, 0);
    n = pl_choose_targets(pl, dm, 3, NULL, exclude, 1, MiB, t);
    CHECK_EQ_INT(n, 0);
    pl_free(pl);
    dm_free(dm);

    /* No datanode at all. */
    dm = dm_new(10000, 30000, NULL, NULL);
    pl = pl_new(NULL, 42, err, sizeof(err));
    CHECK_EQ_INT(pl_choose_targets(pl, dm, 3, "10.0.0.1", NULL, 0, MiB, t), 0);
    pl_free(pl);
    dm_free(dm);
}

static void test_choose_space(void)
{
    struct dnmanager *dm = dm_new(10000, 30000, NULL, NULL);
    struct dm_node *t[4];
    unsigned first[4] = { 0 };

    /* 0: nearly full; 1: half full; 2: empty; 3: empty but busy. */
    dm_register(dm, "DS-0", "10.0.0.1", 1, 0, "/default", 100 * GiB, 95 * GiB, 5 * GiB, 0);
    dm_register(dm, "DS-1", "10.0.0.2", 1, 0, "/default", 100 * GiB, 50 * GiB, 50 * GiB, 0);
    dm_register(dm, "DS-2", "10.0.0.3", 1, 0, "/default", 100 * GiB, 0, 100 * GiB, 0);
    dm_register(dm, "DS-3", "10.0.0.4", 1, 0, "/default", 100 * GiB, 0, 100 * GiB, 0);
    dm_heartbeat(dm, "DS-3", 100 * GiB, 0, 100 * GiB, 20, 0);
    for (uint64_t seed = 1; seed <= 4000; seed++) {
        struct placement *pl = pl_new(NULL, seed, err, sizeof(err));
        CHECK_EQ_INT(pl_choose_targets(pl, dm, 1, NULL, NULL, 0, MiB, t), 1);
        first[t[0]->slot]++;
        pl_free(pl);
    }
    CHECK(first[2] > first[1]);
    CHECK(first[1] > first[0]);
    CHECK(first[2] > first[3]);
    CHECK(first[0] > 0);                    /* still chosen at times */

    /* A node without room for one block is used only as a last resort. */
    struct placement *pl = pl_new(NULL, 7, err, sizeof(err));
    for (int i = 0; i < 200; i++) {
        size_t n = pl_choose_targets(pl, dm, 3, "10.0.0.1", NULL, 0, 10 * GiB, t);
        CHECK_EQ_INT(n, 3);
        for (size_t j = 0; j < n; j++)
            CHECK(t[j]->slot != 0);
    }
    CHECK_EQ_INT(pl_choose_targets(pl, dm, 4, NULL, NULL, 0, 10 * GiB, t), 4);
    CHECK_EQ_INT(t[3]->slot, 0);
    pl_free(pl);
    dm_free(dm);
}

/* --------------------------------------------------------- sorting */

static void test_sort(void)
{
    static const char *const racks[] = { "/r1", "/r1", "/r2", "/r2", "/r1" };
    struct dnmanager *dm = cluster(5, racks);
    struct placement *pl = pl_new(NULL, 3, err, sizeof(err));
    struct pl_replica r[5];
    unsigned first1 = 0;

    CHECK_EQ_INT(pl_distance("10.0.0.1", "/r1", dm_get(dm, 0)), 0);
    CHECK_EQ_INT(pl_distance("10.0.0.9", "/r1", dm_get(dm, 1)), 2);
    CHECK_EQ_INT(pl_distance("10.0.0.9", "/r1", dm_get(dm, 2)), 4);
    CHECK_EQ_INT(pl_distance(NULL, NULL, dm_get(dm, 2)), 4);
    /* The reader's rack: that of a datanode on its host, else topology. */
    CHECK_EQ_STR(pl_client_rack(pl, dm, "10.0.0.3"), "/r2");
    CHECK_EQ_STR(pl_client_rack(pl, dm, "10.9.9.9"), "/default");
    CHECK(pl_client_rack(pl, dm, NULL) == NULL);

    for (int round = 0; round < 500; round++) {
        /* Reader on datanode 4 (/r1); datanode 0's replica is corrupt. */
        for (uint32_t i = 0; i < 5; i++)
            r[i] = (struct pl_replica){ dm_get(dm, i), i == 0 };
        pl_sort_replicas(pl, "10.0.0.5", "/r1", r, 5);
        CHECK_EQ_INT(r[0].dn->slot, 4);                 /* same host */
        CHECK_EQ_INT(r[1].dn->slot, 1);                 /* same rack */
        CHECK(r[2].dn->slot == 2 || r[2].dn->slot == 3);   /* other rack */
        CHECK(r[3].dn->slot == 2 || r[3].dn->slot == 3);
        CHECK_EQ_INT(r[4].dn->slot, 0);                 /* corrupt last */
        CHECK(r[4].corrupt);
        first1 += r[2].dn->slot == 2;
    }
    /* Equal replicas come in random order. */
    CHECK(first1 > 150 && first1 < 350);

    /* A stale datanode goes after the live ones at its distance. */
    dm_heartbeat(dm, "DS-0", 100 * GiB, 0, 100 * GiB, 0, 5000);
    dm_heartbeat(dm, "DS-2", 100 * GiB, 0, 100 * GiB, 0, 5000);
    dm_heartbeat(dm, "DS-3", 100 * GiB, 0, 100 * GiB, 0, 5000);
    dm_check(dm, 12000);                                /* DS-1, DS-4 stale */
    for (uint32_t i = 0; i < 5; i++)
        r[i] = (struct pl_replica){ dm_get(dm, i), 0 };
    pl_sort_replicas(pl, "10.0.0.2", "/r1", r, 5);
    CHECK_EQ_INT(r[0].dn->slot, 0);                     /* live, same rack */
    CHECK(r[1].dn->slot == 2 || r[1].dn->slot == 3);    /* live, other rack */
    CHECK(r[2].dn->slot == 2 || r[2].dn->slot == 3);
    CHECK_EQ_INT(r[3].dn->slot, 1);                     /* stale, same host */
    CHECK_EQ_INT(r[4].dn->slot, 4);                     /* stale, same rack */
    pl_sort_replicas(pl, NULL, NULL, r, 0);             /* nothing to sort */
    pl_free(pl);
    dm_free(dm);
}

int main(void)
{
    snprintf(topo_path, sizeof(topo_path), "/tmp/dfs-test-topo-%ld", (long)getpid());
    test_topology();
    test_dnmanager();
    test_choose_racks();
    test_choose_more();
    test_choose_limits();
    test_choose_space();
    test_sort();
    unlink(topo_path);
    return check_summary();
}
