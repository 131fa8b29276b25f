"""Hostile input to the launcher: the Slurm script and restarts run nothing they were not meant to.

- Slurm: scripts are generated from hostile values (``$(...)``, ``;``, backticks, quotes, spaces) in
  --root, the config path, --set values and the working directory, checked with ``bash -n`` and run
  under a fake ``srun``/``scontrol``/python on PATH: no marker file appears, and the argv that reaches
  "python" is exactly the plan's. Values with control characters (a newline) are refused in one line.
- Restart: a tampered run.json (free argv in ``launch.entry``, a template whose command was edited,
  an override that is an option) never runs what it says; the refusal names the field.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from epam_tui.commands import launch as cmd
from epam_tui.core import launch as lp
from epam_tui.core import runs
from tests.tui.fixtures.launch_helpers import FAKE_TRAINER, make_config, wait_for

pytestmark = [pytest.mark.faults]

CPU = lp.GpuState([], error="no NVIDIA driver")
HOSTILE = [
    "$(touch MARK_dollar)",
    "x; touch MARK_semi",
    "`touch MARK_tick`",
    "it's \"quoted\" & spaced",
    "a b|touch MARK_pipe",
    "${IFS}touch${IFS}MARK_ifs",
    "\\$(touch MARK_bs)",
]


def _markers(*dirs: Path) -> list[str]:
    return sorted(str(p) for d in dirs for p in Path(d).rglob("MARK*"))


def _fake_bin(tmp: Path) -> Path:
    """srun runs its command; scontrol names one node; "python" records its argv (NUL-separated)."""
    bindir = tmp / "bin"
    bindir.mkdir()
    scripts = {
        "srun": '#!/bin/bash\nwhile [[ "$1" == --* ]]; do shift; done\nexec "$@"\n',
        "scontrol": "#!/bin/bash\necho node0\n",
        "python": f'#!/bin/bash\nprintf "%s\\0" "$@" > {tmp / "python_argv"}\n',
    }
    for name, text in scripts.items():
        (bindir / name).write_text(text)
        (bindir / name).chmod(0o755)
    return bindir


def _run_script(tmp: Path, text: str, cwd: Path) -> subprocess.CompletedProcess:
    script = tmp / "job.sbatch"
    script.write_text(text)
    check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    env = {**os.environ, "PATH": f"{tmp / 'bin'}{os.pathsep}{os.environ['PATH']}", "SLURM_JOB_NODELIST": "node0",
           "SLURM_JOB_ID": "4242", "SLURM_JOB_NUM_NODES": "1"}
    try:
        return subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=30, cwd=cwd, env=env,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:  # an injected line may wait for ever: what it did is what counts
        return subprocess.CompletedProcess(exc.cmd, -1, "", "timed out")


@pytest.mark.parametrize("value", HOSTILE)
def test_slurm_script_from_hostile_values_runs_nothing(tmp_path: Path, value: str, monkeypatch) -> None:
    _fake_bin(tmp_path)
    base = tmp_path / value  # a directory named by the payload: --root, the config and the job's cwd live there
    base.mkdir()
    cfg = make_config(base, name=f"{value}.yaml")
    override = f"data.ann_file={value}"
    plan = lp.make_plan(str(cfg), CPU, gpus="cpu", nproc=2, overrides=[override], root=str(base / "wd"), name="inj")
    plan.python = str(tmp_path / "bin" / "python")
    monkeypatch.chdir(base)  # the script cds to where it was written from
    text = lp.slurm_script(plan, "gpu")
    done = _run_script(tmp_path, text, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _markers(tmp_path) == [], text
    argv = (tmp_path / "python_argv").read_bytes().split(b"\0")[:-1]
    assert [a.decode() for a in argv] == [
        "-m", "torch.distributed.run", "--nnodes=1", "--nproc_per_node=2", "--rdzv-id=4242", "--rdzv-backend=c10d",
        f"--rdzv-endpoint=node0:{20000 + 4242 % 20000}", "-m", "epam.train", str(cfg), "--work-dir",
        os.path.join(str(base / "wd"), "inj"), "--set", override]


@pytest.mark.parametrize("where", ["root", "override", "config", "cwd"])
def test_control_characters_in_script_values_are_refused(tmp_path: Path, where: str, monkeypatch) -> None:
    _fake_bin(tmp_path)
    evil = "x\ntouch MARK_newline\n"
    cfg = make_config(tmp_path)
    kw = {"root": str(tmp_path / "wd"), "overrides": [], "config": str(cfg), "cwd": str(tmp_path)}
    if where == "override":
        kw["overrides"] = [f"data.ann_file={evil}"]
    elif where == "cwd":
        kw["cwd"] = str(tmp_path / evil)
    elif where == "root":
        kw["root"] = str(tmp_path / evil)
    else:
        kw["config"] = str(tmp_path / f"{evil}.yaml")
    try:
        plan = lp.make_plan(kw["config"], CPU, gpus="cpu", nproc=2, overrides=kw["overrides"], root=kw["root"],
                            name="nl")
        Path(kw["cwd"]).mkdir(exist_ok=True)
        monkeypatch.chdir(kw["cwd"])
        text = lp.slurm_script(plan, "gpu")
    except lp.LaunchError as exc:
        assert "control character" in str(exc) and "\n" not in str(exc)
    else:  # not refused: then at least nothing may run
        _run_script(tmp_path, text, cwd=tmp_path)
        assert _markers(tmp_path) == [], text
        pytest.fail("a value with a newline reached the script")


def test_slurm_root_with_a_newline_is_one_line_error_and_nothing_submitted(tmp_path, monkeypatch, capsys):
    bindir = _fake_bin(tmp_path)
    (bindir / "sbatch").write_text(f"#!/bin/sh\nbash \"$2\"\necho \"$@\" > {tmp_path / 'submitted'}\necho 1\n")
    (bindir / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    cfg = make_config(tmp_path)
    code = cmd.main([str(cfg), "--slurm", "gpu", "--nproc", "2", "--name", "nl",
                     "--root", f"{tmp_path}/wd\ntouch {tmp_path}/MARK_root\n#"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "control character" in err, err
    assert not (tmp_path / "submitted").exists() and _markers(tmp_path) == []


def test_slurm_validates_the_config_like_any_launch(tmp_path, monkeypatch, capsys):
    bindir = _fake_bin(tmp_path)
    (bindir / "sbatch").write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'submitted'}\necho 1\n")
    (bindir / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    cfg = make_config(tmp_path)
    code = cmd.main([str(cfg), "--slurm", "gpu", "--name", "bad", "--root", str(tmp_path / "wd"),
                     "--set", "train.max_epochs=0"])
    err = capsys.readouterr().err
    assert code == 2 and "refused (config):" in err and "train.max_epochs: must be >= 1" in err, err
    assert not (tmp_path / "submitted").exists() and not (tmp_path / "wd" / "bad" / "slurm.sbatch").exists()


# ------------------------------------------------------------------------------------------- restart
def _failed_run(tmp_path: Path, name: str = "tamper") -> lp.LaunchPlan:
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), CPU, root=str(tmp_path / "wd"), name=name, entry=(str(FAKE_TRAINER), "--exit", "1"))
    runs.spawn(plan)
    wait_for(lambda: (runs.refresh(plan.run_dir) or {}).get("status") == "failed")
    return plan


def _tamper(run_dir: Path, **launch_changes) -> None:
    rec = json.loads((run_dir / "run.json").read_text())
    rec["launch"].update(launch_changes)
    (run_dir / "run.json").write_text(json.dumps(rec))


def test_restart_refuses_free_argv_in_run_json(tmp_path, capsys):
    plan = _failed_run(tmp_path)
    marker = tmp_path / "MARK_restart"
    _tamper(plan.run_dir, entry=["-c", f"import os; open({str(marker)!r}, 'w').write('pwned')"])
    with pytest.raises(runs.RunError) as info:
        runs.restart(plan.run_dir, CPU)
    assert "launch.entry" in str(info.value) and "not a known entry" in str(info.value)
    assert "\n" not in str(info.value)
    assert cmd.main(["--restart", str(plan.run_dir)]) == 2
    err = capsys.readouterr().err
    assert "not a known entry" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists() and runs.read_run(plan.run_dir)["status"] == "failed"


@pytest.mark.parametrize("field, value, words", [
    ("overrides", ["--work-dir=/tmp/elsewhere"], "launch.overrides holds '--work-dir=/tmp/elsewhere'"),
    ("gpu_tokens", ["0;touch MARK"], "launch.gpu_tokens holds"),
    ("nnodes", "2; rm -rf /", "nnodes must be an integer"),
    ("template", {"name": "../../evil", "command": "touch MARK", "resume_args": ["x"]}, "no plain template name"),
    ("template", {"name": "evil", "command": "touch MARK", "resume_args": ["x"]}, "'evil', which is not in"),
])
def test_restart_refuses_tampered_fields(tmp_path, field, value, words):
    plan = _failed_run(tmp_path)
    _tamper(plan.run_dir, **{field: value})
    with pytest.raises(runs.RunError, match="cannot restart") as info:
        runs.restart(plan.run_dir, CPU, entries=[lp.TRAIN_ENTRY, (str(FAKE_TRAINER), "--exit", "1")])
    assert words in str(info.value) and _markers(tmp_path) == []


def test_restart_takes_a_template_command_from_configs_launch_not_run_json(tmp_path, monkeypatch):
    (tmp_path / "configs" / "launch").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    good = {"name": "fake", "command": f"{sys.executable} {FAKE_TRAINER} {{config}} --work-dir {{work_dir}}",
            "source": "epam", "resume_args": ["--resume", "auto"]}
    (tmp_path / "configs" / "launch" / "fake.yaml").write_text(json.dumps(good))
    cfg = make_config(tmp_path)
    plan = lp.make_plan(str(cfg), CPU, gpus="cpu", template=lp.load_template("fake"), root=str(tmp_path / "wd"),
                        name="tpl")
    runs.spawn(plan)
    wait_for(lambda: (runs.refresh(plan.run_dir) or {}).get("status") in runs.ENDED)
    _tamper(plan.run_dir, template={**good, "command": f"{sys.executable} -c \"open('MARK_tpl','w')\""})
    rec = runs.restart(plan.run_dir, CPU)
    wait_for(lambda: (runs.refresh(plan.run_dir) or {}).get("status") in runs.ENDED)
    assert rec["argv"][:2] == [sys.executable, str(FAKE_TRAINER)] and rec["argv"][-2:] == ["--resume", "auto"]
    assert _markers(tmp_path) == []


def test_restart_rebuilds_the_run_dir_from_where_the_run_is(tmp_path):
    plan = _failed_run(tmp_path)
    other = tmp_path / "victim"
    other.mkdir()
    _tamper(plan.run_dir, root=str(other))
    rec = runs.restart(plan.run_dir, CPU, entries=[lp.TRAIN_ENTRY, (str(FAKE_TRAINER), "--exit", "1")])
    wait_for(lambda: (runs.refresh(plan.run_dir) or {}).get("status") in runs.ENDED)
    assert Path(rec["work_dir"]) == plan.run_dir.resolve() and list(other.iterdir()) == []
    assert rec["argv"][rec["argv"].index("--work-dir") + 1] == str(plan.run_dir)
