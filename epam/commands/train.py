"""`epam train CONFIG [--work-dir DIR] [--set k=v ...] [--resume auto|PATH]` (also `python -m epam.train`,
which is what torchrun runs).

The run itself and its exit codes are ``epam.engine.train.run``; this module parses the arguments,
loads the config, checks the work dir takes writes, and prints the one failure line on rank 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from epam.engine.train import EXIT_BAD_INPUT, is_rank0, run


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="epam train", description="train EPAM-Net from a config "
                                     "(single process, or one process per GPU under torchrun)")
    parser.add_argument("config", help="YAML config, e.g. configs/epam_synthetic_demo.yaml")
    parser.add_argument("--work-dir", default=None, help="run directory (default: work_dir from the config, "
                        "else work_dirs/<config name>)")
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override config values, e.g. --set train.max_epochs=2 optimizer.lr=0.01")
    parser.add_argument("--resume", default=None, metavar="auto|PATH",
                        help="continue from WORK_DIR/checkpoints/latest.pth (auto; from scratch if absent) "
                             "or from a checkpoint path")
    return parser.parse_args(argv)


def _fail(message: str, code: int) -> int:
    if is_rank0():
        print(f"epam train: {message}", file=sys.stderr)
    return code


def resolve_work_dir(args: argparse.Namespace, cfg: dict) -> Path:
    """--work-dir, else the config's work_dir, else work_dirs/<config stem>."""
    return Path(args.work_dir or cfg.get("work_dir") or Path("work_dirs") / Path(args.config).stem)


def check_writable(work_dir: Path) -> str | None:
    """None when ``work_dir`` (created if missing) takes a file, else the one line naming the fix."""
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        probe = work_dir / f".write_test{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return f"{work_dir}: work dir is not writable ({exc.strerror}); choose another with --work-dir"
    return None


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from epam.config import ConfigError, load_config

    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        if is_rank0():
            print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    work_dir = resolve_work_dir(args, cfg)
    cfg["work_dir"] = str(work_dir)
    if is_rank0() and (problem := check_writable(work_dir)):
        return _fail(problem, EXIT_BAD_INPUT)
    result = run(cfg, work_dir, args.resume)
    return result.code if result.message is None else _fail(result.message, result.code)
