"""The launch screen's GPU list: a SelectionList whose rows say ``[x]`` / ``[ ]`` (Textual's toggle button
differs only by colour between picked and not picked) and that always has a row highlighted, so the first
Space toggles a GPU instead of only highlighting one."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widgets import OptionList, SelectionList
from textual.widgets.option_list import OptionDoesNotExist

CHECKED, UNCHECKED = "[x] ", "[ ] "


class GpuList(SelectionList[str]):
    def _get_left_gutter_width(self) -> int:  # Textual's hook: the width drawn before each prompt
        return len(CHECKED)

    def render_line(self, y: int) -> Strip:
        line = OptionList.render_line(self, y)  # the prompt alone, without Textual's coloured button
        index = self.scroll_offset.y + y
        try:
            selection = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        picked = selection.value in self.selected
        base = next(iter(line)).style or self.rich_style
        style = base + Style(bold=picked, meta={"option": index})  # a click on the mark toggles the row
        return Strip([Segment(CHECKED if picked else UNCHECKED, style), *line])

    def ensure_highlight(self) -> None:
        """Highlight the first row when none is (after the options were replaced)."""
        if self.highlighted is None and self.option_count:
            self.highlighted = 0
