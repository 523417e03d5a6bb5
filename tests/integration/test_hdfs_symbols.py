"""libhdfs.so's ABI: it exports exactly the symbols of libdfs/hdfs/libhdfs.map,
which are exactly the functions declared in include/hdfs.h and
include/hdfs_test.h (Hadoop 3's libhdfs exports), with SONAME
libhdfs.so.0; and hdfs.h compiles as C and as C++."""

import re
import shutil
import subprocess

import pytest

from conftest import BUILD, REPO

LIB = BUILD / "libdfs" / "hdfs" / "libhdfs.so"
MAP = REPO / "libdfs" / "hdfs" / "libhdfs.map"
HEADERS = [REPO / "libdfs" / "include" / "hdfs.h",
           REPO / "libdfs" / "include" / "hdfs_test.h"]


def exported():
    out = subprocess.run(["nm", "-D", "--defined-only", str(LIB)],
                         capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines()
            if line.split() and line.split()[-2] in ("T", "W", "D", "B")}


def map_symbols():
    text = re.sub(r"/\*.*?\*/", "", MAP.read_text(), flags=re.S)
    glob = text.split("global:")[1].split("local:")[0]
    return {s.strip() for s in glob.split(";") if s.strip()}


def declared():
    names = set()
    for h in HEADERS:
        text = re.sub(r"/\*.*?\*/", "", h.read_text(), flags=re.S)
        names |= set(re.findall(r"\b((?:hdfs|hadoop)[A-Za-z0-9_]*)\s*\(", text))
    return names


def test_exports_are_the_map():
    assert exported() == map_symbols()


def test_every_declared_function_is_exported():
    decl = declared()
    assert len(decl) >= 90
    assert decl == map_symbols()


def test_soname():
    out = subprocess.run(["readelf", "-d", str(LIB)], capture_output=True,
                         text=True, check=True).stdout
    assert "[libhdfs.so.0]" in out
    assert "[libdfs.so.0]" in out           # built on libdfs, no JVM
    assert "libjvm" not in out


def test_layout_matches_hadoop(tmp_path):
    """The header compiles as C and C++, and hdfsFileInfo has Hadoop's
    layout on LP64 (offsets of every field)."""
    src = tmp_path / "layout.c"
    src.write_text(r'''
#include <stddef.h>
#include "hdfs.h"
#include "hdfs_test.h"
#define CHECK(c) _Static_assert(c, #c)
CHECK(sizeof(tSize) == 4 && sizeof(tOffset) == 8 && sizeof(tPort) == 2);
CHECK(kObjectKindFile == 'F' && kObjectKindDirectory == 'D');
CHECK(offsetof(hdfsFileInfo, mKind) == 0);
CHECK(offsetof(hdfsFileInfo, mName) == 8);
CHECK(offsetof(hdfsFileInfo, mLastMod) == 16);
CHECK(offsetof(hdfsFileInfo, mSize) == 24);
CHECK(offsetof(hdfsFileInfo, mReplication) == 32);
CHECK(offsetof(hdfsFileInfo, mBlockSize) == 40);
CHECK(offsetof(hdfsFileInfo, mOwner) == 48);
CHECK(offsetof(hdfsFileInfo, mGroup) == 56);
CHECK(offsetof(hdfsFileInfo, mPermissions) == 64);
CHECK(offsetof(hdfsFileInfo, mLastAccess) == 72);
CHECK(sizeof(hdfsFileInfo) == 80);
CHECK(sizeof(struct hdfsReadStatistics) == 32);
CHECK(sizeof(struct hdfsHedgedReadMetrics) == 24);
CHECK(jNanoseconds == 0 && jDays == 6 && EINTERNAL == 255);
int main(void) { return 0; }
''')
    inc = "-I" + str(REPO / "libdfs" / "include")
    r = subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", inc, "-c", str(src),
                        "-o", str(tmp_path / "a.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    if shutil.which("c++") is None:
        pytest.skip("no C++ compiler")
    r = subprocess.run(["c++", "-x", "c++", "-fsyntax-only", inc, "-include",
                        "stddef.h", "-"], input='#include "hdfs.h"\n#include "hdfs_test.h"\n',
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_declared_function_is_called_by_a_test_program():
    """The libhdfs test programs (tests/hdfs/, and the smoke tour) call
    every function hdfs.h and hdfs_test.h declare."""
    srcs = list((REPO / "tests" / "hdfs").glob("*.c"))
    srcs.append(REPO / "tests" / "tools" / "hdfs_smoke.c")
    called = set()
    for s in srcs:
        text = re.sub(r"/\*.*?\*/", "", s.read_text(), flags=re.S)
        called |= set(re.findall(r"\b((?:hdfs|hadoop)[A-Za-z0-9_]*)\s*\(", text))
    missing = declared() - called
    assert not missing, "never called by a test: %s" % sorted(missing)
