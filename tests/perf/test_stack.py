"""The software-stack terms of docs/validation.md §V, checked against hand calculations."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.perf.efficiency import attention_efficiency, causal_score_fraction, gemm_efficiency, kv_stream_efficiency
from llmhw.perf.geometry import stage_geometry
from llmhw.perf.latency import micro_batch_latency
from llmhw.perf.overheads import elementwise_bytes_per_token, layer_time_s
from llmhw.perf.point import evaluate_point
from llmhw.workload.mapping import MappingPoint
from llmhw.workload.stack import NO_STACK, PRESETS, Stack

from tests.perf.support import project_system


def test_gemm_efficiency_halves_at_the_half_constants():
    assert gemm_efficiency(4096 * 4096, 4096, 0.8, 0, 0) == 0.8                  # defaults: the peak unchanged
    assert gemm_efficiency(1e6, 4096, 0.8, 1e6, 0) == pytest.approx(0.4)         # MN = MN½
    assert gemm_efficiency(1e6, 600, 0.8, 0, 600) == pytest.approx(0.4)          # K = K½
    # 0.8 · 3e6/(3e6 + 1e6) · 1800/(1800 + 600) = 0.8 · 0.75 · 0.75 = 0.45
    assert gemm_efficiency(3e6, 1800, 0.8, 1e6, 600) == pytest.approx(0.45)
    arr = gemm_efficiency(np.array([1e6, 3e6]), np.array([600, 1800]), 0.8, 1e6, 600)
    assert arr == pytest.approx([0.2, 0.45])


def test_attention_efficiency_and_causal_fraction():
    assert attention_efficiency(512, 0.3, 512) == pytest.approx(0.15)
    assert kv_stream_efficiency(1800, 0.8, 600) == pytest.approx(0.6)      # 0.8 · 1800 / 2400
    assert kv_stream_efficiency(1800, 0.8, 0) == 0.8
    assert attention_efficiency(512, 0.3, 0) == 0.3
    assert causal_score_fraction(4) == 10 / 16            # 1 + 2 + 3 + 4 of 4·4 query-key pairs


def test_elementwise_bytes_of_the_measured_decoder():
    # llama3-8B on one chip: 2·36·4096 + 2·6·4096 + 12·14336 + 4·2·1024 + 4·4096
    #                      = 294912 + 49152 + 172032 + 8192 + 16384 = 540672 bytes per token per layer
    assert elementwise_bytes_per_token(4096, 14336, 1024, 4096, 36, 12, 6, 4, 4) == 540672


def test_layer_time_graph_and_eager():
    assert layer_time_s(100e-6, 28, 2e-6, 7e-6, False) == pytest.approx(156e-6)     # 100 + 28·2
    assert layer_time_s(100e-6, 28, 2e-6, 7e-6, True) == pytest.approx(196e-6)      # host 28·7 > device 156
    assert layer_time_s(300e-6, 28, 2e-6, 7e-6, True) == pytest.approx(356e-6)      # device-bound
    arr = layer_time_s(np.array([100e-6, 300e-6]), 28, 2e-6, 7e-6, True)
    assert arr == pytest.approx([196e-6, 356e-6])


def _h200(**overrides):
    return project_system("h200", "llama3-8B-decoder", "h200", compat="corrected", **overrides)


def test_decode_step_at_an_exact_context_by_hand():
    """One decode step, batch 1, 1023 cached tokens (1024 read), no stack terms, weights at peak bandwidth.

    Per layer the GEMVs load 2·(4096·6144 + 4096·4096 + 2·4096·14336 + 14336·4096) = 436207616 bytes and
    QKᵀ and S·V each load 1024 positions · 4096 · 2 bytes / G_kv 4 = 2097152 bytes: 440401920 bytes.
    HBM: 6 stacks · 8 channels · 128 pins · 6.25e9 b/s / 8 = 4.8e12 B/s. 32 layers, p = 1: no stage transfer.
    """
    s = _h200(stack={}, weight_bandwidth_efficiency=1.0)
    assert s.mem_bw_bytes_per_s == 4.8e12
    mbl = micro_batch_latency(s, stage_geometry(s, 1, 1, CORRECTED), False, 1, CORRECTED, decode_context=1023)
    assert mbl.stage2stage_s == 0
    assert mbl.total_s == pytest.approx(32 * 440401920 / 4.8e12, rel=1e-12)


def test_causal_prefill_halves_the_score_work():
    s = _h200(stack={}, weight_bandwidth_efficiency=1.0, eval_len=[2048, 1])
    full = micro_batch_latency(s, stage_geometry(s, 1, 1, CORRECTED), True, 1,
                               replace(CORRECTED, causal_prefill_attention=False))
    half = micro_batch_latency(s, stage_geometry(s, 1, 1, CORRECTED), True, 1, CORRECTED)
    qk_full, qk_half = full.operators[1].t_comp_s, half.operators[1].t_comp_s
    assert qk_half == pytest.approx(qk_full * 2049 / 4096)      # (n + 1) / 2n


def test_default_stack_leaves_corrected_numbers_unchanged():
    plain = project_system("hw_example", "gpt3", "sys_default", compat="corrected")
    with_empty = project_system("hw_example", "gpt3", "sys_default", compat="corrected", stack={"preset": "none"})
    m = MappingPoint(plain.num_chips, 1, 8, 8)
    assert evaluate_point(plain, m, 8) == evaluate_point(with_empty, m, 8)


def test_stack_is_ignored_in_reference_mode():
    plain = project_system("hw_example", "gpt3", "sys_default")
    stacked = project_system("hw_example", "gpt3", "sys_default", stack={"preset": "gpu_pytorch"})
    m = MappingPoint(plain.num_chips, 1, 8, 8)
    a, b = evaluate_point(plain, m, 8, fidelity=REFERENCE), evaluate_point(stacked, m, 8, fidelity=REFERENCE)
    assert a.prefill_latency_s == b.prefill_latency_s and a.decode_latency_s == b.decode_latency_s


def test_stack_terms_slow_a_decode_step_by_their_own_amounts():
    """Kernel costs add kernels · overhead per layer in a graph; KV efficiency scales only the KV loads."""
    base = _h200(stack={}, weight_bandwidth_efficiency=1.0)
    kern = _h200(stack={"kernels_per_layer": 28, "kernel_overhead_s": 2e-6}, weight_bandwidth_efficiency=1.0)
    t0 = micro_batch_latency(base, stage_geometry(base, 1, 1, CORRECTED), False, 1, CORRECTED,
                             decode_context=1023).total_s
    t1 = micro_batch_latency(kern, stage_geometry(kern, 1, 1, CORRECTED), False, 1, CORRECTED,
                             decode_context=1023).total_s
    assert t1 - t0 == pytest.approx(32 * 28 * 2e-6)
    kv = _h200(stack={"kv_bandwidth_efficiency": 0.5}, weight_bandwidth_efficiency=1.0)
    t2 = micro_batch_latency(kv, stage_geometry(kv, 1, 1, CORRECTED), False, 1, CORRECTED,
                             decode_context=1023).total_s
    assert t2 - t0 == pytest.approx(32 * 2 * 2097152 / 4.8e12)        # the KV loads take twice as long
    # with a per-sequence cost of 1024 positions the 1024-position stream runs at half of 0.5: four times as long
    kvh = _h200(stack={"kv_bandwidth_efficiency": 0.5, "kv_context_half": 1024}, weight_bandwidth_efficiency=1.0)
    t3 = micro_batch_latency(kvh, stage_geometry(kvh, 1, 1, CORRECTED), False, 1, CORRECTED, decode_context=1023).total_s
    assert t3 - t0 == pytest.approx(32 * 3 * 2 * 2097152 / 4.8e12)


def test_presets_exist_for_every_schema_choice():
    from llmhw.config.schema import STACK_PRESETS
    assert set(STACK_PRESETS) == set(PRESETS)
    assert PRESETS["none"] == NO_STACK
    assert Stack.from_dict({"preset": "asic", "kernels_per_layer": 3}).kernels_per_layer == 3


def test_chunk_score_fraction_by_hand():
    from llmhw.perf.efficiency import causal_score_fraction, chunk_score_fraction
    # a chunk of 512 tokens ending at context 768 attends 257..768 keys: mean 512.5 of 768 → 1 − 511/1536
    assert chunk_score_fraction(512, 768) == pytest.approx(512.5 / 768, rel=1e-15)
    # the whole prompt as one chunk: (n + 1)/(2n)
    assert chunk_score_fraction(2048, 2048) == pytest.approx(causal_score_fraction(2048), rel=1e-15)
