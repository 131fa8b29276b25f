"""Compare runs: the seed's table, overlays of loss, LR and val accuracy with a stable colour per run,
and the config differences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from epam_tui.core.compare import COLUMNS, cell, config_diff, run_row
from epam_tui.core.registry import load_run
from epam_tui.core.series import downsample_minmax, ema_debiased
from epam_tui.ui.actions import bindings
from epam_tui.ui.widgets.charts import Chart

COLOURS = ["cyan", "orange", "green", "magenta", "yellow", "blue", "red", "white"]  # plotext names, stable per run
RICH = {"orange": "dark_orange"}  # the same colour in the table (Rich has no plain "orange")


class CompareScreen(Screen):
    ACTION_CONTEXT = "compare"
    BINDINGS = bindings("compare")  # epam_tui.ui.actions
    DEFAULT_CSS = """
    CompareScreen #cmp-table { height: auto; max-height: 12; }
    CompareScreen #cmp-charts { height: 1fr; min-height: 10; }
    CompareScreen #cmp-diff { height: auto; max-height: 6; }
    """

    def __init__(self, run_dirs: list[str | Path]):
        super().__init__()
        self.runs = [load_run(p) for p in run_dirs]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="cmp-table", cursor_type="row", zebra_stripes=True)
        with Horizontal(id="cmp-charts"):
            yield Chart(id="cmp-loss")
            yield Chart(id="cmp-lr")
            yield Chart(id="cmp-val")
        diff = config_diff(self.runs)
        yield Static("config differences: " + ("; ".join(f"{k}: " + " | ".join(map(repr, v)) for k, v in diff)
                                               if diff else "none"), id="cmp-diff")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#cmp-table", DataTable)
        table.add_columns(*(label for label, _ in COLUMNS))
        for i, run in enumerate(self.runs):
            row = run_row(run)
            values = [cell(key, row.get(key)) for _, key in COLUMNS]
            values[0] = Text(values[0], style=f"bold {RICH.get(COLOURS[i % len(COLOURS)], COLOURS[i % len(COLOURS)])}")  # the run's chart colour
            table.add_row(*values, key=str(i))
        charts = [self.query_one(f"#cmp-{n}", Chart) for n in ("loss", "lr", "val")]
        loss, lr, val = (chart.plt for chart in charts)
        loss.title("loss (EMA 0.6)")
        lr.title("lr")
        val.title("val top-1 %")
        for i, run in enumerate(self.runs):
            colour = COLOURS[i % len(COLOURS)]
            t = run.store.columns(("loss", "lr"))
            keep = np.isfinite(t["loss"])
            if keep.any():
                x, y = downsample_minmax(t["step"][keep], ema_debiased(t["loss"][keep], 0.6), 60)
                loss.plot(x.tolist(), y.tolist(), color=colour, label=run.name, marker="braille")
            if len(t["lr"]):
                x, y = downsample_minmax(t["step"], t["lr"], 60)
                lr.plot(x.tolist(), y.tolist(), color=colour, label=run.name, marker="braille")
            v = run.store.epoch_columns("val")
            if "acc/top1" in v:
                val.plot(v["epoch"].tolist(), (100 * v["acc/top1"]).tolist(), color=colour, label=run.name,
                         marker="braille")
        for chart in charts:
            chart.drawn()  # drawn again if it was rendered before these plots
