"""Multi-node torchrun: the rendezvous options, their validation, and where each node's launcher writes.

One function, ``torchrun_args``, builds torchrun's ``--nnodes/--nproc_per_node/--node_rank/--rdzv-*``
options for every caller: a local multi-node launch (``LaunchPlan.torchrun_args``) and the sbatch
script (``slurm_torchrun_args``, whose values are the shell variables that ``SLURM_HEAD_LINES`` sets
from ``scontrol show hostnames``). The backend is always c10d: the agent on the endpoint's host keeps the
rendezvous store and torchrun assigns the group ranks there (``--node_rank`` names the node, it does
not pick which node holds global rank 0).

One run directory per multi-node run: every node's trainers get the same ``--work-dir ROOT/NAME``
and only global rank 0 writes in it (``epam.engine`` uses ``RANK``). The node-0 launcher owns
``ROOT/NAME/run.json`` and ``stdout.log``; the launcher of node ``R > 0`` keeps its own record of its
processes (``run.json``, ``exit.json``, ``stdout.log``) in ``ROOT/NAME/node<R>/`` (``node_dir``), so
it never competes with node 0's. The run name is given once (``--name``, the same on every node) and
is the default rendezvous id.
"""

from __future__ import annotations

import re
from pathlib import Path

BACKEND = "c10d"
HOST_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\]")
RDZV_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
NODE_DIR_RE = re.compile(r"node[1-9][0-9]{0,4}")
EXAMPLE = "node0:29400"

# the sbatch script's rendezvous: the job's first node, a port derived from the job id (concurrent jobs differ)
SLURM_HEAD_LINES = (
    'MASTER_ADDR=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)',
    "MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))",
)
SLURM_VALUES = {"nnodes": '"$SLURM_JOB_NUM_NODES"', "endpoint": '"$MASTER_ADDR:$MASTER_PORT"',
                "rdzv_id": '"$SLURM_JOB_ID"'}


class RendezvousError(ValueError):
    """Bad rendezvous input; the message is one line naming the cause and the fix."""


def parse_endpoint(endpoint: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); HOST a name, an IPv4 address or a bracketed IPv6 one, PORT 1-65535."""
    text = str(endpoint)
    host, sep, port = text.rpartition(":")
    if not sep or not host or not HOST_RE.fullmatch(host):
        raise RendezvousError(f"--rdzv-endpoint {text!r}: expected HOST:PORT (node 0's host name or address), "
                              f"e.g. {EXAMPLE}")
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise RendezvousError(f"--rdzv-endpoint {text!r}: port {port!r} must be a number in 1-65535, e.g. {EXAMPLE}")
    return host.strip("[]"), int(port)


def check_rdzv_id(value: str) -> str:
    """A rendezvous id: letters, digits, ``._-`` (the same on every node of one run)."""
    if not RDZV_ID_RE.fullmatch(str(value)):
        raise RendezvousError(f"--rdzv-id {value!r}: use letters, digits, '.', '_' and '-' (at most 128), "
                              "the same on every node")
    return str(value)


def torchrun_args(nnodes: int | str, nproc: int, endpoint: str, rdzv_id: str,
                  node_rank: int | None = None) -> list[str]:
    """torchrun's options for a c10d rendezvous at ``endpoint``, in one order for every caller.

    The values are used as given (the Slurm script passes shell variables); validate local input with
    ``parse_endpoint`` / ``check_rdzv_id`` first. ``node_rank`` None leaves ``--node_rank`` out.
    """
    args = [f"--nnodes={nnodes}", f"--nproc_per_node={int(nproc)}"]
    if node_rank is not None:
        args.append(f"--node_rank={int(node_rank)}")
    return [*args, f"--rdzv-id={rdzv_id}", f"--rdzv-backend={BACKEND}", f"--rdzv-endpoint={endpoint}"]


def slurm_torchrun_args(nproc: int) -> list[str]:
    """The sbatch script's torchrun options: every node runs the same line under ``srun``; the node count,
    the head node (``SLURM_HEAD_LINES``) and the job id come from Slurm's environment."""
    return torchrun_args(SLURM_VALUES["nnodes"], nproc, SLURM_VALUES["endpoint"], SLURM_VALUES["rdzv_id"])


def node_dir(run_dir: str | Path, node_rank: int) -> Path:
    """Where the launcher of ``node_rank`` keeps its record: the run dir itself for node 0, else
    ``<run dir>/node<R>``."""
    run_dir = Path(run_dir)
    return run_dir if int(node_rank) == 0 else run_dir / f"node{int(node_rank)}"


def main_run_dir(path: str | Path, node_rank: int) -> Path:
    """The run directory of a launcher record kept at ``path`` (the inverse of ``node_dir``)."""
    path = Path(path)
    return path.parent if int(node_rank) > 0 and path.name == f"node{int(node_rank)}" else path


def is_node_dir(path: str | Path) -> bool:
    """Whether ``path`` is a node launcher's ``node<R>`` directory inside a run directory."""
    path = Path(path)
    return bool(NODE_DIR_RE.fullmatch(path.name)) and path.is_dir()


NAME_NEEDED = ("--nnodes > 1 needs --name NAME, the same on every node (it names the one run directory "
               "and is the default --rdzv-id)")
