"""Load annotation pickles without executing code from them.

``pickle.load`` runs whatever callable a file names (``os.system``, ``eval`` ...), so a downloaded
annotation file is a code-execution risk. :class:`RestrictedUnpickler` resolves only the globals
needed to rebuild numpy arrays, dtypes and scalars, plus a few builtin containers; any other global
is refused before it is looked up, so nothing from a hostile file ever runs.
"""

from __future__ import annotations

import importlib
import io
import pickle
from pathlib import Path
from typing import Any

from epam.data.errors import DataError

# (module, name) pairs a file may name. numpy 1.x writes ``numpy.core.*``, numpy 2.x ``numpy._core.*``;
# both spellings resolve to whichever module the installed numpy has.
_NUMPY_CORE = {
    ("multiarray", "_reconstruct"),
    ("multiarray", "scalar"),
    ("numeric", "_frombuffer"),
}
_ALLOWED: dict[tuple[str, str], tuple[str, str]] = {
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    ("_codecs", "encode"): ("_codecs", "encode"),  # numpy's protocol-2 pickles wrap raw bytes with it
    ("collections", "OrderedDict"): ("collections", "OrderedDict"),
}
for _core in ("numpy.core", "numpy._core"):
    for _mod, _name in _NUMPY_CORE:
        _ALLOWED[(f"{_core}.{_mod}", _name)] = (f"numpy._core.{_mod}", _name)
for _builtins in ("builtins", "__builtin__"):
    for _name in ("set", "frozenset", "tuple", "list", "dict", "bytearray", "bytes", "complex", "slice", "range"):
        _ALLOWED[(_builtins, _name)] = ("builtins", _name)


def _resolve(module: str, name: str) -> Any:
    """Import an allowed global; numpy 1.x keeps ``_core`` modules under ``numpy.core``."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError:
        if module.startswith("numpy._core."):
            return getattr(importlib.import_module("numpy.core." + module[len("numpy._core."):]), name)
        raise


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only numpy arrays/dtypes/scalars and builtin containers."""

    def find_class(self, module: str, name: str) -> Any:  # noqa: D401 - pickle API
        target = _ALLOWED.get((module, name))
        if target is None:
            raise pickle.UnpicklingError(f"refused global {module}.{name}")
        return _resolve(*target)


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler`; raise :class:`DataError` when refused."""
    try:
        return RestrictedUnpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as exc:
        text = str(exc)
        if text.startswith("refused global"):
            raise DataError(f"{source}: {text} (only numpy arrays and plain containers are allowed; "
                            "the file is not a plain annotation pickle and may be malicious: do not load it)") from None
        raise DataError(f"{source}: not a valid pickle: {text} (re-download or regenerate the file)") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as exc:
        raise DataError(f"{source}: corrupt or truncated pickle ({type(exc).__name__}: {exc}); "
                        "re-download or regenerate the file") from None


def safe_load(path: str | Path) -> Any:
    """Read and unpickle a file safely; a missing file is a :class:`DataError` naming the path."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"annotation file not found: {path} (check data.ann_file)") from None
    except OSError as exc:
        raise DataError(f"cannot read annotation file {path}: {exc.strerror or exc}") from None
    return safe_loads(data, str(path))
