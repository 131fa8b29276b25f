"""Gaussian pose heatmaps, vectorised over frames, persons and keypoints (or limbs).

Same values as the reference ``GeneratePoseTarget`` loop (reference §5), computed in one batch:

- keypoint (m, t, v) with score s >= eps draws ``s * exp(-((x-mx)^2 + (y-my)^2) / (2 sigma^2))`` on the
  integer pixels of the window ``[max(trunc(mx - 3 sigma), 0), min(trunc(mx + 3 sigma) + 1, W))`` (and the
  same in y); pixels outside the window stay 0 (the Gaussian tail is cut, not kept);
- persons combine by ``max``;
- a limb (a, b) draws ``min(s_a, s_b) * exp(-d^2 / (2 sigma^2))`` with d the distance to the segment, on
  the endpoints' bounding box +-3 sigma; a limb shorter than 1 px draws the keypoint a instead.

Each drawable item becomes a K x K window of values and flat output indices (out-of-window cells point
at one spare cell past the end), and ``np.maximum.at`` scatters them all at once. The output is
(C, T, H, W) float32, the layout the model takes (C = 17 keypoints or 17 limbs).
"""

from __future__ import annotations

import numpy as np

EPS = 1e-4
SEGMENT_CHUNK = 128
COCO_LIMBS: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8), (8, 10),
    (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12))


def _window(lo: np.ndarray, hi: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Window starts and ends: ``[max(trunc(lo), 0), min(trunc(hi) + 1, size))`` (``int()`` truncates toward 0).

    Clipping to [-1, size] first changes no window and keeps far-away points from overflowing int64.
    """
    start = np.maximum(np.trunc(np.clip(lo, -1, size)), 0).astype(np.int64)
    end = np.minimum(np.trunc(np.clip(hi, -1, size)).astype(np.int64) + 1, size)
    return start, end


def _grid(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the pixel coordinates of its window (N, K) and which of them lie inside it."""
    k = max(int((end - start).max(initial=1)), 1)
    coords = start[:, None] + np.arange(k)
    return coords, coords < end[:, None]


def _scatter(out_flat: np.ndarray, plane: np.ndarray, xs: np.ndarray, ys: np.ndarray, inside: np.ndarray,
             values: np.ndarray, height: int, width: int) -> None:
    """Max-combine ``values`` (N, Ky, Kx) into planes ``plane`` (N,) at pixels (ys, xs)."""
    spare = out_flat.size - 1
    index = (plane[:, None, None] * (height * width)
             + np.minimum(ys, height - 1)[:, :, None] * width + np.minimum(xs, width - 1)[:, None, :])
    index = np.where(inside, index, spare)
    np.maximum.at(out_flat, index.ravel(), values.ravel())


def _new_output(channels: int, frames: int, height: int, width: int) -> np.ndarray:
    """A zeroed flat buffer with one spare cell at the end for out-of-window writes."""
    return np.zeros(channels * frames * height * width + 1, np.float32)


def _finish(out_flat: np.ndarray, channels: int, frames: int, height: int, width: int) -> np.ndarray:
    return out_flat[:-1].reshape(channels, frames, height, width)


def _draw_points(out_flat: np.ndarray, plane: np.ndarray, mu: np.ndarray, value: np.ndarray, sigma: float,
                 height: int, width: int) -> None:
    """Truncated Gaussians at ``mu`` (N, 2) with peaks ``value`` (N,) into planes ``plane``."""
    keep = value >= EPS
    plane, mu, value = plane[keep], mu[keep], value[keep]
    if not plane.size:
        return
    mx, my = mu[:, 0], mu[:, 1]
    sx, ex = _window(mx - 3 * sigma, mx + 3 * sigma, width)
    sy, ey = _window(my - 3 * sigma, my + 3 * sigma, height)
    keep = (ex > sx) & (ey > sy)
    if not keep.any():
        return
    plane, mx, my, value = plane[keep], mx[keep], my[keep], value[keep]
    xs, in_x = _grid(sx[keep], ex[keep])
    ys, in_y = _grid(sy[keep], ey[keep])
    dx2 = (xs.astype(np.float32) - mx[:, None]) ** 2
    dy2 = (ys.astype(np.float32) - my[:, None]) ** 2
    patch = np.exp(-(dx2[:, None, :] + dy2[:, :, None]) / 2 / sigma ** 2) * value[:, None, None]
    _scatter(out_flat, plane, xs, ys, in_y[:, :, None] & in_x[:, None, :], patch, height, width)


def _draw_segments(out_flat: np.ndarray, plane: np.ndarray, a: np.ndarray, b: np.ndarray, value_a: np.ndarray,
                   value: np.ndarray, sigma: float, height: int, width: int) -> None:
    """Truncated Gaussian ridges along segments a->b (N, 2) with peaks ``value`` into planes ``plane``."""
    keep = value >= EPS
    plane, a, b, value_a, value = plane[keep], a[keep], b[keep], value_a[keep], value[keep]
    sx, ex = _window(np.minimum(a[:, 0], b[:, 0]) - 3 * sigma, np.maximum(a[:, 0], b[:, 0]) + 3 * sigma, width)
    sy, ey = _window(np.minimum(a[:, 1], b[:, 1]) - 3 * sigma, np.maximum(a[:, 1], b[:, 1]) + 3 * sigma, height)
    keep = (ex > sx) & (ey > sy)
    plane, a, b, value_a, value = plane[keep], a[keep], b[keep], value_a[keep], value[keep]
    sx, ex, sy, ey = sx[keep], ex[keep], sy[keep], ey[keep]
    ab2 = (a[:, 0] - b[:, 0]) ** 2 + (a[:, 1] - b[:, 1]) ** 2
    short = ab2 < 1
    if short.any():
        _draw_points(out_flat, plane[short], a[short], value_a[short], sigma, height, width)
    long_ = ~short
    if not long_.any():
        return
    order = np.argsort(np.maximum(ex - sx, ey - sy)[long_], kind="stable")
    items = (plane[long_], a[long_], b[long_], value[long_], ab2[long_], sx[long_], ex[long_], sy[long_], ey[long_])
    items = tuple(x[order] for x in items)
    for lo in range(0, len(order), SEGMENT_CHUNK):  # similar window sizes together: little padding
        chunk = tuple(x[lo:lo + SEGMENT_CHUNK] for x in items)
        _draw_long_segments(out_flat, *chunk, sigma=sigma, height=height, width=width)


def _draw_long_segments(out_flat: np.ndarray, plane: np.ndarray, a: np.ndarray, b: np.ndarray, value: np.ndarray,
                        ab2: np.ndarray, sx: np.ndarray, ex: np.ndarray, sy: np.ndarray, ey: np.ndarray, *,
                        sigma: float, height: int, width: int) -> None:
    """Segments of length >= 1 px: squared distance to the segment, clamped to the end points."""
    xs, in_x = _grid(sx, ex)
    ys, in_y = _grid(sy, ey)
    x = xs.astype(np.float32)[:, None, :]
    y = ys.astype(np.float32)[:, :, None]
    ax, ay, bx, by = (c[:, None, None] for c in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
    d2_a = (x - ax) ** 2 + (y - ay) ** 2
    d2_b = (x - bx) ** 2 + (y - by) ** 2
    ab2 = ab2[:, None, None]
    coeff = (d2_a - d2_b + ab2) / 2.0 / ab2
    d2_line = (x - (ax + coeff * (bx - ax))) ** 2 + (y - (ay + coeff * (by - ay))) ** 2
    d2 = np.where(coeff <= 0, d2_a, np.where(coeff >= 1, d2_b, d2_line))
    patch = np.exp(-d2 / 2.0 / sigma ** 2) * value[:, None, None]
    _scatter(out_flat, plane, xs, ys, in_y[:, :, None] & in_x[:, None, :], patch, height, width)


def _prepare(keypoint: np.ndarray, score: np.ndarray | None, use_score: bool) -> tuple[np.ndarray, np.ndarray]:
    """float32 copies; non-finite coordinates become 0 with score 0 (as the pipelines treat NaN)."""
    kp = np.asarray(keypoint, np.float32)
    sc = np.ones(kp.shape[:3], np.float32) if (score is None or not use_score) else np.asarray(score, np.float32)
    bad = ~np.isfinite(kp).all(-1) | ~np.isfinite(sc)
    if bad.any():
        kp = np.where(bad[..., None], 0, kp).astype(np.float32)
        sc = np.where(bad, 0, sc).astype(np.float32)
    return kp, sc


def keypoint_heatmaps(keypoint: np.ndarray, score: np.ndarray | None, height: int, width: int, sigma: float,
                      use_score: bool = True) -> np.ndarray:
    """Keypoint heatmaps (V, T, H, W) from keypoints (M, T, V, 2) and scores (M, T, V)."""
    kp, sc = _prepare(keypoint, score, use_score)
    m, t, v = sc.shape
    out = _new_output(v, t, height, width)
    plane = np.broadcast_to((np.arange(v)[None, :] * t + np.arange(t)[:, None])[None], (m, t, v)).reshape(-1)
    _draw_points(out, plane, kp.reshape(-1, 2), sc.reshape(-1), sigma, height, width)
    return _finish(out, v, t, height, width)


def limb_heatmaps(keypoint: np.ndarray, score: np.ndarray | None, height: int, width: int, sigma: float,
                  limbs: tuple[tuple[int, int], ...] = COCO_LIMBS, use_score: bool = True) -> np.ndarray:
    """Limb heatmaps (L, T, H, W), one channel per ``limbs`` pair, from keypoints (M, T, V, 2)."""
    kp, sc = _prepare(keypoint, score, use_score)
    m, t, _ = sc.shape
    n_limbs = len(limbs)
    ia = np.array([p[0] for p in limbs])
    ib = np.array([p[1] for p in limbs])
    out = _new_output(n_limbs, t, height, width)
    plane = np.broadcast_to((np.arange(n_limbs)[None, :] * t + np.arange(t)[:, None])[None], (m, t, n_limbs))
    value_a, value_b = sc[:, :, ia], sc[:, :, ib]
    _draw_segments(out, plane.reshape(-1), kp[:, :, ia].reshape(-1, 2), kp[:, :, ib].reshape(-1, 2),
                   value_a.reshape(-1), np.minimum(value_a, value_b).reshape(-1), sigma, height, width)
    return _finish(out, n_limbs, t, height, width)


def pose_heatmaps(keypoint: np.ndarray, score: np.ndarray | None, size: int, sigma: float,
                  with_limb: bool = False) -> np.ndarray:
    """The pose input: keypoint heatmaps, or limb heatmaps when ``with_limb`` (C, T, size, size)."""
    draw = limb_heatmaps if with_limb else keypoint_heatmaps
    return draw(keypoint, score, size, size, sigma)
