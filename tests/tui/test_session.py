"""MonitorSession driven without a terminal over copies of the fixture runs: rescans, selection, marks,
alerts and the selected run's log lines, as the monitor screen relies on them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from epam_tui.core.session import LogRead, MonitorSession, PollResult
from fixtures.monitor_helpers import fixture_root

FIXTURE = Path(__file__).parent / "fixtures" / "runs"


make_root = fixture_root  # the fixture runs, demo-finished the most recently active


def poll_until_read(session: MonitorSession) -> list[PollResult]:
    """Polls until no backlog is left (the fixtures are small: one poll, but the loop says what it waits for)."""
    results = [session.poll()]
    for _ in range(50):
        if not results[-1].loading:
            break
        results.append(session.poll())
    assert not results[-1].loading
    return results


def test_first_poll_finds_the_runs_and_selects_the_most_recently_active(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    session = MonitorSession([root])
    result = session.poll()
    assert sorted(p.name for p in session.watchers) == ["demo-finished", "demo-running"]
    assert result.selected == session.selected == (root / "demo-finished").resolve()
    assert result.changed and set(result.updated) == set(session.watchers)
    assert session.current is not None and session.current.name == "demo-finished"
    assert result.log.source is session.log_tailer and session.is_current(result.log.source)
    assert any("Epoch(train)" in line for line in result.log.lines)  # the selected run's log, compacted
    assert not any(line.startswith("20") and " - mmengine - " in line for line in result.log.lines)


def test_rescan_finds_each_run_once_per_resolved_path(tmp_path: Path, monkeypatch) -> None:
    root = make_root(tmp_path)
    (tmp_path / "alias").symlink_to(root)  # another name for the same runs
    monkeypatch.chdir(tmp_path)
    session = MonitorSession([root, Path("work_dirs"), tmp_path / "alias", root / "demo-running"])
    session.poll()
    assert len(session.watchers) == 2
    session.rescan()
    session.poll()
    key = session.add(Path("work_dirs/demo-running/../demo-running"))  # a launch's relative path
    assert key == (root / "demo-running").resolve() and len(session.watchers) == 2
    assert [r.path.name for r in session.rows()] == ["demo-finished", "demo-running"]


def test_selection_and_marks_survive_a_rescan_that_finds_a_new_run(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    session = MonitorSession([root])
    session.poll()
    running = (root / "demo-running").resolve()
    session.select(running)
    assert session.toggle_mark() and session.marked == {running}
    watcher = session.watchers[running]
    shutil.copytree(FIXTURE / "demo-finished", root / "demo-new")
    session.rescan()
    result = session.poll()
    assert len(session.watchers) == 3 and (root / "demo-new").resolve() in session.watchers
    assert result.selected is None and session.selected == running  # a rescan does not move the selection
    assert session.watchers[running] is watcher  # nor re-read a known run from scratch
    assert session.marked == {running} and session.compare_runs() == [running]
    assert [r.marked for r in session.rows()] == [False, True, False]
    assert session.toggle_mark() and session.marked == set()
    assert session.compare_runs() == list(session.watchers)  # none marked: compare all


def test_mark_needs_a_selected_run(tmp_path: Path) -> None:
    session = MonitorSession([tmp_path / "nothing-here"])
    result = session.poll()
    assert result == PollResult(loading=False) and session.selected is None and not session.watchers
    assert not session.toggle_mark() and session.marked == set()
    assert session.switch_log() == "no run selected"


def test_an_alert_is_raised_once_and_stays_on_the_run(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    with open(root / "demo-running" / "scalars.jsonl", "a") as fh:
        fh.write(json.dumps({"lr": 0.05, "loss": float("nan"), "time": 0.4, "epoch": 1, "iter": 31, "step": 31}) + "\n")
    session = MonitorSession([root])
    alerts = [a for r in poll_until_read(session) for a in r.alerts]
    running = (root / "demo-running").resolve()
    nonfinite = [a for a in alerts if a.kind == "nonfinite"]
    assert len(nonfinite) == 1 and "demo-running" in nonfinite[0].message
    for _ in range(3):
        session.rescan()
        assert not [a for a in session.poll().alerts if a.kind == "nonfinite"]
    kinds = {r.path: r.alerts for r in session.rows()}
    assert "nonfinite" in kinds[running] and "nonfinite" not in kinds[(root / "demo-finished").resolve()]
    # a new session (the TUI restarted) finds it in events.jsonl: not raised again
    again = MonitorSession([root])
    assert not [a for r in poll_until_read(again) for a in r.alerts if a.kind == "nonfinite"]


def test_log_lines_read_before_another_run_is_selected_are_not_its_lines(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    session = MonitorSession([root])
    session.poll()
    first, other = (root / "demo-finished").resolve(), (root / "demo-running").resolve()
    assert session.selected == first
    with open(first / "train.log", "a") as fh:
        fh.write("2026/11/25 03:00:00 - mmengine - INFO - a line of the first run\n")
    read = session.read_log()  # what a poll's worker read ...
    assert read.lines == ["03:00:00 a line of the first run"] and session.is_current(read.source)
    session.select(other)  # ... before the user moved to another run
    assert not session.is_current(read.source)
    result = session.poll()  # the other run's log, from its start, from the new tailer
    assert session.is_current(result.log.source) and result.log.source.path == other / "train.log"
    assert result.log.lines and not any("first run" in line for line in result.log.lines)
    assert session.read_log() == LogRead([], False, session.log_tailer)  # nothing twice


def test_chart_columns_are_the_selected_runs(tmp_path: Path) -> None:
    root = make_root(tmp_path)
    session = MonitorSession([root])
    assert session.chart_columns() is None
    session.poll()
    data = session.chart_columns()
    assert data is not None and len(data["train"]["step"]) > 0
    assert set(data) == {"train", "val", "train_epoch", "config", "iters_per_epoch"}
