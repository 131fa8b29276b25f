"""Checklist rules on crafted series, manual ticks that persist, and the headless command."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from epam.config import load_config
from epam.schedule import expected_lr
from epam_tui.core import checks
from epam_tui.core.checklist_store import load_store, set_item

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "runs" / "demo-finished"


def test_smooth_vs_jumpy_loss() -> None:
    steps = np.arange(1, 201)
    rng = np.random.default_rng(0)
    smooth = 4.0 * np.exp(-steps / 80) + 0.3 + rng.normal(0, 0.01, len(steps))
    assert checks.check_loss_smooth(steps, smooth).verdict == "pass"
    jumpy = smooth.copy()
    jumpy[120] += 3.0
    result = checks.check_loss_smooth(steps, jumpy)
    assert result.verdict == "fail" and result.where == {"step": 121} and "121" in result.evidence
    rising = np.linspace(1, 2, 200) + rng.normal(0, 0.01, 200)
    assert checks.check_loss_smooth(steps, rising).verdict == "fail"
    nan = smooth.copy()
    nan[50] = np.nan
    assert checks.check_loss_smooth(steps, nan).verdict == "fail"


def test_lr_cosine_vs_wrong_schedule() -> None:
    cfg = load_config(ROOT / "configs" / "epam_ntu60_optimized.yaml")
    steps = np.arange(1, 501, 10)
    good = np.array([expected_lr(cfg, s - 1, 10) for s in steps])
    result = checks.check_lr_schedule(cfg, steps, good, 10)
    assert result.verdict == "pass" and "CosineAnnealingLR" in result.evidence
    wrong = np.full(len(steps), 0.0015)  # constant lr: not the configured cosine
    bad = checks.check_lr_schedule(cfg, steps, wrong, 10)
    assert bad.verdict == "fail" and bad.where["step"] > 1
    assert checks.check_lr_schedule(None, steps, good, 10).verdict == "unknown"


def noisy_rise(epochs: int = 50, top: float = 0.92, seed: int = 0, sd: float = 0.006) -> np.ndarray:
    """Val top-1 of a healthy run: rising fast, then a plateau, with epoch-to-epoch noise (0.6 pt)."""
    e = np.arange(1, epochs + 1)
    return np.clip(top * (1 - np.exp(-e / 6)) + np.random.default_rng(seed).normal(0, sd, epochs), 0, 1)


def test_val_improving_tolerates_noise() -> None:
    """A healthy noisy run passes (it failed before: every dip was a FAIL); the rule is in the evidence."""
    epochs = np.arange(1, 51)
    for seed in range(5):
        acc = noisy_rise(seed=seed)
        assert np.sum(np.diff(acc) < 0) >= 8  # plenty of small dips
        result = checks.check_val_improving(epochs, acc)
        assert result.verdict == "pass", result.evidence
        assert "rule: a drop counts when val top-1 is more than" in result.evidence
        assert result.values["dips"] >= 8 and result.values["window"] == 5
    demo = np.array([.30, .55, .78, .90, .96, .99, 1.0, .99])  # the demo's last epoch: 100 -> 99
    assert checks.check_val_improving(np.arange(1, 9), demo).verdict == "pass"
    assert checks.check_val_improving(np.arange(1, 6), np.array([.5, .6, .7, .8, .9])).verdict == "pass"
    dip = np.linspace(.5, .9, 12)
    dip[5] -= .06  # one 6 pt dip at epoch 6, recovered the next epoch: flagged, not failed
    one = checks.check_val_improving(np.arange(1, 13), dip)
    assert one.verdict == "pass" and "1 drop(s) beyond the tolerance" in one.evidence and "epoch 6:" in one.evidence
    assert one.where == {"epoch": 6}  # the evidence key jumps to the flagged drop
    assert checks.check_val_improving(np.array([1]), np.array([.5])).verdict == "pending"


def test_val_improving_fails_when_peaked_and_falling_or_flat() -> None:
    epochs = np.arange(1, 31)
    acc = noisy_rise(30)
    acc[20:] = acc[19] - 0.015 * np.arange(1, 11)  # peaks at epoch 20, then falls 1.5 pt an epoch
    result = checks.check_val_improving(epochs, acc)
    assert result.verdict == "fail" and "peaked at" in result.evidence and result.where == {"epoch": 28}
    assert "rule:" in result.evidence
    short = acc[:23]  # only 3 epochs of decline, beyond the tolerance: flagged; 4 epochs: a fail (window 3)
    assert checks.check_val_improving(epochs[:23], short).verdict == "pass"
    assert checks.check_val_improving(epochs[:24], acc[:24]).verdict == "fail"
    flat = checks.check_val_improving(np.arange(1, 11), np.full(10, 0.1) + 0.002 * (np.arange(10) % 2))
    assert flat.verdict == "fail" and "no improvement" in flat.evidence


def test_target_gap() -> None:
    target = checks.check_target(np.array([.85, .91, .912, .90]), 0.9, True, np.array([1, 2, 3, 4]))
    assert target.verdict == "pass" and "convergence epoch 2" in target.evidence
    assert target.values["convergence_epoch"] == 2 and target.values["best_epoch"] == 3
    assert checks.check_target(np.array([.85, .87]), 0.9, True).verdict == "fail"
    assert checks.check_target(np.array([.85]), 0.9, False).verdict == "pending"
    assert checks.check_gap(0.95, 0.87).verdict == "fail"  # overfitting: 8 points
    gap = checks.check_gap(0.80, 0.78, epoch=7, source="mean of 4 logged top1_acc windows")
    assert gap.verdict == "pass" and gap.evidence.startswith("epoch 7: train 80.0% (mean of 4")
    assert gap.values["gap_points"] == 2.0


def test_best_checkpoint_present_absent_mismatched() -> None:
    epochs, acc = np.array([1, 2, 3]), np.array([0.5, 0.9, 0.8])
    assert checks.check_best_checkpoint(epochs, acc, ["best_acc_top1_epoch_2.pth", "latest.pth"]).verdict == "pass"
    absent = checks.check_best_checkpoint(epochs, acc, ["latest.pth"])
    assert absent.verdict == "fail" and absent.where == {"epoch": 2}
    mismatched = checks.check_best_checkpoint(epochs, acc, ["best_acc_top1_epoch_3.pth", "epoch_3.pth"])
    assert mismatched.verdict == "fail" and "epochs [3]" in mismatched.evidence


def test_evaluate_fixture_and_manual_ticks_persist(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    results = {r.id: r for r in checks.evaluate(run)}
    assert results["lr_schedule"].verdict == "pass"
    assert results["target"].verdict == "fail"  # the 1-epoch fixture reached 44%
    assert results["gpu_util"].effective == "unknown"
    set_item(run, "gpu_util", tick=True, note="checked nvidia-smi by hand: 93%")
    again = {r.id: r for r in checks.evaluate(run)}
    assert again["gpu_util"].effective == "pass" and again["gpu_util"].manual["note"].startswith("checked")
    assert load_store(run)["items"]["gpu_util"]["tick"] is True


def test_checklist_command(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    out = subprocess.run([sys.executable, "-m", "epam_tui.cli", "checklist", str(run), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 1  # the target item fails
    report = json.loads(out.stdout)
    items = report["items"]
    assert report["state"] == "finished" and report["table"]["final_val"] is not None
    assert {i["phase"] for i in items} == {"before", "during", "after"} and len(items) == 13
    text = subprocess.run([sys.executable, "-m", "epam_tui.cli", "checklist", str(run)], capture_output=True,
                          text=True, cwd=ROOT).stdout
    assert "During training" in text and "[FAIL] val top-1 reached the target" in text
    bad = subprocess.run([sys.executable, "-m", "epam_tui.cli", "checklist", str(tmp_path / "nope")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "not a run directory" in bad.stderr
