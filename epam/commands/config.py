"""`epam config show CONFIG [--set k=v ...] | diff A B | check CONFIG...`: resolved configs on stdout."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from epam.config import ConfigError, diff, dump_config, load_config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="epam config", description="show or compare resolved configs")
    sub = parser.add_subparsers(dest="cmd", required=True)
    show = sub.add_parser("show", help="print the resolved config")
    show.add_argument("config")
    show.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE")
    dif = sub.add_parser("diff", help="print the keys that differ between two configs")
    dif.add_argument("a")
    dif.add_argument("b")
    val = sub.add_parser("check", help="validate configs (exit 2 on any problem)")
    val.add_argument("configs", nargs="+")
    return parser


def _print_diff(a: str, b: str) -> None:
    rows = diff(load_config(a), load_config(b))
    width = max([len(r[0]) for r in rows] + [3])
    print(f"{'key':<{width}}  {Path(a).name}  ->  {Path(b).name}")
    for key, va, vb in rows:
        print(f"{key:<{width}}  {va!r}  ->  {vb!r}")


def _check(paths: list[str]) -> int:
    bad = 0
    for path in paths:
        try:
            load_config(path)
            print(f"{path}: ok")
        except ConfigError as exc:
            bad += 1
            print(str(exc), file=sys.stderr)
    return 2 if bad else 0


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "show":
            sys.stdout.write(dump_config(load_config(args.config, args.overrides)))
        elif args.cmd == "diff":
            _print_diff(args.a, args.b)
        else:
            return _check(args.configs)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0
