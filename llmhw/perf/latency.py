"""Micro-batch latency, prefill and generate stage latencies (model.md §13.4, §13.6, §13.8)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from llmhw.fidelity import Fidelity
from llmhw.workload.stack import NO_STACK
from llmhw.workload.system import System

from .collectives import allreduce_latency_s, stage_transfer_s
from .efficiency import attention_efficiency, gemm_efficiency
from .matmul import MatmulTime, matmul_time
from .overheads import elementwise_bytes_per_token, elementwise_time_s, layer_time_s
from .shapes import Operator, context_len, operator_shapes, rows

BOTTLENECK_LABELS = ("Interconnect", "Memory", "Compute")


@dataclass(frozen=True)
class MicroBatchLatency:
    """One micro-batch through all p stages (§13.6). ``operators`` are the six per-layer matmul times."""

    operators: tuple[MatmulTime, ...]
    layer_compute_s: float
    comm1_s: float
    comm2_s: float
    comm_fc_s: float
    layer_comm_s: float
    stage2stage_s: float
    layers_per_stage: int
    stage_s: float
    total_s: float
    compute_s: float
    communication_s: float

    def mem_and_comp_s(self) -> tuple[float, float]:
        """§15.2: per-layer Σ t_load of load-bound operators and Σ t_comp of the others."""
        mem = 0
        comp = 0
        for op in self.operators:
            if op.t_load_s > op.t_comp_s:
                mem = mem + op.t_load_s
            else:
                comp = comp + op.t_comp_s
        return mem, comp

    def breakdown(self, latency_s: float) -> tuple[float, float, float]:
        """§15.2: (io_sec, compute_sec, mem_sec) of a stage latency T using this micro-batch's ratios."""
        f_io = self.communication_s / self.total_s
        mem, comp = self.mem_and_comp_s()
        return (f_io * latency_s, (1 - f_io) * comp / (comp + mem) * latency_s,
                (1 - f_io) * mem / (comp + mem) * latency_s)

    def bottleneck(self, num_layers: int, label_ties: bool = False) -> str:
        """§13.8: 'Interconnect' / 'Memory' / 'Compute', whichever is strictly largest; '' on a tie
        unless ``label_ties`` (§16.2 #8), which labels the first of the tied ones in that order."""
        t_mem = 0
        t_comp = 0
        for op in self.operators:
            if op.t_load_s > op.t_comp_s:
                t_mem = t_mem + op.t_load_s * num_layers
            else:
                t_comp = t_comp + op.t_comp_s * num_layers
        values = (self.communication_s, t_mem, t_comp)
        top = max(values)
        winners = [label for label, v in zip(BOTTLENECK_LABELS, values) if v == top]
        if len(winners) == 1 or label_ties:
            return winners[0]
        return ""


def attention_comm2_s(pattern: str, a2a_s, allreduce_s):
    """§13.4 the attention-block term comm2 by ``attn_comm_pattern``:
    two all-to-alls (``parallel_block``), an all-reduce plus two all-to-alls
    (``allreduce_plus_2a2a``) or one all-reduce. Floats or numpy arrays alike."""
    if pattern == "parallel_block":
        return 2 * a2a_s
    if pattern == "allreduce_plus_2a2a":
        return allreduce_s + 2 * a2a_s
    return allreduce_s


def kv_bandwidth_bytes_per_s(system: System, fidelity: Fidelity) -> float:
    """§V.1: the KV-cache bandwidth: its own efficiency when the stack sets one (corrected mode), else
    the weight bandwidth (§11.3)."""
    eff = system.stack.kv_bandwidth_efficiency
    if fidelity.stack_terms and eff is not None:
        return system.mem_bw_bytes_per_s * eff
    return system.kv_bw_bytes_per_s


def operator_efficiency(op: Operator, system: System, fidelity: Fidelity, context: float) -> float:
    """§13.3 roofline compute efficiency of one operator; shape-dependent (§V.2, §V.3) in corrected mode."""
    peak = system.compute_perf_efficiency
    if not fidelity.stack_terms:
        return peak
    st = system.stack
    if op.kv_bandwidth:
        attn_peak = peak if st.attention_efficiency is None else st.attention_efficiency
        return attention_efficiency(context, attn_peak, st.attention_context_half)
    return gemm_efficiency(op.stacks * op.I * op.K, op.J, peak, st.gemm_output_half, st.gemm_k_half)


def elementwise_layer_s(system: System, t: float, tokens: float) -> float:
    """§V.5 element-wise time of one layer on one chip for ``tokens`` rows (t, tokens: numbers or arrays)."""
    st, model = system.stack, system.model
    if not st.has_elementwise:
        return 0.0
    d_kv = model.d_attn / model.heads_per_kv_cache
    per_token = elementwise_bytes_per_token(
        model.d, -(-model.d_ff // t), d_kv / t, -(-model.d_attn // t), st.norm_bytes_per_element,
        st.activation_bytes_per_element, st.residual_bytes_per_element, st.kv_write_bytes_per_element,
        st.attention_output_bytes_per_element)
    return elementwise_time_s(tokens, per_token, system.mem_bw_bytes_per_s * st.elementwise_bandwidth_efficiency)


def micro_batch_latency(system: System, t: float, p: int, prefill: bool, micro_batch: int,
                        fidelity: Fidelity, decode_context: float | None = None) -> MicroBatchLatency:
    """§13.6 latency of one micro-batch (μ = pmb in prefill, mb in generate) with t chips per stage.

    ``decode_context``: a decode step with exactly that many tokens cached per sequence (§V.8) instead of the
    mean generate context P + G/2.
    """
    model = system.model
    P, G = system.prefill_len, system.decode_len
    chip = system.server.package.chip
    b = model.bytes_per_number
    c = context_len(prefill, P, G, decode_context)
    ops = operator_shapes(model, t, prefill, micro_batch, P, G, fidelity, decode_context)
    kv_bw = kv_bandwidth_bytes_per_s(system, fidelity)
    times = tuple(matmul_time(op, chip, operator_efficiency(op, system, fidelity, c),
                              kv_bw if op.kv_bandwidth else system.w_bw_bytes_per_s)
                  for op in ops)
    layer_compute = 0
    for mt in times:
        layer_compute = layer_compute + mt.time_s
    R = rows(prefill, micro_batch, P)
    if fidelity.stack_terms and system.stack != NO_STACK:
        st = system.stack
        layer_compute = layer_time_s(layer_compute + elementwise_layer_s(system, t, R), st.kernels_per_layer,
                                     st.kernel_overhead_s, st.launch_overhead_s, st.eager(prefill))

    # §13.4 communication per layer
    a = R * model.d
    H = model.num_heads
    comm1 = allreduce_latency_s(system, p, int(t / H), c * b) if t > H else 0
    a2a = allreduce_latency_s(system, p, t, model.d * b) / 2
    ar = allreduce_latency_s(system, p, t, R * model.d * b)
    comm2 = attention_comm2_s(model.resolved_attn_comm_pattern, a2a, ar)
    comm_fc = allreduce_latency_s(system, p, t, a * b)
    layer_comm = comm1 + comm2 + comm_fc

    s2s = 0.0 if p == 1 and fidelity.single_stage_no_transfer else stage_transfer_s(system, p, a)
    lps = math.ceil(model.num_layers / p)
    stage = (layer_compute + layer_comm) * lps + s2s
    total = stage * p
    compute = layer_compute * lps * p
    return MicroBatchLatency(operators=times, layer_compute_s=layer_compute, comm1_s=comm1, comm2_s=comm2,
                             comm_fc_s=comm_fc, layer_comm_s=layer_comm, stage2stage_s=s2s,
                             layers_per_stage=lps, stage_s=stage, total_s=total, compute_s=compute,
                             communication_s=total - compute)


def prefill_latency_s(mbl: MicroBatchLatency, batch: int, prefill_micro_batch: int) -> float:
    """§13.6: T_p = total + (B / pmb − 1) × stage (real division)."""
    return mbl.total_s + (batch / prefill_micro_batch - 1) * mbl.stage_s


def time_per_token_s(mbl: MicroBatchLatency, batch: int, micro_batch: int) -> float:
    """§13.6: τ = max(total, stage × B / mb), the average time per generated token."""
    return max(mbl.total_s, mbl.stage_s * batch / micro_batch)


def generate_latency_s(mbl: MicroBatchLatency, tau_s: float, decode_len: int) -> float:
    """§13.6: T_g = total + (G − 1) × τ."""
    return mbl.total_s + (decode_len - 1) * tau_s
