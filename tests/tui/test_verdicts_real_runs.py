"""Verdicts on real-looking runs (issue 18): an MMEngine work_dir dumped by mmengine itself, an official
EPAM-Net log, a run launched with --set overrides, and a run that trained on the CPU although GPUs
were picked."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from epam.config import load_config
from epam.schedule import expected_lr
from epam_tui.core import checks
from epam_tui.core.compare import run_row
from epam_tui.core.registry import RunData, load_run

ROOT = Path(__file__).resolve().parents[2]
pytest.importorskip("mmengine")
from tests.tui.fixtures.mmengine_work_dir import make_work_dir  # noqa: E402


def checklist_json(run: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "epam_tui.cli", "checklist", str(run), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def test_mmengine_work_dir_checklist(tmp_path: Path) -> None:
    """50 epochs, mmengine's own Config.dump(), a noisy MMAction2 log: state finished, the LR checked
    against the per-iteration cosine, train and val accuracy, the gap and the convergence epoch."""
    work = make_work_dir(tmp_path)
    report = checklist_json(work)
    items = {i["id"]: i for i in report["items"]}
    assert report["kind"] == "mmengine" and report["state"] == "finished"
    assert report["config"].endswith("config.py (MMEngine dump)")
    assert items["config"]["verdict"] == "pass"
    lr = items["lr_schedule"]
    assert lr["verdict"] == "pass" and "200 logged values vs expected CosineAnnealingLR from 0.2 to 0" in lr["evidence"]
    assert float(re.search(r"worst deviation ([0-9.]+)%", lr["evidence"]).group(1)) < 0.05  # 4-digit log rounding
    val = items["val_improving"]
    assert val["verdict"] == "pass" and val["values"]["dips"] >= 10  # a noisy run with many small dips passes
    # train accuracy of epoch 50 = the mean of its 4 logged top1_acc windows
    log = next(work.glob("*/*.log")).read_text()
    windows = [float(x) for x in re.findall(r"Epoch\(train\) \[50\]\[\s*\d+/40\].*?top1_acc: ([0-9.]+)", log)]
    last_val = float(re.findall(r"Epoch\(val\) \[50\]\[33/33\]\s+acc/top1: ([0-9.]+)", log)[0])
    assert len(windows) == 4
    gap = items["gap"]
    assert gap["values"]["epoch"] == 50 and gap["values"]["train_acc"] == pytest.approx(np.mean(windows))
    assert gap["values"]["val_acc"] == pytest.approx(last_val)
    assert "mean of 4 logged top1_acc windows" in gap["evidence"]
    target = items["target"]["values"]
    table = report["table"]
    assert table["final_train"] == pytest.approx(np.mean(windows)) and table["final_val"] == pytest.approx(last_val)
    assert table["gap"] == pytest.approx(np.mean(windows) - last_val)
    assert 20 <= table["convergence"] <= 50 and table["convergence"] == target["convergence_epoch"]
    assert table["train_acc_source"] == "mean of logged top1_acc windows"
    assert items["best_ckpt"]["verdict"] == "pass"
    assert not [i["id"] for i in report["items"] if i["verdict"] == "fail" and i["id"] not in ("target", "gap")]


def test_mmengine_run_that_peaked_and_falls_fails(tmp_path: Path) -> None:
    work = make_work_dir(tmp_path, epochs=40, ipe=20, falls_after=30)
    item = next(i for i in checklist_json(work)["items"] if i["id"] == "val_improving")
    assert item["verdict"] == "fail" and "peaked at" in item["evidence"] and "rule:" in item["evidence"]


def test_official_epam_log_fills_the_table(tmp_path: Path) -> None:
    run = tmp_path / "official"
    run.mkdir()
    lines = []
    for epoch in range(3):  # the official script counts epochs from 0
        for it, acc in ((20, 0.3 + 0.2 * epoch), (40, 0.4 + 0.2 * epoch)):
            lines.append(f"2024-05-01 10:00:00,000 2024-05-01 10:00:00.123 Epoch: [{epoch}][{it}|40] lr: 0.0015000 "
                         f"loss: {3 - epoch:.5f} top1_acc: {acc:.5f} top5_acc: 0.90000")
        lines += ["Evaluating top_k_accuracy ...", f" top1_acc: {0.32 + 0.2 * epoch:.5f}", " top5_acc: 0.90000",
                  "Evaluating mean_class_accuracy ...", f" mean_acc : {0.3 + 0.2 * epoch:.5f}"]
    (run / "20240501_100000.log").write_text("\n".join(lines) + "\n")
    row = run_row(load_run(run))
    assert row["final_train"] == pytest.approx(0.75) and row["final_val"] == pytest.approx(0.72)
    assert row["gap"] == pytest.approx(0.03) and row["convergence"] == 2
    gap = next(r for r in checks.evaluate(run, load_checkpoint=False) if r.id == "gap")
    assert gap.values["train_acc"] == pytest.approx(0.75) and gap.verdict == "fail"  # 3.0 points: not below 3


def _data(root: Path) -> tuple[Path, Path]:
    ann, videos = root / "ann.pkl", root / "videos"
    videos.mkdir()
    entries = [{"frame_dir": f"S001C001P001R001A{i:03d}", "label": i} for i in range(6)]
    ann.write_bytes(pickle.dumps({"split": {"train": [e["frame_dir"] for e in entries]}, "annotations": entries}))
    for e in entries:
        (videos / f"{e['frame_dir']}_rgb.mp4").write_bytes(b"\0")
    return ann, videos


def test_checklist_reads_the_runs_config_not_the_source(tmp_path: Path) -> None:
    """run.json names the source config (NTU60 data paths that do not exist here, MultiStepLR [20, 40]);
    the run was launched with --set overrides (real data paths, milestones [2, 3]) and its config.yaml
    says so. The checklist and the report judge the run by config.yaml."""
    ann, videos = _data(tmp_path)
    source = ROOT / "configs" / "epam_ntu60_baseline.yaml"
    sets = [f"data.ann_file={ann}", f"data.video_root={videos}", "train.max_epochs=4", "scheduler.milestones=[2, 3]"]
    cfg = load_config(source, sets)
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump(cfg))
    (run / "run.json").write_text(json.dumps({"name": "run", "config": str(source), "kind": "epam",
                                              "launch": {"overrides": sets, "cwd": str(tmp_path)}, "nproc": 1,
                                              "gpus": []}))
    ipe = 5
    with open(run / "scalars.jsonl", "w") as fh:
        for step in range(1, 4 * ipe + 1):
            fh.write(json.dumps({"lr": expected_lr(cfg, step - 1, ipe), "loss": 3.0 / step, "epoch": (step - 1) // ipe + 1,
                                 "iter": step, "step": step}) + "\n")
    (run / "status.json").write_text(json.dumps({"state": "finished", "max_epochs": 4, "iters_per_epoch": ipe}))
    items = {r.id: r for r in checks.evaluate(run, load_checkpoint=False)}
    assert items["data"].verdict == "pass", items["data"].evidence  # was: missing data/ntu60/...
    assert items["lr_schedule"].verdict == "pass", items["lr_schedule"].evidence  # was: worst deviation 90%
    assert items["config"].verdict == "pass" and "the run's resolved config" in items["config"].evidence
    from epam_tui.core.report import write_report

    pytest.importorskip("matplotlib")
    text = write_report([run], tmp_path / "report").read_text()
    assert "**PASS** (during) LR follows the configured schedule" in text and "missing:" not in text
    assert f"Config: {run / 'config.yaml'} (the run's resolved config)" in text
    # before the trainer writes config.yaml: the launch's config with its overrides, never the bare source
    (run / "config.yaml").unlink()
    items = {r.id: r for r in checks.evaluate(run, load_checkpoint=False)}
    assert "with the launch's 4 --set override(s)" in items["config"].evidence
    assert items["data"].verdict == "pass" and items["lr_schedule"].verdict == "pass"


def test_gpu_item_says_cpu_when_gpus_were_asked() -> None:
    from epam_tui.core.gpus import FakeBackend, GpuInfo

    gpus = [{"index": 0, "uuid": "GPU-aaa"}, {"index": 1, "uuid": "GPU-bbb"}]
    dev = [GpuInfo(0, "GPU-aaa", "A100", 2**30, 80 * 2**30), GpuInfo(1, "GPU-bbb", "A100", 2**30, 80 * 2**30)]
    on_cpu = RunData(Path("r"), "r", "epam", run={"gpus": gpus}, status={"device": "cpu"})
    item = checks.check_gpus(on_cpu, None, FakeBackend(dev))
    assert item.verdict == "fail" and item.evidence.startswith("cpu (asked 0,1)")
    on_cuda = RunData(Path("r"), "r", "epam", run={"gpus": gpus}, status={"device": "cuda"})
    item = checks.check_gpus(on_cuda, None, FakeBackend(dev))
    assert item.verdict == "pass" and "trains on cuda 0,1" in item.evidence
    cpu_run = RunData(Path("r"), "r", "epam", run={"gpus": [], "nproc": 2}, status={"device": "cpu"})
    assert checks.check_gpus(cpu_run).evidence == "CPU run (2 process(es)); trains on cpu"
