"""Diagnostic wrapper (soak.py --trace): runs the monitor as `python -m epam_tui.cli ...` with tracemalloc
started at START seconds (none if START < 0) and, every EVERY seconds from FIRST on, a snapshot dumped to
OUT/snap-<seconds>.bin and the fill of every functools.lru_cache and Textual LRU/FIFO cache in the process
to OUT/caches-<seconds>.json. Compare two dumps with `python benchmarks/_soak_trace.py --compare A B`
(snapshots) or `--caches A B` (cache fills).

    python benchmarks/_soak_trace.py START FIRST EVERY OUT -- monitor <runs>
"""

from __future__ import annotations

import functools
import gc
import json
import runpy
import sys
import threading
import time
import tracemalloc
from pathlib import Path


def snapshots(start: float, first: float, every: float, out: Path) -> None:
    t0 = time.monotonic()
    if start >= 0:
        time.sleep(start)
        tracemalloc.start(10)
    at = first
    while True:
        time.sleep(max(0.0, at - (time.monotonic() - t0)))
        (out / f"caches-{int(at):05d}.json").write_text(json.dumps(cache_fill()))
        if tracemalloc.is_tracing():
            snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            snap.dump(str(out / f"snap-{int(at):05d}.bin"))
        at += every


def cache_fill() -> dict[str, list[int]]:
    """{cache: [entries, maxsize]}: functools caches by qualified name; Textual's LRU/FIFO caches summed
    by class and maxsize (their owners are not recorded)."""
    from textual.cache import FIFOCache, LRUCache

    fill: dict[str, list[int]] = {}
    for obj in gc.get_objects():
        if isinstance(obj, functools._lru_cache_wrapper):
            info = obj.cache_info()
            name = f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', '?')}"
            fill[name] = [info.currsize, info.maxsize or -1]
        elif isinstance(obj, (LRUCache, FIFOCache)):
            name = f"{type(obj).__name__}({obj._maxsize})"
            entry = fill.setdefault(name, [0, 0])
            entry[0] += len(obj)
            entry[1] += obj._maxsize
    return fill


def compare_caches(a: str, b: str) -> None:
    before, after = json.loads(Path(a).read_text()), json.loads(Path(b).read_text())
    rows = [(after[k][0] - before.get(k, [0])[0], k, after[k]) for k in after]
    for diff, name, (size, maxsize) in sorted(rows, reverse=True)[:30]:
        if diff:
            print(f"  {diff:+7d} -> {size:6d} / {maxsize:6d}  {name}")


def compare(a: str, b: str) -> None:
    from _memory_variants import report_growth  # this folder is on sys.path when run as a script

    report_growth(tracemalloc.Snapshot.load(a), tracemalloc.Snapshot.load(b), top=25)


def main() -> None:
    if sys.argv[1] in ("--compare", "--caches"):
        (compare if sys.argv[1] == "--compare" else compare_caches)(sys.argv[2], sys.argv[3])
        return
    start, first, every, out = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
    out.mkdir(parents=True, exist_ok=True)
    threading.Thread(target=snapshots, args=(start, first, every, out), daemon=True).start()
    sys.argv = ["epam_tui.cli", *sys.argv[sys.argv.index("--") + 1:]]
    runpy.run_module("epam_tui.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
