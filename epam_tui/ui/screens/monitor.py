"""The monitor: every run under the roots, the selected run's charts and log, the GPUs."""

from __future__ import annotations

import re
import threading
from collections import deque
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, RichLog, Static

from epam_tui.core.alerts import AlertTracker, UtilRecorder
from epam_tui.core.gpus import GpuSampler, GpuSnapshot
from epam_tui.core.registry import RunData, RunWatcher, discover, fmt_eta, main_log
from epam_tui.core.tail import Tailer

STATE_STYLE = {"queued": "blue", "starting": "blue", "running": "green", "finished": "cyan", "failed": "bold red", "stopped": "yellow",
               "stalled": "bold magenta", "inactive": "dim", "unknown": "dim"}
LOG_KEEP = 5000


def progress_bar(done: int, total: int | None, width: int = 10) -> str:
    if not total:
        return " " * width
    filled = int(width * min(1.0, done / total))
    return "█" * filled + "░" * (width - filled)


def gpu_panel_text(snap: GpuSnapshot | None, run: RunData | None) -> str:
    """The GPU panel as Rich markup (pure: tested without a terminal)."""
    if snap is None:
        return "GPUs: sampling..."
    if snap.error:
        return f"[yellow]no GPU telemetry:[/] {snap.error}"
    ours = {str(g.get("uuid")) for g in ((run.run or {}).get("gpus") or [])} if run else set()
    lines = []
    for g in snap.devices:
        mark = "[bold green]*[/]" if g.uuid in ours else " "
        util = "  n/a" if g.util is None else f"{g.util:4.0f}%"
        temp = "" if g.temperature is None else f" {g.temperature:.0f}C"
        power = "" if g.power is None else f" {g.power:.0f}W"
        lines.append(f"{mark}{g.index} {g.name[:14]:<14} util{util}{temp}{power}")
        lines.append(f"   mem {g.memory_used / 2**30:5.1f}/{g.memory_total / 2**30:.0f}G "
                     f"{progress_bar(g.memory_used, g.memory_total, 8)}")
        for p in g.processes[:3]:
            mem = "" if p.used_memory is None else f" {p.used_memory / 2**20:.0f}MiB"
            owner = f" [bold green]{run.name[:14]}[/]" if run and g.uuid in ours else ""
            lines.append(f"   pid {p.pid} {p.user[:8]} {p.name[:10]}{mem}{owner}")
    return "\n".join(lines) if lines else "NVML reports no GPU"


MM_PREFIX = re.compile(r"^\d{4}/\d\d/\d\d (\d\d:\d\d:\d\d) - mmengine - (\w+) - ")


def compact_log_line(line: str) -> str:
    """``2026/11/25 01:41:42 - mmengine - INFO - msg`` -> ``01:41:42 msg`` (the level kept unless INFO)."""
    m = MM_PREFIX.match(line)
    if not m:
        return line
    level = "" if m.group(2) == "INFO" else f"{m.group(2)} "
    return f"{m.group(1)} {level}{line[m.end():]}"


def empty_text(roots: list[Path]) -> str:
    where = ", ".join(str(r) for r in roots)
    missing = [str(r) for r in roots if not r.exists()]
    return (f"no runs under {where} yet" + (f" ({', '.join(missing)} does not exist)" if missing else "")
            + " \N{EM DASH} launch one with `epam-tui launch CONFIG` (or press n)")


def host_text() -> str:
    import psutil

    vm = psutil.virtual_memory()
    return f"host CPU {psutil.cpu_percent():.0f}%  RAM {vm.used / 2**30:.1f}/{vm.total / 2**30:.1f}G"


class MonitorScreen(Screen):
    BINDINGS = [
        Binding("q", "app.quit", "quit"),
        Binding("question_mark", "app.help", "help"),
        Binding("slash", "filter", "filter log"),
        Binding("f", "follow", "follow"),
        Binding("left_square_bracket", "smoothing(-0.1)", "less smooth", show=False),
        Binding("right_square_bracket", "smoothing(0.1)", "more smooth", show=False),
        Binding("n", "app.launch", "new run"),
        Binding("c", "app.checklist", "checklist"),
        Binding("v", "app.compare", "compare"),
        Binding("s", "app.stop_run", "stop run"),
        Binding("R", "app.restart_run", "restart", show=False),
        Binding("r", "rescan", "rescan"),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]

    def __init__(self, roots: list[Path], gpu_sampler: GpuSampler, poll_interval: float = 1.0):
        super().__init__()
        self.roots = roots
        self.sampler = gpu_sampler
        self.poll_interval = poll_interval
        self.watchers: dict[Path, RunWatcher] = {}
        self.lock = threading.Lock()
        self.selected: Path | None = None
        self.smoothing = 0.6
        self.follow = True
        self.filter: re.Pattern[str] | None = None
        self.log_lines: deque[str] = deque(maxlen=LOG_KEEP)
        self.log_tailer: Tailer | None = None
        self.alerts = AlertTracker()
        self.util = UtilRecorder()
        self.gpu_snapshot: GpuSnapshot | None = None
        self.charts: tuple | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Horizontal(id="charts")  # the charts (plotext) are mounted after the first frame
        with Horizontal(id="bottom"):
            with Vertical(id="logbox"):
                yield Static("", id="loginfo")
                yield RichLog(id="log", max_lines=LOG_KEEP, markup=False, wrap=False, highlight=False)
            with Vertical(id="side"):
                yield Static("GPUs: sampling...", id="gpus")
                yield Static("", id="host")
        yield Input(placeholder="filter the log: text, or /regex/ (Enter applies, Esc clears)", id="filter")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for label, key in (("run", "name"), ("kind", "kind"), ("state", "state"), ("epoch", "epoch"),
                           ("progress", "progress"), ("ETA", "eta"), ("loss", "loss"), ("best top1", "best"),
                           ("GPUs", "gpus")):
            table.add_column(label, key=key)
        self.query_one("#filter", Input).display = False
        self.rescan()
        self._show_loginfo()
        self.call_after_refresh(self._mount_charts)
        self.poll_runs()
        self.sample_gpus()
        self.set_interval(self.poll_interval, self.poll_runs)
        self.set_interval(1.0, self.sample_gpus)

    def _mount_charts(self) -> None:
        from epam_tui.ui.widgets.charts import AccuracyChart, LossChart, LrChart

        self.charts = (LossChart(id="loss"), LrChart(id="lr"), AccuracyChart(id="acc"))
        self.query_one("#charts", Horizontal).mount(*self.charts)
        self.call_after_refresh(self._refresh_charts)

    # ------------------------------------------------------------------ runs
    def rescan(self) -> None:
        for path in discover(self.roots):
            if path not in self.watchers:
                self.watchers[path] = RunWatcher(path)
        if self.selected is None and self.watchers:  # start on the most recently active run
            self.select(max(self.watchers, key=lambda p: max((f.stat().st_mtime for f in p.iterdir()), default=0.0)))

    def add_run(self, path: Path) -> None:
        path = Path(path)
        if path not in self.watchers:
            self.watchers[path] = RunWatcher(path)
        self.select(path)
        self.poll_runs()

    def action_rescan(self) -> None:
        self.rescan()
        self._show_loginfo()
        self.call_after_refresh(self._mount_charts)
        self.poll_runs()

    @work(thread=True, exclusive=True, group="poll")
    def poll_runs(self) -> None:
        with self.lock:
            changed = [w.poll() for w in list(self.watchers.values())]
            new_alerts = [a for w in list(self.watchers.values()) for a in self.alerts.new_alerts(w.data)]
            log_lines = []
            if self.log_tailer is not None:
                log_lines = [compact_log_line(b.decode("utf-8", "replace")) for b in self.log_tailer.read()]
                reset = self.log_tailer.reset
            else:
                reset = False
        self.app.call_from_thread(self._apply_poll, any(changed), new_alerts, log_lines, reset)

    def _apply_poll(self, changed: bool, alerts: list, log_lines: list[str], reset: bool) -> None:
        for alert in alerts:
            self.notify(alert.message, title=f"alert: {alert.kind}", severity="error", timeout=10)
        self._refresh_table()
        if changed:
            self._refresh_charts()
        if reset:
            self.log_lines.clear()
            self.query_one("#log", RichLog).clear()
        if log_lines:
            self.log_lines.extend(log_lines)
            shown = [line for line in log_lines if self._matches(line)]
            if shown:
                self.query_one("#log", RichLog).write("\n".join(shown), scroll_end=self.follow)

    def _refresh_table(self) -> None:
        table = self.query_one("#runs", DataTable)
        with self.lock:
            rows = [(path, w.data) for path, w in self.watchers.items()]
        for path, run in rows:
            s = run.summary()
            style = STATE_STYLE.get(run.state, "")
            state = f"[{style}]{run.state}[/]" if style else run.state
            cells = {
                "name": s["name"][:30], "kind": s["kind"], "state": state,
                "epoch": f"{s['epoch']}/{s['max_epochs'] or '?'}",
                "progress": f"{progress_bar(s['step'], s['total_steps'])} {s['step']}/{s['total_steps'] or '?'}",
                "eta": fmt_eta(s["eta_s"]) if s["eta_s"] is not None else "", "loss": "" if s["loss"] is None else f"{s['loss']:.4f}",
                "best": "" if s["best_top1"] is None else f"{100 * s['best_top1']:.1f}%", "gpus": s["gpus"],
            }
            key = str(path)
            if key in table.rows:
                for column, value in cells.items():
                    table.update_cell(key, column, value)
            else:
                table.add_row(*cells.values(), key=key)

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

    def select(self, path: Path) -> None:
        self.selected = path
        log = main_log(path)
        with self.lock:
            self.log_tailer = Tailer(log)
            self.log_lines.clear()
        if self.is_mounted:
            self.query_one("#log", RichLog).clear()
            self._show_loginfo()
            self._refresh_charts()

    def _show_loginfo(self) -> None:
        if not self.watchers:
            self.query_one("#loginfo", Static).update(empty_text(self.roots))
        elif self.selected is not None and self.log_tailer is not None:
            rel = self.log_tailer.path.relative_to(self.selected.parent) if self.log_tailer.path.is_relative_to(
                self.selected.parent) else self.log_tailer.path
            follow = "" if self.follow else "  (follow off: f)"
            self.query_one("#loginfo", Static).update(f"log: {rel}{follow}")

    @on(DataTable.RowHighlighted, "#runs")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key and event.row_key.value and Path(event.row_key.value) != self.selected:
            self.select(Path(event.row_key.value))
            self.poll_runs()

    # ------------------------------------------------------------------ GPUs
    @work(thread=True, exclusive=True, group="gpu")
    def sample_gpus(self) -> None:
        snap = self.sampler.sample()
        host = host_text()
        with self.lock:
            low = [a for w in list(self.watchers.values()) if (a := self.util.record(w.data, snap))]
        self.app.call_from_thread(self._apply_gpus, snap, host, low)

    def _apply_gpus(self, snap: GpuSnapshot, host: str, low: list | None = None) -> None:
        for alert in low or []:
            self.notify(alert.message, title="alert: GPU utilisation", severity="warning", timeout=10)
        self.gpu_snapshot = snap
        self.query_one("#gpus", Static).update(gpu_panel_text(snap, self.current))
        self.query_one("#host", Static).update(host)

    # ------------------------------------------------------------------ log filter
    def _matches(self, line: str) -> bool:
        return self.filter is None or bool(self.filter.search(line))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#filter")
    def _apply_filter(self, event: Input.Submitted) -> None:
        self.set_filter(event.value)
        self.query_one("#runs", DataTable).focus()

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
        log = self.query_one("#log", RichLog)
        log.clear()
        shown = [line for line in self.log_lines if self._matches(line)]
        if shown:
            log.write("\n".join(shown), scroll_end=True)
        self.query_one("#loginfo", Static).update(
            f"filter: {text}  ({len(shown)} of {len(self.log_lines)} lines)" if self.filter else "filter cleared")

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
