/*
 * xfer.h - write a stream to a local descriptor from a helper thread, so
 * that get and cat copy the previous piece into the page cache (or a pipe)
 * while the main thread receives and verifies the next one.
 *
 * A bounded ring of buffers sits between the two threads: the main thread
 * fills a buffer (xfer_buf), queues it (xfer_commit), and the helper writes
 * the queued buffers to fd in order.  The main thread makes every libdfs
 * call (the library's error message is per thread); the helper only calls
 * write().  At most nslots buffers of bufsize bytes exist per transfer.
 *
 * With nslots 1, or when no thread can be started, there is no helper:
 * xfer_commit() writes in the calling thread, as a plain loop would.
 *
 * The helper blocks SIGINT, SIGTERM and SIGHUP: they reach the main thread
 * as they did without a helper.  While the helper is blocked on a full pipe
 * the main thread waits for a free buffer; a first signal only sets the
 * shell's flag, as it did when the main thread itself was blocked in
 * write(), and a second one kills.
 */
#ifndef DFS_XFER_H
#define DFS_XFER_H

#include <stddef.h>

#define XFER_MAX_SLOTS 8

struct xfer;

/* Start writing to fd (not owned: the caller closes it, after xfer_end)
 * through nslots (1..XFER_MAX_SLOTS) buffers of bufsize bytes.  Never
 * fails (allocation failure ends the process, like xmalloc).  End it with
 * xfer_end(). */
struct xfer *xfer_start(int fd, unsigned nslots, size_t bufsize);

/* A free buffer of bufsize bytes to fill, waiting for the helper to free
 * one; NULL once a write failed (xfer_end() returns its errno). */
char *xfer_buf(struct xfer *x);

/* Queue the buffer from the last xfer_buf(), holding len bytes, for
 * writing (without a helper: write it now). */
void xfer_commit(struct xfer *x, size_t len);

/* Write every queued buffer, stop the helper and free x.  Returns 0, or
 * the errno of the first failed write (nothing after it is written).
 * Blocks until the queued writes are done. */
int xfer_end(struct xfer *x);

#endif
