"""model.md §14 sub-system ("dynamic") prefill path and its §16.2 #2 fix."""
from __future__ import annotations

from dataclasses import replace

import pytest

from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.perf.point import evaluate_point
from llmhw.perf.optima import sweep_system
from llmhw.workload.mapping import MappingPoint, dynamic_prefill
from llmhw.workload.system import SubSystemError

from tests.perf.support import project_system

M, K = 347892350976, 4718592
M_SRV = 413516860416


@pytest.fixture(scope="module")
def system():
    # 16 servers, prefill by k = 4 sub-systems of 4 servers each
    return project_system(default_mapping=None, sub_sys_num_servers=4, max_batch=16)


def test_tagging(system):
    assert dynamic_prefill(system, 2) is None                # B_s = 2 // 4 = 0
    dyn = dynamic_prefill(system, 8)
    # sub-system of 4 servers: max_ctx = floor((1 − M/4·M_SRV)·4·M_SRV / K); c_s = max_ctx // 2 ≥ P = 256
    max_ctx = int((1 - M / (4 * M_SRV)) * (4 * M_SRV) // K)
    assert (dyn.k, dyn.batch, dyn.t, dyn.ctx) == (4, 2, 16, min(max_ctx // 2, 320))
    with pytest.raises(SubSystemError):
        dynamic_prefill(replace(system, sub_sys_num_servers=3), 8)


def test_reference_dynamic_prefill(system):
    m = MappingPoint(32, 2, 4, 2)
    r = evaluate_point(system, m, 8, fidelity=REFERENCE)
    plain = replace(system, sub_sys_num_servers=None)
    full = evaluate_point(plain, m, 8, fidelity=REFERENCE)
    # the view differs only in num_servers = 4: mapping (16, 1, 2, 2) on batch B_s = 2, full peak and other_tdp
    sub = evaluate_point(replace(plain, num_servers=4), MappingPoint(16, 1, 2, 2), 2, fidelity=REFERENCE)
    assert r.prefill_latency_s == sub.prefill_latency_s == sub.prefill_micro_batch_latency.total_s
    assert r.prefill_utilization == sub.prefill_utilization
    assert r.prefill_power_w == pytest.approx(4 * sub.prefill_power_w, rel=1e-14)
    assert r.prefill_throughput_tok_per_s == sub.prefill_throughput_tok_per_s
    # generation is the full system's; the stored mapping is the original one
    assert (r.decode_latency_s, r.decode_power_w, r.mapping) == (full.decode_latency_s, full.decode_power_w, m)
    # breakdown: the non-dynamic prefill micro-batch's ratios applied to the dynamic T_p
    f_io = full.prefill_micro_batch_latency.communication_s / full.prefill_micro_batch_latency.total_s
    assert r.prefill_io_s == pytest.approx(f_io * r.prefill_latency_s, rel=1e-14)


def test_fix_16_2_2(system):
    m = MappingPoint(32, 2, 4, 2)
    ref = evaluate_point(system, m, 8, fidelity=REFERENCE)
    fix = evaluate_point(system, m, 8, fidelity=replace(REFERENCE, dynamic_prefill_fix=True))
    assert fix.prefill_latency_s == ref.prefill_latency_s
    assert fix.prefill_utilization == pytest.approx(4 * ref.prefill_utilization, rel=1e-14)
    assert ref.prefill_power_w - fix.prefill_power_w == pytest.approx(3 * system.other_tdp_w, rel=1e-12)
    assert fix.prefill_throughput_tok_per_s == pytest.approx(4 * ref.prefill_throughput_tok_per_s, rel=1e-14)
    assert CORRECTED.dynamic_prefill_fix


@pytest.mark.parametrize("fidelity", [REFERENCE, CORRECTED], ids=["reference", "corrected"])
def test_sweep_uses_the_scalar_path(system, fidelity):
    opt = sweep_system(system, fidelity)
    assert set(opt["prefill_lat"]) == {1, 2, 4, 8, 16}
    assert opt == sweep_system(system, fidelity, vectorized=False)
