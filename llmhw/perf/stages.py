"""The prefill and decode stages of a batch from one micro-batch (model.md §13.6, §13.7); numbers or arrays.

Both drivers — :func:`llmhw.perf.point.evaluate_point` (one mapping) and :func:`llmhw.perf.grid.evaluate_grid`
(every mapping of a system) — compose a point's stage metrics with these two functions, then §13.9
(:func:`llmhw.perf.cost.token_cost`). A new per-stage metric is one more field here.
"""
from __future__ import annotations

from dataclasses import dataclass

from llmhw.fidelity import Fidelity
from llmhw.workload.system import System

from .energy import decode_iterations, prefill_iterations, stage_energy_j
from .latency import decode_latency_s, prefill_latency_s, time_per_token_s


@dataclass(frozen=True)
class PrefillStage:
    latency_s: float                  # T_p (TTFT)
    throughput_tok_per_s: float       # B·P / T_p
    utilization: float                # FLOP utilisation (fraction)
    energy_j: float
    power_w: float


@dataclass(frozen=True)
class DecodeStage:
    tpot_s: float                     # τ, average time per output token
    latency_s: float                  # T_g
    throughput_tok_per_s: float       # B / τ
    utilization: float
    energy_j: float
    power_w: float


def prefill_stage(system: System, total_s, stage_s, iteration_pj, batch, prefill_micro_batch,
                  fidelity: Fidelity) -> PrefillStage:
    """§13.6 T_p, throughput and utilisation; §13.7 energy and power of the prefill stage."""
    P = system.prefill_len
    T_p = prefill_latency_s(total_s, stage_s, batch, prefill_micro_batch)
    throughput = batch * P / T_p
    util = system.model.prefill_flops(P, fidelity.glu_in_flops) * batch / (system.perf_flops * T_p)
    E = stage_energy_j(iteration_pj, prefill_iterations(batch, prefill_micro_batch))
    return PrefillStage(T_p, throughput, util, E, E / T_p + system.other_tdp_w)


def decode_stage(system: System, total_s, stage_s, iteration_pj, batch, micro_batch,
                   fidelity: Fidelity) -> DecodeStage:
    """§13.6 τ, T_g, throughput and utilisation; §13.7 energy and power of the decode stage."""
    P, G = system.prefill_len, system.decode_len
    tau = time_per_token_s(total_s, stage_s, batch, micro_batch)
    T_g = decode_latency_s(total_s, tau, G)
    throughput = batch / tau
    util = throughput * system.model.generate_flops(P + G / 2, fidelity.glu_in_flops) / system.perf_flops
    E = stage_energy_j(iteration_pj, decode_iterations(batch, micro_batch, G))
    return DecodeStage(tau, T_g, throughput, util, E, E / T_g + system.other_tdp_w)
