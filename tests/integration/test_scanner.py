"""The datanode's block scanner: it finds a corrupt replica with no reader
involved and reports it to the namenode, never flags a sound one, keeps its
place across a restart, and refuses bad settings.

Each test has its own cluster; scan_period_s is a few seconds so that
passes come quickly.
"""

import os
import re
import time

import pytest

from conftest import DATANODE, SLOW, blob, flip_byte, run, sanitizer_report, wait_for

KiB = 1024
MiB = 1024 * KiB
FAST_HB = "datanode.heartbeat_ms=500"
FAST_SCAN = ["datanode.scan_period_s=2", "datanode.scan_bytes_per_s=1G"]
PASS_RE = re.compile(r"block scanner: pass (\d+) complete in \d+ s: (\d+) replicas, "
                     r"(\d+) bytes, (\d+) corrupt(?: \(resumed after blk_(\d+): "
                     r"(\d+) replicas since\))?")


def put(cluster, tmp_path, remote, payload, *opts):
    src = tmp_path / ("src-" + remote.strip("/").replace("/", "_"))
    src.write_bytes(payload)
    cluster.ok("put", *opts, src, remote)


def passes(text):
    """[(pass, replicas, bytes, corrupt, resumed_after, since)] of the pass
    lines in a datanode log."""
    return [tuple(int(g) if g else None for g in m.groups())
            for m in PASS_RE.finditer(text)]


def block_ids(cluster, paths):
    return [b["id"] for p in paths for b in cluster.locate(p)["blocks"]]


@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB] + FAST_SCAN)
def test_corrupt_replica_found_and_reported_without_a_reader(cluster, tmp_path):
    """One byte flipped in the middle of one replica: the scanner of that
    datanode reports it (naming the chunk), the namenode marks that replica
    -- and only it -- corrupt, and the datanode leaves the replica where it
    is (only a namenode command deletes it)."""
    payload = blob(2 * MiB + 4321, 11)
    put(cluster, tmp_path, "/f", payload, "-b", "1M")
    b = cluster.locate("/f")["blocks"][1]
    victim_port = b["locations"][0]["port"]
    victim = cluster.datanode_by_port()[victim_port]
    files = cluster.replica_files(victim, b["id"])
    assert len(files) == 1, files
    flip_byte(files[0], 500000)             # chunk 30 of 16K chunks

    # The namenode's mark is short-lived: with three datanodes all holding
    # the block, it deletes the bad replica at once to make room for a good
    # copy.  Its log is what lasts.
    marked = re.compile(r"blk_(\d+): replica on datanode \S+ at [\d.]+:(\d+) reported bad "
                        r"by .*block scanner.*chunk (\d+).*marked corrupt")
    wait_for(lambda: marked.search(cluster.log("namenode")), 30,
             "the namenode to mark a replica corrupt")
    nn_log = cluster.log("namenode")
    assert {m.groups() for m in marked.finditer(nn_log)} == \
        {(str(b["id"]), str(victim_port), "30")}, nn_log[-3000:]
    dn_log = cluster.log(victim)
    assert re.search(r"WARN.*block scanner: blk_%d .*chunk 30 is corrupt.*file \S*blk_%d"
                     % (b["id"], b["id"]), dn_log), dn_log[-3000:]
    assert "reported bad replica blk_%d" % b["id"] in dn_log
    for name in cluster.datanode_names():
        if name != victim:
            assert "is corrupt" not in cluster.log(name)
    # The datanode does not move or delete it on its own: only the
    # namenode's command does.
    if cluster.replica_files(victim, b["id"]) != files:
        wait_for(lambda: "deleted blk_%d (namenode command)" % b["id"] in cluster.log(victim),
                 10, "the datanode to log the namenode's deletion")
    # Once per pass at most: it is reported in the next pass again, not twice
    # in one.
    assert dn_log.count("reported bad replica blk_%d" % b["id"]) <= \
        len(passes(dn_log)) + 1


@pytest.mark.cluster(datanodes=3, overrides=[FAST_HB] + FAST_SCAN)
def test_sound_replicas_never_reported(cluster, tmp_path):
    """Several files, several blocks each, chunk sizes of all kinds: a
    complete pass over them finds nothing."""
    put(cluster, tmp_path, "/a", blob(3 * MiB + 17, 1), "-b", "1M")
    put(cluster, tmp_path, "/b", blob(100 * KiB, 2))
    put(cluster, tmp_path, "/c", blob(0, 3))
    put(cluster, tmp_path, "/d", blob(MiB + 1, 4), "-b", "1M")
    ids = block_ids(cluster, ["/a", "/b", "/c", "/d"])
    assert len(ids) >= 7

    def full_pass(name):
        # A pass covering every replica this datanode holds.
        held = sum(1 for i in ids if cluster.replica_files(name, i))
        return [p for p in passes(cluster.log(name)) if p[1] >= held]
    for name in cluster.datanode_names():
        p = wait_for(lambda: full_pass(name), 30, "a full scan pass on " + name)
        assert p[-1][3] == 0, p
        assert "is corrupt" not in cluster.log(name)
    assert cluster.report()["corrupt"] == 0
    assert "reported bad by" not in cluster.log("namenode")


def cursor(cluster, name):
    path = cluster.data_dirs(name)[0] / "scanner.cursor"
    return dict(line.split("=", 1) for line in path.read_text().split())


@pytest.mark.cluster(datanodes=1, overrides=[
    "datanode.scan_period_s=1", "datanode.scan_bytes_per_s=32K",
    "datanode.log_level=debug"])
def test_restart_resumes_the_pass(cluster, tmp_path):
    """A datanode stopped in the middle of a slow pass (16 KiB files read at
    32 KiB/s) resumes it after the last replica it finished: the cursor file
    and the pass line say so, and no replica at or below the cursor is read
    again in that pass."""
    names = ["/f%d" % i for i in range(8)]
    for i, n in enumerate(names):
        put(cluster, tmp_path, n, blob(16 * KiB, 20 + i))
    ids = sorted(block_ids(cluster, names))
    mark = len(cluster.log("datanode-1"))

    def sound(text):
        return [int(m.group(1)) for m in
                re.finditer(r"block scanner: blk_(\d+) sound", text)]

    def in_full_pass():
        # Two replicas into a pass that follows one over all eight: this
        # pass covers the eight and has most of them to go.
        text = cluster.log("datanode-1")[mark:]
        ends = list(PASS_RE.finditer(text))
        return ends and int(ends[-1].group(2)) >= len(ids) and \
            len(sound(text[ends[-1].end():])) >= 2
    wait_for(in_full_pass, 20, "two replicas scanned in a full pass")
    cluster.stop("datanode-1")
    cur = cursor(cluster, "datanode-1")
    last = int(cur["last_id"])
    assert cur["done"] == "0", cur
    assert ids[0] < last < ids[-1], (cur, ids)

    mark = len(cluster.log("datanode-1"))
    cluster.start()
    resumed = "resuming the pass started at unix time %s after blk_%d" % (
        cur["pass_start"], last)

    def pass_after_resume():
        text = cluster.log("datanode-1")[mark:]
        return [p for p in passes(text) if p[4] is not None]
    p = wait_for(pass_after_resume, 20, "the resumed pass to complete")[0]
    text = cluster.log("datanode-1")[mark:]
    assert resumed in text, text[:2000]
    after = [i for i in ids if i > last]
    assert p[4] == last and p[5] == len(after), (p, after)
    assert p[1] == int(cur["scanned"]) + len(after), (p, cur)
    assert p[3] == 0
    # Between the restart and the end of that pass, only the replicas above
    # the cursor were read, each once.
    upto = text.index("block scanner: pass %d complete" % p[0])
    assert sound(text[:upto]) == after, (last, sound(text[:upto]))


def daemon_conf_error(tmp_path, text):
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    rc, out, err = run([DATANODE, "-c", conf], timeout=20 * SLOW)
    assert not sanitizer_report(err), err
    return rc, err


@pytest.mark.parametrize("text,msg", [
    ("[datanode]\nscan_period_s = -1\n", "datanode.scan_period_s"),
    ("[datanode]\nscan_period_s = 31536001\n", "out of range [1, 31536000]"),
    ("[datanode]\nscan_period_s = 2w\n", "expected an integer"),
    ("[datanode]\nscan_bytes_per_s = 0\n", "value 0 out of range [1K, 1T]"),
    ("[datanode]\nscan_bytes_per_s = 2T\n", "out of range [1K, 1T]"),
    ("[datanode]\nscan_bytes_per_s = fast\n", "expected a size"),
])
def test_bad_scanner_settings_rejected(tmp_path, text, msg):
    rc, err = daemon_conf_error(tmp_path, text)
    assert rc == 2, (rc, err)
    assert "bad.conf:2: datanode.scan_" in err, err
    assert msg in err, err


@pytest.mark.cluster(datanodes=1, overrides=["datanode.scan_period_s=0"])
def test_period_zero_turns_the_scanner_off(cluster, tmp_path):
    put(cluster, tmp_path, "/f", blob(10 * KiB, 5))
    log = cluster.log("datanode-1")
    assert "block scanner off (datanode.scan_period_s = 0)" in log, log
    assert "block scanner: first pass" not in log
    assert not (cluster.data_dirs("datanode-1")[0] / "scanner.cursor").exists()


@pytest.mark.cluster(datanodes=1, overrides=["datanode.scan_period_s=1"])
def test_short_period_does_not_spin(cluster, tmp_path):
    """A 1 s period over a few small replicas: one pass a second, the rest
    of the time asleep (the datanode uses little CPU)."""
    for i in range(3):
        put(cluster, tmp_path, "/f%d" % i, blob(40 * KiB, 30 + i))
    pid = cluster.pid("datanode-1")

    def cpu_s():
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    first = len(passes(cluster.log("datanode-1")))
    cpu0, t0 = cpu_s(), time.monotonic()
    wait_for(lambda: len(passes(cluster.log("datanode-1"))) >= first + 3, 10,
             "three more passes")
    elapsed = time.monotonic() - t0
    ps = passes(cluster.log("datanode-1"))
    assert len(ps) - first <= elapsed + 2, (len(ps) - first, elapsed)
    assert ps[-1][1] == 3 and ps[-1][3] == 0, ps[-1]
    assert cpu_s() - cpu0 < 0.5 * elapsed * SLOW, (cpu_s() - cpu0, elapsed)
