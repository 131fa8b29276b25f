"""Parsers for the three log sources, feeding one ``SeriesStore``.

- JSON lines: our ``scalars.jsonl`` and MMEngine's ``vis_data/scalars.json`` (NaN/Infinity accepted).
- MMEngine text logs: ``Epoch(train) [e][i/N]  k: v  k: v`` and ``Epoch(val) [e][N/N]    k: v`` with
  any padding (1-, 2- and 4-digit iterations), ``eta`` values with spaces (``1 day, 2:03:04``).
- The official EPAM-Net script's log: ``Epoch: [e][i|N] lr: ... loss: ... top1_acc: ...`` lines and the
  multi-line evaluation block (``top1_acc``, ``top5_acc``, ``mean_acc :``).

Train iterations are stored as columns (``array('d')``, rows in arrival order) and read back as numpy
arrays sorted by step with the **last** record per step kept (a resumed run writes some steps again).
Validations and train-epoch records are few: dicts by epoch, last wins. Records that do not parse
(garbage, non-UTF-8, numbers out of range, a JSON line that is not one object; in text logs, lines that
look like iteration lines but do not parse) are counted in ``store.bad``, never raised; the other lines
of a text log are messages, not records. Every pattern is linear in the line's length.

MMEngine text is parsed a chunk at a time: the key layout of the chunk's first train line becomes one
compiled bytes regex, ``findall`` runs it over the whole chunk in C and the columns are converted at the
end; a chunk whose train lines do not all share that layout falls back to the line-by-line parser.
"""

from __future__ import annotations

import json
import math
import os
import re
from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from epam_tui.core.rundir import RESUME, TRAIN, TRAIN_EPOCH, VAL, record_kind

TRAIN_KEYS = ("lr", "loss", "loss_rgb", "loss_pose", "grad_norm", "time", "data_time", "top1_acc", "memory")
VAL_KEYS = ("acc/top1", "acc/top5", "acc/mean1", "acc/rgb_top1", "acc/pose_top1")
NAN = math.nan


class Table:
    """Growable float columns in arrival order; a key first seen late is NaN for the earlier rows."""

    def __init__(self) -> None:
        self.n = 0
        self.cols: dict[str, array] = {}

    def _ensure(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key not in self.cols:
                self.cols[key] = array("d", [NAN]) * self.n

    def add_row(self, values: dict[str, float]) -> None:
        self._ensure(values)
        for key, col in self.cols.items():
            col.append(values.get(key, NAN))
        self.n += 1

    def add_block(self, block: dict[str, np.ndarray]) -> None:
        """Append rows given as equally long float arrays."""
        m = len(next(iter(block.values())))
        self._ensure(block)
        for key, col in self.cols.items():
            values = block.get(key)
            col.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes() if values is not None
                          else np.full(m, NAN).tobytes())
        self.n += m

    def arrays(self) -> dict[str, np.ndarray]:
        return {key: np.array(col, dtype=np.float64) for key, col in self.cols.items()}  # copies: the arrays grow


class TrainView(Mapping):
    """``store.train`` as a read-only mapping step -> {key: value} (last record per step)."""

    def __init__(self, store: "SeriesStore"):
        self.store = store

    def _cols(self) -> dict[str, np.ndarray]:
        return self.store.columns(None)

    def __getitem__(self, step: int) -> dict[str, float]:
        cols = self._cols()
        i = int(np.searchsorted(cols["step"], step))
        if i >= len(cols["step"]) or cols["step"][i] != step:
            raise KeyError(step)
        return {k: float(v[i]) for k, v in cols.items() if k != "step" and not np.isnan(v[i])}

    def __iter__(self) -> Iterator[int]:
        return iter(self._cols()["step"].tolist())

    def __len__(self) -> int:
        return len(self._cols()["step"])


@dataclass
class SeriesStore:
    """Parsed records of one run (full resolution)."""

    table: Table = field(default_factory=Table)  # train iterations, with "step" and "epoch" columns
    val: dict[int, dict[str, float]] = field(default_factory=dict)  # epoch -> metrics
    train_epoch: dict[int, dict[str, float]] = field(default_factory=dict)  # epoch -> train/loss, train/top1
    bad: int = 0
    resumes: int = 0
    iters_per_epoch: int | None = None
    max_epochs: int | None = None
    first_nonfinite: int | None = None  # step of the first non-finite loss
    _cache: tuple[int, dict[str, np.ndarray]] | None = None

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    @property
    def train(self) -> TrainView:
        return TrainView(self)

    @property
    def n_train(self) -> int:
        return self.table.n

    def _note_nonfinite(self, steps: np.ndarray, loss: np.ndarray | None) -> None:
        if loss is None or not len(loss):
            return
        bad = ~np.isfinite(loss)
        if bad.any():
            step = int(steps[bad].min())
            if self.first_nonfinite is None or step < self.first_nonfinite:
                self.first_nonfinite = step

    def add_train(self, step: int, values: dict[str, float]) -> None:
        self.table.add_row({**values, "step": float(step)})
        loss = values.get("loss")
        if loss is not None and not math.isfinite(loss):
            self._note_nonfinite(np.array([step]), np.array([loss]))

    def add_train_block(self, block: dict[str, np.ndarray]) -> None:
        if len(block["step"]):
            self.table.add_block(block)
            self._note_nonfinite(block["step"], block.get("loss"))

    def _all_columns(self) -> dict[str, np.ndarray]:
        if self._cache is not None and self._cache[0] == self.table.n:
            return self._cache[1]
        cols = self.table.arrays()
        steps = cols.pop("step", np.zeros(0))
        if len(steps) and not np.all(np.diff(steps) > 0):  # repeated steps (resume): keep the last record
            uniq, idx_rev = np.unique(steps[::-1], return_index=True)
            keep = len(steps) - 1 - idx_rev
            cols = {k: v[keep] for k, v in cols.items()}
            steps = uniq
        out = {"step": steps.astype(np.int64), **cols}
        self._cache = (self.table.n, out)
        return out

    def columns(self, keys: Iterable[str] | None = TRAIN_KEYS) -> dict[str, np.ndarray]:
        """Train series as arrays sorted by step (NaN where a key is absent); ``keys=None``: every key."""
        cols = self._all_columns()
        n = len(cols["step"])
        out = {"step": cols["step"], "epoch": cols.get("epoch", np.full(n, NAN))}
        for key in (keys if keys is not None else [k for k in cols if k not in ("step", "epoch")]):
            out[key] = cols.get(key, np.full(n, NAN))
        return out

    def last(self) -> dict[str, float]:
        """The record of the highest step ({} when none)."""
        cols = self._all_columns()
        if not len(cols["step"]):
            return {}
        return {k: float(v[-1]) for k, v in cols.items() if not np.isnan(v[-1])}

    def epoch_columns(self, which: str) -> dict[str, np.ndarray]:
        """``val`` or ``train_epoch`` records as arrays by epoch."""
        table = self.val if which == "val" else self.train_epoch
        epochs = sorted(table)
        keys = sorted({k for rec in table.values() for k in rec})
        out = {"epoch": np.array(epochs, dtype=np.int64)}
        for key in keys:
            out[key] = np.array([table[e].get(key, np.nan) for e in epochs], dtype=float)
        return out


MAX_INDEX = 2**53  # steps and epochs beyond this are not a real run's (and would not survive float64)


def _num(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:  # an integer beyond float range
            return None
    return None


def _index(value: object) -> int | None:
    """A step or epoch: an int in [0, 2**53), else None."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_INDEX:
        return None
    return value


def _lines(data: bytes | Iterable[bytes]) -> list[bytes]:
    return data.split(b"\n") if isinstance(data, (bytes, bytearray)) else list(data)


def _chunk(data: bytes | Iterable[bytes]) -> bytes:
    return bytes(data) if isinstance(data, (bytes, bytearray)) else b"\n".join(data)


# ------------------------------------------------------------------------------ JSON lines


def _json_records(lines: list[bytes]) -> Iterator[object]:
    lines = [line.strip() for line in lines if line.strip()]
    # one C-level parse for a clean chunk: every line one object, and as many objects as lines (else a
    # garbage line could have merged with its neighbours into one record)
    if all(line[:1] == b"{" and line[-1:] == b"}" for line in lines):
        try:
            records = json.loads(b"[" + b",".join(lines) + b"]")
        except (ValueError, UnicodeDecodeError, RecursionError):
            records = None
        if records is not None and len(records) == len(lines):
            yield from records
            return
    for raw in lines:
        try:
            yield json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            yield None


def feed_json(store: SeriesStore, data: bytes | Iterable[bytes]) -> None:
    for rec in _json_records(_lines(data)):
        if not isinstance(rec, dict):
            store.bad += 1
            continue
        step = _index(rec.get("step"))
        kind = record_kind(rec)
        if kind == RESUME:
            store.resumes += 1
            continue
        if step is None:
            store.bad += 1
            continue
        values = {k: x for k, raw_v in rec.items() if k != "step" and (x := _num(raw_v)) is not None}
        if any(_num(v) is None and isinstance(v, int) and not isinstance(v, bool) for v in rec.values()):
            store.bad += 1  # an integer beyond float range is not a metric
            continue
        epoch = _index(rec.get("epoch", step))
        if kind == TRAIN:
            store.add_train(step, values)
        elif epoch is None:
            store.bad += 1
        elif kind == TRAIN_EPOCH:
            store.train_epoch[epoch] = values
        elif kind == VAL:
            store.val[epoch] = values
        else:
            store.bad += 1


# ------------------------------------------------------------------------------ MMEngine text

# Numbers in headers are at most 15 digits and keys at most 64 characters: longer ones are garbage, and
# the bounds keep every pattern linear in the line's length (no rescans of a long run of characters).
MM_LINE = re.compile(rb"Epoch\((train|val)\)\s*\[(\d{1,15})\]\[\s*(\d{1,15})/(\d{1,15})\]\s+(.*)$")
MM_PAIR = re.compile(rb"([A-Za-z_][\w/]{0,63}): (\d+ days?, [\d:]+|\S+)")
MM_ANY = re.compile(rb"^[^\n]*Epoch\([^\n]*", re.M)
MM_TRAIN_FIRST = re.compile(rb"Epoch\(train\)[^\n]*")
MM_HEAD = rb"Epoch\(train\) *\[(\d{1,15})\]\[ *(\d{1,15})/(\d{1,15})\] +"
ETA = rb"eta: (?:\d+ days?, )?\d+:\d\d:\d\d"
_KEYS: dict[bytes, str] = {}
_TEMPLATES: dict[tuple[bytes, ...], re.Pattern[bytes]] = {}


def _key(raw: bytes) -> str:
    name = _KEYS.get(raw)
    return name if name is not None else _KEYS.setdefault(raw, raw.decode("ascii", "replace"))


def _pairs(rest: bytes) -> dict[str, float]:
    out = {}
    for key, value in MM_PAIR.findall(rest):
        if key == b"eta":
            continue
        try:
            out[_key(key)] = float(value)  # float() parses bytes directly
        except ValueError:
            continue  # other non-numbers
    return out


def _template(keys: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """One regex for train lines with exactly these keys in this order (values captured, eta skipped)."""
    pat = _TEMPLATES.get(keys)
    if pat is None:
        parts = [ETA if k == b"eta" else re.escape(k) + rb": (\S+)" for k in keys]
        pat = re.compile(MM_HEAD + rb" +".join(parts) + rb" *\r?$", re.M)
        _TEMPLATES[keys] = pat
    return pat


def _train_keys(chunk: bytes) -> tuple[bytes, ...] | None:
    """The key layout of the chunk's first train line (None when that line does not parse)."""
    first = MM_TRAIN_FIRST.search(chunk)
    m = first and MM_LINE.match(first.group(0))
    return tuple(k for k, _ in MM_PAIR.findall(m.group(5))) if m else None


def _add_train_columns(store: SeriesStore, keys: tuple[bytes, ...], cols: list[np.ndarray]) -> None:
    """``cols``: epoch, iteration, N, then each non-eta key's values, one entry per train line."""
    names = [_key(k) for k in keys if k != b"eta"]
    epoch, it, n = cols[0], cols[1], cols[2]
    # the header's epoch and step win over any "epoch:"/"step:" key, as on the line-by-line path
    block = {**dict(zip(names, cols[3:])), "step": (epoch - 1) * n + it, "epoch": epoch}
    store.iters_per_epoch = int(n[-1])
    store.add_train_block(block)


def _fast_train(store: SeriesStore, chunk: bytes, count: int) -> bool:
    """Parse every train line of ``chunk`` with one template regex; False when they do not all fit it."""
    keys = _train_keys(chunk)
    if keys is None:
        return False
    rows = _template(keys).findall(chunk)
    if len(rows) != count:
        return False
    try:
        cols = [np.fromiter(map(float, col), dtype=np.float64, count=len(rows)) for col in zip(*rows)]
    except ValueError:
        return False
    _add_train_columns(store, keys, cols)
    return True


FAST_MIN_BYTES = 1 << 20  # chunks this big (a backlog) go to the compiled scanner when numba is installed
_SCANNER: list = []  # [fastscan.scan or None], filled on first use


def _scanner():
    """``fastscan.scan``, or None without numba or with ``EPAM_TUI_FAST_INGEST=0``."""
    if not _SCANNER:
        scan = None
        if os.environ.get("EPAM_TUI_FAST_INGEST", "1") != "0":
            try:
                from epam_tui.core.sources.fastscan import scan
            except Exception:  # numba is optional (or broken): the regex path parses the same records
                scan = None
        _SCANNER.append(scan)
    return _SCANNER[0]


def _compiled_train(store: SeriesStore, chunk: bytes) -> int | None:
    """Train lines of a big chunk through the compiled scanner: the number of other ``Epoch(`` lines left
    for the line-by-line parser, or None when the scanner is absent or declines (then nothing was added)."""
    scan = _scanner() if len(chunk) >= FAST_MIN_BYTES else None
    keys = scan and _train_keys(chunk)
    if not keys:
        return None
    try:
        found = scan(chunk, keys)
    except Exception:  # numba failed to compile or run here: stop trying, the regex path still works
        _SCANNER[0] = found = None
    if found is None:
        return None
    cols, others = found
    _add_train_columns(store, keys, list(cols))
    return others


def _slow_line(store: SeriesStore, raw: bytes, train: bool = True) -> None:
    m = MM_LINE.search(raw)
    if not m:
        store.bad += 1
        return
    mode, epoch, it, n, rest = m.groups()
    epoch, it, n = int(epoch), int(it), int(n)
    if mode == b"train":
        if train:
            values = _pairs(rest)
            store.iters_per_epoch = n
            values["epoch"] = float(epoch)
            store.add_train((epoch - 1) * n + it, values)
    elif it == n and b"acc/" in rest:
        values = _pairs(rest)
        if any(k.startswith("acc/") for k in values):
            store.val[epoch] = values


def feed_mmengine(store: SeriesStore, data: bytes | Iterable[bytes]) -> None:
    """Parse MMEngine text (a chunk of whole lines, or a list of lines)."""
    chunk = _chunk(data)
    others = _compiled_train(store, chunk)
    if others is not None:
        if others:  # val lines (and messages that mention "Epoch(")
            for line in MM_ANY.findall(chunk):
                _slow_line(store, line, train=False)
        return
    count = chunk.count(b"Epoch(train)")
    fast = count > 0 and _fast_train(store, chunk, count)
    if fast and b"Epoch(val)" not in chunk and chunk.count(b"Epoch(") == count:
        return
    for line in MM_ANY.findall(chunk):
        _slow_line(store, line, train=not fast)


# ------------------------------------------------------------------------------ official EPAM log

EPAM_TRAIN = re.compile(rb"Epoch: \[(\d{1,15})\]\[(\d{1,15})\|(\d{1,15})\]\s+(.*)$")
EPAM_EVAL = re.compile(rb"^\s*(top1_acc|top5_acc|mean_acc)\s*:\s*([-\d.eE+naif]+)\s*$")
EPAM_PAIR = re.compile(rb"(\w{1,64}): (\S+)")
EPAM_EVAL_KEYS = {b"top1_acc": "acc/top1", b"top5_acc": "acc/top5", b"mean_acc": "acc/mean1"}


def feed_epam_official(store: SeriesStore, data: bytes | Iterable[bytes], state: dict) -> None:
    """``state`` carries the current epoch across calls (the eval block follows the epoch's lines)."""
    for raw in _lines(data):
        m = EPAM_TRAIN.search(raw)
        if not m and b"Epoch: [" in raw:
            store.bad += 1  # looks like an iteration line but does not parse
            continue
        if m:
            epoch, it, n = (int(x) for x in m.groups()[:3])
            values = {}
            for key, value in EPAM_PAIR.findall(m.group(4)):
                try:
                    values[_key(key)] = float(value)
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
