/*
 * metastore.h - the namenode's LevelDB store.  The only module that calls
 * leveldb_*.
 *
 * Writes are WriteBatches applied at once (visible to the next read) but not
 * synced; ms_sync() makes every write applied before it durable.  The
 * namenode's group commit (commit.c) calls ms_sync() from its sync thread
 * and answers the requests of a batch only after it returns: what was
 * acknowledged survives kill -9 and power loss.
 *
 * Thread-safety: LevelDB's; ms_write() and ms_get() are called from the
 * event loop, ms_sync() from the sync thread.
 */
#ifndef NN_METASTORE_H
#define NN_METASTORE_H

/* LevelDB table files kept open at most (its max_open_files; LevelDB's own
 * default is 1,000): the namenode's descriptor budget counts on it. */
#define MS_MAX_OPEN_FILES 256

#include <stddef.h>

struct metastore;
struct ms_batch;
struct ms_iter;

/* Open (creating if missing) the LevelDB at dir with an LRU cache of
 * cache_mb MiB.  NULL with a message in err on failure. */
struct metastore *ms_open(const char *dir, size_t cache_mb, char *err, size_t errsz);
void ms_close(struct metastore *ms);

/* Look a key up.  Returns 1 and a malloc'd *val (free with free()) when
 * found, 0 when missing, -1 on an I/O error (logged). */
int ms_get(struct metastore *ms, const void *key, size_t klen, char **val, size_t *vlen);

struct ms_batch *ms_batch_new(void);
void ms_batch_put(struct ms_batch *b, const void *key, size_t klen, const void *val, size_t vlen);
void ms_batch_delete(struct ms_batch *b, const void *key, size_t klen);
void ms_batch_clear(struct ms_batch *b);
void ms_batch_destroy(struct ms_batch *b);

/* Apply a batch atomically without syncing.  0 or -1 (logged). */
int ms_write(struct metastore *ms, struct ms_batch *b);
/* Make every write applied before the call durable: an fdatasync of each
 * LevelDB log file that may hold an unsynced record (not a LevelDB write,
 * so ms_write() callers never wait for it).  Blocks for an fsync: never
 * call from the event loop.  Calls from several threads are serialised. */
int ms_sync(struct metastore *ms);

/* Iterators see a consistent snapshot of the store. */
struct ms_iter *ms_iter_new(struct metastore *ms);
void ms_iter_seek(struct ms_iter *it, const void *key, size_t klen);
int ms_iter_valid(const struct ms_iter *it);
const char *ms_iter_key(const struct ms_iter *it, size_t *klen);
const char *ms_iter_value(const struct ms_iter *it, size_t *vlen);
void ms_iter_next(struct ms_iter *it);
void ms_iter_destroy(struct ms_iter *it);

#endif
