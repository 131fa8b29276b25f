"""The run directory contract in code: its file names and validated readers of the JSON files in it.

``docs/run_directory.md`` describes the files; this module checks what is read against it, field by
field, so one malformed file makes its run show "unreadable status.json: pid must be an integer" and
nothing else breaks. No torch, no av, no Textual: the trainer's side and the TUI's both may import it.

``read_status``, ``read_run``, ``read_exit``: ``Read(data, problem)`` - ``data`` is the file's object when
every known field has its type and a sane range (unknown fields pass through untouched), else None with
``problem`` saying the first bad field; a missing file is ``Read(None, "")``. ``read_records`` reads a
``*.jsonl`` file (``events.jsonl``, ``gpu_util.jsonl``) line by line and keeps the records whose fields
are valid, counting the others.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from epam_tui.core.tail import read_bounded, read_lines

RUN_JSON = "run.json"
STATUS_JSON = "status.json"
EXIT_JSON = "exit.json"
EVENTS_JSONL = "events.jsonl"
GPU_UTIL_JSONL = "gpu_util.jsonl"
SCALARS_JSONL = "scalars.jsonl"
TRAIN_LOG = "train.log"
STDOUT_LOG = "stdout.log"
CONFIG_YAML = "config.yaml"
CHECKPOINTS = "checkpoints"

MAX_JSON_BYTES = 1 << 20  # status.json / run.json / exit.json are a few KB; more is not ours
MAX_EPOCHS = 100_000
MAX_TIME = 1e11  # unix seconds (year 5138): a time past it is garbage
STATES = ("running", "finished", "failed", "stopped")
RUN_STATES = ("starting", "queued", "running", "finished", "failed", "stopped")

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


def read_json(path: str | Path, fields: dict[str, Check]) -> Read:
    """A run-directory JSON file, validated against ``fields``; ``Read(None, "")`` when missing."""
    path = Path(path)
    got = read_bounded(path, MAX_JSON_BYTES)
    if got.note:
        what = got.note.replace(f"{path.name} ", "", 1).removeprefix(f"{path.name}: ")
        return Read(None, f"unreadable {path.name}: {what}")
    if not got.complete:
        return Read(None, "")  # missing
    data, problem = parse_json(got.data, path.name)
    if data is None:
        return Read(None, problem)
    if problem := first_problem(data, fields):
        return Read(None, f"unreadable {path.name}: {problem}")
    return Read(data, "")


def read_status(run_dir: str | Path) -> Read:
    return read_json(Path(run_dir) / STATUS_JSON, STATUS_FIELDS)


def read_run(run_dir: str | Path) -> Read:
    return read_json(Path(run_dir) / RUN_JSON, RUN_FIELDS)


def read_exit(run_dir: str | Path) -> Read:
    return read_json(Path(run_dir) / EXIT_JSON, EXIT_FIELDS)


class Records(NamedTuple):
    records: list[dict]
    bad: int  # lines that were not a JSON object with valid fields
    note: str  # why the file was skipped (not a regular file), "" otherwise


def read_records(path: str | Path, fields: dict[str, Check], required: tuple[str, ...] = (),
                 tail_bytes: int | None = None) -> Records:
    """The valid records of a ``*.jsonl`` file (streamed, bounded lines): JSON objects with the
    ``required`` keys whose known fields pass; the other lines are counted in ``bad``."""
    got = read_lines(path, tail_bytes=tail_bytes)
    out: list[dict] = []
    bad = got.skipped
    for line in got.lines:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            bad += 1
            continue
        if isinstance(rec, dict) and all(k in rec for k in required) and not first_problem(rec, fields):
            out.append(rec)
        else:
            bad += 1
    return Records(out, bad, got.note)


def read_events(run_dir: str | Path) -> Records:
    return read_records(Path(run_dir) / EVENTS_JSONL, EVENT_FIELDS, EVENT_REQUIRED)


def read_gpu_util(run_dir: str | Path) -> Records:
    return read_records(Path(run_dir) / GPU_UTIL_JSONL, GPU_UTIL_FIELDS, GPU_UTIL_REQUIRED)
