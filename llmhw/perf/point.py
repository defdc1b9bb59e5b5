"""Performance of one point: a system, a mapping, a batch and the eval lengths (model.md §13, §15.2)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from llmhw.fidelity import CORRECTED, Fidelity
from llmhw.hardware.tco import TCO
from llmhw.workload.mapping import DynamicPrefill, MappingPoint, dynamic_prefill
from llmhw.workload.system import System

from .cost import token_cost
from .energy import iteration_energy_pj
from .geometry import stage_geometry
from .latency import MicroBatchLatency, micro_batch_latency
from .stages import PrefillStage, decode_stage, prefill_stage


@dataclass(frozen=True)
class PerfResult:
    """All metrics of one evaluated point (SI units in the names; $ as ``_usd``).

    ``prefill_latency_s`` is the TTFT T_p; ``decode_latency_s`` is T_g; ``tpot_s`` is τ, the average time
    per output token; the TCO per token figures follow §13.9 (reference or corrected accounting).
    ``batch`` is in sequences, ``prefill_len``/``decode_len`` in tokens, ``*_utilization`` are fractions of
    the peak FLOP/s; ``tco`` holds one server's §9 TCO parts ($); ``*_mb_*_s`` are one micro-batch's
    compute / communication seconds, ``*_bottleneck`` the §13.8 label.
    """

    batch: int
    prefill_len: int
    decode_len: int
    mapping: MappingPoint
    prefill_latency_s: float
    decode_latency_s: float
    tpot_s: float
    e2e_latency_s: float
    prefill_throughput_tok_per_s: float
    decode_throughput_tok_per_s: float
    decode_throughput_per_chip_tok_per_s: float
    prefill_utilization: float
    decode_utilization: float
    utilization: float
    prefill_energy_j: float
    decode_energy_j: float
    prefill_power_w: float
    decode_power_w: float
    avg_server_power_w: float
    tco: TCO
    prefill_tco_per_token_usd: float
    decode_tco_per_token_usd: float
    tco_per_mtoken_usd: float
    capex_usd: float
    opex_usd: float
    prefill_io_s: float
    prefill_compute_s: float
    prefill_mem_s: float
    decode_io_s: float
    decode_compute_s: float
    decode_mem_s: float
    prefill_mb_compute_s: float
    prefill_mb_communication_s: float
    decode_mb_compute_s: float
    decode_mb_communication_s: float
    prefill_bottleneck: str
    decode_bottleneck: str
    prefill_micro_batch_latency: MicroBatchLatency
    decode_micro_batch_latency: MicroBatchLatency


def evaluate_point(system: System, mapping: MappingPoint, batch: int, prefill_len: int | None = None,
                   decode_len: int | None = None, fidelity: Fidelity | None = None) -> PerfResult:
    """§13: latency, throughput, utilisation, energy, power and TCO per token of one point.

    ``prefill_len``/``decode_len`` default to the system's eval_len; other values re-target the system.
    """
    fidelity = CORRECTED if fidelity is None else fidelity
    if prefill_len is not None and prefill_len != system.prefill_len or \
            decode_len is not None and decode_len != system.decode_len:
        system = replace(system, prefill_len=system.prefill_len if prefill_len is None else prefill_len,
                         decode_len=system.decode_len if decode_len is None else decode_len)
    model = system.model
    P, G, B = system.prefill_len, system.decode_len, batch
    t, p, mb, pmb = mapping.t, mapping.p, mapping.micro_batch, mapping.prefill_micro_batch
    geom = stage_geometry(system, t, p, fidelity)

    mbl_p = micro_batch_latency(system, geom, True, pmb, fidelity)
    dyn = dynamic_prefill(system, B)
    if dyn is None:
        pre = prefill_stage(system, mbl_p.total_s, mbl_p.stage_s, iteration_energy_pj(system, t, True, pmb, fidelity),
                            B, pmb, fidelity)
    else:
        pre = _dynamic_prefill(system, dyn, fidelity)
    T_p, throughput_p, util_p, E_p, power_p = (pre.latency_s, pre.throughput_tok_per_s, pre.utilization,
                                               pre.energy_j, pre.power_w)

    mbl_g = micro_batch_latency(system, geom, False, mb, fidelity)
    gen = decode_stage(system, mbl_g.total_s, mbl_g.stage_s, iteration_energy_pj(system, t, False, mb, fidelity),
                         B, mb, fidelity)
    tau, T_g, throughput_g, util_g, E_g, power_g = (gen.tpot_s, gen.latency_s, gen.throughput_tok_per_s,
                                                    gen.utilization, gen.energy_j, gen.power_w)

    cost = token_cost(system, B, T_p, T_g, util_p, util_g, power_p, power_g, fidelity)
    ns = system.num_servers
    p_io, p_comp, p_mem = mbl_p.breakdown(T_p)
    g_io, g_comp, g_mem = mbl_g.breakdown(T_g)
    L = model.num_layers
    return PerfResult(
        batch=B, prefill_len=P, decode_len=G, mapping=mapping,
        prefill_latency_s=T_p, decode_latency_s=T_g, tpot_s=tau, e2e_latency_s=T_p + T_g,
        prefill_throughput_tok_per_s=throughput_p, decode_throughput_tok_per_s=throughput_g,
        decode_throughput_per_chip_tok_per_s=throughput_g / system.num_chips,
        prefill_utilization=util_p, decode_utilization=util_g, utilization=cost.utilization,
        prefill_energy_j=E_p, decode_energy_j=E_g, prefill_power_w=power_p, decode_power_w=power_g,
        avg_server_power_w=cost.avg_server_power_w, tco=cost.tco,
        prefill_tco_per_token_usd=cost.prefill_tco_per_token_usd,
        decode_tco_per_token_usd=cost.decode_tco_per_token_usd,
        tco_per_mtoken_usd=cost.decode_tco_per_token_usd * 1e6,
        capex_usd=cost.tco.fix_part * ns, opex_usd=cost.tco.power_part * ns,
        prefill_io_s=p_io, prefill_compute_s=p_comp, prefill_mem_s=p_mem,
        decode_io_s=g_io, decode_compute_s=g_comp, decode_mem_s=g_mem,
        prefill_mb_compute_s=mbl_p.compute_s, prefill_mb_communication_s=mbl_p.communication_s,
        decode_mb_compute_s=mbl_g.compute_s, decode_mb_communication_s=mbl_g.communication_s,
        prefill_bottleneck=mbl_p.bottleneck(L, fidelity.bottleneck_tie_label),
        decode_bottleneck=mbl_g.bottleneck(L, fidelity.bottleneck_tie_label),
        prefill_micro_batch_latency=mbl_p, decode_micro_batch_latency=mbl_g,
    )


def sub_system_view(system: System, dyn: DynamicPrefill, fidelity: Fidelity) -> System:
    """§14: the system seen by one prefill sub-system. The reference changes only ``num_servers`` (peak FLOPs,
    other_tdp and memory stay the full system's); with ``dynamic_prefill_fix`` (§16.2 #2) the sub-system's own
    derived totals are used."""
    s = dyn.sub_servers
    if not fidelity.dynamic_prefill_fix:
        return replace(system, num_servers=s)
    srv = system.server
    tdp, core = s * srv.tdp_w, s * srv.core_tdp_w
    return replace(system, num_servers=s, perf_flops=s * srv.perf_flops, tdp_w=tdp, core_tdp_w=core,
                   other_tdp_w=tdp - core, num_chips=s * srv.num_chips, num_packages=s * srv.num_packages,
                   total_mem_bytes=s * srv.total_mem_bytes)


def _dynamic_prefill(system: System, dyn: DynamicPrefill, fidelity: Fidelity) -> PrefillStage:
    """§14 prefill by k sub-systems.

    The sub-system runs mapping (t_s, p = 1, B_s, B_s) on batch B_s (one iteration). Reference: util over the
    full peak, power_p = k × (E_sub/T_p + other_tdp_full), throughput of one sub-system (B_s·P/T_p). Fixed
    (§16.2 #2): util over the sub-system's peak (× k), other_tdp added once, throughput of all k sub-systems.
    E_p is the energy of all k sub-systems in both modes.
    """
    view = sub_system_view(system, dyn, fidelity)
    Bs, k = dyn.batch, dyn.k
    mbl = micro_batch_latency(view, stage_geometry(view, dyn.t, 1, fidelity), True, Bs, fidelity)
    sub = prefill_stage(view, mbl.total_s, mbl.stage_s, iteration_energy_pj(view, dyn.t, True, Bs, fidelity),
                        Bs, Bs, fidelity)
    T_p, E_sub = sub.latency_s, sub.energy_j
    if fidelity.dynamic_prefill_fix:
        power_p = k * (E_sub / T_p) + system.other_tdp_w
        throughput_p = k * Bs * system.prefill_len / T_p
    else:
        power_p = k * (E_sub / T_p + view.other_tdp_w)
        throughput_p = sub.throughput_tok_per_s
    return PrefillStage(T_p, throughput_p, sub.utilization, k * E_sub, power_p)
