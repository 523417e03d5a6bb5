"""Big directories and concurrent clients.

The large runs use the C load tool build/tools/dfs-bench (one thread and one
connection per client; with --shared all of them create DIR/c<client>-<i>
in one directory); they are skipped only while that program does not exist.  The small concurrent runs use the shell.
"""

import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import BENCH, DFS, SLOW, ls_names, run

needs_bench = pytest.mark.skipif(
    not BENCH.exists(), reason="%s not built yet (tools/bench)" % BENCH)


def bench(cluster, op, clients, per_client, d):
    rc, out, err = run([BENCH, "-n", cluster.addr, op, "-c", str(clients),
                        "-N", str(per_client), "-d", d, "--shared", "--keep"],
                       timeout=600 * SLOW)
    assert rc == 0, "dfs-bench %s failed (%d):\n%s%s" % (op, rc, out, err)
    return out


def stream_listing(cluster, d):
    """Run `dfs ls d`, reading its output as it comes; return the names."""
    p = subprocess.Popen([str(DFS), "-n", cluster.addr, "ls", d],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    names = []
    timer = threading.Timer(300 * SLOW, p.kill)
    timer.start()
    try:
        for line in p.stdout:
            names.extend(ls_names(line.decode("utf-8", "replace")))
        err = p.stderr.read().decode("utf-8", "replace")
        rc = p.wait()
    finally:
        timer.cancel()
        p.kill()
        p.wait()
    assert rc == 0, "dfs ls %s -> %d: %s" % (d, rc, err)
    return names


def check_bench_names(names, clients, per_client):
    """Every c<client>-<i> exactly once, and the listing in byte order."""
    assert len(names) == clients * per_client, len(names)
    enc = [n.encode() for n in names]
    assert all(a < b for a, b in zip(enc, enc[1:])), \
        "listing not strictly in name order"
    got = set()
    for n in names:
        m = re.fullmatch(r"c(\d+)-(\d+)", n)
        assert m, "unexpected entry %r" % n
        got.add((int(m.group(1)), int(m.group(2))))
    cs = sorted({c for c, _ in got})
    assert len(cs) == clients, cs
    base = cs[0]
    ib = min(i for _, i in got)
    want = {(base + c, ib + i) for c in range(clients) for i in range(per_client)}
    assert got == want


@needs_bench
def test_100k_entry_directory_listed_completely(cluster):
    clients, per_client = 8, 12500
    bench(cluster, "create", clients, per_client, "/big")
    names = stream_listing(cluster, "/big")
    check_bench_names(names, clients, per_client)
    for n in (names[0], names[50000], names[-1]):
        assert cluster.stat("/big/" + n)["type"] == "file"


@needs_bench
def test_8_clients_500_mkdirs_each(cluster):
    bench(cluster, "mkdir", 8, 500, "/conc")
    names = stream_listing(cluster, "/conc")
    check_bench_names(names, 8, 500)
    assert cluster.stat("/conc/" + names[1234])["type"] == "dir"
    # and they survive a restart
    cluster.kill("namenode")
    cluster.start()
    assert stream_listing(cluster, "/conc") == names


# ------------------------------------------------- concurrent shell clients

def test_concurrent_shell_mkdirs(cluster):
    cluster.ok("mkdir", "/par")

    def worker(w):
        for i in range(25):
            cluster.ok("mkdir", "/par/w%d-%02d" % (w, i))
    with ThreadPoolExecutor(8) as ex:
        for f in [ex.submit(worker, w) for w in range(8)]:
            f.result()
    names = ls_names(cluster.ok("ls", "/par"))
    assert names == sorted("w%d-%02d" % (w, i)
                           for w in range(8) for i in range(25))


def test_concurrent_mkdir_same_name_one_winner(cluster):
    results = []
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(lambda _: cluster.dfs("mkdir", "/same"),
                              range(8)))
    rcs = sorted(r[0] for r in results)
    assert rcs == [0] + [1] * 7, results
    for rc, _, err in results:
        if rc:
            assert re.search("exists", err, re.I), err


def test_concurrent_mkdir_p_same_path(cluster):
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(
            lambda _: cluster.dfs("mkdir", "-p", "/deep/a/b/c/d"), range(8)))
    assert all(r[0] == 0 for r in results), results
    assert ls_names(cluster.ok("ls", "/deep/a/b/c")) == ["d"]


def test_concurrent_rename_same_source_one_winner(cluster):
    cluster.ok("mkdir", "/src")
    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(
            lambda i: cluster.dfs("mv", "/src", "/dst%d" % i), range(8)))
    winners = [i for i, r in enumerate(results) if r[0] == 0]
    assert len(winners) == 1, results
    assert not cluster.exists("/src")
    assert ls_names(cluster.ok("ls", "/")) == ["dst%d" % winners[0]]


def test_concurrent_create_and_delete(cluster):
    """Writers create under /cd while another removes the whole tree and
    recreates it: every command ends with 0 or a clean error, the namenode
    survives, and the namespace stays consistent (ls -R lists only what
    stat finds)."""
    cluster.ok("mkdir", "/cd")
    pid = cluster.pid("namenode")

    def writer(w):
        for i in range(20):
            rc, _, err = cluster.dfs("mkdir", "-p", "/cd/w%d/%d" % (w, i))
            assert rc in (0, 1), err

    def remover():
        for _ in range(10):
            rc, _, err = cluster.dfs("rm", "-r", "/cd")
            assert rc in (0, 1), err
            rc, _, err = cluster.dfs("mkdir", "-p", "/cd")
            assert rc in (0, 1), err
    with ThreadPoolExecutor(5) as ex:
        futs = [ex.submit(writer, w) for w in range(4)] + [ex.submit(remover)]
        for f in futs:
            f.result()
    assert cluster.pid("namenode") == pid
    out = cluster.ok("ls", "-R", "/")
    assert out.strip()
    for line in out.splitlines():
        m = re.search(r"(/cd/\S+)$", line)
        if m:
            assert cluster.exists(m.group(1)), m.group(1)

