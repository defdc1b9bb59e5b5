"""``--jobs N`` (issue 5): workers share a journal file merged into the SQLite study.

Exactly N COMPLETE trials, unique numbers, enqueued designs evaluated once, a SIGKILL of the whole
process group resumes to exactly N, and the journal store keeps the budget and numbers under
concurrent writers.
"""
from __future__ import annotations

import datetime
import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.distributions import FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from llmhw import evaluate
from llmhw.study.journal import JournalTrialStore, journal_storage, trial_logs
from llmhw.study.storage import normalize_url, trial_store
from llmhw.search.setup import ATTR, StudyInputs, build_setup

from .conftest import REPO, cli_args, env_with_repo, run_cli

N = 60
REFS = ("designs:\n"
        "  - name: v5p\n"
        "    values: {Chip.sram: 300.0e+6, Chip.hbm_channels: 48, Server.num_lanes: 2, "
        "Server.packages_per_lane: 2, system.num_servers: 4, batch: 64, p: 1, micro_batch: 8, "
        "prefill_micro_batch: 1}\n"
        "  - name: small\n"
        "    values: {Chip.sram: 200.0e+6, Chip.hbm_channels: 32, Server.num_lanes: 4, "
        "Server.packages_per_lane: 1, system.num_servers: 2, batch: 8, p: 1, micro_batch: 2, "
        "prefill_micro_batch: 1}\n")


def _rows(db: Path) -> list[tuple]:
    """(number, state) of every trial, and its params, from the SQLite file itself."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        try:
            return con.execute("SELECT t.number, t.state, p.param_name, p.param_value FROM trials t "
                               "LEFT JOIN trial_params p ON p.trial_id = t.trial_id "
                               "ORDER BY t.number, p.param_name").fetchall()
        except sqlite3.OperationalError:
            return []


def _complete_numbers(db: Path) -> list[int]:
    return sorted({r[0] for r in _rows(db) if r[1] == "COMPLETE"})


@pytest.fixture
def eval_log(workdir, monkeypatch):
    """Every evaluated design point, one line per point and process (workers inherit the patch)."""
    log = workdir / "evals.log"
    orig = evaluate.Problem.evaluate_many

    def logged(self, points):
        out = orig(self, points)
        with open(log, "a") as f:
            f.write("".join(f"{os.getpid()}\t{p!r}\n" for p in points))
        return out

    monkeypatch.setattr(evaluate.Problem, "evaluate_many", logged)
    return log


def test_jobs_2_exact_budget_unique_numbers_references_once(workdir, eval_log, capsys):
    refs = workdir / "refs.yaml"
    refs.write_text(REFS)
    args = cli_args("--sampler", "nsga2", "--batch-size", "10", "--enqueue", str(refs), "--jobs", "2",
                    trials=N, study="j")
    assert run_cli(args) == 0
    out = capsys.readouterr().out
    assert "2 workers on " in out and "studies/j.db.journal" in out
    db = workdir / "studies" / "j.db"
    study = optuna.load_study(study_name="j", storage=f"sqlite:///{db}")
    trials = study.get_trials()
    assert [t.number for t in trials] == list(range(N))                   # unique, no gaps
    assert all(t.state == TrialState.COMPLETE for t in trials)             # exactly N COMPLETE
    assert len({t._trial_id for t in trials}) == N
    named = [t.user_attrs["reference"] for t in trials if "reference" in t.user_attrs]
    assert sorted(named) == ["small", "v5p"]                               # stored once each
    assert all("feasible" in t.user_attrs and len(t.constraints) > 0 for t in trials)
    # evaluated once: the reference points appear once in the evaluation log of all processes
    setup = build_setup(StudyInputs.from_identity(study.user_attrs[ATTR]["identity"]))
    lines = eval_log.read_text().splitlines()
    pids = {line.split("\t", 1)[0] for line in lines}
    assert len(pids) == 2 and str(os.getpid()) not in pids                 # two workers evaluated
    for name, params in setup.references:
        assert [line.split("\t", 1)[1] for line in lines].count(repr(setup.space.point(params))) == 1, name
    assert not (workdir / "studies" / "j.db.journal").exists()             # scratch journal removed
    # a finished study only reports; a larger budget resumes with workers to exactly the new N
    assert run_cli(args) == 0
    assert len(optuna.load_study(study_name="j", storage=f"sqlite:///{db}").get_trials()) == N
    more = [a if a != str(N) else str(N + 25) for a in args]
    assert run_cli(more) == 0
    trials2 = optuna.load_study(study_name="j", storage=f"sqlite:///{db}").get_trials()
    assert [t.number for t in trials2] == list(range(N + 25))
    assert [(t.params, t.values) for t in trials2[:N]] == [(t.params, t.values) for t in trials]
    assert sum("reference" in t.user_attrs for t in trials2) == 2


def test_jobs_requeues_running_trials_once(workdir, eval_log):
    assert run_cli(cli_args("--sampler", "random", trials=10, study="q")) == 0
    url = "sqlite:///studies/q.db"
    study = optuna.load_study(study_name="q", storage=url)
    dists = study.trials[0].distributions
    stale = study.ask(dists)                      # left RUNNING, as by a killed foreign writer
    assert run_cli(cli_args("--jobs", "2", "--batch-size", "4", trials=16, study="q")) == 0
    trials = optuna.load_study(study_name="q", storage=url).get_trials()
    assert trials[stale.number].state == TrialState.FAIL
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 16 and [t.number for t in trials] == list(range(17))
    assert sum(t.params == stale.params for t in complete) == 1            # re-queued, evaluated once


def test_jobs_on_a_journal_file_write_it_directly_references_claimed_once(workdir, monkeypatch):
    """``--storage journal:PATH --jobs 2``: no merge, every worker may queue the references; the
    claims (fcntl locks) let one evaluate each, even when both start before either stores."""
    log = workdir / "evals.log"
    orig = evaluate.Problem.evaluate_many
    calls = {"n": 0}

    def slow_first(self, points):
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(1.0)          # both workers read the study before anything is stored
        out = orig(self, points)
        with open(log, "a") as f:
            f.write("".join(f"{os.getpid()}\t{p!r}\n" for p in points))
        return out

    monkeypatch.setattr(evaluate.Problem, "evaluate_many", slow_first)
    refs = workdir / "refs.yaml"
    refs.write_text(REFS)
    url = f"journal:{workdir / 'shared.journal'}"
    assert run_cli(cli_args("--storage", url, "--jobs", "2", "--batch-size", "8", "--enqueue", str(refs),
                            trials=30, study="jj")) == 0
    study = optuna.load_study(study_name="jj", storage=journal_storage(workdir / "shared.journal"))
    trials = study.get_trials()
    assert [t.number for t in trials] == list(range(30))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert sorted(t.user_attrs["reference"] for t in trials if "reference" in t.user_attrs) == ["small", "v5p"]
    setup = build_setup(StudyInputs.from_identity(study.user_attrs[ATTR]["identity"]))
    lines = [line.split("\t", 1)[1] for line in log.read_text().splitlines()]
    for name, params in setup.references:
        assert lines.count(repr(setup.space.point(params))) == 1, name


def test_sigkill_of_everything_then_resume_exactly_n(workdir):
    db = workdir / "studies" / "k.db"
    args = cli_args("--sampler", "nsga2", "--batch-size", "6", "--jobs", "2", trials=N, study="k")
    env = env_with_repo()
    env["LLMHW_TEST_DELAY"] = "0.15"
    proc = subprocess.Popen([sys.executable, str(REPO / "tests/search/logged_search.py"), *args],
                            cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(_complete_numbers(db)) < 12:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)           # the parent and both workers
    proc.wait()
    proc.stderr.close()
    before = _rows(db)
    n_before = len({r[0] for r in before})
    assert 12 <= n_before < N
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert (workdir / "studies" / "k.db.journal").exists()                 # left by the killed run
    assert run_cli(cli_args("--jobs", "2", trials=N, study="k")) == 0
    after = _rows(db)
    assert _complete_numbers(db) == list(range(N))
    assert {r[1] for r in after} == {"COMPLETE"}
    assert after[:len(before)] == before                                  # merged trials kept as they were


# ---------------------------------------------------------------------------------- journal store
def _trial(i: int, ref: str | None = None, state: TrialState = TrialState.COMPLETE):
    t = create_trial(state=state, values=[float(i), -1.0] if state == TrialState.COMPLETE else None,
                     params={"a": i % 7, "b": 0.5},
                     distributions={"a": IntDistribution(0, 10), "b": FloatDistribution(0.0, 1.0)},
                     user_attrs={"m": i, **({"reference": ref} if ref else {})},
                     system_attrs={"constraints:c": -1.0})
    t.datetime_start = datetime.datetime(2025, 1, 2, 3, 4, 5)
    t.datetime_complete = datetime.datetime(2025, 1, 2, 3, 4, 6)
    return t


def _journal_writer(path: str, k: int, budget: int, barrier) -> None:
    study = optuna.load_study(study_name="s", storage=journal_storage(path))
    store = JournalTrialStore(study)
    for b in range(30):
        barrier.wait(30)                  # each round: every writer's batch before anyone's next one
        batch = [_trial(100 * k + 3 * b + j) for j in range(3)]
        if b == 2:
            batch.append(_trial(999, ref="r"))
        if b == 3:
            batch.append(_trial(998, state=TrialState.FAIL))
        store.write(batch, budget=budget)
        store.read_new()
    os._exit(0)


def test_journal_store_concurrent_writers_keep_budget_and_numbers(tmp_path):
    path = str(tmp_path / "s.journal")
    optuna.create_study(study_name="s", storage=journal_storage(path), directions=["minimize", "maximize"])
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_journal_writer, args=(path, k, 100, barrier)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    trials = optuna.load_study(study_name="s", storage=journal_storage(path)).get_trials()
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 100                                           # 3 x 30 x 3 offered
    assert [t.number for t in trials] == list(range(len(trials)))
    assert sum(t.user_attrs.get("reference") == "r" for t in trials) == 1
    writers = [t.user_attrs["m"] // 100 for t in trials if t.user_attrs["m"] < 900]
    assert sum(a != b for a, b in zip(writers, writers[1:])) > 2           # the writes interleaved
    # (forced by the per-round barrier: without it a fast writer could finish before the others start)


def test_journal_bulk_write_matches_add_trials(tmp_path):
    storage = journal_storage(tmp_path / "w.journal")
    fast = optuna.create_study(study_name="fast", storage=storage, directions=["minimize", "maximize"])
    slow = optuna.create_study(study_name="slow", storage=storage, directions=["minimize", "maximize"])
    store = trial_store(fast)
    assert isinstance(store, JournalTrialStore)
    assert store.write([_trial(i) for i in range(3)]) and store.write([_trial(3, ref="x")])
    slow.add_trials([_trial(i) for i in range(3)] + [_trial(3, ref="x")])
    a, b = fast.get_trials(), slow.get_trials()
    assert len(a) == len(b) == 4
    for x, y in zip(a, b):
        for attr in ("number", "state", "values", "params", "distributions", "user_attrs",
                     "system_attrs", "datetime_start", "datetime_complete", "constraints"):
            assert getattr(x, attr) == getattr(y, attr), attr
    assert store.write([_trial(4, ref="x")]) == []                         # a reference only once
    assert len(trial_logs([_trial(0)], 7)) == 1 and trial_logs([_trial(0)], 7)[0]["study_id"] == 7


def test_store_budget_on_sqlite(tmp_path):
    study = optuna.create_study(study_name="b", storage=f"sqlite:///{tmp_path / 'b.db'}",
                                directions=["minimize", "maximize"])
    store = trial_store(study)
    assert len(store.write([_trial(i) for i in range(4)], budget=5)) == 4
    kept = store.write([_trial(4, state=TrialState.FAIL), _trial(5), _trial(6), _trial(7)], budget=5)
    assert [t.user_attrs["m"] for t in kept] == [4, 5] and store.complete == 5
    assert store.write([_trial(8)], budget=5) == []
    assert [t.number for t in study.get_trials()] == list(range(6))


def test_jobs_validation_and_url_mapping(workdir, capsys):
    assert run_cli(cli_args("--jobs", "0", trials=4, study="v")) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err
    assert normalize_url("postgresql://u@h:5/db") == "postgresql+psycopg://u@h:5/db"
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("sqlite:///x.db") == "sqlite:///x.db"
