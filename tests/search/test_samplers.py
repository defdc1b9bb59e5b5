"""Contract test: every sampler name runs a short study on the same space and stores it fully."""
from __future__ import annotations

import math

import optuna
import pytest

from llmhw.errors import UsageError
from llmhw.search.samplers import SAMPLERS, choose, have_torch
from llmhw.violations import CONSTRAINT_NAMES

from .conftest import cli_args, run_cli

N = 12


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_runs_a_short_study(workdir, sampler, capsys):
    if sampler == "gp" and not have_torch():
        with pytest.raises(UsageError, match="needs PyTorch"):
            choose("gp", N, None)
        assert run_cli(cli_args("--sampler", "gp", "--seed", "3", trials=N, study="s")) == 2
        assert "needs PyTorch" in capsys.readouterr().err
        return
    rc = run_cli(cli_args("--sampler", sampler, "--seed", "3", "--batch-size", "5", trials=N, study="s"))
    assert rc == 0
    study = optuna.load_study(study_name="s", storage="sqlite:///studies/s.db")
    trials = study.get_trials()
    assert len(trials) == N and all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert study.metric_names == ["tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s"]
    names = None
    for t in trials:
        assert all(math.isfinite(v) for v in t.values)
        cons = t.constraints
        assert names is None or set(cons) == names
        names = set(cons)
        assert all(math.isfinite(v) for v in cons.values())
        ua = t.user_attrs
        assert ua["feasible"] == all(v <= 0 for v in cons.values())
        assert set(ua["violations"]) == set(names)
        assert {"ttft_s", "tpot_s", "tco_per_mtoken_usd", "design", "dims", "fidelity"} <= set(ua)
        assert ua["fidelity"] == "corrected"
    assert names == set(CONSTRAINT_NAMES) | {"nonfinite_objective"}
    sa = study.user_attrs
    assert sa["model"] == "llama2" and sa["workload"] == {"prefill_len": 1024, "decode_len": 256}   # tpuv5p.yaml's first eval_len pair
    assert sa["llmhw"]["identity"]["hw"]["text"].startswith("Name: tpuv5p")
    assert [d["name"] for d in sa["space"]][0] == "Chip.sram"
    assert (workdir / "outputs" / "s" / "pareto.csv").exists()


def test_grid_refuses_ranges(workdir, tmp_path, capsys):
    space = tmp_path / "r.yaml"
    space.write_text("hardware:\n  Chip:\n    perf: {low: 200.0e+12, high: 600.0e+12}\n")
    assert run_cli(cli_args("--sampler", "grid", "--space", str(space), study="g")) == 2
    assert "grid sampler cannot enumerate the range dimension Chip.perf" in capsys.readouterr().err
    assert not (workdir / "studies" / "g.db").exists()


def test_grid_budget_equal_to_the_grid_size_completes(workdir, tmp_path):
    # 2 server counts × 2 batches (1, 2) = 4 grid points; Optuna's GridSampler called Study.stop() on the
    # last tell, which raises outside Study.optimize (the runner's ask/tell loop).
    space = tmp_path / "g.yaml"
    space.write_text("hardware:\n  Chip: {sram: 300.0e+6, hbm_channels: 48}\n"
                     "  Server: {num_lanes: 2, packages_per_lane: 2}\n"
                     "system:\n  num_servers: [1, 2]\n  workload: {max_batch: 2}\n")
    assert run_cli(cli_args("--sampler", "grid", "--mapping", "best", "--space", str(space), "--batch-size", "5",
                            trials=4, study="g")) == 0
    trials = optuna.load_study(study_name="g", storage="sqlite:///studies/g.db").get_trials()
    assert len(trials) == 4 and len({(t.params["system.num_servers"], t.params["batch_log2"]) for t in trials}) == 4


def test_unknown_names_are_usage_errors(workdir, capsys):
    assert run_cli(cli_args("--objectives", "tco_per_mtoken,tpott", study="u")) == 2
    assert "unknown objective 'tpott'" in capsys.readouterr().err
    with pytest.raises(UsageError, match="did you mean 'nsga2'"):
        choose("nsgaa2", 10, None)


def test_auto_resolves_by_budget(monkeypatch):
    import llmhw.search.samplers as samplers
    monkeypatch.setattr(samplers, "have_torch", lambda: False)
    w = samplers.PLS_WARMUP
    assert [choose("auto", n, None).name for n in (10, w, w + 1, 5000)] == ["tpe", "tpe", "pls", "pls"]
    monkeypatch.setattr(samplers, "have_torch", lambda: True)
    assert [choose("auto", n, None).name for n in (samplers.AUTO_GP_UP_TO, samplers.AUTO_GP_UP_TO + 1)] \
        == ["gp", "tpe"]
    assert choose("auto", 5000, None) == samplers.SamplerChoice("auto", "pls", 10)
