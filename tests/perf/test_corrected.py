"""One test per corrected behaviour (model.md §16.2 items 1, 3, 4, 5, 8): which number changes and by how much.

Each test switches on exactly one fix (the other flags stay at the reference) to isolate its effect, and
checks that the full ``corrected`` mode includes it.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.perf.latency import MicroBatchLatency
from llmhw.perf.matmul import MatmulTime
from llmhw.perf.point import evaluate_point
from llmhw.workload.mapping import default_mapping_point

from tests.perf.support import project_system


def _run(system, fidelity, batch=8):
    return evaluate_point(system, default_mapping_point(system, batch), batch, fidelity=fidelity)


@pytest.fixture(scope="module")
def gpt3():
    return project_system()


@pytest.fixture(scope="module")
def llama():
    return project_system(model="llama3-70B")


def test_16_2_1_tco_per_token_counts_the_batch_once(gpt3):
    ref = _run(gpt3, REFERENCE)
    fix = _run(gpt3, replace(REFERENCE, tco_per_token_fix=True))
    assert ref.tco_per_mtoken_usd == 0.13931818044275437                      # §17.3, batch 8
    assert fix.tco_per_mtoken_usd == pytest.approx(1.11454544, rel=1e-8)      # §16.2.1: × B = 8
    assert fix.tco_per_mtoken_usd == pytest.approx(8 * ref.tco_per_mtoken_usd, rel=1e-14)
    assert fix.prefill_tco_per_token_usd == pytest.approx(8 * ref.prefill_tco_per_token_usd, rel=1e-14)
    assert fix.prefill_latency_s == ref.prefill_latency_s and fix.tco == ref.tco
    assert CORRECTED.tco_per_token_fix


def test_16_2_3_gqa_in_shapes_lowers_llama3_decode_latency(llama):
    ref = _run(llama, REFERENCE)
    fix = _run(llama, replace(REFERENCE, gqa_in_perf_shapes=True))
    r_ops, f_ops = ref.decode_micro_batch_latency.operators, fix.decode_micro_batch_latency.operators
    # QKV columns ceil((8192 + 2·8192/8)/64) = 160 instead of ceil(3·8192/64) = 384
    assert f_ops[0].t_load_s == pytest.approx(r_ops[0].t_load_s * 160 / 384, rel=1e-14)
    # K/V loads of QKᵀ and S·V divided by G_kv = 8
    assert f_ops[1].t_load_s == pytest.approx(r_ops[1].t_load_s / 8, rel=1e-14)
    assert f_ops[2].t_load_s == pytest.approx(r_ops[2].t_load_s / 8, rel=1e-14)
    assert f_ops[3:] == r_ops[3:]
    # decode is memory-bound: its latency drops (by about 12 % at batch 8 on this system)
    assert fix.decode_latency_s < 0.9 * ref.decode_latency_s
    assert CORRECTED.gqa_in_perf_shapes


def test_16_2_4_energy_counts(gpt3, llama):
    # gpt3 (MHA, no GLU): 12·d² = atten + ffn, so only the KV read changes: × μ = 8 in prefill
    ref = _run(gpt3, REFERENCE)
    fix = _run(gpt3, replace(REFERENCE, energy_counts_fixed=True))
    kv = 96 * 2 * 12288 * 256                                     # L·2·d·P numbers, one prefill iteration
    assert fix.prefill_energy_j - ref.prefill_energy_j == pytest.approx(7 * kv * 2 * 31.2 / 1e12, rel=1e-9)
    assert fix.decode_energy_j > ref.decode_energy_j
    assert fix.prefill_power_w > ref.prefill_power_w and fix.tco.total > ref.tco.total
    # llama3-70B: the weight count L·(atten + ffn + glu) replaces L·12·d² (more weights → more energy)
    m = llama.model
    assert m.atten_params + m.ffn_params + m.glu_params > 12 * m.d ** 2
    assert _run(llama, replace(REFERENCE, energy_counts_fixed=True)).decode_energy_j > \
        _run(llama, REFERENCE).decode_energy_j
    assert CORRECTED.energy_counts_fixed


def test_16_2_5_glu_in_flops_raises_utilisation(llama):
    ref = _run(llama, REFERENCE)
    fix = _run(llama, replace(REFERENCE, glu_in_flops=True))
    m = llama.model
    ratio_p = m.prefill_flops(256, True) / m.prefill_flops(256)
    assert fix.prefill_utilization == pytest.approx(ref.prefill_utilization * ratio_p, rel=1e-13)
    assert fix.decode_utilization == pytest.approx(
        ref.decode_utilization * m.generate_flops(288, True) / m.generate_flops(288), rel=1e-13)
    assert ratio_p > 1.2                                         # the gate is a third of the FFN weights
    assert fix.prefill_latency_s == ref.prefill_latency_s
    assert CORRECTED.glu_in_flops


def test_16_2_8_bottleneck_label_on_ties():
    mbl = MicroBatchLatency(operators=(MatmulTime(1.0, 0.5, 1.0),), layer_compute_s=1.0, comm1_s=0, comm2_s=0,
                            comm_fc_s=0, layer_comm_s=0, stage2stage_s=1.0, layers_per_stage=1, stages=1, stage_s=2.0,
                            total_s=2.0)
    assert (mbl.compute_s, mbl.communication_s) == (1.0, 1.0)
    assert mbl.bottleneck(1, label_ties=False) == ""              # interconnect 1.0 == memory 1.0
    assert mbl.bottleneck(1, label_ties=True) == "Interconnect"
    assert mbl.bottleneck(2, label_ties=False) == "Memory"        # 2.0 > 1.0: strict winner either way
    assert CORRECTED.bottleneck_tie_label and not REFERENCE.bottleneck_tie_label


def test_full_corrected_mode_on_the_worked_example(gpt3):
    ref, cor = _run(gpt3, REFERENCE), _run(gpt3, CORRECTED)
    assert cor.prefill_latency_s == ref.prefill_latency_s       # no GQA/GLU in gpt3: same latencies
    assert cor.decode_latency_s == ref.decode_latency_s
    assert cor.tco_per_mtoken_usd > 7 * ref.tco_per_mtoken_usd   # × 8, slightly offset by the higher energy
