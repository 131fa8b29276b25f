"""One training run from a resolved config: ``run(cfg, work_dir, resume) -> TrainResult``, the exit
code and the one line to print, for `epam train` (``epam.commands.train``, also `python -m epam.train`,
which is what torchrun runs).

Exit codes: 0 finished; 2 bad config, missing data or an unusable checkpoint/work dir (one line on
stderr naming the cause and the fix); 3 non-finite loss for ``train.nan_patience`` iterations in a
row; 130 / 143 stopped by SIGINT / SIGTERM (``latest.pth`` written; continue with ``--resume auto``);
1 anything else (status.json says ``failed`` with the reason; unexpected errors keep their traceback;
a full or read-only disk mid-run is one stderr line naming the file, the cause and what to do, and when
status.json itself cannot be written it keeps its last state: the monitor sees the process gone).
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import NamedTuple

from epam.rundir import CHECKPOINTS

EXIT_BAD_INPUT = 2


class TrainResult(NamedTuple):
    """How a run ended: the exit code and, for a failure, the one line naming the cause and the fix."""

    code: int
    message: str | None = None


def is_rank0() -> bool:
    """Whether this process is rank 0 (or not under torchrun): the one that reports and records."""
    return int(os.environ.get("RANK", "0")) == 0


def run(cfg: dict, work_dir: Path, resume: str | None) -> TrainResult:
    """Train; a known failure is recorded in status.json (rank 0) and returned, an unexpected one raised."""
    import torch

    from epam.data import DataError
    from epam.engine.distributed import shutdown
    from epam.engine.trainer import Trainer, TrainingError
    from epam.model.checkpoint import CheckpointError

    trainer = None
    try:
        trainer = Trainer(cfg, work_dir, resume=resume)
        return TrainResult(trainer.fit())
    except (DataError, TrainingError, CheckpointError) as exc:
        _mark_failed(trainer, work_dir, str(exc))
        return TrainResult(EXIT_BAD_INPUT, str(exc))
    except KeyboardInterrupt:  # Ctrl-C before the loop installed its handler
        _mark_failed(trainer, work_dir, "interrupted during start-up", state="stopped")
        return TrainResult(130, "interrupted during start-up; nothing to resume yet")
    except torch.OutOfMemoryError:
        reason = "CUDA out of memory; lower data.batch_per_gpu (and scale optimizer.lr) or enable train.amp"
        _mark_failed(trainer, work_dir, reason)
        return TrainResult(1, reason)
    except OSError as exc:
        reason = io_error_reason(exc, work_dir)
        _mark_failed(trainer, work_dir, reason)
        return TrainResult(1, reason)
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
    if not is_rank0():
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

