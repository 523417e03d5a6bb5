"""dfs.dask: Dask tasks on the hosts of their blocks.

A cluster whose three datanodes are hosts of their own (tools/cluster
--hosts 127.0.0.2,127.0.0.3,127.0.0.4), a Dask scheduler on 127.0.0.1 and
one Dask worker on each datanode's address (tools/dasklocal.py), all
started by PID and stopped at the end of the module.  Files have
replication 1 and small blocks, so each block is on one host.
"""

import io
import random
import sys
import time

import pandas as pd
import pytest

from conftest import REPO, SLOW, Cluster, wait_for

sys.path.insert(0, str(REPO / "tools"))
import dasklocal  # noqa: E402

import dfs  # noqa: E402
import dfs.dask  # noqa: E402

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
BLOCK = 128 << 10


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """(dfs Cluster, DaskCluster, dfs.Client) of the module."""
    c = Cluster(tmp_path_factory.mktemp("dask"), 3,
                ["datanode.heartbeat_ms=200", "namenode.replication=1",
                 "namenode.min_block_size=%d" % BLOCK])
    dc = None
    client = None
    try:
        c.start("--hosts", ",".join(HOSTS))
        # Work stealing off: it hands tasks queued on one worker to an idle
        # one on another host (the namenode spreads the blocks unevenly, so
        # a worker runs out of local blocks first), which measures Dask's
        # balancing, not where read_blocks asks the tasks to run.  With it
        # on, the local share of test_locality varied from 0.78 to 0.98.
        dc = dasklocal.DaskCluster(c.dir / "dask", HOSTS, timeout=60 * SLOW,
                                   work_stealing=False)
        dc.start()
        # 512-byte chunks: a task's read of the line that crosses into the
        # next block costs the next block's datanode one 4 KiB read (the
        # first piece read_blocks asks for), not a whole 16 KiB chunk.
        client = dfs.connect(c.addr, chunk_size=512)
        yield c, dc, client
    finally:
        if client is not None:
            client.close()
        if dc is not None:
            dc.stop()
        bad = c.teardown()
    if bad:
        pytest.fail("cluster teardown: " + bad)


def text(nlines, seed):
    """nlines lines of random length (0 to 300 bytes before the \\n)."""
    r = random.Random(seed)
    return b"".join(b"%d:" % i + b"x" * r.randrange(300) + b"\n"
                    for i in range(nlines))


def put(client, path, data, block=BLOCK):
    """Write data to path: replication 1, blocks of `block` bytes, written
    from no datanode's host (127.0.0.1), so the namenode spreads them."""
    with client.open(path, "wb", replication=1, block_size=block,
                     parents=True) as f:
        f.write(data)


def counters(c):
    """(bytes read on their datanode's host (TCP or short-circuit), bytes
    read from other hosts, of the first those read short-circuit), summed
    over the datanodes, once every datanode
    has sent a heartbeat since this call began (the counters are the
    datanodes' as of their last heartbeat)."""
    t0 = time.monotonic()

    def fresh():
        r = c.report()
        if all(d["last_heartbeat"] + 0.1 < time.monotonic() - t0
               for d in r["datanodes"]):
            return r
        return None
    r = wait_for(fresh, 10, "a heartbeat from every datanode", interval=0.05)
    return (r["bytes_read_local"] + r["bytes_read_short_circuit"],
            r["bytes_read_remote"], r["bytes_read_short_circuit"])


def local_share(env, path, locality):
    """(line count, share of the bytes read locally, share read
    short-circuit) of a per-block line count of path through
    dfs.dask.read_blocks."""
    c, dc, client = env

    def count_lines(data):          # nested: pickled by value for the workers
        return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    l0, r0, s0 = counters(c)
    futures = dfs.dask.read_blocks(path, count_lines, client=dc.client,
                                   uri=c.addr, locality=locality)
    total = sum(dc.client.gather(futures))
    l1, r1, s1 = counters(c)
    assert l1 + r1 - l0 - r0 >= client.stat(path).size
    return total, (l1 - l0) / (l1 + r1 - l0 - r0), (s1 - s0) / (l1 + r1 - l0 - r0)


def test_workers_on_the_datanode_hosts(env):
    c, dc, client = env
    hosts = sorted(a.split("://")[1].rsplit(":", 1)[0] for a in dc.workers())
    assert hosts == HOSTS
    assert sorted(d["host"] for d in c.report()["datanodes"]) == HOSTS


def test_blocks_and_records(env):
    """Every line read exactly once, whatever the block boundaries: lines
    longer than a block, a line ending exactly at a block's end, a file
    without a final newline, an empty file."""
    c, dc, client = env
    r = random.Random(7)
    lines = []
    size = 0
    while size < 5 * BLOCK:
        n = r.choice([10, 100, 1000, 3 * BLOCK])    # some span whole blocks
        line = b"%d:" % len(lines) + b"y" * n + b"\n"
        lines.append(line)
        size += len(line)
    pad = BLOCK * 6 - size                          # ends exactly at 6 blocks
    lines.append(b"p" * (pad - 1) + b"\n")
    lines += [b"after\n", b"no newline at the end"]
    data = b"".join(lines)
    put(client, "/rec/a.txt", data)
    put(client, "/rec/b.txt", b"")
    put(client, "/rec/c.txt", b"one\ntwo\n")
    bl = dfs.dask.blocks("/rec/*.txt", uri=c.addr)
    assert [b.path for b in bl].count("/rec/a.txt") == -(-len(data) // BLOCK)
    assert all(b.hosts and set(b.hosts) <= set(HOSTS) for b in bl)

    got = dfs.dask.read_text("dfs://%s/rec/*.txt" % c.addr,
                             client=dc.client).compute()
    want = [l.decode() for l in lines] + ["one\n", "two\n"]
    assert got == want
    # The per-block pieces, in order, are the file.
    futures = dfs.dask.read_blocks("/rec/a.txt", lambda d, b: (b.index, d),
                                   client=dc.client, uri=c.addr,
                                   with_block=True)
    parts = dc.client.gather(futures)
    assert [i for i, _ in parts] == list(range(len(parts)))
    assert b"".join(d for _, d in parts) == data


def test_read_csv(env):
    c, dc, client = env
    r = random.Random(3)
    rows = ["id,name,value"] + ["%d,n%d,%.3f" % (i, r.randrange(1000), r.random())
                                for i in range(40000)]
    data = ("\n".join(rows) + "\n").encode()
    put(client, "/csv/part-0.csv", data)
    put(client, "/csv/part-1.csv", data)
    assert len(dfs.dask.blocks("/csv/part-0.csv", uri=c.addr)) > 3
    ddf = dfs.dask.read_csv("dfs://%s/csv/part-*.csv" % c.addr, client=dc.client)
    got = ddf.compute().reset_index(drop=True)
    want = pd.concat([pd.read_csv(io.BytesIO(data))] * 2, ignore_index=True)
    pd.testing.assert_frame_equal(got, want)
    assert list(ddf.columns) == ["id", "name", "value"]
    with pytest.raises(ValueError, match="nrows"):
        dfs.dask.read_csv("/csv/part-0.csv", uri=c.addr, client=dc.client, nrows=3)


def test_missing_files(env):
    c, dc, client = env
    with pytest.raises(FileNotFoundError):
        dfs.dask.read_blocks("/nosuch/*.txt", len, client=dc.client, uri=c.addr)
    with pytest.raises(FileNotFoundError):
        dfs.dask.read_blocks("/nosuch.txt", len, client=dc.client, uri=c.addr)
    with pytest.raises(ValueError, match="delimiter"):
        dfs.dask.read_blocks("/x", len, client=dc.client, uri=c.addr,
                             delimiter=b"\r\n")
    # A job's output directory holding only its _SUCCESS marker: no data
    # file to take the columns from.
    client.makedirs("/sparkout", exist_ok=True)
    put(client, "/sparkout/_SUCCESS", b"")
    with pytest.raises(FileNotFoundError, match="no data file in /sparkout"):
        dfs.dask.read_csv("/sparkout", uri=c.addr, client=dc.client)
    assert dfs.dask.read_blocks("/sparkout", len, client=dc.client, uri=c.addr) == []


def test_locality(env):
    """A per-block line count: right, and >= 90% of the bytes read on the
    datanode's own host with locality; about a third without."""
    c, dc, client = env
    data = text(80000, 1)                       # ~12 MiB: ~95 blocks of 128K
    put(client, "/loc/lines.txt", data)
    nblocks = len(dfs.dask.blocks("/loc/lines.txt", uri=c.addr))
    assert nblocks >= 60
    spread = {}
    for b in dfs.dask.blocks("/loc/lines.txt", uri=c.addr):
        spread[b.hosts[0]] = spread.get(b.hosts[0], 0) + 1
    assert set(spread) == set(HOSTS), spread    # every host has blocks

    total, share, sc = local_share(env, "/loc/lines.txt", True)
    assert total == 80000
    # Each task reads its block locally and the first line of the next
    # block (4 KiB of 128) from wherever that block is.
    assert share >= 0.90, share
    # ... and locally means short-circuit: the worker's client is at its
    # host's address, where the datanode passes the block's files.
    assert sc >= 0.90, sc

    total, share, _ = local_share(env, "/loc/lines.txt", False)
    assert total == 80000
    # Without restrictions a task lands on one of the 3 workers regardless
    # of where its block is: it is local for about 1 block in 3 (expected
    # share 1/3, a bit less for the tails).  Over ~100 blocks the share is
    # a sum of ~100 such chances: its standard deviation is about 0.05, so
    # 0.6 is more than 5 of them above 1/3, and far below the >= 0.90 of
    # the restricted run; a locality=False that still followed the blocks
    # would fail it.
    assert share < 0.6, share
