"""Storage failures and concurrent commands never cost a stored trial (issue 6).

- a disk that fills up or a database that turns read-only in the middle of a search: one line
  (exit code 1) saying what happened, that the study is intact and how many COMPLETE trials it
  holds; the failing batch is rolled back whole; after the fix the same command resumes to the exact
  budget. Injected at the SQLite driver (always), and for real on a tiny tmpfs (when the tests may
  mount one, i.e. as root);
- two commands on one SQLite study: the second refuses at once, naming the first;
- a study whose creation was cut short (no llmhw attributes, no trials) is finished, not refused.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy

from llmhw.cli import main

from .conftest import env_with_repo, search_cli, small_search
from .studydb import check_consistent, snapshot

SLOW = str(Path(__file__).with_name("slow_cli.py"))


@contextlib.contextmanager
def sqlite_fault(message: str, after_batches: int):
    """Make the SQLite driver fail with ``message`` in the middle of batch write number
    ``after_batches + 1`` (after its trial rows are inserted, when its values are)."""
    state = {"batches": 0}

    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if statement.lstrip().upper().startswith("INSERT INTO TRIAL_VALUES"):
            state["batches"] += 1
            if state["batches"] > after_batches:
                raise sqlite3.OperationalError(message)

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", before)
    try:
        yield state
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", before)


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("message, meaning, advice", [
    ("database or disk is full", "the disk is full", "Free some space"),
    ("attempt to write a readonly database", "the database is read-only", "Make the database file"),
    ("disk I/O error", "a disk I/O error", "Fix the storage"),
])
def test_a_write_failure_mid_run_keeps_the_study(workdir, capsys, message, meaning, advice):
    args = small_search("--sampler", "nsga2", "--batch-size", "10", "--seed", "4", trials=60, study="f")
    with sqlite_fault(message, after_batches=3):
        rc = main(args)
    err = capsys.readouterr().err
    assert rc == 1
    line = _one_line(err)
    assert f"storage error on study 'f' in sqlite:///studies/f.db: {meaning} ({message})" in line
    assert "the study is intact with 30 COMPLETE trials" in line and advice in line
    snap = snapshot(workdir / "studies" / "f.db", "f")
    check_consistent(snap, 60, 10)
    assert snap.n_complete == 30                  # three whole batches; the fourth rolled back
    kept = dict(snap.complete)
    assert main(args) == 0                        # fixed: the same command resumes to the budget
    snap = snapshot(workdir / "studies" / "f.db", "f")
    assert snap.n_complete == 60 and all(snap.complete[k] == v for k, v in kept.items())


def test_a_read_only_study_is_refused_before_anything_changes(workdir, capsys):
    args = small_search(trials=8, study="r")
    assert main(args) == 0
    capsys.readouterr()
    db = workdir / "studies" / "r.db"
    before = db.read_bytes()
    with _failing_commit("attempt to write a readonly database"):
        rc = main(small_search(trials=16, study="r"))
    line = _one_line(capsys.readouterr().err)
    assert rc == 1 and "the database is read-only" in line and "intact with 8 COMPLETE trials" in line
    assert db.read_bytes() == before


@contextlib.contextmanager
def _failing_commit(message: str):
    def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE")):
            raise sqlite3.OperationalError(message)

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", before)


# ---------------------------------------------------------------------------- real tmpfs (root only)
@pytest.fixture
def tiny_fs(tmp_path):
    mnt = tmp_path / "fs"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the injected-fault tests cover the same paths)")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1200k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _remount(mnt: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(mnt)], check=True, capture_output=True)


def test_real_disk_full_then_read_only_then_resume(workdir, tiny_fs):
    url = f"sqlite:///{tiny_fs}/x.db"
    args = small_search("--sampler", "random", "--batch-size", "50", "--seed", "5", "--storage", url,
                        trials=600, study="x")
    proc = search_cli(args, workdir)
    assert proc.returncode == 1, proc.stderr
    line = _one_line(proc.stderr)
    assert "the disk is full (database or disk is full)" in line and "the study is intact with" in line
    snap = snapshot(tiny_fs / "x.db", "x")
    check_consistent(snap, 600, 50)
    assert 0 < snap.n_complete < 600 and f"intact with {snap.n_complete} COMPLETE trials" in line
    kept = dict(snap.complete)
    _remount(tiny_fs, "ro")
    proc = search_cli(args, workdir)
    line = _one_line(proc.stderr)
    assert proc.returncode == 1 and "read-only" in line and f"intact with {snap.n_complete} COMPLETE" in line
    _remount(tiny_fs, "rw,size=64m")
    proc = search_cli(args, workdir)
    assert proc.returncode == 0, proc.stderr
    snap = snapshot(tiny_fs / "x.db", "x")
    check_consistent(snap, 600, 50)
    assert snap.n_complete == 600 and all(snap.complete[k] == v for k, v in kept.items())


# ---------------------------------------------------------------------------- two commands at once
def test_a_second_command_on_a_busy_study_refuses_at_once(workdir):
    args = small_search("--sampler", "nsga2", "--batch-size", "10", "--seed", "1", trials=300, study="b")
    env = env_with_repo()
    env.update(LLMHW_TEST_DELAY="0.3", LLMHW_TEST_READY=str(workdir / "ready"))
    first = subprocess.Popen([sys.executable, SLOW, *args], cwd=workdir, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 30
    while not (workdir / "ready").exists():
        assert first.poll() is None and time.time() < deadline, first.communicate()[1]
        time.sleep(0.01)
    second = search_cli(args, workdir)
    assert first.poll() is None, "the first command ended too early for this test"
    line = _one_line(second.stderr)
    assert second.returncode == 2
    assert f"study 'b' is in use by another llmhw command (pid {first.pid}" in line and "b.db.lock" in line
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 130, err
    snap = snapshot(workdir / "studies" / "b.db", "b")
    check_consistent(snap, 300, 10)
    assert 0 < snap.n_complete < 300
    from llmhw.study.lock import StudyLock
    with StudyLock("sqlite:///studies/b.db", "b") as lock:  # free again once the first has ended
        assert lock.held


def test_a_study_whose_creation_was_cut_short_is_completed(workdir, capsys):
    import optuna
    (workdir / "studies").mkdir()
    optuna.create_study(study_name="h", storage="sqlite:///studies/h.db",
                        directions=["minimize", "minimize", "maximize"])  # killed before its attrs
    assert main(small_search(trials=6, study="h")) == 0
    assert "study h (new)" in capsys.readouterr().out
    study = optuna.load_study(study_name="h", storage="sqlite:///studies/h.db")
    assert len(study.get_trials()) == 6 and "llmhw" in study.user_attrs
