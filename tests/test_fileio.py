"""Every file the trainer and the data tools write gets the umask's mode (0644 under umask 022, 0640 under
027), not mkstemp's 0600: a shared server's teammates must be able to read the data and the runs. And the
atomic writers leave no temp file behind, on success or failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

UMASKS = [(0o022, 0o644), (0o027, 0o640)]


@pytest.fixture(params=UMASKS, ids=["umask022", "umask027"])
def umask(request):
    """Set the process umask for one test; yields (umask, the mode new files must have)."""
    mask, mode = request.param
    old = os.umask(mask)
    try:
        yield mask, mode
    finally:
        os.umask(old)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): mode_of(p) for p in sorted(root.rglob("*")) if p.is_file()}


def no_temp_files(root: Path) -> list[str]:
    return [str(p) for p in root.rglob("*") if ".tmp" in p.name]


def test_umask_mode_reads_the_umask(umask) -> None:
    from epam import fileio

    mask, mode = umask
    assert fileio.current_umask() == mask
    assert fileio.umask_mode() == mode
    assert os.umask(mask) == mask  # reading it left it as it was


def test_atomic_writers_give_the_umask_mode(tmp_path: Path, umask) -> None:
    from epam import fileio

    _, mode = umask
    fileio.atomic_write_bytes(tmp_path / "a.bin", b"\x00\x01")
    fileio.atomic_write_text(tmp_path / "b.txt", "héllo\n")
    with fileio.atomic_open(tmp_path / "c.bin", "wb") as fh:
        fh.write(b"c")
    with fileio.atomic_path(tmp_path / "d.bin") as tmp:
        tmp.write_bytes(b"d")
    old = tmp_path / "e.txt"  # replacing a 0600 file gives the umask's mode too (not the old file's)
    old.write_text("old")
    old.chmod(0o600)
    fileio.atomic_write_text(old, "new")
    assert modes(tmp_path) == {"a.bin": mode, "b.txt": mode, "c.bin": mode, "d.bin": mode, "e.txt": mode}
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "héllo\n" and old.read_text() == "new"
    assert no_temp_files(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_names_the_target(tmp_path: Path) -> None:
    from epam import fileio

    target = tmp_path / "status.json"
    fileio.atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with fileio.atomic_open(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and no_temp_files(tmp_path) == []
    missing = tmp_path / "no-such-dir" / "x.json"
    with pytest.raises(OSError) as info:
        fileio.atomic_write_text(missing, "x")
    assert info.value.filename == str(missing)


def test_a_planted_symlink_at_the_temp_name_is_not_written_through(tmp_path: Path) -> None:
    from epam import fileio

    victim = tmp_path / "victim"
    victim.write_text("keep")
    target = tmp_path / "out.txt"
    fileio.temp_path(target).symlink_to(victim)
    fileio.atomic_write_text(target, "mine")
    assert victim.read_text() == "keep" and target.read_text() == "mine" and not target.is_symlink()


def test_run_files_and_checkpoints_get_the_umask_mode(tmp_path: Path, umask) -> None:
    """status.json, config.yaml, train.log, scalars.jsonl, latest/epoch/best checkpoints of a real run."""
    from tests.test_engine import fit, toy_cfg

    _, mode = umask
    work = tmp_path / "run"
    code, _ = fit(work, toy_cfg(**{"train.max_epochs": 2, "scheduler.T_max": 2}))
    assert code == 0
    found = modes(work)
    assert {"status.json", "config.yaml", "train.log", "scalars.jsonl", "checkpoints/latest.pth",
            "checkpoints/epoch_2.pth"} <= set(found), found
    assert any(name.startswith("checkpoints/best_") for name in found), found
    assert {name: m for name, m in found.items() if m != mode} == {}


def test_synthetic_data_and_videos_get_the_umask_mode(tmp_path: Path, umask) -> None:
    from epam.data import synthetic

    _, mode = umask
    settings = synthetic.Settings(ann_file=tmp_path / "synthetic_2d.pkl", video_root=tmp_path / "videos",
                                  num_classes=2, per_class=1, frames=6, size=16, seed=1)
    synthetic.generate(settings)
    found = modes(tmp_path)
    assert "synthetic_2d.pkl" in found and "classes.txt" in found
    assert sum(name.endswith("_rgb.mp4") for name in found) == 2, found
    assert {name: m for name, m in found.items() if m != mode} == {}
    assert no_temp_files(tmp_path) == []


def test_rgb_crops_get_the_umask_mode(tmp_path: Path, umask) -> None:
    import pickle

    from epam.commands import data as cli
    from epam.data.video import write_video

    _, mode = umask
    name = "S001C002P001R001A005"
    write_video(tmp_path / "full" / f"{name}_rgb.mp4", np.zeros((3, 32, 32, 3), np.uint8))
    kp = np.full((1, 3, 17, 2), 16.0, np.float32)
    kp[..., 0] += np.linspace(-8, 8, 17)
    kp[..., 1] += np.linspace(-8, 8, 17)
    ann = tmp_path / "ann.pkl"
    ann.write_bytes(pickle.dumps([{"frame_dir": name, "label": 4, "img_shape": (32, 32), "total_frames": 3,
                                   "keypoint": kp, "keypoint_score": np.ones((1, 3, 17), np.float32)}]))
    argv = ["crop-rgb", "--ann-file", str(ann), "--src", str(tmp_path / "full"), "--out", str(tmp_path / "crops"),
            "--size", "16"]
    assert cli.main(argv) == 0
    assert modes(tmp_path / "crops") == {f"{name}_rgb.mp4": mode}
    assert mode_of(tmp_path / "full" / f"{name}_rgb.mp4") == mode


def test_fileio_imports_neither_torch_nor_av() -> None:
    """The TUI reuses these writers, and the TUI never imports torch."""
    import subprocess
    import sys

    code = "import sys, epam.fileio; print(sorted(m for m in ('torch', 'av', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr
