"""Log ingest: an N-line MMEngine text log read and parsed by the monitor's parser, vs `grep -c` on the same
file, and the cost of appending (only new bytes are read). Target: >= 1 M lines/s on one core.

Figures (the same file, each path on its own):
- "MMEngine log ingest": what opening the log in a fresh process costs: read + parse + the sorted columns
  the charts read, timed in a new interpreter after `import epam_tui` (so `import numba` and loading the
  compiled scanner from numba's on-disk cache are inside the time). The scanner is compiled once per
  machine; that first-ever compile is reported on its own ("first use on a machine").
- "... compiled scanner, warm": the same in this process once the scanner is loaded.
- "... regex path": the parser without numba (`EPAM_TUI_FAST_INGEST=0`, or numba not installed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from epam_tui.core.sources import parsers  # noqa: E402
from epam_tui.core.sources.parsers import SeriesStore, feed_mmengine  # noqa: E402
from epam_tui.core.tail import Tailer  # noqa: E402

LINE = ("2026/11/25 01:41:42 - mmengine - INFO - Epoch(train)  [{e}][{i:>4}/2505]  lr: 1.5000e-03  eta: 1 day, 2:03:04  "
        "time: 0.4000  data_time: 0.0200  memory: 5120  grad_norm: 3.2100  loss: 4.0950  top1_acc: 0.0000  "
        "top5_acc: 0.0833  loss_cls: 4.0950\n")

# a fresh interpreter: the timer starts after the parser module is imported (numba is not, yet)
FRESH = """
import sys, time
sys.path.insert(0, sys.argv[2])
from epam_tui.core.sources.parsers import SeriesStore, feed_mmengine, _scanner
from epam_tui.core.tail import Tailer
t0 = time.perf_counter()
store = SeriesStore()
feed_mmengine(store, Tailer(sys.argv[1]).read_chunk())
cols = store.columns()
dt = time.perf_counter() - t0
assert len(cols["step"]) == int(sys.argv[3]), len(cols["step"])
print(dt, _scanner() is not None)
"""


def write_log(path: Path, n: int) -> None:
    with open(path, "w") as fh:
        for k in range(n):
            fh.write(LINE.format(e=k // 2505 + 1, i=k % 2505 + 1))


def parse_file(path: Path, n: int) -> float:
    store = SeriesStore()
    t0 = time.perf_counter()
    feed_mmengine(store, Tailer(path).read_chunk())
    cols = store.columns()  # the arrays the charts and checks read
    dt = time.perf_counter() - t0
    assert len(cols["step"]) == n and not np.isnan(cols["loss"]).any()
    return dt


def fresh(path: Path, n: int, env: dict | None = None) -> tuple[float, bool]:
    out = subprocess.run([sys.executable, "-c", FRESH, str(path), str(ROOT), str(n)], capture_output=True,
                         text=True, check=True, env={**os.environ, **(env or {})})
    dt, compiled = out.stdout.split()
    return float(dt), compiled == "True"


def bench(figure: str, value: float, target: str | None, passed: bool | None, unit: str = "lines/s",
          reference: float | None = None) -> None:
    print("BENCH " + json.dumps({"figure": figure, "value": value, "unit": unit, "reference": reference,
                                 "ratio": value / reference if reference else None, "target": target,
                                 "passed": passed}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    n = 100_000 if args.quick else args.lines
    q = " [quick]" if args.quick else ""
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "big.log"
    write_log(path, n)
    mb = path.stat().st_size / 2**20
    t0 = time.perf_counter()
    subprocess.run(["grep", "-c", "Epoch(train)", str(path)], capture_output=True, check=True)
    grep_rate = n / (time.perf_counter() - t0)

    compiled = parsers._scanner() is not None
    if compiled:
        # first use on a machine: an empty numba cache, so the scanner is compiled inside the timed parse
        first, _ = fresh(path, n, {"NUMBA_CACHE_DIR": str(tmp / "numba-cache")})
        parse_file(path, n)  # compiles into (or loads from) the package's own cache
        warm = parse_file(path, n)
    cold, cold_compiled = fresh(path, n)
    saved = parsers._SCANNER[:]
    parsers._SCANNER[:] = [None]
    regex = parse_file(path, n)
    parsers._SCANNER[:] = saved

    store, tail = SeriesStore(), Tailer(path)
    feed_mmengine(store, tail.read_chunk())
    with open(path, "a") as fh:
        fh.write(LINE.format(e=999, i=1) * 100)
    t0 = time.perf_counter()
    feed_mmengine(store, tail.read_chunk())
    append = time.perf_counter() - t0

    path_name = "compiled scanner (numba)" if cold_compiled else "regex path (numba not installed)"
    print(f"{n:,} lines ({mb:.0f} MB), read + parse + sorted columns; grep -c: {grep_rate / 1e6:.2f} M lines/s")
    print(f"  fresh process, {path_name}: {cold:.2f} s = {n / cold / 1e6:.2f} M lines/s")
    if compiled:
        print(f"  compiled scanner, warm: {warm:.2f} s = {n / warm / 1e6:.2f} M lines/s; first use on a machine "
              f"(compile included): {first:.2f} s")
    print(f"  regex path: {regex:.2f} s = {n / regex / 1e6:.2f} M lines/s")
    print(f"  appending 100 lines then reading: {1000 * append:.2f} ms")
    bench(f"MMEngine log ingest, fresh process{q}", n / cold, ">= 1e6 lines/s", n / cold >= 1e6,
          reference=grep_rate)
    if compiled:
        bench(f"MMEngine log ingest, compiled scanner warm{q}", n / warm, ">= 1e6 lines/s", n / warm >= 1e6,
              reference=grep_rate)
        bench(f"MMEngine log ingest, first use on a machine (numba compile){q}", first, None, None, unit="s")
    bench(f"MMEngine log ingest, regex path{q}", n / regex, None, None, reference=grep_rate)
    bench("append 100 lines to a big log, read+parse", 1000 * append, "O(new bytes)", None, unit="ms")
    path.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
