/*
 * metastore.c - the namenode's LevelDB store (see metastore.h).
 *
 * The only file that calls leveldb_*.  Plain writes go to LevelDB's log
 * without sync (they reach the OS at once, so they survive kill -9);
 * ms_sync() writes one small synced batch, which makes the log - and with
 * it every write applied before - durable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <leveldb/c.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "metastore.h"
#include "log.h"
#include "xmalloc.h"

/* Key of the commit marker ms_sync() writes: 'm' then a NUL keeps it apart
 * from every counter name of the namespace. */
static const char sync_key[] = { 'm', '\0', 's', 'y', 'n', 'c' };

struct metastore {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;       /* applied, not synced */
    leveldb_writeoptions_t *sync_wopts;  /* ms_sync() */
    uint64_t sync_count;                 /* marker value, atomic */
    char *dir;
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
    if (ms->sync_wopts != NULL)
        leveldb_writeoptions_destroy(ms->sync_wopts);
    free(ms->dir);
    free(ms);
}

struct metastore *ms_open(const char *dir, size_t cache_mb, char *err, size_t errsz)
{
    struct metastore *ms = xcalloc(1, sizeof(*ms));
    char *lverr = NULL;

    ms->dir = xstrdup(dir);

    /* LevelDB's constructors never return NULL (they abort on OOM). */
    ms->opts = leveldb_options_create();
    ms->cache = leveldb_cache_create_lru(cache_mb * 1024 * 1024);
    ms->filter = leveldb_filterpolicy_create_bloom(10);
    ms->ropts = leveldb_readoptions_create();
    ms->wopts = leveldb_writeoptions_create();
    ms->sync_wopts = leveldb_writeoptions_create();
    leveldb_options_set_create_if_missing(ms->opts, 1);
    leveldb_options_set_paranoid_checks(ms->opts, 0);
    leveldb_options_set_cache(ms->opts, ms->cache);
    leveldb_options_set_filter_policy(ms->opts, ms->filter);
    leveldb_writeoptions_set_sync(ms->wopts, 0);
    leveldb_writeoptions_set_sync(ms->sync_wopts, 1);

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

/* When LevelDB switches to a new log file it closes the old one without
 * an fsync, so a synced write to the new log does not cover the unsynced
 * tail of the old one until the memtable compaction has finished.  Sync
 * every log file left in the directory too (a clean one costs little; one
 * that vanished meanwhile was compacted into a synced table). */
static int sync_old_logs(struct metastore *ms)
{
    DIR *d = opendir(ms->dir);
    if (d == NULL) {
        LOG_ERROR("metastore: %s: %s", ms->dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (fdatasync(fd) != 0) {
            LOG_ERROR("metastore: fdatasync %s/%s: %s", ms->dir, e->d_name, strerror(errno));
            rc = -1;
        }
        close(fd);
    }
    closedir(d);
    return rc;
}

int ms_sync(struct metastore *ms)
{
    uint64_t n = __atomic_add_fetch(&ms->sync_count, 1, __ATOMIC_RELAXED);
    unsigned char val[8];
    leveldb_writebatch_t *wb;
    char *lverr = NULL;

    for (int i = 0; i < 8; i++)
        val[i] = (unsigned char)(n >> (56 - 8 * i));
    wb = leveldb_writebatch_create();
    leveldb_writebatch_put(wb, sync_key, sizeof(sync_key), (const char *)val, sizeof(val));
    leveldb_write(ms->db, ms->sync_wopts, wb, &lverr);
    leveldb_writebatch_destroy(wb);
    if (lverr != NULL) {
        LOG_ERROR("metastore: synced write failed: %s", lverr);
        leveldb_free(lverr);
        return -1;
    }
    return sync_old_logs(ms);
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
