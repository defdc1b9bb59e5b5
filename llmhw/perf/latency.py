"""Micro-batch latency, prefill and decode stage latencies (model.md §13.4, §13.6, §13.8)."""
from __future__ import annotations

from dataclasses import dataclass

from llmhw.fidelity import Fidelity
from llmhw.workload.stack import NO_STACK
from llmhw.workload.system import System

from . import xp
from .collectives import allreduce_time_s, stage_transfer_s
from .efficiency import attention_efficiency, causal_score_fraction, gemm_efficiency, kv_stream_efficiency
from .geometry import StageGeometry
from .matmul import MatmulTime, matmul_time
from .modern import modern_operators, moe_comm_s, with_precision
from .overheads import elementwise_bytes_per_token, elementwise_time_s, layer_time_s
from .shapes import Operator, context_len, operator_shapes, rows

BOTTLENECK_LABELS = ("Interconnect", "Memory", "Compute")


@dataclass(frozen=True)
class MicroBatchLatency:
    """One micro-batch through all p stages (§13.6), seconds; numbers (one point) or arrays (grid rows).

    ``operators`` are the per-layer matmul times (§13.3, in :data:`~llmhw.perf.shapes.OPERATOR_NAMES` order);
    ``*_s`` per layer: layer_compute, comm1, comm2, comm_fc, layer_comm; per stage: stage2stage, stage;
    whole pipeline: total, compute (Σ layer compute), communication (total − compute).
    """

    operators: tuple[MatmulTime, ...]
    layer_compute_s: float
    comm1_s: float
    comm2_s: float
    comm_fc_s: float
    layer_comm_s: float
    stage2stage_s: float
    layers_per_stage: int
    stages: int
    stage_s: float
    total_s: float

    @property
    def compute_s(self):
        """Σ layer compute over the pipeline: layer_compute × layers per stage × stages."""
        return self.layer_compute_s * self.layers_per_stage * self.stages

    @property
    def communication_s(self):
        """total − compute: the interconnect share of the micro-batch (§15.2)."""
        return self.total_s - self.compute_s

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


def kv_bandwidth_bytes_per_s(system: System, fidelity: Fidelity, context):
    """§V.1 (docs/validation.md): the KV-cache bandwidth at ``context`` positions per sequence, with its own
    efficiency when the stack sets one (corrected mode), else the weight bandwidth (§11.3)."""
    st = system.stack
    if fidelity.stack_terms and st.kv_bandwidth_efficiency is not None:
        return system.mem_bw_bytes_per_s * kv_stream_efficiency(context, st.kv_bandwidth_efficiency,
                                                                st.kv_context_half)
    return system.kv_bw_bytes_per_s


def operator_efficiency(op: Operator, system: System, fidelity: Fidelity, context):
    """§13.3 roofline compute efficiency of one operator; shape-dependent (§V.2, §V.3) in corrected mode."""
    peak = system.compute_perf_efficiency
    if not fidelity.stack_terms:
        return peak
    st = system.stack
    if op.kv_bandwidth:
        attn_peak = peak if st.attention_efficiency is None else st.attention_efficiency
        return attention_efficiency(context, attn_peak, st.attention_context_half)
    return gemm_efficiency(op.stacks * op.I * op.K, op.J, peak, st.gemm_output_half, st.gemm_k_half)


def elementwise_layer_s(system: System, t, tokens):
    """§V.5 element-wise time of one layer on one chip for ``tokens`` rows (numbers or arrays)."""
    st, model = system.stack, system.model
    d_kv = model.d_attn / model.heads_per_kv_cache
    per_token = elementwise_bytes_per_token(
        model.d, xp.ceil(model.d_ff / t), d_kv / t, xp.ceil(model.d_attn / t), st.norm_bytes_per_element,
        st.activation_bytes_per_element, st.residual_bytes_per_element, st.kv_write_bytes_per_element,
        st.attention_output_bytes_per_element)
    return elementwise_time_s(tokens, per_token, system.mem_bw_bytes_per_s * st.elementwise_bandwidth_efficiency)


def layout_stage_transfer_s(system: System, geom: StageGeometry, activation_elements, fidelity: Fidelity):
    """§13.1 stage-to-stage transfer of ``activation_elements`` on the layout ``geom``; a one-stage pipeline
    (p = 1) transfers nothing with ``single_stage_no_transfer`` (docs/validation.md §V.7). Numbers or arrays."""
    s2s = stage_transfer_s(system, geom.stage_bw_bytes_per_s, activation_elements)
    if fidelity.single_stage_no_transfer:
        s2s = xp.select(geom.p == 1, 0.0, s2s)
    return s2s


def micro_batch_latency(system: System, geom: StageGeometry, prefill: bool, micro_batch,
                        fidelity: Fidelity, decode_context: float | None = None) -> MicroBatchLatency:
    """§13.6 latency of one micro-batch (μ = pmb in prefill, mb in decode) on the layout ``geom``.

    Numbers (one point) or arrays (``geom`` gathered per grid row, ``micro_batch`` an int64 array).
    A new per-operator term goes in :func:`~llmhw.perf.shapes.operator_shapes` /
    :mod:`~llmhw.perf.matmul`; a new per-layer communication term is added to ``layer_comm`` below.
    In corrected mode the system's ``stack:`` terms (docs/validation.md §V) are applied: shape-dependent
    efficiencies per operator, element-wise work and kernel costs per layer. ``decode_context``: a decode
    step with exactly that many tokens cached per sequence (§V.8) instead of the mean context P + G/2
    (comm1, used only when t > heads, keeps the mean context).
    """
    model = system.model
    P, G = system.prefill_len, system.decode_len
    chip = system.server.package.chip
    b = system.act_bytes_per_number          # the model's b unless act_bits is set (docs/models.md M4.1)
    R = rows(prefill, micro_batch, P)
    c = context_len(prefill, P, G, decode_context)
    causal = causal_score_fraction(P) if prefill and fidelity.causal_prefill_attention else 1
    if model.is_modern:                       # docs/models.md §M5–§M7
        ops = modern_operators(system, geom, prefill, micro_batch, fidelity, c)
        if causal != 1:                       # §V.4 for the attention score operators of any model
            ops = tuple(op._replace(work_fraction=causal) if op.kv_bandwidth else op for op in ops)
    else:
        ops = operator_shapes(model, geom.attn_cols, geom.ff_cols, geom.qkv_cols, micro_batch, R, c,
                              P if prefill else 1, fidelity, causal)
    ops = with_precision(ops, system)
    kv_bw, w_bw = kv_bandwidth_bytes_per_s(system, fidelity, c), system.w_bw_bytes_per_s
    times = tuple(matmul_time(op, chip, operator_efficiency(op, system, fidelity, c),
                              kv_bw if op.kv_bandwidth else w_bw) for op in ops)
    layer_compute = times[0].time_s
    for mt in times[1:]:
        layer_compute = layer_compute + mt.time_s
    st = system.stack
    if fidelity.stack_terms and st != NO_STACK:
        if st.has_elementwise:
            layer_compute = layer_compute + elementwise_layer_s(system, geom.t, R)
        layer_compute = layer_time_s(layer_compute, st.kernels_per_layer, st.kernel_overhead_s,
                                     st.launch_overhead_s, st.eager(prefill))

    # §13.4 communication per layer
    a = R * model.d
    comm1 = geom.comm1_s(prefill)
    comm_fc = allreduce_time_s(system.allreduce_algo, geom.ring, a * b, geom.ar_alpha_s, geom.ar_beta_s_per_byte)
    comm2 = attention_comm2_s(model.resolved_attn_comm_pattern, geom.a2a_s, comm_fc)
    if model.is_moe:                          # docs/models.md M5.9
        comm_fc = moe_comm_s(system, geom, prefill, micro_batch, comm_fc)
    layer_comm = comm1 + comm2 + comm_fc

    s2s = layout_stage_transfer_s(system, geom, a, fidelity)
    lps = geom.layers_per_stage
    stage = (layer_compute + layer_comm) * lps + s2s
    total = stage * geom.p
    return MicroBatchLatency(operators=times, layer_compute_s=layer_compute, comm1_s=comm1, comm2_s=comm2,
                             comm_fc_s=comm_fc, layer_comm_s=layer_comm, stage2stage_s=s2s,
                             layers_per_stage=lps, stages=geom.p, stage_s=stage, total_s=total)


def prefill_latency_s(total_s, stage_s, batch, prefill_micro_batch):
    """§13.6: T_p = total + (B / pmb − 1) × stage (real division)."""
    return total_s + (batch / prefill_micro_batch - 1) * stage_s


def time_per_token_s(total_s, stage_s, batch, micro_batch):
    """§13.6: τ = max(total, stage × B / mb), the average time per generated token."""
    return xp.maximum(total_s, stage_s * batch / micro_batch)


def decode_latency_s(total_s, tau_s, decode_len: int):
    """§13.6: T_g = total + (G − 1) × τ."""
    return total_s + (decode_len - 1) * tau_s
