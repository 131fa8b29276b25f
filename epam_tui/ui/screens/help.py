"""The help screen: the keys of the screen it was opened from (``epam_tui.ui.actions``)."""

from __future__ import annotations

from textual import events
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from epam_tui.ui.actions import help_text


SCROLL_KEYS = {"up": -1, "down": 1, "pageup": -10, "pagedown": 10}


class HelpScreen(ModalScreen):
    """Any key closes it, and only it: the key is consumed here, so Escape does not also reach the screen
    below (which would close the checklist too)."""

    def __init__(self, context: str = "monitor"):
        super().__init__()
        self.context = context

    def compose(self):
        with VerticalScroll(id="help"):
            yield Static(help_text(self.context), id="help-text")

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        scroll = SCROLL_KEYS.get(event.key)
        if scroll is not None:  # a short terminal (80x24) shows part of it: the arrows scroll
            self.query_one("#help", VerticalScroll).scroll_relative(y=scroll, animate=False)
        elif self.is_current:
            self.dismiss()

    def on_click(self) -> None:
        if self.is_current:
            self.dismiss()
