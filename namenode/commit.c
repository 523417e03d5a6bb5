/*
 * commit.c - group commit with a sync thread (see commit.h).
 */
#include "commit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "nn.h"
#include "xmalloc.h"

struct held_reply {
    struct held_reply *next;
    struct dfs_conn *conn;       /* referenced while held */
    uint16_t type;
    uint32_t reqid;
    size_t len;
    uint8_t body[];
};

/* Replies waiting for one sync. */
struct epoch {
    struct held_reply *head, **tail;
    uint64_t writes;
};

struct commit {
    struct event_base *base;
    struct metastore *ms;
    struct event *kick_ev;       /* low priority: end of a loop turn */
    struct event *done_ev;       /* activated by the sync thread */
    struct epoch open;           /* collecting writes and replies */
    struct epoch flying;         /* being synced */
    int syncing;                 /* flying epoch handed to the thread */
    int kick_pending;

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int work;                    /* thread: a sync is asked for */
    int sync_rc;
    int stop;

    uint64_t nsyncs, nwrites;
};

static void epoch_init(struct epoch *e)
{
    e->head = NULL;
    e->tail = &e->head;
    e->writes = 0;
}

static void *sync_thread(void *arg)
{
    struct commit *cm = arg;
    pthread_mutex_lock(&cm->lock);
    for (;;) {
        while (!cm->work && !cm->stop)
            pthread_cond_wait(&cm->cond, &cm->lock);
        if (!cm->work && cm->stop)
            break;
        pthread_mutex_unlock(&cm->lock);
        int rc = ms_sync(cm->ms);
        pthread_mutex_lock(&cm->lock);
        cm->sync_rc = rc;
        cm->work = 0;
        pthread_cond_broadcast(&cm->cond);   /* commit_free may be waiting */
        event_active(cm->done_ev, EV_READ, 0);
    }
    pthread_mutex_unlock(&cm->lock);
    return NULL;
}

static void epoch_send(struct epoch *e, int ok)
{
    struct held_reply *r = e->head;
    while (r) {
        struct held_reply *next = r->next;
        if (ok)
            dfs_conn_send(r->conn, r->type, r->reqid, r->body, r->len);
        else
            dfs_conn_abort(r->conn);   /* never acknowledge what is not durable */
        dfs_conn_unref(r->conn);
        free(r);
        r = next;
    }
    epoch_init(e);
}

/* Hand the open epoch to the sync thread. */
static void start_sync(struct commit *cm)
{
    cm->flying = cm->open;
    if (cm->flying.head == NULL)
        cm->flying.tail = &cm->flying.head;
    epoch_init(&cm->open);
    cm->syncing = 1;
    pthread_mutex_lock(&cm->lock);
    cm->work = 1;
    pthread_cond_broadcast(&cm->cond);
    pthread_mutex_unlock(&cm->lock);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct commit *cm = arg;
    cm->kick_pending = 0;
    if (!cm->syncing && cm->open.writes > 0)
        start_sync(cm);
}

static void done_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct commit *cm = arg;
    pthread_mutex_lock(&cm->lock);
    int rc = cm->sync_rc;
    pthread_mutex_unlock(&cm->lock);
    if (rc != 0) {
        /* The writes are applied in memory but maybe not on disk: going on
         * would let later answers reveal them.  Stop; a restart recovers
         * from what the disk holds, and nothing unsynced was acknowledged. */
        LOG_ERROR("metadata sync failed: stopping without acknowledging %llu writes",
                  (unsigned long long)cm->flying.writes);
        _exit(1);
    }
    cm->nsyncs++;
    cm->nwrites += cm->flying.writes;
    cm->syncing = 0;
    epoch_send(&cm->flying, rc == 0);
    if (cm->open.writes > 0)
        start_sync(cm);
}

struct commit *commit_new(struct event_base *base, struct metastore *ms)
{
    struct commit *cm = xcalloc(1, sizeof(*cm));
    cm->base = base;
    cm->ms = ms;
    epoch_init(&cm->open);
    epoch_init(&cm->flying);
    cm->kick_ev = event_new(base, -1, 0, kick_cb, cm);
    cm->done_ev = event_new(base, -1, 0, done_cb, cm);
    event_priority_set(cm->kick_ev, NN_PRIO_LOW);
    pthread_mutex_init(&cm->lock, NULL);
    pthread_cond_init(&cm->cond, NULL);
    if (pthread_create(&cm->thread, NULL, sync_thread, cm) != 0) {
        LOG_ERROR("cannot start the sync thread");
        abort();
    }
    return cm;
}

void commit_free(struct commit *cm)
{
    if (!cm)
        return;
    /* Let a running sync finish, stop the thread, then make everything
     * applied durable and release what was held. */
    pthread_mutex_lock(&cm->lock);
    while (cm->work)
        pthread_cond_wait(&cm->cond, &cm->lock);
    cm->stop = 1;
    pthread_cond_broadcast(&cm->cond);
    pthread_mutex_unlock(&cm->lock);
    pthread_join(cm->thread, NULL);
    int rc = ms_sync(cm->ms);
    epoch_send(&cm->flying, rc == 0);
    epoch_send(&cm->open, rc == 0);
    event_free(cm->kick_ev);
    event_free(cm->done_ev);
    pthread_mutex_destroy(&cm->lock);
    pthread_cond_destroy(&cm->cond);
    free(cm);
}

void commit_note_write(struct commit *cm)
{
    cm->open.writes++;
    if (!cm->kick_pending && !cm->syncing) {
        cm->kick_pending = 1;
        event_active(cm->kick_ev, EV_READ, 0);
    }
}

void commit_reply(struct commit *cm, struct dfs_conn *c, uint16_t type, uint32_t reqid,
                  const void *body, size_t len)
{
    struct epoch *e = cm->open.writes > 0 ? &cm->open : cm->syncing ? &cm->flying : NULL;
    if (!e) {
        dfs_conn_send(c, type, reqid, body, len);
        return;
    }
    struct held_reply *r = xmalloc(sizeof(*r) + len);
    r->next = NULL;
    r->conn = c;
    r->type = type;
    r->reqid = reqid;
    r->len = len;
    memcpy(r->body, body, len);
    dfs_conn_ref(c);
    *e->tail = r;
    e->tail = &r->next;
}

void commit_reply_msg(struct commit *cm, struct dfs_conn *c, uint16_t type, uint32_t reqid,
                      const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t stackbuf[4096];
    uint8_t *buf = len <= sizeof(stackbuf) ? stackbuf : xmalloc(len);
    protobuf_c_message_pack(m, buf);
    commit_reply(cm, c, type, reqid, buf, len);
    if (buf != stackbuf)
        free(buf);
}

void commit_stats(const struct commit *cm, uint64_t *syncs, uint64_t *writes)
{
    *syncs = cm->nsyncs;
    *writes = cm->nwrites;
}
