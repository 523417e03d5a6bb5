"""Append: dfs_open_append() through `dfs append` (libdfs/client/append.c).

* appends to closed files ending mid-chunk, on a chunk boundary, on a
  block boundary, and to an empty file; 20 appends in a row; stdin;
  several LOCAL operands; REMOTE created when missing;
* refused while another client writes the file ("being written");
* usage and local errors before anything is appended;
* an append across a datanode kill;
* a writer idle past the namenode's soft limit keeps its lease (the
  library's renewal thread).

Tests marked `issue7` need the namenode (AppendReq, leases) and datanode
(WS_APPEND) sides of issue 7.
"""

import os
import subprocess
import time

import pytest

from conftest import BUILD, blob, sha256 as sha

KiB, MiB = 1024, 1024 * 1024
CHUNK = 16 * KiB
BLOCK = MiB
HFLUSH_CHECK = BUILD / "tests" / "dfs-hflush-check"

needs_issue7 = pytest.mark.issue7
pytestmark = pytest.mark.cluster(datanodes=3,
                                 overrides=["datanode.heartbeat_ms=500"])


def local(tmp_path, name, payload):
    p = tmp_path / name
    p.write_bytes(payload)
    return p


def put(c, tmp_path, remote, payload):
    c.ok("put", "-b", "1M", local(tmp_path, "put-src", payload), remote)


def cat(c, remote):
    return c.ok("cat", remote, binary=True)


# ------------------------------------------------ errors before anything is done

def test_append_usage_and_local_errors(cluster, tmp_path):
    """Usage errors exit 2 without contacting the cluster; a missing or
    directory LOCAL fails the command before the remote file is touched."""
    rc, out, err = cluster.dfs("append")
    assert (rc, err) == (2, "dfs: append: missing operand\nTry 'dfs help append'.\n")
    rc, out, err = cluster.dfs("append", "x")
    assert rc == 2 and "missing destination operand after 'x'" in err, err
    rc, out, err = cluster.dfs("append", tmp_path / "nope", "/a")
    assert (rc, err) == (1, "dfs: append: %s: No such file or directory\n"
                         % (tmp_path / "nope")), err
    rc, out, err = cluster.dfs("append", tmp_path, "/a")
    assert (rc, err) == (1, "dfs: append: %s: Is a directory\n" % tmp_path), err
    assert not cluster.exists("/a")
    cluster.ok("mkdir", "/d")
    rc, out, err = cluster.dfs("append", local(tmp_path, "x", b"x"), "/d")
    assert (rc, err) == (1, "dfs: append: /d: Is a directory\n"), err


def test_append_creates_a_missing_file(cluster, tmp_path):
    """REMOTE missing: created with the data (no AppendReq needed)."""
    payload = blob(100000, 1)
    cluster.ok("append", local(tmp_path, "a", payload), "/new")
    assert cat(cluster, "/new") == payload
    st = cluster.stat("/new")
    assert (st["type"], st["length"]) == ("file", len(payload))


# ------------------------------------------------------------ appends proper

@needs_issue7
@pytest.mark.parametrize("size", [
    5000,                       # mid-chunk
    4 * CHUNK,                  # on a chunk boundary
    BLOCK,                      # on a block boundary (last block full)
    BLOCK + 3 * CHUNK + 17,     # mid-chunk of a second block
    0,                          # an empty file
], ids=["mid-chunk", "chunk-end", "block-end", "second-block", "empty"])
def test_append_to_closed_file(cluster, tmp_path, size):
    old = blob(size, 2)
    if size:
        put(cluster, tmp_path, "/f", old)
    else:
        cluster.ok("touch", "/f")
    more = blob(BLOCK + 12345, 3)
    rc, out, err = cluster.dfs("append", local(tmp_path, "more", more), "/f")
    assert rc == 0 and err == "", err
    assert sha(cat(cluster, "/f")) == sha(old + more)
    assert cluster.stat("/f")["length"] == len(old) + len(more)
    bs = cluster.stat("/f")["block_size"]      # touch: the namenode's default
    lengths = [b["length"] for b in cluster.locate("/f")["blocks"]]
    assert sum(lengths) == len(old) + len(more)
    assert all(n <= bs for n in lengths) and all(n == bs for n in lengths[:-1]), lengths


@needs_issue7
def test_twenty_appends_in_a_row(cluster, tmp_path):
    """20 small appends (from stdin) build the file piece by piece."""
    want = b""
    for i in range(20):
        piece = blob(777 * (i + 1), 10 + i)
        cluster.ok("append", "-", "/log", input=piece)
        want += piece
    assert sha(cat(cluster, "/log")) == sha(want)


@needs_issue7
def test_append_several_locals_and_stdin(cluster, tmp_path):
    """Several LOCAL operands go in order, stdin among them."""
    a, b, c = blob(3000, 1), blob(40000, 2), blob(70000, 3)
    put(cluster, tmp_path, "/m", b"head")
    cluster.ok("append", local(tmp_path, "a", a), "-", local(tmp_path, "c", c), "/m",
               input=b)
    assert cat(cluster, "/m") == b"head" + a + b + c


@needs_issue7
def test_append_refused_while_another_client_writes(cluster, tmp_path):
    """A file held open by a live writer: `dfs append` fails with "being
    written"; the writer finishes undisturbed."""
    payload = blob(50000, 4)
    src = local(tmp_path, "src", payload)
    p = subprocess.Popen([str(HFLUSH_CHECK), "-n", cluster.addr, "/w", str(src),
                          "w1000", "f"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cluster.spawned.append(p)
    assert p.stdout.readline() == "flushed 1000\n", p.stderr.read()
    rc, out, err = cluster.dfs("append", local(tmp_path, "x", b"xyz"), "/w")
    assert rc == 1 and err.startswith("dfs: append: /w: ") and "being written" in err, err
    p.stdin.write("\n")
    p.stdin.flush()
    assert p.stdout.readline() == "closed\n"
    assert p.wait(timeout=60) == 0
    assert cat(cluster, "/w") == payload


@needs_issue7
@pytest.mark.cluster(datanodes=4, overrides=["datanode.heartbeat_ms=500"])
def test_append_across_a_datanode_kill(cluster, tmp_path):
    """A datanode holding the reopened last block is killed before the
    append: the append's pipeline leaves it out and the data is complete."""
    old = blob(BLOCK // 2 + 333, 5)
    put(cluster, tmp_path, "/k", old)
    port = cluster.locate("/k")["blocks"][-1]["locations"][0]["port"]
    cluster.kill(cluster.datanode_by_port()[port])
    more = blob(2 * BLOCK, 6)
    rc, out, err = cluster.dfs("append", local(tmp_path, "more", more), "/k")
    assert rc == 0, err
    assert sha(cat(cluster, "/k")) == sha(old + more)
    for b in cluster.locate("/k")["blocks"]:
        assert port not in {l["port"] for l in b["locations"]}, b


@needs_issue7
@pytest.mark.cluster(datanodes=3, overrides=["datanode.heartbeat_ms=500",
                                             "namenode.lease_soft_ms=2000",
                                             "namenode.lease_hard_ms=60000"])
def test_idle_writer_keeps_its_lease(cluster, tmp_path):
    """A writer that writes nothing for well past the soft limit keeps the
    file: its library renews the lease in the background
    (client.lease_renew_ms), so an append by another client is refused."""
    conf = tmp_path / "client.conf"
    conf.write_text("[client]\nnamenode = %s\nlease_renew_ms = 300\n" % cluster.addr)
    env = dict(os.environ, DFS_CONF=str(conf))
    payload = blob(20000, 7)
    src = local(tmp_path, "src", payload)
    p = subprocess.Popen([str(HFLUSH_CHECK), "-n", cluster.addr, "/idle", str(src),
                          "w1000", "f"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    cluster.spawned.append(p)
    assert p.stdout.readline() == "flushed 1000\n", p.stderr.read()
    time.sleep(3.5)         # the writer is idle past lease_soft_ms on purpose
    rc, out, err = cluster.dfs("append", local(tmp_path, "x", b"xyz"), "/idle")
    assert rc == 1 and "being written" in err, err
    p.stdin.write("\n")
    p.stdin.flush()
    assert p.stdout.readline() == "closed\n", p.stderr.read()
    assert p.wait(timeout=60) == 0
    assert cat(cluster, "/idle") == payload
