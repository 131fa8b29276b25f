"""Checklist items of the "before training" phase: config, GPUs, data, work dir, ``epam verify``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from epam_tui.core.check_result import FAIL, PASS, UNKNOWN, CheckResult
from epam_tui.core.registry import RunData, device_label
from epam_tui.core.runfacts import RunConfig, run_config


def check_config(run: RunData, source: RunConfig | None = None) -> CheckResult:
    """The run's own config (``runfacts.run_config``: its resolved config.yaml, an MMEngine dump, or
    before the trainer wrote config.yaml the launch's config with its overrides) validates."""
    title = "config exists and validates"
    source = source or run_config(run)
    if source.problems:
        return CheckResult("config", "before", title, FAIL, f"{source.origin}: " + "; ".join(source.problems[:3]))
    if source.config is None:
        return CheckResult("config", "before", title, UNKNOWN if run.kind != "epam" else FAIL, source.origin)
    if run.kind == "mmengine" and source.path is not None and source.path.suffix == ".py":
        sched = (source.config.get("scheduler") or {}).get("type", "?")
        return CheckResult("config", "before", title, PASS,
                           f"{source.origin} read (schedule {sched}; the model and data parts are not validated here)")
    return CheckResult("config", "before", title, PASS, f"{source.origin} is valid")


def sample_entries(ann_file: Path, n: int = 5) -> tuple[list[str] | None, str]:
    """The first ``n`` ``frame_dir`` names of the annotation pickle, parsed with the restricted
    unpickler of ``epam.data.safe_pickle`` (torch-free); (None, why) when it cannot be read."""
    try:
        from epam.data.safe_pickle import safe_load
    except ImportError as exc:
        return None, f"annotation not parsed ({exc}); existence checked only"
    try:
        data = safe_load(ann_file)
    except Exception as exc:  # noqa: BLE001 - DataError or a foreign file: one line
        return None, f"annotation unreadable: {str(exc).splitlines()[0]}"
    entries = data.get("annotations") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        return None, "annotation has no list of entries"
    return [str(e.get("frame_dir")) for e in entries[:n] if isinstance(e, dict)], f"{len(entries)} entries"


def rgb_present(video_root: Path, frame_dir: str, rgb_source: str = "video") -> bool:
    """Whether the video file (or frame folder) of ``frame_dir`` exists, with the trainer's naming."""
    from epam.data.rgb_paths import rgb_path

    return rgb_path(video_root, frame_dir, rgb_source) is not None


def check_data(cfg: dict | None, base: Path | None = None, sample: int = 5, origin: str = "") -> CheckResult:
    """ann_file and video_root exist, and the RGB of the first ``sample`` entries is present.
    ``origin``: where ``cfg`` was read (named in the evidence when a path is missing)."""
    title = "data paths exist (and a sample of entries is readable)"
    if not cfg:
        return CheckResult("data", "before", title, UNKNOWN, "no valid config")
    d = cfg.get("data")
    if not isinstance(d, dict) or not all(isinstance(d.get(k), str) for k in ("ann_file", "video_root")):
        return CheckResult("data", "before", title, UNKNOWN,
                           f"no data.ann_file / data.video_root in {origin or 'the config'} (not checked)")
    ann, root = (Path(os.path.expanduser(d[k])) for k in ("ann_file", "video_root"))
    if base is not None:
        ann, root = base / ann, base / root
    missing = [str(p) for p in (ann, root) if not p.exists()]
    if missing:
        return CheckResult("data", "before", title, FAIL,
                           f"missing: {', '.join(missing)}" + (f" (paths from {origin})" if origin else ""))
    names, info = sample_entries(ann, sample)
    if names is None:
        return CheckResult("data", "before", title, UNKNOWN, f"{ann} and {root} exist; {info}")
    try:
        absent = [n for n in names if not rgb_present(root, n, d.get("rgb_source", "video"))]
    except ImportError as exc:
        return CheckResult("data", "before", title, UNKNOWN, f"{ann} ({info}) and {root} exist; RGB not checked ({exc})")
    if absent:
        return CheckResult("data", "before", title, FAIL,
                           f"{len(absent)} of the first {len(names)} entries have no RGB in {root}: {', '.join(absent[:3])}")
    return CheckResult("data", "before", title, PASS, f"{ann} ({info}); RGB of the first {len(names)} present in {root}")


def check_workdir(run_dir: Path) -> CheckResult:
    title = "work dir writable"
    ok = os.access(run_dir if run_dir.exists() else run_dir.parent, os.W_OK)
    free = shutil.disk_usage(run_dir if run_dir.exists() else run_dir.parent).free / 2**30
    return CheckResult("workdir", "before", title, PASS if ok else FAIL, f"{run_dir} ({free:.1f} GiB free)")


def check_gpus(run: RunData, cfg: dict | None = None, backend: Any = None) -> CheckResult:
    """The run's recorded GPUs (run.json) are present now; without a launch record, enough GPUs are
    visible for the config's ``train.gpus``. NVML through ``epam_tui.core.gpus``; 'unknown' without it."""
    title = "GPUs available (the selected ones exist)"
    gpus = (run.run or {}).get("gpus") or []
    device = device_label(run.status, run.run)  # "cuda 0,1" | "cpu (asked 0,1)" | "cpu" | "" (not said)
    if device.startswith("cpu (asked"):
        return CheckResult("gpus", "before", title, FAIL,
                           f"{device}: the run trains on the CPU although GPUs were picked (torch without CUDA, "
                           f"or device: cpu); install a CUDA build of torch or set device: cuda",
                           values={"device": device})
    on = f"; trains on {device}" if device else ""
    if not gpus and (run.run or {}).get("nproc"):
        return CheckResult("gpus", "before", title, PASS, f"CPU run ({run.run['nproc']} process(es)){on}",
                           values={"device": device or None})
    try:
        from epam_tui.core.gpus import GpuSampler
    except ImportError as exc:
        return CheckResult("gpus", "before", title, UNKNOWN, f"cannot check: {exc}")
    snap = GpuSampler(backend).sample()
    if snap.error:
        return CheckResult("gpus", "before", title, UNKNOWN, f"cannot check now: {snap.error}")
    if not gpus:
        want = int(((cfg or {}).get("train") or {}).get("gpus") or 1)
        have = len(snap.devices)
        free = ", ".join(f"{g.index}: {(g.memory_total - g.memory_used) / 2**30:.0f} GiB free" for g in snap.devices)
        return CheckResult("gpus", "before", title, PASS if have >= want else FAIL,
                           f"no launch record; {have} GPU(s) visible ({free or 'none'}), the config asks for {want}")
    present = {g.uuid: g for g in snap.devices}
    gone = [g for g in gpus if g.get("uuid") not in present]
    if gone:
        return CheckResult("gpus", "before", title, FAIL, f"not present now: {', '.join(str(g.get('index')) for g in gone)}")
    return CheckResult("gpus", "before", title, PASS, f"GPUs {', '.join(str(g.get('index')) for g in gpus)} present{on}",
                       values={"device": device or None})


def check_verify(record: dict | None) -> CheckResult:
    title = "interface check `epam verify` passed"
    if not record:
        return CheckResult("verify", "before", title, UNKNOWN,
                           "not run yet (press v in the checklist, or `epam-tui checklist RUN --verify`)")
    return CheckResult("verify", "before", title, PASS if record.get("ok") else FAIL, str(record.get("message", "")))
