"""Slurm jobs: submit, read the queue state, cancel; and a Slurm run's state folded into its run dir.

Only Slurm's own client commands are used (``sbatch``, ``squeue``, ``sacct``, ``scontrol``, ``scancel``),
always as argument lists. Every failure is a ``SlurmError`` with one line naming the cause and the fix.

A job's state comes from ``squeue -t all`` while the controller knows it; once it has ended, the
exit code comes from ``sacct`` (the accounting database; on a cluster without slurmdbd,
``sacct --completion`` reads the jobcomp/filetxt log) and, when sacct has nothing, from
``scontrol show job`` (which keeps ended jobs for ``MinJobAge`` seconds).

``refresh_run(run_dir)`` brings a Slurm run's ``run.json`` up to date (``slurm.state``, ``status``
queued -> running) and, when the job has ended, writes ``exit.json`` the way the local wrapper does, so
everything that reads a local run's ending (``runs.refresh``, the registry, ``follow``) reads a Slurm
run's too. Queries are cached for ``CACHE_S`` seconds per job (the monitor polls often).
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Mapping, NamedTuple, Sequence

from epam_tui.core.runwrap import ENDED, finalize, read_exit, read_run, update_run, write_exit

TIMEOUT_S = 30.0
CACHE_S = 5.0
# job states after which nothing changes (squeue's and sacct's long names)
TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED",
                      "BOOT_FAIL", "DEADLINE", "REVOKED", "SPECIAL_EXIT"})
RUNNING = frozenset({"RUNNING", "COMPLETING", "CONFIGURING", "STAGE_OUT", "SIGNALING", "RESIZING"})
UP_HINT = "is slurmctld running? (`sudo scripts/slurm_local.sh up` starts the local cluster)"


class SlurmError(Exception):
    """A Slurm command failed; the message is one line with the cause and the fix."""


class JobState(NamedTuple):
    state: str  # Slurm's name: PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, ...
    exit_code: int | None  # the batch script's exit code once the job ended (None while it runs or unknown)
    reason: str  # Slurm's reason (PartitionConfig, NonZeroExitCode, ...), "signal N" when killed, or ""

    @property
    def terminal(self) -> bool:
        return self.state in TERMINAL

    @property
    def queued(self) -> bool:
        return not self.terminal and self.state not in RUNNING


# --------------------------------------------------------------------------------------------
# parsing (pure functions of the commands' output)


def parse_sbatch(stdout: str) -> str:
    """The job id from ``sbatch --parsable`` (``ID`` or ``ID;CLUSTER``)."""
    line = next((s.strip() for s in stdout.splitlines() if s.strip()), "")
    job_id = line.split(";")[0]
    if not re.fullmatch(r"\d+(_\d+)?", job_id):
        raise SlurmError(f"sbatch printed {line[:80]!r}, not a job id; submit by hand with sbatch to see why")
    return job_id


def _state_name(text: str) -> str:
    """``CANCELLED by 0`` / ``CANCELLED+`` -> ``CANCELLED``."""
    return text.strip().split(" ")[0].rstrip("+").upper()


def _reason(text: str | None) -> str:
    text = (text or "").strip()
    return "" if text in ("None", "(null)", "") else text


def parse_exit(text: str) -> tuple[int | None, int]:
    """Slurm's ``CODE:SIGNAL`` -> (code, signal); (None, 0) when unreadable."""
    m = re.fullmatch(r"\s*(\d+):(\d+)\s*", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else (None, 0)


def _ended(state: str, exit_text: str, reason: str) -> JobState:
    code, sig = parse_exit(exit_text)
    if sig and not reason:
        reason = f"signal {sig}"
    return JobState(state, code if state in TERMINAL else None, reason)


def parse_squeue(stdout: str, job_id: str) -> JobState | None:
    """``squeue -h -t all -j ID -o %i|%T|%r`` -> the job's state, or None when it is not listed."""
    for line in stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) >= 3 and parts[0] == str(job_id):
            return JobState(_state_name(parts[1]), None, _reason(parts[2]))
    return None


def parse_sacct(stdout: str, job_id: str) -> JobState | None:
    """``sacct -n -P -o JobID,State,ExitCode[,Reason]`` -> the job's (not a step's) last record."""
    found = None
    for line in stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) >= 3 and parts[0] == str(job_id):
            found = _ended(_state_name(parts[1]), parts[2], _reason(parts[3] if len(parts) > 3 else ""))
    return found


def parse_scontrol(stdout: str) -> JobState | None:
    """``scontrol show job -o ID`` (one line of Key=Value) -> the job's state."""
    fields = dict(re.findall(r"(?:^|\s)(JobState|Reason|ExitCode)=(\S*)", stdout))
    if "JobState" not in fields:
        return None
    return _ended(_state_name(fields["JobState"]), fields.get("ExitCode", ""), _reason(fields.get("Reason")))


# --------------------------------------------------------------------------------------------
# commands


def _run(argv: Sequence[str], timeout: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
    except FileNotFoundError:
        raise SlurmError(f"{argv[0]} not found: Slurm's client commands are not on PATH here (on Debian: "
                         f"apt-get install slurm-client; or run from a login node)") from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f"{argv[0]} did not answer in {timeout:.0f} s: {UP_HINT}") from None


def _last_error(out: subprocess.CompletedProcess) -> str:
    lines = [s.strip() for s in (out.stderr or out.stdout or "").splitlines() if s.strip()]
    text = lines[-1] if lines else f"exit code {out.returncode}"
    return re.sub(r"^\w+: error: ", "", text)


def submit(script_path: str | Path, *, args: Sequence[str] = (), sbatch: str = "sbatch",
           timeout: float = 60.0) -> str:
    """``sbatch --parsable [ARGS] SCRIPT``; returns the job id."""
    out = _run([sbatch, "--parsable", *args, str(script_path)], timeout)
    if out.returncode != 0:
        raise SlurmError(f"sbatch refused {script_path}: {_last_error(out)}")
    return parse_sbatch(out.stdout)


def _squeue(job_id: str) -> JobState | None:
    out = _run(["squeue", "-h", "-t", "all", "-j", str(job_id), "-o", "%i|%T|%r"])
    if out.returncode != 0:
        if "Invalid job id" in (out.stderr or ""):
            return None  # the controller forgot it (MinJobAge passed)
        raise SlurmError(f"squeue failed: {_last_error(out)}; {UP_HINT}")
    return parse_squeue(out.stdout, job_id)


def _sacct(job_id: str) -> JobState | None:
    out = _run(["sacct", "-n", "-P", "-X", "-j", str(job_id), "-o", "JobID,State,ExitCode,Reason"])
    if out.returncode != 0 and "accounting storage is disabled" in (out.stderr or ""):
        out = _run(["sacct", "--completion", "-n", "-P", "-j", str(job_id), "-o", "JobID,State,ExitCode"])
    if out.returncode != 0:
        return None  # no accounting and no job completion log: scontrol is asked next
    return parse_sacct(out.stdout, job_id)


def _scontrol(job_id: str) -> JobState | None:
    out = _run(["scontrol", "show", "job", "-o", str(job_id)])
    return parse_scontrol(out.stdout) if out.returncode == 0 else None


def job_state(job_id: str) -> JobState:
    """The job's state: squeue while it is queued or runs; once it ended, sacct (exit code), with
    scontrol's reason when sacct gives none."""
    job_id = str(job_id)
    queued = _squeue(job_id)
    if queued is not None and not queued.terminal:
        return queued
    ended = _sacct(job_id)
    if ended is None or not ended.reason or ended.exit_code is None:
        shown = _scontrol(job_id)
        if ended is None or ended.exit_code is None:
            ended = shown or ended
        elif shown is not None and shown.reason:
            ended = ended._replace(reason=shown.reason)
    if ended is not None:
        return ended
    if queued is not None:
        return queued
    raise SlurmError(f"job {job_id} is unknown to squeue, sacct and scontrol: a wrong id, or it ended over "
                     f"MinJobAge ago on a cluster without accounting (set JobCompType=jobcomp/filetxt or slurmdbd)")


def cancel(job_id: str) -> None:
    """``scancel ID`` (a job that already ended is left as it is)."""
    out = _run(["scancel", str(job_id)])
    if out.returncode != 0:
        raise SlurmError(f"scancel {job_id} failed: {_last_error(out)}")


# --------------------------------------------------------------------------------------------
# a Slurm run's directory


_CACHE: dict[str, tuple[float, JobState | SlurmError]] = {}
_CACHE_LOCK = threading.Lock()


def cached_state(job_id: str, max_age: float = CACHE_S) -> JobState:
    """``job_state`` at most once per ``max_age`` seconds per job (ended states for good; a failure is
    kept as long, so a controller that is down is not asked on every poll)."""
    job_id = str(job_id)
    now = time.monotonic()
    with _CACHE_LOCK:
        hit = _CACHE.get(job_id)
    if hit is not None and ((isinstance(hit[1], JobState) and hit[1].terminal) or now - hit[0] < max_age):
        if isinstance(hit[1], SlurmError):
            raise hit[1]
        return hit[1]
    try:
        state: JobState | SlurmError = job_state(job_id)
    except SlurmError as exc:
        state = exc
    with _CACHE_LOCK:
        _CACHE[job_id] = (now, state)
    if isinstance(state, SlurmError):
        raise state
    return state


def job_of(rec: Mapping[str, Any] | None) -> str | None:
    """The Slurm job id recorded in a run.json, or None for a local run."""
    info = (rec or {}).get("slurm")
    job = info.get("job_id") if isinstance(info, Mapping) else None
    return str(job) if job else None


def describe(state: JobState) -> str:
    """``PENDING (Resources)``, ``FAILED, exit code 3 (NonZeroExitCode)``."""
    text = state.state + (f", exit code {state.exit_code}" if state.exit_code is not None else "")
    return text + (f" ({state.reason})" if state.reason else "")


def refresh_run(run_dir: str | Path, max_age: float = CACHE_S) -> dict | None:
    """run.json of a Slurm run brought up to date from the queue; other runs are returned as they are.

    Raises nothing: when Slurm cannot be asked, the record says so in ``slurm.error`` and keeps its status."""
    run_dir = Path(run_dir)
    rec = read_run(run_dir)
    job = job_of(rec)
    if job is None or rec.get("status") in ENDED or read_exit(run_dir) is not None:
        return finalize(run_dir) if job else rec
    info = dict(rec.get("slurm") or {})
    try:
        state = cached_state(job, max_age)
    except SlurmError as exc:
        if info.get("error") != str(exc):
            info["error"] = str(exc)
            rec = _update(run_dir, rec, slurm=info)
        return rec
    info.pop("error", None)
    info.update(state=state.state, reason=state.reason)
    fields: dict[str, Any] = {"slurm": info}
    if state.terminal:
        info["exit_code"] = state.exit_code
        if state.state == "CANCELLED" and not rec.get("stop_requested"):
            fields["stop_requested"] = time.time()  # scancel'ed by hand: a stop, not a failure
        if state.state == "CANCELLED":
            fields["stopped_at"] = time.time()
        fields["exit_reason"] = f"Slurm job {job}: {describe(state)}"
    elif not state.queued and rec.get("status") == "queued":
        fields["status"] = "running"
    if all(rec.get(k) == v for k, v in fields.items()):
        return rec
    rec = _update(run_dir, rec, **fields)
    if state.terminal:
        # COMPLETED is exit code 0; CANCELLED, TIMEOUT, NODE_FAIL ... with 0 have no exit code of their own
        code = state.exit_code if state.state == "COMPLETED" or state.exit_code else None
        try:
            write_exit(run_dir, code, _signal_name(state.reason), time.time(), slurm_state=state.state,
                       note=describe(state))
        except OSError:
            return rec
        rec = finalize(run_dir)
    return rec


def _signal_name(reason: str) -> str | None:
    """``signal 15`` -> ``SIGTERM`` (as the local wrapper writes it)."""
    m = re.fullmatch(r"signal (\d+)", reason or "")
    if not m:
        return None
    try:
        return signal.Signals(int(m.group(1))).name
    except ValueError:
        return f"signal {m.group(1)}"


def _update(run_dir: Path, rec: dict, **fields: Any) -> dict:
    try:
        return update_run(run_dir, **fields)
    except OSError:  # a read-only run dir (another user's): show the state without keeping it
        return {**rec, **fields}


def stop_run(run_dir: str | Path, wait: float = 30.0, poll: float = 1.0) -> dict:
    """``scancel`` the run's job and wait up to ``wait`` s for Slurm to say it ended."""
    run_dir = Path(run_dir)
    rec = refresh_run(run_dir, max_age=0) or {}
    job = job_of(rec)
    if job is None:
        raise SlurmError(f"{run_dir}: not a Slurm run (no slurm.job_id in run.json)")
    if rec.get("status") in ENDED:
        return rec
    _update(run_dir, rec, stop_requested=time.time())
    cancel(job)
    deadline = time.monotonic() + wait
    while True:
        rec = refresh_run(run_dir, max_age=0) or rec
        if rec.get("status") in ENDED or time.monotonic() >= deadline:
            return rec
        time.sleep(poll)
