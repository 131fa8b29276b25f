"""EPAM-Net training step on CPU: forward + backward + SGD step, our 2D formulation vs the 3D one.

    python benchmarks/model_step.py            # batch 2, RGB 3x16x224x224, pose 17x48x56x56, 2 threads
    python benchmarks/model_step.py --quick    # batch 2, RGB 3x4x64x64, pose 17x12x16x16

Prints the median step time of each formulation (same weights, same inputs), the ratio, and peak RSS;
optionally channels-last and torch.compile variants (--variants).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402
import torch  # noqa: E402

from epam.model import build_model  # noqa: E402
from epam.model.reference3d import forward3d  # noqa: E402


def time_steps(step, repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def make_step(model, forward, imgs, heat, labels):
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=3e-4)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        rgb, pose = forward(imgs, heat)
        total, _, _ = model.loss(rgb, pose, labels)
        total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 40)
        opt.step()
    return step


def bench(label: str, value: float, unit: str, reference=None, target=None, passed=None) -> None:
    ratio = (reference / value) if reference and value else None
    print("BENCH " + json.dumps({"figure": label, "value": value, "unit": unit, "reference": reference,
                                 "ratio": ratio, "target": target, "passed": passed}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--variants", action="store_true", help="also time channels-last and torch.compile")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    t, s, k = (4, 64, 10) if args.quick else (16, 224, 60)
    repeats = 3 if args.quick else args.repeats
    model = build_model({"num_classes": k, "rgb_clip_len": t, "pose_clip_len": 3 * t}).train()
    imgs = torch.randn(args.batch, 3, t, s, s)
    heat = torch.rand(args.batch, 17, 3 * t, s // 4, s // 4)
    labels = torch.arange(args.batch) % k

    with torch.no_grad():  # identical outputs (same dropout masks)
        torch.manual_seed(1)
        a = model(imgs, heat)
        torch.manual_seed(1)
        b = forward3d(model, imgs, heat)
    diff = max((x - y).abs().max().item() for x, y in zip(a, b))

    ours = statistics.median(time_steps(make_step(model, model, imgs, heat, labels), repeats))
    ref = statistics.median(time_steps(make_step(model, lambda i, h: forward3d(model, i, h), imgs, heat, labels), repeats))
    rss = psutil.Process().memory_info().rss / 2**20
    size = f"batch {args.batch}, RGB 3x{t}x{s}x{s}, pose 17x{3 * t}x{s // 4}x{s // 4}, {args.threads} threads"
    print(f"{size}")
    print(f"  2D per-frame formulation: {ours:.3f} s/step ({args.batch / ours:.2f} clips/s)")
    print(f"  3D formulation:           {ref:.3f} s/step ({args.batch / ref:.2f} clips/s)")
    print(f"  speed-up {ref / ours:.2f}x; max |output difference| {diff:.2e}; peak RSS {rss:.0f} MB")
    bench("model step (2D) vs 3D formulation" + (" [quick]" if args.quick else ""), ours, "s/step", ref,
          ">= 2x", ref / ours >= 2.0)
    bench("model step peak RSS" + (" [quick]" if args.quick else ""), rss, "MB")

    if args.variants:
        for backbone in (model.rgb_backbone, model.pose_backbone):
            backbone.to(memory_format=torch.channels_last)
        cl = statistics.median(time_steps(make_step(model, model, imgs, heat, labels), repeats))
        for backbone in (model.rgb_backbone, model.pose_backbone):
            backbone.to(memory_format=torch.contiguous_format)
        print(f"  channels-last weights:    {cl:.3f} s/step")
        compiled = torch.compile(model)
        comp = statistics.median(time_steps(make_step(model, compiled, imgs, heat, labels), repeats, warmup=2))
        print(f"  torch.compile:            {comp:.3f} s/step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
