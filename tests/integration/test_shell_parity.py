"""Shell parity with `hdfs dfs` (docs/shell.md): test, count, find,
checksum (and dfs_get_file_checksum), head, tail [-f], setrep -w, the
copyFromLocal / copyToLocal / moveFromLocal / text aliases, wildcards in
path operands, and relative paths against the home directory /user/NAME.

One 3-datanode cluster for the module; each test works under its own
directory (the `base` fixture).
"""

import os
import signal
import subprocess
import time

import zlib

import pytest

from conftest import BUILD, blob, wait_for

KiB, MiB = 1024, 1024 * 1024
HFLUSH_CHECK = BUILD / "tests" / "dfs-hflush-check"

pytestmark = pytest.mark.cluster(datanodes=3,
                                 overrides=["datanode.heartbeat_ms=500"])


@pytest.fixture(scope="module")
def c(module_cluster):
    wait_for(lambda: len([d for d in module_cluster.report()["datanodes"]
                          if d["state"] == "live"]) == 3,
             timeout=20, what="3 live datanodes")
    return module_cluster


def put(c, tmp_path, remote, payload, *opts):
    p = tmp_path / ("src-%d" % len(payload))
    p.write_bytes(payload)
    c.ok("put", "-f", *opts, p, remote)


def fails(c, code, *args, msg=None):
    rc, out, err = c.dfs(*args)
    assert rc == code, (args, rc, out, err)
    assert err.startswith("dfs: %s: " % args[0]), err
    if msg:
        assert msg in err, err
    return err


# ---------------------------------------------------------------- test

def test_test(c, base, tmp_path):
    c.ok("mkdir", base + "/d")
    c.ok("touch", base + "/empty")
    put(c, tmp_path, base + "/full", b"x" * 10)
    cases = [
        ("-e", "/d", 0), ("-e", "/empty", 0), ("-e", "/nope", 1),
        ("-d", "/d", 0), ("-d", "/full", 1), ("-d", "/nope", 1),
        ("-f", "/full", 0), ("-f", "/d", 1),
        ("-s", "/full", 0), ("-s", "/empty", 1), ("-s", "/d", 1),
        ("-z", "/empty", 0), ("-z", "/full", 1),
        ("-e", "/nope/deeper", 1), ("-e", "/full/below", 1),
        ("-e", "/f*", 0), ("-e", "/x*", 1), ("-f", "/{full,empty}", 0),
    ]
    for flag, path, want in cases:
        rc, out, err = c.dfs("test", flag, base + path)
        assert rc == want, (flag, path, rc, err)
        assert out == "" and err == "", (flag, path, out, err)
    for args in (["test", base], ["test", "-e"], ["test", "-e", "-d", base],
                 ["test", "-x", base], ["test", "-e", base, base]):
        rc, out, err = c.dfs(*args)
        assert rc == 2, (args, rc, err)
        assert err.startswith("dfs: test: ") and "Try 'dfs help test'" in err, err


# --------------------------------------------------------------- count

def test_count(c, base, tmp_path):
    c.ok("mkdir", "-p", base + "/t/a/b")
    put(c, tmp_path, base + "/t/a/f1", b"x" * 1000)
    put(c, tmp_path, base + "/t/f2", b"y" * 2000)
    out = c.ok("count", base + "/t", base + "/t/f2")
    lines = out.splitlines()
    assert lines[0].split() == ["3", "2", "3000", base + "/t"], out
    assert lines[1].split() == ["0", "1", "2000", base + "/t/f2"], out
    # hdfs dfs -count's column widths
    assert lines[0] == "%12s %12s %18s %s" % ("3", "2", "3000", base + "/t")
    out = c.ok("count", "-q", "-v", base + "/t")
    head, row = out.splitlines()
    assert head.split() == ["QUOTA", "REM_QUOTA", "SPACE_QUOTA", "REM_SPACE_QUOTA",
                            "DIR_COUNT", "FILE_COUNT", "CONTENT_SIZE", "PATHNAME"]
    assert row.split() == ["none", "inf", "none", "inf", "3", "2", "3000", base + "/t"]
    put(c, tmp_path, base + "/t/big", b"z" * (3 * MiB // 2))
    row = c.ok("count", "-h", base + "/t").split()
    assert row[2] == "1.5M", row
    err = fails(c, 1, "count", base + "/nope", base + "/t")
    assert err.strip() == "dfs: count: %s/nope: No such file or directory" % base \
        or "no such file" in err.lower(), err
    rc, out, _ = c.dfs("count", base + "/nope", base + "/t")
    assert base + "/t" in out
    assert c.dfs("count")[0] == 2


# ---------------------------------------------------------------- find

def test_find(c, base, tmp_path):
    for d in ("/r/logs/2026-01", "/r/logs/2025-12", "/r/other"):
        c.ok("mkdir", "-p", base + d)
    for f in ("/r/logs/2026-01/a.log", "/r/logs/2026-01/b.txt",
              "/r/logs/2025-12/c.log", "/r/other/D.LOG"):
        c.ok("touch", base + f)
    out = c.ok("find", base + "/r", "-name", "*.log")
    assert out.splitlines() == [base + "/r/logs/2025-12/c.log",
                                base + "/r/logs/2026-01/a.log"], out
    out = c.ok("find", base + "/r", "-iname", "*.log", "-print")
    assert len(out.splitlines()) == 3, out
    out = c.ok("find", base + "/r/logs", "-type", "d")
    assert out.splitlines() == [base + "/r/logs", base + "/r/logs/2025-12",
                                base + "/r/logs/2026-01"], out
    out = c.ok("find", base + "/r/logs", "-name", "2026*", "-type", "f")
    assert out == ""
    out = c.ok("find", base + "/r/logs/2026-01", base + "/r/other", "-type", "f",
               "-print0")
    assert out.split("\0")[:-1] == [base + "/r/logs/2026-01/a.log",
                                    base + "/r/logs/2026-01/b.txt",
                                    base + "/r/other/D.LOG"], out
    fails(c, 1, "find", base + "/nope", "-name", "x", msg="No such file")
    for args in (["find", base, "-name"], ["find", base, "-type", "x"],
                 ["find", base, "-bogus"], ["find", base, "-name", "a", "/p"]):
        rc, _, err = c.dfs(*args)
        assert rc == 2 and err.startswith("dfs: find: "), (args, rc, err)


# ------------------------------------------------------------- checksum

def test_checksum_across_block_sizes(c, base, tmp_path):
    data = blob(2 * MiB + 12345, seed=7)
    put(c, tmp_path, base + "/small-blocks", data, "-b", "1M")
    put(c, tmp_path, base + "/one-block", data, "-b", "4M")
    assert len(c.locate(base + "/small-blocks")["blocks"]) == 3
    assert len(c.locate(base + "/one-block")["blocks"]) == 1
    out = c.ok("checksum", base + "/small-blocks", base + "/one-block")
    l1, l2 = [line.split("\t") for line in out.splitlines()]
    assert l1[0] == base + "/small-blocks" and l2[0] == base + "/one-block"
    assert l1[1] == l2[1] == "COMPOSITE-CRC32"
    assert l1[2] == l2[2], out
    assert l1[2] == "%08x" % zlib.crc32(data)
    # different content, different checksum
    other = bytearray(data)
    other[MiB + 5] ^= 1
    put(c, tmp_path, base + "/other", bytes(other), "-b", "1M")
    assert c.ok("checksum", base + "/other").split("\t")[2] != l1[2]
    # an empty file: the CRC-32 of nothing
    c.ok("touch", base + "/empty")
    assert c.ok("checksum", base + "/empty").strip().split("\t")[2] == "00000000"
    fails(c, 1, "checksum", base + "/nope", msg="No such file")
    fails(c, 1, "checksum", base, msg="s a directory")
    assert c.dfs("checksum")[0] == 2


def test_checksum_other_replica(c, base, tmp_path):
    """A datanode that cannot answer is passed over for another replica."""
    data = blob(300 * KiB, seed=3)
    put(c, tmp_path, base + "/f", data, "-r", "3")
    want = c.ok("checksum", base + "/f")
    loc = c.locate(base + "/f")["blocks"][0]["locations"][0]
    # remove the first replica's files: that datanode answers an error
    name = c.datanode_by_port()[loc["port"]]
    blk = c.locate(base + "/f")["blocks"][0]["id"]
    for p in c.replica_files(name, blk):
        os.unlink(p)
    assert c.ok("checksum", base + "/f") == want


# ------------------------------------------------------------ head, tail

def test_head_tail(c, base, tmp_path):
    data = blob(5000, seed=1)
    put(c, tmp_path, base + "/f", data)
    assert c.ok("tail", base + "/f", binary=True) == data[-1024:]
    assert c.ok("head", base + "/f", binary=True) == data[:1024]
    put(c, tmp_path, base + "/small", b"hello\n")
    assert c.ok("tail", base + "/small") == "hello\n"
    fails(c, 1, "tail", base + "/nope", msg="No such file")
    fails(c, 1, "tail", base, msg="s a directory")
    for args in (["tail"], ["tail", "-x", base + "/f"], ["tail", base + "/f", base + "/f"]):
        assert c.dfs(*args)[0] == 2, args


def test_tail_follows_hflushed_writer(c, base, tmp_path):
    src = tmp_path / "src"
    data = blob(6000, seed=9)
    src.write_bytes(data)
    w = subprocess.Popen([str(HFLUSH_CHECK), "-n", c.addr, base + "/log", str(src),
                          "w2000", "f", "w1500", "f", "w2500", "f"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    c.spawned.append(w)
    assert w.stdout.readline() == "flushed 2000\n", w.stderr.read()
    fails(c, 1, "checksum", base + "/log", msg="being written")
    t = c.spawn("tail", "-f", base + "/log")
    os.set_blocking(t.stdout.fileno(), False)
    got = bytearray()

    def has(n):
        chunk = t.stdout.read()
        if chunk:
            got.extend(chunk)
        return len(got) >= n

    wait_for(lambda: has(1024), timeout=15, what="tail's first kilobyte")
    assert bytes(got) == data[2000 - 1024:2000]
    w.stdin.write("\n")
    w.stdin.flush()
    assert w.stdout.readline() == "flushed 3500\n"
    wait_for(lambda: has(1024 + 1500), timeout=15, what="bytes after an hflush")
    w.stdin.write("\n")
    w.stdin.flush()
    assert w.stdout.readline() == "flushed 6000\n"
    wait_for(lambda: has(1024 + 4000), timeout=15, what="more bytes")
    assert bytes(got) == data[2000 - 1024:]
    w.stdin.write("\n")
    w.stdin.flush()
    assert w.wait(timeout=30) == 0
    assert t.poll() is None            # still following a complete file
    assert c.ok("checksum", base + "/log").split("\t")[2].strip() == \
        "%08x" % zlib.crc32(data)
    # Replaced by another (longer) file: followed from its start, not
    # from the old file's length.
    new = blob(7000, seed=10)
    put(c, tmp_path, base + "/log", new)
    wait_for(lambda: has(1024 + 4000 + 7000), timeout=15, what="the new file")
    assert bytes(got) == data[2000 - 1024:] + new
    t.send_signal(signal.SIGINT)
    assert t.wait(timeout=10) == 0
    assert t.stderr.read() == (
        b"dfs: tail: %s/log: replaced by another file; following it\n" % base.encode())
    t2 = c.spawn("tail", "-f", base + "/log")
    os.set_blocking(t2.stdout.fileno(), False)
    got2 = bytearray()

    def has2(n):
        chunk = t2.stdout.read()
        if chunk:
            got2.extend(chunk)
        return len(got2) >= n

    wait_for(lambda: has2(1024), timeout=15, what="the second tail's kilobyte")
    t2.send_signal(signal.SIGTERM)
    assert t2.wait(timeout=10) == 0
    assert bytes(got2) == new[-1024:]


# --------------------------------------------------------------- setrep

def test_setrep_timeout_needs_wait(c, base, tmp_path):
    put(c, tmp_path, base + "/f", b"x", "-r", "1")
    rc, _, err = c.dfs("setrep", "-t", "5", "2", base + "/f")
    assert rc == 2 and "-t limits the wait of -w" in err, err
    assert c.stat(base + "/f")["replication"] == 1


def test_setrep_wait(c, base, tmp_path):
    put(c, tmp_path, base + "/f", blob(1500 * KiB), "-r", "1", "-b", "1M")
    put(c, tmp_path, base + "/g", blob(10 * KiB), "-r", "1")
    out = c.ok("setrep", "-w", "3", base + "/f", base + "/g", timeout=120)
    assert "Replication 3 set: %s/f" % base in out, out
    assert "Waiting for %s/f" % base in out and out.rstrip().endswith("done"), out
    for b in c.locate(base + "/f")["blocks"] + c.locate(base + "/g")["blocks"]:
        assert len(b["locations"]) == 3, b
    out = c.ok("setrep", "-w", "2", base, timeout=120)
    for b in c.locate(base + "/f")["blocks"]:
        assert len(b["locations"]) == 2, b
    # more replicas than datanodes: never reached; -t gives up
    rc, out, err = c.dfs("setrep", "-w", "-t", "2", "4", base + "/g", timeout=60)
    assert rc == 1 and "not reached" in err, (rc, out, err)
    assert c.dfs("setrep", "-w", "-t", "x", "3", base + "/g")[0] == 2
    # a failed operand: the others are still waited for; exit 1
    rc, out, err = c.dfs("setrep", "-w", "3", base + "/missing", base + "/f", timeout=120)
    assert rc == 1 and "missing" in err, (rc, out, err)
    assert "Waiting for %s/f" % base in out and out.rstrip().endswith("done"), out


# ------------------------------------------------------------- aliases

def test_aliases(c, base, tmp_path):
    a = tmp_path / "a.txt"
    a.write_bytes(b"alpha\n")
    c.ok("copyFromLocal", a, base + "/a")
    assert c.ok("text", base + "/a") == "alpha\n"
    c.ok("copyToLocal", base + "/a", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b"alpha\n"
    m = tmp_path / "m.txt"
    m.write_bytes(b"moved\n")
    c.ok("moveFromLocal", m, base + "/m")
    assert not m.exists()
    assert c.ok("cat", base + "/m") == "moved\n"
    # a failed move keeps its source
    m.write_bytes(b"again\n")
    rc, _, err = c.dfs("moveFromLocal", m, base + "/m")
    assert rc == 1 and "File exists" in err, err
    assert m.exists()
    # cat of several files, in order
    assert c.ok("cat", base + "/m", base + "/a", base + "/m") == "moved\nalpha\nmoved\n"


# --------------------------------------------------------------- globs

def test_globs(c, base, tmp_path):
    c.ok("mkdir", "-p", base + "/logs/2026-01", base + "/logs/2026-02",
         base + "/logs/2025-12")
    for d in ("2026-01", "2026-02", "2025-12"):
        put(c, tmp_path, base + "/logs/%s/part" % d, d.encode())
    out = c.ok("ls", "-d", base + "/logs/2026-*")
    assert out.splitlines() == [base + "/logs/2026-01", base + "/logs/2026-02"], out
    assert c.ok("cat", base + "/logs/*/part") == "2025-122026-012026-02"
    assert c.ok("cat", base + "/logs/{2026-02,2025-12}/part") == "2026-022025-12"
    assert c.ok("cat", base + "/logs/202?-0[1]/part") == "2026-01"
    rc, out, err = c.dfs("ls", base + "/x*")
    assert rc == 1 and err.strip() == "dfs: ls: %s/x*: No such file or directory" % base, err
    rc, out, err = c.dfs("ls", base + "/x*", base + "/logs/2025-12")
    assert rc == 1 and base + "/logs/2025-12/part" in out
    # a literal component after a wildcard keeps only what exists
    c.ok("touch", base + "/logs/2026-01/only")
    assert c.ok("ls", base + "/logs/*/only").split() == [base + "/logs/2026-01/only"]
    # quoted wildcards are literal
    c.ok("touch", base + "/star*")
    assert c.ok("ls", base + "/star\\*").split() == [base + "/star*"]
    # rm, chmod, setrep, mv, stat, du, get take patterns too
    c.ok("chmod", "600", base + "/logs/2026-*/part")
    assert c.stat(base + "/logs/2026-02/part")["mode"] == "0600"
    assert c.stat(base + "/logs/2025-12/part")["mode"] == "0644"
    c.ok("mkdir", base + "/dst")
    c.ok("mv", base + "/logs/2025*", base + "/dst")
    assert c.exists(base + "/dst/2025-12/part")
    c.ok("get", base + "/logs/2026-0{1,9}/part", tmp_path / "g1")   # one match
    assert (tmp_path / "g1").read_bytes() == b"2026-01"
    rc, _, err = c.dfs("get", base + "/logs/2026-0{1,2}/part", tmp_path / "g2")
    assert rc == 1 and "Not a directory" in err, err
    c.ok("rm", "-r", base + "/logs/2026-0*")
    assert c.ok("ls", base + "/logs") == ""
    c.ok("rm", "-f", base + "/nothing*")
    fails(c, 1, "rm", base + "/nothing*", msg="No such file")


def test_globs_list_only_directories(c, base, tmp_path):
    """A wildcard below a file matches nothing (a file has no entries);
    quoting in a pattern with braces only is removed."""
    c.ok("mkdir", base + "/d")
    c.ok("touch", base + "/d/f", base + "/d/b[1]")     # touch takes no patterns
    for pat in ("/d/f/*", "/d/*/*", "/d/f/?"):
        rc, out, err = c.dfs("ls", base + pat)
        assert rc == 1 and out == "", (pat, out, err)
        assert err.strip() == "dfs: ls: %s%s: No such file or directory" % (base, pat), err
    out = c.ok("ls", "-d", base + "/d/{f,b\\[1\\]}")
    assert out.split() == [base + "/d/f", base + "/d/b[1]"], out


# ------------------------------------------------- relative paths, home

def test_home_relative_paths(c, tmp_path):
    user = "parity"
    u = ["-u", user]
    data = tmp_path / "data.csv"
    data.write_bytes(b"a,b\n1,2\n")
    rc, out, err = c.dfs(*u, "ls")
    assert rc == 1 and "/user/%s" % user in err, err    # no home yet
    out = c.ok(*u, "put", data)
    assert c.ok("cat", "/user/%s/data.csv" % user) == "a,b\n1,2\n"
    assert c.stat("/user/%s/data.csv" % user)["owner"] == user
    assert c.ok(*u, "ls").split() == ["/user/%s/data.csv" % user]
    c.ok(*u, "mkdir", "-p", "sub/deeper")
    assert c.ok(*u, "test", "-d", "sub/deeper") == ""
    c.ok(*u, "put", data, "sub/x.csv")
    assert c.ok(*u, "cat", "sub/x.csv", "data.csv") == "a,b\n1,2\n" * 2
    assert c.ok(*u, "ls", "s*").split() == ["/user/%s/sub/deeper" % user,
                                            "/user/%s/sub/x.csv" % user]
    assert c.ok(*u, "stat", "--json", "sub/../data.csv").startswith(
        '{"path":"/user/%s/data.csv"' % user)
    out = c.ok(*u, "find", "-name", "*.csv")
    assert out.split() == ["/user/%s/data.csv" % user, "/user/%s/sub/x.csv" % user]
    os.chdir(tmp_path)
    c.ok(*u, "get", "sub/x.csv")
    assert (tmp_path / "x.csv").read_bytes() == b"a,b\n1,2\n"


def test_home_put_bad_input_changes_nothing(c, tmp_path):
    """put without REMOTE creates the home directory only for a source it
    could open; '-' without REMOTE is a usage error; user names that make
    no home directory are refused."""
    u = ["-u", "parity2"]
    rc, out, err = c.dfs(*u, "put", tmp_path / "nonexistent")
    assert rc == 1 and "No such file or directory" in err, err
    assert not c.exists("/user/parity2")
    rc, out, err = c.dfs(*u, "put", "-", input="x")
    assert rc == 2 and "Try 'dfs help put'" in err, err
    assert not c.exists("/user/parity2")
    for bad in ("..", "a/b", "."):
        rc, out, err = c.dfs("-u", bad, "ls")
        assert rc == 1 and "invalid user name '%s'" % bad in err, (bad, err)


# ------------------------------------------------------- cp and getmerge

def test_cp_files_and_trees(c, base, tmp_path):
    a, b = blob(3 * MiB + 5, 1), blob(1000, 2)
    c.ok("mkdir", "-p", base + "/src/sub")
    put(c, tmp_path, base + "/src/a", a, "-b", "1M", "-r", "2")
    put(c, tmp_path, base + "/src/sub/b", b)
    c.ok("chmod", "600", base + "/src/a")
    # File to a new name, then refused over an existing file without -f.
    c.ok("cp", base + "/src/a", base + "/a2")
    assert c.ok("cat", base + "/a2", binary=True) == a
    st = c.stat(base + "/a2")
    assert st["mode"] == "0644", st
    fails(c, 1, "cp", base + "/src/sub/b", base + "/a2", msg="File exists")
    assert c.ok("cat", base + "/a2", binary=True) == a
    c.ok("cp", "-f", base + "/src/sub/b", base + "/a2")
    assert c.ok("cat", base + "/a2", binary=True) == b
    # -p keeps mode, times, replication and block size.
    c.ok("cp", "-p", base + "/src/a", base + "/a3")
    s0, s3 = c.stat(base + "/src/a"), c.stat(base + "/a3")
    assert s0["mode"] == "0600"
    for k in ("mode", "mtime", "replication", "block_size", "length"):
        assert s0[k] == s3[k], (k, s0, s3)
    # A tree into an existing directory, wildcards, several sources.
    c.ok("mkdir", base + "/dst")
    c.ok("cp", base + "/src", base + "/dst")
    assert c.ok("cat", base + "/dst/src/sub/b", binary=True) == b
    assert c.ok("cat", base + "/dst/src/a", binary=True) == a
    c.ok("mkdir", base + "/many")
    c.ok("cp", base + "/src/*", base + "/many")
    assert c.ok("cat", base + "/many/sub/b", binary=True) == b
    # Refusals change nothing and leave no ._COPYING_ file.
    fails(c, 1, "cp", base + "/src", base + "/src/sub", msg="into itself")
    fails(c, 1, "cp", base + "/src/a", base + "/src/sub/b", base + "/nodir",
          msg="nodir: Not a directory")
    fails(c, 1, "cp", base + "/nope", base + "/x", msg="No such file")
    rc, _, err = c.dfs("cp", base + "/src/a")
    assert rc == 2 and "missing destination" in err, err
    listing = c.ok("ls", "-R", base)
    assert "_COPYING_" not in listing and "/x" not in listing.split(), listing


def test_getmerge(c, base, tmp_path):
    c.ok("mkdir", base + "/parts")
    for name, data in (("p1", b"one\n"), ("p2", b""), ("p3", b"three")):
        put(c, tmp_path, base + "/parts/" + name, data)
    c.ok("mkdir", base + "/parts/subdir")
    out = tmp_path / "merged"
    out.write_bytes(b"old contents")
    c.ok("getmerge", base + "/parts", out)
    assert out.read_bytes() == b"one\nthree"
    c.ok("getmerge", "-nl", base + "/parts", out)
    assert out.read_bytes() == b"one\n\n\nthree\n"
    c.ok("getmerge", "-nl", "-skip-empty-file", base + "/parts/p*", out)
    assert out.read_bytes() == b"one\n\nthree\n"
    # A missing source is reported, the rest merged, exit 1.
    rc, _, err = c.dfs("getmerge", base + "/parts/p3", base + "/nope", out)
    assert rc == 1 and "nope" in err, err
    assert out.read_bytes() == b"three"
    # An unwritable destination: clear error, nothing left behind.
    rc, _, err = c.dfs("getmerge", base + "/parts", tmp_path / "no" / "such")
    assert rc == 1 and "No such file or directory" in err, err
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
