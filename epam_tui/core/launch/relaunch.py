"""The plan of a restart, rebuilt from a run's config and the commands we know, never from free argv.

``run.json`` lives in the run directory, which others may be able to write (a shared server, a copied
work dir), so a restart treats it as untrusted input: what runs is rebuilt from

- the entry: one of ``KNOWN_ENTRIES`` (``python -m epam.train``), or
- a command template found by its name in ``configs/launch/`` (its command, cwd and resume
  arguments come from that file, not from run.json),

and the recorded inputs are checked field by field (``--set`` overrides are ``key=value``, GPU tokens
are indices or UUIDs, counts are integers in range). The run directory and its name come from where
the run is, not from run.json. Anything else is refused with a ``LaunchError`` naming the field.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any, Iterable, Mapping

from epam_tui.core.launch import rendezvous as rdzv
from epam_tui.core.launch.errors import LaunchError
from epam_tui.core.launch.plan import NAME_RE, TRAIN_ENTRY, LaunchPlan, RecordedGpu
from epam_tui.core.launch.templates import CommandTemplate, load_template

KNOWN_ENTRIES: tuple[tuple[str, ...], ...] = (TRAIN_ENTRY,)
TEMPLATES_DIR = "configs/launch"
OVERRIDE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*=[^\x00-\x1f\x7f]*")
GPU_TOKEN_RE = re.compile(r"\d+|(GPU|MIG)-[0-9A-Za-z/-]+")
ENDPOINT_RE = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _refuse(field: str, why: str) -> LaunchError:
    return LaunchError(f"cannot restart: run.json {field} {why}; launch the run again instead")


def _int(launch: Mapping[str, Any], rec: Mapping[str, Any], key: str, lo: int, hi: int, default: int) -> int:
    value = launch.get(key, rec.get(key, default)) if key != "nproc" else rec.get("nproc", default)
    value = default if value is None else value
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _refuse(key, f"must be an integer in {lo}..{hi} (got {str(value)[:40]!r})")
    return value


def _strings(value: Any, field: str, pattern: re.Pattern[str] | None = None) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _refuse(field, "must be a list of strings")
    for item in value:
        if pattern is not None and not pattern.fullmatch(item):
            raise _refuse(field, f"holds {item[:60]!r}, not an accepted value")
    return list(value)


def _entry(launch: Mapping[str, Any], entries: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    entry = tuple(_strings(launch.get("entry"), "launch.entry")) or TRAIN_ENTRY
    known = [tuple(e) for e in entries]
    if entry not in known:
        shown = " or ".join(shlex.join(e) for e in known)
        raise _refuse("launch.entry", f"asks to run {shlex.join(entry)[:80]!r}, which is not a known entry "
                      f"({shown}, or a configs/launch template)")
    return entry


def _template(data: Any, templates_dir: str | Path) -> CommandTemplate:
    name = data.get("name") if isinstance(data, Mapping) else None
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise _refuse("launch.template", "has no plain template name")
    path = Path(templates_dir) / f"{name}.yaml"
    if not path.is_file():
        raise _refuse("launch.template", f"names {name!r}, which is not in {templates_dir}/ "
                      "(only templates found there are restarted)")
    tmpl = load_template(str(path), templates_dir)
    if not tmpl.resume_args:
        raise LaunchError(f"command template {name} has no resume_args; add them to {path} to restart it")
    return tmpl


def _gpus(rec: Mapping[str, Any]) -> list[Any]:
    gpus = rec.get("gpus") or []
    if not isinstance(gpus, list):
        raise _refuse("gpus", "must be a list")
    out = []
    for g in gpus:
        if not isinstance(g, Mapping) or isinstance(g.get("index"), bool) or not isinstance(g.get("index"), int) \
                or not isinstance(g.get("uuid"), str) or CONTROL.search(g["uuid"] + str(g.get("name", ""))):
            raise _refuse("gpus", "entries must be {index: int, uuid: str, name: str}")
        out.append(RecordedGpu(int(g["index"]), str(g["uuid"]), str(g.get("name", ""))))
    return out


def restart_plan(run_dir: str | Path, rec: Mapping[str, Any], *, entries: Iterable[tuple[str, ...]] = KNOWN_ENTRIES,
                 templates_dir: str | Path = TEMPLATES_DIR) -> LaunchPlan:
    """The plan that starts the run in ``run_dir`` again with ``--resume auto`` (see the module doc)."""
    run_dir = Path(run_dir)
    launch = rec.get("launch") or {}
    if not isinstance(launch, Mapping):
        raise _refuse("launch", "must be an object")
    tmpl = _template(launch["template"], templates_dir) if launch.get("template") else None
    entry = TRAIN_ENTRY if tmpl is not None else _entry(launch, entries)
    config = rec.get("config")
    if config is not None and (not isinstance(config, str) or CONTROL.search(config)):
        raise _refuse("config", "must be a path without control characters")
    if tmpl is None and (not config or config.startswith("-")):
        raise _refuse("config", f"must name a config file (got {str(config)[:60]!r})")
    overrides = _strings(launch.get("overrides"), "launch.overrides", OVERRIDE_RE)
    tokens = _strings(launch.get("gpu_tokens"), "launch.gpu_tokens", GPU_TOKEN_RE)
    endpoint = launch.get("rdzv_endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or not ENDPOINT_RE.fullmatch(endpoint)):
        raise _refuse("launch.rdzv_endpoint", "must be HOST:PORT")
    port = rec.get("port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
        raise _refuse("port", "must be an integer in 1..65535")
    nnodes = _int(launch, rec, "nnodes", 1, 10_000, 1)
    node_rank = _int(launch, rec, "node_rank", 0, nnodes - 1, 0)
    main = rdzv.main_run_dir(run_dir, node_rank)  # node R > 0 keeps its record in <run dir>/node<R>
    return LaunchPlan(
        config=config, root=str(main.parent), name=main.name, overrides=overrides, gpus=_gpus(rec),
        gpu_tokens=tokens, nproc=_int(launch, rec, "nproc", 1, 1024, 1), port=port, nnodes=nnodes,
        node_rank=node_rank, rdzv_endpoint=endpoint, rdzv_id=launch.get("rdzv_id"), template=tmpl,
        resume=True, entry=entry)
