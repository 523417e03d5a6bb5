"""filesystem - dfs as an fsspec file system, for "dfs://HOST:PORT/path".

    import fsspec
    with fsspec.open("dfs://127.0.0.1:8020/data/x.csv") as f: ...
    pandas.read_csv("dfs://127.0.0.1:8020/data/x.csv")

DfsFileSystem is registered for the protocol "dfs" when the package is
imported, and by the package's fsspec.specs entry point, so fsspec finds it
without an import.  fsspec's own "hdfs" protocol (pyarrow) is left alone.

URLs: dfs://[USER@]HOST[:PORT]/path gives host, port (default 8020) and
user; dfs:///path (no host) the environment's default namenode, as
dfs.connect(None).  Inside the file system paths are the absolute dfs
paths ("/data/x.csv").  Instances are cached by fsspec (per host, port,
user, options and thread); those with the same arguments share one
dfs.Client per process.

Semantics (fsspec's interface, fsspec 2022.11):
 - ls/info entries: name, size, type ("file"/"directory"), mtime and
   atime (seconds), owner, group, mode (permission bits), replication,
   block_size, inode, complete.  A file lists as itself.
 - open(): DfsFile (an fsspec AbstractBufferedFile) for "rb", "wb"
   (creating missing parent directories, as HDFS does) and "ab".  Its
   flush() sends the buffer and hflushes (the bytes become visible to
   new readers); close() completes the file.  In a transaction
   (fs.transaction) a written file goes to a temporary file beside the
   target, renamed into place on commit, deleted on discard.
 - cat_file(path, start, end): Python slice semantics (negative from the
   end, clipped at the end of the file).
 - mv renames (one namenode call, replaces an existing file); rm with
   recursive deletes a tree in one call; du (total) is one content
   summary; checksum is the COMPOSITE-CRC32 of the contents (equal for
   equal bytes whatever the block size) with the length.
 - modified(): aware datetime (UTC).  created(): NotImplementedError, dfs
   (as HDFS) records no creation time.
"""

import datetime
import hashlib
import io
import os
import threading
import urllib.parse
import uuid
import weakref
from glob import has_magic

from fsspec.callbacks import _DEFAULT_CALLBACK
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem
from fsspec.utils import other_paths, stringify_path

from .client import Client

# AbstractFileSystem's own keyword arguments (its listings cache), kept
# from those passed on to dfs.connect().
_FSSPEC_KWARGS = ("use_listings_cache", "listings_expiry_time", "max_paths",
                  "asynchronous", "loop")

_clients = {}
_clients_lock = threading.Lock()


def _after_fork_in_child():
    """A forked child starts with no shared Client (the parent's are
    dropped, not disconnected: see Client._inherited) and a free lock."""
    global _clients_lock
    _clients_lock = threading.Lock()
    _clients.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _shared_client(uri, user, options):
    """The process's Client for these arguments (made on first use)."""
    key = (uri, user, tuple(sorted(options.items())))
    with _clients_lock:
        c = _clients.get(key)
        if c is None or c.closed:
            c = _clients[key] = Client(uri, user, **options)
        return c


class DfsFileSystem(AbstractFileSystem):
    """fsspec file system of a dfs cluster (see the module's docstring).

    DfsFileSystem(host=None, port=None, user=None, **options): options are
    dfs.connect()'s (timeout_ms, replication, block_size, chunk_size, conf,
    client_host).  host None (or "default"): the environment's default
    namenode."""

    protocol = "dfs"
    root_marker = "/"

    def __init__(self, host=None, port=None, user=None, **options):
        fs_kwargs = {k: options.pop(k) for k in _FSSPEC_KWARGS if k in options}
        super().__init__(**fs_kwargs)
        uri = None
        if host and host != "default":
            h = "[%s]" % host if ":" in host and not host.startswith("[") \
                else host
            uri = "dfs://%s:%d" % (h, int(port)) if port else "dfs://" + h
        elif port:
            raise ValueError("dfs: a port (%s) without a host" % port)
        self.host = host
        self.port = port
        self.user = user
        self._connect_args = (uri, user, options)
        self._client = None
        # unstrip_protocol()'s "[USER@]HOST:PORT": its URLs name this user.
        self._netloc = ("%s@" % urllib.parse.quote(user, safe="")
                        if user else "") + self.client.uri[len("dfs://"):]

    @property
    def client(self):
        """The dfs.Client of this file system: the process's shared one
        for its arguments, made again in a forked child (the parent's
        connections are not used there) or once closed."""
        c = self._client
        if c is None or c.closed or c._inherited():
            c = self._client = _shared_client(*self._connect_args)
        return c

    # ------------------------------------------------------------ paths
    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = stringify_path(path)
        if path.startswith("dfs://"):
            rest = path[len("dfs://"):]
            i = rest.find("/")
            path = rest[i:] if i >= 0 else "/"
        elif path.startswith("dfs::"):
            path = path[len("dfs::"):]
        return path.rstrip("/") or cls.root_marker

    @staticmethod
    def _get_kwargs_from_urls(path):
        path = stringify_path(path)
        if not path.startswith("dfs://"):
            return {}
        u = urllib.parse.urlsplit(path)
        out = {}
        if u.hostname:
            out["host"] = u.hostname
            if u.port is not None:
                out["port"] = u.port
        if u.username:
            out["user"] = urllib.parse.unquote(u.username)
        return out

    def unstrip_protocol(self, name):
        if name.startswith("dfs://"):
            return name
        return "dfs://%s%s" % (self._netloc, self.client.resolve(name))

    # --------------------------------------------------------- listings
    @staticmethod
    def _entry(st):
        return {
            "name": st.path,
            "size": st.size,
            "type": st.type,
            "mtime": st.mtime,
            "atime": st.atime,
            "owner": st.owner,
            "group": st.group,
            "mode": st.mode,
            "replication": st.replication,
            "block_size": st.block_size,
            "inode": st.inode,
            "complete": st.complete,
        }

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        entries = [self._entry(st) for st in self.client.scandir(path)]
        if detail:
            return entries
        return [e["name"] for e in entries]

    def info(self, path, **kwargs):
        return self._entry(self.client.stat(self._strip_protocol(path)))

    def exists(self, path, **kwargs):
        return self.client.exists(self._strip_protocol(path))

    def du(self, path, total=True, maxdepth=None, **kwargs):
        if not total or maxdepth is not None:
            return super().du(path, total=total, maxdepth=maxdepth, **kwargs)
        try:
            return self.client.content_summary(
                self._strip_protocol(path)).length
        except FileNotFoundError:
            return 0            # as fsspec's du (via find) of a missing path

    def checksum(self, path):
        path = self._strip_protocol(path)
        try:
            c = self.client.checksum(path)
        except IsADirectoryError:
            return super().checksum(path)
        except OSError as e:
            if getattr(e, "dfs_error", None) != "BUSY":
                raise
            return super().checksum(path)   # being written: by its info
        return (c.length << 32) | c.crc32

    def ukey(self, path):
        i = self.info(path)
        key = (i["name"], i["type"], i["size"], i["mtime"], i["inode"],
               i["complete"])
        return hashlib.sha256(repr(key).encode()).hexdigest()

    def created(self, path):
        raise NotImplementedError(
            "dfs records no creation time (as HDFS); see modified()")

    def modified(self, path):
        return datetime.datetime.fromtimestamp(self.info(path)["mtime"],
                                               datetime.timezone.utc)

    # -------------------------------------------------------- namespace
    def mkdir(self, path, create_parents=True, **kwargs):
        path = self._strip_protocol(path)
        mode = kwargs.get("mode", 0o755)
        if create_parents:
            self.client.makedirs(path, mode, exist_ok=False)
        else:
            self.client.mkdir(path, mode)

    def makedirs(self, path, exist_ok=False):
        self.client.makedirs(self._strip_protocol(path), exist_ok=exist_ok)

    def rmdir(self, path):
        self.client.rmdir(self._strip_protocol(path))

    def rm_file(self, path):
        self.client.rm(self._strip_protocol(path))

    def _rm(self, path):
        self.rm_file(path)

    def rm(self, path, recursive=False, maxdepth=None):
        if maxdepth is not None:
            return super().rm(path, recursive=recursive, maxdepth=maxdepth)
        gone = []
        for p in self.expand_path(path, recursive=False):
            if any(p == g or p.startswith(g.rstrip("/") + "/") for g in gone):
                continue        # in a tree deleted already
            self.client.rm(p, recursive=recursive)
            gone.append(p)

    def mv(self, path1, path2, recursive=False, maxdepth=None, **kwargs):
        if isinstance(path1, str) and not has_magic(path1):
            self.client.mv(self._strip_protocol(path1),
                           self._strip_protocol(path2), overwrite=True)
            return
        paths = self.expand_path(path1, recursive=False)
        if isinstance(path2, str) and self.isdir(path2):
            for p1 in paths:            # each into the directory
                self.client.mv(p1, self._strip_protocol(path2),
                               overwrite=True)
            return
        targets = other_paths(paths, self._strip_protocol(path2))
        for p1, p2 in zip(paths, targets):
            self.makedirs(self._parent(p2), exist_ok=True)
            self.client.mv(p1, p2, overwrite=True)

    def cp_file(self, path1, path2, **kwargs):
        path1 = self._strip_protocol(path1)
        path2 = self._strip_protocol(path2)
        st = self.client.stat(path1)
        if st.is_dir():
            self.makedirs(path2, exist_ok=True)
            return
        with self.client.open_raw(path1, "rb") as src, \
                self.client.open_raw(path2, "wb", parents=True,
                                     **_write_options(kwargs)) as dst:
            while True:
                data = src.read(self.blocksize)
                if not data:
                    break
                dst.write(data)

    def touch(self, path, truncate=True, **kwargs):
        path = self._strip_protocol(path)
        if truncate or not self.exists(path):
            self.pipe_file(path, b"", **kwargs)
        else:
            now = datetime.datetime.now(datetime.timezone.utc).timestamp()
            self.client.utime(path, mtime=now)

    # ------------------------------------------------------------- data
    def cat_file(self, path, start=None, end=None, **kwargs):
        with self.client.open_raw(self._strip_protocol(path), "rb") as f:
            size = f.length
            s = 0 if start is None else (start if start >= 0 else
                                         max(0, size + start))
            e = size if end is None else (end if end >= 0 else size + end)
            e = min(e, size)
            if e <= s:
                return b""
            return f.pread(e - s, s)

    def pipe_file(self, path, value, **kwargs):
        with self.client.open_raw(self._strip_protocol(path), "wb",
                                  parents=True,
                                  **_write_options(kwargs)) as f:
            f.write(value)

    def put_file(self, lpath, rpath, callback=_DEFAULT_CALLBACK, **kwargs):
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        with open(lpath, "rb") as src:
            size = src.seek(0, 2)
            callback.set_size(size)
            src.seek(0)
            with self.client.open_raw(self._strip_protocol(rpath), "wb",
                                      parents=True,
                                      **_write_options(kwargs)) as dst:
                while True:
                    data = src.read(self.blocksize)
                    if not data:
                        break
                    dst.write(data)
                    callback.relative_update(len(data))

    def _open(self, path, mode="rb", block_size=None, autocommit=True,
              cache_options=None, **kwargs):
        return DfsFile(self, self._strip_protocol(path), mode, block_size,
                       autocommit, cache_options=cache_options, **kwargs)


def _write_options(kwargs):
    """open_raw()'s arguments from fsspec keyword arguments: replication
    and dfs_block_size (fsspec's own block_size is a buffer size)."""
    return {"replication": int(kwargs.get("replication") or 0),
            "block_size": int(kwargs.get("dfs_block_size") or 0)}


def _reopen(fs, path, loc, block_size, cache_type, cache_options):
    """A pickled DfsFile reader, open again at its position."""
    f = DfsFile(fs, path, "rb", block_size, cache_type=cache_type,
                cache_options=cache_options)
    f.seek(loc)
    return f


class DfsFile(AbstractBufferedFile):
    """A dfs file opened through fsspec: mode "rb" (reads through fsspec's
    cache, cache_type "readahead" by default, each miss one positional
    read), "wb" or "ab" (buffered block_size bytes, default 5 MiB).
    Keyword arguments for writers: replication, dfs_block_size (of the new
    file), permissions."""

    def __init__(self, fs, path, mode="rb", block_size="default",
                 autocommit=True, cache_type="readahead", cache_options=None,
                 replication=0, dfs_block_size=0, permissions=0o644,
                 **kwargs):
        if mode not in ("rb", "wb", "ab"):
            raise NotImplementedError("File mode not supported: %r" % mode)
        if mode == "ab" and not autocommit:
            raise NotImplementedError("append inside a transaction")
        client = fs.client
        self._raw = None
        self._temp = None
        self._cache_args = (cache_type, cache_options)
        if mode == "rb":
            raw = client.open_raw(path, "rb")
            try:
                super().__init__(fs, path, mode, block_size, autocommit,
                                 cache_type=cache_type,
                                 cache_options=cache_options,
                                 size=raw.length, **kwargs)
            except BaseException:
                raw.close()
                raise
            self._raw = raw
            return
        target = path
        if not autocommit:
            parent, _, name = path.rpartition("/")
            self._temp = target = "%s/.%s.dfs-tmp-%s" % (parent, name,
                                                         uuid.uuid4().hex)
        raw = client.open_raw(target, mode, parents=True,
                              replication=int(replication or 0),
                              block_size=int(dfs_block_size or 0),
                              permissions=permissions,
                              temporary=not autocommit)
        try:
            super().__init__(fs, path, mode, block_size, autocommit,
                             cache_type=cache_type,
                             cache_options=cache_options, **kwargs)
        except BaseException:
            raw.abort() if mode == "wb" else raw.close()
            raise
        self._raw = raw
        raw._outer = weakref.ref(self)  # Client.close() sends the buffer
        self.loc = raw.tell()           # "ab": after the existing bytes
        self.offset = 0

    def __reduce__(self):
        """A reader pickles as its file system, path, position and cache
        settings, and opens again where it is unpickled (as fsspec's
        local files do); a writer cannot be pickled."""
        if self.mode != "rb":
            raise ValueError("cannot pickle %s: open for writing" % self.path)
        if self.closed:
            raise ValueError("cannot pickle %s: closed" % self.path)
        return _reopen, (self.fs, self.path, self.loc, self.blocksize,
                         *self._cache_args)

    def _fetch_range(self, start, end):
        return self._raw.pread(end - start, start)

    def _push(self):
        """Send the buffered bytes to the file."""
        data = self.buffer.getvalue()
        if data:
            self._raw.write(data)
            self.offset += len(data)
        self.buffer = io.BytesIO()

    def write(self, data):
        if self.mode not in {"wb", "ab"}:
            raise ValueError("File not in write mode")
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if self.forced:
            raise ValueError("This file has been force-flushed, can only close")
        out = self.buffer.write(data)
        self.loc += out
        if self.buffer.tell() >= self.blocksize:
            self._push()
        return out

    def flush(self, force=False):
        """Send what is buffered and hflush: visible to new readers.
        force (when closing): send it and complete the file."""
        if self.closed:
            raise ValueError("Flush on closed file")
        if force and self.forced:
            raise ValueError("Force flush cannot be called more than once")
        if self.mode not in {"wb", "ab"}:
            return
        self._push()
        if force:
            self.forced = True
            self._raw.close()
        else:
            self._raw.flush()

    def close(self):
        if getattr(self, "_unclosable", False) or self.closed:
            return
        try:
            super().close()
        except BaseException:
            raw = self._raw
            if raw is not None and not raw.closed:
                try:
                    raw.abort() if self.mode == "wb" else raw.close()
                except OSError:
                    pass
            self.closed = True
            raise
        if self._raw is not None and not self._raw.closed:
            self._raw.close()           # a reader

    def commit(self):
        """Transaction: rename the temporary file into place."""
        if self._temp is not None:
            self.fs.client.mv(self._temp, self.path, overwrite=True)
            self._temp = None

    def discard(self):
        """Transaction: delete the temporary file."""
        if self._temp is not None:
            try:
                self.fs.client.rm(self._temp)
            except FileNotFoundError:
                pass
            self._temp = None
