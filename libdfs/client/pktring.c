/*
 * pktring.c - the unacknowledged packets of a writer (see pktring.h).
 */
#include "pktring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int pktring_init(struct pktring *r, size_t cap, size_t bufsize)
{
    memset(r, 0, sizeof(*r));
    if (cap == 0)
        cap = 1;
    r->slots = calloc(cap, sizeof(*r->slots));
    if (!r->slots)
        return -ENOMEM;
    r->cap = cap;
    r->bufsize = bufsize;
    return 0;
}

void pktring_free(struct pktring *r)
{
    if (r->slots)
        for (size_t i = 0; i < r->cap; i++)
            free(r->slots[i].data);
    free(r->slots);
    memset(r, 0, sizeof(*r));
}

void pktring_reset(struct pktring *r, uint64_t acked_end)
{
    r->head = 0;
    r->count = 0;
    r->acked_end = acked_end;
}

const struct pkt_slot *pktring_push(struct pktring *r, uint64_t offset, const void *data,
                                    size_t len, uint32_t flags)
{
    if (r->count == r->cap || len > r->bufsize)
        return NULL;
    struct pkt_slot *s = &r->slots[(r->head + r->count) % r->cap];
    if (!s->data) {
        s->data = malloc(r->bufsize ? r->bufsize : 1);
        if (!s->data)
            return NULL;
    }
    if (len)
        memcpy(s->data, data, len);
    s->offset = offset;
    s->len = len;
    s->flags = flags;
    r->count++;
    return s;
}

void pktring_pop(struct pktring *r)
{
    if (r->count == 0)
        return;
    const struct pkt_slot *s = &r->slots[r->head];
    if (s->offset + s->len > r->acked_end)
        r->acked_end = s->offset + s->len;
    r->head = (r->head + 1) % r->cap;
    r->count--;
}

void pktring_trim_front(struct pktring *r, uint64_t offset)
{
    if (r->count == 0)
        return;
    struct pkt_slot *s = &r->slots[r->head];
    if (offset <= s->offset || offset > s->offset + s->len)
        return;
    size_t cut = (size_t)(offset - s->offset);
    memmove(s->data, s->data + cut, s->len - cut);
    s->len -= cut;
    s->offset = offset;
}

const struct pkt_slot *pktring_at(const struct pktring *r, size_t i)
{
    if (i >= r->count)
        return NULL;
    return &r->slots[(r->head + i) % r->cap];
}
