"""Constraints: evaluator violations + user limits, handed to Optuna with ``trial.set_constraint``.

Optuna 5 stores each constraint as the trial system attribute ``constraints:<name>`` (set with
``Trial.set_constraint``) and every constrained sampler (TPE, NSGA-II/III, GP) reads them from the
trial; ``constraints_func`` is deprecated. A trial is feasible when every value is ≤ 0. Every trial
gets the same names, in the same order:

- every violation name of the evaluator (``llmhw.violations.CONSTRAINT_NAMES``), amount > 0 meaning
  violated, in the quantity's unit;
- one per user limit (``llmhw.violations.USER_LIMITS``, e.g. ``max_ttft_s`` = ttft_s − limit);
- ``nonfinite_objective`` (``llmhw.violations.NONFINITE_OBJECTIVE``): 1 when an objective value is
  NaN/inf (the value Optuna sees is a penalty).

The value given to Optuna is ``sign(v)·log1p(|v|)`` of the honest amount: the same sign (so the
same feasibility), but amounts in bytes no longer swamp amounts in W or mm² when NSGA-II sums the
violations of two infeasible trials. The honest amounts are stored as the ``violations`` user attr.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from llmhw.errors import UsageError
from llmhw.violations import CONSTRAINT_NAMES, NONFINITE_OBJECTIVE
from llmhw.violations import USER_LIMITS as _LIMIT_REGISTRY

#: limit key → (metric, 'max'|'min', constraint name), from the registry ``llmhw.violations.USER_LIMITS``
USER_LIMITS: dict[str, tuple[str, str, str]] = {key: (metric, kind, name)
                                                for name, (metric, kind, key, _) in _LIMIT_REGISTRY.items()}
NONFINITE = NONFINITE_OBJECTIVE
#: finite stand-in for an infinite / NaN violation amount.
BIG = 1e30


@dataclass(frozen=True)
class Limit:
    flag: str
    metric: str
    kind: str      # 'max' | 'min'
    value: float
    name: str

    def amount(self, metrics: Mapping[str, float]) -> float:
        v = float(metrics.get(self.metric, math.nan))
        if math.isnan(v):
            return math.inf
        return v - self.value if self.kind == "max" else self.value - v


def parse_limits(values: Mapping[str, float | None]) -> list[Limit]:
    """User limits from ``{'max_ttft': 0.5, ...}`` (None = not given)."""
    out = []
    for flag, (metric, kind, name) in USER_LIMITS.items():
        v = values.get(flag)
        if v is None:
            continue
        v = float(v)
        if not math.isfinite(v) or v < 0:
            raise UsageError(f"--{flag.replace('_', '-')} must be a finite number >= 0, got {v}")
        out.append(Limit(flag, metric, kind, v, name))
    return out


def to_optuna(amount: float) -> float:
    """Sign-preserving compression of a violation amount; NaN → violated, ±inf → ±large."""
    a = float(amount)
    if math.isnan(a):
        a = BIG
    a = max(-BIG, min(BIG, a))
    return math.copysign(math.log1p(abs(a)), a)


class ConstraintSet:
    """The fixed, ordered constraint names of a study and their evaluation for one Result."""

    def __init__(self, limits: Sequence[Limit] = (), evaluator_names: Sequence[str] = CONSTRAINT_NAMES):
        self.limits = list(limits)
        self.evaluator_names = tuple(evaluator_names)
        self.names: tuple[str, ...] = (self.evaluator_names + tuple(l.name for l in self.limits)
                                       + (NONFINITE,))

    def amounts(self, violations: Mapping[str, float], metrics: Mapping[str, float],
                objective_values: Sequence[float]) -> dict[str, float]:
        """Honest amounts for every name (> 0 = violated)."""
        out = {n: float(violations.get(n, 0.0)) for n in self.evaluator_names}
        for l in self.limits:
            out[l.name] = l.amount(metrics)
        out[NONFINITE] = 0.0 if all(math.isfinite(float(v)) for v in objective_values) else 1.0
        return out

    @staticmethod
    def feasible(amounts: Mapping[str, float]) -> bool:
        return all(not (v > 0) and not math.isnan(v) for v in amounts.values())

    def describe(self) -> dict:
        return {"names": list(self.names),
                "limits": [{"flag": l.flag, "metric": l.metric, "kind": l.kind, "value": l.value}
                           for l in self.limits],
                "optuna_value": "sign(v)*log1p(|v|) of the honest amount v"}
