"""The training checklist: pure rules over a run's series, and ``evaluate(run_dir)``.

Each item has an automatic verdict (pass / fail / pending / unknown) with its evidence and, where it
points at a place, the step or epoch. Manual ticks and notes (``checklist_store``) override
"unknown"/"pending" and are shown next to the automatic verdict.

Definitions used:
- loss jump: a step-to-step change larger than ``k`` (6) robust deviations (1.4826 x MAD, floored by the
  scaled mean absolute deviation when the MAD is 0) of the changes in the preceding window (50 records); the trend is the least-squares slope of log(loss) against step;
- LR follows the schedule: every logged lr within 1% of ``epam.schedule.expected_lr`` at its step;
- val accuracy improving: every epoch-to-epoch drop of val top-1 is listed;
- train-val gap: last epoch's mean train top-1 minus its val top-1, in points (< 3 passes);
- best checkpoint: a checkpoint file exists for the epoch with the highest val top-1.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from epam_tui.core.registry import RunData, load_run

PASS, FAIL, PENDING, UNKNOWN = "pass", "fail", "pending", "unknown"
CKPT_EPOCH = re.compile(r"(?:^|_)epoch_(\d+)\.pth$")


@dataclass
class CheckResult:
    id: str
    phase: str  # before | during | after
    title: str
    verdict: str
    evidence: str
    where: dict | None = None
    manual: dict | None = field(default=None)

    @property
    def effective(self) -> str:
        """The verdict a reader acts on: a manual tick settles unknown/pending."""
        if self.manual and self.manual.get("tick") and self.verdict in (UNKNOWN, PENDING):
            return PASS
        return self.verdict

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "effective": self.effective}


# ------------------------------------------------------------------------------ pure rules


def loss_jumps(losses: np.ndarray, k: float = 6.0, window: int = 50) -> list[int]:
    """Indices i where |loss[i] - loss[i-1]| exceeds k robust deviations of the previous window's changes."""
    y = np.asarray(losses, dtype=float)
    d = np.diff(y)
    out = []
    for i in range(len(d)):
        if not math.isfinite(d[i]):
            out.append(i + 1)
            continue
        prev = d[max(0, i - window):i]
        prev = prev[np.isfinite(prev)]
        if len(prev) < 5:
            continue
        med = np.median(prev)
        dev = np.abs(prev - med)
        # 1.4826 MAD; when half the changes are identical the MAD is 0, then the mean absolute deviation
        # (x 1.2533, also consistent for normal noise) keeps ordinary changes from counting as jumps
        scale = max(1.4826 * float(np.median(dev)), 1.2533 * float(np.mean(dev)), 1e-12)
        if abs(d[i] - med) > k * scale and abs(d[i]) > 1e-6 * max(1.0, abs(y[i])):
            out.append(i + 1)
    return out


def loss_trend(steps: np.ndarray, losses: np.ndarray) -> float | None:
    """Least-squares slope of log(loss) per 1,000 steps (negative: decreasing)."""
    x, y = np.asarray(steps, dtype=float), np.asarray(losses, dtype=float)
    keep = np.isfinite(y) & (y > 0)
    if keep.sum() < 3:
        return None
    return float(np.polyfit(x[keep], np.log(y[keep]), 1)[0] * 1000)


def check_loss_smooth(steps: np.ndarray, losses: np.ndarray) -> CheckResult:
    title = "loss decreasing smoothly (no jumps, negative trend)"
    if len(losses) < 8:
        return CheckResult("loss_smooth", "during", title, PENDING, f"only {len(losses)} logged steps so far")
    jumps = loss_jumps(losses)
    slope = loss_trend(steps, losses)
    where = {"step": int(steps[jumps[0]])} if jumps else None
    trend = "n/a" if slope is None else f"{slope:+.3f} log-loss per 1k steps"
    if jumps:
        at = ", ".join(str(int(steps[j])) for j in jumps[:5])
        return CheckResult("loss_smooth", "during", title, FAIL, f"{len(jumps)} jump(s) at step {at}; trend {trend}", where)
    if slope is None or slope >= 0:
        return CheckResult("loss_smooth", "during", title, FAIL, f"no downward trend ({trend})")
    return CheckResult("loss_smooth", "during", title, PASS, f"no jumps in {len(losses)} steps; trend {trend}")


def check_lr_schedule(cfg: dict | None, steps: np.ndarray, lrs: np.ndarray, iters_per_epoch: int | None,
                      tolerance: float = 0.01) -> CheckResult:
    title = "LR follows the configured schedule (within 1%)"
    if not cfg or not iters_per_epoch or "scheduler" not in cfg:
        return CheckResult("lr_schedule", "during", title, UNKNOWN, "schedule unknown (no readable config.yaml)")
    if len(lrs) == 0:
        return CheckResult("lr_schedule", "during", title, PENDING, "no lr logged yet")
    from epam.schedule import expected_lr

    worst, worst_step = 0.0, None
    for step, lr in zip(steps, lrs):
        if not math.isfinite(lr):
            continue
        exp = expected_lr(cfg, int(step) - 1, int(iters_per_epoch))
        rel = abs(lr - exp) / max(abs(exp), 1e-12)
        if rel > worst:
            worst, worst_step = rel, int(step)
    kind = cfg["scheduler"].get("type", "?")
    shape = f"{kind}" + (f" from {cfg['optimizer']['lr']:g} to {cfg['scheduler'].get('eta_min', 0):g}"
                         if kind == "CosineAnnealingLR" else "")
    evidence = f"{len(lrs)} logged values vs expected {shape}; worst deviation {100 * worst:.3f}%"
    if worst > tolerance:
        return CheckResult("lr_schedule", "during", title, FAIL, evidence + f" at step {worst_step}", {"step": worst_step})
    return CheckResult("lr_schedule", "during", title, PASS, evidence)


def check_val_improving(epochs: np.ndarray, acc: np.ndarray) -> CheckResult:
    title = "val accuracy improving each epoch"
    if len(acc) < 2:
        return CheckResult("val_improving", "during", title, PENDING, f"{len(acc)} validation(s) so far")
    drops = [(int(epochs[i]), acc[i - 1], acc[i]) for i in range(1, len(acc)) if acc[i] < acc[i - 1]]
    if drops:
        text = "; ".join(f"epoch {e}: {100 * a:.1f} -> {100 * b:.1f}" for e, a, b in drops[:5])
        return CheckResult("val_improving", "during", title, FAIL, f"{len(drops)} drop(s): {text}", {"epoch": drops[0][0]})
    return CheckResult("val_improving", "during", title, PASS, f"non-decreasing over {len(acc)} epochs")


def check_target(acc: np.ndarray, target: float, finished: bool) -> CheckResult:
    title = f"val top-1 reached the target ({100 * target:.0f}%)"
    if len(acc) == 0:
        return CheckResult("target", "after", title, PENDING, "no validation yet")
    best = float(np.nanmax(acc))
    if best >= target:
        return CheckResult("target", "after", title, PASS, f"best val top-1 {100 * best:.1f}%")
    if finished:
        return CheckResult("target", "after", title, FAIL, f"best val top-1 {100 * best:.1f}% (run ended)")
    return CheckResult("target", "after", title, PENDING, f"best val top-1 {100 * best:.1f}% so far")


def check_gap(train_acc: float | None, val_acc: float | None, limit_points: float = 3.0) -> CheckResult:
    title = f"train-val gap below {limit_points:g} points"
    if train_acc is None or val_acc is None:
        return CheckResult("gap", "after", title, PENDING, "needs an epoch with both train and val accuracy")
    gap = 100 * (train_acc - val_acc)
    verdict = PASS if gap < limit_points else FAIL
    return CheckResult("gap", "after", title, verdict, f"train {100 * train_acc:.1f}% vs val {100 * val_acc:.1f}%: gap {gap:+.1f} points")


LOG_SAVED = re.compile(r"Saving checkpoint at (\d+) epochs")
LOG_BEST = re.compile(r"The best checkpoint with ([0-9.]+) \S+ at (\d+) epoch is saved to (\S+?)\.?$")


def parse_checkpoint_log(lines: list[str]) -> tuple[set[int], int | None]:
    """From train.log lines: the epochs whose checkpoint was saved, and the epoch of the last best save."""
    saved: set[int] = set()
    best = None
    for line in lines:
        if m := LOG_SAVED.search(line):
            saved.add(int(m.group(1)))
        elif m := LOG_BEST.search(line.rstrip()):
            best = int(m.group(2))
    return saved, best


def check_best_checkpoint(val_epochs: np.ndarray, acc: np.ndarray, checkpoints: list[str],
                          log_lines: list[str] | None = None, ckpt_dir: Path | None = None,
                          loader=None) -> CheckResult:
    """The epoch of the best val top-1 (judged from the data, not a file name) has a checkpoint file;
    when train.log names the best save, it must be that epoch too; with ``loader`` (e.g.
    ``cached_load_check``) and ``ckpt_dir``, that file must also load."""
    title = "best checkpoint saved (for the epoch of the best val top-1)"
    if len(acc) == 0:
        return CheckResult("best_ckpt", "after", title, PENDING, "no validation yet")
    best_epoch = int(val_epochs[int(np.nanargmax(acc))])
    saved = {int(m.group(1)) for name in checkpoints if (m := CKPT_EPOCH.search(name))}
    logged, log_best = parse_checkpoint_log(log_lines or [])
    where = {"epoch": best_epoch}
    if log_best is not None and log_best != best_epoch:
        return CheckResult("best_ckpt", "after", title, FAIL,
                           f"train.log saved the best at epoch {log_best}, but val top-1 peaks at epoch {best_epoch}", where)
    if best_epoch in saved:
        names = [n for n in checkpoints if (m := CKPT_EPOCH.search(n)) and int(m.group(1)) == best_epoch]
        seen = " (train.log agrees)" if log_best == best_epoch or best_epoch in logged else ""
        loaded = ""
        if loader is not None and ckpt_dir is not None:
            name = sorted(names, key=lambda n: not n.startswith("best"))[0]  # the best_* file first
            ok, message = loader(Path(ckpt_dir) / name)
            if not ok:
                return CheckResult("best_ckpt", "after", title, FAIL, f"epoch {best_epoch}: {message}", where)
            loaded = "; loads with weights_only=True"
        return CheckResult("best_ckpt", "after", title, PASS,
                           f"epoch {best_epoch}: {', '.join(names)}{seen}{loaded}", where)
    return CheckResult("best_ckpt", "after", title, FAIL,
                       f"best val top-1 at epoch {best_epoch}, but checkpoints exist only for epochs "
                       f"{sorted(saved) or 'none'}", where)


def load_check(path: str | Path, timeout: float = 300.0) -> tuple[bool, str]:
    """Whether a checkpoint loads with ``torch.load(weights_only=True)``, in a subprocess (never torch here)."""
    import subprocess
    import sys

    code = "import sys, torch; torch.load(sys.argv[1], map_location='cpu', weights_only=True); print('ok')"
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, f"{Path(path).name}: load timed out after {timeout:.0f} s"
    if proc.returncode == 0:
        return True, f"{Path(path).name} loads (weights_only=True)"
    return False, f"{Path(path).name}: " + ((proc.stderr.strip().splitlines() or ["load failed"])[-1])


_LOADED: dict[tuple[str, int, int], tuple[bool, str]] = {}


def cached_load_check(path: str | Path) -> tuple[bool, str]:
    """``load_check`` once per file version (path, size, mtime): the checklist re-evaluates often."""
    try:
        st = os.stat(path)
    except OSError:
        return False, f"{Path(path).name}: not found"
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _LOADED:
        _LOADED[key] = load_check(path)
    return _LOADED[key]


NVML_CAVEAT = "NVML utilisation = share of time a kernel was running, not SM occupancy"


def check_gpu_util(samples: list[float], window: int = 60, threshold: float = 80.0) -> CheckResult:
    """Mean of the last ``window`` utilisation samples (percent) above ``threshold``."""
    title = f"GPU utilisation above {threshold:.0f}% on the run's GPUs"
    vals = np.asarray([v for v in samples if v is not None], dtype=float)
    vals = vals[np.isfinite(vals)]
    if len(vals) == 0:
        return CheckResult("gpu_util", "during", title, UNKNOWN,
                           f"no utilisation samples recorded for this run - watch the GPU panel ({NVML_CAVEAT})")
    recent = vals[-window:]
    mean = float(recent.mean())
    verdict = PASS if mean > threshold else FAIL
    return CheckResult("gpu_util", "during", title, verdict,
                       f"mean {mean:.0f}% over the last {len(recent)} samples (min {recent.min():.0f}%); {NVML_CAVEAT}")


def util_samples(run_dir: Path) -> list[float]:
    """GPU utilisation samples (percent) of a run from ``gpu_util.jsonl`` or ``events.jsonl`` records
    carrying ``util`` (a number, or a list with one value per GPU, averaged)."""
    import json

    out: list[float] = []
    for name in ("gpu_util.jsonl", "events.jsonl"):
        try:
            lines = (run_dir / name).read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            util = rec.get("util") if isinstance(rec, dict) else None
            if isinstance(util, (int, float)):
                out.append(float(util))
            elif isinstance(util, list) and util and all(isinstance(u, (int, float)) for u in util):
                out.append(float(np.mean(util)))
        if out:
            break
    return out


def run_verify(config: str | Path, timeout: float = 900.0) -> dict[str, Any]:
    """Run ``epam verify CONFIG --json`` in a subprocess (torch stays out of this process) and return
    ``{ok, message, failed_check, time, config}`` for ``checklist.yaml``."""
    import subprocess
    import sys
    import time

    argv = [sys.executable, "-m", "epam.cli", "verify", str(config), "--json", "--no-macs"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"ok": False, "message": f"epam verify timed out after {timeout:.0f} s", "time": time.time(),
                "config": str(config)}
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        entry = {"ok": bool(result["ok"]), "message": str(result.get("message", "")),
                 "failed_check": result.get("failed_check")}
    except (ValueError, IndexError, KeyError, TypeError):
        entry = {"ok": False, "message": (proc.stderr.strip().splitlines() or ["epam verify failed"])[-1]}
    return {**entry, "time": time.time(), "config": str(config)}


def check_reproducible(run: RunData, rerun: RunData | None, tol_points: float = 1.0) -> CheckResult:
    """Same config and seed: final val top-1 within ``tol_points`` and the mean loss of the last epoch within 5%.

    Why these tolerances: CPU runs with a fixed seed are bit-identical (tested), but cuDNN kernels with
    ``deterministic: false`` and different GPU counts change the order of floating-point sums, which moves
    accuracy by a few tenths of a point on NTU60-size validation sets.
    """
    title = "reproducible (a rerun with the same config and seed matches)"
    if rerun is None:
        return CheckResult("reproducible", "after", title, PENDING, "no rerun recorded (launch one from the checklist)")
    a, b = run.store.epoch_columns("val"), rerun.store.epoch_columns("val")
    if "acc/top1" not in a or "acc/top1" not in b or not len(b["acc/top1"]):
        return CheckResult("reproducible", "after", title, PENDING, f"rerun {rerun.name} has no validation yet")
    fa, fb = float(a["acc/top1"][-1]), float(b["acc/top1"][-1])
    la, lb = run.store.epoch_columns("train_epoch"), rerun.store.epoch_columns("train_epoch")
    loss_a = float(la["train/loss"][-1]) if "train/loss" in la else math.nan
    loss_b = float(lb["train/loss"][-1]) if "train/loss" in lb else math.nan
    loss_ok = not (math.isfinite(loss_a) and math.isfinite(loss_b)) or abs(loss_a - loss_b) <= 0.05 * abs(loss_a)
    ok = abs(fa - fb) * 100 <= tol_points and loss_ok
    return CheckResult("reproducible", "after", title, PASS if ok else FAIL,
                       f"final val top-1 {100 * fa:.2f}% vs rerun {100 * fb:.2f}%; last-epoch loss {loss_a:.4f} vs {loss_b:.4f}")


# ------------------------------------------------------------------------------ before training


def check_config(cfg_path: Path) -> tuple[CheckResult, dict | None]:
    title = "config exists and validates"
    from epam.config import ConfigError, load_config

    if not cfg_path.exists():
        return CheckResult("config", "before", title, FAIL, f"{cfg_path} not found"), None
    try:
        cfg = load_config(cfg_path)
    except ConfigError as exc:
        return CheckResult("config", "before", title, FAIL, "; ".join(exc.problems[:3])), None
    return CheckResult("config", "before", title, PASS, f"{cfg_path} is valid"), cfg


def sample_entries(ann_file: Path, n: int = 5) -> tuple[list[str] | None, str]:
    """The first ``n`` ``frame_dir`` names of the annotation pickle, parsed with the restricted
    unpickler of ``epam.data.safe_pickle`` (torch-free); (None, why) when it cannot be read."""
    try:
        from epam.data.safe_pickle import safe_load
    except ImportError as exc:
        return None, f"annotation not parsed ({exc}); existence checked only"
    try:
        data = safe_load(ann_file)
    except Exception as exc:  # noqa: BLE001 - DataError or a foreign file: one line
        return None, f"annotation unreadable: {str(exc).splitlines()[0]}"
    entries = data.get("annotations") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        return None, "annotation has no list of entries"
    return [str(e.get("frame_dir")) for e in entries[:n] if isinstance(e, dict)], f"{len(entries)} entries"


def rgb_present(video_root: Path, frame_dir: str, rgb_source: str = "video") -> bool:
    """Whether the video file (or frame folder) of ``frame_dir`` exists, with the trainer's naming."""
    from epam.data.video import FRAME_PATTERN, rgb_candidates

    return any(p.is_file() or (p.is_dir() and (p / FRAME_PATTERN.format(1)).is_file())
               for p in rgb_candidates(video_root, frame_dir, rgb_source))


def check_data(cfg: dict | None, base: Path | None = None, sample: int = 5) -> CheckResult:
    """ann_file and video_root exist, and the RGB of the first ``sample`` entries is present."""
    title = "data paths exist (and a sample of entries is readable)"
    if not cfg:
        return CheckResult("data", "before", title, UNKNOWN, "no valid config")
    d = cfg["data"]
    ann, root = (Path(os.path.expanduser(d[k])) for k in ("ann_file", "video_root"))
    if base is not None:
        ann, root = base / ann, base / root
    missing = [str(p) for p in (ann, root) if not p.exists()]
    if missing:
        return CheckResult("data", "before", title, FAIL, f"missing: {', '.join(missing)}")
    names, info = sample_entries(ann, sample)
    if names is None:
        return CheckResult("data", "before", title, UNKNOWN, f"{ann} and {root} exist; {info}")
    try:
        absent = [n for n in names if not rgb_present(root, n, d.get("rgb_source", "video"))]
    except ImportError as exc:
        return CheckResult("data", "before", title, UNKNOWN, f"{ann} ({info}) and {root} exist; RGB not checked ({exc})")
    if absent:
        return CheckResult("data", "before", title, FAIL,
                           f"{len(absent)} of the first {len(names)} entries have no RGB in {root}: {', '.join(absent[:3])}")
    return CheckResult("data", "before", title, PASS, f"{ann} ({info}); RGB of the first {len(names)} present in {root}")


def check_workdir(run_dir: Path) -> CheckResult:
    title = "work dir writable"
    ok = os.access(run_dir if run_dir.exists() else run_dir.parent, os.W_OK)
    free = shutil.disk_usage(run_dir if run_dir.exists() else run_dir.parent).free / 2**30
    return CheckResult("workdir", "before", title, PASS if ok else FAIL, f"{run_dir} ({free:.1f} GiB free)")


def check_gpus(run: RunData, cfg: dict | None = None, backend: Any = None) -> CheckResult:
    """The run's recorded GPUs (run.json) are present now; without a launch record, enough GPUs are
    visible for the config's ``train.gpus``. NVML through ``epam_tui.core.gpus``; 'unknown' without it."""
    title = "GPUs available (the selected ones exist)"
    gpus = (run.run or {}).get("gpus") or []
    if not gpus and (run.run or {}).get("nproc"):
        return CheckResult("gpus", "before", title, PASS, f"CPU run ({run.run['nproc']} process(es))")
    try:
        from epam_tui.core.gpus import GpuSampler
    except ImportError as exc:
        return CheckResult("gpus", "before", title, UNKNOWN, f"cannot check: {exc}")
    snap = GpuSampler(backend).sample()
    if snap.error:
        return CheckResult("gpus", "before", title, UNKNOWN, f"cannot check now: {snap.error}")
    if not gpus:
        want = int(((cfg or {}).get("train") or {}).get("gpus") or 1)
        have = len(snap.devices)
        free = ", ".join(f"{g.index}: {(g.memory_total - g.memory_used) / 2**30:.0f} GiB free" for g in snap.devices)
        return CheckResult("gpus", "before", title, PASS if have >= want else FAIL,
                           f"no launch record; {have} GPU(s) visible ({free or 'none'}), the config asks for {want}")
    present = {g.uuid: g for g in snap.devices}
    gone = [g for g in gpus if g.get("uuid") not in present]
    if gone:
        return CheckResult("gpus", "before", title, FAIL, f"not present now: {', '.join(str(g.get('index')) for g in gone)}")
    return CheckResult("gpus", "before", title, PASS, f"GPUs {', '.join(str(g.get('index')) for g in gpus)} present")


def check_verify(record: dict | None) -> CheckResult:
    title = "interface check `epam verify` passed"
    if not record:
        return CheckResult("verify", "before", title, UNKNOWN,
                           "not run yet (press v in the checklist, or `epam-tui checklist RUN --verify`)")
    return CheckResult("verify", "before", title, PASS if record.get("ok") else FAIL, str(record.get("message", "")))


# ------------------------------------------------------------------------------ a whole run


def _log_lines(run_dir: Path) -> list[str]:
    try:
        return (run_dir / "train.log").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []


def _data_base(run: RunData) -> Path | None:
    """Where relative data paths resolve: the launch's working directory when recorded, else the cwd."""
    cwd = ((run.run or {}).get("launch") or {}).get("cwd") or (run.run or {}).get("cwd")
    return Path(cwd) if cwd else None


def evaluate(run_dir: str | Path, target: float = 0.90, load_checkpoint: bool = True) -> list[CheckResult]:
    """Every checklist item for a run directory, with manual ticks merged. ``load_checkpoint``: load
    the best checkpoint in a subprocess (torch, weights_only) to prove it loads (cached per file)."""
    from epam_tui.core.checklist_store import load_store

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    store = load_store(run_dir)
    cfg_path = Path((run.run or {}).get("config") or run_dir / "config.yaml")
    config_check, cfg = check_config(cfg_path if cfg_path.exists() else run_dir / "config.yaml")
    cfg = cfg or run.config
    train = run.store.columns(("lr", "loss"))
    val = run.store.epoch_columns("val")
    tep = run.store.epoch_columns("train_epoch")
    acc = val.get("acc/top1", np.array([]))
    finished = run.state in ("finished", "failed", "stopped")
    last_train = float(tep["train/top1"][-1]) if "train/top1" in tep and len(tep["train/top1"]) else None
    last_val = float(acc[-1]) if len(acc) else None
    rerun = load_run(store["rerun"]) if store.get("rerun") and Path(store["rerun"]).exists() else None
    results = [
        config_check, check_gpus(run, cfg), check_data(cfg, _data_base(run)), check_workdir(run_dir), check_verify(store.get("verify")),
        check_loss_smooth(train["step"], train["loss"]),
        check_lr_schedule(cfg, train["step"], train["lr"], run.iters_per_epoch),
        check_gpu_util(util_samples(run_dir)),
        check_val_improving(val.get("epoch", np.array([])), acc),
        check_target(acc, target, finished),
        check_gap(last_train, last_val),
        check_best_checkpoint(val.get("epoch", np.array([])), acc, run.checkpoints, _log_lines(run_dir),
                              run_dir / "checkpoints" if (run_dir / "checkpoints").is_dir() else run_dir,
                              cached_load_check if load_checkpoint and finished else None),
        check_reproducible(run, rerun),
    ]
    for item in results:
        item.manual = (store.get("items") or {}).get(item.id)
    return results
