"""`epam-tui` command line: a thin dispatcher over sub-commands.

`epam-tui` with no arguments (or with a directory) opens the monitor on ./work_dirs.
Each sub-command lives in ``epam_tui.commands.<name>`` exposing ``main(argv) -> int`` and is
imported only when used; none of them imports torch.
"""

from __future__ import annotations

import importlib
import os
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "monitor": ("epam_tui.commands.monitor", "watch run directories live (default: ./work_dirs)"),
    "launch": ("epam_tui.commands.launch", "pick a config and GPUs, launch training (or --headless)"),
    "status": ("epam_tui.commands.status", "print run summaries without a TTY (--json)"),
    "export": ("epam_tui.commands.export", "write a run's parsed series as CSV or JSON"),
    "checklist": ("epam_tui.commands.checklist", "print the checklist verdicts of a run (--json)"),
    "report": ("epam_tui.commands.report", "write a Markdown report with PNG charts"),
    "compare": ("epam_tui.commands.compare", "print the comparison table of two or more runs"),
    "diagnose": ("epam_tui.commands.diagnose", "print a run's diagnoses and remedies (--json)"),
    "serve": ("epam_tui.commands.serve", "serve the monitor to a web browser (127.0.0.1:8000)"),
}


def _usage() -> str:
    lines = ["usage: epam-tui [command] [args]", "", "commands:"]
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name:<10} {text}")
    lines.append("")
    lines.append("With no command, or with a directory, `epam-tui` opens the monitor.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv and argv[0] in ("-V", "--version"):
        from epam_tui import __version__

        print(__version__)
        return 0
    if not argv or argv[0] not in COMMANDS:
        if argv and not argv[0].startswith("-") and not os.path.exists(argv[0]):
            print(f"epam-tui: unknown command or path {argv[0]!r}; run `epam-tui --help`", file=sys.stderr)
            return 2
        name, rest = "monitor", argv
    else:
        name, rest = argv[0], argv[1:]
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
