"""The fault-probe benchmark (benchmarks/faults.py --quick) as a test: every probe class run from outside
against the real commands ends with 0 tracebacks, 0 hangs, 0 lost files or rows and nothing else wrong.

The benchmark prints the command and output of every probe that did not survive; the assertion message
carries them. docs/reliability.md holds the full-mode table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.faults, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def test_quick_fault_probes_all_survive(tmp_path: Path) -> None:
    out = tmp_path / "outcomes.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "faults.py"), "--quick", "--json", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = json.loads(out.read_text())
    classes = {o["cls"] for o in outcomes}
    assert {"bad config files", "bad --set values", "status.json field variants", "corrupted run files",
            "MMEngine config.py", "monitor in a terminal", "Slurm script injection", "tampered run.json --restart",
            "kill -9 during checkpoint save", "killed wrapper, live trainer"} <= classes, classes
    bad = [f"{o['verdict']}: {o['cls']}: {o['name']}: {o['why'][:200]}" for o in outcomes
           if o["verdict"] in ("traceback", "hang", "lost", "wrong")]
    assert not bad, "\n".join(bad) + "\n\n" + done.stdout.split("\nBENCH ")[0][-6000:]
    assert sum(o["verdict"] == "survived" for o in outcomes) >= 90
    assert "BENCH " in done.stdout
