"""One table of the TUI's actions: each key, what it does, the screen it works on.

The table feeds the screens' ``BINDINGS`` (``bindings(context)``), the command palette
(``ActionCommands``, a Textual command provider) and the help screen (``help_text(context)``), so the
three always agree and help shows the keys of the screen it was opened from.

A context is the screen an action belongs to: ``global`` (every screen), ``monitor``, ``checklist``,
``launch``, ``compare``. A screen names its context in ``ACTION_CONTEXT``. A row with an empty
``action`` only documents a key another widget handles (arrows in a table, ctrl+p).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from rich.markup import escape
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

CONTEXTS = ("global", "monitor", "checklist", "launch", "compare")


@dataclass(frozen=True)
class Action:
    keys: str  # Textual key names, comma-separated ("question_mark,f1")
    action: str  # the action string bound ("app.checklist", "smoothing(0.1)"); "" documents a key only
    description: str  # the help line and the palette's help text
    context: str  # one of CONTEXTS
    label: str = ""  # the footer's short label (default: the description)
    show: bool = True  # shown in the footer
    palette: str = ""  # the command palette's title; "" keeps it out of the palette
    priority: bool = False
    display: str = ""  # how help writes the keys, when not derived from ``keys``


ACTIONS: tuple[Action, ...] = (
    # --- every screen
    Action("question_mark,f1", "app.help", "help: the keys of this screen", "global", "help", palette="Help"),
    Action("ctrl+p", "", "command palette: every action by name", "global"),
    # --- the monitor (in footer order)
    Action("up,down", "", "select a run (mouse works too)", "monitor", display="up/down"),
    Action("n", "app.launch", "new run: pick a config and GPUs, preview the command, launch", "monitor", "new run",
           palette="New run"),
    Action("c", "app.checklist", "checklist of the selected run (before / during / after training)", "monitor",
           "checklist", palette="Checklist"),
    Action("space", "mark", "mark / unmark the selected run for compare", "monitor", "mark",
           palette="Mark run for compare"),
    Action("v", "app.compare", "compare the marked runs (all runs when none is marked)", "monitor", "compare",
           palette="Compare runs"),
    Action("s", "app.stop_run", "stop the selected run (SIGINT, then SIGTERM, then SIGKILL)", "monitor",
           "stop", palette="Stop run"),
    Action("R", "app.restart_run", "restart a stopped or failed run with --resume auto", "monitor", "restart",
           show=False, palette="Restart run"),
    Action("slash", "filter", "filter the log: plain text, or /regex/; Enter applies, Esc clears", "monitor",
           "filter", palette="Filter the log"),
    Action("escape", "clear_filter", "clear the log filter", "monitor", "clear filter", show=False),
    Action("o", "log_source", "log pane: train.log <-> stdout.log (the processes' output and tracebacks)",
           "monitor", "stdout log", palette="Switch train.log / stdout.log"),
    Action("f", "follow", "follow the log on/off", "monitor", "follow", show=False, palette="Follow the log on/off"),
    Action("l", "level", "log level: all lines -> warnings and errors -> errors only", "monitor", "log level",
           show=False, palette="Log level"),
    Action("left_square_bracket", "smoothing(-0.1)", "less loss smoothing (debiased EMA, TensorBoard's)",
           "monitor", "less smooth", show=False),
    Action("right_square_bracket", "smoothing(0.1)", "more loss smoothing", "monitor", "more smooth", show=False),
    Action("r", "rescan", "rescan the run roots for new runs", "monitor", "rescan", show=False,
           palette="Rescan runs"),
    Action("q", "app.quit", "quit (runs keep training)", "monitor", "quit"),
    # --- the checklist
    Action("up,down", "", "move between the items", "checklist", display="up/down"),
    Action("space", "tick", "tick / untick the item by hand", "checklist", "tick", palette="Tick item"),
    Action("n", "note", "write a note on the item (Enter saves, Esc cancels)", "checklist", "note",
           palette="Note on item"),
    Action("e", "evidence", "where the item's evidence is", "checklist", "evidence", palette="Show evidence"),
    Action("v", "verify", "run `epam verify` on the run's config", "checklist", "epam verify",
           palette="epam verify"),
    Action("d", "diagnose", "diagnose the run; each further press shows the next remedy", "checklist",
           "diagnose", palette="Diagnose / next remedy"),
    Action("l", "launch", "launch the shown remedy (press twice to confirm)", "checklist", "launch remedy",
           palette="Launch remedy"),
    Action("r", "rerun", "rerun with the same config and seed (press twice to confirm)", "checklist",
           "rerun", palette="Rerun"),
    Action("escape", "back", "back to the monitor (or cancel the note)", "checklist", "back"),
    # --- the launch screen
    Action("tab", "", "next field: configs, config path, overrides, run name, GPUs", "launch"),
    Action("ctrl+l", "launch", "launch the previewed command", "launch", "Launch", priority=True, palette="Launch"),
    Action("a", "apply_scaling", "apply the scaled learning rate", "launch", "Apply scaled lr",
           palette="Apply scaled lr"),
    Action("c", "toggle_cpu", "train on the CPU / on the GPUs", "launch", "CPU/GPU", palette="CPU / GPU"),
    Action("plus,equals_sign", "cpu_procs(1)", "one CPU process more", "launch", "+proc", show=False),
    Action("minus", "cpu_procs(-1)", "one CPU process fewer", "launch", "-proc", show=False),
    Action("r", "refresh_gpus", "sample the GPUs again", "launch", "Refresh GPUs", palette="Refresh GPUs"),
    Action("escape", "back", "leave a text field, then back to the monitor", "launch", "Back"),
    # --- compare
    Action("escape,q", "app.pop_screen", "back to the monitor", "compare", "back"),
)

NOTES = {
    "monitor": ("Runs never depend on this program: quit it at any time and start it again; it rereads every run\n"
                "from disk. GPU utilisation comes from NVML: the share of time a kernel was running, not occupancy."),
    "launch": "In the GPU list, space selects a GPU ([x]); busy ones ask first.",
}

TITLES = {"monitor": "monitor", "checklist": "checklist", "launch": "new run", "compare": "compare runs"}

KEY_NAMES = {"question_mark": "?", "slash": "/", "left_square_bracket": "[", "right_square_bracket": "]",
             "plus": "+", "minus": "-", "equals_sign": "=", "escape": "Esc", "f1": "F1", "space": "space",
             "tab": "Tab"}


def actions_for(context: str) -> list[Action]:
    """The actions of a screen: its own, then those of every screen."""
    return [a for a in ACTIONS if a.context == context] + [a for a in ACTIONS if a.context == "global"
                                                          and context != "global"]


def bindings(context: str) -> list[Binding]:
    """The ``BINDINGS`` of a screen (or of the app, for ``global``)."""
    return [Binding(a.keys, a.action, a.label or a.description, show=a.show, priority=a.priority)
            for a in ACTIONS if a.context == context and a.action]


def key_text(action: Action) -> str:
    """How a user writes the keys: ``question_mark,f1`` -> ``? F1``."""
    return action.display or " ".join(KEY_NAMES.get(k, k) for k in action.keys.split(","))


def help_text(context: str) -> str:
    """The help screen's text (Rich markup) for the screen it was opened from."""
    rows = actions_for(context)
    width = max(len(key_text(a)) for a in rows) + 2
    lines = [f"[b]epam-tui keys: {TITLES.get(context, context)}[/b]", ""]
    lines += [escape(f"  {key_text(a):<{width}}{a.description}") for a in rows]
    if context in NOTES:
        lines += ["", escape(NOTES[context])]
    lines += ["", "Arrows scroll; any other key closes this help."]
    return "\n".join(lines)


def context_of(screen: Any) -> str:
    return getattr(screen, "ACTION_CONTEXT", "global")


class ActionCommands(Provider):
    """The command palette's entries: the actions of the screen it was opened from, by name."""

    def _commands(self) -> list[Action]:
        return [a for a in actions_for(context_of(self.screen)) if a.palette and a.action]

    def _run(self, action: Action):
        return partial(self.screen.run_action, action.action)

    async def discover(self) -> Hits:
        for a in self._commands():
            yield DiscoveryHit(a.palette, self._run(a), help=f"{key_text(a)}: {a.description}")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for a in self._commands():
            score = matcher.match(a.palette)
            if score > 0:
                yield Hit(score, matcher.highlight(a.palette), self._run(a), help=f"{key_text(a)}: {a.description}")
