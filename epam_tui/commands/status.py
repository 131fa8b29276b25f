"""`epam-tui status [DIR ...] [--json]`: one line per run, without a TTY."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from epam_tui.core.registry import discover, fmt_eta, load_run
from epam_tui.core.runstate import SHOW_REASON


def fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam-tui status", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", default=["work_dirs"], help="run directories or roots (default work_dirs)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    runs = [load_run(p) for p in discover([Path(d) for d in args.dirs])]
    if args.json:
        print(json.dumps([r.summary() for r in runs], indent=1))
        return 0
    if not runs:
        print(f"no runs under {', '.join(args.dirs)} (launch one with `epam-tui launch CONFIG`)", file=sys.stderr)
        return 0
    print(f"{'run':<28} {'kind':<13} {'state':<10} {'epoch':>7} {'step':>13} {'loss':>8} {'best top1':>9} {'eta':>9}  device")
    for r in runs:
        s = r.summary()
        epoch = f"{s['epoch']}/{s['max_epochs'] or '?'}"
        step = f"{s['step']}/{s['total_steps'] or '?'}"
        loss = "-" if s["loss"] is None else f"{s['loss']:.4f}"
        print(f"{s['name'][:28]:<28} {s['kind']:<13} {s['state']:<10} {epoch:>7} {step:>13} {loss:>8} "
              f"{fmt_pct(s['best_top1']):>9} {fmt_eta(s['eta_s']):>9}  {s['device'] or s['gpus']}"
              + (f"  ({s['reason']})" if s["reason"] and s["state"] in SHOW_REASON else ""))
        for note in s["notes"]:  # files not read: a FIFO, a device, an oversized config
            print(f"{'':<28} note: {note}")
    return 0
