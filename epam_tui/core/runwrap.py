"""``python -m epam_tui.core.runwrap RUN_DIR -- COMMAND...``: run a command, record how it ended.

The launcher starts this tiny wrapper in a new session (it leads the run's process group); the
wrapper starts the command as its child, waits, then writes ``exit.json`` and folds the ending into
``run.json``. So a TUI that quit, or was never the parent, still learns the exit code.

It also holds the run-file helpers (``run.json`` under an ``flock``, atomic writes, ``exit.json``)
that ``runs`` re-exports, so this process, resident for the whole run, imports nothing heavy. Files
are written through ``epam.fileio`` (temp file + rename, mode per the umask, no temp file left on an
error).

A disk that fills during the run must not cost the exit code: the wrapper reserves exit.json's space
when it starts (``.exit.json.reserve``, blanks) and, when a fresh write fails, writes the record over
those bytes (no new block needed) and renames it to exit.json. JSON readers ignore trailing blanks.

The wrapper survives the SIGINT/SIGTERM that a stop sends to the whole group: it catches them with a
no-op handler (not ``SIG_IGN``, which the child would inherit; caught signals reset to default on
exec), so the command gets them with their default meaning and the wrapper stays to record the end.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

from epam_tui.core.rundir import ENDED, EXIT_JSON, RUN_JSON, exit_state, write_json
from epam_tui.core.tail import read_bounded

USAGE = "usage: python -m epam_tui.core.runwrap RUN_DIR -- COMMAND [ARGS...]"
LOCK = ".run.json.lock"
EXIT_RESERVE = ".exit.json.reserve"
RESERVE_BYTES = 4096  # one block; an exit record is ~100 bytes (a note makes it ~200)


# --------------------------------------------------------------------------------------------
# files


def read_json(path: str | Path) -> dict | None:
    """A JSON object from ``path``, or None when missing or unreadable."""
    try:
        data = json.loads(read_bounded(path, 1 << 20).data.decode("utf-8"))  # regular files only, bounded
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    with open(Path(run_dir) / LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_run(run_dir: str | Path) -> dict | None:
    return read_json(Path(run_dir) / RUN_JSON)


def read_exit(run_dir: str | Path) -> dict | None:
    return read_json(Path(run_dir) / EXIT_JSON)


def update_run(run_dir: str | Path, **fields: Any) -> dict:
    """Merge ``fields`` into run.json under the lock; returns the new record."""
    run_dir = Path(run_dir)
    with locked(run_dir):
        rec = read_run(run_dir) or {}
        rec.update(fields)
        write_json(run_dir / RUN_JSON, rec, fsync=False)
    return rec


def reserve_exit(run_dir: str | Path) -> bool:
    """Set aside exit.json's space now (``RESERVE_BYTES`` blanks); False when even that failed."""
    path = Path(run_dir) / EXIT_RESERVE
    try:
        with open(path, "wb") as fh:
            fh.write(b" " * RESERVE_BYTES)
            fh.flush()
            os.fsync(fh.fileno())
        return True
    except OSError:
        with contextlib.suppress(OSError):
            path.unlink()
        return False


def _into_reserve(run_dir: Path, payload: bytes) -> bool:
    """Write ``payload`` over the reserved blanks and rename them to exit.json; True when done."""
    path = run_dir / EXIT_RESERVE
    try:
        size = path.stat().st_size
        if len(payload) > size:
            return False
        with open(path, "r+b") as fh:  # overwrites blocks the file already has: needs no free space
            fh.write(payload.ljust(size, b" "))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(path, run_dir / EXIT_JSON)
        return True
    except OSError:
        return False


def write_exit(run_dir: str | Path, code: int | None, sig: str | None, ended: float, **extra: Any) -> None:
    """exit.json; ``code`` is None only when nobody could observe the ending (the wrapper was gone).
    A full disk falls back on the space ``reserve_exit`` set aside; the reserve is removed either way."""
    run_dir = Path(run_dir)
    data = {"code": None if code is None else int(code), "ended": ended, "signal": sig, **extra}
    try:
        write_json(run_dir / EXIT_JSON, data, fsync=False)
    except OSError:
        if not _into_reserve(run_dir, (json.dumps(data) + "\n").encode()):
            raise
    finally:
        with contextlib.suppress(OSError):
            (run_dir / EXIT_RESERVE).unlink()


def _folded(rec: dict, ended: Mapping[str, Any] | None) -> dict | None:
    """``rec`` with the ending from exit.json, or None when there is nothing to fold in."""
    if ended is None or rec.get("status") in ENDED:
        return None
    code = ended.get("code")
    status = exit_state(code, stopped=bool(rec.get("stop_requested")))
    return {**rec, "status": status, "exit_code": code, "ended": ended.get("ended"), "signal": ended.get("signal")}


def finalize(run_dir: str | Path) -> dict:
    """Fold exit.json into run.json (status finished / failed / stopped, exit code, end time).

    Reads without writing when there is nothing to fold, so a read-only run dir (another user's)
    can be inspected; if it cannot be written, the folded record is returned all the same.
    """
    run_dir = Path(run_dir)
    rec = read_run(run_dir) or {}
    if _folded(rec, read_exit(run_dir)) is None:
        return rec
    try:
        with locked(run_dir):
            rec = read_run(run_dir) or {}
            folded = _folded(rec, read_exit(run_dir))
            if folded is not None:
                write_json(run_dir / RUN_JSON, folded, fsync=False)
                rec = folded
    except OSError:
        rec = _folded(rec, read_exit(run_dir)) or rec
    return rec


# --------------------------------------------------------------------------------------------
# the wrapper


def _ignore(signum: int, frame: object) -> None:
    """Keep the wrapper alive; the command in the same group received the signal too."""


def exit_info(returncode: int) -> tuple[int, str | None]:
    """Popen's return code -> (shell-style exit code, signal name or None)."""
    if returncode >= 0:
        return returncode, None
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"SIG{-returncode}"
    return 128 - returncode, name


def run(run_dir: Path, command: list[str]) -> int:
    """Run ``command`` (inherits cwd, env, stdout/stderr), then write exit.json and update run.json."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _ignore)
    reserve_exit(run_dir)
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    except OSError as exc:
        _say(f"epam-tui: cannot start {command[0]!r}: {exc.strerror or exc}")
        code, sig_name = 127, None
    else:
        code, sig_name = exit_info(proc.wait())
    try:
        write_exit(run_dir, code, sig_name, time.time())
    except OSError as exc:
        _say(f"epam-tui: cannot write {run_dir / EXIT_JSON} ({exc.strerror or exc}); the run ended with exit code {code}")
        return code
    try:
        finalize(run_dir)
    except OSError as exc:  # run.json stays behind; readers fold exit.json in themselves
        _say(f"epam-tui: cannot update {run_dir / RUN_JSON} ({exc.strerror or exc}); exit.json holds code {code}")
    return code


def _say(line: str) -> None:
    """One line to stderr (stdout.log), which may itself be on the full disk: never raises."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        print(USAGE, file=sys.stderr)
        return 2
    return run(Path(argv[0]), argv[2:])


if __name__ == "__main__":
    sys.exit(main())
