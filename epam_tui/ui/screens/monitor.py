"""The monitor: every run under the roots, the selected run's charts and log, the GPUs.

The screen only draws: what is watched, selected and found lives in ``core.session.MonitorSession``
(``self.session``). Its workers call the session and post what it returned as ``ui.messages``
(``RunsPolled``, ``GpusSampled``); the handlers update the widgets.
"""

from __future__ import annotations

import functools
import re
import time
from collections import deque
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Log, Static

from epam_tui.core.gpus import GpuSampler, GpuSnapshot
from epam_tui.core.rundir import STDOUT_LOG, TRAIN_LOG
from epam_tui.core.session import MonitorSession, PollResult
from epam_tui.ui.actions import bindings
from epam_tui.ui.messages import GpusSampled, RunsPolled
from epam_tui.ui.widgets.log_pane import LogPane, compact_log_line, line_level
from epam_tui.ui.widgets.panels import gpu_panel_text, run_proc_text, update_text
from epam_tui.ui.widgets.run_table import COLUMNS, RunTable, progress_bar, reason_text, row_cells, shorten

__all__ = ["LogPane", "MonitorScreen", "RunTable", "compact_log_line", "gpu_panel_text", "line_level", "progress_bar",
           "shorten", "update_text"]

# The run registry (numpy, yaml) and the alert trackers are imported by the session's first poll, in a
# worker thread after the first frame, so the screen appears as fast as a bare Textual app's.

LOG_KEEP = 5000  # log lines kept for the filter and the level switch (strings, ~0.3 KB each)
# Lines the log pane holds and scrolls through. Textual's Log gives every line index its own text-selection
# style (meta offset (x, y)) and global caches keep each new style: ~1.2 KB per line index ever shown
# (Strip.render_ansi holds 16,384), so the pane's length bounds that memory: 1,000 lines ~1.2 MB.
LOG_SHOWN = 1000
NARROW_WIDTH = 100
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LEVEL_NAMES = {"all": 0, "warning": 2, "error": 3}


def empty_text(roots: list[Path]) -> str:
    where = ", ".join(str(r) for r in roots)
    missing = [str(r) for r in roots if not r.exists()]
    return (f"no runs under {where} yet" + (f" ({', '.join(missing)} does not exist)" if missing else "")
            + " \N{EM DASH} launch one with `epam-tui launch CONFIG` (or press n)")


def host_text() -> str:
    import psutil

    vm = psutil.virtual_memory()
    return f"host CPU {psutil.cpu_percent():.0f}%  RAM {vm.used / 2**30:.1f}/{vm.total / 2**30:.1f}G"


def _while_shown(method):
    """For results a worker thread hands over: the screen may have been torn down meanwhile (the app
    quitting: its widgets are gone), and then there is nothing to update. Every widget queried here is
    composed with the screen, so NoMatches means exactly that."""
    @functools.wraps(method)
    def guarded(self, *args, **kwargs):
        if not self.is_attached:
            return None
        try:
            return method(self, *args, **kwargs)
        except NoMatches:
            return None

    return guarded


class MonitorScreen(Screen):
    ACTION_CONTEXT = "monitor"
    BINDINGS = bindings("monitor")  # epam_tui.ui.actions: the keys, the palette and the help
    DEFAULT_CSS = "#runreason { height: auto; max-height: 2; color: $warning; padding: 0 1; }"

    def __init__(self, roots: list[Path], gpu_sampler: GpuSampler, poll_interval: float = 1.0):
        super().__init__()
        self.roots = roots
        self.session = MonitorSession(roots)  # the runs, the selection, the alerts: all but the drawing
        self.sampler = gpu_sampler
        self.poll_interval = poll_interval
        self.smoothing = 0.6
        self._charts_due = 0.0  # while a backlog is read: when the charts may be drawn again
        self.follow = True
        self.filter: re.Pattern[str] | None = None
        self.log_lines: deque[str] = deque(maxlen=LOG_KEEP)  # the selected run's lines, behind the pane
        self.min_level = 0  # the log pane shows lines at this level and above (l cycles)
        self.gpu_snapshot: GpuSnapshot | None = None
        self.charts: tuple | None = None
        self.narrow = False
        self._cells: dict[str, dict[str, str]] = {}  # the run table's texts as shown, by row key
        self._reason_shown: str | None = None
        self._proc_text = ""

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield RunTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="runreason")  # the selected run's reason and notes, shown only when it has some
        yield Horizontal(id="charts")  # the charts (plotext) are mounted after the first frame
        with Horizontal(id="bottom"):
            with Vertical(id="logbox"):
                yield Static("", id="loginfo")
                # Log keeps plain strings and renders only the visible lines (RichLog keeps a rendered
                # Strip per line: ~4 KB each for trainer lines, 20 MB at the line cap)
                yield LogPane(id="log", max_lines=LOG_SHOWN, auto_scroll=False)
            with Vertical(id="side"):
                yield Static("GPUs: sampling...", id="gpus")
                yield Static("", id="host")
        yield Input(placeholder="filter the log: text, or /regex/ (Enter applies, Esc clears)", id="filter")
        yield Footer()

    def _set_columns(self, narrow: bool) -> None:
        """The run table's columns; a narrow terminal (< 100 columns) drops the kind and shortens the rest."""
        table = self.query_one("#runs", RunTable)
        table.clear(columns=True)
        self._cells.clear()
        for label, key in COLUMNS:
            if not (narrow and key == "kind"):
                table.add_column(label, key=key)
        self.narrow = narrow

    def on_resize(self, event) -> None:
        narrow = event.size.width < NARROW_WIDTH
        self.set_class(narrow, "-narrow")
        if narrow != self.narrow:
            self._set_columns(narrow)
            self._refresh_table()
            if self.gpu_snapshot is not None:
                update_text(self.query_one("#gpus", Static),
                            gpu_panel_text(self.gpu_snapshot, self.session.current, narrow))

    def on_mount(self) -> None:
        self._set_columns(self.app.size.width < NARROW_WIDTH)
        self.set_class(self.narrow, "-narrow")
        self.query_one("#filter", Input).display = False
        self.query_one("#runreason", Static).display = False
        self.query_one("#loginfo", Static).update(f"looking for runs under {', '.join(map(str, self.roots))}...")
        self.call_after_refresh(self._start)  # everything else after the first frame

    def _start(self) -> None:
        self.poll_runs()  # the charts mount once the first poll has filled the table (_apply_poll)
        self.sample_gpus()
        self.set_interval(self.poll_interval, self.poll_runs)
        self.set_interval(1.0, self.sample_gpus)

    def _mount_charts(self) -> None:
        from epam_tui.ui.widgets.charts import AccuracyChart, LossChart, LrChart

        if self.charts is None:
            self.charts = (LossChart(id="loss"), LrChart(id="lr"), AccuracyChart(id="acc"))
            self.query_one("#charts", Horizontal).mount(*self.charts)
        self.call_after_refresh(self._refresh_charts)

    # ------------------------------------------------------------------ runs
    def rescan(self) -> None:
        self.session.rescan()
        self.poll_runs()

    def add_run(self, path: Path) -> None:
        self.select(self.session.add(path))  # keyed as discover() keys: a relative and an absolute path are one run
        self.poll_runs()

    def action_rescan(self) -> None:
        self.rescan()

    @work(thread=True, exclusive=True, group="poll")
    def poll_runs(self) -> None:
        self.post_message(RunsPolled(self.session.poll()))

    def on_runs_polled(self, message: RunsPolled) -> None:
        self._apply_poll(message.result)

    @_while_shown
    def _apply_poll(self, result: PollResult) -> None:
        if result.selected is not None and result.selected == self.session.selected:
            self._show_selected()  # the first poll chose the run (unless the user picked one since)
        for alert in result.alerts:
            self.notify(alert.message, title=f"alert: {alert.kind}", severity="error", timeout=10)
        self._refresh_table()
        if self.charts is None:
            self.call_after_refresh(self._mount_charts)
        elif (result.changed or any(chart.pending for chart in self.charts)) and (
                not result.loading or time.monotonic() >= self._charts_due):  # pending: a series that grew a little
            # while a backlog is read (a poll every few ms), charts are drawn at most once a second:
            # drawing them after every chunk took most of the time of opening a big log
            self._charts_due = time.monotonic() + 1.0
            self._refresh_charts()
        # lines read before another run was selected are not this run's (its new tailer reads its log from
        # the start at the next poll)
        if self.session.is_current(result.log.source):
            self._show_lines(result.log.lines, result.log.reset)
        if not self.session.watchers:
            self._show_loginfo()
        if self.session.follow_failure():  # the selected run failed while shown: its pane moves to stdout.log
            self._log_opened()
            self.poll_runs()
        if result.loading:  # a backlog is being read: go on at once rather than at the next interval
            self.set_timer(0.01, self.poll_runs)

    def _show_lines(self, lines: list[str], reset: bool) -> None:
        if reset:
            self.log_lines.clear()
            self.query_one("#log", Log).clear()
        if lines:
            self.log_lines.extend(lines)
            shown = [line for line in lines if self._matches(line)][-LOG_SHOWN:]
            if shown:
                log = self.query_one("#log", Log)
                log.write_lines(shown, scroll_end=self.follow)
                if self.follow:  # again once laid out: the pane may have been resized meanwhile
                    self.call_after_refresh(log.scroll_end, animate=False)

    def _refresh_table(self) -> None:
        table = self.query_one("#runs", RunTable)
        rebuilt = table.row_count == 0  # filled anew (first poll, new columns): its cursor is on the first row
        for row in self.session.rows():
            cells = row_cells(row, self.narrow)
            key = str(row.path)
            if key in table.rows:
                shown = self._cells.get(key, {})
                for column, value in cells.items():
                    if shown.get(column) != value:
                        table.update_cell(key, column, value, update_width=True)  # a column grows with its text
            else:
                table.add_row(*cells.values(), key=key)
            self._cells[key] = cells
        self._show_reason()
        selected = self.session.selected
        if rebuilt and selected is not None:  # keep the selection (only then: a cursor the user just moved
            table.show_row(str(selected))  # is ahead of the selection until its RowHighlighted is handled)

    def _show_reason(self) -> None:
        """The line under the run table: why the selected run is unreadable, idle, failed ... and what of it
        was not read (``config.yaml refused: ...``), as plain text; hidden when there is nothing to say."""
        run = self.session.current
        text = reason_text(run) if run is not None else ""
        widget = self.query_one("#runreason", Static)
        if self._reason_shown != text:
            self._reason_shown = text
            widget.update(Content(text))
            widget.display = bool(text)

    def _refresh_charts(self) -> None:
        data = self.session.chart_columns()
        if data is None or self.charts is None:
            return
        loss, lr, acc = self.charts
        train = data["train"]
        loss.show(train["step"], train["loss"], self.smoothing)
        lr.show(train["step"], train["lr"], data["config"], data["iters_per_epoch"])
        acc.show(data["val"], data["train_epoch"])

    @_while_shown
    def select(self, path: Path) -> None:
        self.session.select(path)
        self._show_selected()

    def _show_selected(self) -> None:
        """The selection changed (a new log opened): the cursor on its row, the pane and the charts anew."""
        if self.is_mounted and self.session.selected is not None:
            self.query_one("#runs", RunTable).show_row(str(self.session.selected))
        self._log_opened()

    def _log_opened(self) -> None:
        self.log_lines.clear()
        if self.is_mounted:
            self.query_one("#log", Log).clear()
            self._show_loginfo()
            self._refresh_charts()

    def action_log_source(self) -> None:
        """Switch the log pane between the run's main log (train.log) and stdout.log."""
        why = self.session.switch_log()
        if why is not None:
            self.notify(why, severity="warning")
            return
        self._log_opened()
        self.poll_runs()

    def _show_loginfo(self) -> None:
        selected, tailer = self.session.selected, self.session.log_tailer
        if not self.session.watchers:
            self.query_one("#loginfo", Static).update(empty_text(self.roots))
        elif selected is not None and tailer is not None:
            rel = tailer.path.relative_to(selected.parent) if tailer.path.is_relative_to(selected.parent) else tailer.path
            follow = "" if self.follow else "  (follow off: f)"
            level = "" if not self.min_level else f"  (level {LEVELS[self.min_level]}+: l)"
            other = TRAIN_LOG if tailer.path.name == STDOUT_LOG else STDOUT_LOG
            self.query_one("#loginfo", Static).update(f"log: {rel}{follow}{level}  (o: {other})")

    @on(DataTable.RowHighlighted, "#runs")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value != event.data_table.key_at_cursor():
            return  # stale: the cursor moved on since (a rebuilt table's first row, then the selected run's)
        if event.row_key and event.row_key.value and Path(event.row_key.value) != self.session.selected:
            self.select(Path(event.row_key.value))
            self.poll_runs()

    def action_mark(self) -> None:
        """Mark or unmark the selected run for compare (v compares the marked runs, or all when none is)."""
        if self.session.toggle_mark():
            self._refresh_table()

    def focus_table(self) -> None:
        self.query_one("#runs", RunTable).focus()

    # ------------------------------------------------------------------ GPUs
    @work(thread=True, exclusive=True, group="gpu")
    def sample_gpus(self) -> None:
        snap = self.sampler.sample()
        host = host_text()
        self.post_message(GpusSampled(snap, host, self.session.record_gpus(snap)))

    @_while_shown
    def on_gpus_sampled(self, message: GpusSampled) -> None:
        for alert in message.result.alerts:
            self.notify(alert.message, title="alert: GPU utilisation", severity="warning", timeout=10)
        self.gpu_snapshot = message.snapshot
        update_text(self.query_one("#gpus", Static), gpu_panel_text(message.snapshot, self.session.current, self.narrow))
        if message.result.proc is not None:
            self._proc_text = run_proc_text(*message.result.proc)
        text = message.host + (f"\n{self._proc_text}" if self._proc_text else "")
        update_text(self.query_one("#host", Static), text)

    # ------------------------------------------------------------------ log filter
    def _matches(self, line: str) -> bool:
        if self.min_level and line_level(line) < self.min_level:
            return False
        return self.filter is None or bool(self.filter.search(line))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        self.set_filter(event.value)
        self.query_one("#runs", DataTable).focus()

    def action_level(self) -> None:
        """Cycle the log pane through all lines -> warnings and errors -> errors only."""
        self.min_level = {0: 2, 2: 3}.get(self.min_level, 0)
        self._redraw_log()
        self._show_loginfo()
        self.notify(f"log: {'all lines' if not self.min_level else LEVELS[self.min_level] + ' and above'}")

    def _redraw_log(self) -> int:
        log = self.query_one("#log", Log)
        log.clear()
        shown = [line for line in self.log_lines if self._matches(line)]
        if shown:
            log.write_lines(shown[-LOG_SHOWN:], scroll_end=True)
        return len(shown)

    def set_filter(self, text: str) -> None:
        text = text.strip()
        if not text:
            self.filter = None
        elif len(text) > 2 and text.startswith("/") and text.endswith("/"):
            try:
                self.filter = re.compile(text[1:-1])
            except re.error as exc:
                self.notify(f"bad regex: {exc}", severity="warning")
                return
        else:
            self.filter = re.compile(re.escape(text), re.IGNORECASE)
        shown = self._redraw_log()
        self.query_one("#loginfo", Static).update(
            f"filter: {text}  ({shown} of {len(self.log_lines)} lines"
            f"{f'; the last {LOG_SHOWN} shown' if shown > LOG_SHOWN else ''})" if self.filter else "filter cleared")

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one("#filter", Input).display = False
        self.set_filter("")

    def action_follow(self) -> None:
        self.follow = not self.follow
        self._show_loginfo()
        self.notify(f"follow {'on' if self.follow else 'off'}")

    def action_smoothing(self, delta: float) -> None:
        self.smoothing = round(min(0.99, max(0.0, self.smoothing + delta)), 2)
        self.notify(f"loss smoothing {self.smoothing}")
        self._refresh_charts()
