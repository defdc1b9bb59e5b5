"""The transformer model (model.md §10): parameter counts, model and KV-cache bytes, FLOPs.

Also the attention-block communication pattern of §13.4 / §16.1 #3 (``attn_comm_pattern``), whose
``auto`` value reproduces the reference's rule keyed on the model width ``d`` alone, and the keys of
modern models (docs/models.md §M1): vocabulary and embeddings, mixture-of-experts layers, multi-head
latent attention (MLA) and sliding-window attention. Every new key defaults to "absent", which leaves
each §10 quantity exactly as before; the counts themselves are in :mod:`llmhw.workload.params` and
:mod:`llmhw.workload.kv`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Mapping

from llmhw.values import get_or_default

ATTN_COMM_PATTERNS = ("auto", "allreduce", "parallel_block", "allreduce_plus_2a2a")

#: docs/models.md §M1: integer keys of modern models (0 = absent).
MODERN_KEYS = ("vocab_size", "num_experts", "experts_per_token", "num_shared_experts", "d_ff_expert",
               "first_dense_layers", "q_lora_rank", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
               "v_head_dim", "sliding_window", "full_attention_every")

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
    # ---- docs/models.md §M1 (all 0 / False = absent, the §10 model) ----
    vocab_size: int = 0                  # embedding rows; 0: embeddings not counted (§10)
    tie_word_embeddings: bool = False    # LM head shares the embedding matrix
    num_experts: int = 0                 # routed experts E per MoE layer; 0: dense FFN everywhere
    experts_per_token: int = 0           # top-k
    num_shared_experts: int = 0          # always-active experts of width d_ff_expert
    d_ff_expert: int = 0                 # expert FFN width; 0: d_ff
    first_dense_layers: int = 0          # the first N layers keep a dense FFN of width d_ff
    q_lora_rank: int = 0                 # MLA query compression; 0: direct query projection
    kv_lora_rank: int = 0                # MLA latent width; 0: no MLA
    qk_rope_head_dim: int = 0            # MLA decoupled RoPE width (one shared key head)
    qk_nope_head_dim: int = 0            # MLA per-head non-RoPE query/key width; 0: d_head
    v_head_dim: int = 0                  # MLA per-head value width; 0: d_head
    sliding_window: int = 0              # window W of windowed layers; 0: all layers full attention
    full_attention_every: int = 0        # every N-th layer (1-based) is full; 0: all layers windowed

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any]) -> "Model":
        """Build from the ``Model:`` mapping (or a file mapping holding a ``Model`` key), §10 defaults."""
        if "Model" in cfg and isinstance(cfg["Model"], Mapping):
            cfg = cfg["Model"]
        d, heads = cfg["d"], cfg["num_heads"]
        pattern = get_or_default(cfg, "attn_comm_pattern", "auto")
        if pattern not in ATTN_COMM_PATTERNS:
            raise ValueError(f"attn_comm_pattern {pattern!r} not in {ATTN_COMM_PATTERNS}")
        modern = {k: get_or_default(cfg, k, 0) for k in MODERN_KEYS}
        modern["tie_word_embeddings"] = bool(get_or_default(cfg, "tie_word_embeddings", False))
        return cls(name=str(get_or_default(cfg, "name", "")), num_layers=cfg["num_layers"], d=d, num_heads=heads,
                   d_head=get_or_default(cfg, "d_head", d // heads), d_ff=get_or_default(cfg, "d_ff", 4 * d),
                   act=str(get_or_default(cfg, "act", "gelu")), heads_per_kv_cache=get_or_default(cfg, "heads_per_kv_cache", 1),
                   bytes_per_number=get_or_default(cfg, "bytes_per_number", 2), attn_comm_pattern=pattern, **modern)

    # ---- docs/models.md §M1 derived flags -------------------------------------------------------
    @cached_property
    def is_modern(self) -> bool:
        """Any docs/models.md §M1 feature that changes the §13 operators (vocabulary, MoE, MLA, windows)."""
        return bool(self.vocab_size or self.num_experts or self.kv_lora_rank or self.windowed_layers)

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @property
    def moe_layers(self) -> int:
        """Layers with an MoE FFN: all but the first ``first_dense_layers`` (0 for a dense model)."""
        return self.num_layers - min(self.first_dense_layers, self.num_layers) if self.is_moe else 0

    @property
    def dense_layers(self) -> int:
        return self.num_layers - self.moe_layers

    @property
    def expert_width(self) -> int:
        return self.d_ff_expert or self.d_ff

    @property
    def nope_head_dim(self) -> int:
        return self.qk_nope_head_dim or self.d_head

    @property
    def value_head_dim(self) -> int:
        return self.v_head_dim or self.d_head

    @property
    def windowed_layers(self) -> int:
        """Layers attending to the last ``sliding_window`` tokens only (every N-th is full, 1-based)."""
        if not self.sliding_window:
            return 0
        n = self.full_attention_every
        return self.num_layers - (self.num_layers // n if n else 0)

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
        """model_size = L·(atten + ffn + glu) parameters (no embeddings, biases or norms); with the keys of
        docs/models.md §M1, every expert, MLA projections and the embeddings (eq. M2.4)."""
        from .params import weight_params
        return weight_params(self)

    @cached_property
    def model_bytes(self) -> float:
        return self.params * self.bytes_per_number

    @cached_property
    def kv_numbers_per_token(self) -> float:
        """kv_per_token = L·2·H·d_head / G_kv numbers per token (all layers); MLA: L·(r_kv + ρ)
        (docs/models.md eq. M3.1). Sliding windows cap what is held, see :mod:`llmhw.workload.kv`."""
        from .kv import kv_numbers_per_token_layer
        return self.num_layers * kv_numbers_per_token_layer(self) if self.is_mla else \
            self.num_layers * 2 * self.num_heads * self.d_head / self.heads_per_kv_cache

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
        """prefill_flops(n) = L·(atten·n·2 + ffn·n·2) + L·2·H·d_head·n·n·2 (no causal halving); a model with
        docs/models.md §M1 keys: eq. M7.3 (every matmul counted)."""
        if self.is_modern:
            from .params import modern_flops
            return modern_flops(self, n, prefill=True)
        L, ffn = self.num_layers, self._ffn_for_flops(glu_in_flops)
        return (L * (self.atten_params * n * 2 + ffn * n * 2)
                + L * 2 * self.num_heads * self.d_head * n * n * 2)

    def generate_flops(self, c: float, glu_in_flops: bool = False) -> float:
        """generate_flops(c) = L·(atten·2 + ffn·2) + L·2·H·d_head·c·2 for one token at context c; a model with
        docs/models.md §M1 keys: eq. M7.3."""
        if self.is_modern:
            from .params import modern_flops
            return modern_flops(self, c, prefill=False)
        L, ffn = self.num_layers, self._ffn_for_flops(glu_in_flops)
        return L * (self.atten_params * 2 + ffn * 2) + L * 2 * self.num_heads * self.d_head * c * 2

    # ---- §13.4 attention-block communication pattern --------------------------------------------
    @property
    def resolved_attn_comm_pattern(self) -> str:
        """The pattern in force; ``auto`` applies the reference's d-keyed rule (§13.4, §16.1 #3)."""
        if self.attn_comm_pattern != "auto":
            return self.attn_comm_pattern
        return _AUTO_PATTERN_BY_D.get(self.d, "allreduce")
