"""llmhw.evaluate: the single door the search and the exhaustive mode use.

Golden numbers come from model.md §17.3 (gpt3 on 16 TPUv5p-like servers, reference mode).
"""
from __future__ import annotations

import dataclasses
import math

import pytest

from llmhw.config import expand_system, load_constants, load_hardware, load_model, load_system
from llmhw.evaluate import METRICS, DesignPoint, Problem
from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.metrics import GRID_FIELDS
from llmhw.violations import CONSTRAINT_NAMES


@pytest.fixture(scope="module")
def inputs():
    hw = load_hardware("inputs/hardware/config/hw_example.yaml")
    sy = load_system("inputs/software/system/sys_default.yaml")
    model = load_model("gpt3")
    k = load_constants("inputs/hardware/constant/7nm_default.yaml")
    return hw, sy, model, k, expand_system(sy.raw, model)[0]


def point(inputs, **kw):
    hw, _, _, _, sysc = inputs
    base = dict(chip=hw.chips[0], package=hw.packages[0], server=hw.servers[0], system=sysc, p=1,
                micro_batch=8, prefill_micro_batch=8, batch=8, prefill_len=256, decode_len=64)
    base.update(kw)
    return DesignPoint(**base)


@pytest.mark.parametrize("mode", ["default", "explicit"])
def test_batch8_checkpoint(inputs, mode):
    hw, sy, model, k, _ = inputs
    r = Problem(hw, sy, model, k, REFERENCE).evaluate(point(inputs, mapping=mode))
    assert r.metrics["ttft_s"] == pytest.approx(0.08093113593066666, rel=1e-12)
    assert r.metrics["decode_latency_s"] == pytest.approx(0.13842569386750556, rel=1e-12)
    assert r.metrics["tco_per_mtoken_usd"] == pytest.approx(0.13931818044275437, rel=1e-12)
    assert (r.design["t"], r.design["p"]) == (64, 1)
    assert r.feasible and tuple(r.violations) == CONSTRAINT_NAMES
    assert set(r.metrics) == set(METRICS)


def test_tco_fix_charges_the_batch_once(inputs):
    """§16.2.1: 0.13931818 → 1.11454544 $/Mtoken at batch 8 with only the double-division fix."""
    hw, sy, model, k, _ = inputs
    only_fix = dataclasses.replace(REFERENCE, tco_per_token_fix=True)
    r = Problem(hw, sy, model, k, only_fix).evaluate(point(inputs))
    assert r.metrics["tco_per_mtoken_usd"] == pytest.approx(1.11454544, rel=1e-8)
    assert Problem(hw, sy, model, k, CORRECTED).evaluate(point(inputs)).metrics["tco_per_mtoken_usd"] > 1.11


def test_best_mapping_is_no_worse_than_any_explicit_one(inputs):
    hw, sy, model, k, _ = inputs
    prob = Problem(hw, sy, model, k, CORRECTED)
    best = prob.evaluate(point(inputs, mapping="best", best_for="tpot_s"))
    for p in (1, 2, 4, 8):
        for mb in (1, 2, 4, 8):
            r = prob.evaluate(point(inputs, p=p, micro_batch=mb, prefill_micro_batch=1))
            if r.feasible:
                assert best.metrics["tpot_s"] <= r.metrics["tpot_s"] * (1 + 1e-12)


def test_unmappable_pipeline_is_a_violation_not_an_error(inputs):
    hw, sy, model, k, _ = inputs
    r = Problem(hw, sy, model, k, CORRECTED).evaluate(point(inputs, p=24))   # 24 > 16 servers, not a multiple
    assert r.violations["map_invalid"] > 0 and not r.feasible
    assert all(math.isfinite(v) for v in r.metrics.values())


def test_too_few_servers_violate_memory(inputs):
    hw, sy, _, k, sysc = inputs
    small = {**sysc, "num_servers": 1}
    r = Problem(hw, sy, load_model("mt-nlg"), k, CORRECTED).evaluate(point(inputs, system=small))
    # mt-nlg: 105 layers × 12·20480² parameters × 2 bytes = 1056964608000 B;
    # one server holds 4 packages × (6 HBM stacks × 16 GiB + 300 MB SRAM) = 413516860416 B
    assert r.violations["sys_memory_bytes"] == 1056964608000 - 413516860416
    assert not r.feasible and r.reasons


@pytest.mark.parametrize("metric", [*GRID_FIELDS, "energy_per_token_j"])
def test_best_mapping_grid_equals_scalar_enumeration(inputs, metric):
    """mapping='best' (vectorised grid where possible) picks the same first-best mapping as a plain loop."""
    from llmhw.evaluate import METRICS
    from llmhw.metrics import read as metrics_read
    from llmhw.perf.point import evaluate_point
    from llmhw.workload.mapping import enumerate_mappings

    hw, sy, model, k, sysc = inputs
    enum_sys = {key: v for key, v in sysc.items() if key != "default_mapping"}
    prob = Problem(hw, sy, model, k, CORRECTED)
    best = prob.evaluate(point(inputs, system=enum_sys, batch=16, mapping="best", best_for=metric))
    srv = prob.server(hw.chips[0], hw.packages[0], hw.servers[0])
    sys_ = next(iter(prob._systems.values()))
    sign = -1 if METRICS[metric][0] == "maximize" else 1
    winner, value = None, None
    for m in enumerate_mappings(sys_, 16):
        v = sign * metrics_read(sys_, evaluate_point(sys_, m, 16, fidelity=CORRECTED))[metric]
        if winner is None or v < value:
            winner, value = m, v
    assert srv is sys_.server
    assert (best.design["t"], best.design["p"], best.design["micro_batch"],
            best.design["prefill_micro_batch"]) == (winner.t, winner.p, winner.micro_batch, winner.prefill_micro_batch)
