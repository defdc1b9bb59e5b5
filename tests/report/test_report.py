"""``--report``: inputs, trials, hypervolume history, Pareto table, best design per objective broken down."""
from __future__ import annotations

import math

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from llmhw.report.breakdown import Evaluator, breakdowns
from llmhw.report.data import load_study_data
from llmhw.report.summary import best_per_objective, checkpoints, counts, hv_history
from llmhw.search.pareto import losses
from llmhw.search.progress import FrontTracker

from .conftest import run_cli, search_args


def _stored(root, name="tiny"):
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{root / 'studies' / (name + '.db')}")
    return study, study.get_trials(states=(TrialState.COMPLETE,))


def test_report_prints_every_part(in_studies, capsys):
    assert run_cli(["--study", "tiny", "--report"]) == 0
    out = capsys.readouterr().out
    for text in ("Study tiny", "Inputs", "tpuv4.yaml", "gpt3", "prefill 20 tokens, decode 8 tokens",
                 "fidelity mode", "corrected", "tco_per_mtoken_usd ↓ [$/Mtoken]", "tpot_s ↓ [s]",
                 "sampler", "tpe (seed 1", "mapping sweep on)", "llmhw 0.1.0", "60 COMPLETE", "% of COMPLETE",
                 "Hypervolume history", "Pareto front of tiny", "ref:tpuv4-ref",
                 "Best design per objective", "die area", "die yield", "server cost", "capex", "opex",
                 "electricity", "datacenter", "TTFT", "compute", "memory", "interconnect", "bottleneck",
                 "TPOT", "re-evaluated from the stored inputs"):
        assert text in out, text
    hv_block = out.split("Hypervolume history")[1].split("Pareto front")[0]
    assert sum(1 for line in hv_block.splitlines() if line.startswith("│")) == 10


def test_hypervolume_history_matches_the_progress_bar(studies):
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    hist = hv_history(data.df, data.objectives)
    assert [p.trials for p in hist] == checkpoints(60) == [6, 12, 18, 24, 30, 36, 42, 48, 54, 60]
    _, trials = _stored(studies)
    dirs = [o.direction for o in data.objectives]
    tracker = FrontTracker(len(dirs))
    for t in sorted(trials, key=lambda t: t.number):
        if all(v <= 0 for v in t.constraints.values()):
            tracker.add(losses([t.values], dirs))
    assert hist[-1].feasible == tracker.feasible
    assert hist[-1].hv_progress == pytest.approx(tracker.hypervolume(), rel=1e-12)
    assert hist[-1].hv == pytest.approx(hist[-1].hv_progress, rel=1e-12)  # final bounds = bounds so far
    hvs = [p.hv for p in hist]
    assert all(b >= a * (1 - 1e-12) for a, b in zip(hvs, hvs[1:])) and 0 < hvs[-1] <= 1.1 ** 3   # up to rounding


def test_best_designs_and_their_breakdown(studies):
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    _, trials = _stored(studies)
    feasible = [t for t in trials if t.user_attrs["feasible"]]
    bests = best_per_objective(data)
    assert [o.name for o, _ in bests] == ["tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s"]
    for k, (o, number) in enumerate(bests):
        best = min(t.values[k] * o.sign for t in feasible)
        assert data.trial(number).values[k] * o.sign == best
    bds = breakdowns(data, [n for _, n in bests])
    for b in bds:
        assert b.source == "re-evaluated from the stored inputs" and not b.notes
        v = b.values
        assert v["ttft_s"] == pytest.approx(v["prefill_compute_s"] + v["prefill_mem_s"] + v["prefill_io_s"])
        assert v["decode_latency_s"] == pytest.approx(v["decode_compute_s"] + v["decode_mem_s"] + v["decode_io_s"])
        assert v["capex_usd"] == pytest.approx(sum(v[f"x.tco.{k}"] for k in ("srv_amortization", "srv_interest",
                                                                               "srv_opex")))
        assert v["opex_usd"] == pytest.approx(sum(v[f"x.tco.{k}"] for k in ("srv_power", "pue_overhead",
                                                                             "dc_amortization", "dc_interest",
                                                                             "dc_opex")))
        assert v["server_cost_usd"] == pytest.approx(sum(v[k] for k in v if k.startswith("x.srv.")))
        assert v["package_cost_usd"] == pytest.approx(sum(v[k] for k in v if k.startswith("x.pkg.")
                                                          and k.endswith("_usd")))
        assert v["chip_area_mm2"] == pytest.approx(v["x.chip.sram_area_mm2"] + v["x.chip.mac_area_mm2"]
                                                   + v["x.chip.other_area_mm2"])
        assert v["design.prefill_bottleneck"] in ("Compute", "Memory", "Interconnect", "")
        assert 0 < v["die_yield"] <= 1
        assert {"design.chip_id", "x.servers_chips", "x.mapping"} <= set(v)


def test_breakdown_falls_back_to_the_stored_attributes(studies):
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    data.attrs["llmhw"] = {}  # as if made by another tool: nothing to re-evaluate from
    (o, number), *_ = best_per_objective(data)
    b = Evaluator(data).breakdown(data.trial(number))
    assert b.source == "stored attributes" and "no stored inputs" in b.notes[0]
    keys = {r[2] for r in b.rows()}
    assert {"chip_area_mm2", "die_yield", "capex_usd", "opex_usd", "prefill_io_s",
            "design.decode_bottleneck"} <= keys
    assert not any(k.startswith("x.tco.") for k in keys)
    assert math.isclose(b.values[o.name], data.trial(number).values[0])


def test_counts(studies):
    data = load_study_data("tiny", f"sqlite:///{studies / 'studies' / 'tiny.db'}")
    c = counts(data)
    assert (c.total, c.complete, c.failed, c.references) == (60, 60, 0, 1)
    assert 0 < c.feasible < 60 and 0 < c.front_designs <= c.front <= c.feasible
    loss = losses(data.front[[f"objective.{o.name}" for o in data.objectives]].to_numpy(), data.directions)
    assert np.isfinite(loss).all()


def test_report_errors_are_one_line(in_studies, capsys):
    assert run_cli(["--study", "nope", "--report"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no study 'nope'" in err and "--list" in err
    assert run_cli(["--report"]) == 2
    assert "need --study NAME" in capsys.readouterr().err


def test_search_then_report_in_one_command(in_studies, capsys):
    assert run_cli(search_args("fresh", "gpt3", 16) + ["--report"]) == 0
    out = capsys.readouterr().out
    assert "study fresh (new)" in out and "Best design per objective" in out and "16 COMPLETE" in out


def test_report_on_a_study_not_made_by_llmhw(tmp_path, capsys):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{tmp_path / 'other.db'}"
    study = optuna.create_study(study_name="other", storage=url, directions=["minimize", "maximize"],
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.set_metric_names(["cost", "speed"])

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("limit", x - 0.8)
        return x * x, x

    study.optimize(objective, n_trials=20)
    assert run_cli(["--study", "other", "--storage", url, "--report", "--export", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "not llmhw" in out and "cost ↓" in out and "best speed ↑" in out and "20 COMPLETE" in out
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 1000
    # cost = x², speed = x: every feasible trial (x ≤ 0.8) is non-dominated
    feasible = {t.number for t in study.trials if t.params["x"] <= 0.8}
    assert set(pd.read_csv(tmp_path / "out" / "pareto.csv")["number"]) == feasible
