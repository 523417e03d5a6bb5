/*
 * shortcircuit.h - short-circuit local reads (private to libdfs): a client
 * on a datanode's host asks the datanode's UNIX socket for the open data
 * and meta files of a finalized replica and reads them itself with pread,
 * verifying every chunk (protocol: ScOpenReq in proto/dfs.proto; slots:
 * libdfs/common/scslot.h; server: datanode/dn_shortcircuit.c).
 *
 * Per dfs_fs: one connection per datanode socket path (opened when first
 * needed, dropped on any error or when the datanode closes it), the shared
 * slot segment each connection maps, and a cache of granted replicas keyed
 * by (socket path, block id, generation stamp), bounded by
 * client.short_circuit_cache (least recently used replicas are closed and
 * their slots released first).
 *
 * Never stale: a replica is read only while its slot is VALID, checked
 * before and after each pread (data read while the datanode invalidated
 * the slot is dropped, not returned), and only while its connection is
 * open (a datanode that died cannot invalidate any more: its replicas are
 * dropped).
 *
 * Threads: every call is safe from any thread (one mutex per dfs_fs; the
 * preads run outside it).  The socket I/O of a grant runs under the mutex,
 * bounded by client.timeout_ms.
 */
#ifndef DFS_SHORTCIRCUIT_H
#define DFS_SHORTCIRCUIT_H

#include <stddef.h>
#include <stdint.h>

#include "dfs.h"

struct dfs_sc;

/* A reader's buffers for short-circuit reads (bounce buffer for reads
 * that do not start or end on a chunk boundary, and checksums); zeroed
 * to start, freed with dfs_sc_buf_free. */
struct dfs_sc_buf {
    uint8_t *data;
    size_t cap;
    uint8_t *sums;
    size_t scap;
};
void dfs_sc_buf_free(struct dfs_sc_buf *b);

/* The short-circuit state of fs, made at dfs_connect when
 * opts->short_circuit is set (else fs->sc stays NULL).  DFS_OK or
 * DFS_ERR_NOMEM. */
int dfs_sc_init(dfs_fs *fs);
/* Close every replica and connection (NULL fs->sc: nothing to do). */
void dfs_sc_fini(dfs_fs *fs);

/* What dfs_sc_read tells besides bytes read. */
enum dfs_sc_rc {
    DFS_SC_FALLBACK = -1,     /* not available: read over TCP (why says why) */
    DFS_SC_CORRUPT = -2,      /* a checksum mismatch or short replica file:
                               * report it and read another replica */
};

/* Read up to len bytes at offset off of block (id, gs), whose length is
 * blen, from the replica behind the datanode socket `sock`, into buf,
 * verifying every chunk read.  Returns the bytes read (> 0, possibly fewer
 * than len), or DFS_SC_FALLBACK / DFS_SC_CORRUPT with the reason in
 * why[whysz].  *chunk: the replica's chunk size (on success).  Adds the
 * bytes read to the slot's bytes_read (the datanode's statistics). */
int64_t dfs_sc_read(dfs_fs *fs, const char *sock, uint64_t id, uint64_t gs, uint64_t blen,
                    void *buf, size_t len, uint64_t off, struct dfs_sc_buf *b,
                    uint32_t *chunk, char *why, size_t whysz);

#endif
