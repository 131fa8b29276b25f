"""The run directory contract in code (``docs/run_directory.md``): file names, states, record kinds and
field-by-field validation of what is read. The one module the trainer (``epam.engine.runlog`` writes
``train.log``, ``scalars.jsonl``, ``status.json``) and the TUI (``epam_tui.core.rundir`` reads them
through its safe file readers) share: standard library only - no torch, no av, no numpy, no Textual.

- names: ``RUN_JSON`` ... ``CHECKLIST_YAML``, ``CHECKPOINTS``, ``REMEDIES``;
- states: ``STATES`` (status.json ``state``), ``RUN_STATES`` (run.json ``status``), ``ENDED``;
  ``exit_state(code, stopped)``: the state an exit.json ending gives (the launcher and the TUI agree);
- record kinds of ``scalars.jsonl``: ``record_kind(rec)`` -> ``RESUME`` | ``TRAIN`` | ``TRAIN_EPOCH`` | ``VAL``
  | "" (told apart by keys: ``resume`` / ``lr`` or ``loss`` / ``train/loss`` / ``acc/...``);
- validation: ``STATUS_FIELDS``, ``RUN_FIELDS``, ``EXIT_FIELDS``, ``EVENT_FIELDS``, ``GPU_UTIL_FIELDS``
  (``Check`` functions: "" when a value is fine, else what it must be); ``parse_json(raw, name)`` and
  ``validate(data, fields, name)`` give ``Read(data, problem)``, so one malformed file makes its run show
  "unreadable status.json: pid must be an integer" and nothing else breaks;
- writing: ``write_json(path, data)`` rewrites a JSON file atomically (``epam.fileio``);
- ``fmt_eta``: the ``eta`` field of train.log lines (the TUI shows ETAs the same way).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

RUN_JSON = "run.json"  # launcher
STATUS_JSON = "status.json"  # trainer: heartbeat, rewritten atomically
EXIT_JSON = "exit.json"  # launcher's wrapper
SCALARS_JSONL = "scalars.jsonl"  # trainer: one record per line
TRAIN_LOG = "train.log"  # trainer: MMEngine text format
STDOUT_LOG = "stdout.log"  # launcher: the processes' stdout + stderr
CONFIG_YAML = "config.yaml"  # trainer: the resolved config as it ran
CHECKPOINTS = "checkpoints"  # trainer
EVENTS_JSONL = "events.jsonl"  # TUI: alerts raised
GPU_UTIL_JSONL = "gpu_util.jsonl"  # TUI (monitor): utilisation of the run's GPUs
CHECKLIST_YAML = "checklist.yaml"  # TUI: manual ticks and notes
REMEDIES = "remedies"  # TUI: derived configs

TRAIN, VAL, TRAIN_EPOCH, RESUME = "train", "val", "train_epoch", "resume"  # scalars.jsonl record kinds
ENDED = ("finished", "failed", "stopped")


def exit_state(code: int | None, stopped: bool = False) -> str:
    """The state an ending recorded in exit.json gives a run: ``stopped`` when a stop was asked for (or
    the trainer says it stopped), else ``finished`` for exit code 0, else ``failed`` (a signal, no code)."""
    if stopped:
        return "stopped"
    return "finished" if code == 0 else "failed"


def record_kind(rec: dict) -> str:
    """The kind of a ``scalars.jsonl`` record, by its keys: RESUME (``resume`` true), TRAIN (``lr`` or
    ``loss``), TRAIN_EPOCH (``train/loss``), VAL (an ``acc/...`` key, as MMEngine's val records have);
    "" for anything else."""
    if rec.get("resume"):
        return RESUME
    if "lr" in rec or "loss" in rec:
        return TRAIN
    if "train/loss" in rec:
        return TRAIN_EPOCH
    if any(isinstance(k, str) and k.startswith("acc/") for k in rec):
        return VAL
    return ""


ETA_MAX_S = dt.timedelta.max.days * 86400 + dt.timedelta.max.seconds  # 999999999 days, 23:59:59


def fmt_eta(seconds: float | None) -> str:
    """The ``eta`` of train.log lines, also shown by the TUI: MMEngine's str(timedelta) of whole seconds,
    e.g. 0:12:34 or 1 day, 2:03:04; "-" when unknown (None). Never raises: NaN and negatives read
    0:00:00, anything past timedelta's range (inf, 10**29 epochs) its maximum."""
    if seconds is None:
        return "-"
    try:
        value = float(seconds)
    except OverflowError:  # an int beyond float's range
        value = math.inf if seconds > 0 else 0.0
    except (TypeError, ValueError):
        value = 0.0
    value = min(value, float(ETA_MAX_S)) if value > 0 else 0.0
    return str(dt.timedelta(seconds=min(int(value), ETA_MAX_S)))


MAX_JSON_BYTES = 1 << 20  # status.json / run.json / exit.json are a few KB; more is not ours
MAX_EPOCHS = 100_000
MAX_TIME = 1e11  # unix seconds (year 5138): a time past it is garbage
STATES = ("running", *ENDED)
RUN_STATES = ("starting", "queued", "running", *ENDED)

Check = Callable[[Any], str]  # "" when the value is fine, else what it must be


class Read(NamedTuple):
    data: dict | None
    problem: str  # "" when fine or missing; else "unreadable status.json: pid must be an integer (got 'abc')"


def show(value: Any) -> str:
    """A short, safe rendering of a bad value (a 5,000-digit int has no repr under Python's limit)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**18:
        return f"a {int(abs(value).bit_length() * 0.30103) + 1}-digit integer"
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'list'}"
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


# ------------------------------------------------------------------------------ field checks
def integer(lo: int, hi: int) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, int) or isinstance(v, bool):
            return f"must be an integer (got {show(v)})"
        return "" if lo <= v <= hi else f"must be an integer in {lo}..{hi} (got {show(v)})"
    return check


def number(lo: float, hi: float) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            return f"must be a finite number (got {show(v)})"
        return "" if lo <= v <= hi else f"must be a number in {lo:g}..{hi:g} (got {show(v)})"
    return check


def text(max_len: int = 4096) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, str):
            return f"must be a string (got {show(v)})"
        return "" if len(v) <= max_len else f"must be a string of at most {max_len} characters"
    return check


def one_of(*choices: str) -> Check:
    def check(v: Any) -> str:
        return "" if isinstance(v, str) and v in choices else f"must be one of {', '.join(choices)} (got {show(v)})"
    return check


def boolean(v: Any) -> str:
    return "" if isinstance(v, bool) else f"must be true or false (got {show(v)})"


def optional(check: Check) -> Check:
    def opt(v: Any) -> str:
        return "" if v is None else check(v)
    return opt


def obj(fields: dict[str, Check]) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, dict):
            return f"must be a JSON object (got {show(v)})"
        return first_problem(v, fields)
    return check


def list_of(item: Check, max_items: int = 4096) -> Check:
    def check(v: Any) -> str:
        if not isinstance(v, list):
            return f"must be a list (got {show(v)})"
        if len(v) > max_items:
            return f"must be a list of at most {max_items} items"
        for i, x in enumerate(v):
            if problem := item(x):
                return f"[{i}] {problem}"
        return ""
    return check


def any_json(v: Any) -> str:
    return ""


def first_problem(data: dict, fields: dict[str, Check]) -> str:
    """"pid must be an integer (got 'abc')" for the first known field that fails, "" when all pass."""
    for key, check in fields.items():
        if key in data and (problem := check(data[key])):
            return f"{key} {problem}" if not problem.startswith("[") else f"{key}{problem}"
    return ""


COUNT = integer(0, 10**15)
PID = integer(0, 2**31 - 1)  # 0: not known (fixtures, a run not started yet)
TIME = number(0.0, MAX_TIME)

STATUS_FIELDS: dict[str, Check] = {
    "state": one_of(*STATES), "epoch": integer(0, MAX_EPOCHS), "iter": COUNT, "max_epochs": integer(0, MAX_EPOCHS),
    "iters_per_epoch": integer(0, 10**12), "world_size": integer(0, 1 << 20), "pid": optional(PID),
    "create_time": optional(TIME), "host": optional(text()), "started": optional(TIME), "updated": optional(TIME),
    "exit_reason": optional(text(100_000)), "device": optional(text(64)),
    "best": optional(obj({"metric": text(), "value": number(-1e300, 1e300), "epoch": integer(0, MAX_EPOCHS)})),
}
GPU_FIELDS: dict[str, Check] = {"index": integer(0, 4096), "uuid": optional(text()), "name": optional(text())}
RUN_FIELDS: dict[str, Check] = {
    "id": optional(text()), "name": optional(text(1024)), "config": optional(text()), "config_sha256": optional(text()),
    "argv": optional(list_of(text(1 << 16))), "display": optional(text(1 << 16)),
    "env": optional(obj({})), "gpus": optional(list_of(obj(GPU_FIELDS))), "nproc": optional(integer(0, 1 << 16)),
    "port": optional(integer(0, 65535)), "kind": optional(text()), "source": optional(text()),
    "work_dir": optional(text()), "pid": optional(PID), "pgid": optional(PID), "create_time": optional(TIME),
    "host": optional(text()), "started": optional(TIME), "ended": optional(TIME), "status": optional(one_of(*RUN_STATES)),
    "exit_code": optional(integer(-(2**31), 2**31 - 1)), "launch": optional(obj({})), "history": optional(list_of(any_json)),
    "restarts": optional(integer(0, 10**6)), "stop_requested": optional(any_json), "stopped_at": optional(TIME),
    "signal": optional(text()), "exit_reason": optional(text(100_000)), "wrapper_lost": optional(boolean),
    "slurm": optional(obj({})),
}
EXIT_FIELDS: dict[str, Check] = {
    "code": optional(integer(-(2**31), 2**31 - 1)), "ended": optional(TIME), "signal": optional(text()),
    "note": optional(text(100_000)),
}


def util_value(v: Any) -> str:
    """``util``: a percentage, or a list of one per GPU."""
    pct = number(0.0, 100.0)
    if isinstance(v, list):
        return "must not be empty" if not v else list_of(pct, 4096)(v)
    return pct(v)


EVENT_FIELDS: dict[str, Check] = {"time": TIME, "kind": text(64), "key": optional(text()),
                                  "message": optional(text(1 << 16)), "util": util_value}
EVENT_REQUIRED = ("time", "kind")
GPU_UTIL_FIELDS: dict[str, Check] = {"time": TIME, "util": util_value}
GPU_UTIL_REQUIRED = ("time", "util")


# ------------------------------------------------------------------------------ readers
def parse_json(raw: bytes, name: str) -> Read:
    """A JSON object from bytes, checked by nothing but its shape."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:  # ValueError: bad JSON or an int over Python's digit limit
        return Read(None, f"unreadable {name}: not valid JSON ({str(exc)[:80]})")
    except RecursionError:
        return Read(None, f"unreadable {name}: nested too deeply")
    if not isinstance(data, dict):
        return Read(None, f"unreadable {name}: must be a JSON object (got {show(data)})")
    return Read(data, "")


def validate(data: dict, fields: dict[str, Check], name: str) -> Read:
    """``Read(data, "")`` when every known field of ``data`` passes, else ``Read(None, "unreadable NAME: ...")``."""
    if problem := first_problem(data, fields):
        return Read(None, f"unreadable {name}: {problem}")
    return Read(data, "")


def parse_record(line: str | bytes, fields: dict[str, Check], required: tuple[str, ...] = ()) -> dict | None:
    """One ``*.jsonl`` line as a record: a JSON object with the ``required`` keys whose known fields
    pass; None otherwise."""
    try:
        rec = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if isinstance(rec, dict) and all(k in rec for k in required) and not first_problem(rec, fields):
        return rec
    return None


def write_json(path: str | Path, data: dict, *, fsync: bool = True) -> None:
    """Rewrite a run-directory JSON file atomically (``epam.fileio``: a reader sees the old file or the new
    one, never a part; the temp file never outlives an error). ``fsync=False`` for the launcher's records,
    rewritten often under a lock."""
    from epam.fileio import atomic_write_text

    atomic_write_text(path, json.dumps(data, indent=1) + "\n", fsync=fsync)
