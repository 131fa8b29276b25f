"""Charts draw again only when what they show changed (data, settings, size)."""

from __future__ import annotations

import io

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult

from epam_tui.ui.widgets import charts
from epam_tui.ui.widgets.charts import AccuracyChart, LossChart, LrChart, ansi_strips


class ChartsApp(App):
    def compose(self) -> ComposeResult:
        yield LossChart()
        yield LrChart()
        yield AccuracyChart()


def count_starts(chart, calls: list) -> None:
    real = chart._start
    chart._start = lambda: (calls.append(type(chart).__name__), real())[1]


async def test_same_data_is_not_drawn_again_new_data_is() -> None:
    app = ChartsApp()
    async with app.run_test(size=(100, 40)) as pilot:
        loss, lr, acc = app.query_one(LossChart), app.query_one(LrChart), app.query_one(AccuracyChart)
        calls: list = []
        for chart in (loss, lr, acc):
            count_starts(chart, calls)
        steps, values = np.arange(1.0, 101.0), np.linspace(3, 1, 100)
        val = {"epoch": np.array([1.0]), "acc/top1": np.array([0.5])}
        config = {"optimizer": {"lr": 0.01}, "scheduler": {"name": "cosine", "T_max": 10, "eta_min": 0.0}}
        for _ in range(3):  # the same inputs three times: drawn once
            loss.show(steps, values, 0.6)
            lr.show(steps, values / 100, config, 10)
            acc.show(val, {})
            await pilot.pause()
        assert calls == ["LossChart", "LrChart", "AccuracyChart"]
        calls.clear()
        loss.show(steps, values, 0.7)  # a setting changed
        more = np.append(values, 0.9)
        lr.show(np.arange(1.0, 102.0), more / 100, config, 10)  # a new point
        acc.show({"epoch": np.array([1.0]), "acc/top1": np.array([0.6])}, {})  # a value rewritten (resume)
        assert calls == ["LossChart", "LrChart", "AccuracyChart"]
        calls.clear()
        await pilot.resize_terminal(80, 30)
        await pilot.pause()
        loss.show(steps, values, 0.7)  # same data, new size: drawn for the new width
        assert calls == ["LossChart"]


async def test_a_series_that_grew_a_little_is_drawn_late_a_lot_at_once(monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(charts, "time", type("Clock", (), {"monotonic": staticmethod(lambda: clock[0])}))
    app = ChartsApp()
    async with app.run_test(size=(100, 40)) as pilot:
        loss = app.query_one(LossChart)
        calls: list = []
        count_starts(loss, calls)
        await pilot.pause()
        columns = loss._buckets()  # 100: half a column of a 2,000-point series is 10 points

        def grow(n: int, smoothing: float = 0.6, offset: float = 0.0) -> int:
            loss.show(np.arange(1.0, n + 1.0), 3 - np.log1p(np.arange(n)) + offset, smoothing)
            return len(calls)

        assert grow(2000) == 1 and not loss.pending
        assert grow(2001) == 1 and loss.pending  # one new point on 100 columns: not yet
        clock[0] += charts.GROWTH_WAIT_S - 0.1
        assert grow(2003) == 1 and loss.pending
        clock[0] += 0.2
        assert grow(2003) == 2 and not loss.pending  # drawn once the wait is over, though nothing new came
        assert grow(2003) == 2
        assert grow(2003 + 2003 // (2 * columns) + 1) == 3  # half a column's worth at once: drawn at once
        assert grow(2020, smoothing=0.7) == 4  # a setting changed: drawn at once
        assert grow(2000) == 5  # fewer points (a run started again): drawn at once
        assert grow(2001, offset=0.5) == 6  # a point more, but not the same series (another run): drawn at once
        calls.clear()
        assert grow(10) == 1 and grow(11) == 2 and grow(12) == 3  # a short series: every point drawn


async def test_float_noise_does_not_reach_the_axis_labels() -> None:
    app = ChartsApp()
    async with app.run_test(size=(100, 40)) as pilot:
        loss = app.query_one(LossChart)
        loss.show(np.arange(1.0, 2001.0), np.full(2000, 4.095), 0.6)  # EMA of a constant: 4.0950000000000006
        await pilot.pause()
        text = str(loss.render())
        assert "4.09500000" not in text and "4.09499999" not in text
        margins = [line.index("┤") for line in text.splitlines() if "┤" in line]
        assert margins and max(margins) <= 8, text  # short tick labels: the plot keeps the width


def _cells(segments) -> list[tuple[str, object]]:
    return [(ch, seg.style) for seg in segments for ch in seg.text]


@settings(max_examples=60, deadline=None)
@given(ys=st.lists(st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: round(v, 4)), min_size=2, max_size=80),
       width=st.integers(12, 90), height=st.integers(4, 20), theme=st.sampled_from(["pro", "dark", "clear", "default"]),
       narrower=st.integers(-3, 8), taller=st.integers(-2, 3))
def test_ansi_strips_equal_richs_decoding_cell_for_cell(ys, width, height, theme, narrower, taller) -> None:
    """The chart's own ANSI-to-strips path shows exactly what rich's Text.from_ansi would: every cell the
    same character in the same style, rows cut or padded to exactly the width asked for, as many rows as
    asked for (blank ones in the base style below the plot)."""
    from plotext._figure import _figure_class

    fig = _figure_class()
    fig.plot(list(range(len(ys))), ys, color=(70, 200, 230), marker="braille", label="a")
    fig.plot(list(range(len(ys))), [y / 2 for y in ys], color="red", marker="dot", label="b")
    fig.title("t")
    fig.theme(theme)
    fig.plotsize(width, height)
    ansi = fig.build()
    base = Style(color="white", bgcolor="black")
    want_w, want_h = width - narrower, height + taller
    console = Console(width=want_w, color_system="truecolor", file=io.StringIO())
    ours = ansi_strips(ansi, want_w, want_h, base)
    lines = Text.from_ansi(ansi).split("\n", allow_blank=True)
    assert len(ours) == want_h
    for y, strip in enumerate(ours):
        line = lines[y] if y < len(lines) else Text("")
        line = line[:want_w]
        line.pad_right(want_w - len(line))
        theirs = list(Segment.apply_style(line.render(console, ""), base))
        assert strip.cell_length == want_w
        assert _cells(strip) == _cells(theirs)


async def test_data_plotext_cannot_draw_is_a_message_not_a_crash() -> None:
    """plotext raises OverflowError on a y range of 1e-308; the chart shows one line saying so."""
    app = ChartsApp()
    async with app.run_test(size=(100, 40)) as pilot:
        loss = app.query_one(LossChart)
        loss.show(np.array([1.0, 2.0]), np.array([0.0, 2.2250738585072014e-308]), 0.0)
        await pilot.pause()
        first = loss.render_line(0).text
        assert "plotext could not draw this data (OverflowError" in first
        loss.show(np.array([1.0, 2.0]), np.array([1.0, 2.0]), 0.0)  # drawable data again: a chart again
        await pilot.pause()
        assert "could not draw" not in "".join(loss.render_line(y).text for y in range(loss.size.height))
