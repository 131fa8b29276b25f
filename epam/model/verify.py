"""The interface check behind `epam verify CONFIG` (``epam.commands.verify``): builds EPAM-Net, counts,
one forward + backward.

Checks, in order: the model builds from the config; logits are N x K for both streams; the loss
is finite; a gradient reaches every trainable parameter; the attention changes the RGB features.
``run_verify`` returns a ``VerifyResult``; it prints nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

REFERENCE_GMACS = {"rgb": 4.43, "pose": 3.51, "total": 7.94}


@dataclass
class VerifyResult:
    ok: bool
    failed_check: str | None
    message: str
    params: dict[str, int] = field(default_factory=dict)
    gmacs: dict[str, float] = field(default_factory=dict)
    shapes: dict[str, list[int]] = field(default_factory=dict)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)
    input_source: str = "random"
    seconds: float = 0.0


def count_macs(model, imgs, heatmaps) -> dict[str, float]:
    """Multiply-adds per forward, by stream (convs, linears, BN as 2 per element like fvcore), in G."""
    import torch
    from torch import nn

    totals = {"rgb": 0.0, "pose": 0.0, "attention": 0.0}
    hooks = []

    def hook_for(stream: str):
        def hook(module, inputs, output):
            if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                k = 1
                for s in module.kernel_size:
                    k *= s
                totals[stream] += output.numel() * (module.in_channels // module.groups) * k
            elif isinstance(module, nn.Linear):
                totals[stream] += output.numel() * module.in_features
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                totals[stream] += output.numel() * (2 if module.affine else 1)  # scale + shift, as fvcore counts
        return hook

    for name, part in (("rgb", model.rgb_backbone), ("rgb", model.rgb_cls_head), ("pose", model.pose_backbone),
                       ("pose", model.pose_cls_head), ("attention", model.attention_module)):
        if part is None:
            continue
        for m in part.modules():
            hooks.append(m.register_forward_hook(hook_for(name)))
    with torch.no_grad():
        model.eval()
        model(imgs, heatmaps)
    for h in hooks:
        h.remove()
    n = imgs.shape[0]
    out = {k: v / n / 1e9 for k, v in totals.items()}
    out["total"] = sum(out.values())
    return out


def _real_sample(cfg: dict):
    """One real validation sample when the data paths exist (else None)."""
    data = cfg["data"]
    if not (Path(data["ann_file"]).exists() and Path(data["video_root"]).exists()):
        return None
    try:
        from epam.data import build_dataset

        sample = build_dataset(cfg, "val")[0]
        return sample["imgs"][None], sample["heatmap_imgs"][None]
    except Exception:  # noqa: BLE001 - verification falls back to random data
        return None


def run_verify(cfg: dict, batch: int = 2, device: str = "cpu", macs: bool = True) -> VerifyResult:
    """Run every check on ``cfg``; never raises for a failing check."""
    import torch

    from epam.model import build_model, parameter_table

    start = time.perf_counter()
    checks: list[tuple[str, bool, str]] = []

    def fail(name: str, message: str, **extra) -> VerifyResult:
        checks.append((name, False, message))
        return VerifyResult(False, name, message, checks=checks, seconds=time.perf_counter() - start, **extra)

    try:
        model = build_model(cfg["model"]).to(device)
    except Exception as exc:  # noqa: BLE001
        return fail("build", f"model does not build: {exc}")
    params = parameter_table(model)
    checks.append(("build", True, f"{params['total']:,} parameters"))

    m, d = cfg["model"], cfg["data"]
    k = m["num_classes"]
    gen = torch.Generator().manual_seed(0)
    real = _real_sample(cfg)
    if real is not None:
        imgs, heat = (t.repeat(batch, 1, 1, 1, 1) for t in real)
        source = "one real sample"
    else:
        imgs = torch.randn(batch, 3, m["rgb_clip_len"], d["rgb_size"], d["rgb_size"], generator=gen)
        heat = torch.rand(batch, 17, m["pose_clip_len"], d["heatmap_size"], d["heatmap_size"], generator=gen)
        source = "random"
    imgs, heat = imgs.to(device), heat.to(device)
    labels = torch.arange(batch, device=device) % k
    gmacs = count_macs(model, imgs[:1], heat[:1]) if macs else {}

    model.train()
    try:
        rgb, pose = model(imgs, heat)
    except Exception as exc:  # noqa: BLE001
        return fail("forward", f"forward pass failed: {exc}", params=params, gmacs=gmacs)
    shapes = {"rgb_logits": list(rgb.shape), "pose_logits": list(pose.shape)}
    if list(rgb.shape) != [batch, k] or list(pose.shape) != [batch, k]:
        return fail("logits_shape", f"logits {shapes}, expected [{batch}, {k}]", params=params, gmacs=gmacs, shapes=shapes)
    checks.append(("logits_shape", True, f"{batch} x {k} for both streams"))

    total, loss_rgb, loss_pose = model.loss(rgb, pose, labels)
    if not torch.isfinite(total):
        return fail("finite_loss", f"loss is {total.item()}", params=params, gmacs=gmacs, shapes=shapes)
    checks.append(("finite_loss", True, f"loss {total.item():.4f} (rgb {loss_rgb.item():.4f} + pose {loss_pose.item():.4f})"))

    total.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    no_grad = [n for n, p in trainable if p.grad is None or not torch.isfinite(p.grad).all()]
    if no_grad:
        return fail("gradients", f"{len(no_grad)} parameters get no finite gradient, e.g. {no_grad[:3]}",
                    params=params, gmacs=gmacs, shapes=shapes)
    checks.append(("gradients", True, f"all {len(trainable)} trainable tensors receive finite gradients"))

    if model.attention_module is not None:
        model.eval()
        with torch.no_grad():
            guided, _ = model.features(imgs, heat)
            att, model.attention_module = model.attention_module, None
            plain, _ = model.features(imgs, heat)
            model.attention_module = att
        change = (guided - plain).abs().max().item()
        if not change > 0:
            return fail("attention_effect", "the attention leaves the RGB features unchanged",
                        params=params, gmacs=gmacs, shapes=shapes)
        checks.append(("attention_effect", True, f"max |change| of RGB features {change:.4g}"))
    else:
        checks.append(("attention_effect", True, "attention disabled in this config (ablation)"))
    return VerifyResult(True, None, "all checks passed", params, gmacs, shapes, checks, source, time.perf_counter() - start)
