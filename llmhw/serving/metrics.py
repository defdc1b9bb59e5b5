"""The serving-mode metrics of a :class:`~llmhw.evaluate.Result`: name → (direction, unit, description).

Merged into ``llmhw.evaluate.METRICS`` so objectives and constraints name them like every other metric.
In serving mode ``ttft_s``, ``tpot_s``, ``throughput_tok_per_s`` and ``tco_per_mtoken_usd`` take the
serving meanings below (docs/serving.md §6).
"""
from __future__ import annotations

SERVING_METRICS: dict[str, tuple[str, str, str]] = {
    "goodput_rps": ("maximize", "req/s", "serving: largest load at which the SLO percentile of requests meet "
                                         "TTFT and TPOT (docs/serving.md §6)"),
    "goodput_per_musd": ("maximize", "req/s/M$", "serving: goodput per million $ of lifetime TCO"),
    "max_rate_rps": ("maximize", "req/s", "serving: largest sustainable load, no SLO"),
    "load_rps": ("maximize", "req/s", "serving: the load the latency metrics are given at (offered or SLO load)"),
    "ttft_mean_s": ("minimize", "s", "serving: mean time to first token at the load"),
    "tbt_max_s": ("minimize", "s", "serving: longest iteration a decoding request sees (chunk stall)"),
    "decode_batch": ("maximize", "requests", "serving: running decode batch per instance at the load"),
    "prefill_busy": ("minimize", "-", "serving: utilisation of the prefill slot at the load"),
    "kv_transfer_s": ("minimize", "s", "serving: mean KV-cache transfer, prefill → decode pool"),
    "pd_ratio": ("maximize", "-", "serving: prefill / decode instances (nan when aggregated)"),
    "ttft_wait_s": ("minimize", "s", "serving: TTFT share: queueing for the prefill slot (mean)"),
    "ttft_prefill_s": ("minimize", "s", "serving: TTFT share: the prompt's own prefill (mean)"),
    "tpot_weights_s": ("minimize", "s", "serving: decode iteration share: weight matmuls"),
    "tpot_attention_s": ("minimize", "s", "serving: decode iteration share: attention"),
    "tpot_communication_s": ("minimize", "s", "serving: decode iteration share: collectives and stage transfers"),
    "tpot_chunk_s": ("minimize", "s", "serving: TPOT share added by prefill chunks riding along"),
}
