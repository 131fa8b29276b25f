"""`epam-tui [monitor] [DIR ...]`: watch every run under the directories (default ./work_dirs)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="epam-tui monitor", description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", default=["work_dirs"], help="run directories or roots (default work_dirs)")
    parser.add_argument("--fake-gpus", type=int, default=None, help="show N scripted fake GPUs (demo, no driver)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between reads of the runs (>= 0.2)")
    args = parser.parse_args(argv)
    if args.fake_gpus:
        os.environ["EPAM_TUI_FAKE_GPUS"] = str(args.fake_gpus)
    from epam_tui.ui.app import EpamTuiApp

    EpamTuiApp([Path(d) for d in args.dirs], poll_interval=max(0.2, args.interval)).run()
    return 0
