"""Validation predictions: this rank's logits over its shard of the val split, then each sample once.

Answers "what did the model predict for every val sample?": ``predict`` runs the bare model (no DDP
collectives inside the loop, so ranks with different shard lengths never wait on each other) and
keeps each batch's dataset indices, logits and labels on the CPU; after the caller gathers the ranks'
parts, ``unique_rows`` puts them in dataset order with each sample once (DistributedSampler pads
shards with repeats). The metrics of the result are ``epam.engine.metrics.val_metrics``.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterable

import torch
from torch import nn


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, device: torch.device, use_amp: bool,
            heartbeat: Callable[[], Any] | None = None) -> tuple[tuple[torch.Tensor, ...], float]:
    """(dataset indices, rgb logits, pose logits, labels) of every batch of ``loader``, concatenated on
    the CPU, and the seconds spent waiting for batches. ``loader.sampler`` lists the indices in order;
    ``heartbeat`` is called after each batch."""
    data_time = 0.0
    idx, rgbs, poses, labels = [], [], [], []
    order = list(loader.sampler)
    pos = 0
    t_last = time.perf_counter()
    for batch in loader:
        data_time += time.perf_counter() - t_last
        imgs = batch["imgs"].to(device)
        with torch.autocast(device.type, enabled=use_amp):
            rgb, pose = model(imgs, batch["heatmap_imgs"].to(device))
        idx.append(torch.tensor(order[pos:pos + imgs.shape[0]]))
        pos += imgs.shape[0]
        rgbs.append(rgb.float().cpu())
        poses.append(pose.float().cpu())
        labels.append(batch["label"].cpu())
        if heartbeat is not None:
            heartbeat()
        t_last = time.perf_counter()
    return tuple(torch.cat(x) if x else torch.zeros(0) for x in (idx, rgbs, poses, labels)), data_time


def unique_rows(parts: list[tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(rgb, pose, labels) in dataset order, each sample once (DistributedSampler pads with repeats)."""
    idx = torch.cat([p[0] for p in parts]).long()
    first = {int(i): row for row, i in enumerate(idx.tolist())}
    rows = torch.tensor([first[i] for i in sorted(first)], dtype=torch.long)
    rgb, pose, labels = (torch.cat([p[k] for p in parts]) for k in (1, 2, 3))
    return rgb[rows], pose[rows], labels[rows].long()
