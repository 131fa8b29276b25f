"""NTU60/120 data for EPAM-Net: PoseC3D annotations, RGB decoding, the joint recipe, heatmaps, synthetic data.

The trainer's API::

    from epam.data import build_dataset, collate, seed_worker, DataError
    ds = build_dataset(cfg, "train")          # torch Dataset; ds[i] -> {"imgs", "heatmap_imgs", "label"}
    ds.set_epoch(epoch)                      # per-epoch augmentation, independent of num_workers

Importing ``epam.data`` is light: torch and PyAV load only when a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import Any

from epam.data.errors import DataError

_LAZY = {
    "build_dataset": "epam.data.dataset",
    "collate": "epam.data.dataset",
    "seed_worker": "epam.data.dataset",
    "PoseRGBDataset": "epam.data.dataset",
    "PipelineSettings": "epam.data.pipeline",
    "load_split": "epam.data.posec3d",
    "safe_load": "epam.data.safe_pickle",
}

__all__ = ["DataError", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'epam.data' has no attribute {name!r}")
