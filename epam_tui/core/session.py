"""The monitor's controller, without a terminal: which runs are watched, which one is selected, what a
poll found. The monitor screen only draws what these methods return.

A ``MonitorSession`` owns a ``RunWatcher`` per run directory (keyed by ``registry.run_key``: a relative
and an absolute path, or a symlink, are one run), the rescans of the roots (every ``RESCAN_S``, or at
the next poll after ``rescan()``), the ``AlertTracker`` / ``UtilRecorder``, the selection (one run, plus
the runs marked for compare) and the tailer of the selected run's log. Invariants:

- every method may be called from any thread: the watchers, the selection and the tailer change only
  under ``lock``;
- ``poll()`` returns a ``PollResult``; its log lines carry the tailer they were read from
  (``LogRead.source``): lines read before another run was selected are not that run's, and
  ``is_current(source)`` says so;
- the first poll that finds runs selects the most recently active one, unless one is already selected;
- a rescan only adds runs: a run's watcher (and so its selection, marks and alerts) survives rescans.

No Textual import; the run registry (numpy, yaml) is imported by the first call that needs it, so a
screen built on a session appears before it is loaded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from epam_tui.core.rundir import STDOUT_LOG
from epam_tui.core.sources.loglines import compact_log_line

if TYPE_CHECKING:
    from epam_tui.core.alerts import Alert
    from epam_tui.core.gpus import GpuSnapshot
    from epam_tui.core.registry import RunData, RunWatcher
    from epam_tui.core.tail import Tailer

RESCAN_S = 5.0  # new run directories are looked for every 5 s
BACKLOG_BUDGET = 8 << 20  # bytes per file per poll: a big backlog is read over several polls
LOG_TAIL_BYTES = 1 << 20  # the log pane starts with the last MiB of a big log, as `tail` would
PROC_S = 2.0  # the selected run's process tree is sampled every ~2 s


@dataclass(frozen=True)
class LogRead:
    """New lines of the selected run's log (MMEngine prefixes compacted), whether the file was truncated
    or replaced since the last read (``reset``), and the tailer they came from (None: no run selected)."""
    lines: list[str] = field(default_factory=list)
    reset: bool = False
    source: Tailer | None = None


@dataclass(frozen=True)
class PollResult:
    """What one ``MonitorSession.poll()`` found."""
    updated: list[Path] = field(default_factory=list)  # the runs whose data changed
    alerts: list[Alert] = field(default_factory=list)  # alerts raised for the first time
    log: LogRead = field(default_factory=LogRead)
    loading: bool = False  # a run's backlog is still being read: poll again at once
    selected: Path | None = None  # the run this poll selected (the first to find runs: the most recently active)

    @property
    def changed(self) -> bool:
        return bool(self.updated) or self.selected is not None


@dataclass(frozen=True)
class GpuResult:
    """What one ``MonitorSession.record_gpus()`` found: GPU-utilisation alerts raised for the first time and,
    every ``PROC_S``, the selected run's process tree (None: not sampled this time)."""
    alerts: list[Alert] = field(default_factory=list)
    proc: tuple[str, tuple[float, int, int] | None] | None = None  # (run name, TreeSampler sample)


@dataclass(frozen=True)
class RunRow:
    """One run as the run table shows it."""
    path: Path
    data: RunData
    alerts: frozenset[str]  # the kinds of alert raised for it so far
    marked: bool


def last_activity(path: Path) -> float:
    """The newest modification time of a run directory's files (0 when unreadable)."""
    try:
        return max((f.stat().st_mtime for f in path.iterdir()), default=0.0)
    except OSError:
        return 0.0


def run_pid(run: RunData | None) -> int | None:
    """The pid whose tree is the run: the launcher's wrapper, else the trainer's (status.json)."""
    if run is None or run.state not in ("running", "stalled", "starting"):
        return None
    return (run.run or {}).get("pid") or (run.status or {}).get("pid")


class MonitorSession:
    def __init__(self, roots: list[Path] | list[str]):
        self.roots = [Path(r) for r in roots]
        self.lock = threading.RLock()
        self.watchers: dict[Path, RunWatcher] = {}
        self.selected: Path | None = None
        self.marked: set[Path] = set()  # runs marked for compare
        self.log_choice: dict[Path, str] = {}  # "main" or "stdout": the log the user picked for a run
        self.log_tailer: Tailer | None = None
        self.alerts: Any = None  # AlertTracker and UtilRecorder, made by the first poll (core imports)
        self.util: Any = None
        self.proc_sampler: Any = None  # procs.TreeSampler for the selected run's process tree
        self._rescan_due = True
        self._rescan_at = 0.0
        self._proc_due = 0.0

    # ------------------------------------------------------------------ runs
    def rescan(self) -> None:
        """Look for new run directories at the next poll."""
        self._rescan_due = True

    def _scan(self) -> Path | None:
        """(under the lock) watch new run directories; returns the run to select first, if none is."""
        from epam_tui.core.registry import RunWatcher, discover

        for path in discover(self.roots):
            if path not in self.watchers:
                self.watchers[path] = RunWatcher(path)
        if self.selected is None and self.watchers:  # start on the most recently active run
            return max(self.watchers, key=last_activity)
        return None

    def add(self, path: str | Path) -> Path:
        """Watch a run directory (a launch just made it); returns its key (``registry.run_key``)."""
        from epam_tui.core.registry import RunWatcher, run_key

        key = run_key(path)
        with self.lock:
            if key not in self.watchers:
                self.watchers[key] = RunWatcher(key)
        return key

    def poll(self) -> PollResult:
        """Rescan when due, read what every run wrote since, raise new alerts, select a first run, and read
        the selected run's new log lines."""
        from epam_tui.core.alerts import AlertTracker, UtilRecorder

        with self.lock:
            if self.alerts is None:
                self.alerts, self.util = AlertTracker(), UtilRecorder()
            first = None
            if self._rescan_due or time.monotonic() >= self._rescan_at:
                self._rescan_due = False
                self._rescan_at = time.monotonic() + RESCAN_S
                first = self._scan()
            watchers = list(self.watchers.items())
            updated = [path for path, w in watchers if w.poll(BACKLOG_BUDGET)]
            loading = any(w.data.loading is not None for _, w in watchers)
            alerts = [a for _, w in watchers if w.data.loading is None for a in self.alerts.new_alerts(w.data)]
            if first is not None:
                self.select(first)
        return PollResult(updated, alerts, self.read_log(), loading, first)

    def read_log(self) -> LogRead:
        """The selected run's new log lines, with the tailer they came from."""
        with self.lock:
            tailer = self.log_tailer
            if tailer is None:
                return LogRead()
            lines = [compact_log_line(b.decode("utf-8", "replace")) for b in tailer.read()]
            return LogRead(lines, tailer.reset, tailer)

    def is_current(self, source: Tailer | None) -> bool:
        """Whether lines read from ``source`` belong to the log shown now (not to a run selected before)."""
        return source is not None and source is self.log_tailer

    @property
    def current(self) -> RunData | None:
        """The selected run's data (None: none selected, or not watched)."""
        watcher = self.watchers.get(self.selected) if self.selected else None
        return watcher.data if watcher else None

    def rows(self) -> list[RunRow]:
        """Every watched run, in the order found, as the run table shows it."""
        with self.lock:
            return [RunRow(path, w.data, frozenset(self.alerts.kinds(path)) if self.alerts else frozenset(),
                           path in self.marked) for path, w in self.watchers.items()]

    def chart_columns(self) -> dict[str, Any] | None:
        """The selected run's series for the charts (None: no run selected)."""
        run = self.current
        if run is None:
            return None
        with self.lock:
            return {"train": run.store.columns(("lr", "loss")), "val": run.store.epoch_columns("val"),
                    "train_epoch": run.store.epoch_columns("train_epoch"), "config": run.config,
                    "iters_per_epoch": run.iters_per_epoch}

    # ------------------------------------------------------------------ selection
    def select(self, path: Path) -> None:
        """Select a run and open its log (a new tailer: lines read from the previous one are dropped)."""
        with self.lock:
            self.selected = path
            self.open_log(self.log_path(path))

    def toggle_mark(self) -> bool:
        """Mark or unmark the selected run for compare; False when no run is selected."""
        if self.selected is None:
            return False
        self.marked.symmetric_difference_update({self.selected})
        return True

    def compare_runs(self) -> list[Path]:
        """The runs compare shows: the marked ones, in table order, else all."""
        marked = [p for p in self.watchers if p in self.marked]
        return marked or list(self.watchers)

    # ------------------------------------------------------------------ the selected run's log
    def open_log(self, log: Path) -> None:
        from epam_tui.core.tail import Tailer

        with self.lock:
            self.log_tailer = Tailer(log, tail_bytes=LOG_TAIL_BYTES)

    def log_path(self, path: Path) -> Path:
        """The log shown for a run: the one picked with ``choose_log``, else stdout.log for a failed run
        (its traceback and last stderr lines are there, not in train.log), else the run's main log."""
        from epam_tui.core.registry import main_log

        stdout = path / STDOUT_LOG
        choice = self.log_choice.get(path)
        watcher = self.watchers.get(path)
        if choice == "stdout" or (choice is None and watcher is not None and watcher.data.state == "failed"):
            if stdout.is_file():
                return stdout
        return main_log(path)

    def switch_log(self) -> str | None:
        """Switch the selected run between its main log and stdout.log (opened); else why not, one line."""
        path = self.selected
        if path is None or self.log_tailer is None:
            return "no run selected"
        from epam_tui.core.registry import main_log

        main, stdout = main_log(path), path / STDOUT_LOG
        if self.log_tailer.path == stdout:
            if main == stdout:
                return f"{path.name} has no other log than stdout.log"
            self.log_choice[path] = "main"
        elif stdout.is_file():
            self.log_choice[path] = "stdout"
        else:
            return f"{path.name} has no stdout.log (a run launched by epam-tui has one)"
        self.open_log(self.log_path(path))
        return None

    def follow_failure(self) -> bool:
        """The selected run failed while shown: its log moves to stdout.log (unless the user picked a log).
        True when a new log was opened."""
        path, tailer = self.selected, self.log_tailer
        if path is None or tailer is None or path in self.log_choice or tailer.path.name == STDOUT_LOG:
            return False
        watcher = self.watchers.get(path)
        if watcher is None or watcher.data.state != "failed":
            return False
        want = self.log_path(path)
        if want == tailer.path:
            return False
        self.open_log(want)
        return True

    # ------------------------------------------------------------------ GPUs and processes
    def record_gpus(self, snap: GpuSnapshot) -> GpuResult:
        """Record a GPU sample against every run (low-utilisation alerts) and, every ``PROC_S``, sample the
        selected run's process tree."""
        with self.lock:
            run = self.current
            low: list[Alert] = []
            if self.util is not None:
                for w in list(self.watchers.values()):
                    alert = self.util.record(w.data, snap)
                    if alert is not None:
                        low += self.alerts.new_alerts(w.data, [alert])
        proc = None
        if time.monotonic() >= self._proc_due:
            self._proc_due = time.monotonic() + PROC_S
            if self.proc_sampler is None:
                from epam_tui.core.procs import TreeSampler

                self.proc_sampler = TreeSampler()
            proc = ("", None) if run is None else (run.name, self.proc_sampler.sample(run_pid(run)))
        return GpuResult(low, proc)
