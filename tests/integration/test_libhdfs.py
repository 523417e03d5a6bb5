"""libhdfs (libdfs/hdfs, include/hdfs.h): Hadoop's C API on dfs, no JVM.

* one C program per group of hdfs.h calls (tests/hdfs/*.c, written as a
  libhdfs user writes them, checking return values and errno), each run
  against one cluster of 3 datanodes shared by the module;
* the acceptance test: a program written for Hadoop's hdfs.h
  (tests/hdfs/hadoop_prog.c) compiles against the *installed* tree with
  `cc prog.c $(pkg-config --cflags --libs hdfs)` and runs against the
  live cluster, its "default" namenode coming from DFS_NAMENODE.
"""

import json
import os
import subprocess

import pytest

from conftest import BUILD, REPO, SLOW, dfs_env, run, sanitizer_report

pytestmark = pytest.mark.cluster(datanodes=3)

PROGS = BUILD / "tests" / "hdfs"
SRC = REPO / "tests" / "hdfs"


def run_prog(cluster, name, tmp_path):
    """Run tests/hdfs/NAME against cluster; fail with its report."""
    prog = PROGS / name
    if not prog.exists():
        pytest.skip("%s not built (no libhdfs_dep in this tree yet)" % prog)
    rc, out, err = run([prog, cluster.addr, tmp_path], env=dfs_env(),
                       timeout=120 * SLOW)
    bad = sanitizer_report(err)
    assert bad is None, "%s: sanitizer report: %s\n%s" % (name, bad, err)
    assert rc == 0, "%s exited %d:\n%s%s" % (name, rc, out, err)


@pytest.mark.parametrize("name", ["hdfs_rw", "hdfs_ns", "hdfs_cluster",
                                  "hdfs_copy", "hdfs_builder", "hdfs_errors",
                                  "hdfs_rz"])
def test_program(module_cluster, tmp_path, name):
    """Each group of hdfs.h calls behaves as libhdfs documents it."""
    run_prog(module_cluster, name, tmp_path)


def _sanitized():
    """True when BUILD was configured with -Dsanitize=true."""
    try:
        opts = json.loads((BUILD / "meson-info" /
                           "intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return "asan" in BUILD.name
    return any(o.get("name") == "sanitize" and o.get("value") is True
               for o in opts)


def test_hadoop_program_against_installed_tree(module_cluster, tmp_path):
    """`meson install --destdir` gives hdfs.h, libhdfs.so and hdfs.pc; a
    Hadoop-style program compiles with pkg-config's flags and, with
    DFS_NAMENODE set, writes and reads a file on the live cluster."""
    dest = tmp_path / "dest"
    rc, out, err = run(["meson", "install", "-C", BUILD, "--no-rebuild",
                        "--quiet", "--destdir", dest], timeout=300 * SLOW)
    assert rc == 0, "meson install failed:\n%s%s" % (out, err)
    pcs = sorted(dest.glob("**/pkgconfig/hdfs.pc"))
    if not pcs:
        pytest.skip("no hdfs.pc installed yet (libhdfs not in this tree)")
    assert len(pcs) == 1, pcs
    headers = sorted(dest.glob("**/include/**/hdfs.h")) + \
        sorted(dest.glob("**/include/hdfs.h"))
    assert headers, "hdfs.h not installed"

    env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent),
               PKG_CONFIG_SYSROOT_DIR=str(dest))
    env.pop("PKG_CONFIG_LIBDIR", None)
    rc, flags, err = run(["pkg-config", "--cflags", "--libs", "hdfs"],
                         env=env)
    assert rc == 0, err
    assert "-lhdfs" in flags.split(), flags
    # Every -I and -L points into the installed tree, not the sources.
    for f in flags.split():
        if f[:2] in ("-I", "-L"):
            assert f[2:].startswith(str(dest)), flags

    # The staged libdir stands for one the linkers search (as
    # /usr/local/lib/<triplet> is on Debian): LD_LIBRARY_PATH lets ld find
    # libdfs.so.0, which libhdfs.so needs, and ld.so load both.
    libdirs = [f[2:] for f in flags.split() if f.startswith("-L")]
    assert libdirs, flags
    env = dfs_env()
    env["LD_LIBRARY_PATH"] = ":".join(libdirs)

    exe = tmp_path / "hadoop_prog"
    cmd = ["cc", SRC / "hadoop_prog.c", "-o", exe] + flags.split()
    if _sanitized():    # the installed libraries need the ASan runtime first
        cmd[1:1] = ["-fsanitize=address,undefined"]
    rc, out, err = run(cmd, env=env)
    assert rc == 0, "cc failed:\n%s %s\n%s" % (" ".join(map(str, cmd)),
                                               out, err)

    env["DFS_NAMENODE"] = module_cluster.addr
    rc, out, err = run([exe], env=env)
    assert sanitizer_report(err) is None, err
    assert (rc, out) == (0, "read back: Hello, World!\n"), (rc, out, err)
    # It ran against the cluster: /tmp was created there (the parent of
    # the file it wrote), and the file is gone again.
    assert module_cluster.exists("/tmp")
    assert not module_cluster.exists("/tmp/testfile.txt")
    # ldd shows the installed libhdfs.so.0 was the one loaded.
    r = subprocess.run(["ldd", str(exe)], env=env, capture_output=True,
                       text=True)
    line = [l for l in r.stdout.splitlines() if "libhdfs.so.0" in l]
    assert line and str(dest) in line[0], r.stdout
