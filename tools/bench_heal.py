"""tools/bench_heal.py - the healing benchmarks of tools/bench: `heal` (a
datanode killed, its replicas copied back) and `nnrestart` (a namenode
restart with many blocks, reported by simulated datanodes).  See the usage
in tools/bench and docs/benchmarks.md, section Healing.
"""

import calendar
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time

from benchlib import (Cluster, Failure, cpu_times, dd_fsync, dfs_bench, fs_of, guarded, human,
                      log, machine, median, qcmd, remove_work, run_checked, tool_binary)

# ---------------------------------------------------------------- logs

LOG_TS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d{3})Z ")


def log_lines(path, since=None):
    """(epoch seconds, text) of the lines of a daemon log, those at or after
    `since` (epoch seconds) when given.  Lines without a time stamp (the
    start markers of tools/cluster) are skipped."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = LOG_TS.match(line)
                if not m:
                    continue
                y, mo, d, h, mi, s, ms = (int(x) for x in m.groups())
                ts = calendar.timegm((y, mo, d, h, mi, s)) + ms / 1000.0
                if since is None or ts >= since:
                    out.append((ts, line[m.end():].rstrip("\n")))
    except OSError:
        pass
    return out


def proc_status(pid, key):
    """A /proc/PID/status value in kB (VmRSS, VmHWM), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def proc_start_time(pid):
    """Epoch seconds at which process pid started (10 ms resolution), or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        now = time.time()
        return now - (uptime - int(fields[19]) / float(os.sysconf("SC_CLK_TCK")))
    except (OSError, ValueError, IndexError):
        return None


def cpu_split():
    """Jiffies of all CPUs so far from /proc/stat: (user, system, iowait,
    idle, total), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (v + [0] * 8)[:8]
    return (user + nice, system + irq + softirq, iowait, idle, sum(v))


def cpu_percent(a, b):
    """(user, system, iowait, idle) % of the CPU time between two cpu_split()."""
    if not a or not b or b[4] <= a[4]:
        return None
    return tuple(100.0 * (b[i] - a[i]) / (b[4] - a[4]) for i in range(4))


def mib(kb):
    return "%.0f MiB" % (kb / 1024.0) if kb is not None else "?"


# ---------------------------------------------------------------- heal

# Settings changed for the heal benchmark, and why; everything else keeps
# its default (the copy settings in particular: replication_streams 4,
# copy_threads 2, replication_timeout_ms 300000).
HEAL_OVERRIDES = [
    ("namenode.stale_ms=2000", "10000",
     "a silent datanode is stale after 2 s"),
    ("namenode.dead_ms=4000", "30000",
     "and dead after 4 s, so that the heal starts seconds after the kill"),
    ("namenode.heartbeat_recheck_ms=500", "1000",
     "liveness checked every 0.5 s, to match"),
    ("datanode.heartbeat_ms=1000", "3000",
     "must stay well under stale_ms; copy commands ride on the heartbeat "
     "answers, so this also paces how soon a datanode gets its next copies"),
    ("namenode.replication_interval_ms=500", "3000",
     "the monitor notices the death's blocks, counts finished copies and "
     "schedules the next ones every 0.5 s"),
]
HEAL_DIR = "/heal"
HEAL_FILE_MAX = 512 << 20     # the reader's file: 256..512 MiB when SIZE allows
POLL_SECS = 0.1
DEAD_DEADLINE = 60
HEAL_DEADLINE = 900
SETTLE_DEADLINE = 180
CATS_HEALTHY = 3
DD_AFTER = 3                  # dd runs after round 2 (one runs before round 1)
COPIED = re.compile(r"copied blk_(\d+) \(genstamp \d+\) to (\S+): (\d+) bytes in (\d+) ms")
COPY_FAILED = re.compile(r"copying blk_\d+ .*failed|copying blk_\d+ to ")


class HealRound:
    """One kill and its heal."""

    def __init__(self, victim, reader):
        self.victim = victim            # datanode-N
        self.reader = reader            # cats back to back during the heal
        self.address = None
        self.blocks = 0                 # blocks that had a replica on the victim
        self.bytes = 0
        self.t_kill = None              # epoch seconds
        self.t_dead = None              # the namenode's "is dead" line
        self.t_seen = None              # first report showing it dead
        self.t_healed = None            # first report + fsck showing it healed
        self.copies = []                # (end epoch, ms, bytes) from datanode logs
        self.copy_failures = 0
        self.cats = []                  # (start, end, MB/s) during the heal
        self.fsck = None
        self.cpu = None                 # (user, system, iowait, idle) % during the heal

    def heal_secs(self):
        return self.t_healed - self.t_dead

    def rate(self):
        return self.bytes / self.heal_secs() / 1e6

    def copy_span(self):
        """(first copy start, last copy end) in epoch seconds, or None."""
        if not self.copies:
            return None
        return (min(end - ms / 1000.0 for end, ms, _ in self.copies),
                max(end for end, _, _ in self.copies))


class HealBench:
    def __init__(self, args):
        self.a = args
        self.parent = os.path.abspath(args.tmp or os.environ.get("TMPDIR") or "/tmp")
        if not os.path.isdir(self.parent):
            raise Failure("%s: not a directory" % self.parent)
        self.dfs = tool_binary("client", "dfs")
        self.bench = dfs_bench()
        self.work = None
        self.cluster = None
        self.rounds = []
        self.cmds = []
        self.notes = []
        self.disk = []
        self.cats_healthy = []
        self.files = []
        self.write_rate = None      # MB/s of the setup's write (3 replicas)
        # The files: at most HEAL_FILE_MAX each, so that one is the reader's.
        self.nfiles = max(1, -(-args.size // HEAL_FILE_MAX))
        self.file_size = args.size // self.nfiles

    # -- helpers

    def env(self):
        e = dict(os.environ)
        e.update(self.cluster.env)
        return e

    def dfs_json(self, *args):
        p = run_checked("dfs " + args[0], [self.dfs] + list(args), env=self.env(), capture=True)
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            raise Failure("dfs %s: not JSON (%s)" % (" ".join(args), e))

    def fsck(self):
        """dfs fsck --json / (exit 1, CORRUPT, is an answer too)."""
        p = subprocess.run([self.dfs, "fsck", "--json", "/"], env=self.env(),
                           capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise Failure("dfs fsck failed (exit %d): %s" % (p.returncode, p.stderr.strip()))
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            raise Failure("dfs fsck --json: not JSON (%s)" % e)

    def datanodes(self):
        return ["datanode-%d" % k for k in range(1, 5)]

    def block_files(self):
        """Finalized and in-progress replica data files in the datanodes' dirs."""
        n = 0
        for dn in self.datanodes():
            for top, _, files in os.walk(os.path.join(self.cluster.rundir, dn)):
                n += sum(1 for f in files if f.startswith("blk_") and not f.endswith(".meta"))
        return n

    def cat(self):
        """(start, end) epoch seconds of one `dfs cat` of the reader's file."""
        t0 = time.time()
        p = subprocess.run([self.dfs, "cat", self.files[0]], env=self.env(),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        t1 = time.time()
        if p.returncode != 0:
            raise Failure("dfs cat %s failed (exit %d): %s" % (self.files[0], p.returncode,
                                                               p.stderr.strip()))
        return t0, t1

    def cat_mbs(self, t0, t1):
        return self.file_size / (t1 - t0) / 1e6

    # -- setup

    def setup(self):
        a = self.a
        self.work = tempfile.mkdtemp(prefix="dfs-bench-heal.", dir=self.parent)
        self.load_start = os.getloadavg()
        self.cpu_start = cpu_times()
        self.host = machine(None)
        self.fs = fs_of(self.work)
        self.cluster = Cluster(None, os.path.join(self.work, "cluster"), datanodes=4,
                               overrides=[o for o, _, _ in HEAL_OVERRIDES], external=False)
        self.cluster.start()
        # The data: NFILES files of random bytes from one buffer, written at
        # once by dfs-bench io (which reads them back and compares, untimed
        # here) and kept.
        cmd = [self.bench, "-n", self.cluster.namenode, "io", "-s", str(self.file_size),
               "-r", "3", "-c", str(self.nfiles), "-d", HEAL_DIR, "--keep", "--json"]
        if a.block:
            cmd[cmd.index("--keep"):cmd.index("--keep")] = ["-b", str(a.block)]
        log("writing %d file(s) of %s, replication 3" % (self.nfiles, human(self.file_size)))
        p = run_checked("dfs-bench io", cmd, env=self.env(), capture=True)
        for line in p.stdout.splitlines():
            if line.startswith("{") and json.loads(line).get("op") == "write":
                self.write_rate = json.loads(line)["rate"]
        self.cmds.append("dfs-bench -n $DFS_NAMENODE " + qcmd(cmd[3:]))
        self.files = ["%s/c%d/f0" % (HEAL_DIR, k) for k in range(self.nfiles)]
        self.locate()
        self.settle("the first kill", None)

    def locate(self):
        """Block ids and lengths per datanode address, from dfs locate."""
        self.by_addr = {}
        self.nblocks = 0
        self.block_size = 0
        for path in self.files:
            info = self.dfs_json("locate", "--json", path)
            for b in info["blocks"]:
                self.nblocks += 1
                self.block_size = max(self.block_size, b["length"])
                for loc in b["locations"]:
                    addr = "%s:%s" % (loc["host"], loc["port"])
                    self.by_addr.setdefault(addr, []).append((b["id"], b["length"]))
        if self.nblocks == 0:
            raise Failure("dfs locate: no blocks")

    def settle(self, before, restarted):
        """Wait (untimed) until fsck is HEALTHY with nothing under- or
        over-replicated, no copy is pending, every datanode is live and the
        trimmed replicas are gone from the disks."""
        t0 = time.monotonic()
        while True:
            rep = self.dfs_json("report", "--json")
            fs = self.fsck()
            live = sum(1 for d in rep["datanodes"] if d["state"] == "live")
            files = self.block_files()
            if (fs["status"] == "HEALTHY" and fs["under_replicated"] == 0 and
                    fs["over_replicated"] == 0 and rep["pending_replication"] == 0 and
                    live == 4 and files == 3 * self.nblocks):
                break
            if time.monotonic() - t0 > SETTLE_DEADLINE:
                raise Failure("before %s: not settled after %d s: fsck %s, %d under- and %d "
                              "over-replicated, %d live datanodes, %d replica files for %d "
                              "blocks x 3" % (before, SETTLE_DEADLINE, fs["status"],
                                              fs["under_replicated"], fs["over_replicated"],
                                              live, files, self.nblocks))
            time.sleep(0.5)
        waited = time.monotonic() - t0
        if restarted:
            log("%s back: excess replicas trimmed in %.1f s" % (restarted, waited))

    # -- one round

    def victim_for(self, exclude):
        """The datanode (not in exclude) holding the most replica bytes."""
        best = None
        for dn in self.datanodes():
            if dn in exclude:
                continue
            addr = self.cluster.component_address(dn)
            b = sum(n for _, n in self.by_addr.get(addr, []))
            if best is None or b > best[1]:
                best = (dn, b, addr)
        return best[0], best[2]

    def wait_dead(self, r):
        """Poll dfs report until the victim is dead; its time from the
        namenode's log line."""
        deadline = time.monotonic() + DEAD_DEADLINE
        while True:
            rep = self.dfs_json("report", "--json")
            st = [d["state"] for d in rep["datanodes"]
                  if "%s:%s" % (d["host"], d["port"]) == r.address]
            if st and st[0] == "dead":
                r.t_seen = time.time()
                break
            if time.monotonic() > deadline:
                raise Failure("%s not reported dead %d s after the kill" % (r.victim,
                                                                           DEAD_DEADLINE))
            time.sleep(POLL_SECS / 2)
        dead = [ts for ts, line in log_lines(os.path.join(self.cluster.rundir, "namenode.log"),
                                             r.t_kill - 1)
                if (" at %s is dead" % r.address) in line]
        if dead:
            r.t_dead = dead[0]
        else:
            r.t_dead = r.t_seen
            self.notes.append("%s: no 'is dead' line in the namenode log: the heal is "
                              "timed from the first report showing it dead" % r.victim)

    def wait_healed(self, r, copies_before):
        deadline = time.monotonic() + HEAL_DEADLINE
        while True:
            rep = self.dfs_json("report", "--json")
            t = time.time()
            if (rep["under_replicated"] == 0 and rep["pending_replication"] == 0 and
                    rep["missing"] == 0 and
                    rep["copies_done"] - copies_before >= r.blocks):
                fs = self.fsck()
                if fs["status"] == "HEALTHY" and fs["under_replicated"] == 0:
                    r.t_healed = t
                    r.fsck = fs
                    return
            if time.monotonic() > deadline:
                raise Failure("%s: not healed %d s after its death: %d under-replicated, "
                              "%d copies pending, %d missing"
                              % (r.victim, HEAL_DEADLINE, rep["under_replicated"],
                                 rep["pending_replication"], rep["missing"]))
            time.sleep(POLL_SECS)

    def reader_loop(self, r, stop, errors):
        try:
            while not stop.is_set():
                t0, t1 = self.cat()
                r.cats.append((t0, t1, self.cat_mbs(t0, t1)))
        except Failure as e:
            errors.append(str(e))

    def run_round(self, r):
        r.address = self.cluster.component_address(r.victim)
        held = self.by_addr.get(r.address, [])
        r.blocks = len(held)
        r.bytes = sum(n for _, n in held)
        copies_before = self.dfs_json("report", "--json")["copies_done"]
        log("killing %s (kill -9): %d replicas, %s" % (r.victim, r.blocks, human(r.bytes)))
        r.t_kill = time.time()
        self.cluster.tool("kill", r.victim)
        self.wait_dead(r)
        stop, errors, th = threading.Event(), [], None
        if r.reader:
            th = threading.Thread(target=self.reader_loop, args=(r, stop, errors))
            th.start()
        log("%s is dead (%.1f s after the kill); waiting for the heal%s"
            % (r.victim, r.t_dead - r.t_kill, ", `dfs cat` running" if r.reader else ""))
        c0 = cpu_split()
        try:
            self.wait_healed(r, copies_before)
            r.cpu = cpu_percent(c0, cpu_split())
        finally:
            stop.set()
            if th:
                th.join()
        if errors:
            raise Failure("the reader failed during the heal: " + errors[0])
        for dn in self.datanodes():
            if dn == r.victim:
                continue
            for ts, line in log_lines(os.path.join(self.cluster.rundir, dn + ".log"),
                                      r.t_dead - 1):
                m = COPIED.search(line)
                if m:
                    r.copies.append((ts, int(m.group(4)), int(m.group(3))))
                elif COPY_FAILED.search(line):
                    r.copy_failures += 1
        log("%s healed in %.1f s after its death: %s at %.0f MB/s"
            % (r.victim, r.heal_secs(), human(r.bytes), r.rate()))

    def rounds_body(self):
        self.setup()
        for i in range(CATS_HEALTHY):
            self.cats_healthy.append(self.cat_mbs(*self.cat()))
        log("healthy cluster: `dfs cat` of %s at %s MB/s" % (
            human(self.file_size), ", ".join("%.0f" % v for v in self.cats_healthy)))
        self.disk.append(self.disk_rate())
        first = HealRound(self.victim_for(())[0], reader=False)
        self.rounds.append(first)
        self.run_round(first)
        # Back to four datanodes: the victim returns, its extra replicas are
        # trimmed; then another one dies, with a reader running.
        self.cluster.tool("start", first.victim)
        self.settle("the second kill", first.victim)
        self.locate()
        second = HealRound(self.victim_for((first.victim,))[0], reader=True)
        self.rounds.append(second)
        self.run_round(second)
        # The disk's rate moves a lot right after heavy writes on this kind
        # of VM: several samples, the spread shown.
        for _ in range(DD_AFTER):
            self.disk.append(self.disk_rate())

    def disk_rate(self):
        rate, cmd = dd_fsync(os.path.join(self.work, "dd.bin"))
        if not any(c.startswith("dd ") for c in self.cmds):
            self.cmds.append(cmd)
        log("disk: dd with fsync %.0f MB/s" % rate)
        return rate

    def teardown(self, failed):
        if self.cluster:
            self.cluster.stop(failed)
        if not self.work:
            return
        remove_work(self.work, failed)

    def run(self):
        guarded(self.rounds_body, self.teardown)
        self.load_end = os.getloadavg()
        c1 = cpu_times()
        self.steal = None
        if self.cpu_start and c1 and c1[1] > self.cpu_start[1]:
            self.steal = 100.0 * (c1[0] - self.cpu_start[0]) / (c1[1] - self.cpu_start[1])

    # -- report

    def report(self):
        a = self.a
        print("### Machine")
        print()
        for line in self.host:
            if not line.startswith("- Namenode metadata on"):
                print(line)
        print("- Temp dir (the 4 datanodes' and the namenode's data, dd): %s (%s)"
              % (self.fs, self.work))
        print("- Load average (1 min) at start / end: %.2f / %.2f%s"
              % (self.load_start[0], self.load_end[0],
                 "; CPU time stolen by the hypervisor: %.1f %%" % self.steal
                 if self.steal is not None else ""))
        print()
        print("### Healing: a dead datanode (%s)" % time.strftime("%Y-%m-%d %H:%M"))
        print()
        argv = ["tools/bench", "heal", "-s", a.size_arg] + (["-b", a.block_arg] if a.block else [])
        print("`%s`: 4 datanodes and the namenode started by `tools/cluster start -n 4` in "
              "the temp dir, all on one disk; %d file(s) of %s of random bytes, "
              "replication 3, block size %s (%d blocks, %s of replicas). Round 1: the "
              "datanode holding the most replica bytes is killed (`kill -9`); the heal is "
              "timed from the namenode's `is dead` log line to the first `dfs report` "
              "(polled every %.1f s) showing 0 under-replicated blocks, 0 copies pending "
              "and every copy done, confirmed by `dfs fsck` HEALTHY. Then that datanode "
              "comes back, its extra replicas are trimmed, and round 2 kills another one "
              "while `dfs cat` reads a %s file to /dev/null over and over from the "
              "death's detection until the heal is over. MB/s = 10^6 bytes/s."
              % (" ".join(argv), self.nfiles, human(self.file_size),
                 human(a.block) if a.block else "the namenode's default (%s)"
                 % human(self.block_size), self.nblocks, human(3 * self.nfiles *
                                                                 self.file_size),
                 POLL_SECS, human(self.file_size)))
        print()
        print("Settings changed from their defaults (everything else, the copy settings "
              "`namenode.replication_streams` 4, `datanode.copy_threads` 2 and "
              "`namenode.replication_timeout_ms` included, is at its default):")
        print()
        for o, default, why in HEAL_OVERRIDES:
            print("- `%s` (default %s): %s" % (o, default, why))
        print()
        r1, r2 = self.rounds
        rows = []

        def row(label, f):
            rows.append("| %s | %s | %s |" % (label, f(r1), f(r2)))

        def rel(t):
            return lambda r: "%.2f s" % (t(r) - r.t_dead) if t(r) is not None else "-"

        row("datanode killed", lambda r: "%s (%s)" % (r.victim, r.address))
        row("replicas it held", lambda r: "%d (%s)" % (r.blocks, human(r.bytes)))
        row("kill → namenode logs `is dead`", lambda r: "%.2f s" % (r.t_dead - r.t_kill))
        row("`is dead` → first copy starts (datanode logs)",
            rel(lambda r: r.copy_span()[0] if r.copy_span() else None))
        row("`is dead` → last copy finalized (datanode logs)",
            rel(lambda r: r.copy_span()[1] if r.copy_span() else None))
        row("**`is dead` → healed** (report and fsck)", lambda r: "**%.2f s**" % r.heal_secs())
        row("copies (datanode logs): count, bytes",
            lambda r: "%d, %s%s" % (len(r.copies), human(sum(b for _, _, b in r.copies)),
                                    ", %d failed" % r.copy_failures if r.copy_failures else ""))
        row("**re-replication rate**: replica bytes / heal time",
            lambda r: "**%.0f MB/s**" % r.rate())
        row("copy rate while copying: bytes / (first copy start → last copy end)",
            lambda r: "%.0f MB/s" % (r.bytes / (r.copy_span()[1] - r.copy_span()[0]) / 1e6)
            if r.copy_span() and r.copy_span()[1] > r.copy_span()[0] else "-")
        row("CPU from detection to healed (%d cores): user / system / iowait / idle"
            % (os.cpu_count() or 0),
            lambda r: "%.0f / %.0f / %.0f / %.0f %%" % r.cpu if r.cpu else "-")
        row("reader during the heal: `dfs cat` runs, first one's MB/s, median MB/s",
            lambda r: "%d, %.0f, %.0f" % (len(r.cats), r.cats[0][2],
                                          statistics.median(c[2] for c in r.cats))
            if r.cats else "(no reader)")
        print("| measurement | round 1: heal alone | round 2: heal with a reader |")
        print("|---|--:|--:|")
        for line in rows:
            print(line)
        print()
        disk = median(self.disk)
        healthy = median(self.cats_healthy)
        print("Same-run limits and the reader on the healthy cluster:")
        print()
        print("| measurement | value |")
        print("|---|--:|")
        print("| disk: sequential write + fsync (`dd` 1 GiB), once before round 1, %d times "
              "after round 2: %s; median | %.0f MB/s |"
              % (DD_AFTER, ", ".join("%.0f" % v for v in self.disk), disk))
        if self.write_rate:
            print("| the setup's write: `dfs-bench io -c %d`, replication 3 (aggregate), and "
                  "the replica bytes it wrote per second | %.0f MB/s; %.0f MB/s |"
                  % (self.nfiles, self.write_rate, 3 * self.write_rate))
        print("| `dfs cat` of %s to /dev/null on the healthy cluster (%d runs: %s; median) "
              "| %.0f MB/s |" % (human(self.file_size), len(self.cats_healthy),
                                 ", ".join("%.0f" % v for v in self.cats_healthy), healthy))
        print()
        print("| ratio | round 1 | round 2 |")
        print("|---|--:|--:|")
        print("| re-replication rate / disk fsync write (median dd, %.0f MB/s); aim ≥ 0.50 "
              "| %.2f | %.2f |" % (disk, r1.rate() / disk, r2.rate() / disk))
        lo, hi = min(self.disk), max(self.disk)
        print("| the same against the slowest / fastest dd (%.0f / %.0f MB/s) "
              "| %.2f / %.2f | %.2f / %.2f |" % (lo, hi, r1.rate() / lo, r1.rate() / hi,
                                                 r2.rate() / lo, r2.rate() / hi))
        if self.write_rate:
            print("| re-replication rate / replica bytes written per second by the setup's "
                  "3-replica write (%.0f MB/s) | %.2f | %.2f |"
                  % (3 * self.write_rate, r1.rate() / (3 * self.write_rate),
                     r2.rate() / (3 * self.write_rate)))
        if r2.cats:
            print("| reader during the heal / healthy (first cat; median of the cats) "
                  "| | %.2f; %.2f |" % (r2.cats[0][2] / healthy,
                                        statistics.median(c[2] for c in r2.cats) / healthy))
        print()
        print("Commands:")
        print()
        print("- `tools/cluster start -d TMPDIR/cluster -n 4 %s`"
              % " ".join("-o " + o for o, _, _ in HEAL_OVERRIDES))
        for c in self.cmds:
            print("- `%s`" % c.replace(self.work, "TMPDIR"))
        print("- `tools/cluster kill -d TMPDIR/cluster DATANODE`; `dfs report --json` every "
              "%.1f s; `dfs fsck --json /`" % POLL_SECS)
        print("- `dfs cat %s > /dev/null`" % self.files[0])
        for note in self.notes:
            print()
            print("Note: " + note)


def cmd_heal(args):
    b = HealBench(args)
    b.run()
    b.report()
    return 0


# ----------------------------------------------------------- nnrestart

NN_LOG_PATTERNS = [
    ("namespace", re.compile(r"namenode: namespace \S+: (\d+) files")),
    ("blockmap", re.compile(r"namenode: block map: (\d+) blocks")),
    ("ready", re.compile(r"namenode: namenode ready on")),
    ("report", re.compile(r"registered with a report of (\d+) replicas.*\((\d+) ms\)$")),
    ("safemode_off", re.compile(r"namenode: leaving safe mode")),
    ("full_look", re.compile(r"replication monitor: looked at all (\d+) blocks in (\d+) ms: "
                             r"(\d+) under-replicated")),
]


class Restart:
    """One namenode restart and its block reports."""

    def __init__(self, label, extension_ms):
        self.label = label
        self.extension_ms = extension_ms
        self.pid = None
        self.t_proc = None          # process start, epoch seconds
        self.events = {}            # name -> [(epoch, match)]
        self.res = None             # dfs-nnbench report's JSON
        self.rss_started = None     # kB, before the reports
        self.rss_reported = None    # kB, after them
        self.hwm = None

    def first(self, name):
        ev = self.events.get(name)
        return ev[0] if ev else (None, None)


class NnRestartBench:
    def __init__(self, args):
        self.a = args
        self.parent = os.path.abspath(args.tmp or os.environ.get("TMPDIR") or "/tmp")
        if not os.path.isdir(self.parent):
            raise Failure("%s: not a directory" % self.parent)
        self.nnbench = tool_binary("tools", "dfs-nnbench")
        self.work = None
        self.cluster = None
        self.created = None
        self.rss_created = None
        self.restarts = []
        self.cmds = []

    def nnb(self, what, args):
        cmd = [self.nnbench, "-n", self.cluster.namenode] + args + ["--json"]
        log("running: %s" % qcmd(cmd))
        p = run_checked("dfs-nnbench " + what, cmd, capture=True, timeout=3600)
        self.cmds.append("dfs-nnbench -n $DFS_NAMENODE " + qcmd(args + ["--json"]))
        for line in p.stdout.splitlines():
            if line.startswith("{"):
                return json.loads(line)
        raise Failure("dfs-nnbench %s printed no result" % what)

    def setup(self):
        self.work = tempfile.mkdtemp(prefix="dfs-bench-nnrestart.", dir=self.parent)
        self.list = os.path.join(self.work, "blocks.list")
        self.load_start = os.getloadavg()
        self.cluster = Cluster(None, os.path.join(self.work, "cluster"), datanodes=0,
                               external=False)
        self.cluster.start()
        self.host = machine(self.cluster.metadata_path())

    def restart(self, r):
        self.cluster.tool("stop", "namenode")
        since = time.time()
        args = ["start", "namenode"]
        if r.extension_ms is not None:
            args = ["start", "-o", "namenode.safemode_extension_ms=%d" % r.extension_ms,
                    "namenode"]
        log("restarting the namenode (%s)" % r.label)
        self.cluster.tool(*args)
        r.pid = self.cluster.pid("namenode")
        r.t_proc = proc_start_time(r.pid) if r.pid else None
        r.rss_started = proc_status(r.pid, "VmRSS")
        lst = ["report", "-i", self.list]
        r.res = self.nnb("report", lst)
        r.rss_reported = proc_status(r.pid, "VmRSS")
        r.hwm = proc_status(r.pid, "VmHWM")
        time.sleep(0.5)     # the monitor's first full look, if any, is logged
        for ts, line in log_lines(os.path.join(self.cluster.rundir, "namenode.log"), since):
            for name, pat in NN_LOG_PATTERNS:
                m = pat.search(line)
                if m:
                    r.events.setdefault(name, []).append((ts, m))

    def body(self):
        a = self.a
        self.setup()
        self.created = self.nnb("create", ["create", "-b", str(a.blocks), "-k", str(a.per_file),
                                           "-w", str(a.window), "-o", self.list])
        self.rss_created = proc_status(self.cluster.pid("namenode"), "VmRSS")
        self.restarts.append(Restart("safe mode extension 0 ms, as tools/cluster writes", None))
        self.restart(self.restarts[-1])
        self.restarts.append(Restart("safe mode extension 30000 ms, the namenode's default",
                                     30000))
        self.restart(self.restarts[-1])

    def teardown(self, failed):
        if self.cluster:
            self.cluster.stop(failed)
        if self.work and not failed:
            shutil.rmtree(self.work, ignore_errors=True)
        elif self.work:
            log("logs kept in %s" % self.work)

    def run(self):
        guarded(self.body, self.teardown)
        self.load_end = os.getloadavg()

    def report(self):
        a = self.a
        c = self.created
        print("### Machine")
        print()
        for line in self.host:
            print(line)
        print("- Load average (1 min) at start / end: %.2f / %.2f"
              % (self.load_start[0], self.load_end[0]))
        print()
        print("### Namenode restart with %s blocks (%s)" % ("{:,}".format(c["blocks"]),
                                                           time.strftime("%Y-%m-%d %H:%M")))
        print()
        print("`tools/bench nnrestart -n %d -k %d -w %d`: a namenode alone "
              "(`tools/cluster start -n 0`); `dfs-nnbench create` registers %d simulated "
              "datanodes (real protocol, fake addresses, no data), creates %s files and "
              "allocates %s blocks through CreateReq/AddBlockReq/CompleteReq (%d files at a "
              "time, pipelined on one connection), each reported by every datanode in "
              "incremental BlockReportReqs: **%s blocks/s** (%.1f s). Then the namenode is "
              "restarted twice (SIGTERM, start); after each start `dfs-nnbench report` has "
              "the %d datanodes register at once, each from its own thread and connection, "
              "with its full report of %s replicas in one RegisterReq (%s per datanode, "
              "encoded before the clock starts)."
              % (a.blocks, a.per_file, a.window, c["datanodes"], "{:,}".format(c["files"]),
                 "{:,}".format(c["blocks"]), a.window, "{:,}".format(int(c["blocks_per_s"])),
                 c["seconds"],
                 c["datanodes"], "{:,}".format(c["blocks"]),
                 human(self.restarts[0].res["bytes"] // max(1, c["datanodes"]))))
        print()
        rs = self.restarts
        print("| measurement | %s |" % " | ".join(r.label for r in rs))
        print("|---|%s" % ("--:|" * len(rs)))

        def row(label, f):
            cells = []
            for r in rs:
                try:
                    cells.append(f(r))
                except (TypeError, KeyError, IndexError):
                    cells.append("-")
            print("| %s | %s |" % (label, " | ".join(cells)))

        def at(r, name):
            return r.first(name)[0] - r.t_proc

        row("start-up: process start → namespace open (LevelDB)",
            lambda r: "%.2f s" % at(r, "namespace"))
        row("→ block map loaded (%s blocks)" % "{:,}".format(c["blocks"]),
            lambda r: "%.2f s" % at(r, "blockmap"))
        row("**→ ready: RPC port answers**", lambda r: "**%.2f s**" % at(r, "ready"))
        row("reports: replicas (messages)",
            lambda r: "%s (%d)" % ("{:,}".format(r.res["replicas"]), r.res["messages"]))
        row("reports: first byte sent → last answer",
            lambda r: "%.2f s" % r.res["seconds"])
        row("**replicas processed per second** (all datanodes; aim ≥ 500,000)",
            lambda r: "**%s**" % "{:,}".format(int(r.res["replicas_per_s"])))
        row("each datanode's report answered after",
            lambda r: ", ".join("%.2f s" % v for v in r.res["datanode_seconds"]))
        row("namenode's time in each report's handler (its log)",
            lambda r: ", ".join("%s ms" % m.group(2) for _, m in r.events["report"]))
        row("handler rate: replicas / handler time",
            lambda r: "{:,}".format(int(sum(int(m.group(1)) for _, m in r.events["report"]) /
                                        (sum(int(m.group(2)) for _, m in r.events["report"])
                                         / 1000.0))))
        row("**first byte sent → namenode logs `leaving safe mode`**",
            lambda r: "**%.2f s**" % (r.first("safemode_off")[0] - r.res["start_epoch"]))
        row("first byte sent → a SafemodeReq (every 10 ms) answers off",
            lambda r: "%.2f s" % r.res["safemode_off_seconds"])
        row("replication monitor's first look at every block (its log): time, blocks "
            "found under-replicated",
            lambda r: "%s ms, %s" % (r.first("full_look")[1].group(2),
                                     "{:,}".format(int(r.first("full_look")[1].group(3)))))
        row("namenode RSS: after the create (before the restarts)",
            lambda r: mib(self.rss_created))
        row("namenode RSS: started, before the reports", lambda r: mib(r.rss_started))
        row("**namenode RSS: after the reports and safe mode** (peak VmHWM)",
            lambda r: "**%s** (%s)" % (mib(r.rss_reported), mib(r.hwm)))
        print()
        print("Commands:")
        print()
        print("- `tools/cluster start -d TMPDIR/cluster -n 0`")
        for cmd in self.cmds[:1]:
            print("- `%s`" % cmd.replace(self.work, "TMPDIR"))
        print("- `tools/cluster stop -d TMPDIR/cluster namenode; tools/cluster start -d "
              "TMPDIR/cluster [-o namenode.safemode_extension_ms=30000] namenode`")
        for cmd in self.cmds[1:2]:
            print("- `%s`" % cmd.replace(self.work, "TMPDIR"))
        print("- namenode RSS from /proc/PID/status (VmRSS, VmHWM); times of the start-up "
              "steps from the namenode's log against the process start (/proc/PID/stat)")


def cmd_nnrestart(args):
    b = NnRestartBench(args)
    b.run()
    b.report()
    return 0


def add_parsers(sub, positive):
    """The heal and nnrestart subcommands of tools/bench."""
    h = sub.add_parser(
        "heal", help="a datanode killed: time and rate of the re-replication, beside the "
        "disk's fsync write rate, and a reader's rate during the heal")
    h.add_argument("-s", dest="size_arg", metavar="SIZE", default="2G",
                   help="data written before the kill (3 replicas); K, M, G suffixes "
                   "(default 2G)")
    h.add_argument("-b", dest="block_arg", metavar="BLOCKSIZE",
                   help="block size (default: the namenode's)")
    h.add_argument("-t", dest="tmp", metavar="DIR",
                   help="parent of the temp dir (default: $TMPDIR or /tmp)")
    n = sub.add_parser(
        "nnrestart", help="namenode restart with many blocks reported by simulated "
        "datanodes: start-up time, replicas processed per second, RSS")
    n.add_argument("-n", dest="blocks", type=positive, default=1000000,
                   help="blocks (default 1000000)")
    n.add_argument("-k", dest="per_file", type=positive, default=100,
                   help="blocks per file (default 100)")
    n.add_argument("-w", dest="window", type=positive, default=256,
                   help="files written at once (default 256)")
    n.add_argument("-t", dest="tmp", metavar="DIR",
                   help="parent of the temp dir (default: $TMPDIR or /tmp)")
    return h, n
