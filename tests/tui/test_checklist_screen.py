"""The checklist review screen with Pilot: walk, tick, note, persist, reload."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.app import App
from textual.widgets import DataTable

from epam_tui.core.checklist_store import load_store
from epam_tui.ui.screens.checklist import ChecklistScreen

FIXTURE = Path(__file__).parent / "fixtures" / "runs" / "demo-finished"


class Host(App):
    def __init__(self, run: Path):
        super().__init__()
        self.run_dir = run

    def on_mount(self) -> None:
        self.push_screen(ChecklistScreen(self.run_dir))


async def test_tick_note_persist_reload(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    app = Host(run)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.3)
        screen = app.screen
        assert isinstance(screen, ChecklistScreen) and len(screen.results) == 13
        table = screen.query_one("#items", DataTable)
        gpu_row = [r.id for r in screen.results].index("gpu_util")
        table.move_cursor(row=gpu_row)
        await pilot.press("space")
        await pilot.press("n")
        for ch in "ok":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause(0.2)
        item = next(r for r in screen.results if r.id == "gpu_util")
        assert item.effective == "pass" and item.manual["note"] == "ok"
    assert load_store(run)["items"]["gpu_util"] == {**load_store(run)["items"]["gpu_util"], "tick": True, "note": "ok"}
    again = Host(run)  # a new session shows the tick
    async with again.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.3)
        item = next(r for r in again.screen.results if r.id == "gpu_util")
        assert item.manual["tick"] is True and "ticked" in str(again.screen.query_one("#items", DataTable).get_row("gpu_util")[3])


async def test_compare_screen_table(tmp_path: Path) -> None:
    from epam_tui.ui.screens.compare import CompareScreen

    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(FIXTURE, a)
    shutil.copytree(FIXTURE.parent / "demo-running", b)

    class CompareHost(App):
        def on_mount(self) -> None:
            self.push_screen(CompareScreen([a, b]))

    app = CompareHost()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause(0.3)
        table = app.screen.query_one("#cmp-table", DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert [r[0] for r in rows] == ["a", "b"] and rows[0][3] == "44.0%"  # final val acc of the fixture
        diff = str(app.screen.query_one("#cmp-diff").render())
        assert "train.max_epochs" in diff
        for name, title in (("loss", "loss (EMA 0.6)"), ("lr", "lr"), ("val", "val top-1 %")):
            chart = app.screen.query_one(f"#cmp-{name}")
            shown = "\n".join(chart.render_line(y).text for y in range(chart.size.height))
            assert title in shown.splitlines()[0]  # the title the screen set, not the widget's default
            assert "┤" in shown and "└┬" in shown  # y and x axes drawn
            if name != "val":  # both runs have train records (only "a" has a val epoch)
                assert "⢕⢕ a" in shown and "⢕⢕ b" in shown  # both runs in the legend
