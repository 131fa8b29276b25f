"""The monitor: every run under the roots, the selected run's charts and log, the GPUs."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Log, Static

from epam_tui.core.gpus import GpuSampler, GpuSnapshot
from epam_tui.core.rundir import STDOUT_LOG, TRAIN_LOG
from epam_tui.ui.actions import bindings
from epam_tui.ui.widgets.log_pane import LogPane, compact_log_line, line_level
from epam_tui.ui.widgets.panels import gpu_panel_text, update_text
from epam_tui.ui.widgets.run_table import (COLUMNS, MARK, STATE_STYLE, RunTable, device_text, progress_bar,
                                           reason_text, shorten, state_text)

__all__ = ["LogPane", "MonitorScreen", "RunTable", "compact_log_line", "gpu_panel_text", "line_level", "progress_bar",
           "shorten", "update_text"]

if TYPE_CHECKING:
    from epam_tui.core.registry import RunData
    from epam_tui.core.tail import Tailer

# The run registry (numpy, yaml) and the alert trackers are imported by the first poll, in a worker
# thread after the first frame, so the screen appears as fast as a bare Textual app's.

LOG_KEEP = 5000  # log lines kept for the filter and the level switch (strings, ~0.3 KB each)
# Lines the log pane holds and scrolls through. Textual's Log gives every line index its own text-selection
# style (meta offset (x, y)) and global caches keep each new style: ~1.2 KB per line index ever shown
# (Strip.render_ansi holds 16,384), so the pane's length bounds that memory: 1,000 lines ~1.2 MB.
LOG_SHOWN = 1000
NARROW_WIDTH = 100
LOG_TAIL_BYTES = 1 << 20  # the log pane starts with the last MiB of a big log, as `tail` would
RESCAN_S = 5.0
BACKLOG_BUDGET = 8 << 20  # bytes per file per poll: a big backlog is read over several polls
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LEVEL_NAMES = {"all": 0, "warning": 2, "error": 3}
ALERT_MARK = {"nonfinite": "NaN", "gpu_low": "GPU low"}


def empty_text(roots: list[Path]) -> str:
    where = ", ".join(str(r) for r in roots)
    missing = [str(r) for r in roots if not r.exists()]
    return (f"no runs under {where} yet" + (f" ({', '.join(missing)} does not exist)" if missing else "")
            + " \N{EM DASH} launch one with `epam-tui launch CONFIG` (or press n)")


def host_text() -> str:
    import psutil

    vm = psutil.virtual_memory()
    return f"host CPU {psutil.cpu_percent():.0f}%  RAM {vm.used / 2**30:.1f}/{vm.total / 2**30:.1f}G"


def run_proc_text(name: str, sample: tuple[float, int, int] | None) -> str:
    """The selected run's process tree: CPU (100% = one core), resident memory, process count."""
    if sample is None:
        return ""
    cpu, rss, n = sample
    return f"{name[:16]}: CPU {cpu:.0f}%  RSS {rss / 2**30:.1f}G  ({n} proc{'s' if n != 1 else ''})"


def run_pid(run: "RunData | None") -> int | None:
    """The pid whose tree is the run: the launcher's wrapper, else the trainer's (status.json)."""
    if run is None or run.state not in ("running", "stalled", "starting"):
        return None
    return (run.run or {}).get("pid") or (run.status or {}).get("pid")


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


def _last_activity(path: Path) -> float:
    try:
        return max((f.stat().st_mtime for f in path.iterdir()), default=0.0)
    except OSError:
        return 0.0


class MonitorScreen(Screen):
    ACTION_CONTEXT = "monitor"
    BINDINGS = bindings("monitor")  # epam_tui.ui.actions: the keys, the palette and the help
    DEFAULT_CSS = "#runreason { height: auto; max-height: 2; color: $warning; padding: 0 1; }"

    def __init__(self, roots: list[Path], gpu_sampler: GpuSampler, poll_interval: float = 1.0):
        super().__init__()
        self.roots = roots
        self.sampler = gpu_sampler
        self.poll_interval = poll_interval
        self.watchers: dict[Path, RunWatcher] = {}
        self.lock = threading.Lock()
        self.selected: Path | None = None
        self.smoothing = 0.6
        self._charts_due = 0.0  # while a backlog is read: when the charts may be drawn again
        self.follow = True
        self.filter: re.Pattern[str] | None = None
        self.log_lines: deque[str] = deque(maxlen=LOG_KEEP)
        self.log_tailer: Tailer | None = None
        self.min_level = 0  # the log pane shows lines at this level and above (l cycles)
        self.alerts = None  # AlertTracker and UtilRecorder, made by the first poll (core imports)
        self.util = None
        self.proc_sampler = None  # procs.TreeSampler for the selected run's process tree
        self._rescan_due = True
        self._rescan_at = 0.0
        self._proc_due = 0.0
        self.gpu_snapshot: GpuSnapshot | None = None
        self.charts: tuple | None = None
        self.narrow = False
        self.marked: set[Path] = set()  # runs marked (space) for compare
        self.log_choice: dict[Path, str] = {}  # "main" or "stdout": the log the user picked (o) for a run
        self._cells: dict[str, dict[str, str]] = {}  # the run table's texts as shown, by row key

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
                update_text(self.query_one("#gpus", Static), gpu_panel_text(self.gpu_snapshot, self.current, narrow))

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
    def _rescan(self) -> Path | None:
        """(worker, under the lock) watch new run directories; returns the run to select first."""
        from epam_tui.core.registry import RunWatcher, discover

        for path in discover(self.roots):
            if path not in self.watchers:
                self.watchers[path] = RunWatcher(path)
        if self.selected is None and self.watchers:  # start on the most recently active run
            return max(self.watchers, key=_last_activity)
        return None

    def rescan(self) -> None:
        self._rescan_due = True
        self.poll_runs()

    def add_run(self, path: Path) -> None:
        from epam_tui.core.registry import RunWatcher, run_key

        path = run_key(path)  # the identity discover() gives: a relative and an absolute path are one run
        with self.lock:
            if path not in self.watchers:
                self.watchers[path] = RunWatcher(path)
        self.select(path)
        self.poll_runs()

    def action_rescan(self) -> None:
        self.rescan()

    @work(thread=True, exclusive=True, group="poll")
    def poll_runs(self) -> None:
        from epam_tui.core.alerts import AlertTracker, UtilRecorder

        with self.lock:
            if self.alerts is None:
                self.alerts, self.util = AlertTracker(), UtilRecorder()
            first = None
            if self._rescan_due or time.monotonic() >= self._rescan_at:  # new run directories, every 5 s
                self._rescan_due = False
                self._rescan_at = time.monotonic() + RESCAN_S
                first = self._rescan()
            changed = [w.poll(BACKLOG_BUDGET) for w in list(self.watchers.values())]
            loading = any(w.data.loading is not None for w in self.watchers.values())
            new_alerts = [a for w in list(self.watchers.values()) if w.data.loading is None
                          for a in self.alerts.new_alerts(w.data)]
        if first is not None:
            self.app.call_from_thread(self.select, first)
        log_lines, reset, source = self._read_log()
        self.app.call_from_thread(self._apply_poll, any(changed) or first is not None, new_alerts, log_lines, reset,
                                  loading, source)

    def _read_log(self) -> tuple[list[str], bool, object]:
        """New lines of the selected run's log, whether the file was truncated or replaced, and the tailer
        they came from (a run selected before they are applied has a new tailer: they are dropped)."""
        with self.lock:
            if self.log_tailer is None:
                return [], False, None
            lines = [compact_log_line(b.decode("utf-8", "replace")) for b in self.log_tailer.read()]
            return lines, self.log_tailer.reset, self.log_tailer

    @_while_shown
    def _apply_poll(self, changed: bool, alerts: list, log_lines: list[str], reset: bool, loading: bool = False,
                    source: object = None) -> None:
        for alert in alerts:
            self.notify(alert.message, title=f"alert: {alert.kind}", severity="error", timeout=10)
        self._refresh_table()
        if self.charts is None:
            self.call_after_refresh(self._mount_charts)
        elif (changed or any(chart.pending for chart in self.charts)) and (
                not loading or time.monotonic() >= self._charts_due):  # pending: a series that grew a little
            # while a backlog is read (a poll every few ms), charts are drawn at most once a second:
            # drawing them after every chunk took most of the time of opening a big log
            self._charts_due = time.monotonic() + 1.0
            self._refresh_charts()
        if source is not self.log_tailer:  # read before another run was selected: not this run's lines (the
            log_lines, reset = [], False  # new tailer reads the new run's log from its start at the next poll)
        if reset:
            self.log_lines.clear()
            self.query_one("#log", Log).clear()
        if log_lines:
            self.log_lines.extend(log_lines)
            shown = [line for line in log_lines if self._matches(line)][-LOG_SHOWN:]
            if shown:
                log = self.query_one("#log", Log)
                log.write_lines(shown, scroll_end=self.follow)
                if self.follow:  # again once laid out: the pane may have been resized meanwhile
                    self.call_after_refresh(log.scroll_end, animate=False)
        if not self.watchers:
            self._show_loginfo()
        self._sync_log_source()
        if loading:  # a backlog is being read: go on at once rather than at the next interval
            self.set_timer(0.01, self.poll_runs)

    def _refresh_table(self) -> None:
        from epam_tui.core.registry import fmt_eta

        table = self.query_one("#runs", RunTable)
        rebuilt = table.row_count == 0  # filled anew (first poll, new columns): its cursor is on the first row
        with self.lock:
            rows = [(path, w.data, self.alerts.kinds(path) if self.alerts else set())
                    for path, w in self.watchers.items()]
        for path, run, kinds in rows:
            s = run.summary()
            style = STATE_STYLE.get(run.state, "")
            state = f"[{style}]{state_text(run)}[/]" if style else state_text(run)
            marks = [ALERT_MARK[k] for k in sorted(kinds) if k in ALERT_MARK]
            if marks:  # alerts stay marked in the list after their notification is gone
                state += " [bold red]![/]" + ",".join(marks)
            if s["loading"] is not None:
                state = f"[blue]reading {100 * s['loading']:.0f}%[/]"
            total = s["total_steps"]
            pct = f"{100 * min(1.0, s['step'] / total):3.0f}%" if total else f"{s['step']}"
            cells = {
                "mark": f"[bold]{MARK}[/]" if path in self.marked else " ",
                "name": shorten(s["name"], 14 if self.narrow else 30), "kind": s["kind"], "state": state,
                "epoch": f"{s['epoch']}/{s['max_epochs'] or '?'}",
                "progress": pct if self.narrow else f"{progress_bar(s['step'], total, 10)} {pct}",
                "eta": fmt_eta(s["eta_s"]) if s["eta_s"] is not None else "", "loss": "" if s["loss"] is None else f"{s['loss']:.4f}",
                "best": "" if s["best_top1"] is None else f"{100 * s['best_top1']:.1f}%", "device": device_text(s, self.narrow),
            }
            if self.narrow:
                del cells["kind"]
            key = str(path)
            if key in table.rows:
                shown = self._cells.get(key, {})
                for column, value in cells.items():
                    if shown.get(column) != value:
                        table.update_cell(key, column, value, update_width=True)  # a column grows with its text
            else:
                table.add_row(*cells.values(), key=key)
            self._cells[key] = cells
        self._show_reason()
        if rebuilt and self.selected is not None:  # keep the selection (only then: a cursor the user just moved
            table.show_row(str(self.selected))  # is ahead of self.selected until its RowHighlighted is handled)

    def _show_reason(self) -> None:
        """The line under the run table: why the selected run is unreadable, idle, failed ... and what of it
        was not read (``config.yaml refused: ...``), as plain text; hidden when there is nothing to say."""
        run = self.current
        text = reason_text(run) if run is not None else ""
        widget = self.query_one("#runreason", Static)
        if getattr(self, "_reason_shown", None) != text:
            self._reason_shown = text
            widget.update(Content(text))
            widget.display = bool(text)

    def _refresh_charts(self) -> None:
        run = self.current
        if run is None:
            return
        with self.lock:
            train = run.store.columns(("lr", "loss"))
            val = run.store.epoch_columns("val")
            train_epoch = run.store.epoch_columns("train_epoch")
            config, ipe = run.config, run.iters_per_epoch
        if self.charts is None:
            return
        loss, lr, acc = self.charts
        loss.show(train["step"], train["loss"], self.smoothing)
        lr.show(train["step"], train["lr"], config, ipe)
        acc.show(val, train_epoch)

    @property
    def current(self) -> RunData | None:
        watcher = self.watchers.get(self.selected) if self.selected else None
        return watcher.data if watcher else None

    @_while_shown
    def select(self, path: Path) -> None:
        self.selected = path
        if self.is_mounted:
            self.query_one("#runs", RunTable).show_row(str(path))
        self._open_log(self.log_path(path))

    def log_path(self, path: Path) -> Path:
        """The log the pane shows for a run: the one picked with ``o``, else stdout.log for a failed run
        (its traceback and last stderr lines are there, not in train.log), else the run's main log."""
        from epam_tui.core.registry import main_log

        stdout = path / STDOUT_LOG
        choice = self.log_choice.get(path)
        watcher = self.watchers.get(path)
        if choice == "stdout" or (choice is None and watcher is not None and watcher.data.state == "failed"):
            if stdout.is_file():
                return stdout
        return main_log(path)

    def action_log_source(self) -> None:
        """Switch the log pane between the run's main log (train.log) and stdout.log."""
        path = self.selected
        if path is None or self.log_tailer is None:
            self.notify("no run selected", severity="warning")
            return
        from epam_tui.core.registry import main_log

        main, stdout = main_log(path), path / STDOUT_LOG
        if self.log_tailer.path == stdout:
            if main == stdout:
                self.notify(f"{path.name} has no other log than stdout.log", severity="warning")
                return
            self.log_choice[path] = "main"
        elif stdout.is_file():
            self.log_choice[path] = "stdout"
        else:
            self.notify(f"{path.name} has no stdout.log (a run launched by epam-tui has one)", severity="warning")
            return
        self._open_log(self.log_path(path))
        self.poll_runs()

    def _sync_log_source(self) -> None:
        """The selected run failed while shown: its pane moves to stdout.log (unless the user picked a log)."""
        path = self.selected
        if path is None or self.log_tailer is None or path in self.log_choice or self.log_tailer.path.name == STDOUT_LOG:
            return
        watcher = self.watchers.get(path)
        if watcher is None or watcher.data.state != "failed":
            return
        want = self.log_path(path)
        if want != self.log_tailer.path:
            self._open_log(want)
            self.poll_runs()

    def _open_log(self, log: Path) -> None:
        from epam_tui.core.tail import Tailer

        with self.lock:
            self.log_tailer = Tailer(log, tail_bytes=LOG_TAIL_BYTES)
            self.log_lines.clear()
        if self.is_mounted:
            self.query_one("#log", Log).clear()
            self._show_loginfo()
            self._refresh_charts()

    def _show_loginfo(self) -> None:
        if not self.watchers:
            self.query_one("#loginfo", Static).update(empty_text(self.roots))
        elif self.selected is not None and self.log_tailer is not None:
            rel = self.log_tailer.path.relative_to(self.selected.parent) if self.log_tailer.path.is_relative_to(
                self.selected.parent) else self.log_tailer.path
            follow = "" if self.follow else "  (follow off: f)"
            level = "" if not self.min_level else f"  (level {LEVELS[self.min_level]}+: l)"
            other = TRAIN_LOG if self.log_tailer.path.name == STDOUT_LOG else STDOUT_LOG
            self.query_one("#loginfo", Static).update(f"log: {rel}{follow}{level}  (o: {other})")

    @on(DataTable.RowHighlighted, "#runs")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value != event.data_table.key_at_cursor():
            return  # stale: the cursor moved on since (a rebuilt table's first row, then the selected run's)
        if event.row_key and event.row_key.value and Path(event.row_key.value) != self.selected:
            self.select(Path(event.row_key.value))
            self.poll_runs()

    def action_mark(self) -> None:
        """Mark or unmark the selected run for compare (v compares the marked runs, or all when none is)."""
        if self.selected is None:
            return
        self.marked.symmetric_difference_update({self.selected})
        self._refresh_table()

    def compare_runs(self) -> list[Path]:
        """The runs v compares: the marked ones, in table order, else all."""
        marked = [p for p in self.watchers if p in self.marked]
        return marked or list(self.watchers)

    def focus_table(self) -> None:
        self.query_one("#runs", RunTable).focus()

    # ------------------------------------------------------------------ GPUs
    @work(thread=True, exclusive=True, group="gpu")
    def sample_gpus(self) -> None:
        snap = self.sampler.sample()
        host = host_text()
        proc = None
        with self.lock:
            run = self.current
            low = []
            if self.util is not None:
                for w in list(self.watchers.values()):
                    alert = self.util.record(w.data, snap)
                    if alert is not None:
                        low += self.alerts.new_alerts(w.data, [alert])
        if time.monotonic() >= self._proc_due:  # processes every ~2 s
            self._proc_due = time.monotonic() + 2.0
            if self.proc_sampler is None:
                from epam_tui.core.procs import TreeSampler

                self.proc_sampler = TreeSampler()
            proc = run_proc_text(run.name, self.proc_sampler.sample(run_pid(run))) if run is not None else ""
        self.app.call_from_thread(self._apply_gpus, snap, host, low, proc)

    @_while_shown
    def _apply_gpus(self, snap: GpuSnapshot, host: str, low: list | None = None, proc: str | None = None) -> None:
        for alert in low or []:
            self.notify(alert.message, title="alert: GPU utilisation", severity="warning", timeout=10)
        self.gpu_snapshot = snap
        update_text(self.query_one("#gpus", Static), gpu_panel_text(snap, self.current, self.narrow))
        if proc is not None:
            self._proc_text = proc
        text = host + (f"\n{self._proc_text}" if getattr(self, "_proc_text", "") else "")
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
