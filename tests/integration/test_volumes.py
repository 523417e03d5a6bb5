"""Failed data dirs (HDFS's failed volumes) on a datanode.

Each test runs a namenode (tools/cluster, no datanodes of its own) and one
datanode started here, as a child whose exit status is known, over data
dirs on small tmpfs file systems the test mounts (root only).  A tmpfs
remounted read-only stands in for a disk gone bad (EROFS), a tmpfs filled
up for a full disk (ENOSPC), a regular file for a dir that cannot be
created at start.  Teardown kills the datanode before unmounting.
"""

import os
import re
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import DATANODE, SLOW, blob, sha256, wait_for

MiB = 1 << 20
FAST = ["datanode.heartbeat_ms=300", "datanode.volume_check_ms=300",
        "datanode.log_level=debug"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                 reason="mounts tmpfs: needs root")


# ------------------------------------------------------------- fixtures

def _mounted(path):
    with open("/proc/self/mounts") as f:
        return any(line.split()[1] == str(path) for line in f)


@pytest.fixture
def tmpfs(tmp_path):
    """tmpfs(name, mib) -> a fresh tmpfs of that size at tmp_path/name;
    every one is unmounted at teardown (lazily if still busy)."""
    made = []

    def mount(name, mib):
        p = tmp_path / name
        p.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" % mib,
                            "tmpfs", str(p)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip("cannot mount tmpfs: %s" % r.stderr.strip())
        made.append(p)
        return p
    yield mount
    for p in reversed(made):
        if _mounted(p) and subprocess.run(["umount", str(p)]).returncode:
            subprocess.run(["umount", "-l", str(p)])


def remount(path, mode):
    r = subprocess.run(["mount", "-o", "remount,%s" % mode, str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


class DataNode:
    """dfs-datanode as a child of the test, registered with `cluster`'s
    namenode, its log in the cluster dir (checked for sanitizer reports
    by the cluster's teardown)."""

    def __init__(self, cluster, name, dirs, overrides=()):
        self.cluster = cluster
        self.dirs = [Path(d) for d in dirs]
        self.conf = cluster.dir / (name + ".conf")
        self.logf = cluster.dir / (name + ".log")
        self.overrides = list(FAST) + list(overrides)
        self.proc = None
        self.port = None
        self.conf.write_text(
            "[datanode]\naddress = 127.0.0.1:0\ndata_dirs = %s\n"
            "namenode = %s\n" % (",".join(map(str, self.dirs)), cluster.addr))

    def start(self):
        cmd = [str(DATANODE), "-c", str(self.conf)]
        for o in self.overrides:
            cmd += ["-o", o]
        with open(self.logf, "ab") as lf:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=lf, stderr=subprocess.STDOUT)
        return self

    def log(self):
        return self.logf.read_text(errors="replace") if self.logf.exists() else ""

    def mine(self):
        """This datanode's entry in `dfs report --json`, or None."""
        for d in self.cluster.report()["datanodes"]:
            if d["port"] == self.port:
                return d
        return None

    def wait_live(self):
        def up():
            assert self.proc.poll() is None, \
                "datanode exited with %s:\n%s" % (self.proc.returncode, self.log())
            m = re.search(r"serving block transfers on \S+:(\d+)", self.log())
            if m:
                self.port = int(m.group(1))
                d = self.mine()
                return d is not None and d["state"] == "live"
            return False
        wait_for(up, 30, "the datanode to register")
        return self

    def wait_exit(self, timeout=30):
        try:
            return self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            pytest.fail("datanode still running:\n" + self.log()[-3000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def datanode(cluster, tmpfs):
    """datanode(dirs, overrides) -> a started DataNode (not yet waited
    for); all are stopped before the tmpfs mounts go."""
    made = []

    def make(dirs, overrides=()):
        d = DataNode(cluster, "voldn-%d" % len(made), dirs, overrides)
        made.append(d)
        return d.start()
    yield make
    for d in made:
        d.stop()


def put(cluster, tmp_path, remote, payload, block="1M", check=True):
    src = tmp_path / ("src-" + remote.strip("/").replace("/", "_"))
    src.write_bytes(payload)
    r = cluster.dfs("put", "-r", "1", "-b", block, src, remote)
    if check:
        assert r[0] == 0, r
    return r


def replicas_in(dirpath):
    """Block ids of the finalized replicas under data dir dirpath."""
    return sorted(int(p.name[4:]) for p in
                  Path(dirpath).glob("finalized/subdir*/subdir*/blk_*")
                  if not p.name.endswith(".meta"))


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def failures(dn):
    """The log lines of dn saying a data dir failed."""
    return re.findall(r".*data dir \S+ failed.*", dn.log())


def checks_logged(dn):
    return dn.log().count("data dir check:")


# ---------------------------------------------------------------- tests

@pytest.mark.cluster(datanodes=0)
def test_read_only_dir_fails_and_the_rest_serves(cluster, tmpfs, datanode,
                                                 tmp_path):
    """A dir whose file system turns read-only is marked failed by the
    probe: one ERROR line naming it and the errno, its replicas reported
    removed (the namenode's count for the datanode drops to 0), capacity
    without it; the datanode (1 failure tolerated) stays up and new files
    land in the other dir."""
    big, small = tmpfs("big", 64), tmpfs("small", 32)
    d_big, d_small = big / "data", small / "data"
    dn = datanode([d_big, d_small],
                  ["datanode.failed_volumes_tolerated=1"]).wait_live()
    files = {"/f%d" % i: blob(MiB + 1000 * (i + 1), i) for i in range(3)}
    for path, payload in files.items():
        put(cluster, tmp_path, path, payload)
    # most free space wins: everything went to the 64 MiB dir
    assert len(replicas_in(d_big)) == 6 and replicas_in(d_small) == []
    wait_for(lambda: dn.mine()["blocks"] == 6, 10, "6 blocks reported")
    cap_before = dn.mine()["capacity"]

    remount(big, "ro")
    wait_for(lambda: "data dir %s failed" % d_big in dn.log(), 10,
             "the failed dir to be logged")
    line, = [l for l in dn.log().splitlines()
             if "data dir %s failed" % d_big in l]
    assert "ERROR" in line and "Read-only file system (EROFS)" in line, line
    assert "6 replicas dropped" in line, line
    wait_for(lambda: dn.mine()["blocks"] == 0, 10,
             "the namenode to drop the lost replicas")
    wait_for(lambda: dn.mine()["capacity"] < cap_before, 10,
             "capacity without the failed dir")
    assert dn.mine()["capacity"] <= 32 * MiB
    assert dn.proc.poll() is None

    # the datanode goes on with the other dir
    payload = blob(MiB + 77, 9)
    put(cluster, tmp_path, "/after", payload)
    assert len(replicas_in(d_small)) == 2
    back = tmp_path / "back"
    rc, out, err = cluster.dfs("get", "/after", back)
    assert rc == 0, err
    assert sha256(back.read_bytes()) == sha256(payload)
    # a file whose only replicas were in the failed dir cannot be read;
    # the reader is told so, nothing crashes
    rc, out, err = cluster.dfs("get", "/f0", tmp_path / "lost")
    assert rc == 1 and "/f0" in err, (rc, err)
    assert dn.proc.poll() is None
    assert "too many failed" not in dn.log()


@pytest.mark.cluster(datanodes=0)
def test_write_in_flight_in_failed_dir_fails_alone(cluster, tmpfs, datanode,
                                                   tmp_path):
    """Two files being written, one into each dir; the first dir fails
    (its rbw/ vanishes: the probe cannot stat it).  The write there fails
    with an I/O error; the one in the other dir completes."""
    a, b = tmpfs("a", 64), tmpfs("b", 32)
    dn = datanode([a / "data", b / "data"],
                  ["datanode.failed_volumes_tolerated=1"]).wait_live()
    p1, p2 = blob(12 * MiB, 1), blob(12 * MiB, 2)
    first = 5 * MiB         # the shell sends once it has read 4 MiB

    def start(remote, payload, d):
        p = cluster.spawn("put", "-r", "1", "-b", "8M", "-", remote,
                          stdin=subprocess.PIPE)
        p.stdin.write(payload[:first])
        p.stdin.flush()
        wait_for(lambda: list((d / "data" / "rbw").glob("blk_*")), 10,
                 "%s to be written in %s" % (remote, d))
        return p
    w1 = start("/w1", p1, a)
    # now b has more room than a: the next replica goes there
    with open(a / "filler", "wb") as f:
        f.write(b"\0" * (free_bytes(a) - 16 * MiB))
    w2 = start("/w2", p2, b)

    (a / "data" / "rbw").rename(a / "data" / "rbw.gone")
    wait_for(lambda: failures(dn), 10, "the dir to fail")
    out1, err1 = w1.communicate(p1[first:], timeout=60 * SLOW)
    out2, err2 = w2.communicate(p2[first:], timeout=60 * SLOW)
    assert w1.returncode == 1, err1
    assert b"Input/output error" in err1, err1
    assert w2.returncode == 0, err2
    back = tmp_path / "w2"
    rc, out, err = cluster.dfs("get", "/w2", back)
    assert rc == 0, err
    assert sha256(back.read_bytes()) == sha256(p2)
    assert dn.proc.poll() is None


@pytest.mark.cluster(datanodes=0)
def test_failed_dir_over_tolerance_stops_datanode(cluster, tmpfs, datanode,
                                                  tmp_path):
    """With datanode.failed_volumes_tolerated=0 (the default) one failed
    dir of two shuts the datanode down with status 1 and says why."""
    a, b = tmpfs("a", 64), tmpfs("b", 32)
    dn = datanode([a / "data", b / "data"]).wait_live()
    put(cluster, tmp_path, "/f", blob(100000, 1))
    remount(a, "ro")
    assert dn.wait_exit() == 1
    log = dn.log()
    assert "data dir %s failed" % (a / "data") in log
    assert ("too many failed data dirs: 1 failed, 0 tolerated "
            "(datanode.failed_volumes_tolerated): shutting down") in log
    assert "datanode stopped (exit status 1)" in log


@pytest.mark.cluster(datanodes=0)
def test_full_dir_fails_the_write_not_the_dir(cluster, tmpfs, datanode,
                                              tmp_path):
    """A replica that does not fit in the dir it was given fails with a
    no-space error at the writer; the dir is not failed (tolerated=0
    would stop the datanode), and a full dir passes the periodic probe."""
    a, b = tmpfs("a", 64), tmpfs("b", 32)
    dn = datanode([a / "data", b / "data"]).wait_live()
    # leave 40 MiB in a (still the most free): a 48 MiB block goes there
    filler = a / "filler"
    with open(filler, "wb") as f:
        f.write(b"\0" * (free_bytes(a) - 40 * MiB))
    assert 39 * MiB < free_bytes(a) <= 40 * MiB
    rc, out, err = put(cluster, tmp_path, "/big", blob(48 * MiB, 3),
                       block="64M", check=False)
    if rc == 0:     # a writer that recovers may finish through the other dir
        assert replicas_in(b / "data"), "put succeeded, but where to?"
    else:
        assert "No space left on device" in err, err
    assert dn.proc.poll() is None
    assert list((a / "data" / "rbw").iterdir()) == []
    assert failures(dn) == []

    # a full dir: new replicas go to the other one, the probe still passes.
    # The aborted replica's files are unlinked, but tmpfs frees their space
    # only once the datanode has closed them: wait for that before filling.
    wait_for(lambda: free_bytes(a) > 39 * MiB, 10 * SLOW,
             "the aborted replica's space to come back")
    with open(filler, "ab", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * MiB)
        except OSError:
            pass
    assert free_bytes(a) < MiB
    n = checks_logged(dn)
    wait_for(lambda: checks_logged(dn) >= n + 2, 10, "two more dir checks")
    checks = [l for l in dn.log().splitlines() if "data dir check:" in l]
    assert checks[-1].endswith("data dir check: 2 of 2 usable"), checks[-1]
    put(cluster, tmp_path, "/small", blob(5000, 4))
    assert dn.proc.poll() is None
    assert failures(dn) == []

    # room again: the dir takes new replicas
    filler.unlink()
    put(cluster, tmp_path, "/again", blob(5000, 5))
    assert replicas_in(a / "data")


@pytest.mark.cluster(datanodes=0)
@pytest.mark.parametrize("tolerated", [0, 1])
def test_unusable_dir_at_start(cluster, tmpfs, datanode, tmp_path,
                               tolerated):
    """A dir that cannot be used at start counts as failed: within
    tolerance the datanode starts on the others, beyond it it refuses
    with status 1 and says why."""
    good = tmp_path / "good"
    not_a_dir = tmp_path / "plainfile"
    not_a_dir.write_text("x")
    ro = tmpfs("ro", 8)
    remount(ro, "ro")
    dirs = [good, not_a_dir] if tolerated else [good, ro / "data"]
    dn = datanode(dirs, ["datanode.failed_volumes_tolerated=%d" % tolerated])
    if tolerated:
        dn.wait_live()
        log = dn.log()
        assert "data dir %s failed at start: mkdir %s: Not a directory " \
               "(ENOTDIR)" % (not_a_dir, not_a_dir) in log, log
        assert "starting with 1 of 2 data dirs failed (1 tolerated)" in log
        put(cluster, tmp_path, "/f", blob(3000, 1))
        assert len(replicas_in(good)) == 1
    else:
        assert dn.wait_exit() == 1
        log = dn.log()
        assert "data dir %s failed at start: mkdir %s: Read-only file " \
               "system (EROFS)" % (ro / "data", ro / "data") in log, log
        assert ("too many failed data dirs: 1 failed, 0 tolerated "
                "(datanode.failed_volumes_tolerated): not starting") in log


@pytest.mark.cluster(datanodes=0)
def test_every_dir_unusable_at_start(cluster, datanode, tmp_path):
    f1, f2 = tmp_path / "f1", tmp_path / "f2"
    f1.write_text("x")
    f2.write_text("y")
    dn = datanode([f1, f2], ["datanode.failed_volumes_tolerated=5"])
    assert dn.wait_exit() == 1
    assert "cannot open the block store: no usable data dir: %s" % f1 \
        in dn.log()


HEAL = ["namenode.stale_ms=1000", "namenode.dead_ms=2000",
        "namenode.heartbeat_recheck_ms=200", "namenode.replication_interval_ms=200",
        "namenode.replication_timeout_ms=10000", "namenode.min_block_size=65536",
        "datanode.heartbeat_ms=300"]


@pytest.mark.cluster(datanodes=4, overrides=HEAL)
def test_failed_dir_replicas_come_back_elsewhere(cluster, tmpfs, datanode, tmp_path):
    """A dir of a running datanode goes read-only: the datanode stays up,
    writes go on, and the namenode copies the dir's replicas back.  Files
    want 5 replicas on the 5 datanodes, so every block has one on the
    tmpfs datanode (never trimmed) and the copies can only go to its other
    dir."""
    c = cluster
    bad, good = tmpfs("bad", 64), tmpfs("good", 32)   # new replicas go to the larger
    dn = datanode([bad, good], ["datanode.failed_volumes_tolerated=1"] + HEAL).wait_live()
    c.ok("mkdir", "/v")
    sums = {}
    for i in range(4):
        data = blob(300_000, seed=40 + i)
        src = tmp_path / ("v%d" % i)
        src.write_bytes(data)
        c.ok("put", "-r", "5", "-b", "64K", src, "/v/f%d" % i)
        sums["/v/f%d" % i] = sha256(data)
    wait_for(lambda: all(b["live"] == 5 for f in fsck_files(c) for b in f["blocks"]),
             30 * SLOW, "5 replicas per block")
    on_bad = set(replicas_in(bad))
    assert len(on_bad) >= 8, on_bad
    assert not replicas_in(good)

    remount(bad, "ro")
    wait_for(lambda: failures(dn), 20 * SLOW, "the dir to be marked failed")
    assert dn.proc.poll() is None, "the datanode must stay up with one failed dir"
    # Every block back to 5 good replicas: the copies land in the good dir.
    wait_for(lambda: all(b["live"] == 5 for f in fsck_files(c) for b in f["blocks"]),
             60 * SLOW, "the failed dir's replicas copied back")
    assert set(replicas_in(good)) == on_bad
    for path, digest in sums.items():
        assert sha256(c.ok("cat", path, binary=True)) == digest
    # Writes go on, through the dir that is left.
    put(c, tmp_path, "/v/after", blob(100_000, seed=99))


def fsck_files(c):
    import json
    rc, out, err = c.dfs("fsck", "--json", "--blocks", "/v")
    assert rc in (0, 1), err
    return json.loads(out)["files"]
