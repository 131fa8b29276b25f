"""Learning-rate schedules: torch's own schedulers for training, and the same curve in pure Python.

One source of truth for the LR curve. ``build_scheduler`` builds torch's classes (MultiStepLR,
CosineAnnealingLR, LinearLR, StepLR, ConstantLR, chained with SequentialLR) from the ``scheduler``
section; ``expected_lr`` computes, without importing torch, the lr those schedulers give at any
iteration, so the TUI can draw the expected curve and check "the LR follows the schedule".
A test steps torch's schedulers through every config in ``configs/`` and compares.

Config units: every count in the ``scheduler`` section (``T_max``, ``milestones``, ``total_iters``,
``step_size``, SequentialLR ``milestones``) is in **epochs**. ``by_epoch: true`` steps the scheduler
once per epoch; ``by_epoch: false`` steps it every iteration, with the counts multiplied by the
number of iterations per epoch (MMEngine's ``convert_to_iter_based``).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

_COUNT_KEYS = {
    "MultiStepLR": ("milestones",),
    "CosineAnnealingLR": ("T_max",),
    "LinearLR": ("total_iters",),
    "StepLR": ("step_size",),
    "ConstantLR": ("total_iters",),
}
_DEFAULTS = {
    "MultiStepLR": {"gamma": 0.1},
    "CosineAnnealingLR": {"eta_min": 0.0},
    "LinearLR": {"start_factor": 1.0 / 3, "end_factor": 1.0, "total_iters": 5},
    "StepLR": {"gamma": 0.1},
    "ConstantLR": {"factor": 1.0 / 3, "total_iters": 5},
}


def by_epoch(cfg: dict) -> bool:
    """Whether the config's scheduler steps once per epoch (True) or once per iteration."""
    return bool(cfg["scheduler"].get("by_epoch", True))


def _scale(value: Any, factor: int) -> Any:
    if isinstance(value, list):
        return [int(v) * factor for v in value]
    return int(value) * factor


def _kwargs(sched: dict, factor: int) -> dict:
    """Torch keyword arguments of one (non-sequential) scheduler, counts converted to steps."""
    kind = sched["type"]
    out = dict(_DEFAULTS.get(kind, {}))
    out.update({k: v for k, v in sched.items() if k not in ("type", "by_epoch")})
    for key in _COUNT_KEYS.get(kind, ()):
        out[key] = _scale(out[key], factor)
    return out


def _step_factor(cfg: dict, iters_per_epoch: int) -> int:
    if by_epoch(cfg):
        return 1
    if iters_per_epoch < 1:
        raise ValueError(f"iters_per_epoch must be >= 1, got {iters_per_epoch}")
    return int(iters_per_epoch)


# ------------------------------------------------------------------------------------------
# torch side


def build_scheduler(optimizer: Any, cfg: dict, iters_per_epoch: int) -> tuple[Any, bool]:
    """torch LR scheduler for ``optimizer`` from ``cfg['scheduler']``; returns (scheduler, by_epoch)."""
    from torch.optim import lr_scheduler as ls

    factor = _step_factor(cfg, iters_per_epoch)
    sched = cfg["scheduler"]

    def one(spec: dict) -> Any:
        return getattr(ls, spec["type"])(optimizer, **_kwargs(spec, factor))

    if sched["type"] == "SequentialLR":
        subs = [one(s) for s in sched["schedulers"]]
        milestones = [int(m) * factor for m in sched["milestones"]]
        return ls.SequentialLR(optimizer, subs, milestones=milestones), by_epoch(cfg)
    return one(sched), by_epoch(cfg)


# ------------------------------------------------------------------------------------------
# pure-Python side


def _lr_one(spec: dict, base: float, t: int, factor: int) -> float:
    """lr of one scheduler ``t`` steps after it started, from its base lr."""
    kind = spec["type"]
    kw = _kwargs(spec, factor)
    if kind == "MultiStepLR":
        return base * kw["gamma"] ** bisect.bisect_right(sorted(kw["milestones"]), t)
    if kind == "CosineAnnealingLR":
        eta, period = kw["eta_min"], kw["T_max"]
        return eta + (base - eta) * (1 + math.cos(math.pi * t / period)) / 2
    if kind == "LinearLR":
        total = kw["total_iters"]
        frac = min(t, total) / total
        return base * (kw["start_factor"] + (kw["end_factor"] - kw["start_factor"]) * frac)
    if kind == "StepLR":
        return base * kw["gamma"] ** (t // kw["step_size"])
    if kind == "ConstantLR":
        return base * (kw["factor"] if t < kw["total_iters"] else 1.0)
    raise ValueError(f"unknown scheduler type {kind!r}")


def lr_at_step(cfg: dict, step: int, iters_per_epoch: int = 1) -> float:
    """lr after ``step`` scheduler steps (epochs if by_epoch, else iterations)."""
    factor = _step_factor(cfg, iters_per_epoch)
    base = float(cfg["optimizer"]["lr"])
    sched = cfg["scheduler"]
    if sched["type"] != "SequentialLR":
        return _lr_one(sched, base, step, factor)
    milestones = [int(m) * factor for m in sched["milestones"]]
    idx = bisect.bisect_right(milestones, step)
    start = milestones[idx - 1] if idx else 0
    return _lr_one(sched["schedulers"][idx], base, step - start, factor)


def expected_lr(cfg: dict, iteration: int, iters_per_epoch: int) -> float:
    """The lr in effect during the 0-based global ``iteration`` (what the trainer logs as ``lr``)."""
    if by_epoch(cfg):
        return lr_at_step(cfg, iteration // max(1, int(iters_per_epoch)))
    return lr_at_step(cfg, iteration, iters_per_epoch)


def expected_curve(cfg: dict, iters_per_epoch: int, max_points: int = 400) -> tuple[list[int], list[float]]:
    """(1-based steps, lrs) of the whole schedule, at most ``max_points`` evenly spaced points.

    Steps follow the ``step`` key of ``scalars.jsonl`` (global iteration count after the iteration).
    Epoch boundaries are kept for epoch-stepped schedules so the staircase stays sharp, when there are
    at most ``4 * max_points`` epochs (past that a step is narrower than a point; the cost stays
    O(max_points) whatever the config says, even ``max_epochs: 10**29`` in an unvalidated run config).
    """
    epochs = int(cfg["train"]["max_epochs"])
    total = epochs * max(1, int(iters_per_epoch))
    stride = max(1, total // max(1, max_points))
    points = set(range(0, total, stride)) | {total - 1}
    if by_epoch(cfg) and epochs <= 4 * max(1, max_points):
        for e in range(epochs):
            points.update({e * iters_per_epoch, max(0, e * iters_per_epoch - 1)})
    iters = sorted(p for p in points if 0 <= p < total)
    return [i + 1 for i in iters], [expected_lr(cfg, i, iters_per_epoch) for i in iters]


def recipe_total_batch(cfg: dict) -> int:
    """The total batch the config's lr was set for: clips per GPU x the recipe's GPU count."""
    return int(cfg["data"]["batch_per_gpu"]) * int(cfg["train"]["gpus"])


def scaled_lr(cfg: dict, total_batch: int) -> float:
    """Linear scaling rule: the config's lr x ``total_batch`` / the recipe's total batch."""
    if total_batch < 1:
        raise ValueError(f"total batch must be >= 1, got {total_batch}")
    return float(cfg["optimizer"]["lr"]) * total_batch / recipe_total_batch(cfg)
