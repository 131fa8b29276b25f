"""The seed's comparison table, computed from the runs' data, and the config diff between runs.

Train accuracy per epoch: ``runfacts.epoch_accuracy`` (our ``train/top1`` epoch records; MMEngine /
MMAction2 and official-EPAM logs: the mean of the epoch's logged ``top1_acc`` windows), so the table
fills for those runs too. Gap: train minus val at the last epoch with both.
Convergence epoch: the first epoch whose val top-1 is within 0.5 point of the run's best.
Stability: the number of loss jumps (``checks.loss_jumps``) and the std of step-to-step loss changes.
Time per epoch: wall-clock from ``status.json`` (``updated - started`` over the epochs done: includes
validation and checkpoints), else the mean logged iteration time x iterations per epoch.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from epam_tui.core.checks import loss_jumps
from epam_tui.core.registry import RunData
from epam_tui.core.runfacts import convergence_epoch, epoch_accuracy

COLUMNS = [("run", "run"), ("final train acc", "final_train"), ("best train acc", "best_train"),
           ("final val acc", "final_val"), ("best val acc", "best_val"), ("train-val gap", "gap"),
           ("convergence epoch", "convergence"), ("loss jumps", "jumps"), ("std dloss", "std_dloss"),
           ("s/epoch", "epoch_time")]


def _last(a: np.ndarray) -> float | None:
    return float(a[-1]) if len(a) else None


def run_row(run: RunData) -> dict[str, Any]:
    train = run.store.columns(("loss", "time"))
    acc = epoch_accuracy(run)
    val, val_epochs, tr = acc.val, acc.val_epochs, acc.train
    best_val = float(np.nanmax(val)) if len(val) else None
    conv = convergence_epoch(val_epochs, val)
    common = acc.last_common()
    loss = train["loss"]
    d = np.diff(loss[np.isfinite(loss)])
    epochs = len(np.unique(train["epoch"][np.isfinite(train["epoch"])]))
    ipe = run.iters_per_epoch or 0
    times = train["time"][np.isfinite(train["time"])]
    epoch_time = float(np.mean(times)) * ipe if len(times) and ipe else None
    st = run.status or {}
    done = (int(st.get("iter") or 0) / ipe) if ipe else 0
    if st.get("started") and st.get("updated") and done >= 1:
        epoch_time = (float(st["updated"]) - float(st["started"])) / done
    return {"run": run.name, "final_train": _last(tr), "best_train": float(np.nanmax(tr)) if len(tr) else None,
            "final_val": _last(val), "best_val": best_val,
            "gap": (common[1] - common[2]) if common else None, "convergence": conv,
            "train_acc_source": acc.train_source,
            "jumps": len(loss_jumps(loss)) if len(loss) >= 8 else 0,
            "std_dloss": float(np.std(d)) if len(d) else None, "epoch_time": epoch_time, "epochs": epochs}


def cell(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if key in ("final_train", "best_train", "final_val", "best_val"):
        return f"{100 * value:.1f}%"
    if key == "gap":
        return f"{100 * value:+.1f} pt"
    if key in ("std_dloss",):
        return f"{value:.4f}"
    if key == "epoch_time":
        return f"{value:.1f}"
    return str(value)


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table."""
    head = "| " + " | ".join(c for c, _ in COLUMNS) + " |"
    sep = "|" + "|".join("---" for _ in COLUMNS) + "|"
    body = ["| " + " | ".join(cell(k, r.get(k)) for _, k in COLUMNS) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def config_diff(runs: list[RunData]) -> list[tuple[str, list[Any]]]:
    """Keys whose values differ between the runs' resolved configs (work_dir left out)."""
    from epam.config import flatten

    flats = [flatten(r.config or {}) for r in runs]  # the registry reads each run's own config.yaml / dump
    keys = sorted({k for f in flats for k in f} - {"work_dir"})
    return [(k, [f.get(k) for f in flats]) for k in keys if len({repr(f.get(k)) for f in flats}) > 1]
