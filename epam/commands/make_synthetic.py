"""`epam make-synthetic`: write the small NTU60-format synthetic dataset (``epam.data.synthetic``).

Command-line options win over the ``--config``'s values, which win over the defaults; a config for
another dataset needs ``--out`` so its data paths are not overwritten. Exit 0, or 2 with one line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from epam.data.errors import DataError
from epam.data.synthetic import DEFAULT_OUT, PICKLE_NAME, Settings, generate


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="epam make-synthetic", description="Write a small synthetic NTU60-format "
                                "dataset: <out>/synthetic_2d.pkl (PoseC3D layout, 4 NTU60 splits) and "
                                "<out>/videos/<frame_dir>_rgb.mp4.")
    p.add_argument("--config", help="take num_classes, rgb_size, pose_clip_len and the data paths from this config")
    p.add_argument("--out", default=None, help=f"output folder (default: the --config's paths, else {DEFAULT_OUT})")
    p.add_argument("--num-classes", type=int, default=None, help="classes (default 60, or model.num_classes)")
    p.add_argument("--per-class", type=int, default=50, help="clips per class (default 50: ~40 X-Sub train, ~10 val)")
    p.add_argument("--frames", type=int, default=None,
                   help="mean frames per clip (default 40, at least 2 x pose_clip_len)")
    p.add_argument("--size", type=int, default=None, help="video frame size in pixels (default 64, or data.rgb_size)")
    p.add_argument("--seed", type=int, default=0, help="everything follows from it (default 0)")
    p.add_argument("--codec", default=None,
                   help="video encoder (default mpeg4: bit-reproducible; libx264 is smaller but not reproducible)")
    return p


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Command-line options over config values over defaults."""
    num_classes, size, frames = 60, 64, 40
    out = Path(args.out or DEFAULT_OUT)
    ann_file, video_root = out / PICKLE_NAME, out / "videos"
    if args.config:
        from epam.config import ConfigError, load_config

        try:
            cfg = load_config(args.config)
        except ConfigError as exc:
            raise DataError(str(exc).splitlines()[0]) from None
        num_classes = int(cfg["model"]["num_classes"])
        size = int(cfg["data"]["rgb_size"])
        frames = max(frames, 2 * int(cfg["model"]["pose_clip_len"]))
        if args.out is None:
            if cfg["data"].get("dataset") != "synthetic":
                raise DataError(f"{args.config} is for data.dataset {cfg['data'].get('dataset')!r}, not synthetic: "
                                "pass --out DIR so its data paths are not overwritten")
            ann_file, video_root = Path(cfg["data"]["ann_file"]), Path(cfg["data"]["video_root"])
    return Settings(ann_file=ann_file, video_root=video_root,
                    num_classes=args.num_classes if args.num_classes is not None else num_classes,
                    per_class=args.per_class, frames=args.frames if args.frames is not None else frames,
                    size=args.size if args.size is not None else size, seed=args.seed, codec=args.codec)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
        start = time.perf_counter()
        total = settings.num_classes * settings.per_class
        print(f"make-synthetic: {settings.num_classes} classes x {settings.per_class} clips, ~{settings.frames} "
              f"frames of {settings.size}x{settings.size}, seed {settings.seed}", flush=True)

        def progress(done: int, n: int) -> None:
            if done % max(n // 10, 1) == 0 or done == n:
                print(f"  {done}/{n} clips ({time.perf_counter() - start:.1f} s)", flush=True)

        data = generate(settings, progress)
    except DataError as exc:
        print(f"epam make-synthetic: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"epam make-synthetic: cannot write: {exc} (check --out)", file=sys.stderr)
        return 2
    sizes = ", ".join(f"{k} {len(v)}" for k, v in data["split"].items())
    print(f"wrote {settings.ann_file} ({total} clips; {sizes}) and videos in {settings.video_root} "
          f"in {time.perf_counter() - start:.1f} s")
    return 0

