"""Drawing a synthetic clip: keypoints -> RGB frames (``render_clip``).

Answers "what does a clip's video show?": a dim textured background with boxes, moving balls, and
the stick figure drawn with anti-aliased thick segments in a random bright colour on top, so no
single pixel tells the class. Pure numpy, a function of the ``Clip`` (its ``style_seed`` picks the
colours and distractors); ``epam.data.synthetic`` writes the frames as videos.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Clip:
    """A generated clip: the annotation arrays and what the renderer needs."""

    keypoint: np.ndarray  # (1, T, 17, 2) float32 pixels
    score: np.ndarray  # (1, T, 17) float32
    size: int
    style_seed: int


SCENE_LEVELS = (15.0, 140.0)  # background, boxes and balls: random dim colours
FIGURE_LEVELS = (165.0, 255.0)  # the figure: a random bright colour, so it stands out in every clip
LIMB_RADIUS = 0.032  # of the frame size: limbs ~4 px wide at 64 px
HEAD_RADIUS = 0.06
FIGURE_SEGMENTS = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16),
                   (5, 6), (11, 12), (5, 11), (6, 12))


def _segment_coverage(a: np.ndarray, b: np.ndarray, radius: float, frames: int, size: int) -> np.ndarray:
    """Anti-aliased coverage (T, S, S) of thick segments a->b (T, N, 2), each drawn in its own window."""
    window = int(np.ceil(np.abs(b - a).max(initial=0.0) + 2 * radius + 3))
    origin = np.floor(np.minimum(a, b) - radius - 1).astype(np.int64)  # (T, N, 2)
    k = np.arange(window)
    xs = origin[..., 0, None] + k  # (T, N, K)
    ys = origin[..., 1, None] + k
    px = xs[..., None, :].astype(np.float32) + 0.5  # (T, N, 1, K)
    py = ys[..., :, None].astype(np.float32) + 0.5  # (T, N, K, 1)
    ax, ay = a[..., 0, None, None], a[..., 1, None, None]
    dx, dy = (b - a)[..., 0, None, None], (b - a)[..., 1, None, None]
    t = np.clip(((px - ax) * dx + (py - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
    dist = np.hypot(px - ax - t * dx, py - ay - t * dy)
    cover = np.clip(radius + 0.5 - dist, 0.0, 1.0).astype(np.float32)
    inside = ((xs >= 0) & (xs < size))[..., None, :] & ((ys >= 0) & (ys < size))[..., :, None]
    frame = np.arange(frames)[:, None, None, None]
    index = (frame * size + np.clip(ys, 0, size - 1)[..., :, None]) * size + np.clip(xs, 0, size - 1)[..., None, :]
    index = np.where(inside, index, frames * size * size)
    out = np.zeros(frames * size * size + 1, np.float32)
    np.maximum.at(out, index.ravel(), cover.ravel())
    return out[:-1].reshape(frames, size, size)


def _blend(canvas: np.ndarray, coverage: np.ndarray, colour: np.ndarray) -> None:
    """Paint ``colour`` over ``canvas`` (..., H, W, 3) with ``coverage`` (..., H, W) in [0, 1]."""
    canvas += coverage[..., None] * (np.asarray(colour, np.float32) - canvas)


def _background(rng: np.random.Generator, size: int, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """The static scene (S, S, 3) float32: a colour, soft stripes and a few boxes, all in dim colours."""
    base = rng.uniform(*SCENE_LEVELS, 3)
    scene = np.broadcast_to(base, (size, size, 3)).astype(np.float32)
    for _ in range(3):
        angle, freq = rng.uniform(0, np.pi), rng.uniform(0.05, 0.25)
        stripe = np.sin(freq * (np.cos(angle) * xx + np.sin(angle) * yy) + rng.uniform(0, 2 * np.pi))
        scene += stripe[..., None] * rng.uniform(-12, 12, 3).astype(np.float32)
    for _ in range(int(rng.integers(2, 4))):
        x0, y0 = rng.uniform(0, size, 2)
        w, h = rng.uniform(0.08, 0.25, 2) * size
        box = ((xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < y0 + h)).astype(np.float32)
        _blend(scene, box, rng.uniform(*SCENE_LEVELS, 3))
    return scene


def render_clip(clip: Clip) -> np.ndarray:
    """RGB frames (T, S, S, 3) uint8: textured background, moving balls, then the (brighter) figure."""
    rng = np.random.default_rng(clip.style_seed)
    kp = clip.keypoint[0].astype(np.float32)
    frames, size = kp.shape[0], clip.size
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    scene = _background(rng, size, yy, xx)
    canvas = np.repeat(scene[None], frames, axis=0)
    t = np.arange(frames, dtype=np.float32)[:, None, None]
    for _ in range(int(rng.integers(1, 3))):
        start, velocity = rng.uniform(0, size, 2), rng.uniform(-0.6, 0.6, 2) * size / 40
        radius = rng.uniform(0.04, 0.09) * size
        cx = np.abs((start[0] + velocity[0] * t) % (2 * size) - size)
        cy = np.abs((start[1] + velocity[1] * t) % (2 * size) - size)
        ball = np.clip(np.float32(radius + 0.5) - np.hypot(xx - cx, yy - cy), 0, 1)
        _blend(canvas, ball, rng.uniform(*SCENE_LEVELS, 3))
    colour = rng.uniform(*FIGURE_LEVELS, 3)
    head = kp[:, 0:5].mean(axis=1, keepdims=True)
    neck = (kp[:, 5:6] + kp[:, 6:7]) / 2
    a = np.concatenate([kp[:, [s[0] for s in FIGURE_SEGMENTS]], neck], axis=1)
    b = np.concatenate([kp[:, [s[1] for s in FIGURE_SEGMENTS]], head], axis=1)
    figure = _segment_coverage(a, b, max(0.9, LIMB_RADIUS * size), frames, size)
    head_cover = _segment_coverage(head, head, HEAD_RADIUS * size, frames, size)
    _blend(canvas, np.maximum(figure, head_cover), colour)
    return np.clip(canvas + 0.5, 0, 255).astype(np.uint8)


