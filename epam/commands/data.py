"""`epam data`: data tools.

- ``crop-rgb``: write the person-centred square RGB crops the official recipe trains on
  (``<out>/<frame_dir>_rgb.mp4``, ``--size`` square, default 224): per video, the box of all non-zero
  keypoints over all frames, padded by 0.25, made square and clamped to the image.
- ``check``: load a config's train and val splits, report sizes and skipped entries, and run a few
  samples through the pipeline (shapes, time per sample).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from epam.data.crop import annotation_entries, crop_box, crop_video
from epam.data.errors import DataError


def _load_cfg(path: str, overrides: list[str]) -> dict:
    from epam.config import ConfigError, load_config

    try:
        return load_config(path, overrides)
    except ConfigError as exc:
        raise DataError(str(exc).replace("\n", "; ")) from None


def crop_rgb(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="epam data crop-rgb", description="Write person-centred square RGB crops "
                                "(<out>/<frame_dir>_rgb.mp4) from full-frame videos and the skeletons.")
    p.add_argument("--config", help="take --ann-file/--src from data.ann_file/data.video_root")
    p.add_argument("--set", dest="overrides", action="append", default=[], help="config override a.b=value")
    p.add_argument("--ann-file", help="PoseC3D annotation pickle")
    p.add_argument("--src", help="folder of the full-frame videos (<frame_dir>_rgb.mp4, .avi or <frame_dir>.mp4)")
    p.add_argument("--out", required=True, help="folder for the cropped videos")
    p.add_argument("--size", type=int, default=224, help="crop size in pixels (default 224)")
    p.add_argument("--split", action="append", help="only these splits (repeatable; default: every entry)")
    p.add_argument("--padding", type=float, default=0.25, help="box padding (default 0.25)")
    p.add_argument("--overwrite", action="store_true", help="redo crops that exist")
    args = p.parse_args(argv)
    from epam.data.video import find_rgb

    cfg = _load_cfg(args.config, args.overrides) if args.config else {}
    ann_file = args.ann_file or cfg.get("data", {}).get("ann_file")
    src = args.src or cfg.get("data", {}).get("video_root")
    if not ann_file or not src:
        raise DataError("crop-rgb needs --ann-file and --src (or --config)")
    out = Path(args.out)
    if out.resolve() == Path(src).resolve():
        raise DataError("--out must differ from the source folder (crops would overwrite the videos)")
    entries = annotation_entries(ann_file, args.split)
    done = failed = skipped = 0
    start = time.perf_counter()
    for entry in entries:
        dst = out / f"{entry['frame_dir']}_rgb.mp4"
        if dst.exists() and not args.overwrite:
            skipped += 1
            continue
        try:
            box = crop_box(entry["keypoint"], tuple(entry["img_shape"]), args.padding)
            crop_video(find_rgb(src, entry["frame_dir"]), dst, box, tuple(entry["img_shape"]), args.size)
            done += 1
        except DataError as exc:
            failed += 1
            print(f"crop-rgb: {exc}", file=sys.stderr)
    print(f"crop-rgb: {done} cropped, {skipped} already there, {failed} failed -> {out} "
          f"({time.perf_counter() - start:.1f} s)")
    return 1 if failed else 0


def check(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="epam data check", description="Load a config's splits and run a few samples.")
    p.add_argument("config")
    p.add_argument("--set", dest="overrides", action="append", default=[], help="config override a.b=value")
    p.add_argument("--samples", type=int, default=4, help="samples to run through the pipeline per split")
    args = p.parse_args(argv)
    from epam.data.dataset import build_dataset

    cfg = _load_cfg(args.config, args.overrides)
    for split in ("train", "val"):
        ds = build_dataset(cfg, split)
        sample = ds[0]  # the first one also pays for imports and opening files: not timed
        n = min(max(args.samples, 1), len(ds))
        start = time.perf_counter()
        for i in range(n):
            ds[i]
        per = (time.perf_counter() - start) / n * 1000
        print(f"{split}: {len(ds)} samples, {len(ds.skipped)} skipped, {ds.num_classes} classes; "
              f"imgs {tuple(sample['imgs'].shape)}, heatmap_imgs {tuple(sample['heatmap_imgs'].shape)}; "
              f"{per:.1f} ms/sample")
    return 0


COMMANDS = {"crop-rgb": crop_rgb, "check": check}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: epam data {crop-rgb,check} [options]\n\n" + (__doc__ or "").split("\n\n", 1)[1])
        return 0 if argv else 2
    if argv[0] not in COMMANDS:
        print(f"epam data: unknown tool {argv[0]!r} (use crop-rgb or check)", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except DataError as exc:
        print(f"epam data {argv[0]}: {exc}", file=sys.stderr)
        return 2

