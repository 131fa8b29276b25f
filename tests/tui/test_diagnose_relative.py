"""Remedies are relative to the run's own recipe (issue 18 item 3): on the demo recipe (lr 0.3333 after
scaling) "slow" raises the lr, never sets NTU60's 0.002; the NTU60 values are named as such; and the
`epam-tui diagnose RUN [--json]` sub-command prints them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from epam.config import load_config
from epam_tui.core import diagnose as dg
from epam_tui.core.registry import load_run
from tests.tui.test_diagnose_compare_report import fake_run

ROOT = Path(__file__).resolve().parents[2]


def with_recipe(run: Path, **sets: object) -> Path:
    cfg = load_config(run / "config.yaml", [f"{k}={v}" for k, v in sets.items()])
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    return run


def by_kind(run: Path) -> dict[str, dg.Diagnosis]:
    return {d.kind: d for d in dg.diagnose(load_run(run))}


def test_slow_and_unstable_remedies_scale_the_runs_lr(tmp_path: Path) -> None:
    slow = with_recipe(fake_run(tmp_path, "slow", [4.0 - 0.001 * i for i in range(40)], [0.1] * 10, [0.1] * 10),
                       **{"optimizer.lr": 0.3333})
    a, b = by_kind(slow)["too slow"].remedies
    assert a.name == "A: lr 0.443" and a.overrides == {"optimizer": {"lr": 0.443}}  # 0.3333 x 1.33, not 0.002
    assert "0.3333 -> 0.443" in a.description and "NTU60 recipe 0.0015 -> 0.002" in a.description
    assert b.name == "B: warmup" and "10% of 10" in b.description
    sched = b.overrides["scheduler"]
    eta_min = load_config(slow / "config.yaml")["scheduler"]["eta_min"]
    assert sched["milestones"] == [1] and sched["schedulers"][1]["eta_min"] == eta_min  # the run's own cosine end
    changes = dict((k, (x, y)) for k, x, y in dg.remedy_changes(load_run(slow).config, a))
    assert changes == {"optimizer.lr": (0.3333, 0.443)}
    ntu = fake_run(tmp_path, "ntu", [4.0 - 0.001 * i for i in range(40)], [0.1] * 10, [0.1] * 10)
    assert by_kind(ntu)["too slow"].remedies[0].overrides == {"optimizer": {"lr": 0.002}}  # the seed's value
    spiky = [2.0 + 0.01 * (i % 2) for i in range(40)]
    for i in (15, 25, 35):
        spiky[i] = 9.0
    unstable = with_recipe(fake_run(tmp_path, "spiky", spiky, [0.9] * 10, [0.9] * 10), **{"optimizer.lr": 0.05})
    (remedy,) = by_kind(unstable)["unstable"].remedies
    assert remedy.overrides["optimizer"]["lr"] == 0.025


def test_overfit_and_underfit_remedies_are_relative(tmp_path: Path) -> None:
    over = with_recipe(fake_run(tmp_path, "over", [4.0 * 0.97 ** i for i in range(40)], [0.8, 0.9, 0.95],
                                [0.8, 0.85, 0.87]), **{"optimizer.weight_decay": 0.003})
    (wd,) = by_kind(over)["overfitting"].remedies
    assert wd.overrides == {"optimizer": {"weight_decay": 0.005}} and "x5/3" in wd.description
    under = with_recipe(fake_run(tmp_path, "under", [4.0 * 0.97 ** i for i in range(40)], [0.6, 0.75, 0.80] * 4,
                                 [0.6, 0.74, 0.78] * 4), **{"optimizer.lr": 0.05})
    lr, longer = by_kind(under)["underfitting"].remedies
    assert lr.overrides == {"optimizer": {"lr": 0.1}} and "NTU60 recipe 0.0015 -> 0.003" in lr.description
    assert longer.overrides == {"train": {"max_epochs": 19}, "scheduler": {"T_max": 19}}  # 12 x 1.6
    for remedy in (wd, lr, longer):
        run = over if remedy is wd else under
        dg.derive_config(run, remedy, tmp_path / "out" / f"{dg.slug(remedy.name)}.yaml")  # validates


def test_diagnose_command(tmp_path: Path) -> None:
    slow = with_recipe(fake_run(tmp_path, "slow", [4.0 - 0.001 * i for i in range(40)], [0.1] * 10, [0.1] * 10),
                       **{"optimizer.lr": 0.3333})
    out = subprocess.run([sys.executable, "-m", "epam_tui.cli", "diagnose", str(slow), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    found = {d["kind"]: d for d in json.loads(out.stdout)["diagnoses"]}
    first = found["too slow"]["remedies"][0]
    assert first["name"] == "A: lr 0.443" and first["changes"] == [["optimizer.lr", 0.3333, 0.443]]
    text = subprocess.run([sys.executable, "-m", "epam_tui.cli", "diagnose", str(slow)], capture_output=True,
                          text=True, cwd=ROOT).stdout
    assert "too slow:" in text and "optimizer.lr: 0.3333 -> 0.443" in text
    healthy = fake_run(tmp_path, "ok", [4.0 * 0.97 ** i for i in range(40)], [0.8, 0.9, 0.95], [0.8, 0.9, 0.94])
    none = subprocess.run([sys.executable, "-m", "epam_tui.cli", "diagnose", str(healthy)], capture_output=True,
                          text=True, cwd=ROOT)
    assert none.returncode == 0 and "nothing to diagnose" in none.stdout
    bad = subprocess.run([sys.executable, "-m", "epam_tui.cli", "diagnose", str(tmp_path / "nope")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "not a run directory" in bad.stderr


@pytest.mark.parametrize("kind", ["CosineAnnealingLR", "MultiStepLR"])
def test_warmup_follows_the_runs_schedule(kind: str) -> None:
    base = ({"type": kind, "T_max": 50, "eta_min": 1e-5} if kind == "CosineAnnealingLR"
            else {"type": kind, "milestones": [30, 45], "gamma": 0.1})
    sched = dg.warmup_scheduler(50, base=base)
    assert sched["milestones"] == [5] and sched["schedulers"][0]["total_iters"] == 5
    after = sched["schedulers"][1]
    assert after == ({"type": kind, "T_max": 45, "eta_min": 1e-5} if kind == "CosineAnnealingLR"
                     else {"type": kind, "milestones": [25, 40], "gamma": 0.1})
