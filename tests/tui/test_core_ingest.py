"""Chunked ingest: the template fast path agrees with the line parser, resumes keep the last record per
step, overlong lines across reads, stall alert, two watchers on a growing MMEngine work_dir."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from epam_tui.core.alerts import alerts_for
from epam_tui.core.registry import RunWatcher, load_run, main_log
from epam_tui.core.sources.parsers import SeriesStore, _slow_line, feed_mmengine
from epam_tui.core.tail import Tailer, _has_long_line

LINE = ("2024/01/01 12:00:00 - mmengine - INFO - Epoch(train)  [{e}][{i:>4}/2505]  lr: 1.5000e-03  "
        "eta: {eta}  time: 0.4000  data_time: 0.0200  memory: 5120  grad_norm: 3.2100  loss: {loss}  "
        "top1_acc: 0.0000  top5_acc: 0.0833  loss_cls: 4.0950")


def lines(n: int, start: int = 0, loss: str = "4.0950") -> list[bytes]:
    return [LINE.format(e=k // 2505 + 1, i=k % 2505 + 1, loss=loss, eta="1 day, 2:03:04" if k % 2 else "0:12:34").encode()
            for k in range(start, start + n)]


def slow(chunk: list[bytes]) -> dict[str, np.ndarray]:
    s = SeriesStore()
    for line in chunk:
        _slow_line(s, line)
    return s.columns()


def test_fast_path_equals_line_parser() -> None:
    chunk = lines(3000)
    s = SeriesStore()
    feed_mmengine(s, b"\n".join(chunk) + b"\n")
    fast, ref = s.columns(), slow(chunk)
    assert list(fast["step"]) == list(range(1, 3001)) and s.iters_per_epoch == 2505
    for key in ("epoch", "lr", "loss", "memory", "grad_norm", "time", "data_time", "top1_acc"):
        np.testing.assert_array_equal(fast[key], ref[key])


def test_mixed_layouts_fall_back_and_nan_is_kept() -> None:
    chunk = lines(5) + [b"2026/11/25 01:41:42 - mmengine - INFO - Epoch(train) [1][9/2505]  lr: 1.0000e-03  eta: 0:00:10  "
                        b"time: 0.1000  loss: nan"] + [b"\xff\xfe garbage", b"Exp name: x"]
    s = SeriesStore()
    feed_mmengine(s, chunk)
    cols = s.columns()
    assert list(cols["step"]) == [1, 2, 3, 4, 5, 9] and np.isnan(cols["loss"][-1]) and s.first_nonfinite == 9
    assert np.isnan(cols["memory"][-1]) and cols["memory"][0] == 5120


def test_resume_rewrites_steps_last_wins() -> None:
    s = SeriesStore()
    feed_mmengine(s, lines(10, loss="4.0000"))
    feed_mmengine(s, lines(5, start=5, loss="1.0000"))  # steps 6..10 written again after a resume
    cols = s.columns()
    assert list(cols["step"]) == list(range(1, 11))
    assert list(cols["loss"]) == [4.0] * 5 + [1.0] * 5


def test_overlong_line_split_across_reads(tmp_path: Path) -> None:
    f = tmp_path / "a.log"
    f.write_bytes(b"ok\n" + b"x" * 80)
    t = Tailer(f, max_line=50)
    assert t.read() == [b"ok"] and t.skipped == 1
    with open(f, "ab") as fh:
        fh.write(b"y" * 80)
    assert t.read() == [] and t.skipped == 1  # the same line, not counted twice
    with open(f, "ab") as fh:
        fh.write(b"zz\nnext\n")
    assert t.read() == [b"next"] and t.skipped == 1


def test_budgeted_read_allocates_only_what_is_new(tmp_path: Path) -> None:
    """A poll with an 8 MiB budget on a live file that grew by a line must not allocate 8 MiB (read(n)
    allocates n bytes up front: done every second, that churned the allocator and grew the RSS)."""
    import tracemalloc

    f = tmp_path / "live.log"
    f.write_bytes(b"first line\n" * 1000)
    t = Tailer(f)
    assert len(t.read(8 << 20)) == 1000
    with open(f, "ab") as fh:
        fh.write(b"one more line\n")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        assert t.read(8 << 20) == [b"one more line"]
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 256 << 10, f"a 14-byte append allocated {peak} bytes"
    # a replaced file read again from the start is capped by the budget too, and still complete
    f.write_bytes(b"new\n" * 10)
    os.utime(f)
    assert t.read(8 << 20) == [b"new"] * 10 and t.reset


def test_stall_alert(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    with open(run / "scalars.jsonl", "w") as fh:
        for s in range(1, 6):
            fh.write(json.dumps({"lr": 0.1, "loss": 1.0, "time": 2.0, "epoch": 1, "iter": s, "step": s}) + "\n")
    old = time.time() - 600
    os.utime(run / "scalars.jsonl", (old, old))
    (run / "status.json").write_text(json.dumps({"state": "running", "pid": os.getpid(), "create_time": None,
                                                 "updated": old, "iters_per_epoch": 5, "max_epochs": 2}))
    data = load_run(run)
    assert data.state == "stalled"
    assert [a.kind for a in alerts_for(data)] == ["stall"]


def test_two_watchers_on_growing_mmengine_workdir(tmp_path: Path) -> None:
    ts = tmp_path / "wd" / "20260101_000000"
    ts.mkdir(parents=True)
    log = ts / "20260101_000000.log"
    all_lines = lines(700)
    a = RunWatcher(tmp_path / "wd")
    written = 0
    for size in (100, 1, 250, 349):
        with open(log, "ab") as fh:
            chunk = b"\n".join(all_lines[written:written + size]) + b"\n"
            fh.write(chunk[:-7])  # the last line arrives in two pieces
            a.poll()
            fh.write(chunk[-7:])
        written += size
        a.poll()
    b = RunWatcher(tmp_path / "wd")  # a restarted TUI
    b.poll()
    assert list(a.data.train["step"]) == list(b.data.train["step"]) == list(range(1, 701))
    assert a.data.kind == "mmengine" and main_log(tmp_path / "wd") == log


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=30), st.integers(1, 30))
def test_has_long_line_matches_the_longest_line(lengths: list[int], max_line: int) -> None:
    chunk = b"".join(b"x" * n + b"\n" for n in lengths)
    assert _has_long_line(chunk, max_line) == (max(lengths) > max_line)


def test_big_chunk_of_short_lines_keeps_every_line(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    lines = [b"y" * (k % 300) for k in range(20000)]
    path.write_bytes(b"".join(line + b"\n" for line in lines) + b"z" * 70000 + b"\n" + b"tail\n")
    tail = Tailer(path, max_line=65536)
    assert tail.read() == [*lines, b"tail"] and tail.skipped == 1
