"""Comparison details: wall-clock time per epoch from status.json, jumps/std of a jumpy run, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from epam_tui.core.compare import run_row
from epam_tui.core.registry import load_run
from tests.tui.test_diagnose_compare_report import fake_run

ROOT = Path(__file__).resolve().parents[2]


def test_epoch_time_from_status_and_stability(tmp_path: Path) -> None:
    losses = [2.0 + 0.01 * (i % 2) for i in range(40)]
    losses[30] = 8.0
    run = fake_run(tmp_path, "jumpy", losses, [0.5] * 10, [0.5] * 10)
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "iter": 40, "started": 1000.0, "updated": 1300.0}))
    row = run_row(load_run(run))
    assert row["epoch_time"] == pytest.approx(30.0)  # 300 s over 10 epochs of 4 iterations
    assert row["jumps"] == 2  # up to 8.0 and back down
    assert row["std_dloss"] > 1.0


def test_compare_command_json(tmp_path: Path) -> None:
    a = fake_run(tmp_path, "a", [3.0, 2.0] * 6, [0.5, 0.9], [0.5, 0.8])
    b = fake_run(tmp_path, "b", [3.0, 2.0] * 6, [0.5, 0.9, 0.95], [0.5, 0.8, 0.9])
    out = subprocess.run([sys.executable, "-m", "epam_tui.cli", "compare", str(a), str(b), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [r["best_val"] for r in data["rows"]] == [0.8, 0.9]
    assert ["train.max_epochs", [2, 3]] in data["config_diff"]
    bad = subprocess.run([sys.executable, "-m", "epam_tui.cli", "compare", str(tmp_path / "nope")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "not a run directory" in bad.stderr
