"""errors - DFS_ERR_* codes as Python exceptions, in one table.

Every failed libdfs call becomes the exception of its code below, built
like the builtins' (`cls(errno, message)`), where errno is the library's
dfs_errno() of the code and message the library's dfs_errmsg() text
(it names the path, block or datanode).  Each exception also carries
`.dfs_code` (the DFS_ERR_* number) and `.dfs_error` (its name, "NOENT").
"""

import builtins

from . import _lib

# DFS_ERR_* code -> exception class.  The library's dfs_errno() gives the
# errno; the codes not listed raise plain OSError with that errno.
EXCEPTIONS = {
    1: FileNotFoundError,       # NOENT
    2: FileExistsError,         # EXIST
    3: NotADirectoryError,      # NOTDIR
    4: IsADirectoryError,       # ISDIR
    # 5 NOTEMPTY: OSError(ENOTEMPTY)
    # 6 INVAL: OSError(EINVAL)
    7: PermissionError,         # PERM
    # 8 IO, 9 NOSPC, 10 SAFEMODE (EROFS), 11 PROTO, 12 NOMEM,
    # 13 UNAVAIL (EHOSTUNREACH), 14 CORRUPT (EIO): OSError
    15: builtins.TimeoutError,  # TIMEOUT
    16: ConnectionError,        # CONN: cannot reach a daemon (ECONNREFUSED)
    # 17 BUSY (EBUSY), 18 STALE (ESTALE), 19 XDEV (EINVAL): OSError
}


def error(code, message=None):
    """The exception for DFS_ERR_* `code` (positive), with `message`, by
    default the calling thread's dfs_errmsg() -- so call this right after
    the failed call, on the same thread."""
    lib = _lib.lib()
    if message is None:
        message = _lib.decode(lib.dfs_errmsg()) or _lib.decode(
            lib.dfs_strerror(code))
    cls = EXCEPTIONS.get(code, OSError)
    exc = cls(lib.dfs_errno(code), message)
    exc.dfs_code = code
    exc.dfs_error = (_lib.ERR_NAMES[code] if 0 <= code < len(_lib.ERR_NAMES)
                     else str(code))
    return exc


def check(rc):
    """Raise the exception of DFS_ERR_* code rc unless it is DFS_OK."""
    if rc != 0:
        raise error(rc)


def check_count(n):
    """Raise for a failed count-returning call (n < 0: -code); return n."""
    if n < 0:
        raise error(-n)
    return n
