"""Whole-sample data pipeline time (decode + transforms + heatmaps) and DataLoader samples/s.

    python benchmarks/data_pipeline.py            # demo shapes and NTU60 shapes, 0/1/2 workers
    python benchmarks/data_pipeline.py --quick    # fewer clips and repeats

Data: small synthetic NTU60-format sets made in a temporary folder (`epam make-synthetic` code):
the demo shapes (64 px RGB x 4 frames, 16x16 x 12 pose frames) and the official NTU60 shapes
(224 px RGB x 16, 56x56 x 48) from 224x224 videos. The reference for the per-sample time is the
same pipeline with the reference heatmap loop (`benchmarks/heatmaps.py`). Loader figures are
samples/s through `torch.utils.data.DataLoader` (batch 8, `seed_worker`, `collate`), counted from
the first batch so worker start-up is left out. Single-threaded numpy/torch in every process.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from epam.config import load_config  # noqa: E402
from epam.data import build_dataset, collate, seed_worker  # noqa: E402
from epam.data import pipeline  # noqa: E402
from epam.data.synthetic import Settings, generate  # noqa: E402
from epam.data.video import read_rgb  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from heatmaps import loop_keypoint_heatmaps  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BATCH = 8


def make_config(name: str, base: str, data: Settings, num_classes: int) -> dict:
    overrides = [f"data.ann_file={data.ann_file}", f"data.video_root={data.video_root}", "data.dataset=synthetic",
                 f"model.num_classes={num_classes}", "train.seed=0"]
    cfg = load_config(ROOT / "configs" / base, overrides)
    cfg["_name"] = name
    return cfg


def per_sample_ms(ds, repeats: int) -> float:
    """Best over passes of the mean time per ``ds[i]`` (each pass a new epoch: new augmentation)."""
    times = []
    ds[0]
    for epoch in range(repeats):
        ds.set_epoch(epoch)
        start = time.perf_counter()
        for i in range(len(ds)):
            ds[i]
        times.append((time.perf_counter() - start) * 1000 / len(ds))
    return float(np.min(times))


def decode_ms(ds, repeats: int) -> float:
    """Mean time to decode just the sampled RGB frames of a sample."""
    s = ds.settings
    start = time.perf_counter()
    for _ in range(repeats):
        for i in range(len(ds)):
            inds = pipeline.rgb_indices(pipeline.sample_indices(ds.entries[i]["total_frames"], s.pose_clip_len,
                                                                ds.rng(i), False), s.rgb_clip_len)
            read_rgb(ds.rgb_path(i), inds, (s.rgb_size, s.rgb_size))
    return (time.perf_counter() - start) * 1000 / (repeats * len(ds))


def with_loop_heatmaps(fn):
    """Run ``fn`` with the pipeline drawing heatmaps by the reference loop."""
    original = pipeline.pose_heatmaps
    pipeline.pose_heatmaps = lambda kp, sc, size, sigma, with_limb=False: loop_keypoint_heatmaps(kp, sc, size, size,
                                                                                                   sigma)
    try:
        return fn()
    finally:
        pipeline.pose_heatmaps = original


def loader_rate(ds, workers: int, samples: int) -> float:
    """Samples/s through a DataLoader, counted from the first batch."""
    sampler = torch.utils.data.RandomSampler(ds, replacement=True, num_samples=samples,
                                             generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, sampler=sampler, num_workers=workers,
                                         collate_fn=collate, worker_init_fn=seed_worker)
    it = iter(loader)
    next(it)
    start, count = time.perf_counter(), 0
    for batch in it:
        count += len(batch["label"])
    return count / (time.perf_counter() - start)


def row(figure: str, value: float, unit: str, reference: float | None = None, higher_is_better: bool = False) -> dict:
    ratio = None
    if reference:
        ratio = round(value / reference if higher_is_better else reference / value, 2)
    return {"figure": figure, "value": round(value, 3), "unit": unit,
            "reference": None if reference is None else round(reference, 3), "ratio": ratio, "target": None,
            "passed": None}


def bench_case(cfg: dict, repeats: int, workers: list[int], loader_samples: int) -> list[dict]:
    torch.set_num_threads(1)
    ds = build_dataset(cfg, "train")
    name = cfg["_name"]
    sample = ds[0]
    shapes = f"imgs {tuple(sample['imgs'].shape)}, heatmap_imgs {tuple(sample['heatmap_imgs'].shape)}"
    fast = per_sample_ms(ds, repeats)
    loop = with_loop_heatmaps(lambda: per_sample_ms(ds, max(repeats // 2, 1)))
    dec = decode_ms(ds, 1)
    print(f"{name}: {len(ds)} clips; {shapes}")
    print(f"  per sample: {fast:.2f} ms (of which RGB decode ~{dec:.2f} ms); with the loop heatmaps {loop:.2f} ms "
          f"({loop / fast:.1f}x)")
    rows = [row(f"{name} whole sample (decode+transforms)", fast, "ms/sample", loop)]
    base = None
    for n in workers:
        rate = loader_rate(ds, n, loader_samples)
        base = base or rate
        print(f"  DataLoader, {n} worker(s): {rate:.0f} samples/s")
        rows.append(row(f"{name} DataLoader {n} workers", rate, "samples/s", base if n else None, True))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clips and repeats")
    parser.add_argument("--workers", type=int, nargs="*", default=None, help="worker counts (default 0 1 2)")
    args = parser.parse_args(argv)
    workers = args.workers if args.workers is not None else ([0, 2] if args.quick else [0, 1, 2])
    repeats = 2 if args.quick else 5
    print(f"data pipeline, {os.cpu_count()} CPUs, 1 thread per process")
    rows = []
    with tempfile.TemporaryDirectory(prefix="epam-bench-") as tmp:
        tmp = Path(tmp)
        demo = Settings(tmp / "demo.pkl", tmp / "demo", num_classes=10, per_class=2 if args.quick else 5,
                        frames=40, size=64, seed=0)
        ntu = Settings(tmp / "ntu.pkl", tmp / "ntu", num_classes=4, per_class=2 if args.quick else 5,
                       frames=60 if args.quick else 100, size=224, seed=0)
        start = time.perf_counter()
        generate(demo)
        generate(ntu)
        print(f"(made the synthetic sets in {time.perf_counter() - start:.1f} s)")
        rows += bench_case(make_config("demo", "epam_synthetic_demo.yaml", demo, 10), repeats, workers,
                           64 if args.quick else 320)
        rows += bench_case(make_config("NTU60-shape", "epam_ntu60_optimized.yaml", ntu, 4), repeats, workers,
                           32 if args.quick else 96)
    for r in rows:
        print("BENCH " + json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
