"""The bad-input catalogue for configs: each malformed config gives one line naming the file, the key
and the fix, exit code 2, and no traceback. Plus a fuzz of the loader with arbitrary YAML."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from epam.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
OPT = str(ROOT / "configs" / "epam_ntu60_optimized.yaml")
BASELINE = str(ROOT / "configs" / "epam_ntu60_baseline.yaml")

# (name, YAML body on top of a base, key expected in the message, words of the fix)
CATALOGUE: list[tuple[str, str, str, str]] = [
    ("negative_lr", "optimizer: {lr: -1}", "optimizer.lr", "must be > 0"),
    ("zero_lr", "optimizer: {lr: 0}", "optimizer.lr", "must be > 0"),
    ("string_lr", "optimizer: {lr: fast}", "optimizer.lr", "must be a number"),
    ("momentum_one", "optimizer: {momentum: 1.0}", "optimizer.momentum", "must be in [0, 1)"),
    ("momentum_negative", "optimizer: {momentum: -0.1}", "optimizer.momentum", "must be in [0, 1)"),
    ("negative_wd", "optimizer: {weight_decay: -1.0e-4}", "optimizer.weight_decay", "must be >= 0"),
    ("unknown_optimizer", "optimizer: {type: Adamw}", "optimizer.type", "choose one of SGD"),
    ("typo_key", "optimizer: {learning_rate: 0.1}", "optimizer.learning_rate", "unknown key"),
    ("typo_section", "optimiser: {lr: 0.1}", "optimiser", "did you mean 'optimizer'"),
    ("eta_min_above_lr", "scheduler: {eta_min: 0.1}", "scheduler.eta_min", "must be < optimizer.lr"),
    ("unknown_scheduler", "scheduler: {_delete_: true, type: Cosine}", "scheduler.type", "unknown scheduler"),
    ("tmax_zero", "scheduler: {T_max: 0}", "scheduler.T_max", "must be >= 1"),
    ("scheduler_bad_key", "scheduler: {T_mx: 50}", "scheduler.T_mx", "did you mean 'T_max'"),
    ("by_epoch_string", "scheduler: {by_epoch: sometimes}", "scheduler.by_epoch", "must be true/false"),
    ("batch_zero", "data: {batch_per_gpu: 0}", "data.batch_per_gpu", "must be >= 1"),
    ("batch_float", "data: {batch_per_gpu: 8.5}", "data.batch_per_gpu", "must be an integer"),
    ("gpus_zero", "train: {gpus: 0}", "train.gpus", "must be >= 1"),
    ("epochs_zero", "train: {max_epochs: 0}", "train.max_epochs", "must be >= 1"),
    ("seed_negative", "train: {seed: -5}", "train.seed", "must be >= 0"),
    ("device_tpu", "train: {device: tpu}", "train.device", "choose one of auto, cuda, cpu"),
    ("amp_string", "train: {amp: maybe}", "train.amp", "must be true/false"),
    ("keep_last_zero", "train: {keep_last: 0}", "train.keep_last", "must be -1 (keep all) or >= 1"),
    ("num_workers_negative", "data: {num_workers: -1}", "data.num_workers", "must be >= 0"),
    ("flip_prob_two", "data: {flip_prob: 2}", "data.flip_prob", "must be in [0, 1]"),
    ("sigma_zero", "data: {sigma: 0}", "data.sigma", "must be > 0"),
    ("rgb_source_bad", "data: {rgb_source: webcam}", "data.rgb_source", "choose one of video, frames"),
    ("heatmap_mismatch", "data: {heatmap_size: 64}", "data.heatmap_size", "must be data.rgb_size / 4"),
    ("clip_len_mismatch", "model: {pose_clip_len: 32}", "model.pose_clip_len", "must be 3 x model.rgb_clip_len"),
    ("classes_zero", "model: {num_classes: 0}", "model.num_classes", "must be >= 1"),
    ("dropout_big", "model: {dropout: 1.5}", "model.dropout", "must be in [0, 1]"),
    ("model_unknown", "model: {type: ResNet}", "model.type", "choose one of EPAMNet"),
    ("ann_file_null", "data: {ann_file: null}", "data.ann_file", "must be set"),
    ("clip_negative", "clip_grad: {max_norm: -40}", "clip_grad.max_norm", "must be > 0"),
    ("section_not_mapping", "train: 5", "train", "must be a mapping"),
    ("lr_infinite", "optimizer: {lr: .inf}", "optimizer.lr", "must be finite"),
]
BASELINE_CASES: list[tuple[str, str, str, str]] = [
    ("milestones_decreasing", "scheduler: {milestones: [40, 20]}", "scheduler.milestones", "strictly increasing"),
    ("milestones_outside", "scheduler: {milestones: [20, 50]}", "scheduler.milestones", "must lie inside"),
    ("milestones_strings", "scheduler: {milestones: [a, b]}", "scheduler.milestones", "list of integers"),
    ("gamma_zero", "scheduler: {gamma: 0}", "scheduler.gamma", "must be > 0"),
]


def _write(tmp_path: Path, name: str, base: str, body: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"_base_: {base}\n{body}\n")
    return path


@pytest.mark.parametrize(("name", "body", "key", "fix"),
                         [(*c[:1], *c[1:]) for c in CATALOGUE], ids=[c[0] for c in CATALOGUE])
def test_catalogue_optimized(tmp_path: Path, name: str, body: str, key: str, fix: str) -> None:
    _check_one(_write(tmp_path, name, OPT, body), key, fix)


@pytest.mark.parametrize(("name", "body", "key", "fix"), BASELINE_CASES, ids=[c[0] for c in BASELINE_CASES])
def test_catalogue_baseline(tmp_path: Path, name: str, body: str, key: str, fix: str) -> None:
    _check_one(_write(tmp_path, name, BASELINE, body), key, fix)


def _check_one(path: Path, key: str, fix: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = info.value.problems
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith(f"{path}: {key}: "), line
    assert fix in line, line


def test_catalogue_size() -> None:
    assert len(CATALOGUE) + len(BASELINE_CASES) >= 30


def test_cli_exit_code_and_single_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad", OPT, "optimizer: {lr: -1}")
    out = subprocess.run([sys.executable, "-m", "epam.cli", "config", "check", str(path)], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [f"{path}: optimizer.lr: must be > 0, got -1"]


# ------------------------------------------------------------------ fuzz: arbitrary YAML

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)

FUZZ_CASES = {"n": 0}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(["optimizer", "scheduler", "train", "data", "model", "clip_grad", "x"]),
                           yaml_values, max_size=4))
def test_fuzz_structured_yaml_never_tracebacks(tmp_path: Path, doc: dict) -> None:
    FUZZ_CASES["n"] += 1
    path = tmp_path / "fuzz.yaml"
    path.write_text(f"_base_: {OPT}\n" + yaml.safe_dump(doc))
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.problems and all(isinstance(p, str) and "\n" not in p for p in exc.problems)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_fuzz_arbitrary_text_never_tracebacks(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert exc.problems and all("\n" not in p for p in exc.problems)
