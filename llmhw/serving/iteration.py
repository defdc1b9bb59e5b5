"""The cost of one serving iteration, from the performance model's one formula set (docs/serving.md §2).

An iteration of a continuous-batching engine runs ``decode_tokens`` decode steps (one token each, mean context
``mean_context``) and ``prefill_tokens`` prompt tokens of a chunk (each attending to ``prefill_context`` tokens
on average) through all layers of the layout (t chips per stage, p stages). It is model.md §13.2–§13.6 written
by :mod:`llmhw.perf` (numbers or numpy arrays alike, :mod:`llmhw.perf.xp`), with the two kinds of rows sharing
the weight operators (QKV, attention output, FC1, FC2 with R = decode + prefill rows: Sarathi-Serve's
"piggybacking") and separate attention operators (decode: D stacks of 1 × c; chunk: C × c_chunk). With
``prefill_tokens = 0`` it is the evaluator's generate micro-batch of ``decode_tokens`` (context P + G/2 =
``mean_context``); with ``decode_tokens = 0`` and ``prefill_tokens = prefill_context = P`` its prefill
micro-batch of one prompt (tested).

Pipeline (p > 1): the running batch is split evenly into p micro-batches in flight (vLLM's virtual engines),
so a token of every request is produced every ``total_s`` of a micro-batch of D/p decode and C/p prefill
rows (§13.6 τ with B/mb = p).
"""
from __future__ import annotations

from dataclasses import dataclass

from llmhw.fidelity import Fidelity
from llmhw.perf import xp
from llmhw.perf.collectives import allreduce_time_s
from llmhw.perf.efficiency import chunk_score_fraction
from llmhw.perf.geometry import StageGeometry, stage_geometry
from llmhw.perf.latency import attention_comm2_s, layout_stage_transfer_s
from llmhw.perf.matmul import matmul_time
from llmhw.perf.shapes import operator_shapes
from llmhw.workload.system import System

_WEIGHT_OPS = ("qkv", "attn_out", "fc1", "fc2")
_ROWS_EPS = 1e-9   # an iteration of no rows is costed at its limit R → 0⁺ (the weights are still read)


@dataclass(frozen=True)
class IterationTime:
    """One micro-batch through all p stages: total latency, one stage, and where the time goes (all layers)."""

    total_s: float
    stage_s: float
    weights_s: float        # weight matmuls (QKV, attention output, FC1, FC2)
    attention_s: float      # QKᵀ and S·V of decode and chunk rows
    communication_s: float  # all-reduces, all-to-alls and stage-to-stage transfers


def micro_batch_iteration(system: System, geom: StageGeometry, decode_rows, mean_context, prefill_rows,
                          prefill_context, fidelity: Fidelity) -> IterationTime:
    """§13.2–§13.6 for a micro-batch mixing decode rows (context ``mean_context``) and prefill-chunk rows
    (context ``prefill_context``), numbers or broadcastable arrays. The §13.4 comm1 term (t > heads only) is
    the geometry's, at the system's eval_len context."""
    model = system.model
    chip = system.server.package.chip
    eff, kv_bw, w_bw = system.compute_perf_efficiency, system.kv_bw_bytes_per_s, system.w_bw_bytes_per_s
    cols = (geom.attn_cols, geom.ff_cols, geom.qkv_cols)
    D, C = decode_rows, prefill_rows
    R = xp.maximum(D + C, _ROWS_EPS)
    has_d, has_c = D > 0, C > 0
    D1, C1 = xp.select(has_d, D, 1), xp.select(has_c, C, 1)     # safe stand-ins (masked below) so that
    c1, cc1 = xp.select(has_d, mean_context, 1), xp.select(has_c, prefill_context, 1)   # WS never divides by 0

    def time_of(op):
        return matmul_time(op, chip, eff, kv_bw if op.kv_bandwidth else w_bw).time_s

    weights = attention = 0.0
    for op in operator_shapes(model, *cols, D1, R, c1, 1, fidelity):   # R rows; D decode stacks
        if op.name in _WEIGHT_OPS:
            weights = weights + time_of(op)
        else:
            attention = attention + xp.select(has_d, time_of(op), 0.0)
    chunk_fraction = chunk_score_fraction(C1, cc1) if fidelity.causal_prefill_attention else 1   # §V.4
    for op in operator_shapes(model, *cols, 1, C1, cc1, C1, fidelity, chunk_fraction):  # the chunk: C × c_chunk
        if op.name in ("qk", "sv"):
            attention = attention + xp.select(has_c, time_of(op), 0.0)
    b = model.bytes_per_number
    comm_fc = allreduce_time_s(system.allreduce_algo, geom.ring, R * model.d * b, geom.ar_alpha_s,
                               geom.ar_beta_s_per_byte)
    comm1 = xp.select(has_d, geom.comm1_s(False), geom.comm1_s(True))
    layer_comm = comm1 + attention_comm2_s(model.resolved_attn_comm_pattern, geom.a2a_s, comm_fc) + comm_fc
    s2s = layout_stage_transfer_s(system, geom, R * model.d, fidelity)
    lps, p = geom.layers_per_stage, geom.p
    stage = (weights + attention + layer_comm) * lps + s2s
    return IterationTime(total_s=stage * p, stage_s=stage, weights_s=weights * lps * p,
                         attention_s=attention * lps * p, communication_s=(layer_comm * lps + s2s) * p)


@dataclass(frozen=True)
class IterationCost:
    """The iteration-cost interface of the serving model: one system and layout (t, p). Every method takes
    numbers or numpy arrays (docs/serving.md (2.1))."""

    system: System
    geom: StageGeometry
    fidelity: Fidelity

    @property
    def t(self) -> float:
        return self.geom.t

    @property
    def p(self) -> int:
        return self.geom.p

    def __call__(self, decode_tokens, mean_context, prefill_tokens=0.0, prefill_context=0.0) -> IterationTime:
        """The iteration of the whole running batch, its rows split over the p micro-batches in flight."""
        p = self.geom.p
        return micro_batch_iteration(self.system, self.geom, decode_tokens / p, mean_context, prefill_tokens / p,
                                     prefill_context, self.fidelity)

    def time_s(self, decode_tokens, mean_context, prefill_tokens=0.0, prefill_context=0.0):
        """(2.1) τ: the time between two tokens of a running request."""
        return self(decode_tokens, mean_context, prefill_tokens, prefill_context).total_s

    def prompt_occupancy_s(self, prompt_tokens):
        """How long a prompt alone (no decode rows) holds the pipeline: its P rows split over the p
        micro-batches, p · stage(P/p) (= the whole latency when p = 1)."""
        return self.time_s(0.0, 0.0, prompt_tokens, prompt_tokens)


def iteration_cost(system: System, t: float, p: int, fidelity: Fidelity) -> IterationCost:
    """The iteration cost of layout (t, p) of ``system`` (its §13.1–§13.5 stage geometry, computed once)."""
    return IterationCost(system, stage_geometry(system, t, p, fidelity), fidelity)
