"""A small discrete-event simulation of the serving engines, to check the analytical model (§4, §5).

Not used by the search: ``bench/bench_serving.py`` and one fast test run it. Requests arrive Poisson, lengths
are drawn from the workload's weighted lists, and every iteration costs ``cost.time_s`` of its actual rows
and mean context (not the steady-state averages the analytical model uses).

- aggregated: one instance; FCFS prompts, one at a time, in ⌈P/C⌉ equal chunks riding along with the running
  decode batch (capped at ``max_batch``); a request's first token comes with its last chunk;
- disaggregated: ``n_p`` prefill instances (random routing, FCFS, a prompt occupies an instance for
  ``prompt_occupancy_s`` and finishes (2p − 1)/p of it later), the KV transfer, ``n_d`` decode instances
  (random routing, requests join at the next iteration).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .disagg import KVLink, kv_transfer_s
from .workload import ServingWorkload


@dataclass(frozen=True)
class Measured:
    ttft_mean_s: float
    ttft_q_s: float
    tpot_s: float                # mean over requests of (finish − first token) / (G − 1)
    throughput_tok_per_s: float  # generated tokens/s over the measured window
    requests: int


def _draw(workload: ServingWorkload, rate_rps: float, n: int, seed: int):
    rng = np.random.default_rng(seed)
    arrival = np.cumsum(rng.exponential(1 / rate_rps, n))
    P = rng.choice(workload.prompt.array, p=workload.prompt.probs, size=n)
    G = rng.choice(workload.output.array, p=workload.output.probs, size=n)
    return rng, arrival, P, G


def _measure(workload, arrival, first, finish, G, warmup: float) -> Measured:
    n = len(arrival)
    keep = np.arange(n) >= int(warmup * n)
    ttft = (first - arrival)[keep]
    tpot = ((finish - first) / (G - 1))[keep]
    t0, t1 = arrival[keep][0], arrival[keep][-1]
    done = (finish >= t0) & (finish <= t1)
    return Measured(float(ttft.mean()), float(np.quantile(ttft, workload.percentile)), float(tpot.mean()),
                    float(G[done].sum() / (t1 - t0)), int(keep.sum()))


def _decode_loop(cost, ready, P, G, max_batch, first_of=None, chunked=None):
    """One instance's iteration loop. ``ready`` are the times requests may join (decode-only), or with
    ``chunked = (chunk_tokens, arrival)`` the instance prefills them itself. Returns (first, finish)."""
    n = len(P)
    first = np.full(n, np.nan) if first_of is None else first_of.copy()
    finish = np.full(n, np.nan)
    order = np.argsort(ready, kind="stable")
    nxt, t = 0, 0.0
    run_idx = np.zeros(0, dtype=int)
    run_left = np.zeros(0)
    run_ctx = np.zeros(0)
    queue: deque = deque()
    cur, cur_chunks, cur_done = -1, 0, 0
    finished = 0
    while finished < n:
        while nxt < n and ready[order[nxt]] <= t:
            i = order[nxt]
            nxt += 1
            if chunked is None:
                run_idx = np.append(run_idx, i)
                run_left = np.append(run_left, G[i] - 1)
                run_ctx = np.append(run_ctx, P[i] + 1)
            else:
                queue.append(i)
        if cur < 0 and queue and (chunked is not None) and len(run_idx) < max_batch:
            cur = queue.popleft()
            cur_chunks, cur_done = math.ceil(P[cur] / chunked), 0
        D = len(run_idx)
        if D == 0 and cur < 0:
            t = ready[order[nxt]]
            continue
        ctx = float(run_ctx.mean()) if D else 0.0
        if cur >= 0:
            c = P[cur] / cur_chunks
            dt = float(cost.time_s(D, ctx, c, (cur_done + 1) * c))
        else:
            dt = float(cost.time_s(D, ctx))
        t += dt
        if D:
            run_left -= 1
            run_ctx += 1
            done = run_left <= 0
            if done.any():
                finish[run_idx[done]] = t
                finished += int(done.sum())
                keep = ~done
                run_idx, run_left, run_ctx = run_idx[keep], run_left[keep], run_ctx[keep]
        if cur >= 0:
            cur_done += 1
            if cur_done == cur_chunks:
                first[cur] = t
                run_idx = np.append(run_idx, cur)
                run_left = np.append(run_left, G[cur] - 1)
                run_ctx = np.append(run_ctx, P[cur] + 1)
                cur = -1
    return first, finish


def simulate_aggregated(cost, workload: ServingWorkload, chunk_tokens: float, max_batch: float,
                        rate_rps: float, requests: int = 4000, seed: int = 0, warmup: float = 0.2) -> Measured:
    _, arrival, P, G = _draw(workload, rate_rps, requests, seed)
    first, finish = _decode_loop(cost, arrival, P, G, max_batch, chunked=chunk_tokens)
    return _measure(workload, arrival, first, finish, G, warmup)


def simulate_disaggregated(prefill_cost, prefill_p: int, n_prefill: int, decode_cost, n_decode: int,
                           workload: ServingWorkload, kv_bytes_per_token: float, link: KVLink, max_batch: float,
                           rate_rps: float, requests: int = 4000, seed: int = 0, warmup: float = 0.2) -> Measured:
    rng, arrival, P, G = _draw(workload, rate_rps, requests, seed)
    occ = np.asarray(prefill_cost.prompt_occupancy_s(P), dtype=float)
    latency = occ * (2 * prefill_p - 1) / prefill_p
    first = np.empty(requests)
    free = np.zeros(n_prefill)
    for i, inst in enumerate(rng.integers(0, n_prefill, requests)):   # FCFS per instance
        start = max(arrival[i], free[inst])
        free[inst] = start + occ[i]
        first[i] = start + latency[i] + kv_transfer_s(P[i], kv_bytes_per_token, link)
    finish = np.empty(requests)
    dec = rng.integers(0, n_decode, requests)
    for k in range(n_decode):
        idx = np.flatnonzero(dec == k)
        _, fin = _decode_loop(decode_cost, first[idx], P[idx], G[idx], max_batch, first_of=first[idx])
        finish[idx] = fin
    return _measure(workload, arrival, first, finish, G, warmup)
