"""Checklist screen with Pilot: `v` records epam verify, `d` previews remedies as a config diff,
`l` launches only after a confirming second press, `e` hands the evidence location to the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, Static

from epam_tui.core.checklist_store import load_store
from epam_tui.ui.screens import checklist as screen_mod
from tests.tui.test_diagnose_compare_report import fake_run


class Host(App):
    def __init__(self, run: Path):
        super().__init__()
        self.run_dir = run
        self.evidence: list[tuple[Path, dict]] = []

    def on_mount(self) -> None:
        self.push_screen(screen_mod.ChecklistScreen(self.run_dir))

    def show_evidence(self, run_dir: Path, where: dict) -> None:
        self.evidence.append((run_dir, where))


def detail(app: App) -> str:
    return str(app.screen.query_one("#cl-detail", Static).render())


async def test_verify_diagnose_launch_evidence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from epam_tui.core import diagnose as dg

    run = fake_run(tmp_path, "slow", [4.0 - 0.001 * i for i in range(40)], [0.1] * 10,
                   [0.1, 0.2, 0.15, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2])
    monkeypatch.setattr(screen_mod, "run_verify", lambda cfg: {"ok": True, "message": "all checks passed", "time": 1.0})
    launched = []
    monkeypatch.setattr(dg, "launch_remedy", lambda run_dir, remedy: launched.append(remedy.name) or
                        {"name": "slow-x", "work_dir": str(tmp_path / "slow-x")})
    app = Host(run)
    async with app.run_test(size=(150, 45)) as pilot:
        await pilot.pause(0.3)
        await pilot.press("v")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        assert load_store(run)["verify"]["ok"] is True
        assert next(r for r in app.screen.results if r.id == "verify").verdict == "pass"

        await pilot.press("d")
        text = detail(app)
        assert "too slow" in text and "A: lr 0.002" in text and "optimizer.lr: 0.0015 -> 0.002" in text
        await pilot.press("d")  # next remedy: the warmup, previewed as a scheduler diff
        assert "B: warmup" in detail(app) and "SequentialLR" in detail(app)
        await pilot.press("l")
        await pilot.pause(0.1)
        assert launched == []  # not yet: the first press only asks
        await pilot.press("l")
        await app.workers.wait_for_complete()
        assert launched == ["B: warmup"]

        table = app.screen.query_one("#items", DataTable)
        table.move_cursor(row=[r.id for r in app.screen.results].index("val_improving"))
        await pilot.press("e")
        assert app.evidence == [(run, {"epoch": 3})]
