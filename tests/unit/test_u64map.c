/*
 * test_u64map.c - the id-keyed hash tables (libdfs/u64map.h) against a
 * plain array as the reference: inserts, lookups, deletes in random order
 * with the backward shift, walks that delete as they go, inline entries.
 */
#include <stdlib.h>

#include "check.h"
#include "u64map.h"

#define N 20000

static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static void test_map_against_reference(void)
{
    static uint64_t keys[N];
    static int present[N];
    struct u64map m = { 0 };

    CHECK(u64map_get(&m, 5) == NULL);              /* zeroed: empty */
    CHECK(u64map_del(&m, 5) == NULL);
    for (size_t i = 0; i < N; i++) {
        /* sequential ids with some clustering, as block ids come */
        keys[i] = i < N / 2 ? i + 1 : (rnd() | 1);
        u64map_put(&m, keys[i], &keys[i]);
        present[i] = 1;
    }
    CHECK_EQ_INT(u64map_count(&m), N);
    u64map_put(&m, keys[7], &keys[8]);             /* replace */
    CHECK(u64map_get(&m, keys[7]) == &keys[8]);
    CHECK_EQ_INT(u64map_count(&m), N);
    u64map_put(&m, keys[7], &keys[7]);
    CHECK(u64map_get(&m, 0) == NULL);

    size_t bad = 0, left = N;
    for (size_t round = 0; round < 3 * N; round++) {
        size_t i = rnd() % N;
        if (present[i]) {
            bad += u64map_del(&m, keys[i]) != &keys[i];
            present[i] = 0;
            left--;
        } else if (round % 3 == 0) {
            u64map_put(&m, keys[i], &keys[i]);
            present[i] = 1;
            left++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(u64map_count(&m), left);
    for (size_t i = 0; i < N; i++)
        bad += (u64map_get(&m, keys[i]) != NULL) != present[i];
    CHECK_EQ_INT(bad, 0);

    /* A walk that deletes every even key as it goes sees every key once. */
    size_t seen = 0, odd = 0;
    for (size_t i = 0; i < u64map_cap(&m);) {
        struct u64pair *p = u64map_at(&m, i);
        if (!p) {
            i++;
            continue;
        }
        seen++;
        if (p->key % 2 == 0) {
            u64map_del(&m, p->key);     /* slot i again: a later key may be there */
            continue;
        }
        odd++;
        i++;
    }
    CHECK_EQ_INT(seen, left);
    CHECK_EQ_INT(u64map_count(&m), odd);
    u64map_free(&m);
    CHECK_EQ_INT(u64map_count(&m), 0);
    CHECK(u64map_get(&m, keys[1]) == NULL);
}

struct rec {
    uint64_t id;
    uint32_t a;
    uint8_t b;
};

static void test_inline_entries(void)
{
    struct u64tab t;
    u64tab_init(&t, sizeof(struct rec));
    CHECK(u64tab_add(&t, 0) == NULL);              /* 0 is no key */
    CHECK_EQ_INT(u64tab_reserve(&t, 1000), 0);
    size_t cap = t.cap;
    CHECK(cap >= 1000 * 4 / 3);
    for (uint64_t id = 1; id <= 1000; id++) {
        struct rec *r = u64tab_add(&t, id * 1000003);
        r->a = (uint32_t)id;
        r->b = (uint8_t)(id & 0xff);
    }
    CHECK_EQ_INT(t.cap, cap);                      /* reserved: no growth */
    size_t bad = 0;
    for (uint64_t id = 1; id <= 1000; id++) {
        struct rec *r = u64tab_get(&t, id * 1000003);
        bad += !r || r->id != id * 1000003 || r->a != id || r->b != (id & 0xff);
    }
    CHECK_EQ_INT(bad, 0);
    struct rec *r = u64tab_get(&t, 500 * 1000003);
    u64tab_del(&t, r);
    CHECK(u64tab_get(&t, 500 * 1000003) == NULL);
    CHECK_EQ_INT(t.count, 999);
    r = u64tab_add(&t, 500 * 1000003);
    CHECK(r && r->a == 0 && r->b == 0);            /* zeroed but for the key */
    u64tab_free(&t);
    CHECK_EQ_INT(t.count, 0);
    CHECK_EQ_INT(t.esize, sizeof(struct rec));
}

int main(void)
{
    test_map_against_reference();
    test_inline_entries();
    return check_summary();
}
