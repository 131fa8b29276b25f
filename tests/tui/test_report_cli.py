"""`epam-tui report RUN RUN -o DIR`: report.md with both runs, their config diff and non-empty PNGs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.tui.test_diagnose_compare_report import fake_run

ROOT = Path(__file__).resolve().parents[2]


def test_report_command_two_runs(tmp_path: Path) -> None:
    a = fake_run(tmp_path, "baseline", [4.0 * 0.97 ** i for i in range(12)], [0.5, 0.8, 0.96], [0.5, 0.7, 0.85])
    b = fake_run(tmp_path, "optimized", [4.0 * 0.9 ** i for i in range(16)], [0.6, 0.9, 0.95, 0.97],
                 [0.6, 0.9, 0.93, 0.95])
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "-m", "epam_tui.cli", "report", str(a), str(b), "-o", str(out)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    text = (out / "report.md").read_text()
    assert "| baseline |" in text and "| optimized |" in text and "| train.max_epochs | 3 | 4 |" in text
    assert "**overfitting**" in text  # baseline: 96% train vs 85% val
    for name in ("loss.png", "lr.png", "accuracy.png"):
        data = (out / name).read_bytes()
        assert data[:4] == b"\x89PNG" and len(data) > 5000
    bad = subprocess.run([sys.executable, "-m", "epam_tui.cli", "report", str(tmp_path / "nope")],
                         capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "not a run directory" in bad.stderr
