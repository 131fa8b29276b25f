"""The machinery of benchmarks/faults.py: running a probe under a timeout and a memory limit, classifying
its outcome, the expectations, file makers, and the multi-step scenarios (kills during checkpoint saves,
a killed wrapper, full and read-only disks, the umask). Not a benchmark of its own (run_all skips ``_*``).
"""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
BIN = Path(PY).parent
EPAM = [str(BIN / "epam")] if (BIN / "epam").exists() else [PY, "-m", "epam.cli"]
TUI = [str(BIN / "epam-tui")] if (BIN / "epam-tui").exists() else [PY, "-m", "epam_tui.cli"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
DEMO = ROOT / "configs" / "epam_synthetic_demo.yaml"
FIXTURES = ROOT / "tests" / "tui" / "fixtures" / "runs"
MEM_LIMIT = 3 << 30
VERDICTS = ("survived", "traceback", "hang", "lost", "wrong")


# ------------------------------------------------------------------------------------------ running
@dataclass
class Res:
    cmd: str
    rc: int | None
    out: str
    err: str
    hung: bool = False


@dataclass
class Outcome:
    cls: str
    name: str
    verdict: str
    why: str
    res: Res | None


ULIMIT = ["/bin/sh", "-c", f'ulimit -v {MEM_LIMIT >> 10} && exec "$@"', "sh"]  # argv follows as "$@"


def call(argv: list[str], tmp: Path, timeout: float = 30, env: dict | None = None, umask: int = 0o022,
         mem: bool = True) -> Res:
    """Run argv in tmp (its own process group, under `ulimit -v` unless mem is False); on timeout the whole
    group is killed."""
    proc = subprocess.Popen([*ULIMIT, *argv] if mem else argv, cwd=tmp, env=env or ENV, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, umask=umask)
    try:
        out, err = proc.communicate(timeout=timeout)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        hung = True
    out, err = (b.decode("utf-8", "replace")[-200_000:] for b in (out, err))
    return Res(shlex.join(argv), proc.returncode, out, err, hung)


def verdict(res: Res, wrong: str | None = None, lost: str | None = None) -> tuple[str, str]:
    """(verdict, why): hang before traceback before lost before wrong; survived when none applies."""
    if res.hung:
        return "hang", "timed out"
    if "Traceback (most recent call last)" in res.out + res.err:
        return "traceback", res.err.strip().splitlines()[-1] if res.err.strip() else "traceback on stdout"
    if lost:
        return "lost", lost
    if wrong:
        return "wrong", wrong
    return "survived", ""


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def markers(tmp: Path) -> str | None:
    found = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("MARK*"))
    return f"payload ran: {found}" if found else None


# ------------------------------------------------------------------------------------- expectations
def refused(res: Res, tmp: Path) -> str | None:
    """A non-zero exit with exactly one line on stderr, and no payload ran."""
    if res.rc == 0:
        return "exit 0 where a refusal was due"
    if res.rc is not None and res.rc < 0:
        return f"killed by signal {-res.rc}"
    if len(lines(res.err)) != 1:
        return f"{len(lines(res.err))} lines on stderr, expected one"
    return markers(tmp)


def accepted(needle: str) -> Callable[[Res, Path], str | None]:
    def check(res: Res, tmp: Path) -> str | None:
        if res.rc != 0:
            return f"exit {res.rc}: {(lines(res.err) or ['-'])[-1][:200]}"
        return None if needle in res.out else f"{needle!r} not in the output"
    return check


def clean(res: Res, tmp: Path) -> str | None:
    """Either outcome is fine (accepted or refused), but a refusal is one line and no payload runs."""
    if res.rc not in (0, 1) and len(lines(res.err)) != 1:
        return f"exit {res.rc} with {len(lines(res.err))} lines on stderr, expected one"
    return markers(tmp)


# ---------------------------------------------------------------------------------------- file makers
def write_config(tmp: Path, body: str = "", name: str = "cfg.yaml", base: Path | None = None) -> Path:
    """A valid config inheriting the demo (data files exist under tmp), plus ``body``."""
    (tmp / "ann.pkl").write_bytes(b"x")
    (tmp / "videos").mkdir(exist_ok=True)
    head = f"_base_: {base or DEMO}\ndata:\n  ann_file: {tmp / 'ann.pkl'}\n  video_root: {tmp / 'videos'}\n"
    path = tmp / name
    path.write_text(head + body)
    return path


def bomb(depth: int = 10) -> str:
    out = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    out += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth)]
    return "\n".join(out) + "\n"


def special(kind: str) -> Callable[[Path, Path], None]:
    """Make ``path`` a FIFO, a link to /dev/zero, a directory or a 20 GB sparse file."""
    def make(path: Path, tmp: Path) -> None:
        if path.exists() or path.is_symlink():
            path.unlink()
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "zero":
            path.symlink_to("/dev/zero")
        elif kind == "dir":
            path.mkdir()
        else:
            with open(path, "wb") as fh:
                fh.write(b'{"step": 1, "loss": 1.0}\n')
                fh.truncate(20 << 30)
    return make


# ---------------------------------------------------------------------------------- trainer scenarios
_data_lock = threading.Lock()
_data: dict[str, Path] = {}


def synthetic(base: Path) -> Path:
    """A tiny synthetic NTU60-format dataset (4 classes), made once per benchmark run."""
    with _data_lock:
        if "dir" not in _data:
            out = base / "synthetic"
            subprocess.run([*EPAM, "make-synthetic", "--out", str(out), "--num-classes", "4", "--per-class", "5",
                            "--frames", "24", "--size", "64", "--seed", "3"], check=True, capture_output=True,
                           env=ENV, timeout=300)
            _data["dir"] = out
    return _data["dir"]


def tiny(data: Path, epochs: int) -> list[str]:
    return [f"data.ann_file={data / 'synthetic_2d.pkl'}", f"data.video_root={data / 'videos'}", "model.num_classes=4",
            "data.batch_per_gpu=4", "data.val_batch_per_gpu=8", "data.num_workers=0", f"train.max_epochs={epochs}",
            f"scheduler.T_max={epochs}", "train.log_interval=1", "train.seed=7"]


CHECK_CKPTS = """
import hashlib, json, sys
from pathlib import Path
from epam.engine.checkpoint import load_checkpoint
work, out = Path(sys.argv[1]), {}
for p in sorted((work / "checkpoints").glob("*.pth")):
    try:
        s = load_checkpoint(p)
        digest = hashlib.sha256(b"".join(v.cpu().numpy().tobytes() for v in s["model"].values())).hexdigest()[:16]
        out[p.name] = [s["epoch"], digest]
    except Exception as exc:
        out[p.name] = str(exc)[:200]
print(json.dumps(out))
"""


def load_all(work: Path, tmp: Path) -> dict:
    """{checkpoint file: [epoch, sha256 of the weights] or the load error}, loaded in a subprocess (torch)."""
    res = call([PY, "-c", CHECK_CKPTS, str(work)], tmp, 240, mem=False)
    try:
        return json.loads(lines(res.out)[-1])
    except (ValueError, IndexError):
        return {"(all)": f"could not read the checkpoints: {(lines(res.err) or ['-'])[-1]}"}


def checkpoints_lost(work: Path, epochs: int, tmp: Path) -> tuple[str | None, dict]:
    """(lost reason, {file: [epoch, sha256 of the weights]}) after a run that should have finished."""
    ck = load_all(work, tmp)
    status = json.loads((work / "status.json").read_text())
    best = (status.get("best") or {}).get("epoch")
    want = ["latest.pth", *(f"epoch_{e}.pth" for e in range(max(1, epochs - 1), epochs + 1))]  # keep_last: 2
    want += [f"best_acc_top1_epoch_{best}.pth"] if best else []
    bad = [n for n in want if not isinstance(ck.get(n), list)] + [n for n, v in ck.items() if not isinstance(v, list)]
    if bad or status.get("state") != "finished":
        return f"missing or unloadable: {sorted(set(bad))}; state {status.get('state')}", ck
    return None, ck


def kill_during_save(tmp: Path, quick: bool) -> list[Outcome]:
    """SIGKILLs inside checkpoint saves (outside kills in a widened save, plus the trainer's own kill right
    after latest.pth's rename), a resume after each, then the files and (full mode) the weights against an
    uninterrupted run with the same seed."""
    data, epochs, cls = synthetic(tmp.parent), 2 if quick else 3, "kill -9 during checkpoint save"
    work, out, rng = tmp / "killed", [], random.Random(5)
    base = [*EPAM, "train", str(DEMO), "--work-dir", str(work), "--set", *tiny(data, epochs)]
    ref = None
    if not quick:
        ref = tmp / "ref"
        ref_res = call([*EPAM, "train", str(DEMO), "--work-dir", str(ref), "--set", *tiny(data, epochs)], tmp, 400,
                       mem=False)
        if ref_res.rc != 0:
            return [Outcome(cls, "uninterrupted reference run", *verdict(ref_res, f"exit {ref_res.rc}"), ref_res)]
    hook = call(base, tmp, 300, env={**ENV, "EPAM_TEST_KILL_AFTER_LATEST": "1"}, mem=False)
    out.append(Outcome(cls, "killed right after epoch 1's latest.pth rename", *verdict(
        hook, None if hook.rc == -signal.SIGKILL else f"exit {hook.rc}, expected the hook's SIGKILL"), hook))
    for i in range(1 if quick else 10):
        argv = [*base, "--resume", "auto"]
        proc = subprocess.Popen(argv, cwd=tmp, env={**ENV, "EPAM_TEST_SLOW_SAVE": "0.25"}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        deadline, hit = time.monotonic() + 300, False
        while proc.poll() is None and time.monotonic() < deadline:
            ck = work / "checkpoints"
            if ck.is_dir() and any(p.name.startswith(".") and ".tmp" in p.name for p in ck.iterdir()):
                time.sleep(rng.uniform(0, 0.2))
                hit = True
                break
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        err = proc.communicate()[1].decode("utf-8", "replace")
        res = Res(shlex.join(argv) + "  # SIGKILL inside a save", proc.returncode, "", err,
                  not hit and proc.returncode is None)
        wrong = None if hit or proc.returncode == 0 else f"ended with {proc.returncode} before a save was hit"
        out.append(Outcome(cls, f"resume, then SIGKILL inside save {i + 1}", *verdict(res, wrong), res))
    final = call([*base, "--resume", "auto"], tmp, 400, mem=False)
    lost, ck = checkpoints_lost(work, epochs, tmp) if final.rc == 0 else (None, {})
    wrong = None if final.rc == 0 else f"final resume exit {final.rc}: {(lines(final.err) or ['-'])[-1]}"
    ref_ck = checkpoints_lost(ref, epochs, tmp)[1] if ref is not None else {}
    if ref is not None and not lost and not wrong:
        if ck != ref_ck:
            wrong = f"checkpoints differ from the uninterrupted run: {ck} vs {ref_ck}"
    out.append(Outcome(cls, "final resume: latest/epoch/best files kept" + ("" if quick else ", weights identical"),
                       *verdict(final, wrong, lost), final))
    if ref is not None:  # the last epoch's window too: killed after epoch 3's latest.pth, then one resume
        work3 = tmp / "killed-last"
        base3 = [*EPAM, "train", str(DEMO), "--work-dir", str(work3), "--set", *tiny(data, epochs)]
        hook = call(base3, tmp, 400, env={**ENV, "EPAM_TEST_KILL_AFTER_LATEST": str(epochs)}, mem=False)
        out.append(Outcome(cls, f"killed right after epoch {epochs}'s latest.pth rename", *verdict(
            hook, None if hook.rc == -signal.SIGKILL else f"exit {hook.rc}, expected the hook's SIGKILL"), hook))
        again = call([*base3, "--resume", "auto"], tmp, 400, mem=False)
        lost, ck3 = checkpoints_lost(work3, epochs, tmp) if again.rc == 0 else (None, {})
        wrong = f"resume exit {again.rc}" if again.rc != 0 else (
            None if lost or ck3 == ref_ck else f"checkpoints differ from the uninterrupted run: {ck3} vs {ref_ck}")
        out.append(Outcome(cls, "its resume: files kept, weights identical", *verdict(again, wrong, lost), again))
    modes = {str(p.relative_to(work)): oct(p.stat().st_mode & 0o777) for p in work.rglob("*") if p.is_file()}
    odd = {k: v for k, v in modes.items() if v != "0o644"}
    out.append(Outcome("umask 022 file modes", "trainer run dir files 0644",
                       *verdict(final, f"modes: {odd}" if odd or not modes else None), final))
    return out


STEPPER = """
import json, os, sys, time
import psutil
work = sys.argv[sys.argv.index("--work-dir") + 1]
os.makedirs(work, exist_ok=True)
created, step = psutil.Process().create_time(), 0
def write(state):
    d = {"state": state, "epoch": 1, "iter": step, "max_epochs": 1, "iters_per_epoch": 100000, "world_size": 1,
         "pid": os.getpid(), "create_time": created, "started": created, "updated": time.time(), "best": None}
    with open(os.path.join(work, ".status.json.tmp"), "w") as fh:
        fh.write(json.dumps(d))
    os.replace(os.path.join(work, ".status.json.tmp"), os.path.join(work, "status.json"))
while not os.path.exists(os.path.join(work, "stop_stepping")):
    step += 1
    write("running")
    time.sleep(0.1)
write("finished")
"""


def wrapper_kill(tmp: Path, quick: bool) -> list[Outcome]:
    """Launch headless (quick: a no-torch stand-in that steps until told to stop; full: the real trainer, 5
    epochs), SIGKILL the wrapper while the trainer steps: `epam-tui status` must still say running, and say
    finished once the trainer ends."""
    cls, root = "killed wrapper, live trainer", tmp / "wd"
    if quick:
        (tmp / "stepper.py").write_text(STEPPER)
        cfg, extra = write_config(tmp), ["--command", f"{PY} {tmp / 'stepper.py'} {{config}} --work-dir {{work_dir}}"]
    else:
        cfg, extra = DEMO, ["--set", *tiny(synthetic(tmp.parent), 5)]
    argv = [*TUI, "launch", str(cfg), "--headless", "--gpus", "cpu", "--root", str(root), "--name", "w", *extra]
    follow = subprocess.Popen(argv, cwd=tmp, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True)
    run, trainer, out = root / "w", None, []

    def status() -> dict:
        try:
            return json.loads((run / "status.json").read_text())
        except (OSError, ValueError):
            return {}

    def wait(pred: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not pred() and time.monotonic() < deadline:
            time.sleep(0.1)
        return pred()

    def state() -> tuple[Res, str | None]:
        res = call([*TUI, "status", str(root), "--json"], tmp)
        rows = {r["name"]: r for r in json.loads(res.out)} if res.rc == 0 and not res.hung else {}
        return res, (rows.get("w") or {}).get("state")
    try:
        wait(lambda: status().get("iter", 0) >= 2 or follow.poll() is not None, 300)
        if status().get("iter", 0) < 2 or follow.poll() is not None:
            res = Res(shlex.join(argv), follow.poll(), "", "", follow.poll() is None)
            return [Outcome(cls, "wrapper SIGKILLed", *verdict(res, "the trainer never stepped"), res)]
        trainer = status().get("pid")
        os.kill(json.loads((run / "run.json").read_text())["pid"], signal.SIGKILL)  # the wrapper only
        step = status()["iter"]
        wait(lambda: status().get("iter", 0) > step, 120)  # the trainer steps on without its wrapper
        res, st = state()
        wrong = None if st == "running" and status().get("iter", 0) > step else \
            f"state {st!r}, trainer iter {step} -> {status().get('iter')}"
        out.append(Outcome(cls, "wrapper SIGKILLed: status says running", *verdict(res, wrong), res))
        (run / "stop_stepping").write_text("finished")
        wait(lambda: status().get("state") != "running", 300)
        time.sleep(0.5)
        res, st = state()
        out.append(Outcome(cls, "then the trainer ends: status says finished",
                           *verdict(res, None if st == "finished" else f"state {st!r}"), res))
        return out
    finally:
        if isinstance(trainer, int) and status().get("state") == "running":
            try:
                os.kill(trainer, signal.SIGKILL)
            except OSError:
                pass
        if follow.poll() is None:
            os.killpg(follow.pid, signal.SIGKILL)
        follow.communicate()


def monitor(cls: str, name: str, setup: Callable[[Path], Path]) -> Callable[[Path, bool], list[Outcome]]:
    """The monitor (`epam-tui ROOT`) in a pseudo-terminal (script(1), 120x40) over two good runs and a bad
    one: both good runs' rows appear, 'q' quits it with exit 0, no traceback."""
    def scenario(tmp: Path, quick: bool) -> list[Outcome]:
        if not shutil.which("script"):
            return [Outcome(cls, f"{name}: skipped (no script(1) for a terminal)", "skipped", "", None)]
        root = setup(tmp)
        inner = f"stty cols 120 rows 40; exec {shlex.join([*TUI, str(root)])}"
        proc = subprocess.Popen(["script", "-qfec", inner, "/dev/null"], cwd=tmp, env={**ENV, "TERM": "xterm-256color"},
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: proc.stdout.read1(65536), b"")),
                                  daemon=True)
        reader.start()
        seen = lambda: all(n.encode() in b"".join(chunks) for n in ("good-a", "good-b"))  # noqa: E731
        deadline = time.monotonic() + 60
        while not seen() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.0)  # a few more polls with the bad run in the table
        try:
            proc.stdin.write(b"q")
            proc.stdin.flush()
        except OSError:
            pass
        try:
            proc.wait(timeout=30)
            hung = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            hung = True
        reader.join(timeout=5)
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]", "", b"".join(chunks).decode("utf-8", "replace"))
        res = Res(shlex.join(["script", "-qfec", inner, "/dev/null"]) + "  # then 'q'", proc.returncode,
                  "", text[-20000:], hung)
        crash = re.search(r"[^\n]*(Traceback|WorkerFailed)[^\n]*", text)  # Textual draws its traceback in a box
        if crash and not hung:
            return [Outcome(cls, name, "traceback", crash.group(0).strip()[:200], res)]
        lost = None if seen() else "the good runs' rows never appeared"
        return [Outcome(cls, name, *verdict(res, None if proc.returncode == 0 else f"exit {proc.returncode}", lost),
                        res)]
    return scenario


def mount(*args: str) -> str | None:
    """None once mounted, else why not (no root or CAP_SYS_ADMIN, no mount(8))."""
    try:
        m = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)[:80]
    return None if m.returncode == 0 else (m.stderr.strip() or f"exit {m.returncode}")[:80]


def umount(path: Path) -> None:
    try:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        pass


def skipped(cls: str, why: str) -> list[Outcome]:
    return [Outcome(cls, f"skipped: mount failed ({why})", "skipped", "", None)]


def disk_full(tmp: Path, quick: bool) -> list[Outcome]:
    """A tmpfs with 256 KiB left: the launch is refused in one line and leaves nothing behind, then the same
    name launches once space is back. Full mode: a tmpfs the run fills itself with its second checkpoint."""
    cls, mnt = "full or read-only disk", tmp / "mnt"
    mnt.mkdir()
    why = mount("-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt))
    if why:
        return skipped(cls, why)
    out = []
    try:
        st = os.statvfs(mnt)
        with open(mnt / "filler", "wb") as fh:
            fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - (256 << 10)))
        cfg = write_config(tmp)
        argv = [*TUI, "launch", str(cfg), "--headless", "--gpus", "cpu", "--root", str(mnt / "wd"), "--name", "full"]
        res = call(argv, tmp, 60)
        left = [str(p.relative_to(mnt)) for p in mnt.rglob("*") if p.name != "filler" and p.is_file()]
        out.append(Outcome(cls, "launch on a full disk", *verdict(res, refused(res, tmp) or (
            f"left behind: {left}" if left else None)), res))
        (mnt / "filler").unlink()
        res = call([*TUI, "launch", str(cfg), "--dry-run", "--gpus", "cpu", "--root", str(mnt / "wd"),
                    "--name", "full"], tmp)
        out.append(Outcome(cls, "same name once space is back (--dry-run)", *verdict(res, accepted("full")(res, tmp)),
                           res))
    finally:
        umount(mnt)
    out += read_only(tmp)
    if quick:
        return out
    why = mount("-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mnt))
    if why:
        return out + skipped(cls, why)
    try:
        argv = [*TUI, "launch", str(DEMO), "--headless", "--gpus", "cpu", "--root", str(mnt), "--name", "fills",
                "--set", *tiny(synthetic(tmp.parent), 3)]
        res = call(argv, tmp, 400, mem=False)
        run = mnt / "fills"
        log = (run / "stdout.log").read_text(errors="replace") if (run / "stdout.log").is_file() else ""
        res.err += "\n[stdout.log] " + log[-3000:]
        code = json.loads((run / "exit.json").read_text()).get("code") if (run / "exit.json").is_file() else None
        ck = load_all(run, tmp)
        bad = [n for n in ("latest.pth", "epoch_1.pth", "best_acc_top1_epoch_1.pth") if not isinstance(ck.get(n), list)]
        lost = f"epoch 1's checkpoints missing or unloadable: {bad} ({ck})" if bad else None
        st = call([*TUI, "status", str(mnt), "--json"], tmp)
        rows = json.loads(st.out) if st.rc == 0 and not st.hung else []
        state = next((r.get("state") for r in rows if r.get("name") == "fills"), None)
        wrong = None if res.rc != 0 and code not in (None, 0) and state == "failed" else \
            f"launch exit {res.rc}, exit.json code {code}, status {state!r}"
        out.append(Outcome(cls, "run fills the disk with its 2nd checkpoint", *verdict(res, wrong, lost), res))
    finally:
        umount(mnt)
    return out


def read_only(tmp: Path) -> list[Outcome]:
    """A read-only bind mount as --root: launch --headless and --dry-run both refuse in one line."""
    cls, src, ro = "full or read-only disk", tmp / "ro-src", tmp / "ro"
    src.mkdir()
    ro.mkdir()
    why = mount("--bind", str(src), str(ro))
    if why:
        return skipped(cls, why)
    out = []
    try:
        why = mount("-o", "remount,bind,ro", str(ro))
        if why:
            return skipped(cls, why)
        cfg = write_config(tmp, name="ro.yaml")
        for mode in ("--headless", "--dry-run"):
            res = call([*TUI, "launch", str(cfg), mode, "--gpus", "cpu", "--root", str(ro / "wd"), "--name", "ro"], tmp)
            out.append(Outcome(cls, f"read-only --root: launch {mode}", *verdict(res, refused(res, tmp)), res))
    finally:
        umount(ro)
    return out


def umask_probe(mask: int) -> Callable[[Path, bool], list[Outcome]]:
    def scenario(tmp: Path, quick: bool) -> list[Outcome]:
        argv = [*EPAM, "make-synthetic", "--out", str(tmp / "syn"), "--num-classes", "2", "--per-class", "2",
                "--frames", "8", "--size", "32"]
        res = call(argv, tmp, 120, umask=mask)
        want = oct(0o666 & ~mask)
        odd = {str(p.relative_to(tmp)): oct(p.stat().st_mode & 0o777) for p in (tmp / "syn").rglob("*")
               if p.is_file() and oct(p.stat().st_mode & 0o777) != want} if res.rc == 0 else {}
        wrong = f"exit {res.rc}" if res.rc != 0 else (
            f"modes other than {want}: {dict(list(odd.items())[:5])}" if odd else None)
        return [Outcome(f"umask {mask:03o} file modes", f"make-synthetic files {want}", *verdict(res, wrong), res)]
    return scenario


