"""Where a sample's RGB lives, by the trainer's naming (standard library only: no av, no numpy, so the
TUI's data check uses the trainer's own rule).

- video: ``<root>/<frame_dir>_rgb.mp4``, ``<root>/<frame_dir>_rgb.avi``, ``<root>/<frame_dir>.mp4``,
  ``<root>/<frame_dir>.avi`` (EPAM / NTU / MMAction2 naming);
- frames: ``<root>/<frame_dir>/img_00001.jpg`` ... (1-based, 5 digits).

The configured kind (``video`` or ``frames``) is tried first; the first path present wins.
"""

from __future__ import annotations

from pathlib import Path

VIDEO_PATTERNS = ("{}_rgb.mp4", "{}_rgb.avi", "{}.mp4", "{}.avi")
FRAME_PATTERN = "img_{:05d}.jpg"


def rgb_candidates(root: str | Path, frame_dir: str, rgb_source: str = "video") -> list[Path]:
    """Every path tried for a sample, the configured kind (``video`` or ``frames``) first."""
    root = Path(root)
    videos = [root / p.format(frame_dir) for p in VIDEO_PATTERNS]
    frames = [root / frame_dir]
    return frames + videos if rgb_source == "frames" else videos + frames


def is_present(path: Path) -> bool:
    """A video file, or a frame folder holding its first frame."""
    return path.is_file() or (path.is_dir() and (path / FRAME_PATTERN.format(1)).is_file())


def rgb_path(root: str | Path, frame_dir: str, rgb_source: str = "video") -> Path | None:
    """The first candidate present (``rgb_candidates`` order), or None."""
    return next((p for p in rgb_candidates(root, frame_dir, rgb_source) if is_present(p)), None)
