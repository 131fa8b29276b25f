"""GPU telemetry through NVML (``nvidia-ml-py``, imported as ``pynvml``), with a fake backend.

- ``NvmlBackend``: initialises NVML once, caches device handles, asks for the process lists at most
  every ``process_ttl`` seconds (they are the slowest query), and turns unsupported fields into None.
- ``FakeBackend``: scripted devices for tests, demos and soak runs; can fail after N calls.
- ``open_backend("auto")``: ``EPAM_TUI_FAKE_GPUS=N`` (or a JSON file of devices) gives a fake backend;
  otherwise NVML; with no driver, a backend whose ``devices()`` raises ``GpuUnavailable``.
- ``GpuSampler.sample()`` never raises: it returns a snapshot with devices or an error text.

NVML enumerates GPUs in PCI bus order; launches set ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` so the indices
agree with CUDA's. NVML "utilisation" is the share of time a kernel was running, not occupancy.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol


class GpuUnavailable(Exception):
    """No GPU telemetry: the reason is in ``reason`` (and ``str()``)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class GpuProcess:
    pid: int
    used_memory: int | None  # bytes
    name: str = ""
    user: str = ""


@dataclass
class GpuInfo:
    index: int
    uuid: str
    name: str
    memory_used: int  # bytes
    memory_total: int  # bytes
    util: float | None = None  # percent
    temperature: float | None = None  # Celsius
    power: float | None = None  # W
    processes: list[GpuProcess] = field(default_factory=list)


@dataclass
class GpuSnapshot:
    time: float
    devices: list[GpuInfo]
    error: str | None = None


class GpuBackend(Protocol):
    def devices(self) -> list[GpuInfo]: ...

    def close(self) -> None: ...


def _process_owner(pid: int) -> tuple[str, str]:
    try:
        import psutil

        proc = psutil.Process(pid)
        return proc.name(), proc.username()
    except Exception:  # noqa: BLE001 - the process may be gone or in another namespace
        return "", ""


class NvmlBackend:
    """Real GPUs through pynvml."""

    def __init__(self, process_ttl: float = 2.0):
        try:
            import pynvml
        except ImportError as exc:  # pragma: no cover - nvidia-ml-py is a dependency
            raise GpuUnavailable(f"NVML: nvidia-ml-py is not installed ({exc})") from None
        self.nvml = pynvml
        try:
            pynvml.nvmlInit()
        except Exception as exc:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...
            raise GpuUnavailable(f"NVML: {exc}") from None
        count = pynvml.nvmlDeviceGetCount()
        self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self.static = [(self._str(pynvml.nvmlDeviceGetUUID(h)), self._str(pynvml.nvmlDeviceGetName(h)))
                       for h in self.handles]
        self.process_ttl = process_ttl
        self._memory_v2 = hasattr(pynvml, "nvmlMemory_v2")
        self._procs: list[list[GpuProcess]] = [[] for _ in self.handles]
        self._procs_time = -math.inf

    @staticmethod
    def _str(value: Any) -> str:
        return value.decode() if isinstance(value, bytes) else str(value)

    def _try(self, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception:  # noqa: BLE001 - NVMLError_NotSupported and friends -> unknown
            return None

    def _processes(self, handle: Any) -> list[GpuProcess]:
        out = []
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            for p in self._try(lambda: getattr(self.nvml, getter)(handle)) or []:
                name, user = _process_owner(p.pid)
                used = getattr(p, "usedGpuMemory", None)
                out.append(GpuProcess(p.pid, used if isinstance(used, int) else None, name, user))
        return out

    def _memory(self, handle: Any) -> Any:
        """Memory as nvidia-smi shows it: NVML's v2 query, whose ``used`` leaves out the driver's reserved
        memory (the v1 query counts it: ~600 MiB more on an H200). Drivers without v2 get v1."""
        if self._memory_v2:
            try:
                return self.nvml.nvmlDeviceGetMemoryInfo(handle, version=self.nvml.nvmlMemory_v2)
            except Exception:  # noqa: BLE001 - NVMLError_FunctionNotFound / NotSupported on old drivers
                self._memory_v2 = False
        return self.nvml.nvmlDeviceGetMemoryInfo(handle)

    def devices(self) -> list[GpuInfo]:
        nv = self.nvml
        now = time.monotonic()
        refresh = now - self._procs_time >= self.process_ttl
        if refresh:
            self._procs_time = now
        out = []
        for i, h in enumerate(self.handles):
            mem = self._memory(h)
            util = self._try(lambda: nv.nvmlDeviceGetUtilizationRates(h).gpu)
            temp = self._try(lambda: nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
            power = self._try(lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0)
            if refresh:
                self._procs[i] = self._processes(h)
            uuid, name = self.static[i]
            out.append(GpuInfo(i, uuid, name, int(mem.used), int(mem.total),
                               None if util is None else float(util), None if temp is None else float(temp),
                               power, list(self._procs[i])))
        return out

    def close(self) -> None:
        try:
            self.nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001
            pass


class FakeBackend:
    """Scripted GPUs: a fixed list, or a callable called with the call count; optional failure."""

    def __init__(self, devices: list[GpuInfo] | Callable[[int], list[GpuInfo]], fail_after: int | None = None,
                 reason: str = "NVML: fake failure (GPU fell off the bus)"):
        self._devices = devices
        self.fail_after = fail_after
        self.reason = reason
        self.calls = 0

    def devices(self) -> list[GpuInfo]:
        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise GpuUnavailable(self.reason)
        return list(self._devices(self.calls) if callable(self._devices) else self._devices)

    def close(self) -> None:
        pass


class UnavailableBackend:
    """What ``open_backend`` returns when there is no NVIDIA driver."""

    def __init__(self, reason: str):
        self.reason = reason

    def devices(self) -> list[GpuInfo]:
        raise GpuUnavailable(self.reason)

    def close(self) -> None:
        pass


def scripted_gpus(n: int, model: str = "Fake A100 80GB") -> Callable[[int], list[GpuInfo]]:
    """N idle fake GPUs (under 1 GiB in use, no processes) whose utilisation moves with each call."""
    mib = 2**20

    def devices(call: int) -> list[GpuInfo]:
        out = []
        for i in range(n):
            util = 50 + 45 * math.sin((call + 3 * i) / 7.0)
            out.append(GpuInfo(i, f"GPU-fake{i:04d}-0000-0000-0000-000000000000", model,
                               int((400 + 50 * i + 100 * math.sin(call / 5.0)) * mib), 80 * 1024 * mib, round(util, 1),
                               45.0 + i + util / 10, 90.0 + 2 * util, []))
        return out
    return devices


def _fake_from_env(value: str) -> FakeBackend | None:
    if value.isdigit():
        return FakeBackend(scripted_gpus(int(value)))
    if os.path.isfile(value):
        with open(value, encoding="utf-8") as fh:
            items = json.load(fh)
        return FakeBackend([GpuInfo(**{**d, "processes": [GpuProcess(**p) for p in d.get("processes", [])]})
                            for d in items])
    return None


def open_backend(kind: str = "auto") -> GpuBackend:
    """``auto``: the fake backend named by ``EPAM_TUI_FAKE_GPUS``, else NVML, else an unavailable one."""
    fake = os.environ.get("EPAM_TUI_FAKE_GPUS", "").strip()
    if kind in ("auto", "fake") and fake:
        backend = _fake_from_env(fake)
        if backend is not None:
            return backend
    if kind == "fake":
        return FakeBackend(scripted_gpus(2))
    try:
        return NvmlBackend()
    except GpuUnavailable as exc:
        return UnavailableBackend(exc.reason)


class GpuSampler:
    """Samples a backend; ``sample()`` never raises (an error becomes ``snapshot.error``)."""

    def __init__(self, backend: GpuBackend | None = None):
        self.backend = backend if backend is not None else open_backend("auto")
        self.last: GpuSnapshot | None = None

    def sample(self) -> GpuSnapshot:
        try:
            snap = GpuSnapshot(time.time(), self.backend.devices())
        except GpuUnavailable as exc:
            snap = GpuSnapshot(time.time(), [], exc.reason)
        except Exception as exc:  # noqa: BLE001 - a broken driver must not take the TUI down
            snap = GpuSnapshot(time.time(), [], f"NVML: {type(exc).__name__}: {exc}")
        self.last = snap
        return snap
