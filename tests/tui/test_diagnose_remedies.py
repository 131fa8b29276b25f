"""Every remedy derives a valid child config; launching a remedy / a rerun goes through the launcher."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from epam.config import ConfigError, load_config
from epam_tui.core import diagnose as dg
from epam_tui.core.checklist_store import load_store
from epam_tui.core.registry import load_run
from tests.tui.test_diagnose_compare_report import fake_run


def remedies(run: Path) -> dict[str, dg.Remedy]:
    return {m.name: m for d in dg.diagnose(load_run(run)) for m in d.remedies}


def test_every_remedy_validates(tmp_path: Path) -> None:
    spiky = [2.0 + 0.01 * (i % 2) for i in range(40)]
    for i in (15, 25, 35):
        spiky[i] = 9.0
    unstable = fake_run(tmp_path, "spiky", spiky, [0.9] * 10, [0.9] * 10)
    under = fake_run(tmp_path, "under", [4.0 * 0.97 ** i for i in range(40)], [0.6, 0.75, 0.80], [0.6, 0.74, 0.78])
    base_lr = load_config(unstable / "config.yaml")["optimizer"]["lr"]
    for run in (unstable, under):
        for remedy in remedies(run).values():
            out = dg.derive_config(run, remedy, tmp_path / "out" / f"{run.name}-{dg.slug(remedy.name)}.yaml")
            body = yaml.safe_load(out.read_text())
            assert body["_base_"] == str((run / "config.yaml").resolve())  # a child of the run's config
            assert set(body) - {"_base_"} == set(remedy.overrides)  # only the changed keys
    cfg = load_config(dg.derive_config(unstable, remedies(unstable)["lower lr + warmup"], tmp_path / "u.yaml"))
    assert cfg["optimizer"]["lr"] == pytest.approx(base_lr / 2) and cfg["scheduler"]["type"] == "SequentialLR"
    assert cfg["scheduler"]["milestones"] == [1] and cfg["scheduler"]["schedulers"][0]["start_factor"] == 0.1
    longer = load_config(dg.derive_config(under, remedies(under)["5 epochs"], tmp_path / "l.yaml"))  # 3 x 1.6
    assert longer["train"]["max_epochs"] == 5 and longer["scheduler"]["T_max"] == 5
    diff = dg.preview_diff(under, tmp_path / "l.yaml")
    assert ("train.max_epochs", 3, 5) in diff and ("scheduler.T_max", 3, 5) in diff


def test_invalid_remedy_leaves_no_file(tmp_path: Path) -> None:
    run = fake_run(tmp_path, "r", [3.0] * 12, [0.5], [0.5])
    with pytest.raises(ConfigError):
        dg.derive_config(run, dg.Remedy("bad", "x", {"train": {"max_epochs": 0}}), tmp_path / "bad.yaml")
    assert not (tmp_path / "bad.yaml").exists()


def test_launch_remedy_and_rerun(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from epam_tui.core import runs

    run = fake_run(tmp_path, "base", [3.0] * 12, [0.5], [0.5])
    plans = []

    def fake_launch(plan, state, confirmed_busy=False):
        plans.append(plan)
        return {"name": plan.name, "work_dir": str(plan.run_dir)}

    monkeypatch.setattr(runs, "launch", fake_launch)
    rec = dg.launch_remedy(run, dg.Remedy("A: lr 0.002", "x", {"optimizer": {"lr": 0.002}}), gpus="cpu")
    assert rec["name"] == "base-a-lr-0-002" and plans[0].gpus == []
    assert Path(plans[0].config) == run / "remedies" / "a-lr-0-002.yaml"
    assert load_config(plans[0].config)["optimizer"]["lr"] == 0.002
    (tmp_path / "base-rerun").mkdir()  # taken: the rerun gets the next free name
    rec = dg.launch_rerun(run, gpus="cpu")
    assert rec["name"] == "base-rerun-2" and Path(plans[1].config) == (run / "config.yaml").resolve()
    assert load_store(run)["rerun"] == str(tmp_path / "base-rerun-2")
