"""Steady state of the monitor: 2 live fake runs appended by a thread (one record per run per second),
fake GPUs sampled at 1 Hz, charts redrawn on new data, headless (App.run_test). Measures the process CPU
time over the window as % of one core. Target: <= 5 %.

Reference, measured in the same run: a bare Textual app whose one Static fills the 120x40 screen with new
text once a second (how fast this machine is at Textual's work today; the target is absolute, the ratio
tells a slow day from a regression)."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from epam_tui.core.gpus import FakeBackend, scripted_gpus  # noqa: E402
from epam_tui.ui.app import EpamTuiApp  # noqa: E402

MM = ("2026/11/25 01:41:{s:02d} - mmengine - INFO - Epoch(train)  [{e}][{i:>3}/100]  lr: 1.0000e-02  eta: 0:10:00  "
      "time: 1.0000  data_time: 0.0100  grad_norm: 3.0000  loss: {loss:.4f}  top1_acc: 0.5000\n")


def make_run(root: Path, name: str, steps: int) -> Path:
    run = root / name
    run.mkdir(parents=True)
    (run / "status.json").write_text(json.dumps({"state": "running", "epoch": 1, "iter": 0, "max_epochs": 20,
                                                 "iters_per_epoch": 100, "pid": os.getpid(), "create_time": None,
                                                 "updated": time.time()}))
    append(run, 1, steps)
    return run


def append(run: Path, first: int, last: int) -> None:
    with open(run / "scalars.jsonl", "a") as js, open(run / "train.log", "a") as log:
        for step in range(first, last + 1):
            loss = 4.0 * math.exp(-step / 2000) + 0.1 * math.sin(step)
            e, i = (step - 1) // 100 + 1, (step - 1) % 100 + 1
            js.write(json.dumps({"lr": 0.01, "loss": loss, "time": 1.0, "data_time": 0.01, "grad_norm": 3.0,
                                 "top1_acc": 0.5, "epoch": e, "iter": step, "step": step}) + "\n")
            log.write(MM.format(s=step % 60, e=e, i=i, loss=loss))


async def measure(root: Path, runs: list[Path], seconds: float) -> float:
    app = EpamTuiApp(root, gpu_backend=FakeBackend(scripted_gpus(2)))
    stop = threading.Event()

    def writer() -> None:
        step = max(len((run / "scalars.jsonl").read_text().splitlines()) for run in runs) + 1
        while not stop.wait(1.0):
            for run in runs:
                append(run, step, step)
            step += 1

    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(3.0)  # backlog read, first frame
        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        cpu = (time.process_time() - c0) / (time.perf_counter() - t0)
        stop.set()
        thread.join()
    return 100 * cpu


async def measure_reference(seconds: float) -> float:
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    class Bare(App):
        tick = 0

        def compose(self) -> ComposeResult:
            yield Static(id="all")

        def on_mount(self) -> None:
            self.set_interval(1.0, self.redraw)

        def redraw(self) -> None:
            self.tick += 1
            self.query_one(Static).update("\n".join(
                " ".join(f"{(self.tick * 7919 + row * 31 + col) % 100000:>9}" for col in range(11))
                for row in range(38)))

    async with Bare().run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        t0, c0 = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)
        return 100 * (time.process_time() - c0) / (time.perf_counter() - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backlog", type=int, default=2000,
                        help="steps each run has already logged (charts of a short series redraw on every record; "
                             "of a long one, once half a column's worth of points came or 5 s passed)")
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.seconds
    root = Path(tempfile.mkdtemp()) / "work_dirs"
    runs = [make_run(root, f"live{i}", args.backlog) for i in range(2)]
    pct = asyncio.run(measure(root, runs, seconds))
    ref = asyncio.run(measure_reference(seconds))
    print(f"steady state, 2 live runs ({args.backlog}-step backlog each), fake GPUs 1 Hz, {seconds:.0f} s: {pct:.1f}% of one core;"
          f" a bare Textual app redrawing a full screen of text once a second: {ref:.1f}% ({pct / ref:.2f}x)")
    print("BENCH " + json.dumps({"figure": "monitor steady CPU" + ("" if args.backlog == 2000 else f" [{args.backlog}-step backlog]")
                                 + (" [quick]" if args.quick else ""), "value": pct,
                                 "unit": "% of one core", "reference": round(ref, 2), "ratio": round(pct / ref, 2),
                                 "target": "<= 5%", "passed": pct <= 5.0}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
