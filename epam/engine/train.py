"""`epam train CONFIG [--work-dir DIR] [--set k=v ...] [--resume auto|PATH]` (also `python -m epam.train`,
which is what torchrun runs).

Exit codes: 0 finished; 2 bad config, missing data or an unusable checkpoint/work dir (one line on
stderr naming the cause and the fix); 3 non-finite loss for ``train.nan_patience`` iterations in a
row; 130 / 143 stopped by SIGINT / SIGTERM (``latest.pth`` written; continue with ``--resume auto``);
1 anything else (status.json says ``failed`` with the reason; unexpected errors keep their traceback;
a full or read-only disk mid-run is one stderr line naming the file, the cause and what to do, and when
status.json itself cannot be written it keeps its last state: the monitor sees the process gone).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from pathlib import Path

from epam.rundir import CHECKPOINTS

EXIT_BAD_INPUT = 2


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


def _rank0() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _fail(message: str, code: int) -> int:
    if _rank0():
        print(f"epam train: {message}", file=sys.stderr)
    return code


def resolve_work_dir(args: argparse.Namespace, cfg: dict) -> Path:
    """--work-dir, else the config's work_dir, else work_dirs/<config stem>."""
    return Path(args.work_dir or cfg.get("work_dir") or Path("work_dirs") / Path(args.config).stem)


def _check_writable(work_dir: Path) -> str | None:
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
        if _rank0():
            print(str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    work_dir = resolve_work_dir(args, cfg)
    cfg["work_dir"] = str(work_dir)
    if _rank0() and (problem := _check_writable(work_dir)):
        return _fail(problem, EXIT_BAD_INPUT)
    return _run(cfg, work_dir, args.resume)


def _run(cfg: dict, work_dir: Path, resume: str | None) -> int:
    import torch

    from epam.data import DataError
    from epam.engine.distributed import shutdown
    from epam.engine.trainer import Trainer, TrainingError
    from epam.model.checkpoint import CheckpointError

    trainer = None
    try:
        trainer = Trainer(cfg, work_dir, resume=resume)
        return trainer.fit()
    except (DataError, TrainingError, CheckpointError) as exc:
        _mark_failed(trainer, work_dir, str(exc))
        return _fail(str(exc), EXIT_BAD_INPUT)
    except KeyboardInterrupt:  # Ctrl-C before the loop installed its handler
        _mark_failed(trainer, work_dir, "interrupted during start-up", state="stopped")
        return _fail("interrupted during start-up; nothing to resume yet", 130)
    except torch.OutOfMemoryError:
        reason = "CUDA out of memory; lower data.batch_per_gpu (and scale optimizer.lr) or enable train.amp"
        _mark_failed(trainer, work_dir, reason)
        return _fail(reason, 1)
    except OSError as exc:
        reason = io_error_reason(exc, work_dir)
        _mark_failed(trainer, work_dir, reason)
        return _fail(reason, 1)
    except Exception as exc:  # unexpected: record it for the TUI, keep the traceback for the developer
        _mark_failed(trainer, work_dir, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        shutdown()


def io_error_reason(exc: OSError, work_dir: Path) -> str:
    """One line for a failed read or write: what, why, and what to do next."""
    what = f" writing {exc.filename}" if exc.filename else ""
    try:
        resumable = (work_dir / CHECKPOINTS / "latest.pth").is_file()
    except OSError:
        resumable = False
    then = ("then continue with --resume auto (checkpoints/latest.pth, the last complete checkpoint, is intact)"
            if resumable else "then start the run again")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full{what} ({exc.strerror}); free space on the disk of {work_dir}, {then}"
    if exc.errno == errno.EROFS:
        return f"read-only file system{what}; make {work_dir} writable or choose another --work-dir, {then}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"permission denied{what}; make {work_dir} writable or choose another --work-dir, {then}"
    return f"I/O error{what}: {exc.strerror or exc} (disk full or read-only? check {work_dir}), {then}"


def _mark_failed(trainer, work_dir: Path, reason: str, state: str = "failed") -> None:
    """Best effort: record the failure in status.json (rank 0)."""
    if not _rank0():
        return
    try:
        if trainer is not None and trainer.log is not None:
            trainer.log.update_status(state=state, exit_reason=reason)
            return
        from epam.rundir import STATUS_JSON, write_json

        path = work_dir / STATUS_JSON
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            status = {}
        status.update(state=state, exit_reason=reason, pid=os.getpid(), updated=time.time())
        write_json(path, status)
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
