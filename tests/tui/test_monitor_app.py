"""The monitor screen driven with Pilot: runs listed, GPU panel (fake, failing), log filter, keys."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import DataTable, Log, Static

from epam_tui.core.gpus import FakeBackend, scripted_gpus
from epam_tui.core.session import PollResult
from epam_tui.ui.app import EpamTuiApp, HelpScreen
from fixtures.monitor_helpers import fixture_root

FIXTURE = Path(__file__).parent / "fixtures" / "runs"


make_root = fixture_root  # the fixture runs, demo-finished the most recently active


def log_text(app: EpamTuiApp) -> str:
    return "\n".join(app.monitor.query_one("#log", Log).lines)


async def test_runs_charts_and_gpus(tmp_path: Path) -> None:
    app = EpamTuiApp(make_root(tmp_path), gpu_backend=FakeBackend(scripted_gpus(2)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.8)
        table = app.monitor.query_one("#runs", DataTable)
        assert table.row_count == 2
        names = {str(table.get_cell_at((i, table.get_column_index("name")))) for i in range(2)}
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


async def test_the_pane_scrolls_back_a_bounded_tail_and_the_filter_searches_further(tmp_path: Path, monkeypatch) -> None:
    """The log pane holds the last LOG_SHOWN lines (each line index it shows costs Textual ~1.2 KB of style
    caches for good); the filter and the level switch search the LOG_KEEP lines kept behind it."""
    from epam_tui.ui.screens import monitor

    monkeypatch.setattr(monitor, "LOG_SHOWN", 50)
    root = make_root(tmp_path)
    run = root / "demo-finished"
    with open(run / "train.log", "a") as fh:
        for i in range(120):
            fh.write(f"2026/11/25 03:00:{i % 60:02d} - mmengine - INFO - extra line {i}{' FINDME' if i == 3 else ''}\n")
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.6)
        app.monitor.select(run)
        await pilot.pause(0.8)
        pane = app.monitor.query_one("#log", Log)
        assert pane.line_count == 50, pane.line_count
        assert pane.lines[-1].endswith("extra line 119") and "FINDME" not in log_text(app)
        with open(run / "train.log", "a") as fh:  # more lines while it runs: the pane drops its oldest
            fh.writelines(f"2026/11/25 03:01:00 - mmengine - INFO - live line {i}\n" for i in range(30))
        await pilot.pause(0.8)
        assert pane.line_count == 50, pane.line_count
        assert pane.lines[-1].endswith("live line 29") and pane.lines[0].endswith("extra line 100")
        assert len(app.monitor.log_lines) > 150  # the fixture's lines and the 150 new ones, all kept
        app.monitor.set_filter("findme")
        assert log_text(app).endswith("extra line 3 FINDME") and pane.line_count == 1
        app.monitor.set_filter("extra line")
        assert pane.line_count == 50 and pane.lines[0].endswith("extra line 70")
        info = str(app.monitor.query_one("#loginfo", Static).render())
        assert "(120 of" in info and "the last 50 shown" in info, info
        app.monitor.set_filter("findme")
        assert "shown" not in str(app.monitor.query_one("#loginfo", Static).render())


async def test_log_lines_read_before_another_run_is_selected_are_not_shown_for_it(tmp_path: Path) -> None:
    """A poll reads the selected run's new log lines in a worker and hands them to the screen later; a run
    selected in between (a row highlighted) must not get them, nor get its own lines twice."""
    root = make_root(tmp_path)
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=60.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.8)
        first, other = root / "demo-finished", root / "demo-running"
        app.monitor.select(first)
        app.monitor.session.read_log()  # the first run's backlog, read and dropped: only new lines below
        with open(first / "train.log", "a") as fh:
            fh.write("2026/11/25 03:00:00 - mmengine - INFO - a line of the first run\n")
        read = app.monitor.session.read_log()  # what a poll's worker read ...
        assert read.lines == ["03:00:00 a line of the first run"]
        app.monitor.select(other)  # ... before the user moved to another run
        app.monitor._apply_poll(PollResult(log=read))
        assert "first run" not in log_text(app) and not any("first run" in line for line in app.monitor.log_lines)
        read = app.monitor.session.read_log()  # the next poll: the other run's log from its start
        app.monitor._apply_poll(PollResult(log=read))
        await pilot.pause(0.1)
        lines = read.lines
        assert lines and list(app.monitor.log_lines) == lines and app.monitor.query_one("#log", Log).line_count == len(lines)


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
        assert 99 in app.monitor.session.watchers[run].data.store.train
        assert "a brand new line" in log_text(app)


async def test_a_chart_waiting_on_a_little_growth_is_drawn_without_new_data(tmp_path: Path, monkeypatch) -> None:
    from epam_tui.ui.widgets import charts

    clock = [1000.0]  # the charts' clock, moved by hand
    monkeypatch.setattr(charts, "time", type("Clock", (), {"monotonic": staticmethod(lambda: clock[0])}))
    root = make_root(tmp_path)
    run = root / "demo-running"
    with open(run / "scalars.jsonl", "a") as fh:  # a long series: one more point is a fraction of a column
        for step in range(100, 3000):
            fh.write(json.dumps({"lr": 0.001, "loss": 1.0, "time": 0.4, "epoch": 2, "iter": step, "step": step}) + "\n")
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        async def until(condition, seconds: float = 10.0) -> bool:  # generous: CI machines are loaded
            for _ in range(int(seconds / 0.1)):
                if condition():
                    return True
                await pilot.pause(0.1)
            return condition()

        def points() -> int:
            return len(app.monitor.session.watchers[run].data.store.columns(("loss",))["step"])

        assert await until(lambda: app.monitor.charts is not None)  # mounted after the first poll (loaded CI: > 0.6 s)
        app.monitor.select(run)
        loss = app.monitor.query_one("#loss", charts.LossChart)
        assert await until(lambda: points() >= 2900 and app.monitor.session.watchers[run].data.loading is None)
        if loss.pending:  # whatever the backlog left pending is drawn
            clock[0] += charts.GROWTH_WAIT_S
        assert await until(lambda: not loss.pending and loss._drawn_len == points())
        before = loss._drawn_len
        assert loss._drawn_at == clock[0]
        with open(run / "scalars.jsonl", "a") as fh:
            fh.write(json.dumps({"lr": 0.001, "loss": 0.5, "time": 0.4, "epoch": 2, "iter": 3000, "step": 3000}) + "\n")
        assert await until(lambda: points() == before + 1)
        await pilot.pause(0.5)
        assert loss.pending and loss._drawn_len == before  # read, not drawn yet
        clock[0] += charts.GROWTH_WAIT_S
        # no new data: the poll draws the pending chart once the wait is over
        assert await until(lambda: not loss.pending and loss._drawn_len == before + 1)


async def test_empty_root_says_so(tmp_path: Path) -> None:
    app = EpamTuiApp(tmp_path / "work_dirs", gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        info = str(app.monitor.query_one("#loginfo", Static).render())
        assert "no runs under" in info and "epam-tui launch CONFIG" in info and "does not exist" in info
        assert app.monitor.query_one("#runs", DataTable).row_count == 0
    assert not (tmp_path / "work_dirs").exists()  # the monitor creates nothing


async def test_level_toggle_cycles_warnings_and_errors(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run = root / "demo-finished"
    with open(run / "train.log", "a") as fh:
        fh.write("2026/11/25 03:10:00 - mmengine - WARNING - Non-finite loss nan at iteration 7\n"
                 "2026/11/25 03:10:01 - mmengine - ERROR - something broke\n")
    for f in run.iterdir():  # the most recently active run is selected first
        f.touch()
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.8)
        assert app.monitor.session.selected == run
        assert "Epoch(train)" in log_text(app)
        await pilot.press("l")
        text = log_text(app)
        assert "Non-finite loss" in text and "something broke" in text and "Epoch(train)" not in text
        assert "level WARNING+" in str(app.monitor.query_one("#loginfo", Static).render())
        await pilot.press("l")
        text = log_text(app)
        assert "something broke" in text and "Non-finite loss" not in text
        await pilot.press("l")
        assert "Epoch(train)" in log_text(app) and "Non-finite loss" in log_text(app)


async def test_narrow_terminal_fits_the_run_table(tmp_path: Path) -> None:
    app = EpamTuiApp(make_root(tmp_path), gpu_backend=FakeBackend(scripted_gpus(2)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.8)
        table = app.monitor.query_one("#runs", DataTable)
        assert [c.label.plain for c in table.columns.values()] == ["", "run", "state", "epoch", "progress", "ETA",
                                                                   "loss", "best", "device"]
        assert table.virtual_size.width <= 80, "no horizontal scrolling at 80 columns"
        assert "Fake A100" not in str(app.monitor.query_one("#gpus", Static).render())  # the compact panel
        await pilot.resize_terminal(120, 40)
        await pilot.pause(0.3)
        assert "kind" in [c.label.plain for c in table.columns.values()] and table.row_count == 2


async def test_alert_marks_the_run_in_the_table(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    with open(root / "demo-running" / "scalars.jsonl", "a") as fh:
        fh.write(json.dumps({"lr": 0.05, "loss": float("nan"), "time": 0.4, "epoch": 1, "iter": 31, "step": 31}) + "\n")
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        table = app.monitor.query_one("#runs", DataTable)
        state = str(table.get_cell(str(root / "demo-running"), "state"))
        assert "NaN" in state
        assert "NaN" not in str(table.get_cell(str(root / "demo-finished"), "state"))
    events = (root / "demo-running" / "events.jsonl").read_text()
    assert '"nonfinite"' in events


async def test_big_backlog_is_read_in_steps_with_progress(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("epam_tui.core.session.BACKLOG_BUDGET", 16384)
    root = make_root(tmp_path)
    run = root / "demo-running"
    with open(run / "scalars.jsonl", "a") as fh:  # ~0.5 MB: about 30 polls of 16 KiB
        for step in range(31, 2031):
            fh.write(json.dumps({"lr": 0.05, "loss": 3.0 + step / 1e4, "grad_norm": 5.5, "time": 0.4,
                                 "data_time": 0.01, "epoch": 1 + step // 50, "iter": step, "step": step}) + "\n")
    states: list[str] = []
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.monitor.query_one("#runs", DataTable)
        for _ in range(200):
            await pilot.pause(0.02)
            if str(run) in table.rows:
                states.append(str(table.get_cell(str(run), "state")))
                if app.monitor.session.watchers[run].data.loading is None and "reading" not in states[-1]:
                    break
        assert any("reading" in s for s in states), states[:5]
        steps = list(app.monitor.session.watchers[run].data.store.train)
    expected = [json.loads(line)["step"] for line in (run / "scalars.jsonl").read_text().splitlines()]
    assert steps == sorted(set(expected))


def test_help_lists_every_monitor_key() -> None:
    """The help text comes from the same table as the bindings: every key bound on the monitor is in it."""
    from rich.text import Text

    from epam_tui.ui.actions import KEY_NAMES, help_text
    from epam_tui.ui.screens.monitor import MonitorScreen

    text = Text.from_markup(help_text("monitor")).plain
    keys = {line.split()[0] for line in text.splitlines() if line.startswith("  ")}
    keys |= {k for line in text.splitlines() if line.startswith("  ") for k in line.split("  ")[1].split()}
    missing = [f"{b.key} ({b.description})" for b in MonitorScreen.BINDINGS
               if KEY_NAMES.get(b.key, b.key) not in keys]
    assert not missing, f"keys missing from the help screen: {missing}"


async def test_table_columns_grow_with_their_text(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    run = root / "demo-running"
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)), poll_interval=0.2)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.8)
        table = app.monitor.query_one("#runs", DataTable)
        before = table.columns["progress"].content_width
        (run / "status.json").unlink()  # no max_epochs: the progress cell is the bare step number
        with open(run / "scalars.jsonl", "a") as fh:
            fh.write(json.dumps({"lr": 0.01, "loss": 1.0, "time": 0.4, "epoch": 9, "iter": 1, "step": 123456789012})
                     + "\n")
        await pilot.pause(1.0)
        cell = str(table.get_cell(str(run), "progress"))
        assert "123456789012" in cell
        assert table.columns["progress"].content_width >= len(cell) > before  # shown whole, not cut off


async def test_panel_text_is_laid_out_again_only_when_its_height_can_change() -> None:
    from textual.app import App, ComposeResult

    from epam_tui.ui.screens.monitor import update_text

    class PanelApp(App):
        CSS = "Static { width: 20; height: auto; }"

        def compose(self) -> ComposeResult:
            yield Static(id="panel")

    app = PanelApp()
    async with app.run_test(size=(40, 20)) as pilot:
        panel = app.query_one(Static)
        layouts: list[bool] = []
        real = panel.update
        panel.update = lambda content, layout=True: (layouts.append(layout), real(content, layout=layout))[1]

        async def show(markup: str) -> tuple[int, str]:
            update_text(panel, markup)
            await pilot.pause()
            return panel.size.height, str(panel.render())

        assert await show("[b]a[/] util 10%\nb █░░") == (2, "a util 10%\nb █░░")
        assert await show("[b]a[/] util 99%\nb ██░") == (2, "a util 99%\nb ██░")
        assert layouts == [True, False]  # the same height: no layout pass
        assert await show("[b]a[/] util 99%\nb ██░") == (2, "a util 99%\nb ██░") and len(layouts) == 2  # same text
        assert (await show("a\nb\nc"))[0] == 3  # a line more
        assert (await show("x" * 30 + "\nb\nc"))[0] == 4  # a line wraps
        assert (await show("x\nb\nc"))[0] == 3  # and no more
        assert (await show("漢字" * 6 + "\nb\nc"))[0] == 4  # 12 characters, 24 cells: wraps
        assert (await show("漢\nb\nc"))[0] == 3
        assert layouts[2:] == [True] * 5
