#!/usr/bin/python3
"""mkdistinfo.py OUTDIR VERSION - write the dist-info directory of the
Python package dfs: METADATA, entry_points.txt (fsspec.specs: the dfs://
file system, so fsspec finds it without an import), top_level.txt.
Run by meson (libdfs/python/meson.build); OUTDIR is dfs-VERSION.dist-info."""

import os
import sys


def main(argv):
    if len(argv) != 3:
        print("usage: mkdistinfo.py OUTDIR VERSION", file=sys.stderr)
        return 2
    out, version = argv[1], argv[2]
    os.makedirs(out, exist_ok=True)
    files = {
        "METADATA": (
            "Metadata-Version: 2.1\n"
            "Name: dfs\n"
            "Version: %s\n"
            "Summary: Python access to dfs (file objects, fsspec dfs://) "
            "over libdfs.so\n"
            "License: Apache-2.0\n"
            "Requires-Python: >=3.9\n" % version),
        "entry_points.txt": (
            "[fsspec.specs]\n"
            "dfs = dfs.filesystem:DfsFileSystem\n"),
        "top_level.txt": "dfs\n",
        "INSTALLER": "meson\n",
    }
    for name, text in files.items():
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    # The directory's mtime tells ninja it is up to date.
    os.utime(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
