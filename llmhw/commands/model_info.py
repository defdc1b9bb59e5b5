"""``--model-info NAME [--json]``: parameter counts, KV cache and weight bytes of one model
(docs/models.md §M2–§M4)."""
from __future__ import annotations

import json
from typing import Any

from .. import paths
from ..config import load_model
from ..config.schema import PRECISION_BITS
from ..workload import kv, params
from ..workload.model import Model

#: Precisions listed by --model-info (bits per weight).
WEIGHT_BITS = tuple(b for b in sorted(PRECISION_BITS, reverse=True) if b <= 16)


def model_info(model: Model) -> dict[str, Any]:
    """The figures of ``--model-info``: totals as published (embeddings and LM head included)."""
    info: dict[str, Any] = {
        "name": model.name,
        "total_params": params.weight_params(model),
        "active_params": params.active_params(model),
        "kv_cache_bytes_per_token": kv.kv_bytes_per_token(model, 16),
        "kv_cache_bytes_per_token_long_context": kv.kv_bytes_per_token_long_context(model, 16),
        "weight_bytes": {str(b): int(params.weight_bytes(model, b)) for b in WEIGHT_BITS},
        "layers": model.num_layers,
        "moe_layers": model.moe_layers,
        "attention": "MLA" if model.is_mla else ("MHA" if model.heads_per_kv_cache == 1 else "GQA"),
        "sliding_window_layers": model.windowed_layers,
    }
    return {k: (int(v) if isinstance(v, float) and v.is_integer() else v) for k, v in info.items()}


def _text(info: dict[str, Any]) -> str:
    gb = 1e9
    lines = [f"model {info['name']}: {info['layers']} layers ({info['moe_layers']} MoE), {info['attention']} attention"
             + (f", {info['sliding_window_layers']} sliding-window layers" if info["sliding_window_layers"] else ""),
             f"  total parameters        {info['total_params'] / 1e9:10.3f} B   (embeddings and LM head included)",
             f"  active parameters/token {info['active_params'] / 1e9:10.3f} B",
             f"  KV cache per token      {info['kv_cache_bytes_per_token']:10,.0f} bytes per sequence at 16 bits"]
    if info["kv_cache_bytes_per_token_long_context"] != info["kv_cache_bytes_per_token"]:
        lines.append(f"    beyond the window     {info['kv_cache_bytes_per_token_long_context']:10,.0f} bytes per token")
    for bits, nbytes in info["weight_bytes"].items():
        lines.append(f"  weights at {bits:>2} bits      {nbytes / gb:10.1f} GB")
    return "\n".join(lines)


def run(args) -> int:
    model = Model.from_dict(load_model(args.model_info, model_dir=paths.MODEL_DIR, strict_heads=False))
    info = model_info(model)
    print(json.dumps(info) if args.json else _text(info))
    return 0
