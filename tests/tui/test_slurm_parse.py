"""Parsing of Slurm's client output, on text captured from a real Slurm 22.05 (scripts/slurm_local.sh)."""

from __future__ import annotations

import pytest

from epam_tui.core import slurm

# squeue -h -t all -j ID -o '%i|%T|%r' across a job's life (jobs 1-4 on the local cluster)
SQUEUE_PENDING = "1|PENDING|None\n"
SQUEUE_RUNNING = "1|RUNNING|None\n"
SQUEUE_COMPLETING = "2|COMPLETING|None\n"
SQUEUE_NO_ROOM = "3|PENDING|PartitionConfig\n"  # sbatch -c 8 on a 2-CPU node: pends for ever
SQUEUE_ALL = "2|CANCELLED|None\n1|FAILED|NonZeroExitCode\n"
# sacct --completion -n -P -j ID -o JobID,State,ExitCode (no slurmdbd: the jobcomp/filetxt log)
SACCT_FAILED = "1|FAILED|3:0\n"
SACCT_CANCELLED = "2|CANCELLED|0:0\n"
SACCT_COMPLETED = "4|COMPLETED|0:0\n"
SACCT_FAILED_WIDE = "1|FAILED|3:0||2026-12-04T15:32:16|2026-12-04T15:32:19\n"  # + Reason,Start,End
SCONTROL_FAILED = (
    "JobId=1 JobName=j.sh UserId=root(0) GroupId=root(0) MCS_label=N/A Priority=4294901759 Nice=0 Account=(null) "
    "QOS=(null) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 "
    "ExitCode=3:0 RunTime=00:00:03 TimeLimit=UNLIMITED TimeMin=N/A SubmitTime=2026-12-04T15:32:15 "
    "EligibleTime=2026-12-04T15:32:15 AccrueTime=2026-12-04T15:32:15 StartTime=2026-12-04T15:32:16 "
    "EndTime=2026-12-04T15:32:19 Deadline=N/A SuspendTime=None SecsPreSuspend=0 LastSchedEval=2026-12-04T15:32:16 "
    "Scheduler=Main Partition=debug AllocNode:Sid=localhost:4351 ReqNodeList=(null) ExcNodeList=(null) "
    "NodeList=localhost BatchHost=localhost NumNodes=1 NumCPUs=1 NumTasks=1 CPUs/Task=1 ReqB:S:C:T=0:0:*:* "
    "TRES=cpu=1,node=1,billing=1 Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=* MinCPUsNode=1 MinMemoryNode=0 "
    "MinTmpDiskNode=0 Features=(null) DelayBoot=00:00:00 OverSubscribe=OK Contiguous=0 Licenses=(null) "
    "Network=(null) Command=/tmp/h8/j.sh WorkDir=/tmp/h8 StdErr=/tmp/h8/out-1.log StdIn=/dev/null "
    "StdOut=/tmp/h8/out-1.log Power= \n")
SCONTROL_CANCELLED = SCONTROL_FAILED.replace("JobId=1 ", "JobId=2 ").replace(
    "JobState=FAILED Reason=NonZeroExitCode", "JobState=CANCELLED Reason=None").replace("ExitCode=3:0", "ExitCode=0:15")


def test_sbatch_parsable():
    assert slurm.parse_sbatch("3\n") == "3"
    assert slurm.parse_sbatch("17;epamlocal\n") == "17"  # --parsable with a cluster name


def test_sbatch_garbage_is_one_line_error():
    with pytest.raises(slurm.SlurmError) as err:
        slurm.parse_sbatch("Submitted batch job\n")
    assert "\n" not in str(err.value) and "not a job id" in str(err.value)


def test_squeue_states():
    assert slurm.parse_squeue(SQUEUE_PENDING, "1") == slurm.JobState("PENDING", None, "")
    assert slurm.parse_squeue(SQUEUE_PENDING, "1").queued
    running = slurm.parse_squeue(SQUEUE_RUNNING, "1")
    assert running.state == "RUNNING" and not running.queued and not running.terminal
    assert not slurm.parse_squeue(SQUEUE_COMPLETING, "2").terminal  # still ending: not yet its exit code
    assert slurm.parse_squeue(SQUEUE_NO_ROOM, "3") == slurm.JobState("PENDING", None, "PartitionConfig")


def test_squeue_picks_the_asked_job():
    assert slurm.parse_squeue(SQUEUE_ALL, "1") == slurm.JobState("FAILED", None, "NonZeroExitCode")
    assert slurm.parse_squeue(SQUEUE_ALL, "2").state == "CANCELLED"
    assert slurm.parse_squeue(SQUEUE_ALL, "12") is None  # "1" must not match "12"
    assert slurm.parse_squeue("", "1") is None


def test_sacct_completion_log():
    assert slurm.parse_sacct(SACCT_FAILED, "1") == slurm.JobState("FAILED", 3, "")
    assert slurm.parse_sacct(SACCT_COMPLETED, "4") == slurm.JobState("COMPLETED", 0, "")
    assert slurm.parse_sacct(SACCT_CANCELLED, "2").state == "CANCELLED"
    assert slurm.parse_sacct(SACCT_FAILED_WIDE, "1") == slurm.JobState("FAILED", 3, "")
    assert slurm.parse_sacct(SACCT_FAILED, "2") is None


def test_sacct_database_spellings():
    # not captured here (no slurmdbd): sacct(1) with a database writes "CANCELLED by UID" and, without -X,
    # lists the steps under the job
    out = "7|CANCELLED by 0|0:15|None\n7.batch|CANCELLED|0:15|\n7.0|CANCELLED|0:15|\n"
    assert slurm.parse_sacct(out, "7") == slurm.JobState("CANCELLED", 0, "signal 15")


def test_scontrol_show_job():
    assert slurm.parse_scontrol(SCONTROL_FAILED) == slurm.JobState("FAILED", 3, "NonZeroExitCode")
    assert slurm.parse_scontrol(SCONTROL_CANCELLED) == slurm.JobState("CANCELLED", 0, "signal 15")
    assert slurm.parse_scontrol("slurm_load_jobs error: Invalid job id specified\n") is None


def test_exit_code_field():
    assert slurm.parse_exit("3:0") == (3, 0)
    assert slurm.parse_exit("0:15") == (0, 15)
    assert slurm.parse_exit("") == (None, 0)


def test_describe():
    assert slurm.describe(slurm.JobState("FAILED", 3, "NonZeroExitCode")) == "FAILED, exit code 3 (NonZeroExitCode)"
    assert slurm.describe(slurm.JobState("PENDING", None, "Resources")) == "PENDING (Resources)"


def test_job_of_run_record():
    assert slurm.job_of({"slurm": {"job_id": "12", "partition": "debug"}}) == "12"
    assert slurm.job_of({"pid": 5}) is None and slurm.job_of(None) is None


def test_missing_command_is_one_line_error(tmp_path):
    with pytest.raises(slurm.SlurmError) as err:
        slurm.submit(tmp_path / "job.sbatch", sbatch=str(tmp_path / "no-sbatch"))
    assert "not found" in str(err.value) and "\n" not in str(err.value)



def test_refresh_run_without_slurm_commands_keeps_the_status_and_says_why(tmp_path, monkeypatch):
    import json

    from epam_tui.core import registry

    rec = {"name": "sl", "status": "queued", "pid": None, "slurm": {"job_id": "987001", "partition": "debug"}}
    (tmp_path / "run.json").write_text(json.dumps(rec))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # a laptop without Slurm looking at a copied run dir
    got = slurm.refresh_run(tmp_path)
    assert got["status"] == "queued" and "squeue not found" in got["slurm"]["error"]
    assert json.loads((tmp_path / "run.json").read_text())["slurm"]["error"] == got["slurm"]["error"]
    assert not (tmp_path / "exit.json").exists()
    assert registry.load_run(tmp_path).state == "queued"


def test_refresh_run_leaves_a_local_run_alone(tmp_path):
    import json

    (tmp_path / "run.json").write_text(json.dumps({"name": "local", "status": "running", "pid": 1}))
    before = (tmp_path / "run.json").read_text()
    assert slurm.refresh_run(tmp_path)["status"] == "running"
    assert (tmp_path / "run.json").read_text() == before
