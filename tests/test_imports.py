"""Import hygiene: epam-tui never imports torch; epam_tui.core never imports textual."""

from __future__ import annotations

import subprocess
import sys

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
