"""Atomic checkpoints: ``latest.pth`` every epoch, ``epoch_N.pth`` (keep the last k), and
``best_acc_top1_epoch_N.pth`` (the previous best removed).

Every write goes to a temp file in the same directory, is flushed and fsynced, then renamed over the
target, and the directory is fsynced: a kill at any moment leaves the previous file intact. At an
epoch's end the state is serialised once (``latest.pth``); ``epoch_N.pth`` and the best are hard
links to that file made the same way (link to a temp name, rename), so they cost no extra write, and
a later ``latest.pth`` (a new file renamed over the name) leaves them untouched. A kill between
``latest.pth``'s rename and the links is mended on resume (``repair``), and pruning never removes the
best epoch's file while it is the only copy of the best checkpoint. Files get the umask's mode
(``epam.fileio``). Loads use
``torch.load(weights_only=True)``; everything saved is tensors, numbers, strings and containers.
"""

from __future__ import annotations

import os
import random
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from epam.fileio import atomic_link, atomic_open

EPOCH_RE = re.compile(r"^epoch_(\d+)\.pth$")
BEST_RE = re.compile(r"^best_(.+)_epoch_(\d+)\.pth$")


class _WriteRecorder:
    """The file object ``torch.save`` writes to. It remembers the OSError of a failed write: torch's zip
    writer reports one only as ``RuntimeError: [enforce fail at inline_container.cc] . unexpected pos``,
    and a full disk must read as one."""

    def __init__(self, fh: Any):
        self.fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.fh.flush()


def atomic_save(obj: Any, path: Path) -> None:
    """torch.save through ``.<name>.tmp<pid>`` + fsync + rename (``epam.fileio.atomic_open``: the file
    gets the umask's mode); the temp file is removed on failure. A failed write (disk full, I/O error)
    raises the OSError, naming ``path``."""
    path = Path(path)
    with atomic_open(path, "wb") as fh:
        sink = _WriteRecorder(fh)
        try:
            torch.save(obj, sink)
        except RuntimeError as exc:
            if sink.error is None:
                raise
            raise OSError(sink.error.errno, sink.error.strerror, str(path)) from exc
        delay = os.environ.get("EPAM_TEST_SLOW_SAVE")  # test hook: widen the window for kill tests
        if delay:
            fh.flush()
            time.sleep(float(delay))


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint written by ``atomic_save`` (safe load, CPU tensors)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def rng_state() -> dict[str, Any]:
    """Python, numpy and torch RNG states as weights_only-loadable values."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class CheckpointManager:
    """Writes and prunes the checkpoints of one run directory (rank 0 only)."""

    def __init__(self, directory: Path, keep_last: int = 3, best_key: str | None = "acc/top1"):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.keep_last = keep_last
        self.best_key = best_key
        for stale in self.dir.glob(".*.tmp*"):  # left by a kill during a save
            stale.unlink(missing_ok=True)

    @property
    def latest(self) -> Path:
        return self.dir / "latest.pth"

    def best_name(self, epoch: int) -> str:
        return f"best_{(self.best_key or 'metric').replace('/', '_')}_epoch_{epoch}.pth"

    def save_latest(self, state: dict[str, Any]) -> Path:
        atomic_save(state, self.latest)
        return self.latest

    def epoch_path(self, epoch: int) -> Path:
        return self.dir / f"epoch_{epoch}.pth"

    def save_epoch(self, epoch: int, best_epoch: int | None = None) -> Path:
        """``epoch_N.pth`` = the current ``latest.pth``; then ``prune(best_epoch)``."""
        path = self.epoch_path(epoch)
        atomic_link(self.latest, path)
        self.prune(best_epoch)
        return path

    def prune(self, best_epoch: int | None = None) -> list[Path]:
        """Keep the last ``keep_last`` ``epoch_N.pth`` (-1 or 0 keep all). The best epoch's file is never
        removed while no ``best_*`` file holds the same checkpoint (it would be its only copy)."""
        if self.keep_last <= 0:
            return []
        epochs = sorted(int(m.group(1)) for p in self.dir.iterdir() if (m := EPOCH_RE.match(p.name)))
        removed = []
        for old in epochs[:-self.keep_last]:
            if old == best_epoch and self.best_key and not (self.dir / self.best_name(old)).exists():
                continue
            self.epoch_path(old).unlink(missing_ok=True)
            removed.append(self.epoch_path(old))
        return removed

    def save_best(self, epoch: int, source: Path | None = None) -> tuple[Path, list[Path]]:
        """The new best = ``source`` (the current ``latest.pth``), then the previous ones removed;
        returns (new, removed)."""
        path = self.dir / self.best_name(epoch)
        atomic_link(source or self.latest, path)
        removed = [p for p in self.dir.iterdir() if BEST_RE.match(p.name) and p != path]
        for p in removed:
            p.unlink(missing_ok=True)
        return path, removed

    def repair(self, state: dict[str, Any]) -> list[Path]:
        """After a resume from ``latest.pth`` (its loaded ``state``): rebuild the ``epoch_N.pth`` and
        best links a kill between ``latest.pth``'s rename and the links left missing, then prune as the
        interrupted save would have. Returns the files made."""
        made: list[Path] = []
        if not self.latest.is_file():
            return made
        epoch, mid_epoch = int(state.get("epoch", 0)), int(state.get("iter_in_epoch", 0)) > 0
        best = state.get("best") if isinstance(state.get("best"), dict) else None
        best_epoch = int(best["epoch"]) if best and isinstance(best.get("epoch"), int) else None
        if epoch >= 1 and not mid_epoch and not self.epoch_path(epoch).exists():
            made.append(self.save_epoch(epoch, best_epoch))
        if self.best_key and best_epoch is not None and not (self.dir / self.best_name(best_epoch)).exists():
            if best_epoch == epoch and not mid_epoch:
                source: Path | None = self.latest  # latest.pth is that epoch's end-of-epoch state
            else:
                source = self.epoch_path(best_epoch) if self.epoch_path(best_epoch).is_file() else None
            if source is not None:
                made.append(self.save_best(best_epoch, source)[0])
                self.prune(best_epoch)
        return made
