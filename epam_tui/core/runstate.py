"""Run-state wording shared by the registry, the run table and the headless commands: where a run
trains (``device_label``), when a live run counts as stalled (``stall_threshold``), durations in words."""

from __future__ import annotations

# states whose reason is news (the row alone does not say it): shown by `epam-tui status` and under the monitor's table
SHOW_REASON = ("failed", "stalled", "stopped", "unreadable", "idle", "queued")
STALL_FACTOR = 5.0
STALL_MIN_S = 60.0


def device_label(status: dict | None, run_json: dict | None) -> str:
    """Where a run trains, as the run table and ``epam-tui status`` say it.

    ``status.json``'s ``device`` ("cpu" | "cuda", written by the trainer) against ``run.json``'s ``gpus``:
    "cuda 0,1" (trained on CUDA with those GPUs), "cpu (asked 0,1)" (GPUs were picked but it trains on the
    CPU), "cpu" (none asked), "" when the trainer has not said (old runs, foreign runs)."""
    device = (status or {}).get("device") if isinstance(status, dict) else None
    gpus = (run_json or {}).get("gpus") if isinstance(run_json, dict) else None
    indices = []
    if isinstance(gpus, list):
        for g in gpus:
            idx = g.get("index") if isinstance(g, dict) else None
            if isinstance(idx, int) and not isinstance(idx, bool):
                indices.append(str(idx))
    asked = ",".join(indices)
    if not isinstance(device, str):
        return ""
    device = device.strip().lower()
    if device.startswith("cuda"):
        return f"cuda {asked}" if asked else "cuda"
    if device == "cpu":
        return f"cpu (asked {asked})" if asked else "cpu"
    return ""


def stall_threshold(interval: float | None) -> tuple[float, str]:
    """(seconds without a new record after which a live run is stalled, the rule in words): 5x the run's
    own median interval between records, at least ``STALL_MIN_S`` (a loaded machine's slow steps are not
    a stall)."""
    if interval is None:
        return STALL_MIN_S, f"no step interval known yet; limit {STALL_MIN_S:.0f} s"
    limit = max(STALL_FACTOR * interval, STALL_MIN_S)
    rule = f"{STALL_FACTOR:.0f}x the median {fmt_duration(interval)} step interval"
    return limit, rule if limit > STALL_MIN_S else f"{rule}, at least {STALL_MIN_S:.0f} s"


def stall_reason(now: float, last_update: float | None, interval: float | None) -> str | None:
    """Why a live run counts as stalled, or None while it does not: no new record for longer than
    ``stall_threshold``. A run whose update time is not known yet (nothing read: ``last_update`` 0 or
    None) is never stalled: there is no "since" to measure from."""
    if not last_update or last_update <= 0:
        return None
    limit, why = stall_threshold(interval)
    if now - last_update > limit:
        return f"no new step for {fmt_duration(now - last_update)} ({why})"
    return None


def fmt_duration(seconds: float) -> str:
    """"48 s", "4 min", "2.5 h"."""
    if seconds < 100:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
