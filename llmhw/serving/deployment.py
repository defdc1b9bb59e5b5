"""One serving deployment → goodput, TTFT, TPOT, throughput and cost (docs/serving.md §4–§6).

A deployment is aggregated (one pool of identical instances, each serving prefill and decode with chunked
prefill) or disaggregated (a prefill pool and a decode pool, the KV cache crossing a link). The SLO is met
by a request when its TTFT ≤ ``slo_ttft_s`` and its TPOT ≤ ``slo_tpot_s``; following DistServe, the goodput
is the largest load (requests/s) at which the ``percentile`` of the requests meet both: the TTFT quantile is
(3.2) + the prompt's own time at the same quantile, the TPOT is the mean time per output token (a request's
TPOT averages over its many tokens, so its spread across requests is small).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from llmhw.fidelity import Fidelity
from llmhw.perf.cost import LIFE_DAYS_PER_YEAR
from llmhw.workload.system import System

from .batching import aggregated_state, decode_state, quantile_index, rate_meeting
from .disagg import KVLink, balanced_ratio, kv_transfer_s, link_capacity_rps, pool_capacity_rps
from .iteration import IterationCost, iteration_cost
from .queueing import pk_mean_wait_s, wait_quantile_s
from .workload import ServingWorkload

SERVING_MODES = ("aggregated", "disaggregated")


@dataclass(frozen=True)
class Pool:
    """``instances`` copies of one system with layout (t, p); ``cost`` its iteration cost (§2)."""

    role: str                 # 'aggregated' | 'prefill' | 'decode'
    system: System
    t: float
    p: int
    instances: int
    cost: IterationCost

    @classmethod
    def build(cls, role: str, system: System, t: float, p: int, instances: int, fidelity: Fidelity) -> "Pool":
        return cls(role, system, t, p, instances, iteration_cost(system, t, p, fidelity))

    @property
    def kv_tokens(self) -> float:
        """KV-cache capacity of one instance in tokens (§11.2: memory left after the weights / K)."""
        return float(max(self.system.max_ctx_len_batch_1, 0))

    @property
    def num_servers(self) -> int:
        return self.instances * self.system.num_servers

    @property
    def num_chips(self) -> int:
        return self.instances * self.system.num_chips

    @property
    def cost_per_s_usd(self) -> float:
        """(6.1) The pool's TCO per second: servers × server TCO at TDP (§9) / life."""
        srv = self.system.server
        life_s = self.system.constants.server["SrvLife"] * LIFE_DAYS_PER_YEAR * 24 * 3600
        return self.num_servers * srv.tco.total / life_s

    @property
    def lifetime_tco_usd(self) -> float:
        return self.num_servers * self.system.server.tco.total


@dataclass(frozen=True)
class ServingResult:
    mode: str
    goodput_rps: float          # largest load meeting the SLO at the percentile
    max_rate_rps: float         # largest sustainable load (no SLO)
    load_rps: float             # the load the latency metrics below are given at
    ttft_s: float               # TTFT at the percentile
    ttft_mean_s: float
    tpot_s: float               # mean time per output token
    tbt_max_s: float            # longest iteration a decoding request sees
    throughput_tok_per_s: float  # generated tokens/s at the load
    decode_batch: float         # running decode batch per (decode) instance at the load
    prefill_busy: float         # utilisation of the prefill slot at the load
    kv_transfer_s: float        # mean KV transfer per request (disaggregated)
    cost_per_s_usd: float
    tco_per_mtoken_usd: float   # at the SLO load (the goodput)
    goodput_per_musd: float     # goodput per million $ of lifetime TCO
    num_servers: int
    num_chips: int
    pd_ratio: float             # n_p / n_d (nan when aggregated)
    balanced_ratio: float       # the n_p / n_d that would match the pools' capacities (nan when aggregated)
    binding: str                # what limits the goodput
    memory_short_bytes: float   # > 0 when the KV cache of one request (batch of 1) does not fit
    breakdown: Mapping[str, float] = field(default_factory=dict)


def _load(workload: ServingWorkload, goodput: float, max_rate: float, closed_loop) -> float:
    if workload.rate_rps is not None:
        return workload.rate_rps
    if workload.concurrency is not None:
        return closed_loop(workload.concurrency)
    return goodput if goodput > 0 else min(max_rate, 1e-9)


def _costs(pools: list[Pool], goodput: float, mean_output: float) -> tuple[float, float, float]:
    per_s = sum(p.cost_per_s_usd for p in pools)
    tco = sum(p.lifetime_tco_usd for p in pools)
    per_mtok = per_s / (goodput * mean_output) * 1e6 if goodput > 0 else math.inf
    return per_s, per_mtok, goodput / tco * 1e6 if tco > 0 else 0.0


def serve_aggregated(pool: Pool, workload: ServingWorkload, chunk_tokens: float) -> ServingResult:
    """§4: ``pool.instances`` aggregated instances, the load split evenly."""
    n = pool.instances
    ctx = workload.decode_context()
    kv_batch = (pool.kv_tokens - workload.prompt.mean()) / ctx
    short = max(0.0, 1 - kv_batch) * ctx * pool.system.model.kv_bytes_per_token
    st = aggregated_state(pool.cost, workload, chunk_tokens, max(kv_batch, 0.0))
    limits = {"ttft_q_s": workload.slo_ttft_s, "tpot_s": workload.slo_tpot_s}
    g1, binding = rate_meeting(st, limits) if short <= 0 else (0.0, "KV memory")
    goodput = n * g1
    max_rate = n * float(st.rate_rps[-1]) if len(st.rate_rps) and short <= 0 else 0.0

    def closed(N):   # N in flight = λ (TTFT + (E[G]−1) τ̄) per instance
        inflight = st.rate_rps * (st.ttft_mean_s + workload.decode_steps() * st.tpot_s)
        return n * float(np.interp(N / n, inflight, st.rate_rps)) if len(inflight) else 0.0
    load = _load(workload, goodput, max_rate, closed)
    at = st.at_rate(load / n)
    per_s, per_mtok, per_musd = _costs([pool], goodput, workload.output.mean())
    parts = _iteration_parts(pool, at["decode_batch"], ctx)
    return ServingResult(
        mode="aggregated", goodput_rps=goodput, max_rate_rps=max_rate, load_rps=load, ttft_s=at["ttft_q_s"],
        ttft_mean_s=at["ttft_mean_s"], tpot_s=at["tpot_s"], tbt_max_s=at["tbt_max_s"],
        throughput_tok_per_s=min(load, max_rate) * workload.output.mean(), decode_batch=at["decode_batch"],
        prefill_busy=at["prefill_busy"], kv_transfer_s=0.0, cost_per_s_usd=per_s, tco_per_mtoken_usd=per_mtok,
        goodput_per_musd=per_musd, num_servers=pool.num_servers, num_chips=pool.num_chips, pd_ratio=math.nan,
        balanced_ratio=math.nan, binding=_binding_name(binding), memory_short_bytes=short,
        breakdown={"ttft.wait_s": at["wait_mean_s"], "ttft.prefill_s": at["prefill_mean_s"],
                   "ttft.kv_transfer_s": 0.0, "tpot.chunk_s": at["tpot_s"] - at["decode_iter_s"], **parts})


def serve_disaggregated(prefill: Pool, decode: Pool, workload: ServingWorkload, link: KVLink) -> ServingResult:
    """§5: n_p prefill instances (whole prompts, FCFS, M/G/1 each), the KV transfer, n_d decode instances."""
    n_p, n_d = prefill.instances, decode.instances
    K = decode.system.model.kv_bytes_per_token
    P, w, q = workload.prompt.array, workload.prompt.probs, workload.percentile
    iq = quantile_index(P, w, q)
    occ = np.asarray(prefill.cost.prompt_occupancy_s(P), dtype=float) + 0 * P   # the prefill slot per prompt
    latency = occ * (2 * prefill.p - 1) / prefill.p          # + (p − 1) stages of pipeline fill
    ES, ES2 = float(w @ occ), float(w @ occ ** 2)
    xfer = kv_transfer_s(P, K, link)
    ctx = workload.decode_context()
    kv_batch = decode.kv_tokens / ctx
    short = max(0.0, (P.max() * prefill.p - prefill.kv_tokens) * K, (1 - kv_batch) * ctx * K)
    st = decode_state(decode.cost, workload, max(kv_batch, 0.0))
    mu_p = 1 / ES
    mu_d = float(st.rate_rps[-1]) if len(st.rate_rps) else 0.0
    link_rps = link_capacity_rps(workload.prompt.mean(), K, link, links=n_d)
    max_rate = pool_capacity_rps(n_p, mu_p, n_d, mu_d, link_rps) if short <= 0 else 0.0

    def ttft_q(rate_per_instance):
        return wait_quantile_s(rate_per_instance, ES, ES2, q) + latency[iq] + xfer[iq]
    rho = np.linspace(0.0, 0.999, 400)
    ok = ttft_q(rho * mu_p) <= workload.slo_ttft_s
    g_ttft = n_p * float(rho[ok][-1] * mu_p) if ok.any() and ok[0] else 0.0
    g_tpot, _ = rate_meeting(st, {"tpot_s": workload.slo_tpot_s})
    parts = {"TTFT SLO (prefill pool)": g_ttft, "TPOT SLO (decode pool)": n_d * g_tpot, "KV link": link_rps}
    binding = min(parts, key=parts.get)
    goodput = parts[binding] if short <= 0 else 0.0
    if short > 0:
        binding = "KV memory"

    def closed(N):
        rates = np.linspace(0, max_rate * 0.999, 200)
        at_d = [st.at_rate(r / n_d) for r in rates]
        ttft = pk_mean_wait_s(rates / n_p, ES, ES2) + float(w @ latency) + float(w @ xfer)
        inflight = rates * (ttft + workload.decode_steps() * np.array([a["tpot_s"] for a in at_d]))
        return float(np.interp(N, inflight, rates))
    load = _load(workload, goodput, max_rate, closed)
    at = st.at_rate(load / n_d)
    lam_p = load / n_p
    wait = pk_mean_wait_s(lam_p, ES, ES2)
    per_s, per_mtok, per_musd = _costs([prefill, decode], goodput, workload.output.mean())
    parts_it = _iteration_parts(decode, at["decode_batch"], ctx)
    return ServingResult(
        mode="disaggregated", goodput_rps=goodput, max_rate_rps=max_rate, load_rps=load,
        ttft_s=float(ttft_q(lam_p)), ttft_mean_s=float(wait + w @ latency + w @ xfer), tpot_s=at["tpot_s"],
        tbt_max_s=at["tbt_max_s"], throughput_tok_per_s=min(load, max_rate) * workload.output.mean(),
        decode_batch=at["decode_batch"], prefill_busy=lam_p * ES, kv_transfer_s=float(w @ xfer),
        cost_per_s_usd=per_s, tco_per_mtoken_usd=per_mtok, goodput_per_musd=per_musd,
        num_servers=prefill.num_servers + decode.num_servers, num_chips=prefill.num_chips + decode.num_chips,
        pd_ratio=n_p / n_d, balanced_ratio=balanced_ratio(mu_p, mu_d) if mu_d > 0 else math.inf,
        binding=binding, memory_short_bytes=short,
        breakdown={"ttft.wait_s": float(wait), "ttft.prefill_s": float(w @ latency),
                   "ttft.kv_transfer_s": float(w @ xfer), "tpot.chunk_s": 0.0, **parts_it})


def _binding_name(key: str) -> str:
    return {"ttft_q_s": "TTFT SLO", "tpot_s": "TPOT SLO"}.get(key, key)


def _iteration_parts(pool: Pool, decode_batch: float, ctx: float) -> dict[str, float]:
    """Where a decode iteration's time goes at the load (weights, attention, communication), §2."""
    if not math.isfinite(decode_batch):
        return {"tpot.weights_s": math.nan, "tpot.attention_s": math.nan, "tpot.communication_s": math.nan}
    it = pool.cost(decode_batch, ctx)
    return {"tpot.weights_s": it.weights_s, "tpot.attention_s": it.attention_s,
            "tpot.communication_s": it.communication_s}

