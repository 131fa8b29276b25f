"""Diagnoses from a run's series, each naming its evidence, and remedies as derived configs.

Rules (the seed's advice, with thresholds made explicit):
- too slow: after 30 epochs (or 60% of a shorter run) the loss (mean of the last tenth of the logged
  steps) is still above half its start (mean of the first tenth) or above 0.5 x ln(K) (K classes: ln K is the loss of a uniform guess) -> lr 0.002, or warmup;
- overfitting: last train top-1 above 90% and more than 5 points above val -> weight decay 5e-4;
- underfitting: train and val both below target - 5 points with a gap under 3 -> lr 0.003, or 80 epochs;
- unstable: 3 or more loss jumps, or any non-finite loss -> half the lr, with warmup.

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


def warmup_scheduler(max_epochs: int, warmup: int = 5, factor: float = 0.1) -> dict:
    return {"_delete_": True, "type": "SequentialLR", "by_epoch": True, "milestones": [warmup],
            "schedulers": [{"type": "LinearLR", "start_factor": factor, "end_factor": 1.0, "total_iters": warmup},
                           {"type": "CosineAnnealingLR", "T_max": max(1, max_epochs - warmup), "eta_min": 1.0e-6}]}


def diagnose(run: RunData, target: float = 0.90) -> list[Diagnosis]:
    cfg = run.config or {}
    max_epochs = int((cfg.get("train") or {}).get("max_epochs") or run.max_epochs or 50)
    classes = int((cfg.get("model") or {}).get("num_classes") or 60)
    lr = float((cfg.get("optimizer") or {}).get("lr") or 0.0015)
    cosine = (cfg.get("scheduler") or {}).get("type") == "CosineAnnealingLR"
    train = run.store.columns(("loss",))
    val = run.store.epoch_columns("val")
    tep = run.store.epoch_columns("train_epoch")
    out: list[Diagnosis] = []

    loss = train["loss"]
    jumps = loss_jumps(loss) if len(loss) >= 8 else []
    if run.store.first_nonfinite is not None or len(jumps) >= 3:
        what = (f"non-finite loss at step {run.store.first_nonfinite}" if run.store.first_nonfinite is not None
                else f"{len(jumps)} loss jumps (first at step {int(train['step'][jumps[0]])})")
        out.append(Diagnosis("unstable", what, [
            Remedy("lower lr + warmup", f"lr {lr / 2:g} with 5 warmup epochs",
                   {"optimizer": {"lr": lr / 2}, "scheduler": warmup_scheduler(max_epochs)})]))

    epochs_done = int(train["epoch"][-1]) if len(train["epoch"]) and math.isfinite(train["epoch"][-1]) else 0
    if len(loss) >= 8 and epochs_done >= min(30, math.ceil(0.6 * max_epochs)):
        k = max(1, len(loss) // 10)  # mean of the first and the last tenth of the logged losses
        start, now = float(np.nanmean(loss[:k])), float(np.nanmean(loss[-k:]))
        if now > 0.5 * start or now > 0.5 * math.log(classes):
            out.append(Diagnosis("too slow", f"after {epochs_done} epochs the loss is {now:.3f} "
                                 f"(start {start:.3f}, 0.5 ln K = {0.5 * math.log(classes):.3f})", [
                Remedy("A: lr 0.002", "a higher learning rate", {"optimizer": {"lr": 0.002}}),
                Remedy("B: warmup", "LinearLR x0.1 for 5 epochs, then cosine", {"scheduler": warmup_scheduler(max_epochs)}),
            ]))

    if "acc/top1" in val and len(val["acc/top1"]) and "train/top1" in tep and len(tep["train/top1"]):
        tr, va = float(tep["train/top1"][-1]), float(val["acc/top1"][-1])
        if tr > 0.90 and (tr - va) > 0.05:
            out.append(Diagnosis("overfitting", f"train {100 * tr:.1f}% vs val {100 * va:.1f}%", [
                Remedy("weight decay 5e-4", "stronger weight decay", {"optimizer": {"weight_decay": 0.0005}})]))
        elif tr < target - 0.05 and va < target - 0.05 and abs(tr - va) < 0.03 and run.state == "finished":
            longer = {"train": {"max_epochs": 80}}
            if cosine:
                longer["scheduler"] = {"T_max": 80}
            out.append(Diagnosis("underfitting", f"train {100 * tr:.1f}% and val {100 * va:.1f}% both low", [
                Remedy("lr 0.003", "a higher learning rate", {"optimizer": {"lr": 0.003}}),
                Remedy("80 epochs", "train longer", longer)]))
    return out


def base_config(run_dir_or_config: str | Path) -> Path:
    """A run directory's resolved ``config.yaml``, or the config file itself."""
    path = Path(run_dir_or_config)
    return (path / "config.yaml" if path.is_dir() else path).resolve()


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


def launch_remedy(run_dir: str | Path, remedy: Remedy, gpus: str | None = None, confirmed_busy: bool = False) -> dict:
    """Derive the remedy's config next to the run (``<run>/remedies/<slug>.yaml``) and launch it."""
    path = derive_config(run_dir, remedy, Path(run_dir) / "remedies" / f"{slug(remedy.name)}.yaml")
    return launch_config(run_dir, path, remedy.name, gpus, confirmed_busy)


def launch_rerun(run_dir: str | Path, gpus: str | None = None, confirmed_busy: bool = False) -> dict:
    """Rerun the run's resolved config (same seed) and record the rerun's path in ``checklist.yaml``."""
    from epam_tui.core.checklist_store import record

    rec = launch_config(run_dir, base_config(run_dir), "rerun", gpus, confirmed_busy)
    record(run_dir, "rerun", str(rec.get("work_dir") or Path(run_dir).resolve().parent / rec["name"]))
    return rec
