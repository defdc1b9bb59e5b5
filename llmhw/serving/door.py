"""A :class:`ServingPoint` through the evaluator door (llmhw.evaluate.Problem.evaluate → here).

Builds each pool's server and system with the problem's memo tables, the mapping of each pool as the
search's explicit mapping (§12.1 stage width for the chosen p), runs :mod:`.deployment` and returns a
:class:`llmhw.evaluate.Result` with the serving metrics, the §18 violations (worst of the pools) and a flat
design that names the pools, the ratio and where the time goes.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

from .deployment import Pool, ServingResult, serve_aggregated, serve_disaggregated
from .disagg import KVLink
from .point import PoolPoint, ServingPoint


def kv_link(spec: Any, prefill: Pool, decode: Pool) -> KVLink:
    """(5.1) The named link: 'server' (the servers' NICs: the smaller of the two pools' instance bandwidth,
    × io efficiency), 'package' (both pools in one server: the package link), or {bandwidth, latency}."""
    eff = decode.system.io_bandwidth_efficiency
    if isinstance(spec, Mapping):
        return KVLink("custom", float(spec["bandwidth"]), float(spec.get("latency", 0.0)))
    if spec == "package":
        links = [pl.system.server.package.link for pl in (prefill, decode)]
        return KVLink("package", min(x.bandwidth_bytes_per_s for x in links) * eff,
                      max(x.init_time_s for x in links))
    bw = min(pl.system.num_servers * pl.system.server.io.bandwidth_bytes_per_s for pl in (prefill, decode))
    return KVLink("server", bw * eff, max(pl.system.server.io.init_time_s for pl in (prefill, decode)))


def _pool(problem: Any, pp: PoolPoint, role: str, instances: int, point: ServingPoint):
    from llmhw.evaluate import _key, explicit_mapping
    srv = problem.server(pp.chip, pp.package, pp.server)
    sys_ = problem.system(srv, pp.system, _key((pp.chip, pp.package, pp.server)), point.prefill_len,
                          point.decode_len)
    mapping, map_v, reasons = explicit_mapping(sys_, pp.p, 1, 1, 1)
    pool = Pool.build(role, sys_, mapping.t, mapping.p, instances, problem.fidelity)
    parts = (srv.package.chip.violations, srv.package.violations, srv.violations, sys_.violations, map_v)
    why = [*srv.package.chip.reasons, *srv.package.reasons, *srv.reasons, *sys_.reasons, *reasons]
    return pool, parts, [f"{role}: {r}" for r in why]


def evaluate_serving(problem: Any, point: ServingPoint):
    from llmhw.evaluate import Result
    from llmhw.violations import full_violations
    dec, d_parts, reasons = _pool(problem, point.decode, "decode" if point.mode == "disaggregated" else
                                  "aggregated", point.decode_instances, point)
    pools, parts = [dec], [full_violations(*d_parts)]
    if point.mode == "disaggregated":
        pre, p_parts, p_reasons = _pool(problem, point.prefill, "prefill", point.prefill_instances, point)
        pools.insert(0, pre)
        parts.append(full_violations(*p_parts))
        reasons += p_reasons
        r = serve_disaggregated(pre, dec, point.workload, kv_link(point.kv_link, pre, dec))
    else:
        r = serve_aggregated(dec, point.workload, point.chunk_tokens)
    violations = {k: max(v[k] for v in parts) for k in parts[0]}
    if r.memory_short_bytes > 0:
        violations["map_memory_bytes"] = max(violations["map_memory_bytes"], r.memory_short_bytes)
        reasons.append("the KV cache of the requests does not fit the memory left after the weights")
    if r.goodput_rps <= 0 and r.memory_short_bytes <= 0:
        reasons.append(f"the SLO cannot be met at any load ({r.binding})")
    return Result(metrics=_metrics(r, pools), violations=violations, reasons=tuple(reasons),
                  design=_design(point, r, pools, problem))


def _metrics(r: ServingResult, pools: list[Pool]) -> dict[str, float]:
    b = r.breakdown
    srv_cost = sum(p.num_servers * p.system.server.cost_usd for p in pools)
    return {
        "goodput_rps": r.goodput_rps, "goodput_per_musd": r.goodput_per_musd, "max_rate_rps": r.max_rate_rps,
        "load_rps": r.load_rps, "ttft_s": r.ttft_s, "ttft_mean_s": r.ttft_mean_s, "tpot_s": r.tpot_s,
        "tbt_max_s": r.tbt_max_s, "throughput_tok_per_s": r.throughput_tok_per_s,
        "throughput_per_chip_tok_per_s": r.throughput_tok_per_s / r.num_chips,
        "tco_per_mtoken_usd": r.tco_per_mtoken_usd, "tco_per_token_usd": r.tco_per_mtoken_usd / 1e6,
        "decode_batch": r.decode_batch, "prefill_busy": r.prefill_busy, "kv_transfer_s": r.kv_transfer_s,
        "pd_ratio": r.pd_ratio, "ttft_wait_s": b["ttft.wait_s"], "ttft_prefill_s": b["ttft.prefill_s"],
        "tpot_weights_s": b["tpot.weights_s"], "tpot_attention_s": b["tpot.attention_s"],
        "tpot_communication_s": b["tpot.communication_s"], "tpot_chunk_s": b["tpot.chunk_s"],
        "system_cost_usd": srv_cost,
        "capex_usd": sum(p.num_servers * p.system.server.tco.fix_part for p in pools),   # as §15.2, at TDP
        "opex_usd": sum(p.num_servers * p.system.server.tco.power_part for p in pools),
        "system_tdp_w": sum(p.instances * p.system.tdp_w for p in pools),
        "num_chips": float(r.num_chips), "num_servers": float(r.num_servers),
    }


def _pool_text(pool: Pool, hw: str) -> str:
    return (f"{pool.instances} × {hw} ({pool.system.num_servers} srv, t {pool.t:g} × p {pool.p})")


def _design(point: ServingPoint, r: ServingResult, pools: list[Pool], problem: Any) -> dict[str, Any]:
    wl = point.workload
    out: dict[str, Any] = {
        "serving_mode": point.mode, "model": problem.model.name, "compat": problem.fidelity.compat,
        "prompt": wl.prompt.describe(), "output": wl.output.describe(),
        "slo": f"TTFT p{wl.percentile * 100:g} ≤ {wl.slo_ttft_s:g} s, TPOT ≤ {wl.slo_tpot_s:g} s",
        "binding": r.binding, "num_servers": r.num_servers,
    }
    dec = pools[-1]
    if point.mode == "disaggregated":
        pre = pools[0]
        out.update({"prefill_pool": _pool_text(pre, point.prefill.hardware),
                    "decode_pool": _pool_text(dec, point.decode.hardware),
                    "pd_ratio": f"{point.prefill_instances}:{point.decode_instances} "
                                f"(balanced {r.balanced_ratio:.2f})",
                    "kv_link": str(point.kv_link if not isinstance(point.kv_link, Mapping) else "custom"),
                    "chip_id": f"{pre.system.server.package.chip.chip_id}+{dec.system.server.package.chip.chip_id}"})
    else:
        out.update({"aggregated_pool": _pool_text(dec, point.decode.hardware), "chunk_tokens": point.chunk_tokens,
                    "chip_id": dec.system.server.package.chip.chip_id})
    out["t"], out["p"] = dec.t, dec.p
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else repr(v)) for k, v in out.items()}
