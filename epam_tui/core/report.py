"""End-of-run report: Markdown with checklist verdicts, the comparison table, diagnoses (with their
relative remedies), where each run's config was read (``runfacts.run_config``), and PNG
charts (loss, LR with the expected curve, accuracy) drawn with matplotlib (the optional `report` extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from epam_tui.core.checks import evaluate
from epam_tui.core.compare import config_diff, format_table, run_row
from epam_tui.core.diagnose import diagnose
from epam_tui.core.registry import RunData, load_run
from epam_tui.core.runfacts import epoch_accuracy, expected_lr_curve, run_config
from epam_tui.core.series import ema_debiased


def _charts(runs: list[RunData], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names: list[str] = []

    def save(fig, ax, name: str, xlabel: str, ylabel: str, title: str) -> None:
        ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        names.append(name)
        plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 4))
    for i, run in enumerate(runs):
        t = run.store.columns(("loss",))
        ax.plot(t["step"], t["loss"], color=f"C{i}", alpha=0.25, linewidth=0.8)
        ax.plot(t["step"], ema_debiased(t["loss"], 0.6), color=f"C{i}", label=f"{run.name} (EMA 0.6)")
    save(fig, ax, "loss.png", "step", "loss", "training loss")

    fig, ax = plt.subplots(figsize=(8, 4))
    for i, run in enumerate(runs):
        t = run.store.columns(("lr",))
        ax.plot(t["step"], t["lr"], "o", color=f"C{i}", markersize=2.5, label=f"{run.name} logged")
        if (curve := expected_lr_curve(run.config, run.iters_per_epoch, 600)) is not None:
            ax.plot(*curve, "--", color=f"C{i}", linewidth=1, label=f"{run.name} expected")
    save(fig, ax, "lr.png", "step", "learning rate", "learning rate (logged vs expected)")

    fig, ax = plt.subplots(figsize=(8, 4))
    for i, run in enumerate(runs):
        acc = epoch_accuracy(run)  # train: the epoch record, else the mean of the logged top1_acc windows
        if len(acc.val):
            ax.plot(acc.val_epochs, 100 * acc.val, "-o", color=f"C{i}", label=f"{run.name} val top-1")
        if len(acc.train):
            ax.plot(acc.train_epochs, 100 * acc.train, ":", color=f"C{i}", label=f"{run.name} train top-1")
    save(fig, ax, "accuracy.png", "epoch", "accuracy (%)", "accuracy per epoch")
    return names


def write_report(run_dirs: list[str | Path], out_dir: str | Path, target: float = 0.90) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = [load_run(p) for p in run_dirs]
    lines = ["# Training report", "", f"Runs: {', '.join(f'`{r.path}` ({r.state})' for r in runs)}", ""]
    lines += ["## Comparison", "", format_table([run_row(r) for r in runs]), ""]
    diff = config_diff(runs) if len(runs) > 1 else []
    if diff:
        lines += ["### Config differences", "", "| key | " + " | ".join(r.name for r in runs) + " |",
                  "|---|" + "---|" * len(runs)]
        lines += [f"| {k} | " + " | ".join(str(v) for v in vals) + " |" for k, vals in diff]
        lines.append("")
    for run in runs:
        lines += [f"## {run.name}", "", f"Config: {run_config(run).origin}", "", "### Checklist", ""]
        for r in evaluate(run.path, target):
            lines.append(f"- **{r.effective.upper()}** ({r.phase}) {r.title}: {r.evidence}")
        found = diagnose(run, target)
        lines += ["", "### Diagnosis", ""]
        lines += [f"- **{d.kind}**: {d.evidence}; remedies: " + "; ".join(f"{m.name} ({m.description})" for m in d.remedies)
                  for d in found] or ["- nothing to diagnose"]
        lines.append("")
    lines += ["## Charts", ""] + [f"![{n}]({n})" for n in _charts(runs, out)]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
