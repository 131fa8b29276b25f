"""The bad-input catalogue for configs: each malformed config gives one line naming the file, the key
and the fix, exit code 2, and no traceback. Plus a fuzz of the loader with arbitrary YAML."""

from __future__ import annotations

import os
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
    # numbers in YAML 1.2 spelling are numbers; non-finite ones and integers past their bound are refused
    ("lr_1e999", "optimizer: {lr: 1e999}", "optimizer.lr", "must be finite"),
    ("lr_nan", "optimizer: {lr: .nan}", "optimizer.lr", "must be finite"),
    ("eta_min_1e999", "scheduler: {eta_min: 1e999}", "scheduler.eta_min", "must be finite"),
    ("clip_1e999", "clip_grad: {max_norm: 1e999}", "clip_grad.max_norm", "must be finite"),
    ("epochs_1e29", "train: {max_epochs: 100000000000000000000000000000}", "train.max_epochs",
     "must be <= 100,000 epochs (the upper bound)"),
    ("epochs_float", "train: {max_epochs: 1e29}", "train.max_epochs", "must be an integer"),
    ("tmax_huge", "scheduler: {T_max: 1000000}", "scheduler.T_max", "must be <= 100,000 epochs"),
    ("batch_huge", "data: {batch_per_gpu: 10000000}", "data.batch_per_gpu", "must be <= 65,536"),
    ("val_batch_huge", "data: {val_batch_per_gpu: 10000000}", "data.val_batch_per_gpu", "must be <= 65,536"),
    ("workers_huge", "data: {num_workers: 100000}", "data.num_workers", "must be <= 256"),
    ("gpus_huge", "train: {gpus: 100000}", "train.gpus", "must be <= 1,024"),
    ("seed_huge", "train: {seed: 4294967296}", "train.seed", "must be <= 4,294,967,295"),
    ("val_interval_huge", "train: {val_interval: 1000000}", "train.val_interval", "must be <= 100,000 epochs"),
    ("log_interval_huge", "train: {log_interval: 10000000}", "train.log_interval", "must be <= 1,000,000 iterations"),
    ("nan_patience_huge", "train: {nan_patience: 10000000}", "train.nan_patience", "must be <= 1,000,000"),
    ("keep_last_huge", "train: {keep_last: 1000000}", "train.keep_last", "<= 100,000 (the upper bound)"),
    ("classes_huge", "model: {num_classes: 10000000}", "model.num_classes", "must be <= 100,000"),
]
BASELINE_CASES: list[tuple[str, str, str, str]] = [
    ("milestones_decreasing", "scheduler: {milestones: [40, 20]}", "scheduler.milestones", "strictly increasing"),
    ("milestones_outside", "scheduler: {milestones: [20, 50]}", "scheduler.milestones", "must lie inside"),
    ("milestones_strings", "scheduler: {milestones: [a, b]}", "scheduler.milestones", "list of integers"),
    ("gamma_zero", "scheduler: {gamma: 0}", "scheduler.gamma", "must be > 0"),
    ("milestones_huge", "scheduler: {milestones: [20, 1000000]}", "scheduler.milestones", "must be <= 100,000 epochs"),
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


# ------------------------------------------------------------------ YAML 1.2 numbers (issue 18 item 6)


def test_exponent_floats_are_numbers(tmp_path: Path) -> None:
    """``lr: 1e-3`` (YAML 1.1 reads a string) is a float in a file, a base, and a --set override."""
    base = tmp_path / "base.yaml"
    base.write_text(f"_base_: {OPT}\nscheduler: {{eta_min: 1e-6}}\n")
    path = _write(tmp_path, "child", str(base), "optimizer: {lr: 1e-3, weight_decay: 5E-4}")
    cfg = load_config(path)
    assert cfg["optimizer"]["lr"] == 0.001 and cfg["optimizer"]["weight_decay"] == 0.0005
    assert cfg["scheduler"]["eta_min"] == 1e-6
    cfg = load_config(OPT, ["optimizer.lr=1e-3", "scheduler.eta_min=.5e-6"])
    assert cfg["optimizer"]["lr"] == 0.001 and cfg["scheduler"]["eta_min"] == 5e-7


# ------------------------------------------------------------------ hostile files (issue 19 items 2 and 9)


def alias_bomb(levels: int = 9) -> str:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def _hostile(tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """name -> (config path, the file the message must name, words of the cause)."""
    out: dict[str, tuple[Path, str, str]] = {}

    def add(name: str, body: str, names: Path | None = None, cause: str = "") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(body)
        out[name] = (path, str(names or path), cause)
        return path

    add("alias_bomb", f"_base_: {OPT}\n" + alias_bomb(), cause="once aliases are expanded")
    bomb_base = tmp_path / "bomb_base.yaml"
    bomb_base.write_text(alias_bomb())
    add("alias_bomb_in_base", f"_base_: {bomb_base}\n", names=bomb_base, cause="alias bomb")
    add("recursive_alias", f"_base_: {OPT}\nx: &a [1, *a]\n", cause="recursive alias")
    add("nested_5000_flow", f"_base_: {OPT}\nx: " + "[" * 5000 + "]" * 5000 + "\n", cause="nesting depth")
    add("nested_1000_block", "".join(" " * i + f"k{i}:\n" for i in range(1000)) + " " * 1000 + "1\n",
        cause="nested deeper than 100")
    add("nested_5000_list", "x:\n" + "- " * 5000 + "1\n", cause="nested deeper than 100")
    add("base_dev_zero", "_base_: /dev/zero\n", cause="_base_: /dev/zero is a device, not a regular file")
    add("base_directory", f"_base_: {tmp_path}\n", cause="is a directory, not a regular file")
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    add("base_fifo", f"_base_: {fifo}\n", cause="is a FIFO, not a regular file")
    out["config_fifo"] = (fifo, str(fifo), "is a FIFO, not a regular file")
    add("huge_file", f"_base_: {OPT}\n" + "# padding\n" * 200_000, cause="larger than 1,024 KiB")
    add("huge_integer", f"_base_: {OPT}\ntrain: {{max_epochs: {'9' * 5000}}}\n", cause="integer too large")
    add("epochs_1e29", f"_base_: {OPT}\ntrain: {{max_epochs: {10 ** 29}}}\n", cause="must be <= 100,000 epochs")
    return out


HOSTILE = ["alias_bomb", "alias_bomb_in_base", "recursive_alias", "nested_5000_flow", "nested_1000_block",
           "nested_5000_list",
           "base_dev_zero", "base_directory", "base_fifo", "config_fifo", "huge_file", "huge_integer", "epochs_1e29"]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_config_is_one_line(tmp_path: Path, name: str) -> None:
    path, names, cause = _hostile(tmp_path)[name]
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (line,) = info.value.problems
    assert line.startswith(names) and cause in line, line


def test_alias_bomb_in_set_override_is_refused() -> None:
    bomb = "[&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]" + "".join(
        f", &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)) + "]"
    with pytest.raises(ConfigError) as info:
        load_config(OPT, [f"model.x={bomb}"])
    (line,) = info.value.problems
    assert line.startswith("--set model.x: refused:") and "alias" in line


def test_base_chain_file_count_is_bounded(tmp_path: Path) -> None:
    """A diamond of bases (each file lists the next one 4 times) would read 4**10 files."""
    (tmp_path / "c10.yaml").write_text("x: 1\n")
    for i in range(9, -1, -1):
        (tmp_path / f"c{i}.yaml").write_text(f"_base_: [c{i + 1}.yaml, c{i + 1}.yaml, c{i + 1}.yaml, c{i + 1}.yaml]\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c0.yaml")
    (line,) = info.value.problems
    assert "_base_: more than 32 files" in line


@pytest.mark.parametrize("name", ["alias_bomb", "nested_5000_flow", "base_dev_zero", "base_fifo", "huge_integer",
                                  "epochs_1e29"])
def test_cli_config_show_and_train_print_one_line(tmp_path: Path, name: str) -> None:
    """``epam config show`` and ``epam train`` exit 2 with one line on stderr (no traceback, no hang:
    each of these hung or crashed before)."""
    path, names, cause = _hostile(tmp_path)[name]
    for argv in (["config", "show", str(path)], ["train", str(path), "--work-dir", str(tmp_path / "wd")]):
        out = subprocess.run([sys.executable, "-m", "epam.cli", *argv], capture_output=True, text=True,
                             timeout=300)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1, (argv, out.stderr[-2000:])
        assert lines[0].startswith(names) and cause in lines[0], lines


@st.composite
def alias_graph_configs(draw) -> str:
    """A config body whose ``x`` section is a random graph of anchored lists (chains, fan-out, reuse)."""
    count = draw(st.integers(1, 25))
    lines = ["x:"]
    for i in range(count):
        refs = draw(st.lists(st.integers(0, max(i - 1, 0)), min_size=1, max_size=12)) if i else []
        lines.append(f"  a{i}: &a{i} [{', '.join(f'*a{r}' for r in refs) or '1e-3, .5e-2'}]")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=alias_graph_configs())
def test_fuzz_alias_graphs_never_hang_or_traceback(tmp_path: Path, body: str) -> None:
    """Small graphs give the usual 'unknown key x' line; bombs give the alias bound's line."""
    path = tmp_path / "fuzz.yaml"
    path.write_text(f"_base_: {OPT}\n{body}")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (line,) = info.value.problems
    assert "x: unknown key" in line or "once aliases are expanded" in line, line
