"""Bounded YAML reading for configs and run files: ``safe_load`` with limits, torch-free.

Every reader of a config (``epam.config``, the TUI's run readers) goes through here, so one hostile
file cannot hang or exhaust a process:

- ``read_text(path)`` reads only regular files (a FIFO, ``/dev/zero`` or a directory is refused
  without opening it), at most ``MAX_BYTES``; a larger file is refused, not truncated.
- ``safe_load(text)`` is ``yaml.safe_load`` with a ``SafeLoader`` subclass (``Loader``) whose
  composer counts nodes as it builds them: the size of the document *with its aliases expanded*
  (``MAX_NODES``) and its nesting depth (``MAX_DEPTH``, aliases included) are bounded, so an alias
  bomb or a 5,000-level nesting is one ``LimitError`` instead of a hang, a MemoryError or a
  RecursionError. A recursive alias (``&a [*a]``) is refused too.
- Floats as YAML 1.2 writes them: ``1e-3``, ``1E+5``, ``.5e-2`` and ``-2.5e3`` are floats (YAML 1.1,
  PyYAML's default, reads ``1e-3`` as a string). Every YAML 1.1 float form still reads as before.
- An integer of more digits than Python converts (4,300) is a ``yaml.YAMLError``, not a ValueError.

``LimitError`` subclasses ``yaml.YAMLError`` and ``NotRegularFile``/``FileTooLarge`` subclass
``OSError``, so code written as ``except (OSError, yaml.YAMLError)`` needs no change.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver
from yaml.events import AliasEvent, CollectionStartEvent

MAX_BYTES = 1 << 20  # a config is a few KB; a run's config.yaml too
MAX_NODES = 50_000  # nodes after alias expansion (a config has a few hundred)
MAX_DEPTH = 100  # nesting levels, aliases included (a config has about 5)

FLOAT_TAG = "tag:yaml.org,2002:float"
# PyYAML's YAML 1.1 float forms, plus YAML 1.2's: an exponent without a dot or without a sign
FLOAT_RE = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)?
    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class LimitError(yaml.YAMLError):
    """A YAML document over a bound (alias expansion, depth, or a recursive alias): one line."""


class NotRegularFile(OSError):
    """A path that is not a regular file (FIFO, device, directory): never opened for reading."""


class FileTooLarge(OSError):
    """A file larger than the limit given to ``read_text``."""


try:  # libyaml's scanner and parser when PyYAML has them (3x faster); our composer either way
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream: Any) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)


class Loader(Composer, _Parser, SafeConstructor, Resolver):
    """``safe_load``'s loader with a composer that bounds alias expansion and depth as it builds the
    node graph, and a float resolver for YAML 1.2 floats. The C parser's own composer is bypassed."""

    max_nodes = MAX_NODES
    max_depth = MAX_DEPTH

    def __init__(self, stream: Any) -> None:
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._stats: dict[int, tuple[int, int]] = {}  # id(node) -> (expanded size, expanded depth)
        self._keep: list[yaml.Node] = []  # keeps the ids above unique while composing
        self._open: set[str] = set()  # anchors of collections still being composed
        self._depth = 0
        self._total = 0  # values composed so far, aliases counted expanded
        self._aliases = 0

    def compose_document(self) -> Any:
        self._stats.clear()
        self._keep.clear()
        self._total = self._aliases = 0
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent) and event.anchor in self._open:
            raise LimitError(f"recursive alias *{event.anchor} at line {event.start_mark.line + 1} "
                             "(a node that contains itself; write the values out)")
        if self._depth >= self.max_depth:
            raise LimitError(f"nested deeper than {self.max_depth} levels (line {event.start_mark.line + 1}); "
                             "a config is a few levels deep: flatten it")
        anchor = event.anchor if isinstance(event, CollectionStartEvent) else None
        if anchor is not None:
            self._open.add(anchor)
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            if anchor is not None:
                self._open.discard(anchor)
        self._measure(node, event)
        return node

    def _measure(self, node: yaml.Node, event: Any) -> None:
        line = event.start_mark.line + 1
        stats = self._stats.get(id(node))
        if isinstance(event, AliasEvent):
            self._aliases += 1
            self._total += stats[0] if stats else 1
        else:
            self._total += 1
        if self._total > self.max_nodes:
            if self._aliases:
                raise LimitError(f"more than {self.max_nodes:,} values once aliases are expanded (line {line}; "
                                 "an alias bomb?); write the values out or use fewer aliases")
            raise LimitError(f"more than {self.max_nodes:,} values (line {line}); a config has a few hundred: "
                             "shorten the file")
        if stats is None:
            if isinstance(node, yaml.SequenceNode):
                children = [self._stats.get(id(v), (1, 1)) for v in node.value]
            elif isinstance(node, yaml.MappingNode):
                children = [self._stats.get(id(x), (1, 1)) for kv in node.value for x in kv]
            else:
                children = []
            stats = (1 + sum(c[0] for c in children), 1 + max((c[1] for c in children), default=0))
            self._stats[id(node)] = stats
            self._keep.append(node)
        depth = stats[1]
        if depth + self._depth > self.max_depth:
            raise LimitError(f"nested deeper than {self.max_depth} levels once aliases are expanded (line {line}); "
                             "flatten it")

    def construct_yaml_int(self, node: yaml.Node) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError as exc:  # more digits than int() converts
            raise ConstructorError(None, None, f"integer too large ({len(node.value):,} characters)",
                                   node.start_mark) from exc


Loader.add_constructor("tag:yaml.org,2002:int", Loader.construct_yaml_int)
Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != FLOAT_TAG]
    for first, resolvers in Resolver.yaml_implicit_resolvers.items()
}
Loader.add_implicit_resolver(FLOAT_TAG, FLOAT_RE, list("-+0123456789."))


def safe_load(text: str | bytes) -> Any:
    """``yaml.safe_load`` with the bounds of ``Loader``; raises ``yaml.YAMLError`` (``LimitError``
    for a bound) for anything it refuses."""
    loader = Loader(text)
    try:
        return loader.get_single_data()
    except RecursionError:  # a bound above should come first; never a traceback
        raise LimitError("nested too deeply to read (flatten it)") from None
    finally:
        loader.dispose()


def read_text(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes`` bytes.

    Raises ``NotRegularFile`` (a FIFO, device or directory, refused before opening: opening a FIFO
    blocks), ``FileTooLarge``, ``FileNotFoundError``/``OSError``, or ``UnicodeDecodeError``."""
    path = Path(path)
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else "not a regular file")
        raise NotRegularFile(f"{path} is {kind}, not a regular file")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced between stat and open
            raise NotRegularFile(f"{path} is not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(f"{path} is larger than {max_bytes // 1024:,} KiB")
    return data.decode("utf-8")


def load_file(path: str | Path, max_bytes: int = MAX_BYTES) -> Any:
    """``safe_load(read_text(path))``: a YAML file read with every bound above."""
    return safe_load(read_text(path, max_bytes))


def describe(exc: BaseException) -> str:
    """One line for an error of ``read_text``/``safe_load``: where and what (no traceback text)."""
    if isinstance(exc, (NotRegularFile, FileTooLarge)):
        return str(exc)
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start})"
    if isinstance(exc, LimitError):
        return str(exc)
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    context = getattr(exc, "context", None)
    return f"{where}{problem}" + (f" ({context})" if context else "")


__all__ = ["Loader", "LimitError", "NotRegularFile", "FileTooLarge", "safe_load", "read_text", "load_file",
           "describe", "MAX_BYTES", "MAX_NODES", "MAX_DEPTH"]
