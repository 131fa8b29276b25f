"""The monitor's side panels as text: the GPU panel (pure, tested without a terminal) and a Static update
that skips the layout pass when the panel's height cannot change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from epam_tui.core.gpus import GpuSnapshot
from epam_tui.ui.widgets.run_table import progress_bar

if TYPE_CHECKING:
    from epam_tui.core.registry import RunData


def gpu_panel_text(snap: GpuSnapshot | None, run: RunData | None, narrow: bool = False) -> str:
    """The GPU panel as Rich markup (pure: tested without a terminal)."""
    if snap is None:
        return "GPUs: sampling..."
    if snap.error:
        return f"[yellow]no GPU telemetry:[/] {snap.error}"
    ours = {str(g.get("uuid")) for g in ((run.run or {}).get("gpus") or [])} if run else set()
    lines = []
    for g in snap.devices:
        mark = "[bold green]*[/]" if g.uuid in ours else " "
        util = "  n/a" if g.util is None else f"{g.util:4.0f}%"
        temp = "" if g.temperature is None else f" {g.temperature:.0f}C"
        power = "" if g.power is None else f" {g.power:.0f}W"
        name = "" if narrow else f" {g.name[:14]:<14}"
        lines.append(f"{mark}{g.index}{name} util{util}{temp}{power}")
        lines.append(f"   mem {g.memory_used / 2**30:5.1f}/{g.memory_total / 2**30:.0f}G "
                     f"{progress_bar(g.memory_used, g.memory_total, 8)}")
        for p in g.processes[:3]:
            mem = "" if p.used_memory is None else f" {p.used_memory / 2**20:.0f}MiB"
            owner = f" [bold green]{run.name[:14]}[/]" if run and g.uuid in ours else ""
            who = "" if narrow else f" {p.user[:8]} {p.name[:10]}"
            lines.append(f"   pid {p.pid}{who}{mem}{owner}")
    return "\n".join(lines) if lines else "NVML reports no GPU"


def run_proc_text(name: str, sample: tuple[float, int, int] | None) -> str:
    """The selected run's process tree: CPU (100% = one core), resident memory, process count."""
    if sample is None:
        return ""
    cpu, rss, n = sample
    return f"{name[:16]}: CPU {cpu:.0f}%  RSS {rss / 2**30:.1f}G  ({n} proc{'s' if n != 1 else ''})"


_ONE_CELL = frozenset(map(chr, range(0x20, 0x7F))) | frozenset("\N{FULL BLOCK}\N{LIGHT SHADE}\N{HORIZONTAL ELLIPSIS}")


def update_text(widget: Static, markup: str) -> None:
    """``widget.update(markup)`` for panels redrawn every second: nothing when the text is what the widget
    shows; no layout pass (a reflow of the whole screen) when its height cannot change: as many lines as
    before at the same width and, before and now, every line fits that width in characters that are one
    cell each (so none wraps)."""
    if getattr(widget, "_shown_markup", None) == markup:
        return
    content = Content.from_markup(markup)
    lines = content.plain.split("\n")
    width = widget.content_size.width
    fits = width > 0 and all(len(line) <= width and _ONE_CELL.issuperset(line) for line in lines)
    shape = (len(lines), width) if fits else None  # its height, then, and the width it was laid out at
    widget.update(content, layout=shape is None or getattr(widget, "_shown_shape", None) != shape)
    widget._shown_markup, widget._shown_shape = markup, shape
