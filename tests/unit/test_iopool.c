/*
 * test_iopool.c - unit tests of datanode/iopool.c: order within a strand,
 * parallelism across strands, completions on the loop's thread, drain.
 */
#include "check.h"
#include "iopool.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <time.h>
#include <event2/event.h>
#include <event2/thread.h>

#define NSTRANDS 4
#define NJOBS    2000

static pthread_t loop_thread;

struct tjob {
    struct iop_job ij;
    int strand, index;
};

static int ran[NSTRANDS][NJOBS];          /* run order, written by workers */
static int nran[NSTRANDS];
static int running[NSTRANDS];             /* a strand's job is running */
static int overlap;                       /* two jobs of one strand at once */
static int done_order_bad, done_off_loop, ndone;
static int next_done[NSTRANDS];
static struct event_base *base;

static void run_order(struct iop_job *j)
{
    struct tjob *t = (struct tjob *)j;
    if (__atomic_exchange_n(&running[t->strand], 1, __ATOMIC_SEQ_CST))
        __atomic_store_n(&overlap, 1, __ATOMIC_SEQ_CST);
    ran[t->strand][nran[t->strand]++] = t->index;   /* strand order: no lock needed */
    if (t->index % 97 == 0) {
        struct timespec ts = { 0, 100000 };
        nanosleep(&ts, NULL);
    }
    __atomic_store_n(&running[t->strand], 0, __ATOMIC_SEQ_CST);
}

static void done_order(struct iop_job *j)
{
    struct tjob *t = (struct tjob *)j;
    if (!pthread_equal(pthread_self(), loop_thread))
        done_off_loop = 1;
    if (t->index != next_done[t->strand]++)
        done_order_bad = 1;
    free(t);
    if (++ndone == NSTRANDS * NJOBS)
        event_base_loopbreak(base);
}

static void test_order(struct iop *p)
{
    struct iop_strand *s[NSTRANDS];
    for (int i = 0; i < NSTRANDS; i++)
        s[i] = iop_strand_new(p);
    for (int n = 0; n < NJOBS; n++) {
        for (int i = 0; i < NSTRANDS; i++) {
            struct tjob *t = calloc(1, sizeof(*t));
            t->ij.run = run_order;
            t->ij.done = done_order;
            t->strand = i;
            t->index = n;
            iop_submit(s[i], &t->ij);
        }
    }
    CHECK_EQ_INT(iop_pending(p), NSTRANDS * NJOBS);
    /* The pool's wake event alone does not keep a loop running. */
    struct event *keep = evtimer_new(base, NULL, NULL);
    struct timeval tv = { 60, 0 };
    evtimer_add(keep, &tv);
    event_base_dispatch(base);
    event_free(keep);
    CHECK_EQ_INT(ndone, NSTRANDS * NJOBS);
    CHECK_EQ_INT(iop_pending(p), 0);
    CHECK(!overlap);
    CHECK(!done_order_bad);
    CHECK(!done_off_loop);
    int bad = 0;
    for (int i = 0; i < NSTRANDS; i++) {
        CHECK_EQ_INT(nran[i], NJOBS);
        CHECK_EQ_INT(iop_strand_pending(s[i]), 0);
        for (int n = 0; n < NJOBS; n++)
            bad |= ran[i][n] != n;
        iop_strand_free(s[i]);
    }
    CHECK(!bad);
}

/* Two strands must run at the same time: each job waits for the other. */
static sem_t sem_a, sem_b;
static int par_ok[2];

static int wait_sem(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    while (sem_timedwait(s, &ts) != 0)
        if (errno != EINTR)
            return -1;
    return 0;
}

static void run_a(struct iop_job *j)
{
    (void)j;
    sem_post(&sem_a);
    par_ok[0] = wait_sem(&sem_b) == 0;
}

static void run_b(struct iop_job *j)
{
    (void)j;
    sem_post(&sem_b);
    par_ok[1] = wait_sem(&sem_a) == 0;
}

static int ndone_par;

static void done_count(struct iop_job *j)
{
    (void)j;
    ndone_par++;
}

static void test_parallel(struct iop *p)
{
    sem_init(&sem_a, 0, 0);
    sem_init(&sem_b, 0, 0);
    struct iop_strand *s1 = iop_strand_new(p), *s2 = iop_strand_new(p);
    struct iop_job a = { .run = run_a, .done = done_count };
    struct iop_job b = { .run = run_b, .done = done_count };
    iop_submit(s1, &a);
    iop_submit(s2, &b);
    iop_drain(p);                 /* delivers on this thread, loop idle */
    CHECK_EQ_INT(ndone_par, 2);
    CHECK(par_ok[0] && par_ok[1]);
    iop_strand_free(s1);
    iop_strand_free(s2);
    sem_destroy(&sem_a);
    sem_destroy(&sem_b);
}

/* A done callback that submits more work: iop_drain waits for it too. */
static struct iop_strand *chain_strand;
static int chain_left = 50, chain_runs;

static void run_chain(struct iop_job *j)
{
    (void)j;
    __atomic_add_fetch(&chain_runs, 1, __ATOMIC_SEQ_CST);
}

static void done_chain(struct iop_job *j)
{
    if (--chain_left > 0)
        iop_submit(chain_strand, j);
    else
        free(j);
}

static void test_drain_chain(struct iop *p)
{
    chain_strand = iop_strand_new(p);
    struct iop_job *j = calloc(1, sizeof(*j));
    j->run = run_chain;
    j->done = done_chain;
    iop_submit(chain_strand, j);
    iop_drain(p);
    CHECK_EQ_INT(chain_left, 0);
    CHECK_EQ_INT(chain_runs, 50);
    CHECK_EQ_INT(iop_strand_pending(chain_strand), 0);
    iop_strand_free(chain_strand);
}

/* iop_free with queued jobs completes them first. */
static int free_done;

static void done_free(struct iop_job *j)
{
    free_done++;
    free(j);
}

static struct iop_strand *free_strand;

static void done_free_last(struct iop_job *j)
{
    done_free(j);
    iop_strand_free(free_strand);
}

static void test_free_drains(void)
{
    char err[128];
    struct iop *p = iop_new(base, 1, err, sizeof(err));
    CHECK(p != NULL);
    free_strand = iop_strand_new(p);
    for (int i = 0; i < 10; i++) {
        struct iop_job *j = calloc(1, sizeof(*j));
        j->run = run_chain;
        j->done = i == 9 ? done_free_last : done_free;
        iop_submit(free_strand, j);
    }
    iop_free(p);
    CHECK_EQ_INT(free_done, 10);
}

int main(void)
{
    char err[128];
    evthread_use_pthreads();
    base = event_base_new();
    loop_thread = pthread_self();
    struct iop *p = iop_new(base, 3, err, sizeof(err));
    CHECK(p != NULL);
    if (!p)
        return check_summary();
    test_order(p);
    test_parallel(p);
    test_drain_chain(p);
    iop_free(p);
    test_free_drains();
    event_base_free(base);
    return check_summary();
}
