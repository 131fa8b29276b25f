"""The training loop: single process or DDP under torchrun (NCCL on GPU, Gloo on CPU).

SGD with momentum and weight decay, gradient clipping by global norm (the pre-clip norm is logged
as ``grad_norm``), torch's LR schedulers from ``epam.schedule`` stepped by epoch or by iteration,
optional AMP on CUDA, seeding, validation every ``val_interval`` epochs, atomic checkpoints,
``--resume``, non-finite loss handling and clean stops on SIGINT/SIGTERM. Rank 0 writes the run
directory (``docs/run_directory.md``). Around the loop: ``runtime`` (seeding, the stop flag, the
environment report), ``loaders`` (a rank's batches of an epoch), ``evaluation`` (validation predictions).

Resume: ``latest.pth`` is written at every epoch's end and when a signal stops the run (then it
holds the position inside the epoch and the epoch's running train loss/accuracy). The data order of
an epoch is a function of (seed, epoch), the augmentation of a sample of (seed, epoch, index), and
the RNG states are restored, so a resumed run with a fixed seed ends exactly as an uninterrupted
one. After SIGKILL (no chance to write), training resumes from the last ``latest.pth``, i.e. the
end of the last finished epoch, and the lost part of the epoch is trained again identically.

Signals: SIGINT/SIGTERM finish the current iteration on every rank (the flag is reduced over ranks
so all stop at the same iteration), write ``latest.pth``, set status ``stopped`` and return exit
code 130 (SIGINT) or 143 (SIGTERM). DataLoader workers ignore SIGINT, so Ctrl-C reaches only the
loop. Non-finite losses: the step is skipped (no backward, no optimizer step; the scheduler still
advances so the LR stays on its curve); after ``train.nan_patience`` in a row the run fails with
exit code 3.
"""

from __future__ import annotations

import math
import os
import pickle
import random
import signal
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from epam.config import dump_config
from epam.engine.checkpoint import CheckpointManager, load_checkpoint, rng_state, set_rng_state
from epam.engine.distributed import (DistInfo, TrainingError, all_gather, all_reduce, broadcast_int,
                                     device_report, setup_distributed)
from epam.engine.evaluation import predict, unique_rows
from epam.engine.loaders import build_loader
from epam.engine.metrics import topk_correct, val_metrics
from epam.engine.runlog import RunLog
from epam.fileio import atomic_write_text
from epam.rundir import CHECKPOINTS, CONFIG_YAML
from epam.engine.runtime import StopFlag, environment, seed_everything
from epam.schedule import build_scheduler, recipe_total_batch

__all__ = ["Trainer", "TrainingError", "seed_everything", "EXIT_NONFINITE", "EXIT_SIGNAL"]

EXIT_NONFINITE = 3
EXIT_SIGNAL = {int(signal.SIGINT): 130, int(signal.SIGTERM): 143}
NAN_HOOK = "EPAM_TEST_NAN_FROM_ITER"  # test hook: the loss is NaN from this 0-based global iteration on


@dataclass
class EpochStats:
    """Running sums of the current epoch (this rank): train loss, accuracy."""

    loss_sum: float = 0.0
    loss_n: float = 0.0  # samples of finite-loss iterations
    correct: float = 0.0
    seen: float = 0.0

    def as_list(self) -> list[float]:
        return [self.loss_sum, self.loss_n, self.correct, self.seen]


@dataclass
class StepOut:
    """One training iteration's outputs, for logging."""

    rgb: torch.Tensor
    pose: torch.Tensor
    loss: float
    loss_rgb: float
    loss_pose: float
    grad_norm: float
    finite: bool
    signum: int


class Trainer:
    """Trains EPAM-Net from a resolved config. ``model``/``train_set``/``val_set`` may be injected (tests):
    any module with ``forward(imgs, heatmap_imgs) -> (rgb_logits, pose_logits)`` and
    ``loss(rgb, pose, labels) -> (total, loss_rgb, loss_pose)``, and datasets of
    ``{"imgs", "heatmap_imgs", "label"}`` samples."""

    def __init__(self, cfg: dict, work_dir: Path, *, model: nn.Module | None = None, train_set: Any = None,
                 val_set: Any = None, resume: str | None = None, dist_info: DistInfo | None = None):
        self.cfg = cfg
        self.work_dir = Path(work_dir)
        self.tcfg = cfg["train"]
        self.dist = dist_info or setup_distributed(self.tcfg.get("device", "auto"))
        seed = self.tcfg.get("seed")
        self.seed = int(seed) if seed is not None else broadcast_int(self.dist, random.SystemRandom().randrange(2**31))
        seed_everything(self.seed, bool(self.tcfg.get("deterministic", False)))

        self.log = RunLog(self.work_dir) if self.dist.main else None
        if self.log:
            self.log.status.update(max_epochs=int(self.tcfg["max_epochs"]), world_size=self.dist.world_size,
                                   device=self.dist.device.type)
        try:
            self._setup(model, train_set, val_set, resume)
        except Exception as exc:
            if self.log:  # train.log and status.json get the reason too (the CLI prints it once, on stderr)
                self.log.error(f"Start-up failed: {exc}", echo=False)
                self.log.update_status(state="failed", exit_reason=str(exc))
                self.log.close()
            raise

    def _setup(self, model: nn.Module | None, train_set: Any, val_set: Any, resume: str | None) -> None:
        """Everything after the run log exists: data, model, optimizer, schedule; then the resume."""
        cfg = self.cfg
        self.ckpt = CheckpointManager(self.work_dir / CHECKPOINTS, int(self.tcfg.get("keep_last", 3)),
                                      self.tcfg.get("save_best")) if self.dist.main else None
        self.train_set, self.val_set = self._datasets(train_set, val_set)
        self.num_classes = int(cfg["model"]["num_classes"])
        self.model, self.net = self._build_model(model)

        ocfg = cfg["optimizer"]
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=float(ocfg["lr"]),
                                         momentum=float(ocfg["momentum"]), weight_decay=float(ocfg["weight_decay"]),
                                         nesterov=bool(ocfg.get("nesterov", False)))
        self.batch = int(cfg["data"]["batch_per_gpu"])
        per_rank = math.ceil(len(self.train_set) / self.dist.world_size)
        self.iters_per_epoch = max(1, math.ceil(per_rank / self.batch))
        self.scheduler, self.by_epoch = build_scheduler(self.optimizer, cfg, self.iters_per_epoch)
        self.use_amp = bool(self.tcfg.get("amp", False)) and self.dist.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        clip = cfg.get("clip_grad") or {}
        self.max_norm = float(clip["max_norm"]) if clip.get("max_norm") else math.inf
        self.norm_type = float(clip.get("norm_type", 2))
        self.max_epochs = int(self.tcfg["max_epochs"])
        self.log_interval = int(self.tcfg.get("log_interval", 20))
        self.nan_patience = int(self.tcfg.get("nan_patience", 3))

        self.epoch = 0  # completed epochs
        self.skip = 0  # iterations of the current epoch already done (mid-epoch resume)
        self.global_iter = 0
        self.stats = EpochStats()
        self.window: dict[str, list[float]] = defaultdict(list)  # values since the last iteration line
        self.best: dict[str, Any] | None = None
        self.nan_streak = 0
        self.nan_total = 0
        self.stop = StopFlag()
        if resume:
            self._resume(resume)

    # ---------------------------------------------------------------- construction
    def _datasets(self, train_set: Any, val_set: Any) -> tuple[Any, Any]:
        if train_set is not None and val_set is not None:
            return train_set, val_set
        from epam.data import build_dataset

        # the seed drawn for a seedless config also drives the augmentation, so the logged seed replays the run
        cfg = {**self.cfg, "train": {**self.tcfg, "seed": self.seed}}
        return (train_set if train_set is not None else build_dataset(cfg, "train"),
                val_set if val_set is not None else build_dataset(cfg, "val"))

    def _build_model(self, model: nn.Module | None) -> tuple[nn.Module, nn.Module]:
        """(the model, what the loop calls: the model or its DDP wrapper)."""
        if model is None:
            from epam.model import build_model

            model = build_model(self.cfg["model"])
            self._load_pretrained(model)
        if self.dist.distributed and self.cfg["model"].get("sync_bn", False):
            if self.dist.device.type == "cuda":
                from epam.model import convert_sync_bn

                model = convert_sync_bn(model)
            else:
                self._info("model.sync_bn: SyncBatchNorm needs CUDA; on CPU each process keeps its own BN statistics")
        model = model.to(self.dist.device)
        if not self.dist.distributed:
            return model, model
        ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
        return model, nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def _load_pretrained(self, model: nn.Module) -> None:
        from epam.model.checkpoint import load_official_checkpoint, load_pretrained_stream

        m = self.cfg["model"]
        for stream in ("rgb", "pose"):
            if m.get(f"pretrained_{stream}"):
                report = load_pretrained_stream(model, m[f"pretrained_{stream}"], stream)
                self._info(f"Loaded pretrained {stream} stream from {m[f'pretrained_{stream}']}: {report.summary()}")
        if m.get("load_from"):
            report = load_official_checkpoint(model, m["load_from"], strict=False)
            self._info(f"Loaded weights from {m['load_from']}: {report.summary()}")

    # ---------------------------------------------------------------- helpers
    def _info(self, message: str) -> None:
        if self.log:
            self.log.info(message)

    def _loader(self, dataset: Any, train: bool, epoch: int, skip_batches: int = 0) -> Iterable:
        """This rank's batches of ``dataset`` for ``epoch``; the first ``skip_batches`` left out."""
        batch = self.batch if train else int(self.cfg["data"]["val_batch_per_gpu"])
        return build_loader(dataset, self.dist, self.cfg["data"], seed=self.seed, epoch=epoch, batch=batch,
                            shuffle=train, skip_batches=skip_batches)

    def _state(self, iter_in_epoch: int, stats: EpochStats) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "iter_in_epoch": iter_in_epoch, "iteration": self.global_iter,
            "epoch_stats": stats.as_list(), "log_window": {k: list(v) for k, v in self.window.items()},
            "rng": rng_state(), "config": self.cfg, "best": self.best,
            "seed": self.seed, "nan_total": self.nan_total, "world_size": self.dist.world_size,
        }

    def _resume(self, resume: str) -> None:
        path = self.work_dir / CHECKPOINTS / "latest.pth" if resume == "auto" else Path(resume)
        if not path.exists():
            if resume == "auto":
                self._info(f"No checkpoint to resume from at {path}; starting from scratch")
                return
            raise TrainingError(f"{path}: resume checkpoint not found (use --resume auto or a path to a .pth)")
        try:
            state = load_checkpoint(path)
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
        except pickle.UnpicklingError:
            raise TrainingError(f"{path}: cannot resume from this checkpoint (not one this trainer wrote: unreadable, "
                                "or objects outside weights_only's safe set); resume from another checkpoint or "
                                "start without --resume") from None
        except (RuntimeError, KeyError, ValueError, EOFError, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TrainingError(f"{path}: cannot resume from this checkpoint ({first[:200]}); "
                                "resume from another checkpoint or start without --resume") from None
        self.epoch, self.skip = int(state["epoch"]), int(state.get("iter_in_epoch", 0))
        self.global_iter = int(state["iteration"])
        self.best = state.get("best")
        self.nan_total = int(state.get("nan_total", 0))
        if self.dist.main and "epoch_stats" in state:  # the epoch's sums so far, already reduced over ranks
            self.stats = EpochStats(*(float(v) for v in state["epoch_stats"]))
            self.window = defaultdict(list, {k: [float(x) for x in v] for k, v in state.get("log_window", {}).items()})
        if int(state.get("seed", self.seed)) != self.seed:
            self._info(f"Resuming with the checkpoint's seed {state['seed']} (config: {self.seed})")
            self.seed = int(state["seed"])
        set_rng_state(state["rng"])
        if int(state.get("world_size", self.dist.world_size)) != self.dist.world_size and self.log:
            self.log.warning(f"{path} was written by {state['world_size']} process(es), this run has "
                             f"{self.dist.world_size}: the data order and per-iteration schedule differ from the "
                             "original run (resume with the same number of processes to continue it exactly)")
        self._info(f"Resumed from {path}: epoch {self.epoch + 1}, iteration {self.global_iter}")
        if self.ckpt is not None and path.resolve() == self.ckpt.latest.resolve():
            for made in self.ckpt.repair(state):  # a kill between latest.pth's rename and its links
                self._info(f"Rebuilt {made.name} from the checkpoints (the last save was interrupted)")
        if self.log:
            self.log.record({"resume": True, "epoch": self.epoch + 1, "iter": self.global_iter, "step": self.global_iter})

    def _start_banner(self) -> None:
        if not self.log:
            return
        level, message = device_report(self.dist, str(self.tcfg.get("device", "auto")))
        self.log.info(message, level)
        env = environment(self.dist, self.seed, self.tcfg.get("deterministic", False))
        self.log.info("Environment:\n    " + "\n    ".join(env))
        text = dump_config(self.cfg)
        self.log.info("Config:\n" + text.rstrip())
        atomic_write_text(self.work_dir / CONFIG_YAML, text)
        n = sum(p.numel() for p in self.model.parameters())
        total = self.batch * self.dist.world_size
        self.log.info(f"Model: {type(self.model).__name__}, {n:,} parameters; {len(self.train_set)} train / "
                      f"{len(self.val_set)} val samples; total batch {total}; {self.iters_per_epoch} iterations per epoch")
        if total != recipe_total_batch(self.cfg):
            self.log.warning(f"total batch {total} differs from the recipe's {recipe_total_batch(self.cfg)} "
                             f"(train.gpus x data.batch_per_gpu); optimizer.lr is used as configured")
        self.log.info(f"Checkpoints will be saved to {self.work_dir / 'checkpoints'}.")
        self.log.update_status(max_epochs=self.max_epochs, iters_per_epoch=self.iters_per_epoch,
                               world_size=self.dist.world_size, epoch=min(self.epoch + 1, self.max_epochs),
                               iter=self.global_iter, best=self.best, seed=self.seed, device=self.dist.device.type)

    # ---------------------------------------------------------------- the loop
    def fit(self) -> int:
        """Train to ``max_epochs``; returns the exit code (0 done, 130/143 stopped, 3 non-finite)."""
        self.stop.install()
        try:
            self._start_banner()
            while self.epoch < self.max_epochs:
                code = self._train_epoch()
                if code is not None:
                    return code
                self.epoch += 1
                self.skip = 0
                if self.by_epoch:
                    self.scheduler.step()
                val_due = self.epoch % int(self.tcfg.get("val_interval", 1)) == 0 or self.epoch == self.max_epochs
                self._end_of_epoch(self.validate() if val_due else None)
                signum = int(all_reduce(self.dist, [self.stop.signum], "max")[0])
                if signum and self.epoch < self.max_epochs:
                    return self._stopped(0, signum)
            self._info(f"Training finished: {self.max_epochs} epochs, best {self._best_text()}")
            if self.log:
                self.log.update_status(state="finished", exit_reason="completed")
            return 0
        finally:
            self.stop.restore()
            if self.log:
                self.log.close()

    def _train_epoch(self) -> int | None:
        """One epoch from ``self.skip``; None when it completed, else the exit code (stopped or failed)."""
        self.net.train()
        t_last = time.perf_counter()
        it = self.skip
        for batch in self._loader(self.train_set, True, self.epoch, self.skip):
            data_time = time.perf_counter() - t_last
            lr = self.optimizer.param_groups[0]["lr"]
            labels = batch["label"].to(self.dist.device, non_blocking=True)
            out = self._train_step(batch, labels)
            self.global_iter += 1
            it += 1
            correct = topk_correct(out.rgb.detach().float() + out.pose.detach().float(), labels, 1)
            self._accumulate(out, correct, labels.shape[0])
            for key, value in (("loss", out.loss), ("loss_rgb", out.loss_rgb), ("loss_pose", out.loss_pose),
                               ("grad_norm", out.grad_norm), ("data_time", data_time),
                               ("time", time.perf_counter() - t_last)):
                self.window[key].append(value)
            if it % self.log_interval == 0 or it == self.iters_per_epoch:
                self._log_window(it, lr, correct / max(1, labels.shape[0]))
            if self.nan_streak >= self.nan_patience:
                return self._failed(f"{self.nan_streak} non-finite losses in a row (train.nan_patience="
                                    f"{self.nan_patience}); lower optimizer.lr, add warmup or enable clip_grad",
                                    EXIT_NONFINITE)
            signum = out.signum if self.dist.distributed else self.stop.signum
            if signum:
                return self._stopped(it, signum)
            t_last = time.perf_counter()
        loss_sum, loss_n, correct_sum, seen = all_reduce(self.dist, self.stats.as_list())
        if self.log:
            self.log.log_train_epoch(self.epoch + 1, loss_sum / loss_n if loss_n else float("nan"),
                                     correct_sum / max(1.0, seen))
        self.stats = EpochStats()
        return None

    def _train_step(self, batch: dict[str, torch.Tensor], labels: torch.Tensor) -> StepOut:
        """Forward, loss, and (if the loss is finite on every rank) backward, clip and optimizer step."""
        imgs = batch["imgs"].to(self.dist.device, non_blocking=True)
        heat = batch["heatmap_imgs"].to(self.dist.device, non_blocking=True)
        with torch.autocast(self.dist.device.type, enabled=self.use_amp):
            rgb, pose = self.net(imgs, heat)
            total, loss_rgb, loss_pose = self.model.loss(rgb.float(), pose.float(), labels)
        if os.environ.get(NAN_HOOK) and self.global_iter >= int(os.environ[NAN_HOOK]):
            total = total * float("nan")
        # one collective per iteration: any rank non-finite -> all skip; any rank signalled -> all stop after it
        local_finite = bool(torch.isfinite(total))
        bad, signum = all_reduce(self.dist, [0.0 if local_finite else 1.0, float(self.stop.signum)], "max")
        finite = bad == 0.0
        self.optimizer.zero_grad(set_to_none=True)
        grad_norm = float("nan")
        if finite:
            self.nan_streak = 0
            self.scaler.scale(total).backward()
            self.scaler.unscale_(self.optimizer)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_norm, self.norm_type))
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.nan_streak += 1
            self.nan_total += 1
            if self.log:
                what = "on another rank" if local_finite else f"{float(total.detach())}"
                self.log.warning(f"Non-finite loss {what} at iteration {self.global_iter + 1} (epoch "
                                 f"{self.epoch + 1}); step skipped ({self.nan_streak} in a row, {self.nan_total} in all)")
        if not self.by_epoch:
            self.scheduler.step()
        return StepOut(rgb, pose, float(total.detach()), float(loss_rgb.detach()), float(loss_pose.detach()),
                       grad_norm, finite, int(signum))

    def _accumulate(self, out: StepOut, correct: int, n: int) -> None:
        if out.finite:
            self.stats.loss_sum += out.loss * n
            self.stats.loss_n += n
        self.stats.correct += correct
        self.stats.seen += n

    def _log_window(self, it: int, lr: float, top1: float) -> None:
        """The iteration line and record: means over the window, then the window restarts."""
        mean = {k: (sum(v) / len(v) if v else float("nan")) for k, v in self.window.items()}
        self.window.clear()
        if not self.log:
            return
        remaining = self.max_epochs * self.iters_per_epoch - self.global_iter
        memory = None
        if self.dist.device.type == "cuda":
            memory = int(torch.cuda.max_memory_allocated(self.dist.device) // 2**20)
            torch.cuda.reset_peak_memory_stats(self.dist.device)
        self.log.log_train(epoch=self.epoch + 1, it=it, max_epochs=self.max_epochs, iters=self.iters_per_epoch,
                           step=self.global_iter, lr=lr, eta=float(min(remaining, 10**300)) * mean["time"], time_=mean["time"],
                           data_time=mean["data_time"], memory=memory, grad_norm=mean["grad_norm"], loss=mean["loss"],
                           loss_rgb=mean["loss_rgb"], loss_pose=mean["loss_pose"], top1=top1)
        self.log.update_status(epoch=self.epoch + 1, iter=self.global_iter)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Fused top-1/top-5/mean-class accuracy and each stream's top-1 over the whole val split.

        Each rank evaluates its shard with the bare model (no DDP collectives in the loop); the
        predictions are gathered once at the end (``epam.engine.evaluation``)."""
        self.model.eval()
        t0 = time.perf_counter()
        loader = self._loader(self.val_set, False, self.epoch)
        local, data_time = predict(self.model, loader, self.dist.device, self.use_amp,
                                   self.log.heartbeat if self.log else None)
        parts = all_gather(self.dist, local)
        metrics = val_metrics(*unique_rows(parts), self.num_classes)
        if self.log:
            self.log.log_val(self.epoch, len(loader), metrics, data_time / max(1, len(loader)),
                             (time.perf_counter() - t0) / max(1, len(loader)))
        return metrics

    def _end_of_epoch(self, metrics: dict[str, float] | None) -> None:
        if not (self.log and self.ckpt):
            return
        key = self.tcfg.get("save_best") or "acc/top1"
        improved = metrics is not None and key in metrics and (self.best is None or metrics[key] > self.best["value"])
        if improved:
            self.best = {"metric": key, "value": metrics[key], "epoch": self.epoch}
        self.ckpt.save_latest(self._state(0, EpochStats()))
        if os.environ.get("EPAM_TEST_KILL_AFTER_LATEST") == str(self.epoch):  # test hook: die before the links
            os.kill(os.getpid(), signal.SIGKILL)
        self.ckpt.save_epoch(self.epoch, self.best["epoch"] if self.best else None)
        self.log.info(f"Saving checkpoint at {self.epoch} epochs")
        if improved and self.tcfg.get("save_best"):
            path, removed = self.ckpt.save_best(self.epoch)
            for old in removed:
                self.log.info(f"The previous best checkpoint {old} is removed")
            self.log.info(f"The best checkpoint with {metrics[key]:.4f} {key} at {self.epoch} epoch is saved to {path.name}.")
        self.log.update_status(epoch=min(self.epoch + 1, self.max_epochs), iter=self.global_iter, best=self.best)

    def _best_text(self) -> str:
        return "n/a" if not self.best else f"{self.best['metric']} {self.best['value']:.4f} at epoch {self.best['epoch']}"

    def _stopped(self, iter_in_epoch: int, signum: int) -> int:
        """Write latest.pth at this position (rank 0), mark the run stopped; returns 130/143."""
        stats = EpochStats(*all_reduce(self.dist, self.stats.as_list()))  # every rank takes part
        name = signal.Signals(signum).name
        if self.log and self.ckpt:
            self.ckpt.save_latest(self._state(iter_in_epoch, stats))
            self.log.info(f"Stopped by {name} at epoch {self.epoch + 1}, iteration {self.global_iter}; "
                          f"latest.pth written (continue with --resume auto)")
            self.log.update_status(state="stopped", exit_reason=f"stopped by {name}", iter=self.global_iter)
        return EXIT_SIGNAL.get(signum, 128 + signum)

    def _failed(self, reason: str, code: int) -> int:
        if self.log:
            self.log.error(f"Training stopped: {reason}")
            self.log.update_status(state="failed", exit_reason=reason, iter=self.global_iter)
        return code
