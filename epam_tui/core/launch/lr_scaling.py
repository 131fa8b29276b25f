"""What learning rate does a launch get: the linear scaling rule through ``epam.schedule.scaled_lr``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from epam.schedule import recipe_total_batch, scaled_lr


@dataclass
class Scaling:
    """The linear scaling rule for a launch: lr x total batch / the recipe's total batch."""

    config_lr: float
    recipe_batch: int
    total_batch: int
    scaled_lr: float

    @property
    def differs(self) -> bool:
        return self.total_batch != self.recipe_batch

    @property
    def override(self) -> str:
        return f"optimizer.lr={self.scaled_lr:.6g}"

    def describe(self) -> str:
        if not self.differs:
            return f"total batch {self.total_batch} = the recipe's; lr {self.config_lr:g} as configured"
        return (f"total batch {self.total_batch} vs the recipe's {self.recipe_batch}: lr {self.config_lr:g}"
                f" -> {self.scaled_lr:.6g} by the linear scaling rule")


def scaling(cfg: Mapping[str, Any], nproc: int, nnodes: int = 1) -> Scaling:
    """Scaling for ``nproc`` processes per node on ``nnodes`` nodes (``cfg`` without a lr override)."""
    total = int(cfg["data"]["batch_per_gpu"]) * max(1, nproc) * max(1, nnodes)
    return Scaling(float(cfg["optimizer"]["lr"]), recipe_total_batch(dict(cfg)), total, scaled_lr(dict(cfg), total))


def without_lr_override(overrides: Sequence[str]) -> list[str]:
    return [o for o in overrides if o.split("=", 1)[0].strip() != "optimizer.lr"]


def apply_scaling(overrides: Sequence[str], scale: Scaling) -> list[str]:
    """``overrides`` with the scaled lr set (replacing any earlier ``optimizer.lr=``)."""
    return [*without_lr_override(overrides), scale.override]
