"""RGB decoding (videos and frame folders), file lookup, and `epam data crop-rgb`."""

from __future__ import annotations

import pickle

import av
import numpy as np
import pytest

from epam.commands import data as cli
from epam.data.crop import crop_box
from epam.data.errors import DataError
from epam.data.video import (
    find_rgb,
    read_frame_folder,
    read_rgb,
    read_video,
    video_info,
    write_video,
)


def ramp(frames: int, height: int = 32, width: int = 48) -> np.ndarray:
    """Grey frames whose level encodes the frame number (survives lossy coding within a few levels)."""
    return np.repeat((np.arange(frames, dtype=np.uint8) * 12)[:, None, None, None], height * width * 3).reshape(
        frames, height, width, 3)


def levels(frames: np.ndarray) -> np.ndarray:
    return np.round(frames.reshape(len(frames), -1).mean(1) / 12).astype(int)


def write_jpgs(folder, frames: np.ndarray) -> None:
    folder.mkdir(parents=True)
    with av.open(str(folder / "img_%05d.jpg"), "w", format="image2") as container:
        stream = container.add_stream("mjpeg", rate=30)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuvj420p"
        for array in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
        container.mux(stream.encode())


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_read_video_returns_the_requested_frames(tmp_path, suffix):
    path = write_video(tmp_path / f"clip{suffix}", ramp(20))
    assert video_info(path) == (20, 32, 48)
    frames = read_video(path, [7, 0, 19, 7, 3])
    assert frames.shape == (5, 32, 48, 3) and frames.dtype == np.uint8
    assert list(levels(frames)) == [7, 0, 19, 7, 3]
    resized = read_video(path, [2, 5], size=(16, 24))
    assert resized.shape == (2, 16, 24, 3) and list(levels(resized)) == [2, 5]


def test_read_video_past_the_end_reads_the_last_frame(tmp_path):
    path = write_video(tmp_path / "short.mp4", ramp(6))
    assert list(levels(read_video(path, [0, 5, 6, 30]))) == [0, 5, 5, 5]


def test_missing_and_unreadable_videos_name_the_file(tmp_path):
    with pytest.raises(DataError, match="not found.*nothere.mp4"):
        read_video(tmp_path / "nothere.mp4", [0])
    garbage = tmp_path / "garbage_rgb.mp4"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(DataError, match="garbage_rgb.mp4"):
        read_video(garbage, [0])


def test_frame_folder_reading(tmp_path):
    folder = tmp_path / "S001C001P001R001A001"
    write_jpgs(folder, ramp(8, 24, 32))
    frames = read_frame_folder(folder, [3, 0, 7, 12])
    assert frames.shape == (4, 24, 32, 3)
    assert list(levels(frames)) == [3, 0, 7, 7]
    assert read_rgb(folder, [1], size=(12, 16)).shape == (1, 12, 16, 3)
    (folder / "img_00003.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(DataError, match="img_00003.jpg"):
        read_frame_folder(folder, [2])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no img_00001.jpg"):
        read_frame_folder(empty, [0])


def test_find_rgb_naming_rules(tmp_path):
    name = "S001C001P001R001A001"
    with pytest.raises(DataError) as err:
        find_rgb(tmp_path, name)
    for tried in (f"{name}_rgb.mp4", f"{name}_rgb.avi", f"{name}.mp4", f"{name}/img_00001.jpg"):
        assert tried in str(err.value)
    assert "data.video_root" in str(err.value)
    (tmp_path / f"{name}.mp4").write_bytes(b"x")
    assert find_rgb(tmp_path, name).name == f"{name}.mp4"
    (tmp_path / f"{name}_rgb.avi").write_bytes(b"x")
    assert find_rgb(tmp_path, name).name == f"{name}_rgb.avi"
    (tmp_path / f"{name}_rgb.mp4").write_bytes(b"x")
    assert find_rgb(tmp_path, name).name == f"{name}_rgb.mp4"
    write_jpgs(tmp_path / name, ramp(2))
    assert find_rgb(tmp_path, name, "frames") == tmp_path / name
    assert find_rgb(tmp_path, name, "video").name == f"{name}_rgb.mp4"


def test_crop_box_is_square_padded_and_clamped():
    kp = np.zeros((1, 3, 17, 2), np.float32)
    kp[0, :, :, 0] = np.linspace(100, 200, 17)
    kp[0, :, :, 1] = np.linspace(50, 250, 17)
    # 100 x 200 box centred at (150, 150); x1.25 -> half 62.5 x 125; square -> 125 x 125; clamped at 0
    assert crop_box(kp, (1080, 1920)) == (25, 25, 275, 275)
    assert crop_box(kp, (200, 1920)) == (25, 25, 275, 200)
    assert crop_box(np.zeros((1, 2, 17, 2)), (90, 160)) == (0, 0, 160, 90)  # no skeleton: whole frame


def test_crop_rgb_command_writes_person_centred_crops(tmp_path):
    name = "S001C002P001R001A005"
    frames = np.zeros((5, 60, 120, 3), np.uint8)
    frames[:, 10:50, 70:110] = (200, 40, 40)  # the "person" region is red, the rest black
    src = tmp_path / "full"
    write_video(src / f"{name}_rgb.mp4", frames)
    kp = np.zeros((1, 5, 17, 2), np.float32)
    # keypoints in annotation coordinates (img_shape twice the video size, like 1080p skeletons on 540p videos)
    kp[..., 0] = np.linspace(160, 200, 17)
    kp[..., 1] = np.linspace(40, 80, 17)
    ann = tmp_path / "ntu60_xsub_train.pkl"
    ann.write_bytes(pickle.dumps([{"frame_dir": name, "label": 4, "img_shape": (120, 240), "total_frames": 5,
                                   "keypoint": kp, "keypoint_score": np.ones((1, 5, 17), np.float32)}]))
    out = tmp_path / "crops"
    argv = ["crop-rgb", "--ann-file", str(ann), "--src", str(src), "--out", str(out), "--size", "32"]
    assert cli.main(argv) == 0
    crop = out / f"{name}_rgb.mp4"
    assert video_info(crop) == (5, 32, 32)
    pixels = read_video(crop, [2])[0].astype(float)
    assert pixels[4:-4, 4:-4, 0].mean() > 150 and pixels[4:-4, 4:-4, 1:].mean() < 90  # inside the red person box
    assert cli.main(argv) == 0  # second run: already there, skipped


def test_crop_rgb_reports_missing_inputs(tmp_path, capsys):
    assert cli.main(["crop-rgb", "--out", str(tmp_path / "o")]) == 2
    assert "needs --ann-file and --src" in capsys.readouterr().err
    assert cli.main(["nope"]) == 2


def test_squashing_non_square_frames_warns_once(tmp_path, caplog, monkeypatch):
    import logging

    from epam.data import video

    monkeypatch.setattr(video, "_ASPECT_WARNED", False)
    path = write_video(tmp_path / "wide.mp4", ramp(3, 32, 64))
    with caplog.at_level(logging.WARNING, logger="epam.data"):
        assert read_video(path, [0, 1], size=(32, 32)).shape == (2, 32, 32, 3)
        read_video(path, [2], size=(32, 32))
    warnings = [r.message for r in caplog.records if "aspect ratio" in r.message]
    assert len(warnings) == 1 and "64x32" in warnings[0] and "crop-rgb" in warnings[0]
