"""`epam-tui diagnose RUN [--json] [--target 0.9]`: diagnoses of a run and their remedies, relative to its recipe.

Each remedy is shown as the config keys it changes (before -> after, against the run's own config);
launch one from the checklist screen (d, then l l), which writes it as a child config of the run's
``config.yaml`` under ``RUN/remedies/``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from epam_tui.core.registry import detect_kind


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam-tui diagnose", description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--target", type=float, default=0.90, help="val top-1 target as a fraction (default 0.90)")
    args = parser.parse_args(argv)
    if detect_kind(Path(args.run)) is None:
        print(f"epam-tui diagnose: {args.run}: not a run directory (expected scalars.jsonl or train.log)", file=sys.stderr)
        return 2
    from epam_tui.core.diagnose import diagnose, remedy_changes
    from epam_tui.core.registry import load_run
    from epam_tui.core.runfacts import run_config

    run = load_run(args.run)
    source = run_config(run)
    found = diagnose(run, args.target)
    if args.json:
        print(json.dumps({"run": str(run.path), "config": source.origin, "diagnoses": [
            {"kind": d.kind, "evidence": d.evidence, "remedies": [
                {"name": m.name, "description": m.description, "overrides": m.overrides,
                 "changes": [list(c) for c in remedy_changes(source.config, m)]} for m in d.remedies]}
            for d in found]}, indent=1, default=str))
        return 0
    print(f"diagnosis of {args.run} (recipe from {source.origin})")
    if not found:
        print("nothing to diagnose")
        return 0
    for d in found:
        print(f"\n{d.kind}: {d.evidence}")
        for m in d.remedies:
            print(f"  remedy {m.name}: {m.description}")
            for key, before, after in remedy_changes(source.config, m):
                print(f"    {key}: {before} -> {after}")
    return 0
