"""The monitor's log pane widget and how it shows lines: MMEngine prefixes compacted, severity levels."""

from __future__ import annotations

import re

from textual.widgets import Log

from epam_tui.ui.widgets.run_table import shrink_caches

MM_PREFIX = re.compile(r"^\d{4}/\d\d/\d\d (\d\d:\d\d:\d\d) - mmengine - (\w+) - ")


def compact_log_line(line: str) -> str:
    """``2026/11/25 01:41:42 - mmengine - INFO - msg`` -> ``01:41:42 msg`` (the level kept unless INFO)."""
    m = MM_PREFIX.match(line)
    if not m:
        return line
    level = "" if m.group(2) == "INFO" else f"{m.group(2)} "
    return f"{m.group(1)} {level}{line[m.end():]}"


LEVEL_RE = re.compile(r"^\d\d:\d\d:\d\d (WARNING|ERROR|CRITICAL|DEBUG) ")
ERROR_RE = re.compile(r"^(Traceback \(most recent call last\)|\w*(Error|Exception)\b|.*\bERROR\b)")


def line_level(line: str) -> int:
    """The severity of a (compacted) log line: 0 DEBUG, 1 INFO, 2 WARNING, 3 ERROR/CRITICAL; lines
    that are not MMEngine lines (stdout.log) count as errors when they look like a traceback or an error."""
    m = LEVEL_RE.match(line)
    if m:
        return {"DEBUG": 0, "WARNING": 2}.get(m.group(1), 3)
    if ERROR_RE.match(line):
        return 3
    return 1


class LogPane(Log):
    """The log pane: Textual's Log (plain strings; only visible lines are rendered) with its rendered-line
    cache sized for a pane (a few dozen visible lines) instead of 1,024 strips."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        shrink_caches(self, _render_line_cache=256)
