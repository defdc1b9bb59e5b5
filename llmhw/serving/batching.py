"""Continuous batching with chunked prefill in steady state (docs/serving.md §4).

The engine (one aggregated instance) runs iterations back to back. An iteration carries the running decode
batch D (one token each) and, while a prompt waits, a chunk of up to C prompt tokens (Sarathi-Serve's
stall-free batching; vLLM's chunked prefill). Prompts are prefilled one at a time, first come first served:
the prefill slot is an M/G/1 queue whose service is a prompt's chunks. Everything is computed on a grid of
decode batches D (array expressions); the load λ that sustains each D is closed-form (4.3), so no fixed point
is iterated and the metrics at a given load are interpolated along the grid.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .queueing import pk_mean_wait_s, utilisation, wait_quantile_s
from .workload import ServingWorkload

GRID_START = 0.25
GRID_RATIO = 1.12


def batch_grid(max_batch: float) -> np.ndarray:
    """0, then geometric from 0.25 by ×1.12 up to ``max_batch`` (included)."""
    if max_batch <= 0:
        return np.zeros(1)
    n = max(1, int(np.ceil(np.log(max(max_batch / GRID_START, 1.0)) / np.log(GRID_RATIO))))
    g = GRID_START * GRID_RATIO ** np.arange(n)
    return np.concatenate([[0.0], g[g < max_batch], [float(max_batch)]])


@dataclass(frozen=True)
class Chunks:
    """(4.1) A prompt of P tokens in chunks of at most C: n = ⌈P/C⌉ chunks of P/n tokens, the k-th chunk
    attending to k·P/n tokens, so the mean chunk context is (P + P/n)/2."""

    count: np.ndarray        # n per prompt length
    tokens: np.ndarray       # P/n
    context: np.ndarray      # (P + P/n) / 2


def chunks(prompt_tokens: np.ndarray, chunk_tokens: float) -> Chunks:
    P = np.asarray(prompt_tokens, dtype=float)
    n = np.ceil(P / chunk_tokens)
    return Chunks(n, P / n, (P + P / n) / 2)


def arrival_rate_rps(decode_batch, decode_iter_s, mix_iters_per_request, mix_s_per_request, decode_steps):
    """(4.3) The load that keeps D requests decoding. Per second there are λ·E[n] mixed iterations (busy
    λ·E[S]) and (1 − λE[S])/τ_d decode-only ones; every iteration gives each running request a token, and
    Little's law gives D = λ·(E[G] − 1)·τ̄ with τ̄ = 1/(iterations per second). Solved for λ:
    λ = (D/τ_d) / (E[G] − 1 − D·E[n] + D·E[S]/τ_d)."""
    D = decode_batch
    with np.errstate(divide="ignore", invalid="ignore"):
        den = decode_steps - D * mix_iters_per_request + D * mix_s_per_request / decode_iter_s
        return np.where(den > 0, D / decode_iter_s / den, np.inf)


def mean_tpot_s(rate_rps, decode_iter_s, mix_iters_per_request, mix_s_per_request):
    """(4.4) τ̄ = 1 / (λE[n] + (1 − λE[S])/τ_d): the mean time between two tokens of a running request."""
    return 1.0 / (rate_rps * mix_iters_per_request + (1 - rate_rps * mix_s_per_request) / decode_iter_s)


@dataclass(frozen=True)
class SteadyState:
    """Arrays along the decode-batch grid (one entry per D), cut where the load stops being sustainable."""

    decode_batch: np.ndarray
    rate_rps: np.ndarray
    tpot_s: np.ndarray            # mean time per output token (per-request average TPOT)
    tbt_max_s: np.ndarray         # the longest iteration a decode sees (a chunk riding along)
    decode_iter_s: np.ndarray
    prefill_busy: np.ndarray      # ρ of the prefill slot
    wait_mean_s: np.ndarray
    wait_q_s: np.ndarray
    prefill_mean_s: np.ndarray    # E[S], the prompt's own prefill time
    ttft_mean_s: np.ndarray
    ttft_q_s: np.ndarray

    def at_rate(self, rate_rps: float) -> dict[str, float]:
        """Every field interpolated at the load ``rate_rps`` (inf beyond the sustainable range)."""
        if not len(self.rate_rps) or rate_rps > self.rate_rps[-1] * (1 + 1e-12):
            return {k: (float("inf") if k != "rate_rps" else rate_rps) for k in self.__dataclass_fields__}
        return {k: float(np.interp(rate_rps, self.rate_rps, getattr(self, k))) for k in self.__dataclass_fields__}


def sustainable(state: dict[str, np.ndarray]) -> SteadyState:
    """Cut the grid at the first point whose load does not grow or whose prefill slot saturates."""
    rate = state["rate_rps"]
    ok = np.isfinite(rate) & (state["prefill_busy"] < 1) & np.isfinite(state["ttft_q_s"])
    grows = np.concatenate([[True], np.diff(rate) > 0])
    bad = np.flatnonzero(~(ok & grows))
    end = int(bad[0]) if len(bad) else len(rate)
    return SteadyState(**{k: np.asarray(v, dtype=float)[:end] for k, v in state.items()})


def aggregated_state(cost, workload: ServingWorkload, chunk_tokens: float, max_batch: float) -> SteadyState:
    """(4.1)–(4.6) One aggregated instance with chunked prefill, along the decode-batch grid up to the
    KV-memory limit ``max_batch``. ``cost`` is an :class:`~llmhw.serving.iteration.IterationCost`."""
    D = batch_grid(max_batch)[:, None]
    ctx = workload.decode_context()
    P, w = workload.prompt.array[None, :], workload.prompt.probs[None, :]
    ch = chunks(P, chunk_tokens)
    tau_d = cost.time_s(D[:, 0], ctx)[:, None]
    tau_mix = cost.time_s(D, ctx, ch.tokens, ch.context)          # one mixed iteration per prompt length
    S = ch.count * tau_mix                                        # (4.2) a prompt's prefill service
    ES, ES2, En = (S * w).sum(1), (S ** 2 * w).sum(1), (ch.count * w).sum()
    steps = workload.decode_steps()
    rate = arrival_rate_rps(D[:, 0], tau_d[:, 0], En, ES, steps)
    tpot = np.where(rate > 0, mean_tpot_s(rate, tau_d[:, 0], En, ES), tau_d[:, 0])
    q = workload.percentile
    W = pk_mean_wait_s(rate, ES, ES2)
    Wq = wait_quantile_s(rate, ES, ES2, q)
    Sq = S[:, quantile_index(workload.prompt.array, workload.prompt.probs, q)]   # S grows with P
    return sustainable(dict(decode_batch=D[:, 0], rate_rps=rate, tpot_s=tpot, tbt_max_s=tau_mix.max(1),
                            decode_iter_s=tau_d[:, 0], prefill_busy=utilisation(rate, ES), wait_mean_s=W,
                            wait_q_s=Wq, prefill_mean_s=ES, ttft_mean_s=W + ES, ttft_q_s=Wq + Sq))


def decode_state(cost, workload: ServingWorkload, max_batch: float) -> SteadyState:
    """(5.3) A decode-only instance (disaggregated): λ_d = D / (τ_d(D)·(E[G] − 1)); no prefill slot."""
    D = batch_grid(max_batch)
    tau_d = cost.time_s(D, workload.decode_context()) + 0 * D
    rate = D / (tau_d * workload.decode_steps())
    z = np.zeros_like(D)
    return sustainable(dict(decode_batch=D, rate_rps=rate, tpot_s=tau_d, tbt_max_s=tau_d, decode_iter_s=tau_d,
                            prefill_busy=z, wait_mean_s=z, wait_q_s=z, prefill_mean_s=z, ttft_mean_s=z,
                            ttft_q_s=z))


def quantile_index(values: np.ndarray, weights: np.ndarray, q: float) -> int:
    """The index of the q-quantile of a weighted list (the smallest value whose cumulative weight reaches q)."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return int(order[min(int(np.searchsorted(cum, q - 1e-12)), len(cum) - 1)])


def rate_meeting(state: SteadyState, limits: dict[str, float]) -> tuple[float, str]:
    """(4.7) The largest load whose metrics stay within ``limits`` (metric → maximum), interpolated between the
    last grid point that meets them all and the next one; and the name of the limit that binds."""
    if not len(state.rate_rps):
        return 0.0, "no sustainable load"
    ok = np.ones(len(state.rate_rps), dtype=bool)
    for k, v in limits.items():
        ok &= getattr(state, k) <= v
    if not ok[0]:
        return 0.0, min(limits, key=lambda k: limits[k] - getattr(state, k)[0])
    bad = np.flatnonzero(~ok)
    if not len(bad):
        return float(state.rate_rps[-1]), "KV memory or prefill capacity"
    i = int(bad[0]) - 1
    frac, binding = 1.0, ""
    for k, v in limits.items():
        a, b = getattr(state, k)[i], getattr(state, k)[i + 1]
        if b > v:
            f = (v - a) / (b - a) if np.isfinite(b) and b > a else 0.0
            if f < frac:
                frac, binding = f, k
    r0, r1 = state.rate_rps[i], state.rate_rps[i + 1]
    return float(r0 + frac * (r1 - r0)), binding
