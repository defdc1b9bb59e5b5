"""Fidelity modes (model.md, note at the top and §16.2).

``reference`` reproduces the reference model digit for digit, bugs included; ``corrected`` (the
default) fixes the apparent bugs of §16.2 items 1, 3, 4, 5, 8 and 10 (and 2 where the sub-system
path is implemented) and adds the measured-hardware terms of docs/validation.md §V. Code branches on the named booleans below, never on the mode string.
"""
from __future__ import annotations

from dataclasses import dataclass

COMPAT_MODES = ("corrected", "reference")
DEFAULT_COMPAT = "corrected"


@dataclass(frozen=True)
class Fidelity:
    compat: str
    tco_per_token_fix: bool          # §16.2.1: TCO per token divides by the batch only once
    dynamic_prefill_fix: bool        # §16.2.2: sub-system prefill uses its own derived values
    gqa_in_perf_shapes: bool         # §16.2.3: K/V widths d_at/G_kv in QKV and attention shapes
    energy_counts_fixed: bool        # §16.2.4: KV energy × micro-batch; real weight count per layer
    glu_in_flops: bool               # §16.2.5: gated FFN matrix counted in FLOPs
    bottleneck_tie_label: bool       # §16.2.8: a label is given on exact ties
    heatsink_warm_start_guard: bool  # §16.2.10: warm start kept > 0 in the heatsink search
    stack_terms: bool                # docs/validation.md §V.1–§V.6: the system's ``stack:`` terms are applied
    causal_prefill_attention: bool   # §V.4: causal prefill attention does n(n+1)/2 of the n² score pairs
    single_stage_no_transfer: bool   # §V.7: a one-stage pipeline (p = 1) pays no stage-to-stage transfer
    serving_model: bool              # issue 13: serving studies (docs/serving.md), corrected mode only
    rental_tco: bool                 # docs/tco-modes.md: system key tco_mode: rented is available

    @classmethod
    def from_compat(cls, compat: str | None) -> "Fidelity":
        compat = DEFAULT_COMPAT if compat is None else compat
        if compat not in COMPAT_MODES:
            raise ValueError(f"unknown compat mode {compat!r} (allowed: {', '.join(COMPAT_MODES)})")
        fixed = compat == "corrected"
        return cls(compat=compat, tco_per_token_fix=fixed, dynamic_prefill_fix=fixed,
                   gqa_in_perf_shapes=fixed, energy_counts_fixed=fixed, glu_in_flops=fixed,
                   bottleneck_tie_label=fixed, heatsink_warm_start_guard=fixed, stack_terms=fixed,
                   causal_prefill_attention=fixed, single_stage_no_transfer=fixed, serving_model=fixed,
                   rental_tco=fixed)


REFERENCE = Fidelity.from_compat("reference")
CORRECTED = Fidelity.from_compat("corrected")
