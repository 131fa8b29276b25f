"""The config schema and ``validate``: every key checked, every problem one line.

The schema is plain data (nested dicts of ``Field``), not dataclasses or pydantic: the config stays a
plain dict that serialises back to YAML unchanged, the error wording is ours (one line, key path,
fix), and there is no extra dependency for the TUI to import. Every integer has an upper bound named
in its error (``MAX_EPOCHS`` for every count of epochs) and every number must be finite, so a
config that validates cannot overflow the trainer's arithmetic (``max_epochs: 1e29`` is refused).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable

@dataclass
class Field:
    """One leaf of the schema: accepted types, whether null is allowed, and a range check."""

    types: tuple[type, ...]
    nullable: bool = False
    check: Callable[[Any], str | None] | None = None
    choices: tuple[Any, ...] | None = None
    default: Any = None


def _gt0(v: Any) -> str | None:
    return None if v > 0 else f"must be > 0, got {_short(v)}"


def _ge0(v: Any) -> str | None:
    return None if v >= 0 else f"must be >= 0, got {_short(v)}"


def _short(value: Any, width: int = 40) -> str:
    """``repr(value)`` cut to ``width`` characters (a 1 MB string or a 4,000-digit integer stays one short line)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of {value.bit_length():,} bits"
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _between(lo: int, hi: int, unit: str = "") -> Callable[[Any], str | None]:
    """``lo <= v <= hi``; the message names the bound that was crossed (``unit`` says what counts)."""
    unit = f" {unit}" if unit else ""

    def check(v: Any) -> str | None:
        if v < lo:
            return f"must be >= {lo}, got {_short(v)}"
        if v > hi:
            return f"must be <= {hi:,}{unit} (the upper bound), got {_short(v)}"
        return None

    return check


MAX_EPOCHS = 100_000  # every count of epochs (max_epochs, T_max, milestones, intervals)


def _unit_open(v: Any) -> str | None:
    return None if 0 <= v < 1 else f"must be in [0, 1), got {_short(v)}"


def _prob(v: Any) -> str | None:
    return None if 0 <= v <= 1 else f"must be in [0, 1], got {_short(v)}"


NUM = (int, float)
INT = (int,)
STR = (str,)
BOOL = (bool,)
LIST = (list,)

SCHEDULERS = ("MultiStepLR", "CosineAnnealingLR", "LinearLR", "StepLR", "ConstantLR", "SequentialLR")

SCHEMA: dict[str, Any] = {
    "model": {
        "type": Field(STR, choices=("EPAMNet",)),
        "num_classes": Field(INT, check=_between(1, 100_000)),
        "rgb_clip_len": Field(INT, check=_between(1, 512, "frames")),
        "pose_clip_len": Field(INT, check=_between(1, 1536, "frames")),
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
        "rgb_size": Field(INT, check=_between(1, 4096, "pixels")),
        "heatmap_size": Field(INT, check=_between(1, 1024, "pixels")),
        "sigma": Field(NUM, check=_gt0),
        "with_limb": Field(BOOL),
        "flip_prob": Field(NUM, check=_prob),
        "batch_per_gpu": Field(INT, check=_between(1, 65_536)),
        "val_batch_per_gpu": Field(INT, check=_between(1, 65_536)),
        "num_workers": Field(INT, check=_between(0, 256)),
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
        "max_epochs": Field(INT, check=_between(1, MAX_EPOCHS, "epochs")),
        "gpus": Field(INT, check=_between(1, 1024)),
        "device": Field(STR, choices=("auto", "cuda", "cpu")),
        "amp": Field(BOOL),
        "val_interval": Field(INT, check=_between(1, MAX_EPOCHS, "epochs")),
        "log_interval": Field(INT, check=_between(1, 1_000_000, "iterations")),
        "seed": Field(INT, nullable=True, check=_between(0, 2**32 - 1)),
        "deterministic": Field(BOOL),
        "nan_patience": Field(INT, check=_between(1, 1_000_000, "iterations")),
        "keep_last": Field(INT, check=lambda v: None if v == -1 else
                           _between(1, MAX_EPOCHS, "checkpoints")(v) and f"must be -1 (keep all) or >= 1 and "
                           f"<= {MAX_EPOCHS:,} (the upper bound), got {_short(v)}"),
        "save_best": Field(STR, nullable=True),
    },
    "work_dir": Field(STR, nullable=True),
}

# keys each scheduler type accepts (counts are epochs; `by_epoch` says how the scheduler steps)
SCHEDULER_KEYS: dict[str, dict[str, Field]] = {
    "MultiStepLR": {"milestones": Field(LIST), "gamma": Field(NUM, check=_gt0)},
    "CosineAnnealingLR": {"T_max": Field(INT, check=_between(1, MAX_EPOCHS, "epochs")), "eta_min": Field(NUM, check=_ge0)},
    "LinearLR": {
        "start_factor": Field(NUM, check=lambda v: None if 0 < v <= 1 else f"must be in (0, 1], got {_short(v)}"),
        "end_factor": Field(NUM, check=lambda v: None if 0 <= v <= 1 else f"must be in [0, 1], got {_short(v)}"),
        "total_iters": Field(INT, check=_between(1, MAX_EPOCHS, "epochs")),
    },
    "StepLR": {"step_size": Field(INT, check=_between(1, MAX_EPOCHS, "epochs")), "gamma": Field(NUM, check=_gt0)},
    "ConstantLR": {
        "factor": Field(NUM, check=lambda v: None if 0 < v <= 1 else f"must be in (0, 1], got {_short(v)}"),
        "total_iters": Field(INT, check=_between(1, MAX_EPOCHS, "epochs")),
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
        out.add(key, f"must be {_type_name(spec.types)}, got {type(value).__name__} {_short(value)}")
        return False
    if isinstance(value, float) and not math.isfinite(value):
        out.add(key, f"must be finite, got {value}")
        return False
    if spec.choices is not None and value not in spec.choices:
        out.add(key, f"unknown value {_short(value)}; choose one of {', '.join(map(str, spec.choices))}"
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
        out.add(f"{key}.type", f"unknown scheduler {_short(kind)}; choose one of {', '.join(SCHEDULERS)}"
                f"{_did_you_mean(str(kind), SCHEDULERS)}")
        return
    allowed = SCHEDULER_KEYS[kind]
    for name, value in sched.items():
        if name in ("type", "by_epoch"):
            if name == "by_epoch" and not isinstance(value, bool):
                out.add(f"{key}.by_epoch", f"must be true/false, got {_short(value)}")
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
            out.add(f"{key}.milestones", f"must be a list of integers (epochs), got {_short(ms)}")
        elif any(b <= a for a, b in zip(ms, ms[1:])):
            out.add(f"{key}.milestones", f"must be strictly increasing, got {_short(ms)}")
        elif any(m > MAX_EPOCHS for m in ms):
            out.add(f"{key}.milestones", f"must be <= {MAX_EPOCHS:,} epochs (the upper bound), got {_short(ms)}")
        elif max_epochs is not None and any(m <= 0 or m >= max_epochs for m in ms):
            out.add(f"{key}.milestones", f"must lie inside (0, train.max_epochs={max_epochs}), got {_short(ms)}")
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
            elif (any(not isinstance(m, int) or isinstance(m, bool) for m in ms)
                  or any(b <= a for a, b in zip(ms, ms[1:]))):
                out.add(f"{key}.milestones", f"must be increasing integers (epochs), got {_short(ms)}")
            elif any(m > MAX_EPOCHS for m in ms):
                out.add(f"{key}.milestones", f"must be <= {MAX_EPOCHS:,} epochs (the upper bound), got {_short(ms)}")
            elif max_epochs is not None and any(m <= 0 or m > max_epochs for m in ms):
                out.add(f"{key}.milestones", f"warmup end must be <= train.max_epochs={max_epochs}, got {_short(ms)}")


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
        if isinstance(eta, NUM) and isinstance(lr, NUM) and math.isfinite(eta) and lr > 0 and not eta < lr:
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
