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

This module answers "which clips make the dataset, and where do they go?": clip names and seeds,
one clip's keypoints (``make_clip``), the annotation pickle and the videos (``generate``). The
motion catalogue and body model are in ``epam.data.synthetic_motions``, the drawing in
``epam.data.synthetic_render``; their public names are importable from here too.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from epam.data.errors import DataError
from epam.data.posec3d import XSUB_TRAIN_60, NTUName, ntu_splits
from epam.data.synthetic_motions import (ANGLES, BODY_HEIGHT, HEAD_POINTS, MOTIONS, REST, Body, ClassSpec,
                                         Motion, class_catalogue, motion_angles, project, skeleton_3d)
from epam.data.synthetic_render import (FIGURE_LEVELS, FIGURE_SEGMENTS, HEAD_RADIUS, LIMB_RADIUS, SCENE_LEVELS,
                                        Clip, render_clip)
from epam.fileio import atomic_write_bytes

__all__ = ["ANGLES", "BODY_HEIGHT", "CAMERA_YAW", "DEFAULT_OUT", "FIGURE_LEVELS", "FIGURE_SEGMENTS", "FPS",
           "HEAD_POINTS", "HEAD_RADIUS", "LIMB_RADIUS", "MAX_PER_CLASS", "MOTIONS", "PICKLE_NAME", "REST",
           "SCENE_LEVELS", "XSUB_TRAIN_LIST", "XSUB_VAL_60", "Body", "ClassSpec", "Clip", "ClipSpec", "Motion",
           "Settings", "annotation", "class_catalogue", "clip_name", "clip_specs", "generate", "hash_seed",
           "make_clip", "motion_angles", "project", "render_clip", "skeleton_3d"]

DEFAULT_OUT = "data/synthetic_demo"
PICKLE_NAME = "synthetic_2d.pkl"
FPS = 30
MAX_PER_CLASS = 6 * 999  # clip names use setups S001..S999, 6 clips per setup
XSUB_VAL_60 = tuple(p for p in range(1, 41) if p not in XSUB_TRAIN_60)
XSUB_TRAIN_LIST = tuple(sorted(XSUB_TRAIN_60))
CAMERA_YAW = {1: -0.7, 2: 0.0, 3: 0.7}  # radians; NTU's cameras look from -45, 0 and +45 degrees


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
