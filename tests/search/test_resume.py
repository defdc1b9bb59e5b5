"""Persistence and resume: SIGKILL loses no stored trial, re-runs complete exactly N, inputs are checked."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna

from .conftest import HW, REPO, cli_args, env_with_repo, run_cli

N = 60


def _complete(db: Path) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        try:
            return con.execute("SELECT t.number, p.param_name, p.param_value FROM trials t JOIN trial_params p "
                               "ON p.trial_id = t.trial_id WHERE t.state = 'COMPLETE' ORDER BY t.number, "
                               "p.param_name").fetchall()
        except sqlite3.OperationalError:
            return []


def test_sigkill_mid_run_then_rerun_completes_exactly_n(workdir):
    db = workdir / "studies" / "k.db"
    args = cli_args("--sampler", "nsga2", "--seed", "1", "--batch-size", "5", trials=N, study="k")
    proc = subprocess.Popen([sys.executable, str(REPO / "tests/search/slow_search.py"), *args],
                            cwd=workdir, env=env_with_repo(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        if len({r[0] for r in _complete(db)}) >= 15:
            break
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = _complete(db)
    n_before = len({r[0] for r in before})
    assert 15 <= n_before < N
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM trials WHERE state != 'COMPLETE'").fetchone()[0] == 0
    assert run_cli(cli_args("--batch-size", "5", trials=N, study="k")) == 0
    after = _complete(db)
    numbers = sorted({r[0] for r in after})
    assert numbers == list(range(N))                      # exactly N, no gaps, no duplicates
    assert after[:len(before)] == before                  # every stored trial kept as it was
    # a finished study only reports
    assert run_cli(cli_args(trials=N, study="k")) == 0
    assert len({r[0] for r in _complete(db)}) == N


def test_running_trials_left_by_another_writer_are_failed_and_requeued(workdir):
    assert run_cli(cli_args(trials=10, study="r")) == 0
    study = optuna.load_study(study_name="r", storage="sqlite:///studies/r.db")
    stale = study.ask({"Chip.sram": study.trials[0].distributions["Chip.sram"]})  # left RUNNING
    params = dict(study.trials[3].params)
    assert run_cli(cli_args(trials=14, study="r")) == 0
    trials = optuna.load_study(study_name="r", storage="sqlite:///studies/r.db").get_trials()
    assert trials[stale.number].state == optuna.trial.TrialState.FAIL
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 14
    assert complete[10].params["Chip.sram"] == stale.params["Chip.sram"]   # re-queued first
    assert params == trials[3].params


def test_resume_refuses_changed_inputs_and_force_overrides(workdir, capsys):
    hw = workdir / "tpuv5p.yaml"
    hw.write_text(HW.read_text())
    base = ["--hw", str(hw)] + cli_args(trials=8, study="c")[2:]
    assert run_cli(base) == 0
    hw.write_text(HW.read_text().replace("other_area: 70", "other_area: 80"))
    more = [a if a != "8" else "12" for a in base]
    assert run_cli(more) == 2
    captured = capsys.readouterr()
    assert "was made with different inputs" in captured.err
    assert "-  other_area: 70" in captured.out and "+  other_area: 80" in captured.out
    assert run_cli(more + ["--objectives", "tco_per_mtoken,tpot,throughput,power"]) == 2
    db = "sqlite:///studies/c.db"
    assert len(optuna.load_study(study_name="c", storage=db).get_trials()) == 8   # nothing written
    assert run_cli(more + ["--force"]) == 0
    study = optuna.load_study(study_name="c", storage=db)
    assert len(study.get_trials()) == 12
    assert "other_area: 80" in study.user_attrs["llmhw"]["identity"]["hw"]["text"]
    assert study.user_attrs["llmhw"]["history"][-1]["event"].startswith("resumed with changed inputs")


def test_study_name_alone_resumes_with_stored_inputs(workdir, capsys):
    assert run_cli(cli_args("--sampler", "random", "--workload", "1024:256", trials=6, study="n")) == 0
    from llmhw.cli import main
    assert main(["--study", "n", "--trials", "9", "--no-progress"]) == 0
    study = optuna.load_study(study_name="n", storage="sqlite:///studies/n.db")
    assert len(study.get_trials()) == 9
    assert study.user_attrs["llmhw"]["run"]["sampler"] == "random"
    assert study.user_attrs["workload"] == {"prefill_len": 1024, "decode_len": 256}
    assert main(["--study", "nope", "--no-progress"]) == 2
    assert "no study 'nope'" in capsys.readouterr().err
