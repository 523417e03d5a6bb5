"""The writer's side of pipeline recovery (libdfs/client/pipeline.c), through the
shell and dfs-hflush-check.

* a datanode that is dead but not yet known dead when a block's pipeline
  is set up: the block is abandoned and asked for again without it; the
  put succeeds on the others (no namenode/datanode support needed beyond
  AbandonBlock and AddBlock's exclude);
* every datanode dead: a clear error naming them, nothing left behind;
* a pipeline datanode killed in the middle of a block: the write goes on
  (UpdatePipeline, a replacement with the bytes so far, WS_RECOVER,
  resend), byte-identical, with 3 replicas when a spare datanode exists
  and 2 with client.replace_datanode_on_failure = 0;
* readers of a file being written see its hflushed bytes; hsync is
  visible as datanode fsyncs in `dfs report --json`.

Tests marked `issue7` need the namenode and datanode sides of issue 7
(UpdatePipeline, WS_RECOVER, TransferBlock, ReplicaInfo, fsync counts).
"""

import os
import re
import subprocess

import pytest

from conftest import BUILD, blob, sha256 as sha, wait_for

KiB, MiB = 1024, 1024 * 1024
BLOCK = MiB
HFLUSH_CHECK = BUILD / "tests" / "dfs-hflush-check"

needs_issue7 = pytest.mark.issue7


def local(tmp_path, name, payload):
    p = tmp_path / name
    p.write_bytes(payload)
    return p


def client_conf(c, tmp_path, **keys):
    """An environment whose DFS_CONF has the cluster's [client] section
    plus keys (client.KEY = VALUE)."""
    text = "[client]\nnamenode = %s\n" % c.addr
    text += "".join("%s = %s\n" % (k, v) for k, v in keys.items())
    conf = tmp_path / "client.conf"
    conf.write_text(text)
    env = dict(os.environ)
    env["DFS_CONF"] = str(conf)
    env.pop("DFS_NAMENODE", None)
    return env


def block_ports(c, path):
    """[{port of each location}] per block of path."""
    return [{l["port"] for l in b["locations"]}
            for b in c.locate(path)["blocks"]]


def hflush_check(c, remote, src, steps, env=None, block=BLOCK):
    p = subprocess.Popen([str(HFLUSH_CHECK), "-n", c.addr, "-b", str(block),
                          remote, str(src)] + steps,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    c.spawned.append(p)
    return p


def go_on(p, expect):
    p.stdin.write("\n")
    p.stdin.flush()
    line = p.stdout.readline()
    assert line == expect, (line, p.stderr.read() if p.poll() is not None else "")


# ------------------------------------------------ pipeline set-up failures

@pytest.mark.cluster(datanodes=3)
def test_put_leaves_out_a_dead_datanode_at_setup(cluster, tmp_path):
    """A datanode killed just before a put is still live for the namenode
    (no missed heartbeat yet), so every block's first pipeline names it:
    the set-up fails at it, the block is abandoned and asked for again
    without it, and the put succeeds on the other two (a warning says so);
    no block lists the dead one."""
    victim = "datanode-2"
    port = cluster.datanode_port(victim)
    cluster.kill(victim)
    payload = blob(3 * MiB + 77, 1)
    rc, out, err = cluster.dfs("-v", "put", "-r", "3", "-b", "1M",
                               local(tmp_path, "src", payload), "/t")
    assert rc == 0, err
    assert "written to 2 of 3 datanodes" in err, err
    assert re.search(r"datanode 127\.0\.0\.1:%d failed" % port, err), err
    assert sha(cluster.ok("cat", "/t", binary=True)) == sha(payload)
    for ports in block_ports(cluster, "/t"):
        assert len(ports) == 2 and port not in ports, ports


@pytest.mark.cluster(datanodes=2)
def test_put_fails_clearly_when_every_datanode_is_dead(cluster, tmp_path):
    """Both datanodes killed (still live for the namenode): the put fails
    with exit 1, naming the datanodes that failed, and leaves nothing
    (not even its ._COPYING_ file)."""
    ports = [cluster.datanode_port(n) for n in cluster.datanode_names()]
    for n in cluster.datanode_names():
        cluster.kill(n)
    rc, out, err = cluster.dfs("put", "-b", "1M",
                               local(tmp_path, "src", blob(MiB + 5, 2)), "/t")
    assert rc == 1, err
    assert err.startswith("dfs: put: /t: "), err
    for port in ports:
        assert "127.0.0.1:%d" % port in err, err
    assert err.count("\n") == 1, err
    assert cluster.ok("ls", "/") == ""


# --------------------------------------------- failures in the middle of a block

def _kill_mid_block(cluster, tmp_path, env, victim_index):
    """Write 1.5 blocks with dfs-hflush-check, stop after an hflush in the
    second block, kill the pipeline datanode at victim_index (pipeline
    order as the namenode records it), write on and hflush inside the
    block (so the failure is met before the block's last packet goes out,
    which would leave no room for a replacement; the tests' 2-packet
    window keeps it so), then let the write finish.  Returns (payload,
    killed port)."""
    payload = blob(BLOCK + BLOCK // 2 + 12345, 3)
    src = local(tmp_path, "src", payload)
    p = hflush_check(cluster, "/f", src, ["w%d" % (BLOCK + 300000), "f", "w100000", "f"],
                     env=env)
    assert p.stdout.readline() == "flushed %d\n" % (BLOCK + 300000), p.stderr.read()
    uc = cluster.locate("/f")["blocks"][-1]
    port = uc["locations"][victim_index]["port"]
    cluster.kill(cluster.datanode_by_port()[port])
    go_on(p, "flushed %d\n" % (BLOCK + 400000))
    go_on(p, "closed\n")
    assert p.wait(timeout=120) == 0, p.stderr.read()
    assert sha(cluster.ok("cat", "/f", binary=True)) == sha(payload)
    return payload, port


@needs_issue7
@pytest.mark.cluster(datanodes=4, overrides=["datanode.heartbeat_ms=500",
                                             "namenode.stale_ms=1500",
                                             "namenode.dead_ms=3000"])
def test_kill_pipeline_datanode_without_replacement(cluster, tmp_path):
    """client.replace_datanode_on_failure = 0: the block goes on with the
    survivors and is re-replicated afterwards (once the killed datanode is
    known dead, the spare gets the copies)."""
    env = client_conf(cluster, tmp_path, replace_datanode_on_failure=0,
                      ack_timeout_ms=5000, window=2)
    _, port = _kill_mid_block(cluster, tmp_path, env, 1)
    assert port not in block_ports(cluster, "/f")[-1]
    last = wait_for(lambda: (lambda p: p if len(p) == 3 else None)(
        block_ports(cluster, "/f")[-1]), 60,
        "the block to be re-replicated to 3 datanodes")
    assert port not in last, last


@needs_issue7
@pytest.mark.cluster(datanodes=3, overrides=["datanode.heartbeat_ms=500"])
def test_reader_sees_hflushed_bytes(cluster, tmp_path):
    """While a writer pauses after each hflush, `dfs cat` shows exactly the
    bytes written so far (across a block end too), and `dfs get` the same."""
    payload = blob(BLOCK + 200000, 5)
    src = local(tmp_path, "src", payload)
    steps = ["w1000", "f", "w70000", "f", "w%d" % (BLOCK - 1000), "f"]
    p = hflush_check(cluster, "/r", src, steps)
    for want in (1000, 71000, BLOCK + 70000):
        assert p.stdout.readline() == "flushed %d\n" % want, p.stderr.read()
        got = cluster.ok("cat", "/r", binary=True)
        assert len(got) == want and got == payload[:want], (len(got), want)
        p.stdin.write("\n")
        p.stdin.flush()
    assert p.stdout.readline() == "closed\n", p.stderr.read()
    assert p.wait(timeout=60) == 0
    assert sha(cluster.ok("cat", "/r", binary=True)) == sha(payload)


@needs_issue7
@pytest.mark.cluster(datanodes=3, overrides=["datanode.heartbeat_ms=500"])
def test_hsync_shows_in_datanode_fsyncs(cluster, tmp_path):
    """An hflush fsyncs nothing; an hsync makes every pipeline datanode
    count one fsync, seen in `dfs report --json`."""
    def fsyncs():
        return sum(d["fsyncs"] for d in cluster.report()["datanodes"])

    before = fsyncs()
    src = local(tmp_path, "src", blob(50000, 6))
    p = hflush_check(cluster, "/h", src, ["w1000", "f", "w1000", "s"])
    assert p.stdout.readline() == "flushed 1000\n", p.stderr.read()
    assert fsyncs() == before
    p.stdin.write("\n")
    p.stdin.flush()
    assert p.stdout.readline() == "flushed 2000\n", p.stderr.read()
    wait_for(lambda: fsyncs() >= before + 3, 10, "3 fsyncs in the report")
    go_on(p, "closed\n")
    assert p.wait(timeout=60) == 0
