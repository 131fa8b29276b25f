"""The official joint (RGB + pose) data recipe, transform by transform (reference §2.2).

Per sample, in order:

1. ``sample_indices``: ``pose_clip_len`` uniformly sampled pose frames (one random frame per equal
   segment; short videos: a wrapped consecutive run when T < clip, random +1 offsets when
   clip <= T < 2 clip). Validation (``val_indices``) reproduces MMAction2's test mode exactly: a legacy
   ``RandomState(255)`` per sample, so a checkpoint sees the same frames here and there.
   RGB frames = pose indices ``[::pose_clip_len // rgb_clip_len]`` (RGB frame t is pose frame 3t).
2. ``compact``: keypoints only; tight box of the non-zero keypoints of the sampled frames, x1.25,
   made square, clamped to the image; boxes under 10 px leave the keypoints as they are.
3. ``resize_keypoints`` to ``heatmap_size`` (the RGB comes pre-sized: decoded straight to ``rgb_size``).
4. ``flip``: one decision for both modalities; images mirrored, keypoints ``x' = W - x`` for non-zero x
   with left/right keypoints swapped.
5. heatmaps (``epam.data.heatmaps``), and ``normalize_rgb`` with the ImageNet mean/std (no BGR swap).

Output: ``imgs`` (3, T_rgb, S, S) float32 and ``heatmap_imgs`` (17, T_pose, h, h) float32.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from epam.data.heatmaps import pose_heatmaps

VAL_SEED = 255
LEFT_KP = (1, 3, 5, 7, 9, 11, 13, 15)
RIGHT_KP = (2, 4, 6, 8, 10, 12, 14, 16)
FLIP_ORDER = np.arange(17)
FLIP_ORDER[list(LEFT_KP)], FLIP_ORDER[list(RIGHT_KP)] = RIGHT_KP, LEFT_KP
RGB_MEAN = np.array([123.675, 116.28, 103.53], np.float32)
RGB_STD = np.array([58.395, 57.12, 57.375], np.float32)

RgbReader = Callable[[np.ndarray], np.ndarray]  # frame indices -> (N, S, S, 3) uint8 RGB


@dataclass(frozen=True)
class PipelineSettings:
    """What the recipe needs from the config (defaults: the official NTU60 values)."""

    pose_clip_len: int = 48
    rgb_clip_len: int = 16
    rgb_size: int = 224
    heatmap_size: int = 56
    sigma: float = 0.6
    with_limb: bool = False
    flip_prob: float = 0.5
    padding: float = 0.25
    threshold: float = 10.0

    @classmethod
    def from_config(cls, cfg: dict) -> "PipelineSettings":
        model, data = cfg.get("model", {}), cfg.get("data", {})
        base = cls()
        return cls(
            pose_clip_len=int(model.get("pose_clip_len", base.pose_clip_len)),
            rgb_clip_len=int(model.get("rgb_clip_len", base.rgb_clip_len)),
            rgb_size=int(data.get("rgb_size", base.rgb_size)),
            heatmap_size=int(data.get("heatmap_size", base.heatmap_size)),
            sigma=float(data.get("sigma", base.sigma)),
            with_limb=bool(data.get("with_limb", base.with_limb)),
            flip_prob=float(data.get("flip_prob", base.flip_prob)),
        )


# ------------------------------------------------------------------------------------------------
# sampling


def sample_indices(num_frames: int, clip_len: int, rng: np.random.Generator | None,
                   test_mode: bool = False) -> np.ndarray:
    """``clip_len`` frame indices in [0, num_frames) by the uniform-sampling rules (see module doc).

    Training draws from ``rng``; validation ignores it and takes ``val_indices`` (MMAction2's
    test-mode draws, the same for every sample and run)."""
    if num_frames < 1:
        raise ValueError("a sample needs at least one frame")
    if test_mode:
        return val_indices(num_frames, clip_len)
    if num_frames < clip_len:
        return (int(rng.integers(num_frames)) + np.arange(clip_len)) % num_frames
    if num_frames < 2 * clip_len:
        bumps = np.zeros(clip_len + 1, np.int64)
        bumps[rng.choice(clip_len + 1, num_frames - clip_len, replace=False)] = 1
        return np.arange(clip_len) + np.cumsum(bumps)[:-1]
    bounds = np.arange(clip_len + 1) * num_frames // clip_len
    return bounds[:-1] + rng.integers(np.diff(bounds))


def val_indices(num_frames: int, clip_len: int, num_clips: int = 1, seed: int = VAL_SEED) -> np.ndarray:
    """Validation/test frame indices exactly as MMAction2's (and the official EPAM fork's) test-mode
    ``UniformSampleFrames``: a legacy ``RandomState`` seeded ``seed`` per sample (the stream of
    ``np.random.seed(255)``, without touching numpy's global state), ``num_clips`` clips drawn one after
    the other, ``num_clips * clip_len`` indices modulo ``num_frames``. Short videos (T < clip_len) take a
    consecutive run from clip i's even start, medium ones (T < 2 clip_len) random +1 offsets, long ones
    one random frame per equal segment."""
    if num_frames < 1:
        raise ValueError("a sample needs at least one frame")
    legacy = np.random.RandomState(seed)
    clips = []
    for i in range(num_clips):
        if num_frames < clip_len:
            start = i if num_frames < num_clips else i * num_frames // num_clips
            inds = start + np.arange(clip_len)
        elif num_frames < 2 * clip_len:
            bumps = np.zeros(clip_len + 1, np.int64)
            bumps[legacy.choice(clip_len + 1, num_frames - clip_len, replace=False)] = 1
            inds = np.arange(clip_len) + np.cumsum(bumps)[:-1]
        else:
            bounds = np.arange(clip_len + 1) * num_frames // clip_len
            inds = bounds[:-1] + legacy.randint(np.diff(bounds))
        clips.append(inds)
    return np.concatenate(clips).astype(np.int64) % num_frames


def rgb_indices(pose_inds: np.ndarray, rgb_clip_len: int) -> np.ndarray:
    """RGB frames = every (pose/rgb)-th pose frame, starting with the first."""
    step = max(len(pose_inds) // rgb_clip_len, 1)
    return pose_inds[::step][:rgb_clip_len]


# ------------------------------------------------------------------------------------------------
# keypoint geometry


def compact_box(keypoint: np.ndarray, img_shape: tuple[int, int], padding: float = 0.25, threshold: float = 10.0,
                hw_ratio: float = 1.0) -> tuple[int, int, int, int] | None:
    """The (x0, y0, x1, y1) crop of the non-zero keypoints, or ``None`` when too small to compact."""
    xs, ys = keypoint[..., 0], keypoint[..., 1]
    xs, ys = xs[xs != 0], ys[ys != 0]
    if not xs.size or not ys.size:
        return None
    min_x, max_x, min_y, max_y = float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max())
    if max_x - min_x < threshold or max_y - min_y < threshold:
        return None
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2
    half_w = (max_x - min_x) / 2 * (1 + padding)
    half_h = (max_y - min_y) / 2 * (1 + padding)
    half_h = max(hw_ratio * half_w, half_h)
    half_w = max(half_h / hw_ratio, half_w)
    height, width = img_shape
    return (int(max(0.0, cx - half_w)), int(max(0.0, cy - half_h)),
            int(min(float(width), cx + half_w)), int(min(float(height), cy + half_h)))


def compact(keypoint: np.ndarray, img_shape: tuple[int, int], padding: float = 0.25,
            threshold: float = 10.0) -> tuple[np.ndarray, tuple[int, int]]:
    """Keypoints relative to their compaction box, and the box's (height, width); zeros stay zero."""
    box = compact_box(keypoint, img_shape, padding, threshold)
    if box is None:
        return keypoint, tuple(img_shape)
    x0, y0, x1, y1 = box
    kp = keypoint.copy()
    kp[..., 0][kp[..., 0] != 0] -= x0
    kp[..., 1][kp[..., 1] != 0] -= y0
    return kp, (y1 - y0, x1 - x0)


def resize_keypoints(keypoint: np.ndarray, img_shape: tuple[int, int], size: int) -> np.ndarray:
    """Scale keypoints from an ``img_shape`` = (h, w) image to a ``size`` x ``size`` one."""
    height, width = img_shape
    scale = np.array([size / max(width, 1), size / max(height, 1)], np.float32)
    return (keypoint * scale).astype(np.float32)


def flip_keypoints(keypoint: np.ndarray, score: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Mirror non-zero x to ``width - x`` and swap the left/right keypoints (and their scores)."""
    kp = keypoint.copy()
    xs = kp[..., 0]
    xs[xs != 0] = width - xs[xs != 0]
    return kp[:, :, FLIP_ORDER], score[:, :, FLIP_ORDER]


# ------------------------------------------------------------------------------------------------
# RGB


def normalize_rgb(frames: np.ndarray) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB -> (3, T, H, W) float32, ``(x - mean) / std`` per channel."""
    out = np.ascontiguousarray(frames.transpose(3, 0, 1, 2)).astype(np.float32)  # transpose the bytes: ~6x faster
    out -= RGB_MEAN[:, None, None, None]
    out *= (1.0 / RGB_STD)[:, None, None, None]
    return out


# ------------------------------------------------------------------------------------------------
# the whole recipe


def clean_pose(entry: dict, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float32 keypoints (M, T', 17, 2) and scores (M, T', 17) of ``frames``, with NaN/inf turned into 0."""
    kp = np.asarray(entry["keypoint"])[:, frames].astype(np.float32)
    score = np.asarray(entry["keypoint_score"])[:, frames].astype(np.float32)
    return (np.nan_to_num(kp, nan=0.0, posinf=0.0, neginf=0.0), np.nan_to_num(score, nan=0.0, posinf=0.0, neginf=0.0))


def pose_transform(kp: np.ndarray, score: np.ndarray, img_shape: tuple[int, int], settings: PipelineSettings,
                   flip: bool) -> np.ndarray:
    """Sampled keypoints -> heatmaps (C, T, h, h): compact, resize, optional flip, draw."""
    kp, shape = compact(kp, img_shape, settings.padding, settings.threshold)
    kp = resize_keypoints(kp, shape, settings.heatmap_size)
    if flip:
        kp, score = flip_keypoints(kp, score, settings.heatmap_size)
    return pose_heatmaps(kp, score, settings.heatmap_size, settings.sigma, settings.with_limb)


def transform(entry: dict, read_rgb: RgbReader, settings: PipelineSettings, rng: np.random.Generator,
              test_mode: bool) -> dict[str, Any]:
    """One annotation entry -> ``imgs`` (3, T_rgb, S, S), ``heatmap_imgs`` (C, T_pose, h, h), ``label``."""
    pose_inds = sample_indices(int(np.shape(entry["keypoint"])[1]), settings.pose_clip_len, rng, test_mode)
    flip = (not test_mode) and settings.flip_prob > 0 and bool(rng.random() < settings.flip_prob)
    kp, score = clean_pose(entry, pose_inds)
    heatmaps = pose_transform(kp, score, tuple(entry["img_shape"]), settings, flip)
    frames = read_rgb(rgb_indices(pose_inds, settings.rgb_clip_len))
    if flip:
        frames = frames[:, :, ::-1]
    return {"imgs": normalize_rgb(frames), "heatmap_imgs": heatmaps, "label": int(entry["label"])}


def val_rng() -> np.random.Generator:
    """The generator a validation sample gets (fixed, so nothing random differs between samples); its
    frame indices come from ``val_indices``, which seeds MMAction2's legacy generator itself."""
    return np.random.default_rng(VAL_SEED)
