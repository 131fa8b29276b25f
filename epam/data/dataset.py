"""The torch ``Dataset`` the trainer uses, its collate function and worker seeding.

Reproducibility: every random choice of a training sample (frame offsets, flip) comes from a numpy
generator seeded by ``(base seed, epoch, index)``. A sample is therefore the same whatever the
number of workers, the worker that loads it or the sampler order; call ``ds.set_epoch(e)`` at the
start of each epoch (next to ``DistributedSampler.set_epoch``) to get fresh augmentation per epoch.
The epoch lives in a shared-memory tensor, so this works with persistent workers too. The base
seed is ``train.seed``; with ``train.seed: null`` a random base seed is drawn once (not
reproducible, as asked). Validation samples use a fixed generator (seed 255) and no flip.

``seed_worker`` (the DataLoader ``worker_init_fn``) also seeds Python's ``random``, numpy's global
generator and torch inside each worker from torch's per-worker seed, for any code that uses them,
keeps each worker to one intra-op thread, and asks glibc to keep freed memory (see
``keep_freed_memory``): a sample allocates tens of MB of fresh arrays, and re-faulting them page by
page from the kernel cost more than drawing the heatmaps on the 2-core VMs we measured.
"""

from __future__ import annotations

import ctypes
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from epam.data.errors import DataError
from epam.data.pipeline import PipelineSettings, transform, val_rng
from epam.data.posec3d import load_split, split_file
from epam.data.video import find_rgb, read_rgb

SPLITS = ("train", "val")


class PoseRGBDataset(Dataset):
    """Annotation entries -> ``{"imgs", "heatmap_imgs", "label"}`` through the joint recipe."""

    def __init__(self, entries: list[dict], video_root: str | Path, settings: PipelineSettings, *,
                 num_classes: int, test_mode: bool = False, seed: int | None = None, rgb_source: str = "video"):
        self.entries = entries
        self.video_root = Path(video_root)
        self.settings = settings
        self.num_classes = int(num_classes)
        self.test_mode = test_mode
        self.rgb_source = rgb_source
        self.seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % (2 ** 63))
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
        self._paths: dict[int, Path] = {}
        self.skipped: list[tuple[str, str]] = []  # (frame_dir, reason) of entries the loader dropped

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def labels(self) -> list[int]:
        return [int(e["label"]) for e in self.entries]

    @property
    def frame_dirs(self) -> list[str]:
        return [e["frame_dir"] for e in self.entries]

    @property
    def epoch(self) -> int:
        return int(self._epoch.item())

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation of epoch ``epoch`` (seen by workers, persistent ones included)."""
        self._epoch.fill_(int(epoch))

    def rng(self, index: int) -> np.random.Generator:
        """The generator of sample ``index`` in the current epoch."""
        if self.test_mode:
            return val_rng()
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def rgb_path(self, index: int) -> Path:
        if index not in self._paths:
            self._paths[index] = find_rgb(self.video_root, self.entries[index]["frame_dir"], self.rgb_source)
        return self._paths[index]

    def load(self, index: int) -> dict[str, Any]:
        """The sample as numpy arrays (what ``__getitem__`` wraps in tensors)."""
        size = (self.settings.rgb_size, self.settings.rgb_size)
        path = self.rgb_path(index)
        return transform(self.entries[index], lambda inds: read_rgb(path, inds, size), self.settings,
                         self.rng(index), self.test_mode)

    def __getitem__(self, index: int) -> dict[str, Any]:
        sample = self.load(index)
        return {"imgs": torch.from_numpy(sample["imgs"]), "heatmap_imgs": torch.from_numpy(sample["heatmap_imgs"]),
                "label": sample["label"]}


def collate(batch: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Stack samples: imgs N x 3 x T x H x W, heatmap_imgs N x C x T' x h x w, label N (int64).

    torch's ``default_collate`` does the stacking: inside a worker it stacks straight into shared
    memory, which saves copying every batch once more on its way to the main process.
    """
    out = default_collate([{"imgs": b["imgs"], "heatmap_imgs": b["heatmap_imgs"], "label": int(b["label"])}
                           for b in batch])
    return {"imgs": out["imgs"], "heatmap_imgs": out["heatmap_imgs"], "label": out["label"].to(torch.int64)}


def keep_freed_memory() -> bool:
    """Make glibc serve large arrays from the heap and keep freed memory (no munmap/re-fault churn).

    A process-wide allocator setting, meant for DataLoader worker processes; returns False where it
    does not apply (not Linux/glibc). The price is that the worker's memory stays at its peak.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    mmap_ok = libc.mallopt(m_mmap_threshold, 64 << 20) or libc.mallopt(m_mmap_threshold, 32 << 20)
    return bool(mmap_ok and libc.mallopt(m_trim_threshold, 1 << 30))


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed ``random``/numpy/torch from the worker's torch seed; 1 thread."""
    del worker_id  # torch already gives each worker base_seed + worker_id
    seed = torch.initial_seed() % 2 ** 32
    random.seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(1)
    keep_freed_memory()


def _missing_hint(cfg: dict) -> str:
    data = cfg.get("data", {})
    if data.get("dataset") == "synthetic":
        return "run `epam make-synthetic --config <this config>` to create it"
    return ("prepare NTU60 (see configs/_base_/data_ntu60_xsub.yaml) or fix the path; "
            "for a quick start use the synthetic demo: `epam make-synthetic`")


def build_dataset(cfg: dict, split: str) -> PoseRGBDataset:
    """The train or val dataset of a resolved config (``data.train_split`` / ``data.val_split``)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    data, model = cfg["data"], cfg["model"]
    split_name = data["train_split"] if split == "train" else data["val_split"]
    ann_path = split_file(data["ann_file"], split_name)
    if not ann_path.exists():
        raise DataError(f"data.ann_file not found: {ann_path} ({_missing_hint(cfg)})")
    root = Path(data["video_root"])
    if not root.is_dir():
        raise DataError(f"data.video_root not found: {root} ({_missing_hint(cfg)})")
    annotations = load_split(ann_path, split_name, int(model["num_classes"]))
    seed = (cfg.get("train") or {}).get("seed")
    dataset = PoseRGBDataset(annotations.entries, root, PipelineSettings.from_config(cfg),
                             num_classes=int(model["num_classes"]), test_mode=(split == "val"), seed=seed,
                             rgb_source=data.get("rgb_source", "video"))
    dataset.rgb_path(0)  # a wrong video_root fails here, with the paths tried, not inside a worker
    dataset.skipped = annotations.skipped
    return dataset
