"""tools/bench_dask.py - `tools/bench dask`: a line count of a big text file
by Dask tasks next to its blocks (dfs.dask.read_blocks), with locality on
and off, beside the same count by one process reading a local copy (the
limit).  See the usage in tools/bench and docs/benchmarks.md.

A cluster with three datanodes on hosts of their own (tools/cluster start
--hosts 127.0.0.2,127.0.0.3,127.0.0.4) and a Dask scheduler with one
single-threaded worker per datanode host (tools/dasklocal.py).  The file
(SIZE, lines of 0 to 150 bytes, generated once into the temp dir) is put
with replication 1 and blocks of BLOCKSIZE from 127.0.0.1, so the namenode
spreads its blocks over the three hosts.  Each measurement is the wall
time from submitting the tasks to having every count, RUNS times, median
reported, with the local share of the bytes read (the datanodes'
bytes_read_local + short_circuit over all, from `dfs report`) and the
count checked each time:

  - locality on, work stealing off: each task restricted to its block's
    host (allow_other_workers), the scheduler leaves them there;
  - locality off (work stealing off): Dask places the tasks as it likes;
  - locality on, work stealing on (Dask's default): idle workers take
    queued tasks from busy ones, on other hosts;
  - the limit: one process (/usr/bin/python3) reading the local copy in
    64 MiB pieces into one reused buffer and counting b"\\n" the same way
    (bytearray.count: each task gets its block in a bytearray); and `wc -l`
    of the same file.

Everything runs on one machine: the three "hosts" share its cores, its
page cache and its disk; the files are in the page cache (written just
before, memory permitting), so this compares the read paths, not disks.
"""

import os
import random
import statistics
import sys
import tempfile
import time

from benchlib import (REPO, Cluster, Failure, build_dir, guarded, human, log, machine,
                      parse_size, positive, qcmd, remove_work, run_checked, tool_binary)

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
REMOTE = "/bench-dask/lines.txt"
PIECE = 64 << 20


def count_lines(data):
    """Lines of data: its b"\\n", plus an unterminated last line."""
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def warm_up(uri, path):
    """On a worker: load dfs.dask and connect it (as its tasks will)."""
    import dfs.dask
    c = dfs.dask._worker_client(uri, None)
    return c.stat(path).size


def make_text(path, size):
    """A text file of about size bytes (whole lines of 0 to 150 bytes and
    their \\n): a 4 MiB pattern of random lines repeated, then whole lines
    of it.  Returns (bytes written, lines)."""
    r = random.Random(9)
    lines = []
    n = 0
    while n < 4 << 20:
        line = b"%d " % len(lines) + b"abcdefghij" * r.randrange(15) + b"\n"
        lines.append(line)
        n += len(line)
    pattern = b"".join(lines)
    reps, rest = divmod(size, len(pattern))
    tail_lines, t = 0, 0
    while tail_lines < len(lines) and t + len(lines[tail_lines]) <= rest:
        t += len(lines[tail_lines])
        tail_lines += 1
    with open(path, "wb") as f:
        for _ in range(reps):
            f.write(pattern)
        f.write(pattern[:t])
    return reps * len(pattern) + t, reps * len(lines) + tail_lines


def local_count(path):
    """Seconds and lines of one /usr/bin/python3 process counting the
    lines of path: read into one reused PIECE-byte bytearray, counted with
    bytearray.count, as the tasks count their blocks."""
    prog = ("import sys, time\n"
            "buf = bytearray(%d); view = memoryview(buf)\n"
            "t = time.monotonic(); n = 0; last = 10\n"
            "with open(sys.argv[1], 'rb', buffering=0) as f:\n"
            "    while True:\n"
            "        k = f.readinto(view)\n"
            "        if not k: break\n"
            "        n += buf.count(b'\\n', 0, k); last = buf[k - 1]\n"
            "n += 1 if last != 10 else 0\n"
            "print(time.monotonic() - t, n)\n" % PIECE)
    p = run_checked("local count", ["/usr/bin/python3", "-c", prog, path], capture=True)
    secs, n = p.stdout.split()
    return float(secs), int(n)


def wc_count(path):
    t = time.monotonic()
    p = run_checked("wc -l", ["wc", "-l", path], capture=True)
    return time.monotonic() - t, int(p.stdout.split()[0])


class DaskBench:
    def __init__(self, args):
        self.a = args
        self.work = None
        self.cluster = None
        self.dask = None
        self.results = {}          # name -> [(secs, share)]
        self.notes = []

    # -- environment

    def py_env(self):
        """The environment of the Dask processes: the dfs package from the
        source and build trees, libdfs of the build, this tools dir (the
        count function is pickled by reference)."""
        b = build_dir()
        env = dict(os.environ)
        paths = [os.path.join(REPO, "libdfs", "python"),
                 os.path.join(b, "libdfs", "python"), os.path.join(REPO, "tools")]
        old = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(paths + old)
        env["DFS_LIBDFS"] = os.path.join(b, "libdfs", "libdfs.so.0")
        env.pop("DFS_NAMENODE", None)
        env.pop("DFS_CONF", None)
        return env

    def dfs_env(self):
        env = dict(os.environ)
        env.update(self.cluster.env)
        return env

    def setup(self):
        a = self.a
        self.work = tempfile.mkdtemp(prefix="dfs-bench-dask.", dir=a.tmp)
        self.local = os.path.join(self.work, "lines.txt")
        self.cluster = Cluster(None, os.path.join(self.work, "cluster"), datanodes=3,
                               overrides=["datanode.heartbeat_ms=500"], external=False,
                               hosts=HOSTS)
        self.host = machine(os.path.join(self.work, "cluster", "namenode"))
        self.cluster.start()
        env = self.py_env()
        os.environ["DFS_LIBDFS"] = env["DFS_LIBDFS"]
        for p in reversed(env["PYTHONPATH"].split(os.pathsep)[:3]):
            if p not in sys.path:
                sys.path.insert(0, p)
        log("generating about %s of text in %s" % (human(a.size), self.local))
        self.size, self.lines = make_text(self.local, a.size)
        dfs = tool_binary("client", "dfs")
        self.put_cmd = [dfs, "put", "-f", "-r", "1", "-b", str(a.block), self.local, REMOTE]
        run_checked("dfs mkdir", [dfs, "mkdir", "-p", os.path.dirname(REMOTE)],
                    env=self.dfs_env())
        log("running: %s" % qcmd(self.put_cmd))
        t = time.monotonic()
        run_checked("dfs put", self.put_cmd, env=self.dfs_env())
        self.put_secs = time.monotonic() - t
        import dfs.dask
        self.blocks = dfs.dask.blocks(REMOTE, uri=self.cluster.namenode)
        self.spread = {h: sum(1 for b in self.blocks if b.hosts and b.hosts[0] == h)
                       for h in HOSTS}
        log("%d blocks: %s" % (len(self.blocks), ", ".join(
            "%d on %s" % (n, h) for h, n in self.spread.items())))

    def start_dask(self, stealing):
        import dasklocal
        self.stop_dask()
        d = os.path.join(self.work, "dask-%s" % ("steal" if stealing else "nosteal"))
        log("starting a Dask scheduler and %d workers (work stealing %s)"
            % (len(HOSTS), "on" if stealing else "off"))
        self.dask = dasklocal.DaskCluster(d, HOSTS, env=self.py_env(), work_stealing=stealing)
        try:
            self.dask.start()
        except dasklocal.DaskError as e:
            raise Failure(str(e))
        # Untimed: each worker imports dfs.dask and connects, once.
        self.dask.client.run(warm_up, self.cluster.namenode, REMOTE)

    def stop_dask(self):
        if self.dask:
            self.dask.stop()
            self.dask = None

    def teardown(self, failed):
        self.stop_dask()
        if self.cluster:
            self.cluster.stop(failed)
        if not self.work:
            return
        try:
            os.unlink(self.local)
        except OSError:
            pass
        remove_work(self.work, failed)

    # -- measurements

    def counters(self):
        """(local + short-circuit, remote) bytes read from the datanodes,
        once each has sent a heartbeat since the call."""
        import json
        dfs = tool_binary("client", "dfs")
        t0 = time.monotonic()
        deadline = t0 + 30
        while True:
            p = run_checked("dfs report", [dfs, "report", "--json"], env=self.dfs_env(),
                            capture=True)
            r = json.loads(p.stdout)
            if all(d["last_heartbeat"] + 0.1 < time.monotonic() - t0 for d in r["datanodes"]):
                return (r["bytes_read_local"] + r["bytes_read_short_circuit"],
                        r["bytes_read_remote"])
            if time.monotonic() > deadline:
                raise Failure("no heartbeat from every datanode in 30 s")
            time.sleep(0.1)

    def dask_count(self, name, locality):
        import dfs.dask
        l0, r0 = self.counters()
        t = time.monotonic()
        futures = dfs.dask.read_blocks(REMOTE, count_lines, client=self.dask.client,
                                       uri=self.cluster.namenode, locality=locality)
        n = sum(self.dask.client.gather(futures))
        secs = time.monotonic() - t
        l1, r1 = self.counters()
        if n != self.lines:
            raise Failure("%s: counted %d lines, not %d" % (name, n, self.lines))
        share = (l1 - l0) / max(1, (l1 - l0) + (r1 - r0))
        log("%s: %.2f s, %.0f MB/s, local share %.3f" % (name, secs, self.size / secs / 1e6,
                                                         share))
        self.results.setdefault(name, []).append((secs, share))

    def run(self):
        a = self.a
        for _ in range(a.runs):
            secs, n = local_count(self.local)
            if n != self.lines:
                raise Failure("local count: %d lines, not %d" % (n, self.lines))
            self.results.setdefault("local process", []).append((secs, None))
        secs, n = wc_count(self.local)
        if n != self.lines:
            raise Failure("wc -l: %d lines, not %d" % (n, self.lines))
        self.results["wc -l"] = [(secs, None)]
        self.start_dask(False)
        for _ in range(a.runs):
            self.dask_count("locality on", True)
            self.dask_count("locality off", False)
        self.start_dask(True)
        for _ in range(a.runs):
            self.dask_count("locality on, work stealing on", True)
        self.stop_dask()

    def report(self):
        a = self.a
        out = ["## tools/bench dask", "", "Machine:"] + self.host + [
            "- Load average at the end: %.2f %.2f %.2f" % os.getloadavg(), "",
            "Command: `tools/bench dask -s %s -b %s -R %d`" % (a.size_arg, a.block_arg, a.runs),
            "",
            "File: %s (%d bytes), %d lines, put with replication 1 and %s blocks "
            "(`%s`, %.1f s): %d blocks, %s." % (
                human(self.size), self.size, self.lines, human(a.block),
                qcmd(["dfs"] + self.put_cmd[1:]), self.put_secs, len(self.blocks),
                ", ".join("%d on %s" % (n, h) for h, n in self.spread.items())),
            "Dask: a scheduler on 127.0.0.1 and one worker per datanode host "
            "(1 thread each), `dfs.dask.read_blocks(path, count_lines)`; the "
            "local share is (bytes_read_local + bytes_read_short_circuit) / all "
            "bytes read, from `dfs report`. Median of %d runs; all files in the "
            "page cache." % a.runs, "",
            "| Line count | Time (s) | MB/s | Local share | vs. local process |",
            "|---|---:|---:|---:|---:|"]
        base = statistics.median(s for s, _ in self.results["local process"])
        for name in ("locality on", "locality off", "locality on, work stealing on",
                     "local process", "wc -l"):
            runs = self.results.get(name)
            if not runs:
                continue
            secs = statistics.median(s for s, _ in runs)
            shares = [sh for _, sh in runs if sh is not None]
            share = ("%.3f" % statistics.median(shares) +
                     (" (%.2f-%.2f)" % (min(shares), max(shares)) if len(shares) > 1 else "")
                     if shares else "-")
            label = {"local process": "one local process (the limit)",
                     "wc -l": "`wc -l` (reference)"}.get(name, "Dask, " + name)
            out.append("| %s | %.2f | %.0f | %s | %.2f |" % (label, secs, self.size / secs / 1e6,
                                                            share, base / secs))
        out.append("")
        on = statistics.median(s for s, _ in self.results["locality on"])
        off = statistics.median(s for s, _ in self.results["locality off"])
        out.append("Locality on is %.2fx the speed of locality off." % (off / on))
        busiest = max(self.spread.values())
        out.append("With locality on, each task runs on its block's host: the busiest "
                   "host holds %d of the %d blocks (%.0f%%; evenly spread, %.0f%%), and "
                   "its worker sets the time.  On one machine a remote read is a "
                   "loopback read too, so locality cannot gain here what it saves on "
                   "a network; the local share shows where the bytes came from."
                   % (busiest, len(self.blocks), 100.0 * busiest / len(self.blocks),
                      100.0 / len(HOSTS)))
        for n in self.notes:
            out.append("- Note: " + n)
        print("\n".join(out))


def add_parser(sub):
    d = sub.add_parser(
        "dask", help="line count of a big text file by Dask tasks next to its blocks, "
        "locality on and off, beside one local process reading a local copy")
    d.add_argument("-s", dest="size_arg", metavar="SIZE", default="2G",
                   help="file size; K, M, G suffixes (default 2G)")
    d.add_argument("-b", dest="block_arg", metavar="BLOCKSIZE", default="64M",
                   help="block size (default 64M)")
    d.add_argument("-R", dest="runs", type=positive, default=3,
                   help="runs of each measurement; medians reported (default 3)")
    d.add_argument("-t", dest="tmp", metavar="DIR",
                   help="parent of the temp dir (default: $TMPDIR or /tmp)")
    return d


def check_args(parser, args):
    try:
        args.size = parse_size(args.size_arg)
        args.block = parse_size(args.block_arg)
    except Exception as e:          # argparse.ArgumentTypeError
        parser.error(str(e))
    if args.size < (4 << 20) or args.size > (1 << 40):
        parser.error("-s: from 4M to 1T")
    if args.block < (1 << 20):
        parser.error("-b: at least 1M")


def cmd_dask(args):
    b = DaskBench(args)

    def body():
        b.setup()
        b.run()
        b.report()
    guarded(body, b.teardown)
    return 0
