"""The GPU path, measured for real: NVML panel vs nvidia-smi, NCCL/AMP training, GPU utilisation, step time.

    python benchmarks/gpu_check.py            # on a CUDA machine: about 5-7 minutes, one table at the end
    python benchmarks/gpu_check.py --quick    # smaller datasets and fewer steps (what run_all --quick runs)
    python benchmarks/gpu_check.py --cpu      # the same steps on the CPU at tiny sizes (tests this script)

On a machine without CUDA it prints why it skipped and exits 0. What it measures:

1. NVML as the monitor's GPU panel reads it (``epam_tui.core.gpus.NvmlBackend``) against
   ``nvidia-smi --query-gpu`` sampled right after it, while a matrix-product load keeps the GPU busy:
   name and UUID equal, memory used, utilisation, temperature and power differences.
2. EPAM-Net training step at the NTU60 size (batch 8, RGB 3x16x224x224, pose 17x48x56x56), our per-frame
   2D formulation vs the 3D one with the same weights, fp32 and AMP (fp16 autocast + GradScaler).
3. The synthetic demo trained through ``torchrun`` with AMP on: 2 processes over NCCL when 2 GPUs are
   visible, else 1 process (NCCL needs one GPU per rank). GPU utilisation sampled through NVML
   every 0.25 s while it trains, seconds per iteration and the data-loading share from scalars.jsonl,
   the backend and device from train.log/status.json, final val top-1.
4. The NTU60-size config (``configs/epam_ntu60_optimized.yaml``: batch 8 per GPU, the default loader with
   4 workers, fp32 as configured) on a synthetic NTU60-format dataset at 224x224: the same figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS: list[tuple[str, str, str]] = []  # (check, value, note)


def row(check: str, value: str, note: str = "") -> None:
    ROWS.append((check, value, note))
    print(f"  {check}: {value}" + (f"  ({note})" if note else ""), flush=True)


def bench(label: str, value, unit: str, reference=None, target=None, passed=None) -> None:
    ratio = (reference / value) if reference and value else None
    print("BENCH " + json.dumps({"figure": label, "value": value, "unit": unit, "reference": reference,
                                 "ratio": ratio, "target": target, "passed": passed}), flush=True)


def print_table() -> None:
    widths = [max(len(r[i]) for r in ROWS + [("check", "value", "note")]) for i in range(2)] + [0]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(("check", "value", "note"), widths)))
    for r in ROWS:
        print("  ".join(x.ljust(w) for x, w in zip(r, widths)).rstrip())


# ------------------------------------------------------------------------------------------------
# NVML


class UtilSampler:
    """Our own NVML backend sampled on a thread: per-sample mean utilisation of the given GPUs."""

    def __init__(self, indices: list[int], period: float = 0.25):
        from epam_tui.core.gpus import NvmlBackend

        self.backend = NvmlBackend()
        self.indices = indices
        self.period = period
        self.samples: list[float] = []
        self.memory: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            devs = [d for d in self.backend.devices() if d.index in self.indices]
            utils = [d.util for d in devs if d.util is not None]
            if utils:
                self.samples.append(sum(utils) / len(utils))
            self.memory.append(max((d.memory_used for d in devs), default=0) / 2**20)
            self._stop.wait(self.period)

    def __enter__(self) -> "UtilSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def busy(self) -> list[float]:
        """Samples from the first non-zero one on (start-up, data generation and imports excluded)."""
        first = next((i for i, s in enumerate(self.samples) if s > 0), len(self.samples))
        return self.samples[first:]


def nvidia_smi() -> list[dict]:
    fields = "index,uuid,name,memory.used,memory.total,utilization.gpu,temperature.gpu,power.draw"
    out = subprocess.run(["nvidia-smi", f"--query-gpu={fields}", "--format=csv,noheader,nounits"],
                         capture_output=True, text=True, timeout=30, check=True).stdout
    rows = []
    for line in out.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        num = lambda s: float(s) if s not in ("[N/A]", "N/A", "[Not Supported]") else None  # noqa: E731
        rows.append({"index": int(parts[0]), "uuid": parts[1], "name": parts[2], "memory_used": num(parts[3]),
                     "memory_total": num(parts[4]), "util": num(parts[5]), "temperature": num(parts[6]),
                     "power": num(parts[7])})
    return rows


def matmul_load(seconds: float) -> subprocess.Popen:
    code = ("import torch,time\n"
            "a=torch.randn(8192,8192,device='cuda',dtype=torch.bfloat16);b=torch.randn_like(a)\n"
            f"end=time.time()+{seconds}\n"
            "while time.time()<end:\n  c=a@b\n  torch.cuda.synchronize()\n")
    return subprocess.Popen([sys.executable, "-c", code])


def check_nvml(samples: int) -> None:
    from epam_tui.core.gpus import NvmlBackend

    backend = NvmlBackend()
    load = matmul_load(samples * 1.0 + 6)
    time.sleep(4)  # the load's CUDA context is up and the utilisation window is full
    diffs: dict[str, list[float]] = {"memory_used": [], "util": [], "temperature": [], "power": []}
    same_ids = True
    ours_util: list[float] = []
    try:
        for _ in range(samples):
            ours = {d.index: d for d in backend.devices()}
            smi = nvidia_smi()
            for s in smi:
                o = ours.get(s["index"])
                if o is None:
                    same_ids = False
                    continue
                same_ids &= (o.uuid == s["uuid"] and o.name == s["name"])
                if s["index"] == 0 and o.util is not None:
                    ours_util.append(o.util)
                for key, value in (("memory_used", o.memory_used / 2**20), ("util", o.util),
                                   ("temperature", o.temperature), ("power", o.power)):
                    if value is not None and s[key] is not None:
                        diffs[key].append(abs(value - s[key]))
            time.sleep(1.0)
    finally:
        load.wait(timeout=60)
        backend.close()
    n = len(smi)
    row("NVML vs nvidia-smi: GPUs, names, UUIDs", f"{n} GPU(s), {'equal' if same_ids else 'DIFFER'}",
        ", ".join(f"{s['index']}: {s['name']}" for s in smi))
    units = {"memory_used": "MiB", "util": "points", "temperature": "C", "power": "W"}
    for key, values in diffs.items():
        if values:
            row(f"NVML vs nvidia-smi: {key} |diff|", f"max {max(values):.1f} {units[key]}, "
                f"mean {statistics.mean(values):.1f}", f"{len(values)} paired samples under a bf16 matmul load")
    if ours_util:
        row("NVML utilisation under matmul load (GPU 0)", f"{statistics.median(ours_util):.0f}%", "median")
    bench("NVML vs nvidia-smi memory |diff| (max)", max(diffs["memory_used"] or [0.0]), "MiB")


# ------------------------------------------------------------------------------------------------
# model step


def check_step(device: str, quick: bool) -> None:
    import torch

    from epam.model import build_model
    from epam.model.reference3d import forward3d

    batch, t, s, k = (8, 16, 224, 60) if device == "cuda" else (2, 4, 64, 10)
    repeats = 5 if quick else 15
    model = build_model({"num_classes": k, "rgb_clip_len": t, "pose_clip_len": 3 * t}).to(device).train()
    imgs = torch.randn(batch, 3, t, s, s, device=device)
    heat = torch.rand(batch, 17, 3 * t, s // 4, s // 4, device=device)
    labels = torch.arange(batch, device=device) % k

    def timed(forward, amp: bool) -> tuple[float, float]:
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=3e-4)
        scaler = torch.amp.GradScaler(device, enabled=amp and device == "cuda")

        def step() -> None:
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device, enabled=amp and device == "cuda"):
                rgb, pose = forward(imgs, heat)
                total, _, _ = model.loss(rgb, pose, labels)
            scaler.scale(total).backward()
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), 40)
            scaler.step(opt)
            scaler.update()

        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        for _ in range(3):
            step()
        sync()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            step()
            sync()
            times.append(time.perf_counter() - t0)
        peak = torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else 0.0
        return statistics.median(times), peak

    size = f"batch {batch}, RGB 3x{t}x{s}x{s}, pose 17x{3 * t}x{s // 4}x{s // 4}"
    for amp in ((False, True) if device == "cuda" else (False,)):
        ours, peak = timed(model, amp)
        ref, peak3d = timed(lambda i, h: forward3d(model, i, h), amp)
        label = "AMP fp16" if amp else "fp32"
        row(f"train step, 2D (ours) vs 3D formulation, {label}", f"{ours * 1000:.1f} ms vs {ref * 1000:.1f} ms "
            f"({ref / ours:.2f}x)", f"{size}; peak {peak:.1f} / {peak3d:.1f} GiB; median of {repeats}")
        bench(f"GPU train step 2D vs 3D, {label}", ours, "s/step", ref)


# ------------------------------------------------------------------------------------------------
# training runs


def make_dataset(out: Path, classes: int, per_class: int, size: int, frames: int) -> subprocess.Popen:
    argv = [sys.executable, "-m", "epam.cli", "make-synthetic", "--out", str(out), "--num-classes", str(classes),
            "--per-class", str(per_class), "--size", str(size), "--frames", str(frames)]
    log = open(out.parent / f"{out.name}.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def wait_dataset(proc: subprocess.Popen, out: Path, timeout: float) -> None:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise RuntimeError(f"making {out} took over {timeout:.0f} s") from None
    if proc.returncode != 0:
        raise RuntimeError(f"make-synthetic {out} failed: {(out.parent / (out.name + '.log')).read_text()[-500:]}")


def read_scalars(work: Path) -> tuple[list[dict], list[dict]]:
    train, val = [], []
    path = work / "scalars.jsonl"
    for line in path.read_text().splitlines() if path.exists() else []:
        rec = json.loads(line)
        if "lr" in rec:
            train.append(rec)
        elif "acc/top1" in rec:
            val.append(rec)
    return train, val


def train_run(label: str, config: str, work: Path, overrides: list[str], nproc: int, gpus: list[int],
              device: str, timeout: float) -> None:
    if nproc > 1:
        argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
                "-m", "epam.train"]
    else:
        argv = [sys.executable, "-m", "epam.train"]
    argv += [config, "--work-dir", str(work), "--set", *overrides]
    env = dict(os.environ, CUDA_DEVICE_ORDER="PCI_BUS_ID", OMP_NUM_THREADS="4" if device == "cuda" else "1",
               PYTHONUNBUFFERED="1")
    if device == "cuda":
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, gpus))
    start = time.perf_counter()
    sampler = UtilSampler(gpus) if device == "cuda" else None
    with open(work.parent / f"{work.name}.stdout", "w") as out:
        if sampler:
            sampler.__enter__()
        try:
            proc = subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        finally:
            if sampler:
                sampler.__exit__()
    wall = time.perf_counter() - start
    train, val = read_scalars(work)
    log = (work / "train.log").read_text() if (work / "train.log").exists() else ""
    backend = next((ln.split(key)[1].strip() for ln in log.splitlines() for key in
                    ("distributed backend:", "    distributed:") if key in ln), "?")
    status = json.loads((work / "status.json").read_text()) if (work / "status.json").exists() else {}
    if code != 0:
        tail = (work.parent / f"{work.name}.stdout").read_text().strip().splitlines()[-3:]
        row(f"{label}: exit", str(code), " | ".join(tail)[:300])
        return
    steady = [r for r in train if r.get("epoch", 1) > 1] or train[1:] or train
    s_iter = statistics.median(r["time"] for r in steady) if steady else float("nan")
    data_share = statistics.median(r["data_time"] / r["time"] for r in steady if r.get("time")) if steady else 0
    top1 = val[-1]["acc/top1"] if val else float("nan")
    row(f"{label}: ran", f"{nproc} process(es), backend {backend}, device {status.get('device', '?')}, "
        f"state {status.get('state', '?')}", f"{wall:.0f} s wall, {len(train)} train records, "
        f"{status.get('iter', '?')} iterations")
    row(f"{label}: s/iteration", f"{s_iter:.3f} s (data wait {100 * data_share:.0f}%)",
        "median over epochs after the first")
    row(f"{label}: val top-1 (last epoch)", f"{100 * top1:.1f}%")
    if sampler:
        busy = sampler.busy()
        if busy:
            row(f"{label}: GPU utilisation (NVML)", f"mean {statistics.mean(busy):.0f}%, median "
                f"{statistics.median(busy):.0f}%", f"{len(busy)} samples every 0.25 s on GPU(s) {gpus}, "
                f"peak memory {max(sampler.memory):.0f} MiB")
            bench(f"GPU utilisation, {label}", statistics.mean(busy), "%")
    bench(f"s/iteration, {label}", s_iter, "s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller datasets, fewer steps")
    parser.add_argument("--cpu", action="store_true", help="run the steps on the CPU at tiny sizes (tests this script)")
    parser.add_argument("--keep", default=None, help="keep the datasets and run directories in this folder")
    args = parser.parse_args(argv)
    t_start = time.perf_counter()

    try:
        import torch
    except ImportError as exc:
        print(f"gpu_check: skipped: torch is not importable ({exc})")
        bench("gpu_check (skipped: no torch)", None, "")
        return 0
    cuda = torch.cuda.is_available()
    if not cuda and not args.cpu:
        print(f"gpu_check: skipped: no CUDA device (torch {torch.__version__}, built with CUDA "
              f"{torch.version.cuda or 'none'}); run it on a GPU machine, or with --cpu to test the script")
        bench("gpu_check (skipped: no CUDA)", None, "")
        return 0
    device = "cuda" if cuda and not args.cpu else "cpu"
    n_gpu = torch.cuda.device_count() if device == "cuda" else 0
    row("torch", f"{torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})",
        f"{n_gpu} GPU(s): " + ", ".join(torch.cuda.get_device_name(i) for i in range(n_gpu)) if n_gpu else "CPU")

    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gpu_check-"))
    base.mkdir(parents=True, exist_ok=True)
    tiny = device == "cpu"
    demo_data, ntu_data = base / "demo_data", base / "ntu_data"
    # the datasets are made in the background while the GPU checks run
    demo_proc = make_dataset(demo_data, 10, 4 if tiny else (20 if args.quick else 50), 64, 40)
    ntu_proc = None if tiny else make_dataset(ntu_data, 60, 2 if args.quick else 4, 224, 96)
    try:
        if device == "cuda" and shutil.which("nvidia-smi"):
            check_nvml(samples=4 if args.quick else 8)
        elif device == "cuda":
            row("NVML vs nvidia-smi", "skipped", "nvidia-smi not on PATH")
        if not tiny:  # benchmarks/model_step.py times the CPU step
            check_step(device, args.quick)

        nproc = 2 if n_gpu >= 2 else 1
        wait_dataset(demo_proc, demo_data, 300)
        demo = ["data.ann_file=" + str(demo_data / "synthetic_2d.pkl"), "data.video_root=" + str(demo_data / "videos"),
                f"train.max_epochs={1 if tiny else 3}", "scheduler.T_max=3", f"train.gpus={max(nproc, 1)}",
                f"train.device={device}", "train.amp=true", f"data.num_workers={0 if tiny else 2}", "train.seed=100"]
        if tiny:  # 4 clips per class: X-Sub may leave no validation clip, X-View has some
            demo += ["data.train_split=xview_train", "data.val_split=xview_val"]
        train_run("demo, AMP" + (f", {nproc}-process NCCL" if nproc > 1 else ""), "configs/epam_synthetic_demo.yaml",
                  base / "run_demo", demo, nproc if device == "cuda" else 1, list(range(nproc)), device, 900 if tiny else 240)

        if ntu_proc is not None:
            wait_dataset(ntu_proc, ntu_data, 300)
            # a few clips per class: X-Sub can leave no validation clip (performers follow the clip index)
            split = ["data.train_split=xview_train", "data.val_split=xview_val"]
            ntu = ["data.dataset=synthetic", "data.ann_file=" + str(ntu_data / "synthetic_2d.pkl"),
                   "data.video_root=" + str(ntu_data / "videos"), "train.max_epochs=2", "scheduler.T_max=2",
                   "model.sync_bn=false", "train.device=cuda", "train.gpus=1", *split]
            train_run("NTU60-size, batch 8, 4 workers, fp32", "configs/epam_ntu60_optimized.yaml", base / "run_ntu60",
                      ntu, 1, [0], device, 300)
    finally:
        for proc in (demo_proc, ntu_proc):
            if proc is not None and proc.poll() is None:
                proc.kill()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    row("gpu_check wall time", f"{time.perf_counter() - t_start:.0f} s")
    print_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
