"""dfs file objects: RawFile and the buffered / text objects Client.open()
returns, against a live cluster; and the ctypes binding checked against
dfs.h (struct layouts as the compiler lays them out, every bound call
declared by the header)."""

import ctypes
import io
import os
import re
import shutil
import signal
import subprocess
import threading

import pytest

from conftest import REPO, SMALL_CLUSTER, blob, host_port, wait_for

import dfs
from dfs import _lib

pytestmark = SMALL_CLUSTER

HEADER = REPO / "libdfs" / "include" / "dfs.h"


# ------------------------------------------------------------- binding

def test_struct_layouts_match_the_compiler(tmp_path):
    """sizeof and every field's offsetof of each struct, from a C program
    compiled against dfs.h, equal ctypes' layout."""
    if not shutil.which("cc"):
        pytest.fail("no C compiler (cc) on PATH")
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "dfs.h"',
             'int main(void) {']
    want = []
    for cname, cls in sorted(_lib.STRUCTS.items()):
        lines.append('printf("%%s %%zu\\n", "%s", sizeof(struct %s));'
                     % (cname, cname))
        want.append("%s %d" % (cname, ctypes.sizeof(cls)))
        for fname, _ in cls._fields_:
            lines.append('printf("%%s.%%s %%zu\\n", "%s", "%s", '
                         'offsetof(struct %s, %s));'
                         % (cname, fname, cname, fname))
            want.append("%s.%s %d" % (cname, fname, getattr(cls, fname).offset))
    lines.append("return 0; }")
    src = tmp_path / "layout.c"
    src.write_text("\n".join(lines) + "\n")
    exe = tmp_path / "layout"
    r = subprocess.run(["cc", "-Wall", "-Werror", "-I", str(HEADER.parent),
                        "-o", str(exe), str(src)], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    got = subprocess.run([str(exe)], capture_output=True, text=True,
                         check=True).stdout.split("\n")[:-1]
    assert got == want


def test_every_bound_call_is_declared_by_dfs_h():
    text = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    declared = set(re.findall(r"\b(dfs_[a-z0-9_]+)\s*\(", text))
    bound = set(_lib.SIGNATURES)
    assert bound <= declared, sorted(bound - declared)
    # Those bound only when present are the ones dfs.h may not have yet.
    for name in _lib.OPTIONAL_SIGNATURES:
        assert (name in declared) == _lib.has(name), name


def test_library_loads_from_dfs_libdfs_and_reports_its_version():
    assert dfs.library_version() == "%d.%d.%d" % tuple(
        int(re.search(r"#define DFS_VERSION_%s (\d+)" % k,
                      HEADER.read_text()).group(1))
        for k in ("MAJOR", "MINOR", "PATCH"))


def test_a_missing_library_is_named_in_the_error(tmp_path):
    missing = tmp_path / "nowhere" / "libdfs.so.0"
    env = dict(os.environ, DFS_LIBDFS=str(missing))
    r = subprocess.run(
        ["/usr/bin/python3", "-c",
         "import dfs\ntry:\n    dfs.connect('127.0.0.1:1')\n"
         "except OSError as e:\n    print('ERR', e)\n"],
        capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "ERR dfs: cannot load %s, as given by $DFS_LIBDFS" % missing \
        in r.stdout, r.stdout


# -------------------------------------------------------------- reading

def put(client, path, data):
    with client.open(path, "wb") as f:
        f.write(data)


def test_read_readinto_seek_tell(client, base):
    data = blob(300000, 1)
    p = base + "/r.bin"
    put(client, p, data)
    with client.open(p, "rb", buffering=0) as f:
        assert isinstance(f, dfs.RawFile) and isinstance(f, io.RawIOBase)
        assert f.readable() and f.seekable() and not f.writable()
        assert f.length == len(data) and f.name == p and f.mode == "rb"
        assert f.read(10) == data[:10]
        assert f.tell() == 10
        buf = bytearray(1000)
        assert f.readinto(buf) == 1000 and bytes(buf) == data[10:1010]
        mv = memoryview(bytearray(64))[8:40]
        assert f.readinto(mv) == 32 and bytes(mv) == data[1010:1042]
        assert f.seek(-100, os.SEEK_END) == len(data) - 100
        assert f.read() == data[-100:]
        assert f.read(5) == b"" and f.readinto(bytearray(5)) == 0
        assert f.seek(5000) == 5000 and f.read(3) == data[5000:5003]
        assert f.seek(7, os.SEEK_CUR) == 5010 and f.read(2) == data[5010:5012]
        assert f.seek(len(data) + 50) == len(data) + 50   # past the end
        assert f.read(10) == b""
        f.seek(0)
        assert f.readall() == data
        assert f.pread(20, 100) == data[100:120]
        assert f.pread(1000, len(data) - 5) == data[-5:]
        assert f.tell() == len(data)          # pread does not move it
        assert f.pread(10, len(data) + 1) == b""
        for size, offset in ((1, -1), (-1, 0), (1, 2**64)):   # not wrapped
            with pytest.raises(ValueError):
                f.pread(size, offset)
        with pytest.raises(OSError) as ei:
            f.seek(-1)
        assert ei.value.errno == 22
        with pytest.raises(ValueError):
            f.seek(0, 3)
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")
        with pytest.raises(OverflowError):       # not wrapped to 64 bits
            f.seek(2**64 + 3)
        assert f.tell() == len(data)
    assert f.closed
    # Every call on a closed file raises ValueError, as on Python's files.
    for call in (lambda: f.read(1), lambda: f.readinto(bytearray(1)),
                 f.readall, lambda: f.seek(0), f.tell, f.flush,
                 f.readable, f.writable, f.seekable, f.readline,
                 lambda: f.pread(1, 0), lambda: f.length):
        with pytest.raises(ValueError):
            call()
    f.close()                                   # closing again is fine
    w = client.open(base + "/w.bin", "wb", buffering=0)
    w.close()
    with pytest.raises(ValueError):
        w.flush()
    with pytest.raises(ValueError):
        w.write(b"x")


def test_buffered_reader_readline_and_iteration(client, base):
    lines = [b"line %d %s\n" % (i, b"x" * (i % 50)) for i in range(5000)]
    data = b"".join(lines) + b"no newline at the end"
    p = base + "/lines.txt"
    put(client, p, data)
    with client.open(p) as f:                 # "rb" by default
        assert isinstance(f, io.BufferedReader)
        assert isinstance(f.raw, dfs.RawFile)
        assert f.readline() == lines[0]
        assert f.peek(1)[:1] == lines[1][:1]
        rest = list(f)
    assert rest == lines[1:] + [b"no newline at the end"]
    # The raw file's own readline (IOBase's) and iteration too.
    with client.open(p, "rb", buffering=0) as raw:
        assert raw.readline() == lines[0]
        assert next(iter(raw)) == lines[1]
    # A BufferedReader built by hand over a RawFile.
    raw = client.open_raw(p)
    with io.BufferedReader(raw, 4096) as f:
        assert f.read(len(lines[0]) + 4) == lines[0] + lines[1][:4]
        f.seek(len(data) - 5)
        assert f.read() == data[-5:]
    assert raw.closed


def test_text_mode_reads_and_writes_str(client, base):
    p = base + "/t.txt"
    text = "grüße\nzweite Zeile\n" * 1000
    with client.open(p, "w", encoding="utf-8") as f:
        assert isinstance(f, io.TextIOWrapper)
        assert (f.mode, f.buffer.mode, f.name) == ("w", "wb", p)  # as open()
        f.write(text)
    with client.open(p, "rt", encoding="utf-8") as f:
        assert f.mode == "rt" and f.buffer.mode == "rb"
        assert f.readline() == "grüße\n"
        assert f.read() == text[len("grüße\n"):]
    assert client.stat(p).size == len(text.encode("utf-8"))
    with client.open(p, "rb") as f:
        assert io.TextIOWrapper(f, encoding="utf-8").read() == text


def test_read_stats_count_local_bytes(client, base):
    p = base + "/s.bin"
    put(client, p, blob(100000, 2))
    with client.open(p, "rb", buffering=0) as f:
        f.read(60000)
        st = f.read_stats()
        assert st.bytes_read == 60000
        # The datanode is on loopback, as this client: a local read.
        assert st.local_bytes_read == 60000
        f.clear_read_stats()
        assert f.read_stats().bytes_read == 0


# -------------------------------------------------------------- writing

def test_write_flush_makes_bytes_visible_before_close(client, module_cluster,
                                                      base):
    p = base + "/w.log"
    with client.open(p, "wb") as w:
        assert isinstance(w, dfs.BufferedWriter)
        assert w.writable() and not w.readable()
        w.write(b"first part\n")
        w.flush()                               # hflush
        # Another reader -- another client, then another process -- sees
        # the bytes while the file is still being written.
        with dfs.connect(module_cluster.addr) as other:
            st = other.stat(p)
            assert not st.complete and st.size == 11
            with other.open(p) as r:
                assert r.read() == b"first part\n"
        assert module_cluster.ok("cat", p) == "first part\n"
        w.write(b"second\n")
        assert w.tell() == 18
        w.flush()
        with client.open(p) as r:
            assert r.read() == b"first part\nsecond\n"
    st = client.stat(p)
    assert st.complete and st.size == 18


def test_raw_writer_accepts_buffers_and_tells_its_length(client, base):
    p = base + "/raw.bin"
    with client.open(p, "wb", buffering=0) as w:
        assert isinstance(w, dfs.RawFile)
        assert w.write(b"ab") == 2
        assert w.write(bytearray(b"cd")) == 2
        assert w.write(memoryview(b"xxefxx")[2:4]) == 2
        assert w.write(b"") == 0
        assert w.tell() == 6 and w.length == 6
        assert w.seek(0, os.SEEK_CUR) == 6
        with pytest.raises(io.UnsupportedOperation):
            w.seek(0)
        with pytest.raises(io.UnsupportedOperation):
            w.read(1)
        w.hsync()
    assert client.open(p).read() == b"abcdef"


def test_modes_wb_replaces_xb_refuses_ab_appends(client, base):
    p = base + "/m.txt"
    put(client, p, b"old contents")
    put(client, p, b"new")                      # "wb" replaces
    assert client.open(p).read() == b"new"
    with pytest.raises(FileExistsError) as ei:
        client.open(p, "xb")
    assert p in str(ei.value) and ei.value.errno == 17
    with client.open(p, "ab") as f:
        assert f.tell() == 3                    # after the old bytes
        f.write(b" and more")
    assert client.open(p).read() == b"new and more"
    with client.open(p, "a") as f:              # text append
        f.write("!")
    assert client.open(p, "r").read() == "new and more!"
    q = base + "/created-by-append"
    with client.open(q, "ab") as f:             # "a" creates a missing file
        f.write(b"x")
    assert client.open(q).read() == b"x"
    with client.open(base + "/x-new", "xb") as f:
        f.write(b"exclusive")
    assert client.stat(base + "/x-new").size == 9


def test_append_across_blocks(client, base):
    p = base + "/app.bin"
    a, b = blob(100000, 3), blob(150000, 4)
    with client.open(p, "wb", block_size=65536) as f:
        f.write(a)
    with client.open(p, "ab") as f:
        f.write(b)
    with client.open(p) as f:
        assert f.read() == a + b
    blocks = client.block_locations(p)
    assert sum(x.length for x in blocks) == len(a) + len(b)


def test_bad_modes_and_arguments(client, base):
    for mode in ("r+", "rw", "bb", "z", "rbt", "", "w+b"):
        with pytest.raises(ValueError):
            client.open(base + "/x", mode)
    with pytest.raises(TypeError):
        client.open(base + "/x", 1)
    with pytest.raises(ValueError):
        client.open(base + "/x", "rb", encoding="utf-8")
    with pytest.raises(ValueError):
        client.open(base + "/x", "w", buffering=0)
    with pytest.raises(ValueError):
        client.open_raw(base + "/x", "w")
    assert not client.exists(base + "/x")       # nothing was created


def test_abort_deletes_the_file(client, base):
    p = base + "/aborted"
    f = client.open(p, "wb")
    f.write(b"data")
    f.abort()
    assert f.raw.closed
    assert not client.exists(p)


def test_client_close_closes_its_files(module_cluster, base):
    c = dfs.connect(module_cluster.addr)
    p = base + "/left-open"
    w = c.open(p, "wb", buffering=0)
    w.write(b"completed by close")
    r = c.open_raw(p)                           # a reader of it too
    c.close()
    assert w.closed and r.closed and c.closed
    with pytest.raises(ValueError):
        c.stat("/")
    c.close()                                   # twice is fine
    with dfs.connect(module_cluster.addr) as c2:
        st = c2.stat(p)
        assert st.complete and st.size == len(b"completed by close")


def test_client_close_writes_what_open_files_buffer(module_cluster, base):
    """Client.close() closes a buffered or text writer through its
    wrapper, so the bytes still in its buffer reach the file (as closing
    the wrapper would), for Client.open() and fsspec files alike."""
    import fsspec
    c = dfs.connect(module_cluster.addr)
    b = c.open(base + "/buffered", "wb")
    b.write(b"in the buffer")
    t = c.open(base + "/text", "w")
    t.write("text in the buffer")
    c.close()
    assert b.closed and t.closed
    host, port = host_port(module_cluster.addr)
    fs = fsspec.filesystem("dfs", host=host, port=port,
                           skip_instance_cache=True)
    f = fs.open(base + "/fsspec", "wb")
    f.write(b"fsspec buffer")
    fs.client.close()
    assert f.closed
    # The file system connects again for its next call.
    assert fs.cat_file(base + "/fsspec") == b"fsspec buffer"
    with dfs.connect(module_cluster.addr) as c2:
        assert c2.open(base + "/buffered").read() == b"in the buffer"
        assert c2.open(base + "/text", "r").read() == "text in the buffer"
        assert c2.open(base + "/fsspec").read() == b"fsspec buffer"


def test_client_close_waits_for_calls_in_flight(module_cluster):
    """Closing a Client another thread is calling through waits for that
    call (the handle is freed after it, never under it); calls made while
    it waits raise ValueError.  The namenode is stopped to hold a stat()
    in flight."""
    c = dfs.connect(module_cluster.addr)
    nn = module_cluster.pid("namenode")
    got = []
    stat = threading.Thread(target=lambda: got.append(c.stat("/")))
    closer = threading.Thread(target=c.close)
    os.kill(nn, signal.SIGSTOP)
    try:
        stat.start()
        wait_for(lambda: c._busy == 1, what="the stat() in flight")
        closer.start()
        wait_for(lambda: c._closer is not None, what="close() waiting")
        assert closer.is_alive() and not c.closed
        with pytest.raises(ValueError, match="closed dfs client"):
            c.stat("/")
    finally:
        os.kill(nn, signal.SIGCONT)
    stat.join(60)
    closer.join(60)
    assert got and got[0].is_dir() and c.closed


def test_threads_share_a_client(client, base):
    """One Client, 8 threads each writing and reading its own file."""
    errors = []

    def work(i):
        try:
            p = "%s/th-%d" % (base, i)
            data = blob(50000 + i, i)
            with client.open(p, "wb") as f:
                f.write(data)
            with client.open(p) as f:
                assert f.read() == data
        except Exception as e:                  # noqa: BLE001 - reported
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not [t for t in threads if t.is_alive()]
    assert errors == []
    assert sorted(client.listdir(base)) == sorted("th-%d" % i
                                                  for i in range(8))
