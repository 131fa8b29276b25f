"""The help screen: every key of the monitor."""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]epam-tui keys[/b]

  up/down      select a run (mouse works too)
  [ / ]        less / more loss smoothing (debiased EMA, TensorBoard's)
  /            filter the log: plain text, or /regex/; Enter applies, Esc clears
  f            follow the log on/off
  l            log level: all lines -> warnings and errors -> errors only
  r            rescan the run roots for new runs
  n            new run: pick a config and GPUs, preview the command, launch
  s            stop the selected run (SIGINT, then SIGTERM, then SIGKILL)
  R            restart a stopped or failed run with --resume auto
  c            checklist of the selected run (before / during / after training)
  v            compare all runs (loss, LR, accuracy, the seed's table)
  ctrl+p       command palette
  ?            this help        q  quit (runs keep training)

Runs never depend on this program: quit it at any time and start it again; it rereads every run
from disk. GPU utilisation comes from NVML: the share of time a kernel was running, not occupancy.
Press any key to close."""


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "close")]

    def compose(self):
        yield Static(HELP, id="help")

    def on_key(self) -> None:
        self.dismiss()
