"""End to end on a real single-node Slurm (scripts/slurm_local.sh): `epam-tui launch --slurm` submits the
demo for one epoch, the run goes PENDING -> RUNNING -> COMPLETED with its metrics in the run dir; a second
run stopped with `epam-tui launch --stop` is CANCELLED.

Skipped with the reason when Slurm is not installed, or the cluster is not up and this is not root (as root
it brings the cluster up itself). To see PENDING for certain, a blocker job holds the whole node first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from epam_tui.core import registry, slurm
from tests.conftest import ROOT, poll_until, tiny_overrides

pytestmark = pytest.mark.slow
SCRIPT = ROOT / "scripts" / "slurm_local.sh"
TRAIN_TIMEOUT_S = 900.0


@pytest.fixture(scope="module")
def partition() -> str:
    missing = [b for b in ("sbatch", "squeue", "scancel", "sinfo") if shutil.which(b) is None]
    if missing or not Path("/usr/sbin/slurmctld").exists():
        pytest.skip(f"Slurm is not installed ({', '.join(missing) or 'slurmctld'} missing): "
                    "apt-get install -y --no-install-recommends slurm-wlm munge")
    up = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True, text=True, timeout=60)
    if up.returncode != 0:
        if os.geteuid() != 0:
            pytest.skip(f"the local Slurm cluster is not up ({up.stdout.strip()}): sudo {SCRIPT} up")
        started = subprocess.run(["bash", str(SCRIPT), "up"], capture_output=True, text=True, timeout=180)
        assert started.returncode == 0, f"slurm_local.sh up failed: {started.stderr.strip()}"
    out = subprocess.run(["sinfo", "-h", "-o", "%P"], capture_output=True, text=True, timeout=60).stdout.split()
    default = [p.rstrip("*") for p in out if p.endswith("*")]
    assert out, "sinfo lists no partition"
    return (default or out)[0].rstrip("*")


def _launch(*args: str) -> list[str]:
    return [sys.executable, "-m", "epam_tui.cli", "launch", *args]


def _state(job: str) -> slurm.JobState:
    return slurm.job_state(job)


def test_demo_job_completes_and_a_stopped_job_is_cancelled(partition, tiny_synthetic, tmp_path):
    root = tmp_path / "wd"
    common = ["configs/epam_synthetic_demo.yaml", "--slurm", partition, "--gpus", "cpu", "--root", str(root),
              "--set", *tiny_overrides(tiny_synthetic, **{"train.max_epochs": 1, "scheduler.T_max": 1})]
    blocker_script = tmp_path / "blocker.sbatch"
    blocker_script.write_text(f"#!/bin/bash\n#SBATCH --output={tmp_path / 'blocker.log'}\nsleep 600\n")
    blocker = slurm.submit(blocker_script, args=["--exclusive", "-p", partition, "-J", "epam-test-blocker"])
    follower = None
    seen: dict[str, list[str]] = {"demo": [], "second": [], "blocker": []}

    def note(key: str, job: str) -> slurm.JobState:
        state = _state(job)
        if not seen[key] or seen[key][-1] != state.state:
            seen[key].append(state.state)
        return state

    try:
        assert poll_until(lambda: note("blocker", blocker).state == "RUNNING", 120, 0.5), seen
        # the demo, followed headless in the background as a user would
        follower = subprocess.Popen(_launch(*common, "--headless", "--name", "demo"), cwd=ROOT, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        demo_dir, second_dir = root / "demo", root / "second"
        demo_job = poll_until(lambda: slurm.job_of(_read(demo_dir / "run.json")), 120, 0.2)
        assert demo_job, f"no job id in {demo_dir / 'run.json'}"
        assert note("demo", demo_job).state == "PENDING"  # the blocker holds the node
        queued = registry.load_run(demo_dir)
        assert queued.state == "queued" and f"Slurm job {demo_job} PENDING" in queued.reason, queued.reason
        # the second run: submitted, then stopped once it runs
        sub = subprocess.run(_launch(*common, "--name", "second"), cwd=ROOT, capture_output=True, text=True,
                             timeout=120)
        assert sub.returncode == 0, sub.stderr
        second_job = slurm.job_of(_read(second_dir / "run.json"))
        assert f"Slurm job {second_job}" in sub.stdout and note("second", second_job).state == "PENDING"

        slurm.cancel(blocker)
        assert poll_until(lambda: note("blocker", blocker).terminal, 60, 0.5)
        assert poll_until(lambda: note("demo", demo_job).state != "PENDING", 120, 0.5), seen
        assert poll_until(lambda: note("second", second_job).state == "RUNNING", TRAIN_TIMEOUT_S, 0.5), seen
        stop = subprocess.run(_launch("--stop", str(second_dir), "--grace", "60"), cwd=ROOT, capture_output=True,
                              text=True, timeout=180)
        assert stop.returncode == 0 and "second: stopped" in stop.stdout, (stop.stdout, stop.stderr)
        note("second", second_job)

        out, _ = follower.communicate(timeout=TRAIN_TIMEOUT_S)
        note("demo", demo_job)
    finally:
        if follower is not None and follower.poll() is None:
            follower.kill()
        slurm.cancel(blocker)
    print(f"states seen: {json.dumps(seen)}")  # for the report (pytest -s)

    # the demo: PENDING -> RUNNING -> COMPLETED in the follower's lines and in what job_state read
    assert follower.returncode == 0, out
    lines = [line for line in out.splitlines() if line.startswith(f"Slurm job {demo_job}:")]
    assert [line.split(": ")[1].split(" ")[0] for line in lines] == ["PENDING", "RUNNING", "COMPLETED"], out
    assert seen["demo"][0] == "PENDING" and seen["demo"][-1] == "COMPLETED", seen
    assert _state(demo_job) == slurm.JobState("COMPLETED", 0, "")
    rec = _read(demo_dir / "run.json")
    assert rec["status"] == "finished" and rec["exit_code"] == 0 and rec["slurm"]["state"] == "COMPLETED"
    records = [json.loads(line) for line in (demo_dir / "scalars.jsonl").read_text().splitlines()]
    assert any("acc/top1" in r and r["epoch"] == 1 for r in records), "no validation record for epoch 1"
    done = registry.load_run(demo_dir)
    assert done.state == "finished" and done.val and done.train, (done.state, done.reason)

    # the second: CANCELLED by --stop while it ran
    assert seen["second"][-1] == "CANCELLED" and "RUNNING" in seen["second"], seen
    assert _state(second_job).state == "CANCELLED"
    rec = _read(second_dir / "run.json")
    assert rec["status"] == "stopped" and rec["slurm"]["state"] == "CANCELLED", rec
    assert registry.load_run(second_dir).state == "stopped"
    assert seen["blocker"][-1] == "CANCELLED"


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def test_refused_submission_is_one_line(partition, tmp_path):
    script = tmp_path / "job.sbatch"
    script.write_text("#!/bin/bash\ntrue\n")
    with pytest.raises(slurm.SlurmError) as err:
        slurm.submit(script, args=["-p", "no-such-partition"])
    assert "Invalid partition name specified" in str(err.value) and "\n" not in str(err.value)
