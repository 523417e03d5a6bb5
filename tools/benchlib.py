"""tools/benchlib.py - what the benchmarks of tools/bench share: the machine's
description, the cluster under test (tools/cluster), running and timing
commands, sizes, the disk's fsync write rate, and Ctrl-C handling.

Imported by tools/bench and tools/bench_heal.py (tools/ is on sys.path when
tools/bench runs).  Progress goes to stderr; a failure is a Failure.
"""

import argparse
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DD_MIB = 1024


class Failure(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def build_dir():
    """The build tree holding the binaries: $DFS_BUILD or <repo>/build."""
    b = os.environ.get("DFS_BUILD") or os.path.join(REPO, "build")
    if not os.path.isabs(b) and not os.path.isdir(b):
        b = os.path.join(REPO, b)
    return os.path.abspath(b)


def dfs_bench():
    path = os.path.join(build_dir(), "tools", "dfs-bench")
    if not os.access(path, os.X_OK):
        raise Failure("%s not found (build first, or set DFS_BUILD)" % path)
    return path


# ------------------------------------------------------------- machine

def read_first(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def fs_of(path):
    """'ext4 on /dev/vda' for the file system holding path."""
    try:
        out = subprocess.run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", path],
                             capture_output=True, text=True, timeout=10)
        parts = out.stdout.split()
        if out.returncode == 0 and len(parts) >= 2:
            return "%s on %s" % (parts[0], parts[1])
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        out = subprocess.run(["df", "-T", path], capture_output=True,
                             text=True, timeout=10)
        lines = out.stdout.splitlines()
        if out.returncode == 0 and len(lines) >= 2:
            f = lines[1].split()
            return "%s on %s" % (f[1], f[0])
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def git_rev():
    try:
        out = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            rev = out.stdout.strip()
            # Read-only: which tracked source files differ from the commit.
            st = subprocess.run(["git", "-C", REPO, "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
            dirty = [l[3:] for l in st.stdout.splitlines() if len(l) > 3]
            if st.returncode == 0 and dirty:
                rev += " + uncommitted changes in " + ", ".join(dirty[:12]) + \
                    (", …" if len(dirty) > 12 else "")
            return rev
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def build_type():
    """'debugoptimized', ... of the build tree (sanitizers noted), or 'unknown'."""
    try:
        with open(os.path.join(build_dir(), "meson-info", "intro-buildoptions.json")) as f:
            opts = {o["name"]: o["value"] for o in json.load(f)}
        t = str(opts.get("buildtype", "unknown"))
        if opts.get("sanitize") is True:
            t += ", sanitizers"
        return t
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


def machine(data_path):
    """Markdown lines describing this machine; data_path is where the
    namenode keeps its metadata (None: a cluster we did not start)."""
    mem = read_first("/proc/meminfo", "MemTotal")
    if mem and mem.endswith("kB"):
        mem = "%.1f GiB" % (int(mem.split()[0]) / 1048576.0)
    lines = [
        "- CPU: %s, %d cores online" % (read_first("/proc/cpuinfo", "model name")
                                        or platform.processor() or "unknown",
                                        os.cpu_count() or 0),
        "- Memory: %s" % (mem or "unknown"),
        "- Kernel: %s %s" % (platform.system(), platform.release()),
    ]
    if data_path:
        lines.append("- Namenode metadata on: %s (%s)" % (fs_of(data_path), data_path))
    else:
        lines.append("- Namenode metadata on: (external cluster; not known here)")
    lines.append("- dfs: build %s (%s) of commit %s" % (build_dir(), build_type(), git_rev()))
    return lines


# ------------------------------------------------------------- cluster

def read_env(path):
    """The exported variables of a tools/cluster env file."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line.startswith("export "):
                continue
            key, _, val = line[len("export "):].partition("=")
            if key in ("DFS_NAMENODE", "DFS_CONF"):
                env[key] = " ".join(shlex.split(val))
    return env


class Cluster:
    """The cluster to measure: given, or started (and later stopped) here."""

    def __init__(self, namenode, rundir, datanodes=0, overrides=(), external=True,
                 hosts=()):
        """external=False: always start a cluster here, whatever
        $DFS_NAMENODE says (a benchmark that kills or restarts daemons).
        hosts: the datanodes' addresses (tools/cluster start --hosts)."""
        self.env = {}
        self.datanodes = datanodes
        self.hosts = list(hosts)
        self.overrides = list(overrides)   # -o SECTION.KEY=VALUE for tools/cluster
        self.started = False
        self.rundir = rundir
        self.tmpdir = None
        self.namenode = namenode or (os.environ.get("DFS_NAMENODE") if external else None)
        if self.namenode:
            self.env["DFS_NAMENODE"] = self.namenode

    def start(self):
        if self.namenode:
            log("using the running cluster at %s" % self.namenode)
            return
        if not self.rundir:
            self.tmpdir = tempfile.mkdtemp(prefix="dfs-bench.")
            self.rundir = self.tmpdir
        self.rundir = os.path.abspath(self.rundir)
        tool = os.path.join(REPO, "tools", "cluster")
        if self.datanodes:
            log("starting a cluster with %d datanodes in %s"
                % (self.datanodes, self.rundir))
        else:
            log("starting a namenode-only cluster in %s" % self.rundir)
        self.started = True  # whatever did start must be stopped (Ctrl-C too)
        cmd = [tool, "start", "-d", self.rundir, "-n", str(self.datanodes)]
        for o in self.overrides:
            cmd += ["-o", o]
        if self.hosts:
            cmd += ["--hosts", ",".join(self.hosts)]
        rc = subprocess.run(cmd, stdout=sys.stderr).returncode
        if rc != 0:
            raise Failure("tools/cluster start failed (exit %d)" % rc)
        self.env = read_env(os.path.join(self.rundir, "env"))
        if "DFS_NAMENODE" not in self.env:
            raise Failure("%s/env: no DFS_NAMENODE" % self.rundir)
        self.namenode = self.env["DFS_NAMENODE"]
        log("namenode at %s" % self.namenode)

    def tool(self, *args):
        """Run `tools/cluster ARGS -d RUNDIR` on the cluster started here
        (start, stop, kill of one component); Failure when it fails."""
        cmd = [os.path.join(REPO, "tools", "cluster"), args[0], "-d", self.rundir] + \
            list(args[1:])
        run_checked("tools/cluster " + " ".join(args), cmd)

    def component_address(self, name):
        """'HOST:PORT' of component `name` (namenode, datanode-N) from its
        configuration file in the run dir."""
        conf = os.path.join(self.rundir, "dfs.conf" if name == "namenode" else name + ".conf")
        with open(conf) as f:
            for line in f:
                key, _, val = line.partition("=")
                if key.strip() == "address":
                    return val.strip()
        raise Failure("%s: no address" % conf)

    def pid(self, name):
        """The pid of component `name` from its pid file, or None."""
        try:
            with open(os.path.join(self.rundir, name + ".pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def metadata_path(self):
        return os.path.join(self.rundir, "namenode") if self.started else None

    def stop(self, failed):
        if not self.started:
            return
        tool = os.path.join(REPO, "tools", "cluster")
        rc = subprocess.run([tool, "stop", "-d", self.rundir],
                            stdout=sys.stderr).returncode
        if rc != 0:
            log("tools/cluster stop failed (exit %d); logs in %s" % (rc, self.rundir))
        elif self.tmpdir and not failed:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        elif self.tmpdir:
            log("logs kept in %s" % self.tmpdir)


# ------------------------------------------------------------- helpers

def parse_size(s):
    """'1G', '512M', '100K', '12345' -> bytes (1024-based suffixes)."""
    t = s.strip()
    mult = 1
    if t[-1:].upper() == "B" and len(t) > 1 and not t[-2:-1].isdigit():
        t = t[:-1]
    if t[-1:].lower() == "i":
        t = t[:-1]
    suf = t[-1:].upper()
    if suf in ("K", "M", "G", "T"):
        mult = 1 << {"K": 10, "M": 20, "G": 30, "T": 40}[suf]
        t = t[:-1]
    try:
        v = int(t)
    except ValueError:
        raise argparse.ArgumentTypeError("bad size: %r" % s)
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1 byte: %r" % s)
    return v * mult


def human(n):
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return "%d %s" % (n >> shift, unit)
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return "%.1f %s" % (n / float(1 << shift), unit)
    return "%d bytes" % n


def median(values):
    v = sorted(values)
    n = len(v)
    if n == 0:
        return None
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2.0


def tool_binary(sub, name):
    path = os.path.join(build_dir(), sub, name)
    if not os.access(path, os.X_OK):
        raise Failure("%s not found (build first, or set DFS_BUILD)" % path)
    return path


def qcmd(cmd):
    return " ".join(shlex.quote(a) for a in cmd)


def run_checked(what, cmd, env=None, capture=False, timeout=None):
    """Run cmd; Failure naming `what` and the tail of its stderr when it
    fails.  Returns the CompletedProcess (stdout captured when asked)."""
    try:
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE if capture else sys.stderr,
                           stderr=subprocess.PIPE, text=True, timeout=timeout)
    except FileNotFoundError:
        raise Failure("%s: %s: not found" % (what, cmd[0]))
    except subprocess.TimeoutExpired:
        raise Failure("%s: timed out after %d s: %s" % (what, timeout, qcmd(cmd)))
    if p.returncode != 0 and INTERRUPTED:
        raise KeyboardInterrupt()  # the child died of our Ctrl-C first
    if p.returncode != 0:
        tail = "\n".join(p.stderr.strip().splitlines()[-10:])
        raise Failure("%s failed (exit %d): %s%s" % (what, p.returncode, qcmd(cmd),
                                                    "\n" + tail if tail else ""))
    elif p.stderr.strip():
        sys.stderr.write(p.stderr)
    return p


def timed(what, cmd, env=None):
    """Seconds (monotonic wall clock) of one run of cmd, which must succeed."""
    t = time.monotonic()
    run_checked(what, cmd, env=env)
    return time.monotonic() - t


def sync():
    try:
        os.sync()
    except AttributeError:
        subprocess.run(["sync"])


def cpu_times():
    """(steal, total) jiffies of all CPUs from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            parts = f.readline().split()
        if parts[0] != "cpu":
            return None
        v = [int(x) for x in parts[1:9]]  # user nice system idle iowait irq softirq steal
        return v[7] if len(v) > 7 else 0, sum(v)
    except (OSError, ValueError, IndexError):
        return None


INTERRUPTED = False


def raise_interrupt(signum, frame):
    """SIGINT/SIGTERM handler: remember it (a child that died of it is then
    not a failure of its own) and unwind as KeyboardInterrupt."""
    global INTERRUPTED
    INTERRUPTED = True
    raise KeyboardInterrupt()


def guarded(body, teardown):
    """body(); then teardown(failed) whatever happened, with SIGINT and
    SIGTERM ignored meanwhile so that a second Ctrl-C cannot cut the cleanup
    short.  failed is True when body raised anything but an interruption (a
    failure keeps the cluster's logs)."""
    failed = True
    old_term = signal.signal(signal.SIGTERM, raise_interrupt)
    old_int = signal.signal(signal.SIGINT, raise_interrupt)
    try:
        body()
        failed = False
    except KeyboardInterrupt:
        failed = False
        raise
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            teardown(failed)
        finally:
            signal.signal(signal.SIGINT, old_int)
            signal.signal(signal.SIGTERM, old_term)


def remove_work(work, failed):
    """Remove a bench's temp dir; after a failure keep its cluster's logs
    (the data dirs go) and say where."""
    cdir = os.path.join(work, "cluster")
    if failed and os.path.isdir(cdir):
        for name in os.listdir(cdir):
            path = os.path.join(cdir, name)
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
        log("cluster logs kept in %s" % cdir)
    else:
        shutil.rmtree(work, ignore_errors=True)


def dd_fsync(path, mib=DD_MIB):
    """The disk's sequential write rate with fsync at the end: `dd
    if=/dev/zero of=path bs=1M count=mib conv=fsync` after a sync, timed;
    path is removed.  Returns (MB/s, the command for the report)."""
    cmd = ["dd", "if=/dev/zero", "of=" + path, "bs=1M", "count=%d" % mib,
           "conv=fsync", "status=none"]
    try:
        os.unlink(path)
    except OSError:
        pass
    sync()
    secs = timed("dd", cmd)
    os.unlink(path)
    return mib * 1048576 / secs / 1e6, qcmd(cmd[:-1])


def positive(s):
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % s)
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1: %r" % s)
    return v
