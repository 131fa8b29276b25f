"""`epam-tui report RUN [RUN ...] -o report/`: Markdown + PNG charts (needs matplotlib: the `report` extra)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from epam_tui.core.registry import detect_kind


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam-tui report", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("-o", "--output", default="report", help="output folder (default report/)")
    parser.add_argument("--target", type=float, default=0.90)
    args = parser.parse_args(argv)
    bad = [r for r in args.runs if detect_kind(Path(r)) is None]
    if bad:
        print(f"epam-tui report: not a run directory: {', '.join(bad)}", file=sys.stderr)
        return 2
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("epam-tui report: matplotlib is needed for the charts: pip install 'epam-tui[report]'", file=sys.stderr)
        return 2
    from epam_tui.core.report import write_report

    path = write_report(args.runs, args.output, args.target)
    print(f"wrote {path} and its charts")
    return 0
