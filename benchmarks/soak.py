"""Soak: the real TUI (in a pseudo-terminal) following a live demo training run and 8 fake GPUs for a
long time. Samples the TUI process's RSS and CPU with psutil; reports the RSS after the warm-up and at
the end, the growth (also from the end of the first 5 minutes, when the render caches are full),
and the mean CPU (% of one core) over the first and the last 5 minutes.
Target: RSS growth <= 5 MB.

    python benchmarks/soak.py                # 30 minutes
    python benchmarks/soak.py --minutes 10
    python benchmarks/soak.py --quick        # 1 minute in all (CI smoke; growth figure indicative only)

The trainer runs `python -m epam.train configs/epam_synthetic_demo.yaml` with OMP_NUM_THREADS=1 and
no data-loader workers (about one core) and enough epochs to outlast the soak; it is killed at the end.
The TUI is `python -m epam_tui.cli monitor <tmp>/runs` with EPAM_TUI_FAKE_GPUS=8 (scripted fake NVML
devices), TERM=xterm-256color, a 120x40 window; its output is drained and discarded. Every process
started here is killed (process group) in a finally block.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "configs/epam_synthetic_demo.yaml"
TARGET_MB = 5.0
MB = 2**20


def bench(figure: str, value, unit: str, target: str | None = None, passed: bool | None = None) -> None:
    print("BENCH " + json.dumps({"figure": figure, "value": value, "unit": unit, "reference": None, "ratio": None,
                                 "target": target, "passed": passed}), flush=True)


def ensure_data(env: dict) -> None:
    if not (ROOT / "data/synthetic_demo/synthetic_2d.pkl").exists():
        print("making the synthetic demo dataset ...", flush=True)
        subprocess.run([sys.executable, "-m", "epam.cli", "make-synthetic", "--config", CONFIG], check=True,
                       cwd=ROOT, env=env, capture_output=True)


def start_trainer(work: Path, epochs: int, env: dict, log: Path) -> subprocess.Popen:
    argv = [sys.executable, "-m", "epam.train", CONFIG, "--work-dir", str(work), "--set",
            f"train.max_epochs={epochs}", f"scheduler.T_max={epochs}", "data.num_workers=0"]
    with open(log, "wb") as fh:
        return subprocess.Popen(argv, cwd=ROOT, env={**env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
                                stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def start_tui(runs: Path, env: dict, trace: list[str] | None = None) -> tuple[subprocess.Popen, int, threading.Thread, list[int]]:
    """The TUI on a pty (120x40); a daemon thread drains the master side. Returns (proc, master fd,
    drain thread, [bytes drained])."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    tui_env = {**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", "EPAM_TUI_FAKE_GPUS": "8"}
    try:
        head = [sys.executable, str(ROOT / "tools/diagnostics/soak_trace.py"), *trace, "--"] if trace else [sys.executable, "-m", "epam_tui.cli"]
        proc = subprocess.Popen([*head, "monitor", str(runs)], cwd=ROOT, env=tui_env,
                                stdin=slave, stdout=slave, stderr=slave, start_new_session=True, close_fds=True)
    finally:
        os.close(slave)
    drained = [0]

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child side is closed
                return
            if not chunk:
                return
            drained[0] += len(chunk)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    return proc, master, thread, drained


def kill_group(proc: subprocess.Popen | None, name: str) -> None:
    """SIGTERM the process group started for ``proc``, then SIGKILL what is left after 5 s."""
    if proc is None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    members = []
    try:
        parent = psutil.Process(proc.pid)
        members = [parent] + parent.children(recursive=True)
    except psutil.Error:
        pass
    if pgid is not None and proc.poll() is None:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    if pgid is not None:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for p in members:  # children that left the group (none expected)
        try:
            p.kill()
        except psutil.Error:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        print(f"warning: {name} (pid {proc.pid}) did not exit", file=sys.stderr)


def rss_split(pid: int | str = "self") -> dict[str, float]:
    """A process's RSS by where it lives, MB: ``file`` (library code and data, paged in as new code runs),
    ``heap`` (glibc's main arena, [heap]) and ``anon`` (other anonymous memory: pymalloc's arenas, glibc's
    thread arenas, big blocks, thread stacks). Empty where /proc/<pid>/smaps cannot be read."""
    parts = {"file": 0.0, "heap": 0.0, "anon": 0.0}
    kind = "anon"
    try:
        with open(f"/proc/{pid}/smaps") as fh:
            for line in fh:
                head = line.split(maxsplit=5)
                if head and head[0] == "Rss:":
                    parts[kind] += int(head[1]) / 1024
                elif head and "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                    path = head[5].strip() if len(head) > 5 else ""
                    kind = "heap" if path == "[heap]" else "file" if path.startswith("/") else "anon"
    except OSError:
        return {}
    return parts


def count_steps(work: Path) -> int:
    try:
        return sum(1 for line in (work / "scalars.jsonl").read_bytes().splitlines() if line.startswith(b'{"lr"'))
    except OSError:
        return 0


def mean(xs: list[float]) -> float | None:
    return sum(xs) / len(xs) if xs else None


def filler(log: Path, rate: float) -> None:
    """Append ``rate`` MMEngine-style INFO lines per second to ``log`` (once the trainer has created it),
    each a whole line in one append, so they interleave with the trainer's own lines line by line."""
    n = 0
    while not log.exists():
        time.sleep(0.5)
    while True:
        stamp = time.strftime("%Y/%m/%d %H:%M:%S")
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{stamp} - mmengine - INFO - soak filler line {n}: nothing to parse here\n")
        n += 1
        time.sleep(1.0 / rate)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="total duration (default 30)")
    parser.add_argument("--quick", action="store_true", help="1 minute in all, 15 s warm-up, 5 s samples (CI)")
    parser.add_argument("--interval", type=float, default=None, help="seconds between samples (default 10; quick 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary run directory")
    parser.add_argument("--trace", nargs=4, metavar=("START", "FIRST", "EVERY", "DIR"), default=None,
                        help="diagnostic: tracemalloc in the TUI from START s, snapshots to DIR at FIRST s and "
                             "every EVERY s after (compare with tools/diagnostics/soak_trace.py --compare)")
    parser.add_argument("--log-rate", type=float, default=0.0, metavar="R",
                        help="diagnostic: also append R plain INFO lines per second to the run's train.log (a "
                             "long session's log in minutes; the trainer writes ~0.3 lines/s)")
    args = parser.parse_args()
    # SIGTERM (a killed benchmark, a CI timeout) must still run the finally below that stops the children
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    total = 60.0 if args.quick else args.minutes * 60.0
    warmup = 15.0 if args.quick else 30.0
    interval = args.interval or (5.0 if args.quick else 10.0)
    window = total / 5 if args.quick else 300.0  # the first / last 5 minutes (quick: fifths)
    window = min(window, (total - warmup) / 2)
    label = " [quick]" if args.quick else ""

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    ensure_data(env)
    tmp = Path(tempfile.mkdtemp(prefix="epam_soak_"))
    runs, work = tmp / "runs", tmp / "runs" / "soak"
    runs.mkdir()
    epochs = max(8, int(total / 15) + 4)  # an epoch takes > 15 s on one core: the run outlasts the soak
    trainer = tui = None
    master = -1
    samples: list[tuple[float, int, float]] = []  # (seconds since TUI start, rss bytes, cpu % since previous)
    split0: dict[str, float] = {}
    split1: dict[str, float] = {}
    try:
        trainer = start_trainer(work, epochs, env, tmp / "trainer.out")
        tui, master, drain_thread, drained = start_tui(runs, env, args.trace)
        if args.log_rate > 0:
            threading.Thread(target=filler, args=(work / "train.log", args.log_rate), daemon=True).start()
        proc = psutil.Process(tui.pid)
        t0 = time.monotonic()
        proc.cpu_percent(None)
        # warm-up: the TUI starts, the trainer imports torch and writes its first records
        next_at = warmup
        while True:
            now = time.monotonic() - t0
            if now >= total:
                break
            time.sleep(max(0.0, min(next_at, total) - now))
            if tui.poll() is not None:
                raise RuntimeError(f"the TUI exited early with code {tui.returncode}")
            elapsed = time.monotonic() - t0
            cpu = proc.cpu_percent(None)  # since the previous call (the first: since the warm-up began)
            rss = proc.memory_info().rss
            if elapsed >= warmup - 0.5:
                samples.append((elapsed, rss, cpu))
                split1 = rss_split(tui.pid)
                split0 = split0 or split1
                print(f"  t={elapsed:6.0f} s  rss={rss / MB:7.1f} MB  cpu={cpu:5.1f}%  trainer steps={count_steps(work)}"
                      f"{'' if trainer.poll() is None else '  (trainer exited ' + str(trainer.returncode) + ')'}",
                      flush=True)
            next_at += interval
        alive = tui.poll() is None
        steps = count_steps(work)
        trainer_alive = trainer.poll() is None
    finally:
        kill_group(tui, "TUI")
        kill_group(trainer, "trainer")
        if master >= 0:
            try:
                os.close(master)
            except OSError:
                pass
    if not samples:
        print("no samples taken", file=sys.stderr)
        return 1
    # the first sample's CPU covers the warm-up (start-up); leave it out of the CPU means
    cpu_samples = samples[1:] or samples
    first = [c for t, _, c in cpu_samples if t <= warmup + window + 0.5]
    last = [c for t, _, c in cpu_samples if t >= total - window - 0.5]
    rss0, rss1 = samples[0][1] / MB, samples[-1][1] / MB
    # the RSS once the first window is over: Textual's and rich's bounded render caches fill during it
    # (tracemalloc: the Python heap stops growing after about 5 minutes), so growth from there is the
    # steady-state trend; reported beside the start-to-end growth, which is what the target judges
    warm = [r for t, r, _ in samples if t >= warmup + window - 0.5]
    rss_warm = warm[0] / MB if warm else None
    peak = max(r for _, r, _ in samples) / MB
    growth = rss1 - rss0
    duration = samples[-1][0]
    cpu_first, cpu_last = mean(first), mean(last)
    print(f"soak {duration / 60:.1f} min (warm-up {warmup:.0f} s, samples every {interval:.0f} s, {len(samples)} samples); "
          f"TUI alive at the end: {alive}; trainer alive: {trainer_alive}, {steps} train records written; "
          f"{drained[0] / MB:.1f} MB of terminal output drained")
    print(f"RSS start {rss0:.1f} MB, end {rss1:.1f} MB, peak {peak:.1f} MB, growth {growth:+.1f} MB (target <= {TARGET_MB:.0f} MB)")
    if rss_warm is not None:
        print(f"RSS after the first {window / 60:.1f} min {rss_warm:.1f} MB; growth from there to the end "
              f"{rss1 - rss_warm:+.1f} MB")
    print(f"CPU (% of one core): first {window / 60:.1f} min {cpu_first:.1f}%, last {window / 60:.1f} min {cpu_last:.1f}%")
    if split0 and split1:
        print("RSS by kind, start -> end (MB): " + ", ".join(f"{k} {split0[k]:.1f} -> {split1[k]:.1f}" for k in split1))
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")
    ok = alive
    bench("soak TUI RSS after warm-up" + label, round(rss0, 2), "MB")
    bench("soak TUI RSS at end" + label, round(rss1, 2), "MB")
    bench("soak TUI RSS growth" + label, round(growth, 2), "MB", f"growth <= {TARGET_MB:.0f} MB",
          ok and growth <= TARGET_MB)
    if rss_warm is not None:
        bench("soak TUI RSS growth after the first window" + label, round(rss1 - rss_warm, 2), "MB")
    bench("soak TUI CPU first window" + label, None if cpu_first is None else round(cpu_first, 2), "% of one core")
    bench("soak TUI CPU last window" + label, None if cpu_last is None else round(cpu_last, 2), "% of one core")
    bench("soak duration" + label, round(duration, 1), "s")
    return 0 if alive else 1


if __name__ == "__main__":
    sys.exit(main())
