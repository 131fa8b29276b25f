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
