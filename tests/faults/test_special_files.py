"""Run-directory files that are not what they seem (issue 19 item 8): a FIFO ``train.log`` hung
``checklist``; ``train.log -> /dev/zero`` and a 20 GB sparse ``scalars.jsonl`` exhausted memory.

Only regular files are read (``core/tail.py``: ``open_regular``, ``read_bounded``, ``read_lines``,
``Tailer``), by chunks, with sparse holes skipped; what was skipped is said. The headless commands run
in a subprocess under ``timeout`` and report their peak RSS, so a hang is a timeout and a whole-file
read is a memory figure, not a frozen test run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from epam_tui.core.registry import load_run
from epam_tui.core.tail import Tailer, open_regular, read_bounded, read_lines

pytestmark = pytest.mark.faults

FIXTURE = Path(__file__).parents[1] / "tui" / "fixtures" / "runs" / "demo-finished"
TIMEOUT_S = 120  # a hang ends here (the command itself takes seconds)
MAX_RSS_MB = 600  # the CLI with numpy/yaml loaded is ~100 MB; reading /dev/zero or 20 GB whole is not
RUNNER = """
import resource, sys
from epam_tui.cli import main
code = main(sys.argv[1:])
print("MAXRSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)
sys.exit(code)
"""


def cli(*args: str) -> tuple[int, str, str, float]:
    """(exit code, stdout, stderr, peak RSS in MB) of ``epam-tui ARGS`` under ``timeout``."""
    proc = subprocess.run(["timeout", str(TIMEOUT_S), sys.executable, "-c", RUNNER, *args],
                          capture_output=True, text=True, timeout=TIMEOUT_S + 30)
    assert proc.returncode != 124, f"epam-tui {' '.join(args)} hung (killed by timeout after {TIMEOUT_S} s)"
    rss = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("MAXRSS_KB")]
    assert rss, f"no RSS figure: the command died (rc {proc.returncode}): {proc.stderr[-2000:]}"
    return proc.returncode, proc.stdout, proc.stderr, rss[0] / 1024


def run_dir(tmp_path: Path, keep_scalars: bool = True) -> Path:
    d = tmp_path / "run"
    shutil.copytree(FIXTURE, d)
    if not keep_scalars:
        (d / "scalars.jsonl").unlink()
    return d


# ------------------------------------------------------------------------------ the readers
def test_open_regular_refuses_fifo_device_and_directory(tmp_path: Path) -> None:
    fifo = tmp_path / "train.log"
    os.mkfifo(fifo)  # no writer: a blocking open() would wait for ever
    zero = tmp_path / "zero.log"
    zero.symlink_to("/dev/zero")
    assert open_regular(fifo)[2] == "train.log is not a regular file (FIFO): skipped"
    assert open_regular(zero)[2] == "zero.log is not a regular file (character device): skipped"
    assert open_regular(tmp_path)[2].endswith("is not a regular file (directory): skipped")
    assert open_regular(tmp_path / "missing") == (None, None, "")
    assert read_bounded(fifo, 100).note and read_lines(zero).note and read_lines(zero).lines == []
    tailer = Tailer(fifo)
    assert tailer.read() == [] and "FIFO" in tailer.note


def test_sparse_hole_is_skipped_and_the_lines_after_it_read(tmp_path: Path) -> None:
    """20 GB of hole then a valid record: the hole (one garbage 'line') is counted, not read; the record
    after it is parsed. Without SEEK_DATA the 20 GB would be read (or, before, allocated at once)."""
    path = tmp_path / "scalars.jsonl"
    with open(path, "wb") as fh:
        fh.write(b'{"lr": 0.1, "loss": 1.0, "step": 1, "epoch": 1}\n')
        fh.truncate(20 << 30)
        fh.seek(0, 2)
        fh.write(b'\n{"lr": 0.1, "loss": 0.5, "step": 2, "epoch": 1}\n')
    got = read_lines(path)
    assert [json.loads(line)["step"] for line in got.lines] == [1, 2] and got.skipped == 1
    tailer = Tailer(path)
    assert len(tailer.read(limit=8 << 20)) == 1  # a budgeted read stops inside the hole...
    assert len(tailer.read()) == 1 and tailer.skipped == 1  # ...and the next one jumps it


def test_read_bounded_cuts_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "config.py"
    path.write_bytes(b"x = 1\n" * 1000)
    got = read_bounded(path, 600)
    assert len(got.data) == 600 and not got.complete and got.note == "config.py is 5.9 KiB: read its first 600 bytes"
    assert read_bounded(path, 600, tail=True).data == (b"x = 1\n" * 100)


def test_status_json_fifo_is_unreadable_not_a_hang(tmp_path: Path) -> None:
    d = run_dir(tmp_path)
    (d / "status.json").unlink()
    os.mkfifo(d / "status.json")
    run = load_run(d)
    assert run.state == "unreadable" and run.reason == "unreadable status.json: is not a regular file (FIFO): skipped"


def test_config_yaml_fifo_and_device_are_not_parsed(tmp_path: Path) -> None:
    d = run_dir(tmp_path)
    (d / "config.yaml").unlink()
    os.mkfifo(d / "config.yaml")
    run = load_run(d)
    assert run.config is None and "config.yaml is not a regular file (FIFO): skipped" in run.notes
    (d / "config.yaml").unlink()
    (d / "config.yaml").symlink_to("/dev/zero")
    assert "config.yaml is not a regular file (character device): skipped" in load_run(d).notes


# ------------------------------------------------------------------------------ the headless commands
@pytest.mark.parametrize("command", ["status", "checklist", "export"])
def test_fifo_train_log(tmp_path: Path, command: str) -> None:
    d = run_dir(tmp_path, keep_scalars=False)
    (d / "train.log").unlink()
    os.mkfifo(d / "train.log")
    args = {"status": [str(d)], "checklist": [str(d)], "export": [str(d), "--json"]}[command]
    code, out, err, rss = cli(command, *args)
    assert code in (0, 1), err  # checklist exits 1 when an item fails
    if command == "status":
        assert "train.log is not a regular file (FIFO): skipped" in out
    if command == "checklist":
        assert "train.log is not a regular file (FIFO): skipped" in err


@pytest.mark.parametrize("command", ["status", "checklist"])
def test_train_log_symlink_to_dev_zero(tmp_path: Path, command: str) -> None:
    d = run_dir(tmp_path, keep_scalars=False)
    (d / "train.log").unlink()
    (d / "train.log").symlink_to("/dev/zero")
    code, out, err, rss = cli(command, str(d))
    assert code in (0, 1), err
    assert rss < MAX_RSS_MB, f"{rss:.0f} MB peak RSS"
    if command == "status":
        assert "train.log is not a regular file (character device): skipped" in out


@pytest.mark.parametrize("command", ["status", "checklist", "export"])
def test_sparse_20gb_scalars(tmp_path: Path, command: str) -> None:
    d = run_dir(tmp_path)
    with open(d / "scalars.jsonl", "ab") as fh:
        fh.truncate(20 << 30)  # 20 GB, no block allocated
    args = {"status": [str(d), "--json"], "checklist": [str(d)], "export": [str(d), "--json"]}[command]
    code, out, err, rss = cli(command, *args)
    assert code in (0, 1), err
    assert rss < MAX_RSS_MB, f"{rss:.0f} MB peak RSS"
    if command == "status":
        (summary,) = json.loads(out)
        assert summary["bad_lines"] == 1 and summary["step"] == 50  # the fixture's records, then the hole


def test_sparse_20gb_train_log_is_also_fine(tmp_path: Path) -> None:
    d = run_dir(tmp_path, keep_scalars=False)
    with open(d / "train.log", "ab") as fh:
        fh.truncate(20 << 30)
    code, out, err, rss = cli("checklist", str(d))
    assert code in (0, 1), err
    assert rss < MAX_RSS_MB, f"{rss:.0f} MB peak RSS"
