"""Fault injection: a full disk or a read-only work dir, at launch and mid-run.

Wanted every time: a clear error (exit code, ONE stderr line naming the file, the cause and what to
do), the run marked failed (status.json; when status.json itself cannot be written, the monitor still
says failed once the process is gone), and no partial checkpoint: ``checkpoints/latest.pth`` is absent
or the previous complete checkpoint (it loads), and no temp file is left behind.

Two ways. (a) In-process and deterministic: ``epam.commands.train.main`` (the `epam train` CLI) with the
stand-in model of test_engine, and a fault-injecting shim over ``open`` and the ``os`` calls the trainer
makes, acting only on paths under the work dir: ENOSPC from the Nth write of the second checkpoint
(once, or from then on: the disk stays full), EROFS from the first write (at launch) or right after the
launch check. (b) Real: a small tmpfs that the run fills itself (its second checkpoint does not fit),
a tmpfs filled by someone else mid-run, and a read-only bind mount, with the real `python -m
epam.train`; skipped with the reason when mounting is not permitted (no root / CAP_SYS_ADMIN).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from epam.engine.checkpoint import load_checkpoint
from epam.engine.distributed import DistInfo
from epam_tui.core import launch as lp
from epam_tui.core import runs
from epam_tui.core.registry import load_run
from tests.conftest import ROOT, poll_until, tiny_overrides
from tests.test_engine import StandIn, toy_set

pytestmark = [pytest.mark.faults]

DEMO = str(ROOT / "configs" / "epam_synthetic_demo.yaml")
TOY_SETS = ["train.max_epochs=3", "scheduler.T_max=3", "data.batch_per_gpu=4", "data.val_batch_per_gpu=5",
            "data.num_workers=0", "train.log_interval=2", "train.seed=11", "optimizer.lr=0.01",
            "model.num_classes=3", "train.keep_last=2", "train.gpus=1"]
TOY_ITERS_PER_EPOCH = 5  # 20 samples, batch 4


# ------------------------------------------------------------------------------------------- helpers
def temp_files(work: Path) -> list[str]:
    return sorted(str(p.relative_to(work)) for p in work.rglob("*") if ".tmp" in p.name or ".write_test" in p.name)


def status(work: Path) -> dict | None:
    try:
        return json.loads((work / "status.json").read_text())
    except FileNotFoundError:
        return None


def assert_latest_is_complete_or_absent(work: Path, epoch: int | None) -> None:
    latest = work / "checkpoints" / "latest.pth"
    if epoch is None:
        assert not latest.exists(), "a latest.pth appeared although no checkpoint could be completed"
        return
    state = load_checkpoint(latest)  # the previous complete checkpoint: it loads
    assert state["epoch"] == epoch and state["iter_in_epoch"] == 0, (state["epoch"], state["iter_in_epoch"])
    assert "model" in state and "optimizer" in state


class FaultyDisk:
    """Write faults under ``root`` only: ``rule(op, path)`` returns an errno to raise, or None.

    ``op`` is ``open`` (a write-mode open), ``write`` (a write call on such a file), ``mkdir``,
    ``replace``, ``link`` or ``unlink``. Everything outside ``root`` passes through untouched."""

    def __init__(self, root: Path, rule: Callable[[str, str], int | None]):
        self.root = os.path.abspath(root)
        self.rule = rule
        self.log: list[tuple[str, str]] = []

    def _ours(self, path: object) -> str | None:
        if isinstance(path, int):
            return None
        full = os.path.abspath(os.fspath(path))
        return full if full == self.root or full.startswith(self.root + os.sep) else None

    def check(self, op: str, path: str) -> None:
        if op == "mkdir" and os.path.exists(path):
            return  # EEXIST comes first, as on a real read-only or full file system
        code = self.rule(op, path)
        if code is not None:
            self.log.append((op, path))
            raise OSError(code, os.strerror(code), path)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_open, disk = builtins.open, self

        class FaultyFile:
            def __init__(self, fh, path: str):
                self._fh, self._path = fh, path

            def write(self, data):
                disk.check("write", self._path)
                return self._fh.write(data)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return self._fh.__exit__(*exc)

            def __getattr__(self, name):
                return getattr(self._fh, name)

        def fake_open(file, mode="r", *args, **kwargs):
            path = self._ours(file)
            if path is None or not set(mode) & set("wax+"):
                return real_open(file, mode, *args, **kwargs)
            self.check("open", path)
            return FaultyFile(real_open(file, mode, *args, **kwargs), path)

        def wrap(name: str, op: str, n_paths: int = 1):
            real = getattr(os, name)

            def fake(*args, **kwargs):
                for arg in args[:n_paths]:
                    path = self._ours(arg)
                    if path is not None:
                        self.check(op, path)
                return real(*args, **kwargs)

            monkeypatch.setattr(os, name, fake)

        monkeypatch.setattr(builtins, "open", fake_open)
        monkeypatch.setattr(io, "open", fake_open)
        wrap("mkdir", "mkdir")
        wrap("replace", "replace", 2)
        wrap("link", "link", 2)
        wrap("unlink", "unlink")


def run_main(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str]:
    """`epam train` in-process with the stand-in model and toy data; (exit code, stderr)."""
    from epam.commands import train as train_cli
    from epam.engine import trainer as trainer_mod

    real = trainer_mod.Trainer

    def with_stand_in(cfg, work_dir, resume=None):
        return real(cfg, work_dir, model=StandIn(), train_set=toy_set(20, 1), val_set=toy_set(10, 2), resume=resume,
                    dist_info=DistInfo())

    monkeypatch.setattr(trainer_mod, "Trainer", with_stand_in)
    capsys.readouterr()
    code = train_cli.main(argv)
    return code, capsys.readouterr().err


def toy_argv(work: Path, *extra: str) -> list[str]:
    return [DEMO, "--work-dir", str(work), "--set", *TOY_SETS, *extra]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {len(lines)}:\n{err}"
    assert "Traceback" not in err
    return lines[0]


def second_checkpoint_write(n: int, stays_full: bool) -> Callable[[str, str], int | None]:
    """ENOSPC at the ``n``-th write call into the second ``latest.pth`` temp file; with ``stays_full``
    every later write under the work dir fails too (the disk stays full), else only that save fails
    (removing its temp file freed the space)."""
    state = {"ckpt_files": 0, "writes": 0, "full": False}

    def rule(op: str, path: str) -> int | None:
        name = os.path.basename(path)
        if op == "open" and name.startswith(".latest.pth.tmp"):
            state["ckpt_files"] += 1
            state["writes"] = 0
        if op == "write":
            if state["full"]:
                return errno.ENOSPC
            if name.startswith(".latest.pth.tmp") and state["ckpt_files"] == 2:
                state["writes"] += 1
                if state["writes"] == n:
                    state["full"] = stays_full
                    return errno.ENOSPC
        return None

    return rule


# ------------------------------------------------------------------------------------------- (a) in-process
def test_disk_full_during_a_checkpoint_save_mid_run(tmp_path: Path, monkeypatch, capsys) -> None:
    work = tmp_path / "run"
    disk = FaultyDisk(work, second_checkpoint_write(3, stays_full=False))
    disk.install(monkeypatch)
    code, err = run_main(toy_argv(work), monkeypatch, capsys)
    monkeypatch.undo()

    assert len(disk.log) == 1 and disk.log[0][0] == "write" and ".latest.pth.tmp" in disk.log[0][1], disk.log
    assert code == 1
    line = one_line(err)
    assert line.startswith("epam train: disk full writing ") and str(work / "checkpoints" / "latest.pth") in line
    assert "No space left on device" in line and "free space" in line and "--resume auto" in line, line
    st = status(work)
    assert st["state"] == "failed" and st["exit_reason"] == line.removeprefix("epam train: "), st
    assert st["iter"] == 2 * TOY_ITERS_PER_EPOCH  # epoch 2 was trained; only its checkpoint failed
    assert_latest_is_complete_or_absent(work, epoch=1)
    assert temp_files(work) == []
    run = load_run(work)  # the monitor's reading (our own pid is alive, so status.json decides)
    assert run.state == "failed" and "disk full" in run.reason

    # the intact latest.pth continues the run once there is space again
    code, err = run_main(toy_argv(work, "--resume", "auto"), monkeypatch, capsys)
    assert code == 0, err
    assert status(work)["state"] == "finished" and load_checkpoint(work / "checkpoints" / "latest.pth")["epoch"] == 3


def test_disk_stays_full_mid_run(tmp_path: Path, monkeypatch, capsys) -> None:
    """Nothing can be written any more, status.json included: it keeps its last state ('running'), the
    exit code and the stderr line are the only report (the real test below shows the monitor's view)."""
    work = tmp_path / "run"
    disk = FaultyDisk(work, second_checkpoint_write(3, stays_full=True))
    disk.install(monkeypatch)
    code, err = run_main(toy_argv(work), monkeypatch, capsys)
    monkeypatch.undo()

    assert len(disk.log) >= 2 and any(p.endswith(".status.json.tmp" + str(os.getpid())) for _, p in disk.log), disk.log
    assert code == 1
    line = one_line(err)
    assert line.startswith("epam train: disk full writing ") and "No space left on device" in line
    assert "--resume auto" in line, line
    st = status(work)
    assert st["state"] == "running" and st["exit_reason"] is None, st  # the failure could not be recorded
    assert_latest_is_complete_or_absent(work, epoch=1)
    assert temp_files(work) == []


def test_read_only_work_dir_at_launch(tmp_path: Path, monkeypatch, capsys) -> None:
    work = tmp_path / "run"
    work.mkdir()
    disk = FaultyDisk(work, lambda op, path: errno.EROFS if op in ("open", "mkdir", "replace", "link") else None)
    disk.install(monkeypatch)
    code, err = run_main(toy_argv(work), monkeypatch, capsys)
    monkeypatch.undo()

    assert disk.log and disk.log[0][0] == "open" and ".write_test" in disk.log[0][1]
    assert code == 2
    line = one_line(err)
    assert line == f"epam train: {work}: work dir is not writable (Read-only file system); choose another with --work-dir"
    assert list(work.iterdir()) == []  # nothing written: no status.json (so no run for the monitor), no checkpoint


def test_read_only_right_after_the_launch_check(tmp_path: Path, monkeypatch, capsys) -> None:
    """The work dir turns read-only between the writability probe and the run log's first file."""
    work = tmp_path / "run"
    probed = []

    def rule(op: str, path: str) -> int | None:
        if ".write_test" in path:
            probed.append(op)
            return None
        return errno.EROFS if probed and op in ("open", "mkdir", "replace", "link") else None

    disk = FaultyDisk(work, rule)
    disk.install(monkeypatch)
    code, err = run_main(toy_argv(work), monkeypatch, capsys)
    monkeypatch.undo()

    assert probed and disk.log[0] == ("open", str(work / "train.log")), disk.log
    assert code == 1
    line = one_line(err)
    assert line.startswith(f"epam train: read-only file system writing {work / 'train.log'}; ") and "--work-dir" in line
    assert status(work) is None and list(work.iterdir()) == []  # status.json could not be written either
    assert_latest_is_complete_or_absent(work, epoch=None)


# ------------------------------------------------------------------------------------------- (b) real mounts
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def _mount(*args: str) -> None:
    if sys.platform != "linux" or shutil.which("mount") is None:
        pytest.skip("needs Linux mount(8)")
    out = subprocess.run(["mount", *args], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        pytest.skip(f"mount not permitted here ({out.stderr.strip() or out.returncode}); needs root/CAP_SYS_ADMIN")


def _umount(path: Path) -> None:
    out = subprocess.run(["umount", str(path)], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    try:
        yield path
    finally:
        _umount(path)


def real_train(work: Path, data: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "epam.train", DEMO, "--work-dir", str(work), "--set", *tiny_overrides(data), *extra]
    return subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_until(predicate: Callable[[], object], proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, f"trainer ended early ({proc.returncode}): {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def check_scalars_readable(work: Path) -> None:
    """Every complete line of scalars.jsonl parses (a write cut by the full disk may leave a partial last line)."""
    lines = (work / "scalars.jsonl").read_bytes().split(b"\n")
    for line in lines[:-1]:
        json.loads(line)


@pytest.mark.slow
def test_real_tmpfs_filled_by_the_second_checkpoint(tmp_path: Path, tiny_synthetic: Path) -> None:
    """The demo checkpoint is ~20 MB: a 32 MB tmpfs holds epoch 1's, not a second one beside it."""
    with tmpfs(tmp_path / "mnt", "32m") as mnt:
        work = mnt / "run"
        proc = real_train(work, tiny_synthetic, "train.max_epochs=3", "scheduler.T_max=3")
        _, err = proc.communicate(timeout=180)
        print(f"\nexit {proc.returncode}; stderr: {err.strip()}")
        assert proc.returncode == 1, err
        line = one_line(err)
        assert line.startswith("epam train: disk full writing ") and str(work / "checkpoints" / "latest.pth") in line
        assert "No space left on device" in line and "--resume auto" in line, line
        st = status(work)  # removing the temp file freed the space: the failure was recorded
        assert st["state"] == "failed" and st["exit_reason"] == line.removeprefix("epam train: "), st
        assert_latest_is_complete_or_absent(work, epoch=1)
        assert temp_files(work) == []
        check_scalars_readable(work)
        run = load_run(work)
        assert run.state == "failed" and "disk full" in run.reason, (run.state, run.reason)
        assert run.last_step == 8 and run.best_top1 is not None  # epoch 2 trained and validated before the save


@pytest.mark.slow
def test_real_tmpfs_filled_by_someone_else_mid_run(tmp_path: Path, tiny_synthetic: Path) -> None:
    """Another process takes the last free byte mid-epoch 2: status.json can no longer be written; the
    monitor still reports the run failed once the trainer is gone."""
    with tmpfs(tmp_path / "mnt", "64m") as mnt:
        work = mnt / "run"
        proc = real_train(work, tiny_synthetic, "train.max_epochs=3", "scheduler.T_max=3")
        try:
            wait_until(lambda: (work / "checkpoints" / "latest.pth").exists() and load_run(work).last_step >= 5, proc)
            fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT)  # fill the disk: big writes, then small ones
            try:
                for chunk in (1 << 20, 4096, 1):
                    with contextlib.suppress(OSError):
                        while True:
                            os.write(fd, b"\0" * chunk)
            finally:
                os.close(fd)
            assert shutil.disk_usage(mnt).free == 0
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        print(f"\nexit {proc.returncode}; stderr: {err.strip()}; free after: {shutil.disk_usage(mnt).free} B")
        assert proc.returncode == 1, err
        line = one_line(err)
        assert line.startswith("epam train: disk full writing ") and "No space left on device" in line, line
        st = status(work)
        assert st["state"] == "running", st  # could not be rewritten: the last heartbeat stays
        assert_latest_is_complete_or_absent(work, epoch=1)
        assert temp_files(work) == []
        check_scalars_readable(work)
        run = load_run(work)  # the pid in status.json is gone: the monitor says failed all the same
        assert run.state == "failed", (run.state, run.reason)
        print(f"monitor: {run.state} ({run.reason})")


@pytest.mark.slow
def test_real_read_only_bind_mount_at_launch(tmp_path: Path, tiny_synthetic: Path) -> None:
    src, ro = tmp_path / "src", tmp_path / "ro"
    (src / "wd").mkdir(parents=True)
    ro.mkdir()
    _mount("--bind", str(src), str(ro))
    try:
        out = subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            pytest.skip(f"read-only remount not permitted ({out.stderr.strip()})")
        work = ro / "wd" / "run"
        proc = real_train(work, tiny_synthetic)
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 2, err
        line = one_line(err)
        assert line == (f"epam train: {work}: work dir is not writable (Read-only file system); "
                        "choose another with --work-dir"), line
        assert not work.exists() and list((src / "wd").iterdir()) == []

        # the launcher refuses before creating anything, with the same cause
        plan = lp.make_plan(DEMO, lp.GpuState([], error="no NVIDIA driver"), gpus="cpu", nproc=1,
                            overrides=tiny_overrides(tiny_synthetic), root=str(ro / "wd"), name="ro")
        with pytest.raises(runs.Refused) as info:
            runs.launch(plan, lp.GpuState([], error="no NVIDIA driver"))
        assert [c.key for c in info.value.checks] == ["work_dir"], info.value.checks
        assert "not writable (Read-only file system)" in str(info.value) and "\n" not in str(info.value)
        assert list((src / "wd").iterdir()) == []
    finally:
        _umount(ro)


# ------------------------------------------------------------------------------------------- the launcher
def _fill(mnt: Path, leave: int = 0) -> None:
    """Fill ``mnt`` until at most ``leave`` bytes are free (big writes, then small ones)."""
    fd = os.open(mnt / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for chunk in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while shutil.disk_usage(mnt).free > leave + chunk:
                    os.write(fd, b"\0" * chunk)
    finally:
        os.close(fd)


CPU = lp.GpuState([], error="no NVIDIA driver")


def _stand_in_plan(root: Path, name: str, *extra: str) -> lp.LaunchPlan:
    from tests.tui.fixtures.launch_helpers import FAKE_TRAINER

    cfg = root.parent / "cfg.yaml"
    cfg.write_text("# the stand-in does not read it\n")
    tmpl = lp.CommandTemplate("stand-in", " ".join([sys.executable, str(FAKE_TRAINER), "{config}", "--work-dir",
                                                    "{work_dir}", *extra]), source="epam")
    return lp.make_plan(str(cfg), CPU, gpus="cpu", template=tmpl, root=str(root), name=name)


def test_preflight_on_a_nearly_full_disk_refuses_with_the_cause(tmp_path: Path) -> None:
    """512 KiB free takes an empty probe file (the old check) but not the 1 MiB probe."""
    with tmpfs(tmp_path / "mnt", "4m") as mnt:
        _fill(mnt, leave=512 << 10)
        plan = _stand_in_plan(mnt / "wd", "full")
        with pytest.raises(runs.Refused) as info:
            runs.launch(plan, CPU)
        assert [c.key for c in info.value.checks] == ["work_dir"], info.value.checks
        assert "not writable (No space left on device)" in str(info.value) and "\n" not in str(info.value)
        assert not plan.run_dir.exists() and temp_files(mnt) == []


def test_spawn_on_a_full_disk_is_one_line_and_leaves_the_name_free(tmp_path: Path) -> None:
    """Pre-flight passed, then the disk filled: spawn says why in one line, removes what it made (no
    ``.run.json.*tmp*`` blocking the name) and the same name launches once there is space."""
    with tmpfs(tmp_path / "mnt", "4m") as mnt:
        (mnt / "wd").mkdir()
        plan = _stand_in_plan(mnt / "wd", "again")
        _fill(mnt)
        with pytest.raises(runs.RunError) as info:
            runs.spawn(plan)
        message = str(info.value)
        assert "\n" not in message and "No space left on device" in message and "free space" in message, message
        assert not plan.run_dir.exists() and temp_files(mnt) == []
        (mnt / "filler").unlink()
        assert lp.failures(lp.preflight(plan, CPU)) == []
        runs.spawn(plan)
        assert poll_until(lambda: runs.read_exit(plan.run_dir), timeout=30)
        assert runs.refresh(plan.run_dir)["status"] == "finished"


def test_wrapper_writes_exit_json_when_the_disk_filled_mid_run(tmp_path: Path) -> None:
    """The command fills the disk and exits 3: the wrapper still records code 3 (in the space it set
    aside at start), with no traceback in stdout.log and no temp file left."""
    filler = ("import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT)\n"
              "for chunk in (1 << 20, 4096, 1):\n"
              "    try:\n"
              "        while True: os.write(fd, b'\\0' * chunk)\n"
              "    except OSError: pass\n"
              "sys.exit(3)\n")
    with tmpfs(tmp_path / "mnt", "4m") as mnt:
        run_dir = mnt / "run"
        run_dir.mkdir()
        (run_dir / "run.json").write_text(json.dumps({"name": "run", "status": "running", "pid": os.getpid()}))
        log = open(run_dir / "stdout.log", "ab")
        try:
            proc = subprocess.run([sys.executable, "-m", "epam_tui.core.runwrap", str(run_dir), "--", sys.executable,
                                   "-c", filler, str(mnt / "filler")], stdout=log, stderr=subprocess.STDOUT,
                                  timeout=60, cwd=ROOT)
        finally:
            log.close()
        assert shutil.disk_usage(mnt).free < 4096
        assert proc.returncode == 3
        assert json.loads((run_dir / "exit.json").read_text())["code"] == 3
        assert "Traceback" not in (run_dir / "stdout.log").read_text(errors="replace")
        assert temp_files(mnt) == [] and not (run_dir / ".exit.json.reserve").exists()
        run = load_run(run_dir)  # the monitor reads the exit code even though run.json could not be updated
        assert run.state == "failed" and "exit code 3" in run.reason, (run.state, run.reason)
