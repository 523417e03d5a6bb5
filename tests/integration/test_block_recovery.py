"""Block recovery led by a datanode (datanode/dn_recovery.c) against REAL
datanodes (their side of it, request by request, is test_dn_recovery.py).
First dfs-recover-check runs dn_recovery_block -- the function a
datanode's recovery threads run for CMD_RECOVER -- against the transfer
ports of a cluster's datanodes, which answer InitRecoveryReq and
FinishRecoveryReq.  What is checked is what it would commit and what is
on the datanodes' disks:

* a writer killed after an hflush leaves its replicas unfinished on the
  three datanodes of its pipeline; the recovery settles on the hflushed
  length and every replica ends finalized at that length, byte-identical,
  under the recovery genstamp;
* a datanode that never answers (SIGSTOP) costs one timeout and is left
  out; the others are finalized;
* no replica anywhere: the commit has length 0 and no datanode;
* a recovery genstamp older than the replicas' commits nothing and leaves
  them as they were.

Then whole lease recoveries with every daemon real: a writer killed after
an hflush loses its file when its lease passes the hard limit, or at once
when another client asks (RecoverLeaseReq); the namenode sends CMD_RECOVER
to a datanode of the block, which leads the recovery and commits it; the
file is closed holding exactly the hflushed bytes.  The namenode's rules
alone (fake datanodes) are test_leases.py's.
"""

import os
import re
import signal
import subprocess
import time

import pytest

import json

from conftest import BUILD, SLOW, blob, run, wait_for

HFLUSH_CHECK = BUILD / "tests" / "dfs-hflush-check"
RECOVER_CHECK = BUILD / "tests" / "dfs-recover-check"
NN_CALL = BUILD / "tests" / "dfs-nn-call"
BLOCK = 1024 * 1024
FLUSHED = 100000


def targets(c, names):
    """dfs-recover-check targets: transfer address = the datanode's name."""
    return ["127.0.0.1:%d=%s" % (c.datanode_port(n), n) for n in names]


def recover_check(block_id, gs, tgts, timeout_ms=5000):
    rc, out, err = run([RECOVER_CHECK, "-t", str(timeout_ms), str(block_id), str(gs)] + tgts,
                       timeout=60 * SLOW)
    assert "runtime error" not in err and "Sanitizer" not in err, err
    return rc, out, err


def rbw_metas(c):
    """{datanode: [Path of each rbw/*.meta]}."""
    found = {}
    for n in c.datanode_names():
        for d in c.data_dirs(n):
            found.setdefault(n, []).extend(sorted(d.glob("rbw/blk_*_*.meta")))
    return found


def finalized(c, name, block_id):
    """(data bytes, meta file name) of datanode name's finalized replica of
    block_id, or None."""
    for d in c.data_dirs(name):
        for f in d.glob("finalized/subdir*/subdir*/blk_%d" % block_id):
            metas = list(f.parent.glob(f.name + "_*.meta"))
            assert len(metas) == 1, metas
            return f.read_bytes(), metas[0].name
    return None


def killed_writer(c, tmp_path, payload):
    """Write payload[:FLUSHED] to /f with dfs-hflush-check, hflush, kill -9
    the writer.  Returns (block id, genstamp) of the replicas it left on
    every datanode of its pipeline."""
    src = tmp_path / "src"
    src.write_bytes(payload)
    p = subprocess.Popen([str(HFLUSH_CHECK), "-n", c.addr, "-b", str(BLOCK), "/f", str(src),
                          "w%d" % FLUSHED, "f"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    c.spawned.append(p)
    try:
        line = p.stdout.readline()
        assert line == "flushed %d\n" % FLUSHED, line + p.stderr.read()
        metas = rbw_metas(c)
        assert all(len(v) == 1 for v in metas.values()), metas
    finally:
        p.kill()
        p.wait()
    names = {m[0].name for m in metas.values()}
    assert len(names) == 1, names
    mt = re.fullmatch(r"blk_(\d+)_(\d+)\.meta", names.pop())
    return int(mt.group(1)), int(mt.group(2))


@pytest.mark.cluster(datanodes=3)
def test_recovery_finalizes_the_hflushed_prefix_everywhere(cluster, tmp_path):
    payload = blob(FLUSHED + 5000, seed=71)
    bid, gs = killed_writer(cluster, tmp_path, payload)
    names = cluster.datanode_names()
    rc, out, err = recover_check(bid, gs + 1, targets(cluster, names))
    assert rc == 0, out + err
    assert out == "committed %d on 3: %s\n" % (FLUSHED, ",".join(names)), out + err
    for n in names:
        got = finalized(cluster, n, bid)
        assert got is not None, (n, cluster.replica_files(n, bid))
        data, meta = got
        assert data == payload[:FLUSHED], n
        assert meta == "blk_%d_%d.meta" % (bid, gs + 1), (n, meta)
    assert not any(rbw_metas(cluster).values())


@pytest.mark.cluster(datanodes=3)
def test_a_silent_datanode_is_left_out_after_one_timeout(cluster, tmp_path):
    payload = blob(FLUSHED, seed=72)
    bid, gs = killed_writer(cluster, tmp_path, payload)
    names = cluster.datanode_names()
    stopped = names[1]
    pid = cluster.pid(stopped)
    os.kill(pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        rc, out, err = recover_check(bid, gs + 1, targets(cluster, names), timeout_ms=1500)
        took = time.monotonic() - t0
    finally:
        os.kill(pid, signal.SIGCONT)
    assert rc == 0, out + err
    assert out == "committed %d on 2: %s,%s\n" % (FLUSHED, names[0], names[2]), out + err
    assert took < 1.5 * 2 + 5 * SLOW, took          # the Init phase's timeout, once
    assert "%s: no answer within 1500 ms" % targets(cluster, [stopped])[0].split("=")[0] \
        in err, err
    for n in (names[0], names[2]):
        got = finalized(cluster, n, bid)
        assert got and got[0] == payload[:FLUSHED], n
    # The stopped one still has its unfinished replica (the namenode deletes
    # it as stale once the block is complete).
    assert finalized(cluster, stopped, bid) is None
    wait_for(lambda: rbw_metas(cluster)[stopped], 10 * SLOW, "the stopped node's replica")


@pytest.mark.cluster(datanodes=2)
def test_no_replica_anywhere_commits_an_empty_block(cluster):
    names = cluster.datanode_names()
    rc, out, err = recover_check((1 << 50) + 12345, 7, targets(cluster, names))
    assert rc == 0, out + err
    assert out == "committed 0 on 0:\n", out + err


@pytest.mark.cluster(datanodes=3)
def test_an_older_recovery_genstamp_changes_nothing(cluster, tmp_path):
    payload = blob(FLUSHED, seed=73)
    bid, gs = killed_writer(cluster, tmp_path, payload)
    names = cluster.datanode_names()
    before = rbw_metas(cluster)
    rc, out, err = recover_check(bid, gs - 1, targets(cluster, names))
    assert rc == 1, out + err
    assert out == "not committed\n", out + err
    assert "superseded" in err, err
    assert rbw_metas(cluster) == before
    for n in names:
        assert finalized(cluster, n, bid) is None, n


# ------------------------------------------------------- whole recoveries

def recovery_lines(c):
    """The primaries' INFO lines of committed recoveries, every datanode."""
    return [line for n in c.datanode_names() for line in c.log(n).splitlines()
            if "INFO" in line and ": recovered blk_" in line]


def nn_stat(c, path):
    """The file's status as the namenode answers it (complete, length)."""
    rc, out, err = run([NN_CALL, c.addr, "locations", path])
    assert rc == 0, out + err
    r = json.loads(out)
    assert r["status"] == 0, r
    return r["st"]


def closed_with(c, path, payload):
    """Wait until path is complete; check its bytes."""
    wait_for(lambda: nn_stat(c, path)["complete"], 30 * SLOW, "%s closed" % path)
    assert nn_stat(c, path)["length"] == len(payload)
    assert c.ok("cat", path, binary=True) == payload


@pytest.mark.cluster(datanodes=3, overrides=["namenode.lease_soft_ms=500",
                                             "namenode.lease_hard_ms=3000",
                                             "datanode.heartbeat_ms=300"])
def test_hard_limit_recovers_a_killed_writers_file(cluster, tmp_path):
    payload = blob(FLUSHED + 5000, seed=74)
    bid, gs = killed_writer(cluster, tmp_path, payload)
    assert not nn_stat(cluster, "/f")["complete"]
    closed_with(cluster, "/f", payload[:FLUSHED])
    lines = recovery_lines(cluster)
    assert len(lines) == 1, lines
    assert "recovered blk_%d (genstamp " % bid in lines[0], lines
    assert "length %d on 3 of 3 datanodes" % FLUSHED in lines[0], lines
    # Every replica was finalized under the recovery genstamp.
    for n in cluster.datanode_names():
        got = finalized(cluster, n, bid)
        assert got and got[0] == payload[:FLUSHED], n
        assert int(re.fullmatch(r"blk_\d+_(\d+)\.meta", got[1]).group(1)) > gs, got[1]


@pytest.mark.cluster(datanodes=3, overrides=["namenode.lease_hard_ms=600000",
                                             "datanode.heartbeat_ms=300"])
def test_recover_lease_closes_a_killed_writers_file(cluster, tmp_path):
    payload = blob(FLUSHED, seed=75)
    killed_writer(cluster, tmp_path, payload)

    def recover():
        rc, out, err = run([NN_CALL, cluster.addr, "recover", "/f", "other-client"])
        assert rc == 0, out + err
        r = json.loads(out)
        assert r["status"] == 0, r
        return r["closed"]
    assert recover() is False              # started: the answer comes before it ends
    wait_for(recover, 30 * SLOW, "RecoverLease answering closed")
    closed_with(cluster, "/f", payload[:FLUSHED])
    assert len(recovery_lines(cluster)) == 1
