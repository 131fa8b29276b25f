"""Run discovery and live state: every run under a root, read from disk, incrementally.

A run directory is one of:
- ``epam``: ours (``scalars.jsonl`` first, ``train.log`` as fallback, ``status.json``, ``run.json``, ``exit.json``);
- ``mmengine``: an MMEngine/MMAction2 work_dir (``<ts>/vis_data/scalars.json`` else ``<ts>/<ts>.log``; every
  timestamp is read in order, so restarts join into one history);
- ``epam-official``: the official EPAM-Net script's ``<YYYYmmdd_HHMMSS>.log``.

``RunWatcher(path).poll()`` reads only what was appended since the last poll (``Tailer``); when a file
was truncated or replaced the run's series is rebuilt from scratch, so points are never doubled.
``load_run(path)`` is a one-shot ``RunWatcher`` (used by the headless commands and the checklist).

RunData fields: ``path, name, kind, state, config, status, run, exit, store`` (a ``SeriesStore``:
``store.columns()`` gives the train series by step as numpy arrays - lr, loss, loss_rgb, loss_pose,
grad_norm, time, data_time, top1_acc; ``store.epoch_columns("val")`` the per-epoch val metrics,
``store.epoch_columns("train_epoch")`` the per-epoch train loss/accuracy), ``checkpoints``,
``iters_per_epoch``, ``max_epochs``, ``last_update``.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from epam_tui.core.procs import is_alive
from epam_tui.core.sources.parsers import SeriesStore, feed_epam_official, feed_json, feed_mmengine
from epam_tui.core.tail import Tailer

TS_DIR = re.compile(r"^\d{8}_\d{6}$")
TS_LOG = re.compile(r"^\d{8}_\d{6}\.log$")
STALL_FACTOR = 5.0
FOREIGN_IDLE_S = 300.0


def detect_kind(path: Path) -> str | None:
    """'epam' | 'mmengine' | 'epam-official' | None."""
    if not path.is_dir():
        return None
    names = {p.name for p in path.iterdir()}
    if names & {"scalars.jsonl", "status.json", "run.json"} or ("train.log" in names and "config.yaml" in names):
        return "epam"
    if any(TS_DIR.match(n) and (path / n / "vis_data").is_dir() or TS_DIR.match(n) and (path / n / f"{n}.log").exists()
           for n in names):
        return "mmengine"
    if any(TS_LOG.match(n) for n in names):
        return "epam-official"
    if "train.log" in names:
        return "epam"
    return None


def discover(roots: list[Path] | Path) -> list[Path]:
    """Run directories: each root itself if it is a run, else its subdirectories (two levels) that are."""
    roots = [roots] if isinstance(roots, Path) else list(roots)
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if detect_kind(root):
            found.append(root)
            continue
        if not root.is_dir():
            continue
        for child in sorted(root.iterdir()):
            if detect_kind(child):
                found.append(child)
            elif child.is_dir():
                found.extend(g for g in sorted(child.iterdir()) if detect_kind(g))
    return found


def main_log(path: Path) -> Path:
    """The human log to show for a run directory: ours ``train.log`` (else ``stdout.log``), an MMEngine
    work_dir's newest ``<ts>/<ts>.log``, the official script's newest ``<ts>.log``."""
    path = Path(path)
    candidates = [path / "train.log"]
    try:
        candidates += sorted((d / f"{d.name}.log" for d in path.iterdir() if TS_DIR.match(d.name)), reverse=True)
        candidates += sorted((f for f in path.iterdir() if TS_LOG.match(f.name)), reverse=True)
    except OSError:
        pass
    candidates.append(path / "stdout.log")
    return next((c for c in candidates if c.exists()), path / "train.log")


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def device_label(status: dict | None, run_json: dict | None) -> str:
    """Where a run trains, as the run table and ``epam-tui status`` say it.

    ``status.json``'s ``device`` ("cpu" | "cuda", written by the trainer) against ``run.json``'s ``gpus``:
    "cuda 0,1" (trained on CUDA with those GPUs), "cpu (asked 0,1)" (GPUs were picked but it trains on the
    CPU), "cpu" (none asked), "" when the trainer has not said (old runs, foreign runs)."""
    device = (status or {}).get("device") if isinstance(status, dict) else None
    gpus = (run_json or {}).get("gpus") if isinstance(run_json, dict) else None
    indices = []
    if isinstance(gpus, list):
        for g in gpus:
            idx = g.get("index") if isinstance(g, dict) else None
            if isinstance(idx, int) and not isinstance(idx, bool):
                indices.append(str(idx))
    asked = ",".join(indices)
    if not isinstance(device, str):
        return ""
    device = device.strip().lower()
    if device.startswith("cuda"):
        return f"cuda {asked}" if asked else "cuda"
    if device == "cpu":
        return f"cpu (asked {asked})" if asked else "cpu"
    return ""


@dataclass
class RunData:
    path: Path
    name: str
    kind: str
    state: str = "unknown"
    reason: str = ""
    config: dict | None = None
    status: dict | None = None
    run: dict | None = None
    exit: dict | None = None
    store: SeriesStore = field(default_factory=SeriesStore)
    checkpoints: list[str] = field(default_factory=list)
    iters_per_epoch: int | None = None
    max_epochs: int | None = None
    last_update: float = 0.0
    loading: float | None = None  # share of the backlog read so far while a big log is being read

    # ------------------------------------------------------------ summaries
    # ------------------------------------------------------------ series (numpy columns, full resolution)
    @property
    def train(self) -> dict[str, Any]:
        """Train iterations by step: step, epoch, lr, loss, grad_norm, time, data_time, top1_acc, ..."""
        return self.store.columns()

    @property
    def val(self) -> dict[str, Any]:
        """Validation metrics by epoch: epoch, acc/top1, acc/top5, acc/mean1, acc/rgb_top1, acc/pose_top1."""
        return self.store.epoch_columns("val")

    @property
    def train_epoch(self) -> dict[str, Any]:
        """Per-epoch train means: epoch, train/loss, train/top1."""
        return self.store.epoch_columns("train_epoch")

    @property
    def skipped_lines(self) -> int:
        return self.store.bad

    @property
    def events(self) -> list[dict]:
        """The alerts recorded in events.jsonl."""
        out = []
        try:
            text = (self.path / "events.jsonl").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    # ------------------------------------------------------------ summaries
    @property
    def last_step(self) -> int:
        return int(self.store.last().get("step", 0))

    @property
    def last_epoch(self) -> int:
        if self.status and self.status.get("epoch"):
            return int(self.status["epoch"])
        return int(self.store.last().get("epoch", 0))

    @property
    def latest_loss(self) -> float | None:
        last = self.store.last()
        return last.get("loss", math.nan) if last else None

    @property
    def best_top1(self) -> float | None:
        vals = [v["acc/top1"] for v in self.store.val.values() if "acc/top1" in v]
        return max(vals) if vals else None

    @property
    def median_step_time(self) -> float | None:
        times = self.store.columns(("time",))["time"][-50:]
        import numpy as np

        times = times[np.isfinite(times)]
        return float(np.median(times)) if len(times) else None

    @property
    def total_iters(self) -> int | None:
        if self.iters_per_epoch and self.max_epochs:
            return self.iters_per_epoch * self.max_epochs
        return None

    @property
    def eta_seconds(self) -> float | None:
        total, step = self.total_iters, self.median_step_time
        if total is None or step is None or self.state not in ("running", "stalled"):
            return None
        return max(0.0, (total - self.last_step) * step)

    @property
    def gpus(self) -> str:
        if self.run and self.run.get("gpus"):
            return ",".join(str(g.get("index")) for g in self.run["gpus"])
        if self.run and self.run.get("nproc"):
            return f"cpu x{self.run['nproc']}"
        return "-"

    @property
    def device(self) -> str:
        """``device_label(status, run)``: "cuda 0,1", "cpu (asked 0,1)", "cpu" or "" (unknown)."""
        return device_label(self.status, self.run)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "path": str(self.path), "kind": self.kind, "state": self.state,
                "reason": self.reason, "epoch": self.last_epoch, "max_epochs": self.max_epochs, "step": self.last_step,
                "total_steps": self.total_iters, "loss": self.latest_loss, "best_top1": self.best_top1,
                "eta_s": self.eta_seconds, "gpus": self.gpus, "device": self.device, "bad_lines": self.store.bad, "loading": self.loading}


class RunWatcher:
    """Keeps a RunData current by reading only appended bytes."""

    def __init__(self, path: str | Path, now: float | None = None):
        self.path = Path(path)
        kind = detect_kind(self.path)
        self._kind_known = kind is not None
        self.data = RunData(self.path, self.path.name, kind or "epam")
        self.tailers: dict[Path, Tailer] = {}
        self._official_state: dict = {}
        self._config_mtime: float | None = None
        self._clock = now

    # ------------------------------------------------------------ files of each kind
    def _sources(self) -> list[tuple[Path, str]]:
        p = self.path
        if self.data.kind == "epam":
            if (p / "scalars.jsonl").exists() or not (p / "train.log").exists():
                return [(p / "scalars.jsonl", "json")]
            return [(p / "train.log", "mmengine")]
        if self.data.kind == "mmengine":
            out = []
            for ts in sorted(d for d in p.iterdir() if TS_DIR.match(d.name)):
                js = ts / "vis_data" / "scalars.json"
                out.append((js, "json") if js.exists() else (ts / f"{ts.name}.log", "mmengine"))
            return out
        return [(f, "official") for f in sorted(p.iterdir()) if TS_LOG.match(f.name)]

    def poll(self, budget: int | None = None) -> bool:
        """Read what was appended; refresh status and state. True when anything new arrived.

        ``budget``: read at most that many bytes per file in this call (a big backlog is then read over
        several calls and ``data.loading`` says how far it got); None reads everything."""
        changed = False
        if not self._kind_known:  # a directory whose files had not appeared yet
            kind = detect_kind(self.path)
            if kind is not None:
                self._kind_known = True
                if kind != self.data.kind:
                    self.data.kind = kind
                    self.tailers.clear()
        sources = self._sources()
        for path, _ in sources:
            if path not in self.tailers:
                self.tailers[path] = Tailer(path)
        batches = []
        for path, fmt in sources:
            lines = self.tailers[path].read_chunk(budget)
            if self.tailers[path].reset:
                return self._rebuild(budget)
            batches.append((lines, fmt))
        for lines, fmt in batches:
            if not lines:
                continue
            changed = True
            if fmt == "json":
                feed_json(self.data.store, lines)
            elif fmt == "mmengine":
                feed_mmengine(self.data.store, lines)
            else:
                feed_epam_official(self.data.store, lines, self._official_state)
        self.data.store.bad += sum(t.skipped for t in self.tailers.values()) - getattr(self, "_skipped", 0)
        self._skipped = sum(t.skipped for t in self.tailers.values())
        self.data.loading = self._progress(sources) if budget is not None else None
        changed |= self._refresh_meta(sources)
        return changed

    def _progress(self, sources: list[tuple[Path, str]]) -> float | None:
        """Bytes read / bytes on disk over the sources, None when everything was read."""
        done = total = 0
        for path, _ in sources:
            try:
                size = path.stat().st_size
            except OSError:
                continue
            done += min(self.tailers[path].offset, size)
            total += size
        return done / total if total and done < total else None

    def _rebuild(self, budget: int | None = None) -> bool:
        self.data.store.clear()
        self.tailers.clear()
        self._official_state.clear()
        self._skipped = 0
        self.poll(budget)
        return True

    def _refresh_meta(self, sources: list[tuple[Path, str]]) -> bool:
        d, p = self.data, self.path
        before = (d.state, d.status, d.exit)
        d.status = _read_json(p / "status.json")
        d.run = _read_json(p / "run.json")
        d.exit = _read_json(p / "exit.json")
        if d.run and d.run.get("name"):
            d.name = str(d.run["name"])
        self._load_config()
        ckpt_dir = p / "checkpoints" if (p / "checkpoints").is_dir() else p
        d.checkpoints = sorted(f.name for f in ckpt_dir.glob("*.pth"))
        mtimes = [f.stat().st_mtime for f, _ in sources if f.exists()]
        d.last_update = max(mtimes + [(d.status or {}).get("updated") or 0.0])
        d.iters_per_epoch = (d.status or {}).get("iters_per_epoch") or d.store.iters_per_epoch
        d.max_epochs = (d.status or {}).get("max_epochs") or ((d.config or {}).get("train") or {}).get("max_epochs")
        d.state, d.reason = self._state()
        return before != (d.state, d.status, d.exit)

    def _load_config(self) -> None:
        mm = None
        path = self.path / "config.yaml"
        if self.data.kind == "mmengine" and not path.exists():
            from epam_tui.core import mmconfig

            mm = mmconfig.find_config(self.path)
            path = mm or path
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return
        if mtime == self._config_mtime:
            return
        self._config_mtime = mtime
        if mm is not None:  # the schedule of the dumped Python config, read with ast (nothing executed)
            self.data.config = mmconfig.to_epam_config(mmconfig.read_py_config(mm))
            return
        try:
            from epam.config import ConfigError, load_config

            self.data.config = load_config(path)
        except Exception:  # noqa: BLE001 - ConfigError or a foreign YAML: keep what safe_load gives
            import yaml

            try:
                cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
                self.data.config = cfg if isinstance(cfg, dict) else None
            except (OSError, yaml.YAMLError):
                self.data.config = None

    def _state(self) -> tuple[str, str]:
        d = self.data
        now = self._clock if self._clock is not None else time.time()
        status_state = (d.status or {}).get("state")
        if d.exit is not None:
            code = d.exit.get("code")
            if status_state == "stopped" or (d.run or {}).get("status") == "stopped":
                return "stopped", f"exit code {code}"
            if code == 0:
                return "finished", "exit code 0"
            return "failed", f"exit code {code}" + (f" ({d.exit.get('signal')})" if d.exit.get("signal") else "")
        if status_state in ("finished", "failed", "stopped"):
            return status_state, str((d.status or {}).get("exit_reason") or "")
        pid_info = [(d.status or {}).get("pid"), (d.status or {}).get("create_time")]
        if d.run and d.run.get("pid"):
            pid_info = [d.run.get("pid"), d.run.get("create_time")]
        if pid_info[0]:
            if not is_alive(pid_info[0], pid_info[1]):
                return "failed", _gone_reason(p=self.path)
            median = d.median_step_time
            if median and now - d.last_update > max(STALL_FACTOR * median, 30.0):
                return "stalled", f"no new step for {now - d.last_update:.0f} s"
            return "running", ""
        if d.kind != "epam":
            if d.max_epochs and d.store.val and max(d.store.val) >= d.max_epochs:
                return "finished", ""
            return ("running", "") if now - d.last_update < FOREIGN_IDLE_S else ("inactive", "no new lines")
        return "unknown", ""


def _gone_reason(p: Path) -> str:
    """Why a run's process may have ended without a word: a full disk leaves it no way to say so."""
    import shutil

    try:
        if shutil.disk_usage(p).free < 1 << 20:
            return ("process gone; the run directory's disk is full (it could not write its end): free space, "
                    "then continue with --resume auto")
    except OSError:
        pass
    return "process gone without writing its end (killed?)"


def fmt_eta(seconds: float | None) -> str:
    """h:mm:ss, or "-" when unknown."""
    if seconds is None:
        return "-"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def load_run(path: str | Path) -> RunData:
    """Parse a run directory once (headless commands, checklist, report)."""
    watcher = RunWatcher(path)
    watcher.poll()
    return watcher.data
