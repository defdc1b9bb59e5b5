"""``patience``: a search stops once its feasible front has gained no point for K batches (issue 16)."""
from __future__ import annotations

import io

import numpy as np
import optuna
import pytest
from rich.console import Console

from llmhw.errors import UsageError
from llmhw.search.pareto import front_mask, losses
from llmhw.search.progress import FrontTracker, Patience
from llmhw.search.runner import Runner, run_record_for
from llmhw.study.opening import open_study
from llmhw.search.samplers import choose
from llmhw.search.setup import InputText, StudyInputs, build_setup

from .conftest import CONSTANTS, HW, MODEL, SYS
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
