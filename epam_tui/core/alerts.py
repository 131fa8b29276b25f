"""Alerts from a run's state: non-finite loss, stall, process death. Each is raised once per run and
appended to the run's ``events.jsonl``, so a restarted TUI does not raise it again.

The death alert names the exit code and quotes the last meaningful lines of the run's output. A run
started by the launcher is ``failed`` by its status.json a moment before its wrapper records the exit
code (torchrun is still tearing the other workers down); the alert then waits for ``exit.json``, at
most ``DEATH_WAIT_S`` s after the failure was written, so that it is raised once, with the code."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from epam_tui.core.procs import record_alive, tail_lines
from epam_tui.core.rundir import EVENTS_JSONL, GPU_UTIL_JSONL, STDOUT_LOG, TRAIN_LOG, read_events

if TYPE_CHECKING:
    from epam_tui.core.registry import RunData


@dataclass(frozen=True)
class Alert:
    kind: str  # nonfinite | stall | death | gpu_low
    key: str  # identifies one occurrence (e.g. the step)
    message: str
    lines: tuple[str, ...] = ()  # death: the last meaningful lines of the run's output


DEATH_WAIT_S = 10.0  # how long a death alert waits for the launcher's exit code
QUOTED_LINES = 3  # output lines quoted in the death alert's message


def _says_something(line: str) -> bool:
    """Not blank and not a ruler (torchrun's error summary ends with a line of '=')."""
    text = line.strip()
    return bool(text) and not set(text) <= set("=-_*#~+ ")


def last_output(path: Path, n: int = 5) -> list[str]:
    """The last ``n`` meaningful lines of a run's own output: ``stdout.log`` (what the launched command
    printed), else ``train.log``; blank lines and rulers skipped."""
    for name in (STDOUT_LOG, TRAIN_LOG):
        lines = [line.rstrip() for line in tail_lines(Path(path) / name, 80) if _says_something(line)]
        if lines:
            return lines[-n:]
    return []


def exit_code_pending(run: RunData, now: float | None = None) -> bool:
    """A launched run failed by its status.json while its wrapper still runs without having written
    exit.json (for less than ``DEATH_WAIT_S`` s since the failure): the exit code is about to arrive."""
    if run.exit is not None or not run.run or not run.run.get("pid"):
        return False
    if not record_alive(run.run):
        return False
    since = (run.status or {}).get("updated") or run.last_update or 0.0
    return (time.time() if now is None else now) - float(since) < DEATH_WAIT_S


def alerts_for(run: RunData, now: float | None = None) -> list[Alert]:
    out = []
    if run.store.first_nonfinite is not None:
        step = run.store.first_nonfinite
        out.append(Alert("nonfinite", str(step), f"{run.name}: non-finite loss at step {step}"))
    if run.state == "stalled":
        out.append(Alert("stall", str(run.last_step), f"{run.name}: stalled - {run.reason}"))
    if run.state == "failed" and not exit_code_pending(run, now):
        lines = last_output(run.path)
        quoted = " | ".join(line.strip()[:160] for line in lines[-QUOTED_LINES:])
        detail = f"; last output: {quoted}" if quoted else ""
        code, reason = (run.exit or {}).get("code"), run.reason
        if code is not None and f"exit code {code}" not in reason:  # status.json's reason; the code is known too
            reason = f"exit code {code}: {reason}" if reason else f"exit code {code}"
        out.append(Alert("death", "end", f"{run.name}: failed ({reason}){detail}", tuple(lines)))
    return out


class AlertTracker:
    """Remembers which alerts were raised (in memory and in events.jsonl) and returns only new ones."""

    def __init__(self) -> None:
        self.seen: dict[Path, set[tuple[str, str]]] = {}

    def _load(self, path: Path) -> set[tuple[str, str]]:
        if path not in self.seen:
            self.seen[path] = {(rec.get("kind"), rec.get("key")) for rec in read_events(path).records}
        return self.seen[path]

    def kinds(self, path: Path) -> set[str]:
        """The kinds of alert raised for the run so far (this session's and those in events.jsonl)."""
        return {kind for kind, _ in self.seen.get(path, ())}

    def new_alerts(self, run: RunData, extra: list[Alert] | tuple[Alert, ...] = ()) -> list[Alert]:
        """The run's alerts (and ``extra`` ones, e.g. from ``UtilRecorder``) not raised before; each is
        appended to events.jsonl."""
        seen = self._load(run.path)
        fresh = [a for a in [*alerts_for(run), *extra] if (a.kind, a.key) not in seen]
        for alert in fresh:
            seen.add((alert.kind, alert.key))
            try:
                with open(run.path / EVENTS_JSONL, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"time": time.time(), "kind": alert.kind, "key": alert.key,
                                         "message": alert.message}) + "\n")
            except OSError:
                pass  # a read-only run dir still shows the alert
        return fresh


class UtilRecorder:
    """Records the utilisation of each running run's own GPUs (matched by UUID from run.json) into the
    run's ``gpu_util.jsonl`` every ``interval`` seconds (the checklist averages it), and raises a
    ``gpu_low`` alert once when the mean over the last ``window`` seconds stays below ``target`` percent.
    NVML utilisation is the share of time a kernel was running, not occupancy."""

    def __init__(self, interval: float = 5.0, window: float = 60.0, target: float = 80.0):
        self.interval, self.window, self.target = interval, window, target
        self.last_write: dict[Path, float] = {}
        self.history: dict[Path, list[tuple[float, float]]] = {}
        self.alerted: set[Path] = set()

    def record(self, run: RunData, snapshot) -> Alert | None:
        uuids = [str(g.get("uuid")) for g in ((run.run or {}).get("gpus") or [])]
        if run.state != "running" or not uuids or snapshot.error:
            return None
        utils = [g.util for g in snapshot.devices if g.uuid in uuids and g.util is not None]
        if not utils:
            return None
        now = snapshot.time
        hist = self.history.setdefault(run.path, [])
        hist.append((now, sum(utils) / len(utils)))
        while hist and now - hist[0][0] > self.window:
            hist.pop(0)
        if now - self.last_write.get(run.path, 0.0) >= self.interval:
            self.last_write[run.path] = now
            try:
                with open(run.path / GPU_UTIL_JSONL, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"time": now, "util": utils}) + "\n")
            except OSError:
                pass
        covered = hist and now - hist[0][0] >= 0.9 * self.window
        mean = sum(u for _, u in hist) / len(hist)
        if covered and mean < self.target and run.path not in self.alerted:
            self.alerted.add(run.path)
            return Alert("gpu_low", "window", f"{run.name}: GPU utilisation {mean:.0f}% over the last "
                         f"{self.window:.0f} s (target {self.target:.0f}%; NVML: share of time a kernel ran)")
        return None
