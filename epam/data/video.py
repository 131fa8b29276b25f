"""RGB frames from videos or extracted frame folders, decoded with PyAV; video writing for the tools.

Where a sample's RGB lives: ``epam.data.rgb_paths`` (av-free, so the TUI's data check shares it).

Only the sampled frames are converted to arrays (and resized by swscale on the way, when asked).
Video decoding runs sequentially up to the last sampled frame and stops there: inter-coded frames
need their predecessors anyway, and a seek only pays off for GOPs much shorter than the gap between
sampled frames, which small pre-cropped clips do not have.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import av
import numpy as np

from epam.data.errors import DataError
from epam.data.rgb_paths import FRAME_PATTERN, rgb_candidates, rgb_path
from epam.fileio import atomic_path

log = logging.getLogger("epam.data")
_ASPECT_WARNED = False
# mpeg4 (MPEG-4 Part 2) first: encoding is bit-reproducible (libx264 from PyAV's wheels was not, even
# single-threaded), fast to encode and decode, and every decoder reads it.
PREFERRED_CODECS = ("mpeg4", "libx264")


def find_rgb(root: str | Path, frame_dir: str, rgb_source: str = "video") -> Path:
    """The video file or frame folder of ``frame_dir``; a :class:`DataError` listing what was tried."""
    path = rgb_path(root, frame_dir, rgb_source)
    if path is not None:
        return path
    tried = rgb_candidates(root, frame_dir, rgb_source)
    names = ", ".join(p.name + ("/" + FRAME_PATTERN.format(1) if p.suffix == "" else "") for p in tried)
    raise DataError(f"no RGB for {frame_dir} in {root} (tried {names}); check data.video_root")


def _warn_aspect(height: int, width: int, size: tuple[int, int]) -> None:
    """Warn once per process when frames get squashed to a different aspect ratio."""
    global _ASPECT_WARNED
    if not _ASPECT_WARNED and abs(width / height - size[1] / size[0]) > 0.05 * size[1] / size[0]:
        _ASPECT_WARNED = True
        log.warning("RGB frames of %dx%d are resized to %dx%d, changing their aspect ratio; the recipe expects "
                    "person-centred square crops (make them with `epam data crop-rgb`)",
                    width, height, size[1], size[0])


def _to_array(frame: av.VideoFrame, size: tuple[int, int] | None) -> np.ndarray:
    """An (H, W, 3) uint8 RGB array, resized to ``size`` = (height, width) when given and different."""
    if size is None or (frame.height, frame.width) == tuple(size):
        return frame.to_ndarray(format="rgb24")
    _warn_aspect(frame.height, frame.width, size)
    return _resized(frame, size)


def _resized(frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
    return frame.to_ndarray(format="rgb24", width=size[1], height=size[0], interpolation="AREA")


def read_video(path: str | Path, indices: Sequence[int], size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames ``indices`` (any order, repeats allowed) of a video as (N, H, W, 3) uint8 RGB.

    Indices past the last decodable frame read the last frame (skeleton and video lengths of NTU
    samples can differ by a frame or two).
    """
    indices = [int(i) for i in indices]
    if not indices:
        raise ValueError("no frame indices to read")
    wanted = set(indices)
    last = max(indices)
    got: dict[int, np.ndarray] = {}
    final = -1
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            latest = None
            for final, frame in enumerate(container.decode(stream)):
                latest = frame
                if final in wanted:
                    got[final] = _to_array(frame, size)
                if final >= last:
                    break
            if latest is not None and final < last and final not in got:
                got[final] = _to_array(latest, size)
    except FileNotFoundError:
        raise DataError(f"video not found: {path} (check data.video_root)") from None
    except (av.error.FFmpegError, IndexError, OSError, ValueError) as exc:
        raise DataError(f"cannot decode video {path}: {exc} (re-encode it or remove the sample)") from None
    if final < 0:
        raise DataError(f"video {path} has no decodable frame (re-encode it or remove the sample)")
    return np.stack([got[min(i, final)] for i in indices])


def read_image(path: str | Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """One image file (jpg/png) as (H, W, 3) uint8 RGB, decoded with PyAV."""
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            return _to_array(frame, size)
    except FileNotFoundError:
        raise DataError(f"frame image not found: {path} (the frame folder is incomplete)") from None
    except (av.error.FFmpegError, StopIteration, OSError, ValueError) as exc:
        raise DataError(f"cannot decode image {path}: {exc} (re-extract the frames)") from None


def count_frame_files(folder: str | Path) -> int:
    """Number of consecutive ``img_00001.jpg`` ... files in a frame folder."""
    folder = Path(folder)
    n = len([p for p in folder.glob("img_*.jpg")])
    while n > 0 and not (folder / FRAME_PATTERN.format(n)).is_file():
        n -= 1
    return n


def read_frame_folder(folder: str | Path, indices: Sequence[int], size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames ``indices`` (0-based) of an extracted frame folder as (N, H, W, 3) uint8 RGB.

    Like :func:`read_video`, indices past the last file read the last frame.
    """
    folder = Path(folder)
    available = count_frame_files(folder)
    if available == 0:
        raise DataError(f"frame folder {folder} has no {FRAME_PATTERN.format(1)} (re-extract the frames)")
    cache: dict[int, np.ndarray] = {}
    out = []
    for i in indices:
        j = min(int(i), available - 1)
        if j not in cache:
            cache[j] = read_image(folder / FRAME_PATTERN.format(j + 1), size)
        out.append(cache[j])
    return np.stack(out)


def read_rgb(path: str | Path, indices: Sequence[int], size: tuple[int, int] | None = None) -> np.ndarray:
    """Frames from a video file or a frame folder, whichever ``path`` is."""
    path = Path(path)
    if path.is_dir():
        return read_frame_folder(path, indices, size)
    return read_video(path, indices, size)


def iter_video(path: str | Path) -> Iterator[np.ndarray]:
    """Every frame of a video as (H, W, 3) uint8 RGB, in order."""
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(container.streams.video[0]):
                yield frame.to_ndarray(format="rgb24")
    except FileNotFoundError:
        raise DataError(f"video not found: {path} (check the video folder)") from None
    except (av.error.FFmpegError, IndexError, OSError, ValueError) as exc:
        raise DataError(f"cannot decode video {path}: {exc} (re-encode it or remove the sample)") from None


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize an (H, W, 3) uint8 RGB image to ``size`` = (height, width) with swscale (area filter)."""
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return _resized(frame, size)


def video_info(path: str | Path) -> tuple[int, int, int]:
    """(frames, height, width) of a video, counting frames by decoding when the header has no count."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            height, width = stream.codec_context.height, stream.codec_context.width
            frames = stream.frames or sum(1 for _ in container.decode(stream))
    except (av.error.FFmpegError, IndexError, OSError, ValueError) as exc:
        raise DataError(f"cannot read video {path}: {exc}") from None
    return frames, height, width


def pick_codec(preferred: Iterable[str] = PREFERRED_CODECS) -> str:
    """The first available video encoder among ``preferred``."""
    for name in preferred:
        try:
            av.codec.Codec(name, "w")
            return name
        except (av.error.FFmpegError, ValueError):
            continue
    raise DataError(f"none of the video encoders {', '.join(preferred)} is available in this PyAV build")


def write_video(path: str | Path, frames: np.ndarray, fps: int = 30, codec: str | None = None,
                quality: int = 18) -> Path:
    """Write (T, H, W, 3) uint8 RGB frames to ``path`` atomically (temp file, then rename).

    With the default mpeg4 encoder (one thread) the same frames always give the same bytes.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = codec or pick_codec()
    frames = np.ascontiguousarray(frames, dtype=np.uint8)
    height, width = frames.shape[1:3]
    with atomic_path(path, fsync=False) as tmp:  # mode 0o666 & ~umask; no fsync (many files, as before)
        with av.open(str(tmp), "w", format="avi" if path.suffix == ".avi" else "mp4") as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.thread_count = 1
            if codec == "libx264":
                stream.options = {"crf": str(quality), "preset": "veryfast"}
            else:
                stream.codec_context.bit_rate = max(200_000, width * height * fps * 2)
            for array in frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
            container.mux(stream.encode())
    return path
