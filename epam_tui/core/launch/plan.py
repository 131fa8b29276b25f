"""What exactly runs: ``LaunchPlan`` derives the argv (argument lists only), the environment and the
run record from one launch's inputs; run names are checked so a run dir never leaves its root.

Pure functions and small dataclasses, no Textual and no processes (``runs`` spawns).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from epam_tui.core.launch import rendezvous as rdzv
from epam_tui.core.launch.configs import file_sha256
from epam_tui.core.launch.errors import LaunchError
from epam_tui.core.launch.templates import CommandTemplate

TORCHRUN = ("-m", "torch.distributed.run")
TRAIN_ENTRY = ("-m", "epam.train")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_name(name: str) -> str:
    """A run name that stays inside the work dir: letters, digits, ``._-``, no leading dot."""
    if not NAME_RE.fullmatch(name or ""):
        raise LaunchError(f"run name {name!r} is not allowed; use letters, digits, '.', '_' and '-' "
                          "(no '/', no leading '.'), at most 100 characters")
    return name


def run_dir_for(root: str | Path, name: str) -> Path:
    """``root/name``, refusing any name that would leave ``root``."""
    check_name(name)
    root_abs = Path(root).resolve()
    path = (root_abs / name).resolve()
    if path.parent != root_abs:
        raise LaunchError(f"run name {name!r} leaves the work dir {root}; choose a plain name")
    return path


def default_name(config: str | None, template: CommandTemplate | None = None, now: float | None = None) -> str:
    stem = Path(config).stem if config else (template.name if template else "run")
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip(".") or "run"
    return f"{stem[:80]}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}"


def display_python(argv: Sequence[str], python: str = sys.executable) -> list[str]:
    """The argv as a user would type it: ``torchrun ...`` / ``python ...`` for the venv's interpreter."""
    argv = list(argv)
    if argv[:3] == [python, *TORCHRUN]:
        return ["torchrun", *argv[3:]]
    if argv[:1] == [python]:
        return ["python", *argv[1:]]
    return argv


@dataclass
class LaunchPlan:
    """Everything one launch needs; ``argv()``/``env()``/``record()`` derive the rest."""

    config: str | None
    root: str = "work_dirs"
    name: str = ""
    overrides: list[str] = field(default_factory=list)
    gpus: list[Any] = field(default_factory=list)  # picked GpuInfo (empty: CPU)
    gpu_tokens: list[str] = field(default_factory=list)  # their CUDA_VISIBLE_DEVICES entries
    nproc: int = 1
    port: int | None = None
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None
    rdzv_id: str | None = None  # default: the run name (the same on every node)
    slurm: bool = False  # an sbatch job: its script takes the rendezvous from the job's nodes (rdzv.SLURM_HEAD_LINES)
    template: CommandTemplate | None = None
    resume: bool = False
    entry: tuple[str, ...] = TRAIN_ENTRY  # what torchrun runs: ``-m epam.train`` or a script path
    python: str = sys.executable

    def __post_init__(self) -> None:
        self.name = check_name(self.name or default_name(self.config, self.template))
        for label, value in (("--root", self.root), ("config", self.config or "")):
            if re.search(r"[\x00-\x1f\x7f]", str(value)):
                raise LaunchError(f"{label} {str(value)!r} contains a control character (newline, tab, ...); "
                                  "rename it or choose another path")
        if self.nproc < 1:
            raise LaunchError(f"--nproc must be >= 1, got {self.nproc}")
        if self.nnodes < 1 or not 0 <= self.node_rank < self.nnodes:
            raise LaunchError(f"--node-rank must be in 0..{self.nnodes - 1} for --nnodes {self.nnodes}, "
                              f"got {self.node_rank}")
        if self.nnodes > 1 and not self.rdzv_endpoint and self.template is None and not self.slurm:
            raise LaunchError("--nnodes > 1 needs --rdzv-endpoint HOST:PORT (the node-0 host and a free port)")
        try:
            if self.rdzv_endpoint:
                self.port = self.port or rdzv.parse_endpoint(self.rdzv_endpoint)[1]
            if self.rdzv_id is not None:
                rdzv.check_rdzv_id(self.rdzv_id)
        except rdzv.RendezvousError as exc:
            raise LaunchError(str(exc)) from None

    # --- derived -----------------------------------------------------------------------------
    @property
    def cpu(self) -> bool:
        return not self.gpus

    @property
    def kind(self) -> str:
        return "foreign" if self.template else "epam"

    @property
    def source(self) -> str:
        return self.template.source if self.template else "epam"

    @property
    def run_dir(self) -> Path:
        """Where this launcher writes run.json: the run dir, or its ``node<R>/`` on node R > 0 (``rdzv.node_dir``)."""
        return rdzv.node_dir(run_dir_for(self.root, self.name), self.node_rank)

    @property
    def work_dir_arg(self) -> str:
        """The run dir as passed on the command line (relative to ``root`` as given, absolute if cwd moves)."""
        if self.template is not None and self.template.cwd:
            return str(run_dir_for(self.root, self.name))
        return os.path.join(self.root, self.name)

    @property
    def distributed(self) -> bool:
        return self.nproc > 1 or self.nnodes > 1

    def torchrun_args(self) -> list[str]:
        """torchrun's own options: one node with a fixed master port, or the multi-node rendezvous."""
        if self.slurm and self.nnodes > 1 and not self.rdzv_endpoint:  # what the sbatch script runs on each node
            return rdzv.slurm_torchrun_args(self.nproc)
        if self.nnodes > 1 or self.rdzv_endpoint:
            return rdzv.torchrun_args(self.nnodes, self.nproc, str(self.rdzv_endpoint), self.rdzv_id or self.name,
                                      self.node_rank)
        return [f"--nnodes={self.nnodes}", f"--nproc_per_node={self.nproc}", "--master_addr=127.0.0.1",
                f"--master_port={self.port}"]

    def train_args(self) -> list[str]:
        """The trainer's arguments: ``CONFIG --work-dir DIR [--resume auto] [--set k=v ...]``."""
        args = [str(self.config), "--work-dir", self.work_dir_arg]
        if self.resume:
            args += ["--resume", "auto"]
        if self.overrides:
            args += ["--set", *self.overrides]
        return args

    def argv(self) -> list[str]:
        """The exact argument list that runs (no shell)."""
        if self.template is not None:
            argv = self.template.render(self.placeholder_values())
            return argv + (list(self.template.resume_args) if self.resume else [])
        if not self.distributed:
            return [self.python, *self.entry, *self.train_args()]
        if self.port is None:
            raise LaunchError("a multi-process launch needs a rendezvous port (none chosen)")
        return [self.python, *TORCHRUN, *self.torchrun_args(), *self.entry, *self.train_args()]

    def display_argv(self) -> list[str]:
        return display_python(self.argv(), self.python)

    def placeholder_values(self) -> dict[str, str]:
        config = str(self.config or "")
        if self.cwd() and config and Path(config).exists():  # given relative to here: make it absolute
            config = str(Path(config).resolve())
        return {"config": config, "nproc": str(self.nproc), "work_dir": self.work_dir_arg,
                "port": str(self.port or ""), "python": self.python, "gpus": ",".join(self.gpu_tokens),
                "name": self.name}

    def env(self) -> dict[str, str]:
        """The variables set on top of the launcher's environment (recorded in run.json)."""
        env = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": ",".join(self.gpu_tokens),
               "PYTHONUNBUFFERED": "1"}
        if self.template is not None:
            if self.port:
                env.update(PORT=str(self.port), MASTER_PORT=str(self.port))
            if self.nnodes > 1:
                env.update(NNODES=str(self.nnodes), NODE_RANK=str(self.node_rank))
                if self.rdzv_endpoint:
                    env["MASTER_ADDR"] = self.rdzv_endpoint.rsplit(":", 1)[0]
        return env

    def preview(self) -> str:
        """The copy-paste form: ``VAR=value ... torchrun ...``."""
        env = {k: v for k, v in self.env().items() if k != "PYTHONUNBUFFERED"}
        line = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        cwd = f"cd {shlex.quote(self.cwd())} && " if self.cwd() else ""
        return f"{cwd}{line} {shlex.join(self.display_argv())}"

    def cwd(self) -> str | None:
        if self.template is not None and self.template.cwd:
            return os.path.expanduser(self.template.cwd)
        return None

    def record(self) -> dict[str, Any]:
        """run.json fields known before spawning (``runs.spawn`` adds pid, times, status)."""
        return {
            "name": self.name,
            "config": self.config,
            "config_sha256": file_sha256(self.config) if self.config else None,
            "argv": self.argv(),
            "display": self.preview(),
            "env": self.env(),
            "gpus": [{"index": int(g.index), "uuid": str(g.uuid), "name": str(g.name)} for g in self.gpus],
            "nproc": self.nproc,
            "port": self.port,
            "kind": self.kind,
            "source": self.source,
            "work_dir": str(self.run_dir),
            "launch": {
                "root": self.root, "overrides": list(self.overrides), "gpu_tokens": list(self.gpu_tokens),
                "nnodes": self.nnodes, "node_rank": self.node_rank, "rdzv_endpoint": self.rdzv_endpoint,
                "rdzv_id": self.rdzv_id, **({"slurm": True} if self.slurm else {}),
                "template": self.template.to_dict() if self.template else None, "entry": list(self.entry),
                "cwd": self.cwd(),
            },
        }

    @classmethod
    def from_record(cls, rec: Mapping[str, Any], **changes: Any) -> LaunchPlan:
        """Rebuild the plan of a recorded run (for a restart), with ``changes`` applied."""
        launch = rec.get("launch") or {}
        tmpl = launch.get("template")
        plan = cls(
            config=rec.get("config"), root=launch.get("root") or str(Path(rec["work_dir"]).parent),
            name=rec["name"], overrides=list(launch.get("overrides") or []),
            gpus=[RecordedGpu(**g) for g in rec.get("gpus") or []], gpu_tokens=list(launch.get("gpu_tokens") or []),
            nproc=int(rec.get("nproc") or 1), port=rec.get("port"), nnodes=int(launch.get("nnodes") or 1),
            node_rank=int(launch.get("node_rank") or 0), rdzv_endpoint=launch.get("rdzv_endpoint"),
            rdzv_id=launch.get("rdzv_id"), slurm=launch.get("slurm") is True,
            template=CommandTemplate.from_dict(tmpl) if tmpl else None,
            entry=tuple(launch.get("entry") or TRAIN_ENTRY),
        )
        return replace(plan, **changes) if changes else plan


@dataclass(frozen=True)
class RecordedGpu:
    """A GPU as run.json records it (enough for argv, env and the record)."""

    index: int
    uuid: str
    name: str = ""
