"""Parsers for the three log sources, feeding one ``SeriesStore``.

- JSON lines: our ``scalars.jsonl`` and MMEngine's ``vis_data/scalars.json`` (NaN/Infinity accepted).
- MMEngine text logs: ``Epoch(train) [e][i/N]  k: v  k: v`` and ``Epoch(val) [e][N/N]    k: v`` with
  any padding (1-, 2- and 4-digit iterations), ``eta`` values with spaces (``1 day, 2:03:04``).
- The official EPAM-Net script's log: ``Epoch: [e][i|N] lr: ... loss: ... top1_acc: ...`` lines and the
  multi-line evaluation block (``top1_acc``, ``top5_acc``, ``mean_acc :``).

Records are keyed: train iterations by global step, validations and train-epoch records by epoch;
the last record for a key wins (a resumed run writes some steps again). Garbage and non-UTF-8 lines
are counted in ``store.bad``, never raised.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

TRAIN_KEYS = ("lr", "loss", "loss_rgb", "loss_pose", "grad_norm", "time", "data_time", "top1_acc", "memory")
VAL_KEYS = ("acc/top1", "acc/top5", "acc/mean1", "acc/rgb_top1", "acc/pose_top1")


@dataclass
class SeriesStore:
    """Parsed records of one run (full resolution)."""

    train: dict[int, dict[str, float]] = field(default_factory=dict)  # step -> values (+ "epoch")
    val: dict[int, dict[str, float]] = field(default_factory=dict)  # epoch -> metrics
    train_epoch: dict[int, dict[str, float]] = field(default_factory=dict)  # epoch -> train/loss, train/top1
    bad: int = 0
    resumes: int = 0
    iters_per_epoch: int | None = None
    max_epochs: int | None = None
    first_nonfinite: int | None = None  # step of the first non-finite loss

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def add_train(self, step: int, values: dict[str, float]) -> None:
        self.train[step] = values
        loss = values.get("loss")
        if loss is not None and not math.isfinite(loss) and (self.first_nonfinite is None or step < self.first_nonfinite):
            self.first_nonfinite = step

    def columns(self, keys: Iterable[str] = TRAIN_KEYS) -> dict[str, np.ndarray]:
        """Train series as arrays sorted by step (NaN where a key is absent)."""
        steps = sorted(self.train)
        out = {"step": np.array(steps, dtype=np.int64),
               "epoch": np.array([self.train[s].get("epoch", np.nan) for s in steps], dtype=float)}
        for key in keys:
            out[key] = np.array([self.train[s].get(key, np.nan) for s in steps], dtype=float)
        return out

    def epoch_columns(self, which: str) -> dict[str, np.ndarray]:
        """``val`` or ``train_epoch`` records as arrays by epoch."""
        table = self.val if which == "val" else self.train_epoch
        epochs = sorted(table)
        keys = sorted({k for rec in table.values() for k in rec})
        out = {"epoch": np.array(epochs, dtype=np.int64)}
        for key in keys:
            out[key] = np.array([table[e].get(key, np.nan) for e in epochs], dtype=float)
        return out


def _num(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


# ------------------------------------------------------------------------------ JSON lines


def feed_json(store: SeriesStore, lines: Iterable[bytes]) -> None:
    for raw in lines:
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            store.bad += 1
            continue
        if not isinstance(rec, dict):
            store.bad += 1
            continue
        step = rec.get("step")
        if rec.get("resume"):
            store.resumes += 1
            continue
        if not isinstance(step, int) or isinstance(step, bool):
            store.bad += 1
            continue
        values = {k: x for k, raw_v in rec.items() if k != "step" and (x := _num(raw_v)) is not None}
        if "lr" in rec or "loss" in rec:
            store.add_train(step, values)
        elif "train/loss" in rec:
            store.train_epoch[int(rec.get("epoch", step))] = values
        elif any(k.startswith("acc/") for k in rec):
            store.val[int(rec.get("epoch", step))] = values
        else:
            store.bad += 1


# ------------------------------------------------------------------------------ MMEngine text

MM_LINE = re.compile(rb"Epoch\((train|val)\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]\s+(.*)$")
MM_PAIR = re.compile(rb"([A-Za-z_][\w/]*): (\d+ days?, [\d:]+|\S+)")


_KEYS: dict[bytes, str] = {}


def _pairs(rest: bytes) -> dict[str, float]:
    out = {}
    for key, value in MM_PAIR.findall(rest):
        if key == b"eta":
            continue
        name = _KEYS.get(key)
        if name is None:
            name = _KEYS.setdefault(key, key.decode())
        try:
            out[name] = float(value)  # float() parses bytes directly
        except ValueError:
            continue  # other non-numbers
    return out


def feed_mmengine(store: SeriesStore, lines: Iterable[bytes]) -> None:
    for raw in lines:
        if b"Epoch(" not in raw:
            continue
        m = MM_LINE.search(raw)
        if not m:
            store.bad += 1
            continue
        mode, epoch, it, n, rest = m.groups()
        epoch, it, n = int(epoch), int(it), int(n)
        values = _pairs(rest)
        if mode == b"train":
            store.iters_per_epoch = n
            values["epoch"] = float(epoch)
            store.add_train((epoch - 1) * n + it, values)
        elif any(k.startswith("acc/") for k in values) and it == n:
            store.val[epoch] = values


# ------------------------------------------------------------------------------ official EPAM log

EPAM_TRAIN = re.compile(rb"Epoch: \[(\d+)\]\[(\d+)\|(\d+)\]\s+(.*)$")
EPAM_EVAL = re.compile(rb"^\s*(top1_acc|top5_acc|mean_acc)\s*:\s*([-\d.eE+naif]+)\s*$")
EPAM_PAIR = re.compile(rb"(\w+): (\S+)")
EPAM_EVAL_KEYS = {b"top1_acc": "acc/top1", b"top5_acc": "acc/top5", b"mean_acc": "acc/mean1"}


def feed_epam_official(store: SeriesStore, lines: Iterable[bytes], state: dict) -> None:
    """``state`` carries the current epoch across calls (the eval block follows the epoch's lines)."""
    for raw in lines:
        m = EPAM_TRAIN.search(raw)
        if m:
            epoch, it, n = (int(x) for x in m.groups()[:3])
            values = {}
            for key, value in EPAM_PAIR.findall(m.group(4)):
                try:
                    values[key.decode()] = float(value)
                except ValueError:
                    continue
            values["epoch"] = float(epoch)
            store.iters_per_epoch = n
            state["epoch"] = epoch
            store.add_train(epoch * n + it, values)
            continue
        e = EPAM_EVAL.match(raw)
        if e and "epoch" in state:
            try:
                store.val.setdefault(state["epoch"], {})[EPAM_EVAL_KEYS[e.group(1)]] = float(e.group(2))
            except ValueError:
                store.bad += 1
