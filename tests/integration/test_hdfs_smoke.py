"""libhdfs (libdfs/hdfs, hdfs.h) smoke tour: tests/tools/hdfs_smoke.c runs
the main calls of each group against a live cluster -- write, stat, read,
pread, seek, statistics, zero-copy, refused modes, append, list, rename,
chmod/chown/utime, hosts, working directory, the open-file future, the
local file system with copy and move both ways, delete, and a file left
open at hdfsDisconnect; the namenode as "default" (from $DFS_CONF),
"dfs://", "hdfs://" + port, a port given twice; hdfsConfGet*; mandatory
open options.  The thorough per-group programs are
test_libhdfs_*.py."""

import pytest

from conftest import BUILD, dfs_env, run

SMOKE = BUILD / "tests" / "dfs-hdfs-smoke"

pytestmark = pytest.mark.cluster(datanodes=1,
                                 overrides=["namenode.replication=1"])


def test_hdfs_smoke(cluster, tmp_path):
    host, port = cluster.addr.rsplit(":", 1)
    local = tmp_path / "local"
    local.mkdir()
    conf = tmp_path / "client.conf"
    conf.write_text("[client]\nnamenode = %s\nreplication = 1\nblock_size = 2M\n"
                    % cluster.addr)
    env = dfs_env()
    env["DFS_CONF"] = str(conf)
    rc, out, err = run([SMOKE, host, port, str(local)], timeout=120, env=env)
    assert rc == 0, err
    assert out.strip() == "ok"
    # what the program wrote as "alice" is owned by alice
    st = cluster.stat("/user/alice/left-open")
    assert st["owner"] == "alice"
    assert st["length"] == 100
