"""Fixtures of the Python package tests (tests/python): the integration
tests' fixtures (tests/integration/conftest.py: cluster, module_cluster,
base, helpers) re-exported, plus a connected dfs.Client and fsspec file
system per module.

The package runs from the source tree and the build tree (as tools/test
sets up): PYTHONPATH=<repo>/libdfs/python:<build>/libdfs/python (the
source package and the generated dfs-VERSION.dist-info with its fsspec
entry point), DFS_LIBDFS=<build>/libdfs/libdfs.so.0.  Unset, they are set
here from $DFS_BUILD (default <repo>/build).  A sanitizer build's libdfs
needs the ASan runtime preloaded: LD_PRELOAD=$(gcc
-print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0.
"""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

_ITEST = Path(__file__).resolve().parents[1] / "integration" / "conftest.py"
_spec = importlib.util.spec_from_file_location("dfs_integration_conftest",
                                               _ITEST)
_itest = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = _itest
_spec.loader.exec_module(_itest)
globals().update({k: v for k, v in vars(_itest).items()
                  if not k.startswith("__")})

REPO = _itest.REPO
BUILD = _itest.BUILD
PY_SRC = REPO / "libdfs" / "python"
PY_BUILD = BUILD / "libdfs" / "python"
LIBDFS = BUILD / "libdfs" / "libdfs.so.0"

os.environ.setdefault("DFS_LIBDFS", str(LIBDFS))
_pp = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
for _p in (str(PY_BUILD), str(PY_SRC)):
    if _p not in _pp:
        _pp.insert(0, _p)
    if _p not in sys.path:
        sys.path.insert(0, _p)
os.environ["PYTHONPATH"] = os.pathsep.join(_pp)
# The tests name their clusters; the caller's defaults must not leak in.
os.environ.pop("DFS_NAMENODE", None)
os.environ.pop("DFS_CONF", None)

if "asan" in BUILD.name and "libasan" not in os.environ.get("LD_PRELOAD", ""):
    raise pytest.UsageError(
        "%s is a sanitizer build: run with LD_PRELOAD=$(gcc "
        "-print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0" % BUILD)

import dfs  # noqa: E402  (after sys.path is set)

# Small blocks (min_block_size lowered) make multi-block files cheap.
SMALL_CLUSTER = pytest.mark.cluster(
    datanodes=1, overrides=["namenode.replication=1",
                            "namenode.min_block_size=64K"])


def host_port(addr):
    host, port = addr.rsplit(":", 1)
    return host, int(port)


@pytest.fixture(scope="module")
def client(module_cluster):
    """A dfs.Client connected to module_cluster, closed after the module."""
    c = dfs.connect(module_cluster.addr)
    yield c
    c.close()


@pytest.fixture(scope="module")
def url(module_cluster):
    """"dfs://HOST:PORT" of module_cluster."""
    return "dfs://" + module_cluster.addr


@pytest.fixture(scope="module")
def fs(module_cluster):
    """The fsspec file system of module_cluster (a DfsFileSystem)."""
    import fsspec
    host, port = host_port(module_cluster.addr)
    return fsspec.filesystem("dfs", host=host, port=port)
