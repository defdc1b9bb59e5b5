"""Mixture-of-experts decode and dispatch equations (docs/models.md §M5).

Pure functions of numbers or numpy arrays (numpy ufuncs only), so the one-point and the grid drivers
share them.

Named assumption **uniform routing** (eq. M5.1): each of a step's B tokens picks its k of E experts
uniformly and independently, so an expert is untouched with probability (1 − k/E)^B and the expected
number of distinct experts a step reads is E·(1 − (1 − k/E)^B). Real routers are not uniform; the
**imbalance factor** f ≥ 1 (system key ``moe_imbalance``) is the ratio of the busiest expert-parallel
rank's load (tokens and touched experts) to the mean, and multiplies the routed-expert time of a step
when the experts are spread over e > 1 ranks (with e = 1 every chip holds a slice of every expert and
the load is even by construction).
"""
from __future__ import annotations

from . import xp


def distinct_experts(num_experts, experts_per_token, tokens):
    """Expected distinct experts a step of ``tokens`` tokens touches (eq. M5.1): E·(1 − (1 − k/E)^B)."""
    E, k = num_experts, experts_per_token
    return E * (1 - (1 - k / E) ** tokens)


def imbalance(factor, ep):
    """The imbalance multiplier of the routed-expert time (eq. M5.2): f when e > 1, else 1."""
    return xp.select(ep > 1, factor, 1.0)


def routed_weight_bytes(num_experts, experts_per_token, tokens, expert_params, weight_bits):
    """Routed-expert weight bytes one MoE layer reads in a step (eq. M5.3): distinct experts × expert
    parameters × bits / 8 (whole system; a chip reads its 1/t share)."""
    return distinct_experts(num_experts, experts_per_token, tokens) * expert_params * weight_bits / 8


def alltoall_bytes_per_chip(tokens, experts_per_token, d, act_bits, ep):
    """Bytes one chip sends in the dispatch (equally in the combine) of one MoE layer (eq. M5.4):
    the e ranks share the step's tokens, each token goes to k experts, and under uniform routing a copy
    stays on its own rank with probability 1/e: (B/e)·k·d·(act_bits/8)·(e − 1)/e."""
    return tokens / ep * experts_per_token * d * act_bits / 8 * (ep - 1) / ep


def alltoall_s(ep, nbytes, alpha_s, beta_s_per_byte):
    """Latency of one all-to-all among e ranks (eq. M5.5): (e − 1) message start-ups plus the bytes each
    rank sends over its bottleneck link, (e − 1)·α + n·β; nothing for e = 1."""
    return xp.select(ep > 1, (ep - 1) * alpha_s + nbytes * beta_s_per_byte, 0.0)
