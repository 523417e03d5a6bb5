"""file - dfs files as Python file objects.

`RawFile` is an io.RawIOBase over one dfs_file handle: a reader (mode "rb")
or a writer ("wb", "xb", "ab").  Client.open() returns it wrapped as
Python's open() does:

    mode "rb" (default)     io.BufferedReader(RawFile)
    mode "wb" / "xb" / "ab" BufferedWriter(RawFile)   (flush() = hflush)
    text modes "r" "w" ...  io.TextIOWrapper over the buffered object
    buffering=0             the RawFile itself (binary modes only)

A writer's flush() is dfs_hflush(): once it returns, every byte written so
far is on every datanode of the pipeline and visible to readers that open
the file afterwards.  close() completes the file (dfs_close()).  A reader
sees the file as it was when opened (its length then).

A file object belongs to one thread at a time (as a dfs_file does); the
Client it came from may be shared.
"""

import ctypes
import io
import os

from . import _lib
from .errors import check, check_count, error

# Buffer of Client.open()'s buffered objects: reads stream whole blocks
# from a datanode, so large reads cost one call each.
DEFAULT_BUFFER_SIZE = 1 << 20

_UINT64_MAX = (1 << 64) - 1


class ReadStats(_lib.Record):
    """What a reader has read (struct dfs_read_stats): bytes_read,
    local_bytes_read (from a datanode on this client's host),
    short_circuit_bytes_read, zero_copy_bytes_read."""

    __slots__ = ("bytes_read", "local_bytes_read", "short_circuit_bytes_read",
                 "zero_copy_bytes_read")


def _rbuf(b):
    """(ctypes array over writable buffer b, its memoryview)."""
    m = memoryview(b).cast("B")
    return (ctypes.c_char * m.nbytes).from_buffer(m), m


class RawFile(io.RawIOBase):
    """A dfs file as an io.RawIOBase (see the module's docstring).  Made by
    Client.open(..., buffering=0) or Client.open_raw(); `name` is the path
    it was opened with, `mode` "rb", "wb", "xb" or "ab"."""

    _h = None               # the dfs_file *, None once closed
    _outer = None           # weakref to the object wrapping it, if any

    def __init__(self, client, handle, path, mode):
        super().__init__()
        self._client = client
        self._h = handle
        self.name = path
        self.mode = mode
        client._files.add(self)

    # ------------------------------------------------------------ state
    def _handle(self):
        if self._h is None:
            raise ValueError("I/O operation on closed file")
        return self._h

    def _call(self, fname, *args):
        """libdfs's fname(this file's handle, *args), counted in flight on
        the Client (whose close() waits for it; RuntimeError after a
        fork)."""
        return self._client._call_on(self._handle(), fname, *args)

    def readable(self):
        self._handle()
        return self.mode == "rb"

    def writable(self):
        self._handle()
        return self.mode != "rb"

    def seekable(self):
        self._handle()
        return self.mode == "rb"

    def _need(self, reading):
        """ValueError when closed; io.UnsupportedOperation when not open
        for reading (reading=True) or writing (False)."""
        self._handle()
        if reading and self.mode != "rb":
            raise io.UnsupportedOperation("not readable: %s opened for "
                                          "writing" % self.name)
        if not reading and self.mode == "rb":
            raise io.UnsupportedOperation("not writable: %s opened for "
                                          "reading" % self.name)

    @property
    def length(self):
        """Reader: the file's length as opened.  Writer: its length so far
        (what was written included; an appender counts the old bytes)."""
        return self._call("dfs_file_length")

    # ----------------------------------------------------------- reading
    def readinto(self, b):
        """Read up to len(b) bytes at the position into b; the count (0 at
        the end of the file)."""
        self._need(True)
        buf, m = _rbuf(b)
        with m:
            if not m.nbytes:
                return 0
            n = self._call("dfs_read", buf, m.nbytes)
            del buf
        return check_count(n)

    def readall(self):
        """The rest of the file, in as few calls as its length allows."""
        self._need(True)
        left = self._call("dfs_file_length") - self._call("dfs_tell")
        if left <= 0:
            return b""
        out = bytearray(left)
        got = 0
        while got < left:
            n = self.readinto(memoryview(out)[got:])
            if n == 0:
                break
            got += n
        del out[got:]
        return bytes(out)

    def pread(self, size, offset):
        """Up to size bytes at offset (fewer only at the end of the file);
        the position does not move."""
        self._need(True)
        if size < 0:
            raise ValueError("negative size %d" % size)
        offset = _lib.unsigned(offset, "offset", 64)   # never wrapped
        out = bytearray(size)
        got = 0
        while got < size:
            buf, m = _rbuf(memoryview(out)[got:])
            with m:
                n = self._call("dfs_pread", buf, m.nbytes, offset + got)
                del buf
            if check_count(n) == 0:
                break
            got += n
        del out[got:]
        return bytes(out)

    def seek(self, offset, whence=os.SEEK_SET):
        """Move a reader's position (whence SEEK_SET, SEEK_CUR, SEEK_END);
        past the end is allowed (reads then return b"").  A writer can
        only tell where it is (seek(0, SEEK_CUR))."""
        self._handle()
        if self.mode != "rb":
            if offset == 0 and whence == os.SEEK_CUR:
                return self._call("dfs_tell")
            raise io.UnsupportedOperation("seek: %s is opened for writing"
                                          % self.name)
        if whence == os.SEEK_SET:
            pos = offset
        elif whence == os.SEEK_CUR:
            pos = self._call("dfs_tell") + offset
        elif whence == os.SEEK_END:
            pos = self._call("dfs_file_length") + offset
        else:
            raise ValueError("invalid whence (%r, should be 0, 1 or 2)"
                             % (whence,))
        if pos < 0:
            raise error(6, "Invalid argument: seek to %d" % pos)
        if pos > _UINT64_MAX:
            raise OverflowError("seek to %d: past a 64-bit offset" % pos)
        check(self._call("dfs_seek", pos))
        return pos

    def tell(self):
        """The position: of the next read, or a writer's length so far."""
        return self._call("dfs_tell")

    def read_stats(self):
        """ReadStats of this reader since it was opened (or since
        clear_read_stats())."""
        st = _lib.ReadStats()
        self._need(True)
        check(self._call("dfs_get_read_stats", ctypes.byref(st)))
        return ReadStats(st)

    def clear_read_stats(self):
        self._need(True)
        self._call("dfs_clear_read_stats")

    # ----------------------------------------------------------- writing
    def write(self, b):
        """Append the bytes of b (queued to the pipeline); returns len(b)."""
        self._need(False)
        m = memoryview(b).cast("B")
        with m:
            n = m.nbytes
            if n == 0:
                return 0
            if m.readonly:
                data = b if isinstance(b, bytes) else m.tobytes()
                check(self._call("dfs_write", data, n))
            else:
                buf = (ctypes.c_char * n).from_buffer(m)
                try:
                    check(self._call("dfs_write", buf, n))
                finally:
                    del buf
        return n

    def flush(self):
        """Writer: dfs_hflush() (every byte written is on the pipeline's
        datanodes and visible to new readers).  Reader: nothing."""
        if self._h is None:
            if not super().closed:
                return          # IOBase.close() flushing: close() did it
            raise ValueError("I/O operation on closed file")
        if self.mode != "rb":
            check(self._call("dfs_hflush"))

    def hsync(self):
        """hflush, and the datanodes fsync the bytes to disk."""
        self._need(False)
        check(self._call("dfs_hsync"))

    # ----------------------------------------------------------- closing
    def close(self):
        """Close: a writer completes its file (an error means it did not,
        see dfs_close()).  The handle is freed either way."""
        if self._h is not None:
            check(self._client._release(self, "dfs_close"))
        super().close()

    def _close_from_client(self):
        """Client.close(): close the outermost object over this file (a
        buffered or text wrapper writes what it buffers first), else this
        file."""
        outer = self._outer() if self._outer is not None else None
        (outer if outer is not None else self).close()

    def abort(self):
        """Give up a file being written: the file is deleted (dfs_abort()).
        For a reader, close()."""
        if self._h is not None:
            check(self._client._release(self, "dfs_abort"))
        super().close()

    @property
    def closed(self):
        return self._h is None

    __reduce__ = _lib.unpicklable

    def __repr__(self):
        return "<dfs.RawFile name=%r mode=%r%s>" % (
            self.name, self.mode, " closed" if self._h is None else "")


class BufferedWriter(io.BufferedWriter):
    """io.BufferedWriter whose flush() is also the file's hflush (the
    buffer is written out, then dfs_hflush()); close() writes the buffer
    and completes the file without an hflush of its own."""

    def flush(self):
        super().flush()
        self.raw.flush()

    def hsync(self):
        super().flush()
        self.raw.hsync()

    def close(self):
        if self.raw.closed:
            return
        try:
            io.BufferedWriter.flush(self)
        finally:
            self.raw.close()

    def abort(self):
        """Drop what is buffered and delete the file (RawFile.abort())."""
        self.raw.abort()
