"""docs/python.md's examples, taken from the page, run against a live
cluster: each `print(...)  # expected` line must print what its comment
says."""

import re
import subprocess

from conftest import REPO, SMALL_CLUSTER

pytestmark = SMALL_CLUSTER

PYTHON_MD = REPO / "docs" / "python.md"


def doc_example(name):
    """The fenced python block after `<!-- example: name -->`."""
    m = re.search(r"<!-- example: %s -->\s*```python\n(.*?)```"
                  % re.escape(name), PYTHON_MD.read_text(), re.S)
    assert m, "docs/python.md has no example marked " + name
    return m.group(1)


def expected_lines(code):
    return [m.group(1).strip() for m in
            re.finditer(r"^\s*print\(.*\)\s*#\s*(.*)$", code, re.M)]


def test_python_md_examples_run_and_print_what_they_say(module_cluster):
    for name in ("python-tour", "python-fsspec"):
        code = doc_example(name).replace("127.0.0.1:8020",
                                         module_cluster.addr)
        r = subprocess.run(["/usr/bin/python3", "-c", code],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "%s failed:\n%s" % (name, r.stderr)
        want = expected_lines(code)
        assert want, name
        got = [line.strip() for line in r.stdout.splitlines()]
        for w in want:
            assert w in got, (name, w, got)
    # What the examples wrote is there.
    assert module_cluster.ok("cat", "/demo/log.txt") == "one\ntwo\n"
