/*
 * blockstore_i.h - private to the block store: the .meta format, the
 * in-memory maps and writers, and the helpers shared by blockstore.c (the
 * replica maps, their files, writers, failed dirs), bs_rbw.c (replicas
 * being written: park, reopen, cut, recover), bs_verify.c (re-reading a
 * replica against its checksums) and bs_chunk.c (whole reads and writes,
 * the last chunk's checksum), which all the others call.  See blockstore.h for the layout on
 * disk and blockstore.c for the locking rules.
 */
#ifndef DN_BLOCKSTORE_I_H
#define DN_BLOCKSTORE_I_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "blockstore.h"
#include "checksum.h"
#include "frame.h"
#include "metafile.h"
#include "u64map.h"

#define BS_DIR_PATH_MAX (PATH_MAX - 128) /* room for the names we append */

/* Start writeback every BS_SYNC_BEHIND bytes of a replica being written
 * ("sync behind writes"), so the fsync at finalize has little left to do
 * and dirty pages do not pile up. */
#define BS_SYNC_BEHIND (8u << 20)

/* What a map entry is.  (Key 0, an empty slot, is no block id.)
 * fin: FINAL or DELETING; rbw: WRITING (a live writer), PARKED (files
 * closed: left by a writer that went away, or found at open) or
 * DELETING. */
enum ent_state { ENT_FINAL = 1, ENT_WRITING, ENT_PARKED, ENT_DELETING };

/* An entry of bs->fin or bs->rbw (u64tab.h tables, entries inline). */
struct ent {
    uint64_t id;            /* the key: first */
    uint64_t gs, len;       /* len: PARKED: bytes in the data file */
    uint32_t chunk;
    uint16_t dir;
    uint8_t state;
    uint8_t bad;            /* FINAL: flagged bad (marker file) */
    union {
        struct bs_writer *w;    /* WRITING: its writer (freed only after
                                 * the entry leaves WRITING, under lock) */
        uint64_t acked;         /* PARKED: bytes whose checksums hold */
    } u;
};

struct bs {
    struct vol_set *vol;
    uint64_t reserved;
    pthread_mutex_t lock;
    pthread_mutex_t mark_lock;  /* marker files: create (mark) vs unlink (delete) */
    struct u64tab fin, rbw;    /* under lock */
    size_t nfinal;          /* FINAL entries of fin */
    uint64_t used;          /* data + meta bytes of FINAL entries */

    /* Failure hooks, set and called under hook_lock. */
    pthread_mutex_t hook_lock;
    bs_dir_failed_fn on_failed;
    void *on_failed_arg;
    bs_replica_lost_fn on_lost;
    void *on_lost_arg;
    bs_replica_changed_fn on_changed;
    void *on_changed_arg;
};

struct bs_writer {
    struct bs *bs;
    uint64_t id, gs;
    uint32_t chunk;
    uint16_t dir;
    int data_fd, meta_fd;
    int rbw_synced;
    uint64_t bytes;         /* atomic: read by bs_writer_bytes */
    uint64_t acked;         /* atomic: bs_writer_set_acked */
    uint64_t flushed;       /* data up to here handed to writeback */
};

/* Add absent id in state st (other fields 0) to m: the entry, or NULL
 * when out of memory.  bs->lock held. */
struct ent *bs_ent_add(struct u64tab *m, uint64_t id, enum ent_state st);
/* <dir d>/finalized/subdirA/subdirB of id into buf[PATH_MAX]. */
void bs_fin_dir_path(char *buf, const struct bs *bs, size_t d, uint64_t id);
/* Data and meta paths (each PATH_MAX) of replica (id, gs) in dir d's rbw/
 * (rbw set) or finalized/. */
void bs_replica_paths(const struct bs *bs, size_t d, int rbw, uint64_t id, uint64_t gs,
                      char *data, char *meta);
/* rc: the result (-errno) of `op` on `path` in dir d; a disk error fails
 * the dir.  Returns rc.  No lock held. */
int bs_io_check(struct bs *bs, size_t d, int rc, const char *op, const char *path);
/* The same for w's data (meta 0) or meta file in rbw/. */
int bs_writer_io(struct bs_writer *w, int rc, const char *op, int meta);
/* Unlink w's files (in rbw/ or finalized/), close, drop its entry, free. */
void bs_writer_discard(struct bs_writer *w, int rbw);
/* Call the bs_on_replica_changed hook for id (no store lock held). */
void bs_changed(struct bs *bs, uint64_t id);
/* Drop w's WRITING entry under the lock. */
void bs_writer_unclaim(struct bs_writer *w);
/* ---- bs_chunk.c: I/O on a replica's files */

/* pwrite all of buf: 0 or -errno. */
int bs_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Bytes of a replica whose checksums hold, judging by its last chunk:
 * bytes = min(data size, chunks with a checksum * chunk); when the chunk
 * holding the last of them matches its checksum, all of them, else up to
 * that chunk's start.  0 and *len, or -errno of a read. */
int bs_verified_len(int data_fd, int meta_fd, uint32_t chunk, uint64_t *len);

/* A replica of `bytes` bytes in data_fd/meta_fd is cut at `length`
 * inside a chunk (length % chunk != 0, length < bytes): check that chunk
 * as stored, then store the checksum of its first length % chunk bytes.
 * 0; -EIO when the chunk is corrupt (logged, naming data_path) or short;
 * -ENOMEM; or -errno of a read or write. */
int bs_recut_chunk(int data_fd, int meta_fd, uint32_t chunk, uint64_t length, uint64_t bytes,
                   const char *data_path);

/* printf into err[errsz] (the blockstore.h convention: err may be NULL). */
void bs_seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
