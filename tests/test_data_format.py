"""Annotation pickles: the restricted unpickler, both PoseC3D layouts, splits and per-entry validation."""

from __future__ import annotations

import logging
import os
import pickle
import subprocess

import numpy as np
import pytest

from epam.data.errors import DataError
from epam.data.posec3d import (
    check_entry,
    load_split,
    ntu_split_names,
    ntu_splits,
    parse_ntu_name,
    split_file,
)
from epam.data.safe_pickle import safe_load, safe_loads


def entry(frame_dir: str, label: int = 0, persons: int = 1, frames: int = 8) -> dict:
    rng = np.random.default_rng(abs(hash(frame_dir)) % 2 ** 32)
    return {
        "frame_dir": frame_dir, "label": label, "img_shape": (1080, 1920), "original_shape": (1080, 1920),
        "total_frames": frames,
        "keypoint": rng.uniform(100, 900, (persons, frames, 17, 2)).astype(np.float16),
        "keypoint_score": rng.uniform(0, 1, (persons, frames, 17)).astype(np.float16),
    }


NAMES = ["S001C001P001R001A001", "S001C002P003R001A002", "S002C003P002R002A001", "S001C001P007R001A003"]


def posec3d_file(path, entries: list[dict]) -> None:
    data = {"split": ntu_splits([e["frame_dir"] for e in entries]), "annotations": entries}
    path.write_bytes(pickle.dumps(data, protocol=4))


# -- restricted unpickler --------------------------------------------------------------------------


class _Payload:
    """Unpickling this calls ``func(*args)``: the classic pickle code-execution trick."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


@pytest.mark.parametrize("func", [os.system, subprocess.call, eval])
def test_hostile_pickle_is_refused_and_nothing_runs(tmp_path, func):
    marker = tmp_path / "pwned"
    command = f"touch {marker}"
    args = (command,) if func is not subprocess.call else (["touch", str(marker)],)
    if func is eval:
        args = (f"open({str(marker)!r}, 'w').close()",)
    bad = tmp_path / "ntu60_2d.pkl"
    bad.write_bytes(pickle.dumps({"split": {}, "annotations": [_Payload(func, *args)]}))
    with pytest.raises(DataError) as err:
        safe_load(bad)
    message = str(err.value)
    assert "refused global" in message and str(bad) in message and "malicious" in message
    assert "\n" not in message
    assert not marker.exists()
    # the same bytes through plain pickle would have run the payload: the test is meaningful
    pickle.loads(bad.read_bytes())
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_numpy_arrays_scalars_and_containers_round_trip(protocol):
    obj = {
        "a16": np.arange(6, dtype=np.float16).reshape(2, 3), "a32": np.ones((2, 2), np.float32),
        "i": np.int64(7), "f": np.float32(1.5), "strs": np.array(["x", "yz"]), "fortran": np.asfortranarray(np.eye(3)),
        "tuple": (1080, 1920), "set": {1, 2}, "list": [1, "two", 3.0, None, True], "bytes": b"\x00\x01",
    }
    back = safe_loads(pickle.dumps(obj, protocol=protocol))
    assert back.keys() == obj.keys()
    for key, value in obj.items():
        if isinstance(value, np.ndarray):
            assert back[key].dtype == value.dtype and np.array_equal(back[key], value)
        else:
            assert back[key] == value


def test_numpy1_style_global_names_are_accepted():
    data = pickle.dumps(np.arange(4, dtype=np.float32), protocol=2)
    assert b"numpy._core.multiarray" in data
    old = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")  # what numpy 1.x writes
    assert np.array_equal(safe_loads(old), np.arange(4, dtype=np.float32))


def test_corrupt_and_missing_pickles_are_clear_errors(tmp_path):
    bad = tmp_path / "cut.pkl"
    bad.write_bytes(pickle.dumps({"a": np.zeros(100)})[:40])
    with pytest.raises(DataError, match="cut.pkl"):
        safe_load(bad)
    with pytest.raises(DataError, match="not found.*nothere.pkl"):
        safe_load(tmp_path / "nothere.pkl")


# -- NTU names and split rules ---------------------------------------------------------------------


def test_ntu_names_and_split_rules():
    name = parse_ntu_name("S017C003P040R002A060")
    assert (name.setup, name.camera, name.performer, name.replication, name.action) == (17, 3, 40, 2, 60)
    assert str(name) == "S017C003P040R002A060"
    assert parse_ntu_name("S01C001P001R001A001") is None and parse_ntu_name("video_12") is None
    assert ntu_split_names("S001C001P001R001A001") == ["xsub_train", "xview_val"]
    assert ntu_split_names("S001C002P003R001A001") == ["xsub_val", "xview_train"]
    assert ntu_split_names("S001C003P038R001A001") == ["xsub_train", "xview_train"]
    assert ntu_split_names("S002C001P045R001A100", "ntu120") == ["xsub_train", "xset_train"]
    assert ntu_split_names("S003C001P044R001A100", "ntu120") == ["xsub_val", "xset_val"]
    splits = ntu_splits(NAMES)
    assert set(splits) == {"xsub_train", "xsub_val", "xview_train", "xview_val"}
    assert splits["xsub_val"] == ["S001C002P003R001A002", "S001C001P007R001A003"]
    with pytest.raises(DataError, match="not an NTU name"):
        ntu_split_names("clip_001")


# -- the two layouts -------------------------------------------------------------------------------


def test_posec3d_dict_layout_selects_the_split(tmp_path):
    path = tmp_path / "ntu60_2d.pkl"
    posec3d_file(path, [entry(n, label=i % 3) for i, n in enumerate(NAMES)])
    train = load_split(path, "xsub_train", num_classes=3)
    assert [e["frame_dir"] for e in train.entries] == ["S001C001P001R001A001", "S002C003P002R002A001"]
    assert not train.skipped and train.missing == 0
    assert [e["frame_dir"] for e in load_split(path, "xview_val").entries] == [NAMES[0], NAMES[3]]
    with pytest.raises(DataError, match="no split 'xset_train'.*xsub_train"):
        load_split(path, "xset_train")


def test_empty_split_names_the_split_and_what_to_check(tmp_path):
    path = tmp_path / "ntu60_2d.pkl"
    entries = [entry(n, label=i % 3) for i, n in enumerate(NAMES)]
    data = {"split": {**ntu_splits([e["frame_dir"] for e in entries]), "xsub_val": []}, "annotations": entries}
    path.write_bytes(pickle.dumps(data, protocol=4))
    with pytest.raises(DataError) as err:
        load_split(path, "xsub_val", num_classes=3)
    message = str(err.value)
    assert "split xsub_val has no annotations" in message and "ntu60_2d.pkl" in message
    assert "data.*_split" in message and "\n" not in message
    assert len(load_split(path, "xsub_train", num_classes=3)) == 2  # the other splits still load


def test_per_split_list_layout_and_sibling_file(tmp_path):
    train = [entry(NAMES[0]), entry(NAMES[2])]
    val = [entry(NAMES[1])]
    (tmp_path / "ntu60_xsub_train.pkl").write_bytes(pickle.dumps(train))
    (tmp_path / "ntu60_xsub_val.pkl").write_bytes(pickle.dumps(val))
    ann = tmp_path / "ntu60_xsub_train.pkl"
    assert [e["frame_dir"] for e in load_split(ann, "xsub_train").entries] == [NAMES[0], NAMES[2]]
    assert [e["frame_dir"] for e in load_split(ann, "xsub_val").entries] == [NAMES[1]]
    assert split_file(tmp_path / "ntu60_{split}.pkl", "xsub_val") == tmp_path / "ntu60_xsub_val.pkl"
    assert len(load_split(tmp_path / "ntu60_{split}.pkl", "xsub_val")) == 1
    # a per-split list cannot stand in for another split
    (tmp_path / "ntu60_xsub_val.pkl").unlink()
    with pytest.raises(DataError, match="holds split xsub_train only"):
        load_split(ann, "xsub_val")


def test_wrong_top_level_and_missing_file(tmp_path):
    path = tmp_path / "odd.pkl"
    path.write_bytes(pickle.dumps({"annotations": [entry(NAMES[0])]}))
    with pytest.raises(DataError, match="no 'split' dict"):
        load_split(path, "xsub_train")
    path.write_bytes(pickle.dumps(42))
    with pytest.raises(DataError, match="got int"):
        load_split(path, "xsub_train")
    with pytest.raises(DataError, match="make-synthetic"):
        load_split(tmp_path / "absent.pkl", "xsub_train")


# -- validation ------------------------------------------------------------------------------------


def _bad_entries() -> dict[str, tuple[dict, str]]:
    e = {name: entry(f"S001C001P001R001A00{i}") for i, name in enumerate(
        ["label", "shape", "score", "frames", "missing", "img"], start=1)}
    e["label"]["label"] = 60
    e["shape"]["keypoint"] = np.zeros((1, 8, 18, 2))
    e["score"]["keypoint_score"] = np.zeros((1, 7, 17))
    e["frames"]["total_frames"] = 9
    del e["missing"]["keypoint_score"]
    e["img"]["img_shape"] = (1080,)
    reasons = {"label": "out of range", "shape": "not (M, T, 17, 2)", "score": "does not match",
               "frames": "total_frames 9", "missing": "missing key(s) keypoint_score", "img": "img_shape"}
    return {k: (e[k], reasons[k]) for k in e}


def test_check_entry_reasons():
    for name, (bad, reason) in _bad_entries().items():
        assert reason in check_entry(bad, num_classes=60), name
    assert check_entry(entry(NAMES[0], persons=2), num_classes=60) is None
    assert "not a dict" in check_entry(["a"])
    assert "not an integer" in check_entry({**entry(NAMES[0]), "label": 1.0})


def test_bad_entries_are_skipped_counted_and_named(tmp_path, caplog):
    good = [entry(f"S001C001P001R{r:03d}A001") for r in range(1, 10)]
    bad = _bad_entries()
    path = tmp_path / "ntu60_xsub_train.pkl"
    path.write_bytes(pickle.dumps(good + [b for b, _ in bad.values()]))
    with caplog.at_level(logging.WARNING, logger="epam.data"):
        result = load_split(path, "xsub_train", num_classes=60)
    assert len(result) == 9 and len(result.skipped) == 6
    for (frame_dir, reason), (b, expected) in zip(result.skipped, bad.values()):
        assert frame_dir == b["frame_dir"] and expected in reason
        assert any(frame_dir in r.message and expected in r.message for r in caplog.records)
    assert any("6 of 15 entries" in r.message for r in caplog.records)


def test_mostly_bad_file_is_an_error_naming_num_classes(tmp_path):
    path = tmp_path / "ntu120_xsub_train.pkl"
    path.write_bytes(pickle.dumps([entry(NAMES[0], label=100), entry(NAMES[1], label=110), entry(NAMES[2])]))
    with pytest.raises(DataError, match="2 of 3 entries.*model.num_classes"):
        load_split(path, "xsub_train", num_classes=60)
