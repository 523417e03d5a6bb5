"""Datanodes under damage and change: corrupt replicas, dead datanodes,
restarts (same storage id, new port), several data dirs.

Each test has its own cluster (it damages it); files use 1 MiB blocks.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BUILD, SLOW, blob, flip_byte, free_port, run, sha256 as sha, wait_for

MiB = 1024 * 1024
PREAD_CHECK = BUILD / "tests" / "dfs-pread-check"
FAST_HB = "datanode.heartbeat_ms=500"


def put(cluster, tmp_path, remote, payload):
    src = tmp_path / ("src-" + remote.strip("/").replace("/", "_"))
    src.write_bytes(payload)
    cluster.ok("put", "-b", "1M", src, remote)
    return src


def get_ok(cluster, tmp_path, remote, payload):
    """`dfs get -f` to tmp_path/back: exit 0, every byte right."""
    dst = tmp_path / "back"
    rc, out, err = cluster.dfs("get", "-f", remote, dst)
    assert rc == 0, err
    assert sha(dst.read_bytes()) == sha(payload)


def storage_id(cluster, name):
    """The storage id in datanode name's VERSION file."""
    text = (cluster.data_dirs(name)[0] / "VERSION").read_text()
    m = re.search(r"^storage_id=(\S+)$", text, re.M)
    assert m, text
    return m.group(1)


def set_dn_conf(cluster, name, key, value):
    """Rewrite `key = value` in datanode name's conf (the datanode must be
    stopped; tools/cluster start brings it back with it)."""
    conf = cluster.dir / (name + ".conf")
    text, n = re.subn(r"(?m)^%s = .*$" % re.escape(key),
                      lambda _: "%s = %s" % (key, value), conf.read_text())
    assert n == 1, "no %s in %s" % (key, conf)
    conf.write_text(text)


# ------------------------------------------------------------- corruption

@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB])
def test_corrupt_replica_is_skipped_and_reported(cluster, tmp_path):
    """One byte flipped in one replica: every read still returns the right
    bytes, and the reader's report makes the namenode list that replica
    (and only it) as corrupt."""
    payload = blob(2 * MiB + 12345, 1)
    put(cluster, tmp_path, "/f", payload)
    b = cluster.locate("/f")["blocks"][1]
    victim_port = b["locations"][0]["port"]
    victim = cluster.datanode_by_port()[victim_port]
    files = cluster.replica_files(victim, b["id"])
    assert len(files) == 1, files
    flip_byte(files[0], 70000)

    # The reader tries replicas in random order (all are equally close):
    # read until it has met the bad one.  Each read must be right.
    def flagged():
        get_ok(cluster, tmp_path, "/f", payload)
        locs = cluster.locate("/f")["blocks"][1]["locations"]
        return [l for l in locs if l.get("corrupt")]
    bad = wait_for(flagged, 30, "the namenode to list the corrupt replica")
    assert [l["port"] for l in bad] == [victim_port]
    assert all(l["corrupt"] is True for l in bad)
    for i, blk in enumerate(cluster.locate("/f")["blocks"]):
        if i != 1:
            assert not any(l.get("corrupt") for l in blk["locations"]), blk
    assert sha(cluster.ok("cat", "/f", binary=True)) == sha(payload)
    assert "checksum mismatch" in cluster.log("namenode") or \
        "corrupt" in cluster.log("namenode")


@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB])
def test_block_without_good_replica_fails_clearly(cluster, tmp_path):
    """Every replica of one block corrupt: get fails (exit 1) naming the
    block, leaves no local file, and never writes wrong bytes to stdout."""
    payload = blob(2 * MiB + 1, 2)
    put(cluster, tmp_path, "/f", payload)
    b = cluster.locate("/f")["blocks"][1]
    for l in b["locations"]:
        for f in cluster.replica_files(cluster.datanode_by_port()[l["port"]],
                                       b["id"]):
            flip_byte(f, 5)
    dst = tmp_path / "out"
    rc, out, err = cluster.dfs("get", "/f", dst)
    assert rc == 1, err
    assert "blk_%d" % b["id"] in err, err
    assert err.startswith("dfs: get: /f: "), err
    assert not dst.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("out")]
    rc, out, err = cluster.dfs("cat", "/f", binary=True)
    assert rc == 1 and "blk_%d" % b["id"] in err, err
    assert payload.startswith(out), "cat wrote bytes that are not the file's"
    assert len(out) <= MiB


# ---------------------------------------------------------- dead datanodes

@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB])
def test_read_after_datanodes_are_killed(cluster, tmp_path):
    payload = blob(3 * MiB + MiB // 2, 3)
    src = put(cluster, tmp_path, "/f", payload)
    cluster.kill("datanode-1")
    get_ok(cluster, tmp_path, "/f", payload)
    assert sha(cluster.ok("cat", "/f", binary=True)) == sha(payload)
    cluster.kill("datanode-2")
    get_ok(cluster, tmp_path, "/f", payload)
    try:
        rc, out, err = run([PREAD_CHECK, "-n", cluster.addr, "-i", "100",
                            "-s", "3", "/f", src], timeout=20 * SLOW)
    except subprocess.TimeoutExpired:
        rc = None
    assert rc is not None, "dfs-pread-check did not finish in 20 s"
    assert rc == 0, out + err
    # a dead replica is not a corrupt one
    for b in cluster.locate("/f")["blocks"]:
        assert not any(l.get("corrupt") for l in b["locations"]), b


@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB])
def test_read_with_every_datanode_dead_fails_clearly(cluster, tmp_path):
    put(cluster, tmp_path, "/f", blob(MiB + 1, 3))
    first = cluster.locate("/f")["blocks"][0]["id"]
    for n in cluster.datanode_names():
        cluster.kill(n)
    rc, out, err = cluster.dfs("get", "/f", tmp_path / "none")
    assert rc == 1, err
    assert err.startswith("dfs: get: /f: ") and "blk_%d" % first in err, err
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("none")]


# ------------------------------------------------------------ identity

@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB])
def test_restart_keeps_storage_id(cluster, tmp_path):
    payload = blob(MiB + 5, 4)
    put(cluster, tmp_path, "/f", payload)
    port = cluster.datanode_port("datanode-1")
    sid = storage_id(cluster, "datanode-1")
    version = (cluster.data_dirs("datanode-1")[0] / "VERSION").read_bytes()
    before = {d["port"]: d["storage_id"] for d in cluster.report()["datanodes"]}
    assert before[port] == sid
    assert len(set(before.values())) == 3
    cluster.stop("datanode-1")
    cluster.start()
    assert (cluster.data_dirs("datanode-1")[0] / "VERSION").read_bytes() == version
    r = cluster.report()
    assert {d["port"]: d["storage_id"] for d in r["datanodes"]} == before
    assert all(d["state"] == "live" for d in r["datanodes"])
    wait_for(lambda: [d for d in cluster.report()["datanodes"]
                      if d["port"] == port and d["blocks"] == 2],
             10, "the restarted datanode to report its 2 blocks")


@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB])
def test_restart_at_new_port_is_same_datanode(cluster, tmp_path):
    """A datanode back at another port is the same node (one entry, its
    storage id, the new port) and serves its replicas from there."""
    payload = blob(2 * MiB + 3, 5)
    put(cluster, tmp_path, "/f", payload)
    old = cluster.datanode_port("datanode-1")
    sid = storage_id(cluster, "datanode-1")
    cluster.stop("datanode-1")
    new = free_port()
    set_dn_conf(cluster, "datanode-1", "address", "127.0.0.1:%d" % new)
    cluster.start()
    assert storage_id(cluster, "datanode-1") == sid
    r = cluster.report()
    dns = r["datanodes"]
    assert len(dns) == 3, dns
    mine = [d for d in dns if d["storage_id"] == sid]
    assert len(mine) == 1, mine
    assert mine[0]["port"] == new and mine[0]["state"] == "live"
    assert old not in [d["port"] for d in dns]
    assert [d["state"] for d in dns] == ["live"] * 3
    # its replicas are located at the new port, and read from there
    for b in cluster.locate("/f")["blocks"]:
        ports = [l["port"] for l in b["locations"]]
        assert new in ports and old not in ports, b
    cluster.kill("datanode-2")
    cluster.kill("datanode-3")
    get_ok(cluster, tmp_path, "/f", payload)


# -------------------------------------------------------- several dirs

def _free(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


@pytest.fixture
def shm_dir():
    """A directory on a file system other than the test's tmp dir (tmpfs
    /dev/shm), removed at the end."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    d = Path(tempfile.mkdtemp(prefix="dfs-test-", dir="/dev/shm"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB])
def test_new_replicas_go_to_dir_with_most_free_space(cluster, tmp_path, shm_dir):
    d1 = cluster.data_dirs("datanode-1")[0]
    d2 = shm_dir / "data"
    if os.stat(d1).st_dev == os.stat(shm_dir).st_dev:
        pytest.skip("/dev/shm is on the same file system as %s" % d1)
    f1, f2 = _free(d1), _free(shm_dir)
    if abs(f1 - f2) < 1024 * MiB:
        pytest.skip("free space of %s and /dev/shm too close (%d, %d)"
                    % (d1, f1, f2))
    roomy = d1 if f1 > f2 else d2
    cluster.stop("datanode-1")
    set_dn_conf(cluster, "datanode-1", "data_dirs", "%s,%s" % (d1, d2))
    cluster.start()
    # The datanode writes VERSION into the new dir as it opens its volumes.
    wait_for(lambda: (d2 / "VERSION").exists(), timeout=20 * SLOW,
             what="VERSION in the new data dir")
    assert (d2 / "VERSION").read_text() == (d1 / "VERSION").read_text()
    files = {}
    for i in range(3):
        files["/f%d" % i] = blob(2 * MiB + i, 10 + i)
        put(cluster, tmp_path, "/f%d" % i, files["/f%d" % i])
    for path, payload in files.items():
        for b in cluster.locate(path)["blocks"]:
            got = cluster.replica_files("datanode-1", b["id"])
            assert len(got) == 1, got
            assert roomy in got[0].parents, \
                "%s: not in %s (free %d vs %d)" % (got[0], roomy, f1, f2)
            assert got[0].read_bytes() == \
                payload[b["offset"]:b["offset"] + b["length"]]


@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB])
def test_replicas_in_every_data_dir_are_found_and_served(cluster, tmp_path):
    """A datanode with two data dirs scans both at start: replicas moved
    into the second dir are reported and served (the other datanodes
    dead, so every block must come from this one)."""
    payload = blob(4 * MiB - 7, 6)
    put(cluster, tmp_path, "/f", payload)
    blocks = cluster.locate("/f")["blocks"]
    d1 = cluster.data_dirs("datanode-1")[0]
    d2 = cluster.dir / "datanode-1-second"
    cluster.stop("datanode-1")
    moved = []
    for b in blocks[::2]:
        data, = cluster.replica_files("datanode-1", b["id"])
        for f in [data] + list(data.parent.glob("blk_%d_*.meta" % b["id"])):
            to = d2 / f.relative_to(d1)
            to.parent.mkdir(parents=True, exist_ok=True)
            f.rename(to)
        moved.append(b["id"])
    assert len(moved) == 2
    set_dn_conf(cluster, "datanode-1", "data_dirs", "%s,%s" % (d1, d2))
    cluster.start()
    port = cluster.datanode_port("datanode-1")
    for bid in moved:
        got = cluster.replica_files("datanode-1", bid)
        assert len(got) == 1 and d2 in got[0].parents, got
    wait_for(lambda: [d for d in cluster.report()["datanodes"]
                      if d["port"] == port and d["blocks"] == len(blocks)],
             10, "datanode-1 to report all %d blocks" % len(blocks))
    cluster.kill("datanode-2")
    cluster.kill("datanode-3")
    get_ok(cluster, tmp_path, "/f", payload)


# ------------------------------------------------------------- orphans

@pytest.mark.cluster(datanodes=1, overrides=[FAST_HB, "namenode.replication=1"])
def test_orphan_replica_reported_at_registration_is_deleted(cluster, tmp_path):
    """A replica of a block no file has any more -- here the replica of a
    removed file put back on the disk while its datanode was down, as a
    datanode that missed the delete would hold it -- is listed in the full
    report at registration, and the namenode orders its deletion."""
    put(cluster, tmp_path, "/f", blob(100000, 21))
    bid = cluster.locate("/f")["blocks"][0]["id"]
    files = cluster.replica_files("datanode-1", bid)
    assert len(files) == 1
    saved = {p: p.read_bytes() for p in files[0].parent.glob("blk_%d*" % bid)}
    assert len(saved) == 2, sorted(saved)          # data and .meta
    cluster.ok("rm", "/f")
    wait_for(lambda: not cluster.replica_files("datanode-1", bid), 15,
             "the removed file's replica to be deleted")

    cluster.stop("datanode-1")
    for p, data in saved.items():
        p.write_bytes(data)
    cluster.start()
    wait_for(lambda: not cluster.replica_files("datanode-1", bid), 15,
             "the orphan replica to be deleted after registration")
    assert "1 unknown (1 orphans to delete)" in cluster.log("namenode")
