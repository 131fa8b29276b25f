"""The checklist review screen: walk the items in order, tick, note, run `epam verify`, see diagnoses
with their remedies (each previewed as a config diff), launch a remedy or a rerun (press twice to confirm)."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.worker import get_current_worker
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from epam_tui.core.checklist_store import record, set_item
from epam_tui.core.rundir import CONFIG_YAML
from epam_tui.core.checks import CheckResult, evaluate, run_verify
from epam_tui.core.diagnose import Diagnosis, Remedy
from epam_tui.ui.actions import bindings

COLOURS = {"pass": "green", "fail": "bold red", "pending": "yellow", "unknown": "dim"}
PHASE = {"before": "before", "during": "during", "after": "after"}


class ChecklistScreen(Screen):
    ACTION_CONTEXT = "checklist"
    BINDINGS = bindings("checklist")  # epam_tui.ui.actions

    def __init__(self, run_dir: str | Path):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.results: list[CheckResult] = []
        self.remedies: list[tuple[Diagnosis, Remedy]] = []
        self.remedy_index: int | None = None
        self.armed: str | None = None  # the action waiting for its confirming second key press

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
        """Re-evaluate at once without loading checkpoints, then prove the best one loads in a worker."""
        self._fill(evaluate(self.run_dir, load_checkpoint=False))
        self._load_best()

    @work(thread=True, exclusive=True, group="ckpt-load")
    def _load_best(self) -> None:
        results = evaluate(self.run_dir)  # torch.load(weights_only=True) in a subprocess, cached per file
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._fill, results)

    def _fill(self, results: list[CheckResult]) -> None:
        self.results = results
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
        cfg = self.run_dir / CONFIG_YAML
        self.app.call_from_thread(self.notify, "running epam verify (a minute at full size)...")
        entry = run_verify(cfg)
        record(self.run_dir, "verify", entry)
        self.app.call_from_thread(self.notify, f"epam verify: {'passed' if entry['ok'] else 'FAILED'} {entry['message']}")
        self.app.call_from_thread(self.reload)

    def action_diagnose(self) -> None:
        """First press: list diagnoses and select the first remedy; each further press selects the next."""
        from epam_tui.core.diagnose import diagnose
        from epam_tui.core.registry import load_run

        self.armed = None
        if self.remedy_index is None:
            self.remedies = [(d, m) for d in diagnose(load_run(self.run_dir)) for m in d.remedies]
            self.remedy_index = 0
        elif self.remedies:
            self.remedy_index = (self.remedy_index + 1) % len(self.remedies)
        if not self.remedies:
            self.query_one("#cl-detail", Static).update("diagnosis: nothing to diagnose")
            return
        self.query_one("#cl-detail", Static).update(self._remedy_text())

    def _remedy_text(self) -> str:
        from epam_tui.core.diagnose import preview_remedy

        diag, remedy = self.remedies[self.remedy_index or 0]
        kinds = sorted({d.kind for d, _ in self.remedies})
        lines = [f"diagnoses: {', '.join(kinds)}", f"[b]{diag.kind}[/b]: {diag.evidence}",
                 f"remedy {(self.remedy_index or 0) + 1}/{len(self.remedies)}: [b]{remedy.name}[/b] - {remedy.description}"]
        path, changes, problem = preview_remedy(self.run_dir, remedy)
        if path is None:
            lines.append(f"[red]cannot derive: {problem}[/]")
        else:
            lines += [f"  {key}: {before!r} -> {after!r}" for key, before, after in changes]
            lines.append(f"config {path}  (d: next remedy, l l: launch it)")
        return "\n".join(lines)

    def _confirm(self, what: str, prompt: str) -> bool:
        """A second press of the same key confirms."""
        if self.armed == what:
            self.armed = None
            return True
        self.armed = what
        self.notify(prompt)
        return False

    def action_launch(self) -> None:
        if self.remedy_index is None or not self.remedies:
            self.notify("press d first to pick a remedy")
            return
        _, remedy = self.remedies[self.remedy_index]
        if self._confirm("launch", f"launch remedy '{remedy.name}' on the run's GPUs? press l again to confirm"):
            self._launch_worker("remedy", remedy)

    def action_rerun(self) -> None:
        if self._confirm("rerun", "launch a rerun with the same config and seed? press r again to confirm"):
            self._launch_worker("rerun", None)

    @work(thread=True, exclusive=True, group="launch")
    def _launch_worker(self, kind: str, remedy: Remedy | None) -> None:
        from epam_tui.core import diagnose as dg
        from epam_tui.core.launch import LaunchError
        from epam_tui.core.runs import RunError

        try:
            rec = dg.launch_remedy(self.run_dir, remedy) if remedy is not None else dg.launch_rerun(self.run_dir)
        except (LaunchError, RunError, OSError) as exc:
            self.app.call_from_thread(self.notify, f"launch refused: {exc}", severity="error")
            return
        self.app.call_from_thread(self.notify, f"launched {rec.get('name')} ({rec.get('work_dir')})")
        self.app.call_from_thread(self.reload)

    def action_back(self) -> None:
        box = self.query_one("#cl-note", Input)
        if box.display:
            box.display = False
            self.query_one("#items", DataTable).focus()
            return
        self.app.pop_screen()
