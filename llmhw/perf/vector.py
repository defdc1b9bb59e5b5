"""Vectorised evaluation of every mapping × batch of one system (model.md §12–§13, numpy).

The numbers are *identical* to the scalar path (:func:`llmhw.perf.point.evaluate_point`): every
formula is applied with the same operations in the same order, integer products are formed in int64
exactly as Python forms them with ints (then converted to float at the same step), and everything that
depends only on (t, p) — link choice, all-reduce constants, cube roots, the attention-score all-reduce —
is computed per pipeline candidate with the scalar functions themselves.

Structure: the micro-batch latencies and per-iteration energies depend only on (t, p, μ); they are
computed once per (pipeline candidate, micro-batch) "row" for prefill and for generate. The mappings of
all batches ("combos", in the §12.1 order) then index those rows, and the per-combo quantities (§13.6
latencies, §13.7 stage energies and powers, §13.9 TCO per token) are formed on flat arrays. The four
optima of each batch are first-minimum argmins over that batch's contiguous slice (np.argmin returns the
first minimum, matching §12.3's strict comparison with first-wins ties).

If an integer product could overflow int64 (extreme shapes), or the §14 sub-system prefill path is active,
:func:`evaluate_grid` returns None and the sweep falls back to the scalar loop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from llmhw.fidelity import Fidelity
from llmhw.workload.mapping import (MappingPoint, default_mapping_point, dynamic_prefill_active, micro_batch_pairs,
                                    required_memory_bytes, stage_candidates)
from llmhw.workload.stack import NO_STACK
from llmhw.workload.system import System, powers_of_two_upto

from .collectives import (LOCAL_GROUP, allreduce_latency_s, bottleneck_link, collective_links, cube_root_ceil,
                          stage_link)
from .cost import token_cost
from .energy import energy_rates, weights_total
from .errors import UnsupportedFeature
from .efficiency import causal_score_fraction
from .latency import attention_comm2_s, elementwise_layer_s, kv_bandwidth_bytes_per_s, operator_efficiency
from .overheads import layer_time_s
from .shapes import Operator
from .matmul import unsupported_dataflow_message, ws_array_width
from .shapes import context_len, qkv_columns

INT64_LIMIT = 2 ** 63 - 1


@dataclass(frozen=True)
class Candidate:
    """A (t, p) pair; ``t`` keeps its Python type (int, or float when p > num_servers)."""

    t: float
    p: int


@dataclass(frozen=True)
class MicroBatchRows:
    """§13.6 micro-batch stage/total latency and §13.7 per-iteration energies (pJ) per (candidate, μ) row."""

    stage_s: np.ndarray
    total_s: np.ndarray
    e_fma_pj: np.ndarray
    e_mem_pj: np.ndarray
    e_comm_pj: np.ndarray


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
    generate_tco_per_token_usd: np.ndarray

    def mapping(self, i: int) -> MappingPoint:
        c = self.candidates[int(self.cand[i])]
        return MappingPoint(c.t, c.p, int(self.micro_batch[i]), int(self.prefill_micro_batch[i]))

    def __len__(self) -> int:
        return len(self.batch)


# ---- per-candidate constants ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CandidateTable:
    """Everything that depends only on the (t, p) candidate, computed with the scalar functions."""

    J_at: np.ndarray        # ceil(d_at / t)
    F: np.ndarray           # ceil(d_ff / t)
    Kq: np.ndarray          # QKV output columns
    a2a: np.ndarray         # AR(t, d·b) / 2
    lps: np.ndarray         # ceil(L / p)
    p: np.ndarray
    stage_bw: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray
    k1: np.ndarray          # ring: t; 2d: ceil(sqrt t); 3d: ceil(cbrt t); local: t == group
    k2: np.ndarray          # local: ceil(cbrt(ceil(t / group)))
    one: np.ndarray         # t == 1 (no all-reduce)
    t_is_int: np.ndarray
    t_int: np.ndarray
    t_float: np.ndarray
    all_t_int: bool


def candidate_table(system: System, cands: Sequence[Candidate], fidelity: Fidelity) -> CandidateTable:
    model = system.model
    algo = system.allreduce_algo
    eff = system.io_bandwidth_efficiency
    d, b, L = model.d, model.bytes_per_number, model.num_layers
    cols: dict[str, list] = {k: [] for k in ("J_at", "F", "Kq", "a2a", "lps", "p", "stage_bw", "alpha", "beta",
                                             "k1", "k2", "one", "t_is_int", "t_int", "t_float")}
    for c in cands:
        t = c.t
        link = bottleneck_link(collective_links(system, c.p))
        cols["J_at"].append(math.ceil(model.d_attn / t))
        cols["F"].append(math.ceil(model.d_ff / t))
        cols["Kq"].append(qkv_columns(model, t, fidelity))
        cols["a2a"].append(allreduce_latency_s(system, c.p, t, d * b) / 2)
        cols["lps"].append(math.ceil(L / c.p))
        cols["p"].append(c.p)
        cols["stage_bw"].append(stage_link(system, c.p).bandwidth_bytes_per_s)
        cols["alpha"].append(link.init_time_s)
        cols["beta"].append(1 / (link.bandwidth_bytes_per_s * eff))
        cols["one"].append(t == 1)
        is_int = isinstance(t, (int, np.integer))
        cols["t_is_int"].append(is_int)
        cols["t_int"].append(t if is_int else 0)
        cols["t_float"].append(float(t))
        if algo == "ring":
            cols["k1"].append(t)
        elif algo == "2d_ring":
            cols["k1"].append(math.ceil(math.sqrt(t)))
        elif algo == "3d_ring":
            cols["k1"].append(cube_root_ceil(t))
        else:
            group = LOCAL_GROUP[algo]
            cols["k1"].append(t == group)
            cols["k2"].append(cube_root_ceil(math.ceil(t / group)))
    ints = ("J_at", "F", "Kq", "lps", "p", "t_int")
    arr = {k: np.asarray(v, dtype=np.int64 if k in ints else (bool if k in ("one", "t_is_int") else np.float64))
           for k, v in cols.items()}
    return CandidateTable(**arr, all_t_int=bool(arr["t_is_int"].all()))


# ---- all-reduce on arrays (§13.5) ----------------------------------------------------------------------

def _allreduce_rows(algo: str, tab: CandidateTable, row_cand: np.ndarray, n: np.ndarray) -> np.ndarray:
    """AR(t, n) per row (t of the row's candidate), same operation order as ``collectives.allreduce_s``."""
    a = tab.alpha[row_cand]
    b = tab.beta[row_cand]
    k = tab.k1[row_cand]
    if algo == "ring":
        val = 2 * (k - 1) * (a + b * n / k)
    elif algo == "2d_ring":
        val = 2 * (k - 1) * (2 * a + b * n / k)
    elif algo == "3d_ring":
        val = 2 * (k - 1) * (3 * a + b * n / k)
    else:
        if algo == "local_4d_16":
            t_loc = 8 * a + b * n
        elif algo == "local_2d_16":
            t_loc = 6 * (2 * a + b * n / 4)
        elif algo == "local_ring_16":
            t_loc = 30 * a + 1.875 * b * n
        else:
            t_loc = 14 * a + 1.75 * b * n
        c3 = tab.k2[row_cand]
        t_glob = 2 * (c3 - 1) * (3 * a + b * n / c3)
        t_bc = 16 * a + b * n + 2 * np.sqrt(a * b * n)
        val = np.where(k.astype(bool), t_loc, t_loc + t_glob + t_bc)
    return np.where(tab.one[row_cand], 0.0, val)


# ---- matmul on arrays (§13.3) ---------------------------------------------------------------------------

def _roofline(stacks, I, J, K, perf_eff, bw: float, load_divisor: float, work_fraction: float = 1):
    """(time, t_comp, t_load) with the scalar path's operation order (int64 products stay exact)."""
    ops = stacks * I * J * K * 2
    if work_fraction != 1:
        ops = ops * work_fraction
    t_comp = ops / perf_eff
    t_load = stacks * J * K * 2 / bw
    if load_divisor != 1:
        t_load = t_load / load_divisor
    return np.maximum(t_comp, t_load), t_comp, t_load


def _ws(stacks, I, J, K, system: System, bw: float, load_divisor: float):
    chip = system.server.package.chip
    w, n_sa = ws_array_width(chip), chip.num_sa
    stacks, I, J, K = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (stacks, I, J, K)))
    big = stacks > n_sa
    s_core = np.where(big, np.ceil(stacks / n_sa), 1.0)
    split = np.where(big, 1.0, np.floor(n_sa / stacks))
    K_c = np.where(big, K, np.ceil(K / split))
    acc = float(chip.acc_depth)
    I_hat = np.ceil(I / acc / 2)
    J_hat = np.ceil(J / w)
    K_hat = np.ceil(K_c / w)
    I_bar = np.ceil(I / I_hat)
    J_bar = np.ceil(J / J_hat)
    K_bar = np.ceil(K_c / K_hat)
    t_load = J_bar * K_bar / (bw / n_sa)
    if load_divisor != 1:
        t_load = t_load / load_divisor
    t_comp = np.ceil(np.maximum(2 * w + I_bar, 2 * I_bar) / 2) / chip.freq_hz
    time = s_core * (t_load + t_comp + (I_hat * J_hat * K_hat - 1) * np.maximum(t_load, t_comp))
    return time, t_comp, t_load


# ---- micro-batch rows (§13.2–§13.7) ----------------------------------------------------------------------

def _int_bound_ok(system: System, cands: Sequence[Candidate], max_mu: int, fidelity: Fidelity) -> bool:
    """True if every integer product formed on int64 arrays stays below 2^63 (Python ints are unbounded)."""
    m = system.model
    P, L, d = system.prefill_len, m.num_layers, m.d
    b = m.bytes_per_number
    big = 0
    for c in cands:
        J = math.ceil(m.d_attn / c.t)
        F = math.ceil(m.d_ff / c.t)
        Kq = qkv_columns(m, c.t, fidelity)
        R = P * max_mu
        big = max(big, R * d * Kq * 2, max_mu * P * J * P * 2, 2 * R * d * F * 2, R * J * d * 2,
                  L * 2 * d * R * (c.t if isinstance(c.t, int) else 1) * b)
    W = weights_total(system, fidelity)
    if isinstance(W, int):
        big = max(big, W * P * max_mu)
    big = max(big, L * 9 * d * P * max_mu * b, L * 2 * d * P * P * max_mu * b, max_mu * P * 2 * system.max_batch)
    return big < INT64_LIMIT


def micro_batch_rows(system: System, cands: Sequence[Candidate], tab: CandidateTable, row_cand: np.ndarray,
                     row_mu: np.ndarray, prefill: bool, fidelity: Fidelity) -> MicroBatchRows:
    """§13.6 stage/total latency and §13.7 per-iteration energies for each (candidate, μ) row."""
    model = system.model
    P, G = system.prefill_len, system.decode_len
    chip = system.server.package.chip
    b, d, L, H = model.bytes_per_number, model.d, model.num_layers, model.num_heads
    c = context_len(prefill, P, G)
    mu = row_mu
    R = P * mu if prefill else mu
    I_att = P if prefill else 1
    J_at, F, Kq = tab.J_at[row_cand], tab.F[row_cand], tab.Kq[row_cand]

    # §13.3 six operators, summed in order
    kv_div = model.heads_per_kv_cache if fidelity.gqa_in_perf_shapes else 1
    w_bw, kv_bw = system.w_bw_bytes_per_s, kv_bandwidth_bytes_per_s(system, fidelity)
    g = 2 if model.gated else 1
    causal = causal_score_fraction(P) if prefill and fidelity.causal_prefill_attention else 1
    shapes = ((1, R, d, Kq, False, 1, 1), (mu, I_att, J_at, c, True, kv_div, causal),
              (mu, I_att, c, J_at, True, kv_div, causal),
              (1, R, J_at, d, False, 1, 1), (g, R, d, F, False, 1, 1), (1, R, F, d, False, 1, 1))
    if chip.dataflow == "roofline":
        times = [_roofline(st, I, J, K, chip.perf_flops * operator_efficiency(Operator("", st, I, J, K, kv), system,
                                                                              fidelity, c),
                           kv_bw if kv else w_bw, div, frac)[0]
                 for st, I, J, K, kv, div, frac in shapes]
    elif chip.dataflow == "WS":
        times = [_ws(st, I, J, K, system, kv_bw if kv else w_bw, div)[0] for st, I, J, K, kv, div, _ in shapes]
    else:
        raise UnsupportedFeature(unsupported_dataflow_message(chip.dataflow))
    layer_compute = times[0] + times[1] + times[2] + times[3] + times[4] + times[5]
    if fidelity.stack_terms and system.stack != NO_STACK:
        sk = system.stack
        layer_compute = layer_time_s(layer_compute + elementwise_layer_s(system, tab.t_float[row_cand], R),
                                     sk.kernels_per_layer, sk.kernel_overhead_s, sk.launch_overhead_s, sk.eager(prefill))

    # §13.4 communication (comm1 depends on c, so per phase)
    comm1 = np.asarray([allreduce_latency_s(system, x.p, int(x.t / H), c * b) if x.t > H else 0
                        for x in cands], dtype=np.float64)[row_cand]
    a2a = tab.a2a[row_cand]
    ar = _allreduce_rows(system.allreduce_algo, tab, row_cand, R * d * b)
    comm2 = attention_comm2_s(model.resolved_attn_comm_pattern, a2a, ar)
    layer_comm = comm1 + comm2 + ar
    a = R * d
    s2s = a * b / (tab.stage_bw[row_cand] * system.io_bandwidth_efficiency) + system.server.io.init_time_s
    if fidelity.single_stage_no_transfer:
        s2s = np.where(tab.p[row_cand] == 1, 0.0, s2s)
    stage = (layer_compute + layer_comm) * tab.lps[row_cand] + s2s
    total = stage * tab.p[row_cand]

    # §13.7 per-iteration energy (pJ)
    r = energy_rates(system)
    W_tot = weights_total(system, fidelity)
    E_wgt = W_tot * b * r.mem_pj_per_byte
    x = P * mu if prefill else mu
    acts = L * 9 * d * x
    kv = L * 2 * d * c
    E_fma = W_tot * x * r.fma_pj + kv * x * r.fma_pj
    base = L * 2 * d * x
    if tab.all_t_int:
        allred_b = base * tab.t_int[row_cand] * b
    else:
        allred_b = np.where(tab.t_is_int[row_cand], base * tab.t_int[row_cand] * b, base * tab.t_float[row_cand] * b)
    kv_read = mu * c * model.kv_numbers_per_token if fidelity.energy_counts_fixed else kv
    E_mem = E_wgt + acts * b * r.sram_act_pj_per_byte + kv_read * b * r.mem_pj_per_byte
    E_comm = allred_b * r.link_pj_per_byte
    return MicroBatchRows(stage, total, E_fma, E_mem, E_comm)


# ---- the grid of one system ------------------------------------------------------------------------------

_PAIRS: dict[int, tuple[np.ndarray, np.ndarray]] = {}
_LAYOUTS: dict[tuple, tuple] = {}
_LAYOUT_CACHE_MAX = 4096


def _pairs(batch: int) -> tuple[np.ndarray, np.ndarray]:
    """(mb, pmb) arrays of §12.1 for batch B (memoized)."""
    got = _PAIRS.get(batch)
    if got is None:
        pairs = micro_batch_pairs(batch)
        got = (np.asarray([q[0] for q in pairs], dtype=np.int64), np.asarray([q[1] for q in pairs], dtype=np.int64))
        _PAIRS[batch] = got
    return got


def _combos(n_cands: int, mus: tuple[int, ...], fits: tuple[tuple[int, tuple[int, ...]], ...]):
    """Combo arrays for the fit pattern ``fits`` = ((B, fitting candidate indices), …); memoized because
    most systems of a sweep share their pattern."""
    key = (n_cands, mus, fits)
    got = _LAYOUTS.get(key)
    if got is not None:
        return got
    n_mu = len(mus)
    lut = np.zeros(max(mus) + 1, dtype=np.int64)
    for i, m in enumerate(mus):
        lut[m] = i
    cand_l, b_l, mb_l, pmb_l, segs = [], [], [], [], []
    start = 0
    for B, fit in fits:
        mbs, pmbs = _pairs(B)
        k = len(fit) * len(mbs)
        if k == 0:
            continue
        cand_l.append(np.repeat(np.asarray(fit, dtype=np.int64), len(mbs)))
        mb_l.append(np.tile(mbs, len(fit)))
        pmb_l.append(np.tile(pmbs, len(fit)))
        b_l.append(np.full(k, B, dtype=np.int64))
        segs.append((B, start, start + k))
        start += k
    if not segs:
        got = None
    else:
        cand = np.concatenate(cand_l)
        mb = np.concatenate(mb_l)
        pmb = np.concatenate(pmb_l)
        row_cand = np.repeat(np.arange(n_cands, dtype=np.int64), n_mu)
        row_mu = np.tile(np.asarray(mus, dtype=np.int64), n_cands)
        rows = (row_cand, row_mu, cand * n_mu + lut[pmb], row_cand, row_mu, cand * n_mu + lut[mb])
        got = (cand, np.concatenate(b_l), mb, pmb, tuple(segs), rows)
        for a in (*got[:4], *rows):      # shared between systems: read-only
            a.setflags(write=False)
    if len(_LAYOUTS) >= _LAYOUT_CACHE_MAX:
        _LAYOUTS.clear()
    _LAYOUTS[key] = got
    return got


def _enumerated_layout(system: System):
    """(candidates, layout) for §12.1 enumerated mappings; combos in §12.3 order (B, p, mb, pmb)."""
    batches = system.batches
    if not batches:
        return (), None
    mem = system.server.package.total_mem_bytes
    capacity = [(c, c.t_pkg * mem * c.p) for c in stage_candidates(system)]
    demand = [required_memory_bytes(system, B) for B in batches]
    cands = [c for c, cap in capacity if not cap < demand[0]]          # the §12.1 fit at the smallest batch
    caps = [cap for _, cap in capacity if not cap < demand[0]]
    fits = tuple((B, tuple(i for i, cap in enumerate(caps) if not cap < dem)) for B, dem in zip(batches, demand))
    out = [Candidate(c.t, c.p) for c in cands]
    if not cands:
        return out, None
    return out, _combos(len(cands), powers_of_two_upto(system.max_batch), fits)


def _default_layout(system: System):
    """One §12.2 mapping per batch; each combo has its own prefill and generate row."""
    points = [default_mapping_point(system, B) for B in system.batches]
    if not points:
        return (), None
    cands: list[Candidate] = []
    index: dict[tuple, int] = {}
    cand = []
    for m in points:
        key = (type(m.t), m.t, m.p)
        if key not in index:
            index[key] = len(cands)
            cands.append(Candidate(m.t, m.p))
        cand.append(index[key])
    cand = np.asarray(cand, dtype=np.int64)
    B = np.asarray(system.batches, dtype=np.int64)
    mb = np.asarray([m.micro_batch for m in points], dtype=np.int64)
    pmb = np.asarray([m.prefill_micro_batch for m in points], dtype=np.int64)
    idx = np.arange(len(points), dtype=np.int64)
    segs = tuple((int(b), i, i + 1) for i, b in enumerate(system.batches))
    return cands, (cand, B, mb, pmb, segs, (cand, pmb, idx, cand, mb, idx))


def evaluate_grid(system: System, fidelity: Fidelity) -> Grid | None:
    """Evaluate every mapping of every batch of ``system`` at once.

    None (the sweep then uses the scalar loop) if an int64 product could overflow or the §14 sub-system
    prefill path is active.
    """
    if dynamic_prefill_active(system):
        return None          # the §14 sub-system prefill path is evaluated by the scalar loop
    if system.default_mapping is not None:
        cands, layout = _default_layout(system)
    else:
        cands, layout = _enumerated_layout(system)
    if layout is None:
        return _empty_grid(cands)
    cand, B, mb, pmb, segs, rows = layout
    max_mu = int(max(int(mb.max()), int(pmb.max()), 1))
    if not _int_bound_ok(system, cands, max_mu, fidelity):
        return None
    p_cand, p_mu, p_idx, g_cand, g_mu, g_idx = rows
    tab = candidate_table(system, cands, fidelity)
    pre = micro_batch_rows(system, cands, tab, p_cand, p_mu, True, fidelity)
    gen = micro_batch_rows(system, cands, tab, g_cand, g_mu, False, fidelity)
    model = system.model
    P, G = system.prefill_len, system.decode_len

    # §13.6 prefill
    T_p = pre.total_s[p_idx] + (B / pmb - 1) * pre.stage_s[p_idx]
    thr_p = B * P / T_p
    util_p = model.prefill_flops(P, fidelity.glu_in_flops) * B / (system.perf_flops * T_p)
    # §13.6 generate
    total_g = gen.total_s[g_idx]
    tau = np.maximum(total_g, gen.stage_s[g_idx] * B / mb)
    T_g = total_g + (G - 1) * tau
    thr_g = B / tau
    util_g = thr_g * model.generate_flops(P + G / 2, fidelity.glu_in_flops) / system.perf_flops
    # §13.7 energy and power
    it_p = B / pmb
    E_p = (pre.e_fma_pj[p_idx] * it_p / 1e12 + pre.e_mem_pj[p_idx] * it_p / 1e12
           + pre.e_comm_pj[p_idx] * it_p / 1e12)
    it_g = B / mb * G
    E_g = (gen.e_fma_pj[g_idx] * it_g / 1e12 + gen.e_mem_pj[g_idx] * it_g / 1e12
           + gen.e_comm_pj[g_idx] * it_g / 1e12)
    power_p = E_p / T_p + system.other_tdp_w
    power_g = E_g / T_g + system.other_tdp_w
    # §13.9
    cost = token_cost(system, B, T_p, T_g, util_p, util_g, power_p, power_g, fidelity)
    return Grid(candidates=tuple(cands), cand=cand, batch=B, micro_batch=mb, prefill_micro_batch=pmb,
                segments=segs, prefill_latency_s=T_p, decode_latency_s=T_g, tpot_s=tau,
                prefill_throughput_tok_per_s=thr_p, decode_throughput_tok_per_s=thr_g,
                prefill_utilization=util_p, decode_utilization=util_g, prefill_energy_j=E_p,
                decode_energy_j=E_g, prefill_power_w=power_p, decode_power_w=power_g,
                prefill_tco_per_token_usd=cost.prefill_tco_per_token_usd,
                generate_tco_per_token_usd=cost.generate_tco_per_token_usd)


def _empty_grid(cands) -> Grid:
    e = np.zeros(0)
    ei = np.zeros(0, dtype=np.int64)
    return Grid(tuple(cands), ei, ei, ei, ei, (), *([e] * 13))


def select_optima(grid: Grid) -> np.ndarray | None:
    """Index of the first minimum of each goal's metric in each batch segment: shape (4 goals, segments).

    None if a metric is NaN (where np.minimum and the scalar strict comparison would disagree).
    """
    from .sweep import GOALS

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
                   "prefill_power_w", "decode_power_w", "prefill_tco_per_token_usd", "generate_tco_per_token_usd")


def sweep_system_vector(system: System, fidelity: Fidelity) -> dict:
    """§12.3 optima from :func:`evaluate_grid` (falls back to the scalar loop if the grid is None)."""
    from .sweep import GOALS, Optimum, sweep_system_scalar

    grid = evaluate_grid(system, fidelity)
    if grid is None:
        return sweep_system_scalar(system, fidelity)
    optima: dict[str, dict[int, Optimum]] = {g: {} for g in GOALS}
    if not grid.segments:
        return optima
    best = select_optima(grid)
    if best is None:
        return sweep_system_scalar(system, fidelity)
    flat = best.reshape(-1)
    values = np.stack([getattr(grid, f)[flat] for f in _OPTIMUM_FIELDS], axis=1).tolist()
    cand = grid.cand[flat].tolist()
    mb = grid.micro_batch[flat].tolist()
    pmb = grid.prefill_micro_batch[flat].tolist()
    cands = grid.candidates
    nseg = len(grid.segments)
    j = 0
    for goal in GOALS:
        out = optima[goal]
        for B, _, _ in grid.segments:
            c = cands[cand[j]]
            out[B] = Optimum(goal, B, MappingPoint(c.t, c.p, mb[j], pmb[j]), *values[j])
            j += 1
    assert j == 4 * nseg
    return optima
