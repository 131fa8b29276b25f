"""Diagnostic wrapper (soak.py --trace): runs the monitor as `python -m epam_tui.cli ...` with tracemalloc
started at START seconds (none if START < 0) and, every EVERY seconds from FIRST on, a snapshot dumped to
OUT/snap-<seconds>.bin and the fill of every functools.lru_cache and Textual LRU/FIFO cache in the process
to OUT/caches-<seconds>.json. Compare two dumps with `python tools/diagnostics/soak_trace.py --compare A B`
(snapshots) or `--caches A B` (cache fills).

    python tools/diagnostics/soak_trace.py START FIRST EVERY OUT -- monitor <runs>
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
        (out / f"holders-{int(at):05d}.txt").write_text(holders())
        (out / f"styles-{int(at):05d}.txt").write_text(
            f"{len(NEW_STYLES)} styles rendered to ANSI so far; the last 40 new ones (s after start, style):\n"
            + "".join(f"  {t - t0:7.1f}  {style!r}\n" for t, style in NEW_STYLES[-40:]))
        if tracemalloc.is_tracing():
            snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
            snap.dump(str(out / f"snap-{int(at):05d}.bin"))
        at += every


NEW_STYLES: list[tuple[float, object]] = []  # (monotonic time, style): each style Strip.render_ansi saw first


def record_new_styles() -> None:
    """Wrap Textual's Strip.render_ansi (an lru_cache of 16,384 styles -> SGR codes) so each style it has
    not seen is recorded: a style new every few seconds is a cache that fills for hours."""
    from functools import lru_cache

    from textual.strip import Strip

    real = Strip.render_ansi.__func__.__wrapped__

    def render_ansi(cls, style, color_system):
        NEW_STYLES.append((time.monotonic(), style))
        return real(cls, style, color_system)

    Strip.render_ansi = classmethod(lru_cache(maxsize=16384)(render_ansi))


def _describe(holder, child) -> str:
    """One hop of a reference chain: the holder's type, and for a dict or an object's __dict__ the key."""
    if isinstance(holder, dict):
        for key, value in holder.items():
            if value is child:
                return f"dict[{key!r:.40}]" if isinstance(key, str) else "dict[value]"
        return "dict[key]"
    return type(holder).__qualname__


def holders(kinds: tuple[str, ...] = ("Strip", "Content", "Segment"), depth: int = 7, show: int = 25) -> str:
    """What keeps the live objects of ``kinds`` alive: for each, the chain of first referrers up to
    ``depth`` hops (found with one pass over gc.get_objects per hop), counted by chain."""
    from collections import Counter

    gc.collect()
    objs = gc.get_objects()
    report = []
    for kind in kinds:
        live = [o for o in objs if type(o).__name__ == kind]
        if kind == "Segment":  # a namedtuple: not gc-tracked when it holds only atoms; count what is
            report.append(f"{kind}: {len(live)} tracked")
            continue
        chains: dict[int, list[str]] = {id(o): [] for o in live}
        frontier = {id(o): [id(o)] for o in live}  # id of the object at a chain's end -> ids of the chains' starts
        for _ in range(depth):
            found: dict[int, list[int]] = {}
            for holder in objs:
                if holder is objs or holder is live or holder is frontier:
                    continue
                for ref in gc.get_referents(holder):
                    starts = frontier.pop(id(ref), None)  # the first referrer found continues the chain
                    if starts:
                        for start in starts:
                            chains[start].append(_describe(holder, ref))
                        found.setdefault(id(holder), []).extend(starts)
            frontier = found
            if not frontier:
                break
        counts = Counter(" <- ".join(c) or "(no referrer)" for c in chains.values())
        report.append(f"{kind}: {len(live)} live")
        report += [f"  {n:6d}  {chain}" for chain, n in counts.most_common(show)]
    del objs
    return "\n".join(report) + "\n"


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
    from memory_variants import report_growth  # this folder is on sys.path when run as a script

    report_growth(tracemalloc.Snapshot.load(a), tracemalloc.Snapshot.load(b), top=25)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return
    if sys.argv[1] in ("--compare", "--caches"):
        (compare if sys.argv[1] == "--compare" else compare_caches)(sys.argv[2], sys.argv[3])
        return
    start, first, every, out = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), Path(sys.argv[4])
    out.mkdir(parents=True, exist_ok=True)
    record_new_styles()
    threading.Thread(target=snapshots, args=(start, first, every, out), daemon=True).start()
    sys.argv = ["epam_tui.cli", *sys.argv[sys.argv.index("--") + 1:]]
    runpy.run_module("epam_tui.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
