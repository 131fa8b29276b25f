"""Multi-node torchrun through ``epam-tui launch``: two "nodes" on this machine (node rank 0 and 1, one
c10d rendezvous at 127.0.0.1, Gloo on CPU) write ONE run directory whose metrics equal a 2-process
single-node ``torchrun --standalone`` run with the same seed; the rendezvous options are built once
(``epam_tui.core.launch.rendezvous``) for the local launch and the Slurm script."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from epam_tui.commands import launch as cmd
from epam_tui.core import launch as lp
from epam_tui.core import runs
from epam_tui.core.launch import checks as preflight
from epam_tui.core.launch import relaunch
from epam_tui.core.launch import rendezvous as rdzv
from tests.conftest import ROOT, poll_until, tiny_overrides

CONFIG = "configs/epam_synthetic_demo.yaml"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
CPU = lp.GpuState([])


def _plan(tmp_path: Path, **kw) -> lp.LaunchPlan:
    args = {"gpus": "cpu", "nproc": 1, "root": str(tmp_path / "wd"), "name": "mn", "nnodes": 2, "node_rank": 0,
            "rdzv_endpoint": "127.0.0.1:29411", **kw}
    return lp.make_plan(str(ROOT / CONFIG), CPU, **args)


# --------------------------------------------------------------------------------------------
# argv, validation, where each node writes


def test_multinode_argv_is_the_rendezvous_not_standalone(tmp_path: Path) -> None:
    plan = _plan(tmp_path, node_rank=1, nproc=3, rdzv_id="job7")
    argv = plan.argv()
    i = argv.index("--nnodes=2")
    assert argv[i:i + 6] == ["--nnodes=2", "--nproc_per_node=3", "--node_rank=1", "--rdzv-id=job7",
                             "--rdzv-backend=c10d", "--rdzv-endpoint=127.0.0.1:29411"]
    assert "--standalone" not in argv and not any(a.startswith("--master") for a in argv)
    assert "--rdzv-id=mn" in _plan(tmp_path).argv()  # default id: the run name, the same on every node
    # node 1's trainers write to the one run dir; its launcher's record goes to node1/
    assert argv[argv.index("--work-dir") + 1] == os.path.join(str(tmp_path / "wd"), "mn")
    assert plan.run_dir == (tmp_path / "wd" / "mn" / "node1").resolve()
    assert _plan(tmp_path).run_dir == (tmp_path / "wd" / "mn").resolve()
    rec = plan.record()
    assert rec["launch"]["rdzv_id"] == "job7" and lp.LaunchPlan.from_record(rec).argv() == argv


@pytest.mark.parametrize("endpoint, why", [
    ("node0", "expected HOST:PORT"), (":29400", "expected HOST:PORT"), ("node0:0", "1-65535"),
    ("node0:65536", "1-65535"), ("node0:http", "1-65535"), ("a b:1", "expected HOST:PORT"),
    ("-x:29400", "expected HOST:PORT"), ("node0:29400\n", "1-65535"),
])
def test_bad_endpoint_is_one_line(tmp_path: Path, endpoint: str, why: str) -> None:
    with pytest.raises(lp.LaunchError, match=why) as info:
        _plan(tmp_path, rdzv_endpoint=endpoint)
    assert "\n" not in str(info.value).replace(repr(endpoint), "")


def test_good_endpoints_and_ids() -> None:
    assert rdzv.parse_endpoint("node0:29400") == ("node0", 29400)
    assert rdzv.parse_endpoint("10.0.0.2:1") == ("10.0.0.2", 1)
    assert rdzv.parse_endpoint("[::1]:65535") == ("::1", 65535)
    with pytest.raises(rdzv.RendezvousError, match="--rdzv-id"):
        rdzv.check_rdzv_id("a;b")


def test_cli_multinode_needs_one_name(tmp_path: Path, capsys, tiny_synthetic: Path) -> None:
    # the dry run's pre-flight needs the data to exist: the tiny set, not data/synthetic_demo (absent on a clean clone)
    base = [CONFIG, "--dry-run", "--gpus", "cpu", "--nproc", "1", "--nnodes", "2", "--rdzv-endpoint", "127.0.0.1:29412",
            "--root", str(tmp_path / "wd"), "--set", *tiny_overrides(tiny_synthetic)]
    assert cmd.main(base) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--name" in err
    assert cmd.main([*base, "--name", "mn", "--node-rank", "1", "--rdzv-endpoint", "127.0.0.1:99999"]) == 2
    assert "port '99999' must be a number in 1-65535" in capsys.readouterr().err
    assert cmd.main([*base, "--name", "mn", "--node-rank", "1", "--rdzv-id", "j1"]) == 0
    out = capsys.readouterr().out
    assert "--nnodes=2 --nproc_per_node=1 --node_rank=1 --rdzv-id=j1 --rdzv-backend=c10d" in out
    assert f"run dir: {(tmp_path / 'wd' / 'mn' / 'node1').resolve()}" in out


def test_node0_preflight_accepts_a_node_dir_and_node1_leaves_the_port_to_node0(tmp_path: Path) -> None:
    node0, node1 = _plan(tmp_path), _plan(tmp_path, node_rank=1)
    node1.run_dir.mkdir(parents=True)
    (node1.run_dir / "run.json").write_text("{}")
    assert preflight.check_work_dir(node0).ok  # node 1's launcher came first: still one run dir
    (node0.run_dir / "train.log").write_text("x")
    assert not preflight.check_work_dir(node0).ok
    assert preflight.check_port(node1, reserved=[29411]).ok


def test_restart_of_a_node_record_keeps_the_run_name(tmp_path: Path) -> None:
    plan = _plan(tmp_path, node_rank=1)
    rec = {**plan.record(), "work_dir": str(plan.run_dir)}
    again = relaunch.restart_plan(plan.run_dir, rec)
    assert again.name == "mn" and again.run_dir == plan.run_dir and "--rdzv-id=mn" in again.argv()


def test_slurm_script_uses_the_same_rendezvous_builder(tmp_path: Path) -> None:
    plan = lp.make_plan(str(ROOT / CONFIG), CPU, gpus="cpu", nproc=4, root=str(tmp_path / "wd"), name="sl")
    script = lp.slurm_script(plan, "cpu", gpus=False)
    for line in rdzv.SLURM_HEAD_LINES:
        assert line in script.splitlines()
    assert "scontrol show hostnames" in script
    srun = next(line for line in script.splitlines() if line.startswith("srun "))
    assert " ".join(rdzv.torchrun_args('"$SLURM_JOB_NUM_NODES"', 4, '"$MASTER_ADDR:$MASTER_PORT"',
                                       '"$SLURM_JOB_ID"')) in srun


# --------------------------------------------------------------------------------------------
# the real thing: two launchers, one run dir, the metrics of a 2-process single-node run


def _sets(data: Path) -> list[str]:
    return tiny_overrides(data, **{"train.max_epochs": 1, "scheduler.T_max": 1, "data.batch_per_gpu": 2,
                                   "train.device": "cpu"})


def _records(work: Path) -> list[dict]:
    return [json.loads(line) for line in (work / "scalars.jsonl").read_text().splitlines() if line.strip()]


def _launch_node(rank: int, port: int, root: Path, sets: list[str]) -> subprocess.Popen:
    argv = [sys.executable, "-m", "epam_tui.cli", "launch", CONFIG, "--headless", "--gpus", "cpu", "--nproc", "1",
            "--nnodes", "2", "--node-rank", str(rank), "--rdzv-endpoint", f"127.0.0.1:{port}", "--name", "mn",
            "--root", str(root), "--set", *sets]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=ENV)


@pytest.mark.slow
def test_two_nodes_write_one_run_dir_equal_to_a_two_process_run(tmp_path: Path, tiny_synthetic: Path) -> None:
    sets = _sets(tiny_synthetic)
    root = tmp_path / "wd"
    port = lp.choose_port()
    run_dir, node1_dir = root / "mn", root / "mn" / "node1"
    procs: list[subprocess.Popen] = []
    try:
        procs.append(_launch_node(0, port, root, sets))
        # node 0 first: on one host the first agent to start keeps the rendezvous store on PORT
        assert poll_until(lambda: (runs.read_run(run_dir) or {}).get("pid"), 60), "node 0 did not start"
        procs.append(_launch_node(1, port, root, sets))
        # both end; a node that fails (e.g. refused by pre-flight) ends the wait at once, not the other's timeout
        poll_until(lambda: all(p.poll() is not None for p in procs) or any(p.poll() for p in procs), 300, step=0.5)
    finally:
        for d in (run_dir, node1_dir):
            if runs.read_run(d) and runs.is_alive(runs.read_run(d)):
                runs.stop(d, grace=5)
        for p in procs:
            if p.poll() is None:
                p.kill()
    outs = [p.communicate(timeout=30)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n".join(o[-3000:] for o in outs)
    assert "val top1" in outs[0]

    # one run directory; node 1's launcher keeps only its own record in node1/
    assert sorted(p.name for p in root.iterdir()) == ["mn"]
    rec0, rec1 = runs.read_run(run_dir), runs.read_run(node1_dir)
    assert rec0["launch"]["node_rank"] == 0 and rec1["launch"]["node_rank"] == 1
    assert rec0["status"] == rec1["status"] == "finished"
    for rec in (rec0, rec1):
        assert f"--rdzv-endpoint=127.0.0.1:{port}" in rec["argv"] and "--rdzv-id=mn" in rec["argv"]
        assert "--standalone" not in rec["argv"]
    assert {p.name for p in node1_dir.iterdir()} <= {"run.json", "exit.json", "stdout.log", ".run.json.lock"}
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "finished" and status["world_size"] == 2

    # the reference: torchrun --standalone, 2 processes on one node, same config and seed
    ref = tmp_path / "standalone"
    argv = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "epam.train",
            CONFIG, "--work-dir", str(ref), "--set", *sets]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=ENV, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    multi, single = _records(run_dir), _records(ref)
    steps = [(r["step"], r["loss"]) for r in multi if "lr" in r]
    steps_ref = [(r["step"], r["loss"]) for r in single if "lr" in r]
    assert [s for s, _ in steps] == [s for s, _ in steps_ref] and len(steps) >= 2
    for (step, loss), (_, loss_ref) in zip(steps, steps_ref):
        assert math.isclose(loss, loss_ref, rel_tol=0, abs_tol=1e-5), (step, loss, loss_ref)
    val = [r for r in multi if "acc/top1" in r]
    val_ref = [r for r in single if "acc/top1" in r]
    assert len(val) == len(val_ref) == 1
    assert val[0]["acc/top1"] == val_ref[0]["acc/top1"] and val[0]["acc/top5"] == val_ref[0]["acc/top5"]
