"""`epam-tui export RUN --csv|--json [-o FILE]`: the parsed series at full resolution."""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path

from epam_tui.core.registry import detect_kind, load_run


def _clean(value: float) -> float | None:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam-tui export", description=__doc__.splitlines()[0])
    parser.add_argument("run")
    fmt = parser.add_mutually_exclusive_group(required=True)
    fmt.add_argument("--csv", action="store_true", help="train series by step as CSV")
    fmt.add_argument("--json", action="store_true", help="train, val and train-epoch series as JSON")
    parser.add_argument("-o", "--output", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    if detect_kind(Path(args.run)) is None:
        print(f"epam-tui export: {args.run}: not a run directory (expected scalars.jsonl, train.log or an MMEngine "
              "work_dir)", file=sys.stderr)
        return 2
    run = load_run(args.run)
    train = run.store.columns()
    if args.csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        keys = list(train)
        writer.writerow(keys)
        for i in range(len(train["step"])):
            writer.writerow(["" if isinstance(train[k][i], float) and math.isnan(train[k][i]) else train[k][i].item()
                             for k in keys])
        text = buf.getvalue()
    else:
        doc = {"run": run.summary()}
        for name, cols in (("train", train), ("val", run.store.epoch_columns("val")),
                           ("train_epoch", run.store.epoch_columns("train_epoch"))):
            doc[name] = {k: [_clean(x.item()) for x in v] for k, v in cols.items()}
        text = json.dumps(doc)
    if args.output:
        Path(args.output).write_text(text)
    else:
        sys.stdout.write(text)
    return 0
