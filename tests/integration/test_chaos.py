"""The short chaos run (issue 7): tools/chaos for a minute with a fixed
seed -- puts, reads, appends, hflushing writers, deletes and renames while
datanodes are killed, stopped and restarted and the namenode is killed and
restarted -- loses and corrupts nothing."""

import re
import subprocess

from conftest import REPO, SLOW, sanitizer_report

CHAOS = REPO / "tools" / "chaos"
SECONDS = 60
# The run itself, then start, the lease probe, the settling and the
# verification (about 20 s here), with room for a loaded machine.
DEADLINE = (SECONDS + 180) * SLOW


def test_chaos_short_run(tmp_path):
    work = tmp_path / "chaos"
    cmd = [str(CHAOS), "-t", str(SECONDS), "-s", "1", "-d", str(work), "--keep"]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=DEADLINE)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    assert "lost or wrong bytes: 0" in p.stdout, out
    # It did something: operations acknowledged, the namenode killed at
    # least once, bytes read back at the end.
    assert re.search(r"^operations: .*put [1-9]\d* ok", p.stdout, re.M), out
    assert re.search(r"^faults: .*namenode kill -9 [1-9]", p.stdout, re.M), out
    assert re.search(r"^verified: \d+ paths \([1-9]\d* files, \d+ absent\), [1-9][\d,]* bytes",
                     p.stdout, re.M), out
    assert "replay: tools/chaos -t %d -s 1" % SECONDS in p.stdout, out
    for log in sorted((work / "cluster").glob("*.log")):
        bad = sanitizer_report(log.read_text(errors="replace"))
        assert bad is None, "%s: %s" % (log.name, bad)
