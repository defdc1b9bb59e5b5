"""The transformer model (model.md §10): parameter counts, model and KV-cache bytes, FLOPs.

Also the attention-block communication pattern of §13.4 / §16.1 #3 (``attn_comm_pattern``), whose
``auto`` value reproduces the reference's rule keyed on the model width ``d`` alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

from llmhw.values import get_or_default

ATTN_COMM_PATTERNS = ("auto", "allreduce", "parallel_block", "allreduce_plus_2a2a")

#: §13.4: the reference picks the attention-block pattern from d alone (palm: 18432, llama2/3-70B: 8192).
_AUTO_PATTERN_BY_D = {18432: "parallel_block", 8192: "allreduce_plus_2a2a"}



@dataclass(frozen=True)
class Model:
    """A decoder-only transformer (§10). Counts are per layer unless named ``model_*``/``*_total``.

    Integer inputs stay integers; ``k``/``v`` parameter counts use real division by ``G_kv`` (§10),
    so the derived counts are floats exactly as in the reference.
    """

    name: str
    num_layers: int
    d: int
    num_heads: int
    d_head: int
    d_ff: int
    act: str = "gelu"
    heads_per_kv_cache: int = 1
    bytes_per_number: int = 2
    attn_comm_pattern: str = "auto"

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> "Model":
        """Build from the ``Model:`` mapping (or a file mapping holding a ``Model`` key), §10 defaults."""
        if "Model" in cfg and isinstance(cfg["Model"], Mapping):
            cfg = cfg["Model"]
        d, heads = cfg["d"], cfg["num_heads"]
        pattern = get_or_default(cfg, "attn_comm_pattern", "auto")
        if pattern not in ATTN_COMM_PATTERNS:
            raise ValueError(f"attn_comm_pattern {pattern!r} not in {ATTN_COMM_PATTERNS}")
        return cls(name=str(get_or_default(cfg, "name", "")), num_layers=cfg["num_layers"], d=d, num_heads=heads,
                   d_head=get_or_default(cfg, "d_head", d // heads), d_ff=get_or_default(cfg, "d_ff", 4 * d),
                   act=str(get_or_default(cfg, "act", "gelu")), heads_per_kv_cache=get_or_default(cfg, "heads_per_kv_cache", 1),
                   bytes_per_number=get_or_default(cfg, "bytes_per_number", 2), attn_comm_pattern=pattern)

    # ---- §10 parameter counts -------------------------------------------------------------------
    @property
    def gated(self) -> bool:
        """Any activation containing ``glu`` (e.g. ``swiglu``) is a gated FFN (§10)."""
        return "glu" in self.act

    @property
    def q_params(self) -> int:
        return self.num_heads * self.d * self.d_head

    @property
    def kv_params(self) -> float:
        """Parameters of K (= of V) per layer: H·d·d_head / G_kv (real division)."""
        return self.num_heads * self.d * self.d_head / self.heads_per_kv_cache

    @cached_property
    def atten_params(self) -> float:
        q = o = self.q_params
        k = v = self.kv_params
        return q + k + v + o

    @property
    def ffn_params(self) -> int:
        """d·d_ff + d_ff·d (the GLU gate matrix is separate, §10)."""
        return self.d * self.d_ff + self.d_ff * self.d

    @property
    def glu_params(self) -> int:
        return self.d * self.d_ff if self.gated else 0

    @cached_property
    def params(self) -> float:
        """model_size = L·(atten + ffn + glu) parameters (no embeddings, biases or norms)."""
        return self.num_layers * (self.atten_params + self.ffn_params + self.glu_params)

    @cached_property
    def model_bytes(self) -> float:
        return self.params * self.bytes_per_number

    @cached_property
    def kv_numbers_per_token(self) -> float:
        """kv_per_token = L·2·H·d_head / G_kv numbers per token (all layers)."""
        return self.num_layers * 2 * self.num_heads * self.d_head / self.heads_per_kv_cache

    @cached_property
    def kv_bytes_per_token(self) -> float:
        return self.kv_numbers_per_token * self.bytes_per_number

    @property
    def d_attn(self) -> int:
        """d_at = d_head × H (§13.2)."""
        return self.d_head * self.num_heads

    # ---- §10 FLOPs ------------------------------------------------------------------------------
    def _ffn_for_flops(self, glu_in_flops: bool) -> float:
        """``ffn`` of the FLOP formulas: excludes the GLU matrix unless fixed (§16.2 #5)."""
        return self.ffn_params + self.glu_params if glu_in_flops else self.ffn_params

    def prefill_flops(self, n: float, glu_in_flops: bool = False) -> float:
        """prefill_flops(n) = L·(atten·n·2 + ffn·n·2) + L·2·H·d_head·n·n·2 (no causal halving)."""
        L, ffn = self.num_layers, self._ffn_for_flops(glu_in_flops)
        return (L * (self.atten_params * n * 2 + ffn * n * 2)
                + L * 2 * self.num_heads * self.d_head * n * n * 2)

    def generate_flops(self, c: float, glu_in_flops: bool = False) -> float:
        """generate_flops(c) = L·(atten·2 + ffn·2) + L·2·H·d_head·c·2 for one token at context c."""
        L, ffn = self.num_layers, self._ffn_for_flops(glu_in_flops)
        return L * (self.atten_params * 2 + ffn * 2) + L * 2 * self.num_heads * self.d_head * c * 2

    # ---- §13.4 attention-block communication pattern --------------------------------------------
    @property
    def resolved_attn_comm_pattern(self) -> str:
        """The pattern in force; ``auto`` applies the reference's d-keyed rule (§13.4, §16.1 #3)."""
        if self.attn_comm_pattern != "auto":
            return self.attn_comm_pattern
        return _AUTO_PATTERN_BY_D.get(self.d, "allreduce")
