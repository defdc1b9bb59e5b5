"""Journals are named after their database (issue 15 item 6): two studies with one name in two
databases of one directory no longer share ``<dir>/<study>.journal``."""
from __future__ import annotations

import subprocess
import sys

from llmhw.study.workers import journal_for

from .conftest import REPO, env_with_repo, small_search


def test_journal_path_names_the_database(tmp_path):
    a = journal_for(f"sqlite:///{tmp_path}/a.db", "s")
    b = journal_for(f"sqlite:///{tmp_path}/b.db", "s")
    assert a != b and a.parent == b.parent == tmp_path
    assert a.name.startswith("a.db") and b.name.startswith("b.db")
    assert journal_for(f"sqlite:///{tmp_path}/s.db", "s").name == "s.db.journal"
    (tmp_path / "link.db").symlink_to(tmp_path / "a.db")      # one file, one journal
    assert journal_for(f"sqlite:///{tmp_path}/link.db", "s") == a


def test_same_study_name_in_two_databases_with_jobs_2(workdir):
    procs = [subprocess.Popen([sys.executable, str(REPO / "search.py"),
                               *small_search("--jobs", "2", "--batch-size", "5", "--storage",
                                             f"sqlite:///studies/{db}.db", trials=60, study="same")],
                              cwd=workdir, env=env_with_repo(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for db in ("a", "b")]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "Traceback" not in err
