"""The checklist review screen: walk the items in order, tick, note, run `epam verify`, see diagnoses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from epam_tui.core.checklist_store import load_store, record, set_item
from epam_tui.core.checks import CheckResult, evaluate

COLOURS = {"pass": "green", "fail": "bold red", "pending": "yellow", "unknown": "dim"}
PHASE = {"before": "before", "during": "during", "after": "after"}


class ChecklistScreen(Screen):
    BINDINGS = [
        Binding("space", "tick", "tick"),
        Binding("n", "note", "note"),
        Binding("e", "evidence", "evidence"),
        Binding("v", "verify", "epam verify"),
        Binding("d", "diagnose", "diagnose"),
        Binding("escape", "back", "back"),
    ]

    def __init__(self, run_dir: str | Path):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.results: list[CheckResult] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"checklist of {self.run_dir}", id="cl-title")
        yield DataTable(id="items", cursor_type="row")
        yield Static("", id="cl-detail")
        yield Input(placeholder="note for this item (Enter saves, Esc cancels)", id="cl-note")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#items", DataTable)
        for label in ("phase", "item", "auto", "manual", "evidence"):
            table.add_column(label, key=label)
        self.query_one("#cl-note", Input).display = False
        self.reload()

    def reload(self) -> None:
        self.results = evaluate(self.run_dir)
        table = self.query_one("#items", DataTable)
        row = table.cursor_row
        table.clear()
        for r in self.results:
            manual = ""
            if r.manual:
                manual = ("[green]ticked[/]" if r.manual.get("tick") else "") + (" note" if r.manual.get("note") else "")
            table.add_row(PHASE[r.phase], r.title, f"[{COLOURS[r.verdict]}]{r.verdict}[/]", manual,
                          r.evidence[:90], key=r.id)
        if self.results:
            table.move_cursor(row=min(row, len(self.results) - 1))
        self._show_detail()

    @property
    def current(self) -> CheckResult | None:
        table = self.query_one("#items", DataTable)
        return self.results[table.cursor_row] if self.results and 0 <= table.cursor_row < len(self.results) else None

    def _show_detail(self) -> None:
        r = self.current
        if r is None:
            return
        note = f"\nnote: {r.manual['note']}" if r.manual and r.manual.get("note") else ""
        where = f"\nevidence at {r.where}" if r.where else ""
        self.query_one("#cl-detail", Static).update(f"[b]{r.title}[/b]: {r.effective}\n{r.evidence}{where}{note}")

    @on(DataTable.RowHighlighted, "#items")
    def _highlighted(self) -> None:
        self._show_detail()

    def action_tick(self) -> None:
        r = self.current
        if r is not None:
            set_item(self.run_dir, r.id, tick=not (r.manual or {}).get("tick", False))
            self.reload()

    def action_note(self) -> None:
        box = self.query_one("#cl-note", Input)
        r = self.current
        box.value = (r.manual or {}).get("note", "") if r else ""
        box.display = True
        box.focus()

    @on(Input.Submitted, "#cl-note")
    def _save_note(self, event: Input.Submitted) -> None:
        r = self.current
        if r is not None:
            set_item(self.run_dir, r.id, note=event.value)
        event.input.display = False
        self.query_one("#items", DataTable).focus()
        self.reload()

    def action_evidence(self) -> None:
        r = self.current
        if r is None or not r.where:
            self.notify("no evidence location for this item")
            return
        show = getattr(self.app, "show_evidence", None)
        if callable(show):
            show(self.run_dir, r.where)
        self.notify(f"{r.title}: see {r.where}")

    @work(thread=True, exclusive=True, group="verify")
    def action_verify(self) -> None:
        cfg = self.run_dir / "config.yaml"
        self.app.call_from_thread(self.notify, "running epam verify (a minute at full size)...")
        proc = subprocess.run([sys.executable, "-m", "epam.cli", "verify", str(cfg), "--json", "--no-macs"],
                              capture_output=True, text=True)
        try:
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            entry = {"ok": bool(result["ok"]), "message": result["message"], "failed_check": result.get("failed_check")}
        except (ValueError, IndexError, KeyError):
            entry = {"ok": False, "message": (proc.stderr.strip().splitlines() or ["epam verify failed"])[-1]}
        record(self.run_dir, "verify", entry)
        self.app.call_from_thread(self.reload)

    def action_diagnose(self) -> None:
        from epam_tui.core.diagnose import diagnose
        from epam_tui.core.registry import load_run

        found = diagnose(load_run(self.run_dir))
        text = "\n".join(f"[b]{d.kind}[/b]: {d.evidence}\n  remedies: " + "; ".join(f"{m.name} ({m.description})"
                                                                             for m in d.remedies) for d in found)
        self.query_one("#cl-detail", Static).update(text or "nothing to diagnose")

    def action_back(self) -> None:
        box = self.query_one("#cl-note", Input)
        if box.display:
            box.display = False
            self.query_one("#items", DataTable).focus()
            return
        self.app.pop_screen()
