"""The C API (dfs.h): tests/tools/capi_check.c's subcommands against live
clusters -- every call with its results and error codes, 8 threads on one
handle, two handles to two clusters in one process -- and the export list
of libdfs.so checked against the header."""

import os
import re
import subprocess

import pytest

from conftest import BUILD, REPO, SLOW, Cluster, run, sanitizer_report

CAPI_CHECK = BUILD / "tests" / "dfs-capi-check"
HEADER = REPO / "libdfs" / "include" / "dfs.h"
LIBDFS = BUILD / "libdfs" / "libdfs.so"
# dfs.h calls another suite covers (the shell's checksum tests).
COVERED_ELSEWHERE = {"dfs_get_file_checksum"}


def header_functions():
    """Names of the functions dfs.h declares (comments stripped first)."""
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return set(re.findall(r"\b(dfs_[a-z0-9_]+)\s*\(", text))


@pytest.fixture(scope="module")
def clusters(tmp_path_factory):
    """Two independent clusters with different defaults: A (2 datanodes,
    replication 2, 1M blocks) and B (1 datanode, replication 1, 2M)."""
    specs = [(2, ["namenode.replication=2", "namenode.block_size=1M"]),
             (1, ["namenode.replication=1", "namenode.block_size=2M"])]
    made = []
    try:
        for i, (dns, overrides) in enumerate(specs):
            c = Cluster(tmp_path_factory.mktemp("capi%d" % i), dns, overrides)
            made.append(c)
            c.start()
        yield made
    finally:
        bad = [b for b in (c.teardown() for c in made) if b]
    if bad:
        pytest.fail("cluster teardown: " + "; ".join(bad))


def capi(*args, env=None):
    """Run dfs-capi-check args; assert it passed; return its stdout."""
    e = dict(os.environ if env is None else env)
    if env is None:
        e.pop("DFS_NAMENODE", None)
        e.pop("DFS_CONF", None)
    rc, out, err = run([CAPI_CHECK] + list(args), env=e, timeout=120 * SLOW)
    bad = sanitizer_report(err)
    assert bad is None, "sanitizer report: %s\n%s" % (bad, err)
    assert rc == 0, "dfs-capi-check %s -> %d\n%s%s" % (" ".join(args), rc, out, err)
    assert re.search(r"capi-check \w+: \d+ checks passed", out), out
    return out


def test_basic(clusters):
    out = capi("basic", clusters[0].addr)
    assert int(out.split()[2]) > 300, out


def test_uri_from_env_namenode(clusters):
    e = dict(os.environ)
    e.pop("DFS_CONF", None)
    e["DFS_NAMENODE"] = clusters[0].addr
    capi("uri", clusters[0].addr, env=e)


def test_uri_from_conf_file(clusters, tmp_path):
    """The default namenode from $DFS_CONF's [client] namenode, as a URI."""
    conf = tmp_path / "client.conf"
    conf.write_text("[client]\nnamenode = hdfs://%s/\n" % clusters[1].addr)
    e = dict(os.environ)
    e.pop("DFS_NAMENODE", None)
    e["DFS_CONF"] = str(conf)
    capi("uri", clusters[1].addr, env=e)


def test_threads_share_one_handle(clusters):
    capi("threads", clusters[0].addr)


def test_two_clusters_in_one_process(clusters):
    assert clusters[0].addr != clusters[1].addr
    capi("two", clusters[0].addr, clusters[1].addr)


def test_usage():
    rc, out, err = run([CAPI_CHECK, "nonsense"])
    assert rc == 2 and "usage" in err, (rc, err)


def test_suite_calls_every_function():
    """capi_check.c calls every function dfs.h declares."""
    src = (REPO / "tests" / "tools" / "capi_check.c").read_text()
    called = set(re.findall(r"\b(dfs_[a-z0-9_]+)\s*\(", src))
    missing = header_functions() - COVERED_ELSEWHERE - called
    assert not missing, "dfs.h calls capi_check.c never makes: %s" % sorted(missing)


def test_exported_symbols_match_header():
    """libdfs.so exports exactly the functions of dfs.h: a call missing
    from libdfs.map, or an internal symbol leaking out, fails here."""
    declared = header_functions()
    assert len(declared) > 60, declared
    out = subprocess.run(["nm", "-D", "--defined-only", str(LIBDFS)],
                         capture_output=True, text=True, check=True).stdout
    exported = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 3 or parts[1] == "A":    # the version node DFS_0
            continue
        exported.add(parts[2].split("@")[0])
    assert sorted(exported - declared) == [], "exported, not in dfs.h"
    assert sorted(declared - exported) == [], "in dfs.h, not exported"
