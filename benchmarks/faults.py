"""Fault probes from outside: bad input and kills thrown at the real commands, each outcome classified.

Every probe runs the installed commands as subprocesses (``epam config show|check``, ``epam train``,
``epam-tui launch --dry-run|--slurm|--restart|--headless``, ``epam-tui status|checklist|diagnose``, the
monitor ``epam-tui ROOT`` in a pseudo-terminal), each under a timeout and a 3 GiB address-space limit
(``ulimit -v``), in a scratch directory of its own, and ends as:

- survived: the expected behaviour (a clean one-line error with a non-zero exit, or correct output);
- traceback: "Traceback" on stdout or stderr;
- hang: the timeout passed (the process group is killed);
- lost: a checkpoint/epoch/best file gone or unloadable, or a good run's row missing beside a bad one;
- wrong: anything else unexpected (exit 0 where a refusal was due, several lines of error, a payload
  that ran, file modes that ignore the umask).

    python benchmarks/faults.py               # every probe (2-4 minutes on 2 busy cores)
    python benchmarks/faults.py --quick       # a subset, a few kills (about a minute): what CI runs
    python benchmarks/faults.py --write-doc   # full run, then docs/reliability.md from its table

Prints the table, the command and output of every probe that did not survive, and one ``BENCH`` line
per probe class (value: survived, reference: tried). Exit code 0 unless the script itself fails;
``--strict`` also exits 1 when a probe did not survive.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _faults_lib import (  # noqa: E402  (benchmarks/ is not a package)
    ENV, EPAM, FIXTURES, PY, ROOT, TUI, VERDICTS, Outcome, Res, accepted, bomb, call, clean, disk_full,
    kill_during_save, lines, markers, monitor, refused, special, umask_probe, verdict, wrapper_kill, write_config)

# bad config files: name -> (text, or a function making the file), quick?
CONFIGS: dict[str, tuple[object, bool]] = {
    "alias bomb (9^10 nodes)": (bomb(), True),
    "recursive alias": ("a: &a [*a]\n", False),
    "50 MB file": (lambda p, t: p.write_bytes(b"big:\n" + b"- 1\n" * (50 << 18)), True),
    "5,000-level list nesting": ("a: " + "[" * 5000 + "]" * 5000 + "\n", True),
    "5,000-level map nesting": ("a: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n", False),
    "_base_: /dev/zero": ("_base_: /dev/zero\n", True),
    "_base_: a FIFO": (lambda p, t: (os.mkfifo(t / "fifo.yaml"), p.write_text(f"_base_: {t / 'fifo.yaml'}\n")), True),
    "config is a FIFO": (special("fifo"), True),
    "config links to /dev/zero": (special("zero"), False),
    "config is a directory": (special("dir"), False),
    "missing file": (lambda p, t: None, False),
    "binary garbage": (lambda p, t: p.write_bytes(random.Random(1).randbytes(4096)), True),
    "invalid UTF-8": (b"train:\n  max_epochs: \xff\xfe\n", False),
    "top level is a list": ("- 1\n- 2\n", False),
    "YAML syntax error": ("train:\n\tmax_epochs: 2\n  x: [\n", False),
    "!!python/object tag": ("x: !!python/object/apply:os.system ['touch MARK_tag']\n", True),
    "_base_ cycle": (lambda p, t: ((t / "b.yaml").write_text(f"_base_: {p}\n"),
                                   p.write_text(f"_base_: {t / 'b.yaml'}\n")), False),
    "_base_ missing": ("_base_: /nonexistent/base.yaml\n", False),
    "lr 1e999": ("+optimizer:\n  lr: 1e999\n", True),
    "max_epochs 10**29": ("+train:\n  max_epochs: 100000000000000000000000000000\n", True),
    "max_epochs 'ten'": ("+train:\n  max_epochs: ten\n", False),
    "max_epochs -3": ("+train:\n  max_epochs: -3\n", False),
    "num_classes 0": ("+model:\n  num_classes: 0\n", False),
}
CONFIG_COMMANDS: dict[str, tuple[Callable[[Path, Path], list[str]], bool]] = {
    "config show": (lambda c, t: [*EPAM, "config", "show", str(c)], True),
    "config check": (lambda c, t: [*EPAM, "config", "check", str(c)], False),
    "launch --dry-run": (lambda c, t: [*TUI, "launch", str(c), "--dry-run", "--gpus", "cpu", "--root", str(t / "wd"),
                                       "--name", "p"], True),
    "train": (lambda c, t: [*EPAM, "train", str(c), "--work-dir", str(t / "wd")], False),
}


def make_bad_config(spec: object, tmp: Path) -> Path:
    path = tmp / "bad.yaml"
    if callable(spec):
        spec(path, tmp)
    elif isinstance(spec, bytes):
        path.write_bytes(spec)
    elif spec.startswith("+"):  # a valid config with this section added
        return write_config(tmp, spec[1:], name="bad.yaml")
    else:
        path.write_text(spec)
    return path


# --set / --name values: (value, expectation); names go to launch --dry-run
SETS = [("train.max_epochs=100000000000000000000000000000", refused, True), ("train.max_epochs=1e999", refused, True),
        ("optimizer.lr=nan", refused, True), ("optimizer.lr=inf", refused, False), ("optimizer.lr=-1", refused, False),
        ("optimizer.lr=1e-3", accepted("0.001"), True), ("noequals", refused, True), ("=5", refused, False),
        ("train..max_epochs=2", refused, False), ("train.max_epochs=[1, 2]", refused, False),
        ("train=5", refused, True), ("train.max_epochs=&a [*a]", refused, False),
        ("model.num_classes=-1", refused, False), ("train.max_epochs=true", refused, False),
        ("data.ann_file=$(touch MARK_set)", clean, True), ("work_dir=" + "x" * 100_000, clean, False)]
NAMES = [("../escape", refused, True), ("a/b", refused, False), ("..", refused, False), (".", refused, False),
         ("", clean, True), ("x\ny", refused, True), ("run\x1b[31mred", refused, False), ("x" * 300, clean, False),
         ("-rf", clean, False), ("$(touch MARK_name)", clean, True), ("a;touch MARK_semi", clean, False),
         ("run-été", clean, False)]


# ------------------------------------------------------------------------------------------- run dirs
GOOD_KEYS = ("state", "epoch", "max_epochs", "step", "total_steps", "best_top1")
_good: dict[str, dict] = {}
_good_lock = threading.Lock()


def good_rows(base: Path) -> dict[str, dict]:
    """The two good runs' rows as `epam-tui status --json` shows them alone (once per benchmark run)."""
    with _good_lock:
        if _good:
            return _good
        root = base / "good-only"
        shutil.copytree(FIXTURES / "demo-finished", root / "good-a")
        shutil.copytree(FIXTURES / "demo-running", root / "good-b")
        res = call([*TUI, "status", str(root), "--json"], base, 120)
        rows = {r["name"]: {k: r.get(k) for k in GOOD_KEYS} for r in json.loads(res.out)}
        _good.update(rows if set(rows) == {"good-a", "good-b"} else {"error": rows})
        return _good


def rows_kept(res: Res, tmp: Path) -> tuple[str | None, str | None]:
    """`status --json` over the two good runs and one bad one: (wrong, lost)."""
    if res.rc != 0:
        return f"exit {res.rc}", None
    try:
        rows = {r["name"]: {k: r.get(k) for k in GOOD_KEYS} for r in json.loads(res.out)}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"output is not the JSON rows ({exc!r})", None
    changed = [n for n, row in good_rows(tmp.parent).items() if rows.get(n) != row]
    if changed:
        return None, f"good runs missing or changed beside the bad one: {changed}: {[rows.get(n) for n in changed]}"
    return (None if "bad" in rows else "the bad run has no row"), None


STATUS_VARIANTS: dict[str, tuple[object, bool]] = {  # patched over demo-finished's status.json, or raw text
    'pid "abc" (running)': ({"state": "running", "pid": "abc"}, True),
    'epoch "x"': ({"epoch": "x"}, True),
    'updated "yesterday"': ({"state": "running", "updated": "yesterday"}, True),
    'iters_per_epoch "y"': ({"iters_per_epoch": "y"}, True),
    "max_epochs 1e999": ('{"state": "running", "epoch": 1, "max_epochs": 1e999, "iter": 3}', True),
    "max_epochs 10**29": ({"max_epochs": 10**29}, False),
    "a list": ("[1, 2, 3]", True),
    "NaN epoch": ('{"state": "finished", "epoch": NaN, "iter": NaN}', True),
    "state 123": ({"state": 123}, False),
    'best "x"': ({"best": "x"}, False),
    "best with string fields": ({"best": {"metric": 5, "value": "w", "epoch": "z"}}, False),
    'create_time "now"': ({"state": "running", "pid": 1, "create_time": "now"}, False),
    "iter -5": ({"iter": -5}, False),
    "all null": ({k: None for k in ("state", "epoch", "iter", "max_epochs", "iters_per_epoch", "pid", "best")}, False),
    "100,000-level nesting": ("[" * 100_000 + "]" * 100_000, False),
    "truncated JSON": ('{"state": "running", "epoch": 1, "it', True),
    "binary garbage": (random.Random(2).randbytes(2048), True),
    "empty": ("", False),
    "10 MB string": ('{"state": "' + "x" * (10 << 20) + '"}', False),
}
FILE_VARIANTS: dict[str, tuple[str, object, bool]] = {  # file -> how it is corrupted
    "status.json a FIFO": ("status.json", special("fifo"), True),
    "status.json -> /dev/zero": ("status.json", special("zero"), False),
    "status.json a directory": ("status.json", special("dir"), False),
    "train.log a FIFO": ("train.log", special("fifo"), True),
    "train.log -> /dev/zero": ("train.log", special("zero"), True),
    "train.log sparse 20 GB": ("train.log", special("sparse"), False),
    "scalars.jsonl sparse 20 GB": ("scalars.jsonl", special("sparse"), True),
    "scalars.jsonl garbage": ("scalars.jsonl", random.Random(3).randbytes(8192), False),
    "scalars.jsonl bad values": ("scalars.jsonl", '{"step": "x", "loss": NaN}\n[1]\n{"step": 1e999, "lr": "a"}\n',
                                 True),
    "config.yaml alias bomb": ("config.yaml", bomb(), True),
    "config.yaml a FIFO": ("config.yaml", special("fifo"), False),
    "run.json garbage": ("run.json", random.Random(4).randbytes(1024), True),
    'run.json pid "abc"': ("run.json", '{"name": "bad", "status": "running", "pid": "abc", "argv": 5}', False),
    "exit.json garbage": ("exit.json", '{"exit_code": "zero", "ended": []}', False),
    "checklist.yaml alias bomb": ("checklist.yaml", bomb(), True),
}
MM_CONFIGS: dict[str, tuple[str, bool]] = {  # an MMEngine work_dir's dumped config.py
    "chained powers (5 x **64)": ("a = 10\nb = a ** 64\nc = b ** 64\nd = c ** 64\ne = d ** 64\nf = e ** 64\n"
                                  "train_cfg = dict(max_epochs=f)\n", True),
    "40 chained squarings": ("x0 = 10\n" + "".join(f"x{i} = x{i - 1} * x{i - 1}\n" for i in range(1, 41))
                             + "train_cfg = dict(max_epochs=x40)\n", False),
    "9**9**9": ("train_cfg = dict(max_epochs=9 ** 9 ** 9)\n", False),
    "shift 1 << 10**9": ("n = 10 ** 9\ntrain_cfg = dict(max_epochs=1 << n)\n", False),
    "string * 10**10": ("s = 'x' * 10 ** 10\ntrain_cfg = dict(max_epochs=8)\n", True),
    "list * 10**9": ("s = [0] * 10 ** 9\ntrain_cfg = dict(max_epochs=8)\n", False),
    "5,000 parentheses": ("train_cfg = dict(max_epochs=" + "(" * 5000 + "1" + ")" * 5000 + ")\n", False),
    "__import__ call": ("x = __import__('os').system('touch MARK_mm')\ntrain_cfg = dict(max_epochs=8)\n", True),
}


def run_root(tmp: Path) -> Path:
    root = tmp / "runs"
    shutil.copytree(FIXTURES / "demo-finished", root / "good-a")
    shutil.copytree(FIXTURES / "demo-running", root / "good-b")
    shutil.copytree(FIXTURES / "demo-finished", root / "bad")
    return root


def corrupt_status(spec: object) -> Callable[[Path], Path]:
    def setup(tmp: Path) -> Path:
        root = run_root(tmp)
        path = root / "bad" / "status.json"
        if isinstance(spec, dict):
            path.write_text(json.dumps({**json.loads(path.read_text()), **spec}))
        else:
            path.write_bytes(spec if isinstance(spec, bytes) else spec.encode())
        return root
    return setup


def corrupt_file(name: str, spec: object) -> Callable[[Path], Path]:
    def setup(tmp: Path) -> Path:
        root = run_root(tmp)
        path = root / "bad" / name
        if callable(spec):
            spec(path, tmp)
        else:
            path.write_bytes(spec if isinstance(spec, bytes) else spec.encode())
        return root
    return setup


def mm_work_dir(text: str) -> Callable[[Path], Path]:
    def setup(tmp: Path) -> Path:
        root = run_root(tmp)
        shutil.rmtree(root / "bad")
        ts = root / "bad" / "20240101_000000"
        (ts / "vis_data").mkdir(parents=True)
        (ts / "vis_data" / "config.py").write_text(text)
        (root / "bad" / "cfg.py").write_text(text)
        (ts / "20240101_000000.log").write_text(
            "2024/01/01 00:00:01 - mmengine - INFO - Epoch(train)  [1][ 10/100]  lr: 1.0000e-01  eta: 0:10:00  "
            "time: 0.1000  data_time: 0.0100  memory: 100  loss: 2.0000  top1_acc: 0.1000\n")
        (ts / "vis_data" / "scalars.json").write_text('{"lr": 0.1, "loss": 2.0, "epoch": 1, "iter": 10, "step": 10}\n')
        return root
    return setup


def run_dir_probes(cls: str, name: str, setup: Callable[[Path], Path], quick: bool, full: bool) -> list[Probe]:
    """status --json (good rows kept), checklist (and diagnose in full mode) on the bad run."""
    out = [Probe(cls, f"{name}: status", lambda t: [*TUI, "status", str(setup(t)), "--json"], rows_kept, quick),
           Probe(cls, f"{name}: checklist", lambda t: [*TUI, "checklist", str(setup(t) / "bad")], clean, quick)]
    if full:
        out.append(Probe(cls, f"{name}: status (text)", lambda t: [*TUI, "status", str(setup(t))], rows_listed, False))
        out.append(Probe(cls, f"{name}: diagnose", lambda t: [*TUI, "diagnose", str(setup(t) / "bad")], clean, False))
    return out


def rows_listed(res: Res, tmp: Path) -> tuple[str | None, str | None]:
    """Plain `status`: exit 0 and a line for each of the three runs: (wrong, lost)."""
    names = {line.split()[0] for line in lines(res.out)[1:] if line.split()}
    if res.rc != 0:
        return f"exit {res.rc}", None
    missing = sorted({"good-a", "good-b"} - names)
    return (None if "bad" in names else "the bad run has no line"), (f"no line for {missing}" if missing else None)


# --------------------------------------------------------------------------------------------- probes
@dataclass
class Probe:
    cls: str
    name: str
    argv: Callable[[Path], list[str]] | None  # built in the probe's scratch dir (setup happens here)
    expect: Callable[[Res, Path], object] = refused  # -> wrong reason | None, or (wrong, lost)
    quick: bool = True
    scenario: Callable[[Path, bool], list[Outcome]] | None = None  # multi-step probes
    timeout: float = 30

    def run(self, tmp: Path, quick: bool) -> list[Outcome]:
        if self.scenario is not None:
            return self.scenario(tmp, quick)
        res = call(self.argv(tmp), tmp, self.timeout)
        got = self.expect(res, tmp)
        wrong, lost = got if isinstance(got, tuple) else (got, None)
        v, why = verdict(res, wrong, lost)
        return [Outcome(self.cls, self.name, v, why, res)]


def config_probes() -> list[Probe]:
    out = []
    for cname, (spec, q1) in CONFIGS.items():
        for cmd, (argv, q2) in CONFIG_COMMANDS.items():
            out.append(Probe("bad config files", f"{cname}: {cmd}",
                             lambda t, s=spec, a=argv: a(make_bad_config(s, t), t), refused, q1 and q2, timeout=60))
    for cmd, (argv, q) in CONFIG_COMMANDS.items():  # YAML 1.2 floats are accepted
        if cmd != "train":
            out.append(Probe("bad config files", f"lr 1e-3 accepted: {cmd}",
                             lambda t, a=argv: a(write_config(t, "optimizer:\n  lr: 1e-3\n"), t), accepted(
                                 "0.001" if cmd == "config show" else ""), q))
    return out


def dry_run(tmp: Path, *extra: str) -> list[str]:
    return [*TUI, "launch", str(write_config(tmp)), "--dry-run", "--gpus", "cpu", "--root", str(tmp / "wd"), *extra]


def value_probes() -> list[Probe]:
    out = []
    for value, expect, quick in SETS:
        out.append(Probe("bad --set values", f"{value[:40]!r}: config show",
                         lambda t, v=value: [*EPAM, "config", "show", str(write_config(t)), "--set", v], expect, quick))
        out.append(Probe("bad --set values", f"{value[:40]!r}: launch --dry-run",
                         lambda t, v=value: dry_run(t, "--name", "p", "--set", v),
                         accepted("") if value.endswith("1e-3") else expect, quick))
    for name, expect, quick in NAMES:
        out.append(Probe("bad --name values", f"{name[:40]!r}: launch --dry-run",
                         lambda t, n=name: dry_run(t, f"--name={n}"), expect, quick))
    return out


MONITOR = {  # the monitor in a terminal over one bad run: (its setup, quick?)
    'status.json pid "abc"': (lambda: corrupt_status({"state": "running", "pid": "abc"}), True),
    'status.json epoch "x"': (lambda: corrupt_status({"epoch": "x"}), False),
    'status.json updated "yesterday"': (lambda: corrupt_status({"state": "running", "updated": "yesterday"}), False),
    "status.json max_epochs 1e999": (lambda: corrupt_status(STATUS_VARIANTS["max_epochs 1e999"][0]), False),
    "status.json binary garbage": (lambda: corrupt_status(STATUS_VARIANTS["binary garbage"][0]), False),
    "train.log a FIFO": (lambda: corrupt_file("train.log", special("fifo")), True),
    "config.yaml alias bomb": (lambda: corrupt_file("config.yaml", bomb()), False),
    "scalars.jsonl sparse 20 GB": (lambda: corrupt_file("scalars.jsonl", special("sparse")), False),
    "MMEngine config.py chained powers": (lambda: mm_work_dir(MM_CONFIGS["chained powers (5 x **64)"][0]), False),
}


def run_dir_all(full: bool) -> list[Probe]:
    out = [Probe("monitor in a terminal", name, None, quick=q, scenario=monitor("monitor in a terminal", name, make()))
           for name, (make, q) in MONITOR.items()]
    for name, (spec, quick) in STATUS_VARIANTS.items():
        out += run_dir_probes("status.json field variants", name, corrupt_status(spec), quick, full)
    for name, (fname, spec, quick) in FILE_VARIANTS.items():
        out += run_dir_probes("corrupted run files", name, corrupt_file(fname, spec), quick, full)
    for name, (text, quick) in MM_CONFIGS.items():
        out += run_dir_probes("MMEngine config.py", name, mm_work_dir(text), quick, full)
    return out


# ------------------------------------------------------------------------------------- slurm / restart
FAKE_SLURM = {
    "sbatch": '#!/bin/bash\ns="${@: -1}"\nbash -n "$s" || exit 1\nbash "$s" >/dev/null 2>&1 </dev/null\necho 4242\n',
    "srun": '#!/bin/bash\nprintf "%s\\0" "$@" > "$FAULTS_TMP/srun_argv"\n',
    "scontrol": "#!/bin/bash\necho node0\n",
    "squeue": "#!/bin/bash\nexit 0\n", "sacct": "#!/bin/bash\nexit 0\n", "scancel": "#!/bin/bash\nexit 0\n",
}
PAYLOADS = [("$(touch MARK_dollar)", True), ("x; touch MARK_semi", True), ("`touch MARK_tick`", False),
            ("it's \"quoted\" & spaced", False), ("a|touch MARK_pipe", False), ("${IFS}touch${IFS}MARK_ifs", False),
            ("x\ntouch MARK_newline\n#", True), ("x\rtouch MARK_cr", False)]


def slurm_probe(where: str, payload: str) -> Callable[[Path, bool], list[Outcome]]:
    def scenario(tmp: Path, quick: bool) -> list[Outcome]:
        bindir = tmp / "bin"
        bindir.mkdir()
        for name, text in FAKE_SLURM.items():
            (bindir / name).write_text(text)
            (bindir / name).chmod(0o755)
        env = {**ENV, "PATH": f"{bindir}{os.pathsep}{ENV['PATH']}", "FAULTS_TMP": str(tmp), "SLURM_JOB_ID": "4242",
               "SLURM_JOB_NODELIST": "node0", "SLURM_JOB_NUM_NODES": "1"}
        root = str(tmp / payload / "wd") if where == "--root" else str(tmp / "wd")
        name = payload if where == "--name" else "inj"
        cfg_dir = tmp / payload if where == "config path" else tmp
        cfg_dir.mkdir(exist_ok=True)
        argv = [*TUI, "launch", str(write_config(cfg_dir)), "--slurm", "gpu", "--gpus", "cpu", "--root", root,
                f"--name={name}"]
        res = call(argv, tmp, 60, env=env)
        wrong = markers(tmp)
        if not wrong and any(c in payload for c in "\n\r"):
            wrong = refused(res, tmp)  # control characters: a one-line refusal
        elif not wrong and res.rc == 0:
            srun = (tmp / "srun_argv").read_bytes().decode().split("\0") if (tmp / "srun_argv").exists() else []
            if os.path.join(root, name) not in srun:
                wrong = f"the job's srun argv lacks the run dir {os.path.join(root, name)!r}: {srun[:12]}"
        elif not wrong:
            wrong = clean(res, tmp)
        v, why = verdict(res, wrong)
        return [Outcome("Slurm script injection", f"{where} {payload[:30]!r}", v, why, res)]
    return scenario


RUN_JSON_TAMPER: dict[str, tuple[object, bool]] = {
    "launch.entry free argv": ({"launch.entry": ["-c", "open('MARK_entry', 'w')"]}, True),
    "launch.entry -m os": ({"launch.entry": ["-m", "http.server"]}, False),
    "launch.template ../../etc": ({"launch.template": "../../../../etc/passwd"}, True),
    "override that is an option": ({"launch.overrides": ["--resume", "/etc/passwd"]}, True),
    "override with a newline": ({"launch.overrides": ["a.b=1\ntouch MARK_nl"]}, False),
    "gpu token with a payload": ({"launch.gpu_tokens": ["0; touch MARK_gpu"]}, False),
    "nproc 10**29": ({"nproc": 10**29}, False),
    "rdzv_endpoint payload": ({"launch.rdzv_endpoint": "$(touch MARK_ep):1"}, False),
    "argv only (no launch)": ({"launch": None, "argv": ["/bin/sh", "-c", "touch MARK_argv"]}, True),
    "argv edited (launch kept)": ({"argv": ["/bin/sh", "-c", "touch MARK_argv2"]}, False),
    "run.json a list": ([1, 2], False),
    "run.json garbage": (b"\x00\xff{{", False),
}


def restart_inert(res: Res, tmp: Path) -> str | None:
    """Refused in one line, or restarted from the config with the known entry (run.json's argv ignored);
    a restarted run is stopped again at once."""
    if res.rc != 0:
        return refused(res, tmp)
    run = tmp / "wd" / "t"
    time.sleep(1.0)
    stop = call([*TUI, "launch", "--stop", str(run), "--grace", "1"], tmp, 60)
    argv = json.loads((run / "run.json").read_text()).get("argv") or []
    if markers(tmp):
        return markers(tmp)
    if argv[1:3] != ["-m", "epam.train"]:
        return f"restarted with argv {argv[:4]}"
    return None if stop.rc == 0 else f"--stop of the restarted run: exit {stop.rc}"


def restart_probe(spec: object) -> Callable[[Path], list[str]]:
    def argv(tmp: Path) -> list[str]:
        cfg = write_config(tmp)
        run = tmp / "wd" / "t"
        run.mkdir(parents=True)
        shutil.copy(cfg, run / "config.yaml")
        rec = {"id": "0123456789ab", "name": "t", "config": str(cfg), "argv": [PY, "-m", "epam.train", str(cfg),
               "--work-dir", str(run)], "env": {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": ""},
               "gpus": [], "nproc": 1, "port": None, "kind": "epam", "source": "epam", "work_dir": str(run),
               "launch": {"root": str(tmp / "wd"), "overrides": [], "gpu_tokens": [], "nnodes": 1, "node_rank": 0,
                          "rdzv_endpoint": None, "template": None, "entry": ["-m", "epam.train"], "cwd": None},
               "host": os.uname().nodename, "pid": 2**22 + 7, "pgid": 2**22 + 7, "create_time": 1.0, "started": 1.0,
               "ended": 2.0, "status": "failed", "exit_code": 1, "signal": None}
        if isinstance(spec, dict):
            for key, value in spec.items():
                top, _, sub = key.partition(".")
                if sub:
                    rec[top][sub] = value
                else:
                    rec[top] = value
            (run / "run.json").write_text(json.dumps(rec))
        else:
            (run / "run.json").write_bytes(spec if isinstance(spec, bytes) else json.dumps(spec).encode())
        return [*TUI, "launch", "--restart", str(run)]
    return argv


# ---------------------------------------------------------------------------------------------- table
def all_probes(full: bool) -> list[Probe]:
    out = [Probe("kill -9 during checkpoint save", "kills", None, scenario=kill_during_save),
           Probe("killed wrapper, live trainer", "wrapper", None, scenario=wrapper_kill),
           Probe("full or read-only disk", "tmpfs", None, scenario=disk_full),
           Probe("umask 022 file modes", "022", None, scenario=umask_probe(0o022)),
           Probe("umask 027 file modes", "027", None, scenario=umask_probe(0o027), quick=False)]
    out += config_probes() + value_probes() + run_dir_all(full)
    for where in ("--root", "--name", "config path"):
        out += [Probe("Slurm script injection", p, None, quick=q, scenario=slurm_probe(where, p)) for p, q in PAYLOADS]
    out += [Probe("tampered run.json --restart", n, restart_probe(s), restart_inert, quick=q, timeout=60)
            for n, (s, q) in RUN_JSON_TAMPER.items()]
    return out


CLASSES = {  # class -> (what is probed, what "survived" means)
    "bad config files": (
        "Hostile config files through `epam config show`, `epam config check`, `epam-tui launch --dry-run` and "
        "(full mode) `epam train`: a YAML alias bomb (9^10 nodes), a recursive alias, a 50 MB file, 5,000-level "
        "nesting, `_base_: /dev/zero`, a FIFO as `_base_` or as the config, binary garbage, invalid UTF-8, a "
        "`!!python/object` tag, `_base_` cycles, `lr: 1e999`, `max_epochs: 10**29`, wrong types; and `lr: 1e-3` "
        "(a YAML 1.2 float) must be accepted.",
        "a non-zero exit with exactly one line on stderr, no payload run; the valid `1e-3` config exits 0 "
        "and shows 0.001."),
    "bad --set values": (
        "`--set` values through `epam config show` and `epam-tui launch --dry-run`: integers past the schema's "
        "bounds, 1e999, NaN, inf, malformed keys, YAML aliases, `$(...)` in a path, a 100 KB value; "
        "`optimizer.lr=1e-3` must be accepted.",
        "a one-line refusal for values the schema rejects; inert values either accepted or refused in one line, "
        "never executed."),
    "bad --name values": (
        "`epam-tui launch --dry-run --name` with path escapes (`..`, `a/b`), an empty name (the default name is "
        "used), control characters, a 300-character name, `$(...)`/`;` payloads and a non-ASCII name.",
        "names that would leave `--root` or carry control characters are refused in one line; payloads stay inert."),
    "status.json field variants": (
        "One run's status.json with a bad field (pid \"abc\", epoch \"x\", updated \"yesterday\", iters_per_epoch "
        "\"y\", max_epochs 1e999, NaN, a list, truncated, binary garbage, deep nesting, 10 MB), beside two good "
        "runs; `epam-tui status --json` on the root (and plain `status` in full mode), `epam-tui checklist` (and "
        "`diagnose` in full mode) on the bad run.",
        "status exits 0 with both good runs' rows as they are without the bad run (else: lost) and a row for the "
        "bad run; checklist/diagnose end without a traceback, a refusal in one line."),
    "corrupted run files": (
        "The other files of a run: train.log/status.json/config.yaml as a FIFO, a link to /dev/zero or a "
        "directory, 20 GB sparse train.log/scalars.jsonl, garbage jsonl records, an alias bomb in config.yaml or "
        "checklist.yaml, garbage run.json/exit.json; the same commands as above.",
        "as above, within the timeout and the 3 GiB memory limit."),
    "monitor in a terminal": (
        "The monitor itself, `epam-tui ROOT`, in a pseudo-terminal (script(1), 120x40) over two good runs and one "
        "bad one (status.json pid \"abc\", epoch \"x\", updated \"yesterday\", max_epochs 1e999, garbage; a FIFO "
        "train.log, an alias bomb in config.yaml, a 20 GB sparse scalars.jsonl, an MMEngine config.py with "
        "chained powers), then `q`.",
        "both good runs' rows are drawn (else: lost), `q` quits with exit 0, no traceback or WorkerFailed."),
    "MMEngine config.py": (
        "An MMEngine work_dir whose dumped config.py evaluates huge values (five chained `**64` powers, 40 "
        "chained squarings, `9**9**9`, `1 << 10**9`, `'x' * 10**10`, 5,000 parentheses) or calls "
        "`__import__('os').system`.",
        "as above; nothing is executed."),
    "Slurm script injection": (
        "`epam-tui launch --slurm` with `$(...)`, `;`, backticks, quotes, `${IFS}`, a newline or a CR in "
        "`--root`, `--name` or the config's path, under a fake `sbatch` that checks the script with `bash -n` "
        "and runs it with a fake `srun` recording its argv.",
        "no marker file appears; values with control characters are refused in one line; an accepted script "
        "hands `srun` the run directory verbatim."),
    "tampered run.json --restart": (
        "`epam-tui launch --restart` on a failed run whose run.json was edited: free argv in `launch.entry`, a "
        "template path outside `configs/launch`, an override that is an option, payloads in GPU tokens and the "
        "rendezvous endpoint, bounds, free argv in `argv`, garbage.",
        "a one-line refusal naming the field, or a restart rebuilt from the config with `python -m epam.train` "
        "(then stopped); no marker file either way."),
    "kill -9 during checkpoint save": (
        "The real trainer on a tiny synthetic set: SIGKILL right after latest.pth's rename (the trainer's test "
        "hook), then `--resume auto` runs SIGKILLed from outside inside a widened save (1 in quick mode, 10 in "
        "full), then a last resume; full mode also kills right after the last epoch's rename and compares both "
        "runs with an uninterrupted one.",
        "every resume starts cleanly; at the end latest, the last two epochs and the best checkpoint exist and "
        "load (else: lost) and, in full mode, their weights (sha256 of every tensor) equal an uninterrupted "
        "run's with the same seed."),
    "killed wrapper, live trainer": (
        "`epam-tui launch --headless` (quick: a no-torch stand-in trainer; full: the real trainer), then SIGKILL "
        "of the launcher's wrapper while the trainer steps.",
        "`epam-tui status` still says running while the trainer keeps stepping, and finished once it ends."),
    "full or read-only disk": (
        "A tmpfs with 256 KiB left: `epam-tui launch --headless` into it, then the same name with `--dry-run` "
        "after freeing space; a read-only bind mount as `--root` (`--headless` and `--dry-run`); full mode: a "
        "32 MB tmpfs the run fills with its second checkpoint. Needs mount permission, else skipped with the "
        "reason.",
        "a one-line refusal (also from `--dry-run`) leaving no file behind, the name usable again; mid-run: a "
        "non-zero exit code in exit.json, `status` says failed and epoch 1's checkpoints load."),
    "umask 022 file modes": (
        "Files written under umask 022: `epam make-synthetic`'s pickle and videos, and every file of the "
        "trainer's run dir (status.json, config.yaml, logs, checkpoints).",
        "every file is mode 0644."),
    "umask 027 file modes": ("`epam make-synthetic` under umask 027 (full mode).", "every file is mode 0640."),
}


def table(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    order = list(CLASSES)
    for cls in sorted(dict.fromkeys(o.cls for o in outcomes), key=lambda c: order.index(c) if c in order else 99):
        mine = [o for o in outcomes if o.cls == cls and o.verdict != "skipped"]
        skipped = [o for o in outcomes if o.cls == cls and o.verdict == "skipped"]
        note = f" ({skipped[0].name})" if skipped else ""
        rows.append([cls + note, str(len(mine))] + [str(sum(o.verdict == v for o in mine)) for v in VERDICTS])
    total = [o for o in outcomes if o.verdict != "skipped"]
    rows.append(["total", str(len(total))] + [str(sum(o.verdict == v for o in total)) for v in VERDICTS])
    return rows


HEAD = ["probe class", "tried", *VERDICTS]


def markdown(rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(HEAD) + " |", "| " + " | ".join(["---"] + ["---:"] * (len(HEAD) - 1)) + " |"]
                     + ["| " + " | ".join(r) + " |" for r in rows])


def write_doc(rows: list[list[str]], seconds: float) -> Path:
    paras = "\n\n".join(f"**{cls}.** {what} Survived: {ok}" for cls, (what, ok) in CLASSES.items())
    text = f"""# Reliability: fault probes

Bad input and kills thrown at the real commands from outside, each as a subprocess under a timeout
(30-60 s; the trainer's runs 300-400 s) and, except the trainer, a 3 GiB address-space limit
(`ulimit -v`). Every outcome is one of: **survived** (the expected behaviour: a clean one-line error
with a non-zero exit, or correct output), **traceback** ("Traceback" in the output), **hang** (the
timeout passed), **lost** (a checkpoint, epoch or best file gone or unloadable, or a good run's row
missing beside a bad one) or **wrong** (anything else: exit 0 where a refusal was due, several lines of
error, a payload that ran, a file mode that ignores the umask).

The table below comes from a full run (`--write-doc`, {seconds:.0f} s on 2 busy cores, as root so that the
disk probes can mount a tmpfs; without mount permission they show as skipped with the reason). Reproduce
it, or run the subset CI runs (`--quick`, about a minute):

    python benchmarks/faults.py            # prints this table and every probe that did not survive
    python benchmarks/faults.py --write-doc  # the same, then rewrites this page

{markdown(rows)}

## What each class probes

{paras}

The probe definitions are the tables at the top of `benchmarks/faults.py` (`CONFIGS`, `SETS`, `NAMES`,
`STATUS_VARIANTS`, `FILE_VARIANTS`, `MM_CONFIGS`, `PAYLOADS`, `RUN_JSON_TAMPER`) and the scenario
functions for kills, the wrapper, the disk and the umask. The unit tests of each fix live in
`tests/faults/`, `tests/test_security.py`, `tests/test_bad_configs.py` and `tests/test_yamlsafe.py`.
"""
    path = ROOT / "docs" / "reliability.md"
    path.write_text(text)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset and a few kills (CI)")
    parser.add_argument("--write-doc", action="store_true", help="write docs/reliability.md (full mode)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a probe did not survive")
    parser.add_argument("--jobs", type=int, default=4, help="probes run at once")
    parser.add_argument("--only", default=None, help="run only the classes whose name contains this")
    parser.add_argument("--verbose", action="store_true", help="also show every survived probe's last line")
    parser.add_argument("--json", dest="json_out", default=None, help="write every outcome to this JSON file")
    args = parser.parse_args(argv)
    quick = args.quick and not args.write_doc
    probes = [p for p in all_probes(not quick) if (p.quick or not quick)
              and (args.only is None or args.only.lower() in p.cls.lower())]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="epam-faults-") as base:
        def one(i_probe: tuple[int, Probe]) -> list[Outcome]:
            i, probe = i_probe
            tmp = Path(base) / f"p{i:03d}"
            tmp.mkdir()
            try:
                return probe.run(tmp, quick)
            except Exception as exc:  # a probe's own failure is reported, not hidden
                return [Outcome(probe.cls, probe.name, "wrong", f"probe error: {exc!r}", None)]
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = [o for batch in pool.map(one, enumerate(probes)) for o in batch]
    seconds = time.perf_counter() - start
    rows = table(outcomes)
    widths = [max(len(r[i]) for r in [HEAD, *rows]) for i in range(len(HEAD))]
    for r in [HEAD, *rows]:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    bad = [o for o in outcomes if o.verdict not in ("survived", "skipped")]
    if args.verbose:
        for o in outcomes:
            last = (lines(o.res.err) or lines(o.res.out) or ["-"])[-1][:200] if o.res else "-"
            print(f"  {o.verdict:9} {o.cls}: {o.name} -> exit {o.res.rc if o.res else '-'}: {last}")
    for o in bad:
        print(f"\n[{o.verdict}] {o.cls}: {o.name}: {o.why}")
        if o.res is not None:
            print(f"  $ {o.res.cmd[:600]}\n  exit {o.res.rc}")
            for stream, text in (("stdout", o.res.out), ("stderr", o.res.err)):
                for line in lines(text)[-8:]:
                    print(f"  {stream}: {line[:300]}")
    print(f"\n{len(outcomes)} probes in {seconds:.0f} s{' (quick)' if quick else ''}")
    for r in rows:
        tried, survived = int(r[1]), int(r[2])
        print("BENCH " + json.dumps({"figure": f"faults survived: {r[0]}", "value": survived, "unit": "probes",
                                     "reference": tried, "ratio": round(survived / tried, 3) if tried else None,
                                     "target": "all", "passed": survived == tried}))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps([{"cls": o.cls, "name": o.name, "verdict": o.verdict, "why": o.why,
                                                    "cmd": o.res.cmd if o.res else None} for o in outcomes], indent=1))
    if args.write_doc:
        print(f"wrote {write_doc(rows, seconds)}")
    return 1 if args.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main())
