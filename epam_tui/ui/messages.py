"""The messages the monitor's workers post to the screen: what a worker found, handed over typed.

Thread workers never touch widgets (they would race the event loop); they call ``MonitorSession``
methods and post one of these. ``post_message`` is thread-safe, and a screen already torn down simply
does not get it.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from epam_tui.core.gpus import GpuSnapshot
from epam_tui.core.session import GpuResult, PollResult


@dataclass
class RunsPolled(Message, bubble=False):
    """A poll of the runs: ``MonitorSession.poll()``'s result."""
    result: PollResult


@dataclass
class GpusSampled(Message, bubble=False):
    """A GPU sample, the host line, and what the session made of them (alerts, the run's processes)."""
    snapshot: GpuSnapshot
    host: str
    result: GpuResult
