"""Launcher checks around the spawn: torch without CUDA while GPUs were picked, a restart into a run
directory whose checkpoints/ cannot be written, and the files the launcher writes honouring the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from epam_tui.commands import launch as cmd
from epam_tui.core import launch as lp
from epam_tui.core import runs
from epam_tui.core.launch import checks as preflight
from fixtures.launch_helpers import FAKE_TRAINER, fake_command, gpu, make_config, wait_for


def _python(tmp_path: Path, answer: str, code: int = 0) -> str:
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\necho '{answer}'\nexit {code}\n")
    path.chmod(0o755)
    preflight.torch_has_cuda.cache_clear()
    return str(path)


def test_torch_has_cuda_is_asked_in_a_subprocess(tmp_path):
    assert preflight.torch_has_cuda(_python(tmp_path, "False")) is False
    assert preflight.torch_has_cuda(_python(tmp_path, "True")) is True
    assert preflight.torch_has_cuda(_python(tmp_path, "ModuleNotFoundError: torch", 1)) is None
    assert preflight.torch_has_cuda(str(tmp_path / "missing")) is None


def test_cuda_warning_only_for_gpu_picks_on_a_cpu_torch(tmp_path):
    state = lp.visible_state([gpu(0), gpu(1)], {})
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), state, gpus="0,1", root=str(tmp_path / "wd"), name="w")
    assert preflight.cuda_warning(plan, probe=lambda py: False).startswith(
        "GPUs 0,1 picked but this torch has no CUDA: training will run on the CPU")
    assert preflight.cuda_warning(plan, probe=lambda py: True) is None
    assert preflight.cuda_warning(plan, probe=lambda py: None) is None  # cannot tell: say nothing
    cpu = lp.make_plan(str(cfg), state, gpus="cpu", root=str(tmp_path / "wd"), name="c")
    assert preflight.cuda_warning(cpu, probe=lambda py: False) is None


def test_headless_warns_before_spawning(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EPAM_TUI_FAKE_GPUS", "2")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setattr(preflight, "torch_has_cuda", lambda python: False)
    spawned = []

    def launch(*args, **kwargs):  # what was on stderr when the launch began; then stop
        spawned.append(capsys.readouterr().err)
        raise runs.RunError("stopped here by the test")

    monkeypatch.setattr(runs, "launch", launch)
    cfg = make_config(tmp_path)
    code = cmd.main([str(cfg), "--headless", "--gpus", "0,1", "--root", str(tmp_path / "wd"), "--name", "nocuda"])
    assert code == 2
    assert spawned and "warning: GPUs 0,1 picked but this torch has no CUDA: training will run on the CPU" in spawned[0]


def test_restart_refuses_when_checkpoints_cannot_be_written(tmp_path, monkeypatch):
    cfg = make_config(tmp_path)
    cpu = lp.GpuState([], error="none")
    plan = lp.make_plan(str(cfg), cpu, root=str(tmp_path / "wd"), name="ro", entry=(str(FAKE_TRAINER),))
    runs.spawn(plan)
    wait_for(lambda: (runs.refresh(plan.run_dir) or {}).get("status") in runs.ENDED)
    (plan.run_dir / "checkpoints").mkdir()
    real = preflight.probe_writable  # root writes through permission bits: the probe's verdict is faked
    monkeypatch.setattr(preflight, "probe_writable", lambda d, size=preflight.PROBE_BYTES:
                        "Read-only file system" if Path(d).name == "checkpoints" else real(d, size))
    with pytest.raises(runs.Refused) as info:
        runs.restart(plan.run_dir, cpu, entries=[lp.TRAIN_ENTRY, (str(FAKE_TRAINER),)])
    assert [c.key for c in info.value.checks] == ["work_dir"]
    assert "checkpoints is not writable (Read-only file system)" in str(info.value)


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_launcher_files_honour_the_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        cfg = tmp_path / "c.yaml"
        cfg.write_text("x: 1\n")
        tmpl = lp.CommandTemplate("fake", fake_command("--exit", "1"), source="epam")
        plan = lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", template=tmpl, root=str(tmp_path / "wd"),
                            name="mode")
        runs.spawn(plan)
        wait_for(lambda: (runs.refresh(plan.run_dir) or {}).get("status") in runs.ENDED)
        slurm_plan = lp.make_plan(str(make_config(tmp_path)), lp.GpuState([]), gpus="cpu", nproc=2,
                                  root=str(tmp_path / "wd"), name="script")
        from epam_tui.core.launch.sbatch import write_slurm_script

        script = write_slurm_script(slurm_plan, "gpu")
    finally:
        os.umask(old)
    want = 0o666 & ~mask
    for path in (plan.run_dir / "run.json", plan.run_dir / "exit.json", plan.run_dir / "stdout.log", script):
        assert stat.S_IMODE(path.stat().st_mode) == want, (path.name, oct(path.stat().st_mode))
