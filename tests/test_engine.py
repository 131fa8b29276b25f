"""The engine in-process with a tiny stand-in model and in-memory datasets (fast): the MMEngine line
format and padding, scalars/status records, atomic checkpoints and pruning, RNG state round trips,
non-finite loss skipping, a signal mid-epoch and an exact resume, and the same under 2-process Gloo
DDP (the stop flag and the non-finite decision are agreed by all ranks)."""

from __future__ import annotations

import json
import math
import os
import random
import re
import signal
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from epam.config import load_config
from epam.engine import checkpoint as ck
from epam.engine.distributed import DistInfo
from epam.engine.runlog import RunLog, fmt_eta, train_header
from epam.engine.trainer import EXIT_NONFINITE, Trainer
from tests.conftest import ROOT

torch.set_num_threads(1)

LINE_RE = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d - mmengine - INFO - Epoch\(train\) +\[\d+\]\[ *\d+/\d+\]  "
                     r"lr: \d\.\d{4}e[-+]\d\d  eta: \S+  time: \d+\.\d{4}  data_time: \d+\.\d{4}  memory: \d+  "
                     r"grad_norm: \S+  loss: \S+  loss_rgb: \S+  loss_pose: \S+  top1_acc: \d\.\d{4}$")
TRAIN_KEYS = ["lr", "data_time", "grad_norm", "loss", "loss_rgb", "loss_pose", "top1_acc", "time", "epoch", "iter",
              "memory", "step"]


# ------------------------------------------------------------------------------------------- stand-ins
class StandIn(nn.Module):
    """Two linear 'streams' over flattened inputs with dropout (so the RNG matters), EPAM-Net's API.

    ``nan_at``: training forwards (0-based count) whose loss is NaN; ``signal_at``: the forward at
    which the process sends itself SIGTERM (as a kill from outside would, mid-iteration)."""

    def __init__(self, classes: int = 3, nan_at: tuple[int, ...] = (), signal_at: int | None = None):
        super().__init__()
        with torch.random.fork_rng():  # the same initial weights whatever the global RNG
            torch.manual_seed(0)
            self.rgb = nn.Sequential(nn.Flatten(), nn.Dropout(0.2), nn.Linear(3 * 2 * 4 * 4, classes))
            self.pose = nn.Sequential(nn.Flatten(), nn.Linear(2 * 2 * 4 * 4, classes))
        self.nan_at, self.signal_at, self.calls = set(nan_at), signal_at, 0

    def forward(self, imgs: torch.Tensor, heat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rgb, pose = self.rgb(imgs), self.pose(heat)
        if self.training:
            if self.calls == self.signal_at:
                os.kill(os.getpid(), signal.SIGTERM)
            if self.calls in self.nan_at:
                rgb = rgb * float("nan")
            self.calls += 1
        return rgb, pose

    @staticmethod
    def loss(rgb: torch.Tensor, pose: torch.Tensor, labels: torch.Tensor):
        a, b = nn.functional.cross_entropy(rgb, labels), nn.functional.cross_entropy(pose, labels)
        return a + b, a, b


def toy_set(n: int, seed: int, classes: int = 3) -> list[dict]:
    """Learnable in-memory samples: the class lights up one RGB channel and one heatmap row."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        y = i % classes
        imgs, heat = 0.5 * torch.randn(3, 2, 4, 4, generator=g), 0.5 * torch.rand(2, 2, 4, 4, generator=g)
        imgs[y] += 1.0
        heat[:, :, y] += 1.0
        out.append({"imgs": imgs, "heatmap_imgs": heat, "label": y})
    return out


def toy_cfg(**sets: object) -> dict:
    base = {"train.max_epochs": 3, "scheduler.T_max": 3, "data.batch_per_gpu": 4, "data.val_batch_per_gpu": 5,
            "data.num_workers": 0, "train.log_interval": 2, "train.seed": 11, "optimizer.lr": 0.01,
            "model.num_classes": 3, "train.keep_last": 2, "train.gpus": 1}
    base.update(sets)
    return load_config(ROOT / "configs/epam_synthetic_demo.yaml", [f"{k}={v}" for k, v in base.items()])


def fit(work: Path, cfg: dict, model: nn.Module | None = None, resume: str | None = None) -> tuple[int, Trainer]:
    """A single-process run of the stand-in on the toy sets; (exit code, trainer)."""
    trainer = Trainer(cfg, work, model=model or StandIn(), train_set=toy_set(20, 1), val_set=toy_set(10, 2),
                      resume=resume, dist_info=DistInfo())
    return trainer.fit(), trainer


def records(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "scalars.jsonl").read_text().splitlines()]


def dedup(recs: list[dict]) -> dict[tuple[str, int], dict]:
    """The reader's rule: the last record per (kind, step) wins; times dropped."""
    out = {}
    for r in recs:
        kind = "train" if "lr" in r else "val" if "acc/top1" in r else "epoch" if "train/loss" in r else None
        if kind:
            out[(kind, r["step"])] = {k: v for k, v in r.items() if k not in ("time", "data_time")}
    return out


# ------------------------------------------------------------------------------------------- formats
def test_header_padding_follows_mmengine() -> None:
    assert train_header(1, 20, 2, 50) == "Epoch(train) [1][20/50]"
    assert train_header(1, 20, 20, 2505) == "Epoch(train)  [1][  20/2505]"
    assert train_header(10, 5, 20, 50) == "Epoch(train) [10][ 5/50]"
    assert train_header(3, 7, 100, 9) == "Epoch(train)   [3][7/9]"
    assert fmt_eta(93784.9) == "1 day, 2:03:04" and fmt_eta(-3) == "0:00:00"


def test_fmt_eta_never_raises() -> None:
    """An absurd schedule (max_epochs 10**29) once killed the trainer in fmt_eta with an OverflowError."""
    longest = "999999999 days, 23:59:59"
    assert fmt_eta(float("inf")) == fmt_eta(1e300) == fmt_eta(10**29 * 3600) == fmt_eta(10**400) == longest
    assert fmt_eta(float("nan")) == fmt_eta(-float("inf")) == fmt_eta(-10**400) == "0:00:00"
    assert fmt_eta(86399.99) == "23:59:59"


def test_absurd_max_epochs_logs_a_capped_eta(tmp_path: Path) -> None:
    cfg = toy_cfg()
    cfg["train"]["max_epochs"] = 10**29  # past the config's bounds: the trainer itself must still not crash
    code, _ = fit(tmp_path, cfg, StandIn(signal_at=5))
    assert code == 143
    lines = [line for line in (tmp_path / "train.log").read_text().splitlines() if "Epoch(train)" in line]
    assert lines and all("eta: 999999999 days, 23:59:59" in line for line in lines), lines[:1]


def test_runlog_lines_records_and_status(tmp_path: Path) -> None:
    log = RunLog(tmp_path, echo=None)
    log.log_train(epoch=1, it=2, max_epochs=8, iters=50, step=2, lr=0.0015, eta=62.7, time_=0.4, data_time=0.02,
                  memory=5120, grad_norm=float("nan"), loss=4.095, loss_rgb=2.04, loss_pose=2.055, top1=0.25)
    log.log_val(1, 13, {"acc/top1": 0.5, "acc/top5": 1.0}, 0.001, 0.002)
    log.log_train_epoch(1, 3.5, 0.25)
    log.update_status(state="running", epoch=1, iter=2)
    log.close()
    line = (tmp_path / "train.log").read_text().splitlines()[0]
    assert LINE_RE.match(line), line
    assert "Epoch(train) [1][ 2/50]  lr: 1.5000e-03  eta: 0:01:02" in line and "grad_norm: nan  loss: 4.0950" in line
    recs = records(tmp_path)
    assert list(recs[0]) == TRAIN_KEYS and math.isnan(recs[0]["grad_norm"]) and recs[0]["step"] == 2
    assert recs[1] == {"acc/top1": 0.5, "acc/top5": 1.0, "data_time": 0.001, "time": 0.002, "epoch": 1, "step": 1}
    assert recs[2] == {"train/loss": 3.5, "train/top1": 0.25, "epoch": 1, "step": 1}
    status = json.loads((tmp_path / "status.json").read_text())
    assert {"state", "epoch", "iter", "max_epochs", "iters_per_epoch", "world_size", "pid", "create_time", "host",
            "started", "updated", "exit_reason", "best"} <= set(status)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temp files left"


def test_runlog_full_disk_error_names_the_file(tmp_path: Path) -> None:
    """A write or flush that fails on an open file raises an OSError without a file name; the trainer's one-line
    error must still say which file (it said 'disk full (No space left on device)' when a log append hit it)."""
    import errno

    from epam.engine.train import io_error_reason

    class FullDisk:
        def __init__(self, name: str) -> None:
            self.name = name

        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    log = RunLog(tmp_path, echo=None)
    log.close()
    log.text, log.scalars = FullDisk(str(tmp_path / "train.log")), FullDisk(str(tmp_path / "scalars.jsonl"))
    for call, name in ((lambda: log.info("x"), "train.log"), (lambda: log.record({"loss": 1.0}), "scalars.jsonl")):
        with pytest.raises(OSError) as info:
            call()
        assert info.value.errno == errno.ENOSPC and info.value.filename == str(tmp_path / name)
        assert io_error_reason(info.value, tmp_path).startswith(f"disk full writing {tmp_path / name} (No space")


# ------------------------------------------------------------------------------------------- checkpoints
def test_rng_state_survives_weights_only_round_trip(tmp_path: Path) -> None:
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.randn()  # a cached gaussian in numpy's state
    ck.atomic_save({"rng": ck.rng_state()}, tmp_path / "s.pth")
    expect = (random.random(), np.random.randn(3).tolist(), torch.rand(3).tolist())
    random.seed(9), np.random.seed(9), torch.manual_seed(9)
    ck.set_rng_state(ck.load_checkpoint(tmp_path / "s.pth")["rng"])  # weights_only=True inside
    assert (random.random(), np.random.randn(3).tolist(), torch.rand(3).tolist()) == expect


def test_checkpoint_manager_links_prunes_and_replaces_best(tmp_path: Path) -> None:
    (tmp_path / ".latest.pth.tmp123").write_bytes(b"half")  # left by a kill
    mgr = ck.CheckpointManager(tmp_path, keep_last=2, best_key="acc/top1")
    assert not (tmp_path / ".latest.pth.tmp123").exists()
    for epoch in (1, 2, 3):
        mgr.save_latest({"epoch": epoch, "w": torch.full((3,), float(epoch))})
        mgr.save_epoch(epoch)
        if epoch != 2:
            mgr.save_best(epoch)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["best_acc_top1_epoch_3.pth", "epoch_2.pth", "epoch_3.pth", "latest.pth"]
    assert ck.load_checkpoint(tmp_path / "epoch_2.pth")["epoch"] == 2  # untouched by later latest.pth writes
    assert torch.equal(ck.load_checkpoint(tmp_path / "best_acc_top1_epoch_3.pth")["w"], torch.full((3,), 3.0))


def test_pruning_never_removes_the_only_copy_of_the_best(tmp_path: Path) -> None:
    """A kill after epoch 1's links but before its best link; keep_last 1 must not prune epoch_1.pth (the
    best's only copy) at epoch 2, and the resume's repair makes the best link from it, then prunes."""
    mgr = ck.CheckpointManager(tmp_path, keep_last=1, best_key="acc/top1")
    best = {"metric": "acc/top1", "value": 0.9, "epoch": 1}
    mgr.save_latest({"epoch": 1, "iter_in_epoch": 0, "w": torch.ones(2), "best": best})
    mgr.save_epoch(1, best_epoch=1)  # killed here: no best_acc_top1_epoch_1.pth
    mgr.save_latest({"epoch": 2, "iter_in_epoch": 0, "w": torch.full((2,), 2.0), "best": best})
    mgr.save_epoch(2, best_epoch=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_1.pth", "epoch_2.pth", "latest.pth"]
    made = mgr.repair(ck.load_checkpoint(mgr.latest))
    assert [p.name for p in made] == ["best_acc_top1_epoch_1.pth"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_acc_top1_epoch_1.pth", "epoch_2.pth", "latest.pth"]
    assert torch.equal(ck.load_checkpoint(tmp_path / "best_acc_top1_epoch_1.pth")["w"], torch.ones(2))


def test_repair_rebuilds_the_links_of_an_interrupted_save(tmp_path: Path) -> None:
    """latest.pth (epoch 3, the new best) was renamed, then the kill: no epoch_3.pth, no new best, the old
    best still there. Repair links both to latest.pth, removes the old best, prunes to keep_last."""
    mgr = ck.CheckpointManager(tmp_path, keep_last=2, best_key="acc/top1")
    for epoch in (1, 2):
        mgr.save_latest({"epoch": epoch, "iter_in_epoch": 0, "w": torch.full((2,), float(epoch))})
        mgr.save_epoch(epoch, best_epoch=1)
        if epoch == 1:
            mgr.save_best(1)
    state = {"epoch": 3, "iter_in_epoch": 0, "w": torch.full((2,), 3.0),
             "best": {"metric": "acc/top1", "value": 0.5, "epoch": 3}}
    mgr.save_latest(state)
    made = mgr.repair(ck.load_checkpoint(mgr.latest))
    assert sorted(p.name for p in made) == ["best_acc_top1_epoch_3.pth", "epoch_3.pth"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_acc_top1_epoch_3.pth", "epoch_2.pth", "epoch_3.pth",
                                                          "latest.pth"]
    for name in ("epoch_3.pth", "best_acc_top1_epoch_3.pth"):
        assert torch.equal(ck.load_checkpoint(tmp_path / name)["w"], torch.full((2,), 3.0))
    assert mgr.repair(ck.load_checkpoint(mgr.latest)) == []  # nothing missing: nothing done
    # a mid-epoch latest.pth (a stop) is not an epoch's end: no epoch file is made from it
    mgr.save_latest({**state, "epoch": 3, "iter_in_epoch": 2, "w": torch.zeros(2)})
    (tmp_path / "epoch_3.pth").unlink()
    assert mgr.repair(ck.load_checkpoint(mgr.latest)) == [] and not (tmp_path / "epoch_3.pth").exists()


def test_resume_after_a_kill_between_latest_and_its_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The trainer dies right after epoch 1's latest.pth rename; --resume auto rebuilds epoch_1.pth and the best."""
    class Killed(BaseException):
        pass

    real = ck.CheckpointManager.save_epoch

    def dies_at_epoch_1(self, epoch, best_epoch=None):
        if epoch == 1:
            raise Killed()
        return real(self, epoch, best_epoch)

    cfg = toy_cfg(**{"train.max_epochs": 1, "scheduler.T_max": 1})
    monkeypatch.setattr(ck.CheckpointManager, "save_epoch", dies_at_epoch_1)
    with pytest.raises(Killed):
        fit(tmp_path, cfg)
    monkeypatch.undo()
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["latest.pth"], names
    code, _ = fit(tmp_path, cfg, resume="auto")
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == ["best_acc_top1_epoch_1.pth", "epoch_1.pth", "latest.pth"], names
    latest = ck.load_checkpoint(tmp_path / "checkpoints" / "latest.pth")["model"]
    for name in names[:2]:
        state = ck.load_checkpoint(tmp_path / "checkpoints" / name)
        assert state["epoch"] == 1 and all(torch.equal(state["model"][k], latest[k]) for k in latest)
    log = (tmp_path / "train.log").read_text()
    assert "Rebuilt epoch_1.pth" in log and "Rebuilt best_acc_top1_epoch_1.pth" in log
    assert json.loads((tmp_path / "status.json").read_text())["best"]["epoch"] == 1


def test_status_and_log_say_where_the_run_trains(tmp_path: Path) -> None:
    """status.json's "device" is what the run trains on; device auto falling back to the CPU is a WARNING."""
    one = {"train.max_epochs": 1, "scheduler.T_max": 1}
    code, _ = fit(tmp_path / "auto", toy_cfg(**one))  # DistInfo(): the CPU, as on a machine without CUDA
    assert code == 0 and json.loads((tmp_path / "auto" / "status.json").read_text())["device"] == "cpu"
    log = (tmp_path / "auto" / "train.log").read_text()
    assert re.search(r" - mmengine - WARNING - Training on cpu \(1 process\): train\.device is auto but ", log), log[:500]
    code, _ = fit(tmp_path / "cpu", toy_cfg(**one, **{"train.device": "cpu"}))
    assert json.loads((tmp_path / "cpu" / "status.json").read_text())["device"] == "cpu"
    log = (tmp_path / "cpu" / "train.log").read_text()
    assert " - mmengine - INFO - Training on cpu (1 process); train.device: cpu" in log and "WARNING" not in log


def test_device_report_names_the_device_and_why_not_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    from epam.engine.distributed import device_report

    cuda = DistInfo(rank=0, local_rank=1, world_size=2, device=torch.device("cuda:1"))
    assert device_report(cuda, "auto") == ("INFO", "Training on cuda (cuda:1, 2 processes); train.device: auto")
    monkeypatch.setattr(torch.version, "cuda", None)
    level, message = device_report(DistInfo(), "auto")
    assert level == "WARNING" and "no CUDA support (a CPU-only build)" in message
    monkeypatch.setattr(torch.version, "cuda", "12.4")
    assert "no CUDA device is visible" in device_report(DistInfo(), "auto")[1]


def test_failed_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "latest.pth"
    ck.atomic_save({"epoch": 1}, path)

    def broken_save(obj, fh):
        fh.write(b"partial bytes")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ck.torch, "save", broken_save)
    with pytest.raises(OSError):
        ck.atomic_save({"epoch": 2}, path)
    assert ck.load_checkpoint(path)["epoch"] == 1 and [p.name for p in tmp_path.iterdir()] == ["latest.pth"]


# ------------------------------------------------------------------------------------------- the loop
def test_stand_in_run_writes_the_run_directory(tmp_path: Path) -> None:
    code, trainer = fit(tmp_path, toy_cfg())
    assert code == 0 and trainer.iters_per_epoch == 5
    recs = records(tmp_path)
    train = [r for r in recs if "lr" in r]
    assert [r["step"] for r in train] == [2, 4, 5, 7, 9, 10, 12, 14, 15]  # every 2 and each epoch's last
    assert [r["epoch"] for r in recs if "acc/top1" in r] == [1, 2, 3]
    val = [r for r in recs if "acc/top1" in r][-1]
    assert val["acc/top1"] >= 0.8, "the toy problem is learnable"
    epochs = [r for r in recs if "train/loss" in r]
    assert [r["step"] for r in epochs] == [1, 2, 3] and epochs[-1]["train/loss"] < epochs[0]["train/loss"]
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "finished" and status["iter"] == 15 and status["best"]["metric"] == "acc/top1"
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.startswith("epoch_")) == \
        ["epoch_2.pth", "epoch_3.pth"]


def test_nonfinite_step_is_skipped_then_training_goes_on(tmp_path: Path) -> None:
    model = StandIn(nan_at=(2, 3))
    cfg = toy_cfg(**{"train.max_epochs": 1, "scheduler.T_max": 1, "train.log_interval": 1})
    trainer = Trainer(cfg, tmp_path, model=model, train_set=toy_set(20, 1), val_set=toy_set(10, 2),
                      dist_info=DistInfo())
    seen: list[torch.Tensor] = []
    trainer.optimizer.register_step_post_hook(lambda opt, args, kwargs: seen.append(
        torch.cat([p.detach().flatten() for p in model.parameters()]).clone()))
    assert trainer.fit() == 0 and trainer.nan_total == 2 and trainer.nan_streak == 0
    assert len(seen) == 3, "two of five optimizer steps skipped"
    train = [r for r in records(tmp_path) if "lr" in r]
    assert [math.isnan(r["loss"]) for r in train] == [False, False, True, True, False]
    assert [math.isnan(r["grad_norm"]) for r in train] == [False, False, True, True, False]
    log = (tmp_path / "train.log").read_text()
    assert log.count("WARNING - Non-finite loss nan at iteration") == 2


def test_nonfinite_patience_stops_without_stepping(tmp_path: Path) -> None:
    model = StandIn(nan_at=(2, 3, 4))
    code, trainer = fit(tmp_path, toy_cfg(**{"train.nan_patience": 3}), model)
    assert code == EXIT_NONFINITE and trainer.global_iter == 5
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["state"] == "failed" and "3 non-finite losses in a row" in status["exit_reason"]
    assert not (tmp_path / "checkpoints" / "latest.pth").exists()


def test_sigterm_mid_epoch_then_resume_is_exact(tmp_path: Path) -> None:
    ref_code, ref = fit(tmp_path / "ref", toy_cfg())
    work = tmp_path / "cut"
    code, _ = fit(work, toy_cfg(), StandIn(signal_at=7))  # epoch 2, its 3rd iteration
    assert code == 143
    state = ck.load_checkpoint(work / "checkpoints" / "latest.pth")
    assert (state["epoch"], state["iter_in_epoch"], state["iteration"]) == (1, 3, 8)
    assert json.loads((work / "status.json").read_text())["state"] == "stopped"
    code, resumed = fit(work, toy_cfg(), resume="auto")
    assert ref_code == code == 0
    assert all(torch.equal(a, b) for a, b in zip(ref.model.state_dict().values(), resumed.model.state_dict().values()))
    assert dedup(records(work)) == dedup(records(tmp_path / "ref")), "same records, train-epoch means included"


# ------------------------------------------------------------------------------------------- DDP (Gloo)
def _ddp_worker(rank: int, world: int, port: int, work: str, mode: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    from epam.engine.distributed import shutdown

    # rank 1 alone sees the trouble: a NaN loss at forwards 2-3, or SIGTERM during forward 6
    model = StandIn(nan_at=(2, 3) if mode == "nan" and rank == 1 else (),
                    signal_at=6 if mode == "signal" and rank == 1 else None)
    try:
        cfg = toy_cfg(**{"train.device": "cpu", "data.batch_per_gpu": 2})
        trainer = Trainer(cfg, Path(work), model=model, train_set=toy_set(20, 1), val_set=toy_set(10, 2))
        assert trainer.dist.world_size == 2  # joined the group from the environment, as under torchrun
        code = trainer.fit()
        flat = torch.cat([p.detach().flatten() for p in trainer.model.parameters()])
        Path(work, f"rank{rank}.json").write_text(json.dumps({"code": code, "iter": trainer.global_iter,
                                                              "nan_total": trainer.nan_total,
                                                              "params": flat.tolist()}))
    finally:
        shutdown()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["nan", "signal"])
def test_ddp_ranks_agree_on_skips_and_stops(tmp_path: Path, mode: str) -> None:
    import torch.multiprocessing as mp

    ctx = mp.start_processes(_ddp_worker, args=(2, _free_port(), str(tmp_path), mode), nprocs=2, join=False,
                             start_method="spawn")
    for _ in range(120):  # a rank that stops alone would leave the other blocked in a collective
        if ctx.join(timeout=0.5):
            break
    else:
        for p in ctx.processes:
            p.kill()
        pytest.fail("DDP workers did not finish: ranks disagreed")
    r0, r1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert r0["params"] == r1["params"], "replicas stay identical"
    if mode == "nan":
        assert r0["code"] == r1["code"] == 0 and r0["nan_total"] == r1["nan_total"] == 2
        # rank 0's own loss was finite; the skipped steps show as grad_norm NaN
        assert [math.isnan(r["grad_norm"]) for r in records(tmp_path) if "lr" in r][:2] == [False, True]
        assert "Non-finite loss on another rank at iteration 3" in (tmp_path / "train.log").read_text()
    else:
        assert r0["code"] == r1["code"] == 143 and r0["iter"] == r1["iter"] == 7
        assert ck.load_checkpoint(tmp_path / "checkpoints" / "latest.pth")["iteration"] == 7


def test_val_interval_and_keep_all(tmp_path: Path) -> None:
    code, _ = fit(tmp_path, toy_cfg(**{"train.val_interval": 2, "train.keep_last": -1}))
    assert code == 0
    assert [r["epoch"] for r in records(tmp_path) if "acc/top1" in r] == [2, 3]  # every 2nd epoch and the last
    assert sorted(p.name for p in (tmp_path / "checkpoints").glob("epoch_*.pth")) == \
        ["epoch_1.pth", "epoch_2.pth", "epoch_3.pth"]


def test_unusable_resume_checkpoint_is_one_clear_error(tmp_path: Path) -> None:
    from epam.engine.distributed import TrainingError

    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match=r"bad\.pth: cannot resume from this checkpoint .*start without --resume"):
        fit(tmp_path / "run", toy_cfg(), resume=str(bad))
    with pytest.raises(TrainingError, match="resume checkpoint not found"):
        fit(tmp_path / "run", toy_cfg(), resume=str(tmp_path / "missing.pth"))
