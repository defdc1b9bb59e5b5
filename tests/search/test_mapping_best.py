"""``--mapping best`` shows the mapping it chose, and takes reference designs written for the explicit
mapping (issue 15 #12)."""
from __future__ import annotations

import io

import pytest
from rich.console import Console

from .conftest import REPO, run_cli

TPU = ["--hw", str(REPO / "inputs/hardware/config/tpuv4.yaml"), "--sys", str(REPO / "inputs/software/system/tpuv4.yaml"),
       "--model", "gpt3", "--mapping", "best", "--no-progress", "--seed", "3"]


@pytest.fixture
def inputs_dir(workdir):
    (workdir / "inputs").symlink_to(REPO / "inputs")
    (workdir / "spaces").symlink_to(REPO / "spaces")
    return workdir


def _text(renderables) -> str:
    console = Console(width=250, file=io.StringIO(), record=True)
    for r in renderables if isinstance(renderables, list) else [renderables]:
        console.print(r)
    return console.export_text()


def test_the_front_shows_the_mapping_best_chose(inputs_dir, capsys):
    from llmhw.report.compare import compare
    from llmhw.report.data import load_study_data
    from llmhw.report.tables import front_table
    assert run_cli(TPU + ["--trials", "12", "--study", "a"]) == 0
    assert run_cli(TPU + ["--trials", "12", "--study", "b", "--seed", "4"]) == 0
    capsys.readouterr()
    data = load_study_data("a", None)
    table, _ = front_table(data.df, data.front, data.objectives, "front")
    text = _text(table)
    header = "\n".join(text.splitlines()[1:5])
    for column in (" t ", " p ", "micro_"):
        assert column in header, text
    first = data.front.iloc[0]
    row = next(line for line in text.splitlines() if line.startswith(f"│ {first['number']} "))
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert str(int(first["design.p"])) in cells and str(int(first["design.t"])) in cells, row
    shown = _text(compare(["a", "b"]).renderables())
    assert " p " in shown and " t " in shown, shown


def test_reference_designs_with_mapping_keys_are_taken_by_mapping_best(inputs_dir, capsys):
    argv = ["--space", "spaces/hbm_chip.yaml", "--enqueue", "spaces/hbm_chip_refs.yaml", "--model", "gpt3",
            "--mapping", "best", "--trials", "4", "--no-progress", "--study", "refs"]
    assert run_cli(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "mapping best: the reference designs' p, micro_batch, prefill_micro_batch are ignored" in out, out
    assert "ref:tpuv5p" in out
