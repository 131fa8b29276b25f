"""EPAM-Net: RGB X-ShiftNet + pose X-ShiftNet + pose-driven attention, two heads, late fusion."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from epam.model.attention import PoseDrivenAttention
from epam.model.xshift import XShiftNet, pose_stream, rgb_stream


class ClsHead(nn.Module):
    """Average pool over (T, H, W), dropout, linear ``fc_cls`` (I3DHead's layout)."""

    def __init__(self, in_channels: int, num_classes: int, dropout: float):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout) if dropout > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc_cls(self.dropout(x.mean(dim=(2, 3, 4))))

    def init_weights(self) -> None:
        nn.init.normal_(self.fc_cls.weight, 0, 0.01)
        nn.init.zeros_(self.fc_cls.bias)


class EPAMNet(nn.Module):
    """forward(imgs N x 3 x T x H x W normalised, heatmap_imgs N x 17 x 3T x H/4 x W/4) -> (rgb, pose) logits."""

    def __init__(self, num_classes: int = 60, rgb_clip_len: int = 16, pose_clip_len: int = 48,
                 dropout: float = 0.5, attention: bool = True):
        super().__init__()
        if pose_clip_len != 3 * rgb_clip_len:
            raise ValueError(f"model.pose_clip_len must be 3 x model.rgb_clip_len = {3 * rgb_clip_len}, "
                             f"got {pose_clip_len} (RGB frame t is pose frame 3t)")
        self.num_classes = num_classes
        self.rgb_clip_len, self.pose_clip_len = rgb_clip_len, pose_clip_len
        self.rgb_backbone: XShiftNet = rgb_stream()
        self.pose_backbone: XShiftNet = pose_stream()
        self.rgb_cls_head = ClsHead(self.rgb_backbone.out_channels, num_classes, dropout)
        self.pose_cls_head = ClsHead(self.pose_backbone.out_channels, num_classes, dropout)
        self.attention_module = PoseDrivenAttention() if attention else None
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming convs, zero-init last BN of each block, heads N(0, 0.01)."""
        for part in (self.rgb_backbone, self.pose_backbone, self.rgb_cls_head, self.pose_cls_head,
                     self.attention_module):
            if part is not None:
                part.init_weights()

    def features(self, imgs: torch.Tensor, heatmap_imgs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(attention-guided RGB features, pose features)."""
        rgb = self.rgb_backbone(imgs)
        pose = self.pose_backbone(heatmap_imgs)
        if rgb.shape[-2:] != pose.shape[-2:]:
            raise ValueError(f"RGB features {tuple(rgb.shape[-2:])} and pose features {tuple(pose.shape[-2:])} "
                             "differ in size: the heatmap size must be the RGB size / 4")
        if self.attention_module is not None:
            rgb = rgb * (1 + self.attention_module(pose, rgb.shape[2]))
        return rgb, pose

    def forward(self, imgs: torch.Tensor, heatmap_imgs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rgb, pose = self.features(imgs, heatmap_imgs)
        return self.rgb_cls_head(rgb), self.pose_cls_head(pose)

    @staticmethod
    def loss(rgb_logits: torch.Tensor, pose_logits: torch.Tensor,
             labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """CE(rgb) + CE(pose), equal weights; returns (total, loss_rgb, loss_pose)."""
        loss_rgb = F.cross_entropy(rgb_logits, labels)
        loss_pose = F.cross_entropy(pose_logits, labels)
        return loss_rgb + loss_pose, loss_rgb, loss_pose

    @staticmethod
    def predict(rgb_logits: torch.Tensor, pose_logits: torch.Tensor) -> torch.Tensor:
        """Late fusion: raw logits summed 1:1."""
        return rgb_logits + pose_logits


def build_model(model_cfg: dict) -> EPAMNet:
    """EPAM-Net from the config's ``model`` section (pretrained weights are loaded by the trainer)."""
    return EPAMNet(
        num_classes=int(model_cfg.get("num_classes", 60)),
        rgb_clip_len=int(model_cfg.get("rgb_clip_len", 16)),
        pose_clip_len=int(model_cfg.get("pose_clip_len", 48)),
        dropout=float(model_cfg.get("dropout", 0.5)),
        attention=bool(model_cfg.get("attention", True)),
    )


def convert_sync_bn(model: nn.Module) -> nn.Module:
    """BatchNorm layers -> SyncBatchNorm (for DDP)."""
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)


def count_parameters(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def parameter_table(model: EPAMNet) -> dict[str, int]:
    """Parameters per part, per stream and in total."""
    parts = {name: count_parameters(getattr(model, name)) for name in
             ("rgb_backbone", "rgb_cls_head", "pose_backbone", "pose_cls_head", "attention_module")}
    parts["rgb_stream"] = parts["rgb_backbone"] + parts["rgb_cls_head"]
    parts["pose_stream"] = parts["pose_backbone"] + parts["pose_cls_head"]
    parts["total"] = count_parameters(model)
    return parts
