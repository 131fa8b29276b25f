"""Fault injection: the trainer SIGKILLed 10 times while writing checkpoints. Every checkpoint left
behind loads, `--resume auto` continues each time, and the final metrics, weights and checkpoint files
(epoch_N.pth, best_*.pth) equal those of an uninterrupted run with the same seed. And a kill between
latest.pth's rename and its hard links loses neither epoch_N.pth nor the best: the resume rebuilds them."""

from __future__ import annotations

import json
import random
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from epam.engine.checkpoint import load_checkpoint
from tests.test_train import ENV, _popen, _wait_for, final_val, strip_times, train

pytestmark = [pytest.mark.faults, pytest.mark.slow]
EXTRA = ("train.max_epochs=3", "scheduler.T_max=3")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_synthetic: Path) -> Path:
    """An uninterrupted run of the same config and seed."""
    ref = tmp_path_factory.mktemp("ref") / "run"
    train(ref, tiny_synthetic, *EXTRA)
    return ref


def _checkpoints(work: Path) -> list[str]:
    return sorted(p.name for p in (work / "checkpoints").iterdir())


def _assert_best_and_epochs_kept(work: Path, ref: Path) -> None:
    """The same checkpoint files as the uninterrupted run: the last keep_last (2) epochs and the best."""
    best = json.loads((work / "status.json").read_text())["best"]["epoch"]
    names = _checkpoints(work)
    assert f"best_acc_top1_epoch_{best}.pth" in names and {"epoch_2.pth", "epoch_3.pth"} <= set(names), names
    assert names == _checkpoints(ref)
    latest = load_checkpoint(work / "checkpoints" / "latest.pth")["model"]
    for name in ("epoch_3.pth", f"best_acc_top1_epoch_{best}.pth"):
        state = load_checkpoint(work / "checkpoints" / name)
        assert state["epoch"] == (3 if name.startswith("epoch") else best), name
        if state["epoch"] == 3:
            assert all(torch.equal(state["model"][k], latest[k]) for k in latest), name


def _tmp_present(ckpts: Path) -> bool:
    return ckpts.exists() and any(p.name.startswith(".") and ".tmp" in p.name for p in ckpts.iterdir())


def test_ten_kills_during_checkpoint_writes(tmp_path: Path, tiny_synthetic: Path, reference: Path) -> None:
    ref = reference
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
    _assert_best_and_epochs_kept(work, ref)


@pytest.mark.parametrize("epoch", [1, 3])
def test_kill_between_latest_and_its_links(tmp_path: Path, tiny_synthetic: Path, reference: Path, epoch: int) -> None:
    """SIGKILL right after epoch N's latest.pth rename, before epoch_N.pth and the best are linked (the
    trainer's test hook kills itself there, so the window is hit every time)."""
    work = tmp_path / "links"
    out = train(work, tiny_synthetic, *EXTRA, env={**ENV, "EPAM_TEST_KILL_AFTER_LATEST": str(epoch)}, check=False)
    assert out.returncode == -signal.SIGKILL, out.stderr[-2000:]
    assert f"epoch_{epoch}.pth" not in _checkpoints(work)  # the links were never made
    assert load_checkpoint(work / "checkpoints" / "latest.pth")["epoch"] == epoch
    train(work, tiny_synthetic, *EXTRA, resume=True)
    log = (work / "train.log").read_text()
    assert f"Rebuilt epoch_{epoch}.pth" in log
    assert json.loads((work / "status.json").read_text())["state"] == "finished"
    _assert_best_and_epochs_kept(work, reference)
    assert strip_times(final_val(work)) == strip_times(final_val(reference))
