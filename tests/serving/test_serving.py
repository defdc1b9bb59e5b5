"""Serving model (docs/serving.md): every golden number is hand arithmetic written out here."""
from __future__ import annotations

import math

import numpy as np
import pytest

from llmhw.fidelity import CORRECTED
from llmhw.serving.batching import aggregated_state, arrival_rate_rps, decode_state, mean_tpot_s
from llmhw.serving.disagg import KVLink, balanced_ratio, kv_transfer_s, link_capacity_rps, pool_capacity_rps
from llmhw.perf.geometry import stage_geometry
from llmhw.serving.iteration import iteration_cost, micro_batch_iteration
from llmhw.serving.queueing import pk_mean_wait_s, wait_quantile_s
from llmhw.serving.workload import LengthDist, ServingWorkload, length_dist, workload_from_config
from tests.perf.support import project_model, project_system


class LinearCost:
    """A made-up iteration cost (an input of the test, not a result): τ = 20 ms + 0.2 ms·D + 0.1 ms·C."""

    def time_s(self, decode_tokens, mean_context, prefill_tokens=0.0, prefill_context=0.0):
        return 0.02 + 0.0002 * np.asarray(decode_tokens) + 0.0001 * np.asarray(prefill_tokens) + 0 * mean_context


def test_kv_transfer_time_llama3_70b_over_eight_ndr_nics():
    # K = L · 2 · H · d_head / G_kv · bytes = 80 · 2 · 64 · 128 / 8 · 2 = 327,680 bytes per token
    K = 80 * 2 * 64 * 128 / 8 * 2
    assert project_model("llama3-70B").kv_bytes_per_token == K == 327_680
    # 8 × 50 GB/s NICs at 80 % efficiency = 320e9 B/s, 2 µs latency; a 2048-token prompt:
    # 2048 · 327,680 = 671,088,640 B → 671,088,640 / 320e9 = 2.09715200e-3 s, + 2e-6 s = 2.09915200e-3 s
    link = KVLink("server", 8 * 50e9 * 0.8, 2e-6)
    assert kv_transfer_s(2048, K, link) == pytest.approx(2.099152e-3, rel=1e-12)
    # link capacity (5.2): 320e9 / (2048 · 327,680) = 476.837 requests/s per link, × 3 links
    assert link_capacity_rps(2048, K, link, links=3) == pytest.approx(3 * 320e9 / 671_088_640, rel=1e-12)


def test_pool_rate_matching():
    # prefill instance μ_p = 4 req/s, decode instance μ_d = 10 req/s
    assert pool_capacity_rps(2, 4.0, 1, 10.0) == 8.0        # 2P:1D: min(2·4, 1·10) = 8, prefill-bound
    assert pool_capacity_rps(3, 4.0, 1, 10.0) == 10.0       # 3P:1D: min(12, 10) = 10, decode-bound
    assert pool_capacity_rps(3, 4.0, 1, 10.0, link_rps=9.0) == 9.0   # the link binds
    assert balanced_ratio(4.0, 10.0) == 2.5                 # 10 / 4: 5 prefill per 2 decode instances


def test_chunked_prefill_iteration_h100_llama3_70b():
    """One iteration of 16 decode rows (context 1000) + a 512-token chunk (context 768) on one 8-GPU H100
    server, t = 8, p = 1, corrected (GQA shapes, gated FFN, causal chunk, no stage transfer at p = 1), by the
    §13.2–§13.5 and docs/validation.md §V.4/§V.7 formulas written out."""
    sys_ = project_system("h100", "llama3-70B", "h100", compat="corrected", index=0)
    D, c, C, cc = 16, 1000, 512, 768
    R = D + C                                   # 528 rows share the weight matmuls
    pe = 989e12 * 0.75                          # peak × compute_perf_efficiency
    bw = 40 * 128 * 5.234375e9 / 8 * 0.9        # 40 HBM3 channels × 128 pins × 5.234 Gb/s, × 0.9 = 3.015e12
    assert sys_.w_bw_bytes_per_s == pytest.approx(bw)

    def roof(stacks, I, J, K, div=1, f=1):      # §13.3: max(2·s·I·J·K·f / perf, 2·s·J·K / bw / div)
        return max(2 * stacks * I * J * K * f / pe, 2 * stacks * J * K / bw / div)
    qkv_cols = math.ceil((8192 + 2 * 8192 / 8) / 8)   # 1280
    weights = (roof(1, R, 8192, qkv_cols) + roof(1, R, 1024, 8192)
               + roof(2, R, 8192, 3584) + roof(1, R, 3584, 8192))
    f = 1 - (512 - 1) / (2 * 768)               # causal chunk (§V.4): 512 tokens ending at context 768
    attention = (roof(D, 1, 1024, c, 8) + roof(D, 1, c, 1024, 8)      # decode rows, K/V loads ÷ G_kv
                 + roof(1, C, 1024, cc, 8, f) + roof(1, C, cc, 1024, 8, f))  # the chunk, causal
    alpha, beta = 8.92e-6, 1 / (18 * 50e9 * 0.8)                       # NVLink: 18 × 50 GB/s × 0.8

    def ring(n):                                 # §13.5 ring all-reduce over t = 8 GPUs
        return 2 * 7 * (alpha + beta * n / 8)
    comm = ring(R * 8192 * 2) + 2 * ring(8192 * 2) / 2 + ring(R * 8192 * 2)   # comm2 = AR + 2 a2a; comm_fc
    total = (weights + attention + comm) * 80    # p = 1: no stage-to-stage transfer (§V.7)
    one = micro_batch_iteration(sys_, stage_geometry(sys_, 8, 1, CORRECTED), D, c, C, cc, CORRECTED)
    assert one.total_s == pytest.approx(total, rel=1e-12)
    assert iteration_cost(sys_, 8, 1, CORRECTED).time_s(D, c, C, cc) == pytest.approx(total, rel=1e-12)
    # the same equations on arrays (a grid of decode batches): the entry at D = 16 is the same number
    grid = iteration_cost(sys_, 8, 1, CORRECTED).time_s(np.array([0.0, 4.0, 16.0]), c, C, cc)
    assert grid[2] == pytest.approx(total, rel=1e-12) and grid[0] < grid[1] < grid[2]


def test_iteration_reduces_to_the_evaluator_micro_batches():
    """C = 0 is §13.6's generate micro-batch of D; D = 0, C = P is the prefill micro-batch of one prompt."""
    from dataclasses import replace

    from llmhw.perf.latency import micro_batch_latency
    for hw in ("h100", "chiplet_sram_only"):     # roofline; WS systolic arrays (the chiplet file's first chip)
        model, system = ("llama3-70B", "h100") if hw == "h100" else ("gpt2", "chiplet_sram_only")
        sys_ = replace(project_system(hw, model, system, compat="corrected", index=0),
                       prefill_len=1024, decode_len=256)
        assert sys_.server.package.chip.dataflow == ("roofline" if hw == "h100" else "WS")
        for t, p in ((8, 1), (4, 2), (2, 4)):
            geom = stage_geometry(sys_, t, p, CORRECTED)
            cost = iteration_cost(sys_, t, p, CORRECTED)
            gen = micro_batch_latency(sys_, geom, False, 24, CORRECTED).total_s
            pre = micro_batch_latency(sys_, geom, True, 1, CORRECTED).total_s
            assert micro_batch_iteration(sys_, geom, 24, 1024 + 128, 0, 0, CORRECTED).total_s == pytest.approx(gen)
            assert micro_batch_iteration(sys_, geom, 0, 0, 1024, 1024, CORRECTED).total_s == pytest.approx(pre)
            assert cost.time_s(24 * p, 1152) == pytest.approx(gen, rel=1e-12)
            D = np.array([0.0, 3.0, 24.0, 200.0])      # arrays give the numbers of the scalar calls
            arr = cost.time_s(D, 1152.0, 256.0, 700.0)
            assert np.allclose(arr, [cost.time_s(float(d), 1152.0, 256.0, 700.0) for d in D], rtol=1e-12)


def test_steady_state_batch_of_continuous_batching():
    # decode only (5.3), τ(D) = 0.02 + 0.0002·D, G = 101 (100 decode steps after the first token).
    # Little: D = λ · 100 · (0.02 + 0.0002·D) ⇒ D = 2λ / (1 − 0.02λ); at λ = 10 req/s: D = 20 / 0.8 = 25,
    # τ = 0.02 + 0.005 = 0.025 s.
    wl = ServingWorkload(LengthDist.fixed(1000), LengthDist.fixed(101))
    st = decode_state(LinearCost(), wl, max_batch=400)
    at = st.at_rate(10.0)
    assert at["decode_batch"] == pytest.approx(25.0, rel=2e-3)
    assert at["tpot_s"] == pytest.approx(0.025, rel=2e-3)
    # with chunked prefill (4.3): P = 1000 in chunks of 250 (n = 4), τ_mix = 0.02 + 0.0002·D + 0.025.
    # At D = 10: τ_d = 0.022, τ_mix = 0.047, E[S] = 4 · 0.047 = 0.188,
    # λ = (10/0.022) / (100 − 10·4 + 10·0.188/0.022) = 454.545 / 145.4545 = 3.125 req/s
    lam = arrival_rate_rps(10.0, 0.022, 4.0, 0.188, 100.0)
    assert lam == pytest.approx(3.125, rel=1e-12)
    # (4.4) iterations per second: 3.125·4 + (1 − 3.125·0.188)/0.022 = 12.5 + 18.75 = 31.25 → τ̄ = 0.032 s,
    # and Little again: D = λ · 100 · τ̄ = 3.125 · 3.2 = 10
    assert mean_tpot_s(3.125, 0.022, 4.0, 0.188) == pytest.approx(0.032, rel=1e-12)
    st = aggregated_state(LinearCost(), wl, chunk_tokens=250, max_batch=400)
    at = st.at_rate(3.125)
    assert at["decode_batch"] == pytest.approx(10.0, rel=5e-3)
    assert at["prefill_busy"] == pytest.approx(3.125 * 0.188, rel=5e-3)      # ρ = 0.5875


def test_queueing_term():
    # M/M/1 as a check of (3.1)/(3.2): S exponential, mean 0.1 s (E[S²] = 2·0.1² = 0.02), λ = 5/s, ρ = 0.5:
    # E[W] = 5 · 0.02 / (2 · 0.5) = 0.1 s = ρ/(μ − λ) = 0.5/5; p90: (0.1/0.5)·ln(0.5/0.1) = 0.2·ln 5
    # = 0.3218876 s = ln(5)/5, the exact M/M/1 quantile (P(W > t) = ρ e^(−(μ−λ)t)).
    assert pk_mean_wait_s(5.0, 0.1, 0.02) == pytest.approx(0.1, rel=1e-12)
    assert wait_quantile_s(5.0, 0.1, 0.02, 0.9) == pytest.approx(math.log(5) / 5, rel=1e-12)
    # deterministic prefill of 0.188 s at λ = 3.125/s (the chunked example above): ρ = 0.5875,
    # E[W] = 3.125 · 0.188² / (2 · 0.4125) = 0.11045 / 0.825 = 0.1338788 s,
    # p90 = 0.1338788 / 0.5875 · ln(0.5875 / 0.1) = 0.2278788 · 1.7707061 = 0.4035064 s
    assert pk_mean_wait_s(3.125, 0.188, 0.188 ** 2) == pytest.approx(0.11045 / 0.825, rel=1e-12)
    assert wait_quantile_s(3.125, 0.188, 0.188 ** 2, 0.9) == pytest.approx(0.4035064, rel=1e-6)
    assert wait_quantile_s(0.25, 0.188, 0.188 ** 2, 0.9) == 0.0          # ρ = 0.047 < 0.1: p90 does not wait
    assert pk_mean_wait_s(6.0, 0.188, 0.04) == math.inf                 # ρ = 1.128 ≥ 1


def test_workload_config():
    wl = workload_from_config({"prompt": {"values": [512, 2048], "weights": [3, 1]}, "rate": 2,
                               "slo": {"ttft": 1, "tpot": 0.05}}, (1024, 128))
    assert wl.prompt.mean() == pytest.approx((3 * 512 + 2048) / 4)
    assert wl.output.values == (128,) and wl.rate_rps == 2.0 and wl.slo_tpot_s == 0.05
    assert wl.decode_context() == pytest.approx(896 + 64)              # E[P] + G/2
    g = length_dist({"mean": 2000, "spread": 0.5}, "x")
    assert g.mean() == pytest.approx(2000, rel=0.05) and len(g.values) == 6
    with pytest.raises(ValueError):
        workload_from_config({"rate": 1, "concurrency": 4}, (1, 2))


def test_discrete_event_simulation_agrees_on_one_point():
    """The DES (llmhw.serving.simulate) against the analytical model at λ = 3.125 req/s, ρ ≈ 0.59 (the
    hand-computed point above): the analytical numbers are 10 running requests, τ̄ = 32 ms, 312.5 tokens/s."""
    from llmhw.serving.simulate import simulate_aggregated
    wl = ServingWorkload(LengthDist.fixed(1000), LengthDist.fixed(101))
    at = aggregated_state(LinearCost(), wl, chunk_tokens=250, max_batch=400).at_rate(3.125)
    m = simulate_aggregated(LinearCost(), wl, 250, 400, 3.125, requests=1500, seed=3)
    assert m.tpot_s == pytest.approx(at["tpot_s"], rel=0.08)
    assert m.ttft_mean_s == pytest.approx(at["ttft_mean_s"], rel=0.2)
    assert m.throughput_tok_per_s == pytest.approx(3.125 * 101, rel=0.1)


def test_fixed_concurrency_keeps_n_requests_in_flight():
    """Closed loop: the load reported for concurrency N satisfies Little's law N = λ (TTFT + (G − 1)·τ̄)."""
    from dataclasses import replace

    from llmhw.serving.deployment import Pool, serve_aggregated
    sys_ = project_system("h100", "llama3-70B", "h100", compat="corrected", index=0)
    wl = ServingWorkload(LengthDist.fixed(1000), LengthDist.fixed(101), concurrency=32.0)
    r = serve_aggregated(Pool.build("aggregated", sys_, 8, 1, 1, CORRECTED), wl, 512)
    assert r.load_rps * (r.ttft_mean_s + 100 * r.tpot_s) == pytest.approx(32.0, rel=1e-3)
    assert r.load_rps < r.max_rate_rps
    fewer = serve_aggregated(Pool.build("aggregated", sys_, 8, 1, 1, CORRECTED), replace(wl, concurrency=8.0), 512)
    assert fewer.load_rps < r.load_rps and fewer.tpot_s < r.tpot_s
