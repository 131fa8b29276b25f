"""Pilot tests of the launch screen against the fake GPU backend."""

from __future__ import annotations

import json
import re

import pytest

from textual.app import App
from textual.widgets import Input, SelectionList

from epam_tui.core import runs
from epam_tui.core.gpus import FakeBackend, GpuUnavailable
from epam_tui.ui.screens.launch import ConfirmBusy, LaunchScreen
from fixtures.launch_helpers import busy_gpu, fake_command, gpu, make_config, settle, static_text, wait_for


@pytest.fixture(autouse=True)
def _no_torch_probe(monkeypatch):
    """The screen asks the venv's torch for CUDA in a subprocess (seconds): unknown here, so no warning."""
    monkeypatch.setattr("epam_tui.core.launch.checks.torch_has_cuda", lambda python: None)


class NoDriver:
    def devices(self):
        raise GpuUnavailable("no NVIDIA driver")


class Host(App):
    """Pushes one LaunchScreen and records what the screen returned (an app without a monitor)."""

    def __init__(self, screen: LaunchScreen):
        super().__init__()
        self.launch_screen = screen
        self.returned: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.launch_screen, callback=self.returned.append)


class MonitorHost(Host):
    """An app with ``open_run``, as EpamTuiApp has: the screen hands the new run to it."""

    def __init__(self, screen: LaunchScreen):
        super().__init__(screen)
        self.opened: list[str] = []

    def open_run(self, run_dir: str) -> None:
        self.opened.append(run_dir)


def _screen(tmp_path, backend, **kw) -> LaunchScreen:
    cfg = make_config(tmp_path)
    return LaunchScreen(configs=[str(cfg)], gpu_backend=backend, root=str(tmp_path / "wd"),
                        configs_dir=str(tmp_path), **kw)


async def _toggle(pilot, screen, index: int) -> None:
    gpus = screen.query_one("#gpus", SelectionList)
    gpus.focus()
    gpus.highlighted = index
    await pilot.press("space")
    await settle(pilot)


async def test_select_and_deselect_gpus_updates_the_preview(tmp_path):
    screen = _screen(tmp_path, FakeBackend([gpu(0), gpu(1), gpu(2)]))
    async with MonitorHost(screen).run_test(size=(140, 60)) as pilot:
        await settle(pilot)  # the recipe wants 1 GPU: the first idle one starts selected
        assert "CUDA_VISIBLE_DEVICES=0 python -m epam.train" in static_text(screen, "#preview")
        await _toggle(pilot, screen, 2)
        preview = static_text(screen, "#preview")
        assert "CUDA_VISIBLE_DEVICES=0,2 torchrun" in preview and "--nproc_per_node=2" in preview
        await _toggle(pilot, screen, 0)
        assert "CUDA_VISIBLE_DEVICES=2 python -m epam.train" in static_text(screen, "#preview")
        await _toggle(pilot, screen, 2)
        assert "select at least one GPU" in static_text(screen, "#preview")
        assert re.search(r"\blr\s+0\.05\n", static_text(screen, "#summary"))


async def test_busy_gpu_needs_an_explicit_confirm(tmp_path):
    screen = _screen(tmp_path, FakeBackend([gpu(0), busy_gpu(1)]))
    async with MonitorHost(screen).run_test(size=(140, 60)) as pilot:
        await settle(pilot)
        gpus = screen.query_one("#gpus", SelectionList)
        assert gpus.selected == [gpu(0).uuid]  # never a busy one by default
        await _toggle(pilot, screen, 1)
        assert isinstance(pilot.app.screen, ConfirmBusy)
        await pilot.press("n")
        await settle(pilot)
        assert gpus.selected == [gpu(0).uuid]
        await _toggle(pilot, screen, 1)
        assert isinstance(pilot.app.screen, ConfirmBusy)
        await pilot.press("y")
        await settle(pilot)
        assert gpus.selected == [gpu(0).uuid, busy_gpu(1).uuid]
        assert "confirmed busy GPU 1" in static_text(screen, "#checks")
        assert "CUDA_VISIBLE_DEVICES=0,1 " in static_text(screen, "#preview")


async def test_scaling_key_applies_the_scaled_lr(tmp_path):
    screen = _screen(tmp_path, FakeBackend([gpu(0), gpu(1)]))
    async with MonitorHost(screen).run_test(size=(140, 60)) as pilot:
        await settle(pilot)
        assert "as configured" in static_text(screen, "#scaling")
        await _toggle(pilot, screen, 1)
        assert "total batch 16 vs the recipe's 8: lr 0.05 -> 0.1" in static_text(screen, "#scaling")
        await pilot.press("a")
        await settle(pilot)
        assert screen.query_one("#overrides", Input).value == "optimizer.lr=0.1"
        assert "--set optimizer.lr=0.1" in static_text(screen, "#preview")
        assert "(applied)" in static_text(screen, "#scaling")
        await pilot.press("a")
        await settle(pilot)
        assert screen.query_one("#overrides", Input).value == "optimizer.lr=0.1"


async def test_no_gpu_offers_cpu_processes_on_gloo(tmp_path):
    screen = _screen(tmp_path, NoDriver())
    async with MonitorHost(screen).run_test(size=(140, 60)) as pilot:
        await settle(pilot)
        device = static_text(screen, "#device")
        assert "No GPU (no NVIDIA driver)" in device and "1 process on Gloo" in device
        screen.query_one("#configs").focus()
        await pilot.press("plus")
        await settle(pilot)
        assert "2 processes on Gloo" in static_text(screen, "#device")
        preview = static_text(screen, "#preview")
        assert "CUDA_VISIBLE_DEVICES='' torchrun" in preview and "--nproc_per_node=2" in preview


async def test_config_errors_and_preflight_failures_show_inline(tmp_path):
    screen = _screen(tmp_path, FakeBackend([gpu(0)]), gpus="0")
    async with MonitorHost(screen).run_test(size=(140, 60)) as pilot:
        await settle(pilot)
        overrides = screen.query_one("#overrides", Input)
        overrides.focus()
        overrides.value = "optimizer.lr=-1 data.ann_file=/nonexistent/ann.pkl"
        await pilot.press("enter")
        await settle(pilot)
        assert "optimizer.lr: must be > 0" in static_text(screen, "#summary")
        assert "optimizer.lr: must be > 0" in static_text(screen, "#checks")
        overrides.value = "data.ann_file=/nonexistent/ann.pkl"
        await pilot.press("enter")
        await settle(pilot)
        assert "data.ann_file: /nonexistent/ann.pkl not found" in static_text(screen, "#checks")
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert pilot.app.opened == [] and not (tmp_path / "wd").exists()


async def test_launch_spawns_and_opens_the_run(tmp_path):
    screen = _screen(tmp_path, FakeBackend([gpu(0), gpu(1)]), command=fake_command(), name="from-tui")
    async with MonitorHost(screen).run_test(size=(140, 60)) as pilot:
        await settle(pilot)
        await _toggle(pilot, screen, 1)
        await _toggle(pilot, screen, 0)
        assert "CUDA_VISIBLE_DEVICES=1 " in static_text(screen, "#preview")
        await pilot.press("ctrl+l")
        await settle(pilot)
        run_dir = tmp_path / "wd" / "from-tui"
        assert pilot.app.opened == [str(run_dir.resolve())]
    wait_for(lambda: runs.read_exit(run_dir))
    rec = runs.refresh(run_dir)
    assert rec["status"] == "finished" and rec["gpus"][0]["index"] == 1
    assert json.loads((run_dir / "fake_argv.json").read_text())["env"]["CUDA_VISIBLE_DEVICES"] == "1"


async def test_launch_dismisses_when_the_app_has_no_monitor(tmp_path):
    screen = _screen(tmp_path, NoDriver(), command=fake_command())
    async with Host(screen).run_test(size=(140, 60)) as pilot:
        await settle(pilot)
        preview = static_text(screen, "#preview")
        await pilot.pause(1.1)  # the default name has a seconds field: re-planning later must not change it
        await pilot.press("r")
        await settle(pilot)
        assert static_text(screen, "#preview") == preview
        await pilot.press("ctrl+l")
        await settle(pilot)
        assert len(pilot.app.returned) == 1
        run_dir = pilot.app.returned[0]
        assert preview.replace("\n", " ").endswith(f"--work-dir {run_dir}")  # what ran is what was shown
    wait_for(lambda: runs.read_exit(run_dir))


async def test_busy_gpu_given_on_the_command_line_still_asks(tmp_path):
    screen = _screen(tmp_path, FakeBackend([gpu(0), busy_gpu(1)]), gpus="1")
    async with MonitorHost(screen).run_test(size=(140, 60)) as pilot:
        await settle(pilot)
        assert isinstance(pilot.app.screen, ConfirmBusy)
        await pilot.press("n")
        await settle(pilot)
        assert screen.query_one("#gpus", SelectionList).selected == []
        assert "select at least one GPU" in static_text(screen, "#preview")
