"""Mappings of the model onto a system (model.md §12.1 enumeration, §12.2 default mapping).

A mapping is (t = chips per pipeline stage = tensor-parallel size, p = pipeline stages, micro_batch for
generation, prefill_micro_batch) and, for mixture-of-experts models, the expert-parallel degree e
(docs/models.md §M5.3: the t chips of a stage form e groups of t/e chips; each group holds E/e experts,
each split over its t/e chips). ``t`` keeps the type the reference computes: an ``int`` normally, a
``float`` (e.g. ``2.0``) when p > num_servers (§12.1, floor division on a float).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from .kv import kv_numbers_per_sequence
from .params import expert_params
from .system import System, powers_of_two_upto


@dataclass(frozen=True)
class MappingPoint:
    t: float
    p: int
    micro_batch: int
    prefill_micro_batch: int
    e: int = 1                 # expert-parallel degree (docs/models.md §M5.3); 1 for dense models



@dataclass(frozen=True)
class StageCandidate:
    """One pipeline size of §12.1 step 1–2 with its stage width (before the memory-fit filter)."""

    p: int
    t_pkg: float
    t: float


@lru_cache(maxsize=256)
def pipeline_sizes(num_layers: int) -> tuple[int, ...]:
    """§12.1 step 1: the smallest p for each distinct layers-per-stage value ceil(L/p), p ascending."""
    out: list[int] = []
    prev = None
    for p in range(1, num_layers + 1):
        lps = math.ceil(num_layers / p)
        if lps != prev:
            out.append(p)
            prev = lps
    return tuple(out)


def stage_candidates(system: System) -> tuple[StageCandidate, ...]:
    """§12.1 step 2 without the memory fit: (p, t_pkg, t) for every p that is not skipped."""
    ns = system.num_servers
    np_srv = system.server.num_packages
    n_chips = system.server.package.num_chips
    out = []
    for p in pipeline_sizes(system.model.num_layers):
        if ns >= p:
            t_pkg = (ns // p) * np_srv
        elif p % ns == 0:
            t_pkg = np_srv // (p / ns)
        else:
            continue
        out.append(StageCandidate(p=p, t_pkg=t_pkg, t=t_pkg * n_chips))
    return tuple(out)


def required_memory_bytes(system: System, batch: int) -> float:
    """§12.1 memory-fit demand M + B × c_min × K with c_min = P + G (M and K at the system's precision;
    windowed layers hold at most W tokens, eq. M3.3)."""
    c_min = system.prefill_len + system.decode_len
    model = system.model
    if model.windowed_layers:
        return system.model_bytes + batch * kv_numbers_per_sequence(model, c_min) * system.kv_bytes_per_number
    return system.model_bytes + batch * c_min * system.kv_bytes_per_token


def expert_parallel_candidates(model, t: float) -> tuple[int, ...]:
    """Expert-parallel degrees of a stage of t chips (eq. M5.6): 1, 2, 4, … dividing t, at most E; (1,) for a
    dense model."""
    if not model.is_moe:
        return (1,)
    out, e = [], 1
    while e <= t and e <= model.num_experts and t % e == 0:
        out.append(e)
        e *= 2
    return tuple(out)


def chip_memory_bytes(system: System, mapping: MappingPoint, batch: int) -> float:
    """The busiest chip's memory need (eq. M5.7): (dense weights + expert weights × ceil(E/e)·e/E + KV) / (t·p):
    with E/e not an integer some group holds ceil(E/e) experts."""
    model = system.model
    need = required_memory_bytes(system, batch)
    if model.is_moe and mapping.e > 1:
        expert_bytes = model.moe_layers * model.num_experts * expert_params(model) * system.weight_bytes_per_number
        need = need + expert_bytes * (math.ceil(model.num_experts / mapping.e) * mapping.e / model.num_experts - 1)
    return need / (mapping.t * mapping.p)


def stage_fits(system: System, cand: StageCandidate, batch: int) -> bool:
    """§12.1 memory fit: keep p unless t_pkg × package.total_mem × p < M + B × c_min × K."""
    return not (cand.t_pkg * system.server.package.total_mem_bytes * cand.p
                < required_memory_bytes(system, batch))


def micro_batch_pairs(batch: int) -> tuple[tuple[int, int], ...]:
    """(mb, pmb) with mb = 1, 2, 4, … ≤ B (outer) and pmb = 1, 2, 4, … ≤ mb (inner)."""
    return tuple((mb, pmb) for mb in powers_of_two_upto(batch) for pmb in powers_of_two_upto(mb))


def enumerate_mappings(system: System, batch: int) -> list[MappingPoint]:
    """§12.1: every (t, p, mb, pmb) for batch B, p ascending, then mb, then pmb; for an MoE model every
    expert-parallel degree e of the stage (docs/models.md M5.6) between p and mb."""
    pairs = micro_batch_pairs(batch)
    return [MappingPoint(c.t, c.p, mb, pmb, e) for c in stage_candidates(system) if stage_fits(system, c, batch)
            for e in expert_parallel_candidates(system.model, c.t) for mb, pmb in pairs]


def default_mapping_point(system: System, batch: int, cfg: Mapping[str, Any] | None = None) -> MappingPoint:
    """§12.2: the configured mapping; 0 micro-batches mean B; p = 1 forces t = num_chips (no fit filter)."""
    cfg = system.default_mapping if cfg is None else cfg

    def val(key: str) -> Any:
        v = cfg.get(key)
        return 1 if v is None else v

    t, p, mb, pmb, e = val("t"), val("p"), val("micro_batch"), val("prefill_micro_batch"), val("e")
    if mb == 0:
        mb = batch
    if pmb == 0:
        pmb = batch
    if p == 1 and t != system.num_chips:
        t = system.num_chips
    return MappingPoint(t, p, mb, pmb, e)


def mappings_for_batch(system: System, batch: int) -> list[MappingPoint]:
    """The mappings swept at batch B (§12.2 if a default mapping is configured, else §12.1)."""
    if system.default_mapping is not None:
        return [default_mapping_point(system, batch)]
    return enumerate_mappings(system, batch)


def mapping_violations(system: System, mapping: MappingPoint, batch: int) -> dict[str, float]:
    """§18 mapping constraints for an arbitrary (searched) mapping, as quantity − limit.

    ``map_memory_bytes``: M + B·(P+G)·K − t_pkg·package memory·p with t_pkg = t / chips per package.
    ``map_invalid``: 1.0 when p neither ≤ num_servers nor a multiple of it, or t < 1 (else ≤ 0).
    """
    ns = system.num_servers
    pkg = system.server.package
    n_chips = pkg.num_chips
    t_pkg = mapping.t / n_chips
    mem = required_memory_bytes(system, batch) - t_pkg * pkg.total_mem_bytes * mapping.p
    bad = not (mapping.p <= ns or mapping.p % ns == 0) or mapping.t < 1
    out = {"map_memory_bytes": mem, "map_invalid": 1.0 if bad else -1.0}
    if system.model.is_moe:     # docs/models.md eq. M5.6–M5.7
        e, E = mapping.e, system.model.num_experts
        out["map_ep_invalid"] = float((mapping.t % e != 0) + (e > E)) if e > 1 else -1.0
        out["map_chip_memory_bytes"] = chip_memory_bytes(system, mapping, batch) - pkg.total_mem_bytes / n_chips
    return out


@dataclass(frozen=True)
class DynamicPrefill:
    """§14: prefill done by k independent sub-systems of s servers, each with B_s sequences."""

    k: int
    batch: int          # B_s = B // k
    t: int              # t_s = s × server.num_chips
    ctx: float          # ctx_s = min(max_ctx // B_s, P + G)
    sub_servers: int    # s


def dynamic_prefill_active(system: System) -> bool:
    """§14 is reachable: ``sub_sys_num_servers`` s < num_servers and no default mapping."""
    s = system.sub_sys_num_servers
    return s is not None and s < system.num_servers and system.default_mapping is None


def dynamic_prefill(system: System, batch: int) -> DynamicPrefill | None:
    """§14 steps 1–2 for batch B: the dynamic tag of every enumerated mapping, or None (mappings as enumerated)."""
    from .system import SubSystemError, build_system
    if not dynamic_prefill_active(system):
        return None
    s, ns = system.sub_sys_num_servers, system.num_servers
    if ns % s != 0:
        raise SubSystemError(f"num_servers {ns} is not a multiple of sub_sys_num_servers {s} (model.md §14)")
    k = ns // s
    B_s = batch // k
    if B_s < 1:
        return None
    sub = build_system(system.server, {"num_servers": s, "eval_len": [system.prefill_len, system.decode_len],
                                       "weight_bits": system.weight_bits, "kv_bits": system.kv_bits,
                                       "act_bits": system.act_bits},
                       system.model, system.constants)
    if not sub.valid or not sub.max_ctx_len_batch_1 or sub.max_ctx_len_batch_1 <= 0:
        return None
    c_s = sub.max_ctx_len_batch_1 // B_s
    P, G = system.prefill_len, system.decode_len
    if c_s < P:
        return None
    return DynamicPrefill(k=k, batch=B_s, t=s * system.server.num_chips, ctx=min(c_s, P + G), sub_servers=s)
