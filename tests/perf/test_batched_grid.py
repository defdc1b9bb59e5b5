"""Several systems in one set of numpy calls (llmhw.perf.grid.grid_batches) give each system's own grid and
optima exactly: the same numbers bit for bit, the same candidates (and the Python type of t), the same ties."""
from __future__ import annotations

import random

import numpy as np
import pytest

from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.perf.grid import Grid, evaluate_grids, size_groups
from llmhw.perf.optima import sweep_system_scalar, sweep_systems
from llmhw.workload.system import build_system

from tests.perf.support import ALGOS, PROJECT_HW, PROJECT_MODELS, project_constants, project_model, project_servers

ARRAYS = [name for name in Grid.__dataclass_fields__ if name not in ("candidates", "segments")]


def _size_family(rng, compat: str, max_batch: int, model_name: str | None = None):
    """Valid systems of one server, model and configuration that differ only in their size (num_servers
    1 … 32 and the §11.2 kv_cache_ratio sizing: several p > num_servers layouts, float t among int t) and
    in their eval lengths."""
    while True:
        srvs = project_servers(rng.choice(PROJECT_HW), compat)
        server = srvs[rng.randrange(len(srvs))]
        model = project_model(model_name or rng.choice(PROJECT_MODELS))
        cfg = {"allreduce_algo": rng.choice(ALGOS), "energy_model": rng.random() < 0.7, "max_batch": max_batch,
               "compute_perf_efficiency": rng.choice((1.0, 0.7)), "io_bandwidth_efficiency": rng.choice((1.0, 0.9)),
               "eval_len": rng.choice(([256, 64], [200, 57], [64, 256], [20, 8]))}
        lengths = [cfg["eval_len"], rng.choice(([2048, 129], [1, 1], [64, 256]))]
        if rng.random() < 0.3:
            cfg["default_mapping"] = {"t": rng.choice((1, 4, 16)), "p": rng.choice((1, 2, 4)),
                                      "micro_batch": rng.choice((0, 1, 2)), "prefill_micro_batch": rng.choice((0, 1))}
        if compat == "corrected" and rng.random() < 0.4:
            cfg["stack"] = {"preset": rng.choice(("gpu_pytorch", "asic"))}
        sizes = [dict(cfg, num_servers=n, eval_len=rng.choice(lengths)) for n in (1, 2, 3, 4, 8, 16, 32)]
        sizes.append(dict(cfg, kv_cache_ratio=0.3))
        systems = [s for s in (build_system(server, c, model, project_constants()) for c in sizes) if s.valid]
        if len(systems) >= 3:
            return systems


def _same_grid(a: Grid | None, b: Grid | None) -> None:
    assert (a is None) == (b is None)
    if a is None:
        return
    assert a.candidates == b.candidates and [type(c.t) for c in a.candidates] == [type(c.t) for c in b.candidates]
    assert a.segments == b.segments
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes(), name


@pytest.mark.parametrize("fidelity", [REFERENCE, CORRECTED], ids=["reference", "corrected"])
def test_size_group_equals_each_system_alone(fidelity):
    rng = random.Random(2024 if fidelity is REFERENCE else 4202)
    mixed_t = 0
    for _ in range(12):
        systems = _size_family(rng, fidelity.compat, rng.choice((4, 16, 64)))
        rng.shuffle(systems)
        assert size_groups(systems) == [list(range(len(systems)))]      # one group: they differ only in size
        together = evaluate_grids(systems, fidelity)
        for system, grid in zip(systems, together):
            _same_grid(grid, evaluate_grids([system], fidelity)[0])
        mixed_t += len({type(c.t) for g in together if g is not None for c in g.candidates}) > 1
    assert mixed_t, "no family with int and float t"


@pytest.mark.parametrize("fidelity", [REFERENCE, CORRECTED], ids=["reference", "corrected"])
def test_size_group_optima_equal_the_single_point_loop(fidelity):
    rng = random.Random(77)
    for _ in range(4):
        systems = _size_family(rng, fidelity.compat, 4)
        batched = sweep_systems(systems, fidelity)
        for system, optima in zip(systems, batched):
            assert optima == sweep_system_scalar(system, fidelity)
            assert optima == sweep_systems([system], fidelity)[0]


def test_systems_differing_beyond_size_and_lengths_are_not_grouped():
    rng = random.Random(5)
    a, b, *_ = _size_family(rng, "reference", 4)
    cfg = {"num_servers": a.num_servers, "eval_len": [a.prefill_len, a.decode_len], "max_batch": 4,
           "allreduce_algo": a.allreduce_algo, "energy_model": a.energy_model,
           "compute_perf_efficiency": a.compute_perf_efficiency, "io_bandwidth_efficiency": a.io_bandwidth_efficiency,
           "default_mapping": a.default_mapping}
    same = build_system(a.server, dict(cfg, num_servers=2 * a.num_servers, eval_len=[7, 3]), a.model, a.constants)
    other = build_system(a.server, dict(cfg, compute_perf_efficiency=0.5), a.model, a.constants)
    assert size_groups([a, other, b, same]) == [[0, 2, 3], [1]]


def test_int64_guard_of_a_group_falls_back_to_each_system(monkeypatch):
    """A group whose joined bound fails is evaluated system by system (each with its own, smaller bound)."""
    from llmhw.perf import grid
    rng = random.Random(8)
    systems = _size_family(rng, "reference", 4)
    alone = [evaluate_grids([s], REFERENCE)[0] for s in systems]
    calls = []
    real = grid._int_bound_ok

    def first_call_fails(*args):
        calls.append(1)
        return len(calls) > 1 and real(*args)
    monkeypatch.setattr(grid, "_int_bound_ok", first_call_fails)
    for got, want in zip(evaluate_grids(systems, REFERENCE), alone):
        _same_grid(got, want)
    assert len(calls) == 1 + sum(g is not None and len(g) > 0 for g in alone)


@pytest.mark.parametrize("name", ["mixtral-8x7B", "gpt-oss-120b"])
def test_models_with_m1_keys_are_grouped_by_size_only(name):
    """§M1 models (MoE, windows, vocabulary): only systems of equal P and G share a batch; the optima (with
    the expert-parallel degree of each mapping) equal the single-point loop's."""
    rng = random.Random(13)
    systems = _size_family(rng, "corrected", 4, name)
    groups = size_groups(systems)
    assert all(len({systems[i].eval_len for i in g}) == 1 for g in groups) and max(map(len, groups)) > 1
    for system, grid in zip(systems, evaluate_grids(systems, CORRECTED)):
        _same_grid(grid, evaluate_grids([system], CORRECTED)[0])
    for system, optima in zip(systems[:3], sweep_systems(systems[:3], CORRECTED)):
        assert optima == sweep_system_scalar(system, CORRECTED)
