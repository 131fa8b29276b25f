"""Diagnostic (not run by run_all.py): a bare Textual app with the monitor's kinds of updates and none of our
code, headless (App.run_test, 120x40), to tell Textual's own long-session RSS growth from ours. Once a
second a 16-line Static gets new numbers (like the GPU panel of 8 GPUs) and a 2-row DataTable gets new
cells (like the run table); a Log gets a new 150-character line every 2.6 s (the soak's demo rate).
Prints RSS every 5 minutes. ``--shrunk``: the DataTable's and the Log's render caches sized as the
monitor's RunTable and LogPane size theirs (Textual's defaults hold 10,000 cells and 1,024 lines).

    python tools/diagnostics/bare_soak.py --minutes 20 [--shrunk]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

import psutil
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header, Log, Static

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # --shrunk takes the monitor's widgets


class Bare(App):
    def __init__(self, shrunk: bool = False) -> None:
        super().__init__()
        self.rng, self.tick, self.shrunk = random.Random(0), 0, shrunk

    def compose(self) -> ComposeResult:
        yield Header()
        if self.shrunk:
            from epam_tui.ui.widgets.log_pane import LogPane
            from epam_tui.ui.widgets.run_table import RunTable

            yield RunTable(id="table")
            yield LogPane(id="log", max_lines=5000)
        else:
            yield DataTable(id="table")
            yield Log(id="log", max_lines=5000)
        yield Static(id="panel")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("run", "state", "progress", "eta", "loss"):
            table.add_column(column, key=column)
        for name in ("a", "b"):
            table.add_row(name, "running", "", "", "", key=name)
        self.set_interval(1.0, self.every_second)
        self.set_interval(2.6, self.log_line)

    def every_second(self) -> None:
        self.tick += 1
        r = self.rng
        lines = []
        for i in range(8):
            lines.append(f" {i} Fake A100 80GB util {r.randint(0, 100):3d}% {r.randint(40, 80)}C {r.randint(60, 400)}W")
            lines.append(f"   mem {r.uniform(0, 80):5.1f}/80G ########")
        self.query_one(Static).update("\n".join(lines))
        table = self.query_one(DataTable)
        for name in ("a", "b"):
            table.update_cell(name, "progress", f"{self.tick % 100:3d}%")
            table.update_cell(name, "eta", f"0:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}")
            table.update_cell(name, "loss", f"{r.random():.4f}")

    def log_line(self) -> None:
        r = self.rng
        self.query_one(Log).write_line(
            f"01:41:42 Epoch(train)  [{self.tick // 100}][{self.tick % 100:3d}/100]  lr: {r.random():.4e}  "
            f"eta: 2:03:04  time: {r.random():.4f}  data_time: 0.0200  grad_norm: {r.random():.4f}  loss: {r.random():.4f}")


async def main(minutes: float, shrunk: bool) -> None:
    me = psutil.Process()
    app = Bare(shrunk)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(30)
        assert app.tick >= 25 and app.query_one(Log).line_count >= 10, "the updates did not run"
        t0, start = time.monotonic(), me.memory_info().rss / 2**20
        print(f"t=30 s rss={start:.1f} MB", flush=True)
        while time.monotonic() - t0 < minutes * 60:
            await asyncio.sleep(300)
            print(f"t={30 + time.monotonic() - t0:.0f} s rss={me.memory_info().rss / 2**20:.1f} MB "
                  f"({app.tick} updates, {app.query_one(Log).line_count} log lines)", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--shrunk", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.minutes, args.shrunk))
