"""Launch planning: what will run, where, on which GPUs, and whether it may start.

Pure functions and small dataclasses, no Textual and no processes (``runs`` spawns). The screen,
``epam-tui launch`` and the tests share them:

- ``summarize`` loads a config with ``epam.config`` and lists its key settings or its problems;
- ``parse_visible_devices`` / ``gpu_state`` / ``pick_gpus`` / ``busy_reasons``: GPU identity and
  selection. NVML numbers GPUs in PCI bus order, so every launch sets ``CUDA_DEVICE_ORDER=PCI_BUS_ID``
  and ``CUDA_VISIBLE_DEVICES`` to the picks; a ``CUDA_VISIBLE_DEVICES`` already in the TUI's
  environment limits what may be picked (indices or UUIDs, as CUDA parses them);
- ``scaling``: the linear scaling rule through ``epam.schedule.scaled_lr``;
- ``LaunchPlan``: the argv (argument lists only), the environment, the run record; foreign command
  templates (MMAction2 ``dist_train.sh``, the official EPAM script) through ``CommandTemplate``;
- pre-flight (config, GPUs, data paths, work dir, port, busy GPUs, each a ``Check``) lives in
  ``preflight`` and the sbatch script in ``slurm_script``; both stay reachable as ``lp.<name>``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import socket
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from epam import yamlsafe
from epam.config import ConfigError, load_config
from epam.schedule import recipe_total_batch, scaled_lr
from epam_tui.core import rendezvous as rdzv

TORCHRUN = ("-m", "torch.distributed.run")
TRAIN_ENTRY = ("-m", "epam.train")
PORT_RANGE = (29500, 30500)  # below Linux's ephemeral range, so an outgoing socket will not take it
BUSY_MEMORY_MIB = 1024  # a GPU with more memory in use than this is busy
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
PLACEHOLDERS = ("config", "nproc", "work_dir", "port", "python", "gpus", "name")


class LaunchError(Exception):
    """Bad launch input; the message is one line naming the cause and the fix."""


# --------------------------------------------------------------------------------------------
# config summary


@dataclass
class ConfigSummary:
    """A config's resolved key settings, or its problems (one line each)."""

    path: str
    cfg: dict | None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.cfg is not None and not self.errors

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs of the settings a user checks before launching."""
        if self.cfg is None:
            return []
        cfg = self.cfg
        opt, data, train = cfg["optimizer"], cfg["data"], cfg["train"]
        return [
            ("lr", f"{opt['lr']:g}"),
            ("weight decay", f"{opt['weight_decay']:g}"),
            ("schedule", describe_schedule(cfg["scheduler"])),
            ("seed", "none (not reproducible)" if train.get("seed") is None else str(train["seed"])),
            ("epochs", str(train["max_epochs"])),
            ("batch per GPU", f"{data['batch_per_gpu']} (recipe: {train['gpus']} GPU{'s' * (train['gpus'] > 1)}, "
                              f"total {recipe_total_batch(cfg)})"),
            ("data", f"{data['dataset']}: {data['ann_file']}"),
        ]


def describe_schedule(sched: Mapping[str, Any]) -> str:
    """One line: the scheduler type with its settings, e.g. ``CosineAnnealingLR T_max=50 eta_min=1e-06``."""
    kind = sched.get("type", "?")
    step = "per epoch" if sched.get("by_epoch", True) else "per iteration"
    if kind == "SequentialLR":
        parts = [describe_schedule({**s, "by_epoch": sched.get("by_epoch", True)}).rsplit(" (", 1)[0]
                 for s in sched.get("schedulers", [])]
        return f"{' then '.join(parts)} at {sched.get('milestones')} ({step})"
    args = " ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in sched.items() if k not in ("type", "by_epoch"))
    return f"{kind} {args} ({step})".replace("  ", " ")


def summarize(path: str, overrides: Sequence[str] = ()) -> ConfigSummary:
    """Load ``path`` with ``overrides``; problems become ``errors`` instead of an exception."""
    try:
        return ConfigSummary(path, load_config(path, list(overrides)))
    except ConfigError as exc:
        return ConfigSummary(path, None, list(exc.problems))


def find_configs(root: str | Path = "configs") -> list[str]:
    """Launchable configs under ``root`` (``_base_`` pieces and ``launch`` templates left out)."""
    root = Path(root)
    if not root.is_dir():
        return []
    skip = {"_base_", "launch"}
    return sorted(str(p) for p in root.rglob("*.yaml")
                  if not skip.intersection(p.relative_to(root).parts[:-1]))


def file_sha256(path: str | Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


# --------------------------------------------------------------------------------------------
# GPUs


def parse_visible_devices(value: str | None) -> list[str] | None:
    """``CUDA_VISIBLE_DEVICES`` as CUDA reads it; ``None`` when unset (every GPU visible).

    Entries are NVML indices or (prefixes of) ``GPU-``/``MIG-`` UUIDs; like CUDA, parsing stops at
    the first invalid or repeated entry, so ``"0,-1,2"`` means GPU 0 only and ``""`` means none.
    """
    if value is None:
        return None
    out: list[str] = []
    for raw in value.split(","):
        token = raw.strip()
        if re.fullmatch(r"\d+", token):
            token = str(int(token))
        elif not re.fullmatch(r"(GPU|MIG)-[0-9A-Za-z/-]+", token):
            break
        if token in out:
            break
        out.append(token)
    return out


def _gpu_matches(gpu: Any, token: str) -> bool:
    if token.isdigit():
        return int(gpu.index) == int(token)
    return bool(gpu.uuid) and str(gpu.uuid).startswith(token)


@dataclass
class GpuState:
    """What the launcher may pick from: the visible GPUs, or why there are none."""

    devices: list[Any]  # GpuInfo, in the order CUDA_VISIBLE_DEVICES (or NVML) lists them
    error: str | None = None  # no GPU telemetry: the reason
    visible_env: str | None = None  # CUDA_VISIBLE_DEVICES of the TUI's own environment
    use_uuids: bool = False  # the environment named GPUs by UUID: the child gets UUIDs too
    hidden: list[Any] = field(default_factory=list)  # GPUs NVML sees that the environment hides
    notes: list[str] = field(default_factory=list)

    @property
    def has_gpus(self) -> bool:
        return bool(self.devices)

    def token(self, gpu: Any) -> str:
        """How ``gpu`` is written in the child's ``CUDA_VISIBLE_DEVICES``."""
        return str(gpu.uuid) if self.use_uuids else str(gpu.index)


def visible_state(devices: Sequence[Any], environ: Mapping[str, str] | None = None,
                  error: str | None = None) -> GpuState:
    """Restrict NVML's ``devices`` to the environment's ``CUDA_VISIBLE_DEVICES`` (if any)."""
    environ = os.environ if environ is None else environ
    raw = environ.get("CUDA_VISIBLE_DEVICES")
    entries = parse_visible_devices(raw)
    if entries is None:
        return GpuState(list(devices), error)
    state = GpuState([], error, raw, use_uuids=any(not e.isdigit() for e in entries))
    for entry in entries:
        match = [g for g in devices if _gpu_matches(g, entry)]
        if match and match[0] not in state.devices:
            state.devices.append(match[0])
        elif entry.startswith("MIG-"):
            state.notes.append(f"CUDA_VISIBLE_DEVICES entry {entry} is a MIG instance; pick it by hand")
    state.hidden = [g for g in devices if g not in state.devices]
    if entries and any(e.isdigit() for e in entries) and environ.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID":
        state.notes.append(f"CUDA_VISIBLE_DEVICES={raw} read as NVML (PCI bus) indices; "
                           "launches set CUDA_DEVICE_ORDER=PCI_BUS_ID")
    if devices and not state.devices:
        state.error = state.error or (f"CUDA_VISIBLE_DEVICES={raw!r} in this shell hides every GPU "
                                      "(unset it to pick GPUs)")
    return state


def gpu_state(backend: Any = None, environ: Mapping[str, str] | None = None) -> GpuState:
    """Sample ``backend`` once (default: a fresh ``open_backend("auto")``, closed again); no driver
    or a failing driver gives a state with ``error``, never an exception."""
    from epam_tui.core import gpus

    owned = backend is None
    try:
        backend = gpus.open_backend("auto") if owned else backend
        devices = list(backend.devices())
    except gpus.GpuUnavailable as exc:
        return visible_state([], environ, error=str(getattr(exc, "reason", exc)) or "no NVIDIA driver")
    except Exception as exc:  # a broken driver must not take the launcher down: report it, offer the CPU
        return visible_state([], environ, error=f"GPU query failed: {type(exc).__name__}: {exc}")
    finally:
        if owned and backend is not None:
            backend.close()
    if not devices:
        return visible_state([], environ, error="NVML reports no GPU")
    return visible_state(devices, environ)


def pick_gpus(spec: str, state: GpuState) -> list[Any] | None:
    """``--gpus`` text -> the picked GpuInfo list, or None for ``cpu``.

    Accepts ``cpu``, ``all``, or a comma list of NVML indices (as nvidia-smi and the TUI show them)
    and/or GPU UUIDs (prefixes allowed).
    """
    spec = spec.strip()
    if spec.lower() == "cpu":
        return None
    if not state.has_gpus:
        raise LaunchError(f"--gpus {spec}: no GPU available ({state.error or 'none found'}); use --gpus cpu")
    if spec.lower() == "all":
        return list(state.devices)
    picks: list[Any] = []
    for token in (t.strip() for t in spec.split(",")):
        if not token or not (token.isdigit() or re.fullmatch(r"(GPU|MIG)-[0-9A-Za-z/-]+", token)):
            raise LaunchError(f"--gpus {spec}: {token!r} is not a GPU index or UUID; e.g. --gpus 0,1 or --gpus cpu")
        gpu = next((g for g in state.devices if _gpu_matches(g, token)), None)
        if gpu is None:
            hidden = next((g for g in state.hidden if _gpu_matches(g, token)), None)
            if hidden is not None:
                shown = ",".join(str(g.index) for g in state.devices)
                raise LaunchError(f"--gpus {spec}: GPU {token} is hidden by CUDA_VISIBLE_DEVICES={state.visible_env} "
                                  f"in this shell; pick from {shown} or unset it")
            shown = ",".join(str(g.index) for g in state.devices)
            raise LaunchError(f"--gpus {spec}: no GPU {token} on this machine; pick from {shown}")
        if gpu in picks:
            raise LaunchError(f"--gpus {spec}: GPU {token} given twice")
        picks.append(gpu)
    return picks


def _mib(value: Any) -> float:
    """GpuInfo memory figures are bytes (NVML's unit); None counts as 0."""
    return float(value or 0) / 2**20


def busy_reasons(gpu: Any, ours: Mapping[str, str] | None = None,
                 threshold_mib: float = BUSY_MEMORY_MIB) -> list[str]:
    """Why ``gpu`` needs a confirm: memory in use, processes on it, a live run of ours on it.

    ``ours`` maps a GPU UUID (or ``"index:N"``) to the name of a live run of ours using it.
    """
    ours = ours or {}
    reasons = []
    owner = ours.get(str(gpu.uuid)) or ours.get(f"index:{gpu.index}")
    if owner:
        reasons.append(f"used by our run {owner}")
    used = _mib(getattr(gpu, "memory_used", 0))
    if used > threshold_mib:
        reasons.append(f"{used / 1024:.1f} GiB in use")
    procs = list(getattr(gpu, "processes", None) or [])
    if procs:
        shown = ", ".join(f"{p.user or '?'}:{p.name or '?'}({p.pid})" for p in procs[:3])
        more = f" +{len(procs) - 3}" if len(procs) > 3 else ""
        reasons.append(f"{len(procs)} process{'es' if len(procs) > 1 else ''}: {shown}{more}")
    return reasons


def describe_gpu(gpu: Any) -> str:
    """One line: ``GPU 1  NVIDIA A100  12.3/80.0 GiB  87%``."""
    used, total = _mib(gpu.memory_used) / 1024, _mib(gpu.memory_total) / 1024
    util = "?" if gpu.util is None else f"{gpu.util:.0f}%"
    return f"GPU {gpu.index}  {gpu.name}  {used:.1f}/{total:.1f} GiB  {util}"


def gpus_of_runs(records: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Map each GPU used by the given (live) run records to the run's name (see ``busy_reasons``)."""
    out: dict[str, str] = {}
    for rec in records:
        for g in rec.get("gpus") or []:
            name = str(rec.get("name", "?"))
            if g.get("uuid"):
                out[str(g["uuid"])] = name
            if g.get("index") is not None:
                out[f"index:{g['index']}"] = name
    return out


# --------------------------------------------------------------------------------------------
# linear scaling


@dataclass
class Scaling:
    """The linear scaling rule for a launch: lr x total batch / the recipe's total batch."""

    config_lr: float
    recipe_batch: int
    total_batch: int
    scaled_lr: float

    @property
    def differs(self) -> bool:
        return self.total_batch != self.recipe_batch

    @property
    def override(self) -> str:
        return f"optimizer.lr={self.scaled_lr:.6g}"

    def describe(self) -> str:
        if not self.differs:
            return f"total batch {self.total_batch} = the recipe's; lr {self.config_lr:g} as configured"
        return (f"total batch {self.total_batch} vs the recipe's {self.recipe_batch}: lr {self.config_lr:g}"
                f" -> {self.scaled_lr:.6g} by the linear scaling rule")


def scaling(cfg: Mapping[str, Any], nproc: int, nnodes: int = 1) -> Scaling:
    """Scaling for ``nproc`` processes per node on ``nnodes`` nodes (``cfg`` without a lr override)."""
    total = int(cfg["data"]["batch_per_gpu"]) * max(1, nproc) * max(1, nnodes)
    return Scaling(float(cfg["optimizer"]["lr"]), recipe_total_batch(dict(cfg)), total, scaled_lr(dict(cfg), total))


def without_lr_override(overrides: Sequence[str]) -> list[str]:
    return [o for o in overrides if o.split("=", 1)[0].strip() != "optimizer.lr"]


def apply_scaling(overrides: Sequence[str], scale: Scaling) -> list[str]:
    """``overrides`` with the scaled lr set (replacing any earlier ``optimizer.lr=``)."""
    return [*without_lr_override(overrides), scale.override]


# --------------------------------------------------------------------------------------------
# command templates


@dataclass
class CommandTemplate:
    """A foreign command run instead of ``epam train``; GPUs reach it through the environment.

    ``command`` is split like a shell line (``shlex``) into arguments first, then placeholders
    (``{config}``, ``{nproc}``, ``{work_dir}``, ``{port}``, ``{python}``, ``{gpus}``, ``{name}``) are
    filled inside each argument, so a value with spaces or ``;`` stays one argument.
    """

    name: str
    command: str
    source: str = "mmengine"  # how the monitor reads the work_dir: mmengine | epam-official | epam
    resume_args: list[str] = field(default_factory=list)
    port: int | None = None  # a port the command hard-codes (the official EPAM script: 12355)
    cwd: str | None = None
    description: str = ""

    def tokens(self) -> list[str]:
        try:
            tokens = shlex.split(self.command)
        except ValueError as exc:
            raise LaunchError(f"command template {self.name}: {exc}; check its quotes") from None
        if not tokens:
            raise LaunchError(f"command template {self.name}: empty command")
        for token in tokens:
            for key in re.findall(r"\{([^{}]*)\}", token):
                if key not in PLACEHOLDERS:
                    raise LaunchError(f"command template {self.name}: unknown placeholder {{{key}}}; "
                                      f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
        return tokens

    def render(self, values: Mapping[str, str]) -> list[str]:
        """The argv: each template argument with its placeholders filled (no shell involved)."""
        return [re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], t) for t in self.tokens()]

    def to_dict(self) -> dict:
        return {"name": self.name, "command": self.command, "source": self.source,
                "resume_args": list(self.resume_args), "port": self.port, "cwd": self.cwd}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "template") -> CommandTemplate:
        if not isinstance(data, Mapping) or not isinstance(data.get("command"), str):
            raise LaunchError(f"{origin}: a command template needs a `command:` string")
        resume = data.get("resume_args") or []
        if isinstance(resume, str):
            resume = shlex.split(resume)
        port = data.get("port")
        if port is not None and (not isinstance(port, int) or not 0 < port < 65536):
            raise LaunchError(f"{origin}: port must be an integer in 1..65535, got {port!r}")
        source = str(data.get("source", "mmengine"))
        if source not in ("mmengine", "epam-official", "epam"):
            raise LaunchError(f"{origin}: source must be mmengine, epam-official or epam, got {source!r}")
        tmpl = cls(str(data.get("name") or Path(origin).stem), data["command"], source,
                   [str(a) for a in resume], port, data.get("cwd"), str(data.get("description", "")))
        tmpl.tokens()
        return tmpl


def load_template(spec: str, templates_dir: str | Path = "configs/launch") -> CommandTemplate:
    """``--command``: a YAML file, a name in ``configs/launch/``, or a literal template line."""
    candidates = [Path(spec), Path(templates_dir) / spec, Path(templates_dir) / f"{spec}.yaml"]
    for path in candidates:
        if path.suffix in (".yaml", ".yml") and path.is_file():
            try:
                data = yamlsafe.load_file(path)  # bounded: aliases, size, regular files only
            except (OSError, yaml.YAMLError) as exc:
                raise LaunchError(f"{path}: cannot read the command template: {str(exc).splitlines()[0]}") from None
            return CommandTemplate.from_dict(data, str(path))
    if spec.endswith((".yaml", ".yml")) or "{" not in spec and " " not in spec:
        raise LaunchError(f"--command {spec}: no such template file (see configs/launch/) and not a command line")
    return CommandTemplate.from_dict({"name": "custom", "command": spec})


# --------------------------------------------------------------------------------------------
# the plan


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
        if self.nnodes > 1 and not self.rdzv_endpoint and self.template is None:
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
                "rdzv_id": self.rdzv_id,
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
            rdzv_id=launch.get("rdzv_id"),
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


# --------------------------------------------------------------------------------------------
# ports


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` can be bound on ``host`` now (nothing listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(reserved: Iterable[int] = (), start: int = PORT_RANGE[0], stop: int = PORT_RANGE[1]) -> int:
    """The first port in [start, stop) that no live run of ours holds and nothing listens on."""
    taken = {int(p) for p in reserved if p}
    for port in range(start, stop):
        if port not in taken and port_free(port):
            return port
    raise LaunchError(f"no free port in {start}-{stop - 1}; stop some runs or free a port")


# --------------------------------------------------------------------------------------------
# building a plan from user input


def make_plan(config: str | None, state: GpuState, *, gpus: str | Sequence[Any] | None = None,
              nproc: int | None = None, overrides: Sequence[str] = (), name: str | None = None, root: str = "work_dirs",
              live: Sequence[Mapping[str, Any]] = (), template: CommandTemplate | None = None,
              nnodes: int = 1, node_rank: int = 0, rdzv_endpoint: str | None = None, rdzv_id: str | None = None,
              resume: bool = False, entry: Sequence[str] = TRAIN_ENTRY) -> LaunchPlan:
    """A plan from user input. ``gpus``: ``--gpus`` text, the picked GpuInfo list (empty: CPU), or
    None / ``"auto"`` to pick idle GPUs automatically (see ``auto_gpus``)."""
    if nproc is not None and nproc < 1:
        raise LaunchError(f"--nproc must be >= 1, got {nproc}")
    recipe = recipe_gpus(config, overrides) if template is None else 1
    if gpus is None or gpus == "auto":
        picks = auto_gpus(state, nproc or recipe, live)
    elif isinstance(gpus, str):
        picks = pick_gpus(gpus, state)
    else:
        picks = list(gpus) or None
    if picks is None:
        count = nproc or min(recipe, os.cpu_count() or 1)
    else:
        count = nproc or len(picks)
    plan = LaunchPlan(config=config, root=root, name=name or "", overrides=list(overrides), gpus=picks or [],
                      gpu_tokens=[state.token(g) for g in picks or []], nproc=count, nnodes=nnodes,
                      node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, rdzv_id=rdzv_id, template=template,
                      resume=resume, entry=tuple(entry))
    if plan.port is None and (plan.distributed or template is not None):
        plan.port = template.port if template is not None and template.port else choose_port(
            int(r["port"]) for r in live if r.get("port"))
    return plan


def recipe_gpus(config: str | None, overrides: Sequence[str] = ()) -> int:
    """The config's ``train.gpus`` (1 when the config cannot be read)."""
    summary = summarize(config, without_lr_override(overrides)) if config else None
    return int(summary.cfg["train"]["gpus"]) if summary and summary.cfg else 1


def auto_gpus(state: GpuState, count: int, live: Sequence[Mapping[str, Any]] = ()) -> list[Any] | None:
    """The first ``count`` idle visible GPUs (fewer if fewer are idle); None (CPU) when there is no GPU."""
    if not state.has_gpus:
        return None
    ours = gpus_of_runs(live)
    idle = [g for g in state.devices if not busy_reasons(g, ours)]
    if not idle:
        shown = ",".join(str(g.index) for g in state.devices)
        raise LaunchError(f"every GPU ({shown}) is busy; pick some with --gpus N --yes, or use --gpus cpu")
    return idle[:count]


# --------------------------------------------------------------------------------------------
# names that moved to their own modules, still reachable here (``lp.preflight``, ``lp.slurm_script``)


_MOVED = {
    "epam_tui.core.preflight": ("Check", "check_config", "check_data", "check_work_dir", "check_port",
                                "check_gpus", "check_busy", "data_paths", "preflight", "failures"),
    "epam_tui.core.slurm_script": ("slurm_script",),
}


def __getattr__(name: str) -> Any:
    import importlib

    for module, names in _MOVED.items():
        if name in names:
            return getattr(importlib.import_module(module), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
