"""Vectorised heatmaps against a straightforward per-frame/person/keypoint loop written here."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from epam.data.heatmaps import COCO_LIMBS, keypoint_heatmaps, limb_heatmaps, pose_heatmaps

EPS = 1e-4


def loop_point(arr: np.ndarray, mx: float, my: float, peak: float, sigma: float) -> None:
    """One truncated Gaussian into ``arr`` (H, W), max-combined, as the reference algorithm draws it."""
    height, width = arr.shape
    x0, x1 = max(int(mx - 3 * sigma), 0), min(int(mx + 3 * sigma) + 1, width)
    y0, y1 = max(int(my - 3 * sigma), 0), min(int(my + 3 * sigma) + 1, height)
    x = np.arange(x0, x1, 1, np.float32)
    y = np.arange(y0, y1, 1, np.float32)
    if not (len(x) and len(y)):
        return
    y = y[:, None]
    patch = np.exp(-((x - mx) ** 2 + (y - my) ** 2) / 2 / sigma ** 2) * peak
    arr[y0:y1, x0:x1] = np.maximum(arr[y0:y1, x0:x1], patch)


def loop_keypoints(kp, score, height, width, sigma, use_score=True) -> np.ndarray:
    persons, frames, joints, _ = kp.shape
    out = np.zeros((joints, frames, height, width), np.float32)
    for t in range(frames):
        for v in range(joints):
            for m in range(persons):
                peak = score[m, t, v] if use_score else np.float32(1)
                if peak < EPS:
                    continue
                loop_point(out[v, t], kp[m, t, v, 0], kp[m, t, v, 1], peak, sigma)
    return out


def loop_limbs(kp, score, height, width, sigma) -> np.ndarray:
    persons, frames = kp.shape[:2]
    out = np.zeros((len(COCO_LIMBS), frames, height, width), np.float32)
    for t in range(frames):
        for c, (ia, ib) in enumerate(COCO_LIMBS):
            arr = out[c, t]
            for m in range(persons):
                a, b = kp[m, t, ia], kp[m, t, ib]
                value = min(score[m, t, ia], score[m, t, ib])
                if value < EPS:
                    continue
                x0 = max(int(min(a[0], b[0]) - 3 * sigma), 0)
                x1 = min(int(max(a[0], b[0]) + 3 * sigma) + 1, width)
                y0 = max(int(min(a[1], b[1]) - 3 * sigma), 0)
                y1 = min(int(max(a[1], b[1]) + 3 * sigma) + 1, height)
                x = np.arange(x0, x1, 1, np.float32)
                y = np.arange(y0, y1, 1, np.float32)
                if not (len(x) and len(y)):
                    continue
                y = y[:, None]
                d2a = (x - a[0]) ** 2 + (y - a[1]) ** 2
                d2b = (x - b[0]) ** 2 + (y - b[1]) ** 2
                ab2 = (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2
                if ab2 < 1:
                    loop_point(arr, a[0], a[1], score[m, t, ia], sigma)
                    continue
                coeff = (d2a - d2b + ab2) / 2.0 / ab2
                px, py = a[0] + coeff * (b[0] - a[0]), a[1] + coeff * (b[1] - a[1])
                d2line = (x - px) ** 2 + (y - py) ** 2
                d2 = np.where(coeff <= 0, d2a, np.where(coeff >= 1, d2b, d2line))
                patch = np.exp(-d2 / 2.0 / sigma ** 2) * value
                arr[y0:y1, x0:x1] = np.maximum(arr[y0:y1, x0:x1], patch)
    return out


def random_pose(rng, persons, frames, height, width, spread=6.0):
    """Skeleton-like keypoints (joints near a body centre) with some zero scores."""
    centre = rng.uniform([0.2 * width, 0.2 * height], [0.8 * width, 0.8 * height], (persons, 1, 1, 2))
    kp = (centre + rng.normal(0, spread, (persons, frames, 17, 2))).astype(np.float32)
    score = rng.uniform(0, 1, (persons, frames, 17)).astype(np.float32)
    score[score < 0.15] = 0
    return kp, score


def assert_parity(ours: np.ndarray, ref: np.ndarray) -> None:
    assert ours.shape == ref.shape and ours.dtype == np.float32
    assert np.abs(ours - ref).max() <= 1e-6
    assert ref.max() > 0  # the case drew something


@pytest.mark.parametrize("sigma", [0.6, 0.7])
@pytest.mark.parametrize("persons", [1, 2])
@pytest.mark.parametrize("shape", [(56, 56), (40, 64)])
def test_keypoint_heatmaps_match_the_loop_on_random_poses(sigma, persons, shape):
    rng = np.random.default_rng(persons * 10 + int(sigma * 10))
    kp, score = random_pose(rng, persons, 6, *shape)
    kp[..., 0] = rng.uniform(-4, shape[1] + 4, kp.shape[:3])  # some joints anywhere, incl. just outside
    assert_parity(keypoint_heatmaps(kp, score, *shape, sigma), loop_keypoints(kp, score, *shape, sigma))


EDGE_XY = [0.0, 0.3, -0.3, -0.9, -1.0, -1.5, -1.79, -1.81, -2.5, -30.0, 55.0, 55.5, 56.0, 56.7, 57.8, 57.9, 60.0,
           1e6, -1e6, 27.0, 27.5, 13.999, 14.0001]


@pytest.mark.parametrize("sigma", [0.6, 0.7])
def test_keypoint_heatmaps_edge_cases(sigma):
    """Borders, just and far outside, integer/half positions, zero and sub-eps scores, two persons on one spot."""
    xy = np.array(np.meshgrid(EDGE_XY, EDGE_XY)).reshape(2, -1).T.astype(np.float32)  # every x with every y
    frames = int(np.ceil(len(xy) / 17))
    kp = np.zeros((2, frames, 17, 2), np.float32)
    kp[0].reshape(-1, 2)[: len(xy)] = xy
    kp[1] = kp[0][:, ::-1]  # second person: same points in another joint order
    kp[1, 0, 3] = kp[0, 0, 3]  # and exactly on top of person 1 once: max, not sum
    score = np.full((2, frames, 17), 0.8, np.float32)
    score[0, :, 4] = 0.0
    score[1, :, 5] = 5e-5  # below eps: not drawn
    score[1, :, 6] = 2e-4  # just above eps: drawn
    score[1, 0, 3] = 0.5
    ours = keypoint_heatmaps(kp, score, 56, 56, sigma)
    assert_parity(ours, loop_keypoints(kp, score, 56, 56, sigma))
    alone = keypoint_heatmaps(kp[:1], score[:1], 56, 56, sigma)
    assert np.array_equal(ours[3, 0], alone[3, 0])  # the weaker person on the same spot changes nothing
    single = keypoint_heatmaps(kp[:1, :1, :1], score[:1, :1, :1], 56, 56, sigma)
    assert single[0, 0, 0, 0] == pytest.approx(0.8)  # a keypoint at (0, 0) peaks there with its score


def test_keypoint_heatmaps_without_score_and_window_is_truncated():
    kp = np.array([[[[20.3, 30.6]] * 17]], np.float32)
    score = np.full((1, 1, 17), 0.25, np.float32)
    ours = keypoint_heatmaps(kp, score, 56, 56, 0.6, use_score=False)
    assert_parity(ours, loop_keypoints(kp, score, 56, 56, 0.6, use_score=False))
    assert ours.max() > 0.25
    # the +-3 sigma window: x in [trunc(18.5), trunc(22.1)] = 18..22, y in 28..32; 0 outside (no Gaussian tail)
    nonzero_y, nonzero_x = np.nonzero(ours[0, 0])
    assert (nonzero_x.min(), nonzero_x.max(), nonzero_y.min(), nonzero_y.max()) == (18, 22, 28, 32)


def test_non_finite_keypoints_draw_nothing():
    kp = np.full((1, 2, 17, 2), 10.0, np.float32)
    kp[0, 0, 0, 0] = np.nan
    kp[0, 1, 1, 1] = np.inf
    out = keypoint_heatmaps(kp, np.ones((1, 2, 17), np.float32), 56, 56, 0.6)
    assert out[0, 0].max() == 0 and out[1, 1].max() == 0 and out[2, 0].max() > 0


@pytest.mark.parametrize("sigma", [0.6, 0.7])
@pytest.mark.parametrize("persons", [1, 2])
def test_limb_heatmaps_match_the_loop(sigma, persons):
    rng = np.random.default_rng(7 + persons)
    kp, score = random_pose(rng, persons, 4, 56, 56, spread=5.0)
    kp[0, 0, 3] = kp[0, 0, 1] + 0.4  # a limb shorter than 1 px: drawn as a point
    kp[0, 1, 9] = (-30, 80)  # a limb leaving the image
    assert_parity(limb_heatmaps(kp, score, 56, 56, sigma), loop_limbs(kp, score, 56, 56, sigma))


def test_pose_heatmaps_layout():
    rng = np.random.default_rng(0)
    kp, score = random_pose(rng, 1, 48, 56, 56)
    assert pose_heatmaps(kp, score, 56, 0.6).shape == (17, 48, 56, 56)
    limbs = pose_heatmaps(kp, score, 56, 0.6, with_limb=True)
    assert limbs.shape == (len(COCO_LIMBS), 48, 56, 56) == (17, 48, 56, 56)


coordinate = st.one_of(st.floats(-8, 64, width=32), st.sampled_from([0.0, -1.8, -1.0, 55.0, 56.0, 57.8]))


@settings(max_examples=60, deadline=None)
@given(xy=st.lists(st.tuples(coordinate, coordinate), min_size=17, max_size=34),
       scores=st.lists(st.sampled_from([0.0, 5e-5, 2e-4, 0.3, 1.0]), min_size=34, max_size=34),
       sigma=st.sampled_from([0.5, 0.6, 0.7, 1.3]))
def test_keypoint_heatmaps_match_the_loop_on_any_points(xy, scores, sigma):
    persons = len(xy) // 17
    kp = np.array(xy[: persons * 17], np.float32).reshape(persons, 1, 17, 2)
    score = np.array(scores[: persons * 17], np.float32).reshape(persons, 1, 17)
    ours = keypoint_heatmaps(kp, score, 56, 56, sigma)
    assert np.abs(ours - loop_keypoints(kp, score, 56, 56, sigma)).max() <= 1e-6
