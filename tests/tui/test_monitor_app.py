"""The monitor screen driven with Pilot: runs listed, GPU panel (fake, failing), log filter, keys."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from textual.widgets import DataTable, RichLog, Static

from epam_tui.core.gpus import FakeBackend, scripted_gpus
from epam_tui.ui.app import EpamTuiApp, HelpScreen

FIXTURE = Path(__file__).parent / "fixtures" / "runs"


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "work_dirs"
    shutil.copytree(FIXTURE, root)
    return root


def log_text(app: EpamTuiApp) -> str:
    return "\n".join(line.text for line in app.monitor.query_one("#log", RichLog).lines)


async def test_runs_charts_and_gpus(tmp_path: Path) -> None:
    app = EpamTuiApp(make_root(tmp_path), gpu_backend=FakeBackend(scripted_gpus(2)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.8)
        table = app.monitor.query_one("#runs", DataTable)
        assert table.row_count == 2
        names = {str(table.get_row_at(i)[0]) for i in range(2)}
        assert names == {"demo-finished", "demo-running"}
        gpus = str(app.monitor.query_one("#gpus", Static).render())
        assert "Fake A100" in gpus and "util" in gpus
        assert "Epoch(train)" in log_text(app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")


async def test_gpu_failure_mid_run_keeps_running(tmp_path: Path) -> None:
    app = EpamTuiApp(make_root(tmp_path), gpu_backend=FakeBackend(scripted_gpus(1), fail_after=1))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(2.5)
        assert "no GPU telemetry" in str(app.monitor.query_one("#gpus", Static).render())
        assert app.monitor.query_one("#runs", DataTable).row_count == 2


async def test_log_filter(tmp_path: Path) -> None:
    app = EpamTuiApp(make_root(tmp_path), gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.8)
        await pilot.press("slash")
        for ch in "Epoch(val)":
            await pilot.press(ch if ch not in "()" else {"(": "left_parenthesis", ")": "right_parenthesis"}[ch])
        await pilot.press("enter")
        await pilot.pause(0.2)
        text = log_text(app)
        assert "Epoch(val)" in text and "Epoch(train)" not in text
        app.monitor.set_filter("/loss: [0-9]/")
        text = log_text(app)
        assert "Epoch(train)" in text and "Epoch(val)" not in text
        await pilot.press("escape")
        assert "Epoch(val)" in log_text(app) and "Epoch(train)" in log_text(app)


async def test_new_lines_appear_live(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.6)
        run = root / "demo-finished"
        app.monitor.select(run)
        with open(run / "scalars.jsonl", "a") as fh:
            fh.write(json.dumps({"lr": 0.001, "loss": 0.05, "time": 0.4, "epoch": 2, "iter": 99, "step": 99}) + "\n")
        with open(run / "train.log", "a") as fh:
            fh.write("2026/11/25 03:00:00 - mmengine - INFO - a brand new line\n")
        await pilot.pause(0.8)
        assert 99 in app.monitor.watchers[run].data.store.train
        assert "a brand new line" in log_text(app)


async def test_empty_root_says_so(tmp_path: Path) -> None:
    app = EpamTuiApp(tmp_path / "work_dirs", gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        info = str(app.monitor.query_one("#loginfo", Static).render())
        assert "no runs under" in info and "epam-tui launch CONFIG" in info and "does not exist" in info
        assert app.monitor.query_one("#runs", DataTable).row_count == 0
    assert not (tmp_path / "work_dirs").exists()  # the monitor creates nothing
