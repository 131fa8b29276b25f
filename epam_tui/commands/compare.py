"""`epam-tui compare RUN RUN ... [--json]`: the seed's comparison table and the config diff."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from epam_tui.core.registry import detect_kind, load_run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam-tui compare", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    bad = [r for r in args.runs if detect_kind(Path(r)) is None]
    if bad:
        print(f"epam-tui compare: not a run directory: {', '.join(bad)}", file=sys.stderr)
        return 2
    from epam_tui.core.compare import config_diff, format_table, run_row

    runs = [load_run(r) for r in args.runs]
    rows = [run_row(r) for r in runs]
    diff = config_diff(runs)
    if args.json:
        print(json.dumps({"rows": rows, "config_diff": [[k, v] for k, v in diff]}, default=str))
        return 0
    print(format_table(rows))
    if diff:
        print("\nconfig differences:")
        for key, values in diff:
            print(f"  {key}: " + "  |  ".join(repr(v) for v in values))
    return 0
