"""The fsspec file system of dfs:// URLs (dfs.filesystem.DfsFileSystem):
registration (on import and by the entry point in a fresh interpreter),
URLs, listings, info, ranges, files, and the generic operations fsspec
users call."""

import datetime
import gzip
import os
import pickle
import subprocess
import time

import fsspec
import pytest
from fsspec.core import url_to_fs
from fsspec.registry import known_implementations

from conftest import PY_BUILD, PY_SRC, SMALL_CLUSTER, blob, host_port

import dfs
from dfs.filesystem import DfsFile, DfsFileSystem

pytestmark = SMALL_CLUSTER


# --------------------------------------------------------- registration

def test_registered_on_import_for_dfs_only():
    assert fsspec.get_filesystem_class("dfs") is DfsFileSystem
    assert DfsFileSystem.protocol == "dfs"
    # fsspec's own hdfs protocol (pyarrow) is not taken over.
    assert known_implementations["hdfs"]["class"] != \
        "dfs.filesystem.DfsFileSystem"
    assert fsspec.registry.get("hdfs") is not DfsFileSystem


def fresh_python(code, *args, pythonpath=None):
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    r = subprocess.run(["/usr/bin/python3", "-c", code] + list(args),
                       capture_output=True, text=True, env=env, timeout=120)
    return r


ENTRY_POINT_CODE = """
import sys
import fsspec
assert "dfs" not in sys.modules, "dfs imported before fsspec.open"
with fsspec.open(sys.argv[1], "rb") as f:
    data = f.read()
fs, path = fsspec.core.url_to_fs(sys.argv[1])
print(len(data), type(fs).__module__, type(fs).__name__, path)
"""


def test_entry_point_opens_dfs_urls_without_importing_dfs(url, client, base):
    p = base + "/ep.bin"
    data = blob(70000, 1)
    with client.open(p, "wb") as f:
        f.write(data)
    r = fresh_python(ENTRY_POINT_CODE, url + p)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["70000", "dfs.filesystem", "DfsFileSystem", p]
    # Without the dist-info (only the package's source on the path) fsspec
    # does not know the protocol: the entry point is what registered it.
    r = fresh_python(ENTRY_POINT_CODE, url + p, pythonpath=str(PY_SRC))
    assert r.returncode != 0
    assert "Protocol not known: dfs" in r.stderr, r.stderr
    ep = (PY_BUILD / ("dfs-%s.dist-info" % dfs.__version__) /
          "entry_points.txt").read_text()
    assert ep == "[fsspec.specs]\ndfs = dfs.filesystem:DfsFileSystem\n"


# ----------------------------------------------------------------- URLs

def test_urls_paths_and_instances(module_cluster, url, fs):
    host, port = host_port(module_cluster.addr)
    s = DfsFileSystem._strip_protocol
    assert s(url + "/a/b/") == "/a/b"
    assert s(url) == "/" and s(url + "/") == "/"
    assert s("dfs:///a/b") == "/a/b" and s("/a/b") == "/a/b"
    assert s([url + "/x", "/y/"]) == ["/x", "/y"]
    k = DfsFileSystem._get_kwargs_from_urls
    assert k(url + "/a") == {"host": host, "port": port}
    assert k("dfs://bob@nn.example:9000/a") == {"host": "nn.example",
                                                 "port": 9000, "user": "bob"}
    assert k("dfs://nn.example/a") == {"host": "nn.example"}
    assert k("dfs:///a") == {} and k("/a") == {}
    assert fs.unstrip_protocol("/a/b") == url + "/a/b"
    f2, path = url_to_fs(url + "/some/where")
    assert f2 is fs and path == "/some/where"   # cached per host and port
    assert fsspec.filesystem("dfs", host=host, port=port) is fs
    other = fsspec.filesystem("dfs", host=host, port=port, user="carol")
    assert other is not fs and other.client.user == "carol"
    # Its URLs name the user, so they open as that user again.
    assert other.unstrip_protocol("/a") == "dfs://carol@%s:%d/a" % (host, port)
    f4, path = url_to_fs(other.unstrip_protocol("/a"))
    assert f4.client.user == "carol" and path == "/a"
    # dfs:/// (no host): the environment's default namenode.
    os.environ["DFS_NAMENODE"] = module_cluster.addr
    try:
        f3, path = url_to_fs("dfs:///x")
        assert f3.client.uri == url and path == "/x"
    finally:
        del os.environ["DFS_NAMENODE"]
    # Pickled (as Dask ships it), it comes back as the same instance.
    assert pickle.loads(pickle.dumps(fs)) is fs
    with pytest.raises(ValueError):
        DfsFileSystem(port=port)


def in_forked_child(fn):
    """fn()'s repr, or its exception's type name, computed in a child
    forked from this process (which outlives it untouched)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                 # the child
        try:
            try:
                out = repr(fn())
            except BaseException as e:          # noqa: BLE001 - reported
                out = type(e).__name__ + ": " + str(e)
            os.write(w, out.encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    assert os.waitpid(pid, 0)[1] == 0
    return out


def test_fork_child_gets_its_own_connection(module_cluster, fs, base):
    """A forked child (multiprocessing's fork, a DataLoader's workers)
    never talks through the parent's sockets: a Client from the parent
    refuses to work there, the file system connects again."""
    fs.pipe_file(base + "/x", b"forked")
    c = dfs.connect(module_cluster.addr)
    r = c.open(base + "/x", buffering=0)
    out = in_forked_child(lambda: c.stat("/"))
    assert out.startswith("RuntimeError: dfs.Client connected in process")
    assert in_forked_child(lambda: r.read()).startswith("RuntimeError")
    assert in_forked_child(lambda: (c.close(), c.closed)) == "(None, True)"
    assert in_forked_child(lambda: repr(c)) == repr(
        "<dfs.Client dfs://%s user=%s of process %d>"
        % (module_cluster.addr, c.user, os.getpid()))
    parent = fs.client
    assert in_forked_child(lambda: (fs.client is not parent,
                                    fs.cat_file(base + "/x"))) == \
        "(True, b'forked')"
    assert r.read() == b"forked" and c.stat("/").is_dir()   # untouched
    c.close()
    assert fs.client is parent


# ------------------------------------------------------------- listings

def test_ls_info_exists(fs, client, base):
    client.mkdir(base + "/d")
    fs.pipe_file(base + "/f.txt", b"hello")
    entries = fs.ls(base)
    assert [(e["name"], e["type"], e["size"]) for e in entries] == [
        (base + "/d", "directory", 0), (base + "/f.txt", "file", 5)]
    assert fs.ls(base, detail=False) == [base + "/d", base + "/f.txt"]
    assert fs.ls("dfs://%s%s/" % (fs._netloc, base), detail=False) == \
        [base + "/d", base + "/f.txt"]
    assert fs.ls(base + "/d") == []
    # A file lists as itself (fsspec's convention).
    assert fs.ls(base + "/f.txt", detail=False) == [base + "/f.txt"]
    with pytest.raises(FileNotFoundError):
        fs.ls(base + "/missing")
    info = fs.info(base + "/f.txt")
    assert info == entries[1]
    st = client.stat(base + "/f.txt")
    assert info == {"name": base + "/f.txt", "size": 5, "type": "file",
                    "mtime": st.mtime, "atime": st.atime, "owner": st.owner,
                    "group": st.group, "mode": 0o644, "replication": 1,
                    "block_size": st.block_size, "inode": st.inode,
                    "complete": True}
    assert fs.info(base + "/d")["type"] == "directory"
    with pytest.raises(FileNotFoundError):
        fs.info(base + "/missing")
    assert fs.exists(base + "/f.txt") and fs.exists(base + "/d")
    assert not fs.exists(base + "/missing")
    assert not fs.exists(base + "/f.txt/below")
    assert not fs.exists("/../x") and not fs.isdir("/../x")  # as fsspec's
    assert fs.isfile(base + "/f.txt") and not fs.isfile(base + "/d")
    assert fs.isdir(base + "/d") and not fs.isdir(base + "/missing")
    assert fs.size(base + "/f.txt") == 5


def make_tree(fs, base):
    files = {"a.csv": b"1", "b.csv": b"22", "c.txt": b"333",
             "sub/d.csv": b"4444", "sub/deeper/e.csv": b"55555",
             "sub/f1.txt": b"666666"}
    for name, data in files.items():
        fs.pipe_file(base + "/" + name, data)
    return files


def test_find_walk_glob_du(fs, base, tmp_path):
    files = make_tree(fs, base)
    assert fs.find(base) == sorted(base + "/" + n for n in files)
    assert fs.find(base, withdirs=True) == sorted(
        [base + "/" + n for n in files] + [base + "/sub", base + "/sub/deeper"])
    assert fs.find(base, maxdepth=1) == [base + "/a.csv", base + "/b.csv",
                                         base + "/c.txt"]
    walked = list(fs.walk(base))
    assert walked[0] == (base, ["sub"], ["a.csv", "b.csv", "c.txt"])
    assert fs.glob(base + "/*.csv") == [base + "/a.csv", base + "/b.csv"]
    assert fs.glob(base + "/?.txt") == [base + "/c.txt"]
    assert fs.glob(base + "/[ab].csv") == [base + "/a.csv", base + "/b.csv"]
    assert fs.glob(base + "/sub/f[0-9].txt") == [base + "/sub/f1.txt"]
    assert fs.glob(base + "/nothing*") == []
    # Every pattern as fsspec's local file system globs the same tree.
    local = fsspec.filesystem("file", auto_mkdir=True)
    root = str(tmp_path)
    for name, data in files.items():
        local.pipe_file(root + "/" + name, data)
    for pat in ("*", "*.csv", "**/*.csv", "**", "sub/*", "sub/**",
                "*/*.csv", "s?b/d*", "[a-b]*", "sub", "missing*"):
        want = [p[len(root):] for p in local.glob(root + "/" + pat)]
        assert [p[len(base):] for p in fs.glob(base + "/" + pat)] == want, pat
    # A trailing "/": the directory's entries (fsspec's generic glob; the
    # local file system strips the "/" first).
    assert fs.glob(base + "/sub/") == fs.ls(base + "/sub", detail=False)
    assert fs.glob("dfs://%s%s/*.txt" % (fs._netloc, base)) == \
        [base + "/c.txt"]
    total = sum(len(v) for v in files.values())
    assert fs.du(base) == total
    assert fs.du(base, total=False) == {base + "/" + n: len(v)
                                        for n, v in files.items()}
    assert fs.du(base + "/sub", maxdepth=1) == 10
    assert fs.du(base + "/a.csv") == 1
    assert fs.du(base + "/missing") == 0        # as fsspec's generic du


# --------------------------------------------------------------- ranges

def test_cat_file_ranges_like_python_slices_and_the_local_fs(fs, base,
                                                            tmp_path):
    data = blob(100000, 2)
    p = base + "/r.bin"
    fs.pipe_file(p, data)
    local = fsspec.filesystem("file")
    lp = str(tmp_path / "r.bin")
    local.pipe_file(lp, data)
    n = len(data)
    for start, end in [(None, None), (0, 10), (10, None), (None, 10),
                       (-10, None), (-10, -5), (5, -5), (n - 3, n + 100),
                       (99990, 200000), (n, None), (n + 5, None),
                       (n + 5, n + 10), (-n - 50, 20), (0, n), (70000, 70001),
                       (65530, 65540)]:
        got = fs.cat_file(p, start, end)
        assert got == data[start:end], (start, end)
        assert got == local.cat_file(lp, start, end), (start, end)
    assert fs.cat_file(p, 10, 5) == b""         # an empty slice
    assert fs.read_bytes(p, 3, 6) == data[3:6]
    assert fs.head(p, 100) == data[:100]
    assert fs.tail(p, 100) == data[-100:]
    assert fs.cat(p) == data
    assert fs.cat([p, p]) == {p: data}
    with pytest.raises(FileNotFoundError):
        fs.cat_file(base + "/missing")
    with pytest.raises(IsADirectoryError):
        fs.cat_file(base)
    assert fs.cat_ranges([p, p], [0, -3], [4, None]) == [data[:4], data[-3:]]


def test_read_block_with_delimiter(fs, base):
    lines = b"".join(b"row %d\n" % i for i in range(1000))
    p = base + "/lines.txt"
    fs.pipe_file(p, lines)
    a = fs.read_block(p, 0, 3000, delimiter=b"\n")
    b = fs.read_block(p, 3000, len(lines), delimiter=b"\n")
    assert a + b == lines and a.endswith(b"\n")


# ---------------------------------------------------------------- files

def test_open_read_write_append(fs, client, base):
    p = base + "/f.bin"
    data = blob(300000, 3)
    with fs.open(p, "wb") as f:
        assert isinstance(f, DfsFile)
        assert f.writable() and not f.readable()
        f.write(data[:1000])
        f.flush()                                # hflush: visible now
        st = client.stat(p)
        assert not st.complete and st.size == 1000
        assert client.open(p).read() == data[:1000]
        f.write(data[1000:])
        assert f.tell() == len(data)
    assert client.stat(p).complete
    with fs.open(p, "rb") as f:
        assert isinstance(f, DfsFile) and f.size == len(data)
        assert f.read(10) == data[:10]
        f.seek(-20, 2)
        assert f.read() == data[-20:]
        f.seek(150000)
        buf = bytearray(100)
        assert f.readinto(buf) == 100 and bytes(buf) == data[150000:150100]
        assert f.info()["size"] == len(data)
    with fs.open(p, "ab") as f:
        assert f.tell() == len(data)
        f.write(b"tail")
    assert fs.cat_file(p) == data + b"tail"
    with fs.open(base + "/new/dir/t.txt", "w") as f:   # parents created
        f.write("text\nlines\n")
    with fs.open(base + "/new/dir/t.txt", "r") as f:
        assert list(f) == ["text\n", "lines\n"]
    with fs.open(base + "/z.gz", "wb", compression="gzip") as f:
        f.write(b"compressed " * 100)
    assert gzip.decompress(fs.cat_file(base + "/z.gz")) == b"compressed " * 100
    with fsspec.open("dfs://%s%s/z.gz" % (fs._netloc, base), "rb",
                     compression="infer") as f:
        assert f.read() == b"compressed " * 100
    with pytest.raises(FileNotFoundError):
        fs.open(base + "/missing", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open(base, "rb")
    with pytest.raises(NotImplementedError):
        fs.open(p, "r+b")


UNPICKLE_AND_READ = """
import pickle, sys
f = pickle.loads(sys.stdin.buffer.read())
print(f.tell(), f.read(5).decode(), type(f).__name__)
"""


def test_pickled_reader_reopens_writer_and_handles_refuse(fs, client, base):
    """A DfsFile reader pickles (xarray/Dask ship open files) and opens
    again where it is unpickled, at its position, as fsspec's local files
    do; a writer does not pickle; nor does anything holding a libdfs
    handle (pickled, it would be freed twice)."""
    p = base + "/pk.txt"
    fs.pipe_file(p, b"0123456789abcdef")
    with fs.open(p, "rb", cache_type="bytes") as f:
        f.seek(10)
        blob_ = pickle.dumps(f)
        g = pickle.loads(blob_)
        assert g is not f and g.tell() == 10 and g.read() == b"abcdef"
        assert f.read(2) == b"ab"                # the original is its own
        g.close()
    r = subprocess.run(["/usr/bin/python3", "-c", UNPICKLE_AND_READ],
                       input=blob_, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split() == ["10", "abcde", "DfsFile"]
    with fs.open(base + "/pk-w", "wb") as w:
        with pytest.raises(ValueError, match="open for writing"):
            pickle.dumps(w)
    raw = client.open_raw(p)
    with client.scandir(base) as it:
        for obj in (client, raw, it):
            with pytest.raises(TypeError, match="holds a libdfs handle"):
                pickle.dumps(obj)
    raw.close()


def test_write_options_replication_and_block_size(fs, client, base):
    p = base + "/opts.bin"
    with fs.open(p, "wb", dfs_block_size=65536, replication=1) as f:
        f.write(blob(140000, 4))
    st = client.stat(p)
    assert st.block_size == 65536 and st.replication == 1
    assert len(client.block_locations(p)) == 3
    fs.pipe_file(base + "/piped", b"x" * 70000, dfs_block_size=65536)
    assert len(client.block_locations(base + "/piped")) == 2


def test_transaction_commits_or_discards(fs, base):
    p = base + "/tx.txt"
    with fs.transaction:
        with fs.open(p, "wb") as f:
            f.write(b"committed")
        assert not fs.exists(p)                  # not until the commit
    assert fs.cat_file(p) == b"committed"
    with pytest.raises(RuntimeError):
        with fs.transaction:
            with fs.open(p, "wb") as f:
                f.write(b"discarded")
            raise RuntimeError("abandon")
    assert fs.cat_file(p) == b"committed"
    assert fs.ls(base, detail=False) == [p]      # no temporary file left


def test_pipe_put_get(fs, base, tmp_path):
    fs.pipe({base + "/p1": b"one", base + "/p2": b"two"})
    assert fs.cat([base + "/p1", base + "/p2"]) == {base + "/p1": b"one",
                                                    base + "/p2": b"two"}
    src = tmp_path / "src"
    (src / "nested").mkdir(parents=True)
    (src / "x.bin").write_bytes(blob(200000, 5))
    (src / "nested" / "y.txt").write_bytes(b"why")
    fs.put_file(str(src / "x.bin"), base + "/up/x.bin")
    assert fs.cat_file(base + "/up/x.bin") == blob(200000, 5)
    fs.put(str(src), base + "/tree", recursive=True)
    assert sorted(fs.find(base + "/tree")) == [base + "/tree/nested/y.txt",
                                              base + "/tree/x.bin"]
    dst = tmp_path / "dst"
    fs.get(base + "/tree", str(dst), recursive=True)
    assert (dst / "x.bin").read_bytes() == blob(200000, 5)
    assert (dst / "nested" / "y.txt").read_bytes() == b"why"
    fs.get_file(base + "/p1", str(tmp_path / "p1"))
    assert (tmp_path / "p1").read_bytes() == b"one"


def test_mkdir_makedirs_rm_mv_copy(fs, base):
    fs.mkdir(base + "/a/b/c")                    # create_parents=True
    assert fs.isdir(base + "/a/b/c")
    with pytest.raises(FileExistsError):
        fs.mkdir(base + "/a/b/c")
    with pytest.raises(FileNotFoundError):
        fs.mkdir(base + "/x/y", create_parents=False)
    fs.mkdir(base + "/x", create_parents=False)
    fs.makedirs(base + "/x/y/z")
    with pytest.raises(FileExistsError):
        fs.makedirs(base + "/x/y/z")
    fs.makedirs(base + "/x/y/z", exist_ok=True)
    fs.pipe_file(base + "/a/b/c/f", b"data")
    with pytest.raises(OSError) as ei:
        fs.rm(base + "/a")                        # not empty
    assert ei.value.errno == 39
    fs.rmdir(base + "/x/y/z")
    assert not fs.exists(base + "/x/y/z")
    with pytest.raises(NotADirectoryError):
        fs.rmdir(base + "/a/b/c/f")
    fs.mv(base + "/a/b/c/f", base + "/g")
    assert fs.cat_file(base + "/g") == b"data"
    assert not fs.exists(base + "/a/b/c/f")
    fs.mv(base + "/a", base + "/a2")             # a directory
    assert fs.isdir(base + "/a2/b/c") and not fs.exists(base + "/a")
    fs.pipe_file(base + "/h", b"other")
    fs.mv(base + "/h", base + "/g")              # replaces, as rename(2)
    assert fs.cat_file(base + "/g") == b"other"
    fs.pipe({base + "/m1.log": b"1", base + "/m2.log": b"2"})
    fs.mv(base + "/m*.log", base + "/x/")        # a glob into a directory
    assert fs.ls(base + "/x", detail=False) == [base + "/x/m1.log",
                                                base + "/x/m2.log", base + "/x/y"]
    fs.copy(base + "/g", base + "/g-copy")
    assert fs.cat_file(base + "/g-copy") == b"other"
    fs.copy(base + "/x", base + "/x-copy", recursive=True)
    assert fs.cat_file(base + "/x-copy/m2.log") == b"2"
    assert fs.isdir(base + "/x-copy/y")
    fs.rm(base + "/x-copy/*.log")                # a glob
    assert fs.ls(base + "/x-copy", detail=False) == [base + "/x-copy/y"]
    fs.rm(base + "/a2", recursive=True)
    assert not fs.exists(base + "/a2")
    fs.rm([base + "/g", base + "/g-copy"])
    with pytest.raises(FileNotFoundError):
        fs.rm(base + "/g")
    fs.rm_file(base + "/x/m1.log")
    fs.rm(base + "/x", recursive=True, maxdepth=3)  # fsspec's generic way
    assert sorted(fs.ls(base, detail=False)) == [base + "/x-copy"]


def test_checksum_ukey_modified_created_touch(fs, client, base):
    data = blob(150000, 6)
    fs.pipe_file(base + "/a", data, dfs_block_size=65536)
    fs.pipe_file(base + "/b", data)              # another block size
    assert fs.checksum(base + "/a") == fs.checksum(base + "/b")
    fs.pipe_file(base + "/c", data[:-1] + b"!")
    assert fs.checksum(base + "/c") != fs.checksum(base + "/a")
    assert isinstance(fs.checksum(base), int)   # a directory: by its info
    k1 = fs.ukey(base + "/a")
    fs.cat_file(base + "/a")                     # reading changes nothing
    assert fs.ukey(base + "/a") == k1
    m1 = fs.modified(base + "/a")
    assert isinstance(m1, datetime.datetime) and m1.tzinfo is not None
    assert abs(m1.timestamp() - time.time()) < 300
    assert m1.timestamp() == client.stat(base + "/a").mtime
    client.utime(base + "/a", mtime=m1.timestamp() - 100)
    assert fs.ukey(base + "/a") != k1
    assert fs.modified(base + "/a") < m1
    fs.touch(base + "/a", truncate=False)        # mtime now, bytes kept
    assert fs.modified(base + "/a") > m1 - datetime.timedelta(seconds=1)
    assert fs.cat_file(base + "/a") == data
    fs.touch(base + "/a")                        # truncates
    assert fs.size(base + "/a") == 0
    fs.touch(base + "/new")
    assert fs.size(base + "/new") == 0
    with pytest.raises(NotImplementedError, match="creation time"):
        fs.created(base + "/a")
    with pytest.raises(FileNotFoundError):
        fs.modified(base + "/missing")
