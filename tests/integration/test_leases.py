"""The namenode's leases, lease recovery, pipeline recovery and append, at
the wire level.

`dfs-nn-call` (tests/tools/nn_call.c) makes one namenode RPC at a time and
prints the answer as JSON; it also plays datanodes ("fake" ones: they
register, report replicas, heartbeat and commit block recoveries, but hold
no data), so these tests need no real datanode and no client library
support for the new calls:

* Create with overwrite of a file another live writer holds: ERR_BUSY;
  past the soft limit the file is replaced.
* Past the hard limit the namenode recovers: a file without blocks is
  closed, a temporary one deleted, one whose last block no datanode ever
  heard of loses that block and is closed -- also after kill -9 and a
  restart (the leases are rebuilt from the persisted index).
* Block recovery: the writer is locked out, the last block gets a new
  generation stamp, CMD_RECOVER goes to a datanode of the block in its
  heartbeat answer; CommitBlockSync with a stale stamp is refused, with
  the recovery's closes the file at the length it names; a recovery not
  done in time starts again under another stamp.
* UpdatePipeline: lease holder only, stale stamps refused, replacements
  chosen outside keep + exclude, the new pipeline is what readers see;
  stale replicas of the completed block are deleted when reported.
* Append: partial last block reopened under a new stamp where its replicas
  are, full last block left as it is; another client is refused while
  the lease lives, and starts recovery once it is past the soft limit.
* Replicas being written reported after a restart are the block's
  locations; HeartbeatReq.fsyncs shows in the cluster report.
* With real datanodes: a writer killed after an hflush leaves its block
  under construction on its pipeline, and the hard limit sends the
  recovery to one of them.
"""

import json
import re
import subprocess

import pytest

from conftest import BUILD, SLOW, run, wait_for

NN_CALL = BUILD / "tests" / "dfs-nn-call"
MiB = 1 << 20


def call(cluster, *args):
    """One RPC through dfs-nn-call: its answer (dict)."""
    rc, out, err = run([NN_CALL, cluster.addr] + [str(a) for a in args])
    assert rc == 0, "dfs-nn-call %s: %s%s" % (" ".join(map(str, args)), out, err)
    return json.loads(out)


def ok(cluster, *args):
    r = call(cluster, *args)
    assert r["status"] == 0, (args, r)
    return r


def fake_datanodes(cluster, n):
    """Register n fake datanodes fk1..fkn; their storage ids."""
    sids = ["fk%d" % i for i in range(1, n + 1)]
    for i, sid in enumerate(sids):
        ok(cluster, "register", sid, 40000 + i)
    return sids


def recover_cmds(cluster, sid):
    """The CMD_RECOVERs in sid's next heartbeat answer."""
    r = ok(cluster, "heartbeat", sid)
    return [c for c in r["commands"] if c["type"] == "recover"]


def nn_stat(cluster, path):
    """The file's status as the namenode answers it (inode, length,
    complete)."""
    return ok(cluster, "locations", path)["st"]


def deletes(cluster, sid):
    """The (id, genstamp) of the deletions in sid's next heartbeat answer."""
    return {tuple(b) for c in ok(cluster, "heartbeat", sid)["commands"]
            if c["type"] == "delete" for b in c["blocks"]}


def last_block(cluster, path):
    r = ok(cluster, "locations", path)
    return r["blocks"][-1] if r["blocks"] else None


def restart_namenode(cluster):
    cluster.kill("namenode")
    assert cluster.pid("namenode") is None
    cluster.start()


# ------------------------------------------------------------- lease rules

@pytest.mark.cluster(overrides=["namenode.lease_soft_ms=%d" % (2000 * SLOW),
                                "namenode.lease_hard_ms=600000"])
def test_overwrite_refused_while_the_lease_lives(cluster):
    a = ok(cluster, "create", "/o/f", "alice")
    r = call(cluster, "create", "/o/f", "bob", "overwrite")
    assert r["status"] != 0 and "being written by another client" in r["error"]
    # Without overwrite: it exists.
    assert call(cluster, "create", "/o/f", "bob")["status"] != 0
    # Nor may the writer itself recreate it (as in HDFS): its open file
    # would go on writing an inode that is gone.
    r = call(cluster, "create", "/o/f", "alice", "overwrite")
    assert r["status"] != 0 and "already being written by this client" in r["error"]
    assert nn_stat(cluster, "/o/f")["inode"] == a["inode"]
    # Renewals keep it; silence past the soft limit lets bob replace it.
    ok(cluster, "renew", "alice")
    b = wait_for(lambda: call(cluster, "create", "/o/f", "bob", "overwrite")
                 ["status"] == 0 or None, 15, "the soft limit to pass")
    assert b
    st = nn_stat(cluster, "/o/f")
    assert st["complete"] is False
    # alice's inode is gone: her calls fail.
    r = call(cluster, "addblock", "/o/f", a["inode"], "alice")
    assert r["status"] != 0
    ok(cluster, "renew", "nobody-at-all")


@pytest.mark.cluster(overrides=["namenode.lease_hard_ms=%d" % (3000 * SLOW),
                                "namenode.block_size=1M"])
def test_hard_limit_closes_or_deletes(cluster):
    fake_datanodes(cluster, 1)
    ok(cluster, "create", "/h/empty", "w1")
    t = ok(cluster, "create", "/h/tmp._COPYING_", "w2", "temporary")
    ok(cluster, "addblock", "/h/tmp._COPYING_", t["inode"], "w2")
    assert cluster.exists("/h/tmp._COPYING_")
    wait_for(lambda: nn_stat(cluster, "/h/empty")["complete"], 20,
             "the file without blocks to be closed")
    wait_for(lambda: not cluster.exists("/h/tmp._COPYING_"), 20,
             "the temporary file to be deleted")
    log = cluster.log()
    assert "a temporary file: deleted" in log
    assert nn_stat(cluster, "/h/empty")["length"] == 0


# The fake datanode heartbeats only when the test calls: stale_ms must
# cover the calls between its registration and the addblocks, and the hard
# limit the calls between the first create and the restart, scaled for
# slow (sanitizer, loaded) runs.
@pytest.mark.cluster(overrides=["namenode.lease_hard_ms=%d" % (6000 * SLOW),
                                "namenode.block_size=1M",
                                "namenode.stale_ms=%d" % (3000 * SLOW),
                                "namenode.dead_ms=%d" % (5000 * SLOW),
                                "namenode.safemode_threshold=0",
                                "namenode.safemode_extension_ms=0"])
def test_leases_rebuilt_after_kill(cluster):
    fk = fake_datanodes(cluster, 1)[0]
    ok(cluster, "create", "/r/empty", "w1")
    t = ok(cluster, "create", "/r/tmp", "w2", "temporary")
    c = ok(cluster, "create", "/r/open", "w3")
    ok(cluster, "addblock", "/r/open", c["inode"], "w3")
    # A file whose last block is full and complete, reopened by append.
    d = ok(cluster, "create", "/r/full", "w4")
    blk = ok(cluster, "addblock", "/r/full", d["inode"], "w4")["block"]
    ok(cluster, "register", fk, 40000, "%d:%d:%d" % (blk["id"], blk["gs"], MiB))
    r = ok(cluster, "complete", "/r/full", d["inode"], "w4", blk["id"], blk["gs"], MiB)
    assert r["complete"]
    a = ok(cluster, "append", "/r/full", "w5")
    assert a["last_full"]["id"] == blk["id"] and "last" not in a
    assert nn_stat(cluster, "/r/full")["complete"] is False
    for w in ("w1", "w2", "w3", "w5"):
        ok(cluster, "renew", w)

    restart_namenode(cluster)
    assert "leases: 4 clients writing 4 files" in cluster.log()
    ok(cluster, "register", fk, 40000, "%d:%d:%d" % (blk["id"], blk["gs"], MiB))
    wait_for(lambda: not cluster.exists("/r/tmp"), 30, "the temporary file to go")
    wait_for(lambda: nn_stat(cluster, "/r/empty")["complete"], 30, "/r/empty closed")
    wait_for(lambda: nn_stat(cluster, "/r/full")["complete"], 30, "/r/full closed")
    assert nn_stat(cluster, "/r/full")["length"] == MiB
    # /r/open's block: no datanode names it once the reports have settled
    # (hard limit + dead_ms out of safe mode), nothing recorded in it:
    # dropped, the file closed empty.
    wait_for(lambda: nn_stat(cluster, "/r/open")["complete"], 30, "/r/open closed")
    assert ok(cluster, "locations", "/r/open")["blocks"] == []


# ------------------------------------------------------- block recovery

@pytest.mark.cluster(overrides=["namenode.lease_hard_ms=%d" % (2500 * SLOW),
                                "namenode.replication=2"])
def test_block_recovery_dispatch_and_commit(cluster):
    sids = fake_datanodes(cluster, 2)
    f = ok(cluster, "create", "/b/f", "w")
    blk = ok(cluster, "addblock", "/b/f", f["inode"], "w")["block"]
    assert sorted(blk["locs"]) == sids
    # Readers see the block being written, on its pipeline.
    lb = last_block(cluster, "/b/f")
    assert lb["uc"] and sorted(lb["locs"]) == sids and lb["gs"] == blk["gs"]

    # The writer goes silent: after the hard limit a datanode of the
    # block gets CMD_RECOVER under a new generation stamp.
    def cmd():
        for s in sids:
            c = recover_cmds(cluster, s)
            if c:
                return s, c[0]
        return None
    primary, c = wait_for(cmd, 20, "a CMD_RECOVER")
    rid = c["blocks"][0][1]
    assert c["blocks"][0][0] == blk["id"] and rid > blk["gs"]
    assert sorted(c["targets"]) == sids
    # The old writer is locked out.
    r = call(cluster, "addblock", "/b/f", f["inode"], "w", blk["id"], blk["gs"], 10)
    assert r["status"] != 0
    r = call(cluster, "complete", "/b/f", f["inode"], "w", blk["id"], blk["gs"], 10)
    assert r["status"] != 0
    # RecoverLease says it is not closed yet.
    assert ok(cluster, "recover", "/b/f", "someone")["closed"] is False
    # The old stamp is refused; the recovery's closes the file.
    r = call(cluster, "commitsync", blk["id"], blk["gs"], 777, primary)
    assert r["status"] != 0 and "stale" in r["error"]
    ok(cluster, "commitsync", blk["id"], rid, 777, ",".join(sids))
    st = nn_stat(cluster, "/b/f")
    assert st["complete"] and st["length"] == 777
    lb = last_block(cluster, "/b/f")
    assert not lb["uc"] and lb["length"] == 777 and lb["gs"] == rid
    assert ok(cluster, "recover", "/b/f", "someone")["closed"] is True
    # A retried commit is answered OK.
    ok(cluster, "commitsync", blk["id"], rid, 777, ",".join(sids))


@pytest.mark.cluster(overrides=["namenode.lease_hard_ms=600000",
                                "namenode.block_recovery_timeout_ms=%d" % (2000 * SLOW),
                                "namenode.replication=1"])
def test_recover_lease_and_timeout(cluster):
    fk = fake_datanodes(cluster, 1)[0]
    f = ok(cluster, "create", "/t/f", "w")
    blk = ok(cluster, "addblock", "/t/f", f["inode"], "w")["block"]
    # RecoverLease starts it at once, live lease or not.
    assert ok(cluster, "recover", "/t/f", "other")["closed"] is False
    c = wait_for(lambda: recover_cmds(cluster, fk), 10, "a CMD_RECOVER")
    rid1 = c[0]["blocks"][0][1]
    assert rid1 > blk["gs"]
    # Not committed in time: started again under another stamp.
    c = wait_for(lambda: recover_cmds(cluster, fk), 20, "the recovery again")
    rid2 = c[0]["blocks"][0][1]
    assert rid2 > rid1
    assert call(cluster, "commitsync", blk["id"], rid1, 5, fk)["status"] != 0
    # No replica anywhere: length 0 without storage ids drops the block.
    ok(cluster, "commitsync", blk["id"], rid2, 0)
    st = nn_stat(cluster, "/t/f")
    assert st["complete"] and st["length"] == 0
    assert ok(cluster, "locations", "/t/f")["blocks"] == []


# ------------------------------------------------------ pipeline recovery

@pytest.mark.cluster(overrides=["namenode.replication=2"])
def test_update_pipeline(cluster):
    sids = fake_datanodes(cluster, 3)
    f = ok(cluster, "create", "/p/f", "w")
    blk = ok(cluster, "addblock", "/p/f", f["inode"], "w")["block"]
    keep, bad = blk["locs"]
    spare = [s for s in sids if s not in blk["locs"]][0]
    # Only the lease holder, only with the block's stamp.
    r = call(cluster, "update", "/p/f", f["inode"], "intruder", blk["id"], blk["gs"],
             keep, bad, 1)
    assert r["status"] != 0 and "another client" in r["error"]
    r = call(cluster, "update", "/p/f", f["inode"], "w", blk["id"], blk["gs"] - 1,
             keep, bad, 1)
    assert r["status"] != 0 and "stale" in r["error"]
    u = ok(cluster, "update", "/p/f", f["inode"], "w", blk["id"], blk["gs"], keep, bad, 1)
    assert u["genstamp"] > blk["gs"] and u["replacements"] == [spare]
    lb = last_block(cluster, "/p/f")
    assert lb["uc"] and lb["gs"] == u["genstamp"] and sorted(lb["locs"]) == sorted([keep, spare])
    # Without replacements asked: none given.
    u2 = ok(cluster, "update", "/p/f", f["inode"], "w", blk["id"], u["genstamp"],
            "%s,%s" % (keep, spare), "-", 0)
    assert u2["replacements"] == [] and u2["genstamp"] > u["genstamp"]
    gs = u2["genstamp"]
    # Completing under the old stamp is stale; the replicas come back
    # under the new one and the file completes.
    r = call(cluster, "complete", "/p/f", f["inode"], "w", blk["id"], blk["gs"], 100)
    assert r["status"] != 0
    for s in (keep, spare):
        ok(cluster, "register", s, 40000 + sids.index(s), "%d:%d:100" % (blk["id"], gs))
    assert ok(cluster, "complete", "/p/f", f["inode"], "w", blk["id"], gs, 100)["complete"]
    # The excluded datanode, known to hold an older replica, is told to
    # delete it when the block completes (a replica under the block's
    # genstamp would be kept)...
    assert deletes(cluster, bad) == {(blk["id"], gs - 1)}
    # ... and again when it turns up with it.
    ok(cluster, "register", bad, 40000 + sids.index(bad), "%d:%d:60" % (blk["id"], blk["gs"]))
    assert deletes(cluster, bad) == {(blk["id"], blk["gs"])}
    # A stale finalized replica (no longer doomed there) is deleted too.
    ok(cluster, "register", spare, 40000 + sids.index(spare),
       "%d:%d:100" % (blk["id"], u["genstamp"]))
    assert deletes(cluster, spare) == {(blk["id"], u["genstamp"])}
    assert "a stale replica, deleting it" in cluster.log()
    ok(cluster, "register", spare, 40000 + sids.index(spare), "%d:%d:100" % (blk["id"], gs))
    # A leftover replica being written of the complete block: deleted, as
    # the block has its replicas elsewhere...
    ok(cluster, "register", bad, 40000 + sids.index(bad), "%d:%d:100:rbw" % (blk["id"], gs))
    assert deletes(cluster, bad) == {(blk["id"], gs)}
    # ... but not while they are short: it may be finalized yet.
    ok(cluster, "register", keep, 40000 + sids.index(keep), "%d:%d:100:rbw" % (blk["id"], gs))
    assert deletes(cluster, keep) == set()


# ------------------------------------------------------------------ append

@pytest.mark.cluster(overrides=["namenode.replication=1", "namenode.block_size=1M",
                                "namenode.lease_soft_ms=%d" % (2000 * SLOW)])
def test_append(cluster):
    fk = fake_datanodes(cluster, 1)[0]
    f = ok(cluster, "create", "/a/f", "w")
    blk = ok(cluster, "addblock", "/a/f", f["inode"], "w")["block"]
    ok(cluster, "register", fk, 40000, "%d:%d:1000" % (blk["id"], blk["gs"]))
    assert ok(cluster, "complete", "/a/f", f["inode"], "w", blk["id"], blk["gs"],
              1000)["complete"]

    a = ok(cluster, "append", "/a/f", "x")
    last = a["last"]
    assert last["id"] == blk["id"] and last["gs"] > blk["gs"]
    assert last["length"] == 1000 and last["offset"] == 0 and last["locs"] == [fk]
    assert a["st"]["complete"] is False and a["st"]["length"] == 1000
    lb = last_block(cluster, "/a/f")
    assert lb["uc"] and lb["gs"] == last["gs"] and lb["locs"] == [fk]
    # Another client while x's lease lives: refused, nothing started.
    r = call(cluster, "append", "/a/f", "y")
    assert r["status"] != 0 and "being written by another client" in r["error"]
    assert r["recovering"] is False
    # x writes on and closes.
    ok(cluster, "register", fk, 40000, "%d:%d:3000" % (blk["id"], last["gs"]))
    assert ok(cluster, "complete", "/a/f", f["inode"], "x", blk["id"], last["gs"],
              3000)["complete"]
    assert nn_stat(cluster, "/a/f")["length"] == 3000

    # x appends again and goes silent: past the soft limit y's append
    # starts the recovery and is told to retry.
    a = ok(cluster, "append", "/a/f", "x")
    r = wait_for(lambda: (lambda r: r if r["recovering"] else None)(
        call(cluster, "append", "/a/f", "y")), 15, "the soft limit to pass")
    assert r["status"] != 0
    c = wait_for(lambda: recover_cmds(cluster, fk), 10, "a CMD_RECOVER")
    rid = c[0]["blocks"][0][1]
    ok(cluster, "commitsync", blk["id"], rid, 3000, fk)
    ok(cluster, "register", fk, 40000, "%d:%d:3000" % (blk["id"], rid))
    a = ok(cluster, "append", "/a/f", "y")
    assert a["last"]["gs"] > rid


@pytest.mark.cluster(overrides=["namenode.replication=1", "namenode.block_size=1M"])
def test_append_full_and_empty(cluster):
    fk = fake_datanodes(cluster, 1)[0]
    f = ok(cluster, "create", "/a/full", "w")
    blk = ok(cluster, "addblock", "/a/full", f["inode"], "w")["block"]
    ok(cluster, "register", fk, 40000, "%d:%d:%d" % (blk["id"], blk["gs"], MiB))
    ok(cluster, "complete", "/a/full", f["inode"], "w", blk["id"], blk["gs"], MiB)
    a = ok(cluster, "append", "/a/full", "x")
    assert a["last_full"] == {"id": blk["id"], "gs": blk["gs"], "length": MiB}
    assert "last" not in a
    # The next block follows the full one.
    b2 = ok(cluster, "addblock", "/a/full", f["inode"], "x", blk["id"], blk["gs"],
            MiB)["block"]
    assert b2["offset"] == MiB
    cluster.ok("touch", "/a/empty")
    a = ok(cluster, "append", "/a/empty", "x")
    assert "last" not in a and "last_full" not in a
    r = call(cluster, "append", "/a", "x")
    assert r["status"] != 0
    r = call(cluster, "append", "/a/none", "x")
    assert r["status"] != 0


# ------------------------------------------------- reports and heartbeats

@pytest.mark.cluster(overrides=["namenode.replication=1",
                                "namenode.safemode_extension_ms=0"])
def test_rbw_reports_after_restart(cluster):
    fk = fake_datanodes(cluster, 2)
    f = ok(cluster, "create", "/w/f", "w")
    blk = ok(cluster, "addblock", "/w/f", f["inode"], "w")["block"]
    holder = blk["locs"][0]
    restart_namenode(cluster)
    # Before any report: no location known.
    assert last_block(cluster, "/w/f")["locs"] == []
    ok(cluster, "register", holder, 40000 + fk.index(holder),
       "%d:%d:500:rbw" % (blk["id"], blk["gs"]))
    lb = last_block(cluster, "/w/f")
    assert lb["uc"] and lb["locs"] == [holder]
    # An older stamp of a block being written: not deleted (a survivor may
    # not have been bumped yet), and its datanode is one a block recovery
    # must ask (it picks the newest stamp).
    other = [s for s in fk if s != holder][0]
    ok(cluster, "register", other, 40000 + fk.index(other),
       "%d:%d:500:rbw" % (blk["id"], blk["gs"] - 1))
    # Readers are not sent there (its stamp is stale for them): the spec's
    # locations are the replicas with the block's stamp.
    # (test_older_replica_recovered_after_restart: recovery asks it.)
    assert last_block(cluster, "/w/f")["locs"] == [holder]
    assert not [c for c in ok(cluster, "heartbeat", other)["commands"]
                if c["type"] == "delete"]
    # fsyncs from heartbeats show in the cluster report.
    ok(cluster, "heartbeat", holder, 42)
    assert ok(cluster, "report")["datanodes"][holder]["fsyncs"] == 42


@pytest.mark.cluster(overrides=["namenode.replication=1",
                                "namenode.safemode_extension_ms=0",
                                "namenode.lease_hard_ms=1000",
                                "namenode.stale_ms=1000",
                                "namenode.dead_ms=2000"])
def test_older_replica_recovered_after_restart(cluster):
    """A pipeline recovery bumped the stamp, then the writer died before the
    datanode was bumped, then the namenode restarted: the replica reported
    with the older stamp is not a location for readers, but lease recovery
    asks it (the block is not dropped as unknown) -- once the datanodes'
    reports had time to come in (lease_hard_ms + dead_ms out of safe mode),
    since the newest pipeline is not known after a restart."""
    fk = fake_datanodes(cluster, 1)[0]
    f = ok(cluster, "create", "/o/f", "w")
    blk = ok(cluster, "addblock", "/o/f", f["inode"], "w")["block"]
    u = ok(cluster, "update", "/o/f", f["inode"], "w", blk["id"], blk["gs"], fk, "-", 0)
    restart_namenode(cluster)
    ok(cluster, "register", fk, 40000, "%d:%d:700:rbw" % (blk["id"], blk["gs"]))
    assert last_block(cluster, "/o/f")["locs"] == []
    assert ok(cluster, "recover", "/o/f", "x")["closed"] is False
    c = wait_for(lambda: recover_cmds(cluster, fk), 15, "a CMD_RECOVER")
    assert c[0]["targets"] == [fk] and c[0]["blocks"][0][1] > u["genstamp"]
    ok(cluster, "commitsync", blk["id"], c[0]["blocks"][0][1], 700, fk)
    assert nn_stat(cluster, "/o/f")["length"] == 700


# ------------------------------------------------------ with real datanodes

HFLUSH_CHECK = BUILD / "tests" / "dfs-hflush-check"


@pytest.mark.cluster(datanodes=3, overrides=["namenode.lease_hard_ms=2000",
                                             "namenode.block_size=1M"])
def test_killed_writer_recovery_starts(cluster, tmp_path):
    """A writer killed after an hflush: readers see its last block under
    construction on the pipeline's datanodes; after the hard limit the
    namenode starts the block's recovery and a datanode of the pipeline
    gets the CMD_RECOVER (or, with the datanode side in place, the file is
    closed)."""
    src = tmp_path / "src"
    src.write_bytes(b"x" * 5000)
    cluster.ok("mkdir", "/k")
    p = subprocess.Popen([str(HFLUSH_CHECK), "-n", cluster.addr, "-b", str(MiB), "/k/f",
                          str(src), "w1000", "f"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cluster.spawned.append(p)
    assert p.stdout.readline() == "flushed 1000\n", p.stderr.read()
    lb = last_block(cluster, "/k/f")
    assert lb["uc"] and len(lb["locs"]) == 3 and lb["offset"] == 0
    p.kill()
    p.wait()
    wait_for(lambda: "recovering blk_%d" % lb["id"] in cluster.log(), 30,
             "the namenode to start the recovery")
    assert re.search(r"blk_%d \(inode \d+\): recovery \d+ by datanode" % lb["id"],
                     cluster.log())

    def recovered_or_asked():
        if nn_stat(cluster, "/k/f")["complete"]:
            return True
        return any("namenode command 4" in t for n, t in cluster.logs().items()
                   if n.startswith("datanode"))
    wait_for(recovered_or_asked, 30, "the primary to get the CMD_RECOVER")
