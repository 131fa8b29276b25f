"""Run every benchmark in this folder in one process tree and print one table.

Each benchmark script prints, besides its own report, one line per figure:

    BENCH {"figure": "...", "value": 1.23, "unit": "ms", "reference": 4.5, "ratio": 3.6,
           "target": ">= 2x", "passed": true}

``reference`` is the figure measured in the same run for comparison (a bare Textual app, the
straightforward heatmap loop, ``grep -c`` on the same log, the 3D model formulation), ``ratio``
compares value and reference, ``passed`` says whether the target was met (null when there is none).

    python benchmarks/run_all.py            # full figures (minutes)
    python benchmarks/run_all.py --quick    # small sizes, seconds each: what CI runs
                                            # (soak.py: 30 min in full mode, 1 min with --quick)

Not part of the test suite's pass/fail (machines are noisy): the exit code is 0 unless a
benchmark crashed; ``--strict`` also fails on a missed target.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Scripts that run for a fixed wall time: their own timeout (s) in full mode. soak.py runs 30 minutes
# in full mode; its --quick form is 1 minute in all (about 62 s), so it stays in the --quick set.
LONG_RUNNING = {"soak": 40 * 60.0}


def _scripts() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if p.name not in {"run_all.py", "__init__.py"} and not p.name.startswith("_"))


def _run(script: Path, quick: bool, timeout: float) -> tuple[list[dict], str | None, float]:
    argv = [sys.executable, str(script)] + (["--quick"] if quick else [])
    start = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=HERE.parent)
    except subprocess.TimeoutExpired:
        return [], f"timed out after {timeout:.0f} s", time.perf_counter() - start
    rows = []
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH "):
            try:
                rows.append(json.loads(line[6:]))
            except json.JSONDecodeError:
                pass
    error = None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        error = f"exit {proc.returncode}: {tail[0]}"
    elif not rows:
        error = "printed no BENCH line"
    return rows, error, time.perf_counter() - start


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (CI)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--only", nargs="*", default=None, help="script names to run (without .py)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per script")
    parser.add_argument("--json", dest="json_out", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    table: list[dict] = []
    crashed = 0
    for script in _scripts():
        if args.only is not None and script.stem not in args.only:
            continue
        print(f"... {script.name}", file=sys.stderr, flush=True)
        timeout = args.timeout if args.quick else max(args.timeout, LONG_RUNNING.get(script.stem, 0.0))
        rows, error, seconds = _run(script, args.quick, timeout)
        for row in rows:
            row["script"] = script.stem
            table.append(row)
        if error:
            crashed += 1
            table.append({"script": script.stem, "figure": "(benchmark)", "value": None, "passed": None, "error": error})
        print(f"    {script.name}: {seconds:.1f} s{' - ' + error if error else ''}", file=sys.stderr, flush=True)

    headers = ["script", "figure", "value", "unit", "reference", "ratio", "target", "result"]
    lines = []
    for row in table:
        result = {True: "pass", False: "FAIL", None: "-"}[row.get("passed")]
        if row.get("error"):
            result = "ERROR " + row["error"]
        lines.append([row.get("script"), row.get("figure"), _fmt(row.get("value")), row.get("unit") or "",
                      _fmt(row.get("reference")), _fmt(row.get("ratio")), row.get("target") or "-", result])
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *lines)] if lines else [len(h) for h in headers]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for line in lines:
        print("  ".join(str(x).ljust(w) for x, w in zip(line, widths)))
    missed = sum(1 for row in table if row.get("passed") is False)
    print(f"\n{len(table)} figures, {missed} missed targets, {crashed} benchmark errors"
          f"{' (quick mode: small sizes, targets indicative only)' if args.quick else ''}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(table, indent=1))
    return 1 if crashed or (args.strict and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
