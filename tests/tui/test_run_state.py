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


# ------------------------------------------------------------------------------ stall threshold (issue 18 item 9)
def _live_run(tmp_path: Path, step_time: float, t0: float) -> Path:
    """A run whose process is this test's (alive), 10 train records 20 iterations apart, last write at t0."""
    import os

    import psutil

    d = tmp_path / "live"
    d.mkdir()
    recs = [{"lr": 0.1, "loss": 1.0, "time": step_time, "epoch": 1, "iter": s, "step": s} for s in range(20, 201, 20)]
    (d / "scalars.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (d / "status.json").write_text(json.dumps({"state": "running", "epoch": 1, "iter": 200, "pid": os.getpid(),
                                               "create_time": psutil.Process().create_time(), "updated": t0}))
    for f in d.iterdir():
        os.utime(f, (t0, t0))
    return d


def _state_at(path: Path, now: float) -> tuple[str, str]:
    from epam_tui.core.registry import RunWatcher

    w = RunWatcher(path, now=now)
    w.poll()
    return w.data.state, w.data.reason


def test_stall_threshold_is_five_times_the_runs_own_record_interval(tmp_path):
    """2.4 s per iteration, a record every 20: 48 s between records, stalled after 240 s - not after 30 s
    as before (a loaded machine raised a stall alert every 30 s)."""
    from epam_tui.core.alerts import alerts_for

    t0 = 1_700_000_000.0
    d = _live_run(tmp_path, 2.4, t0)
    assert _state_at(d, t0 + 200) == ("running", "")
    state, reason = _state_at(d, t0 + 250)
    assert state == "stalled"
    assert reason == "no new step for 4 min (5x the median 48 s step interval)"
    run = load_run(d)
    run.state, run.reason = state, reason
    assert [a.message for a in alerts_for(run)] == [f"{run.name}: stalled - {reason}"]


def test_stall_threshold_has_a_floor_of_60_s(tmp_path):
    t0 = 1_700_000_000.0
    d = _live_run(tmp_path, 0.1, t0)  # 2 s between records
    assert _state_at(d, t0 + 55)[0] == "running"
    assert _state_at(d, t0 + 70) == ("stalled", "no new step for 70 s (5x the median 2.0 s step interval, at least 60 s)")


def test_a_live_run_with_no_update_time_yet_is_not_stalled(tmp_path):
    """A run just spawned: its process lives, run.json is written, but nothing the trainer writes has
    been read yet (last_update 0). It is running, not 'stalled for 499,000 h'."""
    import os

    import psutil

    from epam_tui.core.runstate import stall_reason

    d = tmp_path / "fresh"
    d.mkdir()
    (d / "run.json").write_text(json.dumps({"name": "fresh", "status": "running", "pid": os.getpid(),
                                            "create_time": psutil.Process().create_time()}))
    assert _state_at(d, 1_800_000_000.0) == ("running", "")
    assert stall_reason(1_800_000_000.0, 0.0, None) is None
    assert stall_reason(1_800_000_000.0, None, 2.0) is None
    assert stall_reason(1_000.0, 920.0, None) == "no new step for 80 s (no step interval known yet; limit 60 s)"


# ------------------------------------------------------------------------------ foreign runs (issue 18 item 5)
MM_CONFIG = """
model = dict(type='Recognizer3D')
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=3, val_begin=1, val_interval=1)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.2, momentum=0.9))
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=False, T_max=300, eta_min=0)]
"""


def _mm_work_dir(tmp_path: Path, val_epochs: int, age_s: float) -> Path:
    import os
    import time

    d = tmp_path / f"mm{val_epochs}"
    vis = d / "20260101_000000" / "vis_data"
    vis.mkdir(parents=True)
    recs = []
    for e in range(1, val_epochs + 1):
        recs += [{"lr": 0.1, "loss": 1.0, "time": 0.5, "epoch": e, "iter": 100 * e, "step": 100 * e},
                 {"acc/top1": 0.3 * e, "step": e}]
    (vis / "scalars.json").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (vis / "config.py").write_text(MM_CONFIG)
    old = time.time() - age_s
    for f in [*d.rglob("*"), d]:
        os.utime(f, (old, old))
    return d


def test_finished_mmengine_work_dir_is_finished(tmp_path):
    """Hours old, no process known, last validation at train_cfg.max_epochs of the dumped config (its
    per-iteration schedule is not one the LR overlay reproduces: the epochs are read anyway)."""
    run = load_run(_mm_work_dir(tmp_path, 3, 3 * 3600))
    assert run.kind == "mmengine" and run.max_epochs == 3
    assert (run.state, run.reason) == ("finished", "last validation at epoch 3 of 3")


def test_unfinished_quiet_foreign_run_is_idle_since(tmp_path):
    import time

    d = _mm_work_dir(tmp_path, 2, 3 * 3600)
    run = load_run(d)
    since = time.strftime("%H:%M", time.localtime(run.last_update))
    assert run.state == "idle"
    assert run.reason == f"idle since {since} (no process known and no write for 15 min)"
    assert load_run(_mm_work_dir(tmp_path / "fresh", 2, 60)).state == "running"  # written a minute ago


def test_official_epam_log_goes_idle(tmp_path):
    import os
    import time

    d = tmp_path / "official"
    d.mkdir()
    log = d / "20260101_000000.log"
    log.write_text("2026-01-01 00:00:01 Epoch: [1][20|100] lr: 0.0015000 loss: 8.12345 top1_acc: 0.04167 top5_acc: 0.12500\n")
    old = time.time() - 7200
    os.utime(log, (old, old))
    run = load_run(d)
    assert run.kind == "epam-official" and run.state == "idle" and run.reason.startswith("idle since ")


# ------------------------------------------------------------------------------ one identity per run dir (issue 18 UX)
def test_one_identity_per_run_directory(tmp_path, monkeypatch):
    from epam_tui.core.registry import RunWatcher, discover, run_key

    run = tmp_path / "work_dirs" / "r1"
    run.mkdir(parents=True)
    (run / "status.json").write_text(json.dumps({"state": "finished"}))
    (tmp_path / "link").symlink_to(tmp_path / "work_dirs")
    monkeypatch.chdir(tmp_path)
    found = discover([Path("work_dirs"), tmp_path / "work_dirs", Path("./work_dirs/r1"), tmp_path / "link"])
    assert found == [run.resolve()]
    assert run_key("work_dirs/r1") == run_key(tmp_path / "link" / "r1") == run_key(str(run) + "/../r1") == found[0]
    assert RunWatcher("work_dirs/r1").path == found[0]


async def test_monitor_shows_a_launched_run_once(tmp_path, monkeypatch):
    """The monitor watches ``work_dirs`` (relative); a launch hands it the absolute path of the new run:
    one row, not two (they differed until a restart)."""
    import shutil

    from textual.widgets import DataTable

    from epam_tui.core.gpus import FakeBackend, scripted_gpus
    from epam_tui.ui.app import EpamTuiApp

    fixtures = Path(__file__).parent / "fixtures" / "runs"
    shutil.copytree(fixtures, tmp_path / "work_dirs")
    monkeypatch.chdir(tmp_path)
    app = EpamTuiApp(Path("work_dirs"), gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.monitor.query_one("#runs", DataTable)
        for _ in range(40):
            if table.row_count == 2:
                break
            await pilot.pause(0.2)
        app.monitor.add_run(tmp_path / "work_dirs" / "demo-running")
        app.monitor.add_run(Path("work_dirs/demo-running/../demo-running"))
        await pilot.pause(1.0)
        assert table.row_count == 2 and len(app.monitor.session.watchers) == 2
