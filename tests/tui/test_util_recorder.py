"""GPU utilisation samples of a run's own GPUs: written for the checklist, and the sustained-low alert."""

from __future__ import annotations

import json
from pathlib import Path

from epam_tui.core.alerts import UtilRecorder
from epam_tui.core.checks import check_gpu_util, util_samples
from epam_tui.core.gpus import GpuInfo, GpuSnapshot
from epam_tui.core.registry import RunData


def gpu(i: int, util: float) -> GpuInfo:
    return GpuInfo(i, f"GPU-{i}", "Fake", 0, 80 * 2**30, util)


def test_samples_written_and_low_alert(tmp_path: Path) -> None:
    run = RunData(tmp_path, "r", "epam", state="running", run={"gpus": [{"index": 1, "uuid": "GPU-1"}]})
    rec = UtilRecorder(interval=5, window=60, target=80)
    alerts = []
    for t in range(0, 70, 1):  # GPU 1 (ours) idles at 30%, GPU 0 (not ours) is busy
        alerts.append(rec.record(run, GpuSnapshot(1000.0 + t, [gpu(0, 99.0), gpu(1, 30.0)])))
    fired = [a for a in alerts if a]
    assert len(fired) == 1 and fired[0].kind == "gpu_low" and "30%" in fired[0].message
    lines = [json.loads(x) for x in (tmp_path / "gpu_util.jsonl").read_text().splitlines()]
    assert len(lines) == 14 and all(x["util"] == [30.0] for x in lines)  # every 5 s, only our GPU
    assert util_samples(tmp_path) == [30.0] * 14
    assert check_gpu_util(util_samples(tmp_path)).verdict == "fail"


def test_not_recorded_when_not_running_or_no_gpus(tmp_path: Path) -> None:
    rec = UtilRecorder()
    snap = GpuSnapshot(1.0, [gpu(0, 90.0)])
    assert rec.record(RunData(tmp_path, "r", "epam", state="finished", run={"gpus": [{"uuid": "GPU-0"}]}), snap) is None
    assert rec.record(RunData(tmp_path, "r", "epam", state="running", run=None), snap) is None
    assert not (tmp_path / "gpu_util.jsonl").exists()
