"""More checklist rules: GPU utilisation samples, the data sample, train.log vs the best checkpoint,
`epam verify` recorded through the command, and the rerun comparison."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from epam_tui.core import checks
from epam_tui.core.checklist_store import load_store, record

FIXTURE = Path(__file__).parent / "fixtures" / "runs" / "demo-finished"


def test_gpu_util_from_events(tmp_path: Path) -> None:
    assert checks.check_gpu_util([]).verdict == "unknown"
    (tmp_path / "events.jsonl").write_text("\n".join(json.dumps(r) for r in [
        {"time": 1, "kind": "alert", "message": "x"},  # not a utilisation record
        *({"time": t, "kind": "gpu", "util": [95, 85]} for t in range(10)),
        "garbage",
    ]) + "\n")
    samples = checks.util_samples(tmp_path)
    assert samples == [90.0] * 10
    good = checks.check_gpu_util(samples)
    assert good.verdict == "pass" and "90%" in good.evidence and "not SM occupancy" in good.evidence
    # starved GPU in the recent window: early samples do not rescue it
    assert checks.check_gpu_util([99.0] * 100 + [40.0] * 60, window=60).verdict == "fail"
    (tmp_path / "gpu_util.jsonl").write_text('{"time": 1, "util": 30}\n')
    assert checks.util_samples(tmp_path) == [30.0]  # the dedicated file wins


def _data(tmp_path: Path, present: int) -> dict:
    ann, videos = tmp_path / "ann.pkl", tmp_path / "videos"
    videos.mkdir()
    entries = [{"frame_dir": f"S001C001P001R001A{i:03d}", "label": i} for i in range(8)]
    ann.write_bytes(pickle.dumps({"split": {"train": [e["frame_dir"] for e in entries]}, "annotations": entries}))
    for e in entries[:present]:
        (videos / f"{e['frame_dir']}_rgb.mp4").write_bytes(b"\0")
    return {"data": {"ann_file": str(ann), "video_root": str(videos), "rgb_source": "video"}}


def test_data_sample(tmp_path: Path) -> None:
    ok = checks.check_data(_data(tmp_path, 8), sample=5)
    assert ok.verdict == "pass" and "8 entries" in ok.evidence and "first 5" in ok.evidence
    shutil.rmtree(tmp_path / "videos")
    (tmp_path / "ann.pkl").unlink()
    bad = checks.check_data(_data(tmp_path, 3), sample=5)
    assert bad.verdict == "fail" and "2 of the first 5" in bad.evidence and "A003" in bad.evidence
    missing = checks.check_data({"data": {"ann_file": str(tmp_path / "nope.pkl"), "video_root": str(tmp_path)}})
    assert missing.verdict == "fail" and "nope.pkl" in missing.evidence
    (tmp_path / "ann.pkl").write_bytes(b"not a pickle")
    assert checks.check_data(_data_paths(tmp_path)).verdict == "unknown"


def _data_paths(tmp_path: Path) -> dict:
    return {"data": {"ann_file": str(tmp_path / "ann.pkl"), "video_root": str(tmp_path / "videos")}}


def test_best_checkpoint_against_train_log() -> None:
    epochs, acc = np.array([1, 2, 3]), np.array([0.5, 0.9, 0.8])
    log = ["... - mmengine - INFO - Saving checkpoint at 2 epochs",
           "... - mmengine - INFO - The best checkpoint with 0.9000 acc/top1 at 2 epoch is saved to "
           "best_acc_top1_epoch_2.pth."]
    assert checks.parse_checkpoint_log(log) == ({2}, 2)
    ok = checks.check_best_checkpoint(epochs, acc, ["best_acc_top1_epoch_2.pth"], log)
    assert ok.verdict == "pass" and "train.log agrees" in ok.evidence
    stale = log[:1] + [log[1].replace("at 2 epoch", "at 3 epoch")]
    bad = checks.check_best_checkpoint(epochs, acc, ["best_acc_top1_epoch_2.pth"], stale)
    assert bad.verdict == "fail" and "epoch 3" in bad.evidence and bad.where == {"epoch": 2}


def test_verify_recorded_by_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    from epam_tui.commands import checklist as cmd

    run = tmp_path / "run"
    shutil.copytree(FIXTURE, run)
    calls = []

    def fake_verify(config):
        calls.append(Path(config))
        return {"ok": False, "message": "forward: shape mismatch", "failed_check": "forward", "time": 1.0}

    monkeypatch.setattr(checks, "run_verify", fake_verify)
    assert cmd.main([str(run), "--verify"]) == 1
    assert calls == [run / "config.yaml"] and load_store(run)["verify"]["ok"] is False
    assert "[FAIL] interface check `epam verify` passed: forward: shape mismatch" in capsys.readouterr().out
    record(run, "verify", {"ok": True, "message": "all checks passed"})
    item = next(r for r in checks.evaluate(run) if r.id == "verify")
    assert item.verdict == "pass"


def test_reproducible_with_rerun(tmp_path: Path) -> None:
    run, rerun = tmp_path / "run", tmp_path / "rerun"
    shutil.copytree(FIXTURE, run)
    shutil.copytree(FIXTURE, rerun)
    assert next(r for r in checks.evaluate(run) if r.id == "reproducible").verdict == "pending"
    record(run, "rerun", str(rerun))
    assert next(r for r in checks.evaluate(run) if r.id == "reproducible").verdict == "pass"
    lines = (rerun / "scalars.jsonl").read_text().splitlines()
    val = [i for i, line in enumerate(lines) if "acc/top1" in line][-1]
    rec = json.loads(lines[val])
    rec["acc/top1"] -= 0.02  # 2 points off: beyond the 1-point tolerance
    lines[val] = json.dumps(rec)
    (rerun / "scalars.jsonl").write_text("\n".join(lines) + "\n")
    item = next(r for r in checks.evaluate(run) if r.id == "reproducible")
    assert item.verdict == "fail" and "rerun" in item.evidence


def test_gpus_available() -> None:
    from epam_tui.core.gpus import FakeBackend, GpuInfo
    from epam_tui.core.registry import RunData

    dev = [GpuInfo(0, "GPU-aaa", "A100", 2**30, 80 * 2**30), GpuInfo(1, "GPU-bbb", "A100", 2**30, 80 * 2**30)]
    by_hand = RunData(Path("r"), "r", "epam")
    ok = checks.check_gpus(by_hand, {"train": {"gpus": 2}}, FakeBackend(dev))
    assert ok.verdict == "pass" and "2 GPU(s) visible" in ok.evidence and "79 GiB free" in ok.evidence
    assert checks.check_gpus(by_hand, {"train": {"gpus": 4}}, FakeBackend(dev)).verdict == "fail"
    launched = RunData(Path("r"), "r", "epam", run={"gpus": [{"index": 3, "uuid": "GPU-ccc"}]})
    gone = checks.check_gpus(launched, None, FakeBackend(dev))
    assert gone.verdict == "fail" and "3" in gone.evidence
    assert checks.check_gpus(launched, None, FakeBackend(dev, fail_after=0)).verdict == "unknown"


def test_best_checkpoint_must_load(tmp_path: Path) -> None:
    """The best epoch's file is loaded for real (torch, weights_only, in a subprocess): a truncated
    file fails the item even though its name is right; a good one passes; results are cached per file."""
    import torch

    epochs, acc = np.array([1, 2]), np.array([0.5, 0.9])
    good = tmp_path / "best_acc_top1_epoch_2.pth"
    torch.save({"state_dict": {"w": torch.ones(3)}, "epoch": 2}, good)
    ok = checks.check_best_checkpoint(epochs, acc, [good.name], None, tmp_path, checks.cached_load_check)
    assert ok.verdict == "pass" and "loads with weights_only=True" in ok.evidence
    good.write_bytes(good.read_bytes()[:40])  # truncated by a crash mid-copy
    bad = checks.check_best_checkpoint(epochs, acc, [good.name], None, tmp_path, checks.cached_load_check)
    assert bad.verdict == "fail" and good.name in bad.evidence
    calls = []
    checks.check_best_checkpoint(epochs, acc, [good.name], None, tmp_path,
                                 lambda p: calls.append(p) or (True, "ok"))
    assert calls == [good]  # the best_* file is the one loaded
