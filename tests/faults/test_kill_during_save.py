"""Fault injection: the trainer SIGKILLed 10 times while writing checkpoints. Every checkpoint left
behind loads, `--resume auto` continues each time, and the final metrics and weights equal those of an
uninterrupted run with the same seed."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
import torch

from epam.engine.checkpoint import load_checkpoint
from tests.test_train import ENV, _popen, _wait_for, final_val, strip_times, train

pytestmark = [pytest.mark.faults, pytest.mark.slow]
EXTRA = ("train.max_epochs=3", "scheduler.T_max=3")


def _tmp_present(ckpts: Path) -> bool:
    return ckpts.exists() and any(p.name.startswith(".") and ".tmp" in p.name for p in ckpts.iterdir())


def test_ten_kills_during_checkpoint_writes(tmp_path: Path, tiny_synthetic: Path) -> None:
    ref = tmp_path / "ref"
    train(ref, tiny_synthetic, *EXTRA)
    work = tmp_path / "killed"
    ckpts = work / "checkpoints"
    rng = random.Random(5)
    kills = 0
    while kills < 10:
        extra = [*EXTRA] + (["--resume", "auto"] if kills else [])
        proc = _popen(work, tiny_synthetic, *extra, env={**ENV, "EPAM_TEST_SLOW_SAVE": "0.25"})
        try:
            _wait_for(lambda: _tmp_present(ckpts), proc, timeout=120)
        except AssertionError:
            if proc.poll() == 0:  # finished before a save could be hit: the run is complete
                break
            raise
        subprocess.run(["sleep", f"{rng.uniform(0, 0.2):.3f}"])
        proc.kill()
        proc.wait()
        kills += 1
        for path in ckpts.glob("*.pth"):  # every checkpoint that remains loads
            assert "model" in load_checkpoint(path), path
    assert kills >= 5, "too few kills landed inside a save"
    train(work, tiny_synthetic, *EXTRA, resume=True)
    assert strip_times(final_val(work)) == strip_times(final_val(ref))
    a = load_checkpoint(work / "checkpoints" / "latest.pth")["model"]
    b = load_checkpoint(ref / "checkpoints" / "latest.pth")["model"]
    assert all(torch.equal(a[k], b[k]) for k in b)
