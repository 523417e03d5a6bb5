/*
 * blockstore.h - the datanode's replica store.
 *
 * A datanode keeps block replicas in one or more data dirs.  Each dir holds:
 *
 *   VERSION          "storage_id=DS-<32 hex>\nlayout=1\n"; every dir of one
 *                    datanode carries the same storage id
 *   in_use.lock      flock()ed while a store has the dir open (opened
 *                    read-only: the file system can still be remounted
 *                    read-only under a running datanode)
 *   volume_check.tmp the probe's scratch file (volume.h), gone between probes
 *   rbw/             replicas being written: blk_<I>, blk_<I>_<G>.meta
 *   finalized/subdir<(I>>16)&0x1f>/subdir<(I>>8)&0x1f>/
 *                    finalized replicas: blk_<I>, blk_<I>_<G>.meta, and
 *                    blk_<I>_<G>.bad (empty) beside one flagged bad
 *                    (bs_mark_bad)
 *   corrupt/         files found bad at open, moved aside for an operator
 *
 * (I = block id, G = generation stamp, both decimal.)  The .meta format is
 * libdfs/common/metafile.h's (the short-circuit client reads it too).
 *
 * Failed dirs (HDFS's failed volumes).  The dirs themselves -- locks,
 * VERSION, space, health -- are volume.h's.  A dir fails when a write,
 * create, fsync, rename or unlink in it returns a disk error (EIO, EROFS,
 * EACCES, EPERM, ...; never ENOSPC: a full disk fails that replica only),
 * when bs_check_dirs' probe finds it broken, or (bs_open_tolerant) when it
 * cannot be used at start.  Then, at once: its replicas leave the map (each
 * reported to the bs_on_replica_lost hook; their .bad files stay on the
 * disk beside them, so a replica flagged bad is flagged again when a later
 * open finds the dir usable), new replicas go to the other dirs, writers
 * in it fail their next call with -EIO (that replica only), and bs_space
 * stops counting it; one ERROR line names the dir, the failed call and the
 * errno; the bs_on_dir_failed hook decides whether the datanode goes on.
 * A failed dir stays failed until bs_close.
 *
 * Conventions:
 *  - struct bs, struct bs_writer are opaque; bs_open/bs_close and
 *    bs_writer_create/(bs_writer_finalize | bs_writer_abort) pair up.
 *  - Functions that take `char *err, size_t errsz` write a one-line message
 *    (naming the path and the system error) there on failure; err may be
 *    NULL.  Others return -errno.
 *  - Thread-safety: every function may be called from any thread.  The
 *    in-memory maps sit behind one mutex; disk I/O is done outside it.  One
 *    writer (or replica) must not be used by two threads at once, except
 *    bs_writer_bytes, which may be called concurrently with writes.
 *  - The store never prints; it logs through libdfs/log.h.
 */
#ifndef DFS_BLOCKSTORE_H
#define DFS_BLOCKSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "metafile.h"        /* the .meta format */

struct bs;
struct bs_writer;

/* An open replica: finalized (bs_open_replica), or the first `length`
 * bytes of one being written (bs_open_rbw).  Read data with
 * pread/sendfile on data_fd; read checksums with bs_read_sums.
 * length/genstamp/chunk_size are those of the replica when it was opened.
 * tail_*: private to the store (bs_open_rbw: the checksum of a partial
 * last chunk, computed from its first length % chunk_size bytes, since the
 * stored one may cover more bytes being written). */
struct bs_replica {
    int data_fd, meta_fd;
    uint64_t length, genstamp;
    uint32_t chunk_size;
    int tail_set;
    uint64_t tail_chunk;
    uint8_t tail_sum[8];
};

/* Open a store over dirs[0..ndirs) (1 <= ndirs <= 65535), creating any dir
 * and its rbw/ and finalized/ as needed, locking each dir and probing it
 * (a dir open in another store, in this process or another, is an error;
 * so is any dir that cannot be used: see bs_open_tolerant).
 * Storage id: taken from any dir's VERSION (two dirs that disagree are an
 * error naming both; a malformed VERSION is an error); when no dir has one a
 * new random id is made from /dev/urandom.  Every dir without a VERSION gets
 * one (tmp file + fsync + rename + fsync of the dir).
 * Then every finalized/ tree is scanned into the map; a replica whose data
 * or meta file is missing, whose meta header is bad, whose meta size does
 * not match its data length, that sits in the wrong subdir, or that is
 * duplicated (the lower generation stamp loses; of two equal ones, one
 * flagged bad loses to a sound one) is logged and moved into
 * <dir>/corrupt/.  A replica kept with its blk_<I>_<G>.bad beside it is
 * flagged bad (bs_is_bad); a .bad file of no replica kept there is
 * removed (logged).  Complete pairs in rbw/ with a good meta header are
 * kept as PARKED replicas (see "Replicas being written" below; their
 * visible length is their verified length, bs_verified_len), lone or bad
 * ones are moved aside (a .bad file there is removed).
 * `reserved`: bytes per dir kept free for non-dfs use (see bs_space).
 * Returns the store (free with bs_close) or NULL with a message.
 * Blocks on disk I/O for as long as the scan takes. */
struct bs *bs_open(const char *const *dirs, size_t ndirs, uint64_t reserved,
                   char *err, size_t errsz);
/* bs_open, except that a dir that cannot be used -- created, locked,
 * probed, its VERSION read or written, its finalized/ or rbw/ scanned -- is
 * logged and left out as FAILED (bs_failed_dirs) instead of being an
 * error.  NULL with a message when no dir is usable, and for the errors
 * that no dir is to blame for (bad arguments, VERSION files that disagree
 * or are malformed, out of memory). */
struct bs *bs_open_tolerant(const char *const *dirs, size_t ndirs, uint64_t reserved,
                            char *err, size_t errsz);
/* Unlock the dirs and free the store.  Every writer must have been
 * finalized or aborted first; open replicas stay valid (they own their
 * fds) but must not be passed to the store any more.  NULL is a no-op. */
void bs_close(struct bs *bs);

/* pread() until len bytes, end of file or an error (EINTR retried): the
 * bytes read (fewer than len only at end of file) or -errno. */
ssize_t bs_pread_all(int fd, void *buf, size_t len, uint64_t off);
/* "DS-<32 hex>"; valid until bs_close. */
const char *bs_storage_id(const struct bs *bs);

/* Start receiving replica `id` with generation stamp `gs`, in the data dir
 * with the most free space (statvfs f_bavail * f_frsize minus reserved).
 * Creates rbw/blk_<id> and rbw/blk_<id>_<gs>.meta (header written).
 * Returns NULL with a message and errno set: EINVAL for id 0 or a chunk
 * size that is not dfs_chunk_size_valid; EEXIST when the id exists finalized
 * ("replica blk_I already exists"), is being written, or is parked in
 * rbw/; EBUSY while it is being deleted; ENOSPC when no usable dir has
 * room; EIO when every dir failed; else the errno of the failed call.  A
 * dir that fails on the create with a disk error is failed and the next
 * best dir is tried.  Blocks on file creation. */
struct bs_writer *bs_writer_create(struct bs *bs, uint64_t id, uint64_t gs,
                                   uint32_t chunk_size, char *err, size_t errsz);
/* Write len bytes at `offset` and their nsums = dfs_nchunks(len) big-endian
 * checksums (stored as given: the caller has verified them).  offset must be
 * chunk-aligned and leave no gap: offset <= bytes written so far, rounded
 * down to a chunk (so the last short chunk may be rewritten, longer).
 * Safe to call from a worker thread.  Returns 0, -EINVAL for a bad offset,
 * length or nsums, -EIO once w's dir has failed, or the -errno of the
 * failed write (-ENOSPC when the disk is full). */
int bs_writer_write(struct bs_writer *w, uint64_t offset, const void *data, size_t len,
                    const uint8_t *sums_be, size_t nsums);
/* fdatasync the data and meta files (and, the first time, the rbw dir so
 * the files themselves survive a crash): what was written is durable.
 * Returns 0 or -errno (-EIO once w's dir has failed).  Blocks on the disk. */
int bs_writer_sync(struct bs_writer *w);
/* Make the replica final with `length` bytes (<= bs_writer_bytes): truncate
 * data to length and meta to 32 + 8 * nchunks(length) -- when the cut falls
 * inside a written chunk, that chunk is verified and its checksum
 * recomputed -- fsync both, rename both into finalized/ (creating subdirs),
 * fsync both dirs, then add the replica to the map.  Always consumes w: on
 * failure the replica is discarded as by bs_writer_abort and the reason is
 * logged.  Returns 0, -EINVAL when length > bytes written, -EIO when the
 * chunk to cut is corrupt or w's dir has failed (before the replica joined
 * the map), else -errno.  Blocks on fsync. */
int bs_writer_finalize(struct bs_writer *w, uint64_t length);
/* Discard the replica: unlink its rbw files, free w.  NULL is a no-op. */
void bs_writer_abort(struct bs_writer *w);
/* Bytes written so far: the highest offset + len of any write. */
uint64_t bs_writer_bytes(const struct bs_writer *w);

/* Open finalized replica `id`, which must have generation stamp `gs`.
 * Fills *r (the caller owns its fds: bs_close_replica).  Returns 0, or
 * -ENOENT ("replica blk_I not found"), -ESTALE ("stale generation stamp"),
 * or -errno of open(2), with a message; *r then holds no fds. */
int bs_open_replica(struct bs *bs, uint64_t id, uint64_t gs, struct bs_replica *r,
                    char *err, size_t errsz);
/* Read the big-endian checksums of chunks [first_chunk, first_chunk + n)
 * into out_be (8 * n bytes).  Returns 0, -EINVAL when the range passes the
 * replica's last chunk, -EIO when the meta file is short, or -errno. */
int bs_read_sums(const struct bs_replica *r, uint64_t first_chunk, size_t n, uint8_t *out_be);
/* Close the replica's fds (idempotent). */
void bs_close_replica(struct bs_replica *r);

/* Delete replica `id`: a finalized one, or a parked one in rbw/.  The map entry
 * is dropped and the files unlinked -- data, meta, then the .bad file of
 * one flagged bad -- (outside the lock; the id cannot be re-created
 * meanwhile).  Returns 0, -ENOENT when there is no such replica,
 * -EBUSY when it is being written, or -errno of a failed unlink (the
 * replica is gone from the map all the same). */
int bs_delete(struct bs *bs, uint64_t id);
/* bs_delete, only while the replica's generation stamp is at most max_gs
 * (checked under the lock, so a replica reopened or recovered under a
 * newer one meanwhile is kept): -ESTALE then. */
int bs_delete_upto(struct bs *bs, uint64_t id, uint64_t max_gs);
/* Flag finalized replica (id, gs) bad (found corrupt: it stays readable
 * and is kept until bs_delete) and make that survive a restart: create
 * the empty blk_<id>_<gs>.bad beside it, then fsync its dir.  Idempotent.
 * Returns 0; -ENOENT ("replica blk_I not found") or -ESTALE (its
 * generation stamp is not gs) with a message, nothing flagged; or the
 * -errno of the create, close or fsync with a message: flagged in memory
 * only (a disk error also fails the dir, and the replica leaves the map
 * with it).  Blocks on the fsync. */
int bs_mark_bad(struct bs *bs, uint64_t id, uint64_t gs, char *err, size_t errsz);
/* 1 when finalized replica `id` is flagged bad (bs_mark_bad, or its .bad
 * file found at open), else 0. */
int bs_is_bad(struct bs *bs, uint64_t id);
/* Re-read the whole finalized replica `id` and check its meta header, both
 * file sizes and every chunk.  Returns 0 when sound, 1 when corrupt (message
 * names the chunk index, or the file and what is wrong with it), -1 on
 * another error such as "not found" (message).  Blocks while it reads. */
int bs_verify(struct bs *bs, uint64_t id, char *err, size_t errsz);
/* The two steps of bs_verify, for a caller that verifies a replica in
 * pieces (the block scanner paces its reads between them):
 * bs_check_replica checks an open replica's files without reading its data
 * -- the meta header (chunk size as opened) and both file sizes against
 * r->length.  Returns 0 when sound, 1 when not (message: what is wrong),
 * -1 when fstat fails (message). */
int bs_check_replica(const struct bs_replica *r, uint64_t id, char *err, size_t errsz);
/* Re-read chunks [first, first + n) of an open replica -- data into buf
 * (n * r->chunk_size bytes), checksums into sums (8 * n bytes) -- and
 * compare them.  Returns 0 when every chunk matches; 1 when corrupt, with
 * *bad the bad chunk's index (the range's first when it could not be read:
 * a read error or a short file counts as corruption) and a message naming
 * the chunk; -1 when the range passes the last chunk.  Blocks while it
 * reads. */
int bs_verify_chunks(const struct bs_replica *r, uint64_t id, uint64_t first, size_t n,
                     void *buf, uint8_t *sums, uint64_t *bad, char *err, size_t errsz);
/* The data file path of finalized replica `id` into data[datasz] (for log
 * messages): 0, or -ENOENT when there is none. */
int bs_replica_path(struct bs *bs, uint64_t id, char *data, size_t datasz);
/* 1 and *gs, *len (either may be NULL) when `id` is finalized, else 0. */
int bs_lookup(struct bs *bs, uint64_t id, uint64_t *gs, uint64_t *len);
/* Call cb for every finalized replica, holding the store's lock: cb must be
 * quick and must not call into the store.  A nonzero return from cb stops
 * the walk and is returned; else 0. */
int bs_foreach(struct bs *bs, int (*cb)(uint64_t id, uint64_t gs, uint64_t len, void *arg),
               void *arg);
/* Same for every replica in rbw/, parked or being written (len = the
 * bytes in its data file, or written so far). */
int bs_foreach_rbw(struct bs *bs, int (*cb)(uint64_t id, uint64_t gs, uint64_t len, void *arg),
                   void *arg);
/* capacity, remaining: summed over the usable dirs from statvfs (remaining
 * = f_bavail * f_frsize minus reserved, at least 0, per dir; two dirs on
 * one file system count twice).  used: data + meta bytes of the finalized
 * replicas.  Any pointer may be NULL. */
void bs_space(struct bs *bs, uint64_t *capacity, uint64_t *used, uint64_t *remaining);
/* Number of finalized replicas. */
size_t bs_count(struct bs *bs);

/* Probe every usable dir (vol_probe: stat, then create, write, fdatasync
 * and unlink a small file) and fail those that do not pass.  Returns the
 * number of dirs this call failed.  Blocks on the disks: run it off the
 * event loop, every datanode.volume_check_ms. */
size_t bs_check_dirs(struct bs *bs);
/* Number of failed dirs; *ndirs (may be NULL): number of dirs. */
size_t bs_failed_dirs(struct bs *bs, size_t *ndirs);

/* Hooks called when a dir fails, on the thread that found the failure (an
 * io thread, the volume checker, the deleter), after the dir's replicas
 * left the map: first replica_lost for each of them, then dir_failed with
 * the dir, the errno (0 when the reason was not a system error: see the
 * log line) and the failed and total dir counts.  Called under an internal
 * lock that the setters and every dir failure take: a hook must be quick
 * and may call only the store's queries (bs_lookup, bs_count, bs_space,
 * bs_failed_dirs, bs_storage_id).  The setters may be called from any
 * thread at any time (not from a hook); fn NULL clears a hook. */
typedef void (*bs_replica_lost_fn)(void *arg, uint64_t id, uint64_t gs, uint64_t len);
typedef void (*bs_dir_failed_fn)(void *arg, const char *dir, int err, size_t nfailed,
                                 size_t ndirs);
void bs_on_replica_lost(struct bs *bs, bs_replica_lost_fn fn, void *arg);
/* Hook called whenever finalized replica `id` stops being readable as it
 * was: after the store has changed its entry (it left the finalized map,
 * or was flagged bad) and before any of its files is unlinked, renamed,
 * cut or written -- bs_delete*, bs_mark_bad, bs_writer_append,
 * bs_writer_recover and bs_recover_finalize of a finalized replica, and a
 * failed dir (for each replica it held).  The short-circuit server uses it
 * to invalidate the descriptors it passed out.  Called on the caller's
 * thread under the hook lock, with no store lock held: it must be quick
 * and must not call into the store.  Set it before the store is shared
 * (fn NULL clears it). */
typedef void (*bs_replica_changed_fn)(void *arg, uint64_t id);
void bs_on_replica_changed(struct bs *bs, bs_replica_changed_fn fn, void *arg);
void bs_on_dir_failed(struct bs *bs, bs_dir_failed_fn fn, void *arg);

/* ---- Replicas being written (RBW; bs_rbw.c) ----------------------------
 *
 * A replica in rbw/ is WRITING (a bs_writer owns it) or PARKED (files
 * closed, kept with its bytes, generation stamp and chunk size: its writer
 * went away, or it was found at open).  Each has an acked length, its
 * visible length: for a WRITING one the highest bs_writer_set_acked; for a
 * PARKED one its verified length (bs_verified_len).  Parked replicas are
 * reopened by pipeline recovery (bs_writer_recover), finalized by block
 * recovery (bs_recover_finalize), or deleted (bs_delete).  Each call below
 * that changes files keeps the replica whole across a crash at any point
 * (truncate and checksum fix first, fsynced, then renames, then the dir
 * fsync), except that a crash in the middle of moving a replica between
 * finalized/ and rbw/ leaves lone files moved aside at the next open. */

/* What bs_replica_info tells. */
enum bs_rstate { BS_FINALIZED = 1, BS_RBW_WRITING, BS_RBW_PARKED };
struct bs_rinfo {
    enum bs_rstate state;
    uint64_t gs;
    uint64_t bytes;           /* data bytes (written so far, for WRITING) */
    uint64_t visible;         /* FINALIZED: bytes; RBW: the acked length */
    uint32_t chunk;
};
/* Describe replica `id`: 0 and *ri, or -ENOENT (none, or being deleted). */
int bs_replica_info(struct bs *bs, uint64_t id, struct bs_rinfo *ri);

/* Record that bytes [0, acked) of w's replica were acknowledged upstream:
 * its visible length (never lowered).  Any thread, concurrently with
 * writes. */
void bs_writer_set_acked(struct bs_writer *w, uint64_t acked);
uint64_t bs_writer_acked(const struct bs_writer *w);

/* Park w's replica: close its files and keep it in rbw/ as PARKED with
 * the bytes written, its visible length = its verified length (the last
 * chunk is read and checked).  Always consumes w.  Returns 0, or -EIO when
 * w's dir has failed (the replica is gone with the dir: its files are
 * left there, the entry dropped).  Blocks on one chunk's read. */
int bs_writer_park(struct bs_writer *w);

/* Pipeline recovery (WS_RECOVER): reopen replica `id` for writing under
 * generation stamp gs, cut to len bytes.  The replica must be PARKED with
 * a generation stamp <= gs, chunk size `chunk` and at least len verified
 * bytes; or FINALIZED with generation stamp <= gs and at least len bytes
 * (the old pipeline had finished it -- maybe after the client's last ack
 * went missing, when it holds more than len: it moves back to rbw/ and is
 * cut).  The cut
 * truncates data and meta, recomputing the checksum of a partial last
 * chunk (after checking that chunk as stored), fsyncs both, renames the
 * meta to gs and fsyncs rbw/.  The writer's bytes and acked length are
 * len.  NULL with a message and errno: EBUSY while another writer has it
 * (preempt it: bs_writer_park, then retry) or it is being deleted; ENOENT
 * none; ESTALE its generation stamp is above gs; EINVAL other chunk size,
 * too few bytes, or flagged bad; EIO a corrupt chunk at the cut (the
 * replica is discarded) or a failed dir; else the errno of a failed call
 * (an open failure leaves the replica parked, a later one discards it).
 * Blocks on the disk. */
struct bs_writer *bs_writer_recover(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                                    uint32_t chunk, char *err, size_t errsz);
/* Append (WS_APPEND): reopen FINALIZED replica (id, old_gs), which must
 * hold exactly len bytes in chunks of `chunk`, for writing under gs: its
 * files move back to rbw/ (meta renamed to gs), rbw/ and its finalized
 * subdir fsynced; it leaves the finalized map (and bs_space's used).
 * NULL with a message and errno: ENOENT none finalized (EBUSY: being
 * written or deleted); ESTALE another generation stamp; EINVAL another
 * length or chunk size, or flagged bad; else the errno of a failed call
 * (the replica is discarded). Blocks on the disk. */
struct bs_writer *bs_writer_append(struct bs *bs, uint64_t id, uint64_t old_gs, uint64_t gs,
                                   uint64_t len, uint32_t chunk, char *err, size_t errsz);

/* Open the first len bytes of replica `id` for reading (UINT64_MAX: its
 * visible length): an RBW one (WRITING or PARKED; the bytes below its
 * visible length are stable) or else a FINALIZED one.  gs_upto 0: its
 * generation stamp must be gs; else any <= gs.  len must be at most the
 * visible length.  Fills *r (r->length = len; a partial last chunk's
 * checksum is computed from the bytes, see struct bs_replica).  Returns 0,
 * or -ENOENT, -ESTALE (other genstamp), -EINVAL (len too long) or -errno,
 * with a message.  Blocks on one chunk's read. */
int bs_open_rbw(struct bs *bs, uint64_t id, uint64_t gs, int gs_upto, uint64_t len,
                struct bs_replica *r, char *err, size_t errsz);

/* Block recovery (FinishRecoveryReq): make replica `id` FINALIZED with
 * len bytes under generation stamp gs.  A PARKED one (generation stamp
 * <= gs, at least len verified bytes) is cut, renamed and finalized
 * (bs_writer_recover + bs_writer_finalize); a FINALIZED one of exactly len
 * bytes with generation stamp <= gs gets its meta renamed to gs (fsynced);
 * a FINALIZED one of another length is refused (-EINVAL).  Returns 0, or
 * -EBUSY (being written: preempt it first), -ENOENT, -ESTALE (generation
 * stamp above gs), -EINVAL, -EIO or -errno, with a message.  Blocks on
 * the disk. */
int bs_recover_finalize(struct bs *bs, uint64_t id, uint64_t gs, uint64_t len,
                        char *err, size_t errsz);

#endif
