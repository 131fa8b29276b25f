"""Source-level security rules: no shell strings, no unrestricted pickle or YAML loading,
checkpoints loaded with weights_only=True. Scans the shipped packages (epam/, epam_tui/)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for pkg in ("epam", "epam_tui") for p in (ROOT / pkg).rglob("*.py"))

# Patterns are assembled so that this file does not match itself.
SHELL_TRUE = re.compile(r"shell\s*=\s*" + "True")
PICKLE_LOAD = re.compile(r"\bpickle\.(load|loads)\(|\bUnpickler\(")
YAML_LOAD = re.compile(r"\byaml\.(load|load_all|unsafe_load|full_load)\(")
TORCH_LOAD = re.compile(r"\btorch\.load\(")


def _hits(pattern: re.Pattern[str]) -> list[tuple[Path, int, str]]:
    out = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                out.append((path.relative_to(ROOT), number, line.strip()))
    return out


def test_sources_found() -> None:
    assert len(SOURCES) > 5


def test_no_shell_true() -> None:
    assert _hits(SHELL_TRUE) == []


def test_pickle_only_in_the_restricted_loader() -> None:
    allowed = {Path("epam/data/safe_pickle.py")}
    bad = [h for h in _hits(PICKLE_LOAD) if h[0] not in allowed]
    assert bad == [], bad


def test_yaml_only_safe_load() -> None:
    bad = [h for h in _hits(YAML_LOAD) if "SafeLoader" not in h[2]]
    assert bad == [], bad


def test_torch_load_always_weights_only() -> None:
    bad = []
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for match in TORCH_LOAD.finditer(text):
            call = text[match.start(): text.find(")", match.end()) + 1]
            # a call may span lines; look at the call's own arguments
            depth, end = 0, match.end() - 1
            for end in range(match.end() - 1, len(text)):
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    break
            call = text[match.start(): end + 1]
            if "weights_only=True" not in call:
                bad.append((path.relative_to(ROOT), text.count("\n", 0, match.start()) + 1, call[:80]))
    assert bad == [], bad


def test_tui_never_imports_torch_by_name() -> None:
    bad = [(p.relative_to(ROOT), n, l) for p in SOURCES if p.is_relative_to(ROOT / "epam_tui")
           for n, l in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
           if re.match(r"\s*(import torch|from torch)", l)]
    assert bad == [], bad
