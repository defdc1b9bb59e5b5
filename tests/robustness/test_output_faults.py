"""Output faults (issue 15 item 9): a full disk under --outputs is an output error (the study is
intact, nothing to resume) and leaves no 0-byte CSV; ``<outputs>/<study>`` being a file is one line
before the search starts; ``--export`` neither overwrites existing files (without --force) nor
writes through symbolic links."""
from __future__ import annotations

import errno
import sqlite3

import pandas as pd

from llmhw.cli import main

from .conftest import small_search


def _complete(db) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM trials WHERE state = 'COMPLETE'").fetchone()[0]
    finally:
        con.close()


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_full_disk_under_outputs_is_an_output_error(workdir, monkeypatch, capsys):
    real = pd.DataFrame.to_csv

    def full(self, path=None, *a, **k):
        if path is not None and "outputs" in str(path):
            with open(path, "w") as f:        # the file is created, then the disk is full
                f.write("")
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    assert main(small_search(trials=30)) == 1
    err = _one_line(capsys)
    assert "storage error" not in err and "resume" not in err, err
    assert "outputs/s" in err and "disk is full" in err and "30 COMPLETE" in err, err
    assert not list((workdir / "outputs" / "s").glob("*.csv")), "a partial CSV was left behind"
    assert _complete(workdir / "studies" / "s.db") == 30


def test_outputs_study_path_that_is_a_file_is_refused_up_front(workdir, capsys):
    (workdir / "outputs").mkdir()
    (workdir / "outputs" / "s").write_text("not a directory")
    assert main(small_search(trials=30)) == 2
    err = _one_line(capsys)
    assert "outputs/s" in err and "not a directory" in err, err
    db = workdir / "studies" / "s.db"
    assert not db.exists() or _complete(db) == 0       # refused before the first trial


def test_export_refuses_to_overwrite_and_never_follows_links(workdir, capsys):
    assert main(small_search(trials=20)) == 0
    assert main(["--study", "s", "--export", "x"]) == 0
    capsys.readouterr()
    first = (workdir / "x" / "pareto.csv").read_text()
    assert main(["--study", "s", "--export", "x"]) == 2
    err = _one_line(capsys)
    assert "x/pareto.csv" in err and "--force" in err, err
    victim = workdir / "victim.txt"
    victim.write_text("precious\n")
    (workdir / "x" / "trials.csv").unlink()
    (workdir / "x" / "trials.csv").symlink_to(victim)
    assert main(["--study", "s", "--export", "x", "--force"]) == 0
    assert victim.read_text() == "precious\n"
    assert not (workdir / "x" / "trials.csv").is_symlink()
    assert (workdir / "x" / "pareto.csv").read_text() == first
    assert not [p for p in (workdir / "x").iterdir() if p.name.startswith(".")]   # no scratch left
