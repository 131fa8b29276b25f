#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment in .venv, from nothing.
# torch is installed first, pinned to 2.13.0, when no torch is present: a bare `torch` requirement
# would pull a multi-GB CUDA build. Set EPAM_TORCH_SPEC to choose another build (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=${EPAM_VENV:-.venv}

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  echo "setup: Python 3.10 or newer is needed (found: $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.x" >&2
  exit 2
fi
if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
fi
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
  echo "setup: installing ${EPAM_TORCH_SPEC:-torch==2.13.0}"
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q ${EPAM_TORCH_SPEC:-torch==2.13.0}
fi
stamp="$VENV/.epam-installed"
want=$(cat pyproject.toml | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing epam + epam-tui (editable) with the test and fast-ingest extras"
  "$VENV/bin/python" -m pip install -q -e '.[test]'
  # optional: numba may have no wheel for a brand-new Python; the monitor then parses with its regex path
  "$VENV/bin/python" -m pip install -q -e '.[fast]' || echo "setup: the optional 'fast' extra (numba) did not install; big MMEngine logs will be parsed by the slower regex path" >&2
  echo "$want" > "$stamp"
fi
