"""The one yes/no modal: ``Confirm(question, details, title)`` answers True on y, False on n or Escape
(``push_screen(Confirm(...), callback)``). ``ConfirmBusy`` is the launch screen's question about a busy GPU."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class Confirm(ModalScreen[bool]):
    """A question with optional detail lines (shown as plain text, never as markup)."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n", "answer(False)", "no"),
                Binding("escape", "answer(False)", "no", show=False)]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 96; max-width: 100%; height: auto; max-height: 100%; padding: 1 2;
                         border: round $primary; background: $surface; overflow-y: auto; }
    Confirm.-warning > Vertical { width: 70; border: thick $warning; }
    """

    def __init__(self, question: str, details: Sequence[str] = (), title: str = "", warning: bool = False):
        super().__init__(classes="-warning" if warning else None)
        self.question, self.details, self.title_text = question, list(details), title

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            if self.title_text:
                yield Static(f"[b]{escape(self.title_text)}[/b]")
            if self.details:
                yield Static("\n".join(f"  - {escape(d)}" for d in self.details))
            yield Static(f"{escape(self.question)}\n\n[b]y[/b] yes   [b]n[/b] no" if not self.title_text
                         else f"{escape(self.question)}  [b]y[/b] yes   [b]n[/b] no")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class ConfirmBusy(Confirm):
    """Asks before a busy GPU joins the selection: y launches on it anyway, n/escape leaves it out."""

    def __init__(self, gpu_label: str, reasons: list[str]):
        super().__init__("Launch on it anyway?", reasons, title=f"{gpu_label} is busy", warning=True)
        self.gpu_label, self.reasons = gpu_label, reasons
