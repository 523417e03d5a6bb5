"""dask - Dask tasks scheduled on the hosts of the blocks they read.

    from distributed import Client
    import dfs.dask

    dc = Client("tcp://scheduler:8786")
    counts = dc.gather(dfs.dask.read_blocks(
        "dfs://nn:8020/logs/*.txt", lambda data: data.count(b"\\n")))
    lines = dfs.dask.read_text("dfs://nn:8020/logs/*.txt")     # dask.bag
    df = dfs.dask.read_csv("dfs://nn:8020/tables/part-*.csv")  # dask.dataframe

read_blocks() submits one task per block of every file it names to a Dask
distributed cluster, restricted to the hosts of the block's replicas as a
preference (workers=HOSTS, allow_other_workers=True: a task whose hosts
run no worker, or whose workers are gone, runs elsewhere).  A task reads
the records of its block: the byte range of the block, aligned to records
(lines by default):

  - a record belongs to the block its first byte is in, except that a
    record starting exactly at a block's end belongs to that block too (as
    Hadoop's line reader does);
  - so the task for [off, end) skips the head up to and including the
    first delimiter at or after off (unless off is 0: the file's start),
    and reads on past end through the first delimiter at or after end (the
    record that crosses the boundary, or starts on it), or to the end of
    the file.

Every record of a file is thus read by exactly one task.  A task reads
its block from the replica closest to it and only the few bytes of the
crossing record from the next block; on a worker on a datanode's host the
block itself is a local read.

Inside a task the dfs client is connected with client_host set to the
worker's own address (distributed.get_worker().address, when it is an IP
address), so the cluster sees the task at its worker's host: a replica on
that host counts as local (the datanode counts those bytes as
bytes_read_local, `dfs report`).  The connection is made once per worker
process (and per namenode and user) and kept.

The dfs cluster comes from the URL ("dfs://HOST:PORT/path"), else from
uri= ("dfs://HOST:PORT", "HOST:PORT"), else from the environment of the
calling process (dfs.connect(None)); the tasks connect to the same
namenode, as the same user.  The Dask cluster is `client` (a
distributed.Client), else the current one (distributed.get_client()).
"""

import io
import ipaddress
import uuid
from glob import has_magic

from .filesystem import DfsFileSystem, _shared_client

__all__ = ["Block", "blocks", "read_blocks", "read_text", "read_csv"]


class Block:
    """One block of a file, as a task reads it.

    path       the file (absolute dfs path)
    index      the block's number in the file (0 first)
    offset     its first byte in the file
    length     its length in bytes
    file_size  the file's length
    hosts      the hosts of its replicas, closest to the caller first
    """

    __slots__ = ("path", "index", "offset", "length", "file_size", "hosts")

    def __init__(self, path, index, offset, length, file_size, hosts):
        self.path = path
        self.index = index
        self.offset = offset
        self.length = length
        self.file_size = file_size
        self.hosts = list(hosts)

    def __reduce__(self):
        return (Block, (self.path, self.index, self.offset, self.length,
                        self.file_size, self.hosts))

    def __repr__(self):
        return "Block(%r #%d, offset=%d, length=%d, hosts=%r)" % (
            self.path, self.index, self.offset, self.length, self.hosts)


# ------------------------------------------------------------ the driver

def _filesystem(urlpath, uri, user):
    """The DfsFileSystem of urlpath's cluster (its URL's host and user,
    else uri and user, else the environment's default namenode); for a
    list, its first item's (all must be on that cluster)."""
    if isinstance(urlpath, (list, tuple)):
        if not urlpath:
            raise ValueError("dfs.dask: an empty list of paths")
        urlpath = urlpath[0]
    kw = DfsFileSystem._get_kwargs_from_urls(urlpath)
    if not kw and uri is not None and uri != "default":
        u = uri if "://" in uri else "dfs://" + uri
        kw = DfsFileSystem._get_kwargs_from_urls(u.rstrip("/") + "/")
        if not kw:
            raise ValueError("dfs.dask: bad namenode URI %r" % uri)
    if user is not None:
        kw["user"] = user
    return DfsFileSystem(**kw)


def _visible(name):
    """Not a hidden or bookkeeping file (".x", "_SUCCESS", "._COPYING_")."""
    base = name.rsplit("/", 1)[-1]
    return not base.startswith((".", "_"))


def _expand(fs, urlpath):
    """The files urlpath names, in order: a file; the visible files of a
    directory (sorted; maybe none); the files a glob pattern matches
    (sorted); a list of any of those, concatenated.  FileNotFoundError
    for a path that does not exist or a pattern that matches no file."""
    if isinstance(urlpath, (list, tuple)):
        out = []
        for p in urlpath:
            out += _expand(fs, p)
        return out
    path = fs._strip_protocol(urlpath)
    if has_magic(path):
        found = sorted(p for p, e in fs.glob(path, detail=True).items()
                       if e["type"] == "file")
        if not found:
            raise FileNotFoundError(2, "no file matches %s" % urlpath)
        return found
    st = fs.client.stat(path)
    if st.is_file():
        return [st.path]
    return [e.path for e in fs.client.scandir(st.path)
            if e.is_file() and _visible(e.path)]


def blocks(urlpath, *, uri=None, user=None):
    """The Blocks of every file urlpath names (a dfs path or URL, a glob
    pattern, a directory, or a list of those), file by file in block
    order.  An empty file has none."""
    fs = _filesystem(urlpath, uri, user)
    return _plan(fs, urlpath)


def _plan(fs, urlpath):
    out = []
    for path in _expand(fs, urlpath):
        locs = fs.client.block_locations(path)
        size = locs[-1].offset + locs[-1].length if locs else 0
        for i, b in enumerate(locs):
            out.append(Block(path, i, b.offset, b.length, size, b.hosts))
    return out


def _dask_client(client):
    if client is not None:
        return client
    from distributed import get_client
    return get_client()


def read_blocks(urlpath, fn, *, client=None, uri=None, user=None,
                locality=True, delimiter=b"\n", with_block=False, args=(),
                kwargs=None):
    """Run fn on the records of every block of the files urlpath names,
    one Dask task per block; returns the tasks' futures (a list of
    distributed.Future, in file and block order), whose results are fn's.

    urlpath   a dfs path or "dfs://HOST:PORT/path" URL of a file, a
              directory (its files not starting with "." or "_"), a glob
              pattern, or a list of those
    fn        called in the task as fn(data, *args, **kwargs), data a
              bytearray of the block's whole records (see the module's
              docstring), each ending with the delimiter but maybe the
              file's last; empty when none starts in the block.  With
              with_block=True: fn(data, block, *args, **kwargs), block the
              Block read
    client    the distributed.Client (default: the current one)
    uri, user the dfs cluster and user when urlpath is not a URL
              (default: the environment's, as dfs.connect())
    locality  True: each task prefers the workers on its replicas' hosts
              (workers=HOSTS, allow_other_workers=True); False: no
              preference, Dask places the tasks as it likes
    delimiter the record delimiter, one byte (default b"\\n": lines)

    The files are listed and their blocks located once, here; a file
    that changes meanwhile is read as it then is, up to its length
    here.  Errors in a task (e.g. a file deleted) are raised by its
    future's result()."""
    if not isinstance(delimiter, bytes) or len(delimiter) != 1:
        raise ValueError("dfs.dask: delimiter must be one byte, not %r"
                         % (delimiter,))
    dc = _dask_client(client)
    fs = _filesystem(urlpath, uri, user)
    target = (fs.client.uri, fs.client.user)
    kwargs = kwargs or {}
    token = uuid.uuid4().hex
    name = getattr(fn, "__name__", "fn")
    futures = []
    for i, b in enumerate(_plan(fs, urlpath)):
        where = {}
        if locality and b.hosts:
            where = {"workers": b.hosts, "allow_other_workers": True}
        futures.append(dc.submit(_task, target, b, delimiter, fn,
                                 with_block, args, kwargs,
                                 key="dfs-%s-%s-%d" % (name, token, i),
                                 pure=False, **where))
    return futures


# ------------------------------------------------------------- the tasks

def _worker_host():
    """This worker's IP address (from its Dask address), or None outside
    a worker or when it is a host name."""
    try:
        from distributed import get_worker
        from distributed.comm import get_address_host
        host = get_address_host(get_worker().address)
    except (ImportError, ValueError):
        return None
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return host


def _worker_client(uri, user):
    """The dfs.Client of this process for (uri, user), seen at the
    worker's host."""
    host = _worker_host()
    return _shared_client(uri, user, {"client_host": host} if host else {})


def _through_delim(f, pos, limit, delim):
    """The bytes of f from pos through the first delimiter (included), or
    to limit when there is none before it; read in pieces of 4 KiB,
    doubled each time, so a short record costs a small request."""
    piece, parts = 4096, []
    while pos < limit:
        got = f.pread(min(piece, limit - pos), pos)
        if not got:
            break
        i = got.find(delim)
        if i >= 0:
            parts.append(got[:i + 1])
            break
        parts.append(got)
        pos += len(got)
        piece *= 2
    return b"".join(parts)


def _read_records(f, block, delim):
    """The bytes of block's records (a bytearray), read through RawFile f
    (see the module's docstring)."""
    off, end, size = block.offset, block.offset + block.length, block.file_size
    # The small reads first: the record crossing (or starting at) the end,
    # then the head to skip.  Neither continues a previous read, so libdfs
    # asks the datanodes for just these ranges, not for the rest of their
    # blocks (the next block may well be on another host).
    tail = _through_delim(f, end, size, delim) if end < size else b""
    start = off
    if off != 0:
        head = _through_delim(f, off, end, delim)
        if not head.endswith(delim):
            return bytearray()  # one record spans the block: the previous one's
        start += len(head)
    # The rest of the block straight into the buffer handed to fn (one
    # copy, by libdfs).
    data = bytearray(end - start + len(tail))
    with memoryview(data) as view:
        f.seek(start)
        got = 0
        while got < end - start:
            n = f.readinto(view[got:end - start])
            if not n:
                raise OSError(5, "%s: short read of block %d (%d of %d bytes "
                              "at offset %d)" % (block.path, block.index, got,
                                                 end - start, start))
            got += n
        view[end - start:] = tail
    return data


def _task(target, block, delim, fn, with_block, args, kwargs):
    uri, user = target
    c = _worker_client(uri, user)
    with c.open_raw(block.path, "rb") as f:
        data = _read_records(f, block, delim)
    if with_block:
        return fn(data, block, *args, **kwargs)
    return fn(data, *args, **kwargs)


# ----------------------------------------------------- bags and frames

def _lines(data, encoding, errors):
    """data's lines, split at b"\\n" (kept), decoded."""
    parts = data.decode(encoding, errors).split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


def read_text(urlpath, *, encoding="utf-8", errors="strict", client=None,
              uri=None, user=None, locality=True):
    """A dask.bag of the lines (str, each with its "\\n" but maybe a file's
    last) of the files urlpath names (see read_blocks()), one partition
    per block; encoding must be one where b"\\n" is always a line end
    (UTF-8, ASCII, Latin-1: not UTF-16).  The reads start at once (read_blocks' futures
    back the bag) and stay in the workers' memory while the bag lives;
    its operations run where the partitions are."""
    import dask.bag as db
    futures = read_blocks(urlpath, _lines, client=client, uri=uri, user=user,
                          locality=locality, args=(encoding, errors))
    if not futures:
        return db.from_sequence([], npartitions=1)
    return db.from_delayed(futures)


# pandas.read_csv arguments that cannot work on each block alone.
_CSV_REFUSED = ("skiprows", "skipfooter", "nrows", "chunksize", "iterator",
                "filepath_or_buffer", "header")


def _parse_csv(data, block, has_header, names, kwargs, meta):
    """The DataFrame of one block's CSV records: the first block of a file
    starts with its header row (when has_header); the others are named
    names (every column of the file)."""
    import pandas as pd
    if not data:
        return meta.copy()
    kw = dict(kwargs)
    if block.offset == 0 and has_header:
        kw["header"] = 0
    else:
        kw["header"] = None
        kw["names"] = names
    df = pd.read_csv(io.BytesIO(data), **kw)
    if "dtype" not in kwargs:
        for col, want in meta.dtypes.items():
            if col in df.columns and df[col].dtype != want:
                try:
                    df[col] = df[col].astype(want)
                except (TypeError, ValueError) as e:
                    raise ValueError(
                        "dfs.dask.read_csv: %s block %d: column %r is %s, "
                        "%s in the sample (%s); pass dtype="
                        % (block.path, block.index, col, df[col].dtype, want,
                           e)) from None
    return df


def read_csv(urlpath, *, client=None, uri=None, user=None, locality=True,
             has_header=True, sample=256000, **kwargs):
    """A dask.dataframe of the CSV files urlpath names (see read_blocks()),
    one partition per block, each parsed with pandas.read_csv(**kwargs).

    has_header: the first line of every file is its header row (unless
    kwargs give names=, which then name the columns of headerless files).
    The columns and dtypes come from the first `sample` bytes of the first
    file; a later block whose column does not convert to the sample's
    dtype fails, naming it (pass dtype= then).  As with
    dask.dataframe.read_csv, a quoted field must not hold a line end, and
    each partition's index starts at 0.  header (use has_header),
    skiprows, skipfooter, nrows, chunksize and iterator are refused.  The
    reads start at once, as read_text()'s."""
    import dask.dataframe as dd
    import pandas as pd
    for k in _CSV_REFUSED:
        if k in kwargs:
            raise ValueError("dfs.dask.read_csv: %s= is not supported (each "
                             "block is parsed on its own)" % k)
    if kwargs.get("names") is not None:
        has_header = False
    fs = _filesystem(urlpath, uri, user)
    files = _expand(fs, urlpath)
    if not files:       # the columns come from a file: there must be one
        raise FileNotFoundError(2, "no data file in %s" % (urlpath,))
    with fs.client.open_raw(files[0], "rb") as f:
        head = f.pread(sample, 0)
    if len(head) == sample and b"\n" in head:
        head = head[:head.rindex(b"\n") + 1]
    header = 0 if has_header else None
    meta = pd.read_csv(io.BytesIO(head), header=header, **kwargs).iloc[:0]
    names = kwargs.get("names")
    if names is None:       # every column of the file, index and unused too
        plain = {k: v for k, v in kwargs.items()
                 if k not in ("index_col", "usecols", "dtype", "parse_dates",
                              "converters")}
        names = list(pd.read_csv(io.BytesIO(head), header=header,
                                 nrows=0, **plain).columns)
    futures = read_blocks(files, _parse_csv, client=client,
                          uri=fs.client.uri, user=fs.client.user,
                          locality=locality, with_block=True,
                          args=(has_header, names, kwargs, meta))
    if not futures:
        return dd.from_pandas(meta, npartitions=1)
    return dd.from_delayed(futures, meta=meta, verify_meta=False)
