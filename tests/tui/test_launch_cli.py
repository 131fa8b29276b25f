"""`epam-tui launch` on the command line: --dry-run, --headless, --stop, --slurm, refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from epam_tui.commands import launch as cmd
from epam_tui.core import launch as lp
from epam_tui.core import runs
from fixtures.launch_helpers import FAKE_TRAINER, REPO, fake_command, make_config, wait_for


@pytest.fixture
def fake_gpus(monkeypatch):
    monkeypatch.setenv("EPAM_TUI_FAKE_GPUS", "2")
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


@pytest.fixture
def no_gpus(monkeypatch):
    monkeypatch.delenv("EPAM_TUI_FAKE_GPUS", raising=False)
    monkeypatch.setattr(lp, "gpu_state", lambda backend=None, environ=None: lp.GpuState([], error="no NVIDIA driver"))


def test_dry_run_prints_env_and_argv_and_exits_0(tmp_path, fake_gpus, capsys):
    cfg = make_config(tmp_path)
    code = cmd.main([str(cfg), "--gpus", "0,1", "--dry-run", "--name", "dry", "--root", str(tmp_path / "wd"),
                     "--set", "train.max_epochs=1", "data.num_workers=0"])
    out = capsys.readouterr().out
    assert code == 0 and not (tmp_path / "wd").exists()
    line = next(ln for ln in out.splitlines() if not ln.startswith("#"))
    assert line.startswith("CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0,1 torchrun --nnodes=1 "
                           "--nproc_per_node=2")
    assert line.endswith(f"-m epam.train {cfg} --work-dir {tmp_path / 'wd' / 'dry'} "
                         "--set train.max_epochs=1 data.num_workers=0")


def test_dry_run_without_gpu_says_cpu_plainly(tmp_path, no_gpus, capsys):
    cfg = make_config(tmp_path)
    assert cmd.main([str(cfg), "--dry-run", "--root", str(tmp_path / "wd")]) == 0
    out = capsys.readouterr().out
    assert "CPU: 1 process on Gloo (no GPU: no NVIDIA driver)" in out
    assert "CUDA_VISIBLE_DEVICES='' python -m epam.train" in out


def test_dry_run_exits_nonzero_when_preflight_would_refuse(tmp_path, no_gpus, capsys):
    cfg = make_config(tmp_path, ann_file=tmp_path / "missing.pkl")
    assert cmd.main([str(cfg), "--dry-run", "--root", str(tmp_path / "wd")]) == 2
    err = capsys.readouterr().err
    assert "pre-flight would refuse (data): data.ann_file" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "wd").exists()


def test_dry_run_refuses_a_work_dir_it_cannot_write(tmp_path, no_gpus, capsys, monkeypatch):
    """The probe writes real bytes; its verdict is faked here (root writes through permission bits)."""
    from epam_tui.core.launch import checks as preflight

    real = preflight.probe_writable
    monkeypatch.setattr(preflight, "probe_writable",
                        lambda d, size=preflight.PROBE_BYTES: "Permission denied" if Path(d) == tmp_path / "ro"
                        else real(d, size))
    cfg = make_config(tmp_path)
    (tmp_path / "ro").mkdir()
    code = cmd.main([str(cfg), "--dry-run", "--root", str(tmp_path / "ro")])
    err = capsys.readouterr().err
    assert code == 2 and "pre-flight would refuse (work_dir):" in err and "not writable (Permission denied)" in err


@pytest.mark.parametrize("argv, message", [
    (["--gpus", "5"], "no GPU 5 on this machine; pick from 0,1"),
    (["--name", "../escape"], "run name '../escape' is not allowed"),
    (["--nproc", "0"], "--nproc must be >= 1"),
    (["--command", "run {nope}"], "unknown placeholder {nope}"),
])
def test_bad_input_is_one_clear_line(tmp_path, fake_gpus, capsys, argv, message):
    cfg = make_config(tmp_path)
    assert cmd.main([str(cfg), "--dry-run", "--root", str(tmp_path / "wd"), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_headless_refuses_with_the_reason(tmp_path, no_gpus, capsys):
    cfg = make_config(tmp_path)
    code = cmd.main([str(cfg), "--headless", "--root", str(tmp_path / "wd"), "--set", "train.max_epochs=0"])
    assert code == 2 and "refused (config):" in capsys.readouterr().err and not (tmp_path / "wd").exists()


def test_headless_follows_and_exits_with_the_run_code(tmp_path, no_gpus, capsys):
    cfg = make_config(tmp_path)
    code = cmd.main([str(cfg), "--headless", "--root", str(tmp_path / "wd"), "--name", "hl",
                     "--command", fake_command("--exit", "3")])
    out = capsys.readouterr().out
    assert code == 3
    assert "launched hl on CPU: 1 process on Gloo" in out and "| fake trainer:" in out
    assert "hl: failed (exit code 3)" in out


def test_follow_of_a_failed_run_shows_why(tmp_path, capsys):
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", root=str(tmp_path / "wd"), name="bad",
                        entry=(str(FAKE_TRAINER), "--exit", "2"))
    runs.spawn(plan)
    assert cmd.main(["--follow", str(plan.run_dir)]) == 2
    out = capsys.readouterr().out
    assert f"| fake trainer: config={cfg}" in out and "bad: failed (exit code 2)" in out
    assert cmd.main(["--follow", str(tmp_path)]) == 2 and "no run.json" in capsys.readouterr().err


def test_follow_prints_progress_from_scalars(tmp_path):
    cfg = make_config(tmp_path)
    cpu = lp.GpuState([], error="none")
    plan = lp.make_plan(str(cfg), cpu, root=str(tmp_path / "wd"), name="prog",
                        entry=(str(FAKE_TRAINER), "--scalars", "2"))
    runs.spawn(plan)
    lines: list[str] = []
    assert cmd.follow(plan.run_dir, poll=0.05, out=lines.append) == 0
    assert lines[:3] == ["[epoch 1/1] iter 1/2  loss 2.0000  lr 5.000e-02",
                         "[epoch 1/1] iter 2/2  loss 1.0000  lr 5.000e-02",
                         "[epoch 1/1] val top1 75.0%  top5 100.0%"]
    assert lines[-1].startswith("prog: finished (exit code 0)")


def test_progress_lines_for_each_record_kind():
    status = {"max_epochs": 8, "iters_per_epoch": 50}
    assert cmd.progress_line({"lr": 0.01, "loss": 2.5, "epoch": 2, "iter": 60, "step": 60}, status) == \
        "[epoch 2/8] iter 10/50  loss 2.5000  lr 1.000e-02"
    assert cmd.progress_line({"acc/top1": 0.5, "acc/top5": 0.9, "step": 2}, status) == \
        "[epoch 2/8] val top1 50.0%  top5 90.0%"
    assert cmd.progress_line({"train/loss": 1.25, "train/top1": 0.4, "epoch": 2, "step": 2}, status) == \
        "[epoch 2/8] train loss 1.2500  top1 40.0%"
    assert cmd.progress_line({"resume": True, "epoch": 1, "iter": 5, "step": 5}, None) == \
        "[epoch 1] resumed from iteration 5"
    assert cmd.progress_line({"something": 1}, status) is None


def test_stop_and_restart_from_the_command_line(tmp_path, no_gpus, capsys, monkeypatch):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("x: 1\n")
    (tmp_path / "configs" / "launch").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)  # a restart finds templates by name in ./configs/launch/ only
    template = tmp_path / "configs" / "launch" / "fake.yaml"
    template.write_text(json.dumps({"name": "fake", "command": fake_command("--sleep", "30"),
                                    "source": "epam", "resume_args": ["--resume", "auto"]}))
    root = tmp_path / "wd"
    plan = lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", template=lp.load_template(str(template)),
                        root=str(root), name="st")
    runs.spawn(plan)
    wait_for(lambda: (plan.run_dir / "fake_ready").exists())
    assert cmd.main(["--stop", str(plan.run_dir), "--grace", "5"]) == 0
    assert "st: stopped" in capsys.readouterr().out
    assert cmd.main(["--restart", str(plan.run_dir)]) == 0
    assert "restarted st with --resume auto" in capsys.readouterr().out
    rec = runs.read_run(plan.run_dir)
    assert rec["argv"][-2:] == ["--resume", "auto"] and rec["status"] == "running"
    runs.stop(plan.run_dir, grace=5)


def test_slurm_writes_and_submits_the_script(tmp_path, monkeypatch, capsys):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    sbatch = bindir / "sbatch"
    sbatch.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'sbatch_args'}\necho '4242;cluster'\n")
    sbatch.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    cfg = make_config(tmp_path)
    assert cmd.main([str(cfg), "--slurm", "gpu", "--nproc", "4", "--name", "sl", "--root", str(tmp_path / "wd")]) == 0
    assert "Slurm job 4242" in capsys.readouterr().out
    run_dir = tmp_path / "wd" / "sl"
    rec = runs.read_run(run_dir)
    assert rec["status"] == "queued" and rec["slurm"]["job_id"] == "4242"
    script = (run_dir / "slurm.sbatch").read_text()
    assert "#SBATCH --gres=gpu:4" in script and "--nproc_per_node=4" in script
    assert (tmp_path / "sbatch_args").read_text().split() == ["--parsable", str(run_dir / "slurm.sbatch")]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert cmd.main([str(cfg), "--slurm", "gpu", "--name", "sl2", "--root", str(tmp_path / "wd")]) == 2
    assert "sbatch not found" in capsys.readouterr().err


def test_without_a_terminal_the_tui_is_not_opened(tmp_path):
    cfg = make_config(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "epam_tui.cli", "launch", str(cfg)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60, cwd=REPO)
    assert proc.returncode == 2 and "no terminal: add --headless" in proc.stderr
