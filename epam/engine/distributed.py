"""Process-group setup under torchrun (NCCL on GPU, Gloo on CPU) and the few collectives the loop uses.

Single process when ``WORLD_SIZE`` is unset or 1; every helper then works without a process group.
Multi-node runs use torchrun's own rendezvous flags; nothing here launches processes.
"""

from __future__ import annotations

import os
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.distributed as dist


class TrainingError(Exception):
    """Training cannot go on; the message is one line naming the cause and the fix."""


@dataclass
class DistInfo:
    """Where this process sits: rank, local rank, world size and its device."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device_pref: str) -> DistInfo:
    """Join the torchrun group when WORLD_SIZE > 1; pick cuda:LOCAL_RANK or the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_pref == "cuda" and not torch.cuda.is_available():
        raise TrainingError("train.device is cuda but no CUDA device is visible (set train.device=cpu or auto)")
    use_cuda = device_pref in ("auto", "cuda") and torch.cuda.is_available()
    if use_cuda and local >= torch.cuda.device_count():
        raise TrainingError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} CUDA device(s) visible "
                            "(lower --nproc_per_node or check CUDA_VISIBLE_DEVICES)")
    device = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, local, world, device)


def device_report(info: DistInfo, asked: str) -> tuple[str, str]:
    """(level, message) of the train.log line that says where a run trains: ``Training on cuda|cpu ...``;
    a WARNING when ``train.device`` is auto and the run fell back to the CPU (a CPU-only torch, no
    visible GPU), which would otherwise go unnoticed on a GPU machine."""
    kind = info.device.type
    procs = f"{info.world_size} process{'es' if info.world_size > 1 else ''}"
    if kind == "cpu" and asked == "auto":
        why = ("this torch has no CUDA support (a CPU-only build)" if torch.version.cuda is None
               else "no CUDA device is visible (check CUDA_VISIBLE_DEVICES and the driver)")
        return "WARNING", (f"Training on cpu ({procs}): train.device is auto but {why}; this is much slower than a "
                           "GPU: install a CUDA build of torch, or set train.device=cpu to train on the CPU on purpose")
    where = f"{info.device}, {procs}" if kind == "cuda" else procs
    return "INFO", f"Training on {kind} ({where}); train.device: {asked}"


def broadcast_int(info: DistInfo, value: int) -> int:
    """Rank 0's ``value`` on every rank."""
    if not info.distributed:
        return value
    t = torch.tensor([value], dtype=torch.long, device=info.device)
    dist.broadcast(t, 0)
    return int(t.item())


def all_reduce(info: DistInfo, values: list[float], op: str = "sum") -> list[float]:
    """Element-wise sum (or max) of ``values`` over ranks, in float64."""
    if not info.distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX if op == "max" else dist.ReduceOp.SUM)
    return t.tolist()


def all_gather(info: DistInfo, obj: Any) -> list[Any]:
    """Every rank's ``obj``, in rank order (a one-element list in a single process)."""
    if not info.distributed:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def shutdown(wait_for_peers: bool = True) -> None:
    """Leave the process group, if one was joined.

    Gloo aborts a process ("terminate called without an active exception") when a peer tears its
    connections down while it is still leaving, so on a clean exit every rank first meets the others
    at a barrier (bounded: a peer that already died does not keep this one waiting)."""
    if not (dist.is_available() and dist.is_initialized()):
        return
    if wait_for_peers and dist.get_world_size() > 1:
        try:
            if dist.get_backend() == "gloo":
                dist.monitored_barrier(timeout=timedelta(seconds=30))
            else:
                dist.barrier()
        except RuntimeError:
            pass  # a peer is gone; leave anyway
    dist.destroy_process_group()
