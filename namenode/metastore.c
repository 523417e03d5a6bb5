/*
 * metastore.c - the namenode's LevelDB store (see metastore.h).
 *
 * The only file that calls leveldb_*.  Plain writes go to LevelDB's log
 * without sync: LevelDB hands every record to the OS before the write
 * returns, so they survive kill -9.  ms_sync() then makes them durable by
 * an fdatasync of the log files themselves, from the sync thread, rather
 * than by a synced LevelDB write: such a write would hold LevelDB's writer
 * queue for the whole fsync and stall every ms_write() of the event loop
 * behind it, and it cost a second log record and fsync per commit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <leveldb/c.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include "metastore.h"
#include "log.h"
#include "xmalloc.h"

struct metastore {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;       /* applied, not synced */
    char *dir;

    /* ms_sync()'s state, under sync_lock. */
    pthread_mutex_t sync_lock;
    uint64_t closed_synced;     /* logs numbered up to this are final and synced */
    uint64_t newest_log;        /* highest log number seen (its entry synced) */
};

struct ms_batch {
    leveldb_writebatch_t *wb;
};

struct ms_iter {
    leveldb_iterator_t *it;
};

/* Copy a LevelDB error string into err and free it. */
static void take_error(char *lverr, char *err, size_t errsz)
{
    if (err != NULL && errsz > 0)
        snprintf(err, errsz, "%s", lverr != NULL ? lverr : "unknown LevelDB error");
    leveldb_free(lverr);
}

static void ms_free_parts(struct metastore *ms)
{
    if (ms->db != NULL)
        leveldb_close(ms->db);
    if (ms->opts != NULL)
        leveldb_options_destroy(ms->opts);
    if (ms->filter != NULL)
        leveldb_filterpolicy_destroy(ms->filter);
    if (ms->cache != NULL)
        leveldb_cache_destroy(ms->cache);
    if (ms->ropts != NULL)
        leveldb_readoptions_destroy(ms->ropts);
    if (ms->wopts != NULL)
        leveldb_writeoptions_destroy(ms->wopts);
    pthread_mutex_destroy(&ms->sync_lock);
    free(ms->dir);
    free(ms);
}

struct metastore *ms_open(const char *dir, size_t cache_mb, char *err, size_t errsz)
{
    struct metastore *ms = xcalloc(1, sizeof(*ms));
    char *lverr = NULL;

    ms->dir = xstrdup(dir);
    pthread_mutex_init(&ms->sync_lock, NULL);

    /* LevelDB's constructors never return NULL (they abort on OOM). */
    ms->opts = leveldb_options_create();
    ms->cache = leveldb_cache_create_lru(cache_mb * 1024 * 1024);
    ms->filter = leveldb_filterpolicy_create_bloom(10);
    ms->ropts = leveldb_readoptions_create();
    ms->wopts = leveldb_writeoptions_create();
    leveldb_options_set_create_if_missing(ms->opts, 1);
    leveldb_options_set_paranoid_checks(ms->opts, 0);
    leveldb_options_set_cache(ms->opts, ms->cache);
    leveldb_options_set_filter_policy(ms->opts, ms->filter);
    leveldb_options_set_max_open_files(ms->opts, MS_MAX_OPEN_FILES);
    leveldb_writeoptions_set_sync(ms->wopts, 0);

    ms->db = leveldb_open(ms->opts, dir, &lverr);
    if (lverr != NULL || ms->db == NULL) {
        take_error(lverr, err, errsz);
        ms->db = NULL;
        ms_free_parts(ms);
        return NULL;
    }
    return ms;
}

void ms_close(struct metastore *ms)
{
    if (ms != NULL)
        ms_free_parts(ms);
}

int ms_get(struct metastore *ms, const void *key, size_t klen, char **val, size_t *vlen)
{
    char *lverr = NULL;
    size_t len = 0;
    char *v = leveldb_get(ms->db, ms->ropts, key, klen, &len, &lverr);

    *val = NULL;
    *vlen = 0;
    if (lverr != NULL) {
        LOG_ERROR("metastore: get failed: %s", lverr);
        leveldb_free(lverr);
        leveldb_free(v);
        return -1;
    }
    if (v == NULL)
        return 0;
    /* Copy so that the caller frees with free(); NUL-terminated too. */
    *val = xmalloc(len + 1);
    memcpy(*val, v, len);
    (*val)[len] = '\0';
    *vlen = len;
    leveldb_free(v);
    return 1;
}

struct ms_batch *ms_batch_new(void)
{
    struct ms_batch *b = xmalloc(sizeof(*b));

    b->wb = leveldb_writebatch_create();
    return b;
}

void ms_batch_put(struct ms_batch *b, const void *key, size_t klen, const void *val, size_t vlen)
{
    leveldb_writebatch_put(b->wb, key, klen, val, vlen);
}

void ms_batch_delete(struct ms_batch *b, const void *key, size_t klen)
{
    leveldb_writebatch_delete(b->wb, key, klen);
}

void ms_batch_clear(struct ms_batch *b)
{
    leveldb_writebatch_clear(b->wb);
}

void ms_batch_destroy(struct ms_batch *b)
{
    if (b == NULL)
        return;
    leveldb_writebatch_destroy(b->wb);
    free(b);
}

int ms_write(struct metastore *ms, struct ms_batch *b)
{
    char *lverr = NULL;

    leveldb_write(ms->db, ms->wopts, b->wb, &lverr);
    if (lverr != NULL) {
        LOG_ERROR("metastore: write failed: %s", lverr);
        leveldb_free(lverr);
        return -1;
    }
    return 0;
}

/* The number of LevelDB log file `name` ("000063.log" -> 63), or 0 when
 * it is not a log file. */
static uint64_t log_number(const char *name)
{
    size_t n = strlen(name);
    uint64_t v = 0;

    if (n < 5 || strcmp(name + n - 4, ".log") != 0)
        return 0;
    for (size_t i = 0; i < n - 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    return v;
}

/* fdatasync file `name` of directory d (a log that vanished meanwhile was
 * compacted into a synced table: fine).  0 or -1 (logged). */
static int sync_file_at(struct metastore *ms, DIR *d, const char *name)
{
    int fd = openat(dirfd(d), name, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0) {
        LOG_ERROR("metastore: open %s/%s: %s", ms->dir, name, strerror(errno));
        return -1;
    }
    if (fdatasync(fd) != 0) {
        LOG_ERROR("metastore: fdatasync %s/%s: %s", ms->dir, name, strerror(errno));
        rc = -1;
    }
    close(fd);
    return rc;
}

/* The highest log number in directory d. */
static uint64_t newest_log(DIR *d)
{
    uint64_t newest = 0;
    struct dirent *e;

    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        uint64_t n = log_number(e->d_name);

        if (n > newest)
            newest = n;
    }
    return newest;
}

/* Sync every log file that may hold an unsynced write.  LevelDB writes
 * only to its newest log; when it switches to a new one it closes the old
 * one without an fsync.  So a log older than the newest one seen here is
 * final once synced (skipped from then on), and the newest one is synced
 * every time.  A new newest log also gets its directory entry synced. */
static int sync_logs(struct metastore *ms, DIR *d)
{
    uint64_t newest = newest_log(d), closed = ms->closed_synced;
    struct dirent *e;
    int rc = 0;

    rewinddir(d);
    while ((e = readdir(d)) != NULL) {
        uint64_t n = log_number(e->d_name);

        if (n == 0 || n <= ms->closed_synced)
            continue;
        if (sync_file_at(ms, d, e->d_name) != 0)
            rc = -1;
        else if (n < newest && n > closed)
            closed = n;
    }
    if (rc == 0 && newest > ms->newest_log) {
        if (fsync(dirfd(d)) != 0) {
            LOG_ERROR("metastore: fsync %s: %s", ms->dir, strerror(errno));
            return -1;
        }
        ms->newest_log = newest;
    }
    if (rc == 0)
        ms->closed_synced = closed;
    return rc;
}

int ms_sync(struct metastore *ms)
{
    DIR *d;
    int rc;

    pthread_mutex_lock(&ms->sync_lock);
    d = opendir(ms->dir);
    if (d == NULL) {
        LOG_ERROR("metastore: %s: %s", ms->dir, strerror(errno));
        pthread_mutex_unlock(&ms->sync_lock);
        return -1;
    }
    rc = sync_logs(ms, d);
    closedir(d);
    pthread_mutex_unlock(&ms->sync_lock);
    return rc;
}

struct ms_iter *ms_iter_new(struct metastore *ms)
{
    struct ms_iter *it = xmalloc(sizeof(*it));

    /* A LevelDB iterator reads from an implicit snapshot taken here. */
    it->it = leveldb_create_iterator(ms->db, ms->ropts);
    return it;
}

void ms_iter_seek(struct ms_iter *it, const void *key, size_t klen)
{
    leveldb_iter_seek(it->it, key, klen);
}

int ms_iter_valid(const struct ms_iter *it)
{
    return leveldb_iter_valid(it->it) != 0;
}

const char *ms_iter_key(const struct ms_iter *it, size_t *klen)
{
    return leveldb_iter_key(it->it, klen);
}

const char *ms_iter_value(const struct ms_iter *it, size_t *vlen)
{
    return leveldb_iter_value(it->it, vlen);
}

void ms_iter_next(struct ms_iter *it)
{
    leveldb_iter_next(it->it);
}

void ms_iter_destroy(struct ms_iter *it)
{
    char *lverr = NULL;

    if (it == NULL)
        return;
    leveldb_iter_get_error(it->it, &lverr);
    if (lverr != NULL) {
        LOG_ERROR("metastore: iterator error: %s", lverr);
        leveldb_free(lverr);
    }
    leveldb_iter_destroy(it->it);
    free(it);
}
