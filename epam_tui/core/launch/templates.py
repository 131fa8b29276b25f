"""How does a foreign command (MMAction2 ``dist_train.sh``, the official EPAM script) run instead of
``epam train``: ``CommandTemplate`` and ``load_template`` (argument lists only, no shell)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from epam import yamlsafe
from epam_tui.core.launch.errors import LaunchError

PLACEHOLDERS = ("config", "nproc", "work_dir", "port", "python", "gpus", "name")


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
