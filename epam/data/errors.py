"""The one exception type the data layer raises for bad input (files, formats, settings)."""

from __future__ import annotations


class DataError(Exception):
    """A dataset file or setting is unusable; the message is one line naming the cause and the fix."""
