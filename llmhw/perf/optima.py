"""The four per-batch optima of one system (model.md §12.3), by the grid driver or the single-point loop.

:func:`optima_columns` reads them off the grid driver for many systems, with one grid evaluation and one
selection per size group (:func:`~llmhw.perf.grid.grid_batches`; first minimum of each goal's metric per
batch, as §12.3's strict comparison with first-wins ties), as columns (:class:`OptimaColumns`: the
exhaustive optima table is read off them without a Python record per row); :func:`sweep_systems` and
:func:`sweep_system_vector` give the same optima as :class:`Optimum` records per system.
:func:`sweep_system_scalar` is the plain loop over :func:`~llmhw.perf.point.evaluate_point` they must agree
with (and the fallback; :func:`columns_of` turns its records into columns).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, NamedTuple, Sequence

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
    n = metrics.shape[1]
    row_start = np.arange(0, metrics.size, n)[:, None]               # flat index of each goal's first combo
    hits = np.flatnonzero(metrics == np.repeat(mins, lengths, axis=1))     # ascending; ≥ 1 per segment
    return hits[np.searchsorted(hits, row_start + starts)] - row_start     # the first hit of each segment


_OPTIMUM_FIELDS = Optimum._fields[3:]


@dataclass(frozen=True)
class OptimaColumns:
    """The §12.3 optima of many systems as columns: one row per system × goal × batch, in the order of the
    systems (their index in the caller's list), then :data:`GOALS`, then batch ascending (a batch without
    mappings has no row). The optima table is read off these columns; :meth:`optima` gives one system's
    optima as :class:`Optimum` records."""

    system: np.ndarray                  # int64: the system's index in the caller's list
    goal: np.ndarray                    # int64: index into GOALS
    batch: np.ndarray                   # int64
    t: np.ndarray                       # object: t keeps its Python type (int, or float when p > num_servers)
    p: np.ndarray                       # int64, like micro_batch, prefill_micro_batch and e
    micro_batch: np.ndarray
    prefill_micro_batch: np.ndarray
    e: np.ndarray
    metrics: dict[str, np.ndarray]      # each field of _OPTIMUM_FIELDS: float64
    starts: np.ndarray                  # rows of system i: starts[i]:starts[i + 1]

    def __len__(self) -> int:
        return len(self.system)

    def optima(self, i: int) -> dict[str, dict[int, Optimum]]:
        """``optima[goal][batch]`` of system ``i``."""
        lo, hi = int(self.starts[i]), int(self.starts[i + 1])
        out: dict[str, dict[int, Optimum]] = {g: {} for g in GOALS}
        names = tuple(GOALS)
        cols = [self.goal[lo:hi].tolist(), self.batch[lo:hi].tolist(), self.t[lo:hi].tolist(),
                *(getattr(self, f)[lo:hi].tolist() for f in ("p", "micro_batch", "prefill_micro_batch", "e")),
                *(self.metrics[f][lo:hi].tolist() for f in _OPTIMUM_FIELDS)]
        for g, B, t, p, mb, pmb, e, *metrics in zip(*cols):
            out[names[g]][B] = Optimum(names[g], B, MappingPoint(t, p, mb, pmb, e), *metrics)
        return out

    def rows_at(self, goal: str, batch: int) -> np.ndarray:
        """The row of each system's optimum for ``goal`` at ``batch`` (-1 where it has none)."""
        hit = np.flatnonzero((self.goal == list(GOALS).index(goal)) & (self.batch == batch))
        out = np.full(len(self.starts) - 1, -1, dtype=np.int64)
        out[self.system[hit]] = hit
        return out

    def metric(self, goal: str) -> np.ndarray:
        """The metric each row's goal minimises, for rows of ``goal``."""
        return self.metrics[GOALS[goal]]


_COLUMN_FIELDS = ("system", "goal", "batch", "t", "p", "micro_batch", "prefill_micro_batch", "e")


def sweep_system_vector(system: System, fidelity: Fidelity) -> dict[str, dict[int, Optimum]]:
    """§12.3 optima from :func:`evaluate_grid` (falls back to the single-point loop if the grid is None)."""
    return sweep_systems((system,), fidelity)[0]


def sweep_systems(systems: Sequence[System], fidelity: Fidelity) -> list[dict[str, dict[int, Optimum]]]:
    """:func:`sweep_system_vector` of each system, read off :func:`optima_columns`."""
    cols = optima_columns(systems, fidelity)
    return [cols.optima(i) for i in range(len(systems))]


def optima_columns(systems: Sequence[System], fidelity: Fidelity) -> OptimaColumns:
    """The optima of every system as columns: the systems of one size group are evaluated together
    (:func:`~llmhw.perf.grid.grid_batches`) and their optima selected in one pass."""
    blocks: list[dict] = []
    for batch in grid_batches(systems, fidelity):
        blocks += _batch_blocks(batch, systems, fidelity)
    return _join_blocks(blocks, len(systems))


def columns_of(optima: Sequence[Mapping[str, Mapping[int, Optimum]]]) -> OptimaColumns:
    """The columns of per-system optima (e.g. the single-point loop's, :func:`sweep_system_scalar`)."""
    return _join_blocks([_scalar_block(i, o) for i, o in enumerate(optima)], len(optima))


def _scalar_block(i: int, optima: Mapping[str, Mapping[int, Optimum]]) -> dict:
    """Rows of one system's optimum records."""
    rows = [(i, g, o) for g, goal in enumerate(GOALS) for o in optima[goal].values()]
    block = {"system": [i] * len(rows), "goal": [g for _, g, _ in rows], "batch": [o.batch for *_, o in rows],
             "t": object_column([o.mapping.t for *_, o in rows])}
    for f in ("p", "micro_batch", "prefill_micro_batch", "e"):
        block[f] = [getattr(o.mapping, f) for *_, o in rows]
    for f in _OPTIMUM_FIELDS:
        block[f] = np.asarray([getattr(o, f) for *_, o in rows], dtype=np.float64)
    return block


def object_column(values: Sequence) -> np.ndarray:
    """``values`` as a numpy object array (the Python objects themselves, e.g. int and float t kept apart)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _batch_blocks(batch: GridBatch, systems: Sequence[System], fidelity: Fidelity) -> list[dict]:
    """The rows of each member of ``batch`` (the single-point loop where its grid is None or has a NaN)."""
    grid = batch.grid
    if grid is None:
        return [_scalar_block(i, sweep_system_scalar(systems[i], fidelity)) for i in batch.members]
    if not grid.segments:
        return []
    best = select_optima(grid)
    if best is None:
        if len(batch.members) == 1:
            return [_scalar_block(batch.members[0], sweep_system_scalar(systems[batch.members[0]], fidelity))]
        return [_scalar_block(i, sweep_system_vector(systems[i], fidelity)) for i in batch.members]  # find the NaN's system
    nseg = len(grid.segments)
    n_goals = len(GOALS)
    # flat positions goal·nseg + segment of best, member by member, goals then segments within a member
    pos = np.concatenate([(np.arange(n_goals)[:, None] * nseg + np.arange(s0, s1)[None, :]).reshape(-1)
                          for (_, _, s0), (_, _, s1) in zip(batch.bounds, batch.bounds[1:])])
    seg = pos % nseg
    seg_member = np.repeat(np.asarray(batch.members, dtype=np.int64),
                           [s1 - s0 for (_, _, s0), (_, _, s1) in zip(batch.bounds, batch.bounds[1:])])
    combo = best.reshape(-1)[pos]
    cand = grid.cand[combo]
    cands = grid.candidates
    block = {"system": seg_member[seg], "goal": pos // nseg,
             "batch": np.asarray([B for B, _, _ in grid.segments], dtype=np.int64)[seg],
             "t": object_column([c.t for c in cands])[cand],
             "p": np.asarray([c.p for c in cands], dtype=np.int64)[cand],
             "micro_batch": grid.micro_batch[combo], "prefill_micro_batch": grid.prefill_micro_batch[combo],
             "e": np.asarray([c.e for c in cands], dtype=np.int64)[cand]}
    for f in _OPTIMUM_FIELDS:
        block[f] = getattr(grid, f)[combo]
    return [block]


def _join_blocks(blocks: list[dict], n_systems: int) -> OptimaColumns:
    """Blocks of rows joined and ordered by system (stable: each system's rows keep their order)."""
    def column(name, dtype):
        if not blocks:
            return np.zeros(0, dtype=dtype)
        return np.concatenate([np.asarray(b[name], dtype=dtype) for b in blocks])

    system = column("system", np.int64)
    order = np.argsort(system, kind="stable")
    cols = {name: column(name, object if name == "t" else np.int64)[order] for name in _COLUMN_FIELDS}
    metrics = {f: column(f, np.float64)[order] for f in _OPTIMUM_FIELDS}
    starts = np.searchsorted(cols["system"], np.arange(n_systems + 1))
    return OptimaColumns(**cols, metrics=metrics, starts=starts)
