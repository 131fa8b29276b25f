"""Loading official EPAM-Net checkpoints (and unimodal pretrained streams) into our model.

Official checkpoints store 3D convolutions: a weight [o, i, 1, k, k] there is our Conv2d weight
[o, i, k, k] (the streams run as per-frame 2D convolutions). Keys may carry the prefixes
``module.`` (DDP), ``backbone.`` / ``cls_head.`` (MMAction2 recognizers, unimodal checkpoints);
the state dict may sit under ``state_dict`` or ``model_state_dict``. Files are read with
``torch.load(weights_only=True)``: a checkpoint that needs arbitrary code to unpickle is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import torch
from torch import nn

STREAMS = ("rgb", "pose")


class CheckpointError(Exception):
    """A checkpoint could not be read or does not fit the model."""


@dataclass
class LoadReport:
    loaded: int = 0
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    reshaped: int = 0

    def summary(self) -> str:
        return (f"loaded {self.loaded} tensors ({self.reshaped} 3D->2D), "
                f"{len(self.missing)} missing, {len(self.unexpected)} unexpected")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensor dict of a checkpoint file (safe load; unwraps state_dict / model_state_dict)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found (check model.load_from / pretrained_* paths)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is reported the same way
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path}: refused or unreadable checkpoint ({first}); only tensor checkpoints "
                              "loadable with torch.load(weights_only=True) are accepted") from None
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, Mapping) and isinstance(obj.get(key), Mapping):
            obj = obj[key]
            break
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path}: no state dict inside (got {type(obj).__name__})")
    return {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}


def _strip(key: str, prefixes: tuple[str, ...]) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if key.startswith(prefix):
                key, changed = key[len(prefix):], True
    return key


def map_official_state_dict(state: Mapping[str, torch.Tensor], target: Mapping[str, torch.Tensor],
                            stream: str | None = None) -> tuple[dict[str, torch.Tensor], LoadReport]:
    """Rename and reshape an official state dict onto ``target`` (our model's state dict).

    With ``stream`` ('rgb' or 'pose'), unimodal keys ``backbone.*`` / ``cls_head.*`` go to
    ``<stream>_backbone.*`` / ``<stream>_cls_head.*``.
    """
    out: dict[str, torch.Tensor] = {}
    report = LoadReport()
    for key, value in state.items():
        name = _strip(key, ("module.",))
        if stream is not None:
            name = _strip(name, (f"{stream}_",))
            if name.startswith("backbone."):
                name = f"{stream}_{name}"
            elif name.startswith("cls_head."):
                name = f"{stream}_{name}"
            else:
                report.unexpected.append(key)
                continue
        if name not in target:
            report.unexpected.append(key)
            continue
        want = target[name]
        if value.shape != want.shape:
            if value.numel() == want.numel() and value.dim() == want.dim() + 1 and value.shape[2] == 1:
                value = value.squeeze(2)
                report.reshaped += 1
            else:
                raise CheckpointError(f"{key}: shape {tuple(value.shape)} does not fit {name} {tuple(want.shape)} "
                                      "(different number of classes? set model.num_classes)")
        out[name] = value
    report.loaded = len(out)
    return out, report


def to_official_state_dict(model: nn.Module, prefix: str = "module.") -> dict[str, torch.Tensor]:
    """Our state dict in the official layout (3D conv weights, DDP prefix), e.g. to share a checkpoint."""
    out = {}
    for name, value in model.state_dict().items():
        if value.dim() == 4 and name.endswith(".weight") and "attention_module" not in name:
            value = value.unsqueeze(2)
        out[prefix + name] = value.clone()
    return out


def load_official_checkpoint(model: nn.Module, path: str | Path, strict: bool = True) -> LoadReport:
    """Load a joint EPAM-Net checkpoint (official or ours) into ``model``."""
    target = model.state_dict()
    mapped, report = map_official_state_dict(read_state_dict(path), target)
    report.missing = [k for k in target if k not in mapped]
    if strict and (report.missing or report.unexpected):
        raise CheckpointError(f"{path}: {report.summary()}; first missing: {report.missing[:3]}, "
                              f"first unexpected: {report.unexpected[:3]}")
    model.load_state_dict(mapped, strict=False)
    return report


def load_pretrained_stream(model: nn.Module, path: str | Path, stream: str) -> LoadReport:
    """Load a unimodal (RGB-only or pose-only) checkpoint into one stream, strict=False."""
    if stream not in STREAMS:
        raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")
    target = model.state_dict()
    mapped, report = map_official_state_dict(read_state_dict(path), target, stream=stream)
    report.missing = [k for k in target if k.startswith(f"{stream}_") and k not in mapped]
    model.load_state_dict(mapped, strict=False)
    return report
