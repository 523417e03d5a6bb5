/*
 * volume.h - the datanode's data dirs ("volumes", as HDFS calls them):
 * their paths, locks and VERSION files, the storage id they share, the
 * space on their disks, the choice of a dir for a new replica, and their
 * health.
 *
 * A dir is USABLE or FAILED.  It is failed at open when it cannot be
 * created, locked, probed, or its VERSION read or written; later when the
 * periodic probe (vol_probe) finds it broken, or when the block store gets
 * a disk error (vol_disk_error) from a write, create, fsync, rename or
 * unlink in it and calls vol_fail.  A failed dir stays failed until the
 * set is closed: no new replica goes there and its space is not counted.
 * Its lock and descriptors are kept until vol_close.
 *
 * What lies inside a dir besides VERSION, in_use.lock and the probe's
 * scratch file is the block store's (blockstore.h); this module only
 * creates rbw/ and finalized/.
 *
 * Conventions:
 *  - Threads: vol_open and vol_close run with no other call on the set;
 *    every other function may be called from any thread.  Paths and
 *    descriptors never change while the set is open; a dir's state changes
 *    once (USABLE -> FAILED) and is read atomically.
 *  - Functions taking `char *err, size_t errsz` write a one-line message
 *    there on failure (err may be NULL); others return -errno.
 *  - Never prints; logs through libdfs/log.h.
 */
#ifndef DN_VOLUME_H
#define DN_VOLUME_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define VOL_STORAGE_ID_LEN 35           /* "DS-" + 32 hex */
#define VOL_LAYOUT         1            /* layout= in VERSION */
#define VOL_WHY_MAX        (PATH_MAX + 128)     /* bytes of a failure reason */

struct vol_set;

/* Open the set over dirs[0..n) (1 <= n <= 65535).  Every dir is created as
 * needed, with rbw/ and finalized/, locked (flock on in_use.lock, opened
 * read-only so that its file system can still be remounted read-only) and
 * probed (vol_probe).  A dir where any of that fails is logged and marked
 * FAILED; the set opens without it.
 * Storage id: taken from the VERSION of any usable dir (two that disagree
 * are an error naming both; a malformed VERSION is an error; one that
 * cannot be read fails its dir); when none has one a new random id is made
 * from /dev/urandom.  Every usable dir without a VERSION gets one (tmp file
 * + fsync + rename + fsync of the dir; a dir where that fails is FAILED).
 * `reserved`: bytes per dir kept free for non-dfs use (vol_pick,
 * vol_space).
 * Returns the set, or NULL with a message when n is out of range, a path
 * is empty or too long, on the VERSION errors above, when no dir is usable
 * (the message gives the first dir's reason) or when out of memory.
 * Blocks on disk I/O. */
struct vol_set *vol_open(const char *const *dirs, size_t n, uint64_t reserved,
                         char *err, size_t errsz);
/* Unlock the dirs, close their descriptors, free the set.  NULL: no-op. */
void vol_close(struct vol_set *vs);

/* Number of dirs (usable or not), fixed at open. */
size_t vol_count(const struct vol_set *vs);
/* Path of dir d as given to vol_open; valid until vol_close. */
const char *vol_path(const struct vol_set *vs, size_t d);
/* Descriptor of d's rbw/ (for fsync), -1 when d failed at open. */
int vol_rbw_fd(const struct vol_set *vs, size_t d);
/* "DS-<32 hex>"; valid until vol_close. */
const char *vol_storage_id(const struct vol_set *vs);

/* 1 while dir d is usable, 0 once it failed. */
int vol_usable(const struct vol_set *vs, size_t d);
/* Number of failed dirs. */
size_t vol_failed(const struct vol_set *vs);
/* Why dir d failed ("open /d/rbw/blk_1: Input/output error"), "" while it
 * is usable.  Valid until vol_close. */
const char *vol_failure(const struct vol_set *vs, size_t d);
/* Mark dir d FAILED because `what` (the call and the path) failed with
 * errno e.  Returns 1 when this call failed it, 0 when it had failed
 * already (the first reason stays).  Logs nothing: the caller does, once
 * it has dropped the dir's replicas. */
int vol_fail(struct vol_set *vs, size_t d, int e, const char *what);

/* Check dir d the way a write would use it: stat the dir, its rbw/ and
 * finalized/ (each must be a directory), then create, write (4 KiB),
 * fdatasync, close and unlink a scratch file in it.  Returns 0 when all of
 * that worked -- a full disk (ENOSPC, EDQUOT) counts as working -- or
 * -errno with the call and path that failed in `what`.  Does not change
 * d's state.  Blocks on the disk. */
int vol_probe(struct vol_set *vs, size_t d, char *what, size_t whatsz);
/* 1 when errno e from a write, create, fsync, rename or unlink in a data
 * dir means the disk or its file system is broken (EIO, EROFS, EACCES,
 * EPERM, ENODEV, ENXIO, EUCLEAN), else 0 -- in particular for ENOSPC and
 * EDQUOT: a full disk fails one replica, never its dir. */
int vol_disk_error(int e);

/* The usable dir with the most free space (statvfs f_bavail * f_frsize
 * minus reserved), with that space in *avail; -1 (*avail 0) when no usable
 * dir has any. */
long vol_pick(struct vol_set *vs, uint64_t *avail);
/* capacity and remaining summed over the usable dirs from statvfs
 * (remaining as in vol_pick, per dir; two dirs on one file system count
 * twice).  Either pointer may be NULL. */
void vol_space(struct vol_set *vs, uint64_t *capacity, uint64_t *remaining);

/* fsync a directory by path.  0 or -errno. */
int vol_fsync_dir(const char *path);
/* mkdir path (0755), fsyncing `parent` when it was created; an existing
 * path is fine.  0 or -errno. */
int vol_mkdir_durable(const char *path, const char *parent);

#endif
