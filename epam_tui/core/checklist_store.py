"""Manual ticks and notes of the checklist, in the run's ``checklist.yaml`` (automatic verdicts are
recomputed, never stored as truth)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from epam import yamlsafe
from epam.fileio import atomic_write_text
from epam_tui.core.rundir import CHECKLIST_YAML
from epam_tui.core.tail import read_bounded


def load_store(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / CHECKLIST_YAML
    try:
        data = yamlsafe.safe_load(read_bounded(path, 1 << 20).data.decode("utf-8"))  # regular files only, bounded
    except (OSError, ValueError, RecursionError, yaml.YAMLError):
        return {"items": {}}
    return data if isinstance(data, dict) else {"items": {}}


def save_store(run_dir: str | Path, data: dict[str, Any]) -> None:
    path = Path(run_dir) / CHECKLIST_YAML
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=True), fsync=False)


def set_item(run_dir: str | Path, item_id: str, tick: bool | None = None, note: str | None = None) -> dict[str, Any]:
    data = load_store(run_dir)
    items = data.setdefault("items", {})
    entry = items.setdefault(item_id, {"tick": False, "note": ""})
    if tick is not None:
        entry["tick"] = bool(tick)
    if note is not None:
        entry["note"] = note
    entry["time"] = time.time()
    save_store(run_dir, data)
    return entry


def record(run_dir: str | Path, key: str, value: Any) -> None:
    """Store a non-item record (``verify`` result, ``rerun`` path)."""
    data = load_store(run_dir)
    data[key] = value
    save_store(run_dir, data)
