"""Incremental file reading: only what was appended, whole lines only, robust to truncation.

``Tailer.read()`` returns the complete new lines (bytes, without the newline) since the last call.
A partial last line is kept until its newline arrives. When the file shrinks below the offset or is
replaced (another inode), ``reset`` is set and reading restarts from the beginning, so the caller
rebuilds what it derived instead of appending duplicates. The last ``CHECK`` bytes before the offset
are read again with each new data and compared with what was read there: a file rewritten in place
past the offset, or replaced twice between reads (the filesystem hands the old inode number to the
new file), is noticed too. Lines over ``max_line`` bytes are skipped
and counted; I/O errors (a missing file) give no lines, never an exception.

Every read of a file in a run directory goes through this module (``Tailer``, ``read_bounded``,
``read_lines``): only regular files are opened (``os.stat`` + ``S_ISREG``, then opened with
``O_NONBLOCK`` and checked again with ``fstat``, so a FIFO never blocks the open), reads go by chunks of
at most ``CHUNK`` bytes, and a hole of a sparse file longer than a line is skipped without reading it
(``SEEK_DATA``). What was not read is said in ``note``: "train.log is not a regular file (FIFO): skipped".
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import BinaryIO, NamedTuple

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


_KINDS = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
          (stat.S_ISSOCK, "socket"), (stat.S_ISDIR, "directory"))


def file_kind(mode: int) -> str:
    """'regular file', 'FIFO', 'character device', ... for an ``st_mode``."""
    if stat.S_ISREG(mode):
        return "regular file"
    return next((name for test, name in _KINDS if test(mode)), "special file")


def open_regular(path: str | Path) -> tuple[BinaryIO | None, os.stat_result | None, str]:
    """``(binary file, its fstat, "")`` when ``path`` is a regular file (a symlink to one is fine), else
    ``(None, None, why)``: "" for a missing file, "NAME is not a regular file (FIFO): skipped" for a FIFO,
    a device or a directory, "NAME: Permission denied: skipped" for an error. Never blocks: the file is
    opened with ``O_NONBLOCK`` (a FIFO swapped in after the stat opens at once) and checked with ``fstat``."""
    path = Path(path)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None, None, ""
    except OSError as exc:
        return None, None, f"{path.name}: {exc.strerror or exc}: skipped"
    if not stat.S_ISREG(st.st_mode):
        return None, None, f"{path.name} is not a regular file ({file_kind(st.st_mode)}): skipped"
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None, None, ""
    except OSError as exc:
        return None, None, f"{path.name}: {exc.strerror or exc}: skipped"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            return None, None, f"{path.name} is not a regular file ({file_kind(st.st_mode)}): skipped"
        return os.fdopen(fd, "rb"), st, ""
    except OSError as exc:
        os.close(fd)
        return None, None, f"{path.name}: {exc.strerror or exc}: skipped"


def _fmt_size(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} bytes"


class Bounded(NamedTuple):
    data: bytes
    note: str  # "" when the whole regular file was read; else what was skipped or cut
    complete: bool  # the whole file was read


def read_bounded(path: str | Path, limit: int, tail: bool = False) -> Bounded:
    """At most ``limit`` bytes of a regular file: its start, or with ``tail`` its last ``limit`` bytes.
    ``note`` says when the file was skipped (not a regular file) or cut ("config.py is 2.0 GiB: read its
    first 1.0 MiB"). A missing file gives ``Bounded(b"", "", False)``."""
    fh, st, note = open_regular(path)
    if fh is None:
        return Bounded(b"", note, False)
    name = Path(path).name
    try:
        with fh:
            size = st.st_size
            if tail and size > limit:
                fh.seek(size - limit)
            data = fh.read(limit + 1 if not tail else limit)
    except OSError as exc:
        return Bounded(b"", f"{name}: {exc.strerror or exc}: skipped", False)
    if len(data) > limit or size > limit:
        where = "last" if tail else "first"
        return Bounded(data[:limit], f"{name} is {_fmt_size(max(size, len(data)))}: read its {where} "
                                     f"{_fmt_size(limit)}", False)
    return Bounded(data, "", True)


class Lines(NamedTuple):
    lines: list[str]
    note: str  # why the file was skipped, "" otherwise
    skipped: int  # overlong lines (and runs of NUL bytes longer than a line) left out


def read_lines(path: str | Path, max_line: int = MAX_LINE, tail_bytes: int | None = None) -> Lines:
    """The lines of a regular text file (decoding errors replaced), streamed by chunks of ``CHUNK`` bytes:
    lines over ``max_line`` bytes are skipped and counted, ``tail_bytes`` keeps only the lines of the last
    that many bytes. A FIFO, a device or a missing file gives no lines (``note`` says why, except for a
    missing file); a sparse file's holes are not read."""
    tailer = Tailer(path, max_line=max_line, tail_bytes=tail_bytes)
    out: list[str] = []
    while True:
        before = tailer.offset
        chunk = tailer.read_chunk(CHUNK)
        if tailer.reset:  # rewritten while being read: start over once
            out.clear()
        if chunk:
            out.extend(chunk[:-1].decode("utf-8", "replace").split("\n"))
        if tailer.offset == before:
            break
    rest = tailer.rest()
    if rest:
        out.append(rest.decode("utf-8", "replace"))
    return Lines(out, tailer.note, tailer.skipped)


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
        self.note = ""  # why the file was not read (not a regular file, an error), "" otherwise

    def rest(self) -> bytes:
        """The unfinished last line read so far (a file that does not end in a newline), b"" when none."""
        return b"" if self._drop_rest else self.partial

    def _restart(self) -> None:
        self.offset = 0
        self.partial = b""
        self.reset = True
        self._drop_rest = False
        self._seen = b""

    def read_chunk(self, limit: int | None = None) -> bytes:
        """The new complete lines as one bytes chunk, each ending in a newline (b"" when none).
        Reads at most ``limit`` bytes (None: everything available), ``CHUNK`` bytes at a time, so memory
        stays bounded by the lines kept. Overlong lines are dropped and counted."""
        self.reset = False
        fh, st, self.note = open_regular(self.path)
        if fh is None:
            return b""
        with fh:
            if self.inode is not None and (st.st_ino != self.inode or st.st_size < self.offset):
                self._restart()
            elif self.inode is None and self.tail_bytes is not None and st.st_size > self.tail_bytes:
                self.offset = st.st_size - self.tail_bytes
                self._drop_rest = True  # the first, partial line
            self.inode = st.st_ino
            try:
                return self._read_lines(fh, st.st_size, limit)
            except OSError as exc:
                self.note = f"{self.path.name}: {exc.strerror or exc}: read stopped"
                return b""

    def _read_lines(self, fh: BinaryIO, size: int, limit: int | None) -> bytes:
        out: list[bytes] = []
        end = size if limit is None else min(size, self.offset + limit)
        while self.offset < end:
            self._skip_hole(fh.fileno(), size, end)
            if self.offset >= end:
                break
            back = len(self._seen)
            fh.seek(self.offset - back)
            # never ask for more than the file holds: read(n) allocates n bytes before reading, and
            # a budget-sized buffer on every poll of a live file churned the allocator (RSS creep)
            data = fh.read(back + min(CHUNK, end - self.offset))
            if data[:back] != self._seen:  # rewritten before the offset (same inode, or a reused one)
                self._restart()
                out.clear()
                end = size if limit is None else min(size, limit)
                continue
            data = data[back:]
            if not data:  # shrank while being read: the next call sees it
                break
            self.offset += len(data)
            self._seen = data[-CHECK:] if len(data) >= CHECK else (self._seen + data)[-CHECK:]
            chunk = self._complete_lines(data)
            if chunk:
                out.append(chunk)
        return out[0] if len(out) == 1 else b"".join(out)

    def _skip_hole(self, fd: int, size: int, end: int) -> None:
        """Jump over a hole of a sparse file (NUL bytes never written) longer than ``max_line``: the line
        it is in is garbage and is counted as skipped. Holes are found with ``SEEK_DATA`` (no read)."""
        seek_data = getattr(os, "SEEK_DATA", None)
        if seek_data is None or not self.max_line:
            return
        # the file object is buffered and trusts its own idea of the descriptor's position: put the
        # position back after asking, or its next seek inside the buffer reads from the wrong place
        here = os.lseek(fd, 0, os.SEEK_CUR)
        try:
            data_at = os.lseek(fd, self.offset, seek_data)
        except OSError as exc:
            if exc.errno != errno.ENXIO:  # not supported here: read the bytes
                return
            data_at = size  # a hole up to the end of the file
        finally:
            os.lseek(fd, here, os.SEEK_SET)
        data_at = min(data_at, end)
        if data_at - self.offset <= self.max_line:
            return
        if not self._drop_rest:
            self.skipped += 1
        self.partial = b""
        self._drop_rest = True
        self.offset = data_at
        self._seen = b"\0" * min(CHECK, data_at)

    def _complete_lines(self, data: bytes) -> bytes:
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
