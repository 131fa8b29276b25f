"""Why a run is in its state, said where the user looks: ``epam-tui status`` and the line under the
monitor's run table show a refused ``config.yaml`` (alias bomb, deep nesting, recursive alias), an
``unreadable`` run's bad file and an ``idle`` foreign run's quiet time; the run table styles ``unreadable``
and ``idle`` apart from the other states."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Static

from epam_tui.core.gpus import FakeBackend, scripted_gpus
from fixtures.monitor_helpers import until
from epam_tui.ui.app import EpamTuiApp
from epam_tui.ui.widgets.run_table import STATE_STYLE

ROOT = Path(__file__).resolve().parents[2]


def alias_bomb() -> str:
    text, prev = 'a: &a ["x","x","x","x","x","x","x","x","x","x"]\n', "a"
    for i in range(1, 9):  # 10**9 values once expanded
        text += f"b{i}: &b{i} [" + ",".join([f"*{prev}"] * 10) + "]\n"
        prev = f"b{i}"
    return text


CONFIGS = {"bomb": (alias_bomb(), "config.yaml refused: more than 50,000 values once aliases are expanded"),
           "deep": ("x: " + "[" * 5000 + "]" * 5000 + "\n", "config.yaml not read: invalid YAML"),
           "recursive": ("a: &a [*a]\n", "config.yaml refused: recursive alias *a")}


def make_runs(root: Path) -> dict[str, Path]:
    runs = {}
    for name, (text, _) in CONFIGS.items():
        d = runs[name] = root / name
        d.mkdir(parents=True)
        (d / "config.yaml").write_text(text)
        (d / "status.json").write_text(json.dumps({"state": "finished", "epoch": 1}))
    bad = runs["badstatus"] = root / "badstatus"
    bad.mkdir()
    (bad / "status.json").write_text(json.dumps({"state": "running", "pid": "abc"}))
    idle = runs["idle"] = root / "idle"  # an MMEngine work_dir quiet for an hour, no process known
    vis = idle / "20260101_000000" / "vis_data"
    vis.mkdir(parents=True)
    (vis / "scalars.json").write_text(json.dumps({"lr": 0.1, "loss": 1.0, "time": 0.5, "epoch": 1, "iter": 10,
                                                  "step": 10}) + "\n")
    old = time.time() - 3600
    for f in [*idle.rglob("*"), idle]:
        os.utime(f, (old, old))
    return runs


WANT = {"bomb": CONFIGS["bomb"][1], "deep": CONFIGS["deep"][1], "recursive": CONFIGS["recursive"][1],
        "badstatus": "unreadable status.json: pid must be an integer (got 'abc')", "idle": "idle since "}


def test_status_says_why(tmp_path: Path) -> None:
    runs = make_runs(tmp_path / "work_dirs")
    out = subprocess.run([sys.executable, "-m", "epam_tui.cli", "status", str(tmp_path / "work_dirs")],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    for name, want in WANT.items():
        row = next(i for i, line in enumerate(lines) if line.startswith(name + " "))
        said = lines[row] + "\n" + (lines[row + 1] if row + 1 < len(lines) else "")
        assert want in said, (name, said)
    assert "unreadable" in next(line for line in lines if line.startswith("badstatus "))
    assert " idle " in next(line for line in lines if line.startswith("idle "))
    assert len(runs) == len(WANT)


def test_unreadable_and_idle_have_their_own_styles() -> None:
    styles = {state: STATE_STYLE.get(state) for state in ("unreadable", "idle")}
    assert all(styles.values()), styles
    others = {style for state, style in STATE_STYLE.items() if state not in styles}
    assert styles["unreadable"] != styles["idle"] and not set(styles.values()) & others, STATE_STYLE


async def test_monitor_shows_the_selected_runs_reason(tmp_path: Path) -> None:
    root = tmp_path / "work_dirs"
    runs = make_runs(root)
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.monitor.query_one("#runs", DataTable)
        assert await until(pilot, lambda: table.row_count == len(runs), seconds=30.0)
        reason = app.monitor.query_one("#runreason", Static)

        def shown() -> str:
            return str(reason.render()) if reason.display else ""

        for name, want in WANT.items():  # moved onto with the keyboard, as a user would
            row = table.get_row_index(str(runs[name].resolve()))
            table.focus()
            while table.cursor_row != row:
                await pilot.press("down" if table.cursor_row < row else "up")
            assert await until(pilot, lambda: want in shown(), seconds=30.0), (name, shown())
        state = str(table.get_cell(str(runs["badstatus"].resolve()), "state"))
        assert Text.from_markup(state).plain == "unreadable" and STATE_STYLE["unreadable"] in state
        state = str(table.get_cell(str(runs["idle"].resolve()), "state"))
        assert Text.from_markup(state).plain == "idle" and STATE_STYLE["idle"] in state
