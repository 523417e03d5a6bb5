"""dfs - Python access to a dfs cluster, over libdfs.so (ctypes).

    import dfs
    c = dfs.connect("dfs://127.0.0.1:8020")
    with c.open("/data/x.csv", "rb") as f:
        head = f.read(100)

dfs.connect() returns a Client (client.py): ls, stat, mkdir, rm, mv, open,
block_locations, ...  Its open() returns Python file objects (file.py).
Failures raise the builtin OSError subclasses (errors.py).

Importing dfs also registers the fsspec file system of "dfs://" URLs
(filesystem.py), when fsspec is installed; the package's entry point
(fsspec.specs) does the same for programs that never import dfs.
See docs/python.md.
"""

from . import _lib
from .client import (BlockLocation, Client, ContentSummary, DirStream,
                     FileChecksum, FileStatus, Replica, connect)
from .errors import EXCEPTIONS
from .file import BufferedWriter, RawFile, ReadStats

__version__ = "0.1.0"

__all__ = ["connect", "Client", "DirStream", "FileStatus", "BlockLocation",
           "Replica", "FileChecksum", "ContentSummary", "RawFile",
           "BufferedWriter", "ReadStats", "EXCEPTIONS", "library_version"]


def library_version():
    """The version of the loaded libdfs ("MAJOR.MINOR.PATCH")."""
    return _lib.decode(_lib.lib().dfs_version())


def _register_fsspec():
    try:
        import fsspec
    except ImportError:
        return
    from .filesystem import DfsFileSystem
    fsspec.register_implementation("dfs", DfsFileSystem, clobber=True)


_register_fsspec()
