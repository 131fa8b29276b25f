"""Pose-driven spatial-temporal attention (CBAM-style spatial map, nested efficient temporal map).

The pose features, sampled at the frames that match the RGB frames, give a spatial map
S = sigmoid(BN(conv_1x7x7([max_c, mean_c]))) and a temporal map Tm = sigmoid(conv1d_k7(mean_hw(S)));
the RGB features are scaled by (1 + S * Tm). 107 parameters. Nothing is detached: the RGB loss
reaches the pose stream through the attention.
"""

from __future__ import annotations

import torch
from torch import nn


class SpatialConv(nn.Module):
    """conv 2->1 (1x7x7, no bias) + BN3d (momentum 0.01); names follow the official checkpoint."""

    def __init__(self, kernel: int = 7):
        super().__init__()
        self.conv = nn.Conv3d(2, 1, (1, kernel, kernel), padding=(0, kernel // 2, kernel // 2), bias=False)
        self.bn = nn.BatchNorm3d(1, eps=1e-5, momentum=0.01, affine=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class PoseDrivenAttention(nn.Module):
    """Attention map A (N x 1 x T_rgb x h x w) from pose features (N x C x T_pose x h x w)."""

    def __init__(self, kernel: int = 7):
        super().__init__()
        self.spatial = SpatialConv(kernel)
        self.conv_temporal_attention = nn.Conv1d(1, 1, kernel_size=kernel, padding=kernel // 2, bias=False)

    def forward(self, pose_feats: torch.Tensor, rgb_frames: int) -> torch.Tensor:
        stride = pose_feats.shape[2] // rgb_frames
        p = pose_feats[:, :, 0:stride * rgb_frames:stride]
        z = torch.cat((p.amax(dim=1, keepdim=True), p.mean(dim=1, keepdim=True)), dim=1)
        spatial = torch.sigmoid(self.spatial(z))  # N x 1 x T x h x w
        n, _, t, _, _ = spatial.shape
        temporal = torch.sigmoid(self.conv_temporal_attention(spatial.mean(dim=(3, 4)))).view(n, 1, t, 1, 1)
        return spatial * temporal

    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv3d, nn.Conv1d)):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
