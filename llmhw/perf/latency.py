"""Micro-batch latency, prefill and decode stage latencies (model.md §13.4, §13.6, §13.8)."""
from __future__ import annotations

from dataclasses import dataclass

from llmhw.fidelity import Fidelity
from llmhw.workload.system import System

from . import xp
from .collectives import allreduce_time_s, stage_transfer_s
from .geometry import StageGeometry
from .matmul import MatmulTime, matmul_time
from .modern import modern_operators, moe_comm_s, with_precision
from .shapes import context_len, operator_shapes, rows

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


def micro_batch_latency(system: System, geom: StageGeometry, prefill: bool, micro_batch,
                        fidelity: Fidelity) -> MicroBatchLatency:
    """§13.6 latency of one micro-batch (μ = pmb in prefill, mb in decode) on the layout ``geom``.

    Numbers (one point) or arrays (``geom`` gathered per grid row, ``micro_batch`` an int64 array).
    A new per-operator term goes in :func:`~llmhw.perf.shapes.operator_shapes` /
    :mod:`~llmhw.perf.matmul`; a new per-layer communication term is added to ``layer_comm`` below.
    """
    model = system.model
    P, G = system.prefill_len, system.decode_len
    chip = system.server.package.chip
    b = system.act_bytes_per_number          # the model's b unless act_bits is set (docs/models.md M4.1)
    R = rows(prefill, micro_batch, P)
    if model.is_modern:                       # docs/models.md §M5–§M7
        ops = modern_operators(system, geom, prefill, micro_batch, fidelity)
    else:
        ops = operator_shapes(model, geom.attn_cols, geom.ff_cols, geom.qkv_cols, micro_batch, R,
                              context_len(prefill, P, G), P if prefill else 1, fidelity)
    ops = with_precision(ops, system)
    eff, kv_bw, w_bw = system.compute_perf_efficiency, system.kv_bw_bytes_per_s, system.w_bw_bytes_per_s
    times = tuple(matmul_time(op, chip, eff, kv_bw if op.kv_bandwidth else w_bw) for op in ops)
    layer_compute = times[0].time_s
    for mt in times[1:]:
        layer_compute = layer_compute + mt.time_s

    # §13.4 communication per layer
    a = R * model.d
    comm1 = geom.comm1_s(prefill)
    comm_fc = allreduce_time_s(system.allreduce_algo, geom.ring, a * b, geom.ar_alpha_s, geom.ar_beta_s_per_byte)
    comm2 = attention_comm2_s(model.resolved_attn_comm_pattern, geom.a2a_s, comm_fc)
    if model.is_moe:                          # docs/models.md M5.9
        comm_fc = moe_comm_s(system, geom, prefill, micro_batch, comm_fc)
    layer_comm = comm1 + comm2 + comm_fc

    s2s = stage_transfer_s(system, geom.stage_bw_bytes_per_s, a)
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
