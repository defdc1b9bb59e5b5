"""One evaluation turned into what Optuna and the study store: values, constraints, user attrs.

Optuna never sees NaN/inf: objectives are sanitised (:meth:`Objective.sanitise`), constraint values
compressed and bounded (:func:`~llmhw.search.constraints.to_optuna`); the honest numbers stay in the
user attrs (non-finite ones as strings such as ``"inf"``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .constraints import ConstraintSet, to_optuna
from .objectives import Objective


@dataclass(frozen=True)
class Outcome:
    values: tuple[float, ...] | None       # None: the evaluation failed (trial FAIL)
    constraints: dict[str, float]          # name → value for Optuna
    user_attrs: dict[str, Any]
    feasible: bool


def attr_value(v: Any) -> Any:
    """A JSON-safe attribute value: finite floats as floats, non-finite as strings."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    if isinstance(v, Mapping):
        return {str(k): attr_value(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [attr_value(x) for x in v]
    try:
        f = float(v)  # numpy scalars
    except (TypeError, ValueError):
        return repr(v)
    return attr_value(int(f) if f.is_integer() and "int" in type(v).__name__ else f)


def from_result(result: Any, objectives: list[Objective], constraints: ConstraintSet,
                compat: str) -> Outcome:
    metrics = result.metrics
    raw = [float(metrics.get(o.name, math.nan)) for o in objectives]
    values = tuple(o.sanitise(v) for o, v in zip(objectives, raw))
    amounts = constraints.amounts(result.violations, metrics, raw)
    feasible = ConstraintSet.feasible(amounts)
    attrs: dict[str, Any] = {str(k): attr_value(v) for k, v in metrics.items()}
    attrs["feasible"] = feasible
    attrs["violations"] = {k: attr_value(v) for k, v in amounts.items()}
    attrs["design"] = attr_value(dict(result.design))
    if result.reasons:
        attrs["reasons"] = [str(r) for r in result.reasons]
    attrs["fidelity"] = compat
    return Outcome(values, {n: to_optuna(a) for n, a in amounts.items()}, attrs, feasible)


def failed(error: BaseException, tb: str, compat: str, design: Any = None) -> Outcome:
    """A FAIL trial: the error, its traceback and (when known) the concrete design as user attrs."""
    attrs = {"feasible": False, "error": f"{type(error).__name__}: {error}"[:1000],
             "traceback": tb[-4000:], "fidelity": compat}
    if design is not None:
        try:
            attrs["design"] = attr_value(design)
        except Exception:  # noqa: BLE001 - the failure record must never fail itself
            attrs["design"] = repr(design)[:4000]
    return Outcome(None, {}, attrs, False)


def design_of(point: Any) -> dict[str, Any]:
    """The concrete design of a DesignPoint (for the attrs of a failed trial)."""
    from dataclasses import fields, is_dataclass
    if not is_dataclass(point):
        return {"point": repr(point)[:2000]}
    out = {f.name: getattr(point, f.name) for f in fields(point)}
    if isinstance(out.get("system"), Mapping):
        out["system"] = {k: v for k, v in out["system"].items() if k != "model"}
    return out
