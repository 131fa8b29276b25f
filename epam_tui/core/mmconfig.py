"""Read the LR schedule of an MMEngine/MMAction2 ``work_dir`` without running its Python config.

MMEngine dumps the resolved config of a run as ``<work_dir>/<name>.py`` (and ``<ts>/vis_data/config.py``):
plain assignments of literals and ``dict(...)`` calls. ``read_py_config`` evaluates exactly that subset
with ``ast`` (literals, ``dict(k=v)``, lists, tuples, names assigned earlier, arithmetic on numbers);
nothing is imported or executed, and a variable it cannot evaluate is left out. ``to_epam_config``
turns ``optim_wrapper.optimizer.lr``, ``train_cfg.max_epochs`` and ``param_scheduler`` into the
``optimizer`` / ``scheduler`` / ``train`` sections that ``epam.schedule.expected_lr`` reads, so a run
this program did not start gets the same expected-LR overlay and schedule check as ours.
"""

from __future__ import annotations

import ast
import operator
from pathlib import Path
from typing import Any

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_SUPPORTED = {"MultiStepLR", "CosineAnnealingLR", "LinearLR", "StepLR", "ConstantLR"}
MAX_SOURCE = 1 << 20  # a dumped config is a few KB


class Unsupported(Exception):
    """An expression outside the literal subset."""


def _eval(node: ast.AST, env: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e, env) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise Unsupported("** in a dict display")
        return {_eval(k, env): _eval(v, env) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        if any(kw.arg is None for kw in node.keywords):
            raise Unsupported("dict(**...)")
        return {kw.arg: _eval(kw.value, env) for kw in node.keywords}
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        raise Unsupported(f"name {node.id}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand, env)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left, env), _eval(node.right, env)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            if isinstance(node.op, ast.Pow) and abs(right) > 64:
                raise Unsupported("large power")
            try:
                return _BINOPS[type(node.op)](left, right)
            except (ArithmeticError, ValueError) as exc:
                raise Unsupported(str(exc)) from exc
    raise Unsupported(type(node).__name__)


def read_py_config(path: str | Path) -> dict[str, Any]:
    """The top-level variables of a dumped MMEngine config that are literals ({} when unreadable)."""
    try:
        source = Path(path).read_bytes()[:MAX_SOURCE].decode("utf-8", "replace")
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError, RecursionError):
        return {}
    env: dict[str, Any] = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            try:
                env[stmt.targets[0].id] = _eval(stmt.value, env)
            except (Unsupported, RecursionError, TypeError):
                env.pop(stmt.targets[0].id, None)
    return env


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _whole(value: Any) -> int:
    """A count in epochs as an int; ValueError for a fraction (MMEngine accepts ``end=2.5`` with
    ``convert_to_iter_based``, our schedules count whole epochs: no overlay beats a shifted one)."""
    number = _num(value)
    if number is None or not number.is_integer():
        raise ValueError(f"not a whole number of epochs: {value!r}")
    return int(number)


def _one(spec: dict, base_lr: float, length: int) -> dict | None:
    """One MMEngine scheduler (counts in epochs, ``length`` = end - begin) as an epam scheduler spec."""
    kind = spec.get("type")
    if kind not in _SUPPORTED:
        return None
    if kind == "CosineAnnealingLR":
        eta = _num(spec.get("eta_min"))
        if eta is None and _num(spec.get("eta_min_ratio")) is not None:
            eta = base_lr * float(spec["eta_min_ratio"])
        return {"type": kind, "T_max": _whole(spec.get("T_max") or length), "eta_min": eta or 0.0}
    if kind == "MultiStepLR":
        return {"type": kind, "milestones": [_whole(m) for m in spec.get("milestones", [])],
                "gamma": float(spec.get("gamma", 0.1))}
    if kind == "StepLR":
        return {"type": kind, "step_size": _whole(spec["step_size"]), "gamma": float(spec.get("gamma", 0.1))}
    if kind == "LinearLR":
        return {"type": kind, "start_factor": float(spec.get("start_factor", 1.0 / 3)),
                "end_factor": float(spec.get("end_factor", 1.0)), "total_iters": length}
    return {"type": kind, "factor": float(spec.get("factor", 1.0 / 3)), "total_iters": length}  # ConstantLR


def to_epam_config(mm: dict[str, Any]) -> dict | None:
    """``{"optimizer": {"lr"}, "scheduler": {...}, "train": {"max_epochs"}}`` from a dumped MMEngine
    config, or None when its schedule is not one we can reproduce (iteration-counted schedulers,
    unknown types, overlapping ranges)."""
    try:
        optimizer = (mm.get("optim_wrapper") or {}).get("optimizer") or mm.get("optimizer") or {}
        lr = _num(optimizer.get("lr"))
        epochs = (mm.get("train_cfg") or {}).get("max_epochs")
        scheds = mm.get("param_scheduler")
        if lr is None or not isinstance(epochs, int) or epochs < 1 or scheds is None:
            return None
        scheds = [scheds] if isinstance(scheds, dict) else list(scheds)
        if not scheds or not all(isinstance(s, dict) and s.get("by_epoch", True) for s in scheds):
            return None  # iteration-counted schedules need the iterations per epoch of the config: not read
        per_iter = {bool(s.get("convert_to_iter_based", False)) for s in scheds}
        if len(per_iter) != 1:
            return None
        spans = sorted(((_whole(s.get("begin", 0)), _whole(s.get("end", epochs)), s) for s in scheds), key=lambda x: x[0])
        parts, milestones, at = [], [], 0
        for begin, end, spec in spans:
            end = min(end, epochs)
            if begin < at or end <= begin:
                return None  # overlapping or empty ranges: MMEngine chains them; we do not
            if begin > at:  # a gap: the base lr
                parts.append({"type": "ConstantLR", "factor": 1.0, "total_iters": begin - at})
                milestones.append(begin)
            one = _one(spec, lr, end - begin)
            if one is None:
                return None
            if parts and not milestones[-1:] == [begin]:
                milestones.append(begin)
            parts.append(one)
            at = end
        scheduler = parts[0] if len(parts) == 1 else {"type": "SequentialLR", "schedulers": parts,
                                                       "milestones": milestones}
        scheduler["by_epoch"] = not per_iter.pop()
        return {"optimizer": {"lr": lr}, "scheduler": scheduler, "train": {"max_epochs": epochs},
                "source": "mmengine config"}
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def find_config(work_dir: Path) -> Path | None:
    """The dumped config of an MMEngine work_dir: the newest ``<ts>/vis_data/config.py``, else the
    newest top-level ``*.py``."""
    try:
        dumped = sorted(work_dir.glob("*/vis_data/config.py"), key=lambda p: p.parent.parent.name)
        if dumped:
            return dumped[-1]
        top = sorted(work_dir.glob("*.py"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return None
    return top[-1] if top else None
