"""The training loop: single process or DDP under torchrun (NCCL on GPU, Gloo on CPU).

SGD with momentum and weight decay, gradient clipping by global norm (the pre-clip norm is logged
as ``grad_norm``), torch's LR schedulers from ``epam.schedule`` stepped by epoch or by iteration,
optional AMP on CUDA, seeding, validation every ``val_interval`` epochs, atomic checkpoints,
``--resume``, non-finite loss handling and clean stops on SIGINT/SIGTERM. Rank 0 writes the run
directory (``docs/run_directory.md``).

Resume: ``latest.pth`` is written at every epoch's end and when a signal stops the run; it holds
the position inside the epoch. The data order of an epoch is a function of (seed, epoch) and the
augmentation of a sample of (seed, epoch, index), and RNG states are restored, so a resumed run
with a fixed seed ends exactly as an uninterrupted one. After SIGKILL, training resumes from the
last ``latest.pth`` (the end of the last finished epoch).
"""

from __future__ import annotations

import math
import os
import random
import signal
import subprocess
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from epam.config import dump_config
from epam.engine.checkpoint import CheckpointManager, load_checkpoint, rng_state, set_rng_state
from epam.engine.runlog import RunLog
from epam.schedule import build_scheduler

EXIT_NONFINITE = 3
EXIT_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143}


class TrainingError(Exception):
    """Training cannot go on; the message is one line naming the cause and the fix."""


@dataclass
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup_distributed(device_pref: str) -> DistInfo:
    """Join the torchrun group when WORLD_SIZE > 1; pick cuda:LOCAL_RANK or the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_pref in ("auto", "cuda") and torch.cuda.is_available()
    if device_pref == "cuda" and not torch.cuda.is_available():
        raise TrainingError("train.device is cuda but no CUDA device is visible (set train.device=cpu or auto)")
    device = torch.device(f"cuda:{local}") if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, local, world, device)


def seed_everything(seed: int, deterministic: bool) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if deterministic:
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parents[2])
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def topk_correct(logits: torch.Tensor, labels: torch.Tensor, k: int) -> int:
    k = min(k, logits.shape[1])
    return int((logits.topk(k, dim=1).indices == labels[:, None]).any(dim=1).sum())


def mean_class_accuracy(pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    accs = [float((pred[labels == c] == c).float().mean()) for c in range(num_classes) if (labels == c).any()]
    return sum(accs) / len(accs) if accs else 0.0


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop checks it after each iteration."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._old: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._old[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        self.signum = signum

    def restore(self) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class Trainer:
    """Trains EPAM-Net from a resolved config. ``model``/``train_set``/``val_set`` may be injected (tests)."""

    def __init__(self, cfg: dict, work_dir: Path, *, model: nn.Module | None = None, train_set: Any = None,
                 val_set: Any = None, resume: str | None = None, dist_info: DistInfo | None = None):
        self.cfg = cfg
        self.work_dir = Path(work_dir)
        self.tcfg = cfg["train"]
        self.dist = dist_info or setup_distributed(self.tcfg.get("device", "auto"))
        self.seed = self.tcfg.get("seed")
        if self.seed is None:
            self.seed = self._broadcast_int(random.SystemRandom().randrange(2**31))
        seed_everything(int(self.seed), bool(self.tcfg.get("deterministic", False)))

        self.log = RunLog(self.work_dir) if self.dist.main else None
        self.ckpt = CheckpointManager(self.work_dir / "checkpoints", int(self.tcfg.get("keep_last", 3)),
                                      self.tcfg.get("save_best")) if self.dist.main else None

        if train_set is None or val_set is None:
            from epam.data import build_dataset

            train_set = train_set if train_set is not None else build_dataset(cfg, "train")
            val_set = val_set if val_set is not None else build_dataset(cfg, "val")
        self.train_set, self.val_set = train_set, val_set
        self.num_classes = int(cfg["model"]["num_classes"])

        if model is None:
            from epam.model import build_model

            model = build_model(cfg["model"])
            self._load_pretrained(model)
        if self.dist.distributed and cfg["model"].get("sync_bn", False):
            if self.dist.device.type == "cuda":
                from epam.model import convert_sync_bn

                model = convert_sync_bn(model)
            else:
                self._info("model.sync_bn: SyncBatchNorm needs CUDA; on CPU each process keeps its own BN statistics")
        self.model = model.to(self.dist.device)
        self.net = self.model
        if self.dist.distributed:
            ids = [self.dist.device.index] if self.dist.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

        ocfg = cfg["optimizer"]
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=float(ocfg["lr"]), momentum=float(ocfg["momentum"]),
                                         weight_decay=float(ocfg["weight_decay"]), nesterov=bool(ocfg.get("nesterov", False)))
        self.batch = int(cfg["data"]["batch_per_gpu"])
        self.iters_per_epoch = max(1, math.ceil(math.ceil(len(train_set) / self.dist.world_size) / self.batch))
        self.scheduler, self.by_epoch = build_scheduler(self.optimizer, cfg, self.iters_per_epoch)
        self.use_amp = bool(self.tcfg.get("amp", False)) and self.dist.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        clip = cfg.get("clip_grad") or {}
        self.max_norm = float(clip.get("max_norm", math.inf)) if clip else math.inf
        self.norm_type = float(clip.get("norm_type", 2)) if clip else 2.0
        self.max_epochs = int(self.tcfg["max_epochs"])

        self.epoch = 0  # completed epochs
        self.skip = 0  # iterations of the current epoch already done (mid-epoch resume)
        self.global_iter = 0
        self.best: dict[str, Any] | None = None
        self.nan_streak = 0
        self.nan_total = 0
        self.stop = _StopFlag()
        if resume:
            self._resume(resume)

    # ---------------------------------------------------------------- helpers
    def _broadcast_int(self, value: int) -> int:
        if not self.dist.distributed:
            return value
        t = torch.tensor([value], dtype=torch.long, device=self.dist.device)
        dist.broadcast(t, 0)
        return int(t.item())

    def _all_reduce(self, values: list[float]) -> list[float]:
        if not self.dist.distributed:
            return values
        t = torch.tensor(values, dtype=torch.float64, device=self.dist.device)
        dist.all_reduce(t)
        return t.tolist()

    def _info(self, message: str) -> None:
        if self.log:
            self.log.info(message)

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

    def _loader(self, dataset: Any, train: bool, epoch: int, skip_batches: int = 0) -> Iterable:
        from torch.utils.data import DataLoader, DistributedSampler

        from epam.data import collate, seed_worker

        dcfg = self.cfg["data"]
        sampler = DistributedSampler(dataset, num_replicas=self.dist.world_size, rank=self.dist.rank,
                                     shuffle=train, seed=int(self.seed), drop_last=False)
        sampler.set_epoch(epoch)
        indices = list(sampler)
        batch = self.batch if train else int(dcfg["val_batch_per_gpu"])
        if skip_batches:
            indices = indices[skip_batches * batch:]
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        workers = int(dcfg.get("num_workers", 0))
        gen = torch.Generator().manual_seed(int(self.seed) * 1000 + epoch)
        return DataLoader(dataset, batch_size=batch, sampler=indices, num_workers=workers, collate_fn=collate,
                          pin_memory=bool(dcfg.get("pin_memory", False)) and self.dist.device.type == "cuda",
                          worker_init_fn=seed_worker, generator=gen, persistent_workers=False,
                          drop_last=False)

    def _state(self, iter_in_epoch: int) -> dict[str, Any]:
        return {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "iter_in_epoch": iter_in_epoch, "iteration": self.global_iter,
            "rng": rng_state(), "config": self.cfg, "best": self.best, "seed": int(self.seed),
            "nan_total": self.nan_total,
        }

    def _resume(self, resume: str) -> None:
        path = self.work_dir / "checkpoints" / "latest.pth" if resume == "auto" else Path(resume)
        if not path.exists():
            if resume == "auto":
                self._info(f"No checkpoint to resume from at {path}; starting from scratch")
                return
            raise TrainingError(f"{path}: resume checkpoint not found (use --resume auto or a path to a .pth)")
        state = load_checkpoint(path)
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.skip = int(state["epoch"]), int(state.get("iter_in_epoch", 0))
        self.global_iter = int(state["iteration"])
        self.best = state.get("best")
        self.nan_total = int(state.get("nan_total", 0))
        if int(state.get("seed", self.seed)) != int(self.seed):
            self._info(f"Resuming with the checkpoint's seed {state['seed']} (config: {self.seed})")
            self.seed = int(state["seed"])
        set_rng_state(state["rng"])
        self._info(f"Resumed from {path}: epoch {self.epoch + 1}, iteration {self.global_iter}")
        if self.log:
            self.log.record({"resume": True, "epoch": self.epoch + 1, "iter": self.global_iter, "step": self.global_iter})

    def _start_banner(self) -> None:
        if not self.log:
            return
        env = [f"torch: {torch.__version__}", f"CUDA available: {torch.cuda.is_available()}",
               f"device: {self.dist.device}", f"world size: {self.dist.world_size}", f"seed: {self.seed}",
               f"deterministic: {self.tcfg.get('deterministic', False)}", f"git commit: {_git_commit()}"]
        if torch.cuda.is_available():
            env.append("GPUs: " + ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())))
        self.log.info("Environment:\n    " + "\n    ".join(env))
        self.log.info("Config:\n" + dump_config(self.cfg).rstrip())
        n = sum(p.numel() for p in self.model.parameters())
        self.log.info(f"Model: EPAM-Net, {n:,} parameters; {len(self.train_set)} train / {len(self.val_set)} val "
                      f"samples; {self.iters_per_epoch} iterations per epoch")
        self.log.info(f"Checkpoints will be saved to {self.work_dir / 'checkpoints'}.")
        (self.work_dir / "config.yaml").write_text(dump_config(self.cfg))
        self.log.update_status(max_epochs=self.max_epochs, iters_per_epoch=self.iters_per_epoch,
                               world_size=self.dist.world_size, epoch=self.epoch + 1, iter=self.global_iter,
                               best=self.best, seed=int(self.seed))

    # ---------------------------------------------------------------- the loop
    def fit(self) -> int:
        """Train to ``max_epochs``; returns the process exit code (0 done, 130/143 stopped, 3 non-finite)."""
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
                metrics = self.validate() if val_due else None
                self._end_of_epoch(metrics)
                if self.stop.signum is not None:
                    return self._stopped(0)
            self._info(f"Training finished: {self.max_epochs} epochs, best {self._best_text()}")
            if self.log:
                self.log.update_status(state="finished", exit_reason="completed")
            return 0
        finally:
            self.stop.restore()
            if self.log:
                self.log.close()

    def _train_epoch(self) -> int | None:
        self.net.train()
        loader = self._loader(self.train_set, True, self.epoch, self.skip)
        window: dict[str, list[float]] = defaultdict(list)
        sums = [0.0, 0.0, 0.0]  # loss sum, correct, samples (for the epoch record)
        t_last = time.perf_counter()
        it = self.skip
        for batch in loader:
            data_time = time.perf_counter() - t_last
            imgs = batch["imgs"].to(self.dist.device, non_blocking=True)
            heat = batch["heatmap_imgs"].to(self.dist.device, non_blocking=True)
            labels = batch["label"].to(self.dist.device, non_blocking=True)
            lr = self.optimizer.param_groups[0]["lr"]
            with torch.autocast(self.dist.device.type, enabled=self.use_amp):
                rgb, pose = self.net(imgs, heat)
                total, loss_rgb, loss_pose = self.model.loss(rgb.float(), pose.float(), labels)
            if os.environ.get("EPAM_TEST_NAN_FROM_ITER") and self.global_iter >= int(os.environ["EPAM_TEST_NAN_FROM_ITER"]):
                total = total * float("nan")  # test hook: inject a non-finite loss
            finite = bool(torch.isfinite(total))
            if self.dist.distributed:
                finite = self._all_reduce([0.0 if finite else 1.0])[0] == 0.0
            self.optimizer.zero_grad(set_to_none=True)
            if finite:
                self.nan_streak = 0
                self.scaler.scale(total).backward()
                self.scaler.unscale_(self.optimizer)
                grad_norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.max_norm, self.norm_type))
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                grad_norm = float("nan")
                self.nan_streak += 1
                self.nan_total += 1
                if self.log:
                    self.log.warning(f"Non-finite loss {float(total)} at iteration {self.global_iter + 1} "
                                     f"(epoch {self.epoch + 1}); step skipped ({self.nan_streak} in a row)")
            if not self.by_epoch:
                self.scheduler.step()
            self.global_iter += 1
            it += 1
            with torch.no_grad():
                fused = rgb.detach().float() + pose.detach().float()
                correct = topk_correct(fused, labels, 1)
            n = labels.shape[0]
            sums[0] += float(total.detach()) * n if finite else 0.0
            sums[1] += correct
            sums[2] += n
            for key, value in (("loss", total.item()), ("loss_rgb", loss_rgb.item()), ("loss_pose", loss_pose.item()),
                               ("grad_norm", grad_norm), ("data_time", data_time),
                               ("time", time.perf_counter() - t_last)):
                window[key].append(value)
            if it % int(self.tcfg.get("log_interval", 20)) == 0 or it == self.iters_per_epoch:
                self._log_window(window, it, lr, correct / max(1, n))
                window.clear()
            if self.nan_streak >= int(self.tcfg.get("nan_patience", 3)):
                return self._failed(f"{self.nan_streak} non-finite losses in a row (train.nan_patience="
                                    f"{self.tcfg.get('nan_patience', 3)}); lower optimizer.lr or add warmup", EXIT_NONFINITE)
            if self.stop.signum is not None:
                self.skip = it
                return self._stopped(it)
            t_last = time.perf_counter()
        loss_sum, correct_sum, seen = self._all_reduce(sums)
        if self.log:
            self.log.log_train_epoch(self.epoch + 1, loss_sum / max(1.0, seen), correct_sum / max(1.0, seen))
        return None

    def _log_window(self, window: dict[str, list[float]], it: int, lr: float, top1: float) -> None:
        if not self.log:
            return
        mean = {k: (sum(v) / len(v) if v else float("nan")) for k, v in window.items()}
        remaining = self.max_epochs * self.iters_per_epoch - self.global_iter
        memory = None
        if self.dist.device.type == "cuda":
            memory = int(torch.cuda.max_memory_allocated(self.dist.device) // 2**20)
            torch.cuda.reset_peak_memory_stats(self.dist.device)
        self.log.log_train(epoch=self.epoch + 1, it=it, max_epochs=self.max_epochs, iters=self.iters_per_epoch,
                           step=self.global_iter, lr=lr, eta=remaining * mean["time"], time_=mean["time"],
                           data_time=mean["data_time"], memory=memory, grad_norm=mean["grad_norm"], loss=mean["loss"],
                           loss_rgb=mean["loss_rgb"], loss_pose=mean["loss_pose"], top1=top1)
        self.log.update_status(epoch=self.epoch + 1, iter=self.global_iter)

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Fused top-1/top-5/mean-class accuracy and each stream's top-1 over the whole val split."""
        self.net.eval()
        t0 = time.perf_counter()
        data_time = 0.0
        rows: list[tuple[int, list[float], list[float], int]] = []
        loader = self._loader(self.val_set, False, self.epoch)
        sampler_indices = list(loader.sampler)
        pos = 0
        t_last = time.perf_counter()
        for batch in loader:
            data_time += time.perf_counter() - t_last
            imgs = batch["imgs"].to(self.dist.device)
            heat = batch["heatmap_imgs"].to(self.dist.device)
            with torch.autocast(self.dist.device.type, enabled=self.use_amp):
                rgb, pose = self.net(imgs, heat)
            for j in range(imgs.shape[0]):
                rows.append((sampler_indices[pos + j], rgb[j].float().cpu().tolist(), pose[j].float().cpu().tolist(),
                             int(batch["label"][j])))
            pos += imgs.shape[0]
            t_last = time.perf_counter()
        if self.dist.distributed:
            gathered: list[Any] = [None] * self.dist.world_size
            dist.all_gather_object(gathered, rows)
            rows = [r for part in gathered for r in part]
        unique = {r[0]: r for r in rows}  # DistributedSampler pads with repeats
        rgb = torch.tensor([unique[i][1] for i in sorted(unique)])
        pose = torch.tensor([unique[i][2] for i in sorted(unique)])
        labels = torch.tensor([unique[i][3] for i in sorted(unique)])
        fused = rgb + pose
        n = max(1, len(labels))
        metrics = {
            "acc/top1": topk_correct(fused, labels, 1) / n,
            "acc/top5": topk_correct(fused, labels, 5) / n,
            "acc/mean1": mean_class_accuracy(fused.argmax(1), labels, self.num_classes),
            "acc/rgb_top1": topk_correct(rgb, labels, 1) / n,
            "acc/pose_top1": topk_correct(pose, labels, 1) / n,
        }
        if self.log:
            self.log.log_val(self.epoch, len(labels), metrics, data_time / max(1, len(loader)),
                             (time.perf_counter() - t0) / max(1, len(loader)))
        return metrics

    def _end_of_epoch(self, metrics: dict[str, float] | None) -> None:
        if not (self.log and self.ckpt):
            return
        key = self.tcfg.get("save_best") or "acc/top1"
        improved = metrics is not None and key in metrics and (self.best is None or metrics[key] > self.best["value"])
        if improved:
            self.best = {"metric": key, "value": metrics[key], "epoch": self.epoch}
        state = self._state(0)
        self.ckpt.save_latest(state)
        self.ckpt.save_epoch(state, self.epoch)
        self.log.info(f"Saving checkpoint at {self.epoch} epochs")
        if improved:
            path, removed = self.ckpt.save_best(state, self.epoch)
            for old in removed:
                self.log.info(f"The previous best checkpoint {old} is removed")
            self.log.info(f"The best checkpoint with {metrics[key]:.4f} {key} at {self.epoch} epoch is saved to {path.name}.")
        self.log.update_status(epoch=min(self.epoch + 1, self.max_epochs), iter=self.global_iter, best=self.best)

    def _best_text(self) -> str:
        return "n/a" if not self.best else f"{self.best['metric']} {self.best['value']:.4f} at epoch {self.best['epoch']}"

    def _stopped(self, iter_in_epoch: int) -> int:
        signum = self.stop.signum or signal.SIGINT
        name = signal.Signals(signum).name
        if self.log and self.ckpt:
            self.ckpt.save_latest(self._state(iter_in_epoch))
            self.log.info(f"Stopped by {name} at epoch {self.epoch + 1}, iteration {self.global_iter}; "
                          f"latest.pth written (continue with --resume auto)")
            self.log.update_status(state="stopped", exit_reason=f"stopped by {name}", iter=self.global_iter)
        return EXIT_SIGNAL.get(signum, 130)

    def _failed(self, reason: str, code: int) -> int:
        if self.log:
            self.log.error(f"Training stopped: {reason}")
            self.log.update_status(state="failed", exit_reason=reason, iter=self.global_iter)
        return code
