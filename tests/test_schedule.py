"""expected_lr (pure Python) against torch's own schedulers, for every config and both steppings."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from epam.config import load_config
from epam.schedule import build_scheduler, expected_curve, expected_lr, recipe_total_batch, scaled_lr

CONFIGS = sorted(p for p in (Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def _torch_lrs(cfg: dict, iters_per_epoch: int) -> list[float]:
    import torch

    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=cfg["optimizer"]["lr"], momentum=0.9)
    sched, per_epoch = build_scheduler(opt, cfg, iters_per_epoch)
    lrs = []
    for it in range(cfg["train"]["max_epochs"] * iters_per_epoch):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if not per_epoch:
            sched.step()
        elif (it + 1) % iters_per_epoch == 0:
            sched.step()
    return lrs


@pytest.mark.parametrize("by_epoch", [True, False], ids=["epoch", "iter"])
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_expected_lr_matches_torch(path: Path, by_epoch: bool) -> None:
    cfg = load_config(path, [f"scheduler.by_epoch={str(by_epoch).lower()}"])
    ipe = 7
    lrs = _torch_lrs(cfg, ipe)
    worst = max(abs(expected_lr(cfg, i, ipe) - lr) for i, lr in enumerate(lrs))
    assert worst <= 1e-12, f"{path.name}: max |expected - torch| = {worst}"


def test_epam_imports_no_torch() -> None:
    import subprocess

    code = "import sys, epam, epam.config, epam.schedule; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cosine_shape_and_endpoints() -> None:
    cfg = load_config(Path("configs/epam_ntu60_optimized.yaml"))
    assert expected_lr(cfg, 0, 100) == pytest.approx(0.0015)
    mid = expected_lr(cfg, 25 * 100, 100)
    assert mid == pytest.approx(1e-6 + (0.0015 - 1e-6) / 2)
    steps, lrs = expected_curve(cfg, 100, max_points=100)
    assert steps[0] == 1 and steps[-1] == 5000
    assert all(b <= a + 1e-15 for a, b in zip(lrs, lrs[1:])), "cosine over T_max must not increase"


def test_multistep_staircase() -> None:
    cfg = load_config(Path("configs/epam_ntu60_baseline.yaml"))
    assert expected_lr(cfg, 19 * 10 + 9, 10) == pytest.approx(0.01)
    assert expected_lr(cfg, 20 * 10, 10) == pytest.approx(0.001)
    assert expected_lr(cfg, 40 * 10, 10) == pytest.approx(0.0001)


def test_warmup_then_cosine() -> None:
    cfg = load_config(Path("configs/epam_ntu60_optimized_warmup.yaml"))
    assert expected_lr(cfg, 0, 1) == pytest.approx(0.00015)
    assert expected_lr(cfg, 5, 1) == pytest.approx(0.0015)  # cosine starts at the base lr
    assert expected_lr(cfg, 49, 1) < 0.0001


def test_linear_scaling_rule() -> None:
    cfg = load_config(Path("configs/epam_ntu60_optimized.yaml"))
    assert recipe_total_batch(cfg) == 16
    assert scaled_lr(cfg, 32) == pytest.approx(0.003)
    assert scaled_lr(cfg, 8) == pytest.approx(0.00075)
    with pytest.raises(ValueError):
        scaled_lr(cfg, 0)


def test_expected_lr_does_not_mutate_config() -> None:
    cfg = load_config(Path("configs/epam_ntu60_optimized_warmup.yaml"))
    before = copy.deepcopy(cfg)
    expected_lr(cfg, 123, 10)
    assert cfg == before


def test_expected_curve_is_bounded_for_absurd_epochs() -> None:
    """An unvalidated run config (the TUI reads foreign config.yaml files) with max_epochs 10**29
    used to loop over every epoch boundary; the curve stays at about max_points points."""
    cfg = {"optimizer": {"lr": 0.1}, "train": {"max_epochs": 10**29},
           "scheduler": {"type": "CosineAnnealingLR", "T_max": 50, "eta_min": 0.0, "by_epoch": True}}
    steps, lrs = expected_curve(cfg, 100, max_points=400)
    assert 2 <= len(steps) <= 402 and len(lrs) == len(steps)
    small = dict(cfg, train={"max_epochs": 50})
    steps, _ = expected_curve(small, 100, max_points=400)
    assert {e * 100 + 1 for e in range(50)} <= set(steps)  # epoch boundaries kept when they fit
