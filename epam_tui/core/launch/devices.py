"""Which GPUs may a launch use: identity, visibility, selection and why one is busy.

NVML numbers GPUs in PCI bus order, so every launch sets ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` and
``CUDA_VISIBLE_DEVICES`` to the picks; a ``CUDA_VISIBLE_DEVICES`` already in the TUI's environment
limits what may be picked (indices or UUIDs, as CUDA parses them). ``gpu_state`` never raises: no
driver or a failing driver gives a state with ``error``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from epam_tui.core.launch.errors import LaunchError

BUSY_MEMORY_MIB = 1024  # a GPU with more memory in use than this is busy


def parse_visible_devices(value: str | None) -> list[str] | None:
    """``CUDA_VISIBLE_DEVICES`` as CUDA reads it; ``None`` when unset (every GPU visible).

    Entries are NVML indices or (prefixes of) ``GPU-``/``MIG-`` UUIDs; like CUDA, parsing stops at
    the first invalid or repeated entry, so ``"0,-1,2"`` means GPU 0 only and ``""`` means none.
    """
    if value is None:
        return None
    out: list[str] = []
    for raw in value.split(","):
        token = raw.strip()
        if re.fullmatch(r"\d+", token):
            token = str(int(token))
        elif not re.fullmatch(r"(GPU|MIG)-[0-9A-Za-z/-]+", token):
            break
        if token in out:
            break
        out.append(token)
    return out


def _gpu_matches(gpu: Any, token: str) -> bool:
    if token.isdigit():
        return int(gpu.index) == int(token)
    return bool(gpu.uuid) and str(gpu.uuid).startswith(token)


@dataclass
class GpuState:
    """What the launcher may pick from: the visible GPUs, or why there are none."""

    devices: list[Any]  # GpuInfo, in the order CUDA_VISIBLE_DEVICES (or NVML) lists them
    error: str | None = None  # no GPU telemetry: the reason
    visible_env: str | None = None  # CUDA_VISIBLE_DEVICES of the TUI's own environment
    use_uuids: bool = False  # the environment named GPUs by UUID: the child gets UUIDs too
    hidden: list[Any] = field(default_factory=list)  # GPUs NVML sees that the environment hides
    notes: list[str] = field(default_factory=list)

    @property
    def has_gpus(self) -> bool:
        return bool(self.devices)

    def token(self, gpu: Any) -> str:
        """How ``gpu`` is written in the child's ``CUDA_VISIBLE_DEVICES``."""
        return str(gpu.uuid) if self.use_uuids else str(gpu.index)


def visible_state(devices: Sequence[Any], environ: Mapping[str, str] | None = None,
                  error: str | None = None) -> GpuState:
    """Restrict NVML's ``devices`` to the environment's ``CUDA_VISIBLE_DEVICES`` (if any)."""
    environ = os.environ if environ is None else environ
    raw = environ.get("CUDA_VISIBLE_DEVICES")
    entries = parse_visible_devices(raw)
    if entries is None:
        return GpuState(list(devices), error)
    state = GpuState([], error, raw, use_uuids=any(not e.isdigit() for e in entries))
    for entry in entries:
        match = [g for g in devices if _gpu_matches(g, entry)]
        if match and match[0] not in state.devices:
            state.devices.append(match[0])
        elif entry.startswith("MIG-"):
            state.notes.append(f"CUDA_VISIBLE_DEVICES entry {entry} is a MIG instance; pick it by hand")
    state.hidden = [g for g in devices if g not in state.devices]
    if entries and any(e.isdigit() for e in entries) and environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
        state.notes.append(f"CUDA_VISIBLE_DEVICES={raw} read as NVML (PCI bus) indices; "
                           "launches set CUDA_DEVICE_ORDER=PCI_BUS_ID")
    if devices and not state.devices:
        state.error = state.error or (f"CUDA_VISIBLE_DEVICES={raw!r} in this shell hides every GPU "
                                      "(unset it to pick GPUs)")
    return state


def gpu_state(backend: Any = None, environ: Mapping[str, str] | None = None) -> GpuState:
    """Sample ``backend`` once (default: a fresh ``open_backend("auto")``, closed again); no driver
    or a failing driver gives a state with ``error``, never an exception."""
    from epam_tui.core import gpus

    owned = backend is None
    try:
        backend = gpus.open_backend("auto") if owned else backend
        devices = list(backend.devices())
    except gpus.GpuUnavailable as exc:
        return visible_state([], environ, error=str(getattr(exc, "reason", exc)) or "no NVIDIA driver")
    except Exception as exc:  # a broken driver must not take the launcher down: report it, offer the CPU
        return visible_state([], environ, error=f"GPU query failed: {type(exc).__name__}: {exc}")
    finally:
        if owned and backend is not None:
            backend.close()
    if not devices:
        return visible_state([], environ, error="NVML reports no GPU")
    return visible_state(devices, environ)


def pick_gpus(spec: str, state: GpuState) -> list[Any] | None:
    """``--gpus`` text -> the picked GpuInfo list, or None for ``cpu``.

    Accepts ``cpu``, ``all``, or a comma list of NVML indices (as nvidia-smi and the TUI show them)
    and/or GPU UUIDs (prefixes allowed).
    """
    spec = spec.strip()
    if spec.lower() == "cpu":
        return None
    if not state.has_gpus:
        raise LaunchError(f"--gpus {spec}: no GPU available ({state.error or 'none found'}); use --gpus cpu")
    if spec.lower() == "all":
        return list(state.devices)
    picks: list[Any] = []
    for token in (t.strip() for t in spec.split(",")):
        if not token or not (token.isdigit() or re.fullmatch(r"(GPU|MIG)-[0-9A-Za-z/-]+", token)):
            raise LaunchError(f"--gpus {spec}: {token!r} is not a GPU index or UUID; e.g. --gpus 0,1 or --gpus cpu")
        gpu = next((g for g in state.devices if _gpu_matches(g, token)), None)
        if gpu is None:
            hidden = next((g for g in state.hidden if _gpu_matches(g, token)), None)
            if hidden is not None:
                shown = ",".join(str(g.index) for g in state.devices)
                raise LaunchError(f"--gpus {spec}: GPU {token} is hidden by CUDA_VISIBLE_DEVICES={state.visible_env} "
                                  f"in this shell; pick from {shown} or unset it")
            shown = ",".join(str(g.index) for g in state.devices)
            raise LaunchError(f"--gpus {spec}: no GPU {token} on this machine; pick from {shown}")
        if gpu in picks:
            raise LaunchError(f"--gpus {spec}: GPU {token} given twice")
        picks.append(gpu)
    return picks


def _mib(value: Any) -> float:
    """GpuInfo memory figures are bytes (NVML's unit); None counts as 0."""
    return float(value or 0) / 2**20


def busy_reasons(gpu: Any, ours: Mapping[str, str] | None = None,
                 threshold_mib: float = BUSY_MEMORY_MIB) -> list[str]:
    """Why ``gpu`` needs a confirm: memory in use, processes on it, a live run of ours on it.

    ``ours`` maps a GPU UUID (or ``"index:N"``) to the name of a live run of ours using it.
    """
    ours = ours or {}
    reasons = []
    owner = ours.get(str(gpu.uuid)) or ours.get(f"index:{gpu.index}")
    if owner:
        reasons.append(f"used by our run {owner}")
    used = _mib(getattr(gpu, "memory_used", 0))
    if used > threshold_mib:
        reasons.append(f"{used / 1024:.1f} GiB in use")
    procs = list(getattr(gpu, "processes", None) or [])
    if procs:
        shown = ", ".join(f"{p.user or '?'}:{p.name or '?'}({p.pid})" for p in procs[:3])
        more = f" +{len(procs) - 3}" if len(procs) > 3 else ""
        reasons.append(f"{len(procs)} process{'es' if len(procs) > 1 else ''}: {shown}{more}")
    return reasons


def describe_gpu(gpu: Any) -> str:
    """One line: ``GPU 1  NVIDIA A100  12.3/80.0 GiB  87%``."""
    used, total = _mib(gpu.memory_used) / 1024, _mib(gpu.memory_total) / 1024
    util = "?" if gpu.util is None else f"{gpu.util:.0f}%"
    return f"GPU {gpu.index}  {gpu.name}  {used:.1f}/{total:.1f} GiB  {util}"


def gpus_of_runs(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Map each GPU used by the given (live) run records to the run's name (see ``busy_reasons``)."""
    out: dict[str, str] = {}
    for rec in records:
        for g in rec.get("gpus") or []:
            name = str(rec.get("name", "?"))
            if g.get("uuid"):
                out[str(g["uuid"])] = name
            if g.get("index") is not None:
                out[f"index:{g['index']}"] = name
    return out


def auto_gpus(state: GpuState, count: int, live: Sequence[Mapping[str, Any]] = ()) -> list[Any] | None:
    """The first ``count`` idle visible GPUs (fewer if fewer are idle); None (CPU) when there is no GPU."""
    if not state.has_gpus:
        return None
    ours = gpus_of_runs(live)
    idle = [g for g in state.devices if not busy_reasons(g, ours)]
    if not idle:
        shown = ",".join(str(g.index) for g in state.devices)
        raise LaunchError(f"every GPU ({shown}) is busy; pick some with --gpus N --yes, or use --gpus cpu")
    return idle[:count]
