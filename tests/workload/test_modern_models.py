"""docs/models.md §M1–§M6: shipped modern models against their published figures, and the MoE / MLA /
KV equations against hand counts written out here (never taken from the code under test)."""
from __future__ import annotations

import json
import math

import pytest

from llmhw import paths
from llmhw.cli import main
from llmhw.config import load_model
from llmhw.perf import moe
from llmhw.workload import kv, mla, params
from llmhw.workload.model import Model


def model(name: str) -> Model:
    return Model.from_dict(load_model(name, model_dir=paths.MODEL_DIR, strict_heads=False))


# (name, published total, published active or None): model cards / technical reports
PUBLISHED = [
    ("llama3.1-8B", 8.03e9, None),
    ("llama3.1-70B", 70.6e9, None),
    ("llama3.1-405B", 405e9, None),
    ("mixtral-8x7B", 46.7e9, 12.9e9),
    ("qwen3-235B-A22B", 235e9, 22e9),
    ("deepseek-v3", 671e9, 37e9),        # without the MTP module
    ("gpt-oss-120b", 117e9, 5.1e9),
]


@pytest.mark.parametrize("name, total, active", PUBLISHED)
def test_model_info_matches_published_counts(name, total, active, capsys):
    assert main(["--model-info", name, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert abs(info["total_params"] / total - 1) <= 0.015
    if active is not None:
        assert abs(info["active_params"] / active - 1) <= 0.05
    else:  # a dense model: every weight but the input embedding is active
        m = model(name)
        assert info["active_params"] == info["total_params"] - m.vocab_size * m.d


def test_llama31_8b_total_is_the_exact_matmul_count():
    # 32 layers × (q 4096² + k,v 2·4096·1024 + o 4096² + FFN 3·4096·14336) + 2 × 128256·4096
    layer = 4096 * 4096 * 2 + 2 * 4096 * 1024 + 3 * 4096 * 14336
    assert params.weight_params(model("llama3.1-8B")) == 32 * layer + 2 * 128256 * 4096  # 8,030,261,248 − norms


def test_deepseek_v3_counts_by_hand():
    d, H = 7168, 128
    attn = (d * 1536 + 1536 * H * (128 + 64)        # W_DQ, W_UQ (+ W_QR)
            + d * (512 + 64)                          # W_DKV + W_KR
            + 512 * H * (128 + 128)                   # W_UK + W_UV
            + H * 128 * d)                            # W_O
    assert attn == 187_105_280
    expert = 3 * d * 2048                             # gated expert: gate, up, down
    dense = 3 * d * 18432
    router = d * 256
    emb = 129280 * d
    total = 3 * (attn + dense) + 58 * (attn + 257 * expert + router) + 2 * emb
    active = 3 * (attn + dense) + 58 * (attn + 9 * expert + router) + emb
    m = model("deepseek-v3")
    assert params.weight_params(m) == total == 671_025_397_760    # 1.750 + 667.422 + 1.853 B
    assert params.active_params(m) == active
    # eq. M7.3: one decoded token at context 1000 = 2 × active + 61 layers × absorbed attention
    # (2·128·576·1000 + 2·128·512·1000 = 278,528,000 per layer)
    assert m.generate_flops(1000) == 2 * active + 61 * 278_528_000
    # prefill of 100 tokens, expanded attention over 100 keys: (2·128·192 + 2·128·128)·100 per query and layer
    assert m.prefill_flops(100) == 100 * (2 * active + 61 * (2 * 128 * 192 + 2 * 128 * 128) * 100)


@pytest.mark.parametrize("name, hand", [
    ("llama3.1-70B", 80 * 2 * 8 * 128 * 2),          # 327,680: layers × (K,V) × KV heads × head_dim × bytes
    ("llama3.1-8B", 32 * 2 * 8 * 128 * 2),           # 131,072
    ("llama3.1-405B", 126 * 2 * 8 * 128 * 2),        # 516,096
    ("mixtral-8x7B", 32 * 2 * 8 * 128 * 2),          # 131,072
    ("qwen3-235B-A22B", 94 * 2 * 4 * 128 * 2),       # 192,512
    ("deepseek-v3", 61 * (512 + 64) * 2),            # 70,272: MLA latent + RoPE key
    ("gpt-oss-120b", 36 * 2 * 8 * 64 * 2),           # 73,728 (before the window caps half the layers)
])
def test_kv_cache_bytes_per_token_hand_count(name, hand, capsys):
    assert main(["--model-info", name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kv_cache_bytes_per_token"] == hand


def test_sliding_window_caps_the_cache():
    m = model("gpt-oss-120b")
    per_layer = 2 * 8 * 64                           # numbers per token and layer
    # 18 full layers hold all 4096 tokens, 18 windowed layers the last 128
    assert kv.kv_numbers_per_sequence(m, 4096) == 18 * per_layer * 4096 + 18 * per_layer * 128
    assert kv.kv_numbers_per_sequence(m, 100) == 36 * per_layer * 100          # inside the window
    assert kv.kv_bytes_per_token_long_context(m) == 18 * per_layer * 2
    assert kv.attended_context(m, 1000) == (18 * 1000 + 18 * 128) / 36


def test_moe_decode_weight_bytes_batch_1_and_large():
    expert = 3 * 7168 * 2048                          # DeepSeek-V3 expert, 44,040,192 weights
    # B = 1: exactly k = 8 distinct experts
    assert moe.routed_weight_bytes(256, 8, 1, expert, 16) == pytest.approx(8 * expert * 2, rel=1e-12)
    # B = 32: (31/32)^32 = e^(32·ln(31/32)) = e^(−1.01596) = 0.36206, so 256 × 0.63794 = 163.3 experts
    frac = 1 - (31 / 32) ** 32
    assert frac == pytest.approx(0.63794, abs=1e-5)
    assert moe.routed_weight_bytes(256, 8, 32, expert, 16) == pytest.approx(256 * 0.63794 * expert * 2, rel=2e-5)
    # B = 1024: (31/32)^1024 = e^(−32.5) ≈ 8e-15: every expert is read, 256 × 88,080,384 B = 22.5 GB
    assert moe.routed_weight_bytes(256, 8, 1024, expert, 16) == pytest.approx(22_548_578_304, rel=1e-12)
    # Mixtral, B = 2: 8·(1 − (6/8)²) = 3.5 experts of 3·4096·14336 weights at 16 bits
    assert moe.routed_weight_bytes(8, 2, 2, 3 * 4096 * 14336, 16) == pytest.approx(1_233_125_376, rel=1e-12)
    # 8-bit weights halve it
    assert moe.routed_weight_bytes(8, 2, 2, 3 * 4096 * 14336, 8) == pytest.approx(616_562_688, rel=1e-12)


def test_moe_arrays_match_numbers():
    import numpy as np
    B = np.array([1, 2, 1024])
    got = moe.distinct_experts(8, 2, B)
    assert got.tolist() == pytest.approx([2.0, 3.5, 8.0])
    assert moe.imbalance(1.3, np.array([1, 8])).tolist() == [1.0, 1.3]


def test_alltoall_volume_and_time():
    # DeepSeek-V3, 256 tokens, top-8, d 7168, 16-bit activations, EP 8:
    # per chip 256/8 tokens × 8 copies × 7168 × 2 B × 7/8 leaving the rank = 3,211,264 B
    n = moe.alltoall_bytes_per_chip(256, 8, 7168, 16, 8)
    assert n == 32 * 8 * 14336 * 7 / 8 == 3_211_264
    # 7 start-ups of 2 µs + 3,211,264 B at 50 GB/s = 14 µs + 64.22528 µs
    assert moe.alltoall_s(8, n, 2e-6, 1 / 50e9) == pytest.approx(78.22528e-6, rel=1e-12)
    assert moe.alltoall_bytes_per_chip(256, 8, 7168, 16, 1) == 0
    assert moe.alltoall_s(1, 0.0, 2e-6, 1 / 50e9) == 0


def test_mla_kv_cache_and_decode_flops():
    # KV: (512 + 64) numbers per token and layer, 2 bytes at 16 bits, 1 byte at 8
    assert mla.cache_bytes_per_token(512, 64, 16) == 1152
    assert mla.cache_bytes_per_token(512, 64, 8) == 576
    assert model("deepseek-v3").kv_numbers_per_token == 61 * 576
    # decode FLOPs of one layer and token at context 1000, absorbed:
    proj = 2 * (7168 * 1536 + 1536 * 128 * 192 + 7168 * 576 + 512 * 128 * 256 + 128 * 128 * 7168)
    assert proj == 374_210_560
    attn = 2 * 128 * (512 + 64) * 1000 + 2 * 128 * 512 * 1000      # scores over r+ρ, values over r
    assert attn == 278_528_000
    assert mla.decode_flops_per_token(7168, 128, 1536, 512, 64, 128, 128, 1000) == 652_738_560
    # expanded attention over n + ρ keys and v values instead: 2·128·192·1000 + 2·128·128·1000
    assert mla.attention_flops_expanded(128, 64, 128, 128, 1000) == 81_920_000
    # the absorbed decode step reads the cache once for all heads: 1000 × 1152 B
    assert mla.decode_cache_read_bytes(512, 64, 1000, 16) == 1_152_000


def test_legacy_models_unchanged():
    # §17.3 gpt3: model_size 173,946,175,488 with no §M1 key
    m = Model.from_dict({"name": "gpt3", "num_layers": 96, "d": 12288, "num_heads": 96})
    assert m.params == 173946175488 and not m.is_moe and not m.is_mla and m.windowed_layers == 0
    assert params.active_params(m) == m.params


def test_model_info_text(capsys):
    assert main(["--model-info", "mixtral-8x7B"]) == 0
    out = capsys.readouterr().out
    assert "46.703 B" in out and "12.749 B" in out and "131,072 bytes" in out


def test_model_info_unknown_name_is_one_line(capsys):
    assert main(["--model-info", "no-such-model"]) == 2
    err = capsys.readouterr().err
    assert "unknown model" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("bad, key", [
    ({"num_experts": 8, "experts_per_token": 9}, "experts_per_token"),
    ({"experts_per_token": 2}, "experts_per_token"),
    ({"kv_lora_rank": 512}, "qk_rope_head_dim"),
    ({"full_attention_every": 2}, "full_attention_every"),
])
def test_inconsistent_modern_keys_are_one_line_errors(bad, key):
    from llmhw.config.validate import validate_model
    from llmhw.errors import ConfigError
    raw = {"Model": {"name": "x", "num_layers": 2, "d": 64, "num_heads": 4, **bad}}
    with pytest.raises(ConfigError, match=key):
        validate_model(raw, "x.yaml")
