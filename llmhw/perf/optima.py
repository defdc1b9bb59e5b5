"""The four per-batch optima of one system (model.md §12.3), by the grid driver or the single-point loop.

:func:`sweep_system_vector` reads them off the grid driver (first minimum of each goal's metric per batch,
as §12.3's strict comparison with first-wins ties), and :func:`sweep_systems` does so for many systems with
one grid evaluation and one selection per group (:func:`~llmhw.perf.grid.grid_batches`);
:func:`sweep_system_scalar` is the plain loop over :func:`~llmhw.perf.point.evaluate_point` they must agree
with (and the fallback).
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from llmhw.fidelity import Fidelity
from llmhw.workload.mapping import MappingPoint, mappings_for_batch
from llmhw.workload.system import System

from .grid import Grid, GridBatch, grid_batches
from .point import PerfResult, evaluate_point

#: §12.3 goals of the optima, with the PerfResult field each minimises.
GOALS: dict[str, str] = {
    "prefill_lat": "prefill_latency_s",
    "prefill_tco": "prefill_tco_per_token_usd",
    "generate_lat": "decode_latency_s",
    "generate_tco": "decode_tco_per_token_usd",
}


class Optimum(NamedTuple):
    """The best mapping of one batch for one goal and the metrics written to the optima table (a named tuple:
    immutable and cheap to build, one per system × goal × batch of an exhaustive run)."""

    goal: str
    batch: int
    mapping: MappingPoint
    prefill_latency_s: float
    decode_latency_s: float
    prefill_throughput_tok_per_s: float
    decode_throughput_tok_per_s: float
    prefill_utilization: float
    decode_utilization: float
    prefill_power_w: float
    decode_power_w: float
    prefill_tco_per_token_usd: float
    decode_tco_per_token_usd: float

    def metric(self) -> float:
        return getattr(self, GOALS[self.goal])

    @classmethod
    def from_result(cls, goal: str, r: PerfResult) -> "Optimum":
        return cls(goal=goal, batch=r.batch, mapping=r.mapping, prefill_latency_s=r.prefill_latency_s,
                   decode_latency_s=r.decode_latency_s,
                   prefill_throughput_tok_per_s=r.prefill_throughput_tok_per_s,
                   decode_throughput_tok_per_s=r.decode_throughput_tok_per_s,
                   prefill_utilization=r.prefill_utilization, decode_utilization=r.decode_utilization,
                   prefill_power_w=r.prefill_power_w, decode_power_w=r.decode_power_w,
                   prefill_tco_per_token_usd=r.prefill_tco_per_token_usd,
                   decode_tco_per_token_usd=r.decode_tco_per_token_usd)


def sweep_system_scalar(system: System, fidelity: Fidelity) -> dict[str, dict[int, Optimum]]:
    """§12.3 with one :func:`evaluate_point` per mapping: strict minimum, first mapping wins ties."""
    optima: dict[str, dict[int, Optimum]] = {g: {} for g in GOALS}
    for B in system.batches:
        best: dict[str, PerfResult] = {}
        for mapping in mappings_for_batch(system, B):
            r = evaluate_point(system, mapping, B, fidelity=fidelity)
            for goal, field in GOALS.items():
                if goal not in best or getattr(r, field) < getattr(best[goal], field):
                    best[goal] = r
        for goal, r in best.items():
            optima[goal][B] = Optimum.from_result(goal, r)
    return optima


def sweep_system(system: System, fidelity: Fidelity, vectorized: bool = True) -> dict[str, dict[int, Optimum]]:
    """§12.3 optima of one system (vectorised unless ``vectorized`` is False)."""
    if not vectorized:
        return sweep_system_scalar(system, fidelity)
    return sweep_system_vector(system, fidelity)


def select_optima(grid: Grid) -> np.ndarray | None:
    """Index of the first minimum of each goal's metric in each batch segment: shape (4 goals, segments).

    None if a metric is NaN (where np.minimum and the scalar strict comparison would disagree).
    """
    metrics = np.stack([getattr(grid, field) for field in GOALS.values()])
    if np.isnan(metrics).any():
        return None
    starts = np.asarray([seg[1] for seg in grid.segments], dtype=np.int64)
    lengths = np.asarray([seg[2] - seg[1] for seg in grid.segments], dtype=np.int64)
    mins = np.minimum.reduceat(metrics, starts, axis=1)
    hit = metrics == np.repeat(mins, lengths, axis=1)
    n = metrics.shape[1]
    first = np.where(hit, np.arange(n, dtype=np.int64), n)
    return np.minimum.reduceat(first, starts, axis=1)


_OPTIMUM_FIELDS = ("prefill_latency_s", "decode_latency_s", "prefill_throughput_tok_per_s",
                   "decode_throughput_tok_per_s", "prefill_utilization", "decode_utilization",
                   "prefill_power_w", "decode_power_w", "prefill_tco_per_token_usd", "decode_tco_per_token_usd")


def sweep_system_vector(system: System, fidelity: Fidelity) -> dict[str, dict[int, Optimum]]:
    """§12.3 optima from :func:`evaluate_grid` (falls back to the single-point loop if the grid is None)."""
    return sweep_systems((system,), fidelity)[0]


def sweep_systems(systems: Sequence[System], fidelity: Fidelity) -> list[dict[str, dict[int, Optimum]]]:
    """:func:`sweep_system_vector` of each system; the systems of one size group are evaluated together
    (:func:`~llmhw.perf.grid.grid_batches`) and their optima selected in one pass."""
    out: list = [None] * len(systems)
    for batch in grid_batches(systems, fidelity):
        for i, optima in zip(batch.members, _batch_optima(batch, systems, fidelity)):
            out[i] = optima
    return out


def _batch_optima(batch: GridBatch, systems: Sequence[System], fidelity: Fidelity) -> list[dict]:
    """The optima of each member of ``batch`` (the single-point loop where its grid is None or has a NaN)."""
    grid = batch.grid
    if grid is None:
        return [sweep_system_scalar(systems[i], fidelity) for i in batch.members]
    if not grid.segments:
        return [{g: {} for g in GOALS} for _ in batch.members]
    best = select_optima(grid)
    if best is None:
        if len(batch.members) == 1:
            return [sweep_system_scalar(systems[batch.members[0]], fidelity)]
        return [sweep_system_vector(systems[i], fidelity) for i in batch.members]     # find the NaN's system
    flat = best.reshape(-1)
    segments = grid.segments
    nseg = len(segments)
    batches = [B for B, _, _ in segments]
    optima = list(map(Optimum, [g for g in GOALS for _ in segments], batches * len(GOALS), _mappings(grid, flat),
                      *(getattr(grid, f)[flat].tolist() for f in _OPTIMUM_FIELDS)))
    return [{goal: dict(zip(batches[s0:s1], optima[g * nseg + s0:g * nseg + s1])) for g, goal in enumerate(GOALS)}
            for (_, _, s0), (_, _, s1) in zip(batch.bounds, batch.bounds[1:])]


def _mappings(grid: Grid, index: np.ndarray) -> list[MappingPoint]:
    """The mapping of each combo of ``index`` (one object per distinct combo: goals often share one)."""
    distinct, back = np.unique(index, return_inverse=True)
    cands = grid.candidates
    made = [MappingPoint(c.t, c.p, mb, pmb, c.e) for c, mb, pmb in
            zip(map(cands.__getitem__, grid.cand[distinct].tolist()), grid.micro_batch[distinct].tolist(),
                grid.prefill_micro_batch[distinct].tolist())]
    return list(map(made.__getitem__, back.tolist()))
