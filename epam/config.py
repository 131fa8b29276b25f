"""YAML configs: `_base_` inheritance, `--set` overrides, validation with one line per problem.

Loading never imports torch, so the TUI can use it.

- YAML only, read with ``epam.yamlsafe.safe_load`` (``yaml.safe_load`` with bounds on file size,
  alias expansion and depth, regular files only, and YAML 1.2 floats: ``lr: 1e-3`` is a number).
- ``_base_: path`` or a list of paths, relative to the file that names them. Bases merge left to right,
  then the file itself on top; mappings merge deeply and the child wins. ``_delete_: true`` inside a
  mapping replaces the inherited mapping instead of merging into it (the MMEngine habit).
- Overrides ``a.b.c=value`` (values typed as YAML) apply after inheritance, before validation.
- Validation checks every key against one schema (``SCHEMA`` in ``epam.config_schema``) and reports all problems at once,
  each as ``<file>: <key.path>: <problem>``.

The schema and ``validate`` live in ``epam.config_schema`` (re-exported here); YAML reading with its
bounds in ``epam.yamlsafe``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterable

import yaml

from epam import yamlsafe
from epam.config_schema import SCHEMA, SCHEDULER_KEYS, Field, validate  # noqa: F401 - the public names

BASE_KEY = "_base_"
DELETE_KEY = "_delete_"


class ConfigError(Exception):
    """A config could not be loaded; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# --------------------------------------------------------------------------------------------
# loading and merging


def _read_yaml(path: Path, origin: str) -> dict:
    """One YAML file, read with ``epam.yamlsafe``'s bounds (regular files only, size, aliases, depth)."""
    named = f"{origin}: _base_: " if origin != "config" else ""
    try:
        text = yamlsafe.read_text(path)
    except FileNotFoundError:
        raise ConfigError([f"{origin}: file not found: {path} (check the path)"]) from None
    except yamlsafe.NotRegularFile as exc:
        raise ConfigError([f"{named}{exc}: cannot be a config (name a YAML file)"]) from None
    except yamlsafe.FileTooLarge as exc:
        raise ConfigError([f"{named}{exc}: too large for a config, which is a few KB (check the path)"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {yamlsafe.describe(exc)} (check the file)"]) from None
    try:
        data = yamlsafe.safe_load(text)
    except yamlsafe.LimitError as exc:
        raise ConfigError([f"{path}: refused: {exc}"]) from None
    except yaml.YAMLError as exc:
        what = yamlsafe.describe(exc)
        fix = ("flatten it: a config is a few levels deep" if "nesting" in what else
               "write a smaller number" if "integer too large" in what else "fix the syntax")
        raise ConfigError([f"{path}: invalid YAML: {what} ({fix})"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: top level must be a mapping of keys, got {type(data).__name__}"])
    return data


def merge(base: dict, child: dict) -> dict:
    """Deep-merge ``child`` onto ``base`` (child wins); honours ``_delete_: true`` in child mappings."""
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, dict):
            value = dict(value)
            replace = bool(value.pop(DELETE_KEY, False))
            if not replace and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = merge({}, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _strip_delete(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_delete(v) for k, v in node.items() if k != DELETE_KEY}
    if isinstance(node, list):
        return [_strip_delete(v) for v in node]
    return node


MAX_CONFIG_FILES = 32  # files one config may read through its _base_ chain


def load_raw(path: str | Path) -> dict:
    """Load a YAML file with its ``_base_`` chain merged, without validation."""
    return _load_chain(Path(path), (), [0])


def _load_chain(path: Path, chain: tuple[Path, ...], count: list[int]) -> dict:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise ConfigError([f"{chain[-1]}: _base_: inheritance cycle: {cycle} (remove one of the links)"])
    count[0] += 1
    if count[0] > MAX_CONFIG_FILES:
        raise ConfigError([f"{chain[-1]}: _base_: more than {MAX_CONFIG_FILES} files in the inheritance chain "
                           "(inherit from fewer configs)"])
    origin = str(chain[-1]) if chain else "config"
    data = _read_yaml(path, origin)
    bases = data.pop(BASE_KEY, None)
    if bases is None:
        return data
    if isinstance(bases, str):
        bases = [bases]
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError([f"{path}: _base_: must be a path or a list of paths"])
    merged: dict = {}
    for base in bases:
        base_path = (path.parent / base)
        if not base_path.exists():
            raise ConfigError([f"{path}: _base_: base file not found: {base_path} (fix the path; it is relative to {path.parent})"])
        merged = merge(merged, _load_chain(base_path, (*chain, resolved), count))
    return merge(merged, data)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``a.b=1e-3`` -> (["a", "b"], 0.001); the value is typed as YAML."""
    if "=" not in text:
        raise ConfigError([f"--set {text}: expected key.path=value, e.g. optimizer.lr=0.002"])
    key, raw = text.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError([f"--set {text}: empty key; expected key.path=value"])
    try:
        value = yamlsafe.safe_load(raw) if raw.strip() else None
    except yamlsafe.LimitError as exc:
        raise ConfigError([f"--set {key}: refused: {exc}"]) from None
    except yaml.YAMLError:
        value = raw
    return key.split("."), value


def apply_overrides(cfg: dict, overrides: Iterable[str]) -> dict:
    """Apply ``--set`` overrides to a copy of ``cfg``."""
    out = copy.deepcopy(cfg)
    for text in overrides:
        parts, value = parse_override(text)
        node = out
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value
    return out


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> dict:
    """Load, inherit, override and validate a config; raise ``ConfigError`` listing every problem."""
    path = Path(path)
    if not path.exists():
        raise ConfigError([f"{path}: config file not found (check the path; configs live in configs/)"])
    raw = load_raw(path)
    cfg = _strip_delete(apply_overrides(raw, overrides))
    problems = validate(cfg, str(path))
    if problems:
        raise ConfigError(problems)
    return cfg


def dump_config(cfg: dict) -> str:
    """The config as YAML text (keys in their original order)."""
    return yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None)


def flatten(cfg: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists are leaves)."""
    if not isinstance(cfg, dict):
        return {prefix: cfg}
    out: dict[str, Any] = {}
    for key, value in cfg.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(flatten(value, path))
        else:
            out[path] = value
    return out


def diff(a: dict, b: dict) -> list[tuple[str, Any, Any]]:
    """Keys whose values differ between two resolved configs, as (key, a_value, b_value)."""
    fa, fb = flatten(a), flatten(b)
    missing = object()
    rows = []
    for key in list(fa) + [k for k in fb if k not in fa]:
        va, vb = fa.get(key, missing), fb.get(key, missing)
        if va != vb:
            rows.append((key, None if va is missing else va, None if vb is missing else vb))
    return rows
