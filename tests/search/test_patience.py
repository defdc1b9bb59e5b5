"""``patience``: a search stops once its feasible front has gained no point for K batches (issue 16)."""
from __future__ import annotations

import io
import re

import numpy as np
import optuna
import pytest
from rich.console import Console

from llmhw.errors import UsageError
from llmhw.search.pareto import front_mask, losses
from llmhw.search.progress import FrontTracker, Patience, stopping_line, trials_at_last_front_gain
from llmhw.search.runner import Runner, run_record_for
from llmhw.study.opening import open_study
from llmhw.search.samplers import choose
from llmhw.search.setup import InputText, StudyInputs, build_setup

from .conftest import CONSTANTS, HW, MODEL, SYS, cli_args, run_cli
from .fake_problem import FakeProblem

optuna.logging.set_verbosity(optuna.logging.WARNING)
OBJECTIVES = ("tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s")


def test_front_tracker_counts_only_new_front_vectors():
    t = FrontTracker(2)
    assert t.add(np.array([[1.0, 3.0], [3.0, 1.0]])) == 2
    assert t.add(np.array([[1.0, 3.0]])) == 0          # the same vector again: no gain
    assert t.add(np.array([[2.0, 2.5], [4.0, 4.0]])) == 1
    assert t.add(np.array([[0.5, 0.5]])) == 1          # dominates all: one new point
    p = Patience(2)
    for gained, stalled, done in ((0, 1, False), (3, 0, False), (0, 1, False), (0, 2, True)):
        p.update(gained)
        assert (p.stalled, p.done) == (stalled, done)
    assert not Patience(None).done


def test_patience_must_be_positive():
    with pytest.raises(UsageError, match="patience must be >= 1"):   # the search layer names no flag
        choose("auto", 100, None, patience=0)


def _setup():
    # the 432-point space of the tpuv5p lists with the mapping chosen by the evaluator
    return build_setup(StudyInputs(hw=InputText.read(HW), system=InputText.read(SYS), model=InputText.read(MODEL),
                                   constants=InputText.read(CONSTANTS), space=None, enqueue=None, compat=None,
                                   workload=(256, 64), mapping="best", objectives=OBJECTIVES))


@pytest.mark.parametrize("patience", [None, 4])
def test_a_converged_search_stops_before_its_trial_cap(tmp_path, patience):
    """On a 432-point space the front stops growing long before 1,500 trials: with patience 4 the
    run stops after 4 batches without a front gain; without it, it runs the whole budget."""
    setup = _setup()
    assert setup.space.size() == 432
    cap = 1500 if patience else 200
    choice = choose("random", cap, 20, patience=patience)
    study, _ = open_study(setup, "p", f"sqlite:///{tmp_path / 'p.db'}", run_record_for(choice, 0, cap))
    out = io.StringIO()
    console = Console(file=out, width=200, force_terminal=False)
    res = Runner(setup, FakeProblem(model=setup.model), study, choice, 0, cap, console=console).run()
    assert ("no front gain 4/4 batches" in out.getvalue()) == bool(patience)   # the progress bar says why
    assert re.search(r"no front gain \d+ batches", out.getvalue()) or patience   # and without patience, how long
    trials = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert res.complete == len(trials)
    if patience is None:
        assert not res.converged and res.complete == cap
        return
    assert res.converged and res.complete < cap and res.complete % 20 == 0
    feas = [t for t in trials if t.user_attrs["feasible"]]
    before = [t for t in feas if t.number < res.complete - 4 * 20]

    def front(ts):
        loss = losses([t.values for t in ts], setup.directions)
        return {tuple(r) for r in loss[front_mask(loss)]}
    assert front(feas) == front(before)            # the last 4 batches added nothing to the front
    earlier = [t for t in feas if t.number < res.complete - 5 * 20]
    assert front(earlier) != front(before)          # the batch before them did


# six trials in batches of two, both objectives minimised (worked by hand):
# batch [0, 2): (2, 2) joins the empty front                      -> a gain, ends at trial 2
# batch [2, 4): (1, 3) is not dominated by (2, 2)                 -> a gain, ends at trial 4
# batch [4, 6): (2, 2.5) is dominated by (2, 2); (0, 0) is infeasible and does not count -> none
_LOSS = np.array([[2, 2], [3, 3], [1, 3], [5, 5], [2, 2.5], [0, 0]], dtype=float)
_FEAS = np.array([True, True, True, False, True, False])


def test_the_last_front_gain_is_counted_by_batch_as_patience_counts_it():
    assert trials_at_last_front_gain(_LOSS, _FEAS, 2) == 4
    assert trials_at_last_front_gain(_LOSS, _FEAS, 3) == 3     # [0, 3) gains, [3, 6) does not
    assert trials_at_last_front_gain(_LOSS, np.zeros(6, dtype=bool), 2) == 0
    again = np.vstack([_LOSS, [[1, 3], [2, 2]]])               # the same vectors again: no gain
    assert trials_at_last_front_gain(again, np.r_[_FEAS, True, True], 2) == 4


def test_the_stopping_line_says_whether_the_front_was_still_growing():
    grow = stopping_line(_LOSS, _FEAS, 2, None)                 # 2 quiet trials < 50 batches of 2
    assert grow.startswith("the front was still growing: it last gained a point in the batch that ended after 4 of 6 "
                           "trials")
    assert "--patience 50" in grow
    assert "--patience" not in stopping_line(_LOSS, _FEAS, 2, 5)   # the user gave one: no advice
    done = stopping_line(_LOSS, _FEAS, 2, 1)                    # 1 quiet batch >= patience 1
    assert done == ("the front gained no point in the last 2 trials (1 batch, after the first 4): "
                    "--patience 1 would have stopped the run after 6 trials")
    assert stopping_line(_LOSS, np.zeros(6, dtype=bool), 2, None).startswith("no feasible design in 6 trials")


def test_the_stopping_line_names_the_first_stop_patience_would_have_made():
    """Batches of one: (2, 2) gains at 1, (3, 3) none at 2 (patience 1 stops here), (1, 3) gains at 3,
    (3, 3) none at 4. The front was quiet after the first 3 trials, but --patience 1 would have ended
    the run after 2, not after 3 + 1."""
    loss = np.array([[2, 2], [3, 3], [1, 3], [3, 3]], dtype=float)
    line = stopping_line(loss, np.ones(4, dtype=bool), 1, 1)
    assert line.endswith("(1 batch, after the first 3): --patience 1 would have stopped the run after 2 trials")


def test_a_search_and_its_report_end_with_the_stopping_line(workdir, capsys):
    assert run_cli(cli_args("--sampler", "random", "--seed", "3", "--batch-size", "4", trials=24, study="s")) == 0
    ran = capsys.readouterr().out
    line = next(x for x in ran.splitlines() if x.startswith(("the front was still growing", "the front gained no")))
    assert run_cli(["--study", "s", "--report", "--no-progress"]) == 0
    report = " ".join(capsys.readouterr().out.split())        # the report may wrap the line
    assert " ".join(line.split()) in report
