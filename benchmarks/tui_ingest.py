"""Log ingest: an N-line MMEngine text log parsed by the monitor's parser, vs `grep -c` on the same file,
and the cost of appending (only new bytes are read). Target: >= 1 M lines/s on one core."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from epam_tui.core.sources.parsers import SeriesStore, feed_mmengine  # noqa: E402
from epam_tui.core.tail import Tailer  # noqa: E402

LINE = ("2026/11/25 01:41:42 - mmengine - INFO - Epoch(train)  [{e}][{i:>4}/2505]  lr: 1.5000e-03  eta: 1 day, 2:03:04  "
        "time: 0.4000  data_time: 0.0200  memory: 5120  grad_norm: 3.2100  loss: 4.0950  top1_acc: 0.0000  "
        "top5_acc: 0.0833  loss_cls: 4.0950\n")


def write_log(path: Path, n: int) -> None:
    with open(path, "w") as fh:
        for k in range(n):
            fh.write(LINE.format(e=k // 2505 + 1, i=k % 2505 + 1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    n = 100_000 if args.quick else args.lines
    path = Path(tempfile.mkdtemp()) / "big.log"
    write_log(path, n)
    t0 = time.perf_counter()
    subprocess.run(["grep", "-c", "Epoch(train)", str(path)], capture_output=True, check=True)
    grep = time.perf_counter() - t0
    store, tail = SeriesStore(), Tailer(path)
    t0 = time.perf_counter()
    feed_mmengine(store, tail.read_chunk())
    cols = store.columns()  # the arrays the charts and checks read
    ours = time.perf_counter() - t0
    assert len(cols["step"]) == n and not np.isnan(cols["loss"]).any()
    with open(path, "a") as fh:
        fh.write(LINE.format(e=999, i=1) * 100)
    t0 = time.perf_counter()
    feed_mmengine(store, tail.read_chunk())
    append = time.perf_counter() - t0
    rate = n / ours
    print(f"{n:,} lines ({path.stat().st_size / 2**20:.0f} MB): parsed in {ours:.2f} s = {rate / 1e6:.2f} M lines/s; "
          f"grep -c {grep:.3f} s; appending 100 lines then reading: {1000 * append:.2f} ms")
    print("BENCH " + json.dumps({"figure": "MMEngine log ingest" + (" [quick]" if args.quick else ""), "value": rate,
                                 "unit": "lines/s", "reference": n / grep, "ratio": rate / (n / grep),
                                 "target": ">= 1e6 lines/s", "passed": rate >= 1e6}))
    print("BENCH " + json.dumps({"figure": "append 100 lines to a big log, read+parse", "value": 1000 * append,
                                 "unit": "ms", "reference": None, "ratio": None, "target": "O(new bytes)", "passed": None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
