"""Fuzzing the log/metric parsers and the tailer (hypothesis).

The parsers (``feed_json``, ``feed_mmengine``, ``feed_epam_official`` into a ``SeriesStore``) and the
``Tailer`` get arbitrary bytes, truncated lines, interleaved partial writes, files truncated or replaced
between reads, very long lines and non-UTF-8: no exception escapes, and valid lines around garbage are
still parsed with the right values (the expected series is built from what the test generated, last
record per step winning, as ``docs/run_directory.md`` says).

Properties:
- (a) ``test_parsers_never_raise_*``: arbitrary bytes, and valid lines with random tokens swapped in,
  given to each parser as one chunk and as a list of lines: nothing raises, the store's accessors work,
  ``store.bad`` counts skipped lines (JSON: exactly one per non-blank garbage line).
- (b) ``test_*_valid_lines_survive_garbage``: valid MMEngine train/val lines, ``scalars.jsonl`` records
  and official EPAM-Net log lines interleaved with garbage lines (random bytes, invalid UTF-8, long lines,
  NaN/Infinity, cut-off records), fed in random line-aligned chunks: the series equals the one built
  from the generated records.
- (c) ``test_tailer_yields_each_line_once``: a writer appends in random chunk sizes (lines split anywhere,
  multi-byte UTF-8 included) with reads of random ``limit`` in between: the tailer yields exactly the
  lines written, once each, overlong ones skipped and counted once.
- (d) ``test_watcher_truncation_and_replacement``: appends, truncation at random byte offsets and
  replacement by another file (new inode) between polls of a ``RunWatcher``: the series never has a
  duplicate step and, after each full poll, equals the last-record-per-step series of the file as it is.

Parser bugs found here (fixed since) are pinned as regression tests (``test_regression_*``).

Cases: each property counts the examples it ran; the counts are printed at the end of the module
(``-s`` or the terminal summary line ``fuzz cases run: ...``). ``EPAM_FUZZ_EXAMPLES=5000`` runs
every property with that many examples (a long run); the default keeps this file under a minute.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from epam_tui.core.registry import RunWatcher, load_run
from epam_tui.core.sources.parsers import SeriesStore, feed_epam_official, feed_json, feed_mmengine
from epam_tui.core.tail import Tailer

pytestmark = pytest.mark.faults

LONG = int(os.environ.get("EPAM_FUZZ_EXAMPLES", "0") or 0)
CASES: Counter = Counter()


def fuzz(default: int):
    return settings(max_examples=LONG or default, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.large_base_example, HealthCheck.filter_too_much])


@pytest.fixture(scope="module", autouse=True)
def _report_cases(request):
    yield
    line = "fuzz cases run: " + ", ".join(f"{k}={v}" for k, v in sorted(CASES.items())) + f" (total {sum(CASES.values())})"
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
    out = os.environ.get("EPAM_FUZZ_REPORT")
    if out:
        Path(out).write_text(json.dumps(dict(CASES)))


# ---------------------------------------------------------------------------------------- helpers


def nan_eq(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def exercise(store: SeriesStore) -> None:
    """Every read accessor the TUI uses must work on whatever was parsed."""
    cols = store.columns(None)
    assert len(set(len(v) for v in cols.values())) == 1
    store.columns()
    store.last()
    store.epoch_columns("val")
    store.epoch_columns("train_epoch")
    for step in list(store.train)[:3]:
        store.train[step]
    assert isinstance(store.bad, int) and store.bad >= 0


def assert_train_equals(store: SeriesStore, expected: dict[int, dict[str, float]]) -> None:
    cols = store.columns(None)
    steps = cols["step"].tolist()
    assert steps == sorted(expected), (steps, sorted(expected))
    assert len(set(steps)) == len(steps)
    for i, step in enumerate(steps):
        row = expected[step]
        for key, col in cols.items():
            if key == "step":
                continue
            want = row.get(key, math.nan)
            assert nan_eq(float(col[i]), want), (step, key, float(col[i]), want)
        assert set(row) <= set(cols), (set(row) - set(cols))


def assert_epoch_table_equals(table: dict[int, dict[str, float]], expected: dict[int, dict[str, float]]) -> None:
    assert sorted(table) == sorted(expected)
    for epoch, row in expected.items():
        assert set(table[epoch]) == set(row), (epoch, table[epoch], row)
        for key, value in row.items():
            assert nan_eq(table[epoch][key], value), (epoch, key, table[epoch][key], value)


def split_lines(draw, lines: list[bytes]) -> list[list[bytes]]:
    """The lines cut into consecutive groups (what successive tailer reads deliver)."""
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(lines) - 1)), max_size=4))) if len(lines) > 1 else []
    bounds = [0, *cuts, len(lines)]
    return [lines[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


# ----------------------------------------------------------------------------- garbage strategies

NO_NL = st.binary(max_size=64).map(lambda b: b.replace(b"\n", b" "))
INVALID_UTF8 = st.tuples(st.sampled_from([b"\xff", b"\xfe\xff", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\x80\x80"]),
                         NO_NL).map(lambda t: t[1][:8] + t[0] + t[1][8:])
NONFINITE = st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf", b"loss: nan", b"loss: inf",
                             b"lr: NaN  loss: Infinity", b'{"loss": NaN}', b"-nan"])
UNICODE = st.text(max_size=40).map(lambda s: s.replace("\n", " ").encode("utf-8", "surrogatepass"))


def long_line(size: int) -> st.SearchStrategy[bytes]:
    return st.tuples(st.sampled_from([b"x", b"\xff", b"a\xc3\xa9 ", b"0,", b"loss: 1.0  "]),
                     st.integers(size // 2, size)).map(lambda t: (t[0] * (t[1] // len(t[0]) + 1))[:t[1]])


def garbage(long_size: int) -> st.SearchStrategy[bytes]:
    return st.one_of(NO_NL, INVALID_UTF8, NONFINITE, UNICODE, long_line(long_size))


# (a) valid lines of every format with random tokens swapped in
VALID_SAMPLES = [
    b"2024/01/01 12:00:00 - mmengine - INFO - Epoch(train)  [1][  20/2505]  lr: 1.5000e-03  eta: 1 day, 2:03:04  "
    b"time: 0.4000  data_time: 0.0200  memory: 5120  grad_norm: 3.2100  loss: 4.0950  top1_acc: 0.0000",
    b"2026/11/25 01:41:42 - mmengine - INFO - Epoch(val) [1][50/50]    acc/top1: 0.2500  acc/top5: 1.0000  "
    b"acc/mean1: 0.2500  data_time: 0.0001  time: 0.0002",
    b"2026/11/25 01:41:42 - mmengine - INFO - Epoch(val) [1][20/50]    eta: 0:00:00  time: 0.0002  data_time: 0.0001  ",
    b"2024-05-01 10:00:00.123 Epoch: [0][20|100] lr: 0.0015000 loss: 8.12345 top1_acc: 0.04167 top5_acc: 0.12500",
    b" top1_acc: 0.51230", b" mean_acc : 0.50100",
    b'{"lr": 0.1, "loss": 2.0, "epoch": 1, "iter": 5, "step": 5}', b'{"acc/top1": 0.5, "epoch": 1, "step": 1}',
    b'{"train/loss": 1.7, "train/top1": 0.4, "epoch": 1, "step": 1}', b'{"resume": true, "epoch": 1, "iter": 3, "step": 3}',
]
# digit runs stay short: 309+ digit numbers hit the known overflow bugs (test_known_bug_*)
TOKENS = st.one_of(
    st.sampled_from([b"", b" ", b"  ", b"0", b"-1", b"nan", b"inf", b"-inf", b"NaN", b"Infinity", b'"x"', b"null",
                     b"true", b"[1]", b"\xff", b"\xc3", b"1e999", b"1e-999", b"1 day, 2:03:04", b"step", b"epoch",
                     b"1.5", b"\r", b"Epoch(train)", b"Epoch(val)", b"Epoch: ", b"acc/top1", b"|", b"/", b"[", b"]",
                     b":", b"{", b"}", b",", b'"']),
    st.integers(-10**15, 10**15).map(lambda i: str(i).encode()),
    st.floats().map(lambda f: repr(f).encode()),
    st.binary(max_size=4).map(lambda b: b.replace(b"\n", b"")))


@st.composite
def mutated_line(draw) -> bytes:
    toks = [t for t in re.split(rb"(\d+|\s+|[\[\]/|:,{}\"])", draw(st.sampled_from(VALID_SAMPLES))) if t]
    for _ in range(draw(st.integers(0, 5))):
        toks[draw(st.integers(0, len(toks) - 1))] = draw(TOKENS)
    if draw(st.booleans()):  # cut off somewhere, as a killed writer leaves it
        joined = b"".join(toks)
        return joined[:draw(st.integers(0, len(joined)))]
    return b"".join(toks)


def feed_all(lines: list[bytes]) -> None:
    chunk = b"\n".join(lines) + b"\n"
    for feed in (feed_json, feed_mmengine, lambda s, d: feed_epam_official(s, d, {})):
        for data in (lines, chunk):
            store = SeriesStore()
            feed(store, data)
            exercise(store)


# ------------------------------------------------------------------------------------------- (a)


@fuzz(300)
@given(st.lists(st.binary(max_size=300), max_size=8), st.binary(max_size=2000))
def test_parsers_never_raise_on_arbitrary_bytes(lines: list[bytes], blob: bytes) -> None:
    CASES["a_arbitrary_bytes"] += 1
    feed_all([line.replace(b"\n", b"") for line in lines])
    for feed in (feed_json, feed_mmengine, lambda s, d: feed_epam_official(s, d, {})):
        store = SeriesStore()
        feed(store, blob)  # raw bytes, newlines anywhere
        exercise(store)


@fuzz(300)
@given(st.lists(st.one_of(mutated_line(), st.sampled_from(VALID_SAMPLES)), min_size=1, max_size=8))
def test_parsers_never_raise_on_mutated_lines(lines: list[bytes]) -> None:
    CASES["a_mutated_lines"] += 1
    feed_all([line.replace(b"\n", b" ") for line in lines])


JSON_SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63), st.floats(), st.text(max_size=6))
JSON_VALUE = st.recursive(JSON_SCALAR, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
                          max_leaves=6)
JSON_KEY = st.sampled_from(["lr", "loss", "time", "iter", "memory", "acc/top1", "acc/top5", "train/loss", "train/top1",
                            "resume", "grad_norm", "x"])


@st.composite
def json_record(draw) -> dict:
    rec = draw(st.dictionaries(JSON_KEY, JSON_VALUE, max_size=6))
    if draw(st.booleans()):
        rec["step"] = draw(st.one_of(st.integers(-2**40, 2**40), JSON_VALUE))
    if draw(st.booleans()):  # any JSON value: a non-int epoch makes a val/epoch record bad, never an exception
        rec["epoch"] = draw(st.one_of(st.integers(-2**40, 2**40), JSON_VALUE))
    return rec


@fuzz(300)
@given(st.lists(json_record(), max_size=8))
def test_json_parser_never_raises_on_random_records(records: list[dict]) -> None:
    CASES["a_json_records"] += 1
    lines = [json.dumps(r).encode() for r in records]
    store = SeriesStore()
    feed_json(store, lines)
    exercise(store)
    def index(v) -> bool:  # a usable step/epoch: an int in [0, 2**53)
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53

    n_ok = store.resumes + store.n_train + sum(1 for r in records if index(r.get("step"))
                                               and index(r.get("epoch", r.get("step"))) and not r.get("resume")
                                               and "lr" not in r and "loss" not in r
                                               and ("train/loss" in r or any(k.startswith("acc/") for k in r)))
    assert store.bad + n_ok == len(records)  # every record is either used or counted


# ------------------------------------------------------------------------------------------- (b)

MM_PREFIX = "2026/11/25 01:41:42 - mmengine - INFO - "
FLOAT = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf, 0.0]))
TRAIN_KEYS_MM = ["grad_norm", "loss", "loss_rgb", "loss_pose", "top1_acc"]


def f4(x: float) -> str:
    return f"{x:.4f}"


@st.composite
def mm_run(draw):
    """(lines, expected train by step, expected val by epoch, number of lines that count as bad)."""
    max_epochs = draw(st.sampled_from([2, 9, 20, 99, 120]))
    n = draw(st.sampled_from([1, 7, 50, 2505]))
    memory = draw(st.booleans())
    keys = [k for k in TRAIN_KEYS_MM if draw(st.booleans())] or ["loss"]
    ew, iw = len(str(max_epochs)) + 3, len(str(n))
    lines: list[bytes] = []
    train: dict[int, dict[str, float]] = {}
    val: dict[int, dict[str, float]] = {}
    bad = 0
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["train"] * 6 + ["val", "valiter", "info", "garbage", "garbage", "cut"]))
        e, it = draw(st.integers(1, max_epochs)), draw(st.integers(1, n))
        if kind == "train":
            lr = draw(st.floats(1e-8, 10.0))
            eta = draw(st.sampled_from(["0:00:00", "0:12:34", "1 day, 2:03:04", "3 days, 0:00:01"]))
            t, dt = draw(FLOAT), draw(FLOAT)
            row = {"epoch": float(e), "lr": float(f"{lr:.4e}"), "time": float(f4(t)), "data_time": float(f4(dt))}
            text = (f"Epoch(train){f'[{e}]':>{ew}}[{it:>{iw}}/{n}]  lr: {lr:.4e}  eta: {eta}  time: {f4(t)}  "
                    f"data_time: {f4(dt)}")
            if memory:
                mem = draw(st.integers(0, 80000))
                row["memory"] = float(mem)
                text += f"  memory: {mem}"
            for k in keys:
                v = draw(FLOAT)
                row[k] = float(f4(v))
                text += f"  {k}: {f4(v)}"
            lines.append((MM_PREFIX + text).encode())
            train[(e - 1) * n + it] = row
        elif kind == "val":
            vals = {k: draw(st.floats(0, 1)) for k in ("acc/top1", "acc/top5", "acc/mean1")}
            dt, t = draw(st.floats(0, 1)), draw(st.floats(0, 1))
            nv = draw(st.integers(1, 500))
            text = f"Epoch(val) [{e}][{nv}/{nv}]    " + "  ".join(f"{k}: {f4(v)}" for k, v in vals.items())
            lines.append((MM_PREFIX + text + f"  data_time: {f4(dt)}  time: {f4(t)}").encode())
            val[e] = {**{k: float(f4(v)) for k, v in vals.items()}, "data_time": float(f4(dt)), "time": float(f4(t))}
        elif kind == "valiter":
            lines.append((MM_PREFIX + f"Epoch(val){f'[{e}]':>{ew}}[{it:>{iw}}/{n + 1}]    eta: 0:00:00  time: 0.0002  "
                          "data_time: 0.0001  ").encode())
        elif kind == "info":
            lines.append((MM_PREFIX + draw(st.sampled_from(["Saving checkpoint at 1 epochs", "Exp name: x_20260101",
                          "The best checkpoint with 0.2500 acc/top1 at 1 epoch is saved to best_acc_top1_epoch_1.pth."]))).encode())
        elif kind == "garbage":
            g = draw(garbage(8192)).replace(b"Epoch(", b"Epoch ")  # 1 MB: see test_known_bug_mm_long_line
            lines.append(g)
        else:  # a header cut off before its iteration field closes: counted as bad
            head = f"Epoch({draw(st.sampled_from(['train', 'val']))}){f'[{e}]':>{ew}}[{it:>{iw}}/{n}"
            lines.append((MM_PREFIX + head[:draw(st.integers(len("Epoch("), len(head)))]).encode())
            bad += 1
    return lines, train, val, bad


@fuzz(250)
@given(st.data())
def test_mmengine_valid_lines_survive_garbage(data) -> None:
    CASES["b_mmengine"] += 1
    lines, train, val, bad = data.draw(mm_run())
    groups = split_lines(data.draw, lines)
    store = SeriesStore()
    as_list = data.draw(st.booleans())
    for group in groups:
        feed_mmengine(store, group if as_list else b"\n".join(group) + b"\n")
    exercise(store)
    assert_train_equals(store, train)
    assert_epoch_table_equals(store.val, val)
    assert store.bad == bad


def _json_garbage_ok(g: bytes) -> bool:
    """Garbage the JSON property uses: no JSON brackets (a line that opens one and a later line that closes
    it can swallow the valid lines between: test_known_bug_json_chunk_*), and not a JSON value list."""
    if any(c in g for c in b"[]{}"):
        return False
    try:
        return len(json.loads(b"[" + g + b"]")) <= 1
    except (ValueError, UnicodeDecodeError, RecursionError):
        return True


@st.composite
def json_run(draw):
    lines: list[bytes] = []
    train: dict[int, dict[str, float]] = {}
    val: dict[int, dict[str, float]] = {}
    tep: dict[int, dict[str, float]] = {}
    bad = resumes = 0
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["train"] * 5 + ["val", "tep", "resume", "garbage", "garbage", "cut", "long"]))
        step, epoch = draw(st.integers(1, 60)), draw(st.integers(1, 8))
        if kind in ("train", "long"):
            rec = {"lr": draw(FLOAT), "data_time": draw(FLOAT), "grad_norm": draw(FLOAT), "loss": draw(FLOAT),
                   "loss_rgb": draw(FLOAT), "loss_pose": draw(FLOAT), "top1_acc": draw(FLOAT), "time": draw(FLOAT),
                   "epoch": epoch, "iter": step}
            if draw(st.booleans()):
                rec["memory"] = draw(st.integers(0, 80000))
            if kind == "long":  # a valid 1 MB record (a non-numeric field is ignored)
                rec["note"] = "n" * draw(st.integers(1 << 19, 1 << 20))
            rec["step"] = step
            lines.append(json.dumps(rec).encode())
            train[step] = {k: float(v) for k, v in rec.items() if k not in ("step", "note")}
        elif kind == "val":
            rec = {k: draw(st.floats(0, 1)) for k in ("acc/top1", "acc/top5", "acc/mean1", "acc/rgb_top1", "acc/pose_top1")}
            rec.update({"data_time": draw(FLOAT), "time": draw(FLOAT), "epoch": epoch, "step": epoch})
            lines.append(json.dumps(rec).encode())
            val[epoch] = {k: float(v) for k, v in rec.items() if k != "step"}
        elif kind == "tep":
            rec = {"train/loss": draw(FLOAT), "train/top1": draw(st.floats(0, 1)), "epoch": epoch, "step": epoch}
            lines.append(json.dumps(rec).encode())
            tep[epoch] = {k: float(v) for k, v in rec.items() if k != "step"}
        elif kind == "resume":
            lines.append(json.dumps({"resume": True, "epoch": epoch, "iter": step, "step": step}).encode())
            resumes += 1
        elif kind == "garbage":
            g = draw(st.one_of(garbage(1 << 20).filter(_json_garbage_ok), st.sampled_from(
                [b"NaN", b"Infinity", b"-Infinity", b"null", b'"text"', b"42", b"true"])))
            lines.append(g)
            bad += 1 if g.strip() else 0
        else:  # a record cut off at a random byte (never closed: no '}')
            full = json.dumps({"lr": draw(FLOAT), "loss": draw(FLOAT), "epoch": epoch, "step": step}).encode()
            cut = full[:draw(st.integers(0, len(full) - 1))]
            lines.append(cut)
            bad += 1 if cut.strip() else 0
    return lines, train, val, tep, bad, resumes


@fuzz(200)
@given(st.data())
def test_json_valid_lines_survive_garbage(data) -> None:
    CASES["b_json"] += 1
    lines, train, val, tep, bad, resumes = data.draw(json_run())
    store = SeriesStore()
    as_list = data.draw(st.booleans())
    for group in split_lines(data.draw, lines):
        feed_json(store, group if as_list else b"\n".join(group) + b"\n")
    exercise(store)
    assert_train_equals(store, train)
    assert_epoch_table_equals(store.val, val)
    assert_epoch_table_equals(store.train_epoch, tep)
    assert store.bad == bad and store.resumes == resumes


def _official_garbage_ok(g: bytes) -> bool:
    return b"Epoch" not in g and b"_acc" not in g


@st.composite
def official_run(draw):
    n = draw(st.sampled_from([5, 100, 2505]))
    lines: list[bytes] = []
    train: dict[int, dict[str, float]] = {}
    val: dict[int, dict[str, float]] = {}

    def noise() -> None:
        for _ in range(draw(st.integers(0, 2))):
            lines.append(draw(st.one_of(garbage(1 << 20).filter(_official_garbage_ok),
                                        st.sampled_from([b"", b"Evaluating top_k_accuracy ...", b"some print"]))))

    for epoch in range(draw(st.integers(1, 4))):  # the official script counts epochs from 0
        noise()
        for _ in range(draw(st.integers(1, 5))):
            it = draw(st.integers(0, n))
            lr, loss, a1, a5 = draw(FLOAT), draw(FLOAT), draw(st.floats(0, 1)), draw(st.floats(0, 1))
            ts = draw(st.sampled_from(["2024-05-01 10:00:00,000 2024-05-01 10:00:00.123456", "2024-05-01 10:00:00.1"]))
            lines.append(f"{ts} Epoch: [{epoch}][{it}|{n}] lr: {lr:.7f} loss: {loss:.5f} top1_acc: {a1:.5f} "
                         f"top5_acc: {a5:.5f}".encode())
            train[epoch * n + it] = {"epoch": float(epoch), "lr": float(f"{lr:.7f}"), "loss": float(f"{loss:.5f}"),
                                     "top1_acc": float(f"{a1:.5f}"), "top5_acc": float(f"{a5:.5f}")}
            noise()
        if draw(st.booleans()):  # the evaluation block
            t1, t5, m = draw(st.floats(0, 1)), draw(st.floats(0, 1)), draw(st.floats(0, 1))
            ws = draw(st.sampled_from(["", " ", "\t"]))
            lines.append(b"Evaluating top_k_accuracy ...")
            lines.append(f"{ws}top1_acc: {t1:.5f}".encode())
            noise()
            lines.append(f"{ws}top5_acc: {t5:.5f}".encode())
            lines.append(b"Evaluating mean_class_accuracy ...")
            lines.append(f"{ws}mean_acc : {m:.5f}".encode())
            lines.append(f"Best top-1 Acc is: {t1:.5f} at epoch: {epoch}".encode())
            val[epoch] = {"acc/top1": float(f"{t1:.5f}"), "acc/top5": float(f"{t5:.5f}"), "acc/mean1": float(f"{m:.5f}")}
    return lines, train, val


@fuzz(200)
@given(st.data())
def test_official_valid_lines_survive_garbage(data) -> None:
    CASES["b_official"] += 1
    lines, train, val = data.draw(official_run())
    store, state = SeriesStore(), {}
    as_list = data.draw(st.booleans())
    for group in split_lines(data.draw, lines):
        feed_epam_official(store, group if as_list else b"\n".join(group) + b"\n", state)
    exercise(store)
    assert_train_equals(store, train)
    assert_epoch_table_equals(store.val, val)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled-scanner", "regex"])
def test_mmengine_one_megabyte_line_among_train_lines(compiled: bool, monkeypatch) -> None:
    """A 1 MB line among train lines of one layout (the template fast path) costs no more than linear time.

    The chunk is over FAST_MIN_BYTES, so with numba installed it goes to the compiled scanner first; the
    first call may import numba and compile the scanner (seconds, once per machine), so the timed call is
    the second. Quadratic work on a 1 MB line would take hours, so the bound is loose."""
    from epam_tui.core.sources import parsers

    monkeypatch.setattr(parsers, "_SCANNER", [])
    monkeypatch.setenv("EPAM_TUI_FAST_INGEST", "1" if compiled else "0")
    line = MM_PREFIX + "Epoch(train) [1][{i:>2}/50]  lr: 1.0000e-03  eta: 0:00:01  time: 0.1000  data_time: 0.0100  loss: {i}.0000"
    chunk = b"\n".join([line.format(i=1).encode(), b"\xff" + b"x" * (1 << 20), line.format(i=2).encode()]) + b"\n"
    assert len(chunk) >= parsers.FAST_MIN_BYTES
    feed_mmengine(SeriesStore(), chunk)  # warm-up: imports and compiles what the path needs
    store = SeriesStore()
    start = time.perf_counter()
    feed_mmengine(store, chunk)
    assert time.perf_counter() - start < 2.0
    assert store.columns()["loss"].tolist() == [1.0, 2.0]


# ------------------------------------------------------------------------------------------- (c)

LINE_TEXT = st.one_of(
    st.text(max_size=30).map(lambda s: s.replace("\n", " ").encode("utf-8", "surrogatepass")),  # multi-byte UTF-8
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),
    st.sampled_from(["é€😀", "ünïcödé ✓", "日本語のログ"]).map(str.encode),
    st.integers(0, 200).map(lambda k: "é".encode() * k),  # long: some lines exceed max_line
)


@fuzz(300)
@given(st.data())
def test_tailer_yields_each_line_once(data) -> None:
    CASES["c_tailer"] += 1
    max_line = data.draw(st.sampled_from([16, 64, 200, 65536]))
    lines = data.draw(st.lists(LINE_TEXT, max_size=20))
    unterminated = data.draw(st.booleans()) and lines and lines[-1]
    content = b"".join(line + b"\n" for line in lines)
    if unterminated:
        content = content[:-1]
    cuts = sorted(data.draw(st.sets(st.integers(0, len(content)), max_size=12)))
    bounds = [0, *cuts, len(content)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log"
        tailer = Tailer(path, max_line=max_line)
        got: list[bytes] = []
        got += tailer.read()  # before the file exists
        for a, b in zip(bounds, bounds[1:]):
            with open(path, "ab") as fh:
                fh.write(content[a:b])
            for _ in range(data.draw(st.integers(0, 2))):
                got += tailer.read(data.draw(st.one_of(st.none(), st.integers(1, 64))))
                assert not tailer.reset
        for _ in range(len(content) + 2):  # drain (small limits need many reads)
            if tailer.at_end:
                break
            got += tailer.read(data.draw(st.one_of(st.none(), st.integers(1, 64))))
        assert tailer.at_end
        got += tailer.read()
    complete = lines[:-1] if unterminated else lines
    expected = [line for line in complete if len(line) <= max_line]
    assert got == expected
    overlong = sum(1 for line in complete if len(line) > max_line)
    if unterminated and len(lines[-1]) > max_line:
        overlong += 1  # an unterminated line already known to be too long is counted when seen
    assert tailer.skipped == overlong


# ------------------------------------------------------------------------------------------- (d)

MM_FMT = MM_PREFIX + "Epoch(train)  [{e}][{i:>2}/10]  lr: 1.0000e-02  eta: 0:01:00  time: {t:.4f}  loss: {loss:.4f}"


def encode_record(fmt: str, step: int, loss: float, t: float) -> tuple[bytes, dict[str, float]]:
    e, i = (step - 1) // 10 + 1, (step - 1) % 10 + 1
    if fmt == "json":
        rec = {"lr": 0.01, "loss": loss, "time": t, "epoch": e, "iter": step, "step": step}
        return json.dumps(rec).encode(), {"lr": 0.01, "loss": loss, "time": t, "epoch": float(e), "iter": float(step)}
    line = MM_FMT.format(e=e, i=i, t=t, loss=loss)
    return line.encode(), {"lr": 0.01, "loss": float(f"{loss:.4f}"), "time": float(f"{t:.4f}"), "epoch": float(e)}


RECORD = st.tuples(st.integers(1, 60), st.floats(-100, 100), st.floats(0, 10))
OP = st.one_of(
    st.tuples(st.just("append"), st.lists(RECORD, min_size=1, max_size=8), st.lists(st.integers(0, 4000), max_size=3)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("replace"), st.lists(RECORD, max_size=8)),
    st.tuples(st.just("poll"), st.one_of(st.none(), st.integers(1, 200))),
)


def reference(content: bytes, known: dict[bytes, dict[str, float]]) -> dict[int, dict[str, float]]:
    out: dict[int, dict[str, float]] = {}
    for line in content.split(b"\n")[:-1]:  # complete lines; a cut-off one is garbage
        row = known.get(line)
        if row is not None:
            step = int(row["_step"])
            out[step] = {k: v for k, v in row.items() if k != "_step"}
    return out


def run_watcher_ops(fmt: str, ops: list, data, read_between: bool) -> None:
    """Apply the ops to a run directory watched by a RunWatcher. ``read_between``: the watcher polls right
    after each truncation / replacement (they happen between reads), and the series must then equal the
    file's after every full poll; otherwise only "no duplicate step" is required in between (a file cut and
    grown past the read offset with no read in between cannot be told from an appended one)."""
    name = "scalars.jsonl" if fmt == "json" else "train.log"
    known: dict[bytes, dict[str, float]] = {}

    def lines_for(records) -> bytes:
        out = b""
        for step, loss, t in records:
            line, row = encode_record(fmt, step, loss, t)
            known[line] = {**row, "_step": float(step)}
            out += line + b"\n"
        return out

    def poll(budget: int | None) -> None:
        watcher.poll(budget) if budget is not None else watcher.poll()
        steps = watcher.data.store.columns(None)["step"].tolist()
        assert steps == sorted(set(steps)), "duplicate or unsorted steps"
        if budget is None and read_between:
            assert_train_equals(watcher.data.store, reference(content, known))

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        run.mkdir()
        path = run / name
        content = b""
        path.write_bytes(content)
        watcher = RunWatcher(run)
        poll(None)
        for op in ops:
            if op[0] == "append":
                blob = lines_for(op[1])
                cuts = sorted({min(c, len(blob)) for c in op[2]})
                for a, b in zip([0, *cuts], [*cuts, len(blob)]):
                    with open(path, "ab") as fh:  # a partial write, maybe read half-way
                        fh.write(blob[a:b])
                    content += blob[a:b]
                    if b < len(blob):
                        poll(None)
            elif op[0] == "truncate":
                if fmt == "json":  # at any byte: a cut JSON record is garbage
                    at = int(op[1] * len(content))
                else:  # MMEngine text: at a line start (a cut line with a whole header is a shorter record)
                    starts = [0] + [m.end() for m in re.finditer(rb"\n", content)]
                    at = starts[int(op[1] * (len(starts) - 1))]
                with open(path, "r+b") as fh:
                    fh.truncate(at)
                content = content[:at]
                if read_between:
                    poll(data.draw(st.one_of(st.none(), st.integers(1, 200))))
            elif op[0] == "replace":
                blob = lines_for(op[1])
                tmpfile = run / (name + ".tmp")
                tmpfile.write_bytes(blob)
                os.replace(tmpfile, path)
                content = blob
                if read_between:
                    poll(data.draw(st.one_of(st.none(), st.integers(1, 200))))
            else:
                poll(op[1])
        poll(None)
        if read_between:
            fresh = load_run(run)  # a restarted TUI reads the same series
            assert_train_equals(fresh.store, reference(content, known))


@fuzz(200)
@given(st.sampled_from(["json", "mmengine"]), st.lists(OP, min_size=1, max_size=12), st.data())
def test_watcher_truncation_and_replacement(fmt: str, ops: list, data) -> None:
    CASES["d_watcher_read_between"] += 1
    run_watcher_ops(fmt, ops, data, read_between=True)


@fuzz(150)
@given(st.sampled_from(["json", "mmengine"]), st.lists(OP, min_size=1, max_size=12), st.data())
def test_watcher_never_duplicates_steps(fmt: str, ops: list, data) -> None:
    CASES["d_watcher_any_order"] += 1
    run_watcher_ops(fmt, ops, data, read_between=False)


def _watch_json(tmp: Path) -> tuple[Path, RunWatcher]:
    run = tmp / "run"
    run.mkdir()
    (run / "scalars.jsonl").write_bytes(lines_json([(s, 1.0) for s in range(1, 4)]))
    watcher = RunWatcher(run)
    watcher.poll()
    assert watcher.data.train["step"].tolist() == [1, 2, 3]
    return run, watcher


def lines_json(records: list[tuple[int, float]]) -> bytes:
    return b"".join(json.dumps({"lr": 0.1, "loss": loss, "epoch": 1, "iter": s, "step": s}).encode() + b"\n"
                    for s, loss in records)


def test_tailer_replaced_twice_between_reads(tmp_path: Path) -> None:
    """ext4 gives the second replacement the first file's inode number: found by the property above
    (fixed in tail.py by comparing the bytes before the offset)."""
    run, watcher = _watch_json(tmp_path)
    for records in ([(10, 2.0)], [(s, 3.0) for s in range(20, 25)]):
        tmp = run / "new.tmp"
        tmp.write_bytes(lines_json(records))
        os.replace(tmp, run / "scalars.jsonl")
    watcher.poll()
    assert watcher.data.train["step"].tolist() == list(range(20, 25))
    assert watcher.data.train["loss"].tolist() == [3.0] * 5


def test_tailer_truncated_and_regrown_past_offset(tmp_path: Path) -> None:
    """Cut to nothing and rewritten longer before the next read (a new run in the same directory)."""
    run, watcher = _watch_json(tmp_path)
    with open(run / "scalars.jsonl", "r+b") as fh:
        fh.truncate(0)
    with open(run / "scalars.jsonl", "ab") as fh:
        fh.write(lines_json([(s, 5.0) for s in range(7, 13)]))
    watcher.poll()
    assert watcher.data.train["step"].tolist() == list(range(7, 13))


# ------------------------------------------------------------------------ parser bugs found here (fixed)

BIG = b"9" * 400  # an integer beyond float range (1e400)
HUGE = b"9" * 5000  # beyond Python's int() string-conversion limit (4300 digits)
V7 = b'{"lr": 0.1, "loss": 1.0, "step": 7}'

RAISING = {
    "json_epoch_not_int": (feed_json, [b'{"acc/top1": 0.5, "epoch": "x", "step": 1}']),
    "json_epoch_null": (feed_json, [b'{"train/loss": 0.5, "epoch": null, "step": 1}']),
    "json_int_value_beyond_float": (feed_json, [b'{"lr": 1' + b"0" * 400 + b', "step": 1}']),
    "json_step_beyond_float": (feed_json, [b'{"lr": 1.0, "step": 1' + b"0" * 400 + b"}"]),
    "mm_iters_beyond_float_fast_path": (feed_mmengine, [b"Epoch(train) [1][1/" + BIG + b"]  loss: 1.0"]),
    "mm_epoch_beyond_float_line_path": (feed_mmengine, [b"Epoch(train) [" + BIG + b"][1/2]  loss: 1.0  x"]),
    "mm_digits_over_int_limit": (feed_mmengine, [b"Epoch(val) [1][" + HUGE + b"/1]  acc/top1: 1.0"]),
    "official_epoch_beyond_float": (lambda s, d: feed_epam_official(s, d, {}), [b"Epoch: [" + BIG + b"][1|2] loss: 1.0"]),
    "official_digits_over_int_limit": (lambda s, d: feed_epam_official(s, d, {}), [b"Epoch: [" + HUGE + b"][1|2] loss: 1.0"]),
}


@pytest.mark.parametrize("case", sorted(RAISING))
def test_regression_parser_raises(case: str) -> None:
    feed, lines = RAISING[case]
    store = SeriesStore()
    feed(store, lines)  # expected: no exception, the line skipped and counted in store.bad
    exercise(store)
    assert store.bad == 1 and store.n_train == 0


def test_regression_json_chunk_merges_garbage_lines() -> None:
    store = SeriesStore()
    feed_json(store, [b'{"lr": 0.1, "step": 7', b'"loss": 2.0}'])
    assert store.n_train == 0 and store.bad == 2  # actual: a train point at step 7, bad == 0


def test_regression_json_chunk_swallows_valid_line() -> None:
    store = SeriesStore()
    feed_json(store, [b"[1", V7, b"2]"])
    assert store.columns()["step"].tolist() == [7] and store.bad == 2  # actual: no point, bad == 1


def test_regression_json_one_line_counted_twice() -> None:
    store = SeriesStore()
    feed_json(store, [b"1,2"])
    assert store.bad == 1  # actual: 2


def test_regression_mm_fast_path_step_key() -> None:
    store = SeriesStore()
    feed_mmengine(store, b"Epoch(train) [1][5/10]  lr: 1.0000e-02  step: 3\n")
    assert store.columns()["step"].tolist() == [5]  # actual: [3] (the line parser gives 5)


def test_regression_mm_long_line_quadratic() -> None:
    """64 KB (the tailer's line limit) of garbage next to a val line takes seconds (1 MB: minutes)."""
    chunk = b"x" * 65536 + b"\n" + MM_PREFIX.encode() + b"Epoch(val) [1][5/5]    acc/top1: 0.5000\n"
    store = SeriesStore()
    start = time.perf_counter()
    feed_mmengine(store, chunk)
    elapsed = time.perf_counter() - start
    assert store.val[1]["acc/top1"] == 0.5
    assert elapsed < 0.5, f"{elapsed:.2f} s for a 64 KB line"


# ------------------------------------------------------------------------------ run-directory JSON files
# (issue 19 item 1: one malformed status.json crashed `epam-tui status` and the monitor for every run)

STATUS_INTS = {"epoch": (0, 100_000), "iter": (0, 10**15), "max_epochs": (0, 100_000),
               "iters_per_epoch": (0, 10**12), "world_size": (0, 1 << 20), "pid": (0, 2**31 - 1)}
STATUS_TIMES = ("create_time", "started", "updated")
STATUS_TEXTS = ("host", "exit_reason", "device")
FIXTURE_RUNS = Path(__file__).parents[1] / "tui" / "fixtures" / "runs"


def status_value_ok(key: str, value) -> bool:
    """The contract (docs/run_directory.md), written out independently of core/rundir.py."""
    if key in STATUS_INTS:
        lo, hi = STATUS_INTS[key]
        return (type(value) is int and lo <= value <= hi) or (key == "pid" and value is None)  # pid: null = unknown
    if key in STATUS_TIMES:
        return value is None or (type(value) in (int, float) and math.isfinite(value) and 0 <= value <= 1e11)
    if key in STATUS_TEXTS:
        return value is None or (isinstance(value, str) and len(value) <= 64)
    if key == "state":
        return value in ("running", "finished", "failed", "stopped")
    if key == "best":
        return value is None or (isinstance(value, dict) and all(
            k not in value or ok for k, ok in (
                ("metric", isinstance(value.get("metric"), str)),
                ("value", type(value.get("value")) in (int, float) and math.isfinite(value.get("value"))
                 and abs(value.get("value")) <= 1e300),
                ("epoch", type(value.get("epoch")) is int and 0 <= value.get("epoch", -1) <= 100_000))))
    return True


ANY_VALUE = st.one_of(
    st.integers(), st.integers(min_value=10**15, max_value=10**40), st.integers(max_value=-1),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(), st.none(), st.text(max_size=8),
    st.sampled_from(["abc", "x", "y", "yesterday", "running", "finished", "cuda", "cpu", "1e999", ""]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.sampled_from(["metric", "value", "epoch", "z"]),
                                                         st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
)
GOOD_STATUS = {"state": "running", "epoch": 1, "iter": 30, "max_epochs": 8, "iters_per_epoch": 50, "world_size": 1,
               "pid": 0, "create_time": None, "host": "h", "started": 0.0, "updated": 0.0, "exit_reason": None,
               "best": None}


def _two_runs(root: Path, status_bytes: bytes, name: str = "status.json") -> tuple[Path, Path]:
    import shutil

    good = root / "good"
    shutil.copytree(FIXTURE_RUNS / "demo-finished", good)
    bad = root / "bad"
    shutil.copytree(FIXTURE_RUNS / "demo-running", bad)
    (bad / name).write_bytes(status_bytes)
    return good, bad


def _status_cli(root: Path) -> tuple[int, str]:
    import contextlib
    import io

    from epam_tui.commands import status

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = status.main([str(root)])
    return code, out.getvalue()


def _check_two_runs(root: Path, good: Path, bad: Path, field: str | None, expect_bad: bool) -> None:
    g, b = load_run(good), load_run(bad)
    assert g.state == "finished" and g.problems == []
    json.dumps([g.summary(), b.summary()])  # what `status --json` prints
    if expect_bad:
        assert b.state == "unreadable", (field, b.state, b.reason)
        assert b.reason.startswith("unreadable status.json: " + (f"{field} " if field else "")), b.reason
        assert len(b.reason) < 300
    else:
        assert b.state != "unreadable", (field, b.reason)
    code, text = _status_cli(root)
    rows = text.splitlines()
    assert code == 0 and len(rows) == 3, text  # the header and one row per run, the bad one included
    assert any(r.startswith("good") and " finished " in r for r in rows), text
    bad_row = next(r for r in rows if r.startswith("bad"))
    assert ("unreadable status.json" in bad_row) == expect_bad, bad_row


@fuzz(120)
@given(field=st.sampled_from(sorted(GOOD_STATUS) + ["device"]), value=ANY_VALUE)
def test_status_json_field_variants(field: str, value) -> None:
    """Any JSON value in any status.json field: the run is unreadable with the field named exactly when
    the value breaks the contract; the other run and the status command are unaffected."""
    CASES["status_field"] += 1
    try:
        raw = json.dumps({**GOOD_STATUS, field: value}).encode()
    except ValueError:  # an int past Python's 4,300-digit str limit cannot even be written
        assume(False)
    with tempfile.TemporaryDirectory() as tmp:
        good, bad = _two_runs(Path(tmp), raw)
        _check_two_runs(Path(tmp), good, bad, field, not status_value_ok(field, value))


@pytest.mark.parametrize("raw, field", [
    (b'{"state": "running", "pid": "abc"}', "pid"),
    (b'{"state": "running", "epoch": "x"}', "epoch"),
    (b'{"state": "running", "updated": "yesterday"}', "updated"),
    (b'{"state": "running", "iters_per_epoch": "y"}', "iters_per_epoch"),
    (b'{"state": "running", "max_epochs": 1e999}', "max_epochs"),
    (b'{"state": "running", "epoch": NaN}', "epoch"),
    (b'{"state": "running", "iter": 123456789012345678901234567890}', "iter"),
    (b'{"state": "running", "epoch": ' + b"9" * 5000 + b"}", None),  # over Python's int digit limit
    (b'["state", "running"]', None),
    (b"NaN", None),
    (b"[" * 200_000 + b"]" * 200_000, None),
    (b"\xff\xfe{", None),
    (b"", None),
    (b'{"state": "running", "best": {"value": "x"}}', "best"),
    (b'{"state": "zombie"}', "state"),
])
def test_status_json_issue_variants(tmp_path: Path, raw: bytes, field: str | None) -> None:
    """The variants the issue reproduced, and whole-file breakage (a list, NaN, deep nesting, bad UTF-8)."""
    good, bad = _two_runs(tmp_path, raw)
    _check_two_runs(tmp_path, good, bad, field, True)


def test_status_json_reason_names_the_field(tmp_path: Path) -> None:
    good, bad = _two_runs(tmp_path, b'{"state": "running", "pid": "abc"}')
    assert load_run(bad).reason == "unreadable status.json: pid must be an integer (got 'abc')"


@pytest.mark.parametrize("name, raw, says", [
    ("run.json", b'{"pid": "abc", "name": "x"}', "unreadable run.json: pid must be an integer"),
    ("run.json", b'{"gpus": [{"index": "0"}]}', "unreadable run.json: gpus[0] index must be an integer"),
    ("run.json", b'{"gpus": "0,1"}', "unreadable run.json: gpus must be a list"),
    ("run.json", b'{"name": ["a"]}', "unreadable run.json: name must be a string"),
    ("run.json", b"[1, 2]", "unreadable run.json: must be a JSON object"),
    ("exit.json", b'{"code": "x"}', "unreadable exit.json: code must be an integer"),
    ("exit.json", b'{"code": 0, "ended": "later"}', "unreadable exit.json: ended must be a finite number"),
])
def test_run_and_exit_json_variants(tmp_path: Path, name: str, raw: bytes, says: str) -> None:
    good, bad = _two_runs(tmp_path, raw, name)
    b = load_run(bad)
    assert b.state == "unreadable" and b.reason.startswith(says), b.reason
    assert load_run(good).state == "finished"
    code, text = _status_cli(tmp_path)
    assert code == 0 and len(text.splitlines()) == 3 and says in text


@fuzz(60)
@given(lines=st.lists(st.one_of(
    st.builds(lambda t, u: json.dumps({"time": t, "util": u}),
              st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.none()),
              st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.lists(st.floats(allow_nan=True), max_size=3),
                        st.text(max_size=3), st.booleans())),
    st.builds(lambda k, m: json.dumps({"time": 1.0, "kind": k, "key": "1", "message": m}),
              st.one_of(st.text(max_size=5), st.integers(), st.none()), st.one_of(st.text(max_size=5), st.integers())),
    st.text(max_size=20), st.just("[1, 2]"), st.just("NaN")), max_size=12))
def test_jsonl_run_files_keep_only_valid_records(lines: list[str]) -> None:
    """gpu_util.jsonl and events.jsonl: records with a bad field are dropped and counted, never raised;
    the alert tracker and the RunData events read the same file."""
    from epam_tui.core import rundir
    from epam_tui.core.alerts import AlertTracker

    CASES["jsonl_records"] += 1
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        text = "\n".join(lines) + "\n"
        (d / "gpu_util.jsonl").write_text(text)
        (d / "events.jsonl").write_text(text)
        for got, required in ((rundir.read_gpu_util(d), ("time", "util")), (rundir.read_events(d), ("time", "kind"))):
            assert got.bad + len(got.records) == sum(1 for line in lines for part in line.split("\n") if part.strip())
            for rec in got.records:
                assert all(k in rec for k in required), rec
                for key, value in rec.items():
                    if key == "time":
                        assert type(value) in (int, float) and math.isfinite(value)
                    if key == "kind":
                        assert isinstance(value, str)
                    if key == "util":
                        vals = value if isinstance(value, list) else [value]
                        assert vals and all(type(v) in (int, float) and 0 <= v <= 100 for v in vals)
        AlertTracker()._load(d)  # the tracker reads events.jsonl the same way


def test_watcher_survives_its_directory_vanishing(tmp_path: Path) -> None:
    import shutil

    good, bad = _two_runs(tmp_path, json.dumps(GOOD_STATUS).encode())
    watcher = RunWatcher(bad)
    watcher.poll()
    shutil.rmtree(bad)
    watcher.poll()  # sources listed, then gone: no exception
    assert watcher.data.state in ("unreadable", "unknown")


async def test_monitor_stays_up_with_one_bad_run(tmp_path: Path) -> None:
    """The Textual monitor with a malformed status.json among good runs: every run has its row, the bad
    one says unreadable, and the app keeps polling (it died with WorkerFailed before)."""
    import shutil

    from textual.widgets import DataTable

    from epam_tui.core.gpus import FakeBackend, scripted_gpus
    from epam_tui.ui.app import EpamTuiApp

    root = tmp_path / "work_dirs"
    shutil.copytree(FIXTURE_RUNS, root)
    bad = root / "zz-bad"
    shutil.copytree(FIXTURE_RUNS / "demo-running", bad)
    (bad / "status.json").write_text('{"state": "running", "pid": "abc", "epoch": "x", "updated": "yesterday"}')
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(1)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        table = app.monitor.query_one("#runs", DataTable)
        for _ in range(40):
            if table.row_count == 3:
                break
            await pilot.pause(0.2)
        assert table.row_count == 3
        states = [str(table.get_cell_at((i, table.get_column_index("state")))) for i in range(3)]
        assert sum("unreadable" in s for s in states) == 1, states
        app.monitor.poll_runs()  # another poll round: still up
        await pilot.pause(0.5)
        assert app.is_running and table.row_count == 3


def test_zz_case_counts() -> None:
    """Prints how many generated cases each property ran in this session (run with -s to see it)."""
    print("\nfuzz cases run: " + ", ".join(f"{k}={v}" for k, v in sorted(CASES.items())) + f" (total {sum(CASES.values())})")
