/*
 * frame.h - the frame every dfs connection carries.
 *
 * A frame is a fixed 16-byte header followed by `len` body bytes:
 *
 *   offset size field
 *        0    4 magic    0x44465331 ("DFS1"), big-endian
 *        4    1 version  DFS_FRAME_VERSION
 *        5    1 flags    0 (reserved)
 *        6    2 type     DFS_MSG_*
 *        8    4 reqid    request id; a response repeats its request's id
 *       12    4 len      body length, <= the limit of the receiving side
 *
 * All integers are big-endian.  Control bodies are protobuf messages of
 * proto/dfs.proto; DFS_MSG_PACKET bodies are data packets (below).
 * A decoder rejects a bad magic, an unknown version and a length above its
 * limit before it reads the body: such a connection is closed.
 */
#ifndef DFS_FRAME_H
#define DFS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define DFS_FRAME_MAGIC    0x44465331u
#define DFS_FRAME_VERSION  1
#define DFS_FRAME_HDR_LEN  16

/* Largest control body any side accepts (a list page, a block report). */
#define DFS_FRAME_MAX_CONTROL (16u << 20)
/* Largest data packet body: header + checksums + data. */
#define DFS_FRAME_MAX_PACKET  (8u << 20)

/* Message types.  A response type is its request type | 1; requests are even.
 * Values are fixed forever. */
enum dfs_msg_type {
    DFS_MSG_NONE = 0,
    /* client -> namenode */
    DFS_MSG_MKDIR_REQ = 0x10,         DFS_MSG_MKDIR_RESP,
    DFS_MSG_CREATE_REQ = 0x12,        DFS_MSG_CREATE_RESP,
    DFS_MSG_STAT_REQ = 0x14,          DFS_MSG_STAT_RESP,
    DFS_MSG_LIST_REQ = 0x16,          DFS_MSG_LIST_RESP,
    DFS_MSG_DELETE_REQ = 0x18,        DFS_MSG_DELETE_RESP,
    DFS_MSG_RENAME_REQ = 0x1a,        DFS_MSG_RENAME_RESP,
    DFS_MSG_SETATTR_REQ = 0x1c,       DFS_MSG_SETATTR_RESP,
    DFS_MSG_SUMMARY_REQ = 0x1e,       DFS_MSG_SUMMARY_RESP,
    DFS_MSG_ADDBLOCK_REQ = 0x20,      DFS_MSG_ADDBLOCK_RESP,
    DFS_MSG_ABANDON_REQ = 0x22,       DFS_MSG_ABANDON_RESP,
    DFS_MSG_COMPLETE_REQ = 0x24,      DFS_MSG_COMPLETE_RESP,
    DFS_MSG_LOCATIONS_REQ = 0x26,     DFS_MSG_LOCATIONS_RESP,
    DFS_MSG_BADBLOCK_REQ = 0x28,      DFS_MSG_BADBLOCK_RESP,
    DFS_MSG_REPORT_REQ = 0x2a,        DFS_MSG_REPORT_RESP,
    DFS_MSG_SAFEMODE_REQ = 0x2c,      DFS_MSG_SAFEMODE_RESP,
    DFS_MSG_DECOMMISSION_REQ = 0x2e,  DFS_MSG_DECOMMISSION_RESP,
    DFS_MSG_FSCK_REQ = 0x30,          DFS_MSG_FSCK_RESP,
    DFS_MSG_UPDATE_PIPELINE_REQ = 0x32, DFS_MSG_UPDATE_PIPELINE_RESP,
    DFS_MSG_RENEW_LEASE_REQ = 0x34,   DFS_MSG_RENEW_LEASE_RESP,
    DFS_MSG_APPEND_REQ = 0x36,        DFS_MSG_APPEND_RESP,
    DFS_MSG_RECOVER_LEASE_REQ = 0x38, DFS_MSG_RECOVER_LEASE_RESP,
    DFS_MSG_SERVER_DEFAULTS_REQ = 0x3a, DFS_MSG_SERVER_DEFAULTS_RESP,
    /* datanode -> namenode */
    DFS_MSG_REGISTER_REQ = 0x40,      DFS_MSG_REGISTER_RESP,
    DFS_MSG_HEARTBEAT_REQ = 0x42,     DFS_MSG_HEARTBEAT_RESP,
    DFS_MSG_BLOCKREPORT_REQ = 0x44,   DFS_MSG_BLOCKREPORT_RESP,
    DFS_MSG_COMMIT_SYNC_REQ = 0x46,   DFS_MSG_COMMIT_SYNC_RESP,
    /* client/datanode -> datanode */
    DFS_MSG_WRITEBLOCK_REQ = 0x60,    DFS_MSG_WRITEBLOCK_RESP,
    DFS_MSG_READBLOCK_REQ = 0x62,     DFS_MSG_READBLOCK_RESP,
    DFS_MSG_COPYBLOCK_REQ = 0x64,     DFS_MSG_COPYBLOCK_RESP,
    DFS_MSG_CHECKSUM_REQ = 0x66,      DFS_MSG_CHECKSUM_RESP,
    DFS_MSG_REPLICA_INFO_REQ = 0x68,  DFS_MSG_REPLICA_INFO_RESP,
    DFS_MSG_TRANSFER_REQ = 0x6a,      DFS_MSG_TRANSFER_RESP,
    DFS_MSG_INIT_RECOVERY_REQ = 0x6c, DFS_MSG_INIT_RECOVERY_RESP,
    DFS_MSG_FINISH_RECOVERY_REQ = 0x6e, DFS_MSG_FINISH_RECOVERY_RESP,
    DFS_MSG_PACKET = 0x70,            /* data packet, binary (below) */
    DFS_MSG_PACKET_ACK = 0x72,        /* PacketAck protobuf */
    /* client -> datanode, on its short-circuit UNIX socket */
    DFS_MSG_SC_OPEN_REQ = 0x74,       DFS_MSG_SC_OPEN_RESP,
    DFS_MSG_SC_RELEASE_REQ = 0x76,    /* no answer */
    DFS_MSG_MAX = 0x80
};

struct dfs_frame_hdr {
    uint8_t  version;
    uint8_t  flags;
    uint16_t type;
    uint32_t reqid;
    uint32_t len;
};

/* Result of dfs_frame_decode_hdr(). */
enum dfs_frame_rc {
    DFS_FRAME_OK = 0,
    DFS_FRAME_SHORT = 1,      /* fewer than DFS_FRAME_HDR_LEN bytes: wait */
    DFS_FRAME_BAD_MAGIC = -1,
    DFS_FRAME_BAD_VERSION = -2,
    DFS_FRAME_TOO_LONG = -3,  /* len above the caller's limit */
    DFS_FRAME_BAD_TYPE = -4
};

/* Write the 16-byte header for (type, reqid, len) into out. */
void dfs_frame_encode_hdr(uint8_t out[DFS_FRAME_HDR_LEN], uint16_t type,
                          uint32_t reqid, uint32_t len);

/* Decode a header from the `have` bytes at buf, checking magic, version,
 * type range and len <= max_len.  Fills *h on DFS_FRAME_OK. Never reads
 * past buf + have. */
enum dfs_frame_rc dfs_frame_decode_hdr(const uint8_t *buf, size_t have,
                                       uint32_t max_len,
                                       struct dfs_frame_hdr *h);

/* Text for a dfs_frame_rc, for logs. */
const char *dfs_frame_strerror(enum dfs_frame_rc rc);

/*
 * Data packet (body of DFS_MSG_PACKET):
 *
 *   offset size field
 *        0    8 seq        sequence number in this block stream, from 0
 *        8    8 offset     offset in the block of the first data byte
 *       16    4 data_len   data bytes
 *       20    4 flags      DFS_PKT_*
 *       24    4 chunk_size bytes per checksum chunk
 *       28    4 nsums      number of checksums = ceil(data_len / chunk_size)
 *       32  8*n checksums  XXH3-64 of each chunk, big-endian
 *        .    . data
 *
 * offset is chunk-aligned; every chunk but the last of the packet is whole.
 */
#define DFS_PKT_HDR_LEN 32
#define DFS_PKT_LAST    0x1u   /* last packet of the block (may be empty) */
#define DFS_PKT_SYNC    0x2u   /* datanodes fsync before acking (hsync) */

struct dfs_pkt_hdr {
    uint64_t seq;
    uint64_t offset;
    uint32_t data_len;
    uint32_t flags;
    uint32_t chunk_size;
    uint32_t nsums;
};

/* Encode a packet header into out. */
void dfs_pkt_encode_hdr(uint8_t out[DFS_PKT_HDR_LEN], const struct dfs_pkt_hdr *p);

/* Decode and check a packet header against a body of body_len bytes:
 * chunk_size in [512, 16 MiB] and a power of two, nsums matching data_len,
 * header + 8*nsums + data_len == body_len, offset chunk-aligned.
 * Returns 0 or -1 (malformed). */
int dfs_pkt_decode_hdr(const uint8_t *body, size_t body_len, struct dfs_pkt_hdr *p);

/* Big-endian helpers used by every codec in the tree. */
static inline void dfs_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void dfs_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}
static inline void dfs_put_be64(uint8_t *p, uint64_t v)
{
    dfs_put_be32(p, (uint32_t)(v >> 32));
    dfs_put_be32(p + 4, (uint32_t)v);
}
static inline uint16_t dfs_get_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t dfs_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t dfs_get_be64(const uint8_t *p)
{
    return ((uint64_t)dfs_get_be32(p) << 32) | dfs_get_be32(p + 4);
}

#endif
