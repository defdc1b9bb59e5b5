"""model.md §10 (parameters, bytes, KV, FLOPs) and the §13.4 attention-pattern option; golden numbers from the spec."""
from __future__ import annotations

import pytest

from llmhw.workload.model import Model

GPT3 = {"name": "gpt3", "num_layers": 96, "d": 12288, "num_heads": 96}
LLAMA3_70B = {"name": "llama3-70B", "num_layers": 80, "d": 8192, "d_ff": 28672, "num_heads": 64,
              "heads_per_kv_cache": 8, "act": "swiglu"}


def test_gpt3_checkpoint_17_3():
    m = Model.from_dict(GPT3)
    assert m.params == 173946175488
    assert m.model_bytes == 347892350976
    assert m.kv_bytes_per_token == 4718592
    assert (m.d_head, m.d_ff, m.act, m.heads_per_kv_cache, m.bytes_per_number) == (128, 4 * 12288, "gelu", 1, 2)


def test_from_file_mapping_with_model_key():
    assert Model.from_dict({"Model": GPT3}) == Model.from_dict(GPT3)


def test_gqa_and_glu_counts():
    m = Model.from_dict(LLAMA3_70B)
    d, H, dh, dff = 8192, 64, 128, 28672
    atten = H * d * dh * 2 + 2 * H * d * dh / 8
    assert m.gated and m.glu_params == d * dff
    assert m.params == 80 * (atten + 2 * d * dff + d * dff)
    assert m.kv_numbers_per_token == 80 * 2 * H * dh / 8
    # §10: the FFN in the FLOP formulas excludes the GLU matrix unless fixed (§16.2 #5)
    n = 64
    ref = 80 * (atten * n * 2 + 2 * d * dff * n * 2) + 80 * 2 * H * dh * n * n * 2
    assert m.prefill_flops(n) == ref
    assert m.prefill_flops(n, glu_in_flops=True) - ref == pytest.approx(80 * d * dff * n * 2, rel=1e-12)
    assert m.generate_flops(100.5, glu_in_flops=True) > m.generate_flops(100.5)


def test_flops_formulas_gpt3():
    m = Model.from_dict(GPT3)
    atten, ffn = 4 * 12288 ** 2, 8 * 12288 ** 2
    assert m.prefill_flops(256) == 96 * (atten * 256 * 2 + ffn * 256 * 2) + 96 * 2 * 12288 * 256 * 256 * 2
    assert m.generate_flops(288) == 96 * (atten * 2 + ffn * 2) + 96 * 2 * 12288 * 288 * 2


@pytest.mark.parametrize("d, expected", [(18432, "parallel_block"), (8192, "allreduce_plus_2a2a"),
                                         (12288, "allreduce"), (16384, "allreduce")])
def test_auto_attention_pattern_is_keyed_on_d(d, expected):
    m = Model.from_dict({"name": "x", "num_layers": 2, "d": d, "num_heads": 64})
    assert m.resolved_attn_comm_pattern == expected


def test_explicit_attention_pattern_overrides_auto():
    m = Model.from_dict({**GPT3, "attn_comm_pattern": "parallel_block"})
    assert m.resolved_attn_comm_pattern == "parallel_block"
    with pytest.raises(ValueError):
        Model.from_dict({**GPT3, "attn_comm_pattern": "bogus"})
