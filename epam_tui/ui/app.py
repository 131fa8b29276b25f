"""The epam-tui application: the monitor screen, plus launch / checklist / compare / help screens."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from textual.app import App
from textual.screen import Screen

from epam_tui.core.gpus import GpuSampler, open_backend
from epam_tui.ui.actions import ActionCommands, bindings, context_of
from epam_tui.ui.screens.help import HelpScreen
from epam_tui.ui.screens.monitor import MonitorScreen
from epam_tui.ui.widgets.confirm import Confirm

__all__ = ["Confirm", "EpamTuiApp", "HelpScreen"]


class EpamTuiApp(App):
    TITLE = "epam-tui"
    CSS_PATH = "app.tcss"
    BINDINGS = bindings("global")  # epam_tui.ui.actions: one table feeds every screen's keys, help and palette
    COMMANDS = App.COMMANDS | {ActionCommands}

    def __init__(self, root: Path | str | Iterable[Path | str] = "work_dirs", gpu_backend: Any = None,
                 start: str = "monitor", launch_args: dict | None = None, poll_interval: float = 1.0):
        super().__init__()
        roots = [root] if isinstance(root, (str, Path)) else list(root)
        self.roots = [Path(r) for r in roots]
        self.gpu_backend = gpu_backend if gpu_backend is not None else open_backend("auto")
        self.start = start
        self.launch_args = launch_args or {}
        self.monitor = MonitorScreen(self.roots, GpuSampler(self.gpu_backend), poll_interval)

    def on_mount(self) -> None:
        self.push_screen(self.monitor)
        if self.start == "launch":
            self.action_launch()

    # ------------------------------------------------------------------ actions
    def action_help(self) -> None:
        """The keys of the screen help was opened from."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(context_of(self.screen)))

    def action_launch(self) -> None:
        try:
            from epam_tui.ui.screens.launch import LaunchScreen
        except ImportError as exc:
            self.notify(f"launcher unavailable: {exc}", severity="error")
            return
        args = {"gpu_backend": self.gpu_backend, "root": str(self.roots[0]), **self.launch_args}
        self.push_screen(LaunchScreen(**args))

    def open_run(self, run_dir: str | Path) -> None:
        """Show a run (called by the launch screen after a launch)."""
        while len(self.screen_stack) > 2 and self.screen is not self.monitor:
            self.pop_screen()
        if self.screen is not self.monitor and isinstance(self.screen, Screen) and self.screen in self.screen_stack:
            self.pop_screen()
        self.monitor.add_run(Path(run_dir))
        self.call_after_refresh(self.monitor.focus_table)  # arrow keys move in the run list at once

    def action_checklist(self) -> None:
        selected = self.monitor.session.selected
        if selected is None:
            self.notify("no run selected", severity="warning")
            return
        try:
            from epam_tui.ui.screens.checklist import ChecklistScreen
        except ImportError as exc:
            self.notify(f"checklist unavailable: {exc}", severity="error")
            return
        self.push_screen(ChecklistScreen(selected))

    def action_compare(self) -> None:
        runs = self.monitor.session.compare_runs()  # the marked runs (space), else all
        if len(runs) < 2:
            self.notify("compare needs two runs: mark them with space (or mark none to compare all)",
                        severity="warning")
            return
        try:
            from epam_tui.ui.screens.compare import CompareScreen
        except ImportError as exc:
            self.notify(f"compare unavailable: {exc}", severity="error")
            return
        self.push_screen(CompareScreen(runs))

    def action_stop_run(self) -> None:
        run = self.monitor.session.current
        if run is None or run.state not in ("running", "stalled", "queued"):  # queued: a Slurm job, scancel
            self.notify("the selected run is not running", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.stop_worker(run.path)

        self.push_screen(Confirm(f"Stop {run.name}? (SIGINT, then SIGTERM, then SIGKILL)"), answered)

    def action_restart_run(self) -> None:
        run = self.monitor.session.current
        if run is None or run.state not in ("stopped", "failed"):
            self.notify("only a stopped or failed run can be restarted", severity="warning")
            return

        def restart() -> None:
            from epam_tui.core.runs import restart as restart_run

            try:
                restart_run(run.path)
                self.call_from_thread(self.notify, f"restarted {run.name} with --resume auto")
            except Exception as exc:  # noqa: BLE001 - shown, never fatal
                self.call_from_thread(self.notify, f"restart failed: {exc}", severity="error")

        self.run_worker(restart, thread=True, group="restart")

    def stop_worker(self, path: Path) -> None:
        def stop() -> None:
            from epam_tui.core.runs import stop as stop_run

            try:
                stop_run(path)
                self.call_from_thread(self.notify, f"stopped {path.name}")
            except Exception as exc:  # noqa: BLE001 - shown, never fatal
                self.call_from_thread(self.notify, f"stop failed: {exc}", severity="error")

        self.run_worker(stop, thread=True, group="stop")
