/*
 * iopool.c - disk worker threads with strands (see iopool.h).
 *
 * One mutex guards the ready queue (strands that have jobs and are not
 * being run) and the completion list.  A worker pops a strand, detaches up
 * to IOP_BATCH of its jobs, runs them without the lock, then appends them
 * to the completion list and wakes the loop if the list was empty.  The
 * loop's wake event takes the whole list and calls the done callbacks.
 */
#include "iopool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xmalloc.h"

struct iop_strand {
    struct iop *pool;
    struct iop_job *head, *tail;     /* queued, not yet taken by a worker */
    struct iop_strand *ready_next;
    int queued;                      /* on the ready queue */
    int running;                     /* a worker has some of its jobs */
    size_t pending;                  /* submitted, done not yet called (loop only) */
};

struct iop {
    struct event_base *base;
    struct event *wake;              /* activated by workers: completions */
    pthread_mutex_t mu;
    pthread_cond_t work;             /* workers: a strand became ready / stop */
    pthread_cond_t idle;             /* iop_drain: completions arrived */
    struct iop_strand *ready_head, *ready_tail;
    struct iop_job *done_head, *done_tail;
    size_t njobs;                    /* submitted, done not yet called */
    int stop;
    unsigned nthreads;
    pthread_t *threads;
};

static void ready_push(struct iop *p, struct iop_strand *s)
{
    s->queued = 1;
    s->ready_next = NULL;
    if (p->ready_tail)
        p->ready_tail->ready_next = s;
    else
        p->ready_head = s;
    p->ready_tail = s;
}

static struct iop_strand *ready_pop(struct iop *p)
{
    struct iop_strand *s = p->ready_head;
    if (s) {
        p->ready_head = s->ready_next;
        if (!p->ready_head)
            p->ready_tail = NULL;
        s->queued = 0;
        s->ready_next = NULL;
    }
    return s;
}

static void *worker_main(void *arg)
{
    struct iop *p = arg;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->ready_head && !p->stop)
            pthread_cond_wait(&p->work, &p->mu);
        struct iop_strand *s = ready_pop(p);
        if (!s)
            break;                               /* stopping, nothing left */
        /* Take up to IOP_BATCH jobs of the strand, in order. */
        struct iop_job *first = s->head, *last = s->head;
        for (int n = 1; n < IOP_BATCH && last->next; n++)
            last = last->next;
        s->head = last->next;
        if (!s->head)
            s->tail = NULL;
        last->next = NULL;
        s->running = 1;
        pthread_mutex_unlock(&p->mu);

        for (struct iop_job *j = first; j; j = j->next)
            j->run(j);

        pthread_mutex_lock(&p->mu);
        int wake = p->done_head == NULL;
        if (p->done_tail)
            p->done_tail->next = first;
        else
            p->done_head = first;
        p->done_tail = last;
        s->running = 0;
        if (s->head)
            ready_push(p, s);
        pthread_cond_signal(&p->idle);
        if (wake)
            event_active(p->wake, EV_READ, 0);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Call the done callbacks of the completed jobs, in order. */
static void deliver(struct iop *p)
{
    pthread_mutex_lock(&p->mu);
    struct iop_job *j = p->done_head;
    p->done_head = p->done_tail = NULL;
    pthread_mutex_unlock(&p->mu);
    while (j) {
        struct iop_job *next = j->next;
        j->strand->pending--;
        p->njobs--;
        j->done(j);               /* may free j, and its strand */
        j = next;
    }
}

static void wake_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    deliver(arg);
}

struct iop *iop_new(struct event_base *base, unsigned nthreads, char *err, size_t errsz)
{
    struct iop *p = xcalloc(1, sizeof(*p));
    p->base = base;
    p->nthreads = 0;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->wake = event_new(base, -1, 0, wake_cb, p);
    if (!p->wake) {
        snprintf(err, errsz, "cannot create the io pool's wake event");
        iop_free(p);
        return NULL;
    }
    if (nthreads < 1)
        nthreads = 1;
    p->threads = xcalloc(nthreads, sizeof(*p->threads));
    for (unsigned i = 0; i < nthreads; i++) {
        int rc = pthread_create(&p->threads[i], NULL, worker_main, p);
        if (rc != 0) {
            snprintf(err, errsz, "cannot start io thread %u: %s", i, strerror(rc));
            iop_free(p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

void iop_drain(struct iop *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    while (p->njobs > 0) {
        if (p->done_head) {
            pthread_mutex_unlock(&p->mu);
            deliver(p);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        pthread_cond_wait(&p->idle, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}

void iop_free(struct iop *p)
{
    if (!p)
        return;
    iop_drain(p);
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    if (p->wake)
        event_free(p->wake);
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->mu);
    free(p->threads);
    free(p);
}

struct iop_strand *iop_strand_new(struct iop *p)
{
    struct iop_strand *s = xcalloc(1, sizeof(*s));
    s->pool = p;
    return s;
}

void iop_strand_free(struct iop_strand *s)
{
    if (!s)
        return;
    if (s->pending != 0) {
        LOG_ERROR("io pool: strand freed with %zu pending jobs", s->pending);
        abort();
    }
    free(s);
}

size_t iop_strand_pending(const struct iop_strand *s)
{
    return s->pending;
}

size_t iop_pending(const struct iop *p)
{
    return p->njobs;
}

void iop_submit(struct iop_strand *s, struct iop_job *j)
{
    struct iop *p = s->pool;
    j->strand = s;
    j->next = NULL;
    s->pending++;
    pthread_mutex_lock(&p->mu);
    p->njobs++;
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    if (!s->running && !s->queued) {
        ready_push(p, s);
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
}
