"""model.md §17.3 performance checkpoints (gpt3 on 16 hw_example servers, 2d_ring, default mapping).

Golden numbers are copied from the specification text; reference mode must reproduce them exactly
(the spec rounds a few to fewer digits: those are compared at 1e-9).
"""
from __future__ import annotations

import pytest

from llmhw.fidelity import REFERENCE
from llmhw.perf.point import evaluate_point
from llmhw.workload.mapping import MappingPoint, default_mapping_point

from tests.perf.support import project_system


@pytest.fixture(scope="module")
def system():
    return project_system()


def test_batch_1(system):
    m = default_mapping_point(system, 1)
    assert m == MappingPoint(64, 1, 1, 1)
    r = evaluate_point(system, m, 1, 256, 64, REFERENCE)
    mb = r.prefill_micro_batch_latency
    assert mb.total_s == mb.stage_s == r.prefill_latency_s == 0.01016344074133333
    assert mb.compute_s == 0.003042268501333333
    assert mb.communication_s == 0.007121172239999998
    assert r.decode_micro_batch_latency.stage_s == 0.0019195842850632653
    assert r.decode_latency_s == 0.12285339424404898
    assert r.prefill_utilization == 0.2993345047962784
    assert r.decode_utilization == 0.0061935292470749045
    assert r.prefill_energy_j == 69.71094711926784
    assert r.decode_energy_j == 712.0960425138585
    assert r.prefill_power_w == 8007.799721147978
    assert r.decode_power_w == 6945.11629960854
    assert r.tco.total == 7683.007426037832
    assert r.tco.fix_part == 5939.210647316722
    assert r.tco.power_part == 1743.79677872111
    assert r.tco_per_mtoken_usd == 5.401072483197727
    assert r.capex_usd == 95027.37035706756
    assert r.opex_usd == 27900.74845953776


def test_batch_8(system):
    r = evaluate_point(system, default_mapping_point(system, 8), 8, 256, 64, REFERENCE)
    assert r.mapping == MappingPoint(64, 1, 8, 8)
    assert r.prefill_latency_s == 0.08093113593066666
    assert r.decode_latency_s == 0.13842569386750556
    assert r.tco_per_mtoken_usd == 0.13931818044275437
    assert (r.prefill_io_s, r.prefill_compute_s, r.prefill_mem_s) == pytest.approx(
        (0.05659298791999999, 0.024338148010666662, 0.0), rel=1e-12)
    assert (r.decode_io_s, r.decode_compute_s, r.decode_mem_s) == pytest.approx(
        (0.017576084480000004, 0.0, 0.12084960938750555), rel=1e-12)


def test_derived_quantities(system):
    r = evaluate_point(system, default_mapping_point(system, 8), 8, fidelity=REFERENCE)
    B, P, G = 8, 256, 64
    assert r.prefill_throughput_tok_per_s == B * P / r.prefill_latency_s
    assert r.decode_throughput_tok_per_s == B / r.tpot_s
    assert r.decode_throughput_per_chip_tok_per_s == r.decode_throughput_tok_per_s / 64
    assert r.e2e_latency_s == r.prefill_latency_s + r.decode_latency_s
    assert r.decode_tco_per_token_usd == r.prefill_tco_per_token_usd * P / G
    assert r.prefill_bottleneck == "Interconnect" and r.decode_bottleneck == "Memory"
    # the eval lengths default to the system's, and other lengths re-target it
    other = evaluate_point(system, r.mapping, 8, 64, 256, REFERENCE)
    assert (other.prefill_len, other.decode_len) == (64, 256)
