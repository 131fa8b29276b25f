"""Atomic checkpoints: ``latest.pth`` every epoch, ``epoch_N.pth`` (keep the last k), and
``best_acc_top1_epoch_N.pth`` (the previous best removed).

Every write goes to a temp file in the same directory, is flushed and fsynced, then renamed over the
target, and the directory is fsynced: a kill at any moment leaves the previous file intact. At an
epoch's end the state is serialised once (``latest.pth``); ``epoch_N.pth`` and the best are hard
links to that file made the same way (link to a temp name, rename), so they cost no extra write, and
a later ``latest.pth`` (a new file renamed over the name) leaves them untouched. Loads use
``torch.load(weights_only=True)``; everything saved is tensors, numbers, strings and containers.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from epam.fileio import atomic_open, fsync_dir, temp_path

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


def atomic_link(src: Path, dst: Path) -> None:
    """Make ``dst`` the same file as ``src`` atomically (hard link to a temp name, then rename; where the
    filesystem has no hard links, an atomic copy)."""
    src, dst = Path(src), Path(dst)
    tmp = temp_path(dst)
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        if not src.is_file():
            raise
        with open(src, "rb") as fin, atomic_open(dst, "wb") as fout:  # no hard links on this filesystem
            shutil.copyfileobj(fin, fout, 1 << 20)
        return
    try:
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dst.parent)


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

    def save_epoch(self, epoch: int) -> Path:
        """``epoch_N.pth`` = the current ``latest.pth``; prunes to the last ``keep_last`` (-1 keeps all)."""
        path = self.dir / f"epoch_{epoch}.pth"
        atomic_link(self.latest, path)
        if self.keep_last > 0:
            epochs = sorted(int(m.group(1)) for p in self.dir.iterdir() if (m := EPOCH_RE.match(p.name)))
            for old in epochs[:-self.keep_last]:
                (self.dir / f"epoch_{old}.pth").unlink(missing_ok=True)
        return path

    def save_best(self, epoch: int) -> tuple[Path, list[Path]]:
        """The new best = the current ``latest.pth``, then the previous ones removed; returns (new, removed)."""
        path = self.dir / self.best_name(epoch)
        atomic_link(self.latest, path)
        removed = [p for p in self.dir.iterdir() if BEST_RE.match(p.name) and p != path]
        for p in removed:
            p.unlink(missing_ok=True)
        return path, removed
