"""Cold start of epam-tui to its first frame vs a bare Textual app, measured in one run.

Each start is a fresh subprocess that imports, mounts and renders headless (App.run_test) and then
exits; we time the subprocess end to end and read its peak RSS. Target: <= 1.5x the bare app, <= 60 MB.
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
import asyncio, resource
from textual.app import App
from textual.widgets import Static
class Bare(App):
    def compose(self):
        yield Static("hello")
async def main():
    async with Bare().run_test(size=(120, 40)) as pilot:
        await pilot.pause()
asyncio.run(main())
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

OURS = """
import asyncio, resource, sys
from epam_tui.ui.app import EpamTuiApp
from epam_tui.core.gpus import FakeBackend, scripted_gpus
async def main():
    app = EpamTuiApp([sys.argv[1]], gpu_backend=FakeBackend(scripted_gpus(2)))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
asyncio.run(main())
assert "torch" not in sys.modules
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def start(code: str, *args: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - t0, int(out.stdout.strip().splitlines()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 3 if args.quick else 7
    fixture = str(ROOT / "tests" / "tui" / "fixtures" / "runs")
    start(BARE)  # warm the file cache for both
    start(OURS, fixture)
    bare = [start(BARE) for _ in range(n)]
    ours = [start(OURS, fixture) for _ in range(n)]
    tb, to = statistics.median(t for t, _ in bare), statistics.median(t for t, _ in ours)
    rss = max(r for _, r in ours)
    print(f"bare Textual app: {tb:.3f} s to first frame (median of {n}); epam-tui: {to:.3f} s; ratio {to / tb:.2f}; "
          f"epam-tui peak RSS {rss:.0f} MB (bare {max(r for _, r in bare):.0f} MB)")
    print("BENCH " + json.dumps({"figure": "TUI cold start to first frame", "value": to, "unit": "s", "reference": tb,
                                 "ratio": to / tb, "target": "<= 1.5x bare Textual", "passed": to / tb <= 1.5}))
    print("BENCH " + json.dumps({"figure": "TUI peak RSS at first frame", "value": rss, "unit": "MB", "reference": None,
                                 "ratio": None, "target": "<= 60 MB", "passed": rss <= 60}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
