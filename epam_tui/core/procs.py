"""Processes: is a recorded pid still our process (pid + create time), its tree's CPU, a file's tail."""

from __future__ import annotations

from collections import deque
from pathlib import Path

import psutil


def is_alive(pid: int | None, create_time: float | None = None) -> bool:
    """True when ``pid`` runs and, if ``create_time`` is known, was created then (within 1 s):
    a reused pid of another process is not ours."""
    if not pid or pid <= 0:
        return False
    try:
        proc = psutil.Process(int(pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - float(create_time)) <= 1.0
    except (psutil.Error, ValueError, OSError):
        return False


def process_tree_cpu(pid: int | None, interval: float | None = None) -> float:
    """CPU percent of ``pid`` and its descendants since the previous call (0.0 when gone)."""
    if not pid:
        return 0.0
    try:
        root = psutil.Process(int(pid))
        procs = [root] + root.children(recursive=True)
    except (psutil.Error, ValueError):
        return 0.0
    total = 0.0
    for proc in procs:
        try:
            total += proc.cpu_percent(interval)
        except psutil.Error:
            continue
    return total


def tail_lines(path: str | Path, n: int = 20, max_bytes: int = 65536) -> list[str]:
    """The last ``n`` lines of a text file (decoding errors replaced; [] when missing)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            data = fh.read()
    except OSError:
        return []
    return list(deque(data.decode("utf-8", "replace").splitlines(), maxlen=n))
