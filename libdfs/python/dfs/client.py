"""client - a connection to a dfs cluster (one dfs_fs handle) and the
namespace calls on it.

    import dfs
    with dfs.connect("dfs://127.0.0.1:8020") as c:
        c.mkdir("/data", parents=True)
        with c.open("/data/a.txt", "w") as f:
            f.write("hello\\n")
        print(c.ls("/data"))

A Client may be shared between threads (libdfs's handle is thread-safe;
ctypes drops the GIL during each call); the file objects it opens belong
to one thread at a time.  Every libdfs call goes through Client._enter()
/ _leave(), so close() waits for the calls in flight and no call runs on
a freed handle.  A Client belongs to the process that connected (a forked
child gets RuntimeError: see _inherited()).  Paths are absolute or
relative to the working directory (/user/NAME at first).  Failures raise
the exceptions of dfs.errors (FileNotFoundError, ... with the library's
message).
"""

import ctypes
import datetime
import io
import os
import threading
import weakref

from . import _lib
from .errors import check, error
from .file import _UINT64_MAX, DEFAULT_BUFFER_SIZE, BufferedWriter, RawFile



class FileStatus:
    """Attributes of a file or directory (struct dfs_stat).

    path         absolute, normalised path
    name         last component ("" for "/")
    type         "file" or "directory"
    size         bytes (0 for a directory; a file being written: its
                 visible length)
    mode         permission bits (0o7777)
    owner, group
    mtime, atime seconds since the epoch (float); mtime_ms, atime_ms: ms
    replication, block_size   (files)
    complete     False while the file is being written
    inode
    """

    __slots__ = ("path", "name", "type", "size", "mode", "owner", "group",
                 "mtime_ms", "atime_ms", "replication", "block_size",
                 "complete", "inode")

    def __init__(self, path, st):
        self.path = path
        self.name = _lib.decode(st.name)
        self.type = "directory" if st.type == _lib.DFS_TYPE_DIR else "file"
        self.size = st.length
        self.mode = st.mode
        self.owner = _lib.decode(st.owner)
        self.group = _lib.decode(st.group)
        self.mtime_ms = st.mtime_ms
        self.atime_ms = st.atime_ms
        self.replication = st.replication
        self.block_size = st.block_size
        self.complete = bool(st.complete)
        self.inode = st.inode

    @property
    def mtime(self):
        return self.mtime_ms / 1000.0

    @property
    def atime(self):
        return self.atime_ms / 1000.0

    @property
    def modified(self):
        """mtime as an aware datetime (UTC)."""
        return datetime.datetime.fromtimestamp(self.mtime,
                                               datetime.timezone.utc)

    def is_dir(self):
        return self.type == "directory"

    def is_file(self):
        return self.type == "file"

    def __repr__(self):
        return ("FileStatus(path=%r, type=%r, size=%d, mode=0o%o, owner=%r, "
                "group=%r, mtime_ms=%d, replication=%d)"
                % (self.path, self.type, self.size, self.mode, self.owner,
                   self.group, self.mtime_ms, self.replication))


class Replica:
    """One replica of a block (struct dfs_location)."""

    __slots__ = ("host", "port", "rack", "storage_id", "corrupt")

    def __init__(self, loc):
        self.host = _lib.decode(loc.host)
        self.port = loc.port
        self.rack = _lib.decode(loc.rack)
        self.storage_id = _lib.decode(loc.storage_id)
        self.corrupt = bool(loc.corrupt)

    def __repr__(self):
        return "Replica(%s:%d%s)" % (self.host, self.port,
                                     " corrupt" if self.corrupt else "")


class BlockLocation:
    """One block of a file: offset (in the file), length, id, genstamp,
    replicas (Replica list, closest to this client first) and hosts (the
    hosts of the replicas not reported corrupt, in that order)."""

    __slots__ = ("offset", "length", "id", "genstamp", "replicas")

    def __init__(self, b):
        self.offset = b.offset
        self.length = b.length
        self.id = b.id
        self.genstamp = b.genstamp
        self.replicas = [Replica(b.locs[i]) for i in range(b.nlocs)]

    @property
    def hosts(self):
        return [r.host for r in self.replicas if not r.corrupt]

    def __repr__(self):
        return "BlockLocation(offset=%d, length=%d, hosts=%r)" % (
            self.offset, self.length, self.hosts)


class FileChecksum:
    """A file's checksum (struct dfs_file_checksum): algorithm
    ("COMPOSITE-CRC32"), length, crc32 (int) and value (hex str); equal for
    equal contents whatever the block and chunk sizes."""

    __slots__ = ("algorithm", "length", "crc32", "value")

    def __init__(self, c):
        self.algorithm = _lib.decode(c.algorithm)
        self.length = c.length
        self.crc32 = c.crc32
        self.value = _lib.decode(c.value)

    def __eq__(self, other):
        return (isinstance(other, FileChecksum) and
                (self.algorithm, self.length, self.value) ==
                (other.algorithm, other.length, other.value))

    def __hash__(self):
        return hash((self.algorithm, self.length, self.value))

    def __repr__(self):
        return "FileChecksum(%s, length=%d, %s)" % (self.algorithm,
                                                   self.length, self.value)


class ContentSummary(_lib.Record):
    """Totals under a path (struct dfs_summary): length (bytes in files),
    files, dirs, space_consumed (length x replication)."""

    __slots__ = ("length", "files", "dirs", "space_consumed")


class DirStream(_lib.HandleOwner):
    """The entries of a directory as an iterator of FileStatus over one
    dfs_dir (made by Client.scandir()).  It belongs to one thread at a
    time.  close() frees the stream (also at its end, and when the Client
    closes); next() on a stream closed by its Client raises ValueError."""

    _h = None               # the dfs_dir *, None once closed
    _by_client = False      # closed by Client.close(), not at its end

    def __init__(self, client, path, only=None):
        self._client = client
        self._path = path
        self._only = only   # a file lists as itself: no stream
        if only is not None:
            return
        self._ent = _lib.Stat()
        d = ctypes.c_void_p()
        h = client._enter()     # registered before a close() can run
        try:
            check(_lib.lib().dfs_opendir(h, _lib.encode(path),
                                         ctypes.byref(d)))
            self._h = d.value
            client._files.add(self)
        finally:
            client._leave()

    def __iter__(self):
        return self

    def __next__(self):
        if self._only is not None:
            st, self._only = self._only, None
            return st
        if self._h is None:
            if self._by_client:         # not the end: the Client closed
                raise ValueError("operation on a closed dfs client")
            raise StopIteration
        rc = self._client._call_on(self._h, "dfs_readdir",
                                   ctypes.byref(self._ent))
        if rc < 0:
            exc = error(-rc)
            self.close()
            raise exc
        if rc == 0:
            self.close()
            raise StopIteration
        name = _lib.decode(self._ent.name)
        return FileStatus(self._path.rstrip("/") + "/" + name, self._ent)

    def close(self):
        self._only = None
        if self._h is not None:
            self._client._release(self, "dfs_closedir")

    def _close_from_client(self):
        self._by_client = True
        self.close()


def _parse_mode(mode):
    """(kind "r"/"w"/"x"/"a", binary) of an open() mode, as builtin open()
    checks it; '+' is refused (dfs files are read or written, not both)."""
    if not isinstance(mode, str):
        raise TypeError("open() mode must be str, not %s"
                        % type(mode).__name__)
    chars = set(mode)
    if len(chars) != len(mode) or not chars <= set("rwxabt+"):
        raise ValueError("invalid mode: %r" % mode)
    kinds = chars & set("rwxa")
    if len(kinds) != 1:
        raise ValueError("must have exactly one of read/write/create/append "
                         "mode: %r" % mode)
    if "+" in chars:
        raise ValueError("invalid mode: %r (dfs files are opened for "
                         "reading or for writing, not both)" % mode)
    if "b" in chars and "t" in chars:
        raise ValueError("can't have text and binary mode at once")
    return kinds.pop(), "b" in chars


class Client(_lib.HandleOwner):
    """A connection to a dfs namenode (see dfs.connect())."""

    _h = None               # the dfs_fs *, None once closed

    def __init__(self, uri=None, user=None, *, conf=None, timeout_ms=None,
                 replication=None, block_size=None, chunk_size=None,
                 client_host=None):
        self._cond = threading.Condition()  # guards the three below
        self._busy = 0          # libdfs calls in flight (see _enter)
        self._closer = None     # the thread in close(), while it runs
        lib = _lib.lib()
        self._files = weakref.WeakSet()     # open files and DirStreams
        opts = lib.dfs_options_create()
        if not opts:
            raise MemoryError("dfs_options_create: out of memory")
        try:
            if conf is None:
                check(lib.dfs_options_load_env(opts))
            else:
                # conf in place of $DFS_CONF; the environment's namenode
                # and client host still win over it, as over $DFS_CONF.
                check(lib.dfs_options_load_conf(opts, _lib.encode(conf)))
                for var, setter in (("DFS_NAMENODE", lib.dfs_options_set_namenode),
                                    ("DFS_CLIENT_HOST", lib.dfs_options_set_client_host)):
                    if os.environ.get(var):
                        check(setter(opts, _lib.encode(os.environ[var])))
            if uri is not None and uri != "default":
                check(lib.dfs_options_set_namenode(opts, _lib.encode(uri)))
            if user:
                lib.dfs_options_set_user(opts, _lib.encode(user))
            if timeout_ms is not None:
                lib.dfs_options_set_timeout_ms(opts, _lib.unsigned(
                    int(timeout_ms), "timeout_ms"))
            if replication is not None:
                lib.dfs_options_set_replication(opts, _lib.unsigned(
                    int(replication), "replication"))
            if block_size is not None:
                lib.dfs_options_set_block_size(opts, _lib.unsigned(
                    int(block_size), "block_size", 64))
            if chunk_size is not None:
                check(lib.dfs_options_set_chunk_size(opts, _lib.unsigned(
                    int(chunk_size), "chunk_size")))
            if client_host is not None:
                if not hasattr(lib, "dfs_options_set_client_host"):
                    raise NotImplementedError(
                        "client_host: this libdfs (%s) has no "
                        "dfs_options_set_client_host()"
                        % _lib.decode(lib.dfs_version()))
                check(lib.dfs_options_set_client_host(
                    opts, _lib.encode(client_host)))
            h = ctypes.c_void_p()
            check(lib.dfs_connect(opts, ctypes.byref(h)))
            self._h = h.value
            self._pid = os.getpid()
            self._desc = "%s user=%s" % (self.uri, self.user)   # for repr
        finally:
            lib.dfs_options_destroy(opts)

    # ------------------------------------------------------------ handle
    def _handle(self):
        if self._h is None:
            raise ValueError("operation on a closed dfs client")
        if self._pid != os.getpid():
            raise RuntimeError(
                "dfs.Client connected in process %d cannot be used in "
                "process %d, forked from it (its connections are the "
                "parent's): connect again in this process"
                % (self._pid, os.getpid()))
        return self._h

    def _inherited(self):
        """True in a process forked after the connection was made: the
        handle (its sockets, its lease thread) is the parent's, and is
        neither used nor freed here."""
        return self._pid != os.getpid()

    def _enter(self):
        """Count one libdfs call in flight on this handle or on one of its
        files or streams; returns the handle.  close() waits until none is
        in flight, so no call ever runs on a freed handle.  ValueError once
        closed, or while another thread closes it (the closing thread goes
        on: it closes the files); RuntimeError in a forked child."""
        with self._cond:
            h = self._handle()
            if self._closer not in (None, threading.get_ident()):
                raise ValueError("operation on a closed dfs client")
            self._busy += 1
            return h

    def _leave(self):
        """The end of a call counted by _enter()."""
        with self._cond:
            self._busy -= 1
            if not self._busy:
                self._cond.notify_all()

    def _call(self, fname, *args):
        """libdfs's fname(this handle, *args), counted in flight."""
        h = self._enter()
        try:
            return getattr(_lib.lib(), fname)(h, *args)
        finally:
            self._leave()

    def _call_on(self, handle, fname, *args):
        """libdfs's fname(handle, *args) for the handle of one of this
        client's files or streams, counted in flight."""
        self._enter()
        try:
            return getattr(_lib.lib(), fname)(handle, *args)
        finally:
            self._leave()

    def _release(self, obj, fname):
        """Free obj._h (a file or stream of this client) with libdfs's
        fname(handle) and forget it; the call's DFS_ERR_* code.  In a
        forked child the handle is the parent's: only forgotten."""
        if self._inherited():
            obj._h = None
            self._files.discard(obj)
            return 0
        self._enter()
        try:
            h, obj._h = obj._h, None
            self._files.discard(obj)
            return (getattr(_lib.lib(), fname)(h) or 0) if h else 0
        finally:
            self._leave()

    @property
    def closed(self):
        return self._h is None

    def close(self):
        """Close the files and directory streams still open from this
        client (writers complete their files), then the connection.  Waits
        for the calls other threads have in flight on it; their next calls
        raise ValueError.  Raises the first error of those closes, once
        all are done."""
        with self._cond:
            while self._closer is not None:     # another thread closes it
                self._cond.wait()
            h = self._h
            if h is None:
                return
            if self._inherited():
                self._h = None  # the parent's: dropped, not disconnected
                return
            self._closer = threading.get_ident()
            while self._busy:
                self._cond.wait()
        first = None
        try:
            for f in list(self._files):
                try:
                    f._close_from_client()
                except Exception as e:      # noqa: BLE001 - raised below
                    first = first or e
        finally:
            with self._cond:
                self._h = None
                self._closer = None
                self._cond.notify_all()
            _lib.lib().dfs_disconnect(h)
        if first is not None:
            raise first

    def __repr__(self):
        if self._h is None:
            return "<dfs.Client closed>"
        if self._inherited():
            return "<dfs.Client %s of process %d>" % (self._desc, self._pid)
        return "<dfs.Client %s>" % self._desc

    # -------------------------------------------------------- properties
    @property
    def uri(self):
        """"dfs://HOST:PORT" of the namenode."""
        buf = ctypes.create_string_buffer(1100)
        check(self._call("dfs_get_uri", buf, len(buf)))
        return _lib.decode(buf.value)

    @property
    def user(self):
        """The user this client acts as."""
        return _lib.decode(self._call("dfs_get_user"))

    def getcwd(self):
        """The working directory relative paths resolve against."""
        buf = ctypes.create_string_buffer(4200)
        check(self._call("dfs_get_working_directory", buf, len(buf)))
        return _lib.decode(buf.value)

    def chdir(self, path):
        """Set the working directory (it need not exist, as in HDFS)."""
        check(self._call("dfs_set_working_directory", _lib.encode(path)))

    def resolve(self, path):
        """The absolute, normalised form of path; the namenode is not
        asked (ValueError-free: a path the calls refuse raises OSError
        EINVAL with the reason)."""
        buf = ctypes.create_string_buffer(4200)
        check(self._call("dfs_resolve_path", _lib.encode(path),
                         buf, len(buf)))
        return _lib.decode(buf.value)

    @property
    def default_block_size(self):
        """The namenode's block size of new files."""
        v = ctypes.c_uint64()
        check(self._call("dfs_get_default_block_size", ctypes.byref(v)))
        return v.value

    @property
    def default_replication(self):
        """The namenode's replication of new files."""
        v = ctypes.c_uint()
        check(self._call("dfs_get_default_replication", ctypes.byref(v)))
        return v.value

    # --------------------------------------------------------- namespace
    def stat(self, path):
        """FileStatus of path."""
        p = self.resolve(path)
        st = _lib.Stat()
        check(self._call("dfs_stat", _lib.encode(p), ctypes.byref(st)))
        return FileStatus(p, st)

    def _stat_if_exists(self, path):
        """stat(path), or None when path, or a parent, does not exist (or
        a parent is a file) or is no valid path (EINVAL: os.path.exists()
        is False for those too); other failures raise."""
        try:
            return self.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as e:
            if getattr(e, "dfs_error", None) == "INVAL":
                return None
            raise

    def exists(self, path):
        """True when path exists (see _stat_if_exists for False)."""
        return self._stat_if_exists(path) is not None

    def isdir(self, path):
        st = self._stat_if_exists(path)
        return st is not None and st.is_dir()

    def isfile(self, path):
        st = self._stat_if_exists(path)
        return st is not None and st.is_file()

    def scandir(self, path="."):
        """A DirStream: iterator of the FileStatus of each entry of
        directory path, in name order, fetched from the namenode page by
        page.  A file path lists as its own one entry (as HDFS does).
        Like os.scandir(), close it (or use it in a with block) when
        leaving it before its end; closing the Client closes it."""
        p = self.resolve(path)
        st = self.stat(p)
        return DirStream(self, p, None if st.is_dir() else st)

    def ls(self, path=".", detail=True):
        """The entries of directory path in name order: FileStatus objects,
        or (detail=False) their absolute paths.  A file lists as itself."""
        if detail:
            return list(self.scandir(path))
        return [e.path for e in self.scandir(path)]

    def _stat_dir(self, path):
        """FileStatus of directory path; for a file NotADirectoryError,
        built as the library's errors are (dfs_error "NOTDIR")."""
        st = self.stat(path)
        if not st.is_dir():
            raise error(3, "%s: Not a directory" % st.path)
        return st

    def listdir(self, path="."):
        """The names of the entries of directory path (os.listdir)."""
        return [e.name for e in self.scandir(self._stat_dir(path).path)]

    def mkdir(self, path, mode=0o755, parents=False):
        """Create a directory.  parents=True: the missing parents too, and
        an existing directory is no error (mkdir -p)."""
        check(self._call("dfs_mkdir", _lib.encode(path),
                         _lib.unsigned(mode, "mode"), 1 if parents else 0))

    def makedirs(self, path, mode=0o755, exist_ok=False):
        """os.makedirs: FileExistsError when path exists, unless exist_ok
        and it is a directory."""
        if not exist_ok:
            try:
                self.mkdir(path, mode)  # FileExistsError when it exists
                return
            except FileNotFoundError:   # a parent is missing
                pass
        self.mkdir(path, mode, parents=True)

    def touch(self, path, mode=0o644):
        """Create an empty, complete file (FileExistsError if path exists)."""
        check(self._call("dfs_create", _lib.encode(path),
                         _lib.unsigned(mode, "mode")))

    def rmdir(self, path):
        """Delete an empty directory (os.rmdir): NotADirectoryError for a
        file, OSError ENOTEMPTY for a directory that is not empty."""
        self.rm(self._stat_dir(path).path)

    def rm(self, path, recursive=False):
        """Delete a file or an empty directory; recursive=True a whole
        tree.  A non-empty directory without recursive: OSError ENOTEMPTY."""
        check(self._call("dfs_delete", _lib.encode(path),
                         1 if recursive else 0))

    def mv(self, src, dst, overwrite=False):
        """Rename src to dst; dst an existing directory: src moves into it.
        An existing file dst is replaced only with overwrite=True."""
        check(self._call("dfs_rename", _lib.encode(src),
                         _lib.encode(dst), 1 if overwrite else 0))

    def chmod(self, path, mode):
        check(self._call("dfs_chmod", _lib.encode(path),
                         _lib.unsigned(mode, "mode")))

    def chown(self, path, owner=None, group=None):
        """Set owner and/or group (None: left unchanged)."""
        check(self._call("dfs_chown", _lib.encode(path),
                         None if owner is None else _lib.encode(owner),
                         None if group is None else _lib.encode(group)))

    def set_replication(self, path, replication):
        check(self._call("dfs_set_replication", _lib.encode(path),
                         _lib.unsigned(replication, "replication")))

    def utime(self, path, mtime=None, atime=None):
        """Set the modification and/or access time (seconds since the
        epoch, float; None leaves it unchanged)."""
        def ms(t):
            if t is None:
                return -1
            if t < 0:           # before the epoch: dfs times are unsigned
                raise ValueError("time %r before the epoch" % (t,))
            return int(round(t * 1000))
        check(self._call("dfs_utimes", _lib.encode(path),
                         ms(mtime), ms(atime)))

    def content_summary(self, path):
        """ContentSummary of the tree at path (one namenode call)."""
        s = _lib.Summary()
        check(self._call("dfs_content_summary", _lib.encode(path),
                         ctypes.byref(s)))
        return ContentSummary(s)

    def checksum(self, path):
        """FileChecksum of a complete file (IsADirectoryError for a
        directory; OSError EBUSY for a file being written)."""
        c = _lib.FileChecksum()
        check(self._call("dfs_get_file_checksum", _lib.encode(path),
                         ctypes.byref(c)))
        return FileChecksum(c)

    def block_locations(self, path, offset=0, length=None):
        """The BlockLocations of the blocks of path overlapping
        [offset, offset + length) (length None: to the end), in order."""
        if length is None:
            length = _UINT64_MAX
        if offset < 0 or length < 0:
            raise ValueError("negative offset or length")
        lib = _lib.lib()
        arr = ctypes.POINTER(_lib.BlockLocation)()
        n = ctypes.c_size_t()
        check(self._call("dfs_get_block_locations", _lib.encode(path),
                         offset, length, ctypes.byref(arr),
                         ctypes.byref(n)))
        try:
            return [BlockLocation(arr[i]) for i in range(n.value)]
        finally:
            lib.dfs_free_block_locations(arr, n)

    # -------------------------------------------------------------- files
    def open_raw(self, path, mode="rb", *, replication=0, block_size=0,
                 parents=False, permissions=0o644, temporary=False):
        """A RawFile on path: mode "rb" read, "wb" create or replace, "xb"
        create (FileExistsError if it exists), "ab" append (created when
        missing).  replication/block_size 0: the client's defaults, then
        the namenode's.  parents: create missing parent directories.
        temporary: the file is deleted, not recovered, should this writer
        die (DFS_O_TEMPORARY; for files renamed into place)."""
        if mode not in ("rb", "wb", "xb", "ab"):
            raise ValueError("invalid mode: %r (rb, wb, xb or ab)" % mode)
        replication = _lib.unsigned(replication, "replication")
        block_size = _lib.unsigned(block_size, "block_size", 64)
        permissions = _lib.unsigned(permissions, "permissions")
        lib = _lib.lib()
        p = _lib.encode(path)
        out = ctypes.c_void_p()
        flags = ((_lib.DFS_O_PARENTS if parents else 0) |
                 (_lib.DFS_O_TEMPORARY if temporary else 0) |
                 (_lib.DFS_O_OVERWRITE if mode == "wb" else 0))
        h = self._enter()       # the file is registered before a close()
        try:
            if mode == "rb":
                rc = lib.dfs_open_read(h, p, ctypes.byref(out))
            elif mode == "ab":
                rc = lib.dfs_open_append(h, p, ctypes.byref(out))
                if rc == 1:             # NOENT: "a" creates a missing file
                    rc = lib.dfs_open_write(h, p, flags, permissions,
                                            replication, block_size,
                                            ctypes.byref(out))
                    if rc == 2:         # EXIST: created meanwhile; append
                        rc = lib.dfs_open_append(h, p, ctypes.byref(out))
            else:
                rc = lib.dfs_open_write(h, p, flags, permissions, replication,
                                        block_size, ctypes.byref(out))
            check(rc)
            return RawFile(self, out.value, os.fspath(path), mode)
        finally:
            self._leave()

    def open(self, path, mode="rb", buffering=-1, encoding=None, errors=None,
             newline=None, *, replication=0, block_size=0, parents=False,
             permissions=0o644, temporary=False):
        """Open path as builtin open() does: modes "r" "w" "x" "a", with
        "b" for bytes ("t" text, the default); '+' is not supported.

        Returns, as open() does: a binary reader io.BufferedReader, a
        binary writer dfs.file.BufferedWriter (an io.BufferedWriter whose
        flush() is hflush), a RawFile with buffering=0 (binary only), and
        io.TextIOWrapper over those in text mode (buffering=1: line
        buffered).  buffering > 1 is the buffer size (default 1 MiB).
        The keyword-only arguments are open_raw()'s."""
        kind, binary = _parse_mode(mode)
        if binary and (encoding is not None or errors is not None or
                       newline is not None):
            raise ValueError("binary mode doesn't take an encoding, errors "
                             "or newline argument")
        if buffering == 0 and not binary:
            raise ValueError("can't have unbuffered text I/O")
        line_buffering = buffering == 1 and not binary
        size = DEFAULT_BUFFER_SIZE if buffering in (-1, 1) else buffering
        raw = self.open_raw(path, kind + "b", replication=replication,
                            block_size=block_size, parents=parents,
                            permissions=permissions, temporary=temporary)
        if buffering == 0:
            return raw
        try:
            if kind == "r":
                buf = io.BufferedReader(raw, size)
            else:
                buf = BufferedWriter(raw, size)
            outer = buf
            if not binary:
                outer = io.TextIOWrapper(buf, encoding, errors, newline,
                                         line_buffering=line_buffering)
                outer.mode = mode       # as open() sets it
            raw._outer = weakref.ref(outer)     # what Client.close() closes
            return outer
        except BaseException:
            raw.close()
            raise


def connect(uri=None, user=None, **options):
    """Connect to a dfs namenode; returns a Client (a context manager).

    uri: "dfs://HOST[:PORT]", "HOST:PORT", "HOST" (port 8020), or None /
    "default" for the environment's default ($DFS_CONF's [client] namenode,
    then $DFS_NAMENODE, else 127.0.0.1:8020).  user: the user to act as
    (default: $DFS_USER or the login name, as libdfs decides).

    options (each maps to a dfs_options_* setter): conf (an INI file whose
    [client] section is read in place of $DFS_CONF's; $DFS_NAMENODE and
    $DFS_CLIENT_HOST still override it), timeout_ms, replication and
    block_size (defaults for new files), chunk_size, client_host (the
    address this client is seen at: dfs_options_set_client_host)."""
    return Client(uri, user, **options)
