"""Fault injection: the launcher's wrapper SIGKILLed while its trainer keeps stepping.

The run's state comes from the trainer's own heartbeat and process (status.json pid + create time);
the wrapper only adds the exit code when it has one. So: wrapper killed -> the run still reads
running (the monitor's core and ``runs.refresh``); the trainer then ends -> the run reads finished or
failed as the trainer's status.json says, with the exit code unknown (nobody was left to see it).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from epam_tui.core import launch as lp
from epam_tui.core import runs
from epam_tui.core.registry import load_run
from tests.conftest import poll_until

pytestmark = [pytest.mark.faults]

STEPPER = Path(__file__).resolve().parents[1] / "tui" / "fixtures" / "fake_stepper.py"
CPU = lp.GpuState([], error="no NVIDIA driver")


def _status(run_dir: Path) -> dict:
    try:
        return json.loads((run_dir / "status.json").read_text())
    except (OSError, ValueError):
        return {}


@pytest.mark.parametrize("ending", ["finished", "failed"])
def test_killed_wrapper_leaves_a_live_run_running_until_its_trainer_ends(tmp_path: Path, ending: str) -> None:
    config = tmp_path / "cfg.yaml"
    config.write_text("# the stand-in does not read it\n")
    tmpl = lp.CommandTemplate("stepper", f"{sys.executable} {STEPPER} {{config}} --work-dir {{work_dir}}", source="epam")
    plan = lp.make_plan(str(config), CPU, gpus="cpu", template=tmpl, root=str(tmp_path / "wd"), name=f"wk-{ending}")
    rec = runs.spawn(plan)
    run_dir = plan.run_dir
    trainer_pid = None
    try:
        assert poll_until(lambda: _status(run_dir).get("iter", 0) >= 3, timeout=30), "the stepper never stepped"
        trainer_pid = _status(run_dir)["pid"]
        assert trainer_pid != rec["pid"]
        os.kill(rec["pid"], signal.SIGKILL)  # the wrapper only
        assert poll_until(lambda: not runs.is_alive(rec), timeout=15)
        step_at_kill = _status(run_dir)["iter"]
        assert poll_until(lambda: _status(run_dir).get("iter", 0) > step_at_kill + 2, timeout=15), \
            "the trainer stopped stepping with its wrapper"

        run = load_run(run_dir)  # the monitor's reading
        assert run.state == "running", (run.state, run.reason)
        refreshed = runs.refresh(run_dir)
        assert refreshed["status"] == "running" and refreshed.get("wrapper_lost"), refreshed
        assert runs.run_alive(refreshed, run_dir)
        assert [r["name"] for r in runs.live_runs(plan.root)] == [plan.name]

        (run_dir / "stop_stepping").write_text(ending)
        assert poll_until(lambda: not runs.is_alive({"pid": trainer_pid}), timeout=15)
        run = load_run(run_dir)
        assert run.state == ending, (run.state, run.reason)
        final = runs.refresh(run_dir)
        assert final["status"] == ending and final["exit_code"] is None, final
        assert "wrapper was gone" in final["exit_reason"] and f"trainer reported {ending}" in final["exit_reason"]
        assert runs.live_runs(plan.root) == []
    finally:
        (run_dir / "stop_stepping").write_text(ending)
        if trainer_pid and runs.is_alive({"pid": trainer_pid}):
            os.kill(trainer_pid, signal.SIGKILL)
