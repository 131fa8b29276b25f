"""Diagnoses on crafted runs, remedy configs (derived, validated), the comparison numbers, the report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from epam.config import ConfigError, load_config
from epam_tui.core.compare import config_diff, format_table, run_row
from epam_tui.core.diagnose import Remedy, derive_config, diagnose, preview_diff
from epam_tui.core.registry import load_run
from epam_tui.core.report import write_report

ROOT = Path(__file__).resolve().parents[2]
OPT = ROOT / "configs" / "epam_ntu60_optimized.yaml"


def fake_run(tmp: Path, name: str, losses: list[float], train_acc: list[float], val_acc: list[float],
             ipe: int = 4, state: str = "finished") -> Path:
    run = tmp / name
    run.mkdir()
    shutil.copy(OPT, run / "opt.yaml")
    cfg = load_config(OPT, [f"train.max_epochs={len(val_acc)}", f"scheduler.T_max={len(val_acc)}"])
    import yaml

    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    with open(run / "scalars.jsonl", "w") as fh:
        for i, loss in enumerate(losses):
            fh.write(json.dumps({"lr": 0.0015, "loss": loss, "time": 0.5, "epoch": i // ipe + 1, "iter": i + 1,
                                 "step": i + 1}) + "\n")
        for e, (tr, va) in enumerate(zip(train_acc, val_acc), 1):
            fh.write(json.dumps({"train/loss": 1.0, "train/top1": tr, "epoch": e, "step": e}) + "\n")
            fh.write(json.dumps({"acc/top1": va, "epoch": e, "step": e}) + "\n")
    (run / "status.json").write_text(json.dumps({"state": state, "max_epochs": len(val_acc), "iters_per_epoch": ipe}))
    return run


def kinds(run: Path) -> set[str]:
    return {d.kind for d in diagnose(load_run(run))}


def test_overfit_underfit_slow_unstable(tmp_path: Path) -> None:
    falling = [4.0 * 0.97 ** i for i in range(40)]
    assert kinds(fake_run(tmp_path, "over", falling, [0.8, 0.9, 0.95], [0.8, 0.85, 0.87])) == {"overfitting"}
    assert kinds(fake_run(tmp_path, "under", falling, [0.6, 0.75, 0.80], [0.6, 0.74, 0.78])) == {"underfitting"}
    flat = [4.0 - 0.001 * i for i in range(40)]
    assert "too slow" in kinds(fake_run(tmp_path, "slow", flat, [0.1] * 10, [0.1] * 10))
    spiky = [2.0 + 0.01 * (i % 2) for i in range(40)]
    for i in (15, 25, 35):
        spiky[i] = 9.0
    assert "unstable" in kinds(fake_run(tmp_path, "spiky", spiky, [0.9], [0.9]))
    healthy = fake_run(tmp_path, "ok", falling, [0.8, 0.9, 0.95], [0.8, 0.9, 0.94])
    assert kinds(healthy) == set()


def test_remedy_configs_derive_and_validate(tmp_path: Path) -> None:
    run = fake_run(tmp_path, "over", [3.0 * 0.9 ** i for i in range(12)], [0.8, 0.9, 0.99], [0.8, 0.85, 0.87])
    (diag,) = diagnose(load_run(run))
    path = derive_config(run / "config.yaml", diag.remedies[0], tmp_path / "remedy.yaml")
    assert "_base_" in path.read_text()
    assert preview_diff(run / "config.yaml", path) == [("optimizer.weight_decay", 0.0003, 0.0005)]
    slow = fake_run(tmp_path, "slow", [4.0] * 40, [0.1] * 10, [0.1] * 10)
    warm = next(r for d in diagnose(load_run(slow)) for r in d.remedies if r.name.startswith("B"))
    cfg = load_config(derive_config(slow / "config.yaml", warm, tmp_path / "warm.yaml"))
    assert cfg["scheduler"]["type"] == "SequentialLR" and cfg["scheduler"]["milestones"] == [1]  # 10% of 10 epochs
    assert cfg["scheduler"]["schedulers"][1] == {"type": "CosineAnnealingLR", "T_max": 9, "eta_min": 1.0e-6}
    with pytest.raises(ConfigError):
        derive_config(run / "config.yaml", Remedy("bad", "x", {"optimizer": {"lr": -1}}), tmp_path / "bad.yaml")


def test_comparison_numbers(tmp_path: Path) -> None:
    a = fake_run(tmp_path, "baseline", [3.0, 2.5, 2.0, 1.8] * 3, [0.5, 0.8, 0.9], [0.5, 0.7, 0.72])
    b = fake_run(tmp_path, "optimized", [3.0, 2.0, 1.5, 1.0] * 3, [0.6, 0.9, 0.95], [0.6, 0.9, 0.93])
    ra, rb = run_row(load_run(a)), run_row(load_run(b))
    assert ra["final_val"] == 0.72 and ra["best_train"] == 0.9 and ra["gap"] == pytest.approx(0.18)
    assert ra["convergence"] == 3 and rb["convergence"] == 3  # 0.9 is not within 0.5 pt of 0.93
    assert rb["epoch_time"] == pytest.approx(2.0)  # 4 iterations x 0.5 s
    table = format_table([ra, rb])
    assert "| baseline | 90.0% | 90.0% | 72.0% |" in table
    assert config_diff([load_run(a), load_run(b)]) == []


def test_report_files(tmp_path: Path) -> None:
    a = fake_run(tmp_path, "a", [3.0 - 0.05 * i for i in range(12)], [0.5, 0.8, 0.9], [0.5, 0.7, 0.72])
    path = write_report([a], tmp_path / "report")
    text = path.read_text()
    assert "## Comparison" in text and "### Checklist" in text and "![lr.png](lr.png)" in text
    for name in ("loss.png", "lr.png", "accuracy.png"):
        png = (tmp_path / "report" / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
