"""The mapping sweep (``llmhw.search.sweep``): the grid's metric values are the point evaluator's, a
combination proposes exactly the mappings that would join the front (worked by hand), and a run keeps
that promise for every combination it swept."""
from __future__ import annotations

import numpy as np
import pytest

from llmhw.evaluate import BY_NAME, MappingGrid, Problem, grid_metrics_missing
from llmhw.search.constraints import Limit
from llmhw.search.objectives import Objective
from llmhw.search.setup import InputText, StudyInputs, build_setup
from llmhw.search.sweep import SWEEP_TAG, MappingSweep, hardware_valid
from llmhw.violations import CONSTRAINT_NAMES

from .conftest import CONSTANTS, HW, MODEL, REPO, SYS, run_cli

OBJECTIVES = ("tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s")


def _setup(space: str | None = "spaces/hbm_chip.yaml", mapping: str = "explicit", limits: dict | None = None):
    inputs = StudyInputs(hw=InputText.read(HW), system=InputText.read(SYS), model=InputText.read(MODEL),
                         constants=InputText.read(CONSTANTS),
                         space=InputText.read(REPO / space) if space else None, enqueue=None, compat=None,
                         workload=(1024, 256), mapping=mapping, objectives=OBJECTIVES, limits=limits or {})
    return build_setup(inputs)


def _problem(setup):
    return Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)


# ---------------------------------------------------------------------------------- the evaluator's grid
def test_grid_values_are_what_the_point_evaluator_reports():
    """Every metric with a ``grid_value``, on rows spread over the grid, equals ``Problem.evaluate`` of
    that mapping exactly (the single-point model is the oracle, not the grid)."""
    setup = _setup(space=None)
    problem, space = _problem(setup), setup.space
    names = [m.name for m in BY_NAME.values() if m.grid_value is not None]
    assert {"tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s", "energy_per_token_j", "chip_area_mm2",
            "throughput_per_chip_tok_per_s", "e2e_latency_s"} <= set(names)
    params = space.default_params()
    grid = problem.mapping_grid(space.point(params), names)
    assert grid is not None and len(grid) > 100 and grid.values.shape == (len(grid), len(names))
    for i in np.unique(np.linspace(0, len(grid) - 1, 25).astype(int)):
        m = grid.mapping(int(i))
        r = problem.evaluate(space.point(dict(params, **space.encode({k: m[k] for k in
                                                                     ("batch", "p", "micro_batch", "prefill_micro_batch")}))))
        assert r.feasible, (m, r.reasons)
        assert (r.perf.mapping.p, r.perf.batch, r.perf.mapping.micro_batch, r.perf.mapping.prefill_micro_batch) == \
            (m["p"], m["batch"], m["micro_batch"], m["prefill_micro_batch"])
        for j, name in enumerate(names):
            assert grid.values[i, j] == r.metrics[name], (name, m)


def test_the_grid_says_none_where_it_cannot_answer():
    setup = _setup(space=None)
    problem, space = _problem(setup), setup.space
    assert grid_metrics_missing(["tpot_s", "power_w", "no_such_metric"]) == ["power_w", "no_such_metric"]
    assert problem.mapping_grid(space.point(space.default_params()), ["tpot_s", "power_w"]) is None
    best = _setup(space=None, mapping="best").space
    assert problem.mapping_grid(best.point(best.default_params()), ["tpot_s"]) is None


# ---------------------------------------------------------------------------------- one combination, by hand
class GridProblem:
    """A stand-in evaluator whose mapping grid is the table below (the sweep's only call to it)."""

    def __init__(self, rows):
        self.rows, self.calls = rows, 0

    def mapping_grid(self, point, metrics):
        self.calls += 1
        cols = {"tco_per_mtoken_usd": 4, "throughput_tok_per_s": 5, "tpot_s": 6}
        arr = np.array(self.rows, dtype=float)
        ints = arr[:, :4].astype(np.int64)
        return MappingGrid(tuple(metrics), ints[:, 0], ints[:, 1], ints[:, 2], ints[:, 3],
                           np.ones(len(arr), dtype=np.int64), arr[:, [cols[m] for m in metrics]])


#        batch  p  mb  pmb   tco   thr    tpot
ROWS = [(1,     1, 1,  1,    5.0,  10.0,  0.01),    # r0: dominated by r1
        (2,     1, 2,  1,    4.0,  20.0,  0.01),    # r1: own front, but the run's front covers it
        (4,     1, 4,  4,    3.0,  15.0,  0.01),    # r2: proposed (cheaper than the run's front)
        (8,     1, 8,  8,    2.0,  40.0,  0.50),    # r3: would dominate all, but tpot 0.5 > the 0.1 limit
        (8,     2, 4,  2,    6.0,  50.0,  0.05),    # r4: proposed (more throughput than the run's front)
        (4,     2, 2,  1,    np.nan, 60.0, 0.01)]   # r5: not finite


def test_a_combination_proposes_exactly_the_mappings_that_would_join_the_front():
    """Objectives tco↓ and throughput↑, limit tpot ≤ 0.1 s, run front {(3.5, 30)}: by hand, r0 is
    dominated by r1, r3 breaks the limit, r5 is not finite, r1 (4, 20) is covered by (3.5, 30); r2
    (3, 15) and r4 (6, 50) remain, in grid order, with their losses (tco, -throughput)."""
    setup = _setup(space=None)
    space = setup.space
    problem = GridProblem(ROWS)
    objectives = [Objective("tco_per_mtoken_usd", "minimize"), Objective("throughput_tok_per_s", "maximize")]
    sweep = MappingSweep(space, problem, objectives, [Limit("max_tpot", "tpot_s", "max", 0.1, "max_tpot_s")])
    assert sweep.unavailable is None and sweep.metrics == ("tco_per_mtoken_usd", "throughput_tok_per_s", "tpot_s")
    params = space.default_params()
    ok = {n: -1.0 for n in CONSTRAINT_NAMES}
    got = sweep.propose(params, ok, np.array([[3.5, -30.0]]))
    assert [space.mapping_values(p)["batch"] for p, _ in got] == [4, 8]
    (p2, l2), (p4, l4) = got
    assert {k: space.mapping_values(p2)[k] for k in ("batch", "p", "micro_batch", "prefill_micro_batch")} == \
        {"batch": 4, "p": 1, "micro_batch": 4, "prefill_micro_batch": 4}
    assert {k: space.mapping_values(p4)[k] for k in ("batch", "p", "micro_batch", "prefill_micro_batch")} == \
        {"batch": 8, "p": 2, "micro_batch": 4, "prefill_micro_batch": 2}
    assert l2.tolist() == [3.0, -15.0] and l4.tolist() == [6.0, -50.0]
    hw = [d.name for d in space.dims if d.section != "mapping"]
    assert all(p[n] == params[n] for p, _ in got for n in hw)
    assert (sweep.grid_rows, sweep.proposed, problem.calls) == (6, 2, 1)
    # once per combination; another mapping of the same hardware does not sweep it again
    again = dict(params, batch_log2=params["batch_log2"] + 1)
    assert sweep.propose(again, ok, np.zeros((0, 2))) == [] and problem.calls == 1
    # without a front, r1 joins too (r0 stays dominated by it)
    fresh = MappingSweep(space, GridProblem(ROWS), objectives, [Limit("max_tpot", "tpot_s", "max", 0.1, "max_tpot_s")])
    assert [space.mapping_values(p)["batch"] for p, _ in fresh.propose(params, ok, np.zeros((0, 2)))] == [2, 4, 8]


def test_an_invalid_hardware_is_not_swept_and_a_mapping_violation_does_not_stop_it():
    setup = _setup(space=None)
    space = setup.space
    objectives = [Objective("tco_per_mtoken_usd", "minimize"), Objective("throughput_tok_per_s", "maximize")]
    sweep = MappingSweep(space, GridProblem(ROWS), objectives, [])
    params = space.default_params()
    bad_chip = {n: -1.0 for n in CONSTRAINT_NAMES} | {"chip_die_area_mm2": 12.0}
    assert not hardware_valid(bad_chip)
    assert sweep.propose(params, bad_chip, np.zeros((0, 2))) == [] and not sweep.swept
    too_big = {n: -1.0 for n in CONSTRAINT_NAMES} | {"map_memory_bytes": 1e9}
    assert hardware_valid(too_big)
    # without the limit r3 (2, 40) dominates r0-r2: its own front is r3 and r4
    got = sweep.propose(params, too_big, np.zeros((0, 2)))
    assert [(space.mapping_values(p)["batch"], space.mapping_values(p)["p"]) for p, _ in got] == [(8, 1), (8, 2)]


# ---------------------------------------------------------------------------------- a run
def _run(setup, tmp_path, trials: int, sweep: bool, seed: int = 0, name: str = "s"):
    from llmhw.search.runner import Runner, run_record_for
    from llmhw.search.samplers import choose
    from llmhw.study.opening import open_study
    choice = choose("auto", trials, None, sweep=sweep)
    study, _ = open_study(setup, name, f"sqlite:///{tmp_path / 'sweep.db'}", run_record_for(choice, seed, trials))
    runner = Runner(setup, _problem(setup), study, choice, seed, trials, console=None, progress=False)
    return runner, runner.run()


def test_a_run_leaves_no_swept_mapping_outside_its_front(tmp_path):
    """After a run, every mapping of every combination the sweep visited is weakly dominated by the
    run's feasible front or by a design still waiting in the sweep's queue: none is lost. Checked against
    the grids directly, with the dominance test written out here."""
    from llmhw.search.pareto import losses
    setup = _setup()
    runner, res = _run(setup, tmp_path, 100, sweep=True)
    trials = runner.store.read()
    tagged = [t for t in trials if t.user_attrs.get(SWEEP_TAG)]
    assert res.complete == 100 and tagged and res.stats.swept > 10
    assert res.stats.sweep_queued == len(tagged) and res.sweep_note.startswith("mapping sweep: ")
    front = losses([t.values for t in trials if t.user_attrs.get("feasible")], setup.directions)
    waiting = np.array([l for _, l in runner._sweep_pending]).reshape(-1, front.shape[1])
    cover = np.vstack([front, waiting])
    space, problem, sweep = setup.space, _problem(setup), runner.sweep
    seen = {}
    for t in trials:
        seen.setdefault(sweep.key(t.params), t.params)
    checked = 0
    for key in sweep.swept:
        grid = problem.mapping_grid(space.point(seen[key]), OBJECTIVES)
        loss = grid.values * np.array([1.0, 1.0, -1.0])
        for row in loss[np.all(np.isfinite(loss), axis=1)]:
            assert np.all(cover <= row + 1e-12 * np.abs(row), axis=1).any(), (key, row)
            checked += 1
    assert checked > 1000
    # the tagged trials are ordinary trials, each a design no earlier trial evaluated
    keys = [space.canonical(t.params) for t in sorted(trials, key=lambda t: t.number)]
    for i, t in enumerate(sorted(trials, key=lambda t: t.number)):
        if t.user_attrs.get(SWEEP_TAG):
            assert keys[i] not in keys[:i], t.number


def test_without_the_sweep_no_trial_is_queued_and_mapping_best_says_why(tmp_path):
    runner, res = _run(_setup(), tmp_path, 30, sweep=False)
    assert runner.sweep is None and res.sweep_note == ""
    assert not [t for t in runner.store.read() if t.user_attrs.get(SWEEP_TAG)]
    runner, res = _run(_setup(mapping="best"), tmp_path, 4, sweep=True, name="best")
    assert res.sweep_note == ("mapping sweep: not run: the space has no mapping dimensions (--mapping best, "
                              "a default_mapping or a serving space)")
    assert res.stats.swept == 0


def test_the_cli_flag_is_stored_with_the_run(workdir, capsys):
    argv = ["--hw", str(HW), "--sys", str(SYS), "--model", str(MODEL), "--constants", str(CONSTANTS),
            "--space", str(REPO / "spaces/hbm_chip.yaml"), "--no-progress", "--seed", "1", "--study", "f"]
    assert run_cli(argv + ["--trials", "12", "--sweep", "off"]) == 0
    out = capsys.readouterr().out
    assert "; mapping sweep off\n" in out and "mapping sweep:" not in out
    assert run_cli(["--study", "f", "--trials", "20", "--no-progress"]) == 0   # resumed: the stored choice
    out = capsys.readouterr().out
    assert "mapping sweep off" in out and "mapping sweep:" not in out
    assert run_cli(["--study", "f", "--trials", "30", "--no-progress", "--sweep", "on"]) == 0
    out = capsys.readouterr().out
    assert "; mapping sweep on\n" in out and "mapping sweep: " in out
    assert run_cli(argv + ["--trials", "30", "--mapping", "best", "--study", "g", "--check", "--sweep", "on"]) == 0
    assert "mapping sweep off (the space has no mapping dimensions" in capsys.readouterr().out
    assert run_cli(argv + ["--trials", "30", "--objectives", "tco,power", "--study", "h", "--check", "--sweep", "on"]) == 0
    assert "mapping sweep off (the mapping grid does not give power_w" in capsys.readouterr().out


# ---------------------------------------------------------------------------------- the front of a grid
def test_front_mask_with_pivots_is_the_definition():
    """On inputs large enough for the pivot prefilter (ties, constant columns, 1-4 objectives), the mask
    is the definition's: a row is kept iff no row is ≤ in every objective and < in one (pairwise here)."""
    from llmhw.search.pareto import front_mask
    rng = np.random.default_rng(7)
    for case in range(12):
        n, k = int(rng.integers(65, 400)), int(rng.integers(1, 5))
        loss = np.round(rng.normal(size=(n, k)), 1 if case % 2 else 3)
        if case % 3 == 0:
            loss[:, 0] = 2.0
        le = np.all(loss[:, None, :] <= loss[None, :, :], axis=2)
        lt = np.any(loss[:, None, :] < loss[None, :, :], axis=2)
        dominated = (le & lt).any(axis=0)
        assert front_mask(loss).tolist() == (~dominated).tolist(), case


def test_the_sweep_is_on_by_default_except_for_the_grid_sampler():
    from llmhw.search.samplers import choose
    assert choose("auto", 1000, None).sweep and choose("nsga2", 1000, None).sweep
    assert not choose("grid", 1000, None).sweep and choose("grid", 1000, None, sweep=True).sweep
    assert not choose("auto", 1000, None, sweep=False).sweep
