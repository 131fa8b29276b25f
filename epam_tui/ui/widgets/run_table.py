"""The monitor's run table: the DataTable with small render caches, and the pure functions that make its
cells (tested without a terminal)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from epam_tui.ui.textual_compat import MeasuredDataTable, shrink_caches

if TYPE_CHECKING:
    from epam_tui.core.registry import RunData
    from epam_tui.core.session import RunRow

STATE_STYLE = {"queued": "blue", "starting": "blue", "running": "green", "finished": "cyan", "failed": "bold red",
               "stopped": "yellow", "stalled": "bold magenta", "inactive": "dim", "unknown": "dim",
               "unreadable": "reverse red", "idle": "italic dark_cyan"}
# (label, key); "mark" is the compare mark (space), "device" where the run trains (GPUs asked, CPU or CUDA)
COLUMNS = (("", "mark"), ("run", "name"), ("kind", "kind"), ("state", "state"), ("epoch", "epoch"),
           ("progress", "progress"), ("ETA", "eta"), ("loss", "loss"), ("best", "best"), ("device", "device"))
MARK = "\N{CHECK MARK}"
ALERT_MARK = {"nonfinite": "NaN", "gpu_low": "GPU low"}


def progress_bar(done: int, total: int | None, width: int = 10) -> str:
    if not total:
        return " " * width
    filled = int(width * min(1.0, done / total))
    return "█" * filled + "░" * (width - filled)


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "\N{HORIZONTAL ELLIPSIS}"


def ending(run: "RunData") -> str:
    """How an ended run ended, for its state cell: ``exit 1``, ``SIGKILL`` (exit.json, else run.json's
    folded ending, else status.json's exit code); "" when unknown or not ended."""
    if run.state not in ("failed", "stopped"):
        return ""
    for source, code_key in ((run.exit, "code"), (run.run, "exit_code"), (run.status, "exit_code")):
        if not isinstance(source, dict):
            continue
        sig, code = source.get("signal"), source.get(code_key)
        if isinstance(sig, str) and sig:
            return sig
        if isinstance(code, int) and not isinstance(code, bool):
            return f"exit {code}"
    return ""


def state_text(run: "RunData") -> str:
    """The state cell as plain text: ``failed (exit 1)``, ``failed (SIGKILL)``, ``running``."""
    how = ending(run)
    return f"{run.state} ({how})" if how else run.state


def reason_text(run: "RunData") -> str:
    """Why the run is in its state and what was not read, for the line under the run table: the reason of
    a state that needs one (``unreadable status.json: pid must be an integer``, ``idle since 14:02 ...``,
    ``failed: exit code 1``) and the run's notes (``config.yaml refused: ...``, a FIFO skipped); "" when
    there is nothing to say."""
    from epam_tui.core.runstate import SHOW_REASON

    parts = []
    reason = " ".join(str(run.reason or "").split())
    if reason and run.state in SHOW_REASON:
        parts.append(reason if reason.startswith(run.state) else f"{run.state}: {reason}")
    parts += [f"note: {' '.join(str(note).split())}" for note in run.notes or []]
    return "  \N{MIDDLE DOT}  ".join(parts)


def device_text(summary: dict[str, Any], narrow: bool = False) -> str:
    """Where the run trains: the trainer's word (``cuda 0,1``, ``cpu (asked 0,1)``), else the GPUs asked.
    Narrow (80 columns): ``cpu (asked 0,1)`` is written ``cpu≠0,1`` (on the CPU, not on 0,1)."""
    text = summary.get("device") or summary.get("gpus") or "-"
    if narrow and text.startswith("cpu (asked ") and text.endswith(")"):
        return "cpu≠" + text[len("cpu (asked "):-1]
    return text


def row_cells(row: "RunRow", narrow: bool = False) -> dict[str, str]:
    """A run's cells (Rich markup) by column key; narrow (< 100 columns) drops the kind and shortens."""
    from epam_tui.core.rundir import fmt_eta

    run, s = row.data, row.data.summary()
    style = STATE_STYLE.get(run.state, "")
    state = f"[{style}]{state_text(run)}[/]" if style else state_text(run)
    marks = [ALERT_MARK[k] for k in sorted(row.alerts) if k in ALERT_MARK]
    if marks:  # alerts stay marked in the list after their notification is gone
        state += " [bold red]![/]" + ",".join(marks)
    if s["loading"] is not None:
        state = f"[blue]reading {100 * s['loading']:.0f}%[/]"
    total = s["total_steps"]
    pct = f"{100 * min(1.0, s['step'] / total):3.0f}%" if total else f"{s['step']}"
    cells = {
        "mark": f"[bold]{MARK}[/]" if row.marked else " ",
        "name": shorten(s["name"], 14 if narrow else 30), "kind": s["kind"], "state": state,
        "epoch": f"{s['epoch']}/{s['max_epochs'] or '?'}",
        "progress": pct if narrow else f"{progress_bar(s['step'], total, 10)} {pct}",
        "eta": fmt_eta(s["eta_s"]) if s["eta_s"] is not None else "", "loss": "" if s["loss"] is None else f"{s['loss']:.4f}",
        "best": "" if s["best_top1"] is None else f"{100 * s['best_top1']:.1f}%", "device": device_text(s, narrow),
    }
    if narrow:
        del cells["kind"]
    return cells


class RunTable(MeasuredDataTable):
    """The run list. DataTable keys its render caches by an update counter that every ``update_cell``
    bumps, so a table updated each second fills them with dead entries up to their default sizes
    (10,000 cells, 1,000 rows, row renderables and lines: ~15 MB in a long session). The run list shows at
    most 8 rows of <= 11 cells (``max-height: 9``), and entries of an earlier update are never hit again, so
    caches of a few updates' worth do; the caller updates only cells whose text changed. (Caches of 400
    cells and 100-200 rows and lines still filled after 3 minutes of a traced soak.)"""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        shrink_caches(self, _cell_render_cache=220, _row_render_cache=40, _row_renderable_cache=40,
                      _line_cache=40)

    def key_at_cursor(self) -> str | None:
        """The row key under the cursor (None for an empty table)."""
        if not self.row_count or not 0 <= self.cursor_row < self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def show_row(self, key: str) -> None:
        """Put the cursor on a row by key (a selection kept across rebuilds); nothing for an unknown key."""
        if key in self.rows:
            index = self.get_row_index(key)
            if index != self.cursor_row:
                self.move_cursor(row=index, animate=False)
