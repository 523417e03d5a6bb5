"""The `dfs` shell's namespace commands against a real namenode.

One namenode (no datanodes) serves the whole module; every test works under
its own directory (`base`).  Error messages are `dfs: CMD: PATH: message`,
exit codes 0 success, 1 operation failed, 2 usage error.
"""

import json
import re
import time

import pytest

from conftest import free_port, dfs_at, ls_names

STAT_KEYS = {"path", "type", "length", "replication", "block_size", "mtime",
             "owner", "group", "mode"}


@pytest.fixture
def c(module_cluster):
    return module_cluster


@pytest.fixture
def base(c, request):
    """A fresh directory for this test, e.g. /test_mkdir_parents."""
    name = "/" + re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)
    c.ok("mkdir", name)
    return name


def fails(c, rc_expected, cmd, *args, path=None, msg=None):
    """Run `dfs cmd args`, check exit code (an int or a tuple of allowed
    codes), the `dfs: CMD: PATH:` prefix and a message fragment."""
    rc, out, err = c.dfs(cmd, *args)
    allowed = rc_expected if isinstance(rc_expected, tuple) else (rc_expected,)
    assert rc in allowed, "dfs %s %s -> %d, want %s\n%s%s" % (
        cmd, " ".join(args), rc, allowed, out, err)
    assert err.strip(), "no error message on stderr"
    assert err.startswith("dfs: "), err
    if path is not None:
        assert ("dfs: %s: %s: " % (cmd, path)) in err, err
    if msg is not None:
        assert re.search(msg, err, re.I), "%r not in %r" % (msg, err)
    return err


# ------------------------------------------------------------------ mkdir

def test_mkdir_and_stat(c, base):
    c.ok("mkdir", base + "/d")
    st = c.stat(base + "/d")
    assert st["type"] == "dir"
    assert st["path"] == base + "/d"


def test_mkdir_missing_parent(c, base):
    fails(c, 1, "mkdir", base + "/no/such", path=base + "/no/such",
          msg="no such file or directory")
    assert not c.exists(base + "/no")


def test_mkdir_exists(c, base):
    c.ok("mkdir", base + "/d")
    fails(c, 1, "mkdir", base + "/d", path=base + "/d", msg="exists")
    c.ok("touch", base + "/f")
    fails(c, 1, "mkdir", base + "/f", path=base + "/f", msg="exists")
    assert c.stat(base + "/f")["type"] == "file"


def test_mkdir_parents(c, base):
    c.ok("mkdir", "-p", base + "/a/b/c/d")
    for p in ("/a", "/a/b", "/a/b/c", "/a/b/c/d"):
        assert c.stat(base + p)["type"] == "dir"
    # -p on an existing directory is not an error, and changes nothing
    c.ok("mkdir", "-p", base + "/a/b")
    assert ls_names(c.ok("ls", base + "/a/b")) == ["c"]


def test_mkdir_not_a_directory(c, base):
    c.ok("touch", base + "/f")
    fails(c, 1, "mkdir", base + "/f/x", path=base + "/f/x",
          msg="not a directory")
    fails(c, 1, "mkdir", "-p", base + "/f/x/y", msg="not a directory")
    assert c.stat(base + "/f")["type"] == "file"


def test_mkdir_root_exists(c):
    fails(c, 1, "mkdir", "/", msg="exists")
    c.ok("mkdir", "-p", "/")


@pytest.mark.parametrize("bad", [
    "relative/path",
    "relative",
    "",
    "/..",
    "/../x",
    "/a/../../x",
    "/" + "x" * 256,
])
def test_bad_paths(c, bad):
    rc, out, err = c.dfs("mkdir", bad)
    assert rc in (1, 2), (rc, err)
    assert err.startswith("dfs: mkdir: "), err
    rc, out, err = c.dfs("stat", bad)
    assert rc in (1, 2), (rc, err)
    assert err.startswith("dfs: stat: "), err


def test_path_component_limits(c, base):
    ok = base + "/" + "y" * 255
    c.ok("mkdir", ok)
    assert c.stat(ok)["path"] == ok
    fails(c, (1, 2), "mkdir", ok + "/" + "z" * 256)
    # a path longer than 4096 bytes
    long = base + ("/" + "p" * 200) * 21
    fails(c, (1, 2), "mkdir", "-p", long)


def test_path_normalisation(c, base):
    c.ok("mkdir", base + "/a")
    c.ok("mkdir", base + "//a/./b/../c/")
    assert c.stat(base + "/a/c")["path"] == base + "/a/c"
    assert not c.exists(base + "/a/b")
    assert c.stat(base + "/a/c/.")["path"] == base + "/a/c"


def test_unicode_names(c, base):
    p = base + "/dossier-é-日本"
    c.ok("mkdir", p)
    assert c.stat(p)["path"] == p
    assert "dossier-é-日本" in ls_names(c.ok("ls", base))


def test_names_with_spaces(c, base):
    p = base + "/with space"
    c.ok("mkdir", p)
    assert c.stat(p)["type"] == "dir"
    assert [e["path"] for e in json.loads(c.ok("ls", "--json", base))] == [p]


# ------------------------------------------------------------------ touch

def test_touch_creates_empty_file(c, base):
    c.ok("touch", base + "/f")
    st = c.stat(base + "/f")
    assert st["type"] == "file"
    assert st["length"] == 0
    assert st["replication"] >= 1
    assert st["block_size"] > 0


def test_touch_existing_file(c, base):
    c.ok("touch", base + "/f")
    st1 = c.stat(base + "/f")
    c.ok("touch", base + "/f")
    st2 = c.stat(base + "/f")
    assert st2["type"] == "file" and st2["length"] == 0
    assert st2["mtime"] >= st1["mtime"]


def test_touch_errors(c, base):
    fails(c, 1, "touch", base + "/no/f", path=base + "/no/f",
          msg="no such file or directory")
    c.ok("touch", base + "/f")
    fails(c, 1, "touch", base + "/f/g", path=base + "/f/g",
          msg="not a directory")


# ------------------------------------------------------------------- stat

def test_stat_json_keys_dir(c, base):
    before = time.time()
    c.ok("mkdir", base + "/d")
    st = c.stat(base + "/d")
    assert set(st) == STAT_KEYS
    assert st["type"] == "dir"
    assert st["path"] == base + "/d"
    assert st["mode"] == "0755"
    assert st["length"] == 0
    assert isinstance(st["owner"], str) and st["owner"]
    assert isinstance(st["group"], str) and st["group"]
    assert isinstance(st["mtime"], int)
    # mtime is seconds or milliseconds since the epoch; either way recent
    mt = st["mtime"] / 1000 if st["mtime"] > 10**11 else st["mtime"]
    assert before - 120 <= mt <= time.time() + 120


def test_stat_json_keys_file(c, base):
    c.ok("touch", base + "/f")
    st = c.stat(base + "/f")
    assert set(st) == STAT_KEYS
    assert st["type"] == "file"
    assert st["mode"] == "0644"
    assert re.fullmatch(r"0[0-7]{3}", st["mode"])
    for k in ("length", "replication", "block_size", "mtime"):
        assert isinstance(st[k], int), k


def test_stat_root(c):
    st = c.stat("/")
    assert st["type"] == "dir"
    assert st["path"] == "/"
    out = c.ok("stat", "/")
    assert out.strip()


def test_stat_plain(c, base):
    c.ok("touch", base + "/f")
    out = c.ok("stat", base + "/f")
    assert base + "/f" in out


def test_stat_missing(c, base):
    fails(c, 1, "stat", base + "/nope", path=base + "/nope",
          msg="no such file or directory")
    fails(c, 1, "stat", "--json", base + "/nope", path=base + "/nope")


# --------------------------------------------------------------------- ls

LS_L = re.compile(
    r"^(?P<mode>[d-][r-][w-][xsS-][r-][w-][xsS-][r-][w-][xtT-])\s+"
    r"(?P<repl>\d+|-)\s+(?P<owner>\S+)\s+(?P<group>\S+)\s+(?P<size>\d+)\s+"
    r"(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?"
    r"|[A-Z][a-z]{2} [ \d]\d +(\d\d:\d\d|\d{4}))\s+(?P<path>\S.*)$")


def ls_l_rows(out):
    rows = [LS_L.match(l) for l in out.splitlines()
            if l.strip() and not re.match(r"Found \d+ items?$", l)]
    assert all(rows), "unexpected ls -l line in:\n" + out
    return rows


def test_ls_plain_sorted(c, base):
    names = ["b", "a", "c10", "c2", "Z"]
    for n in names:
        c.ok("touch", base + "/" + n)
    got = ls_names(c.ok("ls", base))
    assert got == sorted(names)     # byte order: "Z" < "a"


def test_ls_empty_dir(c, base):
    assert ls_names(c.ok("ls", base)) == []


def test_ls_long_format(c, base):
    c.ok("mkdir", base + "/d")
    c.ok("touch", base + "/f")
    c.ok("chmod", "640", base + "/f")
    rows = {r["path"].rstrip("/").rsplit("/", 1)[-1]: r
            for r in ls_l_rows(c.ok("ls", "-l", base))}
    assert set(rows) == {"d", "f"}
    d, f = rows["d"], rows["f"]
    assert d["mode"] == "drwxr-xr-x"
    assert f["mode"] == "-rw-r-----"
    assert f["repl"] == str(c.stat(base + "/f")["replication"])
    assert f["size"] == "0"
    st = c.stat(base + "/f")
    assert f["owner"] == st["owner"] and f["group"] == st["group"]
    assert f["path"] in (base + "/f", "f")


def test_ls_long_owner(c, base):
    c.ok("touch", base + "/f")
    c.ok("chown", "alice:staff", base + "/f")
    (row,) = ls_l_rows(c.ok("ls", "-l", base))
    assert (row["owner"], row["group"]) == ("alice", "staff")


def test_ls_file(c, base):
    c.ok("touch", base + "/f")
    assert ls_names(c.ok("ls", base + "/f")) == ["f"]
    (row,) = ls_l_rows(c.ok("ls", "-l", base + "/f"))
    assert row["mode"].startswith("-")


def test_ls_d(c, base):
    c.ok("mkdir", base + "/d")
    c.ok("touch", base + "/d/inner")
    assert ls_names(c.ok("ls", "-d", base + "/d")) == ["d"]
    (row,) = ls_l_rows(c.ok("ls", "-l", "-d", base + "/d"))
    assert row["mode"].startswith("d")


def test_ls_recursive(c, base):
    c.ok("mkdir", "-p", base + "/a/b/c")
    c.ok("touch", base + "/a/f1")
    c.ok("touch", base + "/a/b/c/f2")
    out = c.ok("ls", "-R", base)
    for p in ("a", "b", "c", "f1", "f2"):
        assert re.search(r"(^|/)%s/?$" % p, out, re.M), (p, out)
    rows = ls_l_rows(c.ok("ls", "-l", "-R", base + "/a/b"))
    paths = {r["path"].rsplit("/", 1)[-1] for r in rows}
    assert paths == {"c", "f2"}


def test_ls_json(c, base):
    c.ok("mkdir", base + "/d")
    c.ok("touch", base + "/f")
    arr = json.loads(c.ok("ls", "--json", base))
    assert isinstance(arr, list)
    assert [e["path"] for e in arr] == [base + "/d", base + "/f"]
    for e in arr:
        assert set(e) == STAT_KEYS
    assert [e["type"] for e in arr] == ["dir", "file"]
    assert json.loads(c.ok("ls", "--json", base + "/d")) == []


def test_ls_missing(c, base):
    fails(c, 1, "ls", base + "/nope", path=base + "/nope",
          msg="no such file or directory")


@pytest.mark.cluster(overrides=["namenode.list_limit=100"])
def test_ls_across_list_pages(cluster):
    """With 100 entries per list page, 200 entries (a page boundary at the
    end) and 250 are listed completely and in order, by every form of ls."""
    for d, n in (("/exact", 200), ("/odd", 250)):
        cluster.ok("mkdir", d)
        want = ["e%04d" % i for i in range(n)]
        for name in reversed(want):      # insertion order != name order
            cluster.ok("touch", d + "/" + name)
        assert ls_names(cluster.ok("ls", d)) == want
        assert [r["path"].rsplit("/", 1)[-1]
                for r in ls_l_rows(cluster.ok("ls", "-l", d))] == want
        assert [e["path"] for e in json.loads(cluster.ok("ls", "--json", d))] \
            == [d + "/" + w for w in want]


# --------------------------------------------------------------------- rm

def test_rm_file(c, base):
    c.ok("touch", base + "/f")
    c.ok("rm", base + "/f")
    assert not c.exists(base + "/f")


def test_rm_missing(c, base):
    fails(c, 1, "rm", base + "/nope", path=base + "/nope",
          msg="no such file or directory")
    c.ok("rm", "-f", base + "/nope")


def test_rm_nonempty_dir_without_r(c, base):
    c.ok("mkdir", "-p", base + "/d/e")
    c.ok("touch", base + "/d/f")
    rc, out, err = c.dfs("rm", base + "/d")
    assert rc == 1, (rc, err)
    assert err.startswith("dfs: rm: %s: " % (base + "/d")), err
    assert ls_names(c.ok("ls", base + "/d")) == ["e", "f"]
    rc, out, err = c.dfs("rm", "-f", base + "/d")
    assert rc == 1, (rc, err)
    assert ls_names(c.ok("ls", base + "/d")) == ["e", "f"]


def test_rm_recursive(c, base):
    c.ok("mkdir", "-p", base + "/d/e/f")
    c.ok("touch", base + "/d/e/f/g")
    c.ok("touch", base + "/d/h")
    c.ok("rm", "-r", base + "/d")
    assert not c.exists(base + "/d")
    assert not c.exists(base + "/d/e/f/g")
    assert ls_names(c.ok("ls", base)) == []
    # the name can be used again, and is empty
    c.ok("mkdir", base + "/d")
    assert ls_names(c.ok("ls", base + "/d")) == []


def test_rm_rf_missing(c, base):
    c.ok("rm", "-r", "-f", base + "/nope")


# --------------------------------------------------------------------- mv

def test_mv_rename_file(c, base):
    c.ok("touch", base + "/a")
    c.ok("chmod", "600", base + "/a")
    c.ok("mv", base + "/a", base + "/b")
    assert not c.exists(base + "/a")
    st = c.stat(base + "/b")
    assert st["type"] == "file" and st["mode"] == "0600"


def test_mv_rename_dir_with_contents(c, base):
    c.ok("mkdir", "-p", base + "/a/x/y")
    c.ok("touch", base + "/a/x/y/f")
    c.ok("mv", base + "/a", base + "/b")
    assert not c.exists(base + "/a")
    assert c.stat(base + "/b/x/y/f")["type"] == "file"
    assert c.stat(base + "/b/x/y/f")["path"] == base + "/b/x/y/f"


def test_mv_into_existing_dir(c, base):
    c.ok("mkdir", base + "/dir")
    c.ok("touch", base + "/f")
    c.ok("mkdir", base + "/sub")
    c.ok("mv", base + "/f", base + "/dir")
    c.ok("mv", base + "/sub", base + "/dir")
    assert ls_names(c.ok("ls", base + "/dir")) == ["f", "sub"]
    assert ls_names(c.ok("ls", base)) == ["dir"]


def test_mv_refuses_overwrite(c, base):
    c.ok("touch", base + "/a")
    c.ok("touch", base + "/b")
    c.ok("chmod", "600", base + "/a")
    rc, out, err = c.dfs("mv", base + "/a", base + "/b")
    assert rc == 1, (rc, err)
    assert err.startswith("dfs: mv: "), err
    assert re.search("exists", err, re.I), err
    assert c.stat(base + "/a")["mode"] == "0600"
    assert c.stat(base + "/b")["mode"] == "0644"


def test_mv_into_dir_refuses_overwrite(c, base):
    c.ok("mkdir", "-p", base + "/dir/f")
    c.ok("touch", base + "/f")
    rc, _, err = c.dfs("mv", base + "/f", base + "/dir")
    assert rc == 1, (rc, err)
    assert c.stat(base + "/f")["type"] == "file"
    assert c.stat(base + "/dir/f")["type"] == "dir"


def test_mv_dir_into_own_subtree(c, base):
    c.ok("mkdir", "-p", base + "/a/b/c")
    for dst in ("/a/b/c/x", "/a/b", "/a/b/c"):
        rc, _, err = c.dfs("mv", base + "/a", base + dst)
        assert rc == 1, (dst, rc, err)
        assert err.startswith("dfs: mv: "), err
    assert c.stat(base + "/a/b/c")["type"] == "dir"
    assert ls_names(c.ok("ls", base)) == ["a"]
    assert ls_names(c.ok("ls", base + "/a/b/c")) == []


def test_mv_errors(c, base):
    fails(c, 1, "mv", base + "/nope", base + "/x",
          msg="no such file or directory")
    c.ok("touch", base + "/f")
    fails(c, 1, "mv", base + "/f", base + "/no/such/x",
          msg="no such file or directory")
    assert c.exists(base + "/f")
    fails(c, 1, "mv", "/", base + "/x")


def test_mv_sibling_prefix_is_not_subtree(c, base):
    """/ab is not inside /a: moving /a to /ab/... is fine."""
    c.ok("mkdir", base + "/a")
    c.ok("mkdir", base + "/ab")
    c.ok("mv", base + "/a", base + "/ab/a")
    assert c.stat(base + "/ab/a")["type"] == "dir"


# -------------------------------------------------------- setrep / chmod / chown

def test_setrep(c, base):
    c.ok("touch", base + "/f")
    c.ok("setrep", "2", base + "/f")
    assert c.stat(base + "/f")["replication"] == 2
    c.ok("setrep", "5", base + "/f")
    assert c.stat(base + "/f")["replication"] == 5


def test_setrep_errors(c, base):
    c.ok("touch", base + "/f")
    for bad in ("0", "-1", "abc", "100000"):
        rc, _, err = c.dfs("setrep", bad, base + "/f")
        assert rc in (1, 2), (bad, rc, err)
        assert err.startswith("dfs: setrep: "), err
    fails(c, 1, "setrep", "2", base + "/nope", path=base + "/nope")
    fails(c, 2, "setrep", "2")


def test_setrep_default_unchanged_on_error(c, base):
    c.ok("touch", base + "/f")
    before = c.stat(base + "/f")["replication"]
    c.dfs("setrep", "0", base + "/f")
    assert c.stat(base + "/f")["replication"] == before


@pytest.mark.parametrize("mode,want", [
    ("700", "0700"), ("0755", "0755"), ("1777", "1777"), ("000", "0000"),
    ("644", "0644")])
def test_chmod(c, base, mode, want):
    c.ok("touch", base + "/f")
    c.ok("chmod", mode, base + "/f")
    assert c.stat(base + "/f")["mode"] == want


def test_chmod_dir(c, base):
    c.ok("mkdir", base + "/d")
    c.ok("chmod", "711", base + "/d")
    assert c.stat(base + "/d")["mode"] == "0711"


@pytest.mark.parametrize("bad", ["rwx", "8", "789", "77777", "", "-1", "0x1ff"])
def test_chmod_bad_mode(c, base, bad):
    c.ok("touch", base + "/f")
    rc, _, err = c.dfs("chmod", bad, base + "/f")
    assert rc in (1, 2), (rc, err)
    assert err.startswith("dfs: chmod: "), err
    assert c.stat(base + "/f")["mode"] == "0644"


def test_chmod_missing(c, base):
    fails(c, 1, "chmod", "700", base + "/nope", path=base + "/nope",
          msg="no such file or directory")


def test_chown(c, base):
    c.ok("touch", base + "/f")
    group = c.stat(base + "/f")["group"]
    c.ok("chown", "alice", base + "/f")
    st = c.stat(base + "/f")
    assert (st["owner"], st["group"]) == ("alice", group)
    c.ok("chown", "bob:staff", base + "/f")
    st = c.stat(base + "/f")
    assert (st["owner"], st["group"]) == ("bob", "staff")


def test_chown_errors(c, base):
    fails(c, 1, "chown", "alice", base + "/nope", path=base + "/nope",
          msg="no such file or directory")
    c.ok("touch", base + "/f")
    owner = c.stat(base + "/f")["owner"]
    for bad in ("", ":", "a:b:c"):
        rc, _, err = c.dfs("chown", bad, base + "/f")
        assert rc in (1, 2), (bad, rc, err)
        assert err.startswith("dfs: chown: "), err
    assert c.stat(base + "/f")["owner"] == owner


# --------------------------------------------------------- help and usage

COMMANDS = ["mkdir", "ls", "stat", "touch", "rm", "mv", "setrep", "chmod",
            "chown", "help"]


def test_help_lists_commands(c):
    out = c.ok("help")
    for cmd in COMMANDS:
        assert re.search(r"\b%s\b" % cmd, out), cmd


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_command(c, cmd):
    out = c.ok("help", cmd)
    assert cmd in out
    assert len(out.strip()) > len(cmd)


def test_help_unknown_command(c):
    rc, out, err = c.dfs("help", "nosuchcmd")
    assert rc in (1, 2), rc
    assert "nosuchcmd" in err


@pytest.mark.parametrize("args", [
    [],
    ["nosuchcmd"],
    ["mkdir"],
    ["mkdir", "-z", "/x"],
    ["ls", "--bogus", "/"],
    ["stat"],
    ["touch"],
    ["rm"],
    ["mv", "/a"],
    ["setrep", "3"],
    ["chmod", "755"],
    ["chown", "alice"],
])
def test_usage_errors_exit_2(c, args):
    rc, out, err = c.dfs(*args)
    assert rc == 2, (args, rc, out, err)
    assert err.strip(), "usage error without a message"


def test_usage_errors_change_nothing(c, base):
    c.dfs("mkdir", "-z", base + "/x")
    assert not c.exists(base + "/x")


# ------------------------------------------------ namenode address sources

def test_unreachable_namenode(tmp_path):
    addr = "127.0.0.1:%d" % free_port()
    for args in (["stat", "/"], ["mkdir", "/x"], ["ls", "/"]):
        rc, out, err = dfs_at(addr, *args)
        assert rc == 1, (args, rc, err)
        assert "cannot connect" in err.lower(), err
        assert err.startswith("dfs: "), err


def test_bad_namenode_address(c):
    for addr in ("nohostport", "127.0.0.1:99999", "127.0.0.1:"):
        rc, out, err = dfs_at(addr, "stat", "/")
        assert rc in (1, 2), (addr, rc, err)
        assert err.strip()
