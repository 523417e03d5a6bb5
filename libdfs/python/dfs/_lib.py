"""_lib - the ctypes binding of libdfs.so: the library, its structs and the
signature of every call the package makes.  Nothing else in the package
touches ctypes declarations; callers use `lib()` and the structs here.

The library is $DFS_LIBDFS when set (a path, e.g. a build tree's
libdfs/libdfs.so.0), else "libdfs.so.0" found by the dynamic linker (its
soname, as installed by `meson install`).  It is loaded on first use, so
`import dfs` works without it; the first call that needs it raises
OSError naming what was tried.

The structs mirror libdfs/include/dfs.h field by field (ctypes lays them
out as the C compiler does); tests/python/test_file.py compares their
sizes and offsets with the compiler's.
"""

import ctypes
import operator
import os
import threading

from ctypes import (POINTER, Structure, c_char, c_char_p, c_int, c_int64,
                    c_size_t, c_uint, c_uint32, c_uint64, c_void_p)

SONAME = "libdfs.so.0"

# enum dfs_err (dfs.h): the numbers of the wire Status.
DFS_OK = 0
ERR_NAMES = ("OK", "NOENT", "EXIST", "NOTDIR", "ISDIR", "NOTEMPTY", "INVAL",
             "PERM", "IO", "NOSPC", "SAFEMODE", "PROTO", "NOMEM", "UNAVAIL",
             "CORRUPT", "TIMEOUT", "CONN", "BUSY", "STALE", "XDEV")

# enum dfs_file_type
DFS_TYPE_FILE = 1
DFS_TYPE_DIR = 2

# dfs_open_write() flags
DFS_O_OVERWRITE = 0x1
DFS_O_PARENTS = 0x2
DFS_O_TEMPORARY = 0x4


class Stat(Structure):
    """struct dfs_stat"""
    _fields_ = [
        ("inode", c_uint64),
        ("type", c_int),
        ("mode", c_uint),
        ("owner", c_char * 64),
        ("group", c_char * 64),
        ("mtime_ms", c_uint64),
        ("atime_ms", c_uint64),
        ("length", c_uint64),
        ("replication", c_uint),
        ("block_size", c_uint64),
        ("complete", c_int),
        ("name", c_char * 256),
    ]


class Summary(Structure):
    """struct dfs_summary"""
    _fields_ = [
        ("length", c_uint64),
        ("files", c_uint64),
        ("dirs", c_uint64),
        ("space_consumed", c_uint64),
    ]


class ReadStats(Structure):
    """struct dfs_read_stats"""
    _fields_ = [
        ("bytes_read", c_uint64),
        ("local_bytes_read", c_uint64),
        ("short_circuit_bytes_read", c_uint64),
        ("zero_copy_bytes_read", c_uint64),
    ]


class Location(Structure):
    """struct dfs_location"""
    _fields_ = [
        ("host", c_char * 256),
        ("port", c_uint),
        ("rack", c_char * 256),
        ("storage_id", c_char * 64),
        ("corrupt", c_int),
    ]


class BlockLocation(Structure):
    """struct dfs_block_location"""
    _fields_ = [
        ("offset", c_uint64),
        ("length", c_uint64),
        ("id", c_uint64),
        ("genstamp", c_uint64),
        ("nlocs", c_uint),
        ("locs", POINTER(Location)),
    ]


class FileChecksum(Structure):
    """struct dfs_file_checksum"""
    _fields_ = [
        ("algorithm", c_char * 32),
        ("length", c_uint64),
        ("crc32", c_uint32),
        ("value", c_char * 65),
    ]


# Every struct above, by its C name (the layout test walks this).
STRUCTS = {
    "dfs_stat": Stat,
    "dfs_summary": Summary,
    "dfs_read_stats": ReadStats,
    "dfs_location": Location,
    "dfs_block_location": BlockLocation,
    "dfs_file_checksum": FileChecksum,
}

_p = c_void_p           # opaque handles: dfs_options *, dfs_fs *, ...
_pp = POINTER(c_void_p)

# name: (restype, argtypes).  Calls returning a DFS_ERR_* code have restype
# c_int; those returning a byte count or -err, c_int64.
SIGNATURES = {
    "dfs_strerror": (c_char_p, [c_int]),
    "dfs_errmsg": (c_char_p, []),
    "dfs_errno": (c_int, [c_int]),
    "dfs_version": (c_char_p, []),

    "dfs_options_create": (_p, []),
    "dfs_options_destroy": (None, [_p]),
    "dfs_options_load_conf": (c_int, [_p, c_char_p]),
    "dfs_options_load_env": (c_int, [_p]),
    "dfs_options_set_namenode": (c_int, [_p, c_char_p]),
    "dfs_options_set_user": (None, [_p, c_char_p]),
    "dfs_options_set_timeout_ms": (None, [_p, c_uint]),
    "dfs_options_set_replication": (None, [_p, c_uint]),
    "dfs_options_set_block_size": (None, [_p, c_uint64]),
    "dfs_options_set_chunk_size": (c_int, [_p, c_uint]),

    "dfs_connect": (c_int, [_p, _pp]),
    "dfs_disconnect": (None, [_p]),
    "dfs_get_uri": (c_int, [_p, c_char_p, c_size_t]),
    "dfs_get_user": (c_char_p, [_p]),
    "dfs_set_working_directory": (c_int, [_p, c_char_p]),
    "dfs_get_working_directory": (c_int, [_p, c_char_p, c_size_t]),
    "dfs_resolve_path": (c_int, [_p, c_char_p, c_char_p, c_size_t]),
    "dfs_get_default_block_size": (c_int, [_p, POINTER(c_uint64)]),
    "dfs_get_default_replication": (c_int, [_p, POINTER(c_uint)]),

    "dfs_mkdir": (c_int, [_p, c_char_p, c_uint, c_int]),
    "dfs_create": (c_int, [_p, c_char_p, c_uint]),
    "dfs_stat": (c_int, [_p, c_char_p, POINTER(Stat)]),
    "dfs_delete": (c_int, [_p, c_char_p, c_int]),
    "dfs_rename": (c_int, [_p, c_char_p, c_char_p, c_int]),
    "dfs_set_replication": (c_int, [_p, c_char_p, c_uint]),
    "dfs_chmod": (c_int, [_p, c_char_p, c_uint]),
    "dfs_chown": (c_int, [_p, c_char_p, c_char_p, c_char_p]),
    "dfs_utimes": (c_int, [_p, c_char_p, c_int64, c_int64]),
    "dfs_content_summary": (c_int, [_p, c_char_p, POINTER(Summary)]),

    "dfs_opendir": (c_int, [_p, c_char_p, _pp]),
    "dfs_readdir": (c_int, [_p, POINTER(Stat)]),
    "dfs_closedir": (None, [_p]),

    "dfs_open_write": (c_int, [_p, c_char_p, c_int, c_uint, c_uint, c_uint64,
                               _pp]),
    "dfs_open_append": (c_int, [_p, c_char_p, _pp]),
    "dfs_open_read": (c_int, [_p, c_char_p, _pp]),
    "dfs_write": (c_int, [_p, c_void_p, c_size_t]),
    "dfs_hflush": (c_int, [_p]),
    "dfs_hsync": (c_int, [_p]),
    "dfs_pread": (c_int64, [_p, c_void_p, c_size_t, c_uint64]),
    "dfs_read": (c_int64, [_p, c_void_p, c_size_t]),
    "dfs_seek": (c_int, [_p, c_uint64]),
    "dfs_file_length": (c_uint64, [_p]),
    "dfs_tell": (c_uint64, [_p]),
    "dfs_get_read_stats": (c_int, [_p, POINTER(ReadStats)]),
    "dfs_clear_read_stats": (None, [_p]),
    "dfs_close": (c_int, [_p]),
    "dfs_abort": (c_int, [_p]),

    "dfs_get_block_locations": (c_int, [_p, c_char_p, c_uint64, c_uint64,
                                        POINTER(POINTER(BlockLocation)),
                                        POINTER(c_size_t)]),
    "dfs_free_block_locations": (None, [POINTER(BlockLocation), c_size_t]),
    "dfs_get_file_checksum": (c_int, [_p, c_char_p, POINTER(FileChecksum)]),
}

# Calls that a library may lack (added to dfs.h later): bound when present.
OPTIONAL_SIGNATURES = {
    "dfs_options_set_client_host": (c_int, [_p, c_char_p]),
}

_lock = threading.Lock()
_lib = None


def _load():
    path = os.environ.get("DFS_LIBDFS")
    name = path or SONAME
    try:
        cdll = ctypes.CDLL(name)
    except OSError as e:
        hint = ("$DFS_LIBDFS" if path else
                "the dynamic linker (install libdfs, or set $DFS_LIBDFS to "
                "the path of libdfs.so.0)")
        raise OSError("dfs: cannot load %s, as given by %s: %s"
                      % (name, hint, e)) from None
    for fname, (res, args) in SIGNATURES.items():
        fn = getattr(cdll, fname)
        fn.restype = res
        fn.argtypes = args
    for fname, (res, args) in OPTIONAL_SIGNATURES.items():
        if hasattr(cdll, fname):
            fn = getattr(cdll, fname)
            fn.restype = res
            fn.argtypes = args
    return cdll


def lib():
    """The loaded libdfs (ctypes.CDLL), every call declared; loaded on
    the first call.  Raises OSError when the library cannot be loaded."""
    global _lib
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib = _load()
    return _lib


def has(name):
    """True when the loaded libdfs exports the call `name`."""
    return hasattr(lib(), name)


def unsigned(value, what, bits=32):
    """value (an int) for an unsigned parameter of dfs.h of `bits` bits:
    ctypes would wrap -1 to 2**bits - 1, so a value out of range raises
    ValueError naming `what`; a non-int TypeError."""
    v = operator.index(value)
    if not 0 <= v < 1 << bits:
        raise ValueError("%s %d out of range [0, %d]"
                         % (what, v, (1 << bits) - 1))
    return v


def encode(s):
    """A str (or os.PathLike / bytes) as the UTF-8 bytes dfs.h takes.
    Undecodable bytes carried as surrogates (os.fsdecode()'s
    surrogateescape) go back as those bytes, for the library to judge
    (it refuses bad UTF-8 with EINVAL naming the path)."""
    if isinstance(s, bytes):
        return s
    s = os.fspath(s)
    if isinstance(s, bytes):
        return s
    return s.encode("utf-8", "surrogateescape")


def unpicklable(obj, *args):
    """__reduce__ of the objects over a libdfs handle: a handle means
    nothing in another process (nor twice in this one), so pickling one
    raises TypeError, as for Python's files and sockets."""
    raise TypeError("cannot pickle %r object: it holds a libdfs handle "
                    "(pickle a dfs.filesystem.DfsFileSystem, or connect "
                    "again where it is needed)" % type(obj).__name__)


class HandleOwner:
    """Base of the objects that own a libdfs handle and free it in their
    close(): a context manager that closes it, closed when collected, and
    never pickled (see unpicklable())."""

    __reduce__ = unpicklable

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:                   # noqa: BLE001 - nothing to tell
            pass


class Record:
    """Base of the plain copies of a struct of numbers: a subclass names
    the struct's fields in __slots__; Record(st) copies them from st."""

    __slots__ = ()

    def __init__(self, st):
        for k in self.__slots__:
            setattr(self, k, getattr(st, k))

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join(
            "%s=%d" % (k, getattr(self, k)) for k in self.__slots__))


def decode(b):
    """Bytes from the library (a char array or char *) as str."""
    return b.decode("utf-8", "replace") if b is not None else ""
