"""The optima as columns (llmhw.perf.optima.OptimaColumns): the grid driver's columns equal the single-point
loop's records turned into columns, field by field and bit for bit, for systems of several size groups given
interleaved (rows follow the callers' system order, then the goals, then the batches)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from llmhw.fidelity import CORRECTED, REFERENCE
from llmhw.perf.optima import GOALS, OptimaColumns, columns_of, optima_columns, sweep_system_scalar

from tests.perf.support import random_system

FIELDS = ("system", "goal", "batch", "p", "micro_batch", "prefill_micro_batch", "e")


def _same_columns(a: OptimaColumns, b: OptimaColumns) -> None:
    for name in FIELDS:
        assert getattr(a, name).dtype == np.int64 and getattr(a, name).tolist() == getattr(b, name).tolist(), name
    assert [(type(t), t) for t in a.t.tolist()] == [(type(t), t) for t in b.t.tolist()]
    assert a.metrics.keys() == b.metrics.keys()
    for name in a.metrics:
        assert a.metrics[name].tobytes() == b.metrics[name].tobytes(), name
    assert a.starts.tolist() == b.starts.tolist()


@pytest.mark.parametrize("fidelity", [REFERENCE, CORRECTED], ids=["reference", "corrected"])
def test_grid_columns_equal_the_single_point_records(fidelity):
    rng = random.Random(31 if fidelity is REFERENCE else 13)
    systems = [random_system(rng, fidelity.compat, max_batch=rng.choice((4, 16))) for _ in range(8)]
    systems = systems + systems[:3]                      # repeated systems: same group, rows kept apart
    rng.shuffle(systems)
    scalar = [sweep_system_scalar(s, fidelity) for s in systems]
    cols = optima_columns(systems, fidelity)
    _same_columns(cols, columns_of(scalar))
    for i, optima in enumerate(scalar):
        assert cols.optima(i) == optima


def test_rows_follow_system_then_goal_then_batch():
    rng = random.Random(5)
    systems = [random_system(rng, "reference", max_batch=8) for _ in range(6)]
    cols = optima_columns(systems, REFERENCE)
    key = list(zip(cols.system.tolist(), cols.goal.tolist(), cols.batch.tolist()))
    assert key == sorted(key) and len(set(key)) == len(key)
    assert cols.system.tolist() == sorted(cols.system.tolist())
    for i in range(len(systems)):
        lo, hi = cols.starts[i], cols.starts[i + 1]
        assert set(cols.system[lo:hi].tolist()) <= {i}


def test_rows_at_finds_each_systems_optimum_or_none():
    rng = random.Random(9)
    systems = [random_system(rng, "reference", max_batch=16) for _ in range(5)]
    cols = optima_columns(systems, REFERENCE)
    for goal in GOALS:
        rows = cols.rows_at(goal, 8)
        for i, row in enumerate(rows.tolist()):
            o = cols.optima(i)[goal].get(8)
            assert (row < 0) == (o is None)
            if o is not None:
                assert cols.metric(goal)[row] == getattr(o, GOALS[goal])


def test_no_systems_and_empty_optima():
    cols = columns_of([])
    assert len(cols) == 0 and cols.starts.tolist() == [0]
    empty = {g: {} for g in GOALS}
    cols = columns_of([empty, empty])
    assert len(cols) == 0 and cols.optima(1) == empty


def test_select_optima_is_the_first_minimum_of_each_segment():
    from llmhw.perf.grid import evaluate_grid
    from llmhw.perf.optima import select_optima

    rng = random.Random(21)
    for _ in range(6):
        system = random_system(rng, "reference", max_batch=16)
        grid = evaluate_grid(system, REFERENCE)
        if grid is None or not grid.segments:
            continue
        best = select_optima(grid)
        for g, field in enumerate(GOALS.values()):
            values = getattr(grid, field)
            for s, (_, start, end) in enumerate(grid.segments):
                assert best[g, s] == start + int(np.argmin(values[start:end]))      # argmin: the first minimum
