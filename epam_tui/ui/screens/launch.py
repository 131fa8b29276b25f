"""The launch screen: config, overrides, GPUs, scaling, pre-flight, command preview, launch.

All decisions come from ``epam_tui.core.launch`` (planning, checks) and ``epam_tui.core.runs``
(spawning); this screen only shows them. Sampling GPUs, loading configs, pre-flight and spawning run
in thread workers that hand results back with ``call_from_thread``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Label, OptionList, SelectionList, Static
from textual.widgets.selection_list import Selection

from epam_tui.core import launch as lp
from epam_tui.core import runs
from epam_tui.core.launch import checks as preflight
from epam_tui.ui.actions import bindings
from epam_tui.ui.widgets.confirm import ConfirmBusy
from epam_tui.ui.widgets.gpu_list import GpuList


@dataclass
class _View:
    """What one planning pass produced (built in a worker, shown on the UI thread)."""

    summary: lp.ConfigSummary | None = None
    plan: lp.LaunchPlan | None = None
    error: str | None = None
    scale: lp.Scaling | None = None
    checks: list[lp.Check] = field(default_factory=list)


class _Pane(VerticalScroll, can_focus=False):
    """The right-hand column: scrolls, but Tab goes straight to its inputs."""


class LaunchScreen(Screen[str | None]):
    """Pick a config and GPUs, see the settings, the checks and the exact command, then launch."""

    ACTION_CONTEXT = "launch"
    BINDINGS = bindings("launch")  # epam_tui.ui.actions
    DEFAULT_CSS = """
    LaunchScreen #body { height: 1fr; }
    LaunchScreen #left { width: 30%; min-width: 22; max-width: 38; }
    LaunchScreen #configs { height: 1fr; }
    LaunchScreen #path-row { height: 1; }
    LaunchScreen #path-row .title { margin-top: 0; width: auto; }
    LaunchScreen #config-path { background: $boost; }
    LaunchScreen #config-error { height: 1; color: $error; }
    LaunchScreen #right { width: 1fr; padding: 0 1; }
    LaunchScreen .title { text-style: bold; color: $accent; margin-top: 1; }
    LaunchScreen #name-row { height: 1; margin-top: 1; }
    LaunchScreen #name-row .title { margin-top: 0; width: auto; }
    LaunchScreen #overrides, LaunchScreen #name { background: $boost; }
    LaunchScreen #gpus { height: auto; max-height: 10; }
    LaunchScreen #preview { background: $boost; padding: 0 1; }
    """

    def __init__(self, configs: list[str] | None = None, gpu_backend: Any = None, root: str = "work_dirs",
                 overrides: list[str] | None = None, gpus: str | None = None, nproc: int | None = None,
                 name: str | None = None, nnodes: int = 1, node_rank: int = 0, rdzv_endpoint: str | None = None,
                 command: str | None = None, configs_dir: str = "configs", rdzv_id: str | None = None,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.root = root
        self.backend = gpu_backend
        self.owns_backend = gpu_backend is None  # opened by this screen: closed when it goes
        self.configs_dir = configs_dir
        given = list(configs or [])
        self.config_paths = given + [c for c in lp.find_configs(configs_dir) if c not in given]
        self.config: str | None = given[0] if given else None
        self.overrides = list(overrides or [])
        self.initial_gpus = gpus
        self.run_name = name
        self.multi = {"nnodes": nnodes, "node_rank": node_rank, "rdzv_endpoint": rdzv_endpoint, "rdzv_id": rdzv_id}
        self.command = command
        self.template: lp.CommandTemplate | None = None
        self.template_error: str | None = None
        if command:
            try:
                self.template = lp.load_template(command)
            except lp.LaunchError as exc:
                self.template_error = str(exc)
        self.state: lp.GpuState | None = None
        self.cpu = gpus == "cpu"
        self.cpu_nproc = nproc
        self.confirmed: set[str] = set()
        self.busy: dict[str, list[str]] = {}
        self.view = _View()
        self.launching = False
        self.generation = 0
        self.auto_names: dict[str | None, str] = {}
        self.cuda_note: str | None = None  # preflight.cuda_warning for the shown plan

    # --- layout ------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="body"):
            with Vertical(id="left"):
                found = Path(self.configs_dir).is_dir()
                yield Label(f"Config ({self.configs_dir}/)" if found else f"Config (no {self.configs_dir}/)",
                            classes="title")
                yield OptionList(*(self._short(c) for c in self.config_paths), id="configs")
            with _Pane(id="right"):
                yield Label("Settings", classes="title")
                yield Static("pick a config on the left (or type its path)", id="summary")
                yield Label("Overrides  --set key=value ...  (Enter applies)", classes="title")
                yield Input(shlex.join(self.overrides), placeholder="e.g. optimizer.lr=0.003 train.max_epochs=2",
                            id="overrides", compact=True)
                with Horizontal(id="name-row"):
                    yield Label("Run name ", classes="title")
                    yield Input(self.run_name or "", placeholder="default: <config>-<date>-<time>", id="name",
                                compact=True)
                yield Label("GPUs  (space selects; busy ones ask first; c: CPU)", classes="title")
                yield GpuList(id="gpus", compact=True)
                yield Static("sampling GPUs ...", id="device")
                yield Static("", id="scaling")
                yield Label("Command  (ctrl+l launches)", classes="title")
                yield Static("", id="preview")
                yield Label("Pre-flight", classes="title")
                yield Static("", id="checks")
        with Horizontal(id="path-row"):
            yield Label("Config path ", classes="title")
            yield Input(placeholder="or type the path of a YAML config (Enter)", id="config-path", compact=True)
        yield Static("", id="config-error")
        yield Footer()

    def _short(self, path: str) -> str:
        """A config as the picker shows it: relative to the configs folder when inside it, no .yaml."""
        try:
            shown = str(Path(path).resolve().relative_to(Path(self.configs_dir).resolve()))
        except ValueError:
            shown = path
        return shown[:-5] if shown.endswith(".yaml") else shown

    def on_mount(self) -> None:
        if self.config in self.config_paths:
            self.query_one("#configs", OptionList).highlighted = self.config_paths.index(self.config)
        if not self.config_paths:  # nothing to pick: type a path
            self.query_one("#config-path", Input).focus()
        self.sample_gpus()

    def on_unmount(self) -> None:
        if self.owns_backend and self.backend is not None:
            self.backend.close()

    # --- GPU sampling ------------------------------------------------------------------------
    @work(thread=True, exclusive=True, group="gpus")
    def sample_gpus(self) -> None:
        if self.backend is None:  # opened once (NVML init), reused by every refresh
            from epam_tui.core.gpus import open_backend

            self.backend = open_backend("auto")
        state = lp.gpu_state(self.backend)
        live = runs.live_runs(self.root)
        initial = self._initial_picks(state, live) if self.state is None and self.initial_gpus != "cpu" else None
        self.app.call_from_thread(self._show_gpus, state, live, initial)

    def _show_gpus(self, state: lp.GpuState, live: list[dict], initial: tuple[set[str], str | None] | None) -> None:
        self.state = state
        ours = lp.gpus_of_runs(live)
        widget = self.query_one("#gpus", GpuList)
        keep = set(widget.selected)
        if initial is not None:
            keep, problem = initial
            if problem:
                self.notify(problem, severity="warning")
        widget.clear_options()
        self.busy = {str(g.uuid): lp.busy_reasons(g, ours) for g in state.devices}
        for gpu in state.devices:
            widget.add_option(Selection(self._gpu_label(gpu), str(gpu.uuid), str(gpu.uuid) in keep))
        widget.ensure_highlight()  # the first Space toggles a GPU (with no row highlighted it did nothing)
        if not state.has_gpus:
            self.cpu = True
        self.replan()
        for gpu in state.devices:  # busy GPUs picked on the command line still ask
            if str(gpu.uuid) in keep and self.busy[str(gpu.uuid)] and str(gpu.uuid) not in self.confirmed:
                self._ask_busy(str(gpu.uuid), lp.describe_gpu(gpu))

    def _gpu_label(self, gpu: Any) -> str:
        reasons = self.busy.get(str(gpu.uuid))
        return lp.describe_gpu(gpu) + (f"  BUSY: {'; '.join(reasons)}" if reasons else "")

    def _ask_busy(self, uuid: str, label: str) -> None:
        """ConfirmBusy for one picked busy GPU: yes keeps it (confirmed), no deselects it."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.confirmed.add(uuid)
            else:
                self.query_one("#gpus", SelectionList).deselect(uuid)
            self.replan()

        self.app.push_screen(ConfirmBusy(label, self.busy[uuid]), answered)

    def _initial_picks(self, state: lp.GpuState, live: list[dict]) -> tuple[set[str], str | None]:
        """``--gpus`` from the command line, else the idle GPUs the recipe wants; with the reason when
        there are none. Runs in the sampling worker."""
        try:
            if self.initial_gpus not in (None, "auto"):
                return {str(g.uuid) for g in lp.pick_gpus(self.initial_gpus, state) or []}, None
            count = self.cpu_nproc or lp.recipe_gpus(self.config, self.overrides)
        except lp.LaunchError as exc:
            return set(), str(exc)
        try:
            return {str(g.uuid) for g in lp.auto_gpus(state, count, live) or []}, None
        except lp.LaunchError:
            return set(), "every GPU is busy: select one (space, then confirm) or press c to train on the CPU"

    # --- events ------------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#configs")
    def _config_picked(self, event: OptionList.OptionHighlighted) -> None:
        path = self.config_paths[event.option_index]
        if path != self.config:
            self.config = path
            self.replan()

    @on(Input.Submitted, "#config-path")
    def _config_typed(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path:
            self._check_config(path)

    @work(thread=True, exclusive=True, group="config-path")
    def _check_config(self, path: str) -> None:
        errors = lp.summarize(path).errors  # one line each: not found, invalid YAML, not a mapping ...
        self.app.call_from_thread(self._config_checked, path, errors[0] if errors else None)

    def _config_checked(self, path: str, error: str | None) -> None:
        self.query_one("#config-error", Static).update(escape(error) if error else "")
        if error:
            return
        configs = self.query_one("#configs", OptionList)
        if path not in self.config_paths:
            self.config_paths.append(path)
            configs.add_option(self._short(path))
        configs.highlighted = self.config_paths.index(path)  # picks it (OptionHighlighted)
        self.config = path
        self.replan()

    @on(Input.Submitted, "#overrides")
    @on(Input.Submitted, "#name")
    def _inputs_submitted(self, event: Input.Submitted) -> None:
        self._read_inputs()
        self.replan()

    @on(SelectionList.SelectionToggled, "#gpus")
    def _gpu_toggled(self, event: SelectionList.SelectionToggled) -> None:
        uuid = str(event.selection.value)
        if uuid in event.selection_list.selected and self.busy.get(uuid) and uuid not in self.confirmed:
            self._ask_busy(uuid, str(event.selection.prompt).split("  BUSY:")[0])

    @on(SelectionList.SelectedChanged, "#gpus")
    def _gpus_changed(self, event: SelectionList.SelectedChanged) -> None:
        if event.selection_list.selected:
            self.cpu = False
        self.replan()

    def launch_name(self) -> str:
        """The typed run name, else one default per config, fixed so the preview is what launches."""
        if self.run_name:
            return self.run_name
        if self.config not in self.auto_names:
            self.auto_names[self.config] = lp.default_name(self.config, self.template)
        return self.auto_names[self.config]

    def _read_inputs(self) -> None:
        text = self.query_one("#overrides", Input).value
        try:
            self.overrides = shlex.split(text)
        except ValueError as exc:
            self.notify(f"overrides: {exc}; check the quotes", severity="error")
        self.run_name = self.query_one("#name", Input).value.strip() or None

    # --- planning ----------------------------------------------------------------------------
    def picked(self) -> list[Any]:
        if self.cpu or self.state is None:
            return []
        chosen = set(self.query_one("#gpus", SelectionList).selected)
        return [g for g in self.state.devices if str(g.uuid) in chosen]

    def replan(self) -> None:
        if self.state is None:
            return
        self.generation += 1  # a slower, older planning pass must not overwrite this one
        self._plan(self.generation, self.config, list(self.overrides), self.picked(), self.cpu, self.cpu_nproc,
                   self.launch_name())

    @work(thread=True, exclusive=True, group="plan")
    def _plan(self, generation: int, config: str | None, overrides: list[str], picks: list[Any], cpu: bool,
              cpu_nproc: int | None, name: str | None) -> None:
        view = _View()
        try:
            template = self.template
            if template is None and config:
                view.summary = lp.summarize(config, overrides)
            if self.template_error:
                view.error = self.template_error
            elif config is None and template is None:
                view.error = "pick a config on the left (or type its path)"
            elif not cpu and not picks:
                view.error = "select at least one GPU (space), or press c to train on the CPU"
            else:
                live = runs.live_runs(self.root)
                view.plan = lp.make_plan(config, self.state, gpus=picks, nproc=cpu_nproc if cpu else None,
                                         overrides=overrides, name=name, root=self.root, live=live,
                                         template=template, **self.multi)
                view.checks = lp.preflight(view.plan, self.state, live, confirmed_busy=self._confirmed(picks, live))
            if view.plan is not None and view.summary is not None and view.summary.cfg is not None:
                base = lp.summarize(config, lp.without_lr_override(overrides)).cfg or view.summary.cfg
                view.scale = lp.scaling(base, view.plan.nproc, self.multi["nnodes"])
        except lp.LaunchError as exc:
            view.error = str(exc)
        self.app.call_from_thread(self._show_view, view, generation)

    def _confirmed(self, picks: list[Any], live: list[dict]) -> bool:
        """Whether the user confirmed every picked GPU that is busy (by others or by our live runs)."""
        ours = lp.gpus_of_runs(live)
        return all(str(g.uuid) in self.confirmed for g in picks if lp.busy_reasons(g, ours))

    def _show_view(self, view: _View, generation: int) -> None:
        if generation != self.generation:
            return
        self.view = view
        self.query_one("#name", Input).placeholder = f"default: {view.plan.name}" if view.plan else ""
        self.query_one("#summary", Static).update(self._summary_text(view.summary))
        self.query_one("#device", Static).update(self._device_text(view))
        self.query_one("#scaling", Static).update(self._scaling_text(view))
        self.query_one("#checks", Static).update(self._checks_text(view))
        preview = view.plan.preview() if view.plan else (view.error or "")
        self.query_one("#preview", Static).update(escape(preview))
        self.cuda_note = None
        if view.plan is not None and view.plan.gpus:
            self._check_cuda(view.plan, generation)

    @work(thread=True, exclusive=True, group="cuda")
    def _check_cuda(self, plan: lp.LaunchPlan, generation: int) -> None:
        """GPUs picked but the venv's torch has no CUDA (asked in a subprocess, once per interpreter)."""
        note = preflight.cuda_warning(plan)
        self.app.call_from_thread(self._show_cuda, note, generation)

    def _show_cuda(self, note: str | None, generation: int) -> None:
        if generation != self.generation or note == self.cuda_note:
            return
        self.cuda_note = note
        self.query_one("#device", Static).update(self._device_text(self.view))

    # --- texts -------------------------------------------------------------------------------
    def _summary_text(self, summary: lp.ConfigSummary | None) -> str:
        if summary is None:
            return f"foreign command: {escape(self.command)}" if self.command else "pick a config on the left (or type its path)"
        if summary.errors:
            return "\n".join(f"[red]x {escape(e)}[/red]" for e in summary.errors)
        return "\n".join(f"{label:>14}  {escape(value)}" for label, value in summary.rows())

    def _device_text(self, view: _View) -> str:
        state = self.state
        if state is None:
            return "sampling GPUs ..."
        notes = "".join(f"\n[dim]{escape(n)}[/dim]" for n in state.notes)
        if not state.has_gpus:
            procs = view.plan.nproc if view.plan else (self.cpu_nproc or 1)
            return (f"[yellow]No GPU ({escape(state.error or 'none found')}).[/yellow] Training runs on the CPU: "
                    f"{procs} process{'es' if procs > 1 else ''} on Gloo (+/- to change).{notes}")
        if self.cpu:
            procs = view.plan.nproc if view.plan else (self.cpu_nproc or 1)
            return f"CPU chosen: {procs} process{'es' if procs > 1 else ''} on Gloo (+/- to change; c for GPUs).{notes}"
        if view.plan and view.plan.gpus:
            cuda = f"\n[yellow]{escape(self.cuda_note)}[/yellow]" if self.cuda_note else ""
            return f"{len(view.plan.gpus)} GPU(s): CUDA_VISIBLE_DEVICES={','.join(view.plan.gpu_tokens)}{cuda}{notes}"
        picked = self.picked()
        if picked:
            return f"GPU {','.join(str(g.index) for g in picked)} picked{notes}"
        return f"no GPU selected{notes}"

    def _scaling_text(self, view: _View) -> str:
        scale = view.scale
        if scale is None:
            return ""
        text = f"lr scaling: {escape(scale.describe())}"
        if scale.differs and not self._scaling_applied(scale):
            text += "  [b]a[/b] applies it"
        elif scale.differs:
            text += "  (applied)"
        return text

    def _scaling_applied(self, scale: lp.Scaling) -> bool:
        return scale.override in self.overrides

    def _checks_text(self, view: _View) -> str:
        if not view.checks:
            return escape(view.error or "")
        return "\n".join(f"[green]ok[/green] {escape(c.message)}" if c.ok else f"[red]x  {escape(c.message)}[/red]"
                         for c in view.checks)

    # --- actions -----------------------------------------------------------------------------
    def action_apply_scaling(self) -> None:
        scale = self.view.scale
        if scale is None or not scale.differs:
            self.notify("the total batch matches the recipe: nothing to scale")
            return
        self._read_inputs()
        self.overrides = lp.apply_scaling(self.overrides, scale)
        self.query_one("#overrides", Input).value = shlex.join(self.overrides)
        self.notify(f"set {scale.override}")
        self.replan()

    def action_toggle_cpu(self) -> None:
        if self.state is not None and not self.state.has_gpus:
            self.notify("no GPU on this machine: the run trains on the CPU")
            return
        self.cpu = not self.cpu
        if self.cpu:
            self.query_one("#gpus", SelectionList).deselect_all()
        self.replan()

    def action_cpu_procs(self, delta: int) -> None:
        if not self.cpu:
            return
        current = self.view.plan.nproc if self.view.plan else (self.cpu_nproc or 1)
        self.cpu_nproc = max(1, current + delta)
        self.replan()

    def action_refresh_gpus(self) -> None:
        self.sample_gpus()

    def action_back(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#configs", OptionList).focus()
            return
        self.dismiss(None)

    def action_launch(self) -> None:
        self._read_inputs()
        if self.launching or self.state is None:
            return
        if self.cuda_note and self.picked():
            self.notify(self.cuda_note, severity="warning", timeout=10)
        self.launching = True
        self._launch(self.config, list(self.overrides), self.picked(), self.cpu, self.cpu_nproc, self.launch_name())

    @work(thread=True, exclusive=True, group="launch")
    def _launch(self, config: str | None, overrides: list[str], picks: list[Any], cpu: bool,
                cpu_nproc: int | None, name: str | None) -> None:
        try:
            if not cpu and not picks:
                raise lp.LaunchError("select at least one GPU (space), or press c to train on the CPU")
            if self.template_error:
                raise lp.LaunchError(self.template_error)
            live = runs.live_runs(self.root)
            plan = lp.make_plan(config, self.state, gpus=picks, nproc=cpu_nproc if cpu else None,
                                overrides=overrides, name=name, root=self.root, live=live, template=self.template,
                                **self.multi)
            rec = runs.launch(plan, self.state, confirmed_busy=self._confirmed(picks, live))
        except runs.Refused as exc:
            self.app.call_from_thread(self._refused, exc.checks)
            return
        except (lp.LaunchError, runs.RunError) as exc:
            self.app.call_from_thread(self._refused, [lp.Check("launch", False, str(exc))])
            return
        self.app.call_from_thread(self._launched, rec["work_dir"])

    def _refused(self, checks: list[lp.Check]) -> None:
        self.launching = False
        self.query_one("#checks", Static).update(self._checks_text(_View(checks=checks)))
        self.notify("launch refused: " + "; ".join(c.message for c in checks), severity="error", timeout=8)

    def _launched(self, run_dir: str) -> None:
        self.launching = False
        self.auto_names.clear()  # the next launch gets a fresh default name
        self.notify(f"launched {Path(run_dir).name}")
        if hasattr(self.app, "open_run"):
            self.app.open_run(run_dir)
        else:
            self.dismiss(run_dir)
