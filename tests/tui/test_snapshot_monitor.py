"""A snapshot of the monitor's main screen at 120x40: fixture runs, fixed fake GPUs, fixed host line."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from epam_tui.core.gpus import FakeBackend, GpuInfo, GpuProcess
from epam_tui.ui.app import EpamTuiApp

FIXTURE = Path(__file__).parent / "fixtures" / "runs"
GIB = 2**30


def fixed_gpus() -> list[GpuInfo]:
    return [GpuInfo(0, "GPU-snap0", "Fake A100 80GB", 31 * GIB, 80 * GIB, 97.0, 61.0, 312.0,
                    [GpuProcess(4242, 30 * GIB, "python", "alice")]),
            GpuInfo(1, "GPU-snap1", "Fake A100 80GB", 1 * GIB, 80 * GIB, 0.0, 35.0, 60.0, [])]


@pytest.fixture
def snap_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "work_dirs"
    shutil.copytree(FIXTURE, root)
    for i, run in enumerate(sorted(root.iterdir())):  # demo-running is the most recently active
        for f in run.iterdir():
            os.utime(f, (1_700_000_000 + i, 1_700_000_000 + i))
    monkeypatch.setattr("epam_tui.ui.screens.monitor.host_text", lambda: "host CPU 12%  RAM 3.0/16.0G")
    return root


def test_monitor_main_screen(snap_compare, snap_root: Path) -> None:
    app = EpamTuiApp(snap_root, gpu_backend=FakeBackend(fixed_gpus()))

    async def settle(pilot) -> None:
        for _ in range(100):  # the table filled, the charts mounted and drawn, the GPUs sampled
            await pilot.pause(0.1)
            monitor = app.monitor
            if (monitor.charts is not None and monitor.query_one("#runs").row_count == 2
                    and monitor.gpu_snapshot is not None and monitor.log_lines):
                break
        monitor._refresh_charts()  # drawn once more from the final data, whatever the poll timing was
        await pilot.pause(0.5)

    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)
