"""The shell's data commands as a user meets them: put safety (existing
targets, -f, a source that shrinks, an interruption), get safety, the
replication warning and the no-datanode error, the progress line.

One cluster of 3 datanodes serves most tests (each under its own `base`
directory); tests that need other datanode counts have their own.
"""

import os
import pty
import re
import select
import signal
import subprocess
import threading
import time

import pytest

from conftest import SLOW, blob, ls_names, pid_alive, sha256 as sha, wait_for

pytestmark = pytest.mark.cluster(datanodes=3,
                                 overrides=["datanode.heartbeat_ms=500"])

MiB = 1024 * 1024


@pytest.fixture
def c(module_cluster):
    return module_cluster


def local(tmp_path, name, payload):
    p = tmp_path / name
    p.write_bytes(payload)
    return p


def no_leftovers(c, d):
    """Nothing named *_COPYING_* in remote dir d."""
    names = ls_names(c.ok("ls", d))
    assert not [n for n in names if "_COPYING_" in n], names
    return names


# ------------------------------------------------------ existing targets

def test_put_existing_target_without_f(c, base, tmp_path):
    old, new = blob(MiB + 1, 1), blob(2 * MiB, 2)
    c.ok("put", "-b", "1M", local(tmp_path, "old", old), base + "/t")
    before = c.stat(base + "/t")
    rc, out, err = c.dfs("put", "-b", "1M", local(tmp_path, "new", new),
                         base + "/t")
    assert rc == 1
    assert err == "dfs: put: %s/t: File exists\n" % base, err
    assert c.stat(base + "/t") == before
    assert sha(c.ok("cat", base + "/t", binary=True)) == sha(old)
    assert no_leftovers(c, base) == ["t"]


def test_put_f_replaces(c, base, tmp_path):
    old, new = blob(2 * MiB + 5, 3), blob(MiB - 1, 4)
    c.ok("put", "-b", "1M", local(tmp_path, "old", old), base + "/t")
    rc, out, err = c.dfs("put", "-f", "-b", "1M", local(tmp_path, "new", new),
                         base + "/t")
    assert rc == 0 and err == "", err
    assert c.stat(base + "/t")["length"] == len(new)
    assert sha(c.ok("cat", base + "/t", binary=True)) == sha(new)
    assert len(c.locate(base + "/t")["blocks"]) == 1
    assert no_leftovers(c, base) == ["t"]


def test_put_onto_directory(c, base, tmp_path):
    """An existing dir REMOTE keeps the local names; stdin cannot go
    there; -f does not replace a directory by a file."""
    a, b = local(tmp_path, "a", blob(10, 5)), local(tmp_path, "b", blob(MiB, 6))
    c.ok("mkdir", base + "/d")
    c.ok("put", "-b", "1M", a, b, base + "/d")
    assert sorted(ls_names(c.ok("ls", base + "/d"))) == ["a", "b"]
    assert c.ok("cat", base + "/d/b", binary=True) == b.read_bytes()
    rc, out, err = c.dfs("put", "-", base + "/d", input=b"x")
    assert rc == 1 and "Is a directory" in err, err
    rc, out, err = c.dfs("put", a, b, base + "/nodir")
    assert rc == 1 and "Not a directory" in err, err
    assert not c.exists(base + "/nodir")


def test_get_existing_local_without_f(c, base, tmp_path):
    payload = blob(MiB + 3, 7)
    c.ok("put", "-b", "1M", local(tmp_path, "src", payload), base + "/t")
    dst = local(tmp_path, "dst", b"keep me")
    rc, out, err = c.dfs("get", base + "/t", dst)
    assert rc == 1 and err == "dfs: get: %s: File exists\n" % dst, err
    assert dst.read_bytes() == b"keep me"
    c.ok("get", "-f", base + "/t", dst)
    assert sha(dst.read_bytes()) == sha(payload)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dst", "src"]


# ------------------------------------------------ put that fails midway

def fd_pos(pid, path):
    """The file offset of pid's open descriptor on path, or None."""
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    for fd in fds:
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != str(path):
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("pos:"):
                        return int(line.split()[1])
        except OSError:
            continue
    return None


class PausedDatanodes:
    """SIGSTOP every datanode of c for the with-block (SIGCONT at the end
    whatever happens): a writer then cannot get more than its window
    ahead, so a put stays in the middle of its source file."""

    def __init__(self, c):
        self.pids = [c.pid(n) for n in c.datanode_names()]
        assert all(self.pids), self.pids

    def __enter__(self):
        for p in self.pids:
            os.kill(p, signal.SIGSTOP)
        return self

    def resume(self):
        for p in self.pids:
            if pid_alive(p):
                os.kill(p, signal.SIGCONT)

    def __exit__(self, *exc):
        self.resume()


def put_paused_midway(c, base, tmp_path):
    """Start `put` of a 16 MiB file to base/t while the datanodes are
    paused; return (Popen, source path, pause) once the shell has read
    part of the source, but not all of it."""
    size = 16 * MiB
    src = local(tmp_path, "src", blob(size, 8))
    pause = PausedDatanodes(c).__enter__()
    try:
        p = c.spawn("put", "-b", "1M", src, base + "/t")

        def reading():
            if p.poll() is not None:
                return "exited"
            pos = fd_pos(p.pid, src)
            return pos if pos else None
        pos = wait_for(reading, 20, "put to start reading %s" % src)
        assert pos != "exited", p.communicate()
        assert 0 < pos < size, pos
    except BaseException:
        pause.resume()
        raise
    return p, src, pause


def test_put_of_shrinking_source_leaves_nothing(c, base, tmp_path):
    """The local file is truncated while put reads it: put fails (exit 1,
    the local file named), and neither the target nor the temporary
    .t._COPYING_ exists afterwards."""
    p, src, pause = put_paused_midway(c, base, tmp_path)
    try:
        os.truncate(src, MiB)
    finally:
        pause.resume()
    out, err = p.communicate(timeout=60 * SLOW)
    err = err.decode()
    assert p.returncode == 1, err
    assert re.search(r"^dfs: put: %s: .*shr[au]nk" % re.escape(str(src)), err,
                     re.M), err
    assert not c.exists(base + "/t")
    assert not c.exists(base + "/.t._COPYING_")
    assert no_leftovers(c, base) == []


def test_put_interrupted_leaves_nothing(c, base, tmp_path):
    """SIGTERM during put: exit 143, 'interrupted', nothing left."""
    p, src, pause = put_paused_midway(c, base, tmp_path)
    try:
        p.send_signal(signal.SIGTERM)
    finally:
        pause.resume()
    out, err = p.communicate(timeout=60 * SLOW)
    err = err.decode()
    assert p.returncode == 128 + signal.SIGTERM, (p.returncode, err)
    assert "dfs: put: %s/t: interrupted\n" % base in err, err
    assert not c.exists(base + "/t")
    assert no_leftovers(c, base) == []


# ------------------------------------------------------- progress line

def test_no_progress_when_stderr_is_not_a_terminal(c, base, tmp_path):
    payload = blob(6 * MiB + 1, 9)
    src = local(tmp_path, "src", payload)
    for args in (("put", "-b", "1M", src, base + "/t"),
                 ("put", "-b", "1M", "-", base + "/s"),
                 ("get", base + "/t", tmp_path / "back"),
                 ("get", base + "/t", "-"),
                 ("cat", base + "/s")):
        rc, out, err = c.dfs(*args, input=payload if "-" in args else None,
                             binary=True)
        assert rc == 0 and err == "", (args, err)
    assert sha((tmp_path / "back").read_bytes()) == sha(payload)


def on_terminal(c, *args, stdin_bytes=None):
    """Run dfs with stderr on a pseudo-terminal (stdout discarded);
    return (rc, what the terminal showed)."""
    master, slave = pty.openpty()
    feed = None
    if stdin_bytes is not None:
        r, w = os.pipe()
        p = c.spawn(*args, stdin=r, stdout=subprocess.DEVNULL,
                    stderr=slave)
        os.close(r)

        def write():
            with os.fdopen(w, "wb") as f:
                f.write(stdin_bytes)
        feed = threading.Thread(target=write)
        feed.start()
    else:
        p = c.spawn(*args, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + 60 * SLOW
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "dfs %s: no end of output on the terminal" % (args,)
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:         # EIO: every writer of the pty is gone
                break
            if not chunk:
                break
            shown += chunk
        rc = p.wait(timeout=60 * SLOW)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)
        if feed:
            feed.join()
    return rc, shown.decode("utf-8", "replace")


def progress_frames(shown):
    """The successive states of the progress line(s): split on the
    carriage returns that redraw it, without the erase-to-end sequence."""
    return [f.replace("\x1b[K", "").strip("\n")
            for f in re.split(r"\r\n?|\n", shown) if f.strip()]


def test_progress_line_on_terminal(c, tmp_path):
    payload = blob(3 * MiB + 7, 10)
    src = local(tmp_path, "src", payload)
    c.ok("mkdir", "/pty")
    rc, shown = on_terminal(c, "put", "-b", "1M", src, "/pty/t")
    assert rc == 0, shown
    frames = progress_frames(shown)
    assert frames, repr(shown)
    assert re.fullmatch(r"/pty/t: 3\.0M / 3\.0M \(100%\)  [\d.]+ MB/s  ETA 0:00",
                        frames[-1]), repr(shown)
    assert shown.endswith("\n"), repr(shown)

    rc, shown = on_terminal(c, "get", "/pty/t", tmp_path / "back")
    assert rc == 0, shown
    assert re.fullmatch(r"/pty/t: 3\.0M / 3\.0M \(100%\)  [\d.]+ MB/s  ETA 0:00",
                        progress_frames(shown)[-1]), repr(shown)
    assert sha((tmp_path / "back").read_bytes()) == sha(payload)


def test_progress_line_for_stdin_and_long_names(c, base, tmp_path):
    """Standard input (a pipe): bytes and rate only.  A long path keeps
    its last 28 characters, so the line fits in 80 columns."""
    payload = blob(2 * MiB, 11)
    c.ok("mkdir", "/pty2")
    rc, shown = on_terminal(c, "put", "-b", "1M", "-", "/pty2/s",
                            stdin_bytes=payload)
    assert rc == 0, shown
    assert re.fullmatch(r"/pty2/s: 2\.0M  [\d.]+ MB/s",
                        progress_frames(shown)[-1]), repr(shown)
    assert sha(c.ok("cat", "/pty2/s", binary=True)) == sha(payload)

    long = base + "/" + "n" * 40 + "-end"
    rc, shown = on_terminal(c, "put", "-b", "1M",
                            local(tmp_path, "src", payload), long)
    assert rc == 0, shown
    frames = progress_frames(shown)
    assert frames[-1].startswith("..." + long[-28:] + ": 2.0M / 2.0M (100%)"), \
        repr(shown)
    assert all(len(f) <= 80 for f in frames), frames


# ----------------------------------------------- few or no datanodes

@pytest.mark.cluster(datanodes=2, overrides=["datanode.heartbeat_ms=500"])
def test_put_with_fewer_live_datanodes_than_replication(cluster, tmp_path):
    payload = blob(2 * MiB + 9, 12)
    rc, out, err = cluster.dfs("put", "-r", "3", "-b", "1M",
                               local(tmp_path, "src", payload), "/t")
    assert rc == 0, err
    assert err == ("dfs: put: warning: /t: written to 2 of 3 datanodes "
                   "(fewer live datanodes than replication); it will be "
                   "re-replicated\n"), err
    assert cluster.stat("/t")["replication"] == 3
    for b in cluster.locate("/t")["blocks"]:
        assert len({l["port"] for l in b["locations"]}) == 2, b
    assert sha(cluster.ok("cat", "/t", binary=True)) == sha(payload)
    # none when the replication fits
    rc, out, err = cluster.dfs("put", "-r", "2", "-b", "1M",
                               local(tmp_path, "c", payload), "/c")
    assert rc == 0 and err == "", err


@pytest.mark.cluster(datanodes=2, overrides=["datanode.heartbeat_ms=500"])
def test_put_small_files_with_fewer_live_datanodes_warn(cluster, tmp_path):
    """Files smaller than a packet (64K) are written to 2 of 3 datanodes
    just the same: one warning line per file."""
    sizes = {"a": 5, "b": 64 * 1024 - 1, "c": 64 * 1024 + 1}
    srcs = [local(tmp_path, n, blob(s, 1)) for n, s in sizes.items()]
    rc, out, err = cluster.dfs("put", "-r", "3", *srcs, "/")
    assert rc == 0, err
    for n in sizes:
        b, = cluster.locate("/" + n)["blocks"]
        assert len(b["locations"]) == 2, b
    assert err.splitlines() == [
        "dfs: put: warning: /%s: written to 2 of 3 datanodes (fewer live "
        "datanodes than replication); it will be re-replicated" % n
        for n in sizes], err


@pytest.mark.cluster(datanodes=0)
def test_put_with_no_live_datanode(cluster, tmp_path):
    """0 datanodes: a clear error, exit 1, nothing left in the namespace."""
    rc, out, err = cluster.dfs("put", "-b", "1M",
                               local(tmp_path, "src", blob(MiB + 1, 13)), "/t")
    assert rc == 1
    assert re.fullmatch(r"dfs: put: /t: .*no live datanode.*\n", err), err
    assert ls_names(cluster.ok("ls", "/")) == []
