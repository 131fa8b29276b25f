"""Atomic file writes that honour the umask (no torch, no av: the TUI can use them too).

A file is written under a temp name beside its target (``.<name>.tmp<pid>``), flushed and fsynced,
given the mode a plain ``open(path, "w")`` would give it (``0o666 & ~umask``), then renamed over the
target, and the directory is fsynced: a reader sees the old file or the new one, never a part, and a
shared server's teammates can read what the umask lets them read (``tempfile.mkstemp`` alone makes
every file 0600). On any error the temp file is removed, and an OSError names the target, not the
temp file.

- ``atomic_write_bytes(path, data)`` / ``atomic_write_text(path, text)``: the whole content at once;
- ``atomic_open(path, "wb")``: a file object to write to (``torch.save``, streaming writers);
- ``atomic_path(path)``: a temp path for writers that open the file themselves (a video muxer);
- ``atomic_link(src, dst)``: ``dst`` becomes the same file as ``src`` (hard link + rename, else an atomic copy);
- ``umask_mode()``: ``0o666 & ~umask``, the mode new files get; ``fsync_dir(path)``.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux ``/proc``)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore (the lock keeps our own threads from racing it)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def umask_mode(base: int = 0o666) -> int:
    """``base & ~umask``: the permission bits a newly created file gets (0o644 under umask 022)."""
    return base & ~current_umask() & 0o7777


def temp_path(path: str | os.PathLike[str]) -> Path:
    """The temp name a write of ``path`` goes through: ``.<name>.tmp<pid>`` in the same directory."""
    path = Path(path)
    return path.with_name(f".{path.name}.tmp{os.getpid()}")


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """fsync a directory (makes a rename in it durable); silently skipped where not supported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _give_umask_mode(tmp: Path) -> None:
    """chmod to ``umask_mode()``; where the filesystem refuses modes (some network/FAT mounts), the
    file keeps the mode it has: the write itself succeeded."""
    try:
        os.chmod(tmp, umask_mode())
    except OSError:
        pass


def _naming_target(exc: OSError, path: Path, tmp: Path) -> OSError | None:
    """An OSError like ``exc`` that names ``path``, when ``exc`` names the temp file or nothing."""
    if exc.errno is None or exc.filename not in (None, str(tmp), os.fsdecode(tmp)):
        return None
    return OSError(exc.errno, exc.strerror, str(path))


def _discard(tmp: Path, path: Path, exc: BaseException) -> OSError | None:
    """After a failed write: remove the temp file (a read-only directory never had one) and return the
    OSError to raise instead of ``exc`` (one naming ``path``), or None to re-raise ``exc`` as it is."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass
    return _naming_target(exc, path, tmp) if isinstance(exc, OSError) else None


@contextmanager
def _replacing(path: Path, fsync: bool) -> Iterator[Path]:
    """The part every atomic writer shares: a fresh temp path (a leftover, or a planted symlink, is
    removed, never written through); when the block ends normally the temp file gets ``umask_mode()`` and
    is renamed over ``path`` (then the directory is fsynced); on any error it is removed and an OSError
    names ``path``, not the temp file."""
    tmp = temp_path(path)
    try:
        tmp.unlink(missing_ok=True)
        yield tmp
        _give_umask_mode(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        if (named := _discard(tmp, path, exc)) is not None:
            raise named from exc
        raise
    if fsync:
        fsync_dir(path.parent)


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, fsync: bool = True) -> Iterator[Path]:
    """Yield the temp path to write ``path``'s new content to; on a normal exit it is fsynced, given
    ``umask_mode()`` and renamed over ``path``; on any error it is removed. The temp file exists,
    empty, when the block starts (a stale one from a killed writer is replaced, never followed)."""
    with _replacing(Path(path), fsync) as tmp:
        with open(tmp, "xb"):
            pass
        yield tmp
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


@contextmanager
def atomic_open(path: str | os.PathLike[str], mode: str = "wb", *, encoding: str | None = None,
                fsync: bool = True) -> Iterator[IO[Any]]:
    """``with atomic_open(path, "wb") as fh: ...``: ``fh`` writes the temp file; the target is replaced
    only when the block ends without an error (see ``atomic_path``). ``mode`` is "w" or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    if "b" not in mode and encoding is None:
        encoding = "utf-8"
    with _replacing(Path(path), fsync) as tmp:
        with open(tmp, mode.replace("w", "x"), encoding=encoding) as fh:
            yield fh
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = True) -> None:
    """Replace ``path``'s content with ``data`` atomically (mode ``umask_mode()``)."""
    with atomic_open(path, "wb", fsync=fsync) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8",
                      fsync: bool = True) -> None:
    """Replace ``path``'s content with ``text`` atomically (mode ``umask_mode()``)."""
    with atomic_open(path, "w", encoding=encoding, fsync=fsync) as fh:
        fh.write(text)


def atomic_link(src: Path, dst: Path) -> None:
    """Make ``dst`` the same file as ``src`` atomically (hard link to a temp name, then rename; where the
    filesystem has no hard links, an atomic copy)."""
    src, dst = Path(src), Path(dst)
    tmp = temp_path(dst)
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        if not src.is_file():
            raise
        with open(src, "rb") as fin, atomic_open(dst, "wb") as fout:  # no hard links on this filesystem
            shutil.copyfileobj(fin, fout, 1 << 20)
        return
    try:
        os.replace(tmp, dst)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(dst.parent)
