"""Charts behind our own widgets (textual-plotext today; the backend can change without the screens
knowing). Data is downsampled to about twice the widget's width before drawing. A chart is drawn again
only when what it shows changed (data, settings or size): every redraw builds a new plot and a new
ANSI text, and that churn is what made a long session's memory creep (docs/architecture.md)."""

from __future__ import annotations

import math
import zlib

import numpy as np
from textual_plotext import PlotextPlot

from epam_tui.core.series import downsample_minmax, ema_debiased


# Series colours as RGB: named colours go through the terminal's ANSI palette (they differ between
# terminals and themes, and a named colour drawn before the chart's first render came out in
# textual-plotext's sequence colour instead); RGB is the same everywhere.
GRAY, CYAN, YELLOW, GREEN, BLUE = (140, 140, 140), (70, 200, 230), (230, 190, 40), (60, 180, 75), (0, 130, 200)


def fingerprint(*arrays) -> tuple:
    """A cheap key for what arrays hold (length and CRC of the bytes, no copy)."""
    out = []
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.float64)
        out += [len(a), zlib.crc32(a)]
    return tuple(out)


class _Chart(PlotextPlot):
    title = ""
    _drawn: tuple | None = None

    def on_mount(self) -> None:
        self.plt.title(self.title)

    def _unchanged(self, key: tuple) -> bool:
        """True when the chart already shows this (key of its inputs, at this size); else remember it."""
        key = (*key, self.size.width, self.size.height)
        if key == self._drawn:
            return True
        self._drawn = key
        return False

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
            # 10 significant digits: float noise (the EMA of a constant loss is 4.0950000000000006) made
            # plotext label the axis with 18-character numbers that took half of a narrow chart
            self.plt.plot(xs.tolist(), [float(f"{v:.10g}") for v in ys.tolist()], **kwargs)


class LossChart(_Chart):
    title = "loss (raw, EMA)"

    def show(self, steps: np.ndarray, loss: np.ndarray, smoothing: float) -> None:
        if self._unchanged((fingerprint(steps, loss), smoothing)):
            return
        self._start()
        self.plt.title(f"loss (raw, EMA {smoothing:.2f})")
        if len(steps):
            self._line(steps, loss, color=GRAY, marker="dot", label="raw")
            self._line(steps, ema_debiased(loss, smoothing), color=CYAN, marker="braille", label="EMA")
        self.refresh()


class LrChart(_Chart):
    title = "lr (logged, expected)"

    _expected: tuple = (None, None)  # (key, curve): the overlay is computed again only when its inputs change

    def _expected_curve(self, config: dict | None, iters_per_epoch: int | None):
        key = (repr(config), iters_per_epoch, self._buckets())
        if key != self._expected[0]:
            curve = None
            if config and iters_per_epoch:
                try:
                    from epam.schedule import expected_curve

                    curve = expected_curve(config, int(iters_per_epoch), max_points=2 * self._buckets())
                except Exception:  # noqa: BLE001 - a foreign or partial config: no overlay
                    curve = None
            self._expected = (key, curve)
        return self._expected[1]

    def show(self, steps: np.ndarray, lrs: np.ndarray, config: dict | None, iters_per_epoch: int | None) -> None:
        expected = self._expected_curve(config, iters_per_epoch)
        if self._unchanged((fingerprint(steps, lrs), self._expected[0])):
            return
        self._start()
        if expected:
            self.plt.plot(expected[0], expected[1], color=YELLOW, marker="dot", label="expected")
        if len(steps):
            self._line(steps, lrs, color=GREEN, marker="braille", label="logged")
        self.refresh()


class AccuracyChart(_Chart):
    title = "accuracy % (val, train) by epoch"

    def show(self, val: dict, train_epoch: dict) -> None:
        if self._unchanged(tuple((k, fingerprint(v)) for cols in (val, train_epoch) for k, v in sorted(cols.items()))):
            return
        self._start()
        for cols, key, color, label in ((val, "acc/top1", GREEN, "val top1"),
                                        (train_epoch, "train/top1", BLUE, "train top1")):
            if key in cols and len(cols["epoch"]):
                ys = [100 * v if math.isfinite(v) else math.nan for v in cols[key]]
                self._line(cols["epoch"], ys, color=color, marker="braille", label=label)
        self.refresh()
