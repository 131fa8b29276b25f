"""What the trainer writes for readers: ``train.log`` (MMEngine text format), ``scalars.jsonl`` and
``status.json``. The contract is ``docs/run_directory.md`` (file names and states: ``epam.rundir``).
Only rank 0 creates a RunLog."""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from epam.rundir import SCALARS_JSONL, STATUS_JSON, TRAIN_LOG, fmt_eta, write_json

HEARTBEAT_S = 10.0  # status.json refresh period while no iteration line is due (validation)


def append_text(fh: TextIO, text: str) -> None:
    """Write and flush ``text`` to an append-mode file; an OSError (a full disk) names the file, which a
    failed write or flush on an open file object does not."""
    try:
        fh.write(text)
        fh.flush()
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(fh.name)) from exc
        raise


def fmt_value(value: float) -> str:
    return f"{value:.4f}" if math.isfinite(value) else str(value).lower()


def train_header(epoch: int, it: int, max_epochs: int, iters: int) -> str:
    """``Epoch(train)  [1][  20/2505]`` with MMEngine's padding rules."""
    return (f"Epoch(train) {f'[{epoch}]':>{len(str(max_epochs)) + 2}}"
            f"[{it:>{len(str(iters))}}/{iters}]")


class RunLog:
    """Appends to train.log and scalars.jsonl (flushed per line/record) and rewrites status.json."""

    def __init__(self, work_dir: Path, echo: TextIO | None = sys.stdout):
        self.dir = Path(work_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.text = open(self.dir / TRAIN_LOG, "a", encoding="utf-8")
        self.scalars = open(self.dir / SCALARS_JSONL, "a", encoding="utf-8")
        self.echo = echo
        self.status: dict[str, Any] = {
            "state": "running", "epoch": 0, "iter": 0, "max_epochs": 0, "iters_per_epoch": 0, "world_size": 1,
            "pid": os.getpid(), "create_time": _create_time(), "host": socket.gethostname(),
            "started": time.time(), "updated": time.time(), "exit_reason": None, "best": None,
        }

    # ---------------------------------------------------------------- text log
    def info(self, message: str, level: str = "INFO", echo: bool = True) -> None:
        """Append ``message`` (each of its lines prefixed MMEngine-style); also to the console if echoing."""
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        out = self.echo if echo else None
        records = "".join(f"{stamp} - mmengine - {level} - {line}\n" for line in message.splitlines() or [""])
        append_text(self.text, records)
        if out is not None:
            out.write(records)
            out.flush()

    def warning(self, message: str, echo: bool = True) -> None:
        self.info(message, "WARNING", echo)

    def error(self, message: str, echo: bool = True) -> None:
        self.info(message, "ERROR", echo)

    # ---------------------------------------------------------------- records
    def record(self, data: dict[str, Any]) -> None:
        """One scalars.jsonl line, written with a single write call and flushed."""
        append_text(self.scalars, json.dumps(data) + "\n")

    def log_train(self, *, epoch: int, it: int, max_epochs: int, iters: int, step: int, lr: float, eta: float,
                  time_: float, data_time: float, memory: int | None, grad_norm: float, loss: float,
                  loss_rgb: float, loss_pose: float, top1: float) -> None:
        parts = [f"lr: {lr:.4e}", f"eta: {fmt_eta(eta)}", f"time: {time_:.4f}", f"data_time: {data_time:.4f}"]
        if memory is not None:
            parts.append(f"memory: {memory}")
        parts += [f"grad_norm: {fmt_value(grad_norm)}", f"loss: {fmt_value(loss)}", f"loss_rgb: {fmt_value(loss_rgb)}",
                  f"loss_pose: {fmt_value(loss_pose)}", f"top1_acc: {top1:.4f}"]
        self.info(f"{train_header(epoch, it, max_epochs, iters)}  " + "  ".join(parts))
        rec: dict[str, Any] = {"lr": lr, "data_time": data_time, "grad_norm": grad_norm, "loss": loss,
                               "loss_rgb": loss_rgb, "loss_pose": loss_pose, "top1_acc": top1, "time": time_,
                               "epoch": epoch, "iter": step}
        if memory is not None:
            rec["memory"] = memory
        rec["step"] = step
        self.record(rec)

    def log_val(self, epoch: int, n: int, metrics: dict[str, float], data_time: float, time_: float) -> None:
        body = "  ".join(f"{k}: {v:.4f}" for k, v in metrics.items())
        self.info(f"Epoch(val) [{epoch}][{n}/{n}]    {body}  data_time: {data_time:.4f}  time: {time_:.4f}")
        self.record({**metrics, "data_time": data_time, "time": time_, "epoch": epoch, "step": epoch})

    def log_train_epoch(self, epoch: int, loss: float, top1: float) -> None:
        self.record({"train/loss": loss, "train/top1": top1, "epoch": epoch, "step": epoch})

    # ---------------------------------------------------------------- status heartbeat
    def update_status(self, **fields: Any) -> None:
        """Merge ``fields`` into status.json and rewrite it atomically (``updated`` = now)."""
        self.status.update(fields)
        self.status["updated"] = time.time()
        write_json(self.dir / STATUS_JSON, self.status)

    def heartbeat(self, min_interval: float = HEARTBEAT_S) -> None:
        """Refresh ``updated`` if the last write is older than ``min_interval`` s (long validations)."""
        if time.time() - self.status["updated"] >= min_interval:
            self.update_status()

    def close(self) -> None:
        for fh in (self.text, self.scalars):
            try:
                fh.close()
            except OSError:
                pass


def _create_time() -> float | None:
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # noqa: BLE001 - psutil is optional for the trainer
        return None
