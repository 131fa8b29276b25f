"""Launching a run: what will run, where, on which GPUs, and whether it may start.

Pure functions and small dataclasses, no Textual and no processes (``core.runs`` spawns and stops).
Each module answers one question:

- ``errors``: what a refused launch raises (``LaunchError``, one line: the cause and the fix);
- ``configs``: which configs can be launched, and what one sets (``summarize``, ``find_configs``);
- ``devices``: which GPUs a launch may use (``gpu_state``, ``pick_gpus``, ``busy_reasons``, ...);
- ``lr_scaling``: the learning rate a launch gets by the linear scaling rule (``scaling``);
- ``templates``: foreign commands run instead of ``epam train`` (``CommandTemplate``, ``load_template``);
- ``plan``: exactly what runs (``LaunchPlan``: argv, environment, run record);
- ``ports``: which single-node rendezvous port is free (``choose_port``);
- ``build``: how user input becomes a plan (``make_plan``);
- ``rendezvous``: the multi-node torchrun options and where each node writes;
- ``checks``: pre-flight, may this launch start (``preflight``, each item a ``Check``);
- ``sbatch``: the Slurm job script of a plan (``slurm_script``);
- ``relaunch``: the plan of a restart, rebuilt from what we trust (``restart_plan``).

The names callers use are re-exported here, so ``import epam_tui.core.launch as lp; lp.make_plan``
works; the modules import each other directly, never through this package.
"""

from epam_tui.core.launch.build import make_plan, recipe_gpus
from epam_tui.core.launch.checks import (Check, check_busy, check_config, check_data, check_gpus, check_port,
                                         check_work_dir, data_paths, failures, preflight)
from epam_tui.core.launch.configs import ConfigSummary, describe_schedule, file_sha256, find_configs, summarize
from epam_tui.core.launch.devices import (BUSY_MEMORY_MIB, GpuState, auto_gpus, busy_reasons, describe_gpu,
                                          gpu_state, gpus_of_runs, parse_visible_devices, pick_gpus,
                                          visible_state)
from epam_tui.core.launch.errors import LaunchError
from epam_tui.core.launch.lr_scaling import Scaling, apply_scaling, scaling, without_lr_override
from epam_tui.core.launch.plan import (NAME_RE, TORCHRUN, TRAIN_ENTRY, LaunchPlan, RecordedGpu, check_name,
                                       default_name, display_python, run_dir_for)
from epam_tui.core.launch.ports import PORT_RANGE, choose_port, port_free
from epam_tui.core.launch.sbatch import slurm_script, write_slurm_script
from epam_tui.core.launch.templates import PLACEHOLDERS, CommandTemplate, load_template

__all__ = [
    "BUSY_MEMORY_MIB", "NAME_RE", "PLACEHOLDERS", "PORT_RANGE", "TORCHRUN", "TRAIN_ENTRY",
    "Check", "CommandTemplate", "ConfigSummary", "GpuState", "LaunchError", "LaunchPlan", "RecordedGpu", "Scaling",
    "apply_scaling", "auto_gpus", "busy_reasons", "check_busy", "check_config", "check_data", "check_gpus",
    "check_name", "check_port", "check_work_dir", "choose_port", "data_paths", "default_name", "describe_gpu",
    "describe_schedule", "display_python", "failures", "file_sha256", "find_configs", "gpu_state", "gpus_of_runs",
    "load_template", "make_plan", "parse_visible_devices", "pick_gpus", "port_free", "preflight", "recipe_gpus",
    "run_dir_for", "scaling", "slurm_script", "summarize", "visible_state", "without_lr_override",
    "write_slurm_script",
]
