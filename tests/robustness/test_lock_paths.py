"""The study lock against odd paths (issue 15 items 3 and 5).

- item 3: the lock file is opened without following a symbolic link (its target is never
  overwritten) and a lock path that is a directory gives one line, not a traceback;
- item 5: two spellings of one SQLite file (a symlink, ``dir/../``) share one lock, and the search
  loop ends when the storage holds N trials, whoever wrote them.
"""
from __future__ import annotations

import pytest

from llmhw.cli import main
from llmhw.errors import LlmhwError
from llmhw.study.lock import StudyBusy, StudyLock

from .conftest import small_search


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_lock_file_symlink_is_not_followed(workdir, capsys):
    (workdir / "studies").mkdir()
    victim = workdir / "victim.txt"
    victim.write_text("precious\n")
    (workdir / "studies" / "s.db.lock").symlink_to(victim)
    assert main(small_search(trials=10)) == 2
    err = _one_line(capsys)
    assert "s.db.lock" in err and "symbolic link" in err, err
    assert victim.read_text() == "precious\n"
    assert not (workdir / "studies" / "s.db").exists()   # refused before anything was written


def test_lock_path_that_is_a_directory_gives_one_line(workdir, capsys):
    (workdir / "studies" / "s.db.lock").mkdir(parents=True)
    assert main(small_search(trials=10)) == 2
    err = _one_line(capsys)
    assert "s.db.lock" in err and "not a regular file" in err, err


@pytest.mark.parametrize("spelling", ["symlink", "dotdot", "absolute"])
def test_two_spellings_of_one_database_share_one_lock(workdir, spelling):
    (workdir / "studies").mkdir()
    (workdir / "studies" / "s.db").touch()
    if spelling == "symlink":
        (workdir / "alias.db").symlink_to(workdir / "studies" / "s.db")
        other = "sqlite:///alias.db"
    elif spelling == "dotdot":
        (workdir / "x").mkdir()
        other = "sqlite:///x/../studies/s.db"
    else:
        other = f"sqlite:///{workdir}/studies/s.db"
    with StudyLock("sqlite:///studies/s.db", "s"):
        with pytest.raises(StudyBusy):
            StudyLock(other, "s").acquire()


def test_loop_ends_when_the_storage_holds_n_whoever_wrote_them(workdir, monkeypatch, capsys):
    """Another writer fills the study to the budget behind this search's back: the search must
    stop at its next write, with the storage's count, not spin on a budget it can never reach."""
    from llmhw.study import storage
    real = storage.RDBTrialStore.write
    calls = {"n": 0}

    def write(self, trials, budget=None):
        calls["n"] += 1
        if calls["n"] > 40:
            raise LlmhwError("the search kept asking after the storage held the budget")
        if calls["n"] == 1:   # another process, through another spelling of the file, stores N first
            import optuna
            other = optuna.load_study(study_name="s", storage="sqlite:///./studies/../studies/s.db")
            intruder = storage.trial_store(other)
            while real(intruder, trials, budget) and intruder.complete < budget:
                pass
        return real(self, trials, budget)

    monkeypatch.setattr(storage.RDBTrialStore, "write", write)
    assert main(small_search("--batch-size", "5", trials=20)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert calls["n"] <= 2, calls
    assert "20 COMPLETE" in out or "holds 20" in out, out
