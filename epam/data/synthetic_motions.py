"""The synthetic dataset's motion catalogue: which classes exist, and how a class moves a stick figure.

Answers "what does class N look like as keypoints?" up to the camera: a performer's ``Body``
(proportions), the joint-angle ``motion_angles`` of a class's clip, the COCO-17 ``skeleton_3d`` those
angles give and its orthographic ``project``-ion to pixels. ``class_catalogue()`` lists every class
in label order, the same for every seed: single ``MOTIONS`` at one speed, at double speed, then an
arm motion combined with a body motion. ``epam.data.synthetic`` builds the clips and the dataset.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable

import numpy as np


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
# one clip's angle curves


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

