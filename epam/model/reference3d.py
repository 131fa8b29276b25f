"""The straightforward 3D formulation of X-ShiftNet, sharing the weights of our 2D one.

Used only to check (tests) and to time (benchmarks/model_step.py) the per-frame 2D implementation:
Conv3d with (1, k, k) kernels on N x C x T x H x W tensors, the temporal shift by slicing in place
of a reshape, BatchNorm over (N, T, H, W). Training-mode batch statistics.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from epam.model.xshift import ConvBN, XShiftNet


def shift3d(x: torch.Tensor, fold_div: int) -> torch.Tensor:
    f = x.shape[1] // fold_div
    zero = x.new_zeros(x.shape[0], f, 1, *x.shape[3:])
    back = torch.cat((x[:, :f, 1:], zero), dim=2)
    fwd = torch.cat((zero, x[:, f:2 * f, :-1]), dim=2)
    return torch.cat((back, fwd, x[:, 2 * f:]), dim=1)


def conv3d_bn(x: torch.Tensor, cb: ConvBN, relu: bool = True) -> torch.Tensor:
    k, s = cb.conv.kernel_size[0], cb.conv.stride[0]
    y = F.conv3d(x, cb.conv.weight.unsqueeze(2), stride=(1, s, s), padding=(0, k // 2, k // 2), groups=cb.conv.groups)
    bn = cb.bn
    y = F.batch_norm(y, None, None, bn.weight, bn.bias, training=True, eps=bn.eps)
    return F.relu(y) if relu else y


def stream3d(net: XShiftNet, x: torch.Tensor) -> torch.Tensor:
    """``net``'s output computed with 3D ops (N x C x T x H x W in, N x C' x T x h x w out)."""
    x = conv3d_bn(x, net.conv1_s)
    for i in range(1, net.num_stages + 1):
        for block in getattr(net, f"layer{i}"):
            identity = x if block.downsample is None else conv3d_bn(x, block.downsample, relu=False)
            out = conv3d_bn(shift3d(x, block.fold_div), block.conv1)
            out = conv3d_bn(out, block.conv2, relu=False)
            if block.se_module is not None:
                se = block.se_module
                pooled = F.adaptive_avg_pool3d(out, 1)
                hidden = F.relu(F.conv3d(pooled, se.fc1.weight.unsqueeze(2), se.fc1.bias))
                out = out * torch.sigmoid(F.conv3d(hidden, se.fc2.weight.unsqueeze(2), se.fc2.bias))
            out = conv3d_bn(out * torch.sigmoid(out), block.conv3, relu=False)
            x = F.relu(out + identity)
    return conv3d_bn(x, net.conv5)


def forward3d(model, imgs: torch.Tensor, heatmap_imgs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """EPAM-Net's forward with both streams in the 3D formulation."""
    rgb = stream3d(model.rgb_backbone, imgs)
    pose = stream3d(model.pose_backbone, heatmap_imgs)
    if model.attention_module is not None:
        rgb = rgb * (1 + model.attention_module(pose, rgb.shape[2]))
    return model.rgb_cls_head(rgb), model.pose_cls_head(pose)
