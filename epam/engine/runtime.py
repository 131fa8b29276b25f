"""The process around the training loop: seeding, the SIGINT/SIGTERM stop flag, the environment report.

Answers "what does this process set up, and what does it say about itself, before the first step?":
``seed_everything`` seeds Python, numpy and torch (optionally deterministic kernels); ``StopFlag``
records SIGINT/SIGTERM for the loop to check after each iteration (it never interrupts a step);
``environment`` lists the versions, devices, seed and git commit that ``train.log`` starts with.
"""

from __future__ import annotations

import os
import platform
import random
import signal
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import torch

from epam.engine.distributed import DistInfo


def seed_everything(seed: int, deterministic: bool) -> None:
    """Seed Python, numpy and torch (all devices); optionally force deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def git_commit() -> str | None:
    """The short commit of the checkout the code runs from; None outside a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parents[2])
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def environment(dist: DistInfo, seed: int, deterministic: Any) -> list[str]:
    """The lines of ``train.log``'s ``Environment:`` block."""
    env = [f"Python: {platform.python_version()}", f"PyTorch: {torch.__version__}", f"NumPy: {np.__version__}",
           f"CUDA available: {torch.cuda.is_available()}"]
    if torch.cuda.is_available():
        env.append(f"CUDA: {torch.version.cuda}, cuDNN: {torch.backends.cudnn.version()}")
        env.append("GPUs: " + ", ".join(f"{i}: {torch.cuda.get_device_name(i)}"
                                        for i in range(torch.cuda.device_count())))
    env += [f"host: {platform.node()}", f"device: {dist.device}", f"world size: {dist.world_size}",
            f"distributed backend: {'nccl' if dist.device.type == 'cuda' else 'gloo'}"
            if dist.distributed else "distributed: no", f"torch threads: {torch.get_num_threads()}",
            f"seed: {seed}", f"deterministic: {deterministic}",
            f"git commit: {git_commit()}"]
    return env


class StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it after each iteration."""

    def __init__(self) -> None:
        self.signum: int = 0
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = int(signum)

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        self._old.clear()
