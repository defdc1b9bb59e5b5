"""Disaggregated prefill/decode (docs/serving.md §5; DistServe, OSDI 2024; Splitwise, ISCA 2024).

A prefill pool of n_p instances and a decode pool of n_d instances, each with its own system and mapping.
Requests are spread evenly (random routing keeps each instance's arrivals Poisson at λ/n). The KV cache of
each request moves from its prefill instance to its decode instance over a named link.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KVLink:
    """The link the KV cache crosses: name, bandwidth (bytes/s, one direction, after efficiency) and latency."""

    name: str
    bandwidth_bytes_per_s: float
    latency_s: float


def kv_transfer_s(prompt_tokens, kv_bytes_per_token: float, link: KVLink):
    """(5.1) t_kv = P · K / bw + latency: the prompt's KV cache (all layers) over the link."""
    return prompt_tokens * kv_bytes_per_token / link.bandwidth_bytes_per_s + link.latency_s


def link_capacity_rps(mean_prompt_tokens: float, kv_bytes_per_token: float, link: KVLink,
                      links: int = 1) -> float:
    """(5.2) Requests/s the links can carry: links · bw / (E[P] · K) (the latency overlaps other transfers)."""
    return links * link.bandwidth_bytes_per_s / (mean_prompt_tokens * kv_bytes_per_token)


def pool_capacity_rps(prefill_instances: int, prefill_rps: float, decode_instances: int,
                      decode_rps: float, link_rps: float = np.inf) -> float:
    """(5.4) The deployment sustains what its slowest part sustains: min(n_p·μ_p, n_d·μ_d, link)."""
    return min(prefill_instances * prefill_rps, decode_instances * decode_rps, link_rps)


def balanced_ratio(prefill_rps: float, decode_rps: float) -> float:
    """(5.5) Rate matching: the P:D ratio n_p/n_d at which both pools saturate together, μ_d / μ_p."""
    return decode_rps / prefill_rps
