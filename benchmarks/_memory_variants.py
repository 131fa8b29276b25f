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

Prints the RSS every 30 s and the growth from the end of the first minute, one line per variant.

    python benchmarks/_memory_variants.py                      # every variant, 240 s each, 2 records/s
    python benchmarks/_memory_variants.py full nocharts --seconds 120
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "tui" / "fixtures" / "runs"
VARIANTS = ("full", "nodata", "nocharts", "notable", "nolog", "bare", "slowcharts", "gc")
LINE = ("2026/11/25 01:41:42 - mmengine - INFO - Epoch(train)  [{e}][{i:>3}/100]  lr: {lr:.4e}  eta: 2:03:04  "
        "time: {t:.4f}  data_time: 0.0200  grad_norm: 3.2100  loss: {loss:.4f}  loss_rgb: 1.0000  "
        "loss_pose: 1.0000  top1_acc: 0.5000\n")


def hold_still(variant: str) -> None:
    from textual.widgets import Log

    from epam_tui.ui.screens import monitor

    if variant in ("nocharts", "bare"):
        monitor.MonitorScreen._refresh_charts = lambda self: None
    if variant == "gc":
        import gc

        real_mount = monitor.MonitorScreen.on_mount

        def on_mount(self) -> None:
            real_mount(self)
            self.set_interval(10.0, lambda: gc.collect())

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


async def one(variant: str, seconds: float, rate: float, poll: float = 1.0) -> str:
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
            end = me.memory_info().rss / 2**20
    finally:
        shutil.rmtree(root.parent, ignore_errors=True)
    base = marks.get(2, marks[min(marks)])
    trace = " ".join(f"{30 * k}s:{v:.1f}" for k, v in sorted(marks.items()))
    return f"{variant:9s} RSS growth after the first minute {end - base:+.2f} MB   ({trace} end:{end:.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", help=f"some of {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--rate", type=float, default=2.0, help="train records per second (default 2)")
    parser.add_argument("--poll", type=float, default=1.0, help="the monitor's poll interval, s (default 1; "
                        "0.25 with --rate 4 draws four times as many records a minute: a long session, sooner)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(asyncio.run(one(args.child, args.seconds, args.rate, args.poll)), flush=True)
        return 0
    for variant in args.variants or VARIANTS:  # one process each: patches and RSS do not carry over
        subprocess.run([sys.executable, __file__, "--child", variant, "--seconds", str(args.seconds),
                        "--rate", str(args.rate), "--poll", str(args.poll)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
