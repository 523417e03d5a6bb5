"""Locality: datanodes on hosts of their own (tools/cluster --hosts), the
client host (client.host / $DFS_CLIENT_HOST) and the bytes each datanode
counts as read by clients on its host and elsewhere (dfs report)."""

import os

import pytest

from conftest import CLUSTER_TOOL, Cluster, blob, run, wait_for

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
FAST_HB = "datanode.heartbeat_ms=200"


@pytest.fixture
def hosts_cluster(tmp_path_factory):
    """Three datanodes on 127.0.0.2-4 (fast heartbeats), torn down by PID."""
    c = Cluster(tmp_path_factory.mktemp("hosts"), 3, [FAST_HB])
    try:
        c.start("--hosts", ",".join(HOSTS))
        yield c
    finally:
        bad = c.teardown()
    if bad:
        pytest.fail("cluster teardown: " + bad)


def env_at(host):
    """Our environment with the client host set to host (None: unset)."""
    e = dict(os.environ)
    e.pop("DFS_NAMENODE", None)
    e.pop("DFS_CONF", None)
    e.pop("DFS_CLIENT_HOST", None)
    if host:
        e["DFS_CLIENT_HOST"] = host
    return e


def counters(c):
    """{host: (bytes read on the host, bytes read remotely)} and the
    cluster totals, from `dfs report --json`.  On the host means over TCP
    or by short-circuit reads (which a local client may use instead of
    TCP when the datanode offers them): both are local."""
    r = c.report()
    per = {d["host"]: (d["bytes_read_local"] + d["bytes_read_short_circuit"],
                       d["bytes_read_remote"]) for d in r["datanodes"]}
    return per, (r["bytes_read_local"] + r["bytes_read_short_circuit"],
                 r["bytes_read_remote"])


def test_hosts_places_each_datanode(hosts_cluster):
    c = hosts_cluster
    r = c.report()
    assert sorted(d["host"] for d in r["datanodes"]) == HOSTS
    assert all(d["state"] == "live" for d in r["datanodes"])
    for i, h in enumerate(HOSTS, 1):
        name = "datanode-%d" % i
        assert c.conf_value(name + ".conf", "datanode", "address").startswith(h + ":")
        assert c.conf_value(name + ".conf", "datanode", "http_address").startswith(h + ":")
    rc, out, err = c.status()
    assert rc == 0, err
    rows = {l.split()[0]: l.split() for l in out.splitlines()}
    assert [rows["datanode-%d" % i][3] for i in (1, 2, 3)] == HOSTS
    assert rows["namenode"][3] == "127.0.0.1"
    data = blob(3 << 20, 1)
    c.ok("put", "-r", "3", "-b", "1M", "-", "/f", input=data)
    assert c.ok("cat", "/f", binary=True) == data
    loc = c.locate("/f")
    assert all(sorted(l["host"] for l in b["locations"]) == HOSTS for b in loc["blocks"])

    # A restart keeps every datanode on its address.
    pid2 = c.pid("datanode-2")
    c.kill("datanode-2")
    c.start()
    assert c.pid("datanode-2") not in (None, pid2)
    assert c.conf_value("datanode-2.conf", "datanode", "address").startswith("127.0.0.3:")
    wait_for(lambda: sorted(d["host"] for d in c.report()["datanodes"]
                            if d["state"] == "live") == HOSTS, 30,
             "the three datanodes live at their addresses")
    assert c.ok("cat", "/f", binary=True) == data

    # --hosts naming another address for an existing datanode: refused.
    rc, out, err = c.start("--hosts", "127.0.0.2,127.0.0.9,127.0.0.4", check=False)
    assert rc == 2, (rc, out, err)
    assert "datanode-2 is at 127.0.0.3" in err, err


@pytest.mark.parametrize("args, msg", [
    (["-n", "3", "--hosts", "127.0.0.2,127.0.0.3"],
     "--hosts names 2 address(es) for 3 datanode(s)"),
    (["--hosts", "127.0.0.2,dn.example"], "'dn.example' is not an IP address"),
    (["-n", "1", "--hosts", "127.0.0.2,127.0.0.3"],
     "--hosts names 2 address(es) for 1 datanode(s)"),
    (["--hosts", ""], "--hosts: no address given"),
])
def test_hosts_usage_errors(tmp_path, args, msg):
    d = tmp_path / "c"
    rc, out, err = run([CLUSTER_TOOL, "start", "-d", d] + args)
    assert rc == 2, (rc, out, err)
    assert msg in err, err
    assert not d.exists()           # nothing written


def test_read_counters_local_and_remote(hosts_cluster):
    c = hosts_cluster
    size = (2 << 20) + 12345        # three blocks of 1M, the last partial
    data = blob(size, 2)
    # Written from 127.0.0.3: its one replica is placed on that host.
    c.ok("put", "-r", "1", "-b", "1M", "-", "/one", input=data, env=env_at("127.0.0.3"))
    assert {l["host"] for b in c.locate("/one")["blocks"] for l in b["locations"]} \
        == {"127.0.0.3"}
    before, tot0 = counters(c)

    # A client at the datanode's address reads locally...
    assert c.ok("cat", "/one", binary=True, env=env_at("127.0.0.3")) == data
    want = dict(before)
    want["127.0.0.3"] = (before["127.0.0.3"][0] + size, before["127.0.0.3"][1])
    wait_for(lambda: counters(c)[0] == want, 10, "the local read counted")

    # ... one at another address (or with no client host: 127.0.0.1, the
    # system's source address for loopback) remotely.
    assert c.ok("cat", "/one", binary=True, env=env_at("127.0.0.2")) == data
    assert c.ok("cat", "/one", binary=True, env=env_at(None)) == data
    want["127.0.0.3"] = (want["127.0.0.3"][0], want["127.0.0.3"][1] + 2 * size)
    wait_for(lambda: counters(c)[0] == want, 10, "the remote reads counted")
    per, tot = counters(c)
    assert tot == (tot0[0] + size, tot0[1] + 2 * size)

    # The human report shows them too.
    out = c.ok("report")
    assert "Read locally:" in out and "Read remotely:" in out


def test_client_host_preferred_replica(hosts_cluster):
    """With replication 3, a client at a datanode's address reads from it
    (local), never from the others."""
    c = hosts_cluster
    data = blob(1 << 20, 3)
    c.ok("put", "-r", "3", "-", "/three", input=data)
    before, _ = counters(c)
    for h in HOSTS:
        assert c.ok("cat", "/three", binary=True, env=env_at(h)) == data
    want = {h: (before[h][0] + len(data), before[h][1]) for h in HOSTS}
    wait_for(lambda: counters(c)[0] == want, 10, "each read local")


def test_client_host_errors(hosts_cluster):
    c = hosts_cluster
    rc, out, err = c.dfs("ls", "/", env=env_at("dn.example"))
    assert rc != 0
    assert "DFS_CLIENT_HOST" in err and "dn.example" in err, err
    rc, out, err = c.dfs("ls", "/", env=env_at("192.0.2.1"))
    assert rc == 1
    assert "cannot bind to 192.0.2.1: not an address of this machine" in err, err
    # From the configuration file, as [client] host.
    conf = c.dir / "client-host.conf"
    conf.write_text("[client]\nnamenode = %s\nhost = 127.0.0.4\n" % c.addr)
    e = env_at(None)
    e["DFS_CONF"] = str(conf)
    data = blob(4096, 4)
    c.ok("put", "-r", "1", "-", "/conf", input=data, env=e)
    assert [l["host"] for b in c.locate("/conf")["blocks"] for l in b["locations"]] \
        == ["127.0.0.4"]
    conf.write_text("[client]\nhost = example\n")
    rc, out, err = c.dfs("ls", "/", env=e)
    assert rc != 0 and "client.host" in err, err


def test_hosts_without_n_one_datanode_each(tmp_path_factory):
    """A fresh cluster given --hosts and no -n: one datanode per address."""
    c = Cluster(tmp_path_factory.mktemp("hosts2"))
    try:
        rc, out, err = c.tool("start", "-d", c.dir, "--hosts", "127.0.0.5,127.0.0.6")
        c._note_pids()
        assert rc == 0, err
        c.addr = c.conf_value("dfs.conf", "namenode", "address")
        assert c.datanode_names() == ["datanode-1", "datanode-2"]
        assert sorted(d["host"] for d in c.report()["datanodes"]) == \
            ["127.0.0.5", "127.0.0.6"]
    finally:
        bad = c.teardown()
    assert not bad, bad
