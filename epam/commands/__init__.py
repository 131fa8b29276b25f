"""The `epam` sub-commands: one module per command, each exposing ``main(argv: list[str]) -> int``.

``epam.cli`` imports a module only when its command runs (so `epam config show` does not pay for
torch). A command parses its arguments, calls the library (``epam.config``, ``epam.data``,
``epam.model``, ``epam.engine``) and prints; the library modules hold no argument parsing.
"""
