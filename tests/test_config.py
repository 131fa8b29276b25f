"""The config layer: inheritance, _delete_, overrides, validation (one test per message), seed table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from epam.config import ConfigError, diff, load_config, load_raw, merge, parse_override

ROOT = Path(__file__).resolve().parents[1]
OPT = ROOT / "configs" / "epam_ntu60_optimized.yaml"
BASE = ROOT / "configs" / "epam_ntu60_baseline.yaml"


def write(path: Path, data: dict | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def child_of_optimized(tmp_path: Path, body: dict) -> Path:
    return write(tmp_path / "child.yaml", {"_base_": str(OPT), **body})


def problems(path: Path, overrides: list[str] = ()) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, overrides)
    return info.value.problems


# ---------------------------------------------------------------- inheritance and overrides


def test_merge_child_wins_and_deep() -> None:
    out = merge({"a": {"b": 1, "c": 2}, "x": 1}, {"a": {"b": 5}})
    assert out == {"a": {"b": 5, "c": 2}, "x": 1}


def test_delete_replaces_instead_of_merging() -> None:
    out = merge({"s": {"type": "MultiStepLR", "milestones": [1]}}, {"s": {"_delete_": True, "type": "CosineAnnealingLR"}})
    assert out == {"s": {"type": "CosineAnnealingLR"}}


def test_optimized_drops_multistep_keys() -> None:
    cfg = load_config(OPT)
    assert cfg["scheduler"] == {"type": "CosineAnnealingLR", "T_max": 50, "eta_min": 1e-6, "by_epoch": True}


def test_base_list_resolved_relative_to_file(tmp_path: Path) -> None:
    write(tmp_path / "parts" / "a.yaml", {"x": {"v": 1, "w": 1}})
    write(tmp_path / "parts" / "b.yaml", {"x": {"v": 2}})
    top = write(tmp_path / "top.yaml", {"_base_": ["parts/a.yaml", "parts/b.yaml"], "y": 3})
    assert load_raw(top) == {"x": {"v": 2, "w": 1}, "y": 3}


def test_overrides_typed_as_yaml(tmp_path: Path) -> None:
    cfg = load_config(OPT, ["optimizer.lr=0.002", "train.max_epochs=80", "scheduler.T_max=80", "train.seed=null"])
    assert cfg["optimizer"]["lr"] == 0.002 and isinstance(cfg["train"]["max_epochs"], int)
    assert cfg["train"]["seed"] is None


def test_override_syntax_error() -> None:
    with pytest.raises(ConfigError, match="expected key.path=value"):
        parse_override("optimizer.lr")


def test_cycle_detected(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {"_base_": "b.yaml"})
    write(tmp_path / "b.yaml", {"_base_": "a.yaml"})
    (line,) = problems(tmp_path / "a.yaml")
    assert "inheritance cycle" in line


def test_missing_base(tmp_path: Path) -> None:
    (line,) = problems(write(tmp_path / "a.yaml", {"_base_": "nope.yaml"}))
    assert "base file not found" in line and "nope.yaml" in line


def test_missing_config_file(tmp_path: Path) -> None:
    (line,) = problems(tmp_path / "absent.yaml")
    assert "config file not found" in line


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    (line,) = problems(write(tmp_path / "bad.yaml", "optimizer:\n  lr: [1, 2\n"))
    assert "invalid YAML" in line and "line" in line


# ---------------------------------------------------------------- one test per validation message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("optimizer.lr=-1", "optimizer.lr: must be > 0, got -1"),
        ("optimizer.momentum=1.0", "optimizer.momentum: must be in [0, 1), got 1.0"),
        ("optimizer.weight_decay=-0.1", "optimizer.weight_decay: must be >= 0, got -0.1"),
        ("scheduler.eta_min=0.01", "scheduler.eta_min: must be < optimizer.lr (0.0015), got 0.01"),
        ("data.batch_per_gpu=0", "data.batch_per_gpu: must be >= 1, got 0"),
        ("train.gpus=0", "train.gpus: must be >= 1, got 0"),
        ("optimizer.lr=fast", "optimizer.lr: must be a number, got str 'fast'"),
        ("train.max_epochs=2.5", "train.max_epochs: must be an integer, got float 2.5"),
        ("optimizer.momentm=0.9", "optimizer.momentm: unknown key (did you mean 'momentum'?)"),
        ("model.type=EPAMNett", "model.type: unknown value 'EPAMNett'; choose one of EPAMNet (did you mean 'EPAMNet'?)"),
        ("scheduler.type=CosineLR", "scheduler.type: unknown scheduler 'CosineLR'"),
        ("model.pose_clip_len=40", "model.pose_clip_len: must be 3 x model.rgb_clip_len = 48, got 40"),
        ("data.heatmap_size=64", "data.heatmap_size: must be data.rgb_size / 4"),
        ("model.dropout=1.5", "model.dropout: must be in [0, 1], got 1.5"),
        ("train.amp=yes please", "train.amp: must be true/false"),
    ],
)
def test_validation_message(override: str, expected: str) -> None:
    lines = problems(OPT, [override])
    assert any(expected in line for line in lines), lines
    assert all(line.startswith(str(OPT) + ": ") for line in lines)


def test_milestones_must_increase() -> None:
    (line,) = problems(BASE, ["scheduler.milestones=[40, 20]"])
    assert "scheduler.milestones: must be strictly increasing, got [40, 20]" in line


def test_milestones_inside_max_epochs() -> None:
    (line,) = problems(BASE, ["scheduler.milestones=[20, 60]"])
    assert "must lie inside (0, train.max_epochs=50)" in line


def test_warmup_end_inside_max_epochs() -> None:
    lines = problems(ROOT / "configs" / "epam_ntu60_optimized_warmup.yaml", ["scheduler.milestones=[60]"])
    assert any("warmup end must be <= train.max_epochs=50" in line for line in lines)


def test_missing_key_reported(tmp_path: Path) -> None:
    raw = load_raw(OPT)
    del raw["optimizer"]["lr"]
    lines = problems(write(tmp_path / "flat.yaml", raw))
    assert any("optimizer.lr: missing" in line for line in lines)


def test_all_problems_reported_at_once() -> None:
    lines = problems(OPT, ["optimizer.lr=-1", "optimizer.momentum=2", "train.gpus=0"])
    assert len(lines) == 3


def test_cli_reports_without_traceback(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "epam.cli", "config", "show", str(OPT), "--set", "optimizer.lr=-1"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert out.stderr.strip() == f"{OPT}: optimizer.lr: must be > 0, got -1"


# ---------------------------------------------------------------- the seed's table


def test_baseline_vs_optimized_is_exactly_the_seed_table() -> None:
    rows = {key: (a, b) for key, a, b in diff(load_config(BASE), load_config(OPT))}
    assert rows.pop("optimizer.lr") == (0.01, 0.0015)
    assert rows.pop("optimizer.weight_decay") == (0.0001, 0.0003)
    assert rows.pop("train.seed") == (None, 100)
    sched = {k: rows.pop(k) for k in list(rows) if k.startswith("scheduler.")}
    assert sched["scheduler.type"] == ("MultiStepLR", "CosineAnnealingLR")
    assert sched["scheduler.T_max"] == (None, 50) and sched["scheduler.eta_min"] == (None, 1e-6)
    assert rows == {}, f"unexpected differences: {rows}"


def test_shared_recipe_values() -> None:
    for path in (BASE, OPT):
        cfg = load_config(path)
        assert cfg["optimizer"]["momentum"] == 0.9
        assert cfg["clip_grad"]["max_norm"] == 40
        assert cfg["data"]["batch_per_gpu"] == 8 and cfg["train"]["gpus"] == 2
        assert cfg["train"]["max_epochs"] == 50
    assert load_config(OPT)["train"]["deterministic"] is False
    base = load_config(BASE)["scheduler"]
    assert base["milestones"] == [20, 40] and base["gamma"] == 0.1


def test_remedies_are_children_of_optimized() -> None:
    opt = load_config(OPT)
    expected = {
        "epam_ntu60_optimized_lr002.yaml": {"optimizer.lr"},
        "epam_ntu60_optimized_lr003.yaml": {"optimizer.lr"},
        "epam_ntu60_optimized_wd5e-4.yaml": {"optimizer.weight_decay"},
        "epam_ntu60_optimized_80e.yaml": {"train.max_epochs", "scheduler.T_max"},
    }
    for name, keys in expected.items():
        assert {k for k, _, _ in diff(opt, load_config(ROOT / "configs" / name))} == keys, name
    warm = load_config(ROOT / "configs" / "epam_ntu60_optimized_warmup.yaml")["scheduler"]
    assert warm["type"] == "SequentialLR" and warm["milestones"] == [5]
    assert warm["schedulers"][0]["start_factor"] == 0.1 and warm["schedulers"][1]["T_max"] == 45
