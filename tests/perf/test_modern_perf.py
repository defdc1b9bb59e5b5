"""docs/models.md §M4–§M7 in the performance model: precision, MoE, expert parallelism, MLA, sliding windows.

Golden numbers are hand counts written out here; the grid driver must equal the single-point driver on
every new feature."""
from __future__ import annotations

import math

import numpy as np
import pytest

from llmhw import paths
from llmhw.config import load_constants, load_hardware, load_model
from llmhw.evaluate import DesignPoint, Problem
from llmhw.fidelity import CORRECTED
from llmhw.hardware.constants import load_constants_dict
from llmhw.perf.grid import evaluate_grid
from llmhw.perf.point import evaluate_point
from llmhw.workload.mapping import MappingPoint
from llmhw.workload.model import Model
from llmhw.workload.system import build_system

H100 = "inputs/hardware/config/h100.yaml"


@pytest.fixture(scope="module")
def h100():
    hw = load_hardware(H100)
    k = load_constants("inputs/hardware/constant/7nm_default.yaml")
    prob = Problem(hw, None, load_model("llama3.1-8B", model_dir=paths.MODEL_DIR), k, CORRECTED)
    return prob.server(hw.chips[0], hw.packages[0], hw.servers[0]), load_constants_dict(k)


def system(h100, model: str, **cfg):
    server, k = h100
    m = Model.from_dict(load_model(model, model_dir=paths.MODEL_DIR, strict_heads=False))
    base = {"num_servers": 1, "eval_len": [1024, 256], "max_batch": 64, "weight_bandwidth_efficiency": 0.9,
            "compute_perf_efficiency": 0.75}
    base.update(cfg)
    return build_system(server, base, m, k)


def test_8bit_weights_halve_the_weight_loads_of_a_memory_bound_decode_step(h100):
    # llama3.1-8B, one H100 per stage (p = 8 stages on one 8-GPU server, t = 1), decode micro-batch 1:
    # every weight matmul is memory-bound (fc1: 2·4096·14336·2 FLOPs / 742 TFLOP/s = 0.3 µs ≪ its 78 µs load).
    # Weight elements per layer: QKV 4096·(4096 + 2·1024) + out 4096·4096 + FC1 2·4096·14336 + FC2 14336·4096
    #   = 25,165,824 + 16,777,216 + 117,440,512 + 58,720,256 = 218,103,808
    # LM head 4096·128256 counted 1/32 per layer: 16,416,768. 8 bits save 1 byte on each of the
    # 234,520,576 elements; the KV loads (16 bits in both) are unchanged.
    s16, s8 = system(h100, "llama3.1-8B", weight_bits=16), system(h100, "llama3.1-8B", weight_bits=8)
    m = MappingPoint(1, 8, 1, 1)
    g16 = evaluate_point(s16, m, 1, fidelity=CORRECTED).decode_micro_batch_latency
    g8 = evaluate_point(s8, m, 1, fidelity=CORRECTED).decode_micro_batch_latency
    w_bw = 3.35e12 * 0.9            # 5 HBM3 stacks × 670 GB/s × weight_bandwidth_efficiency
    assert s8.w_bw_bytes_per_s == pytest.approx(w_bw, rel=1e-12)
    assert g16.layer_compute_s - g8.layer_compute_s == pytest.approx(234_520_576 / w_bw, rel=1e-9)
    # memory: the weights take half the bytes (8,030,261,248 published − 266,240 norm weights)
    assert s16.model_bytes == 2 * s8.model_bytes == 2 * 8_029_995_008


def test_8bit_activations_double_the_compute_rate_of_a_compute_bound_prefill(h100):
    # prefill of 1024 tokens × 8 sequences at t = 1: FC1 is compute-bound; W8A8 runs at the FP8 rate (2×)
    s16 = system(h100, "llama3.1-8B", weight_bits=16, act_bits=16)
    s8 = system(h100, "llama3.1-8B", weight_bits=8, act_bits=8)
    m = MappingPoint(1, 8, 8, 8)
    fc1 = lambda s: evaluate_point(s, m, 8, fidelity=CORRECTED).prefill_micro_batch_latency.operators[4]
    flops = 2 * 8192 * 4096 * 14336 * 2                     # 2 stacks × R·d·F × 2
    assert fc1(s16).t_comp_s == pytest.approx(flops / (989e12 * 0.75), rel=1e-12)
    assert fc1(s8).t_comp_s == pytest.approx(flops / (2 * 989e12 * 0.75), rel=1e-12)


def _ffn_op(s, name, t, e, mu, prefill=False):
    from llmhw.perf.matmul import matmul_time
    from llmhw.perf.modern import ffn_operators
    op = next(o for o in ffn_operators(s, t, e, prefill, mu, 1) if o.name == name)
    return op, matmul_time(op, s.server.package.chip, s.compute_perf_efficiency, s.w_bw_bytes_per_s)


def test_moe_decode_reads_the_touched_experts(h100):
    # mixtral-8x7B (all 32 layers MoE), decode micro-batch of 2 tokens at t = 1:
    # 8·(1 − (6/8)²) = 3.5 distinct experts, FC1 = 2 stacks of 4096 × 14336 at 2 bytes
    s = system(h100, "mixtral-8x7B", num_servers=2)
    op, mt = _ffn_op(s, "expert_fc1", 1, 1, 2)
    assert op.stacks == pytest.approx(2 * 3.5) and op.I == pytest.approx(2 * 2 / 3.5)   # 4 token-expert rows
    assert mt.t_load_s == pytest.approx(3.5 * 2 * 4096 * 14336 * 2 / (3.35e12 * 0.9), rel=1e-12)
    # batch 64: 8·(1 − 0.75^64) = 8 − 8·1.0e-8 experts: every expert is read
    op, mt = _ffn_op(s, "expert_fc1", 1, 1, 64)
    assert mt.t_load_s == pytest.approx(8 * 2 * 4096 * 14336 * 2 / (3.35e12 * 0.9), rel=1e-7)
    # expert parallelism e = 8 over t = 8: one whole expert per chip, the busiest holding f = 1.5× the mean
    s = system(h100, "mixtral-8x7B", num_servers=2, moe_imbalance=1.5)
    op, mt = _ffn_op(s, "expert_fc1", 8, 8, 64)
    assert op.K == 14336 and op.stacks == pytest.approx(2 * 8 / 8 * 1.5, rel=1e-7)


def test_moe_layer_pays_dispatch_and_combine(h100):
    from llmhw.perf.geometry import stage_geometry
    from llmhw.perf.modern import moe_comm_s
    # mixtral, t = 8 GPUs of one server (NVLink: 18 × 50 GB/s at io efficiency 0.8 → β = 1/(720e9)),
    # decode micro-batch of 64 tokens, e = 8: no all-reduce inside a 1-chip group, two all-to-alls of
    # (64/8)·2·4096·2 B·(7/8) = 114,688 B each: 2 × (7 × 8.92 µs + 114,688 / 720e9)
    s = system(h100, "mixtral-8x7B", num_servers=1, io_bandwidth_efficiency=0.8)
    g = stage_geometry(s, 8, 1, CORRECTED, 8)
    assert g.ar_alpha_s == 8.92e-6 and g.ar_beta_s_per_byte == pytest.approx(1 / 720e9, rel=1e-12)
    got = moe_comm_s(s, g, False, 64, comm_fc=123.0)
    assert got == pytest.approx(2 * (7 * 8.92e-6 + 114_688 / 720e9), rel=1e-12)
    # e = 1: the §13.4 FFN all-reduce itself
    assert moe_comm_s(s, stage_geometry(s, 8, 1, CORRECTED, 1), False, 64, comm_fc=123.0) == pytest.approx(
        allreduce_ring(8, 64 * 4096 * 2, 8.92e-6, 1 / 720e9), rel=1e-12)


def allreduce_ring(p, n, a, b):
    """§13.5 ring: 2(p − 1)·(α + β·n/p)."""
    return 2 * (p - 1) * (a + b * n / p)


def test_grid_equals_point_on_modern_models(h100):
    for model, cfg in (("mixtral-8x7B", {"num_servers": 2, "weight_bits": 8}),
                       ("gpt-oss-120b", {"num_servers": 1, "kv_bits": 8}),
                       ("deepseek-v3", {"num_servers": 4, "weight_bits": 4, "act_bits": 8})):
        s = system(h100, model, **cfg)
        grid = evaluate_grid(s, CORRECTED)
        assert grid is not None and len(grid) > 0
        assert {grid.mapping(i).e for i in range(len(grid))} != {1} or not s.model.is_moe
        for i in np.linspace(0, len(grid) - 1, 25).astype(int):
            m = grid.mapping(int(i))
            r = evaluate_point(s, m, int(grid.batch[i]), fidelity=CORRECTED)
            assert r.tpot_s == pytest.approx(float(grid.tpot_s[i]), rel=1e-12)
            assert r.prefill_latency_s == pytest.approx(float(grid.prefill_latency_s[i]), rel=1e-12)
            assert r.decode_tco_per_token_usd == pytest.approx(float(grid.decode_tco_per_token_usd[i]), rel=1e-12)
