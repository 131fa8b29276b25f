"""Charts behind our own widgets (textual-plotext today; the backend can change without the screens
knowing). Data is downsampled to about twice the widget's width before drawing."""

from __future__ import annotations

import math

import numpy as np
from textual_plotext import PlotextPlot

from epam_tui.core.series import downsample_minmax, ema_debiased


# Series colours as RGB: named colours go through the terminal's ANSI palette (they differ between
# terminals and themes, and a named colour drawn before the chart's first render came out in
# textual-plotext's sequence colour instead); RGB is the same everywhere.
GRAY, CYAN, YELLOW, GREEN, BLUE = (140, 140, 140), (70, 200, 230), (230, 190, 40), (60, 180, 75), (0, 130, 200)


class _Chart(PlotextPlot):
    title = ""

    def on_mount(self) -> None:
        self.plt.title(self.title)

    def _buckets(self) -> int:
        return max(10, self.size.width or 60)

    def _start(self) -> None:
        self.plt.clear_data()
        self.plt.title(self.title)

    def _line(self, x, y, **kwargs) -> None:
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        keep = np.isfinite(x) & np.isfinite(y)
        if keep.any():
            xs, ys = downsample_minmax(x[keep], y[keep], self._buckets())
            self.plt.plot(xs.tolist(), ys.tolist(), **kwargs)


class LossChart(_Chart):
    title = "loss (raw, EMA)"

    def show(self, steps: np.ndarray, loss: np.ndarray, smoothing: float) -> None:
        self._start()
        self.plt.title(f"loss (raw, EMA {smoothing:.2f})")
        if len(steps):
            self._line(steps, loss, color=GRAY, marker="dot", label="raw")
            self._line(steps, ema_debiased(loss, smoothing), color=CYAN, marker="braille", label="EMA")
        self.refresh()


class LrChart(_Chart):
    title = "lr (logged, expected)"

    def show(self, steps: np.ndarray, lrs: np.ndarray, config: dict | None, iters_per_epoch: int | None) -> None:
        self._start()
        expected = None
        if config and iters_per_epoch:
            try:
                from epam.schedule import expected_curve

                expected = expected_curve(config, int(iters_per_epoch), max_points=2 * self._buckets())
            except Exception:  # noqa: BLE001 - a foreign or partial config: no overlay
                expected = None
        if expected:
            self.plt.plot(expected[0], expected[1], color=YELLOW, marker="dot", label="expected")
        if len(steps):
            self._line(steps, lrs, color=GREEN, marker="braille", label="logged")
        self.refresh()


class AccuracyChart(_Chart):
    title = "accuracy % (val, train) by epoch"

    def show(self, val: dict, train_epoch: dict) -> None:
        self._start()
        for cols, key, color, label in ((val, "acc/top1", GREEN, "val top1"),
                                        (train_epoch, "train/top1", BLUE, "train top1")):
            if key in cols and len(cols["epoch"]):
                ys = [100 * v if math.isfinite(v) else math.nan for v in cols[key]]
                self._line(cols["epoch"], ys, color=color, marker="braille", label=label)
        self.refresh()
