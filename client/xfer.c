/*
 * xfer.c - the ring of buffers between the shell's main thread and its
 * writer thread (see xfer.h).
 *
 * Slots [tail, head) (mod nslots) are queued.  The main thread fills slot
 * head and the helper writes slot tail, each outside the lock: while
 * head - tail < nslots they are never the same slot.  One condition
 * variable serves both directions, since only two threads ever wait on it.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>

#include "shell.h"
#include "xfer.h"

struct xfer {
    int fd;
    int threaded;               /* a helper runs (else xfer_commit writes) */
    pthread_t helper;
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* a slot was queued or written, or a side ended */
    unsigned nslots;
    char *buf[XFER_MAX_SLOTS];
    size_t len[XFER_MAX_SLOTS];
    uint64_t head, tail;
    int closed;                 /* the main thread queues nothing more */
    int err;                    /* errno of the failed write, or 0 */
};

/* The helper: write the queued slots in order until the main thread has
 * closed the ring and all are written, or a write fails. */
static void *writer_main(void *arg)
{
    struct xfer *x = arg;
    unsigned i;
    int err;

    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (x->head == x->tail && !x->closed)
            pthread_cond_wait(&x->cv, &x->mu);
        if (x->head == x->tail)
            break;
        i = (unsigned)(x->tail % x->nslots);
        pthread_mutex_unlock(&x->mu);
        err = write_all(x->fd, x->buf[i], x->len[i]);
        pthread_mutex_lock(&x->mu);
        if (err) {
            x->err = err;       /* xfer_buf() now answers NULL */
            break;
        }
        x->tail++;
        pthread_cond_signal(&x->cv);
    }
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

/* Start the helper with the shell's signals blocked (a new thread inherits
 * the mask), so that they keep going to the main thread.  0 or an error
 * number. */
static int start_helper(struct xfer *x)
{
    sigset_t set, old;
    int rc;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    rc = pthread_sigmask(SIG_BLOCK, &set, &old);
    if (rc != 0)
        return rc;
    rc = pthread_create(&x->helper, NULL, writer_main, x);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

struct xfer *xfer_start(int fd, unsigned nslots, size_t bufsize)
{
    struct xfer *x = xcalloc(1, sizeof *x);

    x->fd = fd;
    x->nslots = nslots < 1 ? 1 : nslots > XFER_MAX_SLOTS ? XFER_MAX_SLOTS : nslots;
    for (unsigned i = 0; i < x->nslots; i++)
        x->buf[i] = xmalloc(bufsize);
    if (x->nslots > 1) {
        pthread_mutex_init(&x->mu, NULL);
        pthread_cond_init(&x->cv, NULL);
        /* Without a thread (a resource limit) the copy still works, inline. */
        x->threaded = start_helper(x) == 0;
        if (!x->threaded) {
            pthread_cond_destroy(&x->cv);
            pthread_mutex_destroy(&x->mu);
        }
    }
    return x;
}

char *xfer_buf(struct xfer *x)
{
    char *p;

    if (!x->threaded)
        return x->err ? NULL : x->buf[0];
    pthread_mutex_lock(&x->mu);
    while (x->head - x->tail == x->nslots && !x->err)
        pthread_cond_wait(&x->cv, &x->mu);
    p = x->err ? NULL : x->buf[x->head % x->nslots];
    pthread_mutex_unlock(&x->mu);
    return p;
}

void xfer_commit(struct xfer *x, size_t len)
{
    if (!x->threaded) {
        x->err = write_all(x->fd, x->buf[0], len);
        return;
    }
    pthread_mutex_lock(&x->mu);
    x->len[x->head % x->nslots] = len;
    x->head++;
    pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

int xfer_end(struct xfer *x)
{
    int err;

    if (x->threaded) {
        pthread_mutex_lock(&x->mu);
        x->closed = 1;          /* the helper writes what is queued, then exits */
        pthread_cond_signal(&x->cv);
        pthread_mutex_unlock(&x->mu);
        pthread_join(x->helper, NULL);
        pthread_cond_destroy(&x->cv);
        pthread_mutex_destroy(&x->mu);
    }
    err = x->err;
    for (unsigned i = 0; i < x->nslots; i++)
        free(x->buf[i]);
    free(x);
    return err;
}
