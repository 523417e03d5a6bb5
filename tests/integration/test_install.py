"""The installed library: `meson install` into a staging tree, then a user's
program -- the example of docs/api.md, taken from the page itself -- built
with `cc example.c $(pkg-config --cflags --libs dfs)` against that tree and
run against a live cluster; and the installed Python package, imported by
a fresh /usr/bin/python3 from the staged site-packages, reading through
fsspec from a live cluster."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, REPO, python_env, run

API_MD = REPO / "docs" / "api.md"
SANITIZED = "asan" in BUILD.name

pytestmark = pytest.mark.cluster(datanodes=1)


def doc_example(name):
    """The fenced C block that follows `<!-- example: name -->` in api.md."""
    text = API_MD.read_text()
    m = re.search(r"<!-- example: %s -->\s*```c\n(.*?)```" % re.escape(name),
                  text, re.S)
    assert m, "docs/api.md has no example marked %s" % name
    return m.group(1)


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """(destdir, prefix dir, libdir) of `meson install --destdir` of BUILD."""
    dest = tmp_path_factory.mktemp("destdir")
    r = subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild",
                        "--destdir", str(dest)], capture_output=True, text=True)
    assert r.returncode == 0, "meson install failed:\n%s%s" % (r.stdout, r.stderr)
    pcs = list(dest.rglob("pkgconfig/dfs.pc"))
    assert len(pcs) == 1, "dfs.pc installed %d times" % len(pcs)
    libdir = pcs[0].parent.parent
    prefix = libdir
    while not (prefix / "include").is_dir():
        assert prefix != dest, "no include/ above " + str(libdir)
        prefix = prefix.parent
    return dest, prefix, libdir


def pkg_config(dest, libdir, *args):
    env = dict(os.environ, PKG_CONFIG_PATH=str(libdir / "pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(dest))
    r = subprocess.run(["pkg-config"] + list(args), capture_output=True,
                       text=True, env=env)
    assert r.returncode == 0, "pkg-config %s: %s" % (" ".join(args), r.stderr)
    return r.stdout.split()


def test_install_lays_out_header_library_pc_programs_and_conf(staged):
    dest, prefix, libdir = staged
    assert (prefix / "include" / "dfs.h").read_bytes() == \
        (REPO / "libdfs" / "include" / "dfs.h").read_bytes()
    so = libdir / "libdfs.so"
    assert so.is_symlink() and os.readlink(so) == "libdfs.so.0"
    real = libdir / os.readlink(libdir / "libdfs.so.0")
    assert real.is_file()
    soname = subprocess.run(["objdump", "-p", str(real)], capture_output=True,
                            text=True).stdout
    assert re.search(r"SONAME\s+libdfs\.so\.0\b", soname), soname
    # The client library links neither libevent nor OpenSSL.
    needed = re.findall(r"NEEDED\s+(\S+)", soname)
    assert not [n for n in needed if "event" in n or "ssl" in n or "crypto" in n], needed
    for prog in ("dfs", "dfs-namenode", "dfs-datanode"):
        assert os.access(prefix / "bin" / prog, os.X_OK), prog
    conf = list(dest.rglob("etc/dfs/dfs.conf"))
    assert len(conf) == 1
    assert conf[0].read_text() == (REPO / "conf" / "dfs.conf").read_text()
    # The .pc version is the library's ("dfs 0.1.0 (libdfs 0.1.0)").
    version = re.search(r"libdfs (\S+)\)",
                        run([BUILD / "client" / "dfs", "--version"])[1]).group(1)
    assert pkg_config(dest, libdir, "--modversion", "dfs") == [version]


def test_api_md_example_builds_against_the_installed_tree_and_runs(
        staged, module_cluster, tmp_path):
    dest, prefix, libdir = staged
    if not shutil.which("cc"):
        pytest.fail("no C compiler (cc) on PATH")
    src = tmp_path / "example.c"
    src.write_text(doc_example("example.c"))
    flags = pkg_config(dest, libdir, "--cflags", "--libs", "dfs")
    assert any(f.startswith("-I" + str(dest)) for f in flags), flags
    extra = ["-fsanitize=address,undefined"] if SANITIZED else []
    exe = tmp_path / "example"
    r = subprocess.run(["cc", "-Wall", "-Wextra", "-Werror", "-o", str(exe),
                        str(src)] + flags + extra, capture_output=True, text=True)
    assert r.returncode == 0, "cc example.c failed:\n" + r.stderr
    # The program must find the installed library, not the build tree's.
    env = dict(os.environ, LD_LIBRARY_PATH=str(libdir),
               DFS_NAMENODE=module_cluster.addr, DFS_USER="exampleuser")
    env.pop("DFS_CONF", None)
    ldd = subprocess.run(["ldd", str(exe)], capture_output=True, text=True,
                         env=env).stdout
    assert str(libdir / "libdfs.so.0") in ldd, ldd
    rc, out, err = run([exe], env=env)
    assert rc == 0, "example failed (%d):\n%s%s" % (rc, out, err)
    assert "home /user/exampleuser" in out, out
    assert "wrote 18000 bytes" in out, out
    assert "read 18000 bytes" in out, out
    assert re.search(r"^- +18000 greeting\.txt$", out, re.M), out
    assert "no such file" in out.lower() and "(errno 2)" in out, out
    st = module_cluster.stat("/user/exampleuser/example/greeting.txt")
    assert st["length"] == 18000
    assert st["owner"] == "exampleuser"
    # Given the namenode as a URI instead.
    env.pop("DFS_NAMENODE")
    rc, out, err = run([exe, "hdfs://" + module_cluster.addr], env=env)
    assert rc == 0 and "read 18000 bytes" in out, out + err


def test_client_library_never_prints_or_aborts():
    """dfs.h promises a library that reports only through return codes:
    libdfs.so imports nothing that exits, aborts or writes to stdio."""
    r = subprocess.run(["nm", "-D", "--undefined-only",
                        str(BUILD / "libdfs" / "libdfs.so")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    imports = {line.split()[-1].split("@")[0] for line in r.stdout.splitlines()}
    forbidden = {"abort", "__assert_fail", "exit", "_exit", "_Exit", "printf",
                 "fprintf", "vprintf", "vfprintf", "puts", "fputs", "putchar",
                 "fputc", "perror", "fwrite", "stdout", "stderr", "syslog",
                 "event_base_new", "SSL_new", "SSL_CTX_new"}
    assert imports, "nm listed no imports"
    assert not imports & forbidden, sorted(imports & forbidden)


def test_python_package_installed_into_site_packages_reads_through_fsspec(
        staged, module_cluster, tmp_path):
    dest, prefix, libdir = staged
    inits = list(dest.rglob("dfs/__init__.py"))
    assert len(inits) == 1, inits
    site = inits[0].parent.parent
    # Where /usr/bin/python3 looks for packages under that prefix.
    r = subprocess.run(["/usr/bin/python3", "-c",
                        "import sys; print('\\n'.join(sys.path))"],
                       capture_output=True, text=True, check=True)
    assert "/" + str(site.relative_to(dest)) in r.stdout.split("\n"), \
        (site, r.stdout)
    # Every module of the package, as in the source tree (a new module
    # needs its line in libdfs/python/meson.build).
    src = REPO / "libdfs" / "python" / "dfs"
    assert sorted(p.name for p in (site / "dfs").iterdir()) == \
        sorted(p.name for p in src.glob("*.py"))
    for p in src.glob("*.py"):
        assert (site / "dfs" / p.name).read_bytes() == p.read_bytes(), p.name
    dist = list(site.glob("dfs-*.dist-info"))
    assert [d.name for d in dist] == ["dfs-%s.dist-info" % version_of_build()]
    assert "[fsspec.specs]\ndfs = dfs.filesystem:DfsFileSystem\n" == \
        (dist[0] / "entry_points.txt").read_text()
    module_cluster.ok("mkdir", "/py")
    local = tmp_path / "hello.txt"
    local.write_text("hello from the installed package\n")
    module_cluster.ok("put", local, "/py/hello.txt")
    # A fresh interpreter: the staged site-packages and library only (the
    # library found by its soname), fsspec finding dfs:// by the entry point.
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "DFS_LIBDFS", "DFS_NAMENODE",
                        "DFS_CONF")}
    env["PYTHONPATH"] = str(site)
    env["LD_LIBRARY_PATH"] = str(libdir)
    env = python_env(env)
    code = ("import sys, fsspec\n"
            "assert 'dfs' not in sys.modules\n"
            "with fsspec.open(sys.argv[1], 'rt') as f:\n"
            "    print(f.read(), end='')\n"
            "import dfs\n"
            "print(dfs.__file__)\n")
    rc, out, err = run(["/usr/bin/python3", "-c", code,
                        "dfs://%s/py/hello.txt" % module_cluster.addr],
                       env=env, cwd=tmp_path)
    assert rc == 0, err
    assert out == "hello from the installed package\n%s\n" % inits[0], out


def version_of_build():
    """The project version of BUILD (meson introspect)."""
    import json
    r = subprocess.run(["meson", "introspect", "--projectinfo", str(BUILD)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout)["version"]
