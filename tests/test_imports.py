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
