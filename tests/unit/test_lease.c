/*
 * test_lease.c - unit tests of the lease bookkeeping (lease.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lease.h"

static int has(const uint64_t *v, size_t n, uint64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

static void test_basic(void)
{
    struct leases *ls = lease_new();
    size_t nl, nf;
    uint64_t t, *exp;

    lease_add(ls, "alice", 10, 1000);
    lease_add(ls, "alice", 11, 1500);
    lease_add(ls, "bob", 20, 1200);
    lease_counts(ls, &nl, &nf);
    CHECK_EQ_INT(nl, 2);
    CHECK_EQ_INT(nf, 3);
    CHECK_EQ_STR(lease_holder(ls, 10), "alice");
    CHECK_EQ_STR(lease_holder(ls, 20), "bob");
    CHECK(lease_holder(ls, 30) == NULL);
    CHECK_EQ_INT(lease_renewed(ls, "alice", &t), 1);
    CHECK_EQ_INT(t, 1500);
    CHECK_EQ_INT(lease_renewed(ls, "carol", &t), 0);

    /* Soft limit 1000: alice live until 2500. */
    CHECK_EQ_INT(lease_live(ls, "alice", 2499, 1000), 1);
    CHECK_EQ_INT(lease_live(ls, "alice", 2500, 1000), 0);
    CHECK_EQ_INT(lease_live(ls, "carol", 0, 1000), 0);
    CHECK_EQ_INT(lease_renew(ls, "alice", 3000), 1);
    CHECK_EQ_INT(lease_renew(ls, "carol", 3000), 0);
    CHECK_EQ_INT(lease_live(ls, "alice", 3500, 1000), 1);

    /* Hard limit 2000 at 3300: bob (1200) expired, alice (3000) not. */
    size_t n = lease_expired(ls, 3300, 2000, &exp);
    CHECK_EQ_INT(n, 1);
    CHECK(n == 1 && exp[0] == 20);
    free(exp);
    n = lease_expired(ls, 6000, 2000, &exp);
    CHECK_EQ_INT(n, 3);
    CHECK(has(exp, n, 10) && has(exp, n, 11) && has(exp, n, 20));
    free(exp);
    CHECK_EQ_INT(lease_expired(ls, 3000, 2000, &exp), 0);
    CHECK(exp == NULL);

    /* A file moves to another lease; an empty lease goes. */
    lease_add(ls, "carol", 20, 4000);
    CHECK_EQ_STR(lease_holder(ls, 20), "carol");
    CHECK_EQ_INT(lease_renewed(ls, "bob", &t), 0);
    lease_remove(ls, 10);
    lease_remove(ls, 10);
    lease_remove(ls, 99);
    CHECK(lease_holder(ls, 10) == NULL);
    CHECK_EQ_STR(lease_holder(ls, 11), "alice");
    lease_remove(ls, 11);
    CHECK_EQ_INT(lease_renewed(ls, "alice", &t), 0);
    lease_counts(ls, &nl, &nf);
    CHECK_EQ_INT(nl, 1);
    CHECK_EQ_INT(nf, 1);
    /* Adding a file to its own lease renews it. */
    lease_add(ls, "carol", 20, 5000);
    CHECK_EQ_INT(lease_renewed(ls, "carol", &t), 1);
    CHECK_EQ_INT(t, 5000);
    lease_counts(ls, &nl, &nf);
    CHECK_EQ_INT(nf, 1);
    lease_free(ls);
}

/* Many clients and files: the name table and the lists stay right. */
static void test_many(void)
{
    struct leases *ls = lease_new();
    char name[32];
    size_t nl, nf;
    uint64_t *exp;

    for (unsigned i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "client-%u", i % 100);
        lease_add(ls, name, i + 1, i);
    }
    lease_counts(ls, &nl, &nf);
    CHECK_EQ_INT(nl, 100);
    CHECK_EQ_INT(nf, 500);
    for (unsigned i = 0; i < 500; i += 2)
        lease_remove(ls, i + 1);
    lease_counts(ls, &nl, &nf);
    CHECK_EQ_INT(nl, 50);       /* the clients with even numbers lost all */
    CHECK_EQ_INT(nf, 250);
    CHECK_EQ_STR(lease_holder(ls, 2), "client-1");
    CHECK_EQ_INT(lease_expired(ls, 10000, 1, &exp), 250);
    free(exp);
    for (unsigned i = 1; i < 500; i += 2)
        lease_remove(ls, i + 1);
    lease_counts(ls, &nl, &nf);
    CHECK_EQ_INT(nl, 0);
    CHECK_EQ_INT(nf, 0);
    lease_free(ls);
    lease_free(NULL);
}

int main(void)
{
    test_basic();
    test_many();
    return check_summary();
}
