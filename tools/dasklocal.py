"""tools/dasklocal.py - a Dask distributed cluster on this machine for the
tests (tests/python/test_dask.py) and `tools/bench dask`: one scheduler and
one worker per given host address (e.g. the datanodes' 127.0.0.2, ...),
each a process started here, found again by its PID and stopped by it.

    with DaskCluster(workdir, ["127.0.0.2", "127.0.0.3"]) as dc:
        client = dc.client          # a distributed.Client, workers ready
        ...

The scheduler listens on scheduler_host at a port it picks (--port 0) and
writes its address to WORKDIR/scheduler.json (--scheduler-file), which the
workers and the client read.  Each worker serves on its host's address
(--host), with nthreads threads, no nanny (the PID is the worker) and no
memory limit; its files go under WORKDIR/worker-N, logs to WORKDIR/*.log.
The processes get env (default: this process's environment; it must carry
what the tasks need, e.g. PYTHONPATH, DFS_LIBDFS, LD_PRELOAD).
work_stealing=False turns the scheduler's work stealing off
(distributed.scheduler.work-stealing): it moves tasks queued on a busy
worker to an idle one, on another host, so it trades the locality of
tasks with loose restrictions (dfs.dask's) for balance.
"""

import os
import signal
import subprocess
import time

PYTHON = "/usr/bin/python3"
STOP_SECS = 10.0


class DaskError(Exception):
    pass


class DaskCluster:
    def __init__(self, workdir, worker_hosts, scheduler_host="127.0.0.1",
                 nthreads=1, env=None, timeout=60.0, work_stealing=True):
        self.dir = os.path.abspath(workdir)
        self.hosts = list(worker_hosts)
        self.scheduler_host = scheduler_host
        self.nthreads = nthreads
        self.env = dict(os.environ if env is None else env)
        self.env["DASK_DISTRIBUTED__SCHEDULER__WORK_STEALING"] = \
            "True" if work_stealing else "False"
        self.timeout = timeout
        self.procs = []             # (name, Popen), scheduler first
        self.client = None
        self.scheduler_file = os.path.join(self.dir, "scheduler.json")

    def _spawn(self, name, args):
        logf = open(os.path.join(self.dir, name + ".log"), "ab")
        try:
            p = subprocess.Popen([PYTHON, "-m"] + args, stdin=subprocess.DEVNULL,
                                 stdout=logf, stderr=subprocess.STDOUT,
                                 env=self.env, cwd=self.dir,
                                 start_new_session=True)
        finally:
            logf.close()
        self.procs.append((name, p))
        return p

    def log_tail(self, name, lines=20):
        try:
            with open(os.path.join(self.dir, name + ".log"), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)\n"

    def _check_alive(self):
        for name, p in self.procs:
            if p.poll() is not None:
                raise DaskError("dask %s exited with status %s:\n%s"
                                % (name, p.returncode, self.log_tail(name)))

    def start(self):
        """Start the scheduler and the workers; returns once every worker
        has joined (self.client connected), else raises DaskError (what
        started is stopped)."""
        os.makedirs(self.dir, exist_ok=True)
        try:
            os.unlink(self.scheduler_file)
        except OSError:
            pass
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        self._spawn("scheduler", [
            "distributed.cli.dask_scheduler", "--host", self.scheduler_host,
            "--port", "0", "--scheduler-file", self.scheduler_file,
            "--no-dashboard"])
        deadline = time.monotonic() + self.timeout
        while not os.path.exists(self.scheduler_file):
            self._check_alive()
            if time.monotonic() > deadline:
                raise DaskError("the dask scheduler wrote no %s in %.0f s:\n%s"
                                % (self.scheduler_file, self.timeout,
                                   self.log_tail("scheduler")))
            time.sleep(0.05)
        for i, host in enumerate(self.hosts, 1):
            wdir = os.path.join(self.dir, "worker-%d" % i)
            os.makedirs(wdir, exist_ok=True)
            self._spawn("worker-%d" % i, [
                "distributed.cli.dask_worker", "--scheduler-file",
                self.scheduler_file, "--host", host, "--nthreads",
                str(self.nthreads), "--no-nanny", "--no-dashboard",
                "--memory-limit", "0", "--name", "worker-%d" % i,
                "--local-directory", wdir])
        from distributed import Client
        self.client = Client(scheduler_file=self.scheduler_file,
                             timeout=max(1.0, deadline - time.monotonic()))
        while True:
            self._check_alive()
            left = deadline - time.monotonic()
            if left <= 0:
                raise DaskError("%d of %d dask workers joined in %.0f s"
                                % (len(self.workers()), len(self.hosts),
                                   self.timeout))
            try:
                self.client.wait_for_workers(len(self.hosts), timeout=min(1.0, left))
                break
            except TimeoutError:
                continue

    def workers(self):
        """{worker address: name} of the workers the scheduler knows."""
        info = self.client.scheduler_info()["workers"]
        return {addr: w.get("name") for addr, w in info.items()}

    def stop(self):
        """Close the client; SIGTERM every process started here (workers
        first), SIGKILL what still runs after STOP_SECS."""
        if self.client is not None:
            try:
                self.client.close(timeout=5)
            except Exception:       # noqa: BLE001 - the processes go anyway
                pass
            self.client = None
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECS
        for _, p in reversed(self.procs):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
