"""The private internals of Textual / textual-plotext / plotext that epam_tui uses (ui/textual_compat.py)
still exist: an upgrade that removes one fails here, naming it and the version it was checked against,
instead of silently growing the caches again or blanking the charts."""

from __future__ import annotations

import importlib
import importlib.metadata as md

import pytest
from textual.cache import LRUCache
from textual.widgets import DataTable, Log
from textual_plotext import PlotextPlot

from epam_tui.ui import textual_compat as tc
from epam_tui.ui.widgets.charts import LossChart
from epam_tui.ui.widgets.log_pane import LogPane
from epam_tui.ui.widgets.run_table import RunTable


def owner_object(owner: str):
    if owner == "plotext":  # a method of the figure a PlotextPlot draws
        return tc.plot_of(PlotextPlot())
    module, _, name = owner.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_pinned_versions_are_the_installed_ones() -> None:
    assert md.version("textual") == tc.TEXTUAL
    assert md.version("textual-plotext") == tc.TEXTUAL_PLOTEXT
    assert md.version("plotext").startswith(tc.PLOTEXT)


@pytest.mark.parametrize("internal", tc.INTERNALS, ids=lambda i: f"{i.owner}.{i.name}")
def test_internal_still_exists(internal: tc.Internal) -> None:
    where = f"{internal.owner}.{internal.name} (checked against {internal.checked}); see epam_tui/ui/textual_compat.py"
    if internal.kind == "method":
        assert callable(getattr(owner_object(internal.owner), internal.name, None)), f"gone: {where}"
    elif internal.kind == "attribute":
        assert hasattr(PlotextPlot(), internal.name), f"gone: {where}"
    else:  # a render cache: an instance attribute holding an LRUCache
        widget = DataTable() if internal.owner.endswith("DataTable") else Log()
        assert isinstance(getattr(widget, internal.name, None), LRUCache), f"gone or no longer an LRUCache: {where}"


def test_widgets_get_the_small_caches() -> None:
    table, pane = RunTable(), LogPane()
    assert table._cell_render_cache.maxsize == 220 and table._line_cache.maxsize == 40
    assert pane._render_line_cache.maxsize == 256


def test_shrink_caches_skips_a_renamed_cache() -> None:
    table = DataTable()
    tc.shrink_caches(table, _no_such_cache=5, _line_cache=7)
    assert not hasattr(table, "_no_such_cache") and table._line_cache.maxsize == 7


def test_plot_sizing_and_theme_reach_plotext() -> None:
    chart = LossChart()
    plot = tc.plot_of(chart)
    tc.size_plot(plot, 40, 12)
    plot.plot([1, 2, 3], [3, 1, 2])
    lines = plot.build().splitlines()
    assert len(lines) == 12
    assert isinstance(tc.theme_name(chart, "textual-dark"), str)
