"""``python -m epam_tui.core.runwrap RUN_DIR -- COMMAND...``: run a command, record how it ended.

The launcher starts this tiny wrapper in a new session (it leads the run's process group); the
wrapper starts the command as its child, waits, then writes ``exit.json`` and folds the ending into
``run.json``. So a TUI that quit, or was never the parent, still learns the exit code.

The wrapper survives the SIGINT/SIGTERM that a stop sends to the whole group: it catches them with a
no-op handler (not ``SIG_IGN``, which the child would inherit; caught signals reset to default on
exec), so the command gets them with their default meaning and the wrapper stays to record the end.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

USAGE = "usage: python -m epam_tui.core.runwrap RUN_DIR -- COMMAND [ARGS...]"


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
    from epam_tui.core import runs

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _ignore)
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    except OSError as exc:
        print(f"epam-tui: cannot start {command[0]!r}: {exc.strerror or exc}", file=sys.stderr, flush=True)
        code, sig_name = 127, None
    else:
        code, sig_name = exit_info(proc.wait())
    runs.write_exit(run_dir, code, sig_name, time.time())
    runs.finalize(run_dir)
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[1] != "--":
        print(USAGE, file=sys.stderr)
        return 2
    return run(Path(argv[0]), argv[2:])


if __name__ == "__main__":
    sys.exit(main())
