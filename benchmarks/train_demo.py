"""The main job's figures: `epam train configs/epam_synthetic_demo.yaml` on the synthetic dataset.

    python benchmarks/train_demo.py           # the demo as configured: wall time to >= 90% val top-1
    python benchmarks/train_demo.py --quick   # 1 epoch on a tiny dataset (CI): checks the plumbing only

Prints the wall time from launching `python -m epam.train` to the first validation at >= 90% top-1
(target <= 5 min on 2 CPU cores; it includes start-up, data loading, validations and checkpoints),
the best/final accuracy, training samples/s, and the data-time share of the iteration time
(target <= 10%), all read back from the run directory the trainer writes. The times are only
meaningful on a quiet machine: compare `time` in the iteration lines with a single-user run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "configs/epam_synthetic_demo.yaml"
TARGET_ACC, TARGET_S, TARGET_DATA = 0.90, 300.0, 0.10


def bench(figure: str, value, unit: str, target: str | None = None, passed: bool | None = None) -> None:
    print("BENCH " + json.dumps({"figure": figure, "value": value, "unit": unit, "reference": None, "ratio": None,
                                 "target": target, "passed": passed}))


def make_data(quick: bool, tmp: Path, env: dict) -> list[str]:
    """Make the dataset if needed; returns the --set overrides that point the config at it."""
    if not quick:
        if not (ROOT / "data/synthetic_demo/synthetic_2d.pkl").exists():
            subprocess.run([sys.executable, "-m", "epam.cli", "make-synthetic", "--config", CONFIG], check=True,
                           cwd=ROOT, env=env, capture_output=True)
        return []
    data = tmp / "data"
    subprocess.run([sys.executable, "-m", "epam.cli", "make-synthetic", "--out", str(data), "--num-classes", "4",
                    "--per-class", "5", "--frames", "24", "--size", "64"], check=True, cwd=ROOT, env=env,
                   capture_output=True)
    return [f"data.ann_file={data / 'synthetic_2d.pkl'}", f"data.video_root={data / 'videos'}", "model.num_classes=4",
            "train.max_epochs=1", "scheduler.T_max=1", "data.num_workers=0"]


def read_records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def train_and_watch(work: Path, overrides: list[str], env: dict) -> tuple[int, float, dict[int, float], str]:
    """Run the trainer; (exit code, wall s, {epoch: wall s when its val record appeared}, stderr tail)."""
    argv = [sys.executable, "-m", "epam.train", CONFIG, "--work-dir", str(work)] + (["--set", *overrides] if overrides else [])
    start = time.time()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seen: dict[int, float] = {}
    while proc.poll() is None:
        time.sleep(0.25)
        for rec in read_records(work / "scalars.jsonl"):
            if "acc/top1" in rec:
                seen.setdefault(rec["epoch"], time.time() - start)
    wall = time.time() - start
    for rec in read_records(work / "scalars.jsonl"):
        if "acc/top1" in rec:
            seen.setdefault(rec["epoch"], wall)
    return proc.returncode, wall, seen, (proc.stderr.read() if proc.stderr else "")[-2000:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 epoch on a tiny dataset: the plumbing only")
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS (default: torch's, all cores)")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="epam_demo_bench_"))
    work = tmp / "run"
    code, wall, val_at, err = train_and_watch(work, make_data(args.quick, tmp, env), env)
    if code != 0:
        print(err, file=sys.stderr)
        return 1
    cfg = yaml.safe_load((work / "config.yaml").read_text())
    status = json.loads((work / "status.json").read_text())
    recs = read_records(work / "scalars.jsonl")
    train = [r for r in recs if "lr" in r]
    val = {r["epoch"]: r["acc/top1"] for r in recs if "acc/top1" in r}
    # each record's time/data_time is the mean over the iterations since the previous record
    counts = [b["step"] - a["step"] for a, b in zip([{"step": 0}] + train, train)]
    iters = sum(counts)
    step_time = sum(r["time"] * n for r, n in zip(train, counts)) / iters
    data_share = sum(r["data_time"] * n for r, n in zip(train, counts)) / (step_time * iters)
    batch = int(cfg["data"]["batch_per_gpu"]) * int(status["world_size"])
    t90 = next((val_at[e] for e in sorted(val) if val[e] >= TARGET_ACC), None)
    label = " [quick: plumbing only]" if args.quick else ""
    print(f"demo: {len(val)} validations {[round(val[e], 3) for e in sorted(val)]}; best {max(val.values()):.3f}; "
          f"wall {wall:.0f} s for {status['max_epochs']} epochs x {status['iters_per_epoch']} iterations of "
          f"{batch} clips; mean iteration {step_time:.3f} s ({batch / step_time:.1f} samples/s); "
          f"data_time share {100 * data_share:.1f}%")
    print(f"time from launch to >= {TARGET_ACC:.0%} val top-1: {'not reached' if t90 is None else f'{t90:.0f} s'}")
    full = not args.quick
    bench("demo wall time to >=90% val top-1" + label, t90, "s", f"<= {TARGET_S:.0f} s",
          (t90 is not None and t90 <= TARGET_S) if full else None)
    bench("demo best val top-1" + label, max(val.values()), "fraction", ">= 0.90",
          max(val.values()) >= TARGET_ACC if full else None)
    bench("demo total wall time" + label, wall, "s")
    bench("demo train samples/s" + label, batch / step_time, "samples/s")
    bench("demo data_time share" + label, 100 * data_share, "%", "<= 10%", data_share <= TARGET_DATA)
    return 0


if __name__ == "__main__":
    sys.exit(main())
