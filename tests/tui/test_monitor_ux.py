"""The monitor's UX fixes driven with Pilot: the selection survives a resize, help shows the keys of the
screen it was opened from, a failed run says how it ended and shows its stdout.log, runs marked for
compare, the run table focused after a launch, the device column."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Log, Static

from epam_tui.core.gpus import FakeBackend, scripted_gpus
from epam_tui.ui.app import EpamTuiApp, HelpScreen
from fixtures.monitor_helpers import fixture_root, until

FIXTURE = Path(__file__).parent / "fixtures" / "runs"
TRACEBACK = ["Traceback (most recent call last):", '  File "/x/epam/engine/train.py", line 12, in main',
             "RuntimeError: CUDA error: an illegal memory access was encountered"]


def make_root(tmp_path: Path, failed: dict | None = None) -> Path:
    """The fixture runs (demo-finished the most recently active) and, given ``failed`` (exit.json), a failed
    run whose traceback is only in stdout.log."""
    root = fixture_root(tmp_path)
    if failed is not None:
        run = root / "crashed"
        shutil.copytree(FIXTURE / "demo-running", run)
        status = json.loads((run / "status.json").read_text())
        (run / "status.json").write_text(json.dumps({**status, "state": "failed", "exit_reason": "crashed"}))
        (run / "exit.json").write_text(json.dumps({"ended": 1_700_000_050, **failed}))
        (run / "stdout.log").write_text("starting\n" + "\n".join(TRACEBACK) + "\n")
        for f in run.iterdir():
            os.utime(f, (1_700_000_050, 1_700_000_050))
    return root


def cell(app: EpamTuiApp, run: Path, column: str) -> str:
    return Text.from_markup(str(app.monitor.query_one("#runs", DataTable).get_cell(str(run), column))).plain


def log_text(app: EpamTuiApp) -> str:
    return "\n".join(app.monitor.query_one("#log", Log).lines)


async def test_resize_keeps_the_selected_run(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(2)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.monitor.query_one("#runs", DataTable)
        assert await until(pilot, lambda: table.row_count == 2 and app.monitor.session.selected is not None)
        second = Path(str(table.coordinate_to_cell_key((1, 0)).row_key.value))
        table.focus()
        table.move_cursor(row=1)
        assert await until(pilot, lambda: app.monitor.session.selected == second)
        for size in ((80, 24), (120, 40), (100, 30)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
            await until(pilot, lambda: table.row_count == 2)
            await pilot.pause(0.3)  # messages from the rebuilt table (its first row highlighted) handled
            assert app.monitor.session.selected == second, size
            assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == str(second), size


async def test_help_shows_the_keys_of_its_screen_and_escape_closes_only_help(tmp_path: Path) -> None:
    from epam_tui.ui.screens.checklist import ChecklistScreen

    app = EpamTuiApp(make_root(tmp_path), gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: app.monitor.session.selected is not None)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        shown = str(app.screen.query_one("#help-text", Static).render())
        assert "filter the log" in shown and "tick" not in shown
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is app.monitor)
        await pilot.press("c")
        assert await until(pilot, lambda: isinstance(app.screen, ChecklistScreen))
        checklist = app.screen
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = str(app.screen.query_one("#help-text", Static).render())
        assert "tick / untick the item" in shown and "filter the log" not in shown
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert app.screen is checklist  # the checklist is still open
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is app.monitor)


async def test_the_palette_offers_the_actions_of_its_screen(tmp_path: Path) -> None:
    from epam_tui.ui.actions import ActionCommands
    from epam_tui.ui.screens.checklist import ChecklistScreen

    root = make_root(tmp_path)
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: app.monitor.session.selected is not None)
        hits = [hit async for hit in ActionCommands(app.monitor).discover()]
        names = {hit.text for hit in hits}
        assert {"Compare runs", "Mark run for compare", "Filter the log", "Help"} <= names and "Tick item" not in names
        mark = next(hit for hit in hits if hit.text == "Mark run for compare")
        await mark.command()
        assert app.monitor.session.marked == {app.monitor.session.selected}
        screen = ChecklistScreen(app.monitor.session.selected)
        assert "Tick item" in {hit.text async for hit in ActionCommands(screen).discover()}


async def test_a_failed_run_says_its_exit_and_shows_its_traceback(tmp_path: Path) -> None:
    root = make_root(tmp_path, failed={"code": 1, "signal": None})
    crashed = root / "crashed"
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: app.monitor.query_one("#runs", DataTable).row_count == 3)
        assert await until(pilot, lambda: cell(app, crashed, "state") == "failed (exit 1)"), cell(app, crashed, "state")
        app.monitor.select(crashed)
        assert await until(pilot, lambda: "RuntimeError: CUDA error" in log_text(app)), log_text(app)
        assert "log: crashed/stdout.log" in str(app.monitor.query_one("#loginfo", Static).render())
        await pilot.press("o")  # the trainer's log
        assert await until(pilot, lambda: "Environment:" in log_text(app) and "Traceback" not in log_text(app))
        assert "log: crashed/train.log" in str(app.monitor.query_one("#loginfo", Static).render())
        await pilot.press("o")  # and back
        assert await until(pilot, lambda: "RuntimeError: CUDA error" in log_text(app))


async def test_a_killed_run_names_the_signal(tmp_path: Path) -> None:
    root = make_root(tmp_path, failed={"code": 137, "signal": "SIGKILL"})
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: app.monitor.query_one("#runs", DataTable).row_count == 3)
        assert await until(pilot, lambda: cell(app, root / "crashed", "state") == "failed (SIGKILL)")


async def test_the_selected_run_failing_moves_its_pane_to_stdout(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run = root / "demo-finished"
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: app.monitor.session.selected == run and "Epoch(train)" in log_text(app))
        (run / "stdout.log").write_text("\n".join(TRACEBACK) + "\n")
        (run / "exit.json").write_text(json.dumps({"code": 1, "ended": 1_700_000_200, "signal": None}))
        assert await until(pilot, lambda: "RuntimeError: CUDA error" in log_text(app)), log_text(app)


async def test_compare_takes_the_marked_runs(tmp_path: Path) -> None:
    from epam_tui.ui.screens.compare import CompareScreen

    root = make_root(tmp_path)
    shutil.copytree(root / "demo-finished", root / "demo-third")
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.monitor.query_one("#runs", DataTable)
        assert await until(pilot, lambda: table.row_count == 3 and app.monitor.session.selected is not None)
        table.focus()
        keys = [str(table.coordinate_to_cell_key((i, 0)).row_key.value) for i in range(3)]
        for row in (0, 2):
            table.move_cursor(row=row)
            assert await until(pilot, lambda: app.monitor.session.selected == Path(keys[row]))
            await pilot.press("space")
        assert await until(pilot, lambda: cell(app, Path(keys[0]), "mark") and cell(app, Path(keys[2]), "mark"))
        assert cell(app, Path(keys[1]), "mark").strip() == ""
        await pilot.press("v")
        assert await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert [str(r.path) for r in app.screen.runs] == [keys[0], keys[2]]
        await pilot.press("escape")
        assert await until(pilot, lambda: app.screen is app.monitor)
        for row in (0, 2):  # unmarked again: v compares all
            table.move_cursor(row=row)
            assert await until(pilot, lambda: app.monitor.session.selected == Path(keys[row]))
            await pilot.press("space")
        await pilot.press("v")
        assert await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        assert len(app.screen.runs) == 3


async def test_the_run_table_has_the_focus_after_a_launch(tmp_path: Path) -> None:
    from epam_tui.ui.screens.launch import LaunchScreen

    root = make_root(tmp_path)
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), start="launch",
                     launch_args={"configs_dir": str(tmp_path / "no-configs")})
    async with app.run_test(size=(120, 40)) as pilot:
        assert await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
        await pilot.pause(0.3)
        app.open_run(root / "demo-running")  # what the launch screen calls once the run is spawned
        table = app.monitor.query_one("#runs", DataTable)
        assert await until(pilot, lambda: app.screen is app.monitor and table.row_count == 2)
        assert await until(pilot, lambda: app.monitor.session.selected == root / "demo-running")
        await pilot.pause(0.2)
        assert app.focused is table
        await pilot.press("up")  # the arrows move in the run list at once
        assert await until(pilot, lambda: app.monitor.session.selected == root / "demo-finished")


async def test_the_device_column_says_where_the_run_trains(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run = root / "demo-running"
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "device": "cpu"}))
    (run / "run.json").write_text(json.dumps({"name": "demo-running", "gpus": [{"index": 0, "uuid": "GPU-a"},
                                                                               {"index": 1, "uuid": "GPU-b"}]}))
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(2)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.monitor.query_one("#runs", DataTable)
        assert await until(pilot, lambda: table.row_count == 2)
        assert await until(pilot, lambda: cell(app, run, "device") == "cpu (asked 0,1)"), cell(app, run, "device")
        assert cell(app, root / "demo-finished", "device") == "-"  # the trainer did not say: what was asked


async def test_help_scrolls_with_the_arrows_on_a_small_terminal(tmp_path: Path) -> None:
    app = EpamTuiApp(make_root(tmp_path), gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        box = app.screen.query_one("#help")
        await pilot.pause()
        assert box.max_scroll_y > 0  # taller than 24 lines
        await pilot.press("pagedown")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and box.scroll_y > 0
        await pilot.press("x")
        assert await until(pilot, lambda: app.screen is app.monitor)
