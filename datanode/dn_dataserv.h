/*
 * dn_dataserv.h - the datanode's transfer server: block writes (the
 * pipeline, with its stages: create, pipeline recovery, append, transfer),
 * block reads (of finalized replicas, and of replicas being written up to
 * their visible length), replica checksums and info, transfers of a
 * replica being written to a replacement datanode, and the two steps of
 * block recovery, for clients and for other datanodes.  The wire protocol
 * is docs/protocol.md.
 *
 * A write session whose upstream goes away before LAST, or that fails
 * for a reason other than its own replica (downstream lost or silent,
 * timeout, malformed stream), parks its replica (blockstore.h); only a
 * replica that failed here (checksum mismatch, disk error) is discarded.
 *
 * Everything here runs on the event loop's thread; disk work goes to the
 * io pool (iopool.h).  See dn_dataserv.c for the connection state machine.
 */
#ifndef DN_DATASERV_H
#define DN_DATASERV_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event.h>

struct bs;
struct iop;
struct dn_dataserv;

struct dn_dataserv_cfg {
    const char *address;          /* "HOST:PORT" to listen on (numeric host; port 0: any) */
    size_t max_buffer;            /* per connection: downstream output / queued disk bytes */
    unsigned max_conns;           /* connections served at once (listener.h) */
    uint32_t ack_timeout_ms;      /* datanode.ack_timeout_ms (0: 15000): a downstream
                                   * silent this long (+5000 per further downstream
                                   * node) is failed with ERR_TIMEOUT in the ack */
    struct bs *bs;
    struct iop *iop;
};

/* Listen on cfg->address (listener.h: the connection cap and accept
 * pauses).  NULL with a message in err when the address is invalid or
 * cannot be bound. */
struct dn_dataserv *dn_dataserv_new(struct event_base *base, const struct dn_dataserv_cfg *cfg,
                                    char *err, size_t errsz);
/* Stop listening, close every connection (replicas being written are
 * aborted), wait for their disk jobs (iop_drain) and free the server.
 * Call with the loop not dispatching.  NULL is a no-op. */
void dn_dataserv_free(struct dn_dataserv *ds);

/* The address actually bound: host as configured, port as bound (useful
 * when the configured port is 0). */
const char *dn_dataserv_host(const struct dn_dataserv *ds);
unsigned dn_dataserv_port(const struct dn_dataserv *ds);

/* Called on the loop's thread whenever a replica has been finalized
 * (written with the LAST packet and renamed into finalized/).  The hook
 * may be changed or cleared (fn NULL) at any time on the loop's thread. */
typedef void (*dn_block_added_fn)(void *arg, uint64_t id, uint64_t gs, uint64_t len);
void dn_dataserv_set_reporter(struct dn_dataserv *ds, dn_block_added_fn fn, void *arg);

/* Active transfers (writes being set up or streamed, reads, checksums).
 * Thread-safe: read by the namenode link for heartbeats. */
unsigned dn_dataserv_load(const struct dn_dataserv *ds);

/* fsyncs of replicas done for DFS_PKT_SYNC (hsync) since the server
 * started.  Thread-safe: read by the namenode link for heartbeats. */
uint64_t dn_dataserv_fsyncs(const struct dn_dataserv *ds);

/* Block data bytes sent for READBLOCK since the server started, to peers
 * whose address is the one they reached us at (*local: a client on this
 * host) and to any other (*remote).  Counted as each packet is queued on
 * its connection.  Thread-safe: read by the namenode link for heartbeats. */
void dn_dataserv_bytes_read(const struct dn_dataserv *ds, uint64_t *local, uint64_t *remote);

#endif
