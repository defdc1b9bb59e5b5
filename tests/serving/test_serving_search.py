"""The serving mode through the evaluator door and the search (spaces/pd_disaggregated.yaml)."""
from __future__ import annotations

import math

import optuna
import pytest

from llmhw.errors import ConfigError
from llmhw.evaluate import Problem
from llmhw.metrics import ALL_METRICS
from llmhw.search.setup import InputText, StudyInputs, build_setup
from tests.search.conftest import REPO, run_cli

SPACE = REPO / "spaces/pd_disaggregated.yaml"
H100_SYS = REPO / "inputs/software/system/h100.yaml"


def _h100_sys_16bit() -> str:
    """The shipped H100 system file with one precision: it searches weight/act/KV bits (docs/models.md), and
    a serving study needs a concrete system apart from num_servers."""
    text = H100_SYS.read_text()
    for key in ("weight_bits", "act_bits", "kv_bits"):
        text = "\n".join(f"{key}: 16" if line.startswith(f"{key}:") else line for line in text.split("\n"))
    return text


def _setup(space_text: str | None = None, limits: dict | None = None):
    space = InputText(str(SPACE), space_text if space_text is not None else SPACE.read_text())
    inp = StudyInputs(hw=InputText.read(REPO / "inputs/hardware/config/h100.yaml"),
                      system=InputText.read(REPO / "inputs/software/system/h100.yaml"),
                      model=InputText.read(REPO / "inputs/software/model/llama3-70B.yaml"),
                      constants=InputText.read(REPO / "inputs/hardware/constant/7nm_default.yaml"),
                      space=space, enqueue=None, compat=None, workload=(1024, 256), mapping="explicit",
                      objectives=("goodput_per_musd", "ttft", "tpot"), limits=limits or {})
    setup = build_setup(inp)
    return setup, Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)


def _params(space, **values):
    params = space.default_params()
    params.update(space.encode(values))
    return params


def test_serving_space_dimensions_and_points():
    setup, problem = _setup()
    names = {d.name.removesuffix("#i") for d in setup.space.dims}
    assert {"serving.mode", "serving.chunk_tokens", "serving.pd_ratio", "prefill.hardware",
            "decode.hardware", "decode.num_servers", "decode.p"} <= names
    for mode in ("aggregated", "disaggregated"):
        r = problem.evaluate(setup.space.point(_params(setup.space, **{"serving.mode": mode})))
        assert r.feasible, r.reasons
        assert r.metrics["goodput_rps"] > 0 and r.metrics["goodput_per_musd"] > 0
        assert r.metrics["ttft_s"] <= 1.0 + 1e-9 and r.metrics["tpot_s"] <= 0.04 + 1e-9   # the space's SLO
        assert set(r.metrics) <= set(ALL_METRICS)
        assert r.design["serving_mode"] == mode


def test_inert_dimensions_share_the_cache_key():
    setup, _ = _setup()
    s = setup.space
    a = _params(s, **{"serving.mode": "aggregated", "prefill.hardware": "h100"})
    b = _params(s, **{"serving.mode": "aggregated", "prefill.hardware": "memory_heavy"})
    assert s.canonical(a) == s.canonical(b)
    a["serving.mode"] = b["serving.mode"] = "disaggregated"
    assert s.canonical(a) != s.canonical(b)


def test_slo_flag_overrides_the_space_and_tightens_goodput():
    setup, problem = _setup()
    loose = problem.evaluate(setup.space.point(setup.space.default_params()))
    setup2, problem2 = _setup(limits={"max_tpot": 0.025})
    tight = problem2.evaluate(setup2.space.point(setup2.space.default_params()))
    assert setup2.space.serving_workload.slo_tpot_s == 0.025
    assert tight.metrics["goodput_rps"] < loose.metrics["goodput_rps"]


def test_bad_serving_section_is_one_config_error():
    with pytest.raises(ConfigError) as exc:
        _setup(SPACE.read_text().replace("mode: [aggregated, disaggregated]", "mode: [aggregated, split]"))
    assert "serving.mode" in str(exc.value)
    with pytest.raises(ConfigError):
        _setup(SPACE.read_text().replace("prompt: {mean: 2048, spread: 0.5}", "prompt: {mean: -3}"))


def test_serving_search_runs_on_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = run_cli(["--space", str(SPACE), "--hw", str(REPO / "inputs/hardware/config/h100.yaml"),
                  "--sys", str(REPO / "inputs/software/system/h100.yaml"), "--model", str(REPO / "inputs/software/model/llama3-70B.yaml"),
                  "--constants", str(REPO / "inputs/hardware/constant/7nm_default.yaml"),
                  "--objectives", "goodput_per_musd,ttft,tpot", "--slo-ttft", "1.5", "--trials", "30",
                  "--seed", "1", "--no-progress", "--study", "srv"])
    assert rc == 0
    study = optuna.load_study(study_name="srv", storage="sqlite:///studies/srv.db")
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) == 30
    feasible = [t for t in done if t.user_attrs["feasible"]]
    assert feasible and all(math.isfinite(t.values[0]) and t.values[0] > 0 for t in feasible)
    assert all(t.user_attrs["ttft_s"] <= 1.5 + 1e-9 for t in feasible)


def test_system_file_serving_block_makes_an_aggregated_study():
    """A system file's ``serving:`` block (schema-validated) alone: aggregated, num_servers is the pool size."""
    sys_text = _h100_sys_16bit() + (
        "serving:\n  prompt: {values: [512, 4096], weights: [3, 1]}\n  output: 200\n  rate: 2.0\n"
        "  slo: {ttft: 2.0, tpot: 0.05}\n")
    inp = StudyInputs(hw=InputText.read(REPO / "inputs/hardware/config/h100.yaml"),
                      system=InputText("sys_serving.yaml", sys_text),
                      model=InputText.read(REPO / "inputs/software/model/llama3-70B.yaml"),
                      constants=InputText.read(REPO / "inputs/hardware/constant/7nm_default.yaml"),
                      space=None, enqueue=None, compat=None, workload=(1024, 256), mapping="explicit",
                      objectives=("goodput_per_musd",), limits={})
    setup = build_setup(inp)
    assert [d.name for d in setup.space.dims] == ["decode.num_servers#i"]       # [1, 2, 4, 8]
    problem = Problem(setup.hw, setup.system, setup.model, setup.constants, setup.fidelity)
    r = problem.evaluate(setup.space.point(setup.space.default_params()))
    assert r.design["serving_mode"] == "aggregated" and r.metrics["load_rps"] == 2.0     # the offered load
    assert r.metrics["throughput_tok_per_s"] == pytest.approx(2.0 * 200)
    bad = InputText("sys_serving.yaml", sys_text.replace("rate: 2.0", "rate: -1"))
    with pytest.raises(ConfigError):
        build_setup(StudyInputs(**{**inp.__dict__, "system": bad}))


def test_serving_is_corrected_mode_only():
    from llmhw.errors import UsageError
    setup, _ = _setup()
    inp = StudyInputs(**{**setup.inputs.__dict__, "compat": "reference"})
    with pytest.raises(UsageError, match="corrected mode only"):
        build_setup(inp)


def test_serving_flag_makes_a_study_and_is_stored(tmp_path, monkeypatch, capsys):
    """--serving alone (no serving block in any file) makes an aggregated study; the block is in the identity."""
    from llmhw.serving.workload import parse_serving_flag
    assert parse_serving_flag("prompt=2048~0.5, output=256, rate=4, ttft=1, tpot=0.04") == {
        "prompt": {"mean": 2048.0, "spread": 0.5}, "output": 256, "rate": 4.0, "slo": {"ttft": 1.0, "tpot": 0.04}}
    with pytest.raises(ValueError):
        parse_serving_flag("prompt=long")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "h100_16bit.yaml").write_text(_h100_sys_16bit())
    rc = run_cli(["--hw", str(REPO / "inputs/hardware/config/h100.yaml"),
                  "--sys", str(tmp_path / "h100_16bit.yaml"), "--model",
                  str(REPO / "inputs/software/model/llama3-70B.yaml"), "--serving", "prompt=1024,output=128,rate=1",
                  "--constants", str(REPO / "inputs/hardware/constant/7nm_default.yaml"), "--objectives", "goodput_per_musd", "--trials", "4", "--no-progress", "--study", "flag",
                  "--sweep", "on"])
    assert rc == 0
    assert "mapping sweep: not run: a serving space's metrics come from its request mix" in capsys.readouterr().out
    study = optuna.load_study(study_name="flag", storage="sqlite:///studies/flag.db")
    t = study.get_trials()[0]
    assert t.user_attrs["design"]["serving_mode"] == "aggregated" and t.user_attrs["load_rps"] == 1.0
    assert study.user_attrs["llmhw"]["identity"]["serving"] == {"prompt": 1024, "output": 128, "rate": 1.0}
    assert run_cli(["--hw", "x.yaml", "--model", "gpt2", "--serving", "prompt=~"]) == 2
