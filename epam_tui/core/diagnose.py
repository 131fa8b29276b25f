"""Diagnoses from a run's series, each naming its evidence, and remedies as derived configs.

Rules (the seed's advice, with thresholds made explicit):
- too slow: after 30 epochs (or 60% of a shorter run) the loss (mean of the last tenth of the logged
  steps) is still above half its start (mean of the first tenth) or above 0.5 x ln(K) (K classes: ln K is
  the loss of a uniform guess) -> lr x1.33, or a warm-up;
- overfitting: last train top-1 above 90% and more than 5 points above val -> weight decay x5/3;
- underfitting: train and val both below target - 5 points with a gap under 3 -> lr x2, or x1.6 epochs;
- unstable: 3 or more loss jumps, or any non-finite loss -> half the lr, with a warm-up.

Remedies are relative to the run's own recipe (its resolved config: ``runfacts.run_config``), so they
fit a demo config as well as the NTU60 one; values are rounded to 3 significant digits. The seed wrote
them as absolute values for the NTU60 recipe (lr 0.0015, weight decay 3e-4, 50 epochs): lr 0.002 for
"slow", 0.003 for underfitting, weight decay 5e-4, 80 epochs, 5 warm-up epochs; each remedy's
description names that value as the NTU60 one. A warm-up is LinearLR from x0.1 over 10% of the
epochs (at least 1), then the run's own schedule (cosine or multi-step, shifted), else a cosine.
Train accuracy of an epoch is ``runfacts.epoch_accuracy`` (MMEngine runs: the mean of its logged
``top1_acc`` windows).

A remedy is a child YAML whose ``_base_`` is the run's resolved ``config.yaml`` and which sets only
the changed keys; it is validated with ``epam.config.load_config`` before anyone may launch it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from epam_tui.core.checks import loss_jumps
from epam_tui.core.registry import RunData
from epam_tui.core.rundir import CONFIG_YAML, REMEDIES
from epam_tui.core.runfacts import epoch_accuracy, run_config

# the seed's absolute remedies, which are these factors applied to the NTU60 recipe
NTU60 = {"lr": 0.0015, "weight_decay": 0.0003, "max_epochs": 50}
SLOW_LR, UNDERFIT_LR, UNSTABLE_LR, WD_FACTOR, LONGER, WARMUP_SHARE = 1.33, 2.0, 0.5, 5 / 3, 1.6, 0.1


@dataclass
class Remedy:
    name: str
    description: str
    overrides: dict[str, Any]


@dataclass
class Diagnosis:
    kind: str
    evidence: str
    remedies: list[Remedy] = field(default_factory=list)


def sig3(x: float) -> float:
    """``x`` rounded to 3 significant digits (0.3333 x 1.33 -> 0.443; 0.0015 x 1.33 -> 0.002)."""
    return float(f"{x:.3g}")


def warmup_epochs(max_epochs: int) -> int:
    return max(1, round(WARMUP_SHARE * max_epochs))


def warmup_scheduler(max_epochs: int, warmup: int | None = None, factor: float = 0.1,
                     base: dict | None = None) -> dict:
    """LinearLR from ``factor`` over ``warmup`` epochs (default 10% of the epochs), then the run's own
    schedule ``base`` shifted by the warm-up (CosineAnnealingLR keeps its eta_min, MultiStepLR its
    later milestones and gamma), else a cosine to 1e-6."""
    warmup = warmup or warmup_epochs(max_epochs)
    rest = max(1, max_epochs - warmup)
    base = base or {}
    after: dict[str, Any] = {"type": "CosineAnnealingLR", "T_max": rest, "eta_min": 1.0e-6}
    if base.get("type") == "CosineAnnealingLR":
        after["eta_min"] = float(base.get("eta_min", 0.0))
    elif base.get("type") == "MultiStepLR":
        later = [int(m) - warmup for m in base.get("milestones") or [] if int(m) > warmup]
        if later:
            after = {"type": "MultiStepLR", "milestones": later, "gamma": float(base.get("gamma", 0.1))}
    return {"_delete_": True, "type": "SequentialLR", "by_epoch": bool(base.get("by_epoch", True)), "milestones": [warmup],
            "schedulers": [{"type": "LinearLR", "start_factor": factor, "end_factor": 1.0, "total_iters": warmup},
                           after]}


def _then(base: dict) -> str:
    kind = base.get("type")
    return f"then the run's {kind}" if kind in ("CosineAnnealingLR", "MultiStepLR") else "then a cosine to 1e-6"


def diagnose(run: RunData, target: float = 0.90) -> list[Diagnosis]:
    cfg = run_config(run).config or run.config or {}
    max_epochs = int((cfg.get("train") or {}).get("max_epochs") or run.max_epochs or NTU60["max_epochs"])
    classes = int((cfg.get("model") or {}).get("num_classes") or 60)
    opt = cfg.get("optimizer") or {}
    lr = float(opt.get("lr") or NTU60["lr"])
    wd = float(opt.get("weight_decay") or 0.0)
    sched = cfg.get("scheduler") or {}
    cosine = sched.get("type") == "CosineAnnealingLR"
    warm = warmup_epochs(max_epochs)
    train = run.store.columns(("loss",))
    out: list[Diagnosis] = []

    loss = train["loss"]
    jumps = loss_jumps(loss) if len(loss) >= 8 else []
    if run.store.first_nonfinite is not None or len(jumps) >= 3:
        what = (f"non-finite loss at step {run.store.first_nonfinite}" if run.store.first_nonfinite is not None
                else f"{len(jumps)} loss jumps (first at step {int(train['step'][jumps[0]])})")
        new = sig3(lr * UNSTABLE_LR)
        out.append(Diagnosis("unstable", what, [
            Remedy("lower lr + warmup", f"lr {lr:g} -> {new:g} (x0.5) with {warm} warm-up epochs (10% of {max_epochs}), "
                   f"{_then(sched)}; for the NTU60 recipe: lr 0.00075 with 5 warm-up epochs",
                   {"optimizer": {"lr": new}, "scheduler": warmup_scheduler(max_epochs, base=sched)})]))

    epochs_done = int(np.nanmax(train["epoch"])) if len(train["epoch"]) and np.isfinite(train["epoch"]).any() else 0
    if len(loss) >= 8 and epochs_done >= min(30, math.ceil(0.6 * max_epochs)):
        k = max(1, len(loss) // 10)  # mean of the first and the last tenth of the logged losses
        start, now = float(np.nanmean(loss[:k])), float(np.nanmean(loss[-k:]))
        if now > 0.5 * start or now > 0.5 * math.log(classes):
            new = sig3(lr * SLOW_LR)
            out.append(Diagnosis("too slow", f"after {epochs_done} epochs the loss is {now:.3f} "
                                 f"(start {start:.3f}, 0.5 ln K = {0.5 * math.log(classes):.3f})", [
                Remedy(f"A: lr {new:g}", f"a higher learning rate: {lr:g} -> {new:g} (x1.33; for the NTU60 recipe "
                       f"0.0015 -> 0.002)", {"optimizer": {"lr": new}}),
                Remedy("B: warmup", f"LinearLR x0.1 for {warm} epochs (10% of {max_epochs}), {_then(sched)} "
                       f"(for the NTU60 recipe: 5 epochs)", {"scheduler": warmup_scheduler(max_epochs, base=sched)}),
            ]))

    acc = epoch_accuracy(run)
    common = acc.last_common()
    if common is not None:
        epoch, tr, va, windows = common
        how = f" (mean of {windows} logged windows)" if windows else ""
        if tr > 0.90 and (tr - va) > 0.05:
            new = sig3(wd * WD_FACTOR) if wd > 0 else 0.0005
            change = f"{wd:g} -> {new:g} (x5/3)" if wd > 0 else f"none -> {new:g} (the NTU60 recipe's value)"
            out.append(Diagnosis("overfitting", f"epoch {epoch}: train {100 * tr:.1f}%{how} vs val {100 * va:.1f}%", [
                Remedy(f"weight decay {new:g}", f"stronger weight decay: {change}; for the NTU60 recipe 3e-4 -> 5e-4",
                       {"optimizer": {"weight_decay": new}})]))
        elif tr < target - 0.05 and va < target - 0.05 and abs(tr - va) < 0.03 and run.state == "finished":
            new, epochs = sig3(lr * UNDERFIT_LR), max(max_epochs + 1, round(max_epochs * LONGER))
            longer: dict[str, Any] = {"train": {"max_epochs": epochs}}
            if cosine:
                longer["scheduler"] = {"T_max": epochs}
            out.append(Diagnosis("underfitting", f"epoch {epoch}: train {100 * tr:.1f}%{how} and val {100 * va:.1f}% both low", [
                Remedy(f"lr {new:g}", f"a higher learning rate: {lr:g} -> {new:g} (x2; for the NTU60 recipe 0.0015 -> 0.003)",
                       {"optimizer": {"lr": new}}),
                Remedy(f"{epochs} epochs", f"train longer: {max_epochs} -> {epochs} epochs (x1.6; for the NTU60 recipe "
                       f"50 -> 80)", longer)]))
    return out


def remedy_changes(cfg: dict | None, remedy: Remedy) -> list[tuple[str, Any, Any]]:
    """(key, before, after) for the keys a remedy sets, against the run's config (no file written)."""
    from epam.config import flatten

    cfg = cfg or {}
    before = flatten(cfg)
    out: list[tuple[str, Any, Any]] = []
    for section, value in copy.deepcopy(remedy.overrides).items():
        if isinstance(value, dict) and value.pop("_delete_", False):  # a replaced section: shown whole
            out.append((section, cfg.get(section), value))
            continue
        out += [(key, before.get(key), after) for key, after in flatten({section: value}).items()]
    return out


def base_config(run_dir_or_config: str | Path) -> Path:
    """A run directory's resolved ``config.yaml``, or the config file itself."""
    path = Path(run_dir_or_config)
    return (path / CONFIG_YAML if path.is_dir() else path).resolve()


def derive_config(run_dir_or_config: str | Path, remedy: Remedy, out_path: str | Path) -> Path:
    """Write the remedy as a child config (``_base_`` = the run's config.yaml, absolute, plus only the
    changed keys) and validate it with ``load_config`` (raises ConfigError; the file is removed then)."""
    from epam.config import ConfigError, load_config

    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    body = {"_base_": str(base_config(run_dir_or_config)), **copy.deepcopy(remedy.overrides)}
    out_path.write_text(f"# remedy: {remedy.name} - {remedy.description}\n" + yaml.safe_dump(body, sort_keys=False))
    try:
        load_config(out_path)
    except ConfigError:
        out_path.unlink(missing_ok=True)
        raise
    return out_path


def preview_diff(run_dir_or_config: str | Path, derived: str | Path) -> list[tuple[str, Any, Any]]:
    """(key, before, after) for every key the derived config changes."""
    from epam.config import diff, load_config

    return diff(load_config(base_config(run_dir_or_config)), load_config(derived))


def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())[:40] or "remedy"


def launch_config(run_dir: str | Path, config: str | Path, suffix: str, gpus: str | None = None,
                  confirmed_busy: bool = False) -> dict:
    """Launch ``config`` as a new run beside ``run_dir`` (``<run>-<suffix>[-N]``) on the run's GPUs
    (from its ``run.json``; ``gpus`` overrides, e.g. "0,1" or "cpu"), through the launcher's pre-flight.
    Returns the launcher's run record; raises ``launch.LaunchError`` / ``runs.RunError`` with one line."""
    from epam_tui.core import launch as lp
    from epam_tui.core import runs

    run_dir = Path(run_dir).resolve()
    rec = runs.read_run(run_dir) or {}
    if gpus is None:
        picked = [str(g.get("index")) for g in rec.get("gpus") or []]
        gpus = ",".join(picked) if picked else ("cpu" if rec.get("nproc") else None)
    state = lp.gpu_state() if gpus != "cpu" else lp.GpuState([])
    name = f"{run_dir.name}-{slug(suffix)}"
    n = 2
    while (run_dir.parent / name).exists():
        name = f"{run_dir.name}-{slug(suffix)}-{n}"
        n += 1
    plan = lp.make_plan(str(config), state, gpus=gpus, nproc=rec.get("nproc") if gpus == "cpu" else None,
                        name=name, root=str(run_dir.parent), live=runs.live_runs(run_dir.parent))
    return runs.launch(plan, state, confirmed_busy=confirmed_busy)


def remedy_path(run_dir: str | Path, remedy: Remedy) -> Path:
    """Where a remedy's derived config lives: ``<run>/remedies/<slug>.yaml``."""
    return Path(run_dir) / REMEDIES / f"{slug(remedy.name)}.yaml"


def preview_remedy(run_dir: str | Path, remedy: Remedy) -> tuple[Path | None, list[tuple[str, Any, Any]], str]:
    """Derive the remedy's config next to the run and diff it against the run's config: ``(path, changes,
    "")``, or ``(None, [], why)`` when it cannot be derived (an invalid config, an unwritable run dir)."""
    from epam.config import ConfigError

    try:
        path = derive_config(run_dir, remedy, remedy_path(run_dir, remedy))
        return path, preview_diff(run_dir, path), ""
    except (ConfigError, OSError) as exc:
        return None, [], str(exc)


def launch_remedy(run_dir: str | Path, remedy: Remedy, gpus: str | None = None, confirmed_busy: bool = False) -> dict:
    """Derive the remedy's config next to the run (``<run>/remedies/<slug>.yaml``) and launch it."""
    path = derive_config(run_dir, remedy, remedy_path(run_dir, remedy))
    return launch_config(run_dir, path, remedy.name, gpus, confirmed_busy)


def launch_rerun(run_dir: str | Path, gpus: str | None = None, confirmed_busy: bool = False) -> dict:
    """Rerun the run's resolved config (same seed) and record the rerun's path in ``checklist.yaml``."""
    from epam_tui.core.checklist_store import record

    rec = launch_config(run_dir, base_config(run_dir), "rerun", gpus, confirmed_busy)
    record(run_dir, "rerun", str(rec.get("work_dir") or Path(run_dir).resolve().parent / rec["name"]))
    return rec
