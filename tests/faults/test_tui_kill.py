"""Fault injection: the TUI SIGKILLed again and again while a demo run trains.

The run is started as `epam-tui launch --headless` starts it (detached wrapper, own session); the
headless follower itself is SIGKILLed first. Then the real monitor (`python -m epam_tui.cli monitor
ROOT`) runs on a pseudo-terminal 10 times and is SIGKILLed each time after a random 0.3-2.5 s
(seeded). After every kill the trainer is the same live process (or has finished with exit code 0,
never a signal). After every restart the core's reading of the run (``load_run``, what the TUI's
watcher builds) holds exactly the records in scalars.jsonl up to where it read: the same steps, in
order, each once, the same loss and lr, and every record that was complete before it read; a
long-lived ``RunWatcher`` polled incrementally throughout the test (a TUI that was never killed) is
held to the same rule at every poll. Finally the run exits 0, both readings equal the whole file, and
a last TUI session shows the run's row finished at its last epoch.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import pty
import random
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import psutil
import pytest

from epam_tui.core import runs
from epam_tui.core.registry import RunData, RunWatcher, load_run
from tests.conftest import ROOT, poll_until, tiny_overrides

pytestmark = [pytest.mark.faults, pytest.mark.slow]

DEMO = "configs/epam_synthetic_demo.yaml"
EPOCHS = 12
ITERS = 4  # 16 train clips of the tiny dataset, batch 4
KILLS = 10
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
TUI_ENV = {**ENV, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
ANSI = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][A-Za-z0-9]|[=>78DEHM])")


# ------------------------------------------------------------------------------------------- the run's records
def complete_records(path: Path) -> list[dict]:
    """The complete lines of scalars.jsonl (a line being written is left out)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in data[: data.rfind(b"\n") + 1].splitlines()]


def check_view(data: RunData, before: list[dict], after: list[dict], where: str) -> int:
    """The reading ``data`` (taken between the two snapshots of the file) against the records: a prefix of
    ``after`` covering all of ``before``; every step once, same values. Returns the train points held."""
    train = [r for r in after if "lr" in r]
    assert len({r["step"] for r in train}) == len(train), f"{where}: the run itself wrote a step twice"
    raw = data.store.table.arrays()
    raw_steps = [int(s) for s in raw.get("step", [])]
    n = len(raw_steps)
    assert n >= sum("lr" in r for r in before), f"{where}: {n} points read, {sum('lr' in r for r in before)} written"
    assert raw_steps == [r["step"] for r in train[:n]], f"{where}: steps differ (lost or doubled): {raw_steps[-8:]}"
    cols = data.store.columns(("loss", "lr"))
    assert [int(s) for s in cols["step"]] == raw_steps, f"{where}: the series differs from the rows read"
    for key in ("loss", "lr"):
        want = [r[key] for r in train[:n]]
        got = [float(v) for v in cols[key]]
        assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(got, want)), f"{where}: {key} differs"
    for kind, key, store in (("val", "acc/top1", data.store.val), ("train_epoch", "train/loss", data.store.train_epoch)):
        done_before = {r["epoch"] for r in before if key in r}
        written = {r["epoch"]: r for r in after if key in r}
        assert done_before <= set(store) <= set(written), f"{where}: {kind} epochs {sorted(store)}"
        assert all(store[e][key] == written[e][key] for e in store), f"{where}: {kind} values differ"
    assert data.store.bad == 0, f"{where}: {data.store.bad} lines not understood"
    return n


# ------------------------------------------------------------------------------------------- the TUI on a pty
class Tui:
    """`python -m epam_tui.cli monitor ROOT` on a pseudo-terminal (120x40), its output drained by a thread."""

    def __init__(self, root: Path):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "epam_tui.cli", "monitor", str(root)], stdin=slave,
                                     stdout=slave, stderr=slave, env=TUI_ENV, cwd=ROOT, start_new_session=True,
                                     close_fds=True)
        os.close(slave)
        self.master = master
        self.out = bytearray()
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the terminal's other side is closed (the TUI is gone)
                return
            if not chunk:
                return
            self.out.extend(chunk)

    def text(self) -> str:
        return ANSI.sub(b"", bytes(self.out)).decode("utf-8", "replace")

    def kill(self) -> None:
        assert self.proc.poll() is None, f"the TUI died by itself ({self.proc.returncode}): {self.text()[-1500:]}"
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL
        self.reader.join(timeout=5)
        os.close(self.master)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


def wait_until(predicate, timeout: float, what: str, step: float = 0.05):
    value = poll_until(predicate, timeout, step)
    if not value:
        raise AssertionError(f"timed out after {timeout} s waiting for {what}")
    return value


def test_tui_sigkilled_repeatedly_while_a_run_trains(tmp_path: Path, tiny_synthetic: Path) -> None:
    root = tmp_path / "wd"
    run_dir = root / "demo"
    scalars = run_dir / "scalars.jsonl"
    sets = tiny_overrides(tiny_synthetic, **{"train.max_epochs": EPOCHS, "scheduler.T_max": EPOCHS})
    launcher = subprocess.Popen([sys.executable, "-m", "epam_tui.cli", "launch", DEMO, "--headless", "--gpus", "cpu",
                                 "--nproc", "1", "--root", str(root), "--name", "demo", "--set", *sets],
                                cwd=ROOT, env=ENV, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    tuis: list[Tui] = []
    rec: dict = {}
    try:
        rec = wait_until(lambda: (r := runs.read_run(run_dir)) and r.get("pid") and r, 60, "run.json with a pid")
        wrapper = psutil.Process(rec["pid"])
        trainer = wait_until(lambda: next((p for p in wrapper.children() if "epam.train" in " ".join(p.cmdline())),
                                          None), 30, "the trainer process")
        born = trainer.create_time()
        wait_until(lambda: any("lr" in r for r in complete_records(scalars)), 90, "the first iteration record")
        launcher.kill()  # the headless follower (the wrapper's parent) dies too: the run is detached
        launcher.wait(timeout=10)

        def trainer_ok(where: str) -> str:
            """'alive' or 'finished'; fails if the trainer was killed or replaced."""
            if trainer.is_running() and trainer.status() != psutil.STATUS_ZOMBIE:
                assert trainer.create_time() == born
                return "alive"
            end = wait_until(lambda: runs.read_exit(run_dir), 10, "exit.json")
            assert end["code"] == 0 and end["signal"] is None, f"{where}: the trainer ended {end}"
            return "finished"

        assert trainer_ok("after killing the launcher") == "alive"
        live = RunWatcher(run_dir)  # a monitor that is never killed: incremental reads throughout
        rng = random.Random(20251125)
        polls = 0

        def poll_live(where: str) -> None:
            nonlocal polls
            before = complete_records(scalars)
            live.poll()
            check_view(live.data, before, complete_records(scalars), f"{where}, incremental reader")
            polls += 1

        states, waits, rendered = [], [], 0
        for i in range(KILLS):
            tui = Tui(root)
            tuis.append(tui)
            before = complete_records(scalars)
            fresh = load_run(run_dir)  # the core's reading of the run as a restarted TUI makes it
            held = check_view(fresh, before, complete_records(scalars), f"restart {i + 1}, fresh reader")
            wait = rng.uniform(0.3, 2.5)
            waits.append(wait)
            while time.monotonic() - tui.started < wait:
                poll_live(f"restart {i + 1}")
                time.sleep(0.05)
            tui.kill()
            rendered += "demo" in tui.text()
            states.append(trainer_ok(f"after kill {i + 1}"))
            print(f"kill {i + 1}: after {wait:.2f} s, fresh reader held {held} points, trainer {states[-1]}")
        print(f"{KILLS} TUI kills, waits {min(waits):.2f}-{max(waits):.2f} s; trainer states {states}; "
              f"the run's name rendered before {rendered} of the kills; {polls} incremental polls checked")
        assert states.count("alive") >= KILLS // 2, "the run ended too early for the kills to matter"

        end = wait_until(lambda: runs.read_exit(run_dir), 120, "the end of the run", step=0.2)
        assert end["code"] == 0 and end["signal"] is None, end
        assert runs.refresh(run_dir)["status"] == "finished"
        records = complete_records(scalars)
        assert [r["step"] for r in records if "lr" in r] == list(range(1, EPOCHS * ITERS + 1))
        for where, data in (("final, fresh reader", load_run(run_dir)), ("final, incremental reader", None)):
            if data is None:
                live.poll()
                data = live.data
            assert check_view(data, records, records, where) == EPOCHS * ITERS
            assert sorted(data.store.val) == list(range(1, EPOCHS + 1)) and data.state == "finished", where

        # a last TUI session shows the run's row finished at its last epoch, then is killed too
        tui = Tui(root)
        tuis.append(tui)
        row = re.compile(rf"\bdemo\b.*\bfinished\b.*\b{EPOCHS}/{EPOCHS}\b")
        if not poll_until(lambda: any(row.search(line) for line in tui.text().splitlines()), 30, 0.05):
            raise AssertionError(f"timed out after 30 s waiting for the TUI to show the run finished at epoch "
                                 f"{EPOCHS}/{EPOCHS}; TUI {'alive' if tui.proc.poll() is None else 'exited'}"
                                 f" ({tui.proc.returncode}); its screen output ended: {tui.text()[-2000:]!r}")
        tui.kill()
    finally:
        for tui in tuis:
            tui.close()
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
        if rec.get("pgid"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(rec["pgid"], signal.SIGKILL)
