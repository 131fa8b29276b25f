"""Read the LR schedule of an MMEngine/MMAction2 ``work_dir`` without running its Python config.

MMEngine dumps the resolved config of a run as ``<work_dir>/<name>.py`` (and ``<ts>/vis_data/config.py``):
plain assignments of literals and ``dict(...)`` calls. ``read_py_config`` evaluates exactly that subset
with ``ast`` (literals, ``dict(k=v)``, lists, tuples, names assigned earlier, arithmetic on numbers);
nothing is imported or executed, and a variable it cannot evaluate is left out. ``to_epam_config``
turns ``optim_wrapper.optimizer.lr``, ``train_cfg.max_epochs`` and ``param_scheduler`` into the
``optimizer`` / ``scheduler`` / ``train`` sections that ``epam.schedule.expected_lr`` reads, so a run
this program did not start gets the same expected-LR overlay and schedule check as ours.

Evaluation is bounded as a whole, not per operation: one budget of ``MAX_NODES`` expression nodes for
the file, every intermediate integer at most ``MAX_INT_BITS`` bits (checked before a power or product is
computed), expressions at most ``MAX_DEPTH`` deep; the source is read as a regular file of at most
``MAX_SOURCE`` bytes. A hostile config (``b = a ** 64; c = b ** 64``) loses those variables, never the
process's time.
"""

from __future__ import annotations

import ast
import math
import operator
from pathlib import Path
from typing import Any

from epam.config_schema import MAX_EPOCHS
from epam_tui.core.tail import read_bounded

_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow}
_SUPPORTED = {"MultiStepLR", "CosineAnnealingLR", "LinearLR", "StepLR", "ConstantLR"}
MAX_SOURCE = 1 << 20  # a dumped config is a few KB


MAX_NODES = 200_000  # expression nodes evaluated in one file, all statements together
MAX_INT_BITS = 4096  # the largest integer any step may build (about 10**1233); a config needs < 64
MAX_DEPTH = 100  # nesting of one expression


class Unsupported(Exception):
    """An expression outside the literal subset, or a number over ``MAX_INT_BITS``."""


class OverBudget(Exception):
    """The file needs more than ``MAX_NODES`` evaluation steps: reading stops there."""


class _Budget:
    """What evaluating one file may cost: every node counts against one total, every number is bounded,
    so ``a = 10; b = a ** 64; c = b ** 64`` stops at ``c`` (its size is known before it is computed)."""

    def __init__(self, nodes: int = MAX_NODES, bits: int = MAX_INT_BITS) -> None:
        self.nodes, self.bits = nodes, bits

    def step(self) -> None:
        self.nodes -= 1
        if self.nodes < 0:
            raise OverBudget(f"more than {MAX_NODES:,} expression nodes")

    def arith(self, op: type, left: int | float, right: int | float) -> int | float:
        """``left op right`` when its result stays within the bit budget (estimated before computing)."""
        if isinstance(left, int) and isinstance(right, int):
            lb, rb = left.bit_length(), right.bit_length()
            if op is ast.Pow and right > 0 and abs(left) > 1 and lb * right > self.bits:
                raise Unsupported(f"{lb}-bit number to the power {right}: over {self.bits} bits")
            if op is ast.Mult and lb + rb > self.bits + 1:
                raise Unsupported(f"product over {self.bits} bits")
        try:
            result = _BINOPS[op](left, right)
        except (ArithmeticError, ValueError) as exc:
            raise Unsupported(str(exc)) from exc
        if isinstance(result, int) and result.bit_length() > self.bits:
            raise Unsupported(f"number over {self.bits} bits")
        if not isinstance(result, (int, float)):  # (-8) ** 0.5 is complex
            raise Unsupported(type(result).__name__)
        return result


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _eval(node: ast.AST, env: dict[str, Any], budget: _Budget | None = None, depth: int = 0) -> Any:
    budget = budget if budget is not None else _Budget()
    budget.step()
    if depth > MAX_DEPTH:
        raise Unsupported(f"nested deeper than {MAX_DEPTH}")
    sub = depth + 1
    if isinstance(node, ast.Constant):
        if isinstance(node.value, int) and not isinstance(node.value, bool) and node.value.bit_length() > budget.bits:
            raise Unsupported(f"number over {budget.bits} bits")
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e, env, budget, sub) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise Unsupported("** in a dict display")
        return {_eval(k, env, budget, sub): _eval(v, env, budget, sub) for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args:
        if any(kw.arg is None for kw in node.keywords):
            raise Unsupported("dict(**...)")
        return {kw.arg: _eval(kw.value, env, budget, sub) for kw in node.keywords}
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        raise Unsupported(f"name {node.id}")
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _eval(node.operand, env, budget, sub)
        if _number(value):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left, right = _eval(node.left, env, budget, sub), _eval(node.right, env, budget, sub)
        if _number(left) and _number(right):
            return budget.arith(type(node.op), left, right)
    raise Unsupported(type(node).__name__)


def read_py_config(path: str | Path) -> dict[str, Any]:
    """The top-level variables of a dumped MMEngine config that are literals ({} when unreadable).
    Evaluation has one budget for the whole file (``_Budget``): a variable over it is left out, and
    once the file has used ``MAX_NODES`` steps the variables read so far are returned."""
    try:
        source = read_bounded(path, MAX_SOURCE).data.decode("utf-8", "replace")  # regular files only
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError, RecursionError, MemoryError):
        return {}
    env: dict[str, Any] = {}
    budget = _Budget()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            try:
                env[stmt.targets[0].id] = _eval(stmt.value, env, budget)
            except (Unsupported, RecursionError, TypeError):
                env.pop(stmt.targets[0].id, None)
            except OverBudget:
                env.pop(stmt.targets[0].id, None)
                break
    return env


def _num(value: Any) -> float | None:
    """A finite number as a float, else None (an int past float range is None, not an OverflowError)."""
    if not _number(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


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
        if lr is None or not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS or scheds is None:
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
