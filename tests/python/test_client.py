"""dfs.connect() and the Client's namespace calls against a live cluster;
every DFS_ERR_* code as its Python exception with the library's message."""

import errno
import os
import subprocess
import time

import pytest

from conftest import SMALL_CLUSTER, blob, host_port

import dfs
from dfs import _lib, errors

pytestmark = SMALL_CLUSTER


# ---------------------------------------------------------- connecting

def test_connect_forms_of_the_address(module_cluster):
    host, port = host_port(module_cluster.addr)
    for uri in (module_cluster.addr, "dfs://" + module_cluster.addr,
                "hdfs://%s/" % module_cluster.addr):
        with dfs.connect(uri) as c:
            assert c.uri == "dfs://" + module_cluster.addr
            assert c.stat("/").is_dir()
    with dfs.connect(module_cluster.addr, user="alice") as c:
        assert c.user == "alice"
        assert c.getcwd() == "/user/alice"
        assert c.resolve("x/../y") == "/user/alice/y"
        c.chdir("/tmp/here")
        assert c.getcwd() == "/tmp/here"
        assert repr(c) == "<dfs.Client dfs://%s user=alice>" % module_cluster.addr
    assert repr(c) == "<dfs.Client closed>"


def test_connect_default_from_the_environment(module_cluster, monkeypatch,
                                              tmp_path):
    monkeypatch.setenv("DFS_NAMENODE", module_cluster.addr)
    monkeypatch.setenv("DFS_USER", "envuser")
    with dfs.connect() as c:
        assert c.uri == "dfs://" + module_cluster.addr
        assert c.user == "envuser"
    with dfs.connect("default") as c:
        assert c.uri == "dfs://" + module_cluster.addr
    monkeypatch.delenv("DFS_NAMENODE")
    conf = tmp_path / "client.conf"
    conf.write_text("[client]\nnamenode = dfs://%s\nreplication = 1\n"
                    % module_cluster.addr)
    with dfs.connect(conf=str(conf)) as c:
        assert c.uri == "dfs://" + module_cluster.addr


def test_conf_file_keeps_the_environments_namenode(module_cluster, base, monkeypatch,
                                                  tmp_path):
    """conf= stands in for $DFS_CONF: a file that names no namenode leaves
    $DFS_NAMENODE's (not the built-in default), and its own keys apply."""
    monkeypatch.setenv("DFS_NAMENODE", module_cluster.addr)
    conf = tmp_path / "nosc.conf"
    conf.write_text("[client]\nshort_circuit = 0\n")
    with dfs.connect(module_cluster.addr) as c:
        with c.open(base + "/conf.bin", "wb") as f:
            f.write(b"x" * 100000)
    with dfs.connect(conf=str(conf)) as c:
        assert c.uri == "dfs://" + module_cluster.addr
        with c.open(base + "/conf.bin", buffering=0) as f:
            assert f.read() == b"x" * 100000
            assert f.read_stats().short_circuit_bytes_read == 0
    with dfs.connect() as c:                    # the default: short-circuit
        with c.open(base + "/conf.bin", buffering=0) as f:
            assert f.read() == b"x" * 100000
            assert f.read_stats().short_circuit_bytes_read == 100000


def test_options_reach_new_files(module_cluster, base):
    with dfs.connect(module_cluster.addr, block_size=65536, replication=1,
                     chunk_size=4096, timeout_ms=20000) as c:
        assert c.default_replication == 1
        assert c.default_block_size == 128 << 20   # the namenode's
        p = base + "/opts.bin"
        with c.open(p, "wb") as f:
            f.write(blob(140000, 5))
        st = c.stat(p)
        assert st.block_size == 65536 and st.replication == 1
        assert len(c.block_locations(p)) == 3


def test_client_host_option_needs_the_library_call(module_cluster):
    if _lib.has("dfs_options_set_client_host"):
        with dfs.connect(module_cluster.addr, client_host="127.0.0.1") as c:
            assert c.stat("/").is_dir()
    else:
        with pytest.raises(NotImplementedError,
                           match="no dfs_options_set_client_host"):
            dfs.connect(module_cluster.addr, client_host="127.0.0.1")


def test_unknown_option_is_a_type_error(module_cluster):
    with pytest.raises(TypeError):
        dfs.connect(module_cluster.addr, blocksize=1)


# ----------------------------------------------------------- exceptions

def test_every_code_maps_to_its_exception_and_errno():
    """The table: class, errno from the library's dfs_errno(), message,
    .dfs_code and .dfs_error, for every DFS_ERR_* code."""
    expect = {1: FileNotFoundError, 2: FileExistsError,
              3: NotADirectoryError, 4: IsADirectoryError,
              5: OSError, 6: OSError, 7: PermissionError, 8: OSError,
              9: OSError, 10: OSError, 11: OSError, 12: OSError,
              13: OSError, 14: OSError, 15: TimeoutError,
              16: ConnectionError, 17: OSError, 18: OSError, 19: OSError}
    errnos = {1: errno.ENOENT, 2: errno.EEXIST, 3: errno.ENOTDIR,
              4: errno.EISDIR, 5: errno.ENOTEMPTY, 6: errno.EINVAL,
              7: errno.EACCES, 8: errno.EIO, 9: errno.ENOSPC,
              10: errno.EROFS, 11: errno.EPROTO, 12: errno.ENOMEM,
              13: errno.EHOSTUNREACH, 14: errno.EIO, 15: errno.ETIMEDOUT,
              16: errno.ECONNREFUSED, 17: errno.EBUSY, 18: errno.ESTALE,
              19: errno.EINVAL}
    assert len(_lib.ERR_NAMES) == 20
    for code in range(1, 20):
        e = errors.error(code, "the message %d" % code)
        assert isinstance(e, expect[code]), (code, type(e))
        assert e.errno == errnos[code], code
        assert e.strerror == "the message %d" % code
        assert e.dfs_code == code
        assert e.dfs_error == _lib.ERR_NAMES[code]
    # CONN is any failure to reach a daemon: the general ConnectionError
    # (its errno is ECONNREFUSED, the library's dfs_errno()).
    assert type(errors.error(16, "x")) is ConnectionError


def expect_error(cls, code_name, fn, *needles):
    with pytest.raises(cls) as ei:
        fn()
    e = ei.value
    assert e.dfs_error == code_name, (e.dfs_error, str(e))
    for n in needles:
        assert n in e.strerror, (n, e.strerror)
    return e


def test_errors_from_the_cluster_carry_the_library_message(client, base):
    f = base + "/f"
    d = base + "/d"
    with client.open(f, "wb") as w:
        w.write(b"x")
    client.mkdir(d)
    client.touch(d + "/child")
    e = expect_error(FileNotFoundError, "NOENT",
                     lambda: client.stat(base + "/missing"),
                     base + "/missing", "No such file")
    assert e.errno == errno.ENOENT
    expect_error(FileNotFoundError, "NOENT",
                 lambda: client.open(base + "/missing"), base + "/missing")
    expect_error(FileNotFoundError, "NOENT",
                 lambda: client.ls(base + "/missing"), base + "/missing")
    expect_error(FileNotFoundError, "NOENT",
                 lambda: client.open(base + "/no/dir/x", "wb"))
    expect_error(FileExistsError, "EXIST",
                 lambda: client.open(f, "xb"), f, "exists")
    expect_error(FileExistsError, "EXIST", lambda: client.mkdir(d), d)
    expect_error(FileExistsError, "EXIST", lambda: client.touch(f), f)
    expect_error(FileExistsError, "EXIST",
                 lambda: client.makedirs(f, exist_ok=True), f)
    expect_error(NotADirectoryError, "NOTDIR",
                 lambda: client.mkdir(f + "/sub"), f + "/sub",
                 "Not a directory")
    expect_error(IsADirectoryError, "ISDIR",
                 lambda: client.open(d), d, "Is a directory")
    expect_error(IsADirectoryError, "ISDIR",
                 lambda: client.open(d, "wb"), d)
    expect_error(IsADirectoryError, "ISDIR", lambda: client.checksum(d), d)
    e = expect_error(OSError, "NOTEMPTY", lambda: client.rm(d), d,
                     "not empty")
    assert e.errno == errno.ENOTEMPTY
    e = expect_error(OSError, "XDEV", lambda: client.mv(d, d + "/child2"), d)
    assert e.errno == errno.EINVAL
    e = expect_error(OSError, "INVAL", lambda: client.stat("/a/../.."),
                     "above the root")
    assert e.errno == errno.EINVAL
    expect_error(OSError, "INVAL",
                 lambda: client.open(base + "/r", "wb", replication=1000),
                 "replication 1000")
    # A file being written: BUSY for a second writer and for its checksum.
    w = client.open(base + "/busy", "wb")
    try:
        w.write(b"abc")
        w.flush()
        e = expect_error(OSError, "BUSY",
                         lambda: client.open(base + "/busy", "ab"),
                         base + "/busy")
        assert e.errno == errno.EBUSY
        expect_error(OSError, "BUSY",
                     lambda: client.checksum(base + "/busy"), "being written")
    finally:
        w.close()
    # Nothing of the refused calls changed anything.
    assert client.listdir(base) == ["busy", "d", "f"]
    assert client.listdir(d) == ["child"]


def test_connection_and_argument_errors(module_cluster):
    e = expect_error(ConnectionError, "CONN",
                     lambda: dfs.connect("127.0.0.1:1", timeout_ms=5000),
                     "127.0.0.1:1")
    assert e.errno == errno.ECONNREFUSED
    expect_error(OSError, "INVAL", lambda: dfs.connect("dfs://[::1"),
                 "invalid namenode address")
    expect_error(OSError, "INVAL",
                 lambda: dfs.connect(module_cluster.addr, user=".."),
                 "invalid user name")
    expect_error(OSError, "INVAL",
                 lambda: dfs.connect(module_cluster.addr, chunk_size=1000),
                 "chunk size")


# ------------------------------------------------------------ namespace

def test_stat_ls_listdir(client, base):
    client.mkdir(base + "/b")
    with client.open(base + "/a.txt", "wb") as f:
        f.write(b"12345")
    before = time.time()
    st = client.stat(base + "/a.txt")
    assert st.path == base + "/a.txt" and st.name == "a.txt"
    assert st.is_file() and not st.is_dir() and st.type == "file"
    assert st.size == 5 and st.mode == 0o644 and st.complete
    assert st.owner == client.user and st.group
    assert st.replication == 1 and st.block_size > 0 and st.inode > 0
    assert abs(st.mtime - before) < 300 and st.mtime_ms == int(st.mtime * 1000)
    assert st.modified.tzinfo is not None
    d = client.stat(base + "/b")
    assert d.is_dir() and d.size == 0 and d.mode == 0o755
    entries = client.ls(base)
    assert [(e.name, e.type, e.path) for e in entries] == [
        ("a.txt", "file", base + "/a.txt"), ("b", "directory", base + "/b")]
    assert client.ls(base, detail=False) == [base + "/a.txt", base + "/b"]
    assert client.ls(base + "/a.txt", detail=False) == [base + "/a.txt"]
    assert client.listdir(base) == ["a.txt", "b"]
    assert client.listdir(base + "/b") == []
    with pytest.raises(NotADirectoryError):
        client.listdir(base + "/a.txt")
    assert client.exists(base + "/a.txt") and client.isfile(base + "/a.txt")
    assert client.isdir(base + "/b") and not client.isdir(base + "/a.txt")
    assert not client.exists(base + "/nope")
    assert not client.exists(base + "/a.txt/below")
    # A path no call takes does not exist either (as os.path.exists()).
    for bad in ("", "/../x", "/a\udcff"):
        assert not client.exists(bad) and not client.isdir(bad)
        assert not client.isfile(bad)
    # Relative paths resolve against the working directory.
    client.chdir(base)
    try:
        assert client.stat("a.txt").path == base + "/a.txt"
        assert client.ls(".", detail=False) == [base + "/a.txt", base + "/b"]
    finally:
        client.chdir("/user/" + client.user)


def test_large_directory_is_listed_in_pages(client, module_cluster, base):
    """More entries than namenode.list_limit (1000) come back in order."""
    d = base + "/many"
    client.mkdir(d)
    names = ["f%04d" % i for i in range(1100)]
    for n in names:
        client.touch(d + "/" + n)
    assert client.listdir(d) == names


def test_scandir_is_a_closable_stream_closed_with_its_client(
        module_cluster, base):
    """A directory stream left open is closed by Client.close() (libdfs
    wants every dfs_dir closed before dfs_disconnect): next() then raises
    ValueError instead of reading through a freed handle."""
    c = dfs.connect(module_cluster.addr)
    for n in ("a", "b", "c"):
        c.touch(base + "/" + n)
    with c.scandir(base) as it:
        assert next(it).name == "a"
    with pytest.raises(StopIteration):
        next(it)                                # closed by the with block
    it = c.scandir(base)
    assert next(it).name == "a"
    c.close()
    with pytest.raises(ValueError, match="closed dfs client"):
        next(it)
    # Another thread's stream, closed while the Client is still closing,
    # does not look ended either (the stream is closed before the handle).
    c = dfs.connect(module_cluster.addr)
    it = c.scandir(base)
    assert next(it).name == "a"
    it._close_from_client()                     # what close() does first
    with pytest.raises(ValueError, match="closed dfs client"):
        next(it)
    c.close()
    it.close()                                  # and again: nothing to do


def test_mkdir_makedirs_rm_mv(client, base):
    client.mkdir(base + "/p/q/r", parents=True)
    client.mkdir(base + "/p/q/r", parents=True)       # -p: no error
    assert client.isdir(base + "/p/q/r")
    with pytest.raises(FileNotFoundError):
        client.mkdir(base + "/x/y")
    client.makedirs(base + "/x/y")                    # parents created
    with pytest.raises(FileExistsError):
        client.makedirs(base + "/x/y")
    client.makedirs(base + "/x/y", exist_ok=True)
    client.mkdir(base + "/m", mode=0o700)
    assert client.stat(base + "/m").mode == 0o700
    client.touch(base + "/p/q/r/f")
    client.mv(base + "/p/q/r/f", base + "/g")
    assert client.exists(base + "/g") and not client.exists(base + "/p/q/r/f")
    client.mv(base + "/g", base + "/m")               # into a directory
    assert client.listdir(base + "/m") == ["g"]
    client.touch(base + "/h")
    with pytest.raises(FileExistsError):
        client.mv(base + "/h", base + "/m/g")
    client.mv(base + "/h", base + "/m/g", overwrite=True)
    assert client.listdir(base + "/m") == ["g"] and not client.exists(base + "/h")
    with pytest.raises(OSError) as ei:
        client.rm(base + "/p")
    assert ei.value.errno == errno.ENOTEMPTY
    client.rm(base + "/p", recursive=True)
    assert not client.exists(base + "/p")
    # rmdir (os.rmdir): a file or a non-empty directory is refused; the
    # NotADirectoryError it and listdir() raise is built as the library's.
    for call in (client.rmdir, client.listdir):
        with pytest.raises(NotADirectoryError) as ei:
            call(base + "/m/g")
        assert ei.value.dfs_error == "NOTDIR" and ei.value.errno == 20
        assert ei.value.strerror == base + "/m/g: Not a directory"
    with pytest.raises(OSError) as ei:
        client.rmdir(base + "/m")
    assert ei.value.errno == errno.ENOTEMPTY and client.exists(base + "/m/g")
    client.rm(base + "/m/g")
    client.rmdir(base + "/m")                         # empty now
    assert client.listdir(base) == ["x"]


def test_attributes_chmod_chown_replication_utime(client, base):
    p = base + "/attr"
    client.touch(p, mode=0o600)
    assert client.stat(p).mode == 0o600
    client.chmod(p, 0o640)
    assert client.stat(p).mode == 0o640
    client.chown(p, owner="bob")
    st = client.stat(p)
    assert st.owner == "bob"
    client.chown(p, group="staff")
    st2 = client.stat(p)
    assert (st2.owner, st2.group) == ("bob", "staff")
    client.set_replication(p, 2)
    assert client.stat(p).replication == 2
    client.utime(p, mtime=1000000.5)
    st = client.stat(p)
    assert st.mtime_ms == 1000000500
    client.utime(p, atime=2000000)
    st = client.stat(p)
    assert st.mtime_ms == 1000000500 and st.atime_ms == 2000000000



def test_numbers_out_of_range_are_refused_not_wrapped(module_cluster, client,
                                                      base):
    """A negative or too large number for an unsigned parameter raises
    ValueError naming it, and changes nothing: ctypes would pass -1 as
    2**32-1 (mkdir made a 0o7777 directory of mode=-1)."""
    p = base + "/n"
    client.touch(p)
    before = client.stat(p)
    for call, what in [
            (lambda: client.mkdir(base + "/d", mode=-1), "mode -1"),
            (lambda: client.mkdir(base + "/d", mode=1 << 32),
             "mode 4294967296"),
            (lambda: client.touch(base + "/t", mode=-1), "mode -1"),
            (lambda: client.chmod(p, -1), "mode -1"),
            (lambda: client.set_replication(p, -1), "replication -1"),
            (lambda: client.open(base + "/w", "wb", replication=-2),
             "replication -2"),
            (lambda: client.open(base + "/w", "wb", block_size=-1),
             "block_size -1"),
            (lambda: client.open(base + "/w", "wb", permissions=-1),
             "permissions -1"),
            (lambda: client.utime(p, mtime=-0.001), "before the epoch"),
            (lambda: dfs.connect(module_cluster.addr, timeout_ms=-1),
             "timeout_ms -1")]:
        with pytest.raises(ValueError, match=what):
            call()
    with pytest.raises(TypeError):
        client.chmod(p, "644")                  # not an int: no guessing
    assert client.listdir(base) == ["n"]
    after = client.stat(p)
    assert (after.mode, after.replication, after.mtime_ms) == \
        (before.mode, before.replication, before.mtime_ms)


def test_content_summary_and_checksum(client, base):
    data = blob(200000, 6)
    with client.open(base + "/a", "wb", block_size=65536) as f:
        f.write(data)
    with client.open(base + "/sub/b", "wb", parents=True) as f:
        f.write(data)                                  # other block size
    s = client.content_summary(base)
    assert (s.length, s.files, s.dirs) == (400000, 2, 2)
    assert s.space_consumed == 400000                  # replication 1
    ca, cb = client.checksum(base + "/a"), client.checksum(base + "/sub/b")
    assert ca == cb and ca.length == 200000
    assert ca.algorithm == "COMPOSITE-CRC32" and ca.value == "%08x" % ca.crc32
    import zlib
    assert ca.crc32 == zlib.crc32(data)


def test_block_locations_of_a_multi_block_file(client, module_cluster, base):
    p = base + "/multi"
    size = 5 * 65536 + 1234
    with client.open(p, "wb", block_size=65536) as f:
        f.write(blob(size, 7))
    blocks = client.block_locations(p)
    assert [(b.offset, b.length) for b in blocks] == \
        [(i * 65536, 65536) for i in range(5)] + [(5 * 65536, 1234)]
    dn_host = module_cluster.conf_value("datanode-1.conf", "datanode",
                                        "address").rsplit(":", 1)[0]
    dn_port = module_cluster.datanode_port("datanode-1")
    for b in blocks:
        assert b.hosts == [dn_host]
        assert [(r.host, r.port, r.corrupt) for r in b.replicas] == \
            [(dn_host, dn_port, False)]
        assert b.id > 0 and b.genstamp > 0
    # The same blocks as `dfs locate` shows.
    assert [(b.offset, b.length, b.id, b.genstamp, b.replicas[0].rack)
            for b in blocks] == \
        [(b["offset"], b["length"], b["id"], b["genstamp"],
          b["locations"][0]["rack"])
         for b in module_cluster.locate(p)["blocks"]]
    # A range: the blocks overlapping [70000, 70000 + 100000).
    part = client.block_locations(p, 70000, 100000)
    assert [b.offset for b in part] == [65536, 131072]
    assert client.block_locations(p, size + 10, 5) == []
    with pytest.raises(FileNotFoundError):
        client.block_locations(base + "/nope")
    # Negative numbers are refused, not wrapped to huge unsigned ones.
    with pytest.raises(ValueError, match="negative"):
        client.block_locations(p, -5)
    with pytest.raises(ValueError, match="negative"):
        client.block_locations(p, 0, -1)


def test_python_without_dfs_libdfs_finds_the_soname(module_cluster, tmp_path):
    """With $DFS_LIBDFS unset the library is found by its soname (here
    through LD_LIBRARY_PATH, as an installed one is through ld.so)."""
    env = dict(os.environ)
    lib = env.pop("DFS_LIBDFS")
    env["LD_LIBRARY_PATH"] = os.path.dirname(lib)
    r = subprocess.run(
        ["/usr/bin/python3", "-c",
         "import dfs, sys\nc = dfs.connect(sys.argv[1])\n"
         "print(c.stat('/').type)\nc.close()", module_cluster.addr],
        capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "directory\n"
