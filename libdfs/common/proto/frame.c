/*
 * frame.c - frame and data packet header codec (see frame.h).
 */
#include "frame.h"

void dfs_frame_encode_hdr(uint8_t out[DFS_FRAME_HDR_LEN], uint16_t type,
                          uint32_t reqid, uint32_t len)
{
    dfs_put_be32(out, DFS_FRAME_MAGIC);
    out[4] = DFS_FRAME_VERSION;
    out[5] = 0;
    dfs_put_be16(out + 6, type);
    dfs_put_be32(out + 8, reqid);
    dfs_put_be32(out + 12, len);
}

enum dfs_frame_rc dfs_frame_decode_hdr(const uint8_t *buf, size_t have,
                                       uint32_t max_len,
                                       struct dfs_frame_hdr *h)
{
    if (have < 4)
        return DFS_FRAME_SHORT;
    if (dfs_get_be32(buf) != DFS_FRAME_MAGIC)
        return DFS_FRAME_BAD_MAGIC;
    if (have < DFS_FRAME_HDR_LEN)
        return DFS_FRAME_SHORT;
    if (buf[4] != DFS_FRAME_VERSION)
        return DFS_FRAME_BAD_VERSION;
    uint16_t type = dfs_get_be16(buf + 6);
    if (type == DFS_MSG_NONE || type >= DFS_MSG_MAX)
        return DFS_FRAME_BAD_TYPE;
    uint32_t len = dfs_get_be32(buf + 12);
    if (len > max_len)
        return DFS_FRAME_TOO_LONG;
    h->version = buf[4];
    h->flags = buf[5];
    h->type = type;
    h->reqid = dfs_get_be32(buf + 8);
    h->len = len;
    return DFS_FRAME_OK;
}

const char *dfs_frame_strerror(enum dfs_frame_rc rc)
{
    switch (rc) {
    case DFS_FRAME_OK:          return "ok";
    case DFS_FRAME_SHORT:       return "short header";
    case DFS_FRAME_BAD_MAGIC:   return "bad frame magic";
    case DFS_FRAME_BAD_VERSION: return "unsupported frame version";
    case DFS_FRAME_TOO_LONG:    return "frame body too long";
    case DFS_FRAME_BAD_TYPE:    return "unknown message type";
    }
    return "unknown frame error";
}

void dfs_pkt_encode_hdr(uint8_t out[DFS_PKT_HDR_LEN], const struct dfs_pkt_hdr *p)
{
    dfs_put_be64(out, p->seq);
    dfs_put_be64(out + 8, p->offset);
    dfs_put_be32(out + 16, p->data_len);
    dfs_put_be32(out + 20, p->flags);
    dfs_put_be32(out + 24, p->chunk_size);
    dfs_put_be32(out + 28, p->nsums);
}

int dfs_pkt_decode_hdr(const uint8_t *body, size_t body_len, struct dfs_pkt_hdr *p)
{
    if (body_len < DFS_PKT_HDR_LEN)
        return -1;
    p->seq = dfs_get_be64(body);
    p->offset = dfs_get_be64(body + 8);
    p->data_len = dfs_get_be32(body + 16);
    p->flags = dfs_get_be32(body + 20);
    p->chunk_size = dfs_get_be32(body + 24);
    p->nsums = dfs_get_be32(body + 28);
    uint32_t cs = p->chunk_size;
    if (cs < 512 || cs > (16u << 20) || (cs & (cs - 1)) != 0)
        return -1;
    if (p->offset % cs != 0)
        return -1;
    uint64_t want_sums = ((uint64_t)p->data_len + cs - 1) / cs;
    if (p->nsums != want_sums)
        return -1;
    uint64_t need = DFS_PKT_HDR_LEN + 8ull * p->nsums + p->data_len;
    if (need != body_len)
        return -1;
    return 0;
}
