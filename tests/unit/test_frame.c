/*
 * test_frame.c - the frame header and data packet header codecs: round
 * trips, byte layout, and every check of the decoders.  Buffers handed to
 * the decoders are heap blocks of exactly the bytes they may read, so the
 * sanitizer build catches any read past the end.
 */
#include <stdlib.h>

#include "check.h"
#include "frame.h"

/* A heap copy of n bytes (at least one byte allocated). */
static uint8_t *dup_bytes(const uint8_t *src, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    if (n)
        memcpy(p, src, n);
    return p;
}

static enum dfs_frame_rc decode(const uint8_t *buf, size_t have, uint32_t max,
                                struct dfs_frame_hdr *h)
{
    uint8_t *copy = dup_bytes(buf, have);
    enum dfs_frame_rc rc = dfs_frame_decode_hdr(copy, have, max, h);
    free(copy);
    return rc;
}

static void test_frame_round_trip(void)
{
    static const struct {
        uint16_t type;
        uint32_t reqid, len;
    } cases[] = {
        { DFS_MSG_MKDIR_REQ, 1, 0 },
        { DFS_MSG_STAT_RESP, 0xffffffffu, 17 },
        { DFS_MSG_PACKET, 123456789, DFS_FRAME_MAX_PACKET },
        { DFS_MSG_PACKET_ACK, 0, 8 },
        { DFS_MSG_BLOCKREPORT_REQ, 42, DFS_FRAME_MAX_CONTROL },
        { DFS_MSG_MAX - 1, 7, 1 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t buf[DFS_FRAME_HDR_LEN];
        struct dfs_frame_hdr h;

        memset(&h, 0xee, sizeof(h));
        dfs_frame_encode_hdr(buf, cases[i].type, cases[i].reqid, cases[i].len);
        CHECK_EQ_INT(decode(buf, sizeof(buf), DFS_FRAME_MAX_CONTROL, &h), DFS_FRAME_OK);
        CHECK_EQ_INT(h.version, DFS_FRAME_VERSION);
        CHECK_EQ_INT(h.flags, 0);
        CHECK_EQ_INT(h.type, cases[i].type);
        CHECK_EQ_INT(h.reqid, cases[i].reqid);
        CHECK_EQ_INT(h.len, cases[i].len);
    }

    /* A header followed by body bytes decodes the same. */
    uint8_t big[64];
    struct dfs_frame_hdr h;
    memset(big, 0xab, sizeof(big));
    dfs_frame_encode_hdr(big, DFS_MSG_LIST_REQ, 9, 48);
    CHECK_EQ_INT(decode(big, sizeof(big), 1024, &h), DFS_FRAME_OK);
    CHECK_EQ_INT(h.len, 48);

    /* Flags are reserved but passed through. */
    big[5] = 0x5a;
    CHECK_EQ_INT(decode(big, DFS_FRAME_HDR_LEN, 1024, &h), DFS_FRAME_OK);
    CHECK_EQ_INT(h.flags, 0x5a);
}

static void test_frame_layout(void)
{
    uint8_t buf[DFS_FRAME_HDR_LEN];
    static const uint8_t want[DFS_FRAME_HDR_LEN] = {
        0x44, 0x46, 0x53, 0x31,     /* "DFS1" */
        DFS_FRAME_VERSION, 0x00,
        0x00, 0x70,                 /* DFS_MSG_PACKET */
        0x01, 0x02, 0x03, 0x04,
        0x00, 0x0a, 0x0b, 0x0c,
    };

    dfs_frame_encode_hdr(buf, DFS_MSG_PACKET, 0x01020304u, 0x000a0b0cu);
    CHECK(memcmp(buf, want, sizeof(want)) == 0);
}

static void test_frame_short(void)
{
    uint8_t buf[DFS_FRAME_HDR_LEN];
    struct dfs_frame_hdr h;

    dfs_frame_encode_hdr(buf, DFS_MSG_STAT_REQ, 5, 10);
    for (size_t have = 0; have < DFS_FRAME_HDR_LEN; have++)
        CHECK_EQ_INT(decode(buf, have, 1024, &h), DFS_FRAME_SHORT);
    CHECK_EQ_INT(decode(buf, DFS_FRAME_HDR_LEN, 1024, &h), DFS_FRAME_OK);
}

static void test_frame_bad_magic(void)
{
    uint8_t buf[DFS_FRAME_HDR_LEN];
    struct dfs_frame_hdr h;

    for (int i = 0; i < 4; i++) {
        dfs_frame_encode_hdr(buf, DFS_MSG_STAT_REQ, 5, 10);
        buf[i] ^= 0x20;
        CHECK_EQ_INT(decode(buf, sizeof(buf), 1024, &h), DFS_FRAME_BAD_MAGIC);
        /* known as soon as the four magic bytes are in */
        CHECK_EQ_INT(decode(buf, 4, 1024, &h), DFS_FRAME_BAD_MAGIC);
        CHECK_EQ_INT(decode(buf, 3, 1024, &h), DFS_FRAME_SHORT);
    }
    /* Another protocol on the port (an HTTP request). */
    CHECK_EQ_INT(decode((const uint8_t *)"GET / HTTP/1.1\r\n", 16, 1024, &h),
                 DFS_FRAME_BAD_MAGIC);
    /* Byte-swapped magic. */
    memset(buf, 0, sizeof(buf));
    memcpy(buf, "1SFD", 4);
    CHECK_EQ_INT(decode(buf, sizeof(buf), 1024, &h), DFS_FRAME_BAD_MAGIC);
}

static void test_frame_bad_version(void)
{
    uint8_t buf[DFS_FRAME_HDR_LEN];
    struct dfs_frame_hdr h;
    static const uint8_t versions[] = { 0, DFS_FRAME_VERSION + 1, 0x80, 0xff };

    for (size_t i = 0; i < sizeof(versions); i++) {
        dfs_frame_encode_hdr(buf, DFS_MSG_STAT_REQ, 5, 10);
        buf[4] = versions[i];
        CHECK_EQ_INT(decode(buf, sizeof(buf), 1024, &h), DFS_FRAME_BAD_VERSION);
    }
}

static void test_frame_too_long(void)
{
    uint8_t buf[DFS_FRAME_HDR_LEN];
    struct dfs_frame_hdr h;

    dfs_frame_encode_hdr(buf, DFS_MSG_STAT_REQ, 5, 1024);
    CHECK_EQ_INT(decode(buf, sizeof(buf), 1024, &h), DFS_FRAME_OK);
    CHECK_EQ_INT(decode(buf, sizeof(buf), 1023, &h), DFS_FRAME_TOO_LONG);
    CHECK_EQ_INT(decode(buf, sizeof(buf), 0, &h), DFS_FRAME_TOO_LONG);
    dfs_frame_encode_hdr(buf, DFS_MSG_STAT_REQ, 5, 0xffffffffu);
    CHECK_EQ_INT(decode(buf, sizeof(buf), DFS_FRAME_MAX_CONTROL, &h), DFS_FRAME_TOO_LONG);
    CHECK_EQ_INT(decode(buf, sizeof(buf), 0xffffffffu, &h), DFS_FRAME_OK);
    dfs_frame_encode_hdr(buf, DFS_MSG_PACKET, 5, DFS_FRAME_MAX_PACKET + 1);
    CHECK_EQ_INT(decode(buf, sizeof(buf), DFS_FRAME_MAX_PACKET, &h), DFS_FRAME_TOO_LONG);
    /* An empty body is always within the limit. */
    dfs_frame_encode_hdr(buf, DFS_MSG_STAT_REQ, 5, 0);
    CHECK_EQ_INT(decode(buf, sizeof(buf), 0, &h), DFS_FRAME_OK);
}

static void test_frame_bad_type(void)
{
    uint8_t buf[DFS_FRAME_HDR_LEN];
    struct dfs_frame_hdr h;
    static const uint16_t bad[] = { DFS_MSG_NONE, DFS_MSG_MAX, DFS_MSG_MAX + 1, 0x100,
                                    0x8000, 0xffff };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dfs_frame_encode_hdr(buf, bad[i], 5, 10);
        CHECK_EQ_INT(decode(buf, sizeof(buf), 1024, &h), DFS_FRAME_BAD_TYPE);
    }
    dfs_frame_encode_hdr(buf, 1, 5, 10);
    CHECK_EQ_INT(decode(buf, sizeof(buf), 1024, &h), DFS_FRAME_OK);
}

static void test_frame_strerror(void)
{
    static const enum dfs_frame_rc rcs[] = {
        DFS_FRAME_OK, DFS_FRAME_SHORT, DFS_FRAME_BAD_MAGIC, DFS_FRAME_BAD_VERSION,
        DFS_FRAME_TOO_LONG, DFS_FRAME_BAD_TYPE,
    };
    size_t n = sizeof(rcs) / sizeof(rcs[0]);

    for (size_t i = 0; i < n; i++) {
        const char *s = dfs_frame_strerror(rcs[i]);
        CHECK(s != NULL && s[0] != '\0');
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(s, dfs_frame_strerror(rcs[j])) != 0);
    }
    CHECK(dfs_frame_strerror((enum dfs_frame_rc)-42) != NULL);
}

/* ---------------------------------------------------------- packets */

/* Encode p and decode it against a body of body_len bytes (the header
 * followed by zeroes); returns the decoder's result, fields in *out. */
static int pkt_decode_len(const struct dfs_pkt_hdr *p, size_t body_len,
                          struct dfs_pkt_hdr *out)
{
    uint8_t *body = calloc(1, body_len < DFS_PKT_HDR_LEN ? DFS_PKT_HDR_LEN : body_len);
    dfs_pkt_encode_hdr(body, p);
    int rc = dfs_pkt_decode_hdr(body, body_len, out);
    free(body);
    return rc;
}

/* The body length a well-formed packet p has. */
static size_t pkt_body_len(const struct dfs_pkt_hdr *p)
{
    return DFS_PKT_HDR_LEN + 8 * (size_t)p->nsums + p->data_len;
}

static struct dfs_pkt_hdr pkt(uint64_t seq, uint64_t offset, uint32_t data_len,
                              uint32_t flags, uint32_t chunk_size)
{
    struct dfs_pkt_hdr p = {
        .seq = seq, .offset = offset, .data_len = data_len, .flags = flags,
        .chunk_size = chunk_size,
        .nsums = (uint32_t)(((uint64_t)data_len + chunk_size - 1) / chunk_size),
    };
    return p;
}

static void test_pkt_round_trip(void)
{
    const struct dfs_pkt_hdr cases[] = {
        pkt(0, 0, 65536, 0, 16384),
        pkt(1, 65536, 1000, DFS_PKT_SYNC, 512),
        pkt(77, 1ull << 40, 16u << 20, 0, 16u << 20),
        pkt(UINT64_MAX, 0, 0, DFS_PKT_LAST, 512),          /* empty last packet */
        pkt(3, 512 * 3, 513, DFS_PKT_LAST | DFS_PKT_SYNC, 512),
        pkt(4, 0, 1, 0, 4096),
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct dfs_pkt_hdr out;
        memset(&out, 0xee, sizeof(out));
        CHECK_EQ_INT(pkt_decode_len(&cases[i], pkt_body_len(&cases[i]), &out), 0);
        CHECK(out.seq == cases[i].seq);
        CHECK(out.offset == cases[i].offset);
        CHECK_EQ_INT(out.data_len, cases[i].data_len);
        CHECK_EQ_INT(out.flags, cases[i].flags);
        CHECK_EQ_INT(out.chunk_size, cases[i].chunk_size);
        CHECK_EQ_INT(out.nsums, cases[i].nsums);
    }
}

static void test_pkt_layout(void)
{
    struct dfs_pkt_hdr p = {
        .seq = 0x0102030405060708ull, .offset = 0x1112131415161718ull,
        .data_len = 0x21222324u, .flags = 0x31323334u,
        .chunk_size = 0x41424344u, .nsums = 0x51525354u,
    };
    static const uint8_t want[DFS_PKT_HDR_LEN] = {
        1, 2, 3, 4, 5, 6, 7, 8,
        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
        0x21, 0x22, 0x23, 0x24,
        0x31, 0x32, 0x33, 0x34,
        0x41, 0x42, 0x43, 0x44,
        0x51, 0x52, 0x53, 0x54,
    };
    uint8_t buf[DFS_PKT_HDR_LEN];

    dfs_pkt_encode_hdr(buf, &p);
    CHECK(memcmp(buf, want, sizeof(want)) == 0);
}

static void test_pkt_short(void)
{
    struct dfs_pkt_hdr p = pkt(0, 0, 0, DFS_PKT_LAST, 512), out;
    uint8_t full[DFS_PKT_HDR_LEN];

    dfs_pkt_encode_hdr(full, &p);
    for (size_t n = 0; n < DFS_PKT_HDR_LEN; n++) {
        uint8_t *copy = dup_bytes(full, n);
        CHECK_EQ_INT(dfs_pkt_decode_hdr(copy, n, &out), -1);
        free(copy);
    }
    uint8_t *copy = dup_bytes(full, sizeof(full));
    CHECK_EQ_INT(dfs_pkt_decode_hdr(copy, sizeof(full), &out), 0);
    free(copy);
}

static void test_pkt_chunk_size(void)
{
    static const uint32_t bad[] = { 0, 1, 256, 511, 513, 768, 1000, 3u << 10,
                                    (16u << 20) + 1, 32u << 20, 0x80000000u,
                                    0xffffffffu };
    static const uint32_t good[] = { 512, 1024, 4096, 65536, 1u << 20, 16u << 20 };
    struct dfs_pkt_hdr out;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* data_len 0, nsums 0: only the chunk size is wrong */
        struct dfs_pkt_hdr p = { .seq = 1, .chunk_size = bad[i] };
        CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), -1);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct dfs_pkt_hdr p = pkt(1, good[i], 100, 0, good[i]);
        CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), 0);
    }
}

static void test_pkt_offset(void)
{
    struct dfs_pkt_hdr out;

    for (uint64_t off = 1; off < 512; off += 37) {
        struct dfs_pkt_hdr p = pkt(1, off, 100, 0, 512);
        CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), -1);
    }
    struct dfs_pkt_hdr p = pkt(1, 16384 + 512, 100, 0, 16384);
    CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), -1);
    p = pkt(1, 16384 * 5, 100, 0, 16384);
    CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), 0);
    p = pkt(1, UINT64_MAX - 511, 100, 0, 512);     /* aligned, huge */
    CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), 0);
}

static void test_pkt_nsums(void)
{
    struct dfs_pkt_hdr out, p;

    /* 1000 bytes of 512-byte chunks: exactly 2 checksums */
    p = pkt(1, 0, 1000, 0, 512);
    CHECK_EQ_INT(p.nsums, 2);
    CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), 0);
    p.nsums = 1;
    CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), -1);
    p.nsums = 3;
    CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), -1);
    /* an exact multiple */
    p = pkt(1, 0, 1024, 0, 512);
    CHECK_EQ_INT(p.nsums, 2);
    CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), 0);
    /* no data, a checksum anyway */
    p = pkt(1, 0, 0, DFS_PKT_LAST, 512);
    p.nsums = 1;
    CHECK_EQ_INT(pkt_decode_len(&p, pkt_body_len(&p), &out), -1);
    /* huge counts must not overflow into a match */
    p = pkt(1, 0, 0xffffffffu, 0, 512);
    p.nsums = 0xffffffffu;
    CHECK_EQ_INT(pkt_decode_len(&p, 64, &out), -1);
    p = pkt(1, 0, 0xffffffffu, 0, 512);
    CHECK_EQ_INT(pkt_decode_len(&p, 64, &out), -1);
}

static void test_pkt_body_len(void)
{
    struct dfs_pkt_hdr out;
    struct dfs_pkt_hdr p = pkt(9, 4096, 5000, 0, 4096);
    size_t n = pkt_body_len(&p);

    CHECK_EQ_INT(n, DFS_PKT_HDR_LEN + 16 + 5000);
    CHECK_EQ_INT(pkt_decode_len(&p, n, &out), 0);
    CHECK_EQ_INT(pkt_decode_len(&p, n - 1, &out), -1);
    CHECK_EQ_INT(pkt_decode_len(&p, n + 1, &out), -1);
    CHECK_EQ_INT(pkt_decode_len(&p, n - 8, &out), -1);   /* a checksum missing */
    CHECK_EQ_INT(pkt_decode_len(&p, DFS_PKT_HDR_LEN, &out), -1);
    /* An empty packet is exactly its header. */
    p = pkt(10, 8192, 0, DFS_PKT_LAST, 4096);
    CHECK_EQ_INT(pkt_decode_len(&p, DFS_PKT_HDR_LEN, &out), 0);
    CHECK_EQ_INT(pkt_decode_len(&p, DFS_PKT_HDR_LEN + 1, &out), -1);
}

int main(void)
{
    test_frame_round_trip();
    test_frame_layout();
    test_frame_short();
    test_frame_bad_magic();
    test_frame_bad_version();
    test_frame_too_long();
    test_frame_bad_type();
    test_frame_strerror();
    test_pkt_round_trip();
    test_pkt_layout();
    test_pkt_short();
    test_pkt_chunk_size();
    test_pkt_offset();
    test_pkt_nsums();
    test_pkt_body_len();
    return check_summary();
}
