"""The TUI's access point to the run directory contract: ``epam.rundir`` (file names, states, record
kinds, field checks; shared with the trainer, standard library only) re-exported, plus the readers that
open run-directory files safely (``core.tail``: regular files only, bounded, never blocking).

``read_status``, ``read_run``, ``read_exit``: ``Read(data, problem)`` - ``data`` is the file's object when
every known field has its type and a sane range (unknown fields pass through untouched), else None with
``problem`` saying the first bad field; a missing file is ``Read(None, "")``. ``read_records`` reads a
``*.jsonl`` file (``events.jsonl``, ``gpu_util.jsonl``) line by line and keeps the records whose fields
are valid, counting the others. No torch, no av, no Textual.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from epam.rundir import (  # noqa: F401 - re-exported: the TUI reaches the contract through this module
    CHECKLIST_YAML, CHECKPOINTS, CONFIG_YAML, ENDED, EVENT_FIELDS, EVENT_REQUIRED, EVENTS_JSONL, EXIT_FIELDS,
    EXIT_JSON, GPU_FIELDS, GPU_UTIL_FIELDS, GPU_UTIL_JSONL, GPU_UTIL_REQUIRED, MAX_EPOCHS, MAX_JSON_BYTES,
    MAX_TIME, REMEDIES, RESUME, RUN_FIELDS, RUN_JSON, RUN_STATES, SCALARS_JSONL, STATES, STATUS_FIELDS,
    STATUS_JSON, STDOUT_LOG, TRAIN, TRAIN_EPOCH, TRAIN_LOG, VAL, Check, Read, first_problem, parse_json,
    exit_state, fmt_eta, parse_record, record_kind, show, validate, write_json,
)
from epam_tui.core.tail import read_bounded, read_lines


def read_json(path: str | Path, fields: dict[str, Check]) -> Read:
    """A run-directory JSON file, validated against ``fields``; ``Read(None, "")`` when missing."""
    path = Path(path)
    got = read_bounded(path, MAX_JSON_BYTES)
    if got.note:
        what = got.note.replace(f"{path.name} ", "", 1).removeprefix(f"{path.name}: ")
        return Read(None, f"unreadable {path.name}: {what}")
    if not got.complete:
        return Read(None, "")  # missing
    read = parse_json(got.data, path.name)
    return read if read.data is None else validate(read.data, fields, path.name)


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
        if (rec := parse_record(line, fields, required)) is not None:
            out.append(rec)
        else:
            bad += 1
    return Records(out, bad, got.note)


def read_events(run_dir: str | Path) -> Records:
    return read_records(Path(run_dir) / EVENTS_JSONL, EVENT_FIELDS, EVENT_REQUIRED)


def read_gpu_util(run_dir: str | Path) -> Records:
    return read_records(Path(run_dir) / GPU_UTIL_JSONL, GPU_UTIL_FIELDS, GPU_UTIL_REQUIRED)
