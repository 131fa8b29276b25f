"""`epam` command line: a thin dispatcher.

Each sub-command lives in ``epam.commands.<name>`` exposing ``main(argv: list[str]) -> int``; the module is
imported only when its sub-command runs, so `epam config show` does not pay for torch.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("epam.commands.train", "train EPAM-Net from a config (also under torchrun)"),
    "verify": ("epam.commands.verify", "interface check: build, count parameters, one forward/backward"),
    "config": ("epam.commands.config", "config show CONFIG [--set k=v] | config diff A B"),
    "make-synthetic": ("epam.commands.make_synthetic", "write a small NTU60-format synthetic dataset"),
    "data": ("epam.commands.data", "data tools: crop-rgb, check"),
}


def _usage() -> str:
    lines = ["usage: epam <command> [args]", "", "commands:"]
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name:<15} {text}")
    lines.append("")
    lines.append("Run `epam <command> --help` for the command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        from epam import __version__

        print(__version__)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"epam: unknown command {name!r}; run `epam --help` for the list", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
