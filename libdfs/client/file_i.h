/*
 * file_i.h - the private state of a dfs_file: either a writer (writer.c)
 * or a reader (reader.c).  dfs_close() dispatches on `writing`.
 */
#ifndef DFS_FILE_I_H
#define DFS_FILE_I_H

#include <stdint.h>
#include "dfs.h"
#include "dfs.pb-c.h"
#include "fs_i.h"
#include "path.h"
#include "pktring.h"
#include "shortcircuit.h"
#include "sock.h"

/* One datanode of a writer's pipeline. */
struct pl_node {
    char storage_id[64];
    char host[256];
    unsigned port;
};

/* A datanode a writer leaves out of its pipelines (it failed), until. */
struct pl_exclude {
    char storage_id[64];
    uint64_t until_ms;           /* monotonic */
};

/* One datanode of a block's location list, as the reader tracks it. */
struct rd_loc {
    char host[256];
    unsigned port;
    char storage_id[64];
    int bad;                     /* failed or corrupt for this handle */
    int local;                   /* on this client's host */
    int sc_failed;               /* short-circuit failed here: TCP for this handle */
    char domain_socket[108];     /* its datanode's short-circuit socket; "": none */
};

struct rd_block {
    uint64_t id, genstamp, offset, length;
    int under_construction;      /* last block of a file being written: length
                                  * is the visible length a datanode told */
    size_t nlocs;
    struct rd_loc *locs;
};

struct dfs_file {
    dfs_fs *fs;
    int writing;
    char path[DFS_PATH_MAX + 1];
    uint64_t inode;
    uint64_t pos;                /* reader: position of dfs_read; writer: bytes written */

    /* ---- writer (writer.c: the file; pipeline.c: the current block) ---- */
    unsigned replication, wanted, min_got;
    uint64_t block_size;
    uint32_t chunk_size, packet_size, window;
    uint8_t *pkt;                /* packet being filled: packet_size bytes */
    size_t pkt_len;
    size_t resend;               /* leading bytes of pkt an hflush already sent:
                                  * the block's partial last chunk, which the
                                  * next packet rewrites whole */
    uint8_t *sums;               /* checksums of one packet */
    int have_block;              /* a block pipeline is open */
    uint64_t blk_id, blk_gs;     /* current (or last) block */
    uint64_t blk_bytes;          /* bytes sent into the current block */
    int have_last;               /* blk_* describes a finished last block */
    int have_prev;               /* prev_*: AddBlockReq.previous of the current block */
    uint64_t prev_id, prev_gs, prev_len;
    int blk_reopened;            /* the current block existed before this writer
                                  * (append): recovered, never abandoned */
    struct pl_node *nodes;       /* the current block's pipeline, in order */
    size_t nnodes, nodes_cap;
    struct pktring ring;         /* packets sent and not yet acked */
    struct dfs_sock dn;          /* connection to the first datanode */
    uint64_t next_seq, acked_seq;/* packets [acked_seq, next_seq) of this connection
                                  * are in flight: the ring's front ones */
    unsigned recoveries;         /* pipeline recoveries of the current block */
    uint64_t gs_old[8];          /* its earlier genstamps, oldest first */
    size_t ngs_old;
    char failures[768];          /* "HOST:PORT (reason); ..." failed in this block */
    struct pl_exclude *exclude;  /* datanodes that failed this writer */
    size_t nexclude;
    int failed;                  /* a pipeline error: the file cannot complete */
    int leased;                  /* counted in the handle's lease renewer */
    uint8_t *rbuf;               /* receive buffer for acks */
    size_t rcap;

    /* ---- reader ---- */
    uint64_t length;
    size_t nblocks;
    struct rd_block *blocks;
    struct dfs_sock rs;          /* stream to one datanode (kept alive) */
    char rs_peer[300];           /* "HOST:PORT" rs is connected to */
    size_t rs_loc;               /* which location of rs_block */
    long rs_block;               /* block index of the open stream, -1 none */
    uint64_t rs_pos;             /* block offset of the next unconsumed byte */
    uint64_t rs_end;             /* block offset where the stream ends */
    uint64_t seq_next;           /* file offset right after the last read */
    int rs_done;                 /* LAST packet seen */
    uint32_t rs_chunk;           /* chunk size of the last stream opened */
    uint8_t *rpkt;               /* current packet body */
    size_t rpkt_cap;
    const uint8_t *rdata;        /* its data */
    uint64_t rdata_off;          /* block offset of rdata[0] */
    size_t rdata_len;
    struct dfs_sc_buf scbuf;     /* short-circuit reads' buffers */
    struct dfs_read_stats stats; /* since open or dfs_clear_read_stats() */
    unsigned probe_timeout_ms;   /* per datanode asked for a visible length;
                                  * 0: the options' timeout */
};

/* Longest a dfs_stat() waits for one datanode to tell the visible length
 * of a block being written (at most client.ack_timeout_ms too). */
#define DFS_STAT_PROBE_MAX_MS 5000u

/* A writer's handle for path (normalised here) writing chunk_size-byte
 * chunks, with its buffers and ring; nothing asked of the namenode yet.
 * DFS_OK with *out, or an error (bad path, out of memory). */
int dfs_writer_new(dfs_fs *fs, const char *path, uint32_t chunk_size, dfs_file **out);
/* Free a writer's handle and everything it holds (its pipeline dropped,
 * its hold on the lease renewer released). */
void dfs_writer_free(dfs_file *f);
int dfs_writer_close(dfs_file *f);
int dfs_reader_close(dfs_file *f);
/* The length a reader opening path (normalised) now gets: its length, or
 * for a file being written, up to the visible length of its last block as
 * the first of the block's datanodes that answers tells (asked once, no
 * waiting; each datanode for at most DFS_STAT_PROBE_MAX_MS).  DFS_OK, DFS_ERR_ISDIR, DFS_ERR_UNAVAIL (no datanode of the
 * last block answered), or the namenode's error. */
int dfs_reader_visible_length(dfs_fs *fs, const char *path, uint64_t *len);
/* The partial last chunk of an open reader's file: its last block's chunk
 * size (from a datanode) into *chunk_size and the block's bytes after its
 * last whole chunk into *tail (malloc'ed, caller frees; NULL when none)
 * and *n.  A file without blocks: *chunk_size 0.  DFS_OK or an error. */
int dfs_reader_tail(dfs_file *f, uint8_t **tail, size_t *n, uint32_t *chunk_size);

#endif
