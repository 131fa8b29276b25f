"""Runs on disk and their processes: spawn detached, stop, restart, find the live ones.

A run is a directory (``docs/run_directory.md``). ``spawn`` writes ``run.json`` and starts
``python -m epam_tui.core.runwrap RUN_DIR -- ARGV`` in a new session (so the run outlives the TUI)
with stdout/stderr appended to ``stdout.log``; the wrapper writes ``exit.json`` when the command
ends and folds it into ``run.json``. The run-file helpers live in ``runwrap`` (so the wrapper that
stays resident for the whole run imports nothing heavy); every read-modify-write of ``run.json``
holds an ``flock`` and replaces the file atomically, so the launcher, the wrapper and a stop never
lose each other's fields.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Mapping, Sequence

from epam_tui.core import launch as lp
from epam_tui.core.launch import checks as preflight
from epam_tui.core.launch import relaunch
from epam_tui.core.procs import record_alive as is_alive  # runs.is_alive(rec): the run's wrapper (run.json pid)
from epam_tui.core.procs import record_alive
from epam_tui.core.rundir import STDOUT_LOG, write_json
from epam_tui.core.runwrap import (  # noqa: F401 - the run-file helpers are part of this module's API
    ENDED,
    EXIT_JSON,
    RUN_JSON,
    finalize,
    locked,
    read_exit,
    read_json,
    read_run,
    update_run,
    write_exit,
)


class RunError(Exception):
    """A run operation was refused; the message is one line with the cause and the fix."""


class Refused(RunError):
    """Pre-flight failed: ``checks`` holds the failing items."""

    def __init__(self, checks: Sequence[lp.Check]):
        self.checks = list(checks)
        super().__init__("; ".join(c.message for c in self.checks))


# --------------------------------------------------------------------------------------------
# liveness


def members(rec: Mapping[str, Any]) -> list[Any]:
    """The run's live processes other than the wrapper: the wrapper's descendants, and once the
    wrapper is gone, whatever is left in its process group (with their descendants)."""
    import psutil

    pid, pgid = int(rec.get("pid") or 0), int(rec.get("pgid") or rec.get("pid") or 0)
    if not pid:
        return []
    found = {p.pid: p for p in _tree(pid)}
    if not is_alive(rec) and pgid:
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error, OSError):
                if proc.pid != pid and os.getpgid(proc.pid) == pgid:
                    found[proc.pid] = proc
                    found.update({c.pid: c for c in proc.children(recursive=True)})
    return [p for p in found.values() if not _gone([p])]


def trainer_status(run_dir: str | Path | None) -> dict | None:
    """The trainer's own status.json (validated field by field), or None."""
    from epam_tui.core.rundir import read_status

    return read_status(run_dir).data if run_dir else None


def trainer_alive(run_dir: str | Path | None) -> bool:
    """Whether the trainer's own process (status.json pid + create time) still runs."""
    return record_alive(trainer_status(run_dir))


def run_alive(rec: Mapping[str, Any] | None, run_dir: str | Path | None = None) -> bool:
    """Whether any process of the run still runs: the wrapper, the trainer (its status.json pid),
    or whatever is left of the wrapper's process group."""
    if not rec:
        return False
    return is_alive(rec) or trainer_alive(run_dir or rec.get("work_dir")) or bool(members(rec))


def _ending_without_wrapper(run_dir: Path) -> dict:
    """run.json fields for a run whose wrapper is gone with no exit.json and no process left: the
    trainer's own last word (status.json) when it wrote one, else failed."""
    status = trainer_status(run_dir) or {}
    said = status.get("state")
    lost = "the run's wrapper was gone, so the exit code is unknown"
    if said in ENDED:
        reason = f"{lost}; the trainer reported {said}"
        if status.get("exit_reason"):
            reason += f": {status['exit_reason']}"
        return {"status": said, "ended": status.get("updated") or time.time(), "exit_code": None,
                "exit_reason": reason}
    return {"status": "failed", "ended": time.time(), "exit_code": None,
            "exit_reason": "the run's wrapper vanished without writing exit.json (killed?)"}


def refresh(run_dir: str | Path) -> dict | None:
    """run.json brought up to date: exit.json folded in; a run whose wrapper vanished without one is
    over once neither its trainer (status.json pid + create time) nor any process of its group is
    left (until then it runs, marked ``wrapper_lost``); then it ends as the trainer's status.json
    says, else ``failed``. A Slurm run's state comes from the queue (``slurm.refresh_run``)."""
    if (read_run(run_dir) or {}).get("slurm"):
        from epam_tui.core import slurm

        return slurm.refresh_run(run_dir)
    rec = finalize(run_dir)
    if rec and rec.get("status") == "running" and rec.get("pid") and not is_alive(rec):
        time.sleep(0.05)  # the wrapper may be writing exit.json right now
        rec = finalize(run_dir)
        if rec.get("status") == "running" and read_exit(run_dir) is None:
            if run_alive(rec, run_dir):
                lost = {} if rec.get("wrapper_lost") else {"wrapper_lost": True}
            else:
                lost = _ending_without_wrapper(Path(run_dir))
                if rec.get("stop_requested") and lost["status"] != "finished":
                    lost["status"] = "stopped"
            try:
                rec = update_run(run_dir, **lost) if lost else rec
            except OSError:
                rec = {**rec, **lost}
    return rec


def run_dirs(root: str | Path) -> list[Path]:
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / RUN_JSON).is_file())


def live_runs(root: str | Path) -> list[dict]:
    """Records of our runs under ``root`` whose processes are alive."""
    out = []
    for run_dir in run_dirs(root):
        rec = refresh(run_dir)
        if rec and rec.get("status") == "running" and run_alive(rec, run_dir):
            out.append(rec)
    return out


# --------------------------------------------------------------------------------------------
# spawn


_CHILDREN: dict[int, subprocess.Popen] = {}


def _reap(proc: subprocess.Popen) -> None:
    """Wait for a wrapper we started, so it does not linger as a zombie while the TUI lives."""
    proc.wait()
    _CHILDREN.pop(proc.pid, None)


def _create_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None


def spawn(plan: lp.LaunchPlan, extra: Mapping[str, Any] | None = None) -> dict:
    """Create the run dir and run.json, start the command detached; returns the run record.

    Any failure before the command runs (a full disk, a missing interpreter) is a one-line
    ``RunError``; a run dir this call created is removed again (so the name stays free), an existing
    one (a restart) records the failure in run.json when it can."""
    run_dir = plan.run_dir
    fresh = not run_dir.exists()
    rec = {"id": uuid.uuid4().hex[:12], **plan.record(), "host": socket.gethostname(), "pid": None, "pgid": None,
           "create_time": None, "started": time.time(), "ended": None, "status": "starting", "exit_code": None,
           **(extra or {})}
    rec.pop("stop_requested", None)
    env = {**os.environ, **plan.env()}
    wrapper = [sys.executable, "-m", "epam_tui.core.runwrap", str(run_dir), "--", *plan.argv()]
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            (run_dir / EXIT_JSON).unlink()
        with locked(run_dir):
            write_json(run_dir / RUN_JSON, rec, fsync=False)
        with open(run_dir / STDOUT_LOG, "ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"==> epam-tui {stamp}: {plan.preview()}\n".encode())
            log.flush()
            proc = subprocess.Popen(wrapper, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    env=env, cwd=plan.cwd(), start_new_session=True, close_fds=True)
    except OSError as exc:
        raise RunError(_not_started(run_dir, fresh, exc)) from None
    _CHILDREN[proc.pid] = proc
    threading.Thread(target=_reap, args=(proc,), daemon=True, name=f"reap-{proc.pid}").start()
    started = {"pid": proc.pid, "pgid": proc.pid, "create_time": _create_time(proc.pid)}
    try:
        with locked(run_dir):  # the wrapper may already have ended the run: keep its verdict
            rec = read_run(run_dir) or rec
            rec.update(started)
            if rec.get("status") == "starting":
                rec["status"] = "running"
            write_json(run_dir / RUN_JSON, rec, fsync=False)
        return finalize(run_dir)
    except OSError:  # the disk filled just now: the run runs; its wrapper still records the exit
        return {**rec, **started, "status": "running" if rec.get("status") == "starting" else rec.get("status")}


def _not_started(run_dir: Path, fresh: bool, exc: OSError) -> str:
    """Undo a spawn that failed before its command ran; the one-line reason with the fix."""
    import errno
    import shutil

    why = exc.strerror or str(exc)
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    fix = "free space, then launch again" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "fix it, then launch again"
    if fresh:
        shutil.rmtree(run_dir, ignore_errors=True)  # made by this call: nothing else in it, the name stays free
    else:
        with contextlib.suppress(OSError):
            update_run(run_dir, status="failed", ended=time.time(), exit_reason=f"cannot start: {why}")
    return f"cannot start the run in {run_dir}: {why}{where}; {fix}"


def launch(plan: lp.LaunchPlan, state: lp.GpuState, confirmed_busy: bool = False) -> dict:
    """Pre-flight, then spawn; raises ``Refused`` with the failing checks."""
    bad = lp.failures(lp.preflight(plan, state, live_runs(plan.root), confirmed_busy))
    if bad:
        raise Refused(bad)
    return spawn(plan)


# --------------------------------------------------------------------------------------------
# stop


def _tree(pid: int) -> list[Any]:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _gone(procs: Sequence[Any]) -> bool:
    import psutil

    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                return False
        except psutil.Error:
            continue
    return True


def _wait(rec: Mapping[str, Any], seen: dict[int, Any], timeout: float, poll: float) -> bool:
    """Wait until every process ever seen in the run is gone; True if they went in time."""
    deadline = time.monotonic() + timeout
    while True:
        seen.update({p.pid: p for p in members(rec)})
        if _gone(list(seen.values())):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop(run_dir: str | Path, grace: float = 30.0, term_grace: float = 10.0, poll: float = 0.1) -> dict:
    """SIGINT to the run's process group, SIGTERM after ``grace`` s, SIGKILL to every process of the
    run after ``term_grace`` s more; the state becomes ``stopped`` with the time. Blocks; call it
    from a worker."""
    import psutil

    run_dir = Path(run_dir)
    rec = refresh(run_dir)
    if rec is None:
        raise RunError(f"{run_dir}: no run.json; not a run started by epam-tui")
    if rec.get("slurm"):  # scancel, then wait for the queue to say it ended
        from epam_tui.core import slurm

        try:
            return slurm.stop_run(run_dir, wait=grace + term_grace)
        except slurm.SlurmError as exc:
            raise RunError(str(exc)) from None
    if rec.get("status") != "running" or not run_alive(rec):
        return rec
    pid, pgid = int(rec["pid"]), int(rec.get("pgid") or rec["pid"])
    update_run(run_dir, stop_requested=time.time())
    seen = {p.pid: p for p in members(rec)}
    last = signal.SIGKILL
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, term_grace)):
        _signal_group(pgid, sig)
        if _wait(rec, seen, wait, poll):
            last = sig
            break
    else:
        seen.update({p.pid: p for p in members(rec)})
        for p in seen.values():  # includes workers in their own sessions (torchrun starts them so)
            with contextlib.suppress(psutil.Error):
                p.kill()
        _wait(rec, seen, 5.0, poll)
    deadline = time.monotonic() + 5.0
    while is_alive(rec) and time.monotonic() < deadline:  # the wrapper writes exit.json, then exits
        time.sleep(poll)
    if is_alive(rec):
        with contextlib.suppress(psutil.Error):
            psutil.Process(pid).kill()
    if read_exit(run_dir) is None:  # the wrapper was gone or stuck: nobody saw the exit code
        write_exit(run_dir, None, last.name, time.time(), note="exit code unknown: the run's wrapper was gone")
    rec = finalize(run_dir)
    if rec.get("status") != "stopped":  # ended on its own while we signalled: keep its verdict
        return rec
    return update_run(run_dir, stopped_at=time.time())


# --------------------------------------------------------------------------------------------
# restart


def restart(run_dir: str | Path, state: lp.GpuState | None = None, confirmed_busy: bool = False,
            entries: Sequence[tuple[str, ...]] = relaunch.KNOWN_ENTRIES) -> dict:
    """Start a stopped or failed run again in the same directory, with ``--resume auto``.

    The command is rebuilt from the run's config and a known entry (``entries``) or a
    ``configs/launch`` template (``relaunch.restart_plan``), never taken from run.json's argv."""
    run_dir = Path(run_dir)
    rec = refresh(run_dir)
    if rec is None:
        raise RunError(f"{run_dir}: no run.json; only runs started by epam-tui can be restarted")
    if rec.get("status") == "running" and run_alive(rec, run_dir):
        raise RunError(f"{rec.get('name')} is still running; stop it first")
    try:
        plan = relaunch.restart_plan(run_dir, rec, entries=entries)
    except lp.LaunchError as exc:
        raise RunError(str(exc)) from None
    live = [r for r in live_runs(run_dir.parent) if Path(str(r.get("work_dir"))).resolve() != run_dir.resolve()]
    taken = [int(r["port"]) for r in live if r.get("port")]
    if plan.distributed and not plan.rdzv_endpoint:
        plan.port = lp.choose_port(taken)
    if plan.template is not None and (plan.template.port or plan.port):
        plan.port = plan.template.port or lp.choose_port(taken)
    state = lp.gpu_state() if state is None and not plan.cpu else (state or lp.GpuState([]))
    bad = preflight.failures(preflight.restart_checks(plan, state, live, confirmed_busy))
    if bad:
        raise Refused(bad)
    attempt = {k: rec.get(k) for k in ("started", "ended", "status", "exit_code", "signal")}
    history = [*(rec.get("history") or []), attempt]
    return spawn(plan, {"id": rec.get("id") or uuid.uuid4().hex[:12], "history": history,
                        "restarts": len(history)})


# --------------------------------------------------------------------------------------------
# Slurm


def submit_slurm(plan: lp.LaunchPlan, partition: str, gpus: bool = True, sbatch: str = "sbatch") -> dict:
    """Pre-flight (config, data, work dir), write ``slurm.sbatch`` into the run dir and submit it;
    returns run.json with the job id. Raises ``Refused`` before writing anything when pre-flight fails."""
    from epam_tui.core import slurm
    from epam_tui.core.launch.sbatch import write_slurm_script

    bad = preflight.failures(preflight.slurm_checks(plan))
    if bad:
        raise Refused(bad)
    # on CPU one core per process (a GPU job keeps slurm_script's 8 for its loaders): a request above
    # the node's cores pends for ever (reason PartitionConfig)
    path = write_slurm_script(plan, partition, gpus, **({} if gpus else {"cpus_per_task": plan.nproc}))
    run_dir = plan.run_dir
    try:
        job_id = slurm.submit(path, sbatch=sbatch)
    except slurm.SlurmError as exc:
        raise RunError(f"{exc}; the script is at {path} (submit it with `sbatch {shlex.quote(str(path))}`)") from None
    rec = {"id": uuid.uuid4().hex[:12], **plan.record(), "host": socket.gethostname(), "pid": None, "pgid": None,
           "create_time": None, "started": time.time(), "ended": None, "status": "queued", "exit_code": None,
           "slurm": {"job_id": job_id, "partition": partition, "script": str(path)}}
    rec["argv"] = [sbatch, str(path)]
    rec["env"] = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    with locked(run_dir):
        write_json(run_dir / RUN_JSON, rec, fsync=False)
    return rec
