"""The datanode's side of pipeline and block recovery, over the wire.

Real dfs-datanode processes (their namenode is test_copy's FakeNamenode,
so nothing deletes the test's blocks behind its back) driven by
dfs-dn-wire, which speaks the transfer protocol one request at a time:

* a write whose upstream goes away before LAST parks its replica in rbw/
  (bytes kept); its visible length is what was acked, ReplicaInfoReq
  tells it and ReadBlockReq serves exactly those bytes (a partial last
  chunk included); a restarted datanode still has it;
* WS_RECOVER reopens a parked replica under a new genstamp cut to the
  client's length (inside a chunk: its checksum recomputed), preempting a
  session still writing it; the pipeline then finishes the block;
* WS_APPEND reopens a finalized replica; WS_TRANSFER leaves the replica
  being written at LAST; TransferBlockReq streams a replica being written
  to a replacement datanode;
* InitRecoveryReq stops the writer and describes the replica;
  FinishRecoveryReq cuts, re-stamps, finalizes and reports it;
* a silent downstream is named in the ack (ERR_TIMEOUT at its index);
  a replica that failed here (bad checksum) is discarded, not parked.
"""

import random
import signal
import socket
import subprocess

import pytest

from conftest import (BUILD, DATANODE, SLOW, blob, free_port, run,
                      sanitizer_report, wait_for)
from test_copy import FakeNamenode, pb_uint

DN_WIRE = BUILD / "tests" / "dfs-dn-wire"
CHUNK = 4096
N = 100_000 + 123                  # the payload: not a multiple of CHUNK
BLOCKREPORT_REQ = 0x44
OK, INVAL, NOENT, CORRUPT, TIMEOUT, STALE = 0, 6, 1, 14, 15, 18


class Datanode:
    """A dfs-datanode of its own data dir, reporting to a fake namenode."""

    def __init__(self, tmp, name, nn):
        self.dir = tmp / name
        self.dir.mkdir()
        self.data = self.dir / "data"
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.logf = self.dir / "dn.log"
        (self.dir / "dn.conf").write_text(
            "[datanode]\naddress = %s\ndata_dirs = %s\nnamenode = %s\n"
            "heartbeat_ms = 200\nack_timeout_ms = 1000\nscan_period_s = 0\n"
            % (self.addr, self.data, nn.addr))
        self.proc = None

    def start(self):
        with open(self.logf, "ab") as lf:
            self.proc = subprocess.Popen(
                [str(DATANODE), "-c", str(self.dir / "dn.conf")],
                stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT)

        def up():
            if self.proc.poll() is not None:
                return "exited"
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return True
            except OSError:
                return False
        assert wait_for(up, 30, "datanode %s to listen" % self.addr) is True, self.log()
        return self

    def stop(self):
        """SIGTERM: it must exit 0 with no sanitizer report."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            rc = self.proc.wait(timeout=30 * SLOW)
            assert rc == 0, self.log()
        assert sanitizer_report(self.log()) is None, self.log()

    def log(self):
        return self.logf.read_text(errors="replace") if self.logf.exists() else ""

    def rbw(self, bid):
        """(data bytes, meta file name) of replica bid in rbw/, or None."""
        d = self.data / "rbw" / ("blk_%d" % bid)
        if not d.exists():
            return None
        metas = list(d.parent.glob("blk_%d_*.meta" % bid))
        assert len(metas) == 1, metas
        return d.read_bytes(), metas[0].name

    def finalized(self, bid):
        """(data bytes, meta file name) of finalized replica bid, or None."""
        found = list(self.data.glob("finalized/subdir*/subdir*/blk_%d" % bid))
        if not found:
            return None
        metas = list(found[0].parent.glob("blk_%d_*.meta" % bid))
        assert len(metas) == 1, metas
        return found[0].read_bytes(), metas[0].name


@pytest.fixture
def dns(tmp_path):
    """dns(n) -> n started datanodes (and their fake namenode as .nn)."""
    nn = FakeNamenode()
    made = []

    def make(n):
        for i in range(n):
            made.append(Datanode(tmp_path, "dn%d" % len(made), nn).start())
        return made
    make.nn = nn
    yield make
    try:
        for d in made:
            d.stop()
    finally:
        for d in made:
            if d.proc and d.proc.poll() is None:
                d.proc.kill()
        nn.close()


@pytest.fixture
def payload(tmp_path):
    data = blob(N, seed=7)
    f = tmp_path / "payload"
    f.write_bytes(data)
    return data, f


def new_id():
    return random.randrange(1 << 40, 1 << 50)


def wire(dn, *args):
    rc, out, err = run([DN_WIRE, dn.addr] + [str(a) for a in args], timeout=60 * SLOW)
    assert rc == 0, out + err
    return out.strip()


def spawn_writer(dn, *args):
    """dfs-dn-wire write ... -p in the background; returns it once it
    printed its "acked END" line (checked by the caller)."""
    p = subprocess.Popen([str(DN_WIRE), dn.addr, "write"] + [str(a) for a in args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    return p


def end_writer(p):
    """Let a paused writer go on (it exits without LAST); its last line."""
    try:
        out, err = p.communicate("\n", timeout=30 * SLOW)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    return out


def parked_pair(dns, f, bid, gs=1, end=50_000):
    """A write of [0, end) through a -> b whose upstream then goes away:
    both replicas parked.  Returns (a, b)."""
    a, b = dns(2)
    p = spawn_writer(a, "-t", b.addr, "-n", end, "-p", bid, gs, f)
    assert p.stdout.readline() == "acked %d\n" % end, p.stderr.read()
    end_writer(p)
    for d in (a, b):
        wait_for(lambda: "blk_%d_%d parked" % (bid, gs) in d.log(), 15,
                 "%s to park its replica" % d.addr)
    return a, b


# ------------------------------------------------------------- parking

def test_lost_writer_parks_replica_and_serves_visible_bytes(dns, payload, tmp_path):
    data, f = payload
    a, b = dns(2)
    bid, end = new_id(), 50_000
    p = spawn_writer(a, "-t", b.addr, "-n", end, "-p", bid, 1, f)
    assert p.stdout.readline() == "acked %d\n" % end, p.stderr.read()
    # Being written: the acked bytes are visible and served, a partial last
    # chunk included (50000 = 12 chunks + 848 bytes).
    for d in (a, b):
        assert wire(d, "info", bid, 1) == "visible %d gs 1 finalized 0" % end
        out = tmp_path / ("read-" + d.dir.name)
        assert wire(d, "read", bid, 1, 0, 1 << 30, out) == \
            "read %d block_length %d" % (end, end)
        assert out.read_bytes() == data[:end]
        assert wire(d, "read", bid, 1, 40_000, 5_000, out) == \
            "read 5000 block_length %d" % end
        assert out.read_bytes() == data[40_000:45_000]
        assert wire(d, "info", bid, 2).startswith("error %d:" % STALE)
        assert wire(d, "read", bid, 2, 0, 10, out).startswith("error %d:" % STALE)
    assert wire(a, "info", bid + 1, 1).startswith("error %d:" % NOENT)

    # The writer goes away before LAST: both replicas stay, parked.
    end_writer(p)
    for d in (a, b):
        wait_for(lambda: "blk_%d_1 parked" % bid in d.log(), 15, "the replica to park")
        got, meta = d.rbw(bid)
        assert got == data[:end] and meta == "blk_%d_1.meta" % bid
        assert wire(d, "info", bid, 1) == "visible %d gs 1 finalized 0" % end
        assert "discarding the replica" not in d.log()

    # A restarted datanode finds it parked, with its verified length.
    b.stop()
    b.start()
    assert wire(b, "info", bid, 1) == "visible %d gs 1 finalized 0" % end
    assert b.rbw(bid)[0] == data[:end]


def test_corrupt_packet_discards_the_replica(dns, payload):
    """A replica that failed here (checksum mismatch) is not parked."""
    data, f = payload
    a, = dns(1)
    bid = new_id()
    out = wire(a, "write", "-x", 1, bid, 1, f)
    assert out == "ack 1 failed: %d" % CORRUPT, out
    wait_for(lambda: a.rbw(bid) is None, 15, "the corrupt replica to be discarded")
    assert wire(a, "info", bid, 1).startswith("error %d:" % NOENT)


def test_silent_downstream_is_named_in_the_ack(dns, payload):
    """a -> b -> c with c stopped after set-up: b names c (index 2 of the
    client's ack) with ERR_TIMEOUT after datanode.ack_timeout_ms, before a
    gives up on b; a and b park their replicas."""
    data, f = payload
    a, b, c = dns(3)
    bid = new_id()
    p = subprocess.Popen([str(DN_WIRE), a.addr, "write", "-P", "-t", b.addr, "-t", c.addr,
                          str(bid), "1", str(f)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline() == "setup ok\n", p.stderr.read()
        c.proc.send_signal(signal.SIGSTOP)
        out, err = p.communicate("\n", timeout=30 * SLOW)
    finally:
        c.proc.send_signal(signal.SIGCONT)
        if p.poll() is None:
            p.kill()
            p.wait()
    assert out == "ack 0 failed: %d %d %d\n" % (OK, OK, TIMEOUT), out + err
    for d in (a, b):
        wait_for(lambda: "blk_%d_1 parked" % bid in d.log(), 15, "the replica to park")
    assert "no ack from" in b.log()


# ------------------------------------------------------------- write stages

def test_recover_cuts_the_replica_and_continues(dns, payload, tmp_path):
    """WS_RECOVER through a -> b at 45000 bytes (inside a chunk) under
    genstamp 2: the first packet rewrites that chunk from its start, the
    block is finished and finalized under genstamp 2 on both."""
    data, f = payload
    bid = new_id()
    a, b = parked_pair(dns, f, bid)
    out = wire(a, "write", "-s", "recover", "-l", 45_000, "-t", b.addr, bid, 2, f)
    assert out == "done %d" % N
    for d in (a, b):
        got, meta = d.finalized(bid)
        assert got == data and meta == "blk_%d_2.meta" % bid
        assert d.rbw(bid) is None
        assert wire(d, "info", bid, 2) == "visible %d gs 2 finalized 1" % N
        assert wire(d, "info", bid, 1).startswith("error %d:" % STALE)
        rd = tmp_path / "r"
        assert wire(d, "read", bid, 2, 0, N, rd) == "read %d block_length %d" % (N, N)
        assert rd.read_bytes() == data


def test_recover_refuses_what_it_cannot_do(dns, payload):
    data, f = payload
    bid = new_id()
    a, b = parked_pair(dns, f, bid, gs=3)
    # more bytes than the replica holds
    out = wire(a, "write", "-s", "recover", "-l", 60_000, bid, 4, f)
    assert out.startswith("setup error %d bad_index 0:" % INVAL), out
    # an older genstamp than the replica's
    out = wire(a, "write", "-s", "recover", "-l", 40_000, bid, 2, f)
    assert out.startswith("setup error %d bad_index 0:" % STALE), out
    # nothing to recover
    out = wire(a, "write", "-s", "recover", "-l", 0, bid + 1, 4, f)
    assert out.startswith("setup error %d bad_index 0:" % NOENT), out
    # the downstream refuses: named by its index
    b_bad = wire(a, "write", "-s", "recover", "-l", 50_000, "-t", b.addr, bid, 2, f)
    assert b_bad.startswith("setup error %d bad_index 0:" % STALE), b_bad
    assert a.rbw(bid)[0] == data[:50_000] and b.rbw(bid)[0] == data[:50_000]


def test_recover_takes_the_replica_from_a_live_writer(dns, payload):
    """The old session still has its connection (a stopped client, say):
    WS_RECOVER preempts it -- its replica parked, its connection closed --
    then reopens the replica."""
    data, f = payload
    a, = dns(1)
    bid = new_id()
    p = spawn_writer(a, "-n", 30_000, "-p", bid, 1, f)
    assert p.stdout.readline() == "acked 30000\n", p.stderr.read()
    try:
        out = wire(a, "write", "-s", "recover", "-l", 30_000, bid, 2, f)
    finally:
        end_writer(p)
    assert out == "done %d" % N
    assert a.finalized(bid) == (data, "blk_%d_2.meta" % bid)
    assert "taken over by recovery" in a.log()


def test_stale_recover_leaves_a_newer_writer_alone(dns, payload):
    """A WS_RECOVER (or InitRecoveryReq) with an older genstamp than the
    session writing the replica -- from a client that woke up late -- is
    refused at once; the writer goes on."""
    data, f = payload
    a, = dns(1)
    bid = new_id()
    p = spawn_writer(a, "-n", 30_000, "-p", bid, 5, f)
    assert p.stdout.readline() == "acked 30000\n", p.stderr.read()
    try:
        out = wire(a, "write", "-s", "recover", "-l", 20_000, bid, 4, f)
        assert out.startswith("setup error %d bad_index 0:" % STALE), out
        assert wire(a, "init", bid, 3).startswith("error %d:" % STALE)
        assert "taken over" not in a.log() and "parked" not in a.log()
        assert wire(a, "info", bid, 5) == "visible 30000 gs 5 finalized 0"
    finally:
        end_writer(p)


def test_append_reopens_a_finalized_replica(dns, payload):
    data, f = payload
    a, b = dns(2)
    bid = new_id()
    first = tmp = f.parent / "first"
    tmp.write_bytes(data[:30_001])
    assert wire(a, "write", "-t", b.addr, bid, 1, first) == "done 30001"
    for d in (a, b):
        assert d.finalized(bid) == (data[:30_001], "blk_%d_1.meta" % bid)
    # refused: another chunk size, another old genstamp, another length
    out = wire(a, "write", "-s", "append", "-o", 1, "-l", 30_001, "-c", 8192, bid, 2, f)
    assert out.startswith("setup error %d" % INVAL), out
    out = wire(a, "write", "-s", "append", "-o", 7, "-l", 30_001, bid, 8, f)
    assert out.startswith("setup error %d" % STALE), out
    out = wire(a, "write", "-s", "append", "-o", 1, "-l", 30_000, bid, 2, f)
    assert out.startswith("setup error %d" % INVAL), out
    assert a.finalized(bid) == (data[:30_001], "blk_%d_1.meta" % bid)
    # the append: its first packet rewrites the partial last chunk
    out = wire(a, "write", "-s", "append", "-o", 1, "-l", 30_001, "-t", b.addr, "-y",
               bid, 2, f)
    assert out == "done %d" % N
    for d in (a, b):
        assert d.finalized(bid) == (data, "blk_%d_2.meta" % bid)
        assert wire(d, "info", bid, 2) == "visible %d gs 2 finalized 1" % N


def test_transfer_to_a_replacement_then_recover(dns, payload, tmp_path):
    """A survivor still being written transfers its first 40000 bytes to a
    replacement as WS_TRANSFER under the new genstamp: the replacement
    keeps them being written; WS_RECOVER through both then finishes."""
    data, f = payload
    a, r = dns(2)
    bid = new_id()
    p = spawn_writer(a, "-n", 50_000, "-p", bid, 1, f)
    assert p.stdout.readline() == "acked 50000\n", p.stderr.read()
    try:
        assert wire(a, "transfer", bid, 2, 40_000, r.addr) == "ok"
        # more than is visible: refused, nothing sent
        assert wire(a, "transfer", bid, 2, 60_000, r.addr).startswith("error %d:" % INVAL)
        assert wire(a, "transfer", bid + 1, 2, 10, r.addr).startswith("error %d:" % NOENT)
    finally:
        end_writer(p)
    got, meta = r.rbw(bid)
    assert got == data[:40_000] and meta == "blk_%d_2.meta" % bid
    assert wire(r, "info", bid, 2) == "visible 40000 gs 2 finalized 0"
    assert "transferred blk_%d (genstamp 2) to %s: 40000 bytes" % (bid, r.addr) in a.log()
    out = wire(a, "write", "-s", "recover", "-l", 40_000, "-t", r.addr, bid, 2, f)
    assert out == "done %d" % N
    for d in (a, r):
        assert d.finalized(bid) == (data, "blk_%d_2.meta" % bid)


# ------------------------------------------------------------- block recovery

def test_init_and_finish_recovery(dns, payload):
    data, f = payload
    a, b = dns(2)
    bid = new_id()
    p = spawn_writer(a, "-t", b.addr, "-n", 50_000, "-p", bid, 1, f)
    assert p.stdout.readline() == "acked 50000\n", p.stderr.read()
    try:
        # stops the writer (its replica parked) and describes the replica
        assert wire(a, "init", bid, 5) == "length 50000 gs 1 finalized 0"
        assert "taken over by recovery" in a.log()
    finally:
        end_writer(p)
    wait_for(lambda: "blk_%d_1 parked" % bid in b.log(), 15, "b to park")
    assert wire(b, "init", bid, 5) == "length 50000 gs 1 finalized 0"
    assert wire(a, "init", bid, 0).startswith("error %d:" % STALE)
    assert wire(a, "init", bid + 1, 5).startswith("error %d:" % NOENT)

    assert wire(a, "finish", bid, 5, 41_000) == "ok"
    assert a.finalized(bid) == (data[:41_000], "blk_%d_5.meta" % bid)
    assert a.rbw(bid) is None
    assert wire(a, "info", bid, 5) == "visible 41000 gs 5 finalized 1"
    # reported to the namenode as a finalized replica under genstamp 5
    want = pb_uint(1, bid) + pb_uint(2, 5) + pb_uint(3, 41_000)
    wait_for(lambda: any(t == BLOCKREPORT_REQ and want in body
                         for t, body in list(dns.nn.received)), 15,
             "the recovered replica to be reported")
    # done already: OK again; another length of a finalized one: refused
    assert wire(a, "finish", bid, 5, 41_000) == "ok"
    assert wire(a, "finish", bid, 6, 40_000).startswith("error %d:" % INVAL)
    # a finalized replica of that length just takes the new genstamp
    assert wire(a, "finish", bid, 6, 41_000) == "ok"
    assert a.finalized(bid) == (data[:41_000], "blk_%d_6.meta" % bid)
    # the other survivor, cut inside a chunk
    assert wire(b, "init", bid, 6) == "length 50000 gs 1 finalized 0"
    assert wire(b, "finish", bid, 6, 41_000) == "ok"
    assert b.finalized(bid) == (data[:41_000], "blk_%d_6.meta" % bid)
    assert wire(b, "init", bid, 6) == "length 41000 gs 6 finalized 1"


def test_a_new_write_replaces_a_stale_replica(dns, payload):
    """A copy of the finished block (WS_CREATE under its newer genstamp)
    reaching a datanode that still has a parked replica of it from an old
    pipeline replaces it, as it replaces a finalized one of an older
    genstamp, and so is a parked one of the same genstamp (an earlier
    attempt, or one a block recovery left out); a parked replica of a newer
    genstamp, or a finalized one of the same, is kept (the write is
    refused)."""
    data, f = payload
    bid = new_id()
    a, b = parked_pair(dns, f, bid, gs=3)
    assert wire(a, "write", bid, 4, f) == "done %d" % N
    assert a.finalized(bid) == (data, "blk_%d_4.meta" % bid) and a.rbw(bid) is None
    assert wire(a, "write", bid, 5, f) == "done %d" % N
    assert a.finalized(bid) == (data, "blk_%d_5.meta" % bid)
    out = wire(b, "write", bid, 2, f)
    assert out.startswith("setup error"), out
    assert b.rbw(bid) == (data[:50_000], "blk_%d_3.meta" % bid)
    assert wire(b, "write", bid, 3, f) == "done %d" % N
    assert b.finalized(bid) == (data, "blk_%d_3.meta" % bid) and b.rbw(bid) is None
    out = wire(b, "write", bid, 3, f)
    assert out.startswith("setup error"), out


def test_recover_cuts_a_finalized_replica(dns, payload):
    """The old pipeline finished the block but the client's acks went
    missing: WS_RECOVER at the acked length reopens the finalized replica,
    cuts it there, and the resent bytes finish it under the new genstamp;
    an append-style exact length is not required.  Fewer bytes than asked:
    refused."""
    data, f = payload
    a, = dns(1)
    bid = new_id()
    assert wire(a, "write", bid, 1, f) == "done %d" % N
    out = wire(a, "write", "-s", "recover", "-l", N + 1, bid, 2, f)
    assert out.startswith("setup error %d" % INVAL), out
    assert wire(a, "write", "-s", "recover", "-l", 70_001, bid, 2, f) == "done %d" % N
    assert a.finalized(bid) == (data, "blk_%d_2.meta" % bid)
    assert "reopened (finalized) under generation stamp 2 from 1 at 70001 bytes" in a.log()
