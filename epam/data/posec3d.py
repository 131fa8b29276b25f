"""PoseC3D skeleton annotations: the NTU60/120 pickle layouts, split rules and per-entry validation.

Two layouts are read (reference §4):

- the PoseC3D file (``ntu60_2d.pkl``): ``{"split": {name: [frame_dir, ...]}, "annotations": [entry, ...]}``;
- EPAM's per-split files (``ntu60_xsub_train.pkl``): a plain list of entries holding one split.
  ``data.ann_file`` may name one of them (its sibling for the other split is found by replacing the
  split name in the file name) or use a ``{split}`` placeholder (``ntu60_{split}.pkl``).

An entry is a dict with ``frame_dir``, ``label``, ``img_shape``, ``total_frames``, ``keypoint``
(M, T, 17, 2) and ``keypoint_score`` (M, T, 17). Entries that fail validation are skipped, each
reported once by ``frame_dir`` with the reason; a file where most entries fail is an error.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from epam.data.errors import DataError
from epam.data.safe_pickle import safe_load

log = logging.getLogger("epam.data")

NUM_KEYPOINTS = 17
SPLITS_NTU60 = ("xsub_train", "xsub_val", "xview_train", "xview_val")
SPLITS_NTU120 = ("xsub_train", "xsub_val", "xset_train", "xset_val")
_SPLIT_RE = re.compile(r"(xsub|xview|xset)_(train|val)")
_NTU_NAME_RE = re.compile(r"^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})$")

# NTU RGB+D cross-subject training performers (60: the original paper; 120: its extension).
XSUB_TRAIN_60 = frozenset({1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38})
XSUB_TRAIN_120 = XSUB_TRAIN_60 | frozenset({
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89,
    91, 92, 93, 94, 95, 97, 98, 100, 103})
XVIEW_TRAIN_CAMERAS = frozenset({2, 3})
MAX_WARNINGS = 20
MAX_BAD_FRACTION = 0.5


@dataclass(frozen=True)
class NTUName:
    """The fields of an NTU ``SsssCcccPpppRrrrAaaa`` sample name."""

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    def __str__(self) -> str:
        return (f"S{self.setup:03d}C{self.camera:03d}P{self.performer:03d}"
                f"R{self.replication:03d}A{self.action:03d}")


def parse_ntu_name(frame_dir: str) -> NTUName | None:
    """Parse an NTU sample name; ``None`` when ``frame_dir`` does not follow the pattern."""
    match = _NTU_NAME_RE.match(frame_dir)
    return NTUName(*(int(g) for g in match.groups())) if match else None


def ntu_split_names(frame_dir: str, dataset: str = "ntu60") -> list[str]:
    """The NTU split names this sample belongs to under the X-Sub / X-View (or X-Set) rules."""
    name = parse_ntu_name(frame_dir)
    if name is None:
        raise DataError(f"{frame_dir!r} is not an NTU name SsssCcccPpppRrrrAaaa (cannot derive its split)")
    subjects = XSUB_TRAIN_120 if dataset == "ntu120" else XSUB_TRAIN_60
    out = ["xsub_train" if name.performer in subjects else "xsub_val"]
    if dataset == "ntu120":
        out.append("xset_train" if name.setup % 2 == 0 else "xset_val")
    else:
        out.append("xview_train" if name.camera in XVIEW_TRAIN_CAMERAS else "xview_val")
    return out


def ntu_splits(frame_dirs: Iterable[str], dataset: str = "ntu60") -> dict[str, list[str]]:
    """The PoseC3D ``split`` dict for these samples (every split present, possibly empty)."""
    names = SPLITS_NTU120 if dataset == "ntu120" else SPLITS_NTU60
    out: dict[str, list[str]] = {n: [] for n in names}
    for frame_dir in frame_dirs:
        for split in ntu_split_names(frame_dir, dataset):
            out[split].append(frame_dir)
    return out


# ------------------------------------------------------------------------------------------------
# validation


def _positive_pair(value: Any) -> bool:
    return (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, (int, np.integer)) and v > 0 for v in value))


def check_entry(entry: Any, num_classes: int | None = None) -> str | None:
    """Why ``entry`` is unusable, or ``None`` when it is a valid annotation."""
    if not isinstance(entry, dict):
        return f"not a dict but {type(entry).__name__}"
    missing = [k for k in ("frame_dir", "label", "img_shape", "total_frames", "keypoint", "keypoint_score")
               if k not in entry]
    if missing:
        return "missing key(s) " + ", ".join(missing)
    label = entry["label"]
    if not isinstance(label, (int, np.integer)) or isinstance(label, bool):
        return f"label {label!r} is not an integer"
    if label < 0 or (num_classes is not None and label >= num_classes):
        return f"label {label} out of range [0, {num_classes})"
    if not _positive_pair(entry["img_shape"]):
        return f"img_shape {entry['img_shape']!r} is not (height, width)"
    kp, score = entry["keypoint"], entry["keypoint_score"]
    if not isinstance(kp, np.ndarray) or kp.ndim != 4 or kp.shape[2:] != (NUM_KEYPOINTS, 2):
        return f"keypoint shape {getattr(kp, 'shape', type(kp).__name__)} is not (M, T, 17, 2)"
    if kp.shape[0] < 1 or kp.shape[1] < 1:
        return f"keypoint shape {kp.shape} has no person or no frame"
    if not isinstance(score, np.ndarray) or score.shape != kp.shape[:3]:
        return f"keypoint_score shape {getattr(score, 'shape', None)} does not match keypoint {kp.shape[:3]}"
    if not np.issubdtype(kp.dtype, np.number) or not np.issubdtype(score.dtype, np.number):
        return "keypoint or keypoint_score is not numeric"
    if entry["total_frames"] != kp.shape[1]:
        return f"total_frames {entry['total_frames']} != keypoint frames {kp.shape[1]}"
    return None


@dataclass
class AnnotationSet:
    """The valid entries of one split, plus what was skipped and why."""

    entries: list[dict]
    path: Path
    split: str
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (frame_dir, reason)
    missing: int = 0  # split names with no annotation

    def __len__(self) -> int:
        return len(self.entries)


def _entry_name(entry: Any, index: int) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("frame_dir"), str):
        return entry["frame_dir"]
    return f"<entry {index}>"


def validate_entries(raw: list, path: Path, split: str, num_classes: int | None = None) -> AnnotationSet:
    """Keep the valid entries; warn about (and count) the others; fail when most are bad."""
    out = AnnotationSet([], path, split)
    for index, entry in enumerate(raw):
        reason = check_entry(entry, num_classes)
        if reason is None:
            out.entries.append(entry)
            continue
        out.skipped.append((_entry_name(entry, index), reason))
        if len(out.skipped) <= MAX_WARNINGS:
            log.warning("%s: skipping %s (%s)", path, _entry_name(entry, index), reason)
    bad = len(out.skipped)
    if raw and bad > MAX_BAD_FRACTION * len(raw):
        name, reason = out.skipped[0]
        hint = " or model.num_classes" if "out of range" in reason else ""
        raise DataError(f"{path}: {bad} of {len(raw)} entries in split {split} are invalid "
                        f"(first: {name}: {reason}); check the file{hint}")
    if bad:
        log.warning("%s: %d of %d entries in split %s skipped as invalid", path, bad, len(raw), split)
    if not out.entries:
        raise DataError(f"{path}: split {split} has no annotations (check data.*_split and the file)")
    return out


# ------------------------------------------------------------------------------------------------
# files and splits


def split_file(ann_file: str | Path, split: str) -> Path:
    """The file holding ``split``: fills a ``{split}`` placeholder, or swaps the split name in a per-split file name."""
    text = str(ann_file)
    if "{split}" in text:
        return Path(text.replace("{split}", split))
    path = Path(text)
    found = _SPLIT_RE.search(path.name)
    if found and found.group(0) != split:
        sibling = path.with_name(path.name.replace(found.group(0), split))
        if sibling.exists():
            return sibling
    return path


def _select(data: Any, path: Path, split: str) -> list:
    """The raw entries of ``split`` from either layout."""
    if isinstance(data, dict) and "annotations" in data:
        annotations = data["annotations"]
        splits = data.get("split")
        if not isinstance(annotations, list):
            raise DataError(f"{path}: 'annotations' is {type(annotations).__name__}, not a list (not a PoseC3D file)")
        if not isinstance(splits, dict):
            raise DataError(f"{path}: no 'split' dict (not a PoseC3D file; for a per-split list pickle "
                            "set data.ann_file to it)")
        if split not in splits:
            raise DataError(f"{path}: no split {split!r}; the file has {', '.join(map(str, splits))} "
                            "(set data.train_split / data.val_split)")
        wanted = set(splits[split])
        return [a for a in annotations if isinstance(a, dict) and a.get("frame_dir") in wanted]
    if isinstance(data, list):
        found = _SPLIT_RE.search(path.name)
        if found and found.group(0) != split:
            raise DataError(f"{path} holds split {found.group(0)} only (a per-split list); put the {split} file "
                            f"beside it as {path.name.replace(found.group(0), split)} or set data.ann_file "
                            f"to a '{{split}}' pattern")
        return data
    raise DataError(f"{path}: expected a PoseC3D dict with 'split' and 'annotations' or a list of "
                    f"annotations, got {type(data).__name__}")


def load_split(ann_file: str | Path, split: str, num_classes: int | None = None) -> AnnotationSet:
    """Load and validate the annotations of one split from either layout."""
    path = split_file(ann_file, split)
    if not path.exists():
        raise DataError(f"annotation file not found: {path} (check data.ann_file; for the demo data run "
                        "`epam make-synthetic`)")
    data = safe_load(path)
    raw = _select(data, path, split)
    out = validate_entries(raw, path, split, num_classes)
    if isinstance(data, dict):
        out.missing = len(set(data["split"][split])) - len({_entry_name(a, 0) for a in raw})
        if out.missing:
            log.warning("%s: %d names of split %s have no annotation", path, out.missing, split)
    return out
