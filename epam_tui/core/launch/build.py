"""How does user input (``--gpus``, ``--nproc``, a template, live runs) become a ``LaunchPlan``?"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

from epam_tui.core.launch.configs import summarize
from epam_tui.core.launch.devices import GpuState, auto_gpus, pick_gpus
from epam_tui.core.launch.errors import LaunchError
from epam_tui.core.launch.plan import TRAIN_ENTRY, LaunchPlan
from epam_tui.core.launch.ports import choose_port
from epam_tui.core.launch.lr_scaling import without_lr_override
from epam_tui.core.launch.templates import CommandTemplate


def make_plan(config: str | None, state: GpuState, *, gpus: str | Sequence[Any] | None = None,
              nproc: int | None = None, overrides: Sequence[str] = (), name: str | None = None, root: str = "work_dirs",
              live: Sequence[Mapping[str, Any]] = (), template: CommandTemplate | None = None,
              nnodes: int = 1, node_rank: int = 0, rdzv_endpoint: str | None = None, rdzv_id: str | None = None,
              resume: bool = False, entry: Sequence[str] = TRAIN_ENTRY, slurm: bool = False) -> LaunchPlan:
    """A plan from user input. ``gpus``: ``--gpus`` text, the picked GpuInfo list (empty: CPU), or
    None / ``"auto"`` to pick idle GPUs automatically (see ``auto_gpus``)."""
    if nproc is not None and nproc < 1:
        raise LaunchError(f"--nproc must be >= 1, got {nproc}")
    recipe = recipe_gpus(config, overrides) if template is None else 1
    if gpus is None or gpus == "auto":
        picks = auto_gpus(state, nproc or recipe, live)
    elif isinstance(gpus, str):
        picks = pick_gpus(gpus, state)
    else:
        picks = list(gpus) or None
    if picks is None:
        count = nproc or min(recipe, os.cpu_count() or 1)
    else:
        count = nproc or len(picks)
    plan = LaunchPlan(config=config, root=root, name=name or "", overrides=list(overrides), gpus=picks or [],
                      gpu_tokens=[state.token(g) for g in picks or []], nproc=count, nnodes=nnodes,
                      node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, rdzv_id=rdzv_id, template=template,
                      resume=resume, entry=tuple(entry), slurm=slurm)
    if plan.port is None and (plan.distributed or template is not None):
        plan.port = template.port if template is not None and template.port else choose_port(
            int(r["port"]) for r in live if r.get("port"))
    return plan


def recipe_gpus(config: str | None, overrides: Sequence[str] = ()) -> int:
    """The config's ``train.gpus`` (1 when the config cannot be read)."""
    summary = summarize(config, without_lr_override(overrides)) if config else None
    return int(summary.cfg["train"]["gpus"]) if summary and summary.cfg else 1
