"""`epam make-synthetic`: format, NTU naming and splits, determinism, and where the class signal is."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from epam.commands import make_synthetic
from epam.data import synthetic
from epam.data.posec3d import load_split, ntu_split_names, parse_ntu_name
from epam.data.safe_pickle import safe_load
from epam.data.video import read_video, video_info


def make(root, **kw) -> synthetic.Settings:
    settings = synthetic.Settings(ann_file=root / "synthetic_2d.pkl", video_root=root / "videos",
                                  **({"num_classes": 3, "per_class": 5, "frames": 12, "size": 32, "seed": 3} | kw))
    synthetic.generate(settings)
    return settings


def test_format_names_and_splits(tmp_path):
    settings = make(tmp_path)
    data = safe_load(settings.ann_file)
    assert set(data) == {"split", "annotations"}
    assert set(data["split"]) == {"xsub_train", "xsub_val", "xview_train", "xview_val"}
    annotations = data["annotations"]
    assert len(annotations) == 15 and len({a["frame_dir"] for a in annotations}) == 15
    for a in annotations:
        name = parse_ntu_name(a["frame_dir"])
        assert name is not None and a["label"] == name.action - 1
        assert a["keypoint"].shape == (1, a["total_frames"], 17, 2) and a["keypoint"].dtype == np.float32
        assert a["keypoint_score"].shape == (1, a["total_frames"], 17)
        assert a["img_shape"] == (32, 32) and 9 <= a["total_frames"] <= 15
        assert (a["keypoint"] >= 0).all() and (a["keypoint"] <= 31).all()
        assert video_info(settings.video_root / f"{a['frame_dir']}_rgb.mp4") == (a["total_frames"], 32, 32)
        for split in ntu_split_names(a["frame_dir"]):
            assert a["frame_dir"] in data["split"][split]
    # 4 of 5 clips per class in X-Sub train, 1 of 3 cameras in X-View val
    assert (len(data["split"]["xsub_train"]), len(data["split"]["xsub_val"])) == (12, 3)
    assert len(data["split"]["xview_val"]) == 6
    assert len(load_split(settings.ann_file, "xsub_val", num_classes=3)) == 3
    assert (settings.ann_file.parent / "classes.txt").read_text().splitlines()[0] == "0\traise both arms"


def test_same_seed_same_data_other_seed_other_data(tmp_path):
    a = make(tmp_path / "a")
    b = make(tmp_path / "b")
    c = make(tmp_path / "c", seed=4)
    ann_a, ann_b, ann_c = (safe_load(s.ann_file)["annotations"] for s in (a, b, c))
    assert safe_load(a.ann_file)["split"] == safe_load(b.ann_file)["split"]
    for x, y in zip(ann_a, ann_b):
        assert x.keys() == y.keys()
        for key in x:
            assert np.array_equal(x[key], y[key]) if isinstance(x[key], np.ndarray) else x[key] == y[key]
        frames = read_video(a.video_root / f"{x['frame_dir']}_rgb.mp4", range(x["total_frames"]))
        assert np.array_equal(frames, read_video(b.video_root / f"{x['frame_dir']}_rgb.mp4", range(x["total_frames"])))
    assert any(x["total_frames"] != z["total_frames"] or not np.array_equal(x["keypoint"], z["keypoint"])
               for x, z in zip(ann_a, ann_c))


def _probe_accuracy(features: np.ndarray, labels: np.ndarray, train: np.ndarray, classes: int, lam: float) -> float:
    """Ridge-regression linear probe on standardised features: accuracy on the held-out clips."""
    mean, std = features[train].mean(0), features[train].std(0) + 1e-6
    z = np.c_[(features - mean) / std, np.ones(len(features))]
    targets = np.eye(classes)[labels[train]]
    weights = np.linalg.solve(z[train].T @ z[train] + lam * np.eye(z.shape[1]), z[train].T @ targets)
    return float((np.argmax(z[~train] @ weights, 1) == labels[~train]).mean())


def _motion_feature(keypoint: np.ndarray) -> np.ndarray:
    """How much each joint moves relative to the hips, body-size normalised, and how the two sides co-move."""
    kp = keypoint[0]
    hips = kp[:, [11, 12]].mean(1, keepdims=True)
    height = np.ptp(kp[..., 1]) + 1e-3
    rel = (kp - hips) / height

    def corr(a, b):
        a, b = a - a.mean(), b - b.mean()
        return (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9)

    return np.concatenate([rel.std(0).ravel(), [np.ptp(hips[:, 0, 0]) / height, np.ptp(hips[:, 0, 1]) / height,
                                                corr(rel[:, 9, 1], rel[:, 10, 1]), corr(rel[:, 15, 1], rel[:, 16, 1])]])


def test_classes_are_in_the_motion_not_in_one_frame():
    """A linear probe on one raw RGB frame stays far below 90% (~35%); a simple motion feature reaches ~90%."""
    classes, per_class, seed = 10, 30, 0
    catalogue = synthetic.class_catalogue()
    raw, motion, labels, train = [], [], [], []
    for spec in synthetic.clip_specs(classes, per_class, seed):
        clip = synthetic.make_clip(spec, catalogue, 40, 32, seed)
        middle = clip.keypoint.shape[1] // 2
        one = dataclasses.replace(clip, keypoint=clip.keypoint[:, middle:middle + 1])  # render the middle frame only
        raw.append(synthetic.render_clip(one)[0].ravel() / 255.0)
        motion.append(_motion_feature(clip.keypoint))
        labels.append(spec.label)
        train.append("xsub_train" in ntu_split_names(spec.frame_dir))
    labels, train = np.array(labels), np.array(train)
    assert 50 <= (~train).sum() <= 70
    raw_acc = max(_probe_accuracy(np.array(raw), labels, train, classes, lam) for lam in (10.0, 1000.0))
    motion_acc = _probe_accuracy(np.array(motion), labels, train, classes, 1.0)
    print(f"probe accuracy: one raw frame {raw_acc:.2f}, motion feature {motion_acc:.2f}")
    assert raw_acc < 0.5, raw_acc
    assert motion_acc >= 0.8 and motion_acc > raw_acc + 0.3, (motion_acc, raw_acc)


def test_rgb_shows_the_figure_where_the_skeleton_is():
    catalogue = synthetic.class_catalogue()
    spec = synthetic.clip_specs(1, 1, 0)[0]
    clip = synthetic.make_clip(spec, catalogue, 8, 64, 0)
    frames = synthetic.render_clip(clip).astype(float)
    kp = clip.keypoint[0]
    # pixels on the shoulder-hip line share one colour (the figure's); it differs from the frame's average
    t = 3
    mid = ((kp[t, 5] + kp[t, 11]) / 2).round().astype(int)
    on_body = frames[t, mid[1], mid[0]]
    assert np.abs(on_body - frames[t].reshape(-1, 3).mean(0)).max() > 30
    shoulder = frames[t, int(round(kp[t, 5, 1])), int(round(kp[t, 5, 0]))]
    assert np.abs(on_body - shoulder).max() < 40


def test_catalogue_is_fixed_and_flip_invariant_by_construction():
    catalogue = synthetic.class_catalogue()
    assert len(catalogue) >= 60 and len({c.name for c in catalogue}) == len(catalogue)
    assert [c.name for c in catalogue[:3]] == ["raise both arms", "kick", "wave one hand"]
    assert catalogue == synthetic.class_catalogue()
    # one-sided motions choose their side per clip: both sides occur within a class
    spec = synthetic.ClassSpec(("raise one arm",), 1.0)
    lifted = set()
    for seed in range(12):
        angles = synthetic.motion_angles(spec, 20, np.random.default_rng(seed))
        lifted.add("l" if angles["l_arm_a"].max() > angles["r_arm_a"].max() else "r")
    assert lifted == {"l", "r"}


def test_command_line_with_out_and_with_config(tmp_path, capsys):
    out = tmp_path / "demo"
    argv = ["--out", str(out), "--num-classes", "2", "--per-class", "2", "--frames", "8", "--size", "32"]
    assert make_synthetic.main(argv) == 0
    assert (out / "synthetic_2d.pkl").is_file() and len(list((out / "videos").glob("*_rgb.mp4"))) == 4
    assert "wrote" in capsys.readouterr().out


@pytest.fixture
def demo_config(tmp_path, root):
    path = tmp_path / "cfg.yaml"
    path.write_text(f"_base_: {root / 'configs' / 'epam_synthetic_demo.yaml'}\n"
                    f"data:\n  ann_file: {tmp_path / 'd' / 'ann.pkl'}\n  video_root: {tmp_path / 'd' / 'vids'}\n")
    return path


def test_command_line_takes_paths_and_sizes_from_a_config(tmp_path, demo_config):
    assert make_synthetic.main(["--config", str(demo_config), "--per-class", "1"]) == 0
    data = safe_load(tmp_path / "d" / "ann.pkl")
    assert len(data["annotations"]) == 10  # model.num_classes of the demo config
    first = data["annotations"][0]
    assert first["img_shape"] == (64, 64)  # data.rgb_size
    assert 32 <= first["total_frames"] <= 48  # default 40 frames (>= 2 x pose_clip_len), +-20 %
    assert (tmp_path / "d" / "vids" / f"{first['frame_dir']}_rgb.mp4").is_file()


def test_command_line_errors_are_one_line(tmp_path, capsys, root):
    assert make_synthetic.main(["--out", str(tmp_path), "--num-classes", "1000"]) == 2
    err = capsys.readouterr().err
    assert "--num-classes must be in 1.." in err and err.count("\n") == 1
    assert make_synthetic.main(["--config", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
    ntu = root / "configs" / "epam_ntu60_baseline.yaml"
    assert make_synthetic.main(["--config", str(ntu), "--per-class", "1"]) == 2  # would overwrite data/ntu60/...
    assert "pass --out DIR" in capsys.readouterr().err
