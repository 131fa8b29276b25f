"""YAML configs: `_base_` inheritance, `--set` overrides, validation with one line per problem.

Loading never imports torch, so the TUI can use it.

- YAML only, read with ``yaml.safe_load``.
- ``_base_: path`` or a list of paths, relative to the file that names them. Bases merge left to right,
  then the file itself on top; mappings merge deeply and the child wins. ``_delete_: true`` inside a
  mapping replaces the inherited mapping instead of merging into it (the MMEngine habit).
- Overrides ``a.b.c=value`` (values typed as YAML) apply after inheritance, before validation.
- Validation checks every key against one schema (``SCHEMA`` below) and reports all problems at once,
  each as ``<file>: <key.path>: <problem>``.

The schema is plain data (nested dicts of ``Field``), not dataclasses or pydantic: the config stays a
plain dict that serialises back to YAML unchanged, the error wording is ours (one line, key path,
fix), and there is no extra dependency for the TUI to import.
"""

from __future__ import annotations

import copy
import difflib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"


class ConfigError(Exception):
    """A config could not be loaded; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --------------------------------------------------------------------------------------------
# loading and merging


def _read_yaml(path: Path, origin: str) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{origin}: file not found: {path} (check the path)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{path}: {where}invalid YAML: {problem} (fix the syntax)"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: top level must be a mapping of keys, got {type(data).__name__}"])
    return data


def merge(base: dict, child: dict) -> dict:
    """Deep-merge ``child`` onto ``base`` (child wins); honours ``_delete_: true`` in child mappings."""
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict):
            value = dict(value)
            replace = bool(value.pop(DELETE_KEY, False))
            if not replace and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = merge({}, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _strip_delete(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_delete(v) for k, v in node.items() if k != DELETE_KEY}
    if isinstance(node, list):
        return [_strip_delete(v) for v in node]
    return node


def load_raw(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Load a YAML file with its ``_base_`` chain merged, without validation."""
    path = Path(path)
    resolved = path.resolve()
    if resolved in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, resolved))
        raise ConfigError([f"{_chain[-1]}: _base_: inheritance cycle: {cycle} (remove one of the links)"])
    origin = str(_chain[-1]) if _chain else "config"
    data = _read_yaml(path, origin)
    bases = data.pop(BASE_KEY, None)
    if bases is None:
        return data
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError([f"{path}: _base_: must be a path or a list of paths"])
    merged: dict = {}
    for base in bases:
        base_path = (path.parent / base)
        if not base_path.exists():
            raise ConfigError([f"{path}: _base_: base file not found: {base_path} (fix the path; it is relative to {path.parent})"])
        merged = merge(merged, load_raw(base_path, (*_chain, resolved)))
    return merge(merged, data)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=1e-3`` -> (["a", "b"], 0.001); the value is typed as YAML."""
    if "=" not in text:
        raise ConfigError([f"--set {text}: expected key.path=value, e.g. optimizer.lr=0.002"])
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError([f"--set {text}: empty key; expected key.path=value"])
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(cfg: dict, overrides: Iterable[str]) -> dict:
    """Apply ``--set`` overrides to a copy of ``cfg``."""
    out = copy.deepcopy(cfg)
    for text in overrides:
        parts, value = parse_override(text)
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return out


# --------------------------------------------------------------------------------------------
# schema


@dataclass
class Field:
    """One leaf of the schema: accepted types, whether null is allowed, and a range check."""

    types: tuple[type, ...]
    nullable: bool = False
    check: Callable[[Any], str | None] | None = None
    choices: tuple[Any, ...] | None = None
    default: Any = None


def _gt0(v: Any) -> str | None:
    return None if v > 0 else f"must be > 0, got {v}"


def _ge0(v: Any) -> str | None:
    return None if v >= 0 else f"must be >= 0, got {v}"


def _ge1(v: Any) -> str | None:
    return None if v >= 1 else f"must be >= 1, got {v}"


def _unit_open(v: Any) -> str | None:
    return None if 0 <= v < 1 else f"must be in [0, 1), got {v}"


def _prob(v: Any) -> str | None:
    return None if 0 <= v <= 1 else f"must be in [0, 1], got {v}"


NUM = (int, float)
INT = (int,)
STR = (str,)
BOOL = (bool,)
LIST = (list,)

SCHEDULERS = ("MultiStepLR", "CosineAnnealingLR", "LinearLR", "StepLR", "ConstantLR", "SequentialLR")

SCHEMA: dict[str, Any] = {
    "model": {
        "type": Field(STR, choices=("EPAMNet",)),
        "num_classes": Field(INT, check=_ge1),
        "rgb_clip_len": Field(INT, check=_ge1),
        "pose_clip_len": Field(INT, check=_ge1),
        "dropout": Field(NUM, check=_prob),
        "attention": Field(BOOL),
        "sync_bn": Field(BOOL),
        "pretrained_rgb": Field(STR, nullable=True),
        "pretrained_pose": Field(STR, nullable=True),
        "load_from": Field(STR, nullable=True),
    },
    "data": {
        "dataset": Field(STR, choices=("ntu60", "ntu120", "synthetic")),
        "ann_file": Field(STR),
        "video_root": Field(STR),
        "rgb_source": Field(STR, choices=("video", "frames")),
        "train_split": Field(STR),
        "val_split": Field(STR),
        "rgb_size": Field(INT, check=_ge1),
        "heatmap_size": Field(INT, check=_ge1),
        "sigma": Field(NUM, check=_gt0),
        "with_limb": Field(BOOL),
        "flip_prob": Field(NUM, check=_prob),
        "batch_per_gpu": Field(INT, check=_ge1),
        "val_batch_per_gpu": Field(INT, check=_ge1),
        "num_workers": Field(INT, check=_ge0),
        "pin_memory": Field(BOOL),
    },
    "optimizer": {
        "type": Field(STR, choices=("SGD",)),
        "lr": Field(NUM, check=_gt0),
        "momentum": Field(NUM, check=_unit_open),
        "weight_decay": Field(NUM, check=_ge0),
        "nesterov": Field(BOOL),
    },
    "clip_grad": Field((dict,), nullable=True),  # checked by _check_clip_grad
    "scheduler": Field((dict,)),  # checked by _check_scheduler
    "train": {
        "max_epochs": Field(INT, check=_ge1),
        "gpus": Field(INT, check=_ge1),
        "device": Field(STR, choices=("auto", "cuda", "cpu")),
        "amp": Field(BOOL),
        "val_interval": Field(INT, check=_ge1),
        "log_interval": Field(INT, check=_ge1),
        "seed": Field(INT, nullable=True, check=_ge0),
        "deterministic": Field(BOOL),
        "nan_patience": Field(INT, check=_ge1),
        "keep_last": Field(INT, check=lambda v: None if v == -1 or v >= 1 else f"must be -1 (keep all) or >= 1, got {v}"),
        "save_best": Field(STR, nullable=True),
    },
    "work_dir": Field(STR, nullable=True),
}

# keys each scheduler type accepts (counts are epochs; `by_epoch` says how the scheduler steps)
SCHEDULER_KEYS: dict[str, dict[str, Field]] = {
    "MultiStepLR": {"milestones": Field(LIST), "gamma": Field(NUM, check=_gt0)},
    "CosineAnnealingLR": {"T_max": Field(INT, check=_ge1), "eta_min": Field(NUM, check=_ge0)},
    "LinearLR": {
        "start_factor": Field(NUM, check=lambda v: None if 0 < v <= 1 else f"must be in (0, 1], got {v}"),
        "end_factor": Field(NUM, check=lambda v: None if 0 <= v <= 1 else f"must be in [0, 1], got {v}"),
        "total_iters": Field(INT, check=_ge1),
    },
    "StepLR": {"step_size": Field(INT, check=_ge1), "gamma": Field(NUM, check=_gt0)},
    "ConstantLR": {
        "factor": Field(NUM, check=lambda v: None if 0 < v <= 1 else f"must be in (0, 1], got {v}"),
        "total_iters": Field(INT, check=_ge1),
    },
    "SequentialLR": {"schedulers": Field(LIST), "milestones": Field(LIST)},
}
REQUIRED_SCHEDULER_KEYS = {
    "MultiStepLR": ("milestones",),
    "CosineAnnealingLR": ("T_max",),
    "StepLR": ("step_size",),
    "SequentialLR": ("schedulers", "milestones"),
}


def _type_name(types: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "a list", dict: "a mapping"}
    if types == NUM:
        return "a number"
    return " or ".join(names.get(t, t.__name__) for t in types)


def _did_you_mean(key: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Problems:
    def __init__(self, origin: str):
        self.origin = origin
        self.lines: list[str] = []

    def add(self, key: str, message: str) -> None:
        line = f"{self.origin}: {key}: {message}"
        self.lines.append("".join(c if c.isprintable() else repr(c)[1:-1] for c in line))


def _check_value(value: Any, spec: Field, key: str, out: _Problems) -> bool:
    if value is None:
        if not spec.nullable:
            out.add(key, f"must be set, got null (give {_type_name(spec.types)})")
            return False
        return True
    ok = isinstance(value, spec.types) and not (isinstance(value, bool) and bool not in spec.types)
    if not ok:
        out.add(key, f"must be {_type_name(spec.types)}, got {type(value).__name__} {value!r}")
        return False
    if isinstance(value, float) and not math.isfinite(value):
        out.add(key, f"must be finite, got {value}")
        return False
    if spec.choices is not None and value not in spec.choices:
        out.add(key, f"unknown value {value!r}; choose one of {', '.join(map(str, spec.choices))}"
                f"{_did_you_mean(str(value), map(str, spec.choices))}")
        return False
    if spec.check is not None:
        message = spec.check(value)
        if message:
            out.add(key, message)
            return False
    return True


def _check_tree(node: Any, schema: dict, prefix: str, out: _Problems) -> None:
    if not isinstance(node, dict):
        out.add(prefix.rstrip("."), f"must be a mapping, got {type(node).__name__}")
        return
    for key, value in node.items():
        path = f"{prefix}{key}"
        if key not in schema:
            out.add(path, f"unknown key{_did_you_mean(str(key), schema)}")
            continue
        spec = schema[key]
        if isinstance(spec, dict):
            _check_tree(value, spec, f"{path}.", out)
        else:
            _check_value(value, spec, path, out)
    for key, spec in schema.items():
        if key not in node and not isinstance(spec, dict) and not spec.nullable:
            out.add(f"{prefix}{key}", "missing (add it, or inherit a _base_ that sets it)")
        elif key not in node and isinstance(spec, dict):
            out.add(f"{prefix}{key}", "missing section (inherit it from a _base_ config)")


def _check_one_scheduler(sched: Any, key: str, max_epochs: int | None, out: _Problems) -> None:
    if not isinstance(sched, dict):
        out.add(key, f"must be a mapping, got {type(sched).__name__}")
        return
    kind = sched.get("type")
    if kind not in SCHEDULER_KEYS:
        out.add(f"{key}.type", f"unknown scheduler {kind!r}; choose one of {', '.join(SCHEDULERS)}"
                f"{_did_you_mean(str(kind), SCHEDULERS)}")
        return
    allowed = SCHEDULER_KEYS[kind]
    for name, value in sched.items():
        if name in ("type", "by_epoch"):
            if name == "by_epoch" and not isinstance(value, bool):
                out.add(f"{key}.by_epoch", f"must be true/false, got {value!r}")
            continue
        if name not in allowed:
            out.add(f"{key}.{name}", f"unknown key for {kind}{_did_you_mean(str(name), allowed)}")
            continue
        _check_value(value, allowed[name], f"{key}.{name}", out)
    for name in REQUIRED_SCHEDULER_KEYS.get(kind, ()):
        if name not in sched:
            out.add(f"{key}.{name}", f"missing (required by {kind})")
    if kind == "MultiStepLR" and isinstance(sched.get("milestones"), list):
        ms = sched["milestones"]
        if not all(isinstance(m, int) and not isinstance(m, bool) for m in ms):
            out.add(f"{key}.milestones", f"must be a list of integers (epochs), got {ms}")
        elif any(b <= a for a, b in zip(ms, ms[1:])):
            out.add(f"{key}.milestones", f"must be strictly increasing, got {ms}")
        elif max_epochs is not None and any(m <= 0 or m >= max_epochs for m in ms):
            out.add(f"{key}.milestones", f"must lie inside (0, train.max_epochs={max_epochs}), got {ms}")
    if kind == "SequentialLR":
        subs, ms = sched.get("schedulers"), sched.get("milestones")
        if isinstance(subs, list):
            for i, sub in enumerate(subs):
                if isinstance(sub, dict) and sub.get("type") == "SequentialLR":
                    out.add(f"{key}.schedulers[{i}]", "nested SequentialLR is not supported")
                    continue
                _check_one_scheduler(sub, f"{key}.schedulers[{i}]", max_epochs, out)
        if isinstance(subs, list) and isinstance(ms, list):
            if len(ms) != len(subs) - 1:
                out.add(f"{key}.milestones", f"needs {len(subs) - 1} milestone(s) for {len(subs)} schedulers, got {len(ms)}")
            elif any(not isinstance(m, int) for m in ms) or any(b <= a for a, b in zip(ms, ms[1:])):
                out.add(f"{key}.milestones", f"must be increasing integers (epochs), got {ms}")
            elif max_epochs is not None and any(m <= 0 or m > max_epochs for m in ms):
                out.add(f"{key}.milestones", f"warmup end must be <= train.max_epochs={max_epochs}, got {ms}")


def _section(cfg: dict, name: str) -> dict:
    value = cfg.get(name)
    return value if isinstance(value, dict) else {}


def _check_scheduler(cfg: dict, out: _Problems) -> None:
    sched = cfg.get("scheduler")
    if not isinstance(sched, dict):
        return
    max_epochs = _section(cfg, "train").get("max_epochs")
    max_epochs = max_epochs if isinstance(max_epochs, int) else None
    _check_one_scheduler(sched, "scheduler", max_epochs, out)
    lr = _section(cfg, "optimizer").get("lr")
    for key, sub in [("scheduler", sched)] + [
        (f"scheduler.schedulers[{i}]", s) for i, s in enumerate(sched.get("schedulers") or []) if isinstance(s, dict)
    ]:
        eta = sub.get("eta_min")
        if isinstance(eta, NUM) and isinstance(lr, NUM) and lr > 0 and not eta < lr:
            out.add(f"{key}.eta_min", f"must be < optimizer.lr ({lr}), got {eta}")


def _check_clip_grad(cfg: dict, out: _Problems) -> None:
    clip = cfg.get("clip_grad")
    if not isinstance(clip, dict):
        return
    schema = {"max_norm": Field(NUM, check=_gt0), "norm_type": Field(NUM, check=_gt0)}
    _check_tree(clip, schema, "clip_grad.", out)


def _check_cross(cfg: dict, out: _Problems) -> None:
    model, data = _section(cfg, "model"), _section(cfg, "data")
    rgb_t, pose_t = model.get("rgb_clip_len"), model.get("pose_clip_len")
    if isinstance(rgb_t, int) and isinstance(pose_t, int) and pose_t != 3 * rgb_t:
        out.add("model.pose_clip_len", f"must be 3 x model.rgb_clip_len = {3 * rgb_t}, got {pose_t} "
                "(RGB frame t is pose frame 3t)")
    rgb_s, hm_s = data.get("rgb_size"), data.get("heatmap_size")
    if isinstance(rgb_s, int) and isinstance(hm_s, int):
        if rgb_s % 32 or hm_s % 8 or rgb_s // 32 != hm_s // 8:
            out.add("data.heatmap_size", f"must be data.rgb_size / 4 with rgb_size a multiple of 32 "
                    f"(both streams end at the same spatial size), got rgb_size {rgb_s}, heatmap_size {hm_s}")


def validate(cfg: dict, origin: str = "config") -> list[str]:
    """Every problem in ``cfg`` as ``<origin>: key: problem`` lines (empty when valid)."""
    out = _Problems(origin)
    _check_tree(cfg, SCHEMA, "", out)
    _check_clip_grad(cfg, out)
    _check_scheduler(cfg, out)
    _check_cross(cfg, out)
    return out.lines


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> dict:
    """Load, inherit, override and validate a config; raise ``ConfigError`` listing every problem."""
    path = Path(path)
    if not path.exists():
        raise ConfigError([f"{path}: config file not found (check the path; configs live in configs/)"])
    raw = load_raw(path)
    cfg = _strip_delete(apply_overrides(raw, overrides))
    problems = validate(cfg, str(path))
    if problems:
        raise ConfigError(problems)
    return cfg


def dump_config(cfg: dict) -> str:
    """The config as YAML text (keys in their original order)."""
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None)


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists are leaves)."""
    if not isinstance(cfg, dict):
        return {prefix: cfg}
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def diff(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    """Keys whose values differ between two resolved configs, as (key, a_value, b_value)."""
    fa, fb = flatten(a), flatten(b)
    missing = object()
    rows = []
    for key in list(fa) + [k for k in fb if k not in fa]:
        va, vb = fa.get(key, missing), fb.get(key, missing)
        if va != vb:
            rows.append((key, None if va is missing else va, None if vb is missing else vb))
    return rows


# --------------------------------------------------------------------------------------------
# `epam config show|diff`


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="epam config", description="show or compare resolved configs")
    sub = parser.add_subparsers(dest="cmd", required=True)
    show = sub.add_parser("show", help="print the resolved config")
    show.add_argument("config")
    show.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE")
    dif = sub.add_parser("diff", help="print the keys that differ between two configs")
    dif.add_argument("a")
    dif.add_argument("b")
    val = sub.add_parser("check", help="validate configs (exit 2 on any problem)")
    val.add_argument("configs", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "show":
            sys.stdout.write(dump_config(load_config(args.config, args.overrides)))
        elif args.cmd == "diff":
            rows = diff(load_config(args.a), load_config(args.b))
            width = max([len(r[0]) for r in rows] + [3])
            print(f"{'key':<{width}}  {Path(args.a).name}  ->  {Path(args.b).name}")
            for key, va, vb in rows:
                print(f"{key:<{width}}  {va!r}  ->  {vb!r}")
        else:
            bad = 0
            for path in args.configs:
                try:
                    load_config(path)
                    print(f"{path}: ok")
                except ConfigError as exc:
                    bad += 1
                    print(str(exc), file=sys.stderr)
            return 2 if bad else 0
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0
