"""NvmlBackend reads memory as nvidia-smi shows it (NVML's v2 query), through a stand-in pynvml module.

On an H200 (benchmarks/gpu_check.py) the v1 query's ``used`` was ~600 MiB above nvidia-smi's: it counts the
driver's reserved memory. v2 leaves it out; drivers without v2 fall back to v1.
"""

from __future__ import annotations

import sys
import types

from epam_tui.core.gpus import NvmlBackend

MIB = 2**20


def fake_pynvml(v2: bool) -> types.ModuleType:
    m = types.ModuleType("pynvml")
    m.nvmlMemory_v2 = 0x02000028

    class Err(Exception):
        pass

    def get_memory(handle, version=None):
        if version is not None:
            if not v2:
                raise Err("NVMLError_FunctionNotFound")
            return types.SimpleNamespace(used=1000 * MIB, total=80_000 * MIB, reserved=600 * MIB)
        return types.SimpleNamespace(used=1600 * MIB, total=80_000 * MIB)

    m.nvmlInit = lambda: None
    m.nvmlShutdown = lambda: None
    m.nvmlDeviceGetCount = lambda: 1
    m.nvmlDeviceGetHandleByIndex = lambda i: object()
    m.nvmlDeviceGetUUID = lambda h: "GPU-x"
    m.nvmlDeviceGetName = lambda h: b"Fake H200"
    m.nvmlDeviceGetMemoryInfo = get_memory
    m.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=50)
    m.nvmlDeviceGetTemperature = lambda h, kind: 40
    m.NVML_TEMPERATURE_GPU = 0
    m.nvmlDeviceGetPowerUsage = lambda h: 100_000
    m.nvmlDeviceGetComputeRunningProcesses = lambda h: []
    m.nvmlDeviceGetGraphicsRunningProcesses = lambda h: []
    return m


def test_memory_used_comes_from_the_v2_query(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(v2=True))
    (gpu,) = NvmlBackend().devices()
    assert gpu.memory_used == 1000 * MIB and gpu.memory_total == 80_000 * MIB
    assert gpu.name == "Fake H200" and gpu.util == 50.0 and gpu.power == 100.0


def test_a_driver_without_v2_falls_back_to_v1(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(v2=False))
    backend = NvmlBackend()
    assert backend.devices()[0].memory_used == 1600 * MIB
    assert backend.devices()[0].memory_used == 1600 * MIB  # and keeps to v1 without asking again
