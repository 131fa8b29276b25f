"""The trainer, end to end on a tiny synthetic dataset: logged lr == expected_lr, clipping, seeded
reproducibility, resume parity after SIGKILL and after SIGINT, atomic checkpoints, NaN handling,
the MMEngine log format, and 2-process torchrun on Gloo."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from epam.config import load_config
from epam.engine.checkpoint import load_checkpoint
from epam.schedule import expected_lr
from tests.conftest import ROOT, tiny_overrides

DEMO = "configs/epam_synthetic_demo.yaml"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
TRAIN_RE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d - mmengine - INFO - Epoch\(train\) +\[(\d+)\]\[ *(\d+)/(\d+)\]  "
                      r"lr: \d\.\d{4}e[-+]\d\d  eta: [0-9:, day]+  time: \d+\.\d{4}  data_time: \d+\.\d{4}  "
                      r"grad_norm: \S+  loss: \S+  loss_rgb: \S+  loss_pose: \S+  top1_acc: \d\.\d{4}$")
VAL_RE = re.compile(r"- mmengine - INFO - Epoch\(val\) \[(\d+)\]\[(\d+)/\2\]    acc/top1: \d\.\d{4}  acc/top5: \d\.\d{4}  "
                    r"acc/mean1: \d\.\d{4}  acc/rgb_top1: \d\.\d{4}  acc/pose_top1: \d\.\d{4}  data_time: \S+  time: \S+$")


def train(work: Path, data: Path, *extra: str, env: dict | None = None, check: bool = True,
          resume: bool = False) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "epam.train", DEMO, "--work-dir", str(work), "--set", *tiny_overrides(data), *extra]
    if resume:
        argv += ["--resume", "auto"]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env or ENV, timeout=300)
    if check:
        assert out.returncode == 0, out.stderr[-2000:]
    return out


def records(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "scalars.jsonl").read_text().splitlines()]


def last_per_step(recs: list[dict], key: str) -> dict[int, dict]:
    return {r["step"]: r for r in recs if key in r}


def final_val(work: Path) -> dict:
    return [r for r in records(work) if "acc/top1" in r][-1]


def strip_times(rec: dict) -> dict:
    return {k: v for k, v in rec.items() if k not in ("time", "data_time")}


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, tiny_synthetic) -> Path:
    work = tmp_path_factory.mktemp("ref") / "run"
    train(work, tiny_synthetic)
    return work


def test_run_directory_contents(reference_run: Path) -> None:
    status = json.loads((reference_run / "status.json").read_text())
    assert status["state"] == "finished" and status["max_epochs"] == 2 and status["iters_per_epoch"] == 4
    assert status["best"]["metric"] == "acc/top1"
    ckpts = sorted(p.name for p in (reference_run / "checkpoints").iterdir())
    assert "latest.pth" in ckpts and "epoch_2.pth" in ckpts
    assert len([c for c in ckpts if c.startswith("best_acc_top1_epoch_")]) == 1
    cfg = load_config(reference_run / "config.yaml")
    assert cfg["model"]["num_classes"] == 4
    state = load_checkpoint(reference_run / "checkpoints" / "latest.pth")
    assert {"model", "optimizer", "scheduler", "scaler", "epoch", "iteration", "rng", "config", "best"} <= set(state)
    epochs = [r for r in records(reference_run) if "train/loss" in r]
    assert [r["epoch"] for r in epochs] == [1, 2] and all(0 <= r["train/top1"] <= 1 for r in epochs)


def test_log_lines_follow_mmengine_format(reference_run: Path) -> None:
    lines = (reference_run / "train.log").read_text().splitlines()
    train_lines = [line for line in lines if "Epoch(train)" in line]
    assert len(train_lines) == 8 and all(TRAIN_RE.match(line) for line in train_lines), train_lines[:2]
    assert [TRAIN_RE.match(line).group(2) for line in train_lines[:4]] == ["1", "2", "3", "4"]
    val_lines = [line for line in lines if "Epoch(val)" in line]
    assert len(val_lines) == 2 and all(VAL_RE.search(line) for line in val_lines), val_lines
    assert any("Saving checkpoint at 2 epochs" in line for line in lines)
    assert any("The best checkpoint with" in line for line in lines)


@pytest.mark.parametrize("by_epoch", ["true", "false"])
def test_logged_lr_matches_expected(tmp_path: Path, tiny_synthetic: Path, by_epoch: str) -> None:
    work = tmp_path / "run"
    train(work, tiny_synthetic, f"scheduler.by_epoch={by_epoch}", "train.max_epochs=3", "scheduler.T_max=3")
    cfg = load_config(work / "config.yaml")
    rows = [r for r in records(work) if "lr" in r]
    assert len(rows) == 12
    for r in rows:
        assert abs(r["lr"] - expected_lr(cfg, r["step"] - 1, 4)) <= 1e-12, r
    assert len({r["lr"] for r in rows}) == (3 if by_epoch == "true" else 12)


def test_seeded_runs_are_identical(tmp_path: Path, tiny_synthetic: Path, reference_run: Path) -> None:
    work = tmp_path / "again"
    train(work, tiny_synthetic)
    a = [strip_times(r) for r in records(reference_run)]
    b = [strip_times(r) for r in records(work)]
    assert a == b


def test_gradient_clipping_logs_pre_clip_norm(tmp_path: Path, tiny_synthetic: Path) -> None:
    work = tmp_path / "clip"
    train(work, tiny_synthetic, "clip_grad.max_norm=0.001", "train.max_epochs=1", "scheduler.T_max=1",
          "optimizer.momentum=0.0", "optimizer.weight_decay=0.0", "optimizer.lr=1.0", "scheduler.eta_min=0.0")
    norms = [r["grad_norm"] for r in records(work) if "grad_norm" in r]
    assert all(n > 0.001 for n in norms)  # the logged norm is the pre-clip one
    first = load_checkpoint(work / "checkpoints" / "latest.pth")["model"]
    init = _initial_weights(tiny_synthetic)
    # 4 SGD steps with lr 1 and clipped global norm 1e-3 move the weights by at most 4e-3 in total
    moved = math.sqrt(sum(float((first[k].float() - init[k].float()).pow(2).sum()) for k in init
                          if k.endswith("weight") and "bn" not in k and init[k].dtype.is_floating_point))
    assert moved <= 4e-3 + 1e-6


def _initial_weights(data: Path) -> dict[str, torch.Tensor]:
    from epam.engine.trainer import seed_everything
    from epam.model import build_model

    cfg = load_config(ROOT / DEMO, tiny_overrides(data))
    seed_everything(7, False)
    return build_model(cfg["model"]).state_dict()


def _wait_for(predicate, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    start = time.time()
    while not predicate():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "process ended early"
        assert time.time() - start < timeout, "timed out waiting"
        time.sleep(0.05)


def _popen(work: Path, data: Path, *extra: str, env: dict | None = None, session: bool = False) -> subprocess.Popen:
    argv = [sys.executable, "-m", "epam.train", DEMO, "--work-dir", str(work), "--set", *tiny_overrides(data), *extra]
    return subprocess.Popen(argv, cwd=ROOT, env=env or ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=session)


def _has_record(work: Path, epoch: int, it: int) -> bool:
    path = work / "scalars.jsonl"
    if not path.exists():
        return False
    return any(r.get("epoch") == epoch and "lr" in r and r["step"] >= it for r in
               (json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")))


def test_resume_after_sigkill_mid_epoch(tmp_path: Path, tiny_synthetic: Path, reference_run: Path) -> None:
    work = tmp_path / "killed"
    proc = _popen(work, tiny_synthetic)
    _wait_for(lambda: _has_record(work, 2, 6), proc)
    proc.kill()
    proc.wait()
    train(work, tiny_synthetic, resume=True)
    assert strip_times(final_val(work)) == strip_times(final_val(reference_run))
    ours = load_checkpoint(work / "checkpoints" / "latest.pth")["model"]
    ref = load_checkpoint(reference_run / "checkpoints" / "latest.pth")["model"]
    assert all(torch.equal(ours[k], ref[k]) for k in ref)
    recs = records(work)
    assert any(r.get("resume") for r in recs)
    steps = last_per_step(recs, "lr")
    assert sorted(steps) == list(range(1, 9)), "after last-per-step deduplication every step appears once"


def test_sigint_stops_cleanly_and_resumes_mid_epoch(tmp_path: Path, tiny_synthetic: Path, reference_run: Path) -> None:
    """Ctrl-C in a terminal: SIGINT to the whole process group, DataLoader worker included."""
    work = tmp_path / "stopped"
    proc = _popen(work, tiny_synthetic, "data.num_workers=1", session=True)
    _wait_for(lambda: _has_record(work, 1, 2), proc)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=60) == 130, proc.stderr.read()
    status = json.loads((work / "status.json").read_text())
    assert status["state"] == "stopped" and "SIGINT" in status["exit_reason"]
    state = load_checkpoint(work / "checkpoints" / "latest.pth")
    assert state["iter_in_epoch"] > 0
    train(work, tiny_synthetic, resume=True)
    assert strip_times(final_val(work)) == strip_times(final_val(reference_run))


def test_kill_during_checkpoint_write_keeps_previous(tmp_path: Path, tiny_synthetic: Path) -> None:
    work = tmp_path / "atomic"
    ckpts = work / "checkpoints"
    proc = _popen(work, tiny_synthetic, env={**ENV, "EPAM_TEST_SLOW_SAVE": "0.6"})
    _wait_for(lambda: (ckpts / "latest.pth").exists() and _has_record(work, 2, 5), proc)
    _wait_for(lambda: any(p.name.startswith(".latest.pth.tmp") for p in ckpts.iterdir()), proc)
    proc.kill()
    proc.wait()
    state = load_checkpoint(ckpts / "latest.pth")  # the previous latest.pth, intact
    assert state["epoch"] == 1
    train(work, tiny_synthetic, resume=True)
    assert json.loads((work / "status.json").read_text())["state"] == "finished"
    assert not any(p.name.startswith(".") for p in ckpts.iterdir())


def test_nonfinite_loss_stops_with_clear_message(tmp_path: Path, tiny_synthetic: Path) -> None:
    work = tmp_path / "nan"
    out = train(work, tiny_synthetic, "train.nan_patience=2", env={**ENV, "EPAM_TEST_NAN_FROM_ITER": "2"}, check=False)
    assert out.returncode == 3
    status = json.loads((work / "status.json").read_text())
    assert status["state"] == "failed" and "non-finite losses in a row" in status["exit_reason"]
    log = (work / "train.log").read_text()
    assert log.count("Non-finite loss nan") == 2
    rows = [r for r in records(work) if "lr" in r]
    assert any(math.isnan(r["loss"]) for r in rows)


def test_missing_data_is_one_line(tmp_path: Path, tiny_synthetic: Path) -> None:
    out = train(tmp_path / "w", tiny_synthetic, "data.ann_file=/nonexistent/ann.pkl", check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "/nonexistent/ann.pkl" in out.stderr


def test_bad_config_exit_2(tmp_path: Path, tiny_synthetic: Path) -> None:
    out = train(tmp_path / "w", tiny_synthetic, "optimizer.lr=-1", check=False)
    assert out.returncode == 2 and "optimizer.lr: must be > 0" in out.stderr


@pytest.mark.slow
@pytest.mark.parametrize("config", ["configs/epam_ntu60_optimized.yaml", "configs/epam_ntu60_baseline.yaml"])
def test_torchrun_two_processes_gloo(tmp_path: Path, tiny_synthetic: Path, config: str) -> None:
    work = tmp_path / "ddp"
    sets = tiny_overrides(tiny_synthetic, **{"data.dataset": "synthetic", "model.rgb_clip_len": 4,
                                            "model.pose_clip_len": 12, "data.rgb_size": 64, "data.heatmap_size": 16,
                                            "train.max_epochs": 1, "data.batch_per_gpu": 2, "model.sync_bn": True})
    sets = [s for s in sets if not s.startswith("scheduler.T_max")]
    if "baseline" in config:  # MultiStepLR: a milestone inside the short run
        sets = [s for s in sets if not s.startswith("train.max_epochs")] + ["train.max_epochs=2", "scheduler.milestones=[1]"]
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "epam.train",
            config, "--work-dir", str(work), "--set", *sets, "train.device=cpu"]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    status = json.loads((work / "status.json").read_text())
    assert status["state"] == "finished" and status["world_size"] == 2
    assert status["iters_per_epoch"] == 4  # 16 train clips / 2 ranks / 2 per batch
    assert "world size: 2" in (work / "train.log").read_text()
    assert len([r for r in records(work) if "acc/top1" in r]) == status["max_epochs"]
