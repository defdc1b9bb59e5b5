"""Objectives: evaluator metrics selected by name, with their directions (issue 4).

Directions come from the metrics registry ``llmhw.metrics`` (name → (direction, unit, description)). A name may be given exactly
(``tco_per_mtoken_usd``), by an alias (``throughput``) or by a unique prefix ending before the unit
(``tco_per_mtoken`` → ``tco_per_mtoken_usd``, ``tpot`` → ``tpot_s``).

Optuna never sees NaN or ±inf: a non-finite objective value is replaced by :data:`PENALTY` (in the
objective's bad direction) and the trial is made infeasible by the ``nonfinite_objective``
constraint; the honest value is kept as a user attribute (as a string).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from llmhw.errors import UsageError
from llmhw.metrics import METRICS


ALIASES = {
    "tco": "tco_per_mtoken_usd",
    "throughput": "throughput_tok_per_s",
    "latency": "e2e_latency_s",
    "power": "power_w",
    "energy": "energy_per_token_j",
    "cost": "capex_usd",
}

DEFAULT_OBJECTIVES = ("tco_per_mtoken", "tpot", "throughput")

#: the finite stand-in for a non-finite objective value (sign chosen so it is the worst).
PENALTY = 1e30


def metrics_table() -> dict[str, tuple[str, str, str]]:
    """The evaluator's metrics: name → (direction, unit, description)."""
    return dict(METRICS)


@dataclass(frozen=True)
class Objective:
    name: str          # the evaluator metric
    direction: str     # 'minimize' | 'maximize'
    unit: str = ""

    @property
    def sign(self) -> float:
        """+1 to minimise, -1 to maximise (value × sign is a loss)."""
        return 1.0 if self.direction == "minimize" else -1.0

    def sanitise(self, value: float) -> float:
        """A finite value for Optuna: NaN/±inf become the worst-direction PENALTY."""
        v = float(value)
        if math.isfinite(v):
            return v
        return PENALTY * self.sign


def resolve(name: str, table: Mapping[str, tuple] | None = None) -> str:
    """The metric name for ``name`` (exact, alias, or unique prefix); UsageError otherwise."""
    table = metrics_table() if table is None else table
    key = name.strip()
    if key in table:
        return key
    if key in ALIASES and ALIASES[key] in table:
        return ALIASES[key]
    matches = [m for m in table if m.startswith(key + "_")]
    # prefer a match whose remainder is just the unit (tpot → tpot_s, not tpot_something_s)
    exact_unit = [m for m in matches if m[len(key) + 1:] in _UNIT_SUFFIXES]
    if len(exact_unit) == 1:
        return exact_unit[0]
    if len(matches) == 1:
        return matches[0]
    import difflib
    close = difflib.get_close_matches(key, list(table) + list(ALIASES), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    what = "ambiguous objective" if matches else "unknown objective"
    raise UsageError(f"{what} {name!r}{hint}; choose from: {', '.join(sorted(table))}")


_UNIT_SUFFIXES = {"s", "usd", "w", "j", "mm2", "tok_per_s", "bytes"}


def parse_objectives(spec: str | Sequence[str] | None) -> list[Objective]:
    """Objectives from ``'a,b,c'`` or a list of names (default: tco_per_mtoken, tpot, throughput)."""
    table = metrics_table()
    if spec is None:
        names = list(DEFAULT_OBJECTIVES)
    elif isinstance(spec, str):
        names = [s for s in (x.strip() for x in spec.split(",")) if s]
    else:
        names = list(spec)
    if not names:
        raise UsageError("--objectives needs at least one metric name")
    out: list[Objective] = []
    for n in names:
        m = resolve(n, table)
        if any(o.name == m for o in out):
            raise UsageError(f"objective {m!r} given twice in --objectives")
        direction, unit = table[m][0], table[m][1]
        if direction not in ("minimize", "maximize"):
            raise UsageError(f"metric {m!r} has no direction ({direction!r}); it cannot be an objective")
        out.append(Objective(m, direction, unit))
    return out
