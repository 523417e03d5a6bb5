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
#include "sock.h"

/* One datanode of a block's location list, as the reader tracks it. */
struct rd_loc {
    char host[256];
    unsigned port;
    char storage_id[64];
    int bad;                     /* failed or corrupt for this handle */
};

struct rd_block {
    uint64_t id, genstamp, offset, length;
    size_t nlocs;
    struct rd_loc *locs;
};

struct dfs_file {
    dfs_fs *fs;
    int writing;
    char path[DFS_PATH_MAX + 1];
    uint64_t inode;
    uint64_t pos;                /* reader: position of dfs_read; writer: bytes written */

    /* ---- writer ---- */
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
    Dfs__LocatedBlock *blk;      /* current block with its pipeline */
    struct dfs_sock dn;          /* connection to the first datanode */
    uint64_t next_seq, acked_seq;/* packets [acked_seq, next_seq) in flight */
    int failed;                  /* a pipeline error: the file cannot complete */
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
    uint8_t *rpkt;               /* current packet body */
    size_t rpkt_cap;
    const uint8_t *rdata;        /* its data */
    uint64_t rdata_off;          /* block offset of rdata[0] */
    size_t rdata_len;
};

int dfs_writer_close(dfs_file *f);
int dfs_reader_close(dfs_file *f);

#endif
