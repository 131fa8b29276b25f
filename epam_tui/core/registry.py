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
``iters_per_epoch``, ``max_epochs``, ``last_update``, ``problems`` (files that failed validation: the
run then shows as ``unreadable`` with them as its reason) and ``notes`` (files skipped: a FIFO, a device).

Every JSON file of a run directory is read through ``core.rundir`` (validated field by field) and every
log through ``core.tail`` (regular files only, bounded reads): one bad run never takes the others down.
A foreign run with no known process is ``finished`` when its last validation reaches the dumped config's
``train_cfg.max_epochs``, else ``idle`` once nothing was written for ``FOREIGN_IDLE_S`` seconds.
"""

from __future__ import annotations

import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from epam_tui.core import rundir
from epam_tui.core.rundir import fmt_eta  # noqa: F401 - the ETA as train.log writes it, for the run views
from epam_tui.core.procs import is_alive
from epam_tui.core.runstate import STALL_FACTOR, STALL_MIN_S, device_label, fmt_duration, stall_reason, stall_threshold  # noqa: F401
from epam_tui.core.sources.parsers import SeriesStore, feed_epam_official, feed_json, feed_mmengine
from epam_tui.core.tail import Tailer, open_regular

TS_DIR = re.compile(r"^\d{8}_\d{6}$")
TS_LOG = re.compile(r"^\d{8}_\d{6}\.log$")
FOREIGN_IDLE_S = 900.0  # a foreign run with no known process and no write for 15 min is idle, not running
MAX_CONFIG_BYTES = 8 << 20  # a resolved config.yaml is a few KB


def detect_kind(path: Path) -> str | None:
    """'epam' | 'mmengine' | 'epam-official' | None."""
    if not path.is_dir():
        return None
    names = {p.name for p in path.iterdir()}
    if names & {rundir.SCALARS_JSONL, rundir.STATUS_JSON, rundir.RUN_JSON} or (rundir.TRAIN_LOG in names and rundir.CONFIG_YAML in names):
        return "epam"
    if any(TS_DIR.match(n) and (path / n / "vis_data").is_dir() or TS_DIR.match(n) and (path / n / f"{n}.log").exists()
           for n in names):
        return "mmengine"
    if any(TS_LOG.match(n) for n in names):
        return "epam-official"
    if rundir.TRAIN_LOG in names:
        return "epam"
    return None


def run_key(path: str | Path) -> Path:
    """A run directory's identity: its resolved absolute path (``work_dirs/a``, ``./work_dirs/a``,
    ``/abs/work_dirs/a`` and a symlink to it are one run)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return Path(os.path.abspath(path))


def discover(roots: list[Path] | Path) -> list[Path]:
    """Run directories (each once, as ``run_key`` gives it): each root itself if it is a run, else its
    subdirectories (two levels) that are."""
    roots = [roots] if isinstance(roots, (str, Path)) else list(roots)
    found: dict[Path, None] = {}
    for root in roots:
        root = Path(root)
        try:
            if detect_kind(root):
                found[run_key(root)] = None
                continue
            if not root.is_dir():
                continue
            for child in sorted(root.iterdir()):
                try:
                    if detect_kind(child):
                        found[run_key(child)] = None
                    elif child.is_dir():
                        for g in sorted(child.iterdir()):
                            if detect_kind(g):
                                found[run_key(g)] = None
                except OSError:  # unreadable subdirectory: skip it, keep the others
                    continue
        except OSError:
            continue
    return list(found)


def main_log(path: Path) -> Path:
    """The human log to show for a run directory: ours ``train.log`` (else ``stdout.log``), an MMEngine
    work_dir's newest ``<ts>/<ts>.log``, the official script's newest ``<ts>.log``."""
    path = Path(path)
    candidates = [path / rundir.TRAIN_LOG]
    try:
        candidates += sorted((d / f"{d.name}.log" for d in path.iterdir() if TS_DIR.match(d.name)), reverse=True)
        candidates += sorted((f for f in path.iterdir() if TS_LOG.match(f.name)), reverse=True)
    except OSError:
        pass
    candidates.append(path / rundir.STDOUT_LOG)
    return next((c for c in candidates if c.exists()), path / rundir.TRAIN_LOG)


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
    problems: list[str] = field(default_factory=list)  # "unreadable status.json: pid must be an integer ..."
    notes: list[str] = field(default_factory=list)  # "train.log is not a regular file (FIFO): skipped"

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
        """The alerts recorded in events.jsonl (records with valid fields only)."""
        return rundir.read_events(self.path).records

    # ------------------------------------------------------------ summaries
    @property
    def last_step(self) -> int:
        return int(self.store.last().get("step", 0))

    @property
    def last_epoch(self) -> int:
        if self.status and self.status.get("epoch"):
            return int(self.status["epoch"])
        epoch = self.store.last().get("epoch", 0)
        return int(epoch) if isinstance(epoch, (int, float)) and math.isfinite(epoch) else 0

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
    def record_interval(self) -> float | None:
        """The run's own median time between two train records (``time`` per iteration x the iterations
        between records), from the last 50 records; None before two records."""
        import numpy as np

        cols = self.store.columns(("time",))
        step, times = cols["step"][-51:].astype(float), cols["time"][-51:]
        if len(step) < 2:
            return None
        gaps = np.diff(step) * times[1:]
        gaps = gaps[np.isfinite(gaps) & (gaps > 0)]
        return float(np.median(gaps)) if len(gaps) else None

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
            return ",".join(str(g.get("index")) for g in self.run["gpus"] if isinstance(g, dict))
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
                "eta_s": self.eta_seconds, "gpus": self.gpus, "device": self.device, "bad_lines": self.store.bad, "loading": self.loading,
                "problems": list(self.problems), "notes": list(self.notes)}


class RunWatcher:
    """Keeps a RunData current by reading only appended bytes."""

    def __init__(self, path: str | Path, now: float | None = None):
        self.path = run_key(path)
        try:
            kind = detect_kind(self.path)
        except OSError:
            kind = None
        self._kind_known = kind is not None
        self.data = RunData(self.path, self.path.name, kind or "epam")
        self.tailers: dict[Path, Tailer] = {}
        self._official_state: dict = {}
        self._config_mtime: float | None = None
        self._config_note = ""  # why config.yaml was not read (kept across polls: notes are rebuilt each poll)
        self._mm_epochs: int | None = None  # train_cfg.max_epochs of an MMEngine work_dir's dumped config
        self._clock = now

    # ------------------------------------------------------------ files of each kind
    def _sources(self) -> list[tuple[Path, str]]:
        p = self.path
        if self.data.kind == "epam":
            if (p / rundir.SCALARS_JSONL).exists() or not (p / rundir.TRAIN_LOG).exists():
                return [(p / rundir.SCALARS_JSONL, "json")]
            return [(p / rundir.TRAIN_LOG, "mmengine")]
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
        several calls and ``data.loading`` says how far it got); None reads everything.

        Never raises for what is on disk: the files are validated as they are read, and anything this
        misses (a directory removed mid-read) makes this run ``unreadable`` with the reason, so the
        monitor and ``status`` go on with the other runs."""
        try:
            return self._poll(budget)
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError,
                RecursionError, MemoryError) as exc:
            d = self.data
            d.loading = None
            d.state, d.reason = "unreadable", f"could not read the run directory: {type(exc).__name__}: {str(exc)[:160]}"
            return True

    def _poll(self, budget: int | None) -> bool:
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
        self.data.notes = [t.note for t in self.tailers.values() if t.note]
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
                size = os.stat(path).st_size if self.tailers[path].note == "" else 0
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
        self._poll(budget)
        return True

    def _refresh_meta(self, sources: list[tuple[Path, str]]) -> bool:
        d, p = self.data, self.path
        before = (d.state, d.status, d.exit, d.reason)
        reads = rundir.read_status(p), rundir.read_run(p), rundir.read_exit(p)
        (d.status, _), (d.run, _), (d.exit, _) = reads
        if d.run and d.run.get("slurm") and d.exit is None:  # a Slurm job: the queue's word (cached, in this worker)
            from epam_tui.core.slurm import refresh_run

            d.run, (d.exit, _) = refresh_run(p) or d.run, rundir.read_exit(p)
        d.problems = [problem for _, problem in reads if problem]
        if d.run and d.run.get("name"):
            d.name = str(d.run["name"])
        self._load_config()
        ckpt_dir = p / rundir.CHECKPOINTS if (p / rundir.CHECKPOINTS).is_dir() else p
        d.checkpoints = sorted(f.name for f in ckpt_dir.glob("*.pth"))
        mtimes = []
        for f, _ in sources:
            try:
                mtimes.append(os.stat(f).st_mtime)
            except OSError:
                continue
        d.last_update = max(mtimes + [(d.status or {}).get("updated") or 0.0])
        d.iters_per_epoch = (d.status or {}).get("iters_per_epoch") or d.store.iters_per_epoch
        d.max_epochs = (d.status or {}).get("max_epochs") or _config_epochs(d.config) or self._mm_epochs
        d.state, d.reason = self._state()
        return before != (d.state, d.status, d.exit, d.reason)

    def _load_config(self) -> None:
        mm = None
        path = self.path / rundir.CONFIG_YAML
        if self.data.kind == "mmengine" and not path.exists():
            from epam_tui.core import mmconfig

            mm = mmconfig.find_config(self.path)
            path = mm or path
        fh, st, note = open_regular(path)  # a FIFO or a device as config.yaml is never opened by a parser
        if fh is None:
            if note:
                self.data.notes.append(note)
                self.data.config = None
            return
        fh.close()
        if st.st_mtime == self._config_mtime:
            if self._config_note:
                self.data.notes.append(self._config_note)
            return
        self._config_mtime = st.st_mtime
        self._config_note = ""
        if st.st_size > MAX_CONFIG_BYTES:
            self._config_note = f"{path.name} is over {MAX_CONFIG_BYTES >> 20} MiB: not read"
            self.data.notes.append(self._config_note)
            self.data.config = None
            return
        if mm is not None:  # the schedule of the dumped Python config, read with ast (nothing executed)
            raw = mmconfig.read_py_config(mm)
            epochs = (raw.get("train_cfg") or {}).get("max_epochs") if isinstance(raw.get("train_cfg"), dict) else None
            self._mm_epochs = epochs if isinstance(epochs, int) and 0 < epochs <= rundir.MAX_EPOCHS else None
            self.data.config = mmconfig.to_epam_config(raw)
            return
        try:
            from epam.config import load_config

            self.data.config = load_config(path)
        except Exception as first:  # noqa: BLE001 - ConfigError or a foreign YAML: keep what safe_load gives
            import yaml

            from epam.yamlsafe import load_file

            try:
                cfg = load_file(path)  # bounded: alias expansion, depth, size; regular files only
                self.data.config = cfg if isinstance(cfg, dict) else None
            except (OSError, ValueError, RecursionError, yaml.YAMLError):  # refused (alias bomb, depth): say why
                why = " ".join(str(first).split()).removeprefix(f"{path}: ")
                self._config_note = (f"{path.name} refused: {why.removeprefix('refused: ')[:200]}"
                                     if why.startswith("refused: ") else f"{path.name} not read: {why[:200]}")
                self.data.notes.append(self._config_note)
                self.data.config = None

    def _state(self) -> tuple[str, str]:
        d = self.data
        now = self._clock if self._clock is not None else time.time()
        if d.problems:  # a file that breaks the contract: say which and why, trust none of it
            return "unreadable", "; ".join(d.problems)
        status_state = (d.status or {}).get("state")
        if d.exit is not None:
            code = d.exit.get("code")
            state = rundir.exit_state(code, stopped=status_state == "stopped" or (d.run or {}).get("status") == "stopped")
            signal = f" ({d.exit.get('signal')})" if state == "failed" and d.exit.get("signal") else ""
            return state, f"exit code {code}{signal}"
        if status_state in ("finished", "failed", "stopped"):
            return status_state, str((d.status or {}).get("exit_reason") or "")
        job = (d.run or {}).get("slurm") or {}
        if job and (d.run or {}).get("status") == "queued":  # waits in the Slurm queue (reason: PENDING (Resources))
            return "queued", " ".join(str(x) for x in ("Slurm job", job.get("job_id"), job.get("state"),
                                                        f"({job['reason']})" if job.get("reason") else "") if x)
        # the trainer's own process (status.json) or the launcher's wrapper (run.json): a killed
        # wrapper does not end a run whose trainer still steps
        pids = [(src.get("pid"), src.get("create_time")) for src in (d.status or {}, d.run or {}) if src.get("pid")]
        if pids or job:  # a Slurm job's processes may be on another node: Slurm says whether it runs
            if not job and not any(is_alive(pid, created) for pid, created in pids):
                return "failed", _gone_reason(p=self.path)
            stalled = stall_reason(now, d.last_update, d.record_interval)
            if stalled:
                return "stalled", stalled
            return "running", ""
        if d.kind != "epam":
            if d.max_epochs and d.store.val and max(d.store.val) >= d.max_epochs:
                return "finished", f"last validation at epoch {max(d.store.val)} of {d.max_epochs}"
            if now - d.last_update < FOREIGN_IDLE_S:
                return "running", ""
            return "idle", (f"idle since {time.strftime('%H:%M', time.localtime(d.last_update))} (no process known "
                            f"and no write for {FOREIGN_IDLE_S / 60:.0f} min)")
        return "unknown", ""


def _config_epochs(config: dict | None) -> int | None:
    epochs = ((config or {}).get("train") or {}).get("max_epochs") if isinstance((config or {}).get("train"), dict) else None
    return epochs if isinstance(epochs, int) and not isinstance(epochs, bool) and 0 < epochs <= rundir.MAX_EPOCHS else None


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


def load_run(path: str | Path) -> RunData:
    """Parse a run directory once (headless commands, checklist, report)."""
    watcher = RunWatcher(path)
    watcher.poll()
    return watcher.data
