"""`epam-tui launch CFG --slurm PART --nnodes 2`: the sbatch script sets the rendezvous from the job's own
nodes (``scontrol show hostnames``), so no --rdzv-endpoint is asked for; a local multi-node launch still
needs one."""

from __future__ import annotations

import os
import shlex

import pytest

from epam_tui.commands import launch as cmd
from epam_tui.core import launch as lp
from epam_tui.core import runs
from epam_tui.core.launch import rendezvous as rdzv
from fixtures.launch_helpers import make_config


def fake_sbatch(tmp_path, monkeypatch) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sbatch = bindir / "sbatch"
    sbatch.write_text("#!/bin/sh\necho '777;cluster'\n")
    sbatch.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_slurm_two_nodes_uses_the_scripts_rendezvous(tmp_path, monkeypatch, capsys):
    fake_sbatch(tmp_path, monkeypatch)
    cfg = make_config(tmp_path)
    root = tmp_path / "wd"
    assert cmd.main([str(cfg), "--slurm", "gpu", "--nnodes", "2", "--nproc", "2", "--name", "mn",
                     "--root", str(root)]) == 0, capsys.readouterr().err
    assert "Slurm job 777" in capsys.readouterr().out
    run_dir = root / "mn"
    script = (run_dir / "slurm.sbatch").read_text()
    lines = script.splitlines()
    assert "#SBATCH --nodes=2" in lines
    assert all(line in lines for line in rdzv.SLURM_HEAD_LINES)  # MASTER_ADDR from scontrol show hostnames
    srun = next(line for line in lines if line.startswith("srun "))
    assert " ".join(rdzv.slurm_torchrun_args(2)) in srun
    assert "--rdzv-endpoint=None" not in script
    rec = runs.read_run(run_dir)
    assert rec["status"] == "queued" and rec["launch"]["nnodes"] == 2 and rec["launch"]["slurm"] is True
    assert f"--rdzv-endpoint={rdzv.SLURM_VALUES['endpoint']}" in shlex.split(rec["display"])  # what the job runs
    again = lp.LaunchPlan.from_record(rec)  # a recorded Slurm run rebuilds without an endpoint
    assert again.slurm and again.nnodes == 2


def test_slurm_two_nodes_without_a_name(tmp_path, monkeypatch, capsys):
    fake_sbatch(tmp_path, monkeypatch)
    cfg = make_config(tmp_path)
    assert cmd.main([str(cfg), "--slurm", "gpu", "--nnodes", "2", "--root", str(tmp_path / "wd")]) == 0, \
        capsys.readouterr().err


def test_local_two_nodes_still_need_an_endpoint(tmp_path):
    cfg = make_config(tmp_path)
    with pytest.raises(lp.LaunchError, match="needs --rdzv-endpoint"):
        lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", nnodes=2, name="x", root=str(tmp_path / "wd"))
