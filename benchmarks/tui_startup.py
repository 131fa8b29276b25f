"""Cold start of epam-tui to its first frame vs a bare Textual app, measured in one run.

Each start is a fresh subprocess (headless, ``App.run_test`` at 120x40) of a bare Textual app with
one Static, or of epam-tui's monitor on the fixture runs with two fake GPUs. "First frame" is
Textual's ``Ready`` event (posted right after the first screen is composited); it is timed from just
before the subprocess is spawned, so interpreter start and imports count. For epam-tui we also time
the moment the run table holds every run (the first poll done: the registry, numpy and the logs are
loaded after the first frame, in a worker) and read the peak RSS after that.
Targets: first frame <= 1.5x the bare app's, peak RSS <= 60 MB.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BARE = """
import asyncio, resource, sys, time
T0 = float(sys.argv[1])
from textual.app import App
from textual.widgets import Static
marks = {}
class Bare(App):
    def compose(self):
        yield Static("hello")
    def on_ready(self):
        marks["ready"] = time.time()
async def main():
    async with Bare().run_test(size=(120, 40)) as pilot:
        while "ready" not in marks:
            await asyncio.sleep(0.001)
asyncio.run(main())
print(marks["ready"] - T0, marks["ready"] - T0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

OURS = """
import asyncio, os, resource, sys, time
T0 = float(sys.argv[1])
import epam_tui.ui.app as ui
from epam_tui.core.gpus import FakeBackend, scripted_gpus
marks = {}
class Timed(ui.EpamTuiApp):
    CSS_PATH = os.path.join(os.path.dirname(ui.__file__), "app.tcss")
    def on_ready(self):
        marks["ready"] = time.time()
        marks["screen"] = type(self.screen).__name__
        marks["rss_ready"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
async def main():
    app = Timed([sys.argv[2]], gpu_backend=FakeBackend(scripted_gpus(2)))
    async with app.run_test(size=(120, 40)) as pilot:
        while "ready" not in marks:
            await asyncio.sleep(0.001)
        table = app.monitor.query_one("#runs")
        while table.row_count < int(sys.argv[3]) or not app.monitor.session.watchers:
            await asyncio.sleep(0.002)
        marks["rows"] = time.time()
        await pilot.pause()
asyncio.run(main())
assert marks["screen"] == "MonitorScreen", marks
assert "torch" not in sys.modules
print(marks["ready"] - T0, marks["rows"] - T0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, marks["rss_ready"])
"""


def start(code: str, *args: str) -> tuple[float, float, float, float]:
    """(seconds to first frame, seconds to the populated table, peak RSS in MB, peak RSS at the first frame)."""
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", code, repr(t0), *args], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    ready, rows, rss, *at_ready = out.stdout.strip().splitlines()[-1].split()
    return float(ready), float(rows), int(rss) / 1024, int((at_ready or [rss])[0]) / 1024


def bench(figure: str, value: float, unit: str, reference: float | None, target: str | None, passed: bool | None) -> None:
    print("BENCH " + json.dumps({"figure": figure, "value": value, "unit": unit, "reference": reference,
                                 "ratio": value / reference if reference else None, "target": target, "passed": passed}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 3 if args.quick else 9
    fixture = ROOT / "tests" / "tui" / "fixtures" / "runs"
    nruns = sum(1 for p in fixture.iterdir() if p.is_dir())
    start(BARE)  # warm the file cache for both
    start(OURS, str(fixture), str(nruns))
    bare, ours = [], []
    for _ in range(n):  # interleaved, so both see the same machine load
        bare.append(start(BARE))
        ours.append(start(OURS, str(fixture), str(nruns)))
    tb = statistics.median(r[0] for r in bare)
    to = statistics.median(r[0] for r in ours)
    rows = statistics.median(r[1] for r in ours)
    rss = max(r[2] for r in ours)
    rss_ready = max(r[3] for r in ours)
    print(f"first frame (median of {n}): bare Textual app {tb:.3f} s, epam-tui {to:.3f} s, ratio {to / tb:.2f}; "
          f"epam-tui run table populated at {rows:.3f} s ({rows / tb:.2f}x bare's first frame); "
          f"peak RSS epam-tui {rss_ready:.0f} MB at the first frame, {rss:.0f} MB populated "
          f"(bare {max(r[2] for r in bare):.0f} MB)")
    bench("TUI cold start to first frame", to, "s", tb, "<= 1.5x bare Textual", to / tb <= 1.5)
    bench("TUI cold start to populated run table", rows, "s", tb, None, None)
    bench("TUI peak RSS at first frame", rss_ready, "MB", None, "<= 60 MB", rss_ready <= 60)
    bench("TUI peak RSS (populated: numpy, charts, runs loaded)", rss, "MB", None, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
