"""Hostile configs seen by the TUI (issue 19 item 2): a run whose config.yaml is an alias bomb, a FIFO,
``/dev/zero`` or 5,000 levels deep, an MMEngine dump with chained powers, a command template or a
checklist.yaml that is an alias bomb. Each used to hang or crash ``epam-tui status``/``checklist``; now
every reader goes through ``epam.yamlsafe`` (or mmconfig's budget) and the commands end with no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from epam_tui.core.checklist_store import load_store
from epam_tui.core.launch import LaunchError, load_template
from epam_tui.core.registry import load_run

LOG_LINE = ("2025/01/01 00:00:00 - mmengine - INFO - Epoch(train) [1][1/10]  lr: 1.0000e-01  eta: 0:00:10  "
            "time: 0.1  data_time: 0.01  memory: 100  loss: 2.0\n")


def alias_bomb(levels: int = 9) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def make_runs(root: Path) -> dict[str, Path]:
    runs = {}
    for name in ("bomb", "deep", "fifo", "zero", "recursive", "lr_1e3", "mm_pow"):
        run = root / name
        run.mkdir(parents=True)
        (run / "train.log").write_text(LOG_LINE)
        runs[name] = run
    (runs["bomb"] / "config.yaml").write_text(alias_bomb())
    (runs["deep"] / "config.yaml").write_text("x:\n" + "- " * 5000 + "1\n")
    os.mkfifo(runs["fifo"] / "config.yaml")
    (runs["zero"] / "config.yaml").symlink_to("/dev/zero")
    (runs["recursive"] / "config.yaml").write_text("a: &a [1, *a]\n")
    (runs["lr_1e3"] / "config.yaml").write_text("optimizer: {lr: 1e-3}\ntrain: {max_epochs: 12}\n")
    (runs["mm_pow"] / "train.log").unlink()
    ts = runs["mm_pow"] / "20250101_000000"
    (ts / "vis_data").mkdir(parents=True)
    (ts / "20250101_000000.log").write_text(LOG_LINE)
    (ts / "vis_data" / "scalars.json").write_text('{"lr": 0.1, "loss": 1.0, "epoch": 1, "iter": 1, "step": 1}\n')
    (runs["mm_pow"] / "cfg.py").write_text(
        "a = 10\nb = a ** 64\nc = b ** 64\nd = c ** 64\ne = d ** 64\nf = e ** 64\ntrain_cfg = dict(max_epochs=10)\n")
    return runs


@pytest.mark.parametrize("name", ["bomb", "deep", "fifo", "zero", "recursive"])
def test_registry_reads_hostile_config_yaml_as_no_config(tmp_path: Path, name: str) -> None:
    run = load_run(make_runs(tmp_path)[name])
    assert run.config is None


def test_registry_reads_yaml12_floats_in_a_foreign_config(tmp_path: Path) -> None:
    run = load_run(make_runs(tmp_path)["lr_1e3"])
    assert run.config is not None and run.config["optimizer"]["lr"] == 0.001


def test_registry_survives_chained_powers(tmp_path: Path) -> None:
    run = load_run(make_runs(tmp_path)["mm_pow"])
    assert run.kind == "mmengine"


def test_command_template_alias_bomb_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("command: python train.py {config}\n" + alias_bomb())
    with pytest.raises(LaunchError) as info:
        load_template(str(path))
    assert "alias" in str(info.value) and "\n" not in str(info.value)


def test_checklist_store_alias_bomb_reads_as_empty(tmp_path: Path) -> None:
    (tmp_path / "checklist.yaml").write_text(alias_bomb())
    assert load_store(tmp_path) == {"items": {}}


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "epam_tui.cli", *argv], capture_output=True, text=True, timeout=300)


def test_status_and_checklist_commands_end_without_traceback(tmp_path: Path) -> None:
    runs = make_runs(tmp_path)
    out = _cli("status", str(tmp_path))
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
    for name in runs:
        assert name in out.stdout
    for name, run in runs.items():
        out = _cli("checklist", str(run))
        assert out.returncode in (0, 1) and "Traceback" not in out.stdout + out.stderr, (name, out.stderr[-2000:])
        assert "config" in out.stdout


def test_launch_dry_run_refuses_an_alias_bomb_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    root = Path(__file__).resolve().parents[2]
    path.write_text(f"_base_: {root / 'configs' / 'epam_ntu60_optimized.yaml'}\n" + alias_bomb())
    out = _cli("launch", "--dry-run", "--root", str(tmp_path / "runs"), str(path))
    assert out.returncode == 2 and "Traceback" not in out.stdout + out.stderr
    refusal = [line for line in (out.stdout + out.stderr).splitlines() if "alias" in line]
    assert len(refusal) == 1 and str(path) in refusal[0], out.stdout + out.stderr
