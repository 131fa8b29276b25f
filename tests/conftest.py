"""Shared pytest setup: repository paths and a single torch thread for fast, quiet tests."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_synthetic(tmp_path_factory) -> Path:
    """A tiny synthetic NTU60-format dataset (4 classes), made once per test session."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("synthetic")
    subprocess.run([sys.executable, "-m", "epam.cli", "make-synthetic", "--out", str(out), "--num-classes", "4",
                    "--per-class", "5", "--frames", "24", "--size", "64", "--seed", "3"],
                   check=True, capture_output=True, cwd=ROOT)
    return out


def tiny_overrides(data_dir: Path, **extra: object) -> list[str]:
    """--set overrides that make the demo config train in seconds on the tiny dataset."""
    base = {
        "data.ann_file": str(data_dir / "synthetic_2d.pkl"), "data.video_root": str(data_dir / "videos"),
        "model.num_classes": 4, "data.batch_per_gpu": 4, "data.val_batch_per_gpu": 8, "data.num_workers": 0,
        "train.max_epochs": 2, "scheduler.T_max": 2, "train.log_interval": 1, "train.seed": 7,
    }
    base.update(extra)
    return [f"{k}={v}" for k, v in base.items()]


def poll_until(predicate: Callable[[], Any], timeout: float, step: float = 0.05) -> Any:
    """The first truthy value of ``predicate()`` within ``timeout`` seconds, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None
