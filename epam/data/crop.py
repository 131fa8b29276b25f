"""Person-centred square RGB crops, as the official recipe trains on (`epam data crop-rgb` writes them).

Per video, the box of all non-zero keypoints over all frames, padded (default 0.25), made square and
clamped to the image; each frame is cropped to it and resized.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from epam.data.errors import DataError


def crop_box(keypoint: np.ndarray, img_shape: tuple[int, int], padding: float = 0.25) -> tuple[int, int, int, int]:
    """The crop (x0, y0, x1, y1) of a whole video: all frames' keypoints; the full image when there are none."""
    from epam.data.pipeline import compact_box

    box = compact_box(np.nan_to_num(np.asarray(keypoint, np.float32)), img_shape, padding, threshold=0.0)
    return box if box is not None else (0, 0, int(img_shape[1]), int(img_shape[0]))


def crop_video(src: Path, dst: Path, box: tuple[int, int, int, int], img_shape: tuple[int, int], size: int) -> int:
    """Crop every frame of ``src`` to ``box`` (in ``img_shape`` pixels), resize to size x size, write ``dst``."""
    from epam.data.video import iter_video, resize_image, write_video

    out = []
    for frame in iter_video(src):
        sy, sx = frame.shape[0] / img_shape[0], frame.shape[1] / img_shape[1]  # video may be smaller than img_shape
        x0, y0, x1, y1 = int(box[0] * sx), int(box[1] * sy), int(round(box[2] * sx)), int(round(box[3] * sy))
        crop = frame[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
        out.append(resize_image(crop, (size, size)))
    if not out:
        raise DataError(f"video {src} has no decodable frame")
    write_video(dst, np.stack(out))
    return len(out)


def annotation_entries(ann_file: str, splits: list[str] | None) -> list[dict]:
    """The entries of ``splits`` (each frame_dir once), or every entry of the annotation file when none."""
    from epam.data.posec3d import load_split, validate_entries
    from epam.data.safe_pickle import safe_load

    if splits:
        seen: dict[str, dict] = {}
        for split in splits:
            for entry in load_split(ann_file, split).entries:
                seen.setdefault(entry["frame_dir"], entry)
        return list(seen.values())
    data = safe_load(ann_file)
    raw = data["annotations"] if isinstance(data, dict) and "annotations" in data else data
    if not isinstance(raw, list):
        raise DataError(f"{ann_file}: not a PoseC3D annotation file")
    return validate_entries(raw, Path(ann_file), "<all>").entries
