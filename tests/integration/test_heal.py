"""The cluster heals itself: dead datanodes, excess replicas, setrep,
decommissioning, safe mode and fsck, on real daemons.

Fault tests run with timeouts of a few seconds: datanodes heartbeat every
300 ms, are stale after 1 s and dead after 2 s, and the replication
monitor looks every 200 ms."""

import json

import pytest

from conftest import SLOW, blob, flip_byte, sha256, wait_for

FAST = [
    "namenode.stale_ms=1000",
    "namenode.dead_ms=2000",
    "namenode.heartbeat_recheck_ms=200",
    "namenode.replication_interval_ms=200",
    "namenode.replication_timeout_ms=10000",
    "namenode.safemode_extension_ms=0",
    "namenode.min_block_size=65536",
    "datanode.heartbeat_ms=300",
]
HEAL_TIMEOUT = 60 * SLOW


def put_files(c, tmp_path, n, size, repl=3, prefix="/d"):
    """n files of `size` random bytes (block size 64 KiB: several blocks
    each); returns {path: sha256}."""
    c.ok("mkdir", "-p", prefix)
    sums = {}
    for i in range(n):
        data = blob(size, seed=i + 1)
        local = tmp_path / ("f%d" % i)
        local.write_bytes(data)
        path = "%s/f%d" % (prefix, i)
        c.ok("put", "-r", str(repl), "-b", "65536", str(local), path)
        sums[path] = sha256(data)
    return sums


def fsck(c, path="/"):
    rc, out, err = c.dfs("fsck", "--json", "--blocks", path)
    assert rc in (0, 1), err
    return rc, json.loads(out)


def replicas_on_disk(c, block_id, names=None):
    """How many datanodes hold a finalized replica of block_id on disk."""
    return sum(1 for n in (names or c.datanode_names())
               if any("finalized" in str(p) for p in c.replica_files(n, block_id)))


def all_blocks(c, paths):
    return [b for p in paths for b in c.locate(p)["blocks"]]


def read_back(c, sums):
    for path, digest in sums.items():
        data = c.ok("cat", path, binary=True)
        assert sha256(data) == digest, path


def healthy_with(c, want):
    """fsck HEALTHY and every block with exactly `want` live replicas."""
    rc, r = fsck(c)
    if rc != 0 or r["under_replicated"] or r["over_replicated"] or r["missing"]:
        return False
    return all(b["live"] == want for f in r["files"] for b in f["blocks"])


@pytest.mark.cluster(datanodes=4, overrides=FAST)
def test_dead_datanode_blocks_copied_back_then_excess_trimmed(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 20, 150_000)
    blocks = all_blocks(c, sums)
    assert len(blocks) >= 40
    victim = c.datanode_by_port()[blocks[0]["locations"][0]["port"]]

    c.kill(victim)
    wait_for(lambda: any(d["state"] == "dead" for d in c.report()["datanodes"]),
             timeout=20 * SLOW, what="the killed datanode to be declared dead")
    # Every block back to 3 live replicas, none of them on the dead node.
    wait_for(lambda: healthy_with(c, 3), timeout=HEAL_TIMEOUT,
             what="every block back to 3 replicas")
    live = [n for n in c.datanode_names() if n != victim]
    for b in blocks:
        assert replicas_on_disk(c, b["id"], live) == 3, b["id"]
    read_back(c, sums)
    assert c.report()["copies_done"] > 0

    # The dead datanode comes back with its old replicas: 4 copies of many
    # blocks, trimmed back to 3 on disk.
    c.start()
    wait_for(lambda: all(d["state"] == "live" for d in c.report()["datanodes"]),
             timeout=20 * SLOW, what="the datanode to come back")
    wait_for(lambda: all(replicas_on_disk(c, b["id"]) == 3 for b in blocks) and
             healthy_with(c, 3), timeout=HEAL_TIMEOUT,
             what="excess replicas trimmed back to 3 on disk")
    read_back(c, sums)


@pytest.mark.cluster(datanodes=4, overrides=FAST)
def test_setrep_down_and_up_converges_on_disk(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 3, 200_000)
    blocks = all_blocks(c, sums)
    for want in (1, 3, 4, 2):
        for p in sums:
            c.ok("setrep", str(want), p)
        wait_for(lambda: all(replicas_on_disk(c, b["id"]) == want for b in blocks) and
                 healthy_with(c, want), timeout=HEAL_TIMEOUT,
                 what="every block at %d replicas on disk" % want)
    read_back(c, sums)


@pytest.mark.cluster(datanodes=4, overrides=FAST)
def test_decommission_copies_everything_then_stop_loses_nothing(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 8, 150_000)
    blocks = all_blocks(c, sums)
    port = blocks[0]["locations"][0]["port"]
    victim = c.datanode_by_port()[port]
    addr = "127.0.0.1:%d" % port

    rc, out, err = c.dfs("admin", "decommission", "nohost")
    assert rc == 1 and "invalid datanode address 'nohost'" in err, (rc, err)
    # An address no datanode has: remembered, with a warning to check it.
    rc, out, err = c.dfs("admin", "decommission", "127.0.0.1:1")
    assert rc == 0 and "no datanode is registered at this address" in err, (rc, err)
    c.ok("admin", "recommission", "127.0.0.1:1")
    c.ok("admin", "decommission", addr)

    def state():
        return {"%s:%d" % (d["host"], d["port"]): d["admin_state"]
                for d in c.report()["datanodes"]}[addr]
    wait_for(lambda: state() == "decommissioned", timeout=HEAL_TIMEOUT,
             what="the datanode to be decommissioned")
    # Nothing new goes to it.
    extra = put_files(c, tmp_path, 2, 100_000, prefix="/after")
    for b in all_blocks(c, extra):
        assert port not in [l["port"] for l in b["locations"]]

    # The namenode remembers the decommission across its restart.
    c.stop("namenode")
    c.start()
    c.ok("safemode", "wait", "-t", str(int(30 * SLOW)))
    wait_for(lambda: state() == "decommissioned", timeout=HEAL_TIMEOUT,
             what="the datanode decommissioned again after the restart")

    c.kill(victim)
    wait_for(lambda: any(d["state"] == "dead" for d in c.report()["datanodes"]),
             timeout=20 * SLOW, what="the stopped datanode to be dead")
    rc, r = fsck(c)
    assert rc == 0 and r["status"] == "HEALTHY", r
    assert all(b["live"] == 3 for f in r["files"] for b in f["blocks"])
    read_back(c, {**sums, **extra})


@pytest.mark.cluster(datanodes=3, overrides=FAST + ["namenode.safemode_extension_ms=1500"])
def test_safemode_after_namenode_restart(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 4, 150_000)
    out = c.ok("safemode", "get")
    assert "OFF" in out

    # The namenode alone: every block unreported, so it holds safe mode.
    c.stop()
    c.start("namenode")
    out = c.ok("safemode", "get")
    assert "Safe mode is ON" in out and "0 of" in out, out
    rc, _, err = c.dfs("mkdir", "/x")
    assert rc == 1 and "safe mode" in err, (rc, err)
    rc, _, err = c.dfs("rm", list(sums)[0])
    assert rc == 1 and "safe mode" in err, (rc, err)
    rc, _, err = c.dfs("put", "-", "/y", input=b"abc")
    assert rc == 1 and "safe mode" in err, (rc, err)
    assert "dfs safemode leave" in err, err          # says what to do
    for args in (("setrep", "1", list(sums)[0]), ("mv", list(sums)[0], "/moved"),
                 ("chmod", "600", list(sums)[0]), ("admin", "decommission", "127.0.0.1:1")):
        rc, _, err = c.dfs(*args)
        assert rc == 1 and "safe mode" in err, (args, rc, err)
    read_ok = c.dfs("ls", "/d")
    assert read_ok[0] == 0, read_ok
    rep = c.report()
    assert rep["safemode"] is True and rep["missing"] == rep["blocks"]

    # One datanode of three: every block has a replica, the rest are
    # under-replicated, and still nothing is copied while safe mode holds.
    c.start(c.datanode_names()[0])
    c.ok("safemode", "wait", "-t", str(int(30 * SLOW)))
    c.start()
    read_back(c, sums)
    c.ok("mkdir", "/x")
    log = c.log("namenode")
    assert "leaving safe mode" in log

    # An operator's safe mode holds until left.
    c.ok("safemode", "enter")
    rc, _, err = c.dfs("mkdir", "/z")
    assert rc == 1 and "safe mode" in err
    rc, out, err = c.dfs("safemode", "wait", "-t", "1")
    assert rc == 1 and "still in safe mode" in err
    c.ok("safemode", "leave")
    c.ok("mkdir", "/z")
    rc, _, err = c.dfs("safemode", "bogus")
    assert rc == 2 and "unknown operand 'bogus'" in err


@pytest.mark.cluster(datanodes=4, overrides=FAST)
def test_no_copies_ordered_in_safe_mode(cluster, tmp_path):
    c = cluster
    put_files(c, tmp_path, 3, 150_000)
    c.ok("safemode", "enter")
    victim = c.datanode_names()[0]
    c.kill(victim)
    wait_for(lambda: any(d["state"] == "dead" for d in c.report()["datanodes"]),
             timeout=20 * SLOW, what="the killed datanode to be dead")
    # Under-replicated blocks, but no copy is scheduled while safe mode
    # holds (the monitor runs every 200 ms: this spans many of its ticks).
    wait_for(lambda: "replicas dropped" in c.log("namenode"), timeout=5,
             what="the dead datanode's replicas dropped")
    wait_for(lambda: c.report()["under_replicated"] > 0, timeout=5,
             what="the block map to count the blocks under-replicated")
    for _ in range(10):
        r = c.report()
        assert r["pending_replication"] == 0 and r["copies_done"] == 0, r
        c.ok("safemode", "get")
    c.ok("safemode", "leave")
    wait_for(lambda: c.report()["copies_done"] > 0, timeout=HEAL_TIMEOUT,
             what="copies once safe mode is left")


@pytest.mark.cluster(datanodes=3, overrides=FAST)
def test_fsck_names_missing_block_and_read_fails_clearly(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 2, 150_000, repl=2)
    rc, out, err = c.dfs("fsck", "--json")
    r = json.loads(out)
    assert rc == 0 and r["status"] == "HEALTHY" and r["files"] == [], out
    assert r["total_files"] == 2 and r["total_blocks"] >= 4 and r["total_replicas"] >= 8
    victim_path = sorted(sums)[0]
    blk = c.locate(victim_path)["blocks"][0]
    for loc in blk["locations"]:
        c.kill(c.datanode_by_port()[loc["port"]])
    wait_for(lambda: fsck(c)[1]["missing"] >= 1, timeout=20 * SLOW,
             what="the block to be missing")
    rc, out, err = c.dfs("fsck", victim_path)
    assert rc == 1
    assert "blk_%d MISSING" % blk["id"] in out and victim_path in out, out
    assert out.rstrip().endswith("is CORRUPT"), out
    rc, out, err = c.dfs("cat", victim_path, binary=True)
    assert rc == 1 and ("blk_%d" % blk["id"]) in err, err
    assert c.report()["missing"] >= 1
    rc, _, err = c.dfs("fsck", "/nope")
    assert rc == 1 and "/nope" in err


SCAN = FAST + ["datanode.scan_period_s=1", "datanode.scan_bytes_per_s=64M"]


@pytest.mark.cluster(datanodes=4, overrides=SCAN)
def test_scanner_finds_rot_replica_replaced_then_bad_one_deleted(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 1, 100_000)
    path = list(sums)[0]
    blk = c.locate(path)["blocks"][0]
    holder = c.datanode_by_port()[blk["locations"][0]["port"]]
    bad = [p for p in c.replica_files(holder, blk["id"]) if "finalized" in str(p)][0]
    flip_byte(bad)
    others = [n for n in c.datanode_names()
              if not c.replica_files(n, blk["id"])]
    assert len(others) == 1
    # No reader: the scanner finds it, a good copy lands on the fourth
    # datanode, then the bad file leaves the disk.
    wait_for(lambda: c.replica_files(others[0], blk["id"]) and
             not c.replica_files(holder, blk["id"]), timeout=HEAL_TIMEOUT,
             what="the rotten replica replaced and deleted")
    wait_for(lambda: healthy_with(c, 3), timeout=HEAL_TIMEOUT, what="fsck healthy")
    assert "reported bad by" in c.log("namenode")
    read_back(c, sums)


@pytest.mark.cluster(datanodes=3, overrides=SCAN)
def test_every_replica_rotten_is_missing_even_after_namenode_restart(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 1, 100_000)
    path = list(sums)[0]
    blk = c.locate(path)["blocks"][0]
    for n in c.datanode_names():
        for p in c.replica_files(n, blk["id"]):
            flip_byte(p)

    def named_corrupt():
        rc, out, _ = c.dfs("fsck", path)
        return rc == 1 and ("blk_%d MISSING" % blk["id"]) in out and "is CORRUPT" in out
    wait_for(named_corrupt, timeout=HEAL_TIMEOUT, what="fsck to name the corrupt block")
    rc, out, err = c.dfs("cat", path, binary=True)
    assert rc == 1 and ("blk_%d" % blk["id"]) in err, err
    assert c.report()["missing"] >= 1

    c.stop("namenode")
    c.start("namenode")
    wait_for(named_corrupt, timeout=HEAL_TIMEOUT,
             what="fsck to name the corrupt block after the namenode's restart")


@pytest.mark.cluster(datanodes=2, overrides=FAST + ["namenode.stale_ms=10000",
                                                    "namenode.dead_ms=20000"])
def test_trimmed_replica_reported_again_is_not_counted(cluster, tmp_path):
    """setrep 2 -> 1 trims one replica; its datanode restarts before it got
    the deletion and reports the replica again: the namenode must not count
    it (and then trim the other, last, replica)."""
    import os
    import signal
    c = cluster
    sums = put_files(c, tmp_path, 1, 100_000, repl=2)
    path = list(sums)[0]
    blocks = all_blocks(c, sums)
    names = c.datanode_names()
    pids = {n: c.pid(n) for n in names}
    # Frozen datanodes stay LIVE for stale_ms (10 s) but cannot fetch the
    # deletions the trim orders.
    for n in names:
        os.kill(pids[n], signal.SIGSTOP)
    try:
        c.ok("setrep", "1", path)
        wait_for(lambda: "deleting the replica" in c.log("namenode"), timeout=5,
                 what="the trim to be ordered")
        line = [l for l in c.log("namenode").splitlines() if "deleting the replica" in l][0]
        port = int(line.split("replica on ")[1].split()[0].split(":")[1])
        victim = c.datanode_by_port()[port]
        c.kill(victim)
    finally:
        for n in names:
            try:
                os.kill(pids[n], signal.SIGCONT)
            except ProcessLookupError:
                pass
    c.start(victim)
    wait_for(lambda: all(replicas_on_disk(c, b["id"]) == 1 for b in blocks), timeout=30 * SLOW,
             what="one replica per block on disk")
    wait_for(lambda: healthy_with(c, 1), timeout=30 * SLOW, what="fsck healthy at 1")
    read_back(c, sums)
    trims = [l for l in c.log("namenode").splitlines() if "deleting the replica" in l]
    assert len(trims) == len(blocks), trims


# A datanode remembers the replicas it found bad (blk_<id>_<gs>.bad beside
# each) and lists them as corrupt in its block reports: a restart of the
# datanode or of the namenode does not make them count as good again.  The
# restarts go to the scanner's default period, so nothing is found again
# by a rescan: what the namenode knows then comes from the reports alone.
DEFAULT_SCAN = "datanode.scan_period_s=1814400"


def marker_files(c, name, block_id):
    """The bad-replica markers of block_id in datanode `name`'s data dirs."""
    return [p for d in c.data_dirs(name)
            for p in d.glob("finalized/subdir*/subdir*/blk_%d_*.bad" % block_id)]


def since_last_start(text):
    """The part of a daemon's log since tools/cluster last started it."""
    return text[text.rfind("=== tools/cluster:"):]


def fsck_block(c, path, block_id):
    """fsck --json's entry of block_id under path (None: not listed)."""
    _, r = fsck(c, path)
    return next((b for f in r["files"] for b in f["blocks"] if b["id"] == block_id), None)


@pytest.mark.cluster(datanodes=3, overrides=SCAN)
def test_bad_replicas_stay_bad_across_datanode_and_namenode_restarts(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 1, 100_000)
    path = list(sums)[0]
    blk = c.locate(path)["blocks"][0]
    names = c.datanode_names()
    # The namenode is down while the scanners find the damage.  Up, it
    # would hear of the first bad replica while the other two still count
    # as good, and (three datanodes, all holding the block) delete that one
    # to make room for a good copy: whether the other scanners got there
    # first would be a race.  What it knows after the restart comes from
    # the block reports alone, which is what this test is about.
    c.stop("namenode")
    for n in names:
        for p in c.replica_files(n, blk["id"]):
            flip_byte(p)
    wait_for(lambda: all(marker_files(c, n, blk["id"]) for n in names),
             timeout=HEAL_TIMEOUT, what="every datanode's scanner to flag its replica bad")

    # Everything restarts, the scanners at their default period (named:
    # `start` alone waits for safe mode to end, which it must not here).
    c.stop()
    c.start("-o", DEFAULT_SCAN, "namenode", *names)

    def all_corrupt():
        b = fsck_block(c, path, blk["id"])
        return b and b["live"] == 0 and b["corrupt"] == 3 and b["status"] == "MISSING"
    wait_for(all_corrupt, timeout=20 * SLOW,
             what="the namenode to learn the 3 bad replicas from the reports")
    rc, out, _ = c.dfs("fsck", path)
    assert rc == 1 and ("blk_%d MISSING: 0 live" % blk["id"]) in out, out
    assert out.rstrip().endswith("is CORRUPT"), out
    rc, _, err = c.dfs("cat", path, binary=True)
    assert rc == 1 and ("blk_%d" % blk["id"]) in err, err
    # Safe mode does not count the block: it has no good replica.
    out = c.ok("safemode", "get")
    assert "Safe mode is ON" in out and "1 of 2 blocks" in out, out
    for n in names:
        log = since_last_start(c.log(n))
        assert "finalized replicas (1 flagged bad)" in log, (n, log)
        assert "is corrupt" not in log, (n, log)           # no rescan found it
        assert marker_files(c, n, blk["id"]) and c.replica_files(n, blk["id"]), n


@pytest.mark.cluster(datanodes=4, overrides=SCAN)
def test_bad_replica_remembered_across_its_datanode_restart_then_replaced(cluster, tmp_path):
    c = cluster
    sums = put_files(c, tmp_path, 1, 100_000)
    path = list(sums)[0]
    blk = c.locate(path)["blocks"][0]
    port = blk["locations"][0]["port"]
    holder = c.datanode_by_port()[port]
    # In safe mode the namenode orders no copy and no deletion: the bad
    # replica is still there when its datanode restarts.
    c.ok("safemode", "enter")
    flip_byte(c.replica_files(holder, blk["id"])[0])
    wait_for(lambda: marker_files(c, holder, blk["id"]) and c.report()["corrupt"] == 1,
             timeout=HEAL_TIMEOUT, what="the scanner to flag the replica bad")

    # Away long enough to be dead: the namenode drops its replicas, and with
    # them what it knew about this one ...
    c.stop(holder)

    def holder_state():
        return next(d["state"] for d in c.report()["datanodes"] if d["port"] == port)
    wait_for(lambda: holder_state() == "dead" and c.report()["corrupt"] == 0,
             timeout=20 * SLOW, what="the stopped datanode to be dead")
    # ... and learns it again from the restarted datanode's report.
    c.start("-o", DEFAULT_SCAN, holder)

    def one_corrupt():
        b = fsck_block(c, path, blk["id"])
        return b and b["live"] == 2 and b["corrupt"] == 1
    wait_for(one_corrupt, timeout=20 * SLOW, what="fsck to show 1 corrupt replica")
    assert c.report()["corrupt"] == 1
    assert "is corrupt" not in since_last_start(c.log(holder))

    # Healing: a good copy on the fourth datanode, then the bad one (and its
    # marker) deleted.
    c.ok("safemode", "leave")
    wait_for(lambda: not c.replica_files(holder, blk["id"]) and
             replicas_on_disk(c, blk["id"]) == 3 and healthy_with(c, 3),
             timeout=HEAL_TIMEOUT, what="the bad replica replaced, then deleted")
    assert not marker_files(c, holder, blk["id"])
    assert c.report()["corrupt"] == 0
    read_back(c, sums)


@pytest.mark.cluster(datanodes=3, overrides=FAST + ["datanode.block_report_split=3"])
def test_block_reports_in_parts(cluster, tmp_path):
    """A full report bigger than one message goes in parts (here 3 replicas
    each): after a namenode restart every replica is known again; a replica
    lost while its datanode was down is dropped at the report's end."""
    c = cluster
    sums = put_files(c, tmp_path, 4, 200_000)           # 4 blocks each: 16
    blocks = all_blocks(c, sums)
    c.stop("namenode")
    c.start()
    log = c.log("namenode")
    assert "registered with a report (first part)" in log and "full report (last part)" in log
    held = {d["port"]: d["blocks"] for d in c.report()["datanodes"]}
    assert sum(held.values()) == 3 * len(blocks), held

    # A replica lost while its datanode is down (not long enough to be
    # dead): the namenode still lists it until the report that omits it.
    name = c.datanode_names()[0]
    port = c.datanode_port(name)
    gone = next(b for b in blocks if port in [l["port"] for l in b["locations"]])["id"]
    c.stop(name)
    for d in c.data_dirs(name):
        for pat in ("blk_%d" % gone, "blk_%d_*.meta" % gone):
            for p in d.glob("finalized/subdir*/subdir*/" + pat):
                p.unlink()
    c.start(name)
    wait_for(lambda: "1 no longer listed" in c.log("namenode"), timeout=20 * SLOW,
             what="the report in parts to drop the lost replica")
    wait_for(lambda: healthy_with(c, 3), timeout=HEAL_TIMEOUT,
             what="every block at 3 replicas again")
    read_back(c, sums)


@pytest.mark.cluster(datanodes=4, overrides=FAST)
def test_misreplicated_blocks_spread_over_racks(cluster, tmp_path):
    """Blocks written to two datanodes that then turn out to share a rack
    (the namenode restarts with a topology of two racks): fsck names them
    mis-replicated, and the namenode moves one replica of each to the other
    rack."""
    c = cluster
    names = c.datanode_names()
    ports = [c.datanode_port(n) for n in names]
    # Datanodes 3 and 4 take no new replicas while the files are written.
    for p in ports[2:]:
        c.ok("admin", "decommission", "127.0.0.1:%d" % p)
    sums = put_files(c, tmp_path, 3, 200_000, repl=2)
    for p in ports[2:]:
        c.ok("admin", "recommission", "127.0.0.1:%d" % p)
    blocks = all_blocks(c, sums)
    assert all(sorted(l["port"] for l in b["locations"]) == sorted(ports[:2]) for b in blocks)

    topo = tmp_path / "topology"
    topo.write_text("".join("127.0.0.1:%d %s\n" % (p, rack)
                            for p, rack in zip(ports, ["/r1", "/r1", "/r2", "/r2"])))
    # Restarted with the topology, held in safe mode until we look.
    c.stop("namenode")
    c.start("-o", "namenode.topology_file=%s" % topo,
            "-o", "namenode.safemode_extension_ms=600000", "namenode")
    wait_for(lambda: sum(d["state"] == "live" for d in c.report()["datanodes"]) == 4,
             timeout=20 * SLOW, what="the 4 datanodes to register again")
    rc, r = fsck(c)
    assert rc == 0 and r["mis_replicated"] == len(blocks), r
    c.ok("safemode", "leave")

    def racks_ok():
        rc, r = fsck(c)
        return rc == 0 and r["mis_replicated"] == 0 and r["under_replicated"] == 0 and \
            r["over_replicated"] == 0 and \
            all(b["racks"] == 2 and b["live"] == 2 for f in r["files"] for b in f["blocks"])
    wait_for(racks_ok, timeout=HEAL_TIMEOUT, what="every block on two racks")
    read_back(c, sums)
