"""Launch planning without processes: GPU identity and selection, argv/env, scaling, pre-flight, Slurm."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys

import pytest

from epam.config import load_config
from epam.schedule import scaled_lr
from epam_tui.core import launch as lp
from fixtures.launch_helpers import REPO, busy_gpu, gpu, make_config

FOUR = [gpu(i) for i in range(4)]


# --- CUDA_VISIBLE_DEVICES and GPU picks ------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", []), ("0,2", ["0", "2"]), (" 3 , 1", ["3", "1"]), ("0,-1,2", ["0"]), ("1,1,2", ["1"]),
    ("GPU-1234abcd,2", ["GPU-1234abcd", "2"]), ("MIG-GPU-aaaa/1/0", ["MIG-GPU-aaaa/1/0"]), ("nvidia0,1", []),
])
def test_parse_visible_devices_follows_cuda(value, expected):
    assert lp.parse_visible_devices(value) == expected


def test_visible_indices_limit_the_picks_and_keep_indices():
    state = lp.visible_state(FOUR, {"CUDA_VISIBLE_DEVICES": "3,1", "CUDA_DEVICE_ORDER": "PCI_BUS_ID"})
    assert [g.index for g in state.devices] == [3, 1] and [g.index for g in state.hidden] == [0, 2]
    assert [g.index for g in lp.pick_gpus("1", state)] == [1]
    with pytest.raises(lp.LaunchError, match=r"GPU 0 is hidden by CUDA_VISIBLE_DEVICES=3,1.*pick from 3,1"):
        lp.pick_gpus("0", state)
    assert not state.notes  # the order was already PCI


def test_visible_uuids_map_to_gpus_and_the_child_gets_uuids():
    env = {"CUDA_VISIBLE_DEVICES": f"{FOUR[2].uuid[:12]},{FOUR[0].uuid}"}
    state = lp.visible_state(FOUR, env)
    assert [g.index for g in state.devices] == [2, 0] and state.use_uuids
    plan = lp.make_plan(None, state, gpus="2", template=lp.CommandTemplate("t", "x {gpus}"), root="wd")
    assert plan.env()["CUDA_VISIBLE_DEVICES"] == FOUR[2].uuid
    assert plan.env()["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"


def test_index_env_without_pci_order_is_noted():
    state = lp.visible_state(FOUR, {"CUDA_VISIBLE_DEVICES": "1"})
    assert any("PCI" in n for n in state.notes)


def test_env_hiding_every_gpu_says_so():
    state = lp.visible_state(FOUR, {"CUDA_VISIBLE_DEVICES": ""})
    assert not state.has_gpus and "hides every GPU" in state.error


@pytest.mark.parametrize("spec, message", [
    ("7", "no GPU 7 on this machine; pick from 0,1,2,3"), ("1,1", "given twice"), ("x", "not a GPU index"),
])
def test_bad_gpu_specs_are_refused(spec, message):
    with pytest.raises(lp.LaunchError, match=message):
        lp.pick_gpus(spec, lp.visible_state(FOUR, {}))


def test_gpu_specs_pick_by_index_uuid_all_cpu():
    state = lp.visible_state(FOUR, {})
    assert [g.index for g in lp.pick_gpus("2,0", state)] == [2, 0]
    assert [g.index for g in lp.pick_gpus(FOUR[3].uuid, state)] == [3]
    assert len(lp.pick_gpus("all", state)) == 4
    assert lp.pick_gpus("cpu", state) is None
    with pytest.raises(lp.LaunchError, match="no GPU available.*--gpus cpu"):
        lp.pick_gpus("0", lp.GpuState([], error="no NVIDIA driver"))


def test_busy_reasons():
    assert lp.busy_reasons(gpu(0)) == []
    reasons = lp.busy_reasons(busy_gpu(1))
    assert "30.0 GiB in use" in reasons and any("bob:python(4242)" in r for r in reasons)
    ours = lp.gpus_of_runs([{"name": "baseline", "gpus": [{"index": 0, "uuid": FOUR[0].uuid}]}])
    assert lp.busy_reasons(gpu(0), ours) == ["used by our run baseline"]


def test_auto_pick_skips_busy_gpus_and_refuses_when_all_busy():
    state = lp.visible_state([busy_gpu(0), gpu(1), gpu(2)], {})
    assert [g.index for g in lp.auto_gpus(state, 2)] == [1, 2]
    assert [g.index for g in lp.make_plan(None, state, gpus="auto", nproc=2, root="wd",
                                          template=lp.CommandTemplate("t", "x")).gpus] == [1, 2]
    with pytest.raises(lp.LaunchError, match="every GPU .* is busy"):
        lp.auto_gpus(lp.visible_state([busy_gpu(0)], {}), 1)
    assert lp.auto_gpus(lp.GpuState([], error="none"), 2) is None


# --- argv and env ----------------------------------------------------------------------------


def test_one_process_runs_the_trainer_directly(tmp_path):
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), lp.GpuState([], error="no driver"), root="wd", name="r1")
    assert plan.argv() == [sys.executable, "-m", "epam.train", str(cfg), "--work-dir", "wd/r1"]
    assert plan.env()["CUDA_VISIBLE_DEVICES"] == "" and plan.port is None
    assert plan.preview().endswith(f"python -m epam.train {cfg} --work-dir wd/r1")


def test_two_gpus_run_torchrun_with_a_free_port(tmp_path):
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), lp.visible_state(FOUR, {}), gpus="1,2", root="wd", name="r2",
                        overrides=["train.max_epochs=2"])
    argv = plan.argv()
    assert argv[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--nproc_per_node=2" in argv and f"--master_port={plan.port}" in argv
    assert argv[argv.index("-m", 3):] == ["-m", "epam.train", str(cfg), "--work-dir", "wd/r2",
                                          "--set", "train.max_epochs=2"]
    assert plan.display_argv()[0] == "torchrun"
    assert plan.preview().startswith("CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=1,2 torchrun ")
    assert lp.port_free(plan.port)
    rec = plan.record()
    assert rec["gpus"] == [{"index": 1, "uuid": FOUR[1].uuid, "name": "Fake A100"},
                           {"index": 2, "uuid": FOUR[2].uuid, "name": "Fake A100"}]
    assert rec["nproc"] == 2 and rec["port"] == plan.port and rec["kind"] == "epam"


def test_cpu_processes_default_to_the_recipe(tmp_path):
    cfg = make_config(tmp_path, "two.yaml")
    cfg.write_text(cfg.read_text() + "train:\n  gpus: 2\n")
    plan = lp.make_plan(str(cfg), lp.GpuState([], error="no driver"), root="wd")
    assert plan.nproc == min(2, os.cpu_count()) and plan.cpu
    plan = lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", nproc=3, root="wd")
    assert plan.nproc == 3 and "--nproc_per_node=3" in plan.argv()


def test_shell_metacharacters_stay_one_argument(tmp_path):
    cfg = make_config(tmp_path, "we ird;$(touch x).yaml")
    nasty = "data.ann_file=a b;rm -rf / $(touch pwned) `id` | cat > out"
    plan = lp.make_plan(str(cfg), lp.visible_state(FOUR, {}), gpus="0,1", overrides=[nasty], root="wd")
    argv = plan.argv()
    assert nasty in argv and str(cfg) in argv
    assert shlex.split(plan.preview())[-len(argv) + 3:] == argv[3:]  # the preview pastes back to the same argv
    tmpl = lp.CommandTemplate("t", "bash tools/dist_train.sh {config} {nproc} --work-dir={work_dir}")
    plan = lp.make_plan(str(cfg), lp.visible_state(FOUR, {}), gpus="0", template=tmpl, root="wd", name="n")
    assert plan.argv() == ["bash", "tools/dist_train.sh", str(cfg), "1", "--work-dir=wd/n"]


def test_template_placeholders_are_checked():
    with pytest.raises(lp.LaunchError, match=r"unknown placeholder \{cfg\}"):
        lp.CommandTemplate("t", "run {cfg}").tokens()
    with pytest.raises(lp.LaunchError, match="quotes"):
        lp.CommandTemplate("t", "run 'open").tokens()


def test_example_templates_load_and_render():
    mm = lp.load_template("mmaction2_dist_train", REPO / "configs" / "launch")
    assert mm.source == "mmengine" and mm.resume_args == ["--resume"]
    official = lp.load_template(str(REPO / "configs" / "launch" / "epam_official.yaml"))
    assert official.port == 12355 and official.source == "epam-official"
    plan = lp.make_plan("cfg.py", lp.visible_state(FOUR, {}), gpus="2,3", template=mm, root="wd", name="mm")
    assert plan.argv()[:4] == ["bash", "tools/dist_train.sh", "cfg.py", "2"]
    assert plan.env()["PORT"] == str(plan.port) and plan.env()["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert plan.preview().startswith(f"cd {os.path.expanduser('~/mmaction2')} && CUDA_DEVICE_ORDER=PCI_BUS_ID ")
    assert lp.load_template("echo {config}").name == "custom"
    with pytest.raises(lp.LaunchError, match="no such template"):
        lp.load_template("nonexistent_template")


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ".hidden", "", "x" * 101, "a\nb"])
def test_run_names_cannot_escape_the_work_dir(name):
    with pytest.raises(lp.LaunchError, match="not allowed|leaves"):
        lp.run_dir_for("wd", name)


def test_plain_run_name_stays_inside(tmp_path):
    assert lp.run_dir_for(tmp_path, "run-1.a_b") == (tmp_path / "run-1.a_b").resolve()


def test_resume_and_multinode_argv(tmp_path):
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", nproc=2, root="wd", name="mn", nnodes=2,
                        node_rank=1, rdzv_endpoint="node0:29400", resume=True)
    argv = plan.argv()
    for arg in ("--nnodes=2", "--node_rank=1", "--rdzv-backend=c10d", "--rdzv-endpoint=node0:29400", "--rdzv-id=mn"):
        assert arg in argv
    assert argv[-2:] == ["--resume", "auto"] and plan.port == 29400
    again = lp.LaunchPlan.from_record(plan.record(), resume=True)
    assert again.argv() == argv
    with pytest.raises(lp.LaunchError, match="--rdzv-endpoint"):
        lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", root="wd", nnodes=2)
    with pytest.raises(lp.LaunchError, match="--node-rank"):
        lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", root="wd", nnodes=2, node_rank=2, rdzv_endpoint="h:1")


# --- scaling ---------------------------------------------------------------------------------


def test_linear_scaling_uses_epam_schedule(tmp_path):
    cfg = load_config(make_config(tmp_path))  # demo: lr 0.05, 8 per GPU, recipe 1 GPU
    scale = lp.scaling(cfg, nproc=4)
    assert scale.differs and scale.total_batch == 32 and scale.recipe_batch == 8
    assert scale.scaled_lr == pytest.approx(scaled_lr(cfg, 32)) == pytest.approx(0.2)
    assert lp.apply_scaling(["optimizer.lr=0.1", "train.seed=1"], scale) == ["train.seed=1", "optimizer.lr=0.2"]
    assert not lp.scaling(cfg, nproc=1).differs


def test_summary_rows_and_errors(tmp_path):
    summary = lp.summarize(str(make_config(tmp_path)))
    rows = dict(summary.rows())
    assert rows["lr"] == "0.05" and rows["epochs"] == "8" and rows["seed"] == "100"
    assert rows["schedule"].startswith("CosineAnnealingLR T_max=8")
    bad = lp.summarize(str(make_config(tmp_path)), ["optimizer.lr=-1"])
    assert not bad.ok and any("optimizer.lr" in e and "> 0" in e for e in bad.errors)


def test_find_configs_leaves_out_bases_and_templates():
    found = lp.find_configs(REPO / "configs")
    assert any(f.endswith("epam_synthetic_demo.yaml") for f in found)
    assert not any("_base_" in f or "/launch/" in f for f in found)


# --- ports -----------------------------------------------------------------------------------


def test_choose_port_skips_reserved_and_bound_ports():
    first = lp.choose_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", first))
        sock.listen()
        assert not lp.port_free(first)
        second = lp.choose_port()
        assert second != first
    assert lp.choose_port(reserved=[first]) != first


# --- pre-flight refusals, one per cause --------------------------------------------------------


def _plan(tmp_path, **kw):
    kw.setdefault("root", str(tmp_path / "wd"))
    config = kw.pop("config") if "config" in kw else str(make_config(tmp_path))
    return lp.make_plan(config, kw.pop("state", lp.visible_state(FOUR, {})), **kw)


def _failing(checks):
    return {c.key: c.message for c in lp.failures(checks)}


def test_preflight_passes_for_a_good_plan(tmp_path):
    plan = _plan(tmp_path, gpus="0,1")
    assert _failing(lp.preflight(plan, lp.visible_state(FOUR, {}))) == {}


def test_preflight_refuses_a_bad_config(tmp_path):
    plan = _plan(tmp_path, gpus="0", overrides=["optimizer.lr=-1"])
    assert "optimizer.lr: must be > 0" in _failing(lp.preflight(plan, lp.visible_state(FOUR, {})))["config"]


def test_preflight_refuses_a_missing_gpu(tmp_path):
    plan = _plan(tmp_path, gpus="3")
    gone = lp.visible_state(FOUR[:3], {})
    assert "GPU 3" in _failing(lp.preflight(plan, gone))["gpus"]
    nodriver = _failing(lp.preflight(plan, lp.GpuState([], error="no NVIDIA driver")))
    assert "no NVIDIA driver" in nodriver["gpus"] and "--gpus cpu" in nodriver["gpus"]


def test_preflight_refuses_missing_data(tmp_path):
    plan = _plan(tmp_path, gpus="0", config=str(make_config(tmp_path, ann_file=tmp_path / "nope.pkl")))
    message = _failing(lp.preflight(plan, lp.visible_state(FOUR, {})))["data"]
    assert "data.ann_file" in message and "nope.pkl not found" in message and "epam make-synthetic" in message


def test_preflight_refuses_an_unwritable_work_dir(tmp_path):
    (tmp_path / "afile").write_text("x")
    plan = _plan(tmp_path, gpus="0", root=str(tmp_path / "afile" / "runs"))
    assert "is a file, not a directory" in _failing(lp.preflight(plan, lp.visible_state(FOUR, {})))["work_dir"]
    taken = _plan(tmp_path, gpus="0", name="taken")
    taken.run_dir.mkdir(parents=True)
    (taken.run_dir / "run.json").write_text("{}")
    assert "already exists" in _failing(lp.preflight(taken, lp.visible_state(FOUR, {})))["work_dir"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_preflight_refuses_a_read_only_work_dir(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o500)
    plan = _plan(tmp_path, gpus="0", root=str(tmp_path / "ro"))
    assert "not writable" in _failing(lp.preflight(plan, lp.visible_state(FOUR, {})))["work_dir"]


def test_preflight_refuses_a_busy_port(tmp_path):
    plan = _plan(tmp_path, gpus="0,1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", plan.port))
        sock.listen()
        assert f"port {plan.port} is in use" in _failing(lp.preflight(plan, lp.visible_state(FOUR, {})))["port"]
    live = [{"name": "other", "port": plan.port, "gpus": []}]
    assert "used by a live run of ours" in _failing(lp.preflight(plan, lp.visible_state(FOUR, {}), live))["port"]


def test_preflight_asks_before_busy_gpus(tmp_path):
    state = lp.visible_state([gpu(0), busy_gpu(1)], {})
    plan = _plan(tmp_path, gpus="1", state=state)
    message = _failing(lp.preflight(plan, state))["busy"]
    assert "GPU 1" in message and "bob:python" in message and "--yes" in message
    assert _failing(lp.preflight(plan, state, confirmed_busy=True)) == {}
    ours = [{"name": "baseline", "gpus": [{"index": 0, "uuid": gpu(0).uuid}]}]
    plan0 = _plan(tmp_path, gpus="0", state=state)
    assert "used by our run baseline" in _failing(lp.preflight(plan0, state, ours))["busy"]


def test_preflight_checks_a_fixed_template_port(tmp_path):
    tmpl = lp.CommandTemplate("official", "python train.py --work_dir {work_dir}", "epam-official", port=0)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        tmpl.port = sock.getsockname()[1]
        plan = _plan(tmp_path, config=None, gpus="0", template=tmpl)
        assert plan.port == tmpl.port
        assert "in use" in _failing(lp.preflight(plan, lp.visible_state(FOUR, {})))["port"]


# --- Slurm -----------------------------------------------------------------------------------


def test_slurm_script_text(tmp_path):
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), lp.GpuState([]), gpus="cpu", nproc=4, root=str(tmp_path / "wd"), name="sl",
                        nnodes=2, rdzv_endpoint="head:1", overrides=["data.ann_file=a b;$(x)"])
    text = lp.slurm_script(plan, "gpu-part")
    for line in ("#SBATCH --partition=gpu-part", "#SBATCH --nodes=2", "#SBATCH --gres=gpu:4",
                 "#SBATCH --ntasks-per-node=1", f"#SBATCH --output={plan.run_dir / 'stdout.log'}"):
        assert line in text.splitlines()
    srun = next(line for line in text.splitlines() if line.startswith("srun "))
    assert "-m torch.distributed.run" in srun and "--nproc_per_node=4" in srun
    assert '--rdzv-endpoint="$MASTER_ADDR:$MASTER_PORT"' in srun and "-m epam.train" in srun
    assert shlex.quote("data.ann_file=a b;$(x)") in srun
    assert subprocess.run(["bash", "-n"], input=text, text=True).returncode == 0
    assert "--gres" not in lp.slurm_script(plan, "cpu-part", gpus=False)
    with pytest.raises(lp.LaunchError, match="partition"):
        lp.slurm_script(plan, "bad part;")
