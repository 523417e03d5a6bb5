/*
 * dn_wire.c - integration-test helper: talks to one datanode's transfer
 * port over the wire, one request per run, so that tests can drive the
 * write stages, replica info, reads of replicas being written, transfers
 * and block recovery directly.
 *
 *   dfs-dn-wire HOST:PORT write [-s STAGE] [-l LEN] [-o OLDGS] [-c CHUNK]
 *               [-t HOST:PORT]... [-n END] [-p] [-P] [-x SEQ] [-y] ID GS LOCAL
 *   dfs-dn-wire HOST:PORT info ID GS
 *   dfs-dn-wire HOST:PORT read ID GS OFFSET LEN OUT
 *   dfs-dn-wire HOST:PORT transfer ID GS LEN HOST:PORT...
 *   dfs-dn-wire HOST:PORT init ID GS
 *   dfs-dn-wire HOST:PORT finish ID GS LEN
 *
 * write: WriteBlockReq {block (ID, GS), chunk size CHUNK (default 4096),
 * targets -t, stage STAGE (create, recover, append, transfer), length
 * LEN, old_genstamp OLDGS}, then bytes of LOCAL from LEN rounded down to a
 * chunk (0 for create/transfer) up to END (default: all of LOCAL) in
 * packets of 16 chunks, one packet in flight at a time (each acked before
 * the next); -y sets DFS_PKT_SYNC on each packet; -x SEQ corrupts one
 * checksum of packet SEQ.  -P: after the set-up answer print "setup ok"
 * and wait for a line on stdin.  Then LAST (empty) and "done END" -- or,
 * with -p, no LAST: print "acked END" and wait for a line on stdin, then
 * exit without it (the upstream goes away).  A failed set-up prints
 * "setup error STATUS bad_index I: MSG"; a failed ack "ack SEQ failed:
 * S0 S1 ..." (the statuses); a lost connection "lost: MSG".
 * info: "visible V gs G finalized 0|1".  read: checks every chunk against
 * the checksums received, writes the data (from OFFSET) to OUT and prints
 * "read N block_length L".  transfer, finish: "ok".  init: "length L gs G
 * finalized 0|1".  Any error answer: "error STATUS: MSG".
 * Exit 0 when the outcome was printed, 1 on a failure of this tool, 2 on
 * usage errors.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "checksum.h"
#include "config.h"
#include "dfs.h"
#include "dfs.pb-c.h"
#include "frame.h"
#include "sock.h"

#define TIMEOUT_MS 60000
#define PKT_CHUNKS 16

static struct dfs_sock sk = { .fd = -1 };
static uint8_t *rbuf;
static size_t rcap;

static int usage(void)
{
    fprintf(stderr, "usage: dfs-dn-wire HOST:PORT write|info|read|transfer|init|finish ...\n"
                    "(see tests/tools/dn_wire.c)\n");
    return 2;
}

static int hostport(const char *s, char *host, size_t hostsz, unsigned *port)
{
    if (dfs_parse_hostport(s, host, hostsz, port) != 0) {
        fprintf(stderr, "dfs-dn-wire: bad address %s\n", s);
        return -1;
    }
    return 0;
}

static int recv_frame(struct dfs_frame_hdr *h, uint16_t want)
{
    int rc = dfs_sock_recv_frame(&sk, h, &rbuf, &rcap, DFS_FRAME_MAX_CONTROL);
    if (rc) {
        printf("lost: %s\n", strerror(-rc));
        return -1;
    }
    if (h->type != want) {
        printf("lost: unexpected message 0x%x\n", h->type);
        return -1;
    }
    return 0;
}

/* "error STATUS: MSG" of any answer: they all start with status, error. */
static int answer_status(const struct dfs_frame_hdr *h)
{
    Dfs__CopyBlockResp *r = dfs__copy_block_resp__unpack(NULL, h->len, rbuf);
    if (!r) {
        printf("lost: malformed answer\n");
        return -1;
    }
    int st = (int)r->status;
    if (st != DFS_OK)
        printf("error %d: %s\n", st, r->error ? r->error : dfs_strerror(st));
    dfs__copy_block_resp__free_unpacked(r, NULL);
    return st;
}

static uint64_t num(const char *s)
{
    return strtoull(s, NULL, 10);
}

static void targets_free(Dfs__DatanodeId **t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i]->host);
        free(t[i]);
    }
    free(t);
}

static Dfs__DatanodeId **targets_of(char **addrs, size_t n)
{
    Dfs__DatanodeId **t = calloc(n ? n : 1, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        char host[256];
        unsigned port;
        if (hostport(addrs[i], host, sizeof(host), &port) < 0)
            exit(2);
        t[i] = calloc(1, sizeof(**t));
        dfs__datanode_id__init(t[i]);
        t[i]->host = strdup(host);
        t[i]->storage_id = (char *)"";
        t[i]->port = port;
    }
    return t;
}

/* ---------------------------------------------------------------- write */

static int send_packet(uint64_t seq, uint64_t off, const uint8_t *data, size_t len,
                       uint32_t chunk, uint32_t flags, int corrupt)
{
    size_t nsums = dfs_nchunks(len, chunk);
    uint8_t *sums = malloc(8 * nsums + 8);
    dfs_checksum_chunks_be(data, len, chunk, sums);
    if (corrupt && nsums)
        sums[0] ^= 0x55;
    struct dfs_pkt_hdr ph = { .seq = seq, .offset = off, .data_len = (uint32_t)len,
                              .flags = flags, .chunk_size = chunk, .nsums = (uint32_t)nsums };
    uint8_t fh[DFS_FRAME_HDR_LEN], phb[DFS_PKT_HDR_LEN];
    dfs_frame_encode_hdr(fh, DFS_MSG_PACKET, 0, (uint32_t)(DFS_PKT_HDR_LEN + 8 * nsums + len));
    dfs_pkt_encode_hdr(phb, &ph);
    struct iovec iov[4] = { { fh, sizeof(fh) }, { phb, sizeof(phb) }, { sums, 8 * nsums },
                            { (void *)data, len } };
    int rc = dfs_sock_writev_all(&sk, iov, 4);
    free(sums);
    if (rc) {
        printf("lost: %s\n", strerror(-rc));
        return -1;
    }
    return 0;
}

/* 0 when packet seq was acked OK, 1 when it failed (printed), -1 lost. */
static int wait_ack(uint64_t seq)
{
    struct dfs_frame_hdr h;
    if (recv_frame(&h, DFS_MSG_PACKET_ACK) < 0)
        return -1;
    Dfs__PacketAck *a = dfs__packet_ack__unpack(NULL, h.len, rbuf);
    if (!a || a->seq != seq) {
        printf("lost: bad ack\n");
        return -1;
    }
    int bad = 0;
    for (size_t i = 0; i < a->n_statuses; i++)
        bad |= a->statuses[i] != DFS__STATUS__OK;
    if (bad) {
        printf("ack %llu failed:", (unsigned long long)seq);
        for (size_t i = 0; i < a->n_statuses; i++)
            printf(" %d", (int)a->statuses[i]);
        printf("\n");
    }
    dfs__packet_ack__free_unpacked(a, NULL);
    return bad;
}

static void wait_line(void)
{
    char line[64];
    fflush(stdout);
    if (!fgets(line, sizeof(line), stdin))
        return;
}

static int write_stream(const uint8_t *data, uint64_t len, uint64_t end, uint32_t chunk,
                        int sync, long long corrupt_seq, int pause_setup, int pause_end);

static int cmd_write(int argc, char **argv)
{
    const char *stage_name = "create";
    uint64_t len = 0, old_gs = 0, end = UINT64_MAX;
    uint32_t chunk = 4096;
    char *tg[16];
    size_t ntg = 0;
    int pause_end = 0, pause_setup = 0, sync = 0, ch;
    long long corrupt_seq = -1;
    int has_len = 0, has_old = 0;

    optind = 1;
    while ((ch = getopt(argc, argv, "s:l:o:c:t:n:pPx:y")) != -1) {
        switch (ch) {
        case 's': stage_name = optarg; break;
        case 'l': len = num(optarg); has_len = 1; break;
        case 'o': old_gs = num(optarg); has_old = 1; break;
        case 'c': chunk = (uint32_t)num(optarg); break;
        case 't': if (ntg < 16) tg[ntg++] = optarg; break;
        case 'n': end = num(optarg); break;
        case 'p': pause_end = 1; break;
        case 'P': pause_setup = 1; break;
        case 'x': corrupt_seq = atoll(optarg); break;
        case 'y': sync = 1; break;
        default: return usage();
        }
    }
    if (argc - optind != 3)
        return usage();
    uint64_t id = num(argv[optind]), gs = num(argv[optind + 1]);
    const char *local = argv[optind + 2];
    Dfs__WriteStage stage = !strcmp(stage_name, "recover") ? DFS__WRITE_STAGE__WS_RECOVER
                          : !strcmp(stage_name, "append") ? DFS__WRITE_STAGE__WS_APPEND
                          : !strcmp(stage_name, "transfer") ? DFS__WRITE_STAGE__WS_TRANSFER
                          : DFS__WRITE_STAGE__WS_CREATE;

    int fd = open(local, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(local);
        return 1;
    }
    uint8_t *data = malloc((size_t)st.st_size + 1);
    if (read(fd, data, (size_t)st.st_size) != st.st_size) {
        perror(local);
        return 1;
    }
    close(fd);
    if (end > (uint64_t)st.st_size)
        end = (uint64_t)st.st_size;

    Dfs__ExtendedBlock blk = DFS__EXTENDED_BLOCK__INIT;
    blk.id = id;
    blk.genstamp = gs;
    Dfs__WriteBlockReq wr = DFS__WRITE_BLOCK_REQ__INIT;
    wr.block = &blk;
    wr.chunk_size = chunk;
    wr.n_targets = ntg;
    wr.targets = targets_of(tg, ntg);
    wr.client = (char *)"dfs-dn-wire";
    wr.has_stage = 1;
    wr.stage = stage;
    wr.has_length = has_len;
    wr.length = len;
    wr.has_old_genstamp = has_old;
    wr.old_genstamp = old_gs;
    int rc = dfs_sock_send_msg(&sk, DFS_MSG_WRITEBLOCK_REQ, 1, &wr.base);
    targets_free(wr.targets, ntg);
    if (rc != 0) {
        printf("lost: cannot send\n");
        free(data);
        return 0;
    }
    rc = write_stream(data, len, end, chunk, sync, corrupt_seq, pause_setup, pause_end);
    free(data);
    return rc;
}

static int write_stream(const uint8_t *data, uint64_t len, uint64_t end, uint32_t chunk,
                        int sync, long long corrupt_seq, int pause_setup, int pause_end)
{
    struct dfs_frame_hdr h;
    if (recv_frame(&h, DFS_MSG_WRITEBLOCK_RESP) < 0)
        return 0;
    Dfs__WriteBlockResp *resp = dfs__write_block_resp__unpack(NULL, h.len, rbuf);
    if (!resp) {
        printf("lost: malformed WriteBlockResp\n");
        return 0;
    }
    if (resp->status != DFS__STATUS__OK) {
        printf("setup error %d bad_index %d: %s\n", (int)resp->status, (int)resp->bad_index,
               resp->error ? resp->error : "");
        dfs__write_block_resp__free_unpacked(resp, NULL);
        return 0;
    }
    dfs__write_block_resp__free_unpacked(resp, NULL);
    if (pause_setup) {
        printf("setup ok\n");
        wait_line();
    }

    uint64_t off = len - len % chunk, seq = 0;
    size_t pkt = (size_t)chunk * PKT_CHUNKS;
    while (off < end) {
        size_t n = end - off < pkt ? (size_t)(end - off) : pkt;
        if (send_packet(seq, off, data + off, n, chunk, sync ? DFS_PKT_SYNC : 0,
                        (long long)seq == corrupt_seq) < 0)
            return 0;
        int rc = wait_ack(seq);
        if (rc)
            return 0;
        off += n;
        seq++;
    }
    if (pause_end) {
        printf("acked %llu\n", (unsigned long long)end);
        wait_line();
        return 0;
    }
    if (send_packet(seq, end - end % chunk, NULL, 0, chunk, DFS_PKT_LAST, 0) < 0 ||
        wait_ack(seq) != 0)
        return 0;
    printf("done %llu\n", (unsigned long long)end);
    return 0;
}

/* ---------------------------------------------------------------- others */

static int cmd_info(uint64_t id, uint64_t gs)
{
    Dfs__ExtendedBlock blk = DFS__EXTENDED_BLOCK__INIT;
    blk.id = id;
    blk.genstamp = gs;
    Dfs__ReplicaInfoReq req = DFS__REPLICA_INFO_REQ__INIT;
    req.block = &blk;
    struct dfs_frame_hdr h;
    if (dfs_sock_send_msg(&sk, DFS_MSG_REPLICA_INFO_REQ, 1, &req.base) != 0 ||
        recv_frame(&h, DFS_MSG_REPLICA_INFO_RESP) < 0)
        return 1;
    Dfs__ReplicaInfoResp *r = dfs__replica_info_resp__unpack(NULL, h.len, rbuf);
    if (!r)
        return 1;
    if (r->status != DFS__STATUS__OK)
        printf("error %d: %s\n", (int)r->status, r->error ? r->error : "");
    else
        printf("visible %llu gs %llu finalized %d\n", (unsigned long long)r->visible_length,
               (unsigned long long)r->genstamp, (int)r->finalized);
    dfs__replica_info_resp__free_unpacked(r, NULL);
    return 0;
}

static int cmd_read(uint64_t id, uint64_t gs, uint64_t off, uint64_t len, const char *out)
{
    Dfs__ExtendedBlock blk = DFS__EXTENDED_BLOCK__INIT;
    blk.id = id;
    blk.genstamp = gs;
    Dfs__ReadBlockReq req = DFS__READ_BLOCK_REQ__INIT;
    req.block = &blk;
    req.offset = off;
    req.length = len;
    struct dfs_frame_hdr h;
    if (dfs_sock_send_msg(&sk, DFS_MSG_READBLOCK_REQ, 1, &req.base) != 0 ||
        recv_frame(&h, DFS_MSG_READBLOCK_RESP) < 0)
        return 1;
    Dfs__ReadBlockResp *r = dfs__read_block_resp__unpack(NULL, h.len, rbuf);
    if (!r)
        return 1;
    if (r->status != DFS__STATUS__OK) {
        printf("error %d: %s\n", (int)r->status, r->error ? r->error : "");
        dfs__read_block_resp__free_unpacked(r, NULL);
        return 0;
    }
    uint64_t blen = r->block_length, first = r->first_offset;
    dfs__read_block_resp__free_unpacked(r, NULL);
    FILE *f = fopen(out, "wb");
    if (!f) {
        perror(out);
        return 1;
    }
    uint64_t got = 0;
    for (;;) {
        if (dfs_sock_recv_frame(&sk, &h, &rbuf, &rcap, DFS_FRAME_MAX_PACKET) != 0 ||
            h.type != DFS_MSG_PACKET) {
            printf("lost: read stream\n");
            fclose(f);
            return 0;
        }
        struct dfs_pkt_hdr ph;
        if (dfs_pkt_decode_hdr(rbuf, h.len, &ph) != 0) {
            printf("lost: malformed packet\n");
            fclose(f);
            return 0;
        }
        const uint8_t *sums = rbuf + DFS_PKT_HDR_LEN, *data = sums + 8u * ph.nsums;
        long bad = dfs_checksum_verify_be(data, ph.data_len, ph.chunk_size, sums);
        if (bad >= 0) {
            printf("corrupt chunk at %llu\n",
                   (unsigned long long)(ph.offset + (uint64_t)bad * ph.chunk_size));
            fclose(f);
            return 0;
        }
        uint64_t pstart = ph.offset, pend = ph.offset + ph.data_len;
        uint64_t from = pstart < off ? off : pstart;
        uint64_t to = len < blen - off ? off + len : blen;
        if (pend < to)
            to = pend;
        if (to > from) {
            fwrite(data + (from - pstart), 1, (size_t)(to - from), f);
            got += to - from;
        }
        if (ph.flags & DFS_PKT_LAST)
            break;
    }
    (void)first;
    fclose(f);
    printf("read %llu block_length %llu\n", (unsigned long long)got, (unsigned long long)blen);
    return 0;
}

static int cmd_simple(uint16_t type, uint64_t id, uint64_t gs, int has_len, uint64_t len,
                      char **tgs, size_t ntg)
{
    Dfs__ExtendedBlock blk = DFS__EXTENDED_BLOCK__INIT;
    blk.id = id;
    blk.genstamp = gs;
    blk.has_length = has_len;
    blk.length = len;
    struct dfs_frame_hdr h;
    int rc;
    if (type == DFS_MSG_TRANSFER_REQ) {
        Dfs__TransferBlockReq req = DFS__TRANSFER_BLOCK_REQ__INIT;
        req.block = &blk;
        req.n_targets = ntg;
        req.targets = targets_of(tgs, ntg);
        rc = dfs_sock_send_msg(&sk, type, 1, &req.base);
        targets_free(req.targets, ntg);
    } else if (type == DFS_MSG_INIT_RECOVERY_REQ) {
        Dfs__InitRecoveryReq req = DFS__INIT_RECOVERY_REQ__INIT;
        req.block = &blk;
        rc = dfs_sock_send_msg(&sk, type, 1, &req.base);
    } else {
        Dfs__FinishRecoveryReq req = DFS__FINISH_RECOVERY_REQ__INIT;
        req.block = &blk;
        rc = dfs_sock_send_msg(&sk, type, 1, &req.base);
    }
    if (rc != 0 || recv_frame(&h, (uint16_t)(type | 1)) < 0)
        return 1;
    if (type != DFS_MSG_INIT_RECOVERY_REQ) {
        if (answer_status(&h) == DFS_OK)
            printf("ok\n");
        return 0;
    }
    Dfs__InitRecoveryResp *r = dfs__init_recovery_resp__unpack(NULL, h.len, rbuf);
    if (!r)
        return 1;
    if (r->status != DFS__STATUS__OK)
        printf("error %d: %s\n", (int)r->status, r->error ? r->error : "");
    else
        printf("length %llu gs %llu finalized %d\n", (unsigned long long)r->length,
               (unsigned long long)r->genstamp, (int)r->finalized);
    dfs__init_recovery_resp__free_unpacked(r, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    char host[256], msg[512];
    unsigned port;
    if (argc < 3)
        return usage();
    if (hostport(argv[1], host, sizeof(host), &port) < 0)
        return 2;
    if (dfs_sock_connect(&sk, host, port, TIMEOUT_MS, msg, sizeof(msg)) != 0) {
        printf("lost: cannot connect to %s\n", msg);
        return 1;
    }
    sk.timeout_ms = TIMEOUT_MS;
    const char *cmd = argv[2];
    int n = argc - 3, rc;
    char **a = argv + 3;
    if (!strcmp(cmd, "write"))
        rc = cmd_write(argc - 2, argv + 2);
    else if (!strcmp(cmd, "info") && n == 2)
        rc = cmd_info(num(a[0]), num(a[1]));
    else if (!strcmp(cmd, "read") && n == 5)
        rc = cmd_read(num(a[0]), num(a[1]), num(a[2]), num(a[3]), a[4]);
    else if (!strcmp(cmd, "transfer") && n >= 4)
        rc = cmd_simple(DFS_MSG_TRANSFER_REQ, num(a[0]), num(a[1]), 1, num(a[2]), a + 3,
                        (size_t)(n - 3));
    else if (!strcmp(cmd, "init") && n == 2)
        rc = cmd_simple(DFS_MSG_INIT_RECOVERY_REQ, num(a[0]), num(a[1]), 0, 0, NULL, 0);
    else if (!strcmp(cmd, "finish") && n == 3)
        rc = cmd_simple(DFS_MSG_FINISH_RECOVERY_REQ, num(a[0]), num(a[1]), 1, num(a[2]),
                        NULL, 0);
    else
        rc = usage();
    fflush(stdout);
    dfs_sock_close(&sk);
    free(rbuf);
    return rc;
}
