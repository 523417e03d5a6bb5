"""Datanode-to-datanode replica copies (re-replication, datanode/dn_copy.c).

The namenode does not send CMD_REPLICATE yet, so these tests drive the
copy function itself: dfs-copy-check stores a local file as a finalized
replica in a block store of its own and copies it with dn_copy_block, the
function the datanode's copy threads run, to REAL datanodes of a cluster.
What is checked is on the receivers' disks:

* a copy to one datanode, and through a pipeline of two, leaves a
  finalized replica with the source's exact bytes and .meta file on each;
* a corrupt source (one byte flipped after its checksums were stored) is
  caught before the bad chunk is sent: the copy fails naming the chunk,
  the on_corrupt callback fires, nothing is finalized on the target and
  its partial replica is parked (its upstream went away);
* a replica that is not here as asked (other genstamp, other length) is
  skipped without contacting anyone; a target that refuses (it has the
  replica already) or cannot be reached fails the copy with its address.

And once through a whole datanode: a dfs-datanode whose namenode is a fake
one (below, speaking the wire protocol by hand) gets CMD_REPLICATE in a
heartbeat answer and its copy threads carry it out.
"""

import random
import socket
import struct
import subprocess
import threading

import pytest

from conftest import (BUILD, DATANODE, SLOW, blob, free_port, run,
                      sanitizer_report, wait_for)

pytestmark = pytest.mark.cluster(datanodes=2,
                                 overrides=["datanode.heartbeat_ms=500"])

COPY_CHECK = BUILD / "tests" / "dfs-copy-check"
KiB, MiB = 1024, 1024 * 1024
CHUNK = 16 * KiB


def new_id():
    """A block id the namenode never hands out (its ids are small)."""
    return (1 << 50) + random.randrange(1 << 40)


def target(c, name):
    return "127.0.0.1:%d" % c.datanode_port(name)


def copy_check(tmp_path, block_id, payload, targets, *opts):
    """Run dfs-copy-check with a fresh source dir; (rc, out, err, srcdir)."""
    src = tmp_path / ("src-%d" % block_id)
    local = tmp_path / ("local-%d" % block_id)
    local.write_bytes(payload)
    rc, out, err = run([COPY_CHECK, "-d", src] + list(opts) +
                       [block_id, local] + list(targets))
    assert "runtime error" not in err and "Sanitizer" not in err, err
    return rc, out, err, src


def finalized(c, name, block_id):
    return [p for p in c.replica_files(name, block_id)
            if "finalized" in p.parts]


def source_meta(src, block_id):
    return next(src.glob("finalized/subdir*/subdir*/blk_%d_*.meta" % block_id))


@pytest.mark.parametrize("ntargets", [1, 2], ids=["one", "pipeline"])
def test_copy_lands_identical_replicas(cluster, tmp_path, ntargets):
    names = cluster.datanode_names()[:ntargets]
    bid = new_id()
    payload = blob(3 * MiB + 1234, seed=ntargets)   # 4 packets, a short last chunk
    rc, out, err, src = copy_check(tmp_path, bid, payload,
                                   [target(cluster, n) for n in names], "-g", "7")
    assert rc == 0, out + err
    assert out.startswith("copied %d bytes" % len(payload)), out
    assert "corrupt" not in out
    meta = source_meta(src, bid).read_bytes()
    for n in names:
        files = finalized(cluster, n, bid)
        assert len(files) == 1, (n, cluster.replica_files(n, bid))
        assert files[0].read_bytes() == payload, n
        m = files[0].with_name("blk_%d_7.meta" % bid)
        assert m.read_bytes() == meta, n


def test_copy_empty_and_tiny_replicas(cluster, tmp_path):
    dn = cluster.datanode_names()[0]
    for size in (0, 1, CHUNK, CHUNK + 1):
        bid = new_id()
        payload = blob(size, seed=size)
        rc, out, err, _ = copy_check(tmp_path, bid, payload, [target(cluster, dn)])
        assert rc == 0, (size, out, err)
        files = finalized(cluster, dn, bid)
        assert len(files) == 1 and files[0].read_bytes() == payload, size


def test_corrupt_source_is_caught_and_reported(cluster, tmp_path):
    dn = cluster.datanode_names()[0]
    bid = new_id()
    payload = blob(4 * MiB, seed=99)
    bad_at = 2 * MiB + 5 * CHUNK + 100            # chunk 133, the third packet
    rc, out, err, _ = copy_check(tmp_path, bid, payload, [target(cluster, dn)],
                                 "-x", str(bad_at))
    assert rc == 1, out + err
    chunk = bad_at // CHUNK
    assert ("corrupt blk_%d gs 1: chunk %d (offset %d): checksum mismatch"
            % (bid, chunk, chunk * CHUNK)) in out, out
    assert "corrupt: chunk %d" % chunk in out, out
    assert "WARN" in err and "blk_%d" % bid in err and "corrupt" in err, err
    # Nothing finalized on the target; the partial replica is parked in
    # rbw/ (its writer went away: left for recovery or the namenode).
    wait_for(lambda: "blk_%d_1 parked" % bid in cluster.log(dn),
             what="the abandoned replica to be parked on %s" % dn)
    assert [p.parent.name for p in cluster.replica_files(dn, bid)] == ["rbw"]


def test_replica_not_here_as_asked_is_skipped(cluster, tmp_path):
    dn = cluster.datanode_names()[0]
    payload = blob(100 * KiB, seed=5)
    for opts, why in ((["-g", "3", "-A", "4"], "generation stamp"),
                      (["-L", str(len(payload) + 1)], "bytes")):
        bid = new_id()
        rc, out, err, _ = copy_check(tmp_path, bid, payload, [target(cluster, dn)],
                                     *opts)
        assert rc == 1 and out.startswith("skipped: "), out + err
        assert why in out, out
        assert "corrupt" not in out
        assert not cluster.replica_files(dn, bid)


def test_refusing_or_unreachable_target_fails_the_copy(cluster, tmp_path):
    dn = cluster.datanode_names()[0]
    payload = blob(200 * KiB, seed=6)
    bid = new_id()
    rc, out, err, _ = copy_check(tmp_path, bid, payload, [target(cluster, dn)])
    assert rc == 0, out + err
    # The same replica again: the target has it and refuses the write.
    tmp2 = tmp_path / "again"
    tmp2.mkdir()
    rc, out, err, _ = copy_check(tmp2, bid, payload, [target(cluster, dn)])
    assert rc == 1, out + err
    assert out.startswith("failed: datanode %s refused the write" % target(cluster, dn)), out
    assert "already exists" in out, out
    # The first copy's replica is untouched.
    files = finalized(cluster, dn, bid)
    assert len(files) == 1 and files[0].read_bytes() == payload

    # A port nobody listens on.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        rc, out, err, _ = copy_check(tmp_path, new_id(), payload,
                                     ["127.0.0.1:%d" % port])
    assert rc == 1 and out.startswith("failed: cannot connect to 127.0.0.1:%d" % port), \
        out + err


def test_copy_threads_bounds():
    for bad in ("0", "17"):
        rc, out, err = run([DATANODE, "--print-config", "-o",
                            "datanode.copy_threads=" + bad])
        assert rc == 2 and "copy_threads" in err, (bad, rc, err)
    rc, out, err = run([DATANODE, "--print-config"])
    assert rc == 0 and "copy_threads = 2" in out, out


# ------------------------------------------------- through a whole datanode

MAGIC = 0x44465331
REGISTER_REQ, HEARTBEAT_REQ, BLOCKREPORT_REQ = 0x40, 0x42, 0x44
CMD_REPLICATE = 2


def varint(v):
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | 0x80 if v else b)
        if not v:
            return bytes(out)


def pb_uint(field, v):
    return varint(field << 3) + varint(v)


def pb_bytes(field, b):
    if isinstance(b, str):
        b = b.encode()
    return varint(field << 3 | 2) + varint(len(b)) + b


def replicate_cmd(blocks, targets):
    """DatanodeCommand{CMD_REPLICATE, blocks [(id, gs, len)], targets
    [(host, port)]}, encoded."""
    body = pb_uint(1, CMD_REPLICATE)
    for bid, gs, ln in blocks:
        body += pb_bytes(2, pb_uint(1, bid) + pb_uint(2, gs) + pb_uint(3, ln))
    for host, port in targets:
        body += pb_bytes(3, pb_bytes(1, "DS-fake") + pb_bytes(2, host) +
                         pb_uint(3, port))
    return body


class FakeNamenode:
    """Accepts a datanode's registration, heartbeats and block reports;
    the first heartbeat answer after arm() carries the given commands."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.addr = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.commands = None
        self.sent = threading.Event()
        self.heartbeats = 0
        self.received = []                 # (type, body) of every request
        self.lock = threading.Lock()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def arm(self, commands):
        with self.lock:
            self.commands = commands

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _recv(self, c, n):
        buf = b""
        while len(buf) < n:
            part = c.recv(n - len(buf))
            if not part:
                raise EOFError
            buf += part
        return buf

    def _serve(self, c):
        try:
            while True:
                magic, _, _, type_, reqid, length = struct.unpack(
                    ">IBBHII", self._recv(c, 16))
                assert magic == MAGIC
                req = self._recv(c, length)
                with self.lock:
                    self.received.append((type_, req))
                body = pb_uint(1, 0)                       # status OK
                if type_ == REGISTER_REQ:
                    body += pb_uint(4, 200)                # heartbeat_interval_ms
                elif type_ == HEARTBEAT_REQ:
                    with self.lock:
                        self.heartbeats += 1
                        cmds, self.commands = self.commands, None
                    for cmd in cmds or ():
                        body += pb_bytes(3, cmd)
                    if cmds:
                        self.sent.set()
                c.sendall(struct.pack(">IBBHII", MAGIC, 1, 0, type_ | 1, reqid,
                                      len(body)) + body)
        except (EOFError, OSError):
            pass

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_datanode_carries_out_replicate_commands(cluster, tmp_path):
    """A datanode told to replicate (by a fake namenode) copies its
    replica through a pipeline of two real datanodes, once even when the
    command comes twice, and skips a block it does not have."""
    src_dir = tmp_path / "src-dn"
    bid, gs, missing = new_id(), 5, new_id()
    payload = blob(5 * MiB + 77, seed=42)
    local = tmp_path / "payload"
    local.write_bytes(payload)
    rc, out, err = run([COPY_CHECK, "-S", "-d", src_dir, "-g", gs, bid, local])
    assert rc == 0 and out == "stored %d\n" % len(payload), out + err

    nn = FakeNamenode()
    conf = tmp_path / "src-dn.conf"
    conf.write_text("[datanode]\naddress = 127.0.0.1:%d\ndata_dirs = %s\n"
                    "namenode = %s\nheartbeat_ms = 200\ncopy_threads = 2\n"
                    % (free_port(), src_dir, nn.addr))
    logf = tmp_path / "src-dn.log"
    with open(logf, "wb") as lf:
        p = subprocess.Popen([str(DATANODE), "-c", str(conf)],
                             stdin=subprocess.DEVNULL, stdout=lf,
                             stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: nn.heartbeats > 0 or p.poll() is not None, 30,
                 "the source datanode to heartbeat")
        assert p.poll() is None, logf.read_text()
        names = cluster.datanode_names()
        targets = [("127.0.0.1", cluster.datanode_port(n)) for n in names]
        cmd = replicate_cmd([(bid, gs, len(payload))], targets)
        nn.arm([cmd, cmd, replicate_cmd([(missing, 1, 10)], targets[:1])])
        wait_for(nn.sent.is_set, 30, "the replicate commands to be sent")
        for n in names:
            wait_for(lambda: finalized(cluster, n, bid), 30,
                     "the copy to reach %s" % n)
            assert finalized(cluster, n, bid)[0].read_bytes() == payload, n
        log = wait_for(lambda: (lambda t: "copied blk_%d" % bid in t and
                                "not copying blk_%d" % missing in t and t)(
                                    logf.read_text(errors="replace")),
                       30, "the source datanode to log the copy and the skip")
        want = ("copied blk_%d (genstamp %d) to %s: %d bytes in"
                % (bid, gs, ",".join("%s:%d" % t for t in targets), len(payload)))
        assert want in log, log
        assert log.count("copied blk_%d " % bid) == 1, log
        # No copy went wrong (every copy problem is a WARN line).
        assert " WARN " not in log.replace("without a valid target", ""), log
        for n in names:
            assert "received blk_%d_%d" % (bid, gs) in cluster.log(n)
    finally:
        p.terminate()
        try:
            rc = p.wait(timeout=30 * SLOW)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        nn.close()
    log = logf.read_text(errors="replace")
    assert rc == 0, log
    assert sanitizer_report(log) is None, log
