"""Incremental file reading: only what was appended, whole lines only, robust to truncation.

``Tailer.read()`` returns the complete new lines (bytes, without the newline) since the last call.
A partial last line is kept until its newline arrives. When the file shrinks below the offset or is
replaced (another inode), ``reset`` is set and reading restarts from the beginning, so the caller
rebuilds what it derived instead of appending duplicates. The last ``CHECK`` bytes before the offset
are read again with each new data and compared with what was read there: a file rewritten in place
past the offset, or replaced twice between reads (the filesystem hands the old inode number to the
new file), is noticed too. Lines over ``max_line`` bytes are skipped
and counted; I/O errors (a missing file) give no lines, never an exception.
"""

from __future__ import annotations

import os
from pathlib import Path

MAX_LINE = 65536
CHUNK = 1 << 22
CHECK = 64  # bytes before the offset compared on each read


def _has_long_line(chunk: bytes, max_line: int) -> bool:
    """Whether a line of ``chunk`` (whole lines, ending in a newline) is longer than ``max_line`` bytes.
    Hops a window of ``max_line + 1`` bytes at a time to its last newline: the lines before it are short
    enough, and no newline in a window means a longer line. A few hops per MB of ordinary lines."""
    pos, end = 0, len(chunk)
    while pos < end:
        nl = chunk.rfind(b"\n", pos, pos + max_line + 1)
        if nl < 0:
            return True
        pos = nl + 1
    return False


class Tailer:
    def __init__(self, path: str | Path, max_line: int = MAX_LINE, tail_bytes: int | None = None):
        """``tail_bytes``: on the first read of a bigger file, start that many bytes before its end (at
        the next line start), as ``tail`` does; after a truncation or replacement, read from the start."""
        self.path = Path(path)
        self.tail_bytes = tail_bytes
        self.max_line = max_line
        self.offset = 0
        self.inode: int | None = None
        self.partial = b""
        self.skipped = 0
        self.reset = False  # set by read() when the file was truncated or replaced
        self._drop_rest = False
        self._seen = b""  # the last CHECK bytes before the offset, as read

    def _restart(self) -> None:
        self.offset = 0
        self.partial = b""
        self.reset = True
        self._drop_rest = False
        self._seen = b""

    def read_chunk(self, limit: int | None = None) -> bytes:
        """The new complete lines as one bytes chunk, each ending in a newline (b"" when none).
        Reads at most ``limit`` bytes (None: everything available). Overlong lines are dropped and counted."""
        self.reset = False
        try:
            st = os.stat(self.path)
        except OSError:
            return b""
        if self.inode is not None and (st.st_ino != self.inode or st.st_size < self.offset):
            self._restart()
        elif self.inode is None and self.tail_bytes is not None and st.st_size > self.tail_bytes:
            self.offset = st.st_size - self.tail_bytes
            self._drop_rest = True  # the first, partial line
        self.inode = st.st_ino
        if st.st_size == self.offset:
            return b""
        try:
            with open(self.path, "rb") as fh:
                back = len(self._seen)
                fh.seek(self.offset - back)
                # never ask for more than the file holds: read(n) allocates n bytes before reading, and
                # a budget-sized buffer on every poll of a live file churned the allocator (RSS creep)
                want = st.st_size - self.offset if limit is None else min(limit, st.st_size - self.offset)
                data = fh.read(back + want)
                if data[:back] != self._seen:  # rewritten before the offset (same inode, or a reused one)
                    self._restart()
                    fh.seek(0)
                    data = fh.read(st.st_size if limit is None else min(limit, st.st_size))
                else:
                    data = data[back:]
        except OSError:
            return b""
        self.offset += len(data)
        self._seen = data[-CHECK:] if len(data) >= CHECK else (self._seen + data)[-CHECK:]
        data = self.partial + data if self.partial else data
        cut = data.rfind(b"\n")
        if cut < 0:
            self.partial = b"" if self._drop_rest else data
            if len(self.partial) > self.max_line:  # an absurdly long line: drop what we have of it
                self.skipped += 1
                self.partial = b""
                self._drop_rest = True
            return b""
        self.partial = data[cut + 1:]
        chunk = data[:cut + 1]
        if self._drop_rest:  # the tail of an overlong line dropped earlier
            self._drop_rest = False
            nl = chunk.find(b"\n")
            chunk = chunk[nl + 1:]
        if len(self.partial) > self.max_line:  # the unfinished last line is already too long
            self.skipped += 1
            self.partial = b""
            self._drop_rest = True
        if self.max_line and len(chunk) > self.max_line and _has_long_line(chunk, self.max_line):
            lines = chunk[:-1].split(b"\n")
            kept = [line for line in lines if len(line) <= self.max_line]
            self.skipped += len(lines) - len(kept)
            chunk = b"".join(line + b"\n" for line in kept)
        return chunk

    def read(self, limit: int | None = None) -> list[bytes]:
        """New complete lines (bytes, without the newline)."""
        chunk = self.read_chunk(limit)
        return chunk[:-1].split(b"\n") if chunk else []

    @property
    def at_end(self) -> bool:
        try:
            return os.stat(self.path).st_size == self.offset
        except OSError:
            return True
