"""The Pareto local search sampler on toy problems: no repeats, finds a front, constraints, resume."""
from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from llmhw.search.pareto import front_mask, losses
from llmhw.search.pls import ParetoLocalSearchSampler, _Coord, _Surrogate

optuna.logging.set_verbosity(optuna.logging.WARNING)

SPACE = {"x": IntDistribution(0, 20), "y": IntDistribution(0, 20),
         "c": CategoricalDistribution(("a", "b", "c")), "z": FloatDistribution(0.0, 1.0)}


def objective(trial: optuna.Trial, constrained: bool = False):
    x, y = trial.suggest_int("x", 0, 20), trial.suggest_int("y", 0, 20)
    c, z = trial.suggest_categorical("c", ("a", "b", "c")), trial.suggest_float("z", 0.0, 1.0)
    pen = y + (c != "a") + z
    if constrained:
        trial.set_constraint("x_at_least_5", 5.0 - x)
    return x + pen, (20 - x) + pen


def sampler(seed: int = 0, **kw) -> ParetoLocalSearchSampler:
    kw.setdefault("n_startup_trials", 20)
    return ParetoLocalSearchSampler(seed=seed, search_space=SPACE, **kw)


def test_no_repeats_and_finds_the_front():
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler())
    study.optimize(objective, n_trials=250)
    trials = study.get_trials()
    keys = [tuple(sorted(t.params.items())) for t in trials]
    assert len(set(keys[20:])) == len(keys) - 20 and not set(keys[20:]) & set(keys[:20])
    # the front is y = 0, c = 'a', z = 0: (x, 20 - x); PLS walks along it and down in z: all 21 x
    # (seeds 0-5 all find the 21; before the tolerance moves seed 3 found 13)
    best = {t.params["x"] for t in trials
            if t.params["y"] == 0 and t.params["c"] == "a" and t.params["z"] < 0.2}
    assert best == set(range(21))


def test_constraints_keep_the_archive_feasible():
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler(seed=1))
    study.optimize(lambda t: objective(t, constrained=True), n_trials=120)
    s = study.sampler
    assert s._arch and all(a["u"][0] >= 5 for a in s._arch)   # x index = value  # noqa: SLF001
    late = study.get_trials()[60:]
    assert sum(t.params["x"] >= 5 for t in late) > 0.8 * len(late)


def test_a_key_merges_aliases_and_ask_tell_batches_do_not_repeat():
    # key: only x and y matter (c, z are aliases of the same design)
    key = lambda p: (p["x"], p["y"])  # noqa: E731
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=sampler(seed=2, key=key))
    seen = []
    for _ in range(12):
        batch = [study.ask(SPACE) for _ in range(10)]
        for t in batch:
            seen.append(key(t.params))
            study.tell(t, [t.params["x"] + t.params["y"], 20 - t.params["x"] + t.params["y"]])
    after = seen[20:]   # after the warm-up (the startup sampler may repeat a design)
    assert len(set(after)) == len(after) and not set(after) & set(seen[:20])


def test_resume_and_reproducible():
    def run(seed, n, study=None):
        study = study or optuna.create_study(directions=["minimize", "minimize"], sampler=sampler(seed))
        study.optimize(objective, n_trials=n)
        return study
    a, b = run(5, 80), run(5, 80)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    # a fresh sampler on a study with trials rebuilds its state and keeps not repeating
    c = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler(6))
    c.add_trials(a.trials)
    run(6, 60, c)
    keys = [tuple(sorted(t.params.items())) for t in c.trials]
    assert len(c.trials) == 140 and not set(keys[80:]) & set(keys[:80])
    assert len(set(keys[80:])) == 60
    front = losses([t.values for t in c.trials], ["minimize", "minimize"])
    assert front_mask(front).sum() >= 15


def test_without_a_search_space_and_with_a_tiny_exhausted_space():
    s = ParetoLocalSearchSampler(seed=0, n_startup_trials=5)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=s)
    study.optimize(objective, n_trials=40)
    assert len(study.trials) == 40
    tiny = {"x": IntDistribution(0, 2)}
    study = optuna.create_study(directions=["minimize", "maximize"],
                                sampler=ParetoLocalSearchSampler(seed=0, search_space=tiny,
                                                                 n_startup_trials=2))
    study.optimize(lambda t: (t.suggest_int("x", 0, 2), t.suggest_int("x", 0, 2)), n_trials=6)
    assert {t.params["x"] for t in study.trials} == {0, 1, 2}   # then repeats, no hang


@pytest.mark.parametrize("n", [0, 1])
def test_startup_only(n):
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler(n_startup_trials=100))
    study.optimize(objective, n_trials=10 + n)
    assert len(study.trials) == 10 + n


def test_pls_on_the_real_space_past_its_warm_up(workdir, monkeypatch):
    """Through the CLI on the tpuv5p space: the space's hooks (canonical key, normalise, index
    values) are used and no design is evaluated twice."""
    import llmhw.search.samplers as samplers

    from .conftest import cli_args, run_cli
    monkeypatch.setattr(samplers, "PLS_WARMUP", 10)
    assert run_cli(cli_args("--sampler", "pls", "--seed", "4", trials=60, study="p")) == 0
    study = optuna.load_study(study_name="p", storage="sqlite:///studies/p.db")
    trials = study.get_trials()
    assert len(trials) == 60 and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    designs = [repr(sorted(t.user_attrs["dims"].items())) for t in trials]
    assert len(set(designs[10:])) == 50 and not set(designs[10:]) & set(designs[:10])
    assert any(t.user_attrs["feasible"] for t in trials[10:])


# ---------------------------------------------------------------------------------------------------
# Front recall on problems whose front is known in closed form (issue 16).

NOISE = 6
SEGMENTS = {"x": IntDistribution(0, 39), "m": IntDistribution(0, 19),
            **{f"y{i}": IntDistribution(0, 9) for i in range(NOISE)}}


def segmented(trial: optuna.Trial):
    """Four segments of a linear front, x in 0..9, 10..19, ...; on segment s the front needs m = s.

    (1 + x, 41 - x) × (1 + penalty): penalty 0 on the front (m = x // 10, every y = 0); 0.015 for the
    one "prepared" design at a segment's end (x % 10 = 9, m = x // 10 + 1), which is therefore
    dominated by its segment neighbour, by a factor 1.015; 1.0 for anything else. So the only one-move
    path from segment s to s + 1 goes through a design 1.5% off the front (as on the speed grid, where
    the next batch size needs the batch and the prefill split moved together).
    """
    x, m = trial.suggest_int("x", 0, 39), trial.suggest_int("m", 0, 19)
    ys = [trial.suggest_int(f"y{i}", 0, 9) for i in range(NOISE)]
    if any(ys):
        pen = 1.0
    elif m == x // 10:
        pen = 0.0
    elif m == x // 10 + 1 and x % 10 == 9:
        pen = 0.015
    else:
        pen = 1.0
    return (1 + x) * (1 + pen), (41 - x) * (1 + pen)


def front_found(study) -> set[int]:
    return {t.params["x"] for t in study.trials
            if t.params["m"] == t.params["x"] // 10 and not any(t.params[f"y{i}"] for i in range(NOISE))}


def segment_study(seed: int, second_ring: float, n: int, tolerance: float = 0.0, **kw):
    """``n`` trials of ``segmented`` from its first front design, stall-driven exploration off."""
    s = ParetoLocalSearchSampler(seed=seed, search_space=SEGMENTS, n_startup_trials=1, tolerance=tolerance,
                                 adaptive=False, second_ring=second_ring, **kw)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=s)
    study.enqueue_trial({"x": 0, "m": 0, **{f"y{i}": 0 for i in range(NOISE)}})
    study.optimize(segmented, n_trials=n)
    return study


@pytest.mark.parametrize("tolerance, least, most", [(0.02, 40, 40), (0.0, 0, 20)])
def test_a_path_through_a_slightly_dominated_design_reaches_every_segment(tolerance, least, most):
    """The 40 front designs sit on 4 segments joined only through a design 1.5% off the front. With
    the default tolerance (2%) the search walks through it; without, it must mutate x and m at once
    (2 of 8 dimensions) to the right values, and stays on one or two segments. Over seeds 0-9 at 400
    trials: all 40 designs for 7 seeds with the tolerance (10-15 for 3), 10-20 for all without.
    Stall-driven exploration and the second ring are off here: it tests the tolerance walk alone (with
    exploration, on this toy whose random moves never pay, seeds 0-9 find 13, 39, 40, 30, 40, 40, 40, 29,
    21, 30 designs; the second ring joins segments too, see below)."""
    for seed in (0, 1):
        assert least <= len(front_found(segment_study(seed, 0.0, 400, tolerance))) <= most


def test_every_front_design_and_both_corners_are_found():
    """A 64 × 64 grid whose front is the row y = 0 (64 designs, from corner x = 0 to corner x = 63):
    every one of them is found, not only enough for the hypervolume."""
    space = {"x": IntDistribution(0, 63), "y": IntDistribution(0, 63)}
    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=ParetoLocalSearchSampler(seed=0, search_space=space, n_startup_trials=20))
    study.optimize(lambda t: (t.suggest_int("x", 0, 63) + t.suggest_int("y", 0, 63),
                              63 - t.params["x"] + t.params["y"]), n_trials=400)
    found = {t.params["x"] for t in study.trials if t.params["y"] == 0}
    assert found == set(range(64))


def test_the_second_ring_joins_segments_that_only_a_two_dimension_move_joins():
    """Without the tolerance moves, segment s + 1 of ``segmented`` is one *two*-dimension move (x and m
    together) from the end of segment s. Once every archive member's one-move neighbourhood is
    exhausted (about trial 100), the second ring proposes such moves: seeds 0 and 1 find all 40 front
    designs by trial 700 with it, and stay on the first segment (10) without it (seeds 0-5 at 700 trials:
    40, 40, 31, 20, 10, 10 with the whole share, 10, 10, 31, 20, 10, 10 without)."""
    for seed in (0, 1):
        assert len(front_found(segment_study(seed, 1.0, 700))) == 40
        assert len(front_found(segment_study(seed, 0.0, 700))) == 10


def test_the_second_ring_waits_for_the_walk_and_moves_two_dimensions():
    """Up to the first two-move proposal the runs with and without the second ring are the same, draw
    for draw (it is drawn only once every one-move neighbourhood is exhausted); every two-move
    proposal differs from an earlier design in exactly two dimensions; its trials are rebuilt as
    local moves on resume (they count for the walk's success rate, not exploration's)."""
    on, off = segment_study(0, 1.0, 160), segment_study(0, 0.0, 160)
    ops = [t.system_attrs.get("pls:op") for t in on.trials]
    first = ops.index("ring2")
    assert 50 < first
    assert [t.params for t in on.trials[:first]] == [t.params for t in off.trials[:first]]
    assert "ring2" not in [t.system_attrs.get("pls:op") for t in off.trials]
    earlier = [t.params for t in on.trials]
    for k, t in enumerate(on.trials):
        if ops[k] == "ring2":
            assert any(sum(p[n] != t.params[n] for n in p) == 2 for p in earlier[:k])
    fresh = ParetoLocalSearchSampler(seed=0, search_space=SEGMENTS, second_ring=1.0)
    fresh._update(on, SEGMENTS)  # noqa: SLF001
    assert fresh.op_stats["ring2"][0] == ops.count("ring2")
    explore = list(fresh._arm_hist["explore"])  # noqa: SLF001
    for entered in (False, True, False):
        fresh._credit("ring2", entered)  # noqa: SLF001
        assert fresh._arm_hist["local"][-1] == entered and list(fresh._arm_hist["explore"]) == explore  # noqa: SLF001


def test_the_local_model_is_a_kernel_weighted_linear_fit():
    """``predict_local`` by hand. Three feasible trials at positions x = 0, 0.5, 1 with log-objective
    y = 1, 2, 4, fitted around x0 = 0 with h = 0.5: weights exp(-x²/2h²) = 1, e^-0.5 = 0.606531,
    e^-2 = 0.135335 (sum W = 1.741866). Weighted sums: Σwx = 0.438601, Σwy = 2.754402,
    Σwx² = 0.286968, Σwxy = 1.147872; about the weighted means Sxx = 0.286968 - 0.438601²/W = 0.176529,
    Sxy = 1.147872 - 0.438601 · 2.754402 / W = 0.454315. The slope, ridge-penalised by λ = 0.1:
    b = Sxy / (Sxx + λ) = 1.642923; the intercept a = (Σwy - b Σwx) / W = 1.167607. Predictions:
    a = 1.167607 at x = 0, a + b/2 = 1.989069 at 0.5, a + b = 2.810530 at 1. An infeasible trial
    is not in the fit."""
    sur = _Surrogate([_Coord(IntDistribution(0, 2))], n_obj=1)
    for i, y in enumerate((1.0, 2.0, 4.0)):
        sur.add(np.array([float(i)]), True, [math.exp(y)])
    sur.add(np.array([2.0]), False, [math.exp(9.0)])
    got = sur.predict_local(np.array([0.0]), np.array([[0.0], [1.0], [2.0]]), 0.5)
    assert got[:, 0] == pytest.approx([1.167607, 1.989069, 2.810530], abs=2e-6)
    # centred at x0 = 1 the weights are e^-2, e^-0.5, 1, and the fit follows the steeper right-hand side:
    # by the same sums about x0 (distances -1, -0.5, 0), b = 2.187320 and a = 3.621264 at x = 1,
    # a - b/2 = 2.527604 at 0.5
    far = sur.predict_local(np.array([2.0]), np.array([[2.0], [1.0]]), 0.5)
    assert far[:, 0] == pytest.approx([3.621264, 2.527604], abs=2e-6)


def test_the_local_model_orders_the_walk_until_the_first_exhaustion_and_the_state_is_rebuilt():
    """The walk's queues are ordered by the local model until every archive member's one-move
    neighbourhood is spent once; the trials proposed after that carry ``pls:late``, and a fresh sampler
    (resume, another worker) rebuilds the switch from them. Off (``local_surrogate=0``) the walk is
    ordered by the global ridge from the start, and the two runs differ before the exhaustion."""
    on, off = segment_study(0, 1.0, 160), segment_study(0, 1.0, 160, local_surrogate=0.0)
    late = [bool(t.system_attrs.get("pls:late")) for t in on.trials]
    first = late.index(True)
    assert 50 < first and all(late[first:])
    ops = [t.system_attrs.get("pls:op") for t in on.trials]
    assert "ring2" not in ops[:first] and "ring2" in ops[first:]
    assert [t.params for t in on.trials[:first]] != [t.params for t in off.trials[:first]]
    fresh = ParetoLocalSearchSampler(seed=0, search_space=SEGMENTS)
    fresh._update(on, SEGMENTS)  # noqa: SLF001
    assert fresh._exhausted  # noqa: SLF001
    early = optuna.create_study(directions=["minimize", "minimize"])
    early.add_trials(on.trials[:first])
    resumed = ParetoLocalSearchSampler(seed=0, search_space=SEGMENTS)
    resumed._update(early, SEGMENTS)  # noqa: SLF001
    assert not resumed._exhausted  # noqa: SLF001


# ---------------------------------------------------------------------------------------------------
# Stall-driven exploration (docs/search-quality.md §6).

STALL = {"x": IntDistribution(0, 30), "a": IntDistribution(0, 7), "b": IntDistribution(0, 7),
         **{f"y{i}": IntDistribution(0, 9) for i in range(NOISE)}}


def stalling(trial: optuna.Trial):
    """A front (x, with a = b = y = 0) that one-step moves walk in ~100 trials, after which they stop
    paying but are not exhausted (every member keeps ~20 dominated neighbours); a region a, b >= 4
    dominates it by a factor 0.7 but is reached only by changing a and b at once."""
    x, a, b = trial.suggest_int("x", 0, 30), trial.suggest_int("a", 0, 7), trial.suggest_int("b", 0, 7)
    ys = sum(trial.suggest_int(f"y{i}", 0, 9) for i in range(NOISE))
    g = (0.7 if a >= 4 and b >= 4 else 1.0 + 0.05 * (a + b)) * (1 + 0.1 * ys)
    return (1 + x) * g, (31 - x) * g


def stall_study(adaptive: bool, seed: int = 0, n: int = 300):
    """``n`` trials of ``stalling``, the walk ordered by the global surrogate alone: these tests are of
    the allocation, and the local model (``local_surrogate``) moves when the walk stalls (with it, seed 0
    spends 28 of trials 101-250 on exploration, the fixed-rate sampler 14)."""
    s = ParetoLocalSearchSampler(seed=seed, search_space=STALL, n_startup_trials=1, adaptive=adaptive,
                                 local_surrogate=0.0)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=s)
    study.enqueue_trial({"x": 15, "a": 0, "b": 0, **{f"y{i}": 0 for i in range(NOISE)}})
    study.optimize(stalling, n_trials=n)
    return study, [t.system_attrs.get("pls:op") for t in study.trials]


def test_exploration_gets_budget_once_local_moves_stop_paying_and_the_state_is_rebuilt():
    """Stall-driven allocation (``adaptive``): while one-step moves enter the archive, exploration
    keeps a small share (as the fixed-rate sampler's ~8%); once they stop paying it gets a larger
    share (trials 101-250: 40 of 150 with seed 0, where the fixed-rate sampler spends 17 and keeps 90%
    on dominated neighbours), and once exploration stops paying too it gives the budget back (2 of the
    last 50)."""
    study, ops = stall_study(True)
    _, fixed = stall_study(False)
    assert ops[0] is None and ops[1:101].count("explore") <= 20
    assert ops[101:251].count("explore") >= 30 and fixed[101:251].count("explore") <= 20
    assert ops[-50:].count("explore") <= 10
    # a fresh sampler rebuilds the same statistics from the trials' operator tags (resume, workers)
    s = study.sampler
    s._update(study, STALL)   # noqa: SLF001 - fold in the last trial
    r = ParetoLocalSearchSampler(seed=1, search_space=STALL, n_startup_trials=1, adaptive=True)
    r._update(study, STALL)   # noqa: SLF001
    assert r.op_stats == s.op_stats and r._p_explore() == s._p_explore()   # noqa: SLF001


def test_exploration_that_stops_paying_gives_the_budget_back_to_the_walk():
    """The stall term raises exploration to ``explore_cap`` once local moves stop entering the
    archive, but not while a full window of exploration proposals has not paid either (late in a long
    run nothing pays; the walk then keeps finding the front's remaining designs)."""
    s = ParetoLocalSearchSampler(seed=0, adaptive=True, explore_floor=0.05, explore_cap=0.5, explore_window=10)
    local, explore = s._arm_hist["local"], s._arm_hist["explore"]
    s._local_peak = 0.5
    local.extend([0] * 10)                  # local moves stalled: stall = 1
    assert s._p_explore() == 0.5
    explore.extend([0] * 9 + [1])           # exploration paid once in its window: still the cap
    assert s._p_explore() == 0.5
    explore.extend([0] * 10)                # a full window without a success: back to the floor
    p = s._p_explore()
    # probability matching with the priors (local 0.2, explore 0.02, worth 10 outcomes each):
    # q_local = (0 + 2) / 20 = 0.1, q_explore = (0 + 0.2) / 20 = 0.01 -> 0.01 / 0.11 = 0.0909
    assert p == pytest.approx(max(0.05, 0.01 / 0.11))


def test_settled_dimensions_are_left_out_of_the_walk():
    """``settled`` (the mapping sweep's dimensions): one- and two-move neighbourhoods move only the others."""
    space = {"a": IntDistribution(0, 4), "b": IntDistribution(0, 4), "c": CategoricalDistribution(("x", "y"))}
    u = np.array([2.0, 2.0, 0.0])
    for settled, walked in (((), {0, 1, 2}), (("b",), {0, 2}), (("a", "b", "c"), {0, 1, 2})):
        s = ParetoLocalSearchSampler(search_space=space, settled=settled, seed=0)
        s._update(optuna.create_study(directions=["minimize", "minimize"], sampler=s), space)
        assert {i for i, _ in s._moves(u)} == walked, settled   # all settled: nothing left, so all walk
        assert all(m[0] != n[0] and {m[0], n[0]} <= walked for m, n in s._ring(u))
