"""The software stack's efficiencies and overheads (docs/validation.md §V): the ``stack:`` section of a
system file, used in ``compat: corrected`` only.

Every field's default leaves the evaluator as it was before these terms existed (one bandwidth efficiency
for weights and KV, one compute efficiency for every shape, only the six matmuls, no kernel costs).
A ``preset`` fills in a whole stack; keys given beside it override the preset's values.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping

from llmhw.errors import LlmhwError


@dataclass(frozen=True)
class Stack:
    """Named parameters of §V (units in names; efficiencies are fractions of the chip's data-sheet peak)."""

    # §V.1 bandwidths: KV-cache streaming, peak · c/(c + c½) (None = the system's weight_bandwidth_efficiency)
    kv_bandwidth_efficiency: float | None = None
    kv_context_half: float = 0.0
    # §V.2 GEMM efficiency by shape: peak · MN/(MN + MN½) · K/(K + K½); the peak is compute_perf_efficiency
    gemm_output_half: float = 0.0
    gemm_k_half: float = 0.0
    # §V.3 attention kernel efficiency: peak · c/(c + c½) (None = the GEMM peak, compute_perf_efficiency)
    attention_efficiency: float | None = None
    attention_context_half: float = 0.0
    # §V.5 element-wise work: bytes per element of each operation, at elementwise_bandwidth_efficiency
    elementwise_bandwidth_efficiency: float = 1.0
    norm_bytes_per_element: float = 0.0
    activation_bytes_per_element: float = 0.0
    residual_bytes_per_element: float = 0.0
    kv_write_bytes_per_element: float = 0.0
    attention_output_bytes_per_element: float = 0.0
    # §V.6 kernels: count per layer, device cost per kernel, host issue cost per kernel (eager only)
    kernels_per_layer: float = 0.0
    kernel_overhead_s: float = 0.0
    launch_overhead_s: float = 0.0
    prefill_execution: str = "graph"
    decode_execution: str = "graph"

    @property
    def has_elementwise(self) -> bool:
        return any((self.norm_bytes_per_element, self.activation_bytes_per_element, self.residual_bytes_per_element,
                    self.kv_write_bytes_per_element, self.attention_output_bytes_per_element))

    def eager(self, prefill: bool) -> bool:
        return (self.prefill_execution if prefill else self.decode_execution) == "eager"

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any] | None) -> "Stack":
        """From a ``stack:`` mapping: ``preset`` (optional) first, then the explicit keys."""
        if not cfg:
            return NO_STACK
        name = cfg.get("preset") or "none"
        if name not in PRESETS:
            raise LlmhwError(f"stack.preset {name!r} is unknown (allowed: {', '.join(PRESETS)})")
        keys = {f.name for f in fields(cls)}
        return replace(PRESETS[name], **{k: v for k, v in cfg.items() if k in keys and v is not None})


NO_STACK = Stack()

#: Carry-over stacks for chips that have never been built (docs/validation.md §V.9). ``gpu_pytorch`` is the
#: H200 calibration's dimensionless and software-count parameters (validation/h200_llama3-8b.yaml, fitted by
#: ``--validate``); ``asic`` is a fixed-function accelerator with a compiled, fused schedule.
PRESETS: dict[str, Stack] = {
    "none": NO_STACK,
    # A GPU with a PyTorch-style stack (unfused element-wise operations, one kernel per operation, eager
    # prefill, graph-captured decode): the H200 calibration (docs/validation.md §V.9).
    "gpu_pytorch": Stack(kv_bandwidth_efficiency=0.72, kv_context_half=302.2, gemm_output_half=6.839e4,
                         gemm_k_half=566.8,
                         attention_efficiency=0.341, attention_context_half=338,
                         elementwise_bandwidth_efficiency=0.5391, norm_bytes_per_element=36,
                         activation_bytes_per_element=12, residual_bytes_per_element=6,
                         kv_write_bytes_per_element=4, attention_output_bytes_per_element=4, kernels_per_layer=28,
                         kernel_overhead_s=1.857e-6, launch_overhead_s=7e-6, prefill_execution="eager",
                         decode_execution="graph"),
    # A fixed-function accelerator with a compiled schedule: norms and activations fused into the matmul
    # epilogues (one bf16 read + write each, KV written once, no re-layout), a few statically scheduled
    # kernels per layer and no host launches (docs/validation.md §V.9; estimates, not fitted).
    "asic": Stack(elementwise_bandwidth_efficiency=0.9, norm_bytes_per_element=4, activation_bytes_per_element=6,
                  residual_bytes_per_element=6, kv_write_bytes_per_element=2, kernels_per_layer=6,
                  kernel_overhead_s=2e-7),
}
