/*
 * lease.h - the namenode's leases: which client writes which files, and
 * when it was last heard from.
 *
 * One lease per client name (dfs_fs's client name), covering every file
 * that client has under construction (by inode).  A lease is renewed by
 * the client's RenewLeaseReq and by any of its write calls; it exists
 * while it covers a file (a lease whose last file leaves is dropped).
 * Past the soft limit another client may take a file over (after lease
 * recovery); past the hard limit the namenode recovers the files itself.
 * Files the namenode is recovering belong to no lease (the recovery
 * driver tracks them, nn_recovery.h).
 *
 * Pure bookkeeping: times are passed in (dfs_mono_ms()), nothing here
 * touches the namespace.  Leases are soft state, rebuilt at start from
 * the namespace's files under construction, each renewed "now".  Runs on
 * the namenode's event loop thread only.
 */
#ifndef NN_LEASE_H
#define NN_LEASE_H

#include <stddef.h>
#include <stdint.h>

struct leases;

/* No leases.  Never NULL (aborts on OOM, like every namenode allocation). */
struct leases *lease_new(void);
/* Free every lease (NULL is fine). */
void lease_free(struct leases *ls);

/* File `inode` joins client's lease (made when missing), which is renewed
 * at now; it leaves the lease it was in. */
void lease_add(struct leases *ls, const char *client, uint64_t inode, uint64_t now);
/* File `inode` leaves its lease (closed, deleted, taken by recovery); a
 * lease left without files is dropped.  Nothing when it has none. */
void lease_remove(struct leases *ls, uint64_t inode);
/* Renew client's lease at now: 1, or 0 when client holds no lease. */
int lease_renew(struct leases *ls, const char *client, uint64_t now);

/* The client holding file inode's lease (owned by ls: valid until that
 * lease changes), or NULL. */
const char *lease_holder(const struct leases *ls, uint64_t inode);
/* When client's lease was last renewed into *renewed: 1, or 0 when it
 * holds no lease. */
int lease_renewed(const struct leases *ls, const char *client, uint64_t *renewed);
/* 1 when client holds a lease renewed less than soft_ms before now (it
 * keeps its files from other clients); 0 when past it or when it holds
 * none. */
int lease_live(const struct leases *ls, const char *client, uint64_t now, uint64_t soft_ms);

/* The files of every lease not renewed for hard_ms or more at now, into
 * *inodes (malloc'd, free() it; NULL when none): their number.  The
 * leases are not changed: the caller removes the files it takes. */
size_t lease_expired(const struct leases *ls, uint64_t now, uint64_t hard_ms,
                     uint64_t **inodes);

/* Leases and the files they cover. */
void lease_counts(const struct leases *ls, size_t *leases, size_t *files);

#endif
