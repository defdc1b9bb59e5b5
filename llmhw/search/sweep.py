"""The mapping sweep (``--sweep``, on by default except for the ``grid`` sampler): every hardware a run
reaches is given its best mappings at once.

A trial is one design: a hardware × system combination (the non-mapping dimensions) with one batch and
one mapping. The mapping is an inner problem with an exact, cheap answer: the evaluator's grid driver
scores every mapping of one combination at once (:meth:`llmhw.evaluate.Problem.mapping_grid`: the 1,650
mappings of a GPT-3 front hardware of the speed grid in 4 ms of CPU, against 1.4 s one point at a time). A
sampler that must *walk* to a hardware's best mappings spends tens to hundreds of trials on it and, on the
speed grid, that is what left runs short of the true front (``docs/search-quality.md`` §20–§22).

So, after each batch, for every trial whose hardware and system are valid (any mapping, feasible or not)
and whose combination has not been swept yet, the runner asks :meth:`MappingSweep.propose` for the
combination's mappings that

1. meet the user limits (``--max-tpot`` …) and have finite objectives,
2. are not dominated by another mapping of the same combination (its own front), and
3. are not weakly dominated by the run's feasible front so far (they would join it now; adding points
   never brings a dominated one back, so nothing is lost by dropping the others),

encoded as params (:meth:`SearchSpace.encode`). The runner queues them as ordinary trials, so the evaluator
scores each one point by point, every stored trial is still one design and ``--trials`` counts them; the
grid's own evaluations are not trials (the run's statistics count them: ``RunStats.grid_mappings``). With
the sweep on, the runner tells ``pls`` that the batch and mapping dimensions are settled (:attr:`settled`),
so its walk moves only the hardware and system.

The sweep needs every objective and limit to be a metric the grid carries (``Metric.grid_value``), an
explicit mapping (not ``--mapping best``, a ``default_mapping`` or a serving space); otherwise
:attr:`MappingSweep.unavailable` says why and the run goes on without it.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from llmhw.errors import ConfigError
from llmhw.evaluate import grid_metrics_missing
from llmhw.violations import HARDWARE_CONSTRAINTS

from .constraints import Limit
from .objectives import Objective
from .pareto import covered, front_mask

SWEEP_TAG = "sweep"     # user attr (True) of a trial the sweep queued
_MAPPING_KEYS = ("batch", "p", "micro_batch", "prefill_micro_batch")


def sweep_metrics(objectives: Sequence[Objective], limits: Sequence[Limit]) -> tuple[str, ...]:
    """The metrics the sweep reads from a grid: the objectives', then the limited ones (once each)."""
    return tuple(dict.fromkeys([o.name for o in objectives] + [l.metric for l in limits]))


def unavailable(space: Any, metrics: Sequence[str]) -> str | None:
    """Why the sweep cannot run on ``space`` for ``metrics`` (the objectives and limited metrics), or None."""
    if getattr(space, "serving_workload", None) is not None:
        return "a serving space's metrics come from its request mix, not from one batch's mapping grid"
    if getattr(space, "mapping", None) != "explicit" or getattr(space, "fixed_mapping", True) \
            or "p#i" not in getattr(space, "by_name", {}):
        return "the space has no mapping dimensions (--mapping best, a default_mapping or a serving space)"
    missing = grid_metrics_missing(metrics)
    if missing:
        return f"the mapping grid does not give {', '.join(missing)} (an objective or a limit)"
    return None


def status(setup: Any, on: bool) -> str:
    """The run header's words for the sweep: ``mapping sweep on``, ``off``, or off and why."""
    if not on:
        return "mapping sweep off"
    why = unavailable(setup.space, sweep_metrics(setup.objectives, setup.constraints.limits))
    return "mapping sweep on" if why is None else f"mapping sweep off ({why})"


def hardware_valid(violations: Mapping[str, float]) -> bool:
    """Does a point's hardware and system meet every constraint that its mapping cannot change?"""
    return all(not (float(violations.get(n, 0.0)) > 0) for n in HARDWARE_CONSTRAINTS)


class MappingSweep:
    """The sweep of one run: which combinations are swept, and what each one proposes."""

    def __init__(self, space: Any, problem: Any, objectives: Sequence[Objective], limits: Sequence[Limit]):
        self.space, self.problem = space, problem
        self.objectives, self.limits = list(objectives), list(limits)
        self.metrics = sweep_metrics(self.objectives, self.limits)
        self.sign = np.array([o.sign for o in self.objectives])
        dims = getattr(space, "dims", ())
        self.hw_names = [d.name for d in dims if d.section != "mapping"]
        self.keys = _MAPPING_KEYS + (("e",) if "e#i" in getattr(space, "by_name", {}) else ())
        self.unavailable = unavailable(space, self.metrics)
        self.swept: set[tuple] = set()
        self.grid_rows = 0      # mappings the grid scored (not trials)
        self.proposed = 0       # designs handed to the runner (trials)

    @property
    def settled(self) -> tuple[str, ...]:
        """The dimensions the sweep resolves for every hardware it reaches (the batch and the mapping):
        a local search need not walk them (none when the sweep is unavailable)."""
        if self.unavailable is not None:
            return ()
        return tuple(d.name for d in self.space.dims if d.section == "mapping")

    def key(self, params: Mapping[str, Any]) -> tuple:
        """The combination (hardware × system) of a param dict."""
        return tuple(params[n] for n in self.hw_names)

    def propose(self, params: Mapping[str, Any], violations: Mapping[str, float],
                front: np.ndarray) -> list[tuple[dict, np.ndarray]]:
        """(params, loss) of each of the combination's mappings that would join ``front`` (the run's
        feasible front as losses: objective values × sign, a maximised objective negated), in grid order,
        once per combination; [] for a combination already swept, an invalid hardware (``violations``: the
        trial's honest amounts) or an unavailable sweep."""
        if self.unavailable is not None or not hardware_valid(violations):
            return []
        key = self.key(params)
        if key in self.swept:
            return []
        self.swept.add(key)
        grid = self.problem.mapping_grid(self.space.point(params), self.metrics)
        if grid is None or not len(grid):
            return []
        self.grid_rows += len(grid)
        col = {m: j for j, m in enumerate(grid.metrics)}
        values = grid.values[:, [col[o.name] for o in self.objectives]]
        ok = np.all(np.isfinite(values), axis=1)
        for lim in self.limits:
            v = grid.values[:, col[lim.metric]]
            ok &= (v <= lim.value) if lim.kind == "max" else (v >= lim.value)
        rows = np.flatnonzero(ok)
        loss = values[rows] * self.sign
        # first the run's front (vectorised), then the own front of the rest: a row dominated by a covered
        # row is covered too
        keep = ~covered(front, loss)
        rows, loss = rows[keep], loss[keep]
        own = front_mask(loss)
        rows, loss = rows[own], loss[own]
        out, seen = [], set()
        for i, row_loss in zip(rows, loss):
            m = grid.mapping(int(i))
            try:
                enc = self.space.encode({k: m[k] for k in self.keys})
            except ConfigError:
                continue          # a mapping the space's dimensions cannot express (e.g. a p not listed)
            p = dict(params, **enc)
            k = tuple(sorted(p.items()))
            if k not in seen:
                seen.add(k)
                out.append((p, row_loss))
        self.proposed += len(out)
        return out
