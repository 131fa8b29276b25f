"""The launch screen's UX fixes: the first Space in the GPU list toggles a GPU, picked GPUs show a check
mark, and a config path can be typed (with a one-line error for a missing or invalid file)."""

from __future__ import annotations

import pytest
from textual.app import App
from textual.widgets import Input, OptionList, SelectionList

from epam_tui.core.gpus import FakeBackend
from epam_tui.ui.screens.launch import LaunchScreen
from fixtures.launch_helpers import gpu, make_config, settle, static_text


@pytest.fixture(autouse=True)
def _torch_without_cuda(monkeypatch):
    """The venv's torch, as the screen's subprocess probe would answer: no CUDA."""
    monkeypatch.setattr("epam_tui.core.launch.checks.torch_has_cuda", lambda python: False)


class Host(App):
    def __init__(self, screen: LaunchScreen):
        super().__init__()
        self.launch_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.launch_screen)


def _two_gpus(tmp_path) -> LaunchScreen:
    return LaunchScreen(configs=[str(make_config(tmp_path))], gpu_backend=FakeBackend([gpu(0), gpu(1)]),
                        root=str(tmp_path / "wd"), configs_dir=str(tmp_path))


async def test_the_first_space_in_the_gpu_list_toggles_a_gpu(tmp_path):
    screen = _two_gpus(tmp_path)
    async with Host(screen).run_test(size=(140, 50)) as pilot:
        await settle(pilot)
        gpus = screen.query_one("#gpus", SelectionList)
        before = list(gpus.selected)
        assert before == [gpu(0).uuid]  # the recipe wants one GPU: the first idle one
        gpus.focus()
        await pilot.press("space")  # no row highlighted by hand first
        await settle(pilot)
        assert gpus.selected != before


async def test_picked_gpus_show_a_check_mark(tmp_path):
    screen = _two_gpus(tmp_path)
    async with Host(screen).run_test(size=(140, 50)) as pilot:
        await settle(pilot)
        gpus = screen.query_one("#gpus", SelectionList)
        rows = [gpus.render_line(y).text for y in range(2)]
        assert rows[0].startswith("[x] GPU 0") and rows[1].startswith("[ ] GPU 1"), rows
        gpus.select(gpu(1).uuid)
        await settle(pilot)
        assert gpus.render_line(1).text.startswith("[x] GPU 1")


async def test_with_no_configs_folder_a_config_path_can_be_typed(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    cfg = make_config(tmp_path / "elsewhere")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1,\n")
    screen = LaunchScreen(gpu_backend=FakeBackend([gpu(0)]), root=str(tmp_path / "wd"),
                          configs_dir=str(tmp_path / "configs"))
    async with Host(screen).run_test(size=(140, 50)) as pilot:
        await settle(pilot)
        assert screen.query_one("#configs", OptionList).option_count == 0
        box = screen.query_one("#config-path", Input)
        assert screen.focused is box  # nothing to pick: the cursor waits in the path field
        for path, error in ((tmp_path / "missing.yaml", "config file not found"), (bad, "invalid YAML")):
            box.value = str(path)
            await pilot.press("enter")
            await settle(pilot)
            shown = static_text(screen, "#config-error")
            assert error in shown and "\n" not in shown, shown
            assert screen.config is None
        box.value = str(cfg)
        await pilot.press("enter")
        await settle(pilot)
        assert static_text(screen, "#config-error") == ""
        assert screen.config == str(cfg)
        assert screen.query_one("#configs", OptionList).option_count == 1
        assert "python -m epam.train" in static_text(screen, "#preview") and str(cfg) in static_text(screen, "#preview")


async def test_gpus_picked_with_a_torch_without_cuda_warn(tmp_path):
    screen = _two_gpus(tmp_path)
    async with Host(screen).run_test(size=(140, 50)) as pilot:
        await settle(pilot)
        await settle(pilot)
        device = static_text(screen, "#device")
        assert "GPUs 0 picked but this torch has no CUDA: training will run on the CPU" in device, device
        await pilot.press("c")  # the CPU: nothing to warn about
        await settle(pilot)
        assert "no CUDA" not in static_text(screen, "#device")
