"""Which configs can be launched, and what does one set (or what is wrong with it)?

``summarize`` loads a config with ``epam.config`` and lists its key settings or its problems (one line
each, never an exception); ``find_configs`` lists the launchable configs under ``configs/``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from epam.config import ConfigError, load_config
from epam.schedule import recipe_total_batch


@dataclass
class ConfigSummary:
    """A config's resolved key settings, or its problems (one line each)."""

    path: str
    cfg: dict | None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.cfg is not None and not self.errors

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs of the settings a user checks before launching."""
        if self.cfg is None:
            return []
        cfg = self.cfg
        opt, data, train = cfg["optimizer"], cfg["data"], cfg["train"]
        return [
            ("lr", f"{opt['lr']:g}"),
            ("weight decay", f"{opt['weight_decay']:g}"),
            ("schedule", describe_schedule(cfg["scheduler"])),
            ("seed", "none (not reproducible)" if train.get("seed") is None else str(train["seed"])),
            ("epochs", str(train["max_epochs"])),
            ("batch per GPU", f"{data['batch_per_gpu']} (recipe: {train['gpus']} GPU{'s' * (train['gpus'] > 1)}, "
                              f"total {recipe_total_batch(cfg)})"),
            ("data", f"{data['dataset']}: {data['ann_file']}"),
        ]


def describe_schedule(sched: Mapping[str, Any]) -> str:
    """One line: the scheduler type with its settings, e.g. ``CosineAnnealingLR T_max=50 eta_min=1e-06``."""
    kind = sched.get("type", "?")
    step = "per epoch" if sched.get("by_epoch", True) else "per iteration"
    if kind == "SequentialLR":
        parts = [describe_schedule({**s, "by_epoch": sched.get("by_epoch", True)}).rsplit(" (", 1)[0]
                 for s in sched.get("schedulers", [])]
        return f"{' then '.join(parts)} at {sched.get('milestones')} ({step})"
    args = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in sched.items() if k not in ("type", "by_epoch"))
    return f"{kind} {args} ({step})".replace("  ", " ")


def summarize(path: str, overrides: Sequence[str] = ()) -> ConfigSummary:
    """Load ``path`` with ``overrides``; problems become ``errors`` instead of an exception."""
    try:
        return ConfigSummary(path, load_config(path, list(overrides)))
    except ConfigError as exc:
        return ConfigSummary(path, None, list(exc.problems))


def find_configs(root: str | Path = "configs") -> list[str]:
    """Launchable configs under ``root`` (``_base_`` pieces and ``launch`` templates left out)."""
    root = Path(root)
    if not root.is_dir():
        return []
    skip = {"_base_", "launch"}
    return sorted(str(p) for p in root.rglob("*.yaml")
                  if not skip.intersection(p.relative_to(root).parts[:-1]))


def file_sha256(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None
