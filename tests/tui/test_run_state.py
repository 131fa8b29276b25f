"""Run state read from a run directory: where it trains (device label), foreign runs' end, one identity per dir."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from epam_tui.core.registry import device_label, load_run


@pytest.mark.parametrize("status, run, want", [
    ({"device": "cuda"}, {"gpus": [{"index": 0}, {"index": 1}]}, "cuda 0,1"),
    ({"device": "cpu"}, {"gpus": [{"index": 0}, {"index": 1}]}, "cpu (asked 0,1)"),
    ({"device": "cpu"}, {"gpus": []}, "cpu"),
    ({"device": "cpu"}, None, "cpu"),
    ({"device": "cuda"}, None, "cuda"),
    ({}, {"gpus": [{"index": 0}]}, ""),
    (None, None, ""),
    ({"device": 3}, {"gpus": "abc"}, ""),
    ({"device": "cpu"}, {"gpus": [{"index": "x"}, 5, {"index": 2}]}, "cpu (asked 2)"),
])
def test_device_label(status, run, want):
    assert device_label(status, run) == want


def _run_dir(tmp_path: Path, status: dict, run: dict | None = None) -> Path:
    d = tmp_path / "r1"
    d.mkdir()
    (d / "status.json").write_text(json.dumps(status))
    if run is not None:
        (d / "run.json").write_text(json.dumps(run))
    return d


def test_device_on_rundata_and_status_cli(tmp_path):
    d = _run_dir(tmp_path, {"state": "finished", "device": "cpu", "epoch": 1},
                 {"name": "r1", "gpus": [{"index": 0, "uuid": "GPU-x"}, {"index": 1, "uuid": "GPU-y"}]})
    assert load_run(d).device == "cpu (asked 0,1)"
    assert load_run(d).summary()["device"] == "cpu (asked 0,1)"
    out = subprocess.run([sys.executable, "-m", "epam_tui.cli", "status", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "cpu (asked 0,1)" in out.stdout
