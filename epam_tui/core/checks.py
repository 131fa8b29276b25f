"""The training checklist: pure rules over a run's series, and ``evaluate(run_dir)``.

Each item has an automatic verdict (pass / fail / pending / unknown) with its evidence and, where it
points at a place, the step or epoch. Manual ticks and notes (``checklist_store``) override
"unknown"/"pending" and are shown next to the automatic verdict. The before-training items live in
``checks_before``; every item reads the run's config from one source (``runfacts.run_config``: the
run's own resolved ``config.yaml``, or an MMEngine dump).

Definitions used:
- loss jump: a step-to-step change larger than ``k`` (6) robust deviations (1.4826 x MAD, floored by the
  scaled mean absolute deviation when the MAD is 0) of the changes in the preceding window (50 records); the trend is the least-squares slope of log(loss) against step;
- LR follows the schedule: every logged lr within 1% of ``epam.schedule.expected_lr`` at its step;
- val accuracy improving (with noise tolerance): a drop counts when val top-1 falls more than T points
  below the best so far, T = 3 x the epoch noise (robust std of each epoch's deviation from the mean of
  its neighbours), clipped to [1, 5] points. FAIL when the last W epochs (W = max(3, 10% of the epochs)) all lie more than T below
  the peak of the 3-epoch mean (peaked and falling), or when after more than W epochs the best is not T
  above the first epoch (no improvement); isolated drops beyond T that recover are listed, not failed;
- train accuracy of an epoch: our ``train/top1`` epoch record, else the mean of the epoch's logged
  ``top1_acc`` windows (MMEngine/MMAction2, official EPAM logs);
- train-val gap: the last epoch with both accuracies, train minus val, in points (< 3 passes);
- convergence epoch: the first epoch whose val top-1 is within 0.5 point of the best;
- best checkpoint: a checkpoint file exists for the epoch with the highest val top-1.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from epam_tui.core.check_result import FAIL, PASS, PENDING, UNKNOWN, CheckResult
from epam_tui.core.checks_before import (check_config, check_data, check_gpus, check_verify, check_workdir, rgb_present,
                                         sample_entries)
from epam_tui.core.registry import RunData, load_run
from epam_tui.core.rundir import CHECKPOINTS, EVENTS_JSONL, GPU_UTIL_JSONL
from epam_tui.core.tail import read_lines
from epam_tui.core.runfacts import EpochAccuracy, convergence_epoch, epoch_accuracy, run_config

__all__ = ["PASS", "FAIL", "PENDING", "UNKNOWN", "CheckResult", "check_config", "check_data", "check_gpus",
           "check_verify", "check_workdir", "rgb_present", "sample_entries", "evaluate"]

CKPT_EPOCH = re.compile(r"(?:^|_)epoch_(\d+)\.pth$")

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


VAL_TOL_POINTS = (1.0, 5.0)  # the drop tolerance's floor and ceiling, in points
VAL_SMOOTH = 3  # epochs in the mean whose peak a falling run is measured against


def val_tolerance(acc: np.ndarray) -> float:
    """T in points: 3 x the epoch noise of val top-1, clipped to [1, 5]. The noise is the robust std
    (1.4826 x MAD / sqrt(1.5)) of each epoch's deviation from the mean of its two neighbours, which a
    steady rise or fall does not inflate (unlike the spread of the epoch-to-epoch changes)."""
    y = 100 * np.asarray(acc, dtype=float)
    y = y[np.isfinite(y)]
    if len(y) < 5:
        return VAL_TOL_POINTS[0]
    r = y[1:-1] - (y[:-2] + y[2:]) / 2
    noise = 1.4826 * float(np.median(np.abs(r - np.median(r)))) / math.sqrt(1.5)
    return float(np.clip(3 * noise, *VAL_TOL_POINTS))


def check_val_improving(epochs: np.ndarray, acc: np.ndarray) -> CheckResult:
    """Val top-1 keeps rising, judged with noise tolerance (the rule is in the module docstring and
    in the evidence)."""
    title = "val accuracy improving (noise-tolerant)"
    epochs, pts = np.asarray(epochs), 100 * np.asarray(acc, dtype=float)
    n = len(pts)
    if n < 2:
        return CheckResult("val_improving", "during", title, PENDING, f"{n} validation(s) so far")
    tol = val_tolerance(acc)
    window = max(3, math.ceil(0.1 * n))
    rule = (f"rule: a drop counts when val top-1 is more than {tol:.1f} pt below the best so far (3x the "
            f"epoch noise, 1-5 pt); fails when the last {window} epochs all are below the peak of the "
            f"{VAL_SMOOTH}-epoch mean, or the best never rose {tol:.1f} pt above the first epoch")
    best_so_far = np.fmax.accumulate(pts)
    best_i = int(np.nanargmax(pts))
    advanced = [i for i in range(1, n) if best_so_far[i] > best_so_far[i - 1]]
    last_adv = int(epochs[advanced[-1]]) if advanced else int(epochs[0])
    dips = int(np.sum(pts[1:] < pts[:-1]))
    drops = [i for i in range(1, n) if pts[i] < best_so_far[i - 1] - tol]
    smooth = np.array([np.nanmean(pts[max(0, i - VAL_SMOOTH + 1):i + 1]) for i in range(n)])
    peak_i = int(np.nanargmax(smooth))
    peak = float(smooth[peak_i])
    values = {"tolerance_points": round(tol, 3), "window": window, "best": float(pts[best_i]) / 100,
              "best_epoch": int(epochs[best_i]), "last_advance_epoch": last_adv, "dips": dips,
              "drops_beyond_tolerance": len(drops)}
    tail = pts[-window:]
    if n > window and peak_i < n - window and np.all(tail < peak - tol):
        first = int(epochs[n - window])
        return CheckResult("val_improving", "during", title, FAIL,
                           f"peaked at {peak:.1f}% ({VAL_SMOOTH}-epoch mean to epoch {int(epochs[peak_i])}) and "
                           f"fell: the last {window} epochs ({', '.join(f'{v:.1f}' for v in tail)}) are all more than "
                           f"{tol:.1f} pt below; {rule}", {"epoch": first}, values=values)
    if n > window and pts[0] < 99.0 and best_so_far[-1] < pts[0] + tol:
        return CheckResult("val_improving", "during", title, FAIL,
                           f"no improvement: best {best_so_far[-1]:.1f}% vs {pts[0]:.1f}% at epoch {int(epochs[0])} "
                           f"after {n} epochs; {rule}", {"epoch": int(epochs[-1])}, values=values)
    flagged = ""
    if drops:
        text = "; ".join(f"epoch {int(epochs[i])}: {best_so_far[i - 1]:.1f} -> {pts[i]:.1f}" for i in drops[:3])
        flagged = f"; {len(drops)} drop(s) beyond the tolerance, recovered or too short to count: {text}"
    return CheckResult("val_improving", "during", title, PASS,
                       f"best {pts[best_i]:.1f}% at epoch {int(epochs[best_i])}, best so far last advanced at epoch "
                       f"{last_adv}; {dips} dip(s) of {n - 1} epoch-to-epoch changes, {len(drops)} beyond "
                       f"{tol:.1f} pt{flagged}; {rule}", {"epoch": int(epochs[drops[0]])} if drops else None,
                       values=values)


def check_target(acc: np.ndarray, target: float, finished: bool, epochs: np.ndarray | None = None) -> CheckResult:
    """Best val top-1 against the target; the evidence names the best epoch and the convergence epoch."""
    title = f"val top-1 reached the target ({100 * target:.0f}%)"
    if len(acc) == 0:
        return CheckResult("target", "after", title, PENDING, "no validation yet")
    epochs = np.arange(1, len(acc) + 1) if epochs is None else np.asarray(epochs)
    best_i = int(np.nanargmax(acc))
    best = float(acc[best_i])
    conv = convergence_epoch(epochs, acc)
    values = {"best_val": best, "best_epoch": int(epochs[best_i]), "final_val": float(acc[-1]),
              "convergence_epoch": conv}
    text = (f"best val top-1 {100 * best:.1f}% at epoch {int(epochs[best_i])}; convergence epoch {conv} "
            f"(first within 0.5 pt of the best)")
    if best >= target:
        return CheckResult("target", "after", title, PASS, text, values=values)
    if finished:
        return CheckResult("target", "after", title, FAIL, text + " (run ended)", values=values)
    return CheckResult("target", "after", title, PENDING, text + " so far", values=values)


def check_gap(train_acc: float | None, val_acc: float | None, limit_points: float = 3.0,
              epoch: int | None = None, source: str = "") -> CheckResult:
    """Train minus val top-1 in points at one epoch (the last with both); ``source`` says where the
    train accuracy came from."""
    title = f"train-val gap below {limit_points:g} points"
    if train_acc is None or val_acc is None:
        return CheckResult("gap", "after", title, PENDING,
                           "needs an epoch with both train and val accuracy (train: a train/top1 epoch record or "
                           "logged top1_acc)")
    gap = 100 * (train_acc - val_acc)
    verdict = PASS if gap < limit_points else FAIL
    at = f"epoch {epoch}: " if epoch is not None else ""
    how = f" ({source})" if source else ""
    return CheckResult("gap", "after", title, verdict,
                       f"{at}train {100 * train_acc:.1f}%{how} vs val {100 * val_acc:.1f}%: gap {gap:+.1f} points",
                       {"epoch": epoch} if epoch is not None else None,
                       values={"epoch": epoch, "train_acc": train_acc, "val_acc": val_acc, "gap_points": round(gap, 3)})


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
    for name in (GPU_UTIL_JSONL, EVENTS_JSONL):
        try:
            lines = read_lines(run_dir / name).lines  # regular files only, streamed (core/tail.py)
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


# ------------------------------------------------------------------------------ a whole run


def _log_lines(run_dir: Path) -> list[str]:
    from epam_tui.core.registry import main_log

    try:  # ours: train.log; an MMEngine work_dir: its newest <ts>/<ts>.log
        return read_lines(main_log(run_dir)).lines  # a FIFO or /dev/zero is skipped, not read
    except OSError:
        return []


def _data_base(run: RunData) -> Path | None:
    """Where relative data paths resolve: the launch's working directory when recorded, else the cwd."""
    cwd = ((run.run or {}).get("launch") or {}).get("cwd") or (run.run or {}).get("cwd")
    return Path(cwd) if cwd else None


def gap_item(acc: EpochAccuracy) -> CheckResult:
    """``check_gap`` at the last epoch with both a train and a val accuracy."""
    common = acc.last_common()
    if common is None:
        return check_gap(None, None)
    epoch, train, val, windows = common
    source = f"mean of {windows} logged top1_acc windows" if windows else ""
    return check_gap(train, val, epoch=epoch, source=source)


def evaluate(run_dir: str | Path, target: float = 0.90, load_checkpoint: bool = True) -> list[CheckResult]:
    """Every checklist item for a run directory, with manual ticks merged. ``load_checkpoint``: load
    the best checkpoint in a subprocess (torch, weights_only) to prove it loads (cached per file)."""
    from epam_tui.core.checklist_store import load_store

    run_dir = Path(run_dir)
    run = load_run(run_dir)
    store = load_store(run_dir)
    source = run_config(run)  # one source: the run's resolved config.yaml (or its MMEngine dump)
    cfg = source.config
    train = run.store.columns(("lr", "loss"))
    acc_by_epoch = epoch_accuracy(run)
    val_epochs, acc = acc_by_epoch.val_epochs, acc_by_epoch.val
    finished = run.state in ("finished", "failed", "stopped")
    rerun = load_run(store["rerun"]) if store.get("rerun") and Path(store["rerun"]).exists() else None
    results = [
        check_config(run, source), check_gpus(run, cfg), check_data(cfg, _data_base(run), origin=source.origin),
        check_workdir(run_dir), check_verify(store.get("verify")),
        check_loss_smooth(train["step"], train["loss"]),
        check_lr_schedule(cfg, train["step"], train["lr"], run.iters_per_epoch),
        check_gpu_util(util_samples(run_dir)),
        check_val_improving(val_epochs, acc),
        check_target(acc, target, finished, val_epochs),
        gap_item(acc_by_epoch),
        check_best_checkpoint(val_epochs, acc, run.checkpoints, _log_lines(run_dir),
                              run_dir / CHECKPOINTS if (run_dir / CHECKPOINTS).is_dir() else run_dir,
                              cached_load_check if load_checkpoint and finished else None),
        check_reproducible(run, rerun),
    ]
    for item in results:
        item.manual = (store.get("items") or {}).get(item.id)
    return results
