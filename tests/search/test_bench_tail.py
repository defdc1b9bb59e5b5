"""The search bench's tail statistic (issue 16): the share of runs below the HV goal and its Wilson
interval. Golden numbers computed by hand from the Wilson score formula, z = 1.96."""
import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "bench_search", Path(__file__).resolve().parents[2] / "bench" / "bench_search.py")
bench = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_search", bench)   # its dataclasses look their module up
_spec.loader.exec_module(bench)


@pytest.mark.parametrize("k, n, lo, hi", [
    # p = 2/30: centre (0.06667 + 3.8416/60) / (1 + 3.8416/30) = 0.13070 / 1.12805 = 0.11586;
    # half 1.96 * sqrt(0.0020741 + 0.0010671) / 1.12805 = 0.097381
    (2, 30, 0.018477, 0.213238),
    # p = 0: centre = half = (3.8416/20) / 1.38416 = 0.138770
    (0, 10, 0.0, 0.277540),
    (10, 10, 0.722460, 1.0),
])
def test_wilson_interval_matches_the_hand_calculation(k, n, lo, hi):
    got = bench.wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=2e-6)


def test_the_tail_cell_counts_runs_strictly_below_the_goal():
    assert bench.tail_cell([0.949, 0.95, 0.99], 0.95).startswith("1/3 ")
    assert bench.tail_cell([0.96] * 30, 0.95) == "0/30 (0%–11%)"


def test_a_case_whose_model_llmhw_rejects_ends_the_bench_with_one_line(tmp_path, monkeypatch, capsys):
    good = (bench.MODELS / "gpt3.yaml").read_text()
    (tmp_path / "odd.yaml").write_text(good.replace("num_heads: 96", "num_heads: 97"))
    monkeypatch.setattr(bench, "MODELS", tmp_path)
    with pytest.raises(SystemExit) as e:
        bench.make_setup(bench.parse_case("odd:256:64"))
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("bench_search: --cases 'odd:256:64': ") and "num_heads" in err


def test_an_extreme_counts_as_reached_within_one_percent_of_the_true_best():
    import numpy as np
    # losses: (tco, tpot, -throughput); the true bests are 1.0, 0.5 and -100 (throughput 100)
    front = np.array([[1.0, 0.9, -50.0], [2.0, 0.5, -80.0], [3.0, 0.8, -100.0]])
    found = np.array([[1.009, 0.6, -60.0], [2.5, 0.52, -99.5]])
    # tco 1.009 <= 1.0 + 0.01; tpot 0.52 > 0.5 + 0.005; throughput 99.5 >= 100 - 1
    assert bench.reached_extremes(front, found) == [True, False, True]
    assert bench.reached_extremes(front, np.zeros((0, 3))) == [False, False, False]
    assert bench.missed_extremes_note([True, False, True], ("tco", "tpot", "thr")) == " (misses the best tpot)"
    assert bench.missed_extremes_note([True, True, True], ("tco", "tpot", "thr")) == ""


def test_the_tail_line_counts_which_best_value_the_runs_below_the_goal_miss():
    def run(label, hv, ext):
        return {"label": label, "at": {"1000": {"hv": hv, "extremes": ext}}}
    runs = [run("auto", 0.90, [True, True, False]), run("auto", 0.94, [False, True, False]),
            run("auto", 0.99, [False, False, False]),          # above the goal: not counted
            run("tpe", 0.97, [True, True, True])]
    lines = bench.tail_extremes_lines(runs, 1000, 0.95, ("tco", "tpot", "thr"))
    assert lines == ["auto @1,000: 2 runs below 0.95; the best value (within 1%) missed: tco in 1, tpot in 0, thr in 2"]
    assert bench.tail_extremes_lines(runs, 200, 0.95, ("tco", "tpot", "thr")) == []


def test_the_tail_line_says_how_many_runs_below_the_goal_their_visited_hardware_would_lift():
    def run(hv, visited):
        return {"label": "auto", "at": {"1000": {"hv": hv, "extremes": [True, True, False],
                                                  "visited": {"hv": visited}}}}
    runs = [run(0.90, 0.97), run(0.93, 0.94), run(0.94, 0.99), run(0.98, 0.99)]
    (line,) = bench.tail_extremes_lines(runs, 1000, 0.95, ("tco", "tpot", "thr"))
    # the three runs below 0.95 have 0.97, 0.94, 0.99 with their hardware's best mappings: two reach it
    assert line.endswith("; with the best mappings of the hardware they had evaluated, 2 of them reach 0.95 "
                         "(HV worst 0.940, median 0.970)")


# losses (tco, tpot, -throughput) of a two-point true front, both on hardware "big"; hardware "mid" holds
# only its first point; any other hardware ("small", "bad": an invalid one) has no front of its own
TRUE_LOSS = np.array([[1.0, 2.0, -100.0], [2.0, 1.0, -50.0]])


class OwnFronts:
    """Stands in for :class:`HardwareFronts`: each hardware's own front, by its ``hw`` param."""
    names = ["hw"]

    def front(self, params):
        return {"big": TRUE_LOSS, "mid": TRUE_LOSS[:1]}.get(params["hw"], np.zeros((0, 3)))


def two_point_case():
    """(true front, setup, its hypervolume) of ``TRUE_LOSS``."""
    from llmhw.search.pareto import hypervolume
    tf = bench.TrueFront(TRUE_LOSS, [{}, {}], 0, 2, 0, 2)
    setup = SimpleNamespace(directions=["minimize", "minimize", "maximize"])
    return tf, setup, hypervolume(TRUE_LOSS, TRUE_LOSS.min(axis=0), TRUE_LOSS.max(axis=0), log=True)


def trial(hw, values, feasible):
    from optuna.trial import TrialState
    return SimpleNamespace(state=TrialState.COMPLETE, params={"hw": hw, "batch": 1}, values=values,
                           user_attrs={"feasible": feasible})


def test_visited_scores_add_the_front_of_every_hardware_a_run_evaluated_feasible_or_not():
    tf, setup, hv_true = two_point_case()
    own = [trial("small", [1.5, 2.0, 60.0], True)]
    # normalised on the log scale the true front is (0, 1, 0) and (1, 0, 1): boxes to the reference point
    # 1.1 of 1.1·0.1·1.1 + 0.1·1.1·0.1 - 0.1·0.1·0.1 = 0.131; the own design (1.5, 2, 60) is at
    # (log 1.5 / log 2, 1, (log 100 - log 60) / log 2) = (0.58496, 1, 0.73697): 0.51504·0.1·0.36303
    own_hv = bench.scores(tf, bench.feasible_losses(own, setup, 1), hv_true)["hv"]
    assert own_hv == pytest.approx(0.51504 * 0.1 * 0.36303 / 0.131, rel=1e-4)
    # an infeasible trial on "big" is a visit too: with its hardware's best mappings the run has the
    # whole true front; "bad" (an invalid hardware, no feasible point) adds nothing
    stored = own + [trial("big", [9.0, 9.0, 1.0], False), trial("bad", [1.0, 1.0, 1.0], False)]
    for n in (3, 2):
        got = bench.visited_scores(stored, setup, OwnFronts(), n, tf, hv_true)
        assert got["hv"] == pytest.approx(1.0) and got["recall"] == 1.0
    got = bench.visited_scores(stored, setup, OwnFronts(), 1, tf, hv_true)
    assert got["hv"] == pytest.approx(own_hv) and got["recall"] == 0.0
    bad_only = own + [trial("bad", [1.0, 1.0, 1.0], False)]
    assert bench.visited_scores(bad_only, setup, OwnFronts(), 2, tf, hv_true)["hv"] == pytest.approx(own_hv)


def test_swept_scores_add_the_front_of_every_hardware_on_the_run_s_front_only():
    tf, setup, hv_true = two_point_case()
    # the run's front is its one design on "mid"; its feasible design on "big" is dominated by it (worse
    # in every objective) and its infeasible one is no front design: only "mid" is swept, adding (1, 2, 100),
    # which is the true front's first point, normalised (0, 1, 0): its box to the reference point 1.1 is
    # 1.1 · 0.1 · 1.1 = 0.121 of the true front's 0.131 (the test above)
    stored = [trial("mid", [1.5, 2.0, 60.0], True), trial("big", [3.0, 3.0, 10.0], True),
              trial("big", [1.0, 1.0, 200.0], False)]
    got = bench.swept_scores(stored, setup, OwnFronts(), 3, tf, hv_true)
    assert got["hv"] == pytest.approx(0.121 / 0.131, rel=1e-4) and got["recall"] == 0.5
    assert (got["hardware"], got["designs"]) == (1, 1)
    # --visited counts the "big" visits, and gets the whole front
    assert bench.visited_scores(stored, setup, OwnFronts(), 3, tf, hv_true)["hv"] == pytest.approx(1.0)
    # once the design on "big" is on the run's front, both are swept and the front is whole
    stored.append(trial("big", [1.2, 2.5, 55.0], True))   # cheaper than the "mid" design: on the front
    got = bench.swept_scores(stored, setup, OwnFronts(), 4, tf, hv_true)
    assert got["recall"] == 1.0 and (got["hardware"], got["designs"]) == (2, 3)
    # no feasible design: nothing to sweep
    got = bench.swept_scores(stored[2:3], setup, OwnFronts(), 1, tf, hv_true)
    assert got["hv"] == 0.0 and (got["hardware"], got["designs"]) == (0, 0)
