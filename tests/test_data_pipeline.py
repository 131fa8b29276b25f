"""The joint recipe's transforms (sampling, compaction, resize, flip, normalisation) and the Dataset API."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from epam.data.errors import DataError
from epam.data.pipeline import (
    FLIP_ORDER,
    RGB_MEAN,
    RGB_STD,
    PipelineSettings,
    compact,
    compact_box,
    flip_keypoints,
    normalize_rgb,
    resize_keypoints,
    rgb_indices,
    sample_indices,
    transform,
    val_rng,
)

torch.set_num_threads(1)


# -- index sampling --------------------------------------------------------------------------------


@pytest.mark.parametrize("frames", [96, 97, 150, 301])
def test_uniform_sampling_one_frame_per_segment(frames):
    rng = np.random.default_rng(0)
    for _ in range(20):
        inds = sample_indices(frames, 48, rng)
        bounds = np.arange(49) * frames // 48
        assert len(inds) == 48
        assert np.all(inds >= bounds[:-1]) and np.all(inds < bounds[1:])
    draws = {tuple(sample_indices(frames, 48, np.random.default_rng(s))) for s in range(5)}
    assert len(draws) > 1  # random in training


@pytest.mark.parametrize("frames", [48, 49, 60, 95])
def test_medium_videos_get_random_plus_one_offsets(frames):
    for seed in range(10):
        inds = sample_indices(frames, 48, np.random.default_rng(seed))
        steps = np.diff(inds)
        assert len(inds) == 48 and inds[0] in (0, 1) and inds[-1] < frames
        assert set(steps) <= {1, 2} and (steps == 2).sum() + inds[0] + (frames - 1 - inds[-1]) == frames - 48


@pytest.mark.parametrize("frames", [1, 5, 47])
def test_short_videos_loop_a_consecutive_run(frames):
    for seed in range(5):
        inds = sample_indices(frames, 48, np.random.default_rng(seed))
        assert len(inds) == 48 and inds.max() < frames
        assert np.all((np.diff(inds) % frames) == (1 % frames))
    assert sample_indices(frames, 48, val_rng(), test_mode=True)[0] == 0


@pytest.mark.parametrize("frames", [20, 60, 300])
def test_validation_sampling_is_deterministic(frames):
    first = sample_indices(frames, 48, val_rng(), test_mode=True)
    for _ in range(3):
        assert np.array_equal(sample_indices(frames, 48, val_rng(), test_mode=True), first)


def mmaction_test_clips(num_frames: int, clip_len: int, num_clips: int) -> list[int]:
    """MMAction2's test-mode ``UniformSampleFrames`` restated plainly: ``np.random.seed(255)`` (the
    legacy generator, here a RandomState of its own), then each clip in turn, indices modulo T."""
    legacy = np.random.RandomState(255)
    out: list[int] = []
    for i in range(num_clips):
        if num_frames < clip_len:
            start = i if num_frames < num_clips else i * num_frames // num_clips
            out += [(start + k) % num_frames for k in range(clip_len)]
        elif num_frames < 2 * clip_len:
            bumped = set(legacy.choice(clip_len + 1, num_frames - clip_len, replace=False).tolist())
            out += [(k + sum(1 for b in bumped if b <= k)) % num_frames for k in range(clip_len)]
        else:
            starts = [j * num_frames // clip_len for j in range(clip_len + 1)]
            sizes = [starts[j + 1] - starts[j] for j in range(clip_len)]
            draws = legacy.randint(sizes)  # one call for all segments, as MMAction2 makes it
            out += [(starts[j] + int(draws[j])) % num_frames for j in range(clip_len)]
    return out


def test_validation_frames_match_mmaction2_for_long_clips():
    """T = 144 > 48: the frames a checkpoint is evaluated on are MMAction2's / the official fork's (the
    legacy RandomState(255) stream; numpy's default_rng(255) gave other frames, so other accuracies)."""
    expected = mmaction_test_clips(144, 48, 1)
    assert expected[:8] == [1, 4, 8, 10, 12, 16, 19, 23]  # pinned: np.random.seed(255) + np.random.randint, run once
    before = np.random.get_state()[1].copy()
    got = sample_indices(144, 48, val_rng(), test_mode=True)
    assert got.tolist() == expected
    assert np.array_equal(np.random.get_state()[1], before)  # numpy's global generator untouched
    for frames in (20, 48, 60, 95, 96, 300):
        assert sample_indices(frames, 48, val_rng(), test_mode=True).tolist() == mmaction_test_clips(frames, 48, 1)
    # and the dataset's val transform reads those frames (RGB = every third of them)
    e = entry(frames=144)
    seen: list[list[int]] = []

    def spy(inds):
        seen.append([int(i) for i in inds])
        return reader(64)(inds)

    transform(e, spy, PipelineSettings(rgb_size=64, heatmap_size=16), val_rng(), test_mode=True)
    assert seen == [expected[::3]]


@pytest.mark.parametrize("frames", [10, 60, 144])
def test_multi_clip_validation_frames_match_mmaction2(frames):
    from epam.data.pipeline import val_indices

    got = val_indices(frames, 48, num_clips=3)
    assert len(got) == 3 * 48 and got.tolist() == mmaction_test_clips(frames, 48, 3)
    assert got[:48].tolist() == val_indices(frames, 48).tolist()  # clip 1 = the single-clip draw
    if frames >= 48:
        assert got[:48].tolist() != got[48:96].tolist()  # later clips continue the stream


def test_rgb_frames_are_every_third_pose_frame():
    pose = sample_indices(200, 48, np.random.default_rng(1))
    rgb = rgb_indices(pose, 16)
    assert len(rgb) == 16 and np.array_equal(rgb, pose[0:48:3])
    assert np.array_equal(rgb_indices(np.arange(12), 4), [0, 3, 6, 9])


# -- keypoint geometry -----------------------------------------------------------------------------


def skeleton(xs=(100, 200), ys=(50, 250), frames=3) -> np.ndarray:
    kp = np.zeros((1, frames, 17, 2), np.float32)
    kp[0, :, :, 0] = np.linspace(*xs, 17)
    kp[0, :, :, 1] = np.linspace(*ys, 17)
    return kp


def test_compaction_box_padding_square_clamp_threshold():
    assert compact_box(skeleton(), (1080, 1920)) == (25, 25, 275, 275)
    assert compact_box(skeleton((10, 60), (20, 40)), (1080, 1920)) == (3, 0, 66, 61)  # clamped at y = 0
    assert compact_box(skeleton((1850, 1900), (1020, 1075)), (1080, 1920)) == (1840, 1013, 1909, 1080)
    assert compact_box(skeleton((100, 110), (50, 250)), (1080, 1920)) is not None  # exactly 10 px: compacted
    assert compact_box(skeleton((100, 109), (50, 250)), (1080, 1920), threshold=10) is None  # < 10 px wide
    kp = skeleton()
    kp[0, 0, 3] = 0  # missing joints (0, 0) do not stretch the box
    assert compact_box(kp, (1080, 1920)) == (25, 25, 275, 275)
    assert compact_box(np.zeros((1, 2, 17, 2)), (1080, 1920)) is None


def test_compact_then_resize_keeps_missing_joints_at_zero():
    kp = skeleton()
    kp[0, 1, 4] = 0
    out, shape = compact(kp, (1080, 1920))
    assert shape == (250, 250)
    assert out[0, 0, 0].tolist() == [75, 25] and out[0, 1, 4].tolist() == [0, 0]
    resized = resize_keypoints(out, shape, 56)
    assert resized[0, 0, 0] == pytest.approx([75 * 56 / 250, 25 * 56 / 250])
    assert resized[0, 1, 4].tolist() == [0, 0] and resized.dtype == np.float32
    small = skeleton((100, 105), (100, 104))
    same, shape = compact(small, (1080, 1920))  # below the threshold: untouched
    assert same is small and shape == (1080, 1920)


def test_flip_mirrors_x_and_swaps_left_right():
    kp = np.zeros((2, 1, 17, 2), np.float32)
    kp[..., 0] = np.arange(17) + 10.0
    kp[..., 1] = 5.0
    kp[1, 0, 8] = 0.0  # a missing joint stays missing
    score = np.tile(np.arange(17, dtype=np.float32), (2, 1, 1))
    flipped, fscore = flip_keypoints(kp, score, 56)
    assert flipped[0, 0, 5, 0] == 56 - 16.0 and flipped[0, 0, 6, 0] == 56 - 15.0  # L shoulder <- mirrored R
    assert flipped[0, 0, 0, 0] == 56 - 10.0  # nose stays nose
    assert fscore[0, 0, 1] == 2 and fscore[0, 0, 2] == 1 and fscore[0, 0, 0] == 0
    assert flipped[1, 0, 7].tolist() == [0, 0]  # joint 8 (missing) moved to 7 and stayed (0, 0)
    assert sorted(FLIP_ORDER) == list(range(17)) and all(FLIP_ORDER[FLIP_ORDER] == np.arange(17))
    assert np.array_equal(kp[..., 0], np.broadcast_to(np.arange(17) + 10.0, (2, 1, 17)) * (kp[..., 0] != 0))


def test_normalize_rgb():
    frames = np.zeros((2, 3, 4, 3), np.uint8)
    frames[..., 0], frames[..., 1], frames[..., 2] = 182, 173, 161
    out = normalize_rgb(frames)
    assert out.shape == (3, 2, 3, 4) and out.dtype == np.float32
    assert out[:, 0, 0, 0] == pytest.approx((np.array([182, 173, 161]) - RGB_MEAN) / RGB_STD)


# -- whole transform -------------------------------------------------------------------------------


def entry(frames=100, persons=1, label=3):
    rng = np.random.default_rng(0)
    base = np.array([960, 540]) + rng.normal(0, 120, (persons, 1, 17, 2))
    kp = (base + rng.normal(0, 5, (persons, frames, 17, 2))).astype(np.float16)
    return {"frame_dir": "S001C001P001R001A004", "label": label, "img_shape": (1080, 1920), "total_frames": frames,
            "keypoint": kp, "keypoint_score": rng.uniform(0.5, 1, (persons, frames, 17)).astype(np.float16)}


def reader(size):
    """Fake RGB: frame i has a bright column at x = i (so a mirror is visible), as (N, S, S, 3) uint8."""
    def read(inds):
        out = np.zeros((len(inds), size, size, 3), np.uint8)
        for n, i in enumerate(inds):
            out[n, :, int(i) % size] = 255
        return out
    return read


def test_official_shapes_and_dtypes():
    settings = PipelineSettings()
    out = transform(entry(persons=2), reader(224), settings, np.random.default_rng(0), test_mode=False)
    assert out["imgs"].shape == (3, 16, 224, 224) and out["imgs"].dtype == np.float32
    assert out["heatmap_imgs"].shape == (17, 48, 56, 56) and out["heatmap_imgs"].dtype == np.float32
    assert out["label"] == 3 and 0 < out["heatmap_imgs"].max() <= 1
    limbs = transform(entry(), reader(224), PipelineSettings(with_limb=True), val_rng(), test_mode=True)
    assert limbs["heatmap_imgs"].shape == (17, 48, 56, 56)


def test_one_flip_decision_for_both_modalities():
    e = entry()
    plain = transform(e, reader(64), PipelineSettings(rgb_size=64, heatmap_size=16, flip_prob=0.0),
                      np.random.default_rng(5), test_mode=False)
    flipped = transform(e, reader(64), PipelineSettings(rgb_size=64, heatmap_size=16, flip_prob=1.0),
                        np.random.default_rng(5), test_mode=False)
    # same frames sampled (the flip draw comes after the sampling), images mirrored
    assert np.array_equal(flipped["imgs"], plain["imgs"][..., ::-1])
    # heatmaps: left shoulder (5) of the flipped sample is the mirrored right shoulder (6); x' = W - x
    hp, hf = plain["heatmap_imgs"], flipped["heatmap_imgs"]
    for t in range(0, 48, 7):
        y6, x6 = np.unravel_index(hp[6, t].argmax(), hp[6, t].shape)
        y5, x5 = np.unravel_index(hf[5, t].argmax(), hf[5, t].shape)
        assert y5 == y6 and abs(x5 - (16 - x6)) <= 1
    val = transform(e, reader(64), PipelineSettings(rgb_size=64, heatmap_size=16, flip_prob=1.0), val_rng(),
                    test_mode=True)
    assert np.array_equal(val["imgs"], transform(e, reader(64), PipelineSettings(rgb_size=64, heatmap_size=16),
                                                 val_rng(), test_mode=True)["imgs"])  # no flip in val


# -- Dataset API -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from epam.data.synthetic import Settings, generate

    root = tmp_path_factory.mktemp("tiny")
    settings = Settings(ann_file=root / "synthetic_2d.pkl", video_root=root / "videos", num_classes=3, per_class=5,
                        frames=16, size=32, seed=1)
    generate(settings)
    return settings


def config(data, **data_overrides):
    cfg = {"model": {"num_classes": 3, "rgb_clip_len": 2, "pose_clip_len": 6},
           "data": {"dataset": "synthetic", "ann_file": str(data.ann_file), "video_root": str(data.video_root),
                    "rgb_source": "video", "train_split": "xsub_train", "val_split": "xsub_val", "rgb_size": 32,
                    "heatmap_size": 8, "sigma": 0.6, "with_limb": False, "flip_prob": 0.5},
           "train": {"seed": 7}}
    cfg["data"].update(data_overrides)
    return cfg


def test_build_dataset_items_and_collate(tiny_data):
    from epam.data import build_dataset, collate

    train, val = build_dataset(config(tiny_data), "train"), build_dataset(config(tiny_data), "val")
    assert (len(train), len(val), train.num_classes) == (12, 3, 3)
    item = train[0]
    assert set(item) == {"imgs", "heatmap_imgs", "label"}
    assert item["imgs"].shape == (3, 2, 32, 32) and item["imgs"].dtype == torch.float32
    assert item["heatmap_imgs"].shape == (17, 6, 8, 8) and item["heatmap_imgs"].dtype == torch.float32
    assert isinstance(item["label"], int) and item["label"] == train.labels[0]
    batch = collate([train[i] for i in range(4)])
    assert batch["imgs"].shape == (4, 3, 2, 32, 32) and batch["heatmap_imgs"].shape == (4, 17, 6, 8, 8)
    assert batch["label"].dtype == torch.int64 and batch["label"].tolist() == train.labels[:4]
    assert torch.equal(val[1]["imgs"], val[1]["imgs"]) and torch.equal(val[2]["heatmap_imgs"], val[2]["heatmap_imgs"])


def test_per_sample_randomness_follows_seed_epoch_index(tiny_data):
    from epam.data import build_dataset

    a, b = build_dataset(config(tiny_data), "train"), build_dataset(config(tiny_data), "train")
    assert torch.equal(a[3]["heatmap_imgs"], b[3]["heatmap_imgs"])  # same seed, same sample
    first = a[3]["heatmap_imgs"]
    changed = False
    for epoch in range(1, 6):
        a.set_epoch(epoch)
        changed |= not torch.equal(a[3]["heatmap_imgs"], first)
    assert changed and a.epoch == 5
    a.set_epoch(0)
    assert torch.equal(a[3]["heatmap_imgs"], first)
    other = build_dataset(config(tiny_data) | {"train": {"seed": 8}}, "train")
    assert any(not torch.equal(other[i]["heatmap_imgs"], b[i]["heatmap_imgs"]) for i in range(len(b)))


def test_batches_do_not_depend_on_num_workers(tiny_data):
    from epam.data import build_dataset, collate, seed_worker

    def batches(workers):
        ds = build_dataset(config(tiny_data), "train")
        ds.set_epoch(2)
        loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=workers, collate_fn=collate,
                                             worker_init_fn=seed_worker, persistent_workers=workers > 0,
                                             multiprocessing_context="fork" if workers else None)
        first = list(loader)
        ds.set_epoch(3)  # seen by persistent workers too
        return first, list(loader)

    (serial_2, serial_3), (parallel_2, parallel_3) = batches(0), batches(2)
    for x, y in zip(serial_2 + serial_3, parallel_2 + parallel_3):
        assert torch.equal(x["imgs"], y["imgs"]) and torch.equal(x["heatmap_imgs"], y["heatmap_imgs"])
    assert any(not torch.equal(x["heatmap_imgs"], y["heatmap_imgs"]) for x, y in zip(serial_2, serial_3))


def test_missing_paths_are_one_line_errors_with_the_fix(tiny_data, tmp_path):
    from epam.data import DataError as Exported, build_dataset

    assert Exported is DataError
    with pytest.raises(DataError) as err:
        build_dataset(config(tiny_data, ann_file=str(tmp_path / "none.pkl")), "train")
    assert "none.pkl" in str(err.value) and "epam make-synthetic" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(DataError, match="video_root not found.*novideos.*make-synthetic"):
        build_dataset(config(tiny_data, video_root=str(tmp_path / "novideos")), "train")
    empty = tmp_path / "emptyvideos"
    empty.mkdir()
    with pytest.raises(DataError, match="no RGB for S0.*emptyvideos"):
        build_dataset(config(tiny_data, video_root=str(empty)), "train")
    with pytest.raises(ValueError):
        build_dataset(config(tiny_data), "test")


def test_importing_epam_data_does_not_import_torch():
    code = "import sys, epam.data; from epam.data import DataError; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_data_check_command(tiny_data, tmp_path, root, capsys):
    from epam.commands import data as cli

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(f"_base_: {root / 'configs' / 'epam_synthetic_demo.yaml'}\nmodel:\n  num_classes: 3\n"
                   f"data:\n  ann_file: {tiny_data.ann_file}\n  video_root: {tiny_data.video_root}\n")
    assert cli.main(["check", str(cfg), "--samples", "2"]) == 0
    out = capsys.readouterr().out
    assert "train: 12 samples, 0 skipped, 3 classes; imgs (3, 4, 64, 64), heatmap_imgs (17, 12, 16, 16)" in out
    assert cli.main(["check", str(cfg), "--set", f"data.video_root={tmp_path / 'none'}"]) == 2
    assert "video_root not found" in capsys.readouterr().err
