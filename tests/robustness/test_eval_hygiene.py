"""Evaluator hygiene inside a real search (issue 6).

- an exception inside one evaluation fails that trial only (FAIL, with the design and the traceback
  in its user attrs and a one-line warning) and the study goes on to its budget;
- NaN/inf metrics never reach Optuna: the stored values and constraints are finite, the trial is
  infeasible, the honest value is kept as a string in the user attrs;
- an evaluator that fails every time stops the run after two batches with one line, keeping what
  it stored.
"""
from __future__ import annotations

import math

import optuna
import pytest
from optuna.trial import TrialState

from llmhw import evaluate
from llmhw.cli import main

from .conftest import small_search


@pytest.fixture
def flaky_evaluator(monkeypatch):
    """Problem.evaluate raises for every point with batch 64 (and evaluate_many falls back to it)."""
    original = evaluate.Problem.evaluate

    def evaluate_(self, point):
        if point.batch == 64:
            raise ZeroDivisionError("simulated bug for batch 64")
        return original(self, point)

    monkeypatch.setattr(evaluate.Problem, "evaluate", evaluate_)
    monkeypatch.setattr(evaluate.Problem, "evaluate_many", lambda self, pts: [self.evaluate(p) for p in pts])


def test_a_failing_evaluation_fails_one_trial_and_the_study_goes_on(workdir, capsys, flaky_evaluator):
    assert main(small_search("--sampler", "random", "--seed", "7", "--batch-size", "20", trials=80, study="e")) == 0
    out = capsys.readouterr().out
    study = optuna.load_study(study_name="e", storage="sqlite:///studies/e.db")
    trials = study.get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert len([t for t in trials if t.state == TrialState.COMPLETE]) == 80
    assert failed, "the seed should hit batch 64 at least once"
    for t in failed:
        assert t.user_attrs["error"] == "ZeroDivisionError: simulated bug for batch 64"
        assert "Traceback" in t.user_attrs["traceback"] and "simulated bug" in t.user_attrs["traceback"]
        design = t.user_attrs["design"]
        assert design["batch"] == 64 and design["chip"]["chip_id"] == "tpuv4"
        assert t.values is None and t.user_attrs["feasible"] is False
    warnings = [line for line in out.splitlines() if line.startswith("warning: trial ")]
    assert len(warnings) == min(len(failed), 10)
    assert warnings[0].startswith(f"warning: trial {failed[0].number} failed: ZeroDivisionError: simulated bug")
    assert "design and traceback stored in its user attrs; the search goes on" in warnings[0]
    assert all(t.user_attrs["design"]["batch"] != 64 for t in trials if t.state == TrialState.COMPLETE)


def test_nonfinite_metrics_never_reach_optuna(workdir, capsys, monkeypatch):
    original = evaluate.Problem.evaluate

    def evaluate_(self, point):
        r = original(self, point)
        if point.batch >= 32:
            metrics = dict(r.metrics, tco_per_mtoken_usd=math.inf, tpot_s=math.nan,
                           throughput_tok_per_s=-math.inf)
            violations = dict(r.violations, sys_memory_bytes=math.nan, map_memory_bytes=math.inf)
            return evaluate.Result(metrics, violations, r.reasons, r.design)
        return r

    monkeypatch.setattr(evaluate.Problem, "evaluate", evaluate_)
    monkeypatch.setattr(evaluate.Problem, "evaluate_many", lambda self, pts: [self.evaluate(p) for p in pts])
    assert main(small_search("--sampler", "tpe", "--seed", "3", trials=40, study="n")) == 0
    capsys.readouterr()
    study = optuna.load_study(study_name="n", storage="sqlite:///studies/n.db")
    bad = 0
    for t in study.get_trials(states=(TrialState.COMPLETE,)):
        assert all(math.isfinite(v) for v in t.values)
        cons = [v for k, v in t.system_attrs.items() if k.startswith("constraints")]
        cons = cons[0] if cons and isinstance(cons[0], list) else cons
        assert cons and all(math.isfinite(v) for v in cons)
        if t.user_attrs["design"]["batch"] >= 32:
            bad += 1
            assert t.user_attrs["feasible"] is False
            assert t.user_attrs["tco_per_mtoken_usd"] == "inf" and t.user_attrs["tpot_s"] == "nan"
            assert t.user_attrs["violations"]["map_memory_bytes"] == "inf"
    assert bad > 0


def test_an_evaluator_that_always_fails_stops_with_one_line(workdir, capsys, monkeypatch):
    def broken(self, point):
        raise RuntimeError("evaluator is broken")

    monkeypatch.setattr(evaluate.Problem, "evaluate", broken)
    monkeypatch.setattr(evaluate.Problem, "evaluate_many", lambda self, pts: [self.evaluate(p) for p in pts])
    rc = main(small_search("--sampler", "random", "--batch-size", "10", trials=50, study="x"))
    captured = capsys.readouterr()
    assert rc == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "the last 20 evaluations all failed (RuntimeError: evaluator is broken)" in lines[0]
    assert "Traceback" not in captured.err
    study = optuna.load_study(study_name="x", storage="sqlite:///studies/x.db")
    assert [t.state for t in study.get_trials()] == [TrialState.FAIL] * 20
