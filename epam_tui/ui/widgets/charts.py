"""Charts behind our own widgets (textual-plotext today; the backend can change without the screens
knowing). Data is downsampled to about twice the widget's width before drawing. A chart is drawn again
only when what it shows changed (data, settings or size): every redraw builds a new plot and a new
ANSI text, and that churn is what made a long session's memory creep (docs/performance.md). A series
that only grew by less than half a column's worth of points (with 2,000 steps on 40 columns, a column is
50 steps: the new points hardly move a pixel) is drawn once the growth reaches half a column or
``GROWTH_WAIT_S`` after the last drawing, whichever comes first: plotext's build was a quarter of the
monitor's steady CPU when a fast-logging run redrew two charts every second. The screen calls ``show``
again while a chart is ``pending``.

The plot is shown through Textual's line API (``render_line``): plotext's ANSI output is decoded once
per drawing into one strip per row, each exactly the widget's width (``ansi_strips``). textual-plotext's
own ``render`` returns a rich Text, which Textual converts to Content and word-wraps on every render:
16-18x the CPU of ``ansi_strips`` (benchmarks/chart_redraw.py), and the wrapping measured every run of
non-blank cells with rich's ``cached_cell_len``, whose 4,096-entry cache then filled with chart
fragments never drawn again (~0.8 KB each in a soak: up to ~3 MB)."""

from __future__ import annotations

import math
import re
import time
import zlib

import numpy as np
from rich.ansi import AnsiDecoder
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual_plotext import PlotextPlot

from epam_tui.core.series import downsample_minmax, ema_debiased
from epam_tui.ui.textual_compat import plot_of, size_plot, theme_name


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


_SGR = re.compile(r"\x1b\[([0-9;]*)m")
_SGR_STYLES: dict[tuple[str, ...], Style] = {}


def _sgr_style(state: tuple[str, ...]) -> Style:
    """The rich Style of the SGR parameters set since the last reset, as rich's AnsiDecoder reads them
    (decoded once per distinct state: a plot has a handful)."""
    style = _SGR_STYLES.get(state)
    if style is None:
        text = AnsiDecoder().decode_line("".join(f"\x1b[{p}m" for p in state) + "x")
        style = text.spans[0].style if text.spans else Style.null()
        if len(_SGR_STYLES) < 256:
            _SGR_STYLES[state] = style
    return style


def ansi_strips(ansi: str, width: int, height: int, base: Style) -> list[Strip]:
    """plotext's ANSI output as ``height`` strips of exactly ``width`` cells over ``base``. plotext lays its
    canvas out one character per cell and marks colours with SGR sequences only, so a row is split on
    those and characters are counted as cells: nothing goes through rich's cell-width cache, and this
    costs a fraction of rich's general ``Text.from_ansi``."""
    rows: list[Strip] = []
    state: tuple[str, ...] = ()
    styles: dict[tuple[str, ...], Style] = {(): base}  # base + each state's style, added once per drawing
    for line in ansi.split("\n")[:height]:
        parts = _SGR.split(line)  # text, params, text, params, ..., text
        segments, cells = [], 0
        for i in range(0, len(parts), 2):
            text = parts[i]
            if text and cells < width:
                text = text[: width - cells]
                cells += len(text)
                style = styles.get(state)
                if style is None:
                    style = styles[state] = base + _sgr_style(state)
                segments.append(Segment(text, style))
            if i + 1 < len(parts):
                params = parts[i + 1]
                state = () if params in ("", "0") else (params,) if params.startswith("0;") else (*state, params)
        if cells < width:
            segments.append(Segment(" " * (width - cells), base))
        rows.append(Strip(segments, width))
    while len(rows) < height:
        rows.append(Strip.blank(width, base))
    return rows


GROWTH_WAIT_S = 5.0  # a series that grew a little is drawn at most this long after the last drawing


class _Chart(PlotextPlot):
    title = ""
    _drawn: tuple | None = None  # (key of the data, settings, width, height) last drawn
    _drawn_len = 0  # points in the series last drawn
    _drawn_at = 0.0  # time.monotonic() of the last drawing
    pending = False  # the inputs last given were not drawn yet (grew a little): call show() again later
    _strips: tuple = (None, ())  # (key of the drawing: data, size, theme; its rows as strips)

    def _rows(self) -> tuple[Strip, ...]:
        width, height = self.size
        key = (self._drawn, width, height, self.app.theme, self.theme)
        if self._strips[0] != key:
            base = self.rich_style  # the widget's colours under plotext's (as Textual's Log does for its lines)
            plot = plot_of(self)  # sized and themed as textual-plotext's render() does before it builds
            size_plot(plot, width, height)
            plot.theme(theme_name(self, self.app.theme))
            try:
                ansi = plot.build()
            except Exception as exc:  # noqa: BLE001 - plotext fails on some data (a y range of 1e-308 overflows
                # its tick arithmetic): the chart says so and the app goes on
                ansi = f"{self.title}: plotext could not draw this data ({type(exc).__name__}: {exc})"
            self._strips = (key, tuple(ansi_strips(ansi, width, height, base)))
        return self._strips[1]

    def notify_style_update(self) -> None:
        self._strips = (None, ())  # the widget's colours changed: the rows are built again over the new ones
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        rows = self._rows()
        return rows[y] if y < len(rows) else Strip.blank(self.size.width, self.rich_style)

    def on_mount(self) -> None:
        if self.title:  # a Chart's screen sets its own title, maybe before this runs
            self.plt.title(self.title)

    def _unchanged(self, settings: tuple = (), series: tuple | None = None, key: tuple | None = None) -> bool:
        """True when the chart need not be drawn now: it already shows this data (``key``; by default the
        fingerprint of ``series``) with these ``settings`` at this size, or the ``series`` only grew (what
        was drawn is their beginning), by less than half a column's worth of points, less than GROWTH_WAIT_S
        after the last drawing (then ``pending``). Else remember the inputs as drawn and return False."""
        if key is None:
            key = fingerprint(*series)
        width, height = self.size
        drawn = (key, settings, width, height)
        if drawn == self._drawn:
            self.pending = False
            return True
        length = len(series[0]) if series else 0
        if (series and self._drawn is not None and self._drawn[1:] == drawn[1:]
                and self._drawn_len < length and 2 * (length - self._drawn_len) * self._buckets() < self._drawn_len
                and time.monotonic() - self._drawn_at < GROWTH_WAIT_S
                and fingerprint(*(a[:self._drawn_len] for a in series)) == self._drawn[0]):
            self.pending = True
            return True
        self._drawn, self._drawn_len, self._drawn_at, self.pending = drawn, length, time.monotonic(), False
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


class Chart(_Chart):
    """A plotext chart for screens that draw with ``plt`` themselves (the comparison): call ``drawn()`` after
    changing the plot."""

    def drawn(self) -> None:
        self._drawn = (self._drawn[0] + 1,) if self._drawn else (1,)  # a new key: the rows are built again
        self.refresh()


class LossChart(_Chart):
    title = "loss (raw, EMA)"

    def show(self, steps: np.ndarray, loss: np.ndarray, smoothing: float) -> None:
        if self._unchanged((smoothing,), (steps, loss)):
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
            from epam_tui.core.runfacts import expected_lr_curve

            self._expected = (key, expected_lr_curve(config, iters_per_epoch, max_points=2 * self._buckets()))
        return self._expected[1]

    def show(self, steps: np.ndarray, lrs: np.ndarray, config: dict | None, iters_per_epoch: int | None) -> None:
        expected = self._expected_curve(config, iters_per_epoch)
        if self._unchanged((self._expected[0],), (steps, lrs)):
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
        if self._unchanged(key=tuple((k, fingerprint(v)) for cols in (val, train_epoch) for k, v in sorted(cols.items()))):
            return
        self._start()
        for cols, key, color, label in ((val, "acc/top1", GREEN, "val top1"),
                                        (train_epoch, "train/top1", BLUE, "train top1")):
            if key in cols and len(cols["epoch"]):
                ys = [100 * v if math.isfinite(v) else math.nan for v in cols[key]]
                self._line(cols["epoch"], ys, color=color, marker="braille", label=label)
        self.refresh()
