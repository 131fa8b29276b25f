"""Facts of one run that every verdict reads (checklist, diagnosis, comparison, report), from one source.

- ``run_config``: the config the run ran with - its own resolved ``config.yaml`` (``--set`` overrides
  and the launcher's lr scaling included), for an MMEngine work_dir the schedule of its dumped config
  (``core/mmconfig``); before the trainer has written ``config.yaml``, the launch record's config with
  the launch's overrides (what the trainer is given). The source config named in ``run.json`` alone
  is never used: it lacks the overrides.
- ``epoch_accuracy``: per-epoch train top-1 (our ``train/top1`` epoch records; else, for MMEngine /
  MMAction2 and official-EPAM logs, the mean of the epoch's logged ``top1_acc`` windows) and val top-1.
- ``convergence_epoch``: the first epoch whose val top-1 is within 0.5 point of the run's best.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from epam_tui.core.registry import RunData
from epam_tui.core.rundir import CONFIG_YAML

CONVERGED_WITHIN = 0.005  # val top-1 within 0.5 point of the best


@dataclass
class RunConfig:
    config: dict | None
    origin: str  # what was read, for evidence texts
    problems: list[str]  # validation problems (empty when valid or not validated)
    path: Path | None = None


def run_config(run: RunData) -> RunConfig:
    """The run's config from its one source (see the module docstring)."""
    path = run.path / CONFIG_YAML
    if not path.is_file() and (path.exists() or path.is_symlink()):  # a FIFO, a device, a dangling link: never read
        from epam_tui.core.tail import open_regular

        why = open_regular(path)[2] or f"{path.name} links to a missing file"
        return RunConfig(None, str(path), [why.removesuffix(": skipped")], path)
    if path.is_file():
        from epam.config import ConfigError, load_config

        try:
            return RunConfig(load_config(path), f"{path} (the run's resolved config)", [], path)
        except ConfigError as exc:
            return RunConfig(run.config, f"{path} (the run's resolved config)", list(exc.problems), path)
        except Exception as exc:  # noqa: BLE001 - unreadable YAML: one line
            return RunConfig(run.config, str(path), [str(exc).splitlines()[0] if str(exc) else type(exc).__name__], path)
    if run.kind == "mmengine":
        from epam_tui.core import mmconfig

        dump = mmconfig.find_config(run.path)
        if dump is None:
            return RunConfig(None, "no dumped MMEngine config in the work_dir", [])
        return RunConfig(run.config, f"{dump} (MMEngine dump)", [], dump)
    rec = run.run or {}
    source = rec.get("config")
    if source:
        overrides = [str(o) for o in ((rec.get("launch") or {}).get("overrides") or [])]
        src = Path(source)
        if not src.is_absolute() and ((rec.get("launch") or {}).get("cwd") or rec.get("cwd")):
            src = Path((rec.get("launch") or {}).get("cwd") or rec.get("cwd")) / src
        origin = (f"{src} with the launch's {len(overrides)} --set override(s) "
                  f"(config.yaml not written yet)")
        if not src.exists():
            return RunConfig(None, origin, [f"{src} not found"])
        from epam.config import ConfigError, load_config

        try:
            return RunConfig(load_config(src, overrides), origin, [], src)
        except ConfigError as exc:
            return RunConfig(None, origin, list(exc.problems), src)
    return RunConfig(run.config, "no config.yaml in the run directory", [])


@dataclass
class EpochAccuracy:
    """Per-epoch accuracies (fractions). ``train_windows``: logged windows per train epoch (0 when the
    epoch's value is the trainer's own epoch mean)."""

    train_epochs: np.ndarray
    train: np.ndarray
    train_windows: np.ndarray
    val_epochs: np.ndarray
    val: np.ndarray

    @property
    def train_source(self) -> str:
        if not len(self.train):
            return "none"
        return "mean of logged top1_acc windows" if self.train_windows.max() > 0 else "epoch mean (train/top1)"

    def last_common(self) -> tuple[int, float, float, int] | None:
        """(epoch, train, val, windows) of the last epoch with both a train and a val accuracy."""
        common = np.intersect1d(self.train_epochs, self.val_epochs)
        if not len(common):
            return None
        e = int(common[-1])
        i, j = int(np.flatnonzero(self.train_epochs == e)[0]), int(np.flatnonzero(self.val_epochs == e)[0])
        return e, float(self.train[i]), float(self.val[j]), int(self.train_windows[i])


def epoch_accuracy(run: RunData) -> EpochAccuracy:
    val = run.store.epoch_columns("val")
    v_epochs, v_acc = val.get("epoch", np.zeros(0, dtype=np.int64)), val.get("acc/top1", np.zeros(0))
    keep = np.isfinite(v_acc) if len(v_acc) else np.zeros(0, dtype=bool)
    v_epochs, v_acc = v_epochs[keep] if len(v_acc) else v_epochs[:0], v_acc[keep] if len(v_acc) else v_acc
    tep = run.store.epoch_columns("train_epoch")
    if "train/top1" in tep and np.isfinite(tep["train/top1"]).any():
        ok = np.isfinite(tep["train/top1"])
        t_epochs, t_acc = tep["epoch"][ok], tep["train/top1"][ok]
        return EpochAccuracy(t_epochs, t_acc, np.zeros(len(t_acc), dtype=np.int64), v_epochs, v_acc)
    cols = run.store.columns(("top1_acc",))
    acc, ep = cols["top1_acc"], cols["epoch"]
    ok = np.isfinite(acc) & np.isfinite(ep)
    if not ok.any():
        empty = np.zeros(0)
        return EpochAccuracy(empty.astype(np.int64), empty, empty.astype(np.int64), v_epochs, v_acc)
    epochs, inverse, counts = np.unique(ep[ok].astype(np.int64), return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=acc[ok]) / counts
    return EpochAccuracy(epochs, means, counts.astype(np.int64), v_epochs, v_acc)


def convergence_epoch(val_epochs: np.ndarray, val: np.ndarray, within: float = CONVERGED_WITHIN) -> int | None:
    """The first epoch whose val top-1 is within ``within`` (0.5 point) of the run's best."""
    if not len(val):
        return None
    best = float(np.nanmax(val))
    return next((int(e) for e, v in zip(val_epochs, val) if v >= best - within), None)


def expected_lr_curve(config: dict | None, iters_per_epoch: int | None,
                      max_points: int = 400) -> tuple[list[int], list[float]] | None:
    """(steps, lrs) the run's schedule gives (``epam.schedule.expected_curve``, the trainer's own formula),
    or None when the config is missing, foreign or partial (no overlay then)."""
    if not config or not iters_per_epoch:
        return None
    try:
        from epam.schedule import expected_curve

        return expected_curve(config, int(iters_per_epoch), max_points=max_points)
    except Exception:  # noqa: BLE001 - a foreign or partial config: no expected curve
        return None
