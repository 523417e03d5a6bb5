"""The data path through the shell and the C API, on one shared cluster.

One namenode and 4 datanodes serve the module (replication 3 leaves one
datanode out of every block, so "on the right datanodes" means something);
every test works under its own directory (`base`).  Files use 1 MiB blocks
(`put -b 1M`) and the default 16 KiB checksum chunk.

* round trips of every size around chunk and block boundaries, from and to
  files, stdin and stdout, byte-identical (SHA-256);
* each block's 3 replicas checked on the datanodes' disks: data bytes and
  the .meta file (header, one XXH3-64 per chunk);
* random preads through the C API, concurrent puts and gets;
* `locate --json`, `report --json`, `df`, `du` against what was written;
* a file is complete (full length, replicas reported) once put returns.
"""

import contextlib
import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (BUILD, SLOW, XXH3, blob, check_meta, dfs_env, run, sha256 as sha,
                      wait_for)

pytestmark = pytest.mark.cluster(datanodes=4,
                                 overrides=["datanode.heartbeat_ms=500"])

KiB, MiB = 1024, 1024 * 1024
CHUNK = 16 * KiB            # client.chunk_size default
PACKET = 64 * KiB           # client.packet_size default
BLOCK = MiB                 # put -b 1M
PREAD_CHECK = BUILD / "tests" / "dfs-pread-check"
HFLUSH_CHECK = BUILD / "tests" / "dfs-hflush-check"


@pytest.fixture
def c(module_cluster):
    return module_cluster


def put_bytes(c, tmp_path, remote, payload, *opts, env=None):
    """Write payload to a local file and `dfs put -b 1M` it to remote;
    a successful put says nothing on stderr (no terminal: no progress)."""
    src = tmp_path / ("src-%s" % sha(remote.encode())[:12])
    src.write_bytes(payload)
    rc, out, err = c.dfs("put", "-b", "1M", *opts, src, remote, env=env)
    assert rc == 0 and err == "", "put %s -> %d: %s" % (remote, rc, err)
    return src


# ------------------------------------------------------------ round trips

SIZES = [("0", 0), ("1", 1), ("chunk-1", CHUNK - 1), ("chunk", CHUNK),
         ("chunk+1", CHUNK + 1), ("packet+1", PACKET + 1),
         ("block-1", BLOCK - 1), ("block", BLOCK), ("block+1", BLOCK + 1),
         ("3.5blocks", 3 * BLOCK + BLOCK // 2)]


@pytest.mark.parametrize("size", [s for _, s in SIZES], ids=[i for i, _ in SIZES])
def test_round_trip(c, base, tmp_path, size):
    payload = blob(size)
    remote = base + "/f"
    put_bytes(c, tmp_path, remote, payload)
    st = c.stat(remote)
    assert (st["type"], st["length"], st["block_size"], st["replication"]) \
        == ("file", size, BLOCK, 3)
    back = tmp_path / "back"
    rc, out, err = c.dfs("get", remote, back)
    assert rc == 0 and out == "" and err == "", err
    assert sha(back.read_bytes()) == sha(payload)
    assert sha(c.ok("cat", remote, binary=True)) == sha(payload)
    blocks = c.locate(remote)["blocks"]
    assert len(blocks) == -(-size // BLOCK)


@pytest.mark.parametrize("size", [0, CHUNK + 1, 2 * BLOCK + 3])
def test_put_from_stdin_get_to_stdout(c, base, size):
    payload = blob(size, 1)
    remote = base + "/stdin"
    rc, out, err = c.dfs("put", "-b", "1M", "-", remote, input=payload)
    assert rc == 0 and err == "", err
    assert c.stat(remote)["length"] == size
    rc, out, err = c.dfs("get", remote, "-", binary=True)
    assert rc == 0 and err == "", err
    assert sha(out) == sha(payload)


def test_get_and_cat_several_files(c, base, tmp_path):
    """cat and `get ... -` concatenate in operand order; get into a
    directory keeps the names."""
    parts = [blob(n, 2) for n in (5, BLOCK + 7, 0, CHUNK)]
    for i, p in enumerate(parts):
        put_bytes(c, tmp_path, "%s/p%d" % (base, i), p)
    names = ["%s/p%d" % (base, i) for i in range(len(parts))]
    assert c.ok("cat", *names, binary=True) == b"".join(parts)
    assert c.ok("get", *reversed(names), "-", binary=True) == \
        b"".join(reversed(parts))
    out = tmp_path / "outdir"
    out.mkdir()
    c.ok("get", *names, out)
    for i, p in enumerate(parts):
        assert (out / ("p%d" % i)).read_bytes() == p


# ------------------------------------------------------- replicas on disk

@pytest.mark.parametrize("chunk", [None, 4 * KiB], ids=["chunk16K", "chunk4K"])
def test_replicas_on_datanode_disks(c, base, tmp_path, chunk):
    """Every block: 3 replicas on 3 distinct datanodes (and on no other),
    each a finalized data file equal to its slice of the source, with a
    .meta of the block's generation stamp holding a checksum per chunk."""
    assert XXH3 is not None, "libxxhash not found (a build dependency)"
    env = None
    if chunk:
        conf = tmp_path / "client.conf"
        conf.write_text("[client]\nchunk_size = %d\n" % chunk)
        env = dfs_env()
        env["DFS_CONF"] = str(conf)
    payload = blob(3 * BLOCK + BLOCK // 2, 3)
    remote = base + "/f"
    put_bytes(c, tmp_path, remote, payload, env=env)
    loc = c.locate(remote)
    by_port = c.datanode_by_port()
    assert len(loc["blocks"]) == 4
    for b in loc["blocks"]:
        want = payload[b["offset"]:b["offset"] + b["length"]]
        ports = [l["port"] for l in b["locations"]]
        assert len(ports) == 3 and len(set(ports)) == 3, b
        listed = {by_port[p] for p in ports}
        holders = {n: c.replica_files(n, b["id"]) for n in c.datanode_names()}
        on_disk = {n for n, files in holders.items() if files}
        assert on_disk == listed, "blk_%d: on disk at %s, namenode says %s" % (
            b["id"], sorted(on_disk), sorted(listed))
        for n in listed:
            files = holders[n]
            assert len(files) == 1, files
            data_file = files[0]
            assert data_file.parent.parent.parent.name == "finalized", data_file
            data = data_file.read_bytes()
            assert len(data) == b["length"]
            assert data == want, "%s differs from the source" % data_file
            metas = sorted(data_file.parent.glob("blk_%d_*.meta" % b["id"]))
            assert [m.name for m in metas] == ["blk_%d_%d.meta"
                                               % (b["id"], b["genstamp"])]
            check_meta(metas[0].read_bytes(), data, chunk or CHUNK)
    assert sha(c.ok("cat", remote, binary=True, env=env)) == sha(payload)


def test_no_replica_left_in_rbw(c, base, tmp_path):
    """After a put every replica is finalized: no rbw/ file of its blocks."""
    put_bytes(c, tmp_path, base + "/f", blob(2 * BLOCK + 1, 4))
    for b in c.locate(base + "/f")["blocks"]:
        for n in c.datanode_names():
            for d in c.data_dirs(n):
                assert not list(d.glob("rbw/blk_%d*" % b["id"])), (n, b)


def test_rm_deletes_replicas_on_disks(c, base, tmp_path):
    """rm of a file: the namenode tells each holder to delete, every replica
    of its blocks leaves the datanodes' disks, and the datanodes are still
    live afterwards.  (That a slow disk's deletes never delay a heartbeat is
    by construction -- they run on their own thread -- not timed here.)"""
    put_bytes(c, tmp_path, base + "/f", blob(5 * BLOCK + 3, 12))
    blocks = c.locate(base + "/f")["blocks"]
    ids = [b["id"] for b in blocks]
    assert len(ids) == 6
    by_port = c.datanode_by_port()
    for b in blocks:
        for l in b["locations"]:
            assert c.replica_files(by_port[l["port"]], b["id"]), (l, b)
    c.ok("rm", base + "/f")

    def left():
        return [(n, i) for n in c.datanode_names() for i in ids
                if c.replica_files(n, i)]
    wait_for(lambda: not left(), 15, "the replicas of a removed file to "
             "leave the disks")
    assert all(dn["state"] == "live" for dn in c.report()["datanodes"])


# ----------------------------------------------------------- the C API

def test_random_preads_through_c_api(c, base, tmp_path):
    payload = blob(3 * BLOCK + BLOCK // 2 + 123, 5)
    src = put_bytes(c, tmp_path, base + "/f", payload)
    try:
        rc, out, err = run([PREAD_CHECK, "-n", c.addr, "-i", "300", "-s", "7",
                            base + "/f", src], timeout=20 * SLOW)
    except subprocess.TimeoutExpired:
        rc = None
    if rc is None:
        pytest.fail("dfs-pread-check: 300 preads of a %d-byte file did not "
                    "finish in %.0f s" % (len(payload), 20 * SLOW))
    assert rc == 0, out + err
    assert "300 preads matched" in out, out


# ---------------------------------------------------------- concurrency

@contextlib.contextmanager
def hflush_check(c, remote, src, steps, block=BLOCK):
    """Run dfs-hflush-check writing src to remote in `steps` (see its
    header) with text pipes; yield its Popen, killed if still running."""
    p = subprocess.Popen([str(HFLUSH_CHECK), "-n", c.addr, "-b", str(block),
                          remote, str(src)] + steps,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    c.spawned.append(p)
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def go_on(p, expect):
    """Let a paused dfs-hflush-check go on: its next line must be expect."""
    p.stdin.write("\n")
    p.stdin.flush()
    assert p.stdout.readline() == expect, p.stderr.read()


def rbw_replicas(c):
    """{datanode: (data bytes, meta bytes)} of every replica being written."""
    found = {}
    for n in c.datanode_names():
        for d in c.data_dirs(n):
            for data_file in d.glob("rbw/blk_*[0-9]"):
                metas = list(data_file.parent.glob(data_file.name + "_*.meta"))
                assert len(metas) == 1, metas
                found.setdefault(n, []).append((data_file.read_bytes(),
                                                metas[0].read_bytes()))
    return found


@pytest.mark.parametrize("flush", ["f", "s"], ids=["hflush", "hsync"])
def test_hflush_puts_bytes_on_every_replica(c, base, tmp_path, flush):
    """After dfs_hflush / dfs_hsync returns, every datanode of the pipeline
    holds every byte written so far with its checksums, a partial chunk
    included; the next packet rewrites that chunk whole, a flush across a
    block end finalizes the block, and the closed file is byte-identical."""
    assert XXH3 is not None, "libxxhash not found (a build dependency)"
    payload = blob(BLOCK + BLOCK // 2 + 777, 13)
    src = tmp_path / "src"
    src.write_bytes(payload)
    steps = ["w1000", flush, "w20000", flush, flush,
             "w%d" % (BLOCK - 21000 + 300), flush, "w5", flush]
    flushes = 0
    with hflush_check(c, base + "/f", src, steps) as p:
        line = p.stdout.readline()
        while line != "closed\n":
            m = re.fullmatch(r"flushed (\d+)\n", line)
            assert m, line + p.stderr.read()
            off = int(m.group(1))
            want = payload[off - off % BLOCK:off]    # the open block's bytes
            reps = rbw_replicas(c)
            assert len(reps) == 3, "after a flush at %d: rbw replicas on %s" % (
                off, sorted(reps))
            for n, lst in reps.items():
                assert len(lst) == 1, (n, len(lst))
                data, meta = lst[0]
                assert len(data) == len(want), (n, off, len(data))
                assert data == want, "%s: replica differs after a flush at %d" % (
                    n, off)
                check_meta(meta, data, CHUNK)
            flushes += 1
            p.stdin.write("\n")
            p.stdin.flush()
            line = p.stdout.readline()
        assert p.wait(timeout=60) == 0, p.stderr.read()
    assert flushes == 5
    assert not rbw_replicas(c)
    assert sha(c.ok("cat", base + "/f", binary=True)) == sha(payload)
    assert [b["length"] for b in c.locate(base + "/f")["blocks"]] == [
        BLOCK, BLOCK // 2 + 777]


def all_replica_files(c):
    """Every replica data file (finalized or rbw) on every datanode."""
    found = set()
    for n in c.datanode_names():
        for d in c.data_dirs(n):
            found |= set(d.glob("finalized/subdir*/subdir*/blk_*[0-9]"))
            found |= set(d.glob("rbw/blk_*[0-9]"))
    return found


def test_abort_drops_file_and_replicas(c, base, tmp_path):
    """dfs_abort of a file 1.5 blocks into its write: the file is gone from
    the namespace, and every replica it had -- the finalized first block and
    the one being written -- leaves the datanodes' disks."""
    before = all_replica_files(c)
    src = tmp_path / "src"
    src.write_bytes(blob(BLOCK + BLOCK // 2, 14))
    with hflush_check(c, base + "/f", src,
                      ["w%d" % (BLOCK + BLOCK // 2), "f", "a"]) as p:
        assert p.stdout.readline() == "flushed %d\n" % (BLOCK + BLOCK // 2)
        written = all_replica_files(c) - before
        assert len(written) == 6, sorted(written)     # 2 blocks x 3 replicas
        go_on(p, "aborted\n")
        assert p.wait(timeout=60) == 0, p.stderr.read()
    assert not c.exists(base + "/f")
    wait_for(lambda: not (all_replica_files(c) & written), 15,
             "the aborted file's replicas to leave the disks")


def test_abort_spares_another_file_under_the_name(c, base, tmp_path):
    """A writer's file is removed and another file made under its name
    while it writes: its dfs_abort removes only its own file."""
    src = tmp_path / "src"
    src.write_bytes(blob(5000, 16))
    with hflush_check(c, base + "/f", src, ["w1000", "f", "a"]) as p:
        assert p.stdout.readline() == "flushed 1000\n"
        c.ok("rm", base + "/f")
        c.ok("touch", base + "/f")
        go_on(p, "aborted\n")
        assert p.wait(timeout=60) == 0, p.stderr.read()
    st = c.stat(base + "/f")
    assert (st["type"], st["length"]) == ("file", 0)    # the touched one


def test_abort_at_block_ends_leaves_no_replica(c, base, tmp_path):
    """dfs_abort right after blocks were finalized, 8 files at once: the
    abort's delete may reach the namenode before the datanodes report the
    last block's replicas; those late replicas are orphans the namenode
    has deleted too, so nothing new stays on any disk."""
    before = all_replica_files(c)
    src = tmp_path / "src"
    src.write_bytes(blob(2 * BLOCK, 15))
    procs = [subprocess.Popen([str(HFLUSH_CHECK), "-n", c.addr, "-b", str(BLOCK),
                               "%s/f%d" % (base, i), str(src), "w%d" % (2 * BLOCK),
                               "a"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for i in range(8)]
    c.spawned.extend(procs)
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert (p.returncode, out) == (0, "aborted\n"), err
    assert c.ok("ls", base) == ""
    wait_for(lambda: not (all_replica_files(c) - before), 20,
             "every replica of the aborted files to leave the disks")


def test_concurrent_puts_and_gets(c, base, tmp_path):
    """4 puts of new files run while 4 gets of older files run, then 4
    gets of the new ones at once: every byte right."""
    old = {"%s/old%d" % (base, i): blob(BLOCK + 1000 * i, 10 + i) for i in range(4)}
    new = {"%s/new%d" % (base, i): blob(2 * BLOCK + 777 * i, 20 + i) for i in range(4)}
    for remote, payload in old.items():
        put_bytes(c, tmp_path, remote, payload)
    srcs = {}
    for remote, payload in new.items():
        srcs[remote] = tmp_path / ("n-" + remote.rsplit("/", 1)[1])
        srcs[remote].write_bytes(payload)

    def put(remote):
        return c.dfs("put", "-b", "1M", srcs[remote], remote)

    def get(remote):
        dst = tmp_path / ("g-" + remote.rsplit("/", 1)[1])
        rc, out, err = c.dfs("get", remote, dst)
        return rc, err, dst.read_bytes() if rc == 0 else None

    with ThreadPoolExecutor(8) as ex:
        puts = {r: ex.submit(put, r) for r in new}
        gets = {r: ex.submit(get, r) for r in old}
        for r, f in puts.items():
            rc, out, err = f.result()
            assert rc == 0 and err == "", (r, err)
        for r, f in gets.items():
            rc, err, data = f.result()
            assert rc == 0, (r, err)
            assert sha(data) == sha(old[r]), r
    with ThreadPoolExecutor(4) as ex:
        for r, f in {r: ex.submit(get, r) for r in new}.items():
            rc, err, data = f.result()
            assert rc == 0, (r, err)
            assert sha(data) == sha(new[r]), r


# ----------------------------------------------------------- locate

LOCATE_KEYS = {"path", "length", "blocks"}
BLOCK_KEYS = {"offset", "length", "id", "genstamp", "locations"}
LOCATION_KEYS = {"host", "port", "rack"}


def check_locate(loc, path, length, block_size, replication):
    assert set(loc) == LOCATE_KEYS, loc.keys()
    assert loc["path"] == path and loc["length"] == length
    off = 0
    for i, b in enumerate(loc["blocks"]):
        assert set(b) == BLOCK_KEYS, b.keys()
        assert b["offset"] == off, "blocks not contiguous at %d" % i
        last = i == len(loc["blocks"]) - 1
        assert 0 < b["length"] <= block_size
        assert last or b["length"] == block_size
        assert isinstance(b["id"], int) and isinstance(b["genstamp"], int)
        assert len(b["locations"]) == replication
        for l in b["locations"]:
            assert set(l) == LOCATION_KEYS, l   # "corrupt" only when bad
            assert l["host"] == "127.0.0.1" and isinstance(l["port"], int)
            assert l["rack"] == "/default"
        off += b["length"]
    assert off == length
    ids = [b["id"] for b in loc["blocks"]]
    assert len(set(ids)) == len(ids)


def test_locate_json_structure(c, base, tmp_path):
    sizes = {"a": 3 * BLOCK + BLOCK // 2, "b": BLOCK, "empty": 0}
    for name, size in sizes.items():
        put_bytes(c, tmp_path, "%s/%s" % (base, name), blob(size, 6))
    paths = ["%s/%s" % (base, n) for n in sizes]
    out = c.ok("locate", "--json", *paths)
    lines = out.splitlines()
    assert len(lines) == len(paths), out
    for line, p in zip(lines, paths):
        loc = json.loads(line)
        check_locate(loc, p, sizes[p.rsplit("/", 1)[1]], BLOCK, 3)
    assert json.loads(lines[2])["blocks"] == []
    # canonical path in the output, as stat does
    assert c.locate(base + "//./a")["path"] == base + "/a"


def test_locate_plain_matches_json(c, base, tmp_path):
    put_bytes(c, tmp_path, base + "/f", blob(2 * BLOCK + 5, 7))
    loc = c.locate(base + "/f")
    out = c.ok("locate", base + "/f")
    lines = out.splitlines()
    assert lines[0] == "%s %d bytes, 3 blocks" % (base + "/f", 2 * BLOCK + 5)
    for i, b in enumerate(loc["blocks"]):
        m = re.match(r"\s+\[(\d+)\] offset=(\d+) length=(\d+) id=(\d+) "
                     r"genstamp=(\d+) locations: (.*)$", lines[1 + i])
        assert m, lines[1 + i]
        assert [int(x) for x in m.groups()[:5]] == [
            i, b["offset"], b["length"], b["id"], b["genstamp"]]
        hosts = sorted(re.findall(r"127\.0\.0\.1:(\d+)\(/default\)", m.group(6)))
        assert hosts == sorted(str(l["port"]) for l in b["locations"])


# --------------------------------------------------- report, df, du

def disk_usage(c, name):
    """(blocks, data bytes, meta bytes, files) in datanode name's
    finalized dirs."""
    blocks = data = meta = files = 0
    for d in c.data_dirs(name):
        for f in d.glob("finalized/subdir*/subdir*/blk_*"):
            files += 1
            if f.name.endswith(".meta"):
                meta += f.stat().st_size
            else:
                blocks += 1
                data += f.stat().st_size
    return blocks, data, meta, files


def test_report_json_matches_disks(c, base, tmp_path):
    put_bytes(c, tmp_path, base + "/f", blob(2 * BLOCK + 9, 8))
    by_port = c.datanode_by_port()
    seen = {}

    def consistent():
        r = c.report()
        dns = r["datanodes"]
        if len(dns) != c.datanodes:
            return False
        for dn in dns:
            n = by_port[dn["port"]]
            blocks, data, meta, files = disk_usage(c, n)
            if dn["blocks"] != blocks or not \
                    data <= dn["used"] <= data + meta + 4096 * files:
                seen["last"] = (n, dn, blocks, data, meta)
                return False
        return r
    r = wait_for(consistent, 15, "report --json to match the datanodes' "
                 "disks (%s)" % (seen,))
    keys = {"host", "port", "storage_id", "rack", "state", "capacity", "used",
            "remaining", "blocks", "last_heartbeat"}
    sids = set()
    for dn in r["datanodes"]:
        assert keys <= set(dn), dn
        assert dn["state"] == "live" and dn["host"] == "127.0.0.1"
        assert 0 < dn["capacity"] and dn["used"] <= dn["capacity"]
        assert 0 <= dn["remaining"] <= dn["capacity"]
        assert 0 <= dn["last_heartbeat"] < 10
        assert re.fullmatch(r"DS-[0-9a-f]{32}", dn["storage_id"]), dn
        sids.add(dn["storage_id"])
    assert len(sids) == c.datanodes
    assert r["capacity"] == sum(d["capacity"] for d in r["datanodes"])
    assert r["used"] == sum(d["used"] for d in r["datanodes"])
    assert r["safemode"] is False


def test_df_matches_report(c, base, tmp_path):
    put_bytes(c, tmp_path, base + "/f", blob(BLOCK + 3, 9))

    def same():
        r = c.report()
        lines = c.ok("df").splitlines()
        r2 = c.report()
        if r2["used"] != r["used"] or r2["capacity"] != r["capacity"]:
            return False            # a heartbeat in between: again
        if r["used"] == 0:
            return False            # no heartbeat since the put yet
        return r, lines
    r, lines = wait_for(same, 15, "a heartbeat counting the file, and a quiet moment for df")
    assert lines[0].split() == ["Filesystem", "Size", "Used", "Available", "Use%"]
    assert len(lines) == 2, lines
    fs, size, used, avail, pct = lines[1].split()
    assert fs == "dfs://" + c.addr
    assert int(size) == r["capacity"] and int(used) == r["used"]
    assert int(used) > 0 and 0 <= int(avail) <= int(size)
    assert pct == "%d%%" % round(int(used) * 100 / int(size))


def test_du_counts_length_and_replicas(c, base, tmp_path):
    files = {"r3": (3 * BLOCK + 11, 3), "r2": (BLOCK + 1, 2), "r1": (5, 1),
             "empty": (0, 3)}
    c.ok("mkdir", base + "/sub")
    for name, (size, repl) in files.items():
        put_bytes(c, tmp_path, "%s/sub/%s" % (base, name), blob(size, 11),
                  "-r", str(repl))
    length = sum(s for s, _ in files.values())
    space = sum(s * r for s, r in files.values())
    rows = [l.split() for l in c.ok("du", "-s", base, base + "/sub").splitlines()]
    assert rows == [[str(length), str(space), base],
                    [str(length), str(space), base + "/sub"]]
    rows = {l.split()[2]: l.split()[:2]
            for l in c.ok("du", base + "/sub").splitlines()}
    assert rows == {"%s/sub/%s" % (base, n): [str(s), str(s * r)]
                    for n, (s, r) in files.items()}
    rows = [l.split() for l in c.ok("du", "-s", base + "/sub/r2").splitlines()]
    assert rows == [[str(BLOCK + 1), str(2 * (BLOCK + 1)), base + "/sub/r2"]]
    # and the replicas really are there: r2's blocks have 2 locations
    for b in c.locate(base + "/sub/r2")["blocks"]:
        assert len(b["locations"]) == 2


# ------------------------------------------------ complete after put

def test_file_complete_when_put_returns(c, base, tmp_path):
    """Right after put: ls -l shows the full length, every block has at
    least the minimum (1) reported replica, a reader sees every byte."""
    payload = blob(3 * BLOCK + 17, 12)
    put_bytes(c, tmp_path, base + "/f", payload)
    line = c.ok("ls", "-l", base + "/f").strip().splitlines()[-1].split()
    assert line[0] == "-rw-r--r--" and line[1] == "3"
    assert int(line[4]) == len(payload) and line[-1] == base + "/f"
    loc = c.locate(base + "/f")
    assert loc["length"] == len(payload)
    assert all(b["locations"] for b in loc["blocks"])
    assert sha(c.ok("cat", base + "/f", binary=True)) == sha(payload)


@pytest.mark.cluster(datanodes=3, overrides=["namenode.min_replication=3"])
def test_complete_waits_for_min_replication(cluster, tmp_path):
    """With min_replication 3 the file is complete only once every block
    has 3 reported replicas: locate right after put shows all of them."""
    payload = blob(3 * BLOCK + 1, 13)
    put_bytes(cluster, tmp_path, "/f", payload)
    line = cluster.ok("ls", "-l", "/f").strip().split()
    assert int(line[4]) == len(payload)
    loc = cluster.locate("/f")
    assert loc["length"] == len(payload)
    for b in loc["blocks"]:
        assert len({l["port"] for l in b["locations"]}) == 3, b
