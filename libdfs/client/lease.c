/*
 * lease.c - the lease renewer of a dfs_fs handle (see fs_i.h).
 *
 * The namenode gives a client one lease covering every file it writes and
 * takes files over once the lease has not been renewed for
 * namenode.lease_soft_ms.  While the handle has a file open for writing, a
 * background thread sends RenewLeaseReq every client.lease_renew_ms; with
 * none open it sleeps on a condition variable.  It starts with the first
 * writer and stops at dfs_disconnect().  It shares the namenode client
 * (rpc.c is thread-safe) and reports failures only through the log
 * function: a missed renewal is made up by the next one, and every write
 * call of a writer renews the lease too.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "clock.h"
#include "dfs.pb-c.h"
#include "error_i.h"
#include "frame.h"
#include "fs_i.h"

/* Send one RenewLeaseReq; log a failure. */
static void renew(dfs_fs *fs)
{
    Dfs__RenewLeaseReq req = DFS__RENEW_LEASE_REQ__INIT;
    req.client = fs->client_name;
    ProtobufCMessage *m = NULL;
    int rc = dfs_rpc_call(fs->nn, DFS_MSG_RENEW_LEASE_REQ, &req.base,
                          &dfs__renew_lease_resp__descriptor, &m);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
    if (rc != DFS_OK)
        dfs_fs_log(fs, DFS_LOG_WARN, "cannot renew the lease of %s: %s", fs->client_name,
                   dfs_errmsg());
}

static void *renewer_main(void *arg)
{
    dfs_fs *fs = arg;
    pthread_mutex_lock(&fs->lease_lock);
    while (!fs->lease_stop) {
        if (fs->lease_writers == 0) {
            pthread_cond_wait(&fs->lease_cond, &fs->lease_lock);
            continue;
        }
        uint64_t now = dfs_mono_ms();
        if (now < fs->lease_due_ms) {
            struct timespec ts = dfs_mono_after(fs->lease_due_ms - now);
            pthread_cond_timedwait(&fs->lease_cond, &fs->lease_lock, &ts);
            continue;
        }
        fs->lease_due_ms = now + fs->opts.lease_renew_ms;
        pthread_mutex_unlock(&fs->lease_lock);
        renew(fs);
        pthread_mutex_lock(&fs->lease_lock);
    }
    pthread_mutex_unlock(&fs->lease_lock);
    return NULL;
}

int dfs_lease_init(dfs_fs *fs)
{
    pthread_condattr_t ca;
    if (pthread_mutex_init(&fs->lease_lock, NULL) != 0)
        return dfs_set_error(DFS_ERR_NOMEM, "cannot create a mutex");
    if (pthread_condattr_init(&ca) != 0 ||
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&fs->lease_cond, &ca) != 0) {
        pthread_mutex_destroy(&fs->lease_lock);
        return dfs_set_error(DFS_ERR_NOMEM, "cannot create a condition variable");
    }
    pthread_condattr_destroy(&ca);
    fs->lease_ready = 1;
    return DFS_OK;
}

void dfs_lease_hold(dfs_fs *fs)
{
    pthread_mutex_lock(&fs->lease_lock);
    if (fs->lease_writers++ == 0)
        fs->lease_due_ms = dfs_mono_ms() + fs->opts.lease_renew_ms;
    if (!fs->lease_started && !fs->lease_stop) {
        /* The thread takes no signal: they stay the application's. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        int rc = pthread_create(&fs->lease_thread, NULL, renewer_main, fs);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc == 0)
            fs->lease_started = 1;
        else
            dfs_fs_log(fs, DFS_LOG_WARN, "cannot start the lease renewer: %s; the lease is "
                       "renewed by write calls only", strerror(rc));
    }
    pthread_cond_signal(&fs->lease_cond);
    pthread_mutex_unlock(&fs->lease_lock);
}

void dfs_lease_release(dfs_fs *fs)
{
    pthread_mutex_lock(&fs->lease_lock);
    if (fs->lease_writers > 0)
        fs->lease_writers--;
    pthread_mutex_unlock(&fs->lease_lock);
}

unsigned dfs_lease_writers(dfs_fs *fs)
{
    pthread_mutex_lock(&fs->lease_lock);
    unsigned n = fs->lease_writers;
    pthread_mutex_unlock(&fs->lease_lock);
    return n;
}

void dfs_lease_fini(dfs_fs *fs)
{
    if (!fs->lease_ready)
        return;
    pthread_mutex_lock(&fs->lease_lock);
    fs->lease_stop = 1;
    int started = fs->lease_started;
    pthread_cond_signal(&fs->lease_cond);
    pthread_mutex_unlock(&fs->lease_lock);
    if (started)
        pthread_join(fs->lease_thread, NULL);
    pthread_cond_destroy(&fs->lease_cond);
    pthread_mutex_destroy(&fs->lease_lock);
    fs->lease_ready = 0;
}
