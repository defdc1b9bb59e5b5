"""The grid driver (llmhw.perf.grid) gives the scalar path's numbers, optima and tie-breaking exactly."""
from __future__ import annotations

import math
import random

import numpy as np
import pytest

from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.perf.point import evaluate_point
from llmhw.perf.optima import sweep_system_scalar
from llmhw.exhaustive.software_phase import sweep_all
from llmhw.perf.grid import evaluate_grid
from llmhw.perf.optima import sweep_system_vector
from llmhw.workload.mapping import mappings_for_batch

from tests.perf.support import case_inputs, case_names, random_system

FIELDS = ("prefill_latency_s", "decode_latency_s", "tpot_s", "prefill_throughput_tok_per_s",
          "decode_throughput_tok_per_s", "prefill_utilization", "decode_utilization", "prefill_energy_j",
          "decode_energy_j", "prefill_power_w", "decode_power_w", "prefill_tco_per_token_usd",
          "decode_tco_per_token_usd")


def _check_points(system, fidelity, rng, n):
    grid = evaluate_grid(system, fidelity)
    assert grid is not None
    # the grid holds exactly the swept mappings, in order
    expected = [(B, m) for B in system.batches for m in mappings_for_batch(system, B)]
    assert len(grid) == len(expected)
    for i in sorted(rng.sample(range(len(grid)), min(n, len(grid)))):
        B, m = expected[i]
        gm = grid.mapping(i)
        assert (int(grid.batch[i]), gm) == (B, m) and type(gm.t) is type(m.t)
        r = evaluate_point(system, m, B, fidelity=fidelity)
        for f in FIELDS:
            g, s = float(getattr(grid, f)[i]), getattr(r, f)
            assert g == s or math.isclose(g, s, rel_tol=1e-12), (f, i, g, s)


@pytest.mark.parametrize("fidelity", [REFERENCE, CORRECTED], ids=["reference", "corrected"])
def test_random_points_equal_scalar(fidelity):
    rng = random.Random(1234 if fidelity is REFERENCE else 4321)
    for _ in range(40):
        _check_points(random_system(rng, fidelity.compat), fidelity, rng, 12)


@pytest.mark.parametrize("fidelity", [REFERENCE, CORRECTED], ids=["reference", "corrected"])
def test_random_systems_same_optima(fidelity):
    rng = random.Random(99)
    for _ in range(25):
        system = random_system(rng, fidelity.compat, max_batch=rng.choice((4, 16)))
        assert sweep_system_vector(system, fidelity) == sweep_system_scalar(system, fidelity)


@pytest.mark.parametrize("case", ["f_ws_sram_grid_gpt2", "g_sizing_modes_llama3-405B", "d_hbm_explore_llama2",
                                  "b_hw_example_llama3-70B"])
def test_case_optima_vector_equals_scalar(reference_dir, case):
    for fidelity in (REFERENCE, CORRECTED):
        servers, k, model, cfgs = case_inputs(case, fidelity.compat)
        servers = servers[::-(-len(servers) // 4)]   # at most 4 servers spread over the case (case f has 16;
        # the vector path's full tables are matched by tests/perf/test_reference_tables.py)
        vec = sweep_all(servers, cfgs, None, k, fidelity, vectorized=True)
        sca = sweep_all(servers, cfgs, None, k, fidelity, vectorized=False)
        assert [(s.server_index, s.system_index) for s in vec] == [(s.server_index, s.system_index) for s in sca]
        for a, b in zip(vec, sca):
            assert a.optima == b.optima
            for goal in a.optima:
                for B in a.optima[goal]:
                    assert type(a.optima[goal][B].mapping.t) is type(b.optima[goal][B].mapping.t)


def test_case_points_equal_scalar(reference_dir):
    rng = random.Random(7)
    for case in case_names():
        for fidelity in (REFERENCE, CORRECTED):
            servers, k, model, cfgs = case_inputs(case, fidelity.compat)
            for sw in sweep_all(servers[:3], cfgs[:4], None, k, fidelity)[:4]:
                _check_points(sw.system, fidelity, rng, 6)


def test_ties_resolve_to_the_first_mapping():
    # prefill latency does not depend on mb: among equal prefill latencies the smallest mb wins (§12.3)
    rng = random.Random(5)
    system = random_system(rng, "reference", max_batch=16)
    while system.default_mapping is not None:
        system = random_system(rng, "reference", max_batch=16)
    grid = evaluate_grid(system, REFERENCE)
    opt = sweep_system_vector(system, REFERENCE)
    for B, start, end in grid.segments:
        seg = grid.prefill_latency_s[start:end]
        first = start + int(np.flatnonzero(seg == seg.min())[0])
        assert opt["prefill_lat"][B].mapping == grid.mapping(first)
        assert opt["prefill_lat"][B].mapping.micro_batch == opt["prefill_lat"][B].mapping.prefill_micro_batch


def test_int64_guard_falls_back_to_the_scalar_sweep(monkeypatch):
    from llmhw.perf import grid
    rng = random.Random(11)
    system = random_system(rng, "reference", max_batch=4)
    monkeypatch.setattr(grid, "INT64_LIMIT", 10)
    assert evaluate_grid(system, REFERENCE) is None
    assert sweep_system_vector(system, REFERENCE) == sweep_system_scalar(system, REFERENCE)


def test_ws_chip_too_slow_for_one_mac_per_array_equals_scalar():
    """sa_width = floor(sqrt(perf / freq / 2 / num_sa)) can be 0: both paths use the one-MAC guard."""
    from dataclasses import replace
    rng = random.Random(7)
    system = random_system(rng, CORRECTED.compat, max_batch=4)
    pkg = system.server.package
    chip = replace(pkg.chip, sa_width=0, dataflow="WS")
    system = replace(system, server=replace(system.server, package=replace(pkg, chip=chip)))
    with np.errstate(all="raise"):
        _check_points(system, CORRECTED, rng, 20)


def test_mixed_int_and_float_t_int_rows_keep_the_exact_product(monkeypatch):
    """Int and float t mixed: when the all-reduce energy product could pass 2^53 the int rows are formed
    separately in int64 (forced here); either way the grid equals the single-point driver."""
    from llmhw.perf import grid as perf_grid
    rng = random.Random(3)
    checked = 0
    for _ in range(60):
        system = random_system(rng, CORRECTED.compat, max_batch=8)
        g = evaluate_grid(system, CORRECTED)
        if g is None or not len(g) or len({type(c.t) for c in g.candidates}) < 2:
            continue
        for forced in (True, False):
            monkeypatch.setattr(perf_grid, "_float_t_exact", lambda *a, forced=forced: forced)
            _check_points(system, CORRECTED, rng, 8)
        checked += 1
        if checked == 3:
            break
    assert checked, "no random system with mixed int / float t"
