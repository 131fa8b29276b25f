"""Charts draw again only when what they show changed (data, settings, size)."""

from __future__ import annotations

import numpy as np
from textual.app import App, ComposeResult

from epam_tui.ui.widgets.charts import AccuracyChart, LossChart, LrChart


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
