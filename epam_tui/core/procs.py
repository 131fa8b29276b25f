"""Processes: is a recorded pid still our process (pid + create time), its tree's CPU, a file's tail."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import psutil

from epam_tui.core.tail import read_bounded


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


def record_alive(rec: Mapping[str, Any] | None) -> bool:
    """Whether the process a record names still runs: its ``pid`` + ``create_time`` (run.json: the
    launcher's wrapper; status.json: the trainer)."""
    if not rec or not rec.get("pid"):
        return False
    try:
        pid = int(rec["pid"])
    except (TypeError, ValueError):
        return False
    return is_alive(pid, rec.get("create_time"))


class TreeSampler:
    """CPU and memory of a process and its descendants (a run: torchrun, its workers, loader workers).

    psutil's ``cpu_percent`` is measured between two calls on the *same* ``Process`` object, so the
    objects are kept across samples (keyed by pid and create time; a reused pid is a new process).
    The first sample of a process counts 0 %; call about every 2 s."""

    def __init__(self) -> None:
        self._procs: dict[tuple[int, float], psutil.Process] = {}

    def sample(self, pid: int | None) -> tuple[float, int, int] | None:
        """(CPU percent summed over the tree, RSS bytes summed, process count), None when ``pid`` is gone."""
        if not pid:
            return None
        try:
            root = psutil.Process(int(pid))
            tree = [root] + root.children(recursive=True)
        except (psutil.Error, ValueError):
            return None
        cpu, rss, alive = 0.0, 0, {}
        for proc in tree:
            try:
                key = (proc.pid, proc.create_time())
                known = self._procs.get(key, proc)
                with known.oneshot():
                    cpu += known.cpu_percent(None)
                    rss += known.memory_info().rss
                alive[key] = known
            except psutil.Error:
                continue
        self._procs = alive  # forget processes that ended
        return cpu, rss, len(alive)


def tail_lines(path: str | Path, n: int = 20, max_bytes: int = 65536) -> list[str]:
    """The last ``n`` lines of a text file (decoding errors replaced; [] when missing or not a regular
    file: a FIFO or ``/dev/zero`` is never read)."""
    data = read_bounded(path, max_bytes, tail=True).data
    return list(deque(data.decode("utf-8", "replace").splitlines(), maxlen=n))
