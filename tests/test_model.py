"""EPAM-Net: exact parameter counts, shapes, 2D == straightforward 3D, checkpoints, attention, verify."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from epam.config import load_config
from epam.model import build_model, parameter_table
from epam.model.checkpoint import (CheckpointError, load_official_checkpoint, load_pretrained_stream,
                                   read_state_dict, to_official_state_dict)
from epam.model.reference3d import forward3d, stream3d
from epam.model.verify import run_verify
from epam.model.xshift import ShiftBlock, XShiftNet

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
SMALL = {"num_classes": 10, "rgb_clip_len": 4, "pose_clip_len": 12}


def small_inputs(n: int = 2, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 4, 64, 64, generator=g), torch.rand(n, 17, 12, 16, 16, generator=g)


# ------------------------------------------------------------------ parameter counts (exact)


def test_parameter_counts_k60() -> None:
    p = parameter_table(build_model({"num_classes": 60}))
    assert p["total"] == 2_538_717
    assert p["rgb_stream"] == 2_006_010 and p["pose_stream"] == 532_600 and p["attention_module"] == 107
    assert p["rgb_backbone"] == 1_980_030 and p["pose_backbone"] == 519_580
    assert p["rgb_cls_head"] == 25_980 and p["pose_cls_head"] == 13_020


def test_parameter_counts_k120() -> None:
    assert parameter_table(build_model({"num_classes": 120}))["total"] == 2_577_717


def test_per_stage_counts() -> None:
    m = build_model({"num_classes": 60})
    count = lambda mod: sum(p.numel() for p in mod.parameters())  # noqa: E731
    rgb = {n: count(getattr(m.rgb_backbone, n)) for n in ("conv1_s", "layer1", "layer2", "layer3", "layer4", "conv5")}
    assert rgb == {"conv1_s": 696, "layer1": 12_502, "layer2": 63_528, "layer3": 526_488, "layer4": 1_293_008, "conv5": 83_808}
    pose = {n: count(getattr(m.pose_backbone, n)) for n in ("layer1", "layer2", "layer3", "conv5")}
    assert pose == {"layer1": 20_112, "layer2": 140_268, "layer3": 334_312, "conv5": 21_168}
    assert [len(getattr(m.rgb_backbone, f"layer{i}")) for i in range(1, 5)] == [3, 5, 11, 7]
    assert [len(getattr(m.pose_backbone, f"layer{i}")) for i in range(1, 4)] == [5, 11, 7]
    se = [b.se_module is not None for b in m.rgb_backbone.layer3]
    assert sum(se) == 6 and se[0] and not se[1]


def test_ablation_without_attention() -> None:
    p = parameter_table(build_model({"num_classes": 60, "attention": False}))
    assert p["attention_module"] == 0 and p["total"] == 2_538_717 - 107


# ------------------------------------------------------------------ shapes and validation


def test_output_shapes_small() -> None:
    m = build_model(SMALL)
    rgb, pose = m(*small_inputs())
    assert rgb.shape == (2, 10) and pose.shape == (2, 10)
    f_rgb, f_pose = m.features(*small_inputs())
    assert f_rgb.shape == (2, 432, 4, 2, 2) and f_pose.shape == (2, 216, 12, 2, 2)


def test_full_size_feature_shapes() -> None:
    m = build_model({"num_classes": 60}).eval()
    with torch.no_grad():
        f_pose = m.pose_backbone(torch.rand(1, 17, 48, 56, 56))
    assert f_pose.shape == (1, 216, 48, 7, 7)


def test_pose_clip_len_must_be_three_times_rgb() -> None:
    with pytest.raises(ValueError, match=r"pose_clip_len must be 3 x model.rgb_clip_len = 12, got 10"):
        build_model({"num_classes": 10, "rgb_clip_len": 4, "pose_clip_len": 10})


def test_initialisation() -> None:
    m = build_model({"num_classes": 60})
    blocks = [b for b in m.modules() if isinstance(b, ShiftBlock)]
    assert len(blocks) == 26 + 23
    assert all(torch.count_nonzero(b.conv3.bn.weight) == 0 for b in blocks)
    w = m.rgb_cls_head.fc_cls.weight
    assert 0.005 < w.std().item() < 0.015 and torch.count_nonzero(m.rgb_cls_head.fc_cls.bias) == 0


# ------------------------------------------------------------------ 2D formulation == straightforward 3D


def test_2d_streams_equal_3d_formulation() -> None:
    torch.manual_seed(0)
    m = build_model(SMALL).train()
    for mod in m.modules():  # non-trivial BN affine so every path matters
        if isinstance(mod, nn.BatchNorm2d):
            nn.init.uniform_(mod.weight, 0.5, 1.5)
            nn.init.uniform_(mod.bias, -0.2, 0.2)
    imgs, heat = small_inputs()
    for net, x in ((m.rgb_backbone, imgs), (m.pose_backbone, heat)):
        ours = net(x)
        ref = stream3d(net, x)
        assert ours.shape == ref.shape
        assert torch.allclose(ours, ref, atol=1e-4, rtol=1e-4), (ours - ref).abs().max()
    torch.manual_seed(3)
    a = m(imgs, heat)
    torch.manual_seed(3)  # same dropout masks
    b = forward3d(m, imgs, heat)
    assert all(torch.allclose(x, y, atol=1e-4, rtol=1e-4) for x, y in zip(a, b))


# ------------------------------------------------------------------ checkpoints


def test_official_checkpoint_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(1)
    src = build_model(SMALL).eval()
    for p in src.parameters():
        p.data.normal_(0, 0.05)
    official = to_official_state_dict(src)
    assert any(k.startswith("module.rgb_backbone.layer1.0.conv1.conv.weight") for k in official)
    assert official["module.rgb_backbone.layer1.0.conv2.conv.weight"].dim() == 5
    path = tmp_path / "official.pth"
    torch.save({"epoch": 4, "model_state_dict": official, "optimizer_state_dict": {}}, path)
    dst = build_model(SMALL).eval()
    report = load_official_checkpoint(dst, path)
    assert report.reshaped > 0 and not report.missing and not report.unexpected
    imgs, heat = small_inputs()
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(src(imgs, heat), dst(imgs, heat)))


def test_unimodal_pretrained_streams(tmp_path: Path) -> None:
    torch.manual_seed(2)
    src = build_model(SMALL)
    for p in src.parameters():
        p.data.normal_(0, 0.05)
    sd = to_official_state_dict(src, prefix="")
    rgb_only = {k.replace("rgb_backbone.", "backbone.").replace("rgb_cls_head.", "cls_head."): v
                for k, v in sd.items() if k.startswith("rgb_")}
    torch.save({"state_dict": rgb_only}, tmp_path / "rgb.pth")
    dst = build_model(SMALL)
    pose_before = {k: v.clone() for k, v in dst.pose_backbone.state_dict().items()}
    report = load_pretrained_stream(dst, tmp_path / "rgb.pth", "rgb")
    assert report.loaded == len(rgb_only) and not report.missing
    assert torch.equal(dst.rgb_backbone.layer2[0].conv1.conv.weight, src.rgb_backbone.layer2[0].conv1.conv.weight)
    assert all(torch.equal(v, dst.pose_backbone.state_dict()[k]) for k, v in pose_before.items())


def test_hostile_checkpoint_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as fh:
        pickle.dump({"state_dict": Evil()}, fh)
    with pytest.raises(CheckpointError, match="refused or unreadable"):
        read_state_dict(path)
    assert not marker.exists()


def test_wrong_class_count_is_named(tmp_path: Path) -> None:
    torch.save(to_official_state_dict(build_model({**SMALL, "num_classes": 7})), tmp_path / "k7.pth")
    with pytest.raises(CheckpointError, match="set model.num_classes"):
        load_official_checkpoint(build_model(SMALL), tmp_path / "k7.pth")


# ------------------------------------------------------------------ attention and verify


def test_attention_changes_rgb_features_and_reaches_pose() -> None:
    m = build_model(SMALL).eval()
    imgs, heat = small_inputs()
    guided, _ = m.features(imgs, heat)
    att, m.attention_module = m.attention_module, None
    plain, _ = m.features(imgs, heat)
    m.attention_module = att
    assert (guided - plain).abs().max() > 0
    assert torch.all(guided.abs() >= plain.abs() - 1e-6)  # scaled by (1 + A) with A in (0, 1)
    m.train()
    rgb, _ = m(imgs, heat)
    F.cross_entropy(rgb, torch.tensor([0, 1])).backward()
    assert m.pose_backbone.conv5.conv.weight.grad is not None  # RGB loss reaches the pose stream


def demo_cfg() -> dict:
    return load_config(ROOT / "configs" / "epam_synthetic_demo.yaml", ["data.ann_file=/nonexistent.pkl"])


def test_run_verify_passes_on_demo_shapes() -> None:
    result = run_verify(demo_cfg(), batch=2, macs=True)
    assert result.ok, result.message
    assert [c[0] for c in result.checks] == ["build", "logits_shape", "finite_loss", "gradients", "attention_effect"]
    assert result.params["total"] == parameter_table(build_model(demo_cfg()["model"]))["total"]


def test_run_verify_names_the_failing_check() -> None:
    cfg = demo_cfg()
    cfg["data"]["heatmap_size"] = 8  # bypasses config validation: streams end at different sizes
    result = run_verify(cfg, batch=2, macs=False)
    assert not result.ok and result.failed_check == "forward"
    assert "heatmap size must be the RGB size / 4" in result.message


def test_verify_cli(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "epam.cli", "verify", "configs/epam_synthetic_demo.yaml",
                          "--set", "data.ann_file=/nonexistent.pkl", "--no-macs"],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert "PASSED" in out.stdout and "[ok] gradients" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "epam.cli", "verify", "configs/epam_synthetic_demo.yaml",
                          "--set", "optimizer.lr=-1"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "optimizer.lr: must be > 0" in bad.stderr
