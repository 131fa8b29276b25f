"""How the log pane shows a line: MMEngine's prefix compacted, and the line's severity (no numpy: the
monitor imports this at start-up, before any series is parsed)."""

from __future__ import annotations

import re

# Log lines as the monitor's pane shows them (str, not bytes: the pane's lines are decoded)
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
