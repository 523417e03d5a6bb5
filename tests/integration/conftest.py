"""Fixtures for the integration tests: real daemons on loopback ports.

Every cluster lives in a pytest tmp dir and is started with tools/cluster;
at teardown it is stopped, whatever is left is killed by PID, and the
daemons' logs are checked for sanitizer reports.  Binaries come from
$DFS_BUILD (default <repo>/build).

    def test_x(cluster):                 # fresh cluster, 0 datanodes
        rc, out, err = cluster.dfs("mkdir", "/a")

    @pytest.mark.cluster(datanodes=3, overrides=["namenode.replication=2"])
    def test_y(cluster): ...
"""

import ctypes
import ctypes.util
import hashlib
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_build = Path(os.environ.get("DFS_BUILD") or REPO / "build")
BUILD = (_build if _build.is_absolute() else REPO / _build).resolve()
os.environ["DFS_BUILD"] = str(BUILD)       # tools/cluster sees the same tree

CLUSTER_TOOL = REPO / "tools" / "cluster"
DFS = BUILD / "client" / "dfs"
NAMENODE = BUILD / "namenode" / "dfs-namenode"
DATANODE = BUILD / "datanode" / "dfs-datanode"
BENCH = BUILD / "tools" / "dfs-bench"

# Sanitizer builds are several times slower: scale every deadline.
SLOW = 3.0 if "asan" in BUILD.name else 1.0
CMD_TIMEOUT = 60 * SLOW

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer",
                   "SUMMARY: AddressSanitizer")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "cluster(datanodes=0, overrides=()): cluster fixture setup")
    config.addinivalue_line(
        "markers", "issue7: needs the namenode and datanode sides of issue 7 "
        "(pipeline recovery, leases, append, readers of files being written)")


# ---------------------------------------------------------------- helpers

def _text(b):
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else b


def sanitizer_report(text):
    """The first sanitizer report line in text, or None."""
    for line in text.splitlines():
        if any(m in line for m in SANITIZER_MARKS):
            return line
    return None


def python_env(env=None):
    """env (default: ours) for a /usr/bin/python3 that loads this tree's
    libdfs: a sanitizer build's needs its runtime preloaded (and Python
    leaks by design)."""
    env = dict(os.environ if env is None else env)
    if "asan" in BUILD.name:
        env["LD_PRELOAD"] = subprocess.run(
            ["gcc", "-print-file-name=libasan.so"], capture_output=True,
            text=True, check=True).stdout.strip()
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    return env


def run(cmd, input=None, timeout=None, env=None, cwd=None, binary=False):
    """Run cmd; return (rc, stdout, stderr) as text (stdout as bytes with
    binary).  input: str or bytes."""
    if isinstance(input, str):
        input = input.encode()
    r = subprocess.run([str(c) for c in cmd], input=input,
                       stdin=None if input is not None else subprocess.DEVNULL,
                       capture_output=True, env=env, cwd=cwd,
                       timeout=timeout or CMD_TIMEOUT)
    return (r.returncode, r.stdout if binary else _text(r.stdout),
            _text(r.stderr))


def free_port():
    """A loopback port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, what="condition", interval=0.02):
    """Poll pred() until it returns a true value (returned), or fail after
    timeout seconds (scaled for sanitizer builds)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.0fs waiting for %s"
                        % (timeout * SLOW, what))
        time.sleep(interval)


def pid_alive(pid, program=None):
    """True when pid runs (and is not a zombie), running `program` if
    given."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmdline = f.read()
    except OSError:
        return False
    if stat[stat.rfind(")") + 2:][:1] in ("Z", "X"):
        return False
    return program is None or program.encode() in cmdline


def kill_pid(pid, program):
    """SIGKILL pid if it still runs `program`, and wait until it is gone."""
    if pid_alive(pid, program):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while pid_alive(pid, program) and time.monotonic() < deadline:
            time.sleep(0.02)


def dfs_env(env=None):
    """The environment a test runs `dfs` in: env as given, else ours
    without DFS_NAMENODE and DFS_CONF."""
    e = dict(os.environ if env is None else env)
    if env is None:
        e.pop("DFS_NAMENODE", None)
        e.pop("DFS_CONF", None)
    return e


def dfs_at(addr, *args, input=None, timeout=None, env=None, binary=False):
    """Run `dfs -n addr args...`; return (rc, stdout, stderr), stdout as
    bytes with binary.  Fails the test when the shell printed a sanitizer
    report."""
    rc, out, err = run([DFS, "-n", addr] + list(args), input=input,
                       timeout=timeout, env=dfs_env(env), binary=binary)
    bad = sanitizer_report(err)
    if bad:
        pytest.fail("dfs %s: sanitizer report: %s\n%s"
                    % (" ".join(map(str, args)), bad, err))
    return rc, out, err


def blob(size, seed=0):
    """size reproducible pseudo-random bytes (the same for the same
    size and seed)."""
    return random.Random("%d/%d" % (size, seed)).randbytes(size)


def flip_byte(path, offset=1000):
    """Invert one byte of a file in place (a replica rotting on disk)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def stat_json(addr, path):
    rc, out, err = dfs_at(addr, "stat", "--json", path)
    assert rc == 0, err
    return json.loads(out)


# ------------------------------------------------------- replica .meta files

META_HDR = 32
META_MAGIC = 0x4446534d     # "DFSM"


def _xxh3():
    for name in ("libxxhash.so.0", ctypes.util.find_library("xxhash")):
        if not name:
            continue
        try:
            f = ctypes.CDLL(name).XXH3_64bits
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_uint64
        f.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        return f
    return None


XXH3 = _xxh3()


def xxh3(b):
    return XXH3(b, len(b))


def check_meta(meta, data, chunk):
    """The .meta bytes describe data: header, then XXH3-64 per chunk."""
    assert XXH3 is not None, "libxxhash not found (a build dependency)"
    magic, version, algo, csize = struct.unpack(">IHHI", meta[:12])
    assert magic == META_MAGIC, hex(magic)
    assert (version, algo) == (1, 1)
    assert csize == chunk
    nsums = -(-len(data) // chunk)
    assert len(meta) == META_HDR + 8 * nsums
    for i in range(nsums):
        want = xxh3(data[i * chunk:(i + 1) * chunk])
        got, = struct.unpack(">Q", meta[META_HDR + 8 * i:META_HDR + 8 * i + 8])
        assert got == want, "chunk %d: checksum %016x != xxh3 %016x" % (
            i, got, want)


# ---------------------------------------------------------------- cluster

class Cluster:
    """A cluster started with tools/cluster in its own directory."""

    def __init__(self, path, datanodes=0, overrides=()):
        self.dir = Path(path)
        self.datanodes = datanodes
        self.overrides = list(overrides)
        self.pids = {}          # every (pid -> program) ever started
        self.spawned = []       # shells started by spawn()
        self.addr = None

    # tools/cluster -----------------------------------------------------
    def tool(self, *args, timeout=None):
        return run([CLUSTER_TOOL] + list(args), timeout=timeout or 120 * SLOW)

    def start(self, *extra, check=True):
        """tools/cluster start; records the pids.  Returns (rc, out, err)."""
        args = ["start", "-d", self.dir]
        if not (self.dir / "dfs.conf").exists():
            args += ["-n", str(self.datanodes)]
            for o in self.overrides:
                args += ["-o", o]
        r = self.tool(*(args + list(extra)))
        self._note_pids()
        if check:
            assert r[0] == 0, "tools/cluster start failed:\n%s%s" % (r[1], r[2])
        self.addr = self.conf_value("dfs.conf", "namenode", "address")
        return r

    def stop(self, component=None):
        r = self.tool("stop", "-d", self.dir, *([component] if component else []))
        assert r[0] == 0, r
        return r

    def kill(self, component):
        r = self.tool("kill", "-d", self.dir, component)
        assert r[0] == 0, r
        return r

    def status(self):
        return self.tool("status", "-d", self.dir)

    # state --------------------------------------------------------------
    def conf_value(self, fname, section, key):
        cur = None
        for line in (self.dir / fname).read_text().splitlines():
            line = line.strip()
            if line.startswith("["):
                cur = line.strip("[]")
            elif "=" in line and cur == section:
                k, v = line.split("=", 1)
                if k.strip() == key:
                    return v.strip()
        return None

    def pid(self, component="namenode"):
        """The pid in component's pid file if it runs, else None."""
        try:
            pid = int((self.dir / (component + ".pid")).read_text())
        except (OSError, ValueError):
            return None
        prog = "dfs-namenode" if component == "namenode" else "dfs-datanode"
        return pid if pid_alive(pid, prog) else None

    def _note_pids(self):
        for f in self.dir.glob("*.pid"):
            try:
                pid = int(f.read_text())
            except ValueError:
                continue
            self.pids[pid] = ("dfs-namenode" if f.stem == "namenode"
                              else "dfs-datanode")

    def log(self, component="namenode"):
        try:
            return (self.dir / (component + ".log")).read_text(errors="replace")
        except OSError:
            return ""

    def logs(self):
        return {f.stem: f.read_text(errors="replace")
                for f in self.dir.glob("*.log")}

    def datanode_names(self):
        """["datanode-1", ...] as configured in the cluster dir."""
        nums = sorted(int(m.group(1)) for m in
                      (re.fullmatch(r"datanode-(\d+)\.conf", f.name)
                       for f in self.dir.glob("datanode-*.conf")) if m)
        return ["datanode-%d" % n for n in nums]

    def datanode_port(self, name):
        """The transfer port in datanode `name`'s conf."""
        return int(self.conf_value(name + ".conf", "datanode",
                                   "address").rsplit(":", 1)[1])

    def datanode_by_port(self):
        """{transfer port: "datanode-N"} from the datanodes' confs."""
        return {self.datanode_port(n): n for n in self.datanode_names()}

    def data_dirs(self, name):
        """The data dirs (Paths) in datanode `name`'s conf."""
        v = self.conf_value(name + ".conf", "datanode", "data_dirs")
        return [Path(d.strip()) for d in v.split(",") if d.strip()]

    def replica_files(self, name, block_id):
        """The data files (Paths) of block block_id in datanode `name`'s
        data dirs: finalized/subdir*/subdir*/blk_<id> and rbw/blk_<id>."""
        found = []
        for d in self.data_dirs(name):
            found += sorted(d.glob("finalized/subdir*/subdir*/blk_%d"
                                   % block_id))
            found += sorted(d.glob("rbw/blk_%d" % block_id))
        return found

    # shell ----------------------------------------------------------------
    def dfs(self, *args, input=None, timeout=None, env=None, binary=False):
        """Run the shell against this cluster: (rc, stdout, stderr)."""
        return dfs_at(self.addr, *args, input=input, timeout=timeout,
                      env=env, binary=binary)

    def ok(self, *args, input=None, timeout=None, env=None, binary=False):
        """Run the shell, assert exit 0, return stdout."""
        rc, out, err = self.dfs(*args, input=input, timeout=timeout,
                                env=env, binary=binary)
        assert rc == 0, "dfs %s -> %d\n%s%s" % (" ".join(map(str, args)),
                                                rc, out, err)
        return out

    def spawn(self, *args, env=None, **popen_kw):
        """Start `dfs -n ADDR args...` in the background and return its
        Popen; the caller waits for it (teardown kills what still runs)."""
        popen_kw.setdefault("stdin", subprocess.DEVNULL)
        popen_kw.setdefault("stdout", subprocess.PIPE)
        popen_kw.setdefault("stderr", subprocess.PIPE)
        p = subprocess.Popen([str(DFS), "-n", self.addr] +
                             [str(a) for a in args], env=dfs_env(env),
                             **popen_kw)
        self.spawned.append(p)
        return p

    def locate(self, path):
        """`dfs locate --json path`, parsed."""
        return json.loads(self.ok("locate", "--json", path))

    def report(self):
        """`dfs report --json`, parsed."""
        return json.loads(self.ok("report", "--json"))

    def stat(self, path):
        return stat_json(self.addr, path)

    def exists(self, path):
        rc, _, err = self.dfs("stat", path)
        assert rc in (0, 1), err
        return rc == 0

    # teardown -------------------------------------------------------------
    def teardown(self):
        """Stop everything (by PID as a last resort); return what went
        wrong (a sanitizer report in a log, a daemon that ignored SIGTERM),
        or None."""
        self._note_pids()
        problem = None
        for p in self.spawned:
            if p.poll() is None:
                p.kill()
            p.communicate()
        try:
            rc, out, err = self.tool("stop", "-d", self.dir, timeout=60 * SLOW)
            if rc != 0:
                problem = "tools/cluster stop: %s" % (err.strip() or rc)
        except subprocess.TimeoutExpired:
            problem = "tools/cluster stop timed out"
        for pid, prog in self.pids.items():
            kill_pid(pid, prog)
        for name, text in self.logs().items():
            bad = sanitizer_report(text)
            if bad:
                return "%s.log: %s" % (name, bad)
        return problem


def _make_cluster(request, tmp_path_factory, name):
    m = request.node.get_closest_marker("cluster")
    kw = dict(m.kwargs) if m else {}
    if hasattr(request, "param"):
        kw["datanodes"] = request.param
    c = Cluster(tmp_path_factory.mktemp(name), kw.get("datanodes", 0),
                kw.get("overrides", ()))
    return c


@pytest.fixture
def cluster(request, tmp_path_factory):
    """A fresh cluster (0 datanodes unless marked or parametrized), stopped
    at teardown even when the test failed."""
    c = _make_cluster(request, tmp_path_factory, "cluster")
    try:
        c.start()
        yield c
    finally:
        bad = c.teardown()
    if bad:
        pytest.fail("cluster teardown: " + bad)


@pytest.fixture(scope="module")
def module_cluster(request, tmp_path_factory):
    """One cluster with 0 datanodes shared by a module's tests (each test
    works under its own directory, see `base`)."""
    c = _make_cluster(request, tmp_path_factory, "modcluster")
    try:
        c.start()
        yield c
    finally:
        bad = c.teardown()
    if bad:
        pytest.fail("cluster teardown: " + bad)


@pytest.fixture
def base(module_cluster, request):
    """A fresh directory in module_cluster for this test, named after it
    (e.g. /test_round_trip_1_)."""
    name = "/" + re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    module_cluster.ok("mkdir", name)
    return name


@pytest.fixture
def dfs(cluster):
    """dfs(*args, input=None) -> (rc, stdout, stderr) against `cluster`."""
    return cluster.dfs


# --------------------------------------------------- a directly run daemon

class Daemon:
    """A dfs-namenode run as a child of the test (so its exit status is
    known), on a free port with its metadata in a tmp dir."""

    def __init__(self, tmp, extra=()):
        self.dir = Path(tmp)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.conf = self.dir / "nn.conf"
        self._write_conf()
        self.started_once = False
        self.extra = list(extra)
        self.proc = None
        self.logf = self.dir / "namenode.log"

    def _write_conf(self):
        self.conf.write_text("[namenode]\naddress = %s\nmeta_dir = %s\n"
                             % (self.addr, self.dir / "meta"))

    def start(self, wait=True):
        """Start the namenode; with wait, until it answers `dfs stat /`
        (a first start that lost its port to a race gets another)."""
        for _ in range(3):
            mark = len(self.log())
            with open(self.logf, "ab") as lf:
                self.proc = subprocess.Popen(
                    [str(NAMENODE), "-c", str(self.conf)] + self.extra,
                    stdin=subprocess.DEVNULL, stdout=lf,
                    stderr=subprocess.STDOUT)
            if not wait:
                return self
            if self._wait_up(not self.started_once, mark):
                break
            self.port = free_port()
            self.addr = "127.0.0.1:%d" % self.port
            self._write_conf()
        else:
            pytest.fail("namenode could not bind a port:\n" + self.log())
        self.started_once = True
        return self

    def _wait_up(self, fresh, mark):
        """True once serving; False when a fresh start died on a taken
        port; fails the test on any other exit."""
        def up():
            if self.proc.poll() is not None:
                return "exited"
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
            except OSError:
                return False
            return dfs_at(self.addr, "stat", "/", timeout=10)[0] == 0
        if wait_for(up, 30, "namenode at %s to answer" % self.addr) is True:
            return True
        if fresh and self.proc.returncode == 1 and \
                "in use" in self.log()[mark:].lower():
            return False
        pytest.fail("namenode exited with %s:\n%s"
                    % (self.proc.returncode, self.log()))

    def log(self):
        return self.logf.read_text(errors="replace") if self.logf.exists() else ""

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=20):
        return self.proc.wait(timeout=timeout * SLOW)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def daemon(tmp_path):
    """daemon() -> a started Daemon; every one is killed at teardown."""
    made = []

    def make(extra=(), start=True):
        d = Daemon(tmp_path / ("nn%d" % len(made)), extra)
        made.append(d)
        return d.start() if start else d
    yield make
    for d in made:
        d.stop()


# ------------------------------------------------------------- listings

def ls_names(out):
    """Entry names from plain `dfs ls` output (one entry per line; an entry
    may be printed as a full path), ignoring a "Found N items" header."""
    names = []
    for line in out.splitlines():
        if not line.strip() or re.match(r"Found \d+ items?$", line):
            continue
        names.append(line.rstrip("/").rsplit("/", 1)[-1])
    return names
