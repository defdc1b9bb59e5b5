"""``--check``: validate everything, print the size of the search space, run and write nothing (issue 6)."""
from __future__ import annotations

from llmhw.cli import main

from .conftest import small_search


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and p.relative_to(root).parts[0] not in ("inputs", "spaces"))


def test_check_prints_the_space_size_and_writes_nothing(workdir, capsys):
    assert main(small_search("--check", "--workload", "all", trials=50, study="c")) == 0
    out = capsys.readouterr().out
    for pair in ("20x8", "60x20", "128x8", "2048x64"):          # every eval_len pair of tpuv4's system
        assert f"study c-{pair} in sqlite:///studies/c-{pair}.db (would be created)" in out
    assert "search space: 5 dimensions, " in out and " points" in out
    assert "system.num_servers#i: 3 values" in out
    assert "memory: one sequence needs" in out and "3 of 3 hardware/system combinations can hold it" in out
    assert out.rstrip().endswith("inputs OK (--check: nothing was run or written)")
    assert _files(workdir) == []


def test_check_of_a_continuous_space_and_of_an_existing_study(workdir, capsys):
    assert main(["--space", "spaces/hbm_chip.yaml", "--model", "llama2", "--check", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "continuous (ranges without a step)" in out and "Chip.perf: continuous" in out
    assert "corner points of ranges" in out
    assert _files(workdir) == []
    assert main(small_search(trials=5, study="e")) == 0
    before = (workdir / "studies" / "e.db").read_bytes()
    capsys.readouterr()
    assert main(["--study", "e", "--check", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "study e in sqlite:///studies/e.db (exists: would resume)" in out
    assert (workdir / "studies" / "e.db").read_bytes() == before


def test_check_refuses_bad_inputs_like_a_run(workdir, capsys):
    assert main(small_search("--check", "--workload", "3000000:3000000", trials=5)) == 2
    err = capsys.readouterr().err
    assert "--workload is longer than any memory of the space could hold" in err
    assert _files(workdir) == []
