"""``epam-tui launch``: pick a config and GPUs in the TUI, or launch headless / print the command.

    epam-tui launch [CONFIG ...] [--gpus 1,2|cpu|all] [--nproc N] [--set k=v ...] [--dry-run]
                    [--headless] [--name NAME] [--root work_dirs] [--yes]
                    [--nnodes N --node-rank R --rdzv-endpoint HOST:PORT [--rdzv-id ID]] [--slurm PARTITION]
                    [--command TEMPLATE]
    epam-tui launch --stop RUN_DIR | --restart RUN_DIR [--headless] | --follow RUN_DIR

Without ``--headless`` (and with a TTY) it opens the launch screen. ``--dry-run`` prints the
environment and argv that would run; it exits 0, or 2 when pre-flight would refuse (the reasons on
stderr). ``--headless`` launches, follows the run with
progress lines and exits with the run's exit code; Ctrl-C detaches (the run goes on).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from epam_tui.core import launch as lp
from epam_tui.core.launch import checks as preflight
from epam_tui.core.launch import rendezvous
from epam_tui.core import runs
from epam_tui.core.procs import tail_lines
from epam_tui.core.rundir import SCALARS_JSONL, STATUS_JSON, STDOUT_LOG


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="epam-tui launch", description="pick a config and GPUs, launch training")
    p.add_argument("configs", nargs="*", metavar="CONFIG", help="config file(s), e.g. configs/epam_synthetic_demo.yaml")
    p.add_argument("--gpus", help="GPUs by NVML index or UUID (1,2), 'all', 'cpu', or 'auto' "
                   "(the default: as many idle GPUs as the recipe uses, else the CPU)")
    p.add_argument("--nproc", type=int,
                   help="processes per node (default: one per GPU; on CPU the recipe's train.gpus)")
    p.add_argument("--set", dest="overrides", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                   help="config overrides, e.g. --set optimizer.lr=0.003 train.max_epochs=2")
    p.add_argument("--dry-run", action="store_true", help="print the environment and argv, launch nothing")
    p.add_argument("--headless", action="store_true", help="launch without a TTY and follow the run")
    p.add_argument("--name", help="run name (default: <config>-<date>-<time>)")
    p.add_argument("--root", default="work_dirs", help="where run directories go (default: work_dirs)")
    p.add_argument("--yes", action="store_true", help="launch on busy GPUs without asking")
    p.add_argument("--nnodes", type=int, default=1, help="nodes (multi-node: passed to torchrun)")
    p.add_argument("--node-rank", type=int, default=0, help="this node's rank (multi-node)")
    p.add_argument("--rdzv-endpoint", help="HOST:PORT of the rendezvous on node 0 (multi-node)")
    p.add_argument("--rdzv-id", help="rendezvous id, the same on every node (default: the run --name)")
    p.add_argument("--slurm", metavar="PARTITION", help="write an sbatch script for PARTITION and submit it "
                   "(with --headless: follow the job until it ends)")
    p.add_argument("--command", metavar="TEMPLATE",
                   help="a foreign command instead of epam train: a configs/launch/ name or YAML, or a line like "
                        "'bash tools/dist_train.sh {config} {nproc} --work-dir {work_dir}'")
    p.add_argument("--stop", metavar="RUN_DIR", help="stop a run: SIGINT, then SIGTERM, then SIGKILL")
    p.add_argument("--restart", metavar="RUN_DIR", help="start a stopped or failed run again with --resume auto")
    p.add_argument("--follow", metavar="RUN_DIR", help="follow a running run headless (progress lines, its exit code)")
    p.add_argument("--grace", type=float, default=30.0, help="seconds between SIGINT and SIGTERM for --stop")
    return p


def _fail(message: str, code: int = 2) -> int:
    print(f"epam-tui launch: {message}", file=sys.stderr)
    return code


def describe_device(plan: lp.LaunchPlan, state: lp.GpuState) -> str:
    """The plain sentence about where the run trains."""
    procs = f"{plan.nproc} process{'es' if plan.nproc > 1 else ''}"
    if plan.gpus:
        indices = ",".join(str(g.index) for g in plan.gpus)
        return f"GPUs {indices} ({procs}, CUDA_VISIBLE_DEVICES={','.join(plan.gpu_tokens)})"
    why = f"no GPU: {state.error}" if state.error else "CPU chosen"
    return f"CPU: {procs} on Gloo ({why})"


def _plans(args: argparse.Namespace, state: lp.GpuState) -> list[lp.LaunchPlan]:
    template = lp.load_template(args.command) if args.command else None
    configs = args.configs or ([None] if template else [])
    if not configs:
        raise lp.LaunchError("give a CONFIG (e.g. configs/epam_synthetic_demo.yaml), "
                             "or run without --headless/--dry-run to pick one")
    if args.name and len(configs) > 1:
        raise lp.LaunchError("--name names one run; give one CONFIG with it")
    if args.nnodes > 1 and not args.name and not args.slurm:  # one run dir, named the same on every node
        raise lp.LaunchError(rendezvous.NAME_NEEDED)
    live = runs.live_runs(args.root)
    plans = []
    for config in configs:
        nproc = args.nproc
        if nproc is None and args.slurm:
            nproc = lp.recipe_gpus(config, args.overrides)
        plan = lp.make_plan(config, state, gpus=None if args.slurm else args.gpus, nproc=nproc,
                            overrides=args.overrides, name=args.name, root=args.root, live=live, template=template,
                            nnodes=args.nnodes, node_rank=args.node_rank, rdzv_endpoint=args.rdzv_endpoint,
                            rdzv_id=args.rdzv_id, slurm=bool(args.slurm))
        if any(p.port and p.port == plan.port for p in plans):  # dry-run of several configs: distinct ports
            plan.port = lp.choose_port([p.port for p in plans if p.port] + [r.get("port") for r in live])
        plans.append(plan)
    return plans


def dry_run(plans: list[lp.LaunchPlan], state: lp.GpuState, slurm: bool = False) -> int:
    """Print each plan; exit 2 when pre-flight would refuse any of them (the reasons on stderr)."""
    refused = False
    for plan in plans:
        print(f"# run dir: {plan.run_dir}  ({describe_device(plan, state)})")
        print(plan.preview())
        checks = preflight.slurm_checks(plan) if slurm else lp.preflight(plan, state, runs.live_runs(plan.root))
        for check in lp.failures(checks):
            refused = True
            print(f"epam-tui launch: pre-flight would refuse ({check.key}): {check.message}", file=sys.stderr)
        if not slurm and (warning := preflight.cuda_warning(plan)):
            print(f"epam-tui launch: warning: {warning}", file=sys.stderr)
    return 2 if refused else 0


# --------------------------------------------------------------------------------------------
# following a run headless


def _new_lines(path: Path, offset: int) -> tuple[list[str], int]:
    """Complete lines appended to ``path`` since ``offset`` (a partial last line waits)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read()
    except OSError:
        return [], offset
    end = data.rfind(b"\n") + 1
    return data[:end].decode("utf-8", "replace").splitlines(), offset + end


def progress_line(record: dict, status: dict | None) -> str | None:
    """One progress line for a scalars.jsonl record (train iteration, val, train epoch)."""
    status = status or {}
    epochs = status.get("max_epochs")
    ep = f"[epoch {record.get('epoch', '?')}{f'/{epochs}' if epochs else ''}]"
    if "lr" in record:
        ipe = status.get("iters_per_epoch")
        it = record.get("iter", record.get("step"))
        if ipe and isinstance(it, int) and isinstance(record.get("epoch"), int):
            it = f"{it - (record['epoch'] - 1) * ipe}/{ipe}"
        return f"{ep} iter {it}  loss {record.get('loss', float('nan')):.4f}  lr {record['lr']:.3e}"
    if "acc/top1" in record:
        ep = f"[epoch {record.get('step', '?')}{f'/{epochs}' if epochs else ''}]"
        return f"{ep} val top1 {100 * record['acc/top1']:.1f}%  top5 {100 * record.get('acc/top5', 0):.1f}%"
    if record.get("resume"):
        return f"{ep} resumed from iteration {record.get('iter', '?')}"
    if "train/loss" in record:
        return f"{ep} train loss {record['train/loss']:.4f}  top1 {100 * record.get('train/top1', 0):.1f}%"
    return None


def follow(run_dir: str | Path, poll: float = 1.0, out: Callable[[str], Any] = print) -> int:
    """Print progress until the run ends; return its exit code (1 when unknown)."""
    run_dir = Path(run_dir)
    rec = runs.read_run(run_dir) or {}
    ours = rec.get("source", "epam") == "epam"
    stream = run_dir / (SCALARS_JSONL if ours else STDOUT_LOG)
    offset = 0
    queue_state = None
    while True:
        rec = runs.refresh(run_dir) or rec
        ended = rec.get("status") in runs.ENDED
        slurm = rec.get("slurm") or {}
        if slurm.get("state") and slurm.get("state") != queue_state:  # PENDING -> RUNNING -> COMPLETED
            queue_state = slurm["state"]
            why = f" ({slurm['reason']})" if slurm.get("reason") else ""
            out(f"Slurm job {slurm.get('job_id')}: {queue_state}{why}")
        lines, offset = _new_lines(stream, offset)
        status = runs.read_json(run_dir / STATUS_JSON)
        for text in _render(lines, status, ours):
            out(text)
        if ended:
            break
        time.sleep(poll)
    if ours and rec.get("status") == "failed":  # why: the end of the processes' own output
        for text in tail_lines(run_dir / runs.STDOUT_LOG, 15):
            out(f"| {text}")
    code = rec.get("exit_code")
    out(f"{rec.get('name')}: {rec.get('status')} (exit code {code}{', ' + rec['signal'] if rec.get('signal') else ''})"
        f"  {run_dir}")
    return int(code) if isinstance(code, int) else 1


def _render(lines: list[str], status: dict | None, ours: bool) -> Iterator[str]:
    for line in lines:
        if not ours:
            yield f"| {line}"
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        text = progress_line(record, status) if isinstance(record, dict) else None
        if text:
            yield text


def headless(plan: lp.LaunchPlan, state: lp.GpuState, yes: bool) -> int:
    warning = preflight.cuda_warning(plan)
    if warning:
        print(f"epam-tui launch: warning: {warning}", file=sys.stderr, flush=True)
    try:
        rec = runs.launch(plan, state, confirmed_busy=yes)
    except runs.Refused as exc:
        for check in exc.checks:
            print(f"epam-tui launch: refused ({check.key}): {check.message}", file=sys.stderr)
        return 2
    print(f"launched {rec['name']} on {describe_device(plan, state)}")
    print(f"  {plan.preview()}")
    print(f"  run dir {plan.run_dir}; the run outlives this command (Ctrl-C detaches)", flush=True)
    return _follow_detachable(plan.run_dir)


def _follow_detachable(run_dir: Path) -> int:
    try:
        return follow(run_dir, out=lambda s: print(s, flush=True))
    except KeyboardInterrupt:
        print(f"\ndetached: the run goes on; stop it with `epam-tui launch --stop {run_dir}`, "
              f"watch it with `epam-tui monitor {run_dir.parent}`")
        return 130


# --------------------------------------------------------------------------------------------
# the TUI


def launch_args(args: argparse.Namespace) -> dict[str, Any]:
    """LaunchScreen keyword arguments from the command line (``EpamTuiApp(launch_args=...)``)."""
    return {"configs": args.configs or None, "overrides": args.overrides or None, "gpus": args.gpus,
            "nproc": args.nproc, "name": args.name, "nnodes": args.nnodes, "node_rank": args.node_rank,
            "rdzv_endpoint": args.rdzv_endpoint, "command": args.command,
            **({"rdzv_id": args.rdzv_id} if args.rdzv_id else {})}


def open_tui(args: argparse.Namespace) -> int:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return _fail("no terminal: add --headless to launch and follow, or --dry-run to print the command")
    try:
        from epam_tui.ui.app import EpamTuiApp
    except ImportError:
        EpamTuiApp = None
    if EpamTuiApp is not None:
        EpamTuiApp(args.root, start="launch", launch_args=launch_args(args)).run()
        return 0
    from textual.app import App

    from epam_tui.ui.screens.launch import LaunchScreen

    class LaunchOnly(App):
        """The launch screen alone (used while the full app is not installed)."""

        def on_mount(self) -> None:
            self.push_screen(LaunchScreen(root=args.root, **launch_args(args)), callback=self.exit)

    run_dir = LaunchOnly().run()
    if run_dir:
        print(f"launched into {run_dir}; watch it with `epam-tui monitor {Path(run_dir).parent}`")
    return 0


# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.stop:
            rec = runs.stop(args.stop, grace=args.grace)
            print(f"{rec.get('name')}: {rec.get('status')} (exit code {rec.get('exit_code')})")
            return 0
        if args.follow:
            if runs.read_run(args.follow) is None:
                return _fail(f"{args.follow}: no run.json; give a run directory started by epam-tui")
            return _follow_detachable(Path(args.follow))
        if args.restart:
            rec = runs.restart(args.restart, confirmed_busy=args.yes)
            print(f"restarted {rec['name']} with --resume auto: {rec.get('display')}", flush=True)
            return _follow_detachable(Path(args.restart)) if args.headless else 0
        if not (args.dry_run or args.headless or args.slurm):
            return open_tui(args)
        state = lp.gpu_state() if args.gpus != "cpu" and not args.slurm else lp.GpuState([])
        for note in state.notes:
            print(f"note: {note}", file=sys.stderr)
        plans = _plans(args, state)
        if args.dry_run:
            return dry_run(plans, state, slurm=bool(args.slurm))
        if args.slurm:
            if args.headless and len(plans) > 1:
                return _fail("--headless follows one run; give one CONFIG (submit the others separately)")
            for plan in plans:
                rec = runs.submit_slurm(plan, args.slurm, gpus=args.gpus != "cpu")
                print(f"submitted {plan.name}: Slurm job {rec['slurm']['job_id']} ({rec['slurm']['script']})",
                      flush=True)
            return _follow_detachable(plans[0].run_dir) if args.headless else 0
        if len(plans) > 1:
            return _fail("--headless follows one run; give one CONFIG (launch the others separately)")
        return headless(plans[0], state, args.yes)
    except runs.Refused as exc:  # pre-flight of --slurm or --restart
        for check in exc.checks:
            print(f"epam-tui launch: refused ({check.key}): {check.message}", file=sys.stderr)
        return 2
    except (lp.LaunchError, runs.RunError) as exc:
        return _fail(str(exc))
