"""Incremental file reading: only what was appended, whole lines only, robust to truncation.

``Tailer.read()`` returns the complete new lines (bytes, without the newline) since the last call.
A partial last line is kept until its newline arrives. When the file shrinks below the offset or is
replaced (another inode), ``reset`` is set and reading restarts from the beginning, so the caller
rebuilds what it derived instead of appending duplicates. Lines over ``max_line`` bytes are skipped
and counted; I/O errors (a missing file) give no lines, never an exception.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_LINE = 65536
CHUNK = 1 << 22


class Tailer:
    def __init__(self, path: str | Path, max_line: int = MAX_LINE):
        self.path = Path(path)
        self.max_line = max_line
        self.offset = 0
        self.inode: int | None = None
        self.partial = b""
        self.skipped = 0
        self.reset = False  # set by read() when the file was truncated or replaced

    def _restart(self) -> None:
        self.offset = 0
        self.partial = b""
        self.reset = True

    def read(self, limit: int | None = None) -> list[bytes]:
        """New complete lines; reads at most ``limit`` bytes (None: everything available)."""
        self.reset = False
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        if self.inode is not None and (st.st_ino != self.inode or st.st_size < self.offset):
            self._restart()
        self.inode = st.st_ino
        if st.st_size == self.offset:
            return []
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(limit if limit is not None else st.st_size - self.offset)
        except OSError:
            return []
        self.offset += len(data)
        data = self.partial + data
        cut = data.rfind(b"\n")
        if cut < 0:
            self.partial = data
            if len(self.partial) > self.max_line:  # an absurdly long line: drop what we have of it
                self.skipped += 1
                self.partial = b""
            return []
        self.partial = data[cut + 1:]
        lines = data[:cut].split(b"\n")
        if self.max_line and any(len(line) > self.max_line for line in lines):
            kept = [line for line in lines if len(line) <= self.max_line]
            self.skipped += len(lines) - len(kept)
            lines = kept
        return lines

    @property
    def at_end(self) -> bool:
        try:
            return os.stat(self.path).st_size == self.offset
        except OSError:
            return True
