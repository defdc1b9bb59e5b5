"""One study on PostgreSQL written by several processes at once (issue 5, "many machines").

Needs ``LLMHW_TEST_POSTGRES_URL`` (``.ci/run`` starts a throw-away server and sets it). Without it
the tests skip — except under ``CI=true``, where they fail, so CI cannot skip them silently.
"""
from __future__ import annotations

import datetime
import multiprocessing as mp
import os
import re
import subprocess
import sys
import uuid

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from llmhw.search.pareto import front_mask, losses
from llmhw.study.storage import open_storage, trial_store
from llmhw.search.setup import ATTR, StudyInputs, build_setup

from .conftest import REPO, cli_args, env_with_repo, run_cli
from .test_workers import REFS

URL_ENV = "LLMHW_TEST_POSTGRES_URL"


@pytest.fixture
def pg_url() -> str:
    url = os.environ.get(URL_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {URL_ENV} is unset: .ci/run must start PostgreSQL for these tests")
        pytest.skip(f"{URL_ENV} is unset (set it to a PostgreSQL URL, e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:55432/llmhw; .ci/run starts one)")
    return url


@pytest.fixture
def study_name(pg_url):
    name = f"pgtest-{uuid.uuid4().hex[:10]}"
    yield name
    try:
        optuna.delete_study(study_name=name, storage=open_storage(pg_url))
    except KeyError:
        pass


def test_three_processes_one_study_exact_count_no_duplicates(workdir, pg_url, study_name):
    """The same command started three times at once (as on three machines)."""
    n = 60
    refs = workdir / "refs.yaml"
    refs.write_text(REFS)
    url = pg_url.replace("postgresql+psycopg://", "postgresql://")   # the plain form is accepted
    env = env_with_repo()
    env["LLMHW_TEST_DELAY"] = "0.1"
    env["LLMHW_TEST_FIRST_DELAY"] = "2.0"   # every process reads the study before the first batch is stored
    env["LLMHW_TEST_EVAL_LOG"] = str(workdir / "evals.log")
    procs = []
    for i in range(3):
        args = cli_args("--storage", url, "--sampler", "nsga2", "--batch-size", "5", "--enqueue", str(refs),
                        "--outputs", f"out{i}", trials=n, study=study_name)
        procs.append(subprocess.Popen([sys.executable, str(REPO / "tests/search/logged_search.py"), *args],
                                      cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True))
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    added = [int(m.group(1)) for out, _ in outs for m in re.finditer(r"added (\d+) trials", out)]
    assert sum(added) == n and len(added) >= 2, outs                       # several wrote, N in total

    study = optuna.load_study(study_name=study_name, storage=open_storage(pg_url))
    trials = study.get_trials()
    assert [t.number for t in trials] == list(range(n))                    # unique, contiguous
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t._trial_id for t in trials}) == n
    assert sorted(t.user_attrs["reference"] for t in trials if "reference" in t.user_attrs) == ["small", "v5p"]
    assert study.metric_names == ["tco_per_mtoken_usd", "tpot_s", "throughput_tok_per_s"]
    # each reference design was evaluated by one process only (claimed with an advisory lock)
    setup = build_setup(StudyInputs.from_identity(study.user_attrs[ATTR]["identity"]))
    evaluated = [line.split("\t", 1)[1] for line in (workdir / "evals.log").read_text().splitlines()]
    for name, params in setup.references:
        assert evaluated.count(repr(setup.space.point(params))) == 1, name

    # the front of the study, recomputed from the stored trials, equals the reported pareto.csv
    assert run_cli(["--study", study_name, "--storage", pg_url, "--no-progress"]) == 0
    front = pd.read_csv(workdir / "outputs" / study_name / "pareto.csv")
    feasible = [t for t in trials if t.user_attrs["feasible"]]
    assert feasible and all(all(v <= 0 for v in t.constraints.values()) for t in feasible)
    directions = [d.name.lower() for d in study.directions]
    mask = front_mask(losses(np.array([t.values for t in feasible]), directions))
    assert set(front["number"]) == {t.number for t, m in zip(feasible, mask) if m}


def _frozen(i: int, ref: str | None = None):
    t = create_trial(state=TrialState.COMPLETE, values=[float(i), -1.0], params={"a": i % 7, "b": 0.5},
                     distributions={"a": IntDistribution(0, 10), "b": FloatDistribution(0.0, 1.0)},
                     user_attrs={"m": i, **({"reference": ref} if ref else {})})
    t.datetime_start = t.datetime_complete = datetime.datetime(2025, 1, 2, 3, 4, 5)
    return t


def _pg_writer(url: str, name: str, k: int, barrier) -> None:
    store = trial_store(optuna.load_study(study_name=name, storage=open_storage(url)))
    barrier.wait(30)
    for b in range(25):
        batch = [_frozen(100 * k + 3 * b + j) for j in range(3)]
        if b == 1:
            batch.append(_frozen(999, ref="r"))
        store.write(batch, budget=120)
        store.read_new()
    os._exit(0)


def test_concurrent_batch_writes_unique_numbers_and_exact_budget(pg_url, study_name):
    """Bulk batch transactions from 4 processes: numbers assigned under the study lock, the budget
    re-checked in the same transaction, a reference design stored once."""
    optuna.create_study(study_name=study_name, storage=open_storage(pg_url), directions=["minimize", "maximize"])
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(4)
    procs = [ctx.Process(target=_pg_writer, args=(pg_url, study_name, k, barrier)) for k in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    trials = optuna.load_study(study_name=study_name, storage=open_storage(pg_url)).get_trials()
    assert len(trials) == 120                                              # 4 x 25 x 3 + 4 offered
    assert [t.number for t in trials] == list(range(120))
    assert sum(t.user_attrs.get("reference") == "r" for t in trials) == 1
    writers = [t.user_attrs["m"] // 100 for t in trials if t.user_attrs["m"] < 900]
    assert sum(a != b for a, b in zip(writers, writers[1:])) > 3           # the writes interleaved


def test_jobs_on_postgresql_write_directly(workdir, pg_url, study_name, capsys):
    assert run_cli(cli_args("--storage", pg_url, "--jobs", "2", "--sampler", "random", "--batch-size", "6",
                            trials=30, study=study_name)) == 0
    assert f"2 workers on {pg_url}" in capsys.readouterr().out
    trials = optuna.load_study(study_name=study_name, storage=open_storage(pg_url)).get_trials()
    assert [t.number for t in trials] == list(range(30))
    assert all(t.state == TrialState.COMPLETE for t in trials)
