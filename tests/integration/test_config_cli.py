"""Daemon and shell configuration: files, -o overrides, DFS_CONF and
DFS_NAMENODE, and the errors for bad ones (file:line: key, exit 2)."""

import os
import re

import pytest

from conftest import (DATANODE, NAMENODE, DFS, SLOW, free_port, run,
                      sanitizer_report)

DAEMONS = [pytest.param(NAMENODE, id="namenode"),
           pytest.param(DATANODE, id="datanode")]


def daemon_run(prog, *args, tmp=None, env=None):
    """Run a daemon that must exit by itself (config error, --print-config,
    -h).  A daemon that starts serving instead is killed by the timeout and
    the test fails."""
    e = dict(os.environ)
    e.pop("DFS_CONF", None)
    e.pop("DFS_NAMENODE", None)
    e.update(env or {})
    rc, out, err = run([prog] + list(args), env=e, cwd=tmp, timeout=20 * SLOW)
    assert not sanitizer_report(err), err
    return rc, out, err


def write(tmp, name, text):
    p = tmp / name
    p.write_text(text)
    return p


def test_value_out_of_range(tmp_path):
    bad = write(tmp_path, "bad.conf",
                "[namenode]\nreplication = 0\n")
    rc, out, err = daemon_run(NAMENODE, "-c", bad, tmp=tmp_path)
    assert rc == 2, (rc, err)
    assert "bad.conf:2: namenode.replication" in err, err
    assert "0" in err.split("namenode.replication", 1)[1]


def test_unknown_key(tmp_path):
    bad = write(tmp_path, "bad.conf",
                "# comment\n[namenode]\nnosuch = 1\n")
    rc, out, err = daemon_run(NAMENODE, "-c", bad, tmp=tmp_path)
    assert rc == 2, (rc, err)
    assert "bad.conf:3: unknown key 'namenode.nosuch'" in err, err


@pytest.mark.parametrize("prog", DAEMONS)
@pytest.mark.parametrize("text,line,key", [
    ("[namenode]\nreplication = abc\n", 2, "namenode.replication"),
    ("[namenode]\nblock_size = 12Q\n", 2, "namenode.block_size"),
    ("[namenode]\naddress = nocolon\n", 2, "namenode.address"),
    ("\n\n[datanode]\nheartbeat_ms = -5\n", 4, "datanode.heartbeat_ms"),
    ("[client]\nchunk_size = lots\n", 2, "client.chunk_size"),
    ("[nosuchsection]\nx = 1\n", 1, "nosuchsection"),
])
def test_bad_values_name_file_line_key(tmp_path, prog, text, line, key):
    bad = write(tmp_path, "bad.conf", text)
    rc, out, err = daemon_run(prog, "-c", bad, tmp=tmp_path)
    assert rc == 2, (rc, err)
    assert "bad.conf:%d:" % line in err, err
    assert key in err, err


@pytest.mark.parametrize("text,line", [
    ("[namenode\nreplication = 2\n", 1),
    ("[namenode]\njust some words\n", 2),
    ("replication = 2\n", 1),
])
def test_malformed_lines(tmp_path, text, line):
    bad = write(tmp_path, "bad.conf", text)
    rc, out, err = daemon_run(NAMENODE, "-c", bad, tmp=tmp_path)
    assert rc == 2, (rc, err)
    assert "bad.conf:%d:" % line in err, err


def test_missing_config_file(tmp_path):
    rc, out, err = daemon_run(NAMENODE, "-c", tmp_path / "nope.conf",
                              tmp=tmp_path)
    assert rc == 2, (rc, err)
    assert "nope.conf" in err


def test_dfs_conf_env_is_read(tmp_path):
    bad = write(tmp_path, "env.conf", "[namenode]\nreplication = 99\n")
    rc, out, err = daemon_run(NAMENODE, "--print-config", tmp=tmp_path,
                              env={"DFS_CONF": str(bad)})
    assert rc == 2, (rc, err)
    assert "env.conf:2: namenode.replication" in err, err


@pytest.mark.parametrize("prog", DAEMONS)
@pytest.mark.parametrize("o", [
    "namenode.replication=0",
    "namenode.nosuch=1",
    "nosuch.key=1",
    "garbage",
    "namenode.replication",
    "=5",
])
def test_bad_override_exit_2(tmp_path, prog, o):
    rc, out, err = daemon_run(prog, "-o", o, tmp=tmp_path)
    assert rc == 2, (o, rc, err)
    assert err.strip()


@pytest.mark.parametrize("prog", DAEMONS)
def test_usage_errors(tmp_path, prog):
    for args in (["--no-such-flag"], ["-c"], ["-o"], ["extra-argument"]):
        rc, out, err = daemon_run(prog, *args, tmp=tmp_path)
        assert rc == 2, (args, rc, err)
        assert err.strip()


@pytest.mark.parametrize("prog", DAEMONS)
def test_help_exit_0(tmp_path, prog):
    rc, out, err = daemon_run(prog, "-h", tmp=tmp_path)
    assert rc == 0, err
    assert "-c" in out + err and "-o" in out + err


def test_print_config_effective(tmp_path):
    conf = write(tmp_path, "ok.conf",
                 "[namenode]\nreplication = 2\nblock_size = 64M\n")
    rc, out, err = daemon_run(NAMENODE, "-c", conf, "-o",
                              "namenode.min_replication=2", "--print-config",
                              tmp=tmp_path)
    assert rc == 0, err
    sections = parse_ini(out)
    nn = sections["namenode"]
    assert nn["replication"] == "2"
    assert nn["min_replication"] == "2"
    assert nn["block_size"] in ("64M", "67108864", "64m", "65536K", "65536k")
    assert "client" in sections and "datanode" in sections
    # -o wins over the file
    rc, out, err = daemon_run(NAMENODE, "-c", conf, "-o",
                              "namenode.replication=3", "--print-config",
                              tmp=tmp_path)
    assert rc == 0, err
    assert parse_ini(out)["namenode"]["replication"] == "3"


def test_print_config_is_a_valid_config(tmp_path):
    """What --print-config prints loads back as a config file."""
    rc, out, err = daemon_run(NAMENODE, "--print-config", tmp=tmp_path)
    assert rc == 0, err
    dumped = write(tmp_path, "dumped.conf", out)
    rc, out2, err = daemon_run(NAMENODE, "-c", dumped, "--print-config",
                               tmp=tmp_path)
    assert rc == 0, err
    assert parse_ini(out2) == parse_ini(out)


def test_shipped_example_config_loads(tmp_path):
    example = os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                           "dfs.conf")
    if not os.path.exists(example):
        pytest.fail("conf/dfs.conf is missing")
    for prog in (NAMENODE, DATANODE):
        rc, out, err = daemon_run(prog, "-c", example, "--print-config",
                                  tmp=tmp_path)
        assert rc == 0, err


def parse_ini(text):
    sections, cur = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            cur = sections.setdefault(m.group(1), {})
        elif "=" in line and cur is not None:
            k, v = line.split("=", 1)
            cur[k.strip()] = v.strip()
    return sections


# ----------------------------------------------------------- the shell

def test_shell_namenode_from_env(module_cluster, tmp_path):
    e = dict(os.environ)
    e.pop("DFS_CONF", None)
    e["DFS_NAMENODE"] = module_cluster.addr
    rc, out, err = run([DFS, "stat", "/"], env=e)
    assert rc == 0, err


def test_shell_namenode_from_conf(module_cluster, tmp_path):
    conf = write(tmp_path, "client.conf",
                 "[client]\nnamenode = %s\n" % module_cluster.addr)
    e = dict(os.environ)
    e.pop("DFS_NAMENODE", None)
    e["DFS_CONF"] = str(conf)
    rc, out, err = run([DFS, "stat", "/"], env=e)
    assert rc == 0, err


def test_shell_cluster_conf_file(module_cluster):
    """The dfs.conf written by tools/cluster serves the shell too."""
    e = dict(os.environ)
    e.pop("DFS_NAMENODE", None)
    e["DFS_CONF"] = str(module_cluster.dir / "dfs.conf")
    rc, out, err = run([DFS, "stat", "/"], env=e)
    assert rc == 0, err


def test_shell_flag_beats_env(module_cluster):
    dead = "127.0.0.1:%d" % free_port()
    e = dict(os.environ)
    e.pop("DFS_CONF", None)
    e["DFS_NAMENODE"] = dead
    rc, out, err = run([DFS, "-n", module_cluster.addr, "stat", "/"], env=e)
    assert rc == 0, err
    rc, out, err = run([DFS, "stat", "/"], env=e)
    assert rc == 1, err
    assert "cannot connect" in err.lower(), err


def test_shell_bad_conf_file(tmp_path):
    bad = write(tmp_path, "bad.conf", "[client]\nchunk_size = x\n")
    e = dict(os.environ)
    e.pop("DFS_NAMENODE", None)
    e["DFS_CONF"] = str(bad)
    rc, out, err = run([DFS, "stat", "/"], env=e)
    assert rc == 2, (rc, err)
    assert "bad.conf:2: client.chunk_size" in err, err


@pytest.mark.cluster(overrides=["namenode.replication=2",
                               "namenode.block_size=32M"])
def test_override_reaches_daemon(cluster):
    """tools/cluster start -o KEY=VALUE reaches the daemon: new files get
    the overridden defaults, also after a restart."""
    cluster.ok("touch", "/f")
    st = cluster.stat("/f")
    assert (st["replication"], st["block_size"]) == (2, 32 << 20)
    cluster.stop()
    cluster.start()
    cluster.ok("touch", "/g")
    st = cluster.stat("/g")
    assert (st["replication"], st["block_size"]) == (2, 32 << 20)
