"""The DataLoader of one rank for one epoch: which samples, in which order, with which worker seeds.

Answers "which batches does this rank get in epoch e, and from where does a resumed epoch go on?":
the order is DistributedSampler's for (seed, epoch) (shuffled for training, padded with repeats so
every rank has as many batches), the first ``skip_batches`` batches are left out (a mid-epoch
resume), the dataset's augmentation is told the epoch, and the workers' seeds come from their own
generator so the global RNG stays put. Workers ignore SIGINT: Ctrl-C reaches only the loop.
"""

from __future__ import annotations

import signal
from typing import Any

import torch

from epam.engine.distributed import DistInfo


def worker_init(worker_id: int) -> None:
    """DataLoader workers: leave SIGINT to the main process (Ctrl-C), then the data's own seeding."""
    from epam.data import seed_worker

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    seed_worker(worker_id)


def build_loader(dataset: Any, dist: DistInfo, dcfg: dict, *, seed: int, epoch: int, batch: int, shuffle: bool,
                 skip_batches: int = 0) -> Any:
    """This rank's batches of ``dataset`` for ``epoch`` (``dcfg``: the config's ``data`` section); the
    first ``skip_batches`` left out. The loader's ``sampler`` is the list of dataset indices it yields."""
    from torch.utils.data import DataLoader, DistributedSampler

    from epam.data import collate

    sampler = DistributedSampler(dataset, num_replicas=dist.world_size, rank=dist.rank,
                                 shuffle=shuffle, seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    indices = list(sampler)[skip_batches * batch:]
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
    gen = torch.Generator().manual_seed(seed * 1000 + epoch)  # worker seeds; the global RNG stays put
    return DataLoader(dataset, batch_size=batch, sampler=indices, num_workers=int(dcfg.get("num_workers", 0)),
                      collate_fn=collate, worker_init_fn=worker_init, generator=gen,
                      pin_memory=bool(dcfg.get("pin_memory", False)) and dist.device.type == "cuda")
