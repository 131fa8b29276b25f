"""Alerts from a run's state: non-finite loss, stall, process death. Each is raised once per run and
appended to the run's ``events.jsonl``, so a restarted TUI does not raise it again."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from epam_tui.core.procs import tail_lines
from epam_tui.core.registry import RunData


@dataclass(frozen=True)
class Alert:
    kind: str  # nonfinite | stall | death | gpu_low
    key: str  # identifies one occurrence (e.g. the step)
    message: str


def alerts_for(run: RunData) -> list[Alert]:
    out = []
    if run.store.first_nonfinite is not None:
        step = run.store.first_nonfinite
        out.append(Alert("nonfinite", str(step), f"{run.name}: non-finite loss at step {step}"))
    if run.state == "stalled":
        out.append(Alert("stall", str(run.last_step), f"{run.name}: stalled - {run.reason}"))
    if run.state == "failed":
        last = tail_lines(run.path / "stdout.log", 3) or tail_lines(run.path / "train.log", 3)
        detail = f"; last output: {last[-1][:160]}" if last else ""
        out.append(Alert("death", "end", f"{run.name}: failed ({run.reason}){detail}"))
    return out


class AlertTracker:
    """Remembers which alerts were raised (in memory and in events.jsonl) and returns only new ones."""

    def __init__(self) -> None:
        self.seen: dict[Path, set[tuple[str, str]]] = {}

    def _load(self, path: Path) -> set[tuple[str, str]]:
        if path not in self.seen:
            seen = set()
            try:
                for line in (path / "events.jsonl").read_text(encoding="utf-8").splitlines():
                    try:
                        rec = json.loads(line)
                        seen.add((rec.get("kind"), rec.get("key")))
                    except ValueError:
                        continue
            except OSError:
                pass
            self.seen[path] = seen
        return self.seen[path]

    def new_alerts(self, run: RunData) -> list[Alert]:
        seen = self._load(run.path)
        fresh = [a for a in alerts_for(run) if (a.kind, a.key) not in seen]
        for alert in fresh:
            seen.add((alert.kind, alert.key))
            try:
                with open(run.path / "events.jsonl", "a", encoding="utf-8") as fh:
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
                with open(run.path / "gpu_util.jsonl", "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"time": now, "util": utils}) + "\n")
            except OSError:
                pass
        covered = hist and now - hist[0][0] >= 0.9 * self.window
        mean = sum(u for _, u in hist) / len(hist)
        if covered and mean < self.target and run.path not in self.alerted:
            self.alerted.add(run.path)
            return Alert("gpu_low", f"{int(now)}", f"{run.name}: GPU utilisation {mean:.0f}% over the last "
                         f"{self.window:.0f} s (target {self.target:.0f}%; NVML: share of time a kernel ran)")
        return None
