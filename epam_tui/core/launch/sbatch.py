"""The sbatch script of a launch: the plan's torchrun command under ``srun``, one task per node.

Writing the script is kept apart from submitting it (``runs.submit_slurm`` runs ``sbatch``): a
script can be written, read and submitted by hand.

Every value that reaches the script is quoted for the line that reads it: ``shlex.quote`` in the
shell body, sbatch's own double-quote rule in ``#SBATCH`` lines (sbatch parses those itself, not
bash). Values with control characters (a newline in ``--root`` would start a new script line) are
refused with a one-line ``LaunchError``, as are ``%`` in the output path (sbatch expands ``%j`` &c.)
and partitions or time limits that are not plain names.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Iterable

from epam_tui.core.launch import rendezvous as rdzv
from epam_tui.core.launch.errors import LaunchError
from epam_tui.core.launch.plan import TORCHRUN, LaunchPlan, check_name
from epam_tui.core.rundir import STDOUT_LOG

SCRIPT_NAME = "slurm.sbatch"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PARTITION_RE = re.compile(r"[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*")
TIME_RE = re.compile(r"(\d+-)?\d+(:\d+){0,2}|\d+-\d+|UNLIMITED|INFINITE")


def refuse_control(label: str, value: object) -> str:
    """``value`` as text, or a LaunchError when it holds a control character (newline, tab, ...)."""
    text = str(value)
    if CONTROL.search(text):
        raise LaunchError(f"{label} {text!r} contains a control character (newline, tab, ...); "
                             "rename it or choose another path")
    return text


def directive_quote(value: str) -> str:
    """``value`` as one argument of an ``#SBATCH`` line: sbatch groups a double-quoted string and
    takes the character after a backslash literally (src/sbatch/opt.c ``_get_argument``)."""
    if re.fullmatch(r"[A-Za-z0-9_./:=+,@-]+", value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def script_values(plan: LaunchPlan, cwd: str) -> Iterable[tuple[str, str]]:
    """(label, value) of every free-text value the script holds (each is checked, then quoted)."""
    yield "--root", str(plan.root)
    yield "run dir", str(plan.run_dir)
    yield "working directory", cwd
    yield "python", plan.python
    yield "config", str(plan.config)
    for arg in plan.entry:
        yield "entry", arg
    for override in plan.overrides:
        yield "--set", override


def slurm_script(plan: LaunchPlan, partition: str, gpus: bool = True, cpus_per_task: int = 8,
                 time_limit: str | None = None, cwd: str | None = None) -> str:
    """An sbatch script running the plan's torchrun command under ``srun``, one task per node.

    ``plan.nproc`` processes per node; with ``gpus`` Slurm assigns as many GPUs per node
    (``--gres=gpu:N``) and sets ``CUDA_VISIBLE_DEVICES`` itself; the rendezvous is c10d on the job's
    first node at a port derived from the job id (so concurrent jobs differ). stdout/stderr go to the
    run dir's ``stdout.log`` that the monitor follows. ``cwd``: where the job starts (default: here).
    """
    if plan.template is not None:
        raise LaunchError("--slurm runs epam train; a foreign --command cannot go through --slurm yet")
    if not PARTITION_RE.fullmatch(partition or ""):
        raise LaunchError(f"--slurm {partition!r}: not a partition name (letters, digits, '._-', comma-separated)")
    if time_limit is not None and not TIME_RE.fullmatch(str(time_limit)):
        raise LaunchError(f"time limit {time_limit!r}: use Slurm's form, e.g. 1-00:00:00 or 90")
    if not isinstance(cpus_per_task, int) or not 0 < cpus_per_task <= 4096:
        raise LaunchError(f"cpus per task must be an integer in 1..4096, got {cpus_per_task!r}")
    cwd = os.getcwd() if cwd is None else cwd
    for label, value in script_values(plan, cwd):
        refuse_control(label, value)
    run_dir = plan.run_dir
    output = str(run_dir / STDOUT_LOG)
    if "%" in output:
        raise LaunchError(f"run dir {str(run_dir)!r} contains '%' (sbatch would expand it in the log path); "
                             "choose another --root or --name")
    q = shlex.quote
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={directive_quote(check_name(plan.name))}",
        f"#SBATCH --partition={partition}",
        f"#SBATCH --nodes={int(plan.nnodes)}",
        "#SBATCH --ntasks-per-node=1",
        *([f"#SBATCH --gres=gpu:{int(plan.nproc)}"] if gpus else []),
        f"#SBATCH --cpus-per-task={cpus_per_task}",
        *([f"#SBATCH --time={time_limit}"] if time_limit else []),
        f"#SBATCH --output={directive_quote(output)}",
        "#SBATCH --open-mode=append",
        "set -euo pipefail",
        f"cd {q(cwd)}",
        "export CUDA_DEVICE_ORDER=PCI_BUS_ID PYTHONUNBUFFERED=1",
        *rdzv.SLURM_HEAD_LINES,
    ]
    torchrun = [q(plan.python), *TORCHRUN, *rdzv.slurm_torchrun_args(plan.nproc)]  # the local launch's builder
    train = [q(a) for a in (*plan.entry, *plan.train_args())]
    lines.append(f"srun --kill-on-bad-exit=1 {' '.join(torchrun)} {' '.join(train)}")
    return "\n".join(lines) + "\n"


def write_slurm_script(plan: LaunchPlan, partition: str, gpus: bool = True, **kwargs) -> Path:
    """Write ``slurm_script(...)`` to ``<run dir>/slurm.sbatch`` (atomically, mode per the umask);
    returns its path. Nothing is written when the script is refused."""
    from epam.fileio import atomic_write_text

    text = slurm_script(plan, partition, gpus, **kwargs)
    run_dir = plan.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / SCRIPT_NAME
    atomic_write_text(path, text)
    return path
