"""X-ShiftNet: X3D with 1x3x3 depthwise convolutions and a temporal channel shift.

Apart from the shift, every convolution of X-ShiftNet is per-frame (1x1x1 or 1x3x3, no temporal
stride), so the network runs here as 2D convolutions over the N*T frames of a batch, and the shift
is a reshape plus a concatenation. BatchNorm2d over N*T frames computes exactly the statistics of
BatchNorm3d over (N, T, H, W), and the squeeze-excitation pools over time as well as space, as X3D's
does. The state dict keeps the official module names; a Conv3d weight [o, i, 1, k, k] of an official
checkpoint is our Conv2d weight [o, i, k, k] (see ``epam.model.checkpoint``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F


def round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """X3D's channel rounding: ``width * multiplier`` to a multiple of ``divisor``, at least ``min_width``."""
    width *= multiplier
    new = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if new < 0.9 * width:
        new += divisor
    return int(new)


def temporal_shift(x: torch.Tensor, frames: int, fold_div: int) -> torch.Tensor:
    """Shift channels [0, f) one frame toward the past and [f, 2f) one frame toward the future.

    ``x`` is (N*T, C, H, W) with frames contiguous per sample; f = C // fold_div. Ends are zero-padded.
    """
    nt, c, h, w = x.shape
    f = c // fold_div
    if f == 0 or frames < 2:
        return x
    v = x.view(nt // frames, frames, c, h, w)
    zero = v.new_zeros(v.shape[0], 1, f, h, w)
    back = torch.cat((v[:, 1:, :f], zero), dim=1)  # out[t] = x[t + 1]
    fwd = torch.cat((zero, v[:, :-1, f:2 * f]), dim=1)  # out[t] = x[t - 1]
    return torch.cat((back, fwd, v[:, :, 2 * f:]), dim=2).view(nt, c, h, w)


class ConvBN(nn.Module):
    """conv (no bias) + BN (+ optional ReLU); attribute names follow mmcv's ConvModule."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, relu: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x))
        return F.relu(x, inplace=True) if self.relu else x


class SEModule(nn.Module):
    """Squeeze-excitation over (T, H, W) per sample: pool, 1x1 conv, ReLU, 1x1 conv, sigmoid, scale."""

    def __init__(self, channels: int, bottleneck: int):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, bottleneck, 1, bias=True)
        self.fc2 = nn.Conv2d(bottleneck, channels, 1, bias=True)

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        nt, c, _, _ = x.shape
        pooled = x.mean(dim=(2, 3)).view(nt // frames, frames, c).mean(dim=1)  # (N, C)
        scale = torch.sigmoid(self.fc2(F.relu(self.fc1(pooled[:, :, None, None]))))  # (N, C, 1, 1)
        return (x.view(nt // frames, frames, c, *x.shape[2:]) * scale[:, None]).view_as(x)


class ShiftBlock(nn.Module):
    """One X-ShiftNet block: shift -> 1x1 -> depthwise 1x3x3 -> [SE] -> Swish -> 1x1, plus the residual
    of the unshifted input."""

    def __init__(self, cin: int, planes: int, cout: int, stride: int, with_se: bool, fold_div: int):
        super().__init__()
        self.fold_div = fold_div
        self.conv1 = ConvBN(cin, planes, 1)
        self.conv2 = ConvBN(planes, planes, 3, stride=stride, groups=planes, relu=False)
        self.se_module = SEModule(planes, round_width(planes, 1 / 16)) if with_se else None
        self.conv3 = ConvBN(planes, cout, 1, relu=False)
        self.downsample = ConvBN(cin, cout, 1, stride=stride, relu=False) if (stride != 1 or cin != cout) else None

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv2(self.conv1(temporal_shift(x, frames, self.fold_div)))
        if self.se_module is not None:
            out = self.se_module(out, frames)
        out = self.conv3(out * torch.sigmoid(out))  # Swish
        return F.relu(out + identity, inplace=True)


class Stage(nn.Sequential):
    """Blocks of one stage; block i has SE when i is even (X3D's se_style 'half')."""

    def __init__(self, cin: int, cout: int, blocks: int, stride: int, fold_div: int, bottleneck_ratio: float):
        planes = int(bottleneck_ratio * cout)
        super().__init__(*[
            ShiftBlock(cin if i == 0 else cout, planes, cout, stride if i == 0 else 1, i % 2 == 0, fold_div)
            for i in range(blocks)
        ])

    def forward(self, x: torch.Tensor, frames: int) -> torch.Tensor:  # type: ignore[override]
        for block in self:
            x = block(x, frames)
        return x


class XShiftNet(nn.Module):
    """An X-ShiftNet stream. Input (N, C, T, H, W); output (N, conv5 channels, T, H/s, W/s)."""

    def __init__(self, in_channels: int, stage_blocks: tuple[int, ...], widths: tuple[int, ...],
                 stem_stride: int, fold_div: int, bottleneck_ratio: float = 2.25, conv5_ratio: float = 2.25):
        super().__init__()
        self.conv1_s = ConvBN(in_channels, widths[0], 3, stride=stem_stride)
        cin = widths[0]
        self.num_stages = len(stage_blocks)
        for i, (blocks, width) in enumerate(zip(stage_blocks, widths), 1):
            self.add_module(f"layer{i}", Stage(cin, width, blocks, 2, fold_div, bottleneck_ratio))
            cin = width
        self.out_channels = int(cin * conv5_ratio)
        self.conv5 = ConvBN(cin, self.out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        x = x.transpose(1, 2).reshape(n * t, c, h, w)
        x = self.conv1_s(x)
        for i in range(1, self.num_stages + 1):
            x = getattr(self, f"layer{i}")(x, t)
        x = self.conv5(x)
        _, c, h, w = x.shape
        return x.view(n, t, c, h, w).transpose(1, 2)

    def init_weights(self) -> None:
        """Kaiming for convs, BN gamma 1 / beta 0, then zero gamma on each block's last BN."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, ShiftBlock):
                nn.init.zeros_(m.conv3.bn.weight)


def rgb_stream() -> XShiftNet:
    """The RGB stream: X3D-M-like (gamma_d 2.2 -> 3/5/11/7 blocks), widths 24/48/96/192, 1/8+1/8 shift."""
    blocks = tuple(int(math.ceil(2.2 * b)) for b in (1, 2, 5, 3))
    return XShiftNet(3, blocks, (24, 48, 96, 192), stem_stride=2, fold_div=8)


def pose_stream() -> XShiftNet:
    """The pose stream: 17 heatmap channels, stem stride 1, 5/11/7 blocks, widths 24/48/96, 1/4+1/4 shift."""
    return XShiftNet(17, (5, 11, 7), (24, 48, 96), stem_stride=1, fold_div=4)
