"""`epam train CONFIG [--work-dir DIR] [--set k=v ...] [--resume auto|PATH]` (also `python -m epam.train`,
which is what torchrun runs). Exit codes: 0 finished, 2 bad config/data, 3 non-finite loss,
130/143 stopped by SIGINT/SIGTERM (latest.pth written; continue with --resume auto), 1 other errors."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="epam train", description="train EPAM-Net from a config")
    parser.add_argument("config")
    parser.add_argument("--work-dir", default=None, help="run directory (default: work_dir from the config, "
                        "else work_dirs/<config name>)")
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="KEY=VALUE")
    parser.add_argument("--resume", default=None, metavar="auto|PATH",
                        help="continue from work_dir/checkpoints/latest.pth (auto) or a checkpoint path")
    return parser.parse_args(argv)


def _fail(message: str, code: int) -> int:
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"epam train: {message}", file=sys.stderr)
    return code


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    from epam.config import ConfigError, load_config

    try:
        cfg = load_config(args.config, args.overrides)
    except ConfigError as exc:
        if int(os.environ.get("RANK", "0")) == 0:
            print(str(exc), file=sys.stderr)
        return 2
    work_dir = Path(args.work_dir or cfg.get("work_dir") or Path("work_dirs") / Path(args.config).stem)
    cfg["work_dir"] = str(work_dir)
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        probe = work_dir / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return _fail(f"{work_dir}: work dir is not writable ({exc.strerror}); choose another with --work-dir", 2)

    from epam.data import DataError
    from epam.engine.trainer import Trainer, TrainingError
    from epam.model.checkpoint import CheckpointError

    trainer = None
    try:
        trainer = Trainer(cfg, work_dir, resume=args.resume)
        return trainer.fit()
    except (DataError, TrainingError, CheckpointError) as exc:
        _mark_failed(trainer, work_dir, str(exc))
        return _fail(str(exc), 2)
    except OSError as exc:
        _mark_failed(trainer, work_dir, f"{exc}")
        return _fail(f"I/O error: {exc} (disk full or read-only? check {work_dir})", 1)
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()


def _mark_failed(trainer, work_dir: Path, reason: str) -> None:
    """Best effort: record the failure in status.json (rank 0)."""
    if int(os.environ.get("RANK", "0")) != 0:
        return
    try:
        if trainer is not None and trainer.log is not None:
            trainer.log.update_status(state="failed", exit_reason=reason)
        else:
            import json
            import time

            from epam.engine.runlog import atomic_write_text

            atomic_write_text(work_dir / "status.json", json.dumps(
                {"state": "failed", "exit_reason": reason, "pid": os.getpid(), "updated": time.time()}))
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
