"""Pre-flight: may this launch start? Each check is a ``Check`` (ok, or one line: the cause and the fix).

``preflight`` runs them for a new launch (config, GPUs, busy GPUs, data paths, work dir, port);
``restart_checks`` for a run started again in its own directory (its directory and ``checkpoints/``
must take writes); ``slurm_checks`` for a job script (the config and data, the work dir: the GPUs and
the port are the cluster's). Writability is probed with real bytes (``PROBE_BYTES``): a full disk
accepts an empty file but not a checkpoint. ``cuda_warning`` says when GPUs were picked but the
venv's torch has no CUDA; torch is asked in a subprocess (the TUI never imports it), once per
interpreter.

These names are also reachable as ``epam_tui.core.launch.<name>``.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from epam_tui.core.launch import rendezvous as rdzv
from epam_tui.core.launch.configs import summarize
from epam_tui.core.launch.devices import GpuState, busy_reasons, gpus_of_runs
from epam_tui.core.launch.errors import LaunchError
from epam_tui.core.launch.plan import LaunchPlan
from epam_tui.core.launch.ports import port_free
from epam_tui.core.rundir import CHECKPOINTS

PROBE_BYTES = 1 << 20  # a full disk takes an empty probe file; 1 MiB of real bytes it does not
CUDA_PROBE_TIMEOUT_S = 120.0  # importing torch cold on a network file system can take a while


@dataclass
class Check:
    """One pre-flight item: ``ok`` or a one-line ``message`` with the cause and the fix."""

    key: str
    ok: bool
    message: str


def failures(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]


def _is_local(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1", socket.gethostname())


# --------------------------------------------------------------------------------------------
# writability


def probe_writable(directory: str | Path, size: int = PROBE_BYTES) -> str | None:
    """Write ``size`` real bytes into a temp file in ``directory``; None when that worked, else the
    reason (``No space left on device``, ``Read-only file system`` ...). The probe is always removed."""
    fd, tmp = None, None
    try:
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix=".epam-tui-probe-", dir=directory)
        block = b"\0" * min(size, 1 << 16)
        left = size
        while left > 0:
            left -= os.write(fd, block[:left])
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _existing_dir(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_work_dir(plan: LaunchPlan) -> Check:
    try:
        run_dir = plan.run_dir
    except LaunchError as exc:
        return Check("work_dir", False, str(exc))
    if run_dir.exists() and (not run_dir.is_dir() or any(not rdzv.is_node_dir(p) for p in run_dir.iterdir())):
        return Check("work_dir", False, f"{run_dir} already exists; choose another --name (or restart that run)")
    probe = run_dir if run_dir.is_dir() else _existing_dir(run_dir.parent)  # an empty run dir: itself
    if not probe.is_dir():
        return Check("work_dir", False, f"{probe} is a file, not a directory; choose another --root")
    why = probe_writable(probe)
    if why is not None:
        return Check("work_dir", False, f"{probe} is not writable ({why}); free space or choose another --root")
    return Check("work_dir", True, f"{run_dir} writable")


def check_run_dir_writable(run_dir: str | Path) -> Check:
    """An existing run directory (a restart) and its ``checkpoints/`` take real writes."""
    run_dir = Path(run_dir)
    for path in (run_dir, run_dir / CHECKPOINTS):
        if path == run_dir / CHECKPOINTS and not path.exists():
            continue  # the trainer makes it; the run dir's probe covers it
        if not path.is_dir():
            return Check("work_dir", False, f"{path} is not a directory; remove it (the trainer makes checkpoints/)")
        why = probe_writable(path)
        if why is not None:
            return Check("work_dir", False, f"{path} is not writable ({why}); free space or fix its permissions, "
                         "then restart")
    return Check("work_dir", True, f"{run_dir} writable")


# --------------------------------------------------------------------------------------------
# config, data, port, GPUs


def check_config(plan: LaunchPlan) -> Check:
    if plan.template is not None:
        cwd = plan.cwd()
        if cwd and not Path(cwd).is_dir():
            return Check("config", False, f"command template {plan.template.name}: cwd {plan.template.cwd} not found "
                         "(edit `cwd:` in its YAML to your checkout)")
        if plan.config and not (Path(plan.config).exists() or Path(cwd or ".", plan.config).exists()):
            return Check("config", False, f"config {plan.config} not found (check the path)")
        return Check("config", True, "foreign command: its config is not checked")
    if not plan.config:
        return Check("config", False, "no config chosen; give a CONFIG (configs/*.yaml)")
    summary = summarize(plan.config, plan.overrides)
    if summary.errors:
        more = f" (+{len(summary.errors) - 1} more)" if len(summary.errors) > 1 else ""
        return Check("config", False, f"{summary.errors[0]}{more}")
    return Check("config", True, f"{plan.config} is valid")


def data_paths(cfg: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, path) of every file or folder the config reads."""
    out = [(f"data.{k}", cfg["data"][k]) for k in ("ann_file", "video_root") if cfg["data"].get(k)]
    out += [(f"model.{k}", cfg["model"][k]) for k in ("pretrained_rgb", "pretrained_pose", "load_from")
            if cfg["model"].get(k)]
    return out


def check_data(plan: LaunchPlan) -> Check:
    if plan.template is not None or not plan.config:
        return Check("data", True, "not checked for foreign commands")
    summary = summarize(plan.config, plan.overrides)
    if summary.cfg is None:
        return Check("data", True, "not checked until the config is valid")
    base = Path(plan.cwd() or ".")
    for key, path in data_paths(summary.cfg):
        if not (base / os.path.expanduser(path)).exists():
            if summary.cfg["data"].get("dataset") == "synthetic" and key.startswith("data."):
                fix = f"make it with `epam make-synthetic --config {plan.config}`"
            else:
                fix = f"fix it in the config or add --set {key}=PATH"
            return Check("data", False, f"{key}: {path} not found ({fix})")
    return Check("data", True, "data paths present")


def check_port(plan: LaunchPlan, reserved: Iterable[int] = ()) -> Check:
    port = plan.port if plan.template is None else (plan.template.port or plan.port)
    if not plan.distributed and plan.template is None:
        return Check("port", True, "one process: no rendezvous port")
    if port is None:
        return Check("port", True, "no port used")
    if plan.rdzv_endpoint and plan.node_rank > 0:
        return Check("port", True, f"rendezvous on {plan.rdzv_endpoint} (node 0 hosts it)")
    if plan.rdzv_endpoint and not _is_local(plan.rdzv_endpoint.rsplit(":", 1)[0]):
        return Check("port", True, f"rendezvous on {plan.rdzv_endpoint} (not checked from here)")
    if port in set(reserved):
        return Check("port", False, f"port {port} is used by a live run of ours; stop it first or pick another port")
    if not port_free(port):
        return Check("port", False, f"port {port} is in use on this host; stop what holds it (or choose another port)")
    return Check("port", True, f"port {port} free")


def check_gpus(plan: LaunchPlan, state: GpuState) -> Check:
    if plan.cpu:
        return Check("gpus", True, f"CPU: {plan.nproc} process{'es' if plan.nproc > 1 else ''} on Gloo")
    if not state.has_gpus:
        return Check("gpus", False, f"no GPU available ({state.error or 'none found'}); "
                     "launch on CPU instead (--gpus cpu)")
    missing = [g for g in plan.gpus if not any(str(d.uuid) == str(g.uuid) for d in state.devices)]
    if missing:
        return Check("gpus", False, f"GPU {missing[0].index} ({missing[0].uuid}) is not present now; pick again")
    if plan.template is None and plan.nproc != len(plan.gpus):
        return Check("gpus", False, f"{plan.nproc} processes on {len(plan.gpus)} GPUs; "
                     f"use --nproc {len(plan.gpus)} (one per GPU)")
    return Check("gpus", True, f"GPUs {','.join(plan.gpu_tokens)}")


def check_busy(plan: LaunchPlan, state: GpuState, ours: Mapping[str, str], confirmed: bool) -> Check:
    by_uuid = {str(d.uuid): d for d in state.devices}
    busy = [(g, busy_reasons(by_uuid.get(str(g.uuid), g), ours)) for g in plan.gpus]
    busy = [(g, r) for g, r in busy if r]
    if not busy:
        return Check("busy", True, "picked GPUs are idle" if plan.gpus else "CPU run: no GPU to share")
    text = "; ".join(f"GPU {g.index}: {', '.join(r)}" for g, r in busy)
    if confirmed:
        return Check("busy", True, f"confirmed busy {text}")
    return Check("busy", False, f"busy {text}; confirm to launch anyway (--yes)")


# --------------------------------------------------------------------------------------------
# the lists


def preflight(plan: LaunchPlan, state: GpuState, live: Sequence[Mapping[str, Any]] = (),
              confirmed_busy: bool = False) -> list[Check]:
    """Every pre-flight check of a new launch; it may start only if all are ``ok``.

    ``live`` are the run records of our live runs (their ports and GPUs are taken).
    """
    return local_checks(plan, state, live, confirmed_busy, check_work_dir)


def restart_checks(plan: LaunchPlan, state: GpuState, live: Sequence[Mapping[str, Any]] = (),
                   confirmed_busy: bool = False) -> list[Check]:
    """Pre-flight of a restart: as a launch, but the run directory exists and must take writes."""
    return local_checks(plan, state, live, confirmed_busy, lambda p: check_run_dir_writable(p.run_dir))


def local_checks(plan: LaunchPlan, state: GpuState, live: Sequence[Mapping[str, Any]], confirmed_busy: bool,
                 work_dir: Callable[[LaunchPlan], Check]) -> list[Check]:
    """The checks of a start on this host, in order; ``work_dir`` checks the run directory (a new one for a
    launch, the existing one for a restart)."""
    reserved = [int(r["port"]) for r in live if r.get("port")]
    return [
        check_config(plan),
        check_gpus(plan, state),
        check_busy(plan, state, gpus_of_runs(live), confirmed_busy),
        check_data(plan),
        work_dir(plan),
        check_port(plan, reserved),
    ]


def slurm_checks(plan: LaunchPlan) -> list[Check]:
    """Pre-flight of a Slurm submission: what is checkable from the login node."""
    return [check_config(plan), check_data(plan), check_work_dir(plan)]


# --------------------------------------------------------------------------------------------
# torch without CUDA


@functools.lru_cache(maxsize=8)
def torch_has_cuda(python: str) -> bool | None:
    """Whether ``python``'s torch sees a CUDA device (asked in a subprocess, never imported here);
    None when that cannot be told (no torch, a crash, no answer in time)."""
    try:
        out = subprocess.run([python, "-c", "import torch; print(torch.cuda.is_available())"],
                             capture_output=True, text=True, timeout=CUDA_PROBE_TIMEOUT_S,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    answer = out.stdout.strip().splitlines()[-1:] if out.returncode == 0 else []
    return {"True": True, "False": False}.get(answer[0] if answer else "")


def cuda_warning(plan: LaunchPlan, probe: Any = None) -> str | None:
    """The warning to show before spawning when GPUs were picked but the venv's torch has no CUDA
    (``probe(python) -> bool | None``, default ``torch_has_cuda``); None when there is nothing to say.
    Blocks for a second or two the first time (torch is imported in a subprocess): call it from a worker."""
    if not plan.gpus or plan.template is not None:
        return None
    has_cuda = (probe or torch_has_cuda)(plan.python)
    if has_cuda is not False:
        return None
    picks = ",".join(str(g.index) for g in plan.gpus)
    return (f"GPUs {picks} picked but this torch has no CUDA: training will run on the CPU "
            f"(install a CUDA build of torch in {Path(plan.python).parent.parent} or launch with --gpus cpu)")
