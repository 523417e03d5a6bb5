/*
 * dn_dataserv.h - the datanode's transfer server: block writes (the
 * pipeline), block reads and replica checksums, for clients and for other
 * datanodes.  The wire protocol is docs/protocol.md.
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

#endif
