"""`epam-tui checklist RUN [--json] [--target 0.9] [--verify]`: the checklist verdicts; exit 1 if any fails.

``--json`` prints ``{"run", "kind", "state", "reason", "device", "config", "table", "items"}``: the run's
state, where it trains, where its config was read, the seed's table row (``compare.run_row``: train and
val accuracy, gap, convergence epoch, ...) and every item (``CheckResult.to_dict``, with ``values``).
``--verify`` first runs ``epam verify`` on the run's config (in a subprocess) and records the result
in the run's ``checklist.yaml``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from epam_tui.core.compare import cell
from epam_tui.core.registry import detect_kind
from epam_tui.core.rundir import CONFIG_YAML

MARK = {"pass": "PASS", "fail": "FAIL", "pending": "....", "unknown": " ?? "}
TABLE = (("train acc", "final_train"), ("val acc", "final_val"), ("gap", "gap"), ("best val", "best_val"),
         ("convergence epoch", "convergence"))
PHASES = (("before", "Before training"), ("during", "During training"), ("after", "After training"))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam-tui checklist", description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--target", type=float, default=0.90, help="val top-1 target as a fraction (default 0.90)")
    parser.add_argument("--verify", action="store_true", help="run `epam verify` on the run's config and record it")
    args = parser.parse_args(argv)
    if detect_kind(Path(args.run)) is None:
        print(f"epam-tui checklist: {args.run}: not a run directory (expected scalars.jsonl or train.log)", file=sys.stderr)
        return 2
    from epam_tui.core.checks import evaluate

    if args.verify:
        from epam_tui.core.checklist_store import record
        from epam_tui.core.checks import run_verify

        config = Path(args.run) / CONFIG_YAML
        if not config.exists():
            print(f"epam-tui checklist: {config} not found; cannot run epam verify", file=sys.stderr)
            return 2
        print(f"running epam verify {config} ...", file=sys.stderr)
        record(args.run, "verify", run_verify(config))
    from epam_tui.core.compare import run_row
    from epam_tui.core.registry import load_run
    from epam_tui.core.runfacts import run_config

    results = evaluate(args.run, args.target)
    run = load_run(args.run)
    for note in run.notes:  # files not read: a FIFO, a device, an oversized config
        print(f"epam-tui checklist: note: {note}", file=sys.stderr)
    row = run_row(run)
    if args.json:
        print(json.dumps({"run": str(run.path), "kind": run.kind, "state": run.state, "reason": run.reason,
                          "device": run.device, "config": run_config(run).origin, "table": row,
                          "items": [r.to_dict() for r in results]}, indent=1, default=str))
    else:
        print(f"checklist for {args.run} ({run.kind} run, {run.state}{', ' + run.reason if run.reason else ''})")
        print("  " + "; ".join(f"{name} {cell(key, row.get(key))}" for name, key in TABLE))
        for phase, title in PHASES:
            print(f"\n{title}")
            for r in (r for r in results if r.phase == phase):
                manual = ""
                if r.manual:
                    manual = f"  [ticked{': ' + r.manual['note'] if r.manual.get('note') else ''}]" if r.manual.get("tick") \
                        else (f"  [note: {r.manual['note']}]" if r.manual.get("note") else "")
                print(f"  [{MARK[r.effective]}] {r.title}: {r.evidence}{manual}")
        counts = {v: sum(r.effective == v for r in results) for v in MARK}
        print(f"\n{counts['pass']} pass, {counts['fail']} fail, {counts['pending']} pending, {counts['unknown']} unknown")
    return 1 if any(r.effective == "fail" for r in results) else 0
