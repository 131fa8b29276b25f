"""Fault probes from outside: bad input and kills thrown at the real commands, each outcome classified.

Every probe runs the installed commands as subprocesses (``epam config show|check``, ``epam train``,
``epam-tui launch --dry-run|--slurm|--restart|--headless``, ``epam-tui status|checklist|diagnose``),
each under a timeout and a 3 GiB address-space limit, in a scratch directory of its own, and ends as:

- survived: the expected behaviour (a clean one-line error with a non-zero exit, or correct output);
- traceback: "Traceback" on stdout or stderr;
- hang: the timeout passed (the process group is killed);
- lost: a checkpoint/epoch/best file gone or unloadable, or a good run's row missing beside a bad one;
- wrong: anything else unexpected (exit 0 where a refusal was due, several lines of error, a payload
  that ran, file modes that ignore the umask).

    python benchmarks/faults.py               # every probe (about 3-4 minutes on 2 busy cores)
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
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
BIN = Path(PY).parent
EPAM = [str(BIN / "epam")] if (BIN / "epam").exists() else [PY, "-m", "epam.cli"]
TUI = [str(BIN / "epam-tui")] if (BIN / "epam-tui").exists() else [PY, "-m", "epam_tui.cli"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1"}
DEMO = ROOT / "configs" / "epam_synthetic_demo.yaml"
FIXTURES = ROOT / "tests" / "tui" / "fixtures" / "runs"
MEM_LIMIT = 3 << 30
VERDICTS = ("survived", "traceback", "hang", "lost", "wrong")


# ------------------------------------------------------------------------------------------ running
@dataclass
class Res:
    cmd: str
    rc: int | None
    out: str
    err: str
    hung: bool = False


@dataclass
class Outcome:
    cls: str
    name: str
    verdict: str
    why: str
    res: Res | None


def _limits(umask: int, mem: bool) -> Callable[[], None]:
    def apply() -> None:
        os.umask(umask)
        if mem:
            resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))
    return apply


def call(argv: list[str], tmp: Path, timeout: float = 30, env: dict | None = None, umask: int = 0o022,
         mem: bool = True) -> Res:
    """Run argv in tmp (its own process group); on timeout the whole group is killed."""
    proc = subprocess.Popen(argv, cwd=tmp, env=env or ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_limits(umask, mem))
    try:
        out, err = proc.communicate(timeout=timeout)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        hung = True
    text = (lambda b: b.decode("utf-8", "replace")[-200_000:])
    return Res(shlex.join(argv), proc.returncode, text(out), text(err), hung)


def verdict(res: Res, wrong: str | None = None, lost: str | None = None) -> tuple[str, str]:
    if res.hung:
        return "hang", "timed out"
    if "Traceback (most recent call last)" in res.out + res.err:
        return "traceback", res.err.strip().splitlines()[-1] if res.err.strip() else "traceback on stdout"
    if lost:
        return "lost", lost
    if wrong:
        return "wrong", wrong
    return "survived", ""


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def markers(tmp: Path) -> str | None:
    found = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("MARK*"))
    return f"payload ran: {found}" if found else None


# ------------------------------------------------------------------------------------- expectations
def refused(res: Res, tmp: Path) -> str | None:
    """A non-zero exit with exactly one line on stderr, and no payload ran."""
    if res.rc == 0:
        return "exit 0 where a refusal was due"
    if res.rc is not None and res.rc < 0:
        return f"killed by signal {-res.rc}"
    if len(lines(res.err)) != 1:
        return f"{len(lines(res.err))} lines on stderr, expected one"
    return markers(tmp)


def accepted(needle: str) -> Callable[[Res, Path], str | None]:
    def check(res: Res, tmp: Path) -> str | None:
        if res.rc != 0:
            return f"exit {res.rc}: {(lines(res.err) or ['-'])[-1][:200]}"
        return None if needle in res.out else f"{needle!r} not in the output"
    return check


def clean(res: Res, tmp: Path) -> str | None:
    """Either outcome is fine (accepted or refused), but a refusal is one line and no payload runs."""
    if res.rc not in (0, 1) and len(lines(res.err)) != 1:
        return f"exit {res.rc} with {len(lines(res.err))} lines on stderr, expected one"
    return markers(tmp)


def rows_kept(bad: str) -> Callable[[Res, Path], tuple[str | None, str | None]]:
    """`status --json` over the good runs and one bad one: (wrong, lost)."""
    def check(res: Res, tmp: Path) -> tuple[str | None, str | None]:
        if res.rc != 0:
            return f"exit {res.rc}", None
        try:
            rows = {r["name"]: r for r in json.loads(res.out)}
        except (ValueError, KeyError, TypeError) as exc:
            return f"output is not the JSON rows ({exc})", None
        lost = [f"{n} (want {s})" for n, s in GOOD.items() if (rows.get(n) or {}).get("state") != s]
        if lost:
            return None, "good runs missing or changed beside the bad one: " + ", ".join(lost)
        return (None if bad in rows else f"the bad run {bad} has no row"), None
    return check


# ---------------------------------------------------------------------------------------- fixtures
GOOD = {"good-a": "finished", "good-b": "unknown"}


def write_config(tmp: Path, body: str = "", name: str = "cfg.yaml", base: Path | None = None) -> Path:
    """A valid config inheriting the demo (data files exist under tmp), plus ``body``."""
    (tmp / "ann.pkl").write_bytes(b"x")
    (tmp / "videos").mkdir(exist_ok=True)
    head = f"_base_: {base or DEMO}\ndata:\n  ann_file: {tmp / 'ann.pkl'}\n  video_root: {tmp / 'videos'}\n"
    path = tmp / name
    path.write_text(head + body)
    return path


def bomb(depth: int = 10) -> str:
    out = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    out += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, depth)]
    return "\n".join(out) + "\n"


def special(kind: str) -> Callable[[Path, Path], None]:
    """Make ``path`` a FIFO, a link to /dev/zero, a directory or a 20 GB sparse file."""
    def make(path: Path, tmp: Path) -> None:
        if path.exists() or path.is_symlink():
            path.unlink()
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "zero":
            path.symlink_to("/dev/zero")
        elif kind == "dir":
            path.mkdir()
        else:
            with open(path, "wb") as fh:
                fh.write(b'{"step": 1, "loss": 1.0}\n')
                fh.truncate(20 << 30)
    return make


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
    "_base_ cycle": (lambda p, t: ((t / "b.yaml").write_text(f"_base_: {p}\n"), p.write_text(f"_base_: {t / 'b.yaml'}\n")),
                     False),
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
    "scalars.jsonl bad values": ("scalars.jsonl", '{"step": "x", "loss": NaN}\n[1]\n{"step": 1e999, "lr": "a"}\n', True),
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
    out = [Probe(cls, f"{name}: status", lambda t: [*TUI, "status", str(setup(t)), "--json"], rows_kept("bad"), quick),
           Probe(cls, f"{name}: checklist", lambda t: [*TUI, "checklist", str(setup(t) / "bad")], clean, quick)]
    if full:
        out.append(Probe(cls, f"{name}: diagnose", lambda t: [*TUI, "diagnose", str(setup(t) / "bad")], clean, False))
    return out


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


def value_probes() -> list[Probe]:
    out = []
    for value, expect, quick in SETS:
        out.append(Probe("bad --set values", f"{value[:40]!r}: config show",
                         lambda t, v=value: [*EPAM, "config", "show", str(write_config(t)), "--set", v], expect, quick))
        out.append(Probe("bad --set values", f"{value[:40]!r}: launch --dry-run",
                         lambda t, v=value: [*TUI, "launch", str(write_config(t)), "--dry-run", "--gpus", "cpu", "--root",
                                             str(t / "wd"), "--name", "p", "--set", v],
                         accepted("") if value.endswith("1e-3") else expect, quick))
    for name, expect, quick in NAMES:
        out.append(Probe("bad --name values", f"{name[:40]!r}: launch --dry-run",
                         lambda t, n=name: [*TUI, "launch", str(write_config(t)), "--dry-run", "--gpus", "cpu", "--root",
                                            str(t / "wd"), f"--name={n}"], expect, quick))
    return out


def run_dir_all(full: bool) -> list[Probe]:
    out = []
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
        argv = [*TUI, "launch", str(write_config(cfg_dir)), "--slurm", "gpu", "--gpus", "cpu", "--root", root, f"--name={name}"]
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


# ---------------------------------------------------------------------------------- trainer scenarios
_data_lock = threading.Lock()
_data: dict[str, Path] = {}


def synthetic(base: Path) -> Path:
    """A tiny synthetic NTU60-format dataset (4 classes), made once per benchmark run."""
    with _data_lock:
        if "dir" not in _data:
            out = base / "synthetic"
            subprocess.run([*EPAM, "make-synthetic", "--out", str(out), "--num-classes", "4", "--per-class", "5",
                            "--frames", "24", "--size", "64", "--seed", "3"], check=True, capture_output=True,
                           env=ENV, timeout=300)
            _data["dir"] = out
    return _data["dir"]


def tiny(data: Path, epochs: int) -> list[str]:
    return [f"data.ann_file={data / 'synthetic_2d.pkl'}", f"data.video_root={data / 'videos'}", "model.num_classes=4",
            "data.batch_per_gpu=4", "data.val_batch_per_gpu=8", "data.num_workers=0", f"train.max_epochs={epochs}",
            f"scheduler.T_max={epochs}", "train.log_interval=1", "train.seed=7"]


CHECK_CKPTS = """
import json, sys, torch
from pathlib import Path
from epam.engine.checkpoint import load_checkpoint
work = Path(sys.argv[1]); out = {}
for p in sorted((work / "checkpoints").glob("*.pth")):
    try:
        s = load_checkpoint(p); out[p.name] = [s["epoch"], float(sum(v.double().sum() for v in s["model"].values()
                                                                     if v.is_floating_point()))]
    except Exception as exc:
        out[p.name] = str(exc)[:200]
print(json.dumps(out))
"""


def checkpoints_lost(work: Path, epochs: int, tmp: Path) -> tuple[str | None, dict]:
    """(lost reason, {file: [epoch, weight sum]}) after a run that should have finished."""
    res = call([PY, "-c", CHECK_CKPTS, str(work)], tmp, 240, mem=False)
    try:
        ck = json.loads(lines(res.out)[-1])
    except (ValueError, IndexError):
        return f"could not read the checkpoints: {(lines(res.err) or ['-'])[-1]}", {}
    status = json.loads((work / "status.json").read_text())
    best = (status.get("best") or {}).get("epoch")
    want = ["latest.pth", *(f"epoch_{e}.pth" for e in range(max(1, epochs - 1), epochs + 1))]  # keep_last: 2
    want += [f"best_acc_top1_epoch_{best}.pth"] if best else []
    bad = [n for n in want if not isinstance(ck.get(n), list)] + [n for n, v in ck.items() if not isinstance(v, list)]
    if bad or status.get("state") != "finished":
        return f"missing or unloadable: {sorted(set(bad))}; state {status.get('state')}", ck
    return None, ck


def kill_during_save(tmp: Path, quick: bool) -> list[Outcome]:
    """SIGKILLs inside checkpoint saves (outside kills in a widened save, plus the trainer's own kill right
    after latest.pth's rename), a resume after each, then the files and (full mode) the weights against an
    uninterrupted run with the same seed."""
    data, epochs, cls = synthetic(tmp.parent), 2 if quick else 3, "kill -9 during checkpoint save"
    work, out, rng = tmp / "killed", [], random.Random(5)
    base = [*EPAM, "train", str(DEMO), "--work-dir", str(work), "--set", *tiny(data, epochs)]
    ref = None
    if not quick:
        ref = tmp / "ref"
        ref_res = call([*EPAM, "train", str(DEMO), "--work-dir", str(ref), "--set", *tiny(data, epochs)], tmp, 400, mem=False)
        if ref_res.rc != 0:
            return [Outcome(cls, "uninterrupted reference run", *verdict(ref_res, f"exit {ref_res.rc}"), ref_res)]
    hook = call(base, tmp, 300, env={**ENV, "EPAM_TEST_KILL_AFTER_LATEST": "1"}, mem=False)
    out.append(Outcome(cls, "killed right after epoch 1's latest.pth rename", *verdict(
        hook, None if hook.rc == -signal.SIGKILL else f"exit {hook.rc}, expected the hook's SIGKILL"), hook))
    for i in range(1 if quick else 6):
        argv = [*base, "--resume", "auto"]
        proc = subprocess.Popen(argv, cwd=tmp, env={**ENV, "EPAM_TEST_SLOW_SAVE": "0.25"}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        deadline, hit = time.monotonic() + 300, False
        while proc.poll() is None and time.monotonic() < deadline:
            ck = work / "checkpoints"
            if ck.is_dir() and any(p.name.startswith(".") and ".tmp" in p.name for p in ck.iterdir()):
                time.sleep(rng.uniform(0, 0.2))
                hit = True
                break
            time.sleep(0.02)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        err = proc.communicate()[1].decode("utf-8", "replace")
        res = Res(shlex.join(argv) + "  # SIGKILL inside a save", proc.returncode, "", err, not hit and proc.returncode is None)
        wrong = None if hit or proc.returncode == 0 else f"ended with {proc.returncode} before a save was hit"
        out.append(Outcome(cls, f"resume, then SIGKILL inside save {i + 1}", *verdict(res, wrong), res))
    final = call([*base, "--resume", "auto"], tmp, 400, mem=False)
    lost, ck = checkpoints_lost(work, epochs, tmp) if final.rc == 0 else (None, {})
    wrong = None if final.rc == 0 else f"final resume exit {final.rc}: {(lines(final.err) or ['-'])[-1]}"
    if ref is not None and not lost and not wrong:
        _, ref_ck = checkpoints_lost(ref, epochs, tmp)
        if ck != ref_ck:
            wrong = f"checkpoints differ from the uninterrupted run: {ck} vs {ref_ck}"
    out.append(Outcome(cls, "final resume: latest/epoch/best files kept" + ("" if quick else ", weights identical"),
                       *verdict(final, wrong, lost), final))
    modes = {str(p.relative_to(work)): oct(p.stat().st_mode & 0o777) for p in work.rglob("*") if p.is_file()}
    odd = {k: v for k, v in modes.items() if v != "0o644"}
    out.append(Outcome("umask 022 file modes", "trainer run dir files 0644",
                       *verdict(final, f"modes: {odd}" if odd or not modes else None), final))
    return out


STEPPER = """
import json, os, sys, time
work = sys.argv[sys.argv.index("--work-dir") + 1]; os.makedirs(work, exist_ok=True)
import psutil; created = psutil.Process().create_time(); step = 0
while not os.path.exists(os.path.join(work, "stop_stepping")):
    step += 1
    d = {"state": "running", "epoch": 1, "iter": step, "max_epochs": 1, "iters_per_epoch": 100000, "world_size": 1,
         "pid": os.getpid(), "create_time": created, "started": created, "updated": time.time(), "best": None}
    tmp = os.path.join(work, ".status.json.tmp"); open(tmp, "w").write(json.dumps(d)); os.replace(tmp, os.path.join(work, "status.json"))
    time.sleep(0.1)
"""


def wrapper_kill(tmp: Path, quick: bool) -> list[Outcome]:
    """Launch headless (quick: a no-torch stand-in that steps; full: the real trainer), SIGKILL the wrapper
    while the trainer steps: `epam-tui status` must still say running."""
    cls, root = "killed wrapper, live trainer", tmp / "wd"
    cfg = write_config(tmp)
    if quick:
        (tmp / "stepper.py").write_text(STEPPER)
        extra = ["--command", f"{PY} {tmp / 'stepper.py'} {{config}} --work-dir {{work_dir}}"]
    else:
        cfg, extra = DEMO, ["--set", *tiny(synthetic(tmp.parent), 50)]
    argv = [*TUI, "launch", str(cfg), "--headless", "--gpus", "cpu", "--root", str(root), "--name", "w", *extra]
    follow = subprocess.Popen(argv, cwd=tmp, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              start_new_session=True)
    run, trainer = root / "w", None

    def status() -> dict:
        try:
            return json.loads((run / "status.json").read_text())
        except (OSError, ValueError):
            return {}
    try:
        deadline = time.monotonic() + 240
        while status().get("iter", 0) < 2 and time.monotonic() < deadline and follow.poll() is None:
            time.sleep(0.1)
        trainer = status().get("pid")
        if status().get("iter", 0) < 2:
            res = Res(shlex.join(argv), follow.poll(), "", "", follow.poll() is None)
            return [Outcome(cls, "wrapper SIGKILLed", *verdict(res, "the trainer never stepped"), res)]
        wrapper = json.loads((run / "run.json").read_text())["pid"]
        os.kill(wrapper, signal.SIGKILL)
        step = status()["iter"]
        time.sleep(3)
        res = call([*TUI, "status", str(root), "--json"], tmp)
        rows = {r["name"]: r for r in json.loads(res.out)} if res.rc == 0 else {}
        state = (rows.get("w") or {}).get("state")
        wrong = None if state == "running" and status().get("iter", 0) > step else \
            f"state {state!r}, trainer iter {step} -> {status().get('iter')}"
        return [Outcome(cls, "wrapper SIGKILLed: status says running", *verdict(res, wrong), res)]
    finally:
        (run / "stop_stepping").parent.mkdir(parents=True, exist_ok=True)
        (run / "stop_stepping").write_text("finished")
        if isinstance(trainer, int):
            try:
                os.kill(trainer, signal.SIGKILL)
            except OSError:
                pass
        if follow.poll() is None:
            os.killpg(follow.pid, signal.SIGKILL)
        follow.communicate()


def disk_full(tmp: Path, quick: bool) -> list[Outcome]:
    """A tmpfs with 256 KiB left: the launch is refused in one line and leaves nothing behind, then the same
    name launches once space is back. Full mode: a tmpfs the run fills itself with its second checkpoint."""
    cls, mnt = "disk full", tmp / "mnt"
    mnt.mkdir()
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if m.returncode != 0:
        return [Outcome(cls, f"skipped: mount failed ({(m.stderr or '').strip()[:80]})", "skipped", "", None)]
    out = []
    try:
        st = os.statvfs(mnt)
        with open(mnt / "filler", "wb") as fh:
            fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - (256 << 10)))
        cfg = write_config(tmp)
        argv = [*TUI, "launch", str(cfg), "--headless", "--gpus", "cpu", "--root", str(mnt / "wd"), "--name", "full"]
        res = call(argv, tmp, 60)
        left = [str(p.relative_to(mnt)) for p in mnt.rglob("*") if p.name != "filler" and p.is_file()]
        out.append(Outcome(cls, "launch on a full disk", *verdict(res, refused(res, tmp) or (
            f"left behind: {left}" if left else None)), res))
        (mnt / "filler").unlink()
        res = call([*TUI, "launch", str(cfg), "--dry-run", "--gpus", "cpu", "--root", str(mnt / "wd"), "--name", "full"],
                   tmp)
        out.append(Outcome(cls, "same name once space is back (--dry-run)", *verdict(res, accepted("full")(res, tmp)), res))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    if quick:
        return out
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(mnt)], capture_output=True, text=True)
    try:
        argv = [*TUI, "launch", str(DEMO), "--headless", "--gpus", "cpu", "--root", str(mnt), "--name", "fills",
                "--set", *tiny(synthetic(tmp.parent), 3)]
        res = call(argv, tmp, 400, mem=False)
        run = mnt / "fills"
        log = (run / "stdout.log").read_text(errors="replace") if (run / "stdout.log").is_file() else ""
        res.err += "\n[stdout.log] " + log[-3000:]
        code = json.loads((run / "exit.json").read_text()).get("exit_code") if (run / "exit.json").is_file() else None
        lost = None
        if (run / "checkpoints" / "latest.pth").is_file():
            lost, _ = checkpoints_lost(run, 1, tmp)
            lost = None if lost and "state" in lost and "latest.pth" not in lost.split(";")[0] else lost
        else:
            lost = "no latest.pth after epoch 1"
        wrong = None if res.rc != 0 and code not in (None, 0) else f"launch exit {res.rc}, exit.json code {code}"
        out.append(Outcome(cls, "run fills the disk with its 2nd checkpoint", *verdict(res, wrong, lost), res))
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
    return out


def umask_probe(mask: int) -> Callable[[Path, bool], list[Outcome]]:
    def scenario(tmp: Path, quick: bool) -> list[Outcome]:
        argv = [*EPAM, "make-synthetic", "--out", str(tmp / "syn"), "--num-classes", "2", "--per-class", "2",
                "--frames", "8", "--size", "32"]
        res = call(argv, tmp, 120, umask=mask)
        want = oct(0o666 & ~mask)
        odd = {str(p.relative_to(tmp)): oct(p.stat().st_mode & 0o777) for p in (tmp / "syn").rglob("*")
               if p.is_file() and oct(p.stat().st_mode & 0o777) != want} if res.rc == 0 else {}
        wrong = f"exit {res.rc}" if res.rc != 0 else (f"modes other than {want}: {dict(list(odd.items())[:5])}" if odd else None)
        return [Outcome(f"umask {mask:03o} file modes", f"make-synthetic files {want}", *verdict(res, wrong), res)]
    return scenario


# ---------------------------------------------------------------------------------------------- table
def all_probes(full: bool) -> list[Probe]:
    out = [Probe("kill -9 during checkpoint save", "kills", None, scenario=kill_during_save),
           Probe("killed wrapper, live trainer", "wrapper", None, scenario=wrapper_kill),
           Probe("disk full", "tmpfs", None, scenario=disk_full),
           Probe("umask 022 file modes", "022", None, scenario=umask_probe(0o022)),
           Probe("umask 027 file modes", "027", None, scenario=umask_probe(0o027), quick=False)]
    out += config_probes() + value_probes() + run_dir_all(full)
    for where in ("--root", "--name", "config path"):
        out += [Probe("Slurm script injection", p, None, quick=q, scenario=slurm_probe(where, p)) for p, q in PAYLOADS]
    out += [Probe("tampered run.json --restart", n, restart_probe(s), restart_inert, quick=q, timeout=60)
            for n, (s, q) in RUN_JSON_TAMPER.items()]
    return out


CLASSES = {  # class -> (what is probed, what "survived" means)
    "bad config files": ("Hostile config files through `epam config show`, `epam config check`, `epam-tui launch "
                         "--dry-run` and (full mode) `epam train`: a YAML alias bomb (9^10 nodes), a recursive alias, a "
                         "50 MB file, 5,000-level nesting, `_base_: /dev/zero`, a FIFO as `_base_` or as the config, "
                         "binary garbage, invalid UTF-8, a `!!python/object` tag, `_base_` cycles, `lr: 1e999`, "
                         "`max_epochs: 10**29`, wrong types; and `lr: 1e-3` (YAML 1.2 float) must be accepted.",
                         "a non-zero exit with exactly one line on stderr, no payload run; the valid `1e-3` config "
                         "exits 0 and shows 0.001."),
    "bad --set values": ("`--set` values through `epam config show` and `epam-tui launch --dry-run`: integers past "
                         "the schema's bounds, 1e999, NaN, inf, malformed keys, YAML aliases, `$(...)` in a path, a "
                         "100 KB value; `optimizer.lr=1e-3` must be accepted.",
                         "a one-line refusal for values the schema rejects; inert values either accepted or refused in "
                         "one line, never executed."),
    "bad --name values": ("`epam-tui launch --dry-run --name` with path escapes (`..`, `a/b`, empty), control "
                          "characters, a 300-character name, `$(...)`/`;` payloads and a non-ASCII name.",
                          "names that would leave `--root` or carry control characters are refused in one line; "
                          "payloads stay inert."),
    "status.json field variants": ("One run's status.json with a bad field (pid \"abc\", epoch \"x\", updated "
                                   "\"yesterday\", iters_per_epoch \"y\", max_epochs 1e999, NaN, a list, truncated, "
                                   "binary garbage, deep nesting, 10 MB), beside two good runs; `epam-tui status "
                                   "--json` on the root, `epam-tui checklist` (and `diagnose` in full mode) on the bad run.",
                                   "status exits 0 with both good runs' rows unchanged (else: lost) and a row for the "
                                   "bad run; checklist/diagnose end without a traceback, a refusal in one line."),
    "corrupted run files": ("The other files of a run: train.log/status.json/config.yaml as a FIFO, a link to "
                            "/dev/zero or a directory, 20 GB sparse train.log/scalars.jsonl, garbage jsonl records, an "
                            "alias bomb in config.yaml or checklist.yaml, garbage run.json/exit.json; same commands as above.",
                            "as above, within the timeout and the 3 GiB memory limit."),
    "MMEngine config.py": ("An MMEngine work_dir whose dumped config.py evaluates huge values (chained powers "
                           "`a**64` three times, `9**9**9`, `1 << 10**9`, `'x' * 10**10`, 5,000 parentheses) or "
                           "calls `__import__('os').system`.",
                           "as above; nothing is executed."),
    "Slurm script injection": ("`epam-tui launch --slurm` with `$(...)`, `;`, backticks, quotes, `${IFS}`, a newline or "
                               "a CR in `--root`, `--name` or the config's path, under a fake `sbatch` that checks the script with `bash "
                               "-n` and runs it with a fake `srun` recording its argv.",
                               "no marker file appears; values with control characters are refused in one line; an "
                               "accepted script hands `srun` the run directory verbatim."),
    "tampered run.json --restart": ("`epam-tui launch --restart` on a failed run whose run.json was edited: free "
                                    "argv in `launch.entry`, a template path outside `configs/launch`, an override "
                                    "that is an option, payloads in GPU tokens and the rendezvous endpoint, bounds, "
                                    "free argv in `argv`, garbage.",
                                    "a one-line refusal naming the field, or a restart rebuilt from the config with "
                                    "`python -m epam.train` (then stopped); no marker file either way."),
    "kill -9 during checkpoint save": ("The real trainer on a tiny synthetic set: SIGKILL right after latest.pth's "
                                       "rename (the trainer's test hook), then `--resume auto` runs SIGKILLed from "
                                       "outside inside a widened save (1 in quick mode, 6 in full), then a last resume.",
                                       "every resume starts cleanly; at the end latest, the last epoch and the best "
                                       "checkpoint exist and load (else: lost) and, in full mode, their weights equal "
                                       "an uninterrupted run's with the same seed."),
    "killed wrapper, live trainer": ("`epam-tui launch --headless` (quick: a no-torch stand-in trainer; full: the real "
                                     "trainer), then SIGKILL of the launcher's wrapper while the trainer steps.",
                                     "`epam-tui status` still says running while the trainer keeps stepping."),
    "disk full": ("A tmpfs (needs mount permission, else skipped with the reason) with 256 KiB left: `epam-tui launch "
                  "--headless` into it, then the same name with `--dry-run` after freeing space; full mode: a 32 MB "
                  "tmpfs the run fills with its second checkpoint.",
                  "a one-line refusal leaving no file behind, the name usable again; mid-run: a non-zero exit code "
                  "in exit.json and epoch 1's checkpoint intact."),
    "umask 022 file modes": ("Files written under umask 022: `epam make-synthetic`'s pickle and videos, and every file "
                             "of the trainer's run dir (status.json, config.yaml, logs, checkpoints).",
                             "every file is mode 0644."),
    "umask 027 file modes": ("`epam make-synthetic` under umask 027.", "every file is mode 0640."),
}


def table(outcomes: list[Outcome]) -> list[list[str]]:
    rows = []
    for cls in dict.fromkeys(o.cls for o in outcomes):
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
(30-60 s; the trainer's runs 300-400 s) and a 3 GiB address-space limit. Every outcome is one of:
**survived** (the expected behaviour: a clean one-line error with a non-zero exit, or correct output),
**traceback** ("Traceback" in the output), **hang** (the timeout passed), **lost** (a checkpoint, epoch
or best file gone or unloadable, or a good run's row missing beside a bad one) or **wrong** (anything
else: exit 0 where a refusal was due, several lines of error, a payload that ran, a file mode that
ignores the umask).

Reproduce (about {seconds / 60:.0f} minutes on 2 busy cores; `--quick` runs a subset in about a minute):

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
