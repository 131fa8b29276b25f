"""Import hygiene: epam-tui never imports torch or av; epam_tui.core never imports textual; the import
rules between epam, epam_tui.core and epam_tui.ui (below, checked on the source with ast)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CODE = """
import importlib, pkgutil, sys
import epam_tui, epam_tui.cli
names = [m.name for m in pkgutil.walk_packages(epam_tui.__path__, "epam_tui.")]
for name in names:
    importlib.import_module(name)
print(len(names), "torch" in sys.modules)
"""

CORE = """
import importlib, pkgutil, sys
import epam_tui.core
for m in pkgutil.walk_packages(epam_tui.core.__path__, "epam_tui.core."):
    importlib.import_module(m.name)
print("textual" in sys.modules, "torch" in sys.modules)
"""


def test_tui_never_imports_torch() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    count, torch_loaded = out.stdout.split()
    assert int(count) >= 10 and torch_loaded == "False"


def test_core_has_no_textual() -> None:
    out = subprocess.run([sys.executable, "-c", CORE], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


STARTUP = """
import sys
import epam_tui.cli, epam_tui.ui.app, epam_tui.core.registry
from epam_tui.core.sources.parsers import SeriesStore, feed_mmengine
store = SeriesStore()
feed_mmengine(store, b"Epoch(train) [1][1/2]  lr: 1.0000e-02  loss: 2.0\\n" * 100)  # a live run's small append
print(store.n_train, "numba" in sys.modules, "llvmlite" in sys.modules)
"""


def test_startup_and_small_appends_do_not_import_numba() -> None:
    # numba (the optional fast-ingest scanner) costs ~0.2 s and ~100 MB: only big backlogs may load it
    out = subprocess.run([sys.executable, "-c", STARTUP], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["100", "False", "False"]


# ------------------------------------------------------------------------------ import rules (ast)
# The TUI reaches ``epam`` only through torch-free modules, and ``ui`` reaches them only through ``core``:
#   epam_tui.ui.*   -> no ``epam`` import at all (anywhere in the file, lazy ones included);
#   epam_tui.core.* -> no torch / av at module level, never ``epam.data.video`` (PyAV; the RGB naming
#                      is ``epam.data.rgb_paths``), and ``epam`` only through TUI_EPAM (torch-free);
#   epam.*          -> never ``epam_tui`` (the trainer does not depend on the TUI);
#   epam/, epam_tui/ -> no ``from x import _name`` (a private name stays in its module).
ROOT = Path(__file__).resolve().parent.parent
TUI_EPAM = ("epam", "epam.config", "epam.config_schema", "epam.yamlsafe", "epam.schedule", "epam.rundir",
            "epam.fileio", "epam.data.safe_pickle", "epam.data.rgb_paths", "epam.data.errors")
LIGHT_EPAM = "epam.rundir epam.fileio epam.config epam.yamlsafe epam.schedule epam.data.safe_pickle epam.data.rgb_paths"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def imports(tree: ast.AST, module_level_only: bool = False) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names) of every import; ``module_level_only`` skips function bodies
    (they run when called, not when the module is imported). Relative imports are left out (none here)."""
    out: list[tuple[int, str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if module_level_only and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Import):
                out.extend((child.lineno, a.name, []) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                out.append((child.lineno, child.module, [a.name for a in child.names]))
            visit(child)

    visit(tree)
    return out


def sources(*packages: str) -> list[tuple[str, Path, ast.AST]]:
    files = sorted(p for pkg in packages for p in (ROOT / pkg).rglob("*.py"))
    return [(module_name(p), p, ast.parse(p.read_text(encoding="utf-8"), filename=str(p))) for p in files]


def is_in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def import_rule_violations(packages: tuple[str, ...] = ("epam", "epam_tui")) -> list[str]:
    bad: list[str] = []
    for name, path, tree in sources(*packages):
        where = f"{path.relative_to(ROOT)}"
        for line, mod, names in imports(tree):
            if is_in(name, "epam_tui.ui") and is_in(mod, "epam"):
                bad.append(f"{where}:{line}: ui imports {mod} (reach epam through epam_tui.core)")
            if is_in(name, "epam_tui.core") and is_in(mod, "epam.data.video"):
                bad.append(f"{where}:{line}: core imports {mod} (PyAV; use epam.data.rgb_paths)")
            if is_in(name, "epam_tui") and is_in(mod, "epam") and mod not in TUI_EPAM:
                bad.append(f"{where}:{line}: the TUI imports {mod} (not one of the torch-free modules {TUI_EPAM})")
            if is_in(name, "epam") and is_in(mod, "epam_tui"):
                bad.append(f"{where}:{line}: epam imports {mod} (the trainer must not depend on the TUI)")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                bad.append(f"{where}:{line}: imports private {', '.join(private)} from {mod} (make it public or keep it there)")
        if is_in(name, "epam_tui.core"):
            for line, mod, _ in imports(tree, module_level_only=True):
                if any(is_in(mod, heavy) for heavy in ("torch", "av")):
                    bad.append(f"{where}:{line}: core imports {mod} at module level")
    return bad


def test_import_rules() -> None:
    assert import_rule_violations() == []


HEAVY = """
import sys
import {modules}
print(sorted(m for m in ("torch", "av", "numpy") if m in sys.modules))
"""


def test_tui_entry_points_load_neither_torch_nor_av() -> None:
    code = HEAVY.format(modules="epam_tui.cli, epam_tui.ui.app")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert "torch" not in out.stdout and "'av'" not in out.stdout, out.stdout


def test_epam_modules_the_tui_uses_are_light() -> None:
    code = HEAVY.format(modules=", ".join(LIGHT_EPAM.split()))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["[]"]  # no torch, no av, not even numpy


def test_the_monitor_starts_without_numpy_or_plotext() -> None:
    """The first frame needs neither: numpy loads with the first parsed series, plotext with the first chart
    (together ~14 MB and ~40 ms of start-up; benchmarks/tui_startup.py measures it)."""
    code = ("import sys\nimport epam_tui.ui.app, epam_tui.commands.monitor\n"
            "print(sorted(m for m in ('numpy', 'plotext', 'textual_plotext') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split() == ["[]"], out.stdout
