"""Writers survive failures (issue 7): pipeline recovery, leases and lease
recovery, readers of files being written, hsync, append -- on real daemons.

Writers are `dfs-hflush-check` (tests/tools/hflush_check.c), driven line
by line: it writes a local file in steps, pauses after an hflush, an hsync
or a plain pause, and goes on when the test says so.  While it is paused
the test finds the pipeline of the block being written by following the
established TCP connections (writer -> DN1 -> DN2 -> DN3 in /proc), then
kills or stops exactly the datanode it wants.

Timeouts are short: datanodes heartbeat every 300 ms and are stale after
1 s; a datanode names a silent downstream after DN_ACK_MS (+5 s per
further downstream node, fixed), the client a silent pipeline after
CL_ACK_MS (just above what the first datanode waits for the third); lease
limits are set per test.
"""

import functools
import json
import os
import re
import select
import signal
import subprocess
import threading
import time

import pytest

from conftest import (BUILD, SLOW, blob, check_meta, dfs_env, sha256 as sha,
                      wait_for)

KiB, MiB = 1024, 1024 * 1024
CHUNK = 16 * KiB            # client.chunk_size default
HFLUSH_CHECK = BUILD / "tests" / "dfs-hflush-check"

# (Sanitizer builds: twice the margins, not SLOW times: these are waits for
# a failure to be noticed, paid by every SIGSTOP test.)
MARGIN = 2 if SLOW > 1 else 1
DN_ACK_MS = 1500 * MARGIN
CL_ACK_MS = DN_ACK_MS + 5000 + 1500 * MARGIN
# Packets (64 KiB) a writer keeps unacknowledged: with a datanode stopped
# mid-block, the block stays unfinished (the default, 64, would let the
# whole rest of a 4 MiB block out).
WINDOW = 8

FAST = [
    "namenode.stale_ms=1000",
    "namenode.dead_ms=2000",
    "namenode.heartbeat_recheck_ms=200",
    "namenode.replication_interval_ms=200",
    "namenode.replication_timeout_ms=10000",
    "namenode.min_block_size=65536",
    "datanode.heartbeat_ms=300",
    "datanode.ack_timeout_ms=%d" % DN_ACK_MS,
]
# With a spare datanode the failed one must not be declared dead during the
# test: its replicas of the earlier blocks keep counting, so the monitor has
# nothing to copy and any third replica of the failed block is the
# writer's replacement.
SPARE = [o for o in FAST if not o.startswith("namenode.dead_ms")] + \
    ["namenode.dead_ms=60000"]


def lease(soft_ms, hard_ms):
    return ["namenode.lease_soft_ms=%d" % soft_ms,
            "namenode.lease_hard_ms=%d" % hard_ms]


def client_conf(path, window=WINDOW):
    """Write a client configuration to path: short ack timeout, frequent
    lease renewal, at most `window` packets unacknowledged."""
    path.write_text("[client]\nack_timeout_ms = %d\nlease_renew_ms = 300\nwindow = %d\n"
                    % (CL_ACK_MS, window))
    return path


@pytest.fixture
def conf(tmp_path):
    return client_conf(tmp_path / "client.conf")


@pytest.fixture
def env(conf):
    """The environment of a `dfs` shell using `conf`."""
    e = dfs_env()
    e["DFS_CONF"] = str(conf)
    return e


@pytest.fixture
def freeze(cluster):
    """freeze(name) SIGSTOPs datanode `name` and returns its pid; whatever
    is still stopped is continued at teardown, before the cluster stops."""
    frozen = []

    def stop(name):
        pid = cluster.pid(name)
        assert pid, name
        os.kill(pid, signal.SIGSTOP)
        frozen.append(pid)
        return pid
    yield stop
    for pid in frozen:
        cont(pid)


def cont(pid):
    """SIGCONT pid (gone already: nothing to do)."""
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        pass


# ------------------------------------------------------------ the writer

class Writer:
    """dfs-hflush-check writing `src` to `remote` in `steps` (see its
    header); killed at teardown if still running."""

    def __init__(self, c, remote, src, steps, block=None, repl=None,
                 append=False, conf=None):
        cmd = [str(HFLUSH_CHECK), "-n", c.addr]
        if conf:
            cmd += ["-c", str(conf)]
        if block:
            cmd += ["-b", str(block)]
        if repl:
            cmd += ["-r", str(repl)]
        if append:
            cmd.append("-A")
        cmd += [remote, str(src)] + list(steps)
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        c.spawned.append(self.p)
        self.pid = self.p.pid
        self._buf = b""

    def _stderr(self):
        if self.p.poll() is None:
            return "(still running)"
        return self.p.stderr.read().decode(errors="replace")

    def line(self, timeout=60):
        """Its next line of output ("" at its end); fails the test when it
        says nothing for timeout seconds."""
        fd = self.p.stdout.fileno()
        deadline = time.monotonic() + timeout * SLOW
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail("dfs-hflush-check said nothing for %.0f s (%r so far)"
                            % (timeout * SLOW, self._buf))
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 4096)
                if not chunk:
                    out, self._buf = self._buf, b""
                    return out.decode()
                self._buf += chunk
        out, self._buf = self._buf.split(b"\n", 1)
        return out.decode() + "\n"

    def expect(self, word, timeout=60):
        """Wait for its line "WORD OFFSET"; returns OFFSET."""
        line = self.line(timeout)
        m = re.fullmatch(re.escape(word) + r" (\d+)\n", line)
        if not m:
            pytest.fail("dfs-hflush-check: expected '%s N', got %r; stderr: %s"
                        % (word, line, self._stderr()))
        return int(m.group(1))

    def go(self):
        """Let it go on from a pause."""
        try:
            self.p.stdin.write(b"\n")
            self.p.stdin.flush()
        except BrokenPipeError:
            pass                    # it is gone: finish() tells why

    def finish(self, timeout=60):
        """Wait for its end: (exit status, the rest of stdout, stderr)."""
        try:
            rc = self.p.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            pytest.fail("dfs-hflush-check did not end within %.0f s"
                        % (timeout * SLOW))
        rest = self._buf + self.p.stdout.read()
        self._buf = b""
        return rc, rest.decode(errors="replace"), self._stderr()

    def closed(self, timeout=60):
        """Wait for it to close the file successfully."""
        rc, out, err = self.finish(timeout)
        assert (rc, out) == (0, "closed\n"), "exit %d: %s%s" % (rc, out, err)

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        self.p.wait()


@functools.lru_cache(maxsize=2)
def _blob(size, seed):
    return blob(size, seed)


def source(tmp_path, size, seed, name="src"):
    """A local file of `size` reproducible random bytes: (path, bytes).
    (The bytes are made once per run: 50 MiB take a while.)"""
    data = _blob(size, seed)
    p = tmp_path / ("%s-%d" % (name, seed))
    p.write_bytes(data)
    return p, data


# ------------------------------------------------- where the bytes are

def _socket_inodes(pid):
    found = set()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return found
    for fd in fds:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", link)
        if m:
            found.add(int(m.group(1)))
    return found


def _established():
    """{socket inode: remote port} of every established TCP connection."""
    conns = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(name).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if f[3] == "01":                        # TCP_ESTABLISHED
                conns[int(f[9])] = int(f[2].rsplit(":", 1)[1], 16)
    return conns


def pipeline(c, writer_pid):
    """The datanodes ("datanode-N") of the pipeline writer_pid writes to,
    in order, followed through the established connections to datanode
    transfer ports; None while that is not one unambiguous chain."""
    by_port = c.datanode_by_port()
    conns = _established()

    def downstream(pid):
        return {by_port[conns[i]] for i in _socket_inodes(pid)
                if i in conns and conns[i] in by_port}
    chain = []
    nxt = downstream(writer_pid)
    while nxt:
        if len(nxt) != 1:
            return None
        name = nxt.pop()
        if name in chain:
            return None
        chain.append(name)
        pid = c.pid(name)
        nxt = downstream(pid) if pid else set()
    return chain


def wait_pipeline(c, w, length=3):
    return wait_for(lambda: (lambda ch: ch if ch and len(ch) == length else None)(
        pipeline(c, w.pid)), 10, "the writer's %d-datanode pipeline" % length)


def rbw_blocks(c, name):
    """{block id: genstamp} of the replicas in datanode name's rbw/."""
    found = {}
    for d in c.data_dirs(name):
        for m in d.glob("rbw/blk_*_*.meta"):
            mm = re.fullmatch(r"blk_(\d+)_(\d+)\.meta", m.name)
            if mm:
                found[int(mm.group(1))] = int(mm.group(2))
    return found


def block_being_written(c, chain):
    """(id, genstamp) of the one replica being written on every datanode
    of chain."""
    common = None
    for n in chain:
        items = set(rbw_blocks(c, n).items())
        common = items if common is None else common & items
    assert common and len(common) == 1, "rbw replicas on %s: %s" % (
        chain, {n: rbw_blocks(c, n) for n in chain})
    return common.pop()


def genstamps_on_disk(c, name, block_id):
    """The genstamps of the .meta files of block_id on datanode name
    (finalized or rbw)."""
    gss = []
    for f in c.replica_files(name, block_id):
        for m in f.parent.glob("%s_*.meta" % f.name):
            gss.append(int(m.name[len(f.name) + 1:-len(".meta")]))
    return sorted(gss)


def fsck(c, path="/", env=None):
    rc, out, err = c.dfs("fsck", "--json", "--files", "--blocks", path, env=env)
    assert rc in (0, 1), err
    return json.loads(out)


def file_health(c, path, env=None):
    files = fsck(c, path, env)["files"]
    assert len(files) == 1, files
    return files[0]


def block_health(c, path, block_id):
    return next((b for b in file_health(c, path)["blocks"] if b["id"] == block_id), None)


def live_ports(b):
    return sorted(r["port"] for r in b["replicas"] if r["state"] == "live")


def check_replicas(c, path, payload, ids=None, want=None):
    """Every replica the namenode lists for path's blocks (those in ids
    when given) is one finalized file equal to its slice of payload, with
    one .meta named after the block's genstamp whose checksums hold; each
    block has `want` of them when given.  Returns the locate answer."""
    loc = c.locate(path)
    assert loc["length"] == len(payload), loc
    by_port = c.datanode_by_port()
    for b in loc["blocks"]:
        if ids is not None and b["id"] not in ids:
            continue
        if want is not None:
            assert len(b["locations"]) == want, b
        data_want = payload[b["offset"]:b["offset"] + b["length"]]
        for l in b["locations"]:
            n = by_port[l["port"]]
            files = c.replica_files(n, b["id"])
            assert len(files) == 1, (n, files)
            assert files[0].parent.parent.parent.name == "finalized", files[0]
            data = files[0].read_bytes()
            assert data == data_want, "%s: blk_%d differs from the source" % (n, b["id"])
            metas = sorted(files[0].parent.glob("blk_%d_*.meta" % b["id"]))
            assert [m.name for m in metas] == ["blk_%d_%d.meta" % (b["id"], b["genstamp"])], \
                (n, metas)
            check_meta(metas[0].read_bytes(), data, CHUNK)
    return loc


def all_replica_files(c):
    found = set()
    for n in c.datanode_names():
        for d in c.data_dirs(n):
            found |= set(d.glob("finalized/subdir*/subdir*/blk_*[0-9]"))
            found |= set(d.glob("rbw/blk_*[0-9]"))
    return found


def cat(c, path, env=None):
    return c.ok("cat", path, binary=True, env=env)


def healthy_with(c, want):
    r = fsck(c)
    if r["status"] != "HEALTHY" or r["under_replicated"] or r["over_replicated"]:
        return False
    return all(len(live_ports(b)) == want for f in r["files"] for b in f["blocks"])


# ------------------------------------------------------ pipeline recovery

# 50 MiB as the issue asks; sanitizer builds write 18 MiB (the same third
# block fails, two more follow) to keep their run time in bounds.
BIG = (18 if SLOW > 1 else 50) * MiB
BLOCK4 = 4 * MiB
# Where the writer pauses and the datanode fails, in the third block: "mid"
# leaves it half written (not on a chunk boundary) whatever happens next;
# at "end" the writer has its LAST packet out (default window) when the
# failure stops the acks, so survivors may have finalized the block.
PAUSE = {"mid": 2 * BLOCK4 + 3 * MiB // 2 + 5000, "end": 3 * BLOCK4 - 100000}
POSITION = {"first": 0, "middle": 1, "last": 2}


def fail_mid_write(c, tmp_path, conf, freeze, how, pos, where="mid"):
    """Write 50 MiB in 4 MiB blocks; in the third block (PAUSE[where]) kill
    (SIGKILL) or stop (SIGSTOP) the first, middle or last datanode of its
    pipeline; the write completes.  Returns (payload, block id, its old
    genstamp, the pipeline, victim, victim pid when stopped)."""
    src, payload = source(tmp_path, BIG, 1)
    if where == "end":
        conf = client_conf(tmp_path / "client-window64.conf", window=64)
    w = Writer(c, "/f", src, ["w%d" % PAUSE[where], "p"], block=BLOCK4, conf=conf)
    assert w.expect("paused") == PAUSE[where]
    chain = wait_pipeline(c, w)
    blk, gs = block_being_written(c, chain)
    victim = chain[POSITION[pos]]
    stopped = None
    if how == "kill":
        c.kill(victim)
    else:
        stopped = freeze(victim)
    w.go()
    w.closed(timeout=120)
    assert sha(cat(c, "/f")) == sha(payload)
    return payload, blk, gs, chain, victim, stopped


def late_replica_deleted(c, payload, blk, gs, victim, stopped):
    """The stopped victim continues: its session ends (upstream gone) and
    the replica it kept has the old genstamp; a restart reports it, and the
    namenode deletes it.  The file still reads right."""
    cont(stopped)
    assert all(g <= gs for g in genstamps_on_disk(c, victim, blk)), \
        genstamps_on_disk(c, victim, blk)
    c.stop(victim)
    c.start(victim)
    wait_for(lambda: not c.replica_files(victim, blk), 20,
             "the late replica of blk_%d on %s deleted" % (blk, victim))
    b = block_health(c, "/f", blk)
    assert c.datanode_port(victim) not in live_ports(b), b
    assert sha(cat(c, "/f")) == sha(payload)


@pytest.mark.parametrize("how", ["kill", "stop"])
@pytest.mark.parametrize("pos", ["first", "middle", "last"])
@pytest.mark.cluster(datanodes=4, overrides=SPARE)
def test_pipeline_datanode_fails_with_spare(cluster, tmp_path, conf, freeze, how, pos):
    """The failed datanode is replaced: the block ends with 3 replicas under
    a new genstamp, none on the failed datanode, and nothing was copied by
    the replication monitor.  A stopped datanode, continued and restarted
    (its full report lists its late replica), loses that replica."""
    c = cluster
    payload, blk, gs, chain, victim, stopped = fail_mid_write(c, tmp_path, conf, freeze,
                                                              how, pos)
    vport = c.datanode_port(victim)

    def three():
        b = block_health(c, "/f", blk)
        return b if len(live_ports(b)) == 3 else None
    b = wait_for(three, 10, "blk_%d with 3 replicas" % blk)
    assert b["genstamp"] > gs and vport not in live_ports(b), (gs, vport, b)
    assert c.report()["copies_done"] == 0, "the monitor copied: no replacement?"
    check_replicas(c, "/f", payload, ids={blk}, want=3)
    assert len(c.locate("/f")["blocks"]) == -(-BIG // BLOCK4)
    if how == "stop":
        late_replica_deleted(c, payload, blk, gs, victim, stopped)
        assert len(live_ports(block_health(c, "/f", blk))) == 3


# No copies by the monitor while these run: what the block holds after the
# write is what the writer's recovery left.
NO_MONITOR = [o for o in SPARE if not o.startswith("namenode.replication_interval_ms")] + \
    ["namenode.replication_interval_ms=600000"]


@pytest.mark.parametrize("how,pos", [("kill", "first"), ("stop", "last")])
@pytest.mark.cluster(datanodes=4, overrides=NO_MONITOR)
def test_pipeline_datanode_fails_after_last_packet(cluster, tmp_path, conf, freeze, how, pos):
    """The failure hits once the block's LAST packet is out (default
    window): the survivors may have finalized it.  Both keep their replica
    under a new genstamp (a replacement may join them; the monitor, idle
    here, adds none), the file reads right, and a stopped datanode's late
    replica is deleted."""
    c = cluster
    payload, blk, gs, chain, victim, stopped = fail_mid_write(c, tmp_path, conf, freeze,
                                                              how, pos, "end")
    survivors = sorted(c.datanode_port(n) for n in chain if n != victim)

    def kept():
        b = block_health(c, "/f", blk)
        return b if set(survivors) <= set(live_ports(b)) else None
    b = wait_for(kept, 10, "both survivors holding blk_%d" % blk)
    assert b["genstamp"] > gs and c.datanode_port(victim) not in live_ports(b), (gs, b)
    check_replicas(c, "/f", payload, ids={blk})
    assert c.report()["copies_done"] == 0
    if how == "stop":
        late_replica_deleted(c, payload, blk, gs, victim, stopped)


@pytest.mark.parametrize("how,pos", [("kill", "middle"), ("stop", "first")])
@pytest.mark.cluster(datanodes=3, overrides=FAST)
def test_pipeline_datanode_fails_without_spare(cluster, tmp_path, conf, freeze, how, pos):
    """No datanode to replace the failed one: the block ends with 2
    replicas and is under-replicated; it gets its third replica once a
    datanode is there again (a new one, or the stopped one continued, whose
    late replica is deleted first)."""
    c = cluster
    payload, blk, gs, chain, victim, stopped = fail_mid_write(c, tmp_path, conf, freeze,
                                                              how, pos)
    vport = c.datanode_port(victim)
    b = wait_for(lambda: (lambda b: b if len(live_ports(b)) >= 2 else None)(
        block_health(c, "/f", blk)), 10, "blk_%d's replicas reported" % blk)
    assert b["genstamp"] > gs and vport not in live_ports(b), (gs, vport, b)
    assert len(live_ports(b)) == 2 and b["status"] == "UNDER-REPLICATED", b
    check_replicas(c, "/f", payload, ids={blk}, want=2)
    wait_for(lambda: c.report()["under_replicated"] >= 1, 10,
             "the block queued for re-replication")
    if how == "kill":
        c.start("-n", "4", "datanode-4")
    else:
        # Dead for the namenode first, so that it registers again with a
        # full report listing its late replica.
        wait_for(lambda: any(d["port"] == vport and d["state"] == "dead"
                             for d in c.report()["datanodes"]), 20,
                 "the stopped datanode to be dead")
        cont(stopped)
    wait_for(lambda: healthy_with(c, 3), 60, "every block back to 3 replicas")
    loc = check_replicas(c, "/f", payload, want=3)
    b = next(b for b in loc["blocks"] if b["id"] == blk)
    if how == "stop":
        # Its late replica (old genstamp) gone, and a good copy in its place.
        wait_for(lambda: genstamps_on_disk(c, victim, blk) == [b["genstamp"]], 20,
                 "only the new genstamp of blk_%d on %s" % (blk, victim))
    assert sha(cat(c, "/f")) == sha(payload)


@pytest.mark.cluster(datanodes=3, overrides=FAST)
def test_every_pipeline_datanode_killed_write_fails(cluster, tmp_path, conf):
    c = cluster
    src, payload = source(tmp_path, 3 * MiB, 2)
    w = Writer(c, "/f", src, ["w%d" % (MiB + MiB // 2), "p"], block=MiB, conf=conf)
    w.expect("paused")
    chain = wait_pipeline(c, w)
    for n in chain:
        c.kill(n)
    w.go()
    rc, out, err = w.finish(timeout=120)
    assert rc == 1 and out == "", (rc, out, err)
    assert "all datanodes of the pipeline failed" in err, err
    for n in chain:
        assert ":%d" % c.datanode_port(n) in err, (n, err)
    # Never completed with bytes missing: still under construction.
    h = file_health(c, "/f")
    assert h["complete"] is False, h
    assert h["length"] < len(payload), h


# ------------------------------------------------------ leases, recovery

@pytest.mark.cluster(datanodes=3, overrides=FAST + lease(1000, int(3000 * SLOW)))
def test_killed_writer_file_recovered_after_hard_limit(cluster, tmp_path, conf, env):
    """kill -9 of a writer after several hflushes: the namenode recovers the
    file after the hard limit; it is closed holding at least every hflushed
    byte (at most every written one), all of them right."""
    c = cluster
    src, payload = source(tmp_path, 3 * MiB, 3)
    w = Writer(c, "/f", src, ["w300000", "f", "w%d" % MiB, "f", "w5000", "f",
                              "w7000", "p"], block=MiB, conf=conf)
    flushed = 0
    for _ in range(3):
        flushed = w.expect("flushed")
        w.go()
    written = w.expect("paused")
    assert (flushed, written) == (300000 + MiB + 5000, 300000 + MiB + 12000)
    # A reader already sees every hflushed byte.
    got = cat(c, "/f", env)
    assert flushed <= len(got) <= written and got == payload[:len(got)]
    w.kill()

    def closed():
        h = file_health(c, "/f", env)
        return h if h["complete"] else None
    h = wait_for(closed, 30, "the dead writer's file to be recovered and closed")
    got = cat(c, "/f", env)
    assert flushed <= len(got) <= written, (flushed, len(got), written)
    assert h["length"] == len(got)
    assert got == payload[:len(got)]
    wait_for(lambda: all(len(live_ports(b)) == 3 for b in file_health(c, "/f")["blocks"]),
             20, "every replica of the recovered file reported")
    check_replicas(c, "/f", got, want=3)
    assert not any(rbw_blocks(c, n) for n in c.datanode_names())


@pytest.mark.cluster(datanodes=3, overrides=FAST + lease(int(2000 * SLOW), 600000))
def test_second_writer_takes_over_after_soft_limit(cluster, tmp_path, conf, env):
    """A writer killed after hflushes: another client's append is refused
    while the lease is fresh, and works once it is past the soft limit
    (long before the hard one): the file holds every hflushed byte, then
    the appended ones."""
    c = cluster
    src, payload = source(tmp_path, 2 * MiB, 4)
    w = Writer(c, "/f", src, ["w%d" % (MiB + 1000), "f", "w3000", "p"], block=MiB,
               conf=conf)
    flushed = w.expect("flushed")
    w.go()
    written = w.expect("paused")
    w.kill()
    more, more_data = source(tmp_path, 70000, 5, "more")
    rc, out, err = c.dfs("append", more, "/f", env=env)
    assert rc == 1 and "being written" in err, (rc, err)

    def appended():
        rc, out, err = c.dfs("append", more, "/f", env=env)
        assert rc == 0 or "being written" in err, err
        return rc == 0
    # Long before the hard limit (10 minutes).
    wait_for(appended, 30, "an append to take the file over")
    got = cat(c, "/f", env)
    assert got.endswith(more_data), "the appended bytes are not at the end"
    kept = len(got) - len(more_data)
    assert flushed <= kept <= written and got[:kept] == payload[:kept], (flushed, kept, written)
    assert file_health(c, "/f", env)["complete"] is True


@pytest.mark.cluster(datanodes=3, overrides=FAST + lease(1000, int(2000 * SLOW)))
def test_killed_put_leaves_no_temporary_file(cluster, tmp_path, env):
    c = cluster
    c.ok("mkdir", "/p")
    before = all_replica_files(c)
    p = c.spawn("put", "-b", "1M", "-", "/p/f", env=env, stdin=subprocess.PIPE)
    # put reads its input 4 MiB at a time: the first 4 MiB go out, and it
    # waits for the rest.
    feeder = threading.Thread(target=lambda: _feed(p, blob(4 * MiB + 5000, 6)))
    feeder.start()
    try:
        wait_for(lambda: c.exists("/p/.f._COPYING_") and
                 len(all_replica_files(c) - before) >= 6, 20,
                 "the put's ._COPYING_ file and its replicas")
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        feeder.join(10)
    assert file_health(c, "/p/.f._COPYING_")["complete"] is False
    written = all_replica_files(c) - before
    wait_for(lambda: not c.exists("/p/.f._COPYING_"), 30,
             "the temporary file deleted after the hard limit")
    assert not c.exists("/p/f")
    assert c.ok("ls", "/p") == ""
    wait_for(lambda: not (all_replica_files(c) & written), 20,
             "the temporary file's replicas to leave the disks")
    assert fsck(c)["open_files"] == 0


def _feed(p, data):
    """Write data to p's stdin and keep it open (the put must not end)."""
    try:
        p.stdin.write(data)
        p.stdin.flush()
    except (BrokenPipeError, ValueError):
        pass


@pytest.mark.cluster(datanodes=3, overrides=FAST + lease(1000, int(3000 * SLOW)))
def test_namenode_killed_during_puts(cluster, tmp_path, conf, env):
    """kill -9 of the namenode while puts stream in and a writer holds
    hflushed bytes: after the restart every put that reported success reads
    back identical; the writer (killed while the namenode was down) has its
    file recovered after the hard limit; no ._COPYING_ file is left under
    construction."""
    c = cluster
    c.ok("mkdir", "/s")
    src, payload = source(tmp_path, 2 * MiB, 7)
    w = Writer(c, "/w", src, ["w%d" % (MiB + 4321), "f", "w100", "p"], block=MiB,
               conf=conf)
    flushed = w.expect("flushed")
    w.go()
    w.expect("paused")

    results = []
    stop = threading.Event()

    def stream():
        for i in range(300):
            if stop.is_set():
                return
            data = blob(MiB + MiB // 2 + i, 100 + i)
            f = tmp_path / ("put%d" % i)
            f.write_bytes(data)
            rc, out, err = c.dfs("put", "-b", "1M", f, "/s/f%d" % i, env=env,
                                 timeout=120 * SLOW)
            results.append(("/s/f%d" % i, sha(data), rc, err))
            f.unlink()
    t = threading.Thread(target=stream)
    t.start()
    try:
        wait_for(lambda: sum(r[2] == 0 for r in results) >= 3, 60, "3 puts")
        c.kill("namenode")
        w.kill()
        at_kill = len(results)
        wait_for(lambda: any(r[2] != 0 for r in results[at_kill:]), 60,
                 "a put to fail while the namenode is down")
        c.start()
        at_start = len(results)
        wait_for(lambda: sum(r[2] == 0 for r in results[at_start:]) >= 3, 60,
                 "3 puts after the restart")
    finally:
        stop.set()
        t.join(180 * SLOW)
    done = {p: s for p, s, rc, _ in results if rc == 0}
    assert len(done) >= 6
    for p, s in done.items():
        assert sha(cat(c, p, env)) == s, p

    def settled():
        r = fsck(c, "/", env)
        return r if r["open_files"] == 0 else None
    r = wait_for(settled, 40, "every file under construction recovered")
    # A put killed between its close and its rename leaves a complete
    # ._COPYING_ file (nothing to recover); any other is gone.
    failed = {p for p, _, rc, _ in results if rc != 0}
    for name in c.ok("ls", "-R", "/", env=env).split():
        m = re.fullmatch(r"/s/\.(f\d+)\._COPYING_", name)
        if m:
            assert "/s/" + m.group(1) in failed, name
            assert file_health(c, name, env)["complete"] is True, name
    got = cat(c, "/w", env)
    assert len(got) >= flushed and got == payload[:len(got)], (flushed, len(got))
    assert r["status"] == "HEALTHY", r


# ---------------------------------------------- readers, hflush, hsync

@pytest.mark.cluster(datanodes=3, overrides=FAST)
def test_reader_sees_hflushed_bytes_of_file_being_written(cluster, tmp_path, conf):
    """`dfs cat` (another process) of a file being written sees every
    hflushed byte -- across a block end, with a partial chunk, at a block
    boundary -- and never a byte that was not written."""
    c = cluster
    src, payload = source(tmp_path, 3 * MiB + 99, 8)
    x1 = MiB + 300005
    x2 = 2 * MiB
    w = Writer(c, "/f", src, ["w%d" % x1, "f", "w40000", "p",
                              "w%d" % (x2 - x1 - 40000), "f"], block=MiB, conf=conf)
    assert w.expect("flushed") == x1
    assert cat(c, "/f") == payload[:x1]
    w.go()
    written = w.expect("paused")
    got = cat(c, "/f")
    assert x1 <= len(got) <= written and got == payload[:len(got)], len(got)
    w.go()
    assert w.expect("flushed") == x2
    assert cat(c, "/f") == payload[:x2]
    rc, out, err = c.dfs("get", "/f", "-", binary=True)
    assert rc == 0 and out == payload[:x2], (rc, len(out), err)
    w.go()
    w.closed()
    assert cat(c, "/f") == payload


@pytest.mark.cluster(datanodes=3, overrides=FAST)
def test_hsync_counts_fsyncs_hflush_does_not(cluster, tmp_path, conf):
    """`report --json` "fsyncs" per datanode: one hsync adds v on each of
    the three, then three hflushes and one more hsync bring it to exactly
    2v."""
    c = cluster

    def fsyncs():
        return {d["port"]: d["fsyncs"] for d in c.report()["datanodes"]}
    assert set(fsyncs().values()) == {0}
    src, payload = source(tmp_path, 6000, 9)
    w = Writer(c, "/f", src, ["w1000", "s", "w1000", "f", "w1000", "f", "w1000", "f",
                              "w1000", "s"], block=MiB, conf=conf)
    w.expect("flushed")
    first = wait_for(lambda: (lambda f: f if min(f.values()) > 0 else None)(fsyncs()),
                     10, "the hsync counted on every datanode")
    v = set(first.values())
    assert len(v) == 1, first
    v = v.pop()
    w.go()
    for _ in range(3):
        w.expect("flushed")
        w.go()
    w.expect("flushed")
    second = wait_for(lambda: (lambda f: f if min(f.values()) >= 2 * v else None)(fsyncs()),
                      10, "the second hsync counted")
    assert set(second.values()) == {2 * v}, (v, second)
    w.go()
    w.closed()
    assert cat(c, "/f") == payload


# ---------------------------------------------------------------- append

@pytest.mark.cluster(datanodes=3, overrides=FAST)
def test_append_at_block_boundary_and_mid_chunk(cluster, tmp_path, env):
    c = cluster
    # On a block boundary: a new block, the old ones untouched.
    src, a = source(tmp_path, 2 * MiB, 10)
    c.ok("put", "-b", "1M", src, "/b")
    before = c.locate("/b")["blocks"]
    more, m = source(tmp_path, 300000, 11, "more")
    c.ok("append", more, "/b", env=env)
    assert cat(c, "/b") == a + m
    after = c.locate("/b")["blocks"]
    assert [b["length"] for b in after] == [MiB, MiB, 300000]
    assert [(b["id"], b["genstamp"]) for b in after[:2]] == \
        [(b["id"], b["genstamp"]) for b in before]
    wait_for(lambda: all(len(b["locations"]) == 3 for b in c.locate("/b")["blocks"]), 10,
             "the new block's replicas reported")
    check_replicas(c, "/b", a + m, want=3)

    # Mid-chunk: the last block reopened under a new genstamp, its partial
    # chunk rewritten whole (every replica's checksums hold), twice.
    src, a = source(tmp_path, MiB + 5000, 12)
    c.ok("put", "-b", "1M", src, "/m")
    last = c.locate("/m")["blocks"][-1]
    content = a
    for i, size in enumerate((777, 20000)):
        more, m = source(tmp_path, size, 13 + i, "more")
        c.ok("append", more, "/m", env=env)
        content += m
        assert cat(c, "/m") == content
        now = c.locate("/m")["blocks"]
        assert len(now) == 2 and now[-1]["id"] == last["id"], now
        assert now[-1]["genstamp"] > last["genstamp"], (last, now[-1])
        assert now[-1]["length"] == len(content) - MiB
        last = now[-1]
        wait_for(lambda: len(c.locate("/m")["blocks"][-1]["locations"]) == 3, 10,
                 "the reopened block's replicas reported")
        check_replicas(c, "/m", content, want=3)
    # Old genstamps leave the disks.
    wait_for(lambda: all(genstamps_on_disk(c, n, last["id"]) == [last["genstamp"]]
                         for n in c.datanode_names()), 10,
             "only the newest genstamp of the appended block on disk")


@pytest.mark.cluster(datanodes=3, overrides=FAST)
def test_twenty_appends_in_a_row(cluster, tmp_path, env):
    """20 appends of assorted sizes (one byte, a chunk, exactly to a block
    end, several blocks, from stdin, two files at once) to a file of 64 KiB
    blocks: its content is the concatenation."""
    c = cluster
    blk = 64 * KiB
    first, content = source(tmp_path, 1000, 20)
    c.ok("put", "-b", str(blk), first, "/a")
    sizes = [1, CHUNK, blk - 1000 - 1 - CHUNK, 5, 3 * blk + 17, 1, 2, CHUNK - 3, 70000,
             100, blk, 4096, 12345, 1, 40000, 3, 65535, 2, 9, 777]
    assert len(sizes) == 20
    for i, size in enumerate(sizes):
        data = blob(size, 200 + i)
        if i % 5 == 1:
            c.ok("append", "-", "/a", input=data, env=env)
        elif i == 7:
            half = size // 2
            f1 = tmp_path / "x1"
            f2 = tmp_path / "x2"
            f1.write_bytes(data[:half])
            f2.write_bytes(data[half:])
            c.ok("append", f1, f2, "/a", env=env)
        else:
            f = tmp_path / ("a%d" % i)
            f.write_bytes(data)
            c.ok("append", f, "/a", env=env)
        content += data
        if i == 2:
            assert len(content) == blk and c.stat("/a")["length"] == blk
        if i % 6 == 5:
            assert cat(c, "/a") == content, "after append %d" % (i + 2)
    assert cat(c, "/a") == content
    blocks = c.locate("/a")["blocks"]
    assert [b["length"] for b in blocks[:-1]] == [blk] * (len(blocks) - 1)
    assert sum(b["length"] for b in blocks) == len(content)
    # An append creates a missing file.
    c.ok("append", "-", "/new", input=b"hello", env=env)
    assert cat(c, "/new") == b"hello"
    wait_for(lambda: all(len(b["locations"]) == 3 for b in c.locate("/a")["blocks"]), 10,
             "every replica reported")
    check_replicas(c, "/a", content, want=3)


@pytest.mark.cluster(datanodes=3, overrides=FAST + lease(1500, 600000))
def test_append_refused_while_another_writer_holds_the_file(cluster, tmp_path, conf, env):
    """A live writer keeps its file past the soft limit (it renews its
    lease): `dfs append` and dfs_open_append are refused with a "being
    written" error all along; the writer's file is intact, then appendable."""
    c = cluster
    src, payload = source(tmp_path, 300000, 21)
    w = Writer(c, "/h", src, ["w100000", "f"], block=MiB, conf=conf)
    w.expect("flushed")
    more, m = source(tmp_path, 5000, 22, "more")
    rc, out, err = c.dfs("append", more, "/h", env=env)
    assert rc == 1 and "/h" in err and "being written" in err, (rc, err)
    other = Writer(c, "/h", more, [], append=True, conf=conf)
    rc, out, err = other.finish()
    assert rc == 1 and "being written" in err, (rc, out, err)
    # Past the soft limit, still refused: the writer renews its lease.
    # (Watched for 1.5 soft limits: a bounded look, not a wait for luck.)
    end = time.monotonic() + 1.5 * 1.5
    tries = 0
    while time.monotonic() < end or tries < 3:
        rc, out, err = c.dfs("append", more, "/h", env=env)
        assert rc == 1 and "being written" in err, (tries, rc, err)
        tries += 1
        time.sleep(0.2)
    w.go()
    w.closed()
    assert cat(c, "/h") == payload
    c.ok("append", more, "/h", env=env)
    assert cat(c, "/h") == payload + m


@pytest.mark.cluster(datanodes=4, overrides=SPARE)
def test_append_across_datanode_kill(cluster, tmp_path, conf, env):
    """An append whose pipeline loses its middle datanode: the append
    completes, the content is old + new, the reopened block ends with 3
    replicas (one a replacement).  While the append is paused a reader sees
    the old bytes and a right prefix of the new ones."""
    c = cluster
    src, a = source(tmp_path, MiB + 5000, 23)
    c.ok("put", "-b", "1M", src, "/f")
    old = c.locate("/f")["blocks"][-1]
    more, m = source(tmp_path, 2 * MiB + 500, 24, "more")
    w = Writer(c, "/f", more, ["w300000", "p"], append=True, conf=conf)
    w.expect("paused")
    got = cat(c, "/f", env)
    assert len(got) >= len(a) and got == (a + m)[:len(got)], len(got)
    chain = wait_pipeline(c, w)
    vport = c.datanode_port(chain[1])
    assert sorted(c.datanode_port(n) for n in chain) == \
        sorted(l["port"] for l in old["locations"]), "append pipeline is not the block's holders"
    c.kill(chain[1])
    w.go()
    w.closed(timeout=120)
    assert cat(c, "/f", env) == a + m
    loc = c.locate("/f")
    b = next(b for b in loc["blocks"] if b["id"] == old["id"])
    assert b["genstamp"] > old["genstamp"]
    wait_for(lambda: len(live_ports(block_health(c, "/f", old["id"]))) == 3, 10,
             "the appended block with 3 replicas")
    assert vport not in live_ports(block_health(c, "/f", old["id"]))
    check_replicas(c, "/f", a + m, ids={old["id"]}, want=3)
