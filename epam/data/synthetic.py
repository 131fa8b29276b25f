"""A small NTU60-format dataset (PoseC3D pickle + RGB videos) anyone can make (`epam make-synthetic`,
``epam.commands.make_synthetic``, writes it).

Each class is a body motion of a COCO-17 stick figure: a 3D skeleton driven by joint-angle curves,
seen from the sample's camera and drawn into small RGB videos together with distractors.

- Classes come from a fixed catalogue (the same for every seed): single motions (raise both arms,
  wave, kick, squat, ...) at one speed, the same motions at double speed, then an arm motion combined
  with a leg/torso motion. Motions on one side pick the side per clip, so a mirrored clip is still
  the same class (the recipe's flip augmentation stays label-preserving).
- Per clip: random phase, speed (+-15 %), amplitude, length (+-20 % of ``--frames``), view yaw
  around the camera's angle, position, size, colours, idle sway, keypoint noise and scores. Body
  proportions depend on the performer, the view on the camera, so the X-Sub and X-View rules mean
  something.
- The RGB videos show the figure in a random bright colour on a dim textured background with
  static and moving distractors: no single pixel tells the class and one frame says little (a
  linear probe on one raw frame gets ~35% at 10 classes, a motion feature ~90%); the motion does.
- Names are NTU-style ``SsssCcccPpppRrrrAaaa`` (``label = A - 1``); the pickle holds the four NTU60
  splits, computed by the official X-Sub / X-View rules. About 4 in 5 clips of a class fall in
  ``xsub_train``, 2 in 3 in ``xview_train``.

Everything is a function of ``--seed`` (each clip has its own generator seeded by (seed, class, clip)),
so the same command writes the same annotations and the same decoded frames.
"""

from __future__ import annotations

import itertools
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from epam.data.errors import DataError
from epam.data.posec3d import XSUB_TRAIN_60, NTUName, ntu_splits
from epam.fileio import atomic_write_bytes

DEFAULT_OUT = "data/synthetic_demo"
PICKLE_NAME = "synthetic_2d.pkl"
FPS = 30
MAX_PER_CLASS = 6 * 999  # clip names use setups S001..S999, 6 clips per setup
XSUB_VAL_60 = tuple(p for p in range(1, 41) if p not in XSUB_TRAIN_60)
XSUB_TRAIN_LIST = tuple(sorted(XSUB_TRAIN_60))
CAMERA_YAW = {1: -0.7, 2: 0.0, 3: 0.7}  # radians; NTU's cameras look from -45, 0 and +45 degrees

# ------------------------------------------------------------------------------------------------
# body model: angles (T,) per joint -> COCO-17 points in 3D (x: the figure's left, y: up, z: forward)

ANGLES = ("l_arm_a", "l_arm_f", "l_elbow", "r_arm_a", "r_arm_f", "r_elbow",
          "l_leg_a", "l_leg_f", "l_knee", "r_leg_a", "r_leg_f", "r_knee",
          "torso_pitch", "torso_roll", "torso_twist", "head_nod", "head_turn", "root_x", "root_y", "root_yaw")
REST = {"l_arm_a": 0.15, "r_arm_a": 0.15, "l_leg_a": 0.05, "r_leg_a": 0.05}
HEAD_POINTS = np.array([[0.0, 0.13, 0.08], [0.035, 0.16, 0.06], [-0.035, 0.16, 0.06],
                        [0.075, 0.14, 0.0], [-0.075, 0.14, 0.0]])  # nose, eyes, ears, relative to the neck
BODY_HEIGHT = 1.6  # ankle to head top, in body units


@dataclass(frozen=True)
class Body:
    """A performer's proportions (body units)."""

    shoulder: float = 0.19
    hip: float = 0.10
    torso: float = 0.52
    upper_arm: float = 0.28
    forearm: float = 0.26
    thigh: float = 0.42
    shin: float = 0.40

    @classmethod
    def of_performer(cls, seed: int, performer: int) -> "Body":
        rng = np.random.default_rng([seed, 1_000_003, performer])
        base = cls()
        return cls(**{k: v * float(rng.uniform(0.9, 1.1)) for k, v in base.__dict__.items()})


def _rot_x(a: np.ndarray) -> np.ndarray:
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rot_z(a: np.ndarray) -> np.ndarray:
    c, s, z, o = np.cos(a), np.sin(a), np.zeros_like(a), np.ones_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def _direction(side: float, frontal: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Unit vectors (T, 3): hanging down at (0, 0); ``frontal`` swings outwards, ``forward`` to the front."""
    return np.stack([side * np.sin(frontal) * np.cos(forward), -np.cos(frontal) * np.cos(forward),
                     np.sin(forward)], -1)


def _apply(rot: np.ndarray, vec: np.ndarray) -> np.ndarray:
    return np.einsum("tij,tj->ti", rot, vec)


def skeleton_3d(angles: dict[str, np.ndarray], body: Body) -> np.ndarray:
    """COCO-17 joints (T, 17, 3) of the figure for per-frame ``angles``."""
    a = angles
    frames = len(a["root_x"])
    out = np.zeros((frames, 17, 3))
    pelvis = np.stack([a["root_x"], a["root_y"], np.zeros(frames)], -1)
    torso = _rot_y(a["torso_twist"]) @ _rot_z(a["torso_roll"]) @ _rot_x(a["torso_pitch"])
    neck = pelvis + _apply(torso, np.tile([0.0, body.torso + 0.03, 0.0], (frames, 1)))
    head = torso @ _rot_y(a["head_turn"]) @ _rot_x(-a["head_nod"])
    out[:, 0:5] = neck[:, None] + np.einsum("tij,kj->tki", head, HEAD_POINTS)
    for side_name, side, sh, el, wr, hp, kn, an in (("l", 1.0, 5, 7, 9, 11, 13, 15), ("r", -1.0, 6, 8, 10, 12, 14, 16)):
        shoulder = pelvis + _apply(torso, np.tile([side * body.shoulder, body.torso, 0.0], (frames, 1)))
        upper = _direction(side, a[f"{side_name}_arm_a"], a[f"{side_name}_arm_f"])
        fore = _direction(side, a[f"{side_name}_arm_a"] + a[f"{side_name}_elbow"], a[f"{side_name}_arm_f"])
        out[:, sh] = shoulder
        out[:, el] = shoulder + body.upper_arm * _apply(torso, upper)
        out[:, wr] = out[:, el] + body.forearm * _apply(torso, fore)
        hip = pelvis + np.array([side * body.hip, 0.0, 0.0])
        thigh = _direction(side, a[f"{side_name}_leg_a"], a[f"{side_name}_leg_f"])
        shin = _direction(side, a[f"{side_name}_leg_a"], a[f"{side_name}_leg_f"] - a[f"{side_name}_knee"])
        out[:, hp] = hip
        out[:, kn] = hip + body.thigh * thigh
        out[:, an] = out[:, kn] + body.shin * shin
    return out


def project(points: np.ndarray, yaw: np.ndarray, scale: float, center: tuple[float, float]) -> np.ndarray:
    """Orthographic view turned by ``yaw`` (T,): (T, 17, 3) -> image pixels (T, 17, 2), y down."""
    turned = np.einsum("tij,tkj->tki", _rot_y(yaw), points)
    return np.stack([center[0] + scale * turned[..., 0], center[1] - scale * turned[..., 1]], -1)


# ------------------------------------------------------------------------------------------------
# motions: each edits the angle curves given a pulse r in [0, 1], a wave w in [-1, 1], a side and an amplitude

Motion = Callable[[dict, np.ndarray, np.ndarray, str, float], None]


def _other(side: str) -> str:
    return "r" if side == "l" else "l"


def _raise_both(a: dict, r, w, s, k) -> None:
    a["l_arm_a"] += 2.5 * k * r
    a["r_arm_a"] += 2.5 * k * r


def _raise_one(a: dict, r, w, s, k) -> None:
    a[f"{s}_arm_a"] += 2.6 * k * r


def _wave(a: dict, r, w, s, k) -> None:
    a[f"{s}_arm_a"] += 2.2
    a[f"{s}_elbow"] += 0.5 + 0.7 * k * w


def _punch(a: dict, r, w, s, k) -> None:
    a[f"{s}_arm_f"] += 1.5 * k * r
    a[f"{s}_elbow"] += 1.8 * (1 - r)
    a[f"{s}_arm_a"] += 0.9 * (1 - r)


def _kick(a: dict, r, w, s, k) -> None:
    a[f"{s}_leg_f"] += 1.3 * k * r
    a[f"{s}_leg_a"] += 0.5 * k * r


def _march(a: dict, r, w, s, k) -> None:
    up, down = np.clip(w, 0, None), np.clip(-w, 0, None)
    a["l_leg_f"] += 1.3 * k * up
    a["l_knee"] += 1.6 * k * up
    a["r_leg_f"] += 1.3 * k * down
    a["r_knee"] += 1.6 * k * down
    a["l_arm_a"] += 0.6 * k * down
    a["r_arm_a"] += 0.6 * k * up


def _squat(a: dict, r, w, s, k) -> None:
    for side in "lr":
        a[f"{side}_leg_f"] += 1.3 * k * r
        a[f"{side}_knee"] += 2.2 * k * r
        a[f"{side}_leg_a"] += 0.35 * k * r
    a["root_y"] -= 0.45 * k * r
    a["torso_pitch"] += 0.4 * k * r


def _bow(a: dict, r, w, s, k) -> None:
    a["torso_pitch"] += 1.2 * k * r
    a["head_nod"] += 0.3 * k * r
    a["l_arm_f"] += 0.9 * k * r
    a["r_arm_f"] += 0.9 * k * r


def _jump(a: dict, r, w, s, k) -> None:
    a["root_y"] += 0.35 * k * r
    a["l_arm_a"] += 1.0 * k * r
    a["r_arm_a"] += 1.0 * k * r
    a["l_knee"] += 0.5 * k * (1 - r)
    a["r_knee"] += 0.5 * k * (1 - r)


def _side_step(a: dict, r, w, s, k) -> None:
    a["root_x"] += 0.45 * k * w
    a["l_leg_a"] += 0.35 * k * np.clip(w, 0, None)
    a["r_leg_a"] += 0.35 * k * np.clip(-w, 0, None)


def _arms_alternate(a: dict, r, w, s, k) -> None:
    a["l_arm_a"] += 1.3 * k * (1 + w)
    a["r_arm_a"] += 1.3 * k * (1 - w)


def _side_bend(a: dict, r, w, s, k) -> None:
    a["torso_roll"] += 0.6 * k * w
    a["l_arm_a"] += 0.4 * k * np.clip(-w, 0, None)
    a["r_arm_a"] += 0.4 * k * np.clip(w, 0, None)


def _touch_head(a: dict, r, w, s, k) -> None:
    a[f"{s}_arm_a"] += 2.4 * k * r
    a[f"{s}_elbow"] += 2.2 * k * r


def _clap(a: dict, r, w, s, k) -> None:
    for side in "lr":
        a[f"{side}_arm_f"] += 1.2
        a[f"{side}_arm_a"] += 0.2 + 0.9 * k * r


def _twist(a: dict, r, w, s, k) -> None:
    a["torso_twist"] += 0.9 * k * w
    a["l_arm_a"] += 0.8
    a["r_arm_a"] += 0.8


def _leg_side_raise(a: dict, r, w, s, k) -> None:
    a[f"{s}_leg_a"] += 0.9 * k * r
    a[f"{_other(s)}_arm_a"] += 0.5 * k * r


def _arm_circles(a: dict, r, w, s, k) -> None:
    for side in "lr":  # (1 - 2 r, w) = (cos, sin) of the motion's phase: the hands draw circles
        a[f"{side}_arm_a"] += 1.4 + 0.6 * k * (1 - 2 * r)
        a[f"{side}_arm_f"] += 0.6 * k * w


def _nod(a: dict, r, w, s, k) -> None:
    a["head_nod"] += 0.6 * k * w
    a["torso_pitch"] += 0.25 * k * np.clip(w, 0, None)


def _turn(a: dict, r, w, s, k) -> None:
    a["root_yaw"] += (1.2 if s == "l" else -1.2) * k * r


def _reach_up(a: dict, r, w, s, k) -> None:
    for side in "lr":
        a[f"{side}_arm_a"] += 2.9 * k * r
        a[f"{side}_elbow"] -= 0.1 * r
    a["root_y"] += 0.08 * k * r


# name -> (motion, group); group "arm" motions combine with "body" motions into more classes
MOTIONS: dict[str, tuple[Motion, str]] = {
    "raise both arms": (_raise_both, "arm"),
    "kick": (_kick, "body"),
    "wave one hand": (_wave, "arm"),
    "squat": (_squat, "body"),
    "punch": (_punch, "arm"),
    "march": (_march, "body"),
    "bow": (_bow, "body"),
    "jump": (_jump, "body"),
    "side step": (_side_step, "body"),
    "clap": (_clap, "arm"),
    "raise one arm": (_raise_one, "arm"),
    "alternate arms": (_arms_alternate, "arm"),
    "side bend": (_side_bend, "body"),
    "touch head": (_touch_head, "arm"),
    "twist": (_twist, "body"),
    "leg side raise": (_leg_side_raise, "body"),
    "arm circles": (_arm_circles, "arm"),
    "nod": (_nod, "body"),
    "turn": (_turn, "body"),
    "reach up": (_reach_up, "arm"),
}


@dataclass(frozen=True)
class ClassSpec:
    """One class: the motions it combines and their cycles per clip."""

    motions: tuple[str, ...]
    cycles: float

    @property
    def name(self) -> str:
        return " + ".join(self.motions) + (" (fast)" if self.cycles > 1 else "")


def class_catalogue() -> list[ClassSpec]:
    """Every class the generator can make, in label order (independent of the seed)."""
    singles = [ClassSpec((name,), 1.0) for name in MOTIONS]
    fast = [ClassSpec((name,), 2.0) for name in MOTIONS]
    arms = [n for n, (_, g) in MOTIONS.items() if g == "arm"]
    bodies = [n for n, (_, g) in MOTIONS.items() if g == "body"]
    pairs = list(itertools.product(arms, bodies))
    order = np.random.default_rng(20240601).permutation(len(pairs))  # fixed: same classes for every seed
    return singles + fast + [ClassSpec(pairs[i], 1.0) for i in order]


# ------------------------------------------------------------------------------------------------
# one clip


@dataclass(frozen=True)
class ClipSpec:
    """Where a clip sits in the dataset: its label, its NTU name and its generator seed."""

    label: int
    index: int
    name: NTUName
    seed: int

    @property
    def frame_dir(self) -> str:
        return str(self.name)


def clip_name(label: int, index: int) -> NTUName:
    """A unique NTU name for clip ``index`` of class ``label``: 1 in 5 clips by an X-Sub val performer."""
    group = (index // 5 + label) % len(XSUB_VAL_60)
    if index % 5 == 4:
        performer = XSUB_VAL_60[group]
    else:
        performer = XSUB_TRAIN_LIST[(index - index // 5 + label) % len(XSUB_TRAIN_LIST)]
    return NTUName(setup=index // 6 + 1, camera=index % 3 + 1, performer=performer,
                   replication=(index // 3) % 2 + 1, action=label + 1)


def _smooth_noise(rng: np.random.Generator, u: np.ndarray, amplitude: float) -> np.ndarray:
    """Slow random sway: two low-frequency sinusoids with random phases."""
    out = np.zeros_like(u)
    for freq in (0.5, 1.3):
        out += amplitude * rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * freq * u + rng.uniform(0, 2 * np.pi))
    return out


def motion_angles(spec: ClassSpec, frames: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Joint-angle curves (T,) for one clip of class ``spec``."""
    u = np.linspace(0.0, 1.0, frames)
    angles = {name: REST.get(name, 0.0) + _smooth_noise(rng, u, 0.06) for name in ANGLES}
    angles["root_x"] *= 0.5
    angles["root_y"] *= 0.3
    for motion in spec.motions:
        cycles = spec.cycles * rng.uniform(0.85, 1.15)
        phase = 2 * np.pi * cycles * u + rng.uniform(0, 2 * np.pi)
        pulse, wave = 0.5 - 0.5 * np.cos(phase), np.sin(phase)
        side = "l" if rng.random() < 0.5 else "r"
        MOTIONS[motion][0](angles, pulse, wave, side, float(rng.uniform(0.8, 1.1)))
    return angles


@dataclass
class Clip:
    """A generated clip: the annotation arrays and what the renderer needs."""

    keypoint: np.ndarray  # (1, T, 17, 2) float32 pixels
    score: np.ndarray  # (1, T, 17) float32
    size: int
    style_seed: int


def make_clip(spec: ClipSpec, catalogue: list[ClassSpec], frames: int, size: int, seed: int) -> Clip:
    """Keypoints and scores of one clip (pixels of a ``size`` x ``size`` frame)."""
    rng = np.random.default_rng(spec.seed)
    length = max(4, int(round(frames * rng.uniform(0.8, 1.2))))
    angles = motion_angles(catalogue[spec.label], length, rng)
    body = Body.of_performer(seed, spec.name.performer)
    points = skeleton_3d(angles, body)
    yaw = CAMERA_YAW[spec.name.camera] + rng.uniform(-0.2, 0.2) + angles["root_yaw"]
    scale = size * rng.uniform(0.55, 0.65) / BODY_HEIGHT
    center = (size / 2 + rng.uniform(-0.06, 0.06) * size, size / 2 + rng.uniform(-0.05, 0.05) * size)
    kp = project(points, yaw, scale, center)
    kp += rng.normal(0.0, 0.004 * size, kp.shape)
    score = rng.uniform(0.75, 1.0, kp.shape[:2])
    glitch = rng.random(kp.shape[:2]) < 0.02  # occasional detector errors: off and unsure
    score[glitch] = rng.uniform(0.05, 0.35, int(glitch.sum()))
    kp[glitch] += rng.normal(0.0, 0.03 * size, (int(glitch.sum()), 2))
    kp = np.clip(kp, 0.0, size - 1.0)
    return Clip(kp[None].astype(np.float32), score[None].astype(np.float32), size, int(rng.integers(2 ** 31)))


# ------------------------------------------------------------------------------------------------
# rendering

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


# ------------------------------------------------------------------------------------------------
# the dataset


@dataclass(frozen=True)
class Settings:
    """What to generate and where."""

    ann_file: Path
    video_root: Path
    num_classes: int = 60
    per_class: int = 50
    frames: int = 40
    size: int = 64
    seed: int = 0
    codec: str | None = None


def clip_specs(num_classes: int, per_class: int, seed: int) -> list[ClipSpec]:
    """Every clip of the dataset, class by class."""
    return [ClipSpec(label, index, clip_name(label, index), hash_seed(seed, label, index))
            for label in range(num_classes) for index in range(per_class)]


def hash_seed(*parts: int) -> int:
    """A 63-bit seed mixing ``parts`` (stable across runs and platforms)."""
    return int(np.random.SeedSequence(list(parts)).generate_state(1, np.uint64)[0])


def annotation(spec: ClipSpec, clip: Clip) -> dict:
    """The PoseC3D entry of a clip."""
    return {"frame_dir": spec.frame_dir, "label": spec.label, "img_shape": (clip.size, clip.size),
            "original_shape": (clip.size, clip.size), "total_frames": int(clip.keypoint.shape[1]),
            "keypoint": clip.keypoint, "keypoint_score": clip.score}


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)


def generate(settings: Settings, progress: Callable[[int, int], None] | None = None) -> dict:
    """Write the videos, then the annotation pickle (last, so a finished pickle means a finished set)."""
    from epam.data.video import pick_codec, write_video

    catalogue = class_catalogue()
    if not 1 <= settings.num_classes <= len(catalogue):
        raise DataError(f"--num-classes must be in 1..{len(catalogue)}, got {settings.num_classes}")
    if not 1 <= settings.per_class <= MAX_PER_CLASS or settings.frames < 4 or settings.size < 16:
        raise DataError(f"need 1 <= --per-class <= {MAX_PER_CLASS}, --frames >= 4 and --size >= 16")
    codec = settings.codec or pick_codec()
    specs = clip_specs(settings.num_classes, settings.per_class, settings.seed)
    annotations = []
    for done, spec in enumerate(specs, 1):
        clip = make_clip(spec, catalogue, settings.frames, settings.size, settings.seed)
        write_video(settings.video_root / f"{spec.frame_dir}_rgb.mp4", render_clip(clip), FPS, codec)
        annotations.append(annotation(spec, clip))
        if progress:
            progress(done, len(specs))
    data = {"split": ntu_splits([a["frame_dir"] for a in annotations], "ntu60"), "annotations": annotations}
    _write_atomic(settings.ann_file, pickle.dumps(data, protocol=4))
    names = "".join(f"{i}\t{catalogue[i].name}\n" for i in range(settings.num_classes))
    _write_atomic(settings.ann_file.with_name("classes.txt"), names.encode())
    return data
