"""A study deleted under a running search (issue 15 item 1): the search notices at its next write and
stops with one line and a non-zero exit, instead of writing orphaned trials and reporting success."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import optuna

from .conftest import env_with_repo, small_search
from .test_kill_and_interrupt import SLOW, _wait_for


def test_search_stops_when_its_study_is_deleted(workdir):
    ready = workdir / "ready"
    env = env_with_repo()
    env.update(LLMHW_TEST_DELAY="0.05", LLMHW_TEST_READY=str(ready))
    args = small_search("--batch-size", "10", trials=600, study="gone")
    proc = subprocess.Popen([sys.executable, SLOW, *args], cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(ready, proc)
        db = workdir / "studies" / "gone.db"
        optuna.delete_study(study_name="gone", storage=f"sqlite:///{db}")   # what DELETE /api/studies/1 does
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode not in (0, None), out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "'gone'" in lines[0] and "deleted" in lines[0], lines[0]
    con = sqlite3.connect(db)
    orphans = con.execute("SELECT count(*) FROM trials WHERE study_id NOT IN (SELECT study_id FROM studies)")
    assert orphans.fetchone()[0] == 0, con.execute("SELECT study_id, number, trial_id FROM trials").fetchall()[:30]
    con.close()
