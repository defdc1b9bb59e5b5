"""The grid driver: every mapping × batch of one system at once (model.md §12–§13, numpy).

It calls the same equations as the single-point driver (:func:`llmhw.perf.point.evaluate_point`) — the
stage geometry (:mod:`~llmhw.perf.geometry`), :func:`~llmhw.perf.latency.micro_batch_latency`,
:func:`~llmhw.perf.energy.iteration_energy_pj`, :mod:`~llmhw.perf.stages` and
:func:`~llmhw.perf.cost.token_cost` — on numpy arrays instead of Python numbers (:mod:`llmhw.perf.xp`).
Integer products are formed in int64 in the same order as Python forms them with ints, so the numbers
are identical to the single-point driver's.

Structure (:class:`Layout`, :class:`StageRows`): micro-batch latencies and per-iteration energies depend
only on (t, p, μ); they are computed once per (layout, micro-batch) "row" for prefill and for decode. A
stage's metrics (§13.6–§13.7: T_p or τ and T_g, throughput, utilisation, energy, power) depend only on
(layout, B, μ): they are computed once per such "stage row" (μ = pmb in prefill, mb in decode: a few times
fewer than the combos). The mappings of all batches ("combos", in the §12.1 order) then read their two
stage rows, and the §13.9 TCO per token, which mixes both stages, is formed per combo on flat arrays.

Several systems at once (:func:`grid_batches`): systems that differ only in their size (num_servers and
its totals) and, for models without §M1 keys, their eval lengths, are joined — their candidates, rows and
combos one after the other, each row and combo with its own system's P, G and size — and evaluated in one
set of numpy calls, which costs little more than one system's (the exhaustive sweep's 1,512 systems are
252 such groups). The numbers are each system's own, bit for bit (tests/perf/test_batched_grid.py).

If an integer product could overflow int64 (extreme shapes), or the §14 sub-system prefill path is active,
:func:`evaluate_grid` returns None and callers use the single-point driver.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Iterator, Sequence

import numpy as np

from llmhw.fidelity import Fidelity
from llmhw.workload.mapping import (MappingPoint, default_mapping_point, dynamic_prefill_active,
                                    expert_parallel_candidates, micro_batch_pairs, required_memory_bytes,
                                    stage_candidates)
from llmhw.workload.system import System, powers_of_two_upto

from .cost import token_cost
from .energy import allreduce_energy_pj, iteration_energy_pj, weights_total
from .geometry import StageGeometry, layout_values, stack_geometry
from .latency import MicroBatchLatency, micro_batch_latency
from .shapes import rows
from .stages import decode_stage, prefill_stage

INT64_LIMIT = 2 ** 63 - 1


@dataclass(frozen=True)
class Candidate:
    """A (t, p, e) layout; ``t`` keeps its Python type (int, or float when p > num_servers); ``e`` is the
    expert-parallel degree (docs/models.md §M5, 1 for a dense model)."""

    t: float
    p: int
    e: int = 1


@dataclass(frozen=True)
class MicroBatchRows:
    """§13.6 micro-batch latency and §13.7 per-iteration energies (E_fma, E_mem, E_comm in pJ) per
    (layout, μ) row."""

    latency: MicroBatchLatency
    energy_pj: tuple[np.ndarray, np.ndarray, np.ndarray]

    def take(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
        """(total_s, stage_s, iteration energies) of the combos (``index``: the row of each combo)."""
        return self.latency.total_s[index], self.latency.stage_s[index], tuple(e[index] for e in self.energy_pj)


@dataclass(frozen=True)
class Grid:
    """Every swept point of one system: flat arrays in §12.3 order (batch, then p, mb, pmb).

    ``segments[i] = (B, start, end)``: the mappings of batch B are ``start:end``.
    """

    candidates: tuple[Candidate, ...]
    cand: np.ndarray
    batch: np.ndarray
    micro_batch: np.ndarray
    prefill_micro_batch: np.ndarray
    segments: tuple[tuple[int, int, int], ...]
    prefill_latency_s: np.ndarray
    decode_latency_s: np.ndarray
    tpot_s: np.ndarray
    prefill_throughput_tok_per_s: np.ndarray
    decode_throughput_tok_per_s: np.ndarray
    prefill_utilization: np.ndarray
    decode_utilization: np.ndarray
    prefill_energy_j: np.ndarray
    decode_energy_j: np.ndarray
    prefill_power_w: np.ndarray
    decode_power_w: np.ndarray
    prefill_tco_per_token_usd: np.ndarray
    decode_tco_per_token_usd: np.ndarray

    def mapping(self, i: int) -> MappingPoint:
        c = self.candidates[int(self.cand[i])]
        return MappingPoint(c.t, c.p, int(self.micro_batch[i]), int(self.prefill_micro_batch[i]), c.e)

    def __len__(self) -> int:
        return len(self.batch)


#: The per-combo arrays of a :class:`Grid` (all its fields but the candidates, their index and the segments).
_COMBO_ARRAYS = tuple(f.name for f in fields(Grid) if f.name not in ("candidates", "cand", "segments"))


# ---- micro-batch rows (§13.2–§13.7) ----------------------------------------------------------------------

def _int_bound_ok(system: System, geoms: StageGeometry, max_mu: int, fidelity: Fidelity) -> bool:
    """True if every integer product formed on int64 arrays stays below 2^63 (Python ints are unbounded).

    Each product is bounded by the product of its factors' maxima over the layouts (``geoms``)."""
    m = system.model
    P, L, d = system.prefill_len, m.num_layers, m.d
    b = m.bytes_per_number
    J, F, Kq = (int(geoms.attn_cols.max()), int(geoms.ff_cols.max()), int(geoms.qkv_cols.max()))
    t = int(geoms.t.max()) if geoms.t.dtype == np.int64 else int(math.ceil(geoms.t.max()))
    R = P * max_mu
    big = max(R * d * Kq * 2, max_mu * P * J * P * 2, 2 * R * d * F * 2, R * J * d * 2, L * 2 * d * R * t * b)
    W = weights_total(system, fidelity)
    if isinstance(W, int):
        big = max(big, W * P * max_mu)
    big = max(big, L * 9 * d * P * max_mu * b, L * 2 * d * P * P * max_mu * b, max_mu * P * 2 * system.max_batch)
    flops = m.prefill_flops(P, fidelity.glu_in_flops)        # × B in the §13.6 utilisation
    if isinstance(flops, int):
        big = max(big, flops * system.max_batch)
    return big < INT64_LIMIT


def _float_t_exact(system: System, geoms: StageGeometry, max_mu: int) -> bool:
    """True if the §13.7 all-reduce product L·2·d·x·t·b stays below 2^53 for every int t: then forming it
    with t as a float64 gives exactly the int product (both are integers representable in a double)."""
    m = system.model
    t = int(math.ceil(geoms.t.max()))
    return m.num_layers * 2 * m.d * system.prefill_len * max_mu * t * m.bytes_per_number < 2 ** 53


def micro_batch_rows(system: System, geom: StageGeometry, t_int: np.ndarray | None, row_mu: np.ndarray,
                     prefill: bool, fidelity: Fidelity) -> MicroBatchRows:
    """§13.6 micro-batch latency and §13.7 per-iteration energies for each (layout, μ) row.

    ``geom`` is the geometry of each row's layout; ``t_int`` (when int and float t are mixed) the int t of
    each row, 0 where t is a float: those rows keep the exact int64 all-reduce product, as Python ints do."""
    mbl = micro_batch_latency(system, geom, prefill, row_mu, fidelity)
    energy = iteration_energy_pj(system, geom.t, prefill, row_mu, fidelity)
    if t_int is not None:
        e_int = allreduce_energy_pj(system, t_int, rows(prefill, row_mu, system.prefill_len))
        energy = (energy[0], energy[1], np.where(t_int > 0, e_int, energy[2]))
    return MicroBatchRows(mbl, energy)


# ---- the grid of one system ------------------------------------------------------------------------------

@dataclass(frozen=True)
class StageRows:
    """How the combos' metrics of one stage (prefill or decode) are formed, in three levels of rows.

    A stage's micro-batch latency and energies (§13.6–§13.7) depend only on (layout, μ): the *micro-batch
    rows*; its stage metrics (:func:`~llmhw.perf.stages.prefill_stage`, :func:`~llmhw.perf.stages.decode_stage`)
    only on (layout, B, μ): the *stage rows*, μ = pmb in prefill, mb in decode. The combos then read their
    stage row (§13.9 cost mixes both stages, per combo). Each level is a fraction of the next one's size.
    """

    cand: np.ndarray        # candidate of each micro-batch row
    mu: np.ndarray          # μ of each micro-batch row
    row: np.ndarray         # micro-batch row of each stage row
    batch: np.ndarray       # B of each stage row
    stage_mu: np.ndarray    # μ of each stage row
    combo: np.ndarray       # stage row of each combo

    def offset(self, cands: int, rows: int, stage_rows: int) -> "StageRows":
        """The same rows with their candidate, micro-batch-row and stage-row indices shifted (for joining)."""
        return StageRows(self.cand + cands, self.mu, self.row + rows, self.batch, self.stage_mu, self.combo + stage_rows)


@dataclass(frozen=True)
class Layout:
    """The combos of one system (§12.3 order: batch, then candidate, mb, pmb) and the rows of their stages.

    ``segments[i] = (B, start, end)``: the combos of batch B are ``start:end``. ``shared_rows``: the decode
    stage has the prefill stage's micro-batch and stage rows (only its combo index differs)."""

    cand: np.ndarray
    batch: np.ndarray
    micro_batch: np.ndarray
    prefill_micro_batch: np.ndarray
    segments: tuple[tuple[int, int, int], ...]
    prefill: StageRows
    decode: StageRows
    shared_rows: bool


_PAIRS: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_LAYOUTS: dict[tuple, Layout | None] = {}
_LAYOUT_CACHE_MAX = 4096


def _pairs(batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(mb, pmb) arrays of §12.1 for batch B (memoized)."""
    got = _PAIRS.get(batch)
    if got is None:
        pairs = micro_batch_pairs(batch)
        got = (np.asarray([q[0] for q in pairs], dtype=np.int64), np.asarray([q[1] for q in pairs], dtype=np.int64))
        _PAIRS[batch] = got
    return got


def _combos(n_cands: int, mus: tuple[int, ...], fits: tuple[tuple[int, tuple[int, ...]], ...]) -> Layout | None:
    """The layout for the fit pattern ``fits`` = ((B, fitting candidate indices), …); memoized because
    most systems of a sweep share their pattern. ``mus`` = 1, 2, 4, … ≤ max_batch: the μ of the
    micro-batch rows (every candidate × μ, shared by both stages); the stage rows of batch B are its
    fitting candidates × the μ ≤ B."""
    key = (n_cands, mus, fits)
    if key in _LAYOUTS:
        return _LAYOUTS[key]
    n_mu = len(mus)
    lut = np.zeros(max(mus) + 1, dtype=np.int64)       # μ → its position in mus (log2 μ)
    for i, m in enumerate(mus):
        lut[m] = i
    mu_all = np.asarray(mus, dtype=np.int64)
    cols: dict[str, list[np.ndarray]] = {name: [] for name in ("cand", "b", "mb", "pmb", "row", "s_b", "s_mu", "p", "g")}
    segs = []
    start = n_stage = 0
    for B, fit in fits:
        mbs, pmbs = _pairs(B)
        k = len(fit) * len(mbs)
        if k == 0:
            continue
        fit_a = np.asarray(fit, dtype=np.int64)
        n_b = int(lut[B]) + 1                            # μ = 1, 2, 4, … ≤ B
        cols["cand"].append(np.repeat(fit_a, len(mbs)))
        cols["mb"].append(np.tile(mbs, len(fit)))
        cols["pmb"].append(np.tile(pmbs, len(fit)))
        cols["b"].append(np.full(k, B, dtype=np.int64))
        cols["row"].append((fit_a * n_mu)[:, None].repeat(n_b, 1).reshape(-1) + np.tile(np.arange(n_b), len(fit)))
        cols["s_mu"].append(np.tile(mu_all[:n_b], len(fit)))
        cols["s_b"].append(np.full(len(fit) * n_b, B, dtype=np.int64))
        base = n_stage + np.repeat(np.arange(len(fit), dtype=np.int64) * n_b, len(mbs))
        cols["p"].append(base + np.tile(lut[pmbs], len(fit)))
        cols["g"].append(base + np.tile(lut[mbs], len(fit)))
        segs.append((B, start, start + k))
        start += k
        n_stage += len(fit) * n_b
    got = None
    if segs:
        c = {name: np.concatenate(v) for name, v in cols.items()}
        row_cand = np.repeat(np.arange(n_cands, dtype=np.int64), n_mu)
        row_mu = np.tile(mu_all, n_cands)
        for a in (*c.values(), row_cand, row_mu):      # shared between systems: read-only
            a.setflags(write=False)
        prefill = StageRows(row_cand, row_mu, c["row"], c["s_b"], c["s_mu"], c["p"])
        got = Layout(c["cand"], c["b"], c["mb"], c["pmb"], tuple(segs), prefill, replace(prefill, combo=c["g"]), True)
    if len(_LAYOUTS) >= _LAYOUT_CACHE_MAX:
        _LAYOUTS.clear()
    _LAYOUTS[key] = got
    return got


def _enumerated_layout(system: System) -> tuple[list[Candidate], Layout | None]:
    """(candidates, layout) for §12.1 enumerated mappings; combos in §12.3 order (B, p, mb, pmb)."""
    batches = system.batches
    if not batches:
        return [], None
    mem = system.server.package.total_mem_bytes
    capacity = [(c, c.t_pkg * mem * c.p) for c in stage_candidates(system)]
    demand = [required_memory_bytes(system, B) for B in batches]
    cands = [c for c, cap in capacity if not cap < demand[0]]          # the §12.1 fit at the smallest batch
    caps = [cap for _, cap in capacity if not cap < demand[0]]
    fits = tuple((B, tuple(i for i, cap in enumerate(caps) if not cap < dem)) for B, dem in zip(batches, demand))
    if system.model.is_moe:          # every expert-parallel degree of each layout (docs/models.md M5.6)
        ep = [(Candidate(c.t, c.p, e), cap) for c, cap in zip(cands, caps)
              for e in expert_parallel_candidates(system.model, c.t)]
        caps = [cap for _, cap in ep]
        fits = tuple((B, tuple(i for i, cap in enumerate(caps) if not cap < dem)) for B, dem in zip(batches, demand))
        out = [c for c, _ in ep]
    else:
        out = [Candidate(c.t, c.p) for c in cands]
    if not cands:
        return out, None
    return out, _combos(len(out), powers_of_two_upto(system.max_batch), fits)


def _default_layout(system: System) -> tuple[list[Candidate], Layout | None]:
    """One §12.2 mapping per batch; each combo has its own micro-batch and stage row in each stage."""
    points = [default_mapping_point(system, B) for B in system.batches]
    if not points:
        return [], None
    cands: list[Candidate] = []
    index: dict[tuple, int] = {}
    cand = []
    for m in points:
        key = (type(m.t), m.t, m.p, m.e)
        if key not in index:
            index[key] = len(cands)
            cands.append(Candidate(m.t, m.p, m.e))
        cand.append(index[key])
    cand = np.asarray(cand, dtype=np.int64)
    B = np.asarray(system.batches, dtype=np.int64)
    mb = np.asarray([m.micro_batch for m in points], dtype=np.int64)
    pmb = np.asarray([m.prefill_micro_batch for m in points], dtype=np.int64)
    idx = np.arange(len(points), dtype=np.int64)
    segs = tuple((int(b), i, i + 1) for i, b in enumerate(system.batches))
    return cands, Layout(cand, B, mb, pmb, segs, StageRows(cand, pmb, idx, B, pmb, idx),
                         StageRows(cand, mb, idx, B, mb, idx), False)


def evaluate_grid(system: System, fidelity: Fidelity) -> Grid | None:
    """Evaluate every mapping of every batch of ``system`` at once.

    None (callers then use the single-point loop) if an int64 product could overflow or the §14 sub-system
    prefill path is active.
    """
    return evaluate_grids((system,), fidelity)[0]


def evaluate_grids(systems: Sequence[System], fidelity: Fidelity) -> list[Grid | None]:
    """:func:`evaluate_grid` of each system. Systems that differ only in their size (:data:`SIZE_FIELDS`)
    are evaluated together, in one set of numpy calls on their joined arrays (:func:`grid_batches`)."""
    out: list[Grid | None] = [None] * len(systems)
    for batch in grid_batches(systems, fidelity):
        for i, grid in zip(batch.members, batch.split()):
            out[i] = grid
    return out


# ---- several systems in one set of numpy calls -----------------------------------------------------------

#: System fields set by the system size alone (num_servers and the totals derived from it, §11.2). They
#: enter the per-combo equations (§13.6 stages, §13.9 cost) only: the micro-batch rows of systems that
#: differ only in these fields differ only through their stage geometry (their links, §13.1), per layout.
SIZE_FIELDS = ("num_servers", "total_mem_bytes", "kv_cache_ratio", "max_ctx_len_batch_1", "max_tco_usd",
               "num_packages", "num_chips", "perf_flops", "tdp_w", "core_tdp_w", "other_tdp_w")
#: The eval lengths P, G (§11.1). Every equation of a model without the docs/models.md §M1 keys takes them as
#: numbers or arrays alike, so such systems that differ in them are grouped too (each row and combo gets
#: its system's P and G); a model with §M1 keys groups only systems of equal P and G.
EVAL_FIELDS = ("prefill_len", "decode_len")
_KEY_FIELDS = tuple(f.name for f in fields(System) if f.name not in SIZE_FIELDS + ("violations", "reasons"))
_EVAL_KEYS = tuple(i for i, name in enumerate(_KEY_FIELDS) if name in EVAL_FIELDS)


def size_groups(systems: Sequence[System]) -> list[list[int]]:
    """Indices of ``systems`` grouped (in order of first appearance) by every field but :data:`SIZE_FIELDS`,
    :data:`EVAL_FIELDS` (unless the model has §M1 keys) and the violation records. Fields are compared by
    ``repr`` (which tells every float apart; equal values of different types only split a group), memoized
    per object for the server, model and constants."""
    reprs: dict[int, str] = {}

    def key_of(value) -> str:
        got = reprs.get(id(value))
        if got is None:
            got = reprs[id(value)] = repr(value)
        return got

    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(systems):
        key = [key_of(getattr(s, n)) for n in _KEY_FIELDS]
        if not s.model.is_modern:
            for k in _EVAL_KEYS:
                key[k] = ""
        groups.setdefault(tuple(key), []).append(i)
    return list(groups.values())


@dataclass(frozen=True)
class GridBatch:
    """The joined grid of several systems of one size group (``members``: their indices in the caller's
    list). ``grid`` holds every member's candidates, combos and segments one after the other; ``bounds[k]``
    = (candidate start, combo start, segment start) of member k, with a final entry for the ends.
    ``grid`` is None when the grid driver does not apply (the callers then use the single-point loop)."""

    members: tuple[int, ...]
    grid: Grid | None
    bounds: tuple[tuple[int, int, int], ...] = ()

    def split(self) -> list[Grid | None]:
        """The grid of each member (views of the joined arrays)."""
        if self.grid is None:
            return [None] * len(self.members)
        g, out = self.grid, []
        for (k0, c0, s0), (k1, c1, s1) in zip(self.bounds, self.bounds[1:]):
            arrays = {name: getattr(g, name)[c0:c1] for name in _COMBO_ARRAYS}
            out.append(Grid(candidates=g.candidates[k0:k1], cand=g.cand[c0:c1] - k0,
                            segments=tuple((B, a - c0, b - c0) for B, a, b in g.segments[s0:s1]), **arrays))
        return out


def grid_batches(systems: Sequence[System], fidelity: Fidelity) -> Iterator[GridBatch]:
    """The systems' grids, evaluated one size group at a time (:func:`size_groups`) and yielded as they
    come (a caller that keeps only what it reads of each holds one group's arrays at a time).

    A member without mappings gets an empty grid; a member on the §14 path gets None. If the joined group
    could overflow int64 (its bound is the largest of its members'), each member is evaluated alone."""
    for group in size_groups(systems):
        parts, alone = [], []
        for i in group:
            system = systems[i]
            if dynamic_prefill_active(system):
                alone.append(GridBatch((i,), None))      # the §14 sub-system prefill path: single-point driver only
                continue
            cands, layout = (_default_layout if system.default_mapping is not None else _enumerated_layout)(system)
            if layout is None:
                alone.append(GridBatch((i,), _empty_grid(cands), ((0, 0, 0), (len(cands), 0, 0))))
            else:
                parts.append((i, system, cands, layout))
        yield from alone
        if not parts:
            continue
        batch = _evaluate_parts(parts, fidelity)
        if batch.grid is None and len(parts) > 1:          # the joined bound failed: each member alone
            yield from (_evaluate_parts([part], fidelity) for part in parts)
        else:
            yield batch


class _Members:
    """The systems of one size group, and ``system`` (the first) with each field that differs among them made
    an array per row (:meth:`per_row`)."""

    def __init__(self, members: Sequence[System]):
        self.system = members[0]
        self.members = members
        self.varying: dict[str, np.ndarray] = {}
        for name in SIZE_FIELDS + EVAL_FIELDS:
            values = [getattr(m, name) for m in members]
            if any(v != values[0] or type(v) is not type(values[0]) for v in values):
                self.varying[name] = np.asarray(values)

    def per_row(self, counts: Sequence[int], names: Sequence[str] = SIZE_FIELDS + EVAL_FIELDS) -> System:
        """``system`` with each varying field of ``names`` made an array: member k's value repeated
        ``counts[k]`` times (fields equal in every member keep the number)."""
        arrays = {name: np.repeat(v, counts) for name, v in self.varying.items() if name in names}
        return replace(self.system, **arrays) if arrays else self.system


def _starts(counts: Sequence[int]) -> list[int]:
    """Where each of consecutive blocks of ``counts`` elements starts."""
    out, at = [], 0
    for n in counts:
        out.append(at)
        at += n
    return out


def _join_stage(rows: Sequence[StageRows], cand_starts: Sequence[int]) -> StageRows:
    """The stage rows of several members one after the other (candidate, row and stage-row indices shifted)."""
    if len(rows) == 1:
        return rows[0]
    shifted = [r.offset(k, m, s) for r, k, m, s in zip(rows, cand_starts, _starts([len(r.mu) for r in rows]),
                                                       _starts([len(r.batch) for r in rows]))]
    return StageRows(*(np.concatenate([getattr(r, name) for r in shifted]) for name in _STAGE_ROWS))


_STAGE_ROWS = tuple(f.name for f in fields(StageRows))


def _take_fields(stage, index: np.ndarray):
    """A stage record (:class:`~llmhw.perf.stages.PrefillStage` / ``DecodeStage``) of stage-row arrays
    gathered per combo."""
    return type(stage)(*(getattr(stage, f.name)[index] for f in fields(stage)))


@dataclass(frozen=True)
class _RowInputs:
    """What a stage's rows read besides their μ and B: each micro-batch row's geometry, int t (None unless
    int and float t are mixed) and system (its member's P and G), and each stage row's system (its member's
    P, G and size)."""

    geom: StageGeometry
    t_int: np.ndarray | None
    rows_system: System
    stage_system: System


def _stage_metrics(rows: StageRows, inputs: _RowInputs, prefill: bool, fidelity: Fidelity):
    """The stage record (:class:`~llmhw.perf.stages.PrefillStage` or ``DecodeStage``) of each combo: §13.6–§13.7
    once per micro-batch row, the stage once per stage row, then read per combo."""
    mbr = micro_batch_rows(inputs.rows_system, inputs.geom, inputs.t_int, rows.mu, prefill, fidelity)
    total, stage_s, energy = mbr.take(rows.row)
    make = prefill_stage if prefill else decode_stage
    return _take_fields(make(inputs.stage_system, total, stage_s, energy, rows.batch, rows.stage_mu, fidelity),
                        rows.combo)


def _evaluate_parts(parts, fidelity: Fidelity) -> GridBatch:
    """The joined grid of ``parts`` = [(index, system, candidates, layout), …] (one size group); its grid is
    None if an int64 product could overflow."""
    group = _Members([part[1] for part in parts])
    cands: list[Candidate] = []
    values: list[tuple] = []
    for _, member, m_cands, _ in parts:
        values += layout_values(member, [(c.t, c.p, c.e) for c in m_cands], fidelity)
        cands += m_cands
    layouts: list[Layout] = [part[3] for part in parts]
    k_starts = _starts([len(part[2]) for part in parts])
    n_combos = [len(lay.cand) for lay in layouts]
    c_starts = _starts(n_combos)
    cand = np.concatenate([lay.cand + k for lay, k in zip(layouts, k_starts)])
    B, mb, pmb = (np.concatenate([getattr(lay, name) for lay in layouts])
                  for name in ("batch", "micro_batch", "prefill_micro_batch"))
    segs = tuple((b, start + c0, end + c0) for lay, c0 in zip(layouts, c_starts) for b, start, end in lay.segments)
    bounds = tuple(zip([*k_starts, len(cands)], [*c_starts, len(cand)],
                       _starts([len(lay.segments) for lay in layouts] + [0])))
    shared = all(lay.shared_rows for lay in layouts)
    pre_rows = _join_stage([lay.prefill for lay in layouts], k_starts)
    if shared:          # the decode stage reads the prefill's rows: only its combo index is joined
        s_starts = _starts([len(lay.decode.batch) for lay in layouts])
        gen_rows = replace(pre_rows, combo=np.concatenate([lay.decode.combo + s for lay, s in zip(layouts, s_starts)])
                           if len(layouts) > 1 else layouts[0].decode.combo)
    else:
        gen_rows = _join_stage([lay.decode for lay in layouts], k_starts)
    indices = tuple(part[0] for part in parts)
    geoms = stack_geometry(values)
    max_mu = int(max(int(mb.max()), int(pmb.max()), 1))
    if not all(_int_bound_ok(m, geoms, max_mu, fidelity) for m in group.members):
        return GridBatch(indices, None)
    t_int = None
    if geoms.t.dtype != np.int64 and not all(_float_t_exact(m, geoms, max_mu) for m in group.members):
        t_int = np.asarray([c.t if isinstance(c.t, (int, np.integer)) else 0 for c in cands], dtype=np.int64)

    # a micro-batch row sees its member's P and G; a stage row and a combo its member's P, G and size
    def inputs(rows: StageRows, per_member: Sequence[StageRows]) -> _RowInputs:
        return _RowInputs(geoms.take(rows.cand), None if t_int is None else t_int[rows.cand],
                          group.per_row([len(r.mu) for r in per_member], EVAL_FIELDS),
                          group.per_row([len(r.batch) for r in per_member]))

    pre_inputs = inputs(pre_rows, [lay.prefill for lay in layouts])
    gen_inputs = pre_inputs if shared else inputs(gen_rows, [lay.decode for lay in layouts])
    pre = _stage_metrics(pre_rows, pre_inputs, True, fidelity)
    gen = _stage_metrics(gen_rows, gen_inputs, False, fidelity)
    combos = group.per_row(n_combos)
    cost = token_cost(combos, B, pre.latency_s, gen.latency_s, pre.utilization, gen.utilization, pre.power_w,
                      gen.power_w, fidelity)
    grid = Grid(candidates=tuple(cands), cand=cand, batch=B, micro_batch=mb, prefill_micro_batch=pmb,
                segments=segs, prefill_latency_s=pre.latency_s, decode_latency_s=gen.latency_s,
                tpot_s=gen.tpot_s, prefill_throughput_tok_per_s=pre.throughput_tok_per_s,
                decode_throughput_tok_per_s=gen.throughput_tok_per_s,
                prefill_utilization=pre.utilization, decode_utilization=gen.utilization,
                prefill_energy_j=pre.energy_j, decode_energy_j=gen.energy_j, prefill_power_w=pre.power_w,
                decode_power_w=gen.power_w, prefill_tco_per_token_usd=cost.prefill_tco_per_token_usd,
                decode_tco_per_token_usd=cost.decode_tco_per_token_usd)
    return GridBatch(indices, grid, bounds)


def _empty_grid(cands) -> Grid:
    e = np.zeros(0)
    ei = np.zeros(0, dtype=np.int64)
    return Grid(tuple(cands), ei, ei, ei, ei, (), *([e] * 13))
