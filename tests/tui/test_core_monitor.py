"""Monitor core without a terminal: tailer, parsers, run registry, state, alerts, GPU panel text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil

from epam_tui.core.alerts import AlertTracker
from epam_tui.core.gpus import FakeBackend, GpuSampler, GpuUnavailable, UnavailableBackend, scripted_gpus
from epam_tui.core.registry import RunWatcher, detect_kind, discover, load_run
from epam_tui.core.series import downsample_minmax, ema_debiased
from epam_tui.core.sources.parsers import SeriesStore, feed_epam_official, feed_json, feed_mmengine
from epam_tui.core.tail import Tailer
from epam_tui.ui.screens.monitor import gpu_panel_text

MM_LINES = [
    b"2026/11/25 01:41:42 - mmengine - INFO - Epoch(train) [1][20/50]  lr: 7.5000e-03  eta: 0:00:00  time: 0.0011  data_time: 0.0002  grad_norm: 1.3710  loss: 1.6818  top1_acc: 0.5000  top5_acc: 1.0000  loss_cls: 1.6818",
    b"2024/01/01 12:00:00 - mmengine - INFO - Epoch(train)  [1][  20/2505]  lr: 1.5000e-03  eta: 1 day, 2:03:04  time: 0.4000  data_time: 0.0200  memory: 5120  grad_norm: 3.2100  loss: 4.0950  top1_acc: 0.0000  top5_acc: 0.0833  loss_cls: 4.0950",
    b"2026/11/25 01:41:42 - mmengine - INFO - Epoch(train)  [3][ 5/10]  lr: 1.0000e-03  eta: 0:00:10  time: 0.1000  data_time: 0.0100  loss: 2.5000",
    b"2026/11/25 01:41:42 - mmengine - INFO - Epoch(val) [1][20/50]    eta: 0:00:00  time: 0.0002  data_time: 0.0001  ",
    b"2026/11/25 01:41:42 - mmengine - INFO - Epoch(val) [1][50/50]    acc/top1: 0.2500  acc/top5: 1.0000  acc/mean1: 0.2500  data_time: 0.0001  time: 0.0002",
]


def write(path: Path, text: str | bytes, mode: str = "w") -> None:
    with open(path, mode + ("b" if isinstance(text, bytes) else "")) as fh:
        fh.write(text)


# ---------------------------------------------------------------- tailer


def test_tailer_keeps_partial_lines(tmp_path: Path) -> None:
    f = tmp_path / "a.log"
    write(f, "one\ntw")
    t = Tailer(f)
    assert t.read() == [b"one"]
    write(f, "o\nthree", "a")
    assert t.read() == [b"two"]
    write(f, "\n", "a")
    assert t.read() == [b"three"] and t.read() == []


def test_tailer_truncation_and_replacement(tmp_path: Path) -> None:
    f = tmp_path / "a.log"
    write(f, "1\n2\n3\n")
    t = Tailer(f)
    assert len(t.read()) == 3
    write(f, "x\n")  # truncated (shorter than the offset)
    assert t.read() == [b"x"] and t.reset
    other = tmp_path / "b.log"
    write(other, "y\nz\n1234567\n")
    os.replace(other, f)  # replaced: another inode
    assert t.read() == [b"y", b"z", b"1234567"] and t.reset


def test_tailer_skips_overlong_and_missing(tmp_path: Path) -> None:
    f = tmp_path / "a.log"
    write(f, "ok\n" + "x" * 100 + "\nfine\n")
    t = Tailer(f, max_line=50)
    assert t.read() == [b"ok", b"fine"] and t.skipped == 1
    assert Tailer(tmp_path / "missing.log").read() == []


# ---------------------------------------------------------------- parsers


def test_mmengine_padding_1_2_4_digits() -> None:
    s = SeriesStore()
    feed_mmengine(s, MM_LINES)
    assert sorted(s.train) == [20, 25]  # [1][20/50] and [1][  20/2505] are both step 20 of epoch 1
    assert s.train[20]["lr"] == 1.5e-3  # the later line wins
    assert s.train[25]["loss"] == 2.5 and s.train[25]["epoch"] == 3
    assert s.val == {1: {"acc/top1": 0.25, "acc/top5": 1.0, "acc/mean1": 0.25, "data_time": 0.0001, "time": 0.0002}}
    s2 = SeriesStore()
    feed_mmengine(s2, [MM_LINES[1]])
    assert s2.train[20]["memory"] == 5120 and s2.iters_per_epoch == 2505 and s2.train[20]["loss"] == 4.095


def test_json_records_last_per_step_and_garbage() -> None:
    s = SeriesStore()
    lines = [json.dumps({"lr": 0.1, "loss": 2.0, "epoch": 1, "iter": 5, "step": 5}).encode(),
             b"garbage {", b"\xff\xfe\x00 not utf8",
             json.dumps({"resume": True, "epoch": 1, "iter": 3, "step": 3}).encode(),
             json.dumps({"lr": 0.1, "loss": 1.5, "epoch": 1, "iter": 5, "step": 5}).encode(),
             b'{"lr": 0.1, "loss": NaN, "epoch": 1, "iter": 6, "step": 6}',
             json.dumps({"acc/top1": 0.5, "epoch": 1, "step": 1}).encode(),
             json.dumps({"train/loss": 1.7, "train/top1": 0.4, "epoch": 1, "step": 1}).encode()]
    feed_json(s, lines)
    assert s.train[5]["loss"] == 1.5 and len(s.train) == 2
    assert s.bad == 2 and s.resumes == 1 and s.first_nonfinite == 6
    assert s.val[1]["acc/top1"] == 0.5 and s.train_epoch[1]["train/top1"] == 0.4


def test_official_epam_log() -> None:
    s = SeriesStore()
    state: dict = {}
    feed_epam_official(s, [
        b"2024-05-01 10:00:00,000 2024-05-01 10:00:00.123 Epoch: [0][20|100] lr: 0.0015000 loss: 8.12345 top1_acc: 0.04167 top5_acc: 0.12500",
        b"2024-05-01 10:01:00,000 Evaluating top_k_accuracy ...", b" top1_acc: 0.51230", b" top5_acc: 0.80000",
        b"Evaluating mean_class_accuracy ...", b" mean_acc : 0.50100", b"Best top-1 Acc is: 0.51230 at epoch: 0",
    ], state)
    assert s.train[20]["lr"] == 0.0015 and s.train[20]["loss"] == 8.12345
    assert s.val[0] == {"acc/top1": 0.5123, "acc/top5": 0.8, "acc/mean1": 0.501}


# ---------------------------------------------------------------- registry


def make_run(tmp: Path, steps: int = 10, state: str = "running", pid: int | None = None, create: float | None = None,
             updated: float | None = None) -> Path:
    run = tmp / "run"
    run.mkdir(exist_ok=True)
    with open(run / "scalars.jsonl", "w") as fh:
        for s in range(1, steps + 1):
            fh.write(json.dumps({"lr": 0.01, "loss": 3.0 / s, "time": 0.5, "epoch": 1 + (s - 1) // 5, "iter": s,
                                 "step": s}) + "\n")
    status = {"state": state, "epoch": 2, "iter": steps, "max_epochs": 4, "iters_per_epoch": 5,
              "pid": pid or os.getpid(), "create_time": create if create is not None else psutil.Process().create_time(),
              "updated": updated or time.time()}
    write(run / "status.json", json.dumps(status))
    return run


def test_discover_kinds(tmp_path: Path) -> None:
    ours = make_run(tmp_path)
    mm = tmp_path / "mm" / "20260101_000000" / "vis_data"
    mm.mkdir(parents=True)
    write(mm / "scalars.json", json.dumps({"lr": 0.1, "loss": 1.0, "epoch": 1, "iter": 1, "step": 1}) + "\n")
    off = tmp_path / "official"
    off.mkdir()
    write(off / "20240501_100000.log", "x\n")
    assert detect_kind(ours) == "epam" and detect_kind(tmp_path / "mm") == "mmengine"
    assert detect_kind(off) == "epam-official"
    assert set(discover(tmp_path)) == {ours, tmp_path / "mm", off}
    assert load_run(tmp_path / "mm").store.train[1]["loss"] == 1.0


def test_restart_without_loss_or_duplicates(tmp_path: Path) -> None:
    run = make_run(tmp_path, steps=7)
    first = RunWatcher(run)
    first.poll()
    with open(run / "scalars.jsonl", "a") as fh:
        fh.write(json.dumps({"lr": 0.01, "loss": 0.1, "time": 0.5, "epoch": 2, "iter": 8, "step": 8}) + "\n")
        fh.write('{"lr": 0.01, "loss": 0.09, "ti')  # a half-written line
    first.poll()
    second = RunWatcher(run)  # a restarted TUI
    second.poll()
    assert sorted(first.data.store.train) == sorted(second.data.store.train) == list(range(1, 9))
    with open(run / "scalars.jsonl", "a") as fh:
        fh.write('me": 0.5, "epoch": 2, "iter": 9, "step": 9}\n')
    first.poll()
    second.poll()
    assert sorted(first.data.store.train) == sorted(second.data.store.train) == list(range(1, 10))
    lines = (run / "scalars.jsonl").read_text().splitlines()
    write(run / "scalars.jsonl", "\n".join(lines[:3]) + "\n")  # rewritten shorter: rebuilt, not appended
    first.poll()
    assert sorted(first.data.store.train) == [1, 2, 3]


def test_dead_process_is_failed(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    create = psutil.Process(proc.pid).create_time()
    run = make_run(tmp_path, pid=proc.pid, create=create)
    assert load_run(run).state == "running"
    proc.kill()
    proc.wait()
    data = load_run(run)
    assert data.state == "failed" and "process gone" in data.reason


def test_reused_pid_is_not_ours(tmp_path: Path) -> None:
    run = make_run(tmp_path, pid=os.getpid(), create=12345.0)  # our pid, but another create time
    assert load_run(run).state == "failed"


def test_stall_detected(tmp_path: Path) -> None:
    run = make_run(tmp_path, updated=time.time() - 120)
    os.utime(run / "scalars.jsonl", (time.time() - 120, time.time() - 120))
    watcher = RunWatcher(run)
    watcher.poll()
    assert watcher.data.state == "stalled"
    (tmp_path / "fresh").mkdir()
    assert load_run(make_run(tmp_path / "fresh")).state == "running"


def test_exit_json_decides(tmp_path: Path) -> None:
    run = make_run(tmp_path, pid=999999, create=1.0)
    write(run / "exit.json", json.dumps({"code": 0, "ended": time.time(), "signal": None}))
    assert load_run(run).state == "finished"
    write(run / "exit.json", json.dumps({"code": 137, "ended": time.time(), "signal": "SIGKILL"}))
    data = load_run(run)
    assert data.state == "failed" and "137" in data.reason


def test_nan_alert_once_and_persisted(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    with open(run / "scalars.jsonl", "a") as fh:
        fh.write('{"lr": 0.01, "loss": NaN, "time": 0.5, "epoch": 3, "iter": 11, "step": 11}\n')
    data = load_run(run)
    tracker = AlertTracker()
    alerts = tracker.new_alerts(data)
    assert [a.kind for a in alerts] == ["nonfinite"] and "step 11" in alerts[0].message
    assert tracker.new_alerts(data) == []
    assert AlertTracker().new_alerts(load_run(run)) == []  # a restarted TUI remembers via events.jsonl
    assert json.loads((run / "events.jsonl").read_text().splitlines()[0])["kind"] == "nonfinite"


# ---------------------------------------------------------------- series and GPUs


def test_ema_debiased_and_downsample_keep_spikes() -> None:
    ema = ema_debiased(np.array([1.0, 1.0, np.nan, 1.0]), 0.9)
    assert np.allclose(ema, 1.0)  # debiased: no pull toward zero at the start, NaN skipped
    y = np.ones(10_000)
    y[5_000] = 50.0
    xs, ys = downsample_minmax(np.arange(10_000), y, 100)
    assert len(xs) <= 200 and ys.max() == 50.0


def test_gpu_panel_no_nvml_and_fake() -> None:
    snap = GpuSampler(UnavailableBackend("NVML: driver not loaded")).sample()
    assert gpu_panel_text(snap, None) == "[yellow]no GPU telemetry:[/] NVML: driver not loaded"
    fake = GpuSampler(FakeBackend(scripted_gpus(3), fail_after=1))
    text = gpu_panel_text(fake.sample(), None)
    assert text.count("Fake A100") == 3 and "util" in text
    failed = fake.sample()  # NVML failing mid-run: an error, not an exception
    assert failed.error and not failed.devices
    try:
        FakeBackend([], fail_after=0).devices()
    except GpuUnavailable as exc:
        assert "fake failure" in exc.reason


def test_tailer_tail_bytes_starts_near_the_end_at_a_line_start(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    write(log, "".join(f"line {i:05d}\n" for i in range(1000)))  # 11 bytes a line
    t = Tailer(log, tail_bytes=100)
    lines = t.read()
    assert lines[-1] == b"line 00999" and all(len(x) == 10 for x in lines) and 8 <= len(lines) <= 9
    write(log, "line 01000\n", "a")
    assert t.read() == [b"line 01000"]
    write(log, "new\n")  # replaced by a smaller file: read from its start
    assert t.read() == [b"new"] and t.reset


def test_poll_budget_reads_a_backlog_in_steps_without_loss(tmp_path: Path) -> None:
    run = make_run(tmp_path, steps=500)
    watcher = RunWatcher(run)
    fractions = []
    for _ in range(100):
        watcher.poll(budget=4096)
        if watcher.data.loading is None:
            break
        fractions.append(watcher.data.loading)
    assert len(fractions) >= 5 and fractions == sorted(fractions) and 0 < fractions[0] < fractions[-1] < 1
    assert list(watcher.data.store.train) == list(load_run(run).store.train) == list(range(1, 501))


def test_tree_sampler_measures_this_process() -> None:
    import os
    import time as _time

    from epam_tui.core.procs import TreeSampler

    sampler = TreeSampler()
    first = sampler.sample(os.getpid())
    end = _time.process_time() + 0.3
    while _time.process_time() < end:  # burn CPU between the two samples
        pass
    cpu, rss, n = sampler.sample(os.getpid())
    assert first is not None and first[0] == 0.0  # psutil's first reading of a process
    assert cpu > 10 and rss > 10 * 2**20 and n >= 1
    assert sampler.sample(2**22 + 12345) is None  # no such pid
