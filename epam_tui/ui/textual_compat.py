"""Every use of a private internal of Textual, textual-plotext or plotext, in one place.

Each was checked against the pinned versions below (``pyproject.toml``: textual 8.2.8, textual-plotext
1.0.1, plotext < 6). ``INTERNALS`` lists them; ``tests/tui/test_textual_compat.py`` fails, naming the
internal, when an upgrade removes one, so an upgrade is a decision, not a silent slowdown or a blank chart.

- DataTable / Log render caches (``shrink_caches``): Textual sizes them for big tables (10,000 cells);
  the monitor's run list and log pane redraw every second and fill them with dead entries.
- ``MeasuredDataTable._update_dimensions``: drops DataTable's row and line caches when the measured
  column widths change (a row drawn before its cells were measured stayed cut short).
- textual-plotext's ``PlotextPlot._plot`` and ``_get_plotext_theme_name``, plotext's ``_set_size``
  (``size_plot``, ``plot_of``, ``theme_name``): the charts build plotext's output themselves, sized and
  themed as textual-plotext's ``render()`` does, to cache it as strips.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from textual.cache import LRUCache
from textual.widgets import DataTable

if TYPE_CHECKING:  # plotext loads with the first chart, not at start-up
    from textual_plotext import PlotextPlot

TEXTUAL = "8.2.8"
TEXTUAL_PLOTEXT = "1.0.1"
PLOTEXT = "5.3.2"


class Internal(NamedTuple):
    owner: str  # "textual.widgets.DataTable", "plotext" ...
    name: str  # the private attribute or method used
    kind: str  # "cache" (an LRUCache attribute of an instance), "method", "attribute"
    checked: str  # package and version it was checked against


DATATABLE_CACHES = ("_cell_render_cache", "_row_render_cache", "_row_renderable_cache", "_line_cache")
LOG_CACHES = ("_render_line_cache",)

INTERNALS: tuple[Internal, ...] = (
    *(Internal("textual.widgets.DataTable", n, "cache", f"textual {TEXTUAL}") for n in DATATABLE_CACHES),
    *(Internal("textual.widgets.Log", n, "cache", f"textual {TEXTUAL}") for n in LOG_CACHES),
    Internal("textual.widgets.DataTable", "_update_dimensions", "method", f"textual {TEXTUAL}"),
    Internal("textual.widgets.DataTable", "_clear_caches", "method", f"textual {TEXTUAL}"),
    Internal("textual_plotext.PlotextPlot", "_plot", "attribute", f"textual-plotext {TEXTUAL_PLOTEXT}"),
    Internal("textual_plotext.PlotextPlot", "_get_plotext_theme_name", "method", f"textual-plotext {TEXTUAL_PLOTEXT}"),
    Internal("plotext", "_set_size", "method", f"plotext {PLOTEXT}"),
)


def shrink_caches(widget: Any, **sizes: int) -> None:
    """Replace a widget's render caches (names in ``DATATABLE_CACHES`` / ``LOG_CACHES``) with smaller LRU
    caches; one a release renamed is skipped, leaving Textual's default size (the test says so)."""
    for name, size in sizes.items():
        if hasattr(widget, name):
            setattr(widget, name, LRUCache(size))


class MeasuredDataTable(DataTable):
    """A DataTable that redraws its rows when the measured column widths change. DataTable measures new
    and updated cells when idle, and keys its row and line caches by an update counter, not by column
    widths: a row drawn before its cells were measured (header widths) can stay cut short until some cell
    changes, for good on a table of finished runs (seen once in a CI snapshot: "dem  epam  finis")."""

    _measured: tuple[int, ...] = ()

    def _update_dimensions(self, new_rows) -> None:  # DataTable's private hook (textual 8.2.8)
        super()._update_dimensions(new_rows)
        widths = tuple(column.content_width for column in self.columns.values())
        if widths != self._measured:
            self._measured = widths
            self._clear_caches()
            self.refresh()


def plot_of(widget: PlotextPlot) -> Any:
    """The plotext figure a PlotextPlot draws (what ``widget.plt`` configures)."""
    return widget._plot


def size_plot(plot: Any, width: int, height: int) -> None:
    """Size a plotext figure as textual-plotext's ``render()`` does before it builds."""
    plot.plotsize(width, height)
    plot._set_size(width, height)


def theme_name(widget: PlotextPlot, textual_theme: str) -> str:
    """The plotext theme textual-plotext picks for a Textual theme."""
    return widget._get_plotext_theme_name(textual_theme)


__all__ = ["DATATABLE_CACHES", "INTERNALS", "LOG_CACHES", "MeasuredDataTable", "plot_of", "shrink_caches", "size_plot",
           "theme_name"]
