"""The namenode under crashes, restarts and hostile input.

* SIGKILL right after acknowledged mkdirs: after a restart all are there.
* SIGTERM / SIGINT: exit status 0, and a restart finds the data.
* Random bytes, truncated frames, huge announced lengths, undecodable
  bodies on the RPC port: that connection is closed, other clients are
  served meanwhile and afterwards, the daemon does not crash.
"""

import random
import signal
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import SLOW, dfs_at, ls_names, wait_for

MAGIC = 0x44465331
STAT_REQ, STAT_RESP = 0x14, 0x15
LIST_REQ = 0x16
MAX_CONTROL = 16 << 20


# ------------------------------------------------------- durability / kill

def test_sigkill_after_acknowledged_mkdirs(cluster):
    n = 100
    cluster.ok("mkdir", "/k")
    for i in range(n):
        cluster.ok("mkdir", "/k/d%03d" % i)
    cluster.ok("touch", "/k/last-file")
    cluster.kill("namenode")
    assert cluster.pid("namenode") is None
    cluster.start()
    names = ls_names(cluster.ok("ls", "/k"))
    assert names == ["d%03d" % i for i in range(n)] + ["last-file"]
    assert cluster.stat("/k/last-file")["type"] == "file"


def test_sigkill_during_concurrent_mkdirs(cluster):
    """Clients keep creating while the namenode is killed: every mkdir that
    was acknowledged (exit 0) is there after the restart."""
    cluster.ok("mkdir", "/conc")
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def worker(w):
        i = 0
        while not stop.is_set():
            p = "/conc/w%d-%05d" % (w, i)
            rc, _, _ = cluster.dfs("mkdir", p, timeout=30 * SLOW)
            if rc == 0:
                with lock:
                    acked.append(p)
            i += 1

    with ThreadPoolExecutor(4) as ex:
        futs = [ex.submit(worker, w) for w in range(4)]
        wait_for(lambda: len(acked) >= 40, 60, "40 acknowledged mkdirs")
        cluster.kill("namenode")
        stop.set()
        for f in futs:
            f.result()
    cluster.start()
    present = set(ls_names(cluster.ok("ls", "/conc")))
    missing = [p for p in acked if p.rsplit("/", 1)[1] not in present]
    assert not missing, "%d acknowledged mkdirs lost, e.g. %s" % (
        len(missing), missing[:5])


def test_restart_keeps_port_and_data(cluster):
    cluster.ok("mkdir", "-p", "/r/a/b")
    cluster.ok("touch", "/r/a/f")
    cluster.ok("chmod", "600", "/r/a/f")
    cluster.ok("chown", "alice:staff", "/r/a/f")
    cluster.ok("setrep", "2", "/r/a/f")
    before = cluster.stat("/r/a/f")
    addr = cluster.addr
    cluster.stop()
    assert cluster.pid("namenode") is None
    cluster.start()
    assert cluster.addr == addr
    assert cluster.stat("/r/a/f") == before
    assert cluster.stat("/r/a/b")["type"] == "dir"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_clean_shutdown_exit_0(daemon, sig):
    nn = daemon()
    for i in range(20):
        assert dfs_at(nn.addr, "mkdir", "-p", "/s/d%d" % i)[0] == 0
    nn.signal(sig)
    assert nn.wait() == 0, nn.log()
    nn.start()
    rc, out, err = dfs_at(nn.addr, "ls", "/s")
    assert rc == 0, err
    assert sorted(ls_names(out)) == sorted("d%d" % i for i in range(20))
    nn.signal(signal.SIGTERM)
    assert nn.wait() == 0, nn.log()


def test_sigterm_with_idle_client_connected(daemon):
    """An open, idle client connection does not hold up shutdown."""
    nn = daemon()
    s = socket.create_connection(("127.0.0.1", nn.port), timeout=5)
    try:
        nn.signal(signal.SIGTERM)
        assert nn.wait() == 0, nn.log()
    finally:
        s.close()


def test_cannot_bind_port_in_use(daemon):
    nn = daemon()
    other = daemon(start=False)
    other.conf.write_text("[namenode]\naddress = %s\nmeta_dir = %s\n"
                          % (nn.addr, other.dir / "meta"))
    other.start(wait=False)
    rc = other.wait()
    assert rc == 1, other.log()
    assert nn.addr in other.log() or str(nn.port) in other.log()


def test_second_namenode_on_same_meta_dir_refused(daemon):
    """LevelDB is locked: a second namenode on the same meta dir fails
    cleanly (exit 1) and the first keeps serving."""
    nn = daemon()
    other = daemon(start=False)
    other.conf.write_text("[namenode]\naddress = %s\nmeta_dir = %s\n"
                          % (other.addr, nn.dir / "meta"))
    other.start(wait=False)
    assert other.wait() == 1, other.log()
    assert dfs_at(nn.addr, "stat", "/")[0] == 0


# ------------------------------------------------------------ raw protocol

def frame(type_, reqid, body, length=None):
    return struct.pack(">IBBHII", MAGIC, 1, 0, type_, reqid,
                       len(body) if length is None else length) + body


def pb_string(field, s):
    b = s.encode()
    return bytes([field << 3 | 2]) + varint(len(b)) + b


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes"
                           % (len(buf), n))
        buf += chunk
    return buf


def read_frame(s):
    hdr = recv_exact(s, 16)
    magic, ver, flags, type_, reqid, length = struct.unpack(">IBBHII", hdr)
    assert magic == MAGIC and ver == 1, hdr.hex()
    return type_, reqid, recv_exact(s, length)


def connect(addr, timeout=10):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout * SLOW)
    return s


def closed_by_server(s, timeout=10):
    """True when the server closes s within timeout: recv returns b'' (or
    the connection is reset).  Any bytes before that (an error reply) are
    read and ignored."""
    s.settimeout(0.5)
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def send_all(s, data):
    try:
        s.sendall(data)
    except (ConnectionResetError, BrokenPipeError):
        pass  # the server may close before it read everything


def assert_serving(cluster, pid):
    assert cluster.pid("namenode") == pid, "namenode died:\n" + \
        cluster.log("namenode")[-3000:]
    rc, out, err = cluster.dfs("stat", "/")
    assert rc == 0, err


def test_raw_stat_request_answered(cluster):
    """The documented frame format works by hand: StatReq{path} gets a
    StatResp with the same request id; pipelined requests each get theirs."""
    s = connect(cluster.addr)
    try:
        s.sendall(frame(STAT_REQ, 7, pb_string(1, "/")))
        type_, reqid, body = read_frame(s)
        assert (type_, reqid) == (STAT_RESP, 7)
        assert body[:2] == b"\x08\x00", body.hex()   # status = OK
        s.sendall(frame(STAT_REQ, 8, pb_string(1, "/nope")) +
                  frame(STAT_REQ, 9, pb_string(1, "/")))
        got = {}
        for _ in range(2):
            type_, reqid, body = read_frame(s)
            assert type_ == STAT_RESP
            got[reqid] = body[:2]
        assert got == {8: b"\x08\x01", 9: b"\x08\x00"}   # NOENT, OK
    finally:
        s.close()


def test_random_bytes_close_connection(cluster):
    pid = cluster.pid("namenode")
    rnd = random.Random(1234)
    for size in (1, 15, 16, 100, 4096, 1 << 16):
        data = bytes([0]) + bytes(rnd.getrandbits(8) for _ in range(size - 1))
        s = connect(cluster.addr)
        try:
            send_all(s, data)
            if size < 16:
                s.shutdown(socket.SHUT_WR)
            assert closed_by_server(s), "open after %d random bytes" % size
        finally:
            s.close()
    assert_serving(cluster, pid)


def hdr(magic=MAGIC, version=1, type_=STAT_REQ, length=4):
    return struct.pack(">IBBHII", magic, version, 0, type_, 1, length)


BAD_HEADERS = {
    "bad-magic": hdr(magic=0x12345678),
    "bad-version": hdr(version=99),
    "bad-type": hdr(type_=0xFFFF),
    "huge-length": hdr(length=0xFFFFFFFF),
    "just-over-limit": hdr(length=MAX_CONTROL + 1),
}

TRUNCATED = {
    "half-header": frame(STAT_REQ, 1, b"")[:9],
    "header-no-body": frame(STAT_REQ, 1, b"", length=10),
    "header-half-body": frame(STAT_REQ, 1, pb_string(1, "/abc"))[:18],
    "max-length-some-body": frame(STAT_REQ, 1, b"x" * 1000, length=MAX_CONTROL),
}

UNDECODABLE = {
    "garbage-body": frame(STAT_REQ, 1, b"\xff" * 10),
    "empty-body-missing-required-path": frame(STAT_REQ, 1, b""),
    "string-longer-than-body": frame(STAT_REQ, 1, b"\x0a\x7f/abc"),
    "overlong-varint": frame(LIST_REQ, 1, b"\x0a\x01/\x18" + b"\xff" * 11),
}


@pytest.mark.parametrize("name", list(BAD_HEADERS))
def test_bad_header_closes_connection(cluster, name):
    """Rejected from the header alone: closed without waiting for a body."""
    pid = cluster.pid("namenode")
    s = connect(cluster.addr)
    try:
        send_all(s, BAD_HEADERS[name])
        assert closed_by_server(s), name
    finally:
        s.close()
    assert_serving(cluster, pid)


@pytest.mark.parametrize("name", list(TRUNCATED))
def test_truncated_frame_closes_connection(cluster, name):
    """The client sends part of a frame and then EOF: closed."""
    pid = cluster.pid("namenode")
    s = connect(cluster.addr)
    try:
        send_all(s, TRUNCATED[name])
        s.shutdown(socket.SHUT_WR)
        assert closed_by_server(s), name
    finally:
        s.close()
    assert_serving(cluster, pid)


@pytest.mark.parametrize("name", list(UNDECODABLE))
def test_undecodable_body_closes_connection(cluster, name):
    """A whole frame whose body is not a valid message: the server may
    answer with an error, then closes that connection."""
    pid = cluster.pid("namenode")
    s = connect(cluster.addr)
    try:
        send_all(s, UNDECODABLE[name])
        assert closed_by_server(s), name
    finally:
        s.close()
    assert_serving(cluster, pid)


def test_unexpected_message_type(cluster):
    """A response type sent to the server: it answers with an error or
    closes; either way it goes on serving."""
    pid = cluster.pid("namenode")
    for t in (STAT_RESP, 0x40, 0x60, 0x70):
        s = connect(cluster.addr)
        try:
            send_all(s, frame(t, 1, b"\x08\x00"))
            s.shutdown(socket.SHUT_WR)
            assert closed_by_server(s), hex(t)
        finally:
            s.close()
    assert_serving(cluster, pid)


def test_bad_connections_do_not_block_others(cluster):
    """While many connections hold partial frames or announce huge bodies,
    other clients are served; after they go, still served."""
    pid = cluster.pid("namenode")
    socks = []
    try:
        for i in range(32):
            s = connect(cluster.addr)
            if i % 2:
                s.sendall(frame(STAT_REQ, i, b"")[:7])          # slow header
            else:
                s.sendall(frame(STAT_REQ, i, b"abc", length=MAX_CONTROL))
            socks.append(s)
        for _ in range(3):
            assert_serving(cluster, pid)
        cluster.ok("mkdir", "/meanwhile")
    finally:
        for s in socks:
            s.close()
    assert_serving(cluster, pid)
    assert cluster.stat("/meanwhile")["type"] == "dir"


def test_client_vanishing_mid_reply(cluster):
    """Clients that send many requests and close without reading (the
    server's writes then fail with EPIPE / ECONNRESET) do no harm."""
    pid = cluster.pid("namenode")
    burst = b"".join(frame(STAT_REQ, i, pb_string(1, "/")) for i in range(2000))
    for _ in range(10):
        s = connect(cluster.addr)
        send_all(s, burst)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))              # close with RST
        s.close()
    for _ in range(200):
        connect(cluster.addr).close()
    assert_serving(cluster, pid)


def test_fuzz_mutated_frames(cluster):
    """Valid frames with random bytes flipped: each connection either gets
    answers or is closed; the daemon survives all of them."""
    pid = cluster.pid("namenode")
    rnd = random.Random(99)
    good = frame(STAT_REQ, 5, pb_string(1, "/a/b")) + \
        frame(LIST_REQ, 6, pb_string(1, "/") + b"\x18\x0a")
    for _ in range(200):
        data = bytearray(good)
        for _ in range(rnd.randint(1, 4)):
            data[rnd.randrange(len(data))] = rnd.getrandbits(8)
        s = connect(cluster.addr)
        try:
            send_all(s, bytes(data))
            s.shutdown(socket.SHUT_WR)
            assert closed_by_server(s)
        finally:
            s.close()
    assert_serving(cluster, pid)


# ------------------------------------------------- idle and surplus sockets

def stat_ok(s, reqid):
    """A StatReq{"/"} on raw socket s is answered OK with its request id."""
    s.sendall(frame(STAT_REQ, reqid, pb_string(1, "/")))
    type_, got, body = read_frame(s)
    assert (type_, got, body[:2]) == (STAT_RESP, reqid, b"\x08\x00")


def test_idle_connection_is_closed(daemon):
    """namenode.idle_timeout_ms: a connection that sends nothing for that
    long is closed; one that keeps sending requests is kept."""
    nn = daemon(extra=["-o", "namenode.idle_timeout_ms=1000"])
    t0 = time.monotonic()             # before the server can start its timer
    idle, busy = connect(nn.addr), connect(nn.addr)
    try:
        idle.settimeout(0.2)
        reqid, closed = 1, False
        deadline = t0 + 15 * SLOW
        while not closed and time.monotonic() < deadline:
            stat_ok(busy, reqid)
            reqid += 1
            try:
                closed = idle.recv(1) == b""
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
        assert closed, "an idle connection was still open after 15 s"
        # libevent starts the timer from its cached loop time, which may
        # precede the accept by a loop turn: a few ms early is on time.
        assert time.monotonic() - t0 >= 0.9, "closed before the idle timeout"
        stat_ok(busy, reqid)          # requests every 0.2 s kept it open
    finally:
        idle.close()
        busy.close()


def hold_connections(addr, n, probe):
    """Open n connections to addr and check each is served by probe(s, i)."""
    held = []
    for i in range(n):
        held.append(connect(addr))
        probe(held[-1], i + 1)
    return held


def test_namenode_refuses_connections_over_max(daemon):
    """namenode.max_connections: one connection more is closed at once and
    logged; the daemon keeps serving those it has, and new ones once the
    others closed."""
    nn = daemon(extra=["-o", "namenode.max_connections=16"])
    held = hold_connections(nn.addr, 16, stat_ok)
    try:
        extra = connect(nn.addr)
        assert closed_by_server(extra), "a 17th connection was kept"
        extra.close()
        stat_ok(held[0], 100)
        assert "16 connections open, the most allowed: refused 1 more" in nn.log()
    finally:
        for s in held:
            s.close()
    wait_for(lambda: dfs_at(nn.addr, "stat", "/")[0] == 0, 10,
             "the namenode to serve new connections again")


@pytest.mark.cluster(datanodes=1, overrides=["datanode.max_connections=16",
                                             "namenode.replication=1"])
def test_datanode_refuses_connections_over_max(cluster, tmp_path):
    """datanode.max_connections: the same cap on the transfer port."""
    addr = "127.0.0.1:%d" % cluster.datanode_port("datanode-1")
    held = hold_connections(addr, 16, lambda s, i: None)
    try:
        extra = connect(addr)
        assert closed_by_server(extra), "a 17th connection was kept"
        extra.close()
        for s in held:                 # accepted and still open
            s.settimeout(0.05)
            with pytest.raises(socket.timeout):
                s.recv(1)
        assert "16 connections open, the most allowed" in \
            cluster.log("datanode-1")
    finally:
        for s in held:
            s.close()
    src = tmp_path / "f"
    src.write_bytes(b"x" * 5000)

    def put_ok():
        return cluster.dfs("put", "-f", src, "/f")[0] == 0
    wait_for(put_ok, 15, "a put through the datanode once the others closed")
    assert cluster.ok("cat", "/f", binary=True) == b"x" * 5000
