"""Diagnostic (not run by run_all.py): where the monitor's RSS growth comes from.

Runs the monitor headless (`App.run_test`, 120x40, 8 fake GPUs) on a copy of the test fixtures while a
run directory is fed new train records at a fixed rate, once per variant, each variant in its own
process, with one part of the screen held still by monkeypatching it out:

    full      everything as shipped
    nodata    no new records (the GPU panel and clock still redraw)
    nocharts  charts never redrawn
    notable   run table never updated
    nolog     log pane never written
    bare      none of charts, table, log (the core still ingests and raises alerts)
    slowcharts  charts redrawn at every third poll with new data only
    gc        everything, plus a full gc.collect() every 10 s
    trim      everything, plus glibc malloc_trim(0) every 10 s (hands freed heap pages back to the OS)
    arena2    everything, with MALLOC_ARENA_MAX=2 (glibc gives each new thread an arena, up to 8 per core)
    trace     everything, with tracemalloc from 120 s on: prints what grew between 180 s and the end

--trace-at S traces any variant: tracemalloc from S - 60 s on, a snapshot at S, and what grew from there
to the end (the trace variant is full with --trace-at 180). With S past the first 10 minutes (render
caches full) the growth left is what keeps growing for as long as records arrive.

Prints the RSS every 30 s, the growth from the end of the first minute, and the RSS at the end after one
malloc_trim(0) (how much of it was freed memory glibc had not returned), one line per variant.

    python tools/diagnostics/memory_variants.py                      # every variant, 240 s each, 2 records/s
    python tools/diagnostics/memory_variants.py full nocharts --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # soak.rss_split
FIXTURE = ROOT / "tests" / "tui" / "fixtures" / "runs"
VARIANTS = ("full", "nodata", "nocharts", "notable", "nolog", "bare", "slowcharts", "gc", "trim", "arena2", "trace")
LINE = ("2026/11/25 01:41:42 - mmengine - INFO - Epoch(train)  [{e}][{i:>3}/100]  lr: {lr:.4e}  eta: 2:03:04  "
        "time: {t:.4f}  data_time: 0.0200  grad_norm: 3.2100  loss: {loss:.4f}  loss_rgb: 1.0000  "
        "loss_pose: 1.0000  top1_acc: 0.5000\n")


def libc():
    """The C library (ctypes), or None where it cannot be loaded."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def malloc_trim() -> bool:
    try:
        return bool(libc().malloc_trim(0))
    except AttributeError:  # not glibc (or no libc)
        return False


def rss_parts() -> dict[str, float]:
    """RSS split by where it lives (MB): file-backed pages (code and data of libraries, paged in as new
    code runs), the main heap ([heap], glibc's brk arena), other anonymous memory (pymalloc arenas,
    glibc thread arenas, big blocks, thread stacks), plus pymalloc's own arena count from
    sys._debugmallocstats (1 MiB each on 64-bit CPython >= 3.10)."""
    from soak import rss_split  # benchmarks/soak.py (benchmarks/ is on sys.path)

    parts = rss_split()
    if not parts:
        return {}
    try:  # glibc >= 2.33: bytes malloc has handed out (in use) and holds free, over all arenas
        import ctypes

        class MallInfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                        "fsmblks", "uordblks", "fordblks", "keepcost")]

        mallinfo2 = libc().mallinfo2
        mallinfo2.restype = MallInfo2
        info = mallinfo2()
        parts["malloc_in_use"] = (info.uordblks + info.hblkhd) / 2**20
        parts["malloc_free"] = info.fordblks / 2**20
    except AttributeError:  # glibc < 2.33, or not glibc
        pass
    with tempfile.TemporaryFile("w+") as tmp:  # _debugmallocstats writes to the C-level stderr
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        for line in tmp:
            if line.startswith("# arenas allocated current"):
                parts["pymalloc_arenas"] = float(line.rsplit("=", 1)[1].replace(",", ""))
            elif line.startswith("# bytes in allocated blocks"):
                parts["pymalloc_used"] = float(line.rsplit("=", 1)[1].replace(",", "")) / 2**20
    return parts


def report_growth(before, after, top: int = 12) -> None:
    """What tracemalloc saw grow: totals, the top lines, and the call chains of the top few."""
    import tracemalloc

    after = after.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    before = before.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    total = sum(s.size for s in after.statistics("filename")) - sum(s.size for s in before.statistics("filename"))
    print(f"traced heap growth {total / 2**20:+.2f} MB", flush=True)
    for stat in after.compare_to(before, "lineno")[:top]:
        print(f"  {stat.size_diff / 1024:+8.1f} KiB {stat.count_diff:+6d} objs  {stat.traceback[0]}", flush=True)
    for stat in after.compare_to(before, "traceback")[:4]:
        print(f"  chain {stat.size_diff / 1024:+.1f} KiB:", flush=True)
        for frame in list(stat.traceback)[-8:]:
            print(f"      {frame}", flush=True)


def hold_still(variant: str) -> None:
    from textual.widgets import Log

    from epam_tui.ui.screens import monitor

    if variant in ("nocharts", "bare"):
        monitor.MonitorScreen._refresh_charts = lambda self: None
    if variant in ("gc", "trim"):
        import gc

        real_mount = monitor.MonitorScreen.on_mount
        every_10s = (lambda: gc.collect()) if variant == "gc" else malloc_trim

        def on_mount(self) -> None:
            real_mount(self)
            self.set_interval(10.0, every_10s)

        monitor.MonitorScreen.on_mount = on_mount
    if variant == "slowcharts":
        real, calls = monitor.MonitorScreen._refresh_charts, [0]

        def every_third(self) -> None:
            calls[0] += 1
            if calls[0] % 3 == 0:
                real(self)

        monitor.MonitorScreen._refresh_charts = every_third
    if variant in ("notable", "bare"):
        monitor.MonitorScreen._refresh_table = lambda self: None
    if variant in ("nolog", "bare"):
        Log.write_lines = lambda self, lines, scroll_end=None: self


async def one(variant: str, seconds: float, rate: float, poll: float = 1.0, trace_at: float | None = None) -> str:
    import psutil

    from epam_tui.core.gpus import FakeBackend, scripted_gpus
    from epam_tui.ui.app import EpamTuiApp

    hold_still(variant)
    root = Path(tempfile.mkdtemp(prefix="epam_memvar_")) / "runs"
    shutil.copytree(FIXTURE, root)
    run = root / "demo-running"
    me, rng = psutil.Process(), random.Random(0)
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(8)), poll_interval=poll)
    marks: dict[int, float] = {}
    parts0: dict[str, float] = {}
    snaps: list = []
    if trace_at is None and variant == "trace":
        trace_at = 180.0
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(2)
            app.monitor.select(run)
            step, t0 = 1000, time.monotonic()
            while time.monotonic() - t0 < seconds:
                if variant != "nodata":
                    step += 1
                    e, i = step // 100 + 1, step % 100 + 1
                    with open(run / "train.log", "a") as fh:
                        fh.write(LINE.format(e=e, i=i, lr=rng.random(), t=rng.random(), loss=rng.random()))
                    with open(run / "scalars.jsonl", "a") as fh:
                        fh.write(json.dumps({"lr": rng.random(), "loss": rng.random(), "time": 0.4, "epoch": e,
                                             "iter": i, "step": step}) + "\n")
                await pilot.pause(1.0 / rate)
                marks.setdefault(int(time.monotonic() - t0) // 30, me.memory_info().rss / 2**20)
                if time.monotonic() - t0 >= 60 and not parts0:
                    parts0.update(rss_parts())
                if trace_at is not None:
                    import tracemalloc

                    if time.monotonic() - t0 >= trace_at - 60 and not tracemalloc.is_tracing():
                        tracemalloc.start(12)
                    if time.monotonic() - t0 >= trace_at and not snaps:
                        snaps.append(tracemalloc.take_snapshot())
            if snaps:
                report_growth(snaps[0], tracemalloc.take_snapshot())
            end = me.memory_info().rss / 2**20
            parts1 = rss_parts()
            malloc_trim()
            trimmed = me.memory_info().rss / 2**20
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    base = marks.get(2, marks[min(marks)])
    trace = " ".join(f"{30 * k}s:{v:.1f}" for k, v in sorted(marks.items()))
    return (f"{variant:9s} RSS growth after the first minute {end - base:+.2f} MB   ({trace} end:{end:.1f}"
            f" after malloc_trim:{trimmed:.1f})\n          from 60 s to the end: "
            + " ".join(f"{k} {parts0.get(k, 0):.1f}->{v:.1f}" for k, v in parts1.items()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help=f"some of {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--rate", type=float, default=2.0, help="train records per second (default 2)")
    parser.add_argument("--poll", type=float, default=1.0, help="the monitor's poll interval, s (default 1; "
                        "0.25 with --rate 4 draws four times as many records a minute: a long session, sooner)")
    parser.add_argument("--trace-at", type=float, default=None, metavar="S",
                        help="trace any variant: snapshot at S seconds, report what grew from there to the end")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(asyncio.run(one(args.child, args.seconds, args.rate, args.poll, args.trace_at)), flush=True)
        return 0
    for variant in args.variants or VARIANTS:  # one process each: patches and RSS do not carry over
        env = dict(os.environ, MALLOC_ARENA_MAX="2") if variant == "arena2" else None
        extra = ["--trace-at", str(args.trace_at)] if args.trace_at is not None else []
        subprocess.run([sys.executable, __file__, "--child", variant, "--seconds", str(args.seconds),
                        "--rate", str(args.rate), "--poll", str(args.poll), *extra], check=True, env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
