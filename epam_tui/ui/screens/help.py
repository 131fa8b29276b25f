"""The help screen: the keys of the screen it was opened from (``epam_tui.ui.actions``)."""

from __future__ import annotations

from textual import events
from textual.screen import ModalScreen
from textual.widgets import Static

from epam_tui.ui.actions import help_text


class HelpScreen(ModalScreen):
    """Any key closes it, and only it: the key is consumed here, so Escape does not also reach the screen
    below (which would close the checklist too)."""

    def __init__(self, context: str = "monitor"):
        super().__init__()
        self.context = context

    def compose(self):
        yield Static(help_text(self.context), id="help")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        if self.is_current:
            self.dismiss()

    def on_click(self) -> None:
        if self.is_current:
            self.dismiss()
