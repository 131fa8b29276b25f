"""One chart redraw, by stage: plotext's build, then the rows Textual is given. Reference: textual-plotext's
own path (``Text.from_ansi`` of the build, turned into strips by Textual's Content: conversion, word
wrap, formatting: ``Content.render_strips``), measured in the same run on the same ANSI text; ours: ``epam_tui.ui.widgets.charts.ansi_strips``.
Both give the same cells (tests/tui/test_charts.py checks that). Figures are ms per redraw of a loss
chart (raw + EMA, ~2 points per column) at a typical monitor size; min over repeats.

    python benchmarks/chart_redraw.py            # 38x15 and 80x20, 200 redraws each
    python benchmarks/chart_redraw.py --quick    # 40 redraws
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plotext._figure import _figure_class  # noqa: E402
from rich.style import Style  # noqa: E402
from rich.text import Text  # noqa: E402
from textual.content import Content  # noqa: E402
from textual.style import Style as TextualStyle  # noqa: E402
from textual.visual import RenderOptions  # noqa: E402

from epam_tui.ui.widgets.charts import ansi_strips  # noqa: E402


def bench(figure: str, value: float, unit: str, reference: float | None = None, target: str | None = None,
          passed: bool | None = None) -> None:
    ratio = None if reference is None or not value else round(reference / value, 2)
    print("BENCH " + json.dumps({"figure": figure, "value": round(value, 3), "unit": unit, "reference": reference and round(reference, 3),
                                 "ratio": ratio, "target": target, "passed": passed}), flush=True)


def plot(fig, width: int, height: int, shift: int) -> None:
    fig.clear_data()
    fig.title("loss (raw, EMA 0.60)")
    n = 2 * width
    xs = list(range(shift, shift + n))
    ys = [4 * math.exp(-x / 400) + 0.2 * math.sin(x / 3) for x in xs]
    ema = [4 * math.exp(-x / 400) for x in xs]
    fig.plot(xs, ys, color=(140, 140, 140), marker="dot", label="raw")
    fig.plot(xs, ema, color=(70, 200, 230), marker="braille", label="EMA")
    fig.plotsize(width, height)
    fig.theme("pro")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 40 if args.quick else 200
    label = " [quick]" if args.quick else ""
    base = Style(color="white", bgcolor="black")
    fig = _figure_class()
    # the rules a PlotextPlot renders with (Textual's defaults: wrap, fold)
    options = RenderOptions(lambda style: style if isinstance(style, TextualStyle) else TextualStyle.parse(style), {})
    for width, height in ((38, 15), (80, 20)):
        build, theirs, ours = [], [], []
        for k in range(repeats):
            plot(fig, width, height, k)  # new data each time, as when a record arrives
            t0 = time.perf_counter()
            ansi = fig.build()
            t1 = time.perf_counter()
            content = Content.from_rich_text(Text.from_ansi(ansi))
            lines = content.render_strips(width, height, TextualStyle.from_rich_style(base), options)
            t2 = time.perf_counter()
            rows = ansi_strips(ansi, width, height, base)
            t3 = time.perf_counter()
            assert len(rows) == height and len(lines) >= height - 1
            build.append(t1 - t0)
            theirs.append(t2 - t1)
            ours.append(t3 - t2)
        size = f"{width}x{height}"
        print(f"chart {size}, {repeats} redraws (min): plotext build {1e3 * min(build):.2f} ms; rows via "
              f"Text.from_ansi + Content.render_strips {1e3 * min(theirs):.2f} ms; via ansi_strips {1e3 * min(ours):.3f} ms "
              f"({min(theirs) / min(ours):.1f}x less)", flush=True)
        bench(f"chart {size} plotext build{label}", 1e3 * min(build), "ms")
        bench(f"chart {size} rows from ANSI{label}", 1e3 * min(ours), "ms", reference=1e3 * min(theirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
