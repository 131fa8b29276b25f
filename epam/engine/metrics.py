"""Classification metrics of the fused (rgb + pose logits) and per-stream predictions."""

from __future__ import annotations

import torch


def topk_correct(logits: torch.Tensor, labels: torch.Tensor, k: int) -> int:
    """How many rows have their label among the ``k`` largest logits."""
    k = min(k, logits.shape[1])
    return int((logits.topk(k, dim=1).indices == labels[:, None]).any(dim=1).sum())


def mean_class_accuracy(pred: torch.Tensor, labels: torch.Tensor, num_classes: int) -> float:
    """Mean over the classes present in ``labels`` of each class's accuracy (MMAction2's mean1)."""
    accs = [float((pred[labels == c] == c).float().mean()) for c in range(num_classes) if (labels == c).any()]
    return sum(accs) / len(accs) if accs else 0.0


def val_metrics(rgb: torch.Tensor, pose: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[str, float]:
    """``acc/top1``, ``acc/top5``, ``acc/mean1`` of the fused logits, then each stream's top-1 (fractions)."""
    fused = rgb + pose
    n = max(1, len(labels))
    return {
        "acc/top1": topk_correct(fused, labels, 1) / n,
        "acc/top5": topk_correct(fused, labels, 5) / n,
        "acc/mean1": mean_class_accuracy(fused.argmax(1), labels, num_classes),
        "acc/rgb_top1": topk_correct(rgb, labels, 1) / n,
        "acc/pose_top1": topk_correct(pose, labels, 1) / n,
    }
