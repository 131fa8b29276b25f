"""The monitor's log pane widget; how it shows lines (MMEngine prefixes compacted, severity levels) is
``core.sources.loglines`` (``compact_log_line``, ``line_level``), beside the MMEngine parsers."""

from __future__ import annotations

from textual.widgets import Log

from epam_tui.core.sources.loglines import compact_log_line, line_level  # noqa: F401 - how the pane shows lines
from epam_tui.ui.textual_compat import shrink_caches


class LogPane(Log):
    """The log pane: Textual's Log (plain strings; only visible lines are rendered) with its rendered-line
    cache sized for a pane (a few dozen visible lines) instead of 1,024 strips."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        shrink_caches(self, _render_line_cache=256)
