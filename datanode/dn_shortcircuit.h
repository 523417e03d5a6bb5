/*
 * dn_shortcircuit.h - the datanode's short-circuit socket: clients on this
 * host get open descriptors of finalized replicas and read the files
 * themselves (HDFS's short-circuit local reads).
 *
 * The server listens on a UNIX SOCK_SEQPACKET socket (datanode.domain_socket)
 * on the datanode's event loop.  Each connection gets one shared-memory
 * segment of DFS_SC_SLOTS slots (libdfs/common/scslot.h), passed with its
 * first grant.  ScOpenReq opens the replica on the io pool (bs_open_replica:
 * finalized, that exact generation stamp, not flagged bad) and answers with
 * its data and meta descriptors and a slot marked VALID; ScReleaseReq frees
 * a slot.  The protocol is in proto/dfs.proto (ScOpenReq).
 *
 * Staleness: the block store calls dn_sc_invalidate (through its
 * bs_on_replica_changed hook) before a finalized replica's files are
 * deleted, moved, cut or grown, and when it is flagged bad; every slot of
 * that block turns INVALID, and the client reads through a slot only while
 * it is VALID.  A connection that closes (the client went away, or sent a
 * malformed frame: that connection only is closed) turns its slots
 * INVALID before the segment is unmapped.
 *
 * Bounds: DFS_SC_SLOTS slots per connection (ERR_BUSY beyond),
 * DN_SC_MAX_CONNS connections (one more is closed when accepted).
 *
 * Threads: dn_sc_new and dn_sc_free on the loop's thread (dn_sc_free with
 * the loop not dispatching: it drains the io pool); dn_sc_invalidate and
 * dn_sc_bytes_read from any thread.
 */
#ifndef DN_SHORTCIRCUIT_H
#define DN_SHORTCIRCUIT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

#define DN_SC_MAX_CONNS 1024

struct bs;
struct iop;
struct dn_sc;

/* Listen on `path` (absolute, < 108 bytes; an old socket file there that
 * nobody listens on is replaced; a live socket or anything else there is
 * an error) and serve grants of bs's
 * replicas, opening them on iop.  Returns the server, or NULL with a
 * message naming the path and the system error. */
struct dn_sc *dn_sc_new(struct event_base *base, const char *path, struct bs *bs,
                        struct iop *iop, char *err, size_t errsz);
/* Close every connection (their slots turn INVALID first), the listener,
 * and remove the socket file.  NULL is a no-op. */
void dn_sc_free(struct dn_sc *sc);
/* Mark every slot that grants block `id` INVALID.  Any thread; quick (one
 * mutex); never calls into the block store. */
void dn_sc_invalidate(struct dn_sc *sc, uint64_t id);
/* Bytes clients read through short-circuit descriptors since the start:
 * the bytes_read of every slot in use plus those of every slot released
 * or closed.  Any thread. */
uint64_t dn_sc_bytes_read(struct dn_sc *sc);
/* Grants made and connections served since the start (for tests and
 * logs).  Any thread. */
uint64_t dn_sc_grants(struct dn_sc *sc);

#endif
