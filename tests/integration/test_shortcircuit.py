"""Short-circuit local reads: a client on a datanode's host reads the
replica files through descriptors the datanode passes on its UNIX socket
(datanode.domain_socket; tools/cluster gives every datanode one).

The C API side runs through tests/tools/sc_check.c (dfs-sc-check), which
keeps one dfs_fs open across steps so its descriptor cache lives; the
datanode's socket protocol and its shared-memory slots are driven directly
from Python (frames of libdfs/common/proto/frame.h, ScOpenReq/ScOpenResp
of dfs.proto encoded by hand, slots of libdfs/common/scslot.h).
"""

import mmap
import os
import socket
import struct
import subprocess

import pytest

from conftest import BUILD, DATANODE, SLOW, blob, flip_byte, run, sha256 as sha, wait_for

MiB = 1024 * 1024
SC_CHECK = BUILD / "tests" / "dfs-sc-check"
PREAD_CHECK = BUILD / "tests" / "dfs-pread-check"
FAST_HB = "datanode.heartbeat_ms=500"

# frame.h / scslot.h
FRAME_MAGIC = 0x44465331
MSG_SC_OPEN_REQ, MSG_SC_OPEN_RESP, MSG_SC_RELEASE_REQ = 0x74, 0x75, 0x76
SLOT_SIZE, SEGMENT_SIZE = 64, 256 * 64
SC_VALID, SC_INVALID = 1, 2
ERR_NOENT, ERR_STALE = 1, 18


# ------------------------------------------------------------ helpers

class ScCheck:
    """A running dfs-sc-check: one dfs_fs, commands one line at a time."""

    def __init__(self, addr, tmp_path, env=None):
        self.tmp = tmp_path
        self.n = 0
        e = dict(os.environ if env is None else env)
        e.pop("DFS_NAMENODE", None)
        if env is None:
            e.pop("DFS_CONF", None)
        self.errf = open(tmp_path / "sc-check.err", "w+")
        self.p = subprocess.Popen([str(SC_CHECK), "-n", addr], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.errf, text=True,
                                  env=e)

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline()
        assert out, "dfs-sc-check died: %s" % self.stderr()
        return out.split(None, 2) if out.startswith("err") else out.split()

    def read(self, path):
        """Read path whole with a fresh handle: (bytes, sc bytes, local bytes)."""
        self.n += 1
        out = self.tmp / ("read-%d" % self.n)
        r = self.cmd("read %s %s" % (path, out))
        assert r[0] == "ok", r
        return out.read_bytes(), int(r[2]), int(r[3])

    def hread(self, off, length):
        """pread through the held handle: ("ok", data, sc) or ("err", msg)."""
        self.n += 1
        out = self.tmp / ("hread-%d" % self.n)
        r = self.cmd("hread %d %d %s" % (off, length, out))
        if r[0] != "ok":
            return ("err", " ".join(r[1:]))
        return ("ok", out.read_bytes(), int(r[2]))

    def stderr(self):
        if self.errf.closed:
            return self.err_text
        self.errf.flush()
        self.errf.seek(0)
        return self.errf.read()

    def close(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.write("quit\n")
                self.p.stdin.flush()
            except BrokenPipeError:
                pass
        try:
            rc = self.p.wait(timeout=30 * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = None
        self.err_text = self.stderr()
        self.errf.close()
        return rc


@pytest.fixture
def sc_check(cluster, tmp_path):
    started = []

    def make(env=None):
        s = ScCheck(cluster.addr, tmp_path, env)
        started.append(s)
        return s
    yield make
    for s in started:
        rc = s.close()
        assert rc == 0, "dfs-sc-check exit %s: %s" % (rc, s.stderr())
        assert "ERROR: AddressSanitizer" not in s.stderr()


def put(cluster, tmp_path, remote, payload, block="1M"):
    src = tmp_path / ("src-" + remote.strip("/").replace("/", "_"))
    src.write_bytes(payload)
    cluster.ok("put", "-f", "-b", block, src, remote)
    return src


def sock_path(cluster, name):
    return cluster.conf_value(name + ".conf", "datanode", "domain_socket")


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def frame(mtype, reqid, body):
    return struct.pack(">IBBHII", FRAME_MAGIC, 1, 0, mtype, reqid, len(body)) + body


def open_req(block_id, gs, reqid=1):
    eb = b"\x08" + varint(block_id) + b"\x10" + varint(gs)
    return frame(MSG_SC_OPEN_REQ, reqid, b"\x0a" + varint(len(eb)) + eb)


def decode_fields(body):
    """A protobuf message's fields: {number: value} (varints and bytes)."""
    fields, i = {}, 0
    while i < len(body):
        key, i = _varint_at(body, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint_at(body, i)
        elif wt == 2:
            n, i = _varint_at(body, i)
            v, i = body[i:i + n], i + n
        else:
            raise AssertionError("wire type %d" % wt)
        fields[num] = v
    return fields


def _varint_at(b, i):
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def sc_open(s, block_id, gs, reqid=1):
    """ScOpenReq on connected socket s: (fields of ScOpenResp, fds)."""
    s.sendall(open_req(block_id, gs, reqid))
    data, fds, _, _ = socket.recv_fds(s, 4096, 4)
    assert len(data) >= 16, data
    magic, _, _, mtype, rid, n = struct.unpack(">IBBHII", data[:16])
    assert (magic, mtype, rid, n) == (FRAME_MAGIC, MSG_SC_OPEN_RESP, reqid, len(data) - 16)
    return decode_fields(data[16:]), fds


def slot(seg, i):
    """(state, block id, genstamp, bytes_read) of slot i of a segment."""
    state, _, bid, gs, nread = struct.unpack_from("<IIQQQ", seg, i * SLOT_SIZE)
    return state, bid, gs, nread


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10 * SLOW)
    s.connect(path)
    return s


# ------------------------------------------------------------ the fast path

@pytest.mark.cluster(datanodes=1, overrides=["namenode.replication=1"])
def test_fast_path_reads_replica_files(cluster, sc_check, tmp_path):
    """A local replica is read through passed descriptors: the read
    statistics count every byte as short-circuit, the bytes are exact, and
    random unaligned preads (bounce buffer) match too."""
    payload = blob(3 * MiB + 12345, 1)
    src = put(cluster, tmp_path, "/f", payload)
    assert sock_path(cluster, "datanode-1")
    sc = sc_check()
    data, nsc, nlocal = sc.read("/f")
    assert sha(data) == sha(payload)
    assert nsc == len(payload) and nlocal == len(payload)
    # Again through the cache (same descriptors).
    data, nsc, _ = sc.read("/f")
    assert sha(data) == sha(payload) and nsc == len(payload)
    r = subprocess.run([str(PREAD_CHECK), "-n", cluster.addr, "-i", "300", "/f", str(src)],
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert r.returncode == 0, r.stderr
    # The shell reads through libdfs too.
    assert sha(cluster.ok("cat", "/f", binary=True)) == sha(payload)


@pytest.mark.cluster(datanodes=1, overrides=["namenode.replication=1"])
def test_socket_protocol_slots(cluster, tmp_path):
    """The datanode side: a grant passes the data and meta descriptors and
    the slot segment; the slot is VALID for that block and generation
    stamp; a wrong generation stamp or block is refused without
    descriptors; deleting the file turns the slot INVALID."""
    payload = blob(200000, 2)
    put(cluster, tmp_path, "/p", payload)
    b = cluster.locate("/p")["blocks"][0]
    bid, gs = b["id"], b["genstamp"]
    s = connect(sock_path(cluster, "datanode-1"))
    try:
        f, fds = sc_open(s, bid, gs)
        assert f[1] == 0, f                     # OK
        assert len(fds) == 3 and f[6] == SEGMENT_SIZE and f[4] == len(payload)
        data_fd, meta_fd, seg_fd = fds
        assert os.pread(data_fd, len(payload) + 10, 0) == payload
        assert os.pread(meta_fd, 4, 0) == b"DFSM"
        seg = mmap.mmap(seg_fd, SEGMENT_SIZE)
        idx = f[3]
        assert slot(seg, idx)[:3] == (SC_VALID, bid, gs)

        f2, fds2 = sc_open(s, bid, gs + 1, reqid=2)
        assert f2[1] == ERR_STALE and fds2 == [], f2
        f3, fds3 = sc_open(s, bid + 1000, gs, reqid=3)
        assert f3[1] == ERR_NOENT and fds3 == [], f3
        # A second grant of the same replica: no segment this time.
        f4, fds4 = sc_open(s, bid, gs, reqid=4)
        assert f4[1] == 0 and len(fds4) == 2 and 6 not in f4 and f4[3] != idx
        for fd in fds4:
            os.close(fd)

        cluster.ok("rm", "/p")
        wait_for(lambda: slot(seg, idx)[0] == SC_INVALID, 30 * SLOW,
                 "the datanode to invalidate the slot of the deleted replica")
        assert slot(seg, f4[3])[0] == SC_INVALID
        for fd in fds:
            os.close(fd)
        seg.close()
    finally:
        s.close()


@pytest.mark.cluster(datanodes=1, overrides=["namenode.replication=1"])
def test_malformed_frames_close_that_connection_only(cluster, sc_check, tmp_path):
    """Garbage, an unknown message or a release of a slot not in use closes
    that connection (its slots turn INVALID); other connections, new ones
    and TCP reads go on."""
    payload = blob(100000, 3)
    put(cluster, tmp_path, "/m", payload)
    b = cluster.locate("/m")["blocks"][0]
    path = sock_path(cluster, "datanode-1")
    keep = connect(path)
    f, kfds = sc_open(keep, b["id"], b["genstamp"])
    assert f[1] == 0
    for bad in (b"hello, datanode", b"\x00" * 16,
                frame(0x62, 1, b""),                       # READBLOCK on the wrong socket
                frame(MSG_SC_RELEASE_REQ, 1, b"\x08\x05"),  # slot 5 not in use
                frame(MSG_SC_OPEN_REQ, 1, b"\x0a\x02\x08"),  # truncated message
                struct.pack(">IBBHII", FRAME_MAGIC, 1, 0, MSG_SC_OPEN_REQ, 1, 1 << 30)):
        s = connect(path)
        f, fds = sc_open(s, b["id"], b["genstamp"])
        assert f[1] == 0
        seg = mmap.mmap(fds[2], SEGMENT_SIZE)
        s.sendall(bad)
        assert s.recv(4096) == b"", bad             # closed by the datanode
        wait_for(lambda: slot(seg, f[3])[0] == SC_INVALID, 10 * SLOW,
                 "the slots of the closed connection to turn INVALID")
        seg.close()
        for fd in fds:
            os.close(fd)
        s.close()
    # The first connection still works.
    f, fds = sc_open(keep, b["id"], b["genstamp"], reqid=7)
    assert f[1] == 0 and len(fds) == 2
    for fd in fds + kfds:
        os.close(fd)
    keep.close()
    data, nsc, _ = sc_check().read("/m")
    assert data == payload and nsc == len(payload)
    assert "short-circuit connection" in cluster.log("datanode-1")


# ------------------------------------------------------------ corruption

@pytest.mark.cluster(datanodes=2, overrides=[FAST_HB, "namenode.replication=2"])
def test_corrupt_replica_reported_and_skipped(cluster, sc_check, tmp_path):
    """One byte flipped in one replica: every short-circuit read still
    returns exactly the right bytes (the mismatch moves it to the other
    replica), and the reader's report makes the namenode list that replica
    as corrupt."""
    payload = blob(2 * MiB + 4321, 4)
    put(cluster, tmp_path, "/c", payload)
    b = cluster.locate("/c")["blocks"][1]
    victim_port = b["locations"][0]["port"]
    victim = cluster.datanode_by_port()[victim_port]
    files = cluster.replica_files(victim, b["id"])
    assert len(files) == 1, files
    flip_byte(files[0], 70000)
    sc = sc_check()

    # Replicas are tried in random order: read (fresh handles) until the
    # bad one was met.  Every read must be right.
    def flagged():
        data, nsc, _ = sc.read("/c")
        assert sha(data) == sha(payload)
        assert nsc > 0
        locs = cluster.locate("/c")["blocks"][1]["locations"]
        return [l for l in locs if l.get("corrupt")]
    bad = wait_for(flagged, 60 * SLOW, "the namenode to list the corrupt replica")
    assert [l["port"] for l in bad] == [victim_port]
    assert "short-circuit" in sc.stderr() and "checksum mismatch" in sc.stderr()
    data, _, _ = sc.read("/c")
    assert sha(data) == sha(payload)


# ------------------------------------------------------------ staleness

@pytest.mark.cluster(datanodes=1, overrides=[FAST_HB, "namenode.replication=1"])
def test_no_stale_read_after_delete(cluster, sc_check, tmp_path):
    """Descriptors cached, file deleted (its replica unlinked): a read
    through the handle opened before fails cleanly, never with the old
    bytes; the path re-created with other bytes reads the new bytes."""
    old = blob(MiB + 777, 5)
    put(cluster, tmp_path, "/d", old)
    bid = cluster.locate("/d")["blocks"][0]["id"]
    sc = sc_check()
    data, nsc, _ = sc.read("/d")               # caches the descriptors
    assert data == old and nsc == len(old)
    assert sc.cmd("hold /d") == ["ok", str(len(old))]
    r = sc.hread(0, 1000)
    assert r[0] == "ok" and r[1] == old[:1000] and r[2] == 1000
    cluster.ok("rm", "/d")
    wait_for(lambda: not cluster.replica_files("datanode-1", bid), 30 * SLOW,
             "the replica to be deleted")
    r = sc.hread(0, len(old))
    assert r[0] == "err", "read %d bytes of a deleted file" % len(r[1])
    new = blob(MiB + 777, 6)
    put(cluster, tmp_path, "/d", new)
    data, nsc, _ = sc.read("/d")
    assert data == new and nsc == len(new)


@pytest.mark.cluster(datanodes=1, overrides=[FAST_HB, "namenode.replication=1"])
def test_no_stale_read_after_append(cluster, sc_check, tmp_path):
    """Descriptors of the last block cached under its old generation stamp;
    append: a new reader sees the new length and bytes (short-circuit
    again once the block is complete); the handle opened before returns
    its old bytes, or an error, never anything else."""
    first = blob(100000, 7)              # a partial last chunk
    put(cluster, tmp_path, "/a", first)
    gs0 = cluster.locate("/a")["blocks"][0]["genstamp"]
    sc = sc_check()
    data, nsc, _ = sc.read("/a")
    assert data == first and nsc == len(first)
    assert sc.cmd("hold /a")[0] == "ok"
    more = blob(50000, 8)
    (tmp_path / "more").write_bytes(more)
    cluster.ok("append", tmp_path / "more", "/a")
    assert cluster.locate("/a")["blocks"][0]["genstamp"] > gs0
    data, nsc, _ = sc.read("/a")
    assert data == first + more and nsc == len(first + more)
    r = sc.hread(0, len(first))
    assert r[0] == "err" or r[1] == first, r[:1]


# ------------------------------------------------------------ off and failing

@pytest.mark.cluster(datanodes=1, overrides=["namenode.replication=1"])
def test_client_option_off_reads_over_tcp(cluster, sc_check, tmp_path):
    """client.short_circuit = 0: the same bytes, all over TCP."""
    payload = blob(MiB + 99, 9)
    put(cluster, tmp_path, "/o", payload)
    conf = tmp_path / "client.conf"
    conf.write_text("[client]\nshort_circuit = 0\n")
    env = dict(os.environ, DFS_CONF=str(conf))
    data, nsc, nlocal = sc_check(env).read("/o")
    assert data == payload and nsc == 0 and nlocal == len(payload)


@pytest.mark.cluster(datanodes=1, overrides=["namenode.replication=1",
                                             "datanode.domain_socket="])
def test_datanode_without_socket_reads_over_tcp(cluster, sc_check, tmp_path):
    payload = blob(MiB + 99, 10)
    put(cluster, tmp_path, "/n", payload)
    assert "short-circuit" not in cluster.log("datanode-1")
    data, nsc, nlocal = sc_check().read("/n")
    assert data == payload and nsc == 0 and nlocal == len(payload)


@pytest.mark.cluster(datanodes=1, overrides=["namenode.replication=1"])
def test_missing_or_dead_socket_falls_back(cluster, sc_check, tmp_path):
    """The socket file gone, then a dead socket (nobody listening) at its
    path: reads fall back to TCP silently, same bytes.  A restarted
    datanode replaces the dead socket and short-circuit works again."""
    payload = blob(MiB + 5, 11)
    put(cluster, tmp_path, "/s", payload)
    path = sock_path(cluster, "datanode-1")
    os.unlink(path)
    data, nsc, _ = sc_check().read("/s")
    assert data == payload and nsc == 0
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    dead.bind(path)
    dead.close()                          # the file stays: ECONNREFUSED
    data, nsc, _ = sc_check().read("/s")
    assert data == payload and nsc == 0
    cluster.stop("datanode-1")
    cluster.start()
    data, nsc, _ = sc_check().read("/s")
    assert data == payload and nsc == len(payload)


@pytest.mark.cluster(datanodes=1, overrides=["namenode.replication=1"])
def test_datanode_restart_drops_cached_descriptors(cluster, sc_check, tmp_path):
    """A datanode that goes away cannot invalidate the slots it granted:
    the client drops its cached descriptors with the connection and asks
    the new datanode process again."""
    payload = blob(MiB + 5, 12)
    put(cluster, tmp_path, "/r", payload)
    sc = sc_check()
    data, nsc, _ = sc.read("/r")
    assert data == payload and nsc == len(payload)
    cluster.stop("datanode-1")
    cluster.start()
    data, nsc, _ = sc.read("/r")
    assert data == payload and nsc == len(payload)
    assert "connection closed" not in sc.stderr()


@pytest.mark.cluster(datanodes=1, overrides=["namenode.replication=1"])
def test_socket_in_use_is_not_taken(cluster, sc_check, tmp_path):
    """A second datanode configured with a socket path another one listens
    on does not start (exit 1, the reason named); the first one keeps
    serving short-circuit reads."""
    path = sock_path(cluster, "datanode-1")
    rc, out, err = run([DATANODE, "-o", "datanode.data_dirs=%s" % (tmp_path / "d2"),
                        "-o", "datanode.address=127.0.0.1:0",
                        "-o", "datanode.namenode=%s" % cluster.addr,
                        "-o", "datanode.domain_socket=%s" % path], timeout=60 * SLOW)
    assert rc == 1, (rc, err)
    assert "short-circuit socket %s: in use by another process" % path in err
    payload = blob(300000, 13)
    put(cluster, tmp_path, "/u", payload)
    data, nsc, _ = sc_check().read("/u")
    assert data == payload and nsc == len(payload)
