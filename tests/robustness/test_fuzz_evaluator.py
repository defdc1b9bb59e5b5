"""Fuzz: the evaluator scores any design point — inside the space or outside it — without raising,
and what reaches Optuna is always finite (issue 6).

Points are drawn from the search spaces of the shipped inputs (every dimension inside its
distribution), then optionally pushed outside the space: hardware numbers scaled by 1e-9 … 1e9
(kept inside the schema's bounds — integers ≥ 1, fractions ≤ 1 — since the schema refuses the
rest before any evaluation), batch up to 2^20, pipelines far longer than the model, micro-batches
larger than the batch, up to 10^5 servers, workloads up to 2^20 tokens, every mapping mode, and
models cut to a single layer. Degenerate points (no SRAM, one layer, a batch no memory holds) must
come back with violation amounts, never as exceptions. Budget: see conftest (``LLMHW_FUZZ=long``).
"""
from __future__ import annotations

import copy
import math
from dataclasses import replace
from functools import lru_cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from llmhw.config.schema import CHIP, IO_LINK, PACKAGE, SERVER, Bound
from llmhw.evaluate import METRICS, DesignPoint, Problem
from llmhw.search.constraints import ConstraintSet, parse_limits
from llmhw.search.objectives import parse_objectives
from llmhw.search.outcome import from_result
from llmhw.search.setup import InputText, StudyInputs, build_setup
from llmhw.violations import CONSTRAINT_NAMES

from .conftest import CONSTANTS, HW_DIR, MODEL_DIR, SPACES, SYS_DIR, examples

BASES = [  # (hardware, system, model, space)
    ("tpuv4", "tpuv4", "gpt3", None),
    ("chiplet_sram_only", "chiplet_sram_only", "gpt2", "chiplet_sram"),
    ("chiplet_3d_dram", "chiplet_3d_dram", "llama2", None),
    ("tpuv5p", "tpuv5p", "llama3-70B", "hbm_chip"),
    ("h100", "h100", "llama2", None),
    ("hw_example", "sys_default", "gpt3", None),
]
MODEL_VARIANTS = ("as is", "one layer", "tiny")
FACTORS = (1e-9, 1e-3, 0.01, 0.5, 2.0, 100.0, 1e4, 1e9)
# every metric an objective can be: the property covers all of them
ALL_OBJECTIVES = parse_objectives([m for m, (d, _, _) in METRICS.items() if d in ("minimize", "maximize")])
CONSTRAINTS = ConstraintSet(parse_limits({"max_ttft": 1.0, "max_tpot": 0.1, "max_power": 1e5,
                                          "max_capex": 1e7, "min_throughput": 10.0}))


@lru_cache(maxsize=None)
def setup_for(i: int):
    hw, sys_, model, space = BASES[i]
    inputs = StudyInputs(
        hw=InputText.read(HW_DIR / f"{hw}.yaml"), system=InputText.read(SYS_DIR / f"{sys_}.yaml"),
        model=InputText.read(MODEL_DIR / f"{model}.yaml"), constants=InputText.read(CONSTANTS),
        space=InputText.read(SPACES / f"{space}.yaml") if space else None, enqueue=None, compat=None,
        workload=(256, 64), mapping="explicit", objectives=("tco_per_mtoken", "tpot", "throughput"))
    return build_setup(inputs)


@lru_cache(maxsize=None)
def problem_for(i: int, variant: str, compat: str) -> Problem:
    from llmhw.fidelity import Fidelity
    setup = setup_for(i)
    model = copy.deepcopy(setup.model)
    if variant == "one layer":
        model["num_layers"] = 1
    elif variant == "tiny":
        model.update(num_layers=2, d=64, num_heads=2)
        model.pop("d_head", None)
        model.pop("heads_per_kv_cache", None)
        model.pop("d_ff", None)
    return Problem(setup.hw, setup.system, model, setup.constants, Fidelity.from_compat(compat))


def _param(draw, dist):
    if isinstance(dist, CategoricalDistribution):
        return draw(st.sampled_from(dist.choices))
    if isinstance(dist, IntDistribution):
        k = draw(st.integers(0, (dist.high - dist.low) // dist.step))
        return dist.low + k * dist.step
    assert isinstance(dist, FloatDistribution)
    if dist.step is not None:
        k = draw(st.integers(0, int(round((dist.high - dist.low) / dist.step))))
        return min(dist.high, dist.low + k * dist.step)
    if dist.log:
        e = draw(st.floats(math.log(dist.low), math.log(dist.high)))
        return min(dist.high, max(dist.low, math.exp(e)))
    return draw(st.floats(dist.low, dist.high))


def _scale(draw, cfg: dict, section) -> dict:
    """Scale a few numbers of a concrete section, staying inside the schema's bounds."""
    out = dict(cfg)
    keys = [k for k, v in cfg.items() if k in section.fields and isinstance(v, (int, float))
            and not isinstance(v, bool) and section.fields[k].kind in ("number", "integer")]
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)) if keys else []:
        fld = section.fields[key]
        value = cfg[key] * draw(st.sampled_from(FACTORS))
        if fld.kind == "integer":
            value = int(min(max(round(value), 0), 10 ** 6))
        bound: Bound | None = fld.bound
        if bound is not None and bound.hi is not None:
            value = min(value, bound.hi)
        if bound is None or bound.holds(value):
            out[key] = value
    for key in ("pkg2pkg_io", "chip2chip_io", "io"):
        if isinstance(out.get(key), dict) and draw(st.booleans()):
            out[key] = _scale(draw, out[key], IO_LINK)
    return out


@st.composite
def design_points(draw):
    i = draw(st.integers(0, len(BASES) - 1))
    setup = setup_for(i)
    space = setup.space
    params = {d.name: _param(draw, d.distribution) for d in space.dims}
    point: DesignPoint = space.point(params)
    if draw(st.booleans()):  # outside the space
        point = replace(
            point,
            chip=_scale(draw, point.chip, CHIP), package=_scale(draw, point.package, PACKAGE),
            server=_scale(draw, point.server, SERVER),
            batch=draw(st.sampled_from([1, 2, 3, 64, 1000, 2 ** 20])),
            p=draw(st.sampled_from([None, 1, 2, 7, 97, 4096])),
            micro_batch=draw(st.sampled_from([None, 1, 5, 2 ** 21])),
            prefill_micro_batch=draw(st.sampled_from([None, 1, 3, 2 ** 21])),
            prefill_len=draw(st.sampled_from([1, 128, 4096, 2 ** 20])),
            decode_len=draw(st.sampled_from([1, 64, 2 ** 20])),
            mapping=draw(st.sampled_from(["explicit", "explicit", "best"]
                                         + (["default"] if point.system.get("default_mapping") else []))),
            best_for=draw(st.sampled_from(["tco_per_mtoken_usd", "tpot_s", "power_w"])))
        if draw(st.booleans()) and isinstance(point.system.get("num_servers"), int):
            point = replace(point, system=dict(point.system,
                                               num_servers=draw(st.sampled_from([1, 3, 1000, 10 ** 5]))))
    variant = draw(st.sampled_from(MODEL_VARIANTS))
    compat = draw(st.sampled_from(["corrected", "reference"]))
    return i, variant, compat, point


def assert_scored(result) -> None:
    """What the search hands to Optuna is finite, and a non-finite objective makes it infeasible."""
    assert set(result.violations) == set(CONSTRAINT_NAMES)
    out = from_result(result, ALL_OBJECTIVES, CONSTRAINTS, "corrected")
    assert out.values is not None and all(math.isfinite(v) for v in out.values)
    assert list(out.constraints) == list(CONSTRAINTS.names)
    assert all(math.isfinite(v) for v in out.constraints.values())
    raw = [float(result.metrics.get(o.name, math.nan)) for o in ALL_OBJECTIVES]
    if not all(math.isfinite(v) for v in raw):
        assert not out.feasible


@settings(max_examples=examples(60))
@given(design_points())
def test_any_point_is_scored_never_raises(case):
    i, variant, compat, point = case
    result = problem_for(i, variant, compat).evaluate(point)
    assert_scored(result)


# ---------------------------------------------------------------------------- named degenerate points
def _point(i: int = 0, **changes) -> DesignPoint:
    setup = setup_for(i)
    return replace(setup.space.point(setup.space.default_params()), **changes)


def test_zero_sized_sram_is_a_violation_not_an_exception():
    base = _point(0)
    r = problem_for(0, "as is", "corrected").evaluate(replace(base, chip=dict(base.chip, sram=0)))
    assert r.violations["chip_sram_mb"] > 0 and not r.feasible
    assert any("no SRAM" in reason for reason in r.reasons)
    assert_scored(r)


def test_area_defined_chip_with_no_room_left_is_a_violation():
    base = _point(2)  # chiplet_3d_dram: area-defined chiplets
    assert "area" in base.chip
    r = problem_for(2, "as is", "corrected").evaluate(replace(base, chip=dict(base.chip, area=1e-6)))
    assert r.violations["chip_avail_area_mm2"] > 0 and not r.feasible
    assert_scored(r)


@pytest.mark.parametrize("mapping", ["explicit", "best"])
def test_single_layer_model_is_scored(mapping):
    base = _point(0)
    r = problem_for(0, "one layer", "corrected").evaluate(replace(base, mapping=mapping, p=4))
    assert_scored(r)
    assert all(math.isfinite(r.metrics[m]) for m in ("tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s"))


@pytest.mark.parametrize("mapping", ["explicit", "best"])
def test_batch_larger_than_any_memory_is_a_violation(mapping):
    base = _point(0)
    r = problem_for(0, "as is", "corrected").evaluate(
        replace(base, batch=2 ** 20, micro_batch=2 ** 20, prefill_micro_batch=2 ** 20, mapping=mapping))
    assert r.violations["map_memory_bytes"] > 0 and not r.feasible
    assert_scored(r)


def test_chip_too_slow_for_one_mac_and_die_larger_than_a_wafer():
    base = _point(1)  # chiplet_sram_only: weight-stationary arrays
    problem = problem_for(1, "as is", "corrected")
    slow = problem.evaluate(replace(base, chip=dict(base.chip, dataflow="WS", perf=1e-30)))
    assert_scored(slow)
    huge = problem_for(0, "as is", "corrected").evaluate(replace(_point(0), chip=dict(_point(0).chip, sram=1e30)))
    assert huge.violations["chip_die_area_mm2"] > 0 and not huge.feasible
    assert_scored(huge)


def test_points_outside_every_schema_are_refused_clearly():
    problem = problem_for(0, "as is", "corrected")
    for field in ("batch", "prefill_len", "decode_len"):
        with pytest.raises(ValueError, match=f"DesignPoint.{field} must be an integer >= 1"):
            problem.evaluate(_point(0, **{field: 0}))
