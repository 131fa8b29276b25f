"""Series helpers: TensorBoard's debiased EMA and min/max downsampling for drawing only."""

from __future__ import annotations

import math

import numpy as np


def ema_debiased(values: np.ndarray, smoothing: float) -> np.ndarray:
    """TensorBoard's smoothing: last = last * w + (1 - w) * v, divided by 1 - w**n (debias).

    Non-finite values are skipped by the average (their output repeats the previous smoothed value).
    """
    w = min(max(float(smoothing), 0.0), 0.999)
    out = np.empty(len(values), dtype=float)
    last, n = 0.0, 0
    for i, v in enumerate(np.asarray(values, dtype=float)):
        if math.isfinite(v):
            last = last * w + (1 - w) * v
            n += 1
        out[i] = last / (1 - w ** n) if n else math.nan
    return out


def downsample_minmax(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``2 * buckets`` points keeping each bucket's min and max (spikes survive)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) <= 2 * buckets or buckets < 1:
        return x, y
    edges = np.linspace(0, len(x), buckets + 1).astype(int)
    xs, ys = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        seg = y[a:b]
        finite = np.isfinite(seg)
        if not finite.any():
            xs.append(x[a]); ys.append(seg[0])  # noqa: E702 - keep a NaN marker
            continue
        idx = np.where(finite)[0]
        lo, hi = a + idx[np.argmin(seg[idx])], a + idx[np.argmax(seg[idx])]
        for j in sorted({lo, hi}):
            xs.append(x[j]); ys.append(y[j])  # noqa: E702
    return np.array(xs), np.array(ys)
