"""Real processes on the CPU: detach, exit codes after the launcher is gone, stop escalation,
concurrent ports, resume, a foreign command writing MMEngine logs, refusals, metacharacters."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from epam_tui.core import launch as lp
from epam_tui.core import runs
from fixtures.launch_helpers import FAKE_MMENGINE, FAKE_TRAINER, REPO, fake_command, gpu, make_config, wait_for

CPU = lp.GpuState([], error="no NVIDIA driver")


def _foreign(tmp_path, *extra, name=None, state=CPU, gpus="cpu", **kw):
    tmpl = lp.CommandTemplate("fake", fake_command(*extra), source="epam", resume_args=["--resume", "auto"])
    config = tmp_path / "cfg.yaml"
    config.write_text("# the stand-in only prints its name\n")
    return lp.make_plan(str(config), state, gpus=gpus, template=tmpl, root=str(tmp_path / "wd"), name=name, **kw)


def _ended(run_dir):
    return lambda: (runs.refresh(run_dir) or {}).get("status") in runs.ENDED and runs.read_exit(run_dir)


def _ready(run_dir):
    return lambda: (Path(run_dir) / "fake_ready").exists()


def test_run_outlives_its_launcher_and_records_the_exit_code(tmp_path):
    plan = _foreign(tmp_path, "--sleep", "1.5", "--exit", "3", name="detached")
    code = (
        "import sys, json; sys.path.insert(0, %r)\n"
        "from epam_tui.core import launch as lp, runs\n"
        "plan = lp.LaunchPlan.from_record(json.loads(sys.argv[1]))\n"
        "print(runs.spawn(plan)['pid'])\n"
    ) % str(REPO)
    launcher = subprocess.run([sys.executable, "-c", code, json.dumps(plan.record())], capture_output=True,
                              text=True, timeout=30, cwd=REPO)
    assert launcher.returncode == 0, launcher.stderr
    pid = int(launcher.stdout.strip())
    rec = runs.read_run(plan.run_dir)
    assert rec["pid"] == pid == rec["pgid"] and rec["status"] == "running"
    assert runs.is_alive(rec) and runs.read_exit(plan.run_dir) is None  # the launcher is gone, the run is not
    wait_for(_ended(plan.run_dir))
    exit_info = runs.read_exit(plan.run_dir)
    assert exit_info["code"] == 3 and exit_info["signal"] is None
    rec = runs.read_run(plan.run_dir)
    assert rec["status"] == "failed" and rec["exit_code"] == 3 and rec["ended"] >= rec["started"]
    log = (plan.run_dir / "stdout.log").read_text()
    assert "==> epam-tui" in log and f"fake trainer: config={tmp_path / 'cfg.yaml'}" in log


def test_env_and_argv_reach_the_process(tmp_path):
    state = lp.visible_state([gpu(0), gpu(1), gpu(2)], {})
    nasty = "data.ann_file=x;touch PWNED $(touch PWNED2) `touch PWNED3`"
    cfg = make_config(tmp_path, "a b;touch PWNED4.yaml")
    # nproc=1 runs the stand-in directly (no torchrun); spawn does no pre-flight, so 1 process on 2 GPUs is fine here
    plan = lp.make_plan(str(cfg), state, gpus="2,0", nproc=1, root=str(tmp_path / "wd"), name="envs",
                        overrides=[nasty], entry=(str(FAKE_TRAINER),))
    rec = runs.spawn(plan)
    wait_for(_ended(plan.run_dir))
    seen = json.loads((plan.run_dir / "fake_argv.json").read_text())
    assert seen["env"]["CUDA_VISIBLE_DEVICES"] == "2,0" and seen["env"]["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert seen["argv"][1:] == [str(cfg), "--work-dir", plan.work_dir_arg, "--set", nasty]
    assert not list(REPO.glob("PWNED*")) and not list(tmp_path.rglob("PWNED*"))
    assert rec["gpus"][0]["index"] == 2 and rec["env"]["CUDA_VISIBLE_DEVICES"] == "2,0"
    assert runs.read_run(plan.run_dir)["status"] == "finished"


def test_stop_sigint_ends_a_cooperative_run(tmp_path):
    plan = _foreign(tmp_path, "--sleep", "60", name="int")
    runs.spawn(plan)
    wait_for(_ready(plan.run_dir))
    start = time.monotonic()
    rec = runs.stop(plan.run_dir, grace=10, term_grace=10)
    assert time.monotonic() - start < 8
    assert rec["status"] == "stopped" and rec["signal"] == "SIGINT" and rec["exit_code"] == 130
    assert rec["stopped_at"] >= rec["started"]


def test_stop_escalates_to_sigterm_then_sigkill(tmp_path):
    stubborn = _foreign(tmp_path, "--sleep", "60", "--ignore-int", name="term")
    deaf = _foreign(tmp_path, "--sleep", "60", "--ignore-int", "--ignore-term", name="kill")
    runs.spawn(stubborn)
    runs.spawn(deaf)
    wait_for(_ready(stubborn.run_dir))
    wait_for(_ready(deaf.run_dir))
    rec = runs.stop(stubborn.run_dir, grace=0.5, term_grace=10)
    assert rec["status"] == "stopped" and rec["signal"] == "SIGTERM" and rec["exit_code"] == 143
    start = time.monotonic()
    rec = runs.stop(deaf.run_dir, grace=0.3, term_grace=0.3)
    assert rec["status"] == "stopped" and rec["signal"] == "SIGKILL" and rec["exit_code"] == 137
    assert time.monotonic() - start < 6 and not runs.is_alive(rec)
    child = json.loads((deaf.run_dir / "fake_argv.json").read_text())["pid"]
    assert not runs.is_alive({"pid": child})


def test_concurrent_runs_get_distinct_ports(tmp_path):
    first = _foreign(tmp_path, "--sleep", "30", "--listen", "{port}", name="a")
    runs.launch(first, CPU)
    wait_for(_ready(first.run_dir))
    live = runs.live_runs(first.root)
    assert [r["name"] for r in live] == ["a"]
    second = _foreign(tmp_path, "--sleep", "30", "--listen", "{port}", name="b", live=live)
    assert second.port != first.port
    runs.launch(second, CPU)
    wait_for(_ready(second.run_dir))
    assert {r["port"] for r in runs.live_runs(first.root)} == {first.port, second.port}
    clash = _foreign(tmp_path, name="c")
    clash.port = first.port
    with pytest.raises(runs.Refused, match=f"port {first.port} is used by a live run of ours"):
        runs.launch(clash, CPU)
    assert not clash.run_dir.exists()
    for plan in (first, second):
        assert runs.stop(plan.run_dir, grace=5)["status"] == "stopped"


def test_restart_resumes_a_failed_run(tmp_path):
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), CPU, root=str(tmp_path / "wd"), name="res", entry=(str(FAKE_TRAINER),))
    assert plan.argv()[:2] == [sys.executable, str(FAKE_TRAINER)]
    runs.spawn(plan)
    wait_for(_ended(plan.run_dir))
    assert json.loads((plan.run_dir / "fake_argv.json").read_text())["argv"].count("--resume") == 0
    rec = runs.restart(plan.run_dir, CPU, entries=[lp.TRAIN_ENTRY, (str(FAKE_TRAINER),)])  # the stand-in: trusted here
    assert rec["argv"][-2:] == ["--resume", "auto"] and rec["restarts"] == 1
    assert rec["history"][0]["status"] == "finished"
    wait_for(_ended(plan.run_dir))
    seen = json.loads((plan.run_dir / "fake_argv.json").read_text())["argv"]
    assert seen[-2:] == ["--resume", "auto"] and runs.read_run(plan.run_dir)["status"] == "finished"


def test_restart_refuses_live_runs_and_templates_without_resume(tmp_path, monkeypatch):
    plan = _foreign(tmp_path, "--sleep", "30", name="live")
    runs.spawn(plan)
    wait_for(_ready(plan.run_dir))
    with pytest.raises(runs.RunError, match="still running; stop it first"):
        runs.restart(plan.run_dir, CPU)
    runs.stop(plan.run_dir, grace=5)
    tmpl = lp.CommandTemplate("noresume", fake_command())
    once = lp.make_plan("c", CPU, gpus="cpu", template=tmpl, root=str(tmp_path / "wd"), name="once")
    runs.spawn(once)
    wait_for(_ended(once.run_dir))
    with pytest.raises(runs.RunError, match="'noresume', which is not in configs/launch/"):
        runs.restart(once.run_dir, CPU)  # a template known only from run.json is not run again
    (tmp_path / "configs" / "launch").mkdir(parents=True)
    (tmp_path / "configs" / "launch" / "noresume.yaml").write_text(json.dumps(tmpl.to_dict()))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(runs.RunError, match="no resume_args"):
        runs.restart(once.run_dir, CPU)


def test_foreign_command_writes_an_mmengine_work_dir(tmp_path):
    state = lp.visible_state([gpu(0), gpu(1), gpu(2)], {})
    tmpl = lp.CommandTemplate("mm", f"{sys.executable} {FAKE_MMENGINE} {{config}} {{nproc}} --work-dir {{work_dir}} "
                              "--launcher pytorch --iters 5 --interval 2", source="mmengine")
    config = tmp_path / "rgbpose_conv3d.py"
    config.write_text("# an MMAction2 config the stand-in does not read\n")
    plan = lp.make_plan(str(config), state, gpus="1,2", template=tmpl, root=str(tmp_path / "wd"), name="mm")
    rec = runs.launch(plan, state)
    assert rec["kind"] == "foreign" and rec["source"] == "mmengine" and rec["port"] == plan.port
    wait_for(_ended(plan.run_dir))
    env = json.loads((plan.run_dir / "fake_env.json").read_text())
    assert env["env"] == {"CUDA_VISIBLE_DEVICES": "1,2", "CUDA_DEVICE_ORDER": "PCI_BUS_ID", "PORT": str(plan.port)}
    assert env["nproc"] == 2
    logs = list(plan.run_dir.glob("*/vis_data/scalars.json"))
    assert len(logs) == 1 and len(logs[0].read_text().splitlines()) == 2 * (2 + 1 + 1)
    assert (plan.run_dir / "last_checkpoint").exists() and runs.read_run(plan.run_dir)["status"] == "finished"


def _refusal_case(cause, tmp_path, stack):
    """(plan, gpu state) that pre-flight must refuse for ``cause``."""
    two = lp.visible_state([gpu(0), gpu(1)], {})
    cfg = make_config(tmp_path)
    kw = {"root": str(tmp_path / "wd"), "name": "refused"}
    if cause == "config":
        return lp.make_plan(str(cfg), CPU, overrides=["train.max_epochs=0"], **kw), CPU
    if cause == "gpus":
        return lp.make_plan(str(cfg), two, gpus="1", **kw), lp.visible_state([gpu(0)], {})
    if cause == "data":
        return lp.make_plan(str(make_config(tmp_path, ann_file=tmp_path / "gone.pkl")), CPU, **kw), CPU
    if cause == "work_dir":
        (tmp_path / "file").write_text("x")
        return lp.make_plan(str(cfg), CPU, **{**kw, "root": str(tmp_path / "file" / "wd")}), CPU
    plan = lp.make_plan(str(cfg), two, gpus="0,1", **kw)
    sock = stack.enter_context(socket.socket())
    sock.bind(("127.0.0.1", plan.port))
    sock.listen()
    return plan, two


@pytest.mark.parametrize("cause, words", [
    ("config", "train.max_epochs: must be >= 1"), ("gpus", "GPU 1"), ("data", "gone.pkl not found"),
    ("work_dir", "is a file, not a directory"), ("port", "is in use on this host"),
])
def test_launch_refuses_each_preflight_failure_before_creating_anything(tmp_path, cause, words):
    with contextlib.ExitStack() as stack:
        plan, state = _refusal_case(cause, tmp_path, stack)
        with pytest.raises(runs.Refused) as info:
            runs.launch(plan, state)
    assert [c.key for c in info.value.checks] == [cause] and words in str(info.value)
    assert "\n" not in str(info.value) and not (tmp_path / "wd").exists()


def test_a_missing_program_is_a_failed_run_not_a_crash(tmp_path):
    tmpl = lp.CommandTemplate("missing", "/nonexistent/program {work_dir}")
    plan = lp.make_plan(None, CPU, gpus="cpu", template=tmpl, root=str(tmp_path / "wd"), name="missing")
    runs.spawn(plan)
    wait_for(_ended(plan.run_dir))
    assert runs.read_run(plan.run_dir)["exit_code"] == 127
    assert "cannot start '/nonexistent/program'" in (plan.run_dir / "stdout.log").read_text()


def test_a_run_whose_wrapper_was_killed_is_still_found_and_stopped(tmp_path):
    plan = _foreign(tmp_path, "--sleep", "60", name="orphan")
    rec = runs.spawn(plan)
    wait_for(_ready(plan.run_dir))
    os.kill(rec["pid"], signal.SIGKILL)
    wait_for(lambda: not runs.is_alive(rec))
    rec = runs.refresh(plan.run_dir)
    assert rec["status"] == "running" and rec["wrapper_lost"] and runs.run_alive(rec)
    assert [r["name"] for r in runs.live_runs(plan.root)] == ["orphan"]
    rec = runs.stop(plan.run_dir, grace=5)
    assert rec["status"] == "stopped" and rec["exit_code"] is None and rec["signal"] == "SIGINT"
    assert not runs.run_alive(rec)


def test_a_run_gone_without_exit_json_is_failed(tmp_path):
    plan = _foreign(tmp_path, "--sleep", "60", name="vanished")
    rec = runs.spawn(plan)
    wait_for(_ready(plan.run_dir))
    child = json.loads((plan.run_dir / "fake_argv.json").read_text())["pid"]
    os.killpg(rec["pgid"], signal.SIGKILL)
    wait_for(lambda: not runs.run_alive(rec) and not runs.is_alive({"pid": child}))
    rec = runs.refresh(plan.run_dir)
    assert rec["status"] == "failed" and "without writing exit.json" in rec["exit_reason"]
